"""Disputes and promises to pay: disputed AR, days deductions outstanding, resolution, kept promises.

Collections teams track two kinds of case beside the ledger (docs/disputes.md):

- a **dispute** (``disputes`` table) holds back all or part of an invoice: a reason code, the
  date it was opened and, once resolved, the date and outcome (``credit_note``: the customer
  was right; ``written_off``; ``paid``). A short payment the customer explains is a dispute too
  (a *deduction*);
- a **promise to pay** (``promises`` table): a customer's word to pay an amount by a date,
  logged on a call, an e-mail or a portal, for one invoice or for its account.
- a **deduction** found by cash application (``deductions.csv`` of ``arinsight match``): what
  a bank line left open on an invoice it paid short, with a reason for a person to assign.

The figures, at T and over the period P (start .. T):

- ``disputed_ar`` = sum of the amounts of the disputes open at T (opened <= T and not resolved
  by T);
- ``deductions_outstanding`` = sum over the deductions opened <= T, not resolved by T and
  whose invoice has no dispute open at T (it is counted in disputed AR then) of ``min(amount
  short, what is still open on the invoice at T)`` (the engine's positions: a deduction paid,
  credited or written off since is settled);
- ``days_deductions_outstanding`` (DDO) = (disputed AR + deductions outstanding) / credit
  sales of P x days of P (DSO's formula on the part of AR held back by disputes and short
  payments);
- days to resolve = resolved_date - opened_date, per reason, over the disputes resolved in the
  ``window_months`` months up to T;
- ``disputes_customer_favour_share`` = disputed amount resolved by a credit note or a write-off
  (the customer did not pay it) / disputed amount resolved, same window, in %;
- a promise is **due** once ``promised_date + grace_days < T`` or it is kept; it is **kept**
  when the customer's payments dated from the day it was made (without a date: 30 days before
  the promised date) to ``promised_date + grace_days`` add up to its amount (to the invoice it
  names, else any of the customer's); ``promises_kept_rate`` = kept / due, by count, over the
  promises whose promised date falls in the window; a due promise not kept is **broken**.

Payments and dates are read as the ledger has them (no open balance is computed here: the query
engine stays the one place for positions; the deductions read its kept positions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from arinsight.kpis import DISPUTE_KEYS, na_reasons

#: Outcomes that leave the disputed amount unpaid: resolved in the customer's favour.
CUSTOMER_FAVOUR = ("credit_note", "written_off")
#: Days before the promised date a promise without a logged date counts payments from.
UNDATED_PROMISE_DAYS = 30


def _window_start(as_of: pd.Timestamp, months: int) -> pd.Timestamp:
    """The first day of the ``months`` calendar months that end with T's month."""
    return (as_of.to_period("M") - (int(months) - 1)).start_time


