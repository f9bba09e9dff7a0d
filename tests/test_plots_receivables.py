"""Figures of notebooks 03/04 render (also for empty selections) and both notebooks run end to end.

The notebook tests execute the shipped notebooks with papermill (kernel ``arinsight``) on the
hand-made ledger of ``test_receivables`` / ``test_commissions`` written as processed parquet in a
temporary folder, and check the JSON parts against the values worked out by hand there.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import clean_table
from matplotlib.figure import Figure
from test_commissions import make_tables
from test_receivables import T, kept, make_ledger

from arinsight import commissions, config, ledger, receivables
from arinsight.plots import commissions as cplots
from arinsight.plots import receivables as rplots


@pytest.fixture()
def tables() -> dict[str, pd.DataFrame]:
    t = make_ledger()
    com = make_tables()
    t["sales_reps"], t["commissions"] = com["sales_reps"], com["commissions"]
    return t


def _texts(fig: Figure) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def _balances(results, region="All"):
    pos = results.positions(region)
    return receivables.customer_balances(pos, results.customers(region), results.unapplied(region))


def test_every_figure_renders(tables, tmp_path):
    """Each figure function returns a Figure with at least one drawn artist and a PNG renders."""
    results = kept(tables, tmp_path / "processed", trailing_months=3)
    pos = results.positions()
    monthly = receivables.monthly_trends(results.months(), pos, T)
    kpis = commissions.commission_kpis(tables, "2026-10", {"trailing_months": 3})
    figures = [
        rplots.aging_chart(receivables.aging_table(pos)),
        rplots.sales_vs_collections_chart(monthly),
        rplots.billed_vs_paid_chart(monthly),
        rplots.ar_balance_chart(monthly),
        rplots.top_customers_chart(receivables.top_customers(_balances(results))),
        rplots.industry_delays_chart(receivables.delays_by_industry(pos, T)),
        rplots.seasonality_chart(receivables.seasonality(pos, results.cash_months(), T)),
        rplots.energy_payment_chart(receivables.energy_vs_payment(pos, T, 3)),
        cplots.top_reps_chart(kpis["top_reps"]),
        cplots.accrued_vs_paid_chart(kpis["monthly"]),
        cplots.group_distribution_chart(kpis["by_group"]),
    ]
    for fig in figures:
        assert isinstance(fig, Figure)
        assert fig.axes and (fig.axes[0].patches or fig.axes[0].lines)
        assert "No data" not in _texts(fig)
        fig.canvas.draw()


def test_aging_chart_labels_money(tables):
    """Aging bars carry "$800 (53%)" on Current (800 of 1500) and the y axis is in dollars."""
    pos = receivables.invoice_positions(tables["invoices"], tables["payments"], T)
    fig = rplots.aging_chart(receivables.aging_table(pos))
    assert "$800 (53%)" in _texts(fig)
    fig.canvas.draw()
    assert any(t.get_text().startswith("$") for t in fig.axes[0].get_yticklabels())


def test_empty_selection_shows_no_data(tables, tmp_path):
    """An empty region (a customer W1 in West, nothing billed) gives "No data" figures instead
    of errors."""
    west = clean_table("customers", [{"customer_id": "W1", "region": "West"}])
    tables = {**tables, "customers": pd.concat([tables["customers"], west], ignore_index=True)}
    empty = ledger.select_region(tables, "West")
    results = kept(tables, tmp_path / "processed", trailing_months=3)
    pos = results.positions("West")
    monthly = receivables.monthly_trends(results.months("West"), pos, T)
    kpis = commissions.commission_kpis(empty, "2026-10", {})
    for fig in (
        rplots.aging_chart(receivables.aging_table(pos)),
        rplots.sales_vs_collections_chart(monthly),
        rplots.top_customers_chart(receivables.top_customers(_balances(results, "West"))),
        rplots.industry_delays_chart(receivables.delays_by_industry(pos, T)),
        rplots.seasonality_chart(receivables.seasonality(pos, results.cash_months("West"), T)),
        rplots.energy_payment_chart(receivables.energy_vs_payment(pos, T)),
        cplots.top_reps_chart(kpis["top_reps"]),
        cplots.accrued_vs_paid_chart(kpis["monthly"]),
        cplots.group_distribution_chart(kpis["by_group"]),
    ):
        assert "No " in _texts(fig)


def test_figure_errors():
    """A table without the needed columns is refused naming the column."""
    with pytest.raises(ValueError, match="amount"):
        rplots.aging_chart(pd.DataFrame({"bucket": []}))
    with pytest.raises(TypeError):
        cplots.top_reps_chart(None)


def test_table_html_escapes(tables):
    """Values are HTML-escaped and money is formatted."""
    df = pd.DataFrame({"name": ["<b>x</b>"], "open_ar": [1500.0]})
    html = rplots.table_html(df, money_columns=["open_ar"]).data
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "$1,500.00" in html and "<script" not in html


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
