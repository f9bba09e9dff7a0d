"""Overview pages: the home page, each period's overview and the archive of periods, with the
blocks they share (the regions at a glance, the briefing, the home tiles). Functions of the
site's :class:`~arinsight.site.pages.Builder` (what every page shares)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arinsight import kpis as registry
from arinsight.ledger import period_bounds
from arinsight.site import briefing
from arinsight.site.explorer import (
    TILE_VIEWS,
)
from arinsight.site.html import (
    esc,
    format_value,
    href,
    month_name,
)
from arinsight.site.navigation import context_bar
from arinsight.site.paths import (
    ARCHIVE,
    HOME,
    REGION_PAGES,
    currency_of,
    customers_source,
    period_explorer_source,
    period_source,
    region_source,
)
from arinsight.site.reports import PeriodReport, RegionReport
from arinsight.site.sections import (
    empty_html,
    failed_badge,
    failed_page,
    link_customers,
    page,
    provenance_html,
    scripts_html,
)

if TYPE_CHECKING:  # for the annotation only: pages imports this module
    from arinsight.site.pages import Builder

#: Tiles of the home page: the first few tiles of every region page.
HOME_TILES_PER_PAGE = 4


def _region_cell(
    builder: Builder,
    source: str,
    period: PeriodReport,
    region: RegionReport,
    key: str,
    currency: str,
) -> str:
    """One figure of the regions table; a figure with rows behind it links to them."""
    value = (region.kpis or {}).get(key)
    text = esc(format_value(value, registry.get(key).unit, currency))
    target = (
        builder.explorer_link(source, period, TILE_VIEWS[key][0], region.name)
        if key in TILE_VIEWS and value is not None
        else None
    )
    if target:
        text = f'<a class="ar-rows-link" href="{esc(target)}" data-kpi="{esc(key)}">{text}</a>'
    return f'<td class="num" data-v="{esc(value if value is not None else "")}">{text}</td>'


def briefing_section(builder: Builder, source: str, period: PeriodReport) -> str:
    """What happened and what to do (:mod:`arinsight.site.briefing`), for All; empty when
    the period published no figures for All."""
    if period.all is None or not period.all.kpis:
        return ""
    data = builder.data(period)
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
        overdue_link=builder.explorer_link(source, period, TILE_VIEWS["overdue_ar"][0]),
    )
    return link_customers(block, builder.resolver(source, period.label))


def region_table(builder: Builder, source: str, period: PeriodReport) -> str:
    """Regions at a glance: key figures per region, the region linked to its pages."""
    currency = currency_of(period)
    keys = [k.key for k in registry.tiles(REGION_PAGES[0][0])][:4]
    keys += [k.key for k in registry.tiles("risk")][:1]
    head = "".join(f'<th scope="col" class="num">{esc(registry.get(k).label)}</th>' for k in keys)
    rows = []
    for r in period.regions:
        cells = "".join(_region_cell(builder, source, period, r, k, currency) for k in keys)
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


def home_keys() -> list[str]:
    """The tiles of the home page and the period overviews: the first few of every page."""
    return [k.key for key, _, _ in REGION_PAGES for k in registry.tiles(key)[:HOME_TILES_PER_PAGE]]


def home(builder: Builder) -> None:
    """The home page: the latest period, all regions (a placeholder before any run)."""
    latest = builder.latest
    if latest is None:
        builder.write(HOME, "Accounts receivable", [page(empty_html())], "home")
        return
    builder.data(latest)
    keys = home_keys()
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
        context_bar(builder, HOME, latest, None, None)
        + intro
        + builder.tiles(HOME, latest, latest.all, keys)
        + briefing_section(builder, HOME, latest)
        + builder.worklist_html(HOME, latest)
        + '<section class="ar-section"><h2>Regions at a glance</h2>'
        + region_table(builder, HOME, latest)
        + "</section>"
        + '<p class="links">'
        f'<a href="{esc(href(HOME, period_source(latest.label)))}">Period overview</a> · '
        f'<a href="{esc(href(HOME, customers_source(latest.label)))}">Customers</a> · '
        f'<a href="{esc(href(HOME, period_explorer_source(latest.label)))}">Invoice explorer</a> · '
        f'<a href="{esc(href(HOME, ARCHIVE))}">Archive of periods</a></p>'
        + provenance_html(latest, latest.all)
    )
    builder.write(
        HOME, "Accounts receivable", [page(body, scripts_html(HOME, tables=True))], "home"
    )


def period_index(builder: Builder, period: PeriodReport) -> None:
    """The overview of ``period``: its tiles, briefing, regions and what did not complete."""
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
        context_bar(builder, source, period)
        + f"<p>{esc(month_name(period.label))}, as of {esc(period.manifest.get('as_of'))}.</p>"
        + notice
        + (
            builder.tiles(source, period, period.all, home_keys())
            if period.all and period.all.kpis
            else ""
        )
        + briefing_section(builder, source, period)
        + region_table(builder, source, period)
        + (
            f'<p class="links"><a href="{esc(href(source, period_explorer_source(period.label)))}">'
            f"Invoice explorer, {esc(month_name(period.label))}</a></p>"
            if builder.explorer_rows(period) is not None
            else ""
        )
        + builder.worklist_html(source, period)
        + provenance_html(period, period.all)
    )
    builder.write(
        source,
        f"Period {month_name(period.label)}",
        [page(body, scripts_html(source, tables=True))],
        "period",
    )


def archive(builder: Builder) -> None:
    """The archive: one row per period built, newest first."""
    rows = []
    for period in builder.periods:
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
    bar = context_bar(builder, ARCHIVE, builder.periods[0]) if builder.periods else ""
    builder.write(ARCHIVE, "Archive of periods", [page(bar + table)], "archive")
