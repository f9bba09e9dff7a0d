"""Disputes and promises to pay on a small hand-made ledger, figures computed by hand.

Period April 2026 (T = 2026-04-30, 30 days), credit sales 3,000.

Disputes:

| id | invoice | amount | reason | opened | resolved | outcome |
| --- | --- | --- | --- | --- | --- | --- |
| D1 | I1 | 300 | PRICE | 03-10 | - | - |
| D2 | I2 | 200 | PRICE | 02-01 | 04-15 | credit_note |
| D3 | I3 | 100 | QUANTITY | 03-01 | 03-21 | paid |
| D4 | I4 | 50 | QUANTITY | 04-20 | 05-10 | written_off |
| D5 | I5 | 70 | PRICE | 05-02 | - | - |

Open at T: D1 (age 51 days) and D4 (resolved only after T; age 10); D5 is opened after T.
Disputed AR = 300 + 50 = 350; DDO = 350 / 3,000 x 30 = 3.5 days. Resolved in the 12 months
up to T: D2 (73 days, credit note: the customer's way) and D3 (20 days, paid): mean 46.5 days;
for the customer 200 / 300 = 66.67 % of the amount. PRICE: 73 days, 100 %; QUANTITY: 20 days, 0 %.

Promises (grace 3 days):

| id | customer | invoice | made | promised | amount | payments counted | status |
| --- | --- | --- | --- | --- | --- | --- | --- |
| P1 | C1 | I1 | 04-01 | 04-10 | 100 | 60 on 04-12 + 40 on 04-13 (by 04-13) | kept |
| P2 | C2 | I2 | 03-20 | 03-25 | 200 | 200 on 03-30 is after 03-28 | broken |
| P3 | C3 | - | 04-05 | 04-20 | 150 | 100 on 04-22 to any invoice of C3 | broken |
| P4 | C1 | I5 | 04-25 | 04-29 | 80 | none, but 05-02 is after T | pending |
| P5 | C2 | I6 | 04-02 | 04-08 | 50 | 50 on 03-31 is before it was made; 49.99 on 04-09 | broken |

Due: P1, P2, P3, P5: kept 1 of 4 = 25 %, by amount 100 / 500 = 20 %; 3 broken.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import clean_table

from arinsight import disputes
from arinsight.ledger import period_bounds

T = "2026-04-30"


def _disputes() -> pd.DataFrame:
    rows = [
        ("D1", "I1", 300.0, "PRICE", "2026-03-10", None, None),
        ("D2", "I2", 200.0, "PRICE", "2026-02-01", "2026-04-15", "credit_note"),
        ("D3", "I3", 100.0, "QUANTITY", "2026-03-01", "2026-03-21", "paid"),
        ("D4", "I4", 50.0, "QUANTITY", "2026-04-20", "2026-05-10", "written_off"),
        ("D5", "I5", 70.0, "PRICE", "2026-05-02", None, None),
    ]
    cols = ["dispute_id", "invoice_id", "amount", "reason", "opened_date", "resolved_date"]
    return clean_table(
        "disputes",
        [{**dict(zip(cols + ["outcome"], r, strict=True)), "customer_id": "C1"} for r in rows],
    )


def _promises() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [
        ("P1", "C1", "I1", "2026-04-01", "2026-04-10", 100.0),
        ("P2", "C2", "I2", "2026-03-20", "2026-03-25", 200.0),
        ("P3", "C3", None, "2026-04-05", "2026-04-20", 150.0),
        ("P4", "C1", "I5", "2026-04-25", "2026-04-29", 80.0),
        ("P5", "C2", "I6", "2026-04-02", "2026-04-08", 50.0),
    ]
    cols = ["promise_id", "customer_id", "invoice_id", "made_date", "promised_date", "amount"]
    promises = clean_table("promises", [dict(zip(cols, r, strict=True)) for r in rows])
    pays = [
        ("Y1", "I1", "C1", "2026-04-12", 60.0),
        ("Y2", "I1", "C1", "2026-04-13", 40.0),
        ("Y3", "I2", "C2", "2026-03-30", 200.0),
        ("Y4", "I7", "C3", "2026-04-22", 100.0),
        ("Y5", "I6", "C2", "2026-03-31", 50.0),
        ("Y6", "I6", "C2", "2026-04-09", 49.99),
    ]
    cols = ["payment_id", "invoice_id", "customer_id", "payment_date", "amount"]
    payments = clean_table(
        "payments",
        [{**dict(zip(cols, r, strict=True)), "payment_date_assumed": False} for r in pays],
    )
    return promises, payments


def test_disputed_ar_ddo_and_resolution_by_hand():
    d = _disputes()
    assert disputes.open_disputes(d, T)[["dispute_id", "age_days"]].values.tolist() == [
        ["D1", 51],
        ["D4", 10],
    ]
    by = disputes.resolution_by_reason(d, T).set_index("reason")
    assert by.loc["PRICE", ["resolved", "mean_days", "customer_favour_pct"]].tolist() == [
        1,
        73.0,
        100.0,
    ]
    assert by.loc["QUANTITY", ["mean_days", "customer_favour_pct"]].tolist() == [20.0, 0.0]
    assert by.loc["All", ["resolved", "amount", "mean_days", "median_days"]].tolist() == [
        2,
        300.0,
        46.5,
        46.5,
    ]
    promises, payments = _promises()
    k = disputes.dispute_kpis(d, promises, payments, period_bounds("2026-04"), 3000.0)
    assert k["disputed_ar"] == 350.0
    assert k["days_deductions_outstanding"] == 3.5
    assert k["dispute_days_to_resolve"] == 46.5
    assert k["disputes_customer_favour_share"] == pytest.approx(66.67)
    assert k["promises_kept_rate"] == 25.0 and k["promises_broken"] == 3
    assert k["deductions_outstanding"] is None  # cash application wrote no deductions here
    assert k["na_reasons"] == {"deductions_outstanding": disputes.NO_DEDUCTIONS}


def test_promise_kept_rate_by_hand():
    promises, payments = _promises()
    e = disputes.evaluate_promises(promises, payments, T, grace_days=3)
    assert e[["promise_id", "paid", "status"]].values.tolist() == [
        ["P1", 100.0, "kept"],
        ["P2", 0.0, "broken"],
        ["P3", 100.0, "broken"],
        ["P4", 0.0, "pending"],
        ["P5", 49.99, "broken"],
    ]
    assert disputes.promise_rates(e, T) == {
        "promises_due": 4,
        "promises_kept": 1,
        "promises_broken": 3,
        "promises_kept_rate": 25.0,
        "promises_kept_amount_rate": 20.0,
    }
    assert disputes.broken_promises(e, T)["promise_id"].tolist() == ["P3", "P5", "P2"]
    # a grace of 5 days keeps P2 (paid 03-30 <= 03-25 + 5): 2 of 4
    e5 = disputes.evaluate_promises(promises, payments, T, grace_days=5)
    assert disputes.promise_rates(e5, T)["promises_kept_rate"] == 50.0


def test_without_the_tables_every_key_is_null_with_its_reason():
    """No disputes and no promises table: the six keys are null, each with the reason; no sales:
    DDO is null with the DSO reason while disputed AR is a number."""
    _, payments = _promises()
    k = disputes.dispute_kpis(None, None, payments, period_bounds("2026-04"), 3000.0)
    assert all(k[key] is None for key in disputes.DISPUTE_KEYS)
    assert k["na_reasons"]["disputed_ar"] == "the ledger has no disputes table"
    assert k["na_reasons"]["promises_kept_rate"] == "the ledger has no promises table"
    k = disputes.dispute_kpis(_disputes(), None, payments, period_bounds("2026-04"), 0.0)
    assert k["disputed_ar"] == 350.0 and k["days_deductions_outstanding"] is None
    assert k["na_reasons"]["days_deductions_outstanding"] == "no credit sales in the period"


def test_collection_cases_for_the_alerts(tmp_path):
    """At T the open disputes D1 and D4 keep I1 and I4 out of reminders; the broken promises of
    the last 90 days count per customer: C2 two (P2, P5), C3 one (P3). Without the tables both
    are empty."""
    promises, payments = _promises()
    _disputes().to_parquet(tmp_path / "disputes.parquet", index=False)
    promises.to_parquet(tmp_path / "promises.parquet", index=False)
    payments.to_parquet(tmp_path / "payments.parquet", index=False)
    disputed, broken = disputes.collection_cases(tmp_path, T, grace_days=3)
    assert disputed == {"I1", "I4"}
    assert broken.to_dict() == {"C2": 2, "C3": 1}
    empty = tmp_path / "empty"
    empty.mkdir()
    disputed, broken = disputes.collection_cases(empty, T)
    assert disputed == set() and broken.empty


def test_region_cases_select_by_the_invoices_region_and_read_only_promised_payments(tmp_path):
    """Regions: C1 and C3 are North customers, C2 South; invoice I2 is reported under North by
    its own region although C2 is South, I6 has none (its customer's: South). North's cases:
    disputes on I1, I2, I3, I4 (North through C1 or their own region) but not I5 (South by its
    own region); promises P1 (I1), P2 (I2), P3 (on account of C3, a North customer), not P4
    (I5) or P5 (I6). South: D5 and P4, P5. The payments come for the promised invoices and
    on-account customers only: North's Y1, Y2 (I1), Y3 (I2), Y4 (C3), never Y7 (another
    customer's invoice nobody promised); a region not in the data is refused by name."""
    from arinsight.periods import UnknownRegion

    promises, payments = _promises()
    extra = clean_table(
        "payments",
        [{"payment_id": "Y7", "invoice_id": "I9", "customer_id": "C9",
          "payment_date": "2026-04-03", "amount": 5.0, "payment_date_assumed": False}],
    )  # fmt: skip
    pd.concat([payments, extra]).to_parquet(tmp_path / "payments.parquet", index=False)
    _disputes().to_parquet(tmp_path / "disputes.parquet", index=False)
    promises.to_parquet(tmp_path / "promises.parquet", index=False)
    pd.DataFrame(
        {"customer_id": ["C1", "C2", "C3", "C9"], "region": ["North", "South", "North", "West"]}
    ).to_parquet(tmp_path / "customers.parquet", index=False)
    pd.DataFrame(
        {
            "invoice_id": ["I1", "I2", "I3", "I4", "I5", "I6", "I9"],
            "customer_id": ["C1", "C2", "C1", "C1", "C1", "C2", "C9"],
            "region": [None, "North", None, None, "South", None, None],
        }
    ).to_parquet(tmp_path / "invoices.parquet", index=False)
    d, p, pay = disputes.region_cases(tmp_path, "North")
    assert d["dispute_id"].tolist() == ["D1", "D2", "D3", "D4"]
    assert p["promise_id"].tolist() == ["P1", "P2", "P3"]
    assert sorted(pay["payment_id"]) == ["Y1", "Y2", "Y3", "Y4"]
    d, p, pay = disputes.region_cases(tmp_path, "South")
    assert d["dispute_id"].tolist() == ["D5"] and p["promise_id"].tolist() == ["P4", "P5"]
    assert sorted(pay["payment_id"]) == ["Y5", "Y6"]
    d, p, pay = disputes.region_cases(tmp_path, "All")
    assert (
        len(d) == 5 and len(p) == 5 and sorted(pay["payment_id"]) == [f"Y{i}" for i in range(1, 7)]
    )
    with pytest.raises(UnknownRegion, match="Westt"):
        disputes.region_cases(tmp_path, "Westt")


def _deductions(tmp_path) -> pd.DataFrame:
    """deductions.csv as ``arinsight match`` writes it (a reason typed in for E3, a resolution
    for E4)."""
    text = (
        "dispute_id,invoice_id,customer_id,amount,reason,opened_date,resolved_date,outcome,"
        "currency,statement_line_id\n"
        "E1,I1,C1,120.0,,2026-04-05,,,USD,L1\n"
        "E2,I8,C2,80.0,,2026-04-10,,,USD,L2\n"
        "E3,I9,C3,40.0,pricing,2026-03-15,,,EUR,L3\n"
        "E4,I10,C3,60.0,damaged,2026-04-01,2026-04-20,credit_note,USD,L4\n"
        "E5,I11,C1,30.0,,2026-04-25,,,USD,L5\n"
        "E6,I12,C1,25.0,,2026-05-03,,,USD,L6\n"
        "E7,I13,C1,15.0,,2026-04-01,,,USD,L7\n"
    )
    path = tmp_path / "deductions.csv"
    path.write_text(text, encoding="utf-8")
    return disputes.read_deductions(path)


def test_deductions_outstanding_and_ddo_by_hand(tmp_path):
    """Short payments found by cash application (:func:`_deductions`) at T = 04-30, against
    the positions of the page's region (open amounts at T; I9 is in EUR at 1.10):

    - E1 on I1: 120 of its 500 open, but I1 has D1 open: in a dispute (counted in disputed AR);
    - E2 on I8: 80 short, only 50 still open (paid since): 50 outstanding, 20 days, to assign;
    - E3 on I9: 40 EUR short, 100 EUR (110 USD) open: 44.00 USD, 46 days, "pricing";
    - E4 resolved 04-20, E5's invoice I11 is paid (not open), E6 opened after T, E7's invoice
      is another region's (not in the positions): none of them.

    Oldest first: E3, E1, E2. Deductions outstanding = 50 + 44 = 94; DDO = (disputed AR 350
    + 94) / 3,000 x 30 = 4.44 days."""
    positions = pd.DataFrame(
        {
            "invoice_id": ["I1", "I8", "I9", "I10", "I12"],
            "customer_name": ["Acme", "Beta", "Cafe", "Cafe", "Acme"],
            "open_amount": [500.0, 50.0, 110.0, 60.0, 25.0],
            "open_amount_doc": [500.0, 50.0, 100.0, 60.0, 25.0],
        }
    )
    d = _disputes()
    short = disputes.open_deductions(_deductions(tmp_path), positions, d, T)
    cols = ["dispute_id", "age_days", "outstanding", "reason", "in_dispute"]
    assert short[cols].values.tolist() == [
        ["E3", 46, 44.0, "pricing", False],
        ["E1", 25, 120.0, disputes.TO_ASSIGN, True],
        ["E2", 20, 50.0, disputes.TO_ASSIGN, False],
    ]
    promises, payments = _promises()
    k = disputes.dispute_kpis(
        d, promises, payments, period_bounds("2026-04"), 3000.0, deductions=short
    )
    assert k["deductions_outstanding"] == 94.0
    assert k["days_deductions_outstanding"] == pytest.approx(4.44)
    assert "deductions_outstanding" not in k["na_reasons"]
    # without a disputes table E1 counts too (no dispute holds it): 120 + 50 + 44 = 214, and
    # DDO is the deductions' alone: 214 / 3,000 x 30 = 2.14 days
    alone = disputes.open_deductions(_deductions(tmp_path), positions, None, T)
    k = disputes.dispute_kpis(None, None, payments, period_bounds("2026-04"), 3000.0,
                              deductions=alone)  # fmt: skip
    assert k["deductions_outstanding"] == 214.0
    assert k["days_deductions_outstanding"] == pytest.approx(2.14)
    assert k["disputed_ar"] is None and k["na_reasons"]["disputed_ar"] == disputes.NO_DISPUTES
    assert disputes.read_deductions(tmp_path / "none.csv") is None
    assert disputes.open_deductions(None, positions, d, T) is None


def test_a_bad_value_typed_into_deductions_csv_names_file_column_and_row(tmp_path):
    """A person edits deductions.csv: a resolution date that is not a date, an outcome that
    is not one, an amount that is not a number each stop with the file, column and row."""
    from arinsight.errors import SourceError

    head = "dispute_id,invoice_id,customer_id,amount,reason,opened_date,resolved_date,outcome\n"
    path = tmp_path / "deductions.csv"
    for row, column in (
        ("E1,I1,C1,10.0,pricing,2026-04-01,next week,credit_note", "resolved_date"),
        ("E1,I1,C1,10.0,pricing,2026-04-01,2026-04-09,refund", "outcome"),
        ("E1,I1,C1,ten,pricing,2026-04-01,,", "amount"),
    ):
        path.write_text(head + "E0,I0,C1,5.0,,2026-03-01,,\n" + row + "\n", encoding="utf-8")
        with pytest.raises(SourceError, match=f"deductions.csv, column '{column}', row 3: "):
            disputes.read_deductions(path)
    path.write_text("dispute_id,amount\nE1,5\n", encoding="utf-8")
    with pytest.raises(SourceError, match="missing column"):
        disputes.read_deductions(path)
