"""Money in the clean tables: exact cents beside every amount, and amounts in the reporting
currency converted per invoice at its dated rate (the document amounts kept beside them)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from arinsight import money
from arinsight.ingest.parse import MONEY_COLUMNS, cents_column
from arinsight.ledger import lookup

#: The rate each kept invoice is converted at (a Decimal) and its date, set by the invoice rules.
RATE, RATE_DATE = "_fx_rate", "_fx_rate_date"

#: Money in the document currency, kept beside the reporting amounts (exact cents too).
DOC_MONEY: dict[str, tuple[str, ...]] = {
    "invoices": ("amount_doc",),
    "payments": ("amount_doc",),
    "adjustments": ("amount_doc",),
}


def money_columns(table: str) -> tuple[str, ...]:
    """The money columns of a clean table: the reporting amounts, then the document ones."""
    return MONEY_COLUMNS.get(table, ()) + DOC_MONEY.get(table, ())


def convert_currency(
    invoices: pd.DataFrame, payments: pd.DataFrame, reporting: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Amounts in the reporting currency beside the document amounts, exact.

    Invoices: ``currency`` the document currency (the reporting one where the source has none),
    ``amount_doc`` the amount as written, ``amount`` = ``amount_doc`` x the invoice's rate
    (:func:`arinsight.fx.invoice_rates`: the latest rate on or before the invoice date),
    rounded **per invoice to the cent, half up** (:func:`arinsight.money.convert`: 0.005 ->
    0.01); ``fx_rate`` and ``fx_rate_date`` (null for a constant rate and for the reporting
    currency) say which rate. Payments: a payment applied to an invoice is in that invoice's
    currency and converted at that invoice's rate, each payment rounded the same way; unapplied
    cash is in the reporting currency. So a sum over invoices of converted amounts can differ by
    a few cents from the sum converted once: each amount is what the ledger would book."""
    c = cents_column("amount")
    dc = cents_column("amount_doc")
    inv = invoices.copy(deep=False)
    pay = payments.copy(deep=False)
    inv["currency"] = inv["currency"].fillna(reporting)
    inv[dc] = pd.Series(pd.array(inv[c], dtype="Int64"), index=inv.index)
    pay[dc] = pd.Series(pd.array(pay[c], dtype="Int64"), index=pay.index)
    if RATE not in inv:
        # one currency: nothing to convert (every invoice, hence every payment, at rate 1)
        inv[c] = inv[dc]
        pay[c] = pay[dc]
        pay["currency"] = pd.Series(reporting, index=pay.index, dtype="str")
        inv["fx_rate"] = 1.0
        inv["fx_rate_date"] = pd.Series(pd.NaT, index=inv.index, dtype="datetime64[us]")
    else:
        inv_rate = inv[RATE].where(inv[RATE].notna(), Decimal(1))
        ids = inv["invoice_id"].to_numpy()
        rate_of = pd.Series(inv_rate.to_numpy(), index=ids, dtype=object)
        currency_of = pd.Series(inv["currency"].to_numpy(), index=ids)
        pay["currency"] = lookup(pay["invoice_id"], currency_of).fillna(reporting).astype("str")
        inv[c] = money.convert(inv[dc], inv_rate)
        pay_rate = lookup(pay["invoice_id"], rate_of)
        pay[c] = money.convert(pay[dc], pay_rate.where(pay_rate.notna(), Decimal(1)))
        inv["fx_rate"] = inv_rate.astype("float64")
        inv["fx_rate_date"] = inv[RATE_DATE].astype("datetime64[us]")
    for frame in (inv, pay):
        frame["amount"] = frame[c].astype("float64") / 100
        frame["amount_doc"] = frame[dc].astype("float64") / 100
    return inv.drop(columns=[RATE, RATE_DATE], errors="ignore"), pay


def convert_adjustments(adjustments: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Adjustments (or disputes) in the reporting currency: each is in its invoice's currency
    and converted at that invoice's rate, rounded to the cent half up (the rule of applied
    payments, :func:`convert_currency`); ``amount_doc`` keeps the amount as written (in the
    invoice's currency: what an open amount in that currency is reduced by)."""
    c = cents_column("amount")
    dc = cents_column("amount_doc")
    out = adjustments.copy(deep=False)
    out[dc] = pd.Series(pd.array(out[c], dtype="Int64"), index=out.index)
    out["amount_doc"] = out[dc].astype("float64") / 100
    if RATE not in invoices:  # one currency: every rate is 1
        out[c] = pd.Series(pd.array(out[c], dtype="Int64"), index=out.index)
    else:
        rates = invoices[RATE].where(invoices[RATE].notna(), Decimal(1)).to_numpy()
        rate_of = pd.Series(rates, index=invoices["invoice_id"].to_numpy(), dtype=object)
        rate = lookup(out["invoice_id"], rate_of)
        out[c] = money.convert(out[c], rate.where(rate.notna(), Decimal(1)))
    out["amount"] = out[c].astype("float64") / 100
    return out


def ensure_cents(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Money columns with their exact-cents companion (derived from the float when a caller
    passes a frame that ingest did not make)."""
    missing = [c for c in MONEY_COLUMNS.get(table, ()) if cents_column(c) not in df]
    if not missing:
        return df
    df = df.copy(deep=False)
    for col in missing:
        df[cents_column(col)] = pd.array(np.round(df[col].astype("float64") * 100), dtype="Int64")
    return df
