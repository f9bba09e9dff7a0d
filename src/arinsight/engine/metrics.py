"""Measures and KPI formulas, each defined once (the words of each KPI, its label, unit, good
direction, definition and n/a reason, live in the registry :mod:`arinsight.kpis`).

:func:`measures` are additive sums over invoice positions (money in ``decimal(38,2)``, 0 over
no rows, counts as integers); they are summed per (region, customer), per region and for "All"
alike. :data:`KPIS` derives every KPI from the measures of one region; both "All" and each region
read the same registry. Ratios are float64 (the caller rounds them for display); a ratio whose
denominator is 0 is NULL (n/a), never 0 or inf.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from arinsight.engine.positions import AsOf, days_of, months_of
from arinsight.engine.staging import money_sum


def _count(condition: ir.BooleanValue) -> ir.IntegerScalar:
    return ibis.ifelse(condition, 1, 0).sum().fill_null(0)


def measures(buckets: Sequence[int]) -> dict[str, Callable[[ir.Table], ir.Scalar]]:
    """The additive measures of a positions relation (see positions.invoice_positions)."""
    out: dict[str, Callable[[ir.Table], ir.Scalar]] = {
        "invoices": lambda p: _count(p.exists),
        "payments": lambda p: p.payments.sum().fill_null(0),
        "credit_sales": lambda p: money_sum(p.amount, where=p.in_period),
        "billed": lambda p: money_sum(p.amount),
        "paid_capped": lambda p: money_sum(ibis.least(p.paid, p.amount)),
        "open_ar": lambda p: money_sum(p.open_amount),
        "open_ar_begin": lambda p: money_sum(p.open_begin),
        "overdue_ar": lambda p: money_sum(p.open_amount, where=p.past_due),
        "overdue_invoices": lambda p: _count(p.past_due & (p.open_amount > 0)),
        "credit_balances": lambda p: money_sum(p.credit_amount),
        "collections": lambda p: money_sum(p.collected),
        "adjusted": lambda p: money_sum(p.adjusted),
        "write_offs": lambda p: money_sum(p.written_in_period),
        "credit_notes": lambda p: money_sum(p.credited_in_period),
        "adjustment_rows": lambda p: p.adjustments.sum().fill_null(0),
        "unapplied_cash": lambda p: money_sum(p.unapplied),
        "due_invoices": lambda p: _count(p.due),
        "due_paid_invoices": lambda p: _count(p.due & p.fully_paid),
        "due_amount": lambda p: money_sum(p.amount, where=p.due),
        "due_paid_amount": lambda p: money_sum(p.amount, where=p.due & p.fully_paid),
    }
    for i in range(len(buckets) + 1):
        out[f"aging_{i}"] = lambda p, i=i: money_sum(p.open_amount, where=p.bucket == i)
    return out


def _f(value: ir.Value) -> ir.FloatingValue:
    return value.cast("float64")


def _ratio(num: ir.Value, den: ir.Value, scale: float = 1.0) -> ir.FloatingValue:
    """``num / den * scale``; NULL when ``den`` is not positive."""
    return ibis.ifelse(den > 0, _f(num) / _f(den) * scale, ibis.null("float64"))


@dataclass(frozen=True)
class Kpi:
    """One KPI: its key (in kpis.json and in the registry, :mod:`arinsight.kpis`, which holds its
    label, unit, good direction, definition and n/a reason) and its formula over the measures of
    one region (columns of :func:`measures` plus late_days, late_invoices, countback_dso,
    customers_over_credit_limit and the commission sums)."""

    key: str
    formula: Callable[[ir.Table, AsOf], ir.Value]


def _cei(m: ir.Table, w: AsOf) -> ir.Value:
    """(AR(begin) + sales / months - adjusted - AR(T)) / (AR(begin) + sales / months - adjusted
    - current AR(T)) x 100, ``adjusted`` being what write-offs, credit notes and adjustments
    took off open AR in the period: they are not collected (for a month, the numerator is the
    cash that reduced open AR, the denominator that plus overdue AR at T)."""
    current = _f(m.open_ar) - _f(m.overdue_ar)
    base = _f(m.open_ar_begin) + _f(m.credit_sales) / months_of(w) - _f(m.adjusted)
    den = base - current
    return ibis.ifelse(den > 0, (base - _f(m.open_ar)) / den * 100, ibis.null("float64"))


def _turnover(m: ir.Table, w: AsOf, scale: float) -> ir.Value:
    avg = (_f(m.open_ar_begin) + _f(m.open_ar)) / 2
    return ibis.ifelse(
        (m.credit_sales > 0) & (avg > 0), _f(m.credit_sales) / avg * scale, ibis.null("float64")
    )


_RECEIVABLES: tuple[Kpi, ...] = (
    Kpi("credit_sales", lambda m, w: m.credit_sales),
    Kpi("total_revenue", lambda m, w: m.credit_sales),
    Kpi("collections", lambda m, w: m.collections),
    Kpi("open_ar", lambda m, w: m.open_ar),
    Kpi("open_ar_begin", lambda m, w: m.open_ar_begin),
    Kpi("current_ar", lambda m, w: m.open_ar - m.overdue_ar),
    Kpi("overdue_ar", lambda m, w: m.overdue_ar),
    Kpi("overdue_amount", lambda m, w: m.overdue_ar),
    Kpi("overdue_invoices", lambda m, w: m.overdue_invoices),
    Kpi("dso", lambda m, w: _ratio(m.open_ar, m.credit_sales, days_of(w))),
    Kpi("countback_dso", lambda m, w: m.countback_dso),
    Kpi("best_possible_dso", lambda m, w: _ratio(m.open_ar - m.overdue_ar, m.credit_sales, days_of(w))),
    Kpi("average_days_delinquent", lambda m, w: _ratio(m.overdue_ar, m.credit_sales, days_of(w))),
    Kpi("cei", _cei),
    Kpi("ar_turnover", lambda m, w: _turnover(m, w, 1.0)),
    Kpi("ar_turnover_annualised", lambda m, w: _turnover(m, w, 365.0 / days_of(w))),
    Kpi("customers_over_credit_limit", lambda m, w: m.customers_over_credit_limit),
    Kpi("average_days_late", lambda m, w: _ratio(m.late_days, m.late_invoices)),
    Kpi("payment_completion_rate_count", lambda m, w: _ratio(m.due_paid_invoices, m.due_invoices, 100.0)),
    Kpi("payment_completion_rate_amount", lambda m, w: _ratio(m.due_paid_amount, m.due_amount, 100.0)),
    Kpi("paid_to_billed_rate", lambda m, w: _ratio(m.paid_capped, m.billed, 100.0)),
    Kpi("unapplied_cash", lambda m, w: m.unapplied_cash),
    Kpi("credit_balances", lambda m, w: m.credit_balances),
    Kpi("write_offs", lambda m, w: m.write_offs),
    Kpi("credit_notes", lambda m, w: m.credit_notes),
)  # fmt: skip

#: The KPIs of the adjustments table: null for a selection without any adjustment.
ADJUSTMENT_KPIS: tuple[str, ...] = ("write_offs", "credit_notes")

_COMMISSIONS: tuple[Kpi, ...] = (
    Kpi("total_accrued_commissions", lambda m, w: m.com_outstanding),
    Kpi("commissions_paid_mtd", lambda m, w: m.com_paid),
    Kpi("commissions_earned", lambda m, w: m.com_earned),
    Kpi("average_commission_rate", lambda m, w: _ratio(m.com_earned, m.credit_sales, 100.0)),
)  # fmt: skip

#: Every KPI of a region, by kpis.json key (aging is returned apart, as a mapping).
KPIS: dict[str, Kpi] = {k.key: k for k in _RECEIVABLES + _COMMISSIONS}
RECEIVABLES: tuple[str, ...] = tuple(k.key for k in _RECEIVABLES)
COMMISSIONS: tuple[str, ...] = tuple(k.key for k in _COMMISSIONS)
