"""The website (DESIGN.md section 9): KPI dashboards of every period and region, from the runs.

Two steps, whichever renderer draws the pages:

1. :func:`prepare_sources` reads ``reports/<period>/`` (manifest.json, kpis.json, the executed
   notebooks) and writes the page sources next to ``_quarto.yml``: the home page
   ``index.ipynb`` (KPI cards of the latest period with change and trend arrow, regions at a
   glance) and, under ``site/``, the latest period's Receivables Health / Commission Analytics /
   Risk / Data Quality pages, every period's and region's pages (copies of the executed
   notebooks with a navigation header and a provenance footer), a period index, the archive and
   the invoice explorer (itables in offline mode, filters for region, industry and payment
   status). Generated pages are notebooks whose cells already hold their HTML outputs, so no
   kernel is needed and both renderers show the same thing. Every value from the data is
   HTML-escaped here; code cells are hidden by the renderers (``echo: false``).
2. Rendering: ``quarto render`` when ``quarto`` is on PATH (``_quarto.yml`` also names this module
   as its ``pre-render`` step, so a bare ``quarto render`` prepares the sources itself); otherwise
   :func:`render_builtin`, which reads the same ``_quarto.yml`` (title, navbar, render list, css,
   output-dir) and renders each page with nbconvert's ``HTMLExporter`` (basic template: no
   MathJax, require.js or CDN link) inside the same navigation.

The site needs no network: the only scripts are the inline itables bundle of the explorer page.
Serve it with ``python -m http.server -d _site`` or open ``_site/index.html``.
"""

from __future__ import annotations

import datetime as dt
import glob
import html
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
import yaml

from arinsight import config
from arinsight.errors import UserError
from arinsight.ledger import ALL_REGIONS, period_bounds

QUARTO_FILE = "_quarto.yml"
SOURCES_DIR = "site"
HOME = "index.ipynb"
_MARKER = ".arinsight-generated"
_CSS = "arinsight.css"

#: (page key, notebook, title) of the per-region pages.
REGION_PAGES: tuple[tuple[str, str, str], ...] = (
    ("receivables", "03_receivables.ipynb", "Receivables Health"),
    ("commissions", "04_commissions.ipynb", "Commission Analytics"),
    ("risk", "05_risk_scoring.ipynb", "Risk"),
    ("forecast", "06_cash_forecast.ipynb", "Cash Forecast"),
)
#: The data-quality page: one per period (cleaning runs once for all regions).
DQ_PAGE: tuple[str, str, str] = ("data-quality", "02_clean.ipynb", "Data Quality")

#: KPI cards of the home page: (kpis.json key, label). Units and good/bad direction come from
#: ``arinsight.receivables`` (KPI_UNITS, KPI_DIRECTION) with the fallbacks below.
CARDS: tuple[tuple[str, str], ...] = (
    ("open_ar", "Open AR"),
    ("overdue_ar", "Overdue AR"),
    ("dso", "DSO"),
    ("cei", "CEI"),
    ("ar_turnover_annualised", "AR turnover (annualised)"),
    ("average_days_delinquent", "Average days delinquent"),
    ("customers_over_credit_limit", "Customers over credit limit"),
    ("payment_completion_rate_amount", "Payment completion (amount)"),
    ("average_days_late", "Average days late"),
    ("total_accrued_commissions", "Accrued commissions"),
    ("commissions_paid_mtd", "Commissions paid (period)"),
    ("average_commission_rate", "Average commission rate"),
    ("high_risk_customers", "High-risk customers"),
)
_UNITS_FALLBACK = {"high_risk_customers": "count"}
_DIRECTION_FALLBACK = {"high_risk_customers": "lower"}

#: Columns of the invoice explorer, in order, with their headers.
EXPLORER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("invoice_id", "Invoice"),
    ("customer_id", "Customer ID"),
    ("customer_name", "Customer"),
    ("region", "Region"),
    ("industry", "Industry"),
    ("invoice_date", "Invoice date"),
    ("due_date", "Due date"),
    ("amount", "Amount"),
    ("open_amount", "Open amount"),
    ("days_past_due", "Days past due"),
    ("payment_status", "Payment status"),
)
EXPLORER_FILTERS: tuple[str, ...] = ("region", "industry", "payment_status")


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too, so it is safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


# --------------------------------------------------------------------------------------------
# reading the reports
# --------------------------------------------------------------------------------------------


@dataclass
class RegionReport:
    """One published region of a period: its folder, kpis.json and provenance record."""

    name: str
    dir: str
    folder: Path
    kpis: dict[str, Any] | None
    record: dict[str, Any]

    def has(self, notebook: str) -> bool:
        return (self.folder / notebook).is_file()

    def page(self, notebook: str) -> dict[str, Any]:
        """The run's record of one page: status, published ("this run", "previous", "none"),
        error (empty for reports written before pages were recorded)."""
        return dict((self.record.get("pages") or {}).get(notebook) or {})

    def failed_note(self, notebook: str) -> str | None:
        """Why a page is missing or older than the rest of the region (None when it is not)."""
        page = self.page(notebook)
        if page.get("published") == "none":
            return f"not produced: {page.get('error') or 'the page failed'}"
        if page.get("published") == "previous":
            return f"the last run failed ({page.get('error')}); showing the previous version"
        return None


