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
- ``ledger``: per region its first invoice date and its open amount at T from invoices less
  payments alone (the Receivables page's open AR).

The run computes them once for every region (:mod:`arinsight.engine.period` keeps them);
:func:`of_region` takes one region's rows (or all of them) and sums them by the one attribute
the page segments by. The settlements are the payments *and* the adjustments (write-offs,
credit notes): a written-off invoice leaves the pool. The open rows are
:func:`arinsight.engine.history.open_at_origins` (the paid dates of every page); an invoice's
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
from arinsight.engine.staging import MONEY_SUM, stage, stg_payments, to_money

#: The columns a settlement row has (a payment, or an adjustment in the payment columns).
SETTLEMENT_COLUMNS = {
    "payment_id": "string",
    "invoice_id": "string",
    "customer_id": "string",
    "payment_date": "date",
    "amount": "float64",
}
#: The adjustment columns this layer reads (besides ``kind``).
ADJUSTMENT_COLUMNS = ("adjustment_id", "invoice_id", "customer_id", "adjustment_date", "amount")


class Pools:
    """The staged ledger with the adjustments among its settlements, in an open engine session:
    made by :func:`pool_session`. Every sum is per region (the region an invoice is reported
    under; null when it has none): a region's page takes its rows, "All" sums them all."""

    def __init__(
        self,
        con: Any,
        ledgers: Ledgers,
        payments: ir.Table,
        write_offs: ir.Table,
        attributes: ir.Table,
    ):
        self.con, self.ledgers, self.payments = con, ledgers, payments
        self.write_offs, self.attributes = write_offs, attributes

    def _open(self, origins: Sequence[dt.date], buckets: Sequence[int], name: str) -> ir.Table:
        """The invoices open at each origin with region, segment and bucket, kept in the
        engine."""
        o = history.open_at_origins(self.ledgers, origins)
        o = o.join(self.attributes, o.invoice_id == self.attributes._sid)
        days = ibis.greatest(o.origin.delta(o.due_date, unit="day"), 0)
        expr = o.select(
            "origin",
            "invoice_id",
            *SEGMENTS,
            bucket=aging_bucket(days, buckets),
            balance=o.open_amount.cast(MONEY_SUM),
        )
        return self.con.create_table(ibis.util.gen_name(f"arinsight_{name}"), expr, temp=True)

    def history(
        self,
        origins: Sequence[dt.date],
        buckets: Sequence[int],
        horizon_months: int,
        positions: Path | None = None,
    ) -> dict[str, pd.DataFrame]:
        """``balances``, ``moves`` and ``followed`` (see the module docstring, each with a
        ``region`` column first) over the month ends ``origins`` (ascending), and ``ledger``:
        per region its first invoice date and its open amount at the last origin from invoices
        less payments alone (``gross``: what the Receivables page shows; read from the period's
        kept ``positions`` parquet when given, else computed)."""
        snaps = self._open(origins, buckets, "pool_snapshots")
        pairs = ibis.memtable({"_o": list(origins[:-1]), "_next": list(origins[1:])}).mutate(
            _o=lambda t: t._o.cast("date"), _next=lambda t: t._next.cast("date")
        )
        return {
            "balances": self._fetch(_balances(snaps), [*SEGMENTS, *POOL_KEYS["balances"]]),
            "moves": self._fetch(
                _moves(snaps, pairs, self.write_offs), [*SEGMENTS, *POOL_KEYS["moves"]]
            ),
            "followed": self._fetch(
                _followed(snaps, self.write_offs, origins, horizon_months), ["region", "origin"]
            ),
            "ledger": self._fetch(self._ledger(origins[-1], positions), ["region"]),
        }

    def _ledger(self, at: dt.date, positions: Path | None) -> ir.Table:
        if positions is not None:  # the positions at T: invoices dated <= T, open from payments
            p = self.con.read_parquet(positions)
            return p.group_by("region").aggregate(
                first_invoice_date=p.invoice_date.min(),
                gross=p.open_amount.cast(MONEY_SUM).sum(),
            )
        inv = self.ledgers.invoices
        first = inv.group_by("region").aggregate(first_invoice_date=inv.invoice_date.min())
        o = history.open_at_origins(self.ledgers._replace(payments=self.payments), [at])
        o = o.join(self.attributes, o.invoice_id == self.attributes._sid)
        gross = o.group_by(_gr=o.region).aggregate(gross=o.open_amount.cast(MONEY_SUM).sum())
        j = first.left_join(gross, first.region.identical_to(gross._gr))
        zero = ibis.literal(0).cast(MONEY_SUM)
        return j.select("region", "first_invoice_date", gross=j.gross.fill_null(zero))

    def _fetch(self, expr: ir.Table, keys: Sequence[str]) -> pd.DataFrame:
        frame = as_pandas(self.con, expr.order_by(list(keys)))
        frame = frame.drop(columns=[c for c in frame.columns if c.startswith("_cents_")])
        for col in ("balance", "next_balance", "written_off", "gross"):
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
    invoices) and ``gross``."""
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
    out["gross"] = round(float(led["gross"].sum()), 2)
    return out


def _balances(snaps: ir.Table) -> ir.Table:
    return snaps.group_by([*SEGMENTS, *POOL_KEYS["balances"]]).aggregate(
        balance=snaps.balance.sum()
    )


def _written_off_between(rows: ir.Table, write_offs: ir.Table, end: str) -> ir.Table:
    """``rows`` (origin, invoice_id, balance, the column ``end``) with ``written_off``: the
    invoice's write-offs dated in (origin, end], capped at its balance."""
    r = rows.select(_ro="origin", _ri="invoice_id", _re=end)
    wo = write_offs
    w = r.join(wo, [r._ri == wo._wid, wo._wdate > r._ro, wo._wdate <= r._re])
    w = w.group_by(["_ro", "_ri"]).aggregate(_written=w._wamount.sum())
    j = rows.left_join(w, [rows.origin == w._ro, rows.invoice_id == w._ri])
    zero = ibis.literal(0).cast(MONEY_SUM)
    return j.mutate(written_off=ibis.least(j._written.fill_null(zero), j.balance)).drop(
        "_ro", "_ri", "_written"
    )


