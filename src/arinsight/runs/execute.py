"""Executing one notebook with papermill, in a worker process of the run's pool: kernel chatter
to the run log, a kernel that never started started again (bounded), and an error that never
raises but comes back as the notebook's status."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arinsight.runs.base import now
from arinsight.runs.provenance import md_escape


def _redirect_output(log_path: str) -> None:
    """Send this worker's (and its kernel's) stdout/stderr to the run log, not the progress bar."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"


#: jupyter_client's messages for a kernel that never became ready: it died before its first
#: reply, or did not answer within the start timeout. No cell ran, so the notebook is started
#: again, up to :data:`KERNEL_START_ATTEMPTS` times in all, each retry recorded in the manifest
#: (``kernel_retries`` of the notebook's run). Any other error is the notebook's own and fails
#: its page at once.
_KERNEL_START_FAILED = (
    "Kernel died before replying to kernel_info",
    "Kernel didn't respond in",
    "Kernel didn't respond to heartbeats",
)


KERNEL_START_ATTEMPTS = 3


#: Seconds to wait before starting a kernel again (times the attempt number): a busy machine
#: gets a moment.
KERNEL_RETRY_PAUSE = 2.0


def _kernel_never_started(exc: BaseException) -> bool:
    """Whether ``exc`` says the kernel never became ready (no cell ran): see above. A cell's
    own error (PapermillExecutionError) never counts, whatever its text."""
    from papermill.exceptions import PapermillExecutionError

    return (
        isinstance(exc, RuntimeError)
        and not isinstance(exc, PapermillExecutionError)
        and any(m in str(exc) for m in _KERNEL_START_FAILED)
    )


def execute_notebook(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one notebook with papermill; never raises: returns status, error and seconds."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    if task.get("log"):
        _redirect_output(task["log"])
    out = Path(task["output"])
    out.parent.mkdir(parents=True, exist_ok=True)
    status, error = "ok", None

    def execute() -> None:
        papermill.execute_notebook(
            str(task["input"]),
            str(out),
            parameters=dict(task["parameters"]),
            kernel_name=task["kernel_name"],
            cwd=str(task["cwd"]),
            execution_timeout=task["cell_timeout"],
            start_timeout=task["start_timeout"],
            progress_bar=False,
            log_output=False,
            report_mode=False,
        )

    retries: list[dict[str, Any]] = []
    try:
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
                execute()
                break
            except Exception as exc:
                # a kernel that never became ready ran no cell: start it again (bounded)
                if not _kernel_never_started(exc):
                    raise
                retries.append({"attempt": attempt, "error": str(exc).strip(), "at": now()})
                if attempt == KERNEL_START_ATTEMPTS:
                    raise RuntimeError(
                        f"the kernel did not start in {attempt} attempts (last: {exc})"
                    ) from exc
                time.sleep(float(task.get("retry_pause", KERNEL_RETRY_PAUSE)) * attempt)
    except PapermillExecutionError as exc:
        status = "failed"
        error = f"{exc.ename}: {exc.evalue} (cell {exc.cell_index})"
    except BaseException as exc:  # DeadKernelError, CellTimeoutError, kernel not found, ...
        status = "failed"
        error = f"{type(exc).__name__}: {exc}".strip()
    if status == "failed" and not out.exists():
        # papermill failed before writing anything: keep the input with the error for debugging
        import nbformat

        nb = nbformat.read(task["input"], as_version=4)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Run failed:** {md_escape(error)}"))
        nbformat.write(nb, out)
    return {
        "status": status,
        "error": error,
        "seconds": round(time.perf_counter() - started, 2),
        **({"kernel_retries": retries} if retries else {}),
    }
