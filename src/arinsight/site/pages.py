"""The page sources of the site, written from the published reports (the pre-render step).

Every region page (one per entry of :data:`REGION_PAGES`, for every period and region) is a
dashboard: the context bar (period picker, regions, pages), the KPI tiles of that page
(:func:`arinsight.kpis.tiles`), the notebook's charts in cards, then its tables collapsed, then
the provenance. The home page, the period overviews, the archive, the invoice explorer and the
customer pages complete the site. Every value from the data is escaped here.

The modules of the site, from the bottom: :mod:`~arinsight.site.html` (escaping, links, the tile
formatter), :mod:`~arinsight.site.reports` (the published reports read back),
:mod:`~arinsight.site.notebook` (a notebook's sections), :mod:`~arinsight.site.tiles` (KPI tiles),
:mod:`~arinsight.site.paths` (where every page lives), :mod:`~arinsight.site.sections` (the blocks
of a page), :mod:`~arinsight.site.explorer` and :mod:`~arinsight.site.customer_page` (those
pages), this module (:class:`Builder`: every other page), then :mod:`~arinsight.site.render`
(the built-in renderer and the post-render step) and the package (``build_site``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from arinsight import kpis as registry
from arinsight.ledger import ALL_REGIONS, period_bounds
from arinsight.site import briefing
from arinsight.site import reps as rep_view
from arinsight.site.customer_page import customer_pages, customers_with_pages
from arinsight.site.explorer import (
    TILE_VIEWS,
    explorer_pages,
    explorer_rows,
    paid_months_of,
    view_hash,
)
from arinsight.site.html import (
    esc,
    format_value,
    href,
    month_name,
    qmd,
    write_text,
)
from arinsight.site.notebook import read_notebook
from arinsight.site.paths import (
    ARCHIVE,
    DQ_PAGE,
    HOME,
    REGION_PAGES,
    currency_of,
    customer_source,
    customers_source,
    dq_source,
    latest_source,
    period_explorer_source,
    period_source,
    region_source,
    worklist_source,
)
from arinsight.site.reports import PeriodReport, RegionReport
from arinsight.site.sections import (
    empty_html,
    failed_badge,
    failed_page,
    link_customers,
    page,
    plotly_asset,
    provenance_html,
    scripts_html,
    sections_html,
)
from arinsight.site.tiles import forecast_tiles_html, tiles_html

#: Tiles of the home page: the first few tiles of every region page.
HOME_TILES_PER_PAGE = 4


# --------------------------------------------------------------------------------------------
# the builder
# --------------------------------------------------------------------------------------------


class Builder:
    """Writes every page source for a list of periods (newest first)."""

    def __init__(self, project_dir: Path, periods: list[PeriodReport], reports_dir: Path):
        self.project_dir = project_dir
        self.periods = periods
        self.reports_dir = reports_dir
        self.latest = next((p for p in periods if p.all and p.all.kpis), None)
        self.written: list[str] = []
        self.plotly_assets: set[str] = set()  # the plotly.js bundles the pages load
        self.customer_ids: dict[str, set[str]] = {}
        self._data: dict[str, dict[str, pd.DataFrame]] = {}
        self._explorer: dict[str, pd.DataFrame | None] = {}

    def scripts(self, source: str, charts: frozenset[str]) -> str:
        """A dashboard's scripts; notes the plotly.js bundle it loads, which the site copies."""
        if charts:
            self.plotly_assets.add(plotly_asset(charts))
        return scripts_html(source, charts=charts, tables=True)

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
            ("promises", "customer_promises.parquet"),
        ):
            path = folder / file if folder else None
            out[name] = pd.read_parquet(path) if path and path.is_file() else pd.DataFrame()
        self._data[period.label] = out
        self.customer_ids[period.label] = customers_with_pages(out["positions"], period)
        return out

    def explorer_rows(self, period: PeriodReport) -> pd.DataFrame | None:
        """The rows of the period's invoice explorer (:func:`arinsight.site.explorer.explorer_rows`),
        None when the period published no invoice positions."""
        if period.label not in self._explorer:
            data = self.data(period)
            self._explorer[period.label] = (
                None
                if data["positions"].empty
                else explorer_rows(
                    data["positions"],
                    data["customers"],
                    data["scores"],
                    period.manifest.get("as_of"),
                    paid_months_of(period),
                )
            )
        return self._explorer[period.label]

    def explorer_link(
        self, source: str, period: PeriodReport, view: dict[str, str], region: str | None = None
    ) -> str | None:
        """The link from ``source`` to the period's explorer showing ``view`` for ``region``."""
        if self.explorer_rows(period) is None:
            return None
        return href(source, period_explorer_source(period.label)) + view_hash(view, region)

    def worklist(self, period: PeriodReport) -> Path | None:
        """The period's collections worklist (reports/<period>/alerts/, written by
        ``arinsight alerts``) when there is one."""
        path = period.folder / "alerts" / "collections_worklist.xlsx"
        return path if path.is_file() else None

    def worklist_html(self, source: str, period: PeriodReport) -> str:
        """A link to the period's collections worklist, empty when the alerts step has not
        written one for the period."""
        if self.worklist(period) is None:
            return ""
        return (
            '<p class="ar-worklist"><a class="ar-worklist-link" '
            f'href="{esc(href(source, worklist_source(period.label)))}" download>'
            f"Collections worklist, {esc(month_name(period.label))} (Excel)</a>: every overdue "
            "customer with the amount, the reminder step and the contact, from the alerts run "
            "(all regions).</p>"
        )

    def resolver(self, source: str, period: str) -> Callable[[str], str | None]:
        ids = self.customer_ids.get(period, set())

        def resolve(cid: str) -> str | None:
            return href(source, customer_source(period, cid)) if cid in ids else None

        return resolve

    # -- navigation --------------------------------------------------------------------------

    def _same_page_in(
        self,
        p: PeriodReport,
        region_name: str | None,
        page_key: str | None,
        customer_id: str | None = None,
    ) -> str | None:
        """The source of this page in another period, or None when it was not published: a
        customer's page leads to the same customer's page of that period when it has one."""
        nb_for = {k: n for k, n, _ in REGION_PAGES}
        if page_key == DQ_PAGE[0]:
            return dq_source(p.label) if p.all and p.all.has(DQ_PAGE[1]) else None
        if page_key == "customers" and customer_id in self.customer_ids.get(p.label, set()):
            return customer_source(p.label, customer_id)
        if page_key == "customers":
            return customers_source(p.label) if self.customer_ids.get(p.label) else None
        if page_key == "explorer":
            return period_explorer_source(p.label) if self.explorer_rows(p) is not None else None
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
        customer_id: str | None = None,
    ) -> str:
        """Period picker (every period built; the same page where it exists, else the period's
        overview; on a customer's page the same customer's page, else the customer list), the
        regions and the pages of this period."""
        options = []
        for p in self.periods:
            target = self._same_page_in(p, region.name if region else None, page_key, customer_id)
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

        nb_for_key = {k: n for k, n, _ in REGION_PAGES}
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
        if self.explorer_rows(period) is not None:
            tabs.append(
                link(period_explorer_source(period.label), "Invoices", page_key == "explorer")
            )
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
        elif region is not None and page_key in nb_for_key:
            page = region.page(nb_for_key[page_key])
            if page.get("published") == "previous":  # this page is older than its neighbours
                when = page.get("previous_generated_at") or "an earlier run"
                notice = (
                    '<p class="notice bad">This page is from the previous run (generated '
                    f"{esc(when)}): its last run failed ({esc(page.get('error') or 'an error')}), "
                    "while the other pages of this period come from the last run.</p>"
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

    def tiles(
        self, source: str, period: PeriodReport, region: RegionReport, keys: list[str]
    ) -> str:
        previous = self.previous_of(period)
        prev_region = previous.region(region.name) if previous else None
        links = {}
        for key in keys:
            if key in TILE_VIEWS and (region.kpis or {}).get(key) is not None:
                view, total = TILE_VIEWS[key]
                target = self.explorer_link(source, period, view, region.name)
                if target:
                    links[key] = (target, total)
        return tiles_html(
            keys,
            region.kpis,
            previous=prev_region.kpis if prev_region else None,
            currency=currency_of(period),
            previous_label=period_bounds(period.label).previous().label,
            history=region.history(),
            fallback_history=self.published_history(region.name, period.label),
            links=links,
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
        tiles = self.tiles(source, period, region, [k.key for k in registry.tiles(key)])
        if key == "forecast":  # its figures are the weeks of kpis.json's cash_forecast
            tiles += forecast_tiles_html(region.kpis, currency_of(period))

        def explore(name: str) -> str | None:
            from arinsight.site.explorer import LIST_VIEWS

            view_ = LIST_VIEWS.get(name)
            return self.explorer_link(source, period, view_, region.name) if view_ else None

        cards, details, charts = sections_html(view.sections, source, resolve, explore)
        about = (
            f'<details class="ar-about"><summary>About this page</summary>{view.intro}</details>'
            if view.intro
            else ""
        )
        body = (
            self.context_bar(source, period, region, key)
            + tiles
            + (self.worklist_html(source, period) if key == "risk" else "")
            + about
            + cards
            + details
            + (self.reps(source, period, region) if key == "commissions" else "")
            + provenance_html(period, region, nb_name)
        )
        self.write(
            source,
            f"{title}: {region.name}, {month_name(period.label)}",
            [page(body, self.scripts(source, charts))],
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
            [page(body, self.scripts(source, charts))],
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

    def _region_cell(
        self, source: str, period: PeriodReport, region: RegionReport, key: str, currency: str
    ) -> str:
        """One figure of the regions table; a figure with rows behind it links to them."""
        value = (region.kpis or {}).get(key)
        text = esc(format_value(value, registry.get(key).unit, currency))
        target = (
            self.explorer_link(source, period, TILE_VIEWS[key][0], region.name)
            if key in TILE_VIEWS and value is not None
            else None
        )
        if target:
            text = f'<a class="ar-rows-link" href="{esc(target)}" data-kpi="{esc(key)}">{text}</a>'
        return f'<td class="num" data-v="{esc(value if value is not None else "")}">{text}</td>'

    def briefing(self, source: str, period: PeriodReport) -> str:
        """What happened and what to do (:mod:`arinsight.site.briefing`), for All; empty when
        the period published no figures for All."""
        if period.all is None or not period.all.kpis:
            return ""
        data = self.data(period)
        plan = briefing.read_plan(period.folder)
        top = briefing.top_overdue_with_action(
            data["positions"], data["customers"], plan, period.manifest.get("params")
        )
        keys = [k.key for key, _, _ in REGION_PAGES for k in registry.tiles(key)]
        block = briefing.briefing_html(
            period.all.kpis,
            keys,
            top,
            currency_of(period),
            month_name(period_bounds(period.label).previous().label),
            plan_known=plan is not None,
            overdue_link=self.explorer_link(source, period, TILE_VIEWS["overdue_ar"][0]),
        )
        return link_customers(block, self.resolver(source, period.label))

    def reps(self, source: str, period: PeriodReport, region: RegionReport) -> str:
        """Sales reps and their customers (:mod:`arinsight.site.reps`) for the Commission
        Analytics page of ``region``."""
        data = self.data(period)
        positions = data["positions"]
        if region.name != ALL_REGIONS and len(positions):
            positions = positions.loc[positions["region"] == region.name]
        balances = rep_view.customer_balances(positions, data["customers"])
        return rep_view.reps_html(
            region.json("commissions_by_rep.json"),
            balances,
            currency_of(period),
            self.resolver(source, period.label),
        )

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
            cells = "".join(self._region_cell(source, period, r, k, currency) for k in keys)
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

    @staticmethod
    def home_keys() -> list[str]:
        """The tiles of the home page and the period overviews: the first few of every page."""
        return [
            k.key for key, _, _ in REGION_PAGES for k in registry.tiles(key)[:HOME_TILES_PER_PAGE]
        ]

    def home(self) -> None:
        latest = self.latest
        if latest is None:
            self.write(HOME, "Accounts receivable", [page(empty_html())], "home")
            return
        self.data(latest)
        keys = self.home_keys()
        dataset = (latest.manifest.get("dataset") or {}).get("name")
        intro = (
            (f'<p class="dataset">Dataset: <strong>{esc(dataset)}</strong></p>' if dataset else "")
            + f'<p class="lead">{esc(month_name(latest.label))}, all regions, as of '
            f"{esc(latest.manifest.get('as_of'))}. ✓ (green) is good news, ✗ (red) needs "
            "attention; the round i of a tile opens its definition.</p>"
        )
        older = [
            f"{r.name}: {title}"
            for r in latest.regions
            for _, nb_name, title in REGION_PAGES
            if r.page(nb_name).get("published") == "previous"
        ]
        if older:  # the period is mixed: say so where a reader starts
            intro += (
                '<p class="notice bad">This period is mixed: '
                f"{len(older)} page{'s' if len(older) > 1 else ''} ({esc(', '.join(older))}) "
                f"{'come' if len(older) > 1 else 'comes'} from an earlier run, because the last "
                "run of it failed; every other page comes from the last run.</p>"
            )
        body = (
            self.context_bar(HOME, latest, None, None)
            + intro
            + self.tiles(HOME, latest, latest.all, keys)
            + self.briefing(HOME, latest)
            + self.worklist_html(HOME, latest)
            + '<section class="ar-section"><h2>Regions at a glance</h2>'
            + self.region_table(HOME, latest)
            + "</section>"
            + '<p class="links">'
            f'<a href="{esc(href(HOME, period_source(latest.label)))}">Period overview</a> · '
            f'<a href="{esc(href(HOME, customers_source(latest.label)))}">Customers</a> · '
            f'<a href="{esc(href(HOME, period_explorer_source(latest.label)))}">Invoice explorer</a> · '
            f'<a href="{esc(href(HOME, ARCHIVE))}">Archive of periods</a></p>'
            + provenance_html(latest, latest.all)
        )
        self.write(
            HOME, "Accounts receivable", [page(body, scripts_html(HOME, tables=True))], "home"
        )

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
            + (
                self.tiles(source, period, period.all, self.home_keys())
                if period.all and period.all.kpis
                else ""
            )
            + self.briefing(source, period)
            + self.region_table(source, period)
            + (
                f'<p class="links"><a href="{esc(href(source, period_explorer_source(period.label)))}">'
                f"Invoice explorer, {esc(month_name(period.label))}</a></p>"
                if self.explorer_rows(period) is not None
                else ""
            )
            + self.worklist_html(source, period)
            + provenance_html(period, period.all)
        )
        self.write(
            source,
            f"Period {month_name(period.label)}",
            [page(body, scripts_html(source, tables=True))],
            "period",
        )

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

    # -- customers ---------------------------------------------------------------------------

    def explorer(self) -> None:
        """The invoice explorer of every period (:func:`arinsight.site.explorer.explorer_pages`)
        and the collections worklists, published beside them."""
        import shutil

        explorer_pages(self)
        for period in self.periods:
            path = self.worklist(period)
            if path is not None:
                target = self.project_dir / worklist_source(period.label)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)

    def customer_pages(self, period: PeriodReport) -> None:
        """The period's customer index and pages (:func:`arinsight.site.customer_page.customer_pages`)."""
        customer_pages(self, period)
