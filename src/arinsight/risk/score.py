"""Scoring at T: the probability that each open invoice is paid late, per customer, and the payment timing behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from arinsight.risk.base import CATEGORICAL, FEATURES, HORIZONS, RiskModelError
from arinsight.risk.labels import check_columns, engine_settlement, row_positions
from arinsight.risk.model import predict_late


@dataclass(frozen=True)
class PaymentTiming:
    """When matured invoices were paid, relative to their due date (history at T).

    ``on_time``: sorted ``S - D`` of the on-time invoices (all observed). ``late_survival[i]``:
    Kaplan-Meier probability that a late invoice is still unpaid ``late_days + 1 + i`` days after
    its due date (unpaid ones are censored at ``T - D``).
    """

    late_days: int
    on_time: np.ndarray
    late_survival: np.ndarray

    def on_time_cdf(self, x: np.ndarray) -> np.ndarray:
        """P(S - D <= x | on time)."""
        if len(self.on_time) == 0:
            return np.zeros(len(x))
        return np.searchsorted(self.on_time, x, side="right") / len(self.on_time)

    def late_unpaid(self, x: np.ndarray) -> np.ndarray:
        """P(still unpaid x days after the due date | late); 1 up to ``late_days``."""
        x = np.asarray(x)
        i = x - (self.late_days + 1)
        out = np.ones(len(x))
        if len(self.late_survival):
            past = i >= 0
            out[past] = self.late_survival[np.minimum(i[past], len(self.late_survival) - 1)]
        return out


def payment_timing(settled: pd.DataFrame, as_of: Any, late_days: int = 30) -> PaymentTiming:
    """Learn payment timing from the invoices matured at T (see :class:`PaymentTiming`)."""
    from arinsight.engine.session import NO_DAY

    C = pd.Timestamp(as_of).normalize()
    s = settled.loc[settled["invoice_date"] <= C]
    paid = s["paid_date"].notna() & (s["paid_date"] <= C)

    def days(values: pd.Series) -> np.ndarray:
        return values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)

    paid_day = np.where(paid.to_numpy(), days(s["paid_date"].fillna(C)), NO_DAY)
    return timing_of_days(
        days(s["due_date"]), paid_day, int(days(pd.Series([C]))[0]), int(late_days)
    )


def timing_of_days(
    due_day: np.ndarray, paid_day: np.ndarray, t_day: int, late_days: int
) -> PaymentTiming:
    """:func:`payment_timing` of invoices issued by T (day ``t_day``) given by their due and
    paid days (:data:`~arinsight.engine.session.NO_DAY`: unpaid at T)."""
    from arinsight.engine.session import NO_DAY

    L = int(late_days)
    due_day, paid_day = np.asarray(due_day, np.int64), np.asarray(paid_day, np.int64)
    paid = paid_day != NO_DAY
    days_to_pay = paid_day - due_day
    matured = t_day - due_day > L
    late = np.where(paid, days_to_pay > L, True)
    on_time = np.sort(days_to_pay[matured & paid & ~late].astype(float))
    sel = matured & late
    observed = paid[sel]
    duration = np.where(observed, days_to_pay[sel], t_day - due_day[sel]).astype(int)
    survival = np.zeros(0)
    if len(duration):
        t = duration - (L + 1)  # >= 0 for every late invoice
        size = int(t.max()) + 1
        events = np.bincount(t[observed], minlength=size)
        ends = np.bincount(t, minlength=size)  # leave the risk set after day t
        at_risk = len(t) - np.concatenate([[0], np.cumsum(ends)[:-1]])
        hazard = np.divide(events, at_risk, out=np.zeros(size), where=at_risk > 0)
        survival = np.cumprod(1.0 - hazard)
    return PaymentTiming(L, on_time, survival)


def score_open_invoices(
    model,
    features: pd.DataFrame,
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    as_of: Any,
    late_days: int = 30,
    timing: PaymentTiming | None = None,
) -> pd.DataFrame:
    """Probability of late payment and expected overdue amount of every invoice open at T.

    Open at T: issued by T with ``open_amount = amount - payments applied by T > 0``.
    ``model_probability`` p = the model's score at the invoice date. ``probability_late`` is p
    updated with the fact that the invoice is still unpaid ``k = T - D`` days after its due date
    (Bayes, with the on-time payment-timing distribution F of :func:`payment_timing`):
    ``p' = p / (p + (1 - p) * (1 - F(k)))`` for ``k <= late_days`` and ``p' = 1`` once
    ``k > late_days`` (it is already late). ``expected_overdue = p' x open_amount``.
    ``expected_collected_{h}d`` = open_amount x P(paid in the next h days | unpaid at T).

    Returns one row per open invoice sorted by ``invoice_id``: ``invoice_id, customer_id,
    invoice_date, due_date, open_amount, days_past_due (max(0, k)), model_probability,
    probability_late, expected_overdue, expected_collected_30d/60d/90d`` + categorical features.
    """
    C = pd.Timestamp(as_of).normalize()
    L = int(late_days)
    settled, _ = engine_settlement(invoices, payments, C)
    if timing is None:
        timing = payment_timing(settled, C, L)
    return score_rows(model, features, settled, C, L, timing)


def score_rows(
    model,
    features: pd.DataFrame,
    settled: pd.DataFrame,
    C: pd.Timestamp,
    L: int,
    timing: PaymentTiming,
) -> pd.DataFrame:
    """:func:`score_open_invoices` of the engine's settlement at C (its ``open_amount``)."""
    is_open = (settled["_cents_open_amount"] > 0).to_numpy()
    cols = ["invoice_id", "customer_id", "invoice_date", "due_date", "open_amount"]
    rows = settled.loc[is_open, cols].reset_index(drop=True)
    at = row_positions(rows["invoice_id"], features["invoice_id"])
    if (at < 0).any():
        raise RiskModelError(
            "features are missing for some open invoices; compute them on the same ledger"
        )
    extra = [c for c in ("report_region",) if c in features.columns]
    picked = features[FEATURES + extra].iloc[at].reset_index(drop=True)
    rows = pd.concat([rows, picked], axis=1)
    k = (C - rows["due_date"]).dt.days.to_numpy(dtype=int)
    p = predict_late(model, rows)
    unpaid_on_time = 1.0 - timing.on_time_cdf(k)
    denom = p + (1.0 - p) * unpaid_on_time
    p_now = np.where(k > L, 1.0, np.divide(p, denom, out=np.ones(len(p)), where=denom > 0))
    p_now = np.clip(p_now, 0.0, 1.0)
    out = rows[["invoice_id", "customer_id", "invoice_date", "due_date", "open_amount"]].copy()
    out["days_past_due"] = np.maximum(k, 0)
    out["model_probability"] = p
    out["probability_late"] = p_now
    out["expected_overdue"] = (p_now * out["open_amount"]).round(2)
    s_late_k = timing.late_unpaid(k)
    for h in HORIZONS:
        late_part = np.divide(
            s_late_k - timing.late_unpaid(k + h), s_late_k, out=np.zeros(len(k)), where=s_late_k > 0
        )
        f_k = timing.on_time_cdf(k)
        on_part = np.divide(
            timing.on_time_cdf(k + h) - f_k, 1.0 - f_k, out=np.zeros(len(k)), where=f_k < 1
        )
        prob = p_now * late_part + (1.0 - p_now) * on_part
        out[f"expected_collected_{h}d"] = (prob * out["open_amount"]).round(2)
    for col in CATEGORICAL + extra:
        out[col] = rows[col].to_numpy()
    return out.sort_values("invoice_id", kind="mergesort").reset_index(drop=True)


