"""The whole computation, every region at once: the backtest at past month ends and the
forecast at T, cached per dataset, period and parameters."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.files import hash_tables
from arinsight.forecast.base import DELAY_EDGES, NEVER, OUTCOMES, WEEKS, ForecastError
from arinsight.forecast.model import (
    feature_columns,
    fit,
    predict_bins,
    training_arrays,
    week_probabilities,
)
from arinsight.forecast.rows import epoch_days, positions_in
from arinsight.forecast.sampling import (
    DEFAULT_BACKTEST_SAMPLE,
    DEFAULT_MAX_TRAIN_ROWS,
    hash_ids,
    inclusion,
    training_sample,
    uniform,
)


def month_ends(first: Any, last: Any) -> list[pd.Timestamp]:
    """Month ends from the month of ``first`` to ``last`` inclusive."""
    return list(pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="ME"))


#: Month ends in the backtest (the most recent ones with enough history).
DEFAULT_BACKTEST_ORIGINS = 12


def _predict_cash(model, rows: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
    """P(week) x open amount for open invoices (``rows``, features ``X``): (n x 14) cash."""
    p = week_probabilities(predict_bins(model, X), rows)
    return p * rows["open_amount"].to_numpy()[:, None]


def _region_codes(
    cust: np.ndarray, customer_ids: pd.Series, customers: pd.DataFrame
) -> tuple[np.ndarray, list]:
    """Each invoice's region (its customer code ``cust``; ``customer_ids``: the id of each code)
    as a code into the returned names, in the order of the customers table (the last name,
    None: no region)."""
    cust_table = customers.drop_duplicates("customer_id")
    names, codes = [], np.full(len(cust_table), -1, dtype=np.int64)
    if "region" in cust_table.columns:
        region = cust_table["region"].astype(object).where(cust_table["region"].notna(), None)
        codes, uniques = pd.factorize(region.to_numpy(dtype=object), use_na_sentinel=True)
        names = [str(u) for u in uniques]
    n_codes = int(customer_ids.index.max()) + 1 if len(customer_ids) else 0
    ids = pd.Series(pd.NA, index=range(n_codes), dtype=object)
    ids[customer_ids.index] = customer_ids.astype(str).to_numpy()
    pos = positions_in(ids.astype(str), cust_table["customer_id"].astype(str))
    by_code = np.r_[np.asarray(codes, dtype=np.int64), -1][pos]  # position -1: unknown customer
    out = np.r_[by_code, -1][np.where(cust >= 0, cust, n_codes)]  # -1 code: no customer
    return np.where(out >= 0, out, len(names)), [*names, None]


def _week_index(days: np.ndarray) -> np.ndarray:
    """Outcome index of a pay date ``days`` after the origin (:func:`_week_of`)."""
    week = np.ceil(np.maximum(np.asarray(days, dtype=float), 1) / 7) - 1
    return np.clip(np.nan_to_num(week, nan=WEEKS), 0, WEEKS).astype(int)


def _dates(days: np.ndarray) -> np.ndarray:
    """Days since 1970 as ``datetime64[ns]``."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def _state(origin_day: int, due_day: np.ndarray, invoice_day: np.ndarray) -> pd.DataFrame:
    """What :func:`week_probabilities` reads of open rows at one origin."""
    return pd.DataFrame(
        {
            "origin": _dates(np.full(len(due_day), origin_day)),
            "due_date": _dates(due_day),
            "invoice_date": _dates(invoice_day),
        }
    )


