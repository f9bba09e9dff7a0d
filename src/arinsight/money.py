"""Money exact to the cent at every size a ledger can have.

Ingest reads money as whole cents (:mod:`arinsight.ingest.parse`); cleaning keeps them beside the
float amounts in ``_cents_<column>``; the processed parquet files store money as
``decimal(18, 2)`` (:data:`MONEY_TYPE`, up to 9,999,999,999,999,999.99), which the query engine
sums exactly. pandas code (figures, the risk model) reads the float amounts, exact to the cent
up to about 90 trillion; KPIs come from the exact columns. :func:`to_decimal` gives a Python
:class:`~decimal.Decimal` of a cents value, which the JSON writer writes as an exact number.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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
    are copied as they are)."""
    out = pd.Series(pd.array(cents, dtype="Int64"), index=cents.index)
    one = rate.map(lambda r: r == 1)
    for i in out.index[~one.to_numpy(dtype=bool) & out.notna().to_numpy()]:
        value = Decimal(int(out[i])) * rate[i]
        out[i] = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return out
