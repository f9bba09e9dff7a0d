"""CSV files: Arrow's fast reader where it can vouch for the file's layout, the standard
library's ``csv`` module where it cannot, malformed rows kept apart with their line numbers; the
header row found for ``arinsight map``."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import SourceError
from arinsight.ingest.readers.base import (
    check_header,
    display_path,
    header_row_of,
)


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
    skipped = header_row_of(src, shown) - 1  # lines of a title block above the header
    if skipped:
        text, data = _skip_lines(text, skipped), _skip_lines(data, skipped)
        if not text.strip():
            raise SourceError(shown, f"no header on line {skipped + 1}: the file ends before it")
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0]), delimiter=delimiter), [])
    names = check_header(header, shown)
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
