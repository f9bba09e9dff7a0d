"""A raw source frame mapped onto a canonical table: columns renamed, values parsed strictly
(:mod:`arinsight.ingest.parse`), every problem kept with the row or raised, provenance added.

Every canonical frame has the canonical columns of its table, then:

* ``_cents_<column>`` for each money column (exact whole cents, nullable);
* ``_parse_errors``: ``column=value`` of every value that could not be read (";"-separated,
  "" when none), and ``_parse_reason``: the reason code cleaning quarantines the row under
  (``malformed_row``, ``unparseable_value``, ``out_of_range``, ``sub_cent_amount``; "" when none);
* ``_source_file`` and ``_source_row``: where the row is in its source (the row number a user
  sees: CSV line, sheet row, position in a query result, row 1 of a UBL document).

Malformed CSV rows (see :mod:`arinsight.ingest.readers`) come last, with empty values.
"""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import SourceError
from arinsight.ingest.parse import (
    INVALID,
    MONEY_COLUMNS,
    OUT_OF_RANGE,
    SUB_CENT,
    NumberFormat,
    as_text,
    blank_as_missing,
    cents_column,
    constant_text,
    date_formats,
    missing_text,
    parse_bools,
    parse_dates,
    parse_numbers,
    text_series,
)
from arinsight.ingest.readers import UBL_DEFAULT_COLUMNS
from arinsight.schemas import (
    BOOL_COLUMNS,
    CANONICAL,
    DATE_COLUMNS,
    KEYS,
    NUMBER_COLUMNS,
    PARSE_ERRORS,
    PARSE_REASON,
    REQUIRED,
)

#: Reason code of each kind of parse problem, in order of precedence within one row.
PROBLEM_REASONS = {
    INVALID: "unparseable_value",
    OUT_OF_RANGE: "out_of_range",
    SUB_CENT: "sub_cent_amount",
}
#: Reasons by severity: a row with several problems is quarantined under the first.
_RANK = {
    "repeated_header": 0,
    "malformed_row": 0,
    "unparseable_value": 1,
    "out_of_range": 2,
    "sub_cent_amount": 3,
    "": 99,
}
_WHAT = {
    INVALID: "cannot parse {value!r} as {what}",
    OUT_OF_RANGE: "{value!r} is out of range for {what} ({bound})",
    SUB_CENT: "{value!r} has more than two decimals (a thousands separator read as a decimal "
    "point? set `decimal:`/`thousands:`, or `round_money: true` to round to the cent)",
}


def number_format(src: dict[str, Any]) -> NumberFormat:
    try:
        return NumberFormat(
            src.get("decimal") or ".", src.get("thousands"), bool(src.get("round_money", False))
        )
    except ValueError as exc:
        raise SourceError(f"sources: {exc}", "check the number format options") from exc


def _serial_hint(original: pd.Series, problem: pd.Series) -> str:
    """A hint when the dates that fail look like Excel serial day numbers (46127 or 46127.0,
    1954-2119): the format that reads them."""
    bad = original[(problem != "").to_numpy()]
    if bad.empty:
        return ""
    number = pd.to_numeric(as_text(bad.head(50)), errors="coerce")
    if number.notna().all() and number.between(20000, 80000).all():
        return "; it looks like an Excel serial day number: add `excel` to date_format"
    return ""


def source_columns(table: str, src: dict[str, Any], present: set[str], name: str) -> dict:
    """Canonical column -> source column, checked: every mapped column exists, every required
    column is there."""
    mapping: dict[str, str] = {str(k): str(v) for k, v in (src.get("columns") or {}).items()}
    if src.get("kind") == "ubl":
        mapping = {**UBL_DEFAULT_COLUMNS, **mapping}
    for canon, source_col in mapping.items():
        if source_col not in present:
            _repeated_name(source_col, present, canon, name)
            raise SourceError(
                name,
                f"column {source_col!r} (mapped to {canon!r}) not found; columns present: "
                f"{', '.join(map(repr, sorted(present - {'__file'})))}",
                column=canon,
            )
    source_of = {c: mapping.get(c, c) for c in CANONICAL[table]}
    for canon in REQUIRED[table]:
        if source_of[canon] not in present:
            _repeated_name(source_of[canon], present, canon, name)
            raise SourceError(
                name,
                "required column missing (map it under `columns:`); columns present: "
                f"{', '.join(map(repr, sorted(present - {'__file'})))}",
                column=canon,
            )
    return source_of


#: An id written as a whole float ("1929003413.0", "42.00"): an ERP column stored as REAL.
_FLOAT_ID = r"^([+-]?\d+)\.0+$"


