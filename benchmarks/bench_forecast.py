"""Benchmark of the 13-week cash forecast as the Cash Forecast page runs it: time, memory, error.

Usage: ``python benchmarks/bench_forecast.py [N ...]`` (default 100000 1000000 invoices). Each
size runs in a fresh child process (peak memory is its own) and prints one JSON line. The ledger
comes from ``arinsight.sample.generate(N, 42)``, or, with ``FORECAST_BENCH_LEDGER=<processed
dir>``, from that processed ledger (read-only), cut to about N invoices by keeping a fixed,
hash-chosen share of the customers (all of it when N >= its size). Not timed: making the ledger.

Timed, T = 2026-10-31 and the notebook's parameters (``late_days=30``, ``random_seed=42``,
default bounds): ``first_run_s``, :func:`arinsight.forecast.run_forecast` for region All with an
empty ``forecast_cache`` (what the first page of a period pays: features, the final model, the
backtest's models), then ``region_s`` per region reading the cache the first run wrote (what
every other page pays). Also the CPU seconds of the first run (``first_run_cpu_s``: on a shared
machine the wall clock includes waiting for a core), the training rows and the bounds, the MAE
per week ahead of the model and of "paid on the due date" over the backtest's month ends, and
the peak resident memory of the process (``peak_rss_mb``, the ledger included).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time

from _per_size import main as per_size

T = "2026-10-31"


def _ledger(n: int) -> dict:
    path = os.environ.get("FORECAST_BENCH_LEDGER")
    if not path:
        from arinsight.sample import generate

        return generate(n, 42)
    import pandas as pd

    from arinsight import ledger

    tables = ledger.load_processed(path)
    if n >= len(tables["invoices"]):
        return tables
    share = n / len(tables["invoices"])
    ids = tables["customers"]["customer_id"]
    hashed = pd.util.hash_pandas_object(ids, index=False).to_numpy()
    keep = set(ids[(hashed % 100_000) < share * 100_000])
    return {
        k: (
            v.loc[v["customer_id"].isin(keep)].reset_index(drop=True)
            if k in ("invoices", "payments", "customers")
            else v
        )
        for k, v in tables.items()
    }


def _one(n: int) -> dict:
    from arinsight import forecast as fc

    tables = _ledger(n)
    rss_ledger = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    params = {"late_days": 30, "random_seed": 42, "backtest_origins": None}
    with tempfile.TemporaryDirectory() as cache:
        t0, c0 = time.perf_counter(), time.process_time()
        f = fc.run_forecast(tables, T, "All", cache, (0.1, 0.9), **params)
        first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
        regions = {}
        for region in sorted(tables["customers"]["region"].dropna().unique()):
            t1 = time.perf_counter()
            fc.run_forecast(tables, T, region, cache, (0.1, 0.9), **params)
            regions[region] = round(time.perf_counter() - t1, 1)
    e = f.errors
    return {
        "invoices": len(tables["invoices"]),
        "payments": len(tables["payments"]),
        "cores": os.cpu_count(),
        "open_invoices": f.details.get("open_invoices"),
        "train_rows": f.details.get("train_rows"),
        "train_rows_available": f.details.get("train_rows_available"),
        "backtest_origins": f.details.get("backtest_origins"),
        "backtest_sample_rows": f.details.get("backtest_sample_rows"),
        "first_run_s": round(first, 1),
        "first_run_cpu_s": round(first_cpu, 1),
        "region_s": regions,
        "mae_model": [round(v) for v in e["mae_model"]],
        "mae_due_date": [round(v) for v in e["mae_due_date"]],
        "beats_due_date_every_week": bool((e["mae_model"] < e["mae_due_date"]).all()),
        "ledger_rss_mb": round(rss_ledger),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main(argv: list[str]) -> int:
    return per_size(__file__, _one, argv, default=[100_000, 1_000_000])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
