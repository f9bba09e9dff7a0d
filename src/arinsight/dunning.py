"""Reminders that get paid: the company profile, the dunning sequence, disputes and statements.

**Company profile** (``company`` in the params): who the reminders come from and how to pay:
``name``, ``address`` (lines), ``reply_to``, ``phone``, ``email``, ``bank`` (``account_holder``,
``bank_name``, ``iban``, ``bic``, or ``account_number`` and ``routing_number``), ``pay_link`` (a
URL template with ``{invoice_id}``, ``{amount}``, ``{currency}``, ``{customer_id}``; values are
URL-encoded), ``signature`` (lines) and ``locale`` (e.g. ``en_US``, ``de_DE``: dates and money in
every e-mail are written the way readers of that locale expect, with Babel).

**Dunning sequence** (``dunning.levels``, default polite -> firm -> final): per customer, one
reminder per period at most. A customer whose open overdue invoices have never been reminded, or
whose last reminder's invoices have all been settled since, starts a new case at level 1. A case
advances to level k + 1 only when

* level k was *sent* to that customer (the send log records every accepted message with its
  level and invoices: a dry run or a refused message does not count),
* at least one invoice of that reminder is still open (and neither matched by cash application
  nor in dispute),
* at least ``dunning.min_days_between`` days have passed since the period of level k ended, and
* the customer's oldest open overdue invoice is at least ``min_days_past_due`` of level k + 1
  past due.

After the last level nothing more is sent: the plan says "final notice sent: escalate".

**Excluded invoices**: invoices matched by cash application (in the ledger of ``arinsight match``
but not yet in the processed payments) are treated as paid by what was applied; invoices in
dispute (``disputes:`` in the sources file, beside ``sources:``) are left out of reminders and
of the levels. Both are listed in the plan.

**Statement of account**: an HTML file attached to every reminder with all the customer's open
invoices at T (overdue or not), their total, the pay link of each and the bank details.

**Late-payment interest and fees** (``company.late_payment``, off by default): when the profile
turns them on, every overdue invoice of a reminder and of the statement shows the interest the
law lets the company claim, ``open amount x (reference_rate + margin) / 100 x days past due /
day_count`` (the EU's statutory rate, Directive 2011/7/EU: the central bank's reference rate
plus 8 points), and a fixed compensation per overdue invoice (``fixed_fee``: 40 EUR in the EU),
with their totals, in the invoice's currency (:func:`late_payment_charges`). They are **shown,
never booked**: no open amount, balance or KPI includes them, and the reminder says so.

**Currency**: reminders and statements are in the customer's currency: each invoice's amount and
open amount as billed, in its own currency (:func:`in_invoice_currency`), and the totals per
currency (:func:`money_total`); the pay links carry that currency. The ranking of the worklist
and the dunning plan's amounts stay in the reporting currency, so customers compare.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

from arinsight import config
from arinsight.errors import ParamsError, SourceError

PAY_LINK_FIELDS = frozenset({"invoice_id", "amount", "currency", "customer_id"})
BANK_KEYS = ("account_holder", "bank_name", "iban", "bic", "account_number", "routing_number")
DEFAULT_LEVELS: tuple[tuple[str, int], ...] = (
    ("reminder_polite", 1),
    ("reminder_firm", 30),
    ("reminder_final", 60),
)
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


# --------------------------------------------------------------------------------------------
# company profile and locale
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LatePayment:
    """Late-payment interest and compensation a reminder may state (``company.late_payment``):
    the yearly rate is ``reference_rate + margin`` (in %), counted ``day_count`` days a year
    on the open amount for the days past due; ``fixed_fee`` is claimed once per overdue
    invoice, in its currency; ``basis`` names the law in the reminder's words."""

    reference_rate: float = 0.0
    margin: float = 8.0
    fixed_fee: float = 40.0
    day_count: int = 365
    basis: str = "the late payment rules (EU Directive 2011/7/EU)"

    @property
    def rate(self) -> float:
        """The yearly interest rate in %."""
        return round(self.reference_rate + self.margin, 6)

    def context(self) -> dict[str, Any]:
        """The terms as template variables (``late_payment.*``, besides the totals)."""
        return {
            "rate": f"{self.rate:g} %",
            "reference_rate": f"{self.reference_rate:g} %",
            "margin": f"{self.margin:g}",
            "basis": self.basis,
            "fixed_fee": self.fixed_fee,
        }


