"""Receivables Health (docs/kpis.md): the as-of engine and every receivables KPI.

The engine answers one question for any date T: *what did every invoice and every customer owe at
the end of day T?* An invoice counts when ``invoice_date <= T``, a payment when
``payment_date <= T``. Payments carry the invoice they settle (``invoice_id``); several payments
may settle one invoice (split / partial payments), their total may exceed it (overpayment, a credit
balance), and a payment without an invoice (``invoice_id`` null, or an id that is not in the
invoice table) is *unapplied cash*: it reduces what the customer owes on a net basis but is never
applied to an invoice, so it does not reduce open AR.

Everything is vectorised. :func:`_prepare` sorts the applied payments once per ledger and records,
for each payment, the invoice's cumulative paid amount after it; any as-of date is then a mask and a
``bincount``. Month-end series (open and overdue AR for 24 months) use *events*: the invoice adds
its amount on its invoice date, each payment changes the open amount by
``max(0, amount - paid_after) - max(0, amount - paid_before)``; open AR(T) is the sum of the events
dated ``<= T``. An amount is *overdue* at T when its invoice is past due (``due_date < T``), so
the same events, re-dated to ``max(event date, due_date + 1 day)``, give overdue AR(T).

Money is rounded to cents; days and ratios to 4 decimals; percentages are in percent (0-100).
Undefined ratios (zero denominators) are ``None`` and are shown as "n/a", never 0 or inf.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from arinsight import kpis as kpi_registry
from arinsight.engine.results import DEFAULT_BUCKETS, aging_labels
from arinsight.engine.results import check_buckets as _check_buckets
from arinsight.ledger import Period, period_bounds

#: Half a cent: amounts are in cents, so a remaining balance below this is zero.
_EPS = 0.005
_DAY = np.timedelta64(1, "D")

DEFAULT_AGING_BUCKETS: tuple[int, ...] = DEFAULT_BUCKETS

#: Which way is good for each KPI (``compare`` uses it for the trend assessment), the unit and the
#: readable name of each KPI: views of the one registry, :mod:`arinsight.kpis`.
KPI_DIRECTION: dict[str, str] = kpi_registry.directions()

#: The scalar KPIs of :func:`receivables_kpis` (besides period, as_of and the aging mapping).
RECEIVABLES_KEYS: tuple[str, ...] = (
    "credit_sales",
    "total_revenue",
    "collections",
    "open_ar",
    "open_ar_begin",
    "current_ar",
    "overdue_ar",
    "overdue_amount",
    "overdue_invoices",
    "dso",
    "countback_dso",
    "best_possible_dso",
    "average_days_delinquent",
    "cei",
    "ar_turnover",
    "ar_turnover_annualised",
    "customers_over_credit_limit",
    "average_days_late",
    "payment_completion_rate_count",
    "payment_completion_rate_amount",
    "paid_to_billed_rate",
    "unapplied_cash",
    "credit_balances",
)

KPI_UNITS: dict[str, str] = kpi_registry.units()
KPI_LABELS: dict[str, str] = kpi_registry.labels()

#: Readable payment status of an invoice (invoice explorer, overdue lists).
STATUS_LABELS: dict[str, str] = {
    "paid": "Paid",
    "current": "Open - current",
    "overdue": "Overdue",
    "credit": "Credit",
}

_STATUSES = ["paid", "current", "overdue", "credit"]

_POSITION_COLUMNS = [
    "invoice_id",
    "customer_id",
    "invoice_date",
    "due_date",
    "amount",
    "paid_to_date",
    "balance",
    "open_amount",
    "credit_amount",
    "days_past_due",
    "status",
    "paid_date",
    "days_late",
]


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def as_date(value: Any) -> pd.Timestamp:
    """A date-like value (``"2026-10-31"``, Timestamp, date, or a Period -> its end T) at midnight."""
    if isinstance(value, Period):
        return value.end
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("as_of: a date is required")
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        raise ValueError(f"as_of: {value!r} is not a date")
    return ts.normalize()


def _end_of(value: Any) -> pd.Timestamp:
    """T of a Period or period label ("2026-10" -> 2026-10-31), else the date itself."""
    if isinstance(value, str):
        try:
            return period_bounds(value).end
        except ValueError:
            pass
    return as_date(value)


def as_period(period: Period | str) -> Period:
    """A :class:`~arinsight.ledger.Period` from a Period or a ``YYYY-MM`` / ``YYYY-Qn`` / ``YYYY`` label."""
    return period if isinstance(period, Period) else period_bounds(period)


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


# --------------------------------------------------------------------------------------------
# the as-of engine
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ledger:
    """Invoices and payments prepared once for any number of as-of dates (arrays aligned by row)."""

    inv: pd.DataFrame  # invoice_id, customer_id, invoice_date, due_date, amount; RangeIndex = code
    inv_date: np.ndarray
    due: np.ndarray
    amount: np.ndarray
    pay_code: np.ndarray  # applied payments sorted by (invoice code, payment date)
    pay_date: np.ndarray
    pay_amount: np.ndarray
    pay_cum: np.ndarray  # the invoice's cumulative paid amount after this payment
    paid_full: np.ndarray  # date the invoice was first fully paid (all payments), NaT if never
    cash: pd.DataFrame  # every payment: customer_id, payment_date, amount, applied (bool)


def _require(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name}: expected a DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


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


def _prepare(invoices: pd.DataFrame, payments: pd.DataFrame) -> _Ledger:
    """Sort applied payments by invoice and date and record cumulative paid amounts (one pass)."""
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

    c, d, a = code[applied], p_date[applied], p_amount[applied]
    if len(c):  # one int64 sort key (invoice, day) is about twice as fast as np.lexsort
        day = d.astype("datetime64[D]").astype("int64")
        day = day - day.min()
        order = np.argsort(c * (int(day.max()) + 1) + day, kind="stable")
        c, d, a = c[order], d[order], a[order]
    paid_full = np.full(len(inv), np.datetime64("NaT"), dtype="datetime64[ns]")
    if len(c):
        total = np.cumsum(a)
        start = np.r_[True, c[1:] != c[:-1]]
        group = np.cumsum(start) - 1
        cum = np.round(total - (total - a)[start][group], 2)
        full = cum >= amount[c] - _EPS
        fc, fd = c[full], d[full]  # sorted by invoice, then date: the first row per invoice
        first = np.r_[True, fc[1:] != fc[:-1]] if len(fc) else np.array([], bool)
        paid_full[fc[first]] = fd[first]
    else:
        cum = a.copy()
    return _Ledger(inv, inv_date, due, amount, c, d, a, cum, paid_full, cash)


def _positions(led: _Ledger, t: pd.Timestamp) -> pd.DataFrame:
    """Positions of the invoices dated <= t; the index is the invoice's code in the ledger."""
    tt = np.datetime64(t, "ns")
    n = len(led.inv)
    upto = led.pay_date <= tt
    paid = np.bincount(led.pay_code[upto], weights=led.pay_amount[upto], minlength=n)[:n]
    paid = np.round(paid, 2)
    scope = led.inv_date <= tt
    balance = np.round(led.amount - paid, 2)
    open_amt = np.where(balance > _EPS, balance, 0.0)
    credit = np.where(balance < -_EPS, -balance, 0.0)
    past_due = led.due < tt
    is_open = open_amt > 0
    dpd = np.where(is_open & past_due, _days(tt - led.due), 0.0)
    # codes into _STATUSES: 0 paid, 1 current, 2 overdue, 3 credit (a Categorical is cheap at 10M rows)
    status = np.where(credit > 0, 3, np.where(is_open, np.where(past_due, 2, 1), 0)).astype("int8")
    paid_date = np.where(led.paid_full <= tt, led.paid_full, np.datetime64("NaT"))
    days_late = _days(paid_date - led.due)
    out = led.inv.loc[scope].copy()
    out["paid_to_date"] = paid[scope]
    out["balance"] = balance[scope] + 0.0
    out["open_amount"] = open_amt[scope]
    out["credit_amount"] = credit[scope]
    out["days_past_due"] = dpd[scope].astype("int64")
    out["status"] = pd.Categorical.from_codes(status[scope], categories=_STATUSES)
    out["paid_date"] = pd.Series(paid_date[scope], index=out.index, dtype="datetime64[ns]")
    out["days_late"] = days_late[scope]
    return out


