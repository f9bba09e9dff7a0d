"""The model: usable features, the calibrated gradient-boosting pipeline, fitting and prediction."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from arinsight.risk.base import (
    CATEGORICAL,
    FEATURES,
    LARGE_TRAIN_ROWS,
    MAX_TRAIN_ROWS,
    MIN_FEATURE_VALUES,
    MIN_TRAINING_INVOICES,
    NUMERIC,
    NotEnoughHistory,
    RiskModelError,
)
from arinsight.risk.labels import check_columns


def usable_features(train: pd.DataFrame) -> tuple[list[str], list[str], dict[str, str]]:
    """The features a model can learn from on ``train``: (numeric, categorical, dropped).

    A feature with no value at all (e.g. no credit limits, no energy usage in the export) or with
    a single value on every row (constant: e.g. one customer type) carries no information and is
    dropped; so is a numeric feature known for fewer than :data:`MIN_FEATURE_VALUES` training
    invoices (e.g. two customers of hundreds have a credit limit): the calibration's folds and
    the boosting's validation split can leave a part with none of its values, where the boosting
    cannot bin it (scikit-learn fails with "window shape cannot be larger than input array
    shape"), and so few values teach nothing reliable anyway. ``dropped`` maps each such feature
    to the reason, for the model card.
    """
    numeric, categorical, dropped = [], [], {}
    for col in FEATURES:
        values = train[col]
        if col in CATEGORICAL:
            values = values.where(values != "Unknown")
        known = int(values.notna().sum())
        if known == 0:
            dropped[col] = "no values in the data"
        elif col not in CATEGORICAL and known < MIN_FEATURE_VALUES:
            dropped[col] = (
                f"known for only {known} of {len(values)} training invoices "
                f"(at least {MIN_FEATURE_VALUES} needed)"
            )
        elif values.nunique(dropna=False) <= 1:
            dropped[col] = f"the same value on every invoice ({values.dropna().iloc[0]})"
        else:
            (categorical if col in CATEGORICAL else numeric).append(col)
    if not numeric and not categorical:
        raise NotEnoughHistory("no feature varies between the invoices: nothing to learn from")
    return numeric, categorical, dropped


def build_model(
    random_seed: int = 42,
    n_rows: int = 0,
    numeric: list[str] | None = None,
    categorical: list[str] | None = None,
):
    """An unfitted Pipeline: one-hot categoricals + calibrated gradient boosting.

    ``numeric`` / ``categorical`` are the features it uses (default :data:`NUMERIC` /
    :data:`CATEGORICAL`; see :func:`usable_features`).

    ``HistGradientBoostingClassifier`` (missing values handled natively, early stopping on a
    seeded 15 % validation split) wrapped in ``CalibratedClassifierCV`` (sigmoid / Platt scaling,
    3 folds; 2 folds from ``n_rows`` = 100k training rows, where each half is plenty and
    training time matters), so ``predict_proba`` is a calibrated probability of late payment.

    From :data:`LARGE_TRAIN_ROWS` training rows the boosting takes half as many, twice as large
    steps (learning rate 0.16, at most 100 trees instead of 0.08 and 200): early stopping never
    triggers on that much data, so the cost is the number of trees. Measured on the 1M-invoice
    sample (800k training rows, test months Aug-Oct 2026): ROC AUC 0.8152 vs 0.8155, PR AUC
    0.6758 vs 0.6764, Brier 0.1421 vs 0.1418, for about half the training time.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    large = n_rows >= LARGE_TRAIN_ROWS
    numeric = list(NUMERIC if numeric is None else numeric)
    categorical = list(CATEGORICAL if categorical is None else categorical)
    steps = [("num", "passthrough", numeric)] if numeric else []
    if categorical:
        steps.append(
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64),
                categorical,
            )
        )
    prep = ColumnTransformer(steps, verbose_feature_names_out=False)
    gbm = HistGradientBoostingClassifier(
        learning_rate=0.16 if large else 0.08,
        max_iter=100 if large else 200,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=15,
        max_bins=63,
        random_state=int(random_seed),
    )
    model = CalibratedClassifierCV(gbm, method="sigmoid", cv=2 if n_rows >= 100_000 else 3)
    return Pipeline([("prep", prep), ("model", model)])


def model_settings(model) -> dict[str, Any]:
    """The settings of a fitted :func:`build_model` pipeline the model card reports: learning
    rate, maximum and used number of trees per calibration fold, calibration folds."""
    cal = model[-1]
    gbm = cal.estimator
    fitted = getattr(cal, "calibrated_classifiers_", [])
    return {
        "learning_rate": float(gbm.learning_rate),
        "max_iter": int(gbm.max_iter),
        "n_iter": [int(c.estimator.n_iter_) for c in fitted],
        "calibration": str(cal.method),
        "calibration_folds": int(cal.cv),
    }


def fit_model(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    random_seed: int = 42,
    max_train_rows: int | None = MAX_TRAIN_ROWS,
):
    """Fit :func:`build_model` on the matured invoices of ``labels`` (one cut-off), with the
    features that vary on them (:func:`usable_features`); above ``max_train_rows`` on a sample
    of them stratified by month and label (:func:`training_sample`).

    Raises :class:`NotEnoughHistory` when fewer than 50 matured invoices or only one class remain.
    """
    train = _training_rows(features, labels)
    check_trainable(train, "training")
    return fit_rows(training_sample(train, max_train_rows, random_seed), random_seed)


#: OpenMP threads of every risk fit and prediction (see :func:`fit_threads`).
RISK_THREADS = 1


