"""Cleaning rules, each on a tiny hand-made ledger, plus conservation and determinism."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import empty, ingested
from hypothesis import given, settings
from hypothesis import strategies as st

from arinsight.clean import check_conservation, clean, write_processed
from arinsight.errors import ConservationError

RUN = "2026-10-31"


def _customers(*ids, terms="30"):
    return ingested(
        "customers",
        [
            {
                "customer_id": c,
                "customer_name": f"Name {c}",
                "region": "North",
                "payment_terms_days": terms,
            }
            for c in ids
        ],
        "crm.xlsx",
    )


def _inv(iid, cust="C1", date="2026-01-01", due="2026-01-31", amount="100.00", **kw):
    return {
        "invoice_id": iid,
        "customer_id": cust,
        "invoice_date": date,
        "due_date": due,
        "amount": amount,
        **kw,
    }


def _pay(pid, iid="I1", cust="C1", date="2026-01-20", amount="100.00"):
    return {
        "payment_id": pid,
        "invoice_id": iid,
        "customer_id": cust,
        "payment_date": date,
        "amount": amount,
    }


def _tables(invoices=(), payments=(), customers=None, commissions=()):
    return {
        "customers": customers if customers is not None else _customers("C1", "C2"),
        "invoices": ingested("invoices", list(invoices), "inv.csv"),
        "payments": ingested("payments", list(payments), "ledger.sqlite[payments]"),
        "sales_reps": empty("sales_reps"),
        "commissions": ingested("commissions", list(commissions), "ledger.sqlite[commissions]"),
    }


def _reasons(result, table):
    return result.summary["reasons"][table]


def test_exact_duplicates_dropped_and_key_conflicts_quarantined():
    """I1 twice identical -> 1 kept, 1 dropped. I2 twice with 100 vs 120 -> both quarantined.

    invoices: read 5 (I1, I1, I2, I2, I3) = kept 2 (I1, I3) + quarantined 2 + dropped 1.
    """
    result = clean(
        _tables([_inv("I1"), _inv("I1"), _inv("I2"), _inv("I2", amount="120.00"), _inv("I3")]),
        run_date=RUN,
    )
    assert result.tables["invoices"]["invoice_id"].tolist() == ["I1", "I3"]
    assert _reasons(result, "invoices") == {"duplicate_exact": 1, "duplicate_key_conflict": 2}
    assert result.summary["tables"]["invoices"] == {
        "read": 5,
        "kept": 2,
        "quarantined": 2,
        "duplicates_dropped": 1,
    }
    q = result.quarantine
    assert q[["key", "reason", "source_row"]].values.tolist() == [
        ["I2", "duplicate_key_conflict", 4],
        ["I2", "duplicate_key_conflict", 5],
    ]
    assert json.loads(q["record"].iloc[1])["amount"] == 120.0


def test_missing_required_and_derived_due_date():
    """I1: no customer -> missing_required. I2: no due date, C1 has 30-day terms ->
    due = 2026-01-01 + 30 d = 2026-01-31, kept and flagged. I3: no due date, C3 has no terms ->
    missing_required (cannot derive)."""
    customers = ingested(
        "customers",
        [
            {"customer_id": "C1", "payment_terms_days": "30"},
            {"customer_id": "C3", "payment_terms_days": ""},
        ],
    )
    result = clean(
        _tables(
            [_inv("I1", cust=""), _inv("I2", due=""), _inv("I3", cust="C3", due="")],
            customers=customers,
        ),
        run_date=RUN,
    )
    inv = result.tables["invoices"]
    assert inv["invoice_id"].tolist() == ["I2"]
    assert inv["due_date"].tolist() == [pd.Timestamp("2026-01-31")]
    assert inv["due_date_derived"].tolist() == [True]
    assert _reasons(result, "invoices") == {"missing_required": 2, "due_date_derived": 1}
    details = result.quarantine.set_index("key")["detail"]
    assert details["I3"].startswith("empty due_date")
    assert details["I1"] == "empty customer_id"


def test_incorrect_billing_rules():
    """I1 amount 0 and I2 amount -5 -> non_positive_amount; I3 due 2025-12-31 before its invoice
    date 2026-01-01 -> kept with that due date, flagged due_before_invoice (as SAP allows);
    I4 dated 2027-01-01 after the run date 2026-10-31 ->
    future_date (I5's due date 2026-12-01 is in the future, which is normal: kept);
    I6 for customer C9 -> unknown_customer; I7 "12x" -> unparseable_value."""
    result = clean(
        _tables(
            [
                _inv("I1", amount="0"),
                _inv("I2", amount="-5"),
                _inv("I3", due="2025-12-31"),
                _inv("I4", date="2027-01-01", due="2027-01-31"),
                _inv("I5", date="2026-10-15", due="2026-12-01"),
                _inv("I6", cust="C9"),
                _inv("I7", amount="12x"),
            ]
        ),
        run_date=RUN,
    )
    kept = result.tables["invoices"]
    assert kept["invoice_id"].tolist() == ["I3", "I5"]
    assert kept["due_date"].iloc[0] == pd.Timestamp("2025-12-31")
    assert _reasons(result, "invoices") == {
        "due_before_invoice": 1,
        "future_date": 1,
        "non_positive_amount": 2,
        "unknown_customer": 1,
        "unparseable_value": 1,
    }
    by_key = result.quarantine.set_index("key")
    assert by_key.loc["I7", "detail"] == "amount=12x"
    assert by_key.loc["I7", "source_file"] == "inv.csv"
    assert by_key.loc["I7", "source_row"] == 8  # 7th data row = line 8


def test_payment_rules_and_overpayment_flag():
    """I1 = 100. P1 60 + P2 50 = 110 > 100 -> I1 kept and flagged overpaid (credit 10).
    P3 to I9 (unknown) -> unknown_invoice; P4 dated 2025-12-15 before I1's 2026-01-01 ->
    payment_before_invoice; P5 without invoice = unapplied cash (kept); P6 for C9 -> unknown_customer;
    P7 amount 0 -> non_positive_amount; P8 2099 -> future_date; P9 to quarantined I2 -> unknown_invoice."""
    result = clean(
        _tables(
            [_inv("I1"), _inv("I2", amount="-1")],
            [
                _pay("P1", amount="60"),
                _pay("P2", amount="50"),
                _pay("P3", iid="I9"),
                _pay("P4", date="2025-12-15", amount="1"),
                _pay("P5", iid="", amount="7.5"),
                _pay("P6", cust="C9"),
                _pay("P7", amount="0"),
                _pay("P8", date="2099-01-01"),
                _pay("P9", iid="I2"),
            ],
        ),
        run_date=RUN,
    )
    assert result.tables["payments"]["payment_id"].tolist() == ["P1", "P2", "P5"]
    assert result.tables["payments"]["invoice_id"].isna().tolist() == [False, False, True]
    assert _reasons(result, "payments") == {
        "future_date": 1,
        "non_positive_amount": 1,
        "payment_before_invoice": 1,
        "unknown_customer": 1,
        "unknown_invoice": 2,
    }
    detail = result.quarantine.set_index("key")["detail"]
    assert detail["P4"] == "paid 2025-12-15 before invoice date 2026-01-01"
    inv = result.tables["invoices"].set_index("invoice_id")
    assert bool(inv.loc["I1", "is_overpaid"]) is True
    assert _reasons(result, "invoices")["overpayment"] == 1


def test_commission_to_unknown_invoice_is_quarantined():
    """K1 refers to kept I1, K2 to I9 (none) -> unknown_invoice; K2 twice identical -> 1 dropped first."""
    k = {
        "commission_id": "K1",
        "sales_rep_id": "R1",
        "invoice_id": "I1",
        "commission_amount": "3",
        "accrual_date": "2026-01-01",
        "is_settled": "1",
    }
    k2 = {**k, "commission_id": "K2", "invoice_id": "I9", "is_settled": "no"}
    result = clean(_tables([_inv("I1")], commissions=[k, k2, k2]), run_date=RUN)
    com = result.tables["commissions"]
    assert com["commission_id"].tolist() == ["K1"]
    assert com["is_settled"].tolist() == [True]
    assert _reasons(result, "commissions") == {"duplicate_exact": 1, "unknown_invoice": 1}


def test_currency_conversion_and_unknown_currency():
    """I1 100 EUR at 1.10 -> 110.00 USD, its payment of 50 EUR -> 55.00 USD; I2 in JPY without a
    rate -> unknown_currency; I3 in USD unchanged."""
    result = clean(
        _tables(
            [_inv("I1", currency="EUR"), _inv("I2", currency="JPY"), _inv("I3", currency="USD")],
            [_pay("P1", amount="50")],
        ),
        run_date=RUN,
        reporting_currency="USD",
        fx_rates={"EUR": 1.10},
    )
    inv = result.tables["invoices"].set_index("invoice_id")
    assert inv["amount"].to_dict() == {"I1": 110.0, "I3": 100.0}
    # the document currency and amount stay beside the reporting amount
    assert inv["currency"].to_dict() == {"I1": "EUR", "I3": "USD"}
    assert inv["amount_doc"].to_dict() == {"I1": 100.0, "I3": 100.0}
    assert inv["fx_rate"].to_dict() == {"I1": 1.10, "I3": 1.0}
    assert inv["fx_rate_date"].isna().all()  # a constant rate has no date
    pay = result.tables["payments"]
    assert pay[["amount", "amount_doc", "currency"]].values.tolist() == [[55.0, 50.0, "EUR"]]
    assert _reasons(result, "invoices") == {"unknown_currency": 1}


def test_dated_rates_take_the_rate_on_or_before_the_invoice_date():
    """CAD rates dated 2026-01-01 (0.70) and 2026-01-15 (0.75), reporting USD:
    - I1 dated 2026-01-14 takes 0.70 (the 15th's rate is later): 100.00 CAD -> 70.00 USD;
    - I2 dated 2026-01-15 takes 0.75 (a rate of the invoice's own day counts): 100.00 -> 75.00;
    - I3 dated 2026-02-20 takes 0.75 (the latest before it): 100.00 -> 75.00;
    - I4 dated 2025-12-31 is before the first rate: quarantined unknown_currency, the detail
      naming the first rate's date;
    - P1 pays 40.00 CAD on I1 on 2026-01-20, when the rate is 0.75: it is converted at I1's rate,
      0.70 -> 28.00 USD, so I1 stays open 42.00 USD = 60.00 CAD x 0.70."""
    rates = {"CAD": {"2026-01-01": 0.70, "2026-01-15": 0.75}}
    result = clean(
        _tables(
            [
                _inv("I1", date="2026-01-14", due="2026-02-14", currency="CAD"),
                _inv("I2", date="2026-01-15", due="2026-02-15", currency="CAD"),
                _inv("I3", date="2026-02-20", due="2026-03-20", currency="CAD"),
                _inv("I4", date="2025-12-31", due="2026-01-30", currency="CAD"),
            ],
            [_pay("P1", date="2026-01-20", amount="40.00")],
        ),
        run_date="2026-03-31",
        reporting_currency="USD",
        fx_rates=rates,
    )
    inv = result.tables["invoices"].set_index("invoice_id")
    assert inv["amount"].to_dict() == {"I1": 70.0, "I2": 75.0, "I3": 75.0}
    assert inv["fx_rate"].to_dict() == {"I1": 0.70, "I2": 0.75, "I3": 0.75}
    assert inv["fx_rate_date"].dt.strftime("%Y-%m-%d").to_dict() == {
        "I1": "2026-01-01",
        "I2": "2026-01-15",
        "I3": "2026-01-15",
    }
    assert result.tables["payments"]["amount"].tolist() == [28.0]
    q = result.quarantine
    assert q["detail"].tolist() == ["no rate for CAD on or before 2025-12-31 (first: 2026-01-01)"]


def test_each_amount_is_rounded_to_the_cent_half_up():
    """The rounding convention: each invoice and each payment is converted and rounded to the
    cent on its own, halves away from zero (ROUND_HALF_UP), at GBP 1.5 (reporting USD):
    - I1 0.01 GBP x 1.5 = 0.015 -> 0.02 USD (half-even would give 0.02 too: 1 is odd);
    - I2 0.03 GBP x 1.5 = 0.045 -> 0.05 USD (half-even would give 0.04: this pins half-up);
    - I3 10.05 GBP x 1.5 = 15.075 -> 15.08 USD;
    the sum of the converted amounts, 15.15 USD, is 0.01 more than the sum converted once
    (10.09 GBP x 1.5 = 15.135 -> 15.14): the documented per-invoice convention."""
    result = clean(
        _tables(
            [
                _inv("I1", amount="0.01", currency="GBP"),
                _inv("I2", amount="0.03", currency="GBP"),
                _inv("I3", amount="10.05", currency="GBP"),
            ]
        ),
        run_date=RUN,
        reporting_currency="USD",
        fx_rates={"GBP": 1.5},
    )
    inv = result.tables["invoices"].set_index("invoice_id")
    assert inv["_cents_amount"].to_dict() == {"I1": 2, "I2": 5, "I3": 1508}
    assert inv["_cents_amount_doc"].to_dict() == {"I1": 1, "I2": 3, "I3": 1005}
    assert int(inv["_cents_amount"].sum()) == 1515


def test_currency_codes_are_case_blind():
    """Invoices in "usd", " Usd " and "eur" with reporting currency USD and a rate for EUR of
    1.10: all kept (I3 100 EUR -> 110.00 USD), none quarantined as unknown_currency (a lower-case
    code quarantined 2,005 of 2,045 invoices and the run said only "no invoice survived")."""
    result = clean(
        _tables(
            [_inv("I1", currency="usd"), _inv("I2", currency=" Usd "), _inv("I3", currency="eur")],
        ),  # fmt: skip
        run_date=RUN,
        reporting_currency="USD",
        fx_rates={"EUR": 1.10},
    )
    inv = result.tables["invoices"].set_index("invoice_id")
    assert inv["amount"].to_dict() == {"I1": 100.0, "I2": 100.0, "I3": 110.0}
    assert _reasons(result, "invoices") == {}


def test_first_matching_reason_wins():
    """I1 is both unparseable (amount) and future-dated: only unparseable_value is counted."""
    result = clean(_tables([_inv("I1", date="2099-01-01", amount="x")]), run_date=RUN)
    assert _reasons(result, "invoices") == {"unparseable_value": 1}


def test_conservation_error_is_raised_when_counts_do_not_add_up():
    result = clean(_tables([_inv("I1")]), run_date=RUN)
    result.summary["tables"]["invoices"]["kept"] = 0
    with pytest.raises(ConservationError, match="invoices: 1 rows read but 0 kept"):
        check_conservation(result)


_row = st.fixed_dictionaries(
    {
        "invoice_id": st.sampled_from(["I1", "I2", "I3", ""]),
        "customer_id": st.sampled_from(["C1", "C2", "C9", ""]),
        "invoice_date": st.sampled_from(["2026-01-01", "2099-01-01", "bad", ""]),
        "due_date": st.sampled_from(["2026-02-01", "2025-01-01", ""]),
        "amount": st.sampled_from(["100", "0", "-3", "1,5", ""]),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_row, max_size=12), st.lists(st.sampled_from(["I1", "I2", "I9", ""]), max_size=6))
def test_every_row_is_accounted_for(rows, pay_invoices):
    """Property: for every table, read = kept + quarantined + dropped, and kept rows satisfy the
    rules (positive amounts, unique keys); a due date before the invoice date is kept as given
    and counted as due_before_invoice, exactly once per kept row that has one."""
    payments = [_pay(f"P{i}", iid=iid) for i, iid in enumerate(pay_invoices)]
    result = clean(_tables(rows, payments), run_date=RUN)
    for table, c in result.summary["tables"].items():
        assert c["read"] == c["kept"] + c["quarantined"] + c["duplicates_dropped"], table
    inv = result.tables["invoices"]
    assert (inv["amount"] > 0).all()
    early = int((inv["due_date"] < inv["invoice_date"]).sum())
    assert result.summary["reasons"]["invoices"].get("due_before_invoice", 0) == early
    assert inv["invoice_id"].is_unique
    assert len(result.quarantine) == sum(
        c["quarantined"] for c in result.summary["tables"].values()
    )


def test_processed_files_are_byte_identical_across_runs(tmp_path):
    tables = _tables([_inv("I1"), _inv("I2", amount="0")], [_pay("P1")])
    a, b = tmp_path / "a", tmp_path / "b"
    write_processed(clean(tables, run_date=RUN), a)
    write_processed(clean(tables, run_date=RUN), b)
    names = sorted(p.name for p in a.iterdir())
    assert "quarantine.parquet" in names and "data_quality.json" in names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_schema_checks_a_sorted_key_by_its_neighbours_and_reports_a_repeated_one():
    """A clean table sorted by its key is validated without hashing the key; a repeated key
    (sorted or not) is still reported by the pandera schema's uniqueness check."""
    from pandera.errors import SchemaErrors

    from arinsight import schemas

    reps = pd.DataFrame(
        {"sales_rep_id": ["R1", "R2", "R3"], "rep_name": ["a", None, "c"], "sales_group": "G"}
    ).astype("str")
    reps["rep_name"] = reps["rep_name"].where(reps["rep_name"] != "None")
    assert schemas.sorted_unique(reps["sales_rep_id"])
    assert schemas.validate("sales_reps", reps).equals(
        schemas.MODELS["sales_reps"].validate(reps, lazy=True)
    )
    assert schemas.validate("sales_reps", reps.iloc[::-1]).shape == (3, 3)  # unsorted: pandera
    for repeated in (["R1", "R1", "R2"], ["R2", "R1", "R1"]):
        with pytest.raises(SchemaErrors, match="field_uniqueness"):
            schemas.validate("sales_reps", reps.assign(sales_rep_id=repeated))


def test_written_as_cleaned_gives_the_same_files_and_leaves_no_staging(tmp_path):
    """``write_to`` (the monthly run's way, each table written as soon as it is final) gives
    byte-identical processed files to cleaning in memory; its staging folder is gone after
    ``write_processed`` and ``result.tables`` reads the written tables back."""
    tables = _tables([_inv("I1"), _inv("I2", amount="0"), _inv("I3")], [_pay("P1")])
    a, b = tmp_path / "a", tmp_path / "b"
    write_processed(clean(tables, run_date=RUN), a)
    streamed = clean(tables, run_date=RUN, write_to=b)
    write_processed(streamed, b)
    assert sorted(p.name for p in b.iterdir()) == sorted(p.name for p in a.iterdir())
    for path in a.iterdir():
        assert (b / path.name).read_bytes() == path.read_bytes(), path.name
    assert list(streamed.tables["invoices"]["invoice_id"]) == ["I1", "I3"]
    assert streamed.summary["tables"]["invoices"] == {
        "read": 3,
        "kept": 2,
        "quarantined": 1,
        "duplicates_dropped": 0,
    }


def test_a_clean_that_fails_half_way_leaves_the_last_processed_data(tmp_path, monkeypatch):
    """Customers and commissions are final (and written) before payments: a failure while
    finishing the payments must not leave new customers beside old invoices."""
    from arinsight.clean import write as clean_write

    tables = _tables([_inv("I1")], [_pay("P1")])
    out = tmp_path / "processed"
    write_processed(clean(tables, run_date=RUN), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    finish = clean_write.finish_table

    def failing(table, df):
        if table == "payments":
            raise RuntimeError("disk full")
        return finish(table, df)

    monkeypatch.setattr(clean_write, "finish_table", failing)
    other = _tables([_inv("I1"), _inv("I2")], [_pay("P1")])
    with pytest.raises(RuntimeError, match="disk full"):
        clean(other, run_date=RUN, write_to=out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_due_date_before_the_invoice_date_is_kept_as_given():
    """SAP: document date 2026-08-11 + 30 days net = due 2026-09-10, posted (invoice_date)
    2026-09-15. The invoice is kept with due 2026-09-10 (5 days before its invoice date) and
    counted as due_before_invoice (flagged, not quarantined); read 2 = kept 2 + quarantined 0;
    the Data Quality summary says so."""
    from arinsight.clean import summary_markdown

    result = clean(
        _tables(
            [
                _inv("S1", date="2026-09-15", due="2026-09-10"),
                _inv("S2", date="2026-09-15", due="2026-10-15"),
            ]
        ),
        run_date=RUN,
    )
    inv = result.tables["invoices"].set_index("invoice_id")
    assert inv.loc["S1", "due_date"] == pd.Timestamp("2026-09-10")
    assert result.summary["tables"]["invoices"]["kept"] == 2
    assert result.summary["tables"]["invoices"]["quarantined"] == 0
    assert _reasons(result, "invoices") == {"due_before_invoice": 1}
    assert (
        "1 invoice is due before its invoice date (kept, overdue from the due date as given)"
        in (summary_markdown(result))
    )


def _adj(aid, iid="I1", date="2026-03-01", amount="40.00", kind="write_off", cust=""):
    return {
        "adjustment_id": aid,
        "invoice_id": iid,
        "customer_id": cust,
        "adjustment_date": date,
        "amount": amount,
        "kind": kind,
        "reason": "",
    }


def test_adjustments_rules():
    """A1 "Write-off" -> write_off, its customer C1 taken from I1; A2 "Credit Memo" ->
    credit_note; A3 "bad debt" -> write_off; A4 "refund" -> unknown_kind; A5 dated before
    I1's invoice date -> adjustment_before_invoice; A6 on invoice I9 -> unknown_invoice;
    A7 amount 0 -> non_positive_amount. adjustments: read 7 = kept 3 + quarantined 4."""
    tables = _tables([_inv("I1"), _inv("I2", cust="C2")])
    tables["adjustments"] = ingested(
        "adjustments",
        [
            _adj("A1", kind="Write-off"),
            _adj("A2", iid="I2", kind="Credit Memo", amount="10.00"),
            _adj("A3", kind="bad debt", amount="5.00", cust="C1"),
            _adj("A4", kind="refund"),
            _adj("A5", date="2025-12-31"),
            _adj("A6", iid="I9"),
            _adj("A7", amount="0.00"),
        ],
        "credit_memos.csv",
    )
    result = clean(tables, run_date=RUN)
    adj = result.tables["adjustments"]
    assert adj[["adjustment_id", "customer_id", "kind", "amount"]].values.tolist() == [
        ["A1", "C1", "write_off", 40.0],
        ["A2", "C2", "credit_note", 10.0],
        ["A3", "C1", "write_off", 5.0],
    ]
    assert _reasons(result, "adjustments") == {
        "adjustment_before_invoice": 1,
        "non_positive_amount": 1,
        "unknown_invoice": 1,
        "unknown_kind": 1,
    }
    q = result.quarantine[result.quarantine["table"] == "adjustments"]
    assert q[["key", "reason", "source_row"]].values.tolist() == [
        ["A4", "unknown_kind", 5],
        ["A5", "adjustment_before_invoice", 6],
        ["A6", "unknown_invoice", 7],
        ["A7", "non_positive_amount", 8],
    ]
    assert (
        q.set_index("key").loc["A5", "detail"] == "dated 2025-12-31 before invoice date 2026-01-01"
    )
    assert result.summary["tables"]["adjustments"] == {
        "read": 7,
        "kept": 3,
        "quarantined": 4,
        "duplicates_dropped": 0,
    }


def test_disputes_and_promises_rules():
    """Disputes: S1 on I1 without amount -> the whole invoice (100), customer C1 from I1,
    "Credit Memo" -> credit_note; S2 open (no resolution); S3 "refund" -> unknown_outcome;
    S4 resolved before opened -> resolved_before_opened; S5 resolved without an outcome ->
    resolved_before_opened. Promises: R1 kept; R2 for customer C9 -> unknown_customer; R3 on
    invoice I9 -> unknown_invoice; R4 amount 0 -> non_positive_amount."""
    tables = _tables([_inv("I1"), _inv("I2", cust="C2")])

    def dispute(sid, amount="", resolved="", outcome="", opened="2026-02-01"):
        return {"dispute_id": sid, "invoice_id": "I1", "customer_id": "", "amount": amount,
                "reason": "PRICE", "opened_date": opened, "resolved_date": resolved,
                "outcome": outcome}  # fmt: skip

    tables["disputes"] = ingested(
        "disputes",
        [
            dispute("S1", resolved="2026-03-01", outcome="Credit Memo"),
            dispute("S2", amount="40.00"),
            dispute("S3", resolved="2026-03-01", outcome="refund"),
            dispute("S4", resolved="2026-01-15", outcome="paid"),
            dispute("S5", resolved="2026-03-01"),
        ],
        "disputes.csv",
    )

    def promise(pid, cust="C1", iid="I1", amount="50.00"):
        return {"promise_id": pid, "customer_id": cust, "invoice_id": iid,
                "made_date": "2026-02-01", "promised_date": "2026-02-10", "amount": amount,
                "source": "call"}  # fmt: skip

    tables["promises"] = ingested(
        "promises",
        [
            promise("R1"),
            promise("R2", cust="C9"),
            promise("R3", iid="I9"),
            promise("R4", amount="0"),
        ],
        "promises.csv",
    )
    result = clean(tables, run_date=RUN)
    d = result.tables["disputes"]
    assert d[["dispute_id", "customer_id", "amount"]].values.tolist() == [
        ["S1", "C1", 100.0],
        ["S2", "C1", 40.0],
    ]
    assert d["outcome"].iloc[0] == "credit_note" and pd.isna(d["outcome"].iloc[1])
    assert _reasons(result, "disputes") == {"resolved_before_opened": 2, "unknown_outcome": 1}
    assert result.tables["promises"]["promise_id"].tolist() == ["R1"]
    assert _reasons(result, "promises") == {
        "non_positive_amount": 1,
        "unknown_customer": 1,
        "unknown_invoice": 1,
    }


def test_flat_export_table_lists_undated_paid_amounts_and_conflicts():
    """A flat export's open points, from the summary alone: 2 paid amounts held back
    (1,234.50 USD), 3 dated by the export date (99.00 USD), and one customer whose region
    differs between 4 invoice rows (reported by the latest invoice)."""
    from arinsight.clean import CleanResult, flat_export_table

    summary = {
        "reporting_currency": "USD",
        "segment_by": "customer",
        "undated_payments": {
            "quarantined": {"rows": 2, "amount": 1234.5},
            "dated_by_assumption": {"rows": 3, "amount": 99.0},
        },
        "customer_conflicts": {"region": {"customers": 1, "invoices": 4}},
    }
    table = flat_export_table(CleanResult({}, pd.DataFrame(), summary))
    assert table.values.tolist() == [
        ["Paid amounts without a payment date (held back)", 2, "1,234.50 USD"],
        ["Paid amounts without a date, dated by the export date", 3, "99.00 USD"],
        [
            "Customers whose region differs between rows (4 invoice rows differ; reported by "
            "the latest invoice)",
            1,
            "",
        ],
    ]
    summary["undated_payments"]["quarantined"]["rows"] = 0
    assert flat_export_table(CleanResult({}, pd.DataFrame(), summary))["Rows"].tolist() == [3, 1]
