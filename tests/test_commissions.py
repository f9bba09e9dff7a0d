"""Commission Analytics on a hand-made ledger, every number worked out by hand below.

Period 2026-10, T = 2026-10-31. Invoices (for sales): I1 2026-08-01 1000, I2 2026-09-15 500,
I3 2026-10-01 2000, I4 2026-10-05 800, I5 2026-09-01 300, I6 2026-07-01 400
-> credit sales October = 2800, September = 800.

    rep  name  group          commission amount accrual     settled settlement
    R1   Rita  Premium Sales  K1         50     2026-08-01  yes     2026-10-10
    R1                        K2        100     2026-10-01  no      -
    R2   Sam   Retail Sales   K3         40     2026-10-05  yes     2026-11-05  (after T)
    R2                        K4         25     2026-09-15  yes     2026-09-30
    R3   Tom   (no group)     K5         15     2026-09-01  no      -
    R3                        K6         20     2026-07-01  yes     (no date)

At T: outstanding = K2 100 + K3 40 (settled only after T) + K5 15 = 155; paid in October = K1 50;
earned in October = K2 100 + K3 40 = 140 -> average rate = 140 / 2800 * 100 = 5 %.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import clean_table

from arinsight import commissions, ledger
from arinsight.schemas import empty_table


def make_tables() -> dict[str, pd.DataFrame]:
    invoices = clean_table(
        "invoices",
        [
            dict(invoice_id=i, customer_id=c, invoice_date=d, due_date=d, amount=a,
                 due_date_derived=False, is_overpaid=False)
            for i, c, d, a in [
                ("I1", "A", "2026-08-01", 1000.0), ("I2", "A", "2026-09-15", 500.0),
                ("I3", "B", "2026-10-01", 2000.0), ("I4", "B", "2026-10-05", 800.0),
                ("I5", "C", "2026-09-01", 300.0), ("I6", "C", "2026-07-01", 400.0),
            ]
        ],
    )  # fmt: skip
    customers = clean_table(
        "customers",
        [
            dict(customer_id="A", region="North"),
            dict(customer_id="B", region="North"),
            dict(customer_id="C", region="South"),
        ],
    )
    reps = clean_table(
        "sales_reps",
        [
            dict(sales_rep_id="R1", rep_name="Rita", sales_group="Premium Sales"),
            dict(sales_rep_id="R2", rep_name="Sam", sales_group="Retail Sales"),
            dict(sales_rep_id="R3", rep_name="Tom", sales_group=None),
        ],
    )
    rows = [
        ("K1", "R1", "I1", 50.0, "2026-08-01", True, "2026-10-10"),
        ("K2", "R1", "I3", 100.0, "2026-10-01", False, None),
        ("K3", "R2", "I4", 40.0, "2026-10-05", True, "2026-11-05"),
        ("K4", "R2", "I2", 25.0, "2026-09-15", True, "2026-09-30"),
        ("K5", "R3", "I5", 15.0, "2026-09-01", False, None),
        ("K6", "R3", "I6", 20.0, "2026-07-01", True, None),
    ]
    com = clean_table(
        "commissions",
        [
            dict(commission_id=k, sales_rep_id=r, invoice_id=i, commission_amount=a,
                 commission_rate=5.0, accrual_date=d, is_settled=s, settlement_date=sd)
            for k, r, i, a, d, s, sd in rows
        ],
    )  # fmt: skip
    return {
        "customers": customers,
        "invoices": invoices,
        "payments": empty_table("payments"),
        "sales_reps": reps,
        "commissions": com,
    }


@pytest.fixture()
def tables() -> dict[str, pd.DataFrame]:
    return make_tables()


def test_commission_kpis_october(tables):
    """See the module docstring: accrued 155, paid MTD 50, earned 140, rate 5 %."""
    k = commissions.commission_kpis(tables, "2026-10", {"top_n": 2, "trailing_months": 3})
    assert k["total_accrued_commissions"] == 155.0
    assert k["commissions_paid_mtd"] == 50.0
    assert k["commissions_earned"] == 140.0
    assert k["credit_sales"] == 2800.0
    assert k["average_commission_rate"] == pytest.approx(5.0)
    assert k["top_reps"]["sales_rep_id"].tolist() == ["R1", "R2"]


def test_commission_kpis_september(tables):
    """At T = 09-30: outstanding = K1 50 (settled only 10-10) + K5 15 = 65 (K4 settled on T,
    K6 settled without date); paid in September = K4 25; earned = K4 25 + K5 15 = 40 on sales of
    800 -> 5 %."""
    k = commissions.commission_kpis(tables, ledger.period_bounds("2026-09"), None)
    assert (k["total_accrued_commissions"], k["commissions_paid_mtd"], k["commissions_earned"]) == (
        65.0,
        25.0,
        40.0,
    )
    assert k["average_commission_rate"] == pytest.approx(5.0)


def test_no_sales_gives_none_rate(tables):
    """December 2026: no invoices and no accruals -> rate None (not 0 or inf); the liability at
    T = 12-31 is K2 100 + K5 15 = 115 (K3 settled on 11-05); nothing paid in December."""
    k = commissions.commission_kpis(tables, "2026-12", {})
    assert k["average_commission_rate"] is None
    assert (k["total_accrued_commissions"], k["commissions_paid_mtd"]) == (115.0, 0.0)


def test_empty_region(tables):
    """Region West has a customer (W1) but no invoice and no commission: every number None
    (with the reason), empty tables, no error."""
    west = clean_table("customers", [{"customer_id": "W1", "region": "West"}])
    tables = {**tables, "customers": pd.concat([tables["customers"], west], ignore_index=True)}
    k = commissions.commission_kpis(ledger.select_region(tables, "West"), "2026-10", {})
    assert k["na_reasons"]["total_accrued_commissions"].startswith("no commission records")
    assert all(k[key] is None for key in commissions.COMMISSION_KEYS)
    assert k["top_reps"].empty and k["by_group"].empty
    assert k["monthly"]["accrued"].sum() == 0


def test_top_reps(tables):
    """Outstanding at T: R1 100 (K2), R2 40 (K3), R3 15 (K5). R1 earned 100 and was paid 50 (K1)
    in October; R3 has no group -> "Unassigned"."""
    top = commissions.top_reps(tables, "2026-10", 10)
    assert top["sales_rep_id"].tolist() == ["R1", "R2", "R3"]
    assert top["accrued_outstanding"].tolist() == [100.0, 40.0, 15.0]
    assert top["earned_in_period"].tolist() == [100.0, 40.0, 0.0]
    assert top["paid_in_period"].tolist() == [50.0, 0.0, 0.0]
    assert top.loc[2, "sales_group"] == "Unassigned"
    with pytest.raises(ValueError, match="top_n"):
        commissions.top_reps(tables, "2026-10", 0)


def test_commissions_by_rep_keeps_every_rep_with_a_record(tables):
    """September (T = 2026-09-30), records accrued by T: K1 (R1, 50, paid 2026-10-10: outstanding),
    K4 (R2, 25, accrued and paid in September), K5 (R3, 15, unpaid), K6 (R3, 20, settled without
    a date: not outstanding). R1 50 / 0 / 0, R3 15 / 15 / 0, R2 0 / 25 / 25 (outstanding /
    earned / paid): R2 has nothing outstanding, so top_reps leaves it out and this keeps it."""
    by_rep = commissions.commissions_by_rep(tables, "2026-09")
    assert by_rep["sales_rep_id"].tolist() == ["R1", "R3", "R2"]
    assert by_rep["accrued_outstanding"].tolist() == [50.0, 15.0, 0.0]
    assert by_rep["earned_in_period"].tolist() == [0.0, 15.0, 25.0]
    assert by_rep["paid_in_period"].tolist() == [0.0, 0.0, 25.0]
    assert commissions.top_reps(tables, "2026-09", 10)["sales_rep_id"].tolist() == ["R1", "R3"]


def test_monthly_commissions(tables):
    """Aug-Oct: accrued Aug 50 (K1), Sep 25 + 15 = 40, Oct 100 + 40 = 140; paid Aug 0, Sep 25 (K4),
    Oct 50 (K1) (K6 settled in July, K3 after T). Outstanding at month ends: Aug 50 (K1; K6
    settled), Sep 50 + 15 = 65, Oct 100 + 40 + 15 = 155 (= total accrued commissions at T)."""
    m = commissions.monthly_commissions(tables, "2026-10", 3)
    assert m["month"].tolist() == ["2026-08", "2026-09", "2026-10"]
    assert m["accrued"].tolist() == [50.0, 40.0, 140.0]
    assert m["paid"].tolist() == [0.0, 25.0, 50.0]
    assert m["outstanding"].tolist() == [50.0, 65.0, 155.0]
    with pytest.raises(ValueError, match="trailing_months"):
        commissions.monthly_commissions(tables, "2026-10", 0)


def test_distribution_by_group(tables):
    """Earned in October: Premium Sales 100 (R1), Retail Sales 40 (R2) -> 71.43 % and 28.57 %."""
    g = commissions.distribution_by_group(tables, "2026-10")
    assert g["sales_group"].tolist() == ["Premium Sales", "Retail Sales"]
    assert g["commissions"].tolist() == [100.0, 40.0]
    assert g["share_pct"].tolist() == [71.43, 28.57]
    with pytest.raises(ValueError, match="period"):
        commissions.distribution_by_group(tables, "October")


def test_commission_kpis_error(tables):
    """A commissions table without is_settled is refused naming the column."""
    bad = dict(tables, commissions=tables["commissions"].drop(columns="is_settled"))
    with pytest.raises(ValueError, match="is_settled"):
        commissions.commission_kpis(bad, "2026-10", {})
