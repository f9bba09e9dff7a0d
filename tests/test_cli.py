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
            "arinsight run: error: argument --period: period '2026-13': month must be 01-12",
        ),
        (["run"], "arinsight run: error: give --period YYYY-MM"),
        (["alerts", "--period", "2024-13"], "arinsight alerts: error: argument --period: period"),
        (
            ["alerts", "--period", "2024-1"],
            "arinsight alerts: error: argument --period: period '2024-1': expected YYYY-MM",
        ),
        (["email-report", "--period", "../../etc"], "arinsight email-report: error: argument"),
        (["email-report", "--period", "2024-13", "--dry-run"], "month must be 01-12"),
        (["monthly", "--period", "2026-Q3"], "expected a month YYYY-MM"),
        (["run", "--period", "2026-10", "--as-of", "2026-10-32"], "expected a date YYYY-MM-DD"),
        (["run", "--period", "2026-10", "--jobs", "0"], "argument --jobs: '0': expected 1 or more"),
        (["sample", "--invoices", "many"], "argument --invoices: 'many': expected a whole number"),
        (["run", "--period", "2026-10", "--bogus"], "unrecognized arguments: --bogus"),
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
        "adjustments.csv",
        "customers.xlsx",
        "disputes.csv",
        "invoices.csv",
        "ledger.sqlite",
        "manifest.json",
        "promises.csv",
        "sources.yaml",
    ]
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["n_invoices"] == 800


def test_help_says_what_each_command_does_with_an_example():
    """The top-level help describes arinsight for a finance user (not the argparse module) and
    every command's help has a one-line purpose and an example."""
    top = _cli("--help")
    assert top.returncode == 0
    assert "Accounts-receivable analysis you can trace" in top.stdout
    assert "argparse" not in top.stdout
    for command in (
        "sample",
        "map",
        "check",
        "run",
        "site",
        "match",
        "alerts",
        "email-report",
        "monthly",
    ):
        out = _cli(command, "--help")
        assert out.returncode == 0, command
        assert "example:\n  arinsight " + command in out.stdout, command
    alerts = _cli("alerts", "--help").stdout
    assert "--dry-run" in alerts and "write the e-mails as .eml files" in alerts


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory):
    from arinsight.sample import write_sample

    folder = tmp_path_factory.mktemp("sample")
    write_sample(folder, n_invoices=400, seed=5)
    params = folder / "params.yaml"
    params.write_text(
        f"sources: {folder / 'sources.yaml'}\nrun_date: 2026-11-05\n"
        f"reports_dir: {folder / 'reports'}\nprocessed_dir: {folder / 'processed'}\n"
        f"interim_dir: {folder / 'interim'}\n"
    )
    return folder, params


def test_a_misspelt_region_is_refused_before_any_work(small_sample):
    """--regions Nort: one line naming the regions in the data, before ingest, clean or any
    notebook (nothing is written under reports/ or processed/)."""
    folder, params = small_sample
    out = _cli("run", "--period", "2026-10", "--regions", "Nort", "--params", str(params))
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "arinsight run: error: region(s) Nort not in the data "
        "(regions in the data: East, North, South, West)"
    )
    assert not (folder / "processed").exists()
    assert not any((folder / "reports").glob("2026-10*")) if (folder / "reports").exists() else True


