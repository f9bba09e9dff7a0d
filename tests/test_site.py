"""Tests of arinsight.site: KPI cards, links, the explorer table and a built-in render of a small
reports tree (two periods, two regions) made by :func:`make_reports` (also used by the browser
tests)."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from arinsight import config, site
from arinsight.errors import UserError

EVIL = "<img src=x onerror=alert(1)>"
# a 1x1 PNG, as the figures of the executed notebooks are inline PNGs
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
    )
).decode()

KPIS_OCT_ALL = {
    "period": "2026-10",
    "region": "All",
    "as_of": "2026-10-31",
    "open_ar": 1234567.89,
    "overdue_ar": 234567.5,
    "current_ar": 1000000.39,
    "dso": 45.25,
    "cei": 82.5,
    "ar_turnover_annualised": 6.2,
    "average_days_delinquent": 12.0,
    "customers_over_credit_limit": 7,
    "payment_completion_rate_amount": 85.3,
    "average_days_late": None,
    "total_accrued_commissions": 5400.0,
    "commissions_paid_mtd": 1200.0,
    "average_commission_rate": 2.5,
    "high_risk_customers": ["C_333", "C_260", "C_111"],
    "comparison": {
        "dso": {
            "previous": 40.25,
            "change": 5.0,
            "direction": "up",
            "better": "lower",
            "assessment": "worse",
        },
        "cei": {
            "previous": 80.0,
            "change": 2.5,
            "direction": "up",
            "better": "higher",
            "assessment": "better",
        },
    },
}


def _kpis(period: str, region: str, scale: float) -> dict:
    base = {k: v for k, v in KPIS_OCT_ALL.items() if k != "comparison"}
    out = {k: (round(v * scale, 2) if isinstance(v, float) else v) for k, v in base.items()}
    out.update({"period": period, "region": region, "as_of": f"{period}-30"})
    if region == "All" and period == "2026-10":
        out = dict(KPIS_OCT_ALL)
    if period == "2026-09":
        out["high_risk_customers"] = ["C_333"]
    return out


def _executed(title: str, table_html: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "arinsight",
        "display_name": "Python (arinsight)",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell('period = "2026-10"\nregion = "All"')
    params.metadata["tags"] = ["parameters"]
    fig = nbformat.v4.new_code_cell("plot_aging(tables)")
    fig.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: noisy\n"),
    ]
    tab = nbformat.v4.new_code_cell("top_customers(tables)")
    tab.outputs = [
        nbformat.v4.new_output("execute_result", data={"text/html": table_html}, execution_count=3)
    ]
    prov = nbformat.v4.new_markdown_cell("## Provenance\n\nfrom the runner")
    prov.metadata["tags"] = ["provenance"]
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\nWhat you see and what to do."),
        params,
        nbformat.v4.new_markdown_cell("The aging chart shows where the money is stuck."),
        fig,
        tab,
        prov,
    ]
    return nb


def _explorer_frame() -> pd.DataFrame:
    """12 invoices: 6 North, 4 South, 2 East; 2 are paid (open_amount 0) and never listed."""
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
                "days_late": None,
                "paid_date": None,
                "payment_status": "Paid" if paid else ("Overdue" if i % 3 else "Open - current"),
                "energy_kwh": None,
            }
        )
    return pd.DataFrame(rows)


def make_reports(root: Path) -> Path:
    """reports/ with 2026-09 (All, North) and 2026-10 (All, North, South; South's last run failed
    so its previous report is kept), as `arinsight run` lays them out."""
    pages = {
        "02_clean.ipynb": "Data quality",
        "03_receivables.ipynb": "Receivables Health",
        "04_commissions.ipynb": "Commission Analytics",
        "05_risk_scoring.ipynb": "Risk scoring",
        "06_cash_forecast.ipynb": "Cash Forecast",
    }
    layout = {"2026-09": ["All", "North"], "2026-10": ["All", "North", "South"]}
    for period, regions in layout.items():
        folder = root / period
        reports = {}
        for n, region in enumerate(regions):
            rdir = folder / region
            rdir.mkdir(parents=True)
            for nb_name, title in pages.items():
                if nb_name == "02_clean.ipynb" and region != "All":
                    continue
                table = (
                    "<table class='dataframe'><tr><th>customer</th></tr>"
                    f"<tr><td>{site.esc(EVIL)}</td></tr></table>"
                )
                nbformat.write(_executed(title, table), rdir / nb_name)
            kpis = _kpis(period, region, 1.0 - 0.1 * n)
            (rdir / "kpis.json").write_text(json.dumps(kpis, sort_keys=True, indent=2))
            reports[region] = {
                "dir": region,
                "region": region,
                "status": "ok",
                "published": "previous" if region == "South" else "this run",
                "generated_at": f"{period}-31T10:00:00Z",
                "code_version": "0.1.0 (git abc1234)",
                "params": {"late_days": 30, "note": EVIL},
                "inputs": [
                    {"table": "invoices", "path": "data/sample/invoices.csv", "sha256": "ab" * 32}
                ],
            }
            if region == "South":
                reports[region]["failed_attempt"] = {
                    "started_at": "2026-11-01T09:00:00Z",
                    "dir": "_failed/South",
                }
        _explorer_frame().to_parquet(folder / "All" / "invoice_explorer.parquet")
        (folder / "_failed" / "South").mkdir(parents=True)
        manifest = {
            "period": period,
            "as_of": f"{period}-30" if period == "2026-09" else "2026-10-31",
            "status": "failed" if period == "2026-10" else "ok",
            "finished_at": f"{period}-31T10:00:00Z",
            "code_version": "0.1.0 (git abc1234)",
            "kernel": "arinsight",
            "params": {"reporting_currency": "USD", "late_days": 30},
            "inputs": [],
            "regions": regions,
            "runs": [
                {
                    "region": "South",
                    "notebook": "05_risk_scoring.ipynb",
                    "status": "failed",
                    "error": "boom",
                }
            ]
            if period == "2026-10"
            else [],
            "reports": reports,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (root / ".staging-2026-11-deadbeef").mkdir()
    (root / "notes").mkdir()
    return root


def make_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(config.PROJECT_ROOT / "_quarto.yml", project / "_quarto.yml")
    return project


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("site")
    reports = make_reports(tmp / "reports")
    project = make_project(tmp)
    out = site.build_site(tmp / "out", renderer="builtin", reports_dir=reports, project_dir=project)
    return {"out": out, "project": project, "reports": reports}


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


def test_kpi_change_uses_comparison_then_previous_period():
    """DSO comes from the receivables comparison (40.25 -> 45.25: up 5, worse). Open AR has no
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


