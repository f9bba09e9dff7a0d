"""Late-payment risk: labels, leakage-free features, model, evaluation, scoring and persistence.

Vocabulary used throughout (docs/risk.md):

* ``L`` = ``late_days`` (parameter, default 30). ``D`` = an invoice's due date.
* **Paid date** ``S`` (the receivables engine's definition, :func:`settlement`): the payment date
  on which the invoice's cumulative applied payments, taken in order of ``payment_date`` then
  ``payment_id`` and counting only payments dated ``<= T``, first reach its amount (to the cent),
  provided they still cover it at T (a refund that re-opens it leaves it unpaid). Unapplied cash
  (no invoice id, or an id not in the invoices) settles no invoice.
* **Late**: paid more than ``L`` days after the due date (``S - D > L``), or still unpaid that long
  after it.
* **Outcome known at a cut-off C** (a date, inclusive; only payments dated ``<= C`` count):

  - paid by C (``S <= C``): known, late iff ``S - D > L``;
  - not paid by C and ``C - D > L``: known, late (unpaid that long);
  - otherwise (not paid by C and ``C - D <= L``): not yet known.

  Equivalently the outcome becomes known on the **resolution date** ``K = D + L + 1`` for a late
  invoice and ``K = S`` for an on-time one, and it is known at C iff ``K <= C``.
* **Matured at C**: ``C - D > L``. A matured invoice always has a known outcome, and it never
  changes afterwards (late iff not paid within ``L`` days of D). The model is trained on matured
  invoices only: an invoice paid early but not yet matured also has a known outcome, but its unpaid
  peers of the same due date do not, so keeping it would bias training towards quick payers (right
  censoring). Every training invoice is therefore due before the cut-off.

Features of an invoice dated ``d`` use only what the ledger showed at the **close of day d - 1**:
invoices dated ``< d`` and payments dated ``< d`` (same-day invoices of the customer do not see each
other). Each is a sum (or the latest value) over the customer's dated events (issues, payments,
due dates, resolutions, paid dates), computed by the engine for every invoice at once
(:func:`arinsight.engine.history.customer_history`, with the paid dates and applied payments of
:func:`arinsight.engine.history.settlement` and :func:`~arinsight.engine.history.applied`; money
exact to the cent); this module only turns those sums into rates and means and adds the master
data. Since they never depend on the cut-off, they are computed once per run and every backtest
only changes the labels. The as-of accounting is the engine's; here are only labels, sampling,
fitting, prediction and evaluation.

Training is bounded (:func:`training_sample`): a model learns from at most ``max_train_rows``
matured invoices (default :data:`MAX_TRAIN_ROWS`), a random sample stratified by invoice month and
label, seeded by ``random_seed``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import UserError
from arinsight.files import file_lock, hash_tables, write_json
from arinsight.ledger import lookup, positions

#: Categorical features (customer master data); missing values become "Unknown".
CATEGORICAL = ["industry", "region", "customer_type"]
#: Numeric features; NaN means "undefined" (no history) and is handled natively by the model.
NUMERIC = [
    "amount",
    "terms_days",
    "energy_kwh",
    "month",
    "credit_limit",
    "prior_invoices",
    "prior_known",
    "prior_late_rate",
    "prior_mean_days_late",
    "open_balance",
    "overdue_balance",
    "credit_limit_use",
    "days_since_last_late",
]
FEATURES = NUMERIC + CATEGORICAL
#: The baseline rule's input: was the customer's most recently resolved invoice late (1/0, NaN if none)?
BASELINE = "last_late"
HORIZONS = (30, 60, 90)
#: At most this many matured invoices train each model (the final model, the headline evaluation
#: and every backtest month): above it, a random sample stratified by invoice month and label
#: (:func:`training_sample`). On the 1M-invoice ledger (800k training rows) this costs 0.0004 to
#: 0.0010 ROC AUC against no cap (200k: 0.0001 to 0.0003) and brings the first run of a period
#: to about 30 s (200k: twice the fitting time); see docs/risk.md.
MAX_TRAIN_ROWS = 100_000
#: From this many training rows a model boosts with fewer, larger steps (see :func:`build_model`);
#: only reached when ``max_train_rows`` is raised above it or switched off.
LARGE_TRAIN_ROWS = 500_000

#: Types a risk model file may contain beyond those skops trusts by default (scikit-learn
#: estimators, numpy arrays). Anything else in a file is refused before it is loaded.
TRUSTED_TYPES = [
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


class RiskModelError(UserError):
    """The risk model cannot be trained, evaluated or loaded (not enough history, bad file...)."""


class NotEnoughHistory(RiskModelError):
    """The ledger does not hold enough history to train or evaluate the model: not an error of
    the run. The Risk page says why (the message is written for a stakeholder) and every other
    page is published."""


#: Fewest invoices with a known outcome a model is trained on.
MIN_TRAINING_INVOICES = 50
#: Fewest training invoices with a value for a numeric feature to be used (see
#: :func:`usable_features`): with 30 values, the chance that a fold of the calibrated model holds
#: none is below 1e-10.
MIN_FEATURE_VALUES = 30


class UntrustedModelError(RiskModelError):
    """A model file contains types that are not on the trusted list; it is not loaded."""


# ----------------------------------------------------------------------------------------------
# Settlement and labels
# ----------------------------------------------------------------------------------------------


def _as_day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize().astype("datetime64[ns]")


def _check_columns(df: pd.DataFrame, table: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RiskModelError(f"{table}: missing column(s) {', '.join(missing)}")


def _positions(keys: pd.Series, ids: pd.Series) -> np.ndarray:
    """The row of each key in the unique ``ids`` (-1 when absent or missing)."""
    index = pd.Index(ids)
    try:
        at = positions(keys, index)
    except ValueError as exc:
        raise RiskModelError("invoices: invoice_id is not unique (run 02_clean first)") from exc
    if at is None:
        if not index.is_unique:
            raise RiskModelError("invoices: invoice_id is not unique (run 02_clean first)")
        at = index.get_indexer(pd.Index(keys))
    return np.asarray(at, dtype=np.int64)


def _engine(
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    as_of: Any = None,
    late_days: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The engine's settlement of the ledger (cut at ``as_of`` when given) in the invoices' row
    order, and with ``late_days`` the customer history of every invoice
    (:func:`arinsight.engine.history.customer_history`) in the same order, else None."""
    from arinsight.engine.run import history_frames

    _check_columns(
        invoices, "invoices", ["invoice_id", "customer_id", "invoice_date", "due_date", "amount"]
    )
    _check_columns(payments, "payments", ["invoice_id", "customer_id", "payment_date", "amount"])
    if invoices["due_date"].isna().any() or invoices["invoice_date"].isna().any():
        raise RiskModelError(
            "invoices: invoice_date and due_date must be filled (run 02_clean first)"
        )
    marts = ["settlement"] if late_days is None else ["settlement", "customer_history"]
    tables = {"invoices": invoices, "payments": payments}
    frames = history_frames(tables, marts, as_of, late_days=late_days)
    settled = frames["settlement"]
    if settled["invoice_id"].duplicated().any():
        raise RiskModelError("invoices: invoice_id is not unique (run 02_clean first)")
    # the invoices' own order (the engine's is by id)
    cut = invoices if as_of is None else invoices.loc[_as_day(invoices["invoice_date"]) <= as_of]
    at = _positions(cut["invoice_id"], settled["invoice_id"])
    settled = settled.iloc[at].reset_index(drop=True)
    history = frames.get("customer_history")
    if history is not None:
        history = history.iloc[at].reset_index(drop=True)
    return settled, history


