"""Where the ledger lives: the one module that names physical tables.

Each function binds the canonical tables the engine reads (the five of every ledger and the
optional ``adjustments``: write-offs, credit notes and other non-cash adjustments) to Ibis
tables on a backend connection and returns them as one :class:`Ledgers`; nothing is read until
a query runs. A table the dataset does not have is an empty table with the canonical columns,
so the KPIs that need it are None (n/a).

- :func:`from_parquet`: ``<folder>/<table>.parquet`` (``data/processed`` by default), read by the
  engine itself (DuckDB streams it out of core);
- :func:`from_frames`: pandas frames, e.g. the dict of :func:`arinsight.ledger.load_processed`;
- :func:`from_database`: tables named after the canonical tables in the database of the
  connection (``engine: postgres://...``), analysed in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from arinsight.errors import ProcessedDataError, UserError

if TYPE_CHECKING:  # Ibis is imported where a table is made: a compiled plan runs without it
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

TABLES: tuple[str, ...] = (
    "customers",
    "invoices",
    "payments",
    "sales_reps",
    "commissions",
    "adjustments",
)

#: The columns the engine reads, with the type an empty table gets. Other columns are ignored.
RAW_SCHEMAS: dict[str, dict[str, str]] = {
    "customers": {
        "customer_id": "string",
        "customer_name": "string",
        "region": "string",
        "credit_limit": "float64",
    },
    "invoices": {
        "invoice_id": "string",
        "customer_id": "string",
        "invoice_date": "timestamp",
        "due_date": "timestamp",
        "amount": "float64",
        "region": "string",
    },
    "payments": {
        "payment_id": "string",
        "invoice_id": "string",
        "customer_id": "string",
        "payment_date": "timestamp",
        "amount": "float64",
    },
    "sales_reps": {"sales_rep_id": "string", "rep_name": "string", "sales_group": "string"},
    "commissions": {
        "commission_id": "string",
        "sales_rep_id": "string",
        "invoice_id": "string",
        "commission_amount": "float64",
        "accrual_date": "timestamp",
        "is_settled": "boolean",
        "settlement_date": "timestamp",
    },
    "adjustments": {
        "adjustment_id": "string",
        "invoice_id": "string",
        "customer_id": "string",
        "adjustment_date": "timestamp",
        "amount": "float64",
        "kind": "string",
    },
}

#: Columns without which a table cannot be analysed (the others may be absent: null).
REQUIRED: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "invoices": ("invoice_id", "customer_id", "invoice_date", "due_date", "amount"),
    "payments": ("invoice_id", "customer_id", "payment_date", "amount"),
    "sales_reps": ("sales_rep_id",),
    "commissions": (
        "sales_rep_id",
        "commission_amount",
        "accrual_date",
        "is_settled",
        "settlement_date",
    ),
    "adjustments": ("invoice_id", "adjustment_date", "amount", "kind"),
}


class Ledgers(NamedTuple):
    """The canonical tables of one dataset as Ibis tables (raw or staged)."""

    customers: ir.Table
    invoices: ir.Table
    payments: ir.Table
    sales_reps: ir.Table
    commissions: ir.Table
    adjustments: ir.Table


def _temp(con: BaseBackend, table: str, data: Any) -> ir.Table:
    """``data`` as a temporary table of the connection (a fresh name per call). Ibis has no
    temporary tables on Spark and converts through pandas there (a null text becomes "NaN"), so
    on Spark the Arrow table becomes a Spark DataFrame directly, registered as a temp view."""
    from ibis.util import gen_name

    name = gen_name(f"arinsight_{table}")
    if con.name == "pyspark":
        con._session.createDataFrame(data).createOrReplaceTempView(name)
        return con.table(name)
    return con.create_table(name, data, temp=True)


def empty(con: BaseBackend, table: str) -> ir.Table:
    """An empty table with the columns of :data:`RAW_SCHEMAS`."""
    import ibis

    return _temp(con, table, ibis.schema(RAW_SCHEMAS[table]).to_pyarrow().empty_table())


def check_columns(table: str, t: ir.Table, where: str) -> ir.Table:
    """``t`` unchanged when it has the required columns, else a
    :class:`~arinsight.errors.ProcessedDataError` naming them."""
    missing = [c for c in REQUIRED[table] if c not in t.columns]
    if missing:
        raise ProcessedDataError(
            f"{where}: {table}: missing column(s) {', '.join(missing)}; the tables come from "
            "clean: run `arinsight run` (or notebooks 01 and 02) again"
        )
    return t


def from_parquet(con: BaseBackend, folder: str | Path) -> Ledgers:
    """The tables of ``folder/<table>.parquet`` (a missing file is an empty table; on the
    default engine's runner an empty view of a fixed shape, so a compiled plan does not depend
    on it: :meth:`~arinsight.engine.duck.DuckDBRunner.stand_in`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder of processed tables")
    tables = {}
    for name in TABLES:
        path = folder / f"{name}.parquet"
        if path.exists():
            t = con.read_parquet(path, table_name=f"src_{name}")
        elif hasattr(con, "stand_in"):
            t = con.stand_in(f"src_{name}", RAW_SCHEMAS[name])
        else:
            t = empty(con, name)
        tables[name] = check_columns(name, t, str(path))
    return Ledgers(**tables)


def to_arrow(frame) -> Any:
    """A pandas frame as Arrow with no null-typed columns (an all-None column becomes text)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    return table


def from_frames(con: BaseBackend, tables: Mapping[str, object]) -> Ledgers:
    """Pandas frames (any of :data:`TABLES`; absent ones are empty) registered in the engine
    as temporary tables."""
    out = {}
    for name in TABLES:
        frame = tables.get(name)
        if frame is None:
            out[name] = empty(con, name)
            continue
        if not hasattr(frame, "columns"):
            raise TypeError(f"{name}: expected a DataFrame, got {type(frame).__name__}")
        t = _temp(con, name, to_arrow(frame))
        out[name] = check_columns(name, t, "frames")
    return Ledgers(**out)


def from_database(con: BaseBackend) -> Ledgers:
    """The canonical tables of the connection's database, queried in place (absent ones empty)."""
    present = set(con.list_tables())
    out = {}
    for name in TABLES:
        t = con.table(name) if name in present else empty(con, name)
        out[name] = check_columns(name, t, name)
    return Ledgers(**out)
