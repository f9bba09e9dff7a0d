"""The tables of the page and the site, each a function of the positions: aging,
currencies, entities, monthly trends, the invoice explorer, the overdue and over-limit lists and
the top customers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from arinsight.engine.results import aging_labels
from arinsight.engine.results import check_buckets as _check_buckets
from arinsight.periods import as_date
from arinsight.receivables.base import (
    DEFAULT_AGING_BUCKETS,
    EPS,
    require_columns,
)

#: Readable payment status of an invoice (invoice explorer, overdue lists).
STATUS_LABELS: dict[str, str] = {
    "paid": "Paid",
    "current": "Open - current",
    "overdue": "Overdue",
    "credit": "Credit",
    "written_off": "Written off",
}


#: The columns of the kept positions that the explorer and the customer pages show.
EXPLORER_COLUMNS = [
    "invoice_id",
    "customer_id",
    "customer_name",
    "region",
    "industry",
    "customer_type",
    "invoice_date",
    "due_date",
    "amount",
    "paid_to_date",
    "credited",
    "written_off",
    "balance",
    "open_amount",
    "days_past_due",
    "days_late",
    "paid_date",
    "payment_status",
    "energy_kwh",
]

#: The columns of the kept positions :func:`invoice_explorer_table` reads (its own columns but
#: ``payment_status``, which it makes from ``status``): what the explorer snapshot and the
#: overdue list read, so neither holds every column of a large ledger.
EXPLORER_READS = [*(c for c in EXPLORER_COLUMNS if c != "payment_status"), "status"]


def aging_table(
    positions: pd.DataFrame, buckets: Sequence[int] = DEFAULT_AGING_BUCKETS
) -> pd.DataFrame:
    """Open AR at T by days past due: bucket, amount, open invoices, share of open AR (percent).

    ``positions`` is the frame of :func:`invoice_positions`; ``buckets`` are inclusive upper bounds
    in days past due (``[0, 30, 60, 90, 120]`` -> Current, 1-30, ..., 120+). The amounts sum to open
    AR; every bucket is listed, empty ones with 0.
    """
    require_columns(positions, ["open_amount", "days_past_due"], "positions")
    b = _check_buckets(buckets)
    labels = aging_labels(b)
    open_ = positions.loc[positions["open_amount"] > 0]
    slot = np.searchsorted(np.asarray(b), open_["days_past_due"].to_numpy(), side="left")
    amount = np.bincount(slot, weights=open_["open_amount"].to_numpy(), minlength=len(labels))
    count = np.bincount(slot, minlength=len(labels))
    total = amount.sum()
    return pd.DataFrame(
        {
            "bucket": pd.Categorical(labels, categories=labels, ordered=True),
            "amount": np.round(amount, 2) + 0.0,
            "invoices": count.astype("int64"),
            "share_pct": np.round(amount / total * 100, 2) if total > EPS else np.nan,
        }
    )


def currency_table(
    kpis: Mapping[str, Any], positions: pd.DataFrame, reporting_currency: str = "USD"
) -> pd.DataFrame:
    """Open AR at T per document currency, from the engine's ``open_ar_by_currency`` (see
    docs/kpis.md): currency, open_ar (in that currency), open_ar_reporting (in the reporting
    currency), invoices (open), one column per aging bucket (in that currency) and ``rate``:
    the rates its open invoices were converted at, read from the positions (``fx_rate``,
    ``fx_rate_date``): "1 CAD = 0.7500 USD" for a constant rate, with the rate date for a dated
    one ("... of 2026-09-16"), a range when several rates were used ("0.7000 (2026-09-01) to
    0.7500 (2026-09-16)"), "reporting currency" for the reporting one. One row per currency
    with something open; none when nothing is open."""
    by = kpis.get("open_ar_by_currency") or {}
    has_rates = {"currency", "fx_rate", "open_amount"} <= set(positions.columns)
    rows = []
    for code, e in by.items():
        row = {
            "currency": code,
            "open_ar": float(e["open_ar"]),
            "open_ar_reporting": float(e["open_ar_reporting"]),
            "invoices": int(e["invoices"]),
        }
        row.update({label: float(v) for label, v in (e.get("aging") or {}).items()})
        row["rate"] = (
            _rate_text(positions, code, reporting_currency) if has_rates else "not recorded"
        )
        rows.append(row)
    base = ["currency", "open_ar", "open_ar_reporting", "invoices"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=[*base, "rate"])


def _rate_text(positions: pd.DataFrame, code: str, reporting: str) -> str:
    """How the open invoices of ``code`` were converted (see :func:`currency_table`)."""
    if code == reporting:
        return "reporting currency"
    open_ = positions.loc[(positions["currency"] == code) & (positions["open_amount"] > 0)]
    used = open_[["fx_rate", "fx_rate_date"]].drop_duplicates()
    used = used.sort_values(["fx_rate_date", "fx_rate"], na_position="first")
    if used.empty:
        return "-"

    def one(rate: float, day: Any) -> str:
        return f"{rate:.4f}" + ("" if pd.isna(day) else f" ({pd.Timestamp(day):%Y-%m-%d})")

    first, last = used.iloc[0], used.iloc[-1]
    if len(used) == 1:
        text = f"1 {code} = {first['fx_rate']:.4f} {reporting}"
        day = first["fx_rate_date"]
        return text + (" (constant)" if pd.isna(day) else f" of {pd.Timestamp(day):%Y-%m-%d}")
    return (
        f"1 {code} = {one(first['fx_rate'], first['fx_rate_date'])} to "
        f"{one(last['fx_rate'], last['fx_rate_date'])} {reporting}, {len(used)} rates: each "
        "invoice at the rate on or before its date"
    )


def entity_table(kpis: Mapping[str, Any]) -> pd.DataFrame:
    """Open and overdue AR at T per company code / legal entity, from the engine's
    ``open_ar_by_entity``: company_code, open_ar, overdue_ar, invoices (open), then one column
    per aging bucket, all in the reporting currency (a row's buckets add up to its open AR, the
    rows to the page's open AR); empty when the invoices carry no company code."""
    by = kpis.get("open_ar_by_entity") or {}
    rows = []
    for code, e in by.items():
        row = {
            "company_code": code,
            "open_ar": float(e["open_ar"]),
            "overdue_ar": float(e["overdue_ar"]),
            "invoices": int(e["invoices"]),
        }
        row.update({label: float(v) for label, v in (e.get("aging") or {}).items()})
        rows.append(row)
    base = ["company_code", "open_ar", "overdue_ar", "invoices"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=base)


def monthly_trends(
    months: Sequence[tuple[str, Mapping[str, Any]]],
    positions: pd.DataFrame,
    as_of: Any,
) -> pd.DataFrame:
    """Month-by-month series for the trailing months ending with the month of T, from the
    engine's KPIs of each month (``months``: (label "YYYY-MM", KPIs at the month's end, at T for
    the month of T), see :meth:`arinsight.engine.period.PeriodResults.months`) and the positions
    at T.

    Columns: ``month`` ("YYYY-MM"), ``month_end``, ``billed`` (credit sales of the month),
    ``collections`` (cash received in the month, applied or not), ``write_offs`` and
    ``credit_notes`` (dated in the month, as booked; 0 without adjustments: never cash), ``paid``
    (of the invoices billed that month, the amount paid by T, overpayments excluded),
    ``adjusted`` (of the same invoices, what credit notes and write-offs took off them by T:
    ``amount - open_amount - paid``), ``unpaid`` (their open amount at T: ``billed - paid -
    adjusted``), ``open_ar`` and ``overdue_ar`` at the month end, ``dso`` (the month's DSO, NaN
    without sales). A month before the ledger starts has zeros.
    """
    if not len(months):
        raise ValueError("trailing_months: expected at least 1 month")
    require_columns(
        positions, ["invoice_date", "amount", "paid_to_date", "open_amount"], "positions"
    )
    t = pd.Timestamp(as_date(as_of))
    labels = [label for label, _ in months]
    month_of = positions["invoice_date"].dt.strftime("%Y-%m").to_numpy()
    amount = positions["amount"].to_numpy()
    paid = np.minimum(positions["paid_to_date"].to_numpy(), amount)
    adjusted = amount - positions["open_amount"].to_numpy() - paid

    def by_month(per_invoice: np.ndarray) -> np.ndarray:
        sums = pd.Series(per_invoice).groupby(month_of).sum()
        return sums.reindex(labels).fillna(0.0).round(2).to_numpy() + 0.0

    def value(row: Mapping[str, Any], key: str) -> float:
        v = row.get(key)
        return 0.0 if v is None else float(v)

    out = pd.DataFrame({"month": labels})
    ends = pd.to_datetime(out["month"] + "-01") + pd.offsets.MonthEnd(0)
    out["month_end"] = ends.where(ends <= t, t)
    for col in ("credit_sales", "collections", "write_offs", "credit_notes"):
        out[col] = [round(value(row, col), 2) + 0.0 for _, row in months]
    out = out.rename(columns={"credit_sales": "billed"})
    out["paid"] = by_month(paid)
    out["adjusted"] = by_month(adjusted)
    out["unpaid"] = (out["billed"] - out["paid"] - out["adjusted"]).round(2) + 0.0
    for col in ("open_ar", "overdue_ar"):
        out[col] = [round(value(row, col), 2) + 0.0 for _, row in months]
    out["dso"] = [np.nan if row.get("dso") is None else round(row["dso"], 2) for _, row in months]
    return out


def invoice_explorer_table(positions: pd.DataFrame) -> pd.DataFrame:
    """Every invoice of the positions at T with its customer (the site's invoice explorer).

    Columns: :data:`EXPLORER_COLUMNS` (``payment_status``: "Paid", "Open - current", "Overdue",
    "Credit", "Written off"). Sorted by invoice date then invoice id.
    """
    require_columns(positions, EXPLORER_READS, "positions")
    out = positions.assign(payment_status=positions["status"].map(STATUS_LABELS).astype("str"))[
        EXPLORER_COLUMNS
    ]
    return out.sort_values(["invoice_date", "invoice_id"], kind="stable").reset_index(drop=True)


def overdue_invoice_list(positions: pd.DataFrame, min_days_past_due: int = 1) -> pd.DataFrame:
    """Open invoices at least ``min_days_past_due`` days past due at T, oldest first.

    The explorer's columns; sorted by days past due (descending), then open amount (descending),
    then invoice id, so collectors start with the oldest, largest items.
    """
    if int(min_days_past_due) < 1:
        raise ValueError("min_days_past_due: expected at least 1 (0 would list current invoices)")
    require_columns(positions, ["days_past_due"], "positions")
    table = invoice_explorer_table(
        positions.loc[positions["days_past_due"] >= int(min_days_past_due)]
    )
    return table.sort_values(
        ["days_past_due", "open_amount", "invoice_id"],
        ascending=[False, False, True],
        kind="stable",
    ).reset_index(drop=True)


def customers_over_credit_limit(balances: pd.DataFrame) -> pd.DataFrame:
    """Customers whose open AR at T exceeds their credit limit, largest excess first, from
    :func:`customer_balances`.

    Columns: customer_id, customer_name, region, credit_limit, open_ar, over_limit_by,
    overdue_amount.
    """
    require_columns(balances, ["customer_id", "over_limit", "over_limit_by"], "customer balances")
    cols = [
        "customer_id",
        "customer_name",
        "region",
        "credit_limit",
        "open_ar",
        "over_limit_by",
        "overdue_amount",
    ]
    bal = balances.loc[balances["over_limit"], [c for c in cols if c in balances.columns]]
    return bal.sort_values(
        ["over_limit_by", "customer_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def top_customers(balances: pd.DataFrame, top_n: int = 10) -> pd.DataFrame:
    """The ``top_n`` customers with the largest pending (open) balance at T, from
    :func:`customer_balances`.

    Columns: customer_id, customer_name, region, industry, open_ar, overdue_amount,
    overdue_invoices, max_days_past_due, credit_limit, over_limit. Customers with nothing open are
    left out; ties are broken by customer id.
    """
    if int(top_n) < 1:
        raise ValueError(f"top_n: expected at least 1, got {top_n!r}")
    require_columns(balances, ["customer_id", "open_ar"], "customer balances")
    cols = [
        "customer_id",
        "customer_name",
        "region",
        "industry",
        "open_ar",
        "overdue_amount",
        "overdue_invoices",
        "max_days_past_due",
        "credit_limit",
        "over_limit",
    ]
    bal = balances.loc[balances["open_ar"] > 0, [c for c in cols if c in balances.columns]]
    bal = bal.sort_values(["open_ar", "customer_id"], ascending=[False, True], kind="stable")
    return bal.head(int(top_n)).reset_index(drop=True)