@dataclass(frozen=True)
class CompanyProfile:
    """The sender of every reminder and report e-mail (see the module docstring)."""

    name: str
    address: tuple[str, ...] = ()
    reply_to: str | None = None
    phone: str | None = None
    email: str | None = None
    bank: Mapping[str, str] = field(default_factory=dict)
    pay_link: str | None = None
    signature: tuple[str, ...] = ()
    locale: str = "en_US"
    #: late-payment interest and fees shown on reminders and statements (None: off)
    late_payment: LatePayment | None = None

    def money(self, value: Any, currency: str) -> str:
        """``value`` in ``currency`` as the locale writes it (1234.5 USD: en_US $1,234.50,
        de_DE 1.234,50 $); "n/a" for a missing value."""
        from babel.numbers import format_currency

        if value is None or (isinstance(value, float) and np.isnan(value)):
            return "n/a"
        return format_currency(float(value), currency, locale=self.locale)

    def date(self, value: Any) -> str:
        """A date as the locale writes it (medium format: en_US Oct 31, 2026; de_DE 31.10.2026)."""
        from babel.dates import format_date

        if value is None or pd.isna(value):
            return ""
        return format_date(pd.Timestamp(value).date(), format="medium", locale=self.locale)

    def link(self, invoice_id: str, amount: float, currency: str, customer_id: str) -> str:
        """The pay link of one invoice ("" without a template); values URL-encoded."""
        if not self.pay_link:
            return ""
        values = {
            "invoice_id": quote(str(invoice_id), safe=""),
            "amount": f"{float(amount):.2f}",
            "currency": quote(str(currency), safe=""),
            "customer_id": quote(str(customer_id), safe=""),
        }
        return self.pay_link.format(**values)

    def context(self) -> dict[str, Any]:
        """The profile as template variables (``company.*``)."""
        bank = {k: str(self.bank.get(k) or "") for k in BANK_KEYS}
        return {
            "has_bank": any(bank.values()),
            "name": self.name,
            "address": list(self.address),
            "reply_to": self.reply_to or "",
            "phone": self.phone or "",
            "email": self.email or "",
            "bank": bank,
            "has_pay_link": bool(self.pay_link),
            "signature": list(self.signature) or [self.name],
        }


