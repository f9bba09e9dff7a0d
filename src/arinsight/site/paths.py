"""Where every page of the site lives: the page sources (``site/<period>/<region>/<page>.qmd``
and the rest) and the pages of a region, the fixed files, and the facts of a period the pages
read (its currency, its late-days threshold)."""

from __future__ import annotations

from arinsight.files import safe_slug
from arinsight.site.reports import PeriodReport, RegionReport

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
    ("provision", "07_provision.ipynb", "Provision"),
    ("disputes", "08_disputes.ipynb", "Disputes and promises"),
]
#: The data-quality page: one per period (cleaning runs once for all regions).
DQ_PAGE: tuple[str, str, str] = ("data-quality", "02_clean.ipynb", "Data Quality")


def region_source(period: str, region: RegionReport, page: str) -> str:
    return f"{SOURCES_DIR}/{period}/{region.dir}/{page}.qmd"


def dq_source(period: str) -> str:
    return f"{SOURCES_DIR}/{period}/{DQ_PAGE[0]}.qmd"


def period_source(period: str) -> str:
    return f"{SOURCES_DIR}/{period}/index.qmd"


def latest_source(page: str) -> str:
    return f"{SOURCES_DIR}/{page}.qmd"


def period_explorer_source(period: str) -> str:
    return f"{SOURCES_DIR}/{period}/explorer.qmd"


def explorer_data_source(period: str) -> str:
    """The explorer's rows of a period, a script both its explorer pages load."""
    return f"{SOURCES_DIR}/{period}/explorer-data.js"


def worklist_source(period: str) -> str:
    """Where the site publishes the period's collections worklist (written by the alerts step)."""
    return f"{SOURCES_DIR}/{period}/collections_worklist.xlsx"


def customers_source(period: str) -> str:
    return f"{SOURCES_DIR}/{period}/customers/index.qmd"


def customer_slug(customer_id: str) -> str:
    """A file name for a customer id: :func:`arinsight.files.safe_slug` (the id when it is plain,
    else a cleaned id and a hash; never ``index``, the customer index beside the pages)."""
    return safe_slug(customer_id, reserved=("index",))


def customer_source(period: str, customer_id: str) -> str:
    return f"{SOURCES_DIR}/{period}/customers/{customer_slug(customer_id)}.html"


def currency_of(period: PeriodReport) -> str:
    return str((period.manifest.get("params") or {}).get("reporting_currency") or "USD")


def grace_days_of(period: PeriodReport) -> int:
    """The days after a promised date a payment still keeps a promise (the run's
    ``promise_grace_days``, default 3)."""
    try:
        return int((period.manifest.get("params") or {}).get("promise_grace_days") or 3)
    except (TypeError, ValueError):
        return 3


def late_days_of(period: PeriodReport) -> int:
    try:
        return int((period.manifest.get("params") or {}).get("late_days") or 30)
    except (TypeError, ValueError):
        return 30
