"""Amounts: a line's value in each invoice's currency (:class:`LineValue`), the bounded
subset-sum search (:func:`subset_sums`), and how a line settles invoice rows of one customer
(:func:`settle`: exact, discount, partial, over-paid)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from arinsight.cashapp.book import InvoiceBook
from arinsight.cashapp.result import LineResult
from arinsight.cashapp.settings import MatchSettings


def subset_sums(
    amounts: list[int], low: int, high: int, max_size: int, budget: int, want: int = 2
) -> tuple[list[tuple[int, ...]], bool]:
    """Sets of 2..``max_size`` positions of ``amounts`` (positive cents) whose sum lies in
    [``low``, ``high``]: up to ``want`` of them, and whether the search stopped at ``budget``
    steps before it was complete.

    Depth-first over the amounts sorted ascending: a branch ends when adding the next amount
    exceeds ``high`` (every later one is larger) or when even the largest remaining amounts
    cannot lift the sum to ``low``.
    """
    order = sorted(range(len(amounts)), key=lambda i: (amounts[i], i))
    a = [amounts[i] for i in order]
    n = len(a)
    prefix_top = [0] * (n + 1)  # sum of the r largest amounts: prefix_top[r]
    for r in range(1, n + 1):
        prefix_top[r] = prefix_top[r - 1] + a[n - r]
    found: list[tuple[int, ...]] = []
    steps = 0
    exhausted = False

    def dfs(start: int, chosen: list[int], total: int) -> None:
        nonlocal steps, exhausted
        if len(found) >= want or exhausted:
            return
        size = len(chosen)
        if size >= 2 and low <= total <= high:
            found.append(tuple(sorted(order[j] for j in chosen)))
            if len(found) >= want:
                return
        if size == max_size:
            return
        room = max_size - size
        for j in range(start, n):
            steps += 1
            if steps > budget:
                exhausted = True
                return
            if total + a[j] > high:
                break
            left = min(room, n - j)
            if total + prefix_top[left] < low and left == n - j:
                break  # even every remaining amount cannot reach low
            chosen.append(j)
            dfs(j + 1, chosen, total + a[j])
            chosen.pop()
            if len(found) >= want or exhausted:
                return

    dfs(0, [], 0)
    return found, exhausted


class LineValue:
    """One credit line's amount in any currency (cents), with the tolerance of that comparison."""

    def __init__(self, row: Mapping[str, Any], settings: MatchSettings):
        self.amount = float(row["amount"])
        self.currency = str(row.get("currency") or settings.reporting_currency).upper()
        instd = row.get("instructed_amount")
        self.instructed = None if instd is None or pd.isna(instd) else float(instd)
        self.instructed_ccy = str(row.get("instructed_currency") or "").upper()
        self.settings = settings

    def value(self, ccy: str) -> tuple[int, int, bool] | None:
        """(cents in ``ccy``, tolerance in cents, exact?) or None without an exchange rate."""
        ccy = ccy or self.settings.reporting_currency
        if self.instructed is not None and self.instructed_ccy == ccy:
            return round(self.instructed * 100), 0, True
        if self.currency == ccy:
            return round(self.amount * 100), 0, True
        rates = {self.settings.reporting_currency: 1.0, **self.settings.fx_rates}
        if self.currency not in rates or ccy not in rates or rates[ccy] <= 0:
            return None
        cents = round(self.amount * rates[self.currency] / rates[ccy] * 100)
        return cents, round(cents * self.settings.fx_tolerance), False


def fx_rule(rule: str, exact: bool) -> str:
    return rule if exact else f"{rule}_fx"


