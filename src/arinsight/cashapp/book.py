"""The open invoices a statement can pay, indexed for the rules (:class:`InvoiceBook`), and the
invoice numbers written in a line's text (:func:`reference_tokens`)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from arinsight.cashapp.names import name_core, norm
from arinsight.errors import ParamsError

_SEP_DIGITS = re.compile(r"(?<=\d)[ \t\-./_]+(?=\d)")
_SEP_PREFIX = re.compile(r"(?<=[A-Z])[ \t\-./_#:]+(?=\d)")
_FILLER = re.compile(r"(?<=[A-Z])[ .]*\b(?:NO|NR|NUM|NBR|NUMBER)\b[ .:#]*(?=\d)")
_TOKEN = re.compile(r"([A-Z]*)(\d+)")
_ID_SHAPE = re.compile(r"^([A-Z]*)(\d+)$")


def _cents(frame: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` of ``frame`` in cents (zeros when the frame has no such column)."""
    if column not in frame:
        return np.zeros(len(frame), dtype=np.int64)
    return np.round(frame[column].fillna(0).astype(float).to_numpy() * 100).astype(np.int64)


def reference_tokens(text: str) -> set[tuple[str, str]]:
    """(prefix letters, digits) pairs written in ``text``, read twice: as written (separators
    between letters and digits dropped) and with separators inside numbers dropped too. Filler
    words between a prefix and its number (``INV No. 42``, ``Nr``, ``#``) are dropped first."""
    upper = _FILLER.sub(" ", str(text or "").upper())
    plain = _SEP_PREFIX.sub("", upper)
    joined = _SEP_PREFIX.sub("", _SEP_DIGITS.sub("", upper))
    return {(m[1], m[2]) for t in (plain, joined) for m in _TOKEN.finditer(t)}


