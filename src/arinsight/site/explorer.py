"""The invoice explorer: every invoice open at T of the latest period in one table that filters
by region, industry and payment status, sorts by any column, and links each customer to its
page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from arinsight.site.html import esc, format_value, month_name
from arinsight.site.paths import EXPLORER, currency_of
from arinsight.site.sections import page, provenance_html

if TYPE_CHECKING:  # for the annotation only: pages imports this module
    from arinsight.site.pages import Builder

#: Columns of the invoice explorer, in order, with their headers.
EXPLORER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("invoice_id", "Invoice"),
    ("customer_name", "Customer"),
    ("region", "Region"),
    ("industry", "Industry"),
    ("invoice_date", "Invoice date"),
    ("due_date", "Due date"),
    ("amount", "Amount"),
    ("open_amount", "Open amount"),
    ("days_past_due", "Days past due"),
    ("payment_status", "Payment status"),
)
EXPLORER_FILTERS: tuple[str, ...] = ("region", "industry", "payment_status")


def explorer_page(builder: Builder) -> None:
    """The invoice explorer of the latest period (its page source)."""
    latest = builder.latest
    positions = builder.data(latest)["positions"] if latest else pd.DataFrame()
    if latest is None or positions.empty:
        builder.write(
            EXPLORER,
            "Invoice explorer",
            [page('<p class="notice">No invoice data published yet.</p>')],
            "explorer",
        )
        return
    resolve = builder.resolver(EXPLORER, latest.label)
    blocks = (
        builder.context_bar(EXPLORER, latest)
        + f'<p class="lead">Open invoices at {esc(latest.manifest.get("as_of"))}, all '
        "regions. Filter by region, industry and payment status; click a column to sort; "
        "type in the search box to find a customer or an invoice; click a customer for "
        "its statement.</p>"
        + explorer_html(positions, currency_of(latest), resolve)
        + provenance_html(latest, latest.all, "invoice explorer")
    )
    builder.write(
        EXPLORER, f"Invoice explorer: {month_name(latest.label)}", [page(blocks)], "explorer"
    )


def open_invoices(table: pd.DataFrame) -> pd.DataFrame:
    """The explorer's rows: invoices still owed at T (open amount > 0), oldest due date first,
    with the explorer columns (and customer_id); dates as ISO text, money to cents."""
    df = table
    if "invoice_id" not in df.columns or "open_amount" not in df.columns:
        raise ValueError("invoice explorer table: needs invoice_id and open_amount")
    df = df[df["open_amount"].fillna(0) > 0]
    cols = ["customer_id"] + [c for c, _ in EXPLORER_COLUMNS if c in df.columns]
    out = df[[c for c in cols if c in df.columns]].copy()
    for c in ("invoice_date", "due_date"):
        if c in out.columns:
            out[c] = pd.to_datetime(out[c], errors="coerce").dt.strftime("%Y-%m-%d")
    for c in ("amount", "open_amount"):
        if c in out.columns:
            out[c] = pd.to_numeric(out[c], errors="coerce").round(2)
    if "days_past_due" in out.columns:
        out["days_past_due"] = pd.to_numeric(out["days_past_due"], errors="coerce").astype("Int64")
    sort = [c for c in ("due_date", "invoice_id") if c in out.columns]
    return out.sort_values(sort, kind="stable").reset_index(drop=True)


def explorer_html(
    table: pd.DataFrame,
    currency: str = "USD",
    resolve: Callable[[str], str | None] | None = None,
) -> str:
    """The invoice explorer: an itables (DataTables) table of the open invoices in offline mode
    (the DataTables bundle is inlined, nothing is fetched) with filters for region, industry and
    payment status. Amounts with currency and separators; customers link to their pages. Every
    value is escaped here (the table is given to itables as HTML)."""
    from itables import javascript as itjs
    from itables import options as itopt

    df = open_invoices(table)
    shown = pd.DataFrame(index=df.index)
    for col, _ in EXPLORER_COLUMNS:
        if col not in df.columns:
            continue
        s = df[col]
        if col in ("amount", "open_amount"):
            shown[col] = [esc(format_value(v, "money", currency, style="table")) for v in s]
        elif col == "customer_name":
            cells = []
            for name, cid in zip(s, df["customer_id"], strict=True):
                target = resolve(str(cid)) if resolve else None
                text = esc(name if isinstance(name, str) and name else cid)
                cells.append(f'<a href="{esc(target)}">{text}</a>' if target else text)
            shown[col] = cells
        elif col == "days_past_due":
            shown[col] = [None if pd.isna(v) else int(v) for v in s]
        else:
            shown[col] = [esc("" if v is None or v != v else v) for v in s]
    labels = dict(EXPLORER_COLUMNS)
    shown = shown.rename(columns=labels)
    filter_cols = [
        list(shown.columns).index(labels[c]) for c in EXPLORER_FILTERS if labels[c] in shown.columns
    ]
    num_cols = [
        list(shown.columns).index(labels[c])
        for c in ("amount", "open_amount", "days_past_due")
        if labels[c] in shown.columns
    ]
    init = itjs.generate_init_offline_itables_html(itopt.dt_bundle)
    warn = itopt.warn_on_unexpected_option_type
    itopt.warn_on_unexpected_option_type = False  # nested `language` options are valid
    try:
        table_html = _datatable(itjs, shown, filter_cols, num_cols)
    finally:
        itopt.warn_on_unexpected_option_type = warn
    return f'<div class="explorer">{init}{table_html}</div>'


def _datatable(itjs: Any, shown: pd.DataFrame, filter_cols: list[int], num_cols: list[int]) -> str:
    return itjs.to_html_datatable(
        shown,
        connected=False,
        maxBytes=0,
        maxRows=0,
        showIndex=False,
        allow_html=True,
        table_id="invoice_explorer",
        classes="display compact ar-explorer",
        layout={"top1": "searchPanes", "topStart": "pageLength", "topEnd": "search"},
        searchPanes={
            "columns": filter_cols,
            "layout": f"columns-{max(1, len(filter_cols))}",
            "cascadePanes": True,
            "viewTotal": True,
            "initCollapsed": False,
            "orderable": False,
            "clear": True,
        },
        language={
            "searchPanes": {
                "title": {
                    "_": "%d filters applied",
                    "0": "Filter the invoices",
                    "1": "1 filter applied",
                },
                "clearMessage": "Clear filters",
            }
        },
        columnDefs=[
            {"searchPanes": {"show": True}, "targets": filter_cols},
            {"className": "dt-right ar-num", "type": "num-fmt", "targets": num_cols},
            {"className": "ar-nowrap", "targets": "_all"},
        ],
        lengthMenu=[10, 25, 50, 100],
        pageLength=25,
    )
