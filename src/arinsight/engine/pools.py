"""The provision matrix's history, summed per pool in the engine: a 10M-invoice ledger never
comes into pandas.

:mod:`arinsight.provision` measures loss rates from how open balances moved between month ends
(docs/provision.md). Per invoice that is one row per month end it was open at, tens of millions
of rows for a large ledger over a few years; the rates only need their sums. This layer keeps
the rows in the engine and returns small tables (:meth:`Pools.history`, by
:func:`pool_tables`), each summed per month end O and per invoice attribute a pool may be cut
by (:data:`SEGMENTS`: the region it is reported under, its industry, its customer type):

- ``balances``: the open amount per bucket at O;
- ``moves``: per (bucket, next_bucket, stayed) the balance at O of the invoices open at O,
  their open amount at the next month end O' (``next_bucket`` -1: settled by O', next balance
  0) and their write-offs dated in (O, O'], each invoice's capped at its balance at O;
- ``followed`` (per region and O only): the write-offs dated in (O, O + ``horizon`` months] on
  the invoices open at O, each capped at its balance at O (the backtest's actual losses);
- ``ledger``: per region its first invoice date.

The run computes them once for every region (:mod:`arinsight.engine.period` keeps them);
:func:`of_region` takes one region's rows (or all of them) and sums them by the one attribute
the page segments by. The open rows are :func:`arinsight.engine.history.open_at_origins`:
open amounts net of payments *and* adjustments (write-offs, credit notes), the open AR of every
page, so a written-off invoice leaves the pool; an invoice's
bucket at O is :func:`~arinsight.engine.positions.aging_bucket` of ``max(0, O - due date)``
days. Sums are exact decimals, returned as floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from arinsight.engine import history, sources
from arinsight.engine.positions import aging_bucket
from arinsight.engine.run import HISTORY_MEMORY_LIMIT, as_pandas, connect
from arinsight.engine.sources import Ledgers
from arinsight.engine.staging import MONEY_SUM, stage


class Pools:
    """The staged ledger (payments and adjustments settle its invoices), in an open engine session:
    made by :func:`pool_session`. Every sum is per region (the region an invoice is reported
    under; null when it has none): a region's page takes its rows, "All" sums them all."""

    def __init__(self, con: Any, ledgers: Ledgers, write_offs: ir.Table, attributes: ir.Table):
        self.con, self.ledgers = con, ledgers
        self.write_offs, self.attributes = write_offs, attributes

    def _pairs(self, origins: Sequence[dt.date], buckets: Sequence[int], horizon: int) -> ir.Table:
        """One row per (month end O, invoice open at O) with its segments, its bucket and
        balance at O and at the next month end O' (``next_bucket`` -1 and ``next_balance`` 0
        when settled by O' or O is the last), and its write-offs dated in (O, O'] and in
        (O, O + ``horizon`` months] (``moved_off``, ``followed_off``), each capped at its
        balance at O. The next month end's state is the next row of the same invoice (a
        window), not a second copy of the rows."""
        o = history.open_at_origins(self.ledgers, origins)
        o = o.join(self.attributes, o.invoice_id == self.attributes._sid)
        when = _origin_table(origins, horizon)
        o = o.join(when, o.origin == when._o)
        days = ibis.greatest(o.origin.delta(o.due_date, unit="day"), 0)
        o = o.select(
            "origin", "invoice_id", "_next", *SEGMENTS,
            bucket=aging_bucket(days, buckets), balance=o.open_amount.cast(MONEY_SUM),
        )  # fmt: skip
        w = ibis.window(group_by=o.invoice_id, order_by=o.origin)
        o = o.mutate(
            _later=o.origin.lead().over(w), _lb=o.bucket.lead().over(w),
            _lbal=o.balance.lead().over(w),
        )  # fmt: skip
        held = o._later.notnull() & (o._later == o._next)
        zero = ibis.literal(0).cast(MONEY_SUM)
        wo = _written_off_by_origin(self.write_offs, when)
        o = o.left_join(wo, [o.invoice_id == wo._wid, o.origin == wo._wo])
        return o.select(
            "origin", *SEGMENTS, "bucket", "balance",
            next_bucket=ibis.ifelse(held, o._lb, -1),
            next_balance=ibis.ifelse(held, o._lbal, zero),
            moved_off=ibis.least(o._moved.fill_null(zero), o.balance),
            followed_off=ibis.least(o._followed.fill_null(zero), o.balance),
        )  # fmt: skip

    def history(
        self, origins: Sequence[dt.date], buckets: Sequence[int], horizon_months: int
    ) -> dict[str, pd.DataFrame]:
        """``balances``, ``moves`` and ``followed`` (see the module docstring, each with a
        ``region`` column first) over the month ends ``origins`` (ascending), and ``ledger``:
        per region its first invoice date. The open rows are summed once per (segments, O,
        bucket, next bucket), kept in the engine (35k rows at 10M); the three tables are
        sums of that one."""
        p = self._pairs(origins, buckets, horizon_months)
        p = p.mutate(stayed=p.next_bucket == p.bucket)
        sums = p.group_by([*SEGMENTS, *POOL_KEYS["moves"]]).aggregate(
            balance=p.balance.sum(),
            next_balance=p.next_balance.sum(),
            written_off=p.moved_off.sum(),
            _followed=p.followed_off.sum(),
        )
        name = ibis.util.gen_name("arinsight_pool_sums")
        sums = self.con.create_table(name, sums, temp=True)
        moves = sums.filter(sums.origin < origins[-1]).drop("_followed")
        balances = sums.group_by([*SEGMENTS, *POOL_KEYS["balances"]]).aggregate(
            balance=sums.balance.sum()
        )
        followed = sums.group_by(["region", "origin"]).aggregate(written_off=sums._followed.sum())
        return {
            "balances": self._fetch(balances, [*SEGMENTS, *POOL_KEYS["balances"]]),
            "moves": self._fetch(moves, [*SEGMENTS, *POOL_KEYS["moves"]]),
            "followed": self._fetch(followed, ["region", "origin"]),
            "ledger": self._fetch(self._ledger(), ["region"]),
        }

    def _ledger(self) -> ir.Table:
        inv = self.ledgers.invoices
        return inv.group_by("region").aggregate(first_invoice_date=inv.invoice_date.min())

    def _fetch(self, expr: ir.Table, keys: Sequence[str]) -> pd.DataFrame:
        frame = as_pandas(self.con, expr.order_by(list(keys)))
        frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_cents_")])
        for col in ("balance", "next_balance", "written_off"):
            if col in frame:
                frame[col] = frame[col].astype("float64")
        for col in ("origin", "first_invoice_date"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col])
        return frame


