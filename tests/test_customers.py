"""Customer statements at T (arinsight.customers) on a hand-made ledger of positions.

Customer A: INV-1 1,000 open 400 (10 days past due), INV-2 500 open 500 (not due), INV-3 paid
45 days late, INV-4 paid 5 days late -> pending 900, overdue 400, 2 settled of which 1 late
(50 %), average days late (45 + 5) / 2 = 25; credit limit 600 -> 150 % used.
Customer B: INV-5 200 open 200, 95 days past due -> pending 200, overdue 200, no settled invoice.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from arinsight import customers as cust


def positions() -> pd.DataFrame:
    d = pd.Timestamp
    return pd.DataFrame(
        {
            "invoice_id": ["INV-1", "INV-2", "INV-3", "INV-4", "INV-5"],
            "customer_id": ["A", "A", "A", "A", "B"],
            "customer_name": ["Acme", "Acme", "Acme", "Acme", "Beta"],
            "region": ["North"] * 4 + ["South"],
            "industry": ["Energy"] * 5,
            "customer_type": ["SME"] * 5,
            "invoice_date": [
                d("2026-09-01"),
                d("2026-10-20"),
                d("2026-06-01"),
                d("2026-07-01"),
                d("2026-06-28"),
            ],  # fmt: skip
            "due_date": [
                d("2026-10-21"),
                d("2026-11-19"),
                d("2026-07-01"),
                d("2026-07-31"),
                d("2026-07-28"),
            ],  # fmt: skip
            "amount": [1000.0, 500.0, 300.0, 100.0, 200.0],
            "paid_to_date": [600.0, 0.0, 300.0, 100.0, 0.0],
            "open_amount": [400.0, 500.0, 0.0, 0.0, 200.0],
            "days_past_due": [10, 0, 0, 0, 95],
            "days_late": [None, None, 45.0, 5.0, None],
        }
    )


def test_open_items_sum_to_the_pending_balance():
    items = cust.open_items(positions())
    assert items["invoice_id"].tolist() == ["INV-1", "INV-2", "INV-5"]  # by customer, due date
    assert items.groupby("customer_id")["open_amount"].sum().to_dict() == {"A": 900.0, "B": 200.0}
    with pytest.raises(ValueError, match="due_date"):
        cust.open_items(positions().drop(columns=["due_date"]))


def test_statement_lines_show_credit_notes_and_write_offs():
    """test_engine's ledger with adjustments at 10-31 (its docstring): X owes nothing, Y's open
    lines are F (1,000, credit note 300, pending 700) and G (600, paid 100, written off 100,
    pending 400); on each line amount - paid - credited - written off = pending."""
    from test_engine import adjusted_ledger

    from arinsight.engine.period import frames_at
    from arinsight.receivables import invoice_explorer_table

    pos = invoice_explorer_table(frames_at(adjusted_ledger(), "2026-10-31")["positions"])
    items = cust.open_items(pos)
    cols = ["invoice_id", "amount", "paid_to_date", "credited", "written_off", "open_amount"]
    assert items[cols].values.tolist() == [
        ["G", 600.0, 100.0, 0.0, 100.0, 400.0],
        ["F", 1000.0, 0.0, 300.0, 0.0, 700.0],
    ]  # by due date: G 10-01, F 11-09
    assert items.columns.tolist()[:8] == [
        "customer_id", "invoice_id", "invoice_date", "due_date", "amount", "paid_to_date",
        "credited", "written_off",
    ]  # fmt: skip


def test_customer_summary_hand_worked():
    customers = pd.DataFrame({"customer_id": ["A", "B"], "credit_limit": [600.0, 0.0]})
    risk = pd.DataFrame({"customer_id": ["A"], "expected_overdue": [450.0], "risk_share": [0.5],
                         "pending_risk": [0.2]})  # fmt: skip
    s = cust.customer_summary(positions(), customers, risk, late_days=30).set_index("customer_id")
    a, b = s.loc["A"], s.loc["B"]
    assert (a.open_amount, a.overdue_amount, a.open_invoices) == (900.0, 400.0, 2)
    assert (a.invoices_settled, a.paid_late_pct, a.average_days_late) == (2, 50.0, 25.0)
    assert a.credit_use_pct == 150.0 and a.expected_overdue == 450.0 and a.pending_risk == 0.2
    assert (b.open_amount, b.late_open_invoices, b.invoices_settled) == (200.0, 1, 0)
    assert pd.isna(b.credit_use_pct) and pd.isna(b.paid_late_pct) and pd.isna(b.risk_share)
    assert s.index.tolist() == ["A", "B"]  # largest balance first
    with pytest.raises(ValueError, match="days_late"):
        cust.customer_summary(positions().drop(columns=["days_late"]))


def test_customer_aging_buckets():
    """A: 400 in 1-30, 500 Current; B: 200 in 91-120."""
    a = cust.customer_aging(positions()).set_index("customer_id")
    assert a.loc["A", "Current"] == 500.0 and a.loc["A", "1-30"] == 400.0
    assert a.loc["B", "91-120"] == 200.0 and a.loc["B", "Current"] == 0.0
    with pytest.raises(ValueError, match="open_amount"):
        cust.customer_aging(pd.DataFrame({"customer_id": []}))


def test_risk_reasons_compare_with_the_portfolio():
    s = cust.customer_summary(positions(), pd.DataFrame({"customer_id": ["A"],
                                                          "credit_limit": [600.0]})).set_index("customer_id")  # fmt: skip
    reasons = cust.risk_reasons(s.loc["A"].to_dict(), {"paid_late_pct": 20.0}, 30)
    assert reasons[0] == (
        "Paid 50% of 2 settled invoices more than 30 days late (higher than the 20% of all "
        "customers)."
    )
    assert "150% of the credit limit (over the limit)" in " ".join(reasons)
    b = cust.risk_reasons(s.loc["B"].to_dict(), {"paid_late_pct": 20.0}, 30)
    assert b[0].startswith("No settled invoices yet") and "1 open invoice is already" in b[1]


def test_payment_history_window_and_order():
    pay = pd.DataFrame({"payment_id": ["P1", "P2", "P3"], "customer_id": ["A", "A", "A"],
                        "payment_date": pd.to_datetime(["2025-09-30", "2026-01-05", "2026-10-31"]),
                        "amount": [1.0, 2.0, 3.0], "invoice_id": [None, "INV-1", "INV-1"]})  # fmt: skip
    h = cust.payment_history(pay, "2026-10-31", 12)
    assert h["payment_id"].tolist() == ["P3", "P2"]  # P1 is more than 12 months old
    with pytest.raises(ValueError, match="payment_date"):
        cust.payment_history(pd.DataFrame({"customer_id": []}), "2026-10-31")


def test_read_reminders(tmp_path):
    log = tmp_path / "notify_log.jsonl"
    assert cust.read_reminders(log).empty
    log.write_text(
        json.dumps({"key": "reminder:2026-10:C_1:2", "sent_at": "x", "subject": "s"})
        + "\n"
        + json.dumps({"key": "report:2026-10", "sent_at": "y"})
        + "\n"
    )
    r = cust.read_reminders(log)
    assert r.to_dict("records") == [
        {"customer_id": "C_1", "period": "2026-10", "level": 2, "sent_at": "x", "subject": "s"}
    ]
    log.write_text("not json\n")
    with pytest.raises(ValueError, match="line 1"):
        cust.read_reminders(log)


def test_promises_to_pay_of_a_customer_page():
    """test_disputes' promises at T = 2026-04-30 (grace 3 days, its docstring): per customer,
    latest promised date first: C1 P4 pending (04-29), P1 kept; C2 P5 and P2 broken; C3 P3
    broken. Broken in the 90 days up to T: all three broken ones; C2's line on the customer
    page names 2, the latest due 2026-04-08."""
    from test_disputes import _promises

    from arinsight.site.customer_page import contact_html

    promises, payments = _promises()
    p = cust.customer_promises(promises, payments, "2026-04-30", grace_days=3)
    assert p[["customer_id", "promise_id", "status", "paid"]].values.tolist() == [
        ["C1", "P4", "pending", 0.0],
        ["C1", "P1", "kept", 100.0],
        ["C2", "P5", "broken", 49.99],
        ["C2", "P2", "broken", 0.0],
        ["C3", "P3", "broken", 100.0],
    ]
    broken = cust.broken_lately(p, "2026-04-30")
    assert broken["promise_id"].tolist() == ["P5", "P2", "P3"]
    row = pd.Series({"contact_email": None}).to_frame().T.itertuples().__next__()
    html = contact_html(row, None, broken[broken["customer_id"] == "C2"])
    assert "Broke 2 promises to pay in the last 90 days (latest due 2026-04-08)" in html
    assert contact_html(row, None, None) == ""
    none = cust.customer_promises(None, payments, "2026-04-30")
    assert none.empty and list(none.columns) == cust.PROMISE_COLUMNS
