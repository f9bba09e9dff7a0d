"""Bounded work: a stratified training sample and a sample of the invoices open at past origins,
both drawn from seeded hashes of the ids, so the same ledger and seed give the same rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Training rows per model (:func:`training_sample`); None in :func:`compute` = no cap.
DEFAULT_MAX_TRAIN_ROWS = 10_000


#: Open invoices whose timing the model predicts per backtest month end (:func:`inclusion`).
DEFAULT_BACKTEST_SAMPLE = 10_000


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: uint64 -> uint64, every input bit spread over the output."""
    x = np.array(x, dtype=np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def id_hash(ids: pd.Series, seed: int) -> np.ndarray:
    """A uint64 per id from its text and the seed only (not from its row or the other rows)."""
    h = pd.util.hash_array(ids.astype(str).to_numpy(dtype=object), categorize=False)
    with np.errstate(over="ignore"):
        return _mix(h ^ _mix(np.uint64(int(seed) % 2**64) * _GOLDEN))


def uniform(base: np.ndarray, salt: np.ndarray | int) -> np.ndarray:
    """Uniform numbers in [0, 1) from the ids' hashes and a salt (a bin, an origin day)."""
    with np.errstate(over="ignore"):
        salted = base + (np.asarray(salt).astype(np.int64).astype(np.uint64) + 1) * _GOLDEN
    return (_mix(salted) >> np.uint64(11)).astype(float) / 2.0**53


def sample_keys(ids: pd.Series, seed: int = 42, salt: Any = 0) -> np.ndarray:
    """Seeded uniform keys in [0, 1) for the ids (same id, seed and salt: same key, whatever
    the table it is in); the samples below keep the rows with the smallest keys."""
    return uniform(id_hash(ids, seed), salt)


def training_sample(
    strata: np.ndarray, keys: np.ndarray, cap: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """A stratified sample of at most ``cap`` rows: (positions ascending, weight factors).

    With N rows, N_s in stratum s: stratum s keeps n_s = its share ``cap x N_s / N`` rounded by
    largest remainder (the floors, then +1 for the largest fractions until the n_s sum to
    ``cap``; ties to the lower stratum), its n_s rows with the smallest ``keys``. Each kept row's
    weight is multiplied by ``(N_s / n_s) / (N / cap)``, so every stratum keeps its weight share
    exactly. At most ``cap`` rows (or ``cap`` None): every row, factor 1.
    """
    n = len(strata)
    if cap is None or n <= cap:
        return np.arange(n), np.ones(n)
    strata, keys = np.asarray(strata), np.asarray(keys)
    new = np.r_[True, strata[1:] != strata[:-1]]
    if (strata[1:] >= strata[:-1]).all() and (new[1:] | (keys[1:] >= keys[:-1])).all():
        inverse, order = np.cumsum(new) - 1, np.arange(n)  # already by stratum, then key
    else:
        inverse = np.unique(strata, return_inverse=True)[1].ravel()
        order = np.lexsort((keys, inverse))  # by stratum, then key (ties: row order)
    counts = np.bincount(inverse)
    quota = counts * (cap / n)
    take = np.floor(quota).astype(np.int64)
    rest = int(cap - take.sum())
    take[np.argsort(-(quota - take), kind="stable")[:rest]] += 1
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[inverse[order]]
    kept = np.flatnonzero(rank < take[inverse])
    s = inverse[kept]
    return kept, (counts[s] / take[s]) / (n / cap)


def inclusion(amounts: np.ndarray, size: int | None) -> np.ndarray:
    """Inclusion probabilities proportional to the amount, summing to ``size``: pi = min(1, c A)
    (the largest amounts are certain; c solves sum pi = size). All 1 when there are at most
    ``size`` amounts (or ``size`` None). An invoice is in the sample when its key < pi and
    then stands for 1 / pi invoices (Horvitz-Thompson: the weighted sum is unbiased)."""
    a = np.asarray(amounts, dtype=float)
    if size is None or len(a) <= size or a.sum() <= 0:
        return np.ones(len(a))
    s = np.sort(a)[::-1]
    suffix = np.cumsum(s[::-1])[::-1]  # suffix[k] = sum of all but the k largest
    k = np.arange(size)
    c = (size - k) / np.where(suffix[k] > 0, suffix[k], np.inf)
    ok = c * s[k] < 1
    c0 = c[int(np.argmax(ok))] if ok.any() else c[-1]
    return np.minimum(1.0, c0 * a)


def hash_ids(ids: Any, seed: int, chunk: int = 1_000_000) -> np.ndarray:
    """:func:`id_hash` of an Arrow array of ids, a chunk at a time (never all as Python strings)."""
    out = np.empty(len(ids), dtype=np.uint64)
    for start in range(0, len(ids), chunk):
        part = ids.slice(start, chunk).to_pandas()
        out[start : start + len(part)] = id_hash(part, seed)
    return out
