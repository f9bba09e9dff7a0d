"""Bank statements as one table of statement lines: ISO 20022 camt.053 XML, or CSV with a mapping.

Every reader returns one row per *statement line* (one payment) with the columns of
:data:`~arinsight.cashapp.lines.LINE_COLUMNS`:

* ``line_id`` - stable across runs: the account plus the bank's own reference of the transaction
  (``TxDtls/Refs/AcctSvcrRef``), else the entry's (``Ntry/AcctSvcrRef`` or ``NtryRef``) with the
  transaction's number in the entry, else the statement id with the entry and transaction numbers.
  A CSV line takes the mapped ``line_id`` column, else a hash of its content and its occurrence
  number among identical lines (so two equal transfers on one day stay two lines);
* ``booking_date``, ``value_date`` (dates), ``amount`` (positive), ``currency``;
  ``credit_debit`` ("CRDT" money in, "DBIT" money out); ``reversal``; ``booked``;
* ``instructed_amount`` / ``instructed_currency`` (what the payer sent, when the bank converted it);
* ``payer_name``, ``payer_account`` (IBAN or other account id), ``remittance`` (the free text),
  ``reference`` (structured references: creditor reference and referred document numbers),
  ``end_to_end_id``;
* ``statement_id``, ``account``, ``_source_file``, ``_source_row`` (where the line was read).

**camt.053** (``BkToCstmrStmt``, any version 001.02 - 001.13, namespaces ignored): every ``Stmt``
and every ``Ntry``; an entry with several ``NtryDtls/TxDtls`` (a batch) gives one line per
transaction, each with its own amount (``TxDtls/Amt`` or ``AmtDtls/TxAmt/Amt``); an entry without
transaction details is one line. The payer is ``RltdPties/Dbtr/Nm`` (``Dbtr/Pty/Nm`` from version
.08 on), else ``UltmtDbtr``; the remittance is every ``RmtInf/Ustrd`` plus ``AddtlTxInf`` and
``AddtlNtryInf``; structured references are ``RmtInf/Strd/CdtrRefInf/Ref`` and
``RmtInf/Strd/RfrdDocInf/Nb``. Status ``BOOK`` (``Sts`` or ``Sts/Cd``) is booked. The file is
parsed with defusedxml, which refuses entity expansion and external entities (a statement comes
from outside the company).

**CSV**: a mapping in the style of a sources file (``delimiter``, ``encoding``, ``decimal``,
``thousands``, ``date_format``, ``columns: {canonical: source column}``), see :data:`CSV_COLUMNS`.
Money in and out is told apart by ``credit_debit: {column: <col>, credit: [values]}`` or, without
it, by the sign of the amount (negative = money out).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.cashapp.lines import (
    LINE_COLUMNS,
    TEXT_COLUMNS,
    finish_lines,
)
from arinsight.errors import SourceError

#: Canonical columns a CSV statement may map (``columns:``); booking_date and amount are required.
CSV_COLUMNS: tuple[str, ...] = (
    "line_id",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "credit_debit",
    "payer_name",
    "payer_account",
    "remittance",
    "reference",
    "end_to_end_id",
    "reversal",
    "return_reason",
    "bank_code",
)
#: Values of a mapped ``reversal`` column that mark a line as a reversal or return (any case).
REVERSAL_VALUES = frozenset(
    ["TRUE", "YES", "Y", "1", "X", "R", "RV", "REV", "REVERSAL", "RETURN", "RETURNED", "STORNO"]
    + ["J", "JA"]  # German exports: "J" (ja) on a Storno booking
)
CSV_REQUIRED: tuple[str, ...] = ("booking_date", "amount")
_CSV_OPTIONS = {
    "delimiter",
    "encoding",
    "decimal",
    "thousands",
    "date_format",
    "columns",
    "credit_debit",
    "currency",
    "account",
}


def read_statement(
    path: str | Path, csv: Mapping[str, Any] | None = None, currency: str | None = None
) -> pd.DataFrame:
    """Statement lines of a camt.053 or camt.054 file (``.xml``), an MT940 file (``.sta``,
    ``.mt940``, ``.940``, or a file starting with ``{1:`` or ``:20:``), a BAI2 file (``.bai``,
    ``.bai2``, or starting with ``01,``) or a CSV file (anything else).

    ``csv`` is the CSV mapping (see the module docstring); ``currency`` is the currency of CSV
    lines without a currency column (default: the mapping's ``currency``, else the reporting
    currency passed by the caller). Raises :class:`~arinsight.errors.SourceError` naming the
    file, the element or column and the line for anything unreadable.
    """
    p = Path(path)
    if not p.exists():
        raise SourceError(str(p), "statement file not found")
    if p.stat().st_size == 0:
        raise SourceError(str(p), "statement file is empty")
    from arinsight.cashapp import formats

    head = p.read_bytes()[:512].lstrip()
    suffix = p.suffix.lower()
    if suffix == ".xml" or head.startswith(b"<"):
        return read_camt053(p)
    if suffix in (".sta", ".mt940", ".940") or formats.looks_like_mt940(head):
        return formats.read_mt940(p)
    if suffix in (".bai", ".bai2") or formats.looks_like_bai2(head):
        return formats.read_bai2(p)
    return read_csv_statement(p, csv or {}, currency)


# --------------------------------------------------------------------------------------------
# camt.053
# --------------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el, name: str):
    if el is None:
        return None
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _children(el, name: str) -> list:
    return [] if el is None else [c for c in el if _local(c.tag) == name]


def _path(el, path: str):
    for step in path.split("/"):
        el = _child(el, step)
        if el is None:
            return None
    return el


def _text(el, path: str = "") -> str:
    node = _path(el, path) if path else el
    return (node.text or "").strip() if node is not None else ""


def _all_text(el, path: str) -> list[str]:
    """Text of every element at ``path`` (each step may repeat)."""
    nodes = [el]
    for step in path.split("/"):
        nodes = [c for n in nodes for c in _children(n, step)]
    return [(n.text or "").strip() for n in nodes if (n.text or "").strip()]


def _date(el, path: str, file: str = "", where: str = "", row: int = 0) -> str:
    """``<path>/Dt`` or the date part of ``<path>/DtTm`` as YYYY-MM-DD ("" when absent).

    A value that is not a real calendar date (``2026-11-31``, ``2026-13-45``, ``None``) stops
    with the file, the element of the entry and the value."""
    dt, dttm = _text(el, f"{path}/Dt"), _text(el, f"{path}/DtTm")
    text = dt or dttm
    if not text:
        return ""
    try:
        if len(text) < 10 or (dt and len(text) != 10):
            raise ValueError(text)
        day = date.fromisoformat(text[:10])
        if dttm and not dt:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        element = f"{path}/Dt" if dt else f"{path}/DtTm"
        raise SourceError(
            file, f"{element} {text!r} is not a date (YYYY-MM-DD)", column=where, row=row
        ) from None
    return day.isoformat()


def _amount(el, where: str, file: str, row: int) -> tuple[float | None, str]:
    if el is None:
        return None, ""
    text = (el.text or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise SourceError(
            file, f"cannot parse {text!r} as an amount", column=where, row=row
        ) from None
    if not np.isfinite(value) or value < 0:
        raise SourceError(
            file, f"amount {text!r} must be a non-negative number", column=where, row=row
        )
    return round(value, 2), str(el.get("Ccy") or "").strip().upper()


def _bank_code(el) -> str:
    """The bank transaction code of an entry or transaction (``BkTxCd``): the ISO code as
    ``DOMAIN/FAMILY/SUBFAMILY`` (``ACMT/MCOP/INTR``) and the proprietary code (``Prtry/Cd``,
    e.g. a German GVC ``NTRF+805``), "; "-separated; empty when there is none."""
    code = _child(el, "BkTxCd")
    iso = [
        _text(code, "Domn/Cd"),
        _text(code, "Domn/Fmly/Cd"),
        _text(code, "Domn/Fmly/SubFmlyCd"),
    ]
    parts = ["/".join(iso)] if any(iso) else []
    if prtry := _text(code, "Prtry/Cd"):
        parts.append(prtry)
    return "; ".join(parts)


def _account(acct) -> str:
    return _text(acct, "Id/IBAN") or _text(acct, "Id/Othr/Id")


def read_camt053(path: str | Path) -> pd.DataFrame:
    """Statement lines of an ISO 20022 camt.053 bank-to-customer statement, or of a camt.054
    debit/credit notification (``BkToCstmrDbtCdtNtfctn``: its ``Ntfctn`` elements have the
    account and entries of a ``Stmt``) (module docstring)."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    p = Path(path)
    file = str(p)
    try:
        root = DET.parse(str(p)).getroot()
    except DefusedXmlException as exc:
        raise SourceError(
            file, f"refused: {exc} (entities are not allowed in a statement)"
        ) from None
    except Exception as exc:  # ParseError and its stdlib/expat variants
        raise SourceError(file, f"not well-formed XML: {exc}") from None
    found = [
        (doc, kind, body)
        for kind, body in (("BkToCstmrStmt", "Stmt"), ("BkToCstmrDbtCdtNtfctn", "Ntfctn"))
        if (doc := root if _local(root.tag) == kind else _child(root, kind)) is not None
    ]
    if not found:
        raise SourceError(
            file,
            "not a camt.053 statement nor a camt.054 notification (no BkToCstmrStmt or "
            f"BkToCstmrDbtCdtNtfctn under {_local(root.tag)!r})",
        )
    doc, kind, body = found[0]
    statements = _children(doc, body)
    if not statements:
        raise SourceError(file, f"{kind} without any {body} element")
    rows: list[dict[str, Any]] = []
    for s_no, stmt in enumerate(statements, start=1):
        stmt_id = _text(stmt, "Id") or f"{p.stem}#{s_no}"
        acct = _child(stmt, "Acct")
        account = _account(acct)
        acct_ccy = _text(acct, "Ccy").upper()
        for n_no, ntry in enumerate(_children(stmt, "Ntry"), start=1):
            rows.extend(
                _entry_lines(ntry, file, stmt_id, account, acct_ccy, s_no, n_no, len(rows) + 1)
            )
    return finish_lines(pd.DataFrame(rows, columns=LINE_COLUMNS))


def _entry_lines(ntry, file, stmt_id, account, acct_ccy, s_no, n_no, first_row) -> list[dict]:
    where = f"Stmt[{s_no}]/Ntry[{n_no}]"
    amount, ccy = _amount(_child(ntry, "Amt"), f"{where}/Amt", file, first_row)
    if amount is None:
        raise SourceError(file, "entry without Amt", column=where, row=first_row)
    cdi = _text(ntry, "CdtDbtInd").upper()
    if cdi not in ("CRDT", "DBIT"):
        raise SourceError(
            file,
            f"CdtDbtInd must be CRDT or DBIT, got {cdi!r}",
            column=f"{where}/CdtDbtInd",
            row=first_row,
        )
    status = _text(ntry, "Sts/Cd") or _text(ntry, "Sts")
    booking = _date(ntry, "BookgDt", file, where, first_row)
    value = _date(ntry, "ValDt", file, where, first_row)
    entry_ref = _text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef")
    entry_info = _text(ntry, "AddtlNtryInf")
    txs = [tx for d in _children(ntry, "NtryDtls") for tx in _children(d, "TxDtls")]
    base = {
        "statement_id": stmt_id,
        "account": account,
        "booking_date": booking or value,
        "value_date": value or booking,
        "credit_debit": cdi,
        "reversal": _text(ntry, "RvslInd").lower() in ("true", "1"),
        "booked": status.upper() in ("", "BOOK"),
        "bank_code": _bank_code(ntry),
        "_source_file": file,
    }
    if not base["booking_date"]:
        raise SourceError(file, "entry without BookgDt or ValDt", column=where, row=first_row)
    if not txs:
        line_ref = entry_ref or f"{stmt_id}/{n_no}"
        return [
            {
                **base,
                "line_id": f"{account}:{line_ref}",
                "bank_ref": entry_ref,
                "amount": amount,
                "currency": ccy or acct_ccy,
                "remittance": entry_info,
                "_source_row": first_row,
            }
        ]
    lines = []
    for t_no, tx in enumerate(txs, start=1):
        row = first_row + t_no - 1
        tw = f"{where}/NtryDtls/TxDtls[{t_no}]"
        tx_amt, tx_ccy = _amount(_child(tx, "Amt"), f"{tw}/Amt", file, row)
        if tx_amt is None:
            tx_amt, tx_ccy = _amount(
                _path(tx, "AmtDtls/TxAmt/Amt"), f"{tw}/AmtDtls/TxAmt/Amt", file, row
            )
        if tx_amt is None:
            if len(txs) > 1:
                raise SourceError(
                    file, "batch entry whose transaction has no amount", column=tw, row=row
                )
            tx_amt, tx_ccy = amount, ccy
        instd, instd_ccy = _amount(
            _path(tx, "AmtDtls/InstdAmt/Amt"), f"{tw}/AmtDtls/InstdAmt", file, row
        )
        tx_cdi = _text(tx, "CdtDbtInd").upper() or cdi
        own_ref = _text(tx, "Refs/AcctSvcrRef")
        if own_ref and (len(txs) == 1 or own_ref != entry_ref):
            line_ref = own_ref
        elif entry_ref:
            line_ref = entry_ref if len(txs) == 1 else f"{entry_ref}/{t_no}"
        else:
            line_ref = f"{stmt_id}/{n_no}/{t_no}"
        parties = _child(tx, "RltdPties")
        payer = (
            _text(parties, "Dbtr/Nm")
            or _text(parties, "Dbtr/Pty/Nm")
            or _text(parties, "UltmtDbtr/Nm")
            or _text(parties, "UltmtDbtr/Pty/Nm")
        )
        payer_acct = _account(_child(parties, "DbtrAcct"))
        rmt = _child(tx, "RmtInf")
        free = _all_text(rmt, "Ustrd") + _all_text(rmt, "Strd/AddtlRmtInf")
        free += [t for t in (_text(tx, "AddtlTxInf"), entry_info) if t]
        refs = _all_text(rmt, "Strd/CdtrRefInf/Ref") + _all_text(rmt, "Strd/RfrdDocInf/Nb")
        e2e = _text(tx, "Refs/EndToEndId")
        rtr = _child(tx, "RtrInf")
        lines.append(
            {
                **base,
                "reversal": base["reversal"] or rtr is not None,
                "bank_code": _bank_code(tx) or base["bank_code"],
                "return_reason": (_text(rtr, "Rsn/Cd") or _text(rtr, "Rsn/Prtry"))
                if rtr is not None
                else "",
                "line_id": f"{account}:{line_ref}",
                "bank_ref": "" if line_ref == f"{stmt_id}/{n_no}/{t_no}" else line_ref,
                "amount": tx_amt,
                "currency": tx_ccy or ccy or acct_ccy,
                "credit_debit": tx_cdi if tx_cdi in ("CRDT", "DBIT") else cdi,
                "instructed_amount": instd,
                "instructed_currency": instd_ccy or None,
                "payer_name": payer,
                "payer_account": payer_acct,
                "remittance": " ".join(free),
                "reference": " ".join(refs),
                "end_to_end_id": "" if e2e.upper() == "NOTPROVIDED" else e2e,
                "_source_row": row,
            }
        )
    return lines


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def read_csv_statement(
    path: str | Path, mapping: Mapping[str, Any], currency: str | None = None
) -> pd.DataFrame:
    """Statement lines of a CSV export mapped with ``mapping`` (module docstring).

    ``_source_row`` is the line number in the file (header = line 1). A bad date or amount stops
    with the file, the column (canonical and source name) and the line.
    """
    p = Path(path)
    file = str(p)
    unknown = sorted(set(mapping) - _CSV_OPTIONS)
    if unknown:
        raise SourceError(
            file, f"unknown statement CSV option(s) {unknown}; allowed: {sorted(_CSV_OPTIONS)}"
        )
    columns = dict(mapping.get("columns") or {})
    bad = sorted(set(columns) - set(CSV_COLUMNS))
    if bad:
        raise SourceError(file, f"columns maps unknown column(s) {bad}; known: {list(CSV_COLUMNS)}")
    encoding = mapping.get("encoding", "utf-8")
    try:
        raw = pd.read_csv(
            p,
            sep=mapping.get("delimiter", ","),
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
        )
    except UnicodeDecodeError:
        raise SourceError(file, f"cannot decode as {encoding} (set `encoding:`)") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise SourceError(file, f"not a readable CSV: {exc}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    source = {c: columns.get(c, c) for c in CSV_COLUMNS}
    for canon in CSV_REQUIRED:
        if source[canon] not in raw.columns:
            raise SourceError(
                file,
                f"required column missing (map it under `columns:`); columns present: "
                f"{', '.join(map(repr, raw.columns))}",
                column=canon,
            )
    for canon, col in columns.items():
        if col not in raw.columns:
            raise SourceError(file, f"column {col!r} (mapped to {canon!r}) not found", column=canon)
    rows = np.arange(2, 2 + len(raw))
    text = {
        c: raw[source[c]].str.strip() if source[c] in raw.columns else None for c in CSV_COLUMNS
    }

    def parse_dates(canon: str) -> pd.Series:
        s = text[canon]
        fmt = mapping.get("date_format")
        parsed = pd.to_datetime(s.where(s != ""), format=fmt or "ISO8601", errors="coerce")
        _first_bad(parsed.isna() & (s != ""), s, file, canon, source[canon], rows, "a date")
        return parsed.dt.strftime("%Y-%m-%d").fillna("")

    booking = parse_dates("booking_date")
    _first_bad(
        booking == "",
        text["booking_date"],
        file,
        "booking_date",
        source["booking_date"],
        rows,
        "a date",
    )
    value = parse_dates("value_date") if text["value_date"] is not None else booking
    amt_text = text["amount"]
    s = amt_text.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    if mapping.get("thousands"):
        s = s.str.replace(str(mapping["thousands"]), "", regex=False)
    if mapping.get("decimal", ".") != ".":
        s = s.str.replace(str(mapping["decimal"]), ".", regex=False)
    amount = pd.to_numeric(s, errors="coerce")
    _first_bad(amount.isna(), amt_text, file, "amount", source["amount"], rows, "an amount")
    spec = mapping.get("credit_debit")
    if spec:
        if not isinstance(spec, Mapping) or "column" not in spec:
            raise SourceError(
                file, "credit_debit must be {column: <source column>, credit: [values]}"
            )
        if spec["column"] not in raw.columns:
            raise SourceError(
                file, f"column {spec['column']!r} (credit_debit) not found", column="credit_debit"
            )
        credit_values = spec.get("credit", ["CRDT", "C", "CR", "H", "+"])
        credit_values = [credit_values] if isinstance(credit_values, str) else credit_values
        wanted = {str(v).strip().upper() for v in credit_values}
        is_credit = raw[spec["column"]].str.strip().str.upper().isin(wanted)
    elif text["credit_debit"] is not None:
        is_credit = text["credit_debit"].str.upper().isin({"CRDT", "C", "CR", "CREDIT"})
    else:
        is_credit = amount >= 0
    if text["reversal"] is not None:
        reversal = text["reversal"].str.upper().isin(REVERSAL_VALUES)
    else:
        reversal = pd.Series(False, index=raw.index)
    if text["return_reason"] is not None:  # a return reason makes it a return, as RtrInf does
        reversal = reversal | (text["return_reason"].str.strip() != "")
    ccy_default = str(mapping.get("currency") or currency or "").upper()
    ccy = (
        text["currency"].str.upper()
        if text["currency"] is not None
        else pd.Series(ccy_default, index=raw.index)
    )
    ccy = ccy.where(ccy != "", ccy_default)
    account = str(mapping.get("account") or p.stem)
    out = pd.DataFrame(
        {
            "statement_id": p.stem,
            "account": account,
            "booking_date": booking,
            "value_date": value.where(value != "", booking),
            "amount": amount.abs().round(2),
            "currency": ccy,
            "credit_debit": np.where(is_credit, "CRDT", "DBIT"),
            "reversal": reversal,
            "booked": True,
            "instructed_amount": np.nan,
            "instructed_currency": None,
        },
        index=raw.index,
    )
    for c in TEXT_COLUMNS:
        out[c] = text[c] if text[c] is not None else ""
    out["bank_ref"] = text["line_id"] if text["line_id"] is not None else ""
    # the key's account: the configured one, never the file name (a renamed copy is the same)
    out["_key_account"] = str(mapping.get("account") or "")
    if text["line_id"] is not None and (text["line_id"] != "").all():
        ids = text["line_id"]
    else:
        content = raw.astype(str).agg("\x1f".join, axis=1)
        digest = content.map(lambda t: hashlib.sha256(t.encode("utf-8")).hexdigest()[:16])
        ids = digest + "-" + (digest.groupby(digest).cumcount() + 1).astype(str)
    out["line_id"] = account + ":" + ids
    out["_source_file"] = file
    out["_source_row"] = rows
    out["line_key"] = ""
    return finish_lines(out[[*LINE_COLUMNS, "_key_account"]])


def _first_bad(mask, text, file, canon, source, rows, what) -> None:
    if mask.any():
        pos = int(np.asarray(mask).argmax())
        col = canon + (f" (source {source!r})" if source != canon else "")
        raise SourceError(
            file, f"cannot parse {text.iloc[pos]!r} as {what}", column=col, row=int(rows[pos])
        )
