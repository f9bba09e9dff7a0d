"""The engine's kept results of a period (arinsight.engine.period): computed once, read by every
page, and every figure a page shows agrees with the engine's KPIs to the cent.

The hand-made ledger is test_receivables' (its docstring works out every position and KPI by
hand): at T = 2026-10-31 open AR 1500 (I2 300 overdue, I4 800 current, I6 400 overdue), AR at
the end of August 1400 and of September 1500; I1 paid in full on 10-15 (45 days late), I5
overpaid by 50 on 09-25 (5 days early); unapplied cash 150 of customer A.
"""

from __future__ import annotations

import hashlib
import os
import shutil

import pandas as pd
import pytest
from test_receivables import T, kept, make_ledger

from arinsight import customers as cust
from arinsight import kpis, receivables, runs
from arinsight.engine import period as engine_period
from arinsight.engine.results import KPIS_JSON_KEYS
from arinsight.ledger import UnknownRegion, period_bounds


@pytest.fixture()
def ledger_tables():
    return make_ledger()


def test_one_call_keeps_kpis_history_and_positions(ledger_tables, tmp_path):
    """Trailing 3 months: the chain is 2026-08, 2026-09, 2026-10; the KPIs of All are the hand
    figures (open AR 1500, DSO = 1500 / 2800 * 31 = 16.6071, previous DSO = 1500 / 800 * 30 =
    56.25); open AR month by month 1400, 1500, 1500; regions All, North (A, B), South (C)."""
    r = kept(ledger_tables, tmp_path / "processed", trailing_months=3)
    assert r.regions == ["All", "North", "South"]
    assert r.kpis()["open_ar"] == 1500.0
    assert r.kpis()["dso"] == pytest.approx(16.6071)
    assert r.previous()["dso"] == pytest.approx(56.25)
    assert r.history("All", ["open_ar"]) == {
        "open_ar": {"2026-08": 1400.0, "2026-09": 1500.0, "2026-10": 1500.0}
    }
    # North: A's I2 (300) + B's I4 (800); South: C's I6 (400)
    assert r.kpis("North")["open_ar"] == 1100.0 and r.kpis("South")["open_ar"] == 400.0
    pos = r.positions().set_index("invoice_id")
    assert pos.loc["I1", "paid_date"] == pd.Timestamp("2026-10-15")
    assert pos.loc["I1", "days_late"] == 45 and pos.loc["I5", "days_late"] == -5
    assert pos.loc["I5", ["status", "credit_amount"]].tolist() == ["credit", 50.0]
    assert pos.loc["I6", ["status", "days_past_due", "bucket"]].tolist() == ["overdue", 92, 4]
    assert pos.loc["I4", ["status", "paid_to_date"]].tolist() == ["current", 0.0]  # P5 is T+1
    assert pos.loc["I2", "_cents_open_amount"] == 30000
    assert sorted(r.positions("South")["invoice_id"]) == ["I5", "I6"]
    assert r.positions(open_only=True, customer_id="A")["invoice_id"].tolist() == ["I2"]
    with pytest.raises(UnknownRegion, match="North, South"):
        r.positions("Westt")


