"""The open invoices a statement can pay, indexed for the rules (:class:`InvoiceBook`), and the
invoice numbers written in a line's text (:func:`reference_tokens`)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from arinsight.cashapp.names import name_core, norm
from arinsight.errors import ParamsError

_SEP_DIGITS = re.compile(r"(?<=\d)[ \t\-./_]+(?=\d)")
_SEP_PREFIX = re.compile(r"(?<=[A-Z])[ \t\-./_#:]+(?=\d)")
_FILLER = re.compile(r"(?<=[A-Z])[ .]*\b(?:NO|NR|NUM|NBR|NUMBER)\b[ .:#]*(?=\d)")
_TOKEN = re.compile(r"([A-Z]*)(\d+)")
_ID_SHAPE = re.compile(r"^([A-Z]*)(\d+)$")


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
        self.remaining = np.round(b["open_amount"].astype(float).to_numpy() * 100).astype(np.int64)
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
