"""The KPI engine: the as-of engine and every KPI of Receivables Health and Commission Analytics,
written once as Ibis expressions and run by a query engine.

By default the engine is DuckDB, embedded, reading ``data/processed/<table>.parquet`` out of core;
``engine: <URL>`` in the params (``postgres://...``, ``pyspark://``...) runs the same expressions
inside that database or cluster instead of copying its data. All regions of a period and "All"
come from one grouped query. The layers, each a module named after what it holds:

- :mod:`~arinsight.engine.sources`: binds the physical tables (parquet, pandas frames, a database)
  to one :class:`~arinsight.engine.sources.Ledgers` of Ibis tables; the only module naming tables;
- :mod:`~arinsight.engine.staging`: one ``stg_*`` per table: renames, types, money as
  ``decimal(18,2)`` through :func:`~arinsight.engine.staging.to_money`;
- :mod:`~arinsight.engine.positions`: what every invoice and customer owes at T;
- :mod:`~arinsight.engine.metrics`: the measures and the KPI registry, each defined once;
- :mod:`~arinsight.engine.marts`: KPIs by region (+ "All"), top customers, monthly trends;
- :mod:`~arinsight.engine.run`: connects, executes, and returns small Python / pandas results;
- :mod:`~arinsight.engine.duck`: the default engine (DuckDB over parquet) and its compiled
  plans, which let ``arinsight kpis`` run without importing Ibis;
- :mod:`~arinsight.engine.window` and :mod:`~arinsight.engine.results`: the report's dates and
  the shape of what the engine returns (no Ibis either).

The names below are imported on first use, so importing this package costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "EngineError": "run",
    "connect": "run",
    "kpis_by_region": "run",
    "kpis_from_frames": "run",
    "kpis_from_processed": "duck",
    "kpis_json": "results",
    "monthly_trends_from_frames": "run",
}

__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
