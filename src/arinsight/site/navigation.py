"""Navigation: the context bar on top of every page of a period: the period picker (the same
page in every other period where it was published), the regions and the pages of the period,
and the notice when a page comes from an earlier run. Functions of the site's
:class:`~arinsight.site.pages.Builder` (what every page shares)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arinsight.ledger import ALL_REGIONS
from arinsight.site.html import (
    esc,
    href,
    month_name,
)
from arinsight.site.paths import (
    ARCHIVE,
    DQ_PAGE,
    REGION_PAGES,
    customer_source,
    customers_source,
    dq_source,
    period_explorer_source,
    period_source,
    region_source,
)
from arinsight.site.reports import PeriodReport, RegionReport
from arinsight.site.sections import (
    failed_badge,
    failed_page,
)

if TYPE_CHECKING:  # for the annotation only: pages imports this module
    from arinsight.site.pages import Builder


def _same_page_in(
    builder: Builder,
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
    if page_key == "customers" and customer_id in builder.customer_ids.get(p.label, set()):
        return customer_source(p.label, customer_id)
    if page_key == "customers":
        return customers_source(p.label) if builder.customer_ids.get(p.label) else None
    if page_key == "explorer":
        return period_explorer_source(p.label) if builder.explorer_rows(p) is not None else None
    if page_key in nb_for:
        r = p.region(region_name or ALL_REGIONS)
        return region_source(p.label, r, page_key) if r and r.has(nb_for[page_key]) else None
    return period_source(p.label)


def context_bar(
    builder: Builder,
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
    for p in builder.periods:
        target = _same_page_in(builder, p, region.name if region else None, page_key, customer_id)
        target = target or period_source(p.label)
        sel = " selected" if p.label == period.label else ""
        options.append(
            f'<option value="{esc(href(source, target))}"{sel}>{esc(month_name(p.label))}</option>'
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
    if builder.customer_ids.get(period.label):
        tabs.append(link(customers_source(period.label), "Customers", page_key == "customers"))
    if builder.explorer_rows(period) is not None:
        tabs.append(link(period_explorer_source(period.label), "Invoices", page_key == "explorer"))
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
