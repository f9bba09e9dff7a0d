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
happened, and no invoice with an unknown outcome is used (no censoring bias). Each model learns
from a bounded sample of these rows (see *Bounded work* below).

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

**The backtest.** At each of the ``backtest_origins`` (default 12) most recent past month ends
O_b whose 13 weeks are known at T and that have enough history, the model is trained as it would
have been at O_b (invoices due a year before O_b, payments dated by O_b) and forecasts the
invoices open at O_b; the cash that actually came from them is summed per week. Two baselines
forecast the same invoices: **due date** (each open amount on its due date; already overdue ones
in week 1) and **customer delay** (on due date + the customer's average days late of its
invoices paid by O_b, the average of every customer when it has none). Mean absolute error per
horizon week over the origins, in money. It is computed once for every region and kept as sums
per origin and customer region.

**Bounded work** (so a period costs about the same whatever the length of the history, and
grows with the ledger only through the invoices open at T):

* *Training sample* (:func:`training_sample`, ``max_train_rows``, default
  :data:`DEFAULT_MAX_TRAIN_ROWS` = 10,000 rows per model): the history's payment rows are
  stratified by delay bin x due month; each stratum keeps its proportional share of the cap
  (largest remainder) and, within it, the rows with the smallest seeded keys (a hash of the
  invoice id, the bin and ``random_seed``: :func:`sample_keys`); kept rows are re-weighted so
  every stratum keeps its share of the weight. Measured (the model's backtest MAE summed over
  the 13 weeks, 12 month ends, seed 42 unless said): 100k invoices, 69,000 rows available:
  +0.8 % against the model trained on every row (5,000 rows: +7.9 %; 20,000: +2.7 %); 200k
  invoices, 139,000 rows: +5.0 %, and -0.1 % / +1.1 % with seeds 11 / 7, while every row with
  seed 7 instead of 42 is itself +6.9 %: the cap costs less than the seed's own spread, and the
  error stays 92 % below the due date's. Fitting time: a fifth at 200k, constant beyond.
* *Backtest origins*: ``backtest_origins`` most recent month ends (default
  :data:`DEFAULT_BACKTEST_ORIGINS` = 12: a year of months, enough for the 10 % / 90 % quantiles
  of the interval), not every month end of the history.
* *Backtest sample* (:func:`inclusion`, ``backtest_sample_rows``, default
  :data:`DEFAULT_BACKTEST_SAMPLE` = 10,000 per origin): the actual cash and both baselines are
  summed over every invoice open at O_b, but the model predicts a sample of them drawn with
  probability proportional to the open amount (the largest certain), each standing for
  1 / its probability of the others (Horvitz-Thompson, unbiased); with fewer open invoices,
  all of them. The invoices open at T are all forecast, one by one.
* *One engine query for the as-of facts*: the paid dates and applied payments at T, the invoices
  open at T and at each backtest origin and the cash of the 13 weeks after each origin come from
  the KPI engine in one session (:mod:`arinsight.engine.history`: the paid date and the applied
  amount every page uses); the training rows of every origin are those of T due early enough.
  This module keeps no book of its own: it samples, fits, predicts and evaluates.

