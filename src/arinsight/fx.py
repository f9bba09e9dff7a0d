"""Exchange rates: constant or dated, and the rate each invoice is converted at.

A rate says what 1 unit of a currency is worth in the reporting currency (``CAD: 0.73`` in a
USD ledger: 1 CAD = 0.73 USD). Three ways to give them, in the sources file or the parameters
(docs/own-data.md, "Currencies and company codes")::

    fx_rates: {CAD: 0.73}                                   # one rate for every date
    fx_rates: {CAD: {2026-01-01: 0.74, 2026-02-01: 0.73}}   # dated rates
    fx_rates: rates.csv                                     # a file: currency, date, rate

**The rule**: an invoice is converted at the rate of its currency dated **on or before its
invoice date**, the latest such (a rate of 2026-02-01 serves invoices dated 2026-02-01 up to the
day before the next rate). A constant rate serves every date. An invoice dated before the first
rate of its currency has no rate: it is quarantined as ``unknown_currency`` and ``check`` names
the currency and the first rate's date. Payments applied to an invoice are converted at that
invoice's rate, so an invoice paid in full in its currency is paid in full in the reporting
currency (a realised exchange gain or loss is not a receivable).

Rates are kept as :class:`~decimal.Decimal` of their written digits (``0.7325`` is exactly
0.7325, not the nearest float), so conversions are exact before the one rounding: see
:func:`arinsight.money.convert` (each amount, per invoice and per payment, to the cent, half up).

It imports only :mod:`arinsight.config` and :mod:`arinsight.errors` of ours.
"""

from __future__ import annotations

import contextlib
import csv
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arinsight.errors import ConfigError
from arinsight.periods import iso_day

if TYPE_CHECKING:
    import pandas as pd

#: The columns of a rates file (case and surrounding spaces ignored; other columns ignored).
RATE_COLUMNS = ("currency", "date", "rate")

#: A currency's rates: one number (every date) or {"YYYY-MM-DD": rate} in date order.
Rates = dict[str, float | dict[str, float]]


def currency_code(value: Any, where: str) -> str:
    """An ISO 4217 code as three capital letters (``usd`` -> ``USD``: codes are case-blind),
    else a ConfigError naming ``where``."""
    text = str(value).strip() if isinstance(value, str) else ""
    if not re.fullmatch(r"[A-Za-z]{3}", text):
        raise ConfigError(f"{where}: {value!r} is not a currency code (three letters, e.g. USD)")
    return text.upper()


def _rate(value: Any, where: str, code: str) -> float:
    given = value
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value, number = float(value.strip()), True
    if not number or not math.isfinite(value) or value <= 0:
        why = "is not a number" if not number else "must be a positive number"
        raise ConfigError(
            f"{where}: {given!r} {why} (1 {code} = rate x the reporting currency, e.g. 1.08)"
        )
    return float(value)


def rates_of(value: Any, where: str, base: Path | None = None) -> Rates:
    """``fx_rates`` as given (a mapping of constant or dated rates, or a rates file's path,
    relative to ``base``) as ``{code: rate}`` / ``{code: {day: rate}}``, checked: codes in
    capitals, rates positive numbers, dates real days; else a ConfigError naming ``where``,
    the code and the value (a file's error names the file, the column and the row)."""
    if value is None:
        return {}
    if isinstance(value, str | Path):
        path = Path(value)
        if not path.is_absolute() and base is not None:
            path = base / path
        return read_rates_file(path)
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{where}: fx_rates must map currency codes to rates ({{EUR: 1.08}}), to dated rates "
            "({EUR: {2026-01-01: 1.08}}), or name a rates file (columns currency, date, rate)"
        )
    out: Rates = {}
    for code, rate in value.items():
        key = currency_code(code, f"{where}: fx_rates")
        if isinstance(rate, Mapping):
            if not rate:
                raise ConfigError(f"{where}: fx_rates.{key}: no dated rate given")
            dated = {
                iso_day(day, f"{where}: fx_rates.{key}"): _rate(r, f"{where}: fx_rates.{key}", key)
                for day, r in rate.items()
            }
            out[key] = dict(sorted(dated.items()))
        else:
            out[key] = _rate(rate, f"{where}: fx_rates.{key}", key)
    return out


