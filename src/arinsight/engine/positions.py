"""Positions: what every invoice and every customer owes at the end of day T.

An invoice counts when ``invoice_date <= T``, a payment when ``payment_date <= T``. Payments
settle the invoice whose ``invoice_id`` they carry (several may settle one invoice; their total
may exceed it: a credit balance). A payment without an invoice (``invoice_id`` null or unknown)
is *unapplied cash*: it is never applied to an invoice, so it does not reduce open AR.

Regions: an invoice is reported under its own ``region`` (see staging); payments follow their
invoice; unapplied cash follows its customer's master-data region.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from arinsight.engine.staging import MONEY, MONEY_SUM, money_sum
from arinsight.engine.window import AsOf

#: Key prefix of unapplied cash grouped per customer (a control character no id contains).
_UNAPPLIED = "\x1f"


def days_of(w: AsOf) -> ir.IntegerValue:
    """Days from start to T inclusive, computed by the engine from the two dates (so a
    compiled plan serves any dates: see arinsight.engine.duck)."""
    return ibis.literal(w.as_of).delta(ibis.literal(w.start), unit="day") + 1


def months_of(w: AsOf) -> ir.IntegerValue:
    """Calendar months from start to T (the CEI convention), computed by the engine."""
    t, s = ibis.literal(w.as_of), ibis.literal(w.start)
    return (t.year() - s.year()) * 12 + t.month() - s.month() + 1


def aging_bucket(days_past_due: ir.IntegerValue, buckets: Sequence[int]) -> ir.IntegerValue:
    """Index of the aging bucket of ``days_past_due``: 0 for ``<= buckets[0]``, i for
    ``buckets[i-1] < days <= buckets[i]``, ``len(buckets)`` past the last bound."""
    return ibis.cases(
        *[(days_past_due <= int(b), i) for i, b in enumerate(buckets)], else_=len(buckets)
    )


def payment_key(payments: ir.Table) -> ir.StringValue:
    """The invoice a payment settles, or (no invoice) a key of its customer's unapplied cash."""
    return payments.invoice_id.fill_null(ibis.literal(_UNAPPLIED).concat(payments.customer_id))


def payment_totals(payments: ir.Table, w: AsOf) -> ir.Table:
    """Payments up to T per invoice id (``key``), and unapplied cash without an id per customer.

    Columns: key, payer (the smallest paying customer id: the customer of unapplied cash),
    payments (count), paid (by T), paid_begin (by the day before P), collected (in start .. T),
    touched (payments in start .. T).
    """
    p = payments.filter(payments.payment_date <= w.as_of)
    return p.group_by(key=payment_key(p)).aggregate(
        payer=p.customer_id.min(),
        payments=p.count(),
        paid=money_sum(p.amount),
        paid_begin=money_sum(p.amount, where=p.payment_date <= w.begin),
        collected=money_sum(p.amount, where=p.payment_date >= w.start),
        touched=p.count(where=p.payment_date >= w.start),
        paid_doc=money_sum(p.amount_doc),
    )


