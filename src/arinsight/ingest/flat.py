"""Flat exports: payments, customers and invoice segments from one row per invoice.

``derive_payments`` turns each row's payment state into a payment, ``derive_customers`` the rows'
distinct customer ids into the customer table (counting conflicting attributes), and
``segment_by: invoice`` keeps each invoice's own region, industry and customer type. See
``docs/own-data.md`` for the user's view; the rules are in the docstrings below.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import SourceError
from arinsight.ingest.canonical import number_format, to_canonical
from arinsight.ingest.parse import as_text, parse_numbers
from arinsight.schemas import CANONICAL, SEGMENT_COLUMNS

#: Status values that mean "paid in full" when ``derive_payments.paid_values`` is not given.
DEFAULT_PAID_VALUES = ("paid", "closed", "settled", "cleared")
#: Status words that say an invoice is not (fully) paid (``unpaid_values``, case-insensitive).
#: A status word in neither list is an error naming it: a word we do not know never silently
#: means "unpaid" (a German "Bezahlt" read as unpaid made open AR 15 times too high).
DEFAULT_UNPAID_VALUES = (
    "open", "unpaid", "not paid", "pending", "outstanding", "due", "overdue", "past due",
    "partial", "partially paid", "part paid", "issued", "sent", "posted", "disputed",
    "in dispute",
)  # fmt: skip
#: Column of a derived payment: the export had a paid amount (or a paid status) but no date.
UNDATED = "_undated"
#: Flag column of a derived payment dated by ``undated_payment_date``.
DATE_ASSUMED = "payment_date_assumed"


def _column(raw: pd.DataFrame, col: str | None, option: str, name: str) -> pd.Series | None:
    """The values of a source column named in an option (None when the option is not set)."""
    if col is None:
        return None
    if col not in raw.columns:
        raise SourceError(
            name,
            f"column {col!r} ({option}) not found; columns present: "
            f"{', '.join(map(repr, raw.columns))}",
        )
    return raw[col]


def _present(values: pd.Series) -> np.ndarray:
    return (as_text(values) != "").to_numpy()


def derive_payments(
    raw: pd.DataFrame, inv: pd.DataFrame, spec: dict[str, Any], src: dict[str, Any], name: str
) -> pd.DataFrame:
    """Payments of a flat export: one per invoice row that says it was (partly) paid.

    A row is a payment when it has a paid date, a paid status (``status`` column whose value is
    one of ``paid_values``, case-insensitive; default Paid / Closed / Settled / Cleared), or a
    non-zero paid amount (``amount`` column). Its amount is the paid-amount column when mapped and
    not empty, else the invoice amount (a paid date or status without an amount means paid in
    full). A row with a paid amount of 0 and no date or paid status is an unpaid invoice, not a
    payment. The payment id is ``<invoice_id>-P``. ``raw`` and ``inv`` are the same rows in the
    same order (as read and canonical).

    A payment without a date (a pending invoice with a partial amount, or a status-only export)
    is never dropped: with ``undated_payment_date: YYYY-MM-DD`` (typically the export date) it is
    dated that day and flagged ``payment_date_assumed``; without it the row keeps an empty date
    and is marked so that cleaning quarantines it as ``undated_payment``.
    """
    if not spec.get("payment_date") and not spec.get("status") and not spec.get("amount"):
        raise SourceError(
            name,
            "derive_payments needs payment_date: <paid-date column>, status: <status column> "
            "or amount: <paid-amount column>",
        )
    undated_date = spec.get("undated_payment_date")
    if undated_date is not None:
        try:
            undated_date = pd.Timestamp(str(undated_date)).normalize()
        except ValueError as exc:
            raise SourceError(
                name, f"derive_payments.undated_payment_date: {undated_date!r} is not a date"
            ) from exc
    paid_values = _words(spec.get("paid_values", DEFAULT_PAID_VALUES))
    unpaid_values = _words(spec.get("unpaid_values", DEFAULT_UNPAID_VALUES))

    n = len(raw)
    index = raw.index
    date = _column(raw, spec.get("payment_date"), "derive_payments.payment_date", name)
    paid_amount = _column(raw, spec.get("amount"), "derive_payments.amount", name)
    status = _column(raw, spec.get("status"), "derive_payments.status", name)
    method = _column(raw, spec.get("method"), "derive_payments.method", name)
    invoice_col = (src.get("columns") or {}).get("amount", "amount")
    invoice_amount = _column(raw, invoice_col, "columns.amount", name)

    has_date = _present(date) if date is not None else np.zeros(n, dtype=bool)
    paid_status = np.zeros(n, dtype=bool)
    if status is not None:
        words = as_text(status).str.strip().str.casefold()
        paid_status = words.isin(paid_values).to_numpy()
        _check_status_words(status, words, paid_values | unpaid_values, name)
    if paid_amount is not None:
        has_amount = _present(paid_amount)
        value, _, problem = parse_numbers(paid_amount, number_format(src), money=True)
        # a paid amount counts unless it reads as exactly 0; unreadable text counts, so that
        # cleaning says why
        nonzero = has_amount & ~((value == 0) & (problem == "")).to_numpy()
        amount = paid_amount.where(has_amount, invoice_amount)
    else:
        nonzero = np.zeros(n, dtype=bool)
        amount = invoice_amount
    is_payment = has_date | paid_status | nonzero
    undated = is_payment & ~has_date
    dates = date if date is not None else pd.Series([None] * n, index=index, dtype=object)
    if undated_date is not None:
        dates = dates.astype(object).where(~undated, undated_date)
    pay = pd.DataFrame(
        {
            "payment_id": inv["invoice_id"].fillna("").astype(str).to_numpy() + "-P",
            "invoice_id": inv["invoice_id"].fillna("").astype(str).to_numpy(),
            "customer_id": inv["customer_id"].fillna("").astype(str).to_numpy(),
            "payment_date": dates.to_numpy(dtype=object),
            "amount": amount.to_numpy(dtype=object),
            "method": (method.to_numpy(dtype=object) if method is not None else [""] * n),
        },
        index=index,
    )[is_payment]
    options = {k: src.get(k) for k in ("on_bad_value", "date_format", "decimal", "thousands")}
    options["round_money"] = src.get("round_money", False)
    out = to_canonical("payments", pay, {k: v for k, v in options.items() if v is not None}, name)
    flags = undated[is_payment]
    out[DATE_ASSUMED] = flags & (undated_date is not None)
    out[UNDATED] = flags & (undated_date is None)
    return out


def _words(values: Any) -> set[str]:
    if isinstance(values, str) or not isinstance(values, list | tuple):
        values = [values]
    return {str(v).strip().casefold() for v in values}


def _check_status_words(status: pd.Series, words: pd.Series, known: set[str], name: str) -> None:
    """Every non-empty status word is a paid or an unpaid word, or the source is refused with
    the words it does not know (rows and the first row of each), so that ``check`` names them."""
    unknown = (words != "") & ~words.isin(known)
    if not unknown.any():
        return
    at = unknown.to_numpy()
    found = pd.DataFrame(
        {
            "word": words.to_numpy()[at],
            "shown": as_text(status).str.strip().to_numpy()[at],  # as first written
            "row": status.index.to_numpy()[at],
        }
    )
    listed = [
        f"{g['shown'].iloc[0]!r} ({len(g):,} row{'s' if len(g) > 1 else ''}, first row "
        f"{g['row'].iloc[0]})"
        for _, g in found.groupby("word", sort=True)
    ]
    more = f" and {len(listed) - 10} more" if len(listed) > 10 else ""
    raise SourceError(
        name,
        f"status words not recognised: {', '.join(listed[:10])}{more}; list each under "
        "derive_payments.paid_values or derive_payments.unpaid_values",
        column="status",
    )


def derive_customers(
    inv: pd.DataFrame,
    invoices_raw: pd.DataFrame,
    spec: dict | bool,
    name: str,
    values: dict | None = None,
    src: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """Customers from the invoices' distinct customer ids, and the conflicts between rows.

    Each attribute mapped in ``spec`` (customer_name, region, ...) takes the value of the
    customer's most recent invoice (latest invoice date; on a tie, the row further down the
    file) that has one: a blank cell never overwrites a known value. A customer whose rows carry different non-empty values of an attribute is a
    *conflict*; returns per attribute ``{"customers": customers with more than one value,
    "invoices": invoice rows whose value differs from the one kept}`` (attributes without
    conflicts are left out). ``inv`` and ``invoices_raw`` are the same rows in the same order
    (canonical and as read); each customer keeps the file and row of the invoice its values came
    from. Numbers (a credit limit, payment terms) are read with the invoices source's
    ``decimal``, ``thousands`` and ``round_money`` (``src``): a flat export writes its credit
    limits as it writes its amounts (``50.000,00``).
    """
    cols = spec if isinstance(spec, dict) else {}
    raw = pd.DataFrame(
        {
            "customer_id": inv["customer_id"].fillna("").astype(str).to_numpy(),
            "__file": inv["_source_file"].astype(str).to_numpy(),
        },
        index=inv["_source_row"].to_numpy(),
    )
    for canon, source_col in cols.items():
        if canon not in CANONICAL["customers"]:
            raise SourceError(name, f"derive_customers maps unknown column {canon!r}")
        if source_col not in invoices_raw.columns:
            raise SourceError(
                name, f"column {source_col!r} (derive_customers.{canon}) not found", column=canon
            )
        raw[canon] = as_text(invoices_raw[source_col]).to_numpy()
    for canon, table_map in (values or {}).items():
        if canon in cols:
            raw[canon] = raw[canon].replace({str(k): str(v) for k, v in table_map.items()})
    order = pd.DataFrame(
        {
            "date": inv["invoice_date"].to_numpy() if "invoice_date" in inv else pd.NaT,
            "pos": np.arange(len(raw)),
        }
    )
    raw = raw.iloc[order.sort_values(["date", "pos"], na_position="first", kind="stable")["pos"]]
    raw = raw[raw["customer_id"] != ""]
    conflicts: dict[str, dict[str, int]] = {}
    latest = raw.drop_duplicates("customer_id", keep="last")
    kept = latest.set_index("customer_id")
    for canon in cols:
        if canon == "customer_id":
            continue
        filled = raw[raw[canon] != ""]
        # a blank never overwrites a known value: each attribute is the latest non-blank one
        known = filled.drop_duplicates("customer_id", keep="last").set_index("customer_id")[canon]
        kept[canon] = known.reindex(kept.index).fillna("").to_numpy()
        distinct = filled.groupby("customer_id")[canon].nunique()
        n_customers = int((distinct > 1).sum())
        if n_customers:
            chosen = filled["customer_id"].map(kept[canon])
            conflicts[canon] = {
                "customers": n_customers,
                "invoices": int((filled[canon] != chosen).sum()),
            }
    latest = kept.reset_index()[latest.columns].set_axis(latest.index).sort_index(kind="stable")
    options: dict[str, Any] = {"on_bad_value": "quarantine"}
    for key in ("decimal", "thousands", "round_money"):
        if (src or {}).get(key) is not None:
            options[key] = src[key]
    return to_canonical("customers", latest, options, name), conflicts


def invoice_segments(
    inv: pd.DataFrame, raw: pd.DataFrame, src: dict[str, Any], name: str
) -> pd.DataFrame:
    """``segment_by: invoice``: region, industry and customer type from each invoice's own row.

    A segment column mapped under ``columns:`` is already on the invoice; otherwise the column
    named for it under ``derive_customers:`` is used (with the source's value mapping). ``inv``
    and ``raw`` are the same rows in the same order.
    """
    derive = src.get("derive_customers") if isinstance(src.get("derive_customers"), dict) else {}
    mapped = src.get("columns") or {}
    values = src.get("values") or {}
    out = inv.copy()
    found = []
    for canon in SEGMENT_COLUMNS:
        if canon in mapped or canon in raw.columns:
            found.append(canon)
            continue
        col = derive.get(canon)
        if col is None:
            continue
        text = pd.Series(as_text(raw[col]).to_numpy(), index=out.index)
        if canon in values:
            text = text.replace({str(k): str(v) for k, v in values[canon].items()})
        out[canon] = text.where(text != "")
        found.append(canon)
    if not found:
        raise SourceError(
            name,
            "segment_by: invoice needs region, industry or customer_type on the invoice rows "
            "(map them under columns: or derive_customers:)",
        )
    return out
