"""Benchmark of the risk model: features + training + scoring at 100k and 1M invoices.

Usage: ``python benchmarks/bench_risk.py [N ...]`` (default 100000 1000000). Each size runs in a
fresh child process so peak memory (ru_maxrss) is per size. The ledger comes from
``arinsight.sample.generate`` (not timed). Timed steps, as a monthly run does them minus the
evaluation backtest: features of every invoice, settlement, training on every matured invoice,
payment timing and scoring of every open invoice at T = 2026-10-31.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def _one(n: int) -> dict:
    import pandas as pd

    from arinsight import risk
    from arinsight.sample import generate

    tables = generate(n, 42)
    inv, pay, cust = tables["invoices"], tables["payments"], tables["customers"]
    T = pd.Timestamp("2026-10-31")
    times = {}
    t0 = time.perf_counter()
    feats = risk.invoice_features(inv, pay, cust)
    settled = risk.settlement(inv, pay)
    times["features_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    labels = risk.late_labels(inv, pay, T)
    model = risk.fit_model(feats, labels, random_seed=42)
    times["training_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    timing = risk.payment_timing(settled, T)
    scores = risk.score_open_invoices(model, feats, inv, pay, T, timing=timing)
    times["scoring_s"] = time.perf_counter() - t2
    times["total_s"] = time.perf_counter() - t0
    return {
        "invoices": n,
        "payments": len(pay),
        "matured_training_rows": int(labels["matured"].sum()),
        "open_invoices_scored": len(scores),
        **{k: round(v, 1) for k, v in times.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        print(json.dumps(_one(int(argv[1]))))
        return 0
    sizes = [int(a) for a in argv] or [100_000, 1_000_000]
    for n in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True
        )
        print(out.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
