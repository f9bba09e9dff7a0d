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
of a page), :mod:`~arinsight.site.navigation` (the context bar), :mod:`~arinsight.site.explorer`
and :mod:`~arinsight.site.customer_page` (those pages), :mod:`~arinsight.site.overview` (the home
page, the period overviews and the archive), this module (:class:`Builder`, what every page
shares: the period's data, links and tiles, and the written sources; and the region and data
quality pages), then :mod:`~arinsight.site.render` (the built-in renderer and the post-render
step) and the package (``build_site``, which calls the pages' functions in a fixed order).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from arinsight import kpis as registry
from arinsight.ledger import ALL_REGIONS, period_bounds
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
    href,
    month_name,
    qmd,
    write_text,
)
from arinsight.site.navigation import context_bar
from arinsight.site.notebook import read_notebook
from arinsight.site.overview import period_index
from arinsight.site.paths import (
    DQ_PAGE,
    REGION_PAGES,
    currency_of,
    customer_source,
    dq_source,
    latest_source,
    period_explorer_source,
    region_source,
    worklist_source,
)
from arinsight.site.reports import PeriodReport, RegionReport
from arinsight.site.sections import (
    empty_html,
    page,
    plotly_asset,
    provenance_html,
    scripts_html,
    sections_html,
)
from arinsight.site.tiles import forecast_tiles_html, tiles_html

# --------------------------------------------------------------------------------------------
# the builder
# --------------------------------------------------------------------------------------------


class Builder:
    """What every page of the site shares, for a list of periods (newest first): the periods'
    data (read once), the links to the explorer, the customer pages and the worklists, the KPI
    tiles, and the page sources written so far (:meth:`write`). The pages themselves are
    functions taking it: here, in :mod:`~arinsight.site.overview`, :mod:`~arinsight.site.explorer`
    and :mod:`~arinsight.site.customer_page`."""

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
        """Write the page source ``source`` (a .qmd of ``kind``) and note it as written."""
        write_text(self.project_dir / source, qmd(title, blocks, kind))
        self.written.append(source)

    def previous_of(self, period: PeriodReport) -> PeriodReport | None:
        """The period before ``period`` when it was built, else None."""
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
        """Customer id -> the link from ``source`` to its page of ``period`` (None: no page)."""
        ids = self.customer_ids.get(period, set())

        def resolve(cid: str) -> str | None:
            return href(source, customer_source(period, cid)) if cid in ids else None

        return resolve

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
        """The KPI tiles ``keys`` of ``region``, each with its change on the previous period, its
        history and, where rows stand behind it, a link to them in the explorer."""
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


# --------------------------------------------------------------------------------------------
# the region pages and the data quality page
# --------------------------------------------------------------------------------------------


def region_page(
    builder: Builder,
    source: str,
    period: PeriodReport,
    region: RegionReport,
    key: str,
    nb_name: str,
    title: str,
) -> None:
    """The dashboard of notebook ``nb_name`` of ``region`` (page ``key``) at ``source``."""
    builder.data(period)
    view = read_notebook(region.folder / nb_name)
    resolve = builder.resolver(source, period.label)
    tiles = builder.tiles(source, period, region, [k.key for k in registry.tiles(key)])
    if key == "forecast":  # its figures are the weeks of kpis.json's cash_forecast
        tiles += forecast_tiles_html(region.kpis, currency_of(period))

    def explore(name: str) -> str | None:
        from arinsight.site.explorer import LIST_VIEWS

        view_ = LIST_VIEWS.get(name)
        return builder.explorer_link(source, period, view_, region.name) if view_ else None

    cards, details, charts = sections_html(view.sections, source, resolve, explore)
    about = (
        f'<details class="ar-about"><summary>About this page</summary>{view.intro}</details>'
        if view.intro
        else ""
    )
    body = (
        context_bar(builder, source, period, region, key)
        + tiles
        + (builder.worklist_html(source, period) if key == "risk" else "")
        + about
        + cards
        + details
        + (reps_section(builder, source, period, region) if key == "commissions" else "")
        + provenance_html(period, region, nb_name)
    )
    builder.write(
        source,
        f"{title}: {region.name}, {month_name(period.label)}",
        [page(body, builder.scripts(source, charts))],
        "report",
    )


def report_pages(builder: Builder) -> None:
    """Every period's region pages, data quality page, overview and customer pages."""
    for period in builder.periods:
        for region in period.regions:
            for key, nb_name, title in REGION_PAGES:
                if region.has(nb_name):
                    source = region_source(period.label, region, key)
                    region_page(builder, source, period, region, key, nb_name, title)
        if period.all and period.all.has(DQ_PAGE[1]):
            dq_page(builder, dq_source(period.label), period)
        period_index(builder, period)
        customer_pages(builder, period)


def dq_page(builder: Builder, source: str, period: PeriodReport) -> None:
    """The period's data quality page (the All folder's clean notebook) at ``source``."""
    view = read_notebook(period.all.folder / DQ_PAGE[1])
    resolve = builder.resolver(source, period.label)
    cards, details, charts = sections_html(view.sections, source, resolve)
    body = (
        context_bar(builder, source, period, None, DQ_PAGE[0])
        + (f'<div class="ar-intro">{view.intro}</div>' if view.intro else "")
        + cards
        + details
        + provenance_html(period, period.all, DQ_PAGE[1])
    )
    builder.write(
        source,
        f"{DQ_PAGE[2]}: {month_name(period.label)}",
        [page(body, builder.scripts(source, charts))],
        "report",
    )


def latest_pages(builder: Builder) -> None:
    """The navbar's region pages and Data Quality: latest period, all regions."""
    latest = builder.latest
    for key, nb_name, title in REGION_PAGES:
        source = latest_source(key)
        if latest and latest.all and latest.all.has(nb_name):
            region_page(builder, source, latest, latest.all, key, nb_name, title)
        else:
            builder.write(source, title, [page(empty_html())], "placeholder")
    source = latest_source(DQ_PAGE[0])
    if latest and latest.all and latest.all.has(DQ_PAGE[1]):
        dq_page(builder, source, latest)
    else:
        builder.write(source, DQ_PAGE[2], [page(empty_html())], "placeholder")


def reps_section(builder: Builder, source: str, period: PeriodReport, region: RegionReport) -> str:
    """Sales reps and their customers (:mod:`arinsight.site.reps`) for the Commission
    Analytics page of ``region``."""
    data = builder.data(period)
    positions = data["positions"]
    if region.name != ALL_REGIONS and len(positions):
        positions = positions.loc[positions["region"] == region.name]
    balances = rep_view.customer_balances(positions, data["customers"])
    return rep_view.reps_html(
        region.json("commissions_by_rep.json"),
        balances,
        currency_of(period),
        builder.resolver(source, period.label),
    )


def publish_explorer(builder: Builder) -> None:
    """The invoice explorer of every period (:func:`arinsight.site.explorer.explorer_pages`)
    and the collections worklists, published beside them."""
    import shutil

    explorer_pages(builder)
    for period in builder.periods:
        path = builder.worklist(period)
        if path is not None:
            target = builder.project_dir / worklist_source(period.label)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
