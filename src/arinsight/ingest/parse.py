"""Source values to canonical values, strictly: a value that does not fit its declared format is
never reinterpreted; it is marked (quarantine) or stops the run (``on_bad_value: error``).

* **Numbers** written as text must match the declared format as a whole: an optional sign (or
  parentheses, or a trailing minus as SAP writes it), digits grouped by the declared ``thousands``
  separator (or not grouped at all), the declared ``decimal`` separator and decimals. With
  ``decimal: ","`` and ``thousands: "."``, ``1.234,50`` is 1234.50 and ``1,234.50`` is not a
  number. Leading and trailing spaces are ignored, spaces inside only when they are the thousands
  separator. Exponents (``1.5E+06``) are accepted only with ``decimal: "."`` and no thousands
  separator. ``inf``, ``nan`` and the like are not numbers. Numbers a workbook or a database stores
  as numbers are taken as they are (the text options do not apply to them).
* **Money** (invoice and payment amounts, credit limits, commission amounts) is exact to the cent
  at every size: text is converted to whole cents without passing through binary floating point
  (the ``_cents_<column>`` column holds them; the processed files store them as decimal(18,2)).
  The bound is :data:`MAX_MONEY` (16 digits before the decimal point, the range of decimal(18,2));
  larger values are ``out_of_range``. A money value with more than two decimals that are not
  zeros (``12.345``) is ``sub_cent`` (often a thousands separator read as a decimal point), unless
  the source sets ``round_money: true``: then it is rounded half away from zero to the cent.
* **Other numbers** (energy usage, payment terms, commission rate) are floats within
  ``|x| <= MAX_NUMBER``.
* **Dates** as text must match ``date_format`` exactly, or be ISO ``YYYY-MM-DD`` (optionally
  followed by a time, which is dropped) when no format is declared; ``2026-10`` is not a date.
  Dates before 1900-01-01 or after 2199-12-31 (placeholders such as ``9999-12-31``) are
  ``out_of_range``.
* **Yes/no** values: 1/0, true/false, t/f, yes/no, y/n, settled/unsettled, open (case-insensitive).

Each parser returns the parsed values and, per row, an empty string or the problem: ``"invalid"``,
``"out_of_range"`` or ``"sub_cent"``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

#: Money columns of each table: parsed to exact cents.
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("credit_limit",),
    "invoices": ("amount",),
    "payments": ("amount",),
    "commissions": ("commission_amount",),
    "adjustments": ("amount",),
    "disputes": ("amount",),
    "promises": ("amount",),
}
#: The largest money amount (in absolute value): the range of decimal(18, 2).
MAX_MONEY = Decimal("9999999999999999.99")
_MAX_CENTS = 999_999_999_999_999_999
#: The largest other number (energy usage, terms, rates) in absolute value.
MAX_NUMBER = 1e16
#: Dates outside this range are out_of_range (placeholders, typos of the year).
MIN_DATE, MAX_DATE = pd.Timestamp("1900-01-01"), pd.Timestamp("2199-12-31")

INVALID, OUT_OF_RANGE, SUB_CENT = "invalid", "out_of_range", "sub_cent"

_TRUE = {"1", "true", "t", "yes", "y", "settled"}
_FALSE = {"0", "false", "f", "no", "n", "open", "unsettled"}
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


def cents_column(column: str) -> str:
    """Name of the exact-cents companion of a money column."""
    return f"_cents_{column}"


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written as text in a source (``decimal``, ``thousands`` options)."""

    decimal: str = "."
    thousands: str | None = None
    round_money: bool = False

    def __post_init__(self) -> None:
        if len(self.decimal) != 1 or self.decimal.isdigit():
            raise ValueError(f"decimal: expected one non-digit character, got {self.decimal!r}")
        if self.thousands is not None and (
            len(self.thousands) != 1 or self.thousands.isdigit() or self.thousands == self.decimal
        ):
            raise ValueError(
                f"thousands: expected one non-digit character other than the decimal "
                f"separator, got {self.thousands!r}"
            )

    @property
    def plain_pattern(self) -> str:
        """The declared format as an RE2 expression (for Arrow): sign or parentheses or a
        trailing minus, digits (grouped by the thousands separator, or not), decimals, and an
        exponent only with decimal "." and no thousands separator."""
        d = re.escape(self.decimal)
        if self.thousands:
            t = re.escape(self.thousands)
            whole = rf"(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)"
            exp = ""
        else:
            whole = r"\d+"
            exp = r"(?:[eE][+-]?\d{1,4})?" if self.decimal == "." else ""
        body = rf"(?:{whole}(?:{d}\d*)?|{d}\d+){exp}"
        return rf"^(?:[+-]?{body}|{body}-|\({body}\))$"

    def simple_pattern(self, money: bool) -> str:
        """The plain values among those :attr:`plain_pattern` accepts: an optional minus, digits
        without leading zeros or separators, and decimals (for money at most 2, and at most 16
        digits before the decimal separator, so never sub_cent or out_of_range)."""
        d = re.escape(self.decimal)
        if money:
            return rf"^-?(?:0|[1-9]\d{{0,15}})(?:{d}\d{{1,2}})?$"
        return rf"^-?(?:0|[1-9]\d*)(?:{d}\d+)?$"


