"""arinsight: reproducible accounts-receivable analysis (ingest, clean, KPIs, risk, site).

The public API is re-exported here and loaded lazily (PEP 562), so ``import arinsight`` and the
command line stay fast: scikit-learn and matplotlib are imported only when a function needs them.

    >>> import arinsight as ar
    >>> results = ar.period_results("data/processed", "2026-10")  # the engine, once per period
    >>> results.kpis("North")["dso"], results.positions("North").head()
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("arinsight")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data in
    "write_sample": "sample",
    "generate": "sample",
    "read_sources": "ingest",
    "write_interim": "ingest",
    "read_interim": "ingest",
    "write_processed": "clean",
    "CleanResult": "clean",
    # the clean ledger
    "load_processed": "ledger",
    "select_region": "ledger",
    "period_bounds": "ledger",
    "Period": "ledger",
    # KPIs
    "period_results": "engine.period",
    "PeriodResults": "engine.period",
    "positions_at": "receivables",
    "invoice_positions": "receivables",
    "customer_balances": "receivables",
    "receivables_kpis": "receivables",
    "compare": "kpis",
    "invoice_explorer_table": "receivables",
    "commission_kpis": "commissions",
    # risk
    "run_risk": "risk",
    "load_model": "risk",
    # collections: cash application, cash forecast, dunning
    "run_match": "cashapp",
    "match_statement": "cashapp",
    "read_statement": "cashapp",
    "region_forecast": "forecast",
    "company_profile": "dunning",
    "dunning_plan": "dunning",
    # runs, site, notifications
    "run_period": "runs",
    "build_site": "site",
    "run_alerts": "notify",
    "run_email_report": "notify",
    # errors
    "UserError": "errors",
    "SourceError": "errors",
    "ParamsError": "errors",
    "ConservationError": "errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'arinsight' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"arinsight.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
