"""The page sources of the site, written from the published reports (the pre-render step).

Every region page (one per entry of :data:`REGION_PAGES`, for every period and region) is a
dashboard: the context bar (period picker, regions, pages), the KPI tiles of that page
(:func:`arinsight.kpis.tiles`), the notebook's charts in cards, then its tables collapsed, then
the provenance. The home page, the period overviews, the archive, the invoice explorer and the
customer pages complete the site. Every value from the data is escaped here.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from arinsight import kpis as registry
from arinsight.ledger import ALL_REGIONS, period_bounds
from arinsight.site.html import (
    esc,
    format_value,
    href,
    json_for_script,
    month_name,
    qmd,
    write_text,
)
from arinsight.site.notebook import Section, png_html, read_notebook
from arinsight.site.reports import PeriodReport, RegionReport
from arinsight.site.tiles import tiles_html

SOURCES_DIR = "site"
HOME = "index.qmd"
ASSETS = f"{SOURCES_DIR}/assets"
ARCHIVE = f"{SOURCES_DIR}/archive.qmd"
EXPLORER = f"{SOURCES_DIR}/explorer.qmd"
CUSTOMER_FRAGMENTS = "_pages"
PAGE_START, PAGE_END = "<!--ar-page-start-->", "<!--ar-page-end-->"

#: (page key, notebook, title) of the per-region pages. Everything below is generic over it:
#: a new entry gets its pages, tabs, tiles (``arinsight.kpis`` records with that page) and links.
REGION_PAGES: list[tuple[str, str, str]] = [
    ("receivables", "03_receivables.ipynb", "Receivables Health"),
    ("commissions", "04_commissions.ipynb", "Commission Analytics"),
    ("risk", "05_risk_scoring.ipynb", "Risk"),
    ("forecast", "06_cash_forecast.ipynb", "Cash Forecast"),
]
#: The data-quality page: one per period (cleaning runs once for all regions).
DQ_PAGE: tuple[str, str, str] = ("data-quality", "02_clean.ipynb", "Data Quality")
#: Tiles of the home page: the first few tiles of every region page.
HOME_TILES_PER_PAGE = 4

#: Columns of the invoice explorer, in order, with their headers.
EXPLORER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("invoice_id", "Invoice"),
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


def region_source(period: str, region: RegionReport, page: str) -> str:
    return f"{SOURCES_DIR}/{period}/{region.dir}/{page}.qmd"


def dq_source(period: str) -> str:
    return f"{SOURCES_DIR}/{period}/{DQ_PAGE[0]}.qmd"


def period_source(period: str) -> str:
    return f"{SOURCES_DIR}/{period}/index.qmd"


def latest_source(page: str) -> str:
    return f"{SOURCES_DIR}/{page}.qmd"


def customers_source(period: str) -> str:
    return f"{SOURCES_DIR}/{period}/customers/index.qmd"


def customer_slug(customer_id: str) -> str:
    """A file name for a customer id: the id when it is plain, else a cleaned id and a hash."""
    cid = str(customer_id)
    clean = re.sub(r"[^A-Za-z0-9_.-]", "-", cid).strip(".-")[:60]
    if clean != cid or not clean or clean.lower() == "index":
        clean = f"{clean or 'customer'}-{hashlib.sha256(cid.encode()).hexdigest()[:10]}"
    return clean


def customer_source(period: str, customer_id: str) -> str:
    return f"{SOURCES_DIR}/{period}/customers/{customer_slug(customer_id)}.html"


def currency_of(period: PeriodReport) -> str:
    return str((period.manifest.get("params") or {}).get("reporting_currency") or "USD")


def late_days_of(period: PeriodReport) -> int:
    try:
        return int((period.manifest.get("params") or {}).get("late_days") or 30)
    except (TypeError, ValueError):
        return 30


def failed_badge(note: str | None) -> str:
    """A "previous run" badge for a page whose last run failed (its previous version shows)."""
    return f' <span class="badge bad" title="{esc(note)}">previous run</span>' if note else ""


def failed_page(title: str, note: str | None) -> str:
    """A page that was not produced: its name, marked, with the reason on hover."""
    return f'<span class="page-failed" title="{esc(note)}">{esc(title)} (failed)</span>'


def empty_html() -> str:
    return (
        '<p class="notice">No reports yet. Run <code>arinsight run --period YYYY-MM</code>, '
        "then <code>arinsight site</code>.</p>"
    )


def page(body: str, scripts: str = "") -> str:
    """A page body between the markers the post-render step uses to clone a page."""
    return f'{PAGE_START}<div class="ar-page">{body}</div>{scripts}{PAGE_END}'


# --------------------------------------------------------------------------------------------
# provenance
# --------------------------------------------------------------------------------------------


def provenance_html(
    period: PeriodReport, region: RegionReport | None, notebook: str | None = None
) -> str:
    """A page's provenance from the manifest (collapsed): period, region, status, when, with
    what code, parameters and input files with their sha256."""
    rec = (region.record if region else None) or {}
    manifest = period.manifest
    params = rec.get("params") or manifest.get("params") or {}
    inputs = rec.get("inputs") or manifest.get("inputs") or []
    status = rec.get("status") or manifest.get("status")
    if rec.get("published") == "previous":
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
    ]
    body = "".join(
        f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in rows if v is not None
    )
    param_rows = "".join(
        f"<tr><td>{esc(k)}</td><td>{esc(json.dumps(v, sort_keys=True, default=str))}</td></tr>"
        for k, v in sorted(params.items())
    )
    input_rows = "".join(
        f"<tr><td>{esc(i.get('table'))}</td><td>{esc(i.get('path'))}</td>"
        f'<td class="hash">{esc(i.get("sha256"))}</td></tr>'
        for i in inputs
        if isinstance(i, Mapping)
    )
    return (
        '<details class="provenance"><summary>Provenance: how this page was made</summary>'
        f'<table class="provenance-table"><tbody>{body}</tbody></table>'
        f"<p>Run settings ({len(params)})</p>"
        f'<table class="provenance-table"><tbody>{param_rows}</tbody></table>'
        f"<p>Input files ({len(inputs)}, with their sha256)</p>"
        f'<table class="provenance-table"><tbody>{input_rows}</tbody></table>'
        "</details>"
    )


# --------------------------------------------------------------------------------------------
# charts and sections
# --------------------------------------------------------------------------------------------

_CUSTOMER_SPAN = re.compile(r'<span class="ar-customer" data-customer="([^"]*)">(.*?)</span>', re.S)


def link_customers(block: str, resolve: Callable[[str], str | None]) -> str:
    """Customer names marked by the table helper become links to the customer's page."""

    def one(m: re.Match) -> str:
        target = resolve(html.unescape(m.group(1)))
        if target is None:
            return m.group(0)
        return f'<a class="ar-customer" href="{esc(target)}">{m.group(2)}</a>'

    return _CUSTOMER_SPAN.sub(one, block)


