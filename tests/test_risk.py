"""Tests of arinsight.risk: labels, leakage-free features, model, evaluation, scoring, persistence.

Expected values are worked out by hand in each test's docstring on tiny hand-made ledgers; the
model-quality tests use a synthetic ledger with learnable behaviour (and the embedded sample).
"""

from __future__ import annotations

import json
import math
import os

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from arinsight import risk  # noqa: E402
from arinsight.errors import UserError  # noqa: E402
from arinsight.ledger import UnknownRegion  # noqa: E402
from arinsight.risk import cache as risk_cache  # noqa: E402
from arinsight.risk import run as risk_run  # noqa: E402

D = pd.Timestamp


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _inv(rows):
    """rows: (invoice_id, customer_id, invoice_date, due_date, amount)."""
    df = pd.DataFrame(
        rows, columns=["invoice_id", "customer_id", "invoice_date", "due_date", "amount"]
    )
    df["invoice_date"] = pd.to_datetime(df["invoice_date"])
    df["due_date"] = pd.to_datetime(df["due_date"])
    df["amount"] = df["amount"].astype(float)
    df["energy_kwh"] = np.nan
    return df


def _pay(rows):
    """rows: (invoice_id or None, customer_id, payment_date, amount)."""
    df = pd.DataFrame(rows, columns=["invoice_id", "customer_id", "payment_date", "amount"])
    df.insert(0, "payment_id", [f"P{i}" for i in range(len(df))])
    df["payment_date"] = pd.to_datetime(df["payment_date"])
    df["amount"] = df["amount"].astype(float)
    return df


def _cust(rows):
    """rows: (customer_id, region, industry, customer_type, credit_limit)."""
    return pd.DataFrame(
        rows, columns=["customer_id", "region", "industry", "customer_type", "credit_limit"]
    ).assign(customer_name=lambda d: "Name " + d["customer_id"])


def synthetic_ledger(
    n_invoices=3000, n_customers=120, seed=0, start="2024-01-01", end="2026-10-31"
):
    """A ledger with persistent customer propensity + industry effect + amount effect.

    Late invoices are paid 31 + Exp(35) days after the due date (10 % never), on-time ones between
    10 days early and 29 days late; 20 % are paid in two instalments; no payment after ``end``.
    """
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    industries = np.array(["Manufacturing", "Energy", "Retail", "Services"])
    ind_effect = {"Manufacturing": 0.8, "Energy": 0.6, "Retail": -0.3, "Services": -0.6}
    cust = pd.DataFrame(
        {
            "customer_id": [f"C_{i}" for i in range(n_customers)],
            "customer_name": [f"Customer {i}" for i in range(n_customers)],
            "region": rng.choice(["North", "South", "East", "West"], n_customers),
            "industry": rng.choice(industries, n_customers),
            "customer_type": rng.choice(["SME", "Enterprise"], n_customers),
            "credit_limit": rng.choice([10000.0, 25000.0, 50000.0], n_customers),
            "payment_terms_days": rng.choice([30.0, 45.0], n_customers),
        }
    )
    effect = rng.normal(0, 1.3, n_customers) + cust["industry"].map(ind_effect).to_numpy()
    ci = rng.integers(0, n_customers, n_invoices)
    days = (end - start).days
    inv_date = start + pd.to_timedelta(np.sort(rng.integers(0, days - 10, n_invoices)), unit="D")
    terms = cust["payment_terms_days"].to_numpy()[ci]
    amount = np.round(rng.lognormal(7.5, 0.8, n_invoices), 2)
    p = 1 / (1 + np.exp(-(-1.2 + effect[ci] + 0.3 * (np.log(amount) - 7.5))))
    late = rng.random(n_invoices) < p
    delay = np.where(late, 31 + rng.exponential(35, n_invoices), rng.uniform(-10, 29, n_invoices))
    inv = pd.DataFrame(
        {
            "invoice_id": [f"INV{i:06d}" for i in range(n_invoices)],
            "customer_id": cust["customer_id"].to_numpy()[ci],
            "invoice_date": inv_date,
            "due_date": inv_date + pd.to_timedelta(terms, unit="D"),
            "amount": amount,
            "currency": "USD",
            "energy_kwh": np.round(rng.lognormal(10, 1, n_invoices), 1),
        }
    )
    pay_date = inv["due_date"] + pd.to_timedelta(np.floor(delay), unit="D")
    pay_date = pay_date.where(pay_date >= inv["invoice_date"], inv["invoice_date"])
    never = late & (rng.random(n_invoices) < 0.1)
    split = rng.random(n_invoices) < 0.2
    first = np.where(split, np.round(amount * 0.4, 2), amount)
    early = pay_date - pd.to_timedelta(np.where(split, 7, 0), unit="D")
    p1 = pd.DataFrame(
        {
            "invoice_id": inv["invoice_id"],
            "customer_id": inv["customer_id"],
            "payment_date": early.where(early >= inv["invoice_date"], inv["invoice_date"]),
            "amount": first,
        }
    )
    p2 = pd.DataFrame(
        {
            "invoice_id": inv["invoice_id"],
            "customer_id": inv["customer_id"],
            "payment_date": pay_date,
            "amount": np.round(amount - first, 2),
        }
    )[split]
    pay = pd.concat([p1[~never], p2[~never[split]]], ignore_index=True)
    pay = pay[pay["payment_date"] <= end].sort_values(["payment_date", "invoice_id"])
    pay = pay.reset_index(drop=True)
    pay.insert(0, "payment_id", [f"P{i:07d}" for i in range(len(pay))])
    return {"customers": cust, "invoices": inv, "payments": pay}


@pytest.fixture(scope="module")
def ledger():
    return synthetic_ledger(4000, 150, seed=3)


@pytest.fixture(scope="module")
def small_run(ledger):
    return risk.run_risk(ledger, "2026-10", region="North", backtest_months=2, high_risk_top_n=5)


class ConstantModel:
    """A stand-in fitted model: predict_proba gives probability ``p`` of late for every row."""

    def __init__(self, p):
        self.p = p
        self.feature_names_in_ = np.array(risk.FEATURES)

    def predict_proba(self, X):
        return np.column_stack([np.full(len(X), 1 - self.p), np.full(len(X), self.p)])


# ----------------------------------------------------------------------------------------------
# settlement and labels
# ----------------------------------------------------------------------------------------------


def test_settlement_paid_date_partial_over_and_unapplied():
    """A (100): 40 on 01-20 + 60 on 02-10 -> cumulative 40, 100 -> paid 02-10.
    B (50): 70 on 01-15 (overpaid) -> paid 01-15. C (80): 79.99 on 01-05 -> short by a cent -> NaT.
    Unapplied cash of 500 (no invoice id) settles nothing."""
    inv = _inv(
        [
            ("A", "X", "2026-01-01", "2026-01-31", 100),
            ("B", "X", "2026-01-01", "2026-01-31", 50),
            ("C", "X", "2026-01-01", "2026-01-31", 80),
        ]
    )
    pay = _pay(
        [
            ("A", "X", "2026-01-20", 40),
            ("A", "X", "2026-02-10", 60),
            ("B", "X", "2026-01-15", 70),
            ("C", "X", "2026-01-05", 79.99),
            (None, "X", "2026-01-02", 500),
        ]
    )
    s = risk.settlement(inv, pay).set_index("invoice_id")["paid_date"]
    assert s["A"] == D("2026-02-10")
    assert s["B"] == D("2026-01-15")
    assert pd.isna(s["C"])


def test_settlement_missing_column_is_an_error():
    inv = _inv([("A", "X", "2026-01-01", "2026-01-31", 100)]).drop(columns="due_date")
    with pytest.raises(risk.RiskModelError, match="due_date"):
        risk.settlement(inv, _pay([]))


