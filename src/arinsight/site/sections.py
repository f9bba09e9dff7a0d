"""The blocks every page is built of: a notebook's sections as chart cards and collapsed
tables, the page wrapper, the provenance footer, the badges of failed runs, and the links from
a customer's name to the customer's page."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from arinsight.site.html import (
    esc,
    href,
    json_for_script,
)
from arinsight.site.notebook import Section, png_html
from arinsight.site.paths import (
    ASSETS,
    PAGE_END,
    PAGE_START,
)
from arinsight.site.reports import PeriodReport, RegionReport


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
    """A chart drawn by the site's plotly.js: an empty div and its figure JSON. The div is a
    labelled ``figure`` (not ``img``: the chart holds controls, its legend and toolbar, which an
    image may not)."""
    spec = _figure_spec(fig)
    attrs = f' data-customers="{esc(json.dumps(dict(links), sort_keys=True))}"' if links else ""
    return (
        f'<div class="ar-chart" id="{chart_id}" data-spec="{chart_id}-spec" role="figure" '
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


#: The trace types of plotly.js's "basic" bundle (``plotly.js-basic-dist-min`` on npm, the same
#: plotly.js version as the plotly package's full bundle): 1.2 MB where the full one is 4.8 MB.
BASIC_TRACES = frozenset({"bar", "pie", "scatter"})
PLOTLY_BASIC = "plotly-basic.min.js"
PLOTLY_FULL = "plotly.min.js"


def trace_types(fig: Mapping[str, Any]) -> frozenset[str]:
    """The trace types a figure draws (a trace without a type is a scatter, as in plotly.js)."""
    return frozenset(str(t.get("type") or "scatter") for t in fig.get("data") or [])


def plotly_asset(traces: Collection[str]) -> str:
    """The plotly.js a page with these trace types loads: the basic bundle when it draws them
    all (every figure of ``arinsight.plots.interactive`` is a bar or a scatter), else the full
    one, so a chart a notebook adds with another type still draws."""
    return PLOTLY_BASIC if set(traces) <= BASIC_TRACES else PLOTLY_FULL


def scripts_html(
    source: str,
    charts: Collection[str] = (),
    tables: bool = False,
    datatables: bool = False,
) -> str:
    """The site's scripts, served from the site itself (one copy each): plotly.js for pages
    with charts (``charts``: the trace types the page draws; :func:`plotly_asset` picks the
    bundle); ``arinsight.js`` (charts, the download buttons of every table, the invoice
    explorer) for pages with charts or tables; DataTables with its stylesheet for the explorer
    (other pages load it on the first click of a download button)."""
    out = (
        f'<script src="{esc(href(source, ASSETS + "/" + plotly_asset(charts)))}"></script>'
        if charts
        else ""
    )
    if datatables:
        out += (
            f'<link rel="stylesheet" href="{esc(href(source, ASSETS + "/datatables.css"))}">'
            f'<script src="{esc(href(source, ASSETS + "/datatables.js"))}" defer></script>'
        )
    if charts or tables or datatables:
        out += f'<script src="{esc(href(source, ASSETS + "/arinsight.js"))}" defer></script>'
    return out


_VIEW_NOTE = re.compile(r'<span class="ar-explore" data-explore="([a-z-]+)">(.*?)</span>', re.S)


def link_views(block: str, explore: Callable[[str], str | None] | None) -> str:
    """A table cut at "First N of M rows" whose notebook named its explorer view
    (``table_markup(explore=...)``) links its "All M are in the invoice explorer" to them."""
    if explore is None:
        return block

    def one(m: re.Match) -> str:
        target = explore(html.unescape(m.group(1)))
        if not target:
            return m.group(2)
        text = m.group(2).replace(" of the website", "")
        return f'<a class="ar-rows-link" href="{esc(target)}">{text}</a>'

    return _VIEW_NOTE.sub(one, block)


def sections_html(
    sections: list[Section],
    source: str,
    resolve: Callable[[str], str | None],
    explore: Callable[[str], str | None] | None = None,
) -> tuple[str, str, frozenset[str]]:
    """(cards, details, trace types drawn): charts in cards with their notes, then every table
    and text collapsed under the cards (no trace type: the page draws no Plotly chart). ``explore``: a list view's link to the invoice explorer
    (:func:`link_views`)."""

    def table(t: str) -> str:
        return link_views(link_customers(t, resolve), explore)

    cards, details = [], []
    traces: set[str] = set()
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
                    traces |= trace_types(fig) or {"scatter"}  # a figure without traces
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
                body = "".join(table(t) for t in sec.tables)
                details.append(
                    f'<details class="ar-detail"><summary>{esc(sec.title)}: the figures</summary>'
                    f"{body}</details>"
                )
        elif sec.tables or sec.texts:
            body = "".join(table(t) for t in sec.tables) + "".join(sec.texts)
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
    return cards_html, details_html, frozenset(traces)
