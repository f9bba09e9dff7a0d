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
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml


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
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DEFAULTS_FILE = PARAMS_DIR / "defaults.yaml"
KERNEL_NAME = "arinsight"


class ConfigError(ValueError):
    """A parameter file is missing, unreadable or holds a value of the wrong kind."""


def resolve_path(value: str | os.PathLike[str] | None, base: Path = PROJECT_ROOT) -> Path | None:
    """Return ``value`` as an absolute path; relative paths are taken from ``base`` (the project root)."""
    if value is None or value == "":
        return None
    path = Path(os.path.expanduser(str(value)))
    return path if path.is_absolute() else (base / path).resolve()


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read one YAML mapping; an empty file is an empty mapping."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: parameter file not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
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


def load_params(overrides: Iterable[str | os.PathLike[str]] = (), **values: Any) -> dict[str, Any]:
    """Defaults from ``params/defaults.yaml`` merged with override files, then keyword values."""
    params = read_yaml(DEFAULTS_FILE)
    for path in overrides:
        params = deep_merge(params, read_yaml(path))
    return deep_merge(params, {k: v for k, v in values.items() if v is not None})
