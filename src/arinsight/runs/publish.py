"""Publication of a period's run: page by page into the report (a failed page keeps its
previous good version, its attempt goes to ``_failed/``), each region's ``kpis.json`` assembled
from its pages' parts, the period's ``manifest.json``, and the run's cleaned data swapped in
with the report. Functions of a finished :class:`~arinsight.runs.period.PeriodRun`."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arinsight.files import write_json
from arinsight.ledger import ALL_REGIONS, region_dir
from arinsight.runs.assemble import KPI_PARTS, assemble_kpis
from arinsight.runs.base import (
    NOTEBOOKS,
    REGION_NOTEBOOKS,
    now,
    plain,
    read_json,
)
from arinsight.runs.provenance import (
    code_version,
    package_versions,
)

if TYPE_CHECKING:  # for the annotations only: period does not import this module
    from arinsight.runs.period import PeriodRun, Task


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


def publish_data(run: PeriodRun, published: bool) -> None:
    """Swap this run's interim and processed data in when its report was published (the
    report and the data alerts read change together), else drop them. A ``.gitkeep`` in
    the folder being replaced is carried over (a clone's placeholder, not run output)."""
    final = {"interim": run.settings.interim_dir, "processed": run.settings.processed_dir}
    for kind, staged in run.data.items():
        if not staged.exists():
            continue
        if not published or run.clean_info["status"] != "ran":
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


def assemble_region(run: PeriodRun, region: str, folder: Path) -> None:
    """kpis.json of a region from the parts its published pages wrote (missing parts: null)."""
    parts = {name: read_json(folder / name) for name in KPI_PARTS}
    try:
        kpis = assemble_kpis(parts, run.period.label, region)
    except ValueError as exc:
        run.notes.append(f"{region}: kpis.json not assembled: {exc}")
        run.kpi_errors[region] = str(exc)
        return
    write_json(folder / "kpis.json", kpis)


def _resolve_pages(
    run: PeriodRun, region: str, old_record: Mapping[str, Any] | None, failed_dir: Path
) -> dict[str, dict[str, Any]]:
    """Page by page: a page that ran is published; a failed page goes to ``_failed/`` with
    the files it wrote, and its previous good version (notebook and outputs) is kept when the
    previous report of this period had one. Returns notebook -> page record."""
    rdir = region_dir(region)
    staged, previous = run.staging / rdir, run.final / rdir
    old_pages = _page_records(old_record)
    pages: dict[str, dict[str, Any]] = {}
    for nb in REGION_NOTEBOOKS:
        task = run.task_of(region, nb)
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


def publish(run: PeriodRun) -> dict[str, Any]:
    """Swap the staged period in, page by page (see :func:`_resolve_pages`); when ingest or
    clean failed, every region keeps its previous report as it was."""
    old_manifest = read_json(run.final / _MANIFEST) or {}
    old_reports = old_manifest.get("reports") or {}
    reports: dict[str, Any] = {}
    failed_dir = run.staging / _FAILED_DIR
    prep_ok = run.prep_ok()
    for region in run.regions:
        rdir = region_dir(region)
        staged = run.staging / rdir
        previous = run.final / rdir
        attempt = {"started_at": run.started_at, "dir": f"{_FAILED_DIR}/{rdir}"}
        if prep_ok:
            pages = _resolve_pages(run, region, old_reports.get(region), failed_dir)
            if any(p["published"] != "none" for p in pages.values()):
                assemble_region(run, region, staged)
                reports[region] = _report_record(run, region, pages)
                if not any(p["published"] == "this run" for p in pages.values()):
                    reports[region]["published"] = "previous"
                if run.region_status(region) != "ok":
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
        if (run.final / rdir).is_dir():
            shutil.copytree(run.final / rdir, run.staging / rdir)
            reports[region] = record
        if (run.final / _FAILED_DIR / rdir).is_dir():
            failed_dir.mkdir(exist_ok=True)
            shutil.copytree(run.final / _FAILED_DIR / rdir, failed_dir / rdir)
    # anything else in the old period folder (alerts/, outbox/ of `arinsight alerts`, ...)
    if run.final.is_dir():
        for entry in run.final.iterdir():
            target = run.staging / entry.name
            if entry.name in (_MANIFEST, _FAILED_DIR, "run.log") or target.exists():
                continue
            if entry.is_dir():
                shutil.copytree(entry, target)
            else:
                shutil.copy2(entry, target)
    for folder in (run.staging / region_dir(ALL_REGIONS), failed_dir):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    manifest = _manifest(run, reports)
    write_json(run.staging / _MANIFEST, manifest)
    trash = run.settings.reports_dir / f".trash-{run.period.label}-{uuid.uuid4().hex[:8]}"
    if run.final.exists():
        os.replace(run.final, trash)
    os.replace(run.staging, run.final)
    shutil.rmtree(trash, ignore_errors=True)
    return manifest


def _report_record(run: PeriodRun, region: str, pages: Mapping[str, Any]) -> dict[str, Any]:
    """What the site shows as provenance of a region's pages."""
    tasks = [t for t in run.tasks if t.region == region]
    return {
        "dir": region_dir(region),
        "region": region,
        "status": run.region_status(region),
        "published": "this run",
        "pages": dict(pages),
        "generated_at": now(),
        "started_at": run.started_at,
        "code_version": code_version(),
        "params": plain(run.params),
        "inputs": run.inputs,
        "notebooks": {t.notebook: t.result.get("status") for t in tasks},
    }


def run_entry(t: Task) -> dict[str, Any]:
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
            {"kernel_retries": t.result["kernel_retries"]} if t.result.get("kernel_retries") else {}
        ),
    }


def _manifest(run: PeriodRun, reports: Mapping[str, Any]) -> dict[str, Any]:
    runs = [run_entry(t) for t in run.tasks]
    failed = [r for r in runs if r["status"] not in ("ok", "reused")]
    order = [ALL_REGIONS] + sorted(r for r in reports if r != ALL_REGIONS)
    return {
        "period": run.period.label,
        "as_of": run.period.end.date().isoformat(),
        "period_end": run.period.full_end.date().isoformat(),
        "status": "failed" if failed or run.kpi_errors else "ok",
        "started_at": run.started_at,
        "finished_at": now(),
        "wall_seconds": round(time.perf_counter() - run.t0, 2),
        "code_version": code_version(),
        "packages": package_versions(),
        "kernel": run.settings.kernel_name,
        "jobs": run.settings.jobs,
        "cell_timeout": run.settings.cell_timeout,
        "start_timeout": run.settings.start_timeout,
        "params": plain(run.params),
        "dataset": run.settings.dataset,
        "notebook_params": {n: sorted(run.declared.get(n, ())) for n in NOTEBOOKS},
        "inputs": run.inputs,
        "clean": run.clean_info,
        "regions": [r for r in order if r in reports],
        "runs": runs,
        "reports": {r: reports[r] for r in order if r in reports},
        "notes": run.notes,
        "timings": run.timings,
    }
