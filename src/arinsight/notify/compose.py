"""Building the messages with the standard library's email package: the reminder of one customer
and the monthly report, rendered from the Jinja2 templates (HTML autoescaped) with a plain-text
part; recipients parsed and checked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from email import errors, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import pandas as pd

from arinsight import config
from arinsight.dunning import (
    CompanyProfile,
    charge_cells,
    charges_context,
    late_payment_charges,
)
from arinsight.errors import ParamsError
from arinsight.files import csv_text
from arinsight.kpis import format_value
from arinsight.ledger import ALL_REGIONS, Period, period_bounds
from arinsight.notify.setup import (
    NotifyError,
    count_text,
    is_missing,
    is_number,
    require_columns,
    safe_name,
)
from arinsight.plots.style import BAD, GOOD, NEUTRAL
from arinsight.receivables import KPI_LABELS, KPI_UNITS

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

KEY_HEADER = "X-Arinsight-Key"

#: Header lines up to RFC 5322's hard limit: the stdlib folder otherwise moves a subject that
#: starts with "[" to a continuation line, which readers then show with a leading space.
POLICY = policy.default.clone(max_line_length=998)


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

EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\Z")


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
        if k not in KPI_UNITS and (v is None or is_number(v)) and k not in _NOT_KPIS
    )
    for key in known + extra:
        value = kpis[key]
        if isinstance(value, list | tuple):  # e.g. customers over credit limit given as a list
            value = len(value)
        if value is not None and not is_number(value):
            continue
        rows.append(_kpi_row(key, value, comparison.get(key) or {}))
    for bucket, value in (kpis.get("aging") or {}).items():
        key = f"aging[{bucket}]"
        rows.append(_kpi_row(key, value, comparison.get(key) or {}, f"Aging {bucket}", "money"))
    cols = ["kpi", "label", "unit", "value", "previous", "change", "direction", "assessment"]
    return pd.DataFrame(rows, columns=cols)


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
    statement_charges: Mapping[str, Any] | None = None,
) -> EmailMessage:
    """One reminder e-mail to one customer contact: text + HTML alternative (+ statement).

    ``customer`` has customer_id, customer_name and email_to ("; "-separated addresses);
    ``invoices`` are the customer's overdue open invoices at T (invoice_id, due_date,
    open_amount, days_past_due; invoice_date, amount and currency optional), listed by due date
    with total_overdue = sum(open_amount), each with its pay link. With a ``currency`` column
    each invoice is written in its own currency (the customer's: see
    :func:`arinsight.dunning.in_invoice_currency`) and a customer billed in several gets a total
    per currency and no pay-all link; else every amount is in ``currency``. ``profile`` (the company profile,
    :func:`arinsight.dunning.company_profile`) signs the e-mail, gives the contact and bank
    details and the locale of dates and money (without it: ``sender_name`` and en_US).
    ``statement`` (rows of :func:`arinsight.dunning.statement_rows`, every open invoice, with
    ``statement_total``; ``statement_charges``: its late-payment block,
    :func:`arinsight.dunning.charges_context`) is attached as
    ``statement_<customer>_<period>.html``. ``template`` names ``<template>.subject.txt``,
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
    require_columns(
        invoices, ("invoice_id", "due_date", "open_amount", "days_past_due"), "invoices"
    )
    env = env or template_environment()
    profile = profile or CompanyProfile(name=sender_name)
    customer_id = str(customer.get("customer_id"))
    inv = invoices.sort_values(["due_date", "invoice_id"], kind="mergesort")
    own = inv["currency"].astype(str) if "currency" in inv else pd.Series(currency, index=inv.index)
    charged = inv
    if profile.late_payment is not None:  # shown, never booked: the amounts stay as they are
        charged = late_payment_charges(inv, profile.late_payment)
    rows = [
        {
            "invoice_id": str(r.invoice_id),
            "invoice_date": profile.date(getattr(r, "invoice_date", None)),
            "due_date": profile.date(r.due_date),
            "days_past_due": count_text(r.days_past_due),
            "amount": profile.money(getattr(r, "amount", None), cur),
            "open_amount": profile.money(r.open_amount, cur),
            "pay_link": profile.link(r.invoice_id, r.open_amount, cur, customer_id),
            **charge_cells(c, profile, cur),
        }
        for r, c, cur in zip(
            inv.itertuples(index=False), charged.itertuples(index=False), own, strict=True
        )
    ]
    name = customer.get("customer_name")
    total = float(inv["open_amount"].sum())
    several = own.nunique() > 1  # billed in several currencies: a total per currency
    context = {
        "customer_id": customer_id,
        "customer_name": customer_id if is_missing(name) else str(name),
        "level": int(level),
        "threshold_days": int(threshold_days if threshold_days is not None else level),
        "period": p.label,
        "as_of": profile.date(p.end),
        "currency": currency,
        "invoices": rows,
        "invoice_count": len(rows),
        "total_overdue": " + ".join(
            profile.money(round(float(v), 2), str(c))
            for c, v in inv.groupby(own, sort=True)["open_amount"].sum().items()
        )
        if several
        else profile.money(total, currency),
        "pay_all_link": profile.link(
            ",".join(r["invoice_id"] for r in rows), total, currency, customer_id
        )
        if len(rows) > 1 and not several
        else "",
        "sender_name": profile.name,
        "company": profile.context(),
        "statement_attached": bool(statement),
        "late_payment": charges_context(inv, profile, currency),
        "statement_late_payment": statement_charges,
    }
    key = reminder_key(p.label, customer_id, level)
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
    msg["X-Arinsight-Invoices"] = " ".join(quote(r["invoice_id"], safe="") for r in rows)
    if statement:
        html = env.get_template("statement.html").render(
            {**context, "statement": list(statement), "statement_total": statement_total or ""}
        )
        msg.add_attachment(
            html.encode("utf-8"),
            maintype="text",
            subtype="html",
            filename=f"statement_{safe_name(customer_id)}_{p.label}.html",
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
    to = config_addresses(stakeholders, "email.stakeholders")
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
    attachment = f"arinsight_kpis_{safe_name(period)}.csv"
    chart = _aging_chart(kpis.get("aging"), period, region, currency)
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
                "overdue_invoices": count_text(r.overdue_invoices),
                "max_days_past_due": count_text(r.max_days_past_due),
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
        "aging_chart": None if chart is None else {"cid": chart[0], "alt": chart[1]},
    }
    msg = _render_message(
        env,
        "monthly_report",
        context,
        mail_from=_with_display_name(mail_from, profile.name) if profile else mail_from,
        to=to,
        key=f"report:{period}:{quote(region, safe='')}",
    )
    if chart is not None:  # the PNG travels inside the message: opening it fetches nothing
        msg.get_body(("html",)).add_related(chart[2], "image", "png", cid=f"<{chart[0]}>")
    msg.add_attachment(
        csv_text(table).encode("utf-8"), maintype="text", subtype="csv", filename=attachment
    )
    return msg


