"""Tests of arinsight.site: tiles, links, customer pages, the explorer and full builds of a small
reports tree (two periods, two or three regions) made by :func:`make_reports` (also used by the
browser tests), with the built-in renderer and, when ``quarto`` is on PATH, with Quarto."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from arinsight import config, kpis, site
from arinsight.errors import UserError
from arinsight.plots.interactive import receivables as ichart
from arinsight.plots.tables import table_markup
from arinsight.site import quarto_hook

EVIL = "<img src=x onerror=alert(1)>"
# a 1x1 PNG, as the static figures of the executed notebooks are inline PNGs
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
    )
).decode()
RENDERERS = ["builtin"] + (["quarto"] if shutil.which("quarto") else [])

KPIS_OCT_ALL = {
    "period": "2026-10",
    "region": "All",
    "as_of": "2026-10-31",
    "open_ar": 1234567.89,
    "overdue_ar": 234567.5,
    "current_ar": 1000000.39,
    "collections": 456789.0,
    "dso": 45.25,
    "cei": 82.5,
    "ar_turnover_annualised": 6.2,
    "average_days_delinquent": 12.0,
    "customers_over_credit_limit": 7,
    "payment_completion_rate_amount": 85.3,
    "average_days_late": None,
    "total_accrued_commissions": 5400.0,
    "commissions_paid_mtd": 1200.0,
    "commissions_earned": 2500.0,
    "average_commission_rate": 2.5,
    "expected_overdue_amount": 300000.0,
    "amount_at_risk_share": 24.3,
    "customers_at_risk": 4,
    "expected_collections_30d": 500000.0,
    "high_risk_customers": ["C_4", "C_1", "C_2"],
    "comparison": {
        "dso": {"previous": 40.25, "change": 5.0, "direction": "up", "assessment": "worse"},
        "cei": {"previous": 80.0, "change": 2.5, "direction": "up", "assessment": "better"},
    },
}


def _kpis(period: str, region: str, scale: float) -> dict:
    base = {k: v for k, v in KPIS_OCT_ALL.items() if k != "comparison"}
    out = {k: (round(v * scale, 2) if isinstance(v, float) else v) for k, v in base.items()}
    out.update({"period": period, "region": region, "as_of": f"{period}-30"})
    if region == "All" and period == "2026-10":
        out = dict(KPIS_OCT_ALL)
    return out


def _explorer_frame() -> pd.DataFrame:
    """12 invoices of 12 customers C_0..C_11: 6 North, 4 South, 2 East; 2 are paid (INV-000,
    INV-007: open_amount 0) and never listed in the explorer. C_3's name is hostile."""
    rows = []
    regions = ["North"] * 6 + ["South"] * 4 + ["East"] * 2
    for i, region in enumerate(regions):
        paid = i in (0, 7)
        rows.append(
            {
                "invoice_id": f"INV-{i:03d}",
                "customer_id": f"C_{i}",
                "customer_name": EVIL if i == 3 else f"Customer {i}",
                "region": region,
                "industry": "Energy" if i % 2 else "Manufacturing",
                "customer_type": "SME",
                "invoice_date": pd.Timestamp("2026-08-01") + pd.Timedelta(days=i),
                "due_date": pd.Timestamp("2026-09-01") + pd.Timedelta(days=i),
                "amount": 1000.0 + i,
                "paid_to_date": 1000.0 + i if paid else 0.0,
                "balance": 0.0 if paid else 1000.0 + i,
                "open_amount": 0.0 if paid else 1000.0 + i,
                "days_past_due": 30 - i,
                "days_late": 3.0 if paid else None,
                "paid_date": pd.Timestamp("2026-09-04") if paid else None,
                "payment_status": "Paid" if paid else ("Overdue" if i % 3 else "Open - current"),
                "energy_kwh": None,
            }
        )
    return pd.DataFrame(rows)


