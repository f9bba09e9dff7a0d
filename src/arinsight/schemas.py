"""The canonical data model (docs/own-data.md) and the data-quality reason codes.

Every source is mapped onto these tables (``adjustments``: write-offs, credit notes and other
non-cash reductions of an invoice; ``disputes`` and ``promises`` (to pay): the collection
cases; each optional like commissions). Names are snake_case; dates are ``datetime64``
normalised to midnight (no time part); money is float rounded to 2 decimals in one reporting
currency. Ids are strings. The pandera models describe the *clean* tables written to
``data/processed/<table>.parquet``; ``validate`` checks a frame lazily so one call reports every
bad row at once.
"""

from __future__ import annotations

import functools

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

#: Canonical columns per table, in order. ``REQUIRED`` columns must be present in every source that
#: provides the table and must be non-null in every kept row; the others may be absent (filled with null).
CANONICAL: dict[str, list[str]] = {
    "customers": [
        "customer_id",
        "customer_name",
        "region",
        "industry",
        "customer_type",
        "credit_limit",
        "payment_terms_days",
        "sales_rep_id",
        "contact_email",
    ],
    "invoices": [
        "invoice_id",
        "customer_id",
        "invoice_date",
        "due_date",
        "amount",
        "currency",
        "energy_kwh",
        "status",
        "region",
        "industry",
        "customer_type",
        "company_code",
    ],
    "payments": ["payment_id", "invoice_id", "customer_id", "payment_date", "amount", "method"],
    "sales_reps": ["sales_rep_id", "rep_name", "sales_group"],
    "commissions": [
        "commission_id",
        "sales_rep_id",
        "invoice_id",
        "commission_amount",
        "commission_rate",
        "accrual_date",
        "is_settled",
        "settlement_date",
    ],
    "adjustments": [
        "adjustment_id",
        "invoice_id",
        "customer_id",
        "adjustment_date",
        "amount",
        "kind",
        "reason",
    ],
    "disputes": [
        "dispute_id",
        "invoice_id",
        "customer_id",
        "amount",
        "reason",
        "opened_date",
        "resolved_date",
        "outcome",
    ],
    "promises": [
        "promise_id",
        "customer_id",
        "invoice_id",
        "made_date",
        "promised_date",
        "amount",
        "source",
    ],
}

#: The kinds of adjustment (``adjustments.kind``), each a non-cash reduction of an invoice's
#: balance: never a collection. Only ``write_off`` is a credit loss (the provision matrix's
#: loss event); a credit note or other adjustment corrects the amount billed.
ADJUSTMENT_KINDS: dict[str, str] = {
    "write_off": "written off as uncollectible (a credit loss)",
    "credit_note": "credited to the customer (a price, quantity or dispute correction)",
    "adjustment": "another non-cash reduction (rounding, small balance, netting)",
}
#: Words of a source's kind column read as each kind (case, spaces and hyphens ignored).
ADJUSTMENT_WORDS: dict[str, str] = {
    "write_off": "write_off",
    "writeoff": "write_off",
    "bad_debt": "write_off",
    "wo": "write_off",
    "credit_note": "credit_note",
    "credit_memo": "credit_note",
    "credit": "credit_note",
    "cn": "credit_note",
    "adjustment": "adjustment",
    "adj": "adjustment",
}

#: How a dispute ended (``disputes.outcome``; empty while it is open). A credit note or a
#: write-off settles it in the customer's favour (the customer does not pay what it disputed).
DISPUTE_OUTCOMES: dict[str, str] = {
    "credit_note": "credited: the customer was right",
    "paid": "the customer paid the disputed amount",
    "written_off": "written off: the amount will not be collected",
}
#: Words of a source's outcome column read as each outcome (case, spaces and hyphens ignored).
OUTCOME_WORDS: dict[str, str] = {
    "credit_note": "credit_note",
    "credit_memo": "credit_note",
    "credited": "credit_note",
    "paid": "paid",
    "payment": "paid",
    "written_off": "written_off",
    "write_off": "written_off",
    "writeoff": "written_off",
}

REQUIRED: dict[str, list[str]] = {
    "customers": ["customer_id"],
    "invoices": ["invoice_id", "customer_id", "invoice_date", "amount"],
    "payments": ["payment_id", "customer_id", "payment_date", "amount"],
    "sales_reps": ["sales_rep_id"],
    "commissions": ["commission_id", "sales_rep_id", "commission_amount", "accrual_date"],
    "adjustments": ["adjustment_id", "invoice_id", "adjustment_date", "amount", "kind"],
    "disputes": ["dispute_id", "invoice_id", "opened_date"],
    "promises": ["promise_id", "customer_id", "promised_date", "amount"],
}