def _lines(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(line.strip() for line in value.splitlines() if line.strip())
    if isinstance(value, Sequence):
        return tuple(str(v) for v in value)
    raise ParamsError(f"company.{key} must be text or a list of lines, got {value!r}")


def company_profile(params: Mapping[str, Any]) -> CompanyProfile:
    """The ``company`` section of the params, checked: a name; reply_to and email are e-mail
    addresses; bank keys are known; the pay link uses only {invoice_id} {amount} {currency}
    {customer_id}; the locale is one Babel knows. Each problem is one ParamsError naming the key."""
    from babel import Locale, UnknownLocaleError

    c = params.get("company") or {}
    if not isinstance(c, Mapping):
        raise ParamsError("company must be a mapping (see params/defaults.yaml)")
    name = str(c.get("name") or "").strip()
    if not name:
        raise ParamsError("company.name is required: reminders say who they come from")
    for key in ("reply_to", "email"):
        if c.get(key) and not _EMAIL.match(str(c[key]).strip()):
            raise ParamsError(f"company.{key} {c[key]!r} is not an e-mail address")
    bank = c.get("bank") or {}
    allowed = set(BANK_KEYS)
    if not isinstance(bank, Mapping) or set(bank) - allowed:
        raise ParamsError(f"company.bank keys must be among {sorted(allowed)}, got {bank!r}")
    link = c.get("pay_link")
    if link:
        try:
            used = {f for _, f, _, _ in string.Formatter().parse(str(link)) if f is not None}
        except ValueError as exc:
            raise ParamsError(f"company.pay_link {link!r}: {exc}") from None
        if used - PAY_LINK_FIELDS:
            raise ParamsError(
                f"company.pay_link uses unknown placeholder(s) {sorted(used - PAY_LINK_FIELDS)};"
                f" allowed: {sorted(PAY_LINK_FIELDS)}"
            )
    locale = str(c.get("locale") or "en_US")
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        raise ParamsError(f"company.locale {locale!r} is not a known locale (e.g. en_US)") from None
    return CompanyProfile(
        late_payment=_late_payment(c.get("late_payment")),
        name=name,
        address=_lines(c.get("address"), "address"),
        reply_to=str(c["reply_to"]).strip() if c.get("reply_to") else None,
        phone=str(c["phone"]) if c.get("phone") else None,
        email=str(c["email"]).strip() if c.get("email") else None,
        bank={str(k): str(v) for k, v in bank.items() if v not in (None, "")},
        pay_link=str(link) if link else None,
        signature=_lines(c.get("signature"), "signature"),
        locale=locale,
    )


def _late_payment(section: Any) -> LatePayment | None:
    """``company.late_payment`` checked: None unless ``enabled``; rates and the fee are numbers
    >= 0, ``day_count`` 360 or 365. Each problem is one ParamsError naming the key."""
    if section in (None, {}):
        return None
    if not isinstance(section, Mapping):
        raise ParamsError("company.late_payment must be a mapping (see params/defaults.yaml)")
    unknown = set(section) - {"enabled", "reference_rate", "margin", "fixed_fee", "day_count",
                              "basis"}  # fmt: skip
    if unknown:
        raise ParamsError(f"company.late_payment: unknown key(s) {sorted(unknown)}")
    if not section.get("enabled"):
        return None
    values: dict[str, Any] = {}
    for key in ("reference_rate", "margin", "fixed_fee"):
        raw = section.get(key, getattr(LatePayment, key))
        try:
            values[key] = float(raw)
        except (TypeError, ValueError):
            raise ParamsError(f"company.late_payment.{key} must be a number, got {raw!r}") from None
        if not values[key] >= 0:
            raise ParamsError(f"company.late_payment.{key} must be >= 0, got {raw!r}")
    days = section.get("day_count", 365)
    if days not in (360, 365):
        raise ParamsError(f"company.late_payment.day_count must be 360 or 365, got {days!r}")
    basis = str(section.get("basis") or LatePayment.basis)
    return LatePayment(**values, day_count=int(days), basis=basis)


def late_payment_charges(invoices: pd.DataFrame, terms: LatePayment) -> pd.DataFrame:
    """``invoices`` (open_amount and days_past_due, in each invoice's currency) with
    ``interest`` = open amount x (reference rate + margin) / 100 x days past due / day count and
    ``fee`` = the fixed compensation, both 0 for an invoice not past due, each rounded to the
    cent half up. An approximation on one point: the interest runs on the amount open at T for
    all the days past due (a part paid during the delay is not counted down by day)."""
    from decimal import ROUND_HALF_UP, Decimal

    out = invoices.copy()
    days = pd.to_numeric(out["days_past_due"], errors="coerce").fillna(0).astype("int64")
    late = (days > 0) & (out["open_amount"] > 0)
    rate = Decimal(str(terms.rate)) / Decimal(100) / Decimal(terms.day_count)

    def cents(value: Decimal) -> float:
        return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    out["interest"] = [
        cents(Decimal(str(round(float(a), 2))) * rate * int(d)) if is_late else 0.0
        for a, d, is_late in zip(out["open_amount"], days, late, strict=True)
    ]
    out["fee"] = np.where(late, round(terms.fixed_fee, 2), 0.0)
    return out


def charges_context(
    invoices: pd.DataFrame, profile: CompanyProfile, currency: str
) -> dict[str, Any] | None:
    """The late-payment block of a reminder or statement for ``invoices`` (in their own
    currencies; a ``currency`` column, else ``currency``): the terms and the totals of interest,
    fees and both, written per currency; None when the profile has them off or nothing is past
    due."""
    terms = profile.late_payment
    if terms is None or invoices.empty:
        return None
    c = late_payment_charges(invoices, terms)
    c = c[(c["interest"] > 0) | (c["fee"] > 0)]
    if c.empty:
        return None
    own = c["currency"].astype(str) if "currency" in c else pd.Series(currency, index=c.index)

    def per_currency(values: pd.Series) -> str:
        sums = values.groupby(own, sort=True).sum()
        return " + ".join(profile.money(round(float(v), 2), str(k)) for k, v in sums.items())

    return {
        **terms.context(),
        "fixed_fee": " / ".join(profile.money(terms.fixed_fee, str(k)) for k in sorted(set(own))),
        "invoices": len(c),
        "interest_total": per_currency(c["interest"]),
        "fee_total": per_currency(c["fee"]),
        "total": per_currency(c["interest"] + c["fee"]),
    }


# --------------------------------------------------------------------------------------------
# the dunning sequence
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One step of the sequence: its template and the days past due it needs."""

    number: int
    template: str
    min_days_past_due: int


def dunning_levels(params: Mapping[str, Any]) -> list[Level]:
    """``dunning.levels`` (a list of {template, min_days_past_due}, days not decreasing)."""
    section = params.get("dunning") or {}
    raw = section.get("levels") if isinstance(section, Mapping) else None
    if raw is None:
        raw = [{"template": t, "min_days_past_due": d} for t, d in DEFAULT_LEVELS]
    levels = []
    try:
        for i, item in enumerate(raw, start=1):
            levels.append(Level(i, str(item["template"]), int(item["min_days_past_due"])))
    except (TypeError, KeyError, ValueError):
        raise ParamsError(
            f"dunning.levels must be a list of {{template, min_days_past_due}}, got {raw!r}"
        ) from None
    days = [lv.min_days_past_due for lv in levels]
    if not levels or days[0] < 1 or days != sorted(days):
        raise ParamsError(f"dunning.levels: days past due must start >= 1 and not decrease: {days}")
    return levels


def parse_reminder_key(key: str) -> tuple[str, str, str]:
    """(period, customer_id, level) of a send-log key ``reminder:<period>:<customer>:<level>``.
    The customer id is percent-decoded (keys encode it; older logs hold it as it was, which
    decodes to itself unless it holds a ``%``), and may hold ``:``."""
    _, period, rest = str(key).split(":", 2)
    customer, _, level = rest.rpartition(":")
    return period, unquote(customer), level


def reminder_history(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Reminders sent, from the send log's records: customer_id, period, level, invoice_ids
    (a list). Records of other kinds, or without a level, are left out."""
    rows = []
    for rec in records:
        key = str(rec.get("key", ""))
        if rec.get("kind") != "reminder" or rec.get("level") is None:
            continue
        period, customer, _ = parse_reminder_key(key)
        rows.append(
            {
                "customer_id": customer,
                "period": period,
                "level": int(rec["level"]),
                "invoice_ids": list(rec.get("invoices") or []),
            }
        )
    return pd.DataFrame(rows, columns=["customer_id", "period", "level", "invoice_ids"])


PLAN_COLUMNS = [
    "customer_id",
    "level",
    "template",
    "action",
    "invoice_ids",
    "overdue_amount",
    "max_days_past_due",
    "previous_level",
    "previous_period",
    "reason",
]


def dunning_plan(
    positions: pd.DataFrame,
    period: Any,
    history: pd.DataFrame,
    levels: Sequence[Level],
    min_days_between: int = 14,
    excluded: Iterable[str] = (),
) -> pd.DataFrame:
    """The reminder of every customer with an open overdue invoice at T (rules: module docstring).

    ``positions``: invoice_positions at T (invoice_id, customer_id, open_amount, days_past_due);
    ``history``: :func:`reminder_history`; ``excluded``: invoice ids never reminded (matched by
    cash application, in dispute). One row per customer (:data:`PLAN_COLUMNS`): ``action`` is
    ``send`` (``level``/``template`` to send), ``wait`` (``reason`` says for what), ``escalate``
    (the final level was sent), or ``done`` (sent this period already).
    """
    from arinsight.ledger import period_bounds

    p = period_bounds(period) if isinstance(period, str) else period
    T = p.end
    excluded = set(map(str, excluded))
    pos = positions.assign(invoice_id=positions["invoice_id"].astype(str))
    pos = pos.assign(customer_id=pos["customer_id"].astype(str))
    first = levels[0].min_days_past_due
    due = pos.loc[
        (pos["open_amount"] > 0)
        & (pos["days_past_due"] >= first)
        & ~pos["invoice_id"].isin(excluded)
    ]
    rows = []
    by_level = {lv.number: lv for lv in levels}
    hist = history.sort_values(["period", "level"], kind="mergesort")
    for cust, inv in due.groupby("customer_id", sort=True):
        oldest = int(inv["days_past_due"].max())
        open_ids = set(inv["invoice_id"])
        row = {
            "customer_id": cust,
            "invoice_ids": sorted(open_ids),
            "overdue_amount": round(float(inv["open_amount"].sum()), 2),
            "max_days_past_due": oldest,
            "previous_level": None,
            "previous_period": None,
        }
        past = hist.loc[hist["customer_id"] == cust]
        last = past.iloc[-1] if len(past) else None
        if last is not None:
            row["previous_level"], row["previous_period"] = int(last["level"]), last["period"]
        if last is not None and last["period"] == p.label:
            rows.append(
                {
                    **row,
                    "level": int(last["level"]),
                    "template": "",
                    "action": "done",
                    "reason": "reminder sent for this period",
                }
            )
            continue
        continuing = last is not None and bool(open_ids & set(last["invoice_ids"]))
        if not continuing:
            level = by_level[1]
            rows.append(
                {
                    **row,
                    "level": 1,
                    "template": level.template,
                    "action": "send",
                    "reason": "new case" if last is None else "previous case settled",
                }
            )
            continue
        prev = int(last["level"])
        if prev >= len(levels):
            rows.append(
                {
                    **row,
                    "level": prev,
                    "template": "",
                    "action": "escalate",
                    "reason": f"final notice sent in {last['period']}: call or escalate",
                }
            )
            continue
        nxt = by_level[prev + 1]
        since = (T - period_bounds(str(last["period"])).end).days
        if since < int(min_days_between):
            reason = f"level {prev} sent {since} day(s) ago; next after {min_days_between}"
        elif oldest < nxt.min_days_past_due:
            reason = f"level {nxt.number} needs {nxt.min_days_past_due} days past due ({oldest})"
        else:
            rows.append(
                {
                    **row,
                    "level": nxt.number,
                    "template": nxt.template,
                    "action": "send",
                    "reason": f"level {prev} sent in {last['period']}, still unpaid",
                }
            )
            continue
        rows.append({**row, "level": prev, "template": "", "action": "wait", "reason": reason})
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


# --------------------------------------------------------------------------------------------
# excluded invoices: cash application and disputes
# --------------------------------------------------------------------------------------------


def applied_by_cash_application(
    params: Mapping[str, Any], payments: pd.DataFrame, as_of: Any
) -> pd.DataFrame:
    """Payments the cash-application ledger applied by T that the processed payments do not have
    yet (invoice_id, amount): they lower what reminders ask for. Empty without a ledger."""
    from arinsight.cashapp.apply import DEFAULT_OUT_DIR, LEDGER_FILE
    from arinsight.cashapp.ledger import ledger_payments, read_ledger

    section = params.get("cash_application") or {}
    path = section.get("ledger") or Path(section.get("out_dir") or DEFAULT_OUT_DIR) / LEDGER_FILE
    applied = ledger_payments(read_ledger(config.resolve_path(path)))
    known = set(payments["payment_id"].astype(str)) if len(payments) else set()
    new = applied.loc[
        ~applied["payment_id"].astype(str).isin(known) & applied["invoice_id"].notna()
    ]
    new = new.loc[pd.to_datetime(new["payment_date"]) <= pd.Timestamp(as_of)]
    return new[["invoice_id", "amount"]].reset_index(drop=True)


def apply_cash(positions: pd.DataFrame, applied: pd.DataFrame) -> pd.DataFrame:
    """Positions with the applied amounts taken off ``open_amount`` (floored at 0); an invoice
    then fully paid has ``days_past_due`` 0."""
    if applied.empty:
        return positions
    extra = applied.groupby("invoice_id")["amount"].sum()
    out = positions.copy()
    paid = out["invoice_id"].astype(str).map(extra).fillna(0.0)
    out["open_amount"] = (out["open_amount"] - paid).clip(lower=0.0).round(2)
    out.loc[out["open_amount"] <= 0, "days_past_due"] = 0
    return out


DISPUTE_COLUMNS = ("invoice_id", "reason", "opened_date")


def read_disputes(sources_path: str | Path | None) -> pd.DataFrame:
    """The invoices in dispute, from ``disputes:`` in the sources file (beside ``sources:``)::

        disputes:
          kind: csv            # csv | excel
          path: disputes.csv   # relative to the sources file
          sheet: disputes      # excel only
          columns: {invoice_id: Invoice, reason: Reason, opened_date: Opened}

    Returns invoice_id, reason, opened_date (empty when the sources file has no ``disputes``).
    A missing file or invoice column is a SourceError naming the file and column.
    """
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in DISPUTE_COLUMNS})
    if not sources_path:
        return empty
    spec_path = config.resolve_path(sources_path)
    if spec_path is None or not spec_path.exists():
        return empty
    spec = config.read_yaml(spec_path).get("disputes")
    if not spec:
        return empty
    if not isinstance(spec, Mapping) or spec.get("kind") not in ("csv", "excel"):
        raise SourceError(f"{spec_path} (disputes)", "expected {kind: csv|excel, path, columns}")
    path = config.resolve_path(spec.get("path"), spec_path.parent)
    if path is None or not path.exists():
        raise SourceError(str(path or spec_path), "disputes file not found")
    if spec["kind"] == "csv":
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, sep=spec.get("delimiter", ","))
    else:
        raw = pd.read_excel(path, sheet_name=spec.get("sheet", 0), dtype=str).fillna("")
    cols = {c: (spec.get("columns") or {}).get(c, c) for c in DISPUTE_COLUMNS}
    if cols["invoice_id"] not in raw.columns:
        raise SourceError(str(path), "required column missing", column="invoice_id")
    out = pd.DataFrame(
        {c: raw[s].astype(str).str.strip() if s in raw.columns else "" for c, s in cols.items()}
    )
    return out.loc[out["invoice_id"] != ""].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# the statement of account
