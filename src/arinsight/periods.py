"""Periods, as-of dates and regions: the one home for what a run is about.

- :func:`parse`: the one parser of period labels, ``YYYY-MM`` (a month), ``YYYY-Qn`` (a quarter)
  or ``YYYY`` (a year), into the label and its first and last day (no pandas, so the command line
  starts fast); :data:`LABEL` is the same grammar as a pattern, for argument checks;
- :class:`Period` (:func:`period_bounds`): a reporting period P = [start, end] and its as-of
  snapshots, as the notebooks, the runner and the site use it; the engine keeps its own
  :class:`arinsight.engine.window.AsOf` of plain dates, built by the same parser;
- :func:`as_date`: the one coercer of an as-of value (a date, a datetime or Timestamp, a
  ``YYYY-MM-DD`` text, a :class:`Period`: its T) to a calendar date;
- :func:`iso_day`: the one strict check of a date a user writes in a parameter or a rates file
  (``YYYY-MM-DD``, a real day), as text, a :class:`~arinsight.errors.ConfigError` naming where;
- :func:`check_region`: the one check that a region asked for is in the data
  (:class:`UnknownRegion` names the regions there are).

This module imports nothing of ours but :mod:`arinsight.errors`, and pandas only inside the
:class:`Period` methods that need it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arinsight.errors import ConfigError, UserError

if TYPE_CHECKING:
    import pandas as pd

#: The region every page has: the whole ledger.
ALL_REGIONS = "All"

#: A period label: ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY`` (use with ``fullmatch``).
LABEL = re.compile(r"\d{4}-(0[1-9]|1[0-2])|\d{4}-Q[1-4]|\d{4}")


class UnknownRegion(UserError):
    """A region asked for that is not in the data."""


def parse(label: Any) -> tuple[str, dt.date, dt.date]:
    """``(label, first day, last day)`` of a period label (surrounding blanks removed); a
    ValueError names the label and the forms accepted."""
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
    return text, start, end


def as_date(value: Any, what: str = "as_of") -> dt.date:
    """An as-of value as a calendar date: a date; a datetime or pandas Timestamp (its day); a
    :class:`Period` (its T); a text ``YYYY-MM-DD`` (anything after the tenth character, such as
    `` 00:00:00``, is ignored). None, a blank or anything else is a ValueError naming ``what``
    and the value."""
    if isinstance(value, Period):
        return value.end.date()
    if isinstance(value, dt.datetime):
        if value != value:  # NaT
            raise ValueError(f"{what}: a date is required")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{what}: a date is required")
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def iso_day(value: Any, where: str) -> str:
    """A date written in a parameter or a file as ``YYYY-MM-DD`` text: a date; a datetime (its
    day, whatever its time: :func:`arinsight.config.day_of` rejects a time of day first where a
    balance is measured); a text that is exactly ``YYYY-MM-DD`` and a real day (2026-11-31 is
    not). Anything else is a ConfigError naming ``where`` and the value."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def check_region(region: str, known: Iterable[str]) -> None:
    """Raise :class:`UnknownRegion` unless ``region`` is "All" or one of ``known``."""
    known = [str(r) for r in known if r != ALL_REGIONS]
    if region != ALL_REGIONS and region not in known:
        raise UnknownRegion(
            f"region {region!r} is not in the data (regions in the data: "
            f"{', '.join(known) or 'none'})"
        )


@dataclass(frozen=True)
class Period:
    """A reporting period P = [start, end], both dates inclusive; T = ``end``.

    A *snapshot* (``as_of`` before the period's last day, see :meth:`at`) ends at the as-of date:
    balances are measured at T = as_of and flows cover ``start`` .. T; ``period_end`` keeps the
    full period's last day.
    """

    label: str
    start: pd.Timestamp
    end: pd.Timestamp
    period_end: pd.Timestamp | None = None

    @property
    def days(self) -> int:
        """Number of days in P up to T (31 for October, 92 for Q3, 15 for October as of the 15th)."""
        return int((self.end - self.start).days) + 1

    @property
    def months(self) -> int:
        """Number of calendar months in P up to T (1 for a month, 3 for a quarter, 12 for a year)."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @property
    def full_end(self) -> pd.Timestamp:
        """The last day of the whole period (``end`` unless this is a snapshot)."""
        return self.period_end if self.period_end is not None else self.end

    @property
    def is_snapshot(self) -> bool:
        return self.end < self.full_end

    def at(self, as_of) -> Period:
        """This period measured at ``as_of`` (a date within it; None = its last day)."""
        import pandas as pd

        if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
            return self
        t = pd.Timestamp(as_date(as_of))
        if not self.start <= t <= self.full_end:
            raise ValueError(
                f"as_of {t:%Y-%m-%d} is outside period {self.label} "
                f"({self.start:%Y-%m-%d} to {self.full_end:%Y-%m-%d})"
            )
        return Period(self.label, self.start, t, self.full_end if t < self.full_end else None)

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts; for a snapshot,
        that period measured the same number of days after its start (capped at its end)."""
        first = self.start.date()
        if re.fullmatch(r"\d{4}-\d{2}", self.label):
            y, m = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
            prev = period_bounds(f"{y}-{m:02d}")
        elif re.fullmatch(r"\d{4}-Q[1-4]", self.label):
            q = (first.month - 1) // 3 + 1
            prev = period_bounds(f"{first.year}-Q{q - 1}" if q > 1 else f"{first.year - 1}-Q4")
        elif re.fullmatch(r"\d{4}", self.label):
            prev = period_bounds(str(first.year - 1))
        else:
            raise ValueError(f"period {self.label!r}: no previous period")
        if self.is_snapshot:
            return prev.at(min(prev.start + (self.end - self.start), prev.end))
        return prev


def period_bounds(period: Any) -> Period:
    """Parse ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY`` into a :class:`Period` (first and last day, as
    pandas Timestamps at midnight)."""
    import pandas as pd

    label, start, end = parse(period)
    return Period(label, pd.Timestamp(start), pd.Timestamp(end))
