"""A period's results, computed once by the engine and kept beside the processed data.

For a period P and T (its end, or an ``as_of`` snapshot) one call, :func:`period_results`,
computes with the engine

- every KPI of "All" and every region for P, for the period before it, and for each of the
  ``trailing_months`` periods up to P (the tiles' sparklines), and for the trailing calendar
  months up to the month of T (the monthly trend charts; the same periods when P is a month);
- the position of every invoice at T (:func:`arinsight.engine.marts.invoice_report`):
  open amount, days past due, aging bucket, status, paid date, days late, customer and segment.

and keeps them in ``<processed_dir>/engine/<period>[_<as_of>]-<settings digest>/`` (a notebook
run by hand over the published data keeps them in ``data/scratch/engine/`` instead):

- ``kpis.json``: ``{"period", "as_of", "chain": [labels, oldest first], "months": [...],
  "kpis": {label: {region: {KPI: value}}}}`` (money as numbers to the cent);
- ``positions.parquet``: one row per invoice dated <= T, ordered by invoice id (money exact,
  ``decimal(18,2)``); ``unapplied.parquet``: unapplied cash at T per customer;
  ``cash_months.parquet``: cash received per region and month up to T; ``pool_*.parquet``: the
  provision matrix's month-end sums per region (:mod:`arinsight.engine.pools`);
- ``stamp.json``: what the results were computed from (the processed files' sizes and
  modification times, the parameters, the engine's source): a later call with the same stamp
  reads them back instead of computing again; another stamp computes them anew.

The monthly run calls it once per period before the region notebooks start; the notebooks,
customer pages, alerts, reminders, the forecast and cash application then read the kept results
(a notebook run by hand computes them through the same call when they are missing). Nothing
else in the package computes a balance as of a date.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arinsight.engine.results import ALL, DEFAULT_BUCKETS, DEFAULT_TOP_N, aging_labels, buckets_of
from arinsight.files import file_lock

if TYPE_CHECKING:
    import pandas as pd

#: The folder under the processed data that holds every period's results.
FOLDER = "engine"
#: The parameters the results depend on, with their defaults.
DEFAULTS: dict[str, Any] = {
    "aging_buckets": list(DEFAULT_BUCKETS),
    "top_n": DEFAULT_TOP_N,
    "trailing_months": 12,
}
_TABLES = ("customers", "invoices", "payments", "sales_reps", "commissions", "adjustments")


def plain(value: Any) -> Any:
    """Engine values as JSON numbers: Decimal money as float (exact to the cent: two decimals
    round-trip through a float's shortest repr)."""
    if isinstance(value, Decimal):
        return float(value) + 0.0
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def settings_of(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters the results depend on (:data:`DEFAULTS` filled in), checked."""
    out = dict(DEFAULTS)
    out.update({k: v for k, v in (params or {}).items() if k in DEFAULTS and v is not None})
    out["aging_buckets"] = buckets_of(out)
    out["top_n"] = int(out["top_n"])
    out["trailing_months"] = int(out["trailing_months"])
    if out["trailing_months"] < 1:
        raise ValueError(f"trailing_months: expected at least 1, got {out['trailing_months']!r}")
    if out["top_n"] < 1:
        raise ValueError(f"top_n: expected at least 1, got {out['top_n']!r}")
    return out


def _folder_name(period: Any, as_of: Any, settings: Mapping[str, Any], url: Any) -> str:
    """``<period>[_<as_of>]-<digest of the settings>``: pages run with other aging buckets or
    trailing months keep their own results beside the default ones."""
    p = _period(period, as_of)
    name = p.label if not p.is_snapshot else f"{p.label}_{p.end:%Y-%m-%d}"
    text = json.dumps({"settings": dict(settings), "engine": url or ""}, sort_keys=True)
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def _period(period: Any, as_of: Any = None):
    from arinsight.ledger import Period, period_bounds

    p = period if isinstance(period, Period) else period_bounds(str(period))
    return p.at(as_of) if as_of not in (None, "") else p


def _engine_digest() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _stamp(processed: Path, period: Any, as_of: Any, settings: Mapping[str, Any], url: Any):
    files = {}
    for name in _TABLES:
        path = processed / f"{name}.parquet"
        if path.exists():
            st = path.stat()
            files[name] = [st.st_size, st.st_mtime_ns]
    p = _period(period, as_of)
    return {
        "period": p.label,
        "as_of": f"{p.end:%Y-%m-%d}",
        "settings": dict(settings),
        "engine": url or "duckdb://",
        "engine_source": _engine_digest(),
        "files": files,
    }


def chain_of(period: Any, as_of: Any, months: int) -> list:
    """P and the ``months - 1`` periods before it, oldest first (P with T = ``as_of``)."""
    p = _period(period, as_of)
    chain = [p]
    for _ in range(int(months) - 1):
        chain.append(chain[-1].previous())
    return list(reversed(chain))


def month_chain(period: Any, as_of: Any, months: int) -> list:
    """The ``months`` calendar months ending with the month of T, oldest first; the last one
    ends at T."""
    p = _period(period, as_of)
    return chain_of(f"{p.end:%Y-%m}", p.end, months)


def _kpis_of(
    processed: Path, q: Any, settings: Mapping[str, Any], url: Any, engine: Mapping[str, Any]
) -> dict:
    """Every KPI of All and every region of the period ``q`` (T = its end), as JSON values;
    ``engine``: the engine's settings (DuckDB's memory_limit, threads...)."""
    from arinsight.engine.duck import kpis_from_processed

    params = {**settings, "engine": url, "engine_settings": dict(engine)}
    rows = kpis_from_processed(processed, q, params, None, url)
    return {region: plain(row) for region, row in rows.items()}


#: The tables a run keeps beside kpis.json: file name -> what it holds (see ``report_tables``).
TABLE_FILES = ("positions.parquet", "unapplied.parquet", "cash_months.parquet")
#: The provision matrix's month-end history per region (:mod:`arinsight.engine.pools`), kept
#: as ``pool_<name>.parquet`` when the engine reads the processed files.
POOL_TABLES = ("balances", "moves", "followed", "ledger")


def report_tables(raw: Any, window: Any, buckets: Sequence[int]) -> dict[str, Any]:
    """The kept tables of one period as Ibis expressions over the raw ledgers ``raw``:
    ``positions`` (:func:`~arinsight.engine.marts.invoice_report`), ``unapplied``
    (:func:`~arinsight.engine.marts.unapplied_report`) and ``cash_months``
    (:func:`~arinsight.engine.marts.cash_months`)."""
    from arinsight.engine import marts
    from arinsight.engine.staging import stage

    ledgers = stage(raw)
    return {
        "positions": marts.invoice_report(raw, ledgers, window, buckets),
        "unapplied": marts.unapplied_report(ledgers, window),
        "cash_months": marts.cash_months(ledgers, window),
    }


def _write_tables(
    processed: Path,
    p: Any,
    settings: Mapping[str, Any],
    url: Any,
    out: Path,
    engine: Mapping[str, Any],
):
    from arinsight.engine import sources
    from arinsight.engine.run import connect
    from arinsight.engine.window import window_of

    window, _ = window_of(p)
    con = connect(url, **dict(engine))
    try:
        if url in (None, "", "duckdb://"):
            raw = sources.from_parquet(con, processed)
        else:
            raw = sources.from_database(con)
        for name, expr in report_tables(raw, window, settings["aging_buckets"]).items():
            con.to_parquet(expr, out / f"{name}.parquet")
    finally:
        con.disconnect()


def _write_pools(
    processed: Path, p: Any, settings: Mapping[str, Any], out: Path, engine: Mapping[str, Any]
) -> None:
    """The provision matrix's pool sums at T, every region at once (one pass over the ledger
    instead of one per region's page)."""
    from arinsight.engine.pools import pool_tables

    frames = pool_tables(
        processed, p.end, settings["aging_buckets"], memory_limit=engine.get("memory_limit")
    )  # fmt: skip
    for name in POOL_TABLES:
        frames[name].to_parquet(out / f"pool_{name}.parquet", index=False)


def frames_at(
    tables: Mapping[str, Any],
    as_of: Any,
    params: Mapping[str, Any] | None = None,
    url: str | None = None,
    con: Any = None,
) -> dict[str, pd.DataFrame]:
    """The kept tables (``positions``, ``unapplied``, ``cash_months``) at T = ``as_of`` over
    pandas frames (the dict of :func:`arinsight.ledger.load_processed`, possibly a region's
    selection), computed by the same engine expressions (on an embedded DuckDB, or the engine
    of ``url``: ``pyspark://``, ``spark://host:port``...) and read as
    :meth:`PeriodResults.positions` reads them, ordered by their keys: for tests, other
    backends and analysts' own frames. ``con``: an open engine connection to use (and leave
    open) instead of connecting to ``url``."""
    from arinsight.engine import sources
    from arinsight.engine.run import connect
    from arinsight.engine.window import AsOf, as_date
    from arinsight.ledger import arrow_to_frame

    t = as_date(as_of)
    settings = settings_of(params)
    own = con is None
    con = connect(url) if own else con
    try:
        raw = sources.from_frames(con, tables)
        exprs = report_tables(raw, AsOf(t, t, t), settings["aging_buckets"])
        out = {}
        for name, expr in exprs.items():
            frame = arrow_to_frame(con.to_pyarrow(expr))
            keys = [c for c in ("invoice_id", "customer_id", "region", "month") if c in frame]
            out[name] = frame.sort_values(keys[:1] if name != "cash_months" else keys,
                                          kind="stable").reset_index(drop=True)  # fmt: skip
        return out
    finally:
        if own:
            con.disconnect()


def period_results(
    processed_dir: str | Path,
    period: Any,
    as_of: Any = None,
    params: Mapping[str, Any] | None = None,
    keep_dir: str | Path | None = None,
) -> PeriodResults:
    """The kept results of ``period`` at T = ``as_of`` (default the period's end) over the
    processed tables of ``processed_dir``: read back when they were kept for the same inputs,
    else computed once by the engine and kept (see the module's docstring). ``params``:
    ``aging_buckets``, ``top_n``, ``trailing_months``, ``engine`` (a URL: compute in that
    database; default DuckDB over the parquet files), ``engine_settings`` (DuckDB's
    ``memory_limit`` and the like: how it computes, not what, so not part of the kept results'
    name; the run passes params/defaults.yaml's 6 GB, without it DuckDB may take 80 % of the
    machine's memory while the pages start beside it).

    Where they are kept: ``keep_dir`` (the runner passes ``<processed_dir>/engine``), else
    ``<processed_dir>/engine``, except for the published ``data/processed`` itself: a notebook
    run by hand never changes what was published, so it keeps what it computes in
    ``data/scratch/engine`` (it still reads the run's results from ``data/processed/engine``
    when they match)."""
    from arinsight import config

    processed = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    settings = settings_of(params)
    url = (params or {}).get("engine") or None
    name = _folder_name(period, as_of, settings, url)
    stamp = _stamp(processed, period, as_of, settings, url)
    if keep_dir is not None:
        keep = Path(keep_dir)
    elif processed.resolve() == config.PROCESSED_DIR.resolve():
        keep = config.SCRATCH_DIR / FOLDER
    else:
        keep = processed / FOLDER
    for base in dict.fromkeys([processed / FOLDER, keep]):
        if _matches(base / name, stamp):
            return load(base / name)
    with file_lock(keep / f".{name}.lock"):
        if not _matches(keep / name, stamp):
            engine = (params or {}).get("engine_settings") or {}
            _compute(processed, period, as_of, settings, url, keep / name, stamp, engine)
    return load(keep / name)


def _matches(folder: Path, stamp: Mapping[str, Any]) -> bool:
    kept = folder / "stamp.json"
    try:
        return kept.exists() and json.loads(kept.read_text()) == stamp
    except ValueError:  # a damaged stamp: compute again
        return False


def _compute(processed, period, as_of, settings, url, folder: Path, stamp, engine) -> None:
    p = _period(period, as_of)
    work = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
    work.mkdir(parents=True)
    try:
        chain = chain_of(p, None, settings["trailing_months"])
        months = month_chain(p, None, settings["trailing_months"])
        wanted = {q.label: q for q in [*chain, *months, p.previous()]}
        # the month chain's last month ends at T, as P does when P is a month
        kpis = {label: _kpis_of(processed, q, settings, url, engine) for label, q in wanted.items()}
        doc = {
            "period": p.label,
            "as_of": f"{p.end:%Y-%m-%d}",
            "previous": p.previous().label,
            "chain": [q.label for q in chain],
            "months": [q.label for q in months],
            "aging_labels": aging_labels(settings["aging_buckets"]),
            "kpis": kpis,
        }
        (work / "kpis.json").write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
        _write_tables(processed, p, settings, url, work, engine)
        if url in (None, "", "duckdb://"):
            _write_pools(processed, p, settings, work, engine)
        (work / "stamp.json").write_text(json.dumps(stamp, indent=1) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def load(folder: str | Path) -> PeriodResults:
    """The results kept in ``folder`` (see :func:`period_results`)."""
    folder = Path(folder)
    doc = json.loads((folder / "kpis.json").read_text())
    return PeriodResults(folder, doc)


@dataclass(frozen=True)
class PeriodResults:
    """The kept results of one period (see the module's docstring)."""

    folder: Path
    doc: Mapping[str, Any] = field(repr=False)

    @property
    def period(self) -> str:
        return self.doc["period"]

    @property
    def as_of(self) -> str:
        return self.doc["as_of"]

    @property
    def regions(self) -> list[str]:
        """Every region of the data, "All" first."""
        return list(self.doc["kpis"][self.period])

    def _row(self, label: str, region: str) -> dict[str, Any]:
        rows = self.doc["kpis"][label]
        if region not in rows:
            from arinsight.periods import check_region

            check_region(region, rows)
        return dict(rows[region])

    def kpis(self, region: str = ALL) -> dict[str, Any]:
        """Every KPI of ``region`` for P at T (the engine's row: money in cents as floats)."""
        return self._row(self.period, region)

    def previous(self, region: str = ALL) -> dict[str, Any]:
        """Every KPI of ``region`` for the period before P (at its end)."""
        return self._row(self.doc["previous"], region)

    def history(self, region: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``{key: {period label: value}}`` for the periods of the chain, oldest first; the last
        value of each series is P's own figure (what a tile shows)."""
        rows = [(label, self._row(label, region)) for label in self.doc["chain"]]
        return {key: {label: row.get(key) for label, row in rows} for key in keys}

    def months(self, region: str = ALL) -> list[tuple[str, dict[str, Any]]]:
        """(month label, KPIs of that month at its end; at T for the month of T), oldest first."""
        return [(label, self._row(label, region)) for label in self.doc["months"]]

    def positions(
        self,
        region: str = ALL,
        columns: Sequence[str] | None = None,
        open_only: bool = False,
        customer_id: str | None = None,
    ) -> pd.DataFrame:
        """The kept invoice positions at T of ``region`` ("All": every invoice), as pandas:
        money as float64 (the exact cents beside it in ``_cents_<column>``), dates as
        datetime64. ``columns`` reads just those (a money column's cents only when
        ``_cents_<column>`` is among them): at 10M invoices a page holds what it shows, not
        every column. ``open_only`` keeps the invoices with an open amount; ``customer_id`` one
        customer's."""
        import pyarrow as pa
        import pyarrow.compute as pc

        zero = pa.scalar(Decimal("0.00"), pa.decimal128(18, 2))
        return self._read(
            "positions",
            region,
            columns,
            (pc.field("open_amount") > zero) if open_only else None,
            (pc.field("customer_id") == customer_id) if customer_id is not None else None,
        )

    def customers(self, region: str = ALL) -> pd.DataFrame:
        """The processed customer master data of ``region``: the customers whose master region
        it is, and any customer with an invoice reported in it ("All": every customer)."""
        from arinsight.ledger import read_table
        from arinsight.schemas import empty_table

        path = self.folder.parent.parent / "customers.parquet"
        customers = read_table(path) if path.exists() else empty_table("customers")
        if region == ALL:
            return customers
        ids = self.positions(region, ["customer_id"])["customer_id"]
        keep = (customers["region"] == region).fillna(False) | customers["customer_id"].isin(ids)
        return customers.loc[keep.to_numpy(dtype=bool)].reset_index(drop=True)

    def unapplied(self, region: str = ALL) -> pd.DataFrame:
        """Unapplied cash at T per customer of ``region``: customer_id, region,
        unapplied_cash, payments."""
        return self._read("unapplied", region)

    def cash_months(self, region: str = ALL) -> pd.DataFrame:
        """Cash received per calendar month up to T in ``region`` ("All": every payment):
        month (datetime64, its first day), collections."""
        frame = self._read("cash_months", region, ["month", "collections"])
        return frame.groupby("month", as_index=False)["collections"].sum()

    def pools(self, region: str = ALL, segment_by: str = "region") -> dict[str, Any] | None:
        """The provision matrix's pool sums of ``region`` at T by ``segment_by``
        (:func:`arinsight.engine.pools.of_region`), or None when they were not kept (an engine other than DuckDB over the
        processed files: the page computes them itself)."""
        import pandas as pd

        from arinsight.engine.pools import of_region

        if not (self.folder / "pool_balances.parquet").exists():
            return None
        if region != ALL:
            self._row(self.period, region)
        frames = {n: pd.read_parquet(self.folder / f"pool_{n}.parquet") for n in POOL_TABLES}
        return of_region(frames, region, segment_by)

    def _read(self, name: str, region: str, columns=None, *conditions) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        from arinsight.ledger import arrow_to_frame

        if region != ALL:
            self._row(self.period, region)
        expr = None
        for cond in ((pc.field("region") == region) if region != ALL else None, *conditions):
            if cond is not None:
                expr = cond if expr is None else expr & cond
        data = ds.dataset(self.folder / f"{name}.parquet")
        if not columns:
            frame = arrow_to_frame(data.to_table(filter=expr))
        else:  # a named set of columns: their exact cents only where asked (``_cents_<column>``)
            cents = [c.removeprefix("_cents_") for c in columns if c.startswith("_cents_")]
            read = [*(c for c in columns if not c.startswith("_cents_")), *cents]
            table = data.to_table(columns=list(dict.fromkeys(read)), filter=expr)
            frame = arrow_to_frame(table, cents=cents)[list(columns)]
        pa.default_memory_pool().release_unused()  # the decoded pages, back to the system
        return frame
