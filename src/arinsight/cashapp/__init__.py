"""Cash application: bank statements (camt.053/054, MT940, BAI2 or CSV) matched to open invoices.

:mod:`~arinsight.cashapp.statements` reads statements into lines (camt and CSV;
:mod:`~arinsight.cashapp.formats` MT940 and BAI2), :mod:`~arinsight.cashapp.matching`
holds the rules, :mod:`~arinsight.cashapp.apply` runs ``arinsight match`` (worklist, payments file,
ledger) and :mod:`~arinsight.cashapp.synthetic` writes statements with a known truth for tests and
the benchmark. docs/collections.md explains all of it for users.
"""

from __future__ import annotations

from arinsight.cashapp.apply import (
    MatchRun,
    invoice_book,
    ledger_deductions,
    ledger_payments,
    ledger_records,
    match_statement,
    read_ledger,
    run_match,
    summary_text,
)
from arinsight.cashapp.decisions import read_decisions
from arinsight.cashapp.formats import read_bai2, read_mt940
from arinsight.cashapp.matching import MatchSettings, name_core, reference_tokens, subset_sums
from arinsight.cashapp.statements import read_camt053, read_csv_statement, read_statement

__all__ = [
    "MatchRun",
    "MatchSettings",
    "invoice_book",
    "ledger_deductions",
    "ledger_payments",
    "ledger_records",
    "match_statement",
    "name_core",
    "read_bai2",
    "read_camt053",
    "read_csv_statement",
    "read_decisions",
    "read_ledger",
    "read_mt940",
    "read_statement",
    "reference_tokens",
    "run_match",
    "subset_sums",
    "summary_text",
]
