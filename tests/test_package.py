"""The package's public surface: every exported name resolves, and importing stays light."""

from __future__ import annotations

import subprocess
import sys

import arinsight


def test_every_public_name_resolves():
    for name in arinsight.__all__:
        assert getattr(arinsight, name) is not None, name
    assert arinsight.period_bounds("2026-10").days == 31


def test_unknown_name_is_an_attribute_error():
    try:
        arinsight.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_does_not_load_heavy_libraries():
    """`import arinsight` (and so the CLI's start) must not import scikit-learn or matplotlib."""
    code = "import sys, arinsight; print(sorted(m for m in ('sklearn', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_version_and_help():
    out = subprocess.run(
        [sys.executable, "-m", "arinsight", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"arinsight {arinsight.__version__}"
    helptext = subprocess.run(
        [sys.executable, "-m", "arinsight", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("sample", "run", "site", "alerts", "email-report"):
        assert command in helptext