def settlement(invoices: pd.DataFrame, payments: pd.DataFrame) -> pd.DataFrame:
    """Each invoice's paid date, as the receivables engine defines it.

    **Paid date** of an invoice = the ``payment_date`` on which its cumulative payments, ordered
    by ``payment_date`` then ``payment_id`` (tie-breaker), counting only the payments given
    (pass payments cut at T: those dated ``<= T``), first reach its amount (to the cent); NaT when
    they do not cover it (:func:`arinsight.engine.history.settlement`: the engine's one
    definition). Unapplied cash (no invoice id, or one not among the invoices) settles no
    invoice. No other rule: a payment dated before its invoice counts on its own date (02_clean
    quarantines such payments, ``payment_before_invoice``).

    Returns one row per invoice (input order): ``invoice_id, customer_id, invoice_date, due_date,
    amount, paid_date``.
    """
    settled, _ = _engine(invoices, payments)
    return settled[["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "paid_date"]]


def _labels_at(settled: pd.DataFrame, as_of: pd.Timestamp, late_days: int) -> pd.DataFrame:
    C = pd.Timestamp(as_of).normalize()
    s = settled.loc[settled["invoice_date"] <= C]
    paid = s["paid_date"].notna() & (s["paid_date"] <= C)
    days_to_pay = (s["paid_date"] - s["due_date"]).dt.days.where(paid)
    age = (C - s["due_date"]).dt.days
    matured = age > late_days
    known = paid | matured
    late = pd.Series(pd.NA, index=s.index, dtype="boolean")
    late[paid] = days_to_pay[paid] > late_days
    late[~paid & matured] = True
    return pd.DataFrame(
        {
            "invoice_id": s["invoice_id"],
            "invoice_date": s["invoice_date"],
            "due_date": s["due_date"],
            "paid_date": s["paid_date"].where(paid),
            "days_to_pay": days_to_pay,
            "outcome_known": known,
            "matured": matured,
            "late": late,
        }
    ).reset_index(drop=True)


def late_labels(
    invoices: pd.DataFrame, payments: pd.DataFrame, as_of: Any, late_days: int = 30
) -> pd.DataFrame:
    """The late-payment label of every invoice issued by the cut-off C = ``as_of``, as known at C.

    Only payments dated ``<= C`` count. With ``S`` the paid date (:func:`settlement`) and ``D``
    the due date: ``late = S - D > late_days`` if paid by C; ``late = True`` if unpaid and
    ``C - D > late_days``; otherwise the outcome is not yet known (``late`` is NA,
    ``outcome_known`` False). ``matured = C - D > late_days`` marks the invoices used for training.

    Returns ``invoice_id, invoice_date, due_date, paid_date (NaT if not paid by C), days_to_pay
    (S - D), outcome_known, matured, late`` for invoices with ``invoice_date <= C``.
    """
    if late_days is None or int(late_days) < 0:
        raise RiskModelError(f"late_days must be a non-negative number of days, got {late_days!r}")
    C = pd.Timestamp(as_of).normalize()
    settled, _ = _engine(invoices, payments, C)
    return _labels_at(settled, C, int(late_days))


# ----------------------------------------------------------------------------------------------
# Features
# ----------------------------------------------------------------------------------------------


def invoice_features(
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    customers: pd.DataFrame,
    late_days: int = 30,
) -> pd.DataFrame:
    """Features of every invoice from what the ledger showed at the close of the day before it.

    For an invoice of customer c dated d (``L`` = ``late_days``; S = paid date, :func:`settlement`):

    * ``amount``, ``terms_days = due_date - invoice_date``, ``energy_kwh``, ``month`` (1-12), and
      c's ``industry``, ``region``, ``customer_type``, ``credit_limit`` (master data);
    * ``prior_invoices`` = c's invoices dated before d;
    * ``prior_known`` = c's invoices whose outcome was known before d (resolution date K < d);
      ``prior_late_rate`` = late ones / ``prior_known`` (NaN when none);
    * ``prior_mean_days_late`` = mean of ``max(0, S - D)`` over c's invoices paid before d (NaN when none);
    * ``open_balance`` = c's invoiced amounts dated before d minus what c's payments dated before d
      took off them (each invoice's reductions capped at its amount; unapplied cash not netted),
      floored at 0;
    * ``overdue_balance`` = the part of ``open_balance`` already past due at the close of d - 1
      (invoices with D < d - 1);
    * ``credit_limit_use = open_balance / credit_limit`` (NaN when the limit is missing or 0);
    * ``days_since_last_late`` = d - the latest K of a late invoice of c with K < d (NaN when none);
    * ``last_late`` (the baseline rule, not a model feature): 1 if the invoice of c resolved most
      recently before d was late, 0 if not, NaN if none (ties on a day: late if any was late).

    The customer's history (every sum over c's dated events before d) is the engine's
    :func:`arinsight.engine.history.customer_history`; the rates, means and master data are
    read from it here. Returns one row per invoice in input order (and with the input's index)
    with ``invoice_id, customer_id, invoice_date, due_date`` + :data:`FEATURES` + ``last_late``.
    """
    if late_days is None or int(late_days) < 0:
        raise RiskModelError(f"late_days must be a non-negative number of days, got {late_days!r}")
    _check_columns(customers, "customers", ["customer_id"])
    if len(invoices) and invoices["invoice_id"].duplicated().any():
        raise RiskModelError("invoices: invoice_id is not unique (run 02_clean first)")
    settled, history = _engine(invoices, payments, late_days=int(late_days))
    out = features_of(settled, history, invoices, customers)
    out.index = invoices.index
    return out


def features_of(
    settled: pd.DataFrame,
    history: pd.DataFrame,
    invoices: pd.DataFrame,
    customers: pd.DataFrame,
) -> pd.DataFrame:
    """:func:`invoice_features` from the engine's ``settlement`` and ``customer_history``
    (:func:`arinsight.engine.run.history_frames`), aligned with ``invoices`` (row i of each is
    the same invoice; their ``amount`` and ``energy_kwh`` are taken as given), for a caller that
    asks the engine for more in the same query. RangeIndex."""
    inv = settled
    cust_table = customers.drop_duplicates("customer_id").set_index("customer_id")
    at = positions(inv["customer_id"], cust_table.index, unique=True)
    out = inv[["invoice_id", "customer_id", "invoice_date", "due_date"]].copy()
    out["amount"] = invoices["amount"].astype(float).to_numpy()
    out["terms_days"] = (inv["due_date"] - inv["invoice_date"]).dt.days.astype(float)
    energy = invoices.get("energy_kwh")
    out["energy_kwh"] = np.nan if energy is None else energy.astype(float).to_numpy()
    out["month"] = inv["invoice_date"].dt.month.astype(float)
    for col in CATEGORICAL:
        values = (
            lookup(inv["customer_id"], cust_table[col], at)
            if col in cust_table
            else pd.Series(np.nan, index=inv.index)
        )
        out[col] = values.astype("object").where(values.notna(), "Unknown").astype(str)
    limit = (
        lookup(inv["customer_id"], cust_table["credit_limit"], at).astype(float)
        if "credit_limit" in cust_table
        else pd.Series(np.nan, index=inv.index)
    )
    out["credit_limit"] = limit
    n_known = history["prior_known"].to_numpy(dtype=float)
    n_paid = history["prior_paid"].to_numpy(dtype=float)
    out["prior_invoices"] = history["prior_invoices"].astype(float).to_numpy()
    out["prior_known"] = n_known
    with np.errstate(invalid="ignore", divide="ignore"):
        out["prior_late_rate"] = np.where(n_known > 0, history["prior_late"] / n_known, np.nan)
        out["prior_mean_days_late"] = np.where(
            n_paid > 0, history["prior_days_late"] / n_paid, np.nan
        )
    out["open_balance"] = history["open_balance"].to_numpy()
    out["overdue_balance"] = history["overdue_balance"].to_numpy()
    out["credit_limit_use"] = (out["open_balance"] / limit).where(limit > 0)
    day = inv["invoice_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    out["days_since_last_late"] = (day - history["last_late_day"]).astype(float).to_numpy()
    last = history["last_resolved_late"]
    out[BASELINE] = last.astype(float).to_numpy() if len(last) else np.zeros(0)
    return out[["invoice_id", "customer_id", "invoice_date", "due_date"] + FEATURES + [BASELINE]]


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------


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
    _check_trainable(train, "training")
    return _fit(training_sample(train, max_train_rows, random_seed), random_seed)


#: OpenMP threads of every risk fit and prediction (see :func:`_threads`).
RISK_THREADS = 1


def _threads(n_rows: int = 0):
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


def _fit(train: pd.DataFrame, random_seed: int):
    """A :func:`build_model` pipeline fitted on ``train`` with its usable features."""
    numeric, categorical, _ = usable_features(train)
    model = build_model(random_seed, len(train), numeric, categorical)
    with _threads(len(train)):
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
    _check_columns(labels, "labels", ["invoice_id", "matured", "late"])
    lab = labels.loc[labels["matured"], ["invoice_id", "late"]]
    return features.merge(lab, on="invoice_id", how="inner")


_training_rows = training_rows


def _check_trainable(train: pd.DataFrame, what: str) -> None:
    """Raise :class:`NotEnoughHistory` when ``train`` cannot teach a model anything."""
    _check_outcomes(train["late"].astype(bool).to_numpy(), what)


def _check_outcomes(late: np.ndarray, what: str) -> None:
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


# ----------------------------------------------------------------------------------------------
# Metrics and evaluation
# ----------------------------------------------------------------------------------------------


def _none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def top_decile_lift(y_true, score) -> float | None:
    """Late rate among the 10 % highest scores / overall late rate (None when no late invoice).

    The top decile is the ``ceil(n / 10)`` highest scores; ties are broken by position (stable).
    """
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(score, dtype=float)
    if len(y) == 0 or y.mean() == 0:
        return None
    k = math.ceil(len(y) / 10)
    top = np.argsort(-s, kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def classification_metrics(y_true, score) -> dict[str, float | None]:
    """ROC AUC, PR AUC (average precision), Brier score and top-decile lift of a score.

    ROC and PR AUC are None when the sample holds only one class; Brier = mean((score - y)^2).
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y_true, dtype=int)
    s = np.asarray(score, dtype=float)
    if len(y) == 0:
        raise RiskModelError("no invoices to evaluate")
    two = len(np.unique(y)) == 2
    return {
        "roc_auc": _none(roc_auc_score(y, s)) if two else None,
        "pr_auc": _none(average_precision_score(y, s)) if two else None,
        "brier": _none(brier_score_loss(y, s, pos_label=1))
        if two
        else _none(np.mean((s - y) ** 2)),
        "top_decile_lift": _none(top_decile_lift(y, s)),
    }


def _baseline_scores(train: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """The rule "late last time" as a calibrated score: the training late rate of each rule group.

    Groups: last resolved invoice late / not late / no history. Same ranking as the 0/1 rule.
    """
    y = train["late"].astype(float)
    overall = float(y.mean())
    key_train = train[BASELINE].fillna(-1.0)
    rates = y.groupby(key_train).mean()
    return rows[BASELINE].fillna(-1.0).map(rates).fillna(overall).to_numpy(dtype=float)


@dataclass
class Evaluation:
    """Time-based evaluation: metrics, held-out predictions, the monthly backtest, the model."""

    metrics: dict[str, Any]
    predictions: pd.DataFrame
    backtest: pd.DataFrame
    model: Any = field(repr=False, default=None)
    test_features: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def _month_start(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(year=ts.year, month=ts.month, day=1)


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


@dataclass(frozen=True)
class _History:
    """Features aligned with their settlement, to take the training rows of any cut-off quickly.

    An invoice is matured at a cut-off C when ``C - D > L`` (and issued by C); a matured invoice's
    label never changes afterwards: late iff not paid within ``L`` days of its due date
    (:func:`_labels_at` gives the same label at every C at which it is matured).

    Row i is invoice i (of the settlement); ``features`` holds the rows of every invoice, or
    with ``codes`` (sorted) only those rows: the ones a run learns from, tests and scores
    (:func:`_plan`), so a long history never has its features built in full."""

    features: pd.DataFrame | None  # RangeIndex
    invoice_date: np.ndarray
    due: np.ndarray
    late: np.ndarray  # the label once matured
    known: np.ndarray  # has a settlement row (invoices of the ledger cut at T)
    late_days: int
    codes: np.ndarray | None = None

    @classmethod
    def of(cls, features: pd.DataFrame, settled: pd.DataFrame, late_days: int) -> _History:
        feats = features.reset_index(drop=True)
        at = _positions(feats["invoice_id"], settled["invoice_id"])
        known = at >= 0
        take = np.where(known, at, 0)
        paid = settled["paid_date"].to_numpy(dtype="datetime64[ns]")[take]
        due = settled["due_date"].to_numpy(dtype="datetime64[ns]")[take]
        inv_date = settled["invoice_date"].to_numpy(dtype="datetime64[ns]")[take]
        in_time = ~np.isnat(paid) & ((paid - due) <= np.timedelta64(int(late_days), "D"))
        return cls(feats, inv_date, due, ~in_time, known, int(late_days))

    @classmethod
    def of_days(
        cls, invoice_day: np.ndarray, due_day: np.ndarray, paid_day: np.ndarray, late_days: int
    ) -> _History:
        """The history of the engine's invoices by code (:meth:`arinsight.engine.session.
        HistorySession.invoices`), without features yet (:meth:`with_features`)."""
        from arinsight.engine.session import NO_DAY

        paid = np.asarray(paid_day, dtype=np.int64)
        due = np.asarray(due_day, dtype=np.int64)
        in_time = (paid != NO_DAY) & (paid - due <= int(late_days))
        dates = np.asarray(invoice_day, dtype=np.int64).astype("datetime64[D]")
        return cls(
            None,
            dates.astype("datetime64[ns]"),
            due.astype("datetime64[D]").astype("datetime64[ns]"),
            ~in_time,
            np.ones(len(due), dtype=bool),
            int(late_days),
        )

    def with_features(self, features: pd.DataFrame, codes: np.ndarray) -> _History:
        """The same history with the features of the rows ``codes`` (sorted, unique)."""
        from dataclasses import replace

        return replace(self, features=features.reset_index(drop=True), codes=codes)

    def _features_at(self, idx: np.ndarray) -> pd.DataFrame:
        if self.codes is None:
            return self.features.iloc[idx]
        at = np.searchsorted(self.codes, idx)
        if len(idx) and (at.max() >= len(self.codes) or (self.codes[at] != idx).any()):
            raise RiskModelError("internal: features asked for an invoice the run did not plan")
        return self.features.iloc[at]

    def matured(self, cutoff: pd.Timestamp) -> np.ndarray:
        c = np.datetime64(pd.Timestamp(cutoff).normalize(), "ns")
        limit = c - np.timedelta64(self.late_days, "D")
        return self.known & (self.due < limit) & (self.invoice_date <= c)

    def rows(self, mask: np.ndarray) -> pd.DataFrame:
        """Features of the rows in ``mask`` with their ``late`` label (bool)."""
        idx = np.flatnonzero(mask)
        return self._features_at(idx).assign(late=self.late[idx]).reset_index(drop=True)

    def train_positions(self, cutoff: pd.Timestamp, max_rows: int | None, seed: int):
        """(the rows a model at ``cutoff`` learns from: :func:`training_sample` of the invoices
        matured there; how many matured and the range of their invoice dates)."""
        idx = np.flatnonzero(self.matured(cutoff))
        month = self.invoice_date[idx].astype("datetime64[M]")
        keep = idx[sample_positions(month, self.late[idx], max_rows, seed)]
        population = {"n_matured": len(idx), "train_from": None, "train_to": None}
        if len(idx):
            dates = self.invoice_date[idx]
            population["train_from"] = str(pd.Timestamp(dates.min()).date())
            population["train_to"] = str(pd.Timestamp(dates.max()).date())
        return keep, population

    def train(self, cutoff: pd.Timestamp, max_rows: int | None, seed: int):
        """The features and labels of :meth:`train_positions`, and its population."""
        keep, population = self.train_positions(cutoff, max_rows, seed)
        rows = self._features_at(keep).assign(late=self.late[keep]).reset_index(drop=True)
        return rows, population


def _fit_and_test(history: _History, cutoff, test_rows, seed, max_rows, fitted: dict):
    """Train as a run at ``cutoff`` would have (``fitted`` keeps each cut-off's model: the
    backtest month that starts with the test months reuses the headline model, which learned
    from the same rows) and score ``test_rows`` with the model and the rule."""
    if cutoff not in fitted:
        train, population = history.train(cutoff, max_rows, seed)
        _check_trainable(
            train, f"the model tested on invoices from {cutoff.date() + pd.Timedelta(days=1)}"
        )
        fitted[cutoff] = (_fit(train, seed), train, population)
    model, train, population = fitted[cutoff]
    return (
        model,
        train,
        population,
        predict_late(model, test_rows),
        _baseline_scores(train, test_rows),
    )


def evaluate(
    features: pd.DataFrame,
    settled: pd.DataFrame,
    as_of: Any,
    late_days: int = 30,
    random_seed: int = 42,
    test_months: int = 3,
    backtest_months: int = 6,
    max_train_rows: int | None = MAX_TRAIN_ROWS,
) -> Evaluation:
    """Time-based split and rolling monthly backtest, each simulating a real run in the past.

    ``settled`` is :func:`settlement` of the ledger cut at ``as_of`` (C). The test invoices are
    those matured at C whose invoice date falls in the last ``test_months`` calendar months that
    contain matured invoices (``test_from``..``test_to``). The model is trained as a run on
    ``t0 = test_from - 1 day`` would have been: on invoices matured at t0 with their outcome as
    known at t0. The rule "late last time" (:func:`_baseline_scores`) and the base rate (the
    constant training late rate) are scored on the same test invoices.

    The backtest repeats this for each of the last ``backtest_months`` months (train at the day
    before the month, test on the month's matured invoices). ``beats_baseline`` records, for ROC
    AUC and PR AUC, whether the model scored strictly higher than the rule; a model that does not
    is reported as such.

    Bounded training: every model here (and the rule it is compared with) learns from at most
    ``max_train_rows`` of the invoices matured at its cut-off, a random sample stratified by
    invoice month and label (:func:`training_sample`, seeded by ``random_seed``; None = all), as
    the final model does. The test invoices are never sampled. ``n_train`` is the number of rows
    learned from, ``n_matured`` the number available; the cap is ``metrics["max_train_rows"]``.
    """
    C = pd.Timestamp(as_of).normalize()
    history = _History.of(features, settled, int(late_days))
    return _evaluate(history, C, random_seed, test_months, backtest_months, max_train_rows)


@dataclass(frozen=True)
class _EvaluationPlan:
    """The dates of :func:`evaluate` at C, from the labels alone."""

    matured: np.ndarray  # matured at C
    test_from: pd.Timestamp
    cutoff: pd.Timestamp  # the test's model is trained as on this day
    months: list[pd.Timestamp]  # the backtest's months (first days)

    def cutoffs(self) -> list[pd.Timestamp]:
        """Every cut-off a model of the evaluation is trained at."""
        return [self.cutoff, *(start - pd.Timedelta(days=1) for start in self.months)]

    def tested(self, history: _History) -> np.ndarray:
        """Every invoice the evaluation tests (the test months and the backtest's)."""
        first = min([self.test_from, *self.months])
        return self.matured & (history.invoice_date >= np.datetime64(first, "ns"))


def _evaluation_plan(
    history: _History, C: pd.Timestamp, test_months: int, backtest_months: int
) -> _EvaluationPlan:
    L = history.late_days
    matured = history.matured(C)
    if not matured.any():
        raise NotEnoughHistory(
            f"no invoice has a known outcome yet: none was due more than {L} days before {C.date()}"
        )
    inv_date = history.invoice_date
    test_to = pd.Timestamp(inv_date[matured].max())
    last_month = _month_start(test_to)
    test_from = last_month - pd.DateOffset(months=max(int(test_months), 1) - 1)
    starts = pd.Series(inv_date[matured]).dt.to_period("M").drop_duplicates().sort_values()
    months = [p.to_timestamp() for p in starts.iloc[len(starts) - max(int(backtest_months), 0) :]]
    return _EvaluationPlan(matured, test_from, test_from - pd.Timedelta(days=1), months)


def _evaluate(
    history: _History,
    C: pd.Timestamp,
    random_seed: int,
    test_months: int,
    backtest_months: int,
    max_train_rows: int | None,
) -> Evaluation:
    """:func:`evaluate` of a :class:`_History`."""
    L = history.late_days
    cap = None if max_train_rows is None else int(max_train_rows)
    plan = _evaluation_plan(history, C, test_months, backtest_months)
    matured, test_from, cutoff = plan.matured, plan.test_from, plan.cutoff
    inv_date = history.invoice_date
    test = history.rows(matured & (inv_date >= np.datetime64(test_from, "ns")))
    if test.empty:
        raise NotEnoughHistory("no invoice with a known outcome in the test months")
    fitted: dict[pd.Timestamp, tuple] = {}
    model, train, population, p_model, p_rule = _fit_and_test(
        history, cutoff, test, random_seed, cap, fitted
    )
    y = test["late"].astype(int).to_numpy()
    if len(np.unique(y)) < 2:
        outcome = "late" if y.all() else "paid on time"
        raise NotEnoughHistory(
            f"every invoice of the test months ({test_from:%Y-%m} to "
            f"{pd.Timestamp(test['invoice_date'].max()):%Y-%m}) was "
            f"{outcome}, and a model is tested on how it tells late from on-time invoices"
        )
    base_rate_train = float(train["late"].astype(float).mean())
    m_model = classification_metrics(y, p_model)
    m_rule = classification_metrics(y, p_rule)
    m_base = classification_metrics(y, np.full(len(y), base_rate_train))
    metrics: dict[str, Any] = {
        "late_days": L,
        "as_of": str(C.date()),
        "base_rate": _none(y.mean()),
        "train_base_rate": _none(base_rate_train),
        "n_train": int(len(train)),
        "n_matured": int(population["n_matured"]),
        "n_test": int(len(test)),
        "train_cutoff": str(cutoff.date()),
        "train_from": population["train_from"],
        "train_to": population["train_to"],
        "test_from": str(test["invoice_date"].min().date()),
        "test_to": str(test["invoice_date"].max().date()),
        "model": m_model,
        "baseline_last_late": {k: m_rule[k] for k in ("roc_auc", "pr_auc", "brier")},
        "baseline_base_rate": {k: m_base[k] for k in ("roc_auc", "pr_auc", "brier")},
        "beats_baseline": _beats(m_model, m_rule),
        "max_train_rows": cap,
    }
    predictions = pd.DataFrame(
        {
            "invoice_id": test["invoice_id"],
            "invoice_date": test["invoice_date"],
            "late": y,
            "model_score": p_model,
            "baseline_score": p_rule,
        }
    )

    rows = []
    for start in plan.months:
        end = start + pd.offsets.MonthEnd(0)
        sel = matured & (inv_date >= np.datetime64(start, "ns"))
        month_test = history.rows(sel & (inv_date <= np.datetime64(end, "ns")))
        row: dict[str, Any] = {"month": start.strftime("%Y-%m"), "n_test": int(len(month_test))}
        try:
            _, tr, pop, pm, pr = _fit_and_test(
                history, start - pd.Timedelta(days=1), month_test, random_seed, cap, fitted
            )
        except RiskModelError:
            rows.append(row | {"n_train": 0})
            continue
        ym = month_test["late"].astype(int).to_numpy()
        mm, mr = classification_metrics(ym, pm), classification_metrics(ym, pr)
        row |= {"n_train": int(len(tr)), "n_matured": int(pop["n_matured"])}
        row |= {"base_rate": _none(ym.mean())}
        row |= {f"model_{k}": v for k, v in mm.items()}
        row |= {f"baseline_{k}": mr[k] for k in ("roc_auc", "pr_auc", "brier")}
        rows.append(row)
    backtest = pd.DataFrame(rows)
    metrics["backtest"] = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in rows
    ]
    return Evaluation(metrics, predictions, backtest, model, test[FEATURES + ["late"]])


def _beats(model: dict, rule: dict) -> dict[str, bool | None]:
    out: dict[str, bool | None] = {}
    for key in ("roc_auc", "pr_auc"):
        a, b = model.get(key), rule.get(key)
        out[key] = None if a is None or b is None else bool(a > b)
    return out


def metrics_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """Model vs "late last time" vs base rate on the test months: one row per metric."""
    names = {
        "roc_auc": "ROC AUC (0.5 = random)",
        "pr_auc": "PR AUC (base rate = random)",
        "brier": "Brier score (lower is better)",
        "top_decile_lift": "Lift in the top decile",
    }
    if not metrics:  # no model (not enough history): nothing to compare
        return pd.DataFrame(columns=["model", "late last time", "base rate"])
    rows = []
    for key, label in names.items():
        rows.append(
            {
                "metric": label,
                "model": metrics["model"].get(key),
                "late last time": metrics["baseline_last_late"].get(key),
                "base rate": metrics.get("baseline_base_rate", {}).get(key),
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def metrics_text(metrics: dict[str, Any]) -> str:
    """The evaluation in a few printed lines (test window, model vs rule, verdict); empty
    without a model."""
    if not metrics:
        return ""
    m, r = metrics["model"], metrics["baseline_last_late"]
    beats = metrics["beats_baseline"]

    def f(v):
        return "n/a" if v is None else f"{v:.3f}"

    lines = [
        f"test invoices {metrics['test_from']}..{metrics['test_to']}: n = {metrics['n_test']}, "
        f"late rate {f(metrics['base_rate'])}; trained on {metrics['n_train']} invoices "
        f"{metrics['train_from']}..{metrics['train_to']} (cut-off {metrics['train_cutoff']})",
        f"ROC AUC  model {f(m['roc_auc'])}  late-last-time {f(r['roc_auc'])}",
        f"PR AUC   model {f(m['pr_auc'])}  late-last-time {f(r['pr_auc'])}",
        f"Brier    model {f(m['brier'])}  late-last-time {f(r['brier'])}",
        f"top-decile lift {f(m['top_decile_lift'])}",
    ]
    for key, label in (("roc_auc", "ROC AUC"), ("pr_auc", "PR AUC")):
        verdict = {True: "beats", False: "DOES NOT beat", None: "cannot be compared with"}[
            beats[key]
        ]
        lines.append(f"on {label} the model {verdict} the rule 'late last time'")
    return "\n".join(lines)


def permutation_importance_table(
    model,
    features: pd.DataFrame,
    late: Any,
    random_seed: int = 42,
    max_samples: int = 2000,
    n_repeats: int = 3,
) -> pd.DataFrame:
    """Drop in ROC AUC when one feature's values are shuffled (held-out rows, seeded subsample).

    ``importance = AUC(original) - AUC(feature shuffled)``, mean and std over ``n_repeats``;
    at most ``max_samples`` rows are used so the cost stays bounded. Sorted by importance.
    """
    from sklearn.inspection import permutation_importance

    y = np.asarray(late, dtype=int)
    if len(y) != len(features):
        raise RiskModelError("features and labels have different lengths")
    if len(np.unique(y)) < 2:
        raise NotEnoughHistory("permutation importance needs both late and on-time invoices")
    used = model_features(model)
    X = features[used].reset_index(drop=True)
    if len(X) > max_samples:
        idx = np.sort(np.random.default_rng(random_seed).choice(len(X), max_samples, replace=False))
        X, y = X.iloc[idx].reset_index(drop=True), y[idx]
    res = permutation_importance(
        model, X, y, scoring="roc_auc", n_repeats=n_repeats, random_state=random_seed, n_jobs=1
    )
    out = pd.DataFrame(
        {"feature": used, "importance": res.importances_mean, "std": res.importances_std}
    )
    return out.sort_values(["importance", "feature"], ascending=[False, True]).reset_index(
        drop=True
    )


# ----------------------------------------------------------------------------------------------
# Scoring at T
# ----------------------------------------------------------------------------------------------


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
    return _timing(days(s["due_date"]), paid_day, int(days(pd.Series([C]))[0]), int(late_days))


def _timing(due_day: np.ndarray, paid_day: np.ndarray, t_day: int, late_days: int) -> PaymentTiming:
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
    settled, _ = _engine(invoices, payments, C)
    if timing is None:
        timing = payment_timing(settled, C, L)
    return _score(model, features, settled, C, L, timing)


def _score(
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
    at = _positions(rows["invoice_id"], features["invoice_id"])
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
    _check_columns(
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
        _check_columns(scores, "scores", [col])
        out[f"expected_collections_{h}d"] = round(float(scores[col].sum()), 2)
    return out


# ----------------------------------------------------------------------------------------------
# Persistence
# ----------------------------------------------------------------------------------------------


def library_versions() -> dict[str, str]:
    """Versions of the libraries the model depends on (for the model's metadata)."""
    import sklearn
    import skops

    from arinsight import __version__

    return {
        "python": platform.python_version(),
        "arinsight": __version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def save_model(model, path: str | Path, metadata: dict[str, Any]) -> tuple[Path, Path]:
    """Save the fitted pipeline with skops (``.skops``) and its metadata beside it (``.json``).

    The metadata should hold the training window, features, metrics; library versions are added.
    """
    import skops.io as sio

    path = Path(path)
    if path.suffix != ".skops":
        raise RiskModelError(f"{path}: a risk model file must end in .skops")
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path)
    meta = dict(metadata) | {"library_versions": library_versions(), "format": "skops"}
    meta_path = write_json(path.with_suffix(".json"), meta)
    return path, meta_path


def load_model(path: str | Path, trusted: list[str] | None = None) -> tuple[Any, dict[str, Any]]:
    """Load a model saved by :func:`save_model` and its metadata, refusing untrusted content.

    Every type in the file that skops does not trust by default must be on ``trusted``
    (default :data:`TRUSTED_TYPES`); otherwise :class:`UntrustedModelError` names the offending
    types and nothing in the file is executed.
    """
    import skops.io as sio

    path = Path(path)
    if not path.exists():
        raise RiskModelError(f"{path}: model file not found")
    allowed = list(TRUSTED_TYPES if trusted is None else trusted)
    try:
        found = sio.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a model we can read"
        raise RiskModelError(f"{path}: not a readable skops model file ({exc})") from exc
    bad = sorted(set(found) - set(allowed))
    if bad:
        raise UntrustedModelError(
            f"{path}: refused to load: the file contains untrusted type(s) {', '.join(bad)}; "
            "only files written by arinsight.risk.save_model are accepted"
        )
    model = sio.load(path, trusted=allowed)
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    return model, meta


# ----------------------------------------------------------------------------------------------
# One run (the notebook's single call)
# ----------------------------------------------------------------------------------------------


@dataclass
class RiskRun:
    """Everything 05_risk_scoring shows for one period and region.

    ``from_cache`` tells whether the region-independent part (model, evaluation, importance,
    scores of every open invoice) was loaded from the risk cache; ``timings`` holds the seconds
    spent per stage (not written to any output, so cached and fresh runs write the same files).
    """

    period: str
    region: str
    as_of: pd.Timestamp
    late_days: int
    evaluation: Evaluation | None
    model: Any = field(repr=False)
    metadata: dict[str, Any]
    scores: pd.DataFrame
    customers: pd.DataFrame
    high_risk: list[str]
    collections: dict[str, float]
    importance: pd.DataFrame
    from_cache: bool = False
    timings: dict[str, float] = field(default_factory=dict, repr=False)
    #: None when the model was trained; otherwise why not, in plain words (not enough history).
    unavailable: str | None = None

    @property
    def available(self) -> bool:
        return self.unavailable is None

    @property
    def metrics(self) -> dict[str, Any]:
        return self.evaluation.metrics if self.evaluation is not None else {}

    def kpis(self, at_risk_threshold: float = 0.5) -> dict[str, Any]:
        """The risk part of kpis.json (None everywhere, with the reason, without a model).

        Measured figures, not settings: ``expected_overdue_amount`` (amount at risk = sum of
        P(late) x open amount), ``amount_at_risk_share`` (that amount / the open amount scored
        x 100, None when nothing is open) and ``customers_at_risk`` (customers whose
        ``risk_share`` is at least ``at_risk_threshold``: with calibrated probabilities, 0.5
        means their open balance is more likely than not to be paid late). The
        ``high_risk_customers`` list is the call list (largest amounts at risk first).
        """
        keys = ["high_risk_customers", "expected_overdue_amount", "open_invoices_scored"]
        keys += ["open_amount_scored", "amount_at_risk_share", "customers_at_risk"]
        keys += [f"expected_collections_{h}d" for h in HORIZONS]
        if not self.available:
            reason = f"no risk model: {self.unavailable}"
            return {
                **dict.fromkeys(keys),
                "risk_status": "not enough data",
                "na_reasons": dict.fromkeys(keys, reason),
            }
        expected = round(float(self.scores["expected_overdue"].sum()), 2)
        open_amount = round(float(self.scores["open_amount"].sum()), 2)
        share = self.customers.get("risk_share")
        return {
            "high_risk_customers": list(self.high_risk),
            "expected_overdue_amount": expected,
            "open_amount_scored": open_amount,
            "amount_at_risk_share": round(expected / open_amount * 100, 4) if open_amount else None,
            "customers_at_risk": int((share >= at_risk_threshold).sum())
            if share is not None
            else 0,
            "open_invoices_scored": int(len(self.scores)),
            **self.collections,
            "risk_status": "ok",
        }


@dataclass
class _Trained:
    """The region-independent part of a run: what every region's run of a period shares."""

    evaluation: Evaluation
    model: Any
    importance: pd.DataFrame
    metadata: dict[str, Any]
    scores: pd.DataFrame  # every invoice open at T, all regions


def run_risk(
    tables: dict[str, pd.DataFrame],
    period: str,
    region: str = "All",
    late_days: int = 30,
    random_seed: int = 42,
    high_risk_top_n: int = 20,
    test_months: int = 3,
    backtest_months: int = 6,
    importance_samples: int = 2000,
    cache_dir: str | Path | None = None,
    as_of: Any = None,
    max_train_rows: int | None = MAX_TRAIN_ROWS,
) -> RiskRun:
    """Train on every region's ledger up to T (end of ``period``, or ``as_of`` within it),
    evaluate, and score ``region`` (its invoices: see :func:`arinsight.ledger.select_region`).

    When the ledger holds too little history to train or evaluate a model
    (:class:`NotEnoughHistory`: fewer than :data:`MIN_TRAINING_INVOICES` invoices with a known
    outcome, one outcome only, no feature that varies), the run is *unavailable*: no scores, no
    metrics, ``unavailable`` says why, and the notebook shows that instead of failing.

    The ledger is first cut at T (invoices issued and payments dated by T), so a run for an old
    period never learns from the future. The final model is trained on the invoices matured at T:
    all of them up to ``max_train_rows`` (default :data:`MAX_TRAIN_ROWS`, None = no cap), above it
    a random sample stratified by invoice month and label (:func:`training_sample`, seeded by
    ``random_seed``); the evaluation and backtest models are bounded the same way.

    Everything but the region filter is the same for every region of a period, so with
    ``cache_dir`` that part (final model, evaluation, permutation importance, metadata and the
    scores of every open invoice) is computed once and stored under :func:`risk_cache_key`
    (period, parameters, code and library versions, content of the three tables): the first run
    trains and writes the entry, later runs with the same key load it and only filter and
    aggregate their region. A process that finds another one training the same key waits for it
    (file lock) and then loads its entry. An entry with another key is never used. Cached and
    fresh runs write identical outputs (:func:`write_outputs`).
    """
    import time

    from arinsight.ledger import ALL_REGIONS, UnknownRegion, period_bounds

    t0 = time.perf_counter()
    T = period_bounds(period).at(as_of).end
    params = {
        "late_days": int(late_days),
        "random_seed": int(random_seed),
        "test_months": int(test_months),
        "backtest_months": int(backtest_months),
        "importance_samples": int(importance_samples),
        "max_train_rows": None if max_train_rows is None else int(max_train_rows),
    }
    timings: dict[str, float] = {}
    from_cache = False
    try:
        if cache_dir is None:
            trained = _train_and_score(tables, period, T, timings=timings, **params)
        else:
            key = risk_cache_key(tables, period, as_of=T, **params)
            timings["cache_key"] = time.perf_counter() - t0
            trained, from_cache = _cached(
                Path(cache_dir),
                key,
                lambda: _train_and_score(tables, period, T, timings=timings, **params),
            )
    except NotEnoughHistory as exc:
        return _unavailable_run(period, region, T, int(late_days), int(random_seed), str(exc))
    t1 = time.perf_counter()
    _, cust = _source(tables)
    scores = trained.scores
    if region not in (None, "", ALL_REGIONS):
        known = trained.metadata.get("regions", [])
        if region not in known:
            raise UnknownRegion(
                f"region {region!r} is not in the data (regions in the data: "
                f"{', '.join(known) or 'none'})"
            )
        # the region the invoice is reported under, as ledger.select_region takes it
        scores = scores.loc[(scores["report_region"] == region).to_numpy()]
        scores = scores.reset_index(drop=True)
    risk = customer_risk(scores, cust)
    flagged = high_risk_customers(risk, top_n=high_risk_top_n)
    timings["region"] = time.perf_counter() - t1
    timings["total"] = time.perf_counter() - t0
    return RiskRun(
        period=period,
        region=region or ALL_REGIONS,
        as_of=T,
        late_days=int(late_days),
        evaluation=trained.evaluation,
        model=trained.model,
        metadata=trained.metadata,
        scores=scores,
        customers=risk,
        high_risk=flagged,
        collections=expected_collections(scores),
        importance=trained.importance,
        from_cache=from_cache,
        timings={k: round(v, 3) for k, v in timings.items()},
    )


def _unavailable_run(
    period: str, region: str, T: pd.Timestamp, late_days: int, seed: int, reason: str
) -> RiskRun:
    from arinsight.ledger import ALL_REGIONS

    empty_scores = pd.DataFrame({c: pd.Series(dtype="float64") for c in SCORE_COLUMNS})
    return RiskRun(
        period=period,
        region=region or ALL_REGIONS,
        as_of=T,
        late_days=late_days,
        evaluation=None,
        model=None,
        metadata={
            "period": period,
            "as_of": str(T.date()),
            "late_days": late_days,
            "random_seed": seed,
            "unavailable": reason,
        },
        scores=empty_scores,
        customers=pd.DataFrame(),
        high_risk=[],
        collections=dict.fromkeys(f"expected_collections_{h}d" for h in HORIZONS),
        importance=pd.DataFrame({"feature": [], "importance": [], "std": []}),
        unavailable=reason,
    )


def _source(tables: Any) -> tuple[Any, pd.DataFrame]:
    """What the engine reads (a processed folder or the frames) and the customers table
    (:func:`arinsight.forecast._source`)."""
    from arinsight.forecast import _source as source

    return source(tables)


def _untestable(n_matured: int, exc: Exception) -> NotEnoughHistory:
    return NotEnoughHistory(
        f"{n_matured} invoices have a known outcome, enough to train a model but not to "
        f"test it on the most recent months ({exc}); a model that cannot be tested is "
        "not shown"
    )


def _train_and_score(
    tables,
    period,
    T,
    late_days,
    random_seed,
    test_months,
    backtest_months,
    importance_samples,
    max_train_rows,
    timings,
) -> _Trained:
    """Features, evaluation + backtest, final model, permutation importance and the scores of
    every invoice open at T (all regions). Stage times go into ``timings``.

    ``tables``: a processed folder (read by the engine) or a mapping of frames. The labels
    of every invoice come from the engine as numbers (:mod:`arinsight.engine.session`); the
    rows each model learns from, the invoices the evaluation tests and those open at T are
    chosen from them first, and only those rows get their features."""
    import time

    from arinsight.engine.session import history_session

    L = int(late_days)
    source, cust = _source(tables)
    t = time.perf_counter()
    with history_session(source, T, late_days=L) as s:
        summary = s.summary()
        if summary["invoices"] == 0:
            raise NotEnoughHistory(f"no invoices issued by {T.date()}: nothing to train or score")
        if summary["distinct_ids"] != summary["invoices"]:
            raise RiskModelError("invoices: invoice_id is not unique (run 02_clean first)")
        inv = s.invoices()
        history = _History.of_days(inv["invoice_day"], inv["due_day"], inv["paid_day"], L)
        matured = history.matured(T)
        n_matured = int(matured.sum())
        _check_outcomes(history.late[matured], f"a model at {T.date()}")  # what the ledger lacks
        try:
            plan = _evaluation_plan(history, T, test_months, backtest_months)
        except NotEnoughHistory as exc:
            raise _untestable(n_matured, exc) from exc
        is_open = (inv["open_cents"] > 0).to_numpy()
        wanted = [np.flatnonzero(plan.tested(history)), np.flatnonzero(is_open)]
        for cutoff in [T, *plan.cutoffs()]:
            wanted.append(history.train_positions(cutoff, max_train_rows, random_seed)[0])
        needed = np.unique(np.concatenate(wanted))
        rows = s.rows(needed)
        regions = s.regions()
    feats = features_of(rows, rows, rows, cust)
    feats["report_region"] = rows["report_region"].to_numpy()
    history = history.with_features(feats, needed)
    settled = rows.loc[(rows["_cents_open_amount"] > 0).to_numpy()].reset_index(drop=True)
    del rows
    timings["features"] = time.perf_counter() - t
    with _threads(len(inv)):
        t = time.perf_counter()
        train, population = history.train(T, max_train_rows, random_seed)
        try:
            evaluation = _evaluate(
                history, T, random_seed, test_months, backtest_months, max_train_rows
            )
        except NotEnoughHistory as exc:
            raise _untestable(n_matured, exc) from exc
        timings["evaluation"] = time.perf_counter() - t
        t = time.perf_counter()
        _check_trainable(train, f"a model at {T.date()}")
        model = _fit(train, random_seed)
        timings["final_fit"] = time.perf_counter() - t
        t = time.perf_counter()
        ev_test = evaluation.test_features
        importance = permutation_importance_table(
            evaluation.model,
            ev_test,
            ev_test["late"].astype(int),
            random_seed,
            max_samples=importance_samples,
        )
        timings["importance"] = time.perf_counter() - t
        t = time.perf_counter()
        t_day = int(np.datetime64(T, "D").astype(np.int64))
        timing = _timing(inv["due_day"], inv["paid_day"], t_day, L)
        scores = _score(model, feats, settled, T, L, timing)
        timings["scoring"] = time.perf_counter() - t
    metadata = {
        "period": period,
        "as_of": str(T.date()),
        "late_days": L,
        "random_seed": int(random_seed),
        "features": model_features(model),
        "categorical_features": [c for c in CATEGORICAL if c in model_features(model)],
        "dropped_features": usable_features(train)[2],
        "training_window": {
            "cutoff": str(T.date()),
            "train_from": population["train_from"],
            "train_to": population["train_to"],
            "n_train": int(len(train)),
            "n_matured": n_matured,
            "max_train_rows": max_train_rows,
            "base_rate": _none(train["late"].astype(float).mean()),
        },
        "metrics": evaluation.metrics,
        "model_settings": model_settings(model),
        # every region a run may ask for (ledger.regions_of): the invoices' and the customers'
        "regions": sorted(set(regions) | set(cust["region"].dropna().astype(str))),
    }
    return _Trained(evaluation, model, importance, metadata, scores)


# ----------------------------------------------------------------------------------------------
# The risk cache: the region-independent part of a period's run, computed once
# ----------------------------------------------------------------------------------------------

#: The tables whose content is part of the cache key (the only ones a risk run reads).
CACHE_TABLES = ("invoices", "payments", "customers")
_ENTRY_FILE = "entry.json"
_FRAMES = ("predictions", "backtest", "test_features", "importance", "scores")


def default_cache_dir(processed_dir: str | Path | None = None) -> Path:
    """``<processed_dir>/risk_cache`` (``data/processed/risk_cache`` by default)."""
    from arinsight import config

    folder = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    return Path(folder) / "risk_cache"


def _tables_digest(tables: Any) -> str:
    """sha256 of the :data:`CACHE_TABLES` (:func:`arinsight.files.hash_tables`: the files of a
    processed folder, or every value of frames)."""
    h = hashlib.sha256()
    hash_tables(h, tables, CACHE_TABLES)
    return h.hexdigest()


def risk_cache_key(
    tables: Any,
    period: str,
    late_days: int = 30,
    random_seed: int = 42,
    test_months: int = 3,
    backtest_months: int = 6,
    importance_samples: int = 2000,
    as_of: Any = None,
    max_train_rows: int | None = MAX_TRAIN_ROWS,
) -> str:
    """The cache key of a run's region-independent part: sha256 of the parameters that shape it
    (period and as-of date among them),
    the code (``arinsight.__version__`` and this module's source), the library versions, and the
    content (columns, dtypes, every value) of the invoices, payments and customers tables.

    The region and ``high_risk_top_n`` are not part of it: they only filter and rank the shared
    scores."""
    spec = {
        "period": str(period),
        "as_of": None if as_of is None else str(pd.Timestamp(as_of).date()),
        "late_days": int(late_days),
        "random_seed": int(random_seed),
        "test_months": int(test_months),
        "backtest_months": int(backtest_months),
        "importance_samples": int(importance_samples),
        "max_train_rows": None if max_train_rows is None else int(max_train_rows),
        "libraries": library_versions(),
        "risk_source": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
        "tables": _tables_digest(tables),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]


def _cached(cache_dir: Path, key: str, compute) -> tuple[_Trained, bool]:
    """The entry ``key`` of ``cache_dir``, loaded; computed and stored first when it is missing.

    Entries are written to a temporary folder and renamed into place (atomic), so a complete
    entry is all a reader can see. Training happens under ``<key>.lock``: a second process for
    the same key waits, then loads the first one's entry. An unreadable entry is replaced.
    """
    import logging

    entry = cache_dir / key
    if entry.is_dir():
        try:
            return _load_entry(entry), True
        except (RiskModelError, OSError, ValueError, KeyError) as exc:
            logging.getLogger(__name__).warning("risk cache %s unreadable (%s)", entry, exc)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(cache_dir / f"{key}.lock"):
        if entry.is_dir():
            try:
                return _load_entry(entry), True
            except (RiskModelError, OSError, ValueError, KeyError):
                shutil.rmtree(entry, ignore_errors=True)
        trained = compute()
        tmp = cache_dir / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
        try:
            _write_entry(trained, tmp, key)
            os.replace(tmp, entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return trained, False


def _write_entry(trained: _Trained, folder: Path, key: str) -> None:
    import skops.io as sio

    folder.mkdir(parents=True)
    ev = trained.evaluation
    sio.dump(trained.model, folder / "model.skops")
    if ev.model is not None:
        sio.dump(ev.model, folder / "evaluation_model.skops")
    frames = {
        "predictions": ev.predictions,
        "backtest": ev.backtest,
        "test_features": ev.test_features,
        "importance": trained.importance,
        "scores": trained.scores,
    }
    for name, df in frames.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    doc = {
        "key": key,
        "metrics": ev.metrics,
        "metadata": trained.metadata,
        "library_versions": library_versions(),
    }
    write_json(folder / _ENTRY_FILE, doc)


def _load_entry(folder: Path) -> _Trained:
    doc = json.loads((folder / _ENTRY_FILE).read_text(encoding="utf-8"))
    model, _ = load_model(folder / "model.skops")
    ev_path = folder / "evaluation_model.skops"
    ev_model = load_model(ev_path)[0] if ev_path.exists() else None
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in _FRAMES}
    evaluation = Evaluation(
        doc["metrics"], frames["predictions"], frames["backtest"], ev_model, frames["test_features"]
    )
    return _Trained(evaluation, model, frames["importance"], doc["metadata"], frames["scores"])


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


def write_outputs(run: RiskRun, output_dir: str | Path) -> dict[str, Path]:
    """Write the run's machine-readable outputs into ``output_dir``.

    ``kpis_risk.json`` (high-risk customers, expected overdue amount, expected collections),
    ``risk_metrics.json`` (the keys listed in docs/kpis.md + backtest, beats_baseline, final_model),
    ``risk_scores.parquet`` (one row per open invoice, sorted by invoice_id),
    ``risk_model.skops`` + ``risk_model.json`` (model and metadata).
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not run.available:
        keys = ["base_rate", "n_train", "n_test", "train_from", "train_to", "test_from", "test_to"]
        metrics = dict.fromkeys(keys) | {
            "late_days": run.late_days,
            "region": run.region,
            "period": run.period,
            "status": "not enough data",
            "reason": run.unavailable,
            "model": dict.fromkeys(["roc_auc", "pr_auc", "brier", "top_decile_lift"]),
            "baseline_last_late": dict.fromkeys(["roc_auc", "pr_auc", "brier"]),
        }
        return {
            "kpis": write_json(out / "kpis_risk.json", run.kpis()),
            "metrics": write_json(out / "risk_metrics.json", metrics),
        }
    metrics = dict(run.metrics) | {
        "region": run.region,
        "period": run.period,
        "status": "ok",
        "final_model": run.metadata["training_window"],
        "features_used": run.metadata.get("features"),
        "features_dropped": run.metadata.get("dropped_features", {}),
    }
    paths = {
        "kpis": write_json(out / "kpis_risk.json", run.kpis()),
        "metrics": write_json(out / "risk_metrics.json", metrics),
    }
    scores = run.scores[SCORE_COLUMNS].sort_values("invoice_id", kind="mergesort")
    paths["scores"] = out / "risk_scores.parquet"
    scores.reset_index(drop=True).to_parquet(paths["scores"], index=False)
    paths["model"], paths["model_metadata"] = save_model(
        run.model, out / "risk_model.skops", run.metadata
    )
    return paths


def headline(run: RiskRun) -> str:
    """One line (Markdown) on what the page covers: period, scoring date, region, the training
    data, or why there is no model."""
    scope = f"**Period** {run.period} (scored at {run.as_of:%Y-%m-%d}), **region** {run.region}"
    if not run.available:
        return f"{scope}: no risk model this period ({run.unavailable})."
    tw = run.metadata["training_window"]
    n_train, n_all = tw["n_train"], tw.get("n_matured", tw["n_train"])
    data = f"{n_train:,} invoices of every region"
    if n_all > n_train:
        data = f"a random sample of {n_train:,} of the {n_all:,} invoices of every region"
    return f"{scope}: {len(run.scores):,} open invoices scored; model trained on {data}."


def summary_table(run: RiskRun, currency: str = "USD") -> pd.DataFrame:
    """Headline numbers of the scoring at T: open amount scored, expected overdue amount,
    customers flagged (the cash to expect is the Cash Forecast page's)."""
    from arinsight.plots._style import money

    if not run.available:
        table = pd.DataFrame(
            [("risk model", f"not available: {run.unavailable}")], columns=["figure", "value"]
        ).set_index("figure")
        table.index.name = None
        return table
    k = run.kpis()
    rows = [
        ("open invoices scored", f"{k['open_invoices_scored']:,}"),
        ("open amount", money(float(run.scores["open_amount"].sum()), currency)),
        (
            "expected overdue amount (probability x open amount)",
            money(k["expected_overdue_amount"], currency),
        ),
    ]
    rows.append(("high-risk customers flagged", f"{len(run.high_risk)}"))
    table = pd.DataFrame(rows, columns=["figure", "value"]).set_index("figure")
    table.index.name = None  # no separate header row for the index in the rendered table
    return table


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _settings_text(run: RiskRun) -> str:
    """The model card's sentences on the training settings and the cost controls."""
    ms = run.metadata.get("model_settings") or {}
    if not ms:
        return ""
    n_iter = ", ".join(str(n) for n in ms.get("n_iter", []))
    text = (
        f"Learning rate {ms['learning_rate']:g}, at most {ms['max_iter']} trees (used: {n_iter}), "
        f"{ms['calibration']} calibration over {ms['calibration_folds']} folds"
    )
    if ms["learning_rate"] > 0.08:
        text += (
            f" (from {LARGE_TRAIN_ROWS:,} training rows the model takes fewer, larger boosting "
            "steps to bound the training time; measured cost in quality: about 0.0003 ROC AUC)"
        )
    text += "."
    cap = run.metrics.get("max_train_rows")
    fits = [run.metrics, *run.metrics.get("backtest", [])]
    if cap and any(r.get("n_matured", 0) > r.get("n_train", 0) > 0 for r in fits):
        text += (
            f" To bound the run time each model (the final one, the one tested above and each "
            f"monthly backtest model) learns from at most {cap:,} of the invoices whose outcome "
            "was known at its cut-off: a random sample, stratified by invoice month and outcome "
            "so that the late rate and the months keep their weight (see docs/risk.md for the "
            "measured cost in quality)."
        )
    return text


def _training_text(tw: dict[str, Any]) -> str:
    """The final model's training data in words (a sample of it when the cap applied)."""
    n, n_all = tw["n_train"], tw.get("n_matured", tw["n_train"])
    known = f"whose outcome was known on {tw['cutoff']}"
    if n_all > n:
        return (
            f"{n:,} invoices of every region, a random sample (stratified by month and outcome) "
            f"of the {n_all:,} issued {tw['train_from']} to {tw['train_to']} {known}"
        )
    return f"{n:,} invoices of every region issued {tw['train_from']} to {tw['train_to']} {known}"


def _dropped_text(run: RiskRun) -> str:
    dropped = run.metadata.get("dropped_features") or {}
    if not dropped:
        return ""
    names = "; ".join(f"{k.replace('_', ' ')} ({v})" for k, v in sorted(dropped.items()))
    return f" Information not used because it does not vary in this data: {names}."


def model_card(run: RiskRun, currency: str = "USD") -> str:
    """A short model card (Markdown) for stakeholders: meaning, quality, data, limits.

    Without a model (not enough history) it says why and what the model needs."""
    from arinsight.plots._style import money

    if not run.available:
        return "\n".join(
            [
                "### Model card: late-payment risk",
                "",
                f"**No model for {run.period}.** {run.unavailable[:1].upper()}{run.unavailable[1:]}.",
                "",
                "**What the model needs.** At least "
                f"{MIN_TRAINING_INVOICES} invoices whose outcome was known by {run.as_of.date()} "
                f"(paid, or more than {run.late_days} days past due), with both late and on-time "
                "payers among them, plus a few months of such invoices to test it on. The "
                "receivables and commission pages do not depend on it.",
            ]
        )
    m = run.metrics
    mm, mr = m["model"], m["baseline_last_late"]
    beats = m["beats_baseline"]
    if beats.get("roc_auc") and beats.get("pr_auc"):
        verdict = "The model **beats** the simple rule on both ROC AUC and PR AUC."
    else:
        verdict = (
            '**Warning: the model does not beat the rule "late last time"** on '
            + " and ".join(k.replace("_", " ").upper() for k, v in beats.items() if not v)
            + "; use its scores with care."
        )
    tw = run.metadata["training_window"]
    return "\n".join(
        [
            "### Model card: late-payment risk",
            "",
            f"**What the score means.** For each invoice open on {run.as_of.date()}, the probability "
            f"that it is paid more than {run.late_days} days after its due date (or not at all by then), "
            "given what was known when it was issued and that it is still unpaid today. Expected overdue "
            "amount = probability x open amount.",
            "",
            f"**How good it is.** On {m['n_test']:,} invoices issued {m['test_from']} to {m['test_to']} "
            f"(trained only on what was known on {m['train_cutoff']}): ROC AUC {_fmt(mm['roc_auc'])} vs "
            f'{_fmt(mr["roc_auc"])} for the rule "late last time"; PR AUC {_fmt(mm["pr_auc"])} vs '
            f"{_fmt(mr['pr_auc'])} (a random ranking gets {_fmt(m['base_rate'])}); Brier score "
            f"{_fmt(mm['brier'])} vs {_fmt(mr['brier'])}; the 10 % riskiest invoices are late "
            f"{_fmt(mm['top_decile_lift'], 1)} times as often as average. {verdict}",
            "",
            f"**On what data.** {_training_text(tw)} (late rate "
            f"{_fmt(tw['base_rate'])}). Gradient boosting with calibrated probabilities, seed "
            f"{run.metadata['random_seed']}. {_settings_text(run)}{_dropped_text(run)}",
            "",
            f"**Limits.** A ranking aid for collectors, not a credit decision. Customer master data "
            "(industry, credit limit) is taken as it is today. The score assumes customers behave as "
            "they did in the training window; new customers without history get industry-level "
            "scores. Expected collections assume the remaining balance is paid in one go. Open "
            f"amount scored: {money(float(run.scores['open_amount'].sum()), currency)}.",
        ]
    )