def customer_risk(
    scores: pd.DataFrame, customers: pd.DataFrame | None = None, late_days: int | None = None
) -> pd.DataFrame:
    """Customer-level risk at T from :func:`score_open_invoices`.

    Per customer: ``open_invoices``, ``open_amount``, ``overdue_amount`` (open amount of invoices
    past due), ``expected_overdue = sum(probability_late x open_amount)``, ``max_probability``,
    ``risk_share = expected_overdue / open_amount`` (None when nothing is open) and
    ``pending_risk`` = the amount-weighted probability of late payment of the invoices that are
    not late yet (at most ``late_days`` past due; without ``late_days``: probability below 1),
    None when every open invoice is already late. ``max_probability`` saturates at 100 % for any
    customer with one invoice already late; ``pending_risk`` is the figure that tells customers
    apart. Sorted by expected overdue amount, largest first (ties by customer id).
    """
    check_columns(
        scores,
        "scores",
        ["customer_id", "open_amount", "days_past_due", "expected_overdue", "probability_late"],
    )
    s = scores.assign(overdue=scores["open_amount"].where(scores["days_past_due"] > 0, 0.0))
    if late_days is None:
        pending = s["probability_late"] < 1.0
    else:
        pending = s["days_past_due"] <= int(late_days)
    s = s.assign(
        pending_amount=s["open_amount"].where(pending, 0.0),
        pending_expected=(s["probability_late"] * s["open_amount"]).where(pending, 0.0),
    )
    g = s.groupby("customer_id", sort=True).agg(
        open_invoices=("open_amount", "size"),
        open_amount=("open_amount", "sum"),
        overdue_amount=("overdue", "sum"),
        expected_overdue=("expected_overdue", "sum"),
        max_probability=("probability_late", "max"),
        pending_amount=("pending_amount", "sum"),
        pending_expected=("pending_expected", "sum"),
    )
    g["risk_share"] = (g["expected_overdue"] / g["open_amount"]).where(g["open_amount"] > 0)
    g["pending_risk"] = (g["pending_expected"] / g["pending_amount"]).where(g["pending_amount"] > 0)
    g = g.drop(columns=["pending_amount", "pending_expected"])
    g[["open_amount", "overdue_amount", "expected_overdue"]] = g[
        ["open_amount", "overdue_amount", "expected_overdue"]
    ].round(2)
    g = g.reset_index()
    if customers is not None and len(customers):
        keep = [c for c in ("customer_id", "customer_name", "region", "industry") if c in customers]
        g = g.merge(customers[keep].drop_duplicates("customer_id"), on="customer_id", how="left")
    g = g.sort_values(
        ["expected_overdue", "customer_id"], ascending=[False, True], kind="mergesort"
    )
    return g.reset_index(drop=True)


