"""Shared look of every figure: palette, currency formatting, metadata-free saving."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

PALETTE = ["#1f4e79", "#e07b39", "#3a9d5d", "#c0392b", "#8e6bbf", "#7f8c8d", "#d4ac0d"]
GOOD = "#3a9d5d"
BAD = "#c0392b"
NEUTRAL = "#7f8c8d"


def apply_style() -> None:
    """Set the project's seaborn theme and palette (idempotent)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={"figure.dpi": 100, "savefig.dpi": 100})
    plt.rcParams["svg.hashsalt"] = "arinsight"  # stable ids in SVG output


def money(value: float, currency: str = "USD") -> str:
    """Format an amount compactly: 1234 -> '$1.2k', 2_500_000 -> '$2.5M' (n/a for None/NaN)."""
    if value is None or value != value:
        return "n/a"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    sign = "-" if value < 0 else ""
    v = abs(float(value))
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= size:
            return f"{sign}{symbol}{v / size:.1f}{suffix}" + ("" if symbol else f" {currency}")
    return f"{sign}{symbol}{v:,.0f}" + ("" if symbol else f" {currency}")


def money_axis(ax, axis: str = "y", currency: str = "USD") -> None:
    """Format an axis' tick labels as currency."""
    fmt = FuncFormatter(lambda v, _pos: money(v, currency))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def save_figure(fig, path: str | Path) -> Path:
    """Save without timestamps or software versions so identical data gives identical files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
    fig.savefig(path, metadata=meta.get(path.suffix.lstrip(".")), bbox_inches="tight")
    return path


def label_hbars(ax, values, texts) -> None:
    """Write ``texts`` just right of horizontal bars ending at ``values`` (row 0 at the bottom)."""
    for y, (value, text) in enumerate(zip(values, texts, strict=True)):
        ax.annotate(
            text, (value, y), va="center", fontsize=9, xytext=(3, 0), textcoords="offset points"
        )


NO_DATA = "No data for this selection"


def table_html(
    df: pd.DataFrame,
    money_columns: Sequence[str] = (),
    currency: str = "USD",
    percent_columns: Sequence[str] = (),
    max_rows: int | None = 50,
):
    """A DataFrame as an escaped, static HTML table (no JavaScript), for notebooks and the site.

    Money columns are formatted with the currency, percent columns with "%", dates as YYYY-MM-DD,
    missing values as "n/a". Every value is HTML-escaped. Returns an ``IPython.display.HTML``.
    """
    from IPython.display import HTML

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"table_html: expected a DataFrame, got {type(df).__name__}")
    shown = df.head(max_rows) if max_rows else df
    out = pd.DataFrame(index=shown.index)
    for col in shown.columns:
        s = shown[col]
        if col in money_columns:
            out[col] = [money(v, currency) for v in s]
        elif col in percent_columns:
            out[col] = ["n/a" if pd.isna(v) else f"{v:.1f}%" for v in s]
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[col] = ["" if pd.isna(v) else v.strftime("%Y-%m-%d") for v in s]
        elif pd.api.types.is_float_dtype(s):
            out[col] = ["n/a" if pd.isna(v) else f"{v:,.1f}" for v in s]
        else:
            out[col] = [
                "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in s
            ]
    html = out.to_html(escape=True, index=False, border=0, classes="table table-sm arinsight")
    if max_rows and len(df) > max_rows:
        html += f"<p><em>First {max_rows} of {len(df):,} rows.</em></p>"
    if df.empty:
        html = f"<p><em>{NO_DATA}.</em></p>"
    return HTML(html)
