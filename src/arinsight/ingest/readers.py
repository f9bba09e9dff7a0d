"""Reading a source into a raw frame: one column per source column, the frame's index the row
number a user sees in the source, values as stored (text from CSV; numbers, dates and text from
a workbook or a database).

Every reader refuses what it cannot read faithfully, with one message naming the file, the
column and the row: an empty file, a header only where data is required, two columns of the same
name, bytes that do not decode in the declared encoding. A CSV row whose number of fields differs
from the header (a file cut mid-line, an unquoted delimiter inside a value) is a *malformed row*:
it is returned apart, with its line number, so ingest can quarantine it (``malformed_row``) or
stop (``on_bad_value: error``); it is never padded or shifted into the other columns.

CSV row numbers are line numbers (the header is line 1), correct also with blank lines and with
line breaks inside quoted values. CSV files are parsed by Apache Arrow's reader; a file whose
layout the fast path cannot vouch for (a stray quote inside an unquoted value) is re-read with the
standard library's ``csv`` module.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import threading
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight import config
from arinsight.errors import SourceError
from arinsight.files import sha256_file


@dataclass
class RawTable:
    """A source as read: ``frame`` (index = source row numbers), the rows that could not be split
    into the header's columns, and what was read from where."""

    frame: pd.DataFrame
    info: dict[str, Any]
    malformed: list[dict[str, Any]] = field(default_factory=list)


def display_path(path: Path) -> str:
    """A path as recorded in outputs: relative to the project root when inside it (portable)."""
    try:
        return path.resolve().relative_to(config.PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _check_header(names: list[str], where: str) -> list[str]:
    """The header's names, stripped. A name that repeats (an ERP export with two
    ``document_create_date`` columns) is not an error: its columns are read as ``name (1)``,
    ``name (2)``... in file order, so a mapping picks one by position and an unused one is only
    listed among the columns not used; mapping the bare name is refused with that choice
    (:func:`arinsight.ingest.canonical.source_columns`)."""
    names = [str(n).strip() for n in names]
    counts: dict[str, int] = {}
    for name in names:
        if name:
            counts[name] = counts.get(name, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name and counts[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name} ({seen[name]})"
        out.append(name)
    taken = [n for n in out if n]
    if len(set(taken)) != len(taken):  # "x (2)" was also a real name: no safe renaming
        twice = next(n for n in taken if taken.count(n) > 1)
        raise SourceError(where, f"two columns are named {twice!r}; rename one", column=twice)
    return out


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def read_csv(path: Path, src: dict[str, Any]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """A CSV file as text columns (index = line numbers) and its malformed rows."""
    shown = display_path(path)
    encoding = src.get("encoding", "utf-8")
    delimiter = src.get("delimiter", ",")
    if len(delimiter) != 1:
        raise SourceError(shown, f"delimiter must be one character, got {delimiter!r}")
    data = path.read_bytes()
    if not data.strip():
        raise SourceError(shown, "file is empty")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1]
        raise SourceError(
            shown,
            f"cannot decode byte {bad!r} as {encoding} "
            "(set `encoding:` in the sources file, e.g. latin-1)",
            row=line,
        ) from exc
    except LookupError as exc:
        raise SourceError(shown, f"unknown encoding {encoding!r}") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    if not re.fullmatch(r"utf-?8(-sig)?", encoding.replace("_", "-"), re.I):
        # Arrow reads UTF-8 only (its malformed-row handler decodes the row so): latin-1,
        # cp1252... are handed to it re-encoded; line breaks, hence line numbers, are unchanged
        data = text.encode("utf-8")
    elif data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    skipped = _header_row(src, shown) - 1  # lines of a title block above the header
    if skipped:
        text, data = _skip_lines(text, skipped), _skip_lines(data, skipped)
        if not text.strip():
            raise SourceError(shown, f"no header on line {skipped + 1}: the file ends before it")
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=delimiter), [])
    names = _check_header(header, shown)
    if not any(names):
        raise SourceError(shown, f"file is empty (no header on line {skipped + 1})")
    fast = _read_csv_fast(data, names, delimiter)
    frame, malformed = fast if fast is not None else _read_csv_exact(text, names, delimiter)
    if skipped:  # row numbers stay the file's line numbers
        frame.index = frame.index + skipped
        for bad in malformed:
            bad["row"] += skipped
    for bad in malformed:
        bad["file"] = shown
        bad["header"] = names  # so the row's key can be read from its leading fields
        bad["delimiter"] = delimiter
    return frame, malformed


