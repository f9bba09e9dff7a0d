"""The edge of the engine: connect to a backend, run the marts, return small Python results.

With :mod:`arinsight.engine.duck` (the default DuckDB path and its compiled plans), the only
module that connects or executes. Money comes back as :class:`decimal.Decimal`
(exact to the cent at any size); ratios and days as floats rounded to 4 decimals; undefined
values as None.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend
from ibis.util import gen_name

from arinsight.engine import marts, sources
from arinsight.engine.parts import Part, hash_parts, parts_for
from arinsight.engine.results import (  # noqa: F401 (the engine's results, importable from here)
    DEFAULT_BUCKETS,
    DEFAULT_TOP_N,
    KPIS_JSON_KEYS,
    aging_labels,
    buckets_of,
    kpis_json,
    shape,
    top_n_of,
)
from arinsight.engine.sources import Ledgers
from arinsight.engine.staging import stage, to_money
from arinsight.engine.window import AsOf, period_window, window_of  # noqa: F401
from arinsight.errors import UserError

if TYPE_CHECKING:
    import pandas as pd


class EngineError(UserError):
    """The engine URL cannot be used (unknown scheme, unreachable database)."""


def connect(url: str | None = None, **options: Any) -> BaseBackend:
    """A backend connection: DuckDB in memory by default (``None``, ``""`` or ``duckdb://``),
    ``pyspark://`` for a local Spark session, ``spark://host:7077`` for a session on that Spark
    standalone master (both time zone UTC), else any Ibis URL such as
    ``postgres://user:password@host:5432/db``. ``options`` go to DuckDB's settings
    (``memory_limit="6GB"``, ``threads=2``); on Spark, those named ``spark.*`` are the session's
    settings (``spark.executor.memory="4g"``) and the others are ignored."""
    text = (url or "duckdb://").strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    try:
        if scheme in ("", "duckdb"):
            path = text.split("://", 1)[1] if "://" in text else ""
            con = ibis.duckdb.connect(path or ":memory:")
            options.setdefault(
                "temp_directory", str(Path(tempfile.gettempdir(), "arinsight-duckdb"))
            )
            for key, value in options.items():
                if value is not None:
                    con.raw_sql(f"SET {key} = '{value}'")
            return con
        if scheme in ("pyspark", "spark"):
            return ibis.pyspark.connect(
                _spark_session(text if scheme == "spark" else "local[2]", options)
            )
        return ibis.connect(text)
    except ImportError as exc:
        raise EngineError(f"engine {scheme}://: its driver is not installed ({exc})") from exc
    except Exception as exc:
        raise EngineError(f"engine {_redact(text)}: cannot connect: {exc}") from exc


def _spark_session(master: str, options: Mapping[str, Any]) -> Any:
    """A Spark session on ``master`` (``local[2]``, or ``spark://host:port``: a standalone
    cluster, whose executors run the queries), time zone UTC; ``options`` named ``spark.*``
    override the defaults. A process holds one Spark context: one already running on another
    master is an error rather than silently used."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    running = SparkContext._active_spark_context
    if running is not None and running.master != master:
        raise EngineError(f"a Spark session on {running.master} already runs in this process")
    warehouse = tempfile.mkdtemp(prefix="arinsight-spark-")  # unused by our queries: removed
    atexit.register(shutil.rmtree, warehouse, True)  # when the process ends
    settings = {
        "spark.sql.warehouse.dir": warehouse,
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
    }
    if master.startswith("local"):
        settings["spark.sql.shuffle.partitions"] = "2"
    for key, value in options.items():
        if key.startswith("spark.") and value is not None:
            settings[key] = str(value).lower() if isinstance(value, bool) else str(value)
    builder = SparkSession.builder.master(master).appName("arinsight")
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _is_runner(con: Any) -> bool:
    """Whether ``con`` is :class:`~arinsight.engine.duck.DuckDBRunner` (not an Ibis backend)."""
    return getattr(con, "arinsight_runner", False) is True


def _records(con: Any, *exprs: ir.Expr) -> list[list[dict[str, Any]]]:
    """The rows of each of ``exprs`` as dicts."""
    if _is_runner(con):
        return con.records(*exprs)
    out = []
    for expr in exprs:
        if isinstance(expr, ir.Scalar):
            out.append([{"value": con.to_pyarrow(expr).as_py()}])
        else:
            out.append(con.to_pyarrow(expr).to_pylist())
    return out


def _materialize(con: Any, expr: ir.Table) -> tuple[ir.Table, Any]:
    """``expr`` computed once and kept in the backend (a temporary table, or Spark's cache);
    returns the table and the function that releases it."""
    if _is_runner(con):
        name = gen_name("arinsight_positions")
        return con.create_table(name, expr), lambda: con.drop_table(name)
    cached = expr.cache()
    return cached, cached.release


def _redact(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def _parts(con: BaseBackend, ledgers: Ledgers, params: Mapping[str, Any]) -> tuple[Part, ...]:
    """The parts the positions are computed in: on DuckDB, :func:`~arinsight.engine.parts.
    parts_for` hash parts (ranges need the parquet statistics: see :mod:`~arinsight.engine.
    duck`); elsewhere ``params["engine_parts"]`` hash parts, else the whole."""
    if con.name != "duckdb":
        return hash_parts(int(params.get("engine_parts") or 1))
    n = int(next(iter(_records(con, ledgers.payments.count())[0][0].values())) or 0)
    return hash_parts(parts_for(n, params))


def kpi_rows(
    con: BaseBackend,
    raw: Ledgers,
    window: AsOf,
    params: Mapping[str, Any],
    regions: Sequence[str] | None,
    parts: Sequence[Part] | None = None,
) -> tuple[list[dict[str, Any]], ...]:
    """The rows of the KPI query (one per region), of the top-customers query, of open AR per
    currency and aging bucket (:func:`~arinsight.engine.marts.by_currency`) and per company
    code (:func:`~arinsight.engine.marts.by_entity`), as the backend returns them (see
    :func:`kpis_by_region`); ``parts`` default: :func:`_parts`.

    The invoice positions are kept in the backend and read twice: open and overdue AR per
    (region, customer) of the customers with something open, every measure per region (a
    large grouping with two sums instead of twenty-odd); late payments, sales per month and
    commissions read them too. In parts, each part's positions are kept in turn and dropped
    after its customer balances, region measures, monthly sales, commissions and late payments
    are inserted into five tables, summed back when the KPIs are read."""
    buckets, top_n = buckets_of(params), top_n_of(params)
    customers, release_customers = _materialize(con, stage(raw).customers)
    ledgers = stage(raw, customers)
    parts = tuple(parts or _parts(con, ledgers, params))
    if len(parts) == 1:
        p, release_p = _materialize(con, marts.positions(ledgers, window, buckets, parts[0]))
        sums = marts.part_sums(ledgers, window, buckets, parts[0], p)
        cp, release_cp = _materialize(con, sums.pop("balances"))
        releases = [release_cp, release_p, release_customers]
    else:
        sums: dict[str, ir.Table] = {}
        names: dict[str, str] = {}
        for part in parts:
            p, release_p = _materialize(con, marts.positions(ledgers, window, buckets, part))
            for kind, expr in marts.part_sums(ledgers, window, buckets, part, p).items():
                if kind in sums:
                    con.insert(names[kind], expr)
                else:
                    names[kind] = gen_name(f"arinsight_{kind}")
                    sums[kind] = con.create_table(names[kind], expr, temp=True)
            release_p()
        cp, release_cp = _materialize(con, marts.regroup(sums.pop("balances")))
        con.drop_table(names.pop("balances"))
        releases = [release_cp, *(partial(con.drop_table, name) for name in names.values())]
        releases.append(release_customers)
    try:
        rows, top, currencies, entities = _records(
            con,
            marts.kpis_by_region(
                cp,
                ledgers,
                window,
                buckets,
                regions,
                sums.get("late"),
                sums["regions"],
                sums["months"],
                sums["commissions"],
            ),
            marts.top_pending(cp, ledgers.customers, top_n),
            marts.by_currency(sums["currencies"]),
            marts.by_entity(sums["entities"]),
        )
    finally:
        for release in releases:
            release()
    return rows, top, currencies, entities


def _reporting(params: Mapping[str, Any]) -> str:
    """The reporting currency: the one of invoices processed without a currency."""
    return str(params.get("reporting_currency") or "USD")


def kpis_by_region(
    con: BaseBackend,
    raw: Ledgers,
    window: AsOf,
    params: Mapping[str, Any] | None = None,
    regions: Sequence[str] | None = None,
    label: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Every KPI of "All" and each region (``regions``, default every region of the data) at
    T = ``window.as_of``: region -> {period, region, as_of, KPIs..., aging: {label: amount},
    top_pending_customers: [{customer_id, customer_name, pending, overdue}]}.

    One pass over invoices and payments computes every (region, customer) position; it is
    cached in the backend and the KPIs, aging and the top customers of every region are read
    from it. ``params``: ``aging_buckets``, ``top_n``, ``engine_parts``.
    """
    params = dict(params or {})
    rows, top, currencies, entities = kpi_rows(con, raw, window, params, regions)
    return shape(
        rows, top, buckets_of(params), window, label, currencies, entities, _reporting(params)
    )


def kpis_from_frames(
    tables: Mapping[str, Any],
    period: Any,
    params: Mapping[str, Any] | None = None,
    regions: Sequence[str] | None = (),
) -> dict[str, dict[str, Any]]:
    """:func:`kpis_by_region` over pandas frames (the dict of ``load_processed``), on an
    embedded DuckDB. ``regions=()`` computes "All" only; ``params["as_of"]`` moves T."""
    params = dict(params or {})
    window, label = window_of(period, params.get("as_of"))
    con = connect()
    try:
        return kpis_by_region(con, sources.from_frames(con, tables), window, params, regions, label)
    finally:
        con.disconnect()


def kpis_in_place(
    url: str,
    period: Any,
    params: Mapping[str, Any] | None = None,
    regions: Sequence[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Every KPI of "All" and each region computed inside the database of ``url`` (its tables
    named after the canonical tables), without copying them out."""
    params = dict(params or {})
    window, label = window_of(period, params.get("as_of"))
    con = connect(url, **dict(params.get("engine_settings") or {}))
    try:
        return kpis_by_region(con, sources.from_database(con), window, params, regions, label)
    finally:
        con.disconnect()


def monthly_trends_from_frames(
    tables: Mapping[str, Any], period: Any, trailing_months: int = 12, as_of: Any = None
) -> pd.DataFrame:
    """The monthly series of the ``trailing_months`` months ending with the month of T, over
    pandas frames on an embedded DuckDB: month ("YYYY-MM"), month_end, billed, collections, paid,
    unpaid (= billed - paid), open_ar, overdue_ar (floats, cents) and dso (open_ar / billed *
    days of the month, 2 decimals, NaN without sales)."""
    import numpy as np
    import pandas as pd

    if int(trailing_months) < 1:
        raise ValueError(f"trailing_months: expected at least 1, got {trailing_months!r}")
    window, _ = window_of(period, as_of)
    last = pd.Timestamp(window.as_of).to_period("M")
    months = [(last - k).to_timestamp().date() for k in range(int(trailing_months) - 1, -1, -1)]
    con = connect()
    try:
        ledgers = stage(sources.from_frames(con, tables))
        frame = con.to_pyarrow(marts.monthly(ledgers, window, months)).to_pandas()
    finally:
        con.disconnect()
    out = pd.DataFrame({"month": [m.strftime("%Y-%m") for m in months]})
    out["month_end"] = (pd.to_datetime(frame["month"]) + pd.offsets.MonthEnd(0)).to_numpy()
    for col in ("billed", "collections", "paid", "open_ar", "overdue_ar"):
        out[col] = frame[col].astype("float64").round(2).to_numpy() + 0.0
    out["unpaid"] = (out["billed"] - out["paid"]).round(2) + 0.0
    days = out["month_end"].dt.day.to_numpy()
    billed = out["billed"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        dso = np.where(billed > 0, out["open_ar"].to_numpy() / billed * days, np.nan)
    out["dso"] = np.round(dso, 2)
    cols = ["month", "month_end", "billed", "collections", "paid", "unpaid", "open_ar"]
    return out[[*cols, "overdue_ar", "dso"]]


#: The marts of :func:`history_frames`, each the name of its function in
#: :mod:`arinsight.engine.history`.
HISTORY_MARTS = (
    "settlement",
    "applied",
    "customer_history",
    "open_at_origins",
    "collected_by_week",
)

#: The columns of each table the history marts read (others are not sent to the engine).
_HISTORY_COLUMNS = {
    "invoices": ("invoice_id", "customer_id", "invoice_date", "due_date", "amount"),
    "payments": ("payment_id", "invoice_id", "customer_id", "payment_date", "amount"),
    "adjustments": tuple(sources.RAW_SCHEMAS["adjustments"]),
}


def as_pandas(con: BaseBackend, expr: ir.Table) -> pd.DataFrame:
    """``expr`` as pandas (:func:`arinsight.ledger.arrow_to_frame`: money as float64, the float
    nearest each amount, beside its exact ``_cents_<column>``), dates as ``datetime64[ns]`` at
    midnight."""
    from arinsight.ledger import arrow_to_frame

    dates = {c: expr[c].cast("timestamp") for c in expr.columns if expr[c].type().is_date()}
    frame = arrow_to_frame(con.to_pyarrow(expr.mutate(**dates) if dates else expr))
    for col in [c for c in frame.columns if f"_cents_{c}" in frame.columns]:
        frame[col] = frame[f"_cents_{col}"] / 100.0  # the float nearest each amount
    for col in frame.columns:
        if str(frame[col].dtype).startswith("datetime64"):
            frame[col] = frame[col].astype("datetime64[ns]")
    return frame


def _open_rows(con: BaseBackend, frame: pd.DataFrame) -> ir.Table:
    """The frame's origin, invoice_id and open_amount as an engine table (staged types)."""
    import pyarrow as pa

    data = pa.Table.from_pandas(
        frame[["origin", "invoice_id", "open_amount"]], preserve_index=False
    )
    t = con.create_table(gen_name("arinsight_open_rows"), data, temp=True)
    return t.select(
        origin=t.origin.cast("date"),
        invoice_id=t.invoice_id.cast("string"),
        open_amount=to_money(t.open_amount),
    )


#: DuckDB's memory for :func:`history_frames` and the model pages' history sessions (beyond it,
#: it spills to its temp folder): its default, 80 % of the machine's memory, let a model page's
#: kernel grow until it was killed beside the other pages of a run. The run starts the risk and
#: forecast pages for All side by side; at 10M invoices the forecast's kernel peaked at 6.3 GB
#: with 4 GB here and 4.95 GB with 2 GB, which keeps the two pages with the runner under 12 GB.
HISTORY_MEMORY_LIMIT = "2GB"


def history_frames(
    tables: Mapping[str, Any],
    marts: Sequence[str],
    as_of: Any = None,
    *,
    late_days: int | None = None,
    origins: Sequence[Any] = (),
    weeks: int = 13,
    open_rows: Any = None,
) -> dict[str, pd.DataFrame]:
    """The ``marts`` (names of :data:`HISTORY_MARTS`) of :mod:`arinsight.engine.history` over
    the pandas frames ``tables`` (invoices, payments, adjustments), on an embedded DuckDB, as pandas frames
    ordered by their keys (``history.KEYS``). ``as_of``: cut the ledger at T (None: take it as
    it is); ``late_days``: of ``customer_history``; ``origins``: the dates of
    ``open_at_origins``; ``weeks``: of ``collected_by_week``, which reads ``open_rows`` (a frame
    with origin, invoice_id, open_amount) or else the rows of ``open_at_origins``. Settlement,
    applied payments and the open rows are computed once and kept in the engine, where the
    marts that read them find them."""
    from arinsight.engine import history
    from arinsight.engine.window import as_date

    unknown = [m for m in marts if m not in HISTORY_MARTS]
    if unknown:
        raise ValueError(f"unknown history mart(s): {', '.join(unknown)}")
    t = None if as_of is None else as_date(as_of)
    days = [as_date(o) for o in origins]
    frames = {}
    for name, cols in _HISTORY_COLUMNS.items():
        frame = tables.get(name)
        if frame is not None:
            frames[name] = frame[[c for c in cols if c in frame.columns]]
    con = connect(memory_limit=HISTORY_MEMORY_LIMIT)
    try:
        ledgers = stage(sources.from_frames(con, frames))
        kept: dict[str, ir.Table] = {}

        def table(name: str) -> ir.Table:
            """The mart ``name``, computed once and kept in the engine."""
            if name not in kept:
                if name == "settlement":
                    expr = history.settlement(ledgers, t)
                elif name == "applied":
                    expr = history.applied(ledgers, t)
                else:
                    expr = history.open_at_origins(ledgers, days)
                kept[name] = con.create_table(gen_name(f"arinsight_{name}"), expr, temp=True)
            return kept[name]

        out = {}
        for name in marts:
            if name == "customer_history":
                expr = history.customer_history(table("settlement"), table("applied"), late_days)
            elif name == "collected_by_week":
                rows = table("open_at_origins") if open_rows is None else _open_rows(con, open_rows)
                expr = history.collected_by_week(rows, ledgers, weeks)
            else:
                expr = table(name).order_by(*history.KEYS[name])
            out[name] = as_pandas(con, expr)
        return out
    finally:
        con.disconnect()
