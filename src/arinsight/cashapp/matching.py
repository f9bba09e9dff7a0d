"""Matching statement lines to open invoices: the rules, their order and their confidence.

Every credit line ends in one of three states:

* ``matched`` - applied automatically; ``rule`` names the rule and ``allocations`` the invoices
  and amounts;
* ``suggested`` - a person decides; ``candidates`` are ranked with a ``confidence`` (0-1);
* ``unmatched`` - ``reason`` says why nothing fits.

Debit lines, reversals and entries not yet booked are ``skipped``. Lines are taken in booking
order (within a day, the lines whose text names an open invoice first, then by line id) and
every match lowers the open amount the next lines see, so two lines never settle the same euro
twice; a line only sees the invoices issued on or before its booking date.

**References.** Invoice numbers are searched in the remittance text, the structured references
and the end-to-end id, also when mangled: case, spaces or separators inside the number
(``INV-000 0042``), a missing prefix (``0000042``) and missing leading zeros (``INV 42``). An
invoice id is read as *prefix letters + digits* (``INV-0000042`` -> ``INV`` + ``0000042``); a
number in the text refers to it when its digits without leading zeros are the same. The
reference is **strong** when the prefix is written too (``inv42``) or the digits are written
with all their zeros (``0000042``, at least 5 digits), else **weak** (``42`` alone could be
anything: a day, a customer number).

**Payer.** Who paid is found, in this order, from a customer id written in the text (``C_55``),
an account that paid one customer's invoices before (learned from the ledger of earlier runs), or
the payer's name: rapidfuzz's ``token_sort_ratio`` (and plain ``ratio`` of the names without
spaces, for ``BLUEFOODS``) between the payer name and every customer name, both without legal
forms (Ltd, Inc, GmbH, ...). A customer is identified when the best score is at least
``name_threshold`` and no other customer is within ``name_margin`` points (the legal form breaks
ties); otherwise the names are *ambiguous* and only an exact amount can decide
(:mod:`~arinsight.cashapp.names`).

**Rules** (the first that applies):

1. ``reference`` / ``reference_multi``: strong references to open invoices of one customer whose
   open amounts add up to the line amount. ``reference_partial``: the line pays less (allocated
   oldest due date first). ``reference_overpaid``: it pays more, by at most ``overpay_tolerance``
   of the open amount (the excess stays on the invoice as a credit balance; with several
   invoices it is unapplied cash of the customer); more than that is suggested, naming the
   other invoices the text mentions. **Precision first**: when the identified payer is another
   customer, or the amount differs and the payer name scores below ``name_contradiction``
   against the referenced customer, the reference is only suggested,
   unless exactly one of the payer's invoices with the exact amount is one typing slip from the
   number written (``reference_corrected``), or the line pays the referenced invoices' open
   amount to the cent and nothing of the payer's own fits it (``reference_third_party``: a
   sister or parent company paying). Rules 1 and 2 live in :mod:`~arinsight.cashapp.references`.
2. ``reference_weak``: weak references, confirmed by the payer (the referenced invoice belongs
   to the identified payer, or the name, not identified, comes close to its customer only) or
   by the amount (the open amounts add up exactly); amount cases as in rule 1 when the payer
   confirms, exact amounts only otherwise. Beyond the cap, an identified payer's line that names
   nothing else and whose excess no other open invoice or set of the customer has settles the
   invoices and leaves the excess on account (``reference_excess_on_account``).
3. ``amount_payer``: the identified payer has exactly one open invoice with the line's amount
   (or, when the name is ambiguous, exactly one of the candidate customers has exactly one).
4. ``sum_payer``: one payment for several invoices: exactly one set of 2 to ``max_subset_size``
   of the payer's open invoices adds up to the amount. The search is bounded: the oldest
   ``max_candidates`` open invoices of the payer, at most ``search_budget`` steps of a
   depth-first search over amounts sorted ascending (a branch stops as soon as its sum exceeds
   the amount or can no longer reach it). Two or more sets, or a search that hits its budget,
   give suggestions instead.
   4b. ``sole_invoice_partial`` / ``sole_invoice_overpaid``: no invoice or set has the amount,
   the text names no invoice and no posting rule fits it, and the identified payer owes exactly
   one open invoice: the line pays it in part, or over by at most ``overpay_tolerance``
   (:func:`_sole_open_invoice`).
5. Otherwise suggestions: several invoices with the same amount, a partial payment without a
   reference (the payer's open invoices ranked by reference evidence, then by closeness of the
   amount, not by age), the same amount at another customer when the payer is unknown
   (confidence at most 0.5), except the only open invoice of the book with the amount when it
   is one slip from a paid invoice the text names (``reference_corrected``,
   :func:`_unique_amount_one_slip`) or when the name comes close to its customer
   (``amount_name_close``). Nothing fits: ``unmatched`` with the reason, which says what the
   text referred to (never "no invoice reference" when it had one).

Bank-shortened payer names (``IRON SYS INC``, ``PIONR GRD LLC``, a name cut at 16 characters)
are scored by :mod:`~arinsight.cashapp.names` beside rapidfuzz.

**Currencies.** A line is compared in each invoice's currency: the instructed amount when it is
in that currency, else the booked amount when it is, else the booked amount converted with
``fx_rates`` (1 unit = rate x reporting currency) and compared within ``fx_tolerance`` (a share
of the amount; banks convert at their own rate). Rules that matched through a conversion end in
``fx_rule``; the invoices are settled with their open amounts and the difference is reported as
``fx_difference``.

**Confidence** of a match: 1.0 for a strong reference with the exact amount, 0.95 for a partial
or confirmed weak reference, 0.9 for an overpayment; the payer's identification (1.0 by id or
account, name score / 100) for amount rules, x 0.95 for a sum; x 0.95 again through a conversion.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from arinsight.cashapp.amounts import LineValue, candidate, exact_and_sums, settle, short_of
from arinsight.cashapp.book import InvoiceBook
from arinsight.cashapp.names import identify_payer, name_core, name_scores, norm
from arinsight.cashapp.posting import first_fitting, post_line
from arinsight.cashapp.references import (
    closed_note,
    one_slip,
    ref_note,
    rule_strong,
    rule_weak,
)
from arinsight.cashapp.result import LineContext, LineResult
from arinsight.cashapp.settings import MatchSettings


def match_line(
    row: Mapping[str, Any],
    book: InvoiceBook,
    scores: np.ndarray,
    settings: MatchSettings,
    known_accounts: Mapping[str, str] | None = None,
    refs: tuple[str, list[int], list[int]] | None = None,
) -> LineResult:
    """Apply the rules of the module docstring to one credit line (``book`` is not changed).

    A second payment of a paid invoice the text names is posted on account of its customer when
    nothing else can be meant (:func:`~arinsight.cashapp.posting.post_duplicate`); a line left
    unmatched whose text names an invoice that is already paid says so (a duplicate payment?).
    ``refs``: the line's (text, strong, weak) from :func:`line_references`, when already known."""
    text, strong, weak = refs if refs is not None else line_references(row, book)
    res = _decide(row, text, strong, weak, book, scores, settings, known_accounts)
    closed = [i for i in strong if book.remaining[i] <= 0]
    if res.status == "unmatched" and closed:
        note = closed_note(book, closed, row.get("booking_date"))
        res.reason = note + (" (duplicate payment?)" if note.endswith("already paid") else "")
    return res


