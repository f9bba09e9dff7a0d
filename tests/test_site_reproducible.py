"""Two runs of the same period from the same sample in two fresh homes give the same website,
apart from the times the runs were made (no random table ids, no fresh cell ids, no timings on
any page). The two runs read and write under two different folders, so the folder names that the
provenance lists (input files, run settings) are masked too."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from arinsight import config

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pipeline")]

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")

_SCRIPT = """
import sys
from arinsight import runs, sample, site
root = sys.argv[1]
sample.write_sample(root + "/sample", n_invoices=1200, seed=11)
code = runs.run_period("2026-10", regions="North", jobs=2, progress=False, reports_dir=root + "/reports",
    params={"sources": root + "/sample/sources.yaml", "interim_dir": root + "/interim",
            "processed_dir": root + "/processed", "run_date": "2026-10-31"})
assert code == 0, code
site.build_site(root + "/site", "builtin", reports_dir=root + "/reports", project_dir=root + "/project")
"""


def _build(root: Path) -> dict[str, str]:
    (root / "home").mkdir(parents=True)
    project = root / "project"
    project.mkdir()
    shutil.copy(config.PROJECT_ROOT / "_quarto.yml", project / "_quarto.yml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "MPL", "JUPYTER"))}
    env["HOME"] = str(root / "home")
    subprocess.run([sys.executable, "-c", _SCRIPT, str(root)], env=env, check=True, cwd=root)
    out = root / "site"
    return {
        p.relative_to(out).as_posix(): _TIME.sub(
            "<time>", p.read_text(encoding="utf-8").replace(str(root), "<root>")
        )
        for p in out.rglob("*.html")
    }


def test_two_fresh_homes_build_the_same_site(tmp_path):
    a = _build(tmp_path / "a")
    b = _build(tmp_path / "b")
    assert sorted(a) == sorted(b) and "site/2026-10/North/risk.html" in a
    differ = [rel for rel in a if a[rel] != b[rel]]
    assert differ == [], differ[:5]
