"""The former in-memory receivables engine (numpy, float money), kept in tests as an independent
oracle: :func:`reference_kpis` computes every Receivables Health KPI of a ledger by other means
than the query engine, and tests compare the engine's figures with it. Not used by the package.

It follows the engine's rule for adjustments (docs/kpis.md, "Write-offs and credit notes"),
written again here with arrays: with P the payments, C the credit notes and other adjustments
and W the write-offs of an invoice dated <= T, open = max(0, amount - P - C - W), credit =
max(0, P + C - amount), the paid date is when payments and credit notes (date order) first
reach the amount, and CEI leaves out what adjustments took off open AR in the period.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from arinsight.engine.results import aging_labels
from arinsight.engine.results import check_buckets as _check_buckets
from arinsight.ledger import Period
from arinsight.receivables import (
    DEFAULT_AGING_BUCKETS,
    RECEIVABLES_KEYS,
    aging_table,
    as_period,
)
from arinsight.receivables import (
    require_columns as _require,
)

_EPS = 0.005


_DAY = np.timedelta64(1, "D")


_STATUSES = ["paid", "current", "overdue", "credit", "written_off"]


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    """``numerator / denominator * scale`` rounded to 4 decimals; None when undefined."""
    if denominator is None or numerator is None or abs(denominator) < _EPS:
        return None
    value = numerator / denominator * scale
    return round(float(value), 4) if math.isfinite(value) else None


def _money(value: float) -> float:
    return round(float(value), 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def _days(delta: np.ndarray) -> np.ndarray:
    """Whole days of a timedelta64 array (NaT -> NaN)."""
    out = delta / _DAY
    return np.asarray(out, dtype="float64")


@dataclass(frozen=True)
class _Ledger:
    """Invoices, payments and adjustments prepared once for any number of as-of dates (arrays
    aligned by row)."""

    inv: pd.DataFrame  # invoice_id, customer_id, invoice_date, due_date, amount; RangeIndex = code
    inv_date: np.ndarray
    due: np.ndarray
    amount: np.ndarray
    pay_code: np.ndarray  # applied payments: the code of their invoice
    pay_date: np.ndarray
    pay_amount: np.ndarray
    adj_code: np.ndarray  # adjustments of a known invoice: its code
    adj_date: np.ndarray
    adj_amount: np.ndarray
    adj_write_off: np.ndarray  # True for a write-off, False for a credit note or adjustment
    settled_full: np.ndarray  # date payments + credit notes first reach the amount, NaT if never
    cash: pd.DataFrame  # every payment: customer_id, payment_date, amount, applied (bool)


def _arrow_ids(ids: pd.Series) -> pa.Array:
    return pa.array(ids.astype("str"), type=pa.large_string(), from_pandas=True)


def _lookup(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position of each value in ``keys`` (-1 when null or absent); ``keys`` must be unique.

    Arrow's hash lookup on the string ids: 10M invoice ids are matched in about a second, where a
    pandas ``Index.get_indexer`` first turns every id into a Python object.
    """
    k = _arrow_ids(keys)
    if len(pc.unique(k)) != len(k):
        dupes = keys[keys.duplicated()].unique()[:5].tolist()
        raise ValueError(f"invoices: invoice_id must be unique, duplicated: {dupes}")
    if not len(values):
        return np.array([], dtype="int64")
    found = pc.index_in(_arrow_ids(values), value_set=k).fill_null(-1)
    return found.to_numpy(zero_copy_only=False).astype("int64")