def line_references(row: Mapping[str, Any], book: InvoiceBook) -> tuple[str, list[int], list[int]]:
    """The text a line's invoice references are searched in (remittance, reference, end-to-end
    id) and the invoice rows it refers to: (text, strong, weak). They depend on the invoice
    numbers only, not on what is open, so a statement's lines are read once."""
    text = " ".join(str(row.get(c) or "") for c in ("remittance", "reference", "end_to_end_id"))
    return (text, *book.references(text))


def _decide(row, text, strong, weak, book, scores, settings, known_accounts) -> LineResult:
    """The rules in order (module docstring); each returns a result or None to go on."""
    payers, payer_conf = _identify(row, text, book, scores, settings, known_accounts)
    line = LineValue(row, settings)
    ctx = LineContext(row, text, strong, weak, book, scores, settings, line, payers, payer_conf)
    for rule in (rule_strong, rule_weak, _rule_payer_amount, _rule_payers_ambiguous):
        res = rule(ctx)
        if res is not None:
            break
    else:
        res = _rule_same_amount_anywhere(ctx)
    res = post_line(ctx, res) or res  # no invoice match took it: the posting rules
    res.payers = list(payers)
    return res


def _identify(row, text, book, scores, settings, known_accounts) -> tuple[list[str], float]:
    """Who paid: a customer id in the text, a known account, a name a person decided for a
    customer before (an alias), or the name (module docstring)."""
    if cid := book.customer_in_text(text):
        return [cid], 1.0
    acct = norm(row.get("payer_account"))
    if acct and known_accounts and acct in known_accounts:
        return [known_accounts[acct]], 1.0
    payers, score = identify_payer(str(row.get("payer_name") or ""), scores, book, settings)
    # a name a person decided for a customer, unless the name is another customer's own: a
    # group company that once paid a sister's invoice still pays its own under its name
    alias = (
        known_accounts.get(f"name:{name_core(row.get('payer_name'))}") if known_accounts else None
    )
    if alias and (not payers or alias in payers):
        return [alias], 1.0
    return payers, score / 100.0