def test_paid_date_is_the_engines_no_redating_and_payment_id_breaks_ties():
    """Paid date = the payment date on which the cumulative payments, in (payment_date,
    payment_id) order, first reach the amount; nothing else.

    * E (issued 01-10, 100): paid in full on 01-05, before its invoice date (a cleaning matter:
      02_clean quarantines it as payment_before_invoice). Risk does not re-date it: paid 01-05.
    * R (issued 01-01, 100): on 01-05 a payment of 100 (id P9) and its reversal of -100 (id P1),
      listed in that order; then 100 on 01-20. By payment id the reversal comes first: cumulative
      -100, 0 on 01-05, 100 on 01-20 -> paid 01-20 (in list order it would have been 01-05).
    * Cut at T = 01-19: R is not paid by T (NaT)."""
    inv = _inv(
        [
            ("E", "X", "2026-01-10", "2026-02-09", 100),
            ("R", "X", "2026-01-01", "2026-01-31", 100),
        ]
    )
    pay = _pay(
        [
            ("E", "X", "2026-01-05", 100),
            ("R", "X", "2026-01-05", 100),
            ("R", "X", "2026-01-05", -100),
            ("R", "X", "2026-01-20", 100),
        ]
    )
    pay["payment_id"] = ["P5", "P9", "P1", "P7"]
    s = risk.settlement(inv, pay).set_index("invoice_id")["paid_date"]
    assert s["E"] == D("2026-01-05") and s["R"] == D("2026-01-20")
    cut = risk.settlement(inv, pay[pay["payment_date"] <= "2026-01-19"]).set_index("invoice_id")
    assert pd.isna(cut.loc["R", "paid_date"])
    labels = risk.late_labels(inv, pay, "2026-01-31", late_days=0).set_index("invoice_id")
    assert labels.loc["E", "days_to_pay"] == -35 and labels.loc["R", "days_to_pay"] == -11


def test_paid_dates_match_the_receivables_engine(ledger):
    """On the synthetic ledger (split payments, unpaid invoices) risk's paid date of every invoice
    equals receivables.invoice_positions' at T = 2026-10-31 and at T = 2025-06-30 (payments cut
    at T), and at least a thousand invoices are paid by each."""
    from arinsight.receivables import invoice_positions

    inv, pay = ledger["invoices"], ledger["payments"]
    for T in ("2026-10-31", "2025-06-30"):
        cut = pay[pay["payment_date"] <= T]
        ours = risk.settlement(inv[inv["invoice_date"] <= T], cut).set_index("invoice_id")
        engine = invoice_positions(inv, cut, T).set_index("invoice_id")
        assert engine["paid_date"].notna().sum() > 1000
        pd.testing.assert_series_equal(  # the same dates (the engine's come in microseconds)
            ours["paid_date"].astype("datetime64[ns]"),
            engine["paid_date"].reindex(ours.index).astype("datetime64[ns]"),
            check_names=False,
        )


def test_late_labels_by_hand():
    """late_days L = 30, every invoice due 2026-01-31 (D).

    * I1 paid 2026-03-15: S - D = 43 > 30 -> late once paid.
      C = 2026-03-01: C - D = 29, unpaid -> unknown. C = 2026-03-03: C - D = 31, unpaid -> known
      late (unpaid that long), matured. C = 2026-03-31: paid by C -> late, days_to_pay 43.
    * I2 paid 2026-02-20: S - D = 20 -> on time. C = 2026-02-10: unpaid, 10 days -> unknown.
      C = 2026-02-25: paid -> known, not late, NOT matured (25 <= 30).
    * I3 never paid: C = 2026-03-02 (30 days, not > 30) unknown; C = 2026-03-03 (31) late.
    * I4 paid 2026-03-02: S - D = 30 exactly -> not late (late means MORE than 30 days).
    * I5 issued 2026-04-01 -> not in the labels of a cut-off before it.
    """
    inv = _inv(
        [
            ("I1", "X", "2026-01-01", "2026-01-31", 100),
            ("I2", "X", "2026-01-01", "2026-01-31", 100),
            ("I3", "X", "2026-01-01", "2026-01-31", 100),
            ("I4", "X", "2026-01-01", "2026-01-31", 100),
            ("I5", "X", "2026-04-01", "2026-05-01", 100),
        ]
    )
    pay = _pay(
        [
            ("I1", "X", "2026-03-15", 100),
            ("I2", "X", "2026-02-20", 100),
            ("I4", "X", "2026-03-02", 100),
        ]
    )

    def at(c):
        return risk.late_labels(inv, pay, c, late_days=30).set_index("invoice_id")

    l1 = at("2026-03-01")
    assert not l1.loc["I1", "outcome_known"] and pd.isna(l1.loc["I1", "late"])
    assert not l1.loc["I3", "outcome_known"]
    l2 = at("2026-03-03")
    assert l2.loc["I1", "outcome_known"] and l2.loc["I1", "late"] and l2.loc["I1", "matured"]
    assert pd.isna(l2.loc["I1", "paid_date"])  # the payment of 03-15 is after the cut-off
    assert l2.loc["I3", "late"] and l2.loc["I3", "matured"]
    assert l2.loc["I4", "late"] == False  # noqa: E712 - NA-aware boolean
    l3 = at("2026-03-31")
    assert l3.loc["I1", "late"] and l3.loc["I1", "days_to_pay"] == 43
    assert "I5" not in l3.index
    l4 = at("2026-02-10")
    assert not l4.loc["I2", "outcome_known"]
    l5 = at("2026-02-25")
    assert l5.loc["I2", "outcome_known"] and l5.loc["I2", "late"] == False  # noqa: E712
    assert not l5.loc["I2", "matured"]


def test_late_labels_negative_late_days_is_an_error():
    with pytest.raises(risk.RiskModelError, match="late_days"):
        risk.late_labels(_inv([]), _pay([]), "2026-01-31", late_days=-1)


# ----------------------------------------------------------------------------------------------
# features
# ----------------------------------------------------------------------------------------------


def _feature_ledger():
    """Customer X (credit limit 1000), late_days L = 10:

    * A: issued 01-01, due 01-11, 100; paid 40 on 01-05 and 60 on 01-30 -> S - D = 19 > 10, late,
      resolved K = D + 11 = 01-22.
    * B: issued 01-10, due 01-20, 200; paid 01-25 -> S - D = 5, on time, K = 01-25.
    * D: issued 01-10 (same day as B), due 01-20, 10; paid 01-12 -> S - D = -8, on time, K = 01-12.
    * E: issued 01-23, due 02-02, 300; unpaid.
    * C: issued 02-01, due 02-11, 50; unpaid.
    Customer Y (no credit limit): F issued 01-15, 500, unpaid.
    """
    inv = _inv(
        [
            ("A", "X", "2026-01-01", "2026-01-11", 100),
            ("B", "X", "2026-01-10", "2026-01-20", 200),
            ("D", "X", "2026-01-10", "2026-01-20", 10),
            ("E", "X", "2026-01-23", "2026-02-02", 300),
            ("C", "X", "2026-02-01", "2026-02-11", 50),
            ("F", "Y", "2026-01-15", "2026-02-14", 500),
        ]
    )
    pay = _pay(
        [
            ("A", "X", "2026-01-05", 40),
            ("A", "X", "2026-01-30", 60),
            ("B", "X", "2026-01-25", 200),
            ("D", "X", "2026-01-12", 10),
            (None, "X", "2026-01-02", 999),
        ]
    )
    cust = _cust([("X", "North", "Energy", "SME", 1000.0), ("Y", "South", None, "SME", None)])
    return inv, pay, cust


