"""The built site in headless Chromium (Debian's /usr/bin/chromium driven by Playwright), for
each renderer: the built-in one always, Quarto when ``quarto`` is on PATH.

The site is built from the small reports tree of test_site and served by a local http.server on
127.0.0.1. Every page fixture records the requests, console errors, page errors and dialogs of
its page and fails the test on any request to another host, any console or page error and any
dialog. Screenshots of the home page, a region dashboard, a customer page and the explorer are
kept in tests/artifacts/ (``<renderer>-<page>.png``).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import io
import json
import os
import re
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import nbformat
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


@contextlib.contextmanager
def _serving(folder: Path):
    """A local http.server on 127.0.0.1 serving ``folder``; yields its URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module", params=_renderers())
def served(request, tmp_path_factory):
    """Build the site from test_site's reports tree with one renderer and serve it."""
    from test_site import build

    built = build(tmp_path_factory.mktemp(f"browser-{request.param}"), request.param)
    with _serving(built["out"]) as url:
        yield built | {"url": url}


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


_SCALE = {"M": 1e6, "B": 1e9, "T": 1e12}


def _number(text: str) -> float:
    scale = next((v for k, v in _SCALE.items() if re.search(rf"\d{k}\b", text)), 1.0)
    return float(re.sub(r"[^0-9.\-]", "", text.replace("−", "-"))) * scale


def _step(shown: str) -> float:
    if shown.endswith("x"):
        return 0.01
    scale = next((v for k, v in _SCALE.items() if re.search(rf"\d{k}\b", shown)), None)
    if scale:  # "$1.23M": two decimals of millions
        return 0.01 * scale
    if "$" in shown or re.fullmatch(r"-?[\d,]+", shown):
        return 1.0
    return 0.1


def _check_tiles(page, want: dict, keys: list[str]) -> None:
    tiles = page.locator(".kpi-tile")
    assert [tiles.nth(i).get_attribute("data-kpi") for i in range(tiles.count())] == keys
    for i in range(tiles.count()):
        tile = tiles.nth(i)
        key = tile.get_attribute("data-kpi")
        value = tile.locator(".kpi-value")
        short = value.locator("[aria-hidden=true]")
        shown = (short if short.count() else value).inner_text()
        raw = tile.get_attribute("data-value")
        if want.get(key) is None:
            assert shown == "n/a" and raw == "", key
            continue
        assert json.loads(raw) == want[key], key
        assert abs(_number(shown) - want[key]) <= _step(shown) / 2 + 1e-9, (key, shown)
        if short.count():  # the exact figure, to the cent, in the tooltip and read aloud
            exact = value.get_attribute("title")
            assert round(_number(exact) * 100) == round(want[key] * 100), (key, exact)
            assert value.locator(".visually-hidden").inner_text() == exact
        # the figure fits its tile
        assert value.evaluate("e => e.scrollWidth <= e.clientWidth"), (key, shown)


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
            assert pending == 0 and "Nothing open at" in page.locator(".statement").inner_text(), (
                url
            )
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
    """10 open invoices: 5 in North (INV-001..005), 3 in South, 2 in East. Choosing North in
    the region filter leaves 5 (also in the URL); amounts show currency and separators; the
    totals row adds up the 5."""
    page.goto(served["url"] + "site/explorer.html")
    assert _totals(page)["invoice_id"] == 10
    options = page.locator("[data-filter=region] option").all_inner_texts()
    assert options == ["All regions", "East", "North", "South"]
    page.select_option("[data-filter=region]", "North")
    assert _totals(page)["invoice_id"] == 5 and "region=North" in page.url
    assert _totals(page)["open_amount"] == sum(100_000 + 100 * i for i in range(1, 6))
    regions = page.locator("#invoice_explorer tbody tr td:nth-child(11)").all_inner_texts()
    assert regions and set(regions) == {"North"}
    amounts = page.locator("#invoice_explorer tbody tr td:nth-child(3)").all_inner_texts()
    assert all(re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", a) for a in amounts), amounts


def test_older_periods_link_to_their_own_explorer(page, served):
    """From September's North receivables page the "Invoices" tab opens September's explorer,
    which lists the invoices open at its T and the two paid in September (INV-000, INV-007)."""
    page.goto(served["url"] + "site/2026-09/North/receivables.html")
    with page.expect_navigation():
        page.locator("a.ar-tab", has_text="Invoices").click()
    assert page.url == served["url"] + "site/2026-09/explorer.html"
    assert _totals(page)["invoice_id"] == 10
    page.select_option("[data-filter=status]", "paid")
    assert sorted(r["invoice_id"] for r in _rows(page)) == ["INV-000", "INV-007"]


def test_hostile_customer_name_is_text(page, served):
    """`<img src=x onerror=alert(1)>` shows as text in the explorer, on a report page and on its
    customer page; no such element exists and no dialog opens (the fixture checks)."""
    evil = "<img src=x onerror=alert(1)>"
    page.goto(served["url"] + "site/explorer.html")
    _totals(page)
    page.fill("[data-filter=q]", "onerror")
    assert _totals(page)["invoice_id"] == 1
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
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    for name, rel in (("home", "index.html"), ("region", "site/2026-10/North/receivables.html"),
                      ("customer", "site/2026-10/customers/C_5.html"),
                      ("explorer", "site/explorer.html")):  # fmt: skip
        page.goto(served["url"] + rel)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / f"{r}-{name}-390.png"), full_page=True)


A4_CONTENT_PX = (297 - 2 * 12) / 25.4 * 96  # the print stylesheet's A4 page less its margins


