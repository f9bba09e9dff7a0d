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
- :mod:`~arinsight.engine.run`: connects, executes, and returns small Python / pandas results.
"""

from __future__ import annotations

from arinsight.engine.run import (
    EngineError,
    connect,
    kpis_by_region,
    kpis_from_frames,
    kpis_from_processed,
    kpis_json,
    monthly_trends_from_frames,
)

__all__ = [
    "EngineError",
    "connect",
    "kpis_by_region",
    "kpis_from_frames",
    "kpis_from_processed",
    "kpis_json",
    "monthly_trends_from_frames",
]
