"""Where clean tables go once final: sorted, typed and validated by their pandera schema, then
written as ``<table>.parquet`` (money as exact decimals) with the quarantine and
``data_quality.json``."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandera.errors import SchemaErrors

from arinsight import config, money, schemas
from arinsight.clean.currency import money_columns
from arinsight.clean.result import CleanResult
from arinsight.errors import CleaningError
from arinsight.files import fingerprint, write_json
from arinsight.ingest import parallel_writes
from arinsight.ingest.parse import cents_column
from arinsight.ledger import FolderTables, read_table
from arinsight.schemas import (
    CANONICAL,
    DATE_COLUMNS,
    KEYS,
)

_VALIDATING = threading.Lock()


def finish_table(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order, clean dtypes, sorted by key, validated by the pandera schema; the
    exact cents of the money columns follow (``_cents_<column>``)."""
    cols = CANONICAL[table] + schemas.FLAGS.get(table, []) + schemas.CONVERTED.get(table, [])
    cents = [cents_column(c) for c in money_columns(table)]
    out = df[cols + cents]
    for c in schemas.NUMBER_COLUMNS[table]:
        out[c] = out[c].astype("float64")
    for c in money_columns(table):
        out[c] = out[cents_column(c)].astype("float64") / 100
    for c in schemas.BOOL_COLUMNS.get(table, []):
        out[c] = out[c].fillna(False).astype(bool)
    for c in DATE_COLUMNS[table]:
        out[c] = out[c].astype("datetime64[us]")
    out = out.sort_values(KEYS[table], kind="stable").reset_index(drop=True)
    try:
        with _VALIDATING:  # pandera's validation is not safe to run on several threads at once
            valid = schemas.validate(table, out[cols])
    except SchemaErrors as exc:  # the rules above should make this impossible: say where
        first = exc.failure_cases.iloc[0]
        raise CleaningError(
            f"{table}: a kept row breaks the clean schema (column {first['column']!r}, check "
            f"{first['check']!r}, value {first['failure_case']!r}); please report this"
        ) from None
    for c in cents:
        valid[c] = out[c].to_numpy()
    return valid


class Finals:
    """Where each table goes once its rows are final: sorted and validated (:func:`finish_table`), then
    kept in memory, or, with ``folder``, written to ``<folder>/<table>.parquet`` at once and let
    go, so a large ledger is never held whole twice (:class:`~arinsight.ledger.FolderTables` reads it back)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.kept: dict[str, pd.DataFrame] = {}
        self.rows: dict[str, int] = {}

    def add(self, table: str, df: pd.DataFrame) -> None:
        final = finish_table(table, df)
        self.rows[table] = len(final)
        if self.folder is None:
            self.kept[table] = final
        else:
            pq.write_table(processed_table(table, final), self.folder / f"{table}.parquet")

    def tables(self) -> Mapping[str, pd.DataFrame]:
        return self.kept if self.folder is None else FolderTables(self.folder, read_table)


def processed_table(table: str, df: pd.DataFrame) -> pa.Table:
    """A clean table as written to ``<table>.parquet``: money as exact decimal(18, 2) built from
    the cents (no ``_cents_`` column), everything else as cleaned."""
    cents = {c: cents_column(c) for c in money_columns(table) if cents_column(c) in df}
    arrow = pa.Table.from_pandas(df.drop(columns=list(cents.values())), preserve_index=False)
    for col, cc in cents.items():
        arrow = arrow.set_column(
            arrow.schema.get_field_index(col), col, money.decimal_array(df[cc])
        )
    return arrow


def write_processed(result: CleanResult, processed_dir: str | Path | None = None) -> Path:
    """Write clean tables, quarantine.parquet and data_quality.json to ``processed_dir``. Tables
    :func:`clean` already wrote (``write_to``) are moved in from its staging folder, each file
    replaced at once; written to another folder, they are copied."""
    folder = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    staged = result.tables.folder if isinstance(result.tables, FolderTables) else None

    def write(table: str) -> None:
        pq.write_table(processed_table(table, result.tables[table]), folder / f"{table}.parquet")

    if staged is not None and staged.parent == folder:
        for table in CANONICAL:
            os.replace(staged / f"{table}.parquet", folder / f"{table}.parquet")
        staged.rmdir()
        result.tables = FolderTables(folder, read_table)
        writes = []
    else:
        writes = [partial(write, table) for table in result.tables]
    parallel_writes(
        writes + [partial(result.quarantine.to_parquet, folder / "quarantine.parquet", index=False)]
    )
    # what the engine checks before it reads them (arinsight.engine.checks)
    result.summary["files"] = {
        f"{t}.parquet": fingerprint(folder / f"{t}.parquet") for t in CANONICAL
    }
    return write_json(folder / "data_quality.json", result.summary)


def write_quality_report(
    result: CleanResult, period: str, output_dir: str | Path | None = None
) -> Path:
    """Write ``data_quality.json`` for the period's report (default ``reports/<period>/All``)."""
    folder = config.resolve_path(output_dir) if output_dir else config.REPORTS_DIR / period / "All"
    folder.mkdir(parents=True, exist_ok=True)
    return write_json(folder / "data_quality.json", {"period": period, **result.summary})
