"""Shared look of the interactive figures: palette, fonts, currency in hovers and axes."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from arinsight.plots.style import BAD, GOOD, NEUTRAL, PALETTE
from arinsight.receivables import require_columns as require  # the KPI functions' checks

__all__ = ["BAD", "GOOD", "NEUTRAL", "PALETTE", "figure", "money_fmt", "no_data", "require"]

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}

_TEMPLATE = go.layout.Template(
    layout={
        "font": {
            "family": 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
            "size": 12,
            "color": "#1f2933",
        },
        "colorway": PALETTE,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "xaxis": {"gridcolor": "#e6e9ed", "linecolor": "#c5ccd3", "automargin": True},
        "yaxis": {"gridcolor": "#e6e9ed", "linecolor": "#c5ccd3", "automargin": True},
        "hoverlabel": {"bgcolor": "white", "font": {"size": 12}},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
        "title": {"x": 0, "xanchor": "left", "font": {"size": 15}},
    }
)


def money_fmt(field: str, currency: str = "USD") -> str:
    """A hovertemplate field as money to the cent: ``$%{y:,.2f}`` (or ``%{y:,.2f} CHF``)."""
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}%{{{field}:,.2f}}" if symbol else f"%{{{field}:,.2f}} {currency}"


def money_axis(currency: str = "USD") -> dict:
    """Axis settings for amounts: currency prefix and compact ticks ($1.2M)."""
    symbol = _SYMBOLS.get(currency)
    return {"tickprefix": symbol or "", "ticksuffix": "" if symbol else f" {currency}",
            "tickformat": "~s"}  # fmt: skip


def figure(title: str, height: int = 380, subtitle: str | None = None) -> go.Figure:
    fig = go.Figure()
    text = title + (f"<br><sup>{subtitle}</sup>" if subtitle else "")
    fig.update_layout(template=_TEMPLATE, title={"text": text}, height=height, autosize=True)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


#: Key of ``layout.meta`` marking a placeholder figure (no data): its message.
NO_DATA_KEY = "arinsight_no_data"


def no_data(title: str, message: str = "No data for this selection") -> go.Figure:
    """A small figure with a title and a centred message (empty selections)."""
    fig = figure(title, height=200)
    fig.update_layout(meta={NO_DATA_KEY: message})  # the site shows a short note instead
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": NEUTRAL})  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def is_empty(df: pd.DataFrame, value_columns: Sequence[str]) -> bool:
    if df.empty:
        return True
    values = df[list(value_columns)].apply(pd.to_numeric, errors="coerce").fillna(0.0)
    return bool((values == 0).all().all())


def values(s: pd.Series) -> list:
    """A column as a plain list (floats, None for missing) so the JSON is plain and stable."""
    return [None if pd.isna(v) else (float(v) if not isinstance(v, str) else v) for v in s]
