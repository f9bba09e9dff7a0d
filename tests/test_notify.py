"""Alerts, reminders, the summary e-mail and SMTP delivery (arinsight.notify).

The ledger used throughout (period 2026-10: T = 2026-10-31, T' = 2026-09-30, 31 days):

    invoice cust due         amount paid  open dpd(T) dpd(T')=dpd-31 thresholds crossed -> level
    I1      C1   2026-10-30   100    0    100    1     -30          1                   1
    I2      C1   2026-10-01   200    0    200   30      -1          1, 30               30
    I3      C2   2026-09-01   300    0    300   60      29          30, 60              60
    I4      C2   2026-07-01   400    0    400  122      91          none (91 >= 90 already)
    I5      C3   2026-11-10   500    0    500    0       -          not due
    I6      C3   2026-10-20    60   60      0    -       -          paid
    I7      C4   2026-08-02    50    0     50   90      59          60, 90              90
    I8      C4   2026-10-31    70    0     70    0       -          due on T, not past due

SMTP tests run a real aiosmtpd server on 127.0.0.1 in a thread.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import ssl
import subprocess
from email import policy
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from arinsight import monthly, notify
from arinsight.errors import ParamsError
from arinsight.notify import NotifyError, SmtpSettings

D = pd.Timestamp
PERIOD = "2026-10"
EVIL = "<b>Acme & Sons</b>"


# ------------------------------------------------------------------------------------------------
# fixtures: the ledger above, as positions and as processed files
# ------------------------------------------------------------------------------------------------


def _invoices() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "invoice_id": ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8"],
            "customer_id": ["C1", "C1", "C2", "C2", "C3", "C3", "C4", "C4"],
            "invoice_date": pd.to_datetime(
                [
                    "2026-09-30",
                    "2026-09-01",
                    "2026-08-02",
                    "2026-06-01",
                    "2026-10-11",
                    "2026-09-20",
                    "2026-07-03",
                    "2026-10-01",
                ]
            ),
            "due_date": pd.to_datetime(
                [
                    "2026-10-30",
                    "2026-10-01",
                    "2026-09-01",
                    "2026-07-01",
                    "2026-11-10",
                    "2026-10-20",
                    "2026-08-02",
                    "2026-10-31",
                ]
            ),
            "amount": [100.0, 200.0, 300.0, 400.0, 500.0, 60.0, 50.0, 70.0],
            "currency": "USD",
            "energy_kwh": float("nan"),
            "status": None,
        }
    )


def _payments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "payment_id": ["P1"],
            "invoice_id": ["I6"],
            "customer_id": ["C3"],
            "payment_date": [D("2026-10-25")],
            "amount": [60.0],
            "method": ["wire"],
        }
    )


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "customer_name": [EVIL, "Beta Ltd", "Gamma", '=HYPERLINK("http://x")'],
            "region": ["North", "South", "East", "West"],
            "industry": ["Energy"] * 4,
            "customer_type": ["B2B"] * 4,
            "credit_limit": [1000.0] * 4,
            "payment_terms_days": [30.0] * 4,
            "sales_rep_id": ["R1"] * 4,
            "contact_email": [
                "ap@acme.example.com",
                None,
                "g@gamma.example.com",
                " a@delta.example.com; ",
            ],
        }
    )


def _positions() -> pd.DataFrame:
    """The as-of table at T as invoice_positions documents it (only the columns notify reads)."""
    inv = _invoices()
    open_amount = [100.0, 200.0, 300.0, 400.0, 500.0, 0.0, 50.0, 70.0]
    dpd = [1, 30, 60, 122, 0, 0, 90, 0]
    return inv[["invoice_id", "customer_id", "invoice_date", "due_date", "amount"]].assign(
        open_amount=open_amount, days_past_due=dpd
    )


def _risk_scores() -> pd.DataFrame:
    """expected_overdue = probability_late x open_amount, per open invoice."""
    return pd.DataFrame(
        {
            "invoice_id": ["I1", "I2", "I3", "I4", "I5", "I7", "I8"],
            "customer_id": ["C1", "C1", "C2", "C2", "C3", "C4", "C4"],
            "open_amount": [100.0, 200.0, 300.0, 400.0, 500.0, 50.0, 70.0],
            "days_past_due": [1, 30, 60, 122, 0, 90, 0],
            "probability_late": [0.1, 0.1, 0.05, 0.02, 0.2, 0.9, 0.0],
            "expected_overdue": [10.0, 20.0, 15.0, 8.0, 100.0, 45.0, 0.0],
        }
    )


TEMPLATES = {1: "reminder_polite", 30: "reminder_second", 60: "reminder_firm", 90: "reminder_final"}


def _kpis() -> dict:
    return {
        "period": PERIOD,
        "region": "All",
        "as_of": "2026-10-31",
        "open_ar": 1620.0,
        "overdue_ar": 1050.0,
        "dso": 42.5,
        "cei": 80.0,
        "payment_completion_rate_amount": 85.3,
        "overdue_invoices": 5,
        "credit_sales": None,
        "aging": {"Current": 570.0, "1-30": 300.0},
        "high_risk_customers": ["C4", "C1"],
        "comparison": {
            "open_ar": {
                "previous": 1500.0,
                "change": 120.0,
                "direction": "up",
                "better": "lower",
                "assessment": "worse",
            },
            "dso": {
                "previous": 45.0,
                "change": -2.5,
                "direction": "down",
                "better": "lower",
                "assessment": "better",
            },
        },
    }


@pytest.fixture
def ledger_dirs(tmp_path: Path):
    """Processed tables of the ledger above in tmp/processed; reports go to tmp/reports."""
    processed = tmp_path / "processed"
    processed.mkdir()
    _invoices().to_parquet(processed / "invoices.parquet")
    _payments().to_parquet(processed / "payments.parquet")
    _customers().to_parquet(processed / "customers.parquet")
    reports = tmp_path / "reports"
    (reports / PERIOD / "All").mkdir(parents=True)
    (reports / PERIOD / "All" / "kpis.json").write_text(json.dumps(_kpis()), encoding="utf-8")
    return processed, reports


# ------------------------------------------------------------------------------------------------
# crossings and worklist
# ------------------------------------------------------------------------------------------------


def test_overdue_crossings_levels_by_hand():
    """From the table in the module docstring: I1 -> 1, I2 -> 30, I3 -> 60, I7 -> 90; I4 crossed 90
    before the period (dpd(T') = 91), I5/I8 are not past due, I6 is paid. Sorted by customer and
    due date, so C1's I2 (due 10-01) comes before I1 (due 10-30)."""
    out = notify.overdue_crossings(_positions(), PERIOD, [1, 30, 60, 90])
    assert out["invoice_id"].tolist() == ["I2", "I1", "I3", "I7"]
    assert out["level"].tolist() == [30, 1, 60, 90]
    assert out["days_past_due_previous"].tolist() == [-1, -30, 29, 59]


def test_overdue_crossings_single_threshold_and_quarter():
    """Threshold 60 only, quarter 2026-Q4 ends 2026-12-31 (92 days): positions at T with
    dpd 61 (prev -31: crossed) and 200 (prev 108: already past) -> only the first."""
    pos = pd.DataFrame(
        {
            "invoice_id": ["A", "B"],
            "customer_id": ["X", "X"],
            "due_date": pd.to_datetime(["2026-10-31", "2026-06-14"]),
            "open_amount": [10.0, 20.0],
            "days_past_due": [61, 200],
        }
    )
    out = notify.overdue_crossings(pos, "2026-Q4", [60])
    assert out["invoice_id"].tolist() == ["A"]
    assert out["days_past_due_previous"].tolist() == [61 - 92]


def test_overdue_crossings_errors():
    with pytest.raises(ParamsError, match="thresholds"):
        notify.overdue_crossings(_positions(), PERIOD, [0, 30])
    with pytest.raises(ParamsError, match="days_past_due"):
        notify.overdue_crossings(_positions().drop(columns="days_past_due"), PERIOD)


def test_collections_worklist_without_risk_orders_by_amount_x_days():
    """amount_x_days over each customer's overdue invoices:
    C2 = 300*60 + 400*122 = 66,800; C1 = 100*1 + 200*30 = 6,100; C4 = 50*90 = 4,500.
    C1 level 30 (max of 1, 30), 2 crossed invoices for 300; C2 crossed only I3 (300) but owes 700
    overdue, oldest 122 days; C4 level 90. C2 has no e-mail, C4's spaces and trailing ';' are ignored."""
    pos = _positions()
    cross = notify.overdue_crossings(pos, PERIOD)
    wl = notify.collections_worklist(pos, cross, _customers(), None, TEMPLATES)
    assert wl["customer_id"].tolist() == ["C2", "C1", "C4"]
    assert wl["rank"].tolist() == [1, 2, 3]
    assert wl["amount_x_days"].tolist() == [66800.0, 6100.0, 4500.0]
    assert wl["level"].tolist() == [60, 30, 90]
    assert wl["crossed_invoices"].tolist() == [1, 2, 1]
    assert wl["crossed_amount"].tolist() == [300.0, 300.0, 50.0]
    assert wl["crossed_invoice_ids"].tolist() == ["I3", "I1; I2", "I7"]
    assert wl["overdue_amount"].tolist() == [700.0, 300.0, 50.0]
    assert wl["max_days_past_due"].tolist() == [122, 30, 90]
    assert wl["email_to"].tolist() == ["", "ap@acme.example.com", "a@delta.example.com"]
    assert wl["reminder"].tolist() == ["no contact e-mail", "reminder_second", "reminder_final"]
    assert wl["expected_loss"].isna().all()
    assert set(wl["priority_basis"]) == {"amount_x_days"}


def test_collections_worklist_with_risk_orders_by_expected_loss():
    """expected_loss = sum of expected_overdue over the customer's scored invoices:
    C4 = 45 + 0 = 45; C1 = 10 + 20 = 30; C2 = 15 + 8 = 23 -> order C4, C1, C2
    (the reverse of the amount x days order)."""
    pos = _positions()
    cross = notify.overdue_crossings(pos, PERIOD)
    wl = notify.collections_worklist(pos, cross, _customers(), _risk_scores(), TEMPLATES)
    assert wl["customer_id"].tolist() == ["C4", "C1", "C2"]
    assert wl["expected_loss"].tolist() == [45.0, 30.0, 23.0]
    assert set(wl["priority_basis"]) == {"expected_loss"}


def test_a_broken_promise_raises_the_customer_in_the_worklist():
    """Without risk scores the basis is amount x days: C2 66,800, C1 6,100, C4 4,500. C4 broke
    one promise to pay in the last 90 days: priority 4,500 x 2 = 9,000 puts it before C1. Ten
    broken promises of C1: 6,100 x 11 = 67,100, before C2 (no broken promise: 66,800)."""
    pos = _positions()
    cross = notify.overdue_crossings(pos, PERIOD)
    one = pd.Series({"C4": 1})
    wl = notify.collections_worklist(pos, cross, _customers(), None, TEMPLATES, one)
    assert wl["customer_id"].tolist() == ["C2", "C4", "C1"]
    assert wl["broken_promises_90d"].tolist() == [0, 1, 0]
    assert wl["priority"].tolist() == [66800.0, 9000.0, 6100.0]
    assert wl["rank"].tolist() == [1, 2, 3]
    ten = pd.Series({"C1": 10})
    wl = notify.collections_worklist(pos, cross, _customers(), None, TEMPLATES, ten)
    assert wl["customer_id"].tolist() == ["C1", "C2", "C4"]
    assert wl["priority"].tolist() == [67100.0, 66800.0, 4500.0]
    # with risk scores the expected loss is the basis: C4 45, C1 30, C2 23; C2's one broken
    # promise makes it 46, first
    wl = notify.collections_worklist(
        pos, cross, _customers(), _risk_scores(), TEMPLATES, pd.Series({"C2": 1})
    )
    assert wl["customer_id"].tolist() == ["C2", "C4", "C1"]


def test_collections_worklist_errors():
    pos = _positions()
    cross = notify.overdue_crossings(pos, PERIOD)
    with pytest.raises(ParamsError, match="expected_overdue"):
        notify.collections_worklist(
            pos, cross, _customers(), _risk_scores().drop(columns="expected_overdue")
        )
    with pytest.raises(ParamsError, match=r"no template for threshold\(s\) \[90\]"):
        notify.collections_worklist(pos, cross, _customers(), None, {1: "a", 30: "b", 60: "c"})


def test_top_overdue_customers_by_hand():
    """Overdue at T: C2 = 300 + 400 = 700 (2 invoices, oldest 122), C1 = 100 + 200 = 300, C4 = 50;
    C3 has nothing past due. Top 2 -> C2, C1."""
    top = notify.top_overdue_customers(_positions(), _customers(), top_n=2)
    assert top["customer_id"].tolist() == ["C2", "C1"]
    assert top["overdue_amount"].tolist() == [700.0, 300.0]
    assert top["overdue_invoices"].tolist() == [2, 2]
    assert top["max_days_past_due"].tolist() == [122, 30]
    assert top["customer_name"].tolist() == ["Beta Ltd", EVIL]
    with pytest.raises(ParamsError, match="top_n"):
        notify.top_overdue_customers(_positions(), _customers(), top_n=0)


def test_high_risk_customers_by_hand():
    """kpis lists C4, C1 (in that order). C4: expected 45 + 0 = 45, open 50 + 70 = 120, max p 0.9;
    C1: expected 30, open 300, max p 0.1. Without the kpis key: top 2 by expected overdue =
    C3 (100), C4 (45)."""
    out = notify.high_risk_customers(_kpis(), _risk_scores(), _customers())
    assert out["customer_id"].tolist() == ["C4", "C1"]
    assert out["expected_overdue"].tolist() == [45.0, 30.0]
    assert out["open_amount"].tolist() == [120.0, 300.0]
    assert out["max_probability"].tolist() == [0.9, 0.1]
    fallback = notify.high_risk_customers({}, _risk_scores(), _customers(), top_n=2)
    assert fallback["customer_id"].tolist() == ["C3", "C4"]
    with pytest.raises(ParamsError, match="must be a list"):
        notify.high_risk_customers({"high_risk_customers": "C4"}, None, _customers())


def test_kpi_table_changes_and_units():
    """open_ar change given (+120, worse); dso given (-2.5, better); cei has no comparison: change
    null; credit_sales null stays null (n/a); aging buckets become aging[...] rows."""
    table = notify.kpi_table(_kpis()).set_index("kpi")
    assert table.loc["open_ar", "change"] == 120.0
    assert table.loc["open_ar", "assessment"] == "worse"
    assert table.loc["dso", "direction"] == "down"
    assert table.loc["cei", "unit"] == "percent"
    assert pd.isna(table.loc["cei", "change"])
    assert pd.isna(table.loc["credit_sales", "value"])
    assert table.loc["aging[1-30]", "value"] == 300.0
    assert "high_risk_customers" not in table.index and "period" not in table.index
    with pytest.raises(ParamsError):
        notify.kpi_table(["not", "a", "mapping"])


def test_kpi_table_computes_change_when_comparison_lacks_it():
    """previous 10, value 12, no change given -> change 2, direction up."""
    table = notify.kpi_table({"dso": 12.0, "comparison": {"dso": {"previous": 10.0}}})
    row = table.set_index("kpi").loc["dso"]
    assert row["change"] == 2.0 and row["direction"] == "up"


# ------------------------------------------------------------------------------------------------
# composing
# ------------------------------------------------------------------------------------------------


def _parts(msg) -> dict[str, str]:
    return {
        "text": msg.get_body(("plain",)).get_content(),
        "html": msg.get_body(("html",)).get_content(),
    }


def test_compose_reminder_escapes_names_and_lists_overdue_invoices():
    """C1 owes I2 (due 2026-10-01, 200, 30 days) and I1 (due 2026-10-30, 100, 1 day): total 300.
    The name '<b>Acme & Sons</b>' must appear escaped in HTML and verbatim in the text part."""
    overdue = _positions().query("customer_id == 'C1'")
    customer = {"customer_id": "C1", "customer_name": EVIL, "email_to": "ap@acme.example.com"}
    msg = notify.compose_reminder(
        customer,
        overdue,
        period=PERIOD,
        level=30,
        template="reminder_second",
        mail_from="ar@example.com",
        currency="USD",
    )
    parts = _parts(msg)
    assert msg["To"] == "ap@acme.example.com"
    assert msg["Subject"] == "Second reminder: $300.00 overdue for more than 30 days"
    assert msg[notify.KEY_HEADER] == "reminder:2026-10:C1:30"
    assert "&lt;b&gt;Acme &amp; Sons&lt;/b&gt;" in parts["html"]
    assert EVIL not in parts["html"]
    assert f"Dear {EVIL}," in parts["text"]
    assert parts["html"].index("I2") < parts["html"].index("I1")  # by due date
    assert "$200.00" in parts["html"] and "$300.00" in parts["text"]  # en_US without a profile


def test_compose_reminder_without_address_fails():
    with pytest.raises(NotifyError, match="no valid contact"):
        notify.compose_reminder(
            {"customer_id": "C2", "customer_name": "Beta", "email_to": ""},
            _positions().query("customer_id == 'C2'"),
            period=PERIOD,
            level=60,
            template="reminder_firm",
            mail_from="ar@example.com",
        )


def test_user_template_dir_wins(tmp_path: Path):
    """A copy of reminder_polite.subject.txt in the user's folder replaces the package's."""
    (tmp_path / "reminder_polite.subject.txt").write_text(
        "Hello {{ customer_name }}", encoding="utf-8"
    )
    env = notify.template_environment(tmp_path)
    msg = notify.compose_reminder(
        {"customer_id": "C1", "customer_name": "Acme", "email_to": "a@b.example.com"},
        _positions().query("invoice_id == 'I1'"),
        period=PERIOD,
        level=1,
        template="reminder_polite",
        mail_from="ar@example.com",
        env=env,
    )
    assert msg["Subject"] == "Hello Acme"
    with pytest.raises(ParamsError, match="not found"):
        notify.template_environment(tmp_path / "missing")


def test_the_report_carries_its_aging_chart_inside_the_message():
    """Aging at T: Current 1,000, 1-30 600, 31-60 0, 120+ 20 (keys in any order). The HTML part
    shows a PNG (seaborn) embedded as a related part and referenced by cid: (no URL to fetch),
    with the amounts in its alt text, which the plain-text part repeats; the same report gives
    the same bytes. Nothing open: no chart."""
    kpis = {**_kpis(), "aging": {"120+": 20.0, "31-60": 0.0, "Current": 1000.0, "1-30": 600.0}}

    def compose(k):
        return notify.compose_report(
            k, top_overdue=pd.DataFrame(), high_risk=pd.DataFrame(),
            stakeholders=["cfo@example.com"], mail_from="ar@example.com",
        )  # fmt: skip

    msg = compose(kpis)
    related = msg.get_body(("related",))
    images = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == "<aging.2026-10.All@arinsight>"
    assert images[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    alt = "Open AR by days past due: Current $1.0k, 1-30 $600, 31-60 $0, 120+ $20"
    body = msg.get_body(("html",)).get_content()
    assert 'src="cid:aging.2026-10.All@arinsight"' in body and f'alt="{alt}"' in body
    assert "http" not in body.split('src="')[1][:10]
    assert alt in msg.get_body(("plain",)).get_content()
    assert images[0].get_content() == _png_of(compose(kpis))
    nothing = compose({**kpis, "aging": {"Current": 0.0, "1-30": None}})
    assert "cid:" not in nothing.get_body(("html",)).get_content()


def _png_of(msg):
    return next(
        p for p in msg.get_body(("related",)).iter_parts() if p.get_content_type() == "image/png"
    ).get_content()


def test_compose_report_cards_tables_and_attachment():
    """Cards: open_ar USD 1,620.00 with '+USD 120.00' (worse), dso 42.5 days '-2.5 days' (better),
    payment completion 85.3% (kpis hold percent). The CSV attachment has the kpi table."""
    top = notify.top_overdue_customers(_positions(), _customers(), 3)
    high = notify.high_risk_customers(_kpis(), _risk_scores(), _customers())
    msg = notify.compose_report(
        _kpis(),
        top_overdue=top,
        high_risk=high,
        stakeholders=["cfo@example.com", "team@example.com"],
        mail_from="ar@example.com",
        site_url="https://reports.example.com/arinsight/",
    )
    parts = _parts(msg)
    assert (
        msg["Subject"]
        == "[arinsight] Receivables report 2026-10: open AR USD 1,620.00, DSO 42.5 days"
    )
    assert msg["To"] == "cfo@example.com, team@example.com"
    for text in (
        "USD 1,620.00",
        "+USD 120.00",
        "-2.5 days",
        "85.3%",
        "https://reports.example.com/arinsight/",
    ):
        assert text in parts["html"] and text in parts["text"]
    assert "&lt;b&gt;Acme &amp; Sons&lt;/b&gt;" in parts["html"] and EVIL not in parts["html"]
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["arinsight_kpis_2026-10.csv"]
    csv_text = attachments[0].get_content()
    csv_text = csv_text.decode() if isinstance(csv_text, bytes) else csv_text
    assert csv_text.splitlines()[0] == "kpi,label,unit,value,previous,change,direction,assessment"
    assert "open_ar,Open AR (end),money,1620.0,1500.0,120.0,up,worse" in csv_text
    with pytest.raises(ParamsError, match="stakeholders"):
        notify.compose_report(
            _kpis(),
            top_overdue=top,
            high_risk=high,
            stakeholders=["nobody"],
            mail_from="a@b.example.com",
        )


def test_parse_addresses_and_previous_month():
    assert notify.parse_addresses("a@x.example.com; b@y.example.com,c@z.example.com") == [
        "a@x.example.com",
        "b@y.example.com",
        "c@z.example.com",
    ]
    # a line break (header injection) or any part that is not one plain address: nothing at all
    assert notify.parse_addresses("evil@x.example.com\r\nBcc: v@y.example.com") == []
    assert notify.parse_addresses("bad; a@delta.example.com") == []
    assert notify.parse_addresses(None) == [] and notify.parse_addresses("no address") == []
    assert monthly.previous_month(dt.date(2026, 11, 2)) == "2026-10"
    assert monthly.previous_month(dt.date(2026, 1, 31)) == "2025-12"


def test_smtp_settings_from_env():
    env = {"ARINSIGHT_SMTP_HOST": "mail.example.com", "ARINSIGHT_MAIL_FROM": "AR <ar@example.com>"}
    s = notify.smtp_settings_from_env(env)
    assert (s.port, s.security, s.user) == (587, "starttls", None)
    assert notify.smtp_settings_from_env({**env, "ARINSIGHT_SMTP_SECURITY": "ssl"}).port == 465
    assert notify.smtp_settings_from_env({**env, "ARINSIGHT_SMTP_SECURITY": "none"}).port == 25
    assert "secret" not in repr(
        notify.smtp_settings_from_env(
            {**env, "ARINSIGHT_SMTP_USER": "u", "ARINSIGHT_SMTP_PASSWORD": "secret"}
        )
    )
    with pytest.raises(NotifyError, match="ARINSIGHT_SMTP_HOST"):
        notify.smtp_settings_from_env({})
    with pytest.raises(NotifyError, match="starttls"):
        notify.smtp_settings_from_env({**env, "ARINSIGHT_SMTP_SECURITY": "tls"})
    with pytest.raises(NotifyError, match="together"):
        notify.smtp_settings_from_env({**env, "ARINSIGHT_SMTP_USER": "u"})
    with pytest.raises(NotifyError, match="ARINSIGHT_MAIL_FROM"):
        notify.smtp_settings_from_env({"ARINSIGHT_SMTP_HOST": "h"})


# ------------------------------------------------------------------------------------------------
# a real SMTP server (aiosmtpd) on 127.0.0.1
# ------------------------------------------------------------------------------------------------


class _Sink:
    """Keeps every accepted message; refuses recipients whose address starts with 'refuse'."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], object]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = BytesParser(policy=policy.default).parsebytes(
            envelope.original_content or envelope.content
        )
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"clerk",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@pytest.fixture
def smtp_server():
    """Start aiosmtpd servers on 127.0.0.1; yields a factory returning (sink, port)."""
    from aiosmtpd.controller import Controller

    controllers = []

    def start(port: int | None = None, **kwargs):
        sink = _Sink()
        controller = Controller(sink, hostname="127.0.0.1", port=port or _free_port(), **kwargs)
        controller.start()
        controllers.append(controller)
        return sink, controller.port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (openssl CLI; `cryptography` is not installed)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not found: cannot create a certificate for the STARTTLS/SSL tests")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    return cert, server_ctx


def _env(port: int, security: str = "none", **extra) -> dict[str, str]:
    return {
        "ARINSIGHT_SMTP_HOST": "127.0.0.1",
        "ARINSIGHT_SMTP_PORT": str(port),
        "ARINSIGHT_SMTP_SECURITY": security,
        "ARINSIGHT_MAIL_FROM": "AR Team <ar@example.com>",
        "ARINSIGHT_SMTP_TIMEOUT": "5",
        **extra,
    }


def _settings(port: int, security: str = "none", **extra) -> SmtpSettings:
    return notify.smtp_settings_from_env(_env(port, security, **extra))


def _reminder_message(customer_id="C1", email="ap@acme.example.com"):
    return notify.compose_reminder(
        {"customer_id": customer_id, "customer_name": EVIL, "email_to": email},
        _positions().query("customer_id == 'C1'"),
        period=PERIOD,
        level=30,
        template="reminder_second",
        mail_from="AR Team <ar@example.com>",
    )


def test_run_alerts_and_report_arrive_over_smtp(smtp_server, ledger_dirs, capsys):
    """alerts: C1 (ap@acme) and C4 (a@delta) get reminders, C2 has no address -> 2 messages; both
    start their dunning case at level 1 (polite), whatever their days past due.
    email-report: one message to the two stakeholders of the defaults, with the CSV attached."""
    processed, reports = ledger_dirs
    sink, port = smtp_server()
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": _env(port)}
    assert notify.run_alerts(PERIOD, **kw) == 0
    assert notify.run_email_report(PERIOD, **kw) == 0

    by_to = {tuple(rcpt): (mail_from, msg) for mail_from, rcpt, msg in sink.messages}
    assert set(by_to) == {
        ("ap@acme.example.com",),
        ("a@delta.example.com",),
        ("finance-team@example.com", "controller@example.com"),
    }
    mail_from, acme = by_to[("ap@acme.example.com",)]
    assert mail_from == "ar@example.com"
    assert acme["Subject"] == "Friendly reminder: 2 invoices past due ($300.00)"
    assert acme["Date"] is not None and acme["Message-ID"] is not None
    html = acme.get_body(("html",)).get_content()
    assert "&lt;b&gt;Acme &amp; Sons&lt;/b&gt;" in html and EVIL not in html
    assert f"Dear {EVIL}," in acme.get_body(("plain",)).get_content()
    _, delta = by_to[("a@delta.example.com",)]
    assert delta["Subject"] == "Friendly reminder: 1 invoice past due ($50.00)"
    _, report = by_to[("finance-team@example.com", "controller@example.com")]
    assert report["Subject"].startswith("[arinsight] Receivables report 2026-10")
    assert report.get_body(("plain",)) is not None and report.get_body(("html",)) is not None
    assert [a.get_filename() for a in report.iter_attachments()] == ["arinsight_kpis_2026-10.csv"]

    outbox = reports / PERIOD / "outbox"
    assert sorted(p.name for p in outbox.glob("*.eml")) == []
    assert sorted(p.name for p in (outbox / "sent").glob("*.eml")) == [
        "reminder_2026-10_C1_1.eml",
        "reminder_2026-10_C4_1.eml",
        "report_2026-10.eml",
    ]
    log = [json.loads(x) for x in (reports / "notify_log.jsonl").read_text().splitlines()]
    assert sorted(r["key"] for r in log) == [
        "reminder:2026-10:C1:1",
        "reminder:2026-10:C4:1",
        "report:2026-10:All",
    ]

    # worklist files: CSV and Excel, the formula-looking name is neutralised in both
    worklist = pd.read_csv(reports / PERIOD / "alerts" / "collections_worklist.csv")
    assert worklist["customer_id"].tolist() == ["C2", "C1", "C4"]
    sheet = openpyxl.load_workbook(reports / PERIOD / "alerts" / "collections_worklist.xlsx")[
        "worklist"
    ]
    names = {row[1]: row[2] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert names["C4"] == '\'=HYPERLINK("http://x")'  # neutralised (OWASP), as in the CSV
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_second_run_sends_no_duplicates_unless_forced(smtp_server, ledger_dirs):
    """Run 1 sends 2 reminders; run 2 for the same period sends none (send log); --force sends
    both again (2 + 0 + 2 = 4 received)."""
    processed, reports = ledger_dirs
    sink, port = smtp_server()
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": _env(port)}
    assert notify.run_alerts(PERIOD, **kw) == 0
    assert len(sink.messages) == 2
    assert notify.run_alerts(PERIOD, **kw) == 0
    assert len(sink.messages) == 2
    assert notify.run_alerts(PERIOD, dry_run=True, **kw) == 0  # dry run respects the log too
    assert list((reports / PERIOD / "outbox").glob("*.eml")) == []
    assert notify.run_alerts(PERIOD, force=True, **kw) == 0
    assert len(sink.messages) == 4
    assert notify.run_email_report(PERIOD, **kw) == 0
    assert notify.run_email_report(PERIOD, **kw) == 0
    assert len(sink.messages) == 5


def test_dry_run_writes_eml_files_without_smtp_settings(ledger_dirs):
    """No SMTP variables at all: the dry run writes 2 reminders + 1 report and logs nothing."""
    processed, reports = ledger_dirs
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": {}}
    assert notify.run_alerts(PERIOD, dry_run=True, **kw) == 0
    assert notify.run_email_report(PERIOD, dry_run=True, **kw) == 0
    outbox = reports / PERIOD / "outbox"
    assert sorted(p.name for p in outbox.glob("*.eml")) == [
        "reminder_2026-10_C1_1.eml",
        "reminder_2026-10_C4_1.eml",
        "report_2026-10.eml",
    ]
    first = (outbox / "reminder_2026-10_C1_1.eml").read_bytes()
    assert b"Date:" not in first  # reproducible: a second dry run writes the same bytes
    assert notify.run_alerts(PERIOD, dry_run=True, **kw) == 0
    assert (outbox / "reminder_2026-10_C1_1.eml").read_bytes() == first
    assert not (reports / "notify_log.jsonl").exists()
    with pytest.raises(NotifyError, match="ARINSIGHT_SMTP_HOST"):
        notify.run_alerts(PERIOD, **kw)


def test_unreachable_server_loses_nothing_and_retry_sends(smtp_server, ledger_dirs):
    """Nothing listens on the port: a clear error, the 2 reminders stay in the outbox, nothing is
    logged. Once a server listens there, the same command sends both."""
    processed, reports = ledger_dirs
    port = _free_port()
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": _env(port)}
    with pytest.raises(NotifyError, match=r"cannot reach SMTP server 127\.0\.0\.1.*stay in"):
        notify.run_alerts(PERIOD, **kw)
    outbox = reports / PERIOD / "outbox"
    assert len(list(outbox.glob("*.eml"))) == 2
    assert not (reports / "notify_log.jsonl").exists()
    sink, _ = smtp_server(port=port)
    assert notify.run_alerts(PERIOD, **kw) == 0
    assert len(sink.messages) == 2
    assert list(outbox.glob("*.eml")) == []


def test_refused_recipient_stays_in_outbox(smtp_server, tmp_path: Path):
    """Of two messages, the one to refuse@... is rejected (550): it stays, the other is sent."""
    sink, port = smtp_server()
    paths = notify.write_outbox(
        [("ok", _reminder_message()), ("bad", _reminder_message("C9", "refuse@example.com"))],
        tmp_path / "outbox",
    )
    report = notify.send_outbox(paths, _settings(port), tmp_path / "log.jsonl")
    assert [p.name for p in report.sent] == ["ok.eml"]
    assert list(report.failed) == [tmp_path / "outbox" / "bad.eml"]
    assert "550" in report.failed[tmp_path / "outbox" / "bad.eml"]
    assert (tmp_path / "outbox" / "bad.eml").exists()
    assert notify.read_send_log(tmp_path / "log.jsonl") == {"reminder:2026-10:C1:30"}


def test_starttls_with_auth(smtp_server, tls_files, tmp_path: Path):
    """The server requires STARTTLS and AUTH (aiosmtpd offers AUTH only after STARTTLS): the
    right password delivers, a wrong one gives a clear error and the message stays."""
    cert, server_ctx = tls_files
    sink, port = smtp_server(
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    outbox = tmp_path / "outbox"
    bad = _settings(
        port,
        "starttls",
        ARINSIGHT_SMTP_USER="clerk",
        ARINSIGHT_SMTP_PASSWORD="wrong",
        ARINSIGHT_SMTP_CAFILE=str(cert),
    )
    paths = notify.write_outbox([("m", _reminder_message())], outbox)
    with pytest.raises(NotifyError, match="login refused for user 'clerk'"):
        notify.send_outbox(paths, bad, tmp_path / "log.jsonl")
    assert paths[0].exists() and sink.messages == []
    good = _settings(
        port,
        "starttls",
        ARINSIGHT_SMTP_USER="clerk",
        ARINSIGHT_SMTP_PASSWORD="s3cret",
        ARINSIGHT_SMTP_CAFILE=str(cert),
    )
    report = notify.send_outbox(paths, good, tmp_path / "log.jsonl")
    assert len(report.sent) == 1 and len(sink.messages) == 1
    assert sink.messages[0][1] == ["ap@acme.example.com"]


def test_starttls_untrusted_certificate_and_missing_starttls(
    smtp_server, tls_files, tmp_path: Path
):
    """Without the CA file the self-signed certificate is rejected; a server without STARTTLS is
    refused when starttls is asked for (never falls back to plain text)."""
    _, server_ctx = tls_files
    _, tls_port = smtp_server(tls_context=server_ctx)
    paths = notify.write_outbox([("m", _reminder_message())], tmp_path / "outbox")
    with pytest.raises(NotifyError, match="certificate not trusted"):
        notify.send_outbox(paths, _settings(tls_port, "starttls"), tmp_path / "log.jsonl")
    _, plain_port = smtp_server()
    with pytest.raises(NotifyError, match="does not offer STARTTLS"):
        notify.send_outbox(paths, _settings(plain_port, "starttls"), tmp_path / "log.jsonl")
    assert paths[0].exists()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_implicit_ssl_with_auth(smtp_server, tls_files, tmp_path: Path):
    """SMTP over TLS from the first byte (port 465 style) with AUTH. aiosmtpd only counts
    STARTTLS as TLS for its AUTH rule, so auth_require_tls=False is needed here although the
    whole connection is encrypted (its warning about that is silenced)."""
    cert, server_ctx = tls_files
    sink, port = smtp_server(
        ssl_context=server_ctx,
        authenticator=_authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    settings = _settings(
        port,
        "ssl",
        ARINSIGHT_SMTP_USER="clerk",
        ARINSIGHT_SMTP_PASSWORD="s3cret",
        ARINSIGHT_SMTP_CAFILE=str(cert),
    )
    paths = notify.write_outbox([("m", _reminder_message())], tmp_path / "outbox")
    report = notify.send_outbox(paths, settings, tmp_path / "log.jsonl")
    assert len(report.sent) == 1 and len(sink.messages) == 1


def test_run_email_report_needs_kpis(tmp_path: Path):
    with pytest.raises(Exception, match="kpis.json: not found"):
        notify.run_email_report(
            PERIOD, dry_run=True, processed_dir=tmp_path, reports_dir=tmp_path, environ={}
        )


def test_run_alerts_needs_processed_invoices(tmp_path: Path):
    with pytest.raises(Exception, match="no processed invoices"):
        notify.run_alerts(
            PERIOD, dry_run=True, processed_dir=tmp_path, reports_dir=tmp_path, environ={}
        )


def test_read_send_log_rejects_a_corrupt_line(tmp_path: Path):
    log = tmp_path / "log.jsonl"
    log.write_text('{"key": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(NotifyError, match="line 2"):
        notify.read_send_log(log)


def test_run_monthly_stops_when_the_run_fails(monkeypatch):
    """The chain: run failed (exit 1) -> no alerts, no e-mail, exit 1; run ok -> both called for
    the previous month of 2026-11-02 = 2026-10."""
    import types

    calls = []
    fake = types.ModuleType("arinsight.runs")
    fake.run_period = lambda **kw: calls.append(("run", kw["period"])) or status["run"]
    monkeypatch.setitem(__import__("sys").modules, "arinsight.runs", fake)
    monkeypatch.setattr(notify, "run_alerts", lambda p, **kw: calls.append(("alerts", p)) or 0)
    monkeypatch.setattr(notify, "run_email_report", lambda p, **kw: calls.append(("email", p)) or 0)
    status = {"run": 1}
    assert monthly.run_monthly(today=dt.date(2026, 11, 2)) == 1
    assert calls == [("run", "2026-10")]
    calls.clear()
    status["run"] = 0
    assert monthly.run_monthly(today=dt.date(2026, 11, 2)) == 0
    assert calls == [("run", "2026-10"), ("alerts", "2026-10"), ("email", "2026-10")]
    # with the site: built after the alerts (its customer pages show the period's reminders)
    # and before the e-mail that links to it
    site = types.ModuleType("arinsight.site")
    site.build_site = lambda: calls.append(("site", None))
    monkeypatch.setitem(__import__("sys").modules, "arinsight.site", site)
    calls.clear()
    assert monthly.run_monthly(today=dt.date(2026, 11, 2), site=True) == 0
    assert calls == [("run", "2026-10"), ("alerts", "2026-10"), ("site", None),
                     ("email", "2026-10")]  # fmt: skip
    with pytest.raises(ValueError):
        monthly.run_monthly("2026-13")


# ------------------------------------------------------------------------------------------------
# reminders that get paid: the company profile, the dunning sequence, matched and disputed invoices
# ------------------------------------------------------------------------------------------------

COMPANY = {
    "name": "Acme Power Ltd",
    "address": ["Hauptstrasse 1", "10115 Berlin"],
    "reply_to": "collections@acme-power.example.com",
    "phone": "+49 30 1234567",
    "bank": {
        "account_holder": "Acme Power Ltd",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
    },
    "pay_link": "https://pay.example.com/{customer_id}/{invoice_id}?amount={amount}&ccy={currency}",
    "signature": ["Jana Schulz", "Accounts Receivable"],
    "locale": "de_DE",
}


@pytest.fixture
def dunning_dirs(tmp_path: Path):
    """A ledger over three month ends (T = 10-31, 11-30, 12-31), nothing paid in the data:

    invoice cust  due         amount  days past due at T (Oct, Nov, Dec)  what happens
    D1      C1    2026-09-30   500    31, 61, 92                          polite, firm, final
    D2      C2    2026-10-20   300    11, ...                             matched by cash application
    D3      C3    2026-10-10   200    21, ...                             in dispute
    D4      C4    2026-10-15   100    16, 46, 77                          e-mail refused every month

    The cash-application ledger applied 300 to D2 on 2026-10-25; disputes.csv lists D3.
    """
    processed = tmp_path / "processed"
    processed.mkdir()
    inv = pd.DataFrame(
        {
            "invoice_id": ["D1", "D2", "D3", "D4"],
            "customer_id": ["C1", "C2", "C3", "C4"],
            "invoice_date": pd.to_datetime(
                ["2026-08-31", "2026-09-20", "2026-09-10", "2026-09-15"]
            ),
            "due_date": pd.to_datetime(["2026-09-30", "2026-10-20", "2026-10-10", "2026-10-15"]),
            "amount": [500.0, 300.0, 200.0, 100.0],
            "currency": "EUR",
            "energy_kwh": float("nan"),
            "status": None,
        }
    )
    inv.to_parquet(processed / "invoices.parquet")
    _payments().iloc[0:0].to_parquet(processed / "payments.parquet")
    cust = (
        _customers()
        .iloc[:4]
        .assign(
            customer_name=["Alpha GmbH", "Beta AG", "Gamma KG", "Delta SE"],
            contact_email=[
                "ap@alpha.example.com",
                "ap@beta.example.com",
                "ap@gamma.example.com",
                "refuse@delta.example.com",
            ],
        )
    )
    cust.to_parquet(processed / "customers.parquet")
    (tmp_path / "disputes.csv").write_text("Invoice,Why\nD3,price disagreement\n")
    (tmp_path / "sources.yaml").write_text(
        "sources: {}\ndisputes:\n  kind: csv\n  path: disputes.csv\n"
        "  columns: {invoice_id: Invoice, reason: Why}\n"
    )
    ledger = tmp_path / "cash" / "cash_ledger.jsonl"
    ledger.parent.mkdir()
    ledger.write_text(
        json.dumps(
            {
                "line_id": "ACC:1",
                "customer_id": "C2",
                "payments": [
                    {
                        "payment_id": "BNK-1",
                        "invoice_id": "D2",
                        "customer_id": "C2",
                        "payment_date": "2026-10-25",
                        "amount": 300.0,
                        "method": "Bank Transfer",
                    }
                ],
            }
        )
        + "\n"
    )
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "sources": str(tmp_path / "sources.yaml"),
                "reporting_currency": "EUR",
                "cash_application": {"ledger": str(ledger)},
                "company": COMPANY,
                "email": {"region_owners": {"North": ["north-lead@example.com"]}},
            }
        )
    )
    return processed, tmp_path / "reports", params


def test_dunning_sequence_over_three_monthly_runs(smtp_server, dunning_dirs):
    """Oct: C1 polite (new case); Nov: C1 firm (polite was sent, D1 still open, 61 >= 30 days);
    Dec: C1 final (61 -> 92 >= 60); de_DE money, subjects on one line (no-break space as space). D2 (matched) and D3 (disputed) never get a reminder. C4's
    e-mail is refused every month, so C4 never leaves level 1 (a level counts only once sent).
    A fourth run (Jan) sends C1 nothing more: the plan says escalate."""
    processed, reports, params = dunning_dirs
    sink, port = smtp_server()
    kw = {
        "processed_dir": processed,
        "reports_dir": reports,
        "environ": _env(port),
        "params_files": [params],
    }
    subjects = {}
    for period in ("2026-10", "2026-11", "2026-12", "2027-01"):
        before = len(sink.messages)
        assert notify.run_alerts(period, **kw) == 1  # C4's address is refused: exit 1
        subjects[period] = [(rcpt[0], msg["Subject"]) for _, rcpt, msg in sink.messages[before:]]
    assert subjects == {
        "2026-10": [("ap@alpha.example.com", "Friendly reminder: 1 invoice past due (500,00 €)")],
        "2026-11": [("ap@alpha.example.com", "Urgent: payment of 500,00 € is 30+ days overdue")],
        "2026-12": [
            ("ap@alpha.example.com", "Final notice: 500,00 € overdue for more than 60 days")
        ],
        "2027-01": [],
    }
    kept = sorted(p.name for p in (reports / "2026-12" / "outbox").glob("*.eml"))
    assert kept == ["reminder_2026-12_C4_1.eml"]  # refused, still level 1 after three months
    plan = pd.read_csv(reports / "2027-01" / "alerts" / "dunning_plan.csv").set_index("customer_id")
    assert plan.loc["C1", "action"] == "escalate" and plan.loc["C1", "level"] == 3
    assert set(plan.index) == {"C1", "C4"}  # D2 matched, D3 disputed: not in the plan
    # the disputes are published with their customer for the site's customer pages
    disputes = pd.read_csv(reports / "2026-10" / "alerts" / "disputes.csv", dtype=str)
    assert disputes.fillna("").to_dict("records") == [
        {"invoice_id": "D3", "customer_id": "C3", "reason": "price disagreement", "opened_date": ""}
    ]
    log = [json.loads(x) for x in (reports / "notify_log.jsonl").read_text().splitlines()]
    assert [(r["key"], r["level"], r["invoices"]) for r in log] == [
        ("reminder:2026-10:C1:1", 1, ["D1"]),
        ("reminder:2026-11:C1:2", 2, ["D1"]),
        ("reminder:2026-12:C1:3", 3, ["D1"]),
    ]


def test_reminder_carries_the_company_profile_and_a_statement(smtp_server, dunning_dirs):
    """The October reminder to C1: sender name, Reply-To, address, phone, IBAN/BIC, the pay link
    with the invoice, the signature, German dates and money, the statement attached."""
    processed, reports, params = dunning_dirs
    sink, port = smtp_server()
    kw = {
        "processed_dir": processed,
        "reports_dir": reports,
        "environ": _env(port),
        "params_files": [params],
    }
    notify.run_alerts("2026-10", **kw)
    ((_, _, msg),) = [m for m in sink.messages if m[1] == ["ap@alpha.example.com"]]
    assert msg["From"] == "AR Team <ar@example.com>"  # the environment's display name wins
    assert msg["Reply-To"] == "collections@acme-power.example.com"
    text, html = _parts(msg)["text"], _parts(msg)["html"]
    for part in (text, html):
        for field in (
            "Acme Power Ltd",
            "Hauptstrasse 1",
            "10115 Berlin",
            "+49 30 1234567",
            "DE89370400440532013000",
            "COBADEFFXXX",
            "Jana Schulz",
            "https://pay.example.com/C1/D1?amount=500.00&amp;ccy=EUR"
            if part is html
            else "https://pay.example.com/C1/D1?amount=500.00&ccy=EUR",
            "30.09.2026",
            "500,00\xa0€",
        ):
            assert field in part, field
    (statement,) = list(msg.iter_attachments())
    assert statement.get_filename() == "statement_C1_2026-10.html"
    body = statement.get_content()
    assert "Statement of account" in body and "D1" in body and "Alpha GmbH" in body


def test_summary_e_mails_to_region_owners(smtp_server, dunning_dirs):
    """email-report: the All report to the stakeholders and North's report to its owner, each
    signed with the company's name; a region without a report is skipped."""
    processed, reports, params = dunning_dirs
    for region in ("All", "North"):
        (reports / "2026-10" / region).mkdir(parents=True)
        (reports / "2026-10" / region / "kpis.json").write_text(
            json.dumps({**_kpis(), "region": region, "high_risk_customers": []})
        )
    sink, port = smtp_server()
    kw = {
        "processed_dir": processed,
        "reports_dir": reports,
        "environ": _env(port),
        "params_files": [params],
    }
    assert notify.run_email_report("2026-10", **kw) == 0
    by_to = {tuple(rcpt): msg for _, rcpt, msg in sink.messages}
    north = by_to[("north-lead@example.com",)]
    assert north["Subject"].startswith("[arinsight] Receivables report 2026-10 (North):")
    assert "Acme Power Ltd" in _parts(north)["text"]
    assert ("finance-team@example.com", "controller@example.com") in by_to
    assert notify.run_email_report("2026-10", **kw) == 0  # both in the send log: nothing new
    assert len(sink.messages) == 2


# ------------------------------------------------------------------------------------------------
# hostile data: addresses, header values, file names
# ------------------------------------------------------------------------------------------------


def _with_customer(processed: Path, **changes) -> None:
    """Rewrite customers.parquet with C1's columns changed."""
    cust = _customers()
    for col, value in changes.items():
        cust.loc[cust["customer_id"] == "C1", col] = value
    cust.to_parquet(processed / "customers.parquet")


@pytest.mark.parametrize(
    "contact",
    [
        "ap@acme.example.com\nvictim@evil.example",
        "ap@acme.example.com\r\nvictim@evil.example",
        "ap@acme.example.com\r\nBcc: victim@evil.example",
    ],
)
def test_a_contact_with_a_hidden_second_address_is_skipped_not_mailed(
    smtp_server, ledger_dirs, capsys, contact
):
    """C1's contact holds a line break before a second address: C1 gets no reminder at all, with
    reason invalid_email in the worklist, the dunning plan and the send log; C4's reminder still
    goes out (exit 0). Other hidden separators: test_check_addresses_reasons."""
    processed, reports = ledger_dirs
    _with_customer(processed, contact_email=contact)
    sink, port = smtp_server()
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": _env(port)}
    assert notify.run_alerts(PERIOD, **kw) == 0
    assert [rcpt for _, rcpt, _ in sink.messages] == [["a@delta.example.com"]]
    assert not any("evil" in str(msg) for _, _, msg in sink.messages)
    alerts = reports / PERIOD / "alerts"
    worklist = pd.read_csv(alerts / "collections_worklist.csv", keep_default_na=False)
    c1 = worklist.set_index("customer_id").loc["C1"]
    assert c1["email_to"] == "" and c1["reminder"].startswith("invalid_email: ")
    plan = pd.read_csv(alerts / "dunning_plan.csv").set_index("customer_id")
    assert plan.loc["C1", "action"] == "skip"
    assert plan.loc["C1", "reason"].startswith("invalid_email: ")
    log = [json.loads(x) for x in (reports / "notify_log.jsonl").read_text().splitlines()]
    skipped = [r for r in log if r["kind"] == "skipped"]
    assert [(r["key"], r["customer_id"], r["reason"]) for r in skipped] == [
        ("skipped:reminder:2026-10:C1:1", "C1", "invalid_email")
    ]
    assert [r["key"] for r in log if r["kind"] == "reminder"] == ["reminder:2026-10:C4:1"]
    out = capsys.readouterr().out
    assert "reminder skipped for customer 'C1': invalid_email: " in out
    assert "\r" not in out and "\x00" not in out  # the refused text is shown escaped
    if "Bcc" not in contact:
        return
    # a second run logs the skip once only
    assert notify.run_alerts(PERIOD, **kw) == 0
    log2 = (reports / "notify_log.jsonl").read_text().splitlines()
    assert len(log2) == len(log)


def test_check_addresses_reasons():
    """One address, or several with the documented separators ; and , (spaces around them are
    fine); anything else is refused as a whole, naming why."""
    check = notify.check_addresses
    assert check("ap@x.example.com").addresses == ["ap@x.example.com"]
    assert check("a@x.example.com, b@x.example.com").addresses == [
        "a@x.example.com",
        "b@x.example.com",
    ]
    assert check(None).reason == "no_email" and check(None).addresses == []
    assert check("  ").reason == "no_email"
    refused = check("ap@x.example.com\nvictim@evil.example")
    assert refused.addresses == [] and refused.reason == "invalid_email"
    assert refused.detail == "control character in 'ap@x.example.com\\nvictim@evil.example'"
    assert check("ap@x.example.com; b@").detail == "not an e-mail address: 'b@'"
    assert check('"a b"@x.example.com').reason == "invalid_email"  # quoted local part
    assert check("ap@localhost").reason == "invalid_email"  # no dotted domain
    assert check("ap@x.example.com\t").reason == "invalid_email"  # tab is a control character
    for hidden in (
        "ap@x.example.com\x00victim@evil.example",  # NUL
        "ap@x.example.com\x85victim@evil.example",  # NEL (C1)
        "ap@x.example.com\u2028victim@evil.example",  # Unicode line separator
        "ap@x.example.com victim@evil.example",  # a space
        "AP <ap@x.example.com>, victim@evil.example",  # a display name
        "ap@x.example.com; bad",  # a part that is not an address
    ):
        assert check(hidden).addresses == [] and check(hidden).reason == "invalid_email", hidden


def test_params_addresses_are_checked_with_the_key_named(ledger_dirs, tmp_path):
    """alerts.cc with a line break in it stops the command naming the key (exit 2 at the CLI)
    instead of adding a recipient or crashing with a header error."""
    processed, reports = ledger_dirs
    params = tmp_path / "cc.yaml"
    params.write_text(
        yaml.safe_dump({"alerts": {"cc": ["collections@example.com\nBcc: x@evil.example"]}})
    )
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": {}}
    with pytest.raises(ParamsError, match=r"^alerts\.cc: control character in "):
        notify.run_alerts(PERIOD, dry_run=True, params_files=[params], **kw)
    params.write_text(yaml.safe_dump({"email": {"stakeholders": ["ceo@example.com, x@"]}}))
    with pytest.raises(ParamsError, match=r"^email\.stakeholders: not an e-mail address: 'x@'"):
        notify.run_email_report(PERIOD, dry_run=True, params_files=[params], **kw)


def test_line_breaks_in_ids_and_the_company_name_never_break_a_header(
    smtp_server, ledger_dirs, tmp_path
):
    """Invoice I2 is 'I\\r\\n2', customer C4 is 'C\\n4', the company name holds CR LF and a fake
    Bcc: every reminder still goes out (before: ValueError 'Header values may not contain
    linefeed or carriage return characters' stopped the whole run). The From display name has
    the line break as a space, the ids travel percent-encoded in the key and invoice headers and
    come back exact in the send log, so a second run knows both reminders were sent."""
    processed, reports = ledger_dirs
    inv = _invoices()
    inv["invoice_id"] = inv["invoice_id"].replace({"I2": "I\r\n2"})
    inv["customer_id"] = inv["customer_id"].replace({"C4": "C\n4"})
    inv.to_parquet(processed / "invoices.parquet")
    cust = _customers()
    cust["customer_id"] = cust["customer_id"].replace({"C4": "C\n4"})
    cust.to_parquet(processed / "customers.parquet")
    params = tmp_path / "company.yaml"
    params.write_text(yaml.safe_dump({"company": {"name": "Acme\r\nBcc: x@evil.example"}}))
    sink, port = smtp_server()
    env = _env(port, ARINSIGHT_MAIL_FROM="ar@example.com")
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": env}
    assert notify.run_alerts(PERIOD, params_files=[params], **kw) == 0
    got = {tuple(rcpt): msg for _, rcpt, msg in sink.messages}
    assert set(got) == {("ap@acme.example.com",), ("a@delta.example.com",)}
    for msg in got.values():
        assert msg["From"] == '"Acme Bcc: x@evil.example" <ar@example.com>'
        assert msg["Bcc"] is None and "\n" not in msg["Subject"]
    assert got[("a@delta.example.com",)]["X-Arinsight-Key"] == "reminder:2026-10:C%0A4:1"
    log = [json.loads(x) for x in (reports / "notify_log.jsonl").read_text().splitlines()]
    assert sorted((r["key"], tuple(r["invoices"])) for r in log) == [
        ("reminder:2026-10:C%0A4:1", ("I7",)),
        ("reminder:2026-10:C1:1", ("I\r\n2", "I1")),  # by due date
    ]
    history = notify.alerts.dunning.reminder_history(log)
    assert sorted(history["customer_id"]) == ["C\n4", "C1"]
    assert notify.run_alerts(PERIOD, params_files=[params], **kw) == 0
    assert len(sink.messages) == 2  # both known as sent: nothing twice


def test_one_customer_whose_message_cannot_be_built_does_not_stop_the_others(
    ledger_dirs, monkeypatch
):
    """Composing C1's reminder fails with a ValueError (data the e-mail library refuses): C1 is
    skipped with reason compose_error in the plan, C4's reminder is written; a template error
    (ParamsError) still stops the command, being the same for every customer."""
    processed, reports = ledger_dirs
    real = notify.alerts.compose_reminder

    def fails_for_c1(customer, *args, **kwargs):
        if customer["customer_id"] == "C1":
            raise ValueError("Header values may not contain linefeed")
        return real(customer, *args, **kwargs)

    monkeypatch.setattr(notify.alerts, "compose_reminder", fails_for_c1)
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": {}}
    assert notify.run_alerts(PERIOD, dry_run=True, **kw) == 0
    assert [p.name for p in (reports / PERIOD / "outbox").glob("*.eml")] == [
        "reminder_2026-10_C4_1.eml"
    ]
    plan = pd.read_csv(reports / PERIOD / "alerts" / "dunning_plan.csv").set_index("customer_id")
    assert plan.loc["C1", "action"] == "skip"
    assert plan.loc["C1", "reason"] == "compose_error: Header values may not contain linefeed"

    def template_error(*args, **kwargs):
        raise ParamsError("e-mail template 'x' not found")

    monkeypatch.setattr(notify.alerts, "compose_reminder", template_error)
    with pytest.raises(ParamsError, match="not found"):
        notify.run_alerts(PERIOD, dry_run=True, **kw)


def test_a_300_character_customer_id_gets_a_bounded_file_name(ledger_dirs):
    """C1 and C4 become two 300-character ids that differ only in their last character (before:
    OSError 'File name too long' from `arinsight alerts`). Each reminder gets its own .eml file
    whose name is at most 84 characters (an 80-character slug + .eml); the statement attachment
    name is bounded too."""
    processed, reports = ledger_dirs
    long1, long4 = "C" * 299 + "1", "C" * 299 + "4"
    inv = _invoices()
    inv["customer_id"] = inv["customer_id"].replace({"C1": long1, "C4": long4})
    inv.to_parquet(processed / "invoices.parquet")
    cust = _customers()
    cust["customer_id"] = cust["customer_id"].replace({"C1": long1, "C4": long4})
    cust.to_parquet(processed / "customers.parquet")
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": {}}
    assert notify.run_alerts(PERIOD, dry_run=True, **kw) == 0
    names = sorted(p.name for p in (reports / PERIOD / "outbox").glob("*.eml"))
    assert len(names) == 2 and all(len(n) <= 84 for n in names)
    assert names[0].startswith("reminder_2026-10_CCC") and names[0] != names[1]
    msg = BytesParser(policy=policy.default).parsebytes(
        (reports / PERIOD / "outbox" / names[0]).read_bytes()
    )
    (statement,) = list(msg.iter_attachments())
    assert len(statement.get_filename()) <= 80 + len("statement__2026-10.html")


def test_safe_slug_is_bounded_safe_and_never_shared():
    """Plain values stay; path separators, control characters, leading dots, spaces, device names
    and long values get a cut slug + 16 hex digits; a plain value that looks like a hashed name is
    hashed too, so it cannot take another value's file."""
    from arinsight.files import safe_slug

    assert safe_slug("C_195") == "C_195" and safe_slug("2026-10") == "2026-10"
    for odd in ("../../etc/passwd", "a/b", "a\\b", ".hidden", "-rf", "a\nb", "a\x00b", "x.", "CON"):
        slug = safe_slug(odd)
        assert slug != odd and "/" not in slug and "\\" not in slug, odd
        assert not slug.startswith((".", "-")) and slug.isprintable(), odd
        assert len(slug) <= 80
    long = safe_slug("x" * 300)
    assert len(long) == 80 and long.startswith("x" * 63 + "-")
    assert safe_slug("x" * 299 + "y") != long
    taken = safe_slug("a/b")  # "a-b-<hash>"
    assert safe_slug(taken) != taken  # the plain value equal to it is hashed as well
    assert safe_slug("index", reserved=("index",)) != "index"
    values = ["a/b", "a\\b", "a b", "a\nb", "a-b", "A-B", "a_b", taken, "ü", "u"]
    assert len({safe_slug(v) for v in values}) == len(values)


def test_two_alerts_at_once_send_each_reminder_once(smtp_server, ledger_dirs, monkeypatch):
    """Two `arinsight alerts` for one period started together, each reading the send log slowly:
    before, both found nothing sent and both sent (4 messages). Now the second waits for the send
    log's lock and finds both reminders sent: 2 messages, 2 log lines."""
    import threading
    import time

    processed, reports = ledger_dirs
    sink, port = smtp_server()
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": _env(port)}
    real = notify.alerts.dunning.read_send_records

    def slow(path):
        records = real(path)
        time.sleep(0.5)
        return records

    monkeypatch.setattr(notify.alerts.dunning, "read_send_records", slow)
    start = threading.Barrier(2)
    codes = []

    def one():
        start.wait()
        codes.append(notify.run_alerts(PERIOD, **kw))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert codes == [0, 0]
    assert len(sink.messages) == 2
    assert len((reports / "notify_log.jsonl").read_text().splitlines()) == 2


def test_email_report_takes_the_send_log_lock(ledger_dirs, monkeypatch):
    """email-report reads the send log only while holding its lock: with the lock held by
    another process's stand-in (a thread), it waits, then goes on (dry run)."""
    import threading
    import time

    from arinsight.files import file_lock

    processed, reports = ledger_dirs
    lock = reports / ".notify_log.jsonl.lock"
    held, release = threading.Event(), threading.Event()

    def holder():
        with file_lock(lock):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(10)
    timer = threading.Timer(1.0, release.set)
    timer.start()
    began = time.monotonic()
    kw = {"processed_dir": processed, "reports_dir": reports, "environ": {}}
    assert notify.run_email_report(PERIOD, dry_run=True, **kw) == 0
    assert time.monotonic() - began >= 0.9  # it waited for the holder
    t.join(10)