def test_invoice_features_by_hand():
    """Features at the close of the day before each invoice (see _feature_ledger):

    * A (01-01): no history: prior 0, known 0, rates NaN, balance 0, credit use 0/1000 = 0.
    * B and D (01-10): prior = {A} = 1 (same-day invoices do not see each other); nothing resolved
      or paid yet -> NaN rates; balance = A's 100 - 40 = 60; A due 01-11 not yet overdue -> 0;
      credit use 60 / 1000 = 0.06.
    * E (01-23): prior {A, B, D} = 3; resolved before 01-23: D (01-12, on time), A (01-22, late)
      -> known 2, late rate 1/2; paid before: D only, max(0, -8) = 0 -> mean days late 0;
      balance A 60 + B 200 = 260, both past due at close of 01-22 -> overdue 260; use 0.26;
      last late resolution 01-22 -> 1 day; latest resolution (A) was late -> last_late 1.
    * C (02-01): prior {A, B, D, E} = 4; resolved: D, A, B (01-25) -> 3 known, 1 late -> 1/3;
      paid: D 0, B 5, A 19 -> mean 8; balance = E 300 (due 02-02, not overdue) -> overdue 0;
      use 0.3; days since last late 02-01 - 01-22 = 10; latest resolution B on time -> 0.
    * F (Y): no history; no credit limit -> credit use NaN; industry missing -> "Unknown".
    The unapplied 999 does not reduce any balance. terms_days = 10 for X's invoices.
    """
    inv, pay, cust = _feature_ledger()
    f = risk.invoice_features(inv, pay, cust, late_days=10).set_index("invoice_id")
    assert list(f.index) == ["A", "B", "D", "E", "C", "F"]
    a, b, d, e, c, y = (f.loc[k] for k in ["A", "B", "D", "E", "C", "F"])
    assert a["prior_invoices"] == 0 and a["prior_known"] == 0
    assert math.isnan(a["prior_late_rate"]) and math.isnan(a["days_since_last_late"])
    assert a["credit_limit_use"] == 0 and math.isnan(a["last_late"])
    for row in (b, d):
        assert row["prior_invoices"] == 1 and row["prior_known"] == 0
        assert math.isnan(row["prior_mean_days_late"])
        assert row["open_balance"] == 60 and row["overdue_balance"] == 0
        assert row["credit_limit_use"] == pytest.approx(0.06)
    assert e["prior_invoices"] == 3 and e["prior_known"] == 2
    assert e["prior_late_rate"] == pytest.approx(0.5)
    assert e["prior_mean_days_late"] == 0
    assert e["open_balance"] == 260 and e["overdue_balance"] == 260
    assert e["credit_limit_use"] == pytest.approx(0.26)
    assert e["days_since_last_late"] == 1 and e["last_late"] == 1
    assert c["prior_invoices"] == 4 and c["prior_known"] == 3
    assert c["prior_late_rate"] == pytest.approx(1 / 3)
    assert c["prior_mean_days_late"] == pytest.approx(8)
    assert c["open_balance"] == 300 and c["overdue_balance"] == 0
    assert c["credit_limit_use"] == pytest.approx(0.3)
    assert c["days_since_last_late"] == 10 and c["last_late"] == 0
    assert c["terms_days"] == 10 and c["month"] == 2 and c["industry"] == "Energy"
    assert y["prior_invoices"] == 0 and math.isnan(y["credit_limit_use"])
    assert y["industry"] == "Unknown"


def test_invoice_features_duplicate_ids_are_an_error():
    inv, pay, cust = _feature_ledger()
    with pytest.raises(risk.RiskModelError, match="not unique"):
        risk.invoice_features(pd.concat([inv, inv.head(1)]), pay, cust)


def test_no_leakage_deleting_or_shuffling_the_future_changes_no_feature(ledger):
    """For 15 invoices (seeded pick), the features computed from the full ledger equal those
    computed (a) after deleting every payment dated on or after the invoice date and every invoice
    issued after it, and (b) after shuffling the dates and amounts among those later payments."""
    inv, pay, cust = ledger["invoices"], ledger["payments"], ledger["customers"]
    full = risk.invoice_features(inv, pay, cust).set_index("invoice_id")
    rng = np.random.default_rng(7)
    picks = inv.iloc[rng.choice(len(inv), 15, replace=False)]
    cols = risk.FEATURES + [risk.BASELINE]
    for _, row in picks.iterrows():
        d = row["invoice_date"]
        cut_inv = inv[inv["invoice_date"] <= d]
        cut_pay = pay[pay["payment_date"] < d]
        cut = risk.invoice_features(cut_inv, cut_pay, cust).set_index("invoice_id")
        pd.testing.assert_series_equal(
            cut.loc[row["invoice_id"], cols], full.loc[row["invoice_id"], cols], check_names=False
        )
        later = pay["payment_date"] >= d
        shuffled = pay.copy()
        order = rng.permutation(int(later.sum()))
        for col in ("payment_date", "amount"):
            shuffled.loc[later, col] = shuffled.loc[later, col].to_numpy()[order]
        mixed = risk.invoice_features(inv, shuffled, cust).set_index("invoice_id")
        pd.testing.assert_series_equal(
            mixed.loc[row["invoice_id"], cols], full.loc[row["invoice_id"], cols], check_names=False
        )


def _leak_ledger():
    """Customer X (credit limit 1000), late_days L = 10; the invoice I of 02-01 is looked at.

    Known at the close of 01-31 (dated before 02-01):
    * A: issued 01-01, due 01-11, 100, paid 100 on 01-15 -> S - D = 4, on time, K = 01-15.
    * B: issued 01-05, due 01-15, 200, paid 50 on 01-10 only -> unpaid at 01-26 -> late,
      K = D + 11 = 01-26; open 150, overdue since 01-16.
    * C: issued 01-20, due 02-20, 400, unpaid -> open 400, not due.
    Features of I: prior_invoices 3; resolved before 02-01: A (on time), B (late) -> known 2, late
    rate 1/2; paid before: A, days late max(0, 4) = 4 -> mean 4; open balance 100 - 100 + 200 - 50
    + 400 = 550; overdue: B's 150 (due 01-15 < 01-31); credit use 550 / 1000 = 0.55; days since
    last late 02-01 - 01-26 = 6; latest resolution (B, 01-26) late -> last_late 1; terms 30.
    """
    inv = _inv(
        [
            ("A", "X", "2026-01-01", "2026-01-11", 100),
            ("B", "X", "2026-01-05", "2026-01-15", 200),
            ("C", "X", "2026-01-20", "2026-02-20", 400),
            ("I", "X", "2026-02-01", "2026-03-03", 80),
        ]
    )
    pay = _pay(
        [
            ("A", "X", "2026-01-15", 100),
            ("B", "X", "2026-01-10", 50),
        ]
    )
    cust = _cust([("X", "North", "Energy", "SME", 1000.0)])
    return inv, pay, cust


_LEAK_EXPECTED = {
    "prior_invoices": 3.0,
    "prior_known": 2.0,
    "prior_late_rate": 0.5,
    "prior_mean_days_late": 4.0,
    "open_balance": 550.0,
    "overdue_balance": 150.0,
    "credit_limit_use": 0.55,
    "days_since_last_late": 6.0,
    "last_late": 1.0,
    "terms_days": 30.0,
    "amount": 80.0,
}


def test_vectorised_features_by_hand_never_see_what_is_dated_from_the_invoice_date_on():
    """I's features (see _leak_ledger, computed by hand there) stay the same whatever is added or
    changed on or after its invoice date 02-01: B paid in full on 02-01 (same day) and C paid on
    02-10; another invoice of X issued 02-01 (same day) and one issued 03-01; a payment of I
    itself; more unapplied cash; every later payment moved by a year. Changing something dated
    before 02-01 (B's payment of 01-10 raised to 200) does move them (the test can fail)."""
    inv, pay, cust = _leak_ledger()
    cols = list(_LEAK_EXPECTED)

    def feats_of_i(invoices, payments):
        f = risk.invoice_features(invoices, payments, cust, late_days=10).set_index("invoice_id")
        return f.loc["I", cols].astype(float).to_dict()

    assert feats_of_i(inv, pay) == pytest.approx(_LEAK_EXPECTED)
    later_pay = _pay(
        [
            ("B", "X", "2026-02-01", 150),
            ("C", "X", "2026-02-10", 400),
            ("I", "X", "2026-02-01", 80),
            (None, "X", "2026-02-02", 999),
        ]
    )
    later_inv = _inv(
        [
            ("J", "X", "2026-02-01", "2026-02-11", 500),
            ("K", "X", "2026-03-01", "2026-03-11", 50),
        ]
    )
    more_pay = pd.concat([pay, later_pay], ignore_index=True)
    more_pay["payment_id"] = [f"P{i}" for i in range(len(more_pay))]
    more_inv = pd.concat([inv, later_inv], ignore_index=True)
    assert feats_of_i(more_inv, more_pay) == pytest.approx(_LEAK_EXPECTED)
    moved = more_pay.copy()
    after = moved["payment_date"] >= "2026-02-01"
    moved.loc[after, "payment_date"] += pd.Timedelta(days=365)
    moved.loc[after, "amount"] *= 0.5
    assert feats_of_i(more_inv, moved) == pytest.approx(_LEAK_EXPECTED)
    past = pay.copy()
    past.loc[past["invoice_id"] == "B", "amount"] = 200.0
    changed = feats_of_i(inv, past)
    assert changed["open_balance"] == 400 and changed["prior_late_rate"] == 0


