"""What every part of a run shares: the notebooks in their order, the run's settings, and the
small value helpers (JSON-safe values, the time stamp, paths as the manifest shows them)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arinsight import config

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


@dataclass
class Settings:
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


def plain(value: Any) -> Any:
    """YAML values made JSON/papermill-safe: dates become ISO text, tuples lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(config.PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