class InvoiceBook:
    """The invoices a statement can pay, indexed for the rules (built once per run).

    ``book`` has invoice_id, customer_id, due_date, currency and ``open_amount`` (what is still
    receivable, after the ledger's earlier applications); every invoice dated up to the
    statement date is given, paid ones too (a reference to a paid invoice is reported).
    Optional, for telling a duplicate payment of a paid invoice
    (:func:`~arinsight.cashapp.posting.post_duplicate`): ``amount`` (the invoice's),
    ``paid_cash`` (payments to it, early-payment discounts left out), ``paid_on`` (the date it
    was settled), ``paid_last`` (the cash paid to it that day: the payment that settled it),
    ``paid_by_line`` (settled by a statement line of the ledger) and ``written_off``; without
    them no line is taken for a duplicate payment.
    """

    def __init__(self, book: pd.DataFrame, customers: pd.DataFrame):
        need = ["invoice_id", "customer_id", "due_date", "currency", "open_amount"]
        missing = [c for c in need if c not in book.columns]
        if missing:
            raise ParamsError(f"invoice book: missing column(s) {', '.join(missing)}")
        b = book.sort_values(["due_date", "invoice_id"], kind="mergesort").reset_index(drop=True)
        self.ids = b["invoice_id"].astype(str).to_numpy()
        self.customer = b["customer_id"].astype(str).to_numpy()
        self.currency = b["currency"].fillna("").astype(str).str.upper().to_numpy()
        self.due = pd.to_datetime(b["due_date"]).to_numpy()
        issued = b["invoice_date"] if "invoice_date" in b else pd.Series(pd.NaT, index=b.index)
        self.issued = pd.to_datetime(issued).to_numpy(dtype="datetime64[ns]")
        self.remaining = _cents(b, "open_amount")
        self.amount = _cents(b, "amount")
        self.paid = _cents(b, "paid_cash")
        self.paid_last = _cents(b, "paid_last")
        paid_on = b["paid_on"] if "paid_on" in b else pd.Series(pd.NaT, index=b.index)
        self.paid_on = pd.to_datetime(paid_on).to_numpy(dtype="datetime64[ns]", copy=True)
        by_line = b["paid_by_line"] if "paid_by_line" in b else pd.Series(False, index=b.index)
        self.paid_by_line = by_line.fillna(False).to_numpy(dtype=bool, copy=True)
        self.written_off = _cents(b, "written_off") > 0
        self.by_customer: dict[str, np.ndarray] = {
            c: idx.to_numpy() for c, idx in pd.Series(np.arange(len(b))).groupby(self.customer)
        }
        self.by_core: dict[str, list[int]] = {}
        self.shape: list[tuple[str, str] | None] = []
        self.other: dict[str, int] = {}
        for i, raw in enumerate(self.ids):
            m = _ID_SHAPE.match(norm(raw))
            self.shape.append((m[1], m[2]) if m else None)
            if m:
                self.by_core.setdefault(m[2].lstrip("0") or "0", []).append(i)
            elif norm(raw):
                self.other[norm(raw)] = i
        cust = customers.drop_duplicates("customer_id")
        self.names = dict(
            zip(
                cust["customer_id"].astype(str),
                cust.get("customer_name", cust["customer_id"]).fillna(""),
                strict=True,
            )
        )
        self.cust_ids = list(self.names)
        self.cust_index = {c: k for k, c in enumerate(self.cust_ids)}
        self.cores = [name_core(self.names[c]) for c in self.cust_ids]
        self.fulls = [name_core(self.names[c], keep_legal=True) for c in self.cust_ids]
        self.id_tokens = {
            norm(c): c
            for c in self.cust_ids
            if re.search(r"[A-Z]", norm(c)) and re.search(r"\d", c)
        }

    def take(self, allocations: list[tuple[int, int]], day: Any, discount: int = 0) -> None:
        """A statement line pays ``allocations`` ((row, cents), of which ``discount`` cents are an
        early-payment discount, split in proportion): lower the open amounts, add the cash to
        what was paid, and note ``day`` as the date an invoice was settled when it is now (and
        the cash of this payment as the one that settled it)."""
        total = sum(c for _, c in allocations) or 1
        when = np.datetime64(pd.Timestamp(day), "ns")
        for i, cents in allocations:
            was_open = self.remaining[i] > 0
            cash = cents - round(discount * cents / total)
            self.remaining[i] -= min(cents, int(self.remaining[i]))
            self.paid[i] += cash
            if was_open and self.remaining[i] <= 0:
                self.paid_on[i], self.paid_by_line[i], self.paid_last[i] = when, True, cash

    def give_back(self, i: int, cents: int) -> None:
        """A payment of ``cents`` to row ``i`` undone (a decision re-assigning its line)."""
        self.remaining[i] += cents
        self.paid[i] = max(0, int(self.paid[i]) - cents)

    def references(self, text: str) -> tuple[list[int], list[int]]:
        """Invoice rows referred to in ``text``: (strong, weak), each in book order."""
        strong, weak = set(), set()
        for prefix, digits in reference_tokens(text):
            for i in self.by_core.get(digits.lstrip("0") or "0", []):
                p, d = self.shape[i]
                written = digits == d or not digits.startswith("0")  # not cut short
                if (p and prefix.endswith(p) and written) or (
                    digits == d and (len(d) >= 5 or not p)
                ):
                    strong.add(i)
                else:
                    weak.add(i)
        if self.other:
            flat = norm(text)
            strong |= {i for key, i in self.other.items() if key in flat}
        return sorted(strong), sorted(weak - strong)

    def customer_in_text(self, text: str) -> str | None:
        """A customer id written in the text (``C_55``, ``c-55``), when exactly one is."""
        upper = _SEP_PREFIX.sub("", str(text or "").upper())
        found = {self.id_tokens[p + d] for p, d in _TOKEN.findall(upper) if p + d in self.id_tokens}
        return found.pop() if len(found) == 1 else None