def _prepare(
    invoices: pd.DataFrame, payments: pd.DataFrame, adjustments: pd.DataFrame | None
) -> _Ledger:
    """Codes of the applied payments and adjustments, and the date each invoice's payments and
    credit notes (in date order) first reach its amount (one sort)."""
    _require(
        invoices, ["invoice_id", "customer_id", "invoice_date", "due_date", "amount"], "invoices"
    )
    _require(payments, ["invoice_id", "customer_id", "payment_date", "amount"], "payments")
    inv = invoices[["invoice_id", "customer_id", "invoice_date", "due_date", "amount"]].reset_index(
        drop=True
    )
    inv_date = inv["invoice_date"].to_numpy(dtype="datetime64[ns]")
    due = inv["due_date"].to_numpy(dtype="datetime64[ns]")
    amount = inv["amount"].to_numpy(dtype="float64")

    code = _lookup(payments["invoice_id"], inv["invoice_id"])
    p_date = payments["payment_date"].to_numpy(dtype="datetime64[ns]")
    p_amount = payments["amount"].to_numpy(dtype="float64")
    applied = (code >= 0) & ~np.isnat(p_date)
    cash = pd.DataFrame(
        {
            "customer_id": payments["customer_id"].reset_index(drop=True),
            "payment_date": p_date,
            "amount": p_amount,
            "applied": applied,
        }
    )
    if adjustments is None:
        adjustments = pd.DataFrame(
            {"invoice_id": [], "adjustment_date": pd.Series(dtype="datetime64[ns]"),
             "amount": pd.Series(dtype="float64"), "kind": []}
        )  # fmt: skip
    a_code = _lookup(adjustments["invoice_id"], inv["invoice_id"])
    known = a_code >= 0
    a_date = adjustments["adjustment_date"].to_numpy(dtype="datetime64[ns]")[known]
    a_amount = adjustments["amount"].to_numpy(dtype="float64")[known]
    a_wo = adjustments["kind"].astype(str).eq("write_off").to_numpy()[known]

    # what settles an invoice towards its paid date: payments and credit notes, date order
    c = np.concatenate([code[applied], a_code[known][~a_wo]])
    d = np.concatenate([p_date[applied], a_date[~a_wo]])
    a = np.concatenate([p_amount[applied], a_amount[~a_wo]])
    settled_full = np.full(len(inv), np.datetime64("NaT"), dtype="datetime64[ns]")
    if len(c):
        order = np.lexsort((d, c))
        c, d, a = c[order], d[order], a[order]
        total = np.cumsum(a)
        start = np.r_[True, c[1:] != c[:-1]]
        group = np.cumsum(start) - 1
        cum = np.round(total - (total - a)[start][group], 2)
        full = cum >= amount[c] - _EPS
        fc, fd = c[full], d[full]  # sorted by invoice, then date: the first row per invoice
        first = np.r_[True, fc[1:] != fc[:-1]] if len(fc) else np.array([], bool)
        settled_full[fc[first]] = fd[first]
    return _Ledger(
        inv, inv_date, due, amount, code[applied], p_date[applied], p_amount[applied],
        a_code[known], a_date, a_amount, a_wo, settled_full, cash,
    )  # fmt: skip


