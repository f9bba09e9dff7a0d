"""Payment behaviour against what customers are: delays by industry, the seasonal pattern,
and energy usage against payment behaviour."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from arinsight.periods import as_date
from arinsight.receivables.base import (
    month_ends,
    require_columns,
)


def _behaviour(pos: pd.DataFrame, t: pd.Timestamp, window_months: int) -> pd.DataFrame:
    """Invoices of the window whose payment outcome is known at T, with their delay in days.

    Known outcome = fully paid by T, or open and past due at T. Delay = ``max(0, days_late)`` when
    paid, days past due so far when open; ``late`` = delay > 0. The window is the invoices dated
    in the ``window_months`` months ending with the month of T.
    """
    if int(window_months) < 1:
        raise ValueError(f"window_months: expected at least 1, got {window_months!r}")
    start = month_ends(t, window_months)[0] - pd.offsets.MonthBegin(1)
    paid = pos["paid_date"].notna()
    known = (paid | (pos["status"] == "overdue")) & (pos["invoice_date"] >= start)
    used = ["customer_id", "industry", "invoice_date", "due_date", "paid_date", "days_late",
            "days_past_due", "status", "open_amount"]  # fmt: skip
    out = pos.loc[known, [c for c in used if c in pos.columns]].copy()
    out["delay"] = np.where(
        out["paid_date"].notna(), out["days_late"].clip(lower=0), out["days_past_due"]
    ).astype("float64")
    out["late"] = out["delay"] > 0
    return out


def delays_by_industry(
    positions: pd.DataFrame, as_of: Any, window_months: int = 12
) -> pd.DataFrame:
    """Payment delays by industry: who pays late, and how late.

    Over the invoices of the ``window_months`` months ending at T whose outcome is known at T (see
    :func:`_behaviour`): ``invoices``, ``late_invoices``, ``late_rate_pct`` (late / invoices * 100),
    ``average_delay_days`` (mean delay, on-time = 0); plus ``overdue_amount`` = open AR past due at T
    (all invoices). The industry is the invoice's segment (its customer's, see docs/own-data.md);
    invoices without one are grouped as "Unknown". Sorted by late rate.
    """
    t = pd.Timestamp(as_date(as_of))
    require_columns(positions, ["industry", "status", "paid_date", "days_late"], "positions")
    used = ["industry", "invoice_date", "due_date", "paid_date", "days_late", "days_past_due",
            "status", "open_amount"]  # fmt: skip
    pos = positions[[c for c in used if c in positions.columns]]
    pos = pos.assign(industry=pos["industry"].fillna("Unknown"))
    beh = _behaviour(pos, t, window_months)
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


def _month_index(dates: Any) -> np.ndarray:
    """Months since year 0 of datetime64 values (for grouping by calendar month)."""
    return np.asarray(dates, dtype="datetime64[M]").astype("int64")


def seasonality(positions: pd.DataFrame, cash_months: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """The seasonal pattern by calendar month, over the whole ledger up to T.

    ``positions``: the positions at T; ``cash_months``: cash received per month up to T (month,
    collections; see :meth:`arinsight.engine.period.PeriodResults.cash_months`). For each
    calendar month (1-12): ``billed_avg`` and ``collections_avg`` = mean monthly billing and
    cash received over the years observed (a month with no activity counts as 0 within the
    observed span), ``energy_kwh_avg`` = mean monthly billed usage, ``late_rate_pct`` = share of
    the invoices *due* in that calendar month (outcome known at T) that were paid late or are
    overdue, and ``years`` = how many times the month occurs in the span.
    """
    t = pd.Timestamp(as_date(as_of))
    cols = [
        "month",
        "month_name",
        "years",
        "billed_avg",
        "collections_avg",
        "energy_kwh_avg",
        "late_rate_pct",
    ]
    require_columns(positions, ["invoice_date", "amount", "energy_kwh"], "positions")
    if not len(positions):
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    first = int(_month_index(positions["invoice_date"].to_numpy()).min())
    last = int(_month_index(np.array([np.datetime64(t, "D")]))[0])
    n = last - first + 1

    def totals(dates: np.ndarray, weights: np.ndarray) -> np.ndarray:
        keep = ~np.isnan(weights)
        slot = _month_index(dates[keep]) - first
        ok = (slot >= 0) & (slot < n)
        return np.bincount(slot[ok], weights=weights[keep][ok], minlength=n)[:n]

    dates = positions["invoice_date"].to_numpy()
    cal = (np.arange(first, last + 1) % 12) + 1
    frame = pd.DataFrame(
        {
            "month": cal,
            "billed": totals(dates, positions["amount"].to_numpy(dtype="float64")),
            "collections": totals(
                cash_months["month"].to_numpy(),
                cash_months["collections"].to_numpy(dtype="float64"),
            ),
            "energy": totals(dates, positions["energy_kwh"].to_numpy(dtype="float64")),
        }
    )
    avg = frame.groupby("month").agg(
        years=("billed", "size"),
        billed_avg=("billed", "mean"),
        collections_avg=("collections", "mean"),
        energy_kwh_avg=("energy", "mean"),
    )
    beh = _behaviour(positions, t, n)
    beh = beh.loc[beh["due_date"] <= t]
    late = beh.groupby(beh["due_date"].dt.month)["late"].mean() * 100
    avg = avg.reindex(range(1, 13))
    avg["late_rate_pct"] = late.reindex(range(1, 13)).astype("float64").round(2)
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
    positions: pd.DataFrame, as_of: Any, n_bands: int = 5, window_months: int = 12
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
    t = pd.Timestamp(as_date(as_of))
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
    require_columns(positions, ["customer_id", "invoice_date", "energy_kwh"], "positions")
    pos = positions
    start = month_ends(t, window_months)[0] - pd.offsets.MonthBegin(1)
    energy = pos["energy_kwh"].to_numpy(dtype="float64")
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
    beh = _behaviour(pos, t, window_months)
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