def test_printing_a_dashboard(page, served):
    """Printed, a dashboard has no navigation, context bar or buttons; every collapsed section
    but the provenance is open; tiles, chart cards and table rows are never split across pages
    (break-inside: avoid, and each is shorter than an A4 page, so the rule can hold); the PDF
    has a few A4 pages and the sections close again after printing."""
    page.goto(served["url"] + "site/2026-10/North/receivables.html")
    page.wait_for_selector(".ar-chart .main-svg")
    closed = page.locator("details:not([open]):not(.provenance)").count()
    assert closed > 0
    pdf = page.pdf(format="A4")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 1 <= pages <= 6, pages
    assert page.locator("details:not([open]):not(.provenance)").count() == closed  # closed again
    page.set_viewport_size({"width": 794, "height": 1123})
    page.emulate_media(media="print")
    page.evaluate("() => dispatchEvent(new Event('beforeprint'))")
    assert page.locator("details:not([open]):not(.provenance)").count() == 0
    assert page.locator("details.provenance:not([open])").count() == 1
    hidden = page.evaluate(
        """() => ['.ar-navbar', '#quarto-header', '.ar-context', '.ar-downloads', '.kpi-rows']
        .flatMap(s => [...document.querySelectorAll(s)])
        .filter(e => getComputedStyle(e).display !== 'none').length"""
    )
    assert hidden == 0
    blocks = page.evaluate(
        """() => [...document.querySelectorAll('.kpi-tile, .ar-card, table.ar-table tr')]
        .map(e => [e.className || e.tagName, getComputedStyle(e).breakInside,
                   e.getBoundingClientRect().height])"""
    )
    assert blocks and all(b[1] == "avoid" for b in blocks), blocks[:3]
    assert max(b[2] for b in blocks) < A4_CONTENT_PX
    page.emulate_media(media="screen")


def test_the_site_title_is_whole_at_1400_px(page, served):
    """The navbar's title is not cut to "arinsight: accounts rece…" (Quarto shrank it so that
    its entries fit one line); the entries wrap instead."""
    page.goto(served["url"] + "site/2026-10/North/receivables.html")
    title = page.locator(".navbar-title, .ar-brand").first
    assert title.text_content().strip() == "arinsight: accounts receivable"
    # the link holding the title is where Quarto cut it (overflow hidden, an ellipsis)
    link = "e => { const a = e.closest('a') || e; return [a.scrollWidth, a.clientWidth]; }"
    whole, shown = title.evaluate(link)
    assert 0 < whole <= shown, (whole, shown)


def test_phone_layout_of_home_and_a_dashboard(browser, served):
    """At 390 px the page never scrolls sideways; tiles sit two a row and each figure fits its
    tile (a customer page's "Credit limit used" too); the site's title is never cut; the home page's regions table and its "who to chase
    first" keep one line a row and scroll inside themselves."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    pg = context.new_page()
    for rel in ("index.html", "site/2026-10/North/receivables.html"):
        pg.goto(served["url"] + rel)
        assert pg.evaluate("() => document.documentElement.scrollWidth") <= 390, rel
        tops = pg.eval_on_selector_all(".kpi-tile", "els => els.map(e => e.offsetTop)")
        assert len(tops) >= 4 and tops[0] == tops[1] and tops[2] == tops[3] > tops[0], rel
        assert pg.eval_on_selector_all(
            ".kpi-value", "els => els.every(e => e.scrollWidth <= e.clientWidth)"
        ), rel
        # the site's title whole beside the menu button (Quarto cut it to "arinsight: accou…")
        assert pg.eval_on_selector_all(
            ".navbar-brand, .ar-brand", "els => els.every(e => e.scrollWidth <= e.clientWidth)"
        ), rel
    # a customer page: "Credit limit used" with its limit ("56% of $104,000") wraps in its tile
    pg.goto(served["url"] + "site/2026-10/North/receivables.html")
    pg.goto(pg.eval_on_selector("table a[href*='customers/']", "a => a.href"))
    assert pg.evaluate("() => document.documentElement.scrollWidth") <= 390, pg.url
    assert "credit limit used" in pg.inner_text(".cust-facts").lower(), pg.url
    assert pg.eval_on_selector_all(
        ".kpi-value", "els => els.every(e => e.scrollWidth <= e.clientWidth)"
    ), pg.url
    assert (
        pg.eval_on_selector_all(  # may wrap at its spaces (this ledger's "50% of $2,000" fits)
            ".cust-facts .kpi-value", "els => els.map(e => getComputedStyle(e).whiteSpace)"
        )
        == ["normal"] * 5
    ), pg.url
    pg.goto(served["url"] + "index.html")
    heights = pg.eval_on_selector_all(
        "table.regions tbody tr", "els => els.map(e => e.offsetHeight)"
    )
    assert heights and max(heights) < 45, heights
    wrap = pg.locator("table.regions").locator("xpath=..")
    assert wrap.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    chase = pg.eval_on_selector_all(
        ".brief-top table tbody tr", "els => els.map(e => e.offsetHeight)"
    )  # who to chase first: one line a customer, the table scrolls inside itself
    assert chase and max(chase) < 45, chase
    context.close()


#: The most a dashboard may transfer (issue 24), everything the page loads added up.
MAX_PAGE_BYTES = 1_500_000
DASHBOARD = "site/2026-10/North/receivables.html"


class _Gzip(_Quiet):
    """A web server as one is deployed: text gzipped when the browser accepts it."""

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if "gzip" not in self.headers.get("Accept-Encoding", "") or not path.is_file():
            return super().send_head()
        body = gzip.compress(path.read_bytes(), mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


def _weights(browser, url: str) -> dict[str, tuple[int, int]]:
    """Per path, (bytes of the body, bytes on the wire) of every response a page loads, in a
    new browser context (nothing cached), once its charts are drawn."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    responses = []
    pg.on("response", lambda r: responses.append(r))
    pg.goto(url, wait_until="load")
    if pg.locator(".ar-chart").count():
        pg.wait_for_selector(".ar-chart .main-svg", timeout=20_000)
    pg.wait_for_load_state("networkidle")
    sizes = {
        urlparse(r.url).path: (len(r.body()), r.request.sizes()["responseBodySize"])
        for r in responses
        if r.request.method == "GET"
    }
    context.close()
    return sizes


