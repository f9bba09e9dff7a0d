"""The page's KPIs: the KPI dict of a region from the engine's row, the reasons for "n/a",
the sentence that says what the page covers, and the KPI summary table the notebook shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from arinsight import kpis as kpi_registry
from arinsight.engine.period import plain as _plain
from arinsight.engine.results import check_buckets as _check_buckets
from arinsight.ledger import Period
from arinsight.receivables.base import (
    DEFAULT_AGING_BUCKETS,
    KPI_LABELS,
    KPI_UNITS,
    RECEIVABLES_KEYS,
    as_period,
    require_columns,
)

#: The columns of the kept positions the Receivables Health page's charts and tables read
#: (``PeriodResults.positions(region, PAGE_COLUMNS)``): at 10M invoices the page holds these
#: 18 of the positions' 29 columns, without their exact cents. The overdue list reads the open
#: invoices' :data:`EXPLORER_READS` (``open_only=True``).
PAGE_COLUMNS = [
    "customer_id",
    "customer_name",
    "industry",
    "invoice_date",
    "due_date",
    "amount",
    "paid_to_date",
    "open_amount",
    "credit_amount",
    "days_past_due",
    "status",
    "paid_date",
    "days_late",
    "payments",
    "energy_kwh",
    "currency",
    "fx_rate",
    "fx_rate_date",
]


def na_reasons(kpis: Mapping[str, Any]) -> dict[str, str]:
    """The reason, in plain words, of every None receivables KPI of ``kpis`` (the registry's:
    :func:`arinsight.kpis.reasons_for`)."""
    why = kpi_registry.reasons_for({k: kpis.get(k) for k in RECEIVABLES_KEYS})
    if kpis.get("open_ar") is None:
        return dict.fromkeys(RECEIVABLES_KEYS, kpi_registry.NA_EMPTY)
    return why


def page_kpis(row: Mapping[str, Any], period: Period | str) -> dict[str, Any]:
    """The KPIs of one page from the engine's row of its region (see
    :meth:`arinsight.engine.period.PeriodResults.kpis`): every key of :data:`RECEIVABLES_KEYS`,
    the aging, open AR per currency and per company code and the top pending customers, plus ``period``, ``as_of`` (T),
    ``period_start``, ``period_end`` (the whole period's last day) and ``na_reasons``."""
    p = as_period(period)
    out: dict[str, Any] = {
        "period": p.label,
        "as_of": p.end.date().isoformat(),
        "period_start": p.start.date().isoformat(),
        "period_end": p.full_end.date().isoformat(),
    }
    out.update({k: _plain(row.get(k)) for k in RECEIVABLES_KEYS})
    out["aging"] = _plain(row.get("aging"))
    out["open_ar_by_currency"] = _plain(row.get("open_ar_by_currency") or {})
    out["open_ar_by_entity"] = _plain(row.get("open_ar_by_entity") or {})
    out["top_pending_customers"] = _plain(row.get("top_pending_customers") or [])
    out["na_reasons"] = na_reasons(out)
    return out


def receivables_kpis(
    tables: Mapping[str, pd.DataFrame],
    period: Period | str,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every Receivables Health KPI of period P at T over ``tables`` (the dict of
    :func:`arinsight.ledger.load_processed`, possibly a region's selection), as defined in
    docs/kpis.md and computed by the engine (:func:`arinsight.engine.kpis_from_frames`); the
    monthly run reads the same figures from its kept results instead.

    T is the period's last day, or ``params["as_of"]`` (a date within P: a *snapshot*). Balances
    are measured at T; flows (sales, collections, days late) cover the period's start up to T.
    ``params``: ``aging_buckets``, ``top_n``. The keys are those of :func:`page_kpis`.
    """
    from arinsight.engine import kpis_from_frames

    prm = {"aging_buckets": list(DEFAULT_AGING_BUCKETS)}
    prm.update({k: v for k, v in (params or {}).items() if v is not None})
    _check_buckets(prm["aging_buckets"])
    p = as_period(period).at(prm.get("as_of"))
    for name in ("invoices", "payments"):
        require_columns(tables[name], [], name)
    row = kpis_from_frames(tables, p, dict(prm, as_of=None), regions=())["All"]
    return page_kpis(row, p)


def page_scope(period: Period, region: str, positions: pd.DataFrame) -> str:
    """One line (Markdown) on what a page covers: when balances are measured (T), the span the
    flows cover, the region and the size of its ledger up to T (invoices, customers)."""
    p = as_period(period)
    when = (
        f"balances as of **{p.end:%Y-%m-%d}** (a snapshot of {p.label}), flows from "
        f"{p.start:%Y-%m-%d} to {p.end:%Y-%m-%d}"
        if p.is_snapshot
        else f"balances at the period end **{p.end:%Y-%m-%d}**, flows from {p.start:%Y-%m-%d}"
    )
    payments = int(positions["payments"].sum()) if "payments" in positions else 0
    return (
        f"**Period** {p.label}: {when}. **Region** {region}: {len(positions):,} invoices up to T, "
        f"{payments:,} payments applied to them, "
        f"{positions['customer_id'].nunique():,} customers with invoices."
    )


def kpi_summary_table(
    current: Mapping[str, Any],
    comparison: Mapping[str, Mapping[str, Any]] | None = None,
    currency: str = "USD",
    keys: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per KPI: label, value, previous value, change and trend (arrow and good/bad).

    The trend column reads "▲ better", "▼ worse", "= same", or the arrow with "not rated" for
    KPIs that are neither good nor bad, "n/a" without a previous value; all values are formatted
    text ("n/a" where undefined, with the reason from ``current["na_reasons"]`` when there is
    one). Without ``keys``: every KPI of the registry in ``current`` except those that duplicate
    another (overdue amount = overdue AR, total revenue = credit sales).
    """
    comparison = comparison or {}
    keys = list(keys) if keys is not None else [k for k in current if kpi_registry.shown(k)]
    reasons = current.get("na_reasons") or {}
    rows = []
    for key in keys:
        unit = KPI_UNITS.get(key, "")
        cmp = comparison.get(key, {})
        value = kpi_registry.format_value(current.get(key), unit, currency, style="compact")
        if current.get(key) is None and reasons.get(key):
            value = f"n/a ({reasons[key]})"
        arrow = {"up": "▲", "down": "▼", "flat": "="}.get(cmp.get("direction"), "")
        rated = cmp.get("assessment") or ("not rated" if arrow else "")
        trend = f"{arrow} {rated}".strip()
        change = cmp.get("change")
        change_text = kpi_registry.format_value(change, unit, currency, True, style="compact")
        if unit == "percent" and change is not None:
            change_text = change_text.replace("%", " pp")  # percentage points
        rows.append(
            {
                "KPI": KPI_LABELS.get(key, key),
                "Value": value,
                "Previous": (
                    kpi_registry.format_value(cmp.get("previous"), unit, currency, style="compact")
                    if cmp
                    else "n/a"
                ),
                "Change": change_text,
                "Trend": trend or "n/a",
            }
        )
    return pd.DataFrame(rows, columns=["KPI", "Value", "Previous", "Change", "Trend"])
