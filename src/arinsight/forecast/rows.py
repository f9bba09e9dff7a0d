"""Rows: the invoices open at an origin, their state there, and the cash they brought in the
13 weeks after it, from the KPI engine's history (:mod:`arinsight.engine.history`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from arinsight.forecast.base import STATE_FEATURES, WEEKS

#: What :func:`open_at` and :func:`open_at_origins` return, one row per (origin, open invoice).
ROW_COLUMNS = ["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "open_amount"]


def _open_positions(invoices: pd.DataFrame, payments: pd.DataFrame, origin_t: pd.Timestamp):
    """The invoices open at the end of day O: :data:`ROW_COLUMNS` (``open_amount > 0`` only).

    The one place the forecast asks receivables for positions (``invoice_positions``: payments
    dated <= O applied to their invoice, ``open_amount = max(0, amount - paid)`` to the cent);
    another source of "open invoices at a date" only has to give these six columns.
    """
    from arinsight.receivables import invoice_positions

    pos = invoice_positions(invoices, payments, origin_t)
    return pos.loc[pos["open_amount"] > 0, ROW_COLUMNS]


def with_state(rows: pd.DataFrame) -> pd.DataFrame:
    """:data:`ROW_COLUMNS` + ``origin`` -> the same + :data:`STATE_FEATURES` (see :func:`open_at`)."""
    o = rows["origin"]
    rows["days_to_due"] = (rows["due_date"] - o).dt.days.astype(float)
    rows["due_week"] = np.clip(np.ceil(rows["days_to_due"] / 7), 0, WEEKS + 1)
    rows["age_days"] = (o - rows["invoice_date"]).dt.days.astype(float)
    rows["open_share"] = (rows["open_amount"] / rows["amount"]).clip(upper=1.0)
    rows["log_open_amount"] = np.log(rows["open_amount"])
    rows["origin_month"] = o.dt.month.astype(float)
    return rows[ROW_COLUMNS + ["origin"] + STATE_FEATURES]


def open_at(invoices: pd.DataFrame, payments: pd.DataFrame, origin: Any) -> pd.DataFrame:
    """The invoices open at the end of day O = ``origin`` with their state at O.

    ``open_amount`` from :func:`arinsight.receivables.invoice_positions` (payments dated <= O);
    ``days_to_due = due_date - O`` (negative when overdue), ``age_days = O - invoice_date``,
    ``open_share = open_amount / amount``, ``log_open_amount = ln(open_amount)``,
    ``origin_month`` (1-12). One row per open invoice, sorted by invoice id.
    """
    origin_t = pd.Timestamp(origin).normalize()
    pos = _open_positions(invoices, payments, origin_t).copy()
    pos["origin"] = origin_t
    out = with_state(pos)
    return out.sort_values("invoice_id", kind="mergesort").reset_index(drop=True)


def positions_in(keys: pd.Series, ids: pd.Series) -> np.ndarray:
    """Position of each key in ``ids`` (unique invoice ids), -1 when missing or unknown."""
    from arinsight.ledger import positions

    index = pd.Index(ids)
    pos = positions(keys, index, unique=True)
    if pos is None:
        pos = index.get_indexer(pd.Index(keys))
    return np.asarray(pos, dtype=np.int64)


def epoch_days(values: Any) -> np.ndarray:
    """Dates as int64 days since 1970."""
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def engine_history(
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    marts: Sequence[str],
    origins: Sequence[pd.Timestamp] = (),
    late_days: int | None = None,
) -> dict[str, pd.DataFrame]:
    """The engine's history ``marts`` (:func:`arinsight.engine.run.history_frames`) of the
    ledger; ``open_at_origins`` with the state at each origin (:func:`open_at`)."""
    from arinsight.engine.run import history_frames

    tables = {"invoices": invoices, "payments": payments}
    out = history_frames(tables, marts, origins=origins, weeks=WEEKS, late_days=late_days)
    if "open_at_origins" in out:
        out["open_at_origins"] = with_state(out["open_at_origins"][ROW_COLUMNS + ["origin"]])
    return out


def open_at_origins(
    invoices: pd.DataFrame, payments: pd.DataFrame, origins: Sequence[Any]
) -> pd.DataFrame:
    """:func:`open_at` at several origins in one query of the engine
    (:func:`arinsight.engine.history.open_at_origins`: the invoices dated <= O whose payments
    dated <= O leave something open); same rows and values as :func:`open_at` at each origin;
    ordered by origin, then by invoice id."""
    ts = [pd.Timestamp(x).normalize() for x in origins]
    return engine_history(invoices, payments, ["open_at_origins"], ts)["open_at_origins"]


def _weeks_of(rows: pd.DataFrame, collected: pd.DataFrame, weeks: int) -> np.ndarray:
    """The engine's cash per (origin, invoice, week) (:func:`arinsight.engine.history.
    collected_by_week`) as an array aligned with ``rows``: one column per week, then the part
    of the open amount not collected within them."""
    out = np.zeros((len(rows), weeks + 1))
    ids = rows["invoice_id"].drop_duplicates()

    def keys(frame: pd.DataFrame) -> pd.Index:
        """(origin, invoice) as one integer; -1 for an invoice not in ``rows``."""
        code = positions_in(frame["invoice_id"], ids)
        return pd.Index(np.where(code >= 0, epoch_days(frame["origin"]) * len(ids) + code, -1))

    at = keys(rows).get_indexer(keys(collected))
    ok = at >= 0
    np.add.at(
        out, (at[ok], collected["week"].to_numpy()[ok] - 1), collected["collected"].to_numpy()[ok]
    )
    out[:, weeks] = np.maximum(rows["open_amount"].to_numpy(dtype=float) - out[:, :weeks].sum(1), 0)
    return np.round(out, 2)


def collected_by_week(
    open_rows: pd.DataFrame, payments: pd.DataFrame, weeks: int = WEEKS
) -> np.ndarray:
    """Cash each open invoice brought in each week after its origin: an array (rows x weeks+1).

    Payments to the invoice dated in week k (``O + 7(k-1) < date <= O + 7k``) count in column
    k-1, cumulatively capped at the open amount at O (an overpayment counts up to it); the last
    column is the part not collected within ``weeks`` weeks (later or never). The rows may come
    from several origins (``origin`` per row, as :func:`open_at_origins` gives them). Computed
    by the engine (:func:`arinsight.engine.history.collected_by_week`).
    """
    if len(open_rows) == 0:
        return np.zeros((0, weeks + 1))
    from arinsight.engine.run import history_frames

    tables = {"payments": payments}
    frame = history_frames(tables, ["collected_by_week"], weeks=weeks, open_rows=open_rows)
    return _weeks_of(open_rows, frame["collected_by_week"], weeks)
