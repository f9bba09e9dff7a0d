"""Staging: one ``stg_*`` relation per canonical table, renaming and typing only.

Every money column is cast once, here, by :func:`to_money` to ``decimal(18,2)`` (exact cents,
16 digits before the point), whatever the source holds (float64 today, decimal(18,2) soon);
sums are taken in ``decimal(38,2)`` by :func:`money_sum`. Every date column becomes a date
(``invoice_date.date()``: an invoice issued at 23:30 on T counts on T, never dropped by a
timestamp comparison). Engine quirks go here and only here.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from arinsight.engine.sources import Ledgers

MONEY = dt.Decimal(18, 2)
MONEY_SUM = dt.Decimal(38, 2)


def to_money(value: ir.Value) -> ir.DecimalValue:
    """A money column as ``decimal(18,2)``: floats are rounded to the cent once, here."""
    return value.cast(MONEY)


def money_sum(value: ir.Value, where: ir.BooleanValue | None = None) -> ir.DecimalScalar:
    """Sum of a money column in ``decimal(38,2)``, 0 (not NULL) over no rows."""
    return value.sum(where=where).cast(MONEY_SUM).fill_null(0)


def _day(value: ir.Value) -> ir.DateValue:
    return value if value.type().is_date() else value.cast("timestamp").date()


def _optional(t: ir.Table, name: str, dtype: str) -> ir.Value:
    return t[name].cast(dtype) if name in t.columns else ibis.null(dtype)


def stg_customers(raw: ir.Table) -> ir.Table:
    """customer_id, customer_name, region (master data), credit_limit (money, null = no limit).

    One row per customer_id: should the source repeat an id, the smallest value of each
    attribute is kept (clean quarantines such conflicts, so processed data has none).
    """
    t = raw.select(
        customer_id=raw.customer_id.cast("string"),
        customer_name=_optional(raw, "customer_name", "string"),
        region=_optional(raw, "region", "string"),
        credit_limit=to_money(raw.credit_limit)
        if "credit_limit" in raw.columns
        else ibis.null(MONEY),
    )
    return t.group_by("customer_id").aggregate(
        customer_name=t.customer_name.min(),
        region=t.region.min(),
        credit_limit=t.credit_limit.min(),
    )


def _doc_money(raw: ir.Table) -> ir.DecimalValue:
    """The amount in the document currency (``amount_doc``); the reporting ``amount`` for
    processed data written before clean kept it (one currency then)."""
    return to_money(raw.amount_doc if "amount_doc" in raw.columns else raw.amount)


def stg_invoices(raw: ir.Table, customers: ir.Table) -> ir.Table:
    """invoice_id, customer_id, invoice_date, due_date (dates), amount (money, reporting
    currency), region, currency and amount_doc (the document currency and the amount in it;
    null currency: the reporting one), company_code (null: none given).

    ``region`` is the segment the invoice is reported under: the invoice's own ``region``
    column, and where that is null (or the column is absent: older processed data) its
    customer's region from the master data; with neither it is null (reported in "All" only).
    """
    t = raw.select(
        invoice_id=raw.invoice_id.cast("string"),
        customer_id=raw.customer_id.cast("string"),
        invoice_date=_day(raw.invoice_date),
        due_date=_day(raw.due_date),
        amount=to_money(raw.amount),
        own_region=_optional(raw, "region", "string"),
        currency=_optional(raw, "currency", "string"),
        amount_doc=_doc_money(raw),
        company_code=_optional(raw, "company_code", "string"),
    )
    master = customers.select("customer_id", master_region=customers.region)
    j = t.left_join(master, "customer_id")
    return j.select(
        "invoice_id",
        "customer_id",
        "invoice_date",
        "due_date",
        "amount",
        region=j.own_region.fill_null(j.master_region),
        currency=j.currency,
        amount_doc=j.amount_doc,
        company_code=j.company_code,
    )


def stg_payments(raw: ir.Table) -> ir.Table:
    """payment_id, invoice_id (null = unapplied cash), customer_id, payment_date, amount (money),
    amount_doc (in its invoice's currency)."""
    return raw.select(
        payment_id=_optional(raw, "payment_id", "string"),
        invoice_id=raw.invoice_id.cast("string"),
        customer_id=raw.customer_id.cast("string"),
        payment_date=_day(raw.payment_date),
        amount=to_money(raw.amount),
        amount_doc=_doc_money(raw),
    )


def stg_sales_reps(raw: ir.Table) -> ir.Table:
    """sales_rep_id, rep_name, sales_group."""
    return raw.select(
        sales_rep_id=raw.sales_rep_id.cast("string"),
        rep_name=_optional(raw, "rep_name", "string"),
        sales_group=_optional(raw, "sales_group", "string"),
    )


def stg_commissions(raw: ir.Table) -> ir.Table:
    """sales_rep_id, invoice_id, amount (money), accrual_date, is_settled (null = no),
    settlement_date."""
    return raw.select(
        sales_rep_id=raw.sales_rep_id.cast("string"),
        invoice_id=_optional(raw, "invoice_id", "string"),
        amount=to_money(raw.commission_amount),
        accrual_date=_day(raw.accrual_date),
        is_settled=raw.is_settled.cast("boolean").fill_null(False),
        settlement_date=_day(raw.settlement_date),
    )


def stg_adjustments(raw: ir.Table) -> ir.Table:
    """adjustment_id, invoice_id, customer_id, adjustment_date, amount (money, reporting
    currency), amount_doc (in its invoice's currency; the amount when not given: one
    currency), kind (``write_off``, ``credit_note`` or ``adjustment``:
    :data:`arinsight.schemas.ADJUSTMENT_KINDS`)."""
    return raw.select(
        adjustment_id=_optional(raw, "adjustment_id", "string"),
        invoice_id=raw.invoice_id.cast("string"),
        customer_id=_optional(raw, "customer_id", "string"),
        adjustment_date=_day(raw.adjustment_date),
        amount=to_money(raw.amount),
        amount_doc=_doc_money(raw).fill_null(to_money(raw.amount)),
        kind=raw.kind.cast("string"),
    )


def stage(raw: Ledgers, customers: ir.Table | None = None) -> Ledgers:
    """Every table of ``raw`` staged; ``customers``: the staged customers when the engine
    already keeps them (every invoice reference then reads them instead of grouping the
    master data again)."""
    customers = stg_customers(raw.customers) if customers is None else customers
    return Ledgers(
        customers=customers,
        invoices=stg_invoices(raw.invoices, customers),
        payments=stg_payments(raw.payments),
        sales_reps=stg_sales_reps(raw.sales_reps),
        commissions=stg_commissions(raw.commissions),
        adjustments=stg_adjustments(raw.adjustments),
    )