def _sums(led: _Ledger, t: pd.Timestamp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per invoice code: payments, credit notes (and other adjustments), write-offs dated <= t."""
    tt = np.datetime64(t, "ns")
    n = len(led.inv)

    def total(codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return np.round(np.bincount(codes, weights=weights, minlength=n)[:n], 2)

    up = led.pay_date <= tt
    a_up = led.adj_date <= tt
    paid = total(led.pay_code[up], led.pay_amount[up])
    cr = a_up & ~led.adj_write_off
    wo = a_up & led.adj_write_off
    return (
        paid,
        total(led.adj_code[cr], led.adj_amount[cr]),
        total(led.adj_code[wo], led.adj_amount[wo]),
    )


def _open(led: _Ledger, paid, credited, written) -> np.ndarray:
    balance = np.round(led.amount - paid - credited - written, 2)
    return np.where(balance > _EPS, balance, 0.0)


def _positions(led: _Ledger, t: pd.Timestamp) -> pd.DataFrame:
    """Positions of the invoices dated <= t; the index is the invoice's code in the ledger."""
    tt = np.datetime64(t, "ns")
    paid, credited, written = _sums(led, t)
    scope = led.inv_date <= tt
    open_amt = _open(led, paid, credited, written)
    over = np.round(paid + credited - led.amount, 2)
    credit = np.where(over > _EPS, over, 0.0)
    written_off = np.minimum(written, np.maximum(0.0, np.round(led.amount - paid - credited, 2)))
    past_due = led.due < tt
    is_open = open_amt > 0
    dpd = np.where(is_open & past_due, _days(tt - led.due), 0.0)
    # codes into _STATUSES: 0 paid, 1 current, 2 overdue, 3 credit, 4 written off
    status = np.where(
        credit > 0,
        3,
        np.where(is_open, np.where(past_due, 2, 1), np.where(written_off > _EPS, 4, 0)),
    ).astype("int8")
    paid_date = np.where(led.settled_full <= tt, led.settled_full, np.datetime64("NaT"))
    days_late = _days(paid_date - led.due)
    out = led.inv.loc[scope].copy()
    out["paid_to_date"] = paid[scope]
    out["credited"] = credited[scope]
    out["open_amount"] = open_amt[scope]
    out["credit_amount"] = credit[scope]
    out["noncash"] = (led.amount - open_amt - np.minimum(paid, led.amount))[scope]
    out["fully_paid"] = (paid + credited >= led.amount - _EPS)[scope]
    out["days_past_due"] = dpd[scope].astype("int64")
    out["status"] = pd.Categorical.from_codes(status[scope], categories=_STATUSES)
    out["paid_date"] = pd.Series(paid_date[scope], index=out.index, dtype="datetime64[ns]")
    out["days_late"] = days_late[scope]
    return out


def _at(led: _Ledger, t: pd.Timestamp) -> tuple[float, float]:
    """Open AR and the non-cash reduction (amount - open - min(paid, amount)) summed over the
    invoices dated <= t, at the end of day t (no frame built)."""
    paid, credited, written = _sums(led, t)
    open_amt = _open(led, paid, credited, written)
    scope = led.inv_date <= np.datetime64(t, "ns")
    noncash = led.amount - open_amt - np.minimum(paid, led.amount)
    return _money(open_amt[scope].sum()), float(noncash[scope].sum())


def _customer_frame(
    led: _Ledger, pos: pd.DataFrame, customers: pd.DataFrame, t: pd.Timestamp
) -> pd.DataFrame:
    grouped = (
        pos.assign(
            overdue_amount=np.where(pos["status"] == "overdue", pos["open_amount"], 0.0),
            overdue_invoices=(pos["status"] == "overdue").astype("int64"),
        )
        .groupby("customer_id", sort=True)
        .agg(
            open_ar=("open_amount", "sum"),
            credit_balance=("credit_amount", "sum"),
            overdue_amount=("overdue_amount", "sum"),
            overdue_invoices=("overdue_invoices", "sum"),
            max_days_past_due=("days_past_due", "max"),
        )
    )
    cash = led.cash
    unapplied = (
        cash.loc[~cash["applied"] & (cash["payment_date"] <= t)]
        .groupby("customer_id", sort=True)["amount"]
        .sum()
        .rename("unapplied_cash")
    )
    cols = ["customer_id", "customer_name", "region", "industry", "customer_type", "credit_limit"]
    meta = customers[[c for c in cols if c in customers.columns]].drop_duplicates("customer_id")
    ids = pd.Index(meta["customer_id"]).union(grouped.index).union(unapplied.index)
    out = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    out = out.join(grouped).join(unapplied)
    for col in ("open_ar", "credit_balance", "overdue_amount", "unapplied_cash"):
        out[col] = out[col].fillna(0.0).round(2)
    out["overdue_invoices"] = out["overdue_invoices"].fillna(0).astype("int64")
    out["max_days_past_due"] = out["max_days_past_due"].fillna(0).astype("int64")
    out = out.reset_index().merge(meta, on="customer_id", how="left")
    if "credit_limit" not in out.columns:
        out["credit_limit"] = np.nan
    out["net_balance"] = (out["open_ar"] - out["credit_balance"] - out["unapplied_cash"]).round(2)
    out["over_limit"] = (out["open_ar"] > out["credit_limit"] + _EPS).fillna(False).astype(bool)
    out["over_limit_by"] = np.where(out["over_limit"], out["open_ar"] - out["credit_limit"], 0.0)
    out["over_limit_by"] = out["over_limit_by"].round(2)
    return out


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"aging_buckets": list(DEFAULT_AGING_BUCKETS), "trailing_months": 12}
    out.update({k: v for k, v in (params or {}).items() if v is not None})
    return out


def _month_index(dates: np.ndarray) -> np.ndarray:
    """Months since year 0 of datetime64 values (for grouping by calendar month)."""
    return np.asarray(dates, dtype="datetime64[M]").astype("int64")


