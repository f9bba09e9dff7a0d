"""The embedded sample: a generated AR ledger in three source kinds, with known data problems.

``arinsight sample`` writes, into one folder, what a finance team typically exports:

* ``invoices.csv`` - the billing system's invoice export (CSV, its own column names);
* ``customers.xlsx`` - the CRM's customer master and sales-rep list (Excel, region as N/S/E/W codes);
* ``ledger.sqlite`` - the ledger's payments and commissions (SQLite, ISO dates as text);
* ``sources.yaml`` - the mapping of those sources onto the canonical tables (docs/own-data.md);
* ``manifest.json`` - the seed, the rows written, the problems injected and what cleaning must keep.

The ledger is generated in two steps. :func:`generate` builds the *clean* canonical ledger (what a
perfect export would hold); :func:`inject_problems` then adds every data problem the cleaning
rules know at known counts, each bad row with exactly one problem, so the cleaning report can be
checked against the manifest row for row.

How the ledger behaves (the seeds' observations, so the analyses have something to find):

* customers (ids ``C_1``, ``C_2``, ...) in four regions and six industries; credit limits and
  payment terms of 15/30/45/60 days; each customer belongs to one sales rep in one sales group;
* billing from ``start`` to ``end`` with fewer invoices in June and October; energy use per
  invoice peaks in March and September and drives the amount (amount = kWh x the customer's
  price + a service fee, lognormal within a customer);
* lateness (days paid after the due date) comes from a latent score per invoice::

      z = customer propensity + industry + customer type + heavy use (> 8M kWh/yr)
          + the customer's financial stress that month (an AR(1) walk over months)
          + 0.3 x log(amount / customer's usual amount) + month of year
          + 0.6 x min(1, max(0, credit use at invoice date - 0.7)) + noise
      days late = 40 x z when z > 0, else paid on time (between invoice and due date)

  so lateness is learnable from what is known at the invoice date (the customer's history,
  industry, credit use, amount, month) and a model beats "late last time". Manufacturing and
  Energy pay later; C_333, C_260 and C_111 are chronic late payers; C_55, C_180 and C_195 carry
  large balances;
* payments: most invoices are paid in one payment; some in two or three (split), some only
  partially (the rest stays open), a fixed number are overpaid (credit balance), very late ones
  are never paid; unapplied cash (no invoice, customer known) is mixed in. The ledger is
  extracted on ``end``: payments after it are not in the ledger, so recent invoices are open;
* commissions: one per invoice at the rep's rate (2-6 %, by sales group), accrued on the invoice
  date and settled at the end of the month after the invoice is fully paid, if that is on or
  before the extract date;
* the invoice ``status`` (Paid/Open/Overdue) is as delivered by the billing system: correct at
  the extract date except for a few stale rows.

Everything is drawn from one seeded ``numpy`` generator: the same seed gives byte-identical files
(no timestamps; the Excel workbook's properties and zip entry times are fixed).
"""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from arinsight import config
from arinsight.files import sha256_file, write_csv, write_json
from arinsight.schemas import CANONICAL, SEGMENT_COLUMNS

__all__ = ["generate", "inject_problems", "write_sample", "SOURCE_COLUMNS"]

REGION_CODES = {"N": "North", "S": "South", "E": "East", "W": "West"}
REGION_P = [0.30, 0.25, 0.25, 0.20]
INDUSTRIES = ["Manufacturing", "Energy", "Retail", "Healthcare", "Technology", "Logistics"]
INDUSTRY_P = [0.20, 0.15, 0.20, 0.15, 0.15, 0.15]
#: Lateness shift by industry (added to z): Manufacturing and Energy pay later (seed 000).
INDUSTRY_LATENESS = [0.50, 0.45, 0.10, -0.10, -0.20, 0.15]
#: Yearly energy use multiplier by industry.
INDUSTRY_USAGE = [2.5, 3.0, 1.0, 0.9, 0.8, 1.3]
CUSTOMER_TYPES = ["Enterprise", "SMB", "Public Sector"]
TYPE_P = [0.30, 0.50, 0.20]
TYPE_LATENESS = [-0.10, 0.10, 0.20]
TYPE_USAGE = [1.8, 0.5, 1.0]
#: Payment terms (days) offered by customer type, with their probabilities.
TYPE_TERMS = {
    "Enterprise": ([30, 45, 60], [0.4, 0.35, 0.25]),
    "SMB": ([15, 30], [0.45, 0.55]),
    "Public Sector": ([30, 45, 60], [0.3, 0.4, 0.3]),
}
SALES_GROUPS = ["Premium Sales", "Retail Sales", "Enterprise Sales"]
#: Commission rates (fractions of the invoice amount) a rep of each group may have.
GROUP_RATES = {
    "Premium Sales": [0.05, 0.055, 0.06],
    "Retail Sales": [0.02, 0.025, 0.03],
    "Enterprise Sales": [0.03, 0.035, 0.04, 0.045],
}
CHRONIC_LATE = ["C_333", "C_260", "C_111"]
LARGE_BALANCES = ["C_55", "C_180", "C_195"]
HEAVY_USE_KWH = 8_000_000.0
#: Relative number of invoices per calendar month (index 0 = January): dips in June and October.
BILLING_SEASON = np.array([1.0, 1.0, 1.05, 1.0, 1.0, 0.75, 1.0, 1.0, 1.05, 0.75, 1.0, 0.95])
#: Relative energy use per invoice by calendar month: peaks in March and September.
ENERGY_SEASON = np.array([1.0, 1.0, 1.35, 1.0, 0.95, 0.9, 0.95, 1.0, 1.3, 0.95, 1.0, 1.05])
#: Lateness shift by calendar month (year-end and summer holidays pay later).
MONTH_LATENESS = np.array([0.1, 0, 0, 0, 0, 0, 0.15, 0.2, 0, 0, 0, 0.3])
METHODS = ["Bank Transfer", "Direct Debit", "Card", "Check"]
METHOD_P = [0.55, 0.25, 0.12, 0.08]

