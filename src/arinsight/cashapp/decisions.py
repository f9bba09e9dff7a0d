"""Decisions of a person on statement lines: accept, reject or (re-)assign, applied by the next
``arinsight match`` of the statement, each recorded in the ledger with who, when and why.

The decisions file is a CSV (``cash_application.decisions``, default ``decisions.csv`` in the
output folder; ``arinsight match --decisions FILE``) with the columns

* ``line_id`` - the line as the worklist names it;
* ``action`` - ``accept`` (apply the line to ``invoice_ids``, or to what the rules suggest first
  when that is empty), ``assign`` (apply it to ``invoice_ids``; for a line applied before, its
  payments are undone first: a re-assignment) or ``reject`` (the line is not applied and not
  suggested again; for a line applied before, its payments are undone);
* ``invoice_ids`` - ``"; "``-separated, in the order the amount goes to them;
* ``decided_by``, ``decided_at`` (a date or date and time) - required; ``note`` - optional.

A decision is identified by a hash of its line, action, invoices, person and time: it is applied
once (the ledger keeps its id), and a later decision on the same line is applied after it.
``applied_payments.csv`` stays written by the tool only: the decision goes into the ledger and
the file is rewritten from it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from arinsight.errors import SourceError

ACTIONS = ("accept", "assign", "reject")
COLUMNS = ("line_id", "action", "invoice_ids", "decided_by", "decided_at", "note")
REQUIRED = ("line_id", "action", "decided_by", "decided_at")


def read_decisions(path: str | Path) -> pd.DataFrame:
    """The decisions of ``path`` (a missing file: none), checked row by row; adds
    ``decision_id`` and ``invoices`` (a list). Errors name the file, the column and the row."""
    p = Path(path)
    empty = pd.DataFrame(columns=[*COLUMNS, "decision_id", "invoices"])
    if not p.exists():
        return empty
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SourceError(str(p), f"not a readable decisions CSV: {exc}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise SourceError(str(p), f"required column(s) missing: {', '.join(missing)}")
    for c in COLUMNS:
        if c not in raw.columns:
            raw[c] = ""
    raw = raw[list(COLUMNS)].apply(lambda s: s.str.strip())
    raw["action"] = raw["action"].str.lower()
    for k, row in enumerate(raw.itertuples(index=False), start=2):
        for c in REQUIRED:
            if not getattr(row, c):
                raise SourceError(str(p), "empty", column=c, row=k)
        if row.action not in ACTIONS:
            raise SourceError(
                str(p), f"action {row.action!r} is not one of {', '.join(ACTIONS)}", "action", k
            )
        if row.action == "assign" and not row.invoice_ids:
            raise SourceError(str(p), "assign needs the invoices", column="invoice_ids", row=k)
        if pd.isna(pd.to_datetime(row.decided_at, errors="coerce", format="ISO8601")):
            raise SourceError(
                str(p), f"cannot parse {row.decided_at!r} as a date", column="decided_at", row=k
            )
    if raw.empty:
        return empty
    raw["invoices"] = raw["invoice_ids"].map(
        lambda t: [i.strip() for i in t.replace(",", ";").split(";") if i.strip()]
    )
    raw["decision_id"] = [
        hashlib.sha256("|".join(r).encode("utf-8")).hexdigest()[:16]
        for r in raw[["line_id", "action", "invoice_ids", "decided_by", "decided_at"]].itertuples(
            index=False
        )
    ]
    order = pd.to_datetime(raw["decided_at"], format="ISO8601", utc=True)
    return raw.assign(_t=order).sort_values("_t", kind="mergesort").drop(columns="_t")
