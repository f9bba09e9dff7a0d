"""DuckDB over the processed parquet, the default engine, and its compiled plans.

:class:`DuckDBRunner` runs the SQL that Ibis compiles for DuckDB through DuckDB's own client.
:func:`kpis_over_parquet` is what ``arinsight kpis`` runs by default. Compiling the KPI queries
with Ibis costs more than DuckDB needs to run them on a million invoices (about 0.4 s of Python
against 1 s of DuckDB), so the compiled statements are kept as a *plan* and the next run with the
same tables and settings runs the plan without importing Ibis at all:

- a plan is compiled for stand-in dates (:data:`STAND_IN`) and the report's dates are put in
  when it runs, so one plan serves every period and every as-of date;
- its key is everything the SQL depends on: the engine's source code, the versions of Ibis,
  sqlglot and DuckDB, the column names and types of the tables (an absent one is an empty view
  of fixed columns, :meth:`DuckDBRunner.stand_in`, and counts as absent), the parts (with the
  bounds of range parts), the aging buckets, top_n and the requested regions. Change any and a
  new plan is compiled;
- plans live in ``$ARINSIGHT_CACHE_DIR/plans`` (default ``~/.cache/arinsight/plans``); set
  ``ARINSIGHT_PLAN_CACHE=off`` to compile every time. A folder that cannot be written only
  means the next run compiles again.

A ledger of more than :data:`PAYMENTS_PER_RANGE` payments is computed in parts
(:mod:`arinsight.engine.parts`): ranges of invoice ids cut at the row-group boundaries of
``invoices.parquet`` (read from its footer by :meth:`DuckDBRunner.row_groups`) when its row
groups are ordered by invoice id, hashes of the id otherwise.

Nothing here imports Ibis at module level: the plan path needs DuckDB and the standard library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arinsight.engine.checks import check_processed
from arinsight.engine.parts import PAYMENTS_PER_RANGE, parts_for, plan_parts, range_bounds
from arinsight.engine.results import buckets_of, shape, top_n_of
from arinsight.engine.window import AsOf, window_of

if TYPE_CHECKING:
    import ibis.expr.types as ir

#: The tables of a processed folder, ``<name>.parquet`` each (the engine's, :data:`arinsight.
#: engine.sources.TABLES`, named here again so that a plan runs without importing Ibis).
TABLES = ("customers", "invoices", "payments", "sales_reps", "commissions", "adjustments")

#: DuckDB's name of each type of :data:`arinsight.engine.sources.RAW_SCHEMAS` (stand-in views).
_SQL_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "float64": "DOUBLE",
              "boolean": "BOOLEAN"}  # fmt: skip

#: The dates a plan is compiled for; no ledger holds them, and each renders distinctly.
STAND_IN = AsOf(dt.date(1001, 2, 3), dt.date(1001, 12, 31), dt.date(1001, 5, 7))

#: Bump when the plan file's layout changes.
PLAN_FORMAT = 1


def _date_sql(d: dt.date) -> str:
    return f"MAKE_DATE({d.year}, {d.month}, {d.day})"


def date_swaps(window: AsOf) -> dict[str, str]:
    """The stand-in dates as DuckDB SQL, each mapped to the same date of ``window``."""
    return {
        _date_sql(getattr(STAND_IN, k)): _date_sql(getattr(window, k))
        for k in ("start", "end", "as_of", "begin")
    }


class DuckDBRunner:
    """DuckDB's own Python client running the SQL that Ibis compiles for DuckDB.

    The default path of ``arinsight kpis`` (DuckDB over parquet) uses it instead of Ibis's DuckDB
    backend, whose result converters import pandas. It offers the few backend methods the
    engine uses.

    Statements that build tables run on one background thread, in order, while the caller goes
    on compiling the next queries (DuckDB releases the GIL while it works, Ibis's compiler needs
    it): a table created from an expression is returned at once, typed from the expression, and
    any statement that reads results first waits for the queued ones.

    ``swaps`` (text -> text) is applied to every statement before it runs (the report's dates for
    the stand-in ones); with ``recording`` a list, every statement of the KPI queries is appended
    to it as compiled: the plan.
    """

    name = "duckdb"
    #: :mod:`arinsight.engine.run` tells this runner from an Ibis backend by this flag (duck
    #: imports run, so run does not import duck for an isinstance check).
    arinsight_runner = True

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        import duckdb

        self.con = duckdb.connect()
        self._queue = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arinsight-duckdb")
        self._pending: list[Future] = []
        self.swaps: dict[str, str] = {}
        self.recording: list[dict[str, Any]] | None = None
        self._views: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        settings = dict(settings or {})
        settings.setdefault("temp_directory", str(Path(tempfile.gettempdir(), "arinsight-duckdb")))
        for key, value in settings.items():
            if value is not None:
                self.con.execute(f"SET {key} = '{value}'")

    # -- running statements
    def _wait(self) -> None:
        """Finish the queued statements (re-raising the first error)."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def _execute(self, sql: str) -> Any:
        self._wait()
        return self.con.execute(sql)

    def rows(self, sql: str) -> list[tuple]:
        """The rows of one query (not recorded in a plan)."""
        return self._execute(sql).fetchall()

    def sql_text(self, sql: str) -> str:
        """The SQL sent to DuckDB: ``sql`` with the plan's stand-in dates swapped for the real
        ones (:attr:`swaps`); a stand-in date left over is a RuntimeError, never a wrong answer."""
        if not self.swaps:
            return sql
        for old, new in self.swaps.items():
            sql = sql.replace(old, new)
        if f"({STAND_IN.start.year}," in sql or f"'{STAND_IN.start.year}-" in sql:
            raise RuntimeError("a stand-in date of the compiled plan was left in its SQL")
        return sql

    def _step(self, sql: str, fetch: bool = False) -> Any:
        """One statement of the KPI queries: recorded, then queued (or, to fetch, run now)."""
        if self.recording is not None:
            self.recording.append({"sql": sql, "fetch": fetch})
        if not fetch:
            self._pending.append(self._queue.submit(self.con.execute, self.sql_text(sql)))
            return None
        cursor = self._execute(self.sql_text(sql))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def run_plan(self, steps: Sequence[Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
        """Run the statements of a plan; the rows of each fetching statement, in order."""
        out = [self._step(s["sql"], bool(s["fetch"])) for s in steps]
        self._wait()
        return [rows for rows, s in zip(out, steps, strict=True) if s["fetch"]]

    # -- the source tables
    def parquet_views(self, folder: str | Path) -> dict[str, list[tuple[str, str]] | None]:
        """A view ``src_<table>`` over each ``folder/<table>.parquet``, or for a missing file
        an empty view of the table's canonical columns (:meth:`stand_in`); table -> its columns
        (name, DuckDB type), None for a missing file."""
        from arinsight.engine.sources import RAW_SCHEMAS

        out: dict[str, list[tuple[str, str]] | None] = {}
        for name in TABLES:
            path = Path(folder, f"{name}.parquet")
            if path.exists():
                out[name] = self.read_parquet_view(path, f"src_{name}")
            else:
                self._empty_view(f"src_{name}", RAW_SCHEMAS[name])
                out[name] = None
        return out

    def _empty_view(self, view: str, schema: Mapping[str, str]) -> list[tuple[str, str]]:
        """``view`` as an empty relation of the columns ``schema`` (name -> type of
        :data:`arinsight.engine.sources.RAW_SCHEMAS`): the same SQL on every run."""
        cols = [(c, _SQL_TYPES[t]) for c, t in schema.items()]
        if self._views.get(view, (None,))[0] != "":
            select = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in cols)
            self._execute(f'CREATE OR REPLACE VIEW "{view}" AS SELECT {select} WHERE FALSE')
            self._views[view] = ("", cols)
        return cols

    def stand_in(self, view: str, schema: Mapping[str, str]) -> ir.Table:
        """An absent table as the empty view ``view`` (:meth:`_empty_view`): a fixed name and
        fixed SQL, so a plan compiled over it runs again (an in-memory table would get a new
        name on every run)."""
        import ibis
        from ibis.backends.sql.datatypes import DuckDBType

        cols = self._empty_view(view, schema)
        return ibis.table({c: DuckDBType.from_string(t) for c, t in cols}, name=view)

    def read_parquet_view(self, path: str | Path, view: str) -> list[tuple[str, str]]:
        """A view over the parquet file ``path`` (made once per view and file); its columns."""
        if self._views.get(view, (None,))[0] != str(path):
            text = str(path).replace("'", "''")
            self._execute(
                f"CREATE OR REPLACE VIEW \"{view}\" AS SELECT * FROM read_parquet('{text}')"
            )
            cols = self._execute(f'DESCRIBE "{view}"').fetchall()
            self._views[view] = (str(path), [(c[0], c[1]) for c in cols])
        return self._views[view][1]

    def count(self, table: str) -> int:
        return int(self._execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0])

    def row_groups(self, path: str | Path, column: str) -> list[tuple[Any, Any, int]]:
        """(min, max, rows) of ``column`` in each row group of the parquet file ``path``, from
        its footer (no data is read); min and max are None without statistics."""
        text = str(path).replace("'", "''")
        self._wait()
        return self.con.execute(
            "SELECT stats_min_value, stats_max_value, row_group_num_rows "
            f"FROM parquet_metadata('{text}') WHERE path_in_schema = ? ORDER BY row_group_id",
            [column],
        ).fetchall()

    # -- the backend methods the engine uses (Ibis imported only here)
    def _bind(self, name: str) -> ir.Table:
        import ibis
        from ibis.backends.sql.datatypes import DuckDBType

        cols = self._execute(f'DESCRIBE "{name}"').fetchall()
        return ibis.table({c[0]: DuckDBType.from_string(c[1]) for c in cols}, name=name)

    def _sql(self, expr: ir.Expr) -> str:
        """The DuckDB SQL of ``expr``, on one line (pretty-printing costs time, changes
        nothing); in-memory tables it reads are registered first."""
        import ibis.expr.operations as ops
        from ibis.backends.sql.compilers.duckdb import compiler

        sql = compiler.to_sqlglot(expr).sql(dialect="duckdb")
        memtables = list(expr.op().find(ops.InMemoryTable))
        if memtables:
            self._wait()
            for op in memtables:
                self.con.register(op.name, op.data.to_pyarrow(op.schema))
        return sql

    def read_parquet(self, path: str | Path, table_name: str) -> ir.Table:
        import ibis
        from ibis.backends.sql.datatypes import DuckDBType

        cols = self.read_parquet_view(path, table_name)
        return ibis.table({c: DuckDBType.from_string(t) for c, t in cols}, name=table_name)

    def create_table(self, name: str, obj: Any, temp: bool | None = True) -> ir.Table:
        import ibis
        import ibis.expr.types as ir

        if isinstance(obj, ir.Table):
            self._step(f'CREATE TEMP TABLE "{name}" AS {self._sql(obj)}')
            return ibis.table(obj.schema(), name=name)
        self._wait()
        self.con.register(f"{name}_data", obj)
        self.con.execute(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM "{name}_data"')
        self.con.unregister(f"{name}_data")
        return self._bind(name)

    def insert(self, name: str, expr: ir.Table) -> None:
        self._step(f'INSERT INTO "{name}" {self._sql(expr)}')

    def drop_table(self, name: str) -> None:
        self._step(f'DROP TABLE IF EXISTS "{name}"')

    def records(self, *exprs: ir.Expr) -> list[list[dict[str, Any]]]:
        """The rows of each of ``exprs`` as dicts (DuckDB's own conversion: Decimal, date, int,
        str). All are compiled before the first runs, while queued statements still work."""
        sqls = [self._sql(expr) for expr in exprs]
        return [self._step(sql, fetch=True) for sql in sqls]

    def disconnect(self) -> None:
        try:
            self._wait()
        finally:
            self._queue.shutdown()
            self.con.close()


# -- plans ------------------------------------------------------------------------------------


def plan_folder() -> Path | None:
    """Where plans are kept, or None when ``ARINSIGHT_PLAN_CACHE`` is off."""
    if os.environ.get("ARINSIGHT_PLAN_CACHE", "").strip().lower() in ("0", "off", "no", "false"):
        return None
    base = os.environ.get("ARINSIGHT_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "arinsight"
    )
    return Path(base, "plans")


def _engine_source() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def plan_key(inputs: Mapping[str, Any]) -> str:
    """The key of a plan: a digest of ``inputs`` (tables, parts, settings), the engine's source
    and the versions of the libraries that compile and run it."""
    from importlib.metadata import version

    text = json.dumps(
        {
            "format": PLAN_FORMAT,
            "engine": _engine_source(),
            "versions": [version(p) for p in ("ibis-framework", "sqlglot", "duckdb")],
            **inputs,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def load_plan(folder: Path | None, key: str) -> list[dict[str, Any]] | None:
    if folder is None:
        return None
    try:
        doc = json.loads(Path(folder, f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc.get("steps") if doc.get("key") == key else None


def store_plan(folder: Path | None, key: str, steps: list[dict[str, Any]]) -> None:
    """Keep ``steps`` under ``key`` (written whole or not at all; a folder that cannot be
    written is left alone: the next run compiles again)."""
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(folder, f".{key}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "steps": steps}), encoding="utf-8")
        tmp.replace(Path(folder, f"{key}.json"))
    except OSError:
        pass


def kpis_over_parquet(
    folder: str | Path,
    window: AsOf,
    label: str | None,
    params: Mapping[str, Any],
    regions: Sequence[str] | None,
) -> dict[str, dict[str, Any]]:
    """Every KPI of "All" and each region over ``folder/<table>.parquet`` on an embedded DuckDB:
    a kept plan when there is one (see the module's docstring), else compiled by Ibis and kept
    (an absent table is an empty view of fixed columns: its plan is kept too)."""
    from arinsight.errors import UserError

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder of processed tables")
    buckets, top_n = buckets_of(params), top_n_of(params)
    con = DuckDBRunner(params.get("engine_settings"))
    try:
        columns = con.parquet_views(folder)
        check_processed(con, folder, columns)
        payments = con.count("src_payments") if columns["payments"] else 0
        stats = None
        if columns["invoices"] and (params.get("engine_parts") or payments > PAYMENTS_PER_RANGE):
            stats = con.row_groups(folder / "invoices.parquet", "invoice_id")
        parts = plan_parts(parts_for(payments, params, bool(range_bounds(stats or (), 2))), stats)
        inputs = {
            "tables": columns,
            "parts": [list(p) for p in parts],
            "buckets": buckets,
            "top_n": top_n,
            "regions": None if regions is None else [str(r) for r in regions],
        }
        cache = plan_folder()
        key = plan_key(inputs) if cache else ""
        steps = load_plan(cache, key)
        if steps is None:
            from arinsight.engine import run, sources

            raw = sources.from_parquet(con, folder)
            con.swaps, con.recording = date_swaps(window), []
            rows, top, currencies, entities = run.kpi_rows(
                con, raw, STAND_IN, params, regions, parts
            )
            store_plan(cache, key, con.recording)
        else:
            con.swaps = date_swaps(window)
            rows, top, currencies, entities = con.run_plan(steps)
    finally:
        con.disconnect()
    reporting = str(params.get("reporting_currency") or "USD")
    return shape(rows, top, buckets, window, label, currencies, entities, reporting)


def kpis_from_processed(
    folder: str | Path,
    period: Any,
    params: Mapping[str, Any] | None = None,
    regions: Sequence[str] | None = None,
    engine: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Every KPI of "All" and each region, computed where the data lives: DuckDB over
    ``folder/<table>.parquet`` by default (:func:`kpis_over_parquet`), or inside the database of
    ``engine`` (a URL; default ``params["engine"]``)."""
    params = dict(params or {})
    url = engine or params.get("engine")
    if url not in (None, "", "duckdb://"):
        from arinsight.engine.run import kpis_in_place

        return kpis_in_place(url, period, params, regions)
    window, label = window_of(period, params.get("as_of"))
    return kpis_over_parquet(folder, window, label, params, regions)