#: Source column names in the written files (canonical -> source), also written to sources.yaml.
SOURCE_COLUMNS: dict[str, dict[str, str]] = {
    "invoices": {
        "invoice_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "invoice_date": "InvoiceDate",
        "due_date": "DueDate",
        "amount": "Amount",
        "currency": "Currency",
        "energy_kwh": "EnergyKWh",
        "status": "Status",
    },
    "customers": {
        "customer_id": "CustomerID",
        "customer_name": "CustomerName",
        "region": "RegionCode",
        "industry": "Industry",
        "customer_type": "CustomerType",
        "credit_limit": "CreditLimit",
        "payment_terms_days": "PaymentTermsDays",
        "sales_rep_id": "SalesRepID",
        "contact_email": "ContactEmail",
    },
    "sales_reps": {
        "sales_rep_id": "SalesRepID",
        "rep_name": "RepName",
        "sales_group": "SalesGroup",
    },
    "payments": {
        "payment_id": "PaymentID",
        "invoice_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "payment_date": "PaymentDate",
        "amount": "AmountPaid",
        "method": "Method",
    },
    "commissions": {
        "commission_id": "CommissionID",
        "sales_rep_id": "SalesRepID",
        "invoice_id": "InvoiceNo",
        "commission_amount": "CommissionAmount",
        "commission_rate": "CommissionRate",
        "accrual_date": "AccrualDate",
        "is_settled": "IsSettled",
        "settlement_date": "SettlementDate",
    },
}

FILES = {
    "invoices": "invoices.csv",
    "customers": "customers.xlsx",
    "sales_reps": "customers.xlsx",
    "payments": "ledger.sqlite",
    "commissions": "ledger.sqlite",
}
#: The fixed time stamped into the Excel workbook (properties and zip entries).
_FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
_KEY = 1_000_000  # customer code x _KEY + day number: one sortable key per (customer, day)
_NEVER = np.iinfo(np.int64).max // 4  # "day" of an event that never happens

_FIRST = [
    "Ava",
    "Ben",
    "Chloe",
    "Dan",
    "Eva",
    "Finn",
    "Grace",
    "Hugo",
    "Iris",
    "Jack",
    "Kira",
    "Leo",
    "Maya",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Sam",
]
_LAST = [
    "Adler",
    "Brooks",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jones",
    "Kowalski",
    "Lopez",
    "Meyer",
    "Novak",
]
_NAME_A = [
    "North",
    "Blue",
    "Silver",
    "Iron",
    "Green",
    "Summit",
    "River",
    "Pioneer",
    "Atlas",
    "Apex",
    "Harbor",
    "Cedar",
    "Delta",
    "Eagle",
]
_NAME_B = [
    "Works",
    "Foods",
    "Power",
    "Health",
    "Systems",
    "Freight",
    "Metals",
    "Labs",
    "Grid",
    "Stores",
    "Logistics",
    "Energy",
]
_NAME_C = ["Ltd", "Inc", "GmbH", "LLC", "Group", "Co"]


# --------------------------------------------------------------------------- small helpers


def _days(ts: pd.Timestamp | str) -> int:
    """Day number (days since 1970-01-01) of a date."""
    return int(np.datetime64(pd.Timestamp(ts).date(), "D").astype(np.int64))


def _to_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers -> datetime64[us] (the clean dtype)."""
    return days.astype("datetime64[D]").astype("datetime64[us]")


def _iso(days: np.ndarray) -> np.ndarray:
    """Day numbers -> 'YYYY-MM-DD' text."""
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """'PREFIX' + zero-padded number, e.g. INV-0000042."""
    text = pd.Series(numbers, dtype="int64").astype(str).str.zfill(width)
    return (prefix + text).to_numpy(dtype=object)


def _money(cents: np.ndarray) -> np.ndarray:
    """Integer cents -> float amount with 2 decimals."""
    return np.round(cents / 100.0, 2)


def _open_balance_before(
    customer: np.ndarray, invoice_day: np.ndarray, settle_day: np.ndarray, amount: np.ndarray
) -> np.ndarray:
    """Each invoice's customer open balance on its invoice date, before it is billed.

    balance_i = sum of amount_j over the same customer's invoices j with
    invoice_day_j < invoice_day_i <= settle_day_j (billed earlier, not settled yet);
    computed as billed-before minus settled-before with prefix sums on (customer, day) keys.
    ``settle_day`` is ``_NEVER`` for invoices never settled.
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
    settled = settle_day < _NEVER
    paid = _sum_before(customer[settled] * _KEY + settle_day[settled], amount[settled])
    return np.round(billed - paid, 2)


# --------------------------------------------------------------------------- generate


