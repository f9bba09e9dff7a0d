"""The dates of one report (P, T, begin) and how a period label or a date becomes them.

Free of the query layer, so the command line can parse its arguments (and run a compiled plan)
without importing Ibis.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from arinsight.periods import as_date as as_date  # the one coercer (importable from here)
from arinsight.periods import parse


@dataclass(frozen=True)
class AsOf:
    """The dates of one report: P = [start, end]; T = ``as_of`` (start <= T <= end).

    Balances are measured at the end of day T, flows cover ``start .. T``; ``begin`` is the day
    before P starts (AR(begin) = the opening balance); ``days`` = days from start to T inclusive;
    ``months`` = calendar months from start to T (the CEI convention divides sales by it).
    """

    start: dt.date
    end: dt.date
    as_of: dt.date

    def __post_init__(self) -> None:
        if not self.start <= self.as_of <= self.end:
            raise ValueError(
                f"as_of {self.as_of.isoformat()}: must lie in the period "
                f"{self.start.isoformat()} .. {self.end.isoformat()}"
            )

    @property
    def begin(self) -> dt.date:
        return self.start - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.as_of - self.start).days + 1

    @property
    def months(self) -> int:
        return (self.as_of.year - self.start.year) * 12 + self.as_of.month - self.start.month + 1


def period_window(label: str, as_of: Any = None) -> AsOf:
    """The :class:`AsOf` of a period label ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY`` (T = ``as_of``,
    default the period's last day; :func:`arinsight.periods.parse`, without pandas)."""
    _, start, end = parse(label)
    t = end if as_of is None else as_date(as_of)
    return AsOf(start, end, t)


def window_of(period: Any, as_of: Any = None) -> tuple[AsOf, str]:
    if isinstance(period, str):
        return period_window(period, as_of), period.strip()
    end = period.full_end.date() if hasattr(period, "full_end") else period.end.date()
    t = period.end if as_of is None else as_of
    return AsOf(period.start.date(), end, as_date(t)), period.label