def read_rates_file(path: Path) -> Rates:
    """A rates file (CSV, ``,`` or ``;``, UTF-8): one row per currency and date with the columns
    of :data:`RATE_COLUMNS`; the same currency and date twice with two rates is an error."""
    if not path.is_file():
        raise ConfigError(f"{path}: rates file not found")
    text = path.read_text(encoding="utf-8-sig")
    delimiter = (
        ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    )
    rows = csv.reader(text.splitlines(), delimiter=delimiter)
    header = [h.strip().lower() for h in next(rows, [])]
    missing = [c for c in RATE_COLUMNS if c not in header]
    if missing:
        raise ConfigError(
            f"{path}: a rates file needs the columns currency, date, rate; missing {missing} "
            f"(columns present: {header})"
        )
    at = {c: header.index(c) for c in RATE_COLUMNS}
    out: dict[str, dict[str, float]] = {}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {c: (row[i] if i < len(row) else "") for c, i in at.items()}
        where = f"{path}, row {line}"
        code = currency_code(cells["currency"], f"{where}, column 'currency'")
        day = iso_day(cells["date"], f"{where}, column 'date'")
        rate = _rate(cells["rate"], f"{where}, column 'rate'", code)
        seen = out.setdefault(code, {})
        if day in seen and seen[day] != rate:
            raise ConfigError(f"{where}: {code} on {day} has two rates, {seen[day]} and {rate}")
        seen[day] = rate
    return {code: dict(sorted(days.items())) for code, days in sorted(out.items())}


def merge(*layers: Mapping[str, Any] | None) -> Rates:
    """Rates of several layers (parameters, then the sources file): a later layer's currency
    replaces an earlier one's rates whole."""
    out: Rates = {}
    for layer in layers:
        out.update(dict(layer or {}))
    return out


def _decimal(rate: float) -> Decimal:
    """A rate as the Decimal of its shortest written form (0.7325 exactly)."""
    try:
        return Decimal(repr(float(rate)))
    except InvalidOperation:  # pragma: no cover - rates are checked finite
        raise ConfigError(f"{rate!r} is not a rate") from None


def invoice_rates(
    currency: pd.Series, dates: pd.Series, rates: Mapping[str, Any], reporting: str
) -> tuple[pd.Series | None, pd.Series | None, pd.Series]:
    """Per invoice (``currency``: its document currency, null = the reporting one; ``dates``:
    its invoice date) the rate it is converted at (a Decimal; None when there is none), the
    date of that rate (NaT for a constant rate and the reporting currency) and, where there is
    no rate, why (``"no rate for CAD"``, or ``"no rate for CAD on or before 2026-01-03
    (first: 2026-02-01)"``); "" elsewhere. When every invoice is in the reporting currency the
    first two are None (every rate 1, no date). The rule: the latest rate dated on or before the
    invoice date (module docstring)."""
    import numpy as np
    import pandas as pd

    index = currency.index
    code = currency.fillna(reporting).astype(str)
    if code.eq(reporting).all():  # one currency: nothing to look up (None: every rate is 1)
        return None, None, pd.Series("", index=index, dtype=object)
    rate = pd.Series(None, index=index, dtype=object)
    rate_date = pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
    why = pd.Series("", index=index, dtype=object)
    rate[code.eq(reporting).to_numpy()] = Decimal(1)
    day = pd.to_datetime(dates).astype("datetime64[us]")
    for cur in code.unique():
        if cur == reporting:
            continue
        rows = np.flatnonzero(code.eq(cur).to_numpy())
        given = rates.get(cur)
        if given is None:
            why.iloc[rows] = f"no rate for {cur}"
            continue
        if not isinstance(given, Mapping):
            rate.iloc[rows] = _decimal(given)
            continue
        days = np.array([np.datetime64(d, "us") for d in given], dtype="datetime64[us]")
        values = [_decimal(v) for v in given.values()]
        inv_days = day.iloc[rows].to_numpy()
        at = np.searchsorted(days, inv_days, side="right") - 1  # the latest day <= invoice date
        ok = at >= 0
        rate.iloc[rows[ok]] = [values[i] for i in at[ok]]
        rate_date.iloc[rows[ok]] = days[at[ok]]
        first = next(iter(given))
        late = rows[~ok]
        why.iloc[late] = [
            f"no rate for {cur} on or before {d:%Y-%m-%d} (first: {first})" for d in day.iloc[late]
        ]
    return rate, rate_date, why
