"""The cleaning rules, each with its reason code, table by table. A rule quarantines the kept
rows it fails (:class:`~arinsight.clean.quarantine.Rules`); the first reason that applies wins, in
the order of :data:`RULE_ORDER`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from arinsight import fx, schemas
from arinsight.clean.currency import RATE, RATE_DATE
from arinsight.clean.quarantine import Rules, as_bools
from arinsight.ingest import DATE_ASSUMED, UNDATED
from arinsight.ingest.parse import cents_column
from arinsight.ledger import isin, lookup, positions
from arinsight.schemas import (
    PARSE_ERRORS,
    PARSE_REASON,
    REQUIRED,
)

RULE_ORDER = (
    "repeated_header",
    "malformed_row",
    "unparseable_value",
    "out_of_range",
    "sub_cent_amount",
    "undated_payment",
    "missing_required",
    "duplicate_exact",
    "duplicate_key_conflict",
    "future_date",
    "non_positive_amount",
    "other_company_code",
    "unknown_currency",
    "unknown_customer",
    "unknown_invoice",
    "unknown_kind",
    "unknown_outcome",
    "payment_before_invoice",
    "adjustment_before_invoice",
    "resolved_before_opened",
)
#: Event dates checked against the run date (due dates are allowed to be in the future).
EVENT_DATES = {
    "invoices": ["invoice_date"],
    "payments": ["payment_date"],
    "commissions": ["accrual_date", "settlement_date"],
    "adjustments": ["adjustment_date"],
    "disputes": ["opened_date", "resolved_date"],
    "promises": ["made_date"],
}


_PARSE_REASONS = (
    "repeated_header",
    "malformed_row",
    "unparseable_value",
    "out_of_range",
    "sub_cent_amount",
)

#: Numbers that cannot be negative (cleaning quarantines them as out_of_range); amounts of
#: invoices and payments must be positive (non_positive_amount).
NON_NEGATIVE = {
    "customers": ("credit_limit", "payment_terms_days"),
    "invoices": ("energy_kwh",),
}
#: Payment terms longer than this many days are out_of_range (a typo, or a date read as days).
MAX_TERMS_DAYS = 3650


def _parse_reason(df: pd.DataFrame) -> pd.Series:
    """The reason ingest gave each row's unreadable values ("" when none)."""
    if PARSE_REASON in df:
        return df[PARSE_REASON].fillna("").astype(str)
    errors = df[PARSE_ERRORS].fillna("")  # interim written before reasons were recorded
    return errors.where(errors == "", "unparseable_value")


def _out_of_range(rules: Rules) -> None:
    """out_of_range: a negative credit limit, payment terms or energy usage, or terms beyond
    :data:`MAX_TERMS_DAYS` (the schema of the clean tables does not admit them)."""
    columns = NON_NEGATIVE.get(rules.table, ())
    if not columns:
        return

    def beyond(df: pd.DataFrame, col: str) -> pd.Series:
        neg = df[col].notna() & (df[col] < 0)
        if col == "payment_terms_days":
            neg |= df[col].notna() & (df[col] > MAX_TERMS_DAYS)
        return neg

    def detail(df: pd.DataFrame) -> pd.Series:  # the first column out of range
        text = pd.Series("", index=df.index, dtype=object)
        for col in columns:
            text = text.where(~beyond(df, col) | (text != ""), col + " " + df[col].astype(str))
        return text

    bad = np.zeros(len(rules.frame), dtype=bool)
    for col in columns:
        bad |= beyond(rules.frame, col).to_numpy()
    rules.quarantine("out_of_range", bad, detail)


def _generic_rules(rules: Rules, run_date: pd.Timestamp) -> None:
    """The reasons of unreadable values (malformed_row, unparseable_value, out_of_range,
    sub_cent_amount), out_of_range numbers, (undated_payment), missing_required, duplicates,
    future_date: the same for every table; undated_payment only exists for payments derived from
    a flat export."""
    df = rules.frame
    reason = _parse_reason(df)
    if (reason != "").any():
        for code in _PARSE_REASONS:
            rules.quarantine(code, (reason == code).to_numpy(), lambda bad: bad[PARSE_ERRORS])
    _out_of_range(rules)
    if UNDATED in df:
        rules.quarantine(
            "undated_payment",
            df[UNDATED].fillna(False).astype(bool) & df["payment_date"].isna(),
            lambda bad: (
                "paid "
                + bad["amount"].map(lambda v: "?" if pd.isna(v) else f"{v:,.2f}").astype(str)
                + " with no payment date"
            ),
        )

    def first_missing(bad: pd.DataFrame) -> pd.Series:
        which = pd.Series("", index=bad.index, dtype=str)
        for col in REQUIRED[rules.table]:
            which = which.where(~bad[col].isna() | (which != ""), col)
        return "empty " + which

    missing = np.zeros(len(df), dtype=bool)
    for col in REQUIRED[rules.table]:
        missing |= df[col].isna().to_numpy()
    rules.quarantine("missing_required", missing, first_missing)
    rules.duplicates()
    future = np.zeros(len(df), dtype=bool)
    for col in EVENT_DATES.get(rules.table, []):
        future |= (df[col] > run_date).to_numpy()
    rules.quarantine("future_date", future, f"after run date {run_date:%Y-%m-%d}")


