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

Adjustments (write-offs, credit notes) settle an invoice as the positions say
(:mod:`~arinsight.engine.positions`): the open amounts of :func:`settlement` and
:func:`open_at_origins` are net of them, and the paid date is when payments and credit notes
reach the amount. What the models learn as *cash* (:func:`applied`, :func:`collected_by_week`)
is payments only; the customer's open balance in :func:`customer_history` counts payments only
too (a limit: a written-off balance still weighs on its customer's later invoices).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from arinsight.engine import positions as pos
from arinsight.engine.sources import Ledgers
from arinsight.engine.staging import MONEY, MONEY_SUM

#: The columns that identify each mart's rows (unique): the marts read by others are left
#: unordered, the runner orders every result by them (the same ledger, the same order).
KEYS = {
    "settlement": ("invoice_id",),
    "applied": ("invoice_id", "payment_date", "payment_id"),
    "customer_history": ("invoice_id",),
    "open_at_origins": ("origin", "invoice_id"),
    "collected_by_week": ("origin", "invoice_id", "week"),
}


def _cut(ledgers: Ledgers, as_of: dt.date | None) -> tuple[ir.Table, ir.Table]:
    """The invoices and the applied payments (with an invoice id and a date) dated <= T."""
    inv, pay = ledgers.invoices, ledgers.payments
    pay = pay.filter(pay.invoice_id.notnull(), pay.payment_date.notnull())
    if as_of is not None:
        inv = inv.filter(inv.invoice_date <= as_of)
        pay = pay.filter(pay.payment_date <= as_of)
    return inv, pay


def _settles(ledgers: Ledgers, as_of: dt.date | None, write_offs: bool = True) -> ir.Table:
    """Payments and adjustments with an invoice id and a date (dated <= T) as the settling rows
    of :func:`~arinsight.engine.positions.settling_rows` (``write_offs=False``: the rows that
    pay an invoice, towards its paid date)."""
    rows = pos.settling_rows(ledgers.payments, ledgers.adjustments, write_offs)
    rows = rows.filter(rows.invoice_id.notnull(), rows.payment_date.notnull())
    return rows if as_of is None else rows.filter(rows.payment_date <= as_of)


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
    """One row per invoice (dated <= T).

    Columns: invoice_id, customer_id, invoice_date, due_date, amount; ``paid_date``: the date
    its cumulative payments and credit notes (dated <= T; date, then id order) first reach its
    amount, null unless they cover it at T (:func:`~arinsight.engine.positions.paid_date`: the
    paid date of every page and KPI); ``paid`` (its payments dated <= T) and ``open_amount =
    max(0, amount - paid - credit notes - write-offs)``.
    """
    inv, _ = _cut(ledgers, as_of)
    rows = _settles(ledgers, as_of, write_offs=False)
    rows = rows.join(inv.select("invoice_id", invoice_amount=inv.amount), "invoice_id")
    totals = pos.invoice_payments(pos.applied_payments(rows))
    adj = ledgers.adjustments
    if as_of is not None:
        adj = adj.filter(adj.adjustment_date <= as_of)
    adj = adj.group_by(_aid="invoice_id").aggregate(
        credited=adj.amount.sum(where=adj.kind != pos.WRITE_OFF),
        written=adj.amount.sum(where=adj.kind == pos.WRITE_OFF),
    )
    j = inv.left_join(totals, inv.invoice_id == totals._key)
    j = j.left_join(adj, j.invoice_id == adj._aid)
    zero = ibis.literal(0).cast(MONEY_SUM)
    paid = j.paid.cast(MONEY_SUM).fill_null(zero)
    credited = j.credited.cast(MONEY_SUM).fill_null(zero)
    written = j.written.cast(MONEY_SUM).fill_null(zero)
    return j.select(
        "invoice_id",
        "customer_id",
        "invoice_date",
        "due_date",
        "amount",
        paid_date=pos.paid_date(paid + credited, j.amount, j.reached),
        paid=paid.cast(MONEY),
        open_amount=ibis.greatest(j.amount.cast(MONEY_SUM) - paid - credited - written, zero).cast(
            MONEY
        ),
    )


def _running(events: ir.Table, name: str, **values: ir.Value) -> ir.Table:
    """The running ``values`` (aggregates of ``events``' columns) per customer in day order, as
    known at the end of each day with an event (the frame takes every event of the day: its
    peers), keyed by ``_<name>_cid`` and ``_<name>_day``."""
    w = ibis.range_window(
        preceding=None, following=0, group_by=events.customer_id, order_by=events.day
    )
    return events.select(
        **{f"_{name}_cid": events.customer_id, f"_{name}_day": events.day},
        **{key: value.over(w) for key, value in values.items()},
    )


def _as_of(q: ir.Table, running: ir.Table, name: str) -> ir.Table:
    """``q`` (customer_id, day, ...) with the values of ``running`` (:func:`_running`) of its
    customer's latest event day before ``day`` (null when none)."""
    cid, day = running[f"_{name}_cid"], running[f"_{name}_day"]
    j = q.asof_join(running, on=q.day > day, predicates=q.customer_id == cid)
    return j.select(
        *q.columns, *[c for c in running.columns if c not in (cid.get_name(), day.get_name())]
    )


def customer_history(
    settled: ir.Table, paid: ir.Table, late_days: int, only: ir.Table | None = None
) -> ir.Table:
    """Per invoice of customer c dated d, what c's ledger showed at the close of day d - 1: sums
    over c's dated events before d (same-day invoices do not see each other). ``settled``: the
    rows of :func:`settlement`, ``paid``: those of :func:`applied` (of the same ledger, cut at T);
    ``only``: a table whose ``invoice_id`` column names the invoices wanted (every event of their
    customers still counts; default every invoice).

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

    Days are numbers (days since 1970-01-01). Three kinds of dated events per customer, each
    summed in day order (a window) and read by every invoice as of its customer's latest event
    day before d (an as-of join): money (invoices issued, payments, due dates passed),
    resolutions, paid dates. The invoices issued before d are its rank among its customer's
    invoices by date.
    """
    L = int(late_days)
    s, a = settled, paid
    by_due = a.filter(a.payment_date <= a.due_date)
    by_due = by_due.group_by(_inv="invoice_id").aggregate(before_due=by_due.applied.sum())
    s_due = s.left_join(by_due, s.invoice_id == by_due._inv)

    def money(t: ir.Table, day: ir.Value, open_: ir.Value | None, overdue: ir.Value | None):
        zero = ibis.literal(0).cast(MONEY)
        return t.select(
            "customer_id",
            day=day.epoch_days().cast("int32"),
            open=zero if open_ is None else open_.cast(MONEY),
            overdue=zero if overdue is None else overdue.cast(MONEY),
        )

    after_due = a.payment_date > a.due_date
    flows = (
        money(s, s.invoice_date, s.amount, None)
        .union(money(a, a.payment_date, -a.applied, ibis.ifelse(after_due, -a.applied, 0)))
        .union(
            money(
                s_due,
                s_due.due_date + ibis.interval(days=1),
                None,
                s_due.amount.cast(MONEY_SUM) - s_due.before_due.fill_null(0),
            )
        )
    )
    late = s.paid_date.isnull() | (s.paid_date.delta(s.due_date, unit="day") > L)
    k_day = ibis.ifelse(late, s.due_date.epoch_days() + (L + 1), s.paid_date.epoch_days())
    resolved = s.select(
        "customer_id",
        day=k_day.cast("int32"),
        late=late.cast("int32"),
        code=k_day.cast("int64") * 2 + late.cast("int64"),
        late_day=ibis.ifelse(late, k_day, ibis.null("int64")).cast("int32"),
    )
    done = s.filter(s.paid_date.notnull())
    settles = done.select(
        "customer_id",
        day=done.paid_date.epoch_days().cast("int32"),
        days_late=ibis.greatest(done.paid_date.delta(done.due_date, unit="day"), 0).cast("int32"),
    )
    rank = ibis.rank().over(group_by=s.customer_id, order_by=s.invoice_date)
    q = s.select(
        "invoice_id",
        "customer_id",
        day=s.invoice_date.epoch_days().cast("int32"),
        prior_invoices=rank,
    )
    if only is not None:
        q = q.semi_join(only, q.invoice_id == only.invoice_id)
    q = _as_of(q, _running(flows, "m", open=flows.open.sum(), overdue=flows.overdue.sum()), "m")
    q = _as_of(
        q,
        _running(
            resolved,
            "r",
            prior_known=resolved.count(),
            prior_late=resolved.late.sum(),
            last_code=resolved.code.max(),
            last_late_day=resolved.late_day.max(),
        ),
        "r",
    )
    q = _as_of(
        q,
        _running(settles, "s", prior_paid=settles.count(), prior_days_late=settles.days_late.sum()),
        "s",
    )
    zero = ibis.literal(0).cast(MONEY_SUM)
    counts = ("prior_invoices", "prior_known", "prior_late", "prior_paid", "prior_days_late")
    return q.select(
        "invoice_id",
        **{name: q[name].fill_null(0).cast("int64") for name in counts},
        open_balance=ibis.greatest(q.open.fill_null(zero), zero).cast(MONEY),
        overdue_balance=ibis.greatest(q.overdue.fill_null(zero), zero).cast(MONEY),
        last_late_day=q.last_late_day.cast("int64"),
        last_resolved_late=(q.last_code % 2) == 1,
    ).order_by(*KEYS["customer_history"])


def _origins(origins: Sequence[dt.date]) -> ir.Table:
    return ibis.memtable({"origin": list(origins)}).mutate(origin=lambda t: t.origin.cast("date"))


def open_at_origins(ledgers: Ledgers, origins: Sequence[dt.date]) -> ir.Table:
    """The invoices open at the end of each day O of ``origins``: dated <= O with ``open_amount
    = amount - payments and adjustments dated <= O > 0``, as :func:`~arinsight.engine.
    positions.invoice_positions` measures it at T = O.

    Columns: origin, invoice_id, customer_id, invoice_date, due_date, amount, open_amount.
    An invoice's open amount changes only on the days it is paid or adjusted: the payments and
    adjustments are summed per invoice and day once, with their running total, and cut each
    invoice's life into spans of one open amount (from its invoice date to its first such day,
    then from each day to the next). A span with an amount left open holds the origins in it
    (a range join with the few origins), so the cost follows the rows returned, not the
    invoices times the origins.
    """
    inv, _ = _cut(ledgers, None)
    pay = _settles(ledgers, None)
    days = pay.group_by("invoice_id", day=pay.payment_date).aggregate(
        day_paid=pay.amount.sum().cast(MONEY_SUM)
    )
    w = ibis.cumulative_window(group_by=days.invoice_id, order_by=days.day)
    days = days.mutate(
        running=days.day_paid.sum().over(w),
        next_day=days.day.lead().over(group_by=days.invoice_id, order_by=days.day),
    )
    zero = ibis.literal(0).cast(MONEY_SUM)
    first = days.group_by(_fid="invoice_id").aggregate(_first=days.day.min())
    head = inv.left_join(first, inv.invoice_id == first._fid)
    head = head.select(_sid="invoice_id", _from="invoice_date", _until="_first", _running=zero)
    moved = days.select(_sid="invoice_id", _from="day", _until="next_day", _running="running")
    spans = head.union(moved)
    s = inv.join(spans, inv.invoice_id == spans._sid)
    s = s.mutate(
        _from=ibis.greatest(s._from, s.invoice_date),
        open_amount=s.amount.cast(MONEY_SUM) - s._running,
    )
    # an open span without an end lasts past every origin
    beyond = max(origins, default=dt.date(1970, 1, 1)) + dt.timedelta(days=1)
    s = s.mutate(_until=s._until.fill_null(ibis.literal(beyond)))
    s = s.filter(s.open_amount > 0, s._until > s._from)
    o = _origins(origins)
    j = s.join(o, [o.origin >= s._from, o.origin < s._until])
    return j.select(
        "origin",
        "invoice_id",
        "customer_id",
        "invoice_date",
        "due_date",
        "amount",
        open_amount=j.open_amount.cast(MONEY),
    )


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
    out = out.mutate(week=out.week.cast("int64"), collected=out.collected.cast(MONEY))
    return out.order_by(*KEYS["collected_by_week"])
