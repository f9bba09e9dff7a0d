"""Benchmark of the risk model: a whole monthly risk run at 100k and 1M invoices.

Usage: ``python benchmarks/bench_risk.py [N ...]`` (default 100000 1000000). Each size runs in a
fresh child process so peak memory (ru_maxrss) is per size. The ledger comes from
``arinsight.sample.generate`` (not timed). Timed: ``risk.run_risk(tables, "2026-10")`` without
the cache, i.e. what the first risk run of a period pays (T = 2026-10-31), per stage:

* ``features_s``: features and settlement of every invoice;
* ``evaluation_s``: the headline evaluation fit (every matured invoice) + the 6 monthly backtest
  fits (at most ``risk.BACKTEST_MAX_TRAIN_ROWS`` recent matured invoices each);
* ``final_fit_s``: the final model on every invoice matured at T;
* ``importance_s``: permutation importance on the test months (2,000 rows);
* ``scoring_s``: payment timing and the scores of every open invoice;
* ``total_s``: the whole run (wall clock), region "All".
"""

from __future__ import annotations

import os
import resource
import sys
import time

from _per_size import main as per_size


def _one(n: int) -> dict:
    from arinsight import risk
    from arinsight.sample import generate

    tables = generate(n, 42)
    t0 = time.perf_counter()
    run = risk.run_risk(tables, "2026-10")
    wall = time.perf_counter() - t0
    stages = ("features", "evaluation", "final_fit", "importance", "scoring")
    return {
        "invoices": n,
        "payments": len(tables["payments"]),
        "cores": os.cpu_count(),
        "final_training_rows": run.metadata["training_window"]["n_train"],
        "evaluation_training_rows": run.metrics["n_train"],
        "backtest_training_rows": [r.get("n_train") for r in run.metrics["backtest"]],
        "open_invoices_scored": len(run.scores),
        "roc_auc": round(run.metrics["model"]["roc_auc"], 4),
        "roc_auc_rule": round(run.metrics["baseline_last_late"]["roc_auc"], 4),
        **{f"{s}_s": round(run.timings[s], 1) for s in stages},
        "total_s": round(wall, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str]) -> int:
    return per_size(__file__, _one, argv, default=[100_000, 1_000_000])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
