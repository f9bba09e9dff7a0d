"""Receivables Health on a hand-made ledger whose every KPI is worked out by hand below.

The ledger (period 2026-10, T = 2026-10-31, begin = 2026-09-30)::

    customer  region industry       credit_limit
    A Acme    North  Manufacturing  1000
    B Bolt    North  Energy         5000
    C Cafe    South  Retail          100

    invoice cust invoice_date due_date   amount kWh   payments (date amount)
    I1      A    2026-08-01   2026-08-31 1000   100   P1 09-10 400, P2 10-15 600  (split, paid 45 days late)
    I2      A    2026-09-15   2026-10-15  500   100   P3 10-20 200                (partial)
    I3      B    2026-10-01   2026-10-31 2000   5000  P4 10-31 2000               (paid exactly on T)
    I4      B    2026-10-05   2026-11-04  800   5000  P5 11-01 800                (paid on T+1)
    I5      C    2026-09-01   2026-09-30  300   50    P6 09-25 350                (overpaid by 50, 5 days early)
    I6      C    2026-07-01   2026-07-31  400   -     none
    unapplied cash: P7 customer A, 2026-10-10, 150 (no invoice)

Positions at T = 2026-10-31:
    I1 paid 1000, balance 0, paid on 10-15, days_late = 10-15 - 08-31 = 45
    I2 paid 200, open 300, past due since 10-15: days_past_due = 16, overdue
    I3 paid 2000 on T itself -> paid, days_late 0
    I4 payment on T+1 not counted -> open 800, due 11-04 -> current
    I5 paid 350 -> balance -50, credit 50, paid on 09-25, days_late -5
    I6 open 400, days_past_due = Aug 31 + Sep 30 + Oct 31 = 92, overdue
    open AR = 300 + 800 + 400 = 1500; overdue = 300 + 400 = 700; current = 800; 2 overdue invoices.
Positions at begin = 2026-09-30: I1 open 600 (overdue 30 days), I2 open 500 (current), I5 credit
50, I6 open 400 (61 days) -> AR(begin) = 1500.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import clean_table

from arinsight import kpis, ledger, receivables
from arinsight.schemas import empty_table

T = "2026-10-31"


#: Each customer's segment, which clean copies onto its invoices (segment_by: customer).
SEGMENTS = {
    "A": dict(region="North", industry="Manufacturing", customer_type="Business"),
    "B": dict(region="North", industry="Energy", customer_type="Business"),
    "C": dict(region="South", industry="Retail", customer_type="Residential"),
}


def make_ledger() -> dict[str, pd.DataFrame]:
    customers = clean_table(
        "customers",
        [
            dict(customer_id="A", customer_name="Acme", region="North", industry="Manufacturing",
                 customer_type="Business", credit_limit=1000.0),
            dict(customer_id="B", customer_name="Bolt", region="North", industry="Energy",
                 customer_type="Business", credit_limit=5000.0),
            dict(customer_id="C", customer_name="Cafe", region="South", industry="Retail",
                 customer_type="Residential", credit_limit=100.0),
        ],
    )  # fmt: skip
    inv = [
        ("I1", "A", "2026-08-01", "2026-08-31", 1000.0, 100.0),
        ("I2", "A", "2026-09-15", "2026-10-15", 500.0, 100.0),
        ("I3", "B", "2026-10-01", "2026-10-31", 2000.0, 5000.0),
        ("I4", "B", "2026-10-05", "2026-11-04", 800.0, 5000.0),
        ("I5", "C", "2026-09-01", "2026-09-30", 300.0, 50.0),
        ("I6", "C", "2026-07-01", "2026-07-31", 400.0, None),
    ]
    invoices = clean_table(
        "invoices",
        [
            dict(invoice_id=i, customer_id=c, invoice_date=d, due_date=due, amount=a, energy_kwh=e,
                 currency="USD", due_date_derived=False, is_overpaid=i == "I5", **SEGMENTS[c])
            for i, c, d, due, a, e in inv
        ],
    )  # fmt: skip
    pay = [
        ("P1", "I1", "A", "2026-09-10", 400.0),
        ("P2", "I1", "A", "2026-10-15", 600.0),
        ("P3", "I2", "A", "2026-10-20", 200.0),
        ("P4", "I3", "B", "2026-10-31", 2000.0),
        ("P5", "I4", "B", "2026-11-01", 800.0),
        ("P6", "I5", "C", "2026-09-25", 350.0),
        ("P7", None, "A", "2026-10-10", 150.0),
    ]
    payments = clean_table(
        "payments",
        [
            dict(payment_id=p, invoice_id=i, customer_id=c, payment_date=d, amount=a, method="wire")
            for p, i, c, d, a in pay
        ],
    )
    return {
        "customers": customers,
        "invoices": invoices,
        "payments": payments,
        "sales_reps": empty_table("sales_reps"),
        "commissions": empty_table("commissions"),
    }


@pytest.fixture()
def tables() -> dict[str, pd.DataFrame]:
    return make_ledger()


def kept(tables: dict[str, pd.DataFrame], folder, period: str = "2026-10", **params):
    """The ledger written as processed parquet and the engine's kept results of ``period`` over
    it: what the monthly run computes once and every page reads (the optional adjustments table
    only when the ledger has one)."""
    from arinsight.engine.period import period_results

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("customers", "invoices", "payments", "sales_reps", "commissions"):
        frame = tables.get(name, empty_table(name))
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    if tables.get("adjustments") is not None:
        tables["adjustments"].to_parquet(folder / "adjustments.parquet", index=False)
    return period_results(folder, period, None, params)


@pytest.fixture()
def results(tables, tmp_path):
    return kept(tables, tmp_path / "processed", trailing_months=3)


# ---------------------------------------------------------------------------------------------
# the as-of engine
# ---------------------------------------------------------------------------------------------


def test_invoice_positions_at_t(tables):
    """Positions at T as worked out in the module docstring (split, partial, paid on T, T+1, credit)."""
    pos = receivables.invoice_positions(tables["invoices"], tables["payments"], T).set_index(
        "invoice_id"
    )
    assert pos["paid_to_date"].to_dict() == {
        "I1": 1000.0, "I2": 200.0, "I3": 2000.0, "I4": 0.0, "I5": 350.0, "I6": 0.0
    }  # fmt: skip
    assert pos["balance"].to_dict() == {
        "I1": 0.0, "I2": 300.0, "I3": 0.0, "I4": 800.0, "I5": -50.0, "I6": 400.0
    }  # fmt: skip
    assert pos["open_amount"].sum() == 1500.0
    assert pos.loc["I5", "credit_amount"] == 50.0
    assert pos["status"].to_dict() == {
        "I1": "paid", "I2": "overdue", "I3": "paid", "I4": "current", "I5": "credit",
        "I6": "overdue",
    }  # fmt: skip
    assert pos["days_past_due"].to_dict() == {
        "I1": 0, "I2": 16, "I3": 0, "I4": 0, "I5": 0, "I6": 92
    }  # fmt: skip
    assert pos.loc["I1", "paid_date"] == pd.Timestamp("2026-10-15")
    assert pos.loc["I3", "paid_date"] == pd.Timestamp(T)
    assert pd.isna(pos.loc["I4", "paid_date"])
    assert pos.loc["I1", "days_late"] == 45
    assert pos.loc["I3", "days_late"] == 0
    assert pos.loc["I5", "days_late"] == -5
    assert math.isnan(pos.loc["I2", "days_late"])


def test_invoice_paid_on_t_plus_one_and_invoices_after_t(tables):
    """At T+1 = 2026-11-01, P5 (800) pays I4 in full: status paid, paid_date 11-01, 3 days early
    (due 11-04) -> days_late -3. At 2026-09-30 the October invoices I3 and I4 do not exist yet:
    4 rows (I1, I2, I5, I6); I1 has 400 of 1000 paid -> open 600, 30 days past due."""
    nxt = receivables.invoice_positions(tables["invoices"], tables["payments"], "2026-11-01")
    i4 = nxt.set_index("invoice_id").loc["I4"]
    assert (i4["status"], i4["open_amount"], i4["days_late"]) == ("paid", 0.0, -3.0)
    before = receivables.invoice_positions(tables["invoices"], tables["payments"], "2026-09-30")
    assert sorted(before["invoice_id"]) == ["I1", "I2", "I5", "I6"]
    i1 = before.set_index("invoice_id").loc["I1"]
    assert (i1["open_amount"], i1["days_past_due"], i1["status"]) == (600.0, 30, "overdue")


def test_invoice_positions_does_not_mutate_inputs(tables):
    """The engine returns a new frame; the input tables are unchanged."""
    inv, pay = tables["invoices"].copy(), tables["payments"].copy()
    receivables.invoice_positions(tables["invoices"], tables["payments"], T)
    pd.testing.assert_frame_equal(inv, tables["invoices"])
    pd.testing.assert_frame_equal(pay, tables["payments"])


def test_invoice_positions_errors(tables):
    """A missing column, duplicated invoice ids and a non-date as_of are refused clearly."""
    with pytest.raises(ValueError, match="payment_date"):
        receivables.invoice_positions(
            tables["invoices"], tables["payments"].drop(columns="payment_date"), T
        )
    dup = pd.concat([tables["invoices"], tables["invoices"].iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="unique"):
        receivables.invoice_positions(dup, tables["payments"], T)
    with pytest.raises(ValueError):
        receivables.invoice_positions(tables["invoices"], tables["payments"], "not a date")


def test_customer_balances(results):
    """At T: A open 300 (I2), unapplied 150 -> net 150, limit 1000 not exceeded; B open 800 (I4),
    not overdue; C open 400 (I6) with a credit of 50 (I5) -> net 350, limit 100 -> over by 300."""
    assert results.unapplied()[["customer_id", "region", "unapplied_cash"]].values.tolist() == [
        ["A", "North", 150.0]
    ]
    bal = receivables.customer_balances(
        results.positions(), results.customers(), results.unapplied()
    ).set_index("customer_id")
    assert bal["open_ar"].to_dict() == {"A": 300.0, "B": 800.0, "C": 400.0}
    assert bal["credit_balance"].to_dict() == {"A": 0.0, "B": 0.0, "C": 50.0}
    assert bal["unapplied_cash"].to_dict() == {"A": 150.0, "B": 0.0, "C": 0.0}
    assert bal["net_balance"].to_dict() == {"A": 150.0, "B": 800.0, "C": 350.0}
    assert bal["over_limit"].to_dict() == {"A": False, "B": False, "C": True}
    assert bal["overdue_amount"].to_dict() == {"A": 300.0, "B": 0.0, "C": 400.0}
    assert bal.loc["C", "credit_limit"] == 100.0


def test_customer_balances_error(results):
    """The positions must have customer_id."""
    with pytest.raises(ValueError, match="customer_id"):
        receivables.customer_balances(results.positions().drop(columns="customer_id"))


# ---------------------------------------------------------------------------------------------
# KPIs
# ---------------------------------------------------------------------------------------------


def test_receivables_kpis_october(tables):
    """October 2026 (31 days), worked by hand:

    credit sales = I3 2000 + I4 800 = 2800; collections = P2 600 + P3 200 + P4 2000 + P7 150 = 2950
    (P5 is on T+1). AR(T) = 1500, AR(begin) = 1500, current 800, overdue 700 (2 invoices).
    DSO = 1500 / 2800 * 31 = 16.6071; BPDSO = 800 / 2800 * 31 = 8.8571; ADD = 700/2800*31 = 7.75.
    Countback: October's sales 2800 >= 1500 -> 1500 / 2800 * 31 = 16.6071.
    CEI = (1500 + 2800 - 1500) / (1500 + 2800 - 800) * 100 = 2800 / 3500 * 100 = 80.
    Turnover = 2800 / ((1500 + 1500) / 2) = 1.8667; annualised 2800/1500*365/31 = 21.9785.
    Over limit: only C (400 > 100) -> 1.
    Aging: Current 800 (I4), 1-30 300 (I2, 16 days), 91-120 400 (I6, 92 days), others 0.
    Average days late of invoices fully paid in October: I1 45, I3 0 -> 22.5.
    Completion: due by T are I1, I2, I3, I5, I6 (I4 due 11-04); fully paid I1, I3, I5 (credit
    counts as paid) -> 3/5 = 60 %; by amount (1000 + 2000 + 300) / 4200 = 78.5714 %.
    Unapplied cash 150 (P7); credit balances 50 (I5).
    """
    k = receivables.receivables_kpis(tables, "2026-10", {})
    expected = {
        "period": "2026-10",
        "as_of": "2026-10-31",
        "credit_sales": 2800.0,
        "total_revenue": 2800.0,
        "collections": 2950.0,
        "open_ar": 1500.0,
        "open_ar_begin": 1500.0,
        "current_ar": 800.0,
        "overdue_ar": 700.0,
        "overdue_amount": 700.0,
        "overdue_invoices": 2,
        "customers_over_credit_limit": 1,
        "unapplied_cash": 150.0,
        "credit_balances": 50.0,
    }
    assert {key: k[key] for key in expected} == expected
    approx = {
        "dso": 1500 / 2800 * 31,
        "countback_dso": 1500 / 2800 * 31,
        "best_possible_dso": 800 / 2800 * 31,
        "average_days_delinquent": 7.75,
        "cei": 80.0,
        "ar_turnover": 2800 / 1500,
        "ar_turnover_annualised": 2800 / 1500 * 365 / 31,
        "average_days_late": 22.5,
        "payment_completion_rate_count": 60.0,
        "payment_completion_rate_amount": 3300 / 4200 * 100,
    }
    for key, value in approx.items():
        assert k[key] == pytest.approx(value, abs=1e-4), key
    assert k["aging"] == {
        "Current": 800.0, "1-30": 300.0, "31-60": 0.0, "61-90": 0.0, "91-120": 400.0, "120+": 0.0
    }  # fmt: skip
    assert set(receivables.RECEIVABLES_KEYS) <= set(k)


def test_receivables_kpis_september_and_countback(tables):
    """September 2026 (30 days): T = 09-30, begin = 08-31.

    AR(08-31) = I1 1000 (due that day: current) + I6 400 = 1400. AR(09-30) = 1500, of which
    current = I2 500, overdue = I1 600 + I6 400 = 1000. Sales = I2 500 + I5 300 = 800.
    DSO = 1500 / 800 * 30 = 56.25; BPDSO = 500/800*30 = 18.75; ADD = 37.5.
    Countback: September's 800 is consumed (30 days), 700 left against August's 1000 of sales
    (31 days) -> 30 + 0.7 * 31 = 51.7.
    CEI = (1400 + 800 - 1500) / (1400 + 800 - 500) * 100 = 700 / 1700 * 100 = 41.1765.
    Turnover = 800 / 1450 = 0.5517. Collections = P1 400 + P6 350 = 750.
    Over limit: A (600 + 500 = 1100 > 1000) and C (400 > 100) -> 2.
    Paid in September: I5 only, 5 days early -> average days late 0 (early counts as 0).
    Completion: due by 09-30 are I1, I5, I6; only I5 paid -> 33.3333 %; amount 300/1700.
    """
    k = receivables.receivables_kpis(tables, ledger.period_bounds("2026-09"), None)
    assert (k["open_ar_begin"], k["open_ar"], k["current_ar"], k["overdue_ar"]) == (
        1400.0,
        1500.0,
        500.0,
        1000.0,
    )
    assert (k["credit_sales"], k["collections"], k["customers_over_credit_limit"]) == (
        800.0,
        750.0,
        2,
    )
    assert k["dso"] == pytest.approx(56.25)
    assert k["best_possible_dso"] == pytest.approx(18.75)
    assert k["average_days_delinquent"] == pytest.approx(37.5)
    assert k["countback_dso"] == pytest.approx(51.7)
    assert k["cei"] == pytest.approx(700 / 1700 * 100, abs=1e-4)
    assert k["ar_turnover"] == pytest.approx(800 / 1450, abs=1e-4)
    assert k["average_days_late"] == 0.0
    assert k["payment_completion_rate_count"] == pytest.approx(100 / 3, abs=1e-4)
    assert k["payment_completion_rate_amount"] == pytest.approx(300 / 1700 * 100, abs=1e-4)


def test_zero_sales_period_gives_na_not_zero_or_inf(tables):
    """December 2026 has no invoices: sales = 0, so DSO, BPDSO, ADD and both turnovers are None.

    AR(12-31) = I2 300 + I6 400 = 700 (I4 was paid on 11-01), all overdue, AR(begin) = 700.
    CEI is still defined: (700 + 0 - 700) / (700 + 0 - 0) * 100 = 0.
    Countback: December 0 and November 0 sales (31 + 30 days), then 700 of October's 2800 (31 days)
    -> 61 + 0.25 * 31 = 68.75. Nothing was paid in December -> average days late None.
    """
    k = receivables.receivables_kpis(tables, "2026-12", {})
    assert k["credit_sales"] == 0.0
    for key in ("dso", "best_possible_dso", "average_days_delinquent", "ar_turnover"):
        assert k[key] is None, key
    assert k["ar_turnover_annualised"] is None
    assert k["cei"] == 0.0
    assert k["countback_dso"] == pytest.approx(68.75)
    assert k["average_days_late"] is None
    assert k["open_ar"] == 700.0


def test_empty_region_gives_none_everywhere(tables):
    """Region "West" has one customer (W1) but no invoice and no payment: every KPI is None
    (n/a), aging buckets too, each with its reason; no error."""
    west = clean_table("customers", [{"customer_id": "W1", "region": "West"}])
    tables = {**tables, "customers": pd.concat([tables["customers"], west], ignore_index=True)}
    k = receivables.receivables_kpis(ledger.select_region(tables, "West"), "2026-10", {})
    assert k["na_reasons"]["open_ar"] == "no invoices or payments up to T in this selection"
    assert all(k[key] is None for key in receivables.RECEIVABLES_KEYS)
    assert set(k["aging"]) == {"Current", "1-30", "31-60", "61-90", "91-120", "120+"}
    assert all(v is None for v in k["aging"].values())


def test_a_region_not_in_the_data_is_an_error(tables):
    """A typo ("Westt") is not an empty region: select_region names the regions there are."""
    with pytest.raises(ledger.UnknownRegion) as err:
        ledger.select_region(tables, "Westt")
    assert str(err.value) == (
        "region 'Westt' is not in the data (regions in the data: North, South)"
    )


def test_region_selection(tables):
    """Region South = customer C only: sales in October 0 (C billed nothing), AR(T) = 400 (I6),
    all overdue; the credit of 50 on I5 is reported apart; over limit 1."""
    k = receivables.receivables_kpis(ledger.select_region(tables, "South"), "2026-10", {})
    assert (k["credit_sales"], k["open_ar"], k["overdue_ar"], k["credit_balances"]) == (
        0.0,
        400.0,
        400.0,
        50.0,
    )
    assert k["customers_over_credit_limit"] == 1 and k["dso"] is None


def _quarter_ledger() -> dict[str, pd.DataFrame]:
    t = make_ledger()
    rows = [
        ("Q0", "2025-12-01", "2025-12-31", 2000.0),
        ("Q1", "2026-01-10", "2026-02-09", 900.0),
        ("Q2", "2026-02-10", "2026-03-12", 900.0),
        ("Q3", "2026-03-15", "2026-04-14", 1200.0),
    ]
    t["invoices"] = clean_table(
        "invoices",
        [
            dict(invoice_id=i, customer_id="B", invoice_date=d, due_date=due, amount=a,
                 due_date_derived=False, is_overpaid=False)
            for i, d, due, a in rows
        ],
    )  # fmt: skip
    t["payments"] = clean_table(
        "payments",
        [
            dict(payment_id="Z0", invoice_id="Q0", customer_id="B", payment_date="2026-01-20",
                 amount=2000.0),
            dict(payment_id="Z1", invoice_id="Q1", customer_id="B", payment_date="2026-02-05",
                 amount=900.0),
        ],
    )  # fmt: skip
    return t


def test_cei_quarter_divides_sales_by_months():
    """Quarter 2026-Q1 (90 days, 3 months). AR(begin = 2025-12-31) = Q0 2000 (due that day).
    Sales in Q1 = 900 + 900 + 1200 = 3000; at T = 03-31 Q0 and Q1 are paid, Q2 900 is overdue
    and Q3 1200 is current: AR(T) = 2100, current 1200.
    Published convention: sales / months = 1000:
    CEI = (2000 + 1000 - 2100) / (2000 + 1000 - 1200) * 100 = 900 / 1800 * 100 = 50.
    (The unadjusted formula would give 2900 / 3800 * 100 = 76.3158: pinned as *not* used.)
    DSO = 2100 / 3000 * 90 = 63; turnover = 3000 / 2050 = 1.4634, annualised * 365/90 = 5.9350.
    """
    k = receivables.receivables_kpis(_quarter_ledger(), "2026-Q1", {})
    assert k["cei"] == pytest.approx(50.0)
    assert k["cei"] != pytest.approx(2900 / 3800 * 100, abs=0.1)
    assert k["dso"] == pytest.approx(63.0)
    assert k["ar_turnover"] == pytest.approx(3000 / 2050, abs=1e-4)
    assert k["ar_turnover_annualised"] == pytest.approx(3000 / 2050 * 365 / 90, abs=1e-4)


def test_one_month_cei_conventions_agree(tables):
    """For a month, months = 1 so sales / months = sales: CEI October = 80 either way (see above)."""
    assert receivables.receivables_kpis(tables, "2026-10", {})["cei"] == pytest.approx(80.0)


def test_receivables_kpis_errors(tables):
    """Bad period labels and bad aging buckets are refused with a clear message."""
    with pytest.raises(ValueError, match="period"):
        receivables.receivables_kpis(tables, "2026-13", {})
    with pytest.raises(ValueError, match="aging_buckets"):
        receivables.receivables_kpis(tables, "2026-10", {"aging_buckets": [30, 10]})


def test_compare_directions(tables):
    """October vs September: DSO 16.6071 vs 56.25 -> change -39.6429, down, lower is better ->
    better. CEI 80 vs 41.1765 -> up, better. Average days late 22.5 vs 0 -> up, worse. Open AR 1500
    vs 1500 -> flat, same. Current AR has no good direction -> assessment None. A None on either
    side gives change/direction/assessment None."""
    cur = receivables.receivables_kpis(tables, "2026-10", {})
    prev = receivables.receivables_kpis(tables, "2026-09", {})
    cmp = receivables.compare(cur, prev)
    assert cmp["dso"] == {
        "previous": 56.25,
        "change": pytest.approx(-39.6429, abs=1e-4),
        "direction": "down",
        "better": "lower",
        "assessment": "better",
    }
    assert (cmp["cei"]["direction"], cmp["cei"]["assessment"]) == ("up", "better")
    assert (cmp["average_days_late"]["direction"], cmp["average_days_late"]["assessment"]) == (
        "up",
        "worse",
    )
    assert (cmp["open_ar"]["direction"], cmp["open_ar"]["assessment"]) == ("flat", "same")
    assert cmp["current_ar"]["better"] is None and cmp["current_ar"]["assessment"] is None
    assert "period" not in cmp and "aging" not in cmp
    none = receivables.compare({"dso": None}, {"dso": 3.0})["dso"]
    assert none == {
        "previous": 3.0,
        "change": None,
        "direction": None,
        "better": "lower",
        "assessment": None,
    }
    assert receivables.KPI_DIRECTION["ar_turnover"] == "higher"
    assert receivables.KPI_DIRECTION["payment_completion_rate_count"] == "higher"


def test_compare_error():
    with pytest.raises(TypeError):
        receivables.compare([1], {})


# ---------------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------------


def test_aging_table_custom_buckets(tables):
    """Buckets [0, 15, 90]: Current 800 (I4), 1-15 nothing, 16-90 300 (I2 at 16 days), 90+ 400
    (I6 at 92 days). Shares of 1500: 53.33 %, 0, 20 %, 26.67 %."""
    pos = receivables.invoice_positions(tables["invoices"], tables["payments"], T)
    aging = receivables.aging_table(pos, [0, 15, 90])
    assert aging["bucket"].astype(str).tolist() == ["Current", "1-15", "16-90", "90+"]
    assert aging["amount"].tolist() == [800.0, 0.0, 300.0, 400.0]
    assert aging["invoices"].tolist() == [1, 0, 1, 1]
    assert aging["share_pct"].tolist() == [53.33, 0.0, 20.0, 26.67]
    with pytest.raises(ValueError, match="aging_buckets"):
        receivables.aging_table(pos, [-1, 5])


def test_monthly_trends(tables, tmp_path):
    """Trailing 3 months to October:
    billed: Aug 1000 (I1), Sep 800 (I2 + I5), Oct 2800 (I3 + I4);
    collections: Aug 0, Sep 750 (P1 + P6), Oct 2950;
    paid by T of each month's invoices (overpayment capped): Aug 1000, Sep 200 + 300 = 500,
    Oct 2000 -> unpaid 0, 300, 800;
    open AR at month ends: Aug 1000 + 400 = 1400, Sep 1500, Oct 1500;
    overdue AR: Aug 31 only I6 400 (I1 due that day), Sep 600 + 400 = 1000, Oct 300 + 400 = 700.
    The month-end balances equal the as-of engine's open AR at each month end.
    """
    results = kept(tables, tmp_path / "processed", trailing_months=3)
    m = receivables.monthly_trends(results.months(), results.positions(), T)
    assert m["month"].tolist() == ["2026-08", "2026-09", "2026-10"]
    assert m["billed"].tolist() == [1000.0, 800.0, 2800.0]
    assert m["collections"].tolist() == [0.0, 750.0, 2950.0]
    assert m["paid"].tolist() == [1000.0, 500.0, 2000.0]
    assert m["unpaid"].tolist() == [0.0, 300.0, 800.0]
    assert m["open_ar"].tolist() == [1400.0, 1500.0, 1500.0]
    assert m["overdue_ar"].tolist() == [400.0, 1000.0, 700.0]
    for end, value in zip(m["month_end"], m["open_ar"], strict=True):
        pos = receivables.invoice_positions(tables["invoices"], tables["payments"], end)
        assert pos["open_amount"].sum() == value
    with pytest.raises(ValueError, match="trailing_months"):
        kept(tables, tmp_path / "processed", trailing_months=0)


def test_monthly_trends_keep_write_offs_and_credit_notes_apart(tmp_path):
    """test_engine's ledger with adjustments (its docstring), trailing 3 months to October:
    billed Aug 1000 (A), Sep 500 + 600 = 1100 (B, G), Oct 300 + 200 + 1000 = 1500 (C, D, F);
    collections (cash only) 0, 400, 1600; write-offs 0, 800 (E), 600 + 250 + 100 = 950;
    credit notes 0, 0, 100 + 50 + 300 = 450. Of each month's invoices at T: paid (capped) Aug
    400, Sep 400 + 100 = 500, Oct 300; credited or written off (amount - open - paid) Aug 600,
    Sep 100 + 100 = 200, Oct 0 + 200 + 300 = 500; still open Aug 0, Sep 400 (G), Oct 700 (F);
    open AR at the month ends 1800, 1700, 1100."""
    from test_engine import adjusted_ledger

    r = kept(adjusted_ledger(), tmp_path / "processed", trailing_months=3)
    m = receivables.monthly_trends(r.months(), r.positions(), T)
    cols = ["billed", "collections", "write_offs", "credit_notes", "paid", "adjusted", "unpaid"]
    assert m[cols].values.tolist() == [
        [1000.0, 0.0, 0.0, 0.0, 400.0, 600.0, 0.0],
        [1100.0, 400.0, 800.0, 0.0, 500.0, 200.0, 400.0],
        [1500.0, 1600.0, 950.0, 450.0, 300.0, 500.0, 700.0],
    ]
    assert m["open_ar"].tolist() == [1800.0, 1700.0, 1100.0]


def test_invoice_explorer_table(results):
    """Readable statuses: I1 Paid, I2 Overdue, I4 Open - current, I5 Credit; customer metadata
    joined (I6 -> Cafe, South, Retail, Residential)."""
    table = receivables.invoice_explorer_table(results.positions()).set_index("invoice_id")
    assert table["payment_status"].to_dict() == {
        "I1": "Paid", "I2": "Overdue", "I3": "Paid", "I4": "Open - current", "I5": "Credit",
        "I6": "Overdue",
    }  # fmt: skip
    assert table.loc["I6", ["customer_name", "region", "industry", "customer_type"]].tolist() == [
        "Cafe",
        "South",
        "Retail",
        "Residential",
    ]
    with pytest.raises(ValueError, match="status"):
        receivables.invoice_explorer_table(results.positions().drop(columns="status"))


def test_overdue_list_top_customers_and_over_limit(results):
    """Overdue at T: I6 (92 days) then I2 (16 days). Top 2 by open AR: B 800, C 400.
    Over limit: C, open 400 vs limit 100 -> over by 300."""
    pos = results.positions()
    bal = receivables.customer_balances(pos, results.customers(), results.unapplied())
    od = receivables.overdue_invoice_list(pos)
    assert od["invoice_id"].tolist() == ["I6", "I2"]
    assert od["days_past_due"].tolist() == [92, 16]
    assert receivables.overdue_invoice_list(pos, 30)["invoice_id"].tolist() == ["I6"]
    top = receivables.top_customers(bal, 2)
    assert top["customer_id"].tolist() == ["B", "C"] and top["open_ar"].tolist() == [800.0, 400.0]
    over = receivables.customers_over_credit_limit(bal)
    assert over[["customer_id", "open_ar", "over_limit_by"]].values.tolist() == [
        ["C", 400.0, 300.0]
    ]
    with pytest.raises(ValueError):
        receivables.top_customers(bal, 0)
    with pytest.raises(ValueError):
        receivables.overdue_invoice_list(pos, 0)


def test_delays_by_industry(results):
    """Known outcomes at T: I1 paid 45 days late, I2 overdue 16 days, I3 on time, I5 early (0),
    I6 overdue 92 days; I4 is open and not due (unknown, left out).
    Manufacturing (A): I1, I2 -> 2 late of 2 = 100 %, average delay (45 + 16) / 2 = 30.5,
    overdue 300. Retail (C): I5, I6 -> 1 of 2 = 50 %, delay (0 + 92) / 2 = 46, overdue 400.
    Energy (B): I3 -> 0 %, delay 0, overdue 0."""
    pos = results.positions()
    d = receivables.delays_by_industry(pos, T, 12).set_index("industry")
    assert d.index.tolist() == ["Manufacturing", "Retail", "Energy"]
    assert d["invoices"].tolist() == [2, 2, 1]
    assert d["late_rate_pct"].tolist() == [100.0, 50.0, 0.0]
    assert d["average_delay_days"].tolist() == [30.5, 46.0, 0.0]
    assert d["overdue_amount"].tolist() == [300.0, 400.0, 0.0]
    with pytest.raises(ValueError, match="window_months"):
        receivables.delays_by_industry(pos, T, 0)


def test_seasonality(results):
    """One year observed (July to October 2026): billed July 400, Aug 1000, Sep 800, Oct 2800;
    months outside the span are NaN with years = 0. Late rate of invoices due in the month:
    July I6 (late) 100 %, August I1 (late) 100 %, September I5 (early) 0 %, October I2 late and
    I3 on time -> 50 %. Energy billed in October: I3 + I4 = 10,000 kWh."""
    pos, cash = results.positions(), results.cash_months()
    s = receivables.seasonality(pos, cash, T).set_index("month")
    assert s.loc[[7, 8, 9, 10], "billed_avg"].tolist() == [400.0, 1000.0, 800.0, 2800.0]
    assert s.loc[[7, 8, 9, 10], "late_rate_pct"].tolist() == [100.0, 100.0, 0.0, 50.0]
    assert s.loc[10, "energy_kwh_avg"] == 10000.0
    assert s.loc[1, "years"] == 0 and np.isnan(s.loc[1, "billed_avg"])
    assert s.loc[10, "month_name"] == "Oct"
    # collections (every payment by T, the unapplied P7 too): Sep P1 400 + P6 350, Oct 600 +
    # 200 + 2000 + 150 = 2950 (P5 of 11-01 is after T)
    assert s.loc[[9, 10], "collections_avg"].tolist() == [750.0, 2950.0]
    with pytest.raises(ValueError):
        receivables.seasonality(pos, cash, None)


def test_energy_vs_payment(results):
    """Usage in the last 12 months: A 200 kWh (I1 + I2), B 10,000 (I3 + I4), C 50 (I5; I6 has no
    reading). Three bands -> one customer each, lowest first: C (late rate 1 of 2 = 50 %, overdue
    400), A (2 of 2 = 100 %, overdue 300), B (0 of 1 = 0 %, overdue 0)."""
    pos = results.positions()
    e = receivables.energy_vs_payment(pos, T, n_bands=3)
    assert e["customers"].tolist() == [1, 1, 1]
    assert e["usage_kwh"].tolist() == [50.0, 200.0, 10000.0]
    assert e["late_rate_pct"].tolist() == [50.0, 100.0, 0.0]
    assert e["overdue_amount"].tolist() == [400.0, 300.0, 0.0]
    assert e["band"].tolist() == ["50 kWh", "200 kWh", "10.0k kWh"]
    with pytest.raises(ValueError, match="n_bands"):
        receivables.energy_vs_payment(pos, T, n_bands=0)


def test_kpi_summary_table_and_json(tables, tmp_path):
    """The summary shows DSO "16.6 days" with "▼ better"; undefined values read "n/a"; the JSON
    part has sorted keys, null for None/NaN and ISO dates."""
    cur = receivables.receivables_kpis(tables, "2026-10", {})
    prev = receivables.receivables_kpis(tables, "2026-12", {})
    table = receivables.kpi_summary_table(cur, receivables.compare(cur, prev)).set_index("KPI")
    assert table.loc["DSO", "Value"] == "16.6 days"
    assert table.loc["DSO", "Previous"] == "n/a"
    assert table.loc["CEI", "Value"] == "80.0%"
    assert table.loc["CEI", "Change"] == "+80.0 pp"
    assert table.loc["CEI", "Trend"] == "▲ better"
    assert kpis.format_value(None, "days", style="compact") == "n/a"


def test_aging_buckets_sum_to_open_ar_property(tmp_path_factory):
    """Property: for random ledgers, aging buckets sum to open AR, open amounts are never negative
    and month-end open AR from the event series equals the as-of engine (seeded, vectorised)."""
    hypothesis = pytest.importorskip("hypothesis")
    tmp = tmp_path_factory.mktemp("ledgers")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=8, deadline=None)
    @hypothesis.given(st.integers(0, 10_000))
    def check(seed: int) -> None:
        rng = np.random.default_rng(seed)
        n = 30
        inv_date = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")
        invoices = clean_table(
            "invoices",
            [
                dict(invoice_id=f"I{i}", customer_id=f"C{i % 4}", invoice_date=d,
                     due_date=d + pd.Timedelta(days=30), amount=float(rng.integers(1, 500)),
                     due_date_derived=False, is_overpaid=False)
                for i, d in enumerate(inv_date)
            ],
        )  # fmt: skip
        k = rng.integers(0, n, 40)
        payments = clean_table(
            "payments",
            [
                dict(payment_id=f"P{j}", invoice_id=f"I{i}" if j % 7 else None,
                     customer_id=f"C{i % 4}",
                     payment_date=inv_date[i] + pd.Timedelta(days=int(rng.integers(0, 90))),
                     amount=float(rng.integers(1, 300)))
                for j, i in enumerate(k)
            ],
        )  # fmt: skip
        pos = receivables.invoice_positions(invoices, payments, "2026-09-30")
        assert (pos["open_amount"] >= 0).all()
        aging = receivables.aging_table(pos)
        assert aging["amount"].sum() == pytest.approx(pos["open_amount"].sum())
        tables = {"invoices": invoices, "payments": payments}
        results = kept(tables, tmp / f"p{seed}", "2026-09", trailing_months=4)
        monthly = receivables.monthly_trends(results.months(), results.positions(), "2026-09-30")
        for end, value in zip(monthly["month_end"], monthly["open_ar"], strict=True):
            at = receivables.invoice_positions(invoices, payments, end)
            assert at["open_amount"].sum() == pytest.approx(value)
            overdue = at.loc[at["status"] == "overdue", "open_amount"].sum()
            assert monthly.set_index("month_end").loc[end, "overdue_ar"] == pytest.approx(overdue)

    check()
