"""Writing outputs reproducibly and safely: one JSON writer, one CSV and one Excel writer, and
one file hash for the whole package.

CSV and Excel files are opened in spreadsheets, where a cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return can be run as a formula (CSV/formula injection: a customer
named ``=HYPERLINK(...)`` would become a link). :func:`safe_cell` neutralises such text cells
the way OWASP's CSV-injection guidance says (a leading single quote, so the cell shows as text);
numbers, including negative ones, are left as numbers. Every CSV and Excel file arinsight writes
goes through :func:`write_csv` / :func:`write_excel`.


Every JSON file arinsight writes (kpis parts and kpis.json, manifests, data-quality reports,
model metadata) goes through :func:`write_json`, so they all share one convention: sorted keys,
indent 2, UTF-8, NaN/inf/NaT as null, dates as ISO text, and an atomic replace (a reader never
sees half a file, which matters when parallel runs read each other's outputs).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: numpy numbers to Python, NaN/inf/NaT to None, dates to ISO
    text, paths to text, DataFrames to lists of records; a :class:`~decimal.Decimal` (exact
    money) stays a Decimal, which :func:`write_json` writes as an exact number. Anything else
    unknown is left as is (so ``json.dumps`` refuses it rather than writing a ``repr``)."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [json_safe(r) for r in value.to_dict(orient="records")]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return value.as_posix()
    if not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return value


def dumps(data: Any) -> str:
    """``data`` as JSON text (see the module docstring); Decimals are written digit for digit
    (``1000000000000000.01``), which ``json`` alone cannot do."""
    marker = f"@decimal-{uuid.uuid4().hex}:"

    def encode(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"{marker}{value:f}"
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    text = json.dumps(
        json_safe(data),
        sort_keys=True,
        indent=2,
        allow_nan=False,
        ensure_ascii=False,
        default=encode,
    )
    return re.sub(f'"{re.escape(marker)}(-?[0-9.]+)"', r"\1", text)


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as JSON (see the module docstring) atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(data)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d+)?|[.,]\d+)$")


def safe_cell(value: Any) -> Any:
    """A value that a spreadsheet shows as it is: text starting with ``= + - @``, a tab or a
    carriage return gets a leading ``'`` (unless it is a plain number such as ``-12.50``);
    anything else is returned unchanged."""
    risky = isinstance(value, str) and value.startswith(_FORMULA_START)
    return "'" + value if risky and not _PLAIN_NUMBER.match(value) else value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell passed through :func:`safe_cell` (column names too)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            continue
        text = s.astype(object).where(s.map(lambda v: isinstance(v, str)), None).astype("str")
        risky = text.str.startswith(_FORMULA_START) & ~text.str.match(_PLAIN_NUMBER)
        risky = risky.fillna(False).astype(bool)
        if risky.any():
            out[col] = s.astype(object).where(~risky, "'" + text)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def csv_text(df: pd.DataFrame, **kwargs) -> str:
    """``df`` as spreadsheet-safe CSV text (RFC 4180: UTF-8, CRLF line ends, so a value holding
    a line break or a carriage return is quoted; no index)."""
    return safe_frame(df).to_csv(index=False, lineterminator="\r\n", **kwargs)


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str], **kwargs) -> Path:
    """:func:`csv_text` of ``df`` written atomically to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(csv_text(df, **kwargs).encode("utf-8"))
    os.replace(tmp, path)
    return path


