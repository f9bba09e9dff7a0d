"""Interactive figures of the Receivables Health page (notebook 03), taking the frames of
:mod:`arinsight.receivables`."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from arinsight.plots.interactive.base import (
    BAD,
    GOOD,
    NEUTRAL,
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


def _bucket_colours(n: int) -> list[str]:
    """Green for the first (current) bucket, then from amber to red as debt ages."""
    ramp = ["#f0c419", "#e8a33d", "#e07b39", "#d35400", BAD, "#8e1b10"]
    rest = [ramp[min(i, len(ramp) - 1)] for i in range(max(0, n - 1))]
    return [GOOD, *rest][:n]


def aging_chart(aging, currency: str = "USD") -> go.Figure:
    """Open AR by aging bucket (``receivables.aging_table``); hover: amount and share."""
    require(aging, ["bucket", "amount"], "aging")
    title = "Open receivables by days past due"
    if is_empty(aging, ["amount"]):
        return no_data(title)
    amounts = values(aging["amount"])
    total = sum(a for a in amounts if a) or 1.0
    fig = figure(title)
    fig.add_bar(
        x=[str(b) for b in aging["bucket"]],
        y=amounts,
        marker_color=_bucket_colours(len(aging)),
        customdata=[[(a or 0) / total] for a in amounts],
        text=[f"{(a or 0) / total:.0%}" for a in amounts],
        textposition="outside",
        name="Open amount",
        hovertemplate="%{x} days: " + money_fmt("y", currency) + " (%{customdata[0]:.1%})"
        "<extra></extra>",
    )
    fig.update_layout(showlegend=False, xaxis_title="Days past due", yaxis=money_axis(currency))
    return fig


def sales_vs_collections_chart(monthly, currency: str = "USD") -> go.Figure:
    """Monthly credit sales against cash collected and, apart, what write-offs and credit notes
    took off (``receivables.monthly_trends``; never counted as collections)."""
    require(monthly, ["month", "billed", "collections"], "monthly")
    title = "Sales vs collections"
    if is_empty(monthly, ["billed", "collections"]):
        return no_data(title)
    months = [str(m) for m in monthly["month"]]
    fig = figure(title)
    adjusted = [0.0] * len(months)
    if {"write_offs", "credit_notes"} <= set(monthly.columns):
        adjusted = [(w or 0) + (c or 0) for w, c in zip(values(monthly["write_offs"]),
                                                         values(monthly["credit_notes"]), strict=True)]  # fmt: skip
    for col, name, colour in (
        ("billed", "Credit sales (billed)", PALETTE[0]),
        ("collections", "Collections (cash in)", GOOD),
    ):
        fig.add_scatter(
            x=months, y=values(monthly[col]), mode="lines+markers", name=name,
            line={"color": colour},
            hovertemplate=f"{name}<br>%{{x}}: " + money_fmt("y", currency) + "<extra></extra>",
        )  # fmt: skip
    if any(adjusted):
        name = "Written off or credited (not cash)"
        fig.add_scatter(
            x=months, y=adjusted, mode="lines+markers", name=name,
            line={"color": NEUTRAL, "dash": "dot"},
            hovertemplate=f"{name}<br>%{{x}}: " + money_fmt("y", currency) + "<extra></extra>",
        )  # fmt: skip
    gap = [(b or 0) - (c or 0) - a for b, c, a in zip(values(monthly["billed"]),
                                                      values(monthly["collections"]), adjusted,
                                                      strict=True)]  # fmt: skip
    label = "Sales minus collections" + (" and credits" if any(adjusted) else "")
    fig.add_bar(
        x=months, y=gap, name=f"{label} (AR grows when > 0)",
        marker_color=[BAD if g > 0 else NEUTRAL for g in gap], opacity=0.35,
        hovertemplate=f"{label}<br>%{{x}}: " + money_fmt("y", currency) + "<extra></extra>",
    )  # fmt: skip
    fig.update_layout(yaxis=money_axis(currency), hovermode="x unified")
    return fig


def billed_vs_paid_chart(monthly, currency: str = "USD") -> go.Figure:
    """Each month's billing split into paid by T, credited or written off by T, and still open
    (stacked bars)."""
    require(monthly, ["month", "billed", "paid", "unpaid"], "monthly")
    title = "Billed vs paid, by billing month"
    if is_empty(monthly, ["billed"]):
        return no_data(title)
    months = [str(m) for m in monthly["month"]]
    fig = figure(title, subtitle="paid and open status as of the period end")
    stacks = [("paid", "Paid", GOOD), ("unpaid", "Still open", BAD)]
    if "adjusted" in monthly.columns and any(values(monthly["adjusted"])):
        stacks.insert(1, ("adjusted", "Credited or written off", NEUTRAL))
    for col, name, colour in stacks:
        fig.add_bar(x=months, y=values(monthly[col]), name=name, marker_color=colour,
                    hovertemplate=f"{name}<br>%{{x}}: " + money_fmt("y", currency)
                    + "<extra></extra>")  # fmt: skip
    fig.update_layout(barmode="stack", yaxis=money_axis(currency), hovermode="x unified")
    return fig


def ar_balance_chart(monthly, currency: str = "USD") -> go.Figure:
    """Open AR at each month end, split into current and overdue (stacked bars)."""
    require(monthly, ["month", "open_ar", "overdue_ar"], "monthly")
    title = "Open and overdue receivables at month end"
    if is_empty(monthly, ["open_ar"]):
        return no_data(title)
    months = [str(m) for m in monthly["month"]]
    current = [(o or 0) - (d or 0) for o, d in zip(values(monthly["open_ar"]),
                                                    values(monthly["overdue_ar"]), strict=True)]  # fmt: skip
    fig = figure(title)
    fig.add_bar(
        x=months,
        y=current,
        name="Current (not yet due)",
        marker_color=PALETTE[0],
        hovertemplate="Current<br>%{x}: " + money_fmt("y", currency) + "<extra></extra>",
    )
    fig.add_bar(
        x=months,
        y=values(monthly["overdue_ar"]),
        name="Overdue",
        marker_color=BAD,
        hovertemplate="Overdue<br>%{x}: " + money_fmt("y", currency) + "<extra></extra>",
    )
    fig.update_layout(barmode="stack", yaxis=money_axis(currency), hovermode="x unified")
    return fig


def top_customers_chart(top, currency: str = "USD") -> go.Figure:
    """The customers with the largest open balances, overdue part in red; a click on a bar
    opens the customer's page on the website (``customdata`` holds the customer id)."""
    require(top, ["customer_id", "open_ar", "overdue_amount"], "top customers")
    title = "Customers with the largest pending balances"
    if is_empty(top, ["open_ar"]):
        return no_data(title)
    frame = top.iloc[::-1]
    names = frame["customer_name"] if "customer_name" in frame else frame["customer_id"]
    labels = [str(n) if isinstance(n, str) and n else str(c)
              for n, c in zip(names, frame["customer_id"], strict=True)]  # fmt: skip
    ids = [[str(c)] for c in frame["customer_id"]]
    overdue = values(frame["overdue_amount"])
    current = [(o or 0) - (d or 0) for o, d in zip(values(frame["open_ar"]), overdue, strict=True)]
    fig = figure(title, height=max(300, 34 * len(frame) + 120))
    fig.add_bar(y=labels, x=overdue, orientation="h", name="Overdue", marker_color=BAD,
                customdata=ids, hovertemplate="%{y}<br>Overdue: " + money_fmt("x", currency)
                + "<extra></extra>")  # fmt: skip
    fig.add_bar(y=labels, x=current, orientation="h", name="Not yet due",
                marker_color=PALETTE[0], customdata=ids,
                hovertemplate="%{y}<br>Not yet due: " + money_fmt("x", currency)
                + "<extra></extra>")  # fmt: skip
    fig.update_layout(barmode="stack", xaxis=money_axis(currency), meta={"link": "customer"})
    return fig


