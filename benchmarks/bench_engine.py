"""Benchmark the KPI engine against a plain DuckDB SQL statement, as whole processes.

For each size, a ledger is generated directly as parquet (generate_parquet.py, cached in
$ARINSIGHT_BENCH_DIR, default /tmp/arinsight-bench/<n>), then timed in fresh processes:

- ours: ``arinsight kpis --period 2026-10 --processed DIR`` (every KPI of All + every region,
  written as JSON: import, query and output included), twice: a *first* run, which compiles the
  queries with Ibis (an empty plan cache, ``ARINSIGHT_CACHE_DIR`` fresh for each run), and a
  *later* run, which runs the plan kept by an earlier run (any period reuses it; see
  arinsight.engine.duck);
- reference: ``reference_kpis.sql``, the same KPIs in one plain DuckDB statement, run by
  ``python -c 'import duckdb; ...'`` over the same parquet, with DuckDB's memory capped the same.

Wall time is the min over ``--repeat`` runs; peak memory is the kernel's high-water mark of the
process (getrusage of the child). The All values of both are checked equal to the cent.
Reference figures from the issue (quiet machine): DuckDB SQL 0.98 s at 1M and 10.4 s at 10M.

    .venv/bin/python benchmarks/bench_engine.py                      # 1M, 10M, 100M
    .venv/bin/python benchmarks/bench_engine.py 1000000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ARINSIGHT = Path(sys.executable).with_name("arinsight")
PERIOD = {"start": "2026-10-01", "T": "2026-10-31", "begin": "2026-09-30", "days": 31, "months": 1}
MEMORY_LIMIT = "6GB"
ISSUE_REFERENCE_S = {1_000_000: 0.98, 10_000_000: 10.4}

_MEASURE = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
try:
    rc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, timeout=float(sys.argv[1])).returncode
except subprocess.TimeoutExpired:
    rc = "timeout"
wall = time.perf_counter() - t0
print(json.dumps({"rc": rc, "wall": wall,
                  "peak_gb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2}))
"""

_REFERENCE = """
import json, sys, duckdb
sql = open(sys.argv[1]).read().format(dir=sys.argv[2], **json.loads(sys.argv[3]))
con = duckdb.connect()
con.execute("SET memory_limit = '{limit}'")
con.execute("SET temp_directory = '{tmp}'")
cur = con.execute(sql)
names = [d[0] for d in cur.description]
rows = [dict(zip(names, r)) for r in cur.fetchall()]
json.dump({{"All": rows[0]}}, open(sys.argv[4], "w"), default=str)
"""


def _measure(cmd: list[str], timeout: float, cache: Path | None = None) -> dict:
    env = dict(os.environ)
    if cache is not None:
        env["ARINSIGHT_CACHE_DIR"] = str(cache)
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(timeout), *cmd],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ensure_ledger(n: int) -> Path:
    base = Path(
        os.environ.get("ARINSIGHT_BENCH_DIR", Path(tempfile.gettempdir(), "arinsight-bench"))
    )
    folder = base / str(n)
    if not (folder / "commissions.parquet").exists():
        subprocess.run(
            [sys.executable, str(HERE / "generate_parquet.py"), str(n), str(folder)], check=True
        )
    return folder


