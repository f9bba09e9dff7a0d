"""The invoice explorer of every period: the invoices at T in one table that filters by region,
industry, payment status and customer group, searches an exact phrase, sorts by a click on any
column header, totals the rows it shows, downloads them as CSV or Excel, and opens pre-filtered
from a URL. Every tile and truncated list of the site links here (:data:`TILE_VIEWS`,
:data:`LIST_VIEWS`).

Which invoices: every invoice open at T (open amount above zero), and the invoices settled
(status Paid or Credit) whose paid date falls within the ``site: {explorer_paid_months: N}``
months up to T (default :data:`DEFAULT_PAID_MONTHS`, the period's month; 0 leaves settled
invoices out). A ledger's older paid invoices are not published, so the page stays bounded.

The rows are computed here (:func:`explorer_rows`) and written once per period as a script,
``site/<period>/explorer-data.js``, which both the period's explorer and (for the latest period)
the navbar's ``site/explorer.html`` load: a plain ``<script src>`` works from a web server and
from a file opened directly, where a ``fetch`` of JSON would not. The table is DataTables (the
bundle the installed ``itables`` ships, served from the site: see
:func:`arinsight.site.write_datatables`), driven by ``assets/arinsight.js``.

The URL's hash holds the view: ``#status=overdue&region=North&customers=over-limit&q=...&
sort=days_past_due-desc``; changing a filter updates it, so any view can be bookmarked or sent.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import pandas as pd

from arinsight.ledger import ALL_REGIONS, period_bounds
from arinsight.site.html import esc, href, json_for_script, month_name, write_text
from arinsight.site.paths import (
    EXPLORER,
    currency_of,
    customer_slug,
    explorer_data_source,
    period_explorer_source,
)
from arinsight.site.sections import page, provenance_html, scripts_html

if TYPE_CHECKING:  # for the annotation only: pages imports this module
    from arinsight.site.pages import Builder
    from arinsight.site.reports import PeriodReport

#: Columns of the explorer, in the order shown, with their headers. Amounts come right after
#: the customer so that they are on screen on a phone (390 px) without scrolling sideways.
EXPLORER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("invoice_id", "Invoice"),
    ("customer_name", "Customer"),
    ("open_amount", "Open amount"),
    ("amount", "Amount"),
    ("days_past_due", "Days past due"),
    ("payment_status", "Payment status"),
    ("due_date", "Due date"),
    ("invoice_date", "Invoice date"),
    ("paid_date", "Paid on"),
    ("amount_at_risk", "Amount at risk"),
    ("region", "Region"),
    ("industry", "Industry"),
)
#: The filters (select boxes) of the explorer; ``customers`` is a customer group.
EXPLORER_FILTERS: tuple[str, ...] = ("region", "industry", "payment_status")
MONEY_COLUMNS = ("open_amount", "amount", "amount_at_risk")
#: The values of the status filter: the statuses of invoice_explorer_table and two groups.
STATUS_CHOICES: tuple[tuple[str, str], ...] = (
    ("open", "Open (current and overdue)"),
    ("overdue", "Overdue"),
    ("current", "Open - current"),
    ("paid", "Paid"),
    ("credit", "Credit (overpaid)"),
    ("all", "All statuses"),
)
#: The customer groups: customers over their credit limit, customers likely to pay late.
CUSTOMER_GROUPS: tuple[tuple[str, str], ...] = (
    ("", "All customers"),
    ("over-limit", "Customers over their credit limit"),
    ("likely-late", "Customers likely to pay late"),
)
DEFAULT_PAID_MONTHS = 1
#: A customer is likely late when the amount-weighted probability of late payment of its open
#: invoices is at least this (the Risk page's "Customers likely late", arinsight.risk).
LIKELY_LATE = 0.5

#: The explorer view behind each tile: KPI -> (the filters of the explorer's URL, the figure of
#: the totals row that equals the tile: a money column summed, or "customers" counted). Tiles
#: of ratios (DSO, CEI, rates), of payments (collections) and of commissions have no invoice
#: rows that add up to them and link nowhere.
TILE_VIEWS: dict[str, tuple[dict[str, str], str]] = {
    "open_ar": ({"status": "open", "sort": "open_amount-desc"}, "open_amount"),
    "overdue_ar": ({"status": "overdue", "sort": "days_past_due-desc"}, "open_amount"),
    "customers_over_credit_limit": (
        {"status": "open", "customers": "over-limit", "sort": "open_amount-desc"},
        "customers",
    ),
    "expected_overdue_amount": (
        {"status": "open", "sort": "amount_at_risk-desc"},
        "amount_at_risk",
    ),
    "customers_at_risk": (
        {"status": "open", "customers": "likely-late", "sort": "amount_at_risk-desc"},
        "customers",
    ),
}
#: The explorer view of a table cut at "First N of M rows" (``table_markup(explore=...)``).
LIST_VIEWS: dict[str, dict[str, str]] = {
    "overdue": TILE_VIEWS["overdue_ar"][0],
    "over-limit": TILE_VIEWS["customers_over_credit_limit"][0],
    "likely-late": TILE_VIEWS["customers_at_risk"][0],
}


def view_hash(view: Mapping[str, str], region: str | None = None) -> str:
    """The URL hash of an explorer view, for one region ("All" or None: every region)."""
    params = dict(view)
    if region and region != ALL_REGIONS:
        params = {"region": region, **params}
    return "#" + urlencode(params, quote_via=quote, safe="")


def paid_months_of(period: PeriodReport) -> int:
    site = (period.manifest.get("params") or {}).get("site") or {}
    try:
        value = site.get("explorer_paid_months", DEFAULT_PAID_MONTHS)
        return max(0, int(DEFAULT_PAID_MONTHS if value is None else value))
    except (TypeError, ValueError):
        return DEFAULT_PAID_MONTHS


def _cents(values: pd.Series) -> pd.Series:
    return (pd.to_numeric(values, errors="coerce").fillna(0.0) * 100).round().astype("int64")


def _scopes(rows: pd.DataFrame, flag_by_scope: Mapping[str, set[str]]) -> list[list[str]]:
    """Per row, the scopes ("All" or its region) in which its customer is in the group."""
    out = []
    for cid, region in zip(rows["customer_id"], rows["region"], strict=True):
        found = [
            s
            for s in (ALL_REGIONS, region)
            if isinstance(s, str) and cid in flag_by_scope.get(s, ())
        ]
        out.append(list(dict.fromkeys(found)))
    return out


def over_limit_by_scope(positions: pd.DataFrame, customers: pd.DataFrame) -> dict[str, set[str]]:
    """Customers over their credit limit in "All" and in each region: their open amount at T on
    the invoices of that scope above their credit limit (the rule of the KPI
    ``customers_over_credit_limit``, compared in cents). Empty without credit limits."""
    if customers.empty or "credit_limit" not in customers.columns or positions.empty:
        return {}
    limits = pd.to_numeric(customers.set_index(customers["customer_id"].astype(str))["credit_limit"],
                           errors="coerce").dropna()  # fmt: skip
    limit_cents = (limits * 100).round().astype("int64")
    pos = positions.assign(customer_id=positions["customer_id"].astype(str),
                           _c=_cents(positions["open_amount"].clip(lower=0)))  # fmt: skip
    out: dict[str, set[str]] = {}
    scopes = [(ALL_REGIONS, pos)] + [(r, g) for r, g in pos.groupby("region", sort=True)]
    for scope, rows in scopes:
        owed = rows.groupby("customer_id")["_c"].sum()
        lim = limit_cents.reindex(owed.index)
        out[str(scope)] = set(owed.index[(lim.notna()) & (owed > lim.fillna(0))])
    return out


def likely_late_by_scope(scores: pd.DataFrame, positions: pd.DataFrame) -> dict[str, set[str]]:
    """Customers likely to pay late in "All" and in each region: the amount-weighted
    probability of late payment of their scored open invoices of that scope is at least
    :data:`LIKELY_LATE` (:func:`arinsight.risk.customer_risk`, the rule of the KPI
    ``customers_at_risk``). Empty without scores."""
    need = {"invoice_id", "customer_id", "open_amount", "days_past_due", "expected_overdue",
            "probability_late"}  # fmt: skip
    if scores.empty or positions.empty or not need <= set(scores.columns):
        return {}  # no scores, or scores of an older version: no group rather than no site
    from arinsight.risk import customer_risk

    regions = positions[["invoice_id", "region"]].astype({"invoice_id": str})
    s = scores.assign(invoice_id=scores["invoice_id"].astype(str),
                      customer_id=scores["customer_id"].astype(str))  # fmt: skip
    s = s.merge(regions, on="invoice_id", how="left")
    out: dict[str, set[str]] = {}
    scopes = [(ALL_REGIONS, s)] + [(r, g) for r, g in s.groupby("region", sort=True)]
    for scope, rows in scopes:
        risk = customer_risk(rows.drop(columns=["region"]))
        share = risk.set_index(risk["customer_id"].astype(str))["risk_share"]
        out[str(scope)] = set(share.index[share.fillna(0.0) >= LIKELY_LATE])
    return out


def explorer_rows(
    positions: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    scores: pd.DataFrame | None = None,
    as_of: Any = None,
    paid_months: int = DEFAULT_PAID_MONTHS,
) -> pd.DataFrame:
    """The explorer's rows: every invoice open at T and the invoices settled within
    ``paid_months`` months up to ``as_of`` (by paid date; none when 0 or without ``as_of``),
    oldest due date first. Columns: :data:`EXPLORER_COLUMNS` plus ``customer_id``,
    ``over_limit`` and ``likely_late`` (the scopes, "All" or the invoice's region, in which the
    customer is in that group). Dates as ISO text, money to cents, ``amount_at_risk`` the
    invoice's P(late) x open amount (NaN when not scored)."""
    if "invoice_id" not in positions.columns or "open_amount" not in positions.columns:
        raise ValueError("invoice explorer table: needs invoice_id and open_amount")
    customers = customers if customers is not None else pd.DataFrame()
    scores = scores if scores is not None else pd.DataFrame()
    df = positions.copy()
    df["customer_id"] = df["customer_id"].astype(str)
    df["invoice_id"] = df["invoice_id"].astype(str)
    for col in ("region", "industry", "customer_name", "payment_status"):
        if col not in df.columns:
            df[col] = None
    is_open = pd.to_numeric(df["open_amount"], errors="coerce").fillna(0) > 0
    keep = is_open
    if paid_months > 0 and as_of is not None and "paid_date" in df.columns:
        end = pd.Timestamp(str(as_of)[:10])
        start = pd.Timestamp(period_bounds(end.strftime("%Y-%m")).start) - pd.DateOffset(
            months=paid_months - 1
        )
        paid = pd.to_datetime(df["paid_date"], errors="coerce")
        keep = keep | (
            df["payment_status"].isin(["Paid", "Credit"]) & (paid >= start) & (paid <= end)
        )
    over = over_limit_by_scope(df, customers)
    late = likely_late_by_scope(scores, df)
    out = df.loc[keep].copy()
    for c in ("invoice_date", "due_date", "paid_date"):
        out[c] = (
            pd.to_datetime(out[c], errors="coerce").dt.strftime("%Y-%m-%d")
            if c in out.columns
            else None
        )
    for c in ("amount", "open_amount"):
        out[c] = pd.to_numeric(out[c], errors="coerce").round(2)
    risk = (
        scores.assign(invoice_id=scores["invoice_id"].astype(str)).set_index("invoice_id")[
            "expected_overdue"
        ]
        if len(scores) and "expected_overdue" in scores.columns
        else pd.Series(dtype="float64")
    )
    out["amount_at_risk"] = out["invoice_id"].map(risk).astype("float64").round(2)
    out["days_past_due"] = pd.to_numeric(out["days_past_due"], errors="coerce").astype("Int64")
    out = out.sort_values(["due_date", "invoice_id"], kind="stable").reset_index(drop=True)
    out["over_limit"] = _scopes(out, over)
    out["likely_late"] = _scopes(out, late)
    cols = ["customer_id", *(c for c, _ in EXPLORER_COLUMNS), "over_limit", "likely_late"]
    return out[cols]


