"""Ingest: sources files, column mappings, the three source kinds, flat exports and bad files."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pandas as pd
import pytest

from arinsight.errors import SourceError
from arinsight.ingest import ingest, read_interim, read_sources, write_interim

INVOICE_MAP = {
    "invoice_id": "Rechnung",
    "customer_id": "Kunde",
    "invoice_date": "Datum",
    "due_date": "Faellig",
    "amount": "Betrag",
}


def _german_export() -> bytes:
    """A ;-separated latin-1 export with dd.mm.yyyy dates and comma decimals."""
    text = (
        "Rechnung;Kunde;Name;Datum;Faellig;Betrag;Bezahlt am\n"
        "R-1;K1;Müller GmbH;01.02.2024;02.03.2024;1.234,50;05.03.2024\n"
        "R-2;K2;Gärtner AG;15.02.2024;16.03.2024;99,95;\n"
    )
    return text.encode("latin-1")


def test_foreign_csv_export_loads_with_a_mapping_only(write_sources):
    """R-1: 1.234,50 -> 1234.50 due 2024-03-02; R-2: 99,95 -> 99.95. Umlauts decode from latin-1.

    The rows keep their line numbers in the file (header = line 1): R-1 is line 2, R-2 line 3.
    """
    spec = write_sources(
        {
            "invoices": {
                "kind": "csv",
                "path": "export.csv",
                "delimiter": ";",
                "encoding": "latin-1",
                "decimal": ",",
                "thousands": ".",
                "date_format": "%d.%m.%Y",
                "columns": INVOICE_MAP,
                "derive_customers": {"customer_name": "Name"},
            }
        },
        {"export.csv": _german_export()},
    )
    result = ingest(spec)
    inv = result.tables["invoices"]
    assert inv["invoice_id"].tolist() == ["R-1", "R-2"]
    assert inv["amount"].tolist() == [1234.50, 99.95]
    assert inv["invoice_date"].tolist() == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-02-15")]
    assert inv["due_date"].tolist() == [pd.Timestamp("2024-03-02"), pd.Timestamp("2024-03-16")]
    assert inv["_source_row"].tolist() == [2, 3]
    assert inv["_parse_errors"].tolist() == ["", ""]
    cust = result.tables["customers"]
    assert cust["customer_name"].tolist() == ["Müller GmbH", "Gärtner AG"]
    assert result.tables["payments"].empty  # no derive_payments: no payments table
    assert result.rows_read == {
        "invoices": 2,
        "customers": 2,
        "payments": 0,
        "sales_reps": 0,
        "commissions": 0,
        "adjustments": 0,
        "disputes": 0,
        "promises": 0,
    }


def test_flat_erp_export_derives_payments_and_customers(write_sources):
    """One row per invoice with a paid date: R-1 paid 05.03.2024 in full (1234.50), R-2 unpaid.

    Payments: exactly one, id "R-1-P", for K1. Customers: K1 and K2 from the distinct ids.
    """
    spec = write_sources(
        {
            "invoices": {
                "kind": "csv",
                "path": "export.csv",
                "delimiter": ";",
                "encoding": "latin-1",
                "decimal": ",",
                "thousands": ".",
                "date_format": "%d.%m.%Y",
                "columns": INVOICE_MAP,
                "derive_payments": {"payment_date": "Bezahlt am"},
                "derive_customers": {"customer_name": "Name"},
            }
        },
        {"export.csv": _german_export()},
    )
    result = ingest(spec)
    pay = result.tables["payments"]
    assert pay[["payment_id", "invoice_id", "customer_id", "amount"]].values.tolist() == [
        ["R-1-P", "R-1", "K1", 1234.50]
    ]
    assert pay["payment_date"].tolist() == [pd.Timestamp("2024-03-05")]
    assert sorted(result.tables["customers"]["customer_id"]) == ["K1", "K2"]
    assert "payments" in result.derived


def _three_kinds(write_sources, tmp_path) -> Path:
    """A sources file with CSV invoices, Excel customers and SQLite payments."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "crm"
    ws.append(["export of 2026-10-31"])
    ws.append([])
    ws.append(["Cust", "Nm", "Reg", "Limit"])
    ws.append(["C1", "Alpha", "N", 5000])
    ws.append(["C2", "Beta", "S", 2500.5])
    wb.save(tmp_path / "crm.xlsx")
    con = sqlite3.connect(tmp_path / "ledger.sqlite")
    con.execute("CREATE TABLE pay (id TEXT, inv TEXT, cust TEXT, dt TEXT, amt REAL)")
    con.executemany(
        "INSERT INTO pay VALUES (?,?,?,?,?)",
        [("P1", "I1", "C1", "2024-02-10", 60.0), ("P2", None, "C2", "2024-02-11", 15.5)],
    )
    con.commit()
    con.close()
    spec = write_sources(
        {
            "invoices": {"kind": "csv", "path": "inv.csv"},
            "customers": {
                "kind": "excel",
                "path": "crm.xlsx",
                "sheet": "crm",
                "header_row": 3,
                "columns": {
                    "customer_id": "Cust",
                    "customer_name": "Nm",
                    "region": "Reg",
                    "credit_limit": "Limit",
                },
                "values": {"region": {"N": "North", "S": "South"}},
            },
            "payments": {
                "kind": "sql",
                "url": "sqlite:///{here}/ledger.sqlite",
                "query": "SELECT id, inv, cust, dt, amt FROM pay ORDER BY id",
                "columns": {
                    "payment_id": "id",
                    "invoice_id": "inv",
                    "customer_id": "cust",
                    "payment_date": "dt",
                    "amount": "amt",
                },
            },
        },
        {
            "inv.csv": """
            invoice_id,customer_id,invoice_date,due_date,amount
            I1,C1,2024-02-01,2024-03-01,100.00
            """
        },
    )
    return spec