def _non_positive_amount(rules: Rules) -> None:
    """non_positive_amount: an invoice or payment amount <= 0 (to the exact cent)."""
    df = rules.frame
    cents = df[cents_column("amount")] if cents_column("amount") in df else df["amount"] * 100
    rules.quarantine(
        "non_positive_amount",
        (cents <= 0).fillna(False).astype(bool),
        lambda bad: "amount " + bad["amount"].map(lambda v: f"{v:,.2f}").astype(str),
    )


def _unknown_reference(
    rules: Rules, column: str, parent: pd.DataFrame, at: np.ndarray | None = None
) -> None:
    """unknown_customer / unknown_invoice: a non-empty reference missing from the clean parent.
    ``at``: each row's :func:`~arinsight.ledger.positions` in the parent, when already known."""
    df = rules.frame
    reason = {"customer_id": "unknown_customer", "invoice_id": "unknown_invoice"}[column]
    where = "customers" if column == "customer_id" else "(clean) invoices"
    found = isin(df[column], parent[column]) if at is None else at >= 0
    rules.quarantine(
        reason,
        df[column].notna() & ~found,
        lambda bad: column.removesuffix("_id") + " " + bad[column].astype(str) + f" not in {where}",
    )


def clean_customers(df: pd.DataFrame, run_date: pd.Timestamp) -> Rules:
    """Customers: the generic rules (out_of_range covers credit limits and payment terms)."""
    rules = Rules("customers", df)
    _generic_rules(rules, run_date)
    return rules


def clean_sales_reps(df: pd.DataFrame, run_date: pd.Timestamp) -> Rules:
    """Sales reps: the generic rules."""
    rules = Rules("sales_reps", df)
    _generic_rules(rules, run_date)
    return rules


def clean_invoices(
    df: pd.DataFrame,
    customers: pd.DataFrame,
    run_date: pd.Timestamp,
    reporting_currency: str,
    fx_rates: Mapping[str, Any],
    company_codes: Sequence[str] | None = None,
) -> Rules:
    """The invoice rules. A due date before the invoice date is **kept as given** and counted
    (``due_before_invoice``, flagged): in SAP the net due date runs from the baseline date
    (usually the document date), so an invoice posted late (document 2026-08-11, 30 days net,
    posted 2026-09-15) is due 2026-09-10, before its posting date, and really is overdue from
    then; the customer's statement and SAP's own aging (FBL5N) say so. Moving the due date to
    the invoice date would make it look 5 days less late than the customer's terms say."""
    terms = customers.set_index("customer_id")["payment_terms_days"]
    at = positions(df["customer_id"], terms.index, unique=True)  # each invoice's customer, once
    df = df.copy(deep=False)  # copy-on-write: new columns leave the caller's frame alone
    df["currency"] = df["currency"].str.strip().str.upper()  # "usd " is USD: codes are case-blind
    missing_due = df["due_date"].isna()
    derived_due = df["invoice_date"] + pd.to_timedelta(
        lookup(df["customer_id"], terms, at), unit="D"
    )
    df["due_date_derived"] = missing_due & derived_due.notna() & df[PARSE_ERRORS].eq("")
    df["due_date"] = df["due_date"].where(~missing_due, derived_due)
    rules = Rules("invoices", df)
    _generic_rules_with_due(rules, run_date)
    _non_positive_amount(rules)
    frame = rules.frame
    rules.set_aside = frame["invoice_id"].iloc[:0]
    if company_codes is not None:  # the legal entities to report: the others are set aside
        code = frame["company_code"].astype("str").str.strip()
        other = ~code.isin(list(company_codes)) & rules.alive
        rules.set_aside = frame.loc[other, "invoice_id"]
        rules.quarantine(
            "other_company_code",
            other,
            lambda bad: (
                "company code "
                + code[bad.index].fillna("(none)")
                + " not in company_codes "
                + ", ".join(company_codes)
            ),
        )
    # each invoice's rate: the latest of its currency dated on or before its invoice date
    rate, rate_date, no_rate = fx.invoice_rates(
        frame["currency"], frame["invoice_date"], fx_rates, reporting_currency
    )
    rules.quarantine("unknown_currency", no_rate.ne(""), lambda bad: no_rate[bad.index])
    if rate is not None:  # None: every invoice is in the reporting currency
        frame[RATE], frame[RATE_DATE] = rate, rate_date
    _unknown_reference(rules, "customer_id", customers, at)
    rules.flag("due_date_derived", int(rules.df["due_date_derived"].sum()))
    # an invoice due before its invoice (posting) date is kept, its due date as given: SAP
    # computes the net due date from the baseline (document) date, which may precede posting
    early = as_bools(frame["due_date"] < frame["invoice_date"]) & rules.alive
    rules.flag("due_before_invoice", int(early.sum()))
    rules.customer_at = at[rules.alive] if at is not None else None
    return rules


