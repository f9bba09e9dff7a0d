"""Interactive figures and tables of the Disputes and promises page (notebook 08)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from arinsight.plots.interactive.base import PALETTE, figure, no_data, values
from arinsight.plots.tables import table_html


def _absent(what: str):
    return table_html(pd.DataFrame({what: ["not available: the ledger has no such table"]}))


def open_disputes_html(cases, as_of, currency: str = "USD", max_rows: int = 50):
    """The disputes open at T, oldest first (the worklist), with the total disputed."""
    from arinsight.disputes import open_disputes

    if cases is None:
        return _absent("open_disputes")
    d = open_disputes(cases, as_of)
    cols = ["dispute_id", "invoice_id", "customer_id", "reason", "opened_date", "age_days"]
    return table_html(
        d[cols + ["amount"]],
        money_columns=["amount"],
        currency=currency,
        totals=["amount"],
        labels={"age_days": "Age (days)", "amount": "Disputed"},
        max_rows=max_rows,
    )


def deductions_html(deductions, currency: str = "USD", max_rows: int = 50):
    """The short payments of cash application still outstanding at T, oldest first
    (:func:`arinsight.disputes.open_deductions`), with the total; those already in an open
    dispute are marked (their amount is in disputed AR)."""
    if deductions is None:
        why = "none: cash application (`arinsight match`) has written no deductions.csv here"
        return table_html(pd.DataFrame({"deductions": [why]}))
    d = deductions.assign(
        opened_date=deductions["opened_date"].dt.strftime("%Y-%m-%d"),
        in_dispute=deductions["in_dispute"].map({True: "yes", False: ""}),
    )
    labels = {
        "age_days": "Age (days)",
        "amount": "Short (invoice currency)",
        "outstanding": "Outstanding",
        "in_dispute": "In a dispute",
    }
    return table_html(
        d,
        money_columns=["outstanding"],
        currency=currency,
        totals=["outstanding"],
        number_decimals=2,
        labels=labels,
        max_rows=max_rows,
    )


def resolution_chart(cases, as_of, months: int = 12) -> go.Figure:
    """Mean days to resolve per reason (bars), with the share resolved for the customer."""
    from arinsight.disputes import resolution_by_reason

    title = f"Days to resolve a dispute, by reason (resolved in the last {months} months)"
    if cases is None:
        return no_data(title, "No disputes table in this ledger")
    by = resolution_by_reason(cases, as_of, months)
    by = by[by["reason"] != "All"]
    if by.empty:
        return no_data(title, f"No dispute was resolved in the last {months} months")
    fig = figure(title, height=340)
    shares = values(by["customer_favour_pct"])
    fig.add_bar(
        x=[reason_label(r) for r in by["reason"]],
        y=values(by["mean_days"]),
        marker_color=PALETTE[0],
        customdata=[list(r) for r in zip(by["resolved"], shares, strict=True)],
        text=[f"{s:.0f} %<br>to the<br>customer" if s is not None else "" for s in shares],
        textposition="inside",
        insidetextanchor="end",
        textangle=0,
        hovertemplate="%{x}<br>%{y:.1f} days on average<br>%{customdata[0]} resolved, "
        "%{customdata[1]:.1f} % of the amount for the customer<extra></extra>",
        name="mean days",
    )
    fig.update_layout(yaxis={"title": "days on average"}, xaxis={"title": "reason"},
                      showlegend=False, uniformtext={"minsize": 9, "mode": "hide"})  # fmt: skip
    return fig


def reason_label(reason) -> str:
    """A dispute reason code as words: ``NOT_RECEIVED`` -> "Not received"."""
    return str(reason).replace("_", " ").strip().capitalize()


def resolution_html(cases, as_of, months: int = 12, currency: str = "USD"):
    """The resolution table per reason (count, amount, mean and median days, customer share)."""
    from arinsight.disputes import resolution_by_reason

    if cases is None:
        return _absent("resolved_disputes")
    return table_html(
        resolution_by_reason(cases, as_of, months),
        money_columns=["amount"],
        percent_columns=["customer_favour_pct"],
        currency=currency,
        labels={"customer_favour_pct": "For the customer", "mean_days": "Mean days"},
        max_rows=None,
    )


def broken_promises_html(promises, payments, as_of, grace_days: int = 3, currency: str = "USD"):
    """The promises broken in the last 90 days, latest first, with what was paid of each."""
    from arinsight.disputes import broken_promises, evaluate_promises

    if promises is None:
        return _absent("broken_promises")
    b = broken_promises(evaluate_promises(promises, payments, as_of, grace_days), as_of)
    cols = ["promise_id", "customer_id", "invoice_id", "made_date", "promised_date", "source"]
    return table_html(
        b[cols + ["amount", "paid"]],
        money_columns=["amount", "paid"],
        currency=currency,
        totals=["amount", "paid"],
        labels={"amount": "Promised", "paid": "Paid for it"},
        max_rows=50,
    )
