"""``arinsight match``: a statement against the open invoices, the worklist, the payments file and
the ledger that keeps a statement line from being applied twice.

For a statement file the command

1. reads its lines (:mod:`arinsight.cashapp.statements`);
2. takes the invoices open at the statement date T (``--as-of``, default the last booking date
   of the statement) from ``data/processed`` with :func:`arinsight.receivables.invoice_positions`
   and lowers their open amounts by what the **ledger** says was applied in earlier runs and is
   not yet in the processed payments (so a payments file that has not been ingested yet still
   counts, and one that has is not counted twice);
3. skips every line whose id or content key is already in the ledger (``already_applied``),
   holds back lines booked after the run date (``held``), carries out the pending decisions of
   the decisions file (:mod:`arinsight.cashapp.decisions`), undoes the credits that reversals
   and returns reverse (``reversal`` / ``reversed``) and matches the others
   (:mod:`arinsight.cashapp.matching`);
4. appends the matched lines to the ledger and writes, into the output folder:

   * ``matching_worklist_<statement>.csv`` / ``.xlsx`` - one row per line: status, rule,
     confidence, customer, invoices and amounts applied, ranked candidates of suggestions, the
     reason of every line not applied (the Excel file also has the sheets ``candidates`` and
     ``allocations``); every text cell is safe against spreadsheet formula injection;
   * ``applied_payments.csv`` - every payment applied so far by any statement (from the ledger),
     with the canonical payments columns, ready to be ingested as a ``payments`` source.
   * ``deductions.csv`` - every short payment applied so far (from the ledger): what a line
     left open on an invoice it paid short, a *deduction* with a ``reason`` to assign (the
     reasons, resolutions and outcomes typed into the file are kept when it is written again),
     in the columns of the canonical ``disputes`` table; the Disputes page lists them.

The ledger (``cash_ledger.jsonl`` in the output folder, or ``cash_application.ledger``) has one
JSON line per applied, reversed, rejected or decided statement line: the line id and content
key, the statement file and its sha256, the rule and the payments written for it, and for a
reversal or a re-assignment the line it ``reverses`` (whose payments then leave
``applied_payments.csv``), for a decision who took it, when and why. It is only appended to. It
has no timestamps of its own, so the same statements and decisions give the same files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight import config
from arinsight.cashapp.lines import squash
from arinsight.cashapp.matching import InvoiceBook, LineResult, MatchSettings, match_lines
from arinsight.cashapp.statements import read_statement
from arinsight.errors import ParamsError, UserError
from arinsight.files import command_lock, safe_slug, sha256_file, write_csv, write_excel

PAYMENT_COLUMNS = ["payment_id", "invoice_id", "customer_id", "payment_date", "amount", "method"]
#: Columns of applied_payments.csv: the canonical payments columns, then where each came from.
APPLIED_COLUMNS = [*PAYMENT_COLUMNS, "currency", "statement_line_id", "rule"]
WORKLIST_COLUMNS = [
    "line_id",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "payer_name",
    "payer_account",
    "remittance",
    "reference",
    "status",
    "rule",
    "confidence",
    "customer_id",
    "customer_name",
    "invoice_ids",
    "applied_amount",
    "unapplied_amount",
    "fx_difference",
    "discount_amount",
    "candidates",
    "reason",
    "flagged_invoices",
    "reverses",
    "decision",
    "statement_id",
    "source_row",
]
#: Every status a worklist line can have (see docs/collections.md).
ALL_STATUSES = (
    "matched",
    "suggested",
    "unmatched",
    "skipped",
    "held",
    "reversal",
    "reversed",
    "rejected",
    "already_applied",
)
DEFAULT_OUT_DIR = "data/cash"
LEDGER_FILE = "cash_ledger.jsonl"
APPLIED_FILE = "applied_payments.csv"
DEDUCTIONS_FILE = "deductions.csv"
#: Columns of deductions.csv: the canonical ``disputes`` columns, then the currency of the
#: amount (its invoice's) and the statement line that paid short.
DEDUCTION_COLUMNS = ["dispute_id", "invoice_id", "customer_id", "amount", "reason", "opened_date",
                     "resolved_date", "outcome", "currency", "statement_line_id"]  # fmt: skip
#: The columns of deductions.csv a person fills in; kept when the file is written again.
DEDUCTION_EDITS = ("reason", "resolved_date", "outcome")
DECISIONS_FILE = "decisions.csv"
METHOD = "Bank Transfer"
#: The method of the payment rows that settle the early-payment discount a customer took.
DISCOUNT_METHOD = "Early Payment Discount"


@dataclass
class MatchRun:
    """What one ``arinsight match`` did."""

    worklist: pd.DataFrame
    candidates: pd.DataFrame
    allocations: pd.DataFrame
    as_of: pd.Timestamp
    paths: dict[str, Path] = field(default_factory=dict)
    results: list[LineResult] = field(default_factory=list)  # one per line, in statement order
    #: the short payments of this run (:data:`DEDUCTION_COLUMNS`)
    deductions: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=DEDUCTION_COLUMNS)
    )

    @property
    def counts(self) -> dict[str, int]:
        """Lines per status (every status present, 0 when none)."""
        got = self.worklist["status"].value_counts()
        return {s: int(got.get(s, 0)) for s in ALL_STATUSES}

    @property
    def auto_match_rate(self) -> float | None:
        """Matched lines / credit lines matched in this run (skipped and already applied left out)."""
        c = self.counts
        n = c["matched"] + c["suggested"] + c["unmatched"]
        return None if n == 0 else c["matched"] / n


# --------------------------------------------------------------------------------------------
# ledger
# --------------------------------------------------------------------------------------------


def read_ledger(path: str | Path) -> list[dict[str, Any]]:
    """The records of a cash-application ledger (a missing file is empty)."""
    p = Path(path)
    if not p.exists():
        return []
    records = []
    for number, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            rec["line_id"], rec["payments"]  # noqa: B018 - the two keys every record needs
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(
                f"{p}: line {number}: not a cash-application ledger record ({exc})"
            ) from None
        records.append(rec)
    return records


def reversed_lines(records: Sequence[Mapping[str, Any]]) -> set[str]:
    """Line ids of the ledger that a later reversal or return undid."""
    return {str(rec["reverses"]) for rec in records if rec.get("reverses")}


def ledger_payments(
    records: Sequence[Mapping[str, Any]], include_reversed: bool = False
) -> pd.DataFrame:
    """Every payment of the ledger as one table (:data:`APPLIED_COLUMNS`), sorted by payment id;
    the payments of reversed lines are left out (``include_reversed``: only those)."""
    undone = reversed_lines(records)
    rows = [
        {**pay, "statement_line_id": rec["line_id"], "rule": rec.get("rule", "")}
        for rec in records
        if (str(rec["line_id"]) in undone) == include_reversed
        for pay in rec["payments"]
    ]
    out = pd.DataFrame(rows, columns=APPLIED_COLUMNS)
    out["amount"] = out["amount"].astype(float)
    return out.sort_values("payment_id", kind="mergesort").reset_index(drop=True)


def deduction_id(line_id: str, invoice_id: str) -> str:
    """The id of the deduction a statement line left on an invoice (stable across runs)."""
    return f"DED-{line_id}-{invoice_id}"


def ledger_deductions(
    records: Sequence[Mapping[str, Any]], edited: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every short payment of the ledger as one table (:data:`DEDUCTION_COLUMNS`), by dispute
    id: what each applied line left open on an invoice it paid short (``amount``, in the
    invoice's currency), opened on the line's booking date; lines undone since (reversed,
    re-assigned, rejected) leave none. ``edited``: the file as a person left it, whose
    :data:`DEDUCTION_EDITS` are kept for the deductions still there."""
    undone = reversed_lines(records)
    rows = [
        {
            "dispute_id": deduction_id(str(rec["line_id"]), d["invoice_id"]),
            "invoice_id": d["invoice_id"],
            "customer_id": rec.get("customer_id"),
            "amount": float(d["amount"]),
            "reason": "",
            "opened_date": rec["booking_date"],
            "resolved_date": "",
            "outcome": "",
            "currency": d.get("currency"),
            "statement_line_id": rec["line_id"],
        }
        for rec in records
        if str(rec["line_id"]) not in undone
        for d in rec.get("deductions") or ()
    ]
    out = pd.DataFrame(rows, columns=DEDUCTION_COLUMNS)
    if edited is not None and len(edited) and "dispute_id" in edited.columns:
        kept = edited.drop_duplicates("dispute_id", keep="last").set_index("dispute_id")
        for col in DEDUCTION_EDITS:
            if col in kept.columns:
                typed = out["dispute_id"].map(kept[col].fillna("").astype(str))
                out[col] = typed.fillna("").astype(str)
    return out.sort_values("dispute_id", kind="mergesort").reset_index(drop=True)