# --------------------------------------------------------------------------------------------


def in_invoice_currency(positions: pd.DataFrame, reporting: str) -> pd.DataFrame:
    """``positions`` with ``amount`` and ``open_amount`` in each invoice's own currency (the
    ``currency`` column): what the customer was billed and owes, as on their invoices.

    The positions carry ``amount_doc`` and ``open_amount_doc`` (see docs/engine.md); where cash
    application has taken an amount off ``open_amount`` (in the reporting currency, so it no
    longer equals ``max(0, balance)``), the rest is converted back at the invoice's rate and
    rounded to the cent. Positions without document amounts (processed data of an older
    version) are all in ``reporting``."""
    out = positions.copy()
    if not {"currency", "amount_doc", "open_amount_doc"} <= set(out.columns):
        out["currency"] = reporting
        return out
    out["currency"] = out["currency"].fillna(reporting).astype(str)
    doc_open = out["open_amount_doc"].astype("float64")
    if "balance" in out:
        untouched = np.isclose(out["open_amount"], out["balance"].clip(lower=0.0), atol=0.005)
        rate = out["fx_rate"].astype("float64") if "fx_rate" in out else 1.0
        back = (out["open_amount"].astype("float64") / rate).round(2)
        doc_open = doc_open.where(untouched, back)
    out["amount"] = out["amount_doc"].astype("float64")
    out["open_amount"] = doc_open
    return out


