"""Automation: overdue alerts, reminder e-mails, the monthly summary e-mail and the schedule.

Three commands sit on this module (docs/automation.md explains them for users):

- ``arinsight alerts --period P``: the invoices that crossed an overdue threshold in P, grouped per
  customer into a collections worklist (CSV + Excel) and one reminder e-mail per customer contact.
- ``arinsight email-report --period P``: the monthly summary e-mail to the stakeholders (KPI cards
  with their change, top overdue customers, high-risk customers, a link to the site, the KPI
  table attached as CSV).
- ``arinsight monthly [--period P]``: ``run`` + ``alerts`` + ``email-report`` for the previous
  calendar month, for cron, systemd timers and CI.

"Crossed a threshold in P" is defined by the period alone, so a re-run gives the same list: with
T the last day of P and T' the last day of the period before (T' = first day of P - 1 day), an
open invoice crosses threshold k when ``days_past_due(T) >= k`` and ``days_past_due(T') < k``,
where ``days_past_due(T') = days_past_due(T) - (T - T')``. Its reminder level is the highest
threshold crossed. Skipping a month's run skips that month's crossings: run the missed period.

Mail goes out through SMTP with settings from the environment only (``ARINSIGHT_SMTP_*``,
``ARINSIGHT_MAIL_FROM``; never in params or git). Every message is first written to
``reports/<period>/outbox/<name>.eml``; it moves to ``outbox/sent/`` only after the server accepted
it, and a line in the send log (``reports/notify_log.jsonl``) records its key (kind, period,
customer, level), so an unreachable server loses nothing and a re-run sends no duplicates unless
forced. ``--dry-run`` writes the .eml files and sends nothing.

Templates are Jinja2 files in ``arinsight/templates`` (user copies in ``email.template_dir`` win);
HTML templates autoescape every value, so data such as a customer named ``<b>x</b>`` shows as text.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import json
import math
import os
import re
import smtplib
import ssl
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight import config, dunning
from arinsight.dunning import CompanyProfile
from arinsight.errors import ParamsError, UserError
from arinsight.files import csv_text, write_csv, write_excel
from arinsight.kpis import format_value
from arinsight.ledger import ALL_REGIONS, Period, load_processed, period_bounds
from arinsight.receivables import KPI_LABELS, KPI_UNITS

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
SECURITY_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
DRY_RUN_FROM = "arinsight@localhost"
ENV_HOST = "ARINSIGHT_SMTP_HOST"
ENV_PORT = "ARINSIGHT_SMTP_PORT"
ENV_SECURITY = "ARINSIGHT_SMTP_SECURITY"
ENV_USER = "ARINSIGHT_SMTP_USER"
ENV_PASSWORD = "ARINSIGHT_SMTP_PASSWORD"
ENV_FROM = "ARINSIGHT_MAIL_FROM"
ENV_CAFILE = "ARINSIGHT_SMTP_CAFILE"
ENV_TIMEOUT = "ARINSIGHT_SMTP_TIMEOUT"

KEY_HEADER = "X-Arinsight-Key"
#: Header lines up to RFC 5322's hard limit: the stdlib folder otherwise moves a subject that
#: starts with "[" to a continuation line, which readers then show with a leading space.
_POLICY = policy.default.clone(max_line_length=998)
DEFAULT_THRESHOLDS = (1, 30, 60, 90)
POSITION_COLUMNS = ("invoice_id", "customer_id", "due_date", "open_amount", "days_past_due")

GOOD, BAD, NEUTRAL = "#3a9d5d", "#c0392b", "#7f8c8d"  # as arinsight.plots._style
ARROWS = {"up": "\u25b2", "down": "\u25bc", "flat": "\u25b6"}

#: The KPI cards of the summary e-mail, in display order (three per row).
KPI_CARDS = (
    "open_ar",
    "overdue_ar",
    "dso",
    "credit_sales",
    "collections",
    "cei",
    "average_days_delinquent",
    "payment_completion_rate_amount",
    "overdue_invoices",
)
_NOT_KPIS = ("comparison", "period", "region", "as_of", "late_days", "random_seed")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class NotifyError(UserError):
    """Mail cannot be composed or sent (bad SMTP settings, server unreachable, login refused)."""


# --------------------------------------------------------------------------------------------
# Alerts: crossings and the collections worklist (DataFrames in, DataFrames out)
# --------------------------------------------------------------------------------------------


def overdue_crossings(
    positions: pd.DataFrame,
    period: str | Period,
    thresholds: Iterable[int] = DEFAULT_THRESHOLDS,
) -> pd.DataFrame:
    """The open invoices that crossed an overdue threshold during ``period``, one row per invoice.

    With T the period's last day and T' the last day before the period,
    ``days_past_due(T') = days_past_due(T) - (T - T')`` (the due date does not move). Threshold k
    is crossed when ``days_past_due(T) >= k > days_past_due(T')`` and the invoice is still open
    (``open_amount > 0``) at T. ``level`` is the highest threshold crossed (an invoice 31 days
    past due at the end of a 31-day month crosses 1 and 30: level 30).

    ``positions`` is the as-of table of :func:`arinsight.receivables.invoice_positions` at T
    (needs invoice_id, customer_id, due_date, open_amount, days_past_due). Returns those columns
    (plus invoice_date and amount when present), ``days_past_due_previous`` and ``level``, sorted
    by customer, due date and invoice.
    """
    p = period_bounds(period) if isinstance(period, str) else period
    th = _thresholds(thresholds)
    _require_columns(positions, POSITION_COLUMNS, "positions")
    keep = [
        c
        for c in (
            "invoice_id",
            "customer_id",
            "invoice_date",
            "due_date",
            "amount",
            "open_amount",
            "days_past_due",
        )
        if c in positions.columns
    ]
    dpd_all = pd.to_numeric(positions["days_past_due"], errors="coerce")
    is_open = (
        (pd.to_numeric(positions["open_amount"], errors="coerce") > 0) & dpd_all.notna()
    ).to_numpy()
    frame = positions.loc[is_open, keep].copy()
    dpd = dpd_all[is_open].to_numpy(dtype=float)
    previous = dpd - p.days
    crossed = (dpd[:, None] >= th[None, :]) & (previous[:, None] < th[None, :])
    hit = crossed.any(axis=1)
    highest = len(th) - 1 - np.argmax(crossed[:, ::-1], axis=1)
    out = frame.loc[hit].copy()
    out["days_past_due"] = dpd[hit].astype("int64")
    out["days_past_due_previous"] = previous[hit].astype("int64")
    out["level"] = th[highest[hit]]
    out["customer_id"] = out["customer_id"].astype(str)
    return out.sort_values(["customer_id", "due_date", "invoice_id"], kind="mergesort").reset_index(
        drop=True
    )


def collections_worklist(
    positions: pd.DataFrame,
    crossings: pd.DataFrame,
    customers: pd.DataFrame,
    risk_scores: pd.DataFrame | None = None,
    templates: Mapping[Any, str] | None = None,
) -> pd.DataFrame:
    """One row per customer with an invoice in ``crossings``, ordered for the collections team.

    Per customer: ``level`` = highest level crossed; ``crossed_invoices`` / ``crossed_amount`` =
    count and open amount of the crossing invoices; ``overdue_invoices`` / ``overdue_amount`` /
    ``max_days_past_due`` over all the customer's open invoices past due at T;
    ``amount_x_days`` = sum(open_amount x days_past_due) over those overdue invoices;
    ``expected_loss`` = sum of ``expected_overdue`` of the customer's invoices in ``risk_scores``
    (null without risk scores or without a scored invoice).

    Order (``rank`` 1..n): by expected_loss, largest first, when ``risk_scores`` is given
    (``priority_basis`` = "expected_loss"; customers without a score come last), else by
    amount_x_days (``priority_basis`` = "amount_x_days"); ties by amount_x_days, then customer_id.
    ``email_to`` holds the valid addresses of the customer's ``contact_email`` ("; "-separated);
    ``reminder`` names the template of the level, or says why no e-mail can be sent.
    """
    _require_columns(positions, POSITION_COLUMNS, "positions")
    _require_columns(crossings, ("invoice_id", "customer_id", "open_amount", "level"), "crossings")
    _require_columns(customers, ("customer_id",), "customers")
    columns = [
        "rank",
        "customer_id",
        "customer_name",
        "email_to",
        "level",
        "reminder",
        "crossed_invoices",
        "crossed_amount",
        "crossed_invoice_ids",
        "overdue_invoices",
        "overdue_amount",
        "max_days_past_due",
        "amount_x_days",
        "expected_loss",
        "priority_basis",
    ]
    if crossings.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    cross = crossings.assign(customer_id=crossings["customer_id"].astype(str))
    per = cross.groupby("customer_id", sort=True).agg(
        level=("level", "max"),
        crossed_invoices=("invoice_id", "size"),
        crossed_amount=("open_amount", "sum"),
        crossed_invoice_ids=("invoice_id", lambda s: "; ".join(sorted(map(str, s)))),
    )
    overdue = _overdue(positions)
    overdue = overdue.assign(_amount_x_days=overdue["open_amount"] * overdue["days_past_due"])
    agg = overdue.groupby("customer_id", sort=True).agg(
        overdue_invoices=("invoice_id", "size"),
        overdue_amount=("open_amount", "sum"),
        max_days_past_due=("days_past_due", "max"),
        amount_x_days=("_amount_x_days", "sum"),
    )
    out = per.join(agg, how="left")
    if risk_scores is not None:
        _require_columns(risk_scores, ("customer_id", "expected_overdue"), "risk_scores")
        loss = (
            risk_scores.assign(customer_id=risk_scores["customer_id"].astype(str))
            .groupby("customer_id")["expected_overdue"]
            .sum(min_count=1)
        )
        out["expected_loss"] = loss.reindex(out.index)
        basis = "expected_loss"
    else:
        out["expected_loss"] = np.nan
        basis = "amount_x_days"
    out = out.reset_index()
    names = _customer_lookup(customers)
    out = out.merge(names, on="customer_id", how="left")
    out["customer_name"] = out["customer_name"].where(
        out["customer_name"].notna(), out["customer_id"]
    )
    out["email_to"] = out["contact_email"].map(lambda v: "; ".join(parse_addresses(v)))
    if templates is not None:
        mapping = _template_map(templates, out["level"].unique())
        out["reminder"] = out["level"].map(mapping)
    else:
        out["reminder"] = ""
    no_mail = out["email_to"] == ""
    out.loc[no_mail, "reminder"] = np.where(
        out.loc[no_mail, "contact_email"].isna(), "no contact e-mail", "invalid contact e-mail"
    )
    out["priority_basis"] = basis
    sort_cols = (["expected_loss"] if basis == "expected_loss" else []) + [
        "amount_x_days",
        "customer_id",
    ]
    ascending = [False] * (len(sort_cols) - 1) + [True]
    out = out.sort_values(sort_cols, ascending=ascending, na_position="last", kind="mergesort")
    out["rank"] = np.arange(1, len(out) + 1)
    for col in ("crossed_amount", "overdue_amount", "amount_x_days", "expected_loss"):
        out[col] = out[col].astype(float).round(2)
    for col in ("level", "crossed_invoices", "overdue_invoices", "max_days_past_due"):
        out[col] = out[col].astype("int64")
    return out[columns].reset_index(drop=True)


def top_overdue_customers(
    positions: pd.DataFrame, customers: pd.DataFrame, top_n: int = 10
) -> pd.DataFrame:
    """The ``top_n`` customers with the largest overdue balance at T.

    overdue_amount = sum of open_amount over the customer's invoices with days_past_due >= 1;
    also the number of those invoices and the oldest days past due. Ties by customer_id.
    """
    _require_columns(positions, POSITION_COLUMNS, "positions")
    if int(top_n) < 1:
        raise ParamsError(f"top_n must be >= 1, got {top_n}")
    overdue = _overdue(positions)
    agg = (
        overdue.groupby("customer_id", sort=True)
        .agg(
            overdue_amount=("open_amount", "sum"),
            overdue_invoices=("invoice_id", "size"),
            max_days_past_due=("days_past_due", "max"),
        )
        .reset_index()
    )
    agg = agg.sort_values(
        ["overdue_amount", "customer_id"], ascending=[False, True], kind="mergesort"
    ).head(int(top_n))
    agg = agg.merge(_customer_lookup(customers), on="customer_id", how="left")
    agg["customer_name"] = agg["customer_name"].where(
        agg["customer_name"].notna(), agg["customer_id"]
    )
    agg["overdue_amount"] = agg["overdue_amount"].round(2)
    cols = [
        "customer_id",
        "customer_name",
        "overdue_amount",
        "overdue_invoices",
        "max_days_past_due",
    ]
    return agg[cols].reset_index(drop=True)


def high_risk_customers(
    kpis: Mapping[str, Any],
    risk_scores: pd.DataFrame | None,
    customers: pd.DataFrame,
    top_n: int = 20,
) -> pd.DataFrame:
    """The high-risk customers of the period with their risk figures.

    The list is ``kpis["high_risk_customers"]`` in its order (the risk notebook's ranking); when
    kpis.json has no such key, the ``top_n`` customers by expected overdue amount in
    ``risk_scores``. Per customer: expected_overdue = sum of the invoices' expected overdue amount,
    open_amount = sum of open amounts, max_probability = highest probability_late (null without
    risk scores).
    """
    _require_columns(customers, ("customer_id",), "customers")
    ids = kpis.get("high_risk_customers")
    if ids is not None and not isinstance(ids, list | tuple):
        raise ParamsError(f"kpis['high_risk_customers'] must be a list, got {type(ids).__name__}")
    cols = ["customer_id", "customer_name", "expected_overdue", "open_amount", "max_probability"]
    if risk_scores is not None and not risk_scores.empty:
        _require_columns(
            risk_scores,
            ("customer_id", "open_amount", "probability_late", "expected_overdue"),
            "risk_scores",
        )
        per = (
            risk_scores.assign(customer_id=risk_scores["customer_id"].astype(str))
            .groupby("customer_id")
            .agg(
                expected_overdue=("expected_overdue", "sum"),
                open_amount=("open_amount", "sum"),
                max_probability=("probability_late", "max"),
            )
        )
    else:
        per = pd.DataFrame(
            columns=["expected_overdue", "open_amount", "max_probability"], dtype=float
        )
    if ids is None:
        order = per.sort_values("expected_overdue", ascending=False, kind="mergesort")
        ids = list(order.index[: int(top_n)])
    out = pd.DataFrame({"customer_id": [str(i) for i in ids]})
    out = out.join(per, on="customer_id").merge(
        _customer_lookup(customers), on="customer_id", how="left"
    )
    out["customer_name"] = out["customer_name"].where(
        out["customer_name"].notna(), out["customer_id"]
    )
    return out[cols].reset_index(drop=True)


def kpi_table(kpis: Mapping[str, Any]) -> pd.DataFrame:
    """The numeric KPIs of a kpis.json as a table: one row per KPI, with its comparison.

    Columns: kpi, label, unit, value, previous, change, direction, assessment. ``change`` is taken
    from ``kpis["comparison"]``; without it, change = value - previous when both exist. Aging
    buckets appear as ``aging[<bucket>]``. Known KPIs come first in DESIGN order, others sorted.
    Non-numeric entries (period, region, lists) are left out; null values stay null.
    """
    if not isinstance(kpis, Mapping):
        raise ParamsError(f"kpis must be a mapping, got {type(kpis).__name__}")
    comparison = kpis.get("comparison") or {}
    rows = []
    known = [k for k in KPI_UNITS if k in kpis]
    extra = sorted(
        k
        for k, v in kpis.items()
        if k not in KPI_UNITS and (v is None or _is_number(v)) and k not in _NOT_KPIS
    )
    for key in known + extra:
        value = kpis[key]
        if isinstance(value, list | tuple):  # e.g. customers over credit limit given as a list
            value = len(value)
        if value is not None and not _is_number(value):
            continue
        rows.append(_kpi_row(key, value, comparison.get(key) or {}))
    for bucket, value in (kpis.get("aging") or {}).items():
        key = f"aging[{bucket}]"
        rows.append(_kpi_row(key, value, comparison.get(key) or {}, f"Aging {bucket}", "money"))
    cols = ["kpi", "label", "unit", "value", "previous", "change", "direction", "assessment"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------------------------
# Composing messages
# --------------------------------------------------------------------------------------------


def template_environment(template_dir: str | os.PathLike[str] | None = None):
    """A Jinja2 environment over ``template_dir`` (user copies, searched first) + the package's.

    ``.html`` templates autoescape every value; ``.txt`` templates do not (plain text). Unknown
    variables are errors (StrictUndefined), so a typo in an edited template fails loudly.
    """
    import jinja2

    loaders = []
    if template_dir:
        folder = config.resolve_path(template_dir)
        if folder is None or not folder.is_dir():
            raise ParamsError(f"email.template_dir {template_dir!r}: folder not found")
        loaders.append(jinja2.FileSystemLoader(str(folder)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATES_DIR)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm"), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def compose_reminder(
    customer: Mapping[str, Any],
    invoices: pd.DataFrame,
    *,
    period: str | Period,
    level: int,
    template: str,
    mail_from: str,
    currency: str = "USD",
    sender_name: str = "Accounts Receivable",
    reply_to: str | None = None,
    cc: Sequence[str] = (),
    env=None,
    profile: CompanyProfile | None = None,
    statement: Sequence[Mapping[str, str]] | None = None,
    statement_total: str | None = None,
    threshold_days: int | None = None,
) -> EmailMessage:
    """One reminder e-mail to one customer contact: text + HTML alternative (+ statement).

    ``customer`` has customer_id, customer_name and email_to ("; "-separated addresses);
    ``invoices`` are the customer's overdue open invoices at T (invoice_id, due_date,
    open_amount, days_past_due; invoice_date and amount optional), listed by due date with
    total_overdue = sum(open_amount), each with its pay link. ``profile`` (the company profile,
    :func:`arinsight.dunning.company_profile`) signs the e-mail, gives the contact and bank
    details and the locale of dates and money (without it: ``sender_name`` and en_US).
    ``statement`` (rows of :func:`arinsight.dunning.statement_rows`, every open invoice, with
    ``statement_total``) is attached as ``statement_<customer>_<period>.html``. ``template`` names ``<template>.subject.txt``,
    ``<template>.txt`` and ``<template>.html``; ``level`` is the step of the dunning sequence,
    ``threshold_days`` the days past due it needs. The key header makes the message idempotent:
    ``reminder:<period>:<customer_id>:<level>``; the level and the invoice ids are recorded in
    the send log.
    """
    p = period_bounds(period) if isinstance(period, str) else period
    to = parse_addresses(customer.get("email_to"))
    if not to:
        raise NotifyError(
            f"customer {customer.get('customer_id')!r}: no valid contact e-mail address"
        )
    _require_columns(
        invoices, ("invoice_id", "due_date", "open_amount", "days_past_due"), "invoices"
    )
    env = env or template_environment()
    profile = profile or CompanyProfile(name=sender_name)
    customer_id = str(customer.get("customer_id"))
    inv = invoices.sort_values(["due_date", "invoice_id"], kind="mergesort")
    rows = [
        {
            "invoice_id": str(r.invoice_id),
            "invoice_date": profile.date(getattr(r, "invoice_date", None)),
            "due_date": profile.date(r.due_date),
            "days_past_due": _count(r.days_past_due),
            "amount": profile.money(getattr(r, "amount", None), currency),
            "open_amount": profile.money(r.open_amount, currency),
            "pay_link": profile.link(r.invoice_id, r.open_amount, currency, customer_id),
        }
        for r in inv.itertuples(index=False)
    ]
    name = customer.get("customer_name")
    total = float(inv["open_amount"].sum())
    context = {
        "customer_id": customer_id,
        "customer_name": customer_id if _missing(name) else str(name),
        "level": int(level),
        "threshold_days": int(threshold_days if threshold_days is not None else level),
        "period": p.label,
        "as_of": profile.date(p.end),
        "currency": currency,
        "invoices": rows,
        "invoice_count": len(rows),
        "total_overdue": profile.money(total, currency),
        "pay_all_link": profile.link(
            ",".join(r["invoice_id"] for r in rows), total, currency, customer_id
        )
        if len(rows) > 1
        else "",
        "sender_name": profile.name,
        "company": profile.context(),
        "statement_attached": bool(statement),
    }
    key = f"reminder:{p.label}:{customer_id}:{int(level)}"
    msg = _render_message(
        env,
        template,
        context,
        mail_from=_with_display_name(mail_from, profile.name),
        to=to,
        cc=cc,
        reply_to=reply_to or profile.reply_to,
        key=key,
    )
    msg["X-Arinsight-Level"] = str(int(level))
    msg["X-Arinsight-Invoices"] = " ".join(r["invoice_id"] for r in rows)
    if statement:
        html = env.get_template("statement.html").render(
            {**context, "statement": list(statement), "statement_total": statement_total or ""}
        )
        msg.add_attachment(
            html.encode("utf-8"),
            maintype="text",
            subtype="html",
            filename=f"statement_{_safe_name(customer_id)}_{p.label}.html",
        )
    return msg


def compose_report(
    kpis: Mapping[str, Any],
    *,
    top_overdue: pd.DataFrame,
    high_risk: pd.DataFrame,
    stakeholders: Sequence[str],
    mail_from: str,
    site_url: str = "",
    subject_prefix: str = "[arinsight]",
    currency: str = "USD",
    env=None,
    profile: CompanyProfile | None = None,
) -> EmailMessage:
    """The monthly summary e-mail: KPI cards with change, top overdue and high-risk customers.

    ``profile`` (the company profile) names the sender and signs the footer; amounts keep the
    unambiguous ``USD 1,234.00`` form of the KPI table, dates follow the profile's locale.

    Text + HTML alternative from ``monthly_report.*``, the :func:`kpi_table` attached as
    ``arinsight_kpis_<period>.csv``; key header ``report:<period>:<region>``.
    """
    to = [a for s in stakeholders for a in parse_addresses(s)]
    if not to:
        raise ParamsError("email.stakeholders: no valid e-mail address to send the report to")
    period = str(kpis.get("period") or "")
    if not period:
        raise ParamsError("kpis has no 'period'")
    region = str(kpis.get("region") or ALL_REGIONS)
    env = env or template_environment()
    comparison = kpis.get("comparison") or {}
    cards = []
    for key in KPI_CARDS:
        if key not in kpis:
            continue
        cards.append(_card(_kpi_row(key, kpis[key], comparison.get(key) or {}), currency))
    table = kpi_table(kpis)
    attachment = f"arinsight_kpis_{_safe_name(period)}.csv"
    context = {
        "period": period,
        "region": region,
        "as_of": str(kpis.get("as_of") or ""),
        "cards": cards,
        "open_ar": format_value(kpis.get("open_ar"), "money", currency, style="mail"),
        "dso": format_value(kpis.get("dso"), "days", currency, style="mail"),
        "top_overdue": [
            {
                "customer_id": str(r.customer_id),
                "customer_name": str(r.customer_name),
                "overdue_amount": format_value(r.overdue_amount, "money", currency, style="mail"),
                "overdue_invoices": _count(r.overdue_invoices),
                "max_days_past_due": _count(r.max_days_past_due),
            }
            for r in top_overdue.itertuples(index=False)
        ],
        "high_risk": [
            {
                "customer_id": str(r.customer_id),
                "customer_name": str(r.customer_name),
                "expected_overdue": format_value(
                    r.expected_overdue, "money", currency, style="mail"
                ),
                "open_amount": format_value(r.open_amount, "money", currency, style="mail"),
                "max_probability": format_value(r.max_probability, "share", currency, style="mail"),
            }
            for r in high_risk.itertuples(index=False)
        ],
        "site_url": site_url or "",
        "subject_prefix": subject_prefix or "",
        "attachment_name": attachment,
        "company": (profile or CompanyProfile(name="arinsight")).context(),
        "as_of_text": (profile or CompanyProfile(name="arinsight")).date(kpis.get("as_of")),
    }
    msg = _render_message(
        env,
        "monthly_report",
        context,
        mail_from=_with_display_name(mail_from, profile.name) if profile else mail_from,
        to=to,
        key=f"report:{period}:{region}",
    )
    msg.add_attachment(
        csv_text(table).encode("utf-8"), maintype="text", subtype="csv", filename=attachment
    )
    return msg


def parse_addresses(value: Any) -> list[str]:
    """The valid e-mail addresses in a contact field ("a@x.com; b@y.com", commas also work).

    Anything that is not a plain address (spaces, angle brackets, line breaks) is left out, which
    also keeps header injection out of the To line. Null gives an empty list.
    """
    if _missing(value):
        return []
    parts = re.split(r"[;,\s]+", str(value).strip())
    return [p for p in parts if p and _EMAIL_RE.match(p)]


# --------------------------------------------------------------------------------------------
# Outbox, send log and SMTP
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server (from the environment only: :func:`smtp_settings_from_env`)."""

    host: str
    port: int
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    mail_from: str = ""
    cafile: str | None = None
    timeout: float = 30.0


@dataclass
class SendReport:
    """What one sending pass did: files sent (now in outbox/sent) and files kept, with the reason."""

    sent: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)
    refused: dict[Path, dict[str, str]] = field(default_factory=dict)


