"""Figures and tables of the Receivables Health page (notebook 03 and the site).

Each figure function takes the DataFrame of the matching :mod:`arinsight.receivables` function and
returns a :class:`matplotlib.figure.Figure`. Figures are built with the object-oriented API
(``Figure()``, not ``pyplot``), so they are never left open in pyplot's registry: a notebook shows
one by making it the cell's last value, a script saves it with ``_style.save_figure``. An empty
table gives a figure that says "No data for this selection" instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from arinsight.plots._style import (
    BAD,
    GOOD,
    NEUTRAL,
    NO_DATA,
    PALETTE,
    apply_style,
    label_hbars,
    money,
    money_axis,
)
from arinsight.plots._style import table_html as table_html  # re-exported for the notebooks
from arinsight.receivables import require_columns as _require


def _figure(width: float = 9.0, height: float = 4.5, **subplots) -> tuple[Figure, object]:
    apply_style()
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots(**subplots) if subplots else fig.add_subplot()
    return fig, ax


def no_data_figure(title: str, message: str = NO_DATA) -> Figure:
    """A small figure with a title and a centred message (used for empty selections)."""
    fig, ax = _figure(8.0, 2.5)
    ax.set_title(title, loc="left", fontweight="bold")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color=NEUTRAL)
    ax.set_axis_off()
    return fig


def _is_empty(df: pd.DataFrame, value_columns: Sequence[str]) -> bool:
    if df.empty:
        return True
    values = df[list(value_columns)].to_numpy(dtype="float64")
    return bool(np.all(np.isnan(values) | (values == 0)))


def _title(ax, title: str, subtitle: str | None = None) -> None:
    ax.set_title(title + (f"\n{subtitle}" if subtitle else ""), loc="left", fontweight="bold")


def _bucket_colours(n: int) -> list[str]:
    """Green for the first (current) bucket, then from amber to red as debt ages."""
    ramp = ["#f0c419", "#e8a33d", "#e07b39", "#d35400", BAD, "#8e1b10"]
    rest = [ramp[min(i, len(ramp) - 1)] for i in range(max(0, n - 1))]
    return [GOOD, *rest][:n]


def aging_chart(aging: pd.DataFrame, currency: str = "USD") -> Figure:
    """Bar chart of open AR by aging bucket (``receivables.aging_table``), amount and share on bars."""
    _require(aging, ["bucket", "amount"], "aging")
    title = "Open receivables by days past due"
    if _is_empty(aging, ["amount"]):
        return no_data_figure(title)
    fig, ax = _figure()
    labels = aging["bucket"].astype(str).tolist()
    bars = ax.bar(labels, aging["amount"], color=_bucket_colours(len(labels)))
    total = aging["amount"].sum()
    for bar, value in zip(bars, aging["amount"], strict=True):
        share = f" ({value / total:.0%})" if total else ""
        ax.annotate(
            money(value, currency) + share,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=9,
            xytext=(0, 2),
            textcoords="offset points",
        )
    money_axis(ax, "y", currency)
    ax.set_xlabel("Days past due")
    ax.set_ylabel("Open amount")
    ax.margins(y=0.15)
    _title(ax, title)
    return fig


def sales_vs_collections_chart(monthly: pd.DataFrame, currency: str = "USD") -> Figure:
    """Monthly credit sales against cash collected (``receivables.monthly_trends``).

    Months where sales exceed collections are shaded: receivables grow there.
    """
    _require(monthly, ["month", "billed", "collections"], "monthly")
    title = "Sales vs collections"
    if _is_empty(monthly, ["billed", "collections"]):
        return no_data_figure(title)
    fig, ax = _figure()
    x = np.arange(len(monthly))
    ax.plot(x, monthly["billed"], marker="o", color=PALETTE[0], label="Credit sales (billed)")
    ax.plot(x, monthly["collections"], marker="o", color=PALETTE[2], label="Collections (cash in)")
    ax.fill_between(
        x,
        monthly["billed"],
        monthly["collections"],
        where=monthly["billed"] > monthly["collections"],
        color=BAD,
        alpha=0.15,
        interpolate=True,
        label="Sales above collections (AR grows)",
    )
    ax.set_xticks(x, monthly["month"], rotation=45, ha="right")
    money_axis(ax, "y", currency)
    ax.set_ylabel("Amount per month")
    ax.legend(loc="upper left", fontsize=9)
    _title(ax, title)
    return fig


def billed_vs_paid_chart(monthly: pd.DataFrame, currency: str = "USD") -> Figure:
    """Each month's billing split into what is paid by T and what is still open (stacked bars)."""
    _require(monthly, ["month", "billed", "paid", "unpaid"], "monthly")
    title = "Billed vs paid, by billing month"
    if _is_empty(monthly, ["billed"]):
        return no_data_figure(title)
    fig, ax = _figure()
    ax.bar(monthly["month"], monthly["paid"], color=GOOD, label="Paid")
    ax.bar(
        monthly["month"], monthly["unpaid"], bottom=monthly["paid"], color=BAD, label="Still open"
    )
    ax.tick_params(axis="x", rotation=45)
    for lab in ax.get_xticklabels():
        lab.set_horizontalalignment("right")
    money_axis(ax, "y", currency)
    ax.set_ylabel("Amount billed in the month")
    ax.legend(loc="upper left", fontsize=9)
    _title(ax, title, "paid and open status as of the period end")
    return fig