def short_of(book: InvoiceBook, allocations: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(invoice row, cents) that ``allocations`` leave open on the invoices they pay short
    (before the book is lowered by them)."""
    return [(i, int(book.remaining[i]) - c) for i, c in allocations if int(book.remaining[i]) > c]


def allocate(book: InvoiceBook, rows: list[int], cents: int) -> list[tuple[int, int]]:
    """``cents`` over ``rows`` oldest due date first, each up to its remaining amount."""
    out, left = [], cents
    for i in rows:
        take = min(int(book.remaining[i]), left)
        if take > 0:
            out.append((i, take))
            left -= take
    return out


def settle(
    book: InvoiceBook,
    rows: list[int],
    line: LineValue,
    rule: str,
    confidence: float,
    partial_ok: bool,
) -> LineResult | None:
    """The amount cases of rules 1 and 2 for invoice rows of one customer and one currency."""
    ccy = book.currency[rows[0]]
    v = line.value(ccy)
    if v is None:
        return None
    cents, tol, exact = v
    total = int(book.remaining[rows].sum())
    cust = book.customer[rows[0]]
    conf = confidence if exact else round(confidence * 0.95, 4)
    base = {"customer_id": cust, "currency": ccy}
    if abs(cents - total) <= tol:
        name = rule if len(rows) == 1 else f"{rule}_multi" if rule == "reference" else rule
        res = LineResult("matched", fx_rule(name, exact), conf, **base)
        res.allocations = [(i, int(book.remaining[i])) for i in rows]
        res.fx_difference = cents - total
        return res
    if not partial_ok:
        return None
    if exact and cents < total and (rate := _discount_rate(line.settings, cents, total, rows)):
        res = LineResult("matched", f"{rule}_discount", round(conf * 0.95, 4), **base)
        res.allocations = [(i, int(book.remaining[i])) for i in rows]
        res.discount = total - cents
        res.reason = (
            f"pays the open {total / 100:,.2f} less a {rate:.0%} early-payment discount "
            f"({(total - cents) / 100:,.2f}): settled, post the discount"
        )
        return res
    if cents < total and len(rows) > 1:
        # which invoice was paid short is not known: a person decides. Measured: "all paid in
        # full but one" (and "oldest first") split the amount wrongly on lines where the customer
        # paid two invoices in part, and a wrong split misleads the lines after it
        res = LineResult(
            "suggested",
            **base,
            reason=f"pays {(total - cents) / 100:,.2f} less than the {len(rows)} invoices it "
            "names (not a listed early-payment discount): which one was paid short is not known",
        )
        res.candidates = [candidate(book, rows, round(conf * 0.7, 4), "oldest first, rest open")]
        return res
    if cents < total:
        res = LineResult(
            "matched", fx_rule(f"{rule}_partial", exact), round(conf * 0.95, 4), **base
        )
        res.allocations = allocate(book, rows, cents)
        return res
    res = LineResult("matched", fx_rule(f"{rule}_overpaid", exact), round(conf * 0.9, 4), **base)
    if len(rows) == 1:
        res.allocations = [(rows[0], cents)]
    else:
        res.allocations = [(i, int(book.remaining[i])) for i in rows]
        res.unapplied = cents - total
    return res


def _discount_rate(settings: MatchSettings, cents: int, total: int, rows: list[int]) -> float:
    """The early-payment discount rate of ``settings.discount_rates`` that ``cents`` is of the
    open ``total`` (within a cent per invoice, for a discount rounded invoice by invoice), else
    0."""
    for rate in settings.discount_rates:
        if abs(cents - round(total * (1 - rate))) <= len(rows):
            return rate
    return 0.0


def by_customer_currency(
    book: InvoiceBook, rows: Iterable[int]
) -> dict[tuple[str, str], list[int]]:
    groups: dict[tuple[str, str], list[int]] = {}
    for i in rows:
        groups.setdefault((book.customer[i], book.currency[i]), []).append(i)
    return groups


def exact_and_sums(
    book: InvoiceBook, customer: str, line: LineValue, settings: MatchSettings, sums: bool = True
) -> tuple[list[list[int]], list[tuple[list[int], bool]], bool]:
    """For one customer's open invoices: single invoices with the line's amount, sets that add
    up to it (each with whether the comparison was exact) and whether the search hit its budget."""
    rows = [i for i in book.by_customer.get(customer, []) if book.remaining[i] > 0]
    singles: list[list[int]] = []
    sets: list[tuple[list[int], bool]] = []
    exhausted = False
    by_ccy: dict[str, list[int]] = {}
    for i in rows:
        by_ccy.setdefault(book.currency[i], []).append(i)
    for ccy, cand in sorted(by_ccy.items()):
        v = line.value(ccy)
        if v is None:
            continue
        cents, tol, exact = v
        singles += [[i] for i in cand if abs(int(book.remaining[i]) - cents) <= tol]
        # through a conversion (a tolerance) a single invoice may fit by chance: look for sets
        # too, so that a set that also fits makes it a suggestion
        if sums and (not singles or tol > 0):
            pool = cand[: settings.max_candidates]
            amounts = [int(book.remaining[i]) for i in pool]
            found, hit = subset_sums(
                amounts, cents - tol, cents + tol, settings.max_subset_size, settings.search_budget
            )
            exhausted |= hit
            sets += [([pool[j] for j in s], exact) for s in found]
    return singles, sets, exhausted


def completion(
    book: InvoiceBook, rows: list[int], weak: list[int], line: LineValue, settings: MatchSettings
) -> list[int]:
    """Further invoices of the same customer when a line pays more than its referenced invoices:
    its weak references if they make up the difference exactly, else the one invoice or the one
    set of the customer's other open invoices that does (nothing when none or several do)."""
    v = line.value(book.currency[rows[0]])
    if v is None:
        return []
    cents, tol, _ = v
    total = int(book.remaining[rows].sum())
    if cents - tol <= total:
        return []
    cust, ccy = book.customer[rows[0]], book.currency[rows[0]]
    same = [
        i
        for i in book.by_customer.get(cust, [])
        if book.remaining[i] > 0 and book.currency[i] == ccy and i not in rows
    ]
    extra = [i for i in weak if i in same]
    if extra and abs(cents - total - int(book.remaining[extra].sum())) <= tol:
        return extra
    need = cents - total
    singles = [[i] for i in same if abs(int(book.remaining[i]) - need) <= tol]
    if len(singles) == 1:
        return singles[0]
    if singles:
        return []
    pool = same[: settings.max_candidates]
    found, exhausted = subset_sums(
        [int(book.remaining[i]) for i in pool],
        need - tol,
        need + tol,
        settings.max_subset_size,
        settings.search_budget,
    )
    return [pool[j] for j in found[0]] if len(found) == 1 and not exhausted else []


def candidate(book: InvoiceBook, rows: list[int], confidence: float, why: str) -> dict[str, Any]:
    return {
        "customer_id": book.customer[rows[0]],
        "invoice_ids": "; ".join(book.ids[i] for i in rows),
        "open_amount": round(int(book.remaining[rows].sum()) / 100, 2),
        "confidence": round(float(confidence), 4),
        "why": why,
    }