def fit_threads(n_rows: int = 0):
    """Single-threaded OpenMP (:data:`RISK_THREADS`) for every fit and prediction, whatever the
    size. The monthly run keeps both cores busy (two notebook workers, other jobs), and OpenMP
    threads that wait at every barrier for a thread the system has descheduled spin instead of
    working: a 200k-row fit took 103 s with 2 threads and 9-22 s with 1 on the busy 2-core
    machine (load average about 10); the first 1M risk run took 1,166 s with 2 threads. Below
    100k rows one thread was already faster (3x, on 2 busy cores). A fixed count also keeps the
    numbers independent of the machine's core count."""
    import sklearn.ensemble  # noqa: F401 - load the OpenMP runtime first, so the limit applies
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=RISK_THREADS)


def fit_rows(train: pd.DataFrame, random_seed: int):
    """A :func:`build_model` pipeline fitted on ``train`` with its usable features."""
    numeric, categorical, _ = usable_features(train)
    model = build_model(random_seed, len(train), numeric, categorical)
    with fit_threads(len(train)):
        model.fit(train[numeric + categorical], train["late"].astype(int).to_numpy())
    return model


def model_features(model) -> list[str]:
    """The features a fitted pipeline uses, in order."""
    return [str(c) for c in model.feature_names_in_]


def predict_late(model, features: pd.DataFrame) -> np.ndarray:
    """Calibrated probability of late payment (score at the invoice date) for each row."""
    if len(features) == 0:
        return np.zeros(0)
    return model.predict_proba(features[model_features(model)])[:, 1]


def training_rows(features: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """The rows a model trained at the labels' cut-off C learns from: the features of the
    invoices matured at C (due more than ``late_days`` before C) with their ``late`` label."""
    check_columns(labels, "labels", ["invoice_id", "matured", "late"])
    lab = labels.loc[labels["matured"], ["invoice_id", "late"]]
    return features.merge(lab, on="invoice_id", how="inner")


_training_rows = training_rows


def check_trainable(train: pd.DataFrame, what: str) -> None:
    """Raise :class:`NotEnoughHistory` when ``train`` cannot teach a model anything."""
    check_outcomes(train["late"].astype(bool).to_numpy(), what)


def check_outcomes(late: np.ndarray, what: str) -> None:
    """Raise :class:`NotEnoughHistory` when the labels ``late`` cannot teach a model anything."""
    n = len(late)
    if n < MIN_TRAINING_INVOICES:
        raise NotEnoughHistory(
            f"not enough history for {what}: {n} invoice{'' if n == 1 else 's'} "
            f"with a known outcome, at least {MIN_TRAINING_INVOICES} needed"
        )
    n_late = int(np.count_nonzero(late))
    if n_late in (0, n):
        outcome = "late" if n_late else "paid on time"
        raise NotEnoughHistory(
            f"nothing to learn for {what}: all {n} invoices with a known outcome were {outcome}"
        )


def sample_positions(
    month: np.ndarray, late: np.ndarray, max_rows: int | None, random_seed: int = 42
) -> np.ndarray:
    """Positions (sorted) of a random sample of at most ``max_rows`` rows, stratified by
    (``month``, ``late``); all positions when ``max_rows`` is None or not exceeded.

    With n rows, cap k < n and a stratum of n_s rows, the stratum keeps ``floor(k * n_s / n)``
    rows (proportional allocation), and the ``k - sum(floor)`` rows left over go one each to the
    strata with the largest remainders ``k * n_s mod n`` (ties: the earlier month, on-time before
    late). Exactly k rows are kept, each stratum's share is that of the whole to within one row, so
    the late rate and the mix of months are those of the whole history. Within a stratum the rows
    kept are a uniform random subset: each row draws ``u`` from ``numpy.random.default_rng(seed)``
    (in row order) and the stratum's rows with the smallest ``u`` are kept. Same rows, same order,
    same seed = same sample.
    """
    n = len(month)
    if max_rows is None or n <= int(max_rows):
        return np.arange(n)
    k = int(max_rows)
    if k < 0:
        raise RiskModelError(f"max_train_rows must be >= 0 or None, got {max_rows!r}")
    month_code = pd.factorize(np.asarray(month), sort=True)[0].astype(np.int64)
    key = month_code * 2 + np.asarray(late, dtype=bool)
    _, codes = np.unique(key, return_inverse=True)  # strata by month, then on time / late
    size = np.bincount(codes)
    take = (k * size) // n
    remainder = (k * size) % n
    extra = np.argsort(-remainder, kind="stable")[: k - int(take.sum())]
    take[extra] += 1
    u = np.random.default_rng(int(random_seed)).random(n)
    order = np.lexsort((u, codes))  # by stratum, then u
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    rank = np.arange(n) - start[codes[order]]
    return np.sort(order[rank < take[codes[order]]])


def training_sample(
    train: pd.DataFrame, max_rows: int | None = MAX_TRAIN_ROWS, random_seed: int = 42
) -> pd.DataFrame:
    """The rows of ``train`` (training rows: ``invoice_date`` and ``late``) a model learns from:
    all of them up to ``max_rows``, above it a random sample of ``max_rows`` rows stratified by
    invoice month and label (:func:`sample_positions`), kept in their original order."""
    if max_rows is None or len(train) <= int(max_rows):
        return train
    month = train["invoice_date"].to_numpy(dtype="datetime64[ns]").astype("datetime64[M]")
    at = sample_positions(month, train["late"].astype(bool).to_numpy(), max_rows, random_seed)
    return train.iloc[at]