def industry_delays_chart(industry) -> go.Figure:
    """Late-payment rate by industry with the average delay (``delays_by_industry``)."""
    require(industry, ["industry", "late_rate_pct", "average_delay_days"], "industry delays")
    title = "Late payments by industry"
    if is_empty(industry, ["late_rate_pct", "average_delay_days"]):
        return no_data(title)
    frame = industry.dropna(subset=["late_rate_pct"]).iloc[::-1]
    rates = values(frame["late_rate_pct"])
    mean = sum(rates) / len(rates)
    fig = figure(title, height=max(300, 34 * len(frame) + 120),
                 subtitle="red: above the average of the industries (dashed line)")  # fmt: skip
    fig.add_bar(
        y=[str(i) for i in frame["industry"]], x=rates, orientation="h", name="Late rate",
        marker_color=[BAD if r > mean else PALETTE[0] for r in rates],
        customdata=[[d] for d in values(frame["average_delay_days"])],
        hovertemplate="%{y}<br>%{x:.1f}% paid late or overdue<br>"
        "average delay %{customdata[0]:.1f} days<extra></extra>",
    )  # fmt: skip
    fig.add_vline(x=mean, line_dash="dash", line_color=NEUTRAL)
    fig.update_layout(showlegend=False, xaxis={"title": "Paid late or overdue (%)",
                                               "ticksuffix": "%"})  # fmt: skip
    return fig


