"""Provenance: the code and package versions, the input files and their hashes, what cleaned
data depends on (so a backfill can reuse it), and the provenance cell every executed notebook
ends with."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from arinsight import __version__, config
from arinsight.files import sha256_file
from arinsight.runs.base import PREP_NOTEBOOKS, Settings, display_path, json_safe, plain, read_json

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


def input_files(interim_dir: Path) -> list[dict[str, Any]]:
    manifest = read_json(interim_dir / "ingest_manifest.json") or {}
    files = manifest.get("files") or []
    return [
        {k: f.get(k) for k in ("path", "sha256", "table", "rows") if k in f}
        for f in files
        if isinstance(f, Mapping)
    ]


def sources_entry(params: Mapping[str, Any]) -> dict[str, Any] | None:
    path = config.resolve_path(params.get("sources")) if params.get("sources") else None
    if path is None or not path.is_file():
        return None
    return {"path": display_path(path), "sha256": sha256_file(path), "table": "sources"}


def rates_file_entry(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The rates file the parameters name (``fx_rates: rates.csv``, relative to the project
    folder) with its sha256: an input like the exports, so the provenance names it and a changed
    file cleans again (a sources file's own rates file is in ingest's manifest)."""
    value = params.get("fx_rates")
    if not isinstance(value, str | os.PathLike) or not str(value):
        return None
    path = config.resolve_path(value)
    if path is None or not path.is_file():
        return None
    return {"path": display_path(path), "sha256": sha256_file(path), "table": "fx_rates"}


CLEAN_STAMP = "_clean_stamp.json"


def clean_fingerprint(
    params: Mapping[str, Any], settings: Settings, per_nb: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """What cleaned data depends on, besides the input files: parameters, notebooks, code."""
    prep_params: dict[str, Any] = {}
    for name in PREP_NOTEBOOKS:
        prep_params.update({k: v for k, v in per_nb.get(name, {}).items() if k != "period"})
    return {
        "params": plain(prep_params),
        "sources": sources_entry(params),
        "notebooks": {
            n: sha256_file(settings.notebooks_dir / n)
            for n in PREP_NOTEBOOKS
            if (settings.notebooks_dir / n).exists()
        },
        "code_version": code_version(),
    }


def reusable_clean(settings: Settings, fingerprint: Mapping[str, Any]) -> dict[str, Any] | None:
    """The clean stamp when cleaned data can be reused (nothing it depends on changed)."""
    stamp = read_json(settings.processed_dir / CLEAN_STAMP)
    if not isinstance(stamp, Mapping) or stamp.get("fingerprint") != plain(dict(fingerprint)):
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


def md_escape(value: Any) -> str:
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
                f"{k} = {json.dumps(plain(v), sort_keys=True, default=str)}"
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
        f'<tr><th scope="row">{md_escape(k)}</th><td>{md_escape(v)}</td></tr>' for k, v in rows
    )
    return f'## Provenance\n\n<table class="provenance"><tbody>{body}</tbody></table>\n'


def append_provenance(nb_path: Path, record: Mapping[str, Any]) -> None:
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    nb.cells = [c for c in nb.cells if "provenance" not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(provenance_markdown(record))
    cell.metadata["tags"] = ["provenance"]
    nb.cells.append(cell)
    nb.metadata.setdefault("arinsight", {})["provenance"] = json_safe(plain(dict(record)))
    tmp = nb_path.with_name(f".{nb_path.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, nb_path)
