"""Databases: SQLite read natively (values typed as SQLite stores them), any other database
through SQLAlchemy on a read-only connection, a query refused when it could write."""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import SourceError
from arinsight.ingest.readers.base import (
    check_header,
    display_path,
)


def mask_url(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def columns_of(rows: list[tuple], names: list[str]) -> pd.DataFrame:
    """Driver rows as a frame, column by column: a column whose values are all text becomes a
    text column, a column of numbers a numeric one (ints and floats exactly as the driver gave
    them), anything mixed stays as the Python values (parsed cell by cell later)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    data = {}
    for name, values in zip(names, columns, strict=True):
        raw = np.array(values, dtype=object)
        kind = pd.api.types.infer_dtype(raw, skipna=True)
        if kind == "string":
            data[name] = pd.Series(raw, dtype="str")
        elif kind == "integer":
            data[name] = pd.Series(pd.array(raw, dtype="Int64"))
        elif kind in ("floating", "mixed-integer-float"):
            data[name] = pd.Series(raw, dtype="float64")
        else:
            data[name] = pd.Series(raw, dtype=object)
    return pd.DataFrame(data)


#: SQLite's type affinity TEXT (declared type containing CHAR, CLOB or TEXT, and not INT): such a
#: table column stores text, blobs and nulls only (numbers are converted to text on insert).
def _text_affinity(declared: str) -> bool:
    declared = (declared or "").upper()
    return "INT" not in declared and any(t in declared for t in ("CHAR", "CLOB", "TEXT"))


def read_sqlite_table(db: Path, table: str, shown: str) -> pd.DataFrame | None:
    """A SQLite table read into Arrow columns by the ADBC SQLite driver (about 2x faster than the
    DB-API cursor and no Python object per cell), with exactly the values and types the cursor
    gives (see :func:`columns_of`). None when this path cannot vouch for that (a blob, text that
    is not UTF-8, rows added while reading, any driver error): the caller then reads the table
    through the cursor, which also gives the error messages.

    SQLite stores a type per cell, not per column; the driver infers one type per column from the
    rows it reads (integers, then reals, then text: a number among text becomes text), so the
    whole table is read as one batch, and a column that came back as text although it may hold
    numbers (a column without TEXT affinity, any column of a view) is read again as its integer
    and real cells, which restores each cell's own type.
    """
    import sqlite3

    import pyarrow as pa

    try:
        import adbc_driver_sqlite.dbapi as adbc_sqlite
    except ImportError:  # pragma: no cover - a pinned dependency
        return None

    def quote(name: str) -> str:  # an SQLite identifier, whatever its characters
        return '"' + name.replace('"', '""') + '"'

    quoted = quote(table)
    sql = f"SELECT * FROM {quoted}"
    try:
        with closing(sqlite3.connect(db)) as meta:
            declared = {row[1]: row[2] for row in meta.execute(f"PRAGMA table_info({quoted})")}
            kind = meta.execute(
                "SELECT type FROM sqlite_master WHERE lower(name) = lower(?)", (table,)
            ).fetchone()
            n = meta.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
        is_table = kind is not None and kind[0] == "table"

        def arrow(query: str) -> pa.Table:
            with conn.cursor() as cursor:
                cursor.adbc_statement.set_options(
                    **{"adbc.sqlite.query.batch_rows": str(max(int(n), 1))}
                )
                cursor.execute(query)
                return cursor.fetch_arrow_table()

        with adbc_sqlite.connect(str(db)) as conn:
            result = arrow(sql)
            if result.num_rows != n:
                return None
            suspect = []
            for i, field in enumerate(result.schema):
                if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                    result.column(i).validate(full=True)  # raises on text that is not UTF-8
                    if not (is_table and _text_affinity(declared.get(field.name, ""))):
                        suspect.append(i)
                elif not (pa.types.is_int64(field.type) or pa.types.is_float64(field.type)):
                    return None  # blobs (binary)
            split = None
            if suspect:
                cells = []
                for i in suspect:
                    col = quote(result.schema.field(i).name)
                    cells += [
                        f"CASE typeof({col}) WHEN 'integer' THEN {col} END",
                        f"CASE typeof({col}) WHEN 'real' THEN {col} END",
                    ]
                split = arrow(f"SELECT {', '.join(cells)} FROM {quoted}")
                if split.num_rows != n:
                    return None
    except Exception:  # any driver or SQL error: the cursor path reports it
        return None
    names = check_header(result.schema.names, shown)
    data = {}
    for i, name in enumerate(names):
        column = result.column(i).combine_chunks()
        if i in suspect:
            pos = suspect.index(i)
            ints = split.column(2 * pos).combine_chunks()
            reals = split.column(2 * pos + 1).combine_chunks()
            data[name] = _mixed_cells(column, ints, reals)
        else:
            data[name] = _typed_column(column)
    return pd.DataFrame(data) if data else pd.DataFrame(columns=names)


def _typed_column(column) -> pd.Series:
    """One Arrow column of a single SQLite storage class as :func:`columns_of` makes it."""
    import pyarrow as pa

    if column.null_count == len(column):  # no value at all (or no rows)
        return pd.Series([None] * len(column), dtype=object)
    if pa.types.is_int64(column.type):
        values = column.fill_null(0).to_numpy()
        mask = column.is_null().to_numpy(zero_copy_only=False)
        return pd.Series(pd.arrays.IntegerArray(values, mask))
    if pa.types.is_float64(column.type):
        return pd.Series(column.to_numpy(zero_copy_only=False), dtype="float64")
    return column.to_pandas()


def _mixed_cells(text, ints, reals) -> pd.Series:
    """A column whose cells may mix text with numbers: each cell as its own type (int, float or
    str, as the DB-API cursor gives it); typed like :func:`columns_of` would type it."""
    import pyarrow as pa

    is_int = ints.is_valid().to_numpy(zero_copy_only=False)
    is_real = reals.is_valid().to_numpy(zero_copy_only=False)
    if not is_int.any() and not is_real.any():
        return _typed_column(text)
    reals = reals if pa.types.is_float64(reals.type) else reals.cast(pa.float64())
    is_text = text.is_valid().to_numpy(zero_copy_only=False) & ~is_int & ~is_real
    if not is_text.any() and (pa.types.is_int64(ints.type) or not is_int.any()):
        # every cell a number (or null): one numeric column, no Python object per cell
        if not is_real.any():
            return _typed_column(ints)  # Int64
        number = np.array(reals.to_numpy(zero_copy_only=False), dtype="float64")  # NaN: null
        if is_int.any():
            number[is_int] = ints.fill_null(0).to_numpy()[is_int]
        return pd.Series(number, dtype="float64")
    values = np.empty(len(text), dtype=object)  # None: missing; only the text cells decoded
    values[is_text] = text.filter(pa.array(is_text)).to_numpy(zero_copy_only=False)
    if is_int.any():
        values[is_int] = ints.fill_null(0).to_numpy()[is_int].astype(object)
    if is_real.any():
        values[is_real] = reals.to_numpy(zero_copy_only=False)[is_real].astype(object)
    if is_text.any():
        return pd.Series(values, dtype=object)
    kind = pd.api.types.infer_dtype(values, skipna=True)  # numbers of another Arrow type
    if kind in ("floating", "mixed-integer-float"):
        return pd.Series(values, dtype="float64")
    if kind == "integer":
        return pd.Series(pd.array(values, dtype="Int64"))
    return pd.Series(values, dtype=object)


#: sqlglot's dialect for a SQLAlchemy dialect name (the same name where they agree).
_SQLGLOT_DIALECTS = {"postgresql": "postgres", "mssql": "tsql", "mariadb": "mysql"}


#: Statements that change a database (or run something that may): refused anywhere in a query.
_WRITES = (
    "Insert", "Update", "Delete", "Merge", "Drop", "Create", "Alter", "TruncateTable", "Command",
    "Copy", "Grant", "Revoke", "Set", "Use", "Pragma", "Transaction", "Commit", "Rollback",
    "LoadData", "Into",
)  # fmt: skip


def _check_read_only(query: str, dialect: str, shown: str) -> None:
    """Refuse a ``query:`` that is not one statement that only reads: it is parsed (sqlglot, in
    the database's dialect) and must be a single SELECT (WITH, UNION... included) containing no
    statement that writes, not even in a common table expression. A query sqlglot cannot parse
    is refused too: map a ``table:`` or a view instead."""
    import sqlglot
    from sqlglot import exp

    try:
        parsed = sqlglot.parse(query, read=_SQLGLOT_DIALECTS.get(dialect, dialect))
    except Exception as exc:  # sqlglot's ParseError / TokenError, or an unknown dialect
        raise SourceError(
            shown,
            f"`query:` could not be checked to only read ({str(exc).splitlines()[0]}); "
            "write it as one plain SELECT, or map a `table:` (or a view) instead",
        ) from None
    statements = [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]
    kinds = tuple(getattr(exp, name) for name in _WRITES if hasattr(exp, name))
    for stmt in statements:
        writes = [type(node).__name__.upper() for node in stmt.find_all(*kinds)]
        if not isinstance(stmt, exp.Query) or writes:
            what = writes[0] if writes else type(stmt).__name__.upper()
            raise SourceError(
                shown,
                f"`query:` must only read (one SELECT), but it contains {what}: arinsight "
                "never changes the database it reads",
            )
    if len(statements) != 1:
        raise SourceError(
            shown,
            f"`query:` holds {len(statements)} statements; a source is read with one SELECT",
        )


def read_only_engine(url: str):
    """A SQLAlchemy engine whose connections cannot write where the driver allows it: a SQLite
    file opened read-only (``mode=ro``), PostgreSQL sessions with
    ``default_transaction_read_only``; with every driver the transaction is rolled back after the
    read (:func:`read_sql`)."""
    import sqlalchemy as sa

    made = sa.engine.make_url(url)
    if made.get_backend_name() == "sqlite" and made.database not in (None, "", ":memory:"):
        import sqlite3

        path = Path(made.database).resolve().as_uri()
        return sa.create_engine(
            "sqlite://", creator=lambda: sqlite3.connect(f"{path}?mode=ro", uri=True)
        )
    if made.get_backend_name() == "postgresql" and made.get_driver_name() in (
        "psycopg2",
        "psycopg",
    ):
        return sa.create_engine(
            made, connect_args={"options": "-c default_transaction_read_only=on"}
        )
    return sa.create_engine(made)


def read_sql(url: str, src: dict[str, Any], base: Path) -> tuple[pd.DataFrame, str]:
    """A table or a query through SQLAlchemy (any URL), fetched with the driver's own cursor
    (plain tuples, about 20x faster than SQLAlchemy rows on a million); values keep the
    database's types. A ``table:`` of a SQLite file is read Arrow-native by the ADBC SQLite
    driver (:func:`read_sqlite_table`), with the same values and types.

    Read-only by construction: a ``query:`` must be one SELECT (:func:`_check_read_only`), the
    connection is read-only where the driver allows it and the transaction is rolled back after
    the read (:func:`read_only_engine`)."""
    url = url.replace("{here}", base.as_posix())
    shown = mask_url(url)
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///") :])
        shown = display_path(db)
        if not db.exists():
            raise SourceError(shown, "database file not found")
        if src.get("table") and not src.get("query"):
            df = read_sqlite_table(db, src["table"], shown)
            if df is not None:
                df.index = np.arange(1, len(df) + 1)
                return df, shown
    import sqlalchemy as sa

    try:
        engine = read_only_engine(url)
    except Exception as exc:
        raise SourceError(shown, f"not a usable SQLAlchemy URL: {exc}") from exc
    if src.get("query"):
        _check_read_only(str(src["query"]), engine.dialect.name, shown)
        query = sa.text(src["query"])
    elif src.get("table"):
        query = sa.select(sa.text("*")).select_from(sa.table(src["table"]))
    else:
        raise SourceError(shown, "a sql source needs `table:` or `query:`")
    try:
        with engine.connect() as conn:
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            dbapi = conn.connection.dbapi_connection
            cursor = dbapi.cursor()
            try:
                cursor.execute(sql)
                names = check_header([d[0] for d in cursor.description], shown)
                rows = cursor.fetchall()
            finally:
                cursor.close()
                dbapi.rollback()  # whatever the statement did is undone, never committed
    except sa.exc.OperationalError as exc:
        raise SourceError(shown, f"cannot read: {exc.orig}") from exc
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(shown, f"query failed: {exc}") from exc
    except Exception as exc:  # the driver's own errors (the DB-API has no common base)
        raise SourceError(shown, f"query failed: {exc}") from exc
    finally:
        engine.dispose()
    df = columns_of(rows, names)
    df.index = np.arange(1, len(df) + 1)
    return df, shown