def test_training_rows_never_include_invoices_due_after_the_cutoff(ledger):
    """A model trained at cut-off C = 2025-06-30 learns only from invoices due before C - 30
    (matured), and the labels are those known at C: an invoice paid after C but late by C is late."""
    inv, pay, cust = ledger["invoices"], ledger["payments"], ledger["customers"]
    C = D("2025-06-30")
    feats = risk.invoice_features(inv, pay, cust)
    labels = risk.late_labels(inv, pay, C, late_days=30)
    rows = risk.training_rows(feats, labels)
    assert len(rows) > 100
    assert (rows["due_date"] < C - pd.Timedelta(days=30)).all()
    assert rows["invoice_date"].max() <= C


def test_run_for_an_old_period_ignores_the_future(ledger):
    """Running for 2025-06 on the full ledger and on the ledger cut at 2025-06-30 gives the same
    metrics and the same scores: nothing after T is used."""
    cut = dict(ledger)
    T = D("2025-06-30")
    cut["invoices"] = ledger["invoices"][ledger["invoices"]["invoice_date"] <= T]
    cut["payments"] = ledger["payments"][ledger["payments"]["payment_date"] <= T]
    kw = dict(backtest_months=1, importance_samples=300)
    a = risk.run_risk(ledger, "2025-06", **kw)
    b = risk.run_risk(cut, "2025-06", **kw)
    assert a.metrics == b.metrics
    pd.testing.assert_frame_equal(a.scores, b.scores)
    assert (
        a.metrics["test_to"] <= "2025-06-30" and a.metrics["train_cutoff"] < a.metrics["test_from"]
    )


# ----------------------------------------------------------------------------------------------
# metrics, model and evaluation
# ----------------------------------------------------------------------------------------------


def test_classification_metrics_by_hand():
    """y = [0, 0, 1, 1], score = [0.1, 0.4, 0.35, 0.8].
    ROC AUC: positive/negative pairs ranked right: 0.35>0.1, 0.8>0.1, 0.8>0.4 (not 0.35>0.4) = 3/4.
    PR AUC (average precision): ranked 0.8 (1), 0.4 (0), 0.35 (1): precision 1 then 2/3 at each
    recall step of 1/2 -> 0.5 + 1/3 = 0.8333. Brier = (0.01 + 0.16 + 0.4225 + 0.04) / 4 = 0.158125.
    Top decile = ceil(4/10) = 1 invoice (0.8, late): 1 / 0.5 = lift 2."""
    m = risk.classification_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["pr_auc"] == pytest.approx(5 / 6)
    assert m["brier"] == pytest.approx(0.158125)
    assert m["top_decile_lift"] == pytest.approx(2.0)


def test_classification_metrics_single_class_and_empty():
    """Only on-time invoices: AUCs undefined (None), lift undefined (None), Brier = mean(s^2)
    = (0.01 + 0.09) / 2 = 0.05. No invoice at all is an error."""
    m = risk.classification_metrics([0, 0], [0.1, 0.3])
    assert m["roc_auc"] is None and m["pr_auc"] is None and m["top_decile_lift"] is None
    assert m["brier"] == pytest.approx(0.05)
    with pytest.raises(risk.RiskModelError):
        risk.classification_metrics([], [])


def test_fit_model_needs_history():
    inv, pay, cust = _feature_ledger()
    feats = risk.invoice_features(inv, pay, cust, late_days=10)
    labels = risk.late_labels(inv, pay, "2026-03-31", late_days=10)
    with pytest.raises(risk.RiskModelError, match="not enough history"):
        risk.fit_model(feats, labels)


def test_model_beats_the_rule_on_synthetic_ledger(small_run):
    """The synthetic ledger's lateness depends on a persistent customer propensity + industry +
    amount, so the model must beat "late last time" on ROC AUC and PR AUC in the test months, and
    its calibrated probabilities must beat the base rate's Brier score."""
    m = small_run.metrics
    assert m["beats_baseline"] == {"roc_auc": True, "pr_auc": True}
    assert m["model"]["roc_auc"] > m["baseline_last_late"]["roc_auc"]
    assert m["model"]["brier"] < m["baseline_base_rate"]["brier"]
    assert m["model"]["top_decile_lift"] > 1.5
    assert m["train_to"] <= m["train_cutoff"] < m["test_from"] <= m["test_to"]
    assert len(m["backtest"]) == 2


def test_model_beats_the_rule_on_the_sample():
    """The embedded sample (10k invoices, period 2026-10) has learnable behaviour by design."""
    sample = pytest.importorskip("arinsight.sample")
    tables = sample.generate(10_000, 42)
    ev = risk.evaluate(
        risk.invoice_features(tables["invoices"], tables["payments"], tables["customers"]),
        risk.settlement(tables["invoices"], tables["payments"]),
        "2026-10-31",
        backtest_months=0,
    )
    m = ev.metrics
    assert m["model"]["roc_auc"] > m["baseline_last_late"]["roc_auc"]
    assert m["model"]["pr_auc"] > m["baseline_last_late"]["pr_auc"]


def test_evaluate_without_matured_invoices_is_an_error():
    inv, pay, cust = _feature_ledger()
    feats = risk.invoice_features(inv, pay, cust)
    with pytest.raises(risk.NotEnoughHistory, match="no invoice has a known outcome yet"):
        risk.evaluate(feats, risk.settlement(inv, pay), "2026-02-01", late_days=30)


def test_permutation_importance_needs_both_outcomes(small_run):
    t = small_run.evaluation.test_features
    imp = small_run.importance
    assert set(imp["feature"]) == set(risk.FEATURES)
    assert imp["importance"].iloc[0] > 0
    with pytest.raises(risk.RiskModelError, match="both"):
        risk.permutation_importance_table(small_run.model, t, np.zeros(len(t)))


# ----------------------------------------------------------------------------------------------
# scoring
# ----------------------------------------------------------------------------------------------


def test_payment_timing_kaplan_meier_by_hand():
    """L = 10, T = 2026-06-30, late invoices all due 2026-01-01:
    paid 12, 12 and 20 days after the due date, one unpaid (censored at T - D = 180 days... so
    give it a paid date beyond T: it counts as unpaid at T). Shifted times t = days - 11:
    1, 1, 9 (events) and 169 (censored). At t=0: 4 at risk, no event -> S = 1; t=1: 2 of 4 paid
    -> 0.5; t=2..8 -> 0.5; t=9: 1 of 2 paid -> 0.25; then flat until the censored one leaves.
    On-time invoice paid 3 days early -> on_time = [-3]."""
    inv = _inv(
        [
            ("L1", "X", "2025-12-01", "2026-01-01", 10),
            ("L2", "X", "2025-12-01", "2026-01-01", 10),
            ("L3", "X", "2025-12-01", "2026-01-01", 10),
            ("L4", "X", "2025-12-01", "2026-01-01", 10),
            ("O1", "X", "2025-12-01", "2026-01-01", 10),
        ]
    )
    pay = _pay(
        [
            ("L1", "X", "2026-01-13", 10),
            ("L2", "X", "2026-01-13", 10),
            ("L3", "X", "2026-01-21", 10),
            ("O1", "X", "2025-12-29", 10),
        ]
    )
    timing = risk.payment_timing(risk.settlement(inv, pay), "2026-06-30", late_days=10)
    assert list(timing.on_time) == [-3]
    s = timing.late_survival
    assert s[0] == 1 and s[1] == 0.5 and s[8] == 0.5 and s[9] == 0.25 and s[-1] == 0.25
    assert list(timing.late_unpaid(np.array([5, 11, 12, 20, 400]))) == [1, 1, 0.5, 0.25, 0.25]


