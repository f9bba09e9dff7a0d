"""The models' window on the ledger: its history marts kept in one open engine session and
fetched narrow, so that a model holds numbers per invoice, not the ledger.

The risk model and the cash forecast learn from every invoice of a long history but look at the
details (features, ids, names) of only a few of them: the rows of a bounded training sample,
the invoices open at T, a sample at past origins. :func:`history_session` opens an embedded
DuckDB over the processed parquet files (or over pandas frames), cuts the ledger at T, and
answers:

- :meth:`HistorySession.invoices`: one row per invoice dated <= T, ordered by invoice id, as
  numbers only: its *code* is its row (0, 1, ...), then its customer's code, invoice, due and
  paid day (days since 1970-01-01; the paid date of every page,
  :func:`arinsight.engine.history.settlement`) and amount;
- :meth:`HistorySession.invoice_ids` / :meth:`HistorySession.customer_ids`: the ids behind the
  codes, as Arrow arrays (taken by code when needed, never as a column of Python strings);
- :meth:`HistorySession.applied`: every applied payment (code, day, applied amount) in the
  engine's order (invoice, payment date, payment id);
- :meth:`HistorySession.open_rows` / :meth:`HistorySession.collected`: the invoices open at
  each origin and the cash each brought in each week after it;
- :meth:`HistorySession.rows`: the full rows of chosen codes (ids, dates, amount, energy and
  the customer's history at the invoice date, :func:`arinsight.engine.history.
  customer_history`): what a model's features are built from.

Each mart is computed once per session and kept in the engine (a temporary table); money comes
back as the float nearest each amount (exact cents divided by 100), days as int32 (a missing
paid day is :data:`NO_DAY`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from arinsight.engine import history, sources
from arinsight.engine.run import HISTORY_MEMORY_LIMIT, as_pandas, connect
from arinsight.engine.sources import Ledgers
from arinsight.engine.staging import stage

#: The paid day of an invoice its payments do not cover at T.
NO_DAY = np.iinfo(np.int32).min

#: The columns of each pandas table the session reads (others are not sent to the engine).
FRAME_COLUMNS = {
    "invoices": (
        "invoice_id",
        "customer_id",
        "invoice_date",
        "due_date",
        "amount",
        "energy_kwh",
        "region",
    ),
    "payments": ("payment_id", "invoice_id", "customer_id", "payment_date", "amount"),
    "customers": ("customer_id", "region"),
    "adjustments": tuple(sources.RAW_SCHEMAS["adjustments"]),
}


def _cents(value: ir.Value) -> ir.Value:
    return (value.cast("decimal(38,2)") * 100).cast("int64")


def _days(value: ir.Value) -> ir.Value:
    return value.epoch_days().cast("int32")


class HistorySession:
    """The history marts of one ledger cut at T in an open engine session (see the module's
    docstring); made by :func:`history_session`."""

    def __init__(
        self,
        con: Any,
        ledgers: Ledgers,
        raw_invoices: ir.Table,
        late_days: int | None,
        origins: Sequence[dt.date],
        weeks: int,
    ):
        self.con, self.ledgers, self.raw_invoices = con, ledgers, raw_invoices
        self.late_days, self.origins, self.weeks = late_days, list(origins), int(weeks)
        self._kept: dict[str, ir.Table] = {}

    def _keep(self, name: str, expr: ir.Table) -> ir.Table:
        self._kept[name] = self.con.create_table(
            ibis.util.gen_name(f"arinsight_{name}"), expr, temp=True
        )
        return self._kept[name]

    def _table(self, name: str) -> ir.Table:
        """The mart ``name``, computed once (codes joined where the mart has invoice ids)."""
        if name in self._kept:
            return self._kept[name]
        if name == "settlement":
            s = history.settlement(self.ledgers)
            cust = ibis.dense_rank().over(order_by=s.customer_id)
            expr = s.mutate(
                code=ibis.row_number().over(order_by=s.invoice_id).cast("int64"),
                cust=ibis.ifelse(s.customer_id.isnull(), -1, cust).cast("int32"),
            )
        elif name == "applied":
            expr = history.applied(self.ledgers)
        elif name == "open_at_origins":
            expr = history.open_at_origins(self.ledgers, self.origins)
        else:
            raise KeyError(name)
        return self._keep(name, expr)

    def _codes(self, t: ir.Table) -> ir.Table:
        """``t`` with the code of its invoice (``_code``)."""
        s = self._table("settlement")
        c = s.select(_iid=s.invoice_id, _code=s.code)
        return t.join(c, t.invoice_id == c._iid)

    def _fetch(self, expr: ir.Table) -> pd.DataFrame:
        return self.con.to_pyarrow(expr).to_pandas()

    def summary(self) -> dict[str, Any]:
        """``invoices`` (dated <= T), ``distinct_ids`` and ``first_invoice_date`` (None when
        there is none)."""
        inv = self.ledgers.invoices
        row = self._fetch(
            inv.aggregate(
                invoices=inv.count(),
                distinct_ids=inv.invoice_id.nunique(),
                first_invoice_date=inv.invoice_date.min(),
            )
        ).iloc[0]
        first = row["first_invoice_date"]
        return {
            "invoices": int(row["invoices"]),
            "distinct_ids": int(row["distinct_ids"]),
            "first_invoice_date": None if pd.isna(first) else pd.Timestamp(first),
        }

    def invoices(self) -> pd.DataFrame:
        """One row per invoice dated <= T by code: ``cust`` (its customer's code, -1 without
        one), ``invoice_day``, ``due_day``, ``paid_day`` (:data:`NO_DAY` when unpaid at T),
        ``amount`` and ``open_cents`` (its open amount at T in cents)."""
        s = self._table("settlement")
        return self._fetch(
            s.select(
                "code",
                "cust",
                invoice_day=_days(s.invoice_date),
                due_day=_days(s.due_date),
                paid_day=_days(s.paid_date).fill_null(int(NO_DAY)),
                amount=_cents(s.amount),
                open_cents=_cents(s.open_amount),
            )
            .order_by("code")
            .drop("code")
        ).assign(amount=lambda f: f["amount"] / 100.0)

    def regions(self) -> list[str]:
        """Every region an invoice row names (its own ``region`` column, whatever its date;
        sorted, nulls left out; the customers' regions are the caller's)."""
        raw = self.raw_invoices
        if "region" not in raw.columns:
            return []
        region = raw.region.cast("string")
        found = self._fetch(raw.filter(region.notnull()).select(region=region).distinct())
        return sorted(str(r) for r in found["region"])

    def invoice_ids(self) -> Any:
        """The invoice id of each code (an Arrow array)."""
        s = self._table("settlement")
        ids = s.select("code", "invoice_id").order_by("code").drop("code")
        return self.con.to_pyarrow(ids)["invoice_id"]

    def customer_ids(self) -> pd.Series:
        """The customer id of each customer code (a Series indexed by the codes)."""
        s = self._table("settlement")
        c = s.filter(s.cust >= 0).select("cust", "customer_id").distinct().order_by("cust")
        frame = self._fetch(c)
        return pd.Series(frame["customer_id"].to_numpy(), index=frame["cust"].to_numpy())

    def applied(self) -> pd.DataFrame:
        """Every applied payment: ``code``, ``day``, ``applied`` (what it took off its invoice,
        :func:`arinsight.engine.history.applied`), by code, payment date and payment id."""
        a = self._codes(self._table("applied"))
        rows = a.select(
            "payment_date",
            "payment_id",
            code=a._code,
            day=_days(a.payment_date),
            applied=_cents(a.applied),
        )
        rows = rows.order_by("code", "payment_date", "payment_id").drop(
            "payment_date", "payment_id"
        )
        return self._fetch(rows).assign(applied=lambda f: f["applied"] / 100.0)

    def open_rows(self, origins: Sequence[Any] | None = None) -> pd.DataFrame:
        """The invoices open at each origin (``origins``, else the session's): ``origin_day``,
        ``code``, ``open_amount``, by origin and code (:func:`arinsight.engine.history.
        open_at_origins`); :meth:`collected` then reads the same rows."""
        if origins is not None:
            from arinsight.engine.window import as_date

            self.origins = [as_date(o) for o in origins]
            self._kept.pop("open_at_origins", None)
        o = self._codes(self._table("open_at_origins"))
        return self._fetch(
            o.select(
                origin_day=_days(o.origin), code=o._code, open_amount=_cents(o.open_amount)
            ).order_by("origin_day", "code")
        ).assign(open_amount=lambda f: f["open_amount"] / 100.0)

    def collected(self) -> pd.DataFrame:
        """The cash of each open row in each week after its origin: ``origin_day``, ``code``,
        ``week``, ``collected`` (:func:`arinsight.engine.history.collected_by_week`)."""
        c = history.collected_by_week(self._table("open_at_origins"), self.ledgers, self.weeks)
        c = self._codes(c)
        return self._fetch(
            c.select(
                origin_day=_days(c.origin), code=c._code, week=c.week, collected=_cents(c.collected)
            ).order_by("origin_day", "code", "week")
        ).assign(collected=lambda f: f["collected"] / 100.0)

    def rows(self, codes: np.ndarray, history_of_customer: bool = True) -> pd.DataFrame:
        """The rows of ``codes`` (in that order): invoice_id, customer_id, invoice_date,
        due_date, amount, paid_date, open_amount (at T), report_region (the region the
        invoice is reported under: its own, else its customer's), energy_kwh (null when the
        ledger has none) and, with
        ``history_of_customer``, the customer's history at the invoice date
        (:func:`arinsight.engine.history.customer_history`), as pandas (dates at midnight)."""
        import pyarrow as pa

        want = pa.table({"_pos": np.arange(len(codes)), "_want": np.asarray(codes, np.int64)})
        w = self.con.create_table(ibis.util.gen_name("arinsight_codes"), want, temp=True)
        picked = None
        try:
            s = self._table("settlement")
            cols = ["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "paid_date"]
            picked = self.con.create_table(
                ibis.util.gen_name("arinsight_picked"),
                w.join(s, w._want == s.code).select("_pos", *cols, "open_amount"),
                temp=True,
            )
            j = picked
            inv = self.ledgers.invoices
            segment = inv.select(_rid=inv.invoice_id, report_region=inv.region)
            j = j.left_join(segment, j.invoice_id == segment._rid).drop("_rid")
            raw = self.raw_invoices
            if "energy_kwh" in raw.columns:
                energy = raw.select(_eid=raw.invoice_id.cast("string"), energy_kwh=raw.energy_kwh)
                j = j.left_join(energy, j.invoice_id == energy._eid).drop("_eid")
            else:
                j = j.mutate(energy_kwh=ibis.null("float64"))
            if history_of_customer:
                h = history.customer_history(
                    self._table("settlement"),
                    self._table("applied"),
                    self.late_days,
                    picked.select("invoice_id"),
                )
                h = h.rename(_hid="invoice_id")
                j = j.left_join(h, j.invoice_id == h._hid).drop("_hid")
            out = as_pandas(self.con, j.order_by("_pos"))
            return out.drop(columns=["_pos"])
        finally:
            for table in (w, picked):
                if table is not None:
                    self.con.drop_table(table.get_name(), force=True)


def model_source(tables: Any) -> tuple[Any, pd.DataFrame]:
    """What a model page reads: (what the engine reads, the customers table). ``tables`` is a
    processed folder (a path, or :class:`arinsight.ledger.FolderTables`: the engine reads the
    files and only the small customers table is loaded) or a mapping of pandas frames."""
    from arinsight.ledger import FolderTables, empty_table, read_table

    if isinstance(tables, FolderTables):
        tables = tables.folder
    if isinstance(tables, (str, Path)):
        path = Path(tables) / "customers.parquet"
        return Path(tables), read_table(path) if path.exists() else empty_table("customers")
    return tables, tables["customers"]


@contextmanager
def history_session(
    source: str | Path | Mapping[str, pd.DataFrame],
    as_of: Any,
    *,
    late_days: int | None = None,
    origins: Sequence[Any] = (),
    weeks: int = 13,
) -> Iterator[HistorySession]:
    """An open :class:`HistorySession` over ``source`` cut at T = ``as_of`` (invoices, payments
    and adjustments dated <= T): a folder of processed parquet files (read by the engine, never
    loaded into pandas) or a mapping of pandas frames (invoices, payments, adjustments). ``late_days``: of the
    customer history; ``origins``: the dates of the open rows; ``weeks``: of the collected
    cash. DuckDB's memory is bounded by :data:`~arinsight.engine.run.HISTORY_MEMORY_LIMIT`
    (beyond it, it spills to disk)."""
    from arinsight.engine.window import as_date

    t = as_date(as_of)
    con = connect(memory_limit=HISTORY_MEMORY_LIMIT)
    try:
        if isinstance(source, (str, Path)):
            raw = sources.from_parquet(con, source)
        else:
            frames = {}
            for name, cols in FRAME_COLUMNS.items():
                frame = source.get(name)
                if frame is not None:
                    frames[name] = frame[[c for c in cols if c in frame.columns]]
            raw = sources.from_frames(con, frames)
        staged = stage(raw)
        inv, pay, adj = staged.invoices, staged.payments, staged.adjustments
        cut = staged._replace(
            invoices=inv.filter(inv.invoice_date <= t),
            payments=pay.filter(pay.payment_date <= t),
            adjustments=adj.filter(adj.adjustment_date <= t),
        )
        days = [as_date(o) for o in origins]
        yield HistorySession(con, cut, raw.invoices, late_days, days, weeks)
    finally:
        con.disconnect()
