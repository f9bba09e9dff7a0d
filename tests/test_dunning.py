"""Company profile, dunning plan, disputes and cash-application exclusions (arinsight.dunning).

The plan's ledger at T = 2026-11-30 (period 2026-11), levels polite (1 day), firm (30), final (60):

    customer  open overdue invoices (days past due)  last reminder sent        plan
    A         A1 (45)                                 none                      send level 1 (new case)
    B         B1 (45)                                 level 1 in 2026-10 (B1)   send level 2
    C         C2 (20)                                 level 1 in 2026-10 (C1,   send level 1: C1 was
                                                      paid since)               settled, new case
    D         D1 (25)                                 level 1 in 2026-10 (D1)   wait: level 2 needs 30
    E         E1 (90)                                 level 3 in 2026-10 (E1)   escalate
    F         F1 (40)                                 level 1 in 2026-11 (F1)   done (sent this period)
    G         G1 (70), disputed                       none                      not in the plan
"""

from __future__ import annotations

import pandas as pd
import pytest

from arinsight import dunning
from arinsight.errors import ParamsError, SourceError


def test_company_profile_formats_and_links():
    """de_DE: 1234.5 EUR -> '1.234,50 €', 2026-10-31 -> '31.10.2026'; the pay link encodes its
    values (a space in an invoice id becomes %20); en_US writes $1,234.50 and Oct 31, 2026."""
    p = dunning.company_profile(
        {
            "company": {
                "name": "Acme",
                "locale": "de_DE",
                "pay_link": "https://pay.example.com/?i={invoice_id}&a={amount}",
                "address": "Line 1\nLine 2",
            }
        }
    )
    assert p.money(1234.5, "EUR") == "1.234,50\xa0€"
    assert p.date("2026-10-31") == "31.10.2026"
    assert p.link("INV 1", 10, "EUR", "C1") == "https://pay.example.com/?i=INV%201&a=10.00"
    assert p.address == ("Line 1", "Line 2")
    us = dunning.company_profile({"company": {"name": "Acme"}})
    assert (us.money(1234.5, "USD"), us.date("2026-10-31")) == ("$1,234.50", "Oct 31, 2026")
    assert us.context()["signature"] == ["Acme"] and us.context()["has_bank"] is False


@pytest.mark.parametrize(
    ("company", "message"),
    [
        ({}, "company.name is required"),
        ({"name": "A", "reply_to": "not an address"}, "reply_to"),
        ({"name": "A", "bank": {"swift": "X"}}, "company.bank keys"),
        ({"name": "A", "pay_link": "https://x/{invoice}"}, "unknown placeholder"),
        ({"name": "A", "locale": "xx_YY"}, "not a known locale"),
    ],
)
def test_company_profile_errors(company, message):
    with pytest.raises(ParamsError, match=message):
        dunning.company_profile({"company": company})


def test_dunning_levels():
    levels = dunning.dunning_levels({})
    assert [(lv.number, lv.template, lv.min_days_past_due) for lv in levels] == [
        (1, "reminder_polite", 1),
        (2, "reminder_firm", 30),
        (3, "reminder_final", 60),
    ]
    with pytest.raises(ParamsError, match="not decrease"):
        dunning.dunning_levels(
            {
                "dunning": {
                    "levels": [
                        {"template": "a", "min_days_past_due": 30},
                        {"template": "b", "min_days_past_due": 1},
                    ]
                }
            }
        )
    with pytest.raises(ParamsError, match="must be a list"):
        dunning.dunning_levels({"dunning": {"levels": [{"template": "a"}]}})


def _positions() -> pd.DataFrame:
    rows = [
        ("A1", "A", 100.0, 45),
        ("B1", "B", 100.0, 45),
        ("C2", "C", 100.0, 20),
        ("D1", "D", 100.0, 25),
        ("E1", "E", 100.0, 90),
        ("F1", "F", 100.0, 40),
        ("G1", "G", 100.0, 70),
        ("H1", "H", 0.0, 0),
    ]
    return pd.DataFrame(rows, columns=["invoice_id", "customer_id", "open_amount", "days_past_due"])


