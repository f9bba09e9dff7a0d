"""Generate: the clean canonical ledger of the sample (customers, reps, invoices, payments,
commissions, adjustments, disputes, promises) from one seeded generator; the follow-ups
(write-offs and credit notes, disputes, promises) come from streams of their own of the same
seed, so adding them changed none of the other tables.

The steps live in the modules of the package, each importing only those before it:
:mod:`~arinsight.sample.values` (day numbers, ids, amounts), :mod:`~arinsight.sample.customers`
(the customer master and the reps), :mod:`~arinsight.sample.billing` (invoice dates, stress,
pay days, open balances), :mod:`~arinsight.sample.payments` (payments and commissions) and
:mod:`~arinsight.sample.followups` (adjustments, disputes, promises); this module draws them in
one fixed order, which is what makes a seed's ledger the same every time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arinsight.sample.billing import (
    ENERGY_SEASON,
    MONTH_LATENESS,
    invoice_dates,
    monthly_stress,
    open_balance_before,
    pay_days,
)
from arinsight.sample.customers import customers_table, sales_reps_table
from arinsight.sample.followups import adjustments_table, disputes_table, promises_table
from arinsight.sample.payments import METHOD_P, METHODS, commissions_table, payment_parts
from arinsight.sample.values import NEVER, amounts, day_number, ids_of, to_dates
from arinsight.schemas import CANONICAL, SEGMENT_COLUMNS


def generate(
    n_invoices: int = 10_000,
    seed: int = 42,
    start: str = "2024-01-01",
    end: str = "2026-10-31",
) -> dict[str, pd.DataFrame]:
    """The clean canonical ledger (customers, invoices, payments, sales_reps, commissions,
    adjustments, disputes, promises: the last three from :mod:`~arinsight.sample.followups`).

    ``n_invoices`` invoices dated ``start``..``end``; ``end`` is also the extract date (no payment
    after it). ``max(350, n_invoices // 30)`` customers and ``max(15, customers // 100)`` sales reps.
    Columns are exactly :data:`arinsight.schemas.CANONICAL`; the same seed gives the same ledger.
    """
    n_invoices = int(n_invoices)
    if n_invoices < 1:
        raise ValueError(f"n_invoices must be at least 1, got {n_invoices}")
    first, last = day_number(start), day_number(end)
    if last <= first:
        raise ValueError(f"end {end!r} must be after start {start!r}")
    rng = np.random.default_rng(seed)
    n_cust = max(350, n_invoices // 30)
    n_reps = max(15, n_cust // 100)
    reps, rep_rate = sales_reps_table(rng, n_reps)
    customers, hid = customers_table(rng, n_cust, n_reps)

    # ---- invoices: date, customer, energy, amount, due date
    day, month_idx, moy = invoice_dates(rng, n_invoices, first, last)
    cust = rng.choice(n_cust, size=n_invoices, p=hid["weight"])
    order = np.lexsort((cust, day))
    day, month_idx, moy, cust = day[order], month_idx[order], moy[order], cust[order]
    years = (last - first + 1) / 365.25
    per_year = np.bincount(cust, minlength=n_cust) / years
    base_kwh = hid["usage"] / np.maximum(per_year, 3.0)
    kwh = np.round(base_kwh[cust] * ENERGY_SEASON[moy] * np.exp(rng.normal(0, 0.3, n_invoices)))
    fee = rng.uniform(20, 80, n_invoices)
    cents = np.round((kwh * hid["price"][cust] + fee) * 100).astype(np.int64)
    no_usage = rng.random(n_invoices) < 0.03  # service invoices: no energy billed
    service = base_kwh[cust] * hid["price"][cust] * 0.3 * np.exp(rng.normal(0, 0.4, n_invoices))
    cents = np.where(no_usage, np.round(service * 100).astype(np.int64), cents)
    cents = np.maximum(cents, 1_000)
    kwh = np.where(no_usage, np.nan, kwh)
    amount = amounts(cents)
    terms = customers["payment_terms_days"].to_numpy()
    due = day + np.nan_to_num(terms[cust], nan=30.0).astype(np.int64)

    # credit limit: 1.2-2.8 x the open balance of an on-time payer (monthly billing x terms + half)
    months_active = (last - first + 1) / 30.4
    monthly = np.bincount(cust, weights=amount, minlength=n_cust) / months_active
    factor = rng.uniform(1.2, 2.8, n_cust) * np.where(hid["chronic"], 0.6, 1.0)
    limit = monthly * (np.nan_to_num(terms, nan=30.0) / 30 + 0.5) * factor
    customers["credit_limit"] = np.maximum(5_000.0, np.ceil(limit / 1_000) * 1_000)

    # ---- lateness: latent score, then a second pass adding credit use at the invoice date
    log_amt = np.log(amount)
    counts = np.bincount(cust, minlength=n_cust)
    mean_log = np.bincount(cust, weights=log_amt, minlength=n_cust) / np.maximum(counts, 1)
    stress = monthly_stress(rng, n_cust, int(month_idx.max()) + 1)
    z0 = (
        hid["propensity"][cust]
        + stress[cust, month_idx]
        + 0.3 * (log_amt - mean_log[cust])
        + MONTH_LATENESS[moy]
        + rng.normal(0, 0.6, n_invoices)
    )
    u_early, u_never = rng.random(n_invoices), rng.random(n_invoices)
    pay, never = pay_days(z0, day, due, u_early, u_never)
    settle = np.where(never, NEVER, pay)
    balance = open_balance_before(cust, day, settle, amount)
    credit_use = balance / customers["credit_limit"].to_numpy()[cust]
    z = z0 + 0.6 * np.clip(credit_use - 0.7, 0, 1)
    pay, never = pay_days(z, day, due, u_early, u_never)

    # ---- payment plan per invoice: none, single, split in 2-3, partial, overpaid
    u = rng.random(n_invoices)
    partial = ~never & (u < np.where(z > 0.5, 0.06, 0.03))
    parts = np.where(never, 0, np.where((u >= 0.10) & (u < 0.20), 2, 1))
    parts = np.where(~never & (u >= 0.20) & (u < 0.25), 3, parts)
    single = (parts == 1) & ~partial
    eligible = np.flatnonzero(single & (pay <= last))
    n_over = min(len(eligible), max(5, n_invoices // 200))
    over = np.zeros(n_invoices, dtype=bool)
    over[rng.choice(eligible, size=n_over, replace=False)] = True

    inv, part_day, part_cents = payment_parts(rng, cents, day, pay, parts, partial, over, last)

    # unapplied cash: money received without an invoice reference, customer known
    n_un = max(5, n_invoices // 60)
    un_cust = rng.choice(n_cust, size=n_un, p=hid["weight"])
    un_day = rng.integers(first, last + 1, n_un)
    un_cents = np.maximum(
        500, np.round(base_kwh[un_cust] * hid["price"][un_cust] * rng.uniform(5, 60, n_un))
    ).astype(np.int64)

    inv_ids = ids_of("INV-", np.arange(1, n_invoices + 1), max(7, len(str(n_invoices))))
    cust_ids = customers["customer_id"].to_numpy(dtype=object)
    pay_day_all = np.concatenate([part_day, un_day])
    pay_inv = np.concatenate([inv, np.full(n_un, -1)])
    pay_cust = np.concatenate([cust[inv], un_cust])
    pay_cents = np.concatenate([part_cents, un_cents])
    porder = np.lexsort((pay_cust, pay_inv, pay_day_all))
    pay_day_all, pay_inv, pay_cust, pay_cents = (
        a[porder] for a in (pay_day_all, pay_inv, pay_cust, pay_cents)
    )
    n_pay = len(pay_day_all)
    payments = pd.DataFrame(
        {
            "payment_id": ids_of("PAY-", np.arange(1, n_pay + 1), max(8, len(str(n_pay)))),
            "invoice_id": np.where(pay_inv >= 0, inv_ids[np.maximum(pay_inv, 0)], None),
            "customer_id": cust_ids[pay_cust],
            "payment_date": to_dates(pay_day_all),
            "amount": amounts(pay_cents),
            "method": rng.choice(METHODS, size=n_pay, p=METHOD_P).astype(object),
        }
    )

    # ---- status as delivered (at the extract date, a few rows stale) and commissions
    paid_cents = np.bincount(inv, weights=part_cents, minlength=n_invoices)
    fully_paid = paid_cents >= cents
    last_pay = np.full(n_invoices, -1, dtype=np.int64)
    np.maximum.at(last_pay, inv, part_day)
    status = np.where(fully_paid, "Paid", np.where(due < last, "Overdue", "Open")).astype(object)
    stale = rng.random(n_invoices) < 0.04
    status = np.where(stale & (status != "Open"), "Open", status)
    invoices = pd.DataFrame(
        {
            "invoice_id": inv_ids,
            "customer_id": cust_ids[cust],
            "invoice_date": to_dates(day),
            "due_date": to_dates(due),
            "amount": amount,
            "currency": "USD",
            "energy_kwh": kwh,
            "status": status,
        }
    )

    commissions = commissions_table(
        inv_ids, hid["rep"][cust], rep_rate, amount, day, fully_paid, last_pay, last
    )
    adjustments = adjustments_table(
        seed, inv_ids, cust_ids[cust], cents, paid_cents, due, last_pay, never, partial, last
    )
    one = single & ~over
    disputes = disputes_table(
        seed, adjustments, inv_ids, cust_ids[cust], cents, paid_cents, due, pay, last_pay,
        partial, one, last,
    )  # fmt: skip
    promises = promises_table(seed, inv_ids, cust_ids[cust], cents, due, pay, never, one, last)
    tables = {
        "customers": customers,
        "invoices": invoices,
        "payments": payments,
        "sales_reps": reps,
        "commissions": commissions,
        "adjustments": adjustments,
        "disputes": disputes,
        "promises": promises,
    }
    return {name: _canonical_types(name, df) for name, df in tables.items()}


def columns_of(table: str) -> list[str]:
    """The sample's columns of a table: the canonical ones, without the invoice segment columns
    (the sample reports every invoice under its customer's region, industry and type) and the
    company code (the sample is one legal entity)."""
    skip = (*SEGMENT_COLUMNS, "company_code") if table == "invoices" else ()
    return [c for c in CANONICAL[table] if c not in skip]


def _canonical_types(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order; text columns as pandas strings."""
    out = df[columns_of(table)].copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype("str")
    return out.reset_index(drop=True)