def _rule_payer_amount(ctx: LineContext) -> LineResult | None:
    """Rules 3 and 4 for an identified payer: one open invoice with the amount, one set that
    adds up to it, else suggestions (same amount several times, several sets, partial)."""
    payer, book, settings = ctx.payer, ctx.book, ctx.settings
    if payer is None:
        return None
    singles, sets, exhausted = exact_and_sums(book, payer, ctx.line, settings)
    conf = ctx.payer_conf
    if len(singles) == 1 and not sets:
        if (partial := _fx_could_be_partial(ctx, payer, singles[0][0])) is not None:
            return partial
        res = settle(book, singles[0], ctx.line, "amount_payer", round(conf, 4), False)
        if res is not None:
            return res
    if singles and sets:  # only through a conversion: one invoice and a set both fit
        cands = [
            candidate(book, r, 0.4 * conf, "within the exchange-rate tolerance") for r in singles
        ]
        cands += [candidate(book, r, 0.4 * conf, "a set within the tolerance") for r, _ in sets]
        return LineResult(
            "suggested",
            customer_id=payer,
            candidates=cands[: settings.suggestions],
            reason="converted at the bank's rate, an invoice and a set of invoices both fit "
            f"within the {settings.fx_tolerance:.0%} tolerance; {ref_note(ctx)}",
        )
    if singles and (fixed := _one_of_several_one_slip(ctx, singles)) is not None:
        return fixed
    if singles:
        cands = [
            candidate(book, r, 0.8 * conf / len(singles), "same amount, several invoices")
            for r in singles
        ]
        return LineResult(
            "suggested",
            customer_id=payer,
            candidates=cands[: settings.suggestions],
            reason=f"{len(singles)} open invoices of the payer have this amount; {ref_note(ctx)}",
        )
    if len(sets) == 1 and not exhausted:
        res = settle(book, sets[0][0], ctx.line, "sum_payer", round(0.95 * conf, 4), False)
        if res is not None:
            return res
    if sets:
        cands = [
            candidate(book, r, 0.6 * conf / len(sets), "invoices adding up to the amount")
            for r, _ in sets
        ]
        why = (
            "search limit reached"
            if exhausted
            else f"{len(sets)} or more sets of invoices add up to it"
        )
        return LineResult(
            "suggested",
            customer_id=payer,
            candidates=cands[: settings.suggestions],
            reason=why,
        )
    if not exhausted and (sole := _sole_open_invoice(ctx)) is not None:
        return sole
    return _partial_suggestion(ctx, exhausted)


