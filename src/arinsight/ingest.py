"""Ingest: read every source named in a sources file and map it onto the canonical tables.

A sources file (YAML) lists, per canonical table, where its rows come from and how its columns are
named there, so a user with their own export writes a mapping file, never code::

    reporting_currency: USD
    sources:
      invoices:
        kind: csv                      # csv | excel | sql | ubl
        path: invoices.csv             # relative to the sources file's folder
        delimiter: ";"                 # csv options: delimiter, encoding, decimal, thousands
        encoding: latin-1
        decimal: ","
        date_format: "%d.%m.%Y"        # strftime format of every date column (default ISO)
        on_bad_value: error            # error (default): stop at the first unparseable value
                                       # quarantine: keep the row for 02_clean to quarantine
        columns: {invoice_id: Rechnung, customer_id: Kunde, ...}   # canonical: source column
        values: {region: {N: North}}   # optional value mapping per canonical column
      customers: {kind: excel, path: crm.xlsx, sheet: customers, header_row: 1, columns: {...}}
      payments: {kind: sql, url: "sqlite:///{here}/ledger.sqlite", table: payments, columns: {...}}

A ``ubl`` source reads UBL 2.1 / PEPPOL BIS 3 invoice XML documents (``path:`` a file, a folder
or a glob such as ``einvoices/*.xml``) into the invoices table; its source columns are named in
``UBL_FIELDS`` and mapped by default (``UBL_DEFAULT_COLUMNS``), buyer name, country and e-mail can
feed ``derive_customers`` and a ``values:`` mapping turns country codes into regions.

``{here}`` in a SQL URL is the sources file's folder; any SQLAlchemy URL works. A column already
named as the canonical one needs no mapping. Tables a dataset does not have may be left out: they
are empty (customers are then derived from the invoices' distinct customer ids), and the KPIs that
need them become n/a later.

A *flat ERP export* (one row per invoice with a paid date) is described on the invoices source::

        derive_payments: {payment_date: PaidDate, amount: PaidAmount, method: PayMethod}
        derive_customers: {customer_name: CustomerName, region: Region}

Payments are then derived (one per invoice with a paid date; amount defaults to the invoice amount)
and customers come from the distinct customer ids with the listed attributes.

Every value is read as text and parsed here, so the error for a bad value names the file, the
canonical and source column and the row a user sees in the file (see ``schemas.PROVENANCE``).
Every file read is recorded with its sha256 in the ingest manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight import config
from arinsight.errors import SourceError
from arinsight.files import sha256_file, write_json
from arinsight.schemas import (
    BOOL_COLUMNS,
    CANONICAL,
    DATE_COLUMNS,
    NUMBER_COLUMNS,
    PARSE_ERRORS,
    REQUIRED,
    SEGMENT_COLUMNS,
)

KINDS = ("csv", "excel", "sql", "ubl")
#: Whose attributes an invoice is reported under (``segment_by`` in the sources file).
SEGMENT_BY = ("customer", "invoice")
BAD_VALUE_POLICIES = ("error", "quarantine")
_TRUE = {"1", "true", "t", "yes", "y", "settled"}
_FALSE = {"0", "false", "f", "no", "n", "open", "unsettled"}
#: Top-level keys of a sources file.
SOURCES_FILE_KEYS = ("dataset", "reporting_currency", "fx_rates", "segment_by", "sources")
_SOURCE_KEYS = {
    "kind",
    "path",
    "url",
    "table",
    "query",
    "sheet",
    "header_row",
    "delimiter",
    "encoding",
    "decimal",
    "thousands",
    "date_format",
    "on_bad_value",
    "columns",
    "values",
    "derive_payments",
    "derive_customers",
}


@dataclass
class IngestResult:
    """The canonical tables as read (text parsed, bad values marked) and what was read from where."""

    tables: dict[str, pd.DataFrame]
    files: list[dict[str, Any]] = field(default_factory=list)
    derived: dict[str, str] = field(default_factory=dict)
    reporting_currency: str | None = None
    #: derive_customers: attribute -> {customers with conflicting values, invoice rows overruled}
    conflicts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: "customer" (default): invoices are reported under their customer's region, industry and
    #: type; "invoice": under the values of their own row (how BI tools slice flat exports).
    segment_by: str = "customer"
    #: exchange rates set in the sources file (they win over the parameters' fx_rates)
    fx_rates: dict[str, float] = field(default_factory=dict)

    @property
    def rows_read(self) -> dict[str, int]:
        return {t: int(len(df)) for t, df in self.tables.items()}


# --------------------------------------------------------------------------- sources file


def read_sources(path: str | Path) -> dict[str, Any]:
    """Read and check a sources file; returns the mapping with ``_base`` (its folder) added."""
    p = config.resolve_path(path)
    if p is None or not p.exists():
        raise SourceError(
            str(path), "sources file not found (run `arinsight sample` for the sample)"
        )
    spec = config.read_yaml(p)
    unknown = sorted(set(spec) - set(SOURCES_FILE_KEYS))
    if unknown:
        raise SourceError(
            str(p), f"unknown key(s) {unknown}; allowed at the top level: {list(SOURCES_FILE_KEYS)}"
        )
    if spec.get("segment_by", "customer") not in SEGMENT_BY:
        raise SourceError(
            str(p), f"segment_by must be one of {', '.join(SEGMENT_BY)}, got {spec['segment_by']!r}"
        )
    sources = spec.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise SourceError(str(p), "expected a non-empty 'sources:' mapping of table -> source")
    for table, src in sources.items():
        where = f"{p} (sources.{table})"
        if table not in CANONICAL:
            raise SourceError(where, f"unknown table; expected one of {', '.join(CANONICAL)}")
        if not isinstance(src, dict):
            raise SourceError(where, "expected a mapping with kind, path/url and columns")
        unknown = sorted(set(src) - _SOURCE_KEYS)
        if unknown:
            raise SourceError(
                where, f"unknown option(s) {unknown}; allowed: {sorted(_SOURCE_KEYS)}"
            )
        if src.get("kind") not in KINDS:
            raise SourceError(
                where, f"kind must be one of {', '.join(KINDS)}, got {src.get('kind')!r}"
            )
        if src.get("on_bad_value", "error") not in BAD_VALUE_POLICIES:
            raise SourceError(where, f"on_bad_value must be one of {', '.join(BAD_VALUE_POLICIES)}")
        mapping = src.get("columns") or {}
        bad = sorted(set(mapping) - set(CANONICAL[table]))
        if bad:
            raise SourceError(where, f"columns maps unknown canonical column(s) {bad}")
    if "derive_customers" in sources.get("invoices", {}) and "customers" in sources:
        raise SourceError(str(p), "derive_customers and a customers source exclude each other")
    if "derive_payments" in sources.get("invoices", {}) and "payments" in sources:
        raise SourceError(str(p), "derive_payments and a payments source exclude each other")
    return {**spec, "_base": p.parent, "_path": p}


# --------------------------------------------------------------------------- reading raw text


def _read_csv(path: Path, src: dict[str, Any]) -> tuple[pd.DataFrame, int]:
    encoding = src.get("encoding", "utf-8")
    if path.stat().st_size == 0:
        raise SourceError(_display_path(path), "file is empty")
    try:
        df = pd.read_csv(
            path,
            sep=src.get("delimiter", ","),
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
        )
    except UnicodeDecodeError as exc:
        line, bad = _first_undecodable_line(path, encoding)
        raise SourceError(
            _display_path(path),
            f"cannot decode byte {bad!r} as {encoding} "
            "(set `encoding:` in the sources file, e.g. latin-1)",
            row=line,
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise SourceError(_display_path(path), "file is empty (no header row)") from exc
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise SourceError(
            str(path),
            f"not a valid CSV with delimiter {src.get('delimiter', ',')!r}: {exc}",
            row=int(m[1]) if m else None,
        ) from exc
    if df.empty and len(df.columns) == 0:
        raise SourceError(_display_path(path), "file is empty (no header row)")
    return df, 2  # header is line 1, first data row is line 2


def _first_undecodable_line(path: Path, encoding: str) -> tuple[int | None, bytes]:
    """The 1-based line number and byte of the first line that does not decode (error path only)."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError as exc:
                return number, line[exc.start : exc.start + 1]
    return None, b""


