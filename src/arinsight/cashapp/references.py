"""Rules 1 and 2 of :mod:`~arinsight.cashapp.matching`: what the line's invoice references say
(strong and weak references, a slip to the payer's own invoice, a third party paying, a
payer or an over-payment that contradicts the reference), and the notes the other rules give
about them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from arinsight.cashapp.amounts import (
    by_customer_currency,
    candidate,
    completion,
    exact_and_sums,
    settle,
    subset_sums,
)
from arinsight.cashapp.book import InvoiceBook
from arinsight.cashapp.names import identify_payer, norm
from arinsight.cashapp.result import LineContext, LineResult


def closed_note(book: InvoiceBook, closed: list[int], day: Any) -> str:
    """``refers to INV-..., already paid``, or, for an invoice issued after the line's booking
    date (not billed yet when the money came), ``refers to INV-..., issued <date>, after the
    booking date``."""
    ids = ", ".join(book.ids[i] for i in closed[:3])
    if day is not None and not pd.isna(day):
        limit = np.datetime64(pd.Timestamp(day), "ns")
        later = [i for i in closed[:3] if book.issued[i] > limit]
        if later and len(later) == len(closed[:3]):
            first = pd.Timestamp(book.issued[later[0]])
            return f"refers to {ids}, issued {first:%Y-%m-%d}, after the booking date"
    return f"refers to {ids}, already paid"


def ref_note(ctx: LineContext) -> str:
    """What the text says about invoices, for a reason: never "no reference" when it has one."""
    book = ctx.book
    closed = [i for i in ctx.strong if book.remaining[i] <= 0]
    weak = [book.ids[i] for i in ctx.weak if book.remaining[i] > 0]
    if closed:
        return closed_note(book, closed, ctx.row.get("booking_date"))
    if weak:
        return f"weak reference to {', '.join(weak[:3])} not confirmed by the payer or the amount"
    if ctx.weak:
        return f"weak reference to {', '.join(book.ids[i] for i in ctx.weak[:3])}, already paid"
    return "no invoice reference"


def rule_strong(ctx: LineContext) -> LineResult | None:
    """Rule 1: strong references to open invoices of one customer, unless the payer or an
    over-payment beyond the cap contradicts them."""
    book, line, settings = ctx.book, ctx.line, ctx.settings
    open_strong = [i for i in ctx.strong if book.remaining[i] > 0]
    if not open_strong:
        return None
    groups = by_customer_currency(book, open_strong)
    if len(groups) > 1:
        cands = [
            candidate(book, r, 0.6, "invoices of several customers referenced")
            for r in groups.values()
        ]
        return LineResult(
            "suggested",
            candidates=cands[: settings.suggestions],
            reason="the text refers to invoices of several customers",
        )
    rows = next(iter(groups.values()))
    rows = sorted(rows + completion(book, rows, ctx.weak, line, settings))
    cust = book.customer[rows[0]]
    v = line.value(book.currency[rows[0]])
    if v is None:
        return None
    cents, tol, _ = v
    total = int(book.remaining[rows].sum())
    exact = abs(cents - total) <= tol
    if ctx.payers and cust not in ctx.payers:
        return _contradiction(ctx, rows, "the payer is " + _payer_words(ctx), exact)
    if not exact and ctx.contradicts(cust):
        return _contradiction(ctx, rows, "the payer name does not look like it", exact)
    cap = round(total * settings.overpay_tolerance)
    if cents - tol > total + cap:
        return _overpaid_beyond_cap(ctx, rows, cents, total)
    return settle(book, rows, line, "reference", 1.0, partial_ok=True)


def _payer_words(ctx: LineContext) -> str:
    if ctx.payer:
        return ctx.name(ctx.payer)
    return "one of " + ", ".join(ctx.payers[:3])


def one_slip(a: str, b: str) -> bool:
    """Two invoice numbers one typing slip apart: one digit different, or two neighbouring
    digits swapped (same prefix, same length)."""
    if len(a) != len(b) or a == b:
        return False
    diff = [k for k in range(len(a)) if a[k] != b[k]]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


def _corrected(ctx: LineContext, rows: list[int]) -> LineResult | None:
    """Exactly one of the identified payer's open invoices with the line's amount (for a name
    that fits several customers, of all of theirs) has a number one slip (a digit, or two
    neighbours swapped) from a referenced number: that invoice, ``reference_corrected`` at
    0.9 x the payer's score."""
    book = ctx.book
    if not ctx.payers:
        return None
    singles = [
        r[0]
        for payer in ctx.payers
        for r in exact_and_sums(book, payer, ctx.line, ctx.settings, sums=False)[0]
    ]
    # of the payer's invoices with the amount (with an ambiguous name: of all the names'),
    # exactly one is one slip from a number written (two with the amount, e.g. a re-billed
    # copy, and one of them a slip from the text: that one)
    slips = [
        i for i in singles if any(one_slip(norm(book.ids[i]), norm(book.ids[r])) for r in rows)
    ]
    if len(slips) != 1:
        return None
    own = slips[0]
    res = settle(
        book, [own], ctx.line, "reference_corrected", round(0.9 * ctx.payer_conf, 4), False
    )
    if res is not None:
        ids = ", ".join(book.ids[i] for i in rows)
        res.reason = (
            f"the text's {ids} is {ctx.name(book.customer[rows[0]])}'s; the payer's "
            f"{book.ids[own]} has this amount and is one typing slip from it"
        )
    return res


