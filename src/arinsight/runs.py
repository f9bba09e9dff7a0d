"""Monthly runs: every notebook of a period, per region, with papermill.

``arinsight run --period 2026-10`` does, in order:

1. **Parameters.** ``params/defaults.yaml`` merged with the ``--params`` files, then checked
   against the parameters cell of every notebook (``papermill.inspect_notebook``): a key that no
   notebook declares is an error unless it belongs to another command (:data:`RUNNER_KEYS`);
   a value of the wrong kind (text where a number is declared, ...) is an error too. Each notebook
   then receives only the keys its parameters cell declares.
2. **Ingest and clean once** (``01_ingest``, ``02_clean``) under region "All".
3. **Analysis per region, in parallel**: ``03_receivables``, ``04_commissions`` and
   ``05_risk_scoring`` for every region (``--regions``, the ``regions`` parameter, or every region
   in the customer table) plus "All", in a process pool of ``--jobs`` workers (default
   ``min(4, cores)``), each notebook with an explicit kernel (``arinsight``), working directory
   (the ``notebooks/`` folder: notebooks find data through ``arinsight.config``, never through the
   working directory, so this only matters to an analyst's own relative paths), a kernel start
   timeout and a per-cell timeout (``runs.start_timeout`` / ``runs.cell_timeout``); a kernel
   that dies or times out before it is ready (no cell ran) is started again, up to 3 starts,
   each failed start logged as ``kernel_retries`` in the manifest. A tqdm
   progress bar counts the notebooks; kernel chatter goes to ``reports/<period>/run.log``.
4. **Assemble** ``kpis.json`` for each region whose notebooks all succeeded: the JSON parts the
   notebooks wrote (``kpis_receivables.json``, ``kpis_commissions.json``, ``kpis_risk.json``;
   notebooks of one region run in parallel, so none of them writes ``kpis.json`` itself) merged
   into one object that has every key listed in docs/kpis.md (null when undefined).
5. **Publish atomically.** Everything is written to ``reports/.staging-<period>-<id>/`` first.
   Page by page: a page that ran replaces its previous version; a failed page keeps its last
   good version (recorded as ``published: previous``; the site says so on that page and the home
   page says the period is mixed), and the failed attempt (the notebook with its error) goes to
   ``reports/<period>/_failed/<region>/``. When ingest or clean failed, every region keeps its
   previous report as it was. The new period folder is then swapped in with two
   renames, and ``reports/<period>/manifest.json`` records the parameters, input hashes, package
   and code versions, timings and the status of every notebook.

Every executed notebook ends with a provenance cell (period, region, parameters, input hashes,
code version, generated at). The command exits 1 with a summary when any notebook failed.

A backfill (``--from 2026-01 --to 2026-10``) runs the months in order and reuses the cleaned data
when nothing that cleaning depends on changed since it last ran: the input files (sha256 from
``data/interim/ingest_manifest.json``), the sources file, the ingest/clean parameters, the two
notebooks and the package version (recorded in ``<processed_dir>/_clean_stamp.json``).
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import fcntl
import json
import math
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from arinsight import __version__, config, datasets
from arinsight.errors import ParamsError, UserError
from arinsight.files import sha256_file, write_json
from arinsight.kpis import DISPUTE_KEYS, JSON_KEYS, PROVISION_KEYS
from arinsight.ledger import ALL_REGIONS, Period, check_region_dirs, period_bounds, region_dir

#: Run once per period, in this order, under region "All".
PREP_NOTEBOOKS: tuple[str, ...] = ("01_ingest.ipynb", "02_clean.ipynb")
#: Run for every region and "All", in parallel.
REGION_NOTEBOOKS: tuple[str, ...] = (
    "03_receivables.ipynb",
    "04_commissions.ipynb",
    "05_risk_scoring.ipynb",
    "06_cash_forecast.ipynb",
    "07_provision.ipynb",
    "08_disputes.ipynb",
)
NOTEBOOKS: tuple[str, ...] = PREP_NOTEBOOKS + REGION_NOTEBOOKS

#: The JSON parts the analysis notebooks write into their output_dir, merged in this order.
KPI_PARTS: tuple[str, ...] = (
    "kpis_receivables.json",
    "kpis_commissions.json",
    "kpis_risk.json",
    "kpis_forecast.json",
    "kpis_provision.json",
    "kpis_disputes.json",
)

#: The files each analysis notebook writes beside itself (globs): they are published, kept from
#: the previous report or moved to ``_failed/`` together with their notebook.
NOTEBOOK_OUTPUTS: dict[str, tuple[str, ...]] = {
    "03_receivables.ipynb": ("kpis_receivables.json", "history_receivables.json"),
    "04_commissions.ipynb": ("kpis_commissions.json", "history_commissions.json"),
    "05_risk_scoring.ipynb": (
        "kpis_risk.json",
        "risk_metrics.json",
        "risk_scores.parquet",
        "risk_model.*",
    ),
    "07_provision.ipynb": (
        "kpis_provision.json",
        "provision_matrix.csv",
        "provision_backtest.csv",
    ),
    "08_disputes.ipynb": ("kpis_disputes.json",),
}

#: The keys every kpis.json has (docs/kpis.md), null where a part is missing or undefined: the
#: one order of the KPI registry.
KPI_KEYS: tuple[str, ...] = JSON_KEYS

#: Top-level parameter keys that belong to the runner or to other commands, so no notebook
#: declares them and they are not "unknown":
#:
#: - ``regions``: which regions ``arinsight run`` reports (besides "All");
#: - ``reports_dir``: where ``arinsight run`` publishes (default ``reports/``);
#: - ``runs``: this module's settings (``jobs``, ``cell_timeout``, ``start_timeout``);
#: - ``site``: ``arinsight site``;
#: - ``engine``, ``engine_settings``: where ``arinsight kpis`` runs its queries (arinsight.engine);
#: - ``alerts``, ``email``, ``smtp``, ``notify``: ``arinsight alerts`` / ``arinsight email-report``.
#:
#: Add a key here when a new command reads its settings from the parameter files.
RUNNER_KEYS: frozenset[str] = frozenset(
    {"regions", "runs", "site", "alerts", "email", "smtp", "notify", "reports_dir"}
    | {"cash_application", "company", "dunning"}  # arinsight match / alerts (collections)
    | {"engine", "engine_settings"}  # arinsight kpis (arinsight.engine)
)

#: Parameters the runner sets itself for each notebook; a parameter file must not set them.
_RUNNER_SET: frozenset[str] = frozenset({"period", "region", "output_dir"})

_DEFAULT_CELL_TIMEOUT = 1800
_DEFAULT_START_TIMEOUT = 120
_CLEAN_STAMP = "_clean_stamp.json"
_FAILED_DIR = "_failed"
_MANIFEST = "manifest.json"
_UNPARSED = object()

_PACKAGES = (
    "arinsight",
    "pandas",
    "numpy",
    "pyarrow",
    "pandera",
    "scikit-learn",
    "skops",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbclient",
    "nbconvert",
    "nbformat",
    "ipykernel",
    "itables",
    "PyYAML",
    "SQLAlchemy",
    "openpyxl",
)


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------


def notebook_parameters(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parameters a notebook declares in its ``parameters`` cell, with their default values.

    Defaults are the cell's literals (``"2026-10"``, ``30``, ``[0, 30]``...); a default that is not
    a literal maps to a sentinel and is never type-checked.
    """
    import papermill

    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: notebook not found")
    declared = papermill.inspect_notebook(str(path))
    out: dict[str, Any] = {}
    for name, info in declared.items():
        try:
            out[name] = ast.literal_eval(str(info.get("default", "")))
        except (ValueError, SyntaxError, TypeError):
            out[name] = _UNPARSED
    return out