def test_kpi_cards_html_values_arrows_and_escaping():
    """13 cards; DSO shows 45.2 days with a red up arrow (worse), CEI a green one (better);
    high-risk customers counts the list (3, previously 1: up 2, worse); text is escaped."""
    prev = {"high_risk_customers": ["C_1"]}
    cards = site.kpi_cards_html(KPIS_OCT_ALL, prev, "USD", "2026-09")
    assert cards.count('class="kpi-card"') == len(site.CARDS)
    dso = re.search(r'data-kpi="dso".*?</div></div>', cards).group(0)
    assert 'data-value="45.25"' in dso and "45.2 days" in dso
    assert "kpi-change bad" in dso and "▲" in dso and "+5.0 days vs 2026-09" in dso
    cei = re.search(r'data-kpi="cei".*?</div></div>', cards).group(0)
    assert "kpi-change good" in cei
    risk = re.search(r'data-kpi="high_risk_customers".*?</div></div>', cards).group(0)
    assert 'data-value="3"' in risk and "+2 vs 2026-09" in risk and "kpi-change bad" in risk
    late = re.search(r'data-kpi="average_days_late".*?</div></div>', cards).group(0)
    assert "n/a" in late and 'data-value=""' in late
    evil = site.kpi_cards_html({"open_ar": 1.0}, None, EVIL)
    assert "<img" not in evil


