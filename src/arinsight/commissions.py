"""Commission Analytics (docs/kpis.md, seed 002): the commission liability and its flow.

A commission is *accrued* on its ``accrual_date`` and *settled* (paid to the rep) on its
``settlement_date``. Seen at the end of day T it is:

- accrued by T when ``accrual_date <= T``;
- settled by T when ``is_settled`` is true and ``settlement_date <= T`` (a settled commission
  without a settlement date is taken as settled at any T after its accrual: the source did not say
  when, and the seed's formula only looks at the flag);
- outstanding (a liability) when accrued by T and not settled by T.

Money is rounded to cents; rates are in percent; a ratio with a zero denominator is ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from arinsight import kpis as kpi_registry
from arinsight.engine import kpis_from_frames
from arinsight.engine.period import plain
from arinsight.ledger import Period
from arinsight.receivables import EPS, as_period, month_ends, require_columns

COMMISSION_KEYS: tuple[str, ...] = (
    "total_accrued_commissions",
    "commissions_paid_mtd",
    "commissions_earned",
    "average_commission_rate",
    "credit_sales",
)

_UNASSIGNED = "Unassigned"


def _frame(tables: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The commissions (``is_settled`` as bool) and the reps indexed by id (rep_name, sales_group).

    Rep names and groups are joined after aggregating by rep, never row by row (10M commissions).
    """
    com = tables["commissions"]
    require_columns(
        com,
        ["sales_rep_id", "commission_amount", "accrual_date", "is_settled", "settlement_date"],
        "commissions",
    )
    com = com.assign(is_settled=com["is_settled"].fillna(False).astype(bool))
    reps = tables.get("sales_reps")
    cols = ["sales_rep_id", "rep_name", "sales_group"]
    if reps is None or not len(reps):
        reps = pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
    reps = reps.reindex(columns=cols).drop_duplicates("sales_rep_id").set_index("sales_rep_id")
    return com, reps


def _with_reps(by_rep: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Per-rep rows (index sales_rep_id) with rep_name (id if unknown) and sales_group."""
    out = by_rep.join(reps, how="left")
    out["rep_name"] = out["rep_name"].fillna(pd.Series(out.index, index=out.index))
    out["sales_group"] = out["sales_group"].fillna(_UNASSIGNED)
    return out.rename_axis("sales_rep_id").reset_index()


def _settled_by(com: pd.DataFrame, t: pd.Timestamp) -> pd.Series:
    return com["is_settled"] & (com["settlement_date"].isna() | (com["settlement_date"] <= t))


def _outstanding(com: pd.DataFrame, t: pd.Timestamp) -> pd.Series:
    return (com["accrual_date"] <= t) & ~_settled_by(com, t)


def commission_figures(
    row: Mapping[str, Any], period: Period | str, has_commissions: bool = True
) -> dict[str, Any]:
    """The Commission Analytics KPIs of period P from the engine's row of a region (see
    :meth:`arinsight.engine.period.PeriodResults.kpis`): ``period``, ``as_of``, the keys of
    :data:`COMMISSION_KEYS` and ``na_reasons``. Without any commission record accrued by T
    every number is None (n/a), never 0, with the reason (``has_commissions``: whether the
    dataset has commissions at all, for the wording)."""
    p = as_period(period)
    out: dict[str, Any] = {"period": p.label, "as_of": p.end.date().isoformat(), "na_reasons": {}}
    out.update({k: plain(row.get(k)) for k in COMMISSION_KEYS})
    if out["total_accrued_commissions"] is None:
        out["credit_sales"] = None
        why = kpi_registry.NA_NO_COMMISSIONS + (
            "" if has_commissions else " (the data has no commissions)"
        )
        out["na_reasons"] = dict.fromkeys(COMMISSION_KEYS, why)
    elif out["average_commission_rate"] is None:
        out["na_reasons"]["average_commission_rate"] = kpi_registry.get(
            "average_commission_rate"
        ).na
    return out


def commission_kpis(
    tables: Mapping[str, pd.DataFrame],
    period: Period | str,
    params: Mapping[str, Any] | None = None,
    engine_row: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Commission Analytics KPIs of period P (T = end of P) and the tables for its charts.

    - ``total_accrued_commissions`` = commission amounts accrued by T and not settled by T
      (the liability at T, seed 002: "Is Settled" false);
    - ``commissions_paid_mtd`` = amounts settled within P up to T (month-to-date for a month,
      period-to-date for a quarter or a year);
    - ``commissions_earned`` = amounts accrued in P; ``credit_sales`` = invoice amounts dated in P;
    - ``average_commission_rate = commissions_earned / credit_sales * 100`` (None without sales);
    - the numbers come from the query engine (:mod:`arinsight.engine`): ``engine_row``, the
      region's row of the run's kept results, or else computed over ``tables``; without any
      commission in the dataset every number is None (n/a), never 0 (:func:`commission_figures`);
    - ``top_reps`` (:func:`top_reps`, ``params["top_n"]``), ``monthly`` (:func:`monthly_commissions`,
      ``params["trailing_months"]``) and ``by_group`` (:func:`distribution_by_group`) DataFrames.

    T is the period's last day or ``params["as_of"]`` (a snapshot date within P).
    """
    p = as_period(period)
    prm = {"top_n": 10, "trailing_months": 12}
    prm.update({k: v for k, v in (params or {}).items() if v is not None})
    p = p.at(prm.get("as_of"))
    com, reps = _frame(tables)
    inv = tables["invoices"]
    require_columns(inv, ["invoice_date", "amount"], "invoices")
    t = p.end
    if engine_row is None:
        engine_row = kpis_from_frames(dict(tables, commissions=com), p, prm, regions=())["All"]
    out = commission_figures(engine_row, p, bool(len(com)))
    out["top_reps"] = _top_reps(com, reps, p, int(prm["top_n"]))
    out["monthly"] = _monthly(com, t, int(prm["trailing_months"]))
    out["by_group"] = _by_group(com, reps, p)
    return out


