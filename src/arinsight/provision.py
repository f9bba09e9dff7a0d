"""The expected-credit-loss provision matrix: roll rates, loss rates, the allowance and its backtest.

IFRS 9 (5.5.15, B5.5.35) lets trade receivables carry a loss allowance of lifetime expected
credit losses measured with a *provision matrix*: a loss rate per days-past-due bucket, from the
entity's own loss history, adjusted for current and forward-looking conditions; US GAAP's CECL
(ASC 326-20) pools receivables with similar risk the same way. This module measures the history
as a chain of monthly roll rates (docs/provision.md):

1. **Snapshots.** At each month end O the query engine's
   :func:`~arinsight.engine.history.open_at_origins` gives every open invoice and its open amount
   (invoices dated <= O less what settled them by O); the settlements are the payments *and* the
   adjustments (write-offs, credit notes: a written-off invoice leaves the pool). Its bucket is
   the aging bucket of its days past due at O (``aging_buckets``: Current, 1-30, ..., 120+).
2. **Moves.** Between two month ends O and O' (the next), each open invoice in bucket b at O
   either *stays* in b, *rolls* to a later bucket b' (its open amount at O' counts), is written off
   (the write-offs on it dated in (O, O'], up to its balance at O) or is cleared otherwise
   (paid, credited).
3. **Roll rates**, per segment and bucket, over the ``lookback_months`` pairs of month ends up to
   T: ``roll(b -> b') = rolled into b' / exits(b)`` and ``w(b) = written off / exits(b)``, where
   ``exits(b)`` is the balance at O of the invoices that left b by O' (those that stay are
   neither: a month shorter than a bucket keeps some invoices in it).
4. **Loss rate**, chained to write-off from the oldest bucket back:
   ``loss(K) = w(K)``, ``loss(b) = w(b) + sum over b' > b of roll(b -> b') x loss(b')``; times the
   ``forward_looking_factor`` (1 = history as it is), capped at 100 %.
5. **Allowance** at T = sum over buckets of open balance at T x loss rate, per segment and in
   total; the same at the previous month end (with the rates known then) gives its change.
6. **Backtest**: at each past month end E whose next 12 months are known, the allowance E's
   rates gave against the write-offs that followed within 12 months on the invoices open at E.

A segment (``segment_by``: region, industry or customer_type of the invoice) without any exit
from a bucket in the window takes the rate of the whole selection for that bucket (said in the
table's ``source`` column). Money is rounded to the cent only in the results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import ParamsError

#: The invoice attributes a provision pool may be segmented by (``provision.segment_by``).
SEGMENTS: tuple[str, ...] = ("region", "industry", "customer_type")
#: The aging buckets' upper bounds (days past due) when none are given.
DEFAULT_BUCKETS: tuple[int, ...] = (0, 30, 60, 90, 120)
#: Months after a past month end whose write-offs the backtest counts.
BACKTEST_HORIZON = 12
_SETTLEMENT_COLUMNS = ["payment_id", "invoice_id", "customer_id", "payment_date", "amount"]


def bucket_labels(buckets: Sequence[int]) -> list[str]:
    """Names of the aging buckets of upper bounds ``buckets``: Current, 1-30, ..., 120+."""
    out = ["Current" if int(buckets[0]) == 0 else f"<= {int(buckets[0])}"]
    out += [f"{int(a) + 1}-{int(b)}" for a, b in zip(buckets[:-1], buckets[1:], strict=True)]
    return out + [f"{int(buckets[-1])}+"]


def month_ends(first: Any, last: Any) -> list[pd.Timestamp]:
    """The month ends from the month of ``first`` to the month of ``last`` (both included)."""
    months = pd.period_range(pd.Timestamp(first), pd.Timestamp(last), freq="M")
    return [m.end_time.normalize() for m in months]


@dataclass(frozen=True)
class Rates:
    """Roll and loss rates of one pool: ``exits[b]``, ``rolled[b, b']`` (amounts),
    ``written[b]``; ``roll[b, b']`` and ``w[b]`` the shares (NaN when nothing left b)."""

    exits: np.ndarray
    rolled: np.ndarray
    written: np.ndarray

    @property
    def roll(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.rolled / self.exits[:, None]

    @property
    def w(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.written / self.exits


def rates_of(mv: pd.DataFrame, n_buckets: int) -> Rates:
    """The amounts behind the roll rates of the moves ``mv`` (one pool, any number of months):
    per bucket b the exits (balance at O of invoices not staying in b), the amount that rolled
    into each later bucket b' (their balance at O') and the amount written off."""
    left = mv[~mv["stayed"]]
    exits = np.bincount(left["bucket"], weights=left["balance"], minlength=n_buckets)
    written = np.bincount(left["bucket"], weights=left["written_off"], minlength=n_buckets)
    rolled = np.zeros((n_buckets, n_buckets))
    r = left[left["next_bucket"] > left["bucket"]]
    np.add.at(rolled, (r["bucket"].to_numpy(), r["next_bucket"].to_numpy()), r["next_balance"])
    return Rates(exits[:n_buckets], rolled, written[:n_buckets])


def loss_rates(roll: np.ndarray, w: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """Loss rate per bucket chained to write-off from the oldest bucket back:
    ``loss[K] = w[K]``, ``loss[b] = w[b] + sum over b' > b of roll[b, b'] x loss[b']``, then
    ``min(1, loss x factor)`` (the forward-looking factor applies once, to the chained rate)."""
    n = len(w)
    loss = np.zeros(n)
    for b in range(n - 1, -1, -1):  # a loop over buckets, not rows
        loss[b] = w[b] + float(np.dot(roll[b, b + 1 :], loss[b + 1 :]))
    return np.minimum(1.0, loss * float(factor))


@dataclass
class Matrix:
    """The provision matrix of one selection at T (see the module docstring)."""

    as_of: pd.Timestamp
    labels: list[str]
    table: (
        pd.DataFrame
    )  # segment, bucket, balance, roll_rate, write_off_rate, loss_rate, allowance, source
    previous_allowance: float | None
    backtest: pd.DataFrame  # origin, allowance, written_off, error, error_pct
    flows: pd.DataFrame  # month, write_off, credit_note, adjustment
    segment_by: str
    factor: float
    lookback: int
    notes: list[str] = field(default_factory=list)

    @property
    def allowance(self) -> float | None:
        return None if self.table.empty else round(float(self.table["allowance"].sum()), 2)

    @property
    def balance(self) -> float:
        return round(float(self.table["balance"].sum()), 2) if len(self.table) else 0.0

    @property
    def coverage(self) -> float | None:
        a, b = self.allowance, self.balance
        return None if a is None or b <= 0 else round(100.0 * a / b, 4)

    def backtest_error(self) -> float | None:
        """Mean absolute error of the backtest in % of the write-offs that followed:
        ``sum |allowance - written off| / sum written off x 100`` over the backtest's month ends."""
        bt = self.backtest
        if bt.empty or bt["written_off"].sum() <= 0:
            return None
        return round(100.0 * bt["error"].abs().sum() / bt["written_off"].sum(), 2)


def _check_segment(segment_by: str) -> None:
    if segment_by not in SEGMENTS:
        raise ParamsError(
            f"provision.segment_by: expected one of {', '.join(SEGMENTS)}, got {segment_by!r}"
        )


def _pool_table(
    mv: pd.DataFrame, at_t: pd.DataFrame, n: int, factor: float, labels: Sequence[str]
) -> pd.DataFrame:
    """One row per (segment, bucket) of the balances ``at_t`` with the rates of the moves ``mv``
    (per segment; a bucket no invoice of the segment left takes the whole selection's rate)."""
    whole = rates_of(mv, n)
    rows = []
    for seg in sorted(set(at_t["segment"]) | set(mv["segment"])):
        own = rates_of(mv[mv["segment"] == seg], n)
        gap = own.exits <= 0
        roll, w = own.roll, own.w
        roll[gap], w[gap] = whole.roll[gap], whole.w[gap]
        source = np.where(gap, "whole selection", "segment")
        undefined = np.isnan(w)
        roll, w = np.nan_to_num(roll), np.nan_to_num(w)
        loss = loss_rates(roll, w, factor)
        loss[undefined] = np.nan
        bal = at_t[at_t["segment"] == seg]
        balance = np.bincount(bal["bucket"], weights=bal["balance"], minlength=n)[:n]
        for b in range(n):
            rows.append(
                {
                    "segment": seg,
                    "bucket": labels[b],
                    "balance": round(float(balance[b]), 2),
                    "roll_rate": float(roll[b, b + 1 :].sum()) if not undefined[b] else np.nan,
                    "write_off_rate": float(w[b]) if not undefined[b] else np.nan,
                    "loss_rate": float(loss[b]),
                    "allowance": round(float(balance[b] * np.nan_to_num(loss[b])), 2),
                    "source": "none: no history" if undefined[b] else str(source[b]),
                }
            )
    return pd.DataFrame(rows)


def _allowance_at(
    snaps: pd.DataFrame,
    mv: pd.DataFrame,
    at: pd.Timestamp,
    lookback: int,
    n: int,
    factor: float,
    labels: Sequence[str],
) -> pd.DataFrame:
    """The pool table at month end ``at`` with the rates of the ``lookback`` moves ending there."""
    window = mv[(mv["origin"] < at) & (mv["origin"] >= at - pd.DateOffset(months=lookback))]
    window = window[window["origin"] + pd.offsets.MonthEnd(1) <= at]
    return _pool_table(window, snaps[snaps["origin"] == at], n, factor, labels)


def provision_matrix(
    tables: Mapping[str, pd.DataFrame],
    as_of: Any,
    *,
    buckets: Sequence[int] = DEFAULT_BUCKETS,
    segment_by: str = "region",
    **params: Any,
) -> Matrix:
    """The provision matrix of ``tables`` (invoices, payments, adjustments; one region or all)
    at T = ``as_of`` (a month end; see the module docstring for every step), its allowance at
    the previous month end, the backtest at every month end E with ``E + 12 months <= T`` and
    a full lookback behind it, and the write-offs, credit notes and adjustments of the
    ``trailing_months`` months up to T. The month-end history comes from the query engine
    (:func:`arinsight.engine.pools.pool_tables`), as the run's kept results have it;
    ``params``: the other keyword arguments of :func:`matrix_of`."""
    from arinsight.engine.pools import of_region, pool_tables

    _check_segment(segment_by)
    frames = pool_tables(tables, as_of, buckets, BACKTEST_HORIZON)
    pools = of_region(frames, "All", segment_by)
    adjustments = tables.get("adjustments")
    return matrix_of(pools, adjustments, as_of, buckets=buckets, segment_by=segment_by, **params)


def matrix_of(
    pools: Mapping[str, Any],
    adjustments: pd.DataFrame | None,
    as_of: Any,
    *,
    buckets: Sequence[int] = DEFAULT_BUCKETS,
    segment_by: str = "region",
    lookback_months: int = 12,
    forward_looking_factor: float = 1.0,
    trailing_months: int = 12,
) -> Matrix:
    """The :class:`Matrix` of one selection from its pool sums (``pools``: one selection of
    :func:`arinsight.engine.pools.of_region`) and its ``adjustments`` (the flows)."""
    _check_segment(segment_by)
    if int(lookback_months) < 1:
        raise ParamsError(f"provision.lookback_months: expected >= 1, got {lookback_months!r}")
    factor = float(forward_looking_factor)
    if not factor >= 0:
        raise ParamsError(f"provision.forward_looking_factor: expected >= 0, got {factor!r}")
    t = pd.Timestamp(as_of).normalize()
    labels = bucket_labels(buckets)
    n = len(labels)
    adj = adjustments
    notes: list[str] = []
    if adj is None or adj.empty:
        notes.append(
            "the ledger has no write-offs (no adjustments table, or none in this selection): "
            "every loss rate is 0 and the allowance is 0; map your write-offs in the sources "
            "file (docs/own-data.md) for a matrix"
        )
    first = pools["first_invoice_date"]
    first = t if first is None else min(pd.Timestamp(first), t)
    origins = [o for o in month_ends(first, t) if o < t] + [t]  # T itself may be a snapshot
    snaps, mv = pools["balances"], pools["moves"]
    lookback = int(lookback_months)
    table = (
        _allowance_at(snaps, mv, t, lookback, n, factor, labels) if len(snaps) else pd.DataFrame()
    )
    prev_t = t - pd.offsets.MonthEnd(1)
    previous = None
    if len(snaps) and (snaps["origin"] == prev_t).any():
        previous = round(
            float(_allowance_at(snaps, mv, prev_t, lookback, n, factor, labels)["allowance"].sum()),
            2,
        )
    backtest = _backtest(snaps, mv, pools["followed"], origins, t, lookback, n, factor, labels)
    return Matrix(
        t, labels, table, previous, backtest, _flows(adj, t, trailing_months),
        segment_by, factor, lookback, notes,
    )  # fmt: skip


def _backtest(snaps, mv, followed, origins, t, lookback, n, factor, labels) -> pd.DataFrame:
    """At each month end E with a full lookback behind it and ``E + 12 months <= T``: the
    allowance E's rates gave, the write-offs dated in (E, E + 12 months] on the invoices open at
    E (each up to its balance at E: ``followed``), the error (allowance - written off) and it in
    % of the write-offs."""
    cols = ["origin", "allowance", "written_off", "error", "error_pct"]
    if snaps.empty:
        return pd.DataFrame({c: [] for c in cols})
    start = origins[0] + pd.DateOffset(months=lookback)
    after = followed.set_index("origin")["written_off"]
    rows = []
    for e in origins:
        end = (e + pd.DateOffset(months=BACKTEST_HORIZON)) + pd.offsets.MonthEnd(0)
        if e < start or end > t:
            continue
        allowance = float(
            _allowance_at(snaps, mv, e, lookback, n, factor, labels)["allowance"].sum()
        )
        written = float(after.get(e, 0.0))
        err = allowance - written
        rows.append(
            {
                "origin": e,
                "allowance": round(allowance, 2),
                "written_off": round(written, 2),
                "error": round(err, 2),
                "error_pct": round(100.0 * err / written, 2) if written > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _flows(adj: pd.DataFrame | None, t: pd.Timestamp, months: int) -> pd.DataFrame:
    """Write-offs, credit notes and other adjustments per month, the ``months`` months up to T
    (none of them is a collection)."""
    ends = month_ends(t - pd.DateOffset(months=int(months) - 1), t)
    out = pd.DataFrame({"month": [e.to_period("M").strftime("%Y-%m") for e in ends]})
    for kind in ("write_off", "credit_note", "adjustment"):
        out[kind] = 0.0
    if adj is None or adj.empty:
        return out
    a = adj[pd.to_datetime(adj["adjustment_date"]) <= t]
    month = pd.to_datetime(a["adjustment_date"]).dt.to_period("M").dt.strftime("%Y-%m")
    sums = a.groupby([month, a["kind"]])["amount"].sum().unstack(fill_value=0.0)
    for kind in ("write_off", "credit_note", "adjustment"):
        if kind in sums:
            out[kind] = out["month"].map(sums[kind]).fillna(0.0).round(2)
    return out


def period_flows(adj: pd.DataFrame | None, start: Any, end: Any) -> dict[str, float | None]:
    """``write_offs`` and ``credit_notes`` of the period start .. T (credit notes and other
    adjustments together): None without an adjustments table."""
    if adj is None or adj.empty:
        return {"write_offs": None, "credit_notes": None}
    d = pd.to_datetime(adj["adjustment_date"])
    a = adj[(d >= pd.Timestamp(start)) & (d <= pd.Timestamp(end))]
    wo = a["kind"].eq("write_off")
    return {
        "write_offs": round(float(a.loc[wo, "amount"].sum()), 2),
        "credit_notes": round(float(a.loc[~wo, "amount"].sum()), 2),
    }


# --------------------------------------------------------------------------------------------
# the Provision page (notebook 07) and kpis.json
# --------------------------------------------------------------------------------------------


def region_provision(
    processed_dir: Any,
    period: Any,
    region: str = "All",
    results: Any = None,
    **params: Any,
) -> tuple[Matrix, dict[str, float | None]]:
    """The provision matrix of ``region`` ("All": every invoice) at the period's T and the
    period's write-offs and credit notes (:func:`period_flows`). The month-end history is
    the period's kept results (``results``, else :func:`arinsight.engine.period.period_results`
    with the default page parameters; :meth:`~arinsight.engine.period.PeriodResults.pools`:
    every region's sums computed once by the engine); only the region's adjustments come into
    pandas, for the flows. ``params``: the keyword arguments of :func:`matrix_of`. ``period`` is
    a :class:`arinsight.ledger.Period` (its label, ``start`` and ``end``)."""
    from arinsight import config
    from arinsight.engine.period import period_results
    from arinsight.engine.pools import of_region, pool_tables
    from arinsight.ledger import read_table

    folder = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    segment_by = params.get("segment_by", "region")
    _check_segment(segment_by)
    buckets = list(params.get("buckets", DEFAULT_BUCKETS))
    if results is None:
        as_of = period.end if period.is_snapshot else None
        results = period_results(folder, period.label, as_of, {"aging_buckets": buckets})
    pools = results.pools(region, segment_by)
    if pools is None:  # not kept (another engine): the same sums, computed here
        frames = pool_tables(folder, period.end, buckets, BACKTEST_HORIZON)
        pools = of_region(frames, region, segment_by)
    has_table = _has_adjustments(folder)
    adj = None
    if has_table:
        adj = read_table(folder / "adjustments.parquet")
        if region not in (None, "", "All"):  # the adjustments on the region's invoices
            ids = results.positions(region, ["invoice_id"])["invoice_id"]
            adj = adj[adj["invoice_id"].isin(ids)].reset_index(drop=True)
    m = matrix_of(pools, adj, period.end, **params)
    flows = period_flows(adj, period.start, period.end)
    if not has_table:
        m.notes[:] = [
            "the ledger has no adjustments table: without write-offs there is no loss history, "
            "so no provision matrix; map your write-offs and credit notes in the sources file "
            "(docs/own-data.md, table adjustments)"
        ]
        m.table = m.table.iloc[0:0]
    return m, flows


def _has_adjustments(processed_dir: Any) -> bool:
    from arinsight import config

    folder = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    return (folder / "adjustments.parquet").exists() and _rows(folder / "adjustments.parquet") > 0


def _rows(path: Any) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def kpis(m: Matrix, flows: Mapping[str, float | None]) -> dict[str, Any]:
    """The provision keys of kpis.json with ``na_reasons`` for those that are null;
    ``provision_matrix``: {segment: {bucket: {balance, loss_rate, allowance}}}."""
    available = not m.table.empty
    allowance = m.allowance if available else None
    change = (
        round(allowance - m.previous_allowance, 2)
        if allowance is not None and m.previous_allowance is not None
        else None
    )
    matrix = None
    if available:
        matrix = {
            seg: {
                r["bucket"]: {
                    "balance": r["balance"],
                    "loss_rate": None if np.isnan(r["loss_rate"]) else round(r["loss_rate"], 6),
                    "allowance": r["allowance"],
                }
                for r in rows.to_dict("records")
            }
            for seg, rows in m.table.groupby("segment", sort=True)
        }
    out: dict[str, Any] = {
        "write_offs": flows.get("write_offs"),
        "credit_notes": flows.get("credit_notes"),
        "ecl_allowance": allowance,
        "ecl_allowance_change": change,
        "ecl_coverage": m.coverage if available else None,
        "ecl_backtest_error": m.backtest_error() if available else None,
        "provision_matrix": matrix,
    }
    from arinsight.kpis import get

    reasons = {}
    for key, value in out.items():
        if value is None:
            why = "; ".join(m.notes) if m.notes and not available else None
            reasons[key] = why or (get(key).na if key != "provision_matrix" else "no matrix")
    out["na_reasons"] = reasons
    return out


def write_outputs(m: Matrix, flows: Mapping[str, float | None], output_dir: Any) -> dict[str, Any]:
    """``kpis_provision.json`` (:func:`kpis`) and, with a matrix, ``provision_matrix.csv`` and
    ``provision_backtest.csv`` in ``output_dir``."""
    from pathlib import Path

    from arinsight.files import write_csv, write_json

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"kpis": write_json(out / "kpis_provision.json", kpis(m, flows))}
    if not m.table.empty:
        paths["matrix"] = write_csv(m.table, out / "provision_matrix.csv")
        bt = m.backtest.assign(origin=m.backtest["origin"].astype(str).str[:10])
        paths["backtest"] = write_csv(bt, out / "provision_backtest.csv")
    return paths


def summary_text(m: Matrix, flows: Mapping[str, float | None], currency: str = "USD") -> str:
    """Two or three sentences for the page: the allowance, its change, the backtest."""
    if m.table.empty:
        return (
            "No provision matrix for this page: " + "; ".join(m.notes or ["no open invoices"]) + "."
        )
    text = (
        f"Loss allowance at {m.as_of:%Y-%m-%d}: **{currency} {m.allowance:,.2f}**, "
        f"{m.coverage:.2f} % of the {currency} {m.balance:,.2f} open (the Receivables page's "
        "open AR, net of write-offs and credit notes)"
    )
    if m.previous_allowance is not None:
        text += f" (previous month end {currency} {m.previous_allowance:,.2f})"
    text += (
        f". Loss rates from the last {m.lookback} months of roll rates per {m.segment_by.replace('_', ' ')}, "
        f"forward-looking factor {m.factor:g}."
    )
    err = m.backtest_error()
    if err is not None:
        bt = m.backtest
        text += (
            f" Backtest over {len(bt)} past month ends: the allowance averaged {currency} "
            f"{bt['allowance'].mean():,.0f} against {currency} {bt['written_off'].mean():,.0f} "
            f"written off in the 12 months that followed; mean absolute error **{err:.1f} %** "
            "of the write-offs."
        )
    else:
        text += " No backtest yet: it needs a month end with a full lookback and the 12 months after it."
    if m.notes:
        text += " Note: " + "; ".join(m.notes) + "."
    return text


def matrix_table(m: Matrix) -> pd.DataFrame:
    """The matrix for the page: segment, bucket, open balance at T, roll rate, write-off rate and
    loss rate (in %), allowance and where the rate comes from; empty without a matrix."""
    t = m.table
    if t.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "segment": t["segment"],
            "bucket": t["bucket"],
            "balance": t["balance"],
            "roll_rate": (t["roll_rate"] * 100).round(2),
            "write_off_rate": (t["write_off_rate"] * 100).round(2),
            "loss_rate": (t["loss_rate"] * 100).round(2),
            "allowance": t["allowance"],
            "source": t["source"],
        }
    )


def backtest_table(m: Matrix) -> pd.DataFrame:
    """The backtest for the page: month end, allowance, write-offs in the 12 months after,
    error and error in % of the write-offs."""
    bt = m.backtest
    return pd.DataFrame(
        {
            "month_end": bt["origin"].dt.strftime("%Y-%m-%d") if len(bt) else [],
            "allowance": bt["allowance"],
            "written_off": bt["written_off"],
            "error": bt["error"],
            "error_pct": bt["error_pct"],
        }
    )


def flows_table(m: Matrix) -> pd.DataFrame:
    """Write-offs, credit notes and other adjustments per month (none of them a collection)."""
    return m.flows.rename(columns={"write_off": "write_offs", "credit_note": "credit_notes"})
