"""The run's parameters: the merged parameter files checked against every notebook's parameters
cell, the periods of a backfill, the regions asked for and the dataset's own settings."""

from __future__ import annotations

import ast
import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from arinsight import config
from arinsight.errors import ParamsError, UserError
from arinsight.ledger import ALL_REGIONS, period_bounds

#: Top-level parameter keys that belong to the runner or to other commands, so no notebook
#: declares them and they are not "unknown":
#:
#: - ``regions``: which regions ``arinsight run`` reports (besides "All");
#: - ``reports_dir``: where ``arinsight run`` publishes (default ``reports/``);
#: - ``runs``: the runner's settings (``jobs``, ``cell_timeout``, ``start_timeout``);
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


_UNPARSED = object()


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


def parse_regions(regions: str | Sequence[str] | None) -> list[str] | None:
    """``"all"``/None -> None (every region); ``"North,South"`` -> ["North", "South"]."""
    if regions is None:
        return None
    items = regions.split(",") if isinstance(regions, str) else list(regions)
    items = [str(r).strip() for r in items if str(r).strip()]
    if not items or (len(items) == 1 and items[0].lower() == "all"):
        return None
    return [r for r in dict.fromkeys(items) if r != ALL_REGIONS]


def load_merged(
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


def dataset_settings(params: Mapping[str, Any]) -> dict[str, Any]:
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
        given = params.get("fx_rates") or {}
        if not isinstance(given, Mapping):  # the parameters name a rates file
            try:
                given = config.fx_rates_of(given, "fx_rates")
            except config.ConfigError:
                given = {}  # the clean step names the problem
        out["fx_rates"] = {**given, **rates}
    return out


def check_periods(periods: Sequence[str], run_date: Any) -> None:
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


def check_regions(wanted: Sequence[str], params: Mapping[str, Any]) -> None:
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
