"""The positions at T, the engine's (one row per invoice dated <= T: open amount, days past
due, status, paid date, days late, customer and segment), and each customer's balances from
them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from arinsight.receivables.base import (
    EPS,
    require_columns,
)


def positions_at(
    tables: Mapping[str, pd.DataFrame], as_of: Any, params: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Every invoice dated <= T = ``as_of`` with its position at T, computed by the engine over
    ``tables`` (the dict of :func:`arinsight.ledger.load_processed`, possibly a region's
    selection) with the expression a run keeps (:func:`arinsight.engine.marts.invoice_report`):
    invoice_id, customer_id, customer_name, region, industry, customer_type, invoice_date,
    due_date, amount, ``paid_to_date`` (payments applied by T), ``credited`` and
    ``written_off`` (credit notes and write-offs by T: docs/kpis.md), ``balance = amount -
    paid_to_date - credited - written_off``, ``open_amount = max(0, balance)``, ``credit_amount
    = max(0, -balance)``, ``days_past_due`` (T - due date when open and past due, else 0),
    ``bucket``, ``status`` (paid, current, overdue, credit, written_off), ``paid_date`` (the
    date the payments and credit notes first reached the amount; NaT unless settled at T),
    ``days_late = paid_date - due_date`` (negative = early), payments, last_payment_date,
    energy_kwh."""
    from arinsight.engine.period import frames_at

    for name in ("invoices", "payments"):
        require_columns(tables.get(name), ["invoice_id", "amount"], name)
    return frames_at(tables, as_of, params)["positions"]  # frames_at coerces as_of to T


#: The columns of :func:`invoice_positions`.
POSITION_COLUMNS = [
    "invoice_id",
    "customer_id",
    "invoice_date",
    "due_date",
    "amount",
    "paid_to_date",
    "credited",
    "written_off",
    "balance",
    "open_amount",
    "credit_amount",
    "days_past_due",
    "status",
    "paid_date",
    "days_late",
]


def invoice_positions(
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    as_of: Any,
    adjustments: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`positions_at` of just ``invoices``, ``payments`` and (optional) ``adjustments``
    (write-offs, credit notes: they settle their invoice too) without customer data, with the
    columns of :data:`POSITION_COLUMNS`: the position of every invoice dated <= T = ``as_of``
    as the engine computes it, for callers that hold the frames (the forecast at a backtest
    origin, cash application at a statement date)."""
    require_columns(
        invoices, ["invoice_id", "customer_id", "invoice_date", "due_date", "amount"], "invoices"
    )
    require_columns(payments, ["invoice_id", "customer_id", "payment_date", "amount"], "payments")
    ids = invoices["invoice_id"]
    if ids.duplicated().any():
        dupes = ids[ids.duplicated()].unique()[:5].tolist()
        raise ValueError(f"invoices: invoice_id must be unique, duplicated: {dupes}")
    tables = {"invoices": invoices, "payments": payments}
    if adjustments is not None:
        tables["adjustments"] = adjustments
    return positions_at(tables, as_of)[POSITION_COLUMNS]


def customer_balances(
    positions: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    unapplied: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What each customer owes at T (one row per customer), from the positions at T.

    - ``open_ar`` = sum of the open amounts of the customer's invoices;
    - ``credit_balance`` = sum of overpayments on its invoices; ``unapplied_cash`` = its payments
      dated <= T without an invoice (``unapplied``: the kept unapplied cash, one row per customer);
    - ``net_balance = open_ar - credit_balance - unapplied_cash`` (negative: we owe the customer);
    - ``over_limit`` = ``open_ar > credit_limit`` (False when the limit is unknown), ``over_limit_by``
      the excess; ``overdue_amount`` / ``overdue_invoices`` = open amounts past due at T,
      ``max_days_past_due``.

    Customers of ``customers`` with nothing owed appear with zeros; customers that only appear in
    the positions appear with the name the positions carry.
    """
    require_columns(
        positions, ["customer_id", "open_amount", "credit_amount", "status"], "positions"
    )
    overdue = (positions["status"] == "overdue").to_numpy()
    grouped = (
        positions.assign(
            overdue_amount=np.where(overdue, positions["open_amount"], 0.0),
            overdue_invoices=overdue.astype("int64"),
        )
        .groupby("customer_id", sort=True)
        .agg(
            open_ar=("open_amount", "sum"),
            credit_balance=("credit_amount", "sum"),
            overdue_amount=("overdue_amount", "sum"),
            overdue_invoices=("overdue_invoices", "sum"),
            max_days_past_due=("days_past_due", "max"),
        )
    )
    if unapplied is not None and len(unapplied):
        cash = unapplied.groupby("customer_id")["unapplied_cash"].sum()
    else:
        cash = pd.Series(dtype="float64", name="unapplied_cash")
    cols = ["customer_id", "customer_name", "region", "industry", "customer_type", "credit_limit"]
    if customers is None:
        customers = pd.DataFrame({"customer_id": pd.Series(dtype="str")})
    meta = customers[[c for c in cols if c in customers.columns]].drop_duplicates("customer_id")
    ids = pd.Index(meta["customer_id"]).union(grouped.index).union(cash.index)
    out = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    out = out.join(grouped).join(cash.rename("unapplied_cash"))
    for col in ("open_ar", "credit_balance", "overdue_amount", "unapplied_cash"):
        out[col] = out[col].astype("float64").fillna(0.0).round(2) + 0.0
    out["overdue_invoices"] = out["overdue_invoices"].fillna(0).astype("int64")
    out["max_days_past_due"] = out["max_days_past_due"].fillna(0).astype("int64")
    out = out.reset_index().merge(meta, on="customer_id", how="left")
    if "customer_name" in positions.columns:
        names = positions.drop_duplicates("customer_id").set_index("customer_id")["customer_name"]
        known = out["customer_name"] if "customer_name" in out.columns else None
        fill = out["customer_id"].map(names)
        out["customer_name"] = fill if known is None else known.where(known.notna(), fill)
    if "credit_limit" not in out.columns:
        out["credit_limit"] = np.nan
    out["net_balance"] = (out["open_ar"] - out["credit_balance"] - out["unapplied_cash"]).round(2)
    out["over_limit"] = (out["open_ar"] > out["credit_limit"] + EPS).fillna(False).astype(bool)
    out["over_limit_by"] = np.where(out["over_limit"], out["open_ar"] - out["credit_limit"], 0.0)
    out["over_limit_by"] = out["over_limit_by"].round(2)
    return out
