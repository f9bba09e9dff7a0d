"""Dates and decimals: the date format(s) of a column written as text (day and month order
found from the values), Excel serial dates, the number convention (``decimal``/``thousands``)
that reads the most values, and the formats a proposed source states."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from arinsight.mapper.names import DATE_FIELDS, NUMBER_FIELDS

if TYPE_CHECKING:
    from arinsight.mapper.content import Profile
    from arinsight.mapper.proposal import SourceProposal


#: Date formats tried on text, in this order (``None``: ISO, a time after it allowed).
DATE_CANDIDATES: tuple[str | None, ...] = (
    None, "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d", "%Y.%m.%d",
    "%Y%m%d", "%d.%m.%y", "%d/%m/%y", "%m/%d/%y", "%d-%b-%Y", "%d %b %Y", "%d-%b-%y",
    "%b %d, %Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
)  # fmt: skip


#: Formats that read the same text with day and month swapped.
SWAPPED = {
    "%d/%m/%Y": "%m/%d/%Y", "%m/%d/%Y": "%d/%m/%Y", "%d-%m-%Y": "%m-%d-%Y",
    "%m-%d-%Y": "%d-%m-%Y", "%d/%m/%y": "%m/%d/%y", "%m/%d/%y": "%d/%m/%y",
    "%d/%m/%Y %H:%M": "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M": "%d/%m/%Y %H:%M",
}  # fmt: skip


#: (decimal, thousands) conventions tried on numbers written as text, preferred first on a tie.
NUMBER_CANDIDATES: tuple[tuple[str, str | None], ...] = (
    (".", None), (".", ","), (",", None), (",", "."), (",", " "), (".", "'"), (",", "'"),
    (".", " "), (",", "\xa0"), (",", "\u202f"), (".", "\xa0"),
)  # fmt: skip


#: Distinct values of a column looked at to find its date formats and number convention.
_DISTINCT = 20_000


def date_formats_of(text: pd.Series) -> tuple[list[str | None], float, str | None]:
    """(formats, share of the values they read, unsure note) of dates written as text (every
    non-empty value of a column; its :data:`_DISTINCT` most frequent distinct values are tried).

    Formats are taken greedily (the one reading most values, then the one reading most of the
    rest...), each tried exactly as ingest will (:func:`arinsight.ingest.parse.parse_date_text`);
    a value counts when its year lies in 1900-2199 (ingest's range; beyond, it is out_of_range),
    YYYYMMDD only for 8 digits (or 8 digits and ``.0``) in 1950-2100 (other 8-digit numbers are
    ids). Day and month are ambiguous when the swapped format reads every value too (every
    day <= 12): the note says so, as it names values no format reads."""
    from arinsight.ingest.parse import parse_date_text

    counts = text.astype(str).str.strip().value_counts()
    counts = counts[counts.index != ""].head(_DISTINCT)
    if counts.empty:
        return [], 0.0, None
    distinct = pd.Series(counts.index, dtype=object)
    weight = counts.to_numpy()
    eight = distinct.str.fullmatch(r"\d{8}(?:\.0+)?")
    read: dict[str | None, np.ndarray] = {}
    for fmt in DATE_CANDIDATES:
        if fmt == "%Y%m%d":
            got = parse_date_text(distinct[eight], fmt).reindex(distinct.index)
            low, high = 1950, 2100
        else:
            got = parse_date_text(distinct, fmt)
            low, high = 1900, 2199
        ok = (got.notna() & got.dt.year.between(low, high)).to_numpy()
        if ok.any():
            read[fmt] = ok
    chosen: list[str | None] = []
    covered = np.zeros(len(distinct), dtype=bool)
    while True:
        gains = {f: int(weight[ok & ~covered].sum()) for f, ok in read.items() if f not in chosen}
        if not gains or max(gains.values()) == 0:
            break
        top = max(gains.values())
        fmt = next(f for f in DATE_CANDIDATES if gains.get(f) == top)
        chosen.append(fmt)
        covered |= read[fmt]
    share = float(weight[covered].sum() / weight.sum())
    note = None
    for fmt in chosen:
        other = SWAPPED.get(fmt)
        if other and other in read and (read[fmt] <= read[other]).all():
            note = (
                f"unsure: every day is 12 or less, so {fmt} could also be {other} "
                "(day and month swapped)"
            )
    if chosen == ["%Y%m%d"]:
        note = "unsure: 8-digit numbers read as dates YYYYMMDD"
    if share < 1 and chosen:
        left = distinct[~covered]
        note = (note + "; " if note else "unsure: ") + (
            f"{int(weight[~covered].sum()):,} value(s) fit no date format (they will be "
            f"unparseable_value), e.g. {left.head(3).tolist()!r}"
        )
    return chosen, share, note


#: date_format for Excel serial day numbers (:data:`arinsight.ingest.parse.EXCEL`).
EXCEL_SERIAL = "excel"


def number_dates(numbers: pd.Series) -> tuple[list[str], float]:
    """(formats, share of the numbers they read) of dates stored as number cells: YYYYMMDD
    (whole, 19500101-21001231, a valid date) and Excel serial day numbers (20000-80000, years
    1954-2119)."""
    if not len(numbers):
        return [], 0.0
    x = pd.to_numeric(numbers, errors="coerce").astype(float)
    whole = (x % 1 == 0) & x.notna()
    ymd = whole & x.between(19500101, 21001231)
    if ymd.any():
        text = x[ymd].astype("int64").astype(str)
        ymd[ymd] = pd.to_datetime(text, format="%Y%m%d", errors="coerce").notna().to_numpy()
    serial = x.between(20000, 80000)
    formats = [f for f, hit in (("%Y%m%d", ymd), (EXCEL_SERIAL, serial)) if hit.any()]
    return formats, float((ymd | serial).mean())


def number_convention(profiles: Iterable[Profile]) -> tuple[str, str | None, str | None]:
    """(decimal, thousands, unsure note): the convention of :data:`NUMBER_CANDIDATES` that
    reads the most numbers written as text in ``profiles`` (ingest's own pattern,
    :attr:`arinsight.ingest.parse.NumberFormat.plain_pattern`), the earlier one on a tie."""
    from arinsight.ingest.parse import NumberFormat

    values = pd.concat(
        [p.text_values for p in profiles if p.kind == "number" and p.text_values is not None]
        or [pd.Series([], dtype=object)],
        ignore_index=True,
    )
    values = values[~values.str.fullmatch(r"[+-]?\d+")] if len(values) else values
    if values.empty:
        return ".", None, None
    scores = []
    for decimal, thousands in NUMBER_CANDIDATES:
        pattern = NumberFormat(decimal, thousands).plain_pattern
        scores.append(int(values.str.strip().str.fullmatch(pattern).sum()))
    best = int(np.argmax(scores))
    decimal, thousands = NUMBER_CANDIDATES[best]
    note = None
    if scores[best] < len(values):
        left = values[
            ~values.str.strip().str.fullmatch(NumberFormat(decimal, thousands).plain_pattern)
        ]
        note = (
            f"unsure: {len(left)} number(s) do not fit decimal {decimal!r}"
            + (f" / thousands {thousands!r}" if thousands else "")
            + f", e.g. {left.head(3).tolist()!r}"
        )
    ties = [NUMBER_CANDIDATES[i] for i, s in enumerate(scores) if s == scores[best] and i != best]
    if any(d != decimal for d, _ in ties):
        note = note or (
            f"unsure: the numbers read the same with decimal {ties[0][0]!r}; no value shows "
            "which is the decimal separator"
        )
    return decimal, thousands, note


def set_formats(sp: SourceProposal) -> None:
    """Number convention and date formats of the mapped columns (CSV and text cells)."""
    if sp.options["kind"] == "csv":
        mapped_numbers = [
            sp.profiles[g.column]
            for g in sp.guesses
            if g.target in NUMBER_FIELDS
            or (g.section == "derive_payments" and g.target == "amount")
        ]
        decimal, thousands, note = number_convention(mapped_numbers or sp.profiles.values())
        if decimal != ".":
            sp.options["decimal"] = decimal
        if thousands:
            sp.options["thousands"] = thousands
        if note:
            sp.notes["decimal"] = note
    typed = [
        f"{g.column}: {sp.profiles[g.column].number_note}"
        for g in sp.guesses
        if sp.profiles[g.column].number_note
    ]
    if typed:
        sp.notes["numbers"] = "unsure: " + "; ".join(typed)
    per_column: dict[str, list[str | None]] = {}
    notes = []
    # day/month order: a file writes every date one way, so a column whose days are all <= 12
    # takes the order another date column of the file shows unambiguously
    decided = {
        f
        for prof in sp.profiles.values()
        if prof.kind == "date"
        for f in prof.formats
        if f in SWAPPED and f not in prof.ambiguous
    }
    for g in sp.guesses:
        prof = sp.profiles[g.column]
        if g.target in DATE_FIELDS and prof.kind == "date" and prof.formats:
            formats = list(prof.formats)
            parts = (prof.date_note or "").removeprefix("unsure: ").split("; ")
            for f in prof.ambiguous:
                if f in decided or SWAPPED[f] in decided:
                    if f not in decided:
                        formats[formats.index(f)] = SWAPPED[f]
                    parts = [x for x in parts if not x.startswith("every day is 12 or less")]
            per_column[g.target] = formats
            if g.sure:  # a column named like a date: YYYYMMDD is what it holds
                parts = [x for x in parts if not x.startswith("8-digit")]
            parts = [x for x in parts if x]
            if parts:
                notes.append(f"{g.column}: {'; '.join(parts)}")
    distinct = {tuple(f) for f in per_column.values()}
    if not distinct or distinct == {(None,)}:
        pass
    elif len(distinct) == 1:
        (fmts,) = distinct
        sp.options["date_format"] = _format_value(list(fmts))
    else:
        sp.options["date_format"] = {k: _format_value(v) for k, v in per_column.items()}
    if notes:
        sp.notes["date_format"] = "unsure: " + "; ".join(notes)
    unreadable = [
        n for k, n in sp.notes.items() if k in ("decimal", "date_format", "numbers") and "fit" in n
    ]
    if unreadable:
        sp.options["on_bad_value"] = "quarantine"
        sp.notes["on_bad_value"] = (
            "unsure: some values cannot be read (above): each such row is quarantined as "
            "unparseable_value, with its file and line; remove this line to stop at the first"
        )


def _format_value(formats: list[str | None]) -> Any:
    names = ["iso" if f is None else f for f in formats]
    return names[0] if len(names) == 1 else names