def seasonality_chart(season, currency: str = "USD") -> go.Figure:
    """Average billing and collections per calendar month with the late rate (right axis)."""
    require(season, ["month_name", "billed_avg", "late_rate_pct"], "seasonality")
    title = "Seasonal pattern by calendar month"
    if is_empty(season, ["billed_avg"]):
        return no_data(title)
    months = [str(m) for m in season["month_name"]]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.update_layout(figure(title).layout)
    fig.add_bar(x=months, y=values(season["billed_avg"]), name="Average billed",
                marker_color=PALETTE[0],
                hovertemplate="Average billed in %{x}: " + money_fmt("y", currency)
                + "<extra></extra>")  # fmt: skip
    if "collections_avg" in season:
        fig.add_scatter(x=months, y=values(season["collections_avg"]), name="Average collected",
                        mode="lines+markers", line={"color": GOOD},
                        hovertemplate="Average collected in %{x}: " + money_fmt("y", currency)
                        + "<extra></extra>")  # fmt: skip
    fig.add_scatter(x=months, y=values(season["late_rate_pct"]), name="Late rate (due in month)",
                    mode="lines+markers", line={"color": BAD, "dash": "dash"},
                    hovertemplate="Late rate, due in %{x}: %{y:.1f}%<extra></extra>",
                    secondary_y=True)  # fmt: skip
    fig.update_yaxes(money_axis(currency), secondary_y=False)
    fig.update_yaxes(title_text="Late rate", range=[0, 105], showgrid=False, tickmode="linear",
                     tick0=0, dtick=25, ticksuffix="%", secondary_y=True)  # fmt: skip
    return fig


def energy_payment_chart(energy, currency: str = "USD") -> go.Figure:
    """Late rate and overdue amount per customer, by energy-usage band (``energy_vs_payment``)."""
    require(energy, ["band", "late_rate_pct", "overdue_per_customer"], "energy vs payment")
    title = "Energy usage vs payment behaviour"
    if energy.empty:
        return no_data(title, "No energy usage in this selection")
    bands = [str(b) for b in energy["band"]]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Late-payment rate",
                                                        "Overdue amount per customer"))  # fmt: skip
    fig.update_layout(figure(title).layout)
    fig.add_bar(x=bands, y=values(energy["late_rate_pct"]), name="Late rate",
                marker_color=PALETTE[1], row=1, col=1,
                hovertemplate="%{x} kWh<br>late rate %{y:.1f}%<extra></extra>")  # fmt: skip
    fig.add_bar(x=bands, y=values(energy["overdue_per_customer"]), name="Overdue per customer",
                marker_color=BAD, row=1, col=2,
                hovertemplate="%{x} kWh<br>overdue per customer "
                + money_fmt("y", currency) + "<extra></extra>")  # fmt: skip
    fig.update_yaxes(ticksuffix="%", row=1, col=1)
    fig.update_yaxes(money_axis(currency), row=1, col=2)
    fig.update_xaxes(title_text="Customer usage band (kWh billed)")
    fig.update_layout(showlegend=False)
    return fig