def test_href_between_pages():
    assert site.href("site/2026-10/North/receivables.ipynb", "index.ipynb") == "../../../index.html"
    assert site.href("index.ipynb", "site/2026-10/All/risk.ipynb") == "site/2026-10/All/risk.html"
    assert site.href("site/archive.ipynb", "site/2026-10/Asia Pacific/risk.ipynb") == (
        "2026-10/Asia%20Pacific/risk.html"
    )


def test_open_invoices_keeps_owed_invoices_oldest_due_first():
    """12 invoices, 2 paid (INV-000, INV-007) -> 10 rows; due dates rise with the number, so the
    order is INV-001, INV-002, ...; dates become ISO text."""
    out = site.open_invoices(_explorer_frame())
    assert len(out) == 10
    assert out["invoice_id"].tolist()[:3] == ["INV-001", "INV-002", "INV-003"]
    assert "INV-007" not in set(out["invoice_id"])
    assert out.loc[0, "due_date"] == "2026-09-02"
    assert list(out.columns) == [c for c, _ in site.EXPLORER_COLUMNS]
    with pytest.raises(ValueError, match="invoice_id"):
        site.open_invoices(pd.DataFrame({"x": [1]}))


def test_explorer_html_is_offline_and_escaped():
    page = site.explorer_html(_explorer_frame())
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "searchPanes" in page
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?:", page)
    assert "unpkg.com" not in page


def test_collect_reports_newest_first(tmp_path):
    """Two periods (the staging and non-period folders are ignored); South of 2026-10 is kept
    from before its failed run."""
    periods = site.collect_reports(make_reports(tmp_path / "reports"))
    assert [p.label for p in periods] == ["2026-10", "2026-09"]
    assert [r.name for r in periods[0].regions] == ["All", "North", "South"]
    assert periods[0].region("South").record["published"] == "previous"
    assert periods[0].all.kpis["open_ar"] == 1234567.89
    assert site.collect_reports(tmp_path / "missing") == []


def test_read_quarto_config_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        site.read_quarto_config(tmp_path)
    (tmp_path / "_quarto.yml").write_text("project:\n  type: book\n")
    with pytest.raises(UserError, match="website"):
        site.read_quarto_config(tmp_path)


def test_quarto_yml_declares_the_pages_and_no_execution():
    cfg = site.read_quarto_config(config.PROJECT_ROOT)
    assert cfg["project"]["output-dir"] == "_site"
    assert "index.ipynb" in cfg["project"]["render"]
    hrefs = [i["href"] for i in cfg["website"]["navbar"]["left"]]
    assert hrefs == [
        "index.ipynb",
        "site/receivables.ipynb",
        "site/commissions.ipynb",
        "site/risk.ipynb",
        "site/forecast.ipynb",
        "site/data-quality.ipynb",
        "site/explorer.ipynb",
        "site/archive.ipynb",
    ]
    html_fmt = cfg["format"]["html"]
    assert html_fmt["echo"] is False and html_fmt["theme"] == "default"
    assert "execute" not in cfg  # Quarto never executes the papermill outputs


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


# --------------------------------------------------------------------------------------------
# the built site
# --------------------------------------------------------------------------------------------

EXPECTED_PAGES = [
    "index.html",
    "site/receivables.html",
    "site/commissions.html",
    "site/risk.html",
    "site/forecast.html",
    "site/data-quality.html",
    "site/explorer.html",
    "site/archive.html",
    "site/2026-10/index.html",
    "site/2026-10/data-quality.html",
    "site/2026-09/index.html",
    "site/2026-09/data-quality.html",
] + [
    f"site/{p}/{r}/{page}.html"
    for p, regions in {"2026-10": ["All", "North", "South"], "2026-09": ["All", "North"]}.items()
    for r in regions
    for page in ("receivables", "commissions", "risk", "forecast")
]


def test_built_site_has_every_page(built):
    out = built["out"]
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert pages == sorted(EXPECTED_PAGES)
    assert (out / "site" / "arinsight.css").is_file()