def run_size(n: int, repeat: int, timeout: float) -> dict:
    folder = ensure_ledger(n)
    work = Path(tempfile.mkdtemp(prefix="arinsight-bench-"))
    ours_out, ref_out = work / "ours.json", work / "reference.json"
    ref_script = _REFERENCE.format(limit=MEMORY_LIMIT, tmp=work / "duckdb-tmp")
    ours_cmd = [str(ARINSIGHT), "kpis", "--period", "2026-10", "--processed", str(folder)]
    ours_cmd += ["--out", str(ours_out)]
    ref_cmd = [sys.executable, "-c", ref_script, str(HERE / "reference_kpis.sql"), str(folder)]
    ref_cmd += [json.dumps(PERIOD), str(ref_out)]
    ours, first, ref = [], [], []
    kept = work / "kept-plans"
    # the plan a later run finds: compiled for another period than the one timed
    prime = [c if c != "2026-10" else "2026-09" for c in ours_cmd]
    if repeat > 1:
        _measure(prime, timeout, kept)
    for i in range(repeat):  # interleaved, so all see the same machine
        first.append(_measure(ours_cmd, timeout, work / f"empty-cache-{i}"))
        if repeat > 1:
            ours.append(_measure(ours_cmd, timeout, kept))
        ref.append(_measure(ref_cmd, timeout))
    ours = ours or first
    bad = [r for r in ours + first if r["rc"]]
    if bad:
        raise RuntimeError(f"{n}: arinsight kpis failed: {bad}")
    finished = [r for r in ref if r["rc"] == 0]
    if not finished:  # the reference did not finish within the timeout: report its lower bound
        ref = [dict(r, wall=timeout) for r in ref]
    else:
        ref = finished
        a = json.loads(ours_out.read_text())["All"]
        b = json.loads(ref_out.read_text())["All"]
        for key in ("credit_sales", "collections", "open_ar", "open_ar_begin", "overdue_ar"):
            assert Decimal(str(a[key])) == Decimal(str(b[key])), (key, a[key], b[key])
    best_ours = min(ours, key=lambda r: r["wall"])
    best_first = min(first, key=lambda r: r["wall"])
    best_ref = min(ref, key=lambda r: r["wall"])
    return {
        "invoices": n,
        "first_run_s": round(best_first["wall"], 2),
        "first_run_ratio": round(best_first["wall"] / best_ref["wall"], 2),
        "ours_s": round(best_ours["wall"], 2),
        "ours_peak_gb": round(max(r["peak_gb"] for r in ours), 2),
        "reference_s": round(best_ref["wall"], 2),
        "reference_finished": bool(finished),
        "reference_peak_gb": round(max(r["peak_gb"] for r in ref), 2),
        "time_ratio": round(best_ours["wall"] / best_ref["wall"], 2),
        "memory_ratio": round(max(r["peak_gb"] for r in ours) / max(r["peak_gb"] for r in ref), 2),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[1_000_000, 10_000_000, 100_000_000])
    ap.add_argument("--repeat", type=int, default=3, help="runs per size (min is reported)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a run is given up")
    args = ap.parse_args(argv)
    print(os.popen("uptime").read().strip())
    print(f"{'invoices':>12} {'first s':>8} {'x':>5} {'ours s':>8} {'peak GB':>8} "
          f"{'DuckDB SQL s':>13} {'peak GB':>8} {'time x':>7} {'mem x':>6}")  # fmt: skip
    results = []
    for n in args.sizes:
        r = run_size(n, args.repeat if n < 100_000_000 else 1, args.timeout)
        results.append(r)
        print(
            f"{n:>12,} {r['first_run_s']:>8.2f} {r['first_run_ratio']:>5.2f} {r['ours_s']:>8.2f} "
            f"{r['ours_peak_gb']:>8.2f} {r['reference_s']:>13.2f} "
            f"{r['reference_peak_gb']:>8.2f} {r['time_ratio']:>7.2f} {r['memory_ratio']:>6.2f}"
            + ("" if r["reference_finished"] else "  (reference did not finish: lower bound)"),
            flush=True,
        )
    by_n = {r["invoices"]: r for r in results}
    if 1_000_000 in by_n and 10_000_000 in by_n:
        later = by_n[10_000_000]["ours_s"] / by_n[1_000_000]["ours_s"]
        first = by_n[10_000_000]["first_run_s"] / by_n[1_000_000]["first_run_s"]
        print(
            f"growth time(10M) / time(1M) = {later:.1f} later runs, {first:.1f} first runs "
            "(target <= 11)"
        )
    for n, ref_s in ISSUE_REFERENCE_S.items():
        if n in by_n:
            print(f"issue's DuckDB reference at {n:,}: {ref_s} s (quiet machine)")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
