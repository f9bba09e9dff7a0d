"""Customers: the customer master and the sales reps, with the hidden traits (energy use, price,
weight, propensity to pay late) that drive billing and lateness."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arinsight.sample.values import ids_of

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


def customers_table(rng: np.random.Generator, n: int, n_reps: int) -> tuple[pd.DataFrame, dict]:
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


def sales_reps_table(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
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
