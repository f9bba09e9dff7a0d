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

The modules, each named after what it holds (each imports only those above it):

- :mod:`~arinsight.forecast.base`: the weeks, the delay bins and :class:`ForecastError`;
- :mod:`~arinsight.forecast.rows`: the invoices open at an origin and the cash they brought,
  from the engine;
- :mod:`~arinsight.forecast.model`: the payment-timing model and its training rows;
- :mod:`~arinsight.forecast.baselines`: the due-date and customer-delay baselines;
- :mod:`~arinsight.forecast.sampling`: the seeded samples that bound the work;
- :mod:`~arinsight.forecast.compute`: the backtest and the forecast of every region, cached;
- :mod:`~arinsight.forecast.region`: one region's weeks, interval and errors, as the page and
  kpis.json show them.
"""

from __future__ import annotations

from arinsight.forecast.base import (
    DELAY_EDGES,
    NEVER,
    OUTCOMES,
    STATE_FEATURES,
    WEEKS,
    ForecastError,
)
from arinsight.forecast.baselines import customer_delay_baseline, customer_delays, due_date_baseline
from arinsight.forecast.compute import (
    DEFAULT_BACKTEST_ORIGINS,
    cache_key,
    compute,
    compute_cached,
    month_ends,
)
from arinsight.forecast.model import build_model, delay_bin, delay_training_rows, week_probabilities
from arinsight.forecast.region import (
    Forecast,
    backtest_by_origin,
    error_summary_table,
    error_table,
    forecast_table,
    region_forecast,
    run_forecast,
    summary_text,
    write_outputs,
)
from arinsight.forecast.rows import ROW_COLUMNS, collected_by_week, open_at, open_at_origins
from arinsight.forecast.sampling import (
    DEFAULT_BACKTEST_SAMPLE,
    DEFAULT_MAX_TRAIN_ROWS,
    inclusion,
    sample_keys,
    training_sample,
)

__all__ = [
    "DEFAULT_BACKTEST_ORIGINS",
    "DEFAULT_BACKTEST_SAMPLE",
    "DEFAULT_MAX_TRAIN_ROWS",
    "DELAY_EDGES",
    "NEVER",
    "OUTCOMES",
    "ROW_COLUMNS",
    "STATE_FEATURES",
    "WEEKS",
    "Forecast",
    "ForecastError",
    "backtest_by_origin",
    "build_model",
    "cache_key",
    "collected_by_week",
    "compute",
    "compute_cached",
    "customer_delay_baseline",
    "customer_delays",
    "delay_bin",
    "delay_training_rows",
    "due_date_baseline",
    "error_summary_table",
    "error_table",
    "forecast_table",
    "inclusion",
    "month_ends",
    "open_at",
    "open_at_origins",
    "region_forecast",
    "run_forecast",
    "sample_keys",
    "summary_text",
    "training_sample",
    "week_probabilities",
    "write_outputs",
]
