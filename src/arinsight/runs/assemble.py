"""kpis.json of a period and region: the JSON parts the region's pages wrote, merged into one
object with every key of the KPI registry (null, with the reason, where a page gave none)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arinsight.kpis import DISPUTE_KEYS, JSON_KEYS, PROVISION_KEYS
from arinsight.runs.base import json_safe

#: The JSON parts the analysis notebooks write into their output_dir, merged in this order.
KPI_PARTS: tuple[str, ...] = (
    "kpis_receivables.json",
    "kpis_commissions.json",
    "kpis_risk.json",
    "kpis_forecast.json",
    "kpis_provision.json",
    "kpis_disputes.json",
)


#: The keys every kpis.json has (docs/kpis.md), null where a part is missing or undefined: the
#: one order of the KPI registry.
KPI_KEYS: tuple[str, ...] = JSON_KEYS


def assemble_kpis(
    parts: Mapping[str, Mapping[str, Any] | None], period: str, region: str
) -> dict[str, Any]:
    """kpis.json of one period and region: the notebooks' JSON parts merged into one object.

    ``na_reasons`` (KPI -> why it is null) of the parts are merged too and kept only for KPIs
    that are null; a part given as None (its page failed) gives its KPIs that reason.

    Starts from every key of :data:`KPI_KEYS` set to None, then applies the parts in the order of
    :data:`KPI_PARTS` (a missing part, None, leaves its keys None); ``period`` and ``region`` are
    the run's own. Keys of a part that are not in KPI_KEYS are kept as extras. The
    ``comparison`` mappings (KPI -> previous, change, direction, better, assessment) of several
    parts are merged KPI by KPI. A KPI that two parts report with different values is an error
    (the notebooks disagree about a number the site shows). NaN and inf become None.
    """
    out: dict[str, Any] = dict.fromkeys(KPI_KEYS)
    seen: dict[str, str] = {}
    comparison: dict[str, Any] = {}
    reasons: dict[str, Any] = {}
    ordered = [k for k in KPI_PARTS if k in parts] + sorted(k for k in parts if k not in KPI_PARTS)
    for name in ordered:
        part = parts[name]
        if part is None:
            continue
        if not isinstance(part, Mapping):
            raise ValueError(f"{name}: expected a JSON object, got {type(part).__name__}")
        for key, value in json_safe(part).items():
            if key in ("period", "region"):
                continue
            if key == "comparison" and isinstance(value, Mapping):
                comparison.update(value)
                continue
            if key == "na_reasons" and isinstance(value, Mapping):
                reasons.update(value)
                continue
            if key in seen and out.get(key) != value and out.get(key) is not None:
                raise ValueError(f"{key!r} is {out[key]!r} in {seen[key]} but {value!r} in {name}")
            if value is not None or key not in out:
                out[key] = value
            seen.setdefault(key, name)
    if comparison:
        out["comparison"] = comparison
    missing = [name for name in KPI_PARTS if parts.get(name) is None and name in parts]
    for name in missing:  # a page that was not published: say so for each of its keys
        for key in _PART_KEYS.get(name, ()):
            if out.get(key) is None:
                reasons.setdefault(key, "the page that computes it was not produced in this run")
    out["na_reasons"] = {k: v for k, v in sorted(reasons.items()) if out.get(k) is None}
    out["period"], out["region"] = str(period), str(region)
    return out


#: The KPI keys of kpis.json that each part provides (for the n/a reason of a missing part).
_PART_KEYS: dict[str, tuple[str, ...]] = {
    "kpis_receivables.json": tuple(
        k
        for k in KPI_KEYS
        if k not in ("period", "region", "as_of", "high_risk_customers", "na_reasons")
        and k not in PROVISION_KEYS
        and k not in DISPUTE_KEYS
        and not k.startswith(("total_accrued", "commissions_", "average_commission"))
    ),
    "kpis_commissions.json": (
        "total_accrued_commissions",
        "commissions_paid_mtd",
        "commissions_earned",
        "average_commission_rate",
    ),
    "kpis_risk.json": ("high_risk_customers",),
    "kpis_provision.json": PROVISION_KEYS,
    "kpis_disputes.json": DISPUTE_KEYS,
}
