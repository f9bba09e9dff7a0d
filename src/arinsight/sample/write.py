"""Write: the sample's source files (CSV, Excel, SQLite), their mapping and the manifest."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from arinsight import config
from arinsight.files import sha256_file, write_csv, write_json
from arinsight.sample.customers import REGION_CODES
from arinsight.sample.generate import columns_of, generate
from arinsight.sample.problems import inject_problems, python_values
from arinsight.schemas import CANONICAL

#: Source column names in the written files (canonical -> source), also written to sources.yaml.
SOURCE_COLUMNS: dict[str, dict[str, str]] = {
    "invoices": {
        "invoice_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "invoice_date": "InvoiceDate",
        "due_date": "DueDate",
        "amount": "Amount",
        "currency": "Currency",
        "energy_kwh": "EnergyKWh",
        "status": "Status",
    },
    "customers": {
        "customer_id": "CustomerID",
        "customer_name": "CustomerName",
        "region": "RegionCode",
        "industry": "Industry",
        "customer_type": "CustomerType",
        "credit_limit": "CreditLimit",
        "payment_terms_days": "PaymentTermsDays",
        "sales_rep_id": "SalesRepID",
        "contact_email": "ContactEmail",
    },
    "sales_reps": {
        "sales_rep_id": "SalesRepID",
        "rep_name": "RepName",
        "sales_group": "SalesGroup",
    },
    "payments": {
        "payment_id": "PaymentID",
        "invoice_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "payment_date": "PaymentDate",
        "amount": "AmountPaid",
        "method": "Method",
    },
    "commissions": {
        "commission_id": "CommissionID",
        "sales_rep_id": "SalesRepID",
        "invoice_id": "InvoiceNo",
        "commission_amount": "CommissionAmount",
        "commission_rate": "CommissionRate",
        "accrual_date": "AccrualDate",
        "is_settled": "IsSettled",
        "settlement_date": "SettlementDate",
    },
    "adjustments": {
        "adjustment_id": "DocNo",
        "invoice_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "adjustment_date": "PostingDate",
        "amount": "Amount",
        "kind": "DocType",
        "reason": "Reason",
    },
    "disputes": {
        "dispute_id": "CaseID",
        "invoice_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "amount": "DisputedAmount",
        "reason": "ReasonCode",
        "opened_date": "Opened",
        "resolved_date": "Resolved",
        "outcome": "Outcome",
    },
    "promises": {
        "promise_id": "PromiseID",
        "customer_id": "CustomerID",
        "invoice_id": "InvoiceNo",
        "made_date": "Logged",
        "promised_date": "PromisedDate",
        "amount": "PromisedAmount",
        "source": "Channel",
    },
}

FILES = {
    "invoices": "invoices.csv",
    "customers": "customers.xlsx",
    "sales_reps": "customers.xlsx",
    "payments": "ledger.sqlite",
    "commissions": "ledger.sqlite",
    "adjustments": "adjustments.csv",
    "disputes": "disputes.csv",
    "promises": "promises.csv",
}
#: The document types of the adjustments export (each read as a canonical kind by clean).
ADJUSTMENT_TYPES = {"write_off": "Write-off", "credit_note": "Credit memo", "adjustment": "Adj"}
#: The fixed time stamped into the Excel workbook (properties and zip entries).
FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)


def _write_csv(invoices: pd.DataFrame, path: Path) -> None:
    """The invoice export: UTF-8, comma-separated, ISO dates, values as text."""
    write_csv(invoices.rename(columns=SOURCE_COLUMNS["invoices"]), path)


def _write_adjustments(adjustments: pd.DataFrame, path: Path) -> None:
    """The credit-memo and write-off export: CSV like the invoices, the kind as the ERP's
    document type word (clean reads it as the canonical kind)."""
    out = adjustments.assign(kind=adjustments["kind"].map(ADJUSTMENT_TYPES))
    write_csv(out.rename(columns=SOURCE_COLUMNS["adjustments"]), path)


def _write_cases(frame: pd.DataFrame, table: str, path: Path) -> None:
    """A collections tool's export of disputes or promises to pay: CSV, ISO dates."""
    write_csv(frame.rename(columns=SOURCE_COLUMNS[table]), path)


def _xml_escape(text: pd.Series) -> pd.Series:
    return (
        text.str.replace("&", "&amp;", regex=False)
        .str.replace("<", "&lt;", regex=False)
        .str.replace(">", "&gt;", regex=False)
    )