def open_invoices(table: pd.DataFrame) -> pd.DataFrame:
    """The invoices still owed at T (open amount > 0) of :func:`explorer_rows`."""
    return explorer_rows(table, paid_months=0)


def _value(v: Any) -> Any:
    if v is None or (not isinstance(v, list | str) and pd.isna(v)):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def explorer_data(
    rows: pd.DataFrame, period: str, as_of: Any, currency: str, links: Mapping[str, str]
) -> dict[str, Any]:
    """The data the explorer's script reads: columns, rows (lists in column order), and the
    customer pages (paths relative to the period's folder)."""
    cols = ["customer_id", *(c for c, _ in EXPLORER_COLUMNS), "over_limit", "likely_late"]
    body = [[_value(v) for v in rec] for rec in rows[cols].itertuples(index=False, name=None)]
    return {
        "period": period,
        "as_of": None if as_of is None else str(as_of),
        "currency": currency,
        "columns": cols,
        "rows": body,
        "customers": dict(sorted(links.items())),
    }


def explorer_data_script(data: Mapping[str, Any]) -> str:
    """``explorer-data.js``: the data as a script (loaded by ``<script src>``: it works from a
    file opened directly, where fetching JSON would not)."""
    return (
        "window.arinsightExplorer = window.arinsightExplorer || {};\n"
        f"window.arinsightExplorer[{json_for_script(data['period'])}] = "
        f"{json_for_script(dict(data))};\n"
    )