def _contradiction(ctx: LineContext, rows: list[int], why: str, exact: bool) -> LineResult:
    """A reference to invoices the payer or the amount speaks against: the payer's own invoice
    when it has the amount and its number is one slip away (:func:`_corrected`), else
    suggested, the payer's own invoices that fit the amount first, then the referenced ones."""
    book = ctx.book
    if (fixed := _corrected(ctx, rows)) is not None:
        return fixed
    if exact and (paid_for := _third_party(ctx, rows)) is not None:
        return paid_for
    cust = book.customer[rows[0]]
    open_ = int(book.remaining[rows].sum()) / 100
    amount = "the amount fits" if exact else f"the amount differs from their open {open_:,.2f}"
    ids = ", ".join(book.ids[i] for i in rows)
    cands = []
    for payer in ctx.payers[:3]:  # the payer's invoices with the amount, then one slip away
        singles, sets, _ = exact_and_sums(book, payer, ctx.line, ctx.settings)
        for r in singles[:2] + [s for s, _ in sets[:1]]:
            cands.append(candidate(book, r, 0.5 * ctx.payer_conf, "the payer's, same amount"))
        near = [
            i
            for i in book.by_customer.get(payer, [])
            if book.remaining[i] > 0
            and [i] not in singles
            and any(one_slip(norm(book.ids[i]), norm(book.ids[r])) for r in rows)
        ]
        cands += [candidate(book, [i], 0.4 * ctx.payer_conf, "the payer's, one slip") for i in near]
    cands.append(candidate(book, rows, 0.4 if exact else 0.3, "referenced, another customer's"))
    return LineResult(
        "suggested",
        customer_id=ctx.payer,
        candidates=cands[: ctx.settings.suggestions],
        reason=f"the text refers to {ids} of {ctx.name(cust)}, but {why}; {amount}",
    )


def _third_party(ctx: LineContext, rows: list[int]) -> LineResult | None:
    """Rule 1b: another customer pays this customer's invoices (a sister or parent company, a
    factor): the text names them with a strong reference and the line pays exactly their open
    amount, in their currency (no conversion, no discount, no partial), and nothing of the
    payer's own explains it: none of its open invoices (or sets of them) has the amount and none
    has a number one slip from the one written. ``reference_third_party`` at 0.85.

    A slip that makes a payer's own number another customer's would also have to hit that
    invoice's open amount to the cent; a payer paying its own invoice with a mistyped number
    is caught by its own invoice with the amount (then suggested, or ``reference_corrected``)."""
    book = ctx.book
    if not set(rows) <= set(ctx.strong):  # only what the text names, nothing completed
        return None
    v = ctx.line.value(book.currency[rows[0]])
    if v is None or not v[2] or v[0] != int(book.remaining[rows].sum()):
        return None
    for payer in ctx.payers:
        singles, sets, exhausted = exact_and_sums(book, payer, ctx.line, ctx.settings)
        if singles or sets or exhausted:
            return None
        own = [i for i in book.by_customer.get(payer, []) if book.remaining[i] > 0]
        if any(one_slip(norm(book.ids[i]), norm(book.ids[r])) for i in own for r in rows):
            return None
    res = settle(book, rows, ctx.line, "reference_third_party", 0.85, False)
    if res is not None:
        ids = ", ".join(book.ids[i] for i in rows)
        res.reason = (
            f"paid by {_payer_words(ctx)} for {ctx.name(book.customer[rows[0]])}: the text "
            f"names {ids} and the amount is exactly their open amount; nothing of the payer's "
            "own has it"
        )
    return res


def _overpaid_beyond_cap(ctx: LineContext, rows: list[int], cents: int, total: int) -> LineResult:
    """More than the referenced invoices plus the cap: suggested, naming the other invoices the
    text mentions (weak references, other customers' or paid invoices)."""
    book, settings = ctx.book, ctx.settings
    others = [i for i in ctx.weak + ctx.strong if i not in rows]
    excess = (cents - total) / 100
    ids = ", ".join(book.ids[i] for i in rows)
    reason = (
        f"pays {excess:,.2f} more than {ids} (open {total / 100:,.2f}; "
        f"{excess * 100 / max(total / 100, 0.01):.0f} %, above the "
        f"{settings.overpay_tolerance:.0%} cap)"
    )
    if not others and (res := _excess_on_account(ctx, rows, cents, total)) is not None:
        res.reason = reason + f": {res.reason}"
        return res
    if others:
        reason += "; the text also names " + ", ".join(book.ids[i] for i in others[:3])
    conf = 0.5
    cands = [candidate(book, rows, conf, "referenced; the rest on account?")]
    cands += [candidate(book, [i], 0.3, "also named in the text") for i in others]
    return LineResult(
        "suggested",
        customer_id=book.customer[rows[0]],
        candidates=cands[: settings.suggestions],
        reason=reason,
    )


