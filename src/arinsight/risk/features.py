"""Features: what the ledger showed about an invoice and its customer at the close of the day before it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arinsight.ledger import lookup, positions
from arinsight.risk.base import BASELINE, CATEGORICAL, FEATURES, RiskModelError
from arinsight.risk.labels import check_columns, engine_settlement


def invoice_features(
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    customers: pd.DataFrame,
    late_days: int = 30,
) -> pd.DataFrame:
    """Features of every invoice from what the ledger showed at the close of the day before it.

    For an invoice of customer c dated d (``L`` = ``late_days``; S = paid date, :func:`settlement`):

    * ``amount``, ``terms_days = due_date - invoice_date``, ``energy_kwh``, ``month`` (1-12), and
      c's ``industry``, ``region``, ``customer_type``, ``credit_limit`` (master data);
    * ``prior_invoices`` = c's invoices dated before d;
    * ``prior_known`` = c's invoices whose outcome was known before d (resolution date K < d);
      ``prior_late_rate`` = late ones / ``prior_known`` (NaN when none);
    * ``prior_mean_days_late`` = mean of ``max(0, S - D)`` over c's invoices paid before d (NaN when none);
    * ``open_balance`` = c's invoiced amounts dated before d minus what c's payments dated before d
      took off them (each invoice's reductions capped at its amount; unapplied cash not netted),
      floored at 0;
    * ``overdue_balance`` = the part of ``open_balance`` already past due at the close of d - 1
      (invoices with D < d - 1);
    * ``credit_limit_use = open_balance / credit_limit`` (NaN when the limit is missing or 0);
    * ``days_since_last_late`` = d - the latest K of a late invoice of c with K < d (NaN when none);
    * ``last_late`` (the baseline rule, not a model feature): 1 if the invoice of c resolved most
      recently before d was late, 0 if not, NaN if none (ties on a day: late if any was late).

    The customer's history (every sum over c's dated events before d) is the engine's
    :func:`arinsight.engine.history.customer_history`; the rates, means and master data are
    read from it here. Returns one row per invoice in input order (and with the input's index)
    with ``invoice_id, customer_id, invoice_date, due_date`` + :data:`FEATURES` + ``last_late``.
    """
    if late_days is None or int(late_days) < 0:
        raise RiskModelError(f"late_days must be a non-negative number of days, got {late_days!r}")
    check_columns(customers, "customers", ["customer_id"])
    if len(invoices) and invoices["invoice_id"].duplicated().any():
        raise RiskModelError("invoices: invoice_id is not unique (run 02_clean first)")
    settled, history = engine_settlement(invoices, payments, late_days=int(late_days))
    out = features_of(settled, history, invoices, customers)
    out.index = invoices.index
    return out


def features_of(
    settled: pd.DataFrame,
    history: pd.DataFrame,
    invoices: pd.DataFrame,
    customers: pd.DataFrame,
) -> pd.DataFrame:
    """:func:`invoice_features` from the engine's ``settlement`` and ``customer_history``
    (:func:`arinsight.engine.run.history_frames`), aligned with ``invoices`` (row i of each is
    the same invoice; their ``amount`` and ``energy_kwh`` are taken as given), for a caller that
    asks the engine for more in the same query. RangeIndex."""
    inv = settled
    cust_table = customers.drop_duplicates("customer_id").set_index("customer_id")
    at = positions(inv["customer_id"], cust_table.index, unique=True)
    out = inv[["invoice_id", "customer_id", "invoice_date", "due_date"]].copy()
    out["amount"] = invoices["amount"].astype(float).to_numpy()
    out["terms_days"] = (inv["due_date"] - inv["invoice_date"]).dt.days.astype(float)
    energy = invoices.get("energy_kwh")
    out["energy_kwh"] = np.nan if energy is None else energy.astype(float).to_numpy()
    out["month"] = inv["invoice_date"].dt.month.astype(float)
    for col in CATEGORICAL:
        values = (
            lookup(inv["customer_id"], cust_table[col], at)
            if col in cust_table
            else pd.Series(np.nan, index=inv.index)
        )
        out[col] = values.astype("object").where(values.notna(), "Unknown").astype(str)
    limit = (
        lookup(inv["customer_id"], cust_table["credit_limit"], at).astype(float)
        if "credit_limit" in cust_table
        else pd.Series(np.nan, index=inv.index)
    )
    out["credit_limit"] = limit
    n_known = history["prior_known"].to_numpy(dtype=float)
    n_paid = history["prior_paid"].to_numpy(dtype=float)
    out["prior_invoices"] = history["prior_invoices"].astype(float).to_numpy()
    out["prior_known"] = n_known
    with np.errstate(invalid="ignore", divide="ignore"):
        out["prior_late_rate"] = np.where(n_known > 0, history["prior_late"] / n_known, np.nan)
        out["prior_mean_days_late"] = np.where(
            n_paid > 0, history["prior_days_late"] / n_paid, np.nan
        )
    out["open_balance"] = history["open_balance"].to_numpy()
    out["overdue_balance"] = history["overdue_balance"].to_numpy()
    out["credit_limit_use"] = (out["open_balance"] / limit).where(limit > 0)
    day = inv["invoice_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    out["days_since_last_late"] = (day - history["last_late_day"]).astype(float).to_numpy()
    last = history["last_resolved_late"]
    out[BASELINE] = last.astype(float).to_numpy() if len(last) else np.zeros(0)
    return out[["invoice_id", "customer_id", "invoice_date", "due_date"] + FEATURES + [BASELINE]]
