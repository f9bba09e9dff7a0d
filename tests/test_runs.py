"""Tests of arinsight.runs: parameter checks, kpis.json assembly, provenance, and real papermill runs.

The papermill tests use tiny fake notebooks written into tmp_path (same names and parameter
contract as the real ones, no data work), so they test the runner and not the analysis; one
end-to-end test runs the real notebooks on a small generated sample.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from arinsight import config, runs
from arinsight.errors import ParamsError, UserError
from arinsight.files import sha256_file, write_json
from arinsight.runs.base import Settings
from arinsight.runs.execute import execute_notebook
from arinsight.runs.params import dataset_settings
from arinsight.runs.period import Task
from arinsight.runs.provenance import rates_file_entry, reusable_clean
from arinsight.runs.publish import run_entry
from arinsight.runs.staging import period_lock

PERIOD = "2026-10"


# --------------------------------------------------------------------------------------------
# fake notebooks
# --------------------------------------------------------------------------------------------

_HEAD = (
    "import json, pathlib\nout = pathlib.Path(output_dir)\nout.mkdir(parents=True, exist_ok=True)\n"
)

_FAKES: dict[str, tuple[str, str]] = {
    "01_ingest.ipynb": (
        'period = "2026-10"\nsources = "data/sample/sources.yaml"\ninterim_dir = ""\n'
        'output_dir = ""',
        _HEAD + "import hashlib\n"
        "src = pathlib.Path(sources)\n"
        "interim = pathlib.Path(interim_dir)\ninterim.mkdir(parents=True, exist_ok=True)\n"
        "data = src.parent / 'invoices.csv'\n"
        "files = [{'path': str(data), 'sha256': hashlib.sha256(data.read_bytes()).hexdigest(),\n"
        "          'table': 'invoices', 'rows': 2}]\n"
        "(interim / 'ingest_manifest.json').write_text(json.dumps({'files': files}))\n"
        "print('ingested', period)",
    ),
    "02_clean.ipynb": (
        'period = "2026-10"\nrun_date = None\ninterim_dir = ""\nprocessed_dir = ""\n'
        'output_dir = ""\ncustomer_regions = ["North", "South"]',
        _HEAD + "import pandas as pd\n"
        "proc = pathlib.Path(processed_dir)\nproc.mkdir(parents=True, exist_ok=True)\n"
        "pd.DataFrame({'customer_id': [f'C{i}' for i in range(len(customer_regions))],\n"
        "              'region': customer_regions}).to_parquet(proc / 'customers.parquet')\n"
        "(proc / 'data_quality.json').write_text(json.dumps({'rows_read': 2}))",
    ),
    "03_receivables.ipynb": (
        'period = "2026-10"\nregion = "All"\nprocessed_dir = ""\noutput_dir = ""\n'
        'late_days = 30\nrun_tag = "a"\nfail_pages = False',
        _HEAD
        + "if fail_pages:\n    raise RuntimeError('page failed')\n"
        + "part = {'period': period, 'as_of': period + '-31', 'open_ar': 100.0 * len(region),\n"
        "        'dso': None, 'run_tag': run_tag,\n"
        "        'comparison': {'open_ar': {'previous': 90.0, 'change': 10.0}}}\n"
        "(out / 'kpis_receivables.json').write_text(json.dumps(part))",
    ),
    "04_commissions.ipynb": (
        'period = "2026-10"\nregion = "All"\nprocessed_dir = ""\noutput_dir = ""\n'
        "fail_pages = False",
        _HEAD + "if fail_pages:\n    raise RuntimeError('page failed')\n"
        "(out / 'kpis_commissions.json').write_text(json.dumps(\n"
        "    {'total_accrued_commissions': 12.5, 'average_commission_rate': None}))",
    ),
    "05_risk_scoring.ipynb": (
        'period = "2026-10"\nregion = "All"\nprocessed_dir = ""\noutput_dir = ""\n'
        'late_days = 30\nfail_in = ""\nfail_pages = False',
        _HEAD + "if region == fail_in or fail_pages:\n"
        "    raise RuntimeError('model failed for ' + region)\n"
        "(out / 'kpis_risk.json').write_text(json.dumps({'high_risk_customers': ['C_333']}))\n"
        "(out / 'risk_metrics.json').write_text(json.dumps({'late_days': late_days}))",
    ),
    "06_cash_forecast.ipynb": (
        'period = "2026-10"\nregion = "All"\nprocessed_dir = ""\noutput_dir = ""\n'
        "fail_pages = False",
        _HEAD + "if fail_pages:\n    raise RuntimeError('page failed')\n"
        "(out / 'kpis_forecast.json').write_text(json.dumps(\n"
        "    {'cash_forecast': {'2026-11-01': {'expected': 5.0, 'low': 4.0, 'high': 6.0}}}))",
    ),
    "07_provision.ipynb": (
        'period = "2026-10"\nregion = "All"\nprocessed_dir = ""\noutput_dir = ""\n'
        "fail_pages = False",
        _HEAD + "if fail_pages:\n    raise RuntimeError('page failed')\n"
        "(out / 'kpis_provision.json').write_text(json.dumps(\n"
        "    {'ecl_allowance': 7.5, 'write_offs': 1.25}))",
    ),
    "08_disputes.ipynb": (
        'period = "2026-10"\nregion = "All"\nprocessed_dir = ""\noutput_dir = ""\n'
        "fail_pages = False",
        _HEAD + "if fail_pages:\n    raise RuntimeError('page failed')\n"
        "(out / 'kpis_disputes.json').write_text(json.dumps({'disputed_ar': 3.5}))",
    ),
}


def _write_fake_notebooks(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (params_src, body) in _FAKES.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "arinsight",
            "display_name": "Python (arinsight)",
            "language": "python",
        }
        cell = nbformat.v4.new_code_cell(params_src)
        cell.metadata["tags"] = ["parameters"]
        nb.cells = [
            nbformat.v4.new_markdown_cell(f"# {name}"),
            cell,
            nbformat.v4.new_code_cell(body),
        ]
        nbformat.write(nb, folder / name)
    return folder


@pytest.fixture
def project(tmp_path: Path) -> dict:
    """Fake notebooks, a tiny defaults file, a source file and the folders a run writes to."""
    nbs = _write_fake_notebooks(tmp_path / "notebooks")
    data = tmp_path / "raw"
    data.mkdir()
    (data / "invoices.csv").write_text("invoice_id,amount\nI1,10\nI2,20\n", encoding="utf-8")
    (data / "sources.yaml").write_text("sources: {}\n", encoding="utf-8")
    defaults = tmp_path / "defaults.yaml"
    defaults.write_text(
        yaml.safe_dump({"sources": str(data / "sources.yaml"), "late_days": 30, "regions": None}),
        encoding="utf-8",
    )
    return {
        "notebooks_dir": nbs,
        "defaults_file": defaults,
        "reports_dir": tmp_path / "reports",
        "params": {
            "interim_dir": str(tmp_path / "interim"),
            "processed_dir": str(tmp_path / "processed"),
        },
        "data": data,
    }


def _run(project: dict, *, params: dict | None = None, **kwargs) -> int:
    merged = {**project["params"], **(params or {})}
    return runs.run_period(
        params=merged,
        notebooks_dir=project["notebooks_dir"],
        defaults_file=project["defaults_file"],
        reports_dir=project["reports_dir"],
        jobs=2,
        progress=False,
        **kwargs,
    )


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------

DECLARED = {
    "01_ingest.ipynb": {"period": "2026-10", "sources": "x.yaml", "output_dir": ""},
    "03_receivables.ipynb": {"period": "2026-10", "region": "All", "late_days": 30, "top_n": 10},
}


def test_validate_params_splits_by_notebook():
    """Each notebook gets only what it declares: 01 gets sources; 03 gets late_days and top_n;
    `regions` belongs to the runner (RUNNER_KEYS), so it is no error but goes to no notebook."""
    per_nb = runs.validate_params(
        {"sources": "s.yaml", "late_days": 45, "top_n": 5, "regions": None}, DECLARED
    )
    assert per_nb == {
        "01_ingest.ipynb": {"sources": "s.yaml"},
        "03_receivables.ipynb": {"late_days": 45, "top_n": 5},
    }


def test_validate_params_rejects_unknown_and_wrong_kinds():
    """'late_dayz' is declared by no notebook; late_days='thirty' is text where 30 (a number) is
    declared; 'period' is set by the runner. All three are reported in one error."""
    with pytest.raises(ParamsError) as err:
        runs.validate_params({"late_dayz": 1, "late_days": "thirty", "period": "x"}, DECLARED)
    text = str(err.value)
    assert "'late_dayz'" in text and "'late_days' must be a number" in text
    assert "'period' is set by the runner" in text


def test_validate_params_accepts_none_and_rejects_non_mapping():
    """None fits any declared kind (a null in YAML means 'use the default behaviour')."""
    assert runs.validate_params({"late_days": None}, DECLARED)["03_receivables.ipynb"] == {
        "late_days": None
    }
    with pytest.raises(ParamsError):
        runs.validate_params(["late_days"], DECLARED)  # type: ignore[arg-type]


def test_notebook_parameters_reads_literals(tmp_path):
    """The fake 03 declares period "2026-10", region "All", ..., late_days 30, run_tag "a",
    fail_pages False."""
    nbs = _write_fake_notebooks(tmp_path)
    declared = runs.notebook_parameters(nbs / "03_receivables.ipynb")
    assert declared == {
        "period": "2026-10",
        "region": "All",
        "processed_dir": "",
        "output_dir": "",
        "late_days": 30,
        "run_tag": "a",
        "fail_pages": False,
    }
    with pytest.raises(UserError):
        runs.notebook_parameters(tmp_path / "nope.ipynb")


def test_period_range_and_errors():
    """2025-11 .. 2026-02 crosses a year end: Nov, Dec, Jan, Feb = 4 months."""
    assert runs.period_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert runs.period_range("2026-10", "2026-10") == ["2026-10"]
    with pytest.raises(ParamsError):
        runs.period_range("2026-10", "2026-09")
    with pytest.raises(ParamsError):
        runs.period_range("2026-Q1", "2026-Q2")


def test_region_dir_never_shares_a_folder():
    """A plain name is its own folder; any other name gets a readable slug plus the first 8 hex
    digits of the sha256 of the name, so "Asia/Pacific" and "Asia Pacific" (both slug
    "Asia_Pacific") and the plain "Asia_Pacific" get three different folders; "../.." cannot
    climb out of reports/."""
    import hashlib

    def h(name: str) -> str:
        return hashlib.sha256(name.encode()).hexdigest()[:8]

    assert runs.region_dir("North") == "North"
    assert runs.region_dir("Asia/Pacific") == f"Asia_Pacific-{h('Asia/Pacific')}"
    assert runs.region_dir("Asia Pacific") == f"Asia_Pacific-{h('Asia Pacific')}"
    assert runs.region_dir("Asia_Pacific") == "Asia_Pacific"
    assert runs.region_dir("../..") == f"region-{h('../..')}"
    assert len({runs.region_dir(n) for n in ("Asia/Pacific", "Asia Pacific", "Asia_Pacific")}) == 3


# --------------------------------------------------------------------------------------------
# kpis.json
# --------------------------------------------------------------------------------------------


def test_assemble_kpis_merges_parts():
    """receivables gives open_ar 500 and dso None plus an extra (run_tag) and a comparison;
    commissions gives total_accrued_commissions 12.5 and a NaN rate (-> None); the risk part is
    missing, so high_risk_customers stays None. period/region come from the run, not the parts."""
    kpis = runs.assemble_kpis(
        {
            "kpis_receivables.json": {
                "period": "wrong",
                "open_ar": 500.0,
                "dso": None,
                "run_tag": "x",
                "comparison": {"open_ar": {"previous": 400.0, "change": 100.0}},
            },
            "kpis_commissions.json": {
                "total_accrued_commissions": 12.5,
                "average_commission_rate": float("nan"),
            },
            "kpis_risk.json": None,
        },
        "2026-10",
        "North",
    )
    assert set(runs.KPI_KEYS) <= set(kpis)
    assert kpis["period"] == "2026-10" and kpis["region"] == "North"
    assert kpis["open_ar"] == 500.0 and kpis["dso"] is None
    assert kpis["total_accrued_commissions"] == 12.5
    assert kpis["average_commission_rate"] is None
    assert kpis["high_risk_customers"] is None
    assert kpis["run_tag"] == "x"
    assert kpis["comparison"] == {"open_ar": {"previous": 400.0, "change": 100.0}}
    json.dumps(kpis, allow_nan=False)  # strictly valid JSON


def test_assemble_kpis_conflict_is_an_error():
    """Two notebooks reporting different open AR for the same region is a bug, not a merge."""
    with pytest.raises(ValueError, match="open_ar"):
        runs.assemble_kpis(
            {"kpis_receivables.json": {"open_ar": 1.0}, "kpis_risk.json": {"open_ar": 2.0}},
            PERIOD,
            "All",
        )


def test_provenance_markdown_escapes_values():
    """A parameter value with HTML and maths characters is shown as text, never as markup."""
    text = runs.provenance_markdown(
        {
            "period": PERIOD,
            "region": "<img src=x onerror=alert(1)>",
            "params": {"note": "$5 *bold* <b>"},
            "inputs": [{"path": "a.csv", "sha256": "ab" * 32}],
        }
    )
    assert "<img" not in text and "&lt;img src=x onerror=alert&#40;1&#41;&gt;" in text
    assert "<b>" not in text and "&#36;5 &#42;bold&#42;" in text
    assert "ab" * 32 in text


# --------------------------------------------------------------------------------------------
# errors before any notebook runs
# --------------------------------------------------------------------------------------------


def test_run_period_argument_errors(project):
    with pytest.raises(ParamsError, match="either --period or --from"):
        _run(project, period=PERIOD, from_period=PERIOD, to_period=PERIOD)
    with pytest.raises(ParamsError, match="needs both"):
        _run(project, from_period=PERIOD)
    with pytest.raises(ParamsError, match="--period"):
        _run(project)
    with pytest.raises(ParamsError, match="unknown parameter"):
        _run(project, period=PERIOD, params={"colour": "blue"})
    (project["notebooks_dir"] / "04_commissions.ipynb").unlink()
    with pytest.raises(UserError, match="04_commissions"):
        _run(project, period=PERIOD)
    assert not project["reports_dir"].exists() or not any(project["reports_dir"].glob("2*"))


def test_reusable_clean_detects_changed_inputs(project, tmp_path):
    """The stamp matches while invoices.csv is unchanged; one changed byte means clean again."""
    settings = Settings(
        reports_dir=tmp_path / "reports",
        notebooks_dir=project["notebooks_dir"],
        processed_dir=tmp_path / "processed",
        interim_dir=tmp_path / "interim",
        kernel_name="arinsight",
        cell_timeout=60,
        start_timeout=60,
        jobs=1,
        progress=False,
    )
    settings.processed_dir.mkdir()
    (settings.processed_dir / "data_quality.json").write_text("{}")
    data = project["data"] / "invoices.csv"
    fingerprint = {"params": {"run_date": None}, "code_version": "1"}
    write_json(
        settings.processed_dir / "_clean_stamp.json",
        {
            "period": "2026-09",
            "fingerprint": fingerprint,
            "inputs": [{"path": str(data), "sha256": sha256_file(data)}],
        },
    )
    assert reusable_clean(settings, fingerprint)["period"] == "2026-09"
    assert reusable_clean(settings, {**fingerprint, "code_version": "2"}) is None
    data.write_text(data.read_text() + "I3,30\n")
    assert reusable_clean(settings, fingerprint) is None


def test_a_rates_file_named_in_the_parameters_is_an_input(tmp_path):
    """``fx_rates: rates.csv`` in the parameters: the file is recorded with its sha256 like an
    export (table fx_rates), so a clean stamp holding it is stale once one rate changes; with a
    sources file that sets rates of its own, the file's EUR 1.10 on 2026-10-01 and the sources
    file's CAD 0.73 are both kept (the sources file's win where both set one)."""
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,date,rate\nEUR,2026-10-01,1.10\n", encoding="utf-8")
    entry = rates_file_entry({"fx_rates": str(rates)})
    assert entry == {"path": entry["path"], "sha256": sha256_file(rates), "table": "fx_rates"}
    assert rates_file_entry({"fx_rates": {"EUR": 1.1}}) is None
    assert rates_file_entry({"fx_rates": str(tmp_path / "none.csv")}) is None
    settings = Settings(
        reports_dir=tmp_path / "reports", notebooks_dir=tmp_path, processed_dir=tmp_path / "p",
        interim_dir=tmp_path / "i", kernel_name="arinsight", cell_timeout=60, start_timeout=60,
        jobs=1, progress=False,
    )  # fmt: skip
    settings.processed_dir.mkdir()
    (settings.processed_dir / "data_quality.json").write_text("{}")
    fingerprint = {"params": {"fx_rates": str(rates)}, "code_version": "1"}
    write_json(
        settings.processed_dir / "_clean_stamp.json",
        {
            "period": "2026-09",
            "fingerprint": fingerprint,
            "inputs": [{**entry, "path": str(rates)}],
        },
    )
    assert reusable_clean(settings, fingerprint)["period"] == "2026-09"
    rates.write_text("currency,date,rate\nEUR,2026-10-01,1.11\n", encoding="utf-8")
    assert reusable_clean(settings, fingerprint) is None
    sources = tmp_path / "sources.yaml"
    sources.write_text("fx_rates: {CAD: 0.73}\nsources: {}\n", encoding="utf-8")
    merged = dataset_settings({"sources": str(sources), "fx_rates": str(rates)})
    assert merged["fx_rates"] == {"EUR": {"2026-10-01": 1.11}, "CAD": 0.73}


# --------------------------------------------------------------------------------------------
# real papermill runs of the fake notebooks
# --------------------------------------------------------------------------------------------


def _manifest(project: dict, period: str = PERIOD) -> dict:
    return json.loads((project["reports_dir"] / period / "manifest.json").read_text())


def _kpis(project: dict, region: str, period: str = PERIOD) -> dict:
    return json.loads((project["reports_dir"] / period / region / "kpis.json").read_text())


@pytest.mark.slow
def test_run_period_then_failed_page_keeps_its_previous_version(project):
    """Run 1 (run_tag "first") succeeds for All, North, South: 2 + 3 x 6 = 20 notebooks.
    Run 2 (run_tag "second", --regions South, so 2 + 2 x 6 = 14 notebooks) fails 05_risk_scoring
    in South: exit 1; All is replaced (run_tag "second"), North is carried over untouched; in
    South the receivables, commission and cash forecast pages are the new ones (run_tag
    "second") while the failed risk page keeps run 1's version (its notebook and outputs, byte
    for byte), and the failed notebook with its error is kept under _failed/South/."""
    assert _run(project, period=PERIOD, params={"run_tag": "first"}) == 0
    reports = project["reports_dir"] / PERIOD
    m1 = _manifest(project)
    assert m1["status"] == "ok" and m1["regions"] == ["All", "North", "South"]
    assert len(m1["runs"]) == 20 and {r["status"] for r in m1["runs"]} == {"ok"}
    assert all(r["seconds"] is not None and r["seconds"] > 0 for r in m1["runs"])
    assert m1["params"]["run_tag"] == "first" and m1["kernel"] == "arinsight"
    assert m1["inputs"][0]["table"] == "sources"
    assert m1["inputs"][1]["sha256"] == sha256_file(project["data"] / "invoices.csv")
    assert m1["packages"]["papermill"] and m1["code_version"]
    assert m1["notebook_params"]["03_receivables.ipynb"] == [
        "fail_pages",
        "late_days",
        "output_dir",
        "period",
        "processed_dir",
        "region",
        "run_tag",
    ]
    north = _kpis(project, "North")
    assert set(runs.KPI_KEYS) <= set(north)
    # open_ar = 100 * len(region name): "North" has 5 letters
    assert north["open_ar"] == 500.0 and north["region"] == "North" and north["period"] == PERIOD
    assert north["total_accrued_commissions"] == 12.5 and north["high_risk_customers"] == ["C_333"]
    assert north["dso"] is None and north["cei"] is None
    assert (reports / "North" / "risk_metrics.json").exists()
    assert (reports / "All" / "01_ingest.ipynb").exists()
    nb = nbformat.read(reports / "North" / "03_receivables.ipynb", as_version=4)
    assert "provenance" in nb.cells[-1].metadata["tags"]
    assert "Provenance" in nb.cells[-1].source and "run&#95;tag" in nb.cells[-1].source
    assert not list(project["reports_dir"].glob(".staging-*"))

    north_before = (reports / "North" / "kpis.json").read_bytes()
    south_risk_before = (reports / "South" / "05_risk_scoring.ipynb").read_bytes()
    code = _run(
        project, period=PERIOD, regions="South", params={"run_tag": "second", "fail_in": "South"}
    )
    assert code == 1
    m2 = _manifest(project)
    assert m2["status"] == "failed"
    failed = [r for r in m2["runs"] if r["status"] == "failed"]
    assert [(r["region"], r["notebook"]) for r in failed] == [("South", "05_risk_scoring.ipynb")]
    assert "model failed for South" in failed[0]["error"]
    assert len(m2["runs"]) == 14
    assert (reports / "North" / "kpis.json").read_bytes() == north_before
    assert m2["reports"]["North"] == m1["reports"]["North"]
    assert _kpis(project, "All")["run_tag"] == "second"
    south = _kpis(project, "South")
    assert south["run_tag"] == "second" and south["high_risk_customers"] == ["C_333"]
    assert (reports / "South" / "05_risk_scoring.ipynb").read_bytes() == south_risk_before
    assert (reports / "South" / "risk_metrics.json").exists()
    pages = m2["reports"]["South"]["pages"]
    assert pages["03_receivables.ipynb"] == {"status": "ok", "published": "this run"}
    assert pages["05_risk_scoring.ipynb"]["published"] == "previous"
    assert "model failed for South" in pages["05_risk_scoring.ipynb"]["error"]
    assert m2["reports"]["South"]["status"] == "partial"
    assert m2["reports"]["All"]["published"] == "this run"
    kept = nbformat.read(reports / "_failed" / "South" / "05_risk_scoring.ipynb", as_version=4)
    errors = [
        o for c in kept.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors and errors[0]["evalue"] == "model failed for South"
    assert not (reports / "_failed" / "North").exists()


@pytest.mark.slow
def test_failed_page_without_a_previous_version_does_not_hide_the_others(project):
    """A first run whose 05_risk_scoring fails in North: exit 1, but North's receivables and
    commission pages are published (kpis.json has their numbers: open_ar = 100 x 5 letters =
    500, accrued commissions 12.5), the risk page is marked "none" with the error, and the risk
    KPI is null with the reason that its page was not produced."""
    assert _run(project, period=PERIOD, params={"fail_in": "North"}) == 1
    reports = project["reports_dir"] / PERIOD
    m = _manifest(project)
    north = m["reports"]["North"]
    assert north["published"] == "this run" and north["status"] == "partial"
    assert north["pages"]["05_risk_scoring.ipynb"]["published"] == "none"
    assert (reports / "North" / "03_receivables.ipynb").is_file()
    assert not (reports / "North" / "05_risk_scoring.ipynb").exists()
    assert (reports / "_failed" / "North" / "05_risk_scoring.ipynb").is_file()
    kpis = _kpis(project, "North")
    assert kpis["open_ar"] == 500.0 and kpis["total_accrued_commissions"] == 12.5
    assert kpis["high_risk_customers"] is None
    assert kpis["na_reasons"]["high_risk_customers"] == (
        "the page that computes it was not produced in this run"
    )
    assert m["reports"]["South"]["status"] == "ok"


@pytest.mark.slow
def test_backfill_reuses_cleaned_data(project):
    """Only "All" (no regions in the data). Backfill 2026-09..2026-10: 2026-09 runs ingest and
    clean, 2026-10 reuses them (inputs unchanged: see test_reusable_clean_detects_changed_inputs
    for the opposite) and copies their executed notebooks: 2 + 3 + 3 = 8 notebook runs."""
    params = {"customer_regions": []}
    assert _run(project, from_period="2026-09", to_period="2026-10", params=params) == 0
    sep, octo = _manifest(project, "2026-09"), _manifest(project, "2026-10")
    assert sep["clean"] == {"status": "ran"} and sep["regions"] == ["All"]
    assert octo["clean"] == {"status": "reused", "reused_from": "2026-09"}
    prep = [r for r in octo["runs"] if r["notebook"] in runs.PREP_NOTEBOOKS]
    assert {r["status"] for r in prep} == {"reused"}
    assert (project["reports_dir"] / "2026-10" / "All" / "02_clean.ipynb").exists()
    assert _kpis(project, "All", "2026-10")["period"] == "2026-10"
    assert _kpis(project, "All", "2026-09")["as_of"] == "2026-09-31"  # the fake's own text


# --------------------------------------------------------------------------------------------
# the real notebooks on the generated sample
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_notebooks_end_to_end_on_sample(tmp_path):
    """One period, region North plus All, on a 1,500-invoice sample whose customers are all named
    `<img src=x onerror=alert(1)>`: every notebook succeeds, the manifest records 2 + 2 x 6 = 14
    runs and the sample's input hashes, kpis.json has every DESIGN key with consistent numbers
    (overdue AR and current AR are parts of open AR), and the built site shows the name only
    escaped, on every page."""
    missing = [n for n in runs.NOTEBOOKS if not (config.NOTEBOOKS_DIR / n).exists()]
    sample = pytest.importorskip("arinsight.sample")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"notebooks missing: {missing}")
        pytest.skip(f"notebooks not written yet: {missing}")
    sample.write_sample(tmp_path / "sample", n_invoices=1500, seed=7)
    _hostile_customer_names(tmp_path / "sample" / "customers.xlsx")
    reports = tmp_path / "reports"
    code = runs.run_period(
        PERIOD,
        regions="North",
        jobs=2,
        params={
            "sources": str(tmp_path / "sample" / "sources.yaml"),
            "interim_dir": str(tmp_path / "interim"),
            "processed_dir": str(tmp_path / "processed"),
            "run_date": "2026-10-31",
        },
        reports_dir=reports,
        progress=False,
    )
    manifest = json.loads((reports / PERIOD / "manifest.json").read_text())
    failed = [r for r in manifest["runs"] if r["status"] != "ok"]
    assert code == 0, failed
    assert manifest["regions"] == ["All", "North"] and len(manifest["runs"]) == 14
    hashed = {Path(i["path"]).name for i in manifest["inputs"] if i.get("sha256")}
    assert "sources.yaml" in hashed and len(hashed) >= 3
    for region in ("All", "North"):
        kpis = json.loads((reports / PERIOD / region / "kpis.json").read_text())
        assert set(runs.KPI_KEYS) <= set(kpis) and kpis["region"] == region
        assert kpis["as_of"] == "2026-10-31"
        assert kpis["open_ar"] >= kpis["overdue_ar"] >= 0
        assert kpis["open_ar"] >= kpis["current_ar"] >= 0
        assert isinstance(kpis["high_risk_customers"], list)
    all_kpis = json.loads((reports / PERIOD / "All" / "kpis.json").read_text())
    north = json.loads((reports / PERIOD / "North" / "kpis.json").read_text())
    assert north["open_ar"] <= all_kpis["open_ar"]
    assert (reports / PERIOD / "All" / "invoice_explorer.parquet").exists()

    # every customer is named <img src=x onerror=alert(1)>: no page may carry it as markup
    from arinsight import site

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(config.PROJECT_ROOT / "_quarto.yml", project / "_quarto.yml")
    out = site.build_site(tmp_path / "site", "builtin", reports_dir=reports, project_dir=project)
    pages = {
        p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in out.rglob("*.html")
    }
    assert "site/2026-10/North/receivables.html" in pages and "site/explorer.html" in pages
    assert [name for name, text in pages.items() if EVIL in text] == []
    assert EVIL_ESCAPED in pages["site/2026-10/customers/index.html"]
    # the explorer's rows are a script: the name as JSON with < and > as unicode escapes
    data = "".join(p.read_text(encoding="utf-8")
                   for p in (out / "site" / PERIOD / "explorer-data").glob("*.js"))  # fmt: skip
    assert EVIL not in data and "\\u003cimg src=x onerror=alert(1)\\u003e" in data


EVIL = "<img src=x onerror=alert(1)>"
EVIL_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def _hostile_customer_names(workbook: Path) -> None:
    """Rename every customer of the sample workbook to an HTML injection attempt."""
    import openpyxl

    wb = openpyxl.load_workbook(workbook)
    ws = wb["customers"]
    header = [c.value for c in ws[1]]
    col = header.index("CustomerName") + 1
    for row in range(2, ws.max_row + 1):
        ws.cell(row=row, column=col, value=EVIL)
    wb.save(workbook)


@pytest.mark.slow
def test_processed_data_change_only_with_a_published_report(project):
    """Run 1 publishes with customers North and South (processed customers: 2 rows). Run 2
    cleans a ledger with a third customer but every page fails: exit 1, nothing of run 2 is
    published, and processed/ still holds run 1's 2 customers (the report and the data alerts
    read stay consistent); no staging folder is left. Run 3 publishes: processed has 3. The
    clone's placeholder processed/.gitkeep survives every swap.

    Every run reports North and All only (2 + 2 x 6 = 14 notebooks, not up to 26): processed/
    holds every customer whichever regions are reported, and one region is enough to see its
    pages kept or published."""
    import pandas as pd

    processed = Path(project["params"]["processed_dir"])
    processed.mkdir(parents=True, exist_ok=True)
    (processed / ".gitkeep").write_text("")
    assert _run(project, period=PERIOD, regions="North") == 0
    assert (processed / ".gitkeep").is_file()
    assert len(pd.read_parquet(processed / "customers.parquet")) == 2
    three = {"customer_regions": ["North", "South", "East"]}
    failing = {**three, "fail_pages": True}
    assert _run(project, period=PERIOD, regions="North", params=failing) == 1
    assert len(pd.read_parquet(processed / "customers.parquet")) == 2
    assert not list(processed.parent.glob(".*staging*")) and not list(
        processed.parent.glob(".*trash*")
    )
    assert _manifest(project)["reports"]["North"]["published"] == "previous"  # run 1 pages kept
    assert _run(project, period=PERIOD, regions="North", params=three) == 0
    assert len(pd.read_parquet(processed / "customers.parquet")) == 3
    assert (processed / ".gitkeep").is_file()


@pytest.mark.slow
def test_a_killed_run_leaves_nothing_the_next_run_trips_over(project):
    """A killed run left reports/.staging-2026-10-<id>, .trash-2026-10-<id>, .lock-2026-10 and a
    .processed.staging-2026-10-<id> beside processed/: the next run removes them and succeeds. A
    lock held by a live run is respected: a second run of that period is refused.

    No regions in the data (only All: 2 + 6 notebooks): what a killed run leaves behind and the
    lock are per period, not per region."""
    reports = project["reports_dir"]
    processed = Path(project["params"]["processed_dir"])
    leftovers = [
        reports / ".staging-2026-10-deadbeef",
        reports / ".trash-2026-10-deadbeef",
        processed.parent / ".processed.staging-2026-10-deadbeef",
    ]
    for folder in leftovers:
        (folder / "x").mkdir(parents=True)
    (reports / ".lock-2026-10").write_text("")
    only_all = {"customer_regions": []}
    assert _run(project, period=PERIOD, params=only_all) == 0
    assert _manifest(project)["regions"] == ["All"]
    assert [f for f in leftovers if f.exists()] == []
    assert not (reports / ".lock-2026-10").exists()
    busy = pytest.raises(UserError, match="another `arinsight run` of 2026-10 is in progress")
    with period_lock(reports, PERIOD), busy:
        _run(project, period=PERIOD, params=only_all)


@pytest.mark.slow
def test_a_notebook_run_by_hand_never_changes_what_was_published(tmp_path, monkeypatch):
    """03_receivables run with its default parameters (as in JupyterLab) in a project whose
    published processed data and report exist: it reads the published data, writes its JSON
    part to data/scratch/reports/2026-10/All/, and leaves reports/ and data/processed/ byte for
    byte as they were."""
    import papermill
    from conftest import clean_table

    home = tmp_path / "home"
    shutil.copytree(config.PARAMS_DIR, home / "params")
    published = home / "data" / "processed"
    published.mkdir(parents=True)
    clean_table(
        "invoices",
        [
            {
                "invoice_id": "I1",
                "customer_id": "C1",
                "invoice_date": "2026-10-01",
                "due_date": "2026-10-31",
                "amount": 100.0,
                "due_date_derived": False,
                "is_overpaid": False,
            }
        ],
    ).to_parquet(published / "invoices.parquet")
    clean_table("customers", [{"customer_id": "C1", "region": "North"}]).to_parquet(
        published / "customers.parquet"
    )
    (home / "reports" / "2026-10" / "All").mkdir(parents=True)
    (home / "reports" / "2026-10" / "All" / "kpis.json").write_text("{}")
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    monkeypatch.setenv("ARINSIGHT_HOME", str(home))
    papermill.execute_notebook(
        str(config.NOTEBOOKS_DIR / "03_receivables.ipynb"),
        str(tmp_path / "out.ipynb"),
        kernel_name=config.KERNEL_NAME,
        progress_bar=False,
    )
    after = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    changed = sorted(str(p.relative_to(home)) for p in after if before.get(p) != after[p])
    kept = [c for c in changed if c.startswith("data/scratch/engine/")]
    assert [c for c in changed if c not in kept] == [  # its JSON part and its KPI history
        "data/scratch/reports/2026-10/All/history_receivables.json",
        "data/scratch/reports/2026-10/All/kpis_receivables.json",
    ]
    # the engine's results it computed are kept in the scratch folder too, never beside the
    # published data
    assert {Path(c).name for c in kept} >= {"kpis.json", "positions.parquet", "stamp.json"}
    part = json.loads((home / changed[-1]).read_text())
    assert part["open_ar"] == 100.0


def _task(tmp_path: Path, **extra) -> dict:
    return {
        "input": str(config.NOTEBOOKS_DIR / "03_receivables.ipynb"),
        "output": str(tmp_path / "out.ipynb"),
        "parameters": {},
        "kernel_name": config.KERNEL_NAME,
        "cwd": str(tmp_path),
        "cell_timeout": 10,
        "start_timeout": 10,
        "retry_pause": 0,
        **extra,
    }


def test_a_kernel_that_never_starts_is_started_again_and_logged(tmp_path, monkeypatch):
    """jupyter_client's "Kernel died before replying to kernel_info" and "Kernel didn't respond
    in 10 seconds" (no cell ran) are retried: two failed starts then a good one -> the page is
    ok after 3 calls and the result lists both failed starts (attempts 1 and 2, with their
    errors) for the manifest."""
    import papermill

    errors = [
        "Kernel died before replying to kernel_info",
        "Kernel didn't respond in 10 seconds",
    ]
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) <= len(errors):
            raise RuntimeError(errors[len(calls) - 1])

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    result = execute_notebook(_task(tmp_path))
    assert result["status"] == "ok" and result["error"] is None and len(calls) == 3
    assert [(r["attempt"], r["error"]) for r in result["kernel_retries"]] == [
        (1, errors[0]),
        (2, errors[1]),
    ]
    entry = run_entry(Task("North", "03_receivables.ipynb", tmp_path / "x", {}, result))
    assert entry["status"] == "ok" and entry["kernel_retries"] == result["kernel_retries"]
    assert entry["output"] == "North/03_receivables.ipynb"


def test_a_kernel_that_never_starts_fails_after_three_attempts(tmp_path, monkeypatch):
    """The same start failure every time: 3 attempts (KERNEL_START_ATTEMPTS), then the page
    fails with one message saying so; all 3 are logged."""
    import papermill

    calls = []

    def dead(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(papermill, "execute_notebook", dead)
    result = execute_notebook(_task(tmp_path))
    assert len(calls) == runs.KERNEL_START_ATTEMPTS == 3
    assert result["status"] == "failed"
    assert result["error"] == (
        "RuntimeError: the kernel did not start in 3 attempts (last: Kernel died before "
        "replying to kernel_info)"
    )
    assert [r["attempt"] for r in result["kernel_retries"]] == [1, 2, 3]


def test_a_notebook_error_is_never_retried(tmp_path, monkeypatch):
    """A cell's own error fails the page at once (one call), even when its text looks like a
    kernel start failure; so does any other exception."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    calls = []

    def cell_error(*args, **kwargs):
        calls.append(1)
        raise PapermillExecutionError(
            3, 1, "RuntimeError: Kernel died before replying to kernel_info", "RuntimeError",
            "Kernel died before replying to kernel_info", [],
        )  # fmt: skip

    monkeypatch.setattr(papermill, "execute_notebook", cell_error)
    result = execute_notebook(_task(tmp_path))
    assert len(calls) == 1 and result["status"] == "failed" and "kernel_retries" not in result
    assert result["error"] == ("RuntimeError: Kernel died before replying to kernel_info (cell 3)")

    def other(*args, **kwargs):
        calls.append(1)
        raise ValueError("bad parameter")

    calls.clear()
    monkeypatch.setattr(papermill, "execute_notebook", other)
    result = execute_notebook(_task(tmp_path))
    assert len(calls) == 1 and result["error"] == "ValueError: bad parameter"