def invoice_positions(
    invoices: ir.Table, payments: ir.Table, w: AsOf, buckets: Sequence[int]
) -> ir.Table:
    """One row per invoice (plus one per unapplied-cash key) with its position at T.

    - ``exists``: the invoice is dated <= T; ``in_period``: dated in start .. T;
    - ``paid`` = payments applied by T; ``open_amount = max(0, amount - paid)``,
      ``credit_amount = max(0, paid - amount)`` (0 for invoices after T);
    - ``past_due``: ``due_date < T``; ``days_past_due = T - due_date`` when open and past due,
      else 0; ``bucket`` = its aging bucket (:func:`aging_bucket`);
    - ``open_begin`` = ``max(0, amount - paid by begin)`` for invoices dated <= begin;
    - ``due``: ``due_date <= T``; ``fully_paid``: ``paid >= amount``;
    - ``collected`` = payments received in start .. T; ``unapplied`` = paid by T without invoice;
    - ``month``: the first day of the invoice's month (null for unapplied cash);
    - ``invoice_id``, ``due_date``, ``invoice_amount``: the invoice's own (null for unapplied
      cash); ``touched``: a payment to it is dated in start .. T;
    - ``currency``, ``company_code``: the invoice's; ``open_doc`` = ``max(0, amount_doc -
      payments applied by T in the document currency)`` (0 for invoices after T).
    """
    totals = payment_totals(payments, w)
    j = invoices.outer_join(totals, invoices.invoice_id == totals.key)
    # Row values stay decimal(18,2) (one invoice's amounts and payments fit easily): 64-bit
    # arithmetic; only the sums across invoices widen to decimal(38,2).
    applied = j.invoice_id.notnull()
    exists = applied & (j.invoice_date <= w.as_of)
    zero = ibis.literal(0).cast(MONEY)
    paid = j.paid.cast(MONEY).fill_null(zero)
    amount = j.amount
    open_amount = ibis.ifelse(exists, ibis.greatest(amount - paid, zero).cast(MONEY), zero)
    past_due = j.due_date < w.as_of
    days_past_due = ibis.ifelse(
        exists & (open_amount > 0) & past_due,
        ibis.literal(w.as_of).delta(j.due_date, unit="day"),
        0,
    )
    return j.select(
        invoice_region=j.region,
        customer_id=j.customer_id.fill_null(j.payer),
        applied=applied,
        exists=exists,
        in_period=exists & (j.invoice_date >= w.start),
        amount=ibis.ifelse(exists, amount, zero),
        paid=ibis.ifelse(exists, paid, zero),
        open_amount=open_amount,
        credit_amount=ibis.ifelse(exists, ibis.greatest(paid - amount, zero).cast(MONEY), zero),
        past_due=exists & past_due,
        days_past_due=days_past_due,
        bucket=aging_bucket(days_past_due, buckets),
        open_begin=ibis.ifelse(
            applied & (j.invoice_date <= w.begin),
            ibis.greatest(amount - j.paid_begin.cast(MONEY).fill_null(zero), zero).cast(MONEY),
            zero,
        ),
        due=exists & (j.due_date <= w.as_of),
        fully_paid=exists & (paid >= amount),
        collected=j.collected.cast(MONEY).fill_null(zero),
        unapplied=ibis.ifelse(applied, zero, paid),
        payments=j.payments.fill_null(0),
        month=j.invoice_date.truncate("M").cast("date"),
        invoice_id=j.invoice_id,
        due_date=j.due_date,
        invoice_amount=j.amount,
        touched=j.touched.fill_null(0) > 0,
        currency=j.currency,
        company_code=j.company_code,
        open_doc=ibis.ifelse(
            exists,
            ibis.greatest(j.amount_doc - j.paid_doc.cast(MONEY).fill_null(zero), zero).cast(MONEY),
            zero,
        ),
    )


def customer_positions(
    positions: ir.Table, customers: ir.Table, measures: dict[str, callable]
) -> ir.Table:
    """The ``measures`` of each (region, customer): invoices under their own region (staging
    already fell back to the customer's), unapplied cash under the customer's master-data
    region. An invoice row with a null region has a customer without one, so one rule serves
    both: ``region = invoice region, else the customer's``."""
    by_customer = positions.group_by("invoice_region", "customer_id").aggregate(
        **{name: fn(positions) for name, fn in measures.items()}
    )
    return _by_region(by_customer, customers, list(measures), "customer_id")


def region_positions(
    positions: ir.Table, customers: ir.Table, measures: dict[str, callable]
) -> ir.Table:
    """The ``measures`` of each region, by the rule of :func:`customer_positions`. Rows with an
    invoice region are summed per region at once; only the others (unapplied cash, customers
    without a region) are summed per customer first to meet the customer's region, so the
    large grouping per customer is left to the few measures that need it."""
    who = ibis.ifelse(positions.invoice_region.isnull(), positions.customer_id, ibis.null("string"))
    by_who = positions.group_by("invoice_region", who=who).aggregate(
        **{name: fn(positions) for name, fn in measures.items()}
    )
    return _by_region(by_who, customers, list(measures), "who", keep=False)


def _by_region(
    rows: ir.Table, customers: ir.Table, names: Sequence[str], key: str, keep: bool = True
) -> ir.Table:
    """``rows`` (invoice_region, ``key``, measures) summed per (region, customer) (``keep``)
    or per region: ``region = invoice_region``, else the master-data region of ``key``."""
    master = customers.select(_customer="customer_id", master_region=customers.region)
    joined = rows.left_join(master, rows[key] == master._customer)
    region = joined.invoice_region.fill_null(joined.master_region)
    if keep:
        scoped = joined.select(*names, region=region, customer_id=joined[key])
        keys = ["region", "customer_id"]
    else:
        scoped = joined.select(*names, region=region)
        keys = ["region"]
    return scoped.group_by(*keys).aggregate(**{name: scoped[name].sum() for name in names})