def _kind(value: Any) -> str | None:
    """Coarse kind of a parameter value for the type check (None: anything goes)."""
    if value is None or value is _UNPARSED:
        return None
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return None


def validate_params(
    params: Mapping[str, Any], declared: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Check merged parameters against the notebooks and split them per notebook.

    ``declared`` maps notebook name -> {parameter: default} (see :func:`notebook_parameters`).
    Errors (all reported at once, as one :class:`ParamsError`):

    - a key that no notebook declares and that is not in :data:`RUNNER_KEYS` (papermill itself
      would only warn and the value would silently do nothing);
    - a key the runner sets itself (``period``, ``region``, ``output_dir``);
    - a value whose kind differs from the notebook's default (e.g. text for a number; None and
      defaults of None are accepted).

    Returns notebook name -> the parameters it receives: the keys it declares that the merged
    parameters have.
    """
    if not isinstance(params, Mapping):
        raise ParamsError(f"parameters must be a mapping, got {type(params).__name__}")
    known = set().union(*(set(d) for d in declared.values())) if declared else set()
    problems: list[str] = []
    unknown = sorted(set(params) - known - RUNNER_KEYS - _RUNNER_SET)
    if unknown:
        problems.append(
            f"unknown parameter(s) {', '.join(map(repr, unknown))}: no notebook declares them "
            f"(declared: {', '.join(sorted(known)) or 'none'}; other commands' keys: "
            f"{', '.join(sorted(RUNNER_KEYS))})"
        )
    for key in sorted(set(params) & _RUNNER_SET):
        problems.append(f"{key!r} is set by the runner for each notebook; remove it from the file")
    for name, defaults in declared.items():
        for key, default in defaults.items():
            if key not in params or key in _RUNNER_SET:
                continue
            want, got = _kind(default), _kind(params[key])
            if want and got and want != got:
                problems.append(
                    f"{key!r} must be {want} for {name} (its default is {default!r}), "
                    f"got {params[key]!r}"
                )
    if problems:
        raise ParamsError("; ".join(dict.fromkeys(problems)))
    return {
        name: {k: params[k] for k in defaults if k in params and k not in _RUNNER_SET}
        for name, defaults in declared.items()
    }


def _plain(value: Any) -> Any:
    """YAML values made JSON/papermill-safe: dates become ISO text, tuples lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def period_range(from_period: str, to_period: str) -> list[str]:
    """The months ``from_period`` .. ``to_period`` inclusive (``YYYY-MM`` labels), oldest first."""
    try:
        start, end = period_bounds(from_period), period_bounds(to_period)
    except ValueError as exc:
        raise ParamsError(str(exc)) from exc
    for p in (start, end):
        if not re.fullmatch(r"\d{4}-\d{2}", p.label):
            raise ParamsError(f"backfill periods must be months (YYYY-MM), got {p.label!r}")
    if start.start > end.start:
        raise ParamsError(f"--from {from_period} is after --to {to_period}")
    months = []
    current = start
    while current.start <= end.start:
        months.append(current.label)
        current = period_bounds((current.end + dt.timedelta(days=1)).strftime("%Y-%m"))
    return months


def _parse_regions(regions: str | Sequence[str] | None) -> list[str] | None:
    """``"all"``/None -> None (every region); ``"North,South"`` -> ["North", "South"]."""
    if regions is None:
        return None
    items = regions.split(",") if isinstance(regions, str) else list(regions)
    items = [str(r).strip() for r in items if str(r).strip()]
    if not items or (len(items) == 1 and items[0].lower() == "all"):
        return None
    return [r for r in dict.fromkeys(items) if r != ALL_REGIONS]


# --------------------------------------------------------------------------------------------
# kpis.json
# --------------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def assemble_kpis(
    parts: Mapping[str, Mapping[str, Any] | None], period: str, region: str
) -> dict[str, Any]:
    """kpis.json of one period and region: the notebooks' JSON parts merged into one object.

    ``na_reasons`` (KPI -> why it is null) of the parts are merged too and kept only for KPIs
    that are null; a part given as None (its page failed) gives its KPIs that reason.

    Starts from every key of :data:`KPI_KEYS` set to None, then applies the parts in the order of
    :data:`KPI_PARTS` (a missing part, None, leaves its keys None); ``period`` and ``region`` are
    the run's own. Keys of a part that are not in KPI_KEYS are kept as extras. The
    ``comparison`` mappings (KPI -> previous, change, direction, better, assessment) of several
    parts are merged KPI by KPI. A KPI that two parts report with different values is an error
    (the notebooks disagree about a number the site shows). NaN and inf become None.
    """
    out: dict[str, Any] = dict.fromkeys(KPI_KEYS)
    seen: dict[str, str] = {}
    comparison: dict[str, Any] = {}
    reasons: dict[str, Any] = {}
    ordered = [k for k in KPI_PARTS if k in parts] + sorted(k for k in parts if k not in KPI_PARTS)
    for name in ordered:
        part = parts[name]
        if part is None:
            continue
        if not isinstance(part, Mapping):
            raise ValueError(f"{name}: expected a JSON object, got {type(part).__name__}")
        for key, value in _json_safe(part).items():
            if key in ("period", "region"):
                continue
            if key == "comparison" and isinstance(value, Mapping):
                comparison.update(value)
                continue
            if key == "na_reasons" and isinstance(value, Mapping):
                reasons.update(value)
                continue
            if key in seen and out.get(key) != value and out.get(key) is not None:
                raise ValueError(f"{key!r} is {out[key]!r} in {seen[key]} but {value!r} in {name}")
            if value is not None or key not in out:
                out[key] = value
            seen.setdefault(key, name)
    if comparison:
        out["comparison"] = comparison
    missing = [name for name in KPI_PARTS if parts.get(name) is None and name in parts]
    for name in missing:  # a page that was not published: say so for each of its keys
        for key in _PART_KEYS.get(name, ()):
            if out.get(key) is None:
                reasons.setdefault(key, "the page that computes it was not produced in this run")
    out["na_reasons"] = {k: v for k, v in sorted(reasons.items()) if out.get(k) is None}
    out["period"], out["region"] = str(period), str(region)
    return out


#: The KPI keys of kpis.json that each part provides (for the n/a reason of a missing part).
_PART_KEYS: dict[str, tuple[str, ...]] = {
    "kpis_receivables.json": tuple(
        k
        for k in KPI_KEYS
        if k not in ("period", "region", "as_of", "high_risk_customers", "na_reasons")
        and k not in PROVISION_KEYS
        and k not in DISPUTE_KEYS
        and not k.startswith(("total_accrued", "commissions_", "average_commission"))
    ),
    "kpis_commissions.json": (
        "total_accrued_commissions",
        "commissions_paid_mtd",
        "commissions_earned",
        "average_commission_rate",
    ),
    "kpis_risk.json": ("high_risk_customers",),
    "kpis_provision.json": PROVISION_KEYS,
    "kpis_disputes.json": DISPUTE_KEYS,
}


