"""Interactive figures (arinsight.plots.interactive) on the hand-made ledger of test_receivables
and test_commissions: every figure draws data, hovers give exact amounts, empty selections say
so, bad input is refused, and the same data gives the same JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from test_commissions import make_tables
from test_receivables import T, kept, make_ledger

from arinsight import commissions, ledger, receivables
from arinsight.plots.interactive import commissions as cchart
from arinsight.plots.interactive import receivables as rchart
from arinsight.plots.interactive import risk as kchart


@pytest.fixture()
def tables() -> dict[str, pd.DataFrame]:
    t = make_ledger()
    com = make_tables()
    t["sales_reps"], t["commissions"] = com["sales_reps"], com["commissions"]
    return t


@pytest.fixture()
def results(tables, tmp_path):
    return kept(tables, tmp_path / "processed", trailing_months=3)


def _balances(results, region="All"):
    pos = results.positions(region)
    return receivables.customer_balances(pos, results.customers(region), results.unapplied(region))


def _figures(tables, results):
    pos = results.positions()
    monthly = receivables.monthly_trends(results.months(), pos, T)
    kpis = commissions.commission_kpis(tables, "2026-10", {"trailing_months": 3})
    return [
        rchart.aging_chart(receivables.aging_table(pos)),
        rchart.sales_vs_collections_chart(monthly),
        rchart.billed_vs_paid_chart(monthly),
        rchart.ar_balance_chart(monthly),
        rchart.top_customers_chart(receivables.top_customers(_balances(results))),
        rchart.industry_delays_chart(receivables.delays_by_industry(pos, T)),
        rchart.seasonality_chart(receivables.seasonality(pos, results.cash_months(), T)),
        rchart.energy_payment_chart(receivables.energy_vs_payment(pos, T, 3)),
        cchart.top_reps_chart(kpis["top_reps"]),
        cchart.accrued_vs_paid_chart(kpis["monthly"]),
        cchart.group_distribution_chart(kpis["by_group"]),
    ]


def test_every_figure_draws_data_with_exact_hovers(tables, results):
    """Each figure has at least one trace with data and every trace has a hover template; the
    JSON of the same data is the same twice (no random ids)."""
    for fig in _figures(tables, results):
        assert isinstance(fig, go.Figure)
        assert fig.data and any(len(t.x or t.y or []) for t in fig.data)
        assert all(t.hovertemplate for t in fig.data), fig.layout.title.text
    first, again = _figures(tables, results), _figures(tables, results)
    assert [f.to_json() for f in first] == [f.to_json() for f in again]


def test_every_figure_draws_with_the_sites_basic_plotly_bundle(tables, results):
    """The site serves plotly.js's basic bundle (bar, pie, scatter; 1.2 MB instead of 4.8 MB):
    the figures drawn here use those types only, and no module of plots.interactive adds a
    trace of another type (``fig.add_<type>``) or an untyped ``add_trace``."""
    import ast

    from arinsight.plots import interactive
    from arinsight.site.sections import BASIC_TRACES, trace_types

    drawn = set().union(*(trace_types(f.to_plotly_json()) for f in _figures(tables, results)))
    assert drawn == {"bar", "scatter"}
    not_traces = {"annotation", "shape", "vline", "hline", "vrect", "hrect", "layout_image"}
    added = set()
    for path in Path(interactive.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr.startswith("add_"):
                added.add(node.attr.removeprefix("add_"))
    assert added - not_traces == {"bar", "scatter"} <= BASIC_TRACES


def test_aging_hover_has_amount_and_share(results):
    """Current holds 800 of 1,500 open: the bar is 800 with customdata share 0.5333 and the
    hover shows dollars to the cent and the share."""
    pos = results.positions()
    fig = rchart.aging_chart(receivables.aging_table(pos))
    bar = fig.data[0]
    assert bar.x[0] == "Current" and bar.y[0] == 800.0
    assert bar.customdata[0][0] == pytest.approx(800 / 1500)
    assert "$%{y:,.2f}" in bar.hovertemplate and "%{customdata[0]:.1%}" in bar.hovertemplate


def test_top_customers_carry_ids_for_links(results):
    """The bars carry the customer id (the site links a click to the customer's page)."""
    top = receivables.top_customers(_balances(results))
    fig = rchart.top_customers_chart(top)
    ids = {c[0] for t in fig.data for c in t.customdata}
    assert ids == set(top["customer_id"]) == {"A", "B", "C"}
    assert json.loads(fig.to_json())["layout"]["meta"] == {"link": "customer"}


def test_empty_selection_says_no_data(tables, tmp_path):
    """A region with a customer (W1 in West) but nothing billed: every figure says so."""
    from conftest import clean_table

    west = clean_table("customers", [{"customer_id": "W1", "region": "West"}])
    tables = {**tables, "customers": pd.concat([tables["customers"], west], ignore_index=True)}
    empty = ledger.select_region(tables, "West")
    results = kept(tables, tmp_path / "processed", trailing_months=3)
    pos = results.positions("West")
    assert pos.empty
    kpis = commissions.commission_kpis(empty, "2026-10", {})
    for fig in (
        rchart.aging_chart(receivables.aging_table(pos)),
        rchart.top_customers_chart(receivables.top_customers(_balances(results, "West"))),
        rchart.seasonality_chart(receivables.seasonality(pos, results.cash_months("West"), T)),
        cchart.top_reps_chart(kpis["top_reps"]),
        cchart.group_distribution_chart(kpis["by_group"]),
    ):
        assert not fig.data and "No " in fig.layout.annotations[0].text


def _run(**kw):
    from types import SimpleNamespace

    base = {"available": True, "unavailable": None, "as_of": pd.Timestamp("2026-10-31"),
            "late_days": 30, "scores": pd.DataFrame(), "customers": pd.DataFrame(),
            "high_risk": [], "evaluation": SimpleNamespace(backtest=pd.DataFrame())}  # fmt: skip
    return SimpleNamespace(**(base | kw))


def test_figure_errors_and_missing_data():
    """Bad tables are refused naming the column; a run without a model, without backtest
    months or without open invoices gives a figure that says so."""
    with pytest.raises(ValueError, match="amount"):
        rchart.aging_chart(pd.DataFrame({"bucket": []}))
    with pytest.raises(TypeError):
        cchart.top_reps_chart(None)
    no_model = _run(available=False, unavailable="only 3 invoices matured")
    for draw in (kchart.roc_pr_curves, kchart.calibration_plot, kchart.backtest_plot,
                 kchart.importance_plot, kchart.risk_by_segment):  # fmt: skip
        fig = draw(no_model)
        assert "No risk model: only 3 invoices matured" in fig.layout.annotations[0].text
    assert "Too little history" in kchart.backtest_plot(_run()).layout.annotations[0].text
    assert "No open invoice" in kchart.risk_by_segment(_run()).layout.annotations[0].text
    assert "No risk model" in kchart.call_list(no_model).data


def test_risk_by_segment_boxes_are_the_quantiles_of_the_invoices_not_yet_late():
    """Retail holds five invoices not yet late, P(late) 0.1, 0.2, 0.3, 0.4, 0.5 (numpy's linear
    quantiles: 10th 0.14, quartiles 0.2 and 0.4, median 0.3, 90th 0.46), and one 40 days past
    due (late by definition: left out of the box, in the amounts at risk); Energy one invoice
    (every quantile 0.8). The boxes are bars from Q1 to Q3 with a median tick and 10-90
    whiskers, sorted like the amounts at risk (Energy 80 first, Retail 17.5)."""
    scores = pd.DataFrame(
        {
            "industry": ["Retail"] * 6 + ["Energy"],
            "region": ["North"] * 7,
            "probability_late": [0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.8],
            "days_past_due": [0, 0, 5, 10, 30, 40, 0],
            "expected_overdue": [1.0, 2.0, 3.0, 4.0, 5.0, 2.5, 80.0],
        }
    )
    fig = kchart.risk_by_segment(_run(scores=scores)).to_plotly_json()
    box, median = fig["data"][0], fig["data"][1]
    assert (box["type"], median["type"]) == ("bar", "scatter")
    assert list(box["x"]) == ["Energy", "Retail"]
    assert list(box["base"]) == [0.8, 0.2] and list(box["y"]) == [0.0, 0.2]
    assert list(median["y"]) == [0.8, 0.3]
    assert list(median["error_y"]["array"]) == [0.0, 0.16]
    assert list(median["error_y"]["arrayminus"]) == [0.0, 0.16]
    assert [list(r) for r in box["customdata"]] == [
        [0.8, 0.8, 0.8, 0.8, 0.8, 1],
        [0.14, 0.2, 0.3, 0.4, 0.46, 5],
    ]
    at_risk = fig["data"][2]
    assert list(at_risk["x"]) == ["Energy", "Retail"] and list(at_risk["y"]) == [80.0, 17.5]


def test_dispute_reasons_in_words_with_the_share_for_the_customer_on_each_bar():
    """PRICE: two disputes resolved in October, 10 and 30 days (mean 20), 100 of 400 credited
    (25 %); NOT_RECEIVED: one of 6 days written off (100 %). The bars read "Not received" and
    "Price" and carry the share; the "All" row is not a bar."""
    from arinsight.plots.interactive import disputes as dchart

    cases = pd.DataFrame(
        {
            "reason": ["PRICE", "PRICE", "NOT_RECEIVED"],
            "opened_date": pd.to_datetime(["2026-10-01", "2026-09-20", "2026-10-10"]),
            "resolved_date": pd.to_datetime(["2026-10-11", "2026-10-20", "2026-10-16"]),
            "amount": [100.0, 300.0, 50.0],
            "outcome": ["credit_note", "rejected", "written_off"],
        }
    )
    bar = dchart.resolution_chart(cases, pd.Timestamp("2026-10-31")).to_plotly_json()["data"]
    assert len(bar) == 1
    assert list(bar[0]["x"]) == ["Not received", "Price"]
    assert list(bar[0]["y"]) == [6.0, 20.0]
    assert list(bar[0]["text"]) == ["100 %<br>to the<br>customer", "25 %<br>to the<br>customer"]
    assert dchart.reason_label("QUANTITY") == "Quantity"


def test_call_list_totals_and_shares():
    """Two flagged customers: open 100 + 300 = 400, at risk 50 + 30 = 80; shares as percent."""
    risk = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "customer_name": ["Acme", "Beta", "Gamma"],
            "open_invoices": [1, 2, 1],
            "open_amount": [100.0, 300.0, 5.0],
            "overdue_amount": [100.0, 0.0, 0.0],
            "expected_overdue": [50.0, 30.0, 1.0],
            "risk_share": [0.5, 0.1, 0.2],
            "pending_risk": [None, 0.1, 0.2],
        }
    )
    html = kchart.call_list(_run(customers=risk, high_risk=["A", "B"])).data
    assert "Gamma" not in html and html.index("Acme") < html.index("Beta")
    assert "$400.00" in html and "$80.00" in html and "50%" in html and "10%" in html


