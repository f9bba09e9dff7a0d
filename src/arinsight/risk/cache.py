"""The risk cache: the region-independent part of a period's run, computed once and shared by the regions' pages."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from arinsight.files import file_lock, hash_tables, write_json
from arinsight.risk.base import MAX_TRAIN_ROWS, RiskModelError
from arinsight.risk.evaluate import Evaluation
from arinsight.risk.persist import library_versions, load_model


@dataclass
class Trained:
    """The region-independent part of a run: what every region's run of a period shares."""

    evaluation: Evaluation
    model: Any
    importance: pd.DataFrame
    metadata: dict[str, Any]
    scores: pd.DataFrame  # every invoice open at T, all regions


#: The tables whose content is part of the cache key (the only ones a risk run reads; the
#: adjustments settle invoices: their paid dates and open amounts).
CACHE_TABLES = ("invoices", "payments", "customers", "adjustments")
_ENTRY_FILE = "entry.json"
_FRAMES = ("predictions", "backtest", "test_features", "importance", "scores")


def default_cache_dir(processed_dir: str | Path | None = None) -> Path:
    """``<processed_dir>/risk_cache`` (``data/processed/risk_cache`` by default)."""
    from arinsight import config

    folder = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    return Path(folder) / "risk_cache"


def _tables_digest(tables: Any) -> str:
    """sha256 of the :data:`CACHE_TABLES` (:func:`arinsight.files.hash_tables`: the files of a
    processed folder, or every value of frames)."""
    h = hashlib.sha256()
    hash_tables(h, tables, CACHE_TABLES)
    return h.hexdigest()


def _package_digest() -> str:
    """sha256 of the risk package's source files (any change to the model's code: a new key)."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def run_params(
    late_days: int = 30,
    random_seed: int = 42,
    test_months: int = 3,
    backtest_months: int = 6,
    importance_samples: int = 2000,
    max_train_rows: int | None = MAX_TRAIN_ROWS,
) -> dict[str, Any]:
    """The parameters that shape a run's region-independent part, as plain numbers (None: no
    training cap)."""
    return {
        "late_days": int(late_days),
        "random_seed": int(random_seed),
        "test_months": int(test_months),
        "backtest_months": int(backtest_months),
        "importance_samples": int(importance_samples),
        "max_train_rows": None if max_train_rows is None else int(max_train_rows),
    }


def risk_cache_key(
    tables: Any,
    period: str,
    late_days: int = 30,
    random_seed: int = 42,
    test_months: int = 3,
    backtest_months: int = 6,
    importance_samples: int = 2000,
    as_of: Any = None,
    max_train_rows: int | None = MAX_TRAIN_ROWS,
) -> str:
    """The cache key of a run's region-independent part: sha256 of the parameters that shape it
    (period and as-of date among them),
    the code (``arinsight.__version__`` and this module's source), the library versions, and the
    content (columns, dtypes, every value) of the invoices, payments and customers tables.

    The region and ``high_risk_top_n`` are not part of it: they only filter and rank the shared
    scores."""
    spec = {
        "period": str(period),
        "as_of": None if as_of is None else str(pd.Timestamp(as_of).date()),
        **run_params(
            late_days, random_seed, test_months, backtest_months, importance_samples, max_train_rows
        ),
        "libraries": library_versions(),
        "risk_source": _package_digest(),
        "tables": _tables_digest(tables),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]


def cached(cache_dir: Path, key: str, compute) -> tuple[Trained, bool]:
    """The entry ``key`` of ``cache_dir``, loaded; computed and stored first when it is missing.

    Entries are written to a temporary folder and renamed into place (atomic), so a complete
    entry is all a reader can see. Training happens under ``<key>.lock``: a second process for
    the same key waits, then loads the first one's entry. An unreadable entry is replaced.
    """
    import logging

    entry = cache_dir / key
    if entry.is_dir():
        try:
            return load_entry(entry), True
        except (RiskModelError, OSError, ValueError, KeyError) as exc:
            logging.getLogger(__name__).warning("risk cache %s unreadable (%s)", entry, exc)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(cache_dir / f"{key}.lock"):
        if entry.is_dir():
            try:
                return load_entry(entry), True
            except (RiskModelError, OSError, ValueError, KeyError):
                shutil.rmtree(entry, ignore_errors=True)
        trained = compute()
        tmp = cache_dir / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
        try:
            write_entry(trained, tmp, key)
            os.replace(tmp, entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return trained, False


def write_entry(trained: Trained, folder: Path, key: str) -> None:
    """Write one cache entry for ``key`` into the new ``folder``: the models (skops), the
    evaluation's and the scores' frames (parquet), the metrics and metadata (JSON)."""
    import skops.io as sio

    folder.mkdir(parents=True)
    ev = trained.evaluation
    sio.dump(trained.model, folder / "model.skops")
    if ev.model is not None:
        sio.dump(ev.model, folder / "evaluation_model.skops")
    frames = {
        "predictions": ev.predictions,
        "backtest": ev.backtest,
        "test_features": ev.test_features,
        "importance": trained.importance,
        "scores": trained.scores,
    }
    for name, df in frames.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    doc = {
        "key": key,
        "metrics": ev.metrics,
        "metadata": trained.metadata,
        "library_versions": library_versions(),
    }
    write_json(folder / _ENTRY_FILE, doc)


def load_entry(folder: Path) -> Trained:
    """The trained model of a cache entry (:func:`write_entry`); a model file holding an
    untrusted type is an UntrustedModelError (:func:`arinsight.risk.persist.load_model`)."""
    doc = json.loads((folder / _ENTRY_FILE).read_text(encoding="utf-8"))
    model, _ = load_model(folder / "model.skops")
    ev_path = folder / "evaluation_model.skops"
    ev_model = load_model(ev_path)[0] if ev_path.exists() else None
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in _FRAMES}
    evaluation = Evaluation(
        doc["metrics"], frames["predictions"], frames["backtest"], ev_model, frames["test_features"]
    )
    return Trained(evaluation, model, frames["importance"], doc["metadata"], frames["scores"])