def _fx_could_be_partial(ctx: LineContext, payer: str, row: int) -> LineResult | None:
    """A suggestion instead of ``amount_payer_fx`` when the line, without a reference, fits
    invoice ``row`` only through a conversion (within ``fx_tolerance``) and ``payer`` is paying
    another open invoice in that currency in parts (paid in part already, and still larger than
    the line): the line may as well be its next part.
    A window of a few per cent around a converted amount catches another invoice's open amount
    far more often than an amount to the cent does (measured: two foreign part payments in 1,420
    lines of our generator's seed 20 were applied to an invoice 0.3-0.5 % from them). None when
    the amount is compared without a conversion or no such invoice is open."""
    book = ctx.book
    ccy = book.currency[row]
    v = ctx.line.value(ccy)
    if v is None or v[1] == 0:
        return None
    cents, tol, _ = v
    larger = [
        i
        for i in book.by_customer.get(payer, [])
        if i != row
        and book.currency[i] == ccy
        and int(book.remaining[i]) > cents + tol
        and int(book.paid[i]) > 0
    ]
    if not larger:
        return None
    conf = ctx.payer_conf
    cands = [candidate(book, [row], 0.5 * conf, "within the exchange-rate tolerance")]
    cands += [candidate(book, [i], 0.3 * conf, "paid in parts: the next part?") for i in larger]
    return LineResult(
        "suggested",
        customer_id=payer,
        candidates=cands[: ctx.settings.suggestions],
        reason=f"converted at the bank's rate, {book.ids[row]} fits within the "
        f"{ctx.settings.fx_tolerance:.0%} tolerance, but the line may be part of "
        f"{book.ids[larger[0]]} (paid in parts so far); {ref_note(ctx)}",
    )


def _sole_open_invoice(ctx: LineContext) -> LineResult | None:
    """Rule 4b: the identified payer owes exactly one open invoice (in any currency), the text
    names no invoice, even weakly, and no posting rule fits the line (it is not an advance
    payment, a deposit, ...): the line pays that invoice, in part (``sole_invoice_partial``, the
    rest stays open as a deduction) or over by at most ``overpay_tolerance``
    (``sole_invoice_overpaid``, the excess a credit balance), at 0.9 x the payer's score (x 0.95
    for a part payment, x 0.9 for an overpayment, as in :func:`settle`). What
    the payer wrote leaves one invoice it can be paying; an amount beyond the cap, a line
    through a conversion that misses the tolerance or a second open invoice leave it a
    suggestion (the "single open item" rule of lockbox and auto-cash tools).
    ``cash_application.sole_invoice: false`` turns it off."""
    book, payer = ctx.book, ctx.payer
    if ctx.strong or ctx.weak or payer is None or not ctx.settings.sole_invoice:
        return None
    rows = [i for i in book.by_customer.get(payer, []) if book.remaining[i] > 0]
    if len(rows) != 1 or first_fitting(ctx.settings.posting_rules, ctx.row, ctx.text):
        return None
    v = ctx.line.value(book.currency[rows[0]])
    if v is None:
        return None
    cents, tol, _ = v
    open_cents = int(book.remaining[rows[0]])
    if cents - tol > open_cents * (1 + ctx.settings.overpay_tolerance):
        return None
    res = settle(book, rows, ctx.line, "sole_invoice", round(0.9 * ctx.payer_conf, 4), True)
    if res is not None and res.status == "matched" and not res.rule.endswith("_discount"):
        gap = (open_cents - cents) / 100
        res.reason = (
            f"no invoice reference; {book.ids[rows[0]]} is the only open invoice of "
            f"{ctx.name(payer)}: "
            + (f"paid {gap:,.2f} short" if gap > 0 else f"paid {-gap:,.2f} over")
        )
        return res
    return None


