"""Posting rules (arinsight.cashapp.posting): credit lines that pay no invoice.

The ledger of these tests (T = 2026-10-31, USD, nothing paid before):

    invoice       customer  name             issued      due          open
    INV-0000001   C_1       Blue Foods Inc   2026-09-15  2026-10-15   100.00
    INV-0000002   C_1       Blue Foods Inc   2026-09-20  2026-10-20   250.00
    INV-0000005   C_3       Iron Works Ltd   2026-08-31  2026-09-30  1000.00
    INV-0000009   C_1       Blue Foods Inc   2026-10-01  2026-10-31   700.00

The statement (CSV, with the bank transaction code mapped), one line per default rule and a
near miss beside each; the last column is what the tool must do:

    P01  12.34  (no payer)        code ACMT/MCOP/INTR   (no text)            bank_interest -> Interest income
    P02   5.67  (no payer)        (no code)             ZINSGUTSCHRIFT 10/26 bank_interest (text)
    P03 100.00  Blue Foods Inc    (no code)             Interest INV-0000001 matched to INV-1 (a reference wins)
    P04 1234.00 IRS TREAS 310     (no code)             TAX REF              tax_refund (payer)
    P05 880.00  Revenue Agency    (no code)             VAT refund Q3        tax_refund (text)
    P06 1000.00 Iron Works Ltd    (no code)             tax refund INV 5     matched to INV-5 (a reference wins)
    P07  25.00  (no payer)        (no code)             REFUND OF CHARGES    bank_fee_refund -> Bank charges
    P08 50000.00 Own Co Treasury  (no code)             CASH POOL TRANSFER   cash_pool
    P09 5000.00 Blue Foods Inc    (no code)             advance payment      payment_on_account, C_1, 5,000.00 unapplied
    P10 300.00  Unknown Trading   (no code)             on account           unmatched (payer not identified)
    P11 250.00  Blue Foods Inc    (no code)             on account INV-0000002 matched to INV-2 (a reference wins)
    P12  77.77  Nobody Known      (no code)             Transfer             unmatched (no rule fits)
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import clean_table

from arinsight.cashapp import (
    MatchSettings,
    ledger_payments,
    ledger_records,
    match_statement,
    read_csv_statement,
    read_decisions,
    read_ledger,
    run_match,
)
from arinsight.cashapp.ledger import ledger_gl_postings
from arinsight.cashapp.posting import DEFAULT_POSTING_RULES, posting_rules_from_params
from arinsight.errors import ParamsError


def _tables() -> dict[str, pd.DataFrame]:
    rows = [
        ("INV-0000001", "C_1", "2026-09-15", "2026-10-15", 100.00),
        ("INV-0000002", "C_1", "2026-09-20", "2026-10-20", 250.00),
        ("INV-0000005", "C_3", "2026-08-31", "2026-09-30", 1000.00),
        ("INV-0000009", "C_1", "2026-10-01", "2026-10-31", 700.00),
    ]
    cols = ["invoice_id", "customer_id", "invoice_date", "due_date", "amount"]
    invoices = clean_table(
        "invoices", [dict(zip(cols, r, strict=True)) | {"currency": "USD"} for r in rows]
    )
    customers = clean_table(
        "customers",
        [
            {"customer_id": "C_1", "customer_name": "Blue Foods Inc", "region": "North"},
            {"customer_id": "C_3", "customer_name": "Iron Works Ltd", "region": "South"},
        ],
    )
    return {"invoices": invoices, "payments": clean_table("payments", []), "customers": customers}


STATEMENT = """\
Ref;Date;Amount;Payer;IBAN;Code;Text
P01;02.10.2026;12,34;;;ACMT/MCOP/INTR;
P02;03.10.2026;5,67;;;;ZINSGUTSCHRIFT 10/26
P03;04.10.2026;100,00;Blue Foods Inc;GB01;;Interest INV-0000001
P04;05.10.2026;1.234,00;IRS TREAS 310;;;TAX REF
P05;06.10.2026;880,00;Revenue Agency;;;VAT refund Q3
P06;07.10.2026;1.000,00;Iron Works Ltd;GB03;;tax refund INV 5
P07;08.10.2026;25,00;;;;REFUND OF CHARGES
P08;09.10.2026;50.000,00;Own Co Treasury;DE99;;CASH POOL TRANSFER
P09;12.10.2026;5.000,00;Blue Foods Inc;GB01;;advance payment
P10;13.10.2026;300,00;Unknown Trading;FR01;;on account
P11;14.10.2026;250,00;Blue Foods Inc;GB01;;on account INV-0000002
P12;15.10.2026;77,77;Nobody Known;;;Transfer
"""

MAPPING = {
    "delimiter": ";",
    "decimal": ",",
    "thousands": ".",
    "date_format": "%d.%m.%Y",
    "currency": "USD",
    "account": "DE00ACCOUNT",
    "columns": {
        "line_id": "Ref",
        "booking_date": "Date",
        "amount": "Amount",
        "payer_name": "Payer",
        "payer_account": "IBAN",
        "bank_code": "Code",
        "remittance": "Text",
    },
}


def _match_args(tmp_path: Path, tables: dict[str, pd.DataFrame], out: Path) -> dict:
    """The keyword arguments of ``run_match`` over ``tables`` written as a processed folder,
    with the CSV mapping of :data:`MAPPING` in a params file and ``out`` as the cash folder."""
    folder = tmp_path / "processed"
    folder.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(folder / f"{name}.parquet")
    params = tmp_path / "params.yaml"
    params.write_text("cash_application:\n  csv: " + json.dumps(MAPPING) + "\n")
    return {"params_files": [params], "out_dir": out, "processed_dir": folder}


def _lines(tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "statement.csv"
    path.write_text(STATEMENT, encoding="utf-8")
    return read_csv_statement(path, MAPPING)


def _by_ref_of(tmp_path: Path, text: str, settings: MatchSettings | None = None):
    """``text`` as a CSV statement of :data:`MAPPING` matched against :func:`_tables`: (its lines,
    the run, the worklist indexed by the bank's reference)."""
    path = tmp_path / "lines.csv"
    path.write_text(text, encoding="utf-8")
    lines = read_csv_statement(path, MAPPING)
    run = match_statement(lines, _tables(), settings or MatchSettings())
    return (
        lines,
        run,
        run.worklist.assign(ref=run.worklist["line_id"].str.split(":").str[1]).set_index("ref"),
    )


def test_each_default_rule_and_its_near_miss(tmp_path: Path):
    """The table of the module docstring, line by line; the GL lines carry their account, the
    line on account is a payment without invoice of C_1 (5,000.00) and touches no invoice."""
    run = match_statement(_lines(tmp_path), _tables(), MatchSettings())
    w = run.worklist.assign(ref=run.worklist["line_id"].str.split(":").str[1]).set_index("ref")
    got = {r: (w.loc[r, "status"], w.loc[r, "rule"]) for r in w.index}
    assert got == {
        "P01": ("posted", "bank_interest"),
        "P02": ("posted", "bank_interest"),
        "P03": ("matched", "reference"),
        "P04": ("posted", "tax_refund"),
        "P05": ("posted", "tax_refund"),
        "P06": ("matched", "reference"),
        "P07": ("posted", "bank_fee_refund"),
        "P08": ("posted", "cash_pool"),
        "P09": ("posted", "payment_on_account"),
        "P10": ("unmatched", ""),
        "P11": ("matched", "reference"),
        "P12": ("unmatched", ""),
    }
    assert w.loc["P03", "invoice_ids"] == "INV-0000001"
    assert w.loc["P06", "invoice_ids"] == "INV-0000005"
    assert w.loc["P11", "invoice_ids"] == "INV-0000002"
    assert w.loc["P01", "gl_account"] == "Interest income"
    assert w.loc["P01", "reason"] == (
        "posting rule bank_interest (bank code 'ACMT/MCOP/INTR'): to Interest income, no invoice"
    )
    assert w.loc["P04", "gl_account"] == "Tax receivable"
    assert w.loc["P07", "gl_account"] == "Bank charges"
    assert w.loc["P09", "customer_id"] == "C_1" and w.loc["P09", "gl_account"] == ""
    assert w.loc["P09", "unapplied_amount"] == 5000.0
    assert "payer not recognised" in w.loc["P10", "reason"]
    on_account = run.allocations.loc[run.allocations["rule"] == "payment_on_account"]
    assert on_account[["invoice_id", "customer_id", "amount"]].fillna("-").values.tolist() == [
        ["-", "C_1", 5000.0]
    ]
    # 100 + 1,000 + 250 to invoices, 5,000 on account; the GL lines are no customer payment
    assert run.allocations["amount"].sum() == pytest.approx(6350.0)
    assert run.counts["posted"] == 7 and run.auto_match_rate == pytest.approx(3 / 12)
    assert run.auto_handled_rate == pytest.approx(10 / 12)


def test_a_user_table_replaces_the_defaults_and_is_checked():
    """A params file's posting_rules replace the defaults: here only a rule by payer
    (``ALLIANZ`` -> Insurance claims, match all). [] turns posting off. A rule without a name,
    with both post_to and on_account, with an unknown key or a bad regex stops with a message
    naming the rule and the key."""
    rules = posting_rules_from_params(
        [{"name": "insurer", "payer": ["ALLIANZ"], "post_to": "Insurance claims"}]
    )
    assert [r.name for r in rules] == ["insurer"]
    assert rules[0].fits("", "SCHADEN NR 1", "ALLIANZ VERSICHERUNGS-AG") == "payer 'ALLIANZ'"
    assert rules[0].fits("", "SCHADEN NR 1", "J SMITH") == ""
    assert posting_rules_from_params([]) == ()
    assert posting_rules_from_params(None) == DEFAULT_POSTING_RULES
    settings = MatchSettings.from_params({"cash_application": {"posting_rules": []}})
    assert settings.posting_rules == ()
    bad = {
        "cash_application.posting_rules[1]: every rule needs a name of its own": [
            {"text": ["X"], "post_to": "A"}
        ],
        "cash_application.posting_rules[1] (x): give either post_to: <account> or on_account: "
        "true": [{"name": "x", "text": ["X"], "post_to": "A", "on_account": True}],
        "cash_application.posting_rules[1] (x): unknown key(s) payee": [
            {"name": "x", "payee": ["X"], "post_to": "A"}
        ],
        "cash_application.posting_rules[1] (x).text: '(' is not a regex": [
            {"name": "x", "text": ["("], "post_to": "A"}
        ],
        "cash_application.posting_rules[1] (x): give bank_codes, text or payer to match": [
            {"name": "x", "post_to": "A"}
        ],
    }
    for message, raw in bad.items():
        with pytest.raises(ParamsError) as err:
            posting_rules_from_params(raw)
        assert str(err.value).startswith(message)


def _rerun_with_decisions(tmp_path: Path, lines, tables, ledger: list, rows: str):
    """The statement matched again after an analyst wrote ``rows`` (line_id, action,
    invoice_ids, decided_by, decided_at, note) to a decisions file."""
    decisions = tmp_path / "decisions.csv"
    decisions.write_text("line_id,action,invoice_ids,decided_by,decided_at,note\n" + rows)
    return match_statement(
        lines, tables, MatchSettings(), None, ledger, decisions=read_decisions(decisions)
    )


def test_a_posting_is_undone_by_a_decision(tmp_path: Path):
    """Run 1 posts P01 (12.34 interest) to Interest income and P09 (5,000.00) on account of C_1.
    The analyst decides: reject P01 (it was a customer's refund, not interest), assign P09 to
    INV-0000009. Run 2: P01 rejected, its GL posting gone from gl_postings; P09 re-assigned
    (``reverses`` the posting): 700.00 on INV-9 and 4,300.00 unapplied of C_1 instead of
    5,000.00 on account. Money of customers: 100 + 1,000 + 250 + 700 + 4,300 = 6,350.00."""
    lines = _lines(tmp_path)
    run = match_statement(lines, _tables(), MatchSettings())
    ledger = ledger_records(run, lines, "statement.csv")
    gl = ledger_gl_postings(ledger)
    assert gl["statement_line_id"].tolist() == [
        "DE00ACCOUNT:P01",
        "DE00ACCOUNT:P02",
        "DE00ACCOUNT:P04",
        "DE00ACCOUNT:P05",
        "DE00ACCOUNT:P07",
        "DE00ACCOUNT:P08",
    ]
    assert gl.loc[0, ["account", "amount", "rule"]].tolist() == [
        "Interest income",
        12.34,
        "bank_interest",
    ]
    run2 = _rerun_with_decisions(
        tmp_path,
        lines,
        _tables(),
        ledger,
        "DE00ACCOUNT:P01,reject,,ana,2026-11-02,a refund to us\n"
        "DE00ACCOUNT:P09,assign,INV-0000009,ben,2026-11-03,pays INV-9\n",
    )
    w = run2.worklist.set_index("line_id")
    assert w.loc["DE00ACCOUNT:P01", "status"] == "rejected"
    assert w.loc["DE00ACCOUNT:P09", "rule"] == "decision_assign"
    ledger += ledger_records(run2, lines, "statement.csv")
    assert [r["reverses"] for r in ledger[-2:]] == ["DE00ACCOUNT:P01", "DE00ACCOUNT:P09"]
    assert "DE00ACCOUNT:P01" not in ledger_gl_postings(ledger)["statement_line_id"].tolist()
    pays = ledger_payments(ledger)
    p09 = pays.loc[pays["statement_line_id"].str.startswith("DE00ACCOUNT:P09")]
    assert p09[["invoice_id", "amount"]].fillna("-").values.tolist() == [
        ["INV-0000009", 700.0],
        ["-", 4300.0],
    ]
    assert pays["amount"].sum() == pytest.approx(6350.0)


def test_a_resent_statement_posts_nothing_twice(tmp_path: Path):
    """``arinsight match`` of the statement, then of the same statement sent again under another
    name: every posted line is already applied (the ledger has its content key),
    gl_postings.csv and applied_payments.csv are the same bytes, the ledger keeps its 10
    records (7 posted, 3 matched)."""
    out = tmp_path / "cash"
    kw = _match_args(tmp_path, _tables(), out)
    first = tmp_path / "statement.csv"
    first.write_text(STATEMENT, encoding="utf-8")
    run = run_match(first, as_of="2026-10-31", **kw)
    assert run.counts["posted"] == 7
    gl = (out / "gl_postings.csv").read_bytes()
    applied = (out / "applied_payments.csv").read_bytes()
    assert len(read_ledger(out / "cash_ledger.jsonl")) == 10
    again = tmp_path / "statement (1).csv"
    again.write_text(STATEMENT, encoding="utf-8")
    run2 = run_match(again, as_of="2026-10-31", **kw)
    assert run2.counts["posted"] == 0 and run2.counts["already_applied"] == 10
    assert (out / "gl_postings.csv").read_bytes() == gl
    assert (out / "applied_payments.csv").read_bytes() == applied
    assert len(read_ledger(out / "cash_ledger.jsonl")) == 10
    assert len(pd.read_csv(out / "gl_postings.csv")) == 6


def test_the_default_table_in_the_docs_is_the_one_that_ships():
    """docs/collections.md shows the default rules as a params file would write them: read
    back through the params check, they are DEFAULT_POSTING_RULES exactly (so the page a user
    copies from cannot drift from the code)."""
    import yaml

    text = (Path(__file__).parents[1] / "docs" / "collections.md").read_text(encoding="utf-8")
    block = text.split("The default table")[1].split("```yaml\n")[1].split("```")[0]
    raw = yaml.safe_load(block)["cash_application"]["posting_rules"]
    assert posting_rules_from_params(raw) == DEFAULT_POSTING_RULES


# ------------------------------------------------------------------------------------------------
# a customer paying a paid invoice again: posted on account of that customer, flagged
# ------------------------------------------------------------------------------------------------

#: The ledger above, with INV-0000001 paid in full (100.00 on 2026-09-30, payment PAY-1) and
#: 400.00 of INV-0000005 paid (2026-09-20, PAY-2) before the statement. Open before the
#: statement: INV-2 250.00, INV-5 600.00 (C_3), INV-9 700.00; INV-1 0.
#:
#:     D01 100.00 Blue Foods Inc  INV-0000001  paid 09-30, same customer, its amount
#:                                             -> posted duplicate_payment, on account of C_1
#:     D02 100.00 Iron Works Ltd  INV-0000001  the payer is C_3, the invoice C_1's
#:                                             -> suggested (C_3's INV-5, a partial payment?)
#:     D03  60.00 Blue Foods Inc  INV-0000001  60.00 is neither the invoice's 100.00 nor what
#:                                             was paid for it -> suggested (C_1's open ones)
#:     D04 250.00 Blue Foods Inc  INV-0000002  -> matched reference (INV-2 paid on 10-08)
#:     D05 250.00 Blue Foods Inc  INV-0000002  paid by D04 the day before
#:                                             -> posted duplicate_payment, on account of C_1
#:     D06 600.00 Iron Works Ltd  INV-0000005  -> matched reference (the rest: INV-5 settled)
#:     D07 600.00 Iron Works Ltd  INV-0000005  D06's transfer sent again: 600.00 is neither the
#:                                             invoice's 1,000.00 nor the 1,000.00 paid for it,
#:                                             but the payment that settled it
#:                                             -> posted duplicate_payment, on account of C_3
DUPLICATES = """\
Ref;Date;Amount;Payer;IBAN;Code;Text
D01;05.10.2026;100,00;Blue Foods Inc;GB01;;INV-0000001
D02;06.10.2026;100,00;Iron Works Ltd;GB03;;INV-0000001
D03;07.10.2026;60,00;Blue Foods Inc;GB01;;INV-0000001
D04;08.10.2026;250,00;Blue Foods Inc;GB01;;INV-0000002
D05;09.10.2026;250,00;Blue Foods Inc;GB01;;INV-0000002
D06;10.10.2026;600,00;Iron Works Ltd;GB03;;INV-0000005
D07;12.10.2026;600,00;Iron Works Ltd;GB03;;INV-0000005
"""


def _paid_tables() -> dict[str, pd.DataFrame]:
    tables = _tables()
    tables["payments"] = clean_table(
        "payments",
        [
            {
                "payment_id": "PAY-1",
                "invoice_id": "INV-0000001",
                "customer_id": "C_1",
                "payment_date": "2026-09-30",
                "amount": 100.0,
                "method": "Bank Transfer",
            },
            {
                "payment_id": "PAY-2",
                "invoice_id": "INV-0000005",
                "customer_id": "C_3",
                "payment_date": "2026-09-20",
                "amount": 400.0,
                "method": "Bank Transfer",
            },
        ],
    )
    return tables


def _duplicate_lines(tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "duplicates.csv"
    path.write_text(DUPLICATES, encoding="utf-8")
    return read_csv_statement(path, MAPPING)


def _by_ref(run) -> pd.DataFrame:
    return run.worklist.assign(ref=run.worklist["line_id"].str.split(":").str[1]).set_index("ref")


def test_a_second_payment_of_a_paid_invoice_goes_on_account_of_its_customer(tmp_path: Path):
    """The table above. D01 and D05 are posted on account of C_1 (100.00 and 250.00 unapplied,
    no invoice touched: INV-1 and INV-2 get no credit balance), D07 on account of C_3 (600.00),
    each flagging the invoice it paid again, the reason naming the date it was paid (PAY-1's
    2026-09-30; D04's 2026-10-08; D06's 2026-10-10). The near misses stay for a person: D02's
    payer is another customer, D03's amount is not the invoice's. Applied to invoices: D04's
    250.00 on INV-2 and D06's 600.00 on INV-5. Auto-handled: 2 matched + 3 posted of 7."""
    run = match_statement(_duplicate_lines(tmp_path), _paid_tables(), MatchSettings())
    w = _by_ref(run)
    assert w[["status", "rule"]].apply(tuple, axis=1).to_dict() == {
        "D01": ("posted", "duplicate_payment"),
        "D02": ("suggested", ""),
        "D03": ("suggested", ""),
        "D04": ("matched", "reference"),
        "D05": ("posted", "duplicate_payment"),
        "D06": ("matched", "reference"),
        "D07": ("posted", "duplicate_payment"),
    }
    assert w.loc["D01", "reason"] == (
        "duplicate payment of INV-0000001, already paid on 2026-09-30: refund or apply; on "
        "account of C_1 (Blue Foods Inc), unapplied cash"
    )
    assert w.loc["D05", "reason"].startswith(
        "duplicate payment of INV-0000002, already paid on 2026-10-08: refund or apply"
    )
    assert w.loc["D07", "reason"].startswith(
        "duplicate payment of INV-0000005, already paid on 2026-10-10: refund or apply; on "
        "account of C_3 (Iron Works Ltd)"
    )
    dup = ["D01", "D05", "D07"]
    assert w.loc[dup, "flagged_invoices"].tolist() == ["INV-0000001", "INV-0000002", "INV-0000005"]
    assert w.loc[dup, "customer_id"].tolist() == ["C_1", "C_1", "C_3"]
    assert w.loc[dup, "unapplied_amount"].tolist() == [100.0, 250.0, 600.0]
    assert w.loc[dup, "invoice_ids"].tolist() == ["", "", ""]
    assert w.loc["D01", "confidence"] == 1.0  # Blue Foods Inc by its exact name
    assert "refers to INV-0000001, already paid" in w.loc["D02", "reason"]
    assert "C_3" in w.loc["D02", "candidates"] and "C_1" not in w.loc["D02", "candidates"]
    assert "refers to INV-0000001, already paid" in w.loc["D03", "reason"]
    pays = run.allocations[["invoice_id", "customer_id", "amount", "rule"]].fillna("-")
    assert pays.values.tolist() == [
        ["-", "C_1", 100.0, "duplicate_payment"],
        ["INV-0000002", "C_1", 250.0, "reference"],
        ["-", "C_1", 250.0, "duplicate_payment"],
        ["INV-0000005", "C_3", 600.0, "reference"],
        ["-", "C_3", 600.0, "duplicate_payment"],
    ]
    assert run.counts["posted"] == 3 and run.auto_handled_rate == pytest.approx(5 / 7)
    records = ledger_records(run, _duplicate_lines(tmp_path), "duplicates.csv")
    assert [r["flagged_invoices"] for r in records if r["rule"] == "duplicate_payment"] == [
        ["INV-0000001"],
        ["INV-0000002"],
        ["INV-0000005"],
    ]


def test_duplicate_payments_can_be_turned_off():
    """``cash_application.duplicate_payments: false`` leaves D01 and D05 unmatched, as before
    the step existed (the reason: refers to the invoice, already paid); anything but true or
    false stops the command naming the key."""
    settings = MatchSettings.from_params({"cash_application": {"duplicate_payments": False}})
    assert settings.duplicate_payments is False
    assert MatchSettings().duplicate_payments is True
    with pytest.raises(ParamsError, match=r"cash_application.duplicate_payments must be true"):
        MatchSettings.from_params({"cash_application": {"duplicate_payments": "yes"}})


def test_duplicate_payments_off_leaves_the_lines_for_a_person(tmp_path: Path):
    """The same statement with the step turned off: D01 and D05 are suggested (C_1's open
    invoices as partial payments), D07 unmatched (C_3 has nothing open after D06), nothing is
    posted, D04 and D06 still matched."""
    settings = MatchSettings(duplicate_payments=False)
    w = _by_ref(match_statement(_duplicate_lines(tmp_path), _paid_tables(), settings))
    assert w["status"].to_dict() == {
        "D01": "suggested",
        "D02": "suggested",
        "D03": "suggested",
        "D04": "matched",
        "D05": "suggested",
        "D06": "matched",
        "D07": "unmatched",
    }
    assert w.loc["D05", "reason"].startswith("refers to INV-0000002, already paid")
    assert w.loc["D07", "reason"] == "refers to INV-0000005, already paid (duplicate payment?)"


def test_a_duplicate_payment_posting_is_undone_by_a_decision(tmp_path: Path):
    """Run 1 posts D01 (100.00) and D05 (250.00) on account of C_1. The analyst decides:
    reject D01 (refunded to the customer), assign D05 to INV-0000009 (kept: it pays the next
    invoice). Run 2: D01 rejected, its 100.00 gone from the payments; D05 re-assigned
    (``reverses`` the posting): 250.00 on INV-9 (open 700.00, 450.00 left open) instead of on
    account. D07's 600.00 stays on account of C_3 (nobody decided it). Payments: 250.00 (D04)
    + 250.00 (D05 on INV-9) + 600.00 (D06) + 600.00 (D07 on account) = 1,700.00."""
    lines = _duplicate_lines(tmp_path)
    run = match_statement(lines, _paid_tables(), MatchSettings())
    ledger = ledger_records(run, lines, "duplicates.csv")
    run2 = _rerun_with_decisions(
        tmp_path,
        lines,
        _paid_tables(),
        ledger,
        "DE00ACCOUNT:D01,reject,,ana,2026-11-02,refunded\n"
        "DE00ACCOUNT:D05,assign,INV-0000009,ben,2026-11-03,keep it for INV-9\n",
    )
    w = _by_ref(run2)
    assert w.loc["D01", "status"] == "rejected"
    assert w.loc["D05", ["status", "rule", "invoice_ids"]].tolist() == [
        "matched",
        "decision_assign",
        "INV-0000009",
    ]
    ledger += ledger_records(run2, lines, "duplicates.csv")
    assert [r["reverses"] for r in ledger[-2:]] == ["DE00ACCOUNT:D01", "DE00ACCOUNT:D05"]
    pays = ledger_payments(ledger)
    assert sorted(pays[["invoice_id", "amount", "rule"]].fillna("-").values.tolist()) == [
        ["-", 600.0, "duplicate_payment"],
        ["INV-0000002", 250.0, "reference"],
        ["INV-0000005", 600.0, "reference"],
        ["INV-0000009", 250.0, "decision_assign"],
    ]
    assert pays["amount"].sum() == pytest.approx(1700.0)


def test_a_resent_statement_posts_no_duplicate_payment_twice(tmp_path: Path):
    """``arinsight match`` of the statement, then of the same statement sent again under
    another name: D01, D05 and D07 are already applied (their content keys are in the ledger),
    not posted again; applied_payments.csv is the same bytes (100.00, 250.00 and 600.00 on
    account, 250.00 on INV-2, 600.00 on INV-5) and the ledger keeps its 5 records. D02 and D03
    wait in the worklist: D03 suggested again, D02 now unmatched (with D06 in the ledger, C_3
    has nothing open left to suggest)."""
    out = tmp_path / "cash"
    kw = _match_args(tmp_path, _paid_tables(), out)
    first = tmp_path / "duplicates.csv"
    first.write_text(DUPLICATES, encoding="utf-8")
    run = run_match(first, as_of="2026-10-31", **kw)
    assert run.counts["posted"] == 3
    applied = (out / "applied_payments.csv").read_bytes()
    paid = pd.read_csv(out / "applied_payments.csv")[["invoice_id", "amount"]].fillna("-")
    assert sorted(paid.values.tolist()) == [
        ["-", 100.0],
        ["-", 250.0],
        ["-", 600.0],
        ["INV-0000002", 250.0],
        ["INV-0000005", 600.0],
    ]
    again = tmp_path / "duplicates (1).csv"
    again.write_text(DUPLICATES, encoding="utf-8")
    run2 = run_match(again, as_of="2026-10-31", **kw)
    assert run2.counts["posted"] == 0 and run2.counts["already_applied"] == 5
    assert run2.counts["suggested"] == 1 and run2.counts["unmatched"] == 1
    assert (out / "applied_payments.csv").read_bytes() == applied
    assert len(read_ledger(out / "cash_ledger.jsonl")) == 5


def test_the_invoice_book_says_what_was_paid_and_when():
    """invoice_book at 2026-10-31 over _paid_tables plus, for INV-2, 245.00 cash and a 5.00
    early-payment discount row on 2026-10-01, and a ledger payment (BNK-1, not yet in the
    processed data) of INV-5's last 600.00 on 2026-10-10:

        invoice  open  paid_cash          paid_on     paid_last  paid_by_line
        INV-1    0     100.00             2026-09-30  100.00     no (PAY-1, processed)
        INV-2    0     245.00 (250 - 5)   2026-10-01  245.00     no
        INV-5    0     1,000.00 (400+600) 2026-10-10  600.00     yes (the ledger's BNK-1)
        INV-9    700   0.00               -           0.00       no
    """
    from arinsight.cashapp import invoice_book

    tables = _paid_tables()
    more = [
        ("PAY-3", "INV-0000002", 245.0, "Bank Transfer"),
        ("PAY-4", "INV-0000002", 5.0, "Early Payment Discount"),
    ]
    cols = ["payment_id", "invoice_id", "amount", "method"]
    rows = [dict(zip(cols, r, strict=True)) | {"customer_id": "C_1"} for r in more]
    extra = clean_table("payments", [r | {"payment_date": "2026-10-01"} for r in rows])
    tables["payments"] = pd.concat([tables["payments"], extra], ignore_index=True)
    applied = pd.DataFrame(
        {
            "payment_id": ["BNK-1"],
            "invoice_id": ["INV-0000005"],
            "payment_date": ["2026-10-10"],
            "amount": [600.0],
            "method": ["Bank Transfer"],
        }
    )
    book = invoice_book(tables, "2026-10-31", applied).set_index("invoice_id")
    cols = ["open_amount", "paid_cash", "paid_on", "paid_last", "paid_by_line"]
    got = book.loc[["INV-0000001", "INV-0000002", "INV-0000005", "INV-0000009"], cols]
    got["paid_on"] = got["paid_on"].dt.strftime("%Y-%m-%d").fillna("-")
    assert got.values.tolist() == [
        [0.0, 100.0, "2026-09-30", 100.0, False],
        [0.0, 245.0, "2026-10-01", 245.0, False],
        [0.0, 1000.0, "2026-10-10", 600.0, True],
        [700.0, 0.0, "-", 0.0, False],
    ]


def test_an_insurers_claim_payment_goes_to_insurance_claims(tmp_path: Path):
    """The default ``insurance_claim`` rule needs an insurer as the payer and a claim word in
    the text (docs/collections.md, "Posting rules"); on the ledger of the module docstring:

    I1 2,736.30 ALLIANZ VERSICHERUNGS-AG 'SCHADEN NR 6041062'      -> posted, Insurance claims receivable
    I2   480.00 AXA Assurances IARD      'sinistre 2026-114'       -> posted (French)
    I3 1,000.00 Zurich Insurance plc     'claim no 77 INV-0000005' -> matched to INV-5 (a reference wins)
    I4    12.00 AXA Assurances IARD      'Transfer'                -> unmatched (no claim word)
    I5    30.00 Nobody Known             'Schaden 12'              -> unmatched (no insurer)

    GL postings: 2,736.30 + 480.00 = 3,216.30 to Insurance claims receivable."""
    text = (
        "Ref;Date;Amount;Payer;IBAN;Code;Text\n"
        "I1;02.10.2026;2.736,30;ALLIANZ VERSICHERUNGS-AG;;;SCHADEN NR 6041062\n"
        "I2;03.10.2026;480,00;AXA Assurances IARD;;;sinistre 2026-114\n"
        "I3;04.10.2026;1.000,00;Zurich Insurance plc;;;claim no 77 INV-0000005\n"
        "I4;05.10.2026;12,00;AXA Assurances IARD;;;Transfer\n"
        "I5;06.10.2026;30,00;Nobody Known;;;Schaden 12\n"
    )
    lines, run, w = _by_ref_of(tmp_path, text)
    assert w[["status", "rule"]].values.tolist() == [
        ["posted", "insurance_claim"],
        ["posted", "insurance_claim"],
        ["matched", "reference"],
        ["unmatched", ""],
        ["unmatched", ""],
    ]
    assert w.loc["I1", "reason"] == (
        "posting rule insurance_claim (text 'SCHADEN', payer 'VERSICHERUNG'): to Insurance "
        "claims receivable, no invoice"
    )
    assert w.loc["I3", "invoice_ids"] == "INV-0000005"
    gl = ledger_gl_postings(ledger_records(run, lines, "lines.csv"))
    assert gl["account"].unique().tolist() == ["Insurance claims receivable"]
    assert gl["amount"].sum() == pytest.approx(3216.30)


def test_a_payment_without_reference_from_a_customer_who_owes_one_invoice(tmp_path: Path):
    """Rule 4b (``sole_invoice``): Iron Works Ltd (C_3) owes exactly one invoice, INV-0000005
    (1,000.00); Blue Foods Inc (C_1) owes three. Lines in booking order, no invoice named:

    S1 01.10 Iron Works Ltd 1,060.00 ''                -> suggested (6 % over 1,000.00, cap 5 %)
    S2 01.10 Iron Works Ltd   300.00 'advance payment' -> posted payment_on_account (a rule fits)
    S3 01.10 Blue Foods Inc    50.00 ''                -> suggested (C_1 owes 3 invoices)
    S4 02.10 Iron Works Ltd   400.00 ''                -> sole_invoice_partial, INV-5 400.00;
                                                          600.00 left open (a deduction)
    S5 03.10 Iron Works Ltd   630.00 ''                -> sole_invoice_overpaid, INV-5 630.00
                                                          (600.00 open x 1.05 = 630.00, the cap)
    S6 04.10 Iron Works Ltd    10.00 ''                -> suggested/unmatched: nothing open now

    Confidence 0.9 x the name's score 1.0, x 0.95 for a part payment = 0.855, x 0.9 for an
    overpayment = 0.81 (as for the other rules). Applied to INV-5: 400.00 + 630.00 = 1,030.00 (30.00 credit balance)."""
    text = (
        "Ref;Date;Amount;Payer;IBAN;Code;Text\n"
        "S1;01.10.2026;1.060,00;Iron Works Ltd;;;\n"
        "S2;01.10.2026;300,00;Iron Works Ltd;;;advance payment\n"
        "S3;01.10.2026;50,00;Blue Foods Inc;;;\n"
        "S4;02.10.2026;400,00;Iron Works Ltd;;;\n"
        "S5;03.10.2026;630,00;Iron Works Ltd;;;\n"
        "S6;04.10.2026;10,00;Iron Works Ltd;;;\n"
    )
    _, run, w = _by_ref_of(tmp_path, text)
    assert w.loc[["S1", "S2", "S3", "S4", "S5"], ["status", "rule"]].values.tolist() == [
        ["suggested", ""],
        ["posted", "payment_on_account"],
        ["suggested", ""],
        ["matched", "sole_invoice_partial"],
        ["matched", "sole_invoice_overpaid"],
    ]
    assert w.loc["S6", "status"] in ("suggested", "unmatched")
    assert w.loc["S4", ["invoice_ids", "applied_amount", "confidence"]].tolist() == [
        "INV-0000005",
        400.0,
        0.855,
    ]
    assert w.loc["S4", "reason"] == (
        "no invoice reference; INV-0000005 is the only open invoice of C_3 (Iron Works Ltd): "
        "paid 600.00 short"
    )
    assert w.loc["S5", ["applied_amount", "confidence"]].tolist() == [630.0, 0.81]
    inv5 = run.allocations.loc[run.allocations["invoice_id"] == "INV-0000005", "amount"]
    assert inv5.sum() == pytest.approx(1030.0)
    # turned off: S4 and S5 are left for a person, INV-5 first among their candidates
    off = MatchSettings.from_params({"cash_application": {"sole_invoice": False}})
    _, run, w = _by_ref_of(tmp_path, text, off)
    assert w.loc[["S4", "S5"], "status"].tolist() == ["suggested", "suggested"]
    assert w.loc["S4", "candidates"].startswith("INV-0000005 (C_3")
    with pytest.raises(ParamsError, match="sole_invoice must be true or false, got 'no'"):
        MatchSettings.from_params({"cash_application": {"sole_invoice": "no"}})
