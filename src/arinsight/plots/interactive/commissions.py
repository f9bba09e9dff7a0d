"""Interactive figures of the Commission Analytics page (notebook 04).

Distribution by sales group is a horizontal bar chart of shares rather than the seed's pie: lengths
on a common axis are compared more accurately than angles, small groups stay readable, the
amounts fit next to the bars, and a negative group total (clawbacks) can still be drawn.
"""

from __future__ import annotations

import plotly.graph_objects as go

from arinsight.plots.interactive.base import (
    BAD,
    GOOD,
    PALETTE,
    figure,
    is_empty,
    money_axis,
    money_fmt,
    no_data,
    require,
    values,
)
from arinsight.plots.tables import table_html as table_html  # re-exported for the notebooks


def top_reps_chart(top, currency: str = "USD") -> go.Figure:
    """Sales reps ranked by outstanding accrued commission (``commissions.top_reps``)."""
    require(top, ["rep_name", "accrued_outstanding"], "top reps")
    title = "Top sales reps by accrued (unpaid) commission"
    if is_empty(top, ["accrued_outstanding"]):
        return no_data(title, "No outstanding commissions in this selection")
    frame = top.iloc[::-1]
    group = frame["sales_group"] if "sales_group" in frame else [""] * len(frame)
    labels = [f"{n} ({g})" if g else str(n) for n, g in zip(frame["rep_name"], group, strict=True)]
    fig = figure(title, height=max(300, 34 * len(frame) + 120))
    fig.add_bar(y=labels, x=values(frame["accrued_outstanding"]), orientation="h",
                name="Accrued, not yet paid", marker_color=PALETTE[0],
                hovertemplate="%{y}<br>accrued, not yet paid: " + money_fmt("x", currency)
                + "<extra></extra>")  # fmt: skip
    fig.update_layout(showlegend=False, xaxis=money_axis(currency))
    return fig


def accrued_vs_paid_chart(monthly, currency: str = "USD") -> go.Figure:
    """Commissions accrued and paid per month (bars) and the outstanding liability (line)."""
    require(monthly, ["month", "accrued", "paid", "outstanding"], "monthly commissions")
    title = "Commissions accrued vs paid"
    if is_empty(monthly, ["accrued", "paid", "outstanding"]):
        return no_data(title)
    months = [str(m) for m in monthly["month"]]
    fig = figure(title)
    fig.add_bar(
        x=months,
        y=values(monthly["accrued"]),
        name="Accrued",
        marker_color=PALETTE[1],
        hovertemplate="Accrued in %{x}: " + money_fmt("y", currency) + "<extra></extra>",
    )
    fig.add_bar(
        x=months,
        y=values(monthly["paid"]),
        name="Paid",
        marker_color=GOOD,
        hovertemplate="Paid in %{x}: " + money_fmt("y", currency) + "<extra></extra>",
    )
    fig.add_scatter(x=months, y=values(monthly["outstanding"]), name="Outstanding at month end",
                    mode="lines+markers", line={"color": BAD},
                    hovertemplate="Outstanding at the end of %{x}: " + money_fmt("y", currency)
                    + "<extra></extra>")  # fmt: skip
    fig.update_layout(barmode="group", yaxis=money_axis(currency), hovermode="x unified")
    return fig


def group_distribution_chart(by_group, currency: str = "USD") -> go.Figure:
    """Share of the period's commissions by sales group, as sorted horizontal bars."""
    require(by_group, ["sales_group", "commissions", "share_pct"], "by group")
    title = "Commission distribution by sales group"
    if is_empty(by_group, ["commissions"]):
        return no_data(title, "No commissions earned in this period")
    frame = by_group.iloc[::-1]
    fig = figure(title, height=max(260, 40 * len(frame) + 120))
    fig.add_bar(y=[str(g) for g in frame["sales_group"]], x=values(frame["share_pct"]),
                orientation="h", name="Share", marker_color=PALETTE[4],
                customdata=[[c] for c in values(frame["commissions"])],
                hovertemplate="%{y}<br>%{x:.1f}% of commissions earned ("
                + money_fmt("customdata[0]", currency) + ")<extra></extra>")  # fmt: skip
    fig.update_layout(showlegend=False, xaxis={"title": "Share of commissions earned (%)",
                                               "ticksuffix": "%"})  # fmt: skip
    return fig