def test_score_open_invoices_by_hand():
    """T = 2026-06-30, L = 10, model p = 0.2 for every invoice. On-time history: S - D in
    {-5, 0, 5, 10}; late survival 0.8, 0.6, then 0.5 (t = days - 11).

    * I1 due 06-10 (k = 20 > 10): already late -> p' = 1, expected overdue 100, 30 days past due.
    * I2 due 06-28 (k = 2): F(2) = 2/4 -> p' = 0.2 / (0.2 + 0.8 x 0.5) = 1/3; open 60 (40 paid).
    * I3 due 07-10 (k = -10): F = 0 -> p' = 0.2; expected overdue 0.2 x 100 = 20.
      Collected within 30 days (k+h = 20): on time F(20) - F(-10) = 1; late: 1 - S(20) = 1 - 0.5
      -> 0.2 x 0.5 + 0.8 x 1 = 0.9 -> 90.
    * I1 within 30 days: late part (S(20) - S(50)) / S(20) = 0 -> 0.
    * P (paid) is not open.
    """
    inv = _inv(
        [
            ("I1", "X", "2026-05-01", "2026-06-10", 100),
            ("I2", "X", "2026-05-01", "2026-06-28", 100),
            ("I3", "Y", "2026-06-01", "2026-07-10", 100),
            ("P", "Y", "2026-05-01", "2026-05-31", 100),
        ]
    )
    pay = _pay([("I2", "X", "2026-06-01", 40), ("P", "Y", "2026-05-20", 100)])
    cust = _cust([("X", "North", "Energy", "SME", 1000.0), ("Y", "South", "Retail", "SME", 500.0)])
    feats = risk.invoice_features(inv, pay, cust, late_days=10)
    timing = risk.PaymentTiming(10, np.array([-5.0, 0.0, 5.0, 10.0]), np.array([0.8, 0.6, 0.5]))
    s = risk.score_open_invoices(ConstantModel(0.2), feats, inv, pay, "2026-06-30", 10, timing)
    assert list(s["invoice_id"]) == ["I1", "I2", "I3"]
    s = s.set_index("invoice_id")
    assert s.loc["I1", "probability_late"] == 1 and s.loc["I1", "expected_overdue"] == 100
    assert s.loc["I1", "days_past_due"] == 20
    assert s.loc["I2", "open_amount"] == 60
    assert s.loc["I2", "probability_late"] == pytest.approx(1 / 3)
    assert s.loc["I2", "expected_overdue"] == pytest.approx(20.0)
    assert (
        s.loc["I3", "probability_late"] == pytest.approx(0.2) and s.loc["I3", "days_past_due"] == 0
    )
    assert s.loc["I3", "expected_collected_30d"] == pytest.approx(90.0)
    assert s.loc["I1", "expected_collected_30d"] == 0
    assert (s["model_probability"] == 0.2).all()


def test_score_open_invoices_needs_features():
    inv, pay, cust = _feature_ledger()
    feats = risk.invoice_features(inv.head(2), pay, cust)
    with pytest.raises(risk.RiskModelError, match="features are missing"):
        risk.score_open_invoices(ConstantModel(0.5), feats, inv, pay, "2026-03-31", 10)


def _scores():
    """X: two open invoices 100 (p 0.5, 10 days past due) and 300 (p 0.1, not due);
    Y: one 50 (p 1, 40 days past due); Z: one 10 (p 0 -> expected overdue 0)."""
    return pd.DataFrame(
        {
            "invoice_id": ["a", "b", "c", "d"],
            "customer_id": ["X", "X", "Y", "Z"],
            "open_amount": [100.0, 300.0, 50.0, 10.0],
            "days_past_due": [10, 0, 40, 0],
            "probability_late": [0.5, 0.1, 1.0, 0.0],
            "expected_overdue": [50.0, 30.0, 50.0, 0.0],
            "expected_collected_30d": [10.0, 200.0, 5.0, 10.0],
            "expected_collected_60d": [20.0, 250.0, 10.0, 10.0],
            "expected_collected_90d": [30.0, 290.0, 20.0, 10.0],
        }
    )


def test_customer_risk_and_high_risk_by_hand():
    """X: open 400, overdue 100 (only a is past due), expected overdue 50 + 30 = 80, share
    80/400 = 0.2, max p 0.5. Y: open 50, overdue 50, expected 50, share 1. Z: expected 0.
    Order by expected overdue: X (80), Y (50), Z (0). Top 1 -> [X]; top 5 -> [X, Y] (Z has none);
    threshold 0.5 on the share -> [Y]."""
    r = risk.customer_risk(_scores())
    assert list(r["customer_id"]) == ["X", "Y", "Z"]
    x = r.set_index("customer_id").loc["X"]
    assert x["open_amount"] == 400 and x["overdue_amount"] == 100
    assert x["expected_overdue"] == 80 and x["risk_share"] == pytest.approx(0.2)
    assert x["max_probability"] == 0.5 and x["open_invoices"] == 2
    assert risk.high_risk_customers(r, top_n=1) == ["X"]
    assert risk.high_risk_customers(r, top_n=5) == ["X", "Y"]
    assert risk.high_risk_customers(r, top_n=None, threshold=0.5) == ["Y"]
    with pytest.raises(risk.RiskModelError):
        risk.high_risk_customers(r, top_n=None, threshold=None)
    with pytest.raises(risk.RiskModelError, match="scores"):
        risk.customer_risk(_scores().drop(columns="expected_overdue"))


def test_expected_collections_by_hand():
    """30 days: 10 + 200 + 5 + 10 = 225; 60: 20 + 250 + 10 + 10 = 290; 90: 30 + 290 + 20 + 10 = 350."""
    assert risk.expected_collections(_scores()) == {
        "expected_collections_30d": 225.0,
        "expected_collections_60d": 290.0,
        "expected_collections_90d": 350.0,
    }
    with pytest.raises(risk.RiskModelError):
        risk.expected_collections(_scores().drop(columns="expected_collected_60d"))


# ----------------------------------------------------------------------------------------------
# persistence
# ----------------------------------------------------------------------------------------------


def test_save_and_load_model_round_trip(small_run, tmp_path):
    model_path, meta_path = risk.save_model(
        small_run.model, tmp_path / "m.skops", small_run.metadata
    )
    model, meta = risk.load_model(model_path)
    X = small_run.evaluation.test_features
    np.testing.assert_allclose(risk.predict_late(model, X), risk.predict_late(small_run.model, X))
    assert meta["features"] == risk.FEATURES
    assert set(meta["library_versions"]) >= {"scikit-learn", "skops", "pandas", "numpy", "python"}
    assert meta["training_window"]["cutoff"] == "2026-10-31"
    assert json.loads(meta_path.read_text())["late_days"] == 30


def test_load_model_refuses_untrusted_types(tmp_path):
    """A file holding a function from ``os`` (would run on load with pickle) is refused, and the
    message names the untrusted type."""
    import skops.io as sio
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "evil.skops"
    sio.dump(Pipeline([("f", FunctionTransformer(func=os.system))]), path)
    with pytest.raises(risk.UntrustedModelError, match="untrusted type.*system") as info:
        risk.load_model(path)
    assert isinstance(info.value, UserError)


def test_load_model_missing_or_not_skops(tmp_path):
    with pytest.raises(risk.RiskModelError, match="not found"):
        risk.load_model(tmp_path / "none.skops")
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(risk.RiskModelError, match="not a readable"):
        risk.load_model(bad)
    with pytest.raises(risk.RiskModelError, match=".skops"):
        risk.save_model(object(), tmp_path / "m.pkl", {})


# ----------------------------------------------------------------------------------------------
# the notebook's run
# ----------------------------------------------------------------------------------------------