def _executed(title: str, table_html: str) -> nbformat.NotebookNode:
    """An executed notebook as papermill leaves it: title, parameters, an interactive chart, a
    static figure with a warning on stderr, a table, a print, and the runner's provenance."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "arinsight", "display_name": "x", "language": "python"}
    params = nbformat.v4.new_code_cell('period = "2026-10"\nregion = "All"')
    params.metadata["tags"] = ["parameters"]
    top = pd.DataFrame(
        {
            "customer_id": ["C_1", "C_2"],
            "customer_name": ["Customer 1", EVIL],
            "open_ar": [1001.0, 1002.0],
            "overdue_amount": [1001.0, 0.0],
        }
    )
    chart = nbformat.v4.new_code_cell("fig.top_customers_chart(top)")
    chart.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={site.notebook.PLOTLY_MIME: json.loads(ichart.top_customers_chart(top).to_json())},
        )
    ]
    fig = nbformat.v4.new_code_cell("plot_aging(tables)")
    fig.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: noisy\n"),
    ]
    tab = nbformat.v4.new_code_cell("top_customers(tables)")
    tab.outputs = [
        nbformat.v4.new_output("execute_result", data={"text/html": table_html}, execution_count=3)
    ]
    wrote = nbformat.v4.new_code_cell("print('wrote kpis_receivables.json')")
    wrote.outputs = [nbformat.v4.new_output("stream", name="stdout", text="wrote kpis.json\n")]
    hidden = nbformat.v4.new_markdown_cell("## Machine-readable numbers\n\nsee `kpis.json`")
    hidden.metadata["tags"] = ["remove-cell"]
    prov = nbformat.v4.new_markdown_cell("## Provenance\n\nfrom the runner")
    prov.metadata["tags"] = ["provenance"]
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\nWhat you see and what to do."),
        params,
        nbformat.v4.new_markdown_cell("## Top customers\n\nWho owes the most."),
        chart,
        tab,
        nbformat.v4.new_markdown_cell("## Aging\n\nWhere the money is stuck."),
        fig,
        wrote,
        hidden,
        prov,
    ]
    return nb


def make_reports(root: Path) -> Path:
    """reports/ with 2026-09 (All, North) and 2026-10 (All, North, South; South's last run failed
    so its previous report is kept), as `arinsight run` lays them out, with the snapshots of the
    customer pages and a send log with one reminder to C_1."""
    pages = {
        "02_clean.ipynb": "Data quality",
        "03_receivables.ipynb": "Receivables Health",
        "04_commissions.ipynb": "Commission Analytics",
        "05_risk_scoring.ipynb": "Risk scoring",
        "06_cash_forecast.ipynb": "Cash Forecast",
        "07_provision.ipynb": "Provision",
        "08_disputes.ipynb": "Disputes and promises",
    }
    table = table_markup(
        pd.DataFrame({"customer_id": ["C_3"], "customer_name": [EVIL], "open_ar": [1003.0]}),
        money_columns=["open_ar"],
    )
    layout = {"2026-09": ["All", "North"], "2026-10": ["All", "North", "South"]}
    explorer = _explorer_frame()
    for period, regions in layout.items():
        folder = root / period
        reports = {}
        for n, region in enumerate(regions):
            rdir = folder / region
            rdir.mkdir(parents=True)
            for nb_name, title in pages.items():
                if nb_name == "02_clean.ipynb" and region != "All":
                    continue
                nbformat.write(_executed(title, table), rdir / nb_name)
            k = _kpis(period, region, 1.0 - 0.1 * n)
            (rdir / "kpis.json").write_text(json.dumps(k, sort_keys=True, indent=2))
            # the commissions notebook's per-rep figures (the Commission Analytics page's reps)
            (rdir / "commissions_by_rep.json").write_text(json.dumps(REPS))
            history = {"dso": {f"2026-{m:02d}": 40.0 + m for m in range(1, 10)}}
            history["dso"][period] = k["dso"]
            (rdir / "history_receivables.json").write_text(json.dumps(history))
            reports[region] = {
                "dir": region,
                "status": "ok",
                "published": "previous" if region == "South" else "this run",
                "generated_at": f"{period}-30T10:00:00Z",
                "code_version": "0.1.0 (git abc1234)",
                "params": {"late_days": 30, "note": EVIL},
                "inputs": [{"table": "invoices", "path": "data/x.csv", "sha256": "ab" * 32}],
            }
            if region == "South":
                reports[region]["failed_attempt"] = {"started_at": "2026-11-01T09:00:00Z"}
        all_dir = folder / "All"
        explorer.to_parquet(all_dir / "invoice_explorer.parquet")
        customers = explorer[["customer_id", "customer_name", "region"]].assign(
            credit_limit=2000.0,
            payment_terms_days=30,
            sales_rep_id=["R_1" if i % 2 else "R_2" for i in range(len(explorer))],
        )

        customers.to_parquet(all_dir / "customers.parquet")
        pd.DataFrame(
            {
                "payment_id": ["P-1", "P-2"],
                "invoice_id": ["INV-000", "INV-007"],
                "customer_id": ["C_0", "C_7"],
                "payment_date": pd.to_datetime(["2026-09-04", "2026-09-04"]),
                "amount": [1000.0, 1007.0],
                "method": ["wire", "card"],
            }
        ).to_parquet(all_dir / "customer_payments.parquet")
        open_ = explorer[explorer["open_amount"] > 0]
        pd.DataFrame(
            {
                "invoice_id": open_["invoice_id"],
                "customer_id": open_["customer_id"],
                "due_date": open_["due_date"],
                "open_amount": open_["open_amount"],
                "days_past_due": open_["days_past_due"],
                "model_probability": 0.2,
                "probability_late": 0.25,
                "expected_overdue": (open_["open_amount"] * 0.25).round(2),
            }
        ).to_parquet(all_dir / "risk_scores.parquet")
        (folder / "_failed" / "South").mkdir(parents=True)
        manifest = {
            "period": period,
            "as_of": f"{period}-30" if period == "2026-09" else "2026-10-31",
            "status": "failed" if period == "2026-10" else "ok",
            "finished_at": f"{period}-30T10:00:00Z",
            "params": {"reporting_currency": "USD", "late_days": 30},
            "inputs": [],
            "regions": regions,
            "runs": [{"region": "South", "notebook": "05_risk_scoring.ipynb", "status": "failed"}]
            if period == "2026-10"
            else [],
            "reports": reports,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    write_alerts(root / "2026-10")
    (root / "notify_log.jsonl").write_text(
        json.dumps(
            {
                "key": "reminder:2026-10:C_1:1",
                "sent_at": "2026-11-02T08:00:00+00:00",
                "subject": "Friendly reminder",
            }
        )  # fmt: skip
        + "\n"
    )
    (root / ".staging-2026-11-deadbeef").mkdir()
    (root / "notes").mkdir()
    return root


#: Two reps; R_1 looks after the odd customers, R_2 the even ones (customers.parquet).
REPS = [
    {"sales_rep_id": "R_1", "rep_name": "Ann Odd", "sales_group": "Premium",
     "accrued_outstanding": 300.0, "earned_in_period": 120.0, "paid_in_period": 50.0},
    {"sales_rep_id": "R_2", "rep_name": "Ben Even", "sales_group": "Standard",
     "accrued_outstanding": 100.0, "earned_in_period": 80.0, "paid_in_period": 0.0},
]  # fmt: skip


def write_alerts(folder: Path) -> None:
    """What a dry run of ``arinsight alerts`` leaves for a period: the dunning plan (C_11: the
    firm reminder, level 2; C_2: waiting), the invoices that crossed a threshold (C_11's
    INV-011, 30 days) and C_11's reminder written to the outbox, not sent."""
    alerts = folder / "alerts"
    alerts.mkdir(parents=True)
    pd.DataFrame(
        {
            "customer_id": ["C_11", "C_2"],
            "level": [2, 1],
            "template": ["reminder_firm", ""],
            "action": ["send", "wait"],
            "invoice_ids": ["INV-011", "INV-002"],
            "overdue_amount": [1011.0, 1002.0],
            "max_days_past_due": [19, 28],
            "previous_level": [1, 1],
            "previous_period": ["2026-09", "2026-10"],
            "reason": ["level 1 sent in 2026-09, still unpaid", "level 1 sent 0 day(s) ago"],
        }
    ).to_csv(alerts / "dunning_plan.csv", index=False)
    pd.DataFrame(
        {
            "invoice_id": ["INV-011"],
            "customer_id": ["C_11"],
            "due_date": ["2026-09-12"],
            "open_amount": [1011.0],
            "days_past_due": [49],
            "days_past_due_previous": [18],
            "level": [30],
        }
    ).to_csv(alerts / "overdue_crossings.csv", index=False)
    (folder / "outbox").mkdir()
    (folder / "outbox" / "reminder_2026-10_C_11_2.eml").write_text("Subject: Reminder\n\nx\n")


def make_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(config.PROJECT_ROOT / "_quarto.yml", project / "_quarto.yml")
    hook = Path("src/arinsight/site/quarto_hook.py")  # the steps _quarto.yml names
    (project / hook).parent.mkdir(parents=True)
    shutil.copy(config.PROJECT_ROOT / hook, project / hook)
    # the package's own copy of the assets, as in a checkout: never published from there
    shutil.copytree(config.PROJECT_ROOT / hook.parent / "assets", project / hook.parent / "assets")
    return project


def build(tmp: Path, renderer: str) -> dict:
    reports = make_reports(tmp / "reports")
    project = make_project(tmp)
    out = site.build_site(tmp / "out", renderer=renderer, reports_dir=reports, project_dir=project)
    return {"out": out, "project": project, "reports": reports, "renderer": renderer}


@pytest.fixture(scope="module", params=RENDERERS)
def built(request, tmp_path_factory) -> dict:
    return build(tmp_path_factory.mktemp(f"site-{request.param}"), request.param)


# --------------------------------------------------------------------------------------------
# units
# --------------------------------------------------------------------------------------------


def test_format_value():
    """Money to whole dollars with separators, days/percent 1 decimal, times 2, counts whole."""
    assert site.format_value(1234567.89, "money") == "$1,234,568"
    assert site.format_value(-50.4, "money", "EUR") == "-€50"
    assert site.format_value(10.0, "money", "CHF") == "10 CHF"
    assert site.format_value(45.25, "days") == "45.2 days"  # banker's rounding of .25 -> .2
    assert site.format_value(5.0, "days", signed=True) == "+5.0 days"
    assert site.format_value(85.3, "percent") == "85.3%"
    assert site.format_value(6.2, "times") == "6.20x"
    assert site.format_value(7, "count") == "7"
    assert site.format_value(None, "money") == "n/a"
    assert site.format_value(float("nan"), "days") == "n/a"
    assert site.format_value(True, "count") == "n/a"


def test_a_large_amount_tile_is_short_with_the_exact_figure_beside():
    """Open AR of 33,179,125,289.23 (the 10M ledger's) shows "$33.18B" on its tile, with
    "$33,179,125,289.23" in its tooltip and for screen readers; a change of +1,234,567.89 shows
    "+$1.23M"; an amount below a million stays whole ("$987,654"). A customer's balance of
    12,345,678.90 on its page: "$12.35M", exact to the cent beside it."""
    kpis_ = {"open_ar": 33_179_125_289.23,
             "comparison": {"open_ar": {"previous": 33_177_890_721.34, "change": 1_234_567.89,
                                        "direction": "up", "assessment": "worse"}}}  # fmt: skip
    tile = site.tile_html("open_ar", kpis_)
    assert ('<div class="kpi-value" title="$33,179,125,289.23" data-exact="$33,179,125,289.23">'
            '<span aria-hidden="true">$33.18B</span>'
            '<span class="visually-hidden">$33,179,125,289.23</span></div>') in tile  # fmt: skip
    assert "+$1.23M" in tile and 'data-value="33179125289.23"' in tile
    assert '<div class="kpi-value">$987,654</div>' in site.tile_html(
        "open_ar", {"open_ar": 987_654.0}
    )
    from arinsight.site.customer_page import money_fact

    fact = money_fact("Pending balance", 12_345_678.9, "USD")
    assert 'title="$12,345,678.90"' in fact and '<span aria-hidden="true">$12.35M</span>' in fact
    assert '<div class="kpi-value">$1,234.50</div>' in money_fact("Overdue", 1234.5, "USD")


