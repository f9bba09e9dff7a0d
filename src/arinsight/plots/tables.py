"""One table style for the notebooks, the website and the e-mails: escaped static HTML.

Headers are readable labels (never snake_case), money carries its currency and thousands
separators ("$1,234.50"), percentages "%" , dates ``YYYY-MM-DD`` in cells that do not wrap,
True/False as Yes/No, missing values "n/a". Numbers are right-aligned in tabular figures. A
``totals`` row sums the named columns over every row (not only the rows shown). A customer named
in a table (``customer_name`` or, without it, ``customer_id``) is marked
``<span class="ar-customer" data-customer="ID">`` so the website can link it to the customer's
page. The CSS is the site's ``arinsight.css`` (class ``ar-table``).
"""

from __future__ import annotations

import html as _html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from arinsight import kpis

NO_DATA = "No data for this selection"

#: Headers of the columns the package's tables use; others are derived from the name.
COLUMN_LABELS: dict[str, str] = {
    "customer_id": "Customer ID",
    "customer_name": "Customer",
    "invoice_id": "Invoice",
    "invoice_date": "Invoice date",
    "due_date": "Due date",
    "paid_date": "Paid on",
    "payment_date": "Payment date",
    "payment_id": "Payment",
    "open_ar": "Open balance",
    "open_amount": "Open amount",
    "overdue_amount": "Overdue",
    "credit_limit": "Credit limit",
    "over_limit_by": "Over limit by",
    "days_past_due": "Days past due",
    "days_late": "Days late",
    "paid_to_date": "Paid to date",
    "expected_overdue": "Amount at risk",
    "risk_share": "Share at risk",
    "pending_risk": "P(late), pending invoices",
    "max_probability": "Highest invoice P(late)",
    "probability_late": "P(late)",
    "open_invoices": "Open invoices",
    "rep_name": "Sales rep",
    "sales_group": "Sales group",
    "accrued_outstanding": "Accrued, unpaid",
    "earned_in_period": "Earned in period",
    "paid_in_period": "Paid in period",
    "share_pct": "Share",
    "late_rate_pct": "Late rate",
    "average_delay_days": "Average delay (days)",
}
_WORDS = {"ar": "AR", "id": "ID", "kwh": "kWh", "dso": "DSO", "cei": "CEI", "pct": "%"}


def column_label(name: str) -> str:
    """A readable header: the package's label, else "snake_case_name" -> "Snake case name"."""
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    text = str(name)
    if "_" not in text and text[:1].isupper():
        return text
    words = [_WORDS.get(w.lower(), w) for w in text.replace("_", " ").split()]
    if not words:
        return text
    first = words[0]
    words[0] = first if first in _WORDS.values() else first[:1].upper() + first[1:]
    return " ".join(words)


def _cell(value: Any, kind: str, currency: str, decimals: int, number_decimals: int = 1) -> str:
    if kind == "money":
        return kpis.format_value(value, "money", currency, style="table", decimals=decimals)
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return "n/a" if kind in ("percent", "number") else ""
    if kind == "percent":
        return f"{float(value):.1f}%"
    if kind == "share":
        return f"{float(value):.0%}"
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "number":
        return f"{float(value):,.{number_decimals}f}"
    return str(value)


def _kinds(
    df: pd.DataFrame,
    money: Sequence[str],
    percent: Sequence[str],
    share: Sequence[str],
) -> dict[str, str]:
    kinds = {}
    for col in df.columns:
        s = df[col]
        if col in money:
            kinds[col] = "money"
        elif col in percent:
            kinds[col] = "percent"
        elif col in share:
            kinds[col] = "share"
        elif pd.api.types.is_datetime64_any_dtype(s):
            kinds[col] = "date"
        elif pd.api.types.is_bool_dtype(s):
            kinds[col] = "bool"
        elif pd.api.types.is_integer_dtype(s):
            kinds[col] = "int"
        elif pd.api.types.is_float_dtype(s):
            kinds[col] = "number"
        else:
            kinds[col] = "text"
    return kinds


_ALIGN = {"money": "num", "percent": "num", "share": "num", "int": "num", "number": "num"}


