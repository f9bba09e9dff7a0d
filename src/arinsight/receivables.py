"""Receivables Health (docs/kpis.md): the page's KPIs, tables and lists, read from the engine.

Every balance "as of T" comes from the query engine (:mod:`arinsight.engine`), computed once per
period and kept (:mod:`arinsight.engine.period`): the KPIs of every region for the period, the
period before it and the trailing months, and the **positions** (one row per invoice dated
<= T: open amount, days past due, status, paid date, days late, customer and segment). This
module only shapes them for a page: the KPI dict of a region (:func:`page_kpis`), per-customer
balances, the aging table, the monthly trends, the explorer, the overdue and over-limit lists,
delays by industry, the seasonal pattern and energy usage against payment behaviour, each a
function of the positions frame (see :meth:`arinsight.engine.period.PeriodResults.positions`).
For frames of one's own, :func:`positions_at` runs the same engine expressions in memory.

An invoice counts when ``invoice_date <= T``, a payment when ``payment_date <= T``. Payments
settle the invoice whose ``invoice_id`` they carry (several may settle one invoice; their total
may exceed it: a credit balance); a payment without an invoice of the ledger is *unapplied
cash*: it reduces what the customer owes on a net basis but never open AR.

Money is in the reporting currency, to the cent; days and ratios to 4 decimals; percentages in
percent (0-100). Undefined ratios (zero denominators) are ``None`` and are shown as "n/a",
never 0 or inf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from arinsight import kpis as kpi_registry
from arinsight.engine.period import plain as _plain
from arinsight.engine.results import DEFAULT_BUCKETS, aging_labels
from arinsight.engine.results import check_buckets as _check_buckets
from arinsight.kpis import compare as compare  # the one trend comparison; notebooks call it here
from arinsight.ledger import Period, period_bounds

#: Half a cent: amounts are in cents, so a remaining balance below this is zero.
EPS = 0.005

DEFAULT_AGING_BUCKETS: tuple[int, ...] = DEFAULT_BUCKETS

#: Which way is good for each KPI (``compare`` uses it for the trend assessment), the unit and the
#: readable name of each KPI: views of the one registry, :mod:`arinsight.kpis`.
KPI_DIRECTION: dict[str, str] = kpi_registry.directions()

#: The scalar KPIs of a Receivables Health page (besides period, as_of and the aging mapping).
RECEIVABLES_KEYS: tuple[str, ...] = (
    "credit_sales",
    "total_revenue",
    "collections",
    "open_ar",
    "open_ar_begin",
    "current_ar",
    "overdue_ar",
    "overdue_amount",
    "overdue_invoices",
    "dso",
    "countback_dso",
    "best_possible_dso",
    "average_days_delinquent",
    "cei",
    "ar_turnover",
    "ar_turnover_annualised",
    "customers_over_credit_limit",
    "average_days_late",
    "payment_completion_rate_count",
    "payment_completion_rate_amount",
    "paid_to_billed_rate",
    "unapplied_cash",
    "credit_balances",
    "write_offs",
    "credit_notes",
)

KPI_UNITS: dict[str, str] = kpi_registry.units()
KPI_LABELS: dict[str, str] = kpi_registry.labels()

#: Readable payment status of an invoice (invoice explorer, overdue lists).
STATUS_LABELS: dict[str, str] = {
    "paid": "Paid",
    "current": "Open - current",
    "overdue": "Overdue",
    "credit": "Credit",
    "written_off": "Written off",
}

#: The columns of the kept positions that the explorer and the customer pages show.
EXPLORER_COLUMNS = [
    "invoice_id",
    "customer_id",
    "customer_name",
    "region",
    "industry",
    "customer_type",
    "invoice_date",
    "due_date",
    "amount",
    "paid_to_date",
    "credited",
    "written_off",
    "balance",
    "open_amount",
    "days_past_due",
    "days_late",
    "paid_date",
    "payment_status",
    "energy_kwh",
]


def as_date(value: Any) -> pd.Timestamp:
    """A date-like value (``"2026-10-31"``, Timestamp, date, or a Period -> its end T) at
    midnight (:func:`arinsight.periods.as_date`)."""
    from arinsight.periods import as_date as day

    return pd.Timestamp(day(value))


def as_period(period: Period | str) -> Period:
    """A :class:`~arinsight.ledger.Period` from a Period or a ``YYYY-MM`` / ``YYYY-Qn`` / ``YYYY`` label."""
    return period if isinstance(period, Period) else period_bounds(period)


def require_columns(df: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """The check every table function of the package makes on its input: ``df`` is a DataFrame
    (else TypeError) holding ``columns`` (else ValueError naming ``name`` and the missing ones)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name}: expected a DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def month_ends(t: pd.Timestamp, months: int) -> pd.DatetimeIndex:
    """The last ``months`` month ends up to T's month (2026-10-15, 3 -> Aug 31, Sep 30, Oct 31)."""
    if int(months) < 1:
        raise ValueError(f"trailing_months: expected at least 1, got {months!r}")
    last = t + pd.offsets.MonthEnd(0)
    return pd.date_range(end=last, periods=int(months), freq="ME").normalize()