def test_forecast_tiles_add_up_the_weeks_of_kpis_json():
    """Five weeks from 2026-11-01, expected 100.10, 200.20, 300.30, 400.40, 500.50 (lows 90,
    180, 270, 360, 450; week 1's high 110): week 1 = $100 (range $90 to $110); weeks 1-4 =
    100.10 + 200.20 + 300.30 + 400.40 = 1,001.00, from 2026-11-01 to 2026-11-28; their lows
    90 + 180 + 270 + 360 = 900; the 5 weeks 1,501.50 to 2026-12-05. No forecast: no tiles."""
    weeks = {f"2026-{d}": {"expected": e, "low": lo, "high": lo + 20}
             for d, e, lo in (("11-01", 100.1, 90), ("11-08", 200.2, 180), ("11-15", 300.3, 270),
                              ("11-22", 400.4, 360), ("11-29", 500.5, 450))}  # fmt: skip
    html = site.tiles.forecast_tiles_html({"cash_forecast": weeks}, "USD")
    got = dict(re.findall(r'data-kpi="([^"]+)" data-value="([^"]+)"', html))
    assert got == {"forecast_week_1": "100.1", "forecast_weeks_1_4": "1001.0",
                   "forecast_low_weeks_1_4": "900.0", "forecast_weeks_1_5": "1501.5"}  # fmt: skip
    assert "range $90 to $110" in html and "2026-11-01 to 2026-11-28" in html
    assert "2026-11-01 to 2026-12-05" in html and ">$1,502</div>" in html
    assert site.tiles.forecast_tiles_html({"cash_forecast": None}) == ""


def test_customer_contact_rep_and_disputes_only_where_the_data_has_them():
    """A customer with an e-mail, a sales rep (name and ID) and two invoices in dispute shows
    all three; NaN, None and blank attributes are left out (never "nan"); none at all gives no
    line."""
    from types import SimpleNamespace

    from arinsight.site.customer_page import contact_html

    row = SimpleNamespace(contact_email="ap@acme.example", sales_rep_id="R07",
                          sales_rep_name="Ana <Silva>")  # fmt: skip
    disputes = pd.DataFrame({"invoice_id": ["INV-9", "INV-12"], "reason": ["price", ""],
                             "opened_date": ["2026-10-03", ""]})  # fmt: skip
    html = contact_html(row, disputes)
    assert 'Contact <a href="mailto:ap@acme.example">ap@acme.example</a>' in html
    assert "Sales rep Ana &lt;Silva&gt; (R07)" in html
    assert (
        "In dispute (no reminders): 2 invoices, INV-9 (price, since 2026-10-03), INV-12</span>"
        in html
    )
    bare = SimpleNamespace(contact_email=float("nan"), sales_rep_id="R07", sales_rep_name=None)
    assert contact_html(bare, None) == '<p class="cust-contact">Sales rep R07</p>'
    assert contact_html(SimpleNamespace(contact_email=" ", sales_rep_id=None), pd.DataFrame()) == ""
    assert "nan" not in contact_html(SimpleNamespace(), None)


def test_good_and_bad_are_said_by_a_symbol_not_only_by_colour():
    """DSO up 5 days is worse: "✗" before the arrow and "worse" for screen readers; CEI up is
    better: "✓"; a KPI without a good direction gets no symbol."""
    cur = {"dso": 45.0, "cei": 80.0, "total_accrued_commissions": 8.0}
    prev = {"dso": 40.0, "cei": 70.0, "total_accrued_commissions": 10.0}
    dso = site.tile_html("dso", cur, prev)
    assert ('<span class="kpi-judgement" aria-hidden="true">✗</span>'
            '<span class="visually-hidden">worse: </span>'
            '<span class="kpi-arrow" aria-hidden="true">▲</span> +5.0 days') in dso  # fmt: skip
    assert '<span class="kpi-judgement" aria-hidden="true">✓</span>' in site.tile_html(
        "cei", cur, prev
    )
    assert "kpi-judgement" not in site.tile_html("total_accrued_commissions", cur, prev)


def test_kpi_change_uses_comparison_then_previous_period():
    """DSO comes from the notebook's comparison (40.25 -> 45.25: up 5, worse). Open AR has no
    comparison: 1,000 -> 1,200 from the previous kpis.json is up 200, and lower open AR is
    better, so worse. Accrued commissions (no good direction) 10 -> 8 is down, assessment None.
    With no previous value the change is None."""
    cur = {
        "dso": 45.25,
        "open_ar": 1200.0,
        "total_accrued_commissions": 8.0,
        "cei": None,
        "comparison": {
            "dso": {"previous": 40.25, "change": 5.0, "direction": "up", "assessment": "worse"}
        },
    }
    prev = {"open_ar": 1000.0, "total_accrued_commissions": 10.0, "cei": 80.0}
    assert site.kpi_change("dso", cur, prev) == {
        "previous": 40.25,
        "change": 5.0,
        "direction": "up",
        "assessment": "worse",
    }
    assert site.kpi_change("open_ar", cur, prev) == {
        "previous": 1000.0,
        "change": 200.0,
        "direction": "up",
        "assessment": "worse",
    }
    ch = site.kpi_change("total_accrued_commissions", cur, prev)
    assert ch["change"] == -2.0 and ch["direction"] == "down" and ch["assessment"] is None
    assert site.kpi_change("cei", cur, prev)["change"] is None
    assert site.kpi_change("open_ar", cur, None)["previous"] is None


def test_tile_value_arrow_sparkline_and_escaping():
    """DSO 45.25 shows "45.2 days" with a red up arrow (+5.0 days, worse) and a sparkline whose
    label runs from the first month (40.0 days) to the last (45.2 days); CEI's arrow is green;
    a missing value is n/a with an empty data-value; the currency text is escaped."""
    history = {"dso": {"2026-08": 40.0, "2026-09": 40.25, "2026-10": 45.25}}
    tile = site.tile_html("dso", KPIS_OCT_ALL, None, "USD", "2026-09", history)
    assert 'data-kpi="dso" data-value="45.25"' in tile and "45.2 days" in tile
    assert "kpi-change bad" in tile and "▲" in tile and "+5.0 days vs 2026-09" in tile
    assert "<svg" in tile and "2026-08 to 2026-10: from 40.0 days to 45.2 days" in tile
    assert "kpi-change good" in site.tile_html("cei", KPIS_OCT_ALL)
    late = site.tile_html("average_days_late", KPIS_OCT_ALL)
    assert "n/a" in late and 'data-value=""' in late
    assert "<img" not in site.tile_html("open_ar", {"open_ar": 1.0}, currency=EVIL)
    with pytest.raises(KeyError, match="not a KPI"):
        site.tile_html("no_such_kpi", KPIS_OCT_ALL)


def test_an_na_tile_says_why():
    """Customers over credit limit is n/a because the data has no credit limits: the tile shows
    n/a and, where the change would be, the reason (escaped), not "no previous period"."""
    kpis = {
        "customers_over_credit_limit": None,
        "na_reasons": {"customers_over_credit_limit": "the customer data has no <credit> limits"},
    }
    tile = site.tile_html("customers_over_credit_limit", kpis)
    assert ">n/a<" in tile and 'data-value=""' in tile
    assert "The customer data has no &lt;credit&gt; limits" in tile
    assert "no previous period" not in tile


def test_sparkline_needs_two_values_and_marks_gaps():
    """One known value draws nothing; [1, None, 3, 4] draws two segments (the gap is kept)."""
    assert site.sparkline_svg([1.0], ["a"], "t") == ""
    svg = site.sparkline_svg([1.0, None, 3.0, 4.0], list("abcd"), "t")
    assert svg.count("<polyline") == 1  # the single point before the gap is no segment
    svg = site.sparkline_svg([1.0, 2.0, None, 3.0, 4.0], list("abcde"), "t")
    assert svg.count("<polyline") == 2


