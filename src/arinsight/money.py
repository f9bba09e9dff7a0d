"""Money exact to the cent at every size a ledger can have.

Ingest reads money as whole cents (:mod:`arinsight.ingest.parse`); cleaning keeps them beside the
float amounts in ``_cents_<column>``; the processed parquet files store money as
``decimal(18, 2)`` (:data:`MONEY_TYPE`, up to 9,999,999,999,999,999.99), which the query engine
sums exactly. pandas code (figures, the risk model) reads the float amounts, exact to the cent
up to about 90 trillion; KPIs come from the exact columns. :func:`to_decimal` gives a Python
:class:`~decimal.Decimal` of a cents value, which the JSON writer writes as an exact number.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, getcontext

import numpy as np
import pandas as pd
import pyarrow as pa

MONEY_TYPE = pa.decimal128(18, 2)
_CENT = Decimal("0.01")


def decimal_array(cents: pd.Series) -> pa.Array:
    """A ``decimal(18, 2)`` Arrow array holding exactly ``cents / 100`` (nulls kept), built from
    the unscaled integers without any floating-point step."""
    values = pd.array(cents, dtype="Int64")
    mask = values.isna()
    low = values.to_numpy(dtype="int64", na_value=0)
    words = np.empty((len(low), 2), dtype="<i8")
    words[:, 0] = low
    words[:, 1] = np.where(low < 0, -1, 0)  # two's complement sign extension to 128 bits
    validity = None
    if mask.any():
        validity = pa.array(~np.asarray(mask)).buffers()[1]
    return pa.Array.from_buffers(
        MONEY_TYPE, len(low), [validity, pa.py_buffer(words.tobytes())], null_count=int(mask.sum())
    )


def cents_of(array: pa.Array | pa.ChunkedArray) -> pd.Series:
    """The whole cents of a ``decimal(18, 2)`` array (nullable Int64), exactly."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_decimal(array.type) or array.type.scale != 2:
        raise TypeError(f"expected decimal(18, 2), got {array.type}")
    words = np.frombuffer(array.buffers()[1], dtype="<i8")[2 * array.offset :][: 2 * len(array)]
    low = words[0::2].copy()
    out = pd.array(low, dtype="Int64")
    if array.null_count:
        out[np.asarray(array.is_null())] = pd.NA
    return pd.Series(out)


def to_decimal(cents: int | None) -> Decimal | None:
    """A cents value as an exact Decimal with two places (None stays None)."""
    if cents is None or cents is pd.NA:
        return None
    return Decimal(int(cents)).scaleb(-2).quantize(_CENT)


def convert(cents: pd.Series, rate: pd.Series) -> pd.Series:
    """``cents x rate`` rounded half up to the cent, exactly (rates as Decimal; rows with rate 1
    are copied as they are).

    The rows of one rate are converted together in whole numbers: a rate ``m x 10^e`` (``m``
    its digits) gives ``cents x m``, divided by ``10^-e`` with halves rounded away from zero,
    which is what :class:`~decimal.Decimal` computes as long as ``cents x m`` fits the decimal
    context's precision (28 digits); rows beyond it are computed with Decimal, one by one."""
    out = pd.Series(pd.array(cents, dtype="Int64"), index=cents.index)
    present = out.notna().to_numpy()
    codes, distinct = pd.factorize(rate.to_numpy(dtype=object))
    for k, r in enumerate(distinct):
        if r == 1:
            continue
        rows = np.flatnonzero((codes == k) & present)
        if len(rows):
            _convert_rows(out, rows, r)
    missing_rate = np.flatnonzero((codes == -1) & present)  # no rate: fails as Decimal does
    for pos in missing_rate:
        _convert_rows(out, np.array([pos]), rate.iloc[pos], exact=False)
    return out


def _convert_rows(out: pd.Series, rows: np.ndarray, rate, exact: bool = True) -> None:
    """Convert ``out`` at positions ``rows`` (all present) by one rate, in place."""
    values = out.to_numpy(dtype="int64", na_value=0)[rows].astype(object)  # Python ints
    if exact and isinstance(rate, Decimal) and rate.is_finite():
        sign, digits, exponent = rate.as_tuple()
        m = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        largest = max(abs(int(v)) for v in (values.min(), values.max())) * abs(m)
        largest *= 10 ** max(exponent, 0)  # the digits of the result
        if largest < 10 ** getcontext().prec:
            product = values * m
            if exponent >= 0:
                result = product * 10**exponent
            else:
                q = 10**-exponent
                magnitude = (np.abs(product) + q // 2) // q  # half away from zero
                result = np.where(product < 0, -magnitude, magnitude)
            if all(abs(int(v)) < 2**63 for v in (result.min(), result.max())):
                out.iloc[rows] = result.astype("int64")
                return
    for pos, value in zip(rows, values, strict=True):
        converted = Decimal(int(value)) * rate
        out.iloc[pos] = int(converted.quantize(Decimal(1), rounding=ROUND_HALF_UP))
