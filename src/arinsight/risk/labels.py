"""Settlement and labels: each invoice's paid date (the engine's) and its late-payment label as known at a cut-off."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from arinsight.ledger import positions
from arinsight.risk.base import RiskModelError


def as_day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize().astype("datetime64[ns]")


def check_columns(df: pd.DataFrame, table: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise RiskModelError(f"{table}: missing column(s) {', '.join(missing)}")


def row_positions(keys: pd.Series, ids: pd.Series) -> np.ndarray:
    """The row of each key in the unique ``ids`` (-1 when absent or missing)."""
    index = pd.Index(ids)
    try:
        at = positions(keys, index)
    except ValueError as exc:
        raise RiskModelError("invoices: invoice_id is not unique (run 02_clean first)") from exc
    if at is None:
        if not index.is_unique:
            raise RiskModelError("invoices: invoice_id is not unique (run 02_clean first)")
        at = index.get_indexer(pd.Index(keys))
    return np.asarray(at, dtype=np.int64)


def engine_settlement(
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    as_of: Any = None,
    late_days: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The engine's settlement of the ledger (cut at ``as_of`` when given) in the invoices' row
    order, and with ``late_days`` the customer history of every invoice
    (:func:`arinsight.engine.history.customer_history`) in the same order, else None."""
    from arinsight.engine.run import history_frames

    check_columns(
        invoices, "invoices", ["invoice_id", "customer_id", "invoice_date", "due_date", "amount"]
    )
    check_columns(payments, "payments", ["invoice_id", "customer_id", "payment_date", "amount"])
    if invoices["due_date"].isna().any() or invoices["invoice_date"].isna().any():
        raise RiskModelError(
            "invoices: invoice_date and due_date must be filled (run 02_clean first)"
        )
    marts = ["settlement"] if late_days is None else ["settlement", "customer_history"]
    tables = {"invoices": invoices, "payments": payments}
    frames = history_frames(tables, marts, as_of, late_days=late_days)
    settled = frames["settlement"]
    if settled["invoice_id"].duplicated().any():
        raise RiskModelError("invoices: invoice_id is not unique (run 02_clean first)")
    # the invoices' own order (the engine's is by id)
    cut = invoices if as_of is None else invoices.loc[as_day(invoices["invoice_date"]) <= as_of]
    at = row_positions(cut["invoice_id"], settled["invoice_id"])
    settled = settled.iloc[at].reset_index(drop=True)
    history = frames.get("customer_history")
    if history is not None:
        history = history.iloc[at].reset_index(drop=True)
    return settled, history


def settlement(invoices: pd.DataFrame, payments: pd.DataFrame) -> pd.DataFrame:
    """Each invoice's paid date, as the receivables engine defines it.

    **Paid date** of an invoice = the ``payment_date`` on which its cumulative payments, ordered
    by ``payment_date`` then ``payment_id`` (tie-breaker), counting only the payments given
    (pass payments cut at T: those dated ``<= T``), first reach its amount (to the cent); NaT when
    they do not cover it (:func:`arinsight.engine.history.settlement`: the engine's one
    definition). Unapplied cash (no invoice id, or one not among the invoices) settles no
    invoice. No other rule: a payment dated before its invoice counts on its own date (02_clean
    quarantines such payments, ``payment_before_invoice``).

    Returns one row per invoice (input order): ``invoice_id, customer_id, invoice_date, due_date,
    amount, paid_date``.
    """
    settled, _ = engine_settlement(invoices, payments)
    return settled[["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "paid_date"]]


def labels_at(settled: pd.DataFrame, as_of: pd.Timestamp, late_days: int) -> pd.DataFrame:
    C = pd.Timestamp(as_of).normalize()
    s = settled.loc[settled["invoice_date"] <= C]
    paid = s["paid_date"].notna() & (s["paid_date"] <= C)
    days_to_pay = (s["paid_date"] - s["due_date"]).dt.days.where(paid)
    age = (C - s["due_date"]).dt.days
    matured = age > late_days
    known = paid | matured
    late = pd.Series(pd.NA, index=s.index, dtype="boolean")
    late[paid] = days_to_pay[paid] > late_days
    late[~paid & matured] = True
    return pd.DataFrame(
        {
            "invoice_id": s["invoice_id"],
            "invoice_date": s["invoice_date"],
            "due_date": s["due_date"],
            "paid_date": s["paid_date"].where(paid),
            "days_to_pay": days_to_pay,
            "outcome_known": known,
            "matured": matured,
            "late": late,
        }
    ).reset_index(drop=True)


def late_labels(
    invoices: pd.DataFrame, payments: pd.DataFrame, as_of: Any, late_days: int = 30
) -> pd.DataFrame:
    """The late-payment label of every invoice issued by the cut-off C = ``as_of``, as known at C.

    Only payments dated ``<= C`` count. With ``S`` the paid date (:func:`settlement`) and ``D``
    the due date: ``late = S - D > late_days`` if paid by C; ``late = True`` if unpaid and
    ``C - D > late_days``; otherwise the outcome is not yet known (``late`` is NA,
    ``outcome_known`` False). ``matured = C - D > late_days`` marks the invoices used for training.

    Returns ``invoice_id, invoice_date, due_date, paid_date (NaT if not paid by C), days_to_pay
    (S - D), outcome_known, matured, late`` for invoices with ``invoice_date <= C``.
    """
    if late_days is None or int(late_days) < 0:
        raise RiskModelError(f"late_days must be a non-negative number of days, got {late_days!r}")
    C = pd.Timestamp(as_of).normalize()
    settled, _ = engine_settlement(invoices, payments, C)
    return labels_at(settled, C, int(late_days))
