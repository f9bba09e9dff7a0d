"""Run the code cells of notebooks/01_ingest.ipynb and 02_clean.ipynb, as shipped, in this process
with the parameters injected after the parameters cell (what papermill does, without starting a
kernel): the user's way to get data/processed for `arinsight kpis` without running every page.

    python notebook_steps.py SOURCES WORK_DIR PERIOD RUN_DATE

writes WORK_DIR/interim, WORK_DIR/processed and WORK_DIR/out. reporting_currency and fx_rates
are the sources file's (docs/own-data.md: set there, they win over the parameters).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from arinsight import config

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def run_notebook(path: Path, params: dict) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    ns: dict = {"__name__": "__main__"}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        exec(compile(src, f"{path.name}[cell {i}]", "exec"), ns)
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            ns.update(params)
    return ns


def main(argv: list[str]) -> int:
    sources, work, period, run_date = argv
    work_dir = Path(work)
    spec = yaml.safe_load(Path(sources).read_text(encoding="utf-8")) or {}
    common = {
        "period": period,
        "interim_dir": str(work_dir / "interim"),
        "output_dir": str(work_dir / "out"),
    }
    run_notebook(NOTEBOOKS / "01_ingest.ipynb", common | {"sources": sources})
    run_notebook(
        NOTEBOOKS / "02_clean.ipynb",
        common
        | {
            "run_date": run_date,
            "reporting_currency": spec.get("reporting_currency", "USD"),
            # as `arinsight run` passes them: constant, dated or a rates file, read and checked
            "fx_rates": config.fx_rates_of(spec.get("fx_rates"), sources, Path(sources).parent),
            "processed_dir": str(work_dir / "processed"),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
