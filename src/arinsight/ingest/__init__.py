"""Ingest: read every source named in a sources file and map it onto the canonical tables.

A sources file (YAML) lists, per canonical table, where its rows come from and how its columns are
named there, so a user with their own export writes a mapping file, never code::

    reporting_currency: USD
    sources:
      invoices:
        kind: csv                      # csv | excel | sql | ubl
        path: invoices.csv             # relative to the sources file's folder
        delimiter: ";"                 # csv options: delimiter, encoding, decimal, thousands
        encoding: latin-1
        decimal: ","
        date_format: "%d.%m.%Y"        # strftime format of every date column (default ISO)
        on_bad_value: error            # error (default): stop at the first unreadable value
                                       # quarantine: keep the row for 02_clean to quarantine
        columns: {invoice_id: Rechnung, customer_id: Kunde, ...}   # canonical: source column
        values: {region: {N: North}}   # optional value mapping per canonical column
      customers: {kind: excel, path: crm.xlsx, sheet: customers, header_row: 1, columns: {...}}
      payments: {kind: sql, url: "sqlite:///{here}/ledger.sqlite", table: payments, columns: {...}}

Every option is documented with an example per export shape in ``docs/own-data.md``; the modules
of this package do the work:

* :mod:`~arinsight.ingest.sources` reads and checks the sources file (an unknown key is an error);
* :mod:`~arinsight.ingest.readers` reads each source (CSV, Excel, SQL, UBL 2.1 / PEPPOL XML)
  faithfully, with the row numbers a user sees, and keeps malformed CSV rows apart;
* :mod:`~arinsight.ingest.parse` and :mod:`~arinsight.ingest.canonical` map and parse the values
  strictly (money exact to the cent), marking or refusing what cannot be read;
* :mod:`~arinsight.ingest.flat` derives payments, customers and invoice segments from a flat
  export (one row per invoice).

Every file read is recorded with its sha256 in the ingest manifest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from arinsight import config
from arinsight.errors import SourceError
from arinsight.files import sha256_file, write_json
from arinsight.ingest.canonical import to_canonical
from arinsight.ingest.flat import (
    DATE_ASSUMED,
    DEFAULT_PAID_VALUES,
    UNDATED,
    derive_customers,
    derive_payments,
    invoice_segments,
)
from arinsight.ingest.readers import (
    UBL_DEFAULT_COLUMNS,
    UBL_FIELDS,
    RawTable,
    display_path,
    guess_header_row,
    one_pass,
    read_raw,
)
from arinsight.ingest.sources import (
    DERIVE_PAYMENT_KEYS,
    KINDS,
    SEGMENT_BY,
    SOURCE_KEYS,
    SOURCES_FILE_KEYS,
    read_sources,
)
from arinsight.ledger import FolderTables
from arinsight.schemas import CANONICAL

#: what write_interim writes beside the tables; its presence says the interim folder is complete
MANIFEST = "ingest_manifest.json"

__all__ = [
    "DATE_ASSUMED",
    "DEFAULT_PAID_VALUES",
    "DERIVE_PAYMENT_KEYS",
    "KINDS",
    "SEGMENT_BY",
    "SOURCES_FILE_KEYS",
    "SOURCE_KEYS",
    "UBL_DEFAULT_COLUMNS",
    "UBL_FIELDS",
    "UNDATED",
    "IngestResult",
    "derived_table",
    "files_table",
    "ingest",
    "load_source",
    "manifest_of",
    "read_interim",
    "read_sources",
    "regions_in_sources",
    "rows_read_table",
    "to_canonical",
    "write_interim",
]


@dataclass
class IngestResult:
    """The canonical tables as read (values parsed, bad values marked) and what was read from
    where."""

    tables: dict[str, pd.DataFrame]
    files: list[dict[str, Any]] = field(default_factory=list)
    derived: dict[str, str] = field(default_factory=dict)
    reporting_currency: str | None = None
    #: derive_customers: attribute -> {customers with conflicting values, invoice rows overruled}
    conflicts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: "customer" (default): invoices are reported under their customer's region, industry and
    #: type; "invoice": under the values of their own row (how BI tools slice flat exports).
    segment_by: str = "customer"
    #: exchange rates set in the sources file (they win over the parameters' fx_rates)
    fx_rates: dict[str, Any] = field(default_factory=dict)
    #: rows read per table, counted when each table was written (``ingest(write_to=...)``)
    rows: dict[str, int] | None = None
    #: the company codes to report (``company_codes`` in the sources file; None: every one)
    company_codes: list[str] | None = None

    @property
    def rows_read(self) -> dict[str, int]:
        if self.rows is not None:
            return dict(self.rows)
        return {t: int(len(df)) for t, df in self.tables.items()}

    @property
    def folder(self) -> Path | None:
        """Where the tables were written as they were read (``ingest(write_to=...)``), else None."""
        return self.tables.folder if isinstance(self.tables, FolderTables) else None


def load_source(
    table: str, src: dict[str, Any], base: Path
) -> tuple[pd.DataFrame, dict[str, Any], RawTable]:
    """Read one source and map it onto ``table``; returns (canonical frame, file record, raw).

    The first ``len(raw.frame)`` rows of the canonical frame are the raw rows in order; malformed
    CSV rows follow them."""
    raw = read_raw(table, src, base)
    if table == "invoices" and raw.frame.empty and not raw.malformed:
        raise SourceError(
            raw.info["name"], "no data rows (the file has a header only): no invoices to report"
        )
    try:
        df = to_canonical(table, raw.frame, src, raw.info["name"], raw.malformed)
    except SourceError as exc:
        raise _with_header_hint(exc, table, src, base) from exc
    return df, raw.info, raw


def _with_header_hint(exc: SourceError, table: str, src: dict[str, Any], base: Path):
    """A mapped column not found in a CSV or Excel header: when another of the first lines
    holds the mapped names (a title block above the header), the error says which line and the
    option that reads it (``header_row:``)."""
    text = str(exc)
    if src.get("kind") not in ("csv", "excel") or not (
        "not found; columns present" in text
        or "required column missing" in text
        or "field(s) but the header has" in text
    ):
        return exc
    wanted = {str(v) for v in (src.get("columns") or {}).values()}
    line = guess_header_row(config.resolve_path(src["path"], base), src, wanted)
    if line is None:
        return exc
    what = "line" if src.get("kind") == "csv" else "row"
    return SourceError(
        exc.source,
        f"{exc.message}; the header is on {what} {line} (the lines above it are a title "
        f"block): set `header_row: {line}` on this source",
        column=exc.column,
        row=exc.row,
    )


def ingest(
    sources_path: str | Path | None = None, write_to: str | Path | None = None
) -> IngestResult:
    """Read every source of the sources file into canonical tables (default: params' ``sources``).

    Memory: with ``write_to`` (a folder; the monthly run's interim folder) each table is written
    to ``<write_to>/<table>.parquet`` as soon as it is final and let go, and ``result.tables``
    reads the files back when asked (:class:`~arinsight.ledger.FolderTables`); with sources too
    large to read side by side (:data:`SIDE_BY_SIDE_BYTES`) they are read one after the other, so
    ingest holds one source at a time: its rows as read and as mapped, about 4.7 GB for the
    11.6M payments of the 10M-invoice sample. Without ``write_to`` every table stays in memory.
    """
    if sources_path is None:
        sources_path = config.load_params()["sources"]
    spec = read_sources(sources_path)
    base: Path = spec["_base"]
    out = _TableSink(config.resolve_path(write_to) if write_to is not None else None)
    files: list[dict[str, Any]] = []
    derived: dict[str, str] = {}
    conflicts: dict[str, dict[str, int]] = {}
    segment_by = spec.get("segment_by", "customer")
    # the invoices stay in memory only when the customers must be derived from them at the end
    customers_from_invoices = "customers" not in spec["sources"] and not (
        spec["sources"].get("invoices", {}).get("derive_customers")
    )
    with one_pass():  # a file providing several tables is hashed once
        for table, src, (df, info, raw) in _load_sources(spec["sources"], base):
            files.append(info)
            if table == "invoices":
                frame, name = raw.frame, info["name"]
                aligned = df.iloc[: len(frame)]
                if src.get("derive_payments"):
                    out.put(
                        "payments",
                        derive_payments(frame, aligned, src["derive_payments"], src, name),
                    )
                    derived["payments"] = f"derived from {name} (derive_payments)"
                if src.get("derive_customers"):
                    customers, conflicts = derive_customers(
                        aligned, frame, src["derive_customers"], name, src.get("values"), src
                    )
                    out.put("customers", customers)
                    derived["customers"] = f"derived from {name} (derive_customers)"
                    del customers
                if segment_by == "invoice":
                    df = pd.concat(
                        [invoice_segments(aligned, frame, src, name), df.iloc[len(frame) :]],
                        ignore_index=True,
                    )
                del frame, aligned
            out.put(table, df, keep=table == "invoices" and customers_from_invoices)
            del df, info, raw  # before the next source is read
    if spec.get("_fx_rates_file") is not None:
        files.append(rates_file_entry(spec["_fx_rates_file"], spec.get("fx_rates") or {}))
    if "invoices" not in out:
        raise SourceError(str(spec["_path"]), "no invoices source: an invoices table is required")
    if "customers" not in out:
        invoices = out.kept.pop("invoices")
        out.put("customers", derive_customers(invoices, invoices, {}, "derived")[0])
        out.put("invoices", invoices)
        del invoices
        derived["customers"] = (
            "derived from the invoices' distinct customer ids (no customers source)"
        )
    for table in CANONICAL:
        if table not in out:
            out.put(table, empty_ingested(table))
            derived.setdefault(table, "not provided (empty)")
    return IngestResult(
        out.tables(),
        files,
        derived,
        spec.get("reporting_currency"),
        conflicts,
        segment_by,
        dict(spec.get("fx_rates") or {}),
        rows=out.rows if out.folder is not None else None,
        company_codes=spec.get("company_codes"),
    )


class _TableSink:
    """Where ingest puts each table once it is final: in memory, or (with a folder) written to
    ``<folder>/<table>.parquet`` at once unless ``keep`` (a table still needed later). A table put
    twice (a derived table that a later source replaces) is the later one, as before."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.kept: dict[str, pd.DataFrame] = {}
        self.rows: dict[str, int] = {}
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            # until write_interim writes the new manifest, the folder holds no complete ingest
            # (read_interim refuses it), never a mix of this run's tables and the last run's
            (folder / MANIFEST).unlink(missing_ok=True)

    def __contains__(self, table: str) -> bool:
        return table in self.rows

    def put(self, table: str, df: pd.DataFrame, keep: bool = False) -> None:
        self.rows[table] = int(len(df))
        if self.folder is None or keep:
            self.kept[table] = df
        else:
            self.kept.pop(table, None)
            df.to_parquet(self.folder / f"{table}.parquet", index=False)

    def tables(self) -> Mapping[str, pd.DataFrame]:
        if self.folder is None:
            return {t: self.kept[t] for t in self.rows}
        return FolderTables(self.folder, pd.read_parquet)


#: Sources whose files add up to more than this many bytes are read one after the other rather
#: than side by side: each source being read holds its rows twice (as read and as mapped), so
#: reading the 10M-invoice sample's three large sources at once peaked at 11 GB, one at a time at
#: 4.7 GB, for about 25 s more. A database file counts once however many tables it provides.
SIDE_BY_SIDE_BYTES = 512 * 1024 * 1024


def _source_bytes(sources: dict[str, dict[str, Any]], base: Path) -> int:
    """The size of the files the sources read (a file or database counted once)."""
    paths: set[Path] = set()
    for src in sources.values():
        target = src.get("path")
        if target is None and str(src.get("url", "")).startswith("sqlite:///"):
            target = str(src["url"])[len("sqlite:///") :].replace("{here}", str(base))
        if target:
            path = config.resolve_path(str(target), base)
            if path.is_file():
                paths.add(path.resolve())
    return sum(p.stat().st_size for p in paths)


def _load_sources(sources: dict[str, dict[str, Any]], base: Path):
    """(table, source, :func:`load_source` result) of every source, in the order of the sources
    file, the sources read side by side on as many threads as there are cores (up to 4) when
    they are small enough (:data:`SIDE_BY_SIDE_BYTES`): the readers spend most of their time in
    Arrow, SQLite and the hash, which release the GIL. The first source that fails (in the order
    of the file) raises; the others are not waited for."""
    items = list(sources.items())
    workers = max(1, min(4, os.cpu_count() or 1, len(items)))
    if _source_bytes(sources, base) > SIDE_BY_SIDE_BYTES:
        workers = 1
    if workers == 1:
        for table, src in items:
            yield table, src, load_source(table, src, base)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="arinsight-read")
    try:
        futures = [pool.submit(load_source, table, src, base) for table, src in items]
        for (table, src), future in zip(items, futures, strict=True):
            yield table, src, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def regions_in_sources(sources_path: str | Path) -> list[str]:
    """The regions the data will report, read from the one source that holds them (the
    customers source, or the invoice rows of a flat export), without cleaning: for checking a
    ``--regions`` argument before any work. Regions only found in rows that cleaning later
    quarantines are included."""
    spec = read_sources(sources_path)
    base, sources = spec["_base"], spec["sources"]
    found: set[str] = set()
    invoices = sources.get("invoices") or {}
    derive = invoices.get("derive_customers")
    row_region = (invoices.get("columns") or {}).get("region") or (
        derive.get("region") if isinstance(derive, dict) else None
    )
    if "customers" in sources:
        customers, _, _ = load_source("customers", sources["customers"], base)
        found |= set(customers["region"].dropna().astype(str))
    if row_region and (spec.get("segment_by") == "invoice" or "customers" not in sources):
        raw = read_raw("invoices", invoices, base).frame
        if row_region in raw:
            from arinsight.ingest.parse import as_text

            text = as_text(raw[row_region])
            mapping = (invoices.get("values") or {}).get("region") or {}
            text = text.replace({str(k): str(v) for k, v in mapping.items()})
            found |= set(text[text != ""])
    return sorted(found)


def empty_ingested(table: str) -> pd.DataFrame:
    """A canonical table without rows, as ingest returns a table the sources do not provide."""
    raw = pd.DataFrame({c: pd.Series(dtype=str) for c in CANONICAL[table]})
    return to_canonical(table, raw, {"on_bad_value": "quarantine"}, "none")


def rates_file_entry(path: Path, rates: Mapping[str, Any]) -> dict[str, Any]:
    """The ingest manifest's record of a rates file (``fx_rates: rates.csv``): an input like the
    exports, so the run's manifest and every page's provenance name it with its sha256; rows =
    the dated rates it holds (as read by :func:`arinsight.fx.read_rates_file`)."""
    return {
        "table": "fx_rates",
        "kind": "csv",
        "path": display_path(path),
        "sha256": sha256_file(path),
        "rows": sum(len(r) if isinstance(r, Mapping) else 1 for r in rates.values()),
    }


def manifest_of(result: IngestResult) -> dict[str, Any]:
    """What ingest records for the next steps: files read (with sha256), rows read, derived
    tables, and the dataset settings of the sources file (reporting currency, exchange rates,
    segment_by) with the customer conflicts."""
    return {
        "files": result.files,
        "rows_read": result.rows_read,
        "derived": result.derived,
        "reporting_currency": result.reporting_currency,
        "customer_conflicts": result.conflicts,
        "segment_by": result.segment_by,
        "fx_rates": result.fx_rates,
        "company_codes": result.company_codes,
    }


def write_interim(result: IngestResult, interim_dir: str | Path | None = None) -> Path:
    """Write each ingested table to ``<interim>/<table>.parquet`` and the ingest manifest (the
    tables ``ingest(write_to=<interim>)`` already wrote are not written again)."""
    folder = config.resolve_path(interim_dir) if interim_dir else config.INTERIM_DIR
    folder.mkdir(parents=True, exist_ok=True)
    if result.folder is None or result.folder.resolve() != folder.resolve():
        parallel_writes(
            [
                partial(df.to_parquet, folder / f"{table}.parquet", index=False)
                for table, df in result.tables.items()
            ]
        )
    return write_json(folder / MANIFEST, manifest_of(result))


def parallel_writes(writes: list[Callable[[], Any]]) -> None:
    """Run independent file writes on up to 4 threads (as many as there are cores): Arrow's
    parquet writer releases the GIL, so the files of a run are encoded side by side. The first
    failing write (in the order given) raises."""
    workers = max(1, min(4, os.cpu_count() or 1, len(writes)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(write) for write in writes]:
            future.result()


def read_interim(
    interim_dir: str | Path | None = None,
) -> tuple[Mapping[str, pd.DataFrame], dict[str, Any]]:
    """What ``write_interim`` wrote: (tables, ingest manifest); the tables are read lazily
    (:class:`~arinsight.ledger.FolderTables`)."""
    folder = config.resolve_path(interim_dir) if interim_dir else config.INTERIM_DIR
    path = folder / MANIFEST
    if not path.exists():
        raise SourceError(str(path), "no ingest output: run notebooks/01_ingest.ipynb first")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return FolderTables(folder, pd.read_parquet), manifest


def files_table(result: IngestResult) -> pd.DataFrame:
    """The files read, for the notebook: table, kind, path, rows, sha256."""
    cols = ["table", "kind", "path", "rows", "sha256"]
    return pd.DataFrame(result.files, columns=cols)


def rows_read_table(result: IngestResult) -> pd.DataFrame:
    """Rows read per canonical table, for the notebook."""
    return pd.DataFrame(
        [{"table": t, "rows_read": n} for t, n in result.rows_read.items()],
        columns=["table", "rows_read"],
    )


def derived_table(result: IngestResult) -> pd.DataFrame:
    """Tables that were derived from another source or are missing, with how."""
    return pd.DataFrame(
        [{"table": t, "how": how} for t, how in sorted(result.derived.items())],
        columns=["table", "how"],
    )
