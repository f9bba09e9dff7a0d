"""One period's run: ingest and clean (or their reuse), the engine's results of the period,
the region pages in the pool, then publication page by page and the manifest."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arinsight.errors import ParamsError
from arinsight.files import write_json
from arinsight.ledger import ALL_REGIONS, Period, check_region_dirs, period_bounds, region_dir
from arinsight.runs.assemble import KPI_PARTS, assemble_kpis
from arinsight.runs.base import (
    NOTEBOOKS,
    PREP_NOTEBOOKS,
    REGION_NOTEBOOKS,
    Settings,
    display_path,
    now,
    plain,
    read_json,
)
from arinsight.runs.execute import execute_notebook
from arinsight.runs.provenance import (
    append_provenance,
    code_version,
    input_files,
    package_versions,
    rates_file_entry,
    sources_entry,
)
from arinsight.runs.staging import staging_twin

#: The files each analysis notebook writes beside itself (globs): they are published, kept from
#: the previous report or moved to ``_failed/`` together with their notebook.
NOTEBOOK_OUTPUTS: dict[str, tuple[str, ...]] = {
    "03_receivables.ipynb": ("kpis_receivables.json", "history_receivables.json"),
    "04_commissions.ipynb": ("kpis_commissions.json", "history_commissions.json"),
    "05_risk_scoring.ipynb": (
        "kpis_risk.json",
        "risk_metrics.json",
        "risk_scores.parquet",
        "risk_model.*",
    ),
    "07_provision.ipynb": (
        "kpis_provision.json",
        "provision_matrix.csv",
        "provision_backtest.csv",
    ),
    "08_disputes.ipynb": ("kpis_disputes.json",),
}


_FAILED_DIR = "_failed"


_MANIFEST = "manifest.json"


#: Pages whose run for "All" trains the period's model once and fills a cache (under a lock)
#: that the regions' runs of the same page read.
MODEL_NOTEBOOKS = ("05_risk_scoring.ipynb", "06_cash_forecast.ipynb")


def region_jobs(regions: Sequence[str]) -> list[tuple[str, str]]:
    """The (notebook, region) runs of a period, in the order they are submitted to the pool.

    The model pages for "All" first (:data:`MODEL_NOTEBOOKS`: the longest runs; they train the
    period's models once and fill their caches), side by side with 2 workers; then 03/04 for
    every region; the regions' model pages last, so they find the caches ready and only score
    instead of holding a worker while they wait on a cache's lock.
    """
    models = [n for n in MODEL_NOTEBOOKS if n in REGION_NOTEBOOKS]
    jobs = [(n, ALL_REGIONS) for n in models] if ALL_REGIONS in regions else []
    jobs += [(n, r) for n in REGION_NOTEBOOKS if n not in models for r in regions]
    jobs += [(n, r) for n in reversed(models) for r in regions if r != ALL_REGIONS]
    return jobs


def _discover_regions(processed_dir: Path) -> list[str]:
    """Every region of the cleaned ledger (see :func:`arinsight.ledger.regions_of`)."""
    import pandas as pd

    tables = {}
    for table in ("customers", "invoices"):
        path = processed_dir / f"{table}.parquet"
        try:
            tables[table] = pd.read_parquet(path, columns=["region"])
        except (FileNotFoundError, KeyError, ValueError):  # absent, or without regions
            tables[table] = pd.DataFrame({"region": pd.Series(dtype="str")})
    from arinsight.ledger import regions_of

    return regions_of(tables)


def _period_results(processed_dir: Path, period: Period, params: Mapping[str, Any]) -> Any:
    """The engine's results of the period, computed once before the region notebooks start
    (they read them back: :func:`arinsight.engine.period.period_results`), with the page
    parameters of 03_receivables."""
    from arinsight.engine.period import period_results

    as_of = period.end if period.is_snapshot else None
    return period_results(processed_dir, period.label, as_of, params, processed_dir / "engine")


def period_step(
    processed_dir: Path, period: Period, params: Mapping[str, Any], explorer_out: Path
) -> tuple[float | None, list[str]]:
    """The runner's step between clean and the pages: the engine's results of the period
    (:func:`_period_results`), then the explorer table and the customer pages' tables
    (:func:`_snapshot_explorer`). Returns (the engine's seconds, None when it failed; notes for
    the run's manifest): a failure is a note, never an exception, so the pages that do not need
    the results still run. The runner calls it in a process of its own (:meth:`PeriodRun.
    _results`), so the engine's memory (up to ``engine_settings``' limit, 5 GB at 10M invoices)
    goes back to the system before the pages start instead of staying with the runner."""
    t0 = time.perf_counter()
    try:
        results = _period_results(processed_dir, period, params)
    except Exception as exc:
        return None, [f"the engine could not compute the period: {exc}"]
    seconds = round(time.perf_counter() - t0, 2)
    try:
        _snapshot_explorer(results, processed_dir, period, explorer_out)
    except Exception as exc:  # the site then says the explorer is unavailable
        return seconds, [f"invoice explorer not saved: {type(exc).__name__}: {exc}"]
    return seconds, []


def _snapshot_explorer(results: Any, processed_dir: Path, period: Period, out: Path) -> None:
    """Save the invoice explorer table at T (the kept positions) and what the customer pages
    need besides it, for the site."""
    from arinsight.customers import snapshot_tables
    from arinsight.receivables import EXPLORER_READS, invoice_explorer_table

    table = invoice_explorer_table(results.positions(columns=EXPLORER_READS))
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False)
    for name, frame in snapshot_tables(processed_dir, period.end).items():  # the customer pages
        frame.to_parquet(out.parent / name, index=False)


@dataclass
class Task:
    region: str
    notebook: str
    output: Path
    parameters: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)


def _page_records(record: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Notebook -> page record of a region's report record (older manifests: from its status)."""
    if not record:
        return {}
    if isinstance(record.get("pages"), Mapping):
        return {str(k): dict(v) for k, v in record["pages"].items()}
    published = record.get("published")
    return {
        nb: {"status": status, "published": published if status == "ok" else "none"}
        for nb, status in (record.get("notebooks") or {}).items()
    }


class PeriodRun:
    """State of one period's run: tasks, statuses, staging and publication."""

    def __init__(
        self,
        period: str,
        params: dict[str, Any],
        declared: dict[str, dict[str, Any]],
        per_nb: dict[str, dict[str, Any]],
        wanted_regions: list[str] | None,
        settings: Settings,
        pool: ProcessPoolExecutor,
    ):
        self.period = period_bounds(period).at(params.get("as_of"))
        self.params, self.declared, self.per_nb = params, declared, per_nb
        self.settings, self.pool = settings, pool
        self.wanted_regions = wanted_regions
        self.started_at = now()
        self.t0 = time.perf_counter()
        self.final = settings.reports_dir / self.period.label
        run_id = uuid.uuid4().hex[:8]
        self.staging = settings.reports_dir / f".staging-{self.period.label}-{run_id}"
        #: where this run's ingest and clean write: swapped in with the report, never before
        self.data = {
            "interim": staging_twin(settings.interim_dir, self.period.label, run_id),
            "processed": staging_twin(settings.processed_dir, self.period.label, run_id),
        }
        self.log = self.staging / "run.log"
        self.tasks: list[Task] = []
        self.inputs: list[dict[str, Any]] = []
        self.clean_info: dict[str, Any] = {"status": "ran"}
        self.regions: list[str] = []
        self.notes: list[str] = []
        self.kpi_errors: dict[str, str] = {}
        self.timings: dict[str, float] = {}

    # -- helpers ---------------------------------------------------------------------------

    def _params_for(self, notebook: str, region: str, out_dir: Path) -> dict[str, Any]:
        declared = self.per_nb.get(notebook, {})
        values = {k: plain(v) for k, v in declared.items()}
        names = self.declared[notebook]
        runner = {
            "period": self.period.label,
            "region": region,
            "output_dir": str(out_dir),
            "processed_dir": display_path(self.processed_dir),
            "interim_dir": display_path(self.interim_dir),
        }
        values.update({k: v for k, v in runner.items() if k in names})
        return values

    @property
    def processed_dir(self) -> Path:
        """The processed data this run's notebooks read: its own (staged) when it cleans, the
        published data when it reuses them."""
        return (
            self.data["processed"]
            if self.clean_info["status"] == "ran"
            else self.settings.processed_dir
        )

    @property
    def interim_dir(self) -> Path:
        return (
            self.data["interim"]
            if self.clean_info["status"] == "ran"
            else self.settings.interim_dir
        )

    def publish_data(self, published: bool) -> None:
        """Swap this run's interim and processed data in when its report was published (the
        report and the data alerts read change together), else drop them. A ``.gitkeep`` in
        the folder being replaced is carried over (a clone's placeholder, not run output)."""
        final = {"interim": self.settings.interim_dir, "processed": self.settings.processed_dir}
        for kind, staged in self.data.items():
            if not staged.exists():
                continue
            if not published or self.clean_info["status"] != "ran":
                shutil.rmtree(staged, ignore_errors=True)
                continue
            trash = staged.with_name(staged.name.replace(".staging-", ".trash-", 1))
            keep = final[kind] / ".gitkeep"
            if keep.is_file() and not (staged / ".gitkeep").exists():
                shutil.copy2(keep, staged / ".gitkeep")
            if final[kind].exists():
                os.replace(final[kind], trash)
            final[kind].parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final[kind])
            shutil.rmtree(trash, ignore_errors=True)

    def _task(self, notebook: str, region: str) -> Task:
        out_dir = self.staging / region_dir(region)
        return Task(
            region=region,
            notebook=notebook,
            output=out_dir / notebook,
            parameters=self._params_for(notebook, region, out_dir),
        )

    def _submit(self, task: Task) -> Future:
        self.tasks.append(task)
        return self.pool.submit(
            execute_notebook,
            {
                "input": str(self.settings.notebooks_dir / task.notebook),
                "output": str(task.output),
                "parameters": task.parameters,
                "kernel_name": self.settings.kernel_name,
                "cwd": str(self.settings.notebooks_dir),
                "cell_timeout": self.settings.cell_timeout,
                "start_timeout": self.settings.start_timeout,
                "log": str(self.log),
            },
        )

    @staticmethod
    def _wait(fut: Future) -> dict[str, Any]:
        try:
            return fut.result()
        except Exception as exc:  # a worker process died (out of memory, killed)
            return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "seconds": None}

    def _provenance(self, task: Task) -> dict[str, Any]:
        params = dict(task.parameters)
        if "output_dir" in params:  # where the notebook is published, not the staging folder
            params["output_dir"] = display_path(self.final / region_dir(task.region))
        return {
            "period": self.period.label,
            "region": task.region,
            "notebook": task.notebook,
            "status": task.result.get("status"),
            "error": task.result.get("error"),
            "generated_at": now(),
            "code_version": code_version(),
            "params": params,
            "inputs": self.inputs,
        }

    def _finish_task(self, task: Task, result: dict[str, Any], bar: Any) -> None:
        task.result = result
        if task.output.exists():
            with contextlib.suppress(Exception):
                append_provenance(task.output, self._provenance(task))
        if bar is not None:
            bar.set_postfix_str(f"{task.region}/{task.notebook}: {result['status']}")
            bar.update(1)

    # -- the run ---------------------------------------------------------------------------

    def run(self, bar: Any, prep_source: Mapping[str, Any] | None) -> None:
        self.staging.mkdir(parents=True)
        if prep_source is None:
            for folder in self.data.values():
                folder.mkdir(parents=True)
        (self.staging / region_dir(ALL_REGIONS)).mkdir()
        self.log.touch()
        prep_ok = True
        if prep_source is not None:
            self._reuse_prep(prep_source, bar)
        else:
            for name in PREP_NOTEBOOKS:
                task = self._task(name, ALL_REGIONS)
                if not prep_ok:
                    self._skip(task, "an earlier step failed", bar)
                    continue
                result = self._wait(self._submit(task))
                if name == PREP_NOTEBOOKS[0]:
                    self.inputs = self._current_inputs()
                self._finish_task(task, result, bar)
                prep_ok = result["status"] == "ok"
        self.inputs = self._current_inputs()
        if prep_ok:
            found = _discover_regions(self.processed_dir)
            configured = self.params.get("regions")
            base = [str(r) for r in configured] if configured else found
            wanted = self.wanted_regions if self.wanted_regions is not None else base
            missing = [r for r in wanted if found and r not in found]
            if missing:
                raise ParamsError(
                    f"region(s) {', '.join(missing)} not in the data "
                    f"(regions in the data: {', '.join(found)})"
                )
            self.regions = [ALL_REGIONS] + [r for r in wanted if r != ALL_REGIONS]
            try:
                check_region_dirs(self.regions)
            except ValueError as exc:
                raise ParamsError(str(exc)) from exc
        else:
            self.regions = [ALL_REGIONS] + list(self.wanted_regions or [])
        if bar is not None:
            bar.total = len(PREP_NOTEBOOKS) + len(self.regions) * len(REGION_NOTEBOOKS)
            bar.refresh()
        if prep_ok:  # a page that cannot read them says why in its own notebook
            self._results()
        pending: dict[Future, Task] = {}
        for name, region in region_jobs(self.regions):
            task = self._task(name, region)
            if not prep_ok:
                self._skip(task, "ingest/clean failed", bar)
                continue
            pending[self._submit(task)] = task
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                self._finish_task(pending.pop(fut), self._wait(fut), bar)

    def _results(self) -> None:
        """The engine's results of the period (every KPI of every region, the trailing months,
        the positions at T), computed once for every page; then the explorer table and the
        customer pages' tables. When the engine cannot compute them the reason goes to the
        notes (the pages that need them then fail with it; the others are shown). It runs in a
        process of its own (:func:`period_step`), which costs a second of start and imports."""
        args = (
            self.processed_dir,
            self.period,
            self.per_nb.get("03_receivables.ipynb", {}),
            self.staging / region_dir(ALL_REGIONS) / "invoice_explorer.parquet",
        )
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as one:
                seconds, notes = one.submit(period_step, *args).result()
        except Exception as exc:  # the process itself died (killed out of memory...)
            seconds, notes = None, [f"the engine could not compute the period: {exc!r}"]
        self.notes.extend(notes)
        if seconds is not None:
            self.timings["engine"] = seconds

    def _skip(self, task: Task, why: str, bar: Any) -> None:
        """Record ``task`` as skipped (``why``) without running it."""
        task.result = {"status": "skipped", "error": why}
        self.tasks.append(task)
        if bar is not None:
            bar.update(1)

    def _current_inputs(self) -> list[dict[str, Any]]:
        files = input_files(self.interim_dir)
        named = [sources_entry(self.params), rates_file_entry(self.params)]
        return [e for e in named if e] + files

    def _reuse_prep(self, stamp: Mapping[str, Any], bar: Any) -> None:
        """Cleaned data unchanged: copy the executed ingest/clean notebooks of the run that made it."""
        self.clean_info = {"status": "reused", "reused_from": stamp.get("period")}
        src_dir = self.settings.reports_dir / str(stamp.get("period")) / region_dir(ALL_REGIONS)
        for name in PREP_NOTEBOOKS:
            task = self._task(name, ALL_REGIONS)
            task.result = {
                "status": "reused",
                "error": None,
                "seconds": 0.0,
                "reused_from": stamp.get("period"),
            }
            if (src_dir / name).exists():
                shutil.copy2(src_dir / name, task.output)
            self.tasks.append(task)
            if bar is not None:
                bar.update(1)

    def _assemble(self, region: str, folder: Path) -> None:
        """kpis.json of a region from the parts its published pages wrote (missing parts: null)."""
        parts = {name: read_json(folder / name) for name in KPI_PARTS}
        try:
            kpis = assemble_kpis(parts, self.period.label, region)
        except ValueError as exc:
            self.notes.append(f"{region}: kpis.json not assembled: {exc}")
            self.kpi_errors[region] = str(exc)
            return
        write_json(folder / "kpis.json", kpis)

    def _task_of(self, region: str, notebook: str) -> Task | None:
        return next((t for t in self.tasks if t.region == region and t.notebook == notebook), None)

    def prep_ok(self) -> bool:
        return all(
            t.result.get("status") in ("ok", "reused")
            for t in self.tasks
            if t.notebook in PREP_NOTEBOOKS
        )

    def page_status(self, region: str, notebook: str) -> str | None:
        task = self._task_of(region, notebook)
        return None if task is None else task.result.get("status")

    def region_status(self, region: str) -> str:
        """ "ok" when every page of the region (and, for "All", ingest and clean) succeeded,
        "partial" when some of its pages did, "failed" when none did."""
        if not self.prep_ok():
            return "failed"
        ok = [self.page_status(region, nb) == "ok" for nb in REGION_NOTEBOOKS]
        if all(ok) and region not in self.kpi_errors:
            return "ok"
        return "partial" if any(ok) else "failed"

    # -- publication -------------------------------------------------------------------------

    def _resolve_pages(
        self, region: str, old_record: Mapping[str, Any] | None, failed_dir: Path
    ) -> dict[str, dict[str, Any]]:
        """Page by page: a page that ran is published; a failed page goes to ``_failed/`` with
        the files it wrote, and its previous good version (notebook and outputs) is kept when the
        previous report of this period had one. Returns notebook -> page record."""
        rdir = region_dir(region)
        staged, previous = self.staging / rdir, self.final / rdir
        old_pages = _page_records(old_record)
        pages: dict[str, dict[str, Any]] = {}
        for nb in REGION_NOTEBOOKS:
            task = self._task_of(region, nb)
            status = task.result.get("status") if task else "skipped"
            if status == "ok":
                pages[nb] = {"status": "ok", "published": "this run"}
                continue
            error = task.result.get("error") if task else "not run"
            (failed_dir / rdir).mkdir(parents=True, exist_ok=True)
            for name in (nb, *NOTEBOOK_OUTPUTS.get(nb, ())):
                for f in staged.glob(name):
                    os.replace(f, failed_dir / rdir / f.name)
            old = old_pages.get(nb) or {}
            if (previous / nb).is_file() and old.get("published") in ("this run", "previous"):
                staged.mkdir(parents=True, exist_ok=True)
                for name in (nb, *NOTEBOOK_OUTPUTS.get(nb, ())):
                    for f in previous.glob(name):
                        shutil.copy2(f, staged / f.name)
                pages[nb] = {
                    "status": status,
                    "published": "previous",
                    "error": error,
                    "previous_generated_at": old.get("generated_at")
                    or (old_record or {}).get("generated_at"),
                }
            else:
                pages[nb] = {"status": status, "published": "none", "error": error}
        return pages

    def publish(self) -> dict[str, Any]:
        """Swap the staged period in, page by page (see :meth:`_resolve_pages`); when ingest or
        clean failed, every region keeps its previous report as it was."""
        old_manifest = read_json(self.final / _MANIFEST) or {}
        old_reports = old_manifest.get("reports") or {}
        reports: dict[str, Any] = {}
        failed_dir = self.staging / _FAILED_DIR
        prep_ok = self.prep_ok()
        for region in self.regions:
            rdir = region_dir(region)
            staged = self.staging / rdir
            previous = self.final / rdir
            attempt = {"started_at": self.started_at, "dir": f"{_FAILED_DIR}/{rdir}"}
            if prep_ok:
                pages = self._resolve_pages(region, old_reports.get(region), failed_dir)
                if any(p["published"] != "none" for p in pages.values()):
                    self._assemble(region, staged)
                    reports[region] = self._report_record(region, pages)
                    if not any(p["published"] == "this run" for p in pages.values()):
                        reports[region]["published"] = "previous"
                    if self.region_status(region) != "ok":
                        reports[region]["failed_attempt"] = attempt
                    continue
                reports[region] = {
                    "dir": rdir,
                    "region": region,
                    "published": "none",
                    "status": "failed",
                    "pages": pages,
                    "failed_attempt": attempt,
                }
                continue
            failed_dir.mkdir(exist_ok=True)
            if staged.exists():
                os.replace(staged, failed_dir / rdir)
            if previous.is_dir() and region in old_reports:
                shutil.copytree(previous, staged)
                reports[region] = {
                    **old_reports[region],
                    "published": "previous",
                    "failed_attempt": attempt,
                }
            else:
                reports[region] = {
                    "dir": rdir,
                    "region": region,
                    "published": "none",
                    "status": "failed",
                    "failed_attempt": attempt,
                }
        # regions of the old period that this run did not touch are carried over as they were
        for region, record in old_reports.items():
            if region in reports:
                continue
            rdir = record.get("dir") or region_dir(region)
            if (self.final / rdir).is_dir():
                shutil.copytree(self.final / rdir, self.staging / rdir)
                reports[region] = record
            if (self.final / _FAILED_DIR / rdir).is_dir():
                failed_dir.mkdir(exist_ok=True)
                shutil.copytree(self.final / _FAILED_DIR / rdir, failed_dir / rdir)
        # anything else in the old period folder (alerts/, outbox/ of `arinsight alerts`, ...)
        if self.final.is_dir():
            for entry in self.final.iterdir():
                target = self.staging / entry.name
                if entry.name in (_MANIFEST, _FAILED_DIR, "run.log") or target.exists():
                    continue
                if entry.is_dir():
                    shutil.copytree(entry, target)
                else:
                    shutil.copy2(entry, target)
        for folder in (self.staging / region_dir(ALL_REGIONS), failed_dir):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        manifest = self._manifest(reports)
        write_json(self.staging / _MANIFEST, manifest)
        trash = self.settings.reports_dir / f".trash-{self.period.label}-{uuid.uuid4().hex[:8]}"
        if self.final.exists():
            os.replace(self.final, trash)
        os.replace(self.staging, self.final)
        shutil.rmtree(trash, ignore_errors=True)
        return manifest

    def _report_record(self, region: str, pages: Mapping[str, Any]) -> dict[str, Any]:
        """What the site shows as provenance of a region's pages."""
        tasks = [t for t in self.tasks if t.region == region]
        return {
            "dir": region_dir(region),
            "region": region,
            "status": self.region_status(region),
            "published": "this run",
            "pages": dict(pages),
            "generated_at": now(),
            "started_at": self.started_at,
            "code_version": code_version(),
            "params": plain(self.params),
            "inputs": self.inputs,
            "notebooks": {t.notebook: t.result.get("status") for t in tasks},
        }

    @staticmethod
    def _run_entry(t: Task) -> dict[str, Any]:
        """One notebook's line in the manifest's ``runs``; ``kernel_retries`` lists each start
        of its kernel that failed before any cell ran (attempt, error, time), when any did."""
        return {
            "region": t.region,
            "notebook": t.notebook,
            "status": t.result.get("status"),
            "seconds": t.result.get("seconds"),
            "error": t.result.get("error"),
            "output": (
                f"{region_dir(t.region)}/{t.notebook}"
                if t.result.get("status") in ("ok", "reused")
                else f"{_FAILED_DIR}/{region_dir(t.region)}/{t.notebook}"
            ),
            **({"reused_from": t.result["reused_from"]} if "reused_from" in t.result else {}),
            **(
                {"kernel_retries": t.result["kernel_retries"]}
                if t.result.get("kernel_retries")
                else {}
            ),
        }

    def _manifest(self, reports: Mapping[str, Any]) -> dict[str, Any]:
        runs = [self._run_entry(t) for t in self.tasks]
        failed = [r for r in runs if r["status"] not in ("ok", "reused")]
        order = [ALL_REGIONS] + sorted(r for r in reports if r != ALL_REGIONS)
        return {
            "period": self.period.label,
            "as_of": self.period.end.date().isoformat(),
            "period_end": self.period.full_end.date().isoformat(),
            "status": "failed" if failed or self.kpi_errors else "ok",
            "started_at": self.started_at,
            "finished_at": now(),
            "wall_seconds": round(time.perf_counter() - self.t0, 2),
            "code_version": code_version(),
            "packages": package_versions(),
            "kernel": self.settings.kernel_name,
            "jobs": self.settings.jobs,
            "cell_timeout": self.settings.cell_timeout,
            "start_timeout": self.settings.start_timeout,
            "params": plain(self.params),
            "dataset": self.settings.dataset,
            "notebook_params": {n: sorted(self.declared.get(n, ())) for n in NOTEBOOKS},
            "inputs": self.inputs,
            "clean": self.clean_info,
            "regions": [r for r in order if r in reports],
            "runs": runs,
            "reports": {r: reports[r] for r in order if r in reports},
            "notes": self.notes,
            "timings": self.timings,
        }