def invoice_positions(invoices: pd.DataFrame, payments: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """The position of every invoice at the end of day T = ``as_of`` (one row per invoice dated <= T).

    - ``paid_to_date`` = sum of the payments applied to the invoice with ``payment_date <= T``;
    - ``balance = amount - paid_to_date`` (negative = credit balance from an overpayment);
    - ``open_amount = max(0, balance)`` (what is still receivable), ``credit_amount = max(0, -balance)``;
    - ``days_past_due = T - due_date`` in days when open and past due (``due_date < T``), else 0;
    - ``status``: "credit" (overpaid), "overdue" (open, past due), "current" (open, not past due)
      or "paid";
    - ``paid_date`` = date the cumulative payments first reached the amount (NaT if not fully paid
      by T); ``days_late = paid_date - due_date`` for fully paid invoices (negative = early).

    Unapplied cash (``invoice_id`` null or unknown) is not applied to any invoice.
    """
    t = as_date(as_of)
    led = _prepare(invoices, payments)
    out = _positions(led, t)[_POSITION_COLUMNS].reset_index(drop=True)
    out["status"] = out["status"].astype("str")
    return out


def _open_ar_at(led: _Ledger, t: pd.Timestamp) -> float:
    """Open AR at the end of day t from the prepared arrays (no frame built)."""
    tt = np.datetime64(t, "ns")
    n = len(led.inv)
    upto = led.pay_date <= tt
    paid = np.bincount(led.pay_code[upto], weights=led.pay_amount[upto], minlength=n)[:n]
    balance = np.round(led.amount - np.round(paid, 2), 2)
    return _money(balance[(led.inv_date <= tt) & (balance > _EPS)].sum())


def _month_end_balances(led: _Ledger, month_ends: pd.DatetimeIndex) -> pd.DataFrame:
    """Open AR and overdue AR at each month end, from dated events (no loop per month)."""
    ends = np.asarray(month_ends, dtype="datetime64[ns]")
    m = len(ends)
    first = int(_month_index(ends[:1])[0])
    open_before = np.maximum(0.0, led.amount[led.pay_code] - (led.pay_cum - led.pay_amount))
    open_after = np.maximum(0.0, led.amount[led.pay_code] - led.pay_cum)
    ev_date = np.concatenate([led.inv_date, led.pay_date])
    ev_delta = np.concatenate([led.amount, open_after - open_before])
    ev_due = np.concatenate([led.due, led.due[led.pay_code]]) + _DAY
    out = {}
    for name, dates in (("open_ar", ev_date), ("overdue_ar", np.maximum(ev_date, ev_due))):
        # month-end slot of each event (events before the first month land in slot 0)
        slot = np.maximum(_month_index(dates) - first, 0)
        keep = slot < m
        sums = np.bincount(slot[keep], weights=ev_delta[keep], minlength=m)[:m]
        out[name] = np.round(np.cumsum(sums), 2) + 0.0
    return pd.DataFrame(out, index=month_ends)


# --------------------------------------------------------------------------------------------
# customers
# --------------------------------------------------------------------------------------------


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


def customer_balances(
    invoices: pd.DataFrame, payments: pd.DataFrame, customers: pd.DataFrame, as_of: Any
) -> pd.DataFrame:
    """What each customer owes at the end of day T = ``as_of`` (one row per customer).

    - ``open_ar`` = sum of the open amounts of the customer's invoices (max(0, amount - paid by T));
    - ``credit_balance`` = sum of overpayments on its invoices; ``unapplied_cash`` = its payments
      without an invoice dated <= T;
    - ``net_balance = open_ar - credit_balance - unapplied_cash`` (negative: we owe the customer);
    - ``over_limit`` = ``open_ar > credit_limit`` (False when the limit is unknown), ``over_limit_by``
      the excess; ``overdue_amount`` / ``overdue_invoices`` = open amounts past due at T.

    Customers of the customer table with nothing owed appear with zeros; customers that only appear
    in invoices or payments appear without metadata.
    """
    _require(customers, ["customer_id"], "customers")
    t = as_date(as_of)
    led = _prepare(invoices, payments)
    return _customer_frame(led, _positions(led, t), customers, t)


# --------------------------------------------------------------------------------------------
# KPIs
# --------------------------------------------------------------------------------------------


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
    open_ar_begin = _open_ar_at(led, begin)
    overdue = pos["status"] == "overdue"
    overdue_ar = _money(pos.loc[overdue, "open_amount"].sum())
    current_ar = _money(open_ar - overdue_ar)
    days = p.days

    sales_adj = sales / p.months  # CEI convention for periods longer than a month
    avg_ar = (open_ar_begin + open_ar) / 2
    turnover = _ratio(sales, avg_ar) if sales > _EPS else None
    annualised = _ratio(sales * 365, avg_ar * days) if turnover is not None else None
    cei_den = open_ar_begin + sales_adj - current_ar
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
                _ratio(open_ar_begin + sales_adj - open_ar, cei_den, 100)
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
            "top_pending_customers": _top_pending(cust, int(params.get("top_n", 10))),
        }
    )
    out["na_reasons"] = reasons
    return out


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


