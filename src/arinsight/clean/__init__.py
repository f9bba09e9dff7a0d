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
:func:`~arinsight.clean.rules.clean_invoices`).

Money: amounts in another currency than the reporting one are converted with ``fx_rates``
(1 unit = rate x reporting currency; each invoice at the latest rate of its currency dated on or
before its invoice date, :func:`arinsight.fx.invoice_rates`) and rounded to the cent per invoice.
Payments carry no currency in the canonical model: a payment applied to an invoice is taken in that
invoice's currency at that invoice's rate; unapplied cash in the reporting currency.

The modules, each named after what it holds (each imports only those above it):

- :mod:`~arinsight.clean.result`: :class:`CleanResult` and :func:`check_conservation`;
- :mod:`~arinsight.clean.quarantine`: :class:`~arinsight.clean.quarantine.Rules`, how a rule
  moves a table's rows to the quarantine with their reason, file and row;
- :mod:`~arinsight.clean.currency`: exact cents and the conversion to the reporting currency;
- :mod:`~arinsight.clean.rules`: the rules of each table, in :data:`RULE_ORDER`;
- :mod:`~arinsight.clean.write`: the clean schema check and the processed files;
- :mod:`~arinsight.clean.run`: :func:`clean` and :func:`clean_ingested`, the tables in
  dependency order;
- :mod:`~arinsight.clean.report`: what the Data Quality page and the notebook show.
"""

from __future__ import annotations

from arinsight.clean.currency import DOC_MONEY, money_columns
from arinsight.clean.quarantine import QUARANTINE_COLUMNS
from arinsight.clean.report import (
    flat_export_table,
    quarantine_sample,
    reason_counts,
    summary_markdown,
)
from arinsight.clean.result import CleanResult, check_conservation
from arinsight.clean.rules import EVENT_DATES, MAX_TERMS_DAYS, NON_NEGATIVE, RULE_ORDER
from arinsight.clean.run import OPTIONAL_TABLES, TABLE_ORDER, clean, clean_ingested
from arinsight.clean.write import processed_table, write_processed, write_quality_report

__all__ = [
    "DOC_MONEY",
    "EVENT_DATES",
    "MAX_TERMS_DAYS",
    "NON_NEGATIVE",
    "OPTIONAL_TABLES",
    "QUARANTINE_COLUMNS",
    "RULE_ORDER",
    "TABLE_ORDER",
    "CleanResult",
    "check_conservation",
    "clean",
    "clean_ingested",
    "flat_export_table",
    "money_columns",
    "processed_table",
    "quarantine_sample",
    "reason_counts",
    "summary_markdown",
    "write_processed",
    "write_quality_report",
]
