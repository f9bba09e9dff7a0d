"""Customer statements at T: what each customer owes, has paid, how old it is, and its risk.

Inputs are the period's snapshots that ``arinsight run`` publishes (the invoice positions at T of
:func:`arinsight.receivables.invoice_explorer_table`, the payments dated by T, the customer master
data and the risk scores of the open invoices), so a statement is always "as of T" of its period.
Every function takes a DataFrame first and returns a new one, one row per customer or per line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.receivables import DEFAULT_AGING_BUCKETS, aging_labels, require_columns

STATEMENT_COLUMNS = [
    "customer_id",
    "invoice_id",
    "invoice_date",
    "due_date",
    "amount",
    "paid_to_date",
    "open_amount",
    "days_past_due",
]
PAYMENT_COLUMNS = ["customer_id", "payment_date", "payment_id", "invoice_id", "amount", "method"]


#: The statement's columns in the invoice's own currency, when the positions carry them.
DOCUMENT_COLUMNS = ["currency", "amount_doc", "open_amount_doc"]
#: The statement's credit notes and write-offs of each line (by T), when the positions carry
#: them: amount - paid_to_date - credited - written_off = open_amount on every line.
ADJUSTMENT_COLUMNS = ["credited", "written_off"]


def open_items(positions: pd.DataFrame) -> pd.DataFrame:
    """The statement lines: every invoice with an open amount at T (open_amount > 0), by
    customer then due date (oldest first) then invoice id. The open amounts of one customer add
    up to that customer's pending balance. With the document currency in the positions, each
    line also carries its ``currency`` and its amount and open amount in it (``amount_doc``,
    ``open_amount_doc``): what the customer's own invoice says; with the adjustments, the
    credit notes (``credited``) and write-offs (``written_off``) taken off it by T."""
    require_columns(positions, STATEMENT_COLUMNS, "invoice positions")
    after_paid = STATEMENT_COLUMNS.index("paid_to_date") + 1
    adjusted = [c for c in ADJUSTMENT_COLUMNS if c in positions.columns]
    cols = STATEMENT_COLUMNS[:after_paid] + adjusted + STATEMENT_COLUMNS[after_paid:]
    cols += [c for c in DOCUMENT_COLUMNS if c in positions.columns]
    out = positions.loc[positions["open_amount"].fillna(0) > 0, cols].copy()
    out = out.sort_values(["customer_id", "due_date", "invoice_id"], kind="mergesort")
    return out.reset_index(drop=True)


def payment_history(payments: pd.DataFrame, as_of: Any, months: int = 12) -> pd.DataFrame:
    """Payments dated in the ``months`` months up to T (T - months < payment_date <= T), newest
    first; unapplied cash (no invoice) is kept with an empty invoice."""
    require_columns(payments, ["customer_id", "payment_date", "amount"], "payments")
    t = pd.Timestamp(as_of).normalize()
    start = t - pd.DateOffset(months=int(months))
    dates = pd.to_datetime(payments["payment_date"])
    out = payments.loc[(dates > start) & (dates <= t)].copy()
    for col in PAYMENT_COLUMNS:
        if col not in out.columns:
            out[col] = None
    out = out[PAYMENT_COLUMNS].sort_values(
        ["customer_id", "payment_date", "payment_id"],
        ascending=[True, False, True],
        kind="mergesort",
    )
    return out.reset_index(drop=True)


def customer_aging(
    positions: pd.DataFrame, buckets: Sequence[int] = DEFAULT_AGING_BUCKETS
) -> pd.DataFrame:
    """Open amount per customer and aging bucket (columns in bucket order: Current, 1-30, ...).

    Bucket edges as :func:`arinsight.receivables.aging_table`: an invoice ``d`` days past due is
    "Current" when d <= 0, else in the first bucket whose upper edge is >= d."""
    require_columns(positions, ["customer_id", "open_amount", "days_past_due"], "invoice positions")
    labels = aging_labels(buckets)
    edges = list(buckets)
    open_ = positions.loc[positions["open_amount"].fillna(0) > 0]
    dpd = open_["days_past_due"].to_numpy(dtype="int64")
    idx = np.searchsorted(np.asarray(edges), dpd, side="left")
    bucket = pd.Categorical.from_codes(idx, categories=labels)
    table = (
        open_.assign(bucket=bucket)
        .pivot_table(
            index="customer_id",
            columns="bucket",
            values="open_amount",
            aggfunc="sum",
            fill_value=0.0,
            observed=False,
        )  # fmt: skip
        .reindex(columns=labels, fill_value=0.0)
        .round(2)
    )
    table.columns = [str(c) for c in table.columns]
    return table.reset_index()


#: The customer's contact attributes the customer pages show when the data has them.
CONTACT_COLUMNS = ("contact_email", "sales_rep_id", "sales_rep_name")


def customer_summary(
    positions: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    risk: pd.DataFrame | None = None,
    late_days: int = 30,
) -> pd.DataFrame:
    """One row per customer with any invoice up to T.

    ``open_amount`` (pending balance), ``overdue_amount`` (open on invoices past due),
    ``open_invoices``, ``credit_limit`` and ``credit_use_pct = open_amount / credit_limit x 100``
    (None without a positive limit), ``invoices_settled`` (paid invoices with a known delay),
    ``paid_late_pct`` (share of them paid more than ``late_days`` days after the due date),
    ``average_days_late`` (of the paid invoices), ``late_open_invoices`` (open and more than
    ``late_days`` past due) and, from ``risk`` (:func:`arinsight.risk.customer_risk`),
    ``expected_overdue``, ``risk_share`` and ``pending_risk``; from ``customers``, the
    :data:`CONTACT_COLUMNS` it has. Sorted by open amount, largest first.
    """
    require_columns(positions, STATEMENT_COLUMNS + ["days_late"], "invoice positions")
    p = positions
    is_open = p["open_amount"].fillna(0) > 0
    settled = p["days_late"].notna() & ~is_open
    frame = pd.DataFrame(
        {
            "customer_id": p["customer_id"],
            "open_amount": p["open_amount"].where(is_open, 0.0),
            "overdue_amount": p["open_amount"].where(is_open & (p["days_past_due"] > 0), 0.0),
            "open_invoices": is_open.astype(int),
            "late_open_invoices": (is_open & (p["days_past_due"] > late_days)).astype(int),
            "invoices_settled": settled.astype(int),
            "paid_late": (settled & (p["days_late"] > late_days)).astype(int),
            "days_late": p["days_late"].where(settled),
        }
    )
    g = frame.groupby("customer_id", sort=True).agg(
        open_amount=("open_amount", "sum"),
        overdue_amount=("overdue_amount", "sum"),
        open_invoices=("open_invoices", "sum"),
        late_open_invoices=("late_open_invoices", "sum"),
        invoices_settled=("invoices_settled", "sum"),
        paid_late=("paid_late", "sum"),
        average_days_late=("days_late", "mean"),
    )
    g["paid_late_pct"] = (g["paid_late"] / g["invoices_settled"] * 100).where(
        g["invoices_settled"] > 0
    )
    g = g.drop(columns=["paid_late"]).reset_index()
    meta_cols = ["customer_id", "customer_name", "region", "industry", "customer_type"]
    meta = p[[c for c in meta_cols if c in p.columns]].drop_duplicates("customer_id")
    if customers is not None and len(customers):
        extra = [c for c in ("credit_limit", "payment_terms_days", *CONTACT_COLUMNS)
                 if c in customers.columns]  # fmt: skip
        meta = meta.merge(
            customers[["customer_id", *extra]].drop_duplicates("customer_id"),
            on="customer_id",
            how="left",
        )
    g = g.merge(meta, on="customer_id", how="left")
    if "credit_limit" not in g.columns:
        g["credit_limit"] = np.nan
    limit = pd.to_numeric(g["credit_limit"], errors="coerce")
    g["credit_use_pct"] = (g["open_amount"] / limit * 100).where(limit > 0)
    for col in ("expected_overdue", "risk_share", "pending_risk"):
        g[col] = np.nan
    if risk is not None and len(risk):
        r = risk.set_index("customer_id")
        for col in ("expected_overdue", "risk_share", "pending_risk"):
            if col in r.columns:
                g[col] = g["customer_id"].map(r[col])
    g[["open_amount", "overdue_amount"]] = g[["open_amount", "overdue_amount"]].round(2)
    g = g.sort_values(["open_amount", "customer_id"], ascending=[False, True], kind="mergesort")
    return g.reset_index(drop=True)


def risk_reasons(
    row: pd.Series | dict, portfolio: dict[str, float], late_days: int = 30
) -> list[str]:
    """Plain-language reasons behind a customer's risk, from the facts the model weighs most
    (payment history, invoices already late, credit-limit use), each compared with the
    portfolio. ``portfolio`` holds ``paid_late_pct`` and ``pending_risk`` of all customers."""
    r = dict(row)
    out = []
    late_pct, base = r.get("paid_late_pct"), portfolio.get("paid_late_pct")
    if late_pct is not None and late_pct == late_pct:
        cmp = ""
        if base is not None and base == base:
            cmp = " (higher than" if late_pct > base else " (at or below"
            cmp += f" the {base:.0f}% of all customers)"
        out.append(
            f"Paid {late_pct:.0f}% of {int(r.get('invoices_settled') or 0):,} settled invoices "
            f"more than {late_days} days late{cmp}."
        )
    else:
        out.append("No settled invoices yet: the score relies on industry and invoice facts.")
    n_late = int(r.get("late_open_invoices") or 0)
    if n_late:
        out.append(
            f"{n_late:,} open invoice{'s are' if n_late > 1 else ' is'} already more than "
            f"{late_days} days past due (certainly late)."
        )
    use = r.get("credit_use_pct")
    if use is not None and use == use:
        if use > 100:
            out.append(f"Open balance is {use:.0f}% of the credit limit (over the limit).")
        elif use >= 80:
            out.append(f"Open balance is {use:.0f}% of the credit limit (close to it).")
    days = r.get("average_days_late")
    if days is not None and days == days and days > 0:
        out.append(f"Paid {days:.0f} days after the due date on average.")
    return out


def read_reminders(log_path: str | Path) -> pd.DataFrame:
    """Reminders recorded in the send log (JSON lines, keys ``reminder:<period>:<customer>:<level>``):
    customer_id, period, level, sent_at, subject; empty when the log is missing. A line that is
    not JSON is an error naming the file and the line."""
    path = Path(log_path)
    cols = ["customer_id", "period", "level", "sent_at", "subject"]
    if not path.is_file():
        return pd.DataFrame(columns=cols)
    from arinsight.dunning import parse_reminder_key

    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}: line {number}: not JSON ({exc})") from None
        key = str(rec.get("key", ""))
        if key.startswith("reminder:") and key.count(":") >= 3:
            period, customer, level = parse_reminder_key(key)
            rows.append(
                {
                    "customer_id": customer,
                    "period": period,
                    "level": int(level) if level.isdigit() else level,
                    "sent_at": str(rec.get("sent_at", "")),
                    "subject": str(rec.get("subject", "")),
                }
            )
    return pd.DataFrame(rows, columns=cols)


def group_by_customer(df: pd.DataFrame, ids: Iterable[str]) -> dict[str, pd.DataFrame]:
    """``{customer_id: rows}`` for the given ids (an empty frame for a customer without rows)."""
    groups = {str(k): g for k, g in df.groupby("customer_id", sort=False)} if len(df) else {}
    empty = df.iloc[0:0]
    return {cid: groups.get(cid, empty) for cid in ids}


#: The columns of :func:`customer_promises`.
PROMISE_COLUMNS = ["customer_id", "promise_id", "invoice_id", "made_date", "promised_date",
                   "amount", "paid", "status", "source"]  # fmt: skip


def customer_promises(
    promises: pd.DataFrame | None,
    payments: pd.DataFrame,
    as_of: Any,
    grace_days: int = 3,
    months: int = 12,
) -> pd.DataFrame:
    """Each customer's promises to pay as of T, latest promised date first: those due in the
    ``months`` months up to T (kept or broken) and those still pending, with what was paid for
    each and its status (:func:`arinsight.disputes.evaluate_promises`: the Disputes page's
    rule). Columns: :data:`PROMISE_COLUMNS`."""
    from arinsight.disputes import evaluate_promises

    if promises is None or promises.empty:
        return pd.DataFrame(columns=PROMISE_COLUMNS)
    t = pd.Timestamp(as_of).normalize()
    if payments is None or "payment_date" not in payments.columns:  # none published
        payments = pd.DataFrame(
            {"invoice_id": pd.Series(dtype="str"), "customer_id": pd.Series(dtype="str"),
             "payment_date": pd.Series(dtype="datetime64[ns]"), "amount": pd.Series(dtype=float)}
        )  # fmt: skip
    e = evaluate_promises(promises, payments, t, grace_days)
    start = (t.to_period("M") - (int(months) - 1)).start_time
    e = e.loc[(e["status"] == "pending") | (e["promised_date"] >= start)].copy()
    for col in PROMISE_COLUMNS:
        if col not in e.columns:
            e[col] = None
    e["customer_id"] = e["customer_id"].astype(str)
    order = ["customer_id", "promised_date", "promise_id"]
    e = e.sort_values(order, ascending=[True, False, True], kind="mergesort")
    return e[PROMISE_COLUMNS].reset_index(drop=True)


def broken_lately(promises: pd.DataFrame, as_of: Any, days: int = 90) -> pd.DataFrame:
    """The rows of :func:`customer_promises` broken in the ``days`` days up to T (their promised
    date): the ones that raise the customer in the collections worklist."""
    t = pd.Timestamp(as_of).normalize()
    recent = promises["promised_date"] > t - pd.Timedelta(days=int(days))
    return promises.loc[(promises["status"] == "broken") & recent]


def snapshot_tables(processed_dir: str | Path, as_of: Any) -> dict[str, pd.DataFrame]:
    """What the customer pages of a period need besides the invoice positions, as of T, from the
    processed tables of ``processed_dir``: ``customers.parquet`` (the customer master data, its
    contact e-mail and its sales rep's name from ``sales_reps`` when the data has them),
    ``customer_payments.parquet`` (payments dated by T) and ``customer_promises.parquet`` (the
    promises to pay made by T, when the data has them: the pages tell kept from broken with the
    payments), each sorted so the same ledger gives the same files. Only the columns the pages
    show are read."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from arinsight.ledger import arrow_to_frame
    from arinsight.schemas import empty_table

    folder = Path(processed_dir)
    t = pd.Timestamp(as_of).normalize()

    def read(name: str, wanted: Sequence[str], condition: Any = None) -> pd.DataFrame:
        path = folder / f"{name}.parquet"
        if not path.exists():
            frame = empty_table(name)
            return frame[[c for c in wanted if c in frame.columns]]
        data = ds.dataset(path)
        cols = [c for c in wanted if c in data.schema.names]
        return arrow_to_frame(data.to_table(columns=cols, filter=condition))[cols]

    customers = read("customers", ["customer_id", "customer_name", "region", "industry",
                                   "customer_type", "credit_limit", "payment_terms_days",
                                   "sales_rep_id", "contact_email"])  # fmt: skip
    reps = read("sales_reps", ["sales_rep_id", "rep_name"])
    if "sales_rep_id" in customers.columns and len(reps) and "rep_name" in reps.columns:
        names = reps.drop_duplicates("sales_rep_id").set_index("sales_rep_id")["rep_name"]
        customers["sales_rep_name"] = customers["sales_rep_id"].map(names)
    pay = read("payments", ["payment_id", "invoice_id", "customer_id", "payment_date", "amount",
                            "method"], pc.field("payment_date") <= t)  # fmt: skip
    promises = read("promises", ["promise_id", "customer_id", "invoice_id", "made_date",
                                 "promised_date", "amount", "source"])  # fmt: skip
    made = promises["made_date"].fillna(promises["promised_date"] - pd.Timedelta(days=30))
    promises = promises.loc[(made <= t).to_numpy(dtype=bool)]
    return {
        "customers.parquet": customers.sort_values("customer_id", kind="mergesort").reset_index(
            drop=True
        ),
        "customer_payments.parquet": pay.sort_values(
            ["customer_id", "payment_date", "payment_id"], kind="mergesort"
        ).reset_index(drop=True),
        "customer_promises.parquet": promises.sort_values(
            ["customer_id", "promised_date", "promise_id"], kind="mergesort"
        ).reset_index(drop=True),
    }
