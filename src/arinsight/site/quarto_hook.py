"""Quarto's pre-render and post-render steps of ``_quarto.yml``, for a bare ``quarto render``.

Quarto runs this file with whatever ``python3`` it finds (``QUARTO_PYTHON`` or PATH), which may
not have arinsight installed. So this script uses the standard library only: it finds a Python
that can import arinsight (``$ARINSIGHT_PYTHON``, the project's ``.venv``, ``$VIRTUAL_ENV``,
then itself) and runs ``python -m arinsight.site <step>`` with it.

Quarto deletes the old site before the pre-render step, so a failed pre-render must not stop the
render: when no Python with arinsight is found, or preparing the sources fails, the previous page
sources are kept (Quarto renders them again) or, when there are none, a one-page site saying
what to do is written. The post-render step's failure does fail the render.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PLACEHOLDER = """---
title: "Accounts receivable"
arinsight:
  generated: placeholder
---

The report pages could not be prepared: {reason}

Create the environment with `make venv`, build the reports with `make report`, then run
`quarto render` again (or `arinsight site`).
"""


def _candidates(project: Path) -> list[str]:
    found = [os.environ.get("ARINSIGHT_PYTHON", "")]
    found.append(str(project / ".venv" / "bin" / "python"))
    if os.environ.get("VIRTUAL_ENV"):
        found.append(str(Path(os.environ["VIRTUAL_ENV"]) / "bin" / "python"))
    found.append(sys.executable)
    return [c for c in dict.fromkeys(found) if c and Path(c).exists()]


def find_python(project: Path) -> str | None:
    """The first candidate Python that can import arinsight.site."""
    for py in _candidates(project):
        ok = subprocess.run(
            [py, "-c", "import arinsight.site"], cwd=project, capture_output=True, check=False
        )
        if ok.returncode == 0:
            return py
    return None


def main(argv: list[str]) -> int:
    step = argv[1] if len(argv) > 1 else "pre-render"
    if os.environ.get("ARINSIGHT_SITE_PREPARED"):
        return 0  # `arinsight site` prepares and post-renders itself
    project = Path.cwd()
    py = find_python(project)
    reason = "no Python with arinsight installed was found"
    if py is not None:
        res = subprocess.run([py, "-m", "arinsight.site", step], cwd=project, check=False)
        if res.returncode == 0:
            return 0
        reason = f"`python -m arinsight.site {step}` failed (exit {res.returncode})"
        if step != "pre-render":
            print(f"arinsight: {reason}", file=sys.stderr)
            return res.returncode
    if step != "pre-render":
        print(f"arinsight: {reason}; customer pages not written", file=sys.stderr)
        return 1
    index = project / "index.qmd"
    if index.exists():
        print(f"arinsight: {reason}; rendering the previous page sources", file=sys.stderr)
    else:
        index.write_text(PLACEHOLDER.format(reason=reason), encoding="utf-8")
        print(f"arinsight: {reason}; writing a placeholder page", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