def test_forecast_charts_draw_the_weeks_or_say_why():
    """Two weeks expected 100 (range 80-130) and 50 (40-60), due-date line 150 and 0: one bar
    trace with asymmetric error bars (+30/-20, +10/-10) and the dashed due-date line; without a
    forecast both charts are placeholders carrying the reason."""
    from types import SimpleNamespace

    from arinsight.plots.interactive import base
    from arinsight.plots.interactive import forecast as ff

    weeks = pd.DataFrame(
        {
            "week_start": pd.to_datetime(["2026-11-02", "2026-11-09"]),
            "expected": [100.0, 50.0],
            "low": [80.0, 40.0],
            "high": [130.0, 60.0],
            "due_date_baseline": [150.0, 0.0],
        }
    )
    errors = pd.DataFrame(
        {"week": [1, 2], "mae_model": [10.0, 12.0], "mae_due_date": [90.0, 30.0],
         "mae_customer_delay": [20.0, 25.0], "origins": [6, 6]}
    )  # fmt: skip
    fc = SimpleNamespace(available=True, unavailable=None, weeks=weeks, errors=errors,
                         details={"interval": [0.1, 0.9]})  # fmt: skip
    fig = ff.forecast_chart(fc).to_plotly_json()
    bar, line = fig["data"]
    assert list(bar["y"]) == [100.0, 50.0]
    assert list(bar["error_y"]["array"]) == [30.0, 10.0]
    assert list(bar["error_y"]["arrayminus"]) == [20.0, 10.0]
    assert line["line"]["dash"] == "dash" and list(line["y"]) == [150.0, 0.0]
    back = ff.backtest_error_chart(fc).to_plotly_json()
    assert [t["name"] for t in back["data"]] == [
        "model",
        "paid on due date",
        "customer's average delay",
    ]
    assert back["layout"]["yaxis"]["type"] == "log"
    # errors from 10 to 90: ticks 1-2-5 from 10 to 100, not every digit of the decade
    assert list(back["layout"]["yaxis"]["tickvals"]) == [10.0, 20.0, 50.0, 100.0]
    assert list(back["layout"]["yaxis"]["ticktext"]) == ["$10", "$20", "$50", "$100"]
    chf = ff.backtest_error_chart(SimpleNamespace(**{**vars(fc), "errors": errors * 1000}), "CHF")
    assert list(chf.to_plotly_json()["layout"]["yaxis"]["ticktext"])[:3] == [
        "10k CHF",
        "20k CHF",
        "50k CHF",
    ]
    none = SimpleNamespace(available=False, unavailable="36 invoices, at least 200 needed",
                           weeks=weeks.iloc[:0], errors=errors.iloc[:0], details={})  # fmt: skip
    for chart in (ff.forecast_chart(none), ff.backtest_error_chart(none)):
        meta = chart.to_plotly_json()["layout"]["meta"][base.NO_DATA_KEY]
        assert meta.endswith("36 invoices, at least 200 needed")


