"""Benchmark: ingest + clean of the sample against a bare read of the same files, at several sizes.

For each size the sample is written once (``arinsight sample``: invoices as CSV, customers and
sales reps as Excel, payments and commissions in SQLite), then two programs are timed on it,
interleaved, each run in a fresh process (so its peak memory is its own), ``--repeats`` times:

* **arinsight**: ``ingest`` + ``write_interim`` (01_ingest) and ``clean`` + ``write_processed``
  (02_clean), exactly what ``arinsight run`` does before the reports;
* **bare read**, the tool a user would pick to merely load the same files: ``pandas.read_csv`` of
  the CSV, ``pandas.read_excel(engine="calamine", sheet_name=None)`` of the workbook and
  ``pandas.read_sql`` of each SQLite table (through the standard library's ``sqlite3``).

Reported per size: the sample's generation time, the minimum over the repeats of each program's
wall time (arinsight split into ingest and clean), the ratio arinsight / bare read (and the same
ratio of CPU seconds, less sensitive to other jobs), and each program's peak resident memory (the highest of its repeats), with the load average before and
after (other jobs on the machine slow both programs alike, which is why they are interleaved).
Not a test: run it by hand or with ``make bench``:

    .venv/bin/python benchmarks/bench_pipeline.py                 # 10k, 100k, 1M invoices
    .venv/bin/python benchmarks/bench_pipeline.py 10000 100000 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SIZES = [10_000, 100_000, 1_000_000]

_SAMPLE = r"""
import json, sys, time
from pathlib import Path
from arinsight.sample import write_sample
n, folder = int(sys.argv[1]), Path(sys.argv[2])
t0 = time.perf_counter(); write_sample(folder, n_invoices=n, seed=42)
print(json.dumps({"sample_s": time.perf_counter() - t0}))
"""

_ARINSIGHT = r"""
import json, resource, sys, time
from pathlib import Path
from arinsight.ingest import ingest, write_interim
from arinsight.clean import clean, write_processed
sample, out = Path(sys.argv[1]), Path(sys.argv[2])
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
c0, t0 = cpu(), time.perf_counter()
r = ingest(sample / "sources.yaml"); write_interim(r, out / "interim")
t1 = time.perf_counter()
c = clean(r.tables, run_date="2026-11-22"); write_processed(c, out / "processed")
t2 = time.perf_counter()
print(json.dumps({
    "ingest_s": t1 - t0, "clean_s": t2 - t1, "total_s": t2 - t0, "cpu_s": cpu() - c0,
    "rows_read": sum(r.rows_read.values()),
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""

_BARE = r"""
import json, resource, sqlite3, sys, time
from pathlib import Path
import pandas as pd
sample = Path(sys.argv[1])
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
c0, t0 = cpu(), time.perf_counter()
invoices = pd.read_csv(sample / "invoices.csv")
workbook = pd.read_excel(sample / "customers.xlsx", engine="calamine", sheet_name=None)
with sqlite3.connect(sample / "ledger.sqlite") as con:
    tables = {t: pd.read_sql(f'SELECT * FROM "{t}"', con) for t in ("payments", "commissions")}
t1 = time.perf_counter()
rows = len(invoices) + sum(map(len, workbook.values())) + sum(map(len, tables.values()))
print(json.dumps({
    "total_s": t1 - t0, "cpu_s": cpu() - c0, "rows_read": rows,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def _child(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(n: int, repeats: int) -> dict:
    """Both programs on the sample of ``n`` invoices, interleaved; min time, max peak memory."""
    with tempfile.TemporaryDirectory(prefix="arinsight-bench-") as tmp:
        sample = Path(tmp) / "sample"
        result = {"invoices": n, "load_before": os.getloadavg()[0]}
        result.update(_child(_SAMPLE, str(n), str(sample)))
        ours, bare = [], []
        for i in range(repeats):
            # alternate which program goes first, so a burst of load hits both alike
            order = ("ours", "bare") if i % 2 == 0 else ("bare", "ours")
            for which in order:
                if which == "ours":
                    out = Path(tmp) / f"out{i}"
                    ours.append(_child(_ARINSIGHT, str(sample), str(out)))
                else:
                    bare.append(_child(_BARE, str(sample)))
        best = min(ours, key=lambda r: r["total_s"])
        result.update(
            ingest_s=best["ingest_s"],
            clean_s=best["clean_s"],
            ours_s=best["total_s"],
            ours_cpu_s=min(r["cpu_s"] for r in ours),
            ours_peak_mb=max(r["peak_mb"] for r in ours),
            bare_s=min(r["total_s"] for r in bare),
            bare_cpu_s=min(r["cpu_s"] for r in bare),
            bare_peak_mb=max(r["peak_mb"] for r in bare),
            load_after=os.getloadavg()[0],
        )
        result["ratio"] = result["ours_s"] / result["bare_s"]
        return result


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=SIZES)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each program (min taken)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    print(
        f"{'invoices':>10} {'sample s':>9} {'ingest s':>9} {'clean s':>8} {'arinsight s':>12} "
        f"{'peak MB':>8} {'bare read s':>12} {'peak MB':>8} {'ratio':>6} {'cpu ratio':>9} "
        f"{'load':>10}"
    )
    results = []
    for n in args.sizes:
        r = run(n, args.repeats)
        results.append(r)
        print(
            f"{n:>10,} {r['sample_s']:>9.1f} {r['ingest_s']:>9.2f} {r['clean_s']:>8.2f} "
            f"{r['ours_s']:>12.2f} {r['ours_peak_mb']:>8.0f} {r['bare_s']:>12.2f} "
            f"{r['bare_peak_mb']:>8.0f} {r['ratio']:>5.2f}x "
            f"{r['ours_cpu_s'] / r['bare_cpu_s']:>8.2f}x "
            f"{r['load_before']:>4.1f}-{r['load_after']:<4.1f}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
