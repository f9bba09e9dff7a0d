"""What the engine reads, checked before it computes: a processed folder is clean's output.

The engine trusts its input: the clean tables have no amount <= 0, no repeated key, no empty
required field (clean quarantines such rows). A folder edited by hand, copied from elsewhere or
written by another tool could break that silently (a negative invoice amount written into
``invoices.parquet`` lowered open AR). So before the KPIs or a period's results are computed over
``<folder>/<table>.parquet``:

1. **Fingerprints.** ``data_quality.json`` (written by :func:`arinsight.clean.write_processed`)
   holds each table file's :func:`~arinsight.files.fingerprint` (size and the hash of its footer).
   A file whose fingerprint differs was changed after clean wrote it: refused, naming the file.
   When every table matches, the folder is clean's output as written, and clean guarantees the
   values: nothing more is read (well under a second at any size).
2. **Values**, for a folder without fingerprints (written by another tool, or before they were
   recorded): one DuckDB pass per table checks amounts > 0 (invoices, payments and
   adjustments), keys unique
   and present, required fields present, naming the first offending key (11 s at 10M
   invoices with other jobs running, most of it the distinct count of the keys).

A folder is checked once per process for the same files (size and modification time), so a run
that computes 13 periods over one folder pays once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from arinsight.errors import ProcessedDataError
from arinsight.files import fingerprint

#: Per table: (key, required columns, positive money column or None).
RULES: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "invoices": (
        "invoice_id",
        ("invoice_id", "customer_id", "invoice_date", "due_date", "amount"),
        "amount",
    ),
    "payments": ("payment_id", ("payment_id", "payment_date", "amount"), "amount"),
    "customers": ("customer_id", ("customer_id",), None),
    "adjustments": (
        "adjustment_id",
        ("adjustment_id", "invoice_id", "adjustment_date", "amount", "kind"),
        "amount",
    ),
}
FIX = "processed tables are written by clean: run `arinsight run` (or notebooks 01 and 02) again"

_checked: set[tuple] = set()


def _state(folder: Path) -> tuple:
    files = sorted(folder.glob("*.parquet")) + [folder / "data_quality.json"]
    return (str(folder.resolve()),) + tuple(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists()
    )


def check_fingerprints(folder: Path) -> bool:
    """Refuse a table file changed since clean wrote it (see the module's docstring); True when
    every table file present has its recorded fingerprint, False when there is no record."""
    path = folder / "data_quality.json"
    try:
        recorded = json.loads(path.read_text(encoding="utf-8")).get("files") or {}
    except (OSError, ValueError):
        return False  # no record to compare with: the values are checked instead
    if not recorded:
        return False
    for name, expected in sorted(recorded.items()):
        file = folder / name
        if file.exists() and fingerprint(file) != expected:
            raise ProcessedDataError(
                f"{file}: changed after clean wrote it (its size or content differs from "
                f"{path.name}); {FIX}"
            )
    present = {p.name for p in folder.glob("*.parquet")} - {"quarantine.parquet"}
    return present <= set(recorded)  # a table file clean did not write is checked by value


def _problems(con: Any, table: str, columns: set[str]) -> list[str]:
    key, required, money = RULES[table]
    view = f'"src_{table}"'
    checks = {"missing": " OR ".join(f'"{c}" IS NULL' for c in required if c in columns)}
    if money and money in columns:
        checks["non_positive"] = f'"{money}" <= 0'
    parts = [f"count(*) FILTER (WHERE {cond}), min(\"{key}\") FILTER (WHERE {cond})"
             for cond in checks.values()]  # fmt: skip
    parts.append(f'count("{key}") - count(DISTINCT "{key}")')
    row = con.rows(f"SELECT {', '.join(parts)} FROM {view}")[0]
    found = []
    for i, what in enumerate(checks):
        n, first = row[2 * i], row[2 * i + 1]
        if n:
            text = {
                "missing": f"{n:,} row(s) with an empty {' / '.join(required)}",
                "non_positive": f"{n:,} row(s) with {money} <= 0",
            }[what]
            found.append(text + (f" (first: {key} {first})" if first is not None else ""))
    if row[-1]:
        repeated = con.rows(
            f'SELECT "{key}" FROM {view} WHERE "{key}" IS NOT NULL GROUP BY 1 '
            f"HAVING count(*) > 1 ORDER BY 1 LIMIT 1"
        )[0][0]
        found.append(f"{row[-1]:,} repeated {key} (first: {repeated})")
    return found


def check_processed(runner: Any, folder: str | Path, columns: dict[str, Any]) -> None:
    """Check the processed folder ``folder`` whose tables ``runner`` (a
    :class:`~arinsight.engine.duck.DuckDBRunner`) has as views ``src_<table>`` with ``columns``
    (table -> [(name, type)], None for an absent file). Raises
    :class:`~arinsight.errors.ProcessedDataError` naming the file and what is wrong."""
    folder = Path(folder)
    state = _state(folder)
    if state in _checked:
        return
    if check_fingerprints(folder):
        _checked.add(state)
        return
    for table in RULES:
        cols = columns.get(table)
        if not cols:
            continue
        problems = _problems(runner, table, {c[0] for c in cols})
        if problems:
            raise ProcessedDataError(
                f"{folder / f'{table}.parquet'}: {'; '.join(problems)}: not a table clean "
                f"writes; {FIX}"
            )
    _checked.add(state)
