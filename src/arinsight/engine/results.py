"""What the engine returns, shaped for people and programs: KPI values rounded for display, the
aging labels, the per-region result objects and kpis.json.

Free of the query layer (no Ibis import), so a run of a compiled plan starts fast.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from arinsight.engine.window import AsOf
from arinsight.kpis import JSON_KEYS, reasons_for

ALL = "All"
DEFAULT_BUCKETS: tuple[int, ...] = (0, 30, 60, 90, 120)
DEFAULT_TOP_N = 10


def check_buckets(buckets: Sequence[int]) -> list[int]:
    """Aging bucket bounds as whole days (ValueError unless non-negative, strictly increasing)."""
    try:
        b = [int(x) for x in buckets]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"aging_buckets: expected a list of whole days, got {buckets!r}") from exc
    if not b or b[0] < 0 or any(hi <= lo for lo, hi in zip(b[:-1], b[1:], strict=True)):
        raise ValueError(
            f"aging_buckets: expected non-negative, strictly increasing day bounds, got {buckets!r}"
        )
    return b


def buckets_of(params: Mapping[str, Any]) -> list[int]:
    """``params["aging_buckets"]`` checked (default :data:`DEFAULT_BUCKETS`)."""
    return check_buckets(params.get("aging_buckets") or DEFAULT_BUCKETS)


def aging_labels(buckets: Sequence[int] = DEFAULT_BUCKETS) -> list[str]:
    """Labels of the aging buckets: ``[0, 30, 60, 90, 120]`` -> Current, 1-30, 31-60, 61-90,
    91-120, 120+.

    ``buckets`` are the inclusive upper bounds in days past due; the last bucket is open-ended
    ("120+" means more than 120 days past due). A first bound of 0 is the "Current" bucket (not
    past due); any other first bound ``b`` gives a first bucket "0-b".
    """
    b = check_buckets(buckets)
    labels = ["Current" if b[0] == 0 else f"0-{b[0]}"]
    labels += [f"{lo + 1}-{hi}" for lo, hi in zip(b[:-1], b[1:], strict=True)]
    return [*labels, f"{b[-1]}+"]


def rounded(v: Any) -> Any:
    if isinstance(v, Decimal):
        return v.quantize(Decimal("0.01")) + Decimal("0.00")
    if isinstance(v, float):
        return round(v, 4) + 0.0
    return v


def top_n_of(params: Mapping[str, Any]) -> int:
    """``params["top_n"]`` (default :data:`DEFAULT_TOP_N`), at least 1."""
    top_n = int(params["top_n"]) if params.get("top_n") is not None else DEFAULT_TOP_N
    if top_n < 1:
        raise ValueError(f"top_n: expected at least 1, got {top_n!r}")
    return top_n


def _grouped(
    rows: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    key: Callable[[Mapping[str, Any]], str],
    sums: Mapping[str, str],
    aged: str,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``rows`` (one per region, group and bucket) as region -> group (``key`` of the row) ->
    {each of ``sums``: the sum of its row column, invoices, aging: {label: the sum of the
    ``aged`` column per bucket}}, rounded to the cent, groups in order."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        entry = out.setdefault(r["region"], {}).setdefault(
            key(r),
            {
                **{name: Decimal(0) for name in sums},
                "invoices": 0,
                "aging": dict.fromkeys(labels, Decimal(0)),
            },
        )
        for name, column in sums.items():
            entry[name] += r[column]
        entry["invoices"] += int(r["invoices"])
        entry["aging"][labels[int(r["bucket"])]] += r[aged]
    return {
        region: {
            code: {
                **{k: rounded(v) for k, v in e.items() if k != "aging"},
                "aging": {k: rounded(v) for k, v in e["aging"].items()},
            }
            for code, e in sorted(groups.items())
        }
        for region, groups in out.items()
    }


def by_currency(
    rows: Sequence[Mapping[str, Any]], labels: Sequence[str], reporting: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """Rows of :func:`arinsight.engine.marts.by_currency` as region -> currency -> {open_ar (in
    that currency), open_ar_reporting (the same invoices in the reporting currency), invoices
    (open), aging: {label: amount in that currency}}, currencies in code order. A null currency
    (processed data without one) is the reporting currency."""
    return _grouped(
        rows,
        labels,
        lambda r: r["currency"] or reporting,
        {"open_ar": "open_doc", "open_ar_reporting": "open_ar"},
        aged="open_doc",
    )


#: The key of invoices without a company code in ``open_ar_by_entity`` (when others have one).
NO_ENTITY = "(none)"


def by_entity(
    rows: Sequence[Mapping[str, Any]], labels: Sequence[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Rows of :func:`arinsight.engine.marts.by_entity` as region -> company code -> {open_ar,
    overdue_ar (reporting currency), invoices (open), aging: {label: amount in the reporting
    currency}}, codes in order; empty when no invoice has a company code (one legal entity: no
    segment to show)."""
    if all(r["company_code"] is None for r in rows):
        return {}
    return _grouped(
        rows,
        labels,
        lambda r: NO_ENTITY if r["company_code"] is None else str(r["company_code"]),
        {"open_ar": "open_ar", "overdue_ar": "overdue_ar"},
        aged="open_ar",
    )


