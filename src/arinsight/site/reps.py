"""The per-rep view of the Commission Analytics pages: every sales rep's commission figures
beside the open and overdue balances of the rep's customers, and for each rep the list of those
customers, each linked to its page.

The commission figures are the notebook's (``commissions_by_rep.json``, from
:func:`arinsight.commissions.commissions_by_rep`); the balances are the period's published
invoice positions (``invoice_explorer.parquet``) grouped by the customer's ``sales_rep_id``.
A customer's invoices in another region are not in a region's view, as on every region page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from arinsight.kpis import format_value
from arinsight.plots.tables import table_markup
from arinsight.site.html import esc
from arinsight.site.sections import link_customers

#: Customers listed under a rep (the largest overdue balances first); the rest are counted.
CUSTOMERS_PER_REP = 25

_MONEY = ["accrued_outstanding", "earned_in_period", "paid_in_period", "open_amount",
          "overdue_amount"]  # fmt: skip


def customer_balances(positions: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Per customer with an open invoice at T: customer_id, customer_name, sales_rep_id,
    open_amount (sum of open amounts), overdue_amount (open amount of the invoices at least one
    day past due), max_days_past_due (of the overdue ones, 0 without)."""
    cols = ["customer_id", "customer_name", "sales_rep_id", "open_amount", "overdue_amount",
            "max_days_past_due"]  # fmt: skip
    if positions.empty:
        return pd.DataFrame(columns=cols)
    pos = positions.loc[positions["open_amount"] > 0]
    pos = pos.assign(
        customer_id=pos["customer_id"].astype(str),
        overdue=pos["open_amount"].where(pos["days_past_due"] >= 1, 0.0),
        late_days=pos["days_past_due"].where(pos["days_past_due"] >= 1, 0),
    )
    per = (
        pos.groupby("customer_id", sort=True)
        .agg(
            customer_name=("customer_name", "first"),
            open_amount=("open_amount", "sum"),
            overdue_amount=("overdue", "sum"),
            max_days_past_due=("late_days", "max"),
        )
        .reset_index()
    )
    per[["open_amount", "overdue_amount"]] = per[["open_amount", "overdue_amount"]].round(2)
    rep = (
        dict(zip(customers["customer_id"].astype(str), customers["sales_rep_id"], strict=True))
        if "sales_rep_id" in customers.columns
        else {}
    )
    per["sales_rep_id"] = per["customer_id"].map(rep)
    return per[cols]


def reps_table(reps: Sequence[Mapping[str, Any]], balances: pd.DataFrame) -> pd.DataFrame:
    """One row per rep: the commission figures of ``reps`` (the notebook's records) and the
    count, open and overdue balance of the rep's customers with an open invoice."""
    frame = pd.DataFrame(list(reps))
    cols = ["sales_rep_id", "rep_name", "sales_group", "accrued_outstanding", "earned_in_period",
            "paid_in_period"]  # fmt: skip
    frame = frame.reindex(columns=cols)
    frame["sales_rep_id"] = frame["sales_rep_id"].astype(str)
    by_rep = (
        balances.dropna(subset=["sales_rep_id"])
        .assign(sales_rep_id=lambda d: d["sales_rep_id"].astype(str))
        .groupby("sales_rep_id")
        .agg(
            customers=("customer_id", "size"),
            open_amount=("open_amount", "sum"),
            overdue_amount=("overdue_amount", "sum"),
        )
    )
    out = frame.join(by_rep, on="sales_rep_id")
    out["customers"] = out["customers"].fillna(0).astype("int64")
    out[["open_amount", "overdue_amount"]] = (
        out[["open_amount", "overdue_amount"]].fillna(0.0).round(2)
    )
    return out


def reps_html(
    reps: Sequence[Mapping[str, Any]] | None,
    balances: pd.DataFrame,
    currency: str,
    resolve: Callable[[str], str | None],
) -> str:
    """The section "Sales reps and their customers"; empty without the notebook's records."""
    if reps is None:
        return ""
    table = reps_table(reps, balances)
    if table.empty:
        return (
            '<section class="ar-section reps"><h2>Sales reps and their customers</h2>'
            "<p>No sales rep has a commission record up to this period.</p></section>"
        )
    labels = {"customers": "Customers with a balance", "open_amount": "Customers' open AR",
              "overdue_amount": "Customers' overdue AR"}  # fmt: skip
    overview = table_markup(
        table.drop(columns=["sales_rep_id"]),
        money_columns=_MONEY[:3] + _MONEY[3:],
        currency=currency,
        max_rows=None,
        totals=_MONEY,
        labels=labels,
    )
    blocks = []
    for rep in table.itertuples(index=False):
        mine = balances.loc[balances["sales_rep_id"].astype(str) == rep.sales_rep_id]
        mine = mine.sort_values(
            ["overdue_amount", "open_amount", "customer_id"],
            ascending=[False, False, True],
            kind="mergesort",
        )
        shown = mine.head(CUSTOMERS_PER_REP)
        listing = (
            table_markup(
                shown.drop(columns=["sales_rep_id"]),
                money_columns=["open_amount", "overdue_amount"],
                currency=currency,
                max_rows=None,
                labels={"max_days_past_due": "Oldest overdue (days)"},
            )
            if len(shown)
            else "<p>No customer of this rep has an open invoice here.</p>"
        )
        if len(mine) > len(shown):
            listing += (
                f"<p>The {len(shown)} largest overdue balances of {len(mine):,} customers; the "
                "customer list of the period has every customer.</p>"
            )
        summary = (
            f"{esc(rep.rep_name)} ({esc(rep.sales_rep_id)}), {esc(rep.sales_group)}: "
            f"{rep.customers:,} customer{'s' if rep.customers != 1 else ''}, "
            f"{esc(format_value(rep.overdue_amount, 'money', currency, style='short'))} overdue"
        )
        blocks.append(
            f'<details class="ar-detail rep" id="rep-{esc(rep.sales_rep_id)}" '
            f'data-rep="{esc(rep.sales_rep_id)}"><summary>{summary}</summary>{listing}</details>'
        )
    return link_customers(
        '<section class="ar-section reps"><h2>Sales reps and their customers</h2>'
        "<p>Each rep's commission beside the balances of the customers the rep looks after. "
        "A rep with a large overdue book can help collect: open a rep for the customers, the "
        "largest overdue first, each linked to its statement.</p>"
        + overview
        + "".join(blocks)
        + "</section>",
        resolve,
    )
