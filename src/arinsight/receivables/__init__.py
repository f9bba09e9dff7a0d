"""Receivables Health (docs/kpis.md): the page's KPIs, tables and lists, read from the engine.

Every balance "as of T" comes from the query engine (:mod:`arinsight.engine`), computed once per
period and kept (:mod:`arinsight.engine.period`): the KPIs of every region for the period, the
period before it and the trailing months, and the **positions** (one row per invoice dated
<= T: open amount, days past due, status, paid date, days late, customer and segment). This
module only shapes them for a page: the KPI dict of a region (:func:`page_kpis`), per-customer
balances, the aging table, the monthly trends, the explorer, the overdue and over-limit lists,
delays by industry, the seasonal pattern and energy usage against payment behaviour, each a
function of the positions frame (see :meth:`arinsight.engine.period.PeriodResults.positions`).
For frames of one's own, :func:`positions_at` runs the same engine expressions in memory.

An invoice counts when ``invoice_date <= T``, a payment when ``payment_date <= T``. Payments
settle the invoice whose ``invoice_id`` they carry (several may settle one invoice; their total
may exceed it: a credit balance); a payment without an invoice of the ledger is *unapplied
cash*: it reduces what the customer owes on a net basis but never open AR.

Money is in the reporting currency, to the cent; days and ratios to 4 decimals; percentages in
percent (0-100). Undefined ratios (zero denominators) are ``None`` and are shown as "n/a",
never 0 or inf.

The modules, from the bottom (each imports only those above it):

- :mod:`~arinsight.receivables.base`: the page's KPI keys and their registry views, the checks
  and date helpers;
- :mod:`~arinsight.receivables.positions`: the positions at T and each customer's balances;
- :mod:`~arinsight.receivables.page`: the KPI dict of a region, the n/a reasons, the page's
  scope, the KPI summary table;
- :mod:`~arinsight.receivables.tables`: aging, currencies, entities, monthly trends, the
  explorer, the overdue and over-limit lists, the top customers;
- :mod:`~arinsight.receivables.behaviour`: delays by industry, seasonality, energy usage against
  payment behaviour.

Every public name below is importable from ``arinsight.receivables``.
"""

from __future__ import annotations

from arinsight.engine.results import aging_labels  # customers reads the bucket labels here
from arinsight.kpis import compare  # the one trend comparison; notebooks call it here
from arinsight.receivables.base import (
    DEFAULT_AGING_BUCKETS,
    EPS,
    KPI_DIRECTION,
    KPI_LABELS,
    KPI_UNITS,
    RECEIVABLES_KEYS,
    as_period,
    month_ends,
    require_columns,
)
from arinsight.receivables.behaviour import delays_by_industry, energy_vs_payment, seasonality
from arinsight.receivables.page import (
    PAGE_COLUMNS,
    kpi_summary_table,
    na_reasons,
    page_kpis,
    page_scope,
    receivables_kpis,
)
from arinsight.receivables.positions import (
    POSITION_COLUMNS,
    customer_balances,
    invoice_positions,
    positions_at,
)
from arinsight.receivables.tables import (
    EXPLORER_COLUMNS,
    EXPLORER_READS,
    STATUS_LABELS,
    aging_table,
    currency_table,
    customers_over_credit_limit,
    entity_table,
    invoice_explorer_table,
    monthly_trends,
    overdue_invoice_list,
    top_customers,
)

__all__ = [
    "DEFAULT_AGING_BUCKETS",
    "EPS",
    "EXPLORER_COLUMNS",
    "EXPLORER_READS",
    "KPI_DIRECTION",
    "KPI_LABELS",
    "KPI_UNITS",
    "PAGE_COLUMNS",
    "POSITION_COLUMNS",
    "RECEIVABLES_KEYS",
    "STATUS_LABELS",
    "aging_labels",
    "aging_table",
    "as_period",
    "compare",
    "currency_table",
    "customer_balances",
    "customers_over_credit_limit",
    "delays_by_industry",
    "energy_vs_payment",
    "entity_table",
    "invoice_explorer_table",
    "invoice_positions",
    "kpi_summary_table",
    "month_ends",
    "monthly_trends",
    "na_reasons",
    "overdue_invoice_list",
    "page_kpis",
    "page_scope",
    "positions_at",
    "receivables_kpis",
    "require_columns",
    "seasonality",
    "top_customers",
]
