"""Benchmark of the 13-week cash forecast: backtest error per horizon week, and time.

Usage: ``python benchmarks/bench_forecast.py [N ...]`` (default 10000 100000 invoices). Each size
runs in a fresh child process. The ledger comes from ``arinsight.sample.generate(N, 42)``; T =
2026-10-31; every month end whose 13 weeks are known is a backtest origin (the model retrained as
it was that day). Reported: MAE per week ahead of the model and of the two baselines a finance
team uses instead ("paid on the due date", "each customer's average delay"), the model's gain
over the due date per week, the time of the whole computation (``forecast_s``: features, the
final model and every backtest model) and of the due-date baseline alone (``due_date_s``), and
peak memory.
"""

from __future__ import annotations

import os
import resource
import sys
import time

from _per_size import main as per_size


def _one(n: int) -> dict:
    from arinsight import forecast as fc
    from arinsight.sample import generate

    tables = generate(n, 42)
    t0 = time.perf_counter()
    result = fc.compute(tables, "2026-10-31")
    seconds = time.perf_counter() - t0
    f = fc.region_forecast(result, tables["customers"])
    t1 = time.perf_counter()
    rows = fc.open_at(tables["invoices"], tables["payments"], "2026-10-31")
    fc.due_date_baseline(rows)
    due_s = time.perf_counter() - t1
    e = f.errors
    return {
        "invoices": n,
        "cores": os.cpu_count(),
        "open_invoices": f.details["open_invoices"],
        "backtest_origins": int(e["origins"].max()),
        "mae_model": [round(v) for v in e["mae_model"]],
        "mae_due_date": [round(v) for v in e["mae_due_date"]],
        "mae_customer_delay": [round(v) for v in e["mae_customer_delay"]],
        "gain_vs_due_date": [round(v, 3) for v in e["model_vs_due_date"]],
        "beats_due_date_every_week": bool((e["mae_model"] < e["mae_due_date"]).all()),
        "forecast_s": round(seconds, 1),
        "due_date_s": round(due_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str]) -> int:
    return per_size(__file__, _one, argv, default=[10_000, 100_000])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
