"""One region's forecast: its 13 weeks with their interval, its backtest errors against the
baselines, and what the Cash Forecast page and kpis.json show of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.forecast.base import DAY, OUTCOMES, WEEKS, ForecastError
from arinsight.forecast.baselines import due_date_baseline
from arinsight.forecast.compute import compute_cached


@dataclass
class Forecast:
    """A forecast at T: one row per week with expected, low and high, and the backtest."""

    as_of: pd.Timestamp
    weeks: pd.DataFrame  # week, week_start, week_end, expected, low, high, due_date_baseline
    backtest: pd.DataFrame  # origin, week, actual, model, due_date, customer_delay (one region)
    errors: pd.DataFrame  # week, mae_model, mae_due_date, mae_customer_delay, ...
    details: dict[str, Any] = field(default_factory=dict)
    #: None when there is a forecast; otherwise why not, in plain words (not enough history...).
    unavailable: str | None = None

    @property
    def available(self) -> bool:
        return self.unavailable is None

    def kpis(self) -> dict[str, Any]:
        """``cash_forecast`` for kpis.json: {week start (ISO date): {expected, low, high}}; None
        with the reason (``na_reasons``) when there is no forecast."""
        if not self.available:
            return {
                "cash_forecast": None,
                "na_reasons": {"cash_forecast": f"no cash forecast: {self.unavailable}"},
            }
        return {
            "cash_forecast": {
                r.week_start.strftime("%Y-%m-%d"): {
                    "expected": round(float(r.expected), 2),
                    "low": round(float(r.low), 2),
                    "high": round(float(r.high), 2),
                }
                for r in self.weeks.itertuples()
            }
        }


def _cols(prefix: str) -> list[str]:
    return [f"{prefix}_{k + 1}" for k in range(WEEKS)]


def backtest_by_origin(backtest: pd.DataFrame) -> pd.DataFrame:
    """Cash per origin and horizon week for the model, the actuals and both baselines (long)."""
    if backtest.empty:
        return pd.DataFrame(
            columns=["origin", "week", "actual", "model", "due_date", "customer_delay"]
        )
    sums = backtest.groupby("origin")[
        _cols("model") + _cols("actual") + _cols("due") + _cols("delay")
    ].sum()
    out = []
    for k in range(WEEKS):
        out.append(
            pd.DataFrame(
                {
                    "origin": sums.index,
                    "week": k + 1,
                    "actual": sums[f"actual_{k + 1}"].to_numpy(),
                    "model": sums[f"model_{k + 1}"].to_numpy(),
                    "due_date": sums[f"due_{k + 1}"].to_numpy(),
                    "customer_delay": sums[f"delay_{k + 1}"].to_numpy(),
                }
            )
        )
    out = pd.concat(out).sort_values(["origin", "week"]).reset_index(drop=True)
    money = ["actual", "model", "due_date", "customer_delay"]
    out[money] = out[money].round(2)
    return out


def error_table(by_origin: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute error per horizon week over the backtest origins, for the model and both
    baselines: ``mae_* = mean |forecast - actual|``; ``mean_actual``; ``model_vs_due_date`` =
    1 - mae_model / mae_due_date (the share of the due-date error the model removes)."""
    cols = ["week", "origins", "mean_actual", "mae_model", "mae_due_date", "mae_customer_delay"]
    if by_origin.empty:
        return pd.DataFrame(columns=[*cols, "model_vs_due_date"])
    err = by_origin.assign(
        m=(by_origin["model"] - by_origin["actual"]).abs(),
        d=(by_origin["due_date"] - by_origin["actual"]).abs(),
        c=(by_origin["customer_delay"] - by_origin["actual"]).abs(),
    )
    g = err.groupby("week").agg(
        origins=("origin", "size"),
        mean_actual=("actual", "mean"),
        mae_model=("m", "mean"),
        mae_due_date=("d", "mean"),
        mae_customer_delay=("c", "mean"),
    )
    g["model_vs_due_date"] = 1 - g["mae_model"] / g["mae_due_date"].where(g["mae_due_date"] > 0)
    return g.reset_index().round(4)


