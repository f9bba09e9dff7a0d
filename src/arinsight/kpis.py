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
from dataclasses import dataclass
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


REGISTRY: tuple[KPI, ...] = (
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
        "Collection effectiveness: (AR at start + sales - AR at T) / (AR at start + sales - "
        "current AR at T) x 100.", "receivables", 4),
    KPI("average_days_delinquent", "Average days delinquent", "days", "lower",
        "DSO minus best possible DSO: the days that are due to late payment.", "receivables", 5),
    KPI("collections", "Collections", "money", "higher",
        "Payments received in the period up to T.", "receivables", 6),
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
        "Days of the most recent sales, counted back month by month, that add up to open AR."),
    KPI("best_possible_dso", "Best possible DSO", "days", "lower",
        "Current AR / credit sales x days in the period: DSO if every customer paid on time."),
    KPI("ar_turnover", "AR turnover (period)", "times", "higher",
        "Credit sales / average of open AR at start and at T."),
    KPI("ar_turnover_annualised", "AR turnover (annualised)", "times", "higher",
        "AR turnover of the period scaled to a year."),
    KPI("average_days_late", "Average days late", "days", "lower",
        "Average days after the due date of the invoices fully paid in the period."),
    KPI("payment_completion_rate_count", "Invoices due by T fully paid (count)", "percent", "higher",
        "Share of the invoices due by T that are fully paid by T."),
    KPI("paid_to_billed_rate", "Paid of billed, all invoices to T (amount)", "percent", "higher",
        "Amount paid by T / amount billed by T over all invoices dated up to T."),
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

_BY_KEY: dict[str, KPI] = {k.key: k for k in REGISTRY}


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
        "| key | label | unit | good when | definition |",
        "| --- | --- | --- | --- | --- |",
    ]
    for k in REGISTRY:
        if k.duplicate_of:
            continue
        lines.append(f"| `{k.key}` | {k.label} | {k.unit} | {k.better or '-'} | {k.definition} |")
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
    "shown",
    "tiles",
    "units",
]