def _read_excel(path: Path, src: dict[str, Any]) -> tuple[pd.DataFrame, int | None]:
    """Read one sheet with calamine (a Rust reader, ~25x faster than openpyxl on large sheets)."""
    from python_calamine import CalamineWorkbook

    header_row = int(src.get("header_row", 1))
    sheet = src.get("sheet", 0)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for non-workbooks
        raise SourceError(_display_path(path), f"cannot open as an Excel workbook: {exc}") from exc
    if isinstance(sheet, str):
        if sheet not in wb.sheet_names:
            raise SourceError(
                _display_path(path),
                f"no sheet named {sheet!r}; sheets present: {', '.join(wb.sheet_names)}",
            )
        ws = wb.get_sheet_by_name(sheet)
    else:
        ws = wb.get_sheet_by_index(int(sheet))
    rows = ws.to_python(skip_empty_area=False)[header_row - 1 :]
    if not rows or not any(str(c).strip() for c in rows[0]):
        raise SourceError(f"{_display_path(path)}[{ws.name}]", "sheet is empty (no header row)")
    header = [str(h).strip() for h in rows[0]]
    width = len(header)
    body = [tuple(r[:width]) + ("",) * (width - len(r)) for r in rows[1:]]
    df = pd.DataFrame(body, columns=header, dtype=object) if body else pd.DataFrame(columns=header)
    df = df.loc[:, [h != "" for h in header]]
    # the index is the sheet row number; fully empty rows are skipped after numbering
    df.index = np.arange(header_row + 1, header_row + 1 + len(df))
    df = df[(df.astype(str).apply(lambda c: c.str.strip()) != "").any(axis=1)]
    return _as_text(df, cellwise=True), None