def ar_balance_chart(monthly: pd.DataFrame, currency: str = "USD") -> Figure:
    """Open AR at each month end, with its overdue part (``receivables.monthly_trends``)."""
    _require(monthly, ["month", "open_ar", "overdue_ar"], "monthly")
    title = "Open and overdue receivables at month end"
    if _is_empty(monthly, ["open_ar"]):
        return no_data_figure(title)
    fig, ax = _figure()
    current = monthly["open_ar"] - monthly["overdue_ar"]
    ax.bar(monthly["month"], current, color=PALETTE[0], label="Current (not yet due)")
    ax.bar(monthly["month"], monthly["overdue_ar"], bottom=current, color=BAD, label="Overdue")
    ax.tick_params(axis="x", rotation=45)
    for lab in ax.get_xticklabels():
        lab.set_horizontalalignment("right")
    money_axis(ax, "y", currency)
    ax.set_ylabel("Open amount")
    ax.legend(loc="upper left", fontsize=9)
    _title(ax, title)
    return fig


def top_customers_chart(top: pd.DataFrame, currency: str = "USD") -> Figure:
    """Horizontal bars of the customers' open balances, overdue part in red (``top_customers``)."""
    _require(top, ["customer_id", "open_ar", "overdue_amount"], "top customers")
    title = "Customers with the largest pending balances"
    if _is_empty(top, ["open_ar"]):
        return no_data_figure(title)
    frame = top.iloc[::-1]
    names = frame.get("customer_name", pd.Series(index=frame.index, dtype="str"))
    labels = [
        f"{cid} - {name}" if isinstance(name, str) and name else str(cid)
        for cid, name in zip(frame["customer_id"], names, strict=True)
    ]
    fig, ax = _figure(9.0, max(3.0, 0.45 * len(frame) + 1.5))
    current = frame["open_ar"] - frame["overdue_amount"]
    ax.barh(labels, frame["overdue_amount"], color=BAD, label="Overdue")
    ax.barh(labels, current, left=frame["overdue_amount"], color=PALETTE[0], label="Not yet due")
    label_hbars(ax, frame["open_ar"], [money(v, currency) for v in frame["open_ar"]])
    money_axis(ax, "x", currency)
    ax.set_xlabel("Open balance")
    ax.margins(x=0.15)
    ax.legend(loc="lower right", fontsize=9)
    _title(ax, title)
    return fig


