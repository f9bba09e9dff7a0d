"""The built site in headless Chromium (Debian's /usr/bin/chromium driven by Playwright), for
each renderer: the built-in one always, Quarto when ``quarto`` is on PATH.

The site is built from the small reports tree of test_site and served by a local http.server on
127.0.0.1. Every page fixture records the requests, console errors, page errors and dialogs of
its page and fails the test on any request to another host, any console or page error and any
dialog. Screenshots of the home page, a region dashboard, a customer page and the explorer are
kept in tests/artifacts/ (``<renderer>-<page>.png``).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from arinsight import kpis

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
LOCAL = {"127.0.0.1", "localhost"}
VIEWPORT = {"width": 1400, "height": 1000}


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (run `make browser`)")
        pytest.skip(f"{CHROMIUM} is missing (run `make browser` to install Debian's chromium)")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


def _renderers() -> list[str]:
    from test_site import RENDERERS

    return RENDERERS


@pytest.fixture(scope="module", params=_renderers())
def served(request, tmp_path_factory):
    """Build the site from test_site's reports tree with one renderer and serve it."""
    from test_site import build

    built = build(tmp_path_factory.mktemp(f"browser-{request.param}"), request.param)
    handler = functools.partial(_Quiet, directory=str(built["out"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield built | {"url": f"http://127.0.0.1:{server.server_address[1]}/"}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh page that records requests, console errors, page errors and dialogs."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.requests, pg.dialogs, pg.errors = [], [], []
    pg.on("request", lambda req: pg.requests.append(req.url))
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    off_host = [
        u
        for u in pg.requests
        if urlparse(u).scheme not in ("data", "blob", "about") and urlparse(u).hostname not in LOCAL
    ]
    context.close()
    assert not off_host, f"requests left localhost: {off_host}"
    assert not pg.errors, f"console or page errors: {pg.errors}"
    assert not pg.dialogs, f"a script ran a dialog: {pg.dialogs}"


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text.replace("−", "-")))


def _step(shown: str) -> float:
    if shown.endswith("x"):
        return 0.01
    if "$" in shown or re.fullmatch(r"-?[\d,]+", shown):
        return 1.0
    return 0.1


def _check_tiles(page, want: dict, keys: list[str]) -> None:
    tiles = page.locator(".kpi-tile")
    assert [tiles.nth(i).get_attribute("data-kpi") for i in range(tiles.count())] == keys
    for i in range(tiles.count()):
        tile = tiles.nth(i)
        key = tile.get_attribute("data-kpi")
        shown = tile.locator(".kpi-value").inner_text()
        raw = tile.get_attribute("data-value")
        if want.get(key) is None:
            assert shown == "n/a" and raw == "", key
            continue
        assert json.loads(raw) == want[key], key
        assert abs(_number(shown) - want[key]) <= _step(shown) / 2 + 1e-9, (key, shown)


def test_tiles_equal_kpis_on_every_region_page(page, served):
    """Every tile of every region page equals that region's kpis.json (exactly in data-value,
    to the shown precision in the text), and all tiles are on screen without scrolling."""
    from test_site import REGION_SETS

    for period, regions in REGION_SETS.items():
        for region in regions:
            want = json.loads((served["reports"] / period / region / "kpis.json").read_text())
            for key in ("receivables", "commissions", "risk"):
                page.goto(f"{served['url']}site/{period}/{region}/{key}.html")
                _check_tiles(page, want, [k.key for k in kpis.tiles(key)])
                last = page.locator(".kpi-tile").last.bounding_box()
                assert last["y"] + last["height"] <= VIEWPORT["height"], (period, region, key)
    dso = page.locator('.kpi-tile[data-kpi="dso"] .kpi-change')
    page.goto(served["url"] + "site/2026-10/All/receivables.html")
    assert "bad" in dso.get_attribute("class") and "▲" in dso.inner_text()
    assert dso.evaluate("e => getComputedStyle(e).color") == "rgb(192, 57, 43)"


def test_every_customer_link_resolves_and_statements_sum(page, served):
    """Every customer link on the region pages, the customer index and the explorer opens a
    customer page (HTTP 200) whose statement total and open invoices add up to the pending
    balance shown on it."""
    base = served["url"]
    sources = [f"site/{p}/{r}/receivables.html" for p, rs in
               {"2026-10": ["All", "North", "South"], "2026-09": ["All"]}.items() for r in rs]  # fmt: skip
    sources += ["site/2026-10/customers/index.html", "site/explorer.html"]
    links = set()
    for rel in sources:
        page.goto(base + rel)
        if "explorer" in rel:
            page.wait_for_selector("#invoice_explorer tbody tr", timeout=20_000)
            page.select_option("select[name$='_length'], .dt-length select", "100")
        hrefs = page.eval_on_selector_all(
            "a.ar-customer, #invoice_explorer tbody a", "els => els.map(e => e.href)"
        )
        assert hrefs, rel
        links |= set(hrefs)
    assert len(links) >= 12
    for url in sorted(links):
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        pending = float(page.locator("[data-pending]").get_attribute("data-pending"))
        rows = page.locator(".statement tbody tr")
        if rows.count() == 0:  # nothing open: the statement says so
            assert pending == 0 and "No data" in page.locator(".statement").inner_text(), url
            continue
        col = page.locator(".statement thead th").all_inner_texts().index("Pending amount")
        amounts = [
            _number(rows.nth(i).locator("td").nth(col).inner_text()) for i in range(rows.count())
        ]
        assert round(sum(amounts), 2) == round(pending, 2), url
        total = page.locator(".statement tfoot td.num").first.inner_text()
        assert _number(total) == pytest.approx(pending), url


def test_chart_hover_legend_and_resize(page, served):
    """Hovering a bar shows a tooltip with the exact amount; clicking a legend entry hides its
    series; the chart follows the page width."""
    page.goto(served["url"] + "site/2026-10/North/receivables.html")
    page.wait_for_selector(".ar-chart .main-svg", timeout=20_000)
    chart = page.locator(".ar-chart").first
    chart.scroll_into_view_if_needed()
    bars = chart.locator(".bars path")
    boxes = [bars.nth(i).bounding_box() for i in range(bars.count())]
    box = max((b for b in boxes if b), key=lambda b: b["width"] * b["height"])
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    tip = chart.locator(".hoverlayer .hovertext")
    tip.first.wait_for(timeout=5_000)
    assert re.search(r"\$[\d,]+\.\d\d", tip.first.text_content())
    chart.locator(".legend .traces .legendtoggle").first.click(force=True)
    page.wait_for_timeout(1000)  # plotly waits its double-click delay before toggling
    assert chart.evaluate("e => e.data.filter(t => t.visible === 'legendonly').length") == 1
    svg_width = "e => e.querySelector('.main-svg').getBoundingClientRect().width"
    div_width = "e => e.getBoundingClientRect().width"
    before = chart.evaluate(svg_width)
    page.set_viewport_size({"width": 1000, "height": 1000})  # one column of cards: wider
    page.wait_for_timeout(800)
    after = chart.evaluate(svg_width)
    assert abs(after - before) > 50 and abs(after - chart.evaluate(div_width)) < 2


def test_period_picker_reaches_every_period(page, served):
    """From North's receivables page of 2026-10 the picker leads to 2026-09's and back."""
    base = served["url"]
    page.goto(base + "site/2026-10/North/receivables.html")
    for label, path in (("September 2026", "2026-09/North"), ("October 2026", "2026-10/North")):
        with page.expect_navigation():
            page.select_option(".ar-period-picker", label=label)
        assert page.url == f"{base}site/{path}/receivables.html"
        assert label in page.title()


def test_navigation_reaches_every_page_without_errors(page, served):
    """Crawl from the home page following links only: every page of every period, region and
    customer loads (HTTP 200), with no console error and no off-host request (the fixture)."""
    from test_site import EXPECTED_PAGES

    base = served["url"]
    todo, seen = [base + "index.html"], set()
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        for href in page.eval_on_selector_all(
            "a[href]", "els => els.map(e => e.getAttribute('href'))"
        ):
            target = urljoin(url, href).split("#")[0]
            if target.endswith("/"):  # Quarto writes links to index.html as the folder
                target += "index.html"
            if target.startswith(base) and target.endswith(".html"):
                todo.append(target)
    reached = {u[len(base) :] for u in seen}
    assert set(EXPECTED_PAGES) <= reached, set(EXPECTED_PAGES) - reached


def _info(page) -> str:
    return page.locator("#invoice_explorer_info, .dt-info").first.inner_text()


def test_explorer_region_filter_narrows_rows(page, served):
    """10 open invoices: 5 in North (INV-001..005), 3 in South, 2 in East. Selecting North in
    the region filter leaves 5; amounts show currency and separators."""
    page.goto(served["url"] + "site/explorer.html")
    page.wait_for_selector(".dtsp-searchPane", timeout=20_000)
    assert re.search(r"of 10 entries", _info(page)), _info(page)
    assert "Filters Active" not in page.locator(".dtsp-title").inner_text()
    region_pane = page.locator('.dtsp-searchPane:has(input[placeholder="Region"])')
    assert region_pane.locator(".dtsp-name").all_inner_texts() == ["East", "North", "South"]
    region_pane.locator(".dtsp-name", has_text="North").click()
    page.wait_for_function(
        "() => /filtered from/.test((document.querySelector('.dt-info')||{}).innerText||'')",
        timeout=10_000,
    )
    assert re.search(r"of 5 entries \(filtered from 10 total entries\)", _info(page)), _info(page)
    regions = page.locator("#invoice_explorer tbody tr td:nth-child(3)").all_inner_texts()
    assert regions and set(regions) == {"North"}
    amounts = page.locator("#invoice_explorer tbody tr td:nth-child(7)").all_inner_texts()
    assert all(re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", a) for a in amounts), amounts


def test_hostile_customer_name_is_text(page, served):
    """`<img src=x onerror=alert(1)>` shows as text in the explorer, on a report page and on its
    customer page; no such element exists and no dialog opens (the fixture checks)."""
    evil = "<img src=x onerror=alert(1)>"
    page.goto(served["url"] + "site/explorer.html")
    page.wait_for_selector(".dtsp-searchPane", timeout=20_000)
    page.locator("#invoice_explorer_wrapper input[type=search], .dt-search input").first.fill(
        "onerror"
    )
    page.wait_for_timeout(300)
    assert evil in page.locator("#invoice_explorer tbody td").all_inner_texts()
    assert page.locator('img[src="x"]').count() == 0
    for rel in ("site/2026-10/North/receivables.html", "site/2026-10/customers/C_3.html"):
        page.goto(served["url"] + rel)
        assert page.get_by_text(evil).count() >= 1
        assert page.locator('img[src="x"]').count() == 0


def test_screenshots(page, served):
    """Screenshots of the home page, a region dashboard, a customer page and the explorer."""
    ARTIFACTS.mkdir(exist_ok=True)
    r = served["renderer"]
    for name, rel, full in (
        ("home", "index.html", False),
        ("region", "site/2026-10/North/receivables.html", True),
        ("customer", "site/2026-10/customers/C_5.html", True),
        ("explorer", "site/explorer.html", False),
    ):
        page.goto(served["url"] + rel)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / f"{r}-{name}.png"), full_page=full)
        assert (ARTIFACTS / f"{r}-{name}.png").stat().st_size > 10_000


def test_no_chart_offers_to_send_it_anywhere(page, served):
    """plotly.js 4 puts "Share chart" (an upload to Plotly Cloud) in every chart's toolbar by
    default: no chart of the site has it, nor a link to Plotly's editors, and no request leaves
    the local server while a dashboard loads and its toolbar is shown."""
    outside = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(served["url"]) else None,
    )
    page.goto(served["url"] + "site/2026-10/All/receivables.html")
    page.wait_for_selector(".ar-chart .main-svg", timeout=20_000)
    chart = page.locator(".ar-chart").first
    chart.scroll_into_view_if_needed()
    chart.hover()
    page.wait_for_selector(".ar-chart .modebar-btn", state="attached", timeout=5_000)
    titles = page.eval_on_selector_all(
        ".ar-chart .modebar-btn", "els => els.map(e => e.getAttribute('data-title') || '')"
    )
    assert titles and not [t for t in titles if "share" in t.lower() or "cloud" in t.lower()]
    assert page.locator("[data-title*='Chart Studio'], .js-plot-link-container").count() == 0
    assert outside == []