def open_disputes(disputes: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """The disputes open at the end of day T (opened <= T, not resolved by T), oldest first,
    with ``age_days`` = T - opened_date."""
    t = pd.Timestamp(as_of).normalize()
    d = disputes
    is_open = (d["opened_date"] <= t) & (d["resolved_date"].isna() | (d["resolved_date"] > t))
    out = d.loc[is_open].copy()
    out["age_days"] = (t - out["opened_date"]).dt.days.astype("int64")
    return out.sort_values(["age_days", "dispute_id"], ascending=[False, True]).reset_index(
        drop=True
    )


def resolved_in(disputes: pd.DataFrame, as_of: Any, months: int = 12) -> pd.DataFrame:
    """The disputes resolved in the ``months`` calendar months up to T, with ``days_to_resolve``."""
    t = pd.Timestamp(as_of).normalize()
    d = disputes
    r = d[(d["resolved_date"] >= _window_start(t, months)) & (d["resolved_date"] <= t)].copy()
    r["days_to_resolve"] = (r["resolved_date"] - r["opened_date"]).dt.days.astype("int64")
    return r


def resolution_by_reason(disputes: pd.DataFrame, as_of: Any, months: int = 12) -> pd.DataFrame:
    """Per reason code (and "All"), over the disputes resolved in the window: count, amount,
    mean and median days to resolve, and the share of the amount resolved in the customer's
    favour (credit note or write-off) in %."""
    r = resolved_in(disputes, as_of, months)
    cols = ["reason", "resolved", "amount", "mean_days", "median_days", "customer_favour_pct"]
    if r.empty:
        return pd.DataFrame({c: [] for c in cols})
    r = r.assign(
        reason=r["reason"].fillna("(none)"),
        favour=np.where(r["outcome"].isin(CUSTOMER_FAVOUR), r["amount"], 0.0),
    )

    def summary(g: pd.DataFrame, name: str) -> dict[str, Any]:
        return {
            "reason": name,
            "resolved": len(g),
            "amount": round(float(g["amount"].sum()), 2),
            "mean_days": round(float(g["days_to_resolve"].mean()), 1),
            "median_days": float(g["days_to_resolve"].median()),
            "customer_favour_pct": round(100.0 * g["favour"].sum() / g["amount"].sum(), 2),
        }

    rows = [summary(g, str(name)) for name, g in r.groupby("reason", sort=True)]
    rows.append(summary(r, "All"))
    return pd.DataFrame(rows, columns=cols)


def evaluate_promises(
    promises: pd.DataFrame, payments: pd.DataFrame, as_of: Any, grace_days: int = 3
) -> pd.DataFrame:
    """Every promise made by T with its ``paid`` (the payments counted for it, dated up to T)
    and ``status``: "kept" (paid >= amount), "broken" (not kept and ``promised_date +
    grace_days < T``) or "pending" (not kept, still in time). See the module docstring."""
    t = pd.Timestamp(as_of).normalize()
    made = promises["made_date"].fillna(
        promises["promised_date"] - pd.Timedelta(days=UNDATED_PROMISE_DAYS)
    )
    p = promises[made <= t].assign(
        _from=made[made <= t],
        _to=lambda f: f["promised_date"] + pd.Timedelta(days=int(grace_days)),
    )
    p = p.reset_index(drop=True)
    pay = payments[payments["payment_date"] <= t][
        ["invoice_id", "customer_id", "payment_date", "amount"]
    ]
    by_invoice = (
        p[p["invoice_id"].notna()]
        .reset_index()
        .merge(pay.rename(columns={"amount": "paid"}).drop(columns="customer_id"), on="invoice_id")
    )
    by_account = (
        p[p["invoice_id"].isna()]
        .reset_index()
        .merge(pay.rename(columns={"amount": "paid"}).drop(columns="invoice_id"), on="customer_id")
    )
    j = pd.concat([by_invoice, by_account], ignore_index=True)
    j = j[(j["payment_date"] >= j["_from"]) & (j["payment_date"] <= j["_to"])]
    p["paid"] = j.groupby("index")["paid"].sum().reindex(p.index).fillna(0.0).round(2)
    kept = p["paid"] >= p["amount"] - 0.005
    late = p["_to"] < t
    p["status"] = np.where(kept, "kept", np.where(late, "broken", "pending"))
    return p.drop(columns=["_from", "_to"])


def promise_rates(evaluated: pd.DataFrame, as_of: Any, months: int = 12) -> dict[str, Any]:
    """Over the promises whose promised date falls in the ``months`` months up to T and that are
    due (kept or broken): ``promises_due``, ``promises_kept``, ``promises_broken`` (counts),
    ``promises_kept_rate`` (kept / due x 100 by count, None when none is due) and
    ``promises_kept_amount_rate`` (by promised amount)."""
    t = pd.Timestamp(as_of).normalize()
    e = evaluated
    e = e[(e["promised_date"] >= _window_start(t, months)) & (e["promised_date"] <= t)]
    due = e[e["status"] != "pending"]
    kept = due[due["status"] == "kept"]
    n, amount = len(due), float(due["amount"].sum())
    return {
        "promises_due": n,
        "promises_kept": len(kept),
        "promises_broken": n - len(kept),
        "promises_kept_rate": round(100.0 * len(kept) / n, 2) if n else None,
        "promises_kept_amount_rate": round(100.0 * kept["amount"].sum() / amount, 2)
        if amount > 0
        else None,
    }


def broken_promises(evaluated: pd.DataFrame, as_of: Any, days: int = 90) -> pd.DataFrame:
    """The promises broken in the ``days`` days up to T (their promised date), latest first:
    the collector's call list."""
    t = pd.Timestamp(as_of).normalize()
    e = evaluated
    b = e[(e["status"] == "broken") & (e["promised_date"] > t - pd.Timedelta(days=int(days)))]
    return b.sort_values(["promised_date", "promise_id"], ascending=[False, True]).reset_index(
        drop=True
    )


#: The columns of :func:`open_deductions`.
DEDUCTION_LIST = ["dispute_id", "customer_id", "customer_name", "invoice_id", "opened_date",
                  "age_days", "amount", "outstanding", "reason", "in_dispute"]  # fmt: skip
#: The reason shown for a deduction nobody has explained yet.
TO_ASSIGN = "(to assign)"


def deductions_file(cash_application: Mapping[str, Any] | None = None) -> Any:
    """Where ``arinsight match`` writes its deductions: ``deductions.csv`` in
    ``cash_application.out_dir`` (default ``data/cash``)."""
    from arinsight import config

    section = cash_application or {}
    return config.resolve_path(section.get("out_dir") or "data/cash") / "deductions.csv"


def read_deductions(path: Any) -> pd.DataFrame | None:
    """The deductions of ``arinsight match`` (docs/collections.md) typed: amount as a number,
    dates as dates; None when there is no such file (cash application never ran here). A person
    edits the file (reason, resolved date, outcome): a value that cannot be read stops with one
    :class:`~arinsight.errors.SourceError` naming the file, the column and the row (the header
    is row 1)."""
    from pathlib import Path

    from arinsight.errors import SourceError
    from arinsight.schemas import DISPUTE_OUTCOMES

    path = Path(path)
    if not path.is_file():
        return None
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("dispute_id", "invoice_id", "amount", "opened_date") if c not in d]
    if missing:
        raise SourceError(str(path), f"missing column(s) {', '.join(missing)}: not a deductions "
                          "file of `arinsight match`")  # fmt: skip
    for col in ("customer_id", "reason", "resolved_date", "outcome"):
        if col not in d.columns:
            d[col] = ""
    raw = d.copy()
    d["amount"] = pd.to_numeric(d["amount"], errors="coerce")
    for col in ("opened_date", "resolved_date"):
        d[col] = pd.to_datetime(d[col].str.strip().replace("", None), errors="coerce",
                                format="ISO8601")  # fmt: skip
    problems = {
        "amount": d["amount"].isna() | (d["amount"] <= 0),
        "opened_date": d["opened_date"].isna(),
        "resolved_date": d["resolved_date"].isna() & (raw["resolved_date"].str.strip() != ""),
        "outcome": ~d["outcome"].isin(["", *DISPUTE_OUTCOMES]),
    }
    for col, bad in problems.items():
        if bad.any():
            k = int(bad.to_numpy().argmax())
            what = {"amount": "an amount > 0", "opened_date": "a date (YYYY-MM-DD)",
                    "resolved_date": "a date (YYYY-MM-DD) or empty",
                    "outcome": f"one of {', '.join(DISPUTE_OUTCOMES)} or empty"}[col]  # fmt: skip
            raise SourceError(str(path), f"{raw[col].iloc[k]!r}: expected {what}", col, k + 2)
    return d


