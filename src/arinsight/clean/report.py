"""What cleaning did, for the Data Quality page and the notebook: the summary sentences, the
flat export's open points, the counts by reason and a sample of the quarantine."""

from __future__ import annotations

import pandas as pd

from arinsight.clean.result import CleanResult


def reason_counts(result: CleanResult) -> pd.DataFrame:
    """A table x reason matrix of counts (0 where a rule found nothing), for the figure."""
    df = result.summary_table()
    if df.empty:
        return pd.DataFrame()
    return df.pivot_table(
        index="reason", columns="table", values="rows", aggfunc="sum", fill_value=0
    )


def summary_markdown(result: CleanResult) -> str:
    """What cleaning did, in two sentences for the top of the Data Quality page: rows read,
    kept, quarantined and dropped (balanced), then what a flat export left open (undated paid
    amounts held back or dated, attributes that differ between a customer's rows)."""
    s = result.summary
    totals = {
        k: sum(t[k] for t in s["tables"].values())
        for k in ("read", "kept", "quarantined", "duplicates_dropped")
    }
    text = (
        f"**{totals['read']:,} rows read**: {totals['kept']:,} kept, {totals['quarantined']:,} "
        f"quarantined with a reason, {totals['duplicates_dropped']:,} exact duplicates dropped; "
        "every row is accounted for."
    )
    currency = s.get("reporting_currency", "")
    undated = s.get("undated_payments") or {}
    held, dated = undated.get("quarantined") or {}, undated.get("dated_by_assumption") or {}
    notes = []
    if held.get("rows"):
        notes.append(
            f"{held['rows']:,} paid amounts without a payment date held back "
            f"({held['amount']:,.2f} {currency})"
        )
    if dated.get("rows"):
        notes.append(
            f"{dated['rows']:,} paid amounts without a date dated by the export date "
            f"({dated['amount']:,.2f} {currency})"
        )
    early = (s.get("reasons") or {}).get("invoices", {}).get("due_before_invoice", 0)
    if early:
        notes.append(
            f"{early:,} invoice{'s are' if early != 1 else ' is'} due before {'their' if early != 1 else 'its'} "
            "invoice date (kept, overdue from the due date as given)"
        )
    for attribute, c in sorted((s.get("customer_conflicts") or {}).items()):
        notes.append(
            f"{attribute.replace('_', ' ')} differs between the rows of {c['customers']:,} "
            f"customer{'s' if c['customers'] != 1 else ''}"
        )
    if notes:
        text += " **Needs attention:** " + "; ".join(notes) + "."
    return text


def flat_export_table(result: CleanResult) -> pd.DataFrame:
    """What a flat export left open, for the Data Quality page: payments without a date
    (quarantined, or dated by ``undated_payment_date``) with their amounts, and customer
    attributes whose value differs between a customer's invoice rows (customers affected,
    invoice rows whose value was overruled by the most recent one). Empty when none."""
    s = result.summary
    rows = []
    undated = s.get("undated_payments") or {}
    currency = s.get("reporting_currency", "")
    for key, what in (
        ("quarantined", "Paid amounts without a payment date (held back)"),
        ("dated_by_assumption", "Paid amounts without a date, dated by the export date"),
    ):
        n = undated.get(key) or {}
        if n.get("rows"):
            amount = f"{n['amount']:,.2f} {currency}".strip()
            rows.append({"What": what, "Rows": n["rows"], "Amount": amount})
    by = "each invoice's own row" if s.get("segment_by") == "invoice" else "the latest invoice"
    for attribute, c in sorted((s.get("customer_conflicts") or {}).items()):
        rows.append(
            {
                "What": f"Customers whose {attribute.replace('_', ' ')} differs between rows "
                f"({c['invoices']:,} invoice rows differ; reported by {by})",
                "Rows": c["customers"],
                "Amount": "",
            }
        )
    return pd.DataFrame(rows, columns=["What", "Rows", "Amount"])


def quarantine_sample(result: CleanResult, per_reason: int = 3) -> pd.DataFrame:
    """The first rows of each quarantine reason (file, row, key, detail), for the notebook."""
    q = result.quarantine
    if q.empty:
        return q[["table", "reason", "source_file", "source_row", "key", "detail"]]
    return (
        q.groupby(["table", "reason"], sort=True, group_keys=False)
        .head(per_reason)[["table", "reason", "source_file", "source_row", "key", "detail"]]
        .reset_index(drop=True)
    )