#: The segment an invoice is reported under. Cleaning fills them from the customer's master data
#: (``segment_by: customer``, the default) or keeps the invoice row's own values and fills only
#: the gaps from the customer (``segment_by: invoice``); region pages select invoices by them.
SEGMENT_COLUMNS: tuple[str, ...] = ("region", "industry", "customer_type")

#: The key of each table: duplicates of the key with different content are quarantined.
KEYS: dict[str, str] = {
    "customers": "customer_id",
    "invoices": "invoice_id",
    "payments": "payment_id",
    "sales_reps": "sales_rep_id",
    "commissions": "commission_id",
    "adjustments": "adjustment_id",
    "disputes": "dispute_id",
    "promises": "promise_id",
}

DATE_COLUMNS: dict[str, list[str]] = {
    "customers": [],
    "invoices": ["invoice_date", "due_date"],
    "payments": ["payment_date"],
    "sales_reps": [],
    "commissions": ["accrual_date", "settlement_date"],
    "adjustments": ["adjustment_date"],
    "disputes": ["opened_date", "resolved_date"],
    "promises": ["made_date", "promised_date"],
}

NUMBER_COLUMNS: dict[str, list[str]] = {
    "customers": ["credit_limit", "payment_terms_days"],
    "invoices": ["amount", "energy_kwh"],
    "payments": ["amount"],
    "sales_reps": [],
    "commissions": ["commission_amount", "commission_rate"],
    "adjustments": ["amount"],
    "disputes": ["amount"],
    "promises": ["amount"],
}

BOOL_COLUMNS: dict[str, list[str]] = {"commissions": ["is_settled"]}

#: Columns added by ingest to every row so any row can be traced back to its file and line.
#: ``_source_row`` is the row number a user sees when opening the source: the line number in a CSV
#: file (the header is line 1, so the first data row is 2; assumes no line breaks inside quoted
#: fields), the sheet row number in Excel, or the 1-based position in a SQL query result.
PROVENANCE = ["_source_file", "_source_row"]
#: Ingest lists the canonical columns whose raw value could not be parsed (";"-separated, "" if none).
PARSE_ERRORS = "_parse_errors"
#: ... and the reason code cleaning quarantines such a row under ("" if none): repeated_header, malformed_row,
#: unparseable_value, out_of_range or sub_cent_amount.
PARSE_REASON = "_parse_reason"

#: Flag columns added by cleaning (kept rows that a rule marked, not removed).
FLAGS: dict[str, list[str]] = {
    "invoices": ["due_date_derived", "is_overpaid"],
    "payments": ["payment_date_assumed"],
}

#: Columns added by cleaning's currency conversion (``clean.currency.convert_currency``): the
#: document currency's amount beside the reporting ``amount``, and the rate used (invoices:
#: ``fx_rate`` = value of 1 unit in the reporting currency, ``fx_rate_date`` = the date of that
#: rate, null for a constant rate); payments carry their invoice's ``currency``; adjustments
#: keep their amount in their invoice's currency (``amount_doc``) beside the converted one.
CONVERTED: dict[str, list[str]] = {
    "invoices": ["amount_doc", "fx_rate", "fx_rate_date"],
    "payments": ["currency", "amount_doc"],
    "adjustments": ["amount_doc"],
}

