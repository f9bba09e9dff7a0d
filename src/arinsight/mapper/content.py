"""Naming by content: what a column holds (:class:`Profile`: dates, numbers, currency codes,
text), and each column's field by its name checked against that content, with the required
fields no name provides filled by content (unsure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from arinsight.mapper.formats import (
    EXCEL_SERIAL,
    SWAPPED,
    date_formats_of,
    number_dates,
)
from arinsight.mapper.names import (
    DATE_FIELDS,
    FALLBACK,
    NUMBER_FIELDS,
    ROLE_FIELDS,
    UNUSED_NOTES,
    WEAK,
    concept_of,
)
from arinsight.schemas import REQUIRED

if TYPE_CHECKING:
    from arinsight.mapper.read import Input


CURRENCY_CODE = re.compile(r"^[A-Za-z]{3}$")  # codes are case-blind, as in clean


@dataclass
class Profile:
    """What a column holds: the kind of most of its values and what was found on the way."""

    name: str
    filled: int = 0
    kind: str = "empty"  # empty, date, number, text
    formats: list[str | None] = field(default_factory=list)  # of text dates, in order
    date_note: str | None = None
    money_like: bool = False  # numbers with decimals
    float_ids: int = 0  # whole numbers written "123.0"
    lost_digits: int = 0  # whole floats at or beyond 2^53
    words: list[str] = field(default_factory=list)  # distinct texts when few
    currencies: bool = False
    example: str = ""
    text_values: pd.Series | None = None  # distinct text, for the number convention
    number_note: str | None = None  # text cells among typed numbers
    ambiguous: set[str] = field(default_factory=set)  # formats whose day/month may be swapped

    def describe(self) -> str:
        if self.kind == "date":
            fmts = ", ".join("iso" if f is None else f for f in self.formats) or "date cells"
            return f"dates, {fmts}"
        if self.kind == "number":
            return "numbers" + (f", e.g. {self.example}" if self.example else "")
        if self.kind == "text":
            if self.words:
                return "text: " + ", ".join(map(repr, self.words[:6]))
            return f"text, e.g. {self.example!r}" if self.example else "text"
        return "empty"


def _cell_kinds(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(text cells stripped, typed dates, typed numbers) of a raw column."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.iloc[:0].astype(str), values.dropna(), values.iloc[:0]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.iloc[:0].astype(str), values.iloc[:0], values.dropna()
    if isinstance(values.dtype, pd.StringDtype) or (
        pd.api.types.is_string_dtype(values)
        and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    ):  # text only (every CSV column): one vectorised pass
        text = values.dropna().astype(str).str.strip()
        return (
            text[text != ""].astype(object).reset_index(drop=True),
            pd.Series([], dtype=object),
            pd.Series([]),
        )
    text, dates, numbers = [], [], []
    import datetime as dt

    for v in values:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            continue
        if isinstance(v, str):
            if v.strip():
                text.append(v.strip())
        elif isinstance(v, dt.date | pd.Timestamp | np.datetime64):
            dates.append(v)
        elif isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            numbers.append(v)
        else:
            text.append(str(v).strip())
    return pd.Series(text, dtype=object), pd.Series(dates, dtype=object), pd.Series(numbers)


def profile_column(name: str, values: pd.Series) -> Profile:
    """What one raw column holds (see :class:`Profile`)."""
    p = Profile(name=name)
    text, dates, numbers = _cell_kinds(values)
    p.filled = len(text) + len(dates) + len(numbers)
    if p.filled == 0:
        return p
    distinct_text = pd.Series(pd.unique(text)) if len(text) else pd.Series([], dtype=object)
    p.example = str(text.iloc[0] if len(text) else (numbers.iloc[0] if len(numbers) else ""))
    formats: list[str | None] = []
    share = 0.0
    if len(distinct_text):
        formats, share, p.date_note = date_formats_of(text)
        p.ambiguous = {
            f
            for f in formats
            if f in SWAPPED and f"could also be {SWAPPED[f]}" in (p.date_note or "")
        }
    text_dates = share >= 0.95
    # dates stored as numbers in a workbook: YYYYMMDD (20260414, 20260414.0) or Excel serial
    # day numbers (46127): beside other dates, or alone in a column named like a date
    number_formats, number_share = number_dates(numbers)
    named_date = concept_of(name)[0] in DATE_FIELDS
    if len(numbers) and number_share >= 0.95 and (len(dates) or len(text) or named_date):
        read = len(dates) + share * len(text) + len(numbers)
        if read >= 0.95 * p.filled:
            p.kind = "date"
            p.formats = list(dict.fromkeys([*(formats if len(text) else []), *number_formats]))
            if EXCEL_SERIAL in number_formats:
                p.date_note = (
                    p.date_note + "; " if p.date_note else "unsure: "
                ) + "numbers read as Excel serial day numbers (46127 = 2026-04-15)"
            if len(dates):  # date cells need no format, but the others do: iso stays first
                p.formats = [None, *[f for f in p.formats if f is not None]]
            return p
    if len(dates) and (not len(text) or text_dates):
        p.kind, p.formats = "date", formats if len(text) else []
        return p
    if len(text) and text_dates and len(text) >= len(numbers):
        p.kind, p.formats = "date", formats
        return p
    p.date_note = None
    if len(numbers) and len(numbers) >= 0.95 * p.filled:  # typed numbers (a few text cells)
        p.kind = "number"
        if len(text):
            p.number_note = (
                f"{len(text):,} text value(s) among its numbers do not fit a number (they will be "
                f"unparseable_value), e.g. {pd.unique(text)[:3].tolist()!r}"
            )
        whole = (numbers.astype(float) % 1 == 0).all()
        p.money_like = not whole
        lost = numbers.astype(float).abs() >= 2**53
        p.lost_digits = int(lost.sum()) if pd.api.types.is_float_dtype(numbers) else 0
        if pd.api.types.is_float_dtype(numbers) and whole:
            p.float_ids = len(numbers)
        return p
    p.text_values = distinct_text
    numeric = distinct_text.str.fullmatch(r"[+-]?\(?[\d.,' \xa0\u202f]*\d[\d.,' \xa0\u202f]*\)?-?")
    if len(distinct_text) and numeric.mean() >= 0.95:
        p.kind = "number"
        p.float_ids = int(distinct_text.str.fullmatch(r"[+-]?\d+\.0+").sum())
        p.money_like = bool(distinct_text.str.contains(r"[.,]\d{1,2}-?\)?$").any())
        return p
    p.kind = "text"
    if len(distinct_text) <= 12:
        p.words = sorted(distinct_text.astype(str).tolist(), key=str.casefold)
    p.currencies = (
        bool(distinct_text.str.fullmatch(CURRENCY_CODE).all()) and len(distinct_text) <= 30
    )
    return p


@dataclass
class Guess:
    """A source column placed in a section of a source (``columns``, ``derive_payments``,
    ``derive_customers``) under a canonical column."""

    section: str
    target: str
    column: str
    sure: bool
    why: str = ""


def guesses(
    inp: Input, table: str, profiles: dict[str, Profile]
) -> tuple[list[Guess], list[tuple[str, str]]]:
    """The columns placed by name (checked against content), then the required fields still
    missing filled by content (unsure)."""
    fields = ROLE_FIELDS[table]
    # a payments file with an invoice reference (SAP: BELNR the payment document, REBZG the
    # invoice): the document number is the payment's id
    referenced = table == "payments" and any(
        concept_of(c)[0] == "invoice_ref" for c in inp.frame.columns if c != "__file"
    )
    candidates: dict[tuple[str, str], list[tuple[int, int, Guess]]] = {}
    unused_concepts: dict[str, str] = {}
    for pos, col in enumerate(inp.frame.columns):
        if col == "__file":
            continue
        concept, how = concept_of(col)
        prof = profiles[col]
        if concept is None:
            continue
        if referenced and concept == "invoice_id":
            concept, how = "payment_id", f"{col!r} beside an invoice reference"
        if concept == "paid":  # by content: a date, an amount or a status word
            concept = {"date": "payment_date", "number": "paid_amount"}.get(prof.kind, "status")
            how = f"named {col!r}, holds {prof.describe()}"
        if concept not in fields:
            unused_concepts[col] = UNUSED_NOTES.get(concept, f"named like {concept}")
            continue
        section, target = fields[concept]
        if target in DATE_FIELDS and prof.kind not in ("date", "empty"):
            unused_concepts[col] = f"named like a date but holds {prof.describe()}"
            continue
        if target in NUMBER_FIELDS and prof.kind not in ("number", "empty"):
            unused_concepts[col] = f"named like a number but holds {prof.describe()}"
            continue
        if target == "currency" and prof.kind == "text" and not prof.currencies:
            unused_concepts[col] = "named like a currency but holds other than 3-letter codes"
            continue
        weak = concept in WEAK or how.startswith("resembles")
        rank = 2 if concept in FALLBACK else (1 if how.startswith("resembles") else 0)
        why = WEAK.get(concept, "") if concept in WEAK else ""
        if how.startswith("resembles"):
            why = f"the name {how}"
        candidates.setdefault((section, target), []).append(
            (rank, pos, Guess(section, target, col, not weak, why))
        )
    chosen: list[Guess] = []
    used: set[str] = set()
    for (_, target), cands in candidates.items():
        cands.sort(key=lambda c: (c[0], c[1]))
        best = cands[0][2]
        if target == "invoice_date" and cands[0][0] == 2 and len(cands) > 1:
            best.sure = False
            best.why = (
                f"one of several dates ({', '.join(repr(c[2].column) for c in cands)}): "
                "the first is taken as the invoice date"
            )
        chosen.append(best)
        used.add(best.column)
        for _, _, other in cands[1:]:
            concept, _ = concept_of(other.column)
            note = UNUSED_NOTES.get(concept or "", f"also named like {target}")
            unused_concepts.setdefault(other.column, note)
    # required fields nothing named: by content, unsure
    have = {g.target for g in chosen if g.section == "columns"}
    free = [
        c for c in inp.frame.columns if c not in used and c != "__file" and c not in unused_concepts
    ]
    for target in REQUIRED[table]:
        if target in have:
            continue
        pick = None
        if target in DATE_FIELDS:
            pick = next((c for c in free if profiles[c].kind == "date"), None)
        elif target == "amount":
            pick = next(
                (c for c in free if profiles[c].kind == "number" and profiles[c].money_like), None
            )
        if pick is not None:
            chosen.append(
                Guess(
                    "columns",
                    target,
                    pick,
                    False,
                    f"not named like {target}; its content ({profiles[pick].describe()}) fits",
                )
            )
            free.remove(pick)
            used.add(pick)

    def what(c: str) -> str:  # an unused column: what map knows of it, and what it holds
        known = unused_concepts.get(c)
        if known is None:
            return profiles[c].describe()
        return (
            known if known.startswith("named like") else f"{known}; holds {profiles[c].describe()}"
        )

    unused = [(c, what(c)) for c in inp.frame.columns if c != "__file" and c not in used]
    return chosen, unused
