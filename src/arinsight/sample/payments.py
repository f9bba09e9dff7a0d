"""Payments: the payments of every invoice (single, split, partial, overpaid) and the
commissions they settle."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arinsight.sample.values import ids_of, to_dates

METHODS = ["Bank Transfer", "Direct Debit", "Card", "Check"]
METHOD_P = [0.55, 0.25, 0.12, 0.08]


def payment_parts(
    rng: np.random.Generator,
    cents: np.ndarray,
    day: np.ndarray,
    pay: np.ndarray,
    parts: np.ndarray,
    partial: np.ndarray,
    over: np.ndarray,
    last: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The payments of every invoice as (invoice index, day, cents), those after ``last`` cut.

    An invoice with ``parts`` = n gets n payments; split amounts add up to the invoice to the
    cent (random shares, the last part takes the rounding), the last one on the pay day and the
    earlier ones between the invoice date and it. A partial invoice pays 30-90 % once; an
    overpaid one pays the amount + 1-12 % (at least 1.00) once.
    """
    n_invoices = len(cents)
    inv = np.repeat(np.arange(n_invoices), parts)
    start_of = np.repeat(np.cumsum(parts) - parts, parts)
    k = np.arange(len(inv)) - start_of  # 0-based part number within the invoice
    is_last = k == parts[inv] - 1
    share = rng.uniform(0.2, 1.0, len(inv))
    cum = np.cumsum(share)
    before = cum[start_of] - share[start_of]  # running total of the earlier invoices' shares
    cum_in = cum - before
    total = cum[start_of + parts[inv] - 1] - before
    bound = np.where(is_last, cents[inv], np.round(cents[inv] * cum_in / total).astype(np.int64))
    prev = np.where(k == 0, 0, np.roll(bound, 1))
    part_cents = bound - prev
    frac = rng.uniform(0.3, 0.9, n_invoices)
    part_cents = np.where(partial[inv], np.floor(cents[inv] * frac[inv]), part_cents)
    extra = np.maximum(100, np.round(cents * rng.uniform(0.01, 0.12, n_invoices)))
    part_cents = np.where(over[inv], cents[inv] + extra[inv], part_cents).astype(np.int64)
    span = np.maximum(pay[inv] - day[inv] - 1, 0)
    early_day = day[inv] + 1 + np.floor(rng.random(len(inv)) * span).astype(np.int64)
    part_day = np.where(is_last, pay[inv], early_day)
    keep = part_day <= last
    inv, part_day, part_cents = inv[keep], part_day[keep], part_cents[keep]
    return inv, part_day, part_cents


def commissions_table(
    inv_ids: np.ndarray,
    rep: np.ndarray,
    rep_rate: np.ndarray,
    amount: np.ndarray,
    day: np.ndarray,
    fully_paid: np.ndarray,
    last_pay: np.ndarray,
    last: int,
) -> pd.DataFrame:
    """One commission per invoice: amount x the rep's rate, accrued on the invoice date, settled
    at the end of the month after the invoice is fully paid when that is on or before ``last``."""
    n_invoices = len(inv_ids)
    rate = rep_rate[rep]
    paid_month_end = (
        to_dates(np.where(fully_paid, last_pay, 0)).astype("datetime64[M]") + 2
    ).astype("datetime64[D]").astype(np.int64) - 1
    settled = fully_paid & (paid_month_end <= last)
    return pd.DataFrame(
        {
            "commission_id": ids_of(
                "COM-", np.arange(1, n_invoices + 1), max(7, len(str(n_invoices)))
            ),
            "sales_rep_id": ids_of("R_", rep + 1, 3),
            "invoice_id": inv_ids,
            "commission_amount": np.round(amount * rate, 2),
            "commission_rate": rate,
            "accrual_date": to_dates(day),
            "is_settled": settled,
            "settlement_date": np.where(
                settled, to_dates(paid_month_end), np.datetime64("NaT", "us")
            ).astype("datetime64[us]"),
        }
    )
