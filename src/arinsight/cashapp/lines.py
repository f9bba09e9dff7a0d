"""A statement line, whatever the bank's format: its columns (:data:`LINE_COLUMNS`), the types
and checks every reader ends with (:func:`finish_lines`), and the content key that identifies a
line across re-sent, renamed or re-saved files (:func:`line_keys`). The readers
(:mod:`~arinsight.cashapp.statements` for camt and CSV, :mod:`~arinsight.cashapp.formats` for
MT940 and BAI2) build rows of these columns and hand them here."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import SourceError

#: The free-text columns of a statement line a CSV mapping may give (empty text when it does not).
TEXT_COLUMNS = (
    "payer_name",
    "payer_account",
    "remittance",
    "reference",
    "end_to_end_id",
    "return_reason",
    "bank_code",
)

LINE_COLUMNS: list[str] = [
    "line_id",
    "statement_id",
    "account",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "credit_debit",
    "reversal",
    "booked",
    "instructed_amount",
    "instructed_currency",
    "payer_name",
    "payer_account",
    "remittance",
    "reference",
    "end_to_end_id",
    "bank_ref",
    "return_reason",
    "bank_code",
    "line_key",
    "_source_file",
    "_source_row",
]


def finish_lines(df: pd.DataFrame) -> pd.DataFrame:
    """Types and a check that line ids are unique (a repeated id would be applied once only)."""
    out = df.copy()
    for c in ("booking_date", "value_date"):
        out[c] = pd.to_datetime(out[c].replace("", None), format="ISO8601", errors="coerce")
        out[c] = out[c].dt.normalize().astype("datetime64[us]")
    out["amount"] = out["amount"].astype(float)
    out["instructed_amount"] = pd.to_numeric(out["instructed_amount"], errors="coerce")
    for c in (*TEXT_COLUMNS, "currency", "bank_ref"):
        out[c] = out[c].fillna("").astype(str)
    out["reversal"] = out["reversal"].fillna(False).astype(bool)
    out["booked"] = out["booked"].fillna(True).astype(bool)
    out["_source_row"] = out["_source_row"].astype("int64")
    dupes = out["line_id"][out["line_id"].duplicated()]
    if len(dupes):
        first = out.loc[out["line_id"] == dupes.iloc[0], "_source_row"].tolist()
        raise SourceError(
            str(out["_source_file"].iloc[0]),
            f"statement line id {dupes.iloc[0]!r} occurs twice (rows {first}): each bank "
            "reference must be unique",
        )
    key_account = out.pop("_key_account") if "_key_account" in out else out["account"]
    out["line_key"] = line_keys(out, key_account)
    return out.reset_index(drop=True)


def line_keys(lines: pd.DataFrame, account: pd.Series | str) -> pd.Series:
    """What the bank says about each line, as a key that does not depend on the file.

    The key is a hash of the account (for a CSV the configured ``account``, never the file
    name), the booking date, the signed amount in cents, the currency, the bank's reference and
    the end-to-end id; a line with neither reference adds the payer's account and name and the
    remittance text (upper case, spaces collapsed); then its occurrence number among equal
    lines. So ``30886.4`` and ``30886.40``, a renamed or a re-sent file give the same keys."""
    acct = account if isinstance(account, pd.Series) else pd.Series(account, index=lines.index)
    cents = (lines["amount"].astype(float) * 100).round().astype("int64").astype(str)
    day = pd.to_datetime(lines["booking_date"]).dt.strftime("%Y-%m-%d").fillna("")
    sign = pd.Series(np.where(lines["credit_debit"] == "DBIT", "-", "+"), index=lines.index)
    parts = [
        acct.fillna("").astype(str).map(squash),
        day,
        sign + cents,
        lines["currency"].astype(str).str.upper(),
        lines["bank_ref"].map(squash),
        lines["end_to_end_id"].map(squash),
    ]
    content = parts[0].str.cat(parts[1:], sep="|")
    no_ref = (lines["bank_ref"] == "") & (lines["end_to_end_id"] == "")
    extra = (
        lines["payer_account"].map(squash)
        + "|"
        + lines["payer_name"].map(normalise_text)
        + "|"
        + (lines["remittance"] + " " + lines["reference"]).map(normalise_text)
    )
    content = content.where(~no_ref, content + "|" + extra)
    content = content + "|" + (content.groupby(content).cumcount() + 1).astype(str)
    return content.map(lambda t: hashlib.sha256(t.encode("utf-8")).hexdigest()[:24])


def squash(text: Any, *, any_script: bool = False) -> str:
    """Upper case, letters and digits only (``"de-12 34"`` -> ``"DE1234"``), to compare
    identifiers however they are spaced or punctuated. By default only A-Z and 0-9 stay: that
    is the form hashed into every line's key (:func:`line_keys`), which cannot change without
    changing the keys of lines already applied. ``any_script=True`` keeps every letter and digit
    (``"Müller-1"`` -> ``"MÜLLER1"``), as cash application compares payer accounts and names."""
    text = str(text or "").upper()
    if any_script:
        return "".join(ch for ch in text if ch.isalnum())
    return re.sub(r"[^0-9A-Z]", "", text)


def normalise_text(text: str) -> str:
    """Upper case with runs of whitespace collapsed (for remittance matching)."""
    return re.sub(r"\s+", " ", str(text or "").upper()).strip()