def _countback_dso(led: _Ledger, t: pd.Timestamp, open_ar: float) -> float | None:
    """Countback DSO: walk back month by month from T, consuming open AR with each month's sales.

    Whole months whose sales are fully consumed count all their days; the month where the AR runs
    out counts ``remaining AR / that month's sales * its days``. Defined whenever any sales were
    billed by T (open AR can never exceed the sales that created it); 0 when nothing is open.
    """
    tt = np.datetime64(t, "ns")
    scope = led.inv_date <= tt
    if not scope.any():
        return None
    if open_ar <= _EPS:
        return 0.0
    months = _month_index(led.inv_date[scope])
    last = int(_month_index(np.array([tt]))[0])
    back = last - months  # 0 = the month of T, 1 = the month before ...
    sales = np.bincount(back, weights=led.amount[scope])
    starts = (np.arange(last, last - len(sales), -1)).astype("datetime64[M]")
    ends = np.minimum((starts + 1).astype("datetime64[D]") - 1, np.datetime64(t.date(), "D"))
    days = (ends - starts.astype("datetime64[D]")).astype("int64") + 1
    consumed = np.cumsum(sales)
    k = int(np.searchsorted(consumed, open_ar - _EPS, side="left"))
    if k >= len(sales):  # rounding: AR equals all sales ever billed
        return round(float(days.sum()), 4)
    before = consumed[k - 1] if k else 0.0
    return round(float(days[:k].sum() + (open_ar - before) / sales[k] * days[k]), 4)


_NA_EMPTY = "no invoices or payments up to T in this selection"


_NA_NO_SALES = "no credit sales in the period"


def _kpis(led: _Ledger, tables: Mapping[str, pd.DataFrame], p: Period, params: dict) -> dict:
    t, begin = p.end, p.start - pd.Timedelta(days=1)
    labels = aging_labels(params["aging_buckets"])
    pos = _positions(led, t)
    cash = led.cash
    out: dict[str, Any] = {
        "period": p.label,
        "as_of": t.date().isoformat(),
        "period_start": p.start.date().isoformat(),
        "period_end": p.full_end.date().isoformat(),
    }
    has_data = bool(len(pos)) or bool((cash["payment_date"] <= t).any())
    if not has_data:
        out.update(dict.fromkeys(RECEIVABLES_KEYS))
        out["aging"] = dict.fromkeys(labels)
        out["top_pending_customers"] = []
        out["na_reasons"] = dict.fromkeys(RECEIVABLES_KEYS, _NA_EMPTY)
        return out

    in_p = (pos["invoice_date"] >= p.start) & (pos["invoice_date"] <= t)
    sales = _money(pos.loc[in_p, "amount"].sum())
    cash_in_p = (cash["payment_date"] >= p.start) & (cash["payment_date"] <= t)
    open_ar = _money(pos["open_amount"].sum())
    open_ar_begin, noncash_begin = _at(led, begin)
    # what write-offs, credit notes and adjustments took off open AR in the period
    adjusted = float(pos["noncash"].sum()) - noncash_begin
    overdue = pos["status"] == "overdue"
    overdue_ar = _money(pos.loc[overdue, "open_amount"].sum())
    current_ar = _money(open_ar - overdue_ar)
    days = p.days

    sales_adj = sales / p.months  # CEI convention for periods longer than a month
    avg_ar = (open_ar_begin + open_ar) / 2
    turnover = _ratio(sales, avg_ar) if sales > _EPS else None
    annualised = _ratio(sales * 365, avg_ar * days) if turnover is not None else None
    cei_den = open_ar_begin + sales_adj - adjusted - current_ar
    dso = _ratio(open_ar, sales, days)
    bpdso = _ratio(current_ar, sales, days)

    paid_in_p = pos["paid_date"].between(p.start, t)
    late = pos.loc[paid_in_p, "days_late"].clip(lower=0)
    due_by_t = pos["due_date"] <= t
    fully_paid = pos["status"].isin(["paid", "credit"])
    n_due = int(due_by_t.sum())
    amount_due = float(pos.loc[due_by_t, "amount"].sum())
    billed = float(pos["amount"].sum())
    paid_of_billed = float(np.minimum(pos["paid_to_date"], pos["amount"]).sum())

    customers = tables.get("customers", pd.DataFrame({"customer_id": []}))
    cust = _customer_frame(led, pos, customers, t)
    has_limits = "credit_limit" in customers and customers["credit_limit"].notna().any()
    aging = aging_table(pos, params["aging_buckets"])
    reasons: dict[str, str] = {}

    def why(key: str, value: Any, reason: str) -> Any:
        if value is None:
            reasons[key] = reason
        return value

    out.update(
        {
            "credit_sales": sales,
            "total_revenue": sales,
            "collections": _money(cash.loc[cash_in_p, "amount"].sum()),
            "open_ar": open_ar,
            "open_ar_begin": open_ar_begin,
            "current_ar": current_ar,
            "overdue_ar": overdue_ar,
            "overdue_amount": overdue_ar,
            "overdue_invoices": int(overdue.sum()),
            "dso": why("dso", dso, _NA_NO_SALES),
            "countback_dso": _countback_dso(led, t, open_ar),
            "best_possible_dso": why("best_possible_dso", bpdso, _NA_NO_SALES),
            "average_days_delinquent": why(
                "average_days_delinquent",
                None if dso is None else round(dso - bpdso, 4),
                _NA_NO_SALES,
            ),
            "cei": why(
                "cei",
                _ratio(open_ar_begin + sales_adj - adjusted - open_ar, cei_den, 100)
                if cei_den > _EPS
                else None,
                "nothing was collectible in the period (AR at the start + sales - current AR = 0)",
            ),
            "ar_turnover": why("ar_turnover", turnover, _NA_NO_SALES),
            "ar_turnover_annualised": why("ar_turnover_annualised", annualised, _NA_NO_SALES),
            "customers_over_credit_limit": why(
                "customers_over_credit_limit",
                int(cust["over_limit"].sum()) if has_limits else None,
                "the customer data has no credit limits",
            ),
            "aging": {lab: _money(v) for lab, v in zip(labels, aging["amount"], strict=True)},
            "average_days_late": why(
                "average_days_late",
                round(float(late.mean()), 4) if len(late) else None,
                "no invoice was paid in full in the period",
            ),
            "payment_completion_rate_count": why(
                "payment_completion_rate_count",
                _ratio(float((due_by_t & fully_paid).sum()), float(n_due), 100) if n_due else None,
                "no invoice was due by T",
            ),
            "payment_completion_rate_amount": why(
                "payment_completion_rate_amount",
                _ratio(float(pos.loc[due_by_t & fully_paid, "amount"].sum()), amount_due, 100)
                if n_due
                else None,
                "no invoice was due by T",
            ),
            "paid_to_billed_rate": why(
                "paid_to_billed_rate",
                _ratio(paid_of_billed, billed, 100) if billed > _EPS else None,
                "nothing was billed by T",
            ),
            "unapplied_cash": _money(cust["unapplied_cash"].sum()),
            "credit_balances": _money(pos["credit_amount"].sum()),
            **_flows(led, p, t),
            "top_pending_customers": _top_pending(cust, int(params.get("top_n", 10))),
        }
    )
    out["na_reasons"] = reasons
    return out


