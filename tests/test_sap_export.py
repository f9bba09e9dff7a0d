"""The worked example of docs/own-data.md: an SAP cleared-items extract (tests/exports/sap_cleared).

fbl5n_cleared_items.csv, company code 1000, EUR, run date (export) 2026-10-15, period 2026-09
(T = 2026-09-30). The rows (BLDAT = invoice date, FAEDT = due date, AUGDT = clearing date =
payment in full):

====  ==========  ===========  ==========  ==========  ========  ==========================
row   BELNR       KUNNR        BLDAT       FAEDT       WRBTR     AUGDT
====  ==========  ===========  ==========  ==========  ========  ==========================
4     1900000001  0200769623   2026-08-01  2026-08-31  1,500.00  2026-08-30
5     1900000002  200769623    2026-08-15  2026-09-14  2,000.00  (open)
6     1900000003  0200769623   2026-09-20  2026-09-15    750.00  (open; due before BLDAT)
7     1900000004  0300000001   2026-09-05  2026-10-05  1,200.50  2026-09-25 00:00:00
8     1900000005  0300000001   2026-09-10  2026-10-10    300.00  2026-10-12
9     1600000001  0300000001   2026-09-12  2026-09-12   -100.00  (credit note, DG)
====  ==========  ===========  ==========  ==========  ========  ==========================

By hand: the credit note is quarantined (non_positive_amount, 1 row); the other 5 are kept, and
1900000003 (due 5 days before its document date) is kept with its due date and counted as
due_before_invoice. normalize strips KUNNR's zeros: 200769623 (Acme Corp) and 300000001 (Beta
GmbH), 2 customers. At T: open = 2,000.00 + 750.00 + 300.00 (paid 2026-10-12, after T) =
3,050.00; overdue (due before T, open) = 2,000.00 + 750.00 = 2,750.00 in 2 invoices; current
300.00. Credit sales in September (BLDAT in September) = 750.00 + 1,200.50 + 300.00 = 2,250.50;
collections in September = 1,200.50 (1900000004 on 09-25). Open at 2026-08-31 = 2,000.00
(1900000001 was cleared 08-30). Acme's pending balance is 2,750.00 in one customer; without
normalize it would be split into 200769623 (2,000.00) and 0200769623 (750.00).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_own_data import PERIOD, RUN_DATE, export, run_shape

from arinsight import clean, config, ingest


def _processed(tmp_path: Path, normalize: bool = True) -> tuple[Path, clean.CleanResult]:
    folder = export("sap_cleared", tmp_path)
    if not normalize:
        spec = folder / "sources.yaml"
        spec.write_text(
            spec.read_text().replace("    normalize: {customer_id: {zeros: strip}}\n", "")
        )
    result = ingest.ingest(folder / "sources.yaml")
    cleaned = clean.clean_ingested(result.tables, ingest.manifest_of(result), run_date=RUN_DATE)
    out = tmp_path / ("processed" if normalize else "processed-raw")
    clean.write_processed(cleaned, out)
    return out, cleaned


def _kpis(processed: Path) -> dict:
    from arinsight.engine.duck import kpis_from_processed

    params = config.load_params()
    params["as_of"] = None
    return kpis_from_processed(processed, PERIOD, params, None)["All"]


def test_sap_extract_reads_and_cleans_as_worked_out(tmp_path):
    """Ingest + clean + the KPI engine (no notebooks): the figures of the module docstring."""
    processed, cleaned = _processed(tmp_path)
    inv = cleaned.tables["invoices"].set_index("invoice_id")
    assert sorted(inv.index) == [f"190000000{i}" for i in range(1, 6)]
    assert inv.loc["1900000003", "due_date"].date().isoformat() == "2026-09-15"
    assert inv.loc["1900000002", "due_date"].date().isoformat() == "2026-09-14"
    assert sorted(inv["customer_id"].unique()) == ["200769623", "300000001"]
    s = cleaned.summary
    assert s["tables"]["invoices"] == {
        "read": 6, "kept": 5, "quarantined": 1, "duplicates_dropped": 0,
    }  # fmt: skip
    assert s["reasons"]["invoices"] == {"due_before_invoice": 1, "non_positive_amount": 1}
    pay = cleaned.tables["payments"].set_index("payment_id")
    assert pay["payment_date"].dt.strftime("%Y-%m-%d").to_dict() == {
        "1900000001-P": "2026-08-30",
        "1900000004-P": "2026-09-25",
        "1900000005-P": "2026-10-12",
    }
    k = _kpis(processed)
    assert (k["open_ar"], k["overdue_ar"], k["current_ar"], k["overdue_invoices"]) == (
        3050.0,
        2750.0,
        300.0,
        2,
    )
    assert (k["credit_sales"], k["collections"], k["open_ar_begin"]) == (2250.5, 1200.5, 2000.0)
    top = {c["customer_id"]: c["pending"] for c in k["top_pending_customers"]}
    assert top == {"200769623": 2750.0, "300000001": 300.0}
    # one currency (EUR) and one company code (BUKRS 1000): the same 3,050.00 in each segment
    assert {c: e["open_ar"] for c, e in k["open_ar_by_currency"].items()} == {"EUR": 3050.0}
    # aging of entity 1000: 1900000005 (due 10-10) Current 300.00; 1900000002 and 1900000003
    # (due 09-14 and 09-15: 16 and 15 days past due) 1-30 2,000.00 + 750.00
    aging = {"Current": 300.0, "1-30": 2750.0, "31-60": 0.0, "61-90": 0.0, "91-120": 0.0}
    assert k["open_ar_by_entity"] == {
        "1000": {
            "open_ar": 3050.0,
            "overdue_ar": 2750.0,
            "invoices": 3,
            "aging": {**aging, "120+": 0.0},
        }
    }


def test_without_normalize_the_top_debtor_is_split(tmp_path):
    """The same extract without `normalize`: Acme is two customers, 2,000.00 and 750.00."""
    processed, _ = _processed(tmp_path, normalize=False)
    top = {c["customer_id"]: c["pending"] for c in _kpis(processed)["top_pending_customers"]}
    assert top == {"200769623": 2000.0, "0200769623": 750.0, "0300000001": 300.0}


@pytest.mark.slow
def test_sap_extract_publishes_the_right_open_ar(tmp_path):
    """`arinsight check` then `arinsight run --period 2026-09` as a user would: the All page is
    published with the figures of the module docstring; check warns about the two CPUDT
    columns (neither used) and the Data Quality file counts the due-before-invoice item."""
    k = run_shape("sap_cleared", tmp_path, [])["All"]
    assert (k["open_ar"], k["overdue_ar"], k["current_ar"]) == (3050.0, 2750.0, 300.0)
    assert (k["credit_sales"], k["collections"]) == (2250.5, 1200.5)
    assert [
        (c["customer_id"], c["customer_name"], c["pending"]) for c in k["top_pending_customers"]
    ] == [
        ("200769623", "Acme Corp", 2750.0),
        ("300000001", "Beta GmbH", 300.0),
    ]
    checked = json.loads((tmp_path / "check.json").read_text())
    assert checked["tables"][0]["normalize"] == {"customer_id": {"zeros": "strip"}}
    assert checked["warnings"] == [
        "invoices: the header 'CPUDT' appears 2 times, read as 'CPUDT (1)', 'CPUDT (2)' in file "
        "order; none is mapped"
    ]
    dq = json.loads((tmp_path / "reports" / PERIOD / "All" / "data_quality.json").read_text())
    assert dq["reasons"]["invoices"] == {"due_before_invoice": 1, "non_positive_amount": 1}


def test_two_company_codes_and_two_currencies_as_worked_out(tmp_path):
    """The second worked example (tests/exports/sap_two_entities, docs/own-data.md): company
    codes 1000 (US) and 2000 (Canada), USD and CAD, reported in USD with the monthly CAD rates of
    rates.csv (0.74 from 07-01, 0.73 from 08-01, 0.72 from 09-01); T = 2026-09-30.

    =========  ====  ==========  ==========  ===  =========  ===========  ==========  =======
    BELNR      BUKRS BLDAT       FAEDT       cur  WRBTR      in USD       AUGDT       at T
    =========  ====  ==========  ==========  ===  =========  ===========  ==========  =======
    1900000101 1000  2026-08-05  2026-09-04  USD  4,000.00   4,000.00     2026-09-02  paid
    1900000102 1000  2026-08-20  2026-09-19  USD  2,500.00   2,500.00     -           11 dpd
    1900000103 1000  2026-09-10  2026-10-10  USD  1,200.00   1,200.00     -           current
    1800000201 2000  2026-07-15  2026-08-14  CAD  3,000.00   x0.74 2,220  -           47 dpd
    1800000202 2000  2026-08-10  2026-09-09  CAD  1,500.00   x0.73 1,095  2026-09-08  paid
    1800000203 2000  2026-09-05  2026-10-05  CAD    800.00   x0.72   576  -           current
    1800000204 2000  2026-09-12  2026-10-12  CAD    500.00   x0.72   360  2026-10-08  current
    1800000205 2000  2026-09-20  2026-10-20  USD    650.00     650.00     -           current
    =========  ====  ==========  ==========  ===  =========  ===========  ==========  =======

    Open AR = 2,500 + 1,200 + 2,220 + 576 + 360 + 650 = 7,506.00 USD; overdue 2,500 + 2,220 =
    4,720.00; current 2,786.00. Sales in September 1,200 + 576 + 360 + 650 = 2,786.00;
    collections 4,000 + 1,095 = 5,095.00; open at 08-31 4,000 + 2,500 + 2,220 + 1,095 =
    9,815.00 (9,815 + 2,786 - 5,095 = 7,506). Per currency: USD 4,350.00 (3 invoices; Current
    1,850.00, 1-30 2,500.00); CAD 4,300.00 CAD = 3,156.00 USD (3 invoices; Current 1,300.00 CAD,
    31-60 3,000.00 CAD). Per company code (USD): 1000 open 3,700.00, overdue 2,500.00, 2
    invoices, Current 1,200.00, 1-30 2,500.00; 2000 open 3,806.00, overdue 2,220.00, 4
    invoices, Current 1,586.00, 31-60 2,220.00. check lists the currencies, the rates file with
    its sha256 and the company codes."""
    import hashlib

    from arinsight.check import check

    folder = export("sap_two_entities", tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text(f"sources: {folder / 'sources.yaml'}\nrun_date: {RUN_DATE}\n")
    report = check([params])
    assert report.ok, report.text()
    digest = hashlib.sha256((folder / "rates.csv").read_bytes()).hexdigest()
    assert report.segments["currencies"] == {"CAD": 4, "USD": 4}
    assert report.segments["company_codes"] == {"1000": 3, "2000": 5}
    assert report.segments["rates_file"]["sha256"] == digest
    assert f"rates file: {report.segments['rates_file']['path']} (3 rates, sha256 {digest})" in (
        report.text()
    )
    result = ingest.ingest(folder / "sources.yaml")
    cleaned = clean.clean_ingested(result.tables, ingest.manifest_of(result), run_date=RUN_DATE)
    clean.write_processed(cleaned, tmp_path / "processed")
    k = _kpis(tmp_path / "processed")
    assert (k["open_ar"], k["overdue_ar"], k["current_ar"]) == (7506.0, 4720.0, 2786.0)
    assert (k["credit_sales"], k["collections"], k["open_ar_begin"]) == (2786.0, 5095.0, 9815.0)
    buckets = ["Current", "1-30", "31-60", "61-90", "91-120", "120+"]

    def aging(**amounts: float) -> dict:
        return {b: amounts.get(b.replace("-", "_").replace("+", "_plus"), 0.0) for b in buckets}

    assert k["open_ar_by_currency"] == {
        "CAD": {
            "open_ar": 4300.0,
            "open_ar_reporting": 3156.0,
            "invoices": 3,
            "aging": aging(Current=1300.0, **{"31_60": 3000.0}),
        },
        "USD": {
            "open_ar": 4350.0,
            "open_ar_reporting": 4350.0,
            "invoices": 3,
            "aging": aging(Current=1850.0, **{"1_30": 2500.0}),
        },
    }
    assert k["open_ar_by_entity"] == {
        "1000": {
            "open_ar": 3700.0,
            "overdue_ar": 2500.0,
            "invoices": 2,
            "aging": aging(Current=1200.0, **{"1_30": 2500.0}),
        },
        "2000": {
            "open_ar": 3806.0,
            "overdue_ar": 2220.0,
            "invoices": 4,
            "aging": aging(Current=1586.0, **{"31_60": 2220.0}),
        },
    }
