"""What the rules see of one credit line (:class:`LineContext`) and what they decide
(:class:`LineResult`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from arinsight.cashapp.amounts import LineValue
    from arinsight.cashapp.book import InvoiceBook
    from arinsight.cashapp.settings import MatchSettings


@dataclass
class LineResult:
    """What the rules decided for one line (amounts in cents of the invoices' currency)."""

    status: str
    rule: str = ""
    confidence: float | None = None
    customer_id: str | None = None
    allocations: list[tuple[int, int]] = field(default_factory=list)  # (invoice row, cents)
    unapplied: int = 0
    fx_difference: int = 0
    discount: int = 0  # cents of an early-payment discount the customer took (invoices settled)
    currency: str = ""
    candidates: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    reverses: str = ""  # the ledger line id this line undoes (a reversal, a re-assignment)
    flagged: list[str] = field(default_factory=list)  # invoices open again, to follow up
    record_id: str = ""  # the ledger line id when it is not the line's (a re-assignment)
    decision: dict[str, Any] | None = None  # the person's decision applied to the line
    #: (invoice row, cents) still open on an invoice this line paid short: a deduction, whose
    #: reason a person assigns (docs/collections.md, "Short payments become deductions")
    short: list[tuple[int, int]] = field(default_factory=list)
    #: the customers the payer was identified as (by id, account or name; several when the
    #: name fits several): a line paid for *another* customer teaches no account
    payers: list[str] = field(default_factory=list)
    #: the account a posting rule posted the line to (status ``posted``, not on account)
    gl_account: str = ""


@dataclass
class LineContext:
    """One credit line as the rules see it: its text, references, amount and payer."""

    row: Mapping[str, Any]
    text: str
    strong: list[int]
    weak: list[int]
    book: InvoiceBook
    scores: np.ndarray
    settings: MatchSettings
    line: LineValue
    payers: list[str]
    payer_conf: float

    @property
    def payer(self) -> str | None:
        return self.payers[0] if len(self.payers) == 1 else None

    def name(self, cust: str | None) -> str:
        return f"{cust} ({self.book.names.get(cust, '')})" if cust else ""

    def contradicts(self, cust: str) -> bool:
        """The payer is someone else than ``cust``: identified (or ambiguous) without it, or a
        written name that scores below ``name_contradiction`` against its name."""
        if self.payers:
            return cust not in self.payers
        if not str(self.row.get("payer_name") or "").strip() or not len(self.scores):
            return False
        k = self.book.cust_index.get(cust)
        return k is not None and float(self.scores[k]) < self.settings.name_contradiction
