"""The KPI registry: one record per KPI (key, label, unit, good direction, definition, page).

Every place that shows or compares a KPI reads it from here: the trend assessment of
:func:`arinsight.receivables.compare`, the KPI tables of the notebooks, the tiles of the website,
the monthly e-mail and ``docs/kpis.md`` (written by :func:`markdown_table`, checked by a test).
``key`` is the name in ``kpis.json``; ``unit`` is one of money, days, percent, times, count;
``better`` is "higher", "lower" or None for a figure that is neither good nor bad in itself
(current AR, commission liabilities); ``page`` is the site page whose tiles show it (None: shown
in tables only), ``tile`` its place among that page's tiles.

:func:`kpi_history` computes a KPI series for the 12 month ends up to T with the same function
that computes the period's figures, so a tile's sparkline ends exactly at the tile's value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

UNITS = ("money", "days", "percent", "times", "count")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


@dataclass(frozen=True)
class KPI:
    """One key performance indicator as shown to a reader."""

    key: str
    label: str
    unit: str
    better: str | None
    definition: str
    page: str | None = None
    tile: int | None = None
    duplicate_of: str | None = None
    #: why the KPI is n/a when its inputs are there but it is undefined (a zero denominator, no
    #: credit limits...); None when it is always defined once the selection has data
    na: str | None = None
    #: the module whose expression computes it (one hop from here)
    formula: str | None = None


_RECORDS: tuple[KPI, ...] = (
    # -- Receivables Health ------------------------------------------------------------------
    KPI("open_ar", "Open AR (end)", "money", "lower",
        "Amount still owed at T: sum over invoices of max(0, amount - payments applied by T).",
        "receivables", 1),
    KPI("overdue_ar", "Overdue AR", "money", "lower",
        "Part of open AR on invoices past their due date at T.", "receivables", 2),
    KPI("dso", "DSO", "days", "lower",
        "Days sales outstanding: open AR at T / credit sales in the period x days in the period.",
        "receivables", 3),
    KPI("cei", "CEI", "percent", "higher",
        "Collection effectiveness: (AR at start + sales / months - AR at T) / (AR at start + "
        "sales / months - current AR at T) x 100 (months: of the period up to T).",
        "receivables", 4),
    KPI("average_days_delinquent", "Average days delinquent", "days", "lower",
        "DSO minus best possible DSO: the days that are due to late payment.", "receivables", 5),
    KPI("collections", "Collections", "money", "higher",
        "Payments received in the period up to T, applied to an invoice or not.", "receivables", 6),
    KPI("payment_completion_rate_amount", "Invoices due by T fully paid (amount)", "percent", "higher",
        "Share of the amount of invoices due by T that is fully paid by T.", "receivables", 7),
    KPI("customers_over_credit_limit", "Customers over credit limit", "count", "lower",
        "Customers whose open balance at T exceeds their credit limit.", "receivables", 8),
    KPI("credit_sales", "Credit sales", "money", "higher",
        "Invoice amounts with an invoice date in the period (billed in the period)."),
    KPI("open_ar_begin", "Open AR (begin)", "money", "lower",
        "Open AR at the end of the day before the period starts."),
    KPI("current_ar", "Current AR", "money", None,
        "Part of open AR on invoices not yet due at T."),
    KPI("overdue_invoices", "Overdue invoices", "count", "lower",
        "Number of open invoices past their due date at T."),
    KPI("countback_dso", "Countback DSO", "days", "lower",
        "Days of the most recent sales, counted back month by month from T, that add up to open "
        "AR at T: whole months count all their days, the last one the share of its sales "
        "consumed; 0 when nothing is open."),
    KPI("best_possible_dso", "Best possible DSO", "days", "lower",
        "Current AR / credit sales x days in the period: DSO if every customer paid on time."),
    KPI("ar_turnover", "AR turnover (period)", "times", "higher",
        "Credit sales / average of open AR at start and at T."),
    KPI("ar_turnover_annualised", "AR turnover (annualised)", "times", "higher",
        "AR turnover of the period scaled to a year."),
    KPI("average_days_late", "Average days late", "days", "lower",
        "Average days after the due date of the invoices fully paid in the period up to T (an "
        "invoice paid early counts 0)."),
    KPI("payment_completion_rate_count", "Invoices due by T fully paid (count)", "percent", "higher",
        "Share of the invoices due by T that are fully paid by T."),
    KPI("paid_to_billed_rate", "Paid of billed, all invoices to T (amount)", "percent", "higher",
        "Amount paid by T / amount billed by T over all invoices dated up to T, each invoice "
        "counting at most its amount."),
    KPI("total_revenue", "Total revenue (billed)", "money", "higher",
        "Same figure as credit sales (kept in kpis.json under both names).",
        duplicate_of="credit_sales"),
    KPI("overdue_amount", "Overdue amount", "money", "lower",
        "Same figure as overdue AR (kept in kpis.json under both names).",
        duplicate_of="overdue_ar"),
    KPI("unapplied_cash", "Unapplied cash", "money", "lower",
        "Payments received by T that are not applied to any invoice."),
    KPI("credit_balances", "Credit balances", "money", "lower",
        "Amounts paid above the invoice amount (overpayments) at T."),
    # -- Commission Analytics ----------------------------------------------------------------
    KPI("total_accrued_commissions", "Total accrued commissions", "money", None,
        "Commissions earned by T and not yet paid at T (the liability to the sales team).",
        "commissions", 1),
    KPI("commissions_paid_mtd", "Commissions paid (period to date)", "money", None,
        "Commissions settled in the period up to T.", "commissions", 2),
    KPI("commissions_earned", "Commissions earned in period", "money", None,
        "Commissions accrued in the period.", "commissions", 3),
    KPI("average_commission_rate", "Average commission rate", "percent", None,
        "Commissions earned in the period / credit sales in the period x 100.", "commissions", 4),
    # -- Risk ----------------------------------------------------------------------------------
    KPI("expected_overdue_amount", "Amount at risk", "money", "lower",
        "Sum over open invoices of P(paid late) x open amount: the part of the open balance "
        "expected to be paid late.", "risk", 1),
    KPI("amount_at_risk_share", "Share of open AR at risk", "percent", "lower",
        "Amount at risk / open amount of the scored invoices x 100.", "risk", 2),
    KPI("customers_at_risk", "Customers likely late", "count", "lower",
        "Customers whose open balance is more likely than not to be paid late (amount-weighted "
        "probability of late payment of at least 50 %, from calibrated probabilities).",
        "risk", 3),
    KPI("expected_collections_30d", "Expected cash in 30 days", "money", "higher",
        "Sum over open invoices of open amount x P(paid within 30 days after T).", "risk", 4),
    KPI("expected_collections_60d", "Expected cash in 60 days", "money", "higher",
        "Sum over open invoices of open amount x P(paid within 60 days after T)."),
    KPI("expected_collections_90d", "Expected cash in 90 days", "money", "higher",
        "Sum over open invoices of open amount x P(paid within 90 days after T)."),
    KPI("open_invoices_scored", "Open invoices scored", "count", None,
        "Invoices open at T that received a late-payment probability."),
)  # fmt: skip

_NO_SALES = "no credit sales in the period"
_NO_DUE = "no invoice was due by T"

#: Why a KPI is n/a when its inputs are there (see :attr:`KPI.na`).
_NA: dict[str, str] = {
    "dso": _NO_SALES,
    "best_possible_dso": _NO_SALES,
    "average_days_delinquent": _NO_SALES,
    "ar_turnover": _NO_SALES,
    "ar_turnover_annualised": _NO_SALES,
    "cei": "nothing was collectible in the period (AR at the start + sales - current AR = 0)",
    "customers_over_credit_limit": "the customer data has no credit limits",
    "average_days_late": "no invoice was paid in full in the period",
    "payment_completion_rate_count": _NO_DUE,
    "payment_completion_rate_amount": _NO_DUE,
    "paid_to_billed_rate": "nothing was billed by T",
    "average_commission_rate": _NO_SALES,
}

#: The KPIs computed by the risk model; every other KPI is an expression of the query engine.
_MODEL_KPIS = frozenset(
    {"expected_overdue_amount", "amount_at_risk_share", "customers_at_risk",
     "expected_collections_30d", "expected_collections_60d", "expected_collections_90d",
     "open_invoices_scored"}
)  # fmt: skip
ENGINE_MODULE = "arinsight.engine.metrics"
MODEL_MODULE = "arinsight.risk"

REGISTRY: tuple[KPI, ...] = tuple(
    replace(k, na=_NA.get(k.key), formula=MODEL_MODULE if k.key in _MODEL_KPIS else ENGINE_MODULE)
    for k in _RECORDS
)

#: The keys of kpis.json (the interface of docs/kpis.md), in their one order: a run writes them
#: for every region (null where undefined), ``arinsight kpis`` writes them too (the two model
#: keys ``cash_forecast`` and ``high_risk_customers`` as null, it runs no model).
JSON_KEYS: tuple[str, ...] = (
    "period", "region", "as_of", "credit_sales", "collections", "open_ar", "open_ar_begin",
    "current_ar", "overdue_ar", "overdue_invoices", "dso", "countback_dso", "best_possible_dso",
    "average_days_delinquent", "cei", "ar_turnover", "ar_turnover_annualised",
    "customers_over_credit_limit", "aging", "average_days_late", "payment_completion_rate_count",
    "payment_completion_rate_amount", "paid_to_billed_rate", "unapplied_cash", "credit_balances",
    "top_pending_customers", "cash_forecast", "total_accrued_commissions",
    "commissions_paid_mtd", "commissions_earned", "average_commission_rate",
    "high_risk_customers", "na_reasons",
)  # fmt: skip

_BY_KEY: dict[str, KPI] = {k.key: k for k in REGISTRY}


def na_reasons() -> dict[str, str]:
    """KPI -> why it is n/a when its inputs are there (:attr:`KPI.na`)."""
    return {k.key: k.na for k in REGISTRY if k.na}


#: The n/a reason of every KPI of a selection without any invoice or payment up to T.
NA_EMPTY = "no invoices or payments up to T in this selection"
#: The n/a reason of the commission KPIs without any commission accrued by T.
NA_NO_COMMISSIONS = "no commission records accrued by T"


def reasons_for(row: Mapping[str, Any]) -> dict[str, str]:
    """The reason, in plain words, of every engine KPI that is None in ``row`` (one region's
    KPIs): no commission accrued by T for the commission KPIs, no data at all in the selection,
    else the KPI's own :attr:`KPI.na`."""
    out: dict[str, str] = {}
    for k in REGISTRY:
        if k.formula != ENGINE_MODULE or k.key not in row or row[k.key] is not None:
            continue
        if k.page == "commissions" and row.get("total_accrued_commissions") is None:
            out[k.key] = NA_NO_COMMISSIONS
        elif row.get("open_ar") is None:
            out[k.key] = NA_EMPTY
        elif k.na:
            out[k.key] = k.na
    return out


