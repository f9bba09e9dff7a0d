"""Run every benchmark at its documented sizes (`make bench`); figures go to stdout.

Not a test: speed and memory are measured here, on purpose outside pytest. Each script runs each
size in a fresh process so peak memory is per size. Takes about 10-20 minutes on 2 cores.

    .venv/bin/python benchmarks/run_benchmarks.py            # everything
    .venv/bin/python benchmarks/run_benchmarks.py kpis risk  # a selection
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    # name: (script, arguments)
    "pipeline": ("bench_pipeline.py", ["10000", "100000", "1000000"]),  # sample + ingest + clean
    "kpis": ("bench_kpis.py", ["100000", "1000000", "10000000"]),  # all KPIs + 24-month series
    "risk": ("bench_risk.py", ["100000", "1000000"]),  # features + training + scoring
    "runs": ("bench_runs.py", []),  # `make report` stages on the default sample
    "cashapp": ("bench_cashapp.py", ["10000", "100000"]),  # match rates vs truth + speed
    "forecast": ("bench_forecast.py", ["10000", "100000"]),  # backtest error per week + time
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {sorted(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        script, args = BENCHMARKS[name]
        print(f"\n== {name}: {script} {' '.join(args)}", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *args]).returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
