"""The two baselines the model is measured against: each open amount on its due date, and on
the due date plus the customer's average days late."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from arinsight.forecast.base import DAY, OUTCOMES, WEEKS


def _week_of(dates: pd.Series, origin: pd.Timestamp | pd.Series) -> np.ndarray:
    """Outcome index of a pay date: 0 for week 1 (also dates <= origin), 13 beyond 13 weeks.
    ``origin``: one date, or one per row (aligned with ``dates``)."""
    days = ((dates - origin) / DAY).to_numpy(dtype=float)
    week = np.ceil(np.maximum(days, 1) / 7) - 1
    return np.clip(np.nan_to_num(week, nan=WEEKS), 0, WEEKS).astype(int)


def due_date_baseline(rows: pd.DataFrame) -> np.ndarray:
    """Each open amount paid on its due date (overdue ones in week 1): (n x 14) cash."""
    out = np.zeros((len(rows), OUTCOMES))
    if len(rows):
        week = _week_of(rows["due_date"], rows["origin"])
        out[np.arange(len(rows)), week] = rows["open_amount"].to_numpy()
    return out


def customer_delays(invoices: pd.DataFrame, payments: pd.DataFrame, origin: Any) -> pd.Series:
    """Each customer's average days late (paid date - due date, early payments negative) over
    its invoices fully paid by O; ``ALL`` holds the average over every such invoice."""
    from arinsight.risk import settlement

    origin_t = pd.Timestamp(origin)
    pay = payments.loc[payments["payment_date"] <= origin_t]
    s = settlement(invoices.loc[invoices["invoice_date"] <= origin_t], pay)
    s = s.loc[s["paid_date"].notna()]
    delay = (s["paid_date"] - s["due_date"]).dt.days.astype(float)
    out = delay.groupby(s["customer_id"]).mean()
    out["ALL"] = float(delay.mean()) if len(delay) else 0.0
    return out


def customer_delay_baseline(rows: pd.DataFrame, delays: pd.Series) -> np.ndarray:
    """Each open amount paid on due date + the customer's average delay (:func:`customer_delays`)."""
    d = rows["customer_id"].map(delays).fillna(delays.get("ALL", 0.0))
    return _paid_after_due(rows, d.to_numpy(dtype=float))


def _paid_after_due(rows: pd.DataFrame, delay_days: np.ndarray) -> np.ndarray:
    """Each open amount paid on due date + ``delay_days`` (rounded to days): (n x 14) cash."""
    out = np.zeros((len(rows), OUTCOMES))
    if len(rows):
        days = pd.to_timedelta(np.round(np.asarray(delay_days, dtype=float)), unit="D")
        dates = rows["due_date"] + pd.Series(days, index=rows.index)
        week = _week_of(dates, rows["origin"])
        out[np.arange(len(rows)), week] = rows["open_amount"].to_numpy()
    return out