def write_excel(path: str | os.PathLike[str], sheets: Mapping[str, pd.DataFrame]) -> Path:
    """Sheets written with openpyxl, every text cell neutralised (:func:`safe_cell`) and stored
    as text, never as a formula; each sheet with an autofilter on its header row and the header
    frozen, and a date column without times shown as ``yyyy-mm-dd`` (not ``00:00:00``);
    atomic; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp.xlsx")
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            safe_frame(frame).to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f":  # openpyxl reads "=..." as a formula: keep text
                        cell.data_type = "s"
            sheet.freeze_panes = "A2"
            if len(frame.columns):
                sheet.auto_filter.ref = sheet.dimensions
            for k, col in enumerate(frame.columns, start=1):
                values = frame[col]
                if pd.api.types.is_datetime64_any_dtype(values):
                    days = values.dropna()
                    if (days == days.dt.normalize()).all():
                        for (cell,) in sheet.iter_rows(min_row=2, min_col=k, max_col=k):
                            cell.number_format = "yyyy-mm-dd"
    os.replace(tmp, path)
    return path


#: The longest name :func:`safe_slug` returns (file systems allow 255 bytes; a prefix such as
#: ``reminder_2026-10_`` and a suffix such as ``_3.eml`` leave room).
SLUG_MAX = 80
_SLUG_PLAIN = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_SLUG_HASHED = re.compile(r".*-[0-9a-f]{16}")
_SLUG_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)


def safe_slug(text: Any, max_len: int = SLUG_MAX, reserved: Iterable[str] = ()) -> str:
    """A file name (without its extension) for a value from the data: a customer id, a region, a
    statement's name. The one helper for every file named from data.

    A plain value (letters, digits, ``_ . -``, not starting with ``.`` or ``-``, not ending with
    ``.``, at most ``max_len`` characters, not a reserved device name such as ``CON`` nor one of
    ``reserved``) is its own name, so ``C001`` stays ``C001``. Anything else (a path separator, a
    control character, a leading dot, a space, non-ASCII, a 300-character id) becomes a readable
    slug cut to fit plus ``-`` and 16 hex digits of the value's sha256: ``../x/ü`` ->
    ``x-<hash>``. Plain names never end like that (a plain value that does is hashed too), so two
    different values never share a name (short of a sha256 collision). Names are case-sensitive,
    as on Linux."""
    value = str(text)
    stop = {r.lower() for r in reserved} | _SLUG_RESERVED
    if (
        len(value) <= max_len
        and _SLUG_PLAIN.fullmatch(value)
        and not _SLUG_HASHED.fullmatch(value)
        and value.split(".")[0].lower() not in stop
        and value.lower() not in stop
    ):
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", value).strip("._-")
    clean = clean[: max(1, max_len - 17)].rstrip("._-") or "x"
    return f"{clean}-{digest}"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_frame(h: Any, df: pd.DataFrame) -> None:
    """Feed a frame's content to the hash ``h`` (hashlib): its length, then per column its name,
    dtype and values, read as stored: text by its Arrow buffers, numpy columns by their bytes
    (40 times faster than hashing each value, and it matters: every region's page computes the
    key of a model cache). The same buffers give the same hash; an equal column stored another
    way (a sliced Arrow array) may hash differently: a needless recompute, never a wrong hit."""
    h.update(f"rows:{len(df)}".encode())
    for col in df.columns:
        values = df[col]
        h.update(f"{col}:{values.dtype}".encode())
        arr = values.array
        if hasattr(arr, "__arrow_array__"):
            import pyarrow as pa

            chunked = pa.array(arr)
            if not isinstance(chunked, pa.ChunkedArray):
                chunked = pa.chunked_array([chunked])
            data = chunked.combine_chunks()
            h.update(f"{data.offset}:{len(data)}".encode())
            for buf in data.buffers():
                h.update(b"-" if buf is None else memoryview(buf))
        elif isinstance(values.dtype, np.dtype) and values.dtype != object:
            h.update(np.ascontiguousarray(values.to_numpy()).tobytes())
        else:
            h.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())


def hash_tables(h: Any, tables: Any, names: Iterable[str]) -> None:
    """Feed the content of the tables ``names`` to ``h``: of a folder of ``<name>.parquet``
    files (a path, or an object with a ``folder``: :class:`arinsight.ledger.FolderTables`), each
    file's sha256 ("absent" when missing), so a model page checks its cache without loading the
    ledger; of a mapping of frames, :func:`hash_frame` ("absent" for a table it does not hold:
    the optional ones). The two never give the same key for the same data: a needless
    recompute, never a wrong hit."""
    folder = getattr(tables, "folder", tables)
    for name in names:
        h.update(name.encode())
        if isinstance(folder, (str, os.PathLike)):
            path = Path(folder) / f"{name}.parquet"
            h.update(f"file:{sha256_file(path) if path.exists() else 'absent'}".encode())
        elif tables.get(name) is None:
            h.update(b"frame:absent")
        else:
            hash_frame(h, tables[name])


#: How much of a file's end :func:`fingerprint` hashes: a parquet file's footer (schema, row
#: groups, statistics, offsets) lies there, so any rewrite of its data changes it.
FINGERPRINT_TAIL = 64 * 1024


def fingerprint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A cheap identity of a written file: its size and the sha256 of its last 64 KiB (the
    footer of a parquet file). It tells a file rewritten since from the one written (an edit, a
    copy from elsewhere), in constant time whatever the file's size; it is not a defence against
    a deliberate forgery of the footer."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - FINGERPRINT_TAIL))
        tail = fh.read()
    return {"bytes": size, "tail_sha256": hashlib.sha256(tail).hexdigest()}


@contextlib.contextmanager
def file_lock(
    path: str | os.PathLike[str], on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created with its folder if needed), released on exit:
    two processes computing the same cached result, or two commands writing the same state (a
    ledger, a send log, a site), take turns: the second waits for the first, then sees what it
    wrote. ``on_wait`` is called once when the lock is held by someone else, before waiting (to
    tell the user why nothing happens). The kernel drops the lock when its process ends, so a
    killed command never blocks the next one. A no-op where ``fcntl`` does not exist (Windows)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def command_lock(path: str | os.PathLike[str], command: str) -> Iterator[None]:
    """:func:`file_lock` for a command of the CLI: when another invocation holds ``path``, one line
    on stderr says so (``arinsight match: waiting for another arinsight match (<path>)``), then
    this one waits for it."""
    import sys

    def say() -> None:
        print(
            f"arinsight {command}: waiting for another arinsight {command} to finish ({path})",
            file=sys.stderr,
            flush=True,
        )

    with file_lock(path, on_wait=say):
        yield