def id_text(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(text, problem) of an id column: an id stored as a whole float shows as the integer it is
    (``1929003413.0`` -> ``1929003413``, as typed floats already do), so one customer is not
    split in two; a float at or beyond 2^53, which cannot hold every digit, is a problem
    (``invalid``) rather than a silently different id. Everything else is kept as written."""
    problem = pd.Series("", index=values.index, dtype=object)
    if pd.api.types.is_float_dtype(values):
        lost = values.notna() & (values.abs() >= 2**53)
        problem = problem.where(~lost, INVALID)
    text = as_text(values)
    if not text.str.contains(".", regex=False).any():  # the usual case: one cheap pass
        return text, problem
    return text.str.replace(_FLOAT_ID, r"\1", regex=True), problem


def normalize_ids(text: pd.Series, rules: dict[str, Any]) -> pd.Series:
    """An id column (stripped text) normalised by a source's ``normalize`` entry, in this order:
    ``trim: all`` removes every white space inside the id too (surrounding spaces are always
    removed); ``case: upper|lower``; ``zeros: strip`` removes leading zeros (``0200769623`` ->
    ``200769623``; an id of zeros only keeps one, ``000`` -> ``0``); ``zeros: pad`` left-pads ids
    made only of digits with zeros to ``width`` (``200769623`` -> ``0200769623`` with width 10;
    longer ids and ids with letters stay as they are). Empty values stay empty."""
    if rules.get("trim") == "all":
        text = text.str.replace(r"\s+", "", regex=True)
    case = rules.get("case", "keep")
    if case == "upper":
        text = text.str.upper()
    elif case == "lower":
        text = text.str.lower()
    zeros = rules.get("zeros", "keep")
    if zeros == "strip":
        text = text.str.replace(r"^0+(?=.)", "", regex=True)
    elif zeros == "pad":
        width = int(rules["width"])
        digits = text.str.fullmatch(r"\d+").fillna(False).astype(bool)
        text = text.where(~digits, text.str.zfill(width))
    return text


def _repeated_name(column: str, present: set[str], canon: str, name: str) -> None:
    """Refuse a mapping of a header name that repeats, naming the columns to choose from."""
    copies = sorted(
        (c for c in present if c.startswith(f"{column} (") and c[len(column) + 2 : -1].isdigit()),
        key=lambda c: int(c[len(column) + 2 : -1]),
    )
    if copies:
        raise SourceError(
            name,
            f"{len(copies)} columns are named {column!r}; map the one you mean by its position: "
            f"{' or '.join(map(repr, copies))} (in file order)",
            column=canon,
        )


def _bound(what: str) -> str:
    return {
        "money": "at most 9,999,999,999,999,999.99",
        "a number": "at most 1e16",
        "a date": "1900-01-01 to 2199-12-31",
    }.get(what, "")


def to_canonical(
    table: str,
    raw: pd.DataFrame,
    src: dict[str, Any],
    name: str,
    malformed: list[dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Rename mapped columns, check required ones exist, parse types, mark unreadable values (see
    the module docstring). With ``on_bad_value: error`` (the default) the first problem raises
    :class:`~arinsight.errors.SourceError` naming the file, the column and the row."""
    malformed = list(malformed or [])
    policy = src.get("on_bad_value", "error")
    # a repeated header is never data: quarantined (repeated_header) under either policy
    broken = [m for m in malformed if m.get("reason", "malformed_row") == "malformed_row"]
    if broken and policy == "error":
        bad = broken[0]
        raise SourceError(
            bad.get("file", name),
            f"the row has {bad['fields']} field(s) but the header has {bad['expected']} (a line "
            "cut short, or a delimiter inside an unquoted value): "
            f"{bad['text'][:80]!r}",
            row=int(bad["row"]),
        )
    present = set(raw.columns)
    source_of = source_columns(table, src, present, name)
    rows = raw.index.to_numpy()  # the row numbers a user sees (not unique for UBL documents)
    raw = raw.reset_index(drop=True)
    fmt = number_format(src)
    out = pd.DataFrame(index=raw.index)
    empty = pd.Series("", index=raw.index, dtype=object)
    for canon in CANONICAL[table]:
        col = source_of[canon]
        out[canon] = raw[col] if col in present else empty
    values = src.get("values") or {}
    for canon, table_map in values.items():
        if canon in out:
            text = as_text(out[canon])
            if canon.endswith("_id") and not pd.api.types.is_float_dtype(out[canon]):
                # an id written as a float in a CSV ("358061429.0") is the id "358061429"
                # before the value mapping, as a float cell of a workbook already is
                text = text.str.replace(_FLOAT_ID, r"\1", regex=True)
            out[canon] = text.replace({str(k): str(v) for k, v in table_map.items()})

    errors = np.full(len(out), "", dtype=object)  # per row; only rows with a problem change
    reason = np.full(len(out), "", dtype=object)
    date_format = src.get("date_format")
    money = set(MONEY_COLUMNS.get(table, ()))

    def mark(canon: str, problem: pd.Series, what: str, original: pd.Series) -> None:
        bad = problem != ""
        if not bad.any():
            return
        if policy == "error":
            pos = int(bad.to_numpy().argmax())
            kind = problem.iloc[pos]
            source = source_of[canon]
            value = original.iloc[pos]
            raise SourceError(
                raw["__file"].iloc[pos] if "__file" in raw else name,
                _WHAT[kind].format(value=value, what=what, bound=_bound(what)),
                column=canon + (f" (source {source!r})" if source != canon else ""),
                row=int(rows[pos]),
            )
        # only the rows with a problem are touched (a few among millions)
        at = np.flatnonzero(bad.to_numpy())
        text = original.iloc[at].map(lambda v: "" if v is None else str(v)).astype(str)
        errors[at] = [
            before + (";" if before else "") + canon + "=" + value
            for before, value in zip(errors[at], text, strict=True)
        ]
        candidate = problem.iloc[at].map(PROBLEM_REASONS).fillna("")  # the most severe wins
        reason[at] = [
            new if _RANK[new] < _RANK[held] else held
            for new, held in zip(candidate, reason[at], strict=True)
        ]

    for canon in DATE_COLUMNS[table]:
        original = out[canon]
        formats = date_format.get(canon) if isinstance(date_format, dict) else date_format
        parsed, problem = parse_dates(original, formats)
        tried = ", ".join("ISO YYYY-MM-DD" if f is None else repr(f) for f in date_formats(formats))
        mark(canon, problem, f"a date (formats tried: {tried}){_serial_hint(original, problem)}",
             original)  # fmt: skip
        out[canon] = parsed
    for canon in NUMBER_COLUMNS[table]:
        original = out[canon]
        parsed, cents, problem = parse_numbers(original, fmt, canon in money)
        mark(canon, problem, "money" if canon in money else "a number", original)
        out[canon] = parsed
        if cents is not None:
            out[cents_column(canon)] = cents
    for canon in BOOL_COLUMNS.get(table, []):
        original = out[canon]
        parsed, problem = parse_bools(original)
        mark(canon, problem, "yes/no", original)
        out[canon] = parsed
    typed = set(DATE_COLUMNS[table]) | set(NUMBER_COLUMNS[table]) | set(BOOL_COLUMNS.get(table, []))
    for canon in CANONICAL[table]:
        if canon in typed:
            continue
        if source_of[canon] in present or canon in values:
            if canon.endswith("_id"):
                original = out[canon]
                text, problem = id_text(original)
                mark(canon, problem, "an id (a number stored as a float beyond 2^53 lost its last "
                     "digits: export the column as text)", original)  # fmt: skip
                rules = (src.get("normalize") or {}).get(canon)
                out[canon] = blank_as_missing(normalize_ids(text, rules) if rules else text)
                continue
            out[canon] = blank_as_missing(as_text(out[canon]))
        else:  # not in the source: missing on every row
            out[canon] = missing_text(out.index)
    out[PARSE_ERRORS] = text_series(errors, out.index)
    out[PARSE_REASON] = text_series(reason, out.index)
    out["_source_file"] = (
        raw["__file"].to_numpy() if "__file" in raw else constant_text(name, out.index)
    )
    out["_source_row"] = rows.astype("int64")
    if malformed:
        key = KEYS[table]
        rows = _malformed_rows(table, out, malformed, name)
        rows[key] = [_field_of(m, source_of[key]) for m in malformed]
        out = pd.concat([out, rows], ignore_index=True)
    return out


def _field_of(bad: dict[str, Any], column: str) -> str | None:
    """The value of ``column`` in a malformed line (a line cut short, a delimiter inside an
    unquoted value), when the fields before it are intact: it lies before the line's first
    field beyond the header's count, so a line cut after the key, or split later, still names
    its invoice. None when the line does not reach it."""
    header = bad.get("header") or []
    if column not in header:
        return None
    at = header.index(column)
    fields = next(csv.reader([bad["text"]], delimiter=bad.get("delimiter", ",")), [])
    if at >= len(fields) or (bad["fields"] > len(header) and at >= len(header) - 1):
        return None
    return fields[at].strip() or None


def _malformed_rows(
    table: str, like: pd.DataFrame, malformed: list[dict[str, Any]], name: str
) -> pd.DataFrame:
    rows = like.iloc[:0].reindex(range(len(malformed)))  # every value missing
    rows[PARSE_ERRORS] = [
        f"the header repeated inside the data: {m['text'][:200]}"
        if m.get("reason") == "repeated_header"
        else f"{m['fields']} field(s), the header has {m['expected']}: {m['text'][:200]}"
        for m in malformed
    ]
    rows[PARSE_REASON] = [m.get("reason", "malformed_row") for m in malformed]
    rows["_source_file"] = [m.get("file", name) for m in malformed]
    rows["_source_row"] = np.asarray([m["row"] for m in malformed], dtype="int64")
    return rows