def test_run_risk_writes_outputs(small_run, ledger, tmp_path):
    """Scores cover exactly the open invoices of region North; the JSON parts hold the keys of
    DESIGN.md section 11; the parquet is sorted by invoice_id."""
    run = small_run
    paths = risk.write_outputs(run, tmp_path)
    metrics = json.loads(paths["metrics"].read_text())
    for key in (
        "late_days",
        "base_rate",
        "n_train",
        "n_test",
        "train_from",
        "train_to",
        "test_from",
        "test_to",
        "model",
        "baseline_last_late",
    ):
        assert key in metrics
    assert set(metrics["model"]) == {"roc_auc", "pr_auc", "brier", "top_decile_lift"}
    assert set(metrics["baseline_last_late"]) == {"roc_auc", "pr_auc", "brier"}
    kpis = json.loads(paths["kpis"].read_text())
    assert kpis["high_risk_customers"] == run.high_risk and len(run.high_risk) == 5
    assert kpis["expected_overdue_amount"] == pytest.approx(run.scores["expected_overdue"].sum())
    scores = pd.read_parquet(paths["scores"])
    assert list(scores.columns) == risk.SCORE_COLUMNS
    assert scores["invoice_id"].is_monotonic_increasing
    cust = ledger["customers"]
    north = set(cust.loc[cust["region"] == "North", "customer_id"])
    assert len(scores) > 0 and set(run.scores["customer_id"]) <= north
    open_north = risk.score_open_invoices(
        run.model,
        risk.invoice_features(ledger["invoices"], ledger["payments"], cust),
        ledger["invoices"],
        ledger["payments"],
        run.as_of,
    )
    assert len(scores) == open_north["customer_id"].isin(north).sum()
    assert (scores["expected_overdue"] <= scores["open_amount"] + 0.01).all()
    assert paths["model"].exists() and paths["model_metadata"].exists()
    assert "late-payment risk" in risk.model_card(run)


def test_run_risk_without_invoices_is_unavailable_not_an_error(tmp_path):
    """No invoice issued by 2025-01-31: no model, the reason in plain words, every risk KPI
    null with that reason, and the outputs written without a model file."""
    inv, pay, cust = _feature_ledger()
    run = risk.run_risk({"invoices": inv, "payments": pay, "customers": cust}, "2025-01")
    assert not run.available
    assert run.unavailable == "no invoices issued by 2025-01-31: nothing to train or score"
    kpis = run.kpis()
    assert kpis["high_risk_customers"] is None and kpis["expected_collections_30d"] is None
    assert kpis["na_reasons"]["high_risk_customers"].startswith("no risk model: no invoices")
    paths = risk.write_outputs(run, tmp_path)
    metrics = json.loads(paths["metrics"].read_text())
    assert metrics["status"] == "not enough data" and metrics["model"]["roc_auc"] is None
    assert not (tmp_path / "risk_model.skops").exists()
    assert "No model for 2025-01" in risk.model_card(run)


def test_model_card_reports_a_model_that_does_not_beat_the_rule(small_run):
    run = small_run
    worse = dict(run.metrics) | {"beats_baseline": {"roc_auc": False, "pr_auc": True}}
    card = risk.model_card(
        risk.RiskRun(
            **{
                **run.__dict__,
                "evaluation": risk.Evaluation(
                    worse, run.evaluation.predictions, run.evaluation.backtest
                ),
            }
        )
    )
    assert "does not beat" in card and "ROC AUC" in card


# ----------------------------------------------------------------------------------------------
# the risk cache (trained once per period) and the cost controls
# ----------------------------------------------------------------------------------------------

_CACHE_KW = dict(backtest_months=1, importance_samples=300, high_risk_top_n=5)


@pytest.fixture(scope="module")
def cache_dir(ledger, tmp_path_factory):
    """A cache filled by a first (cold) run for "All"."""
    folder = tmp_path_factory.mktemp("risk_cache")
    run = risk.run_risk(ledger, "2026-10", "All", cache_dir=folder, **_CACHE_KW)
    assert run.from_cache is False
    return folder


def test_a_processed_folder_gives_the_run_of_its_frames(ledger, tmp_path):
    """The notebook passes the processed folder: the engine reads the files and only the rows
    the models learn from, test and score come into pandas. Same model, metrics, scores and
    region selection as from the frames; a region not in the data is still refused."""
    for name, frame in ledger.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    fresh = risk.run_risk(ledger, "2026-10", "North", **_CACHE_KW)
    from_files = risk.run_risk(tmp_path, "2026-10", "North", **_CACHE_KW)
    assert 0 < len(from_files.scores) < len(risk.run_risk(tmp_path, "2026-10", **_CACHE_KW).scores)
    a = risk.write_outputs(fresh, tmp_path / "fresh")
    b = risk.write_outputs(from_files, tmp_path / "files")
    for name in ("kpis", "metrics", "scores"):
        assert a[name].read_bytes() == b[name].read_bytes(), name
    with pytest.raises(UnknownRegion, match="Westt"):
        risk.run_risk(tmp_path, "2026-10", "Westt", **_CACHE_KW)


def _entries(folder):
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_cached_run_writes_the_same_outputs_as_a_fresh_run(
    ledger, cache_dir, tmp_path, monkeypatch
):
    """A regional run that finds the entry only loads it (training is made impossible) and writes
    byte-identical kpis_risk.json, risk_metrics.json and risk_scores.parquet to a run without
    the cache; the figures' inputs (predictions, backtest, importance) are equal too."""
    fresh = risk.run_risk(ledger, "2026-10", "North", **_CACHE_KW)

    def no_training(*args, **kwargs):
        raise AssertionError("a cached run must not train")

    monkeypatch.setattr(risk_run, "_train_and_score", no_training)
    cached = risk.run_risk(ledger, "2026-10", "North", cache_dir=cache_dir, **_CACHE_KW)
    assert cached.from_cache is True and fresh.from_cache is False
    assert len(_entries(cache_dir)) == 1
    a = risk.write_outputs(fresh, tmp_path / "fresh")
    b = risk.write_outputs(cached, tmp_path / "cached")
    for name in ("kpis", "metrics", "scores", "model_metadata"):
        assert a[name].read_bytes() == b[name].read_bytes(), name
    assert json.loads(b["kpis"].read_text())["high_risk_customers"] == fresh.high_risk
    assert len(fresh.high_risk) == 5
    pd.testing.assert_frame_equal(fresh.evaluation.predictions, cached.evaluation.predictions)
    pd.testing.assert_frame_equal(fresh.evaluation.backtest, cached.evaluation.backtest)
    pd.testing.assert_frame_equal(fresh.importance, cached.importance)
    X = fresh.evaluation.test_features
    np.testing.assert_array_equal(
        risk.predict_late(cached.model, X), risk.predict_late(fresh.model, X)
    )
    np.testing.assert_array_equal(
        risk.predict_late(cached.evaluation.model, X), risk.predict_late(fresh.evaluation.model, X)
    )


def test_cache_key_follows_data_params_and_code(ledger, monkeypatch):
    """Same content (a copy) and another region/top-n give the same key; one cent on one
    payment, another late_days, period, seed or code version each give a new key."""
    import arinsight

    key = risk.risk_cache_key(ledger, "2026-10")
    copy = {k: v.copy() for k, v in ledger.items()}
    assert risk.risk_cache_key(copy, "2026-10") == key
    copy["payments"].loc[copy["payments"].index[10], "amount"] += 0.01
    assert risk.risk_cache_key(copy, "2026-10") != key
    assert risk.risk_cache_key(ledger, "2026-10", late_days=45) != key
    assert risk.risk_cache_key(ledger, "2026-09") != key
    assert risk.risk_cache_key(ledger, "2026-10", random_seed=7) != key
    assert risk.risk_cache_key(ledger, "2026-10", backtest_months=5) != key
    monkeypatch.setattr(arinsight, "__version__", "99.0")
    assert risk.risk_cache_key(ledger, "2026-10") != key


