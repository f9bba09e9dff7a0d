"""Your own ledger with a mapping alone: every export shape of tests/exports/ publishes.

Each folder of tests/exports/ is an export in a shape real ERPs and BI tools produce, with the
sources file that maps it (no code). Each end-to-end test copies it, runs ``arinsight check`` and
``arinsight run --period 2026-09`` as a user would (real notebooks, papermill), and compares
kpis.json with the figures worked out by hand in its docstring. The period is September 2026:
T = 2026-09-30, the period has 30 days, AR(begin) is measured at the end of 2026-08-31; the
run date (the export date) is 2026-10-15.

The fast tests at the end go through ingest and clean in memory (undated payments, conflicts).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from arinsight import clean, ingest

EXPORTS = Path(__file__).parent / "exports"
PERIOD = "2026-09"
RUN_DATE = "2026-10-15"


# --------------------------------------------------------------------------------------------
# exports that are binary (Excel, SQLite) or long (120 rows) are built here from literal rows
# --------------------------------------------------------------------------------------------


def _build_excel(folder: Path) -> None:
    """Sheet "AR" with a title block on rows 1-3 and the header on row 4; real date cells."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "AR"
    ws.append(["Accounts receivable report"])
    ws.append(["Generated", dt.date(2026, 10, 15)])
    ws.append([])
    ws.append(["Invoice", "Client", "Client Name", "Issued", "Due", "Net Amount", "Paid On"])
    ws.append(
        ["E1", "K01", "Kappa", dt.date(2026, 9, 1), dt.date(2026, 9, 30), 500, dt.date(2026, 9, 30)]
    )
    ws.append(["E2", "K01", "Kappa", dt.date(2026, 9, 15), dt.date(2026, 10, 15), 700, None])
    ws.append(["E3", "K02", "Lambda", dt.date(2026, 8, 1), dt.date(2026, 8, 31), 300, None])
    wb.save(folder / "ar_report.xlsx")


def _build_sqlite(folder: Path) -> None:
    con = sqlite3.connect(folder / "erp.db")
    con.executescript(
        """
        CREATE TABLE ar_invoices (doc_no TEXT, doc_type TEXT, cust TEXT, doc_date TEXT,
                                  due TEXT, amt REAL);
        INSERT INTO ar_invoices VALUES
          ('Q1', 'INV', 'Z1', '2026-08-10', '2026-09-09', 1500.0),
          ('Q2', 'INV', 'Z1', '2026-09-05', '2026-10-05', 250.0),
          ('Q3', 'INV', 'Z2', '2026-09-15', '2026-10-15', 800.0),
          ('CN1', 'CRN', 'Z1', '2026-09-20', '2026-09-20', -100.0);
        CREATE TABLE ar_receipts (rcpt TEXT, doc_no TEXT, cust TEXT, rcpt_date TEXT, amt REAL,
                                  method TEXT);
        INSERT INTO ar_receipts VALUES
          ('RC1', 'Q1', 'Z1', '2026-09-05', 1000.0, 'wire'),
          ('RC2', 'Q1', 'Z1', '2026-09-25', 500.0, 'wire'),
          ('RC3', 'Q3', 'Z2', '2026-09-30', 800.0, 'card');
        """
    )
    con.commit()
    con.close()


def _build_120(folder: Path) -> None:
    """10 customers C01..C10 (amount 100 x k, region North for odd k, South for even k), one
    invoice a month from 2025-10-01 to 2026-09-01, due 30 days later. Customers 1-5 pay on the due
    date, customers 6-10 45 days after it; a paid date appears only if it is on or before the
    export date 2026-10-15."""
    export = dt.date(2026, 10, 15)
    lines = ["Invoice,Customer,Name,Region,Date,Due,Amount,Paid"]
    for k in range(1, 11):
        for m in range(12):
            year, month = (2025, 10 + m) if m < 3 else (2026, m - 2)
            day = dt.date(year, month, 1)
            due = day + dt.timedelta(days=30)
            paid = due + dt.timedelta(days=0 if k <= 5 else 45)
            region = "North" if k % 2 else "South"
            lines.append(
                f"M{day:%Y%m}-C{k:02d},C{k:02d},Customer {k:02d},{region},{day},{due},"
                f"{100 * k}.00,{paid if paid <= export else ''}"
            )
    (folder / "invoices.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


_BUILDERS = {"excel_offset": _build_excel, "sql_export": _build_sqlite, "small_120": _build_120}


def export(shape: str, tmp_path: Path) -> Path:
    """A copy of tests/exports/<shape> in tmp_path (binary files built); returns its folder."""
    folder = tmp_path / shape
    shutil.copytree(EXPORTS / shape, folder)
    if shape in _BUILDERS:
        _BUILDERS[shape](folder)
    return folder


def _params(folder: Path, tmp_path: Path) -> Path:
    params = tmp_path / f"{folder.name}-params.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "sources": str(folder / "sources.yaml"),
                "run_date": RUN_DATE,
                "interim_dir": str(tmp_path / "interim"),
                "processed_dir": str(tmp_path / "processed"),
                "reports_dir": str(tmp_path / "reports"),
            }
        ),
        encoding="utf-8",
    )
    return params


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "arinsight", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )


def run_shape(shape: str, tmp_path: Path, regions: list[str]) -> dict[str, dict]:
    """check + run of one export; asserts both exit 0 and every region's receivables page is
    published; returns region -> kpis.json."""
    return run_export(export(shape, tmp_path), tmp_path, regions)


def run_export(folder: Path, tmp_path: Path, regions: list[str]) -> dict[str, dict]:
    """:func:`run_shape` of an export already copied to ``folder``, with the folders of
    ``tmp_path`` (interim, processed, reports)."""
    params = _params(folder, tmp_path)
    checked = _cli("check", "--params", str(params), "--json", str(tmp_path / "check.json"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "result: a run would work" in checked.stdout
    ran = _cli("run", "--period", PERIOD, "--params", str(params), "--jobs", "2")
    assert ran.returncode == 0, ran.stderr[-3000:]
    reports = tmp_path / "reports" / PERIOD
    manifest = json.loads((reports / "manifest.json").read_text())
    assert manifest["regions"] == ["All", *regions]
    out = {}
    for region in ["All", *regions]:
        assert (reports / region / "03_receivables.ipynb").is_file(), region
        assert manifest["reports"][region]["pages"]["03_receivables.ipynb"]["status"] == "ok"
        out[region] = json.loads((reports / region / "kpis.json").read_text())
    return out


def approx(value: float, digits: int = 4):
    return pytest.approx(value, abs=10**-digits)


# --------------------------------------------------------------------------------------------
# the shapes, end to end
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_flat_export_with_partial_paid_amounts_and_no_dates(tmp_path):
    """F2 (200 of 500) and F5 (150 of 400) have a paid amount but no paid date: by default they
    are quarantined as undated_payment (2 rows, 350.00), never applied. Kept payments: F1 1000 on
    08-25, F4 300 on 09-20, F6 250 on 09-29.

    At T: F2 500 current, F3 800 overdue (due 09-09), F5 400 overdue (due 08-14): open AR =
    1700, overdue 1200 (2 invoices), current 500. Sales in September: F2 500 + F4 300 + F6 250 =
    1050; collections 300 + 250 = 550. AR(begin) = F3 800 + F5 400 = 1200 (F1 paid 08-25).
    DSO = 1700 / 1050 x 30 = 48.5714; CEI = (1200 + 1050 - 1700) / (1200 + 1050 - 500) x 100 =
    550 / 1750 x 100 = 31.4286. Paid of billed: (1000 + 300 + 250) / 3250 = 47.6923 %.
    Average days late of invoices paid in September: F4 early (0), F6 14 -> 7.0. Due by T: F1,
    F3, F5, F6; fully paid F1, F6: 50 % by count, 1250 / 2450 = 51.0204 % by amount.
    Top pending: C2 Beta 800 (overdue 800), C1 Acme 500 (0), C3 Gamma 400 (400).
    North = C1 + C3: open 900; South = C2: 800. No credit limits, no commissions: those KPIs are
    n/a with the reason; 6 invoices cannot train the risk model: high-risk customers n/a."""
    k = run_shape("flat_partial", tmp_path, ["North", "South"])
    a = k["All"]
    assert (a["open_ar"], a["overdue_ar"], a["current_ar"], a["overdue_invoices"]) == (
        1700.0,
        1200.0,
        500.0,
        2,
    )
    assert (a["credit_sales"], a["collections"], a["open_ar_begin"]) == (1050.0, 550.0, 1200.0)
    assert a["dso"] == approx(48.5714) and a["cei"] == approx(31.4286)
    assert a["paid_to_billed_rate"] == approx(47.6923)
    assert a["average_days_late"] == 7.0
    assert a["payment_completion_rate_count"] == 50.0
    assert a["payment_completion_rate_amount"] == approx(51.0204)
    assert a["top_pending_customers"] == [
        {"customer_id": "C2", "customer_name": "Beta", "pending": 800.0, "overdue": 800.0},
        {"customer_id": "C1", "customer_name": "Acme", "pending": 500.0, "overdue": 0.0},
        {"customer_id": "C3", "customer_name": "Gamma", "pending": 400.0, "overdue": 400.0},
    ]
    assert a["customers_over_credit_limit"] is None
    assert (
        a["na_reasons"]["customers_over_credit_limit"] == "the customer data has no credit limits"
    )
    assert a["total_accrued_commissions"] is None and a["average_commission_rate"] is None
    assert a["high_risk_customers"] is None
    assert "at least 50 needed" in a["na_reasons"]["high_risk_customers"]
    assert k["North"]["open_ar"] == 900.0 and k["South"]["open_ar"] == 800.0
    dq = json.loads((tmp_path / "reports" / PERIOD / "All" / "data_quality.json").read_text())
    assert dq["undated_payments"]["quarantined"] == {"rows": 2, "amount": 350.0}
    assert dq["tables"]["payments"] == {
        "read": 5,
        "kept": 3,
        "quarantined": 2,
        "duplicates_dropped": 0,
    }


@pytest.mark.slow
@pytest.mark.xdist_group("own-data-switch")
def test_status_only_export_dated_by_the_export_date(switched):
    """Status "Bezahlt" (paid) without a date, dated 2026-09-30 by undated_payment_date: S1
    1200.00 and S4 99.50 are payments on 09-30, flagged payment_date_assumed (2 rows, 1299.50).

    At T: S2 800 current, S3 450.50 overdue (due 09-19): open AR 1250.50, overdue 450.50.
    Sales in September: S2 800 + S4 99.50 = 899.50; collections 1200 + 99.50 = 1299.50.
    AR(begin) = S1 1200 + S3 450.50 = 1650.50. DSO = 1250.50 / 899.50 x 30 = 41.7065.
    Paid of billed: 1299.50 / 2550.00 = 50.9608 %. Average days late (paid in September): S1 30
    days late (due 08-31, paid 09-30), S4 early -> 15.0. No regions: only "All".

    The first run of :func:`switched` (its reports folder is fresh then)."""
    k = switched["status"]
    a = k["All"]
    assert (a["open_ar"], a["overdue_ar"], a["credit_sales"], a["collections"]) == (
        1250.5,
        450.5,
        899.5,
        1299.5,
    )
    assert a["open_ar_begin"] == 1650.5
    assert a["dso"] == approx(41.7065)
    assert a["paid_to_billed_rate"] == approx(50.9608)
    assert a["average_days_late"] == 15.0
    dq = switched["status_data_quality"]
    assert dq["undated_payments"]["dated_by_assumption"] == {"rows": 2, "amount": 1299.5}
    assert dq["reasons"]["payments"] == {"payment_date_assumed": 2}


@pytest.mark.slow
def test_no_credit_limits_no_energy_no_commissions(tmp_path):
    """Three CSV tables. P1 pays N1 in full on 09-02, P2 pays 400 of N3 on 09-25, P3 is 50 of
    unapplied cash from B1 on 09-28.

    At T: N2 400 current, N3 600 overdue (due 09-19), N4 200 current: open AR 1200, overdue 600.
    Sales in September: N2 400 + N4 200 = 600; collections 600 + 400 + 50 = 1050. AR(begin) =
    N1 600 + N3 1000 = 1600. DSO = 1200 / 600 x 30 = 60; CEI = (1600 + 600 - 1200) / (1600 + 600
    - 600) x 100 = 62.5. Unapplied cash 50. Paid of billed: (600 + 400) / 2200 = 45.4545 %.
    East (A1): open 400; West (B1): open 800 and the unapplied 50. Credit limits and commissions
    are absent: n/a, never 0."""
    k = run_shape("no_limits", tmp_path, ["East", "West"])
    a = k["All"]
    assert (a["open_ar"], a["overdue_ar"], a["credit_sales"], a["collections"]) == (
        1200.0,
        600.0,
        600.0,
        1050.0,
    )
    assert a["open_ar_begin"] == 1600.0 and a["dso"] == 60.0 and a["cei"] == 62.5
    assert a["unapplied_cash"] == 50.0
    assert a["paid_to_billed_rate"] == approx(45.4545)
    assert a["customers_over_credit_limit"] is None
    for key in ("total_accrued_commissions", "commissions_paid_mtd", "average_commission_rate"):
        assert a[key] is None and "no commissions" in a["na_reasons"][key]
    assert k["East"]["open_ar"] == 400.0
    assert (k["West"]["open_ar"], k["West"]["unapplied_cash"]) == (800.0, 50.0)


@pytest.mark.slow
def test_120_invoices_of_own_data(tmp_path):
    """10 customers (k = 1..10, amount 100k, North odd / South even), one invoice a month from
    2025-10-01 to 2026-09-01 due 30 days later; k <= 5 pay on the due date, k >= 6 45 days late.

    At T = 09-30: k <= 5 owe their September invoice (due 10-01, current): 100+...+500 = 1500;
    k >= 6 owe August (due 08-31, 30 days past due) and September: 2 x (600+...+1000) = 8000.
    Open AR 9500, overdue 4000 (5 invoices), current 5500. Sales in September = 5500.
    Collections in September: the July invoices of k >= 6 (due 07-31, paid 09-14) = 4000.
    AR(begin 08-31) = July + August invoices of k >= 6 = 8000 (k <= 5 paid August on 08-31).
    DSO = 9500 / 5500 x 30 = 51.8182; CEI = (8000 + 5500 - 9500) / (8000 + 5500 - 5500) x 100 =
    50. Paid of billed: billed 12 x 5500 = 66000; paid 11 x 1500 + 10 x 4000 = 56500 ->
    85.6061 %. Average days late of invoices paid in September: the five July invoices, 45 days.
    North (1,3,5,7,9): 900 + 2 x 1600 = 4100; South: 600 + 2 x 2400 = 5400. Top pending: C10
    2000 (overdue 1000), C09 1800 (900), C08 1600 (800)... The risk model has 100 invoices with a
    known outcome (due by 08-30), both outcomes: it trains, so high-risk customers is a list."""
    k = run_shape("small_120", tmp_path, ["North", "South"])
    a = k["All"]
    assert (a["open_ar"], a["overdue_ar"], a["current_ar"], a["overdue_invoices"]) == (
        9500.0,
        4000.0,
        5500.0,
        5,
    )
    assert (a["credit_sales"], a["collections"], a["open_ar_begin"]) == (5500.0, 4000.0, 8000.0)
    assert a["dso"] == approx(51.8182) and a["cei"] == 50.0
    assert a["paid_to_billed_rate"] == approx(85.6061)
    assert a["average_days_late"] == 45.0
    assert [c["customer_id"] for c in a["top_pending_customers"][:3]] == ["C10", "C09", "C08"]
    assert [(c["pending"], c["overdue"]) for c in a["top_pending_customers"][:3]] == [
        (2000.0, 1000.0),
        (1800.0, 900.0),
        (1600.0, 800.0),
    ]
    assert (k["North"]["open_ar"], k["South"]["open_ar"]) == (4100.0, 5400.0)
    assert isinstance(a["high_risk_customers"], list)


@pytest.mark.slow
def test_everything_settled_by_the_export_date(tmp_path):
    """Every invoice settled by T: open AR 0, nothing overdue, no open invoice to score.

    Sales in September: H4 400 + H5 50 = 450; collections: H2 200 (09-10) + H3 300 (09-14) + H4
    400 + H5 50 = 950. AR(begin) = H2 200 + H3 300 = 500. DSO = 0 / 450 x 30 = 0; CEI =
    (500 + 450 - 0) / (500 + 450 - 0) x 100 = 100; AR turnover = 450 / ((500 + 0) / 2) = 1.8.
    Paid of billed 100 %; completion by count 100 % (H1, H2, H3 due by T, all paid).
    Average days late (paid in September): H2 10, H3 0, H4 0, H5 0 -> 2.5. Nothing pending:
    top pending customers is an empty list. Regions from country codes: 391 North (CU1, CU3),
    406 South (CU2). The unmapped columns (Disputed, DaysLate...) are listed by check."""
    k = run_shape("all_settled", tmp_path, ["North", "South"])
    a = k["All"]
    assert (a["open_ar"], a["overdue_ar"], a["overdue_invoices"]) == (0.0, 0.0, 0)
    assert (a["credit_sales"], a["collections"], a["open_ar_begin"]) == (450.0, 950.0, 500.0)
    assert (a["dso"], a["cei"], a["ar_turnover"]) == (0.0, 100.0, 1.8)
    assert a["paid_to_billed_rate"] == 100.0 and a["payment_completion_rate_count"] == 100.0
    assert a["average_days_late"] == 2.5
    assert a["top_pending_customers"] == []
    assert k["South"]["credit_sales"] == 400.0 and k["North"]["credit_sales"] == 50.0
    report = json.loads((tmp_path / "check.json").read_text())
    unmapped = report["tables"][0]["unmapped"]
    assert {"Disputed", "DaysLate", "PaperlessBill"} <= set(unmapped)


@pytest.mark.slow
def test_region_varies_per_row_segment_by_invoice(tmp_path):
    """D1's rows say North (R1) and South (R2, R3); industries Retail (R1, R2) and Energy (R3):
    conflicts of 1 customer each; the latest row (R3: South, Energy) is D1's master data, so 1
    region row and 2 industry rows differ. With segment_by: invoice each invoice is reported
    under its own row: North = R1, R4, R5; South = R2, R3.

    At T: R2 200 current, R3 300 overdue (due 09-20), R5 500 current; R1 paid 08-20, R4 paid
    09-16. All: open AR 1000, overdue 300, sales in September 200 + 300 + 500 = 1000,
    collections 400, AR(begin) = R4 400, DSO = 1000 / 1000 x 30 = 30, paid of billed 500 / 1500 =
    33.3333 %. North: sales 500 (R5), open 500, overdue 0, collections 400, AR(begin) 400.
    South: sales 500 (R2 + R3), open 500, overdue 300, collections 0, AR(begin) 0."""
    k = run_shape("region_per_row", tmp_path, ["North", "South"])
    a, n, s = k["All"], k["North"], k["South"]
    assert (a["open_ar"], a["overdue_ar"], a["credit_sales"], a["collections"]) == (
        1000.0,
        300.0,
        1000.0,
        400.0,
    )
    assert a["dso"] == 30.0 and a["paid_to_billed_rate"] == approx(33.3333)
    assert (n["credit_sales"], n["open_ar"], n["overdue_ar"], n["collections"]) == (
        500.0,
        500.0,
        0.0,
        400.0,
    )
    assert n["open_ar_begin"] == 400.0
    assert (s["credit_sales"], s["open_ar"], s["overdue_ar"], s["collections"]) == (
        500.0,
        500.0,
        300.0,
        0.0,
    )
    dq = json.loads((tmp_path / "reports" / PERIOD / "All" / "data_quality.json").read_text())
    assert dq["customer_conflicts"] == {
        "industry": {"customers": 1, "invoices": 2},
        "region": {"customers": 1, "invoices": 1},
    }
    assert dq["segment_by"] == "invoice"


@pytest.mark.slow
def test_us_dates_and_thousands_separators(tmp_path):
    """Dates month/day/year, amounts "1,250.00". U1 paid 09-01, U4 paid 09-30.

    At T: U2 2000.00 current, U3 750.25 overdue (due 08-19): open AR 2750.25, overdue 750.25.
    Sales in September: U2 2000 + U4 99.75 = 2099.75; collections 1250 + 99.75 = 1349.75.
    AR(begin) = U1 1250 + U3 750.25 = 2000.25. DSO = 2750.25 / 2099.75 x 30 = 39.2940.
    Paid of billed: 1349.75 / 4100.00 = 32.9207 %."""
    k = run_shape("us_dates", tmp_path, [])
    a = k["All"]
    assert (a["open_ar"], a["overdue_ar"], a["credit_sales"], a["collections"]) == (
        2750.25,
        750.25,
        2099.75,
        1349.75,
    )
    assert a["open_ar_begin"] == 2000.25
    assert a["dso"] == approx(39.2940)
    assert a["paid_to_billed_rate"] == approx(32.9207)


@pytest.mark.slow
def test_excel_report_with_a_header_offset(tmp_path):
    """Header on row 4 below a title block. E1 500 paid 09-30 (its due date), E2 700 open
    (current), E3 300 open since 08-31 (overdue).

    Open AR 1000, overdue 300; sales in September 500 + 700 = 1200; collections 500; AR(begin)
    = E3 300; DSO = 1000 / 1200 x 30 = 25; paid of billed 500 / 1500 = 33.3333 %. The rows keep
    their sheet row numbers: E1 is row 5."""
    k = run_shape("excel_offset", tmp_path, [])
    a = k["All"]
    assert (a["open_ar"], a["overdue_ar"], a["credit_sales"], a["collections"]) == (
        1000.0,
        300.0,
        1200.0,
        500.0,
    )
    assert a["open_ar_begin"] == 300.0 and a["dso"] == 25.0
    assert a["paid_to_billed_rate"] == approx(33.3333)
    result = ingest.ingest(tmp_path / "excel_offset" / "sources.yaml")
    rows = result.tables["invoices"].set_index("invoice_id")["_source_row"].to_dict()
    assert rows == {"E1": 5, "E2": 6, "E3": 7}


@pytest.mark.slow
@pytest.mark.xdist_group("own-data-switch")
def test_sql_export_read_with_a_query(switched):
    """Invoices by a query that leaves the credit note CN1 out; receipts from a table. Q1 1500
    is paid 1000 on 09-05 and 500 on 09-25 (fully paid 16 days after its due date 09-09); Q3 800
    paid 09-30 (early).

    At T: Q2 250 current. Open AR 250, overdue 0. Sales in September 250 + 800 = 1050;
    collections 1000 + 500 + 800 = 2300; AR(begin) = Q1 1500. DSO = 250 / 1050 x 30 = 7.1429;
    CEI = (1500 + 1050 - 250) / (1500 + 1050 - 250) x 100 = 100. Average days late: Q1 16,
    Q3 0 -> 8. Paid of billed: 2300 / 2550 = 90.1961 %.

    The second run of :func:`switched`: into the folders where the status-only export ran
    first, so these figures also show that nothing of that dataset is mixed in."""
    k = switched["erp"]
    a = k["All"]
    assert (a["open_ar"], a["overdue_ar"], a["credit_sales"], a["collections"]) == (
        250.0,
        0.0,
        1050.0,
        2300.0,
    )
    assert a["open_ar_begin"] == 1500.0
    assert a["dso"] == approx(7.1429) and a["cei"] == 100.0
    assert a["average_days_late"] == 8.0
    assert a["paid_to_billed_rate"] == approx(90.1961)


# --------------------------------------------------------------------------------------------
# fast: ingest + clean in memory
# --------------------------------------------------------------------------------------------


def _clean(folder: Path):
    result = ingest.ingest(folder / "sources.yaml")
    return result, clean.clean(
        result.tables,
        run_date=RUN_DATE,
        segment_by=result.segment_by,
        customer_conflicts=result.conflicts,
    )


def test_undated_paid_amounts_are_quarantined_by_default(tmp_path):
    """flat_partial: F2 (200) and F5 (150) are paid without a date -> 2 payments quarantined as
    undated_payment with their file and row (lines 3 and 6 of export.csv), 350.00 held back;
    rows read 5 = kept 3 + quarantined 2 (conservation)."""
    _, cleaned = _clean(export("flat_partial", tmp_path))
    q = cleaned.quarantine
    undated = q[q["reason"] == "undated_payment"]
    assert undated["key"].tolist() == ["F2-P", "F5-P"]
    assert undated["source_row"].tolist() == [3, 6]
    assert undated["detail"].tolist() == [
        "paid 200.00 with no payment date",
        "paid 150.00 with no payment date",
    ]
    assert cleaned.summary["undated_payments"]["quarantined"] == {"rows": 2, "amount": 350.0}
    assert cleaned.summary["tables"]["payments"]["read"] == 5
    assert cleaned.summary["conservation_ok"] is True


def test_undated_payment_date_dates_and_flags_them(tmp_path):
    """flat_partial with undated_payment_date 2026-09-30: F2-P 200 and F5-P 150 are kept, dated
    2026-09-30 and flagged; nothing is quarantined; 5 payments kept totalling 1000 + 200 + 300 +
    150 + 250 = 1900."""
    folder = export("flat_partial", tmp_path)
    spec = yaml.safe_load((folder / "sources.yaml").read_text())
    spec["sources"]["invoices"]["derive_payments"]["undated_payment_date"] = "2026-09-30"
    (folder / "sources.yaml").write_text(yaml.safe_dump(spec))
    _, cleaned = _clean(folder)
    pay = cleaned.tables["payments"].set_index("payment_id")
    assert pay["payment_date_assumed"].to_dict() == {
        "F1-P": False,
        "F2-P": True,
        "F4-P": False,
        "F5-P": True,
        "F6-P": False,
    }
    assert str(pay.loc["F2-P", "payment_date"].date()) == "2026-09-30"
    assert pay["amount"].sum() == 1900.0
    assert cleaned.quarantine.empty
    assert cleaned.summary["undated_payments"]["dated_by_assumption"] == {
        "rows": 2,
        "amount": 350.0,
    }


def test_status_only_without_a_date_is_quarantined(tmp_path):
    """status_only without undated_payment_date: the two "Bezahlt" invoices become payments
    without a date (S1 1200.00, S4 99.50): quarantined as undated_payment, 1299.50 held back."""
    folder = export("status_only", tmp_path)
    text = (folder / "sources.yaml").read_text().replace(", undated_payment_date: 2026-09-30", "")
    (folder / "sources.yaml").write_text(text)
    _, cleaned = _clean(folder)
    assert cleaned.summary["reasons"]["payments"] == {"undated_payment": 2}
    assert cleaned.summary["undated_payments"]["quarantined"] == {"rows": 2, "amount": 1299.5}


def test_conflicting_customer_attributes_latest_invoice_wins(tmp_path):
    """region_per_row without segment_by: D1's latest invoice (R3, 2026-09-10) says South and
    Energy, so D1 is a South/Energy customer and all its invoices (R1, R2, R3) are reported under
    South; D2 stays North. 1 customer conflicts on region (1 row differs: R1) and on industry
    (2 rows differ: R1, R2)."""
    folder = export("region_per_row", tmp_path)
    text = (folder / "sources.yaml").read_text().replace("segment_by: invoice\n", "")
    (folder / "sources.yaml").write_text(text)
    result, cleaned = _clean(folder)
    assert result.segment_by == "customer"
    cust = cleaned.tables["customers"].set_index("customer_id")
    assert cust.loc["D1", ["region", "industry"]].tolist() == ["South", "Energy"]
    inv = cleaned.tables["invoices"].set_index("invoice_id")
    assert inv["region"].to_dict() == {
        "R1": "South",
        "R2": "South",
        "R3": "South",
        "R4": "North",
        "R5": "North",
    }
    assert result.conflicts == {
        "region": {"customers": 1, "invoices": 1},
        "industry": {"customers": 1, "invoices": 2},
    }
    table = clean.flat_export_table(cleaned)
    assert table["Rows"].tolist() == [1, 1]


def test_check_blocks_when_no_invoice_survives(tmp_path, capsys):
    """Every invoice date is unparseable with the declared format: check exits 2 and names the
    first blocking problem (4 of 4 invoices quarantined as unparseable_value)."""
    folder = export("us_dates", tmp_path)
    text = (folder / "sources.yaml").read_text().replace("%m/%d/%Y", "%d.%m.%Y")
    text = text.replace("    thousands", "    on_bad_value: quarantine\n    thousands")
    (folder / "sources.yaml").write_text(text)
    from arinsight.cli import main

    code = main(["check", "--params", str(_params(folder, tmp_path))])
    out = capsys.readouterr()
    assert code == 2
    assert "no invoice survived cleaning (4 read; quarantined: unparseable_value 4)" in out.err


def _site_pages(tmp_path: Path, name: str) -> dict[str, str]:
    from arinsight import site

    project = tmp_path / f"project-{name}"
    project.mkdir()
    shutil.copy(Path(__file__).parents[1] / "_quarto.yml", project / "_quarto.yml")
    out = site.build_site(
        tmp_path / f"site-{name}", "builtin", reports_dir=tmp_path / "reports", project_dir=project
    )
    files = [
        *out.rglob("*.html"),
        *out.rglob("explorer-data*.js"),
        *out.rglob("explorer-data/*.js"),
    ]  # the explorer's rows too
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in files}


@pytest.fixture(scope="module")
def switched(tmp_path_factory) -> dict:
    """Three runs of September into one set of folders (interim, processed, reports), as a user
    switching datasets does: the status-only export (customers K1 "Müller GmbH", K2 "Gärtner
    AG"; dataset "Status-only export"), then the SQL export (customers Z1, Z2; dataset "ERP
    database"), then the status-only export again. The first two go through :func:`run_export`
    (check + run); kpis.json and the data quality are read after each, the site is built after
    the second and the third run. Shared by the status-only, SQL and switching tests (the tests
    of group "own-data-switch" run on one worker, so it runs once): each run costs ~25 s."""
    tmp = tmp_path_factory.mktemp("switch")
    status, erp = export("status_only", tmp), export("sql_export", tmp)
    out: dict = {"status": run_export(status, tmp, [])}
    all_dir = tmp / "reports" / PERIOD / "All"
    out["status_data_quality"] = json.loads((all_dir / "data_quality.json").read_text())
    out["erp"] = run_export(erp, tmp, [])
    out["erp_pages"] = _site_pages(tmp, "erp")
    out["archived"] = [p.name for p in (tmp / "reports" / "_archive").iterdir()]
    ran = _cli("run", "--period", PERIOD, "--params", str(_params(status, tmp)))
    assert ran.returncode == 0, ran.stderr[-2000:]
    out["again_pages"] = _site_pages(tmp, "status-again")
    return out


@pytest.mark.slow
@pytest.mark.xdist_group("own-data-switch")
def test_switching_datasets_never_mixes_them_on_the_site(switched):
    """Run the status-only export and then, into the same reports folder, the SQL export (see
    :func:`switched`): the first tree moves to reports/_archive/, and the site built
    afterwards names the ERP database on its home page while no page mentions the first
    dataset or its customers. Running the first dataset again brings its own reports back: the
    site then shows it and nothing of the ERP database."""
    pages = switched["erp_pages"]
    assert "ERP database" in pages["index.html"]
    mixed = [p for p, text in pages.items() if "Müller" in text or "Status-only" in text]
    assert mixed == []
    assert any(">Z1<" in text for text in pages.values())
    assert [name.startswith("status-only-export-") for name in switched["archived"]] == [True]
    pages = switched["again_pages"]
    assert "Status-only export" in pages["index.html"]
    assert [p for p, text in pages.items() if "ERP database" in text or ">Z1<" in text] == []
    assert any("Müller GmbH" in text for text in pages.values())


@pytest.mark.slow
def test_snapshot_as_of_mid_period(tmp_path):
    """flat_partial run with --as-of 2026-09-15 (T = 09-15; flows from 09-01 to 09-15, 15 days).
    Payments by T: only F1 1000 (08-25); F4 (09-20) and F6 (09-29) come later and do not count.

    Open at T: F2 500 (due 10-05), F3 800 (due 09-09, overdue), F4 300 (due 10-12), F5 400 (due
    08-14, overdue), F6 250 (due 09-15: due today, not past due) -> open AR 2250.00, overdue
    1200.00 in 2 invoices. Billed by T 3250.00, paid 1000.00 -> paid of billed 30.7692 %.
    Pending by customer: C2 Beta 800 + 300 = 1100.00 (overdue 800.00), C3 Gamma 400 + 250 =
    650.00 (overdue 400.00), C1 Acme 500.00 (overdue 0). Sales 09-01..09-15: 500 + 300 + 250 =
    1050, collections 0; DSO = 2250 / 1050 x 15 = 32.1429. The page states both dates."""
    folder = export("flat_partial", tmp_path)
    params = _params(folder, tmp_path)
    ran = _cli("run", "--period", PERIOD, "--as-of", "2026-09-15", "--params", str(params))
    assert ran.returncode == 0, ran.stderr[-2000:]
    reports = tmp_path / "reports" / PERIOD
    a = json.loads((reports / "All" / "kpis.json").read_text())
    assert (a["as_of"], a["period_start"], a["period_end"]) == (
        "2026-09-15",
        "2026-09-01",
        "2026-09-30",
    )
    assert (a["open_ar"], a["overdue_ar"], a["overdue_invoices"]) == (2250.0, 1200.0, 2)
    assert a["paid_to_billed_rate"] == approx(30.7692)
    assert a["top_pending_customers"] == [
        {"customer_id": "C2", "customer_name": "Beta", "pending": 1100.0, "overdue": 800.0},
        {"customer_id": "C3", "customer_name": "Gamma", "pending": 650.0, "overdue": 400.0},
        {"customer_id": "C1", "customer_name": "Acme", "pending": 500.0, "overdue": 0.0},
    ]
    assert (a["credit_sales"], a["collections"]) == (1050.0, 0.0)
    assert a["dso"] == approx(32.1429)
    page = (reports / "All" / "03_receivables.ipynb").read_text(encoding="utf-8")
    assert "balances as of **2026-09-15** (a snapshot of 2026-09), flows from 2026-09-01" in page
    manifest = json.loads((reports / "manifest.json").read_text())
    assert (manifest["as_of"], manifest["period_end"]) == ("2026-09-15", "2026-09-30")


def test_as_of_outside_the_period_is_refused_before_any_work(tmp_path):
    """--as-of 2026-10-01 is not in September: exit 2 with one line, no notebook started."""
    folder = export("flat_partial", tmp_path)
    ran = _cli(
        "run",
        "--period",
        PERIOD,
        "--as-of",
        "2026-10-01",
        "--params",
        str(_params(folder, tmp_path)),
    )
    assert ran.returncode == 2
    assert ran.stderr.strip() == (
        "arinsight run: error: as_of 2026-10-01 is outside period 2026-09 "
        "(2026-09-01 to 2026-09-30)"
    )
    assert not (tmp_path / "reports" / PERIOD).exists()


def test_reporting_currency_and_rates_of_the_sources_file_win(tmp_path):
    """The sources file says reporting_currency EUR and GBP at 1.15; the params say USD with no
    rates. Clean takes the file's: the EUR invoice stays 100.00, the GBP one becomes 200 x 1.15 =
    230.00 EUR, nothing is quarantined as unknown_currency; the runner hands EUR to the pages."""
    from arinsight.runs.params import dataset_settings

    (tmp_path / "inv.csv").write_text(
        "id,cust,date,due,amount,cur\nE1,C1,2026-09-01,2026-09-30,100.00,EUR\n"
        "G1,C1,2026-09-02,2026-10-02,200.00,GBP\n",
        encoding="utf-8",
    )
    (tmp_path / "sources.yaml").write_text(
        yaml.safe_dump(
            {
                "reporting_currency": "EUR",
                "fx_rates": {"GBP": 1.15},
                "sources": {
                    "invoices": {
                        "kind": "csv",
                        "path": "inv.csv",
                        "columns": {
                            "invoice_id": "id",
                            "customer_id": "cust",
                            "invoice_date": "date",
                            "due_date": "due",
                            "amount": "amount",
                            "currency": "cur",
                        },
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    result = ingest.ingest(tmp_path / "sources.yaml")
    cleaned = clean.clean_ingested(
        result.tables, ingest.manifest_of(result), RUN_DATE, reporting_currency="USD"
    )
    inv = cleaned.tables["invoices"].set_index("invoice_id")
    assert inv["amount"].to_dict() == {"E1": 100.0, "G1": 230.0}
    # the document currency stays beside the reporting amount (docs/own-data.md, currencies)
    assert inv["currency"].to_dict() == {"E1": "EUR", "G1": "GBP"} and cleaned.quarantine.empty
    assert inv["amount_doc"].to_dict() == {"E1": 100.0, "G1": 200.0}
    settings = dataset_settings({"sources": str(tmp_path / "sources.yaml")})
    assert settings == {"reporting_currency": "EUR", "fx_rates": {"GBP": 1.15}}


def test_data_quality_summary_says_what_needs_attention(tmp_path):
    """flat_partial: 6 invoices + 5 derived payments + 3 derived customers = 14 rows read; 12
    kept, 2 quarantined (the undated F2 and F5), none dropped; the two undated paid amounts
    (200 + 150 = 350.00 USD) are named."""
    _, cleaned = _clean(export("flat_partial", tmp_path))
    assert clean.summary_markdown(cleaned) == (
        "**14 rows read**: 12 kept, 2 quarantined with a reason, 0 exact duplicates dropped; "
        "every row is accounted for. **Needs attention:** 2 paid amounts without a payment date "
        "held back (350.00 USD)."
    )
