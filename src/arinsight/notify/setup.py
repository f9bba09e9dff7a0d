"""What the notify commands share: their error, the params sections they read, the invoice
positions at T and the risk scores of a period, and small value helpers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import ParamsError, UserError
from arinsight.files import safe_slug
from arinsight.ledger import ALL_REGIONS, Period

POSITION_COLUMNS = ("invoice_id", "customer_id", "due_date", "open_amount", "days_past_due")


class NotifyError(UserError):
    """Mail cannot be composed or sent (bad SMTP settings, server unreachable, login refused)."""


def positions_at(processed_dir: str | Path | None, p: Period, params: Mapping[str, Any]):
    """The invoice positions at T of period ``p``: the engine's kept results of the run (the
    same call computes and keeps them when the period was not run; see
    :func:`arinsight.engine.period.period_results`)."""
    from arinsight.engine.period import period_results

    as_of = p.end if p.is_snapshot else None
    return period_results(processed_dir, p.label, as_of, params).positions()


def read_risk_scores(reports: Path, period: str, region: str = ALL_REGIONS) -> pd.DataFrame | None:
    from arinsight.config import region_dir

    path = reports / period / region_dir(region) / "risk_scores.parquet"
    return pd.read_parquet(path) if path.exists() else None


def overdue_positions(positions: pd.DataFrame) -> pd.DataFrame:
    dpd = pd.to_numeric(positions["days_past_due"], errors="coerce")
    amount = pd.to_numeric(positions["open_amount"], errors="coerce")
    mask = ((amount > 0) & (dpd >= 1)).to_numpy()
    out = positions.loc[mask].copy()
    out["days_past_due"] = dpd[mask].to_numpy().astype("int64")
    out["open_amount"] = amount[mask].to_numpy().astype(float)
    out["customer_id"] = out["customer_id"].astype(str)
    return out


def customer_lookup(customers: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"customer_id": customers["customer_id"].astype(str)})
    for col in ("customer_name", "contact_email"):
        out[col] = customers[col].astype(object) if col in customers.columns else None
    return out.drop_duplicates("customer_id")


def params_section(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name) or {}
    if not isinstance(value, Mapping):
        raise ParamsError(f"params '{name}' must be a mapping, got {type(value).__name__}")
    return dict(value)


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ParamsError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParamsError(f"{name}: missing column(s) {', '.join(missing)}")


def count_text(value: Any) -> str:
    return "n/a" if is_missing(value) else f"{int(value):,}"


def date_text(value: Any) -> str:
    return "" if is_missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def safe_name(text: str) -> str:
    """A file name from data: :func:`arinsight.files.safe_slug` (bounded, never shared)."""
    return safe_slug(text)


def as_text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
