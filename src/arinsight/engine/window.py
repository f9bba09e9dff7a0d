"""The dates of one report (P, T, begin) and how a period label or a date becomes them.

Free of the query layer, so the command line can parse its arguments (and run a compiled plan)
without importing Ibis.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any


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
    default the period's last day), parsed without pandas so the command line starts fast."""
    text = str(label).strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"period {label!r}: month must be 01-12")
        first, last = (year, month), (year, month)
    elif m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, q = int(m[1]), int(m[2])
        first, last = (year, 3 * q - 2), (year, 3 * q)
    elif re.fullmatch(r"\d{4}", text):
        first, last = (int(text), 1), (int(text), 12)
    else:
        raise ValueError(f"period {label!r}: expected YYYY-MM, YYYY-Qn or YYYY")
    start = dt.date(first[0], first[1], 1)
    end = dt.date(last[0], last[1], calendar.monthrange(last[0], last[1])[1])
    t = end if as_of is None else as_date(as_of)
    return AsOf(start, end, t)


def window_of(period: Any, as_of: Any = None) -> tuple[AsOf, str]:
    if isinstance(period, str):
        return period_window(period, as_of), period.strip()
    end = period.full_end.date() if hasattr(period, "full_end") else period.end.date()
    t = period.end if as_of is None else as_of
    return AsOf(period.start.date(), end, as_date(t)), period.label


def as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValueError(f"as_of: {value!r} is not a date (YYYY-MM-DD)") from None