def _interval(
    expected: np.ndarray,
    var: np.ndarray,
    by_origin: pd.DataFrame,
    level: tuple[float, float],
    min_origins: int,
) -> tuple[np.ndarray, np.ndarray, str]:
    lo_q, hi_q = level
    if not by_origin.empty and by_origin["origin"].nunique() >= min_origins:
        ratio = by_origin.loc[by_origin["model"] > 0].assign(r=lambda d: d["actual"] / d["model"])
        q = ratio.groupby("week")["r"].quantile([lo_q, hi_q]).unstack()
        q = q.reindex(range(1, WEEKS + 1)).fillna(1.0)
        return expected * q[lo_q].to_numpy(), expected * q[hi_q].to_numpy(), "backtest"
    from statistics import NormalDist

    z = NormalDist().inv_cdf(hi_q)
    sd = np.sqrt(var)
    return np.maximum(expected - z * sd, 0), expected + z * sd, "model"


def region_forecast(
    result: Mapping[str, pd.DataFrame],
    customers: pd.DataFrame,
    region: str = "All",
    interval: tuple[float, float] = (0.1, 0.9),
    min_interval_origins: int = 6,
) -> Forecast:
    """The forecast of one region ("All" = every region) from :func:`compute`'s result.

    ``expected`` per week = sum over the region's open invoices of open amount x P(week);
    ``low``/``high`` see the module docstring (``details["interval_method"]`` says which applied).
    """
    if not 0 < interval[0] < interval[1] < 1:
        raise ForecastError(f"interval must be two quantiles 0 < low < high < 1, got {interval!r}")
    forecast, backtest, info = result["forecast"], result["backtest"], result["info"]
    if region not in (None, "", "All"):
        ids = set(customers.loc[customers["region"] == region, "customer_id"].astype(str))
        forecast = forecast.loc[forecast["customer_id"].astype(str).isin(ids)]
        if not backtest.empty:  # one row per origin and region (the customers' at compute)
            backtest = backtest.loc[backtest["region"] == region]
    T = pd.Timestamp(info["as_of"].iloc[0])
    amount = forecast["open_amount"].to_numpy()[:, None]
    p = forecast[[f"p_week_{k + 1}" for k in range(WEEKS)]].to_numpy()
    expected = (amount * p).sum(axis=0)
    var = (amount**2 * p * (1 - p)).sum(axis=0)
    by_origin = backtest_by_origin(backtest)
    low, high, method = _interval(expected, var, by_origin, interval, min_interval_origins)
    starts = [T + DAY + pd.Timedelta(days=7 * k) for k in range(WEEKS)]
    weeks = pd.DataFrame(
        {
            "week": np.arange(1, WEEKS + 1),
            "week_start": starts,
            "week_end": [s + pd.Timedelta(days=6) for s in starts],
            "expected": np.round(expected, 2),
            "low": np.round(np.minimum(low, expected), 2),
            "high": np.round(np.maximum(high, expected), 2),
        }
    )
    base = (
        due_date_baseline(forecast.assign(origin=T)) if len(forecast) else np.zeros((0, OUTCOMES))
    )
    weeks["due_date_baseline"] = np.round(base[:, :WEEKS].sum(axis=0), 2)
    details = {
        "open_invoices": int(len(forecast)),
        "open_amount": round(float(forecast["open_amount"].sum()), 2),
        "expected_13_weeks": round(float(expected.sum()), 2),
        "interval_method": method,
        "interval": list(interval),
        **{
            k: (v.isoformat() if isinstance(v, pd.Timestamp) else v)
            for k, v in info.iloc[0].to_dict().items()
            if k != "as_of"
        },
    }
    return Forecast(T, weeks, by_origin, error_table(by_origin), details)


def forecast_table(fc: Forecast, currency: str = "USD") -> pd.DataFrame:
    """The weeks for the page: week, dates, expected, the interval and the due-date baseline."""
    if not fc.available:
        return pd.DataFrame({"Cash forecast": [f"not available: {fc.unavailable}"]})
    t = fc.weeks.copy()
    t["week_start"] = t["week_start"].dt.strftime("%Y-%m-%d")
    t["week_end"] = t["week_end"].dt.strftime("%Y-%m-%d")
    lo, hi = (int(round(q * 100)) for q in fc.details["interval"])
    return t.rename(
        columns={
            "week": "Week",
            "week_start": "From",
            "week_end": "To",
            "expected": f"Expected ({currency})",
            "low": f"Low, {lo} % ({currency})",
            "high": f"High, {hi} % ({currency})",
            "due_date_baseline": f"If paid on due date ({currency})",
        }
    )


