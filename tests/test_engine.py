"""The KPI engine (arinsight.engine) on DuckDB and on PySpark (local mode): same values to the cent.

The hand-made ledger is the one of test_receivables.py (its docstring works every position out),
with each invoice's ``region`` column set to its customer's region, except I5 (region NULL: it
falls back to its customer C's region, South), plus a customer D without region or credit limit::

    I7  customer D, region NULL, 2026-10-10, due 2026-10-20, 100.00, unpaid

At T = 2026-10-31 (October, 31 days):

- All: credit sales = 2000 + 800 + 100 = 2900; open AR = 300 + 800 + 400 + 100 = 1600, of which
  overdue = 300 (I2) + 400 (I6) + 100 (I7, 11 days) = 800 in 3 invoices; current = 800;
  AR(begin 09-30) = 1500; collections = 600 + 200 + 2000 + 150 = 2950; unapplied 150 (P7);
  DSO = 1600 / 2900 * 31 = 17.1034; paid_to_billed = (1000 + 200 + 2000 + 0 + 300 + 400 * 0
  + 0) / (1000 + 500 + 2000 + 800 + 300 + 400 + 100) = 3500 / 5100 * 100 = 68.6275;
  aging: Current 800, 1-30 300 + 100 = 400, 91-120 400; over limit: C (400 > 100) -> 1;
  top pending: B 800 (overdue 0), C 400 (400), A 300 (300), D 100 (100).
- North (A, B): sales 2800, open 1100 (I2 300 + I4 800), overdue 300; collections
  2950 (P7 is A's unapplied cash: A is in North); top pending B 800, A 300.
- South (C): sales 0 (DSO n/a), open 400, all overdue; credit balance 50 (I5, by fallback).
- West (requested, no data): every KPI None.
I7 (no region anywhere) counts in All and in no region.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from test_receivables import make_ledger

from arinsight.engine import duck, run, sources
from arinsight.engine.positions import AsOf

OCT = AsOf(dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.date(2026, 10, 31))
D = Decimal


def ledger_with_regions() -> dict[str, pd.DataFrame]:
    t = make_ledger()
    region = t["customers"].set_index("customer_id")["region"]
    inv = t["invoices"].assign(region=lambda d: d["customer_id"].map(region).astype("str"))
    inv.loc[inv["invoice_id"] == "I5", "region"] = None
    d = (
        t["customers"]
        .iloc[[0]]
        .assign(customer_id="D", customer_name="Dune", region=None, credit_limit=float("nan"))
    )
    t["customers"] = pd.concat([t["customers"], d], ignore_index=True)
    extra = inv.iloc[[3]].assign(
        customer_id="D",
        invoice_id="I7",
        invoice_date=pd.Timestamp("2026-10-10"),
        due_date=pd.Timestamp("2026-10-20"),
        amount=100.0,
        region=None,
    )
    t["invoices"] = pd.concat([inv, extra], ignore_index=True)
    return t


def _spark_available() -> bool:
    return shutil.which("java") is not None


@pytest.fixture(
    scope="module",
    params=[
        "duckdb",
        pytest.param(
            "pyspark",
            marks=[
                pytest.mark.xdist_group("spark"),
                pytest.mark.skipif(not _spark_available(), reason="no Java (make java)"),
            ],
        ),
    ],
)
def con(request):
    """One connection per backend for the module (Spark's session is slow to start)."""
    url = "pyspark://" if request.param == "pyspark" else "duckdb://"
    backend = run.connect(url)
    yield backend
    if request.param == "duckdb":
        backend.disconnect()


def _kpis(con, tables, window=OCT, regions=("North", "South", "West"), params=None):
    raw = sources.from_frames(con, tables)
    return run.kpis_by_region(con, raw, window, params or {}, list(regions), "2026-10")


def test_kpis_by_region_same_on_every_backend(con):
    """All, North, South and West as worked out in the module docstring, to the cent."""
    k = _kpis(con, ledger_with_regions())
    assert list(k) == ["All", "North", "South", "West"]
    a, n, s = k["All"], k["North"], k["South"]
    assert (a["credit_sales"], a["open_ar"], a["overdue_ar"], a["current_ar"]) == (
        D("2900.00"), D("1600.00"), D("800.00"), D("800.00")
    )  # fmt: skip
    assert (a["open_ar_begin"], a["collections"], a["unapplied_cash"]) == (
        D("1500.00"), D("2950.00"), D("150.00")
    )  # fmt: skip
    assert a["overdue_invoices"] == 3 and a["customers_over_credit_limit"] == 1
    assert a["dso"] == pytest.approx(17.1034, abs=1e-4)
    assert a["paid_to_billed_rate"] == pytest.approx(68.6275, abs=1e-4)
    assert a["aging"] == {
        "Current": D("800.00"), "1-30": D("400.00"), "31-60": D("0.00"), "61-90": D("0.00"),
        "91-120": D("400.00"), "120+": D("0.00"),
    }  # fmt: skip
    assert [(c["customer_id"], c["pending"], c["overdue"]) for c in a["top_pending_customers"]] == [
        ("B", D("800.00"), D("0.00")), ("C", D("400.00"), D("400.00")),
        ("A", D("300.00"), D("300.00")), ("D", D("100.00"), D("100.00")),
    ]  # fmt: skip
    assert a["top_pending_customers"][0]["customer_name"] == "Bolt"
    assert (n["credit_sales"], n["open_ar"], n["overdue_ar"], n["collections"]) == (
        D("2800.00"), D("1100.00"), D("300.00"), D("2950.00")
    )  # fmt: skip
    assert [c["customer_id"] for c in n["top_pending_customers"]] == ["B", "A"]
    assert (s["credit_sales"], s["open_ar"], s["credit_balances"], s["dso"]) == (
        D("0.00"), D("400.00"), D("50.00"), None
    )  # fmt: skip
    skip = ("period", "region", "as_of", "aging", "top_pending_customers", "na_reasons")
    by = ("open_ar_by_currency", "open_ar_by_entity")  # nothing open: no currency, no entity
    assert all(v is None for key, v in k["West"].items() if key not in skip + by)
    assert [k["West"][key] for key in by] == [{}, {}]
    assert k["West"]["top_pending_customers"] == []
    # every null KPI says why: West has no data at all (the commission KPIs: no commission)
    west_reasons = k["West"]["na_reasons"]
    assert west_reasons["dso"] == "no invoices or payments up to T in this selection"
    assert west_reasons["total_accrued_commissions"] == "no commission records accrued by T"
    assert (
        s["na_reasons"]["dso"] == "no credit sales in the period"
        and "open_ar" not in (s["na_reasons"])
    )
    # the invoice without any region counts in All only
    assert a["open_ar"] == n["open_ar"] + s["open_ar"] + D("100.00")


def test_snapshot_as_of_moves_t(con):
    """as_of = 2026-10-20 (20 days into October) on the plain ledger of test_receivables:
    payments by T are P1 400, P2 600, P3 200, P6 350, P7 150 (unapplied). Open: I2 300, I3 2000,
    I4 800, I6 400 -> AR 3500; past due (due < 10-20): I2 300, I6 400 -> overdue 700 in 2
    invoices. paid_to_billed = (1000 + 200 + 300) / 5000 * 100 = 30. Credit sales (10-01 ..
    10-20) = 2800; collections = 600 + 200 + 150 = 950; DSO = 3500 / 2800 * 20 = 25.
    Fully paid in the window: I1 (45 days late) -> 45. Due by T: I1, I2, I5, I6; paid I1, I5 ->
    50 %. Top pending: B 2800 (overdue 0), C 400 (400), A 300 (300)."""
    window = AsOf(dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.date(2026, 10, 20))
    a = _kpis(con, make_ledger(), window, regions=())["All"]
    assert a["as_of"] == "2026-10-20"
    assert (a["open_ar"], a["overdue_ar"], a["overdue_invoices"]) == (D("3500.00"), D("700.00"), 2)
    assert (a["credit_sales"], a["collections"]) == (D("2800.00"), D("950.00"))
    assert a["paid_to_billed_rate"] == pytest.approx(30.0)
    assert a["dso"] == pytest.approx(25.0)
    assert a["average_days_late"] == pytest.approx(45.0)
    assert a["payment_completion_rate_count"] == pytest.approx(50.0)
    assert [(c["customer_id"], c["pending"], c["overdue"]) for c in a["top_pending_customers"]] == [
        ("B", D("2800.00"), D("0.00")), ("C", D("400.00"), D("400.00")),
        ("A", D("300.00"), D("300.00")),
    ]  # fmt: skip


def test_absent_inputs_are_none_not_zero(con):
    """No commission rows at all -> every commission KPI None; no credit limit on any customer ->
    customers_over_credit_limit None (the receivables KPIs stay defined)."""
    t = make_ledger()
    t["customers"] = t["customers"].assign(credit_limit=float("nan"))
    a = _kpis(con, t, regions=())["All"]
    assert a["customers_over_credit_limit"] is None
    for key in ("total_accrued_commissions", "commissions_paid_mtd", "average_commission_rate"):
        assert a[key] is None, key
    assert a["open_ar"] == D("1500.00")


def test_money_exact_at_1e15():
    """Three invoices of 999,999,999,999,999.99 + 0.01 + 0.01 billed in October, unpaid, as
    decimal(18,2): credit sales = 1,000,000,000,000,000.01 exactly. A float sum cannot hold the
    cent (float64 steps by 0.125 at 1e15): it gives 1e15."""
    amounts = [D("999999999999999.99"), D("0.01"), D("0.01")]
    assert sum(float(x) for x in amounts) == 1e15
    inv = pd.DataFrame(
        {
            "invoice_id": ["X1", "X2", "X3"],
            "customer_id": ["A", "A", "A"],
            "invoice_date": pd.to_datetime(["2026-10-01"] * 3),
            "due_date": pd.to_datetime(["2026-12-01"] * 3),
            "amount": amounts,
        }
    )
    pay = pd.DataFrame(
        {
            "payment_id": pd.Series([], dtype="str"),
            "invoice_id": pd.Series([], dtype="str"),
            "customer_id": pd.Series([], dtype="str"),
            "payment_date": pd.Series([], dtype="datetime64[us]"),
            "amount": pd.Series([], dtype="float64"),
        }
    )
    k = run.kpis_from_frames({"invoices": inv, "payments": pay}, "2026-10", {})["All"]
    assert k["credit_sales"] == D("1000000000000000.01")
    assert k["open_ar"] == D("1000000000000000.01")
    assert '"credit_sales": 1000000000000000.01,' in run.kpis_json({"All": k})


def test_bad_inputs_are_refused():
    """A frame without amount, bad aging buckets and an as_of outside the period are errors."""
    t = make_ledger()
    with pytest.raises(ValueError, match="amount"):
        run.kpis_from_frames(dict(t, invoices=t["invoices"].drop(columns="amount")), "2026-10")
    with pytest.raises(ValueError, match="aging_buckets"):
        run.kpis_from_frames(t, "2026-10", {"aging_buckets": [30, 10]})
    with pytest.raises(ValueError, match="top_n"):
        run.kpis_from_frames(t, "2026-10", {"top_n": 0})
    with pytest.raises(ValueError, match="as_of"):
        run.kpis_from_frames(t, "2026-10", {"as_of": "2026-11-05"})
    with pytest.raises(run.EngineError, match="cannot connect"):
        run.connect("postgres://nobody:secret@127.0.0.1:1/none")


def test_engine_matches_the_former_pandas_engine():
    """On the generated sample, every region and All of the engine's one call equal the former
    in-memory implementation (tests/oracle.py) run on each region's
    selection (ledger.select_region): money to the cent, ratios to 2e-4 (the former engine
    subtracts two rounded DSOs for average days delinquent; the engine divides overdue AR)."""
    import oracle

    from arinsight import ledger, receivables
    from arinsight.sample import generate

    tables = {k: v for k, v in generate(n_invoices=3000, seed=7).items() if k in sources.TABLES}
    for period in ("2025-06", "2025-12"):
        engine = run.kpis_from_frames(tables, period, {}, regions=None)
        assert set(engine) == {"All", *ledger.regions_of(tables)}
        for region, new in engine.items():
            ref = oracle.reference_kpis(ledger.select_region(tables, region), period, {})
            for key in receivables.RECEIVABLES_KEYS:
                if ref[key] is None:
                    assert new[key] is None, (period, region, key)
                else:
                    assert float(new[key]) == pytest.approx(ref[key], abs=2e-4), (
                        period, region, key
                    )  # fmt: skip
            assert {k: float(v) for k, v in new["aging"].items()} == pytest.approx(
                ref["aging"], abs=0.005
            )
            pending = [
                (c["customer_id"], float(c["pending"])) for c in new["top_pending_customers"]
            ]
            assert pending == [
                (c["customer_id"], c["pending"]) for c in ref["top_pending_customers"]
            ]


def test_cli_kpis(tmp_path):
    """`arinsight kpis` writes one object per region with every kpis.json key; bad arguments are
    one line on stderr and exit status 2."""
    from arinsight.cli import main

    folder = tmp_path / "processed"
    folder.mkdir()
    for name, frame in ledger_with_regions().items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    out = tmp_path / "kpis.json"
    args = ["kpis", "--period", "2026-10", "--processed", str(folder), "--out", str(out)]
    assert main([*args, "--regions", "North,South"]) == 0
    import json

    doc = json.loads(out.read_text())
    assert list(doc) == ["All", "North", "South"]
    assert list(doc["All"]) == list(run.KPIS_JSON_KEYS)
    assert doc["All"]["open_ar"] == 1600.0 and doc["North"]["open_ar"] == 1100.0
    assert doc["All"]["high_risk_customers"] is None and doc["All"]["cash_forecast"] is None
    for bad in (["--period", "2024-13"], ["--period", "2024-1"], ["--period", "../../etc"],
                ["--period", "2026-10", "--as-of", "2026-09-30"],
                ["--period", "2026-10", "--regions", ","]):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "arinsight", "kpis", *bad, "--processed", str(folder)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 2, bad
        assert len(proc.stderr.strip().splitlines()) == 1 and "error" in proc.stderr


def _processed(folder: Path, tables: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_compiled_plan_serves_every_period(tmp_path, monkeypatch):
    """The first run over a processed folder keeps its compiled plan; later runs with the same
    tables run that plan without Ibis, for any period and as-of date, and give exactly what
    compiling for the real dates gives (the hand-computed All open AR 1600.00 of October; at
    2026-10-15 it is the same ledger seen earlier: compared to the Ibis path on the real dates).
    A changed table (a new column) compiles a new plan."""
    from arinsight.engine import duck

    monkeypatch.setenv("ARINSIGHT_CACHE_DIR", str(tmp_path / "cache"))
    folder = _processed(tmp_path / "processed", ledger_with_regions())
    plans = tmp_path / "cache" / "plans"

    def direct(period, as_of=None, params=None):
        params = {"as_of": as_of, **(params or {})}
        window, label = run.window_of(period, as_of)
        con = duck.DuckDBRunner()
        try:
            out = run.kpi_rows(con, sources.from_parquet(con, folder), window, params, None)
        finally:
            con.disconnect()
        rows, top, currencies, entities = out
        return run.shape(rows, top, run.buckets_of(params), window, label, currencies, entities)

    first = duck.kpis_from_processed(folder, "2026-10")
    assert len(list(plans.glob("*.json"))) == 1
    assert first == direct("2026-10")
    assert first["All"]["open_ar"] == D("1600.00") and first["North"]["open_ar"] == D("1100.00")

    def no_compiling(*a, **k):
        raise AssertionError("compiled again although a plan was kept")

    monkeypatch.setattr(run, "kpi_rows", no_compiling)
    assert duck.kpis_from_processed(folder, "2026-10") == first
    mid = duck.kpis_from_processed(folder, "2026-10", {"as_of": "2026-10-15"})
    quarter = duck.kpis_from_processed(folder, "2026-Q4")
    monkeypatch.undo()
    monkeypatch.setenv("ARINSIGHT_CACHE_DIR", str(tmp_path / "cache"))
    assert mid == direct("2026-10", "2026-10-15")
    assert mid["All"]["as_of"] == "2026-10-15" and mid["All"]["open_ar"] != first["All"]["open_ar"]
    assert quarter == direct("2026-Q4")
    assert len(list(plans.glob("*.json"))) == 1

    tables = ledger_with_regions()
    tables["invoices"] = tables["invoices"].assign(note="x")
    _processed(folder, tables)
    assert duck.kpis_from_processed(folder, "2026-10") == first
    assert len(list(plans.glob("*.json"))) == 2


def test_plan_in_parts_and_without_a_cache(tmp_path, monkeypatch):
    """In 3 hash parts (the statements that insert part by part are in the plan too) and with
    ARINSIGHT_PLAN_CACHE=off (nothing kept), the KPIs equal the one-pass result."""
    from arinsight.engine import duck

    folder = _processed(tmp_path / "processed", ledger_with_regions())
    whole = duck.kpis_from_processed(folder, "2026-10")
    for _ in range(2):  # compiled, then run from the plan
        assert duck.kpis_from_processed(folder, "2026-10", {"engine_parts": 3}) == whole
    monkeypatch.setenv("ARINSIGHT_PLAN_CACHE", "off")
    monkeypatch.setenv("ARINSIGHT_CACHE_DIR", str(tmp_path / "off"))
    assert duck.kpis_from_processed(folder, "2026-10") == whole
    assert not (tmp_path / "off").exists()


def test_cli_kpis_runs_a_kept_plan_without_ibis(tmp_path):
    """`arinsight kpis` the second time over the same tables does not import Ibis (the half
    second of Python that made it slower than plain DuckDB SQL at 1M invoices)."""
    folder = _processed(tmp_path / "processed", ledger_with_regions())
    code = (
        "import sys; from arinsight.cli import main; "
        f"main(['kpis', '--period', '2026-10', '--processed', {str(folder)!r}, '--out', "
        f"{str(tmp_path / 'k.json')!r}]); print('ibis' in sys.modules)"
    )
    env = {**os.environ, "ARINSIGHT_CACHE_DIR": str(tmp_path / "cache")}
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    assert [r.stdout.strip() for r in runs] == ["True", "False"], [r.stderr for r in runs]


def test_a_stand_in_date_left_in_a_plan_is_an_error():
    from arinsight.engine import duck

    con = duck.DuckDBRunner()
    try:
        con.swaps = {"MAKE_DATE(1001, 5, 7)": "MAKE_DATE(2026, 10, 31)"}
        with pytest.raises(RuntimeError, match="stand-in date"):
            con.sql_text("SELECT MAKE_DATE(1001, 2, 3)")
        assert con.sql_text("SELECT MAKE_DATE(1001, 5, 7)") == "SELECT MAKE_DATE(2026, 10, 31)"
    finally:
        con.disconnect()


# ---------------------------------------------------------------------------------------------
# engine: <URL>: the KPIs run inside a real PostgreSQL server
# ---------------------------------------------------------------------------------------------


def test_kpis_run_inside_postgres(postgres_url, tmp_path):
    """The ledger of the module docstring loaded into PostgreSQL tables named after the canonical
    tables; with ``engine: <URL>`` the KPIs are computed by PostgreSQL in place (no parquet is
    read: the processed folder does not even exist) and equal the hand-computed values."""
    import ibis

    con = ibis.connect(postgres_url)
    for name, frame in ledger_with_regions().items():
        if name in sources.TABLES:
            con.create_table(name, sources.to_arrow(frame), overwrite=True)
    con.disconnect()
    k = duck.kpis_from_processed(
        tmp_path / "absent", "2026-10", {"engine": postgres_url}, regions=["North", "South"]
    )
    a, n = k["All"], k["North"]
    assert (a["credit_sales"], a["open_ar"], a["overdue_ar"]) == (
        D("2900.00"), D("1600.00"), D("800.00")
    )  # fmt: skip
    assert a["dso"] == pytest.approx(17.1034, abs=1e-4)
    assert a["countback_dso"] == pytest.approx(1600 / 2900 * 31, abs=1e-4)
    assert [c["customer_id"] for c in a["top_pending_customers"]] == ["B", "C", "A", "D"]
    assert (n["open_ar"], n["collections"]) == (D("1100.00"), D("2950.00"))
    assert k["South"]["customers_over_credit_limit"] == 1


def test_positions_in_parts_add_up_to_the_whole():
    """Computed in 3 hash parts (how a ledger too large for memory is processed), every KPI of
    every region equals the one-pass result of the module docstring's ledger."""
    whole = run.kpis_from_frames(ledger_with_regions(), "2026-10", {}, regions=None)
    parts = run.kpis_from_frames(ledger_with_regions(), "2026-10", {"engine_parts": 3}, None)
    assert parts == whole
    assert parts["All"]["open_ar"] == D("1600.00")


@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "bigquery", "mssql", "databricks"])
def test_queries_compile_for_warehouses(dialect):
    """The same expressions compile to the SQL of the warehouses CI cannot run (no connection:
    tables bound to the canonical schemas only), so no KPI relies on a DuckDB-only function."""
    import ibis

    from arinsight.engine import marts, staging

    raw = sources.Ledgers(**{n: ibis.table(sources.RAW_SCHEMAS[n], name=n) for n in sources.TABLES})
    led = staging.stage(raw)
    buckets = [0, 30, 60, 90, 120]
    cp = marts.customer_positions(led, OCT, buckets)
    for expr in (
        marts.kpis_by_region(cp, led, OCT, buckets, ["North"]),
        marts.top_pending(cp, led.customers, 10),
        marts.monthly(led, OCT, [dt.date(2026, 9, 1), dt.date(2026, 10, 1)]),
    ):
        sql = ibis.to_sql(expr, dialect=dialect)
        assert "SELECT" in sql.upper()