def _excel_text(value: Any) -> str:
    """One cell as text: dates as ISO, whole floats without '.0', None/NaN as ''."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "isoformat"):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_text(df: pd.DataFrame, cellwise: bool = False) -> pd.DataFrame:
    """Every column as text (the parsers work on text), vectorised per column type.

    Nulls become ''; dates ISO; whole floats lose their '.0' (ids and flags stored as REAL).
    Columns of mixed Python objects are converted per cell when ``cellwise`` (Excel, where a
    column mixes dates, numbers and text), else with ``str`` (SQL results).
    """
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            text = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s):
            text = s.map({True: "1", False: "0"})
        elif pd.api.types.is_integer_dtype(s):
            text = s.astype(str)
        elif pd.api.types.is_float_dtype(s):
            whole = s.notna() & (s == np.floor(s)) & (s.abs() < 1e15)
            text = s.astype(str).where(~whole, s.where(whole, 0).astype("int64").astype(str))
        elif (kind := pd.api.types.infer_dtype(s, skipna=True)) in ("string", "empty"):
            text = s
        elif cellwise or kind in ("datetime", "date", "datetime64"):
            text = s.map(_excel_text)
        else:
            text = s.astype(str)
        out[col] = text.astype(object).where(s.notna(), "").astype(str)
    return pd.DataFrame(out, index=df.index)


UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_BUYER = "cac:AccountingCustomerParty/cac:Party/"
#: Source columns of a ``ubl`` source and where each is found in an Invoice document.
UBL_FIELDS = {
    "ID": "cbc:ID",
    "IssueDate": "cbc:IssueDate",
    "DueDate": "cbc:DueDate",
    "PaymentDueDate": "cac:PaymentMeans/cbc:PaymentDueDate",
    "DocumentCurrencyCode": "cbc:DocumentCurrencyCode",
    "PayableAmount": "cac:LegalMonetaryTotal/cbc:PayableAmount",
    "BuyerID": _BUYER + "cac:PartyIdentification/cbc:ID",
    "BuyerCompanyID": _BUYER + "cac:PartyLegalEntity/cbc:CompanyID",
    "BuyerName": _BUYER + "cac:PartyLegalEntity/cbc:RegistrationName",
    "BuyerCountry": _BUYER + "cac:PostalAddress/cac:Country/cbc:IdentificationCode",
    "BuyerEmail": _BUYER + "cac:Contact/cbc:ElectronicMail",
}
UBL_DEFAULT_COLUMNS = {
    "invoice_id": "ID",
    "customer_id": "BuyerID",
    "invoice_date": "IssueDate",
    "due_date": "DueDate",
    "amount": "PayableAmount",
    "currency": "DocumentCurrencyCode",
}


def _read_ubl(pattern: Path) -> pd.DataFrame:
    """One row per UBL Invoice document, sorted by file name; ``__file`` names each row's file.

    The buyer id falls back to the legal company id, and the due date to the payment means' due
    date, as PEPPOL BIS documents carry one or the other. Parsed with the standard library's
    expat parser, which refuses entity-expansion attacks (Python >= 3.7.1 with expat >= 2.4).
    """
    import xml.etree.ElementTree as ET

    if pattern.is_dir():
        files = sorted(pattern.glob("*.xml"))
    elif any(ch in pattern.name for ch in "*?["):
        files = sorted(pattern.parent.glob(pattern.name))
    else:
        files = [pattern] if pattern.exists() else []
    if not files:
        raise SourceError(_display_path(pattern), "no UBL invoice files found")
    rows = []
    for f in files:
        try:
            root = ET.parse(f).getroot()
        except ET.ParseError as exc:
            raise SourceError(_display_path(f), f"not well-formed XML: {exc}") from exc
        if root.tag.rsplit("}", 1)[-1] != "Invoice":
            raise SourceError(_display_path(f), f"not a UBL Invoice document (root {root.tag!r})")
        row = {}
        for col, xpath in UBL_FIELDS.items():
            el = root.find(xpath, UBL_NS)
            row[col] = (el.text or "").strip() if el is not None else ""
        row["BuyerID"] = row["BuyerID"] or row["BuyerCompanyID"]
        row["DueDate"] = row["DueDate"] or row["PaymentDueDate"]
        row["__file"] = _display_path(f)
        rows.append(row)
    df = pd.DataFrame(rows, columns=[*UBL_FIELDS, "__file"])
    df.index = np.ones(len(df), dtype="int64")  # one document per file: row 1 of its file
    return df


def _mask_url(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _read_sql(url: str, src: dict[str, Any], base: Path) -> tuple[pd.DataFrame, str]:
    import sqlalchemy as sa

    url = url.replace("{here}", base.as_posix())
    shown = _mask_url(url)
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///") :])
        shown = _display_path(db)
        if not db.exists():
            raise SourceError(shown, "database file not found")
    try:
        engine = sa.create_engine(url)
    except Exception as exc:
        raise SourceError(shown, f"not a usable SQLAlchemy URL: {exc}") from exc
    if src.get("query"):
        query = sa.text(src["query"])
    elif src.get("table"):
        query = sa.select(sa.text("*")).select_from(sa.table(src["table"]))
    else:
        raise SourceError(shown, "a sql source needs `table:` or `query:`")
    try:
        with engine.connect() as conn:
            df = pd.read_sql_query(query, conn)
    except sa.exc.OperationalError as exc:
        raise SourceError(shown, f"cannot read: {exc.orig}") from exc
    except pd.errors.DatabaseError as exc:
        cause = getattr(exc.__cause__, "orig", None) or exc.__cause__ or exc
        raise SourceError(shown, f"cannot read: {cause}") from exc
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(shown, f"query failed: {exc}") from exc
    finally:
        engine.dispose()
    return _as_text(df), shown


def _display_path(path: Path) -> str:
    """A path as recorded in outputs: relative to the project root when inside it (portable)."""
    try:
        return path.resolve().relative_to(config.PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _read_raw(table: str, src: dict[str, Any], base: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a source as text; the frame's index is the row number a user sees in the source."""
    kind = src["kind"]
    if kind == "ubl":
        if not src.get("path"):
            raise SourceError(f"sources.{table}", "a ubl source needs `path:`")
        if table != "invoices":
            raise SourceError(f"sources.{table}", "a ubl source can only provide invoices")
        pattern = config.resolve_path(src["path"], base)
        df = _read_ubl(pattern)
        name = _display_path(pattern)
        digest = hashlib.sha256()
        for f in df["__file"]:
            digest.update(sha256_file(config.resolve_path(f)).encode())
        info = {
            "table": table,
            "kind": kind,
            "path": name,
            "sha256": digest.hexdigest(),
            "documents": int(len(df)),
        }
    elif kind in ("csv", "excel"):
        if not src.get("path"):
            raise SourceError(f"sources.{table}", f"a {kind} source needs `path:`")
        path = config.resolve_path(src["path"], base)
        if not path.exists():
            raise SourceError(str(path), "file not found")
        if kind == "csv":
            df, first = _read_csv(path, src)
            df.index = np.arange(first, first + len(df))
        else:
            df, _ = _read_excel(path, src)
        name = _display_path(path)
        info = {"table": table, "kind": kind, "path": name, "sha256": sha256_file(path)}
        if kind == "excel":
            name = f"{name}[{src.get('sheet', 0)}]"
            info["sheet"] = src.get("sheet", 0)
    else:
        if not src.get("url"):
            raise SourceError(f"sources.{table}", "a sql source needs `url:`")
        df, name = _read_sql(src["url"], src, base)
        df.index = np.arange(1, len(df) + 1)
        info = {"table": table, "kind": kind, "path": name}
        db = Path(src["url"].replace("{here}", base.as_posix())[len("sqlite:///") :])
        if src["url"].startswith("sqlite:///") and db.exists():
            info["sha256"] = sha256_file(db)
            name = f"{_display_path(db)}[{src.get('table') or 'query'}]"
            info["path"] = _display_path(db)
        else:  # a server database: hash what was read
            info["sha256"] = hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()
        if src.get("table"):
            info["sql_table"] = src["table"]
    df.columns = [str(c).strip() for c in df.columns]
    info["rows"] = int(len(df))
    info["columns"] = [c for c in df.columns if c != "__file"]
    return df, {"name": name, **info}


