"""Marts: KPIs of "All" and every region in one grouped query, and the customer lists.

Every mart reads relations keyed by ``region`` and returns "All" as a union with the per-region
rows (Ibis has no GROUPING SETS): "All" is the sum of the per-region sums, so invoices of a NULL
region count in "All" and nowhere else. Regions are taken from a dimension (the requested list,
or every region of the data), so an empty region still has its row (every KPI NULL).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from arinsight.engine import positions as pos
from arinsight.engine.metrics import ADJUSTMENT_KPIS, COMMISSIONS, KPIS, RECEIVABLES, measures
from arinsight.engine.parts import WHOLE, Part
from arinsight.engine.positions import AsOf
from arinsight.engine.results import ALL
from arinsight.engine.sources import Ledgers
from arinsight.engine.staging import MONEY, MONEY_SUM, money_sum


def _with_all(by_region: ir.Table, keys: Sequence[str] = ()) -> ir.Table:
    """``by_region`` (region, *keys, sums) with "All" rows added: the sums over every region."""
    values = [c for c in by_region.columns if c not in ("region", *keys)]
    sums = {c: by_region[c].sum() for c in values}
    total = by_region.group_by(*keys).aggregate(**sums) if keys else by_region.aggregate(**sums)
    total = total.mutate(region=ibis.literal(ALL)).select("region", *keys, *values)
    return total.union(by_region.select("region", *keys, *values))


def _attach(left: ir.Table, right: ir.Table) -> ir.Table:
    """``left`` with the columns of ``right`` (one row per region) joined on region."""
    extra = [c for c in right.columns if c != "region"]
    right = right.rename(_region="region")
    joined = left.left_join(right, left.region == right._region)
    return joined.select(*left.columns, *extra)


def _invoices_of(invoices: ir.Table, part: Part) -> ir.Table:
    """The invoices of ``part`` (see :mod:`arinsight.engine.parts`)."""
    if part.kind == "hash":
        return invoices.filter(_part_of(invoices.invoice_id, part.n) == part.k)
    if part.kind == "range":
        return invoices.filter(*_in_range(invoices.invoice_id, part))
    if part.kind == "unapplied":
        return invoices.filter(invoices.invoice_id.isnull())  # none: ids are never null
    return invoices


def _payments_of(payments: ir.Table, part: Part) -> ir.Table:
    """The payments of ``part``: those applied to its invoices (by invoice id, known or not),
    and for a hash part the unapplied cash whose customer key hashes to it."""
    if part.kind == "hash":
        return payments.filter(_part_of(pos.payment_key(payments), part.n) == part.k)
    if part.kind == "range":
        return payments.filter(*_in_range(payments.invoice_id, part))
    if part.kind == "unapplied":
        return payments.filter(payments.invoice_id.isnull())
    return payments


def _adjustments_of(adjustments: ir.Table, part: Part) -> ir.Table:
    """The adjustments of ``part``: those of its invoices (an adjustment always names one)."""
    if part.kind == "hash":
        return adjustments.filter(_part_of(adjustments.invoice_id, part.n) == part.k)
    if part.kind == "range":
        return adjustments.filter(*_in_range(adjustments.invoice_id, part))
    if part.kind == "unapplied":
        return adjustments.filter(adjustments.invoice_id.isnull())
    return adjustments


def _in_range(key: ir.StringValue, part: Part) -> list[ir.BooleanValue]:
    """``lo <= key < hi`` (a None bound open; a null key is in no range). Plain comparisons
    of the column, so that DuckDB skips the row groups outside them by their statistics."""
    out = [key.notnull()]
    if part.lo is not None:
        out.append(key >= part.lo)
    if part.hi is not None:
        out.append(key < part.hi)
    return out


def positions(ledgers: Ledgers, w: AsOf, buckets: Sequence[int], part: Part = WHOLE[0]) -> ir.Table:
    """Every invoice's position at T (:func:`~arinsight.engine.positions.invoice_positions`):
    the one pass over invoices, payments and adjustments, which the engine keeps in the backend
    and reads twice (:func:`customer_balances`, :func:`region_measures`).

    ``part`` keeps only the invoices of a part of the ids and the payments and adjustments
    applied to them (or the unapplied cash): the parts add up to the whole, and a ledger too
    large for memory is computed part by part instead of spilling one huge hash table to disk.
    """
    invoices = _invoices_of(ledgers.invoices, part)
    payments = _payments_of(ledgers.payments, part)
    adjustments = _adjustments_of(ledgers.adjustments, part)
    return pos.invoice_positions(invoices, payments, adjustments, w, buckets)


#: The measures needed per customer: the top customers and the credit-limit check.
CUSTOMER_MEASURES = ("open_ar", "overdue_ar")


def customer_balances(p: ir.Table, ledgers: Ledgers, buckets: Sequence[int]) -> ir.Table:
    """open_ar and overdue_ar per (region, customer) of the positions ``p``, for the customers
    with something open (only they can be top customers or over a credit limit, limits being
    >= 0: the processed schema refuses a negative one). Most invoices of a ledger are paid,
    so this grouping is small."""
    m = measures(buckets)
    p = p.filter(p.open_amount > 0)
    return pos.customer_positions(p, ledgers.customers, {k: m[k] for k in CUSTOMER_MEASURES})


def region_measures(p: ir.Table, ledgers: Ledgers, buckets: Sequence[int]) -> ir.Table:
    """Every measure per region of the positions ``p``."""
    return pos.region_positions(p, ledgers.customers, measures(buckets))


def sales_months(p: ir.Table) -> ir.Table:
    """Credit sales per region and month of the positions ``p`` (for countback DSO)."""
    p = p.filter(p.exists)
    return pos.sales_by_month(p.select(region=p.invoice_region, month=p.month, amount=p.amount))


def _invoice_months(invoices: ir.Table, w: AsOf) -> ir.Table:
    """:func:`sales_months` from the invoices themselves."""
    inv = invoices.filter(invoices.invoice_date <= w.as_of)
    return pos.sales_by_month(inv.select("region", "amount", month=inv.invoice_date.truncate("M")))


def customer_positions(
    ledgers: Ledgers, w: AsOf, buckets: Sequence[int], part: Part = WHOLE[0]
) -> ir.Table:
    """Every measure per (region, customer) at T, in one query (the warehouses' compile check
    and :func:`kpis_by_region` of a single expression use it; the engine keeps
    :func:`positions` and reads it twice instead)."""
    p = positions(ledgers, w, buckets, part)
    return pos.customer_positions(p, ledgers.customers, measures(buckets))


def _part_of(key: ir.StringValue, n: int) -> ir.IntegerValue:
    """0 .. n-1 from the hash of ``key`` (hashes may be negative on some engines)."""
    return (key.hash() % n + n) % n


def regroup(t: ir.Table, keys: Sequence[str] = ("region", "customer_id")) -> ir.Table:
    """Sums computed in parts, summed back to one row per ``keys``."""
    values = [c for c in t.columns if c not in keys]
    return t.group_by(*keys).aggregate(**{c: t[c].sum() for c in values})


def dim_regions(customers: ir.Table, scoped: ir.Table, regions: Sequence[str] | None) -> ir.Table:
    """ "All" plus the requested regions, or every non-null region of customers and of
    ``scoped`` (measures by region, which hold every invoice's region).

    Each named region is a one-row aggregate (no in-memory table: nothing to upload to a
    database, no pandas on the command line's path)."""

    def one(name: str) -> ir.Table:
        return customers.aggregate(_n=customers.count()).select(region=ibis.literal(name))

    out = one(ALL)
    if regions is not None:
        for name in dict.fromkeys(str(r) for r in regions if r != ALL):
            out = out.union(one(name))
        return out
    found = customers.select("region").union(scoped.select("region")).distinct()
    return out.union(found.filter(found.region.notnull()))


def _customers_scoped(cp: ir.Table) -> ir.Table:
    """(region, customer_id, open_ar, overdue_ar) per region and, as "All", over all regions."""
    cp = cp.select("region", "customer_id", "open_ar", "overdue_ar")
    total = cp.group_by("customer_id").aggregate(
        open_ar=cp.open_ar.sum(), overdue_ar=cp.overdue_ar.sum()
    )
    total = total.mutate(region=ibis.literal(ALL)).select(*cp.columns)
    return total.union(cp)


def over_limit(cp: ir.Table, customers: ir.Table) -> ir.Table:
    """customers_over_credit_limit per region: customers whose open AR there exceeds their limit;
    NULL when no customer has a credit limit at all (the input is absent, not zero)."""
    scoped = _customers_scoped(cp)
    limits = customers.select("customer_id", "credit_limit")
    j = scoped.left_join(limits, scoped.customer_id == limits.customer_id)
    over = j.group_by("region").aggregate(n=ibis.ifelse(j.open_ar > j.credit_limit, 1, 0).sum())
    any_limit = customers.credit_limit.count().as_scalar()
    return over.select(
        "region", customers_over_credit_limit=ibis.ifelse(any_limit > 0, over.n, ibis.null("int64"))
    )


def countback(cp_by_scope: ir.Table, months: ir.Table, w: AsOf) -> ir.Table:
    """Countback DSO per region: walk back month by month from T, consuming AR(T) with each
    month's sales; whole months count all their days (up to T), the month where AR runs out
    counts ``remaining AR / its sales * its days``. Regions with nothing open get no row.
    ``months``: the rows of :func:`sales_months` (of one or several parts)."""
    months = pos.month_days(months, w)
    months = _with_all(months, keys=("month", "days"))
    s = months.join(cp_by_scope.select("region", "open_ar"), "region")
    win = ibis.window(group_by=s.region, order_by=ibis.desc(s.month), preceding=None, following=0)
    s = s.mutate(consumed=s.sales.sum().over(win))
    s = s.mutate(before=s.consumed - s.sales)
    hit = s.filter(s.consumed >= s.open_ar, s.before < s.open_ar, s.open_ar > 0)
    full_days = ibis.literal(w.as_of).delta(hit.month, unit="day") + 1
    share = (hit.open_ar - hit.before).cast("float64") / hit.sales.cast("float64")
    return hit.select("region", countback_dso=full_days - hit.days + share * hit.days)


def late_by_region(
    ledgers: Ledgers, w: AsOf, part: Part = WHOLE[0], p: ir.Table | None = None
) -> ir.Table:
    """late_days (sum) and late_invoices (count) per region of the invoices of ``part`` fully
    paid (by payments and credit notes) in start .. T (the parts add up: an invoice, its
    payments and its adjustments are in one part); ``p``: the part's positions, when kept
    (their invoices are read instead of the ledger's)."""
    settles = pos.settling_rows(
        _payments_of(ledgers.payments, part),
        _adjustments_of(ledgers.adjustments, part),
        write_offs=False,
    )
    if p is None:
        paid = pos.paid_in_period(_invoices_of(ledgers.invoices, part), settles, w)
    else:
        paid = pos.paid_in_period_of(p, settles, w)
    return paid.group_by("region").aggregate(
        late_days=paid.days_late.sum(), late_invoices=paid.count()
    )


def late_payments(ledgers: Ledgers, w: AsOf, by_region: ir.Table | None = None) -> ir.Table:
    """late_days (sum) and late_invoices (count) of invoices fully paid in start .. T, per
    region and "All"; ``by_region``: the rows of :func:`late_by_region` computed in parts."""
    if by_region is None:
        return _with_all(late_by_region(ledgers, w))
    sums = by_region.group_by("region").aggregate(
        late_days=by_region.late_days.sum(), late_invoices=by_region.late_invoices.sum()
    )
    return _with_all(sums)


def commissions_by_region(
    ledgers: Ledgers, w: AsOf, part: Part = WHOLE[0], p: ir.Table | None = None
) -> ir.Table:
    """Commission sums per region of the commissions of ``part`` (by their invoice id; those
    without one go with the unapplied cash, or the first hash part); ``p``: the part's
    positions, when kept (the invoices' regions are read from them)."""
    c = ledgers.commissions
    if part.kind == "hash":
        mine = _part_of(c.invoice_id, part.n) == part.k
        c = c.filter(mine | c.invoice_id.isnull() if part.k == 0 else mine)
    elif part.kind == "range":
        c = c.filter(*_in_range(c.invoice_id, part))
    elif part.kind == "unapplied":
        c = c.filter(c.invoice_id.isnull())
    if p is None:
        invoices = _invoices_of(ledgers.invoices, part)
    else:
        invoices = p.filter(p.applied).select("invoice_id", region=p.invoice_region)
    return pos.commission_positions(c, invoices, w)


def commissions(ledgers: Ledgers, w: AsOf, by_region: ir.Table | None = None) -> ir.Table:
    """Commission sums per region and "All": com_commissions (accrued by T), com_outstanding,
    com_paid, com_earned; ``by_region``: the rows of :func:`commissions_by_region` of every
    part, default computed here."""
    if by_region is None:
        c = pos.commission_positions(ledgers.commissions, ledgers.invoices, w)
    else:
        c = regroup(by_region, ["region"])
    c = c.rename(**{f"com_{k}": k for k in ("commissions", "outstanding", "paid", "earned")})
    return _with_all(c)


def currency_rows(p: ir.Table) -> ir.Table:
    """Open AR at T of the positions ``p`` per region, document currency and aging bucket:
    region, currency (null: the reporting currency), bucket, open_doc (in that currency),
    open_ar (in the reporting currency), invoices (open ones). Only open invoices count; their
    region is the one they are reported under (staging fell back to the customer's)."""
    o = p.filter(p.exists, (p.open_amount > 0) | (p.open_doc > 0))
    return o.group_by(region=o.invoice_region, currency=o.currency, bucket=o.bucket).aggregate(
        open_doc=money_sum(o.open_doc),
        open_ar=money_sum(o.open_amount),
        invoices=o.count(),
    )


def entity_rows(p: ir.Table) -> ir.Table:
    """Open and overdue AR at T (reporting currency) of the positions ``p`` per region, company
    code (null: none given) and aging bucket: region, company_code, bucket, open_ar, overdue_ar,
    invoices (open ones)."""
    o = p.filter(p.exists, p.open_amount > 0)
    return o.group_by(
        region=o.invoice_region, company_code=o.company_code, bucket=o.bucket
    ).aggregate(
        open_ar=money_sum(o.open_amount),
        overdue_ar=money_sum(o.open_amount, where=o.past_due),
        invoices=o.count(),
    )


def by_currency(rows: ir.Table) -> ir.Table:
    """:func:`currency_rows` (rows of several parts) summed per region, currency and bucket,
    with "All": region, currency, bucket, open_doc, open_ar, invoices."""
    return _with_all(regroup(rows, ["region", "currency", "bucket"]), ["currency", "bucket"])


def by_entity(rows: ir.Table) -> ir.Table:
    """:func:`entity_rows` (rows of several parts) summed per region, company code and bucket,
    with "All": region, company_code, bucket, open_ar, overdue_ar, invoices."""
    keys = ["company_code", "bucket"]
    return _with_all(regroup(rows, ["region", *keys]), keys)


def part_sums(
    ledgers: Ledgers, w: AsOf, buckets: Sequence[int], part: Part, p: ir.Table
) -> dict[str, ir.Table]:
    """What the KPIs read of one part's kept positions ``p``: ``balances``
    (:func:`customer_balances`), ``regions`` (:func:`region_measures`), ``months``
    (:func:`sales_months`), ``commissions`` (:func:`commissions_by_region`), ``currencies``
    (:func:`currency_rows`), ``entities`` (:func:`entity_rows`) and, except for the
    unapplied-cash part (late payments read applied payments only), ``late``
    (:func:`late_by_region`)."""
    out = {
        "balances": customer_balances(p, ledgers, buckets),
        "regions": region_measures(p, ledgers, buckets),
        "months": sales_months(p),
        "commissions": commissions_by_region(ledgers, w, part, p),
        "currencies": currency_rows(p),
        "entities": entity_rows(p),
    }
    if part.kind != "unapplied":
        out["late"] = late_by_region(ledgers, w, part, p)
    return out


def kpis_by_region(
    cp: ir.Table,
    ledgers: Ledgers,
    w: AsOf,
    buckets: Sequence[int],
    regions: Sequence[str] | None = None,
    late: ir.Table | None = None,
    by_region: ir.Table | None = None,
    months: ir.Table | None = None,
    commission_rows: ir.Table | None = None,
) -> ir.Table:
    """One row per region ("All" first in the data, order not guaranteed): every KPI of
    :data:`~arinsight.engine.metrics.KPIS` and ``aging_<i>`` (open AR per aging bucket).

    A region with no invoice and no payment up to T has every receivables KPI NULL; commission
    KPIs are NULL without any commission accrued by T in the region (none in the dataset: NULL
    everywhere); write-offs and credit notes are NULL without any adjustment (of any date) on
    the region's invoices.

    ``cp``: per (region, customer) at least open_ar and overdue_ar (:func:`customer_balances`),
    or every measure (:func:`customer_positions`); ``by_region``: every measure per region
    (:func:`region_measures`, rows of several parts summed here), default the sums of ``cp``;
    ``late``: the rows of :func:`late_by_region` when computed part by part; ``months``: the
    rows of :func:`sales_months`, default computed from the invoices; ``commission_rows``: the
    rows of :func:`commissions_by_region`, default computed from the commissions.
    """
    names = list(measures(buckets))
    src = cp if by_region is None else by_region
    by_scope = _with_all(src.group_by("region").aggregate(**{n: src[n].sum() for n in names}))
    if months is None:
        months = _invoice_months(ledgers.invoices, w)
    m = dim_regions(ledgers.customers, src, regions)
    m = _attach(m, by_scope)
    m = _attach(m, late_payments(ledgers, w, late))
    m = _attach(m, countback(by_scope, months, w))
    m = _attach(m, over_limit(cp, ledgers.customers))
    m = _attach(m, commissions(ledgers, w, commission_rows))
    m = m.mutate(
        countback_dso=ibis.ifelse(m.open_ar == 0, 0.0, m.countback_dso),
        customers_over_credit_limit=m.customers_over_credit_limit.fill_null(0),
        com_outstanding=m.com_outstanding.fill_null(0),
        com_paid=m.com_paid.fill_null(0),
        com_earned=m.com_earned.fill_null(0),
        credit_sales=m.credit_sales.fill_null(0),
    )
    has_data = (m.invoices.fill_null(0) + m.payments.fill_null(0)) > 0
    has_adj = m.adjustment_rows.fill_null(0) > 0
    has_com = m.com_commissions.fill_null(0) > 0
    any_limit = ledgers.customers.credit_limit.count().as_scalar() > 0
    out = {}
    for key in RECEIVABLES:
        value = KPIS[key].formula(m, w)
        if key == "customers_over_credit_limit":
            value = ibis.ifelse(any_limit, value, ibis.null("int64"))
        if key in ADJUSTMENT_KPIS:
            value = ibis.ifelse(has_adj, value, ibis.null(value.type()))
        out[key] = ibis.ifelse(has_data, value, ibis.null(value.type()))
    for key in COMMISSIONS:
        value = KPIS[key].formula(m, w)
        out[key] = ibis.ifelse(has_com, value, ibis.null(value.type()))
    for i in range(len(buckets) + 1):
        col = m[f"aging_{i}"]
        out[f"aging_{i}"] = ibis.ifelse(has_data, col, ibis.null(col.type()))
    return m.select("region", **out)


def top_pending(cp: ir.Table, customers: ir.Table, top_n: int) -> ir.Table:
    """The ``top_n`` customers of each region by pending (open AR at T), ties by customer id:
    region, rank (0 = largest), customer_id, customer_name, pending, overdue. Customers with
    nothing pending are left out."""
    scoped = _customers_scoped(cp)
    scoped = scoped.filter(scoped.open_ar > 0)
    names = customers.select("customer_id", "customer_name").rename(_id="customer_id")
    j = scoped.left_join(names, scoped.customer_id == names._id)
    rank = ibis.row_number().over(group_by=j.region, order_by=[ibis.desc(j.open_ar), j.customer_id])
    j = j.mutate(rank=rank)
    j = j.filter(j.rank < int(top_n))
    return j.select(
        "region", "rank", "customer_id", "customer_name", pending=j.open_ar, overdue=j.overdue_ar
    )


def monthly(ledgers: Ledgers, w: AsOf, month_starts: Sequence) -> ir.Table:
    """Month by month, for the months starting at ``month_starts`` (the last one holds T):
    month (first day), billed (credit sales), collections (cash received, applied or not),
    paid (of the month's invoices, the amount paid by T, overpayments excluded), open_ar and
    overdue_ar at the month end (at T for the month of T; net of write-offs and credit notes),
    over every invoice of ``ledgers``.
    """
    first = month_starts[0]
    spine = ibis.memtable({"month": list(month_starts)}).mutate(
        month=lambda t: t.month.cast("date")
    )
    inv, pay = ledgers.invoices, ledgers.payments

    def by_month(t: ir.Table, date: str, value: ir.Value) -> ir.Table:
        slot = ibis.greatest(t[date].truncate("M"), ibis.literal(first))
        return t.group_by(month=slot).aggregate(v=value.sum())

    def cumulative(t: ir.Table, date: str) -> ir.Table:
        t = t.filter(t[date] <= w.as_of)
        return by_month(t, date, t.delta.cast(MONEY_SUM))

    inv_t = inv.filter(inv.invoice_date <= w.as_of, inv.invoice_date >= first)
    totals = pos.payment_totals(pay, w)
    paid = inv_t.left_join(totals, inv_t.invoice_id == totals.key)
    paid = paid.mutate(capped=ibis.least(paid.amount.cast(MONEY_SUM), paid.paid.fill_null(0)))
    pay_t = pay.filter(pay.payment_date <= w.as_of, pay.payment_date >= first)
    events = pos.balance_events(inv, pay, ledgers.adjustments, w)
    parts = {
        "billed": by_month(inv_t, "invoice_date", inv_t.amount.cast(MONEY_SUM)),
        "collections": by_month(pay_t, "payment_date", pay_t.amount.cast(MONEY_SUM)),
        "paid": by_month(paid, "invoice_date", paid.capped),
        "open_ar": cumulative(events, "date"),
        "overdue_ar": cumulative(events, "overdue_date"),
    }
    out = spine
    for name, part in parts.items():
        part = part.rename(_month="month")
        out = out.left_join(part, out.month == part._month).select(
            *out.columns, **{name: part.v.fill_null(0)}
        )
    running = ibis.window(order_by=out.month, preceding=None, following=0)
    return out.mutate(
        open_ar=out.open_ar.sum().over(running), overdue_ar=out.overdue_ar.sum().over(running)
    ).order_by("month")


#: The statuses of :func:`invoice_report`, in the order the pages list them.
STATUSES = ("paid", "current", "overdue", "credit", "written_off")


def _text(t: ir.Table, name: str) -> ir.StringValue:
    return t[name].cast("string") if name in t.columns else ibis.null("string")


def invoice_report(raw: Ledgers, ledgers: Ledgers, w: AsOf, buckets: Sequence[int]) -> ir.Table:
    """One row per invoice dated <= T with its position at T: the table a run keeps
    (``positions.parquet``) and every page, list, customer page, alert and forecast reads.

    - ``paid_to_date`` = the payments applied to it dated <= T; ``credited`` = its credit notes
      and other adjustments dated <= T; ``written_off`` = its write-offs dated <= T, up to what
      payments and credit notes left open (:mod:`~arinsight.engine.positions`: an excess writes
      off nothing); ``balance = amount - paid_to_date - credited - written_off``;
      ``open_amount = max(0, balance)``; ``credit_amount = max(0, -balance)`` (owed to the
      customer);
    - ``days_past_due = T - due_date`` when open and past due (``due_date < T``), else 0;
      ``bucket`` its aging bucket (0 = the first, see :func:`~arinsight.engine.positions.
      aging_bucket`);
    - ``status``: credit (overpaid or over-credited), overdue (open, past due), current (open,
      not past due), written_off (nothing open, a write-off took part), paid (nothing open:
      payments and credit notes cover the amount);
    - ``paid_date`` = the date its cumulative payments and credit notes (date, then id order:
      the engine's one definition, as in ``average_days_late``) first reach its amount, null
      unless they cover it at T; ``days_late = paid_date - due_date`` (negative = early);
    - ``payments`` (count by T), ``last_payment_date``; the report ``region`` (the invoice's,
      else its customer's), ``customer_name``, and ``industry``, ``customer_type``,
      ``energy_kwh`` as the processed invoices carry them;
    - ``currency`` (the document currency; null only for processed data written before clean
      kept it), ``amount_doc`` and ``open_amount_doc`` (in that currency: the amount less the
      payments and adjustments applied by T, as written, floored at 0), ``fx_rate`` and
      ``fx_rate_date`` (the rate the invoice was converted at and its date, null for a constant
      rate), ``company_code``.

    Money stays ``decimal(18,2)``; dates are timestamps at midnight (what pandas reads as dates).
    Ordered by invoice id, so the same ledger writes the same file.
    """
    inv = ledgers.invoices.filter(ledgers.invoices.invoice_date <= w.as_of)
    settles = pos.settling_rows(ledgers.payments, ledgers.adjustments, write_offs=False)
    settles = settles.filter(settles.payment_date <= w.as_of, settles.invoice_id.notnull())
    settles = settles.join(inv.select("invoice_id", invoice_amount=inv.amount), "invoice_id")
    totals = pos.invoice_payments(pos.applied_payments(settles))
    adj = pos.adjustment_totals(ledgers.adjustments, w)
    rinv = raw.invoices
    extra = rinv.select(
        _id=rinv.invoice_id.cast("string"),
        industry=_text(rinv, "industry"),
        customer_type=_text(rinv, "customer_type"),
        energy_kwh=rinv.energy_kwh.cast("float64")
        if "energy_kwh" in rinv.columns
        else ibis.null("float64"),
        fx_rate=rinv.fx_rate.cast("float64") if "fx_rate" in rinv.columns else ibis.null("float64"),
        fx_rate_date=rinv.fx_rate_date.cast("timestamp")
        if "fx_rate_date" in rinv.columns
        else ibis.null("timestamp"),
    )
    names = ledgers.customers.select(_cid="customer_id", customer_name="customer_name")
    j = inv.left_join(totals, inv.invoice_id == totals._key)
    j = j.left_join(adj, j.invoice_id == adj._akey)
    j = j.left_join(extra, j.invoice_id == extra._id)
    j = j.left_join(names, j.customer_id == names._cid)
    zero = ibis.literal(0).cast(MONEY_SUM)

    def money_of(col: ir.Value) -> ir.DecimalValue:
        return col.cast(MONEY_SUM).fill_null(zero)

    paid, credited = money_of(j.paid), money_of(j.credited)
    amount = j.amount.cast(MONEY_SUM)
    written_off = ibis.least(money_of(j.written), ibis.greatest(amount - paid - credited, zero))
    balance = amount - paid - credited - written_off
    open_amount = ibis.greatest(balance, zero)
    credit = ibis.greatest(-balance, zero)
    past_due = j.due_date < w.as_of
    days_past_due = ibis.ifelse(
        (open_amount > 0) & past_due, ibis.literal(w.as_of).delta(j.due_date, unit="day"), 0
    )
    status = ibis.cases(
        (credit > 0, "credit"),
        ((open_amount > 0) & past_due, "overdue"),
        (open_amount > 0, "current"),
        (written_off > 0, "written_off"),
        else_="paid",
    )
    paid_date = pos.paid_date(paid + credited, j.amount, j.reached)
    open_doc = (
        j.amount_doc.cast(MONEY_SUM)
        - money_of(j.paid_doc)
        - money_of(j.credited_doc)
        - money_of(j.written_doc)
    )
    money = MONEY
    return j.select(
        invoice_id=j.invoice_id,
        customer_id=j.customer_id,
        customer_name=j.customer_name,
        region=j.region,
        industry=j.industry,
        customer_type=j.customer_type,
        invoice_date=j.invoice_date.cast("timestamp"),
        due_date=j.due_date.cast("timestamp"),
        amount=j.amount,
        paid_to_date=paid.cast(money),
        credited=credited.cast(money),
        written_off=written_off.cast(money),
        balance=balance.cast(money),
        open_amount=open_amount.cast(money),
        credit_amount=credit.cast(money),
        days_past_due=days_past_due.cast("int64"),
        bucket=pos.aging_bucket(days_past_due, buckets).cast("int8"),
        status=status,
        paid_date=paid_date.cast("timestamp"),
        days_late=paid_date.delta(j.due_date, unit="day").cast("int64"),
        payments=j.payments.fill_null(0).cast("int64"),
        last_payment_date=j.last_payment_date.cast("timestamp"),
        energy_kwh=j.energy_kwh,
        currency=j.currency,
        amount_doc=j.amount_doc,
        open_amount_doc=ibis.greatest(open_doc, zero).cast(money),
        fx_rate=j.fx_rate,
        fx_rate_date=j.fx_rate_date,
        company_code=j.company_code,
    ).order_by("invoice_id")


def unapplied_report(ledgers: Ledgers, w: AsOf) -> ir.Table:
    """Unapplied cash at T per customer: the payments dated <= T that settle no invoice of the
    ledger (no invoice id, or an id the invoices do not have), as the engine's positions count
    them: customer_id, region (the customer's master data), unapplied_cash, payments."""
    p = ledgers.payments.filter(ledgers.payments.payment_date <= w.as_of)
    p = p.anti_join(ledgers.invoices.select("invoice_id"), "invoice_id")
    by_customer = p.group_by("customer_id").aggregate(
        unapplied_cash=money_sum(p.amount).cast(MONEY), payments=p.count()
    )
    master = ledgers.customers.select(_cid="customer_id", region="region")
    j = by_customer.left_join(master, by_customer.customer_id == master._cid)
    return j.select("customer_id", "region", "unapplied_cash", "payments").order_by("customer_id")


def cash_months(ledgers: Ledgers, w: AsOf) -> ir.Table:
    """Cash received per region and calendar month up to T, applied or not: region (the
    invoice's, else the paying customer's master region; null: "All" only), month (its first
    day, as a timestamp), collections."""
    p = ledgers.payments.filter(ledgers.payments.payment_date <= w.as_of)
    inv = ledgers.invoices.select(_iid="invoice_id", invoice_region="region")
    master = ledgers.customers.select(_cid="customer_id", master_region="region")
    j = p.left_join(inv, p.invoice_id == inv._iid)
    j = j.left_join(master, j.customer_id == master._cid)
    rows = j.select(
        region=j.invoice_region.fill_null(j.master_region),
        month=j.payment_date.truncate("M").cast("timestamp"),
        amount=j.amount,
    )
    out = rows.group_by("region", "month").aggregate(collections=money_sum(rows.amount))
    return out.order_by("region", "month")
