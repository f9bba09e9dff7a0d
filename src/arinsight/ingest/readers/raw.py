"""Any source: :func:`read_raw` picks the reader of its kind and records what was read, each
file hashed once per ingest (:func:`one_pass`)."""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from arinsight import config
from arinsight.errors import SourceError
from arinsight.files import sha256_file
from arinsight.ingest.readers.base import (
    RawTable,
    display_path,
    split_repeated_headers,
)
from arinsight.ingest.readers.delimited import read_csv
from arinsight.ingest.readers.excel import read_excel
from arinsight.ingest.readers.sql import read_sql
from arinsight.ingest.readers.ubl import read_ubl

#: sha256 of the files read during one :func:`one_pass` (a workbook or database that provides
#: several tables is hashed once); None outside it. Sources are read on several threads, so
#: each file's digest is computed under its own lock (the other tables of the file wait for it).
_DIGESTS: dict[Path, str] | None = None


_DIGEST_LOCKS: dict[Path, threading.Lock] = {}


_LOCK = threading.Lock()


@contextmanager
def one_pass():
    """Within this block each file is hashed once (an ingest run reads every file once)."""
    global _DIGESTS
    _DIGESTS = {}
    try:
        yield
    finally:
        _DIGESTS = None
        _DIGEST_LOCKS.clear()


def _file_sha256(path: Path) -> str:
    digests = _DIGESTS
    if digests is None:
        return sha256_file(path)
    key = path.resolve()
    with _LOCK:
        lock = _DIGEST_LOCKS.setdefault(key, threading.Lock())
    with lock:
        if key not in digests:
            digests[key] = sha256_file(path)
    return digests[key]


def read_raw(table: str, src: dict[str, Any], base: Path) -> RawTable:
    """Read one source (see the module docstring); ``info`` records what was read from where
    (kind, path, sha256, rows, source columns) for the ingest manifest."""
    kind = src["kind"]
    malformed: list[dict[str, Any]] = []
    if kind == "ubl":
        if not src.get("path"):
            raise SourceError(f"sources.{table}", "a ubl source needs `path:`")
        if table != "invoices":
            raise SourceError(f"sources.{table}", "a ubl source can only provide invoices")
        pattern = config.resolve_path(src["path"], base)
        df = read_ubl(pattern)
        name = display_path(pattern)
        digest = hashlib.sha256()
        for f in df["__file"]:
            digest.update(sha256_file(config.resolve_path(f)).encode())
        info = {
            "table": table,
            "kind": kind,
            "path": name,
            "sha256": digest.hexdigest(),
            "documents": int(len(df)),
        }
    elif kind in ("csv", "excel"):
        if not src.get("path"):
            raise SourceError(f"sources.{table}", f"a {kind} source needs `path:`")
        path = config.resolve_path(src["path"], base)
        if not path.exists():
            raise SourceError(str(path), "file not found")
        if kind == "csv":
            df, malformed = read_csv(path, src)
        else:
            df = read_excel(path, src)
        name = display_path(path)
        info = {"table": table, "kind": kind, "path": name, "sha256": _file_sha256(path)}
        if kind == "excel":
            name = f"{name}[{src.get('sheet', 0)}]"
            info["sheet"] = src.get("sheet", 0)
    else:
        if not src.get("url"):
            raise SourceError(f"sources.{table}", "a sql source needs `url:`")
        df, name = read_sql(src["url"], src, base)
        info = {"table": table, "kind": kind, "path": name}
        db = Path(src["url"].replace("{here}", base.as_posix())[len("sqlite:///") :])
        if src["url"].startswith("sqlite:///") and db.exists():
            info["sha256"] = _file_sha256(db)
            name = f"{display_path(db)}[{src.get('table') or 'query'}]"
            info["path"] = display_path(db)
        else:  # a server database: hash what was read
            info["sha256"] = hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()
        if src.get("table"):
            info["sql_table"] = src["table"]
    df.columns = [str(c).strip() for c in df.columns]
    if kind in ("csv", "excel"):
        df, repeated = split_repeated_headers(df, name)
        malformed = sorted(malformed + repeated, key=lambda m: m["row"])
    info["rows"] = int(len(df)) + len(malformed)
    info["columns"] = [c for c in df.columns if c != "__file"]
    if malformed:
        info["malformed_rows"] = len(malformed)
    return RawTable(df, {"name": name, **info}, malformed)