# --------------------------------------------------------------------------------------------
# positions and balances (the engine's, shaped)
# --------------------------------------------------------------------------------------------


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
    return frames_at(tables, as_date(as_of), params)["positions"]


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


# --------------------------------------------------------------------------------------------
# KPIs
# --------------------------------------------------------------------------------------------


def na_reasons(kpis: Mapping[str, Any]) -> dict[str, str]:
    """The reason, in plain words, of every None receivables KPI of ``kpis`` (the registry's:
    :func:`arinsight.kpis.reasons_for`)."""
    why = kpi_registry.reasons_for({k: kpis.get(k) for k in RECEIVABLES_KEYS})
    if kpis.get("open_ar") is None:
        return dict.fromkeys(RECEIVABLES_KEYS, kpi_registry.NA_EMPTY)
    return why


def page_kpis(row: Mapping[str, Any], period: Period | str) -> dict[str, Any]:
    """The KPIs of one page from the engine's row of its region (see
    :meth:`arinsight.engine.period.PeriodResults.kpis`): every key of :data:`RECEIVABLES_KEYS`,
    the aging, open AR per currency and per company code and the top pending customers, plus ``period``, ``as_of`` (T),
    ``period_start``, ``period_end`` (the whole period's last day) and ``na_reasons``."""
    p = as_period(period)
    out: dict[str, Any] = {
        "period": p.label,
        "as_of": p.end.date().isoformat(),
        "period_start": p.start.date().isoformat(),
        "period_end": p.full_end.date().isoformat(),
    }
    out.update({k: _plain(row.get(k)) for k in RECEIVABLES_KEYS})
    out["aging"] = _plain(row.get("aging"))
    out["open_ar_by_currency"] = _plain(row.get("open_ar_by_currency") or {})
    out["open_ar_by_entity"] = _plain(row.get("open_ar_by_entity") or {})
    out["top_pending_customers"] = _plain(row.get("top_pending_customers") or [])
    out["na_reasons"] = na_reasons(out)
    return out


