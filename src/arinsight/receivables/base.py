"""What every part of Receivables Health shares: the page's KPI keys and their registry
views (direction, unit, label), half a cent, and the small checks and date helpers (a period,
required columns, month ends; an as-of date is :func:`arinsight.periods.as_date`'s)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from arinsight import kpis as kpi_registry
from arinsight.engine.results import DEFAULT_BUCKETS
from arinsight.ledger import Period, period_bounds

#: Half a cent: amounts are in cents, so a remaining balance below this is zero.
EPS = 0.005


DEFAULT_AGING_BUCKETS: tuple[int, ...] = DEFAULT_BUCKETS


#: Which way is good for each KPI (``compare`` uses it for the trend assessment), the unit and the
#: readable name of each KPI: views of the one registry, :mod:`arinsight.kpis`.
KPI_DIRECTION: dict[str, str] = kpi_registry.directions()


#: The scalar KPIs of a Receivables Health page (besides period, as_of and the aging mapping).
RECEIVABLES_KEYS: tuple[str, ...] = (
    "credit_sales",
    "total_revenue",
    "collections",
    "open_ar",
    "open_ar_begin",
    "current_ar",
    "overdue_ar",
    "overdue_amount",
    "overdue_invoices",
    "dso",
    "countback_dso",
    "best_possible_dso",
    "average_days_delinquent",
    "cei",
    "ar_turnover",
    "ar_turnover_annualised",
    "customers_over_credit_limit",
    "average_days_late",
    "payment_completion_rate_count",
    "payment_completion_rate_amount",
    "paid_to_billed_rate",
    "unapplied_cash",
    "credit_balances",
    "write_offs",
    "credit_notes",
)


KPI_UNITS: dict[str, str] = kpi_registry.units()


KPI_LABELS: dict[str, str] = kpi_registry.labels()


def as_period(period: Period | str) -> Period:
    """A :class:`~arinsight.ledger.Period` from a Period or a ``YYYY-MM`` / ``YYYY-Qn`` / ``YYYY`` label."""
    return period if isinstance(period, Period) else period_bounds(period)


def require_columns(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """The check every table function of the package makes on its input: ``df`` is a DataFrame
    (else TypeError) holding ``columns`` (else ValueError naming ``name`` and the missing ones)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name}: expected a DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def month_ends(t: pd.Timestamp, months: int) -> pd.DatetimeIndex:
    """The last ``months`` month ends up to T's month (2026-10-15, 3 -> Aug 31, Sep 30, Oct 31)."""
    if int(months) < 1:
        raise ValueError(f"trailing_months: expected at least 1, got {months!r}")
    last = t + pd.offsets.MonthEnd(0)
    return pd.date_range(end=last, periods=int(months), freq="ME").normalize()