def _customers(rng: np.random.Generator, n: int, n_reps: int) -> tuple[pd.DataFrame, dict]:
    """Customer master plus the hidden traits that drive billing and lateness."""
    ids = _ids("C_", np.arange(1, n + 1), 1)
    region = rng.choice(list(REGION_CODES.values()), size=n, p=REGION_P)
    ind = rng.choice(len(INDUSTRIES), size=n, p=INDUSTRY_P)
    typ = rng.choice(len(CUSTOMER_TYPES), size=n, p=TYPE_P)
    terms = np.zeros(n)
    for t, name in enumerate(CUSTOMER_TYPES):
        days, p = TYPE_TERMS[name]
        mask = typ == t
        terms[mask] = rng.choice(days, size=int(mask.sum()), p=p)
    terms[rng.random(n) < 0.02] = np.nan  # terms not recorded in the CRM

    usage = (
        np.exp(rng.normal(np.log(1.2e6), 1.0, n))
        * np.array(INDUSTRY_USAGE)[ind]
        * np.array(TYPE_USAGE)[typ]
    )
    price = rng.uniform(0.10, 0.18, n)
    weight = np.sqrt(usage) * np.exp(rng.normal(0, 0.5, n))
    propensity = (
        rng.normal(-0.55, 0.55, n)
        + np.array(INDUSTRY_LATENESS)[ind]
        + np.array(TYPE_LATENESS)[typ]
        + 0.35 * (usage > HEAVY_USE_KWH)
    )
    code = {c: i for i, c in enumerate(ids)}
    chronic = [code[c] for c in CHRONIC_LATE if c in code]
    others = np.setdiff1d(np.arange(n), chronic)
    chronic += list(rng.choice(others, size=n // 125, replace=False))
    propensity[chronic] += 1.9
    weight[chronic] *= 3.0
    large = [code[c] for c in LARGE_BALANCES if c in code]
    propensity[large] += 0.9
    usage[large] = np.maximum(usage[large], 1.2 * HEAVY_USE_KWH)
    weight[large] = np.sqrt(usage[large]) * 2.0

    # sales group: the top fifth by usage is served by Premium Sales, the rest by customer type
    group = np.where(typ == 1, 1, 2)
    group[usage >= np.quantile(usage, 0.8)] = 0
    rep_group = np.arange(n_reps) % 3
    rep = np.empty(n, dtype=np.int64)
    for g in range(3):
        members = np.flatnonzero(rep_group == g)
        mask = group == g
        rep[mask] = members[rng.integers(0, len(members), int(mask.sum()))]

    name = (
        np.array(_NAME_A, dtype=object)[rng.integers(0, len(_NAME_A), n)]
        + " "
        + np.array(_NAME_B, dtype=object)[rng.integers(0, len(_NAME_B), n)]
        + " "
        + np.array(_NAME_C, dtype=object)[rng.integers(0, len(_NAME_C), n)]
    )
    slug = pd.Series(name).str.lower().str.replace(r"[^a-z]+", "-", regex=True).str.strip("-")
    email = "ap." + pd.Series(ids).str.lower().str.replace("_", "") + "@" + slug + ".example"
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "customer_name": name,
            "region": region,
            "industry": np.array(INDUSTRIES, dtype=object)[ind],
            "customer_type": np.array(CUSTOMER_TYPES, dtype=object)[typ],
            "credit_limit": np.nan,  # set from billing once invoices exist
            "payment_terms_days": terms,
            "sales_rep_id": _ids("R_", rep + 1, 3),
            "contact_email": email.to_numpy(dtype=object),
        }
    )
    hidden = {
        "usage": usage,
        "price": price,
        "weight": weight / weight.sum(),
        "propensity": propensity,
        "chronic": np.isin(np.arange(n), chronic),
        "rep": rep,
    }
    return customers, hidden