def smtp_settings_from_env(environ: Mapping[str, str] | None = None) -> SmtpSettings:
    """Read ARINSIGHT_SMTP_HOST/_PORT/_SECURITY/_USER/_PASSWORD and ARINSIGHT_MAIL_FROM.

    SECURITY is ``none``, ``starttls`` (default) or ``ssl`` (implicit TLS); PORT defaults to 25,
    587 or 465 accordingly. USER and PASSWORD go together. Optional: ARINSIGHT_SMTP_CAFILE (a CA
    bundle for a private relay's certificate) and ARINSIGHT_SMTP_TIMEOUT (seconds, default 30).
    """
    env = os.environ if environ is None else environ
    host = (env.get(ENV_HOST) or "").strip()
    if not host:
        raise NotifyError(f"{ENV_HOST} is not set: set the SMTP settings or use --dry-run")
    security = (env.get(ENV_SECURITY) or "starttls").strip().lower()
    if security not in SECURITY_MODES:
        raise NotifyError(
            f"{ENV_SECURITY}={security!r}: expected one of {', '.join(SECURITY_MODES)}"
        )
    port_text = (env.get(ENV_PORT) or "").strip()
    try:
        port = int(port_text) if port_text else DEFAULT_PORTS[security]
    except ValueError:
        raise NotifyError(f"{ENV_PORT}={port_text!r}: expected a port number") from None
    if not 0 < port < 65536:
        raise NotifyError(f"{ENV_PORT}={port}: expected a port number 1-65535")
    user = env.get(ENV_USER) or None
    password = env.get(ENV_PASSWORD) or None
    if bool(user) != bool(password):
        raise NotifyError(f"{ENV_USER} and {ENV_PASSWORD} must be set together")
    timeout_text = (env.get(ENV_TIMEOUT) or "").strip()
    try:
        timeout = float(timeout_text) if timeout_text else 30.0
    except ValueError:
        raise NotifyError(f"{ENV_TIMEOUT}={timeout_text!r}: expected seconds") from None
    return SmtpSettings(
        host=host,
        port=port,
        security=security,
        user=user,
        password=password,
        mail_from=_mail_from(env, dry_run=False),
        cafile=env.get(ENV_CAFILE) or None,
        timeout=timeout,
    )


