"""The clean ledger as the analysis notebooks see it: processed tables, regions and periods.

``load_processed`` reads ``data/processed/<table>.parquet`` (written by ``clean``); a table the
dataset does not have comes back empty with the canonical columns, so KPIs that need it become
n/a instead of failing. ``select_region`` narrows every table to one region's customers.
``period_bounds`` turns ``YYYY-MM`` (a month), ``YYYY-Qn`` (a quarter) or ``YYYY`` (a year) into
its first and last day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from arinsight import config
from arinsight.schemas import CANONICAL, empty_table

ALL_REGIONS = "All"
TABLES = tuple(CANONICAL)


@dataclass(frozen=True)
class Period:
    """A reporting period P = [start, end], both dates inclusive; T = ``end``."""

    label: str
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def days(self) -> int:
        """Number of days in P (31 for October, 92 for Q3)."""
        return int((self.end - self.start).days) + 1

    @property
    def months(self) -> int:
        """Number of calendar months in P (1 for a month, 3 for a quarter, 12 for a year)."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        if re.fullmatch(r"\d{4}-\d{2}", self.label):
            return period_bounds((self.start - pd.offsets.MonthBegin(1)).strftime("%Y-%m"))
        if re.fullmatch(r"\d{4}-Q[1-4]", self.label):
            prev = self.start - pd.offsets.QuarterBegin(1, startingMonth=1)
            return period_bounds(f"{prev.year}-Q{(prev.month - 1) // 3 + 1}")
        if re.fullmatch(r"\d{4}", self.label):
            return period_bounds(str(self.start.year - 1))
        raise ValueError(f"period {self.label!r}: no previous period")


def period_bounds(period: str) -> Period:
    """Parse ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY`` into a :class:`Period` (first and last day)."""
    text = str(period).strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"period {period!r}: month must be 01-12")
        start = pd.Timestamp(year=year, month=month, day=1)
        return Period(text, start, start + pd.offsets.MonthEnd(0))
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        start = pd.Timestamp(year=int(m[1]), month=3 * int(m[2]) - 2, day=1)
        return Period(text, start, start + pd.offsets.QuarterEnd(0))
    if re.fullmatch(r"\d{4}", text):
        start = pd.Timestamp(year=int(text), month=1, day=1)
        return Period(text, start, pd.Timestamp(year=int(text), month=12, day=31))
    raise ValueError(f"period {period!r}: expected YYYY-MM, YYYY-Qn or YYYY")


def isin(values: pd.Series, allowed) -> pd.Series:
    """``values.isin(allowed)`` for id columns, through Arrow's hash kernel.

    pandas 3's ``isin`` on string columns is ~20x slower on a million ids. Ids are compared as
    text; nulls are never "in".
    """
    allowed = allowed if isinstance(allowed, pd.Series) else pd.Series(list(allowed), dtype=object)
    value_set = pa.array(_id_text(allowed.dropna()), type=pa.large_string(), from_pandas=True)
    arr = pa.array(_id_text(values), type=pa.large_string(), from_pandas=True)
    hit = pc.is_in(arr, value_set=value_set, skip_nulls=True).fill_null(False)
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values[key]`` for each key (NaN/NaT where absent), typed like ``values`` even when empty
    (``Series.map`` loses the dtype on empty input). ``values`` must have a unique index."""
    return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index)


def _id_text(s: pd.Series):
    text = s if pd.api.types.is_string_dtype(s) else s.astype(str).where(s.notna())
    return text.to_numpy(dtype=object, na_value=None)


def load_processed(processed_dir: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Read every canonical table from ``processed_dir`` (default ``data/processed``)."""
    folder = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        path = folder / f"{table}.parquet"
        tables[table] = pd.read_parquet(path) if path.exists() else empty_table(table)
    return tables


def select_region(tables: dict[str, pd.DataFrame], region: str) -> dict[str, pd.DataFrame]:
    """Every table narrowed to the customers of ``region`` ("All" returns the tables unchanged).

    Invoices and payments follow their customer's region; commissions follow their invoice;
    sales reps are kept whole (a rep may sell in several regions). An unknown region gives
    empty tables, not an error, so an empty region reports n/a KPIs.
    """
    if region in (None, "", ALL_REGIONS):
        return dict(tables)
    customers = tables["customers"]
    keep = customers[customers["region"] == region]
    ids = keep["customer_id"]
    out = dict(tables)
    out["customers"] = keep.reset_index(drop=True)
    out["invoices"] = tables["invoices"][isin(tables["invoices"]["customer_id"], ids)].reset_index(
        drop=True
    )
    out["payments"] = tables["payments"][isin(tables["payments"]["customer_id"], ids)].reset_index(
        drop=True
    )
    inv_ids = out["invoices"]["invoice_id"]
    out["commissions"] = tables["commissions"][
        isin(tables["commissions"]["invoice_id"], inv_ids)
    ].reset_index(drop=True)
    return out


def regions_of(tables: dict[str, pd.DataFrame]) -> list[str]:
    """The regions present in the customer table, sorted (nulls left out)."""
    return sorted(tables["customers"]["region"].dropna().unique().tolist())