def paid_so_far(p: ir.Table) -> ir.Value:
    """Per payment row, its invoice's payments up to and including it (running sum in payment
    date, then payment id order: a unique tie-breaker)."""
    order = [p.payment_date, p.payment_id]
    window = ibis.window(group_by=p.invoice_id, order_by=order, preceding=None, following=0)
    return p.amount.cast(MONEY_SUM).sum().over(window)


def paid_in_period(invoices: ir.Table, payments: ir.Table, w: AsOf) -> ir.Table:
    """Invoices first fully paid in start .. T, with ``paid_date`` and ``days_late``.

    ``paid_date`` = the date the invoice's cumulative payments (ordered by payment date, then
    payment id: a unique tie-breaker) first reach its amount; ``days_late = max(0, paid_date -
    due_date)`` (early counts as 0). Only invoices with a payment in the period can qualify, so
    the running sum is taken over their payments alone. Columns: invoice_id, region, paid_date,
    days_late.
    """
    upto = payments.filter(payments.payment_date <= w.as_of, payments.invoice_id.notnull())
    touched = upto.filter(upto.payment_date >= w.start).select("invoice_id").distinct()
    p = upto.semi_join(touched, "invoice_id")
    inv = invoices.select("invoice_id", "due_date", "region", invoice_amount=invoices.amount)
    return _first_paid(p.join(inv, "invoice_id"), w)


def paid_in_period_of(positions: ir.Table, payments: ir.Table, w: AsOf) -> ir.Table:
    """:func:`paid_in_period` of the invoices of ``positions`` (:func:`invoice_positions`, which
    already knows the invoices with a payment in the period: no second look at the invoices);
    ``payments``: those applied to them (others are left out by the join)."""
    inv = positions.filter(positions.touched)
    inv = inv.select("invoice_id", "due_date", "invoice_amount", region=inv.invoice_region)
    upto = payments.filter(payments.payment_date <= w.as_of, payments.invoice_id.notnull())
    return _first_paid(upto.join(inv, "invoice_id"), w)


def _first_paid(p: ir.Table, w: AsOf) -> ir.Table:
    """The payment rows ``p`` (with their invoice's due_date, region, invoice_amount) at which
    the invoice's running total first reaches its amount within start .. T."""
    running = paid_so_far(p)
    p = p.mutate(running=running)
    first = p.filter(
        p.running >= p.invoice_amount,
        p.running - p.amount < p.invoice_amount,
        p.payment_date >= w.start,
    )
    return first.select(
        "invoice_id",
        "region",
        paid_date=first.payment_date,
        days_late=ibis.greatest(first.payment_date.delta(first.due_date, unit="day"), 0),
    )


def sales_by_month(rows: ir.Table) -> ir.Table:
    """Credit sales per region and calendar month of ``rows`` (region, month: the first day of
    the invoice's month, amount; invoices dated <= T): region, month, sales."""
    return rows.group_by("region", "month").aggregate(sales=money_sum(rows.amount))


def month_days(months: ir.Table, w: AsOf) -> ir.Table:
    """``months`` (region, month, sales; rows of several parts) summed per region and month,
    with days: the days of the month up to T."""
    # a date again: a backend may keep the month of a stored table as a timestamp (Spark)
    out = months.group_by("region", month=months.month.cast("date")).aggregate(
        sales=months.sales.sum()
    )
    next_month = out.month + ibis.interval(months=1)
    last_day = ibis.least(next_month - ibis.interval(days=1), ibis.literal(w.as_of))
    return out.mutate(days=last_day.delta(out.month, unit="day") + 1)