def test_range_bounds_cut_ordered_row_groups():
    """Row groups of invoice ids I01-I04 (4 rows), I05-I08 (4), I09-I10 (2), listed out of
    order: 2 parts of 10 rows cut at I05 (4 | 6: the boundary nearest 5 rows), 3 parts at I05
    and I09 (4 | 4 | 2). Overlapping groups (a file not ordered by invoice id) or a group
    without statistics give no ranges: the parts are hashes then."""
    from arinsight.engine.parts import Part, hash_parts, plan_parts, range_bounds

    groups = [("I09", "I10", 2), ("I01", "I04", 4), ("I05", "I08", 4)]
    assert range_bounds(groups, 2) == ["I05"]
    assert range_bounds(groups, 3) == ["I05", "I09"]
    assert range_bounds(groups, 1) == []
    assert range_bounds([("I01", "I06", 4), ("I05", "I08", 4)], 2) == []
    assert range_bounds([("I01", "I04", 4), (None, None, 4)], 2) == []
    assert plan_parts(3, groups) == (
        Part("range", 0, 3, None, "I05"),
        Part("range", 1, 3, "I05", "I09"),
        Part("range", 2, 3, "I09", None),
        Part("unapplied", 3, 4),
    )
    assert plan_parts(3, [("I01", "I06", 4), ("I05", "I08", 4)]) == hash_parts(3)
    assert plan_parts(3, None) == hash_parts(3)
    assert plan_parts(1, groups) == (Part(),)