def test_changed_data_is_never_served_from_the_cache(ledger, cache_dir):
    """A payment moved by one day: the run retrains (new entry) instead of loading the old one."""
    changed = {k: v.copy() for k, v in ledger.items()}
    pay = changed["payments"]
    pay.loc[pay.index[5], "payment_date"] -= pd.Timedelta(days=1)
    before = _entries(cache_dir)
    run = risk.run_risk(changed, "2026-10", "All", cache_dir=cache_dir, **_CACHE_KW)
    assert run.from_cache is False
    assert len(_entries(cache_dir)) == len(before) + 1


def _trained(ledger, cache_dir):
    run = risk.run_risk(ledger, "2026-10", "All", cache_dir=cache_dir, **_CACHE_KW)
    return risk_cache.Trained(run.evaluation, run.model, run.importance, run.metadata, run.scores)


def test_parallel_runs_of_one_key_train_once(ledger, cache_dir, tmp_path):
    """Two concurrent runs of the same key: the second waits on the lock, then loads the entry
    the first wrote; the (slow) training runs exactly once and no temporary folder is left."""
    import threading

    trained = _trained(ledger, cache_dir)
    calls = []

    def compute():
        calls.append(threading.get_ident())
        import time

        time.sleep(1.0)
        return trained

    results = {}

    def worker(i):
        results[i] = risk_cache.cached(tmp_path, "k" * 32, compute)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert sorted(r[1] for r in results.values()) == [False, True]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k" * 32, "k" * 32 + ".lock"]
    loaded = next(r[0] for r in results.values() if r[1])
    pd.testing.assert_frame_equal(loaded.scores, trained.scores)
    assert loaded.evaluation.metrics == trained.evaluation.metrics


def test_unreadable_or_untrusted_entry_is_replaced_not_loaded(ledger, cache_dir, tmp_path):
    """An entry whose model file holds an untrusted type (os.system) is never loaded: the run
    recomputes and replaces it with a readable entry."""
    import skops.io as sio
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    trained = _trained(ledger, cache_dir)
    key = "e" * 32
    risk_cache.write_entry(trained, tmp_path / key, key)
    sio.dump(Pipeline([("f", FunctionTransformer(func=os.system))]), tmp_path / key / "model.skops")
    with pytest.raises(risk.UntrustedModelError):
        risk_cache.load_entry(tmp_path / key)
    calls = []
    got, from_cache = risk_cache.cached(tmp_path, key, lambda: calls.append(1) or trained)
    assert calls == [1] and from_cache is False
    again, from_cache = risk_cache.cached(tmp_path, key, lambda: calls.append(2) or trained)
    assert calls == [1] and from_cache is True
    pd.testing.assert_frame_equal(again.importance, trained.importance)


def _strata(frame):
    """Rows per (invoice month, late) of a frame of training rows."""
    month = frame["invoice_date"].dt.strftime("%Y-%m")
    return frame.groupby([month, frame["late"].astype(bool)]).size()


def test_training_sample_by_hand_is_stratified_capped_and_seeded():
    """20 training rows: January 8 on time + 2 late, February 6 on time + 4 late.

    Cap 10 (half): each stratum keeps exactly half: 4, 1, 3, 2.
    Cap 7: quotas 7 x n_s / 20 = 2.8, 0.7, 2.1, 1.4 -> floors 2, 0, 2, 1 (5 rows); the 2 rows left
    go to the largest remainders 7 x n_s mod 20: Jan on time (16) and Jan late (14), not Feb on
    time (2) or Feb late (8) -> 3, 1, 2, 1 (7 rows).
    Cap 20 or more, or None: every row, the frame itself.
    The rows kept keep their order; the same seed gives the same rows, another seed other rows."""
    rows = [("2026-01-05", False)] * 8 + [("2026-01-20", True)] * 2
    rows += [("2026-02-03", False)] * 6 + [("2026-02-17", True)] * 4
    train = pd.DataFrame(rows, columns=["invoice_date", "late"])
    train["invoice_date"] = pd.to_datetime(train["invoice_date"])
    train["invoice_id"] = [f"I{i:02d}" for i in range(len(train))]
    train = train.sample(frac=1.0, random_state=1)  # strata interleaved in the row order

    def counts(frame):
        return dict(_strata(frame))

    half = risk.training_sample(train, 10, random_seed=42)
    assert counts(half) == {
        ("2026-01", False): 4,
        ("2026-01", True): 1,
        ("2026-02", False): 3,
        ("2026-02", True): 2,
    }
    seven = risk.training_sample(train, 7, random_seed=42)
    assert counts(seven) == {
        ("2026-01", False): 3,
        ("2026-01", True): 1,
        ("2026-02", False): 2,
        ("2026-02", True): 1,
    }
    order = list(train.index)
    assert [order.index(i) for i in seven.index] == sorted(order.index(i) for i in seven.index)
    again = risk.training_sample(train, 7, random_seed=42)
    assert list(again["invoice_id"]) == list(seven["invoice_id"])
    other = risk.training_sample(train, 7, random_seed=7)
    assert counts(other) == counts(seven)
    assert set(other["invoice_id"]) != set(seven["invoice_id"])
    assert risk.training_sample(train, 20) is train and risk.training_sample(train, None) is train
    with pytest.raises(risk.RiskModelError, match="max_train_rows"):
        risk.training_sample(train, -1)


def test_every_fit_is_capped_to_a_stratified_sample(ledger):
    """With a cap of 400 rows the headline evaluation and each backtest month learn from 400
    invoices drawn from the (far more) invoices matured at their cut-off, and every (month,
    late) stratum of the sample holds its proportional share of the 400 to within one row; the
    numbers are the same on a second run (seeded)."""
    inv, pay, cust = ledger["invoices"], ledger["payments"], ledger["customers"]
    feats = risk.invoice_features(inv, pay, cust)
    settled = risk.settlement(inv, pay)
    ev = risk.evaluate(feats, settled, "2026-10-31", backtest_months=2, max_train_rows=400)
    m = ev.metrics
    assert m["max_train_rows"] == 400 and m["n_train"] == 400 and m["n_matured"] > 2000
    assert [r["n_train"] for r in m["backtest"]] == [400, 400]
    assert all(r["n_matured"] > 2000 for r in m["backtest"])
    again = risk.evaluate(feats, settled, "2026-10-31", backtest_months=2, max_train_rows=400)
    assert again.metrics == m
    train = risk.training_rows(feats, risk.late_labels(inv, pay, "2026-06-30"))
    sample = risk.training_sample(train, 400, random_seed=42)
    whole, part = _strata(train), _strata(sample).reindex(_strata(train).index, fill_value=0)
    share = whole * 400 / len(train)
    assert len(sample) == 400 and (np.abs(part - share) < 1).all()
    assert sample["invoice_id"].is_unique and set(sample["invoice_id"]) <= set(train["invoice_id"])


def test_capped_run_says_so_on_the_page(ledger):
    """A run whose final model learned from a sample (cap 1,000 of about 3,000 matured invoices):
    the metadata, the headline and the model card say it was a sample, and of how many."""
    run = risk.run_risk(ledger, "2026-10", backtest_months=1, max_train_rows=1000)
    tw = run.metadata["training_window"]
    assert tw["n_train"] == 1000 and tw["n_matured"] > 2000 and tw["max_train_rows"] == 1000
    assert f"a random sample of 1,000 of the {tw['n_matured']:,} invoices" in risk.headline(run)
    card = risk.model_card(run)
    assert f"of the {tw['n_matured']:,} issued" in card and "at most 1,000" in card