#: The columns each pool table is summed by, besides :data:`SEGMENTS` (see :func:`of_region`).
POOL_KEYS = {
    "balances": ("origin", "bucket"),
    "moves": ("origin", "bucket", "next_bucket", "stayed"),
    "followed": ("origin",),
}


def of_region(
    frames: Mapping[str, pd.DataFrame], region: str | None, segment_by: str = "region"
) -> dict[str, Any]:
    """One selection of :meth:`Pools.history`'s tables: a region's rows, or ("All", None)
    every row, summed by pool (``segment``: the ``segment_by`` attribute, "(none)" when
    missing). Returns the three pool tables plus ``first_invoice_date`` (None without
    invoices)."""
    if segment_by not in SEGMENTS:
        raise ValueError(f"segment_by: expected one of {', '.join(SEGMENTS)}, got {segment_by!r}")
    every = region in (None, "", "All")
    out: dict[str, Any] = {}
    for name, keys in POOL_KEYS.items():
        f = frames[name]
        if not every:
            f = f[f["region"] == region]
        if name != "followed":
            f = f.assign(segment=f[segment_by].fillna("(none)").astype(str))
            keys = ("origin", "segment", *keys[1:])
        value_cols = [c for c in ("balance", "next_balance", "written_off") if c in f.columns]
        f = f.groupby(list(keys), as_index=False, sort=True)[value_cols].sum()
        out[name] = f.reset_index(drop=True)
    led = frames["ledger"] if every else frames["ledger"][frames["ledger"]["region"] == region]
    first = led["first_invoice_date"].min() if len(led) else None
    out["first_invoice_date"] = None if first is None or pd.isna(first) else first
    return out


def _origin_table(origins: Sequence[dt.date], horizon: int) -> ir.Table:
    """Each origin O (``_o``) with the next one (``_next``, null for the last) and the end of
    its backtest window, the month end ``horizon`` months after it (``_end``)."""
    ends = [(pd.Timestamp(o) + pd.DateOffset(months=horizon) + pd.offsets.MonthEnd(0)).date()
            for o in origins]  # fmt: skip
    return ibis.memtable(
        {"_o": list(origins), "_next": [*origins[1:], None], "_end": ends},
        schema={"_o": "date", "_next": "date", "_end": "date"},
    )