def _header_row(src: dict[str, Any], shown: str) -> int:
    """The 1-based line (CSV) or row (Excel) of the header: ``header_row``, default 1."""
    value = src.get("header_row", 1)
    try:
        row = int(value)
    except (TypeError, ValueError):
        raise SourceError(shown, f"header_row must be a whole number, got {value!r}") from None
    if isinstance(value, bool) or row < 1 or str(row) != str(value).strip():
        raise SourceError(shown, f"header_row must be 1 or more, got {value!r}")
    return row


def _skip_lines(text: str | bytes, n: int) -> str | bytes:
    """``text`` without its first ``n`` lines (a title block: no line breaks inside quotes)."""
    newline = "\n" if isinstance(text, str) else b"\n"
    at = -1
    for _ in range(n):
        at = text.find(newline, at + 1)
        if at < 0:
            return text[:0]
    return text[at + 1 :]


def _record_layout(data: bytes, delimiter: str):
    """Record boundaries of a CSV byte string by quote parity: for each record after the header,
    its first line number, its number of fields and whether it is blank."""
    buf = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(buf == ord('"'))
    newlines = np.flatnonzero(buf == ord("\n"))
    outside = np.searchsorted(quotes, newlines) % 2 == 0
    ends = newlines[outside]
    if len(buf) and buf[-1] != ord("\n"):
        ends = np.append(ends, len(buf))  # the last record has no line break
    starts = np.concatenate([[0], ends[:-1] + 1]) if len(ends) else np.array([0])
    line_of_start = np.searchsorted(newlines, starts) + 1
    delims = np.flatnonzero(buf == ord(delimiter))
    if len(quotes):
        delims = delims[np.searchsorted(quotes, delims) % 2 == 0]
    # delimiters of record i: those in [starts[i], ends[i]) (records are contiguous)
    bounds = np.searchsorted(delims, np.concatenate([starts[:1], ends]))
    fields = np.diff(bounds) + 1
    length = ends - starts
    last = np.where(length > 0, buf[np.maximum(ends - 1, 0)], 0)
    blank = (length == 0) | ((length == 1) & (last == ord("\r")))
    return line_of_start[1:], fields[1:], blank[1:], starts[1:], ends[1:]


def _read_csv_fast(data: bytes, names: list[str], delimiter: str):
    """Arrow's parser with the record layout from :func:`_record_layout`; None when the two do
    not agree (a quote inside an unquoted value): the caller then reads it exactly."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    lines, fields, blank, starts, ends = _record_layout(data, delimiter)
    width = len(names)
    good = ~blank & (fields == width)
    skipped: list[str] = []

    def handler(row) -> str:
        skipped.append(row.number)  # not row.text: the lines are located by _record_layout
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                column_names=[f"c{i}" for i in range(width)], skip_rows=1, block_size=1 << 24
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=handler
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"c{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    bad_rows = ~blank & (fields != width)
    if table.num_rows != int(good.sum()) or len(skipped) != int(bad_rows.sum()):
        return None
    frame = pd.DataFrame(
        {name: table.column(i).to_pandas() for i, name in enumerate(names) if name},
    )
    frame.index = pd.Index(lines[good].astype("int64"))
    malformed = [
        {
            "row": int(lines[i]),
            "fields": int(fields[i]),
            "expected": width,
            "text": data[starts[i] : ends[i]].decode("utf-8", "replace").rstrip("\r"),
        }
        for i in np.flatnonzero(bad_rows)
    ]
    return frame, malformed


def _read_csv_exact(text: str, names: list[str], delimiter: str):
    """The standard library's csv reader: slower, exact with any quoting."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader, None)
    width = len(names)
    rows, numbers, malformed = [], [], []
    previous_end = reader.line_num
    for record in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if not record or record == [""]:
            continue
        if len(record) != width:
            malformed.append(
                {
                    "row": start,
                    "fields": len(record),
                    "expected": width,
                    "text": delimiter.join(record),
                }
            )
            continue
        rows.append(record)
        numbers.append(start)
    frame = (
        pd.DataFrame(rows, columns=names, dtype="str")
        if rows
        else pd.DataFrame({n: pd.Series(dtype="str") for n in names})
    )
    frame = frame.loc[:, [bool(n) for n in names]]
    frame.index = pd.Index(np.asarray(numbers, dtype="int64"))
    return frame, malformed


