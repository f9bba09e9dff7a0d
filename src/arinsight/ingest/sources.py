"""The sources file: read it and check every key before anything is read.

A misspelt option is the most common mapping mistake, so every unknown key (at the top level, in
a source, in ``derive_payments``) is an error that names the key and lists the keys allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arinsight import config
from arinsight.errors import SourceError
from arinsight.schemas import CANONICAL

KINDS = ("csv", "excel", "sql", "ubl")
BAD_VALUE_POLICIES = ("error", "quarantine")
#: Whose attributes an invoice is reported under (``segment_by`` in the sources file).
SEGMENT_BY = ("customer", "invoice")
#: Top-level keys of a sources file.
SOURCES_FILE_KEYS = (
    "dataset",
    "reporting_currency",
    "fx_rates",
    "segment_by",
    "company_codes",
    "sources",
)
#: Options of one source.
SOURCE_KEYS = (
    "kind",
    "path",
    "url",
    "table",
    "query",
    "sheet",
    "header_row",
    "delimiter",
    "encoding",
    "decimal",
    "thousands",
    "round_money",
    "date_format",
    "on_bad_value",
    "columns",
    "values",
    "derive_payments",
    "derive_customers",
    "normalize",
)
#: Options of one id column's ``normalize`` entry, and the values each takes.
NORMALIZE_KEYS = {
    "zeros": ("keep", "strip", "pad"),
    "width": None,
    "case": ("keep", "upper", "lower"),
    "trim": (True, "all"),
}
#: Options of ``derive_payments`` (a flat export: one row per invoice with its payment state).
DERIVE_PAYMENT_KEYS = (
    "payment_date",
    "amount",
    "method",
    "status",
    "paid_values",
    "unpaid_values",
    "undated_payment_date",
)


def read_sources(path: str | Path) -> dict[str, Any]:
    """Read and check a sources file; returns the mapping with ``_base`` (its folder) added."""
    p = config.resolve_path(path)
    if p is None or not p.exists():
        raise SourceError(
            str(path), "sources file not found (run `arinsight sample` for the sample)"
        )
    spec = config.read_yaml(p)
    unknown = sorted(set(spec) - set(SOURCES_FILE_KEYS))
    if unknown:
        raise SourceError(
            str(p), f"unknown key(s) {unknown}; allowed at the top level: {list(SOURCES_FILE_KEYS)}"
        )
    if spec.get("segment_by", "customer") not in SEGMENT_BY:
        raise SourceError(
            str(p), f"segment_by must be one of {', '.join(SEGMENT_BY)}, got {spec['segment_by']!r}"
        )
    codes = spec.get("company_codes")
    if codes is not None:
        if isinstance(codes, str | int):
            codes = [codes]
        if (
            not isinstance(codes, list)
            or not codes
            or any(
                not isinstance(c, str | int) or isinstance(c, bool) or not str(c).strip()
                for c in codes
            )
        ):
            raise SourceError(
                str(p),
                f"company_codes must list the company codes to report, e.g. [1000], got {codes!r}",
            )
        spec["company_codes"] = [str(c).strip() for c in codes]
    rates_file = spec.get("fx_rates")
    if isinstance(rates_file, str):  # a rates file: an input like the exports, hashed by ingest
        spec["_fx_rates_file"] = config.resolve_path(rates_file, p.parent)
    try:  # the same checks as the parameters' (codes in capitals, rates positive numbers)
        spec = config.check_values(spec, str(p), p.parent)
    except config.ConfigError as exc:
        raise SourceError(str(p), str(exc).removeprefix(f"{p}: ")) from None
    sources = spec.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise SourceError(str(p), "expected a non-empty 'sources:' mapping of table -> source")
    for table, src in sources.items():
        _check_source(p, table, src)
    invoices = sources.get("invoices") or {}
    if "derive_customers" in invoices and "customers" in sources:
        raise SourceError(str(p), "derive_customers and a customers source exclude each other")
    if "derive_payments" in invoices and "payments" in sources:
        raise SourceError(str(p), "derive_payments and a payments source exclude each other")
    return {**spec, "_base": p.parent, "_path": p}


def _check_source(p: Path, table: str, src: Any) -> None:
    where = f"{p} (sources.{table})"
    if table not in CANONICAL:
        raise SourceError(where, f"unknown table; expected one of {', '.join(CANONICAL)}")
    if not isinstance(src, dict):
        raise SourceError(where, "expected a mapping with kind, path/url and columns")
    unknown = sorted(set(src) - set(SOURCE_KEYS))
    if unknown:
        raise SourceError(where, f"unknown option(s) {unknown}; allowed: {sorted(SOURCE_KEYS)}")
    if src.get("kind") not in KINDS:
        raise SourceError(where, f"kind must be one of {', '.join(KINDS)}, got {src.get('kind')!r}")
    if src.get("on_bad_value", "error") not in BAD_VALUE_POLICIES:
        raise SourceError(where, f"on_bad_value must be one of {', '.join(BAD_VALUE_POLICIES)}")
    mapping = src.get("columns") or {}
    if not isinstance(mapping, dict):
        raise SourceError(where, "columns must map canonical columns to source columns")
    bad = sorted(set(mapping) - set(CANONICAL[table]))
    if bad:
        raise SourceError(
            where,
            f"columns maps unknown canonical column(s) {bad}; the {table} table has "
            f"{', '.join(CANONICAL[table])}",
        )
    derive = src.get("derive_payments")
    if derive is not None:
        if table != "invoices" or not isinstance(derive, dict):
            raise SourceError(where, "derive_payments is a mapping on the invoices source")
        unknown = sorted(set(derive) - set(DERIVE_PAYMENT_KEYS))
        if unknown:
            raise SourceError(
                where,
                f"derive_payments: unknown option(s) {unknown}; allowed: {list(DERIVE_PAYMENT_KEYS)}",
            )
    customers = src.get("derive_customers")
    if customers is not None:
        if table != "invoices" or not isinstance(customers, dict | bool):
            raise SourceError(where, "derive_customers is a mapping on the invoices source")
        if isinstance(customers, dict):
            bad = sorted(set(customers) - set(CANONICAL["customers"]))
            if bad:
                raise SourceError(
                    where,
                    f"derive_customers maps unknown customer column(s) {bad}; allowed: "
                    f"{', '.join(CANONICAL['customers'])}",
                )
    _check_normalize(where, table, src.get("normalize"))
    for key in ("decimal", "thousands", "delimiter"):
        value = src.get(key)
        if value is not None and (not isinstance(value, str) or len(value) != 1):
            raise SourceError(where, f"{key} must be one character, got {value!r}")
    if src.get("decimal") and src.get("decimal") == src.get("thousands"):
        raise SourceError(where, "decimal and thousands separators must differ")


def _check_normalize(where: str, table: str, normalize: Any) -> None:
    """``normalize: {<id column>: {zeros: strip|pad, width: N, case: upper|lower, trim: all}}``:
    only id columns of the table, known options, a width with ``zeros: pad``."""
    if normalize is None:
        return
    ids = [c for c in CANONICAL[table] if c.endswith("_id")]
    if not isinstance(normalize, dict):
        raise SourceError(where, f"normalize must map id columns ({', '.join(ids)}) to options")
    for column, options in normalize.items():
        if column not in ids:
            raise SourceError(
                where,
                f"normalize: {column!r} is not an id column of {table}; id columns: "
                f"{', '.join(ids)}",
            )
        if not isinstance(options, dict):
            raise SourceError(where, f"normalize.{column} must be a mapping, e.g. {{zeros: strip}}")
        unknown = sorted(set(options) - set(NORMALIZE_KEYS))
        if unknown:
            raise SourceError(
                where,
                f"normalize.{column}: unknown option(s) {unknown}; allowed: {list(NORMALIZE_KEYS)}",
            )
        for key, allowed in NORMALIZE_KEYS.items():
            if key in options and allowed is not None and options[key] not in allowed:
                raise SourceError(
                    where,
                    f"normalize.{column}.{key} must be one of {', '.join(map(str, allowed))}, "
                    f"got {options[key]!r}",
                )
        width = options.get("width")
        if options.get("zeros") == "pad":
            if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 64:
                raise SourceError(
                    where, f"normalize.{column}: zeros: pad needs width: <1 to 64>, got {width!r}"
                )
        elif width is not None:
            raise SourceError(where, f"normalize.{column}: width goes with zeros: pad")