def test_a_period_in_the_future_is_refused_before_any_work(small_sample):
    folder, params = small_sample
    out = _cli("run", "--period", "2031-01", "--params", str(params))
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "arinsight run: error: period 2031-01 starts after the run date 2026-11-05: nothing to "
        "report yet (set run_date in the params file to report as of another day)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("as_of: 2026-10-20 12:30\n", "as_of: '2026-10-20 12:30' has a time of day"),
        ("as_of: 2026-10-20T09:00:00Z\n", "has a time of day"),
        ("as_of: 2026-11-31\n", "as_of: '2026-11-31' is not a date (YYYY-MM-DD)"),
        ("fx_rates: {EUR: '1,08'}\n", "fx_rates.EUR: '1,08' is not a number"),
        ("fx_rates: {EUR: 0}\n", "fx_rates.EUR: 0 must be a positive number"),
        ("reporting_currency: dollars\n", "reporting_currency: 'dollars' is not a currency code"),
    ],
)
def test_a_params_file_value_is_checked_before_anything_runs(tmp_path, text, message):
    """A params file's as_of with a time (was a TypeError deep in the engine), an impossible
    day, an fx rate written as text (was InvalidOperation) or 0 (was "a kept row breaks the
    clean schema"), a currency that is not a code: one line naming the file, exit status 2."""
    params = tmp_path / "p.yaml"
    params.write_text(text)
    out = _cli("kpis", "--period", "2026-10", "--params", str(params), "--processed", str(tmp_path))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1
    assert f"arinsight kpis: error: {params}: " in out.stderr and message in out.stderr


def test_params_values_are_normalised():
    """A currency code in lower case is the code (usd -> USD, fx keys too); a YAML timestamp at
    midnight is its day."""
    import datetime as dt

    from arinsight import config

    assert config.check_values(
        {
            "reporting_currency": "usd",
            "fx_rates": {"eur": 1.08},
            "as_of": dt.datetime(2026, 10, 20),
        },
        "p.yaml",
    ) == {"reporting_currency": "USD", "fx_rates": {"EUR": 1.08}, "as_of": "2026-10-20"}