def _figure_spec(fig: Mapping[str, Any]) -> dict[str, Any]:
    layout = dict(fig.get("layout") or {})
    layout.pop("title", None)  # the card has the title
    margin = dict(layout.get("margin") or {})
    margin["t"] = 36
    layout["margin"] = margin
    return {"data": fig.get("data") or [], "layout": layout}


def chart_html(
    fig: Mapping[str, Any], chart_id: str, title: str, links: Mapping[str, str] | None = None
) -> str:
    """A chart drawn by the site's plotly.js: an empty div and its figure JSON."""
    spec = _figure_spec(fig)
    attrs = f' data-customers="{esc(json.dumps(dict(links), sort_keys=True))}"' if links else ""
    return (
        f'<div class="ar-chart" id="{chart_id}" data-spec="{chart_id}-spec" role="img" '
        f'aria-label="{esc(title)}"{attrs}></div>'
        f'<script type="application/json" id="{chart_id}-spec">{json_for_script(spec)}</script>'
    )


def _customdata_ids(fig: Mapping[str, Any]) -> list[str]:
    ids: list[str] = []
    for trace in fig.get("data") or []:
        for item in trace.get("customdata") or []:
            if isinstance(item, list) and item and isinstance(item[0], str):
                ids.append(item[0])
    return sorted(set(ids))


def _no_data_message(chart: Mapping[str, Any]) -> str | None:
    """The message of a placeholder chart (see plots.interactive's ``no_data``), else None."""
    fig = chart.get("plotly")
    if not isinstance(fig, Mapping):
        return None
    meta = (fig.get("layout") or {}).get("meta")
    return meta.get("arinsight_no_data") if isinstance(meta, Mapping) else None


