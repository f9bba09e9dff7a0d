"""The clean ledger as the analysis notebooks see it: processed tables, regions and periods.

``load_processed`` reads ``data/processed/<table>.parquet`` (written by ``clean``); a table the
dataset does not have comes back empty with the canonical columns, so KPIs that need it become
n/a instead of failing. ``select_region`` narrows every table to one region's customers.
Periods, as-of dates and the region check live in :mod:`arinsight.periods` (``Period``,
``period_bounds``, ``ALL_REGIONS`` and ``UnknownRegion`` are importable from here too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from arinsight import config
from arinsight.config import region_dir as region_dir  # its home is config (paths)
from arinsight.periods import (  # noqa: F401 (their home is periods; importable from here)
    ALL_REGIONS,
    Period,
    UnknownRegion,
    check_region,
    period_bounds,
)
from arinsight.schemas import CANONICAL, empty_table

TABLES = tuple(CANONICAL)


def isin(values: pd.Series, allowed) -> pd.Series:
    """``values.isin(allowed)`` for id columns, through Arrow's hash kernel.

    pandas 3's ``isin`` on string columns is ~20x slower on a million ids. Ids are compared as
    text; nulls are never "in".
    """
    allowed = allowed if isinstance(allowed, pd.Series) else pd.Series(list(allowed), dtype=object)
    value_set = _id_arrow(allowed.dropna())
    arr = _id_arrow(values)
    hit = pc.is_in(arr, value_set=value_set, skip_nulls=True).fill_null(False)
    return pd.Series(hit.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def lookup(keys: pd.Series, values: pd.Series, at: np.ndarray | None = None) -> pd.Series:
    """``values[key]`` for each key (NaN/NaT where absent), typed like ``values`` even when empty
    (``Series.map`` loses the dtype on empty input). ``values`` must have a unique index.
    ``at``: the keys' :func:`positions` in ``values.index`` when already known (several columns
    looked up by the same keys)."""
    pos = positions(keys, values.index) if at is None else at
    if pos is None:  # keys that are not all text: pandas matches them
        return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index)
    taken = values.reset_index(drop=True).reindex(pos)  # position -1: missing, as reindex fills
    text = isinstance(taken.dtype, pd.StringDtype) and taken.dtype.na_value is np.nan
    if text and taken.notna().any():  # text stays Arrow text (what the round trip below gives)
        return pd.Series(taken.array, index=keys.index)
    return pd.Series(taken.to_numpy(), index=keys.index)


def positions(keys: pd.Series, index: pd.Index, *, unique: bool = False) -> np.ndarray | None:
    """The position of each key in ``index`` (-1 where absent or missing), matched as text by
    Arrow's hash kernel, which is many times faster than pandas' ``get_indexer`` on a million
    string ids. None when keys or index are not all text, or the index has missing values; a
    repeated index value is an error, as for ``Series.reindex``, unless the caller vouches with
    ``unique=True`` that there is none (the keys of a clean table), which skips that check."""
    if not (_all_text(keys) and _all_text(index)) or index.hasnans:
        return None
    value_set = _arrow_text(index)
    if not unique and len(pc.unique(value_set)) != len(value_set):  # (count_distinct: 2x slower)
        raise ValueError("cannot reindex on an axis with duplicate labels")
    arr = _arrow_text(keys)
    found = pc.index_in(arr, value_set=value_set).fill_null(-1)
    return found.to_numpy(zero_copy_only=False).astype("int64")


def _arrow_text(values: pd.Series | pd.Index) -> pa.Array:
    data = values.to_numpy(dtype=object) if values.dtype == object else values.array
    return pa.array(data, type=pa.large_string(), from_pandas=True)


def _all_text(values: pd.Series | pd.Index) -> bool:
    if isinstance(values.dtype, pd.StringDtype):
        return True
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in (
        "string",
        "empty",
    )


def _id_arrow(s: pd.Series) -> pa.Array:
    """Ids as Arrow text (a text column as it is, without a Python object per value)."""
    if isinstance(s.dtype, pd.StringDtype):
        return pa.array(s.array, type=pa.large_string(), from_pandas=True)
    return pa.array(_id_text(s), type=pa.large_string(), from_pandas=True)


def _id_text(s: pd.Series):
    text = s if pd.api.types.is_string_dtype(s) else s.astype(str).where(s.notna())
    return text.to_numpy(dtype=object, na_value=None)


def load_processed(
    processed_dir: str | Path | None = None, only: Sequence[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Read every canonical table from ``processed_dir`` (default ``data/processed``); with
    ``only``, just those tables (the others are empty tables with the canonical columns)."""
    folder = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    tables: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        path = folder / f"{table}.parquet"
        wanted = only is None or table in only
        tables[table] = read_table(path) if path.exists() and wanted else empty_table(table)
    return tables