def _flows(led: _Ledger, p: Period, t: pd.Timestamp) -> dict[str, float | None]:
    """Write-offs and credit notes (with other adjustments) dated in the period up to T, as
    booked; None for both when the selection has no adjustment at all."""
    if not len(led.adj_code):
        return {"write_offs": None, "credit_notes": None}
    in_p = (led.adj_date >= np.datetime64(p.start, "ns")) & (led.adj_date <= np.datetime64(t, "ns"))
    return {
        "write_offs": _money(led.adj_amount[in_p & led.adj_write_off].sum()),
        "credit_notes": _money(led.adj_amount[in_p & ~led.adj_write_off].sum()),
    }


def _top_pending(cust: pd.DataFrame, top_n: int) -> list[dict[str, Any]]:
    """The ``top_n`` customers with the largest pending balance at T (ties by customer id)."""
    if top_n < 1:
        raise ValueError(f"top_n: expected at least 1, got {top_n!r}")
    pending = cust.loc[cust["open_ar"] > 0]
    pending = pending.sort_values(
        ["open_ar", "customer_id"], ascending=[False, True], kind="stable"
    )
    name = pending["customer_name"] if "customer_name" in pending else pending["customer_id"]
    return [
        {
            "customer_id": str(cid),
            "customer_name": None if pd.isna(n) else str(n),
            "pending": _money(o),
            "overdue": _money(d),
        }
        for cid, n, o, d in zip(
            pending["customer_id"].head(top_n),
            name.head(top_n),
            pending["open_ar"].head(top_n),
            pending["overdue_amount"].head(top_n),
            strict=True,
        )
    ]


def reference_kpis(
    tables: Mapping[str, pd.DataFrame], period: Period | str, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The former in-memory implementation of :func:`receivables_kpis` (numpy, float money),
    kept as an independent oracle that tests compare the engine against."""
    p = as_period(period)
    prm = _params(params)
    _check_buckets(prm["aging_buckets"])
    p = p.at(prm.get("as_of"))
    led = _prepare(tables["invoices"], tables["payments"], tables.get("adjustments"))
    return _kpis(led, tables, p, prm)