def _moves(snaps: ir.Table, pairs: ir.Table, write_offs: ir.Table) -> ir.Table:
    cur = snaps.join(pairs, snaps.origin == pairs._o).drop("_o")
    later = snaps.select(
        _lo=snaps.origin, _li=snaps.invoice_id, next_bucket=snaps.bucket,
        next_balance=snaps.balance,
    )  # fmt: skip
    m = cur.left_join(later, [cur._next == later._lo, cur.invoice_id == later._li])
    zero = ibis.literal(0).cast(MONEY_SUM)
    m = m.select(
        "origin", "invoice_id", *SEGMENTS, "bucket", "balance", "_next",
        next_bucket=m.next_bucket.fill_null(-1), next_balance=m.next_balance.fill_null(zero),
    )  # fmt: skip
    m = _written_off_between(m, write_offs, "_next")
    m = m.mutate(stayed=m.next_bucket == m.bucket)
    return m.group_by([*SEGMENTS, *POOL_KEYS["moves"]]).aggregate(
        balance=m.balance.sum(),
        next_balance=m.next_balance.sum(),
        written_off=m.written_off.sum(),
    )


def _followed(
    snaps: ir.Table, write_offs: ir.Table, origins: Sequence[dt.date], horizon: int
) -> ir.Table:
    ends = [(pd.Timestamp(o) + pd.DateOffset(months=horizon) + pd.offsets.MonthEnd(0)).date()
            for o in origins]  # fmt: skip
    window = ibis.memtable({"_o": list(origins), "_end": ends}).mutate(
        _o=lambda t: t._o.cast("date"), _end=lambda t: t._end.cast("date")
    )
    rows = snaps.join(window, snaps.origin == window._o).select(
        "origin", "invoice_id", "region", "balance", "_end"
    )
    r = _written_off_between(rows, write_offs, "_end")
    return r.group_by(["region", "origin"]).aggregate(written_off=r.written_off.sum())


def _settlements(payments: ir.Table, adjustments: ir.Table | None) -> ir.Table:
    """The payments and (when given) the adjustments in the payment columns."""
    out = payments.select(**{c: payments[c].cast(t) for c, t in SETTLEMENT_COLUMNS.items()})
    if adjustments is None:
        return out
    a = adjustments
    return out.union(
        a.select(
            payment_id=a.adjustment_id.cast("string"),
            invoice_id=a.invoice_id.cast("string"),
            customer_id=a.customer_id.cast("string"),
            payment_date=a.adjustment_date.cast("date"),
            amount=a.amount.cast("float64"),
        )
    )


def _write_offs(adjustments: ir.Table | None) -> ir.Table:
    """invoice (``_wid``), date (``_wdate``) and amount (``_wamount``) of each write-off."""
    if adjustments is None:
        return ibis.memtable({"_wid": [], "_wdate": [], "_wamount": []}).cast(
            {"_wid": "string", "_wdate": "date", "_wamount": MONEY_SUM}
        )
    wo = adjustments.filter(adjustments.kind == "write_off")
    return wo.select(
        _wid=wo.invoice_id.cast("string"),
        _wdate=wo.adjustment_date.cast("date"),
        _wamount=to_money(wo.amount).cast(MONEY_SUM),
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
            path = Path(source) / "adjustments.parquet"
            adj = con.read_parquet(path, table_name="src_adjustments") if path.exists() else None
        else:
            raw = sources.from_frames(con, {k: v for k, v in source.items() if k in sources.TABLES})
            frame = source.get("adjustments")
            adj = None
            if frame is not None and len(frame):
                frame = frame[[*ADJUSTMENT_COLUMNS, "kind"]].assign(
                    adjustment_date=lambda f: pd.to_datetime(f["adjustment_date"])
                )
                adj = con.create_table("src_adjustments", frame, temp=True)
        staged = stage(raw._replace(payments=_settlements(raw.payments, adj)))
        inv = staged.invoices
        yield Pools(
            con,
            staged._replace(invoices=inv),
            stg_payments(raw.payments),
            _write_offs(adj),
            _attributes(inv, raw.invoices),
        )
    finally:
        con.disconnect()


def pool_tables(
    source: str | Path | Mapping[str, pd.DataFrame],
    as_of: Any,
    buckets: Sequence[int],
    horizon_months: int = 12,
    *,
    positions: Path | None = None,
    memory_limit: str | None = None,
) -> dict[str, pd.DataFrame]:
    """:meth:`Pools.history` of ``source`` over every month end from the month of its first
    invoice to T = ``as_of`` (T itself the last origin, also when it is not a month end);
    ``positions``: the period's kept positions at T (see :meth:`Pools.history`);
    ``memory_limit``: DuckDB's (:func:`pool_session`)."""
    t = pd.Timestamp(as_of).normalize()
    with pool_session(source, memory_limit) as pools:
        first = pools.con.execute(pools.ledgers.invoices.invoice_date.min())
        first = t if first is None or pd.isna(first) else min(pd.Timestamp(first), t)
        ends = [m.end_time.normalize() for m in pd.period_range(first, t, freq="M")]
        origins = [o.date() for o in ends if o < t] + [t.date()]
        return pools.history(origins, buckets, horizon_months, positions)