def currency_of(invoices: pd.DataFrame, reporting: str) -> str:
    """The one currency of ``invoices`` (a customer's: its invoices' currency), or ``reporting``
    when they have none or several."""
    codes = invoices["currency"].dropna().unique() if "currency" in invoices else []
    return str(codes[0]) if len(codes) == 1 else reporting


def money_total(invoices: pd.DataFrame, profile: CompanyProfile, reporting: str) -> str:
    """The open amount of ``invoices`` written per currency ("CA$1,100.00 + $300.00" for a
    customer billed in two; one amount for one currency)."""
    if "currency" not in invoices or invoices.empty:
        return profile.money(float(invoices["open_amount"].sum()), reporting)
    sums = invoices.groupby("currency", sort=True)["open_amount"].sum()
    return " + ".join(profile.money(round(float(v), 2), str(c)) for c, v in sums.items())


def statement_rows(
    positions: pd.DataFrame, customer_id: str, profile: CompanyProfile, currency: str
) -> list[dict[str, str]]:
    """Every open invoice of the customer at T (oldest due first) as formatted template rows,
    each in its own ``currency`` column when the positions have one (see
    :func:`in_invoice_currency`), else in ``currency``; with the profile's late-payment terms,
    each row's ``interest`` and ``fee`` (:func:`late_payment_charges`)."""
    inv = positions.loc[
        (positions["customer_id"].astype(str) == str(customer_id)) & (positions["open_amount"] > 0)
    ].sort_values(["due_date", "invoice_id"], kind="mergesort")
    own = inv["currency"] if "currency" in inv else pd.Series(currency, index=inv.index)
    if profile.late_payment is not None:
        inv = late_payment_charges(inv, profile.late_payment)
    return [
        {
            "invoice_id": str(r.invoice_id),
            "invoice_date": profile.date(getattr(r, "invoice_date", None)),
            "due_date": profile.date(r.due_date),
            "days_past_due": str(int(r.days_past_due)),
            "amount": profile.money(getattr(r, "amount", None), cur),
            "open_amount": profile.money(r.open_amount, cur),
            "pay_link": profile.link(r.invoice_id, r.open_amount, cur, customer_id),
            **charge_cells(r, profile, cur),
        }
        for r, cur in zip(inv.itertuples(index=False), own.astype(str), strict=True)
    ]


def charge_cells(row: Any, profile: CompanyProfile, currency: str) -> dict[str, str]:
    """A template row's ``interest`` and ``fee`` (empty when not past due; none when off)."""
    if profile.late_payment is None:
        return {}
    interest, fee = float(getattr(row, "interest", 0.0)), float(getattr(row, "fee", 0.0))
    return {
        "interest": profile.money(interest, currency) if interest or fee else "",
        "fee": profile.money(fee, currency) if fee else "",
    }


def read_send_records(log_path: str | Path) -> list[dict[str, Any]]:
    """Every record of the JSON-lines send log (a missing log is empty)."""
    path = Path(log_path)
    if not path.exists():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError as exc:
                raise ParamsError(f"{path}: line {number}: not a send-log record ({exc})") from None
    return out