#: Reason codes of the cleaning rules. ``action`` says what happens to the row.
REASONS: dict[str, dict[str, str]] = {
    "duplicate_exact": {"action": "dropped", "text": "exact duplicate of an earlier row"},
    "duplicate_key_conflict": {
        "action": "quarantined",
        "text": "same key as another row with different content (every version kept)",
    },
    "missing_required": {"action": "quarantined", "text": "a required field is empty"},
    "repeated_header": {
        "action": "quarantined",
        "text": "the header line repeated inside the data (a page break of the export): not data",
    },
    "malformed_row": {
        "action": "quarantined",
        "text": "the row's fields do not match the header (a line cut short, or a delimiter "
        "inside an unquoted value)",
    },
    "unparseable_value": {
        "action": "quarantined",
        "text": "a number, date or yes/no value does not fit its declared format",
    },
    "out_of_range": {
        "action": "quarantined",
        "text": "a number beyond the bounds (money up to 9,999,999,999,999,999.99, other numbers "
        "up to 1e16) or a date outside 1900-2199, or a negative credit limit, terms or usage",
    },
    "sub_cent_amount": {
        "action": "quarantined",
        "text": "money with more than two decimals (set round_money: true to round to the cent)",
    },
    "undated_payment": {
        "action": "quarantined",
        "text": "paid amount or paid status without a payment date "
        "(date them with derive_payments.undated_payment_date)",
    },
    "non_positive_amount": {
        "action": "quarantined",
        "text": "invoice, payment or adjustment amount <= 0",
    },
    "due_before_invoice": {
        "action": "flagged",
        "text": "due date before the invoice date (SAP: a net due date computed from a document "
        "date that precedes posting): kept, overdue from the due date as given",
    },
    "unknown_kind": {
        "action": "quarantined",
        "text": "an adjustment kind that is not write_off, credit_note or adjustment",
    },
    "unknown_outcome": {
        "action": "quarantined",
        "text": "a dispute outcome that is not credit_note, paid or written_off",
    },
    "resolved_before_opened": {
        "action": "quarantined",
        "text": "a dispute resolved before it was opened, or resolved without an outcome",
    },
    "adjustment_before_invoice": {
        "action": "quarantined",
        "text": "write-off, credit note or adjustment dated before its invoice",
    },
    "payment_before_invoice": {
        "action": "quarantined",
        "text": "payment dated before the invoice it pays",
    },
    "unknown_invoice": {
        "action": "quarantined",
        "text": "refers to an invoice that does not exist",
    },
    "unknown_customer": {
        "action": "quarantined",
        "text": "refers to a customer that does not exist",
    },
    "future_date": {"action": "quarantined", "text": "dated after the run date"},
    "unknown_currency": {"action": "quarantined", "text": "currency without an exchange rate"},
    "other_company_code": {
        "action": "quarantined",
        "text": "set aside: a company code that company_codes does not select (not an error)",
    },
    "due_date_derived": {
        "action": "flagged",
        "text": "missing due date derived from the customer's payment terms",
    },
    "overpayment": {
        "action": "flagged",
        "text": "payments exceed the invoice amount (credit balance)",
    },
    "payment_date_assumed": {
        "action": "flagged",
        "text": "payment without a date in the export, dated by undated_payment_date",
    },
}


class Customers(pa.DataFrameModel):
    customer_id: Series[str] = pa.Field(unique=True)
    customer_name: Series[str] = pa.Field(nullable=True)
    region: Series[str] = pa.Field(nullable=True)
    industry: Series[str] = pa.Field(nullable=True)
    customer_type: Series[str] = pa.Field(nullable=True)
    credit_limit: Series[float] = pa.Field(nullable=True, ge=0)
    payment_terms_days: Series[float] = pa.Field(nullable=True, ge=0)
    sales_rep_id: Series[str] = pa.Field(nullable=True)
    contact_email: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = True


class Invoices(pa.DataFrameModel):
    invoice_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]
    invoice_date: Series[pd.Timestamp]
    due_date: Series[pd.Timestamp]
    amount: Series[float] = pa.Field(gt=0)
    currency: Series[str] = pa.Field(nullable=True)
    energy_kwh: Series[float] = pa.Field(nullable=True, ge=0)
    status: Series[str] = pa.Field(nullable=True)
    region: Series[str] = pa.Field(nullable=True)
    industry: Series[str] = pa.Field(nullable=True)
    customer_type: Series[str] = pa.Field(nullable=True)
    company_code: Series[str] = pa.Field(nullable=True)
    due_date_derived: Series[bool]
    is_overpaid: Series[bool]
    amount_doc: Series[float] = pa.Field(gt=0)
    fx_rate: Series[float] = pa.Field(gt=0)
    fx_rate_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    # no check that due_date >= invoice_date: an SAP due date may precede the posting date and
    # is kept as given (clean.rules.clean_invoices, flagged due_before_invoice)

    class Config:
        strict = "filter"
        coerce = True


class Payments(pa.DataFrameModel):
    payment_id: Series[str] = pa.Field(unique=True)
    invoice_id: Series[str] = pa.Field(nullable=True)
    customer_id: Series[str]
    payment_date: Series[pd.Timestamp]
    amount: Series[float] = pa.Field(gt=0)
    method: Series[str] = pa.Field(nullable=True)
    payment_date_assumed: Series[bool]
    currency: Series[str]
    amount_doc: Series[float] = pa.Field(gt=0)

    class Config:
        strict = "filter"
        coerce = True


