"""Shared fixtures: tiny ledgers written as real files, so tests go through the real readers."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml

from arinsight.ingest import to_canonical
from arinsight.schemas import CANONICAL, empty_table


@pytest.fixture(autouse=True, scope="session")
def _plan_cache(tmp_path_factory):
    """Compiled KPI plans (arinsight.engine.duck) go to a folder of the test session, never to
    the user's ~/.cache; child processes inherit it."""
    import os

    os.environ["ARINSIGHT_CACHE_DIR"] = str(tmp_path_factory.mktemp("arinsight-cache"))
    os.environ.pop("ARINSIGHT_PLAN_CACHE", None)


# ---------------------------------------------------------------------------------------------
# Spreading the tests over the workers of `pytest -n 2 --dist loadgroup` (make test)
# ---------------------------------------------------------------------------------------------
# For a new test: mark an end-to-end one (papermill runs, site builds) `slow`, so it starts
# before the quick ones; give tests that share a costly module- or session-scoped fixture one
# `xdist_group`, so they run on one worker and the fixture is made once, not once per worker
# (keep a group to a few minutes: a group runs on one worker from start to end).

#: Module-scoped fixtures parametrised by renderer that build a whole site (~40 s a build): the
#: tests of one renderer go to one worker (group ``site-<renderer>``), so each of these sites is
#: built once per run instead of once per worker.
SITE_BUILDS = ("built", "served", "engine_served", "engine_cut_served")


def _groups(item: pytest.Item) -> list[str]:
    names = {
        str(m.args[0] if m.args else m.kwargs.get("name", "default"))
        for m in item.iter_markers("xdist_group")
    }
    params = getattr(getattr(item, "callspec", None), "params", {})
    names |= {f"site-{params[f]}" for f in SITE_BUILDS if f in params}
    return sorted(names)


def _start_rank(item: pytest.Item) -> int:
    """Long tests first, so that no worker picks up a long one while the other has finished:
    end-to-end runs (``slow``), then browser tests, then property tests (hypothesis), then the
    rest. Groups need no rank: xdist sends the biggest group first (--loadscope-reorder)."""
    if item.get_closest_marker("slow"):
        return 0
    if item.get_closest_marker("browser"):
        return 1
    if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
        return 2
    return 3


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """On an xdist worker: the long tests first (a stable sort keeps each module's order and
    pytest's grouping by parameter), and with ``--dist loadgroup`` the group names appended to
    the test ids as ``id@group``, which is how xdist's scheduler sees groups. xdist 3.8 appends
    them to ``item._nodeid``, which pytest 9 no longer reads (it reads ``item._id``): without
    this, ``xdist_group`` marks are ignored and Spark, for one, starts on both workers."""
    result = yield
    if not hasattr(config, "workerinput"):
        return result
    if getattr(config.option, "loadgroup", False):
        from _pytest.nodeid import NodeId

        for item in items:
            names = _groups(item)
            base = item.nodeid
            if base.rfind("@") > base.rfind("]"):  # xdist's suffix (pytest < 9): ours replaces it
                base = base.rsplit("@", 1)[0]
            if names:
                item._nodeid = item_id = f"{base}@{'_'.join(names)}"
                item._id = NodeId.parse(item_id)
    # the standalone cluster's test stops the local Spark session (a process holds one): last
    # in the spark group, so the local-mode tests share one session instead of starting two
    items.sort(key=lambda item: (_start_rank(item), "spark_cluster" in item.fixturenames))
    return result


def ingested(table: str, rows: list[dict[str, str]], file: str = "t.csv") -> pd.DataFrame:
    """A table as ingest returns it, from rows of text (source row numbers 2, 3, ... like a CSV)."""
    raw = pd.DataFrame(rows, columns=CANONICAL[table], dtype=str).fillna("")
    raw.index = range(2, 2 + len(raw))
    return to_canonical(table, raw, {"on_bad_value": "quarantine"}, file)


def clean_table(table: str, rows: list[dict]) -> pd.DataFrame:
    """A canonical table with the clean dtypes of arinsight.schemas from a few dict rows
    (as ``clean`` writes it to data/processed), for KPI and risk tests."""
    base = empty_table(table)
    df = pd.DataFrame(rows)
    for col in base.columns:
        if col not in df.columns:
            df[col] = None
        if str(base[col].dtype).startswith("datetime64"):
            df[col] = pd.to_datetime(df[col]).astype(base[col].dtype)
        else:
            df[col] = df[col].astype(base[col].dtype)
    return df[list(base.columns)]


def empty(table: str) -> pd.DataFrame:
    return ingested(table, [])


@pytest.fixture
def write_sources(tmp_path: Path):
    """Write files and a sources.yaml into tmp_path; returns the sources file's path."""

    def _write(sources: dict, files: dict[str, str | bytes]) -> Path:
        for name, content in files.items():
            path = tmp_path / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        spec = tmp_path / "sources.yaml"
        spec.write_text(yaml.safe_dump({"sources": sources}, sort_keys=False), encoding="utf-8")
        return spec

    return _write


# ---------------------------------------------------------------------------------------------
# A real PostgreSQL server (the `engine:` and `sql` source tests)
# ---------------------------------------------------------------------------------------------


def _pg_bin() -> str | None:
    import glob

    found = shutil.which("pg_ctl")
    if found:
        return str(__import__("pathlib").Path(found).resolve().parent)
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return dirs[-1] if dirs else None


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server (Debian's `postgresql`, installed by `make postgres`) on a
    free local port in a temp dir, one per test worker, stopped at the end. PostgreSQL refuses to run as root, so as
    root it runs as the `postgres` user (runuser)."""
    import os
    import socket
    import tempfile
    from pathlib import Path

    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (make postgres)")
    root = Path(tempfile.mkdtemp(prefix="arinsight-pg-"))  # pytest's own tmp is root-only
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        [*as_user, f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*as_user, f"{bindir}/pg_ctl", "-D", str(data), "-o", opts, "-l", str(root / "log"),
         "-w", "start"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, f"{bindir}/pg_ctl", "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
