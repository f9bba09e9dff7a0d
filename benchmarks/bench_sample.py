"""Benchmark ``arinsight.sample.write_sample``: wall time and peak memory at a given size.

Usage: ``.venv/bin/python benchmarks/bench_sample.py [N_INVOICES] [OUT_DIR]``
(default 1,000,000 invoices into a temporary folder that is removed afterwards).
Target (DESIGN, brief): 1M invoices in < 60 s and < 3 GB peak RSS.
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from arinsight.sample import write_sample


def main(argv: list[str]) -> int:
    n = int(argv[1]) if len(argv) > 1 else 1_000_000
    keep = len(argv) > 2
    out = Path(argv[2]) if keep else Path(tempfile.mkdtemp(prefix="arinsight-bench-"))
    try:
        t0 = time.perf_counter()
        manifest = write_sample(out, n_invoices=n, seed=42)
        wall = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        sizes = {p.name: round(p.stat().st_size / 1e6, 1) for p in sorted(out.iterdir())}
        print(f"invoices={n:,} wall={wall:.1f}s peak_rss={peak_mb:,.0f}MB")
        print(f"rows={manifest['rows']}")
        print(f"file sizes (MB)={sizes}")
    finally:
        if not keep:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