class SalesReps(pa.DataFrameModel):
    sales_rep_id: Series[str] = pa.Field(unique=True)
    rep_name: Series[str] = pa.Field(nullable=True)
    sales_group: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = True


class Commissions(pa.DataFrameModel):
    commission_id: Series[str] = pa.Field(unique=True)
    sales_rep_id: Series[str]
    invoice_id: Series[str] = pa.Field(nullable=True)
    commission_amount: Series[float]
    commission_rate: Series[float] = pa.Field(nullable=True)
    accrual_date: Series[pd.Timestamp]
    is_settled: Series[bool]
    settlement_date: Series[pd.Timestamp] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = True


class Adjustments(pa.DataFrameModel):
    adjustment_id: Series[str] = pa.Field(unique=True)
    invoice_id: Series[str]
    customer_id: Series[str]
    adjustment_date: Series[pd.Timestamp]
    amount: Series[float] = pa.Field(gt=0)
    kind: Series[str] = pa.Field(isin=list(ADJUSTMENT_KINDS))
    reason: Series[str] = pa.Field(nullable=True)
    amount_doc: Series[float] = pa.Field(gt=0)

    class Config:
        strict = "filter"
        coerce = True


class Disputes(pa.DataFrameModel):
    dispute_id: Series[str] = pa.Field(unique=True)
    invoice_id: Series[str]
    customer_id: Series[str]
    amount: Series[float] = pa.Field(gt=0)
    reason: Series[str] = pa.Field(nullable=True)
    opened_date: Series[pd.Timestamp]
    resolved_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    outcome: Series[str] = pa.Field(nullable=True, isin=list(DISPUTE_OUTCOMES))

    class Config:
        strict = "filter"
        coerce = True


class Promises(pa.DataFrameModel):
    promise_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]
    invoice_id: Series[str] = pa.Field(nullable=True)
    made_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    promised_date: Series[pd.Timestamp]
    amount: Series[float] = pa.Field(gt=0)
    source: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = "filter"
        coerce = True


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "customers": Customers,
    "invoices": Invoices,
    "payments": Payments,
    "sales_reps": SalesReps,
    "commissions": Commissions,
    "adjustments": Adjustments,
    "disputes": Disputes,
    "promises": Promises,
}


def validate(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Validate a clean canonical table lazily (every failure reported at once) and return it typed.

    A table sorted by its key (as cleaning writes it) has its key's uniqueness checked on
    neighbouring values, one comparison per row, instead of by hashing every value: the same
    verdict at a fraction of the cost. Any other table, or a key found repeated, is validated by
    the full schema (which then reports every failure)."""
    key = KEYS[table]
    if key in df and sorted_unique(df[key]):
        return _schema_without_unique(table).validate(df, lazy=True)
    return MODELS[table].validate(df, lazy=True)


@functools.cache
def _schema_without_unique(table: str) -> pa.DataFrameSchema:
    """The table's schema with the key's ``unique`` check left out (see :func:`validate`)."""
    return MODELS[table].to_schema().update_columns({KEYS[table]: {"unique": False}})


def sorted_unique(values: pd.Series) -> bool:
    """Whether text values are in strictly increasing order (so no value repeats); False for
    anything else (missing values, other dtypes)."""
    import pyarrow
    import pyarrow.compute as pc

    if not isinstance(values.dtype, pd.StringDtype) or values.hasnans:
        return False
    arr = pyarrow.array(values.array)
    if len(arr) < 2:
        return True
    ascending = pc.less(arr.slice(0, len(arr) - 1), arr.slice(1))
    return bool(pc.all(ascending).as_py())


def empty_table(table: str) -> pd.DataFrame:
    """An empty canonical table with the clean dtypes (used when a dataset lacks the table)."""
    cols = CANONICAL[table] + FLAGS.get(table, []) + CONVERTED.get(table, [])
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    for c in DATE_COLUMNS[table] + [c for c in cols if c == "fx_rate_date"]:
        df[c] = pd.Series(dtype="datetime64[us]")
    for c in NUMBER_COLUMNS[table] + [c for c in cols if c in ("amount_doc", "fx_rate")]:
        df[c] = pd.Series(dtype="float64")
    for c in BOOL_COLUMNS.get(table, []) + FLAGS.get(table, []):
        df[c] = pd.Series(dtype="bool")
    for c in cols:
        if df[c].dtype == object:
            df[c] = pd.Series(dtype="str")
    return df