def read_deductions(path: str | Path) -> pd.DataFrame | None:
    """deductions.csv as text (None when there is none): what a person may have typed in."""
    path = Path(path)
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def known_accounts(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """What earlier runs taught about payers, as ``{key: customer}``: a payer **account** (its
    letters and digits) that paid exactly one customer's invoices, and, from the lines a person
    accepted or assigned (a decision), the payer **name** as written (``name:`` + its
    :func:`~arinsight.cashapp.matching.name_core`) when it was decided for exactly one customer:
    an alias such as ``B. FOODS PURCHASING`` for Blue Foods Inc. Lines undone since (reversed,
    re-assigned, rejected) teach nothing, and neither do lines whose payer was identified as
    other customers than the one paid (``payer_ids``: a sister or parent company paying for it,
    whose account is its own)."""
    from arinsight.cashapp.matching import name_core

    undone = reversed_lines(records)
    seen: dict[str, set[str]] = {}
    for rec in records:
        cust = rec.get("customer_id")
        if not cust or not rec.get("payments") or str(rec["line_id"]) in undone:
            continue
        if rec.get("rule") in ("reversal", "reversed", "rejected"):
            continue
        if rec.get("payer_ids") and str(cust) not in rec["payer_ids"]:
            continue  # paid for another customer: the account and name are the payer's own
        acct = squash(rec.get("payer_account"), any_script=True)
        if acct:
            seen.setdefault(acct, set()).add(str(cust))
        core = name_core(rec.get("payer_name"))
        if core and rec.get("decision"):
            seen.setdefault(f"name:{core}", set()).add(str(cust))
    return {key: next(iter(c)) for key, c in seen.items() if len(c) == 1}


def _append_ledger(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, sort_keys=True, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


# --------------------------------------------------------------------------------------------
# the open invoices at the statement date
# --------------------------------------------------------------------------------------------


def invoice_book(
    tables: Mapping[str, pd.DataFrame],
    as_of: Any,
    applied: pd.DataFrame | None = None,
    reporting_currency: str = "USD",
    undone: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every invoice dated up to T = ``as_of`` with what is still open on it.

    ``open_amount`` = max(0, invoice_positions' open amount (net of write-offs and credit
    notes when ``tables`` has adjustments) - payments of ``applied`` (the ledger) to that
    invoice whose payment id is not in the processed payments). Adds the invoice's ``currency``
    (the reporting currency where it is empty).
    """
    from arinsight.receivables import invoice_positions

    inv, pay = tables["invoices"], tables["payments"]
    pos = invoice_positions(inv, pay, as_of, tables.get("adjustments"))
    ccy = inv.drop_duplicates("invoice_id").set_index("invoice_id")["currency"]
    pos["currency"] = (
        pos["invoice_id"].map(ccy).fillna(reporting_currency).replace("", reporting_currency)
    )
    if applied is not None and len(applied):
        known = set(pay["payment_id"].astype(str))
        new = applied.loc[
            ~applied["payment_id"].astype(str).isin(known) & applied["invoice_id"].notna()
        ]
        new = new.loc[pd.to_datetime(new["payment_date"]) <= pd.Timestamp(as_of)]
        extra = new.groupby("invoice_id")["amount"].sum()
        pos["open_amount"] = (
            (pos["open_amount"] - pos["invoice_id"].map(extra).fillna(0.0)).clip(lower=0.0).round(2)
        )
    if undone is not None and len(undone):
        # a reversed payment the processed data already has: the invoice is open again
        known = set(pay["payment_id"].astype(str))
        back = undone.loc[undone["payment_id"].astype(str).isin(known)]
        back = back.groupby("invoice_id")["amount"].sum()
        pos["open_amount"] = (pos["open_amount"] + pos["invoice_id"].map(back).fillna(0.0)).round(2)
    return pos


# --------------------------------------------------------------------------------------------
# results as tables
# --------------------------------------------------------------------------------------------


def _payment_id(line_id: str, k: int, n: int) -> str:
    digest = hashlib.sha1(line_id.encode("utf-8")).hexdigest()[:12].upper()
    return f"BNK-{digest}" + (f"-{k}" if n > 1 else "")


def _discount_split(parts: list[tuple[str, int]], discount: int) -> list[tuple[str, int, str]]:
    """(invoice, cents, method) payment rows: each settled invoice's cash (:data:`METHOD`) and,
    when the customer took an early-payment discount, its share of it (:data:`DISCOUNT_METHOD`,
    in proportion to the invoices' amounts, the last one taking the rounding)."""
    if not discount:
        return [(inv, cents, METHOD) for inv, cents in parts]
    total = sum(c for _, c in parts)
    rows, left = [], discount
    for k, (inv, cents) in enumerate(parts):
        share = left if k == len(parts) - 1 else round(discount * cents / total)
        left -= share
        rows.append((inv, cents - share, METHOD))
        rows.append((inv, share, DISCOUNT_METHOD))
    return rows


def _tables(
    lines: pd.DataFrame,
    results: list[LineResult | None],
    book: InvoiceBook,
    names: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(worklist, candidates, allocations, deductions) from the lines and the rules' results."""
    work, cands, allocs, short = [], [], [], []
    for (_, line), res in zip(lines.iterrows(), results, strict=True):
        if res is None:  # already applied in an earlier run
            res = LineResult("already_applied", reason="applied by an earlier run (ledger)")
        parts = [(book.ids[i], cents) for i, cents in res.allocations]
        line_id = res.record_id or line["line_id"]
        for i, cents in res.short:
            short.append(
                {
                    "dispute_id": deduction_id(line_id, book.ids[i]),
                    "invoice_id": book.ids[i],
                    "customer_id": res.customer_id,
                    "amount": round(cents / 100, 2),
                    "reason": "",
                    "opened_date": line["booking_date"],
                    "resolved_date": "",
                    "outcome": "",
                    "currency": res.currency,
                    "statement_line_id": line_id,
                }
            )
        rows = _discount_split(parts, res.discount)
        n = len(rows) + (1 if res.unapplied else 0)
        for k, (inv_id, cents, method) in enumerate(rows, start=1):
            allocs.append(
                {
                    "payment_id": _payment_id(line["line_id"], k, n),
                    "invoice_id": inv_id,
                    "customer_id": res.customer_id,
                    "payment_date": line["booking_date"],
                    "amount": round(cents / 100, 2),
                    "method": method,
                    "currency": res.currency,
                    "statement_line_id": res.record_id or line["line_id"],
                    "rule": res.rule,
                }
            )
        if res.unapplied:
            allocs.append(
                {
                    "payment_id": _payment_id(line["line_id"], n, n),
                    "invoice_id": None,
                    "customer_id": res.customer_id,
                    "payment_date": line["booking_date"],
                    "amount": round(res.unapplied / 100, 2),
                    "method": METHOD,
                    "currency": res.currency,
                    "statement_line_id": res.record_id or line["line_id"],
                    "rule": res.rule,
                }
            )
        for rank, c in enumerate(res.candidates, start=1):
            cands.append(
                {
                    "line_id": line["line_id"],
                    "rank": rank,
                    **c,
                    "customer_name": names.get(c["customer_id"], ""),
                }
            )
        cust = res.customer_id or (
            res.candidates[0]["customer_id"]
            if len({c["customer_id"] for c in res.candidates}) == 1 and res.candidates
            else None
        )
        work.append(
            {
                "line_id": line["line_id"],
                "booking_date": line["booking_date"],
                "value_date": line["value_date"],
                "amount": line["amount"],
                "currency": line["currency"],
                "payer_name": line["payer_name"],
                "payer_account": line["payer_account"],
                "remittance": line["remittance"],
                "reference": line["reference"],
                "status": res.status,
                "rule": res.rule,
                "confidence": res.confidence
                if res.status == "matched"
                else (res.candidates[0]["confidence"] if res.candidates else None),
                "customer_id": cust,
                "customer_name": names.get(cust, "") if cust else "",
                "invoice_ids": "; ".join(p[0] for p in parts),
                "applied_amount": round(sum(c for _, c in parts) / 100, 2) if parts else None,
                "unapplied_amount": round(res.unapplied / 100, 2) if res.unapplied else None,
                "fx_difference": round(res.fx_difference / 100, 2) if res.fx_difference else None,
                "discount_amount": round(res.discount / 100, 2) if res.discount else None,
                "candidates": "; ".join(
                    f"{c['invoice_ids']} ({c['customer_id']}, {c['confidence']:.2f})"
                    for c in res.candidates
                ),
                "reason": res.reason,
                "flagged_invoices": "; ".join(res.flagged),
                "reverses": res.reverses,
                "decision": _decision_text(res.decision),
                "statement_id": line["statement_id"],
                "source_row": line["_source_row"],
            }
        )
    worklist = pd.DataFrame(work, columns=WORKLIST_COLUMNS)
    candidates = pd.DataFrame(
        cands,
        columns=[
            "line_id",
            "rank",
            "customer_id",
            "customer_name",
            "invoice_ids",
            "open_amount",
            "confidence",
            "why",
        ],
    )
    allocations = pd.DataFrame(allocs, columns=APPLIED_COLUMNS)
    return worklist, candidates, allocations, pd.DataFrame(short, columns=DEDUCTION_COLUMNS)


def match_statement(
    lines: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    settings: MatchSettings,
    as_of: Any = None,
    ledger: Sequence[Mapping[str, Any]] = (),
    run_date: Any = None,
    decisions: pd.DataFrame | None = None,
) -> MatchRun:
    """Match the lines of one statement against the invoices open at T (no files written).

    T = ``as_of``, else the last booking date of the lines (at most the run date, default
    today). Lines booked after T are ``held`` (looked at again by a later run). Lines whose id
    or content key (:func:`~arinsight.cashapp.lines.line_keys`) is in ``ledger`` are
    ``already_applied``. ``decisions`` (:func:`~arinsight.cashapp.decisions.read_decisions`) are
    applied first (:func:`_apply_decisions`). Reversals and returns undo the credit they reverse
    (:func:`_reversals`).
    Returns the worklist (one row per line, in statement order), the candidates of the
    suggestions and the allocations (the payments to write).
    """
    if lines.empty:
        raise UserError("the statement has no lines")
    if lines["booking_date"].isna().any():
        raise UserError("the statement has lines without a booking date")
    today = pd.Timestamp(run_date if run_date is not None else pd.Timestamp.today()).normalize()
    if as_of is not None:
        try:
            T = pd.Timestamp(as_of)
        except (TypeError, ValueError):
            T = pd.NaT
        if pd.isna(T):
            raise UserError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
        T = T.normalize()
    else:
        T = min(pd.Timestamp(lines["booking_date"].max()), today)
    applied = ledger_payments(ledger)
    undone = ledger_payments(ledger, include_reversed=True)
    book_frame = invoice_book(tables, T, applied, settings.reporting_currency, undone)
    book = InvoiceBook(book_frame, tables["customers"])
    done = {str(r["line_id"]) for r in ledger} | {str(r.get("line_key")) for r in ledger}
    seen = lines["line_id"].isin(done) | lines["line_key"].isin(done)
    held = ~seen & (lines["booking_date"] > T)
    results: list[LineResult | None] = [None] * len(lines)
    for pos in np.flatnonzero(held):
        day = pd.Timestamp(lines["booking_date"].iloc[pos])
        cut = "--as-of" if as_of is not None else "the run date"
        results[pos] = LineResult(
            "held", reason=f"booked {day:%Y-%m-%d}, after {cut} {T:%Y-%m-%d}: held back until then"
        )
    live = ~seen & ~held
    if decisions is not None and len(decisions):
        _apply_decisions(lines, seen, live, decisions, ledger, book, settings, results)
    pairs = _reversals(lines, live, ledger, results)
    pending = live & pd.Series([r is None for r in results], index=lines.index)
    todo = lines.loc[pending]
    if len(todo):
        found = match_lines(todo.reset_index(drop=True), book, settings, known_accounts(ledger))
        for pos, res in zip(np.flatnonzero(pending), found, strict=True):
            results[pos] = res
    _flag_reversed(lines, results, pairs, ledger, book, settings)
    names = {c: str(n) for c, n in book.names.items()}
    worklist, candidates, allocations, deductions = _tables(lines, results, book, names)
    final = [r or LineResult("already_applied") for r in results]
    return MatchRun(worklist, candidates, allocations, T, results=final, deductions=deductions)


def _original_of(rev: Mapping[str, Any], credits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The credits a reversal or return may undo, best evidence first: the same end-to-end id;
    the credit's bank reference written in the reversal; the same amount and payer (account,
    else name). Only credits booked on or before the reversal count."""
    key = partial(squash, any_script=True)  # accounts and names in any script
    day = pd.Timestamp(rev["booking_date"])
    cands = [c for c in credits if pd.Timestamp(c["booking_date"]) <= day]
    e2e = key(rev.get("end_to_end_id"))
    if e2e:
        same = [c for c in cands if key(c.get("end_to_end_id")) == e2e]
        if same:
            return same
    text = key(f"{rev.get('remittance', '')} {rev.get('reference', '')}")
    by_ref = [
        c for c in cands if len(key(c.get("bank_ref"))) >= 6 and key(c.get("bank_ref")) in text
    ]
    if by_ref:
        return by_ref
    cents = round(float(rev["amount"]) * 100)
    acct, name = key(rev.get("payer_account")), key(rev.get("payer_name"))
    return [
        c
        for c in cands
        if round(float(c["amount"]) * 100) == cents
        and ((acct and key(c.get("payer_account")) == acct)
             or (not acct and name and key(c.get("payer_name")) == name))
    ]  # fmt: skip


def _reversals(
    lines: pd.DataFrame,
    live: pd.Series,
    ledger: Sequence[Mapping[str, Any]],
    results: list[LineResult | None],
) -> dict[int, tuple[str, int | None]]:
    """Decide every reversal line of the statement that takes money out (``RvslInd`` or
    ``RtrInf`` on a debit, a CSV line marked reversal with a negative amount). Its original is looked for among the credits of this statement and the ledger
    (:func:`_original_of`); exactly one must fit. An original in this statement is not applied
    (status ``reversed``); one in the ledger is undone by the reversal's ledger record. Returns
    {reversal position: (original line id, original position in this statement or None)}."""
    undoing = lines["reversal"] & live & lines["booked"] & (lines["credit_debit"] == "DBIT")
    if not undoing.any():
        return {}
    undone = reversed_lines(ledger)
    credit = (lines["credit_debit"] == "CRDT") & ~lines["reversal"] & lines["booked"]
    here = [{**lines.iloc[p].to_dict(), "_pos": int(p)} for p in np.flatnonzero(credit & live)]
    before = [
        {**r, "_pos": None} for r in ledger if r.get("payments") and str(r["line_id"]) not in undone
    ]
    pairs: dict[int, tuple[str, int | None]] = {}
    taken: set[str] = set()
    for p in np.flatnonzero(undoing):
        rev = lines.iloc[p]
        what = "return" if rev["return_reason"] else "reversal"
        why = f" (reason {rev['return_reason']})" if rev["return_reason"] else ""
        found = [c for c in _original_of(rev, here + before) if str(c["line_id"]) not in taken]
        if len(found) != 1:
            results[p] = LineResult(
                "skipped" if not found else "suggested",
                reason=f"{what}{why}: no applied credit of {rev['amount']:,.2f} found to undo"
                if not found
                else f"{what}{why}: {len(found)} credits fit ("
                + ", ".join(str(c["line_id"]) for c in found[:3])
                + "); decide which one it undoes",
            )
            continue
        orig = found[0]
        taken.add(str(orig["line_id"]))
        pairs[int(p)] = (str(orig["line_id"]), orig["_pos"])
        if orig["_pos"] is not None:
            results[orig["_pos"]] = LineResult(
                "reversed", reason=f"reversed by {rev['line_id']} in the same statement{why}"
            )
    return pairs


def _flag_reversed(lines, results, pairs, ledger, book, settings) -> None:
    """Results of the reversal lines: the invoices their originals paid (the ledger's payments,
    or what the original would have paid now) are open again and flagged."""
    by_line = {str(r["line_id"]): r for r in ledger}
    for p, (orig_id, orig_pos) in pairs.items():
        rev = lines.iloc[p]
        why = f" (reason {rev['return_reason']})" if rev["return_reason"] else ""
        what = "returned direct debit / return" if rev["return_reason"] else "reversal"
        if orig_pos is None:
            invoices = sorted(
                {str(x["invoice_id"]) for x in by_line[orig_id]["payments"] if x.get("invoice_id")}
            )
            cust = by_line[orig_id].get("customer_id")
        else:
            from arinsight.cashapp.matching import match_line, name_scores

            row = lines.iloc[orig_pos]
            scores = name_scores([row["payer_name"]], book)[0]
            would = match_line(row, book, scores, settings)
            invoices = [book.ids[i] for i, _ in would.allocations]
            cust = would.customer_id
            if invoices:
                results[orig_pos].reason += f"; it would have paid {', '.join(invoices)}"
        res = LineResult(
            "reversal",
            customer_id=cust,
            reason=f"{what}{why} of {orig_id}: its payment is undone"
            + (f"; {', '.join(invoices)} open again, flagged for follow-up" if invoices else ""),
        )
        res.reverses, res.flagged = orig_id, invoices
        results[p] = res


def ledger_records(
    run: MatchRun, lines: pd.DataFrame, statement_file: str = "", statement_sha256: str = ""
) -> list[dict[str, Any]]:
    """One ledger record per statement line applied, reversed, rejected or decided in ``run``
    (in statement order): the line id (``<line id>@<decision>`` for a re-assignment), its content
    key, the statement, booking date, amount, currency, payer, customer, rule and payments; a
    reversal's ``reverses`` and ``flagged_invoices``; a decision's who, when and why."""
    records = []
    groups = dict(list(run.allocations.groupby("statement_line_id", sort=False)))
    results = run.results or [None] * len(lines)
    for (_, line), res in zip(lines.iterrows(), results, strict=True):
        if res is None or res.status in ("already_applied", "held"):
            continue
        rec_id = res.record_id or line["line_id"]
        if rec_id not in groups and not (
            res.status in ("reversal", "reversed", "rejected") or res.decision
        ):
            continue
        if res.decision and res.status not in ("matched", "rejected"):
            continue  # a decision that could not be carried out stays pending
        group = groups.get(rec_id, run.allocations.iloc[0:0])
        pays = group[PAYMENT_COLUMNS + ["currency"]].copy()
        pays["payment_date"] = pd.to_datetime(pays["payment_date"]).dt.strftime("%Y-%m-%d")
        rec: dict[str, Any] = {
            "line_id": rec_id,
            "line_key": line["line_key"],
            "end_to_end_id": line["end_to_end_id"],
            "bank_ref": line["bank_ref"],
            "payer_name": line["payer_name"],
            "statement_file": statement_file,
            "statement_sha256": statement_sha256,
            "booking_date": pd.Timestamp(line["booking_date"]).strftime("%Y-%m-%d"),
            "amount": float(line["amount"]),
            "currency": line["currency"],
            "payer_account": line["payer_account"],
            "customer_id": res.customer_id,
            "rule": res.rule or res.status,
            "payments": pays.astype(object).where(pays.notna(), None).to_dict(orient="records"),
        }
        short = run.deductions.loc[run.deductions["statement_line_id"] == rec_id]
        if len(short):
            rec["deductions"] = [
                {"invoice_id": r.invoice_id, "amount": float(r.amount), "currency": r.currency}
                for r in short.itertuples()
            ]
        if res.payers:
            rec["payer_ids"] = list(res.payers)
        if res.reverses:
            rec["reverses"] = res.reverses
        if res.status == "reversal":
            rec["return_reason"] = line["return_reason"]
            rec["flagged_invoices"] = list(res.flagged)
        if res.decision:
            rec["decision"] = dict(res.decision)
            rec["decision_id"] = res.decision["decision_id"]
        records.append(rec)
    return records


def _decision_text(decision: Mapping[str, Any] | None) -> str:
    if not decision:
        return ""
    note = f": {decision['note']}" if decision.get("note") else ""
    return f"{decision['action']} by {decision['decided_by']} at {decision['decided_at']}{note}"


def _apply_decisions(lines, seen, live, decisions, ledger, book, settings, results) -> None:
    """Carry out the pending decisions on this statement's lines (module
    :mod:`~arinsight.cashapp.decisions`), before the rules, so the invoices they pay are taken
    first. A line applied before is undone first (its record is reversed by the new one)."""
    from arinsight.cashapp.matching import (
        LineValue,
        allocate,
        identify_payer,
        match_line,
        name_scores,
        short_of,
    )

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
            current = [r for r in current if str(r["line_id"]) not in undone and r.get("payments")]
            if d.action == "accept" or not current:
                continue  # applied already: nothing to accept, nothing to undo
            for pay in current[-1]["payments"]:
                if pay.get("invoice_id") in row_of:
                    book.remaining[row_of[pay["invoice_id"]]] += round(float(pay["amount"]) * 100)
            reverses = str(current[-1]["line_id"])
            record_id = f"{line_id}@{d.decision_id[:8]}"
        text = _decision_text(decision)
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
            for i, cents in allocations:
                book.remaining[i] -= cents
        res.decision, res.reverses, res.record_id = decision, reverses, record_id
        results[pos] = res


def run_match(
    statement: str | Path,
    *,
    params_files: Sequence[str | os.PathLike[str]] = (),
    as_of: Any = None,
    out_dir: str | Path | None = None,
    processed_dir: str | Path | None = None,
    decisions_file: str | Path | None = None,
) -> MatchRun:
    """``arinsight match``: read, match, append the ledger and write the files (module docstring)."""
    from arinsight.ledger import load_processed

    params = config.load_params(params_files)
    section = params.get("cash_application") or {}
    if not isinstance(section, Mapping):
        raise ParamsError("cash_application must be a mapping")
    settings = MatchSettings.from_params(params)
    path = Path(statement)
    lines = read_statement(path, section.get("csv") or {}, settings.reporting_currency)
    folder = config.resolve_path(out_dir or section.get("out_dir") or DEFAULT_OUT_DIR)
    ledger_path = (
        config.resolve_path(section.get("ledger"))
        if section.get("ledger")
        else folder / LEDGER_FILE
    )
    from arinsight.cashapp.decisions import read_decisions

    decisions = read_decisions(
        decisions_file
        or (config.resolve_path(section["decisions"]) if section.get("decisions") else None)
        or folder / DECISIONS_FILE
    )
    tables = load_processed(processed_dir)
    if tables["invoices"].empty:
        raise UserError(
            f"no processed invoices in {processed_dir or config.PROCESSED_DIR}: run "
            "`arinsight run` (or `arinsight check`) first"
        )
    # one match at a time per ledger: a second one waits, then finds the lines already applied
    with command_lock(ledger_path.with_name(f".{ledger_path.name}.lock"), "match"):
        return _match_and_write(
            lines, tables, settings, as_of, path, folder, ledger_path, decisions
        )


def _match_and_write(
    lines, tables, settings, as_of, path, folder, ledger_path, decisions=None
) -> MatchRun:
    """Read the ledger, match, append the ledger and write the files (under the ledger's lock)."""
    ledger = read_ledger(ledger_path)
    run = match_statement(lines, tables, settings, as_of, ledger, decisions=decisions)

    new = ledger_records(run, lines, path.name, sha256_file(path))
    _append_ledger(ledger_path, new)
    stem = safe_slug(path.stem)  # a statement named from a bank's data: bounded, no separators
    folder.mkdir(parents=True, exist_ok=True)
    run.paths = {
        "worklist_csv": write_csv(run.worklist, folder / f"matching_worklist_{stem}.csv"),
        "worklist_xlsx": write_excel(folder / f"matching_worklist_{stem}.xlsx", _excel_sheets(run)),
        "payments": write_csv(
            _csv_dates(ledger_payments(read_ledger(ledger_path))), folder / APPLIED_FILE
        ),
        "deductions": write_csv(
            ledger_deductions(read_ledger(ledger_path), read_deductions(folder / DEDUCTIONS_FILE)),
            folder / DEDUCTIONS_FILE,
        ),
        "ledger": ledger_path,
    }
    return run


def _excel_sheets(run: MatchRun) -> dict[str, pd.DataFrame]:
    """The worklist's Excel sheets: ``lines``, and ``candidates`` and ``allocations`` with the
    line's booking date, payer and account on every row (a filtered sheet still says who paid)."""
    payer = run.worklist[["line_id", "booking_date", "payer_name", "payer_account"]]

    def with_payer(frame: pd.DataFrame, key: str) -> pd.DataFrame:
        line = frame[key].astype(str).str.split("@").str[0]  # a re-assignment: <line id>@<dec>
        out = frame.assign(_line=line).merge(
            payer.rename(columns={"line_id": "_line"}), on="_line", how="left"
        )
        first = [key, "booking_date", "payer_name", "payer_account"]
        return out[first + [c for c in frame.columns if c not in first]]

    return {
        "lines": run.worklist,
        "candidates": with_payer(run.candidates, "line_id"),
        "allocations": with_payer(run.allocations, "statement_line_id"),
    }


def _csv_dates(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["payment_date"] = pd.to_datetime(out["payment_date"]).dt.strftime("%Y-%m-%d")
    return out


def summary_text(run: MatchRun) -> str:
    """The command's report: lines per status, the share matched automatically, the files."""
    c = run.counts
    rate = run.auto_match_rate
    lines = [
        f"statement matched as of {run.as_of:%Y-%m-%d}: {len(run.worklist)} line(s): "
        + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in c.items() if n),
        "auto-matched: "
        + ("n/a (no credit line to match)" if rate is None else f"{rate:.1%} of the credit lines"),
    ]
    if len(run.allocations):
        lines.append(
            f"applied {run.allocations['amount'].sum():,.2f} in {len(run.allocations)} payment(s)"
        )
    lines += [f"{k}: {v}" for k, v in run.paths.items()]
    return "\n".join(lines)