def test_kept_results_are_read_back_and_recomputed_when_the_data_changes(
    ledger_tables, tmp_path, monkeypatch
):
    """A second call with the same inputs reads the kept files (computing is refused); new
    processed data (another modification time) computes them again; a snapshot and other
    aging buckets keep folders of their own; the same ledger writes the same bytes."""
    folder = tmp_path / "processed"
    first = kept(ledger_tables, folder, trailing_months=2)
    digest = hashlib.sha256((first.folder / "positions.parquet").read_bytes()).hexdigest()

    def refuse(*args, **kwargs):
        raise AssertionError("computed again")

    with monkeypatch.context() as m:
        m.setattr(engine_period, "_compute", refuse)
        again = engine_period.period_results(folder, "2026-10", None, {"trailing_months": 2})
    assert again.folder == first.folder and again.kpis() == first.kpis()
    stat = os.stat(folder / "payments.parquet")
    os.utime(folder / "payments.parquet", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    redone = engine_period.period_results(folder, "2026-10", None, {"trailing_months": 2})
    assert hashlib.sha256((redone.folder / "positions.parquet").read_bytes()).hexdigest() == digest
    snap = engine_period.period_results(folder, "2026-10", "2026-10-15", {"trailing_months": 2})
    other = engine_period.period_results(
        folder, "2026-10", None, {"trailing_months": 2, "aging_buckets": [0, 15, 90]}
    )
    assert len({first.folder, snap.folder, other.folder}) == 3
    # at 10-15: I1 is paid that day (P2), I2 is due that day (not past due): open AR = I2 500 +
    # I3 2000 + I4 800 + I6 400 = 3700
    assert snap.as_of == "2026-10-15" and snap.kpis()["open_ar"] == 3700.0
    assert other.kpis()["aging"] == {"Current": 800.0, "1-15": 0.0, "16-90": 300.0, "90+": 400.0}


def test_engine_settings_reach_duckdb_and_do_not_change_the_kept_folder(ledger_tables, tmp_path):
    """The run's engine_settings (DuckDB's memory_limit) are how the results are computed, not
    what they are: they reach DuckDB (a setting DuckDB refuses fails the call) and a limit of
    1 GB on one thread keeps the same folder and the same figures as none."""
    from arinsight.engine.run import EngineError

    folder = tmp_path / "processed"
    kept(ledger_tables, folder)  # writes the processed files
    with pytest.raises((EngineError, Exception), match="(?i)memory|limit|parse"):
        engine_period.period_results(
            folder, "2026-10", "2026-10-20", {"engine_settings": {"memory_limit": "lots"}}
        )
    bounded = engine_period.period_results(
        folder, "2026-10", "2026-10-21", {"engine_settings": {"memory_limit": "1GB", "threads": 1}}
    )
    plain = engine_period.period_results(folder, "2026-10", "2026-10-21", {})
    assert bounded.folder == plain.folder and bounded.kpis() == plain.kpis()


def test_every_page_figure_agrees_with_the_engine_kpis(tmp_path):
    """On a generated ledger (3,000 invoices, every region): for All and each region, what the
    receivables page draws from the positions adds up to the engine's KPI to the cent: the
    aging chart to the aging and to open AR, the overdue list to overdue AR, the over-limit list
    to the count of customers over their limit, the top-customers chart to the top pending
    customers, the monthly trends and the sparklines end at the tiles' values, and every
    customer statement adds up to that customer's balance."""
    from arinsight.sample import generate

    tables = {k: v for k, v in generate(n_invoices=3000, seed=11).items()}
    r = kept(tables, tmp_path / "processed", "2025-12", trailing_months=4)
    for region in r.regions:
        k = r.kpis(region)
        pos = r.positions(region)
        cents = pos["_cents_open_amount"]
        assert int(cents.sum()) == round(k["open_ar"] * 100), region
        aging = receivables.aging_table(pos)
        assert dict(
            zip(aging["bucket"].astype(str), aging["amount"], strict=True)
        ) == pytest.approx(k["aging"], abs=0.001)
        overdue = receivables.overdue_invoice_list(pos)
        assert round(overdue["open_amount"].sum(), 2) == pytest.approx(k["overdue_ar"], abs=0.001)
        assert len(overdue) == k["overdue_invoices"]
        bal = receivables.customer_balances(pos, r.customers(region), r.unapplied(region))
        assert len(receivables.customers_over_credit_limit(bal)) == k["customers_over_credit_limit"]
        top = receivables.top_customers(bal, 10)
        assert top["customer_id"].tolist() == [c["customer_id"] for c in k["top_pending_customers"]]
        assert top["open_ar"].tolist() == pytest.approx(
            [c["pending"] for c in k["top_pending_customers"]], abs=0.001
        )
        assert round(bal["unapplied_cash"].sum(), 2) == pytest.approx(
            k["unapplied_cash"], abs=0.001
        )
        monthly = receivables.monthly_trends(r.months(region), pos, r.as_of)
        last = monthly.iloc[-1]
        assert (last["open_ar"], last["overdue_ar"], last["billed"]) == pytest.approx(
            (k["open_ar"], k["overdue_ar"], k["credit_sales"]), abs=0.001
        )
        tiles = [t.key for t in kpis.tiles("receivables")]
        history = r.history(region, tiles)
        assert {key: series["2025-12"] for key, series in history.items()} == {
            key: k[key] for key in tiles
        }
        statements = cust.open_items(receivables.invoice_explorer_table(pos))
        by_customer = statements.groupby("customer_id")["open_amount"].sum().round(2)
        owed = bal.set_index("customer_id")["open_ar"]
        assert by_customer.to_dict() == pytest.approx(owed[owed > 0].to_dict(), abs=0.001)


def test_one_registry_one_key_order():
    """Every KPI the engine computes has its words in the registry and a formula in
    engine.metrics, and the other way round; kpis.json has one key order (the run's, the
    engine's and the registry's are one tuple) and it holds every engine KPI but the two
    duplicate names."""
    from arinsight.engine.metrics import KPIS

    engine_keys = {k.key for k in kpis.REGISTRY if k.formula == kpis.ENGINE_MODULE}
    assert engine_keys == set(KPIS)
    assert runs.KPI_KEYS is kpis.JSON_KEYS and KPIS_JSON_KEYS is kpis.JSON_KEYS
    assert set(KPIS) - set(kpis.JSON_KEYS) == {"total_revenue", "overdue_amount"}
    assert kpis.get("cei").definition.count("sales / months") == 2


def test_reasons_for_names_why_each_kpi_is_null():
    """No data at all: every KPI says so; data without sales: DSO says "no credit sales";
    no commission accrued: the commission KPIs say so; a defined KPI has no reason."""
    empty = kpis.reasons_for({"open_ar": None, "dso": None, "total_accrued_commissions": None})
    assert empty == {
        "open_ar": kpis.NA_EMPTY,
        "dso": kpis.NA_EMPTY,
        "total_accrued_commissions": kpis.NA_NO_COMMISSIONS,
    }
    no_sales = kpis.reasons_for({"open_ar": 10.0, "dso": None, "total_accrued_commissions": 5.0})
    assert no_sales == {"dso": "no credit sales in the period"}


def test_engine_failure_is_a_note_and_other_pages_still_run(tmp_path):
    """A processed folder the engine cannot read (a payments file that is not parquet) makes
    period_results fail with the file named; the runner keeps the reason as a note."""
    folder = tmp_path / "processed"
    folder.mkdir()
    make_ledger()["invoices"].to_parquet(folder / "invoices.parquet")
    (folder / "payments.parquet").write_text("not parquet")
    with pytest.raises(Exception, match="payments"):
        engine_period.period_results(folder, "2026-10", None, {})
    out = tmp_path / "All" / "invoice_explorer.parquet"
    seconds, notes = runs.period_step(folder, period_bounds("2026-10"), {}, out)
    assert seconds is None and not out.exists()
    assert len(notes) == 1 and notes[0].startswith("the engine could not compute the period")
    assert "payments" in notes[0]


def test_runner_results_timing_and_explorer(ledger_tables, tmp_path):
    """The runner's step computes the results with the receivables page's parameters, then
    writes the explorer table (every invoice at T) and the customer pages' tables."""
    folder = tmp_path / "processed"
    kept(ledger_tables, folder, trailing_months=3)
    period = period_bounds("2026-10")
    out = tmp_path / "All" / "invoice_explorer.parquet"
    seconds, notes = runs.period_step(folder, period, {"trailing_months": 3}, out)
    assert notes == [] and seconds is not None  # read back: kept() computed them
    explorer = pd.read_parquet(out)
    assert explorer["invoice_id"].tolist() == ["I6", "I1", "I5", "I2", "I3", "I4"]
    pays = pd.read_parquet(out.parent / "customer_payments.parquet")
    assert "P5" not in set(pays["payment_id"])  # dated 11-01, after T
    assert len(pays) == 6 and str(T) >= str(pays["payment_date"].max().date())


@pytest.mark.xdist_group("spark")
@pytest.mark.skipif(shutil.which("java") is None, reason="no Java (make java)")
def test_positions_on_spark_equal_duckdb(ledger_tables):
    """The kept tables computed by Spark (local mode) equal DuckDB's cell by cell: the same
    expressions, money to the cent, the same paid dates (I1 2026-10-15) and statuses."""
    duck = engine_period.frames_at(ledger_tables, T)
    spark = engine_period.frames_at(ledger_tables, T, url="pyspark://")
    for name in ("positions", "unapplied", "cash_months"):
        pd.testing.assert_frame_equal(spark[name], duck[name], check_dtype=False)
    assert duck["positions"].set_index("invoice_id").loc["I1", "paid_date"] == pd.Timestamp(
        "2026-10-15"
    )