def _sales_reps(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Reps R_001... in the three sales groups (by turns), each with a commission rate."""
    group = np.array(SALES_GROUPS, dtype=object)[np.arange(n) % 3]
    rate = np.array([rng.choice(GROUP_RATES[g]) for g in group])
    names = (
        np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
        + " "
        + np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    )
    reps = pd.DataFrame(
        {
            "sales_rep_id": _ids("R_", np.arange(1, n + 1), 3),
            "rep_name": names,
            "sales_group": group,
        }
    )
    return reps, rate


def _invoice_dates(
    rng: np.random.Generator, n: int, first: int, last: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Invoice day numbers with the billing season and a slow growth; returns day, month, month-of-year."""
    months = pd.period_range(
        start=pd.Timestamp(_to_dates(np.array([first]))[0]),
        end=pd.Timestamp(_to_dates(np.array([last]))[0]),
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


def _stress(rng: np.random.Generator, n_customers: int, n_months: int) -> np.ndarray:
    """Each customer's financial stress by month: AR(1) with rho 0.8 and sd 0.4."""
    s = np.empty((n_customers, n_months))
    s[:, 0] = rng.normal(0, 0.4, n_customers)
    for t in range(1, n_months):  # a loop over months, not rows
        s[:, t] = 0.8 * s[:, t - 1] + 0.6 * rng.normal(0, 0.4, n_customers)
    return s


def _pay_days(
    z: np.ndarray, day: np.ndarray, due: np.ndarray, u_early: np.ndarray, u_never: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Final payment day from the lateness score: 40 x z days after due when z > 0, else on time."""
    late = np.ceil(40.0 * np.clip(z, 0, None)).astype(np.int64)
    early = np.maximum(day + 1, due - np.floor((due - day) * 0.8 * u_early**1.5).astype(np.int64))
    pay = np.where(z > 0, due + late, early)
    never = (z > 3.2) | (u_never < 0.004)
    return pay, never


def _payment_parts(
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


def _commissions_table(
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
        _to_dates(np.where(fully_paid, last_pay, 0)).astype("datetime64[M]") + 2
    ).astype("datetime64[D]").astype(np.int64) - 1
    settled = fully_paid & (paid_month_end <= last)
    return pd.DataFrame(
        {
            "commission_id": _ids(
                "COM-", np.arange(1, n_invoices + 1), max(7, len(str(n_invoices)))
            ),
            "sales_rep_id": _ids("R_", rep + 1, 3),
            "invoice_id": inv_ids,
            "commission_amount": np.round(amount * rate, 2),
            "commission_rate": rate,
            "accrual_date": _to_dates(day),
            "is_settled": settled,
            "settlement_date": np.where(
                settled, _to_dates(paid_month_end), np.datetime64("NaT", "us")
            ).astype("datetime64[us]"),
        }
    )


def generate(
    n_invoices: int = 10_000,
    seed: int = 42,
    start: str = "2024-01-01",
    end: str = "2026-10-31",
) -> dict[str, pd.DataFrame]:
    """The clean canonical ledger (customers, invoices, payments, sales_reps, commissions).

    ``n_invoices`` invoices dated ``start``..``end``; ``end`` is also the extract date (no payment
    after it). ``max(350, n_invoices // 30)`` customers and ``max(15, customers // 100)`` sales reps.
    Columns are exactly :data:`arinsight.schemas.CANONICAL`; the same seed gives the same ledger.
    """
    n_invoices = int(n_invoices)
    if n_invoices < 1:
        raise ValueError(f"n_invoices must be at least 1, got {n_invoices}")
    first, last = _days(start), _days(end)
    if last <= first:
        raise ValueError(f"end {end!r} must be after start {start!r}")
    rng = np.random.default_rng(seed)
    n_cust = max(350, n_invoices // 30)
    n_reps = max(15, n_cust // 100)
    reps, rep_rate = _sales_reps(rng, n_reps)
    customers, hid = _customers(rng, n_cust, n_reps)

    # ---- invoices: date, customer, energy, amount, due date
    day, month_idx, moy = _invoice_dates(rng, n_invoices, first, last)
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
    amount = _money(cents)
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
    stress = _stress(rng, n_cust, int(month_idx.max()) + 1)
    z0 = (
        hid["propensity"][cust]
        + stress[cust, month_idx]
        + 0.3 * (log_amt - mean_log[cust])
        + MONTH_LATENESS[moy]
        + rng.normal(0, 0.6, n_invoices)
    )
    u_early, u_never = rng.random(n_invoices), rng.random(n_invoices)
    pay, never = _pay_days(z0, day, due, u_early, u_never)
    settle = np.where(never, _NEVER, pay)
    balance = _open_balance_before(cust, day, settle, amount)
    credit_use = balance / customers["credit_limit"].to_numpy()[cust]
    z = z0 + 0.6 * np.clip(credit_use - 0.7, 0, 1)
    pay, never = _pay_days(z, day, due, u_early, u_never)

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

    inv, part_day, part_cents = _payment_parts(rng, cents, day, pay, parts, partial, over, last)

    # unapplied cash: money received without an invoice reference, customer known
    n_un = max(5, n_invoices // 60)
    un_cust = rng.choice(n_cust, size=n_un, p=hid["weight"])
    un_day = rng.integers(first, last + 1, n_un)
    un_cents = np.maximum(
        500, np.round(base_kwh[un_cust] * hid["price"][un_cust] * rng.uniform(5, 60, n_un))
    ).astype(np.int64)

    inv_ids = _ids("INV-", np.arange(1, n_invoices + 1), max(7, len(str(n_invoices))))
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
            "payment_id": _ids("PAY-", np.arange(1, n_pay + 1), max(8, len(str(n_pay)))),
            "invoice_id": np.where(pay_inv >= 0, inv_ids[np.maximum(pay_inv, 0)], None),
            "customer_id": cust_ids[pay_cust],
            "payment_date": _to_dates(pay_day_all),
            "amount": _money(pay_cents),
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
            "invoice_date": _to_dates(day),
            "due_date": _to_dates(due),
            "amount": amount,
            "currency": "USD",
            "energy_kwh": kwh,
            "status": status,
        }
    )

    commissions = _commissions_table(
        inv_ids, hid["rep"][cust], rep_rate, amount, day, fully_paid, last_pay, last
    )
    tables = {
        "customers": customers,
        "invoices": invoices,
        "payments": payments,
        "sales_reps": reps,
        "commissions": commissions,
    }
    return {name: _canonical_types(name, df) for name, df in tables.items()}


def _columns(table: str) -> list[str]:
    """The sample's columns of a table: the canonical ones, without the invoice segment columns
    (the sample reports every invoice under its customer's region, industry and type)."""
    skip = SEGMENT_COLUMNS if table == "invoices" else ()
    return [c for c in CANONICAL[table] if c not in skip]


def _canonical_types(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order; text columns as pandas strings."""
    out = df[_columns(table)].copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype("str")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- inject problems


def _py(series: pd.Series) -> pd.Series:
    """Python values with None for missing (what a driver or a workbook receives)."""
    return series.astype(object).where(series.notna(), None)


def _raw_values(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """A clean table as a workbook or database holds it: ISO date text, 0/1 flags.

    Text stays in pandas' compact string dtype (missing = NaN) to keep memory low at 1M rows;
    the writers turn missing values into empty cells or SQL NULL.
    """
    out = pd.DataFrame(index=df.index)
    for col in _columns(table):
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            out[col] = _date_text(df[col])
        elif pd.api.types.is_bool_dtype(df[col]):
            out[col] = df[col].astype("int64")
        else:
            out[col] = df[col].copy()
    return out


def _date_text(series: pd.Series) -> pd.Series:
    """Dates as ISO text (string dtype), missing where the date is missing."""
    days = series.to_numpy(dtype="datetime64[D]")
    text = pd.Series(np.datetime_as_string(days, unit="D"), index=series.index, dtype="str")
    return text.where(series.notna())


def _number_text(series: pd.Series, fmt: str) -> pd.Series:
    """Numbers formatted for the CSV ('' where missing)."""
    text = pd.Series(
        np.char.mod(fmt, series.to_numpy(dtype=float)), index=series.index, dtype="str"
    )
    return text.where(series.notna(), "")


def _interleave(
    rng: np.random.Generator, good: pd.DataFrame, bad: pd.DataFrame, copies: pd.DataFrame
) -> pd.DataFrame:
    """Good rows in their order, bad rows at random places, exact copies after every good row."""
    n = len(good)
    pos = np.concatenate(
        [np.arange(n, dtype=float), rng.uniform(0, n, len(bad)), n + np.arange(len(copies))]
    )
    frame = pd.concat([good, bad, copies], ignore_index=True)
    return frame.iloc[np.argsort(pos, kind="stable")].reset_index(drop=True)


def _overpaid_invoices(invoices: pd.DataFrame, payments: pd.DataFrame) -> pd.Index:
    """Invoices whose applied payments total more than the amount (a credit balance)."""
    paid = payments.dropna(subset=["invoice_id"]).groupby("invoice_id")["amount"].sum()
    amount = invoices.set_index("invoice_id")["amount"]
    paid = paid.reindex(amount.index, fill_value=0.0)
    return amount.index[np.round(paid - amount, 2) > 0]


def _invoice_problems(
    rng: np.random.Generator,
    text: pd.DataFrame,
    clean: pd.DataFrame,
    customers: pd.DataFrame,
    overpaid: pd.Index,
    k: int,
) -> tuple[pd.DataFrame, dict[str, int], int]:
    """Raw invoices (all text): blanked due dates, exact copies and 8 blocks of fresh bad rows."""
    n = len(text)
    terms = clean["customer_id"].map(customers.set_index("customer_id")["payment_terms_days"])
    can_derive = np.flatnonzero(terms.notna().to_numpy() & ~clean["invoice_id"].isin(overpaid))
    if len(can_derive) < k or n < 2 * k:
        raise ValueError(f"too few invoices ({n}) to inject {k} problems per rule")
    derived = rng.choice(can_derive, size=k, replace=False)
    good = text.copy()
    good.loc[derived, "due_date"] = ""
    dup = rng.choice(np.setdiff1d(np.arange(n), derived), size=k, replace=False)
    copies = good.iloc[np.sort(dup)]

    blocks = ["conflict_a", "conflict_b", "missing", "unparseable", "non_positive", "due_before"]
    blocks += ["future", "unknown_customer"]
    tmpl = rng.choice(n, size=k * len(blocks), replace=True)
    bad = text.iloc[tmpl].reset_index(drop=True)
    bad["status"] = "Open"
    block = np.repeat(blocks, k)
    j = np.tile(np.arange(k), len(blocks))
    fresh = np.arange(1, len(bad) + 1)
    fresh[block == "conflict_b"] = fresh[block == "conflict_a"]  # same id, other content
    bad["invoice_id"] = _ids("INV-X", fresh, 7)
    amount = clean["amount"].to_numpy()[tmpl]
    inv_day = clean["invoice_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)[tmpl]
    even = j % 2 == 0

    def put(name: str, col: str, values: Any, where: np.ndarray | None = None) -> None:
        mask = (block == name) if where is None else (block == name) & where
        bad.loc[mask, col] = values[mask] if isinstance(values, np.ndarray) else values

    bumped = np.round(amount + rng.uniform(1, 100, len(bad)), 2)
    put("conflict_b", "amount", np.char.mod("%.2f", bumped).astype(object))
    put("missing", "customer_id", "", even)
    put("missing", "invoice_date", "", ~even)
    garbled = np.array([f"{int(a)}x.{int(round(a * 100)) % 100:02d}" for a in amount], dtype=object)
    put("unparseable", "amount", garbled, even)
    year = _iso(inv_day).astype(str).astype("U4").astype(object)
    bad_date = np.where(j % 4 == 1, year + "-13-45", year + "-02-30").astype(object)
    put("unparseable", "invoice_date", bad_date, ~even)
    negative = np.char.mod("-%.2f", amount).astype(object)
    put("non_positive", "amount", "0.00", even)
    put("non_positive", "amount", negative, ~even)
    put("due_before", "due_date", _iso(inv_day - rng.integers(1, 31, len(bad))))
    future_day = _days("2099-01-01") + (inv_day - inv_day.min())
    put("future", "invoice_date", _iso(future_day))
    put("future", "due_date", _iso(future_day + 30))
    unknown = _ids("C_", len(customers) + 1000 + j, 1)
    put("unknown_customer", "customer_id", unknown)

    raw = _interleave(rng, good, bad, copies)
    counts = {
        "duplicate_exact": k,
        "duplicate_key_conflict": 2 * k,
        "missing_required": k,
        "unparseable_value": k,
        "non_positive_amount": k,
        "due_before_invoice": k,
        "future_date": k,
        "unknown_customer": k,
    }
    return raw, counts, k


def _payment_problems(
    rng: np.random.Generator, payments: pd.DataFrame, invoices: pd.DataFrame, extract: int, k: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Raw payments (Python values): exact copies and 7 blocks of fresh bad rows."""
    good = _raw_values("payments", payments)
    copies = good.iloc[np.sort(rng.choice(len(good), size=k, replace=False))]

    blocks = ["unknown_invoice", "before_invoice", "non_positive", "future", "unparseable"]
    blocks += ["missing"]
    inv_day = invoices["invoice_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    usable = np.flatnonzero(inv_day < extract)
    pick = rng.choice(usable, size=k * len(blocks), replace=True)
    block = np.repeat(blocks, k)
    j = np.tile(np.arange(k), len(blocks))
    amount = np.round(invoices["amount"].to_numpy()[pick] * rng.uniform(0.2, 1.0, len(pick)), 2)
    day = inv_day[pick] + rng.integers(1, 61, len(pick))
    day = np.minimum(day, extract)
    day = np.where(block == "before_invoice", inv_day[pick] - rng.integers(1, 31, len(pick)), day)
    day = np.where(block == "future", _days("2099-01-01") + (day - day.min()), day)
    amount_v = amount.astype(object)
    amount_v[(block == "non_positive") & (j % 2 == 0)] = 0.0
    neg = (block == "non_positive") & (j % 2 == 1)
    amount_v[neg] = -amount[neg]
    text_bad = np.where(j % 2 == 0, "abc", "1O0.00")
    amount_v[block == "unparseable"] = text_bad[block == "unparseable"]
    date_v = _iso(day)
    date_v[block == "missing"] = None
    invoice_v = invoices["invoice_id"].to_numpy(dtype=object)[pick]
    invoice_v[block == "unknown_invoice"] = _ids("INV-Z", j + 1, 7)[block == "unknown_invoice"]
    bad = pd.DataFrame(
        {
            "payment_id": _ids("PAY-X", np.arange(1, len(pick) + 1), 8),
            "invoice_id": invoice_v,
            "customer_id": invoices["customer_id"].to_numpy(dtype=object)[pick],
            "payment_date": date_v,
            "amount": amount_v,
            "method": rng.choice(METHODS, size=len(pick), p=METHOD_P).astype(object),
        }
    )
    text_cols = ["payment_id", "invoice_id", "customer_id", "payment_date", "method"]
    bad = bad.astype(dict.fromkeys(text_cols, "str"))
    raw = _interleave(rng, good, bad, copies)
    counts = {
        "duplicate_exact": k,
        "unknown_invoice": k,
        "payment_before_invoice": k,
        "non_positive_amount": k,
        "future_date": k,
        "unparseable_value": k,
        "missing_required": k,
    }
    return raw, counts


def inject_problems(
    tables: dict[str, pd.DataFrame], seed: int, per_rule: int | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Add the data problems the cleaning rules know to a clean ledger, at known counts.

    ``per_rule`` bad rows per rule (default ``max(5, invoices // 1000)``); a key conflict is a pair
    (2 rows). Every injected row has exactly one problem; bad invoices and bad payments are new
    rows with fresh ids (``INV-X...``, ``PAY-X...``) that nothing refers to, so counts do not
    cascade. Kept-but-flagged: ``per_rule`` invoices lose their due date (their customer has
    payment terms, so cleaning derives it), ``per_rule`` fresh invoices are due 1-30 days before
    their invoice date (kept with that due date, never paid), and the overpaid invoices of the
    clean ledger are counted. Customers get 1 exact copy and 1 row without id; commissions ``per_rule`` copies.

    Returns the raw tables (canonical column names; invoices as text like the CSV, the other
    tables as Python values with ISO date text, as a workbook or database holds them) and the
    manifest part: ``injected`` {table: {reason: rows}}, ``expected_clean_rows``,
    ``expected_quarantined_rows``, ``expected_dropped_rows``, ``flags`` and ``rows``.
    """
    missing = [t for t in CANONICAL if t not in tables]
    if missing:
        raise ValueError(f"inject_problems needs every canonical table; missing: {missing}")
    invoices, payments = tables["invoices"], tables["payments"]
    k = max(5, len(invoices) // 1000) if per_rule is None else int(per_rule)
    if k < 1:
        raise ValueError(f"per_rule must be at least 1, got {per_rule}")
    rng = np.random.default_rng([int(seed), 4])
    last = max(
        invoices["invoice_date"].max(),
        payments["payment_date"].max() if len(payments) else invoices["invoice_date"].max(),
    )
    extract = _days(last)

    text = pd.DataFrame(
        {
            "invoice_id": invoices["invoice_id"].astype("str"),
            "customer_id": invoices["customer_id"].astype("str"),
            "invoice_date": _date_text(invoices["invoice_date"]).fillna(""),
            "due_date": _date_text(invoices["due_date"]).fillna(""),
            "amount": _number_text(invoices["amount"], "%.2f"),
            "currency": invoices["currency"].astype("str").fillna(""),
            "energy_kwh": _number_text(invoices["energy_kwh"], "%.0f"),
            "status": invoices["status"].astype("str").fillna(""),
        }
    )
    overpaid = _overpaid_invoices(invoices, payments)
    raw_inv, inv_counts, n_derived = _invoice_problems(
        rng, text, invoices, tables["customers"], overpaid, k
    )
    raw_pay, pay_counts = _payment_problems(rng, payments, invoices, extract, k)
    # due dates before the invoice date are kept (flagged), as SAP exports them: see clean
    due_before = inv_counts.pop("due_before_invoice")

    cust = _raw_values("customers", tables["customers"])
    cust_copy = cust.iloc[[int(rng.integers(len(cust)))]]
    no_id = cust.iloc[[int(rng.integers(len(cust)))]].copy()
    no_id["customer_id"] = None
    no_id["customer_name"] = "Walk-in customer (no account)"
    no_id["contact_email"] = None
    raw_cust = _interleave(rng, cust, no_id, cust_copy)

    com = tables["commissions"]
    raw_com = _raw_values("commissions", com)
    com_copies = raw_com.iloc[np.sort(rng.choice(len(raw_com), size=k, replace=False))]
    raw_com = _interleave(rng, raw_com, raw_com.iloc[0:0], com_copies)
    reps = _raw_values("sales_reps", tables["sales_reps"])

    raw = {
        "customers": raw_cust,
        "invoices": raw_inv,
        "payments": raw_pay,
        "sales_reps": reps,
        "commissions": raw_com,
    }
    injected = {
        "customers": {"duplicate_exact": 1, "missing_required": 1},
        "invoices": inv_counts,
        "payments": pay_counts,
        "sales_reps": {},
        "commissions": {"duplicate_exact": k},
    }
    dropped = {t: injected[t].get("duplicate_exact", 0) for t in CANONICAL}
    part = {
        "rows": {t: len(raw[t]) for t in CANONICAL},
        "injected": {t: dict(sorted(v.items())) for t, v in injected.items()},
        "expected_clean_rows": {
            t: len(tables[t]) + (due_before if t == "invoices" else 0) for t in CANONICAL
        },
        "expected_dropped_rows": dropped,
        "expected_quarantined_rows": {t: sum(injected[t].values()) - dropped[t] for t in CANONICAL},
        "flags": {
            "due_date_derived": n_derived,
            "overpayment": len(overpaid),
            "due_before_invoice": due_before,
        },
    }
    return raw, part


# --------------------------------------------------------------------------- write


def _write_csv(invoices: pd.DataFrame, path: Path) -> None:
    """The invoice export: UTF-8, comma-separated, ISO dates, values as text."""
    write_csv(invoices.rename(columns=SOURCE_COLUMNS["invoices"]), path)


def _xml_escape(text: pd.Series) -> pd.Series:
    return (
        text.str.replace("&", "&amp;", regex=False)
        .str.replace("<", "&lt;", regex=False)
        .str.replace(">", "&gt;", regex=False)
    )


def _sheet_rows(frame: pd.DataFrame, first_row: int) -> str:
    """Rows of an Excel sheet as SpreadsheetML, built column-wise (openpyxl's write-only form:
    inline strings, numbers as ``t="n"``, missing values as absent cells)."""
    n = len(frame)
    if n == 0:
        return ""
    ref = pd.Series(np.arange(first_row, first_row + n), dtype="int64").astype(str)
    cells = pd.Series("", index=range(n), dtype=object)
    for pos, col in enumerate(frame.columns):
        letter = chr(ord("A") + pos)
        values = frame[col].reset_index(drop=True)
        present = values.notna()
        kind = pd.api.types.infer_dtype(values[present], skipna=True)
        if kind in ("integer", "floating", "mixed-integer-float"):
            num = values[present].astype(float)
            text = num.map(lambda v: str(int(v)) if v.is_integer() else repr(v))
            cell = '<c r="' + letter + ref[present] + '" t="n"><v>' + text + "</v></c>"
        else:
            text = _xml_escape(values[present].astype(str))
            cell = (
                '<c r="'
                + letter
                + ref[present]
                + '" t="inlineStr"><is><t>'
                + text
                + "</t></is></c>"
            )
        cells = cells + cell.reindex(cells.index, fill_value="").astype(object)
    rows = '<row r="' + ref + '">' + cells + "</row>"
    return "".join(rows.tolist())


def _write_excel(customers: pd.DataFrame, reps: pd.DataFrame, path: Path) -> None:
    """An openpyxl workbook (sheets customers and sales_reps), reproducible to the byte.

    openpyxl writes the workbook with the header rows; the data rows are then spliced into each
    sheet's XML in the same form openpyxl's write-only mode uses (it is ~50x faster than
    openpyxl's pure-Python XML writer for 30,000+ rows), and the zip is rewritten with fixed entry
    times and fixed document properties, so the same data gives the same bytes.
    """
    from openpyxl import Workbook
    from openpyxl.xml.functions import tostring

    wb = Workbook(write_only=True)
    wb.properties.creator = "arinsight sample"
    wb.properties.created = _FIXED_TIME
    code = {v: k for k, v in REGION_CODES.items()}
    cust = customers[CANONICAL["customers"]].copy()
    cust["region"] = cust["region"].map(lambda r: code.get(r, r))
    body: dict[str, tuple[bytes, str]] = {}
    for number, (title, frame, table) in enumerate(
        (("customers", cust, "customers"), ("sales_reps", reps, "sales_reps")), start=1
    ):
        ws = wb.create_sheet(title)
        ws.append(list(SOURCE_COLUMNS[table].values()))
        last = f"{chr(ord('A') + len(_columns(table)) - 1)}{len(frame) + 1}"
        body[f"xl/worksheets/sheet{number}.xml"] = (
            f'<dimension ref="A1:{last}" />'.encode(),
            _sheet_rows(frame[_columns(table)], 2),
        )
    buffer = io.BytesIO()
    wb.save(buffer)  # stamps properties.modified with the current time: replaced below
    wb.properties.modified = _FIXED_TIME
    core = tostring(wb.properties.to_tree())
    with (
        zipfile.ZipFile(buffer) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = core if info.filename == "docProps/core.xml" else src.read(info.filename)
            if info.filename in body:
                rows, text = body[info.filename]
                data = data.replace(b"</sheetData>", text.encode("utf-8") + b"</sheetData>", 1)
                # the used range, so readers pad rows whose trailing cells are empty
                data = data.replace(b"<sheetViews>", rows + b"<sheetViews>", 1)
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, data)


_SQL_TYPES = {
    "payments": ["TEXT", "TEXT", "TEXT", "TEXT", "REAL", "TEXT"],
    "commissions": ["TEXT", "TEXT", "TEXT", "REAL", "REAL", "TEXT", "INTEGER", "TEXT"],
}


def _write_sqlite(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """A fresh database file, every table in one transaction, rows in a fixed order."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        for table, frame in tables.items():
            names = list(SOURCE_COLUMNS[table].values())
            cols = ", ".join(f'"{n}" {t}' for n, t in zip(names, _SQL_TYPES[table], strict=True))
            con.execute(f'CREATE TABLE "{table}" ({cols})')
            marks = ", ".join("?" * len(names))
            values = [_py(frame[c]).tolist() for c in _columns(table)]
            con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', zip(*values, strict=True))
        con.execute("COMMIT")
    finally:
        con.close()


def _sources_spec() -> dict[str, Any]:
    """The sources file of the sample (docs/own-data.md): where each table is, how it is named."""
    common = {"on_bad_value": "quarantine"}
    return {
        "reporting_currency": "USD",
        "sources": {
            "invoices": {
                "kind": "csv",
                "path": FILES["invoices"],
                "delimiter": ",",
                "encoding": "utf-8",
                "decimal": ".",
                "thousands": None,
                "date_format": "%Y-%m-%d",
                **common,
                "columns": SOURCE_COLUMNS["invoices"],
            },
            "customers": {
                "kind": "excel",
                "path": FILES["customers"],
                "sheet": "customers",
                "header_row": 1,
                **common,
                "columns": SOURCE_COLUMNS["customers"],
                "values": {"region": dict(REGION_CODES)},
            },
            "sales_reps": {
                "kind": "excel",
                "path": FILES["sales_reps"],
                "sheet": "sales_reps",
                "header_row": 1,
                **common,
                "columns": SOURCE_COLUMNS["sales_reps"],
            },
            "payments": {
                "kind": "sql",
                "url": "sqlite:///{here}/" + FILES["payments"],
                "table": "payments",
                **common,
                "columns": SOURCE_COLUMNS["payments"],
            },
            "commissions": {
                "kind": "sql",
                "url": "sqlite:///{here}/" + FILES["commissions"],
                "table": "commissions",
                **common,
                "columns": SOURCE_COLUMNS["commissions"],
            },
        },
    }


def write_sample(
    out: str | Path = "data/sample", n_invoices: int = 10_000, seed: int = 42
) -> dict[str, Any]:
    """Generate the sample ledger, inject its problems and write the files and the manifest.

    ``out`` is a folder (relative paths from the project root), created if needed; existing
    sample files in it are replaced. Returns the manifest (also written as ``manifest.json``).
    """
    n_invoices = int(n_invoices)
    if n_invoices < 1:
        raise ValueError(f"n_invoices must be at least 1, got {n_invoices}")
    folder = config.resolve_path(out)
    if folder is None:
        raise ValueError("out must name a folder")
    folder.mkdir(parents=True, exist_ok=True)
    start, end = "2024-01-01", "2026-10-31"
    tables = generate(n_invoices, seed=seed, start=start, end=end)
    raw, part = inject_problems(tables, seed)
    n_customers = len(tables["customers"])
    del tables  # free memory before writing (matters at 1M invoices)

    _write_csv(raw.pop("invoices"), folder / FILES["invoices"])
    _write_excel(raw.pop("customers"), raw.pop("sales_reps"), folder / FILES["customers"])
    _write_sqlite(
        {"payments": raw.pop("payments"), "commissions": raw.pop("commissions")},
        folder / FILES["payments"],
    )
    header = (
        "# Sources of the embedded sample (written by `arinsight sample`; paths are relative to\n"
        "# this file's folder, {here} in a URL is that folder). Copy it to map your own exports.\n"
    )
    body = yaml.safe_dump(_sources_spec(), sort_keys=False, allow_unicode=True, width=100)
    (folder / "sources.yaml").write_text(header + body, encoding="utf-8")

    files = sorted({*FILES.values(), "sources.yaml"})
    manifest = {
        "generator": "arinsight.sample",
        "seed": int(seed),
        "n_invoices": n_invoices,
        "n_customers": n_customers,
        "start": start,
        "end": end,
        "extract_date": end,
        **part,
        "files": {name: sha256_file(folder / name) for name in files},
    }
    write_json(folder / "manifest.json", manifest)
    return manifest