def open_deductions(
    deductions: pd.DataFrame | None,
    positions: pd.DataFrame,
    disputes: pd.DataFrame | None,
    as_of: Any,
) -> pd.DataFrame | None:
    """The deductions still outstanding at T, oldest first: opened <= T, not resolved by T (a
    ``resolved_date`` typed into the file), on an invoice of ``positions`` (the kept positions
    at T of the page's region) that still has something open. ``outstanding`` = ``min(amount,
    the invoice's open amount at T)`` in the reporting currency (the amount short is in the
    invoice's currency: converted at the invoice's own rate, ``open_amount /
    open_amount_doc``); ``reason``: as assigned, else :data:`TO_ASSIGN`; ``in_dispute``: the
    invoice has a dispute open at T (its amount is in disputed AR). None without deductions."""
    if deductions is None:
        return None
    t = pd.Timestamp(as_of).normalize()
    d = deductions
    live = (d["opened_date"] <= t) & ~(d["resolved_date"] <= t) & (d["amount"] > 0)
    cols = ["invoice_id", "open_amount", "customer_name"]
    cols += [c for c in ("open_amount_doc",) if c in positions.columns]
    pos = positions[cols].assign(invoice_id=positions["invoice_id"].astype(str))
    out = d.loc[live].merge(pos, on="invoice_id", how="inner")
    doc = out["open_amount_doc"] if "open_amount_doc" in out else out["open_amount"]
    doc = doc.fillna(out["open_amount"]).astype(float)
    short = np.minimum(out["amount"].to_numpy(), doc.to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(doc > 0, out["open_amount"].astype(float) / doc, 0.0)
    out["outstanding"] = np.round(short * rate, 2)
    out = out[out["outstanding"] > 0].copy()
    out["age_days"] = (t - out["opened_date"]).dt.days.astype("int64")
    out["reason"] = out["reason"].where(out["reason"].str.strip() != "", TO_ASSIGN)
    disputed = set() if disputes is None else set(open_disputes(disputes, t)["invoice_id"])
    out["in_dispute"] = out["invoice_id"].isin(disputed)
    out = out.sort_values(["age_days", "dispute_id"], ascending=[False, True])
    return out[DEDUCTION_LIST].reset_index(drop=True)


def dispute_kpis(
    disputes: pd.DataFrame | None,
    promises: pd.DataFrame | None,
    payments: pd.DataFrame,
    period: Any,
    credit_sales: float | None,
    *,
    months: int = 12,
    grace_days: int = 3,
    deductions: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The dispute and promise keys of kpis.json for ``period`` (start .. end = T) with
    ``na_reasons``: a missing table makes its keys null with that reason. ``deductions``: the
    deductions outstanding at T (:func:`open_deductions`; None: cash application wrote none)."""
    from arinsight.kpis import get

    t, start = pd.Timestamp(period.end), pd.Timestamp(period.start)
    days = (t - start).days + 1
    out: dict[str, Any] = dict.fromkeys(DISPUTE_KEYS)
    reasons: dict[str, str] = {}
    held = None  # disputed AR + deductions outstanding (DDO's numerator)
    if deductions is None:
        reasons["deductions_outstanding"] = NO_DEDUCTIONS
    else:
        own = deductions.loc[~deductions["in_dispute"], "outstanding"]
        out["deductions_outstanding"] = held = round(float(own.sum()), 2)
    if disputes is None:
        for k in ("disputed_ar", "dispute_days_to_resolve", "disputes_customer_favour_share"):
            reasons[k] = NO_DISPUTES
        if held is None:
            reasons["days_deductions_outstanding"] = NO_DISPUTES
    else:
        ar = round(float(open_disputes(disputes, t)["amount"].sum()), 2)
        out["disputed_ar"] = ar
        held = round(ar + (held or 0.0), 2)
    if held is not None:
        out["days_deductions_outstanding"] = (
            round(held / credit_sales * days, 4) if credit_sales else None
        )
    if disputes is not None:
        by = resolution_by_reason(disputes, t, months)
        if len(by):
            all_row = by[by["reason"] == "All"].iloc[0]
            out["dispute_days_to_resolve"] = float(all_row["mean_days"])
            out["disputes_customer_favour_share"] = float(all_row["customer_favour_pct"])
    if promises is None:
        for k in ("promises_kept_rate", "promises_broken"):
            reasons[k] = NO_PROMISES
    else:
        rates = promise_rates(evaluate_promises(promises, payments, t, grace_days), t, months)
        out["promises_kept_rate"] = rates["promises_kept_rate"]
        out["promises_broken"] = rates["promises_broken"]
    for k, v in out.items():
        if v is None and k not in reasons:
            reasons[k] = get(k).na or "not defined"
    out["na_reasons"] = reasons
    return out


NO_DISPUTES = "the ledger has no disputes table"
NO_PROMISES = "the ledger has no promises table"
NO_DEDUCTIONS = na_reasons()["deductions_outstanding"]


def _read(folder: Any, table: str, columns: Sequence[str] | None = None, where: Any = None):
    """Rows of one processed table (an empty typed table when the file is absent), read with an
    Arrow filter: only the rows a page needs come into pandas."""
    import pyarrow.dataset as ds

    from arinsight.ledger import arrow_to_frame
    from arinsight.schemas import empty_table

    path = folder / f"{table}.parquet"
    if not path.exists():
        frame = empty_table(table)
        return frame[list(columns)] if columns else frame
    data = ds.dataset(path)
    cols = [c for c in columns if c in data.schema.names] if columns else None
    return arrow_to_frame(data.to_table(columns=cols, filter=where))


def _payments_for(folder: Any, promises: pd.DataFrame | None) -> pd.DataFrame:
    """The payments a promise may count: on its invoice, or (an on-account promise) its
    customer's."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    cols = ["payment_id", "invoice_id", "customer_id", "payment_date", "amount"]
    if promises is None or promises.empty:
        from arinsight.schemas import empty_table

        return empty_table("payments")[cols]
    on_invoice = promises["invoice_id"].dropna().astype(str).unique().tolist()
    on_account = promises.loc[promises["invoice_id"].isna(), "customer_id"].astype(str).unique()
    where = ds.field("invoice_id").isin(pa.array(on_invoice, pa.string())) | ds.field(
        "customer_id"
    ).isin(pa.array(on_account.tolist(), pa.string()))
    return _read(folder, "payments", cols, where)


def region_cases(
    processed_dir: Any, region: str = "All"
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame]:
    """The disputes, promises and payments of ``region`` from the processed tables; a table the
    dataset does not have (no file, or no rows) is None. Disputes follow their invoice (the
    region it is reported under: its own, else its customer's), promises their invoice or
    (without one) their customer's master-data region. Only the rows these need are read: the
    payments on the promised invoices and customers (the ledger never comes into pandas)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from arinsight import config
    from arinsight.ledger import isin
    from arinsight.periods import check_region

    folder = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    disputes = _read(folder, "disputes")
    promises = _read(folder, "promises")
    if region not in (None, "", "All"):
        customers = _read(folder, "customers", ["customer_id", "region"])
        ids = pd.concat([disputes["invoice_id"], promises["invoice_id"]]).dropna().astype(str)
        inv = _read(
            folder, "invoices", ["invoice_id", "customer_id", "region"],
            ds.field("invoice_id").isin(pa.array(ids.unique().tolist(), pa.string())),
        )  # fmt: skip
        home = customers.set_index("customer_id")["region"]
        own = inv["region"] if "region" in inv.columns else pd.Series(None, index=inv.index)
        reported = own.fillna(inv["customer_id"].map(home))
        mine = inv.loc[(reported == region).fillna(False).to_numpy(bool), "invoice_id"]
        known = set(customers["region"].dropna().astype(str)) | set(own.dropna().astype(str))
        check_region(region, sorted(known))
        disputes = disputes[isin(disputes["invoice_id"], mine)]
        on_invoice = isin(promises["invoice_id"], mine)
        in_home = customers.loc[customers["region"] == region, "customer_id"]
        on_account = promises["invoice_id"].isna() & isin(promises["customer_id"], in_home)
        promises = promises[on_invoice | on_account]
    disputes = disputes.reset_index(drop=True) if _has_rows(folder, "disputes") else None
    promises = promises.reset_index(drop=True) if _has_rows(folder, "promises") else None
    return disputes, promises, _payments_for(folder, promises)


def _has_rows(folder: Any, table: str) -> bool:
    import pyarrow.parquet as pq

    path = folder / f"{table}.parquet"
    return path.exists() and pq.ParquetFile(path).metadata.num_rows > 0


def write_outputs(kpis: Mapping[str, Any], output_dir: Any) -> Any:
    """``kpis_disputes.json`` in ``output_dir``."""
    from pathlib import Path

    from arinsight.files import write_json

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    return write_json(out / "kpis_disputes.json", dict(kpis))


def summary_text(
    kpis: Mapping[str, Any], currency: str = "USD", deductions: pd.DataFrame | None = None
) -> str:
    """A few sentences for the page: what is disputed, what short payments are outstanding
    (``deductions``: :func:`open_deductions`), the days of sales they hold back, and how
    promises fare."""
    parts = []
    ddo = kpis.get("days_deductions_outstanding")
    if kpis.get("disputed_ar") is not None:
        text = f"Disputed at T: **{currency} {kpis['disputed_ar']:,.2f}**."
        days, favour = (
            kpis.get("dispute_days_to_resolve"),
            kpis.get("disputes_customer_favour_share"),
        )
        if days is not None:
            text += (
                f" Disputes resolved in the last 12 months took {days:.1f} days on average; "
                f"{favour:.1f} % of their amount went the customer's way."
            )
        parts.append(text)
    else:
        parts.append(f"No dispute figures: {kpis['na_reasons'].get('disputed_ar')}.")
    if kpis.get("deductions_outstanding") is not None and deductions is not None:
        own = deductions[~deductions["in_dispute"]]
        todo = int((own["reason"] == TO_ASSIGN).sum())
        parts.append(
            f"Short payments found by cash application still open: **{currency} "
            f"{kpis['deductions_outstanding']:,.2f}** on {len(own)} invoice(s), {todo} without "
            "a reason yet."
        )
    if ddo is not None:
        what = {
            (True, True): "Disputes and short payments",
            (True, False): "Disputes",
            (False, True): "Short payments",
        }[(kpis.get("disputed_ar") is not None, kpis.get("deductions_outstanding") is not None)]
        parts.append(f"{what} hold back {ddo:.1f} days of sales (DDO).")
    if kpis.get("promises_kept_rate") is not None:
        parts.append(
            f"Promises to pay kept: **{kpis['promises_kept_rate']:.1f} %** of those due in the "
            f"last 12 months; {kpis['promises_broken']} broken."
        )
    else:
        why = kpis["na_reasons"].get("promises_kept_rate", "none due")
        parts.append(f"No promise-to-pay rate: {why}.")
    return " ".join(parts)


def collection_cases(
    processed_dir: Any, as_of: Any, grace_days: int = 3, days: int = 90
) -> tuple[set[str], pd.Series]:
    """What ``arinsight alerts`` takes from the collection cases at T: the invoices with a
    dispute open at T (no reminder for them) and, per customer, the number of promises broken
    in the ``days`` days up to T (a column of the collections worklist). Both empty when the
    dataset has no such table."""
    from arinsight import config

    folder = config.resolve_path(processed_dir) if processed_dir else config.PROCESSED_DIR
    disputed = set(open_disputes(_read(folder, "disputes"), as_of)["invoice_id"].astype(str))
    broken = pd.Series(dtype="int64")
    promises = _read(folder, "promises")
    if len(promises):
        e = evaluate_promises(promises, _payments_for(folder, promises), as_of, grace_days)
        broken = broken_promises(e, as_of, days).groupby("customer_id").size().astype("int64")
    return disputed, broken
