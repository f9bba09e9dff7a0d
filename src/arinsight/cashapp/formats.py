"""Bank statements in the text formats banks send beside camt: SWIFT MT940 and BAI2 (US).

Both are read by well-kept parsers (``mt-940``, BSD; ``bai2``, MIT, by the UK Ministry of
Justice) into the statement lines of :mod:`arinsight.cashapp.statements` (same columns, same
line ids and content keys), so the matching does not know which format a line came in.

**MT940** (``mt940.parse_statements`` with every opt-in fix of ``mt940.Options.all()``): every
statement block (``:20:`` ... ``:62F:``) of the file; the account is ``:25:``, each ``:61:`` is a
line: value date, entry date (the booking date; the value date when absent), the mark ``C``/``D``
(money in/out), ``RC``/``RD`` (the reversal of a credit/debit), the amount and the currency of
the block's opening balance, the bank's reference (after ``//``; else the customer reference
unless ``NONREF``). The ``:86:`` details are the remittance; in the German structured form
(``?20``-``?29`` purpose, ``?32``/``?33`` payer name, ``?31`` payer IBAN, ``EREF+`` end-to-end
id, ``SVWZ+`` purpose) each part goes where it belongs.

**BAI2** (``bai2.parse_from_string``, which checks every record count and control total): each
``16`` transaction detail of each account (``03``) of each group (``02``) is a line, booked on
the group's as-of date; money in or out from the type code (BAI's table: ``195`` incoming
transfer is a credit, ``475`` a paid check a debit); the amount in cents; the bank reference,
the customer reference (used as end-to-end id) and the text with its ``88`` continuations as
remittance. A BAI2 file names no payer: the text is searched for invoice numbers and customer
ids, and the name rules have nothing to go on.

A file the parser cannot read gives one :class:`~arinsight.errors.SourceError` naming the file,
the record or tag when known, and what is wrong; never a traceback.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd

from arinsight.cashapp.lines import LINE_COLUMNS, finish_lines
from arinsight.errors import SourceError

_SWIFT_HEADER = re.compile(r"^\s*(\{1:|:20:)")


def looks_like_mt940(head: bytes) -> bool:
    """The first bytes of an MT940 file: a SWIFT block header ``{1:`` or the ``:20:`` tag."""
    return bool(_SWIFT_HEADER.match(head.decode("latin-1")))


def looks_like_bai2(head: bytes) -> bool:
    """The first bytes of a BAI2 file: the file header record ``01,``."""
    return head.lstrip().startswith(b"01,")


def _read_text(p: Path) -> str:
    raw = p.read_bytes()
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


# --------------------------------------------------------------------------------------------
# MT940
# --------------------------------------------------------------------------------------------


def read_mt940(path: str | Path) -> pd.DataFrame:
    """Statement lines of a SWIFT MT940 file (module docstring)."""
    import mt940

    p = Path(path)
    file = str(p)
    text = _read_text(p)
    if ":25:" not in text or ":61:" not in text and ":62F:" not in text:
        raise SourceError(file, "not an MT940 statement (no :25: account and no :61: line)")
    _check_mt940_dates(text, file)
    quiet = logging.getLogger("mt940")  # it logs every regex that failed; our error says why
    level, quiet.level = quiet.level, logging.CRITICAL
    try:
        blocks = mt940.parse_statements(text, options=mt940.Options.all())
    except Exception as exc:  # the library's parse errors are plain exceptions
        why = str(exc.args[0] if exc.args else exc)
        why = re.sub(r"<mt940\.tags\.(\w+) object at 0x[0-9a-f]+>", r"the \1 tag", why)
        raise SourceError(file, f"not a readable MT940 statement: {why}") from None
    finally:
        quiet.setLevel(level)
    rows: list[dict[str, Any]] = []
    for b_no, block in enumerate(blocks, start=1):
        data = block.data
        account = re.sub(r"\s+", "", str(data.get("account_identification") or ""))
        if not account:
            raise SourceError(file, "statement block without :25: account", column=f"block {b_no}")
        stmt_id = "/".join(
            str(data.get(k) or "")
            for k in ("transaction_reference", "statement_number", "sequence_number")
        ).strip("/")
        opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
        block_ccy = str(getattr(getattr(opening, "amount", None), "currency", "") or "")
        for t_no, tx in enumerate(block.transactions, start=1):
            rows.append(_mt940_line(tx.data, file, account, stmt_id, block_ccy, b_no, t_no))
    if not rows:
        raise SourceError(file, "MT940 statement without any :61: line")
    for k, row in enumerate(rows, start=1):
        row["_source_row"] = k
    return finish_lines(pd.DataFrame(rows, columns=LINE_COLUMNS))


_MT940_61 = re.compile(r"^:61:(\d{6})(\d{4})?", re.MULTILINE)


def _check_mt940_dates(text: str, file: str) -> None:
    """Every ``:61:`` value date (YYMMDD) and entry date (MMDD) is a calendar date: the library
    would raise a bare ``ValueError`` on ``261131``."""
    for k, m in enumerate(_MT940_61.finditer(text), start=1):
        value = m[1]
        try:
            year = 2000 + int(value[:2])
            pd.Timestamp(year=year, month=int(value[2:4]), day=int(value[4:6]))
            if m[2]:
                pd.Timestamp(year=year, month=int(m[2][:2]), day=int(m[2][2:]))
        except ValueError:
            raise SourceError(
                file,
                f"':61:' date {m[0][4:]!r} is not a date (YYMMDD value date, MMDD entry date)",
                column=":61:",
                row=k,
            ) from None


def _mt940_line(d: dict, file: str, account: str, stmt_id: str, ccy: str, b_no, t_no) -> dict:
    status = str(d.get("status") or "").upper()
    amount = d.get("amount")
    value = abs(float(getattr(amount, "amount", 0) or 0))
    currency = str(getattr(amount, "currency", "") or d.get("currency") or ccy)
    money_in = status in ("C", "RD")  # RD: the reversal of a debit is money in
    bank_ref = str(d.get("bank_reference") or "").strip()
    cust_ref = str(d.get("customer_reference") or "").strip()
    if cust_ref.upper() == "NONREF":
        cust_ref = ""
    ref = bank_ref or cust_ref
    booking = d.get("entry_date") or d.get("guessed_entry_date") or d.get("date")
    purpose = [str(d.get(k) or "") for k in ("purpose", "additional_purpose")]
    details = " ".join(p for p in purpose if p and p != "None")
    if not details:  # unstructured :86: text
        details = str(d.get("transaction_details") or "").replace("\n", " ")
    payer = " ".join(
        str(d.get(k) or "") for k in ("applicant_name",) if d.get(k) not in (None, "None")
    ).strip()
    e2e = str(d.get("end_to_end_reference") or "")
    return {
        "line_id": f"{account}:{ref}" if ref else f"{account}:{stmt_id}/{b_no}/{t_no}",
        "statement_id": stmt_id,
        "account": account,
        "booking_date": str(booking or ""),
        "value_date": str(d.get("date") or booking or ""),
        "amount": value,
        "currency": currency.upper(),
        "credit_debit": "CRDT" if money_in else "DBIT",
        "reversal": status in ("RC", "RD"),
        "booked": True,
        "instructed_amount": None,
        "instructed_currency": None,
        "payer_name": payer,
        "payer_account": str(d.get("applicant_iban") or "").replace("None", ""),
        "remittance": details,
        "reference": cust_ref,
        "end_to_end_id": "" if e2e.upper() in ("NOTPROVIDED", "NONE") else e2e,
        "bank_ref": ref,
        "return_reason": "",
        # the SWIFT transaction type (NTRF, NINT, NCHG) and, in the German :86:, the GVC
        "bank_code": "; ".join(
            str(d.get(k)) for k in ("id", "transaction_code") if d.get(k) not in (None, "")
        ),
        "_source_file": file,
    }


# --------------------------------------------------------------------------------------------
# BAI2
# --------------------------------------------------------------------------------------------


def read_bai2(path: str | Path) -> pd.DataFrame:
    """Statement lines of a BAI2 file (module docstring)."""
    from bai2 import bai2
    from bai2.exceptions import IntegrityException, NotSupportedYetException, ParsingException

    p = Path(path)
    file = str(p)
    text = _read_text(p)
    _check_bai2_structure(text, file)
    _check_bai2_dates(text, file)
    try:
        parsed = bai2.parse_from_string(text, check_integrity=True)
    except (ParsingException, IntegrityException, NotSupportedYetException) as exc:
        raise SourceError(file, f"not a valid BAI2 file: {exc}") from None
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise SourceError(file, f"not a readable BAI2 file ({type(exc).__name__}: {exc})") from None
    rows: list[dict[str, Any]] = []
    for g_no, group in enumerate(parsed.children, start=1):
        day = group.header.as_of_date
        group_ccy = str(group.header.currency or "USD")
        for a_no, acct in enumerate(group.children, start=1):
            account = str(acct.header.customer_account_number or "").strip()
            ccy = str(acct.header.currency or group_ccy).upper()
            for t_no, tx in enumerate(acct.children, start=1):
                where = f"group {g_no}/account {a_no}/16[{t_no}]"
                kind = getattr(getattr(tx.type_code, "transaction", None), "value", "")
                if kind not in ("credit", "debit"):
                    raise SourceError(
                        file,
                        f"type code {tx.type_code.code} is neither a credit nor a debit",
                        column=where,
                    )
                bank_ref = str(tx.bank_reference or "").strip()
                cust_ref = str(tx.customer_reference or "").strip()
                rows.append(
                    {
                        "line_id": f"{account}:{bank_ref}"
                        if bank_ref
                        else f"{account}:{day}/{g_no}/{a_no}/{t_no}",
                        "statement_id": f"{parsed.header.file_id or p.stem}/{g_no}",
                        "account": account,
                        "booking_date": str(day or ""),
                        "value_date": str(day or ""),
                        "amount": abs(int(tx.amount or 0)) / 100,
                        "currency": ccy,
                        "credit_debit": "CRDT" if kind == "credit" else "DBIT",
                        "reversal": False,
                        "booked": True,
                        "instructed_amount": None,
                        "instructed_currency": None,
                        "payer_name": "",
                        "payer_account": "",
                        "remittance": str(tx.text or "").strip(" ,/"),
                        "reference": "",
                        "end_to_end_id": cust_ref,
                        "bank_ref": bank_ref,
                        "return_reason": "",
                        "bank_code": str(tx.type_code.code or ""),  # 354: interest credit
                        "_source_file": file,
                        "_source_row": len(rows) + 1,
                    }
                )
    if not rows:
        raise SourceError(file, "BAI2 file without any 16 transaction record")
    return finish_lines(pd.DataFrame(rows, columns=LINE_COLUMNS))


def _check_bai2_dates(text: str, file: str) -> None:
    """The file's creation date (``01`` record, field 4) and every group's as-of date (``02``,
    field 5) are calendar dates (YYMMDD): the library would raise a bare ``ValueError``."""
    for k, line in enumerate(text.splitlines(), start=1):
        fields = line.strip().rstrip("/").split(",")
        at = {"01": 3, "02": 4}.get(fields[0])
        if at is None or len(fields) <= at:
            continue
        value = fields[at].strip()
        try:
            pd.Timestamp(year=2000 + int(value[:2]), month=int(value[2:4]), day=int(value[4:6]))
            ok = len(value) == 6
        except ValueError:
            ok = False
        if not ok:
            name = "creation date" if fields[0] == "01" else "as-of date"
            raise SourceError(
                file,
                f"{name} {value!r} of the {fields[0]} record is not a date (YYMMDD)",
                column=f"{fields[0]} record, field {at + 1}",
                row=k,
            )


#: What may follow each BAI2 record (``88`` continues the record before it).
_BAI2_NEXT = {
    "": {"01"},
    "01": {"02"},
    "02": {"03"},
    "03": {"16", "49"},
    "16": {"16", "49"},
    "49": {"03", "98"},
    "98": {"02", "99"},
    "99": set(),
}


def _check_bai2_structure(text: str, file: str) -> None:
    """The records come in BAI2's order: ``01`` (``02`` (``03`` ``16``* ``49``)+ ``98``)+ ``99``,
    each possibly continued by ``88`` records. Checked before the parser runs: on a file cut
    short (no trailers) ``bai2`` 0.15 loops without end, taking memory until the machine runs
    out."""
    last, k = "", 0
    names = {"01": "file header", "02": "group header", "03": "account", "16": "transaction"}
    names |= {"49": "account trailer", "98": "group trailer", "99": "file trailer"}
    for k, line in enumerate(text.splitlines(), start=1):
        code = line.strip()[:2]
        if not line.strip():
            continue
        if code == "88" and last:
            continue
        if code not in _BAI2_NEXT[last]:
            want = " or ".join(f"{c} ({names[c]})" for c in sorted(_BAI2_NEXT[last])) or "nothing"
            got = f"record {code!r}" if code in names or code == "88" else f"{line.strip()[:20]!r}"
            raise SourceError(
                file,
                f"not a BAI2 file in order: {got} where {want} must come",
                column="record code",
                row=k,
            )
        last = code
    if last != "99":
        raise SourceError(
            file, "BAI2 file cut short: it does not end with the 99 file trailer", row=k
        )