def shape(
    rows: Sequence[Mapping[str, Any]],
    top: Sequence[Mapping[str, Any]],
    buckets: Sequence[int],
    window: AsOf,
    label: str | None,
    currencies: Sequence[Mapping[str, Any]] = (),
    entities: Sequence[Mapping[str, Any]] = (),
    reporting: str = "USD",
) -> dict[str, dict[str, Any]]:
    """The rows of the KPI query and of the top-customers query as one object per region, "All"
    first: {period, region, as_of, KPIs..., aging: {label: amount}, open_ar_by_currency
    (:func:`by_currency`), open_ar_by_entity (:func:`by_entity`), top_pending_customers,
    na_reasons: {KPI: why it is null} (:func:`arinsight.kpis.reasons_for`)}."""
    labels = aging_labels(buckets)
    per_currency = by_currency(currencies, labels, reporting)
    per_entity = by_entity(entities, labels)
    tops: dict[str, list[tuple]] = {}
    for r in top:
        tops.setdefault(r["region"], []).append(
            (
                r["rank"],
                {
                    "customer_id": r["customer_id"],
                    "customer_name": r["customer_name"],
                    "pending": rounded(r["pending"]),
                    "overdue": rounded(r["overdue"]),
                },
            )
        )
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["region"] != ALL, r["region"])):
        r = dict(r)
        region = r.pop("region")
        aging = {lab: rounded(r.pop(f"aging_{i}")) for i, lab in enumerate(labels)}
        kpis = {k: rounded(v) for k, v in r.items()}
        out[region] = {
            "period": label,
            "region": region,
            "as_of": window.as_of.isoformat(),
            **kpis,
            "aging": aging,
            "open_ar_by_currency": per_currency.get(region, {}),
            "open_ar_by_entity": per_entity.get(region, {}),
            "top_pending_customers": [c for _, c in sorted(tops.get(region, []))],
            "na_reasons": reasons_for(kpis),
        }
    return out


#: The keys of kpis.json, in the one order of the KPI registry (:data:`arinsight.kpis.JSON_KEYS`).
KPIS_JSON_KEYS: tuple[str, ...] = JSON_KEYS

_EXACT = "\u0000decimal:"


def kpis_json(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The kpis.json objects of every region as one JSON document: region -> object with the
    keys of :data:`KPIS_JSON_KEYS`. Money is written as an exact decimal number (``12.30``, never
    a rounded float), undefined values as null; keys in the order above, regions "All" first."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"{_EXACT}{value:.2f}"
        if isinstance(value, Mapping):
            return {str(k): mark(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mark(v) for v in value]
        return value

    doc = {
        region: {key: mark(kpis.get(key)) for key in KPIS_JSON_KEYS}
        for region, kpis in results.items()
    }
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)
    return re.sub(r'"\\u0000decimal:(-?[0-9]+\.[0-9]+)"', r"\1", text) + "\n"
