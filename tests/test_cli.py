"""The command line: user errors are one line on stderr with exit status 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "arinsight", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["run", "--period", "2026-13"],
            "arinsight run: error: period '2026-13': month must be 01-12",
        ),
        (["run"], "arinsight run: error: give --period YYYY-MM"),
        (
            ["run", "--period", "2026-10", "--params", "/nonexistent.yaml"],
            "parameter file not found",
        ),
        (["site", "--renderer", "quarto"], None),  # depends on whether quarto is installed
    ],
)
def test_user_errors_exit_2_with_one_line(args, message):
    out = _cli(*args)
    if message is None:  # quarto present: no error to check here
        if out.returncode == 0:
            return
        message = "quarto is not on PATH"
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert message in out.stderr


def test_unknown_parameter_is_refused_before_any_notebook_runs(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("no_such_key: 1\n")
    out = _cli("run", "--period", "2026-10", "--params", str(params))
    assert out.returncode == 2
    assert "unknown parameter(s) 'no_such_key'" in out.stderr


def test_sample_command_writes_the_three_source_kinds(tmp_path):
    out = _cli("sample", "--invoices", "800", "--seed", "3", "--out", str(tmp_path / "s"))
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert names == [
        "customers.xlsx",
        "invoices.csv",
        "ledger.sqlite",
        "manifest.json",
        "sources.yaml",
    ]
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["n_invoices"] == 800