def _generic_rules_with_due(rules: Rules, run_date: pd.Timestamp) -> None:
    """The generic rules, with "due date missing and no payment terms" as missing_required."""
    # run the generic rules first so their reasons take precedence, then the underivable due dates
    _generic_rules(rules, run_date)
    rules.quarantine(
        "missing_required",
        rules.frame["due_date"].isna(),
        "empty due_date and no payment terms for the customer",
    )


def _before_invoice(rules: Rules, reason: str, column: str, inv_date: pd.Series, verb: str) -> None:
    """``reason``: a row dated (``column``) before its invoice's date (``inv_date``, one per row
    of ``rules.frame``; null where the invoice is unknown), with the detail "<verb> <date>
    before invoice date <date>"."""
    frame = rules.frame
    rules.quarantine(
        reason,
        inv_date.notna() & (frame[column] < inv_date),
        lambda bad: (
            verb
            + " "
            + bad[column].dt.strftime("%Y-%m-%d")
            + " before invoice date "
            + inv_date[bad.index].dt.strftime("%Y-%m-%d")
        ),
    )


def _set_aside(rules: Rules, aside: pd.Series | None) -> None:
    """Rows referring to an invoice set aside as other_company_code follow it there."""
    if aside is not None and len(aside):
        rules.quarantine(
            "other_company_code",
            rules.frame["invoice_id"].isin(aside).to_numpy(),
            lambda bad: (
                "its invoice " + bad["invoice_id"].astype(str) + " is of another company code"
            ),
        )


def clean_payments(
    df: pd.DataFrame,
    invoices: pd.DataFrame,
    customers: pd.DataFrame,
    run_date: pd.Timestamp,
    aside: pd.Series | None = None,
) -> Rules:
    df = df.assign(
        **{DATE_ASSUMED: df[DATE_ASSUMED].fillna(False).astype(bool)}
        if DATE_ASSUMED in df
        else {DATE_ASSUMED: False}
    )
    rules = Rules("payments", df)
    _generic_rules(rules, run_date)
    _non_positive_amount(rules)
    _set_aside(rules, aside)
    _unknown_reference(rules, "customer_id", customers)
    frame = rules.frame
    inv_dates = invoices.set_index("invoice_id")["invoice_date"]
    # each payment's invoice, once (the clean invoices' ids are unique: duplicates() saw to it)
    at = positions(frame["invoice_id"], inv_dates.index, unique=True)
    _unknown_reference(rules, "invoice_id", invoices, at)
    inv_date = lookup(frame["invoice_id"], inv_dates, at)
    _before_invoice(rules, "payment_before_invoice", "payment_date", inv_date, "paid")
    rules.flag("payment_date_assumed", int(rules.df[DATE_ASSUMED].sum()))
    rules.invoice_at = at[rules.alive] if at is not None else None
    return rules


def clean_commissions(
    df: pd.DataFrame,
    invoices: pd.DataFrame,
    run_date: pd.Timestamp,
    aside: pd.Series | None = None,
) -> Rules:
    rules = Rules("commissions", df)
    _generic_rules(rules, run_date)
    _set_aside(rules, aside)
    _unknown_reference(rules, "invoice_id", invoices)
    return rules


