"""The invoice explorer of every period: the invoices at T in one table that filters by region,
industry, payment status and customer group, searches an exact phrase, sorts by a click on any
column header, totals the rows it shows, downloads them as CSV or Excel, and opens pre-filtered
from a URL. Every tile and truncated list of the site links here (:data:`TILE_VIEWS`,
:data:`LIST_VIEWS`).

Which invoices: every invoice open at T (open amount above zero), and the invoices settled
(status Paid or Credit) whose paid date falls within the ``site: {explorer_paid_months: N}``
months up to T (default :data:`DEFAULT_PAID_MONTHS`, the period's month; 0 leaves settled
invoices out). A ledger's older paid invoices are not published, so the page stays bounded.

The rows are computed here (:func:`explorer_rows`) and written once per period, compactly
(:func:`explorer_data`): an index, ``site/<period>/explorer-data.js``, which both the period's
explorer and (for the latest period) the navbar's ``site/explorer.html`` load, and one part per
region and payment status, ``site/<period>/explorer-data/<region>-<status>.js``, which the page
adds when a view needs it. Scripts, not JSON: a ``<script src>`` works from a web server and
from a file opened directly, where a ``fetch`` would not. A part holds at most
``site: {explorer_max_rows: N}`` invoices (default :data:`DEFAULT_MAX_ROWS`, the largest
first); when one is cut, the index carries the totals of every view (the totals row still
equals the tile) and each region's full CSV is written beside the parts. The table is
DataTables (the bundle the installed ``itables`` ships, served from the site: see
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

from arinsight.files import safe_slug
from arinsight.ledger import ALL_REGIONS, period_bounds
from arinsight.site.html import esc, href, json_for_script, month_name, write_text
from arinsight.site.navigation import context_bar
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
#: The folder of a period's explorer parts (beside ``explorer-data.js``).
EXPLORER_PARTS = "explorer-data"
#: The most invoices of one region and one payment status the explorer's page loads (the
#: largest first): ``site: {explorer_max_rows: N}``. A 1M-invoice ledger stays under it; at
#: 10M a view shows the largest invoices with the totals of all of them and links the full CSV.
DEFAULT_MAX_ROWS = 20_000
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


def max_rows_of(period: PeriodReport) -> int:
    site = (period.manifest.get("params") or {}).get("site") or {}
    try:
        value = site.get("explorer_max_rows", DEFAULT_MAX_ROWS)
        return max(1, int(DEFAULT_MAX_ROWS if value is None else value))
    except (TypeError, ValueError):
        return DEFAULT_MAX_ROWS


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


def _days(values: pd.Series) -> list[int | None]:
    """ISO dates as days since 1970-01-01 (None when blank): 5 digits instead of 12."""
    d = pd.to_datetime(values, errors="coerce")
    days = (d - pd.Timestamp("1970-01-01")).dt.days
    return [None if pd.isna(v) else int(v) for v in days]


def _cents_or_none(values: pd.Series) -> list[int | None]:
    num = pd.to_numeric(values, errors="coerce")
    return [None if pd.isna(v) else int(v) for v in (num * 100).round()]


def _status_slug(status: str) -> str:
    return {"Open - current": "current"}.get(status, status.lower())


def _view_totals(rows: pd.DataFrame) -> dict[str, list[int]]:
    """The totals row of every view the filters can make without a search (region or all,
    status choice, customer group, industry or all): [invoices, customers, open amount, amount,
    amount at risk] in cents, over every row of the view (the explorer shows these when a view
    is cut at the row cap, so the totals row still equals the tile)."""
    cents = {c: _cents(rows[c]) for c in MONEY_COLUMNS}
    frame = rows[["customer_id", "region", "industry", "payment_status"]].assign(**cents)
    frame["_ol"] = [tuple(v) for v in rows["over_limit"]]
    frame["_ll"] = [tuple(v) for v in rows["likely_late"]]
    statuses = {k: None for k, _ in STATUS_CHOICES}
    statuses.update(open=["Open - current", "Overdue"], overdue=["Overdue"],
                    current=["Open - current"], paid=["Paid"], credit=["Credit"])  # fmt: skip
    regions = ["", *sorted(frame["region"].dropna().astype(str).unique())]
    industries = ["", *sorted(frame["industry"].dropna().astype(str).unique())]
    out: dict[str, list[int]] = {}
    for region in regions:
        by_region = frame if not region else frame[frame["region"] == region]
        scope = region or ALL_REGIONS
        for status, names in statuses.items():
            by_status = by_region if names is None else by_region[
                by_region["payment_status"].isin(names)]  # fmt: skip
            for group, col in (("", None), ("over-limit", "_ol"), ("likely-late", "_ll")):
                by_group = (by_status if col is None else by_status[
                    by_status[col].map(lambda v, s=scope: s in v).astype(bool)])  # fmt: skip
                for industry in industries:
                    view = by_group if not industry else by_group[by_group["industry"] == industry]
                    out[f"{region}|{status}|{group}|{industry}"] = [
                        len(view),
                        int(view["customer_id"].nunique()),
                        *(int(view[c].sum()) for c in MONEY_COLUMNS),
                    ]
    return out


def explorer_data(
    rows: pd.DataFrame,
    period: str,
    as_of: Any,
    currency: str,
    links: Mapping[str, str],
    max_rows: int = DEFAULT_MAX_ROWS,
) -> tuple[dict[str, Any], dict[str, list[list[Any]]]]:
    """The explorer's data, compact, in parts the page loads on demand.

    Returns ``(index, parts)``. ``parts`` maps a file name to the invoices of one region and
    one payment status: ``customers``, each ``[id, name, page, groups]`` (page
    :func:`_page`, groups :func:`_group_bits`), and ``rows``, each ``[invoice_id, customer,
    open_cents, amount_cents, days_past_due, due_day, invoice_day, paid_day, at_risk_cents,
    industry]`` where customer and industry are positions in the part's customers and the
    index's industries, days count from 1970-01-01 and money is in whole cents. A part holds at
    most ``max_rows`` rows, the largest (open amount, or amount for a settled invoice) first;
    ``rows`` and ``total`` in the index's ``parts`` say when it is cut. The index
    (``explorer-data.js``) holds the dictionaries (regions, industries, statuses), the parts
    and, when a part is cut, the totals of every view without a search (:func:`_view_totals`)
    and the full CSV of each region. Nothing in it grows with the number of customers."""
    cols = ["customer_id", *(c for c, _ in EXPLORER_COLUMNS), "over_limit", "likely_late"]
    industries = sorted({str(v) for v in rows["industry"].dropna()})
    regions = sorted({str(v) for v in rows["region"].dropna()})
    statuses = ["Overdue", "Open - current", "Paid", "Credit"]
    statuses += sorted({str(v) for v in rows["payment_status"].dropna()} - set(statuses))
    frame = pd.DataFrame({
        "invoice_id": rows["invoice_id"].astype(str),
        "customer_id": rows["customer_id"].astype(str),
        "customer_name": [_value(v) for v in rows["customer_name"]],
        "groups": [_group_bits(ol, ll) for ol, ll in zip(rows["over_limit"], rows["likely_late"],
                                                          strict=True)],  # fmt: skip
        "open": _cents_or_none(rows["open_amount"]),
        "amount": _cents_or_none(rows["amount"]),
        "dpd": [_value(v) for v in rows["days_past_due"]],
        "due": _days(rows["due_date"]),
        "invoiced": _days(rows["invoice_date"]),
        "paid": _days(rows["paid_date"]),
        "risk": _cents_or_none(rows["amount_at_risk"]),
        "industry": [None if pd.isna(v) else industries.index(str(v)) for v in rows["industry"]],
        "region": rows["region"].where(rows["region"].notna(), "").astype(str),
        "status": rows["payment_status"].where(rows["payment_status"].notna(), "").astype(str),
        "size": pd.to_numeric(rows["open_amount"], errors="coerce").fillna(0).abs(),
        "settled": pd.to_numeric(rows["amount"], errors="coerce").fillna(0).abs(),
    })  # fmt: skip
    fields = ["invoice_id", "customer", "open", "amount", "dpd", "due", "invoiced", "paid",
              "risk", "industry"]  # fmt: skip
    parts: dict[str, dict[str, list[list[Any]]]] = {}
    listed = []
    for (region, status), part in frame.groupby(["region", "status"], sort=True):
        weight = part["size"].where(part["size"] > 0, part["settled"])
        kept = (
            part.assign(_w=weight)
            .sort_values(["_w", "invoice_id"], ascending=[False, True], kind="stable")
            .head(max(0, max_rows))
        )
        who = list(zip(kept["customer_id"], kept["customer_name"], kept["groups"], strict=True))
        local = {k: i for i, k in enumerate(sorted(dict.fromkeys(who), key=str))}
        customers = [[cid, name, _page(links.get(cid), cid), bits] for cid, name, bits in local]
        kept = kept.assign(customer=[local[k] for k in who])
        name = f"{safe_slug(region or 'no-region')}-{safe_slug(_status_slug(status or 'none'))}.js"
        parts[name] = {
            "customers": customers,
            "rows": [
                [_value(v) for v in rec] for rec in kept[fields].itertuples(index=False, name=None)
            ],  # fmt: skip
        }
        listed.append({"file": name, "region": region, "status": status,
                       "rows": len(kept), "total": len(part)})  # fmt: skip
    order = {s: i for i, s in enumerate(statuses)}
    listed.sort(key=lambda p: (p["region"], order.get(p["status"], len(order))))
    cut = any(p["rows"] < p["total"] for p in listed)
    index = {
        "period": period,
        "as_of": None if as_of is None else str(as_of),
        "currency": currency,
        "columns": cols,
        "regions": regions,
        "industries": industries,
        "statuses": statuses,
        "parts": listed,
        "max_rows": max_rows,
        "totals": _view_totals(rows) if cut else None,
        "full": {r: f"invoices-{safe_slug(r)}.csv" for r in regions} if cut else None,
    }
    return index, parts


def _group_bits(over_limit: list[str], likely_late: list[str]) -> int:
    """A row's customer groups as bits: over its limit in All (1) and in the row's region (2),
    likely late in All (4) and in the row's region (8)."""
    bits = 0
    for scopes, shift in ((over_limit, 0), (likely_late, 2)):
        for scope in scopes:
            bits |= (1 if scope == ALL_REGIONS else 2) << shift
    return bits