_REP_FIGURES = ["accrued_outstanding", "earned_in_period", "paid_in_period"]


def _top_reps(
    com: pd.DataFrame, reps: pd.DataFrame, p: Period, top_n: int, keep_zero: bool = False
) -> pd.DataFrame:
    if top_n < 1:
        raise ValueError(f"top_n: expected at least 1, got {top_n!r}")
    t = p.end
    amount = com["commission_amount"].to_numpy(dtype="float64")
    cols = _REP_FIGURES
    frame = pd.DataFrame(
        {
            "sales_rep_id": com["sales_rep_id"],
            cols[0]: np.where(_outstanding(com, t), amount, 0.0),
            cols[1]: np.where(com["accrual_date"].between(p.start, t), amount, 0.0),
            cols[2]: np.where(
                com["is_settled"] & com["settlement_date"].between(p.start, t), amount, 0.0
            ),
        }
    )
    by_rep = frame.groupby("sales_rep_id")[cols].sum().round(2) + 0.0
    if not keep_zero:
        by_rep = by_rep.loc[by_rep["accrued_outstanding"] > 0]
    out = _with_reps(by_rep, reps)[["sales_rep_id", "rep_name", "sales_group", *cols]]
    out = out.sort_values(
        ["accrued_outstanding", "sales_rep_id"], ascending=[False, True], kind="stable"
    )
    return out.head(top_n).reset_index(drop=True)


def commissions_by_rep(tables: Mapping[str, pd.DataFrame], period: Period | str) -> pd.DataFrame:
    """Every sales rep with a commission record accrued by T, with the columns of
    :func:`top_reps` (also a rep with nothing outstanding, whom :func:`top_reps` leaves out), for
    the website's per-rep view; ranked by accrued outstanding, then by rep id."""
    com, reps = _frame(tables)
    p = as_period(period)
    return _top_reps(com.loc[com["accrual_date"] <= p.end], reps, p, 10**9, keep_zero=True)