def test_three_source_kinds_and_hashes(write_sources, tmp_path):
    """CSV invoices, Excel customers (header on row 3, region codes mapped), SQLite payments.

    Excel rows keep their sheet row numbers: header row 3, so C1 is row 4 and C2 row 5.
    The manifest records every file with the sha256 of its bytes.
    """
    result = ingest(_three_kinds(write_sources, tmp_path))
    cust = result.tables["customers"]
    assert cust["region"].tolist() == ["North", "South"]
    assert cust["credit_limit"].tolist() == [5000.0, 2500.5]
    assert cust["_source_row"].tolist() == [4, 5]
    pay = result.tables["payments"]
    assert pay["invoice_id"].isna().tolist() == [False, True]  # P2 is unapplied cash
    assert pay["amount"].tolist() == [60.0, 15.5]
    by_kind = {f["kind"]: f for f in result.files}
    assert set(by_kind) == {"csv", "excel", "sql"}
    for f in result.files:
        path = tmp_path / f["path"].split("/")[-1]
        assert f["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()

    out = tmp_path / "interim"
    write_interim(result, out)
    tables, manifest = read_interim(out)
    assert manifest["rows_read"]["payments"] == 2
    pd.testing.assert_frame_equal(tables["invoices"], result.tables["invoices"])


@pytest.mark.parametrize("side_by_side", [True, False])
def test_ingest_writing_each_table_as_read(write_sources, tmp_path, monkeypatch, side_by_side):
    """``ingest(write_to=folder)`` (the monthly run's way: each table written once final and let
    go) gives the files and manifest ``write_interim`` writes from an in-memory ingest, whether
    the sources are read side by side or (sources larger than SIDE_BY_SIDE_BYTES) one by one.
    Until write_interim writes the manifest, the folder is refused as incomplete."""
    import arinsight.ingest as ingest_pkg

    spec = _three_kinds(write_sources, tmp_path)
    in_memory = tmp_path / "in_memory"
    write_interim(ingest(spec), in_memory)
    if not side_by_side:
        monkeypatch.setattr(ingest_pkg, "SIDE_BY_SIDE_BYTES", 0)
    streamed = tmp_path / "streamed"
    streamed.mkdir()
    (streamed / "ingest_manifest.json").write_text("{}")  # the last run's
    result = ingest(spec, write_to=streamed)
    assert result.folder == streamed
    with pytest.raises(SourceError, match="no ingest output"):
        read_interim(streamed)
    assert result.rows_read == {
        "invoices": 1, "customers": 2, "payments": 2, "sales_reps": 0, "commissions": 0,
        "adjustments": 0, "disputes": 0, "promises": 0,
    }  # fmt: skip
    write_interim(result, streamed)
    (a, manifest_a), (b, manifest_b) = read_interim(in_memory), read_interim(streamed)
    assert manifest_b == manifest_a
    for table in a:
        pd.testing.assert_frame_equal(b[table], a[table])
        assert (streamed / f"{table}.parquet").read_bytes() == (
            in_memory / f"{table}.parquet"
        ).read_bytes()


def test_customers_derived_from_invoices_when_streaming(write_sources, tmp_path):
    """No customers source: the invoices are kept until the customers are derived from their
    ids (C1, C2), then written; both files are there and the counts are right."""
    spec = write_sources(
        {"invoices": {"kind": "csv", "path": "inv.csv"}},
        {
            "inv.csv": """
            invoice_id,customer_id,invoice_date,due_date,amount
            I1,C2,2024-02-01,2024-03-01,100.00
            I2,C1,2024-02-02,2024-03-02,50.00
            """
        },
    )
    out = tmp_path / "interim"
    result = ingest(spec, write_to=out)
    assert sorted(result.tables["customers"]["customer_id"]) == ["C1", "C2"]
    assert result.tables["invoices"]["invoice_id"].tolist() == ["I1", "I2"]
    assert result.rows_read["customers"] == 2 and result.rows_read["invoices"] == 2
    assert "customers" in result.derived


# --------------------------------------------------------------------------- bad files


def _csv_source(**extra):
    return {"invoices": {"kind": "csv", "path": "inv.csv", **extra}}


def test_missing_required_column_names_file_and_column(write_sources):
    spec = write_sources(
        _csv_source(), {"inv.csv": "invoice_id,customer_id,invoice_date\nI1,C1,2024-01-01\n"}
    )
    with pytest.raises(SourceError) as err:
        ingest(spec)
    msg = str(err.value)
    assert "inv.csv" in msg and "column 'amount'" in msg and "required column missing" in msg


def test_mapped_column_absent_names_source_column(write_sources):
    spec = write_sources(
        _csv_source(columns={"amount": "Total"}),
        {"inv.csv": "invoice_id,customer_id,invoice_date,amount\nI1,C1,2024-01-01,5\n"},
    )
    with pytest.raises(SourceError, match=r"inv\.csv, column 'amount'.*'Total'.*not found"):
        ingest(spec)


def test_empty_file_stops(write_sources):
    spec = write_sources(_csv_source(), {"inv.csv": ""})
    with pytest.raises(SourceError, match=r"inv\.csv: file is empty"):
        ingest(spec)


def test_unparseable_date_in_one_row_names_file_column_row(write_sources):
    """Line 3 (the second data row) holds 2024-02-30: the error names that line and the column."""
    spec = write_sources(
        _csv_source(columns={"invoice_date": "Date"}),
        {
            "inv.csv": (
                "invoice_id,customer_id,Date,amount\n"
                "I1,C1,2024-01-31,5\n"
                "I2,C1,2024-02-30,5\n"
                "I3,C1,2024-03-01,5\n"
            )
        },
    )
    with pytest.raises(SourceError) as err:
        ingest(spec)
    msg = str(err.value)
    assert "inv.csv" in msg and "invoice_date" in msg and "'Date'" in msg
    assert "row 3" in msg and "'2024-02-30'" in msg


def test_unparseable_value_is_marked_when_quarantine_is_asked(write_sources):
    spec = write_sources(
        _csv_source(on_bad_value="quarantine"),
        {"inv.csv": "invoice_id,customer_id,invoice_date,amount\nI1,C1,2024-01-31,12x.50\n"},
    )
    inv = ingest(spec).tables["invoices"]
    assert inv["_parse_errors"].tolist() == ["amount=12x.50"]
    assert inv["amount"].isna().all()


def test_wrong_encoding_names_the_line(write_sources):
    """A latin-1 'ü' on line 3 read as utf-8: the error names line 3 and suggests `encoding:`."""
    data = "invoice_id,customer_id,invoice_date,amount\nI1,C1,2024-01-31,5\nI2,Kü,2024-01-31,5\n"
    spec = write_sources(_csv_source(), {"inv.csv": data.encode("latin-1")})
    with pytest.raises(SourceError, match=r"inv\.csv, row 3: cannot decode .* utf-8 .*encoding"):
        ingest(spec)


def test_wrong_sheet_name_lists_sheets(write_sources, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Kunden"
    wb.save(tmp_path / "crm.xlsx")
    spec = write_sources(
        {
            "invoices": {"kind": "csv", "path": "inv.csv"},
            "customers": {"kind": "excel", "path": "crm.xlsx", "sheet": "customers"},
        },
        {"inv.csv": "invoice_id,customer_id,invoice_date,amount\nI1,C1,2024-01-31,5\n"},
    )
    with pytest.raises(
        SourceError, match=r"crm\.xlsx: no sheet named 'customers'; sheets present: Kunden"
    ):
        ingest(spec)


@pytest.mark.parametrize(
    "url, message",
    [
        ("sqlite:///{here}/missing.sqlite", "database file not found"),
        ("sqlite:////nonexistent-dir/x/ledger.sqlite", "database file not found"),
        ("notadialect://host/db", "not a usable SQLAlchemy URL"),
    ],
)
def test_unreachable_database_stops(write_sources, url, message):
    spec = write_sources(
        {
            "invoices": {"kind": "csv", "path": "inv.csv"},
            "payments": {"kind": "sql", "url": url, "table": "payments"},
        },
        {"inv.csv": "invoice_id,customer_id,invoice_date,amount\nI1,C1,2024-01-31,5\n"},
    )
    with pytest.raises(SourceError, match=message):
        ingest(spec)


def test_missing_sql_table_stops(write_sources, tmp_path):
    sqlite3.connect(tmp_path / "ledger.sqlite").close()
    spec = write_sources(
        {
            "invoices": {"kind": "csv", "path": "inv.csv"},
            "payments": {
                "kind": "sql",
                "url": "sqlite:///{here}/ledger.sqlite",
                "table": "payments",
            },
        },
        {"inv.csv": "invoice_id,customer_id,invoice_date,amount\nI1,C1,2024-01-31,5\n"},
    )
    with pytest.raises(SourceError, match=r"ledger\.sqlite.*no such table: payments"):
        ingest(spec)


def test_password_is_masked_in_errors(write_sources):
    spec = write_sources(
        {
            "invoices": {"kind": "csv", "path": "inv.csv"},
            "payments": {
                "kind": "sql",
                "url": "postgresql://u:secret@127.0.0.1:1/db",
                "table": "p",
            },
        },
        {"inv.csv": "invoice_id,customer_id,invoice_date,amount\nI1,C1,2024-01-31,5\n"},
    )
    with pytest.raises(SourceError) as err:
        ingest(spec)
    assert "secret" not in str(err.value) and "u:***@" in str(err.value)


@pytest.mark.parametrize(
    "sources, message",
    [
        ({"bills": {"kind": "csv", "path": "x.csv"}}, "unknown table"),
        ({"invoices": {"kind": "json", "path": "x.json"}}, "kind must be one of"),
        (
            {"invoices": {"kind": "csv", "path": "x.csv", "sep": ";"}},
            r"unknown option\(s\) \['sep'\]",
        ),
        (
            {"invoices": {"kind": "csv", "path": "x.csv", "columns": {"total": "T"}}},
            "unknown canonical",
        ),
        ({"invoices": {"kind": "csv", "path": "x.csv", "on_bad_value": "skip"}}, "on_bad_value"),
    ],
)
def test_bad_sources_file_is_refused(write_sources, sources, message):
    with pytest.raises(SourceError, match=message):
        read_sources(write_sources(sources, {}))


def test_missing_sources_file():
    with pytest.raises(SourceError, match="sources file not found"):
        read_sources("/nonexistent/sources.yaml")


def _ubl(inv_id: str, buyer: str, name: str, country: str, amount: str, due: str | None) -> str:
    due_xml = f"<cbc:DueDate>{due}</cbc:DueDate>" if due else ""
    means = (
        ""
        if due
        else "<cac:PaymentMeans><cbc:PaymentDueDate>2026-03-31</cbc:PaymentDueDate></cac:PaymentMeans>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
 <cbc:ID>{inv_id}</cbc:ID>
 <cbc:IssueDate>2026-03-01</cbc:IssueDate>
 {due_xml}
 <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
 <cac:AccountingCustomerParty><cac:Party>
  <cac:PartyIdentification><cbc:ID>{buyer}</cbc:ID></cac:PartyIdentification>
  <cac:PostalAddress><cac:Country><cbc:IdentificationCode>{country}</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
  <cac:PartyLegalEntity><cbc:RegistrationName>{escape(name)}</cbc:RegistrationName></cac:PartyLegalEntity>
 </cac:Party></cac:AccountingCustomerParty>
 {means}
 <cac:LegalMonetaryTotal><cbc:PayableAmount currencyID="EUR">{amount}</cbc:PayableAmount></cac:LegalMonetaryTotal>
</Invoice>
"""


def test_ubl_peppol_invoices_load_with_customers_and_regions(write_sources, tmp_path):
    """Two PEPPOL BIS invoices: INV-1 (due 2026-03-31 in cbc:DueDate, 1210.00 EUR, buyer B1 in DE)
    and INV-2 (due date only in PaymentMeans: 2026-03-31, 99.50 EUR, buyer B2 in FR).
    Countries map to regions (DE -> Central, FR -> West); each row names its own file."""
    (tmp_path / "einv").mkdir()
    (tmp_path / "einv" / "a.xml").write_text(
        _ubl("INV-1", "B1", "Käse & Co", "DE", "1210.00", "2026-03-31")
    )
    (tmp_path / "einv" / "b.xml").write_text(_ubl("INV-2", "B2", "Vin SA", "FR", "99.50", None))
    spec = write_sources(
        {
            "invoices": {
                "kind": "ubl",
                "path": "einv",
                "derive_customers": {"customer_name": "BuyerName", "region": "BuyerCountry"},
                "values": {"region": {"DE": "Central", "FR": "West"}},
            }
        },
        {},
    )
    result = ingest(spec)
    inv = result.tables["invoices"]
    assert inv["invoice_id"].tolist() == ["INV-1", "INV-2"]
    assert inv["amount"].tolist() == [1210.0, 99.5]
    assert inv["currency"].tolist() == ["EUR", "EUR"]
    assert inv["due_date"].tolist() == [pd.Timestamp("2026-03-31")] * 2
    assert [f.rsplit("/", 1)[-1] for f in inv["_source_file"]] == ["a.xml", "b.xml"]
    cust = result.tables["customers"]
    assert cust[["customer_id", "customer_name", "region"]].values.tolist() == [
        ["B1", "Käse & Co", "Central"],
        ["B2", "Vin SA", "West"],
    ]
    assert result.files[0]["documents"] == 2


def test_ubl_bad_document_names_its_file(write_sources, tmp_path):
    (tmp_path / "einv").mkdir()
    (tmp_path / "einv" / "bad.xml").write_text("<Invoice><cbc:ID>")
    spec = write_sources({"invoices": {"kind": "ubl", "path": "einv/*.xml"}}, {})
    with pytest.raises(SourceError, match=r"bad\.xml: not well-formed XML"):
        ingest(spec)


def test_sqlite_table_read_by_adbc_keeps_each_cells_type_as_the_cursor_gives_it(tmp_path):
    """The Arrow read of a SQLite table (ADBC) gives the frame the DB-API cursor gives: a REAL
    column mixing reals, integers, text and nulls keeps each cell's own Python type (object);
    a column of numbers only is one numeric column (ints and reals -> float64, ints -> Int64)."""
    from arinsight.ingest.readers.sql import columns_of, read_sqlite_table

    db = tmp_path / "mixed.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (mixed REAL, numbers, ints, words TEXT)")
    con.executemany(
        "INSERT INTO t VALUES (?,?,?,?)",
        [
            (1.5, 1, 7, "a"),
            ("abc", 2.25, None, None),
            (None, None, -3, "b"),
            (4, 3, 2, "c"),
        ],
    )
    con.execute("CREATE VIEW v AS SELECT * FROM t")
    con.commit()
    for table in ("t", "v"):
        cursor = con.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cursor.description]
        expected = columns_of(cursor.fetchall(), names)
        got = read_sqlite_table(db, table, "mixed.sqlite")
        assert got is not None
        assert list(got.dtypes.astype(str)) == list(expected.dtypes.astype(str))
        for col in names:
            for a, b in zip(got[col].tolist(), expected[col].tolist(), strict=True):
                assert type(a) is type(b)
                assert (pd.isna(a) and pd.isna(b)) if pd.isna(b) else a == b
    con.close()
    assert got["mixed"].dtype == object and got["numbers"].dtype == "float64"
    assert str(got["ints"].dtype) == "Int64"


def _pay_db(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE pay (id TEXT, inv TEXT, cust TEXT, dt TEXT, amt REAL)")
    con.execute("CREATE TABLE commissions (id TEXT)")
    con.execute("INSERT INTO pay VALUES ('P1', 'I1', 'C1', '2024-02-10', 60.0)")
    con.commit()
    con.close()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DROP TABLE commissions; SELECT * FROM pay", "contains DROP"),
        ("SELECT * FROM pay; DELETE FROM pay", "contains DELETE"),
        ("WITH gone AS (DELETE FROM pay RETURNING *) SELECT * FROM gone", "contains DELETE"),
        ("SELECT * INTO copy FROM pay", "contains INTO"),
        ("SELECT * FROM pay; SELECT * FROM pay", "holds 2 statements"),
        ("PRAGMA writable_schema = 1", "contains PRAGMA"),
    ],
)
def test_a_sql_source_query_that_writes_is_refused_and_changes_nothing(tmp_path, query, message):
    """A `query:` is one SELECT or it is refused before it reaches the database: the error
    names the source and what the query would do, and the database file is byte-identical."""
    from arinsight.ingest.readers import read_sql

    db = tmp_path / "ledger.sqlite"
    _pay_db(db)
    before = db.read_bytes()
    with pytest.raises(SourceError, match=message) as err:
        read_sql("sqlite:///{here}/ledger.sqlite", {"query": query}, tmp_path)
    assert str(err.value).startswith(f"{db}: `query:`")
    assert db.read_bytes() == before


def test_a_sqlite_source_is_opened_read_only(tmp_path):
    """Beyond the query check, the connection itself cannot write: SQLite opens the file with
    mode=ro, so even a statement that slipped past the check fails."""
    import sqlalchemy as sa

    from arinsight.ingest.readers import read_only_engine, read_sql

    db = tmp_path / "ledger.sqlite"
    _pay_db(db)
    df, _ = read_sql("sqlite:///{here}/ledger.sqlite", {"query": "SELECT * FROM pay"}, tmp_path)
    assert df["id"].tolist() == ["P1"]
    engine = read_only_engine(f"sqlite:///{db}")
    with engine.connect() as conn, pytest.raises(sa.exc.OperationalError, match="readonly"):
        conn.exec_driver_sql("DROP TABLE commissions")
    engine.dispose()
    assert sqlite3.connect(db).execute("SELECT count(*) FROM commissions").fetchone() == (0,)


def test_a_postgres_source_reads_in_a_read_only_session(postgres_url):
    """On a real PostgreSQL server: a query that drops a table is refused by the check, and the
    session the reader opens is read-only (a write that slipped past the check fails), so the
    table is still there."""
    import sqlalchemy as sa

    from arinsight.ingest.readers import read_only_engine, read_sql

    url = postgres_url.replace("postgres://", "postgresql+psycopg://")
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS src_pay")
        conn.exec_driver_sql("CREATE TABLE src_pay (id text, amt numeric(18, 2))")
        conn.exec_driver_sql("INSERT INTO src_pay VALUES ('P1', 60.00)")
    with pytest.raises(SourceError, match="contains DROP"):
        read_sql(url, {"query": "DROP TABLE src_pay; SELECT 1"}, Path("."))
    df, shown = read_sql(url, {"query": "SELECT id, amt FROM src_pay"}, Path("."))
    assert df["id"].tolist() == ["P1"] and "@" in shown
    engine = read_only_engine(url)
    with engine.connect() as conn, pytest.raises(sa.exc.InternalError, match="read-only"):
        conn.exec_driver_sql("DROP TABLE src_pay")
    engine.dispose()
    with admin.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM src_pay").scalar() == 1
    admin.dispose()


def _status_export(write_sources, derive):
    csv = """
    inv,cust,date,due,amt,state
    S1,K1,2026-08-01,2026-08-31,1200.00,Bezahlt
    S2,K1,2026-09-15,2026-10-15,800.00,Offen
    S3,K2,2026-09-20,2026-10-20,50.00, bezahlt
    S4,K2,2026-09-21,2026-10-21,70.00,
    """
    cols = {"invoice_id": "inv", "customer_id": "cust", "invoice_date": "date",
            "due_date": "due", "amount": "amt"}  # fmt: skip
    return write_sources(
        {"invoices": {"kind": "csv", "path": "op.csv", "columns": cols, "derive_payments": derive}},
        {"op.csv": csv},
    )


def test_a_status_word_that_is_not_known_stops_ingest_naming_the_words(write_sources):
    """A German status column with the default (English) status words: 'Bezahlt' (rows 2 and
    4, one written ' bezahlt') and 'Offen' (row 3) are neither paid nor unpaid words, so ingest
    stops and names each word with its rows, instead of reading every invoice as unpaid (open
    AR 15x too high). An empty status (row 5) is unpaid."""
    spec = _status_export(write_sources, {"status": "state", "undated_payment_date": "2026-09-30"})
    with pytest.raises(SourceError) as err:
        ingest(spec)
    assert str(err.value).endswith(
        "op.csv, column 'status': status words not recognised: 'Bezahlt' (2 rows, first row 2), "
        "'Offen' (1 row, first row 3); list each under derive_payments.paid_values or "
        "derive_payments.unpaid_values"
    )


def test_status_words_mapped_as_paid_and_unpaid_derive_the_payments(write_sources):
    """paid_values [Bezahlt] (any case, spaces trimmed) and unpaid_values [Offen]: S1 and S3 are
    paid in full on the export date (1200.00 and 50.00), S2 and S4 stay open."""
    spec = _status_export(
        write_sources,
        {"status": "state", "paid_values": ["Bezahlt"], "unpaid_values": ["Offen"],
         "undated_payment_date": "2026-09-30"},
    )  # fmt: skip
    pay = ingest(spec).tables["payments"]
    assert pay[["invoice_id", "amount"]].values.tolist() == [["S1", 1200.0], ["S3", 50.0]]
    assert (pay["payment_date"] == pd.Timestamp("2026-09-30")).all()


def test_a_blank_attribute_on_the_latest_row_does_not_move_the_customer(write_sources):
    """K1's rows: North (Aug), South (Sep), blank (Oct, the latest). The latest non-blank value
    wins: K1 is South, not moved out of every region by the blank; the conflict is counted once
    (1 customer, 1 row, the North one, differs from South). K2's only row has no region: blank."""
    csv = """
    inv,cust,date,due,amt,reg
    A1,K1,2026-08-01,2026-08-31,10.00,North
    A2,K1,2026-09-01,2026-09-30,20.00,South
    A3,K1,2026-10-01,2026-10-31,30.00,
    B1,K2,2026-10-02,2026-11-01,40.00,
    """
    cols = {"invoice_id": "inv", "customer_id": "cust", "invoice_date": "date",
            "due_date": "due", "amount": "amt"}  # fmt: skip
    spec = write_sources(
        {"invoices": {"kind": "csv", "path": "f.csv", "columns": cols,
                      "derive_customers": {"region": "reg"}}},
        {"f.csv": csv},
    )  # fmt: skip
    result = ingest(spec)
    cust = result.tables["customers"].set_index("customer_id")
    assert cust.loc["K1", "region"] == "South"
    assert pd.isna(cust.loc["K2", "region"])
    assert cust.loc["K1", "_source_row"] == 4  # the customer's latest row (A3)
    assert result.conflicts == {"region": {"customers": 1, "invoices": 1}}
