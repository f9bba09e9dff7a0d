"""Paths and parameters: the one place that knows where things live.

The project root is derived once from this file's location (src layout: ``<root>/src/arinsight``),
or from the ``ARINSIGHT_HOME`` environment variable when the package is installed elsewhere.
Notebooks and code never build paths from the current working directory, because papermill runs
notebooks with another working directory.

Parameters come from YAML files in ``params/``: ``defaults.yaml`` first, then any override files in
order. Mappings merge recursively; any other value in a later file replaces the earlier one.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from arinsight.errors import ConfigError as ConfigError  # raised here, defined below everything
from arinsight.periods import iso_day


def _find_root() -> Path:
    env = os.environ.get("ARINSIGHT_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "params").is_dir():
            return parent
    return Path.cwd().resolve()


PROJECT_ROOT: Path = _find_root()
PARAMS_DIR = PROJECT_ROOT / "params"
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
SAMPLE_DIR = DATA_DIR / "sample"
INTERIM_DIR = DATA_DIR / "interim"
PROCESSED_DIR = DATA_DIR / "processed"
REPORTS_DIR = PROJECT_ROOT / "reports"
#: Where notebooks run by hand (JupyterLab, plain papermill without the runner's folders) write:
#: never into the published data/processed, data/interim or reports/ (see :func:`notebook_dir`).
SCRATCH_DIR = DATA_DIR / "scratch"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DEFAULTS_FILE = PARAMS_DIR / "defaults.yaml"
KERNEL_NAME = "arinsight"


def resolve_path(value: str | os.PathLike[str] | None, base: Path = PROJECT_ROOT) -> Path | None:
    """Return ``value`` as an absolute path; relative paths are taken from ``base`` (the project root)."""
    if value is None or value == "":
        return None
    path = Path(os.path.expanduser(str(value)))
    return path if path.is_absolute() else (base / path).resolve()


_PUBLISHED = {"interim": "INTERIM_DIR", "processed": "PROCESSED_DIR", "reports": "REPORTS_DIR"}


def notebook_dir(kind: str, given: str | os.PathLike[str] | None, *, write: bool = False) -> Path:
    """The folder a notebook reads or writes ``kind`` ("interim", "processed" or "reports") in.

    ``given`` is the notebook's parameter: the runner always passes its folders, so they are used
    as they are. Run by hand (the parameter left empty) a notebook never changes what was
    published: it writes to ``data/scratch/<kind>``, and reads from there when that exists (an
    analyst re-running ingest and clean by hand sees their own result), else from the published
    folder, read only.
    """
    if kind not in _PUBLISHED:
        raise ValueError(f"kind: expected one of {', '.join(_PUBLISHED)}, got {kind!r}")
    if given:
        return resolve_path(given)
    scratch = SCRATCH_DIR / kind
    if write or scratch.exists():
        return scratch
    return globals()[_PUBLISHED[kind]]


def notebook_output(given: str | os.PathLike[str] | None, period: str, region: str) -> Path:
    """Where a notebook writes its JSON parts: the runner's ``output_dir``, or by hand
    ``data/scratch/reports/<period>/<region>`` (never the published report)."""
    if given:
        return resolve_path(given)
    return SCRATCH_DIR / "reports" / str(period) / region_dir(region)


def region_dir(region: str) -> str:
    """Folder name of a region's reports: the name itself when it is a plain name (letters,
    digits, ``_ . -``, not starting with ``.`` or ``_``), else a readable slug plus a hash of the
    name ("Asia/Pacific" -> "Asia_Pacific-3c1e6b2a"), so two names can never share a folder."""
    name = str(region)
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        return name
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "region"
    return f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


class _TextDates(yaml.SafeLoader):
    """YAML's safe loader without its implicit timestamps: ``2026-10-20`` stays text, so a date
    is checked by the code that needs it (:func:`day_of`), and an impossible day such as
    ``2026-11-31`` is named there instead of breaking the YAML reader."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read one YAML mapping; an empty file is an empty mapping. Dates stay text
    (:class:`_TextDates`)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: parameter file not found")
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_TextDates)  # noqa: S506
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: nested mappings merge, other values replace."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


