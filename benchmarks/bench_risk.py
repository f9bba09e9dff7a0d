"""Benchmark of the risk model: the first risk run of a period (cache empty), then a regional run.

Usage::

    python benchmarks/bench_risk.py                      # 1M invoices (arinsight.sample.generate)
    python benchmarks/bench_risk.py 100000 1000000       # sizes, each from sample.generate(N, 42)
    python benchmarks/bench_risk.py --processed /tmp/d1m/processed [--processed DIR]
    python benchmarks/bench_risk.py --period 2026-10 --max-train-rows 0 ...  # 0 = no cap

Each ledger is measured in a fresh child process, so the peak memory (``ru_maxrss``, which
includes the ledger itself: ``ledger_rss_mb`` is the resident size before the run) is that run's
own; every child prints one JSON line. Building or loading the ledger is not timed. Timed:

* ``first_run_s``: ``risk.run_risk(tables, period, "All", cache_dir=<empty folder>)``, i.e. what
  the first risk notebook of a period pays: cache key, features and paid dates, the headline
  evaluation and the monthly backtest fits, the final fit, permutation importance, the scores of
  every open invoice, and writing the cache entry. Its stages (``run.timings``) are listed as
  ``<stage>_s``;
* ``regional_run_s``: the next run of the same period for one region, which loads the entry.

The accuracy cost of the training cap (docs/risk.md)::

    python benchmarks/bench_risk.py --accuracy none:42 200000:42 100000:42 100000:1 \
        --processed /tmp/d1m/processed

runs ``risk.evaluate`` (no backtest) once per ``cap:seed`` on the same ledger: the same test set
(the last three months with a known outcome), the model trained on a sample of ``cap`` rows
(``none`` = all). One JSON line each: ROC AUC, PR AUC, Brier, rows, seconds.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def _rss_mb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    return -1


def _risk_tables(source: str) -> dict:
    """The tables a risk run reads (``risk.CACHE_TABLES``) of a processed folder; the others are
    not loaded (``benchmarks/generate_parquet.py`` writes a commission rate that
    ``ledger.load_processed`` does not read)."""
    from pathlib import Path

    from arinsight import ledger, risk

    return {name: ledger.read_table(Path(source) / f"{name}.parquet") for name in risk.CACHE_TABLES}


def _one(source: str, period: str, max_train_rows: int | None) -> dict:
    from arinsight import risk

    if source.isdigit():
        from arinsight.sample import generate

        tables = generate(int(source), 42)
    else:
        tables = _risk_tables(source)
    rss0 = _rss_mb()
    kw = {} if max_train_rows is None else {"max_train_rows": max_train_rows or None}
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        run = risk.run_risk(tables, period, "All", cache_dir=cache, **kw)
        wall = time.perf_counter() - t0
        region = sorted(tables["customers"]["region"].dropna().unique())[0]
        t1 = time.perf_counter()
        regional = risk.run_risk(tables, period, region, cache_dir=cache, **kw)
        regional_s = time.perf_counter() - t1
    m = run.metrics
    return {
        "ledger": source,
        "invoices": len(tables["invoices"]),
        "payments": len(tables["payments"]),
        "period": period,
        "cores": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "max_train_rows": m.get("max_train_rows"),
        "matured_at_t": run.metadata["training_window"]["n_matured"],
        "final_training_rows": run.metadata["training_window"]["n_train"],
        "evaluation_training_rows": m["n_train"],
        "backtest_training_rows": [r.get("n_train") for r in m["backtest"]],
        "open_invoices_scored": len(run.scores),
        "roc_auc": round(m["model"]["roc_auc"], 4),
        "pr_auc": round(m["model"]["pr_auc"], 4),
        "brier": round(m["model"]["brier"], 4),
        "roc_auc_rule": round(m["baseline_last_late"]["roc_auc"], 4),
        **{f"{k}_s": round(v, 2) for k, v in run.timings.items() if k != "total"},
        "first_run_s": round(wall, 1),
        "regional_run_s": round(regional_s, 2),
        "regional_from_cache": regional.from_cache,
        "ledger_rss_mb": rss0,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _accuracy(source: str, period: str, runs: list[str]) -> None:
    from arinsight import risk
    from arinsight.ledger import period_bounds

    tables = _risk_tables(source)
    T = period_bounds(period).end
    inv, pay = tables["invoices"], tables["payments"]
    inv, pay = inv[inv["invoice_date"] <= T], pay[pay["payment_date"] <= T]
    feats = risk.invoice_features(inv, pay, tables["customers"], 30)
    settled = risk.settlement(inv, pay)
    for spec in runs:
        cap, seed = spec.split(":")
        t0 = time.perf_counter()
        cap_rows = None if cap == "none" else int(cap)
        m = risk.evaluate(feats, settled, T, 30, int(seed), 3, 0, cap_rows).metrics
        row = {"cap": cap_rows, "seed": int(seed), "n_train": m["n_train"]}
        row |= {"n_matured": m["n_matured"], "n_test": m["n_test"], "cutoff": m["train_cutoff"]}
        row |= {"test": [m["test_from"], m["test_to"]]}
        row |= {k: round(v, 4) for k, v in m["model"].items()}
        row |= {"seconds": round(time.perf_counter() - t0, 1)}
        print(json.dumps(row | {"load_avg_1m": round(os.getloadavg()[0], 1)}), flush=True)


def main(argv: list[str]) -> int:
    period, max_rows, sources, child, accuracy, specs = "2026-10", None, [], False, False, []
    args = iter(argv)
    for a in args:
        if a == "--accuracy":
            accuracy = True
        elif ":" in a:
            specs.append(a)
        elif a == "--period":
            period = next(args)
        elif a == "--max-train-rows":
            max_rows = int(next(args))
        elif a == "--processed":
            sources.append(next(args))
        elif a == "--one":
            child = True
        else:
            sources.append(str(int(a)))
    if accuracy:
        _accuracy(sources[0], period, specs or ["none:42", "200000:42", "100000:42"])
        return 0
    if child:
        print(json.dumps(_one(sources[0], period, max_rows)), flush=True)
        return 0
    for source in sources or ["1000000"]:
        cmd = [sys.executable, __file__, "--one", "--period", period]
        if max_rows is not None:
            cmd += ["--max-train-rows", str(max_rows)]
        cmd += [source] if source.isdigit() else ["--processed", source]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode:
            print(out.stderr, file=sys.stderr)
            return out.returncode
        print(out.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
