"""The KPI registry: one record per KPI (key, label, unit, good direction, definition, page).

Every place that shows or compares a KPI reads it from here: the trend assessment of
:func:`compare` (the one comparison with the previous period), the KPI tables of the notebooks, the tiles of the website,
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
import numbers
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


#: The risk model's expected collections (kept in kpis.json, not shown as the page's cash story).
_RISK_CASH = (
    "Sum over open invoices of open amount x P(paid within {h} days after T), from the risk "
    "model's late-payment probability and the ledger's payment timing as a whole. A by-product "
    "of risk scoring, not a forecast: the Cash Forecast page (a model of each invoice's timing, "
    "tested against the cash that came) is the figure to plan with, and the two differ because "
    "this one uses one timing curve for every invoice and is never backtested. Not shown on "
    "the pages."
)

_RECORDS: tuple[KPI, ...] = (
    # -- Receivables Health ------------------------------------------------------------------
    KPI("open_ar", "Open AR (end)", "money", "lower",
        "Amount still owed at T: sum over invoices of max(0, amount - payments - credit notes "
        "and adjustments - write-offs applied by T).",
        "receivables", 1),
    KPI("overdue_ar", "Overdue AR", "money", "lower",
        "Part of open AR on invoices past their due date at T.", "receivables", 2),
    KPI("dso", "DSO", "days", "lower",
        "Days sales outstanding: open AR at T / credit sales in the period x days in the period.",
        "receivables", 3),
    KPI("cei", "CEI", "percent", "higher",
        "Collection effectiveness: (AR at start + sales / months - adjusted - AR at T) / (AR at "
        "start + sales / months - adjusted - current AR at T) x 100 (months: of the period up "
        "to T; adjusted: what write-offs, credit notes and adjustments took off open AR in the "
        "period, never collected).",
        "receivables", 4),
    KPI("average_days_delinquent", "Average days delinquent", "days", "lower",
        "DSO minus best possible DSO: the days that are due to late payment.", "receivables", 5),
    KPI("collections", "Collections", "money", "higher",
        "Payments received in the period up to T, applied to an invoice or not (cash only: "
        "write-offs and credit notes are their own flows).", "receivables", 6),
    KPI("payment_completion_rate_amount", "Invoices due by T fully paid (amount)", "percent", "higher",
        "Share of the amount of invoices due by T that is fully paid by T (payments and credit "
        "notes cover the amount; a write-off is not a payment).", "receivables", 7),
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
        "Average days after the due date of the invoices fully paid (by payments and credit "
        "notes) in the period up to T (an invoice paid early counts 0)."),
    KPI("payment_completion_rate_count", "Invoices due by T fully paid (count)", "percent", "higher",
        "Share of the invoices due by T that are fully paid by T (payments and credit notes "
        "cover the amount; a write-off is not a payment)."),
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
        "Amounts paid or credited above the invoice amount at T (overpayments, credit notes "
        "beyond what was left to pay): owed to the customer."),
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
    KPI("expected_collections_30d", "Risk model: cash within 30 days", "money", "higher",
        _RISK_CASH.format(h=30)),
    KPI("expected_collections_60d", "Risk model: cash within 60 days", "money", "higher",
        _RISK_CASH.format(h=60)),
    KPI("expected_collections_90d", "Risk model: cash within 90 days", "money", "higher",
        _RISK_CASH.format(h=90)),
    KPI("open_invoices_scored", "Open invoices scored", "count", None,
        "Invoices open at T that received a late-payment probability."),
    # -- Provision (expected credit loss) ------------------------------------------------------
    KPI("ecl_allowance", "Loss allowance (ECL)", "money", None,
        "Expected credit loss at T from the provision matrix: sum over segments and aging "
        "buckets of open AR at T (net of write-offs and credit notes) x the bucket's loss rate "
        "(monthly roll rates chained to write-off, times the forward-looking factor).",
        "provision", 1),
    KPI("ecl_coverage", "Allowance / open AR", "percent", None,
        "Loss allowance / open AR at T net of write-offs and credit notes x 100.", "provision", 2),
    KPI("write_offs", "Write-offs", "money", "lower",
        "Write-offs dated in the period up to T (adjustments of kind write_off), as booked: a "
        "credit loss, never a collection.", "provision", 3),
    KPI("credit_notes", "Credit notes and adjustments", "money", None,
        "Credit notes and other non-cash adjustments dated in the period up to T, as booked "
        "(not a collection, not a credit loss).", "provision", 4),
    KPI("ecl_backtest_error", "Backtest error (12 months)", "percent", "lower",
        "Mean absolute error of the allowance at past month ends against the write-offs that "
        "followed within 12 months: sum of abs(allowance - written off) / sum of written off x 100.",
        "provision", 5),
    KPI("ecl_allowance_change", "Allowance change", "money", None,
        "Loss allowance at T minus the allowance at the previous month end (each with the "
        "rates known then)."),
    # -- Disputes and promises to pay ----------------------------------------------------------
    KPI("disputed_ar", "Disputed AR", "money", "lower",
        "Sum of the disputed amounts of the disputes open at T (opened by T, not resolved by T).",
        "disputes", 1),
    KPI("days_deductions_outstanding", "DDO", "days", "lower",
        "Days deductions outstanding: (disputed AR + deductions outstanding at T) / credit "
        "sales in the period x days in the period.", "disputes", 2),
    KPI("deductions_outstanding", "Deductions outstanding", "money", "lower",
        "Short payments found by cash application still open at T and not in an open dispute: "
        "sum of min(amount short, the invoice's open amount at T).", "disputes", 7),
    KPI("dispute_days_to_resolve", "Days to resolve a dispute", "days", "lower",
        "Average of resolved date - opened date over the disputes resolved in the 12 months up "
        "to T.", "disputes", 3),
    KPI("disputes_customer_favour_share", "Disputes resolved for the customer", "percent",
        "lower",
        "Disputed amount resolved by a credit note or a write-off / disputed amount resolved, "
        "over the disputes resolved in the 12 months up to T, x 100.", "disputes", 4),
    KPI("promises_kept_rate", "Promises to pay kept", "percent", "higher",
        "Promises kept / promises due, by count, over the promises with a promised date in the "
        "12 months up to T: kept when the customer's payments from the day it was made to the "
        "promised date + the grace days reach the promised amount.", "disputes", 5),
    KPI("promises_broken", "Broken promises", "count", "lower",
        "Promises due in the 12 months up to T and not kept.", "disputes", 6),
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
    "cei": "nothing was collectible in the period (AR at the start + sales - adjusted - current "
    "AR = 0)",
    "customers_over_credit_limit": "the customer data has no credit limits",
    "average_days_late": "no invoice was paid in full in the period",
    "payment_completion_rate_count": _NO_DUE,
    "payment_completion_rate_amount": _NO_DUE,
    "paid_to_billed_rate": "nothing was billed by T",
    "average_commission_rate": _NO_SALES,
    "ecl_allowance": "the ledger has no adjustments table (no write-off history to learn from)",
    "ecl_coverage": "nothing is open at T, or the ledger has no write-off history",
    "write_offs": "no write-off, credit note or adjustment in this selection (or no "
    "adjustments table)",
    "credit_notes": "no write-off, credit note or adjustment in this selection (or no "
    "adjustments table)",
    "ecl_backtest_error": "no month end with a full lookback and the 12 months after it known, "
    "or no write-off in those months",
    "ecl_allowance_change": "no open invoices at the previous month end, or no write-off history",
    "days_deductions_outstanding": _NO_SALES,
    "deductions_outstanding": "no deductions from cash application (arinsight match writes "
    "them to deductions.csv)",
    "dispute_days_to_resolve": "no dispute was resolved in the 12 months up to T",
    "disputes_customer_favour_share": "no dispute was resolved in the 12 months up to T",
    "promises_kept_rate": "no promise to pay fell due in the 12 months up to T",
}

#: The KPIs computed by the risk model; every other KPI is an expression of the query engine.
_MODEL_KPIS = frozenset(
    {"expected_overdue_amount", "amount_at_risk_share", "customers_at_risk",
     "expected_collections_30d", "expected_collections_60d", "expected_collections_90d",
     "open_invoices_scored"}
)  # fmt: skip
#: The KPIs of the provision matrix (the expected credit loss; its page shows the write-offs
#: and credit notes too, which the engine computes).
_PROVISION_KPIS = frozenset(
    {"ecl_allowance", "ecl_coverage", "ecl_backtest_error", "ecl_allowance_change"}
)  # fmt: skip
#: The KPIs of the disputes and promises to pay.
_DISPUTE_KPIS = frozenset(
    {"disputed_ar", "days_deductions_outstanding", "deductions_outstanding",
     "dispute_days_to_resolve", "disputes_customer_favour_share", "promises_kept_rate",
     "promises_broken"}
)  # fmt: skip
ENGINE_MODULE = "arinsight.engine.metrics"
MODEL_MODULE = "arinsight.risk"
PROVISION_MODULE = "arinsight.provision"
DISPUTES_MODULE = "arinsight.disputes"


def _formula(key: str) -> str:
    if key in _MODEL_KPIS:
        return MODEL_MODULE
    if key in _DISPUTE_KPIS:
        return DISPUTES_MODULE
    return PROVISION_MODULE if key in _PROVISION_KPIS else ENGINE_MODULE


REGISTRY: tuple[KPI, ...] = tuple(
    replace(k, na=_NA.get(k.key), formula=_formula(k.key)) for k in _RECORDS
)

#: The keys of kpis.json the Provision page (07_provision) writes.
PROVISION_KEYS: tuple[str, ...] = (
    "write_offs",
    "credit_notes",
    "ecl_allowance",
    "ecl_allowance_change",
    "ecl_coverage",
    "ecl_backtest_error",
    "provision_matrix",
)

#: The keys of kpis.json the Disputes page (08_disputes) writes (:mod:`arinsight.disputes`).
DISPUTE_KEYS: tuple[str, ...] = (
    "disputed_ar",
    "days_deductions_outstanding",
    "deductions_outstanding",
    "dispute_days_to_resolve",
    "disputes_customer_favour_share",
    "promises_kept_rate",
    "promises_broken",
)

#: The keys of kpis.json (the interface of docs/kpis.md), in their one order: a run writes them
#: for every region (null where undefined), ``arinsight kpis`` writes them too (the two model
#: keys ``cash_forecast`` and ``high_risk_customers``, the provision and the dispute keys as
#: null: it runs no model, no provision matrix and reads no collection cases).
JSON_KEYS: tuple[str, ...] = (
    "period", "region", "as_of", "credit_sales", "collections", "open_ar", "open_ar_begin",
    "current_ar", "overdue_ar", "overdue_invoices", "dso", "countback_dso", "best_possible_dso",
    "average_days_delinquent", "cei", "ar_turnover", "ar_turnover_annualised",
    "customers_over_credit_limit", "aging", "open_ar_by_currency", "open_ar_by_entity",
    "average_days_late", "payment_completion_rate_count",
    "payment_completion_rate_amount", "paid_to_billed_rate", "unapplied_cash", "credit_balances",
    "top_pending_customers", "cash_forecast", "total_accrued_commissions",
    "commissions_paid_mtd", "commissions_earned", "average_commission_rate",
    "write_offs", "credit_notes", "ecl_allowance", "ecl_allowance_change", "ecl_coverage",
    "ecl_backtest_error", "provision_matrix", "disputed_ar", "days_deductions_outstanding",
    "deductions_outstanding", "dispute_days_to_resolve", "disputes_customer_favour_share", "promises_kept_rate",
    "promises_broken", "high_risk_customers", "na_reasons",
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


def compare(current: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, dict]:
    """Each numeric KPI against the previous period: change, direction and whether that is good.

    For every key whose current value is a number or None (booleans, text and mappings are skipped):
    ``{"previous": x, "change": current - previous (None if either is None), "direction": "up" |
    "down" | "flat" | None, "better": "higher" | "lower" | None (from :func:`directions`),
    "assessment": "better" | "worse" | "same" | None}``.
    """
    if not isinstance(current, Mapping) or not isinstance(previous, Mapping):
        raise TypeError("compare: expected two mappings of KPI -> value")

    def numeric(v: Any) -> bool:
        return v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool))

    better_when = directions()
    out: dict[str, dict] = {}
    for key, cur in current.items():
        prev = previous.get(key)
        if not numeric(cur) or not numeric(prev):
            continue
        change = direction = assessment = None
        if cur is not None and prev is not None:
            change = round(float(cur) - float(prev), 4) + 0.0
            tol = 1e-9 * max(1.0, abs(float(cur)), abs(float(prev)))
            direction = "up" if change > tol else "down" if change < -tol else "flat"
        better = better_when.get(key)
        if direction == "flat":
            assessment = "same"
        elif direction is not None and better is not None:
            assessment = "better" if (direction == "up") == (better == "higher") else "worse"
        out[key] = {
            "previous": None if prev is None else float(prev) if isinstance(prev, float) else prev,
            "change": change,
            "direction": direction,
            "better": better,
            "assessment": assessment,
        }
    return out


def shown(key: str) -> bool:
    """Whether a KPI table lists ``key``: a KPI of the registry that duplicates no other."""
    return key in _BY_KEY and _BY_KEY[key].duplicate_of is None


def tiles(page: str) -> list[KPI]:
    """The KPIs shown as tiles on a region page, in their order (empty for a page without)."""
    return sorted((k for k in REGISTRY if k.page == page and k.tile), key=lambda k: k.tile)


#: The named styles of :func:`format_value`, by where the text is shown.
STYLES = ("tile", "short", "compact", "mail", "table")


def format_value(
    value: Any,
    unit: str,
    currency: str = "USD",
    signed: bool = False,
    *,
    style: str = "tile",
    decimals: int = 2,
) -> str:
    """A KPI value (or its change, ``signed``) as text, in one of the named :data:`STYLES`:

    - ``"tile"`` (website tiles and KPI tables): money to whole units with thousands separators
      ("$1,234,568", "10 CHF"), days and percent to one decimal ("42.1 days", "85.3%"), times to
      two ("6.20x"), counts whole; None, NaN, booleans and non-numbers are "n/a". ``signed``
      puts "+" before positive values;
    - ``"short"`` (the figure on a website tile, whose box is ~200 px wide): as ``"tile"``,
      except money from one million on, in millions, billions or trillions with two decimals,
      trailing zeros dropped ("$987,654", "$1.2M", "$33.18B", "-€4.05B", "2.5M CHF"); the tile
      gives the exact figure beside it (tooltip, screen readers);
    - ``"compact"`` (the notebooks' KPI summary, the risk model card): money abbreviated
      ("$1.2k", "$2.5M", "-€3.4B", "950 CHF"), days "42.1 days", percent "85.3%", times "6.20x",
      counts "1,234"; None and non-finite floats are "n/a". ``signed``: "+" before positive;
    - ``"mail"`` (the monthly e-mail): money with its code and cents ("USD 1,234.00"), share
      (0..1) as percent ("12.5%"); ``signed`` gives the change text: "+USD 12.00", "-3.0 days",
      "\u00b10.0 pp" (percent and share changes in percentage points);
    - ``"table"`` (tables, customer pages): money with its symbol and ``decimals`` decimals
      ("$1,234.50", "-€5.00", "1,000 CHF"); missing and booleans are "n/a"; other units as
      ``"tile"``.
    """
    if style not in _FORMATTERS:
        raise ValueError(f"style: expected one of {', '.join(STYLES)}, got {style!r}")
    return _FORMATTERS[style](value, unit, currency, signed, decimals)


def _missing(value: Any) -> bool:
    """None, NaN (any float kind), pandas' NA and NaT."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def _tile(value: Any, unit: str, currency: str, signed: bool, decimals: int) -> str:
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


def _short(value: Any, unit: str, currency: str, signed: bool, decimals: int) -> str:
    text = _tile(value, unit, currency, signed, decimals)
    if unit != "money" or text == "n/a" or abs(float(value)) < 1e6:
        return text
    sign = "+" if signed and value > 0 else "-" if value < 0 else ""
    v = abs(float(value))
    size, suffix = next((s, x) for s, x in ((1e12, "T"), (1e9, "B"), (1e6, "M")) if v >= s)
    number = f"{v / size:.2f}".rstrip("0").rstrip(".")
    if number == "1000" and suffix != "T":  # 999,995,000 rounds up to the next unit
        number, suffix = "1", {"M": "B", "B": "T"}[suffix]
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}{suffix}" if symbol else f"{sign}{number}{suffix} {currency}"