# --------------------------------------------------------------------------- parsing


def _parse_numbers(text: pd.Series, decimal: str, thousands: str | None) -> pd.Series:
    s = text.str.strip().str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    if thousands:
        s = s.str.replace(thousands, "", regex=False)
    if decimal != ".":
        s = s.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(s.where(s != ""), errors="coerce")


def _parse_dates(text: pd.Series, fmt: str | None) -> pd.Series:
    s = text.str.strip()
    s = s.where(s != "")
    if fmt:
        out = pd.to_datetime(s, format=fmt, errors="coerce")
    else:
        out = pd.to_datetime(s, format="ISO8601", errors="coerce")
    return out.dt.normalize().astype("datetime64[us]")


def _parse_bools(text: pd.Series) -> pd.Series:
    s = text.str.strip().str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[s.isin(_TRUE)] = True
    out[s.isin(_FALSE)] = False
    return out


def _to_canonical(table: str, raw: pd.DataFrame, src: dict[str, Any], name: str) -> pd.DataFrame:
    """Rename mapped columns, check required ones exist, parse types, mark unparseable values."""
    mapping: dict[str, str] = dict(src.get("columns") or {})
    if src.get("kind") == "ubl":
        mapping = {**UBL_DEFAULT_COLUMNS, **mapping}
    present = set(raw.columns)
    for canon, source_col in mapping.items():
        if source_col not in present:
            raise SourceError(
                name,
                f"column {source_col!r} (mapped to {canon!r}) not found; columns present: "
                f"{', '.join(map(repr, raw.columns))}",
                column=canon,
            )
    source_of = {c: mapping.get(c, c) for c in CANONICAL[table]}
    for canon in REQUIRED[table]:
        if source_of[canon] not in present:
            raise SourceError(
                name,
                f"required column missing (map it under `columns:`); columns present: "
                f"{', '.join(map(repr, raw.columns))}",
                column=canon,
            )
    out = pd.DataFrame(index=raw.index)
    for canon in CANONICAL[table]:
        col = source_of[canon]
        if col in present:
            out[canon] = raw[col].astype(str).str.strip()
        else:
            out[canon] = ""
    for canon, table_map in (src.get("values") or {}).items():
        if canon in out:
            out[canon] = out[canon].replace({str(k): str(v) for k, v in table_map.items()})

    errors = pd.Series("", index=out.index, dtype=str)
    policy = src.get("on_bad_value", "error")
    fmt = src.get("date_format")
    parsers = (
        [
            (c, lambda s: _parse_dates(s, fmt), "a date" + (f" ({fmt})" if fmt else ""))
            for c in DATE_COLUMNS[table]
        ]
        + [
            (
                c,
                lambda s: _parse_numbers(s, src.get("decimal", "."), src.get("thousands")),
                "a number",
            )
            for c in NUMBER_COLUMNS[table]
        ]
        + [(c, _parse_bools, "yes/no") for c in BOOL_COLUMNS.get(table, [])]
    )
    for canon, parse, what in parsers:
        text = out[canon]
        parsed = parse(text)
        bad = parsed.isna() & (text != "")
        if bad.any():
            if policy == "error":
                pos = int(bad.to_numpy().argmax())
                source = source_of[canon]
                raise SourceError(
                    raw["__file"].iloc[pos] if "__file" in raw else name,
                    f"cannot parse {text.iloc[pos]!r} as {what}",
                    column=canon + (f" (source {source!r})" if source != canon else ""),
                    row=int(out.index[pos]),
                )
            errors = errors.where(
                ~bad, errors + np.where(errors == "", "", ";") + canon + "=" + text
            )
        out[canon] = parsed.astype("float64") if what == "a number" else parsed
    typed = {c for c, _, _ in parsers}
    for canon in CANONICAL[table]:
        if canon not in typed:
            out[canon] = out[canon].where(out[canon] != "")
    out[PARSE_ERRORS] = errors
    out["_source_file"] = raw["__file"].to_numpy() if "__file" in raw else name
    out["_source_row"] = out.index.astype("int64")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- flat exports


