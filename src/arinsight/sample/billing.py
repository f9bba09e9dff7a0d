"""Billing: when invoices are billed, the customers' monthly stress, the day each invoice is paid
and each customer's open balance on an invoice date (what credit use is computed from)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arinsight.sample.values import NEVER, to_dates

#: Relative number of invoices per calendar month (index 0 = January): dips in June and October.
BILLING_SEASON = np.array([1.0, 1.0, 1.05, 1.0, 1.0, 0.75, 1.0, 1.0, 1.05, 0.75, 1.0, 0.95])
#: Relative energy use per invoice by calendar month: peaks in March and September.
ENERGY_SEASON = np.array([1.0, 1.0, 1.35, 1.0, 0.95, 0.9, 0.95, 1.0, 1.3, 0.95, 1.0, 1.05])
#: Lateness shift by calendar month (year-end and summer holidays pay later).
MONTH_LATENESS = np.array([0.1, 0, 0, 0, 0, 0, 0.15, 0.2, 0, 0, 0, 0.3])
_KEY = 1_000_000  # customer code x _KEY + day number: one sortable key per (customer, day)


def open_balance_before(
    customer: np.ndarray, invoice_day: np.ndarray, settle_day: np.ndarray, amount: np.ndarray
) -> np.ndarray:
    """Each invoice's customer open balance on its invoice date, before it is billed.

    balance_i = sum of amount_j over the same customer's invoices j with
    invoice_day_j < invoice_day_i <= settle_day_j (billed earlier, not settled yet);
    computed as billed-before minus settled-before with prefix sums on (customer, day) keys.
    ``settle_day`` is ``NEVER`` for invoices never settled.
    """
    customer = customer.astype(np.int64)
    query = customer * _KEY + invoice_day
    floor = customer * _KEY

    def _sum_before(event_key: np.ndarray, value: np.ndarray) -> np.ndarray:
        order = np.argsort(event_key, kind="stable")
        keys = event_key[order]
        prefix = np.concatenate([[0.0], np.cumsum(value[order])])
        return (
            prefix[np.searchsorted(keys, query, "left")]
            - prefix[np.searchsorted(keys, floor, "left")]
        )

    billed = _sum_before(query, amount)
    settled = settle_day < NEVER
    paid = _sum_before(customer[settled] * _KEY + settle_day[settled], amount[settled])
    return np.round(billed - paid, 2)


def invoice_dates(
    rng: np.random.Generator, n: int, first: int, last: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Invoice day numbers with the billing season and a slow growth; returns day, month, month-of-year."""
    months = pd.period_range(
        start=pd.Timestamp(to_dates(np.array([first]))[0]),
        end=pd.Timestamp(to_dates(np.array([last]))[0]),
        freq="M",
    )
    lo = np.maximum(months.start_time.values.astype("datetime64[D]").astype(np.int64), first)
    hi = np.minimum(months.end_time.values.astype("datetime64[D]").astype(np.int64), last)
    span = hi - lo + 1
    moy = months.month.to_numpy() - 1
    w = BILLING_SEASON[moy] * (1 + 0.012 * np.arange(len(months))) * span
    w = w / months.days_in_month.to_numpy()
    m = rng.choice(len(months), size=n, p=w / w.sum())
    day = lo[m] + np.floor(rng.random(n) * span[m]).astype(np.int64)
    return day, m, moy[m]


def monthly_stress(rng: np.random.Generator, n_customers: int, n_months: int) -> np.ndarray:
    """Each customer's financial stress by month: AR(1) with rho 0.8 and sd 0.4."""
    s = np.empty((n_customers, n_months))
    s[:, 0] = rng.normal(0, 0.4, n_customers)
    for t in range(1, n_months):  # a loop over months, not rows
        s[:, t] = 0.8 * s[:, t - 1] + 0.6 * rng.normal(0, 0.4, n_customers)
    return s


def pay_days(
    z: np.ndarray, day: np.ndarray, due: np.ndarray, u_early: np.ndarray, u_never: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Final payment day from the lateness score: 40 x z days after due when z > 0, else on time."""
    late = np.ceil(40.0 * np.clip(z, 0, None)).astype(np.int64)
    early = np.maximum(day + 1, due - np.floor((due - day) * 0.8 * u_early**1.5).astype(np.int64))
    pay = np.where(z > 0, due + late, early)
    never = (z > 3.2) | (u_never < 0.004)
    return pay, never
