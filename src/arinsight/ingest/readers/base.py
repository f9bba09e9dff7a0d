"""What every reader shares: :class:`RawTable` (a source as read), a path as messages show
it, the header row of the source's options, the check of a header's names and the headers
repeated inside a file (CSV or Excel)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight import config
from arinsight.errors import SourceError


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


def check_header(names: list[str], where: str) -> list[str]:
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


def header_row_of(src: dict[str, Any], shown: str) -> int:
    """The 1-based line (CSV) or row (Excel) of the header: ``header_row``, default 1."""
    value = src.get("header_row", 1)
    try:
        row = int(value)
    except (TypeError, ValueError):
        raise SourceError(shown, f"header_row must be a whole number, got {value!r}") from None
    if isinstance(value, bool) or row < 1 or str(row) != str(value).strip():
        raise SourceError(shown, f"header_row must be 1 or more, got {value!r}")
    return row


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
