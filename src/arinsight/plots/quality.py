"""Data Quality figures: what the cleaning rules found, by rule and table."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from arinsight.plots._style import BAD, NEUTRAL, PALETTE, apply_style

_ACTION_COLOURS = {"quarantined": BAD, "dropped": NEUTRAL, "flagged": PALETTE[1]}


def reason_bars(summary: pd.DataFrame):
    """Horizontal bars: rows per (table, reason), coloured by what happened to them.

    ``summary`` is ``CleanResult.summary_table()`` (columns table, reason, action, rows).
    """
    apply_style()
    if summary.empty:
        fig, ax = plt.subplots(figsize=(7, 1.5))
        ax.text(0.5, 0.5, "No data-quality issues found", ha="center", va="center")
        ax.axis("off")
        return fig
    df = summary.sort_values(["action", "rows"], ascending=[True, True]).reset_index(drop=True)
    labels = df["table"] + ": " + df["reason"].str.replace("_", " ")
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(df) + 1.2))
    ax.barh(labels, df["rows"], color=[_ACTION_COLOURS[a] for a in df["action"]])
    for y, n in enumerate(df["rows"]):
        ax.text(n, y, f" {n:,}", va="center", fontsize=9)
    ax.set_xlabel("rows")
    ax.set_title("Rows caught by each cleaning rule")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in _ACTION_COLOURS.values()]
    ax.legend(handles, list(_ACTION_COLOURS), loc="lower right", frameon=True)
    ax.margins(x=0.15)
    fig.tight_layout()
    return fig