def _page(link: str | None, customer_id: str) -> int | str:
    """A customer's page for the explorer: 0 none, 1 ``customers/<id>.html``, else the link."""
    if link is None:
        return 0
    return 1 if link == f"customers/{customer_id}.html" else link


def explorer_data_script(data: Mapping[str, Any]) -> str:
    """``explorer-data.js``: the index as a script (loaded by ``<script src>``: it works from a
    file opened directly, where fetching JSON would not)."""
    return (
        "window.arinsightExplorer = window.arinsightExplorer || {};\n"
        f"window.arinsightExplorer[{json_for_script(data['period'])}] = "
        f"{json_for_script(dict(data))};\n"
    )


def explorer_part_script(period: str, name: str, rows: list[list[Any]]) -> str:
    """One part of the explorer's rows as a script (``explorer-data/<region>-<status>.js``),
    added to the page by the explorer when a view needs it."""
    key = json_for_script(f"{period}/{name}")
    return (
        "window.arinsightExplorerParts = window.arinsightExplorerParts || {};\n"
        f"window.arinsightExplorerParts[{key}] = {json_for_script(rows)};\n"
    )


def full_csv(rows: pd.DataFrame) -> str:
    """Every explorer row of ``rows`` as CSV with the explorer's download columns (headers as
    shown, the customer ID last): amounts and days as numbers, dates ISO, text cells that a
    spreadsheet would run as a formula prefixed with an apostrophe. UTF-8 with a byte order
    mark is the caller's (``encoding="utf-8-sig"``)."""
    columns = [*EXPLORER_COLUMNS, ("customer_id", "Customer ID")]
    out = pd.DataFrame({label: rows[c] for c, label in columns})
    for c, label in columns:
        if c not in (*MONEY_COLUMNS, "days_past_due"):
            out[label] = out[label].map(
                lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v))
                else ("'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" and v else v)
            )  # fmt: skip
    return out.to_csv(index=False, lineterminator="\r\n")


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
        '<p class="ar-explorer-cut notice" hidden></p>'
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
        data, parts = explorer_data(
            rows,
            period.label,
            period.manifest.get("as_of"),
            currency_of(period),
            links,
            max_rows_of(period),
        )
        write_text(builder.project_dir / data_source, explorer_data_script(data))
        folder = builder.project_dir / posixpath.dirname(data_source) / EXPLORER_PARTS
        for name, part in parts.items():
            write_text(folder / name, explorer_part_script(period.label, name, part))
        for region, name in (data["full"] or {}).items():
            text = full_csv(rows[rows["region"] == region])
            (folder / name).write_text(text, encoding="utf-8-sig", newline="")
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
        context_bar(builder, source, period, None, "explorer")
        + lead
        + explorer_html(rows, period.label, data_src, base)
        + provenance_html(period, period.all, "invoice explorer")
    )
    builder.write(
        source,
        f"Invoice explorer: {month_name(period.label)}",
        [page(blocks, scripts_html(source, tables=True, datatables=True))],
        "explorer",
    )