def _compact(value: Any, unit: str, currency: str, signed: bool, decimals: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    plus = "+" if signed and value > 0 else ""
    if unit == "money":
        symbol = _SYMBOLS.get(currency, "")
        code = "" if symbol else f" {currency}"
        sign = "-" if value < 0 else ""
        v = abs(float(value))
        for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if v >= size:
                return f"{plus}{sign}{symbol}{v / size:.1f}{suffix}{code}"
        return f"{plus}{sign}{symbol}{v:,.0f}{code}"
    if unit == "days":
        return f"{plus}{value:,.1f} days"
    if unit == "percent":
        return f"{plus}{value:.1f}%"
    if unit == "times":
        return f"{plus}{value:.2f}x"
    if unit == "count":
        return f"{plus}{int(value):,}"
    return f"{plus}{value}"


def _mail(value: Any, unit: str, currency: str, signed: bool, decimals: int) -> str:
    if _missing(value):
        return "n/a"
    v = float(value)
    sign = ("+" if v > 0 else "-" if v < 0 else "\u00b1") if signed else ""
    a = abs(v) if signed else v
    points = " pp" if signed else "%"
    if unit == "money":
        return f"{sign}{currency} {a:,.2f}"
    if unit == "days":
        return f"{sign}{a:,.1f} days"
    if unit == "percent":
        return f"{sign}{a:.1f}{points}"
    if unit == "share":
        return f"{sign}{a * 100:.1f}{points}"
    if unit == "count":
        return f"{sign}{a:,.0f}"
    if unit == "times":
        return f"{sign}{a:,.2f}x"
    return f"{sign}{a:,.2f}"


def _table(value: Any, unit: str, currency: str, signed: bool, decimals: int) -> str:
    if unit != "money":
        return _tile(value, unit, currency, signed, decimals)
    if isinstance(value, bool) or _missing(value):
        return "n/a"
    v = float(value)
    sign = "-" if v < 0 else ""
    symbol = _SYMBOLS.get(currency)
    body = f"{abs(v):,.{decimals}f}"
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {currency}"


_FORMATTERS = {"tile": _tile, "short": _short, "compact": _compact, "mail": _mail, "table": _table}


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
        f"`{ENGINE_MODULE}` (`KPIS[key].formula`), the model's figures in `{MODEL_MODULE}`,",
        f"the provision matrix's in `{PROVISION_MODULE}`, the disputes' and promises' in",
        f"`{DISPUTES_MODULE}`.",
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
    "STYLES",
    "UNITS",
    "compare",
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