class FolderTables(Mapping[str, pd.DataFrame]):
    """The canonical tables of a folder of ``<table>.parquet`` files, read by ``read`` when asked
    for: each access reads the file, so whoever works through the tables one by one (clean) holds
    each only while it works on it. Ingest's interim tables read with ``pd.read_parquet``, the
    tables clean wrote with :func:`read_table`."""

    def __init__(self, folder: Path, read: Callable[[Path], pd.DataFrame]):
        self.folder, self.read = folder, read

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in TABLES:
            raise KeyError(table)
        return self.read(self.folder / f"{table}.parquet")

    def __iter__(self) -> Iterator[str]:
        return iter(TABLES)

    def __len__(self) -> int:
        return len(TABLES)


def read_table(path: str | Path) -> pd.DataFrame:
    """One processed parquet file as pandas (see :func:`arrow_to_frame`)."""
    import pyarrow.parquet as pq

    return arrow_to_frame(pq.read_table(path))


def arrow_to_frame(arrow: pa.Table, cents: bool | Sequence[str] = True) -> pd.DataFrame:
    """An Arrow table as pandas: money (decimal(18, 2)) as float64 amounts plus their exact cents
    in ``_cents_<column>`` (``cents``: True for every money column, False for none, or the
    names of the money columns that need them); everything else as written. The table is
    consumed column by column (``self_destruct``), so a large one is not held twice."""
    from arinsight.money import cents_of

    decimals = [f.name for f in arrow.schema if pa.types.is_decimal(f.type)]
    wanted = decimals if cents is True else [] if cents is False else [
        name for name in decimals if name in set(cents)
    ]  # fmt: skip
    exact = {name: cents_of(arrow.column(name)).to_numpy() for name in wanted}
    for name in decimals:
        i = arrow.schema.get_field_index(name)
        arrow = arrow.set_column(i, name, arrow.column(name).cast(pa.float64()))
    df = arrow.to_pandas(self_destruct=True, split_blocks=True)
    del arrow
    for name, values in exact.items():
        df[f"_cents_{name}"] = values
    return df


def select_region(tables: dict[str, pd.DataFrame], region: str) -> dict[str, pd.DataFrame]:
    """Every table narrowed to ``region`` ("All" returns the tables unchanged).

    Invoices are selected by the region they are reported under (``invoices.region``: the
    customer's region, or the invoice row's own with ``segment_by: invoice``; where it is missing,
    the customer's region). Payments applied to an invoice follow that invoice;
    unapplied cash (no invoice, or an invoice not in the ledger) follows its customer's region.
    Customers are those of the region's master data plus any customer with an invoice in it;
    commissions and adjustments follow their invoice; sales reps are kept whole (a rep may sell in several
    regions). A region of the customer data without invoices gives empty tables (its KPIs are
    n/a); a region that is not in the data at all (a typo such as "Westt") is an
    :class:`UnknownRegion` error naming the regions there are.
    """
    if region in (None, "", ALL_REGIONS):
        return dict(tables)
    check_region(region, regions_of(tables))
    customers = tables["customers"]
    invoices = tables["invoices"]
    payments = tables["payments"]
    home = customers.loc[customers["region"] == region, "customer_id"]
    in_home = isin(invoices["customer_id"], home)
    if "region" in invoices.columns:  # the invoice's own segment; the customer's where missing
        own = invoices["region"]
        in_region = (own == region).fillna(False).astype(bool) | (own.isna() & in_home)
        inv = invoices[in_region.to_numpy(dtype=bool)]
    else:
        inv = invoices[in_home]
    out = dict(tables)
    out["invoices"] = inv.reset_index(drop=True)
    ids = pd.concat([home, inv["customer_id"]], ignore_index=True)
    out["customers"] = customers[isin(customers["customer_id"], ids)].reset_index(drop=True)
    applied_here = isin(payments["invoice_id"], inv["invoice_id"])
    unapplied = ~isin(payments["invoice_id"], invoices["invoice_id"])
    keep = applied_here | (unapplied & isin(payments["customer_id"], home))
    out["payments"] = payments[keep].reset_index(drop=True)
    if "commissions" in tables:
        com = tables["commissions"]
        out["commissions"] = com[isin(com["invoice_id"], inv["invoice_id"])].reset_index(drop=True)
    if "adjustments" in tables:
        adj = tables["adjustments"]
        out["adjustments"] = adj[isin(adj["invoice_id"], inv["invoice_id"])].reset_index(drop=True)
    return out


def check_region_dirs(regions: list[str]) -> None:
    """Refuse regions whose folders would clash on a case-insensitive file system ("North" and
    "north"): one region's report would replace the other's."""
    seen: dict[str, str] = {}
    for region in regions:
        key = region_dir(region).casefold()
        if key in seen and seen[key] != region:
            raise ValueError(
                f"regions {seen[key]!r} and {region!r} differ only in case; their reports "
                "would share a folder on Windows and macOS: map one of them to another name "
                "with `values:` in the sources file"
            )
        seen[key] = region


def regions_of(tables: dict[str, pd.DataFrame]) -> list[str]:
    """The regions present in the ledger, sorted (nulls left out): every region an invoice is
    reported under and every region of the customer master data."""
    found = set(tables["customers"]["region"].dropna().astype(str))
    invoices = tables.get("invoices")
    if invoices is not None and "region" in invoices.columns:
        found |= set(invoices["region"].dropna().astype(str))
    return sorted(found)
