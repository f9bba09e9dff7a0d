"""Interactive figures of the Cash Forecast page (notebook 06)."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from arinsight.plots.interactive.base import (
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


def log_ticks(low: float, high: float) -> list[float]:
    """Ticks of a log axis from ``low`` to ``high`` (both above 0): 1, 2 and 5 of every decade
    they span, from the tick at or below ``low`` to the one at or above ``high``; powers of ten
    only when that spans more than three decades (at most about ten labels either way)."""
    if not 0 < low <= high:
        raise ValueError(f"log ticks need 0 < low <= high, got {low} and {high}")
    steps = (1.0,) if math.log10(high / low) > 3 else (1.0, 2.0, 5.0)
    candidates = [m * 10.0**d for d in range(math.floor(math.log10(low)) - 1,
                                             math.ceil(math.log10(high)) + 1) for m in steps]  # fmt: skip
    below = max(v for v in candidates if v <= low * (1 + 1e-9))
    above = min(v for v in candidates if v >= high * (1 - 1e-9))
    return [float(f"{v:.12g}") for v in candidates if below <= v <= above]


def _short(value: float) -> str:
    """A tick label: 200 -> "200", 5,000 -> "5k", 2,000,000 -> "2M", 1e9 -> "1B"."""
    for scale, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{unit}"
    return f"{value:g}"


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
    positive = [v for c in ("mae_model", "mae_due_date", "mae_customer_delay")
                for v in values(e[c]) if v is not None and v > 0]  # fmt: skip
    if positive:  # plotly labels 1, 2, ... 9 of each decade on a short log axis: crowded
        ticks = log_ticks(min(positive), max(positive))
        # with ticks given, plotly drops the axis's prefix ("$"): the labels are written here
        text = [axis["tickprefix"] + _short(v) + axis["ticksuffix"] for v in ticks]
        axis.update(tickvals=ticks, ticktext=text)
    fig.update_layout(yaxis=axis, xaxis={"title": "week ahead", "dtick": 1})
    return fig


def weeks_table(fc, currency: str = "USD"):
    """The 13 weeks as the page's table: week, dates, the cash expected, its range and the
    due-date baseline, in money, with the totals of the expected cash and of the baseline (the
    range's ends are per week and do not add up). A sentence with the reason when there is no
    forecast."""
    from html import escape as esc

    from IPython.display import HTML

    from arinsight.plots.tables import table_html

    if not fc.available:
        return HTML(f"<p><em>No cash forecast: {esc(str(fc.unavailable))}.</em></p>")
    lo, hi = (int(round(q * 100)) for q in fc.details["interval"])
    cols = ["week", "week_start", "week_end", "expected", "low", "high", "due_date_baseline"]
    return table_html(
        fc.weeks[cols],
        money_columns=["expected", "low", "high", "due_date_baseline"],
        currency=currency,
        max_rows=None,
        totals=["expected", "due_date_baseline"],
        decimals=0,
        labels={
            "week": "Week",
            "week_start": "From",
            "week_end": "To",
            "expected": "Expected",
            "low": f"Low ({lo} %)",
            "high": f"High ({hi} %)",
            "due_date_baseline": "If paid on the due date",
        },  # fmt: skip
    )


def backtest_table(fc, currency: str = "USD"):
    """The backtest's error per week ahead as the page's table: month ends tested, the average
    cash of that week, the average error of the model and of the two baselines, in money, and
    how much smaller the model's error is than the due date's."""
    from html import escape as esc

    from IPython.display import HTML

    from arinsight.plots.tables import table_html

    e = fc.errors
    if e.empty:
        why = fc.unavailable or "no month end with 13 known weeks and enough history before it"
        return HTML(f"<p><em>No backtest: {esc(str(why))}.</em></p>")
    money = ["mean_actual", "mae_model", "mae_due_date", "mae_customer_delay"]
    cols = ["week", "origins", *money, "model_vs_due_date"]
    return table_html(
        e[cols],
        money_columns=money,
        share_columns=["model_vs_due_date"],
        currency=currency,
        max_rows=None,
        decimals=0,
        labels={
            "week": "Week ahead",
            "origins": "Month ends",
            "mean_actual": "Average cash",
            "mae_model": "Error: model",
            "mae_due_date": "Error: due date",
            "mae_customer_delay": "Error: customer delay",
            "model_vs_due_date": "Model's error smaller by",
        },  # fmt: skip
    )