def test_log_ticks_are_one_two_five_of_each_decade_or_powers_of_ten():
    """170k to 12M: 100k 200k 500k 1M 2M 5M 10M 20M (the ticks around the data; plotly shows
    those in the axis range); 1 to 100,000 spans five decades: powers of ten only; a single
    value 3 lies between the ticks 2 and 5; bad bounds are refused."""
    from arinsight.plots.interactive.forecast import log_ticks

    assert log_ticks(170e3, 12e6) == [1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 2e7]
    assert log_ticks(1, 1e5) == [1.0, 10.0, 100.0, 1e3, 1e4, 1e5]
    assert log_ticks(3, 3) == [2.0, 5.0]
    assert log_ticks(0.5, 4) == [0.5, 1.0, 2.0, 5.0]
    with pytest.raises(ValueError, match="0 < low <= high"):
        log_ticks(0, 10)


def test_reason_bars_one_series_per_action_or_say_nothing_was_caught():
    """Two quarantine reasons (3 and 1 rows) and one flag (2 rows): a "quarantined" series of two
    bars and a "flagged" one of one bar, stacked; an empty summary is a placeholder that says
    every row was kept."""
    from arinsight.plots.interactive import base, quality

    summary = pd.DataFrame(
        {
            "table": ["invoices", "payments", "invoices"],
            "reason": ["unparseable_value", "undated_payment", "due_date_derived"],
            "action": ["quarantined", "quarantined", "flagged"],
            "rows": [3, 1, 2],
            "meaning": ["m1", "m2", "m3"],
        }
    )
    fig = quality.reason_bars(summary).to_plotly_json()
    by_name = {t["name"]: t for t in fig["data"]}
    assert sorted(by_name) == ["flagged", "quarantined"]
    assert list(by_name["quarantined"]["x"]) == [1, 3]
    assert list(by_name["quarantined"]["y"]) == [
        "payments: undated payment",
        "invoices: unparseable value",
    ]
    assert fig["layout"]["barmode"] == "stack"
    empty = quality.reason_bars(summary.iloc[:0]).to_plotly_json()
    assert empty["layout"]["meta"][base.NO_DATA_KEY].startswith("No data-quality issue found")


