"""``arinsight run``: the parameters checked once, then each period of the run (or backfill) in
order, each under its lock, with one pool of workers for all of them; the exit code and the
summary of what failed."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from arinsight import config, datasets
from arinsight.errors import ParamsError, UserError
from arinsight.files import write_json
from arinsight.ledger import period_bounds
from arinsight.runs.base import (
    NOTEBOOKS,
    PREP_NOTEBOOKS,
    REGION_NOTEBOOKS,
    Settings,
    display_path,
    now,
    plain,
)
from arinsight.runs.params import (
    check_periods,
    check_regions,
    dataset_settings,
    load_merged,
    notebook_parameters,
    parse_regions,
    period_range,
    validate_params,
)
from arinsight.runs.period import PeriodRun
from arinsight.runs.provenance import CLEAN_STAMP, clean_fingerprint, reusable_clean
from arinsight.runs.publish import publish, publish_data
from arinsight.runs.staging import clean_stale, period_lock

_DEFAULT_CELL_TIMEOUT = 1800


_DEFAULT_START_TIMEOUT = 120


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _summary(period: str, manifest: Mapping[str, Any]) -> str:
    lines = []
    failed = [r for r in manifest["runs"] if r["status"] not in ("ok", "reused")]
    if failed:
        lines.append(f"{period}: {len(failed)} of {len(manifest['runs'])} notebook runs failed:")
        for r in failed:
            lines.append(
                f"  {r['region']}/{r['notebook']}: {r['status']}"
                + (f": {r['error']}" if r.get("error") else "")
                + f" (notebook: {r['output']})"
            )
        for region, rec in manifest["reports"].items():
            if rec.get("published") == "previous":
                lines.append(f"  {region}: previous report kept (from {rec.get('generated_at')})")
            elif rec.get("published") == "none":
                lines.append(f"  {region}: no report published")
    for note in manifest.get("notes") or []:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def _run_one(
    label: str,
    merged: dict[str, Any],
    declared: dict[str, dict[str, Any]],
    per_nb: dict[str, dict[str, Any]],
    wanted: list[str] | None,
    settings: Settings,
    pool: ProcessPoolExecutor,
    backfill: bool,
    tqdm: Any,
) -> int:
    """One period: run, publish, stamp the cleaned data, print the summary; returns 0 or 1."""
    with period_lock(settings.reports_dir, label):
        fingerprint = clean_fingerprint(merged, settings, per_nb)
        stamp = reusable_clean(settings, fingerprint) if backfill else None
        configured = merged.get("regions") or []
        estimate = len(PREP_NOTEBOOKS) + len(REGION_NOTEBOOKS) * (1 + len(wanted or configured))
        bar = tqdm(
            total=estimate,
            desc=f"arinsight run {label}",
            unit="nb",
            file=sys.stderr,
            disable=not settings.progress,
            dynamic_ncols=True,
        )
        run = PeriodRun(label, merged, declared, per_nb, wanted, settings, pool)
        try:
            run.run(bar, stamp)
            manifest = publish(run)
            published = any(r.get("published") == "this run" for r in manifest["reports"].values())
            publish_data(run, published)
        except BaseException:
            shutil.rmtree(run.staging, ignore_errors=True)
            publish_data(run, False)
            raise
        finally:
            bar.close()
        if manifest["status"] == "ok" and run.clean_info["status"] == "ran":
            write_json(
                settings.processed_dir / CLEAN_STAMP,
                {
                    "period": label,
                    "fingerprint": plain(fingerprint),
                    "inputs": [i for i in run.inputs if i.get("table") != "sources"],
                    "written_at": now(),
                },
            )
    summary = _summary(label, manifest)
    if summary:
        print(summary, file=sys.stderr)
    if settings.progress:
        print(
            f"{label}: {manifest['status']}, {len(manifest['runs'])} notebooks in "
            f"{manifest['wall_seconds']:.0f}s -> {display_path(run.final)}",
            file=sys.stderr,
        )
    return 0 if manifest["status"] == "ok" else 1


def run_period(
    period: str | None = None,
    regions: str | Sequence[str] | None = "all",
    params_files: Sequence[str | os.PathLike[str]] = (),
    jobs: int | None = None,
    from_period: str | None = None,
    to_period: str | None = None,
    *,
    as_of: str | None = None,
    params: Mapping[str, Any] | None = None,
    reports_dir: str | os.PathLike[str] | None = None,
    notebooks_dir: str | os.PathLike[str] | None = None,
    defaults_file: str | os.PathLike[str] | None = None,
    kernel_name: str = config.KERNEL_NAME,
    progress: bool = True,
) -> int:
    """Run the notebooks of one period (or a backfill ``from_period`` .. ``to_period``).

    ``regions`` is "all" (the ``regions`` parameter, or every region in the customer table) or
    a list / comma-separated text of regions; "All" is always run. ``params_files`` are merged
    over ``params/defaults.yaml`` (or ``defaults_file``), then ``params`` over them (tests use it
    for ``sources``, ``interim_dir``, ``processed_dir``). ``reports_dir`` and ``notebooks_dir``
    default to the project's ``reports/`` and ``notebooks/``.

    ``as_of`` (or the ``as_of`` parameter; a date within the period) makes a snapshot report:
    balances at that date, flows from the period's start to it. It cannot be used with a
    backfill.

    Returns the exit code: 0 when every notebook succeeded, 1 when any failed (the summary is
    printed to stderr; failed pages keep their previous version or are marked failed). Bad
    parameters raise :class:`~arinsight.errors.ParamsError` before any notebook starts.
    """
    if period and (from_period or to_period):
        raise ParamsError("give either --period or --from/--to, not both")
    if from_period or to_period:
        if not (from_period and to_period):
            raise ParamsError("a backfill needs both --from and --to")
        periods = period_range(from_period, to_period)
        backfill = True
    elif period:
        try:
            periods = [period_bounds(period).label]
        except ValueError as exc:
            raise ParamsError(str(exc)) from exc
        backfill = False
    else:
        raise ParamsError("give --period YYYY-MM (or --from YYYY-MM --to YYYY-MM)")

    merged = load_merged(params_files, params, defaults_file)
    merged.update(dataset_settings(merged))
    if as_of is not None:
        merged["as_of"] = as_of
    if merged.get("as_of") is not None:
        if backfill:
            raise ParamsError("--as-of (a snapshot date) cannot be used with a backfill")
        try:
            merged["as_of"] = period_bounds(periods[0]).at(str(merged["as_of"])).end.date()
        except ValueError as exc:
            raise ParamsError(str(exc)) from exc
    run_cfg = merged.get("runs") or {}
    if not isinstance(run_cfg, Mapping):
        raise ParamsError("'runs' must be a mapping (jobs, cell_timeout, start_timeout)")
    nb_dir = Path(notebooks_dir) if notebooks_dir else config.NOTEBOOKS_DIR
    missing = [n for n in NOTEBOOKS if not (nb_dir / n).exists()]
    if missing:
        raise UserError(f"{nb_dir}: missing notebook(s) {', '.join(missing)}")
    declared = {n: notebook_parameters(nb_dir / n) for n in NOTEBOOKS}
    for name, names in declared.items():
        if "period" not in names:
            raise ParamsError(f"{name}: its parameters cell must declare `period`")
    per_nb = validate_params(merged, declared)
    wanted = parse_regions(regions)
    configured = merged.get("regions")
    if configured is not None and not isinstance(configured, list | tuple):
        raise ParamsError("'regions' must be a list of region names or null")
    if wanted and configured:
        unknown = [r for r in wanted if r not in [str(c) for c in configured]]
        if unknown:
            raise ParamsError(
                f"region(s) {', '.join(unknown)} not in the `regions` parameter "
                f"({', '.join(map(str, configured))})"
            )
    check_periods(periods, merged.get("run_date"))
    if wanted or configured:
        check_regions(wanted or [str(c) for c in configured], merged)

    jobs = jobs or run_cfg.get("jobs") or min(4, _cores())
    if not isinstance(jobs, int) or jobs < 1:
        raise ParamsError(f"--jobs must be a positive whole number, got {jobs!r}")
    settings = Settings(
        reports_dir=Path(reports_dir)
        if reports_dir
        else config.resolve_path(merged.get("reports_dir")) or config.REPORTS_DIR,
        notebooks_dir=nb_dir.resolve(),
        processed_dir=config.resolve_path(merged.get("processed_dir")) or config.PROCESSED_DIR,
        interim_dir=config.resolve_path(merged.get("interim_dir")) or config.INTERIM_DIR,
        kernel_name=kernel_name,
        cell_timeout=int(run_cfg.get("cell_timeout") or _DEFAULT_CELL_TIMEOUT),
        start_timeout=int(run_cfg.get("start_timeout") or _DEFAULT_START_TIMEOUT),
        jobs=jobs,
        progress=progress,
    )
    settings.reports_dir = settings.reports_dir.resolve()
    clean_stale(settings.reports_dir, [settings.processed_dir, settings.interim_dir])
    dataset = datasets.identity(merged)
    with period_lock(settings.reports_dir, "dataset"):
        note = datasets.switch_to(dataset, settings.reports_dir)
    if note and progress:
        print(f"arinsight run: dataset {dataset['name']}: {note}", file=sys.stderr)
    settings.dataset = dataset

    from tqdm.auto import tqdm

    exit_code = 0
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        for label in periods:
            code = _run_one(label, merged, declared, per_nb, wanted, settings, pool, backfill, tqdm)
            exit_code = max(exit_code, code)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return exit_code
