"""Interactive figures of the Cash Forecast page (notebook 06)."""

from __future__ import annotations

import plotly.graph_objects as go

from arinsight.plots.interactive._base import (
    NEUTRAL,
    PALETTE,
    figure,
    money_axis,
    money_fmt,
    no_data,
    values,
)


def forecast_chart(fc, currency: str = "USD") -> go.Figure:
    """Expected collections per week (bars) with the interval (error bars) and, as a dashed
    line, the cash the same open invoices would bring if every one were paid on its due date."""
    title = "Expected collections, next 13 weeks"
    w = fc.weeks
    if not fc.available or w.empty or w["expected"].sum() <= 0:
        return no_data(title, f"No cash forecast: {fc.unavailable or 'nothing is expected'}")
    lo, hi = (int(round(q * 100)) for q in fc.details["interval"])
    weeks = [d.strftime("%d %b %Y") for d in w["week_start"]]
    fig = figure(title, height=380)
    fig.add_bar(
        x=weeks,
        y=values(w["expected"]),
        name="expected",
        marker_color=PALETTE[0],
        error_y={
            "type": "data",
            "symmetric": False,
            "array": values(w["high"] - w["expected"]),
            "arrayminus": values(w["expected"] - w["low"]),
            "color": PALETTE[1],
        },
        customdata=[list(pair) for pair in zip(values(w["low"]), values(w["high"]), strict=True)],
        hovertemplate="week of %{x}<br>expected: " + money_fmt("y", currency)
        + f"<br>range {lo} % to {hi} %: " + money_fmt("customdata[0]", currency) + " to "
        + money_fmt("customdata[1]", currency) + "<extra></extra>",
    )  # fmt: skip
    fig.add_scatter(
        x=weeks,
        y=values(w["due_date_baseline"]),
        name="if paid on the due date",
        mode="lines+markers",
        line={"color": NEUTRAL, "dash": "dash"},
        hovertemplate="week of %{x}<br>if paid on the due date: " + money_fmt("y", currency)
        + "<extra></extra>",
    )  # fmt: skip
    fig.update_layout(yaxis=money_axis(currency), xaxis={"title": "week starting"})
    return fig


def backtest_error_chart(fc, currency: str = "USD") -> go.Figure:
    """Mean absolute error per week ahead over the backtest's month ends: the model against
    "paid on the due date" and "each customer's average delay" (log scale: week 1's due-date
    error, every overdue invoice at once, is far larger than the rest)."""
    e = fc.errors
    if e.empty:
        why = fc.unavailable or "not enough history for a backtest"
        return no_data("Backtest: forecast error per week ahead", f"No backtest: {why}")
    fig = figure(
        f"Backtest: forecast error per week ahead ({int(e['origins'].max())} month ends)",
        height=380,
    )
    for col, name, color, dash in (
        ("mae_model", "model", PALETTE[0], "solid"),
        ("mae_due_date", "paid on due date", NEUTRAL, "dash"),
        ("mae_customer_delay", "customer's average delay", PALETTE[1], "dot"),
    ):
        fig.add_scatter(
            x=values(e["week"]),
            y=values(e[col]),
            name=name,
            mode="lines+markers",
            line={"color": color, "dash": dash},
            hovertemplate=f"{name}<br>week %{{x}} ahead: mean error " + money_fmt("y", currency)
            + "<extra></extra>",
        )  # fmt: skip
    axis = money_axis(currency)
    axis.update(type="log", title="mean absolute error (log scale)")
    fig.update_layout(yaxis=axis, xaxis={"title": "week ahead", "dtick": 1})
    return fig