@dataclass
class PeriodReport:
    """A period folder under reports/ with its manifest and published regions."""

    label: str
    folder: Path
    manifest: dict[str, Any]
    regions: list[RegionReport] = field(default_factory=list)

    def region(self, name: str) -> RegionReport | None:
        return next((r for r in self.regions if r.name == name), None)

    @property
    def all(self) -> RegionReport | None:
        return self.region(ALL_REGIONS)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def collect_reports(reports_dir: str | os.PathLike[str] | None = None) -> list[PeriodReport]:
    """Every published period (a folder with a manifest.json), newest first."""
    root = Path(reports_dir) if reports_dir else config.REPORTS_DIR
    found: list[tuple[Any, PeriodReport]] = []
    if not root.is_dir():
        return []
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name.startswith((".", "_")):
            continue
        try:
            period = period_bounds(folder.name)
        except ValueError:
            continue
        manifest = _load_json(folder / "manifest.json")
        if not isinstance(manifest, dict):
            continue
        report = PeriodReport(folder.name, folder, manifest)
        records = manifest.get("reports") or {}
        for name in manifest.get("regions") or list(records):
            record = records.get(name) or {}
            rdir = record.get("dir") or name
            if record.get("published") == "none" or not (folder / rdir).is_dir():
                continue
            kpis = _load_json(folder / rdir / "kpis.json")
            report.regions.append(
                RegionReport(
                    name, rdir, folder / rdir, kpis if isinstance(kpis, dict) else None, record
                )
            )
        found.append(((period.end, period.start), report))
    found.sort(key=lambda item: item[0], reverse=True)
    return [r for _, r in found]


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------


def _units() -> tuple[dict[str, str], dict[str, str]]:
    try:
        from arinsight.receivables import KPI_DIRECTION, KPI_UNITS
    except ImportError:  # pragma: no cover - receivables always ships with the package
        KPI_DIRECTION, KPI_UNITS = {}, {}
    return {**_UNITS_FALLBACK, **KPI_UNITS}, {**_DIRECTION_FALLBACK, **KPI_DIRECTION}


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def format_value(value: Any, unit: str, currency: str = "USD", signed: bool = False) -> str:
    """A KPI value as card text: money to whole units with thousands separators ("$1,234,568"),
    days and percent to one decimal ("42.1 days", "85.3%"), times to two ("6.20x"), counts whole;
    None, NaN and non-numbers are "n/a". ``signed`` puts "+" before positive values (changes)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return "n/a"
    sign = "+" if signed and value > 0 else "-" if value < 0 else ""
    v = abs(float(value))
    if unit == "money":
        symbol = _SYMBOLS.get(currency)
        return f"{sign}{symbol}{v:,.0f}" if symbol else f"{sign}{v:,.0f} {currency}"
    if unit == "days":
        return f"{sign}{v:,.1f} days"
    if unit == "percent":
        return f"{sign}{v:,.1f}%"
    if unit == "times":
        return f"{sign}{v:,.2f}x"
    if unit == "count":
        return f"{sign}{v:,.0f}"
    return f"{sign}{v:,.2f}"


def _card_value(kpis: Mapping[str, Any] | None, key: str) -> Any:
    if not kpis:
        return None
    value = kpis.get(key)
    if key == "high_risk_customers":
        return len(value) if isinstance(value, list) else None
    return value


def kpi_change(
    key: str,
    current: Mapping[str, Any] | None,
    previous: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Change of one KPI vs the previous period and whether that is good.

    Uses the ``comparison`` the receivables notebook wrote into kpis.json when it has this KPI
    (it knows the previous period even when that period was never run); otherwise compares with
    the previous period's kpis.json: change = current - previous; direction "up"/"down"/"flat";
    assessment "better"/"worse" from the KPI's good direction (lower DSO is better), "same" when
    flat, None when the KPI is neither good nor bad or either value is missing.
    """
    _, directions = _units()
    cmp = ((current or {}).get("comparison") or {}).get(key)
    if isinstance(cmp, Mapping) and key != "high_risk_customers":
        return {
            "previous": cmp.get("previous"),
            "change": cmp.get("change"),
            "direction": cmp.get("direction"),
            "assessment": cmp.get("assessment"),
        }
    cur, prev = _card_value(current, key), _card_value(previous, key)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (cur, prev))
    if not numeric:
        return {"previous": prev, "change": None, "direction": None, "assessment": None}
    change = round(float(cur) - float(prev), 4) + 0.0
    tol = 1e-9 * max(1.0, abs(float(cur)), abs(float(prev)))
    direction = "up" if change > tol else "down" if change < -tol else "flat"
    better = directions.get(key)
    if direction == "flat":
        assessment = "same"
    elif better in ("higher", "lower"):
        assessment = "better" if (direction == "up") == (better == "higher") else "worse"
    else:
        assessment = None
    return {"previous": prev, "change": change, "direction": direction, "assessment": assessment}


_ARROWS = {"up": "▲", "down": "▼", "flat": "▶"}
_TONES = {"better": "good", "worse": "bad"}