def top_reps(
    tables: Mapping[str, pd.DataFrame], period: Period | str, top_n: int = 10
) -> pd.DataFrame:
    """Sales reps ranked by their outstanding accrued commission at T (the payouts to expect).

    Columns: sales_rep_id, rep_name, sales_group, ``accrued_outstanding`` (accrued by T, not
    settled by T), ``earned_in_period`` (accrued in P), ``paid_in_period`` (settled in P). Reps with
    nothing outstanding are left out; ties are broken by rep id.
    """
    return _top_reps(*_frame(tables), as_period(period), int(top_n))


def _monthly(com: pd.DataFrame, t: pd.Timestamp, months: int) -> pd.DataFrame:
    ends = month_ends(t, months)
    m = len(ends)
    end_ns = np.asarray(ends, dtype="datetime64[ns]")
    amount = com["commission_amount"].to_numpy(dtype="float64")
    accrual = com["accrual_date"].to_numpy(dtype="datetime64[ns]")
    settle = com["settlement_date"].to_numpy(dtype="datetime64[ns]")
    settled = com["is_settled"].to_numpy(dtype=bool)
    # a settled commission without a date counts as settled when it accrues
    settle = np.where(settled & np.isnat(settle), accrual, settle)
    settle = np.where(settled, settle, np.datetime64("NaT"))
    tt = np.datetime64(t, "ns")
    first = end_ns[0].astype("datetime64[M]")

    def by_month(dates: np.ndarray) -> np.ndarray:
        ok = ~np.isnat(dates) & (dates <= tt)
        slot = (dates[ok].astype("datetime64[M]") - first).astype("int64")
        keep = (slot >= 0) & (slot < m)
        return np.bincount(slot[keep], weights=amount[ok][keep], minlength=m)[:m]

    def cumulative(dates: np.ndarray) -> np.ndarray:
        ok = ~np.isnat(dates)
        slot = np.maximum((dates[ok].astype("datetime64[M]") - first).astype("int64"), 0)
        keep = slot < m
        return np.cumsum(np.bincount(slot[keep], weights=amount[ok][keep], minlength=m)[:m])

    out = pd.DataFrame(
        {
            "month": ends.strftime("%Y-%m"),
            "month_end": ends,
            "accrued": np.round(by_month(accrual), 2) + 0.0,
            "paid": np.round(by_month(settle), 2) + 0.0,
            "outstanding": np.round(cumulative(accrual) - cumulative(settle), 2) + 0.0,
        }
    )
    return out


def monthly_commissions(
    tables: Mapping[str, pd.DataFrame], period: Period | str, trailing_months: int = 12
) -> pd.DataFrame:
    """Commissions accrued vs paid per month, for the ``trailing_months`` months ending at T.

    Columns: ``month`` ("YYYY-MM"), ``month_end``, ``accrued`` (accrual_date in the month),
    ``paid`` (settled in the month), ``outstanding`` (the liability at the month end: accrued by
    then and not yet settled). A growing gap between accrued and paid means payouts lag.
    """
    return _monthly(_frame(tables)[0], as_period(period).end, int(trailing_months))


def _by_group(com: pd.DataFrame, reps: pd.DataFrame, p: Period) -> pd.DataFrame:
    in_p = com["accrual_date"].between(p.start, p.end)
    by_rep = com.loc[in_p].groupby("sales_rep_id")[["commission_amount"]].sum()
    per_rep = _with_reps(by_rep, reps)
    out = per_rep.groupby("sales_group", as_index=False).agg(
        commissions=("commission_amount", "sum"), reps=("sales_rep_id", "nunique")
    )
    total = out["commissions"].sum()
    out["commissions"] = out["commissions"].round(2) + 0.0
    out["share_pct"] = (out["commissions"] / total * 100).round(2) if abs(total) > EPS else np.nan
    return out.sort_values(
        ["commissions", "sales_group"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def distribution_by_group(tables: Mapping[str, pd.DataFrame], period: Period | str) -> pd.DataFrame:
    """Commissions earned in P by sales group: ``commissions``, ``reps`` and ``share_pct`` of the total.

    Reps without a group (or unknown to the sales_reps table) count as "Unassigned".
    """
    return _by_group(*_frame(tables), as_period(period))
