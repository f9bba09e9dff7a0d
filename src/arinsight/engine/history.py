"""History: each invoice as the ledger showed it at past dates, for the models that learn from them.

The late-payment risk model (:mod:`arinsight.risk`) and the cash forecast
(:mod:`arinsight.forecast`) learn from what was known at dates before T; this layer computes
those as-of facts with the expressions of :mod:`~arinsight.engine.positions` (one paid date,
one applied amount per payment), so that nothing else in the package keeps a second book:

- :func:`settlement`: every invoice with its paid date and open amount at T;
- :func:`applied`: every applied payment with what it took off its invoice's open amount;
- :func:`customer_history`: per invoice, its customer's state at the close of the day before it;
- :func:`open_at_origins`: the invoices open at each of several dates (origins), with their
  open amount there;
- :func:`collected_by_week`: the cash each of those brought in each week after its origin.

They read staged ledgers (:func:`~arinsight.engine.staging.stage`): dates are dates, money is
``decimal(18,2)`` and its sums ``decimal(38,2)``. ``as_of`` None keeps every row of the
ledgers (the caller already cut them); a date T keeps the invoices dated <= T and the payments
dated <= T. A payment counts when it carries the id of an invoice kept (unapplied cash settles
nothing), on its own date whatever the invoice date (02_clean quarantines a payment dated
before its invoice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from arinsight.engine import positions as pos
from arinsight.engine.sources import Ledgers
from arinsight.engine.staging import MONEY, MONEY_SUM


def _cut(ledgers: Ledgers, as_of: dt.date | None) -> tuple[ir.Table, ir.Table]:
    """The invoices and the applied payments (with an invoice id and a date) dated <= T."""
    inv, pay = ledgers.invoices, ledgers.payments
    pay = pay.filter(pay.invoice_id.notnull(), pay.payment_date.notnull())
    if as_of is not None:
        inv = inv.filter(inv.invoice_date <= as_of)
        pay = pay.filter(pay.payment_date <= as_of)
    return inv, pay


def applied(ledgers: Ledgers, as_of: dt.date | None = None) -> ir.Table:
    """One row per payment applied to an invoice (both dated <= T).

    Columns: payment_id, invoice_id, customer_id (the invoice's), payment_date, amount,
    invoice_date, due_date and invoice_amount (its invoice's); ``running`` (the invoice's
    payments up to and including this one, in payment date then payment id order) and
    ``applied`` (what it takes off the invoice's open amount: the running total capped at the
    invoice amount, differenced; see :func:`~arinsight.engine.positions.applied_payments`).
    """
    inv, pay = _cut(ledgers, as_of)
    pay = pay.select("payment_id", "invoice_id", "payment_date", "amount")
    pay = pay.join(
        inv.select(
            "invoice_id", "customer_id", "invoice_date", "due_date", invoice_amount=inv.amount
        ),
        "invoice_id",
    )
    return pos.applied_payments(pay)


def settlement(ledgers: Ledgers, as_of: dt.date | None = None) -> ir.Table:
    """One row per invoice (dated <= T), ordered by invoice id.

    Columns: invoice_id, customer_id, invoice_date, due_date, amount; ``paid_date``: the date
    its cumulative payments (dated <= T; payment date, then payment id order) first reach its
    amount, null unless they cover it at T (:func:`~arinsight.engine.positions.paid_date`: the
    paid date of every page and KPI); ``paid`` (its payments dated <= T) and ``open_amount =
    max(0, amount - paid)``.
    """
    inv, _ = _cut(ledgers, as_of)
    totals = pos.invoice_payments(applied(ledgers, as_of))
    j = inv.left_join(totals, inv.invoice_id == totals._key)
    zero = ibis.literal(0).cast(MONEY_SUM)
    paid = j.paid.cast(MONEY_SUM).fill_null(zero)
    return j.select(
        "invoice_id",
        "customer_id",
        "invoice_date",
        "due_date",
        "amount",
        paid_date=pos.paid_date(paid, j.amount, j.reached),
        paid=paid.cast(MONEY),
        open_amount=ibis.greatest(j.amount.cast(MONEY_SUM) - paid, zero).cast(MONEY),
    ).order_by("invoice_id")


#: The columns of :func:`customer_history` after invoice_id, in order.
HISTORY_COLUMNS = (
    "prior_invoices",
    "prior_known",
    "prior_late",
    "prior_paid",
    "prior_days_late",
    "open_balance",
    "overdue_balance",
    "last_late_day",
    "last_resolved_late",
)

#: The running values of :func:`customer_history`: how each is summed, and its type per event.
_RUNNING = {
    "prior_invoices": ("sum", "int32"),
    "open": ("sum", MONEY),
    "overdue": ("sum", MONEY),
    "prior_known": ("sum", "int32"),
    "prior_late": ("sum", "int32"),
    "last_code": ("max", "int64"),
    "last_late_day": ("max", "int32"),
    "prior_paid": ("sum", "int32"),
    "prior_days_late": ("sum", "int32"),
}


def customer_history(settled: ir.Table, paid: ir.Table, late_days: int) -> ir.Table:
    """Per invoice of customer c dated d, what c's ledger showed at the close of day d - 1: sums
    over c's dated events before d (same-day invoices do not see each other). ``settled``: the
    rows of :func:`settlement`, ``paid``: those of :func:`applied` (of the same ledger, cut at T).

    With L = ``late_days``, D an invoice's due date and S its paid date (at T); an invoice is
    *late* when it is unpaid at T or ``S - D > L``, and its outcome is known from its
    *resolution* day K = D + L + 1 when late, K = S when not. Columns, ordered by invoice id:

    - ``prior_invoices``: c's invoices dated before d;
    - ``prior_known`` / ``prior_late``: c's invoices (the late ones) with K < d;
    - ``prior_paid`` / ``prior_days_late``: c's invoices with S < d, and the sum of their
      ``max(0, S - D)`` (days);
    - ``open_balance``: c's invoice amounts dated before d less what c's payments dated before d
      took off them (``applied``: capped at each invoice's amount), floored at 0 (money);
    - ``overdue_balance``: the part already past due at the close of d - 1: each invoice's
      amount less what payments dated up to its due date took off it counts from D + 1, less
      what payments dated after D take off it from their date; floored at 0 (money);
    - ``last_late_day``: the latest K < d of a late invoice of c, in days since 1970-01-01 (null
      when none);
    - ``last_resolved_late``: whether c's invoice with the latest K < d was late (ties on a
      day: late if any was; null when none resolved).

    The customer's dated events (issues, payments, due dates, resolutions, paid dates) are one
    union, summed per customer in day order (a window: every event of a day sees the whole
    day); each invoice then reads the running values of its customer's latest event day
    before d (an as-of join).
    """
    L = int(late_days)
    s, a = settled, paid
    by_due = a.filter(a.payment_date <= a.due_date)
    by_due = by_due.group_by(_inv="invoice_id").aggregate(before_due=by_due.applied.sum())
    s_due = s.left_join(by_due, s.invoice_id == by_due._inv)
    late = s.paid_date.isnull() | (s.paid_date.delta(s.due_date, unit="day") > L)
    due_day = s.due_date.epoch_days()
    k_day = ibis.ifelse(late, due_day + (L + 1), s.paid_date.epoch_days())
    done = s.filter(s.paid_date.notnull())
    one = ibis.literal(1, "int32")
    events = {
        "issued": s.select(
            "customer_id", day=s.invoice_date.epoch_days(), prior_invoices=one, open=s.amount
        ),
        "payment": a.select(
            "customer_id",
            day=a.payment_date.epoch_days(),
            open=-a.applied,
            overdue=ibis.ifelse(a.payment_date > a.due_date, -a.applied, 0),
        ),
        "due": s_due.select(
            "customer_id",
            day=s_due.due_date.epoch_days() + 1,
            overdue=s_due.amount.cast(MONEY_SUM) - s_due.before_due.fill_null(0),
        ),
        "resolved": s.select(
            "customer_id",
            day=k_day,
            prior_known=one,
            prior_late=late.cast("int32"),
            last_code=k_day.cast("int64") * 2 + late.cast("int64"),
            last_late_day=ibis.ifelse(late, k_day, ibis.null("int32")),
        ),
        "settled": done.select(
            "customer_id",
            day=done.paid_date.epoch_days(),
            prior_paid=one,
            prior_days_late=ibis.greatest(done.paid_date.delta(done.due_date, unit="day"), 0),
        ),
    }
    union = None
    for t in events.values():
        part = t.select(
            customer_id=t.customer_id,
            day=t.day.cast("int32"),
            **{
                name: (t[name] if name in t.columns else ibis.null()).cast(dtype)
                for name, (_, dtype) in _RUNNING.items()
            },
        )
        union = part if union is None else union.union(part)
    # order by day alone: the frame takes every event of the day (its peers), so the running
    # values of any row of a day are the day's
    w = ibis.range_window(
        preceding=None, following=0, group_by=union.customer_id, order_by=union.day
    )
    running = union.select(
        _cid="customer_id",
        _day="day",
        **{name: getattr(union[name], how)().over(w) for name, (how, _) in _RUNNING.items()},
    )
    q = s.select("invoice_id", "customer_id", day=s.invoice_date.epoch_days().cast("int32"))
    h = q.asof_join(running, on=q.day > running._day, predicates=q.customer_id == running._cid)
    zero = ibis.literal(0).cast(MONEY_SUM)
    counts = ("prior_invoices", "prior_known", "prior_late", "prior_paid", "prior_days_late")
    return h.select(
        "invoice_id",
        **{name: h[name].fill_null(0).cast("int64") for name in counts},
        open_balance=ibis.greatest(h.open.fill_null(zero), zero).cast(MONEY),
        overdue_balance=ibis.greatest(h.overdue.fill_null(zero), zero).cast(MONEY),
        last_late_day=h.last_late_day.cast("int64"),
        last_resolved_late=(h.last_code % 2) == 1,
    ).order_by("invoice_id")


def _origins(origins: Sequence[dt.date]) -> ir.Table:
    return ibis.memtable({"origin": list(origins)}).mutate(origin=lambda t: t.origin.cast("date"))


def open_at_origins(ledgers: Ledgers, origins: Sequence[dt.date]) -> ir.Table:
    """The invoices open at the end of each day O of ``origins``: dated <= O with ``open_amount
    = amount - payments dated <= O > 0``, as :func:`~arinsight.engine.positions.
    invoice_positions` measures it at T = O.

    Columns: origin, invoice_id, customer_id, invoice_date, due_date, amount, open_amount;
    ordered by origin, then invoice id. The payments are summed per invoice and day once, with
    their running total and the invoice's next payment day; an invoice is looked at only at the
    origins before the day from which it stays settled (most invoices of a long history are
    settled long before the recent origins), and its balance at O is the running total of its
    last payment day <= O.
    """
    inv, pay = _cut(ledgers, None)
    days = pay.group_by("invoice_id", day=pay.payment_date).aggregate(
        day_paid=pay.amount.sum().cast(MONEY_SUM)
    )
    w = ibis.cumulative_window(group_by=days.invoice_id, order_by=days.day)
    days = days.mutate(
        running=days.day_paid.sum().over(w),
        next_day=days.day.lead().over(group_by=days.invoice_id, order_by=days.day),
    )
    amounts = inv.select(_iid="invoice_id", _amount=inv.amount)
    d = days.join(amounts, days.invoice_id == amounts._iid)
    d = d.mutate(is_open=d._amount.cast(MONEY_SUM) - d.running > 0)
    last = d.group_by(_lid="invoice_id").aggregate(last_open=d.day.max(where=d.is_open))
    d = d.join(last, d.invoice_id == last._lid)
    settled = d.filter(d.last_open.isnull() | (d.day > d.last_open))
    settled = settled.group_by(_sid="invoice_id").aggregate(settle_day=settled.day.min())
    o = _origins(origins)
    cand = inv.left_join(settled, inv.invoice_id == settled._sid)
    cand = cand.cross_join(o).filter(
        lambda t: (t.invoice_date <= t.origin) & (t.settle_day.isnull() | (t.settle_day > t.origin))
    )
    at = days.select(_did="invoice_id", _day="day", _next="next_day", _running="running")
    j = cand.left_join(
        at,
        [
            cand.invoice_id == at._did,
            at._day <= cand.origin,
            at._next.isnull() | (at._next > cand.origin),
        ],
    )
    zero = ibis.literal(0).cast(MONEY_SUM)
    open_amount = j.amount.cast(MONEY_SUM) - j._running.fill_null(zero)
    j = j.mutate(open_amount=open_amount)
    j = j.filter(j.open_amount > 0)
    return j.select(
        "origin",
        "invoice_id",
        "customer_id",
        "invoice_date",
        "due_date",
        "amount",
        open_amount=j.open_amount.cast(MONEY),
    ).order_by("origin", "invoice_id")


def collected_by_week(open_rows: ir.Table, ledgers: Ledgers, weeks: int) -> ir.Table:
    """The cash each row of ``open_rows`` (origin, invoice_id, open_amount: an invoice open at
    its origin O) brought in each week k = 1..``weeks`` after O: the payments to the invoice
    dated ``O + 7(k-1) < date <= O + 7k``, their running total from O on (payment date, then
    payment id order) capped at the open amount at O and differenced (an overpayment counts up
    to it, a refund takes back).

    Columns: origin, invoice_id, week, collected (money); weeks without a payment have no row;
    ordered by origin, invoice id and week.
    """
    _, pay = _cut(ledgers, None)
    pay = pay.select("payment_id", _pid="invoice_id", payment_date="payment_date", paid="amount")
    r = open_rows.select("origin", "invoice_id", "open_amount")
    j = r.join(
        pay,
        [
            r.invoice_id == pay._pid,
            pay.payment_date > r.origin,
            pay.payment_date <= r.origin + ibis.interval(days=7 * int(weeks)),
        ],
    )
    w = ibis.cumulative_window(
        group_by=[j.origin, j.invoice_id], order_by=[j.payment_date, j.payment_id]
    )
    j = j.mutate(running=j.paid.cast(MONEY_SUM).sum().over(w))
    cap = j.open_amount.cast(MONEY_SUM)
    j = j.mutate(
        collected=ibis.least(j.running, cap) - ibis.least(j.running - j.paid, cap),
        week=(j.payment_date.delta(j.origin, unit="day") + 6) // 7,
    )
    out = j.group_by("origin", "invoice_id", "week").aggregate(collected=j.collected.sum())
    return out.mutate(week=out.week.cast("int64"), collected=out.collected.cast(MONEY)).order_by(
        "origin", "invoice_id", "week"
    )
