"""The reports folder's housekeeping: one run per period at a time (a lock), the staging twins
a run writes its data into, and the staging and trash folders a killed run left behind."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from arinsight.errors import UserError


@contextlib.contextmanager
def period_lock(reports_dir: Path, period: str, wait: bool = False) -> Iterator[None]:
    """One run per period at a time: an exclusive ``flock`` on ``reports/.lock-<period>``.

    The kernel releases the lock when the process ends, so a killed run never blocks the next
    one; the lock file is removed on release (checked by inode on acquire, so a process that
    opened a file that another one just removed tries again)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    lock = reports_dir / f".lock-{period}"
    while True:
        fh = open(lock, "a")  # noqa: SIM115 - held open across the yield
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            fh.close()
            raise UserError(f"another `arinsight run` of {period} is in progress") from exc
        try:
            same = os.fstat(fh.fileno()).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()  # removed by the previous holder after we opened it: take the new file
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


_STALE = re.compile(r"^\.(?:staging|trash)-(?P<period>[^-]+(?:-[^-]+)?)-[0-9a-f]{8}$")


_STALE_DATA = re.compile(r"^\..+\.(?:staging|trash)-(?P<period>[^-]+(?:-[^-]+)?)-[0-9a-f]{8}$")


def clean_stale(reports_dir: Path, data_dirs: Iterable[Path] = ()) -> list[str]:
    """Remove what killed runs left behind: staging and trash folders of reports and of the
    processed/interim data, each only when no run of its period holds the period's lock.
    Returns the names removed."""
    removed = []
    candidates = [(reports_dir, _STALE)] + [(d.parent, _STALE_DATA) for d in data_dirs]
    for folder, pattern in candidates:
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            m = pattern.match(entry.name)
            if not m or not entry.is_dir():
                continue
            try:
                with period_lock(reports_dir, m["period"]):
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry.name)
            except UserError:
                continue  # a live run of that period owns it
    return removed


def staging_twin(folder: Path, period: str, run_id: str) -> Path:
    """The staging twin of a data folder for one run (``.processed.staging-<period>-<id>``)."""
    return folder.parent / f".{folder.name}.staging-{period}-{run_id}"