def _written_off_by_origin(write_offs: ir.Table, when: ir.Table) -> ir.Table:
    """Per invoice (``_wid``) and origin O (``_wo``) with a write-off after it: its write-offs
    dated in (O, O'] (``_moved``: O' the next origin) and in (O, end of the backtest window]
    (``_followed``). Few rows: each write-off falls in the windows of a few origins."""
    wo = write_offs
    last = ibis.greatest(when._end, when._next.fill_null(when._end))
    j = wo.join(when, [wo._wdate > when._o, wo._wdate <= last])
    zero = ibis.literal(0).cast(MONEY_SUM)
    return j.group_by(_wid=j._wid, _wo=j._o).aggregate(
        _moved=j._wamount.sum(where=j._next.notnull() & (j._wdate <= j._next)).fill_null(zero),
        _followed=j._wamount.sum(where=j._wdate <= j._end).fill_null(zero),
    )


def _write_offs(adjustments: ir.Table) -> ir.Table:
    """invoice (``_wid``), date (``_wdate``) and amount (``_wamount``) of each write-off (the
    staged adjustments)."""
    wo = adjustments.filter(adjustments.kind == "write_off")
    return wo.select(
        _wid=wo.invoice_id, _wdate=wo.adjustment_date, _wamount=wo.amount.cast(MONEY_SUM)
    )


#: The invoice attributes a pool may be segmented by: every sum is kept per each of them.
SEGMENTS = ("region", "industry", "customer_type")


def _attributes(invoices: ir.Table, raw_invoices: ir.Table) -> ir.Table:
    """Each invoice's region (the region it is reported under), industry and customer type
    (the invoice row's; null when missing), by ``_sid``."""
    extra = [c for c in SEGMENTS[1:] if c in raw_invoices.columns]
    named = raw_invoices.select(
        _nid=raw_invoices.invoice_id.cast("string"),
        **{c: raw_invoices[c].cast("string") for c in extra},
    )
    j = invoices.select("invoice_id", "region").left_join(named, invoices.invoice_id == named._nid)
    cols = {c: j[c] if c in extra else ibis.null("string") for c in SEGMENTS[1:]}
    return j.select(_sid=j.invoice_id, region=j.region, **cols)


@contextmanager
def pool_session(
    source: str | Path | Mapping[str, pd.DataFrame], memory_limit: str | None = None
) -> Iterator[Pools]:
    """The :class:`Pools` of ``source``: a folder of processed parquet files (read by the engine,
    never loaded into pandas) or a mapping of pandas frames (invoices, payments, adjustments,
    customers). DuckDB's memory is bounded by ``memory_limit``, by default
    :data:`~arinsight.engine.run.HISTORY_MEMORY_LIMIT` (beyond it, it spills to disk)."""
    con = connect(memory_limit=memory_limit or HISTORY_MEMORY_LIMIT)
    try:
        if isinstance(source, (str, Path)):
            raw = sources.from_parquet(con, source)
        else:
            raw = sources.from_frames(con, {k: v for k, v in source.items() if k in sources.TABLES})
        staged = stage(raw)
        yield Pools(
            con, staged, _write_offs(staged.adjustments), _attributes(staged.invoices, raw.invoices)
        )
    finally:
        con.disconnect()


def pool_tables(
    source: str | Path | Mapping[str, pd.DataFrame],
    as_of: Any,
    buckets: Sequence[int],
    horizon_months: int = 12,
    *,
    memory_limit: str | None = None,
) -> dict[str, pd.DataFrame]:
    """:meth:`Pools.history` of ``source`` over every month end from the month of its first
    invoice to T = ``as_of`` (T itself the last origin, also when it is not a month end);
    ``memory_limit``: DuckDB's (:func:`pool_session`)."""
    t = pd.Timestamp(as_of).normalize()
    with pool_session(source, memory_limit) as pools:
        first = pools.con.execute(pools.ledgers.invoices.invoice_date.min())
        first = t if first is None or pd.isna(first) else min(pd.Timestamp(first), t)
        ends = [m.end_time.normalize() for m in pd.period_range(first, t, freq="M")]
        origins = [o.date() for o in ends if o < t] + [t.date()]
        return pools.history(origins, buckets, horizon_months)
