"""Interactive figures of the Provision page (notebook 07)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from arinsight.plots.interactive.base import (
    PALETTE,
    figure,
    money_axis,
    money_fmt,
    no_data,
    values,
)
from arinsight.plots.tables import table_html


def matrix_html(m, currency: str = "USD"):
    """The provision matrix (:func:`arinsight.provision.matrix_table`) with a total row."""
    from arinsight.provision import matrix_table

    if m.table.empty:
        return table_html(
            pd.DataFrame({"provision_matrix": ["not available: " + "; ".join(m.notes)]})
        )
    labels = {
        "segment": m.segment_by.replace("_", " ").capitalize(),
        "bucket": "Days past due",
        "balance": "Open at T",
        "roll_rate": "Rolled to older %",
        "write_off_rate": "Written off %",
        "loss_rate": "Loss rate %",
        "allowance": "Allowance",
        "source": "Rate from",
    }
    return table_html(
        matrix_table(m),
        money_columns=["balance", "allowance"],
        percent_columns=["roll_rate", "write_off_rate", "loss_rate"],
        currency=currency,
        totals=["balance", "allowance"],
        labels=labels,
        max_rows=None,
    )


def backtest_html(m, currency: str = "USD"):
    """The backtest (:func:`arinsight.provision.backtest_table`) with its totals."""
    from arinsight.provision import backtest_table

    if m.backtest.empty:
        why = "no month end with a full lookback and the 12 months after it known"
        return table_html(pd.DataFrame({"backtest": [f"not available: {why}"]}))
    labels = {
        "month_end": "Month end",
        "allowance": "Allowance then",
        "written_off": "Written off in the next 12 months",
        "error": "Error",
        "error_pct": "Error % of write-offs",
    }
    return table_html(
        backtest_table(m),
        money_columns=["allowance", "written_off", "error"],
        percent_columns=["error_pct"],
        currency=currency,
        totals=["allowance", "written_off", "error"],
        labels=labels,
        max_rows=None,
    )


def flows_html(m, currency: str = "USD"):
    """Write-offs, credit notes and other adjustments per month, with the totals."""
    from arinsight.provision import flows_table

    cols = ["write_offs", "credit_notes", "adjustment"]
    labels = {
        "month": "Month",
        "write_offs": "Write-offs",
        "credit_notes": "Credit notes",
        "adjustment": "Other adjustments",
    }
    return table_html(
        flows_table(m), money_columns=cols, currency=currency, totals=cols, labels=labels,
        max_rows=None,
    )  # fmt: skip


def allowance_chart(m, currency: str = "USD") -> go.Figure:
    """Open balance at T per aging bucket (bars) and the allowance it carries (bars in front),
    all segments together, with each bucket's loss rate in the hover."""
    title = "Open AR and loss allowance by days past due"
    if m.table.empty:
        return no_data(title, "No provision matrix: " + "; ".join(m.notes or ["nothing open"]))
    by = m.table.groupby("bucket", sort=False)[["balance", "allowance"]].sum()
    by = by.reindex(m.labels)
    rate = (by["allowance"] / by["balance"].where(by["balance"] > 0) * 100).round(2)
    fig = figure(title, height=380)
    fig.add_bar(
        x=m.labels, y=values(by["balance"]), name="open at T", marker_color=PALETTE[1],
        hovertemplate="%{x} days<br>open: " + money_fmt("y", currency) + "<extra></extra>",
    )  # fmt: skip
    fig.add_bar(
        x=m.labels, y=values(by["allowance"]), name="allowance", marker_color=PALETTE[0],
        customdata=values(rate),
        hovertemplate="%{x} days<br>allowance: " + money_fmt("y", currency)
        + "<br>loss rate: %{customdata} %<extra></extra>",
    )  # fmt: skip
    fig.update_layout(
        barmode="overlay", yaxis=money_axis(currency), xaxis={"title": "days past due"}
    )
    return fig


def backtest_chart(m, currency: str = "USD") -> go.Figure:
    """The allowance at past month ends against the write-offs of the 12 months after each."""
    title = "Backtest: allowance against the write-offs that followed (12 months)"
    bt = m.backtest
    if bt.empty:
        return no_data(title, "Not enough history: a full lookback and 12 known months are needed")
    x = [d.strftime("%Y-%m") for d in bt["origin"]]
    fig = figure(title, height=360)
    fig.add_scatter(
        x=x, y=values(bt["allowance"]), name="allowance at month end", mode="lines+markers",
        line={"color": PALETTE[0]},
        hovertemplate="%{x}<br>allowance: " + money_fmt("y", currency) + "<extra></extra>",
    )  # fmt: skip
    fig.add_scatter(
        x=x, y=values(bt["written_off"]), name="written off in the next 12 months",
        mode="lines+markers", line={"color": PALETTE[1]},
        hovertemplate="%{x}<br>written off after: " + money_fmt("y", currency) + "<extra></extra>",
    )  # fmt: skip
    fig.update_layout(yaxis=money_axis(currency), xaxis={"title": "month end"})
    return fig