def error_summary_table(fc: Forecast, currency: str = "USD") -> pd.DataFrame:
    """The backtest's error per horizon week for the page (money, and the model's gain)."""
    e = fc.errors
    if e.empty:
        why = fc.unavailable or "no month end with 13 known weeks and enough history before it"
        return pd.DataFrame({"Backtest": [f"not available: {why}"]})
    return pd.DataFrame(
        {
            "Week ahead": e["week"],
            "Month ends": e["origins"],
            f"Average cash ({currency})": e["mean_actual"].round(0),
            f"Error: model ({currency})": e["mae_model"].round(0),
            f"Error: due date ({currency})": e["mae_due_date"].round(0),
            f"Error: customer delay ({currency})": e["mae_customer_delay"].round(0),
            "Model vs due date": (e["model_vs_due_date"] * 100).round(1).astype(str) + " % smaller",
        }
    )


def run_forecast(
    tables: Any,
    as_of: Any,
    region: str = "All",
    cache_dir: str | Path | None = None,
    interval: tuple[float, float] = (0.1, 0.9),
    **params: Any,
) -> Forecast:
    """The page's forecast: :func:`compute_cached` then :func:`region_forecast`. When the data
    cannot give one (no open invoice, too little history) the forecast is *unavailable* with the
    reason, so the page says why instead of failing; any other error is raised."""
    from arinsight.engine.session import model_source

    T = pd.Timestamp(as_of).normalize()
    empty = pd.DataFrame(columns=["week", "week_start", "week_end", "expected", "low", "high"])
    try:
        result = compute_cached(tables, T, cache_dir, **params)
    except ForecastError as exc:
        return Forecast(T, empty, pd.DataFrame(), error_table(pd.DataFrame()), {}, str(exc))
    fc = region_forecast(result, model_source(tables)[1], region, interval)
    if fc.details["open_invoices"] == 0:
        fc.unavailable = f"no invoice of region {region} is open at {T:%Y-%m-%d}"
    return fc


def write_outputs(fc: Forecast, output_dir: str | Path) -> dict[str, Path]:
    """``kpis_forecast.json`` (cash_forecast) and ``cash_forecast.csv`` (the weeks) in ``output_dir``."""
    from arinsight.files import write_csv, write_json

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not fc.available:
        return {"kpis": write_json(out / "kpis_forecast.json", fc.kpis())}
    weeks = fc.weeks.assign(
        week_start=fc.weeks["week_start"].dt.strftime("%Y-%m-%d"),
        week_end=fc.weeks["week_end"].dt.strftime("%Y-%m-%d"),
    )
    return {
        "kpis": write_json(out / "kpis_forecast.json", fc.kpis()),
        "weeks": write_csv(weeks, out / "cash_forecast.csv"),
    }


def summary_text(fc: Forecast, currency: str = "USD") -> str:
    """Two sentences for the page: what is expected and how much better than the due dates."""
    if not fc.available:
        return f"No cash forecast for this page: {fc.unavailable}."
    d = fc.details
    e = fc.errors
    text = (
        f"Of {currency} {d['open_amount']:,.2f} open at {fc.as_of:%Y-%m-%d} "
        f"({d['open_invoices']:,} invoices), {currency} {d['expected_13_weeks']:,.2f} is expected "
        f"within 13 weeks."
    )
    if len(e) and e["mae_due_date"].sum() > 0:
        gain = 1 - e["mae_model"].sum() / e["mae_due_date"].sum()
        worst = e["model_vs_due_date"].min()
        text += (
            f" In the backtest ({int(e['origins'].max())} month ends) the model's weekly error is "
            f"{gain:.0%} smaller than 'paid on the due date' over the 13 weeks "
            f"(at least {worst:.0%} smaller in every week)."
            if worst > 0
            else f" In the backtest the model's weekly error is {gain:.0%} smaller than 'paid on "
            f"the due date' over the 13 weeks, but not in every week (worst week {worst:.0%})."
        )
    return text