def receivables_kpis(
    tables: Mapping[str, pd.DataFrame],
    period: Period | str,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every Receivables Health KPI of period P at T, as defined in docs/kpis.md.

    T is the period's last day, or ``params["as_of"]`` (a date within P: a *snapshot*). Balances
    are measured at T; flows (sales, collections, days late) cover the period's start up to T;
    "days" below are the days from the period's start to T. With AR(x) = open AR at the end of
    day x, begin = the day before P starts, sales = credit sales billed in P up to T, months =
    calendar months of P up to T:

    - ``credit_sales`` (= ``total_revenue``) = invoice amounts dated in P up to T;
      ``collections`` = every payment received in P up to T (applied or not);
    - ``open_ar`` = AR(T); ``open_ar_begin`` = AR(begin); ``current_ar`` = open amounts not past due
      at T (``due_date >= T``); ``overdue_ar`` (= ``overdue_amount``) = the rest;
      ``overdue_invoices`` = number of open invoices past due at T;
    - ``dso = AR(T) / sales * days`` (seed 002); ``best_possible_dso = current AR / sales * days``;
      ``average_days_delinquent = dso - best_possible_dso``; ``countback_dso`` consumes AR(T) with
      monthly sales walking back from T (see :func:`_countback_dso`);
    - ``cei = (AR(begin) + sales/months - AR(T)) / (AR(begin) + sales/months - current AR(T)) * 100``
      (the published convention divides sales by the months of P; both agree for a month);
    - ``ar_turnover = sales / ((AR(begin) + AR(T)) / 2)``; ``ar_turnover_annualised`` = that
      ``* 365 / days``;
    - ``customers_over_credit_limit`` = customers whose open AR at T exceeds their credit limit
      (None when the customer data has no credit limit at all);
    - ``aging`` = open AR at T by days past due (bucket label -> amount, ``params["aging_buckets"]``);
    - ``average_days_late`` = mean of ``max(0, paid_date - due_date)`` over invoices fully paid in P
      up to T (early payment counts as 0 days late);
    - ``payment_completion_rate_count`` / ``_amount`` = share (percent) of the invoices due by T
      (``due_date <= T``) that are fully paid by T, by number and by amount;
    - ``paid_to_billed_rate`` (seed 000's "Payment Completion Rate") = paid by T / billed by T over
      every invoice dated up to T, in percent; each invoice counts at most its amount
      (an overpayment does not lift the rate above 100);
    - ``top_pending_customers`` = the ``params["top_n"]`` (default 10) customers with the largest
      open AR at T: ``{customer_id, customer_name, pending, overdue}``, ties by customer id;
    - ``unapplied_cash`` = payments without an invoice received by T; ``credit_balances`` = sum of
      overpayments on invoices at T.

    Ratios with a zero denominator are None: no sales in P makes DSO, BPDSO, ADD and turnover None.
    A table with no invoices and no payments up to T (an empty region) gives None for every KPI.
    Every None KPI has its reason in plain words under ``na_reasons``. The result also carries
    ``period_start`` and ``period_end`` (the whole period's last day) beside ``as_of`` (T).
    ``tables`` is the dict of :func:`arinsight.ledger.load_processed` (possibly region-selected).
    """
    from arinsight.engine import kpis_from_frames

    p = as_period(period)
    prm = _params(params)
    _check_buckets(prm["aging_buckets"])
    p = p.at(prm.get("as_of"))
    for name in ("invoices", "payments"):
        _require(tables[name], [], name)
    kpis = kpis_from_frames(tables, p, dict(prm, as_of=None), regions=())["All"]
    out: dict[str, Any] = {
        "period": p.label,
        "as_of": p.end.date().isoformat(),
        "period_start": p.start.date().isoformat(),
        "period_end": p.full_end.date().isoformat(),
    }
    out.update({k: _plain(kpis[k]) for k in RECEIVABLES_KEYS})
    out["aging"] = _plain(kpis["aging"])
    out["top_pending_customers"] = _plain(kpis["top_pending_customers"])
    out["na_reasons"] = _na_reasons(out)
    return out


#: Why a KPI is n/a, when its inputs are there but a denominator is 0 (see :func:`_na_reasons`).
_NA_WHY: dict[str, str] = {
    "dso": _NA_NO_SALES,
    "best_possible_dso": _NA_NO_SALES,
    "average_days_delinquent": _NA_NO_SALES,
    "ar_turnover": _NA_NO_SALES,
    "ar_turnover_annualised": _NA_NO_SALES,
    "cei": "nothing was collectible in the period (AR at the start + sales - current AR = 0)",
    "customers_over_credit_limit": "the customer data has no credit limits",
    "average_days_late": "no invoice was paid in full in the period",
    "payment_completion_rate_count": "no invoice was due by T",
    "payment_completion_rate_amount": "no invoice was due by T",
    "paid_to_billed_rate": "nothing was billed by T",
}


def _na_reasons(kpis: Mapping[str, Any]) -> dict[str, str]:
    """The reason, in plain words, of every None KPI: no data at all in the selection, else the
    KPI's own (:data:`_NA_WHY`)."""
    if kpis.get("open_ar") is None:
        return dict.fromkeys(RECEIVABLES_KEYS, _NA_EMPTY)
    return {k: _NA_WHY[k] for k in RECEIVABLES_KEYS if kpis.get(k) is None and k in _NA_WHY}


def _plain(value: Any) -> Any:
    """Engine results as the notebooks use them: Decimal money as float (cents), recursively."""
    if isinstance(value, Decimal):
        return float(value) + 0.0
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _reference_kpis(
    tables: Mapping[str, pd.DataFrame], period: Period | str, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The former in-memory implementation of :func:`receivables_kpis` (numpy, float money),
    kept as an independent oracle that tests compare the engine against."""
    p = as_period(period)
    prm = _params(params)
    _check_buckets(prm["aging_buckets"])
    p = p.at(prm.get("as_of"))
    led = _prepare(tables["invoices"], tables["payments"])
    return _kpis(led, tables, p, prm)


def page_scope(period: Period, region: str, tables: Mapping[str, pd.DataFrame]) -> str:
    """One line (Markdown) on what a page covers: when balances are measured (T), the span the
    flows cover, the region and the size of its ledger."""
    p = as_period(period)
    when = (
        f"balances as of **{p.end:%Y-%m-%d}** (a snapshot of {p.label}), flows from "
        f"{p.start:%Y-%m-%d} to {p.end:%Y-%m-%d}"
        if p.is_snapshot
        else f"balances at the period end **{p.end:%Y-%m-%d}**, flows from {p.start:%Y-%m-%d}"
    )
    return (
        f"**Period** {p.label}: {when}. **Region** {region}: {len(tables['invoices']):,} invoices, "
        f"{len(tables['payments']):,} payments, {len(tables['customers']):,} customers."
    )


def compare(current: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, dict]:
    """Each numeric KPI against the previous period: change, direction and whether that is good.

    For every key whose current value is a number or None (booleans, text and mappings are skipped):
    ``{"previous": x, "change": current - previous (None if either is None), "direction": "up" |
    "down" | "flat" | None, "better": "higher" | "lower" | None (from KPI_DIRECTION),
    "assessment": "better" | "worse" | "same" | None}``.
    """
    if not isinstance(current, Mapping) or not isinstance(previous, Mapping):
        raise TypeError("compare: expected two mappings of KPI -> value")

    def numeric(v: Any) -> bool:
        return v is None or (isinstance(v, int | float | np.number) and not isinstance(v, bool))

    out: dict[str, dict] = {}
    for key, cur in current.items():
        prev = previous.get(key)
        if not numeric(cur) or not numeric(prev):
            continue
        change = direction = assessment = None
        if cur is not None and prev is not None:
            change = round(float(cur) - float(prev), 4) + 0.0
            tol = 1e-9 * max(1.0, abs(float(cur)), abs(float(prev)))
            direction = "up" if change > tol else "down" if change < -tol else "flat"
        better = KPI_DIRECTION.get(key)
        if direction == "flat":
            assessment = "same"
        elif direction is not None and better is not None:
            assessment = "better" if (direction == "up") == (better == "higher") else "worse"
        out[key] = {
            "previous": None if prev is None else float(prev) if isinstance(prev, float) else prev,
            "change": change,
            "direction": direction,
            "better": better,
            "assessment": assessment,
        }
    return out


# --------------------------------------------------------------------------------------------
# tables for the figures and the site
# --------------------------------------------------------------------------------------------


def aging_table(
    positions: pd.DataFrame, buckets: Sequence[int] = DEFAULT_AGING_BUCKETS
) -> pd.DataFrame:
    """Open AR at T by days past due: bucket, amount, open invoices, share of open AR (percent).

    ``positions`` is the frame of :func:`invoice_positions`; ``buckets`` are inclusive upper bounds
    in days past due (``[0, 30, 60, 90, 120]`` -> Current, 1-30, ..., 120+). The amounts sum to open
    AR; every bucket is listed, empty ones with 0.
    """
    _require(positions, ["open_amount", "days_past_due"], "positions")
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
            "share_pct": np.round(amount / total * 100, 2) if total > _EPS else np.nan,
        }
    )


def _month_ends(t: pd.Timestamp, months: int) -> pd.DatetimeIndex:
    if int(months) < 1:
        raise ValueError(f"trailing_months: expected at least 1, got {months!r}")
    last = t + pd.offsets.MonthEnd(0)
    return pd.date_range(end=last, periods=int(months), freq="ME").normalize()


def monthly_trends(
    tables: Mapping[str, pd.DataFrame], period: Period | str | Any, trailing_months: int = 12
) -> pd.DataFrame:
    """Month-by-month series for the ``trailing_months`` months ending with the month of T.

    Columns: ``month`` ("YYYY-MM"), ``month_end``, ``billed`` (credit sales of the month),
    ``collections`` (cash received in the month, applied or not), ``paid`` (of the invoices billed
    that month, the amount paid by T, overpayments excluded), ``unpaid`` (``billed - paid``: still open
    at T), ``open_ar`` and ``overdue_ar`` at the month end, ``dso`` (``open_ar / billed * days in
    month``, NaN without sales). Sales vs collections is the cash view; billed vs paid follows each
    month's invoices to T.
    """
    from arinsight.engine import monthly_trends_from_frames

    t = _end_of(period)
    _month_ends(t, trailing_months)
    return monthly_trends_from_frames(tables, t.strftime("%Y-%m"), trailing_months, t)


def _monthly(led: _Ledger, t: pd.Timestamp, trailing_months: int) -> pd.DataFrame:
    ends = _month_ends(t, trailing_months)
    first = np.datetime64(ends[0] - pd.offsets.MonthBegin(1), "M").astype("int64")
    m = len(ends)
    tt = np.datetime64(t, "ns")

    def by_month(dates: np.ndarray, weights: np.ndarray) -> np.ndarray:
        keep = dates <= tt
        slot = _month_index(dates[keep]) - first
        ok = (slot >= 0) & (slot < m)
        return np.bincount(slot[ok], weights=weights[keep][ok], minlength=m)[:m]

    upto = led.pay_date <= tt
    paid = np.bincount(led.pay_code[upto], weights=led.pay_amount[upto], minlength=len(led.amount))
    paid = np.minimum(paid[: len(led.amount)], led.amount)
    cash = led.cash
    out = pd.DataFrame(
        {
            "month": ends.strftime("%Y-%m"),
            "month_end": ends,
            "billed": by_month(led.inv_date, led.amount),
            "collections": by_month(
                cash["payment_date"].to_numpy(), cash["amount"].to_numpy(dtype="float64")
            ),
            "paid": by_month(led.inv_date, paid),
        }
    )
    out["unpaid"] = out["billed"] - out["paid"]
    bal = _month_end_balances(led, ends)
    out["open_ar"] = bal["open_ar"].to_numpy()
    out["overdue_ar"] = bal["overdue_ar"].to_numpy()
    for col in ("billed", "collections", "paid", "unpaid"):
        out[col] = out[col].round(2) + 0.0
    days = ends.day.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        dso = np.where(out["billed"] > _EPS, out["open_ar"] / out["billed"] * days, np.nan)
    out["dso"] = np.round(dso, 2)
    return out


def invoice_explorer_table(tables: Mapping[str, pd.DataFrame], as_of: Any) -> pd.DataFrame:
    """Every invoice dated <= T with its customer and its position at T (the site's invoice explorer).

    Columns: invoice_id, customer_id, customer_name, region, industry, customer_type, invoice_date,
    due_date, amount, paid_to_date, balance, open_amount, days_past_due, days_late, paid_date,
    ``payment_status`` ("Paid", "Open - current", "Overdue", "Credit"), energy_kwh (when known).
    Sorted by invoice date then invoice id.
    """
    t = as_date(as_of)
    led = _prepare(tables["invoices"], tables["payments"])
    pos = _positions(led, t)
    return _explorer(pos, tables, led)


def _explorer(pos: pd.DataFrame, tables: Mapping[str, pd.DataFrame], led: _Ledger) -> pd.DataFrame:
    meta_cols = ["customer_id", "customer_name", "region", "industry", "customer_type"]
    customers = tables.get("customers")
    meta = (
        customers[[c for c in meta_cols if c in customers.columns]].drop_duplicates("customer_id")
        if customers is not None
        else pd.DataFrame({"customer_id": pd.Series(dtype="str")})
    )
    inv = tables["invoices"].reset_index(drop=True)
    out = pos.copy()
    out["energy_kwh"] = (
        inv["energy_kwh"].to_numpy(dtype="float64")[pos.index.to_numpy()]
        if "energy_kwh" in inv.columns
        else np.nan
    )
    out["payment_status"] = out["status"].map(STATUS_LABELS).astype("str")
    out = out.merge(meta, on="customer_id", how="left")
    for c in meta_cols[1:]:
        if c not in out.columns:
            out[c] = pd.Series(pd.NA, index=out.index, dtype="str")
    cols = [
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
        "balance",
        "open_amount",
        "days_past_due",
        "days_late",
        "paid_date",
        "payment_status",
        "energy_kwh",
    ]
    return (
        out[cols].sort_values(["invoice_date", "invoice_id"], kind="stable").reset_index(drop=True)
    )


def overdue_invoice_list(
    tables: Mapping[str, pd.DataFrame], as_of: Any, min_days_past_due: int = 1
) -> pd.DataFrame:
    """Open invoices at least ``min_days_past_due`` days past due at T, oldest first.

    The explorer's columns; sorted by days past due (descending), then open amount (descending),
    then invoice id, so collectors start with the oldest, largest items.
    """
    if int(min_days_past_due) < 1:
        raise ValueError("min_days_past_due: expected at least 1 (0 would list current invoices)")
    table = invoice_explorer_table(tables, as_of)
    table = table.loc[table["days_past_due"] >= int(min_days_past_due)]
    return table.sort_values(
        ["days_past_due", "open_amount", "invoice_id"],
        ascending=[False, False, True],
        kind="stable",
    ).reset_index(drop=True)


def customers_over_credit_limit(tables: Mapping[str, pd.DataFrame], as_of: Any) -> pd.DataFrame:
    """Customers whose open AR at T exceeds their credit limit, largest excess first.

    Columns: customer_id, customer_name, region, credit_limit, open_ar, over_limit_by,
    overdue_amount.
    """
    bal = customer_balances(tables["invoices"], tables["payments"], tables["customers"], as_of)
    cols = [
        "customer_id",
        "customer_name",
        "region",
        "credit_limit",
        "open_ar",
        "over_limit_by",
        "overdue_amount",
    ]
    bal = bal.loc[bal["over_limit"], [c for c in cols if c in bal.columns]]
    return bal.sort_values(
        ["over_limit_by", "customer_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def top_customers(tables: Mapping[str, pd.DataFrame], as_of: Any, top_n: int = 10) -> pd.DataFrame:
    """The ``top_n`` customers with the largest pending (open) balance at T.

    Columns: customer_id, customer_name, region, industry, open_ar, overdue_amount,
    overdue_invoices, max_days_past_due, credit_limit, over_limit. Customers with nothing open are
    left out; ties are broken by customer id.
    """
    if int(top_n) < 1:
        raise ValueError(f"top_n: expected at least 1, got {top_n!r}")
    bal = customer_balances(tables["invoices"], tables["payments"], tables["customers"], as_of)
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
    bal = bal.loc[bal["open_ar"] > 0, [c for c in cols if c in bal.columns]]
    bal = bal.sort_values(["open_ar", "customer_id"], ascending=[False, True], kind="stable")
    return bal.head(int(top_n)).reset_index(drop=True)


def _behaviour(
    led: _Ledger, pos: pd.DataFrame, t: pd.Timestamp, window_months: int
) -> pd.DataFrame:
    """Invoices of the window whose payment outcome is known at T, with their delay in days.

    Known outcome = fully paid by T, or open and past due at T. Delay = ``max(0, days_late)`` when
    paid, days past due so far when open; ``late`` = delay > 0. The window is the invoices dated
    in the ``window_months`` months ending with the month of T.
    """
    if int(window_months) < 1:
        raise ValueError(f"window_months: expected at least 1, got {window_months!r}")
    start = _month_ends(t, window_months)[0] - pd.offsets.MonthBegin(1)
    paid = pos["paid_date"].notna()
    known = (paid | (pos["status"] == "overdue")) & (pos["invoice_date"] >= start)
    out = pos.loc[known].copy()
    out["delay"] = np.where(
        out["paid_date"].notna(), out["days_late"].clip(lower=0), out["days_past_due"]
    ).astype("float64")
    out["late"] = out["delay"] > 0
    return out


def delays_by_industry(
    tables: Mapping[str, pd.DataFrame], as_of: Any, window_months: int = 12
) -> pd.DataFrame:
    """Payment delays by industry: who pays late, and how late.

    Over the invoices of the ``window_months`` months ending at T whose outcome is known at T (see
    :func:`_behaviour`): ``invoices``, ``late_invoices``, ``late_rate_pct`` (late / invoices * 100),
    ``average_delay_days`` (mean delay, on-time = 0); plus ``overdue_amount`` = open AR past due at T
    (all invoices). Customers without an industry are grouped as "Unknown". Sorted by late rate.
    """
    t = as_date(as_of)
    led = _prepare(tables["invoices"], tables["payments"])
    pos = _positions(led, t)
    industry = (
        tables["customers"].drop_duplicates("customer_id").set_index("customer_id")["industry"]
    )
    beh = _behaviour(led, pos, t, window_months)
    beh["industry"] = beh["customer_id"].map(industry).fillna("Unknown")
    pos = pos.assign(industry=pos["customer_id"].map(industry).fillna("Unknown"))
    od = pos.loc[pos["status"] == "overdue"].groupby("industry")["open_amount"].sum()
    out = beh.groupby("industry").agg(
        invoices=("late", "size"),
        late_invoices=("late", "sum"),
        average_delay_days=("delay", "mean"),
    )
    out = out.join(od.rename("overdue_amount"), how="outer")
    out["invoices"] = out["invoices"].fillna(0).astype("int64")
    out["late_invoices"] = out["late_invoices"].fillna(0).astype("int64")
    out["overdue_amount"] = out["overdue_amount"].fillna(0.0).round(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["late_rate_pct"] = np.where(
            out["invoices"] > 0, out["late_invoices"] / out["invoices"] * 100, np.nan
        ).round(2)
    out["average_delay_days"] = out["average_delay_days"].round(2)
    out = out.reset_index().rename(columns={"index": "industry"})
    cols = [
        "industry",
        "invoices",
        "late_invoices",
        "late_rate_pct",
        "average_delay_days",
        "overdue_amount",
    ]
    return (
        out[cols]
        .sort_values(
            ["late_rate_pct", "industry"],
            ascending=[False, True],
            na_position="last",
            kind="stable",
        )
        .reset_index(drop=True)
    )


_MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def seasonality(tables: Mapping[str, pd.DataFrame], as_of: Any) -> pd.DataFrame:
    """The seasonal pattern by calendar month, over the whole ledger up to T.

    For each calendar month (1-12): ``billed_avg`` and ``collections_avg`` = mean monthly billing and
    cash received over the years observed (a month with no activity counts as 0 within the observed
    span), ``energy_kwh_avg`` = mean monthly billed usage, ``late_rate_pct`` = share of the invoices
    *due* in that calendar month (outcome known at T) that were paid late or are overdue, and
    ``years`` = how many times the month occurs in the span.
    """
    t = as_date(as_of)
    led = _prepare(tables["invoices"], tables["payments"])
    inv = tables["invoices"].reset_index(drop=True)
    tt = np.datetime64(t, "ns")
    scope = led.inv_date <= tt
    cols = [
        "month",
        "month_name",
        "years",
        "billed_avg",
        "collections_avg",
        "energy_kwh_avg",
        "late_rate_pct",
    ]
    if not scope.any():
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    first = int(_month_index(led.inv_date[scope]).min())
    last = int(_month_index(np.array([tt]))[0])
    n = last - first + 1

    def totals(dates: np.ndarray, weights: np.ndarray) -> np.ndarray:
        keep = (dates <= tt) & ~np.isnan(weights)
        slot = _month_index(dates[keep]) - first
        ok = slot >= 0
        return np.bincount(slot[ok], weights=weights[keep][ok], minlength=n)[:n]

    energy = (
        inv["energy_kwh"].to_numpy(dtype="float64")
        if "energy_kwh" in inv
        else np.full(len(inv), np.nan)
    )
    cal = (np.arange(first, last + 1) % 12) + 1
    frame = pd.DataFrame(
        {
            "month": cal,
            "billed": totals(led.inv_date, led.amount),
            "collections": totals(
                led.cash["payment_date"].to_numpy(), led.cash["amount"].to_numpy(dtype="float64")
            ),
            "energy": totals(led.inv_date, energy),
        }
    )
    avg = frame.groupby("month").agg(
        years=("billed", "size"),
        billed_avg=("billed", "mean"),
        collections_avg=("collections", "mean"),
        energy_kwh_avg=("energy", "mean"),
    )
    pos = _positions(led, t)
    beh = _behaviour(led, pos, t, n)
    beh = beh.loc[beh["due_date"] <= t]
    late = beh.groupby(beh["due_date"].dt.month)["late"].mean() * 100
    avg = avg.reindex(range(1, 13))
    avg["late_rate_pct"] = late.reindex(range(1, 13)).round(2)
    avg["years"] = avg["years"].fillna(0).astype("int64")
    for c in ("billed_avg", "collections_avg", "energy_kwh_avg"):
        avg[c] = avg[c].round(2)
    avg = avg.reset_index().rename(columns={"index": "month"})
    avg["month_name"] = [_MONTH_NAMES[m - 1] for m in avg["month"]]
    return avg[cols]


def _kwh(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}"


def energy_vs_payment(
    tables: Mapping[str, pd.DataFrame], as_of: Any, n_bands: int = 5, window_months: int = 12
) -> pd.DataFrame:
    """Energy usage against payment behaviour, by customer usage band (seed 000).

    Each customer's usage = kWh billed on its invoices of the ``window_months`` months ending at T.
    Customers with usage are split into ``n_bands`` equal-count bands (quantiles; fewer when usage
    values repeat). Per band: ``band`` (kWh range), ``customers``, ``usage_kwh`` (total),
    ``invoices`` with a known outcome, ``late_rate_pct`` (late / known * 100, see
    :func:`_behaviour`), ``overdue_amount`` at T and ``overdue_per_customer``.
    """
    if int(n_bands) < 1:
        raise ValueError(f"n_bands: expected at least 1, got {n_bands!r}")
    t = as_date(as_of)
    led = _prepare(tables["invoices"], tables["payments"])
    inv = tables["invoices"].reset_index(drop=True)
    cols = [
        "band",
        "customers",
        "usage_kwh",
        "invoices",
        "late_rate_pct",
        "overdue_amount",
        "overdue_per_customer",
    ]
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in cols}).astype({"band": "str"})
    if "energy_kwh" not in inv.columns:
        return empty
    pos = _positions(led, t)
    start = _month_ends(t, window_months)[0] - pd.offsets.MonthBegin(1)
    energy = inv["energy_kwh"].to_numpy(dtype="float64")[pos.index.to_numpy()]
    recent = (pos["invoice_date"] >= start).to_numpy() & ~np.isnan(energy)
    usage = pd.Series(energy[recent]).groupby(pos["customer_id"].to_numpy()[recent]).sum()
    usage = usage[usage > 0]
    if usage.empty:
        return empty
    q = min(int(n_bands), usage.nunique())
    codes, edges = pd.qcut(usage.rank(method="first"), q, labels=False, retbins=True)
    band_of = pd.Series(codes.astype("int64"), index=usage.index)
    ranges = usage.groupby(band_of).agg(["min", "max", "sum", "size"])
    labels = [
        f"{_kwh(lo)} kWh" if _kwh(lo) == _kwh(hi) else f"{_kwh(lo)}-{_kwh(hi)} kWh"
        for lo, hi in zip(ranges["min"], ranges["max"], strict=True)
    ]
    beh = _behaviour(led, pos, t, window_months)
    beh = beh.assign(band=beh["customer_id"].map(band_of)).dropna(subset=["band"])
    late = beh.groupby("band")["late"].agg(["size", "sum"])
    od = (
        pos.loc[pos["status"] == "overdue"]
        .assign(band=lambda d: d["customer_id"].map(band_of))
        .dropna(subset=["band"])
        .groupby("band")["open_amount"]
        .sum()
    )
    out = pd.DataFrame(
        {
            "band": labels,
            "customers": ranges["size"].to_numpy().astype("int64"),
            "usage_kwh": ranges["sum"].round(2).to_numpy(),
        },
        index=ranges.index,
    )
    out["invoices"] = late["size"].reindex(out.index).fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["late_rate_pct"] = (late["sum"].reindex(out.index) / out["invoices"] * 100).round(2)
    out["overdue_amount"] = od.reindex(out.index).fillna(0.0).round(2)
    out["overdue_per_customer"] = (out["overdue_amount"] / out["customers"]).round(2)
    out["band"] = out["band"].astype("str")
    return out[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# display and JSON
# --------------------------------------------------------------------------------------------


def format_kpi(value: Any, unit: str, currency: str = "USD") -> str:
    """A KPI value as text: money compact with its symbol, days "42.1 days", percent "85.3%"; None -> n/a."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if unit == "money":
        from arinsight.plots._style import money

        return money(value, currency)
    if unit == "days":
        return f"{value:,.1f} days"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "times":
        return f"{value:.2f}x"
    if unit == "count":
        return f"{int(value):,}"
    return str(value)


def kpi_summary_table(
    current: Mapping[str, Any],
    comparison: Mapping[str, Mapping[str, Any]] | None = None,
    currency: str = "USD",
    keys: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per KPI: label, value, previous value, change and trend (arrow and good/bad).

    The trend column reads "▲ better", "▼ worse", "= same", or the arrow with "not rated" for
    KPIs that are neither good nor bad, "n/a" without a previous value; all values are formatted
    text ("n/a" where undefined, with the reason from ``current["na_reasons"]`` when there is
    one). Without ``keys``: every KPI of the registry in ``current`` except those that duplicate
    another (overdue amount = overdue AR, total revenue = credit sales).
    """
    comparison = comparison or {}
    keys = list(keys) if keys is not None else [k for k in current if kpi_registry.shown(k)]
    reasons = current.get("na_reasons") or {}
    rows = []
    for key in keys:
        unit = KPI_UNITS.get(key, "")
        cmp = comparison.get(key, {})
        value = format_kpi(current.get(key), unit, currency)
        if current.get(key) is None and reasons.get(key):
            value = f"n/a ({reasons[key]})"
        arrow = {"up": "▲", "down": "▼", "flat": "="}.get(cmp.get("direction"), "")
        rated = cmp.get("assessment") or ("not rated" if arrow else "")
        trend = f"{arrow} {rated}".strip()
        change = cmp.get("change")
        change_text = ("+" if change is not None and change > 0 else "") + format_kpi(
            change, unit, currency
        )
        if unit == "percent" and change is not None:
            change_text = change_text.replace("%", " pp")  # percentage points
        rows.append(
            {
                "KPI": KPI_LABELS.get(key, key),
                "Value": value,
                "Previous": format_kpi(cmp.get("previous"), unit, currency) if cmp else "n/a",
                "Change": change_text,
                "Trend": trend or "n/a",
            }
        )
    return pd.DataFrame(rows, columns=["KPI", "Value", "Previous", "Change", "Trend"])
