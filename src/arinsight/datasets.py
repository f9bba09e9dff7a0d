"""One dataset per report tree: reports and the site never mix two ledgers.

A *dataset* is what one sources file describes (the embedded sample, or a user's own export). Its
identity is the sources file's resolved path; its name is the sources file's ``dataset:`` key, or
else "sample" for the embedded sample and the file's name (its folder's name for a file called
``sources.yaml``) for anything else.

``reports/`` holds the reports of one dataset at a time and says which in
``reports/dataset.json``. A run of another dataset first moves the whole tree of the previous one
to ``reports/_archive/<dataset id>/`` (nothing is deleted) and, when this dataset was reported
before, brings its own archived tree back; so switching from the sample to your own data and back
shows each dataset's own periods only, and a site built from ``reports/`` can never show the
numbers of another dataset beside them. The site reads the name from ``reports/dataset.json``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arinsight import config
from arinsight.files import write_json

DATASET_FILE = "dataset.json"
ARCHIVE_DIR = "_archive"


def identity(params: Mapping[str, Any]) -> dict[str, str]:
    """The dataset the parameters point at: ``{"id", "name", "sources"}``.

    ``id`` = a readable slug of the name + the first 8 hex digits of the sha256 of the sources
    file's resolved path (two files of the same name in different folders are different data).
    """
    path = config.resolve_path(params.get("sources") or "")
    if path is None:
        return {"id": "none", "name": "no sources file", "sources": ""}
    name = None
    if path.is_file():
        try:
            name = config.read_yaml(path).get("dataset")
        except config.ConfigError:
            name = None  # ingest reports the unreadable file with its own message
    if not name:
        if path.parent.resolve() == config.SAMPLE_DIR.resolve():
            name = "sample"
        else:
            name = path.parent.name if path.stem == "sources" else path.stem
    name = str(name).strip() or "dataset"
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-._").lower() or "dataset"
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
    return {"id": f"{slug}-{digest}", "name": name, "sources": str(path.resolve())}


def active(reports_dir: str | os.PathLike[str] | None = None) -> dict[str, str] | None:
    """The dataset whose reports are in ``reports_dir`` now (None before the first run)."""
    import json

    path = Path(reports_dir or config.REPORTS_DIR) / DATASET_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("id") else None


def _tree_entries(reports_dir: Path) -> list[Path]:
    """What belongs to the active dataset's tree: everything but the archive, the dataset file
    and hidden entries (the runner's locks and staging folders, ``.gitkeep``)."""
    return [
        p
        for p in sorted(reports_dir.iterdir())
        if p.name not in (ARCHIVE_DIR, DATASET_FILE) and not p.name.startswith(".")
    ]


def switch_to(dataset: Mapping[str, str], reports_dir: str | os.PathLike[str] | None = None) -> str:
    """Make ``reports_dir`` the tree of ``dataset``; returns a note for the user ("" if nothing
    moved). The previous dataset's tree goes to ``_archive/<its id>/``; this dataset's archived
    tree, if any, comes back. A tree of reports without ``dataset.json`` (written before datasets
    were recorded) is archived as ``_archive/unrecorded/``."""
    root = Path(reports_dir or config.REPORTS_DIR)
    root.mkdir(parents=True, exist_ok=True)
    current = active(root)
    if current is not None and current.get("id") == dataset["id"]:
        return ""
    entries = _tree_entries(root)
    notes = []
    if entries:
        old_id = current["id"] if current else "unrecorded"
        target = root / ARCHIVE_DIR / old_id
        if target.exists():  # an older archive of the same dataset: keep both
            shutil.rmtree(target.with_name(old_id + ".older"), ignore_errors=True)
            os.replace(target, target.with_name(old_id + ".older"))
        target.mkdir(parents=True)
        for entry in entries:
            os.replace(entry, target / entry.name)
        if current:
            write_json(target / DATASET_FILE, current)
        shown = current["name"] if current else "an earlier dataset"
        notes.append(f"the reports of {shown} were moved to {_shown(target)}")
    restored = root / ARCHIVE_DIR / dataset["id"]
    if restored.is_dir():
        for entry in sorted(restored.iterdir()):
            if entry.name != DATASET_FILE:
                os.replace(entry, root / entry.name)
        shutil.rmtree(restored, ignore_errors=True)
        notes.append(f"the earlier reports of {dataset['name']} were brought back")
    write_json(root / DATASET_FILE, dict(dataset))
    return "; ".join(notes)


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(config.PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)