def test_registry_feeds_tiles_and_docs():
    """Every tile KPI is in the registry with a unit and a definition, duplicates are not
    tiles, and docs/kpis.md is the registry's table."""
    for page, _, _ in site.REGION_PAGES:
        for k in kpis.tiles(page):
            assert k.unit in kpis.UNITS and k.definition and k.duplicate_of is None
    assert [k.key for k in kpis.tiles("risk")][0] == "expected_overdue_amount"
    assert not kpis.shown("overdue_amount") and kpis.shown("overdue_ar")
    docs = (config.PROJECT_ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert docs.endswith("\n" + kpis.markdown_table())


def test_kpi_history_ends_at_the_period():
    """Three months up to 2026-10: the series runs 2026-08, 2026-09, 2026-10 (oldest first),
    each the value compute() gives for that month."""
    hist = kpis.kpi_history(lambda p: {"x": int(p.label[-2:])}, "2026-10", ["x"], 3)
    assert hist == {"x": {"2026-08": 8, "2026-09": 9, "2026-10": 10}}
    with pytest.raises(ValueError, match="at least 1"):
        kpis.kpi_history(lambda p: {}, "2026-10", ["x"], 0)


def test_href_and_customer_slug():
    assert site.href("site/2026-10/North/receivables.qmd", "index.qmd") == "../../../index.html"
    assert site.href("index.qmd", "site/2026-10/All/risk.qmd") == "site/2026-10/All/risk.html"
    assert site.href("site/archive.qmd", "site/2026-10/Asia Pacific/risk.qmd") == (
        "2026-10/Asia%20Pacific/risk.html"
    )
    assert site.customer_slug("C_195") == "C_195"
    odd = site.customer_slug("../x/ü")
    assert "/" not in odd and odd != site.customer_slug("../x/u")
    assert site.customer_slug("index") != "index"
    # one helper for every file named from data (arinsight.files.safe_slug): a 300-character id
    # gets an 80-character page name, one that differs in its last character another
    long = site.customer_slug("C" * 300)
    assert len(long) == 80 and long != site.customer_slug("C" * 299 + "D")
    assert site.customer_slug(".hidden") != ".hidden"


def test_open_invoices_keeps_owed_invoices_oldest_due_first():
    """12 invoices, 2 paid (INV-000, INV-007) -> 10 rows; due dates rise with the number."""
    out = site.open_invoices(_explorer_frame())
    assert len(out) == 10
    assert out["invoice_id"].tolist()[:3] == ["INV-001", "INV-002", "INV-003"]
    assert "INV-007" not in set(out["invoice_id"])
    assert out.loc[0, "due_date"] == "2026-09-02"
    with pytest.raises(ValueError, match="invoice_id"):
        site.open_invoices(pd.DataFrame({"x": [1]}))


def test_explorer_rows_open_paid_in_window_and_customer_groups():
    """As of 2026-09-30 with one paid month, INV-000 and INV-007 (paid 2026-09-04) are listed
    beside the 10 open invoices; as of 2026-10-31 they are not, and with 0 months never.
    C_1 (North, owes 1,001) with a limit of 1,000 is over it in All and in North; C_6 (South,
    1,006) with a limit of 5,000 is not. C_2's only scored invoice has P(late) 0.6 (likely
    late in All and North), C_4's 0.4 (not)."""
    frame = _explorer_frame()
    customers = pd.DataFrame({"customer_id": ["C_1", "C_6"], "credit_limit": [1000.0, 5000.0]})
    scores = pd.DataFrame(
        {
            "invoice_id": ["INV-002", "INV-004"],
            "customer_id": ["C_2", "C_4"],
            "open_amount": [1002.0, 1004.0],
            "days_past_due": [28, 26],
            "probability_late": [0.6, 0.4],
            "expected_overdue": [601.2, 401.6],
        }
    )
    sept = site.explorer_rows(frame, customers, scores, "2026-09-30", 1)
    assert len(sept) == 12 and {"INV-000", "INV-007"} <= set(sept["invoice_id"])
    assert sept.set_index("invoice_id").loc["INV-007", "paid_date"] == "2026-09-04"
    octo = site.explorer_rows(frame, customers, scores, "2026-10-31", 1)
    assert len(octo) == 10 and "INV-007" not in set(octo["invoice_id"])
    assert len(site.explorer_rows(frame, customers, scores, "2026-09-30", 0)) == 10
    by = octo.set_index("invoice_id")
    assert by.loc["INV-001", "over_limit"] == ["All", "North"]
    assert by.loc["INV-006", "over_limit"] == []
    assert by.loc["INV-002", "likely_late"] == ["All", "North"]
    assert by.loc["INV-004", "likely_late"] == []
    assert by.loc["INV-002", "amount_at_risk"] == 601.2
    assert pd.isna(by.loc["INV-003", "amount_at_risk"])
    # the columns are the explorer's, amounts right after the customer (on screen at 390 px)
    assert [c for c, _ in site.EXPLORER_COLUMNS][:4] == [
        "invoice_id",
        "customer_name",
        "open_amount",
        "amount",
    ]


def test_explorer_data_script_is_escaped_and_offline():
    """The index script holds no row and no customer; a part holds its rows with the hostile
    name written with unicode escapes (it cannot end the script); the page's markup loads
    nothing from another host and labels every filter."""
    rows = site.explorer_rows(_explorer_frame())
    index, parts = site.explorer.explorer_data(
        rows, "2026-10", "2026-10-31", "USD", {"C_1": "customers/C_1.html"}
    )
    script = site.explorer.explorer_data_script(index)
    assert script.startswith("window.arinsightExplorer = window.arinsightExplorer || {};")
    assert "INV-" not in script and "Customer" not in script
    part = site.explorer.explorer_part_script(
        "2026-10", "North-current.js", parts["North-current.js"]
    )
    assert "<" not in part and "\\u003cimg src=x onerror=alert(1)\\u003e" in part
    assert part.startswith("window.arinsightExplorerParts = window.arinsightExplorerParts || {};")
    assert 'window.arinsightExplorerParts["2026-10/North-current.js"] = ' in part
    assert sum(len(p["rows"]) for p in parts.values()) == 10
    page = site.explorer_html(rows, "2026-10", "explorer-data.js", "")
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?(https?:)?//", page)
    assert page.count("<select") == 4 and page.count('<label class="ar-filter') == 5
    assert '<td data-total="open_amount" class="num"></td>' in page


def test_explorer_data_in_parts_cut_at_the_row_cap_with_whole_totals():
    """The 10 open invoices of _explorer_frame at 2026-10-31 (i = 1..6, 8..11; amount and open
    amount 1,000 + i; Overdue when i % 3, else Open - current): North overdue 1, 2, 4, 5;
    North current 3; South overdue 8; South current 6, 9; East overdue 10, 11.

    With at most 2 rows a part, North overdue keeps its two largest, INV-005 (1,005.00) and
    INV-004 (1,004.00), and says 2 of 4. Because a part is cut, the index carries the totals
    of every view: North overdue = 4 invoices, 4 customers, 1,001 + 1,002 + 1,004 + 1,005 =
    4,012.00 open and amount, at risk INV-002's 601.20; all open = 10 invoices, 10 customers,
    10,000 + (1+2+3+4+5+6+8+9+10+11 = 59) = 10,059.00; over the limit (C_1 only, limit 1,000)
    = 1 invoice of 1,001.00. C_1 is over its limit in All and North (bits 1 + 2 = 3), C_2
    likely late in both (4 + 8 = 12). Dates are days since 1970-01-01; money whole cents."""
    customers = pd.DataFrame({"customer_id": ["C_1"], "credit_limit": [1000.0]})
    scores = pd.DataFrame({"invoice_id": ["INV-002"], "customer_id": ["C_2"],
                           "open_amount": [1002.0], "days_past_due": [28],
                           "probability_late": [0.6], "expected_overdue": [601.2]})  # fmt: skip
    rows = site.explorer_rows(_explorer_frame(), customers, scores, "2026-10-31", 1)
    index, parts = site.explorer.explorer_data(rows, "2026-10", "2026-10-31", "USD", {}, 2)
    listed = [(p["file"], p["rows"], p["total"]) for p in index["parts"]]
    assert listed == [("East-overdue.js", 2, 2), ("North-overdue.js", 2, 4),
                      ("North-current.js", 1, 1), ("South-overdue.js", 1, 1),
                      ("South-current.js", 2, 2)]  # fmt: skip
    north = parts["North-overdue.js"]
    assert [r[0] for r in north["rows"]] == ["INV-005", "INV-004"]
    day = (pd.Timestamp("2026-09-06") - pd.Timestamp("1970-01-01")).days  # INV-005's due date
    c5 = north["customers"][north["rows"][0][1]]
    assert c5 == ["C_5", "Customer 5", 0, 0]
    assert north["rows"][0] == ["INV-005", 0 if c5 is north["customers"][0] else 1,
                                100500, 100500, 25, day, day - 31, None, None, 0]  # fmt: skip
    assert index["totals"]["North|overdue||"] == [4, 4, 401200, 401200, 60120]
    assert index["totals"]["|open||"] == [10, 10, 1005900, 1005900, 60120]
    assert index["totals"]["|open|over-limit|"] == [1, 1, 100100, 100100, 0]
    assert index["totals"]["North|open|likely-late|Manufacturing"] == [1, 1, 100200, 100200, 60120]
    assert index["full"] == {"East": "invoices-East.csv", "North": "invoices-North.csv",
                             "South": "invoices-South.csv"}  # fmt: skip
    assert "C_1" not in {c[0] for p in parts.values() for c in p["customers"]}  # cut off
    # no part cut: every row, no totals, no full CSV (the page adds up its rows itself)
    index, parts = site.explorer.explorer_data(rows, "2026-10", "2026-10-31", "USD", {}, 4)
    assert index["totals"] is None and index["full"] is None
    groups = {c[0]: c[3] for p in parts.values() for c in p["customers"]}
    assert len(groups) == 10 and groups["C_1"] == 3 and groups["C_2"] == 12 and groups["C_3"] == 0


def test_full_csv_has_every_row_numbers_as_numbers_and_safe_text():
    """The full CSV of a region: the explorer's headers, Customer ID last; amounts as plain
    numbers; a name starting with "=" written with an apostrophe."""
    frame = _explorer_frame()
    frame.loc[frame["invoice_id"] == "INV-001", "customer_name"] = "=HYPERLINK(1)"
    rows = site.explorer_rows(frame)
    lines = site.explorer.full_csv(rows[rows["region"] == "North"]).splitlines()
    assert lines[0].startswith("Invoice,Customer,Open amount,Amount,Days past due,")
    assert lines[0].endswith(",Region,Industry,Customer ID") and len(lines) == 6
    assert lines[1] == ("INV-001,'=HYPERLINK(1),1001.0,1001.0,29,Overdue,2026-09-02,2026-08-02,"
                        ",,North,Energy,C_1")  # fmt: skip


def test_view_hash_and_tile_link():
    """A tile's view for North: region first, then the view's filters, URL-encoded; the tile
    links to it and says what it opens."""
    view = site.explorer.TILE_VIEWS["overdue_ar"][0]
    assert site.explorer.view_hash(view, "North") == (
        "#region=North&status=overdue&sort=days_past_due-desc"
    )
    assert site.explorer.view_hash(view, "All") == "#status=overdue&sort=days_past_due-desc"
    assert "region=Asia%20Pacific" in site.explorer.view_hash(view, "Asia Pacific")
    tile = site.tile_html("overdue_ar", KPIS_OCT_ALL, link=("x.html#a=<b>", "open_amount"))
    assert 'class="kpi-tile linked"' in tile
    assert '<a class="kpi-rows" href="x.html#a=&lt;b&gt;" data-total="open_amount">' in tile
    assert "Show the invoices" in site.tile_html("dso", KPIS_OCT_ALL, link=("x", "open_amount"))
    assert "kpi-rows" not in site.tile_html("dso", KPIS_OCT_ALL)


def test_a_truncated_list_names_its_explorer_view_and_the_site_links_it():
    """table_markup(explore="overdue") of 30 rows cut at 25 says where all 30 are; the site
    turns that sentence into a link; number cells carry their exact value in data-v."""
    from arinsight.site.sections import link_views

    df = pd.DataFrame({"invoice_id": [f"I{i}" for i in range(30)], "open_amount": [1000.5 + i for i in range(30)],
                       "days": list(range(30))})  # fmt: skip
    html = table_markup(df, money_columns=["open_amount"], max_rows=25, explore="overdue")
    assert "First 25 of 30 rows." in html and 'data-explore="overdue"' in html
    assert '<td class="num" data-v="1000.5">$1,000.50</td>' in html
    assert '<td class="num" data-v="5">5</td>' in html
    linked = link_views(
        html, lambda view: "../explorer.html#status=overdue" if view == "overdue" else None
    )
    assert (
        '<a class="ar-rows-link" href="../explorer.html#status=overdue">All 30 are in the invoice explorer.</a>'
        in linked
    )
    assert "ar-explore" not in linked
    assert link_views(html, lambda view: None).count("All 30 are in the invoice explorer") == 1
    assert "data-explore" not in table_markup(df, max_rows=None, explore="overdue")


def test_collect_reports_newest_first(tmp_path):
    periods = site.collect_reports(make_reports(tmp_path / "reports"))
    assert [p.label for p in periods] == ["2026-10", "2026-09"]
    assert [r.name for r in periods[0].regions] == ["All", "North", "South"]
    assert periods[0].region("South").record["published"] == "previous"
    assert periods[0].all.history()["dso"]["2026-10"] == 45.25
    assert site.collect_reports(tmp_path / "missing") == []


def test_read_quarto_config_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        site.read_quarto_config(tmp_path)
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\n")
    with pytest.raises(UserError, match="website"):
        site.read_quarto_config(tmp_path)


def test_quarto_yml_pages_hooks_and_no_execution():
    cfg = site.read_quarto_config(config.PROJECT_ROOT)
    assert cfg["project"]["output-dir"] == "_site"
    assert cfg["project"]["render"] == ["index.qmd", "site/**/*.qmd"]
    assert cfg["project"]["pre-render"].endswith("quarto_hook.py pre-render")
    assert cfg["project"]["post-render"].endswith("quarto_hook.py post-render")
    hrefs = [i["href"] for i in cfg["website"]["navbar"]["left"]]
    assert hrefs[0] == "index.qmd" and "site/explorer.qmd" in hrefs
    assert cfg["format"]["html"]["html-table-processing"] == "none"
    assert cfg["format"]["html"]["theme"] == "default" and "execute" not in cfg


def test_build_site_errors(tmp_path):
    project = make_project(tmp_path)
    with pytest.raises(UserError, match="renderer"):
        site.build_site(renderer="bogus", project_dir=project, reports_dir=tmp_path / "r")
    if shutil.which("quarto") is None:
        with pytest.raises(UserError, match="quarto is not on PATH"):
            site.build_site(renderer="quarto", project_dir=project, reports_dir=tmp_path / "r")
    assert not (project / "site").exists()  # nothing is written before the checks pass
    (project / "site").mkdir()
    (project / "site" / "mine.txt").write_text("not generated")
    with pytest.raises(UserError, match="not generated by arinsight"):
        site.build_site(renderer="builtin", project_dir=project, reports_dir=tmp_path / "r")


def test_quarto_hook_finds_the_venv_or_keeps_a_site(tmp_path, monkeypatch):
    """The hook picks $ARINSIGHT_PYTHON when it imports arinsight; with no usable Python it
    writes a placeholder page (the render still gives a site) and keeps an existing one."""
    import sys

    monkeypatch.delenv("ARINSIGHT_SITE_PREPARED", raising=False)
    monkeypatch.setenv("ARINSIGHT_PYTHON", sys.executable)
    assert quarto_hook.find_python(tmp_path) == sys.executable
    monkeypatch.setattr(quarto_hook, "find_python", lambda project: None)
    monkeypatch.chdir(tmp_path)
    assert quarto_hook.main(["hook", "pre-render"]) == 0
    text = (tmp_path / "index.qmd").read_text()
    assert "could not be prepared" in text and "make venv" in text
    (tmp_path / "index.qmd").write_text("---\ntitle: old\n---\n")
    assert quarto_hook.main(["hook", "pre-render"]) == 0
    assert (tmp_path / "index.qmd").read_text() == "---\ntitle: old\n---\n"
    assert quarto_hook.main(["hook", "post-render"]) == 1


# --------------------------------------------------------------------------------------------
# the built site (each renderer)
# --------------------------------------------------------------------------------------------

REGION_SETS = {"2026-10": ["All", "North", "South"], "2026-09": ["All", "North"]}
CUSTOMERS = [f"C_{i}" for i in range(12)]
EXPECTED_PAGES = (
    [
        "index.html",
        "site/receivables.html",
        "site/commissions.html",
        "site/risk.html",
        "site/forecast.html",
        "site/provision.html",
        "site/disputes.html",
        "site/data-quality.html",
        "site/explorer.html",
        "site/archive.html",
    ]
    + [f"site/{p}/{x}.html" for p in REGION_SETS for x in ("index", "data-quality")]
    + [f"site/{p}/customers/index.html" for p in REGION_SETS]
    + [f"site/{p}/explorer.html" for p in REGION_SETS]
    + [f"site/{p}/customers/{c}.html" for p in REGION_SETS for c in CUSTOMERS]
    + [
        f"site/{p}/{r}/{page}.html"
        for p, regions in REGION_SETS.items()
        for r in regions
        for page, _, _ in site.REGION_PAGES
    ]
)


def _text(built: dict, rel: str) -> str:
    return (built["out"] / rel).read_text(encoding="utf-8")


_TOP = pd.DataFrame(
    {"customer_id": ["C_1"], "customer_name": ["One"], "open_ar": [5.0], "overdue_amount": [2.0]}
)


def test_the_basic_plotly_bundle_draws_every_interactive_figure():
    """The vendored basic bundle is the plotly.js version of the plotly package's full bundle
    (the figures' JSON is written for it); a page of bars and scatters loads it, a page with
    another trace type the full bundle (test_plots_interactive holds every figure to bar and
    scatter)."""
    import plotly

    from arinsight.site import sections

    def version(text: str) -> str:
        return re.search(r"plotly\.js[^\n]* v(\d+\.\d+\.\d+)", text[:300]).group(1)

    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    basic = Path(site.__file__).parent / "assets" / "plotly-basic.min.js"
    basic_head = basic.read_text(encoding="utf-8")[:300]
    assert "(basic - minified)" in basic_head
    assert version(basic_head) == version(full.read_text(encoding="utf-8")[:300])
    assert basic.stat().st_size < 1_300_000 < 4_000_000 < full.stat().st_size

    drawn = sections.trace_types(json.loads(ichart.top_customers_chart(_TOP).to_json()))
    assert drawn == {"bar"}
    assert sections.plotly_asset(drawn) == "plotly-basic.min.js"
    assert sections.plotly_asset({"bar", "scatter", "pie"}) == "plotly-basic.min.js"
    assert sections.plotly_asset({"bar", "heatmap"}) == "plotly.min.js"
    assert sections.trace_types({"data": [{"x": [1]}, {"type": "bar"}]}) == {"scatter", "bar"}
    assert 'plotly-basic.min.js"' in sections.scripts_html("site/a/b.qmd", {"scatter"})
    assert "plotly" not in sections.scripts_html("site/a/b.qmd", (), tables=True)


def test_built_site_has_every_page_and_assets_once(built):
    out = built["out"]
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert pages == sorted(EXPECTED_PAGES)
    # every chart of the test reports is a bar or a scatter: only plotly.js's basic bundle
    assert [p.relative_to(out).as_posix() for p in out.rglob("plotly*.js")] == [
        "site/assets/plotly-basic.min.js"
    ]
    assert (out / "site" / "assets" / "arinsight.css").is_file()
    # _quarto.yml's resources glob is anchored at the project root (Quarto's globs are
    # gitignore-style): the package's src/arinsight/site/assets/ is not copied into the site
    assert not (out / "src").exists()


def test_no_page_loads_anything_from_another_host(built):
    for rel in EXPECTED_PAGES:
        text = _text(built, rel)
        assert not re.search(
            r"<(script|link|img|iframe)[^>]+(src|href)=[\"']?(https?:)?//", text
        ), rel
        assert "cdn.jsdelivr" not in text and "require.min.js" not in text, rel


def test_no_developer_output_on_any_page(built):
    """No code, prints, warnings, hidden cells, the runner's cell, snake_case headers or
    True/False cells; the hostile customer name is escaped everywhere."""
    for rel in EXPECTED_PAGES:
        text = _text(built, rel)
        for dev in ("wrote ", "UserWarning", 'period = "2026-10"', "plot_aging(tables)",
                    "Machine-readable", "from the runner", "kpis.json"):  # fmt: skip
            assert dev not in text, (rel, dev)
        assert EVIL not in text, rel
        headers = re.findall(r"<th[^>]*>([^<]*)</th>", text)
        assert not [h for h in headers if re.fullmatch(r"[a-z]+(_[a-z]+)+", h.strip())], rel
        assert not re.search(r"<td[^>]*>(True|False)</td>", text), rel


def test_region_page_is_a_dashboard(built):
    """North, 2026-10: context bar first, then one tile per receivables KPI of the registry
    (data-value = kpis.json), the chart in a card (plotly JSON, scripts from the site), the
    static figure in a card, the table collapsed, the provenance last."""
    text = _text(built, "site/2026-10/North/receivables.html")
    k = json.loads((built["reports"] / "2026-10" / "North" / "kpis.json").read_text())
    order = [text.index(s) for s in ('class="ar-context"', 'class="kpi-tiles"', 'class="ar-cards"',
                                     'class="ar-details"', 'class="provenance"')]  # fmt: skip
    assert order == sorted(order)
    tiles = re.findall(r'data-kpi="([a-z_0-9]+)" data-value="([^"]*)"', text)
    assert [t[0] for t in tiles] == [x.key for x in kpis.tiles("receivables")]
    for key, raw in tiles:
        assert (json.loads(raw) if raw else None) == k.get(key), key
    assert 'class="ar-chart"' in text and "../../assets/plotly-basic.min.js" in text
    assert "data:image/png;base64," in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert '<a class="ar-customer" href="../customers/C_3.html">' in text
    assert 'data-customers="{&quot;C_1&quot;: &quot;../customers/C_1.html&quot;' in text
    south = _text(built, "site/2026-10/South/receivables.html")
    assert "previous good report" in south


def test_every_region_page_tiles_equal_kpis(built):
    for period, regions in REGION_SETS.items():
        for region in regions:
            k = json.loads((built["reports"] / period / region / "kpis.json").read_text())
            for page, _, _ in site.REGION_PAGES:
                text = _text(built, f"site/{period}/{region}/{page}.html")
                tiles = re.findall(r'data-kpi="([a-z_0-9]+)" data-value="([^"]*)"', text)
                assert len(tiles) == len(kpis.tiles(page)), (period, region, page)
                for key, raw in tiles:
                    assert (json.loads(raw) if raw else None) == k.get(key), (period, region, key)


def test_period_picker_lists_every_period(built):
    """Every page offers both periods; North's receivables page of 2026-10 points to North's
    receivables page of 2026-09."""
    text = _text(built, "site/2026-10/North/receivables.html")
    options = re.findall(r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', text)
    assert [(v, "selected" in a, t) for v, a, t in options] == [
        ("receivables.html", True, "October 2026"),
        ("../../2026-09/North/receivables.html", False, "September 2026"),
    ]
    south = _text(built, "site/2026-10/South/risk.html")
    assert '<option value="../../2026-09/index.html">September 2026' in south  # no South then
    for rel in EXPECTED_PAGES:
        assert _text(built, rel).count('class="ar-period-picker"') == 1, rel


def test_customer_page_statement_sums_to_pending_balance(built):
    """C_5 owes INV-005 (1,005.00, 25 days past due): the statement lists it, its total and the
    pending balance are $1,005.00; credit limit 2,000 -> 50% used; the risk share is 25%."""
    text = _text(built, "site/2026-10/customers/C_5.html")
    assert 'data-pending="1005.00"' in text
    statement = text[text.index('class="ar-section statement"') :]
    statement = statement[: statement.index("</section>")]
    assert "INV-005" in statement and "2026-09-06" in statement
    assert re.search(r"<tfoot>.*\$1,005\.00", statement)
    assert "50% of $2,000" in text and "<strong>25%</strong>" in text
    assert "Customer 5: October 2026" in text
    c1 = _text(built, "site/2026-10/customers/C_1.html")
    assert "Friendly reminder" in c1  # the send log's reminder
    c0 = _text(built, "site/2026-10/customers/C_0.html")
    assert "P-1" in c0 and "$1,000.00" in c0  # its payment
    assert '<details class="ar-detail" open><summary>Payments, last 12 months (1)</summary>' in c0


def test_home_says_what_happened_and_what_to_do(built):
    """The briefing of October 2026 (All): the comparison of KPIS_OCT_ALL has DSO 40.25 -> 45.25
    (+5 / 40.25 = +12 %, worse) and CEI 80 -> 82.5 (+2.5 / 80 = +3 %, better), so DSO comes
    first. The largest overdue balances are C_11 (1,011), C_10, C_9, C_8, C_6 (the open
    invoices of the explorer frame, all past due); the plan of write_alerts gives C_11 the firm
    reminder, and the others, absent from the plan, no reminder."""
    home = _text(built, "index.html")
    brief = home[home.index('class="ar-section briefing"') :]
    brief = brief[: brief.index("</section>")]
    changes = re.findall(r'<li class="(good|bad)" data-kpi="(\w+)"', brief)
    assert changes == [("bad", "dso"), ("good", "cei")]
    assert "+12% to 45.2 days (from 40.2 days)" in brief
    assert "+3% to 82.5% (from 80.0%)" in brief
    order = [brief.index(f"Customer {i}<") for i in (11, 10, 9, 8, 6)]
    assert order == sorted(order)
    assert "Customer 5<" not in brief
    assert "Send the firm reminder (level 2)" in brief
    assert 'href="site/2026-10/customers/C_11.html"' in brief
    assert "dunning plan (arinsight alerts)" in brief
    assert 'data-kpi="countback_dso"' in brief  # beside DSO, n/a here
    # the period overview of September (no plan there) has tiles and the briefing too
    sept = _text(built, "site/2026-09/index.html")
    assert 'class="kpi-tiles"' in sept and 'class="ar-section briefing"' in sept
    assert "has not run for this period" in sept


def test_customer_page_shows_the_reminders_and_alerts_of_its_period(built):
    """C_11's page of October: its level-2 reminder written to the outbox by a dry run (not
    sent) and INV-011, which crossed 30 days past due; the section is open. September ran no
    alerts: its page says so."""
    c11 = _text(built, "site/2026-10/customers/C_11.html")
    section = c11[c11.index('class="ar-detail cust-reminders" open') :]
    section = section[: section.index("</details>")]
    assert "Reminder level 2 written for October 2026, not sent" in section
    assert "level 1 sent in 2026-09, still unpaid" in section
    assert "INV-011" in section and "$1,011.00" in section
    c2 = _text(built, "site/2026-10/customers/C_2.html")
    assert "Wait: level 1 sent 0 day(s) ago" in c2
    c5 = _text(built, "site/2026-10/customers/C_5.html")
    assert "No reminder or alert for this customer this period" in c5
    sept = _text(built, "site/2026-09/customers/C_11.html")
    assert "has not run for this period" in sept


def test_commission_page_lists_each_reps_customers(built):
    """All, October: R_1 (odd customers) has C_1, C_3, C_5, C_9, C_11 open (C_7 is paid):
    1001 + 1003 + 1005 + 1009 + 1011 = 5,029 open, all overdue; R_2 has C_2, C_4, C_6, C_8,
    C_10: 1002 + 1004 + 1006 + 1008 + 1010 = 5,030. Each customer links to its page; North's
    page counts North's customers only (R_1: C_1, C_3, C_5 = 3,009)."""
    text = _text(built, "site/2026-10/All/commissions.html")
    reps = text[text.index('class="ar-section reps"') :]
    reps = reps[: reps.index("</section>")]
    assert "Ann Odd (R_1), Premium: 5 customers" in reps
    assert "Ben Even (R_2), Standard: 5 customers" in reps
    assert "$5,029.00" in reps and "$5,030.00" in reps
    r1 = reps[reps.index('id="rep-R_1"') : reps.index('id="rep-R_2"')]
    assert 'href="../customers/C_11.html"' in r1 and "C_2.html" not in r1
    assert r1.index("C_11.html") < r1.index("C_1.html")  # the largest overdue first
    north = _text(built, "site/2026-10/North/commissions.html")
    assert "Ann Odd (R_1), Premium: 3 customers" in north and "$3,009.00" in north


def test_dso_beside_countback_says_when_sales_swung():
    """Sales 1,000 -> 600 (-400 / 1,000 = -40 %, beyond the 20 % swing): DSO 40 -> 60 (+20
    days) only because sales fell; countback DSO 45 -> 40 (-5 days). Sales 1,000 -> 900 (-10 %)
    is no swing: no sentence."""
    from arinsight.site import briefing

    k = {
        "dso": 60.0,
        "countback_dso": 40.0,
        "comparison": {
            "dso": {"previous": 40.0, "change": 20.0, "assessment": "worse"},
            "countback_dso": {"previous": 45.0, "change": -5.0, "assessment": "better"},
            "credit_sales": {"previous": 1000.0, "change": -400.0, "assessment": None},
        },
    }
    assert briefing.sales_swing(k) == -0.4
    text = briefing.dso_html(k, "September 2026")
    assert "60.0 days (+20.0 days vs September 2026)" in text
    assert "40.0 days (-5.0 days vs September 2026)" in text
    assert "Sales fell 40% against September 2026" in text and "moved -5.0 days" in text
    k["comparison"]["credit_sales"]["change"] = -100.0
    calm = briefing.dso_html(k, "September 2026")
    assert "Sales fell" not in calm and "opposite directions" in calm


def test_the_action_without_a_plan_is_the_level_reached():
    """Default levels: polite from 1 day, firm from 30, final from 60. 0 days: none; 29: polite;
    45: firm; 75: final; 90 (final + 30): call."""
    from arinsight.dunning import dunning_levels
    from arinsight.site.briefing import level_action

    levels = dunning_levels({})
    assert level_action(0, levels) == "Not yet due for a reminder"
    assert level_action(29, levels) == "Due for the polite reminder (1+ days past due)"
    assert level_action(45, levels) == "Due for the firm reminder (30+ days past due)"
    assert level_action(75, levels) == "Due for the final reminder (60+ days past due)"
    assert level_action(90, levels) == "Call: 90 days past due, past the final reminder"


def test_every_tile_opens_its_definition_without_hover(built):
    """Each tile holds a details element (tap, click, keyboard) with the registry's definition."""
    home = _text(built, "index.html")
    tiles = re.findall(r'<div class="kpi-tile[^"]*" data-kpi="(\w+)".*?</details>', home, re.S)
    assert tiles and "dso" in tiles
    definition = kpis.get("dso").definition
    assert f"What is {kpis.get('dso').label}?</span></summary><p>" in home
    assert html.escape(definition) in home


def test_home_and_archive_link_every_region_and_period(built):
    home = _text(built, "index.html")
    for region in REGION_SETS["2026-10"]:
        assert f'<a class="ar-region" href="site/2026-10/{region}/receivables.html">' in home
    archive = _text(built, "site/archive.html")
    assert 'href="2026-10/index.html"' in archive and 'href="2026-09/index.html"' in archive


def test_explorer_pages_of_every_period(built):
    """Each period has its explorer and its data script; the navbar's explorer is the latest
    period's (same script). INV-007 was paid on 2026-09-04: listed in September's explorer (paid
    in the period), not in October's."""
    latest = _text(built, "site/explorer.html")
    assert '<script src="2026-10/explorer-data.js"></script>' in latest
    assert 'data-period="2026-10" data-base="2026-10/"' in latest
    october = _text(built, "site/2026-10/explorer.html")
    assert '<script src="explorer-data.js"></script>' in october
    assert '"explorer-data/North-overdue.js"' not in _text(built, "site/2026-10/explorer-data.js")
    assert '"file":"North-overdue.js"' in _text(built, "site/2026-10/explorer-data.js")

    def parts(period: str) -> str:  # the rows: one script per region and status, both renderers
        return "".join(p.read_text(encoding="utf-8") for p in
                       sorted((built["out"] / f"site/{period}/explorer-data").glob("*.js")))  # fmt: skip

    oct_data, sep_data = parts("2026-10"), parts("2026-09")
    assert '"INV-001"' in oct_data and '"INV-007"' not in oct_data
    assert '"INV-007"' in sep_data and '"file":"North-paid.js"' in _text(
        built, "site/2026-09/explorer-data.js"
    )
    assert EVIL not in oct_data and "\\u003cimg" in oct_data
    # older periods' pages link to their own period's explorer
    assert 'href="../explorer.html"' in _text(built, "site/2026-09/North/receivables.html")


def test_two_builds_give_the_same_html(tmp_path):
    """Same reports, two builds: byte-identical pages (no random ids, no build times)."""
    a = build(tmp_path / "a", "builtin")
    b = build(tmp_path / "b", "builtin")
    for rel in EXPECTED_PAGES:
        assert _text(a, rel) == _text(b, rel), rel


def test_failed_pages_are_marked_and_the_others_linked(tmp_path):
    """2026-10 North: the risk page failed without a previous version (published "none": no
    notebook, marked "Risk (failed)" with its error, not linked) and the commission page failed
    with its previous version kept (linked, with a "previous run" badge); receivables is linked
    as usual. The commission page itself says it is older than its neighbours."""
    reports = make_reports(tmp_path / "reports")
    north = reports / "2026-10" / "North"
    (north / "05_risk_scoring.ipynb").unlink()
    manifest_path = reports / "2026-10" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["reports"]["North"]["pages"] = {
        "03_receivables.ipynb": {"status": "ok", "published": "this run"},
        "04_commissions.ipynb": {
            "status": "failed",
            "published": "previous",
            "error": "E1",
            "previous_generated_at": "2026-11-01T09:00:00Z",
        },
        "05_risk_scoring.ipynb": {"status": "failed", "published": "none", "error": "E2 <b>"},
    }
    manifest_path.write_text(json.dumps(manifest))
    out = site.build_site(
        tmp_path / "site", "builtin", reports_dir=reports, project_dir=make_project(tmp_path)
    )
    page = (out / "site" / "2026-10" / "North" / "receivables.html").read_text(encoding="utf-8")
    assert 'title="not produced: E2 &lt;b&gt;">Risk (failed)</span>' in page
    assert 'href="risk.html"' not in page
    assert (
        '<a class="ar-tab" href="commissions.html">Commission Analytics</a> <span class="badge bad"'
        in page
    )
    assert "the last run failed (E1); showing the previous version" in page
    assert "This page is from the previous run" not in page  # receivables is from the last run
    home = (out / "index.html").read_text(encoding="utf-8")
    assert (
        "This period is mixed: 1 page (North: Commission Analytics) comes from an earlier run"
        in home
    )
    older = (out / "site" / "2026-10" / "North" / "commissions.html").read_text(encoding="utf-8")
    assert (
        "This page is from the previous run (generated 2026-11-01T09:00:00Z): its last run failed "
        "(E1), while the other pages of this period come from the last run." in older
    )


def test_a_chart_with_nothing_to_draw_is_one_line_not_an_empty_card():
    """A section whose figure is a placeholder (no risk model) becomes a compact card with the
    reason, without a chart; a real figure next to it keeps its chart."""
    from arinsight.plots.interactive.base import figure, no_data
    from arinsight.site.notebook import Section
    from arinsight.site.sections import sections_html

    empty = Section(
        "Calibration",
        2,
        charts=[{"plotly": no_data("Calibration", "No risk model: 4 < 50").to_plotly_json()}],
    )
    real = Section("Aging", 2, charts=[{"plotly": figure("Aging").to_plotly_json()}])
    cards, _, has_charts = sections_html([empty, real], "site/x.qmd", lambda _: None)
    assert '<article class="ar-card ar-card-empty"><h2>Calibration</h2>' in cards
    assert '<p class="ar-nodata">No risk model: 4 &lt; 50</p>' in cards
    assert cards.count('class="ar-chart"') == 1 and has_charts


def test_customer_pages_are_bounded_on_a_large_ledger(tmp_path):
    """With ``site: {customer_pages: 2}`` and five customers (open balances A 500, B 400, C 300,
    D 0, E 100): pages for the two largest (A, B) plus D, whom North's kpis.json names as a
    high-risk customer; without a limit below the customer count, every customer gets one."""
    from arinsight.site.customer_page import customers_with_pages
    from arinsight.site.reports import PeriodReport, RegionReport

    positions = pd.DataFrame(
        {"customer_id": list("ABCDE"), "open_amount": [500.0, 400.0, 300.0, 0.0, 100.0]}
    )
    north = RegionReport("North", "North", tmp_path, {"high_risk_customers": ["D"]}, {})
    period = PeriodReport("2026-10", tmp_path, {"params": {"site": {"customer_pages": 2}}}, [north])
    assert customers_with_pages(positions, period) == {"A", "B", "D"}
    period = PeriodReport("2026-10", tmp_path, {"params": {}}, [north])
    assert customers_with_pages(positions, period) == set("ABCDE")


def test_a_customer_attribute_the_data_lacks_is_left_out_not_nan(tmp_path):
    """Customers without an industry or a customer type (the SAP export has none): the
    customer's line names what is known and leaves the rest out, never "nan" (315 of 317 pages
    read "Region nan · nan · nan")."""
    reports = make_reports(tmp_path / "reports")
    for period in ("2026-09", "2026-10"):
        for name in ("invoice_explorer.parquet", "customers.parquet"):
            path = reports / period / "All" / name
            frame = pd.read_parquet(path)
            for col in ("industry", "customer_type"):
                if col in frame:
                    frame[col] = None
            frame.to_parquet(path)
    out = site.build_site(
        tmp_path / "site", "builtin", reports_dir=reports, project_dir=make_project(tmp_path)
    )
    page = (out / "site" / "2026-10" / "customers" / "C_1.html").read_text(encoding="utf-8")
    meta = re.search(r'<p class="cust-meta">(.*?)</p>', page).group(1)
    assert "nan" not in meta and "None" not in meta
    assert re.fullmatch(
        r"Customer ID C_1 · Region <a [^>]+>North</a> · payment terms 30 days · as of 2026-10-31",
        meta,
    ), meta


def test_two_site_builds_take_turns(tmp_path, monkeypatch, capsys):
    """Two `arinsight site` at once (two threads) both used to write site/ and swap _site: now
    the second waits for the project's lock (one line on stderr) and they never overlap."""
    import threading
    import time

    active, overlap = [], []

    def prepare(project, reports_dir=None):
        active.append(1)
        overlap.append(len(active))
        time.sleep(0.3)
        active.pop()
        return []

    monkeypatch.setattr(site, "prepare_sources", prepare)
    monkeypatch.setattr(site, "render_builtin", lambda project, out: tmp_path / "_site")
    monkeypatch.setattr(site, "_quarto", lambda: None)
    (tmp_path / "_quarto.yml").write_text("project:\n  type: website\n")
    threads = [
        threading.Thread(target=site.build_site, kwargs={"project_dir": tmp_path}) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert overlap == [1, 1]
    assert capsys.readouterr().err.count("arinsight site: waiting for another arinsight site") == 1


def test_a_long_list_on_a_customer_page_starts_collapsed(tmp_path, monkeypatch):
    """The payments list is open when it is short and collapsed, with its count, when it is
    longer than LONG_LIST (here 0: C_0's one payment)."""
    from arinsight.site import customer_page

    monkeypatch.setattr(customer_page, "LONG_LIST", 0)
    out = site.build_site(
        tmp_path / "site", "builtin", reports_dir=make_reports(tmp_path / "reports"),
        project_dir=make_project(tmp_path),
    )  # fmt: skip
    page = (out / "site" / "2026-10" / "customers" / "C_0.html").read_text(encoding="utf-8")
    assert '<details class="ar-detail"><summary>Payments, last 12 months (1)</summary>' in page
