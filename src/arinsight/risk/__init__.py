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

The package, one stage a module (each imports only those above it):

- :mod:`~arinsight.risk.base`: feature names, parameters, errors;
- :mod:`~arinsight.risk.labels`: the engine's paid dates and the late labels at a cut-off;
- :mod:`~arinsight.risk.features`: the features of an invoice as of the day before it;
- :mod:`~arinsight.risk.model`: usable features, the calibrated pipeline, bounded training samples;
- :mod:`~arinsight.risk.evaluate`: metrics, the time-based test and monthly backtest, importance;
- :mod:`~arinsight.risk.score`: payment timing and the scores of the invoices open at T;
- :mod:`~arinsight.risk.persist`: the model file (skops) and its metadata;
- :mod:`~arinsight.risk.cache`: the region-independent part of a period's run, computed once;
- :mod:`~arinsight.risk.run`: :func:`run_risk`, the notebook's single call;
- :mod:`~arinsight.risk.report`: the page's tables, the model card and the files written.
"""

from __future__ import annotations

from arinsight.risk.base import (  # noqa: F401
    BASELINE,
    CATEGORICAL,
    FEATURES,
    HORIZONS,
    LARGE_TRAIN_ROWS,
    MAX_TRAIN_ROWS,
    MIN_FEATURE_VALUES,
    MIN_TRAINING_INVOICES,
    NUMERIC,
    TRUSTED_TYPES,
    NotEnoughHistory,
    RiskModelError,
    UntrustedModelError,
)
from arinsight.risk.cache import (  # noqa: F401
    CACHE_TABLES,
    default_cache_dir,
    risk_cache_key,
)
from arinsight.risk.evaluate import (  # noqa: F401
    Evaluation,
    classification_metrics,
    evaluate,
    metrics_table,
    metrics_text,
    permutation_importance_table,
    top_decile_lift,
)
from arinsight.risk.features import (  # noqa: F401
    features_of,
    invoice_features,
)
from arinsight.risk.labels import (  # noqa: F401
    labels_at,
    late_labels,
    settlement,
)
from arinsight.risk.model import (  # noqa: F401
    RISK_THREADS,
    build_model,
    fit_model,
    model_features,
    model_settings,
    predict_late,
    sample_positions,
    training_rows,
    training_sample,
    usable_features,
)
from arinsight.risk.persist import (  # noqa: F401
    library_versions,
    load_model,
    save_model,
)
from arinsight.risk.report import (  # noqa: F401
    headline,
    model_card,
    summary_table,
    write_outputs,
)
from arinsight.risk.run import (  # noqa: F401
    RiskRun,
    run_risk,
)
from arinsight.risk.score import (  # noqa: F401
    SCORE_COLUMNS,
    PaymentTiming,
    customer_risk,
    expected_collections,
    high_risk_customers,
    payment_timing,
    score_open_invoices,
)