def _with_commissions(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The ledger of the module docstring with three commissions::

    M1  invoice I2 (North)  50.00  accrued 2026-10-05, not settled
    M2  no invoice          30.00  accrued 2026-10-10, settled 2026-10-20
    M3  invoice I6 (South)  20.00  accrued 2026-09-15, settled 2026-10-02
    """
    ts = pd.Timestamp
    tables["commissions"] = pd.DataFrame(
        {
            "commission_id": ["M1", "M2", "M3"],
            "sales_rep_id": ["R1", "R1", "R2"],
            "invoice_id": ["I2", None, "I6"],
            "commission_amount": [50.0, 30.0, 20.0],
            "accrual_date": [ts("2026-10-05"), ts("2026-10-10"), ts("2026-09-15")],
            "is_settled": [False, True, True],
            "settlement_date": [pd.NaT, ts("2026-10-20"), ts("2026-10-02")],
        }
    )
    return tables


def _check_commissions(k: dict[str, dict]) -> None:
    """October, T = 10-31 (see :func:`_with_commissions`): All: accrued and unsettled 50 (M1),
    paid 30 + 20 = 50, earned 50 + 30 = 80 (M3 was accrued in September), rate 80 / 2900 * 100
    = 2.7586; North: 50, 0, 50, 50 / 2800 * 100 = 1.7857; South: 0, 20, 0 (no sales: no rate).
    M2 has no invoice: it counts in All only."""
    a, n, s = k["All"], k["North"], k["South"]
    assert (a["total_accrued_commissions"], a["commissions_paid_mtd"], a["commissions_earned"]) == (
        D("50.00"), D("50.00"), D("80.00")
    )  # fmt: skip
    assert a["average_commission_rate"] == pytest.approx(2.7586, abs=1e-4)
    assert (n["total_accrued_commissions"], n["commissions_paid_mtd"], n["commissions_earned"]) == (
        D("50.00"), D("0.00"), D("50.00")
    )  # fmt: skip
    assert n["average_commission_rate"] == pytest.approx(1.7857, abs=1e-4)
    assert (s["total_accrued_commissions"], s["commissions_paid_mtd"], s["commissions_earned"]) == (
        D("0.00"), D("20.00"), D("0.00")
    )  # fmt: skip
    assert s["average_commission_rate"] is None


def test_hash_parts_count_commissions_without_invoice_once():
    """In 1 and in 3 hash parts, the commissions of :func:`_with_commissions` (one without an
    invoice, which only the first hash part reads) give the same, hand-computed values."""
    whole = run.kpis_from_frames(_with_commissions(ledger_with_regions()), "2026-10", {}, None)
    _check_commissions(whole)
    parts = run.kpis_from_frames(
        _with_commissions(ledger_with_regions()), "2026-10", {"engine_parts": 3}, None
    )
    assert parts == whole


def test_range_parts_over_ordered_parquet_add_up_to_the_whole(tmp_path):
    """invoices.parquet ordered by invoice id in row groups of 2 rows (I1-I2, I3-I4, I5-I6,
    I7): 3 parts are ranges cut at I3 and I5 (read from the row-group statistics) plus the
    unapplied cash (P7, no invoice id) and the commission without invoice (M2). Every KPI of
    every region equals the one-pass result, which has the hand-computed values."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from arinsight.engine import duck
    from arinsight.engine.parts import Part

    tables = _with_commissions(ledger_with_regions())
    folder = _processed(tmp_path / "processed", tables)
    invoices = tables["invoices"].sort_values("invoice_id")
    pq.write_table(
        pa.Table.from_pandas(invoices, preserve_index=False),
        folder / "invoices.parquet",
        row_group_size=2,
    )
    con = duck.DuckDBRunner()
    try:
        groups = con.row_groups(folder / "invoices.parquet", "invoice_id")
    finally:
        con.disconnect()
    assert groups == [("I1", "I2", 2), ("I3", "I4", 2), ("I5", "I6", 2), ("I7", "I7", 1)]
    assert duck.plan_parts(3, groups)[:3] == (
        Part("range", 0, 3, None, "I3"),
        Part("range", 1, 3, "I3", "I5"),
        Part("range", 2, 3, "I5", None),
    )
    whole = duck.kpis_from_processed(folder, "2026-10")
    assert whole["All"]["open_ar"] == D("1600.00") and whole["North"]["open_ar"] == D("1100.00")
    assert whole["All"]["unapplied_cash"] == D("150.00")
    _check_commissions(whole)
    for _ in range(2):  # compiled, then run from the plan
        assert duck.kpis_from_processed(folder, "2026-10", {"engine_parts": 3}) == whole


# ----------------------------------------------------------------------------------------------
# history: the as-of marts the risk model and the cash forecast learn from
# ----------------------------------------------------------------------------------------------


def _history_ledger() -> dict[str, pd.DataFrame]:
    """Customer X, every invoice issued in January 2026 (amounts and payments in the docstrings
    of the tests below); U: 999 of unapplied cash (no invoice id), which settles nothing."""
    inv = pd.DataFrame(
        [
            ("A", "X", "2026-01-01", "2026-01-11", 100.0),
            ("B", "X", "2026-01-10", "2026-01-20", 200.0),
            ("D", "X", "2026-01-10", "2026-01-20", 10.0),
            ("E", "X", "2026-01-23", "2026-02-02", 300.0),
            ("R", "X", "2026-01-02", "2026-02-01", 80.0),
        ],
        columns=["invoice_id", "customer_id", "invoice_date", "due_date", "amount"],
    )
    pay = pd.DataFrame(
        [
            ("P1", "A", "X", "2026-01-05", 40.0),
            ("P2", "A", "X", "2026-01-30", 70.0),
            ("P3", "B", "X", "2026-01-25", 200.0),
            ("P4", "D", "X", "2026-01-12", 10.0),
            ("P5", "R", "X", "2026-01-08", 80.0),
            ("P6", "R", "X", "2026-01-09", -80.0),
            ("P7", None, "X", "2026-01-02", 999.0),
        ],
        columns=["payment_id", "invoice_id", "customer_id", "payment_date", "amount"],
    )
    for frame, cols in ((inv, ["invoice_date", "due_date"]), (pay, ["payment_date"])):
        frame[cols] = frame[cols].apply(pd.to_datetime)
    return {"invoices": inv, "payments": pay}


def test_history_settlement_and_applied_by_hand():
    """At T = 2026-01-31 (every payment):

    - A (100): 40 on 01-05, 70 on 01-30: running 40, 110 -> applied 40 and 60 (capped at the
      amount), paid on 01-30, paid 110, open 0;
    - B (200) paid on 01-25, D (10) on 01-12; E (300) unpaid: open 300, no paid date;
    - R (80): 80 on 01-08, then -80 on 01-09 (a refund): applied 80 and -80; it reached its
      amount on 01-08 but its payments no longer cover it at T -> no paid date, open 80;
    - the unapplied 999 is no invoice's payment.

    Cut at T = 2026-01-20: A has only the 40 (open 60), B is unpaid, E is not issued yet."""
    tables = _history_ledger()
    out = run.history_frames(tables, ["settlement", "applied"], "2026-01-31")
    s = out["settlement"].set_index("invoice_id")
    assert list(s.index) == ["A", "B", "D", "E", "R"]
    paid = s["paid_date"].dt.strftime("%m-%d").fillna("none").to_dict()
    assert paid == {"A": "01-30", "B": "01-25", "D": "01-12", "E": "none", "R": "none"}
    assert s["open_amount"].to_dict() == {"A": 0.0, "B": 0.0, "D": 0.0, "E": 300.0, "R": 80.0}
    assert s.loc["A", "paid"] == 110.0
    a = out["applied"].sort_values("payment_id")
    assert a["payment_id"].tolist() == ["P1", "P2", "P3", "P4", "P5", "P6"]
    assert a["applied"].tolist() == [40.0, 60.0, 200.0, 10.0, 80.0, -80.0]
    cut = run.history_frames(tables, ["settlement"], "2026-01-20")["settlement"]
    cut = cut.set_index("invoice_id")
    assert list(cut.index) == ["A", "B", "D", "R"]
    assert cut["open_amount"].to_dict() == {"A": 60.0, "B": 200.0, "D": 0.0, "R": 80.0}


def test_customer_history_by_hand():
    """late_days L = 10, ledger of :func:`_history_ledger` (no cut). Late = unpaid or paid more
    than 10 days after the due date D; resolved on K = D + 11 when late, on the paid date S
    when not: A (D 01-11, S 01-30: 19 days) late, K = 01-22; B (S - D = 5) K = 01-25; D (S - D
    = -8) K = 01-12; R (unpaid at T) late, K = 02-12; E (unpaid) late, K = 02-13.

    - A (01-01): nothing before: every count 0, balances 0, no last resolution.
    - R (01-02): prior {A}: 1; open 100 (A), nothing overdue.
    - B and D (01-10, same day: they do not see each other): prior {A, R} = 2; open = A 100 -
      40 + R 80 - 80 + 80 (the refund of 01-09 re-opens it) = 140; nothing resolved or paid.
    - E (01-23): prior {A, R, B, D} = 4; resolved before: D (01-12, on time), A (01-22, late)
      -> known 2, late 1, latest (A) late, last late day 01-22; paid before: D (max(0, -8) =
      0) -> 1 paid, 0 days late; open = A 60 + R 80 + B 200 + D 0 = 340; overdue: A's 60
      (due 01-11) and B's 200 (due 01-20), both past due at the close of 01-22 -> 260."""
    out = run.history_frames(_history_ledger(), ["customer_history"], late_days=10)
    h = out["customer_history"].set_index("invoice_id")
    cols = ["prior_invoices", "prior_known", "prior_late", "prior_paid", "prior_days_late"]
    assert h.loc["A", cols].tolist() == [0, 0, 0, 0, 0]
    assert h.loc["R", ["prior_invoices", "open_balance", "overdue_balance"]].tolist() == [1, 100, 0]
    for k in ("B", "D"):
        assert h.loc[k, cols].tolist() == [2, 0, 0, 0, 0]
        assert h.loc[k, "open_balance"] == 140.0 and h.loc[k, "overdue_balance"] == 0.0
        assert pd.isna(h.loc[k, "last_resolved_late"]) and pd.isna(h.loc[k, "last_late_day"])
    e = h.loc["E"]
    assert e[cols].tolist() == [4, 2, 1, 1, 0]
    assert e["open_balance"] == 340.0 and e["overdue_balance"] == 260.0
    assert bool(e["last_resolved_late"]) is True
    assert dt.date(1970, 1, 1) + dt.timedelta(days=int(e["last_late_day"])) == dt.date(2026, 1, 22)


def test_open_at_origins_and_collected_by_week_by_hand():
    """Origins 01-07 and 01-31 over :func:`_history_ledger`:

    - 01-07: A (100 - 40) 60, B and D not issued, R 80 (its 80 comes on 01-08); E not issued;
    - 01-31: A is paid (110 >= 100), B and D paid, E 300 open, R 80 (re-opened by the refund).

    Cash after 01-07 (week 1 = 01-08..14, week 2 = 01-15..21, ...): A: 70 on 01-30 (23 days:
    week 4), capped at the 60 open; R: 80 on 01-08 and -80 on 01-09 (week 1: 0 in all). After
    01-31: nothing (no payment dated later)."""
    out = run.history_frames(
        _history_ledger(),
        ["open_at_origins", "collected_by_week"],
        origins=["2026-01-07", "2026-01-31"],
        weeks=13,
    )
    o = out["open_at_origins"]
    got = [(str(r.origin.date()), r.invoice_id, r.open_amount) for r in o.itertuples()]
    assert got == [
        ("2026-01-07", "A", 60.0),
        ("2026-01-07", "R", 80.0),
        ("2026-01-31", "E", 300.0),
        ("2026-01-31", "R", 80.0),
    ]
    c = out["collected_by_week"]
    got = [(str(r.origin.date()), r.invoice_id, r.week, r.collected) for r in c.itertuples()]
    assert got == [("2026-01-07", "A", 4, 60.0), ("2026-01-07", "R", 1, 0.0)]


def test_open_at_origins_on_payment_days_refunds_and_early_payments():
    """Origins on the days that change a balance, over :func:`_history_ledger` plus a payment
    of 100 to E dated 01-20, before its invoice date 01-23 (it counts on its own date):

    - 01-01: A 100 (issued that day); R is issued on 01-02;
    - 01-05: A 100 - 40 (paid that day) = 60; R 80;
    - 01-08: A 60; R 80 - 80 = 0: not open;
    - 01-09: A 60; R 0 + 80 (the refund) = 80;
    - 01-22: A 60, B 200 (paid on 01-25), R 80; D paid on 01-12; E not issued (its 100 is
      already paid);
    - 01-23: A 60, B 200, E 300 - 100 = 200, R 80."""
    ledger = _history_ledger()
    early = pd.DataFrame(
        {"payment_id": ["P8"], "invoice_id": ["E"], "customer_id": ["X"],
         "payment_date": [pd.Timestamp("2026-01-20")], "amount": [100.0]}
    )  # fmt: skip
    ledger["payments"] = pd.concat([ledger["payments"], early], ignore_index=True)
    days = ["2026-01-01", "2026-01-05", "2026-01-08", "2026-01-09", "2026-01-22", "2026-01-23"]
    o = run.history_frames(ledger, ["open_at_origins"], origins=days)["open_at_origins"]
    got = [(str(r.origin.date())[5:], r.invoice_id, r.open_amount) for r in o.itertuples()]
    assert got == [
        ("01-01", "A", 100.0),
        ("01-05", "A", 60.0), ("01-05", "R", 80.0),
        ("01-08", "A", 60.0),
        ("01-09", "A", 60.0), ("01-09", "R", 80.0),
        ("01-22", "A", 60.0), ("01-22", "B", 200.0), ("01-22", "R", 80.0),
        ("01-23", "A", 60.0), ("01-23", "B", 200.0), ("01-23", "E", 200.0),
        ("01-23", "R", 80.0),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# write-offs, credit notes and adjustments (docs/kpis.md, "Write-offs and credit notes")
# ---------------------------------------------------------------------------------------------


def adjusted_ledger() -> dict[str, pd.DataFrame]:
    """October 2026 (T = 10-31, begin 09-30), region North, customers X (A-D) and Y (E-G)::

        inv  dated  due    amount  payments       adjustments
        A    08-01  08-31  1000    400 on 09-10   write-off 600 on 10-15
        B    09-05  10-05   500    400 on 10-20   credit note 100 on 10-10
        C    10-01  10-31   300    300 on 10-25   credit note 50 on 10-28 (beyond: owed 50)
        D    10-05  10-20   200    -              write-off 250 on 10-30 (50 more than open)
        E    07-01  07-31   800    800 on 10-12   write-off 800 on 09-15 (then recovered)
        F    10-10  11-09  1000    -              credit note 300 on 10-20
        G    09-01  10-01   600    100 on 10-05   write-off 100 on 10-10

    Positions at T (open = max(0, amount - paid - credited - written); credit = max(0, paid +
    credited - amount); the write-off that counts is min(written, amount - paid - credited)):
    A written off 600 (0 open); B paid (400 + 100 reach 500 on 10-20, 15 days late); C credit
    50 (paid 10-25, 6 days early); D written off 200 (the other 50 writes off nothing); E paid
    800 on 10-12 (73 days late; the 09-15 write-off counts no more); F open 700, current; G
    open 400, overdue 30 days (1-30).

    - open AR 700 + 400 = 1100, overdue 400, current 700; credit balances 50;
    - AR(09-30): A 600 + B 500 + E 0 (written off) + G 600 = 1700;
    - sales C 300 + D 200 + F 1000 = 1500; collections 400 + 300 + 800 + 100 = 1600 (cash);
      write-offs booked in October 600 + 250 + 100 = 950; credit notes 100 + 50 + 300 = 450;
    - adjusted (non-cash reduction amount - open - min(paid, amount), at T less at 09-30):
      A 600 - 0, B 100 - 0, C 0, D 200, E 0 - 800, F 300, G 100 - 0: 500. AR(begin) + sales -
      AR(T) = 2100 = 1600 cash applied + 500 adjusted;
    - CEI = (1700 + 1500 - 500 - 1100) / (1700 + 1500 - 500 - 700) = 1600 / 2000 = 80 %;
    - DSO = 1100 / 1500 x 31 = 22.7333; AR turnover 1500 / ((1700 + 1100) / 2) = 1.0714;
    - average days late (fully paid in October: B 15, C 0, E 73) = 29.3333;
    - due by T: A, B, C, D, E, G; fully paid (payments and credit notes cover it): B, C, E:
      3 / 6 = 50 % by count, (500 + 300 + 800) / 3400 = 47.0588 % by amount;
    - paid of billed: (400 + 400 + 300 + 0 + 800 + 0 + 100) / 4400 = 45.4545 %.
    """
    from conftest import clean_table

    customers = clean_table(
        "customers",
        [dict(customer_id=c, customer_name=c, region="North", credit_limit=10000.0) for c in "XY"],
    )
    inv = [
        ("A", "X", "2026-08-01", "2026-08-31", 1000.0),
        ("B", "X", "2026-09-05", "2026-10-05", 500.0),
        ("C", "X", "2026-10-01", "2026-10-31", 300.0),
        ("D", "X", "2026-10-05", "2026-10-20", 200.0),
        ("E", "Y", "2026-07-01", "2026-07-31", 800.0),
        ("F", "Y", "2026-10-10", "2026-11-09", 1000.0),
        ("G", "Y", "2026-09-01", "2026-10-01", 600.0),
    ]
    invoices = clean_table(
        "invoices",
        [dict(invoice_id=i, customer_id=c, invoice_date=d, due_date=due, amount=a, amount_doc=a,
              currency="USD", region="North", due_date_derived=False, is_overpaid=False)
         for i, c, d, due, a in inv],
    )  # fmt: skip
    pay = [
        ("P1", "A", "X", "2026-09-10", 400.0),
        ("P2", "B", "X", "2026-10-20", 400.0),
        ("P3", "C", "X", "2026-10-25", 300.0),
        ("P4", "E", "Y", "2026-10-12", 800.0),
        ("P5", "G", "Y", "2026-10-05", 100.0),
    ]
    payments = clean_table(
        "payments",
        [dict(payment_id=p, invoice_id=i, customer_id=c, payment_date=d, amount=a, amount_doc=a)
         for p, i, c, d, a in pay],
    )  # fmt: skip
    adj = [
        ("J1", "A", "2026-10-15", 600.0, "write_off"),
        ("J2", "B", "2026-10-10", 100.0, "credit_note"),
        ("J3", "C", "2026-10-28", 50.0, "credit_note"),
        ("J4", "D", "2026-10-30", 250.0, "write_off"),
        ("J5", "E", "2026-09-15", 800.0, "write_off"),
        ("J6", "F", "2026-10-20", 300.0, "credit_note"),
        ("J7", "G", "2026-10-10", 100.0, "write_off"),
    ]
    adjustments = clean_table(
        "adjustments",
        [dict(adjustment_id=j, invoice_id=i, customer_id="X" if i < "E" else "Y",
              adjustment_date=d, amount=a, kind=k)
         for j, i, d, a, k in adj],
    )  # fmt: skip
    return {"customers": customers, "invoices": invoices, "payments": payments,
            "adjustments": adjustments}  # fmt: skip


def test_adjustments_net_open_ar_and_stay_out_of_collections(con):
    """The KPIs of :func:`adjusted_ledger`'s docstring, on every backend, and the same from the
    pandas oracle (tests/oracle.py follows the same rule by other means)."""
    import oracle

    k = _kpis(con, adjusted_ledger(), regions=("North",))["All"]
    money = ("open_ar", "overdue_ar", "current_ar", "open_ar_begin", "credit_sales",
             "collections", "credit_balances", "write_offs", "credit_notes")  # fmt: skip
    assert [k[m] for m in money] == [
        D("1100.00"), D("400.00"), D("700.00"), D("1700.00"), D("1500.00"),
        D("1600.00"), D("50.00"), D("950.00"), D("450.00"),
    ]  # fmt: skip
    assert k["cei"] == pytest.approx(80.0, abs=1e-4)
    assert k["dso"] == pytest.approx(22.7333, abs=1e-4)
    assert k["ar_turnover"] == pytest.approx(1.0714, abs=1e-4)
    assert k["average_days_late"] == pytest.approx(29.3333, abs=1e-4)
    assert k["payment_completion_rate_count"] == pytest.approx(50.0, abs=1e-4)
    assert k["payment_completion_rate_amount"] == pytest.approx(47.0588, abs=1e-4)
    assert k["paid_to_billed_rate"] == pytest.approx(45.4545, abs=1e-4)
    assert k["overdue_invoices"] == 1
    assert k["aging"]["Current"] == D("700.00") and k["aging"]["1-30"] == D("400.00")
    ref = oracle.reference_kpis(adjusted_ledger(), "2026-10", {})
    for key in ("open_ar", "overdue_ar", "open_ar_begin", "collections", "credit_balances",
                "write_offs", "credit_notes", "cei", "average_days_late",
                "payment_completion_rate_count", "payment_completion_rate_amount"):  # fmt: skip
        assert float(k[key]) == pytest.approx(ref[key], abs=1e-4), key


def test_positions_show_what_adjustments_took_off():
    """The positions at T of :func:`adjusted_ledger` (its docstring): every amount splits into
    paid + credited + written off + open - credit; D's write-off counts up to what was open and
    E's earlier write-off counts no more once E is paid."""
    from arinsight.engine.period import frames_at

    p = frames_at(adjusted_ledger(), "2026-10-31")["positions"].set_index("invoice_id")
    cols = ["paid_to_date", "credited", "written_off", "open_amount", "credit_amount", "status"]
    want = {
        "A": [400.0, 0.0, 600.0, 0.0, 0.0, "written_off"],
        "B": [400.0, 100.0, 0.0, 0.0, 0.0, "paid"],
        "C": [300.0, 50.0, 0.0, 0.0, 50.0, "credit"],
        "D": [0.0, 0.0, 200.0, 0.0, 0.0, "written_off"],
        "E": [800.0, 0.0, 0.0, 0.0, 0.0, "paid"],
        "F": [0.0, 300.0, 0.0, 700.0, 0.0, "current"],
        "G": [100.0, 0.0, 100.0, 400.0, 0.0, "overdue"],
    }
    assert {i: list(row) for i, row in zip(p.index, p[cols].values, strict=True)} == want
    split = p["paid_to_date"] + p["credited"] + p["written_off"] + p["open_amount"]
    assert (split - p["credit_amount"]).round(2).tolist() == p["amount"].tolist()
    paid = p["paid_date"].dt.strftime("%m-%d").fillna("-").to_dict()
    assert paid == {"A": "-", "B": "10-20", "C": "10-25", "D": "-", "E": "10-12", "F": "-",
                    "G": "-"}  # fmt: skip
    assert p.loc[["B", "C", "E"], "days_late"].tolist() == [15, -6, 73]
    assert p["open_amount_doc"].tolist() == p["open_amount"].tolist()
    assert p.loc["G", "days_past_due"] == 30


def test_monthly_open_ar_nets_adjustments():
    """Month ends of :func:`adjusted_ledger`: 08-31: A 1000 + E 800 open, E overdue (800);
    09-30: 1700 (E written off on 09-15), A 600 overdue; 10-31: 1100, G 400 overdue."""
    trends = run.monthly_trends_from_frames(adjusted_ledger(), "2026-10", trailing_months=3)
    assert trends[["month", "open_ar", "overdue_ar"]].values.tolist() == [
        ["2026-08", 1800.0, 800.0],
        ["2026-09", 1700.0, 600.0],
        ["2026-10", 1100.0, 400.0],
    ]


def test_a_selection_without_adjustments_has_no_adjustment_flows():
    """Without the adjustments table write-offs and credit notes are null (with the registry's
    reason), not 0, and every other figure is as before."""
    t = adjusted_ledger()
    t.pop("adjustments")
    k = run.kpis_from_frames(t, "2026-10")["All"]
    assert k["write_offs"] is None and k["credit_notes"] is None
    assert "adjustments" in k["na_reasons"]["write_offs"]
    # A 1000 - 400, B 500 - 400, C 0, D 200, E 0 (paid), F 1000, G 600 - 100
    assert k["open_ar"] == D("2400.00")