def test_an_io_error_is_one_line(tmp_path, monkeypatch, capsys):
    """A full disk while writing (ENOSPC) ends in one line naming the file, exit status 2."""
    import errno
    from pathlib import Path

    from arinsight import cli

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    monkeypatch.setattr(
        "arinsight.engine.duck.kpis_from_processed", lambda *a, **k: {"All": {"period": "2026-10"}}
    )
    code = cli.main(["kpis", "--period", "2026-10", "--processed", str(tmp_path), "--out",
                     str(tmp_path / "k.json")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"arinsight kpis: error: No space left on device: {tmp_path / 'k.json'}\n"


# ------------------------------------------------------------------------------------------------
# every argument of every subcommand, given random text: exit 0 or 2, never a traceback
# ------------------------------------------------------------------------------------------------

#: (command, the other arguments it needs, the option under test). Each option once.
ARGUMENTS = [
    ("sample", [], "--invoices"),
    ("sample", [], "--seed"),
    ("sample", [], "--out"),
    ("map", ["a.csv"], "--out"),
    ("map", ["a.csv"], "--table"),
    ("map", ["--out=x.yaml"], "files"),
    ("check", [], "--params"),
    ("check", [], "--json"),
    ("run", [], "--period"),
    ("run", ["--period=2026-10"], "--as-of"),
    ("run", [], "--from"),
    ("run", [], "--to"),
    ("run", ["--period=2026-10"], "--regions"),
    ("run", ["--period=2026-10"], "--params"),
    ("run", ["--period=2026-10"], "--jobs"),
    ("kpis", [], "--period"),
    ("kpis", ["--period=2026-10"], "--as-of"),
    ("kpis", ["--period=2026-10"], "--regions"),
    ("kpis", ["--period=2026-10"], "--params"),
    ("kpis", ["--period=2026-10"], "--processed"),
    ("kpis", ["--period=2026-10", "--processed=PROCESSED"], "--out"),
    ("site", [], "--output-dir"),
    ("site", [], "--renderer"),
    ("match", [], "--statement"),
    ("match", ["--statement=s.csv"], "--params"),
    ("match", ["--statement=s.csv"], "--as-of"),
    ("match", ["--statement=s.csv"], "--out"),
    ("match", ["--statement=s.csv"], "--processed"),
    ("match", ["--statement=s.csv"], "--decisions"),
    ("alerts", [], "--period"),
    ("alerts", ["--period=2026-10"], "--params"),
    ("email-report", [], "--period"),
    ("email-report", ["--period=2026-10"], "--params"),
    ("monthly", [], "--period"),
    ("monthly", [], "--regions"),
    ("monthly", [], "--jobs"),
    ("monthly", [], "--params"),
]


def _values():
    from hypothesis import strategies as st

    control = st.characters(min_codepoint=0, max_codepoint=0x9F)
    return st.one_of(
        st.text(max_size=30),  # any unicode, control characters included
        st.text(alphabet=control, max_size=12),
        st.text(alphabet="0123456789-Q/.:T ", max_size=14),  # near misses of periods and dates
        st.integers(min_value=100, max_value=6000).map(lambda n: "9" * n),  # huge numbers
        st.integers(min_value=256, max_value=5000).map(lambda n: "x" * n),  # too long a name
        st.lists(
            st.sampled_from(["..", ".", "~", "a", "\x00", "ü", " ", "-", "\n", "C:", "\\"]),
            max_size=8,
        ).map("/".join),  # path-like text
        st.sampled_from(
            ["", "-", "--", "-1", "0", "all", "ALL", ",", "North,,", "2026-13", "2026-Q0", "١٢"]
        ),
    )


@pytest.fixture
def stubbed_commands(monkeypatch, tmp_path):
    """Every command's work replaced by nothing once its arguments parsed (kpis keeps its own
    up-front checks, which read only); the working folder is a temporary one."""
    from arinsight import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "PROCESSED").mkdir()
    for name in (
        "sample",
        "map",
        "check",
        "run",
        "site",
        "alerts",
        "email_report",
        "monthly",
        "match",
    ):
        monkeypatch.setattr(cli, f"_cmd_{name}", lambda args: 0)
    monkeypatch.setattr(cli, "_cmd_kpis", lambda args: cli.kpis_args(args) and 0)
    return cli


@pytest.mark.parametrize("command, needed, option", ARGUMENTS)
def test_random_text_in_any_argument_never_gives_a_traceback(
    stubbed_commands, capsys, command, needed, option
):
    """30 random values per argument (control characters, 5000-character text, unicode digits,
    path-like text): `arinsight.cli.main` ends with 0 or 2, and a 2 is one line on stderr that
    starts with `arinsight` (control characters shown escaped); no exception escapes."""
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(value=_values())
    def check(value):
        capsys.readouterr()
        try:
            arg = f"{option}={value}" if option.startswith("-") else value  # a positional
            code = stubbed_commands.main([command, *needed, arg])
        except SystemExit as exc:  # argparse: a bad value, or --help
            code = exc.code
        err = capsys.readouterr().err
        assert code in (0, 2), (value, code, err)
        assert "Traceback" not in err
        if code == 2:
            assert err.startswith("arinsight") and err.endswith("\n"), (value, err)
            assert "\n" not in err[:-1] and "\r" not in err and "\x00" not in err, (value, err)

    check()


def test_a_random_command_name_is_one_line(stubbed_commands, capsys):
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(value=_values())
    def check(value):
        capsys.readouterr()
        try:
            code = stubbed_commands.main([value])
        except SystemExit as exc:
            code = exc.code
        err = capsys.readouterr().err
        assert code in (0, 2) and "Traceback" not in err
        assert "\n" not in err.rstrip("\n") and "\x00" not in err, (value, err)

    check()


def test_a_full_disk_during_a_run_is_one_line(monkeypatch, capsys):
    """`arinsight run` on a disk that fills up mid-run (ENOSPC from deep inside the runner): one
    line naming the file, exit status 2, no traceback. (The runner writes to a staging folder and
    swaps it in only at the end, so the published report stays as it was; a later run removes the
    staging folder.)"""
    import errno

    from arinsight import cli

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "reports/.staging-2026-10-0a1b2c3d")

    monkeypatch.setattr("arinsight.runs.run_period", full)
    code = cli.main(["run", "--period", "2026-10"])
    assert code == 2
    assert capsys.readouterr().err == (
        "arinsight run: error: No space left on device: reports/.staging-2026-10-0a1b2c3d\n"
    )
