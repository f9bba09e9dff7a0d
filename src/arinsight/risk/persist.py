"""Persistence: the model file (skops, with only trusted types) and its metadata."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.files import write_json
from arinsight.risk.base import TRUSTED_TYPES, RiskModelError, UntrustedModelError


def library_versions() -> dict[str, str]:
    """Versions of the libraries the model depends on (for the model's metadata)."""
    import sklearn
    import skops

    from arinsight import __version__

    return {
        "python": platform.python_version(),
        "arinsight": __version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def save_model(model, path: str | Path, metadata: dict[str, Any]) -> tuple[Path, Path]:
    """Save the fitted pipeline with skops (``.skops``) and its metadata beside it (``.json``).

    The metadata should hold the training window, features, metrics; library versions are added.
    """
    import skops.io as sio

    path = Path(path)
    if path.suffix != ".skops":
        raise RiskModelError(f"{path}: a risk model file must end in .skops")
    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path)
    meta = dict(metadata) | {"library_versions": library_versions(), "format": "skops"}
    meta_path = write_json(path.with_suffix(".json"), meta)
    return path, meta_path


def load_model(path: str | Path, trusted: list[str] | None = None) -> tuple[Any, dict[str, Any]]:
    """Load a model saved by :func:`save_model` and its metadata, refusing untrusted content.

    Every type in the file that skops does not trust by default must be on ``trusted``
    (default :data:`TRUSTED_TYPES`); otherwise :class:`UntrustedModelError` names the offending
    types and nothing in the file is executed.
    """
    import skops.io as sio

    path = Path(path)
    if not path.exists():
        raise RiskModelError(f"{path}: model file not found")
    allowed = list(TRUSTED_TYPES if trusted is None else trusted)
    try:
        found = sio.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a model we can read"
        raise RiskModelError(f"{path}: not a readable skops model file ({exc})") from exc
    bad = sorted(set(found) - set(allowed))
    if bad:
        raise UntrustedModelError(
            f"{path}: refused to load: the file contains untrusted type(s) {', '.join(bad)}; "
            "only files written by arinsight.risk.save_model are accepted"
        )
    model = sio.load(path, trusted=allowed)
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    return model, meta