def kpi_cards_html(
    kpis: Mapping[str, Any] | None,
    previous: Mapping[str, Any] | None = None,
    currency: str = "USD",
    previous_label: str | None = None,
) -> str:
    """The home page's KPI cards: label, value, change vs the previous period with a trend arrow
    coloured by whether the change is good (green), bad (red) or neither (grey).

    Each card carries ``data-kpi`` and ``data-value`` (the exact kpis.json number) so checks can
    compare the page with kpis.json. Every text is escaped.
    """
    units, _ = _units()
    cards = []
    for key, label in CARDS:
        unit = units.get(key, "")
        value = _card_value(kpis, key)
        ch = kpi_change(key, kpis, previous)
        arrow = _ARROWS.get(ch["direction"] or "", "")
        tone = _TONES.get(ch["assessment"] or "", "neutral")
        if ch["change"] is None:
            change_text = "no previous period" if ch["previous"] is None else "n/a"
        else:
            change_text = format_value(ch["change"], unit, currency, signed=True)
            if unit == "percent":  # a change of a percentage is in percentage points
                change_text = change_text.replace("%", " pts")
            if previous_label:
                change_text += f" vs {previous_label}"
        title = (
            f"previous: {format_value(ch['previous'], unit, currency)}"
            if ch["previous"] is not None
            else "no previous value"
        )
        data_value = "" if value is None else json.dumps(value)
        cards.append(
            f'<div class="kpi-card" data-kpi="{esc(key)}" data-value="{esc(data_value)}">'
            f'<div class="kpi-label">{esc(label)}</div>'
            f'<div class="kpi-value">{esc(format_value(value, unit, currency))}</div>'
            f'<div class="kpi-change {tone}" title="{esc(title)}" '
            f'data-assessment="{esc(ch["assessment"] or "")}">'
            f'<span class="kpi-arrow" aria-hidden="true">{arrow}</span> {esc(change_text)}</div>'
            "</div>"
        )
    return '<div class="kpi-cards">' + "".join(cards) + "</div>"


# --------------------------------------------------------------------------------------------
# links and generated notebooks
# --------------------------------------------------------------------------------------------


def _html_path(source: str) -> str:
    return re.sub(r"\.(ipynb|qmd|md)$", ".html", source)


def href(from_source: str, to_source: str) -> str:
    """Relative URL from one page to another (sources relative to the project, posix)."""
    start = posixpath.dirname(_html_path(from_source)) or "."
    rel = posixpath.relpath(_html_path(to_source), start)
    return "/".join(quote(part) for part in rel.split("/"))


def _nb(title: str, blocks: Iterable[str], kind: str) -> nbformat.NotebookNode:
    """A generated page: front matter with the title, then one hidden code cell per HTML block."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["arinsight"] = {"generated": kind}
    nb.cells.append(_front_matter(title))
    for block in blocks:
        nb.cells.append(_html_cell(block))
    return nb


def _front_matter(title: str) -> nbformat.NotebookNode:
    text = yaml.safe_dump({"title": title}, allow_unicode=True, sort_keys=False).strip()
    return nbformat.v4.new_raw_cell(f"---\n{text}\n---")


def _html_cell(block: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("# generated by arinsight.site")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": block})]
    cell.execution_count = None
    return cell


def _write_nb(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _provenance_html(
    period: PeriodReport, region: RegionReport | None, notebook: str | None = None
) -> str:
    """A page's provenance from the manifest: period, region, when and with what it was made."""
    rec = (region.record if region else None) or {}
    manifest = period.manifest
    params = rec.get("params") or manifest.get("params") or {}
    inputs = rec.get("inputs") or manifest.get("inputs") or []
    published = rec.get("published")
    status = rec.get("status") or manifest.get("status")
    if published == "previous":
        attempt = (rec.get("failed_attempt") or {}).get("started_at")
        status = f"previous good report kept (the run started {attempt} failed)"
    rows = [
        ("Dataset", (manifest.get("dataset") or {}).get("name")),
        ("Period", period.label),
        ("As of", manifest.get("as_of")),
        ("Region", region.name if region else "all regions"),
        ("Notebook", notebook),
        ("Status", status),
        ("Generated at", rec.get("generated_at") or manifest.get("finished_at")),
        ("Code version", rec.get("code_version") or manifest.get("code_version")),
        ("Kernel", manifest.get("kernel")),
    ]
    body = "".join(
        f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in rows if v is not None
    )
    param_rows = "".join(
        f"<tr><td><code>{esc(k)}</code></td><td><code>{esc(json.dumps(v, sort_keys=True, default=str))}</code></td></tr>"
        for k, v in sorted(params.items())
    )
    input_rows = "".join(
        f"<tr><td>{esc(i.get('table'))}</td><td><code>{esc(i.get('path'))}</code></td>"
        f"<td><code>{esc(i.get('sha256'))}</code></td></tr>"
        for i in inputs
        if isinstance(i, Mapping)
    )
    return (
        '<section class="provenance"><h2>Provenance</h2>'
        f'<table class="provenance-table"><tbody>{body}</tbody></table>'
        f"<details><summary>Parameters ({len(params)})</summary>"
        f'<table class="provenance-table"><tbody>{param_rows}</tbody></table></details>'
        f"<details><summary>Input files ({len(inputs)}, sha256)</summary>"
        f'<table class="provenance-table"><tbody>{input_rows}</tbody></table></details>'
        "</section>"
    )


def _failed_badge(note: str | None) -> str:
    return f' <span class="badge bad" title="{esc(note)}">previous run</span>' if note else ""


