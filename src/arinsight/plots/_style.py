"""Shared look of every figure: palette, currency formatting, metadata-free saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
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


# One table style everywhere: the notebooks keep importing it from here.
from arinsight.plots.tables import NO_DATA as NO_DATA  # noqa: E402
from arinsight.plots.tables import table_html as table_html  # noqa: E402