def compute(
    tables: Any,
    as_of: Any,
    *,
    late_days: int = 30,
    random_seed: int = 42,
    min_train_invoices: int = 200,
    backtest_origins: int | None = None,
    max_train_rows: int | None = DEFAULT_MAX_TRAIN_ROWS,
    backtest_sample_rows: int | None = DEFAULT_BACKTEST_SAMPLE,
) -> dict[str, pd.DataFrame]:
    """The forecast at T and its backtest for every open invoice (all regions at once).

    ``tables``: a folder of processed parquet files (a path or
    :class:`arinsight.ledger.FolderTables`: the engine reads the files, and only the rows the
    models learn from or score come into pandas) or a mapping of pandas frames (invoices,
    payments, customers).

    The model at a date C is trained on the invoices due by C - 365 days (their payments up to a
    year after the due date are known at C): a :func:`training_sample` of at most
    ``max_train_rows`` of their payment rows, stratified by delay bin and due month, seeded by
    ``random_seed`` (None: every row). The backtest origins are the ``backtest_origins`` most
    recent month ends O (default :data:`DEFAULT_BACKTEST_ORIGINS`; None or 0 = the default) with
    O + 91 days <= T and at least ``min_train_invoices`` training rows, each forecast by the
    model of C = O. At each origin the actual cash and both baselines are summed over every
    open invoice; the model's cash over a sample of ``backtest_sample_rows`` of them drawn with
    probability proportional to the open amount (:func:`inclusion`; None: every one), each
    weighted by 1 / its probability. So the work per model and per origin is bounded, whatever
    the length of the history; only the invoices open at T and the engine's as-of queries grow
    with the ledger. Per invoice of the history this holds a few numbers (codes, days, amounts:
    :mod:`arinsight.engine.session`), never its ids or features.

    Returns ``forecast`` (one row per invoice open at T: invoice_id, customer_id, due_date,
    open_amount, p_week_1..13, p_later), ``backtest`` (one row per origin and customer region:
    origin, region, open_invoices, sampled and the cash per week of the model, the actual
    payments and the two baselines: ``model_1..13``, ``actual_1..13``, ``due_1..13``,
    ``delay_1..13``) and ``info`` (training rows, the bounds). Raises :class:`ForecastError`
    without enough history.
    """
    from arinsight.engine.session import NO_DAY, history_session, model_source
    from arinsight.risk import features_of

    T = pd.Timestamp(as_of).normalize()
    if late_days is None or int(late_days) < 0:
        raise ForecastError(f"late_days must be a non-negative number of days, got {late_days!r}")
    n_origins = int(backtest_origins) if backtest_origins else DEFAULT_BACKTEST_ORIGINS
    source, customers = model_source(tables)
    t_day = int(epoch_days(np.datetime64(T, "ns")))
    horizon = int(DELAY_EDGES[-1])
    with history_session(source, T, late_days=int(late_days)) as s:
        summary = s.summary()
        if summary["invoices"] == 0:
            raise ForecastError(f"no invoices issued by {T:%Y-%m-%d}: nothing to forecast")
        if summary["distinct_ids"] != summary["invoices"]:
            raise ForecastError("invoices: invoice_id is not unique (run 02_clean first)")
        candidates = month_ends(summary["first_invoice_date"], T - pd.Timedelta(days=7 * WEEKS))
        inv = s.invoices()  # row i = invoice code i (by invoice id)
        due_day = inv["due_day"].to_numpy(np.int64)
        amount = inv["amount"].to_numpy(float)
        ids = s.invoice_ids()  # an Arrow array: hashed in chunks, taken by code at the end
        base = hash_ids(ids, random_seed)
        ap = s.applied()
        # every training row of T, once: an earlier cut-off C only keeps those due by C - 365
        t_code, y, w = training_arrays(
            due_day, amount, ap["code"].to_numpy(), ap["day"].to_numpy(np.int64),
            ap["applied"].to_numpy(float), t_day,
        )  # fmt: skip
        del ap
        t_last = due_day[t_code] + horizon  # the first cut-off that may use the row
        t_month = _dates(due_day[t_code]).astype("datetime64[M]").astype(np.int64)
        t_strata = t_month * (NEVER + 1) + y
        t_keys = uniform(base[t_code], y)
        by_stratum = np.lexsort((t_keys, t_strata))  # once, so each sample needs no sort
        t_code, y, w, t_last = t_code[by_stratum], y[by_stratum], w[by_stratum], t_last[by_stratum]
        t_strata, t_keys = t_strata[by_stratum], t_keys[by_stratum]

        def sample_at(cutoff_day: int) -> tuple[np.ndarray, np.ndarray, int]:
            """The training rows of the model at ``cutoff_day``: positions, weight factors,
            rows available."""
            avail = np.flatnonzero(t_last <= cutoff_day)
            kept, factor = training_sample(t_strata[avail], t_keys[avail], max_train_rows)
            return avail[kept], factor, len(avail)

        cand_days = epoch_days(np.array(candidates, dtype="datetime64[ns]"))
        enough = np.searchsorted(np.sort(t_last), cand_days, side="right") >= min_train_invoices
        origins = [o for o, ok in zip(candidates, enough, strict=True) if ok][-n_origins:]
        opened = s.open_rows([*candidates[-n_origins:], T])
        collected = s.collected()
        o_day = opened["origin_day"].to_numpy(np.int64)
        o_code = opened["code"].to_numpy(np.int64)
        o_open = opened["open_amount"].to_numpy(float)
        del opened
        # what each model learns from and predicts, decided before any feature is read
        fits = {t_day: sample_at(t_day)}
        at_t = np.flatnonzero(o_day == t_day)
        plans = []
        for origin_t in origins:
            day = int(epoch_days(np.datetime64(origin_t, "ns")))
            fits[day] = sample_at(day)
            rows = np.flatnonzero(o_day == day)
            pi = inclusion(o_open[rows], backtest_sample_rows)
            take = np.flatnonzero(uniform(base[o_code[rows]], day) < pi)
            plans.append((origin_t, day, rows, pi, take))
        wanted = [o_code[at_t], *(t_code[f[0]] for f in fits.values())]
        wanted += [o_code[rows[take]] for _, _, rows, _, take in plans]
        needed = np.unique(np.concatenate(wanted))
        details = s.rows(needed)
        customer_ids = s.customer_ids()
        invoice_ids = ids.take(o_code[at_t]).to_pandas()
        del ids
    feats = features_of(details, details, details, customers)
    numeric, categorical = feature_columns(feats)
    cols = numeric + categorical
    feats = feats[cols]
    del details

    def features(codes: np.ndarray) -> pd.DataFrame:
        return feats.iloc[np.searchsorted(needed, codes)].reset_index(drop=True)

    def fit_at(day: int):
        rows, factor, n_avail = fits[day]
        X = features(t_code[rows])
        model, n = fit(X, y[rows], w[rows] * factor, numeric, categorical, random_seed)
        return model, n, n_avail

    model, n_train, n_avail = fit_at(t_day)
    if model is None or n_train < min_train_invoices:
        raise ForecastError(
            f"{n_train} payment outcome(s) of invoices due more than {horizon} days before "
            f"{T:%Y-%m-%d}; at least {min_train_invoices} needed to learn payment timing"
        )
    code_t = o_code[at_t]
    inv_day = inv["invoice_day"].to_numpy(np.int64)
    p = week_probabilities(
        predict_bins(model, features(code_t)), _state(t_day, due_day[code_t], inv_day[code_t])
    )
    cust = inv["cust"].to_numpy(np.int64)
    forecast = pd.DataFrame(
        {
            "invoice_id": invoice_ids.to_numpy(dtype=object),
            "customer_id": customer_ids.reindex(cust[code_t]).to_numpy(dtype=object),
            "due_date": _dates(due_day[code_t]),
            "open_amount": o_open[at_t],
        }
    )
    for k in range(WEEKS):
        forecast[f"p_week_{k + 1}"] = p[:, k]
    forecast["p_later"] = p[:, WEEKS]

    # the backtest: the most recent month ends with 13 known weeks and enough history
    region, names = _region_codes(cust, customer_ids, customers)
    paid_day = inv["paid_day"].to_numpy(np.int64)
    has_paid = paid_day != NO_DAY  # the engine's paid date at T: "paid by O" = paid date <= O
    delay = np.where(has_paid, paid_day - due_day, 0).astype(float)
    n_cust = int(cust.max()) + 2 if len(cust) else 1
    cust = np.where(cust >= 0, cust, n_cust - 1)  # no customer: never has its own average
    c_day = collected["origin_day"].to_numpy(np.int64)
    c_code = collected["code"].to_numpy(np.int64)
    c_week = collected["week"].to_numpy(np.int64)
    c_cash = collected["collected"].to_numpy(float)
    parts = []
    for origin_t, day, rows, pi, take in plans:
        m, n, _ = fit_at(day)
        if m is None or n < min_train_invoices or len(rows) == 0:
            continue
        code, open_ = o_code[rows], o_open[rows]
        # each customer's average delay over its invoices paid by O (ALL: over every one)
        known = has_paid & (paid_day <= day) & (inv_day <= day) & (cust < n_cust - 1)
        sums = np.bincount(cust[known], weights=delay[known], minlength=n_cust)
        counts = np.bincount(cust[known], minlength=n_cust)
        everyone = float(delay[known].mean()) if known.any() else 0.0
        c = cust[code]
        d = np.where(counts[c] > 0, sums[c] / np.maximum(counts[c], 1), everyone)
        model_cash = np.zeros((len(rows), OUTCOMES))
        state = _state(day, due_day[code[take]], inv_day[code[take]])
        p_take = week_probabilities(predict_bins(m, features(code[take])), state)
        model_cash[take] = p_take * (open_[take] / pi[take])[:, None]
        g = region[code]
        actual = np.zeros((len(rows), WEEKS))
        sel = np.flatnonzero(c_day == day)
        at = np.searchsorted(code, c_code[sel])  # the open rows of O are ordered by code
        np.add.at(actual, (at, c_week[sel] - 1), c_cash[sel])
        week_of = {
            "due": _week_index(due_day[code] - day),
            "delay": _week_index(due_day[code] + np.round(d) - day),
        }
        present = np.flatnonzero(np.bincount(g, minlength=len(names)))
        frame = pd.DataFrame(
            {
                "origin": origin_t,
                "region": [names[i] for i in present],
                "open_invoices": np.bincount(g, minlength=len(names))[present],
                "sampled": np.bincount(g[take], minlength=len(names))[present],
            }
        )
        for name in ("model", "actual", "due", "delay"):
            for k in range(WEEKS):
                if name == "model":
                    weights = model_cash[:, k]
                elif name == "actual":
                    weights = actual[:, k]
                else:
                    weights = np.where(week_of[name] == k, open_, 0.0)
                sums_k = np.bincount(g, weights=weights, minlength=len(names))[present]
                frame[f"{name}_{k + 1}"] = np.round(sums_k, 2)
        parts.append(frame)
    backtest = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    info = pd.DataFrame(
        [
            {
                "as_of": T,
                "train_rows": n_train,
                "train_rows_available": n_avail,
                "max_train_rows": int(max_train_rows or 0),
                "backtest_origins": len(parts),
                "backtest_sample_rows": int(backtest_sample_rows or 0),
            }
        ]
    )
    return {"forecast": forecast, "backtest": backtest, "info": info}


