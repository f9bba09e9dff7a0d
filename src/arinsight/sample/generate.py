"""Generate: the clean canonical ledger of the sample (customers, reps, invoices, payments,
commissions, adjustments) from one seeded generator; the adjustments (write-offs, credit notes)
come from a second stream of the same seed, so adding them changed none of the other tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from arinsight.schemas import CANONICAL, SEGMENT_COLUMNS

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
    "adjustments": {
        "adjustment_id": "DocNo",
        "invoice_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "adjustment_date": "PostingDate",
        "amount": "Amount",
        "kind": "DocType",
        "reason": "Reason",
    },
    "disputes": {
        "dispute_id": "CaseID",
        "invoice_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "amount": "DisputedAmount",
        "reason": "ReasonCode",
        "opened_date": "Opened",
        "resolved_date": "Resolved",
        "outcome": "Outcome",
    },
    "promises": {
        "promise_id": "PromiseID",
        "customer_id": "CustomerID",
        "invoice_id": "InvoiceNo",
        "made_date": "Logged",
        "promised_date": "PromisedDate",
        "amount": "PromisedAmount",
        "source": "Channel",
    },
}

FILES = {
    "invoices": "invoices.csv",
    "customers": "customers.xlsx",
    "sales_reps": "customers.xlsx",
    "payments": "ledger.sqlite",
    "commissions": "ledger.sqlite",
    "adjustments": "adjustments.csv",
    "disputes": "disputes.csv",
    "promises": "promises.csv",
}
#: The document types of the adjustments export (each read as a canonical kind by clean).
ADJUSTMENT_TYPES = {"write_off": "Write-off", "credit_note": "Credit memo", "adjustment": "Adj"}
WRITE_OFF_REASONS = ["Uncollectible after collection efforts", "Customer insolvency"]
CREDIT_REASONS = ["Price dispute", "Quantity short-delivered", "Service credit"]
#: Dispute reason codes: the credit reasons' codes, in the same order, and an unpaid invoice's.
DISPUTE_REASONS = ["PRICE", "QUANTITY", "SERVICE", "NOT_RECEIVED"]
PROMISE_SOURCES = ["call", "e-mail", "portal"]
#: Days after the promised date a payment still keeps the promise (the sample's own habit).
PROMISE_GRACE = 3
#: The fixed time stamped into the Excel workbook (properties and zip entries).
FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
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


def day_number(ts: pd.Timestamp | str) -> int:
    """Day number (days since 1970-01-01) of a date."""
    return int(np.datetime64(pd.Timestamp(ts).date(), "D").astype(np.int64))


def _to_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers -> datetime64[us] (the clean dtype)."""
    return days.astype("datetime64[D]").astype("datetime64[us]")