#: Options of ``derive_payments`` (a flat export: one row per invoice with its payment state).
DERIVE_PAYMENT_KEYS = (
    "payment_date",
    "amount",
    "method",
    "status",
    "paid_values",
    "undated_payment_date",
)
#: Status values that mean "paid in full" when ``derive_payments.paid_values`` is not given.
DEFAULT_PAID_VALUES = ("paid", "closed", "settled", "cleared")
#: Column of a derived payment: the export had a paid amount (or a paid status) but no date.
UNDATED = "_undated"
#: Flag column of a derived payment dated by ``undated_payment_date``.
DATE_ASSUMED = "payment_date_assumed"


def _column(raw: pd.DataFrame, col: str | None, option: str, name: str) -> np.ndarray | None:
    """The stripped text of a source column named in an option (None when not named)."""
    if col is None:
        return None
    if col not in raw.columns:
        raise SourceError(
            name,
            f"column {col!r} ({option}) not found; columns present: "
            f"{', '.join(map(repr, raw.columns))}",
        )
    return raw[col].astype(str).str.strip().to_numpy()


def _derive_payments(
    raw: pd.DataFrame, inv: pd.DataFrame, spec: dict[str, Any], src: dict[str, Any], name: str
) -> pd.DataFrame:
    """Payments of a flat export: one per invoice row that says it was (partly) paid.

    A row is a payment when it has a paid date, a paid status (``status`` column whose value is
    one of ``paid_values``, case-insensitive; default Paid / Closed / Settled / Cleared), or a
    non-zero paid amount (``amount`` column). Its amount is the paid-amount column when mapped and
    not empty, else the invoice amount (a paid date or status without an amount means paid in
    full). A row with a paid amount of 0 and no date or paid status is an unpaid invoice, not a
    payment. The payment id is ``<invoice_id>-P``.

    A payment without a date (a pending invoice with a partial amount, or a status-only export)
    is never dropped: with ``undated_payment_date: YYYY-MM-DD`` (typically the export date) it is
    dated that day and flagged ``payment_date_assumed``; without it the row keeps an empty date
    and is marked so that cleaning quarantines it as ``undated_payment``.
    """
    unknown = sorted(set(spec) - set(DERIVE_PAYMENT_KEYS))
    if unknown:
        raise SourceError(
            name,
            f"derive_payments: unknown option(s) {unknown}; allowed: {list(DERIVE_PAYMENT_KEYS)}",
        )
    if not spec.get("payment_date") and not spec.get("status") and not spec.get("amount"):
        raise SourceError(
            name,
            "derive_payments needs payment_date: <paid-date column>, status: <status column> "
            "or amount: <paid-amount column>",
        )
    undated_date = spec.get("undated_payment_date")
    if undated_date is not None:
        try:  # written like the export's own dates, so one parser reads both
            undated_date = pd.Timestamp(str(undated_date)).strftime(
                src.get("date_format") or "%Y-%m-%d"
            )
        except ValueError as exc:
            raise SourceError(
                name, f"derive_payments.undated_payment_date: {undated_date!r} is not a date"
            ) from exc
    paid_values = spec.get("paid_values", DEFAULT_PAID_VALUES)
    if isinstance(paid_values, str) or not isinstance(paid_values, list | tuple):
        paid_values = [paid_values]
    paid_values = {str(v).strip().casefold() for v in paid_values}

    n = len(raw)
    blank = np.full(n, "", dtype=object)
    date = _column(raw, spec.get("payment_date"), "derive_payments.payment_date", name)
    date = blank if date is None else date
    paid_amount = _column(raw, spec.get("amount"), "derive_payments.amount", name)
    status = _column(raw, spec.get("status"), "derive_payments.status", name)
    method = _column(raw, spec.get("method"), "derive_payments.method", name)
    invoice_col = (src.get("columns") or {}).get("amount", "amount")
    invoice_amount = _column(raw, invoice_col, "columns.amount", name)

    has_date = date != ""
    paid_status = (
        np.array([s.casefold() in paid_values for s in status], dtype=bool)
        if status is not None
        else np.zeros(n, dtype=bool)
    )
    if paid_amount is not None:
        parsed = _parse_numbers(
            pd.Series(paid_amount, dtype=str), src.get("decimal", "."), src.get("thousands")
        ).to_numpy()
        has_amount = paid_amount != ""
        nonzero = has_amount & ~(parsed == 0)  # unparseable text counts: cleaning says why
        amount_text = np.where(has_amount, paid_amount, invoice_amount)
    else:
        nonzero = np.zeros(n, dtype=bool)
        amount_text = invoice_amount
    is_payment = has_date | paid_status | nonzero
    undated = is_payment & ~has_date
    if undated_date is not None:
        date = np.where(undated, undated_date, date)
    pay = pd.DataFrame(
        {
            "payment_id": inv["invoice_id"].fillna("").astype(str).to_numpy() + "-P",
            "invoice_id": inv["invoice_id"].fillna("").astype(str).to_numpy(),
            "customer_id": inv["customer_id"].fillna("").astype(str).to_numpy(),
            "payment_date": date,
            "amount": amount_text,
            "method": blank if method is None else method,
        },
        index=raw.index,
    )
    pay = pay[is_payment]
    options = {
        k: src.get(k) for k in ("on_bad_value", "date_format", "decimal", "thousands") if src.get(k)
    }
    out = _to_canonical("payments", pay, options, name)
    flags = undated[is_payment]
    out[DATE_ASSUMED] = flags & (undated_date is not None)
    out[UNDATED] = flags & (undated_date is None)
    return out


