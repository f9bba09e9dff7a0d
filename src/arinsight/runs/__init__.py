"""Monthly runs: every notebook of a period, per region, with papermill.

``arinsight run --period 2026-10`` does, in order:

1. **Parameters.** ``params/defaults.yaml`` merged with the ``--params`` files, then checked
   against the parameters cell of every notebook (``papermill.inspect_notebook``): a key that no
   notebook declares is an error unless it belongs to another command (:data:`RUNNER_KEYS`);
   a value of the wrong kind (text where a number is declared, ...) is an error too. Each notebook
   then receives only the keys its parameters cell declares.
2. **Ingest and clean once** (``01_ingest``, ``02_clean``) under region "All".
3. **Analysis per region, in parallel**: ``03_receivables``, ``04_commissions`` and
   ``05_risk_scoring`` for every region (``--regions``, the ``regions`` parameter, or every region
   in the customer table) plus "All", in a process pool of ``--jobs`` workers (default
   ``min(4, cores)``), each notebook with an explicit kernel (``arinsight``), working directory
   (the ``notebooks/`` folder: notebooks find data through ``arinsight.config``, never through the
   working directory, so this only matters to an analyst's own relative paths), a kernel start
   timeout and a per-cell timeout (``runs.start_timeout`` / ``runs.cell_timeout``); a kernel
   that dies or times out before it is ready (no cell ran) is started again, up to 3 starts,
   each failed start logged as ``kernel_retries`` in the manifest. A tqdm
   progress bar counts the notebooks; kernel chatter goes to ``reports/<period>/run.log``.
4. **Assemble** ``kpis.json`` for each region whose notebooks all succeeded: the JSON parts the
   notebooks wrote (``kpis_receivables.json``, ``kpis_commissions.json``, ``kpis_risk.json``;
   notebooks of one region run in parallel, so none of them writes ``kpis.json`` itself) merged
   into one object that has every key listed in docs/kpis.md (null when undefined).
5. **Publish atomically.** Everything is written to ``reports/.staging-<period>-<id>/`` first.
   Page by page: a page that ran replaces its previous version; a failed page keeps its last
   good version (recorded as ``published: previous``; the site says so on that page and the home
   page says the period is mixed), and the failed attempt (the notebook with its error) goes to
   ``reports/<period>/_failed/<region>/``. When ingest or clean failed, every region keeps its
   previous report as it was. The new period folder is then swapped in with two
   renames, and ``reports/<period>/manifest.json`` records the parameters, input hashes, package
   and code versions, timings and the status of every notebook.

Every executed notebook ends with a provenance cell (period, region, parameters, input hashes,
code version, generated at). The command exits 1 with a summary when any notebook failed.

A backfill (``--from 2026-01 --to 2026-10``) runs the months in order and reuses the cleaned data
when nothing that cleaning depends on changed since it last ran: the input files (sha256 from
``data/interim/ingest_manifest.json``), the sources file, the ingest/clean parameters, the two
notebooks and the package version (recorded in ``<processed_dir>/_clean_stamp.json``).

The modules, from the bottom (each imports only those above it):

- :mod:`~arinsight.runs.base`: the notebooks in their order, :class:`~arinsight.runs.base.Settings`
  and small value helpers;
- :mod:`~arinsight.runs.params`: the parameters checked against the notebooks, the periods of a
  backfill, the regions asked for;
- :mod:`~arinsight.runs.assemble`: ``kpis.json`` from the pages' parts;
- :mod:`~arinsight.runs.provenance`: code and package versions, input hashes, what cleaned data
  depends on, the provenance cell;
- :mod:`~arinsight.runs.execute`: one notebook with papermill in a worker process;
- :mod:`~arinsight.runs.staging`: the period lock, staging folders, stale leftovers;
- :mod:`~arinsight.runs.results`: the engine's results of a period, the explorer table and the
  customer pages' tables, before the pages;
- :mod:`~arinsight.runs.period`: one period's run (:class:`~arinsight.runs.period.PeriodRun`);
- :mod:`~arinsight.runs.publish`: its publication page by page, ``kpis.json`` of every region
  and the manifest;
- :mod:`~arinsight.runs.run`: :func:`run_period`, the command.

Every public name below is importable from ``arinsight.runs``.
"""

from __future__ import annotations

from arinsight.ledger import region_dir
from arinsight.runs.assemble import KPI_KEYS, KPI_PARTS, assemble_kpis
from arinsight.runs.base import NOTEBOOKS, PREP_NOTEBOOKS, REGION_NOTEBOOKS
from arinsight.runs.execute import KERNEL_RETRY_PAUSE, KERNEL_START_ATTEMPTS
from arinsight.runs.params import RUNNER_KEYS, notebook_parameters, period_range, validate_params
from arinsight.runs.period import MODEL_NOTEBOOKS, region_jobs
from arinsight.runs.provenance import code_version, package_versions, provenance_markdown
from arinsight.runs.publish import NOTEBOOK_OUTPUTS
from arinsight.runs.results import period_step
from arinsight.runs.run import run_period
from arinsight.runs.staging import clean_stale

__all__ = [
    "KERNEL_RETRY_PAUSE",
    "KERNEL_START_ATTEMPTS",
    "KPI_KEYS",
    "KPI_PARTS",
    "MODEL_NOTEBOOKS",
    "NOTEBOOKS",
    "NOTEBOOK_OUTPUTS",
    "PREP_NOTEBOOKS",
    "REGION_NOTEBOOKS",
    "RUNNER_KEYS",
    "assemble_kpis",
    "clean_stale",
    "code_version",
    "notebook_parameters",
    "package_versions",
    "period_range",
    "period_step",
    "provenance_markdown",
    "region_dir",
    "region_jobs",
    "run_period",
    "validate_params",
]
