"""``arinsight check``: ingest + clean of a dataset in memory, and a mapping report.

For a finance analyst onboarding their own export: in seconds, without running a notebook and
without writing anything under ``data/`` or ``reports/``, it says per table where the rows come
from, which source columns were mapped to which canonical column and which were left unused, how
many rows were read, kept and quarantined (by reason), which tables were derived, what a flat
export left open (undated payments, conflicting customer attributes), the dates the data covers,
which KPIs and pages will be "n/a" and why, and whether there is enough history for the risk
model. The exit status says whether a run would work (0) or what blocks it (2, one line).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from arinsight import config, datasets
from arinsight.errors import UserError
from arinsight.schemas import CANONICAL

#: Options of ``derive_payments`` that name a source column (the others are values).
_PAYMENT_COLUMN_OPTIONS = ("payment_date", "amount", "method", "status")


@dataclass
class CheckReport:
    """What ``arinsight check`` found; :meth:`text` is the printed report."""

    dataset: dict[str, str]
    tables: list[dict[str, Any]]
    derived: dict[str, str]
    quality: dict[str, Any]
    coverage: dict[str, Any]
    not_available: list[dict[str, str]]
    risk: dict[str, Any]
    regions: list[str]
    blocking: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: kept invoices per document currency and per company code, and the rates file read
    #: (:func:`_segments`)
    segments: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.blocking is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "ok": self.ok,
            "blocking": self.blocking,
            "tables": self.tables,
            "derived": self.derived,
            "quality": self.quality,
            "coverage": self.coverage,
            "not_available": self.not_available,
            "risk": self.risk,
            "regions": self.regions,
            "segments": self.segments,
            "warnings": self.warnings,
        }

    def text(self) -> str:
        lines = [f"Dataset: {self.dataset['name']} ({self.dataset['sources']})", ""]
        counts = self.quality.get("tables", {})
        reasons = self.quality.get("reasons", {})
        for t in self.tables:
            c = counts.get(t["table"], {})
            lines.append(f"{t['table']}: {t['source']}")
            if t["mapped"]:
                pairs = ", ".join(f"{canon} <- {src!r}" for canon, src in t["mapped"].items())
                lines.append(f"  mapped: {pairs}")
            if t["unmapped"]:
                lines.append(f"  source columns not used: {', '.join(map(repr, t['unmapped']))}")
            if t["not_provided"]:
                lines.append(f"  canonical columns not provided: {', '.join(t['not_provided'])}")
            for column, rules in (t.get("normalize") or {}).items():
                said = ", ".join(f"{k} {v}" for k, v in rules.items())
                lines.append(f"  normalize: {column}: {said}")
            lines.append(
                f"  rows read {c.get('read', 0):,}, kept {c.get('kept', 0):,}, quarantined "
                f"{c.get('quarantined', 0):,}, duplicates dropped {c.get('duplicates_dropped', 0):,}"
            )
            for reason, n in (reasons.get(t["table"]) or {}).items():
                lines.append(f"    {reason}: {n:,}")
        for table, how in sorted(self.derived.items()):
            lines.append(f"{table}: {how}")
            c = counts.get(table, {})
            if c and table not in {t["table"] for t in self.tables}:
                lines.append(
                    f"  rows read {c.get('read', 0):,}, kept {c.get('kept', 0):,}, quarantined "
                    f"{c.get('quarantined', 0):,}"
                )
                for reason, n in (reasons.get(table) or {}).items():
                    lines.append(f"    {reason}: {n:,}")
        undated = self.quality.get("undated_payments") or {}
        held = undated.get("quarantined") or {}
        if held.get("rows"):
            lines.append(
                f"undated payments: {held['rows']:,} paid amounts ({held['amount']:,.2f}) have no "
                "payment date and are quarantined; set derive_payments.undated_payment_date "
                "(e.g. the export date) to count them"
            )
        assumed = undated.get("dated_by_assumption") or {}
        if assumed.get("rows"):
            lines.append(
                f"undated payments: {assumed['rows']:,} paid amounts ({assumed['amount']:,.2f}) "
                "dated by undated_payment_date"
            )
        for attr, c in sorted((self.quality.get("customer_conflicts") or {}).items()):
            lines.append(
                f"conflicts: {c['customers']:,} customers have more than one {attr} "
                f"({c['invoices']:,} invoice rows differ); "
                + (
                    "each invoice is reported under its own row's value (segment_by: invoice)"
                    if self.quality.get("segment_by") == "invoice"
                    else "the most recent invoice's value is used (segment_by: invoice would "
                    "use each row's own)"
                )
            )
        cov = self.coverage
        lines.append("")
        lines.append(
            f"invoices dated {cov.get('invoices_from')} to {cov.get('invoices_to')}; payments "
            f"dated {cov.get('payments_from') or '-'} to {cov.get('payments_to') or '-'}; "
            f"periods you can run: {cov.get('first_period')} to {cov.get('last_period')}"
        )
        lines.append(f"regions: {', '.join(self.regions) if self.regions else 'none'}")
        lines.extend(_segment_lines(self.segments))
        for item in self.not_available:
            lines.append(f"n/a: {item['what']}: {item['why']}")
        r = self.risk
        lines.append(
            f"risk model at {r['as_of']}: {r['known']:,} invoices with a known outcome "
            f"({r['late']:,} late), at least {r['needed']} needed with both outcomes: "
            + ("enough history" if r["enough"] else f"not enough ({r['why']})")
        )
        for w in self.warnings:
            lines.append(f"warning: {w}")
        lines.append("")
        lines.append("result: a run would work" if self.ok else f"result: blocked: {self.blocking}")
        return "\n".join(lines)


def _mapping_table(
    spec: Mapping[str, Any], files: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Per source: canonical <- source column, source columns left unused, columns absent."""
    from arinsight.ingest import UBL_DEFAULT_COLUMNS

    by_table = {f["table"]: f for f in files}
    out = []
    for table, src in spec["sources"].items():
        info = by_table.get(table, {})
        present = list(info.get("columns") or [])
        mapping = dict(src.get("columns") or {})
        if src.get("kind") == "ubl":
            mapping = {**UBL_DEFAULT_COLUMNS, **mapping}
        mapped = {c: mapping.get(c, c) for c in CANONICAL[table] if mapping.get(c, c) in present}
        used = set(mapped.values())
        pays = src.get("derive_payments") or {}
        used |= {str(pays[k]) for k in _PAYMENT_COLUMN_OPTIONS if pays.get(k)}
        customers = src.get("derive_customers")
        if isinstance(customers, Mapping):
            used |= {str(v) for v in customers.values()}
        out.append(
            {
                "table": table,
                "source": f"{src.get('kind')} {info.get('path', '')}".strip(),
                "mapped": mapped,
                "unmapped": [c for c in present if c not in used],
                "not_provided": [c for c in CANONICAL[table] if c not in mapped],
                "normalize": dict(src.get("normalize") or {}),
            }
        )
    return out


