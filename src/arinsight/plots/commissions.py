"""Figures of the Commission Analytics page (notebook 04 and the site).

Each function takes a DataFrame from :mod:`arinsight.commissions` and returns a matplotlib
``Figure`` built without pyplot (see :mod:`arinsight.plots.receivables`).

Distribution by sales group is a horizontal bar chart of shares rather than the seed's pie: lengths
on a common axis are compared more accurately than angles, small groups stay readable, the
amounts fit next to the bars, and a negative group total (clawbacks) can still be drawn.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from arinsight.plots._style import BAD, GOOD, PALETTE, label_hbars, money, money_axis
from arinsight.plots.receivables import _figure, _is_empty, _require, _title, no_data_figure


def top_reps_chart(top: pd.DataFrame, currency: str = "USD") -> Figure:
    """Sales reps ranked by outstanding accrued commission (``commissions.top_reps``)."""
    _require(top, ["rep_name", "accrued_outstanding"], "top reps")
    title = "Top sales reps by accrued (unpaid) commission"
    if _is_empty(top, ["accrued_outstanding"]):
        return no_data_figure(title, "No outstanding commissions in this selection")
    frame = top.iloc[::-1]
    group = frame["sales_group"] if "sales_group" in frame else pd.Series("", index=frame.index)
    labels = [f"{n} ({g})" if g else str(n) for n, g in zip(frame["rep_name"], group, strict=True)]
    fig, ax = _figure(9.0, max(3.0, 0.45 * len(frame) + 1.5))
    ax.barh(labels, frame["accrued_outstanding"], color=PALETTE[0])
    values = frame["accrued_outstanding"]
    label_hbars(ax, values, [money(v, currency) for v in values])
    money_axis(ax, "x", currency)
    ax.set_xlabel("Accrued, not yet paid")
    ax.margins(x=0.15)
    _title(ax, title)
    return fig


def accrued_vs_paid_chart(monthly: pd.DataFrame, currency: str = "USD") -> Figure:
    """Commissions accrued and paid per month (bars) and the outstanding liability (line)."""
    _require(monthly, ["month", "accrued", "paid", "outstanding"], "monthly commissions")
    title = "Commissions accrued vs paid"
    if _is_empty(monthly, ["accrued", "paid", "outstanding"]):
        return no_data_figure(title)
    fig, ax = _figure()
    x = range(len(monthly))
    width = 0.4
    ax.bar([i - width / 2 for i in x], monthly["accrued"], width, color=PALETTE[1], label="Accrued")
    ax.bar([i + width / 2 for i in x], monthly["paid"], width, color=GOOD, label="Paid")
    ax.plot(
        list(x),
        monthly["outstanding"],
        marker="o",
        color=BAD,
        label="Outstanding at month end",
    )
    ax.set_xticks(list(x), monthly["month"], rotation=45, ha="right")
    money_axis(ax, "y", currency)
    ax.set_ylabel("Commission amount")
    ax.legend(loc="upper left", fontsize=9)
    _title(ax, title)
    return fig


def group_distribution_chart(by_group: pd.DataFrame, currency: str = "USD") -> Figure:
    """Share of the period's commissions by sales group, as sorted horizontal bars."""
    _require(by_group, ["sales_group", "commissions", "share_pct"], "by group")
    title = "Commission distribution by sales group"
    if _is_empty(by_group, ["commissions"]):
        return no_data_figure(title, "No commissions earned in this period")
    frame = by_group.iloc[::-1]
    fig, ax = _figure(9.0, max(2.5, 0.5 * len(frame) + 1.5))
    ax.barh(frame["sales_group"], frame["share_pct"], color=PALETTE[4])
    label_hbars(
        ax,
        frame["share_pct"].clip(lower=0),
        [
            f"{share:.1f}%  ({money(amount, currency)})"
            for share, amount in zip(frame["share_pct"], frame["commissions"], strict=True)
        ],
    )
    ax.set_xlabel("Share of commissions earned in the period (%)")
    ax.set_xlim(
        min(0.0, float(frame["share_pct"].min())), max(100.0, float(frame["share_pct"].max()))
    )
    _title(ax, title)
    return fig
