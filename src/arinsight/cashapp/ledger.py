"""The cash-application ledger (``cash_ledger.jsonl``): one JSON record per statement line
applied, reversed, rejected or decided, only appended to; and what is read from it: the
payments applied so far (``applied_payments.csv``), the short payments (``deductions.csv``),
the lines undone and the payers learned."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from arinsight.cashapp.lines import squash
from arinsight.errors import UserError

if TYPE_CHECKING:
    from arinsight.cashapp.apply import MatchRun

PAYMENT_COLUMNS = ["payment_id", "invoice_id", "customer_id", "payment_date", "amount", "method"]
#: Columns of applied_payments.csv: the canonical payments columns, then where each came from.
APPLIED_COLUMNS = [*PAYMENT_COLUMNS, "currency", "statement_line_id", "rule"]
#: Columns of deductions.csv: the canonical ``disputes`` columns, then the currency of the
#: amount (its invoice's) and the statement line that paid short.
DEDUCTION_COLUMNS = ["dispute_id", "invoice_id", "customer_id", "amount", "reason", "opened_date",
                     "resolved_date", "outcome", "currency", "statement_line_id"]  # fmt: skip
#: The columns of deductions.csv a person fills in; kept when the file is written again.
DEDUCTION_EDITS = ("reason", "resolved_date", "outcome")


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


#: Columns of gl_postings.csv: the lines a posting rule posted to an account (not to a customer).
GL_POSTING_COLUMNS = ["posting_id", "booking_date", "account", "amount", "currency", "rule",
                      "statement_line_id", "payer_name", "bank_ref"]  # fmt: skip


def ledger_gl_postings(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Every line a posting rule posted to an account (``post_to``), from the ledger
    (:data:`GL_POSTING_COLUMNS`, by posting id ``GL-<line id>``); lines undone since (a decision
    that rejected or re-assigned them, a return) are left out."""
    undone = reversed_lines(records)
    rows = [
        {
            "posting_id": f"GL-{rec['line_id']}",
            "booking_date": rec["booking_date"],
            "account": g["account"],
            "amount": float(g["amount"]),
            "currency": g.get("currency"),
            "rule": rec.get("rule", ""),
            "statement_line_id": rec["line_id"],
            "payer_name": rec.get("payer_name", ""),
            "bank_ref": rec.get("bank_ref", ""),
        }
        for rec in records
        if str(rec["line_id"]) not in undone
        for g in rec.get("gl_postings") or ()
    ]
    out = pd.DataFrame(rows, columns=GL_POSTING_COLUMNS)
    return out.sort_values("posting_id", kind="mergesort").reset_index(drop=True)


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
    from arinsight.cashapp.names import name_core

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


def append_ledger(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, sort_keys=True, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


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
            res.status in ("reversal", "reversed", "rejected", "posted") or res.decision
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
        if res.gl_account:
            rec["gl_postings"] = [
                {
                    "account": res.gl_account,
                    "amount": float(line["amount"]),
                    "currency": line["currency"],
                }
            ]
        if res.status == "reversal":
            rec["return_reason"] = line["return_reason"]
        if res.status == "reversal" or res.flagged:  # open again; paid before (a duplicate)
            rec["flagged_invoices"] = list(res.flagged)
        if res.decision:
            rec["decision"] = dict(res.decision)
            rec["decision_id"] = res.decision["decision_id"]
        records.append(rec)
    return records
