"""The 13-week cash forecast: expected collections per week from the invoices open at T.

**What is forecast.** For T (the end of the period) and k = 1..13, week k is the seven days
``T + 7(k-1) + 1 .. T + 7k`` (week 1 starts the day after T). ``expected[k]`` is the cash expected
in week k from the invoices *open at T* (new invoices billed after T are not in it: their cash
mostly comes after 13 weeks of terms anyway, and a sales forecast is another subject).

**The payment-timing model** gives every invoice a distribution of its *days to pay*, the delay
``payment date - due date`` in the bins of :data:`DELAY_EDGES` (fine around the due date, weeks
further out, "not within a year" last). It is a multi-class gradient-boosting classifier
(scikit-learn's ``HistGradientBoostingClassifier``) on the invoice's features from
:func:`arinsight.risk.invoice_features`: amount, terms, energy, month, the customer's history,
balance and credit-limit use, industry, region, customer type, each as it was known at the
invoice date, so nothing leaks from the future (see the risk module's docstring). A model used at
a date C learns from the invoices due a year or more before C: every payment (capped at the
amount) is a training row in the bin of its delay, weighted by the share of the amount it paid;
what was not paid within the year is "not within a year". So partial payments count as they
happened, and no invoice with an unknown outcome is used (no censoring bias).

An invoice open at a date O (an *origin*) has not been paid by O: its distribution is cut at the
days already past (``O - due date``), spread uniformly within each bin and renormalised
(:func:`week_probabilities`); the share falling into each of the 13 weeks after O is its expected
share of cash in that week. Why this model: it predicts a whole distribution per invoice, not one
date, from the same features as the risk model, and one fit serves every origin and every horizon;
the bins are relative to the due date, so what is learnt from on-time payers (cash just before the
due date) and from late payers (weeks after it) carries over to invoices due in any week. A
quantile regression would need one model per quantile and cannot say "not within 13 weeks"; a
model of the week after O directly has to learn "the week of the due date" for every week anew
(tried: it did not beat the due date in every week).

``expected[k] = sum over open invoices of A x P(week k)``. **The interval** (10 % to 90 % by
default) comes from the backtest: ``low[k] = expected[k] x q10`` and ``high[k] = expected[k] x q90``
where q are quantiles of ``actual / expected`` at horizon k over the backtest's origins (at least
``min_interval_origins``; with fewer, a normal approximation of the sum of independent invoices:
``expected +- z x sqrt(sum A^2 p (1 - p))``). It covers what the model does not know: customers
paying together, months that differ.

**The backtest.** At each past month end O_b whose 13 weeks are known at T (all of them, or the
most recent ``backtest_origins``), the model is trained as it would have been at O_b (invoices due
a year before O_b, payments dated by O_b) and forecasts the invoices open at O_b; the cash that actually came from them
is summed per week. Two baselines forecast the same invoices: **due date** (each open amount on its
due date; already overdue ones in week 1) and **customer delay** (on due date + the customer's
average days late of its invoices paid by O_b, the average of every customer when it has none).
Mean absolute error per horizon week over the origins, in money.

Assumptions: payments are dated when the money arrived; unapplied cash (no invoice) is not in
the forecast nor in the actuals; an overpayment counts up to the open amount.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import UserError

WEEKS = 13
OUTCOMES = WEEKS + 1  # weeks 1..13, then "later or never"
#: Bins of the delay (payment date - due date, days): bin i is (DELAY_EDGES[i], DELAY_EDGES[i+1]];
#: fine around the due date, where most cash arrives; NEVER = not paid within the last edge.
DELAY_EDGES = np.array(
    [
        -3650,
        -35,
        -28,
        -21,
        -14,
        -10,
        -7,
        -5,
        -3,
        -1,
        0,
        1,
        3,
        7,
        14,
        21,
        28,
        42,
        56,
        70,
        91,
        120,
        150,
        180,
        270,
        365,
    ],
    dtype=float,
)
NEVER = len(DELAY_EDGES) - 1
STATE_FEATURES = [
    "days_to_due",
    "due_week",
    "age_days",
    "open_share",
    "log_open_amount",
    "origin_month",
]
_DAY = pd.Timedelta(days=1)


class ForecastError(UserError):
    """The cash forecast cannot be made (no open invoices, not enough history...)."""


@dataclass
class Forecast:
    """A forecast at T: one row per week with expected, low and high, and the backtest."""

    as_of: pd.Timestamp
    weeks: pd.DataFrame  # week, week_start, week_end, expected, low, high, due_date_baseline
    backtest: pd.DataFrame  # origin, week, actual, model, due_date, customer_delay (one region)
    errors: pd.DataFrame  # week, mae_model, mae_due_date, mae_customer_delay, ...
    details: dict[str, Any] = field(default_factory=dict)
    #: None when there is a forecast; otherwise why not, in plain words (not enough history...).
    unavailable: str | None = None

    @property
    def available(self) -> bool:
        return self.unavailable is None

    def kpis(self) -> dict[str, Any]:
        """``cash_forecast`` for kpis.json: {week start (ISO date): {expected, low, high}}; None
        with the reason (``na_reasons``) when there is no forecast."""
        if not self.available:
            return {
                "cash_forecast": None,
                "na_reasons": {"cash_forecast": f"no cash forecast: {self.unavailable}"},
            }
        return {
            "cash_forecast": {
                r.week_start.strftime("%Y-%m-%d"): {
                    "expected": round(float(r.expected), 2),
                    "low": round(float(r.low), 2),
                    "high": round(float(r.high), 2),
                }
                for r in self.weeks.itertuples()
            }
        }


# --------------------------------------------------------------------------------------------
# rows: invoices open at an origin, their state and what they paid in the 13 weeks after it
# --------------------------------------------------------------------------------------------


def open_at(invoices: pd.DataFrame, payments: pd.DataFrame, origin: Any) -> pd.DataFrame:
    """The invoices open at the end of day O = ``origin`` with their state at O.

    ``open_amount`` from :func:`arinsight.receivables.invoice_positions` (payments dated <= O);
    ``days_to_due = due_date - O`` (negative when overdue), ``age_days = O - invoice_date``,
    ``open_share = open_amount / amount``, ``log_open_amount = ln(open_amount)``,
    ``origin_month`` (1-12). One row per open invoice, sorted by invoice id.
    """
    from arinsight.receivables import invoice_positions

    origin_t = pd.Timestamp(origin).normalize()
    pos = invoice_positions(invoices, payments, origin_t)
    pos = pos.loc[pos["open_amount"] > 0].copy()
    pos["origin"] = origin_t
    pos["days_to_due"] = (pos["due_date"] - origin_t).dt.days.astype(float)
    pos["due_week"] = np.clip(np.ceil(pos["days_to_due"] / 7), 0, WEEKS + 1)
    pos["age_days"] = (origin_t - pos["invoice_date"]).dt.days.astype(float)
    pos["open_share"] = (pos["open_amount"] / pos["amount"]).clip(upper=1.0)
    pos["log_open_amount"] = np.log(pos["open_amount"])
    pos["origin_month"] = float(origin_t.month)
    cols = ["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "open_amount"]
    out = pos[cols + ["origin"] + STATE_FEATURES]
    return out.sort_values("invoice_id", kind="mergesort").reset_index(drop=True)


def collected_by_week(
    open_rows: pd.DataFrame, payments: pd.DataFrame, weeks: int = WEEKS
) -> np.ndarray:
    """Cash each open invoice brought in each week after its origin: an array (rows x weeks+1).

    Payments to the invoice dated in week k (``O + 7(k-1) < date <= O + 7k``) count in column
    k-1, cumulatively capped at the open amount at O (an overpayment counts up to it); the last
    column is the part not collected within ``weeks`` weeks (later or never).
    """
    n = len(open_rows)
    out = np.zeros((n, weeks + 1))
    if n == 0:
        return out
    origin_t = pd.Timestamp(open_rows["origin"].iloc[0])
    end = origin_t + pd.Timedelta(days=7 * weeks)
    pay = payments.loc[
        payments["invoice_id"].notna()
        & (payments["payment_date"] > origin_t)
        & (payments["payment_date"] <= end),
        ["invoice_id", "payment_date", "amount"],
    ]
    index = pd.Series(np.arange(n), index=open_rows["invoice_id"].astype(str).to_numpy())
    pos = index.reindex(pay["invoice_id"].astype(str).to_numpy()).to_numpy()
    keep = ~np.isnan(pos)
    pay = pay.loc[keep].assign(row=pos[keep].astype(int))
    if len(pay):
        pay = pay.sort_values(["row", "payment_date"], kind="mergesort")
        cap = open_rows["open_amount"].to_numpy()[pay["row"].to_numpy()]
        cum = pay.groupby("row")["amount"].cumsum().to_numpy()
        capped = np.minimum(cum, cap)
        prev = np.concatenate([[0.0], capped[:-1]])
        first = np.r_[True, pay["row"].to_numpy()[1:] != pay["row"].to_numpy()[:-1]]
        prev[first] = 0.0
        week = np.ceil(((pay["payment_date"] - origin_t) / _DAY).to_numpy() / 7).astype(int) - 1
        np.add.at(out, (pay["row"].to_numpy(), week), capped - prev)
    out[:, weeks] = np.maximum(open_rows["open_amount"].to_numpy() - out[:, :weeks].sum(axis=1), 0)
    return np.round(out, 2)


# --------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------


def _feature_columns(features: pd.DataFrame) -> tuple[list[str], list[str]]:
    from arinsight import risk

    numeric = [c for c in risk.NUMERIC if c in features.columns]
    categorical = [c for c in risk.CATEGORICAL if c in features.columns]
    return numeric, categorical


def build_model(numeric: Sequence[str], categorical: Sequence[str], random_seed: int = 42):
    """An unfitted pipeline: categoricals ordinal-encoded (native categorical splits) + a
    multi-class ``HistGradientBoostingClassifier`` over the delay bins (early stopping)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    prep = ColumnTransformer(
        [
            ("num", "passthrough", list(numeric)),
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                ),
                list(categorical),
            ),
        ],
        verbose_feature_names_out=False,
    )
    gbm = HistGradientBoostingClassifier(
        learning_rate=0.2,
        max_iter=60,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=[len(numeric) + i for i in range(len(categorical))] or None,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=10,
        max_bins=63,
        random_state=int(random_seed),
    )
    return Pipeline([("prep", prep), ("model", gbm)])