def _derive_customers(
    inv: pd.DataFrame,
    invoices_raw: pd.DataFrame,
    spec: dict | bool,
    name: str,
    values: dict | None = None,
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """Customers from the invoices' distinct customer ids, and the conflicts between rows.

    Each attribute mapped in ``spec`` (customer_name, region, ...) takes the value of the
    customer's most recent invoice (latest invoice date; on a tie, the row further down the
    file). A customer whose rows carry different non-empty values of an attribute is a
    *conflict*; returns per attribute ``{"customers": customers with more than one value,
    "invoices": invoice rows whose value differs from the one kept}`` (attributes without
    conflicts are left out). ``inv`` and ``invoices_raw`` are the same rows in the same order
    (canonical and as read); each customer keeps the file and row of the invoice its values came
    from.
    """
    cols = spec if isinstance(spec, dict) else {}
    raw = pd.DataFrame(
        {
            "customer_id": inv["customer_id"].fillna("").astype(str).to_numpy(),
            "__file": inv["_source_file"].astype(str).to_numpy(),
        },
        index=inv["_source_row"].to_numpy(),
    )
    for canon, source_col in cols.items():
        if canon not in CANONICAL["customers"]:
            raise SourceError(name, f"derive_customers maps unknown column {canon!r}")
        if source_col not in invoices_raw.columns:
            raise SourceError(
                name, f"column {source_col!r} (derive_customers.{canon}) not found", column=canon
            )
        raw[canon] = invoices_raw[source_col].astype(str).str.strip().to_numpy()
    for canon, table_map in (values or {}).items():
        if canon in cols:
            raw[canon] = raw[canon].replace({str(k): str(v) for k, v in table_map.items()})
    order = pd.DataFrame(
        {
            "date": inv["invoice_date"].to_numpy() if "invoice_date" in inv else pd.NaT,
            "pos": np.arange(len(raw)),
        }
    )
    raw = raw.iloc[order.sort_values(["date", "pos"], na_position="first", kind="stable")["pos"]]
    raw = raw[raw["customer_id"] != ""]
    conflicts: dict[str, dict[str, int]] = {}
    latest = raw.drop_duplicates("customer_id", keep="last")
    kept = latest.set_index("customer_id")
    for canon in cols:
        if canon == "customer_id":
            continue
        filled = raw[raw[canon] != ""]
        distinct = filled.groupby("customer_id")[canon].nunique()
        n_customers = int((distinct > 1).sum())
        if n_customers:
            chosen = filled["customer_id"].map(kept[canon])
            conflicts[canon] = {
                "customers": n_customers,
                "invoices": int((filled[canon] != chosen).sum()),
            }
    latest = latest.sort_index(kind="stable")
    options = {"on_bad_value": "quarantine"}
    return _to_canonical("customers", latest, options, name), conflicts


# --------------------------------------------------------------------------- public API


def load_source(
    table: str, src: dict[str, Any], base: Path
) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """Read one source and map it onto ``table``; returns (canonical frame, file record, raw text)."""
    raw, info = _read_raw(table, src, base)
    df = _to_canonical(table, raw, src, info["name"])
    return df, info, raw


def ingest(sources_path: str | Path | None = None) -> IngestResult:
    """Read every source of the sources file into canonical tables (default: params' ``sources``)."""
    if sources_path is None:
        sources_path = config.load_params()["sources"]
    spec = read_sources(sources_path)
    base: Path = spec["_base"]
    tables: dict[str, pd.DataFrame] = {}
    files: list[dict[str, Any]] = []
    derived: dict[str, str] = {}
    conflicts: dict[str, dict[str, int]] = {}
    segment_by = spec.get("segment_by", "customer")
    for table, src in spec["sources"].items():
        df, info, raw = load_source(table, src, base)
        tables[table] = df
        files.append(info)
        if table == "invoices":
            if src.get("derive_payments"):
                tables["payments"] = _derive_payments(
                    raw, df, src["derive_payments"], src, info["name"]
                )
                derived["payments"] = f"derived from {info['name']} (derive_payments)"
            if src.get("derive_customers"):
                tables["customers"], conflicts = _derive_customers(
                    df, raw, src["derive_customers"], info["name"], src.get("values")
                )
                derived["customers"] = f"derived from {info['name']} (derive_customers)"
            if segment_by == "invoice":
                tables[table] = _invoice_segments(df, raw, src, info["name"])
    if "invoices" not in tables:
        raise SourceError(str(spec["_path"]), "no invoices source: an invoices table is required")
    if "customers" not in tables:
        tables["customers"], _ = _derive_customers(
            tables["invoices"], tables["invoices"], {}, "derived"
        )
        derived["customers"] = (
            "derived from the invoices' distinct customer ids (no customers source)"
        )
    for table in CANONICAL:
        if table not in tables:
            tables[table] = _empty_ingested(table)
            derived.setdefault(table, "not provided (empty)")
    return IngestResult(
        tables,
        files,
        derived,
        spec.get("reporting_currency"),
        conflicts,
        segment_by,
        dict(spec.get("fx_rates") or {}),
    )


def _invoice_segments(
    inv: pd.DataFrame, raw: pd.DataFrame, src: dict[str, Any], name: str
) -> pd.DataFrame:
    """``segment_by: invoice``: region, industry and customer type from each invoice's own row.

    A segment column mapped under ``columns:`` is already on the invoice; otherwise the column
    named for it under ``derive_customers:`` is used (with the source's value mapping).
    """
    derive = src.get("derive_customers") if isinstance(src.get("derive_customers"), dict) else {}
    mapped = src.get("columns") or {}
    values = src.get("values") or {}
    out = inv.copy()
    found = []
    for canon in SEGMENT_COLUMNS:
        if canon in mapped or canon in raw.columns:
            found.append(canon)
            continue
        col = derive.get(canon)
        if col is None:
            continue
        text = pd.Series(raw[col].astype(str).str.strip().to_numpy(), index=out.index)
        if canon in values:
            text = text.replace({str(k): str(v) for k, v in values[canon].items()})
        out[canon] = text.where(text != "")
        found.append(canon)
    if not found:
        raise SourceError(
            name,
            "segment_by: invoice needs region, industry or customer_type on the invoice rows "
            "(map them under columns: or derive_customers:)",
        )
    return out


def _empty_ingested(table: str) -> pd.DataFrame:
    raw = pd.DataFrame({c: pd.Series(dtype=str) for c in CANONICAL[table]})
    return _to_canonical(table, raw, {"on_bad_value": "quarantine"}, "none")


def write_interim(result: IngestResult, interim_dir: str | Path | None = None) -> Path:
    """Write each ingested table to ``<interim>/<table>.parquet`` and the ingest manifest."""
    folder = config.resolve_path(interim_dir) if interim_dir else config.INTERIM_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for table, df in result.tables.items():
        df.to_parquet(folder / f"{table}.parquet", index=False)
    return write_json(folder / "ingest_manifest.json", manifest_of(result))


def manifest_of(result: IngestResult) -> dict[str, Any]:
    """What ingest records for the next steps: files read (with sha256), rows read, derived
    tables, and the dataset settings of the sources file (reporting currency, exchange rates,
    segment_by) with the customer conflicts."""
    return {
        "files": result.files,
        "rows_read": result.rows_read,
        "derived": result.derived,
        "reporting_currency": result.reporting_currency,
        "customer_conflicts": result.conflicts,
        "segment_by": result.segment_by,
        "fx_rates": result.fx_rates,
    }


def read_interim(
    interim_dir: str | Path | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Read what ``write_interim`` wrote: (tables, ingest manifest)."""
    folder = config.resolve_path(interim_dir) if interim_dir else config.INTERIM_DIR
    path = folder / "ingest_manifest.json"
    if not path.exists():
        raise SourceError(str(path), "no ingest output: run notebooks/01_ingest.ipynb first")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    tables = {t: pd.read_parquet(folder / f"{t}.parquet") for t in CANONICAL}
    return tables, manifest


def files_table(result: IngestResult) -> pd.DataFrame:
    """The files read, for the notebook: table, kind, path, rows, sha256."""
    cols = ["table", "kind", "path", "rows", "sha256"]
    return pd.DataFrame(result.files, columns=cols)


def rows_read_table(result: IngestResult) -> pd.DataFrame:
    """Rows read per canonical table, for the notebook."""
    return pd.DataFrame(
        [{"table": t, "rows_read": n} for t, n in result.rows_read.items()],
        columns=["table", "rows_read"],
    )


def derived_table(result: IngestResult) -> pd.DataFrame:
    """Tables that were derived from another source or are missing, with how."""
    return pd.DataFrame(
        [{"table": t, "how": how} for t, how in sorted(result.derived.items())],
        columns=["table", "how"],
    )
