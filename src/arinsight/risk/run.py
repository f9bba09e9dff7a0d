"""One run, the notebook's single call: train (or load from the cache), evaluate and score once per period, select the region."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.risk.base import (
    CATEGORICAL,
    HORIZONS,
    MAX_TRAIN_ROWS,
    NotEnoughHistory,
    RiskModelError,
)
from arinsight.risk.cache import Trained, cached, risk_cache_key, run_params
from arinsight.risk.evaluate import (
    Evaluation,
    History,
    evaluate_history,
    evaluation_plan,
    none_if_nan,
    permutation_importance_table,
)
from arinsight.risk.features import features_of
from arinsight.risk.model import (
    check_outcomes,
    check_trainable,
    fit_rows,
    fit_threads,
    model_features,
    model_settings,
    usable_features,
)
from arinsight.risk.score import (
    SCORE_COLUMNS,
    customer_risk,
    expected_collections,
    high_risk_customers,
    score_rows,
    timing_of_days,
)


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

    from arinsight.periods import ALL_REGIONS, check_region, period_bounds

    t0 = time.perf_counter()
    T = period_bounds(period).at(as_of).end
    params = run_params(
        late_days, random_seed, test_months, backtest_months, importance_samples, max_train_rows
    )
    timings: dict[str, float] = {}
    from_cache = False
    try:
        if cache_dir is None:
            trained = _train_and_score(tables, period, T, timings=timings, **params)
        else:
            key = risk_cache_key(tables, period, as_of=T, **params)
            timings["cache_key"] = time.perf_counter() - t0
            trained, from_cache = cached(
                Path(cache_dir),
                key,
                lambda: _train_and_score(tables, period, T, timings=timings, **params),
            )
    except NotEnoughHistory as exc:
        return _unavailable_run(period, region, T, int(late_days), int(random_seed), str(exc))
    t1 = time.perf_counter()
    from arinsight.engine.session import model_source

    _, cust = model_source(tables)
    scores = trained.scores
    if region not in (None, "", ALL_REGIONS):
        check_region(region, trained.metadata.get("regions", []))
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
) -> Trained:
    """Features, evaluation + backtest, final model, permutation importance and the scores of
    every invoice open at T (all regions). Stage times go into ``timings``.

    ``tables``: a processed folder (read by the engine) or a mapping of frames. The labels
    of every invoice come from the engine as numbers (:mod:`arinsight.engine.session`); the
    rows each model learns from, the invoices the evaluation tests and those open at T are
    chosen from them first, and only those rows get their features."""
    import time

    from arinsight.engine.session import history_session, model_source

    L = int(late_days)
    source, cust = model_source(tables)
    t = time.perf_counter()
    with history_session(source, T, late_days=L) as s:
        summary = s.summary()
        if summary["invoices"] == 0:
            raise NotEnoughHistory(f"no invoices issued by {T.date()}: nothing to train or score")
        if summary["distinct_ids"] != summary["invoices"]:
            raise RiskModelError("invoices: invoice_id is not unique (run 02_clean first)")
        inv = s.invoices()
        history = History.of_days(inv["invoice_day"], inv["due_day"], inv["paid_day"], L)
        matured = history.matured(T)
        n_matured = int(matured.sum())
        check_outcomes(history.late[matured], f"a model at {T.date()}")  # what the ledger lacks
        try:
            plan = evaluation_plan(history, T, test_months, backtest_months)
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
    with fit_threads(len(inv)):
        t = time.perf_counter()
        train, population = history.train(T, max_train_rows, random_seed)
        try:
            evaluation = evaluate_history(
                history, T, random_seed, test_months, backtest_months, max_train_rows
            )
        except NotEnoughHistory as exc:
            raise _untestable(n_matured, exc) from exc
        timings["evaluation"] = time.perf_counter() - t
        t = time.perf_counter()
        check_trainable(train, f"a model at {T.date()}")
        model = fit_rows(train, random_seed)
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
        timing = timing_of_days(inv["due_day"], inv["paid_day"], t_day, L)
        scores = score_rows(model, feats, settled, T, L, timing)
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
            "base_rate": none_if_nan(train["late"].astype(float).mean()),
        },
        "metrics": evaluation.metrics,
        "model_settings": model_settings(model),
        # every region a run may ask for (ledger.regions_of): the invoices' and the customers'
        "regions": sorted(set(regions) | set(cust["region"].dropna().astype(str))),
    }
    return Trained(evaluation, model, importance, metadata, scores)
