"""One period's run: ingest and clean (or their reuse), the engine's results of the period
(:mod:`~arinsight.runs.results`), then the region pages in the pool; its publication page by
page and the manifest are :mod:`~arinsight.runs.publish`."""

from __future__ import annotations

import contextlib
import multiprocessing
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arinsight.errors import ParamsError
from arinsight.ledger import ALL_REGIONS, check_region_dirs, period_bounds, region_dir
from arinsight.runs.base import (
    PREP_NOTEBOOKS,
    REGION_NOTEBOOKS,
    Settings,
    display_path,
    now,
    plain,
)
from arinsight.runs.execute import execute_notebook
from arinsight.runs.provenance import (
    append_provenance,
    code_version,
    input_files,
    rates_file_entry,
    sources_entry,
)
from arinsight.runs.results import period_step
from arinsight.runs.staging import staging_twin

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


@dataclass
class Task:
    region: str
    notebook: str
    output: Path
    parameters: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)


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

    def task_of(self, region: str, notebook: str) -> Task | None:
        """The task of ``notebook`` for ``region`` in this run, None when it was not run."""
        return next((t for t in self.tasks if t.region == region and t.notebook == notebook), None)

    def prep_ok(self) -> bool:
        return all(
            t.result.get("status") in ("ok", "reused")
            for t in self.tasks
            if t.notebook in PREP_NOTEBOOKS
        )

    def page_status(self, region: str, notebook: str) -> str | None:
        task = self.task_of(region, notebook)
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
