"""Parts: how a ledger too large to process at once is split so that its parts add up to it.

Every figure the engine sums per invoice (positions, late payments) depends only on an invoice
and the payments that carry its id, so any split of the invoice ids splits the work exactly:
each part reads the invoices of its ids and the payments applied to them, and the parts' sums
add up to the whole. Payments without an invoice id (unapplied cash) form a part of their own.

Two kinds of split, chosen by :func:`plan_parts`:

- **ranges** of ``invoice_id`` (``lo <= invoice_id < hi``), with bounds read from the row-group
  statistics of ``invoices.parquet`` when its row groups hold disjoint id ranges (clean writes
  the invoices ordered by invoice id). DuckDB then skips every invoice row group outside a
  range, and so for payments and commissions when their files are ordered by invoice id too
  (a lake or ERP export often is; clean orders payments by payment id, and then every part
  reads every payment, still correctly): each part reads about 1/n of the invoices;
- **hashes** of the id (``hash(key) % n = k``) when the statistics give no ordered ranges (a
  file ordered otherwise, or written without statistics): every part reads every row.

Nothing here imports Ibis: the plan path of :mod:`arinsight.engine.duck` chooses parts too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

#: Payments per part when the positions are computed in hash parts (every part reads every
#: row: few parts, each as large as memory allows).
PAYMENTS_PER_PART = 100_000_000

#: Payments per part when the parts are ranges of invoice ids over a file ordered by them
#: (each part reads its own row groups: smaller parts cost little and keep memory low; 10
#: parts measured fastest at 200M payments, one part up to the 20M of 10M invoices).
PAYMENTS_PER_RANGE = 20_000_000


def parts_for(payments: int, params: Mapping[str, Any], ranges: bool = False) -> int:
    """How many parts DuckDB computes the positions in: ``params["engine_parts"]``, else one per
    :data:`PAYMENTS_PER_RANGE` payments when the parts can be ``ranges`` of ordered invoice ids,
    one per :data:`PAYMENTS_PER_PART` otherwise (its hash tables then fit in memory)."""
    if params.get("engine_parts"):
        return max(1, int(params["engine_parts"]))
    per = PAYMENTS_PER_RANGE if ranges else PAYMENTS_PER_PART
    return max(1, -(-int(payments) // per))


class Part(NamedTuple):
    """One part of the invoice ids.

    ``kind``: ``"all"`` (no split), ``"hash"`` (ids whose key hashes to ``k`` of ``n``;
    unapplied cash by its customer key), ``"range"`` (ids ``lo <= invoice_id < hi``, a None
    bound open; no unapplied cash) or ``"unapplied"`` (payments without an invoice id alone).
    """

    kind: str = "all"
    k: int = 0
    n: int = 1
    lo: str | None = None
    hi: str | None = None


WHOLE = (Part(),)


def hash_parts(n: int) -> tuple[Part, ...]:
    """``n`` parts by the hash of the key (one part: the whole)."""
    if n <= 1:
        return WHOLE
    return tuple(Part("hash", k, n) for k in range(n))


def range_parts(bounds: Sequence[str]) -> tuple[Part, ...]:
    """The ranges cut at ``bounds`` (ascending, distinct) and the unapplied-cash part: the
    first range has no lower bound and the last no upper bound, so every id is in one."""
    edges = [None, *bounds, None]
    ranges = tuple(
        Part("range", i, len(edges) - 1, lo, hi)
        for i, (lo, hi) in enumerate(zip(edges, edges[1:], strict=False))
    )
    return (*ranges, Part("unapplied", len(ranges), len(ranges) + 1))


def range_bounds(row_groups: Sequence[tuple[str | None, str | None, int]], n: int) -> list[str]:
    """Bounds that cut ordered row groups into ``n`` ranges of about equal rows.

    ``row_groups``: (min, max, rows) of ``invoice_id`` per row group. The groups must be
    disjoint once sorted by min (a file ordered by invoice id, whatever order its groups were
    written in); otherwise, or without statistics, there are no useful ranges: ``[]``.
    """
    groups = sorted(row_groups, key=lambda g: (g[0] is None, g[0] or ""))
    if n <= 1 or not groups or any(g[0] is None or g[1] is None for g in groups):
        return []
    if any(a[1] >= b[0] for a, b in zip(groups, groups[1:], strict=False)):
        return []
    total = sum(g[2] for g in groups)
    bounds, seen = [], 0
    for low, _, rows in groups:
        # cut before this group when its middle is past the next target: the group boundary
        # nearest to each multiple of total / n (a boundary is never cut twice)
        if seen > 0 and seen + rows / 2 > total * (len(bounds) + 1) / n:
            bounds.append(low)
        seen += rows
    return bounds


def plan_parts(
    n: int, row_groups: Sequence[tuple[str | None, str | None, int]] | None
) -> tuple[Part, ...]:
    """``n`` parts: ranges of invoice ids when ``row_groups`` (the invoice-id statistics of the
    invoices file) are ordered, else hashes; one part is the whole."""
    if n <= 1:
        return WHOLE
    bounds = range_bounds(row_groups or (), n)
    return range_parts(bounds) if bounds else hash_parts(n)
