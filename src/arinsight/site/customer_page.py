"""The customer pages of a period: an index of every customer and one statement page each.

A customer page shows, as of T: the balance, overdue part, credit-limit use and risk in small
tiles; the statement (open invoices with due date, days past due and pending amount, with a total
equal to the pending balance); the customer's aging; the risk score with the reasons behind it;
the payment history of the last 12 months; the reminders sent (from the send log).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from arinsight import config
from arinsight import customers as cust
from arinsight.kpis import format_value
from arinsight.plots.tables import table_markup
from arinsight.site.html import esc, href, is_number, month_name, write_text
from arinsight.site.navigation import context_bar
from arinsight.site.paths import (
    CUSTOMER_FRAGMENTS,
    REGION_PAGES,
    currency_of,
    customer_slug,
    customer_source,
    customers_source,
    grace_days_of,
    late_days_of,
    region_source,
)
from arinsight.site.reports import PeriodReport
from arinsight.site.sections import (
    link_customers,
    page,
    provenance_html,
    scripts_html,
)
from arinsight.site.tiles import value_html

if TYPE_CHECKING:  # for the annotation only: pages imports this module
    from arinsight.site.pages import Builder


def _pct(value: Any, digits: int = 0) -> str:
    return f"{float(value):.{digits}f}%" if is_number(value) else "n/a"


def _fact(label: str, value: str, data: dict[str, Any] | None = None) -> str:
    attrs = "".join(f' data-{k}="{esc(v)}"' for k, v in (data or {}).items())
    return (
        f'<div class="cust-fact"{attrs}><div class="kpi-label">{esc(label)}</div>'
        f'<div class="kpi-value">{esc(value)}</div></div>'
    )


def money_fact(label: str, value: Any, currency: str, data: dict[str, Any] | None = None) -> str:
    """A money fact to the cent; from one million on short ("$12.35M"), exact in its tooltip
    (:func:`arinsight.site.tiles.value_html`)."""
    attrs = "".join(f' data-{k}="{esc(v)}"' for k, v in (data or {}).items())
    return (
        f'<div class="cust-fact"{attrs}><div class="kpi-label">{esc(label)}</div>'
        f"{value_html(value, 'money', currency, style='table')}</div>"
    )


def _text(value: Any) -> bool:
    """A non-empty text value (not None, NaN or blank)."""
    return isinstance(value, str) and value.strip() != ""


def _disputes(period: PeriodReport) -> dict[str, pd.DataFrame] | None:
    """The period's invoices in dispute by customer, from ``alerts/disputes.csv`` (written by
    ``arinsight alerts``); None when the alerts step has not published one."""
    path = period.folder / "alerts" / "disputes.csv"
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if frame.empty or "customer_id" not in frame.columns:
        return {}
    return {str(c): g for c, g in frame.groupby("customer_id", sort=False)}


def period_alerts(period: PeriodReport) -> dict[str, dict[str, Any]] | None:
    """What ``arinsight alerts`` did for each customer in the period, from
    ``reports/<period>/alerts/`` and the period's outbox: ``{customer_id: {"plan": the
    customer's row of dunning_plan.csv, "crossings": its invoices that crossed an overdue
    threshold in the period (overdue_crossings.csv), "message": "sent" | "written, not sent"
    | None for its reminder of the period}}``; None when the alerts step has not run for the
    period. A reminder is "sent" once the server took it (``outbox/sent/``); on a dry run, or
    while the server refuses it, it stays "written, not sent" in the outbox."""
    folder = period.folder / "alerts"
    plan_path = folder / "dunning_plan.csv"
    if not plan_path.is_file():
        return None
    plan = pd.read_csv(plan_path, dtype={"customer_id": str})
    crossings_path = folder / "overdue_crossings.csv"
    crossings = (
        pd.read_csv(crossings_path, dtype={"customer_id": str, "invoice_id": str})
        if crossings_path.is_file()
        else pd.DataFrame(columns=["customer_id"])
    )
    outbox = period.folder / "outbox"
    out: dict[str, dict[str, Any]] = {}
    for row in plan.to_dict("records"):
        cid = str(row["customer_id"])
        stem = f"reminder_{period.label}_{cid}_{int(row['level'])}.eml"
        message = None
        if row.get("action") in ("send", "done"):
            if (outbox / "sent" / stem).is_file() or row.get("action") == "done":
                message = "sent"
            elif (outbox / stem).is_file():
                message = "written, not sent"
        out[cid] = {"plan": row, "crossings": None, "message": message}
    for cid, group in crossings.groupby("customer_id", sort=False):
        out.setdefault(str(cid), {"plan": None, "crossings": None, "message": None})
        out[str(cid)]["crossings"] = group
    return out


def alerts_html(alerts: dict[str, Any] | None, period_label: str, currency: str) -> str:
    """The customer's reminders and alerts of the period (:func:`period_alerts`): the
    dunning step (sent, due, waiting or call) and the invoices that crossed an overdue
    threshold; empty when the alerts step has nothing for this customer."""
    from arinsight.site.briefing import plan_action

    if not alerts:
        return ""
    parts = []
    plan = alerts.get("plan")
    if plan is not None:
        status = alerts.get("message")
        level = int(plan["level"])
        if status == "sent":
            what = f"Reminder level {level} sent for {month_name(period_label)}"
        elif status == "written, not sent":
            what = (
                f"Reminder level {level} written for {month_name(period_label)}, not sent "
                "(a dry run, or the mail server refused it: it waits in the outbox)"
            )
        else:
            what = plan_action(plan)
        parts.append(
            f'<p class="cust-dunning" data-action="{esc(plan.get("action"))}" '
            f'data-level="{level}"><strong>{esc(what)}</strong>'
            + (f"; {esc(plan.get('reason'))}" if _text(plan.get("reason")) else "")
            + f" ({esc(str(plan.get('invoice_ids') or '').replace(';', ','))}).</p>"
        )
    crossings = alerts.get("crossings")
    if crossings is not None and len(crossings):
        cols = [c for c in ("invoice_id", "due_date", "open_amount", "days_past_due", "level")
                if c in crossings.columns]  # fmt: skip
        parts.append(
            "<p>Invoices that crossed an overdue threshold in the period:</p>"
            + table_markup(
                crossings[cols],
                money_columns=["open_amount"] if "open_amount" in cols else [],
                currency=currency,
                max_rows=None,
                labels={"level": "Threshold crossed (days)"},
            )
        )
    return "".join(parts)


def broken_lately(promises: pd.DataFrame | None, as_of: Any) -> pd.DataFrame | None:
    """The promises of one customer broken in the 90 days up to T (None without any)."""
    return None if promises is None or promises.empty else cust.broken_lately(promises, as_of)


def promises_section(promises: pd.DataFrame | None, currency: str) -> str:
    """The customer's promises to pay (due in the last 12 months, or still pending) with what
    was paid for each and whether it was kept; empty when the customer made none."""
    if promises is None or promises.empty:
        return ""
    rows = promises.drop(columns=["customer_id"]).assign(
        made_date=lambda f: pd.to_datetime(f["made_date"]).dt.strftime("%Y-%m-%d"),
        promised_date=lambda f: pd.to_datetime(f["promised_date"]).dt.strftime("%Y-%m-%d"),
    )
    broken = int((rows["status"] == "broken").sum())
    table = table_markup(
        rows,
        money_columns=["amount", "paid"],
        currency=currency,
        max_rows=None,
        labels={"amount": "Promised", "paid": "Paid for it"},
    )
    note = f" ({broken} broken)" if broken else ""
    return f'<section class="ar-section"><h2>Promises to pay{note}</h2>{table}</section>'


def contact_html(
    row: Any, disputes: pd.DataFrame | None, broken: pd.DataFrame | None = None
) -> str:
    """The customer's contact line: its contact e-mail, its sales rep (name and ID), its
    invoices in dispute (with reason and date) and the promises to pay it broke in the last 90
    days (``broken``: :func:`arinsight.customers.broken_lately`), each only when the data has
    it; empty when it has none of them (an absent attribute is left out, never shown as
    "nan")."""
    parts = []
    email = getattr(row, "contact_email", None)
    if _text(email):
        parts.append(f'Contact <a href="mailto:{esc(email.strip())}">{esc(email.strip())}</a>')
    rep_id, rep = getattr(row, "sales_rep_id", None), getattr(row, "sales_rep_name", None)
    if _text(rep) or _text(rep_id):
        who = esc(rep) if _text(rep) else ""
        ident = esc(rep_id) if _text(rep_id) else ""
        parts.append("Sales rep " + (f"{who} ({ident})" if who and ident else who or ident))
    if disputes is not None and len(disputes):
        listed = (
            ", ".join(
                esc(r.invoice_id)
                + (f" ({esc(r.reason)}" if _text(r.reason) else " (")
                + (f", since {esc(r.opened_date)}" if _text(r.opened_date) else "")
                + ")"
                for r in disputes.itertuples()
            )
            .replace(" ()", "")
            .replace("(, ", "(")
        )
        n = len(disputes)
        parts.append(f'<span class="ar-dispute">⚑ In dispute (no reminders): {n} '
                     f'invoice{"s" if n > 1 else ""}, {listed}</span>')  # fmt: skip
    if broken is not None and len(broken):
        n = len(broken)
        last = pd.Timestamp(broken["promised_date"].max()).strftime("%Y-%m-%d")
        parts.append(f'<span class="ar-dispute">⚑ Broke {n} promise{"s" if n > 1 else ""} to '
                     f"pay in the last 90 days (latest due {esc(last)}): first in the "
                     "collections worklist</span>")  # fmt: skip
    if not parts:
        return ""
    return '<p class="cust-contact">' + " · ".join(parts) + "</p>"


def customer_fragments(
    builder: Builder, period: PeriodReport, data: dict[str, pd.DataFrame], index_source: str
) -> tuple[str, dict[str, tuple[str, str]]]:
    """(body of the customer index, {customer_id: (title, body)}) for one period."""
    from arinsight.risk import customer_risk

    currency = currency_of(period)
    late_days = late_days_of(period)
    positions = data["positions"].copy()
    positions["customer_id"] = positions["customer_id"].astype(str)
    scores = data["scores"]
    risk = customer_risk(scores) if len(scores) else None
    summary = cust.customer_summary(positions, data["customers"], risk, late_days)
    everyone = len(summary)
    chosen = builder.customer_ids.get(period.label)
    if chosen is not None and len(chosen) < everyone:  # the portfolio figures stay everyone's
        everyone_summary = summary
        positions = positions.loc[positions["customer_id"].isin(chosen)]
        summary = summary.loc[summary["customer_id"].isin(chosen)].reset_index(drop=True)
    else:
        everyone_summary = summary
    items = cust.open_items(positions)
    aging = cust.customer_aging(positions).set_index("customer_id")
    payments = (
        cust.payment_history(data["payments"], period.manifest.get("as_of") or period.label)
        if len(data["payments"])
        else pd.DataFrame(columns=cust.PAYMENT_COLUMNS)
    )
    disputes_by = _disputes(period)
    alerts_by = period_alerts(period)
    as_of = period.manifest.get("as_of") or period.label
    promised = cust.customer_promises(
        data.get("promises"), data["payments"], as_of, grace_days_of(period)
    )
    log = cust.read_reminders((builder.reports_dir or config.REPORTS_DIR) / "notify_log.jsonl")
    log = log.loc[log["period"].astype(str) <= period.label] if len(log) else log
    ids = summary["customer_id"].astype(str).tolist()
    items_by = cust.group_by_customer(items, ids)
    pays_by = cust.group_by_customer(
        payments.assign(customer_id=payments["customer_id"].astype(str)), ids
    )
    log_by = cust.group_by_customer(log, ids) if len(log) else {}
    promises_by = cust.group_by_customer(promised, ids) if len(promised) else {}
    settled = everyone_summary["invoices_settled"].sum()
    portfolio = {
        "paid_late_pct": (
            float(
                (everyone_summary["paid_late_pct"] * everyone_summary["invoices_settled"]).sum()
                / settled
            )
            if settled
            else None
        ),
    }
    region_dirs = {r.name: r for r in period.regions}

    # -- the index -----------------------------------------------------------------------
    # the name and the amounts first: on a phone (390 px) they are what fits
    index_cols = ["customer_name", "open_amount", "overdue_amount", "region", "credit_use_pct",
                  "risk_share", "customer_id"]  # fmt: skip
    index_table = table_markup(
        summary[[c for c in index_cols if c in summary.columns]],
        money_columns=["open_amount", "overdue_amount"],
        percent_columns=["credit_use_pct"],
        share_columns=["risk_share"],
        currency=currency,
        max_rows=None,
        totals=["open_amount", "overdue_amount"],
        labels={"credit_use_pct": "Credit limit used"},
    )
    # the index sorts, searches and filters by region in the browser (arinsight.js)
    index_table = index_table.replace(
        '<table class="ar-table">',
        '<table class="ar-table ar-sortable" id="customer_index" data-filter-column="Region">',
        1,
    )
    resolve_index = builder.resolver(index_source, period.label)
    index_body = (
        context_bar(builder, index_source, period, None, "customers")
        + (
            f"<p>Every customer with an invoice up to {esc(period.manifest.get('as_of'))}, the "
            "largest balances first. Search, filter by region or click a column to sort; click "
            "a customer for its statement.</p>"
            if len(summary) >= everyone
            else f"<p>The {len(summary):,} customers (of {everyone:,}) with the largest open "
            f"balances at {esc(period.manifest.get('as_of'))} and every customer a page names, "
            "the largest balances first. Search, filter by region or click a column to sort; "
            "click a customer for its statement; find any other "
            "customer's invoices in the invoice explorer.</p>"
        )
        + link_customers(index_table, resolve_index)
        + provenance_html(period, period.all)
    )

    # -- one page per customer -------------------------------------------------------------
    pages: dict[str, tuple[str, str]] = {}
    for row in summary.itertuples(index=False):
        cid = str(row.customer_id)
        source = customer_source(period.label, cid)
        name = (
            row.customer_name if isinstance(row.customer_name, str) and row.customer_name else cid
        )
        region = region_dirs.get(row.region) if isinstance(row.region, str) else None
        region_link = (
            f'<a href="{esc(href(source, region_source(period.label, region, REGION_PAGES[0][0])))}">'
            f"{esc(row.region)}</a>"
            if region is not None and region.has(REGION_PAGES[0][1])
            else esc(row.region)
        )
        facts = [
            money_fact("Pending balance", row.open_amount, currency,
                        {"pending": f"{row.open_amount:.2f}"}),
            money_fact("Overdue", row.overdue_amount, currency),
            _fact("Credit limit used", _pct(row.credit_use_pct)
                  + (f" of {format_value(row.credit_limit, 'money', currency, style='short')}"
                     if is_number(row.credit_limit) else "")),
            money_fact("Amount at risk", row.expected_overdue, currency)
            if is_number(row.expected_overdue) else _fact("Amount at risk", "n/a"),
            _fact("P(late), invoices not yet late", _pct(
                row.pending_risk * 100 if is_number(row.pending_risk) else None)),
        ]  # fmt: skip
        known = [  # an attribute the data does not have is left out, never shown as "nan"
            f"Region {region_link}" if _text(row.region) else "",
            esc(row.industry) if _text(row.industry) else "",
            esc(row.customer_type) if _text(row.customer_type) else "",
            f"payment terms {int(row.payment_terms_days)} days"
            if is_number(getattr(row, "payment_terms_days", None)) else "",
        ]  # fmt: skip
        head = (
            f'<p class="cust-meta">Customer ID {esc(cid)}'
            + "".join(f" · {part}" for part in known if part)
            + f" · as of {esc(period.manifest.get('as_of'))}</p>"
            + contact_html(
                row, (disputes_by or {}).get(cid), broken_lately(promises_by.get(cid), as_of)
            )
        )
        lines = items_by[cid].drop(columns=["customer_id"])
        own = cust.DOCUMENT_COLUMNS
        foreign = "currency" in lines and bool(
            (lines["currency"].fillna(currency) != currency).any()
        )
        if not foreign:  # billed in the reporting currency: the document columns repeat it
            lines = lines.drop(columns=[c for c in own if c in lines])
        # credit notes and write-offs: shown when one of the customer's open lines has some
        unused = [c for c in cust.ADJUSTMENT_COLUMNS if c in lines and not lines[c].any()]
        lines = lines.drop(columns=unused)
        money = ["amount", "paid_to_date", "credited", "written_off", "open_amount"]
        statement = (
            f"<p>Nothing open at {esc(period.manifest.get('as_of'))}.</p>"
            if lines.empty
            else table_markup(
                lines,
                money_columns=[c for c in money if c in lines],
                currency=currency,
                max_rows=None,
                totals=["open_amount"],
                number_decimals=2,
                labels={
                    "open_amount": f"Pending amount ({currency})",
                    "amount": f"Amount ({currency})",
                    "paid_to_date": f"Paid to date ({currency})",
                    "credited": f"Credited ({currency})",
                    "written_off": f"Written off ({currency})",
                    "amount_doc": "Amount (invoice currency)",
                    "open_amount_doc": "Pending (invoice currency)",
                }
                if foreign
                else {"open_amount": "Pending amount", "written_off": "Written off"},
            )
        )
        ages = aging.loc[[cid]] if cid in aging.index else None
        aging_html = (
            table_markup(
                ages.reset_index(drop=True),
                money_columns=list(ages.columns),
                currency=currency,
                max_rows=None,
            )  # fmt: skip
            if ages is not None
            else "<p>Nothing open.</p>"
        )
        reasons = cust.risk_reasons(row._asdict(), portfolio, late_days)
        risk_html = (
            f"<p>Share of the open balance expected to be paid late: "
            f"<strong>{_pct(row.risk_share * 100 if is_number(row.risk_share) else None)}</strong>"
            f"; probability of late payment of the invoices not yet late: "
            f"<strong>{_pct(row.pending_risk * 100 if is_number(row.pending_risk) else None)}"
            "</strong>.</p>"
            if is_number(row.risk_share)
            else "<p>No open invoice was scored for this customer.</p>"
        )
        risk_html += "<ul>" + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>"
        pays = pays_by[cid].drop(columns=["customer_id"])
        pays_html = table_markup(
            pays, money_columns=["amount"], currency=currency, max_rows=None, totals=["amount"]
        ) if len(pays) else "<p>No payment in the last 12 months.</p>"  # fmt: skip
        promises_html = promises_section(promises_by.get(cid), currency) if promises_by else ""
        sent = log_by.get(cid) if log_by else None
        this_period = alerts_html((alerts_by or {}).get(cid), period.label, currency)
        reminders_html = this_period + (
            "<p>Reminders in the send log up to this period:</p>"
            + table_markup(sent.drop(columns=["customer_id"]), max_rows=None)
            if sent is not None and len(sent)
            else "<p>No reminder in the send log up to this period.</p>"
        )
        if alerts_by is None:
            reminders_html += (
                "<p>The alerts step (arinsight alerts) has not run for this period.</p>"
            )
        elif not this_period:
            reminders_html += "<p>No reminder or alert for this customer this period.</p>"
        body = (
            context_bar(builder, source, period, None, "customers", cid)
            + head
            + f'<section class="cust-facts">{"".join(facts)}</section>'
            + '<section class="ar-section statement" data-customer="'
            + esc(cid)
            + '">'
            + f"<h2>Statement: open invoices at {esc(period.manifest.get('as_of'))}</h2>"
            + statement
            + "</section>"
            + f'<section class="ar-section"><h2>Aging</h2>{aging_html}</section>'
            + f'<section class="ar-section"><h2>Risk</h2>{risk_html}</section>'
            + promises_html
            + f'<details class="ar-detail"{" open" if len(pays) <= LONG_LIST else ""}>'
            f"<summary>Payments, last 12 months ({len(pays):,})</summary>{pays_html}</details>"
            + f'<details class="ar-detail cust-reminders"{" open" if this_period else ""}>'
            f"<summary>Reminders and alerts</summary>{reminders_html}</details>"
        )
        pages[cid] = (f"{name}: {month_name(period.label)}", body)
    return index_body, pages


#: A customer page's list longer than this starts collapsed (its summary gives the count).
LONG_LIST = 10

#: How many customers get a page per period when the run's params do not say
#: (``site: {customer_pages: N}``): the largest open balances at T, plus every customer a
#: region's kpis.json names (top pending customers, high-risk customers).
DEFAULT_CUSTOMER_PAGES = 2000


def customers_with_pages(positions: pd.DataFrame, period: PeriodReport) -> set[str]:
    """The customers of ``positions`` (the invoices at T) that get a page: all of them when they
    are at most ``site.customer_pages`` (default :data:`DEFAULT_CUSTOMER_PAGES`), else that
    many with the largest open balance at T (ties by id) and every customer named in a
    region's kpis.json. The others are found through the invoice explorer, so a ledger of
    33,000 customers does not build 33,000 pages a period."""
    if positions.empty:
        return set()
    ids = positions["customer_id"].astype(str)
    site_params = (period.manifest.get("params") or {}).get("site") or {}
    limit = int(site_params.get("customer_pages") or DEFAULT_CUSTOMER_PAGES)
    if ids.nunique() <= limit:
        return set(ids)
    open_by = (
        pd.to_numeric(positions["open_amount"], errors="coerce").fillna(0.0).groupby(ids).sum()
    )
    ranked = open_by.reset_index(name="open").rename(columns={"index": "customer_id"})
    ranked.columns = ["customer_id", "open"]
    ranked = ranked.sort_values(["open", "customer_id"], ascending=[False, True], kind="stable")
    chosen = set(ranked["customer_id"].head(limit))
    for region in period.regions:
        k = region.kpis or {}
        chosen |= {str(c.get("customer_id")) for c in k.get("top_pending_customers") or []}
        chosen |= {str(c) for c in k.get("high_risk_customers") or []}
    return chosen & set(ids)


def customer_pages(builder: Builder, period: PeriodReport) -> None:
    """The period's customer index (a page source) and one page fragment per customer,
    turned into pages by the post-render step (same chrome as the index)."""
    data = builder.data(period)
    if data["positions"].empty:
        return
    source = customers_source(period.label)
    index_body, fragments = customer_fragments(builder, period, data, source)
    index_scripts = scripts_html(source, tables=True, datatables=True)
    builder.write(
        source,
        f"Customers: {month_name(period.label)}",
        [page(index_body, index_scripts)],
        "customers",
    )
    scripts = scripts_html(source, tables=True)  # the pages share the index's folder
    folder = builder.project_dir / Path(source).parent / CUSTOMER_FRAGMENTS
    folder.mkdir(parents=True, exist_ok=True)
    for cid, (title, body) in fragments.items():
        frag = {"title": title, "body": page(body, scripts)}
        write_text(folder / f"{customer_slug(cid)}.json", json.dumps(frag, sort_keys=True))