_NUMBER_TYPES = (int, float, np.integer, np.floating)


def _kinds(values: pd.Series) -> np.ndarray:
    """What each value of a column is: "text", "number", "decimal", "empty" or "other" (a
    date, a yes/no...). One C-level pass for columns of one type, per cell only when mixed."""
    blank = values.isna().to_numpy()
    if isinstance(values.dtype, pd.StringDtype) or pd.api.types.infer_dtype(
        values, skipna=True
    ) in ("string", "empty"):
        out = np.full(len(values), "text", dtype="<U7")
        text = values.astype(str).str.strip()
        out[blank | (text == "").to_numpy()] = "empty"
        return out
    codes, types = pd.factorize(values.map(type).to_numpy(dtype=object))  # a few distinct
    out = np.array([_kind_of_type(t) for t in types] + ["other"], dtype="<U7")[codes]
    out[blank] = "empty"
    text = out == "text"
    if text.any():
        stripped = values[text].astype(str).str.strip()
        out[np.flatnonzero(text)[(stripped == "").to_numpy()]] = "empty"
    return out


def _kind_of_type(t: type) -> str:
    if t is str:
        return "text"
    if t is Decimal:
        return "decimal"
    if issubclass(t, _NUMBER_TYPES) and not issubclass(t, bool):
        return "number"
    return "other"


def parse_numbers(
    values: pd.Series, fmt: NumberFormat, money: bool
) -> tuple[pd.Series, pd.Series | None, pd.Series]:
    """``(values float64, cents Int64 or None, problem)`` of one source column (see the module
    docstring). Missing and empty values are NaN without a problem."""
    index = values.index
    out = pd.Series(np.nan, index=index, dtype="float64")
    cents = pd.Series(pd.NA, index=index, dtype="Int64") if money else None
    problem = pd.Series("", index=index, dtype=object)
    if pd.api.types.is_bool_dtype(values):
        problem[values.notna()] = INVALID
        return out, cents, text_series(problem)
    if pd.api.types.is_numeric_dtype(values):
        _typed_numbers(values, money, fmt, out, cents, problem)
        return out, cents, text_series(problem)
    kinds = _kinds(values)
    text = kinds == "text"
    if text.any():
        _text_numbers(values[text].astype(str), fmt, money, out, cents, problem)
    typed = kinds == "number"
    if typed.any():
        _typed_numbers(values[typed].astype("float64"), money, fmt, out, cents, problem)
    exact = kinds == "decimal"
    for i in values.index[exact]:
        _one_decimal(values[i], money, fmt, i, out, cents, problem)
    problem[kinds == "other"] = INVALID
    return out, cents, text_series(problem)


def _typed_numbers(values, money, fmt, out, cents, problem) -> None:
    """Numbers stored as numbers (workbook cells, database columns): taken as they are."""
    v = values.astype("float64")
    ok = v.notna()
    bad = ok & ~np.isfinite(v)
    big = ok & ~bad & (v.abs() > (float(MAX_MONEY) if money else MAX_NUMBER))
    problem[bad[bad].index] = INVALID
    problem[big[big].index] = OUT_OF_RANGE
    good = ok & ~bad & ~big
    if money:
        scaled = v[good] * 100
        rounded = np.round(scaled)
        off = (scaled - rounded).abs() > 1e-6 * np.maximum(1.0, rounded.abs())
        if not fmt.round_money:
            problem[off[off].index] = SUB_CENT
            good = good & ~good.index.isin(off[off].index)
            rounded = rounded[~off]
        whole = rounded.astype("int64")
        cents[whole.index] = whole
        out[whole.index] = whole / 100
    else:
        out[good[good].index] = v[good]