#: The layout of :func:`compute`'s result; a new one makes older cached results unreachable.
_CACHE_FORMAT = 3


def cache_key(tables: Any, as_of: Any, params: Mapping[str, Any]) -> str:
    """sha256 of the period, the parameters, the package version and the content of the tables
    the forecast reads (:func:`arinsight.files.hash_tables`: the files' bytes of a folder, every
    column of frames): invoices, payments, customers and the adjustments (a written-off invoice
    is not open)."""
    from arinsight import __version__

    h = hashlib.sha256()
    h.update(
        json.dumps({"as_of": str(pd.Timestamp(as_of).date()), **params}, sort_keys=True).encode()
    )
    h.update(__version__.encode())
    h.update(f"forecast-result-{_CACHE_FORMAT}".encode())
    hash_tables(h, tables, ("invoices", "payments", "customers", "adjustments"))
    return h.hexdigest()[:24]


def compute_cached(
    tables: Any,
    as_of: Any,
    cache_dir: str | Path | None = None,
    **params: Any,
) -> dict[str, pd.DataFrame]:
    """:func:`compute` once per dataset, T and parameters: the region runs of a period share it.

    With ``cache_dir`` the result is stored in ``<cache_dir>/<key>/`` (parquet) under a file lock,
    so parallel runs of the same period wait for the first one and then read its result.
    """
    if cache_dir is None:
        return compute(tables, as_of, **params)
    from arinsight.files import file_lock

    folder = Path(cache_dir) / cache_key(tables, as_of, params)
    names = ("forecast", "backtest", "info")
    with file_lock(folder.parent / f".{folder.name}.lock"):
        if all((folder / f"{n}.parquet").exists() for n in names):
            return {n: pd.read_parquet(folder / f"{n}.parquet") for n in names}
        result = compute(tables, as_of, **params)
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        for n in names:
            result[n].to_parquet(tmp / f"{n}.parquet", index=False)
        os.replace(tmp, folder) if not folder.exists() else None
        return result
