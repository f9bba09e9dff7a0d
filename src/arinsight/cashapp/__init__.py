"""Cash application: bank statements (camt.053/054, MT940, BAI2 or CSV) matched to open invoices.

The modules, in the order a statement goes through them:

* :mod:`~arinsight.cashapp.statements` reads statements into lines (camt and CSV;
  :mod:`~arinsight.cashapp.formats` MT940 and BAI2; :mod:`~arinsight.cashapp.lines` the line
  table and its content keys);
* :mod:`~arinsight.cashapp.settings` the parameters; :mod:`~arinsight.cashapp.book` the open
  invoices and the invoice numbers in a text; :mod:`~arinsight.cashapp.names` payer names;
* :mod:`~arinsight.cashapp.matching` the rules in order (:mod:`~arinsight.cashapp.references`
  rules 1-2 on the references, :mod:`~arinsight.cashapp.amounts` amounts, sums and how a line
  settles invoices, :mod:`~arinsight.cashapp.result` what a rule decides);
* :mod:`~arinsight.cashapp.reversals` reversals and returns, :mod:`~arinsight.cashapp.decisions`
  a person's decisions;
* :mod:`~arinsight.cashapp.apply` runs ``arinsight match`` (worklist, payments file) and
  :mod:`~arinsight.cashapp.ledger` keeps the ledger;
* :mod:`~arinsight.cashapp.synthetic` writes statements with a known truth for tests and the
  benchmark.

docs/collections.md explains all of it for users.
"""

from __future__ import annotations

from arinsight.cashapp.amounts import subset_sums
from arinsight.cashapp.apply import MatchRun, invoice_book, match_statement, run_match, summary_text
from arinsight.cashapp.book import reference_tokens
from arinsight.cashapp.decisions import read_decisions
from arinsight.cashapp.formats import read_bai2, read_mt940
from arinsight.cashapp.ledger import (
    ledger_deductions,
    ledger_payments,
    ledger_records,
    read_ledger,
)
from arinsight.cashapp.names import name_core
from arinsight.cashapp.settings import MatchSettings
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