def scripts_html(source: str) -> str:
    """plotly.js and the site's script, served from the site itself (one copy each)."""
    return (
        f'<script src="{esc(href(source, ASSETS + "/plotly.min.js"))}"></script>'
        f'<script src="{esc(href(source, ASSETS + "/arinsight.js"))}"></script>'
    )


def sections_html(
    sections: list[Section],
    source: str,
    resolve: Callable[[str], str | None],
) -> tuple[str, str, bool]:
    """(cards, details, has charts): charts in cards with their notes, then every table and
    text collapsed under the cards."""
    cards, details = [], []
    n = 0
    for sec in sections:
        empty = [_no_data_message(c) for c in sec.charts]
        if sec.charts and all(empty):  # nothing to draw: one line says why, no blank chart
            cards.append(
                f'<article class="ar-card ar-card-empty"><h2>{esc(sec.title)}</h2>'
                + "".join(f'<p class="ar-nodata">{esc(m)}</p>' for m in dict.fromkeys(empty))
                + "</article>"
            )
            continue
        if sec.charts:
            charts = []
            for chart in sec.charts:
                n += 1
                if "plotly" in chart:
                    fig = chart["plotly"]
                    links = {cid: resolve(cid) for cid in _customdata_ids(fig)}
                    links = {k: v for k, v in links.items() if v}
                    charts.append(chart_html(fig, f"chart-{n}", sec.title, links))
                else:
                    charts.append(png_html(chart["png"], sec.title))
            cards.append(
                f'<article class="ar-card"><h2>{esc(sec.title)}</h2>'
                f'<div class="ar-card-note">{sec.note}</div>{"".join(charts)}</article>'
            )
            if sec.tables:
                body = "".join(link_customers(t, resolve) for t in sec.tables)
                details.append(
                    f'<details class="ar-detail"><summary>{esc(sec.title)}: the figures</summary>'
                    f"{body}</details>"
                )
        elif sec.tables or sec.texts:
            body = "".join(link_customers(t, resolve) for t in sec.tables) + "".join(sec.texts)
            note = sec.note if not sec.charts else ""
            details.append(
                f'<details class="ar-detail"><summary>{esc(sec.title)}</summary>'
                f'<div class="ar-card-note">{note}</div>{body}</details>'
            )
    cards_html = f'<section class="ar-cards">{"".join(cards)}</section>' if cards else ""
    details_html = (
        f'<section class="ar-details"><h2>Details</h2>{"".join(details)}</section>'
        if details
        else ""
    )
    return cards_html, details_html, any("plotly" in c for s in sections for c in s.charts)


# --------------------------------------------------------------------------------------------
# the builder
# --------------------------------------------------------------------------------------------


#: How many customers get a page per period when the run's params do not say
#: (``site: {customer_pages: N}``): the largest open balances at T, plus every customer a
#: region's kpis.json names (top pending customers, high-risk customers).
DEFAULT_CUSTOMER_PAGES = 2000


def customers_with_pages(positions: pd.DataFrame, period: PeriodReport) -> set[str]:
    """The customers of ``positions`` (the invoices at T) that get a page: all of them when they
    are at most ``site.customer_pages`` (default :data:`DEFAULT_CUSTOMER_PAGES`), else that
    many with the largest open balance at T (ties by id) and every customer named in a
    region's kpis.json. The others are found through the invoice explorer, so a ledger of
    33,000 customers does not build 33,000 pages a period."""
    if positions.empty:
        return set()
    ids = positions["customer_id"].astype(str)
    site_params = (period.manifest.get("params") or {}).get("site") or {}
    limit = int(site_params.get("customer_pages") or DEFAULT_CUSTOMER_PAGES)
    if ids.nunique() <= limit:
        return set(ids)
    open_by = (
        pd.to_numeric(positions["open_amount"], errors="coerce").fillna(0.0).groupby(ids).sum()
    )
    ranked = open_by.reset_index(name="open").rename(columns={"index": "customer_id"})
    ranked.columns = ["customer_id", "open"]
    ranked = ranked.sort_values(["open", "customer_id"], ascending=[False, True], kind="stable")
    chosen = set(ranked["customer_id"].head(limit))
    for region in period.regions:
        k = region.kpis or {}
        chosen |= {str(c.get("customer_id")) for c in k.get("top_pending_customers") or []}
        chosen |= {str(c) for c in k.get("high_risk_customers") or []}
    return chosen & set(ids)


