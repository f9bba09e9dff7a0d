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

import numpy as np
import pandas as pd

#: Money columns of each table: parsed to exact cents.
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("credit_limit",),
    "invoices": ("amount",),
    "payments": ("amount",),
    "commissions": ("commission_amount",),
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
    def pattern(self) -> re.Pattern:
        d = re.escape(self.decimal)
        if self.thousands:
            t = re.escape(self.thousands)
            whole = rf"(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)"
            exp = ""
        else:
            whole = r"\d+"
            exp = r"(?:[eE](?P<exp>[+-]?\d{1,4}))?" if self.decimal == "." else ""
        body = rf"(?P<int>{whole})?(?:{d}(?P<frac>\d*))?{exp}"
        return re.compile(
            rf"^(?:(?P<sign>[+-])?{body}(?P<trail>-)?|\((?P<psign>){body.replace('?P<', '?P<p')}\))$"
        )


def _empty(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype(str).str.strip() == "")


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
        return out, cents, problem.astype(str)
    if pd.api.types.is_numeric_dtype(values):
        _typed_numbers(values, money, fmt, out, cents, problem)
        return out, cents, problem.astype(str)
    kinds = values.map(_kind)
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
    return out, cents, problem.astype(str)


def _kind(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "empty"
    if isinstance(value, str):
        return "text" if value.strip() else "empty"
    if isinstance(value, bool | np.bool_):
        return "other"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    return "other"


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
    s = text.str.strip()
    g = s.str.extract(fmt.pattern)
    # parentheses use the "p"-prefixed groups: fold them into the plain ones (negative)
    for name in ("int", "frac", "exp"):
        if f"p{name}" in g:
            g[name] = g[name].where(g[name].notna(), g[f"p{name}"])
    if "exp" not in g:
        g["exp"] = np.nan
    matched = s.str.fullmatch(fmt.pattern)
    has_digits = g["int"].notna() | g["frac"].fillna("").ne("")
    valid = matched & has_digits & ~(g["sign"].notna() & g["trail"].notna())
    problem[valid[~valid].index] = INVALID
    g = g[valid]
    if g.empty:
        return
    negative = (
        g["sign"].eq("-") | g["trail"].eq("-") | g["psign"].notna()
        if "psign" in g
        else g["sign"].eq("-") | g["trail"].eq("-")
    )
    whole = g["int"].fillna("0")
    if fmt.thousands:
        whole = whole.str.replace(fmt.thousands, "", regex=False)
    whole = whole.str.lstrip("0").replace("", "0")
    frac = g["frac"].fillna("")
    with_exp = g["exp"].notna()
    for i in g.index[with_exp]:  # rare: scientific notation, exact through Decimal
        try:
            value = Decimal(f"{whole[i]}.{frac[i] or '0'}e{g.at[i, 'exp']}")
        except InvalidOperation:
            problem[i] = INVALID
            continue
        _from_decimal(-value if negative[i] else value, money, fmt, i, out, cents, problem)
    plain = g.index[~with_exp]
    whole, frac, negative = whole[plain], frac[plain], negative[plain]
    if money:
        too_big = whole.str.len() > 16
        problem[too_big[too_big].index] = OUT_OF_RANGE
        extra = frac.str[2:].str.rstrip("0")
        round_up = extra.ne("") & extra.str[:1].ge("5")
        if fmt.round_money:
            sub = pd.Series(False, index=frac.index)
        else:
            sub = extra.ne("")
            problem[sub[sub & ~too_big].index] = SUB_CENT
        keep = ~too_big & ~sub
        if not keep.any():
            return
        two = frac[keep].str[:2].str.ljust(2, "0")
        c = whole[keep].astype("int64") * 100 + two.astype("int64") + round_up[keep].astype("int64")
        c = c.where(~negative[keep], -c)
        over = c.abs() > _MAX_CENTS
        problem[over[over].index] = OUT_OF_RANGE
        c = c[~over]
        cents[c.index] = c
        out[c.index] = c / 100
    else:
        number = pd.to_numeric(whole + "." + frac.replace("", "0"), errors="coerce")
        number = number.where(~negative, -number)
        big = number.abs() > MAX_NUMBER
        problem[big[big].index] = OUT_OF_RANGE
        out[number[~big].index] = number[~big]


def parse_dates(values: pd.Series, date_format: str | None) -> tuple[pd.Series, pd.Series]:
    """``(dates datetime64[us] at midnight, problem)``: see the module docstring."""
    index = values.index
    problem = pd.Series("", index=index, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.Series(pd.to_datetime(values).dt.tz_localize(None).dt.normalize(), index=index)
    else:
        kinds = values.map(_date_kind)
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
            s = values[text].astype(str).str.strip()
            if date_format:
                parsed = pd.to_datetime(s, format=date_format, errors="coerce")
            else:
                # the date as written: a time (and its offset) after it is dropped, not converted
                iso = s.str.fullmatch(_ISO)
                parsed = pd.to_datetime(s.str[:10].where(iso), format="%Y-%m-%d", errors="coerce")
            problem[parsed[parsed.isna()].index] = INVALID
            out[text] = parsed.dt.normalize()
        problem[kinds == "other"] = INVALID
    out = out.astype("datetime64[us]")
    outside = out.notna() & ((out < MIN_DATE) | (out > MAX_DATE))
    problem[outside[outside].index] = OUT_OF_RANGE
    out = out.where(~outside)
    return out, problem.astype(str)


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
    s = values.map(_bool_text)
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[s.isin(_TRUE)] = True
    out[s.isin(_FALSE)] = False
    problem = pd.Series("", index=values.index, dtype=object)
    problem[(s != "") & out.isna()] = INVALID
    return out, problem.astype(str)


def _bool_text(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | float | np.integer | np.floating):
        return str(int(value)) if float(value).is_integer() else str(value)
    return str(value).strip().lower()


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
        text = values.map(cell_text)
    return text.astype(object).where(values.notna(), "").astype(str).str.strip()