def _missing_rates(quarantine: pd.DataFrame, reporting: str) -> str | None:
    """What to add when invoices are quarantined as unknown_currency: the currencies, how many
    invoices each, and the ``fx_rates`` entry that converts them (1 unit = rate x reporting);
    for dated rates, the earliest invoice date a rate must cover."""
    if quarantine is None or quarantine.empty:
        return None
    bad = quarantine[
        (quarantine["reason"] == "unknown_currency") & (quarantine["table"] == "invoices")
    ]
    if bad.empty:
        return None
    found = (
        bad["detail"]
        .astype(str)
        .str.extract(r"no rate for (?P<code>[A-Z]{3})(?: on or before (?P<day>\d{4}-\d{2}-\d{2}))?")
    )
    counts = found["code"].value_counts().sort_index()
    listed = ", ".join(f"{c} ({n:,} invoice{'s' if n > 1 else ''})" for c, n in counts.items())
    undated = [c for c in counts.index if found.loc[found["code"] == c, "day"].isna().all()]
    parts = []
    if undated:
        example = ", ".join(f"{c}: <value of 1 {c} in {reporting}>" for c in undated)
        parts.append(
            f"add `fx_rates: {{{example}}}` to the sources file (or set `reporting_currency:`, "
            "or name a rates file: `fx_rates: rates.csv` with columns currency, date, rate)"
        )
    for c in counts.index:
        if c in undated:
            continue
        first = found.loc[found["code"] == c, "day"].dropna().min()
        parts.append(f"add a {c} rate dated on or before {first} (the earliest such invoice)")
    return (
        f"no exchange rate for {listed}: these invoices would be left out of every figure; "
        + "; ".join(parts)
    )