def _one_of_several_one_slip(ctx: LineContext, singles: list[list[int]]) -> LineResult | None:
    """Rule 3b: several of the identified payer's open invoices have the line's amount (a
    re-billed copy under a second number), the text names an invoice that is paid (or another
    customer's), and exactly one of them is one slip (a digit, or two neighbours swapped) from
    it: that one, ``reference_corrected`` at 0.9 x the payer's score. The payer, the exact
    amount and the number written all point to it."""
    book = ctx.book
    written = [i for i in ctx.strong + ctx.weak if book.remaining[i] <= 0 or
               book.customer[i] != ctx.payer]  # fmt: skip
    if not written or len(singles) < 2:
        return None
    slips = [r for r in singles if any(one_slip(norm(book.ids[r[0]]), norm(book.ids[w]))
                                       for w in written)]  # fmt: skip
    if len(slips) != 1:
        return None
    res = settle(book, slips[0], ctx.line, "reference_corrected", round(0.9 * ctx.payer_conf, 4),
                 False)  # fmt: skip
    if res is not None:
        ids = ", ".join(book.ids[i] for i in written[:3])
        res.reason = (
            f"the text names {ids}; of the {len(singles)} open invoices of the payer with this "
            f"amount, {book.ids[slips[0][0]]} is one typing slip from it"
        )
    return res


def _rule_payers_ambiguous(ctx: LineContext) -> LineResult | None:
    """Rules 3 and 4 when the name fits several customers: exactly one of them has exactly one
    invoice (or one set) with the amount."""
    book, settings = ctx.book, ctx.settings
    if len(ctx.payers) < 2:
        return None
    found = [(c, *exact_and_sums(book, c, ctx.line, settings, sums=False)) for c in ctx.payers]
    with_single = [(c, s) for c, s, _, _ in found if s]
    if len(with_single) == 1 and len(with_single[0][1]) == 1:
        res = settle(
            book, with_single[0][1][0], ctx.line, "amount_payer", round(ctx.payer_conf, 4), False
        )
        if res is not None:
            return res
    if with_single:
        cands = [
            candidate(book, r, 0.5 * ctx.payer_conf, "same amount, similar name")
            for _, s in with_single
            for r in s
        ]
        return LineResult(
            "suggested",
            candidates=cands[: settings.suggestions],
            reason=f"payer name fits {len(ctx.payers)} customers; amount fits several",
        )
    sets, hit = [], False
    for cust in ctx.payers:
        _, found_sets, exhausted = exact_and_sums(book, cust, ctx.line, settings)
        sets += [(cust, r) for r, _ in found_sets]
        hit |= exhausted
    if len(sets) == 1 and not hit:
        res = settle(book, sets[0][1], ctx.line, "sum_payer", round(0.9 * ctx.payer_conf, 4), False)
        if res is not None:
            return res
    if sets:
        cands = [
            candidate(book, r, 0.4 * ctx.payer_conf / len(sets), "invoices adding up, similar name")
            for _, r in sets
        ]
        return LineResult(
            "suggested",
            candidates=cands[: settings.suggestions],
            reason=f"payer name fits {len(ctx.payers)} customers; invoices of "
            f"{len({c for c, _ in sets})} of them add up to the amount",
        )
    return None