def _options(name: str, label: str, choices: list[tuple[str, str]]) -> str:
    opts = "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in choices)
    return (
        f'<label class="ar-filter">{esc(label)} '
        f'<select data-filter="{esc(name)}" name="{esc(name)}">{opts}</select></label>'
    )


def explorer_html(rows: pd.DataFrame, period: str, data_src: str, base: str) -> str:
    """The explorer's markup: the filters, the search box, the download buttons, the table
    with its header and totals row. The script (``arinsight.js``) fills it from ``data_src``.
    ``base``: the path from this page to the period's folder (customer pages' links)."""
    regions = sorted({r for r in rows["region"].dropna().astype(str)})
    industries = sorted({r for r in rows["industry"].dropna().astype(str)})
    filters = (
        _options("region", "Region", [("", "All regions")] + [(r, r) for r in regions])
        + _options("industry", "Industry", [("", "All industries")] + [(r, r) for r in industries])
        + _options("status", "Status", list(STATUS_CHOICES))
        + _options("customers", "Customers", list(CUSTOMER_GROUPS))
        + '<label class="ar-filter ar-search">Search (exact phrase) '
        '<input type="search" data-filter="q" name="q" autocomplete="off" '
        'placeholder="customer, invoice, ID"></label>'
        + '<button type="button" class="ar-button" data-action="reset">Clear filters</button>'
    )

    def cls(c: str) -> str:
        return ' class="num"' if c in (*MONEY_COLUMNS, "days_past_due") else ""

    # the customer ID is a hidden last column: downloads have it, the screen has the name
    columns = [*EXPLORER_COLUMNS, ("customer_id", "Customer ID")]
    head = "".join(
        f'<th scope="col" data-col="{c}"{cls(c)}>{esc(label)}</th>' for c, label in columns
    )
    foot = "".join(f'<td data-total="{c}"{cls(c)}></td>' for c, _ in columns)
    return (
        f'<div class="explorer" data-period="{esc(period)}" data-base="{esc(base)}">'
        f'<form class="ar-filters" role="search" aria-label="Filter the invoices" '
        f'onsubmit="return false">{filters}</form>'
        '<div class="ar-explorer-bar"><p class="ar-explorer-count" aria-live="polite"></p>'
        '<div class="ar-downloads" role="group" aria-label="Download the rows shown">'
        '<button type="button" class="ar-button" data-download="csv">Download CSV</button>'
        '<button type="button" class="ar-button" data-download="xlsx">Download Excel</button>'
        "</div></div>"
        '<noscript><p class="notice">The explorer needs JavaScript.</p></noscript>'
        '<table id="invoice_explorer" class="ar-table ar-explorer display compact">'
        f"<thead><tr>{head}</tr></thead><tbody></tbody>"
        f'<tfoot><tr class="ar-totals">{foot}</tr></tfoot></table>'
        f'<script src="{esc(data_src)}"></script></div>'
    )