def _sheet_rows(frame: pd.DataFrame, first_row: int) -> str:
    """Rows of an Excel sheet as SpreadsheetML, built column-wise (openpyxl's write-only form:
    inline strings, numbers as ``t="n"``, missing values as absent cells)."""
    n = len(frame)
    if n == 0:
        return ""
    ref = pd.Series(np.arange(first_row, first_row + n), dtype="int64").astype(str)
    cells = pd.Series("", index=range(n), dtype=object)
    for pos, col in enumerate(frame.columns):
        letter = chr(ord("A") + pos)
        values = frame[col].reset_index(drop=True)
        present = values.notna()
        kind = pd.api.types.infer_dtype(values[present], skipna=True)
        if kind in ("integer", "floating", "mixed-integer-float"):
            num = values[present].astype(float)
            text = num.map(lambda v: str(int(v)) if v.is_integer() else repr(v))
            cell = '<c r="' + letter + ref[present] + '" t="n"><v>' + text + "</v></c>"
        else:
            text = _xml_escape(values[present].astype(str))
            cell = (
                '<c r="'
                + letter
                + ref[present]
                + '" t="inlineStr"><is><t>'
                + text
                + "</t></is></c>"
            )
        cells = cells + cell.reindex(cells.index, fill_value="").astype(object)
    rows = '<row r="' + ref + '">' + cells + "</row>"
    return "".join(rows.tolist())


def _write_excel(customers: pd.DataFrame, reps: pd.DataFrame, path: Path) -> None:
    """An openpyxl workbook (sheets customers and sales_reps), reproducible to the byte.

    openpyxl writes the workbook with the header rows; the data rows are then spliced into each
    sheet's XML in the same form openpyxl's write-only mode uses (it is ~50x faster than
    openpyxl's pure-Python XML writer for 30,000+ rows), and the zip is rewritten with fixed entry
    times and fixed document properties, so the same data gives the same bytes.
    """
    from openpyxl import Workbook
    from openpyxl.xml.functions import tostring

    wb = Workbook(write_only=True)
    wb.properties.creator = "arinsight sample"
    wb.properties.created = FIXED_TIME
    code = {v: k for k, v in REGION_CODES.items()}
    cust = customers[CANONICAL["customers"]].copy()
    cust["region"] = cust["region"].map(lambda r: code.get(r, r))
    body: dict[str, tuple[bytes, str]] = {}
    for number, (title, frame, table) in enumerate(
        (("customers", cust, "customers"), ("sales_reps", reps, "sales_reps")), start=1
    ):
        ws = wb.create_sheet(title)
        ws.append(list(SOURCE_COLUMNS[table].values()))
        last = f"{chr(ord('A') + len(columns_of(table)) - 1)}{len(frame) + 1}"
        body[f"xl/worksheets/sheet{number}.xml"] = (
            f'<dimension ref="A1:{last}" />'.encode(),
            _sheet_rows(frame[columns_of(table)], 2),
        )
    buffer = io.BytesIO()
    wb.save(buffer)  # stamps properties.modified with the current time: replaced below
    wb.properties.modified = FIXED_TIME
    core = tostring(wb.properties.to_tree())
    with (
        zipfile.ZipFile(buffer) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = core if info.filename == "docProps/core.xml" else src.read(info.filename)
            if info.filename in body:
                rows, text = body[info.filename]
                data = data.replace(b"</sheetData>", text.encode("utf-8") + b"</sheetData>", 1)
                # the used range, so readers pad rows whose trailing cells are empty
                data = data.replace(b"<sheetViews>", rows + b"<sheetViews>", 1)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, data)


_SQL_TYPES = {
    "payments": ["TEXT", "TEXT", "TEXT", "TEXT", "REAL", "TEXT"],
    "commissions": ["TEXT", "TEXT", "TEXT", "REAL", "REAL", "TEXT", "INTEGER", "TEXT"],
}