def _aging_order(label: str) -> float:
    """Current first, then the buckets by their first day ("1-30" < "31-60" < "120+")."""
    if label.lower() == "current":
        return -1.0
    head = re.match(r"\d+", label)
    return float(head.group()) + (0.5 if label.endswith("+") else 0.0) if head else 1e9


def _aging_chart(aging: Any, period: str, region: str, currency: str):
    """(content id, alt text, PNG) of the summary e-mail's aging chart
    (:func:`arinsight.plots.mail.aging_png`), or None when the KPIs have no open AR to show. The
    content id is made of the period and region, so the same report gives the same message."""
    if not isinstance(aging, Mapping) or not any(v for v in aging.values() if v):
        return None
    from arinsight.plots.mail import aging_png

    order = sorted((str(k) for k in aging), key=_aging_order)
    alt = "Open AR by days past due: " + ", ".join(
        f"{label} {format_value(aging.get(label) or 0, 'money', currency, style='compact')}"
        for label in order
    )
    cid = f"aging.{safe_name(period)}.{safe_name(region)}@arinsight"
    return cid, alt, aging_png(aging, order, currency)


#: The separators of several addresses in one contact field (documented in automation.md).
LIST_SEPARATORS = re.compile(r"[;,]")

#: Characters never allowed in an address or a header value: C0 and C1 control characters
#: (CR, LF, NUL, tab, ESC, ...), DEL, and Unicode's line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class AddressCheck(NamedTuple):
    """What a contact field holds: its addresses, or ``reason`` (``no_email`` for an empty
    field, ``invalid_email`` for one refused) and ``detail`` saying why."""

    addresses: list[str]
    reason: str = ""
    detail: str = ""


def check_addresses(value: Any) -> AddressCheck:
    """The e-mail addresses of a contact field, checked strictly.

    One plain address (``ap@acme.example.com``) or several separated by ``;`` or ``,``. Each
    part must be exactly one bare address as :class:`email.headerregistry.Address` reads it
    (no display name, no angle brackets, no spaces inside) with a dotted domain. The whole field
    is refused (``invalid_email``) when any part is not such an address or when the field holds a
    control character anywhere (a line break, a carriage return, NUL, tab...): a contact such as
    ``"ap@x.example\\nvictim@evil.example"`` never yields a second recipient.
    """
    if is_missing(value) or not str(value).strip(" "):
        return AddressCheck([], "no_email", "no contact e-mail")
    text = str(value)
    if _CONTROL.search(text):
        return AddressCheck([], "invalid_email", f"control character in {_shown(text)}")
    out = []
    for part in (p.strip(" ") for p in LIST_SEPARATORS.split(text)):
        if not part:
            continue
        addr = _one_address(part)
        if addr is None:
            return AddressCheck([], "invalid_email", f"not an e-mail address: {_shown(part)}")
        if addr not in out:
            out.append(addr)
    if not out:
        return AddressCheck([], "invalid_email", f"no e-mail address in {_shown(text)}")
    return AddressCheck(out)