#: Parameters that are not in defaults.yaml but may be set in a params file: the folders a run
#: reads and writes, a snapshot date, and the query engine's location.
EXTRA_KEYS = frozenset({"interim_dir", "processed_dir", "reports_dir", "as_of", "engine"})
#: Sections of defaults.yaml whose keys are fixed (a misspelt key in them is an error too).
CLOSED_SECTIONS = ("alerts", "email", "runs")


def check_keys(data: Mapping[str, Any], path: str | os.PathLike[str], defaults: Mapping) -> None:
    """Refuse a key of a params file that arinsight does not know (a misspelt option would
    otherwise silently do nothing), naming the file, the key and the keys allowed."""
    allowed = set(defaults) | EXTRA_KEYS
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"{path}: unknown parameter(s) {', '.join(map(repr, unknown))}; allowed: "
            f"{', '.join(sorted(allowed))}"
        )
    for section in CLOSED_SECTIONS:
        given, known = data.get(section), defaults.get(section)
        if isinstance(given, Mapping) and isinstance(known, Mapping):
            bad = sorted(set(given) - set(known))
            if bad:
                raise ConfigError(
                    f"{path}: unknown key(s) {', '.join(map(repr, bad))} under {section!r}; "
                    f"allowed: {', '.join(sorted(known))}"
                )


def fx_rates_of(rates: Any, where: str, base: Path | None = None) -> dict[str, Any]:
    """``fx_rates`` checked (:func:`arinsight.fx.rates_of`): constant rates ``{code: rate}``,
    dated rates ``{code: {day: rate}}``, or a rates file's path (relative to ``base``, default
    the project folder), as ``{code: rate or {day: rate}}``; else a ConfigError naming
    ``where``, the code and the value."""
    from arinsight import fx  # fx imports nothing of ours but errors

    return fx.rates_of(rates, where, base if base is not None else PROJECT_ROOT)


def day_of(value: Any, where: str) -> str | None:
    """A date parameter (``as_of``) as ``YYYY-MM-DD``: a date, a text date, or a YAML timestamp at
    midnight; a time of day, an impossible day (2026-11-31) or anything else is a ConfigError
    (balances are measured at the end of a day)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime) and value.time() != dt.time(0, 0):
        raise ConfigError(
            f"{where}: {value} has a time of day; give a date (YYYY-MM-DD): balances are "
            "measured at the end of a day"
        )
    if not isinstance(value, dt.date) and re.fullmatch(
        r"\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\S*", str(value).strip()
    ):
        raise ConfigError(
            f"{where}: {value!r} has a time of day; give a date (YYYY-MM-DD): balances are "
            "measured at the end of a day"
        )
    return iso_day(value, where)


def check_values(data: Mapping[str, Any], where: str, base: Path | None = None) -> dict[str, Any]:
    """``data`` with the values every command relies on checked and normalised up front:
    ``reporting_currency`` (case), ``fx_rates`` (codes, positive numbers, dates; a rates file
    relative to ``base``), ``as_of`` (a day)."""
    out = dict(data)
    if out.get("reporting_currency") is not None:
        from arinsight.fx import currency_code

        out["reporting_currency"] = currency_code(
            out["reporting_currency"], f"{where}: reporting_currency"
        )
    if "fx_rates" in out:
        out["fx_rates"] = fx_rates_of(out["fx_rates"], where, base)
    if "as_of" in out:
        out["as_of"] = day_of(out["as_of"], f"{where}: as_of")
    return out


def load_params(overrides: Iterable[str | os.PathLike[str]] = (), **values: Any) -> dict[str, Any]:
    """Defaults from ``params/defaults.yaml`` merged with override files (each checked with
    :func:`check_keys` and :func:`check_values`), then keyword values (checked too)."""
    defaults = read_yaml(DEFAULTS_FILE)
    params = defaults
    for path in overrides:
        data = read_yaml(path)
        check_keys(data, path, defaults)
        params = deep_merge(params, check_values(data, str(path)))
    given = check_values({k: v for k, v in values.items() if v is not None}, "parameters")
    return deep_merge(params, given)