Same ledger, parameters and ``random_seed``: the same numbers (the samples depend only on the
ids and the seed; the boosting's validation split on the seed).

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
from arinsight.files import hash_tables

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

#: What :func:`open_at` and :func:`open_at_origins` return, one row per (origin, open invoice).
ROW_COLUMNS = ["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "open_amount"]


def _open_positions(invoices: pd.DataFrame, payments: pd.DataFrame, origin_t: pd.Timestamp):
    """The invoices open at the end of day O: :data:`ROW_COLUMNS` (``open_amount > 0`` only).

    The one place the forecast asks receivables for positions (``invoice_positions``: payments
    dated <= O applied to their invoice, ``open_amount = max(0, amount - paid)`` to the cent);
    another source of "open invoices at a date" only has to give these six columns.
    """
    from arinsight.receivables import invoice_positions

    pos = invoice_positions(invoices, payments, origin_t)
    return pos.loc[pos["open_amount"] > 0, ROW_COLUMNS]


def _with_state(rows: pd.DataFrame) -> pd.DataFrame:
    """:data:`ROW_COLUMNS` + ``origin`` -> the same + :data:`STATE_FEATURES` (see :func:`open_at`)."""
    o = rows["origin"]
    rows["days_to_due"] = (rows["due_date"] - o).dt.days.astype(float)
    rows["due_week"] = np.clip(np.ceil(rows["days_to_due"] / 7), 0, WEEKS + 1)
    rows["age_days"] = (o - rows["invoice_date"]).dt.days.astype(float)
    rows["open_share"] = (rows["open_amount"] / rows["amount"]).clip(upper=1.0)
    rows["log_open_amount"] = np.log(rows["open_amount"])
    rows["origin_month"] = o.dt.month.astype(float)
    return rows[ROW_COLUMNS + ["origin"] + STATE_FEATURES]


def open_at(invoices: pd.DataFrame, payments: pd.DataFrame, origin: Any) -> pd.DataFrame:
    """The invoices open at the end of day O = ``origin`` with their state at O.

    ``open_amount`` from :func:`arinsight.receivables.invoice_positions` (payments dated <= O);
    ``days_to_due = due_date - O`` (negative when overdue), ``age_days = O - invoice_date``,
    ``open_share = open_amount / amount``, ``log_open_amount = ln(open_amount)``,
    ``origin_month`` (1-12). One row per open invoice, sorted by invoice id.
    """
    origin_t = pd.Timestamp(origin).normalize()
    pos = _open_positions(invoices, payments, origin_t).copy()
    pos["origin"] = origin_t
    out = _with_state(pos)
    return out.sort_values("invoice_id", kind="mergesort").reset_index(drop=True)


def _codes(keys: pd.Series, ids: pd.Series) -> np.ndarray:
    """Position of each key in ``ids`` (unique invoice ids), -1 when missing or unknown."""
    from arinsight.ledger import positions

    index = pd.Index(ids)
    pos = positions(keys, index, unique=True)
    if pos is None:
        pos = index.get_indexer(pd.Index(keys))
    return np.asarray(pos, dtype=np.int64)


def _days(values: Any) -> np.ndarray:
    """Dates as int64 days since 1970."""
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _engine(
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    marts: Sequence[str],
    origins: Sequence[pd.Timestamp] = (),
    late_days: int | None = None,
) -> dict[str, pd.DataFrame]:
    """The engine's history ``marts`` (:func:`arinsight.engine.run.history_frames`) of the
    ledger; ``open_at_origins`` with the state at each origin (:func:`open_at`)."""
    from arinsight.engine.run import history_frames

    tables = {"invoices": invoices, "payments": payments}
    out = history_frames(tables, marts, origins=origins, weeks=WEEKS, late_days=late_days)
    if "open_at_origins" in out:
        out["open_at_origins"] = _with_state(out["open_at_origins"][ROW_COLUMNS + ["origin"]])
    return out


def open_at_origins(
    invoices: pd.DataFrame, payments: pd.DataFrame, origins: Sequence[Any]
) -> pd.DataFrame:
    """:func:`open_at` at several origins in one query of the engine
    (:func:`arinsight.engine.history.open_at_origins`: the invoices dated <= O whose payments
    dated <= O leave something open); same rows and values as :func:`open_at` at each origin;
    ordered by origin, then by invoice id."""
    ts = [pd.Timestamp(x).normalize() for x in origins]
    return _engine(invoices, payments, ["open_at_origins"], ts)["open_at_origins"]


def _weeks_of(rows: pd.DataFrame, collected: pd.DataFrame, weeks: int) -> np.ndarray:
    """The engine's cash per (origin, invoice, week) (:func:`arinsight.engine.history.
    collected_by_week`) as an array aligned with ``rows``: one column per week, then the part
    of the open amount not collected within them."""
    out = np.zeros((len(rows), weeks + 1))
    ids = rows["invoice_id"].drop_duplicates()

    def keys(frame: pd.DataFrame) -> pd.Index:
        """(origin, invoice) as one integer; -1 for an invoice not in ``rows``."""
        code = _codes(frame["invoice_id"], ids)
        return pd.Index(np.where(code >= 0, _days(frame["origin"]) * len(ids) + code, -1))

    at = keys(rows).get_indexer(keys(collected))
    ok = at >= 0
    np.add.at(
        out, (at[ok], collected["week"].to_numpy()[ok] - 1), collected["collected"].to_numpy()[ok]
    )
    out[:, weeks] = np.maximum(rows["open_amount"].to_numpy(dtype=float) - out[:, :weeks].sum(1), 0)
    return np.round(out, 2)


def collected_by_week(
    open_rows: pd.DataFrame, payments: pd.DataFrame, weeks: int = WEEKS
) -> np.ndarray:
    """Cash each open invoice brought in each week after its origin: an array (rows x weeks+1).

    Payments to the invoice dated in week k (``O + 7(k-1) < date <= O + 7k``) count in column
    k-1, cumulatively capped at the open amount at O (an overpayment counts up to it); the last
    column is the part not collected within ``weeks`` weeks (later or never). The rows may come
    from several origins (``origin`` per row, as :func:`open_at_origins` gives them). Computed
    by the engine (:func:`arinsight.engine.history.collected_by_week`).
    """
    if len(open_rows) == 0:
        return np.zeros((0, weeks + 1))
    from arinsight.engine.run import history_frames

    tables = {"payments": payments}
    frame = history_frames(tables, ["collected_by_week"], weeks=weeks, open_rows=open_rows)
    return _weeks_of(open_rows, frame["collected_by_week"], weeks)


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
    the amount it settled (what the engine applies of it: cumulative payments capped at the
    amount, :func:`arinsight.engine.history.applied`); the part unpaid by the last edge in
    ``NEVER``. Only such invoices are complete at ``cutoff``: no censoring."""
    inv = invoices.reset_index(drop=True)
    applied = _engine(inv, payments, ["applied"])["applied"]
    code, bins, weights = _training_rows(inv, applied, cutoff)
    ids = inv["invoice_id"].to_numpy()[code]
    return pd.DataFrame({"invoice_id": ids}), bins, weights


def _training_rows(
    invoices: pd.DataFrame, applied: pd.DataFrame, cutoff: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`delay_training_rows` as (invoice position in ``invoices``, bin, weight) arrays
    from the engine's applied payments (``applied``, of a ledger cut at or after ``cutoff``)."""
    applied = applied.assign(_code=_codes(applied["invoice_id"], invoices["invoice_id"]))
    applied = applied.sort_values(["_code", "payment_date", "payment_id"], kind="stable")
    return _training_arrays(
        _days(invoices["due_date"]),
        invoices["amount"].to_numpy(dtype=float),
        applied["_code"].to_numpy(),
        _days(applied["payment_date"]),
        applied["applied"].to_numpy(dtype=float),
        int(_days(np.datetime64(pd.Timestamp(cutoff), "ns"))),
    )


def _training_arrays(
    due_day: np.ndarray,
    amount: np.ndarray,
    a_code: np.ndarray,
    a_day: np.ndarray,
    a_applied: np.ndarray,
    cutoff_day: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training rows at the cut-off day C as (invoice code, bin, weight) arrays: per invoice
    (``due_day``, ``amount`` by code) due by C - the last edge, each applied payment (``a_code``
    -1 = none, ``a_day``, ``a_applied``, ordered by code, date and payment id) dated <= C and
    within the last edge of the due date, in the bin of its delay and weighted by the share of
    the amount it settled; then one "not within a year" row per invoice for the rest."""
    horizon = int(DELAY_EDGES[-1])
    due_day = np.asarray(due_day, dtype=np.int64)
    done = np.flatnonzero((due_day + horizon <= cutoff_day) & (amount > 0))
    c, d = np.asarray(a_code, dtype=np.int64), np.asarray(a_day, dtype=np.int64)
    member = np.zeros(len(due_day), dtype=bool)
    member[done] = True
    ok = (c >= 0) & (d <= cutoff_day)
    ok[ok] = member[c[ok]]
    ok[ok] = d[ok] <= due_day[c[ok]] + horizon
    c, d = c[ok], d[ok]
    share = np.asarray(a_applied, dtype=float)[ok] / amount[c]
    m = share > 1e-9
    delay = (d[m] - due_day[c[m]]).astype(float)
    paid_share = np.bincount(c[m], weights=share[m], minlength=len(due_day))
    rest = np.maximum(1 - paid_share[done], 0.0)
    codes = np.concatenate([c[m], done])
    bins = np.concatenate([delay_bin(delay), np.full(len(done), NEVER)])
    weights = np.concatenate([share[m], rest])
    keep = weights > 1e-9
    return codes[keep], bins[keep], weights[keep]


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


def _week_of(dates: pd.Series, origin: pd.Timestamp | pd.Series) -> np.ndarray:
    """Outcome index of a pay date: 0 for week 1 (also dates <= origin), 13 beyond 13 weeks.
    ``origin``: one date, or one per row (aligned with ``dates``)."""
    days = ((dates - origin) / _DAY).to_numpy(dtype=float)
    week = np.ceil(np.maximum(days, 1) / 7) - 1
    return np.clip(np.nan_to_num(week, nan=WEEKS), 0, WEEKS).astype(int)


def due_date_baseline(rows: pd.DataFrame) -> np.ndarray:
    """Each open amount paid on its due date (overdue ones in week 1): (n x 14) cash."""
    out = np.zeros((len(rows), OUTCOMES))
    if len(rows):
        week = _week_of(rows["due_date"], rows["origin"])
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
    d = rows["customer_id"].map(delays).fillna(delays.get("ALL", 0.0))
    return _paid_after_due(rows, d.to_numpy(dtype=float))


def _paid_after_due(rows: pd.DataFrame, delay_days: np.ndarray) -> np.ndarray:
    """Each open amount paid on due date + ``delay_days`` (rounded to days): (n x 14) cash."""
    out = np.zeros((len(rows), OUTCOMES))
    if len(rows):
        days = pd.to_timedelta(np.round(np.asarray(delay_days, dtype=float)), unit="D")
        dates = rows["due_date"] + pd.Series(days, index=rows.index)
        week = _week_of(dates, rows["origin"])
        out[np.arange(len(rows)), week] = rows["open_amount"].to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# the whole computation (every region at once), cached per dataset and period
# --------------------------------------------------------------------------------------------


def month_ends(first: Any, last: Any) -> list[pd.Timestamp]:
    """Month ends from the month of ``first`` to ``last`` inclusive."""
    return list(pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="ME"))


def _fit(
    X: pd.DataFrame,
    y: np.ndarray,
    w: np.ndarray,
    numeric: list[str],
    categorical: list[str],
    seed: int,
):
    """The delay model on training rows ``X, y, w`` (None without two delay bins)."""
    counts = np.bincount(y, minlength=NEVER + 1)
    common = counts[y] >= 5  # a bin seen fewer than 5 times cannot be learnt (nor validated)
    X, y, w = X.loc[common], y[common], w[common]
    if len(np.unique(y)) < 2:
        return None, len(y)
    # a feature that is empty or constant in the history carries nothing (and breaks the binning)
    numeric = [c for c in numeric if X[c].notna().any() and X[c].nunique(dropna=True) > 1]
    X = X[numeric + categorical]
    from threadpoolctl import threadpool_limits

    model = build_model(numeric, categorical, seed)
    if len(X) * 0.15 < 2 * len(np.unique(y)):
        # too few rows to hold out a validation set with every delay bin in it: boost without
        # early stopping (the fixed number of trees) instead of failing on a small ledger
        model.set_params(model__early_stopping=False)
    # one thread: on a bounded sample, OpenMP start-up and a busy second core cost more than
    # they save (measured: 2 threads were slower on the 2-core machine)
    with threadpool_limits(limits=1):
        model.fit(X, y, model__sample_weight=w)
    return model, len(X)


# --------------------------------------------------------------------------------------------
# bounded work: a stratified training sample, a sample of the open invoices at past origins
# --------------------------------------------------------------------------------------------

#: Training rows per model (:func:`training_sample`); None in :func:`compute` = no cap.
DEFAULT_MAX_TRAIN_ROWS = 10_000
#: Month ends in the backtest (the most recent ones with enough history).
DEFAULT_BACKTEST_ORIGINS = 12
#: Open invoices whose timing the model predicts per backtest month end (:func:`inclusion`).
DEFAULT_BACKTEST_SAMPLE = 10_000
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: uint64 -> uint64, every input bit spread over the output."""
    x = np.array(x, dtype=np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def _id_hash(ids: pd.Series, seed: int) -> np.ndarray:
    """A uint64 per id from its text and the seed only (not from its row or the other rows)."""
    h = pd.util.hash_array(ids.astype(str).to_numpy(dtype=object), categorize=False)
    with np.errstate(over="ignore"):
        return _mix(h ^ _mix(np.uint64(int(seed) % 2**64) * _GOLDEN))


def _uniform(base: np.ndarray, salt: np.ndarray | int) -> np.ndarray:
    """Uniform numbers in [0, 1) from the ids' hashes and a salt (a bin, an origin day)."""
    with np.errstate(over="ignore"):
        salted = base + (np.asarray(salt).astype(np.int64).astype(np.uint64) + 1) * _GOLDEN
    return (_mix(salted) >> np.uint64(11)).astype(float) / 2.0**53


def sample_keys(ids: pd.Series, seed: int = 42, salt: Any = 0) -> np.ndarray:
    """Seeded uniform keys in [0, 1) for the ids (same id, seed and salt: same key, whatever
    the table it is in); the samples below keep the rows with the smallest keys."""
    return _uniform(_id_hash(ids, seed), salt)


def training_sample(
    strata: np.ndarray, keys: np.ndarray, cap: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """A stratified sample of at most ``cap`` rows: (positions ascending, weight factors).

    With N rows, N_s in stratum s: stratum s keeps n_s = its share ``cap x N_s / N`` rounded by
    largest remainder (the floors, then +1 for the largest fractions until the n_s sum to
    ``cap``; ties to the lower stratum), its n_s rows with the smallest ``keys``. Each kept row's
    weight is multiplied by ``(N_s / n_s) / (N / cap)``, so every stratum keeps its weight share
    exactly. At most ``cap`` rows (or ``cap`` None): every row, factor 1.
    """
    n = len(strata)
    if cap is None or n <= cap:
        return np.arange(n), np.ones(n)
    strata, keys = np.asarray(strata), np.asarray(keys)
    new = np.r_[True, strata[1:] != strata[:-1]]
    if (strata[1:] >= strata[:-1]).all() and (new[1:] | (keys[1:] >= keys[:-1])).all():
        inverse, order = np.cumsum(new) - 1, np.arange(n)  # already by stratum, then key
    else:
        inverse = np.unique(strata, return_inverse=True)[1].ravel()
        order = np.lexsort((keys, inverse))  # by stratum, then key (ties: row order)
    counts = np.bincount(inverse)
    quota = counts * (cap / n)
    take = np.floor(quota).astype(np.int64)
    rest = int(cap - take.sum())
    take[np.argsort(-(quota - take), kind="stable")[:rest]] += 1
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[inverse[order]]
    kept = np.flatnonzero(rank < take[inverse])
    s = inverse[kept]
    return kept, (counts[s] / take[s]) / (n / cap)


def inclusion(amounts: np.ndarray, size: int | None) -> np.ndarray:
    """Inclusion probabilities proportional to the amount, summing to ``size``: pi = min(1, c A)
    (the largest amounts are certain; c solves sum pi = size). All 1 when there are at most
    ``size`` amounts (or ``size`` None). An invoice is in the sample when its key < pi and
    then stands for 1 / pi invoices (Horvitz-Thompson: the weighted sum is unbiased)."""
    a = np.asarray(amounts, dtype=float)
    if size is None or len(a) <= size or a.sum() <= 0:
        return np.ones(len(a))
    s = np.sort(a)[::-1]
    suffix = np.cumsum(s[::-1])[::-1]  # suffix[k] = sum of all but the k largest
    k = np.arange(size)
    c = (size - k) / np.where(suffix[k] > 0, suffix[k], np.inf)
    ok = c * s[k] < 1
    c0 = c[int(np.argmax(ok))] if ok.any() else c[-1]
    return np.minimum(1.0, c0 * a)


def _predict_cash(model, rows: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
    """P(week) x open amount for open invoices (``rows``, features ``X``): (n x 14) cash."""
    p = week_probabilities(_predict_bins(model, X), rows)
    return p * rows["open_amount"].to_numpy()[:, None]


def _region_codes(
    cust: np.ndarray, customer_ids: pd.Series, customers: pd.DataFrame
) -> tuple[np.ndarray, list]:
    """Each invoice's region (its customer code ``cust``; ``customer_ids``: the id of each code)
    as a code into the returned names, in the order of the customers table (the last name,
    None: no region)."""
    cust_table = customers.drop_duplicates("customer_id")
    names, codes = [], np.full(len(cust_table), -1, dtype=np.int64)
    if "region" in cust_table.columns:
        region = cust_table["region"].astype(object).where(cust_table["region"].notna(), None)
        codes, uniques = pd.factorize(region.to_numpy(dtype=object), use_na_sentinel=True)
        names = [str(u) for u in uniques]
    n_codes = int(customer_ids.index.max()) + 1 if len(customer_ids) else 0
    ids = pd.Series(pd.NA, index=range(n_codes), dtype=object)
    ids[customer_ids.index] = customer_ids.astype(str).to_numpy()
    pos = _codes(ids.astype(str), cust_table["customer_id"].astype(str))
    by_code = np.r_[np.asarray(codes, dtype=np.int64), -1][pos]  # position -1: unknown customer
    out = np.r_[by_code, -1][np.where(cust >= 0, cust, n_codes)]  # -1 code: no customer
    return np.where(out >= 0, out, len(names)), [*names, None]


def _week_index(days: np.ndarray) -> np.ndarray:
    """Outcome index of a pay date ``days`` after the origin (:func:`_week_of`)."""
    week = np.ceil(np.maximum(np.asarray(days, dtype=float), 1) / 7) - 1
    return np.clip(np.nan_to_num(week, nan=WEEKS), 0, WEEKS).astype(int)


def _dates(days: np.ndarray) -> np.ndarray:
    """Days since 1970 as ``datetime64[ns]``."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def _state(origin_day: int, due_day: np.ndarray, invoice_day: np.ndarray) -> pd.DataFrame:
    """What :func:`week_probabilities` reads of open rows at one origin."""
    return pd.DataFrame(
        {
            "origin": _dates(np.full(len(due_day), origin_day)),
            "due_date": _dates(due_day),
            "invoice_date": _dates(invoice_day),
        }
    )


def _hash_ids(ids: Any, seed: int, chunk: int = 1_000_000) -> np.ndarray:
    """:func:`_id_hash` of an Arrow array of ids, a chunk at a time (never all as Python strings)."""
    out = np.empty(len(ids), dtype=np.uint64)
    for start in range(0, len(ids), chunk):
        part = ids.slice(start, chunk).to_pandas()
        out[start : start + len(part)] = _id_hash(part, seed)
    return out


def compute(
    tables: Any,
    as_of: Any,
    *,
    late_days: int = 30,
    random_seed: int = 42,
    min_train_invoices: int = 200,
    backtest_origins: int | None = None,
    max_train_rows: int | None = DEFAULT_MAX_TRAIN_ROWS,
    backtest_sample_rows: int | None = DEFAULT_BACKTEST_SAMPLE,
) -> dict[str, pd.DataFrame]:
    """The forecast at T and its backtest for every open invoice (all regions at once).

    ``tables``: a folder of processed parquet files (a path or
    :class:`arinsight.ledger.FolderTables`: the engine reads the files, and only the rows the
    models learn from or score come into pandas) or a mapping of pandas frames (invoices,
    payments, customers).

    The model at a date C is trained on the invoices due by C - 365 days (their payments up to a
    year after the due date are known at C): a :func:`training_sample` of at most
    ``max_train_rows`` of their payment rows, stratified by delay bin and due month, seeded by
    ``random_seed`` (None: every row). The backtest origins are the ``backtest_origins`` most
    recent month ends O (default :data:`DEFAULT_BACKTEST_ORIGINS`; None or 0 = the default) with
    O + 91 days <= T and at least ``min_train_invoices`` training rows, each forecast by the
    model of C = O. At each origin the actual cash and both baselines are summed over every
    open invoice; the model's cash over a sample of ``backtest_sample_rows`` of them drawn with
    probability proportional to the open amount (:func:`inclusion`; None: every one), each
    weighted by 1 / its probability. So the work per model and per origin is bounded, whatever
    the length of the history; only the invoices open at T and the engine's as-of queries grow
    with the ledger. Per invoice of the history this holds a few numbers (codes, days, amounts:
    :mod:`arinsight.engine.session`), never its ids or features.

    Returns ``forecast`` (one row per invoice open at T: invoice_id, customer_id, due_date,
    open_amount, p_week_1..13, p_later), ``backtest`` (one row per origin and customer region:
    origin, region, open_invoices, sampled and the cash per week of the model, the actual
    payments and the two baselines: ``model_1..13``, ``actual_1..13``, ``due_1..13``,
    ``delay_1..13``) and ``info`` (training rows, the bounds). Raises :class:`ForecastError`
    without enough history.
    """
    from arinsight.engine.session import NO_DAY, history_session, model_source
    from arinsight.risk import features_of

    T = pd.Timestamp(as_of).normalize()
    if late_days is None or int(late_days) < 0:
        raise ForecastError(f"late_days must be a non-negative number of days, got {late_days!r}")
    n_origins = int(backtest_origins) if backtest_origins else DEFAULT_BACKTEST_ORIGINS
    source, customers = model_source(tables)
    t_day = int(_days(np.datetime64(T, "ns")))
    horizon = int(DELAY_EDGES[-1])
    with history_session(source, T, late_days=int(late_days)) as s:
        summary = s.summary()
        if summary["invoices"] == 0:
            raise ForecastError(f"no invoices issued by {T:%Y-%m-%d}: nothing to forecast")
        if summary["distinct_ids"] != summary["invoices"]:
            raise ForecastError("invoices: invoice_id is not unique (run 02_clean first)")
        candidates = month_ends(summary["first_invoice_date"], T - pd.Timedelta(days=7 * WEEKS))
        inv = s.invoices()  # row i = invoice code i (by invoice id)
        due_day = inv["due_day"].to_numpy(np.int64)
        amount = inv["amount"].to_numpy(float)
        ids = s.invoice_ids()  # an Arrow array: hashed in chunks, taken by code at the end
        base = _hash_ids(ids, random_seed)
        ap = s.applied()
        # every training row of T, once: an earlier cut-off C only keeps those due by C - 365
        t_code, y, w = _training_arrays(
            due_day, amount, ap["code"].to_numpy(), ap["day"].to_numpy(np.int64),
            ap["applied"].to_numpy(float), t_day,
        )  # fmt: skip
        del ap
        t_last = due_day[t_code] + horizon  # the first cut-off that may use the row
        t_month = _dates(due_day[t_code]).astype("datetime64[M]").astype(np.int64)
        t_strata = t_month * (NEVER + 1) + y
        t_keys = _uniform(base[t_code], y)
        by_stratum = np.lexsort((t_keys, t_strata))  # once, so each sample needs no sort
        t_code, y, w, t_last = t_code[by_stratum], y[by_stratum], w[by_stratum], t_last[by_stratum]
        t_strata, t_keys = t_strata[by_stratum], t_keys[by_stratum]

        def sample_at(cutoff_day: int) -> tuple[np.ndarray, np.ndarray, int]:
            """The training rows of the model at ``cutoff_day``: positions, weight factors,
            rows available."""
            avail = np.flatnonzero(t_last <= cutoff_day)
            kept, factor = training_sample(t_strata[avail], t_keys[avail], max_train_rows)
            return avail[kept], factor, len(avail)

        cand_days = _days(np.array(candidates, dtype="datetime64[ns]"))
        enough = np.searchsorted(np.sort(t_last), cand_days, side="right") >= min_train_invoices
        origins = [o for o, ok in zip(candidates, enough, strict=True) if ok][-n_origins:]
        opened = s.open_rows([*candidates[-n_origins:], T])
        collected = s.collected()
        o_day = opened["origin_day"].to_numpy(np.int64)
        o_code = opened["code"].to_numpy(np.int64)
        o_open = opened["open_amount"].to_numpy(float)
        del opened
        # what each model learns from and predicts, decided before any feature is read
        fits = {t_day: sample_at(t_day)}
        at_t = np.flatnonzero(o_day == t_day)
        plans = []
        for origin_t in origins:
            day = int(_days(np.datetime64(origin_t, "ns")))
            fits[day] = sample_at(day)
            rows = np.flatnonzero(o_day == day)
            pi = inclusion(o_open[rows], backtest_sample_rows)
            take = np.flatnonzero(_uniform(base[o_code[rows]], day) < pi)
            plans.append((origin_t, day, rows, pi, take))
        wanted = [o_code[at_t], *(t_code[f[0]] for f in fits.values())]
        wanted += [o_code[rows[take]] for _, _, rows, _, take in plans]
        needed = np.unique(np.concatenate(wanted))
        details = s.rows(needed)
        customer_ids = s.customer_ids()
        invoice_ids = ids.take(o_code[at_t]).to_pandas()
        del ids
    feats = features_of(details, details, details, customers)
    numeric, categorical = _feature_columns(feats)
    cols = numeric + categorical
    feats = feats[cols]
    del details

    def features(codes: np.ndarray) -> pd.DataFrame:
        return feats.iloc[np.searchsorted(needed, codes)].reset_index(drop=True)

    def fit_at(day: int):
        rows, factor, n_avail = fits[day]
        X = features(t_code[rows])
        model, n = _fit(X, y[rows], w[rows] * factor, numeric, categorical, random_seed)
        return model, n, n_avail

    model, n_train, n_avail = fit_at(t_day)
    if model is None or n_train < min_train_invoices:
        raise ForecastError(
            f"{n_train} payment outcome(s) of invoices due more than {horizon} days before "
            f"{T:%Y-%m-%d}; at least {min_train_invoices} needed to learn payment timing"
        )
    code_t = o_code[at_t]
    inv_day = inv["invoice_day"].to_numpy(np.int64)
    p = week_probabilities(
        _predict_bins(model, features(code_t)), _state(t_day, due_day[code_t], inv_day[code_t])
    )
    cust = inv["cust"].to_numpy(np.int64)
    forecast = pd.DataFrame(
        {
            "invoice_id": invoice_ids.to_numpy(dtype=object),
            "customer_id": customer_ids.reindex(cust[code_t]).to_numpy(dtype=object),
            "due_date": _dates(due_day[code_t]),
            "open_amount": o_open[at_t],
        }
    )
    for k in range(WEEKS):
        forecast[f"p_week_{k + 1}"] = p[:, k]
    forecast["p_later"] = p[:, WEEKS]

    # the backtest: the most recent month ends with 13 known weeks and enough history
    region, names = _region_codes(cust, customer_ids, customers)
    paid_day = inv["paid_day"].to_numpy(np.int64)
    has_paid = paid_day != NO_DAY  # the engine's paid date at T: "paid by O" = paid date <= O
    delay = np.where(has_paid, paid_day - due_day, 0).astype(float)
    n_cust = int(cust.max()) + 2 if len(cust) else 1
    cust = np.where(cust >= 0, cust, n_cust - 1)  # no customer: never has its own average
    c_day = collected["origin_day"].to_numpy(np.int64)
    c_code = collected["code"].to_numpy(np.int64)
    c_week = collected["week"].to_numpy(np.int64)
    c_cash = collected["collected"].to_numpy(float)
    parts = []
    for origin_t, day, rows, pi, take in plans:
        m, n, _ = fit_at(day)
        if m is None or n < min_train_invoices or len(rows) == 0:
            continue
        code, open_ = o_code[rows], o_open[rows]
        # each customer's average delay over its invoices paid by O (ALL: over every one)
        known = has_paid & (paid_day <= day) & (inv_day <= day) & (cust < n_cust - 1)
        sums = np.bincount(cust[known], weights=delay[known], minlength=n_cust)
        counts = np.bincount(cust[known], minlength=n_cust)
        everyone = float(delay[known].mean()) if known.any() else 0.0
        c = cust[code]
        d = np.where(counts[c] > 0, sums[c] / np.maximum(counts[c], 1), everyone)
        model_cash = np.zeros((len(rows), OUTCOMES))
        state = _state(day, due_day[code[take]], inv_day[code[take]])
        p_take = week_probabilities(_predict_bins(m, features(code[take])), state)
        model_cash[take] = p_take * (open_[take] / pi[take])[:, None]
        g = region[code]
        actual = np.zeros((len(rows), WEEKS))
        sel = np.flatnonzero(c_day == day)
        at = np.searchsorted(code, c_code[sel])  # the open rows of O are ordered by code
        np.add.at(actual, (at, c_week[sel] - 1), c_cash[sel])
        week_of = {
            "due": _week_index(due_day[code] - day),
            "delay": _week_index(due_day[code] + np.round(d) - day),
        }
        present = np.flatnonzero(np.bincount(g, minlength=len(names)))
        frame = pd.DataFrame(
            {
                "origin": origin_t,
                "region": [names[i] for i in present],
                "open_invoices": np.bincount(g, minlength=len(names))[present],
                "sampled": np.bincount(g[take], minlength=len(names))[present],
            }
        )
        for name in ("model", "actual", "due", "delay"):
            for k in range(WEEKS):
                if name == "model":
                    weights = model_cash[:, k]
                elif name == "actual":
                    weights = actual[:, k]
                else:
                    weights = np.where(week_of[name] == k, open_, 0.0)
                sums_k = np.bincount(g, weights=weights, minlength=len(names))[present]
                frame[f"{name}_{k + 1}"] = np.round(sums_k, 2)
        parts.append(frame)
    backtest = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    info = pd.DataFrame(
        [
            {
                "as_of": T,
                "train_rows": n_train,
                "train_rows_available": n_avail,
                "max_train_rows": int(max_train_rows or 0),
                "backtest_origins": len(parts),
                "backtest_sample_rows": int(backtest_sample_rows or 0),
            }
        ]
    )
    return {"forecast": forecast, "backtest": backtest, "info": info}


#: The layout of :func:`compute`'s result; a new one makes older cached results unreachable.
_CACHE_FORMAT = 3


def cache_key(tables: Any, as_of: Any, params: Mapping[str, Any]) -> str:
    """sha256 of the period, the parameters, the package version and the content of the tables
    the forecast reads (:func:`arinsight.files.hash_tables`: the files' bytes of a folder, every
    column of frames): invoices, payments, customers and the adjustments (a written-off invoice
    is not open)."""
    from arinsight import __version__

    h = hashlib.sha256()
    h.update(
        json.dumps({"as_of": str(pd.Timestamp(as_of).date()), **params}, sort_keys=True).encode()
    )
    h.update(__version__.encode())
    h.update(f"forecast-result-{_CACHE_FORMAT}".encode())
    hash_tables(h, tables, ("invoices", "payments", "customers", "adjustments"))
    return h.hexdigest()[:24]


def compute_cached(
    tables: Any,
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
    from arinsight.files import file_lock

    folder = Path(cache_dir) / cache_key(tables, as_of, params)
    names = ("forecast", "backtest", "info")
    with file_lock(folder.parent / f".{folder.name}.lock"):
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
        if not backtest.empty:  # one row per origin and region (the customers' at compute)
            backtest = backtest.loc[backtest["region"] == region]
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
    tables: Any,
    as_of: Any,
    region: str = "All",
    cache_dir: str | Path | None = None,
    interval: tuple[float, float] = (0.1, 0.9),
    **params: Any,
) -> Forecast:
    """The page's forecast: :func:`compute_cached` then :func:`region_forecast`. When the data
    cannot give one (no open invoice, too little history) the forecast is *unavailable* with the
    reason, so the page says why instead of failing; any other error is raised."""
    from arinsight.engine.session import model_source

    T = pd.Timestamp(as_of).normalize()
    empty = pd.DataFrame(columns=["week", "week_start", "week_end", "expected", "low", "high"])
    try:
        result = compute_cached(tables, T, cache_dir, **params)
    except ForecastError as exc:
        return Forecast(T, empty, pd.DataFrame(), error_table(pd.DataFrame()), {}, str(exc))
    fc = region_forecast(result, model_source(tables)[1], region, interval)
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