def test_every_page_has_navbar_provenance_and_no_code(built):
    out = built["out"]
    for rel in EXPECTED_PAGES:
        text = (out / rel).read_text(encoding="utf-8")
        assert text.count('class="ar-navbar"') == 1, rel
        for label in ("Home", "Receivables Health", "Invoice explorer", "Archive"):
            assert f">{label}</a>" in text, (rel, label)
        tail = text[text.rindex('class="provenance"') :]
        assert "</main>" in tail and "<h2>" in tail, rel  # provenance is the page's last block
        assert "generated by arinsight.site" not in text and 'period = "2026-10"' not in text
        assert "plot_aging(tables)" not in text and "UserWarning" not in text
        assert "from the runner" not in text  # the runner's cell is replaced by the manifest's
        assert EVIL not in text, rel
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", text), rel


def test_report_page_content(built):
    """The North receivables page of 2026-10: title from the notebook (its H1 moved to the page
    title), the figure inline, the escaped table, links to the other regions and periods."""
    text = (built["out"] / "site/2026-10/North/receivables.html").read_text(encoding="utf-8")
    assert "<title>Receivables Health: North, 2026-10" in text
    assert "data:image/png;base64," in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert 'href="../South/receivables.html"' in text
    assert 'href="../../2026-09/North/receivables.html"' in text
    assert 'href="../../../index.html"' in text
    south = (built["out"] / "site/2026-10/South/receivables.html").read_text(encoding="utf-8")
    assert "previous good report" in south


def test_home_page_cards_match_kpis(built):
    """The home page shows the latest period (2026-10), All: every card's data-value is the
    kpis.json number; DSO 45.25 is shown as 45.2 days."""
    text = (built["out"] / "index.html").read_text(encoding="utf-8")
    kpis = json.loads((built["reports"] / "2026-10" / "All" / "kpis.json").read_text())
    for key, _ in site.CARDS:
        m = re.search(rf'data-kpi="{key}" data-value="([^"]*)"', text)
        assert m, key
        want = kpis.get(key)
        if key == "high_risk_customers":
            want = len(want)
        assert (json.loads(m.group(1)) if m.group(1) else None) == want, key
    assert "45.2 days" in text and "$1,234,568" in text
    assert "October 2026" in text


def test_explorer_page_rows(built):
    text = (built["out"] / "site/explorer.html").read_text(encoding="utf-8")
    assert "INV-001" in text and "INV-007" not in text  # INV-007 is paid
    assert "&lt;img src=x onerror=alert(1)&gt;" in text and EVIL not in text


def test_sources_prepared_for_quarto(built):
    """The page sources Quarto renders: notebooks whose first cell is YAML front matter with a
    title, and whose outputs are already there (nothing to execute)."""
    nb = nbformat.read(built["project"] / "index.ipynb", as_version=4)
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---\ntitle:")
    assert all(c.outputs for c in nb.cells if c.cell_type == "code")
    assert (built["project"] / "site" / "2026-10" / "North" / "risk.ipynb").is_file()


def test_failed_pages_are_marked_and_the_others_linked(tmp_path):
    """2026-10 North: the risk page failed without a previous version (published "none": no
    notebook, marked "Risk (failed)" with its error, not linked) and the commission page failed
    with its previous version kept (linked, with a "previous run" badge); receivables is linked
    as usual."""
    reports = make_reports(tmp_path / "reports")
    north = reports / "2026-10" / "North"
    (north / "05_risk_scoring.ipynb").unlink()
    manifest_path = reports / "2026-10" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["reports"]["North"]["pages"] = {
        "03_receivables.ipynb": {"status": "ok", "published": "this run"},
        "04_commissions.ipynb": {"status": "failed", "published": "previous", "error": "E1"},
        "05_risk_scoring.ipynb": {"status": "failed", "published": "none", "error": "E2 <b>"},
    }
    manifest_path.write_text(json.dumps(manifest))
    out = site.build_site(
        tmp_path / "site", "builtin", reports_dir=reports, project_dir=make_project(tmp_path)
    )
    page = (out / "site" / "2026-10" / "North" / "receivables.html").read_text(encoding="utf-8")
    assert 'title="not produced: E2 &lt;b&gt;">Risk (failed)</span>' in page
    assert 'href="risk.html"' not in page
    assert '<a href="commissions.html">Commission Analytics</a> <span class="badge bad"' in page
    assert "the last run failed (E1); showing the previous version" in page