def _segments(
    invoices: pd.DataFrame, files: Iterable[Mapping[str, Any]], reporting: str | None
) -> dict[str, Any]:
    """Kept invoices per document currency (none given: the reporting one) and per company
    code (only when some invoice has one), and the rates file read (path, sha256, rates)."""

    def counts(column: str, fill: str | None) -> dict[str, int]:
        if column not in invoices or (fill is None and invoices[column].isna().all()):
            return {}
        values = invoices[column].astype("string").fillna(fill or "(none)")
        return {str(k): int(n) for k, n in values.value_counts().sort_index().items()}

    rates = next((dict(f) for f in files if f.get("table") == "fx_rates"), None)
    return {
        "reporting_currency": reporting,
        "currencies": counts("currency", reporting or "USD"),
        "company_codes": counts("company_code", None),
        "rates_file": rates and {k: rates.get(k) for k in ("path", "sha256", "rows")},
    }


def _segment_lines(segments: Mapping[str, Any]) -> list[str]:
    """The report's lines on currencies, the rates file and company codes."""
    lines = []
    currencies = segments.get("currencies") or {}
    if len(currencies) > 1:
        listed = ", ".join(f"{c} {n:,}" for c, n in currencies.items())
        lines.append(
            f"currencies (invoices kept): {listed}; reported in "
            f"{segments.get('reporting_currency')}, each invoice at the rate on or before its date"
        )
    rates = segments.get("rates_file")
    if rates:
        lines.append(
            f"rates file: {rates['path']} ({rates['rows']:,} rates, sha256 {rates['sha256']})"
        )
    codes = segments.get("company_codes") or {}
    if codes:
        listed = ", ".join(f"{c} ({n:,} invoices)" for c, n in codes.items())
        lines.append(f"company codes: {listed}")
    return lines


def _repeated_headers(
    tables: Iterable[Mapping[str, Any]], files: Iterable[Mapping[str, Any]]
) -> list[str]:
    """A warning per header name that repeats in a source (read as ``name (1)``, ``name (2)``
    in file order, :func:`arinsight.ingest.readers.base.check_header`): which copy the mapping uses
    (by position) and that the others are not read. Never an error: the user cannot rename the
    columns of an ERP export."""
    import re

    out = []
    by_table = {f["table"]: f for f in files}
    for t in tables:
        columns = list(by_table.get(t["table"], {}).get("columns") or [])
        copies: dict[str, list[str]] = {}
        for c in columns:
            m = re.fullmatch(r"(.*) \((\d+)\)", c)
            if m and m.group(1) not in columns:
                copies.setdefault(m.group(1), []).append(c)
        unused = set(t["unmapped"])
        for name, cols in copies.items():
            if len(cols) < 2:
                continue
            used = [c for c in cols if c not in unused]
            out.append(
                f"{t['table']}: the header {name!r} appears {len(cols)} times, read as "
                f"{', '.join(map(repr, cols))} in file order; "
                + (f"the mapping uses {', '.join(map(repr, used))}" if used else "none is mapped")
                + (
                    f", {', '.join(repr(c) for c in cols if c in unused)} not used"
                    if used and len(used) < len(cols)
                    else ""
                )
            )
    return out


def _not_available(tables: Mapping[str, pd.DataFrame]) -> list[dict[str, str]]:
    """The KPIs and sections that will show "n/a" (or "no data") on every page, and why."""
    out = []
    cust, inv = tables["customers"], tables["invoices"]
    pay, com = tables["payments"], tables["commissions"]

    def none(df: pd.DataFrame, col: str) -> bool:
        return col not in df or df[col].isna().all()

    if none(cust, "credit_limit"):
        out.append(
            {
                "what": "customers over credit limit (Receivables)",
                "why": "no credit limits in the customer data",
            }
        )
    if com.empty:
        out.append(
            {
                "what": "Commission Analytics (every figure)",
                "why": "the data has no commissions",
            }
        )
    if pay.empty:
        out.append(
            {
                "what": "collections, average days late, payment completion",
                "why": "no payments: every invoice counts as unpaid",
            }
        )
    if none(inv, "energy_kwh"):
        out.append({"what": "energy usage vs payment behaviour", "why": "no energy usage (kWh)"})
    if none(inv, "industry"):
        out.append(
            {"what": "payment delays by industry", "why": "no industry: one group 'Unknown'"}
        )
    if none(inv, "region"):
        out.append({"what": "region pages", "why": "no region: only the 'All' pages"})
    return out