def _one_decimal(value: Decimal, money, fmt, i, out, cents, problem) -> None:
    """A Decimal from a database: exact."""
    if not value.is_finite():
        problem[i] = INVALID
        return
    _from_decimal(value, money, fmt, i, out, cents, problem)


def _from_decimal(value: Decimal, money, fmt, i, out, cents, problem) -> None:
    if money:
        if abs(value) > MAX_MONEY:
            problem[i] = OUT_OF_RANGE
            return
        c = value * 100
        whole = c.to_integral_value(rounding=ROUND_HALF_UP)
        if c != whole and not fmt.round_money:
            problem[i] = SUB_CENT
            return
        cents[i] = int(whole)
        out[i] = int(whole) / 100
    else:
        if abs(value) > Decimal(MAX_NUMBER):
            problem[i] = OUT_OF_RANGE
            return
        out[i] = float(value)


def _text_numbers(text: pd.Series, fmt: NumberFormat, money, out, cents, problem) -> None:
    """Numbers written as text, parsed with Arrow's compute kernels (vectorised): the declared
    format is checked on the whole value, then the value is rewritten as a plain decimal
    ("-1234.50") and cast exactly (money to decimal(18, 2), others to float)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    s = text.str.strip()
    arr = pa.array(s.array)  # the Arrow strings themselves: no Python object per value
    if fmt.decimal in ".," and fmt.thousands != "-":
        # most values are plain ("1234.50"): checked by one pattern and cast as they are
        fast = np.asarray(pc.match_substring_regex(arr, fmt.simple_pattern(money)))
        if fast.any():
            _simple_numbers(
                pc.filter(arr, pa.array(fast)), text.index[fast], fmt, money, out, cents, problem
            )
            if fast.all():
                return
            text, arr = text[~fast], pc.filter(arr, pa.array(~fast))
    valid = pc.match_substring_regex(arr, fmt.plain_pattern)
    # negatives written "(1.000,00)" or "1.000,00-" become "-1.000,00"
    norm = pc.replace_substring_regex(arr, r"^\((.*)\)$", r"-\1")
    norm = pc.replace_substring_regex(norm, r"^([0-9.,' ]+)-$", r"-\1")
    if fmt.thousands:
        norm = pc.replace_substring(norm, fmt.thousands, "")
    if fmt.decimal != ".":
        norm = pc.replace_substring(norm, fmt.decimal, ".")
    norm = pc.replace_substring_regex(norm, r"^\+", "")
    norm = pc.replace_substring_regex(norm, r"^(-?)0+(\d)", r"\1\2")  # leading zeros
    norm = pc.replace_substring_regex(norm, r"^(-?)\.", r"\10.")  # ".5" -> "0.5"
    norm = pc.replace_substring_regex(norm, r"\.$", "")  # "5." -> "5"
    valid_np = np.asarray(valid.fill_null(False))
    idx = text.index
    problem[idx[~valid_np]] = INVALID
    exponent = valid_np & np.asarray(
        pc.match_substring(norm, "e", ignore_case=True).fill_null(False)
    )
    for pos in np.flatnonzero(exponent):  # rare: scientific notation, exact through Decimal
        try:
            value = Decimal(norm[int(pos)].as_py())
        except InvalidOperation:
            problem[idx[pos]] = INVALID
            continue
        _from_decimal(value, money, fmt, idx[pos], out, cents, problem)
    plain = valid_np & ~exponent
    if not plain.any():
        return
    keep = pa.array(plain)
    norm = pc.filter(norm, keep)
    where = idx[plain]
    if money:
        too_big = np.asarray(pc.match_substring_regex(norm, r"^-?\d{17,}"))
        sub = np.asarray(pc.match_substring_regex(norm, r"\.\d\d0*[1-9]"))
        problem[where[too_big]] = OUT_OF_RANGE
        rounding = sub & ~too_big
        if fmt.round_money:
            for pos in np.flatnonzero(rounding):
                _from_decimal(
                    Decimal(norm[int(pos)].as_py()), money, fmt, where[pos], out, cents, problem
                )
        else:
            problem[where[rounding]] = SUB_CENT
        ok = ~too_big & ~sub
        if not ok.any():
            return
        two = pc.replace_substring_regex(
            pc.filter(norm, pa.array(ok)), r"^(-?\d+\.\d{0,2})\d*$", r"\1"
        )
        dec = pc.cast(two, pa.decimal128(18, 2))
        from arinsight.money import cents_of

        c = cents_of(dec).to_numpy(dtype="int64")
        cents[where[ok]] = c
        out[where[ok]] = c / 100
    else:
        number = np.asarray(pc.cast(norm, pa.float64()))
        big = np.abs(number) > MAX_NUMBER
        problem[where[big]] = OUT_OF_RANGE
        out[where[~big]] = number[~big]


def _simple_numbers(arr, where: pd.Index, fmt: NumberFormat, money, out, cents, problem) -> None:
    """Values matching :meth:`NumberFormat.simple_pattern`: already in the plain form the other
    values are rewritten to, so they are cast directly (same results, a fraction of the work)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if fmt.decimal != ".":
        arr = pc.replace_substring(arr, fmt.decimal, ".")
    if money:
        from arinsight.money import cents_of

        c = cents_of(pc.cast(arr, pa.decimal128(18, 2))).to_numpy(dtype="int64")
        cents[where] = c
        out[where] = c / 100
    else:
        number = np.asarray(pc.cast(arr, pa.float64()))
        big = np.abs(number) > MAX_NUMBER
        problem[where[big]] = OUT_OF_RANGE
        out[where[~big]] = number[~big]


