"""Clean: the cleaning rules, each with a reason code, and the data-quality report.

Input: the tables ``ingest`` read (canonical columns, parsed values, ``_parse_errors``,
``_source_file``, ``_source_row``). Output: clean canonical tables, a quarantine table (file, row,
reason, the row as read) and a summary. Every row read ends up in exactly one place::

    rows read = rows kept + rows quarantined + exact duplicates dropped

which :func:`check_conservation` asserts on every run. A row gets the first reason that applies, in
this order (``RULE_ORDER``): unparseable_value, missing_required, duplicate_exact (dropped; the first
copy is kept), duplicate_key_conflict (every version quarantined), future_date (an event date after
the run date; due dates may lie in the future), non_positive_amount (invoices and payments),
other_company_code (``company_codes`` in the sources file selects the legal entities to report:
invoices of the others, and their payments and commissions, are set aside under this code),
unknown_currency, unknown_customer, unknown_invoice, payment_before_invoice.
Tables are cleaned in dependency order (customers, sales_reps, invoices, payments, commissions) and
references are checked against the *clean* parent table, so a payment to a quarantined invoice is
quarantined as unknown_invoice.

Kept rows that a rule marks (not removed): ``due_date_derived`` (a missing due date set to
invoice date + the customer's payment terms; without terms the row is missing_required) and
``is_overpaid`` (applied payments exceed the invoice amount: a credit balance, reported apart),
``due_before_invoice`` (counted only: a due date before the invoice date is kept as given, see
:func:`_clean_invoices`).

Money: amounts in another currency than the reporting one are converted with ``fx_rates``
(1 unit = rate x reporting currency) and rounded to 2 decimals. Payments carry no currency in the
canonical model: a payment applied to an invoice is taken in that invoice's currency; unapplied
cash in the reporting currency. Assumption: one rate per currency for the whole dataset.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandera.errors import SchemaErrors

from arinsight import config, fx, money, schemas
from arinsight.errors import CleaningError, ConservationError
from arinsight.files import fingerprint, write_json
from arinsight.ingest import DATE_ASSUMED, UNDATED, empty_ingested, parallel_writes
from arinsight.ingest.parse import MONEY_COLUMNS, cents_column
from arinsight.ledger import FolderTables, isin, lookup, positions, read_table
from arinsight.schemas import (
    CANONICAL,
    DATE_COLUMNS,
    KEYS,
    PARSE_ERRORS,
    PARSE_REASON,
    PROVENANCE,
    REASONS,
    REQUIRED,
    SEGMENT_COLUMNS,
)

TABLE_ORDER = (
    "customers",
    "sales_reps",
    "invoices",
    "payments",
    "commissions",
    "adjustments",
    "disputes",
    "promises",
)
#: Tables a dataset may lack altogether (a caller may leave them out of the mapping it cleans).
OPTIONAL_TABLES = ("adjustments", "disputes", "promises")
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
QUARANTINE_COLUMNS = ["table", "source_file", "source_row", "key", "reason", "detail", "record"]


@dataclass
class CleanResult:
    """Clean tables, the quarantine, exact duplicates dropped and the counts of the run."""

    tables: Mapping[str, pd.DataFrame]
    quarantine: pd.DataFrame
    summary: dict[str, Any]

    def summary_table(self) -> pd.DataFrame:
        """Counts by table and rule (quarantined, dropped or flagged rows), for the notebook."""
        rows = [
            {
                "table": table,
                "reason": reason,
                "action": REASONS[reason]["action"],
                "rows": n,
                "meaning": REASONS[reason]["text"],
            }
            for table, counts in self.summary["reasons"].items()
            for reason, n in counts.items()
        ]
        return pd.DataFrame(rows, columns=["table", "reason", "action", "rows", "meaning"])

    def conservation_table(self) -> pd.DataFrame:
        """Rows read, kept, quarantined and dropped per table, with the balance check."""
        df = pd.DataFrame.from_dict(self.summary["tables"], orient="index")
        df.index.name = "table"
        df["balanced"] = df["read"] == df["kept"] + df["quarantined"] + df["duplicates_dropped"]
        df["balanced"] = df["balanced"].map({True: "yes", False: "NO"})
        return df.reset_index().rename(
            columns={"read": "rows read", "duplicates_dropped": "duplicates dropped"}
        )


# --------------------------------------------------------------------------- helpers


def _as_date(value: Any) -> pd.Timestamp:
    """The run date (today when none is given; :func:`arinsight.periods.as_date`)."""
    from arinsight.periods import as_date

    if value is None or value == "":
        return pd.Timestamp.today().normalize()
    return pd.Timestamp(as_date(value, "run_date"))


def _record_json(df: pd.DataFrame) -> pd.Series:
    """Each row's canonical values as a JSON object (text), for the quarantine file: missing
    values as null, dates as YYYY-MM-DD, keys sorted."""
    cols = [c for c in df.columns if not c.startswith("_")]
    values = []
    for c in cols:
        col = df[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            col = col.dt.strftime("%Y-%m-%d")
        items = col.astype(object).tolist()  # Python values (numbers, text, booleans)
        for i in np.flatnonzero(df[c].isna().to_numpy()):
            items[i] = None
        values.append(items)
    rows = zip(*values, strict=True) if cols else [()] * len(df)
    return pd.Series(
        [
            json.dumps(dict(zip(cols, row, strict=True)), sort_keys=True, default=str)
            for row in rows
        ],
        index=df.index,
        dtype=str,
    )


class _Rules:
    """Applies the rules to one table, moving rows to the quarantine as they fail.

    The rows read stay in ``frame`` (in the order read); ``alive`` marks the rows kept so far, so a
    rule looks at every row at once and only the few rows it quarantines are copied. ``df`` is the
    kept rows as a frame (built when asked for)."""

    def __init__(self, table: str, df: pd.DataFrame):
        self.table = table
        self.read = len(df)
        self.counts: dict[str, int] = {}
        self.amounts: dict[str, float] = {}  # money held back per reason (tables with amounts)
        self.quarantined: list[pd.DataFrame] = []
        self.dropped = 0
        #: positions of the kept rows in a parent table, when a rule computed them
        self.customer_at: np.ndarray | None = None
        self.invoice_at: np.ndarray | None = None
        #: invoice ids set aside as other_company_code (their payments and commissions follow)
        self.set_aside: pd.Series | None = None
        self.df = df

    @property
    def df(self) -> pd.DataFrame:
        """The rows kept so far, in the order read."""
        if self._kept is None:
            self._kept = self.frame.take(np.flatnonzero(self.alive)).reset_index(drop=True)
        return self._kept

    def release(self) -> None:
        """Let go of the rows (the counts and the quarantine stay)."""
        self.frame = self._kept = None  # type: ignore[assignment]

    def settle(self) -> pd.DataFrame:
        """The kept rows, once every rule has run, without what only the rules read (parse
        errors, source file and row): the rows read are let go (the quarantine already holds
        copies of those it needs), so a large table is not held twice."""
        done_with = [c for c in (PARSE_ERRORS, PARSE_REASON, *PROVENANCE) if c in self.frame]
        kept = self.frame.drop(columns=done_with)
        if not self.alive.all():
            kept = kept.take(np.flatnonzero(self.alive)).reset_index(drop=True)
        self.df = kept
        return kept

    @df.setter
    def df(self, value: pd.DataFrame) -> None:
        self.frame = value.reset_index(drop=True)
        self.alive = np.ones(len(self.frame), dtype=bool)
        self._kept: pd.DataFrame | None = self.frame

    def quarantine(
        self,
        reason: str,
        mask: pd.Series | np.ndarray,
        detail: str | Callable[[pd.DataFrame], pd.Series] = "",
    ) -> None:
        """Quarantine the kept rows where ``mask`` (one value per row of ``frame``) is true;
        ``detail`` is a text, or a function giving the text of each row of the quarantined
        frame."""
        mask = _bools(mask) & self.alive
        n = int(mask.sum())
        if n == 0:
            return
        bad = self.frame[mask]
        detail = (
            pd.Series(detail(bad), index=bad.index)
            if callable(detail)
            else pd.Series(detail, index=bad.index)
        )
        self.quarantined.append(
            pd.DataFrame(
                {
                    "table": self.table,
                    "source_file": bad["_source_file"].astype(str),
                    "source_row": bad["_source_row"].astype("int64"),
                    "key": bad[KEYS[self.table]]
                    .astype(str)
                    .where(bad[KEYS[self.table]].notna(), ""),
                    "reason": reason,
                    "detail": detail.astype(str),
                    "record": _record_json(bad),
                }
            )
        )
        self.counts[reason] = self.counts.get(reason, 0) + n
        money = (
            "amount"
            if "amount" in bad
            else "commission_amount"
            if "commission_amount" in bad
            else None
        )
        if money:
            total = float(pd.to_numeric(bad[money], errors="coerce").fillna(0.0).sum())
            self.amounts[reason] = round(self.amounts.get(reason, 0.0) + total, 2)
        self.alive &= ~mask
        self._kept = None

    def duplicates(self) -> None:
        """duplicate_exact (dropped, the first copy kept) then duplicate_key_conflict (every
        version quarantined) among the kept rows.

        Rows that are exact copies share their key, so only rows whose key is repeated are
        compared on every column."""
        key = KEYS[self.table]
        cols = CANONICAL[self.table] + [c for c in self.frame.columns if c.startswith("_cents_")]
        codes = pd.factorize(self.frame[key])[0]  # one hash pass over the key, no copy of it
        kept = np.flatnonzero(self.alive)
        repeated = kept[_repeated(codes[kept])]
        dup = self.frame[cols].take(repeated).duplicated(keep="first").to_numpy()
        n = int(dup.sum())
        if n:
            self.counts["duplicate_exact"] = n
            self.dropped = n
            self.alive[repeated[dup]] = False
            self._kept = None
        # a key is still repeated only among the rows that repeated it before
        left = repeated[~dup]
        conflict = np.zeros(len(self.frame), dtype=bool)
        conflict[left[_repeated(codes[left])]] = True
        self.quarantine(
            "duplicate_key_conflict",
            conflict,
            f"{key} appears more than once with different content",
        )

    def flag(self, reason: str, n: int) -> None:
        if n:
            self.counts[reason] = self.counts.get(reason, 0) + int(n)

    def quarantine_frame(self) -> pd.DataFrame:
        if not self.quarantined:
            return pd.DataFrame({c: pd.Series(dtype=str) for c in QUARANTINE_COLUMNS}).astype(
                {"source_row": "int64"}
            )
        return pd.concat(self.quarantined, ignore_index=True)


def _repeated(codes: np.ndarray) -> np.ndarray:
    """``values.duplicated(keep=False)`` of the values with these :func:`pandas.factorize`
    codes (-1: missing; missing values equal each other), as a numpy array."""
    if not len(codes):
        return np.zeros(0, dtype=bool)
    counts = np.bincount(codes + 1)  # slot 0: missing values
    return counts[codes + 1] > 1


def _bools(mask: pd.Series | np.ndarray) -> np.ndarray:
    """A rule's mask as a numpy boolean array (missing = False)."""
    if isinstance(mask, np.ndarray) and mask.dtype == bool:
        return mask
    return pd.Series(mask).fillna(False).astype(bool).to_numpy()


