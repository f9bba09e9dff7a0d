"""The period's step between clean and the pages: the engine's results of the period, then the
invoice explorer table and the customer pages' tables (run in a process of its own by
:class:`~arinsight.runs.period.PeriodRun`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arinsight.ledger import Period


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
    the results still run. The runner calls it in a process of its own (:class:`~arinsight.runs.period.PeriodRun`), so the engine's memory (up to ``engine_settings``' limit, 5 GB at 10M invoices)
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
