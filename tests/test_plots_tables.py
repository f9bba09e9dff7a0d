"""The one table style (arinsight.plots.tables): labels, formats, totals, customer marks."""

from __future__ import annotations

import functools
import re

import pandas as pd
import pytest

from arinsight.kpis import format_value
from arinsight.plots.tables import column_label, kpi_table, table_markup


def test_column_labels_are_readable():
    assert column_label("customer_name") == "Customer"
    assert column_label("open_ar") == "Open balance"
    assert column_label("late_rate_pct") == "Late rate"
    assert column_label("some_new_column") == "Some new column"
    assert column_label("ar_turnover") == "AR turnover"
    assert column_label("Already nice") == "Already nice"


def test_table_money_has_currency_and_separators():
    def money(value, currency="USD", decimals=2):
        return format_value(value, "money", currency, style="table", decimals=decimals)

    assert money(1234567.891) == "$1,234,567.89"
    assert money(-5, "EUR") == "-€5.00"
    assert money(1000, "CHF", 0) == "1,000 CHF"
    assert money(None) == "n/a" and money(float("nan")) == "n/a" and money(True) == "n/a"


def test_one_formatter_with_named_styles():
    """The same KPI value in each style (tile, short, compact, mail, table), and a change
    (signed)."""
    styles = {
        s: format_value(1234.5, "money", style=s)
        for s in ("tile", "short", "compact", "mail", "table")
    }
    assert styles == {
        "tile": "$1,234",
        "short": "$1,234",
        "compact": "$1.2k",
        "mail": "USD 1,234.50",
        "table": "$1,234.50",
    }
    assert format_value(2_500_000, "money", "CHF", style="compact") == "2.5M CHF"
    assert format_value(-3.25, "percent", signed=True, style="mail") == "-3.2 pp"
    assert format_value(0.0, "money", signed=True, style="mail") == "\u00b1USD 0.00"
    assert format_value(0.125, "share", style="mail") == "12.5%"
    assert format_value(12.0, "days", signed=True, style="compact") == "+12.0 days"
    assert format_value(None, "days", style="compact") == "n/a"
    with pytest.raises(ValueError, match="style"):
        format_value(1, "money", style="fancy")


def test_short_money_fits_a_tile():
    """From one million on, money in M/B/T with two decimals, trailing zeros dropped:
    33,179,125,289.23 = 33.179... billion -> "$33.18B"; 1,234,567.89 -> "$1.23M"; 2,500,000 ->
    "$2.5M"; 999,995,000 rounds to 1000.00M, written "$1B"; below a million as the tile
    ("$999,999"); other units as the tile."""
    short = functools.partial(format_value, style="short")
    assert short(33_179_125_289.23, "money") == "$33.18B"
    assert short(1_234_567.89, "money") == "$1.23M"
    assert short(2_500_000, "money", "CHF") == "2.5M CHF"
    assert short(-4_051_234_567, "money", "EUR") == "-€4.05B"
    assert short(1_500_000, "money", signed=True) == "+$1.5M"
    assert short(999_995_000, "money") == "$1B"
    assert short(999_999.4, "money") == "$999,999"
    assert short(1.5e12, "money") == "$1.5T"
    assert short(12_345_678, "count") == "12,345,678" and short(None, "money") == "n/a"


def test_table_markup_formats_totals_and_marks_customers():
    """Two rows, 1,000.50 + 2,000.25 = 3,000.75 in the total row (over every row even when
    only the first is shown); dates do not wrap; booleans read Yes/No; the customer name
    carries its id; headers are labels, never snake_case."""
    df = pd.DataFrame(
        {
            "customer_id": ["C_1", "C_2"],
            "customer_name": ["Acme <Ltd>", "Beta"],
            "due_date": pd.to_datetime(["2026-10-01", "2026-11-15"]),
            "open_amount": [1000.50, 2000.25],
            "late_rate_pct": [12.34, None],
            "is_settled": [True, False],
        }
    )
    html = table_markup(df, money_columns=["open_amount"], percent_columns=["late_rate_pct"],
                        totals=["open_amount"], max_rows=1)  # fmt: skip
    assert '<span class="ar-customer" data-customer="C_1">Acme &lt;Ltd&gt;</span>' in html
    assert '<td class="date">2026-10-01</td>' in html and "2026-11-15" not in html
    assert "<tfoot>" in html and "$3,000.75" in html and "First 1 of 2 rows" in html
    assert "12.3%" in html and ">Yes<" in html
    assert not re.search(r"<th[^>]*>[a-z]+_[a-z_]+</th>", html)
    assert "No data" in table_markup(df.iloc[0:0])


def test_table_markup_errors():
    with pytest.raises(TypeError, match="DataFrame"):
        table_markup([1, 2])
    with pytest.raises(ValueError, match="totals column"):
        table_markup(pd.DataFrame({"a": [1]}), totals=["b"])


def test_kpi_table_uses_the_registry():
    """Labels and formats of arinsight.kpis: DSO 45.25 -> "45.2 days"; missing -> n/a."""
    t = kpi_table({"dso": 45.25, "open_ar": None}, ["dso", "open_ar"])
    assert t.to_dict("records") == [
        {"Figure": "DSO", "Value": "45.2 days"},
        {"Figure": "Open AR (end)", "Value": "n/a"},
    ]
    with pytest.raises(KeyError, match="not a KPI"):
        kpi_table({}, ["nope"])
