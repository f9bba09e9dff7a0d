"""Metrics and evaluation: time-based test, monthly backtest, bounded training samples, permutation importance."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from arinsight.risk.base import BASELINE, FEATURES, MAX_TRAIN_ROWS, NotEnoughHistory, RiskModelError
from arinsight.risk.labels import row_positions
from arinsight.risk.model import (
    check_trainable,
    fit_rows,
    model_features,
    predict_late,
    sample_positions,
)


def none_if_nan(value: float | None) -> float | None:
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
        "roc_auc": none_if_nan(roc_auc_score(y, s)) if two else None,
        "pr_auc": none_if_nan(average_precision_score(y, s)) if two else None,
        "brier": none_if_nan(brier_score_loss(y, s, pos_label=1))
        if two
        else none_if_nan(np.mean((s - y) ** 2)),
        "top_decile_lift": none_if_nan(top_decile_lift(y, s)),
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


@dataclass(frozen=True)
class History:
    """Features aligned with their settlement, to take the training rows of any cut-off quickly.

    An invoice is matured at a cut-off C when ``C - D > L`` (and issued by C); a matured invoice's
    label never changes afterwards: late iff not paid within ``L`` days of its due date
    (:func:`labels_at` gives the same label at every C at which it is matured).

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
    def of(cls, features: pd.DataFrame, settled: pd.DataFrame, late_days: int) -> History:
        feats = features.reset_index(drop=True)
        at = row_positions(feats["invoice_id"], settled["invoice_id"])
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
    ) -> History:
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

    def with_features(self, features: pd.DataFrame, codes: np.ndarray) -> History:
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


def _fit_and_test(history: History, cutoff, test_rows, seed, max_rows, fitted: dict):
    """Train as a run at ``cutoff`` would have (``fitted`` keeps each cut-off's model: the
    backtest month that starts with the test months reuses the headline model, which learned
    from the same rows) and score ``test_rows`` with the model and the rule."""
    if cutoff not in fitted:
        train, population = history.train(cutoff, max_rows, seed)
        check_trainable(
            train, f"the model tested on invoices from {cutoff.date() + pd.Timedelta(days=1)}"
        )
        fitted[cutoff] = (fit_rows(train, seed), train, population)
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
    history = History.of(features, settled, int(late_days))
    return evaluate_history(history, C, random_seed, test_months, backtest_months, max_train_rows)


@dataclass(frozen=True)
class EvaluationPlan:
    """The dates of :func:`evaluate` at C, from the labels alone."""

    matured: np.ndarray  # matured at C
    test_from: pd.Timestamp
    cutoff: pd.Timestamp  # the test's model is trained as on this day
    months: list[pd.Timestamp]  # the backtest's months (first days)

    def cutoffs(self) -> list[pd.Timestamp]:
        """Every cut-off a model of the evaluation is trained at."""
        return [self.cutoff, *(start - pd.Timedelta(days=1) for start in self.months)]

    def tested(self, history: History) -> np.ndarray:
        """Every invoice the evaluation tests (the test months and the backtest's)."""
        first = min([self.test_from, *self.months])
        return self.matured & (history.invoice_date >= np.datetime64(first, "ns"))


def evaluation_plan(
    history: History, C: pd.Timestamp, test_months: int, backtest_months: int
) -> EvaluationPlan:
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
    return EvaluationPlan(matured, test_from, test_from - pd.Timedelta(days=1), months)


def evaluate_history(
    history: History,
    C: pd.Timestamp,
    random_seed: int,
    test_months: int,
    backtest_months: int,
    max_train_rows: int | None,
) -> Evaluation:
    """:func:`evaluate` of a :class:`History`."""
    L = history.late_days
    cap = None if max_train_rows is None else int(max_train_rows)
    plan = evaluation_plan(history, C, test_months, backtest_months)
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
        "base_rate": none_if_nan(y.mean()),
        "train_base_rate": none_if_nan(base_rate_train),
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
        row |= {"base_rate": none_if_nan(ym.mean())}
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
