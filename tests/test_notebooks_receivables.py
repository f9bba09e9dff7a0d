"""Notebooks 03 (Receivables Health) and 04 (Commission Analytics) run end to end.

The notebook tests execute the shipped notebooks with papermill (kernel ``arinsight``) on the
hand-made ledger of ``test_receivables`` / ``test_commissions`` written as processed parquet in a
temporary folder, and check the JSON parts against the values worked out by hand there.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import clean_table
from test_commissions import make_tables
from test_receivables import T, make_ledger

from arinsight import config


@pytest.fixture()
def tables() -> dict[str, pd.DataFrame]:
    t = make_ledger()
    com = make_tables()
    t["sales_reps"], t["commissions"] = com["sales_reps"], com["commissions"]
    return t


def _run(notebook: str, tmp_path, tables, **parameters) -> dict:
    papermill = pytest.importorskip("papermill")
    processed = tmp_path / "processed"
    processed.mkdir(exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(processed / f"{name}.parquet")
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    papermill.execute_notebook(
        str(config.NOTEBOOKS_DIR / notebook),
        str(out / notebook),
        parameters={"processed_dir": str(processed), "output_dir": str(out), **parameters},
        kernel_name=config.KERNEL_NAME,
        progress_bar=False,
        cwd=str(tmp_path),
    )
    return {p.name: json.loads(p.read_text()) for p in out.glob("*.json")}


@pytest.mark.slow
def test_notebook_03_receivables(tmp_path, tables):
    """All regions, October 2026: the JSON part carries the hand-worked KPIs of test_receivables
    (open AR 1500, DSO 16.6071, CEI 80, 1 customer over limit: C), the comparison with September
    (DSO 56.25 -> better) and every figure cell produced a PNG."""
    parts = _run("03_receivables.ipynb", tmp_path, tables)
    part = parts["kpis_receivables.json"]
    assert (part["period"], part["region"], part["as_of"]) == ("2026-10", "All", T)
    assert (part["open_ar"], part["cei"], part["customers_over_credit_limit"]) == (1500.0, 80.0, 1)
    assert part["dso"] == pytest.approx(16.6071)
    assert part["aging"]["91-120"] == 400.0
    assert part["comparison"]["dso"]["previous"] == 56.25
    assert part["comparison"]["dso"]["assessment"] == "better"
    assert [c["customer_id"] for c in part["customers_over_credit_limit_list"]] == ["C"]
    import nbformat

    nb = nbformat.read(tmp_path / "out" / "03_receivables.ipynb", as_version=4)
    mime = "application/vnd.plotly.v1+json"
    charts = sum(mime in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert charts == 8  # the eight interactive figures
    streams = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "stream"]
    assert not [o for o in streams if o.get("name") == "stdout"]  # no developer prints
    history = json.loads((tmp_path / "out" / "history_receivables.json").read_text())
    assert history["dso"]["2026-10"] == part["dso"] and len(history["dso"]) == 12


@pytest.mark.slow
def test_notebook_03_empty_region(tmp_path, tables):
    """Region West has a customer (W1) but nothing billed: the notebook runs and writes null
    KPIs."""
    west = clean_table("customers", [{"customer_id": "W1", "region": "West"}])
    tables = {**tables, "customers": pd.concat([tables["customers"], west], ignore_index=True)}
    part = _run("03_receivables.ipynb", tmp_path, tables, region="West")["kpis_receivables.json"]
    assert part["region"] == "West"
    assert part["dso"] is None and part["open_ar"] is None
    assert part["customers_over_credit_limit_list"] == []


@pytest.mark.slow
def test_notebook_with_a_region_not_in_the_data_fails_with_the_regions(tmp_path, tables):
    """papermill with region "Westt" (a typo): the notebook stops with UnknownRegion naming the
    regions in the data, instead of publishing a report of 0 invoices."""
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as err:
        _run("03_receivables.ipynb", tmp_path, tables, region="Westt")
    assert err.value.ename == "UnknownRegion"
    assert "regions in the data: North, South" in err.value.evalue


@pytest.mark.slow
def test_notebook_04_commissions(tmp_path, tables):
    """North (customers A and B, invoices I1-I4, commissions K1-K4), October 2026:
    outstanding K2 100 + K3 40 = 140; paid MTD K1 50; earned 140 on North's sales 2800 -> 5 %.
    September: outstanding K1 50 -> change +90."""
    part = _run("04_commissions.ipynb", tmp_path, tables, region="North")["kpis_commissions.json"]
    assert (part["total_accrued_commissions"], part["commissions_paid_mtd"]) == (140.0, 50.0)
    assert part["average_commission_rate"] == pytest.approx(5.0)
    assert part["comparison"]["total_accrued_commissions"]["change"] == 90.0
    assert [r["sales_rep_id"] for r in part["top_reps"]] == ["R1", "R2"]
    history = json.loads((tmp_path / "out" / "history_commissions.json").read_text())
    assert history["total_accrued_commissions"]["2026-10"] == 140.0
    assert history["total_accrued_commissions"]["2026-09"] == 50.0