def high_risk_customers(
    risk: pd.DataFrame, top_n: int | None = 20, threshold: float | None = None
) -> list[str]:
    """The high-risk late payers: the ``top_n`` customers by expected overdue amount, or (when
    ``threshold`` is given) every customer whose ``risk_share`` is at least ``threshold``.

    Customers with no expected overdue amount are never listed. Order: expected overdue, largest first.
    """
    if top_n is None and threshold is None:
        raise RiskModelError("high_risk_customers needs top_n or threshold")
    if top_n is not None and int(top_n) < 0:
        raise RiskModelError(f"high_risk_top_n must be >= 0, got {top_n!r}")
    r = risk.loc[risk["expected_overdue"] > 0]
    r = r.sort_values(
        ["expected_overdue", "customer_id"], ascending=[False, True], kind="mergesort"
    )
    if threshold is not None:
        r = r.loc[r["risk_share"].fillna(0.0) >= float(threshold)]
    if top_n is not None:
        r = r.head(int(top_n))
    return r["customer_id"].astype(str).tolist()


def expected_collections(scores: pd.DataFrame) -> dict[str, float]:
    """Expected cash from open invoices within 30/60/90 days after T (sum over open invoices of
    open_amount x P(paid within h days | unpaid at T)), rounded to cents."""
    out = {}
    for h in HORIZONS:
        col = f"expected_collected_{h}d"
        check_columns(scores, "scores", [col])
        out[f"expected_collections_{h}d"] = round(float(scores[col].sum()), 2)
    return out


SCORE_COLUMNS = [
    "invoice_id",
    "customer_id",
    "due_date",
    "open_amount",
    "days_past_due",
    "model_probability",
    "probability_late",
    "expected_overdue",
]