def iso_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers -> 'YYYY-MM-DD' text."""
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)


def ids_of(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
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


def _customers(rng: np.random.Generator, n: int, n_reps: int) -> tuple[pd.DataFrame, dict]:
    """Customer master plus the hidden traits that drive billing and lateness."""
    ids = ids_of("C_", np.arange(1, n + 1), 1)
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
            "sales_rep_id": ids_of("R_", rep + 1, 3),
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
            "sales_rep_id": ids_of("R_", np.arange(1, n + 1), 3),
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
            "commission_id": ids_of(
                "COM-", np.arange(1, n_invoices + 1), max(7, len(str(n_invoices)))
            ),
            "sales_rep_id": ids_of("R_", rep + 1, 3),
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


def _adjustments_table(
    seed: int,
    inv_ids: np.ndarray,
    cust_ids: np.ndarray,
    cents: np.ndarray,
    paid_cents: np.ndarray,
    due: np.ndarray,
    last_pay: np.ndarray,
    never: np.ndarray,
    partial: np.ndarray,
    last: int,
) -> pd.DataFrame:
    """Write-offs and credit notes, from their own random stream
    (``default_rng([seed, 7])``) so the other tables are those of the seed without them.

    - an invoice never paid is written off in full (95 %; the rest are still pursued) 120-360
      days after its due date;
    - the rest of a partly paid invoice is credited (55 %, a credit memo 10-60 days after the
      payment: the short payment was a dispute the company accepted), written off (35 %,
      120-300 days after due) or left open (10 %);
    Only documents dated up to ``last`` (the extract date) are kept.
    """
    rng = np.random.default_rng([int(seed), 7])
    n = len(inv_ids)
    rest = cents - paid_cents.astype(np.int64)
    u, lag_wo, lag_cn = rng.random(n), rng.integers(120, 361, n), rng.integers(10, 61, n)
    lag_wo_part = rng.integers(120, 301, n)
    reason_wo, reason_cn = rng.integers(0, 2, n), rng.integers(0, 3, n)
    kind = np.full(n, "", dtype=object)
    day = np.zeros(n, dtype=np.int64)
    short = partial & (rest > 0) & (last_pay >= 0)  # paid part of it by the extract date
    wo_never = never & (u < 0.95)
    cn_part = short & (u < 0.55)
    wo_part = short & (u >= 0.55) & (u < 0.90)
    kind[wo_never | wo_part], kind[cn_part] = "write_off", "credit_note"
    day = np.where(wo_never, due + lag_wo, day)
    day = np.where(wo_part, due + lag_wo_part, day)
    day = np.where(cn_part, last_pay + lag_cn, day)
    keep = (kind != "") & (day <= last) & (rest > 0)
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((idx, day[idx]))]  # numbered in date order
    k = kind[idx]
    reason = np.where(
        k == "write_off",
        np.array(WRITE_OFF_REASONS, dtype=object)[reason_wo[idx]],
        np.array(CREDIT_REASONS, dtype=object)[reason_cn[idx]],
    )
    return pd.DataFrame(
        {
            "adjustment_id": ids_of("ADJ-", np.arange(1, len(idx) + 1), 6),
            "invoice_id": inv_ids[idx],
            "customer_id": cust_ids[idx],
            "adjustment_date": _to_dates(day[idx]),
            "amount": _money(rest[idx]),
            "kind": k,
            "reason": reason.astype(object),
        }
    )


def _disputes_table(
    seed: int,
    adjustments: pd.DataFrame,
    inv_ids: np.ndarray,
    cust_ids: np.ndarray,
    cents: np.ndarray,
    paid_cents: np.ndarray,
    due: np.ndarray,
    pay: np.ndarray,
    last_pay: np.ndarray,
    partial: np.ndarray,
    single: np.ndarray,
    last: int,
) -> pd.DataFrame:
    """Disputes, from their own stream (``default_rng([seed, 8])``):

    - every short payment was a dispute, opened 0-5 days after the payment: resolved by the
      credit note (outcome credit_note) or the write-off (written_off) of the rest, or still
      open; its reason code follows the credit note's reason (write-offs and open ones: drawn);
    - 4 % of the invoices paid more than 20 days late in one payment were disputed ("not
      received" or a price query) between the due date and half-way to the payment, and
      resolved by the payment (outcome paid).
    Only disputes opened by ``last`` are kept; one resolved after ``last`` is open.
    """
    rng = np.random.default_rng([int(seed), 8])
    n = len(inv_ids)
    lag, u = rng.integers(0, 6, n), rng.random(n)
    drawn = rng.integers(0, 3, n)
    at = pd.Index(inv_ids).get_indexer(adjustments["invoice_id"])
    resolved = np.full(n, -1, dtype=np.int64)
    outcome = np.full(n, "", dtype=object)
    reason = np.array(DISPUTE_REASONS, dtype=object)[drawn]
    adj_day = adjustments["adjustment_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    resolved[at] = adj_day
    outcome[at] = np.where(adjustments["kind"] == "credit_note", "credit_note", "written_off")
    from_reason = {r: DISPUTE_REASONS[i] for i, r in enumerate(CREDIT_REASONS)}
    cn = (adjustments["kind"] == "credit_note").to_numpy()
    reason[at[cn]] = adjustments.loc[cn, "reason"].map(from_reason).to_numpy()
    rest = cents - paid_cents.astype(np.int64)
    short = partial & (rest > 0) & (last_pay >= 0)
    amount = np.where(short, rest, cents)
    opened = np.where(short, last_pay + lag, 0)
    late = single & (pay <= last) & (pay - due > 20) & (u < 0.04) & ~short
    half = np.maximum(1, (pay - due) // 2)
    opened = np.where(late, due + 1 + np.floor(rng.random(n) * half).astype(np.int64), opened)
    resolved = np.where(late, pay, resolved)
    outcome = np.where(late, "paid", outcome)
    reason = np.where(late, np.where(u < 0.02, "NOT_RECEIVED", "PRICE"), reason)
    keep = (short | late) & (opened <= last)
    still_open = keep & ((resolved < 0) | (resolved > last))
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((idx, opened[idx]))]
    return pd.DataFrame(
        {
            "dispute_id": ids_of("DSP-", np.arange(1, len(idx) + 1), 6),
            "invoice_id": inv_ids[idx],
            "customer_id": cust_ids[idx],
            "amount": _money(amount[idx]),
            "reason": reason[idx].astype(object),
            "opened_date": _to_dates(opened[idx]),
            "resolved_date": np.where(
                still_open[idx], np.datetime64("NaT", "us"), _to_dates(np.maximum(resolved[idx], 0))
            ).astype("datetime64[us]"),
            "outcome": np.where(still_open[idx], None, outcome[idx]).astype(object),
        }
    )


def _promises_table(
    seed: int,
    inv_ids: np.ndarray,
    cust_ids: np.ndarray,
    cents: np.ndarray,
    due: np.ndarray,
    pay: np.ndarray,
    never: np.ndarray,
    single: np.ndarray,
    last: int,
) -> pd.DataFrame:
    """Promises to pay, from their own stream (``default_rng([seed, 9])``): a quarter of the
    invoices paid more than 10 days late in one payment, or never paid, got a call 3-15 days
    after the due date (before any payment) and a promise to pay the whole invoice 3-14 days
    later. Whether it was kept is what happened: the payment came by the promised date + 3
    days or not. Only promises made by ``last`` are kept."""
    rng = np.random.default_rng([int(seed), 9])
    n = len(inv_ids)
    u = rng.random(n)
    made = due + rng.integers(3, 16, n)
    promised = made + rng.integers(3, 15, n)
    source = np.array(PROMISE_SOURCES, dtype=object)[rng.integers(0, 3, n)]
    late = (single & (pay - due > 10)) | never
    keep = late & (u < 0.25) & (made <= last) & (never | (made < pay))
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((idx, made[idx]))]
    return pd.DataFrame(
        {
            "promise_id": ids_of("PTP-", np.arange(1, len(idx) + 1), 6),
            "customer_id": cust_ids[idx],
            "invoice_id": inv_ids[idx],
            "made_date": _to_dates(made[idx]),
            "promised_date": _to_dates(promised[idx]),
            "amount": _money(cents[idx]),
            "source": source[idx],
        }
    )


def generate(
    n_invoices: int = 10_000,
    seed: int = 42,
    start: str = "2024-01-01",
    end: str = "2026-10-31",
) -> dict[str, pd.DataFrame]:
    """The clean canonical ledger (customers, invoices, payments, sales_reps, commissions,
    adjustments, disputes, promises: see :func:`_adjustments_table`, :func:`_disputes_table`,
    :func:`_promises_table`).

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
    adjustments = _adjustments_table(
        seed, inv_ids, cust_ids[cust], cents, paid_cents, due, last_pay, never, partial, last
    )
    one = single & ~over
    disputes = _disputes_table(
        seed, adjustments, inv_ids, cust_ids[cust], cents, paid_cents, due, pay, last_pay,
        partial, one, last,
    )  # fmt: skip
    promises = _promises_table(seed, inv_ids, cust_ids[cust], cents, due, pay, never, one, last)
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