def write_outbox(messages: Iterable[tuple[str, EmailMessage]], outbox: str | Path) -> list[Path]:
    """Write each (file stem, message) to ``outbox/<stem>.eml`` (replacing an unsent copy).

    The files carry no Date or Message-ID (those are added when sending) and MIME boundaries
    derived from the content, so a dry run for the same data writes byte-identical files.
    """
    folder = Path(outbox)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, msg in messages:
        path = folder / f"{_safe_name(stem)}.eml"
        tmp = path.with_suffix(".eml.tmp")
        tmp.write_bytes(_with_fixed_boundaries(msg).as_bytes(policy=_POLICY))
        tmp.replace(path)
        paths.append(path)
    return paths


def send_outbox(
    paths: Sequence[str | Path],
    settings: SmtpSettings,
    log_path: str | Path,
) -> SendReport:
    """Send .eml files; each accepted one moves to ``sent/`` beside it and is logged.

    A message stays where it is (for a retry) when the server refuses it or the connection drops;
    the reason is in the report. A server that cannot be reached or refuses the login raises
    :class:`NotifyError` before anything is sent. Date and Message-ID are added at sending time.
    """
    files = [Path(p) for p in paths]
    report = SendReport()
    if not files:
        return report
    client = _connect(settings)
    try:
        for i, path in enumerate(files):
            msg = _read_eml(path)
            if msg["Date"] is None:
                msg["Date"] = formatdate(localtime=True)
            if msg["Message-ID"] is None:
                msg["Message-ID"] = make_msgid(domain=_domain(settings.mail_from))
            try:
                refused = client.send_message(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                report.failed[path] = f"every recipient refused: {_smtp_reasons(exc.recipients)}"
                continue
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                report.failed[path] = f"refused by the server: {exc}"
                _rset(client)
                continue
            except (smtplib.SMTPException, OSError) as exc:
                for rest in files[i:]:
                    report.failed[rest] = f"connection lost: {exc}"
                break
            sent_path = _move_to_sent(path, msg)
            if refused:
                report.refused[sent_path] = {k: _smtp_reason(v) for k, v in refused.items()}
            _append_log(log_path, _log_record(msg, sent_path, refused))
            report.sent.append(sent_path)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    return report


def read_send_log(log_path: str | Path) -> set[str]:
    """The keys already sent, from the JSON-lines send log (a missing log is empty)."""
    path = Path(log_path)
    if not path.exists():
        return set()
    keys = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            keys.add(str(json.loads(line)["key"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise NotifyError(f"{path}: line {number}: not a send-log record ({exc})") from None
    return keys


# --------------------------------------------------------------------------------------------
# Commands (file-level wrappers used by the CLI)
# --------------------------------------------------------------------------------------------


def run_alerts(
    period: str,
    *,
    dry_run: bool = False,
    params_files: Sequence[str | os.PathLike[str]] = (),
    force: bool = False,
    processed_dir: str | Path | None = None,
    reports_dir: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``arinsight alerts``: worklist files + one reminder per customer contact (see module doc).

    Writes reports/<period>/alerts/collections_worklist.{csv,xlsx} and overdue_crossings.csv,
    then the reminders to reports/<period>/outbox/ and, unless ``dry_run``, sends them. A
    reminder whose key (period, customer, level) is in the send log is skipped unless ``force``.
    Returns 0, or 1 when some message was refused (it stays in the outbox).
    """
    p = period_bounds(period)
    params = config.load_params(params_files)
    alerts, email = _section(params, "alerts"), _section(params, "email")
    thresholds = _thresholds(alerts.get("thresholds", DEFAULT_THRESHOLDS))
    templates = _template_map(alerts.get("templates") or {}, thresholds)
    currency = str(params.get("reporting_currency") or "USD")
    reports = Path(reports_dir) if reports_dir else config.REPORTS_DIR
    settings = None if dry_run else smtp_settings_from_env(environ)
    mail_from = settings.mail_from if settings else _mail_from(environ, dry_run=True)
    env = template_environment(email.get("template_dir"))

    profile = dunning.company_profile(params)
    levels = dunning.dunning_levels(params)
    section = params.get("dunning") or {}
    min_days_between = int(section.get("min_days_between", 14))

    tables = load_processed(processed_dir, ["customers", "invoices", "payments"])
    if tables["invoices"].empty:
        raise UserError(
            f"no processed invoices in {processed_dir or config.PROCESSED_DIR}: "
            f"run `arinsight run --period {p.label}` first"
        )
    # what cash application matched lowers the open amounts; disputed invoices are never dunned
    applied = dunning.applied_by_cash_application(params, tables["payments"], p.end)
    positions = dunning.apply_cash(_positions(processed_dir, p, params), applied)
    disputes = dunning.read_disputes(params.get("sources"))
    disputed = set(disputes["invoice_id"].astype(str))
    undisputed = positions.loc[~positions["invoice_id"].astype(str).isin(disputed)]
    risk = _read_risk_scores(reports, p.label)
    crossings = overdue_crossings(undisputed, p, thresholds)
    worklist = collections_worklist(undisputed, crossings, tables["customers"], risk, templates)

    log_path = _log_path(email, reports)
    history = dunning.reminder_history(dunning.read_send_records(log_path))
    if force:  # send this period's reminders again: forget only this period's
        history = history.loc[history["period"] != p.label]
    plan = dunning.dunning_plan(
        positions, p, history, levels, min_days_between, disputed | set(applied["invoice_id"])
    )
    plan = plan.merge(_customer_lookup(tables["customers"]), on="customer_id", how="left").assign(
        email_to=lambda d: d["contact_email"].map(lambda v: "; ".join(parse_addresses(v)))
    )
    action = plan.set_index("customer_id")
    label = action["template"].where(
        action["action"] == "send", action["action"] + ": " + action["reason"]
    )
    has_mail = worklist["email_to"] != ""
    worklist.loc[has_mail, "reminder"] = (
        worklist.loc[has_mail, "customer_id"].map(label).fillna("no overdue invoice to remind")
    )

    out_dir = reports / p.label / "alerts"
    out_dir.mkdir(parents=True, exist_ok=True)
    crossings_named = crossings.merge(
        worklist[["customer_id", "customer_name"]], on="customer_id", how="left"
    )
    plan_out = plan.drop(columns=["contact_email"]).assign(
        invoice_ids=plan["invoice_ids"].map("; ".join)
    )
    write_csv(worklist, out_dir / "collections_worklist.csv")
    write_csv(crossings_named, out_dir / "overdue_crossings.csv")
    write_csv(plan_out, out_dir / "dunning_plan.csv")
    write_excel(
        out_dir / "collections_worklist.xlsx",
        {"worklist": worklist, "invoices": crossings_named, "dunning": plan_out},
    )

    by_level = {lv.number: lv for lv in levels}
    messages, skipped = [], int((plan["action"] == "done").sum())
    for row in plan.loc[(plan["action"] == "send") & (plan["email_to"] != "")].itertuples(
        index=False
    ):
        invoices = undisputed.loc[undisputed["invoice_id"].astype(str).isin(row.invoice_ids)]
        msg = compose_reminder(
            row._asdict(),
            invoices,
            period=p,
            level=int(row.level),
            template=row.template,
            mail_from=mail_from,
            currency=currency,
            reply_to=alerts.get("reply_to"),
            cc=[a for s in alerts.get("cc") or [] for a in parse_addresses(s)],
            env=env,
            profile=profile,
            statement=dunning.statement_rows(undisputed, row.customer_id, profile, currency),
            statement_total=profile.money(
                undisputed.loc[
                    undisputed["customer_id"].astype(str) == row.customer_id, "open_amount"
                ].sum(),
                currency,
            ),
            threshold_days=by_level[int(row.level)].min_days_past_due,
        )
        messages.append((f"reminder_{p.label}_{row.customer_id}_{int(row.level)}", msg))

    outbox = reports / p.label / "outbox"
    paths = write_outbox(messages, outbox)
    top_n = int(alerts.get("worklist_top_n") or 25)
    print(
        f"alerts {p.label}: {len(crossings)} invoice(s) crossed a threshold "
        f"({', '.join(map(str, thresholds))} days) for {len(worklist)} customer(s); "
        f"worklist in {out_dir}"
    )
    if not worklist.empty:
        basis = str(worklist["priority_basis"].iloc[0])
        cols = ["rank", "customer_id", "level", "overdue_amount", basis, "reminder"]
        print(f"collections worklist, top {top_n} by {basis.replace('_', ' ')}:")
        print(worklist.head(top_n)[cols].to_string(index=False))
    counts = plan["action"].value_counts()
    print(
        f"dunning: {int(counts.get('send', 0))} reminder(s) due, {int(counts.get('wait', 0))} "
        f"waiting, {int(counts.get('escalate', 0))} past the final notice (call them); "
        f"{len(disputed)} invoice(s) in dispute and {applied['invoice_id'].nunique()} matched by "
        f"cash application left out; plan in {out_dir / 'dunning_plan.csv'}"
    )
    no_mail = int((worklist["email_to"] == "").sum()) if not worklist.empty else 0
    if no_mail:
        print(f"{no_mail} customer(s) have no valid contact e-mail: call them (see the worklist)")
    if skipped:
        print(
            f"{skipped} reminder(s) already sent for {p.label} (send log {log_path}); --force resends"
        )
    return _deliver(paths, settings, log_path, outbox, dry_run)


def run_email_report(
    period: str,
    *,
    dry_run: bool = False,
    params_files: Sequence[str | os.PathLike[str]] = (),
    force: bool = False,
    processed_dir: str | Path | None = None,
    reports_dir: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``arinsight email-report``: the summary e-mail of reports/<period>/All/kpis.json to the
    stakeholders, and one per region of ``email.region_owners`` (region -> addresses) from
    reports/<period>/<region>/kpis.json to its owners.

    Top overdue customers come from the processed ledger as of T (the region's customers),
    high-risk customers from kpis.json and the region's risk_scores.parquet; the company profile
    signs it. Each is sent once per period (send-log key ``report:<period>:<region>``) unless
    ``force``. Returns 0, or 1 when the server refused one.
    """
    p = period_bounds(period)
    params = config.load_params(params_files)
    email = _section(params, "email")
    currency = str(params.get("reporting_currency") or "USD")
    reports = Path(reports_dir) if reports_dir else config.REPORTS_DIR
    stakeholders = email.get("stakeholders") or []
    if isinstance(stakeholders, str):
        stakeholders = [stakeholders]
    settings = None if dry_run else smtp_settings_from_env(environ)
    mail_from = settings.mail_from if settings else _mail_from(environ, dry_run=True)

    kpis_path = reports / p.label / ALL_REGIONS / "kpis.json"
    if not kpis_path.exists():
        raise UserError(f"{kpis_path}: not found: run `arinsight run --period {p.label}` first")
    try:
        kpis = json.loads(kpis_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"{kpis_path}: not valid JSON: {exc}") from None
    kpis.setdefault("period", p.label)
    if not kpis.get("as_of"):
        kpis["as_of"] = p.end.strftime("%Y-%m-%d")

    tables = load_processed(processed_dir)
    profile = dunning.company_profile(params)
    env = template_environment(email.get("template_dir"))
    positions = _positions(processed_dir, p, params) if not tables["invoices"].empty else None
    owners = email.get("region_owners") or {}
    if not isinstance(owners, Mapping):
        raise ParamsError("email.region_owners must map region -> list of addresses")
    jobs = [(ALL_REGIONS, kpis, stakeholders)]
    for region, to in sorted(owners.items()):
        path = reports / p.label / str(region) / "kpis.json"
        if not path.exists():
            print(f"email-report {p.label}: no report for region {region!r} ({path}); skipped")
            continue
        region_kpis = json.loads(path.read_text(encoding="utf-8"))
        region_kpis.setdefault("period", p.label)
        region_kpis["region"] = str(region)
        jobs.append((str(region), region_kpis, [to] if isinstance(to, str) else list(to or [])))
    log_path = _log_path(email, reports)
    done = set() if force else read_send_log(log_path)
    messages = []
    for region, region_kpis, to in jobs:
        if region_kpis.get("as_of") in (None, ""):
            region_kpis["as_of"] = p.end.strftime("%Y-%m-%d")
        ids = None
        if region != ALL_REGIONS:
            cust = tables["customers"]
            ids = set(cust.loc[cust["region"] == region, "customer_id"].astype(str))
        msg = _summary_message(
            region_kpis,
            positions,
            tables["customers"],
            ids,
            reports,
            p,
            to,
            mail_from,
            email,
            params,
            currency,
            env,
            profile,
        )
        if msg[KEY_HEADER] in done:
            print(
                f"email-report {p.label} ({region}): already sent (send log {log_path}); --force resends"
            )
            continue
        stem = f"report_{p.label}" + ("" if region == ALL_REGIONS else f"_{region}")
        messages.append((stem, msg))
        print(
            f"email-report {p.label} ({region}): to {', '.join(a.addr_spec for a in msg['To'].addresses)}"
        )
    outbox = reports / p.label / "outbox"
    paths = write_outbox(messages, outbox)
    return _deliver(paths, settings, log_path, outbox, dry_run)


def _summary_message(
    kpis,
    positions,
    customers,
    ids,
    reports,
    p,
    to,
    mail_from,
    email,
    params,
    currency,
    env,
    profile,
) -> EmailMessage:
    """The summary e-mail of one region (``ids``: its customers; None = every customer)."""
    cols = [
        "customer_id",
        "customer_name",
        "overdue_amount",
        "overdue_invoices",
        "max_days_past_due",
    ]
    if positions is None:
        top = pd.DataFrame(columns=cols)
    else:
        pos = (
            positions
            if ids is None
            else positions.loc[positions["customer_id"].astype(str).isin(ids)]
        )
        top = top_overdue_customers(pos, customers, int(email.get("top_n") or 10))
    region = str(kpis.get("region") or ALL_REGIONS)
    risk = _read_risk_scores(reports, p.label, region)
    high = high_risk_customers(kpis, risk, customers, int(params.get("high_risk_top_n") or 20))
    return compose_report(
        kpis,
        top_overdue=top,
        high_risk=high,
        stakeholders=to,
        mail_from=mail_from,
        site_url=str(email.get("site_url") or ""),
        subject_prefix=str(email.get("subject_prefix") or ""),
        currency=currency,
        env=env,
        profile=profile,
    )


def previous_month(today: dt.date | None = None) -> str:
    """The calendar month before ``today`` as YYYY-MM (2026-11-02 -> 2026-10; 2026-01-15 -> 2025-12)."""
    day = today or dt.date.today()
    first = day.replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def run_monthly(
    period: str | None = None,
    *,
    dry_run: bool = False,
    params_files: Sequence[str | os.PathLike[str]] = (),
    regions: str = "all",
    jobs: int | None = None,
    site: bool = False,
    force: bool = False,
    today: dt.date | None = None,
) -> int:
    """The scheduled job: ``run`` -> (``site``) -> ``alerts`` -> ``email-report`` for one period.

    ``period`` defaults to the previous calendar month of ``today``. A failed run stops the chain
    (no e-mail about a broken report) and its exit status is returned; otherwise the worst exit
    status of the steps.
    """
    label = period or previous_month(today)
    period_bounds(label)
    from arinsight.runs import run_period  # lazy: the runner is optional for the other commands

    files = list(params_files)
    print(f"monthly {label}: run")
    status = int(run_period(period=label, regions=regions, params_files=files, jobs=jobs) or 0)
    if status:
        print(
            f"monthly {label}: the run failed (exit {status}); alerts and e-mail skipped",
            file=sys.stderr,
        )
        return status
    if site:
        from arinsight.site import build_site

        print(f"monthly {label}: site")
        build_site()
    print(f"monthly {label}: alerts")
    a = run_alerts(label, dry_run=dry_run, params_files=files, force=force)
    print(f"monthly {label}: email-report")
    r = run_email_report(label, dry_run=dry_run, params_files=files, force=force)
    return max(a, r)


# --------------------------------------------------------------------------------------------
# Private helpers
# --------------------------------------------------------------------------------------------


def _deliver(
    paths: list[Path], settings: SmtpSettings | None, log_path: Path, outbox: Path, dry_run: bool
) -> int:
    if dry_run or settings is None:
        print(f"dry run: {len(paths)} message(s) written to {outbox}, nothing sent")
        return 0
    if not paths:
        print("nothing to send")
        return 0
    try:
        report = send_outbox(paths, settings, log_path)
    except NotifyError as exc:
        raise NotifyError(
            f"{exc}; nothing was lost: {len(paths)} message(s) stay in {outbox} - "
            "re-run the same command to retry"
        ) from None
    print(
        f"sent {len(report.sent)} message(s) via {settings.host}:{settings.port}; copies in {outbox / 'sent'}"
    )
    for path, refused in report.refused.items():
        print(f"warning: {path.name}: some recipients refused: {refused}", file=sys.stderr)
    for path, reason in report.failed.items():
        print(f"not sent, kept in the outbox: {path.name}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


def _connect(s: SmtpSettings) -> smtplib.SMTP:
    where = f"SMTP server {s.host}:{s.port} ({s.security})"
    context = ssl.create_default_context(cafile=s.cafile) if s.security != "none" else None
    try:
        if s.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=context
            )
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
    except ssl.SSLCertVerificationError as exc:
        raise NotifyError(f"{where}: certificate not trusted ({exc}); set {ENV_CAFILE}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"cannot reach {where}: {exc}") from None
    try:
        client.ehlo()
        if s.security == "starttls":
            if not client.has_extn("starttls"):
                raise NotifyError(f"{where}: the server does not offer STARTTLS")
            client.starttls(context=context)
            client.ehlo()
        if s.user:
            if s.security == "none":
                print(
                    f"warning: {where}: login without TLS sends the password in clear",
                    file=sys.stderr,
                )
            client.login(s.user, s.password or "")
    except NotifyError:
        client.close()
        raise
    except smtplib.SMTPAuthenticationError as exc:
        client.close()
        raise NotifyError(
            f"{where}: login refused for user {s.user!r}: {exc.smtp_code} {_text(exc.smtp_error)}"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        client.close()
        raise NotifyError(f"{where}: {exc} (many servers offer AUTH only after STARTTLS)") from None
    except ssl.SSLCertVerificationError as exc:
        client.close()
        raise NotifyError(f"{where}: certificate not trusted ({exc}); set {ENV_CAFILE}") from None
    except (OSError, smtplib.SMTPException) as exc:
        client.close()
        raise NotifyError(f"{where}: session failed: {exc}") from None
    return client


def _render_message(
    env,
    template: str,
    context: dict[str, Any],
    *,
    mail_from: str,
    to: Sequence[str],
    key: str,
    cc: Sequence[str] = (),
    reply_to: str | None = None,
) -> EmailMessage:
    import jinja2

    try:
        subject = env.get_template(f"{template}.subject.txt").render(context)
        body = {"subject": _one_line(subject), **context}
        text = env.get_template(f"{template}.txt").render(body)
        html = env.get_template(f"{template}.html").render(body)
    except jinja2.TemplateNotFound as exc:
        raise ParamsError(
            f"e-mail template {exc.name!r} not found (template {template!r})"
        ) from None
    except jinja2.TemplateError as exc:
        raise ParamsError(f"e-mail template {template!r}: {exc}") from None
    msg = EmailMessage()
    msg["Subject"] = _one_line(subject)
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if reply_to:
        msg["Reply-To"] = str(reply_to)
    msg[KEY_HEADER] = key
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _positions(processed_dir: str | Path | None, p: Period, params: Mapping[str, Any]):
    """The invoice positions at T of period ``p``: the engine's kept results of the run (the
    same call computes and keeps them when the period was not run; see
    :func:`arinsight.engine.period.period_results`)."""
    from arinsight.engine.period import period_results

    as_of = p.end if p.is_snapshot else None
    return period_results(processed_dir, p.label, as_of, params).positions()


def _read_risk_scores(reports: Path, period: str, region: str = ALL_REGIONS) -> pd.DataFrame | None:
    path = reports / period / region / "risk_scores.parquet"
    return pd.read_parquet(path) if path.exists() else None


def _overdue(positions: pd.DataFrame) -> pd.DataFrame:
    dpd = pd.to_numeric(positions["days_past_due"], errors="coerce")
    amount = pd.to_numeric(positions["open_amount"], errors="coerce")
    mask = ((amount > 0) & (dpd >= 1)).to_numpy()
    out = positions.loc[mask].copy()
    out["days_past_due"] = dpd[mask].to_numpy().astype("int64")
    out["open_amount"] = amount[mask].to_numpy().astype(float)
    out["customer_id"] = out["customer_id"].astype(str)
    return out


def _customer_lookup(customers: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"customer_id": customers["customer_id"].astype(str)})
    for col in ("customer_name", "contact_email"):
        out[col] = customers[col].astype(object) if col in customers.columns else None
    return out.drop_duplicates("customer_id")


def _thresholds(values: Iterable[Any]) -> np.ndarray:
    try:
        th = sorted({int(v) for v in values})
    except (TypeError, ValueError):
        raise ParamsError(
            f"alerts.thresholds must be whole numbers of days, got {values!r}"
        ) from None
    if not th or th[0] < 1:
        raise ParamsError(f"alerts.thresholds must be days >= 1, got {values!r}")
    return np.asarray(th, dtype="int64")


def _template_map(templates: Mapping[Any, str], levels: Iterable[Any]) -> dict[int, str]:
    try:
        mapping = {int(k): str(v) for k, v in dict(templates).items()}
    except (TypeError, ValueError):
        raise ParamsError(
            f"alerts.templates keys must be thresholds in days: {templates!r}"
        ) from None
    missing = sorted(int(level) for level in levels if int(level) not in mapping)
    if missing:
        raise ParamsError(f"alerts.templates has no template for threshold(s) {missing}")
    return mapping


def _section(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name) or {}
    if not isinstance(value, Mapping):
        raise ParamsError(f"params '{name}' must be a mapping, got {type(value).__name__}")
    return dict(value)


def _log_path(email: Mapping[str, Any], reports: Path) -> Path:
    configured = email.get("send_log")
    return config.resolve_path(configured) if configured else reports / "notify_log.jsonl"


def _mail_from(environ: Mapping[str, str] | None, *, dry_run: bool) -> str:
    env = os.environ if environ is None else environ
    value = (env.get(ENV_FROM) or "").strip()
    if not value:
        if dry_run:
            return DRY_RUN_FROM
        raise NotifyError(f"{ENV_FROM} is not set: the sender address comes from the environment")
    name, addr = parseaddr(value)
    if "\n" in value or "\r" in value or not _EMAIL_RE.match(addr or ""):
        raise NotifyError(f"{ENV_FROM}={value!r}: not an e-mail address")
    return value


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ParamsError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParamsError(f"{name}: missing column(s) {', '.join(missing)}")


def _kpi_row(
    key: str,
    value: Any,
    comp: Mapping[str, Any],
    label: str | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    label = label or KPI_LABELS.get(key) or key.replace("_", " ").capitalize()
    unit = unit or KPI_UNITS.get(key, "number")
    value = None if _missing(value) else value
    previous = comp.get("previous")
    previous = None if _missing(previous) else previous
    change = comp.get("change")
    if _missing(change):
        change = value - previous if _is_number(value) and _is_number(previous) else None
    direction = comp.get("direction")
    if _missing(direction) and _is_number(change):
        direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return {
        "kpi": key,
        "label": label,
        "unit": unit,
        "value": value,
        "previous": previous,
        "change": change,
        "direction": None if _missing(direction) else direction,
        "assessment": None if _missing(comp.get("assessment")) else comp.get("assessment"),
    }


def _card(row: Mapping[str, Any], currency: str) -> dict[str, str]:
    assessment = str(row["assessment"] or "")
    lowered = assessment.lower()
    colour = (
        GOOD if lowered.startswith(("better", "improv")) else BAD if "worse" in lowered else NEUTRAL
    )
    change = row["change"]
    return {
        "label": row["label"],
        "value": format_value(row["value"], row["unit"], currency, style="mail"),
        "change": ""
        if change is None
        else format_value(change, row["unit"], currency, True, style="mail"),
        "arrow": ARROWS.get(str(row["direction"] or "").lower(), ""),
        "assessment": assessment,
        "colour": colour,
    }


def _count(value: Any) -> str:
    return "n/a" if _missing(value) else f"{int(value):,}"


def _date(value: Any) -> str:
    return "" if _missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _safe_name(text: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(text))
    if safe != str(text):
        safe += "-" + hashlib.sha1(str(text).encode("utf-8")).hexdigest()[:8]
    return safe


def _domain(mail_from: str) -> str | None:
    addr = parseaddr(mail_from)[1]
    return addr.rpartition("@")[2] or None


def _read_eml(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        return BytesParser(policy=_POLICY).parse(fh)


def _with_fixed_boundaries(msg: EmailMessage) -> EmailMessage:
    """A copy of ``msg`` whose multipart boundaries are a hash of its content (not random)."""
    out = copy.deepcopy(msg)
    digest = hashlib.sha256()
    for part in out.walk():
        if not part.is_multipart():
            digest.update(part.as_bytes(policy=_POLICY))
    token = digest.hexdigest()[:24]
    multiparts = [part for part in out.walk() if part.is_multipart()]
    for i, part in enumerate(multiparts):
        part.set_boundary(f"==arinsight-{token}-{i}==")
    return out


def _move_to_sent(path: Path, msg: EmailMessage) -> Path:
    sent_dir = path.parent / "sent"
    sent_dir.mkdir(parents=True, exist_ok=True)
    target = sent_dir / path.name
    target.write_bytes(msg.as_bytes(policy=_POLICY))
    path.unlink()
    return target


def _with_display_name(mail_from: str, name: str) -> str:
    """``mail_from`` with ``name`` as its display name when it has none (ar@x -> Name <ar@x>)."""
    shown, addr = parseaddr(mail_from)
    if shown or not addr or not name:
        return mail_from
    return formataddr((name, addr))


def _log_record(msg: EmailMessage, sent_path: Path, refused: Mapping[str, Any]) -> dict[str, Any]:
    key = str(msg[KEY_HEADER] or "")
    extra = {}
    if msg["X-Arinsight-Level"] is not None:  # a reminder: its dunning level and invoices
        extra = {
            "level": int(str(msg["X-Arinsight-Level"])),
            "invoices": str(msg["X-Arinsight-Invoices"] or "").split(),
        }
    recipients = [a.addr_spec for h in ("To", "Cc") if msg[h] for a in msg[h].addresses]
    return {
        "key": key,
        "kind": key.split(":", 1)[0],
        "to": recipients,
        "refused": sorted(refused),
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "file": str(sent_path),
        "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }


def _append_log(log_path: str | Path, record: Mapping[str, Any]) -> None:
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _rset(client: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        client.rset()


def _smtp_reason(value: Any) -> str:
    code, text = value if isinstance(value, tuple) else (None, value)
    return f"{code} {_text(text)}".strip()


def _smtp_reasons(recipients: Mapping[str, Any]) -> str:
    return "; ".join(f"{addr}: {_smtp_reason(v)}" for addr, v in sorted(recipients.items()))


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


__all__ = [
    "NotifyError",
    "SendReport",
    "SmtpSettings",
    "collections_worklist",
    "compose_reminder",
    "compose_report",
    "high_risk_customers",
    "kpi_table",
    "overdue_crossings",
    "parse_addresses",
    "previous_month",
    "read_send_log",
    "run_alerts",
    "run_email_report",
    "run_monthly",
    "send_outbox",
    "smtp_settings_from_env",
    "template_environment",
    "top_overdue_customers",
    "write_outbox",
]
