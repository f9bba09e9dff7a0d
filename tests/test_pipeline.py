"""Sample -> ingest -> clean on the generated sample: known problems found exactly, reproducibly."""

from __future__ import annotations

import json

import pytest

from arinsight.clean import clean, write_processed
from arinsight.ingest import ingest, write_interim
from arinsight.sample import write_sample

RUN_DATE = "2026-11-22"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    write_sample(out, n_invoices=3000, seed=7)
    return out


def _run(sample_dir, processed):
    result = clean(ingest(sample_dir / "sources.yaml").tables, run_date=RUN_DATE)
    write_processed(result, processed)
    return result


def test_cleaning_finds_exactly_the_injected_problems(sample_dir, tmp_path):
    """The sample's manifest records what it injected; cleaning must find exactly that, per table
    and reason, flag exactly the derived due dates and overpaid invoices, and keep exactly the
    expected rows. Nothing else may be quarantined (the rest of the sample is clean)."""
    manifest = json.loads((sample_dir / "manifest.json").read_text())
    result = _run(sample_dir, tmp_path / "processed")
    found = {
        t: {
            r: n
            for r, n in c.items()
            if r not in ("due_date_derived", "overpayment", "due_before_invoice")
        }
        for t, c in result.summary["reasons"].items()
    }
    expected = {t: manifest["injected"].get(t, {}) for t in found}
    assert found == expected
    inv_reasons = result.summary["reasons"]["invoices"]
    assert inv_reasons.get("due_date_derived", 0) == manifest["flags"]["due_date_derived"]
    assert inv_reasons.get("overpayment", 0) == manifest["flags"]["overpayment"]
    assert inv_reasons["due_before_invoice"] == manifest["flags"]["due_before_invoice"] > 0
    kept = {t: c["kept"] for t, c in result.summary["tables"].items()}
    assert kept == manifest["expected_clean_rows"]
    read = {t: c["read"] for t, c in result.summary["tables"].items()}
    assert read == manifest["rows"]


def test_sample_and_clean_are_byte_identical_across_runs(tmp_path):
    """Two runs of sample + ingest + clean with the same seed give identical processed files."""
    outputs = []
    sample = tmp_path / "sample"  # same place both times: quarantine rows name their source file
    for name in ("a", "b"):
        write_sample(sample, n_invoices=1500, seed=11)
        result = ingest(sample / "sources.yaml")
        write_interim(result, tmp_path / f"interim_{name}")
        processed = tmp_path / f"processed_{name}"
        write_processed(clean(result.tables, run_date=RUN_DATE), processed)
        outputs.append(processed)
    names = sorted(p.name for p in outputs[0].iterdir())
    assert {"invoices.parquet", "payments.parquet", "quarantine.parquet"} <= set(names)
    for name in names:
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
