"""Problems: every data problem the cleaning rules know, injected at known counts, one per bad row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from arinsight.sample.generate import columns_of
from arinsight.sample.payments import METHOD_P, METHODS
from arinsight.sample.values import day_number, ids_of, iso_dates
from arinsight.schemas import CANONICAL


def python_values(series: pd.Series) -> pd.Series:
    """Python values with None for missing (what a driver or a workbook receives)."""
    return series.astype(object).where(series.notna(), None)


def _raw_values(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """A clean table as a workbook or database holds it: ISO date text, 0/1 flags.

    Text stays in pandas' compact string dtype (missing = NaN) to keep memory low at 1M rows;
    the writers turn missing values into empty cells or SQL NULL.
    """
    out = pd.DataFrame(index=df.index)
    for col in columns_of(table):
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
    bad["invoice_id"] = ids_of("INV-X", fresh, 7)
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
    year = iso_dates(inv_day).astype(str).astype("U4").astype(object)
    bad_date = np.where(j % 4 == 1, year + "-13-45", year + "-02-30").astype(object)
    put("unparseable", "invoice_date", bad_date, ~even)
    negative = np.char.mod("-%.2f", amount).astype(object)
    put("non_positive", "amount", "0.00", even)
    put("non_positive", "amount", negative, ~even)
    put("due_before", "due_date", iso_dates(inv_day - rng.integers(1, 31, len(bad))))
    future_day = day_number("2099-01-01") + (inv_day - inv_day.min())
    put("future", "invoice_date", iso_dates(future_day))
    put("future", "due_date", iso_dates(future_day + 30))
    unknown = ids_of("C_", len(customers) + 1000 + j, 1)
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
    day = np.where(block == "future", day_number("2099-01-01") + (day - day.min()), day)
    amount_v = amount.astype(object)
    amount_v[(block == "non_positive") & (j % 2 == 0)] = 0.0
    neg = (block == "non_positive") & (j % 2 == 1)
    amount_v[neg] = -amount[neg]
    text_bad = np.where(j % 2 == 0, "abc", "1O0.00")
    amount_v[block == "unparseable"] = text_bad[block == "unparseable"]
    date_v = iso_dates(day)
    date_v[block == "missing"] = None
    invoice_v = invoices["invoice_id"].to_numpy(dtype=object)[pick]
    invoice_v[block == "unknown_invoice"] = ids_of("INV-Z", j + 1, 7)[block == "unknown_invoice"]
    bad = pd.DataFrame(
        {
            "payment_id": ids_of("PAY-X", np.arange(1, len(pick) + 1), 8),
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
    extract = day_number(last)

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
        "adjustments": _raw_values("adjustments", tables["adjustments"]),
        "disputes": _raw_values("disputes", tables["disputes"]),
        "promises": _raw_values("promises", tables["promises"]),
    }
    injected = {
        "customers": {"duplicate_exact": 1, "missing_required": 1},
        "invoices": inv_counts,
        "payments": pay_counts,
        "sales_reps": {},
        "commissions": {"duplicate_exact": k},
        "adjustments": {},
        "disputes": {},
        "promises": {},
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