def clean_adjustments(df: pd.DataFrame, invoices: pd.DataFrame, run_date: pd.Timestamp) -> Rules:
    """Write-offs, credit notes and adjustments: the generic rules, a positive amount, a known
    invoice (whose customer fills an empty ``customer_id``), a known kind (the words of
    :data:`~arinsight.schemas.ADJUSTMENT_WORDS`, case, spaces and hyphens ignored) and a date on
    or after the invoice's (``adjustment_before_invoice``)."""
    df = df.copy(deep=False)
    df["kind"] = _words(df["kind"], schemas.ADJUSTMENT_WORDS)
    inv = invoices.set_index("invoice_id")
    at = positions(df["invoice_id"], inv.index, unique=True)
    df["customer_id"] = df["customer_id"].fillna(lookup(df["invoice_id"], inv["customer_id"], at))
    rules = Rules("adjustments", df)
    _generic_rules(rules, run_date)
    _non_positive_amount(rules)
    _unknown_reference(rules, "invoice_id", invoices)
    frame = rules.frame
    rules.quarantine(
        "unknown_kind",
        ~frame["kind"].isin(list(schemas.ADJUSTMENT_KINDS)),
        lambda bad: "kind " + bad["kind"].astype(str),
    )
    inv_date = lookup(frame["invoice_id"], inv["invoice_date"])
    _before_invoice(rules, "adjustment_before_invoice", "adjustment_date", inv_date, "dated")
    return rules


def _words(values: pd.Series, words: Mapping[str, str]) -> pd.Series:
    """Text read as one of ``words``' canonical values (case, spaces and hyphens ignored); a
    word not in ``words`` is kept as written (a rule then quarantines it)."""
    text = values.astype("string").str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    return text.map(words).astype("string").fillna(values)


def clean_disputes(df: pd.DataFrame, invoices: pd.DataFrame, run_date: pd.Timestamp) -> Rules:
    """Disputes: the generic rules, a known invoice (whose customer fills an empty
    ``customer_id`` and whose amount an empty ``amount``: the whole invoice disputed), a known
    outcome (:data:`~arinsight.schemas.OUTCOME_WORDS`), and a resolution on or after the opening
    that has both its date and its outcome (``resolved_before_opened``)."""
    df = df.copy(deep=False)
    df["outcome"] = _words(df["outcome"], schemas.OUTCOME_WORDS)
    inv = invoices.set_index("invoice_id")
    at = positions(df["invoice_id"], inv.index, unique=True)
    df["customer_id"] = df["customer_id"].fillna(lookup(df["invoice_id"], inv["customer_id"], at))
    whole = df["amount"].isna() & df[PARSE_ERRORS].eq("")
    df["amount"] = df["amount"].where(~whole, lookup(df["invoice_id"], inv["amount"], at))
    c = cents_column("amount")
    if c in df and c in inv:
        df[c] = df[c].where(~whole, lookup(df["invoice_id"], inv[c], at))
    rules = Rules("disputes", df)
    _generic_rules(rules, run_date)
    _unknown_reference(rules, "invoice_id", invoices)
    _non_positive_amount(rules)
    frame = rules.frame
    rules.quarantine(
        "unknown_outcome",
        frame["outcome"].notna() & ~frame["outcome"].isin(list(schemas.DISPUTE_OUTCOMES)),
        lambda bad: "outcome " + bad["outcome"].astype(str),
    )
    resolved, outcome = frame["resolved_date"].notna(), frame["outcome"].notna()
    rules.quarantine(
        "resolved_before_opened",
        as_bools(frame["resolved_date"] < frame["opened_date"]) | as_bools(resolved != outcome),
        lambda bad: (
            "opened "
            + bad["opened_date"].dt.strftime("%Y-%m-%d")
            + ", resolved "
            + bad["resolved_date"].dt.strftime("%Y-%m-%d").fillna("-")
            + ", outcome "
            + bad["outcome"].astype(str).fillna("-")
        ),
    )
    return rules


def clean_promises(
    df: pd.DataFrame, invoices: pd.DataFrame, customers: pd.DataFrame, run_date: pd.Timestamp
) -> Rules:
    """Promises to pay: the generic rules, a known customer and (when given) invoice, a positive
    amount (in the reporting currency)."""
    rules = Rules("promises", df)
    _generic_rules(rules, run_date)
    _non_positive_amount(rules)
    _unknown_reference(rules, "customer_id", customers)
    _unknown_reference(rules, "invoice_id", invoices)
    return rules
