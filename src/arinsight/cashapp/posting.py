"""Posting rules: credit lines that pay no invoice, handled without a person.

A bank statement carries money that is not a customer paying an invoice: the bank's interest,
a tax refund, charges the bank gives back, a transfer from the company's own cash pool, a
customer paying in advance ("on account"). A cash-application tool posts these by **rules**, a
table the user edits (``cash_application.posting_rules`` in the params); each rule has a
``name`` (the line's ``rule`` in the worklist and the ledger) and

* what it looks at: ``bank_codes`` (the bank transaction code: camt ``BkTxCd`` as
  ``DOMAIN/FAMILY/SUBFAMILY`` or its proprietary code, MT940's transaction type and GVC, BAI2's
  type code; shell patterns, ``*/*/INTR``), ``text`` (regular expressions searched in the
  remittance text and references, any case) and ``payer`` (regular expressions searched in the
  payer's name, any case); ``match: all`` (default: a line fits when it fits one pattern of every
  list given) or ``match: any`` (one pattern of any list is enough);
* what it does: ``post_to: <GL account or name>`` (the line goes to that account:
  ``gl_postings.csv``) or ``on_account: true`` (the line is unapplied cash of the identified
  customer: a payment without invoice in ``applied_payments.csv``; the rule does not fit when
  the payer is not identified as exactly one customer).

The rules are looked at only for a credit line **no invoice match took** (``suggested`` or
``unmatched``) and whose text has no strong reference to any invoice (open or paid: a line
naming an invoice is about that invoice, whatever else it says); an ``on_account`` rule also
leaves alone a line with a weak reference to one of the customer's open invoices. The first
rule that fits wins; the line's status is ``posted``.

A line that names a **paid** invoice is looked at by one built-in step instead,
:func:`post_duplicate` (``duplicate_payment``, ``cash_application.duplicate_payments``, on by
default): the customer paying an invoice a second time. Its money is the customer's, on
account, flagged for a person to refund or apply.

:data:`DEFAULT_POSTING_RULES` are written from how banks describe these lines (the sources are
in docs/collections.md, "Posting rules"); a params file with ``posting_rules`` replaces them
(``posting_rules: []`` turns posting off).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import numpy as np
import pandas as pd

from arinsight.cashapp.result import LineContext, LineResult
from arinsight.errors import ParamsError


@dataclass(frozen=True)
class PostingRule:
    """One row of the posting-rule table (module docstring)."""

    name: str
    post_to: str = ""
    on_account: bool = False
    bank_codes: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    payer: tuple[str, ...] = ()
    match: str = "all"

    def fits(self, bank_code: str, text: str, payer: str) -> str:
        """What made the line fit (``bank code ACMT/MCOP/INTR``, ``text 'ZINSEN'``), or ""."""
        found: list[str] = []
        codes = [c.strip().upper() for c in str(bank_code or "").split(";") if c.strip()]
        tests = (
            ("bank code", self.bank_codes, lambda p: next(
                (c for c in codes if fnmatchcase(c, p.upper())), None)),
            ("text", self.text, lambda p: _search(p, text)),
            ("payer", self.payer, lambda p: _search(p, payer)),
        )  # fmt: skip
        for what, patterns, hit in tests:
            if not patterns:
                continue
            got = next((h for h in map(hit, patterns) if h), None)
            if got:
                found.append(f"{what} {got!r}")
            elif self.match == "all":
                return ""
        return ", ".join(found)


def _search(pattern: str, text: str) -> str | None:
    m = re.search(pattern, str(text or ""), flags=re.IGNORECASE)
    return m[0] if m else None


#: The rules that ship (docs/collections.md, "Posting rules", says where each pattern is from).
DEFAULT_POSTING_RULES: tuple[PostingRule, ...] = (
    PostingRule(
        "bank_interest",
        post_to="Interest income",
        bank_codes=("*/*/INTR", "NINT", "354"),
        text=(
            r"\bCREDIT INTEREST\b",
            r"\bINTEREST (?:CREDIT|PAID|PAYMENT|EARNED)\b",
            r"^\s*INTEREST\b",
            r"\bHABENZINS",
            r"\bZINSGUTSCHRIFT",
            r"^\s*ZINSEN\b",
            r"\bINTERETS CREDITEURS\b",
        ),
        match="any",
    ),
    PostingRule(
        "tax_refund",
        post_to="Tax receivable",
        text=(
            r"\bTAX REF(?:UND)?\b",
            r"\bVAT (?:REFUND|REPAYMENT)\b",
            r"\bSTEUERERSTATTUNG",
            r"\bERSTATTUNG (?:UMSATZ|EINKOMMEN|KOERPERSCHAFT|KÖRPERSCHAFT)?STEUER",
            r"\bUST[- ]?ERSTATTUNG",
            r"\bREMBOURSEMENT (?:DE )?(?:TVA|CREDIT DE TVA|IMPOT)",
        ),
        payer=(
            r"\bIRS TREAS\b",
            r"\bFINANZAMT\b",
            r"\bHMRC\b",
            r"\bTAX OFFICE\b",
            r"\bDEPARTMENT OF REVENUE\b",
            r"\bFRANCHISE TAX BOARD\b",
            r"\bDGFIP\b",
        ),
        match="any",
    ),
    PostingRule(
        "bank_fee_refund",
        post_to="Bank charges",
        bank_codes=("*/*/CHRG", "*/*/FEES", "*/*/COMM", "NCHG"),
        text=(
            r"\bREFUND OF (?:BANK )?(?:CHARGES|FEES?)\b",
            r"\b(?:BANK )?(?:FEE|CHARGES?) (?:REFUND|REVERSAL|REBATE)\b",
            r"\bGEBUEHRENERSTATTUNG|\bGEBÜHRENERSTATTUNG|\bENTGELTERSTATTUNG",
            r"\bERSTATTUNG (?:GEBUEHR|GEBÜHR|ENTGELT)",
        ),
        match="any",
    ),
    PostingRule(
        "cash_pool",
        post_to="Cash pool (intercompany)",
        bank_codes=("CAMT/ACCB/*",),
        text=(r"\bCASH[- ]?POOL", r"\bCASH CONCENTRATION\b", r"\bZERO[- ]BALANCING\b"),
        match="any",
    ),
    PostingRule(
        "insurance_claim",
        post_to="Insurance claims receivable",
        text=(
            r"\bCLAIM (?:NO|NR|NUMBER|REF|SETTLEMENT|PAYMENT)\b",
            r"\bSCHADENS?(?:NR|NUMMER|FALL|ZAHLUNG|REGULIERUNG)?\b",
            r"\bSCHADE\b",
            r"\bSINISTRE\b",
            r"\bSINISTRO\b",
            r"\bINDEMNIT(?:Y|E|É)\b",
            r"\bINDENNIZZO\b",
        ),
        payer=(
            r"INSURANCE\b",
            r"\bASSURANCES?\b",
            r"VERSICHERUNG",
            r"\bASSICURAZIONI\b",
            r"VERZEKERING",
            r"\bSEGUROS?\b",
        ),
    ),
    PostingRule(
        "payment_on_account",
        on_account=True,
        text=(
            r"\bON ACCOUNT\b",
            r"\bPAYMENT ON ACC(?:OUN)?T\b",
            r"\bADVANCE PAYMENT\b",
            r"\bPRE-?PAYMENT\b",
            r"\bDOWN ?PAYMENT\b",
            r"\bDEPOSIT\b",
            r"\bANZAHLUNG\b",
            r"\bVORAUSZAHLUNG\b",
            r"\bA[ -]?CONTO\b",
            r"\bAKONTO",
            r"\bACOMPTE\b",
        ),
    ),
)

_KEYS = {"name", "post_to", "on_account", "bank_codes", "text", "payer", "match", "description"}


def posting_rules_from_params(raw: Any) -> tuple[PostingRule, ...]:
    """``cash_application.posting_rules`` as rules, checked: every problem names the rule (its
    position and name) and the key."""
    if raw is None:
        return DEFAULT_POSTING_RULES
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise ParamsError(f"cash_application.posting_rules must be a list of rules, got {raw!r}")
    rules, names = [], set()
    for k, item in enumerate(raw, start=1):
        where = f"cash_application.posting_rules[{k}]"
        if not isinstance(item, Mapping):
            raise ParamsError(f"{where} must be a mapping (name, post_to or on_account, ...)")
        name = str(item.get("name") or "").strip()
        where += f" ({name})" if name else ""
        if unknown := sorted(set(item) - _KEYS):
            raise ParamsError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
        if not name or name in names:
            raise ParamsError(f"{where}: every rule needs a name of its own")
        names.add(name)
        lists = {}
        for key in ("bank_codes", "text", "payer"):
            value = item.get(key) or []
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
                raise ParamsError(f"{where}.{key} must be a list of patterns, got {value!r}")
            for pattern in value if key != "bank_codes" else ():
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ParamsError(
                        f"{where}.{key}: {pattern!r} is not a regex ({exc})"
                    ) from None
            lists[key] = tuple(value)
        if not any(lists.values()):
            raise ParamsError(f"{where}: give bank_codes, text or payer to match")
        post_to = str(item.get("post_to") or "").strip()
        on_account = item.get("on_account") is True
        if bool(post_to) == on_account:
            raise ParamsError(f"{where}: give either post_to: <account> or on_account: true")
        match = str(item.get("match") or "all").lower()
        if match not in ("all", "any"):
            raise ParamsError(f"{where}.match must be all or any, got {item.get('match')!r}")
        rules.append(PostingRule(name, post_to, on_account, match=match, **lists))
    return tuple(rules)


def first_fitting(
    rules: Sequence[PostingRule], row: Mapping[str, Any], text: str
) -> tuple[PostingRule, str] | None:
    """The first rule ``row`` fits (with what made it fit), or None."""
    for rule in rules:
        why = rule.fits(str(row.get("bank_code") or ""), text, str(row.get("payer_name") or ""))
        if why:
            return rule, why
    return None


def post_line(ctx: LineContext, res: LineResult) -> LineResult | None:
    """The posting of a line no invoice match took (``res`` suggested or unmatched), by the
    first rule of ``ctx.settings.posting_rules`` it fits (module docstring), or None."""
    if res.status not in ("suggested", "unmatched"):
        return None
    if ctx.strong:  # about the invoice it names: at most a second payment of it
        return post_duplicate(ctx)
    rules = ctx.settings.posting_rules
    for rule in rules:
        found = first_fitting([rule], ctx.row, ctx.text)
        if found is None:
            continue
        why = found[1]
        cents = round(float(ctx.row["amount"]) * 100)
        ccy = ctx.line.currency
        if not rule.on_account:
            return LineResult(
                "posted",
                rule.name,
                1.0,
                currency=ccy,
                gl_account=rule.post_to,
                reason=f"posting rule {rule.name} ({why}): to {rule.post_to}, no invoice",
            )
        payer = ctx.payer
        if payer is None:
            continue  # on account needs the customer: another rule may still fit
        book = ctx.book
        if any(book.customer[i] == payer and book.remaining[i] > 0 for i in ctx.weak):
            continue  # the text may name one of the customer's open invoices
        return LineResult(
            "posted",
            rule.name,
            round(ctx.payer_conf, 4),
            customer_id=payer,
            currency=ccy,
            unapplied=cents,
            reason=f"posting rule {rule.name} ({why}): on account of {ctx.name(payer)}, "
            "unapplied cash, no invoice",
        )
    return None


#: The rule name of a second payment of a paid invoice posted on account (:func:`post_duplicate`).
DUPLICATE_RULE = "duplicate_payment"


def post_duplicate(ctx: LineContext) -> LineResult | None:
    """A customer paying an invoice a second time: the line is posted **on account** of the
    invoice's customer (unapplied cash, ``duplicate_payment``), the invoice flagged and the
    reason ``duplicate payment of INV-..., already paid on <date>: refund or apply``, so a
    person decides between a refund and keeping it, and no credit balance appears on the
    invoice. Only when nothing else can be meant (else None: the line stays as the matching
    left it):

    * the text names exactly one invoice with a strong reference, and no open invoice of its
      customer even weakly;
    * that invoice was issued and settled (open 0, paid by payments, not written off) on or
      before the line's booking date; settled that very day only by another statement line (a
      payment of the processed data dated that day may be this line, booked by the ERP);
    * the payer does not contradict its customer (not identified as others, the written name
      not below ``name_contradiction`` against it);
    * the amount is the invoice's amount, the cash paid for it, or the payment that settled it
      (the transfer sent again; within the line's tolerance: to the cent, or ``fx_tolerance``
      through a conversion), and no open invoice of the customer has it (then it may pay that
      one: a person decides).
    """
    book = ctx.book
    if not ctx.settings.duplicate_payments or len(ctx.strong) != 1:
        return None
    i = ctx.strong[0]
    day = np.datetime64(pd.Timestamp(ctx.row["booking_date"]), "ns")
    paid_on = book.paid_on[i]
    settled = (
        book.remaining[i] <= 0
        and book.paid[i] > 0
        and not book.written_off[i]
        and not np.isnat(paid_on)
        and (paid_on < day or (paid_on == day and book.paid_by_line[i]))
        and not book.issued[i] > day
    )
    cust = book.customer[i]
    if not settled or ctx.contradicts(cust):
        return None
    if any(book.customer[w] == cust and book.remaining[w] > 0 for w in ctx.weak):
        return None
    v = ctx.line.value(book.currency[i])
    if v is None:
        return None
    cents, tol, _ = v
    paid = (book.amount[i], book.paid[i], book.paid_last[i])
    if not any(x > 0 and abs(cents - int(x)) <= tol for x in paid):
        return None
    own = [j for j in book.by_customer.get(cust, []) if book.remaining[j] > 0]
    if any(book.currency[j] == book.currency[i] and abs(int(book.remaining[j]) - cents) <= tol
           for j in own):  # fmt: skip
        return None
    when = pd.Timestamp(paid_on)
    return LineResult(
        "posted",
        DUPLICATE_RULE,
        round(ctx.payer_conf, 4) if ctx.payer == cust else 0.9,
        customer_id=cust,
        currency=ctx.line.currency,
        unapplied=round(float(ctx.row["amount"]) * 100),
        flagged=[book.ids[i]],
        reason=f"duplicate payment of {book.ids[i]}, already paid on {when:%Y-%m-%d}: refund or "
        f"apply; on account of {ctx.name(cust)}, unapplied cash",
    )