def commission_positions(commissions: ir.Table, invoices: ir.Table, w: AsOf) -> ir.Table:
    """Commission amounts per region (their invoice's; none = reported under "All" only).

    A commission is accrued by T when ``accrual_date <= T`` and settled by T when ``is_settled``
    and ``settlement_date <= T`` (settled without a date: settled at any T after its accrual).
    Columns: region, commissions (accrued by T), outstanding (accrued by T, not settled by T),
    paid (settled in start .. T), earned (accrued in start .. T).
    """
    c = commissions
    settled_by_t = c.is_settled & (c.settlement_date.isnull() | (c.settlement_date <= w.as_of))
    accrued = c.accrual_date <= w.as_of
    by_invoice = c.group_by("invoice_id").aggregate(
        commissions=ibis.ifelse(accrued, 1, 0).sum(),
        outstanding=money_sum(c.amount, where=accrued & ~settled_by_t),
        paid=money_sum(
            c.amount,
            where=c.is_settled & (c.settlement_date >= w.start) & (c.settlement_date <= w.as_of),
        ),
        earned=money_sum(c.amount, where=(c.accrual_date >= w.start) & accrued),
    )
    regions = invoices.select("invoice_id", "region")
    j = by_invoice.left_join(regions, "invoice_id")
    return j.group_by("region").aggregate(
        **{k: j[k].sum() for k in ("commissions", "outstanding", "paid", "earned")}
    )


def applied_payments(p: ir.Table) -> ir.Table:
    """The payment rows ``p`` (each with its invoice's ``invoice_amount``) with ``running`` (its
    invoice's payments up to and including it: :func:`paid_so_far`) and ``applied``: how much it
    reduces the invoice's open amount, ``min(running, amount) - min(running - payment, amount)``
    (the running total capped at the amount, differenced: an overpayment reduces it to 0, not
    below; a refund re-opens it)."""
    p = p.mutate(running=paid_so_far(p))
    cap = p.invoice_amount.cast(MONEY_SUM)
    return p.mutate(applied=ibis.least(p.running, cap) - ibis.least(p.running - p.amount, cap))


def invoice_payments(p: ir.Table) -> ir.Table:
    """The payment rows ``p`` of :func:`applied_payments` per invoice (``_key``): ``paid`` (their
    sum; ``paid_doc`` in the invoice's currency, when the rows carry ``amount_doc``), ``reached`` (the first payment date at which the running total reaches the amount),
    ``payments`` (count), ``last_payment_date``."""
    doc = {"paid_doc": p.amount_doc.sum()} if "amount_doc" in p.columns else {}
    return p.group_by(_key="invoice_id").aggregate(
        paid=p.amount.sum(),
        **doc,
        reached=p.payment_date.min(where=p.running >= p.invoice_amount),
        payments=p.count(),
        last_payment_date=p.payment_date.max(),
    )


def paid_date(paid: ir.Value, amount: ir.Value, reached: ir.DateValue) -> ir.DateValue:
    """An invoice's paid date: the date its cumulative payments (payment date, then payment id
    order) first reach its amount (``reached`` of :func:`invoice_payments`), null unless its
    payments (``paid``) cover the ``amount``: the engine's one definition."""
    return ibis.ifelse(paid >= amount, reached, ibis.null("date"))


def balance_events(invoices: ir.Table, payments: ir.Table, w: AsOf) -> ir.Table:
    """Dated changes of open AR up to T, so that AR(x) = sum of the deltas dated <= x.

    An invoice adds its amount on its invoice date; a payment takes off the invoice's open amount
    what it is applied (:func:`applied_payments`: running sums in payment date, then payment id
    order). ``overdue_date`` = ``max(date, due_date + 1 day)``: the day the change starts to
    count as overdue. Columns: region, date, overdue_date, delta.
    """
    inv = invoices.filter(invoices.invoice_date <= w.as_of)
    p = payments.filter(payments.payment_date <= w.as_of, payments.invoice_id.notnull())
    p = p.join(
        inv.select("invoice_id", "due_date", "region", invoice_amount=inv.amount), "invoice_id"
    )
    p = applied_payments(p)
    one_day = ibis.interval(days=1)
    pay_events = p.select(
        "region",
        date=p.payment_date,
        overdue_date=ibis.greatest(p.payment_date, p.due_date + one_day),
        delta=-p.applied,
    )
    inv_events = inv.select(
        "region",
        date=inv.invoice_date,
        overdue_date=ibis.greatest(inv.invoice_date, inv.due_date + one_day),
        delta=inv.amount.cast(MONEY_SUM),
    )
    return inv_events.union(pay_events)