def parse_dates(values: pd.Series, date_format: Any) -> tuple[pd.Series, pd.Series]:
    """``(dates datetime64[us] at midnight, problem)``: see the module docstring."""
    index = values.index
    problem = np.full(len(values), "", dtype=object)
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.Series(pd.to_datetime(values).dt.tz_localize(None).dt.normalize(), index=index)
    else:
        stripped = None
        if isinstance(values.dtype, pd.StringDtype) or pd.api.types.infer_dtype(
            values, skipna=True
        ) in ("string", "empty"):
            stripped = values.astype(str).str.strip()
            empty = values.isna().to_numpy() | (stripped == "").to_numpy()
            kinds = np.where(empty, "empty", "text")
        else:
            kinds = values.map(_date_kind).to_numpy(dtype=object)
            other = kinds == "other"
            if other.any() and any(
                f and ("%Y%m%d" in f or f == EXCEL) for f in date_formats(date_format)
            ):
                # YYYYMMDD or an Excel serial stored as a number (20190405.0, 46127): its digits
                stripped = values.map(cell_text).astype(str).str.strip()
                kinds[other] = "text"
        out = pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
        typed = kinds == "date"
        if typed.any():
            out[typed] = pd.to_datetime(
                values[typed].map(
                    lambda v: (
                        pd.Timestamp(v).tz_localize(None)
                        if getattr(v, "tzinfo", None)
                        else pd.Timestamp(v)
                    )
                )
            ).dt.normalize()
        text = kinds == "text"
        if text.any():
            s = (stripped if stripped is not None else values.astype(str).str.strip())[text]
            parsed = parse_date_text(s, date_format)
            problem[np.flatnonzero(text)[parsed.isna().to_numpy()]] = INVALID
            if isinstance(parsed.dtype, np.dtype) and not typed.any():  # naive: in one step
                dates = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
                dates[text] = parsed.to_numpy().astype("datetime64[us]")
                out = pd.Series(dates, index=index)
            else:
                out[text] = parsed
        problem[kinds == "other"] = INVALID
    dates = out.to_numpy().astype("datetime64[us]")
    outside = ~np.isnat(dates) & (
        (dates < MIN_DATE.to_datetime64()) | (dates > MAX_DATE.to_datetime64())
    )
    problem[outside] = OUT_OF_RANGE
    dates[outside] = np.datetime64("NaT")
    return pd.Series(dates, index=index), text_series(problem, index)