def get(key: str) -> KPI:
    """The registry record of ``key`` (KeyError naming the key when it is not a KPI)."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"{key!r} is not a KPI of the registry") from None


def known(key: str) -> bool:
    return key in _BY_KEY


def labels() -> dict[str, str]:
    return {k.key: k.label for k in REGISTRY}


def units() -> dict[str, str]:
    return {k.key: k.unit for k in REGISTRY}


def directions() -> dict[str, str]:
    """KPI -> "higher" / "lower" for the KPIs that have a good direction."""
    return {k.key: k.better for k in REGISTRY if k.better}


def shown(key: str) -> bool:
    """Whether a KPI table lists ``key``: a KPI of the registry that duplicates no other."""
    return key in _BY_KEY and _BY_KEY[key].duplicate_of is None


def tiles(page: str) -> list[KPI]:
    """The KPIs shown as tiles on a region page, in their order (empty for a page without)."""
    return sorted((k for k in REGISTRY if k.page == page and k.tile), key=lambda k: k.tile)


def format_value(value: Any, unit: str, currency: str = "USD", signed: bool = False) -> str:
    """A KPI value as tile text: money to whole units with thousands separators ("$1,234,568"),
    days and percent to one decimal ("42.1 days", "85.3%"), times to two ("6.20x"), counts whole;
    None, NaN and non-numbers are "n/a". ``signed`` puts "+" before positive values (changes)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "n/a"
    sign = "+" if signed and value > 0 else "-" if value < 0 else ""
    v = abs(float(value))
    if unit == "money":
        symbol = _SYMBOLS.get(currency)
        return f"{sign}{symbol}{v:,.0f}" if symbol else f"{sign}{v:,.0f} {currency}"
    if unit == "days":
        return f"{sign}{v:,.1f} days"
    if unit == "percent":
        return f"{sign}{v:,.1f}%"
    if unit == "times":
        return f"{sign}{v:,.2f}x"
    if unit == "count":
        return f"{sign}{v:,.0f}"
    return f"{sign}{v:,.2f}"