def delay_bin(delay_days: np.ndarray) -> np.ndarray:
    """The bin of each delay (payment date - due date, in days): i such that
    ``DELAY_EDGES[i] < delay <= DELAY_EDGES[i + 1]``; ``NEVER`` beyond the last edge."""
    d = np.asarray(delay_days, dtype=float)
    out = np.searchsorted(DELAY_EDGES, d, side="left") - 1
    return np.where(d > DELAY_EDGES[-1], NEVER, np.clip(out, 0, NEVER - 1))


def delay_training_rows(
    invoices: pd.DataFrame, payments: pd.DataFrame, cutoff: Any
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """What the invoices due by ``cutoff`` - the last edge were paid when, as (invoice_id, bin,
    weight) rows: every payment dated <= cutoff in the bin of its delay, weighted by the share of
    the amount it settled (cumulative payments capped at the amount); the part unpaid by the
    last edge in ``NEVER``. Only such invoices are complete at ``cutoff``: no censoring."""
    C = pd.Timestamp(cutoff)
    horizon = pd.Timedelta(days=int(DELAY_EDGES[-1]))
    inv = invoices.loc[invoices["due_date"] + horizon <= C, ["invoice_id", "due_date", "amount"]]
    inv = inv.loc[inv["amount"] > 0].reset_index(drop=True)
    pay = payments.loc[
        payments["invoice_id"].notna() & (payments["payment_date"] <= C),
        ["invoice_id", "payment_date", "amount"],
    ].rename(columns={"amount": "paid"})
    pay = pay.merge(inv, on="invoice_id", how="inner").sort_values(
        ["invoice_id", "payment_date"], kind="mergesort"
    )
    pay = pay.loc[pay["payment_date"] <= pay["due_date"] + horizon]
    cum = np.minimum(pay.groupby("invoice_id")["paid"].cumsum(), pay["amount"])
    applied = cum - cum.groupby(pay["invoice_id"]).shift(fill_value=0.0)
    pay = pay.assign(share=(applied / pay["amount"]).to_numpy())
    pay = pay.loc[pay["share"] > 1e-9]
    delay = ((pay["payment_date"] - pay["due_date"]) / _DAY).to_numpy()
    paid_share = pay.groupby("invoice_id")["share"].sum()
    paid = paid_share.astype(float).reindex(inv["invoice_id"].to_numpy()).fillna(0.0).to_numpy()
    rest = pd.Series(np.maximum(1 - paid, 0.0))
    ids = np.concatenate([pay["invoice_id"].to_numpy(), inv["invoice_id"].to_numpy()])
    bins = np.concatenate([delay_bin(delay), np.full(len(inv), NEVER)])
    weights = np.concatenate([pay["share"].to_numpy(), rest.to_numpy()])
    keep = weights > 1e-9
    return pd.DataFrame({"invoice_id": ids[keep]}), bins[keep], weights[keep]


def _predict_bins(model, rows: pd.DataFrame) -> np.ndarray:
    """P(delay bin) for each row as an (n x bins) array (bins never seen in training get 0)."""
    from threadpoolctl import threadpool_limits

    out = np.zeros((len(rows), NEVER + 1))
    if len(rows) == 0 or model is None:
        return out
    with threadpool_limits(limits=1):  # thread start-up costs more than it saves on small data
        proba = model.predict_proba(rows[list(model.feature_names_in_)])
    out[:, model[-1].classes_.astype(int)] = proba
    return out


def week_probabilities(p_bins: np.ndarray, rows: pd.DataFrame) -> np.ndarray:
    """P(paid in week k after O | not paid by O) for k = 1..13 and "later or never": (n x 14).

    With a = O - due date (the delays already past) and L = invoice date - due date - 1 (no
    payment before the invoice), bin b covers the delays (max(lo_b, L), hi_b]; only its part
    after a is still possible, and within a bin every day is equally likely. The remaining mass
    is renormalised (the invoice is known to be unpaid at O) and spread over the weeks
    (a + 7(k-1), a + 7k]. When nothing remains possible, everything is "later or never".
    """
    n = len(rows)
    out = np.zeros((n, OUTCOMES))
    if n == 0:
        return out
    origin_t = rows["origin"].to_numpy(dtype="datetime64[ns]")
    due = rows["due_date"].to_numpy(dtype="datetime64[ns]")
    issued = rows["invoice_date"].to_numpy(dtype="datetime64[ns]")
    a = ((origin_t - due) / np.timedelta64(1, "D")).astype(float)[:, None]
    low = ((issued - due) / np.timedelta64(1, "D")).astype(float)[:, None] - 1
    lo = np.maximum(np.asarray(DELAY_EDGES[:-1])[None, :], low)
    hi = np.asarray(DELAY_EDGES[1:])[None, :]
    width = np.maximum(hi - lo, 0)
    start = np.maximum(lo, a)
    left = np.maximum(hi - start, 0)
    frac = np.divide(left, width, out=np.zeros_like(left), where=width > 0)
    mass = p_bins[:, :NEVER] * frac
    never = p_bins[:, NEVER]
    total = mass.sum(axis=1) + never
    for k in range(WEEKS):
        w_lo, w_hi = a + 7 * k, a + 7 * (k + 1)
        overlap = np.maximum(np.minimum(hi, w_hi) - np.maximum(start, w_lo), 0)
        share = np.divide(overlap, left, out=np.zeros_like(left), where=left > 0)
        out[:, k] = (mass * share).sum(axis=1)
    out[:, WEEKS] = total - out[:, :WEEKS].sum(axis=1)
    ok = total > 1e-12
    out[ok] = out[ok] / total[ok, None]
    out[~ok, :] = 0.0
    out[~ok, WEEKS] = 1.0
    return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# baselines
# --------------------------------------------------------------------------------------------


def _week_of(dates: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    """Outcome index of a pay date: 0 for week 1 (also dates <= origin), 13 beyond 13 weeks."""
    days = ((dates - origin) / _DAY).to_numpy(dtype=float)
    week = np.ceil(np.maximum(days, 1) / 7) - 1
    return np.clip(np.nan_to_num(week, nan=WEEKS), 0, WEEKS).astype(int)


def due_date_baseline(rows: pd.DataFrame) -> np.ndarray:
    """Each open amount paid on its due date (overdue ones in week 1): (n x 14) cash."""
    out = np.zeros((len(rows), OUTCOMES))
    if len(rows):
        week = _week_of(rows["due_date"], pd.Timestamp(rows["origin"].iloc[0]))
        out[np.arange(len(rows)), week] = rows["open_amount"].to_numpy()
    return out


def customer_delays(invoices: pd.DataFrame, payments: pd.DataFrame, origin: Any) -> pd.Series:
    """Each customer's average days late (paid date - due date, early payments negative) over
    its invoices fully paid by O; ``ALL`` holds the average over every such invoice."""
    from arinsight.risk import settlement

    origin_t = pd.Timestamp(origin)
    pay = payments.loc[payments["payment_date"] <= origin_t]
    s = settlement(invoices.loc[invoices["invoice_date"] <= origin_t], pay)
    s = s.loc[s["paid_date"].notna()]
    delay = (s["paid_date"] - s["due_date"]).dt.days.astype(float)
    out = delay.groupby(s["customer_id"]).mean()
    out["ALL"] = float(delay.mean()) if len(delay) else 0.0
    return out


def customer_delay_baseline(rows: pd.DataFrame, delays: pd.Series) -> np.ndarray:
    """Each open amount paid on due date + the customer's average delay (:func:`customer_delays`)."""
    out = np.zeros((len(rows), OUTCOMES))
    if len(rows):
        d = rows["customer_id"].map(delays).fillna(delays.get("ALL", 0.0))
        dates = rows["due_date"] + pd.to_timedelta(d.round().to_numpy(), unit="D")
        week = _week_of(dates, pd.Timestamp(rows["origin"].iloc[0]))
        out[np.arange(len(rows)), week] = rows["open_amount"].to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# the whole computation (every region at once), cached per dataset and period
# --------------------------------------------------------------------------------------------


def month_ends(first: Any, last: Any) -> list[pd.Timestamp]:
    """Month ends from the month of ``first`` to ``last`` inclusive."""
    return list(pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="ME"))


def _fit(
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    features: pd.DataFrame,
    cutoff: pd.Timestamp,
    numeric: list[str],
    categorical: list[str],
    seed: int,
    max_rows: int,
):
    """The delay model as it could have been trained at ``cutoff`` (None without two bins)."""
    ids, y, w = delay_training_rows(invoices, payments, cutoff)
    if len(ids) > max_rows:  # the most recent invoices (rows are in invoice order)
        ids, y, w = ids.iloc[-max_rows:], y[-max_rows:], w[-max_rows:]
    counts = np.bincount(y, minlength=NEVER + 1)
    common = counts[y] >= 5  # a bin seen fewer than 5 times cannot be learnt (nor validated)
    ids, y, w = ids.loc[common], y[common], w[common]
    if len(np.unique(y)) < 2:
        return None, len(ids)
    X = ids.merge(features, on="invoice_id", how="left")[numeric + categorical]
    # a feature that is empty or constant in the history carries nothing (and breaks the binning)
    numeric = [c for c in numeric if X[c].notna().any() and X[c].nunique(dropna=True) > 1]
    X = X[numeric + categorical]
    from threadpoolctl import threadpool_limits

    model = build_model(numeric, categorical, seed)
    if len(X) * 0.15 < 2 * len(np.unique(y)):
        # too few rows to hold out a validation set with every delay bin in it: boost without
        # early stopping (the fixed number of trees) instead of failing on a small ledger
        model.set_params(model__early_stopping=False)
    with threadpool_limits(limits=1 if len(X) < 100_000 else None):
        model.fit(X, y, model__sample_weight=w)
    return model, len(X)


def _week_cash(model, rows: pd.DataFrame, features: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """P(week) x open amount for the invoices open at an origin: (n x 14) cash."""
    X = rows[["invoice_id"]].merge(features, on="invoice_id", how="left")[cols]
    p = week_probabilities(_predict_bins(model, X), rows)
    return p * rows["open_amount"].to_numpy()[:, None]


def compute(
    tables: Mapping[str, pd.DataFrame],
    as_of: Any,
    *,
    late_days: int = 30,
    random_seed: int = 42,
    min_train_invoices: int = 200,
    backtest_origins: int | None = None,
    max_train_rows: int = 400_000,
) -> dict[str, pd.DataFrame]:
    """The forecast at T and its backtest for every open invoice (all regions at once).

    The model at a date C is trained on the invoices due by C - 365 days (their payments up to a
    year after the due date are known at C). Backtest origins are the month ends O with
    O + 91 days <= T (the most recent ``backtest_origins`` of them when given), each forecast by
    the model of C = O; origins where that model has fewer than ``min_train_invoices`` training
    rows are left out.

    Returns ``forecast`` (one row per invoice open at T: invoice_id, customer_id, due_date,
    open_amount, p_week_1..13, p_later), ``backtest`` (one row per (origin, invoice open at it):
    origin, invoice_id, customer_id and the cash per week of the model, the actual payments and
    the two baselines: ``model_1..13``, ``actual_1..13``, ``due_1..13``, ``delay_1..13``) and
    ``info`` (training rows). Raises :class:`ForecastError` without enough history.
    """
    from arinsight.risk import invoice_features

    T = pd.Timestamp(as_of).normalize()
    inv = tables["invoices"].loc[tables["invoices"]["invoice_date"] <= T].reset_index(drop=True)
    pay = tables["payments"].loc[tables["payments"]["payment_date"] <= T].reset_index(drop=True)
    if inv.empty:
        raise ForecastError(f"no invoices issued by {T:%Y-%m-%d}: nothing to forecast")
    feats = invoice_features(inv, pay, tables["customers"], late_days)
    numeric, categorical = _feature_columns(feats)
    cols = numeric + categorical
    fit = lambda C: _fit(inv, pay, feats, C, numeric, categorical, random_seed, max_train_rows)  # noqa: E731
    model, n_train = fit(T)
    if model is None or n_train < min_train_invoices:
        horizon = int(DELAY_EDGES[-1])
        raise ForecastError(
            f"{n_train} payment outcome(s) of invoices due more than {horizon} days before "
            f"{T:%Y-%m-%d}; at least {min_train_invoices} needed to learn payment timing"
        )
    rows = open_at(inv, pay, T)
    p = week_probabilities(
        _predict_bins(model, rows[["invoice_id"]].merge(feats, on="invoice_id", how="left")[cols]),
        rows,
    )
    forecast = rows[["invoice_id", "customer_id", "due_date", "open_amount"]].copy()
    for k in range(WEEKS):
        forecast[f"p_week_{k + 1}"] = p[:, k]
    forecast["p_later"] = p[:, WEEKS]

    parts = []
    last_known = T - pd.Timedelta(days=7 * WEEKS)
    origins = month_ends(inv["invoice_date"].min(), last_known)
    for origin_t in origins[-backtest_origins:] if backtest_origins else origins:
        m, n = fit(origin_t)
        r = open_at(inv, pay, origin_t)
        if m is None or n < min_train_invoices or r.empty:
            continue
        blocks = {
            "model": _week_cash(m, r, feats, cols),
            "actual": collected_by_week(r, pay),
            "due": due_date_baseline(r),
            "delay": customer_delay_baseline(r, customer_delays(inv, pay, origin_t)),
        }
        frame = r[["origin", "invoice_id", "customer_id"]].copy()
        for name, arr in blocks.items():
            for k in range(WEEKS):
                frame[f"{name}_{k + 1}"] = np.round(arr[:, k], 2)
        parts.append(frame)
    backtest = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    info = pd.DataFrame([{"as_of": T, "train_rows": n_train, "backtest_origins": len(parts)}])
    return {"forecast": forecast, "backtest": backtest, "info": info}


def cache_key(tables: Mapping[str, pd.DataFrame], as_of: Any, params: Mapping[str, Any]) -> str:
    """sha256 of the period, the parameters, the package version and the three tables' content."""
    from arinsight import __version__

    h = hashlib.sha256()
    h.update(
        json.dumps({"as_of": str(pd.Timestamp(as_of).date()), **params}, sort_keys=True).encode()
    )
    h.update(__version__.encode())
    for name in ("invoices", "payments", "customers"):
        h.update(pd.util.hash_pandas_object(tables[name], index=False).to_numpy().tobytes())
    return h.hexdigest()[:24]


def compute_cached(
    tables: Mapping[str, pd.DataFrame],
    as_of: Any,
    cache_dir: str | Path | None = None,
    **params: Any,
) -> dict[str, pd.DataFrame]:
    """:func:`compute` once per dataset, T and parameters: the region runs of a period share it.

    With ``cache_dir`` the result is stored in ``<cache_dir>/<key>/`` (parquet) under a file lock,
    so parallel runs of the same period wait for the first one and then read its result.
    """
    if cache_dir is None:
        return compute(tables, as_of, **params)
    import fcntl

    folder = Path(cache_dir) / cache_key(tables, as_of, params)
    folder.parent.mkdir(parents=True, exist_ok=True)
    names = ("forecast", "backtest", "info")
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all((folder / f"{n}.parquet").exists() for n in names):
            return {n: pd.read_parquet(folder / f"{n}.parquet") for n in names}
        result = compute(tables, as_of, **params)
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        for n in names:
            result[n].to_parquet(tmp / f"{n}.parquet", index=False)
        os.replace(tmp, folder) if not folder.exists() else None
        return result


# --------------------------------------------------------------------------------------------
# one region: weeks, intervals, errors
# --------------------------------------------------------------------------------------------


def _cols(prefix: str) -> list[str]:
    return [f"{prefix}_{k + 1}" for k in range(WEEKS)]


def backtest_by_origin(backtest: pd.DataFrame) -> pd.DataFrame:
    """Cash per origin and horizon week for the model, the actuals and both baselines (long)."""
    if backtest.empty:
        return pd.DataFrame(
            columns=["origin", "week", "actual", "model", "due_date", "customer_delay"]
        )
    sums = backtest.groupby("origin")[
        _cols("model") + _cols("actual") + _cols("due") + _cols("delay")
    ].sum()
    out = []
    for k in range(WEEKS):
        out.append(
            pd.DataFrame(
                {
                    "origin": sums.index,
                    "week": k + 1,
                    "actual": sums[f"actual_{k + 1}"].to_numpy(),
                    "model": sums[f"model_{k + 1}"].to_numpy(),
                    "due_date": sums[f"due_{k + 1}"].to_numpy(),
                    "customer_delay": sums[f"delay_{k + 1}"].to_numpy(),
                }
            )
        )
    out = pd.concat(out).sort_values(["origin", "week"]).reset_index(drop=True)
    money = ["actual", "model", "due_date", "customer_delay"]
    out[money] = out[money].round(2)
    return out


def error_table(by_origin: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute error per horizon week over the backtest origins, for the model and both
    baselines: ``mae_* = mean |forecast - actual|``; ``mean_actual``; ``model_vs_due_date`` =
    1 - mae_model / mae_due_date (the share of the due-date error the model removes)."""
    cols = ["week", "origins", "mean_actual", "mae_model", "mae_due_date", "mae_customer_delay"]
    if by_origin.empty:
        return pd.DataFrame(columns=[*cols, "model_vs_due_date"])
    err = by_origin.assign(
        m=(by_origin["model"] - by_origin["actual"]).abs(),
        d=(by_origin["due_date"] - by_origin["actual"]).abs(),
        c=(by_origin["customer_delay"] - by_origin["actual"]).abs(),
    )
    g = err.groupby("week").agg(
        origins=("origin", "size"),
        mean_actual=("actual", "mean"),
        mae_model=("m", "mean"),
        mae_due_date=("d", "mean"),
        mae_customer_delay=("c", "mean"),
    )
    g["model_vs_due_date"] = 1 - g["mae_model"] / g["mae_due_date"].where(g["mae_due_date"] > 0)
    return g.reset_index().round(4)


def _interval(
    expected: np.ndarray,
    var: np.ndarray,
    by_origin: pd.DataFrame,
    level: tuple[float, float],
    min_origins: int,
) -> tuple[np.ndarray, np.ndarray, str]:
    lo_q, hi_q = level
    if not by_origin.empty and by_origin["origin"].nunique() >= min_origins:
        ratio = by_origin.loc[by_origin["model"] > 0].assign(r=lambda d: d["actual"] / d["model"])
        q = ratio.groupby("week")["r"].quantile([lo_q, hi_q]).unstack()
        q = q.reindex(range(1, WEEKS + 1)).fillna(1.0)
        return expected * q[lo_q].to_numpy(), expected * q[hi_q].to_numpy(), "backtest"
    from statistics import NormalDist

    z = NormalDist().inv_cdf(hi_q)
    sd = np.sqrt(var)
    return np.maximum(expected - z * sd, 0), expected + z * sd, "model"


def region_forecast(
    result: Mapping[str, pd.DataFrame],
    customers: pd.DataFrame,
    region: str = "All",
    interval: tuple[float, float] = (0.1, 0.9),
    min_interval_origins: int = 6,
) -> Forecast:
    """The forecast of one region ("All" = every region) from :func:`compute`'s result.

    ``expected`` per week = sum over the region's open invoices of open amount x P(week);
    ``low``/``high`` see the module docstring (``details["interval_method"]`` says which applied).
    """
    if not 0 < interval[0] < interval[1] < 1:
        raise ForecastError(f"interval must be two quantiles 0 < low < high < 1, got {interval!r}")
    forecast, backtest, info = result["forecast"], result["backtest"], result["info"]
    if region not in (None, "", "All"):
        ids = set(customers.loc[customers["region"] == region, "customer_id"].astype(str))
        forecast = forecast.loc[forecast["customer_id"].astype(str).isin(ids)]
        if not backtest.empty:
            backtest = backtest.loc[backtest["customer_id"].astype(str).isin(ids)]
    T = pd.Timestamp(info["as_of"].iloc[0])
    amount = forecast["open_amount"].to_numpy()[:, None]
    p = forecast[[f"p_week_{k + 1}" for k in range(WEEKS)]].to_numpy()
    expected = (amount * p).sum(axis=0)
    var = (amount**2 * p * (1 - p)).sum(axis=0)
    by_origin = backtest_by_origin(backtest)
    low, high, method = _interval(expected, var, by_origin, interval, min_interval_origins)
    starts = [T + _DAY + pd.Timedelta(days=7 * k) for k in range(WEEKS)]
    weeks = pd.DataFrame(
        {
            "week": np.arange(1, WEEKS + 1),
            "week_start": starts,
            "week_end": [s + pd.Timedelta(days=6) for s in starts],
            "expected": np.round(expected, 2),
            "low": np.round(np.minimum(low, expected), 2),
            "high": np.round(np.maximum(high, expected), 2),
        }
    )
    base = (
        due_date_baseline(forecast.assign(origin=T)) if len(forecast) else np.zeros((0, OUTCOMES))
    )
    weeks["due_date_baseline"] = np.round(base[:, :WEEKS].sum(axis=0), 2)
    details = {
        "open_invoices": int(len(forecast)),
        "open_amount": round(float(forecast["open_amount"].sum()), 2),
        "expected_13_weeks": round(float(expected.sum()), 2),
        "interval_method": method,
        "interval": list(interval),
        **{
            k: (v.isoformat() if isinstance(v, pd.Timestamp) else v)
            for k, v in info.iloc[0].to_dict().items()
            if k != "as_of"
        },
    }
    return Forecast(T, weeks, by_origin, error_table(by_origin), details)


def forecast_table(fc: Forecast, currency: str = "USD") -> pd.DataFrame:
    """The weeks for the page: week, dates, expected, the interval and the due-date baseline."""
    if not fc.available:
        return pd.DataFrame({"Cash forecast": [f"not available: {fc.unavailable}"]})
    t = fc.weeks.copy()
    t["week_start"] = t["week_start"].dt.strftime("%Y-%m-%d")
    t["week_end"] = t["week_end"].dt.strftime("%Y-%m-%d")
    lo, hi = (int(round(q * 100)) for q in fc.details["interval"])
    return t.rename(
        columns={
            "week": "Week",
            "week_start": "From",
            "week_end": "To",
            "expected": f"Expected ({currency})",
            "low": f"Low, {lo} % ({currency})",
            "high": f"High, {hi} % ({currency})",
            "due_date_baseline": f"If paid on due date ({currency})",
        }
    )


def error_summary_table(fc: Forecast, currency: str = "USD") -> pd.DataFrame:
    """The backtest's error per horizon week for the page (money, and the model's gain)."""
    e = fc.errors
    if e.empty:
        why = fc.unavailable or "no month end with 13 known weeks and enough history before it"
        return pd.DataFrame({"Backtest": [f"not available: {why}"]})
    return pd.DataFrame(
        {
            "Week ahead": e["week"],
            "Month ends": e["origins"],
            f"Average cash ({currency})": e["mean_actual"].round(0),
            f"Error: model ({currency})": e["mae_model"].round(0),
            f"Error: due date ({currency})": e["mae_due_date"].round(0),
            f"Error: customer delay ({currency})": e["mae_customer_delay"].round(0),
            "Model vs due date": (e["model_vs_due_date"] * 100).round(1).astype(str) + " % smaller",
        }
    )


def run_forecast(
    tables: Mapping[str, pd.DataFrame],
    as_of: Any,
    region: str = "All",
    cache_dir: str | Path | None = None,
    interval: tuple[float, float] = (0.1, 0.9),
    **params: Any,
) -> Forecast:
    """The page's forecast: :func:`compute_cached` then :func:`region_forecast`. When the data
    cannot give one (no open invoice, too little history) the forecast is *unavailable* with the
    reason, so the page says why instead of failing; any other error is raised."""
    T = pd.Timestamp(as_of).normalize()
    empty = pd.DataFrame(columns=["week", "week_start", "week_end", "expected", "low", "high"])
    try:
        result = compute_cached(tables, T, cache_dir, **params)
    except ForecastError as exc:
        return Forecast(T, empty, pd.DataFrame(), error_table(pd.DataFrame()), {}, str(exc))
    fc = region_forecast(result, tables["customers"], region, interval)
    if fc.details["open_invoices"] == 0:
        fc.unavailable = f"no invoice of region {region} is open at {T:%Y-%m-%d}"
    return fc


def write_outputs(fc: Forecast, output_dir: str | Path) -> dict[str, Path]:
    """``kpis_forecast.json`` (cash_forecast) and ``cash_forecast.csv`` (the weeks) in ``output_dir``."""
    from arinsight.files import write_csv, write_json

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not fc.available:
        return {"kpis": write_json(out / "kpis_forecast.json", fc.kpis())}
    weeks = fc.weeks.assign(
        week_start=fc.weeks["week_start"].dt.strftime("%Y-%m-%d"),
        week_end=fc.weeks["week_end"].dt.strftime("%Y-%m-%d"),
    )
    return {
        "kpis": write_json(out / "kpis_forecast.json", fc.kpis()),
        "weeks": write_csv(weeks, out / "cash_forecast.csv"),
    }


def summary_text(fc: Forecast, currency: str = "USD") -> str:
    """Two sentences for the page: what is expected and how much better than the due dates."""
    if not fc.available:
        return f"No cash forecast for this page: {fc.unavailable}."
    d = fc.details
    e = fc.errors
    text = (
        f"Of {currency} {d['open_amount']:,.2f} open at {fc.as_of:%Y-%m-%d} "
        f"({d['open_invoices']:,} invoices), {currency} {d['expected_13_weeks']:,.2f} is expected "
        f"within 13 weeks."
    )
    if len(e) and e["mae_due_date"].sum() > 0:
        gain = 1 - e["mae_model"].sum() / e["mae_due_date"].sum()
        worst = e["model_vs_due_date"].min()
        text += (
            f" In the backtest ({int(e['origins'].max())} month ends) the model's weekly error is "
            f"{gain:.0%} smaller than 'paid on the due date' over the 13 weeks "
            f"(at least {worst:.0%} smaller in every week)."
            if worst > 0
            else f" In the backtest the model's weekly error is {gain:.0%} smaller than 'paid on "
            f"the due date' over the 13 weeks, but not in every week (worst week {worst:.0%})."
        )
    return text


__all__ = [
    "Forecast",
    "ForecastError",
    "backtest_by_origin",
    "collected_by_week",
    "compute",
    "compute_cached",
    "customer_delay_baseline",
    "customer_delays",
    "due_date_baseline",
    "error_summary_table",
    "error_table",
    "forecast_table",
    "open_at",
    "region_forecast",
    "run_forecast",
    "summary_text",
    "write_outputs",
]