def _write_sqlite(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """A fresh database file, every table in one transaction, rows in a fixed order."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        for table, frame in tables.items():
            names = list(SOURCE_COLUMNS[table].values())
            cols = ", ".join(f'"{n}" {t}' for n, t in zip(names, _SQL_TYPES[table], strict=True))
            con.execute(f'CREATE TABLE "{table}" ({cols})')
            marks = ", ".join("?" * len(names))
            values = [python_values(frame[c]).tolist() for c in columns_of(table)]
            con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', zip(*values, strict=True))
        con.execute("COMMIT")
    finally:
        con.close()


def _sources_spec() -> dict[str, Any]:
    """The sources file of the sample (docs/own-data.md): where each table is, how it is named."""
    common = {"on_bad_value": "quarantine"}
    return {
        "reporting_currency": "USD",
        "sources": {
            "invoices": {
                "kind": "csv",
                "path": FILES["invoices"],
                "delimiter": ",",
                "encoding": "utf-8",
                "decimal": ".",
                "thousands": None,
                "date_format": "%Y-%m-%d",
                **common,
                "columns": SOURCE_COLUMNS["invoices"],
            },
            "customers": {
                "kind": "excel",
                "path": FILES["customers"],
                "sheet": "customers",
                "header_row": 1,
                **common,
                "columns": SOURCE_COLUMNS["customers"],
                "values": {"region": dict(REGION_CODES)},
            },
            "sales_reps": {
                "kind": "excel",
                "path": FILES["sales_reps"],
                "sheet": "sales_reps",
                "header_row": 1,
                **common,
                "columns": SOURCE_COLUMNS["sales_reps"],
            },
            "payments": {
                "kind": "sql",
                "url": "sqlite:///{here}/" + FILES["payments"],
                "table": "payments",
                **common,
                "columns": SOURCE_COLUMNS["payments"],
            },
            "commissions": {
                "kind": "sql",
                "url": "sqlite:///{here}/" + FILES["commissions"],
                "table": "commissions",
                **common,
                "columns": SOURCE_COLUMNS["commissions"],
            },
            **{
                table: {
                    "kind": "csv",
                    "path": FILES[table],
                    "delimiter": ",",
                    "encoding": "utf-8",
                    "date_format": "%Y-%m-%d",
                    **common,
                    "columns": SOURCE_COLUMNS[table],
                }
                for table in ("adjustments", "disputes", "promises")
            },
        },
    }


def write_sample(
    out: str | Path = "data/sample", n_invoices: int = 10_000, seed: int = 42
) -> dict[str, Any]:
    """Generate the sample ledger, inject its problems and write the files and the manifest.

    ``out`` is a folder (relative paths from the project root), created if needed; existing
    sample files in it are replaced. Returns the manifest (also written as ``manifest.json``).
    """
    n_invoices = int(n_invoices)
    if n_invoices < 1:
        raise ValueError(f"n_invoices must be at least 1, got {n_invoices}")
    folder = config.resolve_path(out)
    if folder is None:
        raise ValueError("out must name a folder")
    folder.mkdir(parents=True, exist_ok=True)
    start, end = "2024-01-01", "2026-10-31"
    tables = generate(n_invoices, seed=seed, start=start, end=end)
    raw, part = inject_problems(tables, seed)
    n_customers = len(tables["customers"])
    del tables  # free memory before writing (matters at 1M invoices)

    _write_csv(raw.pop("invoices"), folder / FILES["invoices"])
    _write_excel(raw.pop("customers"), raw.pop("sales_reps"), folder / FILES["customers"])
    _write_sqlite(
        {"payments": raw.pop("payments"), "commissions": raw.pop("commissions")},
        folder / FILES["payments"],
    )
    _write_adjustments(raw.pop("adjustments"), folder / FILES["adjustments"])
    for table in ("disputes", "promises"):
        _write_cases(raw.pop(table), table, folder / FILES[table])
    header = (
        "# Sources of the embedded sample (written by `arinsight sample`; paths are relative to\n"
        "# this file's folder, {here} in a URL is that folder). Copy it to map your own exports.\n"
    )
    body = yaml.safe_dump(_sources_spec(), sort_keys=False, allow_unicode=True, width=100)
    (folder / "sources.yaml").write_text(header + body, encoding="utf-8")

    files = sorted({*FILES.values(), "sources.yaml"})
    manifest = {
        "generator": "arinsight.sample",
        "seed": int(seed),
        "n_invoices": n_invoices,
        "n_customers": n_customers,
        "start": start,
        "end": end,
        "extract_date": end,
        **part,
        "files": {name: sha256_file(folder / name) for name in files},
    }
    write_json(folder / "manifest.json", manifest)
    return manifest
