"""Static figures for the e-mails (seaborn on matplotlib, drawn to PNG).

E-mail clients run no JavaScript, so the monthly summary e-mail cannot carry the site's Plotly
charts: it carries a PNG, embedded in the message itself (``cid:``), never a link to an image
server, so opening the e-mail fetches nothing and nothing leaves the company. Figures are built
with the object-oriented API (``Figure()``, no pyplot state) and the Agg backend, so they draw on
a server without a display; the PNG carries no software version or date, so the same figures give
the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from arinsight.kpis import format_value

#: Aging buckets from current to oldest: green to red, so the eye finds the old debt.
AGING_COLOURS = ("#2e7d32", "#9e9d24", "#f9a825", "#ef6c00", "#d84315", "#b71c1c")


def aging_png(
    aging: Mapping[str, float | None], order: Sequence[str], currency: str = "USD"
) -> bytes:
    """Open AR by days past due as a horizontal bar chart (PNG, 640 x 260 px): one bar per
    bucket in ``order`` (current first), labelled with its amount (the "compact" style).
    A bucket missing from ``aging`` (or null) is drawn as 0."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import seaborn as sns
    from matplotlib.figure import Figure

    values = [float(aging.get(label) or 0.0) for label in order]
    palette = list(AGING_COLOURS[: len(order)]) + ["#555555"] * max(0, len(order) - 6)
    fig = Figure(figsize=(6.4, 2.6), dpi=100)
    ax = fig.add_subplot()
    with sns.axes_style("whitegrid"):
        sns.barplot(x=values, y=list(order), hue=list(order), palette=palette, legend=False, ax=ax)
    ax.set_xlabel(f"Open AR ({currency})")
    ax.set_ylabel("Days past due")
    ax.set_xticks([])  # each bar carries its amount
    top = max(values) if values and max(values) > 0 else 1.0
    for y, value in enumerate(values):
        text = format_value(value, "money", currency, style="compact")
        ax.text(value + top * 0.01, y, text, va="center", fontsize=9)
    ax.set_xlim(0, top * 1.15)
    sns.despine(ax=ax, left=True, bottom=True)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
