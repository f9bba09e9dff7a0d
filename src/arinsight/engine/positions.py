"""Positions: what every invoice and every customer owes at the end of day T.

An invoice counts when ``invoice_date <= T``, a payment when ``payment_date <= T``, an
adjustment (write-off, credit note or other adjustment) when ``adjustment_date <= T``. Payments
settle the invoice whose ``invoice_id`` they carry (several may settle one invoice; their total
may exceed it: a credit balance). A payment without an invoice (``invoice_id`` null or unknown)
is *unapplied cash*: it is never applied to an invoice, so it does not reduce open AR.

Adjustments settle their invoice too, without cash (docs/kpis.md, "Write-offs and credit
notes"): with P the payments, C the credit notes and other adjustments (they correct the amount
billed) and W the write-offs (a credit loss) dated <= T,

- ``open = max(0, amount - P - C - W)``: what is still owed;
- ``credit = max(0, P + C - amount)``: what the customer is owed (cash or a credit note beyond
  the amount); a write-off beyond what payments and credit notes left open writes off nothing
  more (it is never owed to the customer), so the write-off that counts is
  ``min(W, max(0, amount - P - C))``;
- the reduction of the open amount is cash first: ``min(P, amount)``, and the rest,
  ``amount - open - min(P, amount)``, is the *non-cash* reduction (never a collection).

Regions: an invoice is reported under its own ``region`` (see staging); payments and
adjustments follow their invoice; unapplied cash follows its customer's master-data region.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from arinsight.engine.staging import MONEY, MONEY_SUM, money_sum
from arinsight.engine.window import AsOf

#: Key prefix of unapplied cash grouped per customer (a control character no id contains).
_UNAPPLIED = "\x1f"
#: The adjustment kind that is a credit loss; the others (credit notes, other adjustments)
#: correct the amount billed (:data:`arinsight.schemas.ADJUSTMENT_KINDS`).
WRITE_OFF = "write_off"


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


def adjustment_totals(adjustments: ir.Table, w: AsOf) -> ir.Table:
    """Adjustments per invoice id (``_akey``): ``adjustments`` (rows of any date, to tell a
    selection with adjustments from one without), ``credited`` (credit notes and other
    adjustments dated <= T) and ``written`` (write-offs dated <= T), the same dated <= the day
    before P (``credited_begin``, ``written_begin``) and in the invoice's currency
    (``credited_doc``, ``written_doc``); ``credited_in_period`` and ``written_in_period`` (dated
    in start .. T, as booked: the period's flows) and ``credit_touched`` (credit notes and
    other adjustments in start .. T)."""
    a = adjustments
    upto = a.adjustment_date <= w.as_of
    begin = a.adjustment_date <= w.begin
    in_p = upto & (a.adjustment_date >= w.start)
    wo = a.kind == WRITE_OFF
    cr = a.kind != WRITE_OFF
    return a.group_by(_akey=a.invoice_id).aggregate(
        adjustments=a.count(),
        credited=money_sum(a.amount, where=upto & cr),
        written=money_sum(a.amount, where=upto & wo),
        credited_begin=money_sum(a.amount, where=begin & cr),
        written_begin=money_sum(a.amount, where=begin & wo),
        credited_doc=money_sum(a.amount_doc, where=upto & cr),
        written_doc=money_sum(a.amount_doc, where=upto & wo),
        credited_in_period=money_sum(a.amount, where=in_p & cr),
        written_in_period=money_sum(a.amount, where=in_p & wo),
        credit_touched=a.count(where=in_p & cr),
    )


def settling_rows(payments: ir.Table, adjustments: ir.Table, write_offs: bool = True) -> ir.Table:
    """Payments and adjustments as one relation of dated settlements: payment_id (an
    adjustment's own id), invoice_id, customer_id, payment_date (an adjustment's date),
    amount, amount_doc and ``cash`` (True for a payment). ``write_offs=False`` leaves the
    write-offs out: what settles an invoice towards its paid date (payments and credit notes:
    a write-off is not a payment)."""
    cols = ("payment_id", "invoice_id", "customer_id", "payment_date", "amount", "amount_doc")
    pay = payments.select(*cols, cash=ibis.literal(True))
    a = adjustments if write_offs else adjustments.filter(adjustments.kind != WRITE_OFF)
    adj = a.select(
        payment_id=a.adjustment_id,
        invoice_id=a.invoice_id,
        customer_id=a.customer_id,
        payment_date=a.adjustment_date,
        amount=a.amount,
        amount_doc=a.amount_doc,
        cash=ibis.literal(False),
    )
    return pay.union(adj)


def invoice_positions(
    invoices: ir.Table,
    payments: ir.Table,
    adjustments: ir.Table,
    w: AsOf,
    buckets: Sequence[int],
) -> ir.Table:
    """One row per invoice (plus one per unapplied-cash key) with its position at T (the rules
    of the module docstring).

    - ``exists``: the invoice is dated <= T; ``in_period``: dated in start .. T;
    - ``paid`` = payments applied by T, ``credited`` / ``written`` = its credit notes and
      other adjustments / write-offs dated <= T; ``open_amount = max(0, amount - paid -
      credited - written)``, ``credit_amount = max(0, paid + credited - amount)`` (0 for
      invoices after T);
    - ``past_due``: ``due_date < T``; ``days_past_due = T - due_date`` when open and past due,
      else 0; ``bucket`` = its aging bucket (:func:`aging_bucket`);
    - ``open_begin`` = the open amount at the day before P for invoices dated <= begin;
    - ``adjusted`` = what adjustments took off the open amount in start .. T: the non-cash
      reduction ``amount - open - min(paid, amount)`` at T less the same at begin;
    - ``due``: ``due_date <= T``; ``fully_paid``: ``paid + credited >= amount`` (a write-off is
      not a payment);
    - ``collected`` = payments received in start .. T; ``unapplied`` = paid by T without invoice;
    - ``written_in_period`` / ``credited_in_period``: write-offs / credit notes and other
      adjustments dated in start .. T (as booked); ``adjustments``: its adjustments of any date;
    - ``month``: the first day of the invoice's month (null for unapplied cash);
    - ``invoice_id``, ``due_date``, ``invoice_amount``: the invoice's own (null for unapplied
      cash); ``touched``: a payment, credit note or other adjustment to it is dated in start .. T;
    - ``currency``, ``company_code``: the invoice's; ``open_doc`` = the open amount in the
      document currency, by the same rule (0 for invoices after T).
    """
    totals = payment_totals(payments, w)
    adj = adjustment_totals(adjustments, w)
    j = invoices.outer_join(totals, invoices.invoice_id == totals.key)
    j = j.left_join(adj, j.invoice_id == adj._akey)
    # Row values stay decimal(18,2) (one invoice's amounts and payments fit easily): 64-bit
    # arithmetic; only the sums across invoices widen to decimal(38,2).
    applied = j.invoice_id.notnull()
    exists = applied & (j.invoice_date <= w.as_of)
    dated_begin = applied & (j.invoice_date <= w.begin)
    zero = ibis.literal(0).cast(MONEY)

    def money(col: ir.Value) -> ir.DecimalValue:
        return col.cast(MONEY).fill_null(zero)

    paid, credited, written = money(j.paid), money(j.credited), money(j.written)
    amount = j.amount
    open_amount = ibis.ifelse(
        exists, ibis.greatest(amount - paid - credited - written, zero).cast(MONEY), zero
    )
    paid_begin = money(j.paid_begin)
    open_begin = ibis.ifelse(
        dated_begin,
        ibis.greatest(
            amount - paid_begin - money(j.credited_begin) - money(j.written_begin), zero
        ).cast(MONEY),
        zero,
    )
    noncash = ibis.ifelse(exists, amount - open_amount - ibis.least(paid, amount), zero)
    noncash_begin = ibis.ifelse(
        dated_begin, amount - open_begin - ibis.least(paid_begin, amount), zero
    )
    past_due = j.due_date < w.as_of
    days_past_due = ibis.ifelse(
        exists & (open_amount > 0) & past_due,
        ibis.literal(w.as_of).delta(j.due_date, unit="day"),
        0,
    )
    open_doc = j.amount_doc - money(j.paid_doc) - money(j.credited_doc) - money(j.written_doc)
    return j.select(
        invoice_region=j.region,
        customer_id=j.customer_id.fill_null(j.payer),
        applied=applied,
        exists=exists,
        in_period=exists & (j.invoice_date >= w.start),
        amount=ibis.ifelse(exists, amount, zero),
        paid=ibis.ifelse(exists, paid, zero),
        open_amount=open_amount,
        credit_amount=ibis.ifelse(
            exists, ibis.greatest(paid + credited - amount, zero).cast(MONEY), zero
        ),
        past_due=exists & past_due,
        days_past_due=days_past_due,
        bucket=aging_bucket(days_past_due, buckets),
        open_begin=open_begin,
        adjusted=(noncash - noncash_begin).cast(MONEY),
        due=exists & (j.due_date <= w.as_of),
        fully_paid=exists & (paid + credited >= amount),
        collected=j.collected.cast(MONEY).fill_null(zero),
        unapplied=ibis.ifelse(applied, zero, paid),
        written_in_period=money(j.written_in_period),
        credited_in_period=money(j.credited_in_period),
        adjustments=j.adjustments.fill_null(0),
        payments=j.payments.fill_null(0),
        month=j.invoice_date.truncate("M").cast("date"),
        invoice_id=j.invoice_id,
        due_date=j.due_date,
        invoice_amount=j.amount,
        touched=(j.touched.fill_null(0) + j.credit_touched.fill_null(0)) > 0,
        currency=j.currency,
        company_code=j.company_code,
        open_doc=ibis.ifelse(exists, ibis.greatest(open_doc, zero).cast(MONEY), zero),
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


def paid_in_period(invoices: ir.Table, settles: ir.Table, w: AsOf) -> ir.Table:
    """Invoices first fully paid in start .. T, with ``paid_date`` and ``days_late``.

    ``settles``: the rows that pay an invoice (:func:`settling_rows` without write-offs:
    payments and credit notes). ``paid_date`` = the date the invoice's cumulative settling rows
    (ordered by date, then id: a unique tie-breaker) first reach its amount; ``days_late =
    max(0, paid_date - due_date)`` (early counts as 0). Only invoices with a row in the period
    can qualify, so the running sum is taken over their rows alone. Columns: invoice_id, region,
    paid_date, days_late.
    """
    upto = settles.filter(settles.payment_date <= w.as_of, settles.invoice_id.notnull())
    touched = upto.filter(upto.payment_date >= w.start).select("invoice_id").distinct()
    p = upto.semi_join(touched, "invoice_id")
    inv = invoices.select("invoice_id", "due_date", "region", invoice_amount=invoices.amount)
    return _first_paid(p.join(inv, "invoice_id"), w)


def paid_in_period_of(positions: ir.Table, settles: ir.Table, w: AsOf) -> ir.Table:
    """:func:`paid_in_period` of the invoices of ``positions`` (:func:`invoice_positions`, which
    already knows the invoices with a payment or credit note in the period: no second look at
    the invoices); ``settles``: the settling rows of :func:`paid_in_period` (others are left out
    by the join)."""
    inv = positions.filter(positions.touched)
    inv = inv.select("invoice_id", "due_date", "invoice_amount", region=inv.invoice_region)
    upto = settles.filter(settles.payment_date <= w.as_of, settles.invoice_id.notnull())
    return _first_paid(upto.join(inv, "invoice_id"), w)


def _first_paid(p: ir.Table, w: AsOf) -> ir.Table:
    """The settling rows ``p`` (with their invoice's due_date, region, invoice_amount) at which
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
    sum; ``paid_doc`` in the invoice's currency, when the rows carry ``amount_doc``),
    ``reached`` (the first date at which the running total reaches the amount), ``payments``
    (count), ``last_payment_date``. Rows of :func:`settling_rows` (with ``cash``) count in
    ``reached`` only unless they are payments: a credit note settles, it pays nothing."""
    cash = p.cash if "cash" in p.columns else None
    doc = {"paid_doc": p.amount_doc.sum(where=cash)} if "amount_doc" in p.columns else {}
    return p.group_by(_key="invoice_id").aggregate(
        paid=p.amount.sum(where=cash),
        **doc,
        reached=p.payment_date.min(where=p.running >= p.invoice_amount),
        payments=p.count(where=cash),
        last_payment_date=p.payment_date.max(where=cash),
    )


def paid_date(paid: ir.Value, amount: ir.Value, reached: ir.DateValue) -> ir.DateValue:
    """An invoice's paid date: the date its cumulative payments (payment date, then payment id
    order) first reach its amount (``reached`` of :func:`invoice_payments`), null unless its
    payments (``paid``) cover the ``amount``: the engine's one definition."""
    return ibis.ifelse(paid >= amount, reached, ibis.null("date"))


def balance_events(
    invoices: ir.Table, payments: ir.Table, adjustments: ir.Table, w: AsOf
) -> ir.Table:
    """Dated changes of open AR up to T, so that AR(x) = sum of the deltas dated <= x.

    An invoice adds its amount on its invoice date; a payment or an adjustment (write-off,
    credit note: :func:`settling_rows`) takes off the invoice's open amount what it is applied
    (:func:`applied_payments`: running sums in date, then id order), so AR(x) is the open AR of
    :func:`invoice_positions` at x. ``overdue_date`` = ``max(date, due_date + 1 day)``: the day
    the change starts to count as overdue. Columns: region, date, overdue_date, delta.
    """
    inv = invoices.filter(invoices.invoice_date <= w.as_of)
    p = settling_rows(payments, adjustments)
    p = p.filter(p.payment_date <= w.as_of, p.invoice_id.notnull())
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
