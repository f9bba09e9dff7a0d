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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from arinsight.cashapp.ledger import reversed_lines
from arinsight.cashapp.result import LineResult
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


def decision_text(decision: Mapping[str, Any] | None) -> str:
    if not decision:
        return ""
    note = f": {decision['note']}" if decision.get("note") else ""
    return f"{decision['action']} by {decision['decided_by']} at {decision['decided_at']}{note}"


def apply_decisions(lines, seen, live, decisions, ledger, book, settings, results) -> None:
    """Carry out the pending decisions on this statement's lines (module
    :mod:`~arinsight.cashapp.decisions`), before the rules, so the invoices they pay are taken
    first. A line applied before is undone first (its record is reversed by the new one)."""
    from arinsight.cashapp.amounts import LineValue, allocate, short_of
    from arinsight.cashapp.matching import match_line
    from arinsight.cashapp.names import identify_payer, name_scores

    done = {r.get("decision_id") for r in ledger}
    latest: dict[str, Any] = {}
    for d in decisions.itertuples(index=False):
        if d.decision_id not in done:
            latest[str(d.line_id)] = d  # sorted by decided_at: the last one wins
    undone = reversed_lines(ledger)
    row_of = {inv: i for i, inv in enumerate(book.ids)}
    for pos, line_id in enumerate(lines["line_id"]):
        d = latest.get(str(line_id))
        if d is None or not (seen.iloc[pos] or live.iloc[pos]):
            continue
        line = lines.iloc[pos]
        decision = {k: getattr(d, k) for k in ("decision_id", "action", "invoice_ids",
                                               "decided_by", "decided_at", "note")}  # fmt: skip
        record_id, reverses = "", ""
        if seen.iloc[pos]:
            current = [
                r
                for r in ledger
                if str(r["line_id"]).split("@")[0] == line_id
                or r.get("line_key") == line["line_key"]
            ]
            current = [
                r
                for r in current
                if str(r["line_id"]) not in undone and (r.get("payments") or r.get("gl_postings"))
            ]
            if d.action == "accept" or not current:
                continue  # applied already: nothing to accept, nothing to undo
            for pay in current[-1]["payments"]:
                if pay.get("invoice_id") in row_of:
                    book.give_back(row_of[pay["invoice_id"]], round(float(pay["amount"]) * 100))
            reverses = str(current[-1]["line_id"])
            record_id = f"{line_id}@{d.decision_id[:8]}"
        text = decision_text(decision)
        if d.action == "reject":
            res = LineResult("rejected", reason=f"{text} (not applied, not suggested again)")
        else:
            invoices = list(d.invoices)
            if not invoices:  # accept what the rules propose
                found = match_line(line, book, name_scores([line["payer_name"]], book)[0], settings)
                invoices = [book.ids[i] for i, _ in found.allocations] or (
                    found.candidates[0]["invoice_ids"].split("; ") if found.candidates else []
                )
            unknown = [i for i in invoices if i not in row_of]
            if not invoices or unknown:
                why = f"unknown invoice(s) {', '.join(unknown)}" if unknown else "nothing to accept"
                results[pos] = LineResult(
                    "suggested", reason=f"{text}, but {why}: decide again", decision=decision
                )
                continue
            rows = [row_of[i] for i in invoices]
            value = LineValue(line, settings).value(book.currency[rows[0]])
            if value is None:
                results[pos] = LineResult(
                    "suggested", reason=f"{text}, but no exchange rate", decision=decision
                )
                continue
            allocations = allocate(book, rows, value[0])
            res = LineResult(
                "matched",
                rule=f"decision_{d.action}",
                confidence=1.0,
                customer_id=book.customer[rows[0]],
                currency=book.currency[rows[0]],
                allocations=allocations,
                unapplied=value[0] - sum(c for _, c in allocations),
                reason=text,
            )
            if res.unapplied:
                res.reason += f"; {res.unapplied / 100:,.2f} not applied to an invoice: on account"
            res.short = short_of(book, allocations)
            res.payers = identify_payer(
                str(line["payer_name"] or ""),
                name_scores([line["payer_name"]], book)[0],
                book,
                settings,
            )[0]
            book.take(allocations, line["booking_date"])
        res.decision, res.reverses, res.record_id = decision, reverses, record_id
        results[pos] = res