class Builder:
    """Writes every page source for a list of periods (newest first)."""

    def __init__(self, project_dir: Path, periods: list[PeriodReport], reports_dir: Path):
        self.project_dir = project_dir
        self.periods = periods
        self.reports_dir = reports_dir
        self.latest = next((p for p in periods if p.all and p.all.kpis), None)
        self.written: list[str] = []
        self.customer_ids: dict[str, set[str]] = {}
        self._data: dict[str, dict[str, pd.DataFrame]] = {}

    def write(self, source: str, title: str, blocks: list[str], kind: str) -> None:
        write_text(self.project_dir / source, qmd(title, blocks, kind))
        self.written.append(source)

    def previous_of(self, period: PeriodReport) -> PeriodReport | None:
        try:
            label = period_bounds(period.label).previous().label
        except ValueError:
            return None
        return next((p for p in self.periods if p.label == label), None)

    # -- data of the customer pages ----------------------------------------------------------

    def data(self, period: PeriodReport) -> dict[str, pd.DataFrame]:
        """The period's snapshots in the All folder (empty frames for those not published)."""
        if period.label in self._data:
            return self._data[period.label]
        out: dict[str, pd.DataFrame] = {}
        folder = period.all.folder if period.all else None
        for name, file in (
            ("positions", "invoice_explorer.parquet"),
            ("payments", "customer_payments.parquet"),
            ("customers", "customers.parquet"),
            ("scores", "risk_scores.parquet"),
        ):
            path = folder / file if folder else None
            out[name] = pd.read_parquet(path) if path and path.is_file() else pd.DataFrame()
        self._data[period.label] = out
        self.customer_ids[period.label] = customers_with_pages(out["positions"], period)
        return out

    def resolver(self, source: str, period: str) -> Callable[[str], str | None]:
        ids = self.customer_ids.get(period, set())

        def resolve(cid: str) -> str | None:
            return href(source, customer_source(period, cid)) if cid in ids else None

        return resolve

    # -- navigation --------------------------------------------------------------------------

    def _same_page_in(
        self, p: PeriodReport, region_name: str | None, page_key: str | None
    ) -> str | None:
        """The source of this page in another period, or None when it was not published."""
        nb_for = {k: n for k, n, _ in REGION_PAGES}
        if page_key == DQ_PAGE[0]:
            return dq_source(p.label) if p.all and p.all.has(DQ_PAGE[1]) else None
        if page_key == "customers":
            return customers_source(p.label) if self.customer_ids.get(p.label) else None
        if page_key in nb_for:
            r = p.region(region_name or ALL_REGIONS)
            return region_source(p.label, r, page_key) if r and r.has(nb_for[page_key]) else None
        return period_source(p.label)

    def context_bar(
        self,
        source: str,
        period: PeriodReport,
        region: RegionReport | None = None,
        page_key: str | None = None,
    ) -> str:
        """Period picker (every period built; the same page where it exists, else the period's
        overview), the regions and the pages of this period."""
        options = []
        for p in self.periods:
            target = self._same_page_in(p, region.name if region else None, page_key)
            target = target or period_source(p.label)
            sel = " selected" if p.label == period.label else ""
            options.append(
                f'<option value="{esc(href(source, target))}"{sel}>'
                f"{esc(month_name(p.label))}</option>"
            )
        picker = (
            '<label class="ar-picker">Period '
            '<select class="ar-period-picker" aria-label="Period" '
            'onchange="if (this.value) window.location.href = this.value">'
            f"{''.join(options)}</select></label>"
            f' <a class="ar-archive-link" href="{esc(href(source, ARCHIVE))}">all periods</a>'
        )

        def link(target: str, text: str, current: bool) -> str:
            if current:
                return f'<span class="ar-tab current" aria-current="page">{esc(text)}</span>'
            return f'<a class="ar-tab" href="{esc(href(source, target))}">{esc(text)}</a>'

        tabs = []
        region_for_tabs = region or period.all
        for key, nb_name, title in REGION_PAGES:
            if region_for_tabs and region_for_tabs.has(nb_name):
                tabs.append(
                    link(
                        region_source(period.label, region_for_tabs, key),
                        title,
                        key == page_key and region is not None,
                    )
                    + failed_badge(region_for_tabs.failed_note(nb_name))
                )
            elif region_for_tabs and region_for_tabs.failed_note(nb_name):
                tabs.append(failed_page(title, region_for_tabs.failed_note(nb_name)))
        if period.all and period.all.has(DQ_PAGE[1]):
            tabs.append(link(dq_source(period.label), DQ_PAGE[2], page_key == DQ_PAGE[0]))
        if self.customer_ids.get(period.label):
            tabs.append(link(customers_source(period.label), "Customers", page_key == "customers"))
        regions = []
        nb_for = {k: n for k, n, _ in REGION_PAGES}
        region_page = page_key if page_key in nb_for else REGION_PAGES[0][0]
        for r in period.regions:
            if r.has(nb_for[region_page]):
                regions.append(
                    link(
                        region_source(period.label, r, region_page),
                        r.name,
                        region is not None and r.name == region.name,
                    )
                )
        notice = ""
        if region is not None and region.record.get("published") == "previous":
            notice = (
                '<p class="notice bad">The last run of this region failed; this is the previous '
                "good report.</p>"
            )
        return (
            f'<nav class="ar-context" aria-label="Period, region and page">'
            f'<div class="ar-context-row">{picker}'
            f'<span class="ar-asof">as of {esc(period.manifest.get("as_of"))}</span></div>'
            f'<div class="ar-context-row"><span class="ar-context-label">Region</span>'
            f"{''.join(regions)}</div>"
            f'<div class="ar-context-row"><span class="ar-context-label">Page</span>'
            f"{''.join(tabs)}</div></nav>{notice}"
        )

    # -- tiles -------------------------------------------------------------------------------

    def published_history(self, region_name: str, upto: str) -> dict[str, dict[str, Any]]:
        """KPI -> {period: value} over the published periods up to ``upto`` (this region)."""
        out: dict[str, dict[str, Any]] = {}
        for p in self.periods:
            if p.label > upto:
                continue
            r = p.region(region_name)
            if r is None or not r.kpis:
                continue
            for key, value in r.kpis.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    out.setdefault(key, {})[p.label] = value
        return out

    def tiles(self, period: PeriodReport, region: RegionReport, keys: list[str]) -> str:
        previous = self.previous_of(period)
        prev_region = previous.region(region.name) if previous else None
        return tiles_html(
            keys,
            region.kpis,
            previous=prev_region.kpis if prev_region else None,
            currency=currency_of(period),
            previous_label=period_bounds(period.label).previous().label,
            history=region.history(),
            fallback_history=self.published_history(region.name, period.label),
        )

    # -- pages -------------------------------------------------------------------------------

    def region_page(
        self,
        source: str,
        period: PeriodReport,
        region: RegionReport,
        key: str,
        nb_name: str,
        title: str,
    ) -> None:
        self.data(period)
        view = read_notebook(region.folder / nb_name)
        resolve = self.resolver(source, period.label)
        tiles = self.tiles(period, region, [k.key for k in registry.tiles(key)])
        cards, details, charts = sections_html(view.sections, source, resolve)
        about = (
            f'<details class="ar-about"><summary>About this page</summary>{view.intro}</details>'
            if view.intro
            else ""
        )
        body = (
            self.context_bar(source, period, region, key)
            + tiles
            + about
            + cards
            + details
            + provenance_html(period, region, nb_name)
        )
        self.write(
            source,
            f"{title}: {region.name}, {month_name(period.label)}",
            [page(body, scripts_html(source) if charts else "")],
            "report",
        )

    def report_pages(self) -> None:
        for period in self.periods:
            for region in period.regions:
                for key, nb_name, title in REGION_PAGES:
                    if region.has(nb_name):
                        source = region_source(period.label, region, key)
                        self.region_page(source, period, region, key, nb_name, title)
            if period.all and period.all.has(DQ_PAGE[1]):
                self.dq_page(dq_source(period.label), period)
            self.period_index(period)
            self.customer_pages(period)

    def dq_page(self, source: str, period: PeriodReport) -> None:
        view = read_notebook(period.all.folder / DQ_PAGE[1])
        resolve = self.resolver(source, period.label)
        cards, details, charts = sections_html(view.sections, source, resolve)
        body = (
            self.context_bar(source, period, None, DQ_PAGE[0])
            + (f'<div class="ar-intro">{view.intro}</div>' if view.intro else "")
            + cards
            + details
            + provenance_html(period, period.all, DQ_PAGE[1])
        )
        self.write(
            source,
            f"{DQ_PAGE[2]}: {month_name(period.label)}",
            [page(body, scripts_html(source) if charts else "")],
            "report",
        )

    def latest_pages(self) -> None:
        """The navbar's region pages and Data Quality: latest period, all regions."""
        latest = self.latest
        for key, nb_name, title in REGION_PAGES:
            source = latest_source(key)
            if latest and latest.all and latest.all.has(nb_name):
                self.region_page(source, latest, latest.all, key, nb_name, title)
            else:
                self.write(source, title, [page(empty_html())], "placeholder")
        source = latest_source(DQ_PAGE[0])
        if latest and latest.all and latest.all.has(DQ_PAGE[1]):
            self.dq_page(source, latest)
        else:
            self.write(source, DQ_PAGE[2], [page(empty_html())], "placeholder")

    def region_table(self, source: str, period: PeriodReport) -> str:
        """Regions at a glance: key figures per region, the region linked to its pages."""
        currency = currency_of(period)
        keys = [k.key for k in registry.tiles(REGION_PAGES[0][0])][:4]
        keys += [k.key for k in registry.tiles("risk")][:1]
        head = "".join(
            f'<th scope="col" class="num">{esc(registry.get(k).label)}</th>' for k in keys
        )
        rows = []
        for r in period.regions:
            cells = "".join(
                f'<td class="num">{esc(format_value((r.kpis or {}).get(k), registry.get(k).unit, currency))}</td>'
                for k in keys
            )
            first = next(
                (
                    region_source(period.label, r, key)
                    for key, nb_name, _ in REGION_PAGES
                    if r.has(nb_name)
                ),
                None,
            )
            name = (
                f'<a class="ar-region" href="{esc(href(source, first))}">{esc(r.name)}</a>'
                if first
                else esc(r.name)
            )
            links = " · ".join(
                f'<a href="{esc(href(source, region_source(period.label, r, key)))}">{esc(title)}</a>'
                + failed_badge(r.failed_note(nb_name))
                if r.has(nb_name)
                else failed_page(title, r.failed_note(nb_name))
                for key, nb_name, title in REGION_PAGES
                if r.has(nb_name) or r.failed_note(nb_name)
            )
            flag = (
                ' <span class="badge bad">previous report</span>'
                if r.record.get("published") == "previous"
                else ""
            )
            rows.append(f'<tr><th scope="row">{name}{flag}</th>{cells}<td>{links}</td></tr>')
        return (
            '<div class="ar-table-wrap"><table class="ar-table regions"><thead><tr>'
            f'<th scope="col">Region</th>{head}<th scope="col">Pages</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )

    def home(self) -> None:
        latest = self.latest
        if latest is None:
            self.write(HOME, "Accounts receivable", [page(empty_html())], "home")
            return
        self.data(latest)
        keys = [
            k.key for key, _, _ in REGION_PAGES for k in registry.tiles(key)[:HOME_TILES_PER_PAGE]
        ]
        dataset = (latest.manifest.get("dataset") or {}).get("name")
        intro = (
            (f'<p class="dataset">Dataset: <strong>{esc(dataset)}</strong></p>' if dataset else "")
            + f'<p class="lead">{esc(month_name(latest.label))}, all regions, as of '
            f"{esc(latest.manifest.get('as_of'))}. Green arrows are good news, red ones need "
            "attention; hover a tile for its definition.</p>"
        )
        body = (
            self.context_bar(HOME, latest, None, None)
            + intro
            + self.tiles(latest, latest.all, keys)
            + '<section class="ar-section"><h2>Regions at a glance</h2>'
            + self.region_table(HOME, latest)
            + "</section>"
            + '<p class="links">'
            f'<a href="{esc(href(HOME, period_source(latest.label)))}">Period overview</a> · '
            f'<a href="{esc(href(HOME, customers_source(latest.label)))}">Customers</a> · '
            f'<a href="{esc(href(HOME, EXPLORER))}">Invoice explorer</a> · '
            f'<a href="{esc(href(HOME, ARCHIVE))}">Archive of periods</a></p>'
            + provenance_html(latest, latest.all)
        )
        self.write(HOME, "Accounts receivable", [page(body)], "home")

    def period_index(self, period: PeriodReport) -> None:
        source = period_source(period.label)
        failed = [
            r for r in period.manifest.get("runs") or [] if r.get("status") not in ("ok", "reused")
        ]
        notice = ""
        if failed:
            items = "".join(
                f"<li>{esc(r.get('region'))}: {esc(r.get('notebook'))} did not complete</li>"
                for r in failed
            )
            notice = f'<div class="notice bad"><p>Pages not updated by the last run:</p><ul>{items}</ul></div>'
        body = (
            self.context_bar(source, period)
            + f"<p>{esc(month_name(period.label))}, as of {esc(period.manifest.get('as_of'))}.</p>"
            + notice
            + self.region_table(source, period)
            + provenance_html(period, period.all)
        )
        self.write(source, f"Period {month_name(period.label)}", [page(body)], "period")

    def archive(self) -> None:
        rows = []
        for period in self.periods:
            regions = " · ".join(
                f'<a href="{esc(href(ARCHIVE, region_source(period.label, r, REGION_PAGES[0][0])))}">{esc(r.name)}</a>'
                for r in period.regions
                if r.has(REGION_PAGES[0][1])
            )
            status = period.manifest.get("status")
            status_text = "complete" if status == "ok" else "some pages not updated"
            rows.append(
                "<tr>"
                f'<th scope="row"><a href="{esc(href(ARCHIVE, period_source(period.label)))}">'
                f"{esc(month_name(period.label))}</a></th>"
                f'<td class="date">{esc(period.manifest.get("as_of"))}</td>'
                f"<td>{esc(status_text)}</td><td>{regions}</td>"
                f'<td class="date">{esc(period.manifest.get("finished_at"))}</td>'
                "</tr>"
            )
        table = (
            '<div class="ar-table-wrap"><table class="ar-table archive"><thead><tr>'
            '<th scope="col">Period</th><th scope="col" class="date">As of</th>'
            '<th scope="col">Run</th><th scope="col">Regions</th>'
            '<th scope="col" class="date">Generated at</th>'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
            if rows
            else empty_html()
        )
        bar = self.context_bar(ARCHIVE, self.periods[0]) if self.periods else ""
        self.write(ARCHIVE, "Archive of periods", [page(bar + table)], "archive")

    # -- explorer ----------------------------------------------------------------------------

    def explorer(self) -> None:
        latest = self.latest
        positions = self.data(latest)["positions"] if latest else pd.DataFrame()
        if latest is None or positions.empty:
            self.write(
                EXPLORER,
                "Invoice explorer",
                [page('<p class="notice">No invoice data published yet.</p>')],
                "explorer",
            )
            return
        resolve = self.resolver(EXPLORER, latest.label)
        blocks = (
            self.context_bar(EXPLORER, latest)
            + f'<p class="lead">Open invoices at {esc(latest.manifest.get("as_of"))}, all '
            "regions. Filter by region, industry and payment status; click a column to sort; "
            "type in the search box to find a customer or an invoice; click a customer for "
            "its statement.</p>"
            + explorer_html(positions, currency_of(latest), resolve)
            + provenance_html(latest, latest.all, "invoice explorer")
        )
        self.write(
            EXPLORER, f"Invoice explorer: {month_name(latest.label)}", [page(blocks)], "explorer"
        )

    # -- customers ---------------------------------------------------------------------------

    def customer_pages(self, period: PeriodReport) -> None:
        """The period's customer index (a page source) and one page fragment per customer,
        turned into pages by the post-render step (same chrome as the index)."""
        from arinsight.site.customer_page import customer_fragments

        data = self.data(period)
        if data["positions"].empty:
            return
        source = customers_source(period.label)
        index_body, fragments = customer_fragments(self, period, data, source)
        self.write(
            source, f"Customers: {month_name(period.label)}", [page(index_body)], "customers"
        )
        folder = self.project_dir / Path(source).parent / CUSTOMER_FRAGMENTS
        folder.mkdir(parents=True, exist_ok=True)
        for cid, (title, body) in fragments.items():
            frag = {"title": title, "body": page(body)}
            write_text(folder / f"{customer_slug(cid)}.json", json.dumps(frag, sort_keys=True))


# --------------------------------------------------------------------------------------------
# the invoice explorer
# --------------------------------------------------------------------------------------------


def open_invoices(table: pd.DataFrame) -> pd.DataFrame:
    """The explorer's rows: invoices still owed at T (open amount > 0), oldest due date first,
    with the explorer columns (and customer_id); dates as ISO text, money to cents."""
    df = table
    if "invoice_id" not in df.columns or "open_amount" not in df.columns:
        raise ValueError("invoice explorer table: needs invoice_id and open_amount")
    df = df[df["open_amount"].fillna(0) > 0]
    cols = ["customer_id"] + [c for c, _ in EXPLORER_COLUMNS if c in df.columns]
    out = df[[c for c in cols if c in df.columns]].copy()
    for c in ("invoice_date", "due_date"):
        if c in out.columns:
            out[c] = pd.to_datetime(out[c], errors="coerce").dt.strftime("%Y-%m-%d")
    for c in ("amount", "open_amount"):
        if c in out.columns:
            out[c] = pd.to_numeric(out[c], errors="coerce").round(2)
    if "days_past_due" in out.columns:
        out["days_past_due"] = pd.to_numeric(out["days_past_due"], errors="coerce").astype("Int64")
    sort = [c for c in ("due_date", "invoice_id") if c in out.columns]
    return out.sort_values(sort, kind="stable").reset_index(drop=True)


def explorer_html(
    table: pd.DataFrame,
    currency: str = "USD",
    resolve: Callable[[str], str | None] | None = None,
) -> str:
    """The invoice explorer: an itables (DataTables) table of the open invoices in offline mode
    (the DataTables bundle is inlined, nothing is fetched) with filters for region, industry and
    payment status. Amounts with currency and separators; customers link to their pages. Every
    value is escaped here (the table is given to itables as HTML)."""
    from itables import javascript as itjs
    from itables import options as itopt

    df = open_invoices(table)
    shown = pd.DataFrame(index=df.index)
    for col, _ in EXPLORER_COLUMNS:
        if col not in df.columns:
            continue
        s = df[col]
        if col in ("amount", "open_amount"):
            shown[col] = [esc(format_value(v, "money", currency, style="table")) for v in s]
        elif col == "customer_name":
            cells = []
            for name, cid in zip(s, df["customer_id"], strict=True):
                target = resolve(str(cid)) if resolve else None
                text = esc(name if isinstance(name, str) and name else cid)
                cells.append(f'<a href="{esc(target)}">{text}</a>' if target else text)
            shown[col] = cells
        elif col == "days_past_due":
            shown[col] = [None if pd.isna(v) else int(v) for v in s]
        else:
            shown[col] = [esc("" if v is None or v != v else v) for v in s]
    labels = dict(EXPLORER_COLUMNS)
    shown = shown.rename(columns=labels)
    filter_cols = [
        list(shown.columns).index(labels[c]) for c in EXPLORER_FILTERS if labels[c] in shown.columns
    ]
    num_cols = [
        list(shown.columns).index(labels[c])
        for c in ("amount", "open_amount", "days_past_due")
        if labels[c] in shown.columns
    ]
    init = itjs.generate_init_offline_itables_html(itopt.dt_bundle)
    warn = itopt.warn_on_unexpected_option_type
    itopt.warn_on_unexpected_option_type = False  # nested `language` options are valid
    try:
        table_html = _datatable(itjs, shown, filter_cols, num_cols)
    finally:
        itopt.warn_on_unexpected_option_type = warn
    return f'<div class="explorer">{init}{table_html}</div>'


def _datatable(itjs: Any, shown: pd.DataFrame, filter_cols: list[int], num_cols: list[int]) -> str:
    return itjs.to_html_datatable(
        shown,
        connected=False,
        maxBytes=0,
        maxRows=0,
        showIndex=False,
        allow_html=True,
        table_id="invoice_explorer",
        classes="display compact ar-explorer",
        layout={"top1": "searchPanes", "topStart": "pageLength", "topEnd": "search"},
        searchPanes={
            "columns": filter_cols,
            "layout": f"columns-{max(1, len(filter_cols))}",
            "cascadePanes": True,
            "viewTotal": True,
            "initCollapsed": False,
            "orderable": False,
            "clear": True,
        },
        language={
            "searchPanes": {
                "title": {
                    "_": "%d filters applied",
                    "0": "Filter the invoices",
                    "1": "1 filter applied",
                },
                "clearMessage": "Clear filters",
            }
        },
        columnDefs=[
            {"searchPanes": {"show": True}, "targets": filter_cols},
            {"className": "dt-right ar-num", "type": "num-fmt", "targets": num_cols},
            {"className": "ar-nowrap", "targets": "_all"},
        ],
        lengthMenu=[10, 25, 50, 100],
        pageLength=25,
    )
