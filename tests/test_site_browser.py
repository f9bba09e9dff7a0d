"""The built site in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

The site is built with the built-in renderer from the small reports tree of test_site, served by
a local http.server on 127.0.0.1; every request the browser makes is recorded and any host other
than 127.0.0.1/localhost fails the test. The home page screenshot is kept in tests/artifacts/.
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

from arinsight import site

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


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (run `make browser`)")
        pytest.skip(f"{CHROMIUM} is missing (run `make browser` to install Debian's chromium)")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Build the site from test_site's reports tree and serve it on 127.0.0.1."""
    from test_site import make_project, make_reports

    tmp = tmp_path_factory.mktemp("browser")
    reports = make_reports(tmp / "reports")
    out = site.build_site(
        tmp / "out", renderer="builtin", reports_dir=reports, project_dir=make_project(tmp)
    )
    handler = functools.partial(_Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}/", "reports": reports, "out": out}
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
    """A fresh page that records every request and every dialog (alert/confirm/prompt)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.requests, pg.dialogs = [], []
    pg.on("request", lambda req: pg.requests.append(req.url))
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    off_host = [
        u
        for u in pg.requests
        if urlparse(u).scheme not in ("data", "blob", "about") and urlparse(u).hostname not in LOCAL
    ]
    context.close()
    assert not off_host, f"requests left localhost: {off_host}"
    assert not pg.dialogs, f"a script ran a dialog: {pg.dialogs}"


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text.replace("−", "-")))


def test_home_page_cards_equal_kpis(page, served):
    """Every card's shown number equals kpis.json of 2026-10/All to the shown precision (money to
    the dollar, days and percent to 0.1, times to 0.01), and its data-value exactly."""
    page.goto(served["url"] + "index.html")
    kpis = json.loads((served["reports"] / "2026-10" / "All" / "kpis.json").read_text())
    cards = page.locator(".kpi-card")
    assert cards.count() == len(site.CARDS)
    seen = set()
    for i in range(cards.count()):
        card = cards.nth(i)
        key = card.get_attribute("data-kpi")
        seen.add(key)
        want = kpis[key]
        if key == "high_risk_customers":
            want = len(want)
        shown = card.locator(".kpi-value").inner_text()
        raw = card.get_attribute("data-value")
        if want is None:
            assert shown == "n/a" and raw == ""
            continue
        assert json.loads(raw) == want
        step = (
            1.0
            if "$" in shown or key in ("customers_over_credit_limit", "high_risk_customers")
            else 0.1
        )
        if shown.endswith("x"):
            step = 0.01
        assert abs(_number(shown) - want) <= step / 2 + 1e-9, (key, shown, want)
    assert seen == {k for k, _ in site.CARDS}
    dso = page.locator('.kpi-card[data-kpi="dso"] .kpi-change')
    assert "bad" in dso.get_attribute("class") and "▲" in dso.inner_text()
    colour = dso.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(192, 57, 43)"  # the BAD colour of plots._style
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)


def test_navigation_reaches_every_period_region_page(page, served):
    """Crawl from the home page following links only: every page of every period and region
    is reachable and loads (HTTP 200) without off-host requests."""
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
            if target.startswith(base) and target.endswith(".html"):
                todo.append(target)
    reached = {u[len(base) :] for u in seen}
    assert set(EXPECTED_PAGES) <= reached
    # the navbar of a deep page leads back to the top-level pages
    page.goto(base + "site/2026-09/North/risk.html")
    page.get_by_role("link", name="Invoice explorer").click()
    assert page.url == base + "site/explorer.html"


def _info(page) -> str:
    return page.locator("#invoice_explorer_info, .dt-info").first.inner_text()


def test_explorer_region_filter_narrows_rows(page, served):
    """10 open invoices (12 minus the paid INV-000 and INV-007): 5 in North (INV-001..005),
    3 in South (INV-006, 008, 009), 2 in East. Selecting North in the region filter leaves 5."""
    page.goto(served["url"] + "site/explorer.html")
    page.wait_for_selector(".dtsp-searchPane", timeout=20_000)
    assert re.search(r"of 10 entries", _info(page)), _info(page)
    region_pane = page.locator('.dtsp-searchPane:has(input[placeholder="Region"])')
    assert region_pane.locator(".dtsp-name").all_inner_texts() == ["East", "North", "South"]
    region_pane.locator(".dtsp-name", has_text="North").click()
    page.wait_for_function(
        "() => /filtered from/.test((document.querySelector('.dt-info')||{}).innerText||'')",
        timeout=10_000,
    )
    assert re.search(r"of 5 entries \(filtered from 10 total entries\)", _info(page)), _info(page)
    regions = page.locator("#invoice_explorer tbody tr td:nth-child(4)").all_inner_texts()
    assert regions and set(regions) == {"North"}


def test_hostile_customer_name_is_text(page, served):
    """The customer `<img src=x onerror=alert(1)>` shows as text in the explorer and on a report
    page, no <img src=x> element exists and no dialog opens (checked by the page fixture)."""
    evil = "<img src=x onerror=alert(1)>"
    page.goto(served["url"] + "site/explorer.html")
    page.wait_for_selector(".dtsp-searchPane", timeout=20_000)
    page.locator("#invoice_explorer_wrapper input[type=search], .dt-search input").first.fill(
        "onerror"
    )
    page.wait_for_timeout(300)
    cells = page.locator("#invoice_explorer tbody td").all_inner_texts()
    assert evil in cells
    assert page.locator('img[src="x"]').count() == 0
    page.goto(served["url"] + "site/2026-10/North/receivables.html")
    assert page.get_by_text(evil).count() >= 1
    assert page.locator('img[src="x"]').count() == 0
    page.wait_for_timeout(200)