def test_runner_submits_the_model_pages_for_all_first_and_the_regions_last():
    """With 2 workers, 05 and 06 for "All" (which train and fill the caches) start at once, side
    by side; the regions' 06 and 05 runs come after every 03/04 run, so none holds a worker
    while it waits for a cache (East's forecast waited 30 s at 1M invoices). The Provision
    and Disputes pages (07, 08) run with 03/04."""
    from arinsight.runs import region_jobs

    jobs = region_jobs(["All", "East", "North"])
    assert jobs == [
        ("05_risk_scoring.ipynb", "All"),
        ("06_cash_forecast.ipynb", "All"),
        ("03_receivables.ipynb", "All"),
        ("03_receivables.ipynb", "East"),
        ("03_receivables.ipynb", "North"),
        ("04_commissions.ipynb", "All"),
        ("04_commissions.ipynb", "East"),
        ("04_commissions.ipynb", "North"),
        ("07_provision.ipynb", "All"),
        ("07_provision.ipynb", "East"),
        ("07_provision.ipynb", "North"),
        ("08_disputes.ipynb", "All"),
        ("08_disputes.ipynb", "East"),
        ("08_disputes.ipynb", "North"),
        ("06_cash_forecast.ipynb", "East"),
        ("06_cash_forecast.ipynb", "North"),
        ("05_risk_scoring.ipynb", "East"),
        ("05_risk_scoring.ipynb", "North"),
    ]


def test_large_training_sets_use_fewer_larger_boosting_steps_and_the_card_says_so(small_run):
    """< 100k rows: 3 folds, lr 0.08, 200 trees; 100k..500k: 2 folds; >= 500k: lr 0.16, 100
    trees. The model card reports the settings, and no sample when none was drawn (the synthetic
    ledger is far below the default cap; a capped run: test_capped_run_says_so_on_the_page)."""
    settings = {
        n: (m[-1].cv, m[-1].estimator.learning_rate, m[-1].estimator.max_iter)
        for n in (99_999, 100_000, 499_999, 500_000)
        for m in [risk.build_model(42, n)]
    }
    assert settings == {
        99_999: (3, 0.08, 200),
        100_000: (2, 0.08, 200),
        499_999: (2, 0.08, 200),
        500_000: (2, 0.16, 100),
    }
    run = small_run
    ms = run.metadata["model_settings"]
    assert ms["learning_rate"] == 0.08 and ms["calibration_folds"] == 3 and len(ms["n_iter"]) == 3
    card = risk.model_card(run)
    assert "Learning rate 0.08, at most 200 trees" in card and "random sample" not in card


def test_customer_risk_pending_risk_and_measured_kpis():
    """A: INV-1 open 100 already late (P = 1), INV-2 open 300 not late (P = 0.2) -> expected
    overdue 100 + 60 = 160, risk share 160/400 = 0.4, pending risk 60/300 = 0.2, max P 1.0.
    B: INV-3 open 100, P = 0.7 -> risk share 0.7 = pending risk. Amount at risk 230 of 500
    open = 46 %; customers with a risk share >= 0.5: B only (1), whatever the call-list size."""
    scores = pd.DataFrame(
        {
            "invoice_id": ["INV-1", "INV-2", "INV-3"],
            "customer_id": ["A", "A", "B"],
            "open_amount": [100.0, 300.0, 100.0],
            "days_past_due": [45, 0, 10],
            "probability_late": [1.0, 0.2, 0.7],
            "expected_overdue": [100.0, 60.0, 70.0],
        }
    )
    cr = risk.customer_risk(scores).set_index("customer_id")
    assert cr.loc["A", "expected_overdue"] == 160.0 and cr.loc["A", "max_probability"] == 1.0
    assert cr.loc["A", "risk_share"] == pytest.approx(0.4)
    assert cr.loc["A", "pending_risk"] == pytest.approx(0.2)
    assert cr.loc["B", "pending_risk"] == pytest.approx(0.7)
    by_days = risk.customer_risk(scores, late_days=30).set_index("customer_id")
    assert by_days.loc["A", "pending_risk"] == pytest.approx(0.2)
    run = risk.RiskRun(
        period="2026-10", region="All", as_of=pd.Timestamp("2026-10-31"), late_days=30,
        evaluation=None, model=None, metadata={}, scores=scores,
        customers=cr.reset_index(), high_risk=["A", "B"], collections={}, importance=pd.DataFrame(),
    )  # fmt: skip
    k = run.kpis()
    assert k["expected_overdue_amount"] == 230.0 and k["open_amount_scored"] == 500.0
    assert k["amount_at_risk_share"] == pytest.approx(46.0)
    assert k["customers_at_risk"] == 1 and k["high_risk_customers"] == ["A", "B"]
    with pytest.raises(risk.RiskModelError, match="open_amount"):
        risk.customer_risk(scores.drop(columns=["open_amount"]))


# ----------------------------------------------------------------------------------------------
# own data: empty or constant features, nothing open
# ----------------------------------------------------------------------------------------------


def test_usable_features_drops_empty_and_constant_ones():
    """30 rows. credit_limit has no value, energy_kwh is 5.0 on every row and customer_type is
    "Unknown" everywhere (no data): those three are dropped with their reason; so is
    credit_limit_use, known on 29 rows only (fewer than MIN_FEATURE_VALUES = 30: a fold of the
    calibrated model could hold none of them); amount (two values on all 30 rows) and industry
    (two values) are kept."""
    train = pd.DataFrame({c: [np.nan] * 30 for c in risk.NUMERIC})
    train["amount"] = [10.0, 20.0] * 15
    train["energy_kwh"] = [5.0] * 30
    train["credit_limit_use"] = [0.1, 0.2] * 14 + [0.3, np.nan]
    train["industry"] = ["Energy", "Retail"] * 15
    train["region"] = ["North"] * 30
    train["customer_type"] = ["Unknown"] * 30
    numeric, categorical, dropped = risk.usable_features(train)
    assert numeric == ["amount"] and categorical == ["industry"]
    assert dropped["credit_limit"] == "no values in the data"
    assert dropped["credit_limit_use"] == (
        "known for only 29 of 30 training invoices (at least 30 needed)"
    )
    assert dropped["customer_type"] == "no values in the data"
    assert dropped["energy_kwh"] == "the same value on every invoice (5.0)"
    assert dropped["region"] == "the same value on every invoice (North)"


def test_flat_export_without_credit_limits_or_energy_trains(ledger):
    """The crash of a real flat export: no credit limits and no energy usage at all (all-empty
    feature columns) made HistGradientBoosting fail ("window shape cannot be larger than input
    array shape"). The model now trains without them and the model card says they were not used."""
    no_limits = {
        **ledger,
        "customers": ledger["customers"].assign(credit_limit=np.nan),
        "invoices": ledger["invoices"].assign(energy_kwh=np.nan),
    }
    run = risk.run_risk(no_limits, "2026-10", backtest_months=1, high_risk_top_n=3)
    assert run.available
    assert {"credit_limit", "credit_limit_use", "energy_kwh"} <= set(
        run.metadata["dropped_features"]
    )
    assert "credit_limit" not in run.metadata["features"]
    assert "credit limit (no values in the data)" in risk.model_card(run)


def test_nothing_open_at_t_is_shown_not_an_error(ledger):
    """Every invoice paid by T (payments added for whatever was open): the model trains, no
    invoice is scored, expected collections are 0 (nothing is owed), no customer is flagged and
    the segment figure and the flagged table say so instead of failing."""
    from arinsight.plots.interactive import risk as ip

    pos = risk.settlement(ledger["invoices"], ledger["payments"])
    open_ = pos.loc[pos["paid_date"].isna() & (pos["invoice_date"] <= "2026-10-31")]
    paid = ledger["payments"].groupby("invoice_id")["amount"].sum()
    extra = pd.DataFrame(
        {
            "payment_id": [f"X{i}" for i in range(len(open_))],
            "invoice_id": open_["invoice_id"].to_numpy(),
            "customer_id": open_["customer_id"].to_numpy(),
            "payment_date": pd.Timestamp("2026-10-31"),
            "amount": (open_["amount"] - open_["invoice_id"].map(paid).fillna(0))
            .round(2)
            .to_numpy(),
        }
    )
    settled = {**ledger, "payments": pd.concat([ledger["payments"], extra], ignore_index=True)}
    run = risk.run_risk(settled, "2026-10", backtest_months=1)
    assert run.available and run.scores.empty and run.high_risk == []
    assert run.kpis()["expected_collections_30d"] == 0.0
    fig = ip.risk_by_segment(run)
    assert [a.text for a in fig.layout.annotations] == ["No open invoice on 2026-10-31"]
    assert "No customer has an open invoice at risk" in ip.call_list(run).data