def date_formats(date_format: Any) -> list[str | None]:
    """The formats a ``date_format`` option accepts, tried in order: one ``strftime`` format, or
    a list of them; ``iso`` (or no option) is the default ISO date, a time after it dropped."""
    if date_format is None or date_format == "":
        return [None]
    items = date_format if isinstance(date_format, list | tuple) else [date_format]
    out: list[str | None] = []
    for f in items:
        word = str(f).strip().lower()
        out.append(None if word == "iso" else EXCEL if word == EXCEL else str(f))
    return out


#: ``date_format: excel``: an Excel serial day number (46127 = 2026-04-15, 1900 date system, as
#: a number cell or its text ``46127`` / ``46127.0``); a fraction (a time of day) is dropped.
EXCEL = "excel"
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
#: Serials accepted: 61 (1900-03-01, after Excel's phantom 1900-02-29) to 2958465 (9999-12-31).
_EXCEL_RANGE = (61, 2958465)


def _excel_serials(text: pd.Series) -> pd.Series:
    """Text of Excel serial numbers to dates (NaT where it is not one in :data:`_EXCEL_RANGE`)."""
    whole = text.str.fullmatch(r"\d{1,7}(\.\d+)?")
    number = pd.to_numeric(text.where(whole), errors="coerce")
    ok = number.notna() & (number >= _EXCEL_RANGE[0]) & (number < _EXCEL_RANGE[1] + 1)
    days = np.floor(number.where(ok, 0).to_numpy()).astype("int64")
    dates = (_EXCEL_EPOCH + days.astype("timedelta64[D]")).astype("datetime64[ns]")
    return pd.Series(np.where(ok.to_numpy(), dates, np.datetime64("NaT")), index=text.index)


def parse_date_text(s: pd.Series, date_format: Any) -> pd.Series:
    """Dates written as text (stripped, none empty) to timestamps at midnight (NaT where they do
    not match any of the formats, tried in order: :func:`date_formats`), each distinct text
    parsed once: a ledger has far fewer distinct dates than rows."""
    codes, uniques = pd.factorize(s)
    distinct = pd.Series(uniques)
    parsed = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[ns]")
    for fmt in date_formats(date_format):
        todo = parsed.isna().to_numpy()
        if not todo.any():
            break
        text = distinct[todo]
        if fmt == EXCEL:
            got = _excel_serials(text)
        elif fmt is None:
            # the date as written: a time (and its offset) after it is dropped, not converted
            iso = text.str.fullmatch(_ISO)
            got = pd.to_datetime(text.str[:10].where(iso), format="%Y-%m-%d", errors="coerce")
        else:
            if "%Y%m%d" in fmt:  # 20190405.0: YYYYMMDD written by a float column
                text = text.str.replace(r"^(\d{8})\.0+$", r"\1", regex=True)
            got = pd.to_datetime(text, format=fmt, errors="coerce")
        parsed[todo] = got.to_numpy().astype("datetime64[ns]")
    out = parsed.dt.normalize().take(codes)
    out.index = s.index
    return out


def _per_distinct(values: pd.Series, func) -> pd.Series:
    """``values.map(func)`` computed once per distinct value (an object Series of the results).
    Object columns, whose equal-looking values may differ in type, are mapped cell by cell."""
    if values.dtype == object:
        return values.map(func)
    codes, uniques = pd.factorize(values)
    results = np.empty(len(uniques) + 1, dtype=object)
    results[: len(uniques)] = [func(u) for u in uniques]
    out = results[codes]  # code -1 (a missing value) picks the last slot, filled below
    missing = codes == -1
    if missing.any():
        out[missing] = values[missing].map(func).to_numpy(dtype=object)
    return pd.Series(out, index=values.index, dtype=object)


def _date_kind(value) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return "empty"
    if isinstance(value, str):
        return "text" if value.strip() else "empty"
    if isinstance(value, dt.date | pd.Timestamp | np.datetime64):
        return "date"
    return "other"