def test_a_dashboard_weighs_at_most_1_5_mb(browser, served):
    """A dashboard with charts and the home page, each in a new browser context (nothing
    cached): the charts come with plotly.js's basic bundle (1.2 MB), not the full one
    (4.8 MB), and what the site itself serves adds up to at most 1.5 MB. Quarto adds its own
    chrome (Bootstrap and its scripts under site_libs/, about 0.8 MB, the same on every page);
    from a server that compresses, as web servers do, the whole page transfers at most 1.5 MB
    with either renderer."""
    dashboard = _weights(browser, served["url"] + DASHBOARD)
    home = _weights(browser, served["url"] + "index.html")
    for rel, sizes in ((DASHBOARD, dashboard), ("index.html", home)):
        assert "/" + rel in sizes and "/site/assets/arinsight.css" in sizes, rel
        assert not any(p.endswith("/plotly.min.js") for p in sizes), rel
        own = sum(body for p, (body, _) in sizes.items() if not p.startswith("/site_libs/"))
        assert own <= MAX_PAGE_BYTES, (rel, own, sizes)
        if served["renderer"] == "builtin":  # nothing but the site's own files
            assert all(not p.startswith("/site_libs/") for p in sizes), rel
    assert 1_000_000 < dashboard["/site/assets/plotly-basic.min.js"][0] < 1_300_000
    assert not any("plotly" in p for p in home)  # home draws no Plotly chart
    handler = functools.partial(_Gzip, directory=str(served["out"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        wire = _weights(browser, f"http://127.0.0.1:{server.server_address[1]}/{DASHBOARD}")
    finally:
        server.shutdown()
        server.server_close()
    assert wire.keys() == dashboard.keys()
    assert wire["/site/assets/plotly-basic.min.js"][1] < 450_000  # gzipped on the wire
    assert sum(w for _, w in wire.values()) <= MAX_PAGE_BYTES, wire


def _axe():
    """axe-core as the pinned axe-playwright-python bundles it (its axe.min.js: nothing is
    downloaded); missing, the test fails on CI and is skipped elsewhere, as chromium."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("axe-playwright-python is missing (run `make venv`)")
        pytest.skip("axe-playwright-python is missing (run `make venv`)")
    return Axe()


def test_no_serious_accessibility_violation(page, served):
    """axe-core, injected into the home page, a dashboard (charts, tiles, tables), a customer
    page and the invoice explorer once drawn: no violation of impact serious or critical. A
    chart is a labelled figure (its legend and toolbar are controls, which an image may not
    hold); the explorer's filters are labelled by their visible text."""
    axe = _axe()
    found = {}
    customer = "site/2026-10/customers/C_5.html"
    for rel in ("index.html", "site/2026-10/North/receivables.html", customer,
                "site/explorer.html"):  # fmt: skip
        page.goto(served["url"] + rel)
        if "explorer" in rel:
            _loaded(page)
        else:
            page.wait_for_load_state("load")
        if "receivables" in rel:
            page.wait_for_selector(".ar-chart .main-svg")
        results = axe.run(page).response
        assert results["testEngine"]["name"] == "axe-core", rel  # axe ran on the page
        found[rel] = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    assert found == {rel: [] for rel in found}, found


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


# --------------------------------------------------------------------------------------------
# every figure opens its rows, every table downloads: a site whose figures the engine computed
# --------------------------------------------------------------------------------------------

PERIOD = "2026-10"
#: customer names a spreadsheet would run as formulas, and two customers a word apart
RENAMED = [
    '=HYPERLINK("http://example.invalid","x")',
    "-2+3",
    "@SUM(A1)",
    "+cmd",
    "Iron Energy GmbH",
    "Iron Logistics GmbH",
]


#: a table a notebook shows as pandas writes it (index column, plain numbers)
PANDAS_TABLE = (
    '<table border="1" class="dataframe"><thead><tr style="text-align: right;"><th></th>'
    "<th>week</th><th>note</th><th>expected</th></tr></thead><tbody>"
    "<tr><th>0</th><td>1</td><td>=1+1</td><td>-1234.5</td></tr>"
    "<tr><th>1</th><td>2</td><td>-x</td><td>100.25</td></tr></tbody></table>"
)


def _p_late(invoice_id: str) -> float:
    """A made-up probability of late payment per invoice (the model is not what is tested)."""
    return (int(re.sub(r"\D", "", invoice_id) or 0) * 37 % 100) / 100


def make_engine_reports(root: Path) -> Path:
    """reports/2026-10 laid out as a run writes it, its figures computed by the query engine
    from a 1,500-invoice sample: every region's kpis.json is what `arinsight kpis` computes,
    the invoice positions at T are the engine's kept results. Risk scores are made up per open
    invoice (:func:`_p_late`) and the risk KPIs summed from them here, by the definitions of
    docs/kpis.md. Every receivables page carries the overdue list cut at 25 rows as notebook
    03 writes it; six customers are renamed (:data:`RENAMED`); the alerts step's collections
    worklist is there."""
    import openpyxl
    import pandas as pd
    from test_site import _executed

    from arinsight.clean import clean, write_processed
    from arinsight.customers import snapshot_tables
    from arinsight.engine.duck import kpis_from_processed
    from arinsight.engine.period import period_results
    from arinsight.engine.results import kpis_json
    from arinsight.ingest import ingest
    from arinsight.plots.tables import table_markup
    from arinsight.receivables import invoice_explorer_table, overdue_invoice_list
    from arinsight.sample import write_sample

    work = root.parent / "engine-work"
    write_sample(work / "sample", n_invoices=1500, seed=11)
    cleaned = clean(ingest(work / "sample" / "sources.yaml").tables, run_date="2026-11-05")
    write_processed(cleaned, work / "processed")
    figures = json.loads(kpis_json(kpis_from_processed(work / "processed", PERIOD, {}, None)))
    results = period_results(work / "processed", PERIOD, None, {}, work / "keep")
    positions = results.positions()
    owing = positions.loc[positions["open_amount"] > 0, "customer_id"].astype(str)
    # customers the explorer lists; the first owes North's most overdue invoice (so its name
    # heads North's overdue list)
    first = str(
        overdue_invoice_list(positions.loc[positions["region"] == "North"])["customer_id"].iloc[0]
    )
    ids = [first] + [c for c in sorted(owing.unique()) if c != first]
    names = dict(zip(ids[: len(RENAMED)], RENAMED, strict=True))
    positions["customer_name"] = [
        names.get(str(c), n)
        for c, n in zip(positions["customer_id"], positions["customer_name"], strict=True)
    ]
    table = invoice_explorer_table(positions)
    open_ = table.loc[table["open_amount"] > 0]
    p = open_["invoice_id"].map(_p_late)
    scores = pd.DataFrame(
        {
            "invoice_id": open_["invoice_id"],
            "customer_id": open_["customer_id"],
            "due_date": open_["due_date"],
            "open_amount": open_["open_amount"],
            "days_past_due": open_["days_past_due"],
            "model_probability": p,
            "probability_late": p,
            "expected_overdue": (p * open_["open_amount"]).round(2),
        }
    )
    regions = list(figures)
    folder = root / PERIOD
    for region in regions:
        rdir = folder / region
        rdir.mkdir(parents=True)
        mine = scores if region == "All" else scores.loc[open_["region"] == region]
        by = mine.groupby("customer_id")[["expected_overdue", "open_amount"]].sum()
        k = dict(figures[region])
        k.update(
            expected_overdue_amount=round(float(mine["expected_overdue"].sum()), 2),
            customers_at_risk=int((by["expected_overdue"] / by["open_amount"] >= 0.5).sum()),
            high_risk_customers=[],
        )
        (rdir / "kpis.json").write_text(json.dumps(k, sort_keys=True, indent=2))
        scope = positions if region == "All" else positions.loc[positions["region"] == region]
        cols = ["invoice_id", "customer_id", "customer_name", "due_date", "amount", "open_amount", "days_past_due"]  # fmt: skip
        overdue = table_markup(
            overdue_invoice_list(scope)[cols],
            money_columns=["amount", "open_amount"],
            max_rows=10,  # the notebook's 25 would not cut North's list at this sample's size
            explore="overdue",
        )
        pages = {"03_receivables.ipynb": ("Receivables Health", overdue),
                 "04_commissions.ipynb": ("Commission Analytics", ""),
                 "05_risk_scoring.ipynb": ("Risk scoring", ""),
                 "06_cash_forecast.ipynb": ("Cash Forecast", PANDAS_TABLE),
                 "07_provision.ipynb": ("Provision", ""),
                 "08_disputes.ipynb": ("Disputes and promises", "")}  # fmt: skip
        if region == "All":
            pages["02_clean.ipynb"] = ("Data quality", "")
        for nb_name, (title, html) in pages.items():
            nbformat.write(_executed(title, html or "<p>-</p>"), rdir / nb_name)
    all_dir = folder / "All"
    table.to_parquet(all_dir / "invoice_explorer.parquet")
    scores.to_parquet(all_dir / "risk_scores.parquet")
    for name, frame in snapshot_tables(work / "processed", f"{PERIOD}-31").items():
        if "customer_name" in frame.columns:
            frame["customer_name"] = [
                names.get(str(c), n)
                for c, n in zip(frame["customer_id"], frame["customer_name"], strict=True)
            ]
        frame.to_parquet(all_dir / name, index=False)
    (folder / "alerts").mkdir()
    book = openpyxl.Workbook()
    book.active.append(["customer_id", "overdue_amount"])
    book.active.append([ids[0], 100.0])
    book.save(folder / "alerts" / "collections_worklist.xlsx")
    manifest = {
        "period": PERIOD, "as_of": f"{PERIOD}-31", "status": "ok",
        "finished_at": "2026-11-01T10:00:00Z",
        "params": {"reporting_currency": "USD", "late_days": 30},
        "inputs": [], "regions": regions, "runs": [],
        "reports": {r: {"dir": r, "status": "ok", "published": "this run"} for r in regions},
    }  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root


@pytest.fixture(scope="module", params=_renderers())
def engine_served(request, tmp_path_factory):
    """The site of :func:`make_engine_reports`, built with one renderer and served."""
    from test_site import make_project

    from arinsight import site

    tmp = tmp_path_factory.mktemp(f"engine-{request.param}")
    reports = make_engine_reports(tmp / "reports")
    out = site.build_site(
        tmp / "out", renderer=request.param, reports_dir=reports, project_dir=make_project(tmp)
    )
    with _serving(out) as url:
        yield {"out": out, "reports": reports, "url": url, "renderer": request.param}


def _loaded(page) -> None:
    """Wait until the explorer has loaded the parts of its view and drawn its totals."""
    page.wait_for_selector(".explorer[data-period]:not([data-loading]) #invoice_explorer "
                           "tfoot [data-total=invoice_id][data-count]", timeout=20_000)  # fmt: skip


def _totals(page) -> dict:
    """The explorer's totals row: money columns in cents, invoices and customers counted."""
    _loaded(page)
    return page.evaluate(
        """() => { const out = {};
        document.querySelectorAll('#invoice_explorer tfoot [data-total]').forEach(td => {
          const k = td.dataset.total;
          if (td.dataset.cents !== undefined) out[k] = Number(td.dataset.cents);
          if (td.dataset.count !== undefined) out[k] = Number(td.dataset.count);
        }); return out; }"""
    )


def _rows(page) -> list[dict]:
    """The rows the explorer shows, every page of them, in its order, as {column: value}."""
    _loaded(page)
    return page.evaluate(
        """() => { const t = document.querySelector('#invoice_explorer')._arTable;
        const box = document.querySelector('.explorer[data-period]');
        const cols = window.arinsightExplorer[box.dataset.period].columns;
        return t.rows({search: 'applied', order: 'applied'}).data().toArray()
          .map(r => Object.fromEntries(cols.map((c, i) => [c, r[i]]))); }"""
    )


def test_every_tile_with_rows_opens_them_and_the_totals_row_equals_it(page, engine_served):
    """On every region's receivables and risk pages and on the home page, each tile with rows
    behind it (open AR, overdue AR, customers over their credit limit, amount at risk,
    customers likely late) links to the explorer, filtered; the totals row there equals the
    tile's kpis.json figure to the cent (money) or exactly (customers). The whole tile is the
    link: a click on its value opens the rows."""
    base, reports = engine_served["url"], engine_served["reports"]
    expected = {"open_ar", "overdue_ar", "customers_over_credit_limit",
                "expected_overdue_amount", "customers_at_risk"}  # fmt: skip
    sources = [("All", "index.html")] + [
        (r, f"site/{PERIOD}/{r}/{key}.html")
        for r in ("All", "East", "North", "South", "West")
        for key in ("receivables", "risk")
    ]
    seen: dict[str, set[str]] = {}
    for region, rel in sources:
        want = json.loads((reports / PERIOD / region / "kpis.json").read_text())
        page.goto(base + rel)
        links = page.eval_on_selector_all(
            ".kpi-tile.linked",
            "els => els.map(e => [e.dataset.kpi, e.querySelector('a.kpi-rows').href,"
            " e.querySelector('a.kpi-rows').dataset.total])",
        )
        assert links, rel
        for kpi, url, total in links:
            page.goto(url)
            got = _totals(page)
            if total == "customers":
                assert got["customer_name"] == want[kpi], (rel, kpi)
            else:
                assert got[total] == round(want[kpi] * 100), (rel, kpi, got[total], want[kpi])
            if region != "All":
                assert {r["region"] for r in _rows(page)} == {region}, (rel, kpi)
            seen.setdefault(region, set()).add(kpi)
    assert all(kpis_seen == expected for kpis_seen in seen.values()), seen
    page.goto(base + "index.html")
    value = page.locator('.kpi-tile[data-kpi="overdue_ar"] .kpi-value').bounding_box()
    with page.expect_navigation():  # a click on the figure itself (the link covers the tile)
        page.mouse.click(value["x"] + value["width"] / 2, value["y"] + value["height"] / 2)
    assert "status=overdue" in page.url
    want = json.loads((reports / PERIOD / "All" / "kpis.json").read_text())
    assert _totals(page)["open_amount"] == round(want["overdue_ar"] * 100)
    assert _totals(page)["invoice_id"] == want["overdue_invoices"]


def test_the_regions_table_opens_the_rows_of_each_figure(page, engine_served):
    """On the home page's regions table, each region's Open AR, Overdue AR and Amount at risk
    open the explorer for that region, whose totals row equals the region's kpis.json."""
    base, reports = engine_served["url"], engine_served["reports"]
    page.goto(base + "index.html")
    links = page.eval_on_selector_all(
        "table.regions a.ar-rows-link",
        "els => els.map(e => [e.closest('tr').querySelector('th').textContent.trim(),"
        " e.dataset.kpi, e.href])",
    )
    assert {k for _, k, _ in links} == {"open_ar", "overdue_ar", "expected_overdue_amount"}
    assert len(links) == 3 * 5
    column = {"open_ar": "open_amount", "overdue_ar": "open_amount",
              "expected_overdue_amount": "amount_at_risk"}  # fmt: skip
    for region, kpi, url in links:
        want = json.loads((reports / PERIOD / region / "kpis.json").read_text())
        page.goto(url)
        assert _totals(page)[column[kpi]] == round(want[kpi] * 100), (region, kpi)


def test_a_truncated_list_opens_all_its_rows(page, engine_served):
    """North's overdue list stops at "First 10 of N rows"; its link opens the explorer with
    exactly those N invoices, all overdue and in North, totalling North's overdue AR."""
    base, reports = engine_served["url"], engine_served["reports"]
    want = json.loads((reports / PERIOD / "North" / "kpis.json").read_text())
    page.goto(f"{base}site/{PERIOD}/North/receivables.html")
    note = page.locator(".ar-table-note", has_text="First 10 of")
    note.evaluate("e => { e.closest('details').open = true; }")
    n = int(re.search(r"First 10 of ([\d,]+) rows", note.inner_text()).group(1).replace(",", ""))
    assert n == want["overdue_invoices"] > 10
    with page.expect_navigation():
        note.locator("a.ar-rows-link").click()
    got = _totals(page)
    assert got["invoice_id"] == n and got["open_amount"] == round(want["overdue_ar"] * 100)
    rows = _rows(page)
    assert {r["payment_status"] for r in rows} == {"Overdue"} and {r["region"] for r in rows} == {
        "North"
    }
    days = [r["days_past_due"] for r in rows]
    assert days == sorted(days, reverse=True)  # the list's order: the oldest first


@pytest.fixture(scope="module", params=_renderers())
def engine_cut_served(request, tmp_path_factory):
    """The site of :func:`make_engine_reports` with the explorer cut at 5 invoices of one
    region and status (``site: {explorer_max_rows: 5}``), as a 10M-invoice ledger is at
    20,000."""
    from test_site import make_project

    from arinsight import site

    tmp = tmp_path_factory.mktemp(f"engine-cut-{request.param}")
    reports = make_engine_reports(tmp / "reports")
    manifest = json.loads((reports / PERIOD / "manifest.json").read_text())
    manifest["params"]["site"] = {"explorer_max_rows": 5}
    (reports / PERIOD / "manifest.json").write_text(json.dumps(manifest, indent=2))
    out = site.build_site(
        tmp / "out", renderer=request.param, reports_dir=reports, project_dir=make_project(tmp)
    )
    with _serving(out) as url:
        yield {"out": out, "reports": reports, "url": url, "renderer": request.param}


def test_a_cut_explorer_lists_the_largest_and_totals_every_invoice(page, engine_cut_served):
    """With at most 5 invoices of one region and status loaded, every tile of the home page
    and of North's receivables and risk pages still opens a totals row equal to its kpis.json
    figure (the totals of the whole view, computed at build time); the table lists the largest
    invoices only (at most 5 per region and status, the largest open amounts of the set), says
    so, and links each region's full CSV, whose overdue rows add up to the region's overdue
    AR. A search then totals the rows listed, and says so."""
    base, reports = engine_cut_served["url"], engine_cut_served["reports"]
    for region, rel in (("All", "index.html"), ("North", f"site/{PERIOD}/North/receivables.html"),
                        ("North", f"site/{PERIOD}/North/risk.html")):  # fmt: skip
        want = json.loads((reports / PERIOD / region / "kpis.json").read_text())
        page.goto(base + rel)
        links = page.eval_on_selector_all(
            ".kpi-tile.linked", "els => els.map(e => [e.dataset.kpi,"
            " e.querySelector('a.kpi-rows').href, e.querySelector('a.kpi-rows').dataset.total])",
        )  # fmt: skip
        assert len(links) >= 2, rel
        for kpi, url, total in links:
            page.goto(url)
            got = _totals(page)
            if total == "customers":
                assert got["customer_name"] == want[kpi], (rel, kpi)
            else:
                assert got[total] == round(want[kpi] * 100), (rel, kpi, got[total], want[kpi])
    north = json.loads((reports / PERIOD / "North" / "kpis.json").read_text())
    page.goto(f"{base}site/{PERIOD}/explorer.html#region=North&status=overdue")
    got = _totals(page)
    assert got["invoice_id"] == north["overdue_invoices"] > 5
    listed = _rows(page)
    assert len(listed) == 5 and {r["payment_status"] for r in listed} == {"Overdue"}
    note = page.locator(".ar-explorer-cut")
    assert note.is_visible()
    assert f"lists the 5 largest of its {north['overdue_invoices']:,} invoices" in note.inner_text()
    csv_rows = _csv(_download(page, note.locator("a", has_text="North"), made_in_page=False))
    head, body = csv_rows[0], csv_rows[1:]
    overdue = [r for r in body if r[head.index("Payment status")] == "Overdue"]
    assert len(overdue) == north["overdue_invoices"]
    cents = sum(round(float(r[head.index("Open amount")]) * 100) for r in overdue)
    assert cents == round(north["overdue_ar"] * 100)
    assert {r[head.index("Region")] for r in body} == {"North"}
    # the 5 listed are the largest open amounts of North's overdue invoices
    largest = sorted((float(r[head.index("Open amount")]) for r in overdue), reverse=True)[:5]
    assert sorted((r["open_amount"] for r in listed), reverse=True) == largest
    # a search covers the rows listed: the totals row adds them up and the note says so
    page.fill("[data-filter=q]", listed[0]["invoice_id"])
    assert _totals(page)["invoice_id"] == 1
    assert "the totals row adds up the rows listed" in note.inner_text()


def _download(page, button, made_in_page: bool = True) -> Path:
    with page.expect_download() as info:
        button.click()
    path = Path(info.value.path())
    if made_in_page:  # written by the page's script, not fetched
        assert info.value.url.startswith(("blob:", "data:")), info.value.url
    return path


def _csv(path: Path) -> list[list[str]]:
    import csv

    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _xlsx(path: Path) -> list[list]:
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(path.read_bytes())).active
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]  # no formula
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_explorer_downloads_are_the_rows_shown(page, engine_served):
    """North's overdue invoices as filtered: the CSV and the Excel file hold exactly the rows
    shown, in the order shown, amounts as numbers that add up to the totals row; with every
    status shown, the names a spreadsheet would run (=, -, @, +) start with an apostrophe in
    both files and every invoice of the explorer is there."""
    base = engine_served["url"]
    page.goto(f"{base}site/{PERIOD}/explorer.html#region=North&status=overdue")
    totals = _totals(page)
    shown = _rows(page)
    csv_rows = _csv(_download(page, page.locator('.ar-explorer-bar [data-download="csv"]')))
    xlsx_rows = _xlsx(_download(page, page.locator('.ar-explorer-bar [data-download="xlsx"]')))
    for got in (csv_rows, xlsx_rows):
        head, body = got[0], got[1:]
        assert (
            head[:4] == ["Invoice", "Customer", "Open amount", "Amount"]
            and head[-1] == "Customer ID"
        )
        assert [r[0] for r in body] == [r["invoice_id"] for r in shown]
        assert len(body) == totals["invoice_id"]
        cents = sum(round(float(r[2]) * 100) for r in body)
        assert cents == totals["open_amount"]
        assert {r[head.index("Payment status")] for r in body} == {"Overdue"}
    assert all(isinstance(r[2], int | float) for r in xlsx_rows[1:])
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", r[2]) for r in csv_rows[1:])
    page.select_option("[data-filter=status]", "all")
    page.select_option("[data-filter=region]", "")
    total = _totals(page)["invoice_id"]
    assert "status=all" in page.url
    for got in (_csv(_download(page, page.locator('.ar-explorer-bar [data-download="csv"]'))),
                _xlsx(_download(page, page.locator('.ar-explorer-bar [data-download="xlsx"]')))):  # fmt: skip
        names = {r[1] for r in got[1:]}
        assert len(got) - 1 == total
        for name in RENAMED[:4]:
            assert "'" + name in names and name not in names, name
        assert "Iron Energy GmbH" in names  # a name that is safe as it is stays as it is


def test_every_table_downloads_what_it_shows(page, engine_served):
    """The overdue list of North's receivables page (10 rows shown): its CSV and Excel
    downloads hold the 10 rows with the headers shown, texts as shown and amounts as the
    exact numbers; nothing is fetched from another host (the fixture)."""
    page.goto(f"{engine_served['url']}site/{PERIOD}/North/receivables.html")
    table = page.locator("table.ar-table", has=page.locator("th", has_text="Days past due")).first
    table.evaluate("e => { e.closest('details').open = true; }")
    heads = table.locator("thead th").all_inner_texts()
    cells = table.evaluate(
        "t => [...t.querySelectorAll('tbody tr')].map(tr => [...tr.children].map(td =>"
        " td.dataset.v !== undefined ? Number(td.dataset.v) : td.textContent.trim()))"
    )
    assert len(cells) == 10
    bar = table.locator(
        "xpath=ancestor::div[contains(@class,'ar-table-wrap')]/following-sibling::div[1]"
    )
    csv_rows = _csv(_download(page, bar.locator('[data-download="csv"]')))
    xlsx_rows = _xlsx(_download(page, bar.locator('[data-download="xlsx"]')))
    assert csv_rows[0] == heads and list(xlsx_rows[0]) == heads
    numeric = [i for i, v in enumerate(cells[0]) if isinstance(v, int | float)]
    assert heads.index("Open amount") in numeric
    assert cells[0][heads.index("Customer")] == RENAMED[0]  # a formula, as text
    for got in (csv_rows[1:], xlsx_rows[1:]):
        assert len(got) == 10
        assert got[0][heads.index("Customer")] == "'" + RENAMED[0]
        for want_row, got_row in zip(cells, got, strict=True):
            for i, (w, g) in enumerate(zip(want_row, got_row, strict=True)):
                if i in numeric:
                    assert float(g) == pytest.approx(w, abs=1e-9), (i, w, g)
                elif hasattr(g, "date"):  # Excel gets ISO dates as dates
                    assert g.date().isoformat() == w, (i, w, g)
                else:
                    assert str(g) == (("'" + w) if w[:1] in "=+-@" and w else w), (i, w, g)


def test_explorer_sorts_on_a_header_click_filters_status_and_finds_a_phrase(page, engine_served):
    """A click on the header text "Open amount" (not its arrow) sorts by it, smallest first,
    a second click largest first; the status filter shows the invoices paid in the period with
    their paid dates; "Iron Energy GmbH" finds that customer's invoices only, not Iron
    Logistics GmbH's, and the search is kept in the URL."""
    page.goto(f"{engine_served['url']}site/{PERIOD}/explorer.html")
    _totals(page)
    head = page.locator('#invoice_explorer thead th[data-col="open_amount"]')
    for order in ("asc", "desc"):
        box = head.bounding_box()  # where it is now: a sort may change the columns' widths
        page.mouse.click(box["x"] + 8, box["y"] + box["height"] / 2)  # on the text, left side
        sort = "ascending" if order == "asc" else "descending"
        page.wait_for_selector(
            f'#invoice_explorer thead th[data-col="open_amount"][aria-sort="{sort}"]'
        )
        amounts = [r["open_amount"] for r in _rows(page)]
        assert amounts == sorted(amounts, reverse=order == "desc"), order
        first = page.locator("#invoice_explorer tbody tr").first.locator("td").nth(2).inner_text()
        assert _number(first) == pytest.approx(amounts[0])
        assert f"sort=open_amount-{order}" in page.url
    page.select_option("[data-filter=status]", "paid")
    paid = _rows(page)
    assert paid and {r["payment_status"] for r in paid} == {"Paid"}
    assert all(r["paid_date"] and r["paid_date"].startswith(PERIOD) for r in paid)
    assert _totals(page)["open_amount"] == 0
    page.select_option("[data-filter=status]", "all")
    page.fill("[data-filter=q]", "Iron Energy GmbH")
    found = _rows(page)
    assert found and {r["customer_name"] for r in found} == {"Iron Energy GmbH"}
    assert "q=Iron%20Energy%20GmbH" in page.url
    page.fill("[data-filter=q]", '"iron logistics gmbh"')  # quotes and case do not matter
    assert {r["customer_name"] for r in _rows(page)} == {"Iron Logistics GmbH"}
    page.fill("[data-filter=q]", "Iron GmbH")  # not a phrase of either name
    assert _rows(page) == []


def test_explorer_on_a_phone_shows_amounts(browser, engine_served):
    """At 390 px the page does not scroll sideways and the open amount of the first rows and
    the totals row are on screen; screenshot kept in tests/artifacts/."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{engine_served['url']}site/{PERIOD}/explorer.html#status=overdue")
    _totals(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for cell in (page.locator('#invoice_explorer thead th[data-col="open_amount"]'),
                 page.locator("#invoice_explorer tbody tr").first.locator("td").nth(2),
                 page.locator('#invoice_explorer tfoot [data-total="open_amount"]')):  # fmt: skip
        b = cell.bounding_box()
        assert b and b["x"] >= 0 and b["x"] + b["width"] <= 390, b
    assert re.fullmatch(
        r"\$[\d,]+\.\d\d", page.locator('tfoot [data-total="open_amount"]').inner_text()
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(
        path=str(ARTIFACTS / f"{engine_served['renderer']}-explorer-390.png"), full_page=True
    )
    context.close()


def test_the_worklist_is_linked_from_home_and_the_risk_pages(page, engine_served):
    """reports/2026-10/alerts/collections_worklist.xlsx is published and linked from the home
    page and every Risk page; the file downloaded is the one the alerts step wrote."""
    base, reports = engine_served["url"], engine_served["reports"]
    source = (reports / PERIOD / "alerts" / "collections_worklist.xlsx").read_bytes()
    for rel in ("index.html", f"site/{PERIOD}/All/risk.html", f"site/{PERIOD}/West/risk.html",
                "site/risk.html"):  # fmt: skip
        page.goto(base + rel)
        link = page.locator("a.ar-worklist-link")
        assert link.count() == 1, rel
        assert _download(page, link, made_in_page=False).read_bytes() == source
    page.goto(f"{base}site/{PERIOD}/All/receivables.html")
    assert page.locator("a.ar-worklist-link").count() == 0


# --------------------------------------------------------------------------------------------
# customer pages: the picker keeps the customer; the list searches, filters and sorts
# --------------------------------------------------------------------------------------------


def test_the_period_picker_keeps_the_customer(page, served):
    """On C_5's page of October the picker leads to C_5's page of September and back; the
    customer list's picker leads to the other period's list."""
    base = served["url"]
    page.goto(base + "site/2026-10/customers/C_5.html")
    for label, path in (("September 2026", "2026-09"), ("October 2026", "2026-10")):
        with page.expect_navigation():
            page.select_option(".ar-period-picker", label=label)
        assert page.url == f"{base}site/{path}/customers/C_5.html"
        assert page.locator("[data-pending]").count() == 1
    page.goto(base + "site/2026-10/customers/index.html")
    with page.expect_navigation():
        page.select_option(".ar-period-picker", label="September 2026")
    assert page.url in (
        f"{base}site/2026-09/customers/index.html",
        f"{base}site/2026-09/customers/",
    )


def test_the_customer_list_searches_filters_sorts_and_downloads(page, served):
    """12 customers: the region filter South leaves C_6..C_9 (4); "Customer 10" finds that
    customer only; a click on "Open amount" sorts by the amount, smallest first; the download
    holds the rows as filtered and sorted."""
    page.goto(served["url"] + "site/2026-10/customers/index.html")
    table = page.locator("#customer_index")
    page.wait_for_selector("#customer_index_wrapper, .dt-container", timeout=20_000)

    def column(name: str) -> list[str]:
        i = table.locator("thead th").all_inner_texts().index(name)
        return [r.locator("td").nth(i).inner_text() for r in table.locator("tbody tr").all()]

    assert len(column("Customer ID")) == 12
    page.select_option(".ar-column-filter select", "South")
    assert sorted(column("Customer ID")) == ["C_6", "C_7", "C_8", "C_9"]
    assert set(column("Region")) == {"South"}
    page.locator("#customer_index thead th", has_text="Open amount").click()
    page.wait_for_selector('#customer_index thead th[aria-sort="ascending"]')  # sorted
    amounts = [_number(a) for a in column("Open amount")]
    assert amounts == sorted(amounts) and len(amounts) == 4
    csv_rows = _csv(_download(page, page.locator('.ar-table-downloads [data-download="csv"]')))
    assert csv_rows[0][:3] == ["Customer", "Open amount", "Overdue"]  # amounts first
    at = csv_rows[0].index("Customer ID")
    assert [r[at] for r in csv_rows[1:]] == column("Customer ID")
    page.select_option(".ar-column-filter select", "")
    page.locator(".dt-search input").fill("Customer 10")
    assert column("Customer ID") == ["C_10"]


def test_a_pandas_table_downloads_too(page, engine_served):
    """A table a notebook shows as pandas wrote it gets the downloads as well: its plain numbers
    (-1234.5 too) are numbers, its formula-like texts (=1+1, -x) start with an apostrophe."""
    page.goto(f"{engine_served['url']}site/{PERIOD}/All/forecast.html")
    table = page.locator("table.dataframe")
    table.evaluate("e => { e.closest('details').open = true; }")
    bar = table.locator("xpath=following-sibling::div[contains(@class,'ar-downloads')][1]")
    want = [["", "week", "note", "expected"], ["0", "1", "'=1+1", "-1234.5"],
            ["1", "2", "'-x", "100.25"]]  # fmt: skip
    assert _csv(_download(page, bar.locator('[data-download="csv"]'))) == want
    xlsx = _xlsx(_download(page, bar.locator('[data-download="xlsx"]')))
    assert xlsx[1:] == [[0, 1, "'=1+1", -1234.5], [1, 2, "'-x", 100.25]]


def test_reminders_and_alerts_on_the_customer_page_of_their_period(page, served):
    """C_11's page of October shows the reminder the alerts' dry run wrote (level 2, not sent)
    and the invoice that crossed 30 days past due, open without a click; September's page of
    the same customer says the alerts did not run for it (test_site.write_alerts)."""
    page.goto(served["url"] + "site/2026-10/customers/C_11.html")
    section = page.locator("details.cust-reminders")
    assert section.get_attribute("open") is not None
    text = section.inner_text()
    assert "Reminder level 2 written for October 2026, not sent" in text
    assert "INV-011" in text and "$1,011.00" in text
    page.goto(served["url"] + "site/2026-09/customers/C_11.html")
    page.locator("details.cust-reminders summary").click()
    assert "has not run for this period" in page.locator("details.cust-reminders").inner_text()


def test_a_tile_definition_opens_by_tap_and_keyboard_without_leaving(browser, served):
    """On a touch phone (390 px, no hover) a tap on the round "i" of the DSO tile shows its definition;
    on the linked Open AR tile the tap opens the definition instead of the explorer; the
    keyboard opens it with Enter."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                                  is_mobile=True)  # fmt: skip
    pg = context.new_page()
    try:
        pg.goto(served["url"] + "index.html")
        for key in ("dso", "open_ar"):
            tile = pg.locator(f'.kpi-tiles .kpi-tile[data-kpi="{key}"]')
            definition = tile.locator(".kpi-def > p")
            assert not definition.is_visible()
            tile.locator(".kpi-def > summary").tap()
            assert definition.is_visible()
            assert definition.inner_text() == kpis.get(key).definition
            assert pg.url.endswith("index.html")  # the linked tile did not open the explorer
            box = definition.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # on screen
        pg.goto(served["url"] + "site/2026-10/All/receivables.html")
        summary = pg.locator('.kpi-tile[data-kpi="cei"] .kpi-def > summary')
        summary.focus()
        pg.keyboard.press("Enter")
        assert pg.locator('.kpi-tile[data-kpi="cei"] .kpi-def > p').is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{served['renderer']}-definition-390.png"))
    finally:
        context.close()