def _is_h1_title(source: str) -> bool:
    return source.lstrip().startswith("# ")


def _report_page(
    src: Path,
    title: str,
    header: str,
    footer: str,
) -> nbformat.NotebookNode:
    """An executed notebook prepared for the site: title in front matter (its own first heading
    removed), a navigation header, stderr/warnings and the runner's provenance cell removed,
    and the provenance footer from the manifest at the end."""
    nb = nbformat.read(src, as_version=4)
    nb.metadata.pop("widgets", None)
    nb.metadata.setdefault("arinsight", {})["generated"] = "report"
    cells = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "provenance" in tags:
            continue
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
        cells.append(cell)
    if cells and cells[0].cell_type == "markdown" and _is_h1_title(cells[0].source):
        rest = cells[0].source.lstrip().split("\n", 1)
        if len(rest) > 1 and rest[1].strip():
            cells[0].source = rest[1].lstrip("\n")
        else:
            cells.pop(0)
    nb.cells = [_front_matter(title), _html_cell(header), *cells, _html_cell(footer)]
    return nb


# --------------------------------------------------------------------------------------------
# the pages
# --------------------------------------------------------------------------------------------


def _region_source(period: str, region: RegionReport, page: str) -> str:
    return f"{SOURCES_DIR}/{period}/{region.dir}/{page}.ipynb"


def _dq_source(period: str) -> str:
    return f"{SOURCES_DIR}/{period}/{DQ_PAGE[0]}.ipynb"


def _period_source(period: str) -> str:
    return f"{SOURCES_DIR}/{period}/index.ipynb"


def _latest_source(page: str) -> str:
    return f"{SOURCES_DIR}/{page}.ipynb"


ARCHIVE = f"{SOURCES_DIR}/archive.ipynb"
EXPLORER = f"{SOURCES_DIR}/explorer.ipynb"


def _currency(period: PeriodReport) -> str:
    return str((period.manifest.get("params") or {}).get("reporting_currency") or "USD")


def _month_name(label: str) -> str:
    try:
        return dt.date.fromisoformat(label + "-01").strftime("%B %Y")
    except ValueError:
        return label