def _history() -> pd.DataFrame:
    records = [
        {"kind": "reminder", "key": "reminder:2026-10:B:1", "level": 1, "invoices": ["B1"]},
        {"kind": "reminder", "key": "reminder:2026-10:C:1", "level": 1, "invoices": ["C1"]},
        {"kind": "reminder", "key": "reminder:2026-10:D:1", "level": 1, "invoices": ["D1"]},
        {"kind": "reminder", "key": "reminder:2026-10:E:3", "level": 3, "invoices": ["E1"]},
        {"kind": "reminder", "key": "reminder:2026-11:F:1", "level": 1, "invoices": ["F1"]},
        {"kind": "report", "key": "report:2026-10:All"},
    ]
    return dunning.reminder_history(records)


def test_dunning_plan_by_hand():
    """The table of the module docstring."""
    plan = dunning.dunning_plan(
        _positions(), "2026-11", _history(), dunning.dunning_levels({}), 14, excluded={"G1"}
    ).set_index("customer_id")
    assert plan["action"].to_dict() == {
        "A": "send",
        "B": "send",
        "C": "send",
        "D": "wait",
        "E": "escalate",
        "F": "done",
    }
    assert plan.loc[["A", "B", "C"], "template"].tolist() == [
        "reminder_polite",
        "reminder_firm",
        "reminder_polite",
    ]
    assert plan.loc["B", "level"] == 2 and plan.loc["B", "previous_period"] == "2026-10"
    assert plan.loc["C", "reason"] == "previous case settled"
    assert plan.loc["D", "reason"] == "level 2 needs 30 days past due (25)"
    assert plan.loc["A", "invoice_ids"] == ["A1"]


def test_dunning_plan_waits_between_levels():
    """B's level 1 was sent for 2026-11 (T' = 11-30); a run for a period ending 12 days later is
    too early for level 2 with min_days_between 14."""
    from arinsight.ledger import Period

    history = dunning.reminder_history(
        [{"kind": "reminder", "key": "reminder:2026-11:B:1", "level": 1, "invoices": ["B1"]}]
    )
    short = Period("2026-12-12", pd.Timestamp("2026-12-01"), pd.Timestamp("2026-12-12"))
    plan = dunning.dunning_plan(
        _positions().query("customer_id == 'B'"), short, history, dunning.dunning_levels({}), 14
    )
    assert plan["action"].tolist() == ["wait"]
    assert plan["reason"].iloc[0] == "level 1 sent 12 day(s) ago; next after 14"


def test_read_disputes_and_apply_cash(tmp_path):
    (tmp_path / "d.csv").write_text("Inv;Why\nI1;price\n;\n")
    (tmp_path / "sources.yaml").write_text(
        "sources: {}\ndisputes: {kind: csv, path: d.csv, delimiter: ';', "
        "columns: {invoice_id: Inv, reason: Why}}\n"
    )
    got = dunning.read_disputes(tmp_path / "sources.yaml")
    assert got[["invoice_id", "reason"]].values.tolist() == [["I1", "price"]]
    assert dunning.read_disputes(None).empty
    (tmp_path / "bad.yaml").write_text("sources: {}\ndisputes: {kind: csv, path: d.csv}\n")
    with pytest.raises(SourceError, match="invoice_id"):
        dunning.read_disputes(tmp_path / "bad.yaml")
    pos = pd.DataFrame(
        {"invoice_id": ["I1", "I2"], "open_amount": [100.0, 50.0], "days_past_due": [10, 5]}
    )
    applied = pd.DataFrame({"invoice_id": ["I1", "I2"], "amount": [40.0, 50.0]})
    out = dunning.apply_cash(pos, applied)
    assert out["open_amount"].tolist() == [60.0, 0.0]
    assert out["days_past_due"].tolist() == [10, 0]


def _two_currency_positions() -> pd.DataFrame:
    """Customer M (billed in CAD at 0.70 and 0.75) and customer H (USD), positions at T in the
    reporting currency USD, with the engine's document columns."""
    return pd.DataFrame(
        {
            "invoice_id": ["M1", "M2", "H1"],
            "customer_id": ["M", "M", "H"],
            "invoice_date": pd.to_datetime(["2026-09-05", "2026-09-20", "2026-08-01"]),
            "due_date": pd.to_datetime(["2026-09-20", "2026-10-20", "2026-08-31"]),
            "amount": [700.0, 375.0, 300.0],
            "balance": [420.0, 375.0, 300.0],
            "open_amount": [420.0, 375.0, 300.0],
            "days_past_due": [10, 0, 30],
            "currency": ["CAD", "CAD", "USD"],
            "amount_doc": [1000.0, 500.0, 300.0],
            "open_amount_doc": [600.0, 500.0, 300.0],
            "fx_rate": [0.70, 0.75, 1.0],
        }
    )