def industry_delays_chart(industry: pd.DataFrame) -> Figure:
    """Late-payment rate by industry with the average delay in days (``delays_by_industry``)."""
    _require(industry, ["industry", "late_rate_pct", "average_delay_days"], "industry delays")
    title = "Late payments by industry"
    if _is_empty(industry, ["late_rate_pct", "average_delay_days"]):
        return no_data_figure(title)
    frame = industry.dropna(subset=["late_rate_pct"]).iloc[::-1]
    fig, ax = _figure(9.0, max(3.0, 0.45 * len(frame) + 1.5))
    mean = frame["late_rate_pct"].mean()
    colours = [BAD if v > mean else PALETTE[0] for v in frame["late_rate_pct"]]
    ax.barh(frame["industry"], frame["late_rate_pct"], color=colours)
    label_hbars(
        ax,
        frame["late_rate_pct"],
        [
            f"{rate:.0f}% late, avg {delay:.0f} days"
            for rate, delay in zip(frame["late_rate_pct"], frame["average_delay_days"], strict=True)
        ],
    )
    ax.axvline(mean, color=NEUTRAL, linestyle="--", linewidth=1)
    ax.set_xlabel("Share of invoices paid late or overdue (%)")
    ax.set_xlim(0, max(100.0, float(frame["late_rate_pct"].max()) * 1.35))
    _title(ax, title, "red: above the average of the industries (dashed line)")
    return fig


def seasonality_chart(season: pd.DataFrame, currency: str = "USD") -> Figure:
    """Average billing per calendar month (bars) with the late-payment rate (line, right axis)."""
    _require(season, ["month_name", "billed_avg", "late_rate_pct"], "seasonality")
    title = "Seasonal pattern by calendar month"
    if _is_empty(season, ["billed_avg"]):
        return no_data_figure(title)
    fig, ax = _figure()
    ax.bar(
        season["month_name"], season["billed_avg"].fillna(0), color=PALETTE[0], label="Avg billed"
    )
    if "collections_avg" in season:
        ax.plot(
            season["month_name"],
            season["collections_avg"],
            marker="o",
            color=PALETTE[2],
            label="Avg collected",
        )
    money_axis(ax, "y", currency)
    ax.set_ylabel("Average per month")
    ax2 = ax.twinx()
    ax2.plot(
        season["month_name"],
        season["late_rate_pct"],
        marker="s",
        linestyle="--",
        color=BAD,
        label="Late rate (due in month)",
    )
    ax2.set_ylabel("Late rate (%)")
    ax2.set_ylim(0, 105)
    ax2.grid(False)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize=9)
    _title(ax, title)
    return fig


def energy_payment_chart(energy: pd.DataFrame, currency: str = "USD") -> Figure:
    """Late rate and overdue amount per customer, by energy-usage band (``energy_vs_payment``)."""
    _require(energy, ["band", "late_rate_pct", "overdue_per_customer"], "energy vs payment")
    title = "Energy usage vs payment behaviour"
    if energy.empty:
        return no_data_figure(title, "No energy usage in this selection")
    fig, (ax1, ax2) = _figure(11.0, 4.5, nrows=1, ncols=2)
    ax1.bar(energy["band"], energy["late_rate_pct"].fillna(0), color=PALETTE[1])
    ax1.set_ylabel("Late rate (%)")
    ax1.set_xlabel("Customer usage band (kWh billed)")
    ax1.set_title("Late-payment rate", loc="left")
    ax2.bar(energy["band"], energy["overdue_per_customer"], color=BAD)
    money_axis(ax2, "y", currency)
    ax2.set_ylabel("Overdue per customer")
    ax2.set_xlabel("Customer usage band (kWh billed)")
    ax2.set_title("Overdue amount per customer", loc="left")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=30)
        for lab in ax.get_xticklabels():
            lab.set_horizontalalignment("right")
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    return fig