def table_markup(
    df: pd.DataFrame,
    money_columns: Sequence[str] = (),
    currency: str = "USD",
    percent_columns: Sequence[str] = (),
    max_rows: int | None = 50,
    totals: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    share_columns: Sequence[str] = (),
    decimals: int = 2,
    caption: str | None = None,
    number_decimals: int = 1,
    explore: str | None = None,
) -> str:
    """The table as an HTML string (see the module docstring); "No data" for an empty frame.

    ``percent_columns`` hold percentages (85.3 -> "85.3%"), ``share_columns`` fractions
    (0.853 -> "85%"). Raises TypeError for a non-DataFrame and ValueError for a money, percent
    or total column that is not in the frame.

    Number cells (money, whole numbers, other numbers) carry their exact value in ``data-v``,
    which the site's downloads write as numbers. ``explore`` names the invoice explorer's view
    of the whole list (``"overdue"``, ``"over-limit"``: :data:`arinsight.site.explorer.LIST_VIEWS`);
    the website links a table cut at ``max_rows`` to all its rows there.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"table_html: expected a DataFrame, got {type(df).__name__}")
    for what, cols in (
        ("money", money_columns),
        ("percent", percent_columns),
        ("totals", totals),
        ("share", share_columns),
    ):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"table_html: {what} column(s) not in the table: {missing}")
    if df.empty:
        return f'<p class="ar-empty"><em>{NO_DATA}.</em></p>'
    esc = _html.escape
    labels = dict(labels or {})
    kinds = _kinds(df, money_columns, percent_columns, share_columns)
    shown = df.head(max_rows) if max_rows else df
    name_col = (
        "customer_name"
        if "customer_name" in df.columns
        else ("customer_id" if "customer_id" in df.columns else None)
    )
    head = "".join(
        f'<th scope="col" class="{_ALIGN.get(kinds[c], kinds[c])}">'
        f"{esc(labels.get(c) or column_label(c))}</th>"
        for c in df.columns
    )
    rows = []
    for _, row in shown.iterrows():
        cells = []
        for col in df.columns:
            text = esc(_cell(row[col], kinds[col], currency, decimals, number_decimals))
            cls = _ALIGN.get(kinds[col], kinds[col])
            raw = row[col]
            value = ""
            if (
                kinds[col] in ("money", "int", "number")
                and not isinstance(raw, bool)
                and pd.notna(raw)
            ):
                exact = round(float(raw), decimals) if kinds[col] == "money" else float(raw)
                value = f' data-v="{int(exact) if exact.is_integer() else exact!r}"'

            if col == name_col and "customer_id" in df.columns and pd.notna(row["customer_id"]):
                cid = esc(str(row["customer_id"]))
                text = f'<span class="ar-customer" data-customer="{cid}">{text}</span>'
            cells.append(f'<td class="{cls}"{value}>{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    foot = ""
    if totals:
        cells = []
        for i, col in enumerate(df.columns):
            if col in totals:
                total = pd.to_numeric(df[col], errors="coerce").sum()
                cells.append(
                    f'<td class="{_ALIGN.get(kinds[col], "num")}">'
                    f"{esc(_cell(total, kinds[col], currency, decimals))}</td>"
                )
            else:
                cells.append('<th scope="row">Total</th>' if i == 0 else "<td></td>")
        foot = "<tfoot><tr>" + "".join(cells) + "</tr></tfoot>"
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    note = ""
    if max_rows and len(df) > max_rows:
        note = (
            f'<p class="ar-table-note">First {max_rows:,} of {len(df):,} rows'
            + (" (the total covers every row)" if totals else "")
            + ".</p>"
        )
        if explore:  # the website makes this a link to the list in its invoice explorer
            note = note.replace(
                "</p>",
                f' <span class="ar-explore" data-explore="{esc(explore)}">All {len(df):,} are in '
                "the invoice explorer of the website.</span></p>",
            )
    return (
        f'<div class="ar-table-wrap"><table class="ar-table">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody>{foot}</table>{note}</div>"
    )


def table_html(df: pd.DataFrame, *args: Any, **kwargs: Any):
    """:func:`table_markup` as an ``IPython.display.HTML`` for notebooks."""
    from IPython.display import HTML

    return HTML(table_markup(df, *args, **kwargs))


def kpi_table(
    values: Mapping[str, Any], keys: Sequence[str], currency: str = "USD"
) -> pd.DataFrame:
    """Figure and value of the given KPIs, labelled and formatted by :mod:`arinsight.kpis`."""
    rows = [
        {
            "Figure": kpis.get(k).label,
            "Value": kpis.format_value(values.get(k), kpis.get(k).unit, currency),
        }
        for k in keys
    ]
    return pd.DataFrame(rows, columns=["Figure", "Value"])
