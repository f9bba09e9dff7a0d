"""Reversals and returns: the credit a reversal or a return undoes, in the same statement
(not applied: ``reversed``) or in the ledger (undone: ``reversal``), and the invoices open
again, flagged for follow-up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from arinsight.cashapp.ledger import reversed_lines
from arinsight.cashapp.lines import squash
from arinsight.cashapp.result import LineResult


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


def find_reversals(
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
        {**r, "_pos": None}
        for r in ledger
        if (r.get("payments") or r.get("gl_postings")) and str(r["line_id"]) not in undone
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


def flag_reversed(lines, results, pairs, ledger, book, settings) -> None:
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
            from arinsight.cashapp.matching import match_line
            from arinsight.cashapp.names import name_scores

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