# --------------------------------------------------------------------------- the rules


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


def _out_of_range(rules: _Rules) -> None:
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


def _generic_rules(rules: _Rules, run_date: pd.Timestamp) -> None:
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


def _non_positive_amount(rules: _Rules) -> None:
    """non_positive_amount: an invoice or payment amount <= 0 (to the exact cent)."""
    df = rules.frame
    cents = df[cents_column("amount")] if cents_column("amount") in df else df["amount"] * 100
    rules.quarantine(
        "non_positive_amount",
        (cents <= 0).fillna(False).astype(bool),
        lambda bad: "amount " + bad["amount"].map(lambda v: f"{v:,.2f}").astype(str),
    )


def _unknown_reference(
    rules: _Rules, column: str, parent: pd.DataFrame, at: np.ndarray | None = None
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


def _clean_customers(df: pd.DataFrame, run_date: pd.Timestamp) -> _Rules:
    rules = _Rules("customers", df)
    _generic_rules(rules, run_date)
    return rules


def _clean_invoices(
    df: pd.DataFrame,
    customers: pd.DataFrame,
    run_date: pd.Timestamp,
    reporting_currency: str,
    fx_rates: Mapping[str, Any],
    company_codes: Sequence[str] | None = None,
) -> _Rules:
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
    rules = _Rules("invoices", df)
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
        frame[_RATE], frame[_RATE_DATE] = rate, rate_date
    _unknown_reference(rules, "customer_id", customers, at)
    rules.flag("due_date_derived", int(rules.df["due_date_derived"].sum()))
    # an invoice due before its invoice (posting) date is kept, its due date as given: SAP
    # computes the net due date from the baseline (document) date, which may precede posting
    early = _bools(frame["due_date"] < frame["invoice_date"]) & rules.alive
    rules.flag("due_before_invoice", int(early.sum()))
    rules.customer_at = at[rules.alive] if at is not None else None
    return rules


def _generic_rules_with_due(rules: _Rules, run_date: pd.Timestamp) -> None:
    """The generic rules, with "due date missing and no payment terms" as missing_required."""
    # run the generic rules first so their reasons take precedence, then the underivable due dates
    _generic_rules(rules, run_date)
    rules.quarantine(
        "missing_required",
        rules.frame["due_date"].isna(),
        "empty due_date and no payment terms for the customer",
    )


def _set_aside(rules: _Rules, aside: pd.Series | None) -> None:
    """Rows referring to an invoice set aside as other_company_code follow it there."""
    if aside is not None and len(aside):
        rules.quarantine(
            "other_company_code",
            rules.frame["invoice_id"].isin(aside).to_numpy(),
            lambda bad: (
                "its invoice " + bad["invoice_id"].astype(str) + " is of another company code"
            ),
        )


def _clean_payments(
    df: pd.DataFrame,
    invoices: pd.DataFrame,
    customers: pd.DataFrame,
    run_date: pd.Timestamp,
    aside: pd.Series | None = None,
) -> _Rules:
    df = df.assign(
        **{DATE_ASSUMED: df[DATE_ASSUMED].fillna(False).astype(bool)}
        if DATE_ASSUMED in df
        else {DATE_ASSUMED: False}
    )
    rules = _Rules("payments", df)
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
    rules.quarantine(
        "payment_before_invoice",
        inv_date.notna() & (frame["payment_date"] < inv_date),
        lambda bad: (
            "paid "
            + bad["payment_date"].dt.strftime("%Y-%m-%d")
            + " before invoice date "
            + inv_date[bad.index].dt.strftime("%Y-%m-%d")
        ),
    )
    rules.flag("payment_date_assumed", int(rules.df[DATE_ASSUMED].sum()))
    rules.invoice_at = at[rules.alive] if at is not None else None
    return rules


def _clean_commissions(
    df: pd.DataFrame,
    invoices: pd.DataFrame,
    run_date: pd.Timestamp,
    aside: pd.Series | None = None,
) -> _Rules:
    rules = _Rules("commissions", df)
    _generic_rules(rules, run_date)
    _set_aside(rules, aside)
    _unknown_reference(rules, "invoice_id", invoices)
    return rules


def _clean_adjustments(df: pd.DataFrame, invoices: pd.DataFrame, run_date: pd.Timestamp) -> _Rules:
    """Write-offs, credit notes and adjustments: the generic rules, a positive amount, a known
    invoice (whose customer fills an empty ``customer_id``), a known kind (the words of
    :data:`~arinsight.schemas.ADJUSTMENT_WORDS`, case, spaces and hyphens ignored) and a date on
    or after the invoice's (``adjustment_before_invoice``)."""
    df = df.copy(deep=False)
    df["kind"] = _words(df["kind"], schemas.ADJUSTMENT_WORDS)
    inv = invoices.set_index("invoice_id")
    at = positions(df["invoice_id"], inv.index, unique=True)
    df["customer_id"] = df["customer_id"].fillna(lookup(df["invoice_id"], inv["customer_id"], at))
    rules = _Rules("adjustments", df)
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
    rules.quarantine(
        "adjustment_before_invoice",
        inv_date.notna() & (frame["adjustment_date"] < inv_date),
        lambda bad: (
            "dated "
            + bad["adjustment_date"].dt.strftime("%Y-%m-%d")
            + " before invoice date "
            + inv_date[bad.index].dt.strftime("%Y-%m-%d")
        ),
    )
    return rules


def _words(values: pd.Series, words: Mapping[str, str]) -> pd.Series:
    """Text read as one of ``words``' canonical values (case, spaces and hyphens ignored); a
    word not in ``words`` is kept as written (a rule then quarantines it)."""
    text = values.astype("string").str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    return text.map(words).astype("string").fillna(values)


def _clean_disputes(df: pd.DataFrame, invoices: pd.DataFrame, run_date: pd.Timestamp) -> _Rules:
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
    rules = _Rules("disputes", df)
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
        _bools(frame["resolved_date"] < frame["opened_date"]) | _bools(resolved != outcome),
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


def _clean_promises(
    df: pd.DataFrame, invoices: pd.DataFrame, customers: pd.DataFrame, run_date: pd.Timestamp
) -> _Rules:
    """Promises to pay: the generic rules, a known customer and (when given) invoice, a positive
    amount (in the reporting currency)."""
    rules = _Rules("promises", df)
    _generic_rules(rules, run_date)
    _non_positive_amount(rules)
    _unknown_reference(rules, "customer_id", customers)
    _unknown_reference(rules, "invoice_id", invoices)
    return rules


def _convert_adjustments(adjustments: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Adjustments (or disputes) in the reporting currency: each is in its invoice's currency
    and converted at that invoice's rate, rounded to the cent half up (the rule of applied
    payments, :func:`_convert_currency`); ``amount_doc`` keeps the amount as written (in the
    invoice's currency: what an open amount in that currency is reduced by)."""
    c = cents_column("amount")
    dc = cents_column("amount_doc")
    out = adjustments.copy(deep=False)
    out[dc] = pd.Series(pd.array(out[c], dtype="Int64"), index=out.index)
    out["amount_doc"] = out[dc].astype("float64") / 100
    if _RATE not in invoices:  # one currency: every rate is 1
        out[c] = pd.Series(pd.array(out[c], dtype="Int64"), index=out.index)
    else:
        rates = invoices[_RATE].where(invoices[_RATE].notna(), Decimal(1)).to_numpy()
        rate_of = pd.Series(rates, index=invoices["invoice_id"].to_numpy(), dtype=object)
        rate = lookup(out["invoice_id"], rate_of)
        out[c] = money.convert(out[c], rate.where(rate.notna(), Decimal(1)))
    out["amount"] = out[c].astype("float64") / 100
    return out


def _ensure_cents(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Money columns with their exact-cents companion (derived from the float when a caller
    passes a frame that ingest did not make)."""
    missing = [c for c in MONEY_COLUMNS.get(table, ()) if cents_column(c) not in df]
    if not missing:
        return df
    df = df.copy(deep=False)
    for col in missing:
        df[cents_column(col)] = pd.array(np.round(df[col].astype("float64") * 100), dtype="Int64")
    return df


#: The rate each kept invoice is converted at (a Decimal) and its date, set by the invoice rules.
_RATE, _RATE_DATE = "_fx_rate", "_fx_rate_date"

#: Money in the document currency, kept beside the reporting amounts (exact cents too).
DOC_MONEY: dict[str, tuple[str, ...]] = {
    "invoices": ("amount_doc",),
    "payments": ("amount_doc",),
    "adjustments": ("amount_doc",),
}


def money_columns(table: str) -> tuple[str, ...]:
    """The money columns of a clean table: the reporting amounts, then the document ones."""
    return MONEY_COLUMNS.get(table, ()) + DOC_MONEY.get(table, ())


def _convert_currency(
    invoices: pd.DataFrame, payments: pd.DataFrame, reporting: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Amounts in the reporting currency beside the document amounts, exact.

    Invoices: ``currency`` the document currency (the reporting one where the source has none),
    ``amount_doc`` the amount as written, ``amount`` = ``amount_doc`` x the invoice's rate
    (:func:`arinsight.fx.invoice_rates`: the latest rate on or before the invoice date),
    rounded **per invoice to the cent, half up** (:func:`arinsight.money.convert`: 0.005 ->
    0.01); ``fx_rate`` and ``fx_rate_date`` (null for a constant rate and for the reporting
    currency) say which rate. Payments: a payment applied to an invoice is in that invoice's
    currency and converted at that invoice's rate, each payment rounded the same way; unapplied
    cash is in the reporting currency. So a sum over invoices of converted amounts can differ by
    a few cents from the sum converted once: each amount is what the ledger would book."""
    c = cents_column("amount")
    dc = cents_column("amount_doc")
    inv = invoices.copy(deep=False)
    pay = payments.copy(deep=False)
    inv["currency"] = inv["currency"].fillna(reporting)
    inv[dc] = pd.Series(pd.array(inv[c], dtype="Int64"), index=inv.index)
    pay[dc] = pd.Series(pd.array(pay[c], dtype="Int64"), index=pay.index)
    if _RATE not in inv:
        # one currency: nothing to convert (every invoice, hence every payment, at rate 1)
        inv[c] = inv[dc]
        pay[c] = pay[dc]
        pay["currency"] = pd.Series(reporting, index=pay.index, dtype="str")
        inv["fx_rate"] = 1.0
        inv["fx_rate_date"] = pd.Series(pd.NaT, index=inv.index, dtype="datetime64[us]")
    else:
        inv_rate = inv[_RATE].where(inv[_RATE].notna(), Decimal(1))
        ids = inv["invoice_id"].to_numpy()
        rate_of = pd.Series(inv_rate.to_numpy(), index=ids, dtype=object)
        currency_of = pd.Series(inv["currency"].to_numpy(), index=ids)
        pay["currency"] = lookup(pay["invoice_id"], currency_of).fillna(reporting).astype("str")
        inv[c] = money.convert(inv[dc], inv_rate)
        pay_rate = lookup(pay["invoice_id"], rate_of)
        pay[c] = money.convert(pay[dc], pay_rate.where(pay_rate.notna(), Decimal(1)))
        inv["fx_rate"] = inv_rate.astype("float64")
        inv["fx_rate_date"] = inv[_RATE_DATE].astype("datetime64[us]")
    for frame in (inv, pay):
        frame["amount"] = frame[c].astype("float64") / 100
        frame["amount_doc"] = frame[dc].astype("float64") / 100
    return inv.drop(columns=[_RATE, _RATE_DATE], errors="ignore"), pay


_VALIDATING = threading.Lock()


def _finish(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order, clean dtypes, sorted by key, validated by the pandera schema; the
    exact cents of the money columns follow (``_cents_<column>``)."""
    cols = CANONICAL[table] + schemas.FLAGS.get(table, []) + schemas.CONVERTED.get(table, [])
    cents = [cents_column(c) for c in money_columns(table)]
    out = df[cols + cents]
    for c in schemas.NUMBER_COLUMNS[table]:
        out[c] = out[c].astype("float64")
    for c in money_columns(table):
        out[c] = out[cents_column(c)].astype("float64") / 100
    for c in schemas.BOOL_COLUMNS.get(table, []):
        out[c] = out[c].fillna(False).astype(bool)
    for c in DATE_COLUMNS[table]:
        out[c] = out[c].astype("datetime64[us]")
    out = out.sort_values(KEYS[table], kind="stable").reset_index(drop=True)
    try:
        with _VALIDATING:  # pandera's validation is not safe to run on several threads at once
            valid = schemas.validate(table, out[cols])
    except SchemaErrors as exc:  # the rules above should make this impossible: say where
        first = exc.failure_cases.iloc[0]
        raise CleaningError(
            f"{table}: a kept row breaks the clean schema (column {first['column']!r}, check "
            f"{first['check']!r}, value {first['failure_case']!r}); please report this"
        ) from None
    for c in cents:
        valid[c] = out[c].to_numpy()
    return valid


# --------------------------------------------------------------------------- public API


def _applied(invoices: pd.DataFrame, payments: pd.DataFrame, at: np.ndarray | None) -> pd.Series:
    """Payments applied to each invoice (sum of their amounts, 0 when none). ``at``: each
    payment's position in ``invoices`` (-1: none) when known: then the exact cents are added
    (whole numbers, exact in float64 up to 2**53 cents) by one ``bincount`` pass, and the sum
    divided by 100 once; otherwise one group per invoice, its amounts added in the order read.
    Both give the same comparison with an invoice amount to the half cent."""
    c = cents_column("amount")
    if at is None or c not in payments:
        applied = payments.dropna(subset=["invoice_id"]).groupby("invoice_id")["amount"].sum()
        return lookup(invoices["invoice_id"], applied.astype(float)).fillna(0.0)
    matched = at >= 0
    cents = payments[c].to_numpy(dtype="float64", na_value=0.0)[matched]
    applied = np.bincount(at[matched], weights=cents, minlength=len(invoices)) / 100
    return pd.Series(applied, index=invoices.index)


def _segments(
    invoices: pd.DataFrame,
    customers: pd.DataFrame,
    segment_by: str = "customer",
    at: np.ndarray | None = None,
) -> pd.DataFrame:
    """Region, industry and customer type each invoice is reported under (``SEGMENT_COLUMNS``).

    ``segment_by="customer"`` (default): the customer's master data, for every invoice.
    ``segment_by="invoice"``: the invoice row's own value, the customer's where the row has none.
    ``at``: each invoice's position in ``customers`` when known (customer ids unique).
    """
    if segment_by not in ("customer", "invoice"):
        raise ValueError(f"segment_by: expected 'customer' or 'invoice', got {segment_by!r}")
    out = invoices.copy(deep=False)
    master = customers.drop_duplicates("customer_id").set_index("customer_id")
    if at is None or len(master) != len(customers):
        at = positions(out["customer_id"], master.index)  # once for the three columns
    for col in SEGMENT_COLUMNS:
        own = out[col] if col in out else pd.Series(None, index=out.index, dtype="str")
        from_customer = (
            lookup(out["customer_id"], master[col], at)
            if col in master
            else pd.Series(None, index=out.index, dtype="str")
        )
        out[col] = (
            own.where(own.notna(), from_customer) if segment_by == "invoice" else from_customer
        )
    return out


class _Finals:
    """Where each table goes once its rows are final: sorted and validated (:func:`_finish`), then
    kept in memory, or, with ``folder``, written to ``<folder>/<table>.parquet`` at once and let
    go, so a large ledger is never held whole twice (:class:`~arinsight.ledger.FolderTables` reads it back)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.kept: dict[str, pd.DataFrame] = {}
        self.rows: dict[str, int] = {}

    def add(self, table: str, df: pd.DataFrame) -> None:
        final = _finish(table, df)
        self.rows[table] = len(final)
        if self.folder is None:
            self.kept[table] = final
        else:
            pq.write_table(processed_table(table, final), self.folder / f"{table}.parquet")

    def tables(self) -> Mapping[str, pd.DataFrame]:
        return self.kept if self.folder is None else FolderTables(self.folder, read_table)


def clean(
    tables: Mapping[str, pd.DataFrame],
    run_date: Any = None,
    reporting_currency: str = "USD",
    fx_rates: dict[str, float] | None = None,
    *,
    segment_by: str = "customer",
    customer_conflicts: Mapping[str, Mapping[str, int]] | None = None,
    write_to: str | Path | None = None,
    company_codes: Sequence[str] | None = None,
) -> CleanResult:
    """Apply every rule to the ingested tables; returns clean tables, quarantine and counts.

    ``run_date`` (default today) is the date of the run: event dates after it are future_date.
    ``segment_by`` says whose region/industry/type an invoice is reported under (see
    :func:`_segments`); ``company_codes`` selects the legal entities to report (None: all); ``customer_conflicts`` (from ingest's ``derive_customers``) is reported in
    the summary so the Data Quality page can show it.

    Memory: each ingested table is taken from ``tables`` once, when its turn comes (the lazy
    mapping of :func:`~arinsight.ingest.read_interim` reads its file only then), and the rows read
    are let go once its rules have run. With ``write_to`` (a folder) every clean table is written
    as soon as it is final and not kept (``result.tables`` reads it back): the monthly run
    cleans a 10M-invoice ledger holding about one copy of its two largest tables. They are
    written to a staging folder inside ``write_to``; :func:`write_processed` moves them into place
    with the quarantine and ``data_quality.json``, so a clean that fails half-way leaves the
    processed data of the last run as it was.
    """
    folder = None
    if write_to is not None:  # a staging folder inside it: write_processed moves the files in
        target = config.resolve_path(write_to)
        target.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=".clean-", dir=target))
    try:
        return _clean(
            tables,
            _as_date(run_date),
            reporting_currency,
            dict(fx_rates or {}),
            segment_by,
            customer_conflicts,
            _Finals(folder),
            company_codes,
        )
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _clean(
    tables: Mapping[str, pd.DataFrame],
    run_date: pd.Timestamp,
    reporting_currency: str,
    fx_rates: dict[str, float],
    segment_by: str,
    customer_conflicts: Mapping[str, Mapping[str, int]] | None,
    finals: _Finals,
    company_codes: Sequence[str] | None = None,
) -> CleanResult:
    done: dict[str, _Rules] = {}

    def ingested(table: str) -> pd.DataFrame:
        if table in OPTIONAL_TABLES and table not in tables:  # older callers lack them
            return _ensure_cents(table, empty_ingested(table))
        return _ensure_cents(table, tables[table])

    done["customers"] = _clean_customers(ingested("customers"), run_date)
    customers = done["customers"].settle()
    finals.add("customers", customers)
    done["sales_reps"] = _Rules("sales_reps", ingested("sales_reps"))
    _generic_rules(done["sales_reps"], run_date)
    finals.add("sales_reps", done["sales_reps"].settle())
    done["invoices"] = _clean_invoices(
        ingested("invoices"), customers, run_date, reporting_currency, fx_rates, company_codes
    )
    aside = done["invoices"].set_aside
    invoices = done["invoices"].settle()
    done["commissions"] = _clean_commissions(ingested("commissions"), invoices, run_date, aside)
    finals.add("commissions", done["commissions"].settle())
    done["payments"] = _clean_payments(ingested("payments"), invoices, customers, run_date, aside)
    payments = done["payments"].settle()
    done["adjustments"] = _clean_adjustments(ingested("adjustments"), invoices, run_date)
    finals.add(
        "adjustments",
        _convert_adjustments(done["adjustments"].settle(), invoices),
    )
    done["disputes"] = _clean_disputes(ingested("disputes"), invoices, run_date)
    finals.add(
        "disputes",
        _convert_adjustments(done["disputes"].settle(), invoices),
    )
    done["promises"] = _clean_promises(ingested("promises"), invoices, customers, run_date)
    finals.add("promises", done["promises"].settle())

    inv, pay = _convert_currency(invoices, payments, reporting_currency)
    del invoices, payments
    inv["is_overpaid"] = _applied(inv, pay, done["payments"].invoice_at) > inv["amount"] + 0.005
    done["invoices"].flag("overpayment", int(inv["is_overpaid"].sum()))
    inv = _segments(inv, customers, segment_by, done["invoices"].customer_at)
    assumed = pay[DATE_ASSUMED].to_numpy(dtype=bool)
    undated = {
        "rows": int(assumed.sum()),
        "amount": round(float(pay["amount"].to_numpy()[assumed].sum()), 2),
    }
    for t in ("invoices", "payments"):
        done[t].release()  # the cleaned rows now live in inv / pay only
    finals.add("invoices", inv)
    del inv
    finals.add("payments", pay)
    del pay
    quarantine = pd.concat([done[t].quarantine_frame() for t in TABLE_ORDER], ignore_index=True)
    quarantine = quarantine.sort_values(
        ["table", "source_file", "source_row", "reason"], kind="stable"
    ).reset_index(drop=True)
    summary = {
        "run_date": f"{run_date:%Y-%m-%d}",
        "reporting_currency": reporting_currency,
        "tables": {
            t: {
                "read": done[t].read,
                "kept": finals.rows[t],
                "quarantined": int(sum(len(q) for q in done[t].quarantined)),
                "duplicates_dropped": done[t].dropped,
            }
            for t in CANONICAL
        },
        "reasons": {t: dict(sorted(done[t].counts.items())) for t in CANONICAL},
        "amounts": {t: dict(sorted(done[t].amounts.items())) for t in CANONICAL},
        "segment_by": segment_by,
        "company_codes": list(company_codes) if company_codes is not None else None,
        "customer_conflicts": {k: dict(v) for k, v in (customer_conflicts or {}).items()},
        "undated_payments": {
            "quarantined": {
                "rows": done["payments"].counts.get("undated_payment", 0),
                "amount": done["payments"].amounts.get("undated_payment", 0.0),
            },
            "dated_by_assumption": undated,
        },
    }
    result = CleanResult(finals.tables(), quarantine, summary)
    check_conservation(result)
    return result


def clean_ingested(
    tables: Mapping[str, pd.DataFrame],
    manifest: Mapping[str, Any],
    run_date: Any = None,
    reporting_currency: str = "USD",
    fx_rates: Mapping[str, float] | None = None,
    *,
    write_to: str | Path | None = None,
) -> CleanResult:
    """:func:`clean` of what ingest read, with the settings its manifest carries from the sources
    file: ``segment_by``, the customer conflicts, and ``reporting_currency`` / ``fx_rates``,
    which describe the data and so win over the parameters given here. ``write_to``: see
    :func:`clean`."""
    if fx_rates is not None and not isinstance(fx_rates, Mapping):  # a rates file's path
        fx_rates = config.fx_rates_of(fx_rates, "fx_rates")
    rates = {**(fx_rates or {}), **(manifest.get("fx_rates") or {})}
    return clean(
        tables,
        run_date=run_date,
        reporting_currency=manifest.get("reporting_currency") or reporting_currency,
        fx_rates=rates,
        segment_by=manifest.get("segment_by") or "customer",
        customer_conflicts=manifest.get("customer_conflicts"),
        write_to=write_to,
        company_codes=manifest.get("company_codes"),
    )


def check_conservation(result: CleanResult) -> None:
    """Assert rows read = kept + quarantined + duplicates dropped for every table."""
    for table, c in result.summary["tables"].items():
        if c["read"] != c["kept"] + c["quarantined"] + c["duplicates_dropped"]:
            raise ConservationError(
                f"{table}: {c['read']} rows read but {c['kept']} kept + {c['quarantined']} "
                f"quarantined + {c['duplicates_dropped']} duplicates dropped"
            )
    result.summary["conservation_ok"] = True


def processed_table(table: str, df: pd.DataFrame) -> pa.Table:
    """A clean table as written to ``<table>.parquet``: money as exact decimal(18, 2) built from
    the cents (no ``_cents_`` column), everything else as cleaned."""
    cents = {c: cents_column(c) for c in money_columns(table) if cents_column(c) in df}
    arrow = pa.Table.from_pandas(df.drop(columns=list(cents.values())), preserve_index=False)
    for col, cc in cents.items():
        arrow = arrow.set_column(
            arrow.schema.get_field_index(col), col, money.decimal_array(df[cc])
        )
    return arrow


def write_processed(result: CleanResult, processed_dir: str | Path | None = None) -> Path:
    """Write clean tables, quarantine.parquet and data_quality.json to ``processed_dir``. Tables
    :func:`clean` already wrote (``write_to``) are moved in from its staging folder, each file
    replaced at once; written to another folder, they are copied."""
    folder = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    staged = result.tables.folder if isinstance(result.tables, FolderTables) else None

    def write(table: str) -> None:
        pq.write_table(processed_table(table, result.tables[table]), folder / f"{table}.parquet")

    if staged is not None and staged.parent == folder:
        for table in CANONICAL:
            os.replace(staged / f"{table}.parquet", folder / f"{table}.parquet")
        staged.rmdir()
        result.tables = FolderTables(folder, read_table)
        writes = []
    else:
        writes = [partial(write, table) for table in result.tables]
    parallel_writes(
        writes + [partial(result.quarantine.to_parquet, folder / "quarantine.parquet", index=False)]
    )
    # what the engine checks before it reads them (arinsight.engine.checks)
    result.summary["files"] = {
        f"{t}.parquet": fingerprint(folder / f"{t}.parquet") for t in CANONICAL
    }
    return write_json(folder / "data_quality.json", result.summary)


def write_quality_report(
    result: CleanResult, period: str, output_dir: str | Path | None = None
) -> Path:
    """Write ``data_quality.json`` for the period's report (default ``reports/<period>/All``)."""
    folder = config.resolve_path(output_dir) if output_dir else config.REPORTS_DIR / period / "All"
    folder.mkdir(parents=True, exist_ok=True)
    return write_json(folder / "data_quality.json", {"period": period, **result.summary})


def reason_counts(result: CleanResult) -> pd.DataFrame:
    """A table x reason matrix of counts (0 where a rule found nothing), for the figure."""
    df = result.summary_table()
    if df.empty:
        return pd.DataFrame()
    return df.pivot_table(
        index="reason", columns="table", values="rows", aggfunc="sum", fill_value=0
    )


def summary_markdown(result: CleanResult) -> str:
    """What cleaning did, in two sentences for the top of the Data Quality page: rows read,
    kept, quarantined and dropped (balanced), then what a flat export left open (undated paid
    amounts held back or dated, attributes that differ between a customer's rows)."""
    s = result.summary
    totals = {
        k: sum(t[k] for t in s["tables"].values())
        for k in ("read", "kept", "quarantined", "duplicates_dropped")
    }
    text = (
        f"**{totals['read']:,} rows read**: {totals['kept']:,} kept, {totals['quarantined']:,} "
        f"quarantined with a reason, {totals['duplicates_dropped']:,} exact duplicates dropped; "
        "every row is accounted for."
    )
    currency = s.get("reporting_currency", "")
    undated = s.get("undated_payments") or {}
    held, dated = undated.get("quarantined") or {}, undated.get("dated_by_assumption") or {}
    notes = []
    if held.get("rows"):
        notes.append(
            f"{held['rows']:,} paid amounts without a payment date held back "
            f"({held['amount']:,.2f} {currency})"
        )
    if dated.get("rows"):
        notes.append(
            f"{dated['rows']:,} paid amounts without a date dated by the export date "
            f"({dated['amount']:,.2f} {currency})"
        )
    early = (s.get("reasons") or {}).get("invoices", {}).get("due_before_invoice", 0)
    if early:
        notes.append(
            f"{early:,} invoice{'s are' if early != 1 else ' is'} due before {'their' if early != 1 else 'its'} "
            "invoice date (kept, overdue from the due date as given)"
        )
    for attribute, c in sorted((s.get("customer_conflicts") or {}).items()):
        notes.append(
            f"{attribute.replace('_', ' ')} differs between the rows of {c['customers']:,} "
            f"customer{'s' if c['customers'] != 1 else ''}"
        )
    if notes:
        text += " **Needs attention:** " + "; ".join(notes) + "."
    return text


def flat_export_table(result: CleanResult) -> pd.DataFrame:
    """What a flat export left open, for the Data Quality page: payments without a date
    (quarantined, or dated by ``undated_payment_date``) with their amounts, and customer
    attributes whose value differs between a customer's invoice rows (customers affected,
    invoice rows whose value was overruled by the most recent one). Empty when none."""
    s = result.summary
    rows = []
    undated = s.get("undated_payments") or {}
    held = undated.get("quarantined") or {}
    if held.get("rows"):
        rows.append(
            {
                "What": "Paid amounts without a payment date (held back)",
                "Rows": held["rows"],
                "Amount": f"{held['amount']:,.2f} {s.get('reporting_currency', '')}".strip(),
            }
        )
    assumed = undated.get("dated_by_assumption") or {}
    if assumed.get("rows"):
        rows.append(
            {
                "What": "Paid amounts without a date, dated by the export date",
                "Rows": assumed["rows"],
                "Amount": f"{assumed['amount']:,.2f} {s.get('reporting_currency', '')}".strip(),
            }
        )
    by = "each invoice's own row" if s.get("segment_by") == "invoice" else "the latest invoice"
    for attribute, c in sorted((s.get("customer_conflicts") or {}).items()):
        rows.append(
            {
                "What": f"Customers whose {attribute.replace('_', ' ')} differs between rows "
                f"({c['invoices']:,} invoice rows differ; reported by {by})",
                "Rows": c["customers"],
                "Amount": "",
            }
        )
    return pd.DataFrame(rows, columns=["What", "Rows", "Amount"])


def quarantine_sample(result: CleanResult, per_reason: int = 3) -> pd.DataFrame:
    """The first rows of each quarantine reason (file, row, key, detail), for the notebook."""
    q = result.quarantine
    if q.empty:
        return q[["table", "reason", "source_file", "source_row", "key", "detail"]]
    return (
        q.groupby(["table", "reason"], sort=True, group_keys=False)
        .head(per_reason)[["table", "reason", "source_file", "source_row", "key", "detail"]]
        .reset_index(drop=True)
    )