def test_statements_and_reminders_are_in_the_customers_currency():
    """M owes 600.00 CAD on M1 (420.00 USD) and 500.00 CAD on M2 (375.00 USD): its statement
    lists CA$1,000.00 / CA$600.00 and CA$500.00 / CA$500.00, total CA$1,100.00, pay links in CAD;
    its reminder for M1 says CA$600.00 and the subject's total is CA$600.00. After cash
    application took 140.00 USD off M1 (open 280.00 USD), M1 is open 280.00 / 0.70 = 400.00 CAD.
    H (USD) stays in dollars: $300.00. A customer billed in CAD and USD gets one total per
    currency, CA$600.00 + $300.00, and no pay-all link."""
    from arinsight import notify

    profile = dunning.company_profile(
        {
            "company": {
                "name": "Acme",
                "pay_link": "https://pay.example.com/{invoice_id}?c={currency}",
            }
        }
    )
    doc = dunning.in_invoice_currency(_two_currency_positions(), "USD")
    rows = dunning.statement_rows(doc, "M", profile, "USD")
    assert [(r["invoice_id"], r["amount"], r["open_amount"]) for r in rows] == [
        ("M1", "CA$1,000.00", "CA$600.00"),
        ("M2", "CA$500.00", "CA$500.00"),
    ]
    assert rows[0]["pay_link"] == "https://pay.example.com/M1?c=CAD"
    assert dunning.money_total(doc.query("customer_id == 'M'"), profile, "USD") == "CA$1,100.00"
    assert dunning.currency_of(doc.query("customer_id == 'M'"), "USD") == "CAD"
    assert dunning.statement_rows(doc, "H", profile, "USD")[0]["open_amount"] == "$300.00"

    applied = _two_currency_positions()
    applied.loc[0, "open_amount"] = 280.0  # cash application took 140.00 USD off M1
    after = dunning.in_invoice_currency(applied, "USD")
    assert after.loc[0, "open_amount"] == 400.0

    customer = {"customer_id": "M", "customer_name": "Maple", "email_to": "ap@maple.example.com"}
    msg = notify.compose_reminder(
        customer,
        doc.query("invoice_id == 'M1'"),
        period="2026-09",
        level=1,
        template="reminder_polite",
        mail_from="ar@example.com",
        currency="CAD",
        profile=profile,
    )
    text = msg.get_body(("plain",)).get_content()
    assert "CA$600.00" in text and "$420.00" not in text
    mixed = doc.assign(customer_id="M").query("invoice_id != 'M2'")
    msg = notify.compose_reminder(
        customer,
        mixed,
        period="2026-09",
        level=1,
        template="reminder_polite",
        mail_from="ar@example.com",
        currency="USD",
        profile=profile,
    )
    text = msg.get_body(("plain",)).get_content()
    assert "CA$600.00 + $300.00" in text
    assert "M1%2CH1" not in text  # no pay-all link across two currencies
    msg = notify.compose_reminder(
        customer,
        doc.query("customer_id == 'M'"),
        period="2026-09",
        level=1,
        template="reminder_polite",
        mail_from="ar@example.com",
        currency="CAD",
        profile=profile,
    )
    text = msg.get_body(("plain",)).get_content()
    assert "CA$1,100.00" in text and "https://pay.example.com/M1%2CM2?c=CAD" in text


def _late_invoices() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "invoice_id": ["L1", "L2", "L3"],
            "customer_id": ["K"] * 3,
            "invoice_date": pd.to_datetime(["2026-08-01", "2026-07-01", "2026-10-01"]),
            "due_date": pd.to_datetime(["2026-10-01", "2026-08-19", "2026-11-30"]),
            "amount": [1000.0, 400.0, 300.0],
            "open_amount": [1000.0, 250.0, 300.0],
            "days_past_due": [30, 73, 0],
            "currency": ["EUR"] * 3,
        }
    )


