"""Writing outputs reproducibly: one JSON writer and one file hash for the whole package.

Every JSON file arinsight writes (kpis parts and kpis.json, manifests, data-quality reports,
model metadata) goes through :func:`write_json`, so they all share one convention: sorted keys,
indent 2, UTF-8, NaN/inf/NaT as null, dates as ISO text, and an atomic replace (a reader never
sees half a file, which matters when parallel runs read each other's outputs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import uuid
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: numpy numbers to Python, NaN/inf/NaT to None, dates to ISO
    text, paths to text, DataFrames to lists of records. Anything else unknown is left as is (so
    ``json.dumps`` refuses it rather than writing a ``repr``)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [json_safe(r) for r in value.to_dict(orient="records")]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return value.as_posix()
    if not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return value


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as JSON (see the module docstring) atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        json_safe(data), sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False
    )
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def sha256_file(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection"):
#: equals, plus, minus, at, tab and carriage return.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, neutralised with a leading ``'``
    (OWASP: prefix cells starting with = + - @ tab CR); anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text columns pass through :func:`safe_cell`; numeric, boolean
    and date columns are left as they are (a negative number is a number, not a formula)."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            continue
        out[col] = s.map(safe_cell, na_action="ignore")
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def write_safe_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` as UTF-8 CSV (no index, ``\\n`` line ends) with every text cell made safe
    against formula injection (:func:`safe_frame`), atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    safe_frame(frame).to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_safe_excel(path: str | os.PathLike[str], sheets: Mapping[str, pd.DataFrame]) -> Path:
    """Write one sheet per frame with openpyxl; text cells are neutralised like
    :func:`write_safe_csv` and stored as text, never as formulas. Atomic; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp.xlsx")
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            safe_frame(frame).to_excel(writer, sheet_name=name, index=False)
            for row in writer.sheets[name].iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        cell.data_type = "s"
    os.replace(tmp, path)
    return path
