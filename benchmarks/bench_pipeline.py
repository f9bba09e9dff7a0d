"""Benchmark: sample + ingest + clean at several sizes (wall time and peak memory per stage).

Each size runs in a fresh subprocess so its peak RSS is its own. Not a test: run it by hand or with
`make bench`:

    .venv/bin/python benchmarks/bench_pipeline.py            # 10k, 100k, 1M invoices
    .venv/bin/python benchmarks/bench_pipeline.py 10000 50000
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time

SIZES = [10_000, 100_000, 1_000_000]

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from arinsight.sample import write_sample
from arinsight.ingest import ingest, write_interim
from arinsight.clean import clean, write_processed
n, folder = int(sys.argv[1]), Path(sys.argv[2])
t = {}
t0 = time.perf_counter(); write_sample(folder / "sample", n_invoices=n, seed=42); t["sample_s"] = time.perf_counter() - t0
t0 = time.perf_counter(); r = ingest(folder / "sample" / "sources.yaml"); write_interim(r, folder / "interim"); t["ingest_s"] = time.perf_counter() - t0
t0 = time.perf_counter(); c = clean(r.tables, run_date="2026-11-22"); write_processed(c, folder / "processed"); t["clean_s"] = time.perf_counter() - t0
t["rows_read"] = sum(r.rows_read.values())
t["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(t))
"""


def run(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(n), tmp], check=True, capture_output=True, text=True
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["total_s"] = time.perf_counter() - t0
        return result


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or SIZES
    print(
        f"{'invoices':>10} {'sample s':>9} {'ingest s':>9} {'clean s':>8} {'ingest+clean s':>15} {'peak MB':>8}"
    )
    for n in sizes:
        r = run(n)
        print(
            f"{n:>10,} {r['sample_s']:>9.1f} {r['ingest_s']:>9.1f} {r['clean_s']:>8.1f} "
            f"{r['ingest_s'] + r['clean_s']:>15.1f} {r['peak_rss_mb']:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