def _rule_same_amount_anywhere(ctx: LineContext) -> LineResult:
    """Rule 5: no payer: the same amount at any customer (suggested), else unmatched."""
    book, line, settings = ctx.book, ctx.line, ctx.settings
    cands, exact = [], True
    for ccy in sorted(set(book.currency)):
        v = line.value(ccy)
        if v is None:
            continue
        cents, tol, _ = v
        hit = np.flatnonzero(
            (np.abs(book.remaining - cents) <= tol) & (book.currency == ccy) & (book.remaining > 0)
        )
        cands += [[int(i)] for i in hit]
        exact &= tol == 0 or not len(hit)
    if len(cands) == 1 and exact:
        res = _unique_amount_one_slip(ctx, cands[0]) or _unique_amount_close_name(ctx, cands[0])
        if res is not None:
            return res
    note = ref_note(ctx)
    named = str(ctx.row.get("payer_name") or "").strip()
    who = (
        f"payer name fits {len(ctx.payers)} customers"
        if ctx.payers
        else "payer not recognised"
        if named
        else "no payer name"
    )
    if cands:
        conf = 0.5 / len(cands)
        return LineResult(
            "suggested",
            candidates=[
                candidate(book, r, conf, "same amount") for r in cands[: settings.suggestions]
            ],
            reason=f"{note}, {who}; {len(cands)} open invoice(s) have this amount",
        )
    if ctx.payers:
        return LineResult("unmatched", reason=f"{note}; {who}, no amount fits")
    return LineResult("unmatched", reason=f"{note}, {who}, amount fits no open invoice")


def _unique_amount_one_slip(ctx: LineContext, rows: list[int]) -> LineResult | None:
    """Rule 5b: the payer is not identified, the text names an invoice that is paid or another
    customer's, and the only open invoice of the whole book with the line's exact amount has a
    number one slip from it (a digit, or two neighbours swapped): ``reference_corrected`` at
    0.85, unless the payer name speaks against its customer (identified as others, or scoring
    below ``name_contradiction``)."""
    book = ctx.book
    own = rows[0]
    written = [i for i in ctx.strong + ctx.weak if i != own]
    if not any(one_slip(norm(book.ids[own]), norm(book.ids[i])) for i in written):
        return None
    if ctx.contradicts(book.customer[own]):
        return None
    res = settle(book, [own], ctx.line, "reference_corrected", 0.85, False)
    if res is not None:
        ids = ", ".join(book.ids[i] for i in written[:3])
        res.reason = (
            f"the text names {ids}; {book.ids[own]} of {ctx.name(book.customer[own])} is one "
            "typing slip from it and the only open invoice with this amount"
        )
    return res


def _unique_amount_close_name(ctx: LineContext, rows: list[int]) -> LineResult | None:
    """Rule 5a: the only open invoice of the whole book with the line's exact amount, of the
    customer whose name the payer's comes closest to (at least ``name_close``, a misspelt name
    such as ``Iorn Grid`` for Iron Grid), when the text names no invoice: ``amount_name_close``
    at 0.85 x the name's score. Two things the payer wrote agree: the amount to the cent, and
    a name closer to this customer than to any other."""
    book, scores = ctx.book, ctx.scores
    if ctx.strong or ctx.weak or not len(scores):
        return None
    k = book.cust_index.get(book.customer[rows[0]])
    if k is None:
        return None
    best = float(scores.max())
    score = float(scores[k])
    if score < ctx.settings.name_close or score < best:
        return None
    if ctx.payers and book.customer[rows[0]] not in ctx.payers:
        return None
    res = settle(book, rows, ctx.line, "amount_name_close", round(0.85 * score / 100, 4), False)
    if res is not None:
        res.reason = (
            f"the only open invoice with this amount; the payer name scores {score:.0f} "
            f"against {ctx.name(book.customer[rows[0]])}, no other customer's higher"
        )
    return res


