"""Figures of the Cash Forecast page (06_cash_forecast): the 13 weeks and the backtest's error."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from arinsight.plots._style import NEUTRAL, PALETTE, apply_style, money_axis
from arinsight.plots.receivables import no_data_figure


def forecast_chart(fc, currency: str = "USD", figsize=(11, 4.5)):
    """Expected collections per week (bars) with the interval (whiskers) and, as a line, the cash
    the same open invoices would bring if every one were paid on its due date."""
    apply_style()
    w = fc.weeks
    if not fc.available or w["expected"].sum() <= 0:
        return no_data_figure("Expected collections", fc.unavailable or "nothing expected")
    x = np.arange(len(w))
    fig, ax = plt.subplots(figsize=figsize)
    lo, hi = (int(round(q * 100)) for q in fc.details["interval"])
    err = np.vstack([w["expected"] - w["low"], w["high"] - w["expected"]])
    ax.bar(x, w["expected"], color=PALETTE[0], label="expected")
    ax.errorbar(
        x,
        w["expected"],
        yerr=err,
        fmt="none",
        ecolor=PALETTE[1],
        capsize=4,
        label=f"range {lo} % to {hi} %",
    )
    ax.plot(
        x,
        w["due_date_baseline"],
        color=NEUTRAL,
        marker="o",
        lw=1.5,
        ls="--",
        label="if paid on the due date",
    )
    ax.set_xticks(x, [d.strftime("%d %b") for d in w["week_start"]], rotation=45, ha="right")
    ax.set(
        xlabel="week starting", ylabel="collections", title="Expected collections, next 13 weeks"
    )
    money_axis(ax, "y", currency)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def backtest_error_chart(fc, currency: str = "USD", figsize=(11, 4.5)):
    """Mean absolute error per week ahead over the backtest's month ends: the model against
    "paid on the due date" and "each customer's average delay" (log scale: week 1's due-date
    error, all overdue invoices at once, is far larger than the rest)."""
    apply_style()
    e = fc.errors
    if e.empty:
        return no_data_figure("Backtest", fc.unavailable or "not enough history for a backtest")
    fig, ax = plt.subplots(figsize=figsize)
    ax.plot(e["week"], e["mae_model"], marker="o", color=PALETTE[0], label="model")
    ax.plot(
        e["week"], e["mae_due_date"], marker="s", color=NEUTRAL, ls="--", label="paid on due date"
    )
    ax.plot(
        e["week"],
        e["mae_customer_delay"],
        marker="^",
        color=PALETTE[1],
        ls=":",
        label="customer's average delay",
    )
    ax.set_yscale("log")
    ax.set(
        xlabel="week ahead",
        ylabel="mean absolute error (log scale)",
        title=f"Backtest: forecast error per week ahead ({int(e['origins'].max())} month ends)",
        xticks=list(e["week"]),
    )
    money_axis(ax, "y", currency)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
