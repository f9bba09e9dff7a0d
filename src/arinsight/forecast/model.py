"""The payment-timing model: a classifier of each invoice's delay bin (payment date - due
date), its training rows, and the share of an open invoice's cash in each of the 13 weeks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from arinsight.forecast.base import DELAY_EDGES, NEVER, OUTCOMES, WEEKS
from arinsight.forecast.rows import engine_history, epoch_days, positions_in


def feature_columns(features: pd.DataFrame) -> tuple[list[str], list[str]]:
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
    applied = engine_history(inv, payments, ["applied"])["applied"]
    code, bins, weights = _training_rows(inv, applied, cutoff)
    ids = inv["invoice_id"].to_numpy()[code]
    return pd.DataFrame({"invoice_id": ids}), bins, weights


def _training_rows(
    invoices: pd.DataFrame, applied: pd.DataFrame, cutoff: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`delay_training_rows` as (invoice position in ``invoices``, bin, weight) arrays
    from the engine's applied payments (``applied``, of a ledger cut at or after ``cutoff``)."""
    applied = applied.assign(_code=positions_in(applied["invoice_id"], invoices["invoice_id"]))
    applied = applied.sort_values(["_code", "payment_date", "payment_id"], kind="stable")
    return training_arrays(
        epoch_days(invoices["due_date"]),
        invoices["amount"].to_numpy(dtype=float),
        applied["_code"].to_numpy(),
        epoch_days(applied["payment_date"]),
        applied["applied"].to_numpy(dtype=float),
        int(epoch_days(np.datetime64(pd.Timestamp(cutoff), "ns"))),
    )


def training_arrays(
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


def predict_bins(model, rows: pd.DataFrame) -> np.ndarray:
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


def fit(
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
