"""Benchmark: the whole monthly run (`arinsight run` + `arinsight site`) beside the floor it
cannot beat, stage by stage, in a scratch folder.

Stages: the sample (10,000 invoices), `arinsight run --period 2026-10` for every region (ingest and
clean once, then receivables, commissions and risk for All + each region in parallel), and the
site build. For the run: wall time, number of notebook executions, the slowest notebooks, and the
peak memory of the whole process tree (this process + workers + kernels, sampled every 0.2 s) as
well as the largest single process. Nothing in the project's data/ or reports/ is touched.

The floor, measured in the same run on the same files: a bare read of the input files
(``pandas.read_csv`` / ``read_excel`` / ``read_sql``, as benchmarks/bench_pipeline.py), plus
``arinsight kpis`` over the processed folder (every KPI of every region, from the engine), plus
one kernel start for each round of notebooks (``ceil(notebook executions / jobs)`` times the time
one Jupyter kernel takes to start and import arinsight): a run cannot read less, compute less or
start fewer kernels. Reported as ``run_s / floor_s``.

    .venv/bin/python benchmarks/bench_runs.py                      # 10,000 invoices
    .venv/bin/python benchmarks/bench_runs.py --invoices 1000000 --jobs 2

Results are printed and written to benchmarks/results/bench_runs.json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from arinsight import config, runs, site
from arinsight.sample import write_sample

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import _BARE, _child  # noqa: E402 (the same bare read as the pipeline's)

PERIOD = "2026-10"


class _PeakMemory:
    """Samples the RSS of this process and all its descendants."""

    def __init__(self, interval: float = 0.2, timeline: Path | None = None):
        self.interval, self.tree_peak, self.single_peak = interval, 0, 0
        #: seconds after the start at which the tree peaked, and the RSS (MB) of the processes
        #: then, largest first: which steps ran side by side at the peak
        self.peak_at_s, self.peak_processes_mb = 0.0, []
        self._stop = threading.Event()
        #: with a path: one line every 2 s, seconds, this process's RSS and its children's (MB)
        self.timeline = timeline
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        me = psutil.Process()
        start = last = time.perf_counter()
        while not self._stop.is_set():
            total, sizes = 0, []
            for proc in [me, *me.children(recursive=True)]:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                sizes.append(rss)
                self.single_peak = max(self.single_peak, rss)
            if self.timeline is not None and len(sizes) and time.perf_counter() - last >= 2:
                last = time.perf_counter()
                with open(self.timeline, "a") as out:
                    mine = round(sizes[0] / 2**20)
                    others = [round(r / 2**20) for r in sorted(sizes[1:])[::-1][:4]]
                    out.write(f"{last - start:.0f}\t{mine}\t{others}\n")
            if total > self.tree_peak:
                self.tree_peak, self.peak_at_s = total, round(time.perf_counter() - start, 1)
                self.peak_processes_mb = [round(r / 2**20) for r in sorted(sizes)[::-1][:4]]
            self._stop.wait(self.interval)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _kernel_start_s() -> float:
    """Seconds one Jupyter kernel (the project's) takes to start and import arinsight."""
    from jupyter_client.manager import start_new_kernel

    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name=config.KERNEL_NAME)
    try:
        kc.execute_interactive("import arinsight.receivables, arinsight.engine.period", timeout=60)
        return time.perf_counter() - t0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _floor(scratch: Path, result: dict) -> dict:
    """The floor's three parts (seconds): bare read, `arinsight kpis`, kernel starts."""
    import math
    import subprocess

    bare = _child(_BARE, str(scratch / "sample"))["total_s"]
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "arinsight", "kpis", "--period", PERIOD, "--processed",
         str(scratch / "processed"), "--out", str(scratch / "kpis.json")],
        check=True, capture_output=True,
    )  # fmt: skip
    kpis_s = time.perf_counter() - t0
    rounds = math.ceil(result["notebook_executions"] / result["jobs"])
    return {
        "bare_read_s": round(bare, 2),
        "arinsight_kpis_s": round(kpis_s, 2),
        "kernel_starts_s": round(rounds * _kernel_start_s(), 2),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--keep", help="keep the scratch folder here instead of deleting it")
    parser.add_argument(
        "--sample",
        help="use this sample folder (written by `arinsight sample`) instead of a new one",
    )
    parser.add_argument(
        "--timeline", help="write the run's memory every 2 s to this file (runner, children)"
    )
    args = parser.parse_args(argv)

    scratch = Path(args.keep or tempfile.mkdtemp(prefix="arinsight-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    result: dict = {
        "invoices": args.invoices,
        "cores": len(os.sched_getaffinity(0)),
        "jobs": args.jobs or min(4, len(os.sched_getaffinity(0))),
        "period": PERIOD,
    }
    try:
        t0 = time.perf_counter()
        if args.sample:  # a sample written before (its size is in its manifest)
            shutil.copytree(args.sample, scratch / "sample", dirs_exist_ok=True)
            written = json.loads((scratch / "sample" / "manifest.json").read_text())
            result["invoices"] = written["expected_clean_rows"]["invoices"]
            result["sample_reused"] = True
        else:
            write_sample(scratch / "sample", n_invoices=args.invoices, seed=42)
        result["sample_s"] = round(time.perf_counter() - t0, 2)

        reports = scratch / "reports"
        with _PeakMemory(timeline=Path(args.timeline) if args.timeline else None) as mem:
            t0 = time.perf_counter()
            code = runs.run_period(
                PERIOD,
                regions="all",
                jobs=args.jobs,
                params={
                    "sources": str(scratch / "sample" / "sources.yaml"),
                    "interim_dir": str(scratch / "interim"),
                    "processed_dir": str(scratch / "processed"),
                },
                reports_dir=reports,
            )
            result["run_s"] = round(time.perf_counter() - t0, 2)
        manifest = json.loads((reports / PERIOD / "manifest.json").read_text())
        result["run_exit_code"] = code
        result["notebook_executions"] = sum(1 for r in manifest["runs"] if r["status"] != "reused")
        result["regions"] = manifest["regions"]
        result["run_peak_tree_mb"] = round(mem.tree_peak / 2**20)
        result["run_peak_process_mb"] = round(mem.single_peak / 2**20)
        result["run_peak_at_s"] = mem.peak_at_s
        result["run_peak_processes_mb"] = mem.peak_processes_mb
        result["engine_s"] = (manifest.get("timings") or {}).get("engine")
        result["notebook_seconds"] = {
            f"{r['region']}/{r['notebook']}": r["seconds"] for r in manifest["runs"]
        }
        result["notebook_cpu_seconds_total"] = round(
            sum(r["seconds"] or 0 for r in manifest["runs"]), 1
        )

        result["floor"] = _floor(scratch, result)
        result["floor_s"] = round(sum(result["floor"].values()), 2)
        result["run_to_floor"] = round(result["run_s"] / result["floor_s"], 2)

        project = scratch / "project"
        project.mkdir(exist_ok=True)  # --keep: a folder kept from a run before
        shutil.copy(config.PROJECT_ROOT / "_quarto.yml", project / "_quarto.yml")
        with _PeakMemory() as mem:
            t0 = time.perf_counter()
            out = site.build_site(scratch / "_site", reports_dir=reports, project_dir=project)
            result["site_s"] = round(time.perf_counter() - t0, 2)
        result["site_renderer"] = "quarto" if shutil.which("quarto") else "builtin"
        result["site_pages"] = sum(1 for _ in out.rglob("*.html"))
        result["site_mb"] = round(sum(p.stat().st_size for p in out.rglob("*")) / 2**20, 1)
        result["site_peak_tree_mb"] = round(mem.tree_peak / 2**20)
        result["total_s"] = round(result["sample_s"] + result["run_s"] + result["site_s"], 2)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    slow = sorted(result["notebook_seconds"].items(), key=lambda kv: -(kv[1] or 0))[:5]
    print(
        f"\ninvoices {result['invoices']:,}, {result['cores']} cores, jobs {result['jobs']}\n"
        f"  sample            {result['sample_s']:7.1f} s\n"
        f"  run {PERIOD}       {result['run_s']:7.1f} s  ({result['notebook_executions']} notebook "
        f"executions, regions {', '.join(result['regions'])}; exit {result['run_exit_code']})\n"
        f"    peak memory     {result['run_peak_tree_mb']:7d} MB process tree, "
        f"{result['run_peak_process_mb']} MB largest process; the tree's peak at "
        f"{result['run_peak_at_s']} s: {result['run_peak_processes_mb']} MB\n"
        f"    slowest         " + ", ".join(f"{k} {v:.1f}s" for k, v in slow) + "\n"
        f"    floor           {result['floor_s']:7.1f} s  ({result['floor']}); run / floor "
        f"{result['run_to_floor']:.2f}x\n"
        f"    engine results  {result.get('engine_s') or 0:7.1f} s (once, before the pages)\n"
        f"  site ({result['site_renderer']})    {result['site_s']:7.1f} s  ({result['site_pages']} "
        f"pages, {result['site_mb']} MB, peak {result['site_peak_tree_mb']} MB)\n"
        f"  total             {result['total_s']:7.1f} s"
    )
    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "bench_runs.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