def reminder_key(period: str, customer_id: Any, level: Any) -> str:
    """The send-log key of a reminder, ``reminder:<period>:<customer>:<level>``; the customer
    id is percent-encoded (``%`` and every character but letters, digits and ``_ . - ~``), so the key is one safe header line whatever
    the id holds and :func:`arinsight.dunning.parse_reminder_key` gets the id back exactly."""
    return f"reminder:{period}:{quote(str(customer_id), safe='')}:{int(level)}"


def parse_addresses(value: Any) -> list[str]:
    """The addresses of a contact field ("a@x.com; b@y.com", commas also work), or an empty
    list when the field is empty or refused (see :func:`check_addresses`)."""
    return check_addresses(value).addresses


def config_addresses(value: Any, key: str) -> list[str]:
    """The addresses of a params entry (``alerts.cc``, ``email.stakeholders``...): a text or a
    list of texts, each checked like a contact field; a refused one is a ParamsError naming the
    key (a typo in the params stops the command instead of mailing fewer people)."""
    items = [] if value is None else [value] if isinstance(value, str) else list(value)
    out = []
    for item in items:
        found = check_addresses(item)
        if found.reason == "invalid_email":
            raise ParamsError(f"{key}: {found.detail}")
        out += [a for a in found.addresses if a not in out]
    return out


def header_text(value: Any) -> str:
    """``value`` fit for one header line: every control character (CR, LF, NUL, ESC...) becomes
    a space, runs of white space one space. Data (ids, names) never breaks a header."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())


def _one_address(part: str) -> str | None:
    try:
        addr = Address(addr_spec=part)
    except (ValueError, TypeError, IndexError, errors.HeaderParseError):
        return None
    spec = addr.addr_spec
    if spec != part or not EMAIL_RE.match(spec) or len(getaddresses([spec])) != 1:
        return None
    return spec


def _shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for a message: control characters escaped, long text cut."""
    shown = repr(text[:limit])
    return shown + ("..." if len(text) > limit else "")


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
        body = {"subject": header_text(subject), **context}
        text = env.get_template(f"{template}.txt").render(body)
        html = env.get_template(f"{template}.html").render(body)
    except jinja2.TemplateNotFound as exc:
        raise ParamsError(
            f"e-mail template {exc.name!r} not found (template {template!r})"
        ) from None
    except jinja2.TemplateError as exc:
        raise ParamsError(f"e-mail template {template!r}: {exc}") from None
    msg = EmailMessage()
    msg["Subject"] = header_text(subject)
    msg["From"] = mail_from
    msg["To"] = [Address(addr_spec=a) for a in to]
    if cc:
        msg["Cc"] = [Address(addr_spec=a) for a in cc]
    if reply_to:
        msg["Reply-To"] = [Address(addr_spec=a) for a in config_addresses(reply_to, "reply_to")]
    msg[KEY_HEADER] = header_text(key)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _kpi_row(
    key: str,
    value: Any,
    comp: Mapping[str, Any],
    label: str | None = None,
    unit: str | None = None,
) -> dict[str, Any]:
    label = label or KPI_LABELS.get(key) or key.replace("_", " ").capitalize()
    unit = unit or KPI_UNITS.get(key, "number")
    value = None if is_missing(value) else value
    previous = comp.get("previous")
    previous = None if is_missing(previous) else previous
    change = comp.get("change")
    if is_missing(change):
        change = value - previous if is_number(value) and is_number(previous) else None
    direction = comp.get("direction")
    if is_missing(direction) and is_number(change):
        direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return {
        "kpi": key,
        "label": label,
        "unit": unit,
        "value": value,
        "previous": previous,
        "change": change,
        "direction": None if is_missing(direction) else direction,
        "assessment": None if is_missing(comp.get("assessment")) else comp.get("assessment"),
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


def domain_of(mail_from: str) -> str | None:
    addr = parseaddr(mail_from)[1]
    return addr.rpartition("@")[2] or None


def _with_display_name(mail_from: str, name: str) -> str:
    """``mail_from`` with ``name`` as its display name when it has none (ar@x -> Name <ar@x>);
    the name's control characters become spaces (a company name with a line break)."""
    shown, addr = parseaddr(mail_from)
    name = header_text(name or "")
    if shown or not addr or not name:
        return mail_from
    return str(Address(display_name=name, addr_spec=addr))