def _risk_history(tables: Mapping[str, pd.DataFrame], late_days: int) -> dict[str, Any]:
    """Invoices with a known outcome at the last month end covered, against what the model needs."""
    from arinsight import risk

    inv, pay = tables["invoices"], tables["payments"]
    if inv.empty:
        return {
            "as_of": None,
            "known": 0,
            "late": 0,
            "needed": risk.MIN_TRAINING_INVOICES,
            "enough": False,
            "why": "no invoices",
        }
    t = (inv["invoice_date"].max() + pd.offsets.MonthEnd(0)).normalize()
    labels = risk.labels_at(risk.settlement(inv, pay.loc[pay["payment_date"] <= t]), t, late_days)
    known = labels.loc[labels["matured"]]
    n, n_late = len(known), int(known["late"].astype(bool).sum())
    needed = risk.MIN_TRAINING_INVOICES
    why = ""
    if n < needed:
        why = f"{n} invoices with a known outcome, at least {needed} needed"
    elif n_late in (0, n):
        why = f"all {n} were {'late' if n_late else 'paid on time'}: nothing to learn"
    return {
        "as_of": t.date().isoformat(),
        "known": n,
        "late": n_late,
        "needed": needed,
        "enough": not why,
        "why": why,
    }


def check(
    params_files: Iterable[str | os.PathLike[str]] = (),
    params: Mapping[str, Any] | None = None,
) -> CheckReport:
    """Ingest and clean the dataset of the merged parameters in memory; see the module docstring.

    Raises :class:`~arinsight.errors.UserError` (file, column, row) when a source cannot be read.
    """
    from arinsight import clean, ingest
    from arinsight.ledger import regions_of

    merged = config.load_params(params_files)
    if params:
        merged = config.deep_merge(merged, dict(params))
    if not merged.get("sources"):
        raise UserError("no `sources:` in the parameters: point it at your sources file")
    spec = ingest.read_sources(merged["sources"])
    result = ingest.ingest(merged["sources"])
    cleaned = clean.clean_ingested(
        result.tables,
        ingest.manifest_of(result),
        run_date=merged.get("run_date"),
        reporting_currency=merged.get("reporting_currency") or "USD",
        fx_rates=merged.get("fx_rates"),
    )
    tables = cleaned.tables
    inv, pay = tables["invoices"], tables["payments"]

    def day(value: Any) -> str | None:
        return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()

    coverage = {
        "invoices_from": day(inv["invoice_date"].min()) if len(inv) else None,
        "invoices_to": day(inv["invoice_date"].max()) if len(inv) else None,
        "payments_from": day(pay["payment_date"].min()) if len(pay) else None,
        "payments_to": day(pay["payment_date"].max()) if len(pay) else None,
        "first_period": f"{inv['invoice_date'].min():%Y-%m}" if len(inv) else None,
        "last_period": f"{inv['invoice_date'].max():%Y-%m}" if len(inv) else None,
    }
    blocking = None
    read = cleaned.summary["tables"]["invoices"]["read"]
    if inv.empty:
        top = sorted(
            (cleaned.summary["reasons"].get("invoices") or {}).items(), key=lambda kv: -kv[1]
        )
        because = ", ".join(f"{r} {n:,}" for r, n in top[:3]) or "none read"
        blocking = f"no invoice survived cleaning ({read:,} read; quarantined: {because})"
    report = CheckReport(
        dataset=datasets.identity(merged),
        tables=_mapping_table(spec, result.files),
        derived=dict(result.derived),
        quality=cleaned.summary,
        coverage=coverage,
        not_available=_not_available(tables),
        risk=_risk_history(tables, int(merged.get("late_days", 30))),
        regions=regions_of(tables),
        blocking=blocking,
        segments=_segments(inv, result.files, cleaned.summary.get("reporting_currency")),
    )
    report.warnings.extend(_repeated_headers(report.tables, result.files))
    reporting = cleaned.summary.get("reporting_currency") or merged.get("reporting_currency")
    missing_rates = _missing_rates(cleaned.quarantine, reporting or "USD")
    if missing_rates:
        # a currency without a rate takes its invoices out of every figure: not a run that works
        report.blocking = missing_rates if not blocking else f"{blocking}; {missing_rates}"
    quarantined = sum(c["quarantined"] for c in cleaned.summary["tables"].values())
    aside = (cleaned.summary["reasons"].get("invoices") or {}).get("other_company_code", 0)
    if read and cleaned.summary["tables"]["invoices"]["quarantined"] - aside > (read - aside) / 2:
        report.warnings.append(
            f"more than half of the invoices are quarantined ({quarantined:,} rows in all): "
            "check the mapping (date_format, decimal, columns)"
        )
    return report