def test_a_real_kernel_that_dies_at_its_first_start_is_retried(tmp_path, monkeypatch):
    """A kernel spec whose process exits at once the first time it is started and is a real
    ipykernel afterwards (a kernel killed while starting on a loaded machine): papermill, for
    real, reports "Kernel died before replying to kernel_info"; the notebook (one cell writing
    a file) is started again and runs, once: the file holds "ran" once, one retry is logged."""
    import json as _json
    import sys

    kernels = tmp_path / "jupyter" / "kernels" / "flaky"
    kernels.mkdir(parents=True)
    flag = tmp_path / "started-once"
    wrapper = tmp_path / "flaky_kernel.py"
    wrapper.write_text(
        "import pathlib, sys\n"
        f"flag = pathlib.Path({str(flag)!r})\n"
        "if not flag.exists():\n"
        "    flag.write_text('x')\n"
        "    sys.exit(1)\n"
        "from ipykernel import kernelapp\n"
        "kernelapp.launch_new_instance()\n"
    )
    (kernels / "kernel.json").write_text(
        _json.dumps(
            {
                "argv": [sys.executable, str(wrapper), "-f", "{connection_file}"],
                "display_name": "flaky",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    done = tmp_path / "ran.txt"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            f"import pathlib\np = pathlib.Path({str(done)!r})\np.write_text(p.read_text() + 'ran' if p.exists() else 'ran')"
        )
    ]
    nb_path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, nb_path)
    task = _task(tmp_path, input=str(nb_path), kernel_name="flaky", start_timeout=30)
    result = execute_notebook(task)
    assert result["status"] == "ok", result
    assert done.read_text() == "ran"
    assert [r["error"] for r in result["kernel_retries"]] == [
        "Kernel died before replying to kernel_info"
    ]