def test_a_kernel_shows_figures_as_plotlys_own_json_without_its_renderers():
    """In IPython a figure's output is the ``application/vnd.plotly.v1+json`` bundle that
    Plotly's own mimetype renderer makes (same data, layout and template, no config), while
    ``plotly.io._renderers`` (nbformat + jsonschema, ~1.5 s per kernel) is never imported. Run in
    a fresh interpreter so that nothing else has imported the renderers yet."""
    code = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
shell = InteractiveShell.instance()
from arinsight.plots.interactive.base import figure
fig = figure("Overdue by bucket")
fig.add_bar(x=["1-30", "31-60"], y=[1250.5, 99.99], name="open")
with capture_output() as shown:
    shell.display_formatter.format(fig)
loaded = "plotly.io._renderers" in sys.modules
from plotly.io._base_renderers import PlotlyRenderer
plotly_own = PlotlyRenderer().to_mimebundle(fig.to_dict())
print(json.dumps({"ours": [o.data for o in shown.outputs], "loaded": loaded, "own": plotly_own}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["loaded"] is False
    assert len(out["ours"]) == 1
    ours = out["ours"][0]["application/vnd.plotly.v1+json"]
    own = out["own"]["application/vnd.plotly.v1+json"]
    own.pop("config", None)  # Plotly's renderer adds its server URL; the site never reads it
    assert ours == own
    assert ours["data"][0]["y"] == [1250.5, 99.99]