def guess_header_row(path: Path, src: dict[str, Any], wanted: set[str]) -> int | None:
    """The 1-based line (CSV) or row (Excel) among the first 30 that holds the most of the
    ``wanted`` column names (at least two), when it is not the configured ``header_row``: where
    the header of a file with a title block above it is. None when no line looks like it."""
    current = src.get("header_row", 1)
    try:
        if src.get("kind") == "excel":
            from python_calamine import CalamineWorkbook

            wb = CalamineWorkbook.from_path(str(path))
            sheet = src.get("sheet", 0)
            ws = (
                wb.get_sheet_by_name(sheet)
                if isinstance(sheet, str)
                else (wb.get_sheet_by_index(int(sheet)))
            )
            lines = [[str(c) for c in r] for r in ws.to_python(skip_empty_area=False)[:30]]
        else:
            text = path.read_bytes()[:200_000].decode(src.get("encoding", "utf-8"), "replace")
            head = text.lstrip("\ufeff").splitlines()[:30]
            lines = list(csv.reader(head, delimiter=src.get("delimiter", ",")))
    except Exception:  # a hint only: the caller's error stands without it
        return None
    wanted = {w.strip().casefold() for w in wanted}
    best, best_hits = None, 1
    for number, cells in enumerate(lines, start=1):
        hits = len(wanted & {str(c).strip().casefold() for c in cells})
        if hits > best_hits:
            best, best_hits = number, hits
    return best if best is not None and str(best) != str(current) else None


_DUPLICATE_SUFFIX = re.compile(r" \(\d+\)$")


def split_repeated_headers(
    frame: pd.DataFrame, name: str
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """(frame without them, the rows that repeat the header): a page break in an ERP export
    writes the header again inside the data. A row is a repeated header when at least two of its
    cells are filled and every filled cell holds its own column's name (case and surrounding
    spaces ignored; for a repeated name ``x (2)``, ``x``). Such a row is never data: it is
    returned apart with reason ``repeated_header`` (cleaning quarantines it under that code,
    whatever ``on_bad_value`` says), never read as an invoice, a payment or a status word."""
    cols = [c for c in frame.columns if c != "__file"]
    if len(frame) == 0 or len(cols) < 2:
        return frame, []
    hits = np.zeros(len(frame), dtype=np.int64)
    filled = np.zeros(len(frame), dtype=np.int64)
    other = np.zeros(len(frame), dtype=bool)
    for col in cols:
        text = frame[col].map(lambda v: "" if v is None else str(v)).str.strip().str.casefold()
        names = {col.casefold(), _DUPLICATE_SUFFIX.sub("", col).casefold()}
        is_filled = (text != "").to_numpy()
        is_name = text.isin(names).to_numpy()
        filled += is_filled
        hits += is_name
        other |= is_filled & ~is_name
    repeated = (hits >= 2) & ~other
    if not repeated.any():
        return frame, []
    rows = frame.index.to_numpy()[repeated]
    out = [
        {
            "row": int(row),
            "reason": "repeated_header",
            "fields": len(cols),
            "expected": len(cols),
            "text": " | ".join(
                str(v) for v in frame.loc[row, cols].tolist() if v is not None and str(v).strip()
            ),
            "file": name,
        }
        for row in rows
    ]
    return frame[~repeated], out


# --------------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------------


def read_excel(path: Path, src: dict[str, Any]) -> pd.DataFrame:
    """One sheet with calamine (a Rust reader, ~25x faster than openpyxl on large sheets); cell
    values as stored (numbers, dates, text); the index is the sheet row number."""
    from python_calamine import CalamineWorkbook

    shown = display_path(path)
    header_row = _header_row(src, shown)
    sheet = src.get("sheet", 0)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for non-workbooks
        raise SourceError(shown, f"cannot open as an Excel workbook: {exc}") from exc
    if isinstance(sheet, str):
        if sheet not in wb.sheet_names:
            raise SourceError(
                shown, f"no sheet named {sheet!r}; sheets present: {', '.join(wb.sheet_names)}"
            )
        ws = wb.get_sheet_by_name(sheet)
    else:
        if not 0 <= int(sheet) < len(wb.sheet_names):
            raise SourceError(
                shown, f"no sheet number {sheet}; the workbook has {len(wb.sheet_names)}"
            )
        ws = wb.get_sheet_by_index(int(sheet))
    where = f"{shown}[{ws.name}]"
    rows = ws.to_python(skip_empty_area=False)[header_row - 1 :]
    if not rows or not any(str(c).strip() for c in rows[0]):
        raise SourceError(where, f"sheet is empty (no header on row {header_row})")
    header = _check_header([str(h) for h in rows[0]], where)
    width = len(header)
    body = [tuple(r[:width]) + ("",) * (width - len(r)) for r in rows[1:]]
    df = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header)
    df = df.loc[:, [h != "" for h in header]]
    df.index = np.arange(header_row + 1, header_row + 1 + len(df))
    filled = df.map(lambda v: v is not None and str(v).strip() != "")
    return df[filled.any(axis=1)] if len(df) else df


# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------


def mask_url(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _columns_of(rows: list[tuple], names: list[str]) -> pd.DataFrame:
    """Driver rows as a frame, column by column: a column whose values are all text becomes a
    text column, a column of numbers a numeric one (ints and floats exactly as the driver gave
    them), anything mixed stays as the Python values (parsed cell by cell later)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    data = {}
    for name, values in zip(names, columns, strict=True):
        raw = np.array(values, dtype=object)
        kind = pd.api.types.infer_dtype(raw, skipna=True)
        if kind == "string":
            data[name] = pd.Series(raw, dtype="str")
        elif kind == "integer":
            data[name] = pd.Series(pd.array(raw, dtype="Int64"))
        elif kind in ("floating", "mixed-integer-float"):
            data[name] = pd.Series(raw, dtype="float64")
        else:
            data[name] = pd.Series(raw, dtype=object)
    return pd.DataFrame(data)


#: SQLite's type affinity TEXT (declared type containing CHAR, CLOB or TEXT, and not INT): such a
#: table column stores text, blobs and nulls only (numbers are converted to text on insert).
def _text_affinity(declared: str) -> bool:
    declared = (declared or "").upper()
    return "INT" not in declared and any(t in declared for t in ("CHAR", "CLOB", "TEXT"))


def _read_sqlite_table(db: Path, table: str, shown: str) -> pd.DataFrame | None:
    """A SQLite table read into Arrow columns by the ADBC SQLite driver (about 2x faster than the
    DB-API cursor and no Python object per cell), with exactly the values and types the cursor
    gives (see :func:`_columns_of`). None when this path cannot vouch for that (a blob, text that
    is not UTF-8, rows added while reading, any driver error): the caller then reads the table
    through the cursor, which also gives the error messages.

    SQLite stores a type per cell, not per column; the driver infers one type per column from the
    rows it reads (integers, then reals, then text: a number among text becomes text), so the
    whole table is read as one batch, and a column that came back as text although it may hold
    numbers (a column without TEXT affinity, any column of a view) is read again as its integer
    and real cells, which restores each cell's own type.
    """
    import sqlite3

    import pyarrow as pa

    try:
        import adbc_driver_sqlite.dbapi as adbc_sqlite
    except ImportError:  # pragma: no cover - a pinned dependency
        return None

    def quote(name: str) -> str:  # an SQLite identifier, whatever its characters
        return '"' + name.replace('"', '""') + '"'

    quoted = quote(table)
    sql = f"SELECT * FROM {quoted}"
    try:
        with closing(sqlite3.connect(db)) as meta:
            declared = {row[1]: row[2] for row in meta.execute(f"PRAGMA table_info({quoted})")}
            kind = meta.execute(
                "SELECT type FROM sqlite_master WHERE lower(name) = lower(?)", (table,)
            ).fetchone()
            n = meta.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
        is_table = kind is not None and kind[0] == "table"

        def arrow(query: str) -> pa.Table:
            with conn.cursor() as cursor:
                cursor.adbc_statement.set_options(
                    **{"adbc.sqlite.query.batch_rows": str(max(int(n), 1))}
                )
                cursor.execute(query)
                return cursor.fetch_arrow_table()

        with adbc_sqlite.connect(str(db)) as conn:
            result = arrow(sql)
            if result.num_rows != n:
                return None
            suspect = []
            for i, field in enumerate(result.schema):
                if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                    result.column(i).validate(full=True)  # raises on text that is not UTF-8
                    if not (is_table and _text_affinity(declared.get(field.name, ""))):
                        suspect.append(i)
                elif not (pa.types.is_int64(field.type) or pa.types.is_float64(field.type)):
                    return None  # blobs (binary)
            split = None
            if suspect:
                cells = []
                for i in suspect:
                    col = quote(result.schema.field(i).name)
                    cells += [
                        f"CASE typeof({col}) WHEN 'integer' THEN {col} END",
                        f"CASE typeof({col}) WHEN 'real' THEN {col} END",
                    ]
                split = arrow(f"SELECT {', '.join(cells)} FROM {quoted}")
                if split.num_rows != n:
                    return None
    except Exception:  # any driver or SQL error: the cursor path reports it
        return None
    names = _check_header(result.schema.names, shown)
    data = {}
    for i, name in enumerate(names):
        column = result.column(i).combine_chunks()
        if i in suspect:
            pos = suspect.index(i)
            ints = split.column(2 * pos).combine_chunks()
            reals = split.column(2 * pos + 1).combine_chunks()
            data[name] = _mixed_cells(column, ints, reals)
        else:
            data[name] = _typed_column(column)
    return pd.DataFrame(data) if data else pd.DataFrame(columns=names)


def _typed_column(column) -> pd.Series:
    """One Arrow column of a single SQLite storage class as :func:`_columns_of` makes it."""
    import pyarrow as pa

    if column.null_count == len(column):  # no value at all (or no rows)
        return pd.Series([None] * len(column), dtype=object)
    if pa.types.is_int64(column.type):
        values = column.fill_null(0).to_numpy()
        mask = column.is_null().to_numpy(zero_copy_only=False)
        return pd.Series(pd.arrays.IntegerArray(values, mask))
    if pa.types.is_float64(column.type):
        return pd.Series(column.to_numpy(zero_copy_only=False), dtype="float64")
    return column.to_pandas()


def _mixed_cells(text, ints, reals) -> pd.Series:
    """A column whose cells may mix text with numbers: each cell as its own type (int, float or
    str, as the DB-API cursor gives it); typed like :func:`_columns_of` would type it."""
    import pyarrow as pa

    is_int = ints.is_valid().to_numpy(zero_copy_only=False)
    is_real = reals.is_valid().to_numpy(zero_copy_only=False)
    if not is_int.any() and not is_real.any():
        return _typed_column(text)
    reals = reals if pa.types.is_float64(reals.type) else reals.cast(pa.float64())
    is_text = text.is_valid().to_numpy(zero_copy_only=False) & ~is_int & ~is_real
    if not is_text.any() and (pa.types.is_int64(ints.type) or not is_int.any()):
        # every cell a number (or null): one numeric column, no Python object per cell
        if not is_real.any():
            return _typed_column(ints)  # Int64
        number = np.array(reals.to_numpy(zero_copy_only=False), dtype="float64")  # NaN: null
        if is_int.any():
            number[is_int] = ints.fill_null(0).to_numpy()[is_int]
        return pd.Series(number, dtype="float64")
    values = np.empty(len(text), dtype=object)  # None: missing; only the text cells decoded
    values[is_text] = text.filter(pa.array(is_text)).to_numpy(zero_copy_only=False)
    if is_int.any():
        values[is_int] = ints.fill_null(0).to_numpy()[is_int].astype(object)
    if is_real.any():
        values[is_real] = reals.to_numpy(zero_copy_only=False)[is_real].astype(object)
    if is_text.any():
        return pd.Series(values, dtype=object)
    kind = pd.api.types.infer_dtype(values, skipna=True)  # numbers of another Arrow type
    if kind in ("floating", "mixed-integer-float"):
        return pd.Series(values, dtype="float64")
    if kind == "integer":
        return pd.Series(pd.array(values, dtype="Int64"))
    return pd.Series(values, dtype=object)


#: sqlglot's dialect for a SQLAlchemy dialect name (the same name where they agree).
_SQLGLOT_DIALECTS = {"postgresql": "postgres", "mssql": "tsql", "mariadb": "mysql"}
#: Statements that change a database (or run something that may): refused anywhere in a query.
_WRITES = (
    "Insert", "Update", "Delete", "Merge", "Drop", "Create", "Alter", "TruncateTable", "Command",
    "Copy", "Grant", "Revoke", "Set", "Use", "Pragma", "Transaction", "Commit", "Rollback",
    "LoadData", "Into",
)  # fmt: skip


def _check_read_only(query: str, dialect: str, shown: str) -> None:
    """Refuse a ``query:`` that is not one statement that only reads: it is parsed (sqlglot, in
    the database's dialect) and must be a single SELECT (WITH, UNION... included) containing no
    statement that writes, not even in a common table expression. A query sqlglot cannot parse
    is refused too: map a ``table:`` or a view instead."""
    import sqlglot
    from sqlglot import exp

    try:
        parsed = sqlglot.parse(query, read=_SQLGLOT_DIALECTS.get(dialect, dialect))
    except Exception as exc:  # sqlglot's ParseError / TokenError, or an unknown dialect
        raise SourceError(
            shown,
            f"`query:` could not be checked to only read ({str(exc).splitlines()[0]}); "
            "write it as one plain SELECT, or map a `table:` (or a view) instead",
        ) from None
    statements = [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]
    kinds = tuple(getattr(exp, name) for name in _WRITES if hasattr(exp, name))
    for stmt in statements:
        writes = [type(node).__name__.upper() for node in stmt.find_all(*kinds)]
        if not isinstance(stmt, exp.Query) or writes:
            what = writes[0] if writes else type(stmt).__name__.upper()
            raise SourceError(
                shown,
                f"`query:` must only read (one SELECT), but it contains {what}: arinsight "
                "never changes the database it reads",
            )
    if len(statements) != 1:
        raise SourceError(
            shown,
            f"`query:` holds {len(statements)} statements; a source is read with one SELECT",
        )


def read_only_engine(url: str):
    """A SQLAlchemy engine whose connections cannot write where the driver allows it: a SQLite
    file opened read-only (``mode=ro``), PostgreSQL sessions with
    ``default_transaction_read_only``; with every driver the transaction is rolled back after the
    read (:func:`read_sql`)."""
    import sqlalchemy as sa

    made = sa.engine.make_url(url)
    if made.get_backend_name() == "sqlite" and made.database not in (None, "", ":memory:"):
        import sqlite3

        path = Path(made.database).resolve().as_uri()
        return sa.create_engine(
            "sqlite://", creator=lambda: sqlite3.connect(f"{path}?mode=ro", uri=True)
        )
    if made.get_backend_name() == "postgresql" and made.get_driver_name() in (
        "psycopg2",
        "psycopg",
    ):
        return sa.create_engine(
            made, connect_args={"options": "-c default_transaction_read_only=on"}
        )
    return sa.create_engine(made)


def read_sql(url: str, src: dict[str, Any], base: Path) -> tuple[pd.DataFrame, str]:
    """A table or a query through SQLAlchemy (any URL), fetched with the driver's own cursor
    (plain tuples, about 20x faster than SQLAlchemy rows on a million); values keep the
    database's types. A ``table:`` of a SQLite file is read Arrow-native by the ADBC SQLite
    driver (:func:`_read_sqlite_table`), with the same values and types.

    Read-only by construction: a ``query:`` must be one SELECT (:func:`_check_read_only`), the
    connection is read-only where the driver allows it and the transaction is rolled back after
    the read (:func:`read_only_engine`)."""
    url = url.replace("{here}", base.as_posix())
    shown = mask_url(url)
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///") :])
        shown = display_path(db)
        if not db.exists():
            raise SourceError(shown, "database file not found")
        if src.get("table") and not src.get("query"):
            df = _read_sqlite_table(db, src["table"], shown)
            if df is not None:
                df.index = np.arange(1, len(df) + 1)
                return df, shown
    import sqlalchemy as sa

    try:
        engine = read_only_engine(url)
    except Exception as exc:
        raise SourceError(shown, f"not a usable SQLAlchemy URL: {exc}") from exc
    if src.get("query"):
        _check_read_only(str(src["query"]), engine.dialect.name, shown)
        query = sa.text(src["query"])
    elif src.get("table"):
        query = sa.select(sa.text("*")).select_from(sa.table(src["table"]))
    else:
        raise SourceError(shown, "a sql source needs `table:` or `query:`")
    try:
        with engine.connect() as conn:
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            dbapi = conn.connection.dbapi_connection
            cursor = dbapi.cursor()
            try:
                cursor.execute(sql)
                names = _check_header([d[0] for d in cursor.description], shown)
                rows = cursor.fetchall()
            finally:
                cursor.close()
                dbapi.rollback()  # whatever the statement did is undone, never committed
    except sa.exc.OperationalError as exc:
        raise SourceError(shown, f"cannot read: {exc.orig}") from exc
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(shown, f"query failed: {exc}") from exc
    except Exception as exc:  # the driver's own errors (the DB-API has no common base)
        raise SourceError(shown, f"query failed: {exc}") from exc
    finally:
        engine.dispose()
    df = _columns_of(rows, names)
    df.index = np.arange(1, len(df) + 1)
    return df, shown


# --------------------------------------------------------------------------------------------
# UBL
# --------------------------------------------------------------------------------------------

UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_BUYER = "cac:AccountingCustomerParty/cac:Party/"
#: Source columns of a ``ubl`` source and where each is found in an Invoice document.
UBL_FIELDS = {
    "ID": "cbc:ID",
    "IssueDate": "cbc:IssueDate",
    "DueDate": "cbc:DueDate",
    "PaymentDueDate": "cac:PaymentMeans/cbc:PaymentDueDate",
    "DocumentCurrencyCode": "cbc:DocumentCurrencyCode",
    "PayableAmount": "cac:LegalMonetaryTotal/cbc:PayableAmount",
    "BuyerID": _BUYER + "cac:PartyIdentification/cbc:ID",
    "BuyerCompanyID": _BUYER + "cac:PartyLegalEntity/cbc:CompanyID",
    "BuyerName": _BUYER + "cac:PartyLegalEntity/cbc:RegistrationName",
    "BuyerCountry": _BUYER + "cac:PostalAddress/cac:Country/cbc:IdentificationCode",
    "BuyerEmail": _BUYER + "cac:Contact/cbc:ElectronicMail",
}
UBL_DEFAULT_COLUMNS = {
    "invoice_id": "ID",
    "customer_id": "BuyerID",
    "invoice_date": "IssueDate",
    "due_date": "DueDate",
    "amount": "PayableAmount",
    "currency": "DocumentCurrencyCode",
}


def read_ubl(pattern: Path) -> pd.DataFrame:
    """One row per UBL Invoice document, sorted by file name; ``__file`` names each row's file.

    The buyer id falls back to the legal company id, and the due date to the payment means' due
    date, as PEPPOL BIS documents carry one or the other. Parsed with the standard library's
    expat parser, which refuses entity-expansion attacks (Python >= 3.7.1 with expat >= 2.4).
    """
    import xml.etree.ElementTree as ET

    if pattern.is_dir():
        files = sorted(pattern.glob("*.xml"))
    elif any(ch in pattern.name for ch in "*?["):
        files = sorted(pattern.parent.glob(pattern.name))
    else:
        files = [pattern] if pattern.exists() else []
    if not files:
        raise SourceError(display_path(pattern), "no UBL invoice files found")
    rows = []
    for f in files:
        try:
            root = ET.parse(f).getroot()
        except ET.ParseError as exc:
            raise SourceError(display_path(f), f"not well-formed XML: {exc}") from exc
        if root.tag.rsplit("}", 1)[-1] != "Invoice":
            raise SourceError(display_path(f), f"not a UBL Invoice document (root {root.tag!r})")
        row = {}
        for col, xpath in UBL_FIELDS.items():
            el = root.find(xpath, UBL_NS)
            row[col] = (el.text or "").strip() if el is not None else ""
        row["BuyerID"] = row["BuyerID"] or row["BuyerCompanyID"]
        row["DueDate"] = row["DueDate"] or row["PaymentDueDate"]
        row["__file"] = display_path(f)
        rows.append(row)
    df = pd.DataFrame(rows, columns=[*UBL_FIELDS, "__file"])
    df.index = np.ones(len(df), dtype="int64")  # one document per file: row 1 of its file
    return df


# --------------------------------------------------------------------------------------------
# any source
# --------------------------------------------------------------------------------------------


#: sha256 of the files read during one :func:`one_pass` (a workbook or database that provides
#: several tables is hashed once); None outside it. Sources are read on several threads, so
#: each file's digest is computed under its own lock (the other tables of the file wait for it).
_DIGESTS: dict[Path, str] | None = None
_DIGEST_LOCKS: dict[Path, threading.Lock] = {}
_LOCK = threading.Lock()


@contextmanager
def one_pass():
    """Within this block each file is hashed once (an ingest run reads every file once)."""
    global _DIGESTS
    _DIGESTS = {}
    try:
        yield
    finally:
        _DIGESTS = None
        _DIGEST_LOCKS.clear()


def _file_sha256(path: Path) -> str:
    digests = _DIGESTS
    if digests is None:
        return sha256_file(path)
    key = path.resolve()
    with _LOCK:
        lock = _DIGEST_LOCKS.setdefault(key, threading.Lock())
    with lock:
        if key not in digests:
            digests[key] = sha256_file(path)
    return digests[key]


def read_raw(table: str, src: dict[str, Any], base: Path) -> RawTable:
    """Read one source (see the module docstring); ``info`` records what was read from where
    (kind, path, sha256, rows, source columns) for the ingest manifest."""
    kind = src["kind"]
    malformed: list[dict[str, Any]] = []
    if kind == "ubl":
        if not src.get("path"):
            raise SourceError(f"sources.{table}", "a ubl source needs `path:`")
        if table != "invoices":
            raise SourceError(f"sources.{table}", "a ubl source can only provide invoices")
        pattern = config.resolve_path(src["path"], base)
        df = read_ubl(pattern)
        name = display_path(pattern)
        digest = hashlib.sha256()
        for f in df["__file"]:
            digest.update(sha256_file(config.resolve_path(f)).encode())
        info = {
            "table": table,
            "kind": kind,
            "path": name,
            "sha256": digest.hexdigest(),
            "documents": int(len(df)),
        }
    elif kind in ("csv", "excel"):
        if not src.get("path"):
            raise SourceError(f"sources.{table}", f"a {kind} source needs `path:`")
        path = config.resolve_path(src["path"], base)
        if not path.exists():
            raise SourceError(str(path), "file not found")
        if kind == "csv":
            df, malformed = read_csv(path, src)
        else:
            df = read_excel(path, src)
        name = display_path(path)
        info = {"table": table, "kind": kind, "path": name, "sha256": _file_sha256(path)}
        if kind == "excel":
            name = f"{name}[{src.get('sheet', 0)}]"
            info["sheet"] = src.get("sheet", 0)
    else:
        if not src.get("url"):
            raise SourceError(f"sources.{table}", "a sql source needs `url:`")
        df, name = read_sql(src["url"], src, base)
        info = {"table": table, "kind": kind, "path": name}
        db = Path(src["url"].replace("{here}", base.as_posix())[len("sqlite:///") :])
        if src["url"].startswith("sqlite:///") and db.exists():
            info["sha256"] = _file_sha256(db)
            name = f"{display_path(db)}[{src.get('table') or 'query'}]"
            info["path"] = display_path(db)
        else:  # a server database: hash what was read
            info["sha256"] = hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()
        if src.get("table"):
            info["sql_table"] = src["table"]
    df.columns = [str(c).strip() for c in df.columns]
    if kind in ("csv", "excel"):
        df, repeated = split_repeated_headers(df, name)
        malformed = sorted(malformed + repeated, key=lambda m: m["row"])
    info["rows"] = int(len(df)) + len(malformed)
    info["columns"] = [c for c in df.columns if c != "__file"]
    if malformed:
        info["malformed_rows"] = len(malformed)
    return RawTable(df, {"name": name, **info}, malformed)