def _partial_suggestion(ctx: LineContext, exhausted: bool) -> LineResult:
    """The identified payer has no invoice or set with the amount: a partial payment (or a
    payment on account). Candidates are the payer's open invoices larger than the line (a
    partial payment) or smaller by at most the over-payment cap, ranked by reference evidence
    (an invoice the text names, even weakly, first), then by how close the open amount is to
    the line's, not by age."""
    book, payer, settings = ctx.book, ctx.payer, ctx.settings
    rows = [i for i in book.by_customer.get(payer, []) if book.remaining[i] > 0]
    if not rows:
        return LineResult(
            "unmatched",
            customer_id=payer,
            reason=f"{ref_note(ctx)}; the payer has no open invoice",
        )
    v = ctx.line.value(book.currency[rows[0]])
    cents = v[0] if v else 0
    total = int(book.remaining[rows].sum())
    if cents > total:
        return LineResult(
            "suggested",
            customer_id=payer,
            candidates=[
                candidate(
                    book,
                    rows[: settings.max_subset_size],
                    0.3 * ctx.payer_conf,
                    "pays more than all open invoices",
                )
            ],
            reason=f"{ref_note(ctx)}; the amount exceeds everything the payer owes "
            "(payment on account?)",
        )
    named = set(ctx.weak) | set(ctx.strong)
    # larger open amounts (a partial payment) and, within the over-payment cap, smaller ones
    cap = 1 + settings.overpay_tolerance
    fits = [
        i for i in rows if int(book.remaining[i]) > cents or int(book.remaining[i]) * cap >= cents
    ]
    fits.sort(key=lambda i: (i not in named, abs(int(book.remaining[i]) - cents), i))

    def why(i: int) -> str:
        gap = (int(book.remaining[i]) - cents) / 100
        if i in named:
            return "partial payment; named in the text" if gap > 0 else "named in the text"
        return f"partial payment, {gap:,.2f} short" if gap > 0 else f"pays {-gap:,.2f} more"

    cands = [
        candidate(
            book,
            [i],
            0.3
            * ctx.payer_conf
            * (min(cents, int(book.remaining[i])) / max(cents, int(book.remaining[i])))
            * (1.0 if i in named else 0.9),
            why(i),
        )
        for i in fits
    ]
    reason = "search limit reached; " if exhausted else ""
    return LineResult(
        "suggested",
        customer_id=payer,
        candidates=cands[: settings.suggestions],
        reason=reason
        + f"{ref_note(ctx)}; no invoice or set of invoices with this amount (partial payment?)",
    )


def match_lines(
    lines: pd.DataFrame,
    book: InvoiceBook,
    settings: MatchSettings,
    known_accounts: Mapping[str, str] | None = None,
) -> list[LineResult]:
    """Match every line in order (results in the order of ``lines``). Credit lines that are
    booked and not reversals go through :func:`match_line`; every match lowers the open amounts
    of ``book`` for the lines after it. Others are ``skipped`` with the reason."""
    credit = (
        (lines["credit_debit"] == "CRDT")
        & lines["booked"]
        & ~lines["reversal"]
        & (lines["amount"] > 0)
    )
    scores = name_scores(lines["payer_name"].where(credit, "").tolist(), book)
    # within a day, a line that names an open invoice takes it before a line that only fits it
    # by amount or name: the order a bank lists a day's lines in (or a format's line ids) does
    # not decide which of two lines gets an invoice
    refs = {pos: line_references(lines.loc[pos], book) for pos in lines.index}
    names_open = [
        0 if any(book.remaining[i] > 0 for i in refs[pos][1]) else 1 for pos in lines.index
    ]
    order = (
        lines.assign(_names_open=names_open)
        .sort_values(["booking_date", "_names_open", "line_id"], kind="mergesort")
        .index
    )
    results: dict[int, LineResult] = {}
    for pos in order:
        row = lines.loc[pos]
        if not credit[pos]:
            why = (
                "money out (debit)"
                if row["credit_debit"] != "CRDT"
                else "reversal of a debit (money back in): no credit to undo"
                if row["reversal"]
                else "not booked yet"
                if not row["booked"]
                else "zero amount"
            )
            results[pos] = LineResult("skipped", reason=why)
            continue
        # an invoice issued after the booking date cannot be what this line pays
        later = book.issued > np.datetime64(pd.Timestamp(row["booking_date"]), "ns")
        kept = book.remaining[later].copy()
        book.remaining[later] = 0
        res = match_line(
            row, book, scores[lines.index.get_loc(pos)], settings, known_accounts, refs[pos]
        )
        book.remaining[later] = kept
        if res.status == "matched" and "_partial" in res.rule:
            res.short = short_of(book, res.allocations)
        book.take(res.allocations, row["booking_date"], res.discount)
        results[pos] = res
    return [results[pos] for pos in lines.index]
