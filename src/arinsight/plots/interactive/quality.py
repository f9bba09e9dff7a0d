"""Interactive figure of the Data Quality page (notebook 02): why rows were quarantined."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from arinsight.plots.interactive.base import BAD, NEUTRAL, PALETTE, figure, no_data

_ACTION_COLOURS = {"quarantined": BAD, "dropped": NEUTRAL, "flagged": PALETTE[1]}


def reason_bars(summary: pd.DataFrame) -> go.Figure:
    """Horizontal bars: rows per (table, reason), one series per action (quarantined, dropped,
    flagged), so a legend click hides an action; hovering shows the rule's meaning.

    ``summary`` is ``CleanResult.summary_table()`` (columns table, reason, action, rows,
    meaning)."""
    title = "Rows caught by each cleaning rule"
    if summary.empty:
        return no_data(title, "No data-quality issue found: every row read was kept")
    df = summary.sort_values(["action", "rows"], ascending=[True, True]).reset_index(drop=True)
    df["label"] = df["table"] + ": " + df["reason"].str.replace("_", " ")
    fig = figure(title, height=max(220, 30 * len(df) + 120))
    for action, colour in _ACTION_COLOURS.items():
        part = df[df["action"] == action]
        if part.empty:
            continue
        fig.add_bar(
            y=part["label"].tolist(),
            x=[int(n) for n in part["rows"]],
            orientation="h",
            name=action,
            marker_color=colour,
            customdata=[[m] for m in part.get("meaning", pd.Series("", index=part.index))],
            hovertemplate="%{y}: %{x:,} rows " + action + "<br>%{customdata[0]}<extra></extra>",
        )
    fig.update_layout(barmode="stack", xaxis={"title": "rows"}, legend={"orientation": "h"})
    return fig