class _Builder:
    """Writes every page source for a list of periods (newest first)."""

    def __init__(self, project_dir: Path, periods: list[PeriodReport]):
        self.project_dir = project_dir
        self.periods = periods
        self.latest = next((p for p in periods if p.all and p.all.kpis), None)
        self.written: list[str] = []

    def write(self, source: str, nb: nbformat.NotebookNode) -> None:
        _write_nb(nb, self.project_dir / source)
        self.written.append(source)

    def previous_of(self, period: PeriodReport) -> PeriodReport | None:
        try:
            label = period_bounds(period.label).previous().label
        except ValueError:
            return None
        return next((p for p in self.periods if p.label == label), None)

    # -- navigation header of report pages ---------------------------------------------------

    def context_nav(
        self, source: str, period: PeriodReport, region: RegionReport | None, page: str
    ) -> str:
        def link(target: str, text: str, current: bool) -> str:
            if current:
                return f'<strong aria-current="page">{esc(text)}</strong>'
            return f'<a href="{esc(href(source, target))}">{esc(text)}</a>'

        pages = []
        for key, nb_name, title in REGION_PAGES:
            shown = region if region is not None else period.all
            if shown is not None and shown.has(nb_name):
                pages.append(
                    link(_region_source(period.label, shown, key), title, key == page)
                    + _failed_badge(shown.failed_note(nb_name))
                )
            elif shown is not None and shown.failed_note(nb_name):
                pages.append(
                    f'<span class="page-failed" title="{esc(shown.failed_note(nb_name))}">'
                    f"{esc(title)} (failed)</span>"
                )
        if period.all and period.all.has(DQ_PAGE[1]):
            pages.append(link(_dq_source(period.label), DQ_PAGE[2], page == DQ_PAGE[0]))
        regions = []
        target_page = page if page != DQ_PAGE[0] else REGION_PAGES[0][0]
        nb_for = {k: n for k, n, _ in REGION_PAGES}
        for r in period.regions:
            if r.has(nb_for[target_page]):
                regions.append(
                    link(
                        _region_source(period.label, r, target_page),
                        r.name,
                        region is not None and r.name == region.name and page != DQ_PAGE[0],
                    )
                )
        periods = []
        region_name = region.name if region else ALL_REGIONS
        for p in self.periods:
            r = p.region(region_name) or p.all
            if page == DQ_PAGE[0]:
                if p.all and p.all.has(DQ_PAGE[1]):
                    periods.append(link(_dq_source(p.label), p.label, p.label == period.label))
            elif r is not None and r.has(nb_for[target_page]):
                periods.append(
                    link(
                        _region_source(p.label, r, target_page),
                        p.label,
                        p.label == period.label,
                    )
                )
        rows = [
            (
                "Period",
                link(_period_source(period.label), period.label, False)
                + f' <span class="muted">(as of {esc(period.manifest.get("as_of"))})</span>',
            ),
            ("Pages", " · ".join(pages)),
            ("Regions", " · ".join(regions)),
            ("Periods", " · ".join(periods) + " · " + link(ARCHIVE, "archive", False)),
        ]
        notice = ""
        if region is not None and region.record.get("published") == "previous":
            notice = (
                '<p class="notice bad">The last run of this region failed; this is the previous '
                "good report.</p>"
            )
        body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows if v)
        return f'<nav class="ar-context"><table><tbody>{body}</tbody></table>{notice}</nav>'

    # -- pages -------------------------------------------------------------------------------

    def report_pages(self) -> None:
        for period in self.periods:
            for region in period.regions:
                for key, nb_name, title in REGION_PAGES:
                    if not region.has(nb_name):
                        continue
                    source = _region_source(period.label, region, key)
                    self.write(
                        source,
                        _report_page(
                            region.folder / nb_name,
                            f"{title}: {region.name}, {period.label}",
                            self.context_nav(source, period, region, key),
                            _provenance_html(period, region, nb_name),
                        ),
                    )
            if period.all and period.all.has(DQ_PAGE[1]):
                source = _dq_source(period.label)
                self.write(
                    source,
                    _report_page(
                        period.all.folder / DQ_PAGE[1],
                        f"{DQ_PAGE[2]}: {period.label}",
                        self.context_nav(source, period, None, DQ_PAGE[0]),
                        _provenance_html(period, period.all, DQ_PAGE[1]),
                    ),
                )
            self.period_index(period)

    def latest_pages(self) -> None:
        """The navbar's Receivables / Commissions / Risk / Data Quality: latest period, All."""
        for key, nb_name, title in (*REGION_PAGES, DQ_PAGE):
            source = _latest_source(key)
            latest = self.latest
            all_region = latest.all if latest else None
            if latest and all_region and all_region.has(nb_name):
                region = None if key == DQ_PAGE[0] else all_region
                self.write(
                    source,
                    _report_page(
                        all_region.folder / nb_name,
                        f"{title}: {ALL_REGIONS if region else 'all regions'}, {latest.label}",
                        self.context_nav(source, latest, region, key),
                        _provenance_html(latest, all_region, nb_name),
                    ),
                )
            else:
                self.write(source, _nb(title, [_empty_html()], "placeholder"))

    def region_table(self, source: str, period: PeriodReport) -> str:
        units, _ = _units()
        currency = _currency(period)
        cols = [
            ("open_ar", "Open AR"),
            ("overdue_ar", "Overdue AR"),
            ("dso", "DSO"),
            ("cei", "CEI"),
            ("customers_over_credit_limit", "Over credit limit"),
            ("high_risk_customers", "High-risk customers"),
        ]
        head = "".join(f"<th>{esc(t)}</th>" for _, t in cols)
        rows = []
        for r in period.regions:
            cells = "".join(
                f'<td class="num">{esc(format_value(_card_value(r.kpis, k), units.get(k, ""), currency))}</td>'
                for k, _ in cols
            )
            links = " · ".join(
                f'<a href="{esc(href(source, _region_source(period.label, r, key)))}">{esc(title)}</a>'
                + _failed_badge(r.failed_note(nb_name))
                if r.has(nb_name)
                else f'<span class="page-failed" title="{esc(r.failed_note(nb_name))}">'
                f"{esc(title)} (failed)</span>"
                for key, nb_name, title in REGION_PAGES
                if r.has(nb_name) or r.failed_note(nb_name)
            )
            flag = (
                ' <span class="badge bad">previous report</span>'
                if r.record.get("published") == "previous"
                else ""
            )
            rows.append(f'<tr><th scope="row">{esc(r.name)}{flag}</th>{cells}<td>{links}</td></tr>')
        return (
            '<table class="ar-table regions"><thead><tr><th>Region</th>'
            f"{head}<th>Pages</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )

    def home(self) -> None:
        latest = self.latest
        if latest is None:
            self.write(HOME, _nb("Accounts receivable", [_empty_html()], "home"))
            return
        previous = self.previous_of(latest)
        prev_kpis = previous.all.kpis if previous and previous.all else None
        dataset = (latest.manifest.get("dataset") or {}).get("name")
        intro = (
            (f'<p class="dataset">Dataset: <strong>{esc(dataset)}</strong></p>' if dataset else "")
            + f'<p class="lead">Latest period: <strong>{esc(_month_name(latest.label))}</strong> '
            f"(as of {esc(latest.manifest.get('as_of'))}), all regions. Changes are against "
            f"{esc(previous.label) if previous else 'the previous period'}; green arrows are "
            "good news, red ones need attention.</p>"
        )
        cards = kpi_cards_html(
            latest.all.kpis,
            prev_kpis,
            _currency(latest),
            previous.label if previous else period_bounds(latest.label).previous().label,
        )
        more = (
            '<p class="links">'
            f'<a href="{esc(href(HOME, _period_source(latest.label)))}">Period overview</a> · '
            f'<a href="{esc(href(HOME, EXPLORER))}">Invoice explorer</a> · '
            f'<a href="{esc(href(HOME, ARCHIVE))}">Archive of periods</a></p>'
        )
        table = "<h2>Regions at a glance</h2>" + self.region_table(HOME, latest)
        self.write(
            HOME,
            _nb(
                "Accounts receivable",
                [intro + cards, table + more, _provenance_html(latest, latest.all)],
                "home",
            ),
        )

    def period_index(self, period: PeriodReport) -> None:
        source = _period_source(period.label)
        failed = [
            r for r in period.manifest.get("runs") or [] if r.get("status") not in ("ok", "reused")
        ]
        notice = ""
        if failed:
            items = "".join(
                f"<li>{esc(r.get('region'))} / {esc(r.get('notebook'))}: {esc(r.get('error'))}</li>"
                for r in failed
            )
            notice = (
                f'<div class="notice bad"><p>The last run had failures:</p><ul>{items}</ul></div>'
            )
        dq = (
            f'<p><a href="{esc(href(source, _dq_source(period.label)))}">{esc(DQ_PAGE[2])}</a></p>'
            if period.all and period.all.has(DQ_PAGE[1])
            else ""
        )
        intro = (
            f"<p>{esc(_month_name(period.label))}, as of {esc(period.manifest.get('as_of'))}. "
            f"Run status: <strong>{esc(period.manifest.get('status'))}</strong>.</p>"
        )
        self.write(
            source,
            _nb(
                f"Period {period.label}",
                [
                    intro + notice + self.region_table(source, period) + dq,
                    _provenance_html(period, period.all),
                ],
                "period",
            ),
        )

    def archive(self) -> None:
        rows = []
        for period in self.periods:
            regions = " · ".join(
                f'<a href="{esc(href(ARCHIVE, _region_source(period.label, r, REGION_PAGES[0][0])))}">{esc(r.name)}</a>'
                for r in period.regions
                if r.has(REGION_PAGES[0][1])
            )
            dq = (
                f'<a href="{esc(href(ARCHIVE, _dq_source(period.label)))}">{esc(DQ_PAGE[2])}</a>'
                if period.all and period.all.has(DQ_PAGE[1])
                else ""
            )
            rows.append(
                "<tr>"
                f'<th scope="row"><a href="{esc(href(ARCHIVE, _period_source(period.label)))}">{esc(period.label)}</a></th>'
                f"<td>{esc(period.manifest.get('as_of'))}</td>"
                f"<td>{esc(period.manifest.get('status'))}</td>"
                f"<td>{regions}</td><td>{dq}</td>"
                f"<td>{esc(period.manifest.get('finished_at'))}</td>"
                "</tr>"
            )
        table = (
            '<table class="ar-table archive"><thead><tr><th>Period</th><th>As of</th>'
            "<th>Run status</th><th>Regions</th><th>Data quality</th><th>Generated at</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            if rows
            else _empty_html()
        )
        blocks = [table]
        if self.latest:
            blocks.append(_provenance_html(self.latest, self.latest.all))
        self.write(ARCHIVE, _nb("Archive of periods", blocks, "archive"))

    def explorer(self) -> None:
        latest = self.latest
        path = latest.all.folder / "invoice_explorer.parquet" if latest and latest.all else None
        if path is None or not path.is_file():
            self.write(
                EXPLORER,
                _nb(
                    "Invoice explorer",
                    ['<p class="notice">No invoice data published yet.</p>'],
                    "explorer",
                ),
            )
            return
        import pandas as pd

        table = pd.read_parquet(path)
        blocks = [
            f'<p class="lead">Open invoices at {esc(latest.manifest.get("as_of"))} '
            "(all regions). Use the filters above the table to narrow by region, industry and "
            "payment status; click a column to sort, type in the search box to find a customer "
            "or an invoice.</p>",
            explorer_html(table),
            _provenance_html(latest, latest.all, "invoice_explorer.parquet"),
        ]
        self.write(EXPLORER, _nb(f"Invoice explorer: {latest.label}", blocks, "explorer"))


def _empty_html() -> str:
    return (
        '<p class="notice">No reports yet. Run <code>arinsight run --period YYYY-MM</code>, '
        "then <code>arinsight site</code>.</p>"
    )


def open_invoices(table: Any) -> Any:
    """The explorer's rows: invoices still owed at T (open amount > 0), oldest due date first,
    with the explorer columns; dates as ISO text, money to cents."""
    import pandas as pd

    df = table
    if "invoice_id" not in df.columns or not {"open_amount", "balance"} & set(df.columns):
        raise ValueError("invoice explorer table: needs invoice_id and open_amount (or balance)")
    if "open_amount" in df.columns:
        df = df[df["open_amount"].fillna(0) > 0]
    elif "balance" in df.columns:
        df = df[df["balance"].fillna(0) > 0]
    cols = [c for c, _ in EXPLORER_COLUMNS if c in df.columns]
    if "open_amount" not in df.columns and "balance" in df.columns:
        cols = [("balance" if c == "open_amount" else c) for c in cols]
    out = df[cols].copy()
    for c in ("invoice_date", "due_date"):
        if c in out.columns:
            out[c] = pd.to_datetime(out[c], errors="coerce").dt.strftime("%Y-%m-%d")
    for c in ("amount", "open_amount", "balance"):
        if c in out.columns:
            out[c] = pd.to_numeric(out[c], errors="coerce").round(2)
    if "days_past_due" in out.columns:
        out["days_past_due"] = pd.to_numeric(out["days_past_due"], errors="coerce").astype("Int64")
    sort = [c for c in ("due_date", "invoice_id") if c in out.columns]
    return out.sort_values(sort, kind="stable").reset_index(drop=True) if sort else out


def explorer_html(table: Any) -> str:
    """The invoice explorer: an itables (DataTables) table of the open invoices in offline mode
    (the DataTables bundle is inlined, nothing is fetched), with SearchPanes filters for region,
    industry and payment status. itables escapes every value (``allow_html=False``)."""
    from itables import javascript as itjs
    from itables import options as itopt

    df = open_invoices(table)
    labels = dict(EXPLORER_COLUMNS)
    df = df.rename(columns={c: labels.get(c, c.replace("_", " ").capitalize()) for c in df.columns})
    filter_cols = [
        list(df.columns).index(labels[c]) for c in EXPLORER_FILTERS if labels[c] in df.columns
    ]
    init = itjs.generate_init_offline_itables_html(itopt.dt_bundle)
    table_html = itjs.to_html_datatable(
        df,
        connected=False,
        maxBytes=0,
        maxRows=0,
        showIndex=False,
        allow_html=False,
        table_id="invoice_explorer",
        classes="display compact",
        layout={"top1": "searchPanes", "topStart": "pageLength", "topEnd": "search"},
        searchPanes={
            "columns": filter_cols,
            "layout": f"columns-{max(1, len(filter_cols))}",
            "cascadePanes": True,
            "viewTotal": True,
            "initCollapsed": False,
            "orderable": False,
        },
        columnDefs=[{"searchPanes": {"show": True}, "targets": filter_cols}],
        lengthMenu=[10, 25, 50, 100],
        pageLength=25,
    )
    return f'<div class="explorer">{init}{table_html}</div>'


# --------------------------------------------------------------------------------------------
# preparing the sources
# --------------------------------------------------------------------------------------------


def read_quarto_config(project_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``_quarto.yml`` of the project as a mapping."""
    path = Path(project_dir or config.PROJECT_ROOT) / QUARTO_FILE
    if not path.is_file():
        raise UserError(f"{path}: not found (the website's configuration)")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or (data.get("project") or {}).get("type") != "website":
        raise UserError(f"{path}: expected `project: type: website`")
    return data


def _clear_generated(project_dir: Path) -> None:
    folder = project_dir / SOURCES_DIR
    if folder.exists():
        if not (folder / _MARKER).exists() and any(folder.iterdir()):
            raise UserError(
                f"{folder}: exists and was not generated by arinsight; move it away first"
            )
        shutil.rmtree(folder)
    home = project_dir / HOME
    if home.exists():
        meta = nbformat.read(home, as_version=4).metadata.get("arinsight", {})
        if not meta.get("generated"):
            raise UserError(f"{home}: exists and was not generated by arinsight")


def prepare_sources(
    project_dir: str | os.PathLike[str] | None = None,
    reports_dir: str | os.PathLike[str] | None = None,
) -> list[str]:
    """Write every page source (``index.ipynb`` and ``site/``) from the reports; returns them."""
    project = Path(project_dir or config.PROJECT_ROOT)
    read_quarto_config(project)
    periods = collect_reports(reports_dir)
    _clear_generated(project)
    folder = project / SOURCES_DIR
    folder.mkdir(parents=True)
    (folder / _MARKER).write_text("generated by arinsight.site; rebuilt on every build\n")
    css = resources.files("arinsight").joinpath("site_assets", _CSS).read_text(encoding="utf-8")
    (folder / _CSS).write_text(css, encoding="utf-8")
    builder = _Builder(project, periods)
    builder.home()
    builder.latest_pages()
    builder.report_pages()
    builder.archive()
    builder.explorer()
    return builder.written


# --------------------------------------------------------------------------------------------
# the built-in renderer
# --------------------------------------------------------------------------------------------


def _render_list(project: Path, cfg: Mapping[str, Any]) -> list[str]:
    patterns = (cfg.get("project") or {}).get("render") or ["**/*.ipynb"]
    out: list[str] = []
    for pattern in patterns:
        if str(pattern).startswith("!"):
            continue
        for path in sorted(glob.glob(str(project / pattern), recursive=True)):
            rel = Path(path).relative_to(project).as_posix()
            if (
                rel.endswith(".ipynb")
                and rel not in out
                and not any(part.startswith(("_", ".")) for part in rel.split("/"))
            ):
                out.append(rel)
    return out


def _nav_items(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    navbar = (cfg.get("website") or {}).get("navbar") or {}
    items = []
    for side in ("left", "right"):
        for item in navbar.get(side) or []:
            if isinstance(item, str):
                items.append({"href": item, "text": Path(item).stem})
            elif isinstance(item, Mapping):
                items.append(dict(item))
    return items


def _navbar_html(source: str, cfg: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    website = cfg.get("website") or {}
    title = website.get("title") or "arinsight"

    def one(item: Mapping[str, Any]) -> str:
        if item.get("menu"):
            sub = "".join(one(i) for i in item["menu"] if isinstance(i, Mapping))
            return f'<li class="menu"><span>{esc(item.get("text", ""))}</span><ul>{sub}</ul></li>'
        target = str(item.get("href", ""))
        text = item.get("text") or titles.get(target) or target
        active = ' class="active" aria-current="page"' if target == source else ""
        link = target if re.match(r"^[a-z]+:", target) else href(source, target)
        return f'<li><a href="{esc(link)}"{active}>{esc(text)}</a></li>'

    items = "".join(one(i) for i in _nav_items(cfg))
    return (
        '<header class="ar-navbar"><nav class="navbar" aria-label="Site">'
        f'<a class="ar-brand" href="{esc(href(source, HOME))}">{esc(title)}</a>'
        f'<ul class="navbar-nav">{items}</ul></nav></header>'
    )


def _front_title(nb: nbformat.NotebookNode) -> tuple[str | None, nbformat.NotebookNode]:
    """Title from a leading raw YAML front-matter cell, and the notebook without that cell."""
    if nb.cells and nb.cells[0].cell_type == "raw":
        text = nb.cells[0].source.strip()
        if text.startswith("---"):
            meta = yaml.safe_load(text.strip("-\n")) or {}
            nb.cells = nb.cells[1:]
            return (str(meta.get("title")) if meta.get("title") else None), nb
    return None, nb


def render_builtin(
    project_dir: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Render the prepared sources like Quarto would, with nbconvert (no network, no kernel)."""
    from nbconvert import HTMLExporter

    project = Path(project_dir or config.PROJECT_ROOT)
    cfg = read_quarto_config(project)
    out_cfg = (cfg.get("project") or {}).get("output-dir") or "_site"
    out = Path(output_dir) if output_dir else project / out_cfg
    fmt = ((cfg.get("format") or {}).get("html")) or {}
    css_files = fmt.get("css") or []
    css_files = [css_files] if isinstance(css_files, str) else list(css_files)
    site_title = (cfg.get("website") or {}).get("title") or "arinsight"
    sources = _render_list(project, cfg)
    echo = fmt.get("echo", (cfg.get("execute") or {}).get("echo", True))
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=echo is False,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    notebooks = {}
    titles = {}
    for source in sources:
        nb = nbformat.read(project / source, as_version=4)
        title, nb = _front_title(nb)
        notebooks[source] = nb
        titles[source] = title or Path(source).stem
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        for css in css_files:
            if (project / css).is_file():
                (tmp / css).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(project / css, tmp / css)
        for source, nb in notebooks.items():
            body, _ = exporter.from_notebook_node(nb)
            links = "".join(
                f'<link rel="stylesheet" href="{esc(href(source, css))}">' for css in css_files
            )
            page_title = titles[source]
            doc = (
                '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                '<meta name="generator" content="arinsight built-in renderer (nbconvert)">\n'
                f"<title>{esc(page_title)} – {esc(site_title)}</title>\n{links}\n</head>\n"
                f'<body class="arinsight">\n{_navbar_html(source, cfg, titles)}\n'
                '<main class="ar-content">\n'
                f'<header class="ar-title-block"><h1 class="title">{esc(page_title)}</h1></header>\n'
                f"{body}\n</main>\n</body>\n</html>\n"
            )
            target = tmp / _html_path(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(doc, encoding="utf-8")
        (tmp / _MARKER).write_text("rendered by arinsight.site (built-in renderer)\n")
        trash = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        if out.exists():
            if (
                not (out / _MARKER).exists()
                and not (out / "index.html").exists()
                and any(out.iterdir())
            ):
                raise UserError(f"{out}: exists and does not look like a rendered site")
            os.replace(out, trash)
        os.replace(tmp, out)
        shutil.rmtree(trash, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


# --------------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------------


def _quarto() -> str | None:
    return shutil.which("quarto")


def build_site(
    output_dir: str | os.PathLike[str] | None = None,
    renderer: str = "auto",
    *,
    reports_dir: str | os.PathLike[str] | None = None,
    project_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Build the website; returns the folder holding index.html.

    ``renderer``: "quarto" (``quarto render``; an error when quarto is not on PATH), "builtin"
    (nbconvert), or "auto" (quarto when on PATH, else builtin). ``output_dir`` overrides
    ``_quarto.yml``'s ``output-dir`` (default ``_site``).
    """
    if renderer not in ("auto", "quarto", "builtin"):
        raise UserError(f"renderer must be auto, quarto or builtin, got {renderer!r}")
    project = Path(project_dir or config.PROJECT_ROOT).resolve()
    quarto = _quarto()
    if renderer == "quarto" and not quarto:
        raise UserError("quarto is not on PATH (use --renderer builtin or auto)")
    prepare_sources(project, reports_dir)
    if renderer == "builtin" or not quarto:
        return render_builtin(project, output_dir)
    cfg = read_quarto_config(project)
    out = (
        Path(output_dir).resolve()
        if output_dir
        else project / ((cfg.get("project") or {}).get("output-dir") or "_site")
    )
    cmd = [quarto, "render", str(project)]
    if output_dir:
        cmd += ["--output-dir", str(out)]
    env = {
        **os.environ,
        "ARINSIGHT_SITE_PREPARED": "1",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    res = subprocess.run(cmd, cwd=project, env=env, check=False)
    if res.returncode != 0:
        raise UserError(f"quarto render failed with exit code {res.returncode}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m arinsight.site``: prepare the page sources (Quarto's pre-render step)."""
    if os.environ.get("ARINSIGHT_SITE_PREPARED"):
        return 0
    pages = prepare_sources()
    print(f"arinsight.site: {len(pages)} page sources prepared", file=sys.stderr)
    return 0


__all__ = [
    "CARDS",
    "build_site",
    "collect_reports",
    "explorer_html",
    "format_value",
    "href",
    "kpi_cards_html",
    "kpi_change",
    "open_invoices",
    "prepare_sources",
    "read_quarto_config",
    "render_builtin",
]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
