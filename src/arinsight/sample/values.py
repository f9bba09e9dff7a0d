"""Values: the sample's day numbers, dates, ids and amounts (what every table of it is built from)."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The "day" of an event that never happens (an invoice never settled).
NEVER = np.iinfo(np.int64).max // 4


def day_number(ts: pd.Timestamp | str) -> int:
    """Day number (days since 1970-01-01) of a date."""
    return int(np.datetime64(pd.Timestamp(ts).date(), "D").astype(np.int64))


def to_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers -> datetime64[us] (the clean dtype)."""
    return days.astype("datetime64[D]").astype("datetime64[us]")


def iso_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers -> 'YYYY-MM-DD' text."""
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)


def ids_of(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """'PREFIX' + zero-padded number, e.g. INV-0000042."""
    text = pd.Series(numbers, dtype="int64").astype(str).str.zfill(width)
    return (prefix + text).to_numpy(dtype=object)


def amounts(cents: np.ndarray) -> np.ndarray:
    """Integer cents -> float amount with 2 decimals."""
    return np.round(cents / 100.0, 2)