def test_late_payment_interest_and_fees_by_hand():
    """Reference rate 4 % + 8 points = 12 % a year on the open amount for the days past due,
    and 40 EUR per overdue invoice: L1 1,000.00 x 12 % x 30 / 365 = 9.8630 -> 9.86; L2 250.00
    x 12 % x 73 / 365 = 6.00; L3 is not past due: nothing. Interest 15.86, compensation 80.00,
    together 95.86 EUR. Off by default; bad settings are named."""
    on = {"enabled": True, "reference_rate": 4.0, "margin": 8.0, "fixed_fee": 40}
    profile = dunning.company_profile({"company": {"name": "Acme", "late_payment": on}})
    terms = profile.late_payment
    assert (terms.rate, terms.fixed_fee, terms.day_count) == (12.0, 40.0, 365)
    c = dunning.late_payment_charges(_late_invoices(), terms)
    assert c["interest"].tolist() == [9.86, 6.0, 0.0]
    assert c["fee"].tolist() == [40.0, 40.0, 0.0]
    assert c["open_amount"].tolist() == [1000.0, 250.0, 300.0]  # shown, never booked
    block = dunning.charges_context(_late_invoices(), profile, "EUR")
    assert (block["interest_total"], block["fee_total"], block["total"]) == (
        "€15.86", "€80.00", "€95.86"
    )  # fmt: skip
    assert block["rate"] == "12 %" and block["invoices"] == 2
    off = dunning.company_profile({"company": {"name": "Acme"}})
    assert (
        off.late_payment is None and dunning.charges_context(_late_invoices(), off, "EUR") is None
    )
    disabled = {"company": {"name": "A", "late_payment": {**on, "enabled": False}}}
    assert dunning.company_profile(disabled).late_payment is None
    for bad, message in (
        ({**on, "margin": "eight"}, "late_payment.margin must be a number"),
        ({**on, "fixed_fee": -1}, "late_payment.fixed_fee must be >= 0"),
        ({**on, "day_count": 364}, "day_count must be 360 or 365"),
        ({**on, "rate": 9}, r"unknown key\(s\) \['rate'\]"),
    ):
        with pytest.raises(ParamsError, match=message):
            dunning.company_profile({"company": {"name": "A", "late_payment": bad}})


def test_reminders_and_statements_show_late_payment_charges():
    """The reminder of L1 and L2 (test above) lists each invoice's interest and fee and says
    interest €15.86 and compensation €80.00, together €95.86, not part of the total overdue
    (€1,250.00, unchanged); the attached statement shows them for its overdue invoices too.
    Without the terms neither says a word about them."""
    from arinsight import notify

    on = {"enabled": True, "reference_rate": 4.0, "margin": 8.0, "fixed_fee": 40}
    profile = dunning.company_profile({"company": {"name": "Acme", "late_payment": on}})
    inv = _late_invoices()
    customer = {"customer_id": "K", "customer_name": "Kiln", "email_to": "ap@kiln.example.com"}
    kw = dict(period="2026-10", level=1, template="reminder_polite", mail_from="ar@example.com",
              currency="EUR")  # fmt: skip
    msg = notify.compose_reminder(
        customer,
        inv.iloc[:2],
        profile=profile,
        statement=dunning.statement_rows(inv, "K", profile, "EUR"),
        statement_total=dunning.money_total(inv, profile, "EUR"),
        statement_charges=dunning.charges_context(inv, profile, "EUR"),
        **kw,
    )
    text = msg.get_body(("plain",)).get_content()
    assert "Total overdue: €1,250.00" in text
    assert "interest €15.86 and compensation €80.00, together €95.86" in text
    assert "12 % a year (reference rate 4 % + 8 points)" in text
    html = msg.get_body(("html",)).get_content()
    assert '<td align="right">€9.86</td><td align="right">€40.00</td>' in html
    attached = next(msg.iter_attachments()).get_payload(decode=True).decode("utf-8")
    assert "Interest to date" in attached and "€15.86" in attached and "€80.00" in attached
    plain = notify.compose_reminder(customer, inv.iloc[:2], profile=dunning.company_profile(
        {"company": {"name": "Acme"}}), **kw)  # fmt: skip
    assert "interest" not in plain.get_body(("plain",)).get_content().lower()