def _page_records(record: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Notebook -> page record of a region's report record (older manifests: from its status)."""
    if not record:
        return {}
    if isinstance(record.get("pages"), Mapping):
        return {str(k): dict(v) for k, v in record["pages"].items()}
    published = record.get("published")
    return {
        nb: {"status": status, "published": published if status == "ok" else "none"}
        for nb, status in (record.get("notebooks") or {}).items()
    }


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


# --------------------------------------------------------------------------------------------
# provenance
# --------------------------------------------------------------------------------------------


_CODE_VERSION: str | None = None


def code_version() -> str:
    """The package version, plus ``git describe --always --dirty`` when run from a git checkout."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        described = ""
        if (config.PROJECT_ROOT / ".git").exists():
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                res = subprocess.run(
                    ["git", "describe", "--always", "--dirty", "--tags"],
                    cwd=config.PROJECT_ROOT,
                    capture_output=True,
                    text=True,
                    timeout=10,
                )
                described = res.stdout.strip() if res.returncode == 0 else ""
        _CODE_VERSION = f"{__version__} (git {described})" if described else __version__
    return _CODE_VERSION


def package_versions() -> dict[str, str | None]:
    """Versions of Python and of the packages that shape the numbers and the reports."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _md_escape(value: Any) -> str:
    """Text for a markdown cell that renders literally: HTML-escaped, markdown/maths characters
    as numeric entities (both pandoc and nbconvert's mistune decode them as plain characters)."""
    import html

    special = set("\\`*_{}[]()#+!|$~")
    text = "".join(
        f"&#{ord(ch)};" if ch in special else html.escape(ch, quote=True) for ch in str(value)
    )
    return text.replace("\n", " ")


def provenance_markdown(record: Mapping[str, Any]) -> str:
    """The provenance cell appended to every executed notebook, as markdown with an HTML table.

    ``record`` has period, region, notebook, status, generated_at, code_version, params (mapping)
    and inputs (list of {path, sha256}). Every value is escaped, so a parameter or a file name can
    never inject HTML or markdown into the page.
    """
    rows = [
        ("Period", record.get("period")),
        ("Region", record.get("region")),
        ("Notebook", record.get("notebook")),
        ("Status", record.get("status")),
        ("Generated at", record.get("generated_at")),
        ("Code version", record.get("code_version")),
    ]
    if record.get("error"):
        rows.append(("Error", record["error"]))
    params = record.get("params") or {}
    rows.append(
        (
            "Parameters",
            "; ".join(
                f"{k} = {json.dumps(_plain(v), sort_keys=True, default=str)}"
                for k, v in sorted(params.items())
            )
            or "none",
        )
    )
    inputs = record.get("inputs") or []
    rows.append(
        (
            "Input files (sha256)",
            "; ".join(f"{i.get('path')}: {i.get('sha256')}" for i in inputs) or "none recorded",
        )
    )
    body = "".join(
        f'<tr><th scope="row">{_md_escape(k)}</th><td>{_md_escape(v)}</td></tr>' for k, v in rows
    )
    return f'## Provenance\n\n<table class="provenance"><tbody>{body}</tbody></table>\n'


def _append_provenance(nb_path: Path, record: Mapping[str, Any]) -> None:
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    nb.cells = [c for c in nb.cells if "provenance" not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(provenance_markdown(record))
    cell.metadata["tags"] = ["provenance"]
    nb.cells.append(cell)
    nb.metadata.setdefault("arinsight", {})["provenance"] = _json_safe(_plain(dict(record)))
    tmp = nb_path.with_name(f".{nb_path.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, nb_path)


# --------------------------------------------------------------------------------------------
# executing notebooks (in worker processes)
# --------------------------------------------------------------------------------------------


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


def _execute_notebook(task: Mapping[str, Any]) -> dict[str, Any]:
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
                retries.append({"attempt": attempt, "error": str(exc).strip(), "at": _now()})
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
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Run failed:** {_md_escape(error)}"))
        nbformat.write(nb, out)
    return {
        "status": status,
        "error": error,
        "seconds": round(time.perf_counter() - started, 2),
        **({"kernel_retries": retries} if retries else {}),
    }


# --------------------------------------------------------------------------------------------
# one period
# --------------------------------------------------------------------------------------------


@dataclass
class _Settings:
    reports_dir: Path
    notebooks_dir: Path
    processed_dir: Path
    interim_dir: Path
    kernel_name: str
    cell_timeout: int
    start_timeout: int
    jobs: int
    progress: bool
    #: the dataset whose reports live in reports_dir (see arinsight.datasets)
    dataset: dict[str, str] | None = None


@dataclass
class _Task:
    region: str
    notebook: str
    output: Path
    parameters: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)


def _display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(config.PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@contextlib.contextmanager
def _period_lock(reports_dir: Path, period: str, wait: bool = False) -> Iterator[None]:
    """One run per period at a time: an exclusive ``flock`` on ``reports/.lock-<period>``.

    The kernel releases the lock when the process ends, so a killed run never blocks the next
    one; the lock file is removed on release (checked by inode on acquire, so a process that
    opened a file that another one just removed tries again)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    lock = reports_dir / f".lock-{period}"
    while True:
        fh = open(lock, "a")  # noqa: SIM115 - held open across the yield
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            fh.close()
            raise UserError(f"another `arinsight run` of {period} is in progress") from exc
        try:
            same = os.fstat(fh.fileno()).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()  # removed by the previous holder after we opened it: take the new file
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


_STALE = re.compile(r"^\.(?:staging|trash)-(?P<period>[^-]+(?:-[^-]+)?)-[0-9a-f]{8}$")
_STALE_DATA = re.compile(r"^\..+\.(?:staging|trash)-(?P<period>[^-]+(?:-[^-]+)?)-[0-9a-f]{8}$")


def clean_stale(reports_dir: Path, data_dirs: Iterable[Path] = ()) -> list[str]:
    """Remove what killed runs left behind: staging and trash folders of reports and of the
    processed/interim data, each only when no run of its period holds the period's lock.
    Returns the names removed."""
    removed = []
    candidates = [(reports_dir, _STALE)] + [(d.parent, _STALE_DATA) for d in data_dirs]
    for folder, pattern in candidates:
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            m = pattern.match(entry.name)
            if not m or not entry.is_dir():
                continue
            try:
                with _period_lock(reports_dir, m["period"]):
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry.name)
            except UserError:
                continue  # a live run of that period owns it
    return removed


def _staged(folder: Path, period: str, run_id: str) -> Path:
    """The staging twin of a data folder for one run (``.processed.staging-<period>-<id>``)."""
    return folder.parent / f".{folder.name}.staging-{period}-{run_id}"


def _input_files(interim_dir: Path) -> list[dict[str, Any]]:
    manifest = _read_json(interim_dir / "ingest_manifest.json") or {}
    files = manifest.get("files") or []
    return [
        {k: f.get(k) for k in ("path", "sha256", "table", "rows") if k in f}
        for f in files
        if isinstance(f, Mapping)
    ]


def _sources_entry(params: Mapping[str, Any]) -> dict[str, Any] | None:
    path = config.resolve_path(params.get("sources")) if params.get("sources") else None
    if path is None or not path.is_file():
        return None
    return {"path": _display_path(path), "sha256": sha256_file(path), "table": "sources"}


def _clean_fingerprint(
    params: Mapping[str, Any], settings: _Settings, per_nb: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """What cleaned data depends on, besides the input files: parameters, notebooks, code."""
    prep_params: dict[str, Any] = {}
    for name in PREP_NOTEBOOKS:
        prep_params.update({k: v for k, v in per_nb.get(name, {}).items() if k != "period"})
    return {
        "params": _plain(prep_params),
        "sources": _sources_entry(params),
        "notebooks": {
            n: sha256_file(settings.notebooks_dir / n)
            for n in PREP_NOTEBOOKS
            if (settings.notebooks_dir / n).exists()
        },
        "code_version": code_version(),
    }


def _reusable_clean(settings: _Settings, fingerprint: Mapping[str, Any]) -> dict[str, Any] | None:
    """The clean stamp when cleaned data can be reused (nothing it depends on changed)."""
    stamp = _read_json(settings.processed_dir / _CLEAN_STAMP)
    if not isinstance(stamp, Mapping) or stamp.get("fingerprint") != _plain(dict(fingerprint)):
        return None
    files = stamp.get("inputs") or []
    if not files:
        return None
    for f in files:
        path = config.resolve_path(f.get("path"))
        if path is None or not path.is_file() or sha256_file(path) != f.get("sha256"):
            return None
    if not (settings.processed_dir / "data_quality.json").exists():
        return None
    return dict(stamp)


#: Pages whose run for "All" trains the period's model once and fills a cache (under a lock)
#: that the regions' runs of the same page read.
MODEL_NOTEBOOKS = ("05_risk_scoring.ipynb", "06_cash_forecast.ipynb")


def region_jobs(regions: Sequence[str]) -> list[tuple[str, str]]:
    """The (notebook, region) runs of a period, in the order they are submitted to the pool.

    The model pages for "All" first (:data:`MODEL_NOTEBOOKS`: the longest runs; they train the
    period's models once and fill their caches), side by side with 2 workers; then 03/04 for
    every region; the regions' model pages last, so they find the caches ready and only score
    instead of holding a worker while they wait on a cache's lock.
    """
    models = [n for n in MODEL_NOTEBOOKS if n in REGION_NOTEBOOKS]
    jobs = [(n, ALL_REGIONS) for n in models] if ALL_REGIONS in regions else []
    jobs += [(n, r) for n in REGION_NOTEBOOKS if n not in models for r in regions]
    jobs += [(n, r) for n in reversed(models) for r in regions if r != ALL_REGIONS]
    return jobs


def _discover_regions(processed_dir: Path) -> list[str]:
    """Every region of the cleaned ledger (see :func:`arinsight.ledger.regions_of`)."""
    import pandas as pd

    tables = {}
    for table in ("customers", "invoices"):
        path = processed_dir / f"{table}.parquet"
        try:
            tables[table] = pd.read_parquet(path, columns=["region"])
        except (FileNotFoundError, KeyError, ValueError):  # absent, or without regions
            tables[table] = pd.DataFrame({"region": pd.Series(dtype="str")})
    from arinsight.ledger import regions_of

    return regions_of(tables)


def _period_results(processed_dir: Path, period: Period, params: Mapping[str, Any]) -> Any:
    """The engine's results of the period, computed once before the region notebooks start
    (they read them back: :func:`arinsight.engine.period.period_results`), with the page
    parameters of 03_receivables."""
    from arinsight.engine.period import period_results

    as_of = period.end if period.is_snapshot else None
    return period_results(processed_dir, period.label, as_of, params, processed_dir / "engine")


def period_step(
    processed_dir: Path, period: Period, params: Mapping[str, Any], explorer_out: Path
) -> tuple[float | None, list[str]]:
    """The runner's step between clean and the pages: the engine's results of the period
    (:func:`_period_results`), then the explorer table and the customer pages' tables
    (:func:`_snapshot_explorer`). Returns (the engine's seconds, None when it failed; notes for
    the run's manifest): a failure is a note, never an exception, so the pages that do not need
    the results still run. The runner calls it in a process of its own (:meth:`_PeriodRun.
    _results`), so the engine's memory (up to ``engine_settings``' limit, 5 GB at 10M invoices)
    goes back to the system before the pages start instead of staying with the runner."""
    t0 = time.perf_counter()
    try:
        results = _period_results(processed_dir, period, params)
    except Exception as exc:
        return None, [f"the engine could not compute the period: {exc}"]
    seconds = round(time.perf_counter() - t0, 2)
    try:
        _snapshot_explorer(results, processed_dir, period, explorer_out)
    except Exception as exc:  # the site then says the explorer is unavailable
        return seconds, [f"invoice explorer not saved: {type(exc).__name__}: {exc}"]
    return seconds, []


def _snapshot_explorer(results: Any, processed_dir: Path, period: Period, out: Path) -> None:
    """Save the invoice explorer table at T (the kept positions) and what the customer pages
    need besides it, for the site."""
    from arinsight.customers import snapshot_tables
    from arinsight.receivables import invoice_explorer_table

    table = invoice_explorer_table(results.positions())
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False)
    for name, frame in snapshot_tables(processed_dir, period.end).items():  # the customer pages
        frame.to_parquet(out.parent / name, index=False)


class _PeriodRun:
    """State of one period's run: tasks, statuses, staging and publication."""

    def __init__(
        self,
        period: str,
        params: dict[str, Any],
        declared: dict[str, dict[str, Any]],
        per_nb: dict[str, dict[str, Any]],
        wanted_regions: list[str] | None,
        settings: _Settings,
        pool: ProcessPoolExecutor,
    ):
        self.period = period_bounds(period).at(params.get("as_of"))
        self.params, self.declared, self.per_nb = params, declared, per_nb
        self.settings, self.pool = settings, pool
        self.wanted_regions = wanted_regions
        self.started_at = _now()
        self.t0 = time.perf_counter()
        self.final = settings.reports_dir / self.period.label
        run_id = uuid.uuid4().hex[:8]
        self.staging = settings.reports_dir / f".staging-{self.period.label}-{run_id}"
        #: where this run's ingest and clean write: swapped in with the report, never before
        self.data = {
            "interim": _staged(settings.interim_dir, self.period.label, run_id),
            "processed": _staged(settings.processed_dir, self.period.label, run_id),
        }
        self.log = self.staging / "run.log"
        self.tasks: list[_Task] = []
        self.inputs: list[dict[str, Any]] = []
        self.clean_info: dict[str, Any] = {"status": "ran"}
        self.regions: list[str] = []
        self.notes: list[str] = []
        self.kpi_errors: dict[str, str] = {}
        self.timings: dict[str, float] = {}

    # -- helpers ---------------------------------------------------------------------------

    def _params_for(self, notebook: str, region: str, out_dir: Path) -> dict[str, Any]:
        declared = self.per_nb.get(notebook, {})
        values = {k: _plain(v) for k, v in declared.items()}
        names = self.declared[notebook]
        runner = {
            "period": self.period.label,
            "region": region,
            "output_dir": str(out_dir),
            "processed_dir": _display_path(self.processed_dir),
            "interim_dir": _display_path(self.interim_dir),
        }
        values.update({k: v for k, v in runner.items() if k in names})
        return values

    @property
    def processed_dir(self) -> Path:
        """The processed data this run's notebooks read: its own (staged) when it cleans, the
        published data when it reuses them."""
        return (
            self.data["processed"]
            if self.clean_info["status"] == "ran"
            else self.settings.processed_dir
        )

    @property
    def interim_dir(self) -> Path:
        return (
            self.data["interim"]
            if self.clean_info["status"] == "ran"
            else self.settings.interim_dir
        )

    def publish_data(self, published: bool) -> None:
        """Swap this run's interim and processed data in when its report was published (the
        report and the data alerts read change together), else drop them. A ``.gitkeep`` in
        the folder being replaced is carried over (a clone's placeholder, not run output)."""
        final = {"interim": self.settings.interim_dir, "processed": self.settings.processed_dir}
        for kind, staged in self.data.items():
            if not staged.exists():
                continue
            if not published or self.clean_info["status"] != "ran":
                shutil.rmtree(staged, ignore_errors=True)
                continue
            trash = staged.with_name(staged.name.replace(".staging-", ".trash-", 1))
            keep = final[kind] / ".gitkeep"
            if keep.is_file() and not (staged / ".gitkeep").exists():
                shutil.copy2(keep, staged / ".gitkeep")
            if final[kind].exists():
                os.replace(final[kind], trash)
            final[kind].parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final[kind])
            shutil.rmtree(trash, ignore_errors=True)

    def _task(self, notebook: str, region: str) -> _Task:
        out_dir = self.staging / region_dir(region)
        return _Task(
            region=region,
            notebook=notebook,
            output=out_dir / notebook,
            parameters=self._params_for(notebook, region, out_dir),
        )

    def _submit(self, task: _Task) -> Future:
        self.tasks.append(task)
        return self.pool.submit(
            _execute_notebook,
            {
                "input": str(self.settings.notebooks_dir / task.notebook),
                "output": str(task.output),
                "parameters": task.parameters,
                "kernel_name": self.settings.kernel_name,
                "cwd": str(self.settings.notebooks_dir),
                "cell_timeout": self.settings.cell_timeout,
                "start_timeout": self.settings.start_timeout,
                "log": str(self.log),
            },
        )

    @staticmethod
    def _wait(fut: Future) -> dict[str, Any]:
        try:
            return fut.result()
        except Exception as exc:  # a worker process died (out of memory, killed)
            return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "seconds": None}

    def _provenance(self, task: _Task) -> dict[str, Any]:
        params = dict(task.parameters)
        if "output_dir" in params:  # where the notebook is published, not the staging folder
            params["output_dir"] = _display_path(self.final / region_dir(task.region))
        return {
            "period": self.period.label,
            "region": task.region,
            "notebook": task.notebook,
            "status": task.result.get("status"),
            "error": task.result.get("error"),
            "generated_at": _now(),
            "code_version": code_version(),
            "params": params,
            "inputs": self.inputs,
        }

    def _finish_task(self, task: _Task, result: dict[str, Any], bar: Any) -> None:
        task.result = result
        if task.output.exists():
            with contextlib.suppress(Exception):
                _append_provenance(task.output, self._provenance(task))
        if bar is not None:
            bar.set_postfix_str(f"{task.region}/{task.notebook}: {result['status']}")
            bar.update(1)

    # -- the run ---------------------------------------------------------------------------

    def run(self, bar: Any, prep_source: Mapping[str, Any] | None) -> None:
        self.staging.mkdir(parents=True)
        if prep_source is None:
            for folder in self.data.values():
                folder.mkdir(parents=True)
        (self.staging / region_dir(ALL_REGIONS)).mkdir()
        self.log.touch()
        prep_ok = True
        if prep_source is not None:
            self._reuse_prep(prep_source, bar)
        else:
            for name in PREP_NOTEBOOKS:
                task = self._task(name, ALL_REGIONS)
                if not prep_ok:
                    task.result = {"status": "skipped", "error": "an earlier step failed"}
                    self.tasks.append(task)
                    if bar is not None:
                        bar.update(1)
                    continue
                result = self._wait(self._submit(task))
                if name == PREP_NOTEBOOKS[0]:
                    self.inputs = self._current_inputs()
                self._finish_task(task, result, bar)
                prep_ok = result["status"] == "ok"
        self.inputs = self._current_inputs()
        if prep_ok:
            found = _discover_regions(self.processed_dir)
            configured = self.params.get("regions")
            base = [str(r) for r in configured] if configured else found
            wanted = self.wanted_regions if self.wanted_regions is not None else base
            missing = [r for r in wanted if found and r not in found]
            if missing:
                raise ParamsError(
                    f"region(s) {', '.join(missing)} not in the data "
                    f"(regions in the data: {', '.join(found)})"
                )
            self.regions = [ALL_REGIONS] + [r for r in wanted if r != ALL_REGIONS]
            try:
                check_region_dirs(self.regions)
            except ValueError as exc:
                raise ParamsError(str(exc)) from exc
        else:
            self.regions = [ALL_REGIONS] + list(self.wanted_regions or [])
        if bar is not None:
            bar.total = len(PREP_NOTEBOOKS) + len(self.regions) * len(REGION_NOTEBOOKS)
            bar.refresh()
        if prep_ok:  # a page that cannot read them says why in its own notebook
            self._results()
        pending: dict[Future, _Task] = {}
        for name, region in region_jobs(self.regions):
            task = self._task(name, region)
            if not prep_ok:
                task.result = {"status": "skipped", "error": "ingest/clean failed"}
                self.tasks.append(task)
                if bar is not None:
                    bar.update(1)
                continue
            pending[self._submit(task)] = task
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                self._finish_task(pending.pop(fut), self._wait(fut), bar)

    def _results(self) -> None:
        """The engine's results of the period (every KPI of every region, the trailing months,
        the positions at T), computed once for every page; then the explorer table and the
        customer pages' tables. When the engine cannot compute them the reason goes to the
        notes (the pages that need them then fail with it; the others are shown). It runs in a
        process of its own (:func:`period_step`), which costs a second of start and imports."""
        args = (
            self.processed_dir,
            self.period,
            self.per_nb.get("03_receivables.ipynb", {}),
            self.staging / region_dir(ALL_REGIONS) / "invoice_explorer.parquet",
        )
        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as one:
                seconds, notes = one.submit(period_step, *args).result()
        except Exception as exc:  # the process itself died (killed out of memory...)
            seconds, notes = None, [f"the engine could not compute the period: {exc!r}"]
        self.notes.extend(notes)
        if seconds is not None:
            self.timings["engine"] = seconds

    def _current_inputs(self) -> list[dict[str, Any]]:
        files = _input_files(self.interim_dir)
        src = _sources_entry(self.params)
        return ([src] if src else []) + files

    def _reuse_prep(self, stamp: Mapping[str, Any], bar: Any) -> None:
        """Cleaned data unchanged: copy the executed ingest/clean notebooks of the run that made it."""
        self.clean_info = {"status": "reused", "reused_from": stamp.get("period")}
        src_dir = self.settings.reports_dir / str(stamp.get("period")) / region_dir(ALL_REGIONS)
        for name in PREP_NOTEBOOKS:
            task = self._task(name, ALL_REGIONS)
            task.result = {
                "status": "reused",
                "error": None,
                "seconds": 0.0,
                "reused_from": stamp.get("period"),
            }
            if (src_dir / name).exists():
                shutil.copy2(src_dir / name, task.output)
            self.tasks.append(task)
            if bar is not None:
                bar.update(1)

    def _assemble(self, region: str, folder: Path) -> None:
        """kpis.json of a region from the parts its published pages wrote (missing parts: null)."""
        parts = {name: _read_json(folder / name) for name in KPI_PARTS}
        try:
            kpis = assemble_kpis(parts, self.period.label, region)
        except ValueError as exc:
            self.notes.append(f"{region}: kpis.json not assembled: {exc}")
            self.kpi_errors[region] = str(exc)
            return
        write_json(folder / "kpis.json", kpis)

    def _task_of(self, region: str, notebook: str) -> _Task | None:
        return next((t for t in self.tasks if t.region == region and t.notebook == notebook), None)

    def prep_ok(self) -> bool:
        return all(
            t.result.get("status") in ("ok", "reused")
            for t in self.tasks
            if t.notebook in PREP_NOTEBOOKS
        )

    def page_status(self, region: str, notebook: str) -> str | None:
        task = self._task_of(region, notebook)
        return None if task is None else task.result.get("status")

    def region_status(self, region: str) -> str:
        """ "ok" when every page of the region (and, for "All", ingest and clean) succeeded,
        "partial" when some of its pages did, "failed" when none did."""
        if not self.prep_ok():
            return "failed"
        ok = [self.page_status(region, nb) == "ok" for nb in REGION_NOTEBOOKS]
        if all(ok) and region not in self.kpi_errors:
            return "ok"
        return "partial" if any(ok) else "failed"

    # -- publication -------------------------------------------------------------------------

    def _resolve_pages(
        self, region: str, old_record: Mapping[str, Any] | None, failed_dir: Path
    ) -> dict[str, dict[str, Any]]:
        """Page by page: a page that ran is published; a failed page goes to ``_failed/`` with
        the files it wrote, and its previous good version (notebook and outputs) is kept when the
        previous report of this period had one. Returns notebook -> page record."""
        rdir = region_dir(region)
        staged, previous = self.staging / rdir, self.final / rdir
        old_pages = _page_records(old_record)
        pages: dict[str, dict[str, Any]] = {}
        for nb in REGION_NOTEBOOKS:
            task = self._task_of(region, nb)
            status = task.result.get("status") if task else "skipped"
            if status == "ok":
                pages[nb] = {"status": "ok", "published": "this run"}
                continue
            error = task.result.get("error") if task else "not run"
            (failed_dir / rdir).mkdir(parents=True, exist_ok=True)
            for name in (nb, *NOTEBOOK_OUTPUTS.get(nb, ())):
                for f in staged.glob(name):
                    os.replace(f, failed_dir / rdir / f.name)
            old = old_pages.get(nb) or {}
            if (previous / nb).is_file() and old.get("published") in ("this run", "previous"):
                staged.mkdir(parents=True, exist_ok=True)
                for name in (nb, *NOTEBOOK_OUTPUTS.get(nb, ())):
                    for f in previous.glob(name):
                        shutil.copy2(f, staged / f.name)
                pages[nb] = {
                    "status": status,
                    "published": "previous",
                    "error": error,
                    "previous_generated_at": old.get("generated_at")
                    or (old_record or {}).get("generated_at"),
                }
            else:
                pages[nb] = {"status": status, "published": "none", "error": error}
        return pages

    def publish(self) -> dict[str, Any]:
        """Swap the staged period in, page by page (see :meth:`_resolve_pages`); when ingest or
        clean failed, every region keeps its previous report as it was."""
        old_manifest = _read_json(self.final / _MANIFEST) or {}
        old_reports = old_manifest.get("reports") or {}
        reports: dict[str, Any] = {}
        failed_dir = self.staging / _FAILED_DIR
        prep_ok = self.prep_ok()
        for region in self.regions:
            rdir = region_dir(region)
            staged = self.staging / rdir
            previous = self.final / rdir
            attempt = {"started_at": self.started_at, "dir": f"{_FAILED_DIR}/{rdir}"}
            if prep_ok:
                pages = self._resolve_pages(region, old_reports.get(region), failed_dir)
                if any(p["published"] != "none" for p in pages.values()):
                    self._assemble(region, staged)
                    reports[region] = self._report_record(region, pages)
                    if not any(p["published"] == "this run" for p in pages.values()):
                        reports[region]["published"] = "previous"
                    if self.region_status(region) != "ok":
                        reports[region]["failed_attempt"] = attempt
                    continue
                reports[region] = {
                    "dir": rdir,
                    "region": region,
                    "published": "none",
                    "status": "failed",
                    "pages": pages,
                    "failed_attempt": attempt,
                }
                continue
            failed_dir.mkdir(exist_ok=True)
            if staged.exists():
                os.replace(staged, failed_dir / rdir)
            if previous.is_dir() and region in old_reports:
                shutil.copytree(previous, staged)
                reports[region] = {
                    **old_reports[region],
                    "published": "previous",
                    "failed_attempt": attempt,
                }
            else:
                reports[region] = {
                    "dir": rdir,
                    "region": region,
                    "published": "none",
                    "status": "failed",
                    "failed_attempt": attempt,
                }
        # regions of the old period that this run did not touch are carried over as they were
        for region, record in old_reports.items():
            if region in reports:
                continue
            rdir = record.get("dir") or region_dir(region)
            if (self.final / rdir).is_dir():
                shutil.copytree(self.final / rdir, self.staging / rdir)
                reports[region] = record
            if (self.final / _FAILED_DIR / rdir).is_dir():
                failed_dir.mkdir(exist_ok=True)
                shutil.copytree(self.final / _FAILED_DIR / rdir, failed_dir / rdir)
        # anything else in the old period folder (alerts/, outbox/ of `arinsight alerts`, ...)
        if self.final.is_dir():
            for entry in self.final.iterdir():
                target = self.staging / entry.name
                if entry.name in (_MANIFEST, _FAILED_DIR, "run.log") or target.exists():
                    continue
                if entry.is_dir():
                    shutil.copytree(entry, target)
                else:
                    shutil.copy2(entry, target)
        for folder in (self.staging / region_dir(ALL_REGIONS), failed_dir):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        manifest = self._manifest(reports)
        write_json(self.staging / _MANIFEST, manifest)
        trash = self.settings.reports_dir / f".trash-{self.period.label}-{uuid.uuid4().hex[:8]}"
        if self.final.exists():
            os.replace(self.final, trash)
        os.replace(self.staging, self.final)
        shutil.rmtree(trash, ignore_errors=True)
        return manifest

    def _report_record(self, region: str, pages: Mapping[str, Any]) -> dict[str, Any]:
        """What the site shows as provenance of a region's pages."""
        tasks = [t for t in self.tasks if t.region == region]
        return {
            "dir": region_dir(region),
            "region": region,
            "status": self.region_status(region),
            "published": "this run",
            "pages": dict(pages),
            "generated_at": _now(),
            "started_at": self.started_at,
            "code_version": code_version(),
            "params": _plain(self.params),
            "inputs": self.inputs,
            "notebooks": {t.notebook: t.result.get("status") for t in tasks},
        }

    @staticmethod
    def _run_entry(t: _Task) -> dict[str, Any]:
        """One notebook's line in the manifest's ``runs``; ``kernel_retries`` lists each start
        of its kernel that failed before any cell ran (attempt, error, time), when any did."""
        return {
            "region": t.region,
            "notebook": t.notebook,
            "status": t.result.get("status"),
            "seconds": t.result.get("seconds"),
            "error": t.result.get("error"),
            "output": (
                f"{region_dir(t.region)}/{t.notebook}"
                if t.result.get("status") in ("ok", "reused")
                else f"{_FAILED_DIR}/{region_dir(t.region)}/{t.notebook}"
            ),
            **({"reused_from": t.result["reused_from"]} if "reused_from" in t.result else {}),
            **(
                {"kernel_retries": t.result["kernel_retries"]}
                if t.result.get("kernel_retries")
                else {}
            ),
        }

    def _manifest(self, reports: Mapping[str, Any]) -> dict[str, Any]:
        runs = [self._run_entry(t) for t in self.tasks]
        failed = [r for r in runs if r["status"] not in ("ok", "reused")]
        order = [ALL_REGIONS] + sorted(r for r in reports if r != ALL_REGIONS)
        return {
            "period": self.period.label,
            "as_of": self.period.end.date().isoformat(),
            "period_end": self.period.full_end.date().isoformat(),
            "status": "failed" if failed or self.kpi_errors else "ok",
            "started_at": self.started_at,
            "finished_at": _now(),
            "wall_seconds": round(time.perf_counter() - self.t0, 2),
            "code_version": code_version(),
            "packages": package_versions(),
            "kernel": self.settings.kernel_name,
            "jobs": self.settings.jobs,
            "cell_timeout": self.settings.cell_timeout,
            "start_timeout": self.settings.start_timeout,
            "params": _plain(self.params),
            "dataset": self.settings.dataset,
            "notebook_params": {n: sorted(self.declared.get(n, ())) for n in NOTEBOOKS},
            "inputs": self.inputs,
            "clean": self.clean_info,
            "regions": [r for r in order if r in reports],
            "runs": runs,
            "reports": {r: reports[r] for r in order if r in reports},
            "notes": self.notes,
            "timings": self.timings,
        }


# --------------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------------


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _load_merged(
    params_files: Iterable[str | os.PathLike[str]],
    params: Mapping[str, Any] | None,
    defaults_file: str | os.PathLike[str] | None,
) -> dict[str, Any]:
    defaults = config.read_yaml(defaults_file or config.DEFAULTS_FILE)
    merged = defaults
    for path in params_files:
        data = config.read_yaml(path)
        if defaults_file is None:  # the project's defaults: the other commands' keys count too
            config.check_keys(data, path, defaults)
        merged = config.deep_merge(merged, data)
    if params:
        merged = config.deep_merge(merged, dict(params))
    return merged


def _dataset_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """``reporting_currency`` and ``fx_rates`` set in the sources file: they describe the data,
    so they win over the parameters (and reach every notebook). A sources file that cannot be
    read is left to the ingest step, which names the problem."""
    path = config.resolve_path(params.get("sources")) if params.get("sources") else None
    if path is None or not path.is_file():
        return {}
    try:
        spec = config.read_yaml(path)
    except config.ConfigError:
        return {}
    out: dict[str, Any] = {}
    if spec.get("reporting_currency"):
        out["reporting_currency"] = str(spec["reporting_currency"])
    if spec.get("fx_rates") is not None:
        try:  # constant, dated, or a rates file beside the sources file
            rates = config.fx_rates_of(spec["fx_rates"], str(path), path.parent)
        except config.ConfigError:
            return out
        out["fx_rates"] = {**(params.get("fx_rates") or {}), **rates}
    return out


def _check_periods(periods: Sequence[str], run_date: Any) -> None:
    """A period that starts after the run date (default today) has nothing to report yet."""
    today = _as_day(run_date) if run_date else dt.date.today()
    for label in periods:
        start = period_bounds(label).start.date()
        if start > today:
            raise ParamsError(
                f"period {label} starts after the run date {today:%Y-%m-%d}: nothing to report "
                "yet (set run_date in the params file to report as of another day)"
            )


def _as_day(value: Any) -> dt.date:
    """A run date parameter as a date (:func:`arinsight.periods.as_date`)."""
    from arinsight.periods import as_date

    try:
        return as_date(value, "run_date")
    except ValueError as exc:
        raise ParamsError(str(exc)) from exc


def _check_regions(wanted: Sequence[str], params: Mapping[str, Any]) -> None:
    """Regions asked for must be in the data, checked from the sources before any notebook runs
    (see :func:`arinsight.ingest.regions_in_sources`); their report folders must not clash."""
    from arinsight.errors import SourceError
    from arinsight.ingest import regions_in_sources
    from arinsight.ledger import check_region_dirs

    try:
        check_region_dirs(list(wanted))
    except ValueError as exc:
        raise ParamsError(str(exc)) from exc
    if not params.get("sources"):
        return
    try:
        found = regions_in_sources(params["sources"])
    except (SourceError, config.ConfigError):
        return  # the ingest step reports an unreadable source with its own message
    missing = [r for r in wanted if r not in found]
    if missing:
        raise ParamsError(
            f"region(s) {', '.join(missing)} not in the data "
            f"(regions in the data: {', '.join(found) or 'none'})"
        )


def _summary(period: str, manifest: Mapping[str, Any]) -> str:
    lines = []
    failed = [r for r in manifest["runs"] if r["status"] not in ("ok", "reused")]
    if failed:
        lines.append(f"{period}: {len(failed)} of {len(manifest['runs'])} notebook runs failed:")
        for r in failed:
            lines.append(
                f"  {r['region']}/{r['notebook']}: {r['status']}"
                + (f": {r['error']}" if r.get("error") else "")
                + f" (notebook: {r['output']})"
            )
        for region, rec in manifest["reports"].items():
            if rec.get("published") == "previous":
                lines.append(f"  {region}: previous report kept (from {rec.get('generated_at')})")
            elif rec.get("published") == "none":
                lines.append(f"  {region}: no report published")
    for note in manifest.get("notes") or []:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def _run_one(
    label: str,
    merged: dict[str, Any],
    declared: dict[str, dict[str, Any]],
    per_nb: dict[str, dict[str, Any]],
    wanted: list[str] | None,
    settings: _Settings,
    pool: ProcessPoolExecutor,
    backfill: bool,
    tqdm: Any,
) -> int:
    """One period: run, publish, stamp the cleaned data, print the summary; returns 0 or 1."""
    with _period_lock(settings.reports_dir, label):
        fingerprint = _clean_fingerprint(merged, settings, per_nb)
        stamp = _reusable_clean(settings, fingerprint) if backfill else None
        configured = merged.get("regions") or []
        estimate = len(PREP_NOTEBOOKS) + len(REGION_NOTEBOOKS) * (1 + len(wanted or configured))
        bar = tqdm(
            total=estimate,
            desc=f"arinsight run {label}",
            unit="nb",
            file=sys.stderr,
            disable=not settings.progress,
            dynamic_ncols=True,
        )
        run = _PeriodRun(label, merged, declared, per_nb, wanted, settings, pool)
        try:
            run.run(bar, stamp)
            manifest = run.publish()
            published = any(r.get("published") == "this run" for r in manifest["reports"].values())
            run.publish_data(published)
        except BaseException:
            shutil.rmtree(run.staging, ignore_errors=True)
            run.publish_data(False)
            raise
        finally:
            bar.close()
        if manifest["status"] == "ok" and run.clean_info["status"] == "ran":
            write_json(
                settings.processed_dir / _CLEAN_STAMP,
                {
                    "period": label,
                    "fingerprint": _plain(fingerprint),
                    "inputs": [i for i in run.inputs if i.get("table") != "sources"],
                    "written_at": _now(),
                },
            )
    summary = _summary(label, manifest)
    if summary:
        print(summary, file=sys.stderr)
    if settings.progress:
        print(
            f"{label}: {manifest['status']}, {len(manifest['runs'])} notebooks in "
            f"{manifest['wall_seconds']:.0f}s -> {_display_path(run.final)}",
            file=sys.stderr,
        )
    return 0 if manifest["status"] == "ok" else 1


def run_period(
    period: str | None = None,
    regions: str | Sequence[str] | None = "all",
    params_files: Sequence[str | os.PathLike[str]] = (),
    jobs: int | None = None,
    from_period: str | None = None,
    to_period: str | None = None,
    *,
    as_of: str | None = None,
    params: Mapping[str, Any] | None = None,
    reports_dir: str | os.PathLike[str] | None = None,
    notebooks_dir: str | os.PathLike[str] | None = None,
    defaults_file: str | os.PathLike[str] | None = None,
    kernel_name: str = config.KERNEL_NAME,
    progress: bool = True,
) -> int:
    """Run the notebooks of one period (or a backfill ``from_period`` .. ``to_period``).

    ``regions`` is "all" (the ``regions`` parameter, or every region in the customer table) or
    a list / comma-separated text of regions; "All" is always run. ``params_files`` are merged
    over ``params/defaults.yaml`` (or ``defaults_file``), then ``params`` over them (tests use it
    for ``sources``, ``interim_dir``, ``processed_dir``). ``reports_dir`` and ``notebooks_dir``
    default to the project's ``reports/`` and ``notebooks/``.

    ``as_of`` (or the ``as_of`` parameter; a date within the period) makes a snapshot report:
    balances at that date, flows from the period's start to it. It cannot be used with a
    backfill.

    Returns the exit code: 0 when every notebook succeeded, 1 when any failed (the summary is
    printed to stderr; failed pages keep their previous version or are marked failed). Bad
    parameters raise :class:`~arinsight.errors.ParamsError` before any notebook starts.
    """
    if period and (from_period or to_period):
        raise ParamsError("give either --period or --from/--to, not both")
    if from_period or to_period:
        if not (from_period and to_period):
            raise ParamsError("a backfill needs both --from and --to")
        periods = period_range(from_period, to_period)
        backfill = True
    elif period:
        try:
            periods = [period_bounds(period).label]
        except ValueError as exc:
            raise ParamsError(str(exc)) from exc
        backfill = False
    else:
        raise ParamsError("give --period YYYY-MM (or --from YYYY-MM --to YYYY-MM)")

    merged = _load_merged(params_files, params, defaults_file)
    merged.update(_dataset_settings(merged))
    if as_of is not None:
        merged["as_of"] = as_of
    if merged.get("as_of") is not None:
        if backfill:
            raise ParamsError("--as-of (a snapshot date) cannot be used with a backfill")
        try:
            merged["as_of"] = period_bounds(periods[0]).at(str(merged["as_of"])).end.date()
        except ValueError as exc:
            raise ParamsError(str(exc)) from exc
    run_cfg = merged.get("runs") or {}
    if not isinstance(run_cfg, Mapping):
        raise ParamsError("'runs' must be a mapping (jobs, cell_timeout, start_timeout)")
    nb_dir = Path(notebooks_dir) if notebooks_dir else config.NOTEBOOKS_DIR
    missing = [n for n in NOTEBOOKS if not (nb_dir / n).exists()]
    if missing:
        raise UserError(f"{nb_dir}: missing notebook(s) {', '.join(missing)}")
    declared = {n: notebook_parameters(nb_dir / n) for n in NOTEBOOKS}
    for name, names in declared.items():
        if "period" not in names:
            raise ParamsError(f"{name}: its parameters cell must declare `period`")
    per_nb = validate_params(merged, declared)
    wanted = _parse_regions(regions)
    configured = merged.get("regions")
    if configured is not None and not isinstance(configured, list | tuple):
        raise ParamsError("'regions' must be a list of region names or null")
    if wanted and configured:
        unknown = [r for r in wanted if r not in [str(c) for c in configured]]
        if unknown:
            raise ParamsError(
                f"region(s) {', '.join(unknown)} not in the `regions` parameter "
                f"({', '.join(map(str, configured))})"
            )
    _check_periods(periods, merged.get("run_date"))
    if wanted or configured:
        _check_regions(wanted or [str(c) for c in configured], merged)

    jobs = jobs or run_cfg.get("jobs") or min(4, _cores())
    if not isinstance(jobs, int) or jobs < 1:
        raise ParamsError(f"--jobs must be a positive whole number, got {jobs!r}")
    settings = _Settings(
        reports_dir=Path(reports_dir)
        if reports_dir
        else config.resolve_path(merged.get("reports_dir")) or config.REPORTS_DIR,
        notebooks_dir=nb_dir.resolve(),
        processed_dir=config.resolve_path(merged.get("processed_dir")) or config.PROCESSED_DIR,
        interim_dir=config.resolve_path(merged.get("interim_dir")) or config.INTERIM_DIR,
        kernel_name=kernel_name,
        cell_timeout=int(run_cfg.get("cell_timeout") or _DEFAULT_CELL_TIMEOUT),
        start_timeout=int(run_cfg.get("start_timeout") or _DEFAULT_START_TIMEOUT),
        jobs=jobs,
        progress=progress,
    )
    settings.reports_dir = settings.reports_dir.resolve()
    clean_stale(settings.reports_dir, [settings.processed_dir, settings.interim_dir])
    dataset = datasets.identity(merged)
    with _period_lock(settings.reports_dir, "dataset"):
        note = datasets.switch_to(dataset, settings.reports_dir)
    if note and progress:
        print(f"arinsight run: dataset {dataset['name']}: {note}", file=sys.stderr)
    settings.dataset = dataset

    from tqdm.auto import tqdm

    exit_code = 0
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        for label in periods:
            code = _run_one(label, merged, declared, per_nb, wanted, settings, pool, backfill, tqdm)
            exit_code = max(exit_code, code)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return exit_code


__all__ = [
    "KPI_KEYS",
    "KPI_PARTS",
    "NOTEBOOKS",
    "PREP_NOTEBOOKS",
    "REGION_NOTEBOOKS",
    "RUNNER_KEYS",
    "assemble_kpis",
    "code_version",
    "notebook_parameters",
    "package_versions",
    "period_range",
    "provenance_markdown",
    "region_dir",
    "run_period",
    "validate_params",
]