def _close_name(ctx: LineContext) -> tuple[str, float] | None:
    """(customer, score / 100) when the payer is not identified but its name comes close to
    exactly one customer: at least ``name_close`` and no other customer within
    ``name_margin`` of it (a written legal form breaks ties), as for a misspelt ``Iorn Grid
    LLC``; else None."""
    if ctx.payers or not len(ctx.scores):
        return None
    lowered = replace(ctx.settings, name_threshold=ctx.settings.name_close)
    found, best = identify_payer(str(ctx.row.get("payer_name") or ""), ctx.scores, ctx.book,
                                 lowered)  # fmt: skip
    return (found[0], best / 100) if len(found) == 1 else None


def _excess_on_account(
    ctx: LineContext, rows: list[int], cents: int, total: int
) -> LineResult | None:
    """A line that names only ``rows``, from their customer identified as the payer, in their
    currency (no conversion), paying more than the cap allows: the invoices are settled with
    their open amounts and the excess is **unapplied cash of the customer** (on account, to
    refund or apply), ``reference_excess_on_account`` at 0.8 x the payer's score. Not when an
    open invoice of the customer, or a set of them, has the excess (the line may pay it too:
    a person decides) or the search for such a set hits its budget. The invoice never gets a
    credit balance beyond the cap; the money stays the customer's."""
    book, settings = ctx.book, ctx.settings
    cust, ccy = book.customer[rows[0]], book.currency[rows[0]]
    v = ctx.line.value(ccy)
    if ctx.payer != cust or v is None or v[1] != 0:
        return None
    need = cents - total
    others = [
        i
        for i in book.by_customer.get(cust, [])
        if book.remaining[i] > 0 and book.currency[i] == ccy and i not in rows
    ]
    if any(int(book.remaining[i]) == need for i in others):
        return None
    pool = others[: settings.max_candidates]
    found, exhausted = subset_sums(
        [int(book.remaining[i]) for i in pool],
        need,
        need,
        settings.max_subset_size,
        settings.search_budget,
    )
    if found or exhausted or len(others) > len(pool):
        return None
    res = LineResult(
        "matched",
        "reference_excess_on_account",
        round(0.8 * ctx.payer_conf, 4),
        customer_id=cust,
        currency=ccy,
    )
    res.allocations = [(i, int(book.remaining[i])) for i in rows]
    res.unapplied = need
    res.reason = (
        f"settled, the {need / 100:,.2f} more on account of {ctx.name(cust)} (unapplied cash: "
        "refund or apply); no other open invoice or set of them has that amount"
    )
    return res


def rule_weak(ctx: LineContext) -> LineResult | None:
    """Rule 2: weak references, confirmed by the payer or by the exact amount."""
    book, line = ctx.book, ctx.line
    open_weak = [i for i in ctx.weak if book.remaining[i] > 0]
    if not open_weak:
        return None
    groups = by_customer_currency(book, open_weak)
    payer = ctx.payer
    close = _close_name(ctx)
    for (cust, _), rows in sorted(groups.items()):
        confirmed = payer == cust or (payer is None and cust in ctx.payers and len(groups) == 1)
        if confirmed or (close is not None and close[0] == cust):
            conf = (
                round(0.95 * max(ctx.payer_conf, 0.9), 4)
                if confirmed
                else round(0.85 * close[1], 4)
            )
            v = line.value(book.currency[rows[0]])
            total = int(book.remaining[rows].sum())
            if v is not None and v[0] - v[1] > total + round(
                total * ctx.settings.overpay_tolerance
            ):
                return _overpaid_beyond_cap(ctx, rows, v[0], total)
            res = settle(book, rows, line, "reference_weak", conf, True)
            if res is not None:
                if not confirmed:
                    res.reason = (
                        f"weak reference to {', '.join(book.ids[i] for i in rows)}; the payer "
                        f"name scores {close[1] * 100:.0f} against {ctx.name(cust)}, closer "
                        "than to any other customer"
                    )
                return res
    exact = [
        r
        for (cust, _), r in groups.items()
        if not (ctx.payers and cust not in ctx.payers)
        and settle(book, r, line, "reference_weak", 0.9, False)
    ]
    if len(exact) == 1:
        return settle(book, exact[0], line, "reference_weak", 0.9, False)
    return None
