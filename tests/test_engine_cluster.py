"""The KPI engine on a real Spark standalone cluster: a master and a worker started here, on
127.0.0.1 only, with Debian's Java and the jars of the pyspark package (``make java``).

``engine: spark://host:port`` (run.connect) opens a session on that master; the queries run in
the worker's executor, a separate JVM (not ``local[*]``), which reads the ledgers from parquet by
path. The positions a run keeps must equal DuckDB's cell by cell (a generated ledger, every
region, mid-period), and every KPI of All and every region DuckDB's to the cent (the hand-made
ledger of test_engine.py, whose docstring works the figures out, through ``engine:`` in the
params, the path of ``arinsight kpis``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from test_engine import _check_commissions, _processed, _with_commissions, ledger_with_regions

from arinsight.engine import duck, run, sources

pytestmark = [
    pytest.mark.xdist_group("spark"),
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java (make java)"),
]

D = Decimal
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _state(ui_port: int) -> dict | None:
    """The master's state (its JSON page: workers, applications), None while it is not up."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{ui_port}/json/", timeout=2) as r:
            return json.load(r)
    except OSError:
        return None


def _stop_spark() -> None:
    """Stop this process's Spark context, if any (a process holds one: see run.connect)."""
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory):
    """``spark://127.0.0.1:<port>``: a standalone master and one worker (1 core, 1 GB), each a
    Java process in its own process group, bound to 127.0.0.1 (SPARK_LOCAL_IP: RPC and web
    UIs), ready once the master lists the worker ALIVE; both process groups (the worker's
    executors with them) are stopped at the end, also when starting failed."""
    import pyspark

    home = Path(pyspark.__file__).parent  # the pip package is a Spark home: jars/, bin/
    root = tmp_path_factory.mktemp("spark-cluster")
    port, master_ui, worker_ui = _free_port(), _free_port(), _free_port()
    url = f"spark://{HOST}:{port}"
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": HOST,
        "SPARK_LOCAL_DIRS": str(root / "local"),
        "SPARK_DAEMON_MEMORY": "512m",
        "PYSPARK_PYTHON": sys.executable,
    }
    java = ["bash", str(home / "bin" / "spark-class")]  # java -cp jars/* with Spark's options
    daemons = {
        "master": [*java, "org.apache.spark.deploy.master.Master", "--host", HOST,
                   "--port", str(port), "--webui-port", str(master_ui)],
        "worker": [*java, "org.apache.spark.deploy.worker.Worker", url, "--host", HOST,
                   "--cores", "1", "--memory", "1g", "--webui-port", str(worker_ui),
                   "--work-dir", str(root / "work")],
    }  # fmt: skip
    procs: list[subprocess.Popen] = []

    def wait_for(what: str, ready, seconds: float = 60) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if any(p.poll() is not None for p in procs):
                break
            if ready(_state(master_ui)):
                return
            time.sleep(0.25)
        logs = "\n".join(
            f"--- {name}.log\n{(root / f'{name}.log').read_text()[-3000:]}"
            for name in daemons
            if (root / f"{name}.log").exists()
        )
        raise RuntimeError(f"Spark standalone: {what} not ready\n{logs}")

    try:
        for name, cmd in daemons.items():
            with open(root / f"{name}.log", "wb") as log:
                procs.append(
                    subprocess.Popen(
                        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
            if name == "master":
                wait_for("master", lambda s: s is not None and s.get("status") == "ALIVE")
        wait_for(
            "worker",
            lambda s: s is not None and any(w["state"] == "ALIVE" for w in s.get("workers", [])),
        )
        yield {"url": url, "ui_port": master_ui, "root": root}
    finally:
        _stop_spark()
        for p in reversed(procs):  # the worker (and its executors) first, then the master
            for sig, seconds in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                with contextlib.suppress(ProcessLookupError):  # the whole group, by its id
                    os.killpg(p.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(seconds)


@pytest.fixture(scope="module")
def cluster_con(spark_cluster):
    """An engine connection on the cluster (``run.connect("spark://...")``); the driver and the
    executor run this interpreter (PYSPARK_PYTHON)."""
    _stop_spark()  # a local session of test_engine.py may still run in this process
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    con = run.connect(
        spark_cluster["url"],
        **{
            "spark.driver.host": HOST,
            "spark.driver.bindAddress": HOST,
            "spark.executor.memory": "512m",
            "spark.cores.max": "1",
            "spark.sql.shuffle.partitions": "2",
            "memory_limit": "6GB",  # a DuckDB setting: ignored on Spark
        },
    )
    try:
        yield con
    finally:
        con.disconnect()
        if saved is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = saved


def test_kpis_on_a_spark_standalone_cluster(cluster_con, spark_cluster, tmp_path):
    """One test, so that one cluster serves it all: pytest-xdist 3.8 under pytest 9 does not
    apply ``xdist_group`` (it renames ``item._nodeid``, which pytest 9 no longer reads), and a
    module split over two workers would start a second cluster."""
    _session_runs_on_the_cluster(cluster_con, spark_cluster)
    _positions_on_the_cluster_equal_duckdb(cluster_con)
    _engine_url_in_the_params_runs_on_the_cluster(cluster_con, spark_cluster, tmp_path / "hand")


def _session_runs_on_the_cluster(cluster_con, spark_cluster):
    """The session's master is the cluster's URL, the master lists it as a running application
    with the worker's core, and the executor (not the driver) runs this Python interpreter."""
    sc = cluster_con._session.sparkContext
    assert sc.master == spark_cluster["url"]
    assert cluster_con._session.conf.get("spark.sql.session.timeZone") == "UTC"
    apps = _state(spark_cluster["ui_port"])["activeapps"]
    assert [(a["name"], a["cores"]) for a in apps] == [("arinsight", 1)]
    seen = sc.parallelize([0], 1).map(lambda _: (sys.executable, os.getpid())).collect()
    assert seen[0][0] == sys.executable and seen[0][1] != os.getpid()
    assert sc._jsc.sc().getExecutorMemoryStatus().size() == 2  # the driver and one executor


def _positions_on_the_cluster_equal_duckdb(cluster_con):
    """The tables a run keeps (arinsight.engine.period): the position of every invoice of a
    generated ledger (3000 invoices, every region) at T = 2025-12-17, the unapplied cash per
    customer and the cash received per region and month, computed by the cluster's executor,
    equal DuckDB's cell by cell (money to the cent, paid dates, statuses, aging buckets)."""
    from arinsight.engine.period import frames_at
    from arinsight.sample import generate

    tables = {k: v for k, v in generate(n_invoices=3000, seed=7).items() if k in sources.TABLES}
    on_cluster = frames_at(tables, "2025-12-17", con=cluster_con)
    duckdb = frames_at(tables, "2025-12-17")
    for name, frame in duckdb.items():
        pd.testing.assert_frame_equal(on_cluster[name], frame, check_dtype=False)
    positions = on_cluster["positions"]
    assert len(positions) > 1500 and (positions["open_amount"] > 0).any()
    assert positions["paid_date"].notna().any()


def _engine_url_in_the_params_runs_on_the_cluster(cluster_con, spark_cluster, tmp_path):
    """``engine: spark://...`` in the params (the path of ``arinsight kpis``): the hand-made
    ledger of test_engine.py with its three commissions, as parquet tables of the session's
    catalog (what a metastore gives a real cluster), is analysed in place by the executor; every
    KPI of All and every region equals DuckDB's over the same files and the hand-computed
    values. Last: the run stops the session when it ends."""
    folder = _processed(tmp_path / "processed", _with_commissions(ledger_with_regions()))
    for name in sources.TABLES:  # the ledger has no adjustments: no such table in the catalog
        if (folder / f"{name}.parquet").exists():
            cluster_con.raw_sql(
                f"CREATE TABLE {name} USING parquet LOCATION '{folder / f'{name}.parquet'}'"
            )
    params = {"engine": spark_cluster["url"], "engine_settings": {"memory_limit": "6GB"}}
    k = duck.kpis_from_processed(tmp_path / "absent", "2026-10", params)
    assert k == duck.kpis_from_processed(folder, "2026-10")
    assert list(k) == ["All", "North", "South"]
    a, n, s = k["All"], k["North"], k["South"]
    assert (a["credit_sales"], a["open_ar"], a["overdue_ar"], a["collections"]) == (
        D("2900.00"), D("1600.00"), D("800.00"), D("2950.00")
    )  # fmt: skip
    assert a["dso"] == pytest.approx(17.1034, abs=1e-4)
    assert a["paid_to_billed_rate"] == pytest.approx(68.6275, abs=1e-4)
    assert [(c["customer_id"], c["pending"]) for c in a["top_pending_customers"]] == [
        ("B", D("800.00")), ("C", D("400.00")), ("A", D("300.00")), ("D", D("100.00")),
    ]  # fmt: skip
    assert (n["open_ar"], s["open_ar"], s["credit_balances"]) == (
        D("1100.00"), D("400.00"), D("50.00")
    )  # fmt: skip
    _check_commissions(k)
