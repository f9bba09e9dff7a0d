"""One clean run: the tables cleaned in dependency order (each reference checked against the
*clean* parent), currencies converted, overpayments flagged, segments set, and the counts that
balance rows read against rows kept, quarantined and dropped."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight import config
from arinsight.clean.currency import convert_adjustments, convert_currency, ensure_cents
from arinsight.clean.quarantine import Rules
from arinsight.clean.result import CleanResult, check_conservation
from arinsight.clean.rules import (
    clean_adjustments,
    clean_commissions,
    clean_customers,
    clean_disputes,
    clean_invoices,
    clean_payments,
    clean_promises,
    clean_sales_reps,
)
from arinsight.clean.write import Finals
from arinsight.ingest import DATE_ASSUMED, empty_ingested
from arinsight.ingest.parse import cents_column
from arinsight.ledger import lookup, positions
from arinsight.schemas import (
    CANONICAL,
    SEGMENT_COLUMNS,
)

TABLE_ORDER = (
    "customers",
    "sales_reps",
    "invoices",
    "payments",
    "commissions",
    "adjustments",
    "disputes",
    "promises",
)
#: Tables a dataset may lack altogether (a caller may leave them out of the mapping it cleans).
OPTIONAL_TABLES = ("adjustments", "disputes", "promises")


def _as_date(value: Any) -> pd.Timestamp:
    """The run date (today when none is given; :func:`arinsight.periods.as_date`)."""
    from arinsight.periods import as_date

    if value is None or value == "":
        return pd.Timestamp.today().normalize()
    return pd.Timestamp(as_date(value, "run_date"))


def _applied(invoices: pd.DataFrame, payments: pd.DataFrame, at: np.ndarray | None) -> pd.Series:
    """Payments applied to each invoice (sum of their amounts, 0 when none). ``at``: each
    payment's position in ``invoices`` (-1: none) when known: then the exact cents are added
    (whole numbers, exact in float64 up to 2**53 cents) by one ``bincount`` pass, and the sum
    divided by 100 once; otherwise one group per invoice, its amounts added in the order read.
    Both give the same comparison with an invoice amount to the half cent."""
    c = cents_column("amount")
    if at is None or c not in payments:
        applied = payments.dropna(subset=["invoice_id"]).groupby("invoice_id")["amount"].sum()
        return lookup(invoices["invoice_id"], applied.astype(float)).fillna(0.0)
    matched = at >= 0
    cents = payments[c].to_numpy(dtype="float64", na_value=0.0)[matched]
    applied = np.bincount(at[matched], weights=cents, minlength=len(invoices)) / 100
    return pd.Series(applied, index=invoices.index)


def _segments(
    invoices: pd.DataFrame,
    customers: pd.DataFrame,
    segment_by: str = "customer",
    at: np.ndarray | None = None,
) -> pd.DataFrame:
    """Region, industry and customer type each invoice is reported under (``SEGMENT_COLUMNS``).

    ``segment_by="customer"`` (default): the customer's master data, for every invoice.
    ``segment_by="invoice"``: the invoice row's own value, the customer's where the row has none.
    ``at``: each invoice's position in ``customers`` when known (customer ids unique).
    """
    if segment_by not in ("customer", "invoice"):
        raise ValueError(f"segment_by: expected 'customer' or 'invoice', got {segment_by!r}")
    out = invoices.copy(deep=False)
    master = customers.drop_duplicates("customer_id").set_index("customer_id")
    if at is None or len(master) != len(customers):
        at = positions(out["customer_id"], master.index)  # once for the three columns
    for col in SEGMENT_COLUMNS:
        own = out[col] if col in out else pd.Series(None, index=out.index, dtype="str")
        from_customer = (
            lookup(out["customer_id"], master[col], at)
            if col in master
            else pd.Series(None, index=out.index, dtype="str")
        )
        out[col] = (
            own.where(own.notna(), from_customer) if segment_by == "invoice" else from_customer
        )
    return out


def clean(
    tables: Mapping[str, pd.DataFrame],
    run_date: Any = None,
    reporting_currency: str = "USD",
    fx_rates: dict[str, float] | None = None,
    *,
    segment_by: str = "customer",
    customer_conflicts: Mapping[str, Mapping[str, int]] | None = None,
    write_to: str | Path | None = None,
    company_codes: Sequence[str] | None = None,
) -> CleanResult:
    """Apply every rule to the ingested tables; returns clean tables, quarantine and counts.

    ``run_date`` (default today) is the date of the run: event dates after it are future_date.
    ``segment_by`` says whose region/industry/type an invoice is reported under (see
    :func:`_segments`); ``company_codes`` selects the legal entities to report (None: all); ``customer_conflicts`` (from ingest's ``derive_customers``) is reported in
    the summary so the Data Quality page can show it.

    Memory: each ingested table is taken from ``tables`` once, when its turn comes (the lazy
    mapping of :func:`~arinsight.ingest.read_interim` reads its file only then), and the rows read
    are let go once its rules have run. With ``write_to`` (a folder) every clean table is written
    as soon as it is final and not kept (``result.tables`` reads it back): the monthly run
    cleans a 10M-invoice ledger holding about one copy of its two largest tables. They are
    written to a staging folder inside ``write_to``; :func:`write_processed` moves them into place
    with the quarantine and ``data_quality.json``, so a clean that fails half-way leaves the
    processed data of the last run as it was.
    """
    folder = None
    if write_to is not None:  # a staging folder inside it: write_processed moves the files in
        target = config.resolve_path(write_to)
        target.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=".clean-", dir=target))
    try:
        return _clean(
            tables,
            _as_date(run_date),
            reporting_currency,
            dict(fx_rates or {}),
            segment_by,
            customer_conflicts,
            Finals(folder),
            company_codes,
        )
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _clean(
    tables: Mapping[str, pd.DataFrame],
    run_date: pd.Timestamp,
    reporting_currency: str,
    fx_rates: dict[str, float],
    segment_by: str,
    customer_conflicts: Mapping[str, Mapping[str, int]] | None,
    finals: Finals,
    company_codes: Sequence[str] | None = None,
) -> CleanResult:
    done: dict[str, Rules] = {}

    def ingested(table: str) -> pd.DataFrame:
        if table in OPTIONAL_TABLES and table not in tables:  # older callers lack them
            return ensure_cents(table, empty_ingested(table))
        return ensure_cents(table, tables[table])

    done["customers"] = clean_customers(ingested("customers"), run_date)
    customers = done["customers"].settle()
    finals.add("customers", customers)
    done["sales_reps"] = clean_sales_reps(ingested("sales_reps"), run_date)
    finals.add("sales_reps", done["sales_reps"].settle())
    done["invoices"] = clean_invoices(
        ingested("invoices"), customers, run_date, reporting_currency, fx_rates, company_codes
    )
    aside = done["invoices"].set_aside
    invoices = done["invoices"].settle()
    done["commissions"] = clean_commissions(ingested("commissions"), invoices, run_date, aside)
    finals.add("commissions", done["commissions"].settle())
    done["payments"] = clean_payments(ingested("payments"), invoices, customers, run_date, aside)
    payments = done["payments"].settle()
    done["adjustments"] = clean_adjustments(ingested("adjustments"), invoices, run_date)
    finals.add(
        "adjustments",
        convert_adjustments(done["adjustments"].settle(), invoices),
    )
    done["disputes"] = clean_disputes(ingested("disputes"), invoices, run_date)
    finals.add(
        "disputes",
        convert_adjustments(done["disputes"].settle(), invoices),
    )
    done["promises"] = clean_promises(ingested("promises"), invoices, customers, run_date)
    finals.add("promises", done["promises"].settle())

    inv, pay = convert_currency(invoices, payments, reporting_currency)
    del invoices, payments
    inv["is_overpaid"] = _applied(inv, pay, done["payments"].invoice_at) > inv["amount"] + 0.005
    done["invoices"].flag("overpayment", int(inv["is_overpaid"].sum()))
    inv = _segments(inv, customers, segment_by, done["invoices"].customer_at)
    assumed = pay[DATE_ASSUMED].to_numpy(dtype=bool)
    undated = {
        "rows": int(assumed.sum()),
        "amount": round(float(pay["amount"].to_numpy()[assumed].sum()), 2),
    }
    for t in ("invoices", "payments"):
        done[t].release()  # the cleaned rows now live in inv / pay only
    finals.add("invoices", inv)
    del inv
    finals.add("payments", pay)
    del pay
    quarantine = pd.concat([done[t].quarantine_frame() for t in TABLE_ORDER], ignore_index=True)
    quarantine = quarantine.sort_values(
        ["table", "source_file", "source_row", "reason"], kind="stable"
    ).reset_index(drop=True)
    summary = {
        "run_date": f"{run_date:%Y-%m-%d}",
        "reporting_currency": reporting_currency,
        "tables": {
            t: {
                "read": done[t].read,
                "kept": finals.rows[t],
                "quarantined": int(sum(len(q) for q in done[t].quarantined)),
                "duplicates_dropped": done[t].dropped,
            }
            for t in CANONICAL
        },
        "reasons": {t: dict(sorted(done[t].counts.items())) for t in CANONICAL},
        "amounts": {t: dict(sorted(done[t].amounts.items())) for t in CANONICAL},
        "segment_by": segment_by,
        "company_codes": list(company_codes) if company_codes is not None else None,
        "customer_conflicts": {k: dict(v) for k, v in (customer_conflicts or {}).items()},
        "undated_payments": {
            "quarantined": {
                "rows": done["payments"].counts.get("undated_payment", 0),
                "amount": done["payments"].amounts.get("undated_payment", 0.0),
            },
            "dated_by_assumption": undated,
        },
    }
    result = CleanResult(finals.tables(), quarantine, summary)
    check_conservation(result)
    return result


def clean_ingested(
    tables: Mapping[str, pd.DataFrame],
    manifest: Mapping[str, Any],
    run_date: Any = None,
    reporting_currency: str = "USD",
    fx_rates: Mapping[str, float] | None = None,
    *,
    write_to: str | Path | None = None,
) -> CleanResult:
    """:func:`clean` of what ingest read, with the settings its manifest carries from the sources
    file: ``segment_by``, the customer conflicts, and ``reporting_currency`` / ``fx_rates``,
    which describe the data and so win over the parameters given here. ``write_to``: see
    :func:`clean`."""
    if fx_rates is not None and not isinstance(fx_rates, Mapping):  # a rates file's path
        fx_rates = config.fx_rates_of(fx_rates, "fx_rates")
    rates = {**(fx_rates or {}), **(manifest.get("fx_rates") or {})}
    return clean(
        tables,
        run_date=run_date,
        reporting_currency=manifest.get("reporting_currency") or reporting_currency,
        fx_rates=rates,
        segment_by=manifest.get("segment_by") or "customer",
        customer_conflicts=manifest.get("customer_conflicts"),
        write_to=write_to,
        company_codes=manifest.get("company_codes"),
    )