def parse_bools(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(booleans, problem)``: the yes/no words of the module docstring; anything else invalid."""
    if values.dtype != object:
        return _typed_bools(values)
    s = _per_distinct(values, _bool_text)
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[s.isin(_TRUE)] = True
    out[s.isin(_FALSE)] = False
    problem = pd.Series("", index=values.index, dtype=object)
    problem[(s != "") & out.isna()] = INVALID
    return out, text_series(problem)


def _typed_bools(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """:func:`parse_bools` of a typed column (integers from a database, booleans, text), decided
    once per distinct value (the missing cells one by one, as :func:`_per_distinct` maps them)."""
    codes, uniques = pd.factorize(values)
    words = [_bool_text(u) for u in uniques]
    is_true = np.array([w in _TRUE for w in words] + [False])[codes]
    is_false = np.array([w in _FALSE for w in words] + [False])[codes]
    filled = np.array([w != "" for w in words] + [False])[codes]
    missing = np.flatnonzero(codes == -1)
    if len(missing):
        words = values.iloc[missing].map(_bool_text).tolist()
        is_true[missing] = [w in _TRUE for w in words]
        is_false[missing] = [w in _FALSE for w in words]
        filled[missing] = [w != "" for w in words]
    known = is_true | is_false
    out = pd.Series(pd.arrays.BooleanArray(is_true, ~known), index=values.index)
    problem = np.where(filled & ~known, INVALID, "").astype(object)
    return out, text_series(problem, values.index)


def _bool_text(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | float | np.integer | np.floating):
        return str(int(value)) if float(value).is_integer() else str(value)
    return str(value).strip().lower()


def text_series(values: pd.Series | np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """``values.astype(str)`` for a column of Python strings that are mostly empty (problems,
    parse errors): only the non-empty ones are encoded, the Arrow string column is assembled
    from them directly. ``index`` for a numpy array (default: the Series' own)."""
    import pyarrow as pa

    if isinstance(values, pd.Series):
        index = values.index
        raw = values.to_numpy(dtype=object)
    else:
        raw = values
    try:
        filled = np.flatnonzero(raw != "")
        encoded = [raw[i].encode("utf-8") for i in filled]
    except (AttributeError, UnicodeEncodeError):  # not all text: the general conversion
        return pd.Series(raw, index=index, dtype=object).astype(str)
    lengths = np.zeros(len(raw), dtype="int64")
    lengths[filled] = [len(e) for e in encoded]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    arr = pa.LargeStringArray.from_buffers(
        len(raw), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))
    )
    out = arr.to_pandas()
    out.index = index if index is not None else pd.RangeIndex(len(raw))
    return out


def blank_as_missing(text: pd.Series) -> pd.Series:
    """``text.where(text != "")`` for a text column: empty strings become missing values."""
    if not isinstance(text.dtype, pd.StringDtype) or text.dtype.na_value is not np.nan:
        return text.where(text != "")
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(text.array)
    kept = pc.if_else(pc.equal(arr, ""), pa.scalar(None, type=arr.type), arr)
    out = kept.to_pandas()
    out.index = text.index
    return out


def constant_text(value: str, index: pd.Index) -> pd.Series:
    """A text column holding ``value`` on every row (a file name), its Arrow buffers built
    directly (the bytes repeated, evenly spaced offsets)."""
    import pyarrow as pa

    encoded, n = value.encode("utf-8"), len(index)
    offsets = np.arange(n + 1, dtype="int64") * len(encoded)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(encoded * n))
    out = arr.to_pandas()
    out.index = index
    return out


def missing_text(index: pd.Index) -> pd.Series:
    """A text column missing on every row (``blank_as_missing(constant_text("", index))``)."""
    import pyarrow as pa

    out = pa.nulls(len(index), pa.large_string()).to_pandas()
    out.index = index
    return out


def cell_text(value) -> str:
    """One value as text for a text column (ids, names, codes): numbers stored as whole floats
    lose their ".0" (ids stored as REAL), dates become ISO, missing values ""."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, pd.Timestamp | np.datetime64 | dt.datetime | dt.date):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, float | np.floating) and float(value).is_integer() and abs(value) < 1e18:
        return str(int(value))
    return str(value)


def as_text(values: pd.Series) -> pd.Series:
    """A source column as stripped text (see :func:`cell_text`), vectorised for typed columns."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.fillna("").astype(str).str.strip()
    if pd.api.types.is_string_dtype(values) and pd.api.types.infer_dtype(values, skipna=True) in (
        "string",
        "empty",
    ):
        text = values
    elif pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_integer_dtype(values):
        text = values.astype(str)
    else:
        text = _per_distinct(values, cell_text)
    return text.astype(object).where(values.notna(), "").astype(str).str.strip()