def markdown_table() -> str:
    """The last section of docs/kpis.md: every KPI of the registry with its label, unit, good
    direction and one-line definition (the tiles' hover text)."""
    lines = [
        "## The KPI registry",
        "",
        "Labels, units, good directions and the one-line definitions the website shows when you",
        "hover a tile, as written by `arinsight.kpis.markdown_table()` (a test keeps this section",
        "in step with the code).",
        "",
        "The formula of each KPI lives one hop away: the engine's expressions in",
        f"`{ENGINE_MODULE}` (`KPIS[key].formula`), the model's figures in `{MODEL_MODULE}`.",
        "",
        "| key | label | unit | good when | definition | n/a when | formula in |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for k in REGISTRY:
        if k.duplicate_of:
            continue
        lines.append(
            f"| `{k.key}` | {k.label} | {k.unit} | {k.better or '-'} | {k.definition} | "
            f"{k.na or '-'} | `{k.formula}` |"
        )
    return "\n".join(lines) + "\n"


def kpi_history(
    compute: Callable[[Any], Mapping[str, Any]],
    period: Any,
    keys: Sequence[str],
    months: int = 12,
) -> dict[str, dict[str, Any]]:
    """KPI values at the last ``months`` month ends up to and including ``period``.

    ``compute(p)`` returns the KPIs of period ``p`` (a :class:`arinsight.ledger.Period`), e.g.
    ``lambda p: receivables_kpis(tables, p, params)``. Returns ``{key: {"YYYY-MM": value}}``
    with months in calendar order, oldest first; the last value of each series is the period's
    own figure. ``months`` must be at least 1.
    """
    from arinsight.ledger import period_bounds

    if int(months) < 1:
        raise ValueError(f"kpi_history: months must be at least 1, got {months!r}")
    p = period_bounds(period) if isinstance(period, str) else period
    chain = [p]
    for _ in range(int(months) - 1):
        chain.append(chain[-1].previous())
    out: dict[str, dict[str, Any]] = {key: {} for key in keys}
    for q in reversed(chain):
        values = compute(q)
        for key in keys:
            out[key][q.label] = values.get(key)
    return out


__all__ = [
    "JSON_KEYS",
    "KPI",
    "REGISTRY",
    "UNITS",
    "directions",
    "format_value",
    "get",
    "known",
    "kpi_history",
    "labels",
    "markdown_table",
    "na_reasons",
    "shown",
    "tiles",
    "units",
]
