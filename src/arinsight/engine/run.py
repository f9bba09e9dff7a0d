"""The edge of the engine: connect to a backend, run the marts, return small Python results.

This is the only module that connects or executes. Money comes back as :class:`decimal.Decimal`
(exact to the cent at any size); ratios and days as floats rounded to 4 decimals; undefined
values as None.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import tempfile
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend
from ibis.util import gen_name

from arinsight.engine import marts, sources
from arinsight.engine.positions import AsOf
from arinsight.engine.sources import Ledgers
from arinsight.engine.staging import stage
from arinsight.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_BUCKETS: tuple[int, ...] = (0, 30, 60, 90, 120)
DEFAULT_TOP_N = 10


class EngineError(UserError):
    """The engine URL cannot be used (unknown scheme, unreachable database)."""


def connect(url: str | None = None, **options: Any) -> BaseBackend:
    """A backend connection: DuckDB in memory by default (``None``, ``""`` or ``duckdb://``),
    ``pyspark://`` for a local Spark session (time zone UTC), else any Ibis URL such as
    ``postgres://user:password@host:5432/db``. ``options`` go to DuckDB's settings
    (``memory_limit="6GB"``, ``threads=2``)."""
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
        if scheme == "pyspark":
            from pyspark.sql import SparkSession

            session = (
                SparkSession.builder.master("local[2]")
                .appName("arinsight")
                .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="arinsight-spark-"))
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.ui.enabled", "false")
                .getOrCreate()
            )
            return ibis.pyspark.connect(session)
        return ibis.connect(text)
    except ImportError as exc:
        raise EngineError(f"engine {scheme}://: its driver is not installed ({exc})") from exc
    except Exception as exc:
        raise EngineError(f"engine {_redact(text)}: cannot connect: {exc}") from exc


class DuckDBRunner:
    """DuckDB's own Python client running the SQL that Ibis compiles for DuckDB.

    The default path of ``arinsight kpis`` (DuckDB over parquet) uses it instead of Ibis's DuckDB
    backend, whose result converters import pandas: the same queries, half a second less to
    start. It offers the few backend methods the engine uses.
    """

    name = "duckdb"

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        import duckdb

        self.con = duckdb.connect()
        settings = dict(settings or {})
        settings.setdefault("temp_directory", str(Path(tempfile.gettempdir(), "arinsight-duckdb")))
        for key, value in settings.items():
            if value is not None:
                self.con.execute(f"SET {key} = '{value}'")

    def _bind(self, name: str) -> ir.Table:
        from ibis.backends.sql.datatypes import DuckDBType

        cols = self.con.execute(f'DESCRIBE "{name}"').fetchall()
        return ibis.table({c[0]: DuckDBType.from_string(c[1]) for c in cols}, name=name)

    def _sql(self, expr: ir.Expr) -> str:
        import ibis.expr.operations as ops

        for op in expr.op().find(ops.InMemoryTable):
            self.con.register(op.name, op.data.to_pyarrow(op.schema))
        return str(ibis.to_sql(expr, dialect="duckdb"))

    def read_parquet(self, path: str | Path, table_name: str) -> ir.Table:
        text = str(path).replace("'", "''")
        self.con.execute(f"CREATE VIEW \"{table_name}\" AS SELECT * FROM read_parquet('{text}')")
        return self._bind(table_name)

    def create_table(self, name: str, obj: Any, temp: bool | None = True) -> ir.Table:
        if isinstance(obj, ir.Expr):
            self.con.execute(f'CREATE TEMP TABLE "{name}" AS {self._sql(obj)}')
        else:
            self.con.register(f"{name}_data", obj)
            self.con.execute(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM "{name}_data"')
            self.con.unregister(f"{name}_data")
        return self._bind(name)

    def insert(self, name: str, expr: ir.Table) -> None:
        self.con.execute(f'INSERT INTO "{name}" {self._sql(expr)}')

    def drop_table(self, name: str) -> None:
        self.con.execute(f'DROP TABLE IF EXISTS "{name}"')

    def records(self, expr: ir.Expr) -> list[dict[str, Any]]:
        """The rows of ``expr`` as dicts (DuckDB's own conversion: Decimal, date, int, str)."""
        cursor = self.con.execute(self._sql(expr))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def disconnect(self) -> None:
        self.con.close()


def _records(con: Any, expr: ir.Expr) -> list[dict[str, Any]]:
    if isinstance(con, DuckDBRunner):
        return con.records(expr)
    if isinstance(expr, ir.Scalar):
        return [{"value": con.to_pyarrow(expr).as_py()}]
    return con.to_pyarrow(expr).to_pylist()


def _materialize(con: Any, expr: ir.Table) -> tuple[ir.Table, Any]:
    """``expr`` computed once and kept in the backend (a temporary table, or Spark's cache);
    returns the table and the function that releases it."""
    if isinstance(con, DuckDBRunner):
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


def _buckets(params: Mapping[str, Any]) -> list[int]:
    raw = params.get("aging_buckets") or DEFAULT_BUCKETS
    try:
        b = [int(x) for x in raw]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"aging_buckets: expected a list of whole days, got {raw!r}") from exc
    if not b or b[0] < 0 or any(hi <= lo for lo, hi in zip(b[:-1], b[1:], strict=True)):
        raise ValueError(
            f"aging_buckets: expected non-negative, strictly increasing day bounds, got {raw!r}"
        )
    return b


def aging_labels(buckets: Sequence[int]) -> list[str]:
    """Current, 1-30, 31-60, ..., 120+ for ``[0, 30, 60, 90, 120]`` (a first bound b > 0: 0-b)."""
    labels = ["Current" if buckets[0] == 0 else f"0-{buckets[0]}"]
    labels += [f"{lo + 1}-{hi}" for lo, hi in zip(buckets[:-1], buckets[1:], strict=True)]
    return [*labels, f"{buckets[-1]}+"]


def _value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return v.quantize(Decimal("0.01")) + Decimal("0.00")
    if isinstance(v, float):
        return round(v, 4) + 0.0
    return v


#: Payments per part when the (region, customer) positions are computed part by part.
PAYMENTS_PER_PART = 100_000_000


def _parts(con: BaseBackend, ledgers: Ledgers, params: Mapping[str, Any]) -> int:
    """How many parts the positions are computed in: ``params["engine_parts"]``, else on DuckDB
    one per :data:`PAYMENTS_PER_PART` payments (its hash tables then fit in memory), else 1."""
    if params.get("engine_parts"):
        return max(1, int(params["engine_parts"]))
    if con.name != "duckdb":
        return 1
    n = int(next(iter(_records(con, ledgers.payments.count())[0].values())) or 0)
    return max(1, -(-n // PAYMENTS_PER_PART))


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
    from it. ``params``: ``aging_buckets``, ``top_n``.
    """
    params = dict(params or {})
    buckets = _buckets(params)
    top_n = int(params["top_n"]) if params.get("top_n") is not None else DEFAULT_TOP_N
    if top_n < 1:
        raise ValueError(f"top_n: expected at least 1, got {top_n!r}")
    ledgers = stage(raw)
    parts = _parts(con, ledgers, params)
    if parts == 1:
        cp, release = _materialize(con, marts.customer_positions(ledgers, window, buckets))
    else:
        name = gen_name("arinsight_parts")
        first = marts.customer_positions(ledgers, window, buckets, (0, parts))
        partial = con.create_table(name, first, temp=True)
        for k in range(1, parts):
            con.insert(name, marts.customer_positions(ledgers, window, buckets, (k, parts)))
        cp, release = _materialize(con, marts.regroup(partial))
        con.drop_table(name)
    try:
        rows = _records(con, marts.kpis_by_region(cp, ledgers, window, buckets, regions))
        top = _records(con, marts.top_pending(cp, ledgers.customers, top_n))
    finally:
        release()
    labels = aging_labels(buckets)
    tops: dict[str, list[tuple]] = {}
    for r in top:
        tops.setdefault(r["region"], []).append(
            (
                r["rank"],
                {
                    "customer_id": r["customer_id"],
                    "customer_name": r["customer_name"],
                    "pending": _value(r["pending"]),
                    "overdue": _value(r["overdue"]),
                },
            )
        )
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["region"] != marts.ALL, r["region"])):
        region = r.pop("region")
        aging = {lab: _value(r.pop(f"aging_{i}")) for i, lab in enumerate(labels)}
        kpis = {k: _value(v) for k, v in r.items()}
        out[region] = {
            "period": label,
            "region": region,
            "as_of": window.as_of.isoformat(),
            **kpis,
            "aging": aging,
            "top_pending_customers": [c for _, c in sorted(tops.get(region, []))],
        }
    return out


def period_window(label: str, as_of: Any = None) -> AsOf:
    """The :class:`AsOf` of a period label ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY`` (T = ``as_of``,
    default the period's last day), parsed without pandas so the command line starts fast."""
    text = str(label).strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"period {label!r}: month must be 01-12")
        first, last = (year, month), (year, month)
    elif m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, q = int(m[1]), int(m[2])
        first, last = (year, 3 * q - 2), (year, 3 * q)
    elif re.fullmatch(r"\d{4}", text):
        first, last = (int(text), 1), (int(text), 12)
    else:
        raise ValueError(f"period {label!r}: expected YYYY-MM, YYYY-Qn or YYYY")
    start = dt.date(first[0], first[1], 1)
    end = dt.date(last[0], last[1], calendar.monthrange(last[0], last[1])[1])
    t = end if as_of is None else _date(as_of)
    return AsOf(start, end, t)


def _window(period: Any, as_of: Any = None) -> tuple[AsOf, str]:
    if isinstance(period, str):
        return period_window(period, as_of), period.strip()
    end = period.full_end.date() if hasattr(period, "full_end") else period.end.date()
    t = period.end if as_of is None else as_of
    return AsOf(period.start.date(), end, _date(t)), period.label


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValueError(f"as_of: {value!r} is not a date (YYYY-MM-DD)") from None


def kpis_from_frames(
    tables: Mapping[str, Any],
    period: Any,
    params: Mapping[str, Any] | None = None,
    regions: Sequence[str] | None = (),
) -> dict[str, dict[str, Any]]:
    """:func:`kpis_by_region` over pandas frames (the dict of ``load_processed``), on an
    embedded DuckDB. ``regions=()`` computes "All" only; ``params["as_of"]`` moves T."""
    params = dict(params or {})
    window, label = _window(period, params.get("as_of"))
    con = connect()
    try:
        return kpis_by_region(con, sources.from_frames(con, tables), window, params, regions, label)
    finally:
        con.disconnect()


def kpis_from_processed(
    folder: str | Path,
    period: Any,
    params: Mapping[str, Any] | None = None,
    regions: Sequence[str] | None = None,
    engine: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Every KPI of "All" and each region, computed where the data lives: DuckDB over
    ``folder/<table>.parquet`` by default, or inside the database of ``engine`` (a URL)."""
    params = dict(params or {})
    window, label = _window(period, params.get("as_of"))
    url = engine or params.get("engine")
    settings = dict(params.get("engine_settings") or {})
    in_place = url not in (None, "", "duckdb://")
    con = connect(url, **settings) if in_place else DuckDBRunner(settings)
    try:
        raw = sources.from_database(con) if in_place else sources.from_parquet(con, folder)
        return kpis_by_region(con, raw, window, params, regions, label)
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
    window, _ = _window(period, as_of)
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


#: The keys of kpis.json (DESIGN section 11's interface), in order. The model-based keys
#: ``cash_forecast`` and ``high_risk_customers`` come from the risk model, not from the engine:
#: ``arinsight kpis`` writes them as null.
KPIS_JSON_KEYS: tuple[str, ...] = (
    "period", "region", "as_of", "credit_sales", "collections", "open_ar", "open_ar_begin",
    "current_ar", "overdue_ar", "overdue_invoices", "dso", "countback_dso", "best_possible_dso",
    "average_days_delinquent", "cei", "ar_turnover", "ar_turnover_annualised",
    "customers_over_credit_limit", "aging", "average_days_late", "payment_completion_rate_count",
    "payment_completion_rate_amount", "paid_to_billed_rate", "top_pending_customers",
    "cash_forecast", "total_accrued_commissions", "commissions_paid_mtd",
    "average_commission_rate", "high_risk_customers",
)  # fmt: skip

_EXACT = "\u0000decimal:"


def kpis_json(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The kpis.json objects of every region as one JSON document: region -> object with the
    keys of :data:`KPIS_JSON_KEYS`. Money is written as an exact decimal number (``12.30``, never
    a rounded float), undefined values as null; keys in the order above, regions "All" first."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"{_EXACT}{value:.2f}"
        if isinstance(value, Mapping):
            return {str(k): mark(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mark(v) for v in value]
        return value

    doc = {
        region: {key: mark(kpis.get(key)) for key in KPIS_JSON_KEYS}
        for region, kpis in results.items()
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)
    return re.sub(r'"\\u0000decimal:(-?[0-9]+\.[0-9]+)"', r"\1", text) + "\n"
