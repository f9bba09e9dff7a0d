"""The embedded sample: a generated AR ledger in three source kinds, with known data problems.

``arinsight sample`` writes, into one folder, what a finance team typically exports:

* ``invoices.csv`` - the billing system's invoice export (CSV, its own column names);
* ``customers.xlsx`` - the CRM's customer master and sales-rep list (Excel, region as N/S/E/W codes);
* ``ledger.sqlite`` - the ledger's payments and commissions (SQLite, ISO dates as text);
* ``sources.yaml`` - the mapping of those sources onto the canonical tables (docs/own-data.md);
* ``manifest.json`` - the seed, the rows written, the problems injected and what cleaning must keep.

The ledger is generated in two steps. :func:`generate` builds the *clean* canonical ledger (what a
perfect export would hold); :func:`inject_problems` then adds every data problem the cleaning
rules know at known counts, each bad row with exactly one problem, so the cleaning report can be
checked against the manifest row for row.

How the ledger behaves (the seeds' observations, so the analyses have something to find):

* customers (ids ``C_1``, ``C_2``, ...) in four regions and six industries; credit limits and
  payment terms of 15/30/45/60 days; each customer belongs to one sales rep in one sales group;
* billing from ``start`` to ``end`` with fewer invoices in June and October; energy use per
  invoice peaks in March and September and drives the amount (amount = kWh x the customer's
  price + a service fee, lognormal within a customer);
* lateness (days paid after the due date) comes from a latent score per invoice::

      z = customer propensity + industry + customer type + heavy use (> 8M kWh/yr)
          + the customer's financial stress that month (an AR(1) walk over months)
          + 0.3 x log(amount / customer's usual amount) + month of year
          + 0.6 x min(1, max(0, credit use at invoice date - 0.7)) + noise
      days late = 40 x z when z > 0, else paid on time (between invoice and due date)

  so lateness is learnable from what is known at the invoice date (the customer's history,
  industry, credit use, amount, month) and a model beats "late last time". Manufacturing and
  Energy pay later; C_333, C_260 and C_111 are chronic late payers; C_55, C_180 and C_195 carry
  large balances;
* payments: most invoices are paid in one payment; some in two or three (split), some only
  partially (the rest stays open), a fixed number are overpaid (credit balance), very late ones
  are never paid; unapplied cash (no invoice, customer known) is mixed in. The ledger is
  extracted on ``end``: payments after it are not in the ledger, so recent invoices are open;
* commissions: one per invoice at the rep's rate (2-6 %, by sales group), accrued on the invoice
  date and settled at the end of the month after the invoice is fully paid, if that is on or
  before the extract date;
* the invoice ``status`` (Paid/Open/Overdue) is as delivered by the billing system: correct at
  the extract date except for a few stale rows.

Everything is drawn from one seeded ``numpy`` generator: the same seed gives byte-identical files
(no timestamps; the Excel workbook's properties and zip entry times are fixed).

The package, each module importing only those before it: :mod:`~arinsight.sample.values` (day
numbers, ids, amounts), :mod:`~arinsight.sample.customers` (the customer master and the reps),
:mod:`~arinsight.sample.billing` (invoice dates, stress, pay days, open balances),
:mod:`~arinsight.sample.payments` (payments and commissions), :mod:`~arinsight.sample.followups`
(adjustments, disputes, promises), :mod:`~arinsight.sample.generate` (the clean ledger, drawn in
one fixed order), :mod:`~arinsight.sample.problems` (the injected data problems) and
:mod:`~arinsight.sample.write` (the source files, their columns, mapping and manifest).
"""

from __future__ import annotations

from arinsight.sample.generate import generate
from arinsight.sample.problems import inject_problems
from arinsight.sample.write import SOURCE_COLUMNS, write_sample

__all__ = ["generate", "inject_problems", "write_sample", "SOURCE_COLUMNS"]