def explorer_pages(builder: Builder) -> None:
    """The explorer of every period (``site/<period>/explorer.qmd`` and its data script) and
    the navbar's explorer (``site/explorer.qmd``: the latest period's, same data script)."""
    for period in builder.periods:
        rows = builder.explorer_rows(period)
        if rows is None:
            continue
        source = period_explorer_source(period.label)
        data_source = explorer_data_source(period.label)
        links = {
            cid: f"customers/{customer_slug(cid)}.html"
            for cid in builder.customer_ids.get(period.label, set())
        }
        data = explorer_data(
            rows, period.label, period.manifest.get("as_of"), currency_of(period), links
        )
        write_text(builder.project_dir / data_source, explorer_data_script(data))
        targets = [source] + ([EXPLORER] if period is builder.latest else [])
        for target in targets:
            rel = posixpath.relpath(posixpath.dirname(source), posixpath.dirname(target))
            base = "" if rel == "." else rel + "/"
            _explorer_page(builder, period, target, rows, href(target, data_source), base)
    if builder.latest is None or builder.explorer_rows(builder.latest) is None:
        builder.write(
            EXPLORER,
            "Invoice explorer",
            [page('<p class="notice">No invoice data published yet.</p>')],
            "explorer",
        )


def _explorer_page(
    builder: Builder,
    period: PeriodReport,
    source: str,
    rows: pd.DataFrame,
    data_src: str,
    base: str,
) -> None:
    months = paid_months_of(period)
    paid = (
        "the invoices paid in the period"
        if months == 1
        else (f"the invoices paid in the {months} months up to T" if months > 1 else "")
    )
    lead = (
        f'<p class="lead">Invoices at {esc(period.manifest.get("as_of"))}: every open invoice'
        + (f" and {paid}" if paid else "")
        + ". Filter by region, industry, status and customer group; search an exact phrase; "
        "click a column header to sort; the totals row adds up the rows shown, and the buttons "
        "download them. Click a customer for its statement.</p>"
    )
    blocks = (
        builder.context_bar(source, period, None, "explorer")
        + lead
        + explorer_html(rows, period.label, data_src, base)
        + provenance_html(period, period.all, "invoice explorer")
    )
    builder.write(
        source,
        f"Invoice explorer: {month_name(period.label)}",
        [page(blocks, scripts_html(source, charts=False, tables=True, datatables=True))],
        "explorer",
    )