def receivables_kpis(
    tables: Mapping[str, pd.DataFrame],
    period: Period | str,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every Receivables Health KPI of period P at T over ``tables`` (the dict of
    :func:`arinsight.ledger.load_processed`, possibly a region's selection), as defined in
    docs/kpis.md and computed by the engine (:func:`arinsight.engine.kpis_from_frames`); the
    monthly run reads the same figures from its kept results instead.

    T is the period's last day, or ``params["as_of"]`` (a date within P: a *snapshot*). Balances
    are measured at T; flows (sales, collections, days late) cover the period's start up to T.
    ``params``: ``aging_buckets``, ``top_n``. The keys are those of :func:`page_kpis`.
    """
    from arinsight.engine import kpis_from_frames

    prm = {"aging_buckets": list(DEFAULT_AGING_BUCKETS)}
    prm.update({k: v for k, v in (params or {}).items() if v is not None})
    _check_buckets(prm["aging_buckets"])
    p = as_period(period).at(prm.get("as_of"))
    for name in ("invoices", "payments"):
        require_columns(tables[name], [], name)
    row = kpis_from_frames(tables, p, dict(prm, as_of=None), regions=())["All"]
    return page_kpis(row, p)


def page_scope(period: Period, region: str, positions: pd.DataFrame) -> str:
    """One line (Markdown) on what a page covers: when balances are measured (T), the span the
    flows cover, the region and the size of its ledger up to T (invoices, customers)."""
    p = as_period(period)
    when = (
        f"balances as of **{p.end:%Y-%m-%d}** (a snapshot of {p.label}), flows from "
        f"{p.start:%Y-%m-%d} to {p.end:%Y-%m-%d}"
        if p.is_snapshot
        else f"balances at the period end **{p.end:%Y-%m-%d}**, flows from {p.start:%Y-%m-%d}"
    )
    payments = int(positions["payments"].sum()) if "payments" in positions else 0
    return (
        f"**Period** {p.label}: {when}. **Region** {region}: {len(positions):,} invoices up to T, "
        f"{payments:,} payments applied to them, "
        f"{positions['customer_id'].nunique():,} customers with invoices."
    )


# --------------------------------------------------------------------------------------------
# tables for the figures and the site
# --------------------------------------------------------------------------------------------


def aging_table(
    positions: pd.DataFrame, buckets: Sequence[int] = DEFAULT_AGING_BUCKETS
) -> pd.DataFrame:
    """Open AR at T by days past due: bucket, amount, open invoices, share of open AR (percent).

    ``positions`` is the frame of :func:`invoice_positions`; ``buckets`` are inclusive upper bounds
    in days past due (``[0, 30, 60, 90, 120]`` -> Current, 1-30, ..., 120+). The amounts sum to open
    AR; every bucket is listed, empty ones with 0.
    """
    require_columns(positions, ["open_amount", "days_past_due"], "positions")
    b = _check_buckets(buckets)
    labels = aging_labels(b)
    open_ = positions.loc[positions["open_amount"] > 0]
    slot = np.searchsorted(np.asarray(b), open_["days_past_due"].to_numpy(), side="left")
    amount = np.bincount(slot, weights=open_["open_amount"].to_numpy(), minlength=len(labels))
    count = np.bincount(slot, minlength=len(labels))
    total = amount.sum()
    return pd.DataFrame(
        {
            "bucket": pd.Categorical(labels, categories=labels, ordered=True),
            "amount": np.round(amount, 2) + 0.0,
            "invoices": count.astype("int64"),
            "share_pct": np.round(amount / total * 100, 2) if total > EPS else np.nan,
        }
    )


def currency_table(
    kpis: Mapping[str, Any], positions: pd.DataFrame, reporting_currency: str = "USD"
) -> pd.DataFrame:
    """Open AR at T per document currency, from the engine's ``open_ar_by_currency`` (see
    docs/kpis.md): currency, open_ar (in that currency), open_ar_reporting (in the reporting
    currency), invoices (open), one column per aging bucket (in that currency) and ``rate``:
    the rates its open invoices were converted at, read from the positions (``fx_rate``,
    ``fx_rate_date``): "1 CAD = 0.7500 USD" for a constant rate, with the rate date for a dated
    one ("... of 2026-09-16"), a range when several rates were used ("0.7000 (2026-09-01) to
    0.7500 (2026-09-16)"), "reporting currency" for the reporting one. One row per currency
    with something open; none when nothing is open."""
    by = kpis.get("open_ar_by_currency") or {}
    has_rates = {"currency", "fx_rate", "open_amount"} <= set(positions.columns)
    rows = []
    for code, e in by.items():
        row = {
            "currency": code,
            "open_ar": float(e["open_ar"]),
            "open_ar_reporting": float(e["open_ar_reporting"]),
            "invoices": int(e["invoices"]),
        }
        row.update({label: float(v) for label, v in (e.get("aging") or {}).items()})
        row["rate"] = (
            _rate_text(positions, code, reporting_currency) if has_rates else "not recorded"
        )
        rows.append(row)
    base = ["currency", "open_ar", "open_ar_reporting", "invoices"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=[*base, "rate"])


def _rate_text(positions: pd.DataFrame, code: str, reporting: str) -> str:
    """How the open invoices of ``code`` were converted (see :func:`currency_table`)."""
    if code == reporting:
        return "reporting currency"
    open_ = positions.loc[(positions["currency"] == code) & (positions["open_amount"] > 0)]
    used = open_[["fx_rate", "fx_rate_date"]].drop_duplicates()
    used = used.sort_values(["fx_rate_date", "fx_rate"], na_position="first")
    if used.empty:
        return "-"

    def one(rate: float, day: Any) -> str:
        return f"{rate:.4f}" + ("" if pd.isna(day) else f" ({pd.Timestamp(day):%Y-%m-%d})")

    first, last = used.iloc[0], used.iloc[-1]
    if len(used) == 1:
        text = f"1 {code} = {first['fx_rate']:.4f} {reporting}"
        day = first["fx_rate_date"]
        return text + (" (constant)" if pd.isna(day) else f" of {pd.Timestamp(day):%Y-%m-%d}")
    return (
        f"1 {code} = {one(first['fx_rate'], first['fx_rate_date'])} to "
        f"{one(last['fx_rate'], last['fx_rate_date'])} {reporting}, {len(used)} rates: each "
        "invoice at the rate on or before its date"
    )


def entity_table(kpis: Mapping[str, Any]) -> pd.DataFrame:
    """Open and overdue AR at T per company code / legal entity, from the engine's
    ``open_ar_by_entity``: company_code, open_ar, overdue_ar, invoices (open), then one column
    per aging bucket, all in the reporting currency (a row's buckets add up to its open AR, the
    rows to the page's open AR); empty when the invoices carry no company code."""
    by = kpis.get("open_ar_by_entity") or {}
    rows = []
    for code, e in by.items():
        row = {
            "company_code": code,
            "open_ar": float(e["open_ar"]),
            "overdue_ar": float(e["overdue_ar"]),
            "invoices": int(e["invoices"]),
        }
        row.update({label: float(v) for label, v in (e.get("aging") or {}).items()})
        rows.append(row)
    base = ["company_code", "open_ar", "overdue_ar", "invoices"]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=base)


def monthly_trends(
    months: Sequence[tuple[str, Mapping[str, Any]]],
    positions: pd.DataFrame,
    as_of: Any,
) -> pd.DataFrame:
    """Month-by-month series for the trailing months ending with the month of T, from the
    engine's KPIs of each month (``months``: (label "YYYY-MM", KPIs at the month's end, at T for
    the month of T), see :meth:`arinsight.engine.period.PeriodResults.months`) and the positions
    at T.

    Columns: ``month`` ("YYYY-MM"), ``month_end``, ``billed`` (credit sales of the month),
    ``collections`` (cash received in the month, applied or not), ``write_offs`` and
    ``credit_notes`` (dated in the month, as booked; 0 without adjustments: never cash), ``paid``
    (of the invoices billed that month, the amount paid by T, overpayments excluded),
    ``adjusted`` (of the same invoices, what credit notes and write-offs took off them by T:
    ``amount - open_amount - paid``), ``unpaid`` (their open amount at T: ``billed - paid -
    adjusted``), ``open_ar`` and ``overdue_ar`` at the month end, ``dso`` (the month's DSO, NaN
    without sales). A month before the ledger starts has zeros.
    """
    if not len(months):
        raise ValueError("trailing_months: expected at least 1 month")
    require_columns(
        positions, ["invoice_date", "amount", "paid_to_date", "open_amount"], "positions"
    )
    t = as_date(as_of)
    labels = [label for label, _ in months]
    month_of = positions["invoice_date"].dt.strftime("%Y-%m").to_numpy()
    amount = positions["amount"].to_numpy()
    paid = np.minimum(positions["paid_to_date"].to_numpy(), amount)
    adjusted = amount - positions["open_amount"].to_numpy() - paid

    def by_month(per_invoice: np.ndarray) -> np.ndarray:
        sums = pd.Series(per_invoice).groupby(month_of).sum()
        return sums.reindex(labels).fillna(0.0).round(2).to_numpy() + 0.0

    def value(row: Mapping[str, Any], key: str) -> float:
        v = row.get(key)
        return 0.0 if v is None else float(v)

    out = pd.DataFrame({"month": labels})
    ends = pd.to_datetime(out["month"] + "-01") + pd.offsets.MonthEnd(0)
    out["month_end"] = ends.where(ends <= t, t)
    for col in ("credit_sales", "collections", "write_offs", "credit_notes"):
        out[col] = [round(value(row, col), 2) + 0.0 for _, row in months]
    out = out.rename(columns={"credit_sales": "billed"})
    out["paid"] = by_month(paid)
    out["adjusted"] = by_month(adjusted)
    out["unpaid"] = (out["billed"] - out["paid"] - out["adjusted"]).round(2) + 0.0
    for col in ("open_ar", "overdue_ar"):
        out[col] = [round(value(row, col), 2) + 0.0 for _, row in months]
    out["dso"] = [np.nan if row.get("dso") is None else round(row["dso"], 2) for _, row in months]
    return out


def invoice_explorer_table(positions: pd.DataFrame) -> pd.DataFrame:
    """Every invoice of the positions at T with its customer (the site's invoice explorer).

    Columns: :data:`EXPLORER_COLUMNS` (``payment_status``: "Paid", "Open - current", "Overdue",
    "Credit", "Written off"). Sorted by invoice date then invoice id.
    """
    require_columns(
        positions, [*(c for c in EXPLORER_COLUMNS if c != "payment_status"), "status"], "positions"
    )
    out = positions.assign(payment_status=positions["status"].map(STATUS_LABELS).astype("str"))[
        EXPLORER_COLUMNS
    ]
    return out.sort_values(["invoice_date", "invoice_id"], kind="stable").reset_index(drop=True)


def overdue_invoice_list(positions: pd.DataFrame, min_days_past_due: int = 1) -> pd.DataFrame:
    """Open invoices at least ``min_days_past_due`` days past due at T, oldest first.

    The explorer's columns; sorted by days past due (descending), then open amount (descending),
    then invoice id, so collectors start with the oldest, largest items.
    """
    if int(min_days_past_due) < 1:
        raise ValueError("min_days_past_due: expected at least 1 (0 would list current invoices)")
    require_columns(positions, ["days_past_due"], "positions")
    table = invoice_explorer_table(
        positions.loc[positions["days_past_due"] >= int(min_days_past_due)]
    )
    return table.sort_values(
        ["days_past_due", "open_amount", "invoice_id"],
        ascending=[False, False, True],
        kind="stable",
    ).reset_index(drop=True)


def customers_over_credit_limit(balances: pd.DataFrame) -> pd.DataFrame:
    """Customers whose open AR at T exceeds their credit limit, largest excess first, from
    :func:`customer_balances`.

    Columns: customer_id, customer_name, region, credit_limit, open_ar, over_limit_by,
    overdue_amount.
    """
    require_columns(balances, ["customer_id", "over_limit", "over_limit_by"], "customer balances")
    cols = [
        "customer_id",
        "customer_name",
        "region",
        "credit_limit",
        "open_ar",
        "over_limit_by",
        "overdue_amount",
    ]
    bal = balances.loc[balances["over_limit"], [c for c in cols if c in balances.columns]]
    return bal.sort_values(
        ["over_limit_by", "customer_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def top_customers(balances: pd.DataFrame, top_n: int = 10) -> pd.DataFrame:
    """The ``top_n`` customers with the largest pending (open) balance at T, from
    :func:`customer_balances`.

    Columns: customer_id, customer_name, region, industry, open_ar, overdue_amount,
    overdue_invoices, max_days_past_due, credit_limit, over_limit. Customers with nothing open are
    left out; ties are broken by customer id.
    """
    if int(top_n) < 1:
        raise ValueError(f"top_n: expected at least 1, got {top_n!r}")
    require_columns(balances, ["customer_id", "open_ar"], "customer balances")
    cols = [
        "customer_id",
        "customer_name",
        "region",
        "industry",
        "open_ar",
        "overdue_amount",
        "overdue_invoices",
        "max_days_past_due",
        "credit_limit",
        "over_limit",
    ]
    bal = balances.loc[balances["open_ar"] > 0, [c for c in cols if c in balances.columns]]
    bal = bal.sort_values(["open_ar", "customer_id"], ascending=[False, True], kind="stable")
    return bal.head(int(top_n)).reset_index(drop=True)


def _behaviour(pos: pd.DataFrame, t: pd.Timestamp, window_months: int) -> pd.DataFrame:
    """Invoices of the window whose payment outcome is known at T, with their delay in days.

    Known outcome = fully paid by T, or open and past due at T. Delay = ``max(0, days_late)`` when
    paid, days past due so far when open; ``late`` = delay > 0. The window is the invoices dated
    in the ``window_months`` months ending with the month of T.
    """
    if int(window_months) < 1:
        raise ValueError(f"window_months: expected at least 1, got {window_months!r}")
    start = month_ends(t, window_months)[0] - pd.offsets.MonthBegin(1)
    paid = pos["paid_date"].notna()
    known = (paid | (pos["status"] == "overdue")) & (pos["invoice_date"] >= start)
    out = pos.loc[known].copy()
    out["delay"] = np.where(
        out["paid_date"].notna(), out["days_late"].clip(lower=0), out["days_past_due"]
    ).astype("float64")
    out["late"] = out["delay"] > 0
    return out


def delays_by_industry(
    positions: pd.DataFrame, as_of: Any, window_months: int = 12
) -> pd.DataFrame:
    """Payment delays by industry: who pays late, and how late.

    Over the invoices of the ``window_months`` months ending at T whose outcome is known at T (see
    :func:`_behaviour`): ``invoices``, ``late_invoices``, ``late_rate_pct`` (late / invoices * 100),
    ``average_delay_days`` (mean delay, on-time = 0); plus ``overdue_amount`` = open AR past due at T
    (all invoices). The industry is the invoice's segment (its customer's, see docs/own-data.md);
    invoices without one are grouped as "Unknown". Sorted by late rate.
    """
    t = as_date(as_of)
    require_columns(positions, ["industry", "status", "paid_date", "days_late"], "positions")
    pos = positions.assign(industry=positions["industry"].fillna("Unknown"))
    beh = _behaviour(pos, t, window_months)
    od = pos.loc[pos["status"] == "overdue"].groupby("industry")["open_amount"].sum()
    out = beh.groupby("industry").agg(
        invoices=("late", "size"),
        late_invoices=("late", "sum"),
        average_delay_days=("delay", "mean"),
    )
    out = out.join(od.rename("overdue_amount"), how="outer")
    out["invoices"] = out["invoices"].fillna(0).astype("int64")
    out["late_invoices"] = out["late_invoices"].fillna(0).astype("int64")
    out["overdue_amount"] = out["overdue_amount"].fillna(0.0).round(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["late_rate_pct"] = np.where(
            out["invoices"] > 0, out["late_invoices"] / out["invoices"] * 100, np.nan
        ).round(2)
    out["average_delay_days"] = out["average_delay_days"].round(2)
    out = out.reset_index().rename(columns={"index": "industry"})
    cols = [
        "industry",
        "invoices",
        "late_invoices",
        "late_rate_pct",
        "average_delay_days",
        "overdue_amount",
    ]
    return (
        out[cols]
        .sort_values(
            ["late_rate_pct", "industry"],
            ascending=[False, True],
            na_position="last",
            kind="stable",
        )
        .reset_index(drop=True)
    )


_MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _month_index(dates: Any) -> np.ndarray:
    """Months since year 0 of datetime64 values (for grouping by calendar month)."""
    return np.asarray(dates, dtype="datetime64[M]").astype("int64")


def seasonality(positions: pd.DataFrame, cash_months: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """The seasonal pattern by calendar month, over the whole ledger up to T.

    ``positions``: the positions at T; ``cash_months``: cash received per month up to T (month,
    collections; see :meth:`arinsight.engine.period.PeriodResults.cash_months`). For each
    calendar month (1-12): ``billed_avg`` and ``collections_avg`` = mean monthly billing and
    cash received over the years observed (a month with no activity counts as 0 within the
    observed span), ``energy_kwh_avg`` = mean monthly billed usage, ``late_rate_pct`` = share of
    the invoices *due* in that calendar month (outcome known at T) that were paid late or are
    overdue, and ``years`` = how many times the month occurs in the span.
    """
    t = as_date(as_of)
    cols = [
        "month",
        "month_name",
        "years",
        "billed_avg",
        "collections_avg",
        "energy_kwh_avg",
        "late_rate_pct",
    ]
    require_columns(positions, ["invoice_date", "amount", "energy_kwh"], "positions")
    if not len(positions):
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    first = int(_month_index(positions["invoice_date"].to_numpy()).min())
    last = int(_month_index(np.array([np.datetime64(t, "D")]))[0])
    n = last - first + 1

    def totals(dates: np.ndarray, weights: np.ndarray) -> np.ndarray:
        keep = ~np.isnan(weights)
        slot = _month_index(dates[keep]) - first
        ok = (slot >= 0) & (slot < n)
        return np.bincount(slot[ok], weights=weights[keep][ok], minlength=n)[:n]

    dates = positions["invoice_date"].to_numpy()
    cal = (np.arange(first, last + 1) % 12) + 1
    frame = pd.DataFrame(
        {
            "month": cal,
            "billed": totals(dates, positions["amount"].to_numpy(dtype="float64")),
            "collections": totals(
                cash_months["month"].to_numpy(),
                cash_months["collections"].to_numpy(dtype="float64"),
            ),
            "energy": totals(dates, positions["energy_kwh"].to_numpy(dtype="float64")),
        }
    )
    avg = frame.groupby("month").agg(
        years=("billed", "size"),
        billed_avg=("billed", "mean"),
        collections_avg=("collections", "mean"),
        energy_kwh_avg=("energy", "mean"),
    )
    beh = _behaviour(positions, t, n)
    beh = beh.loc[beh["due_date"] <= t]
    late = beh.groupby(beh["due_date"].dt.month)["late"].mean() * 100
    avg = avg.reindex(range(1, 13))
    avg["late_rate_pct"] = late.reindex(range(1, 13)).astype("float64").round(2)
    avg["years"] = avg["years"].fillna(0).astype("int64")
    for c in ("billed_avg", "collections_avg", "energy_kwh_avg"):
        avg[c] = avg[c].round(2)
    avg = avg.reset_index().rename(columns={"index": "month"})
    avg["month_name"] = [_MONTH_NAMES[m - 1] for m in avg["month"]]
    return avg[cols]


def _kwh(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}"


def energy_vs_payment(
    positions: pd.DataFrame, as_of: Any, n_bands: int = 5, window_months: int = 12
) -> pd.DataFrame:
    """Energy usage against payment behaviour, by customer usage band (seed 000).

    Each customer's usage = kWh billed on its invoices of the ``window_months`` months ending at T.
    Customers with usage are split into ``n_bands`` equal-count bands (quantiles; fewer when usage
    values repeat). Per band: ``band`` (kWh range), ``customers``, ``usage_kwh`` (total),
    ``invoices`` with a known outcome, ``late_rate_pct`` (late / known * 100, see
    :func:`_behaviour`), ``overdue_amount`` at T and ``overdue_per_customer``.
    """
    if int(n_bands) < 1:
        raise ValueError(f"n_bands: expected at least 1, got {n_bands!r}")
    t = as_date(as_of)
    cols = [
        "band",
        "customers",
        "usage_kwh",
        "invoices",
        "late_rate_pct",
        "overdue_amount",
        "overdue_per_customer",
    ]
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in cols}).astype({"band": "str"})
    require_columns(positions, ["customer_id", "invoice_date", "energy_kwh"], "positions")
    pos = positions
    start = month_ends(t, window_months)[0] - pd.offsets.MonthBegin(1)
    energy = pos["energy_kwh"].to_numpy(dtype="float64")
    recent = (pos["invoice_date"] >= start).to_numpy() & ~np.isnan(energy)
    usage = pd.Series(energy[recent]).groupby(pos["customer_id"].to_numpy()[recent]).sum()
    usage = usage[usage > 0]
    if usage.empty:
        return empty
    q = min(int(n_bands), usage.nunique())
    codes, edges = pd.qcut(usage.rank(method="first"), q, labels=False, retbins=True)
    band_of = pd.Series(codes.astype("int64"), index=usage.index)
    ranges = usage.groupby(band_of).agg(["min", "max", "sum", "size"])
    labels = [
        f"{_kwh(lo)} kWh" if _kwh(lo) == _kwh(hi) else f"{_kwh(lo)}-{_kwh(hi)} kWh"
        for lo, hi in zip(ranges["min"], ranges["max"], strict=True)
    ]
    beh = _behaviour(pos, t, window_months)
    beh = beh.assign(band=beh["customer_id"].map(band_of)).dropna(subset=["band"])
    late = beh.groupby("band")["late"].agg(["size", "sum"])
    od = (
        pos.loc[pos["status"] == "overdue"]
        .assign(band=lambda d: d["customer_id"].map(band_of))
        .dropna(subset=["band"])
        .groupby("band")["open_amount"]
        .sum()
    )
    out = pd.DataFrame(
        {
            "band": labels,
            "customers": ranges["size"].to_numpy().astype("int64"),
            "usage_kwh": ranges["sum"].round(2).to_numpy(),
        },
        index=ranges.index,
    )
    out["invoices"] = late["size"].reindex(out.index).fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["late_rate_pct"] = (late["sum"].reindex(out.index) / out["invoices"] * 100).round(2)
    out["overdue_amount"] = od.reindex(out.index).fillna(0.0).round(2)
    out["overdue_per_customer"] = (out["overdue_amount"] / out["customers"]).round(2)
    out["band"] = out["band"].astype("str")
    return out[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# display and JSON
# --------------------------------------------------------------------------------------------


def kpi_summary_table(
    current: Mapping[str, Any],
    comparison: Mapping[str, Mapping[str, Any]] | None = None,
    currency: str = "USD",
    keys: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per KPI: label, value, previous value, change and trend (arrow and good/bad).

    The trend column reads "▲ better", "▼ worse", "= same", or the arrow with "not rated" for
    KPIs that are neither good nor bad, "n/a" without a previous value; all values are formatted
    text ("n/a" where undefined, with the reason from ``current["na_reasons"]`` when there is
    one). Without ``keys``: every KPI of the registry in ``current`` except those that duplicate
    another (overdue amount = overdue AR, total revenue = credit sales).
    """
    comparison = comparison or {}
    keys = list(keys) if keys is not None else [k for k in current if kpi_registry.shown(k)]
    reasons = current.get("na_reasons") or {}
    rows = []
    for key in keys:
        unit = KPI_UNITS.get(key, "")
        cmp = comparison.get(key, {})
        value = kpi_registry.format_value(current.get(key), unit, currency, style="compact")
        if current.get(key) is None and reasons.get(key):
            value = f"n/a ({reasons[key]})"
        arrow = {"up": "▲", "down": "▼", "flat": "="}.get(cmp.get("direction"), "")
        rated = cmp.get("assessment") or ("not rated" if arrow else "")
        trend = f"{arrow} {rated}".strip()
        change = cmp.get("change")
        change_text = kpi_registry.format_value(change, unit, currency, True, style="compact")
        if unit == "percent" and change is not None:
            change_text = change_text.replace("%", " pp")  # percentage points
        rows.append(
            {
                "KPI": KPI_LABELS.get(key, key),
                "Value": value,
                "Previous": (
                    kpi_registry.format_value(cmp.get("previous"), unit, currency, style="compact")
                    if cmp
                    else "n/a"
                ),
                "Change": change_text,
                "Trend": trend or "n/a",
            }
        )
    return pd.DataFrame(rows, columns=["KPI", "Value", "Previous", "Change", "Trend"])
