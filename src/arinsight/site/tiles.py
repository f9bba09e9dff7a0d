"""KPI tiles: value, change vs the previous period with an arrow coloured good/bad, sparkline.

Labels, units and good directions come from :mod:`arinsight.kpis`. Each tile carries
``data-kpi`` (the kpis.json key) and ``data-value`` (the exact kpis.json number, JSON) so a test
can compare the page with kpis.json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from arinsight import kpis as registry
from arinsight.site.html import esc, format_value, is_number

ARROWS = {"up": "▲", "down": "▼", "flat": "▶"}
TONES = {"better": "good", "worse": "bad"}
SPARK_MONTHS = 12


def kpi_change(
    key: str,
    current: Mapping[str, Any] | None,
    previous: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Change of one KPI vs the previous period and whether that is good.

    Uses the ``comparison`` the notebooks wrote into kpis.json when it has this KPI (it knows
    the previous period even when that period was never run); otherwise compares with the
    previous period's kpis.json by :func:`arinsight.kpis.compare`: change = current - previous;
    direction "up"/"down"/"flat"; assessment "better"/"worse" from the KPI's good direction
    (lower DSO is better), "same" when flat, None when the KPI is neither good nor bad or either
    value is missing.
    """
    cmp = ((current or {}).get("comparison") or {}).get(key)
    if isinstance(cmp, Mapping) and "change" in cmp:
        out = {k: cmp.get(k) for k in ("previous", "change", "direction", "assessment")}
        if out["assessment"] is None and out["direction"] == "flat":
            out["assessment"] = "same"
        return out
    cur, prev = (current or {}).get(key), (previous or {}).get(key)
    if not (is_number(cur) and is_number(prev)):
        return {"previous": prev, "change": None, "direction": None, "assessment": None}
    ch = registry.compare({key: cur}, {key: prev})[key]
    return {"previous": prev, **{k: ch[k] for k in ("change", "direction", "assessment")}}


#: Good and bad said by a symbol as well as by colour (and in words for screen readers).
JUDGEMENTS = {"good": ("✓", "better"), "bad": ("✗", "worse")}


def _judgement(tone: str) -> str:
    mark = JUDGEMENTS.get(tone)
    if mark is None:
        return ""
    return (
        f'<span class="kpi-judgement" aria-hidden="true">{mark[0]}</span>'
        f'<span class="visually-hidden">{mark[1]}: </span>'
    )


def sparkline_svg(values: Sequence[Any], labels: Sequence[str], title: str) -> str:
    """A small inline SVG line of up to 12 values (None leaves a gap), last point marked.

    Static (no script): the label lists the first and last month and the range, for readers
    and screen readers. Empty string when fewer than two values are known.
    """
    pts = [(i, float(v)) for i, v in enumerate(values) if is_number(v)]
    if len(pts) < 2:
        return ""
    w, h, pad = 120.0, 28.0, 3.0
    lo = min(v for _, v in pts)
    hi = max(v for _, v in pts)
    span = hi - lo or 1.0
    n = max(1, len(values) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return pad + (w - 2 * pad) * i / n, h - pad - (h - 2 * pad) * (v - lo) / span

    segments: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if is_number(v):
            segments[-1].append(xy(i, float(v)))
        elif segments[-1]:
            segments.append([])
    lines = "".join(
        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
        + '"/>'
        for seg in segments
        if len(seg) > 1
    )
    lx, ly = xy(*pts[-1])
    return (
        f'<svg class="kpi-spark" viewBox="0 0 {w:.0f} {h:.0f}" width="{w:.0f}" height="{h:.0f}" '
        f'role="img" aria-label="{esc(title)}"><title>{esc(title)}</title>{lines}'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.2" fill="currentColor"/></svg>'
    )


def value_html(value: Any, unit: str, currency: str, style: str = "tile") -> str:
    """A tile's figure (``kpi-value``) in ``style``; money from one million on in the
    ``"short"`` form ("$33.18B" for $33,179,125,289.23, so that it fits the tile) with the
    exact figure, to the cent, in its tooltip and for screen readers."""
    full = format_value(value, unit, currency, style=style)
    short = format_value(value, unit, currency, style="short")
    if unit != "money" or short == format_value(value, unit, currency):
        return f'<div class="kpi-value">{esc(full)}</div>'
    exact = format_value(value, unit, currency, style="table")
    return (
        f'<div class="kpi-value" title="{esc(exact)}" data-exact="{esc(exact)}">'
        f'<span aria-hidden="true">{esc(short)}</span>'
        f'<span class="visually-hidden">{esc(exact)}</span></div>'
    )


def _series(
    key: str, history: Mapping[str, Mapping[str, Any]] | None, fallback: Mapping[str, Any]
) -> tuple[list[str], list[Any]]:
    series = (history or {}).get(key) or fallback.get(key) or {}
    months = sorted(series)[-SPARK_MONTHS:]
    return months, [series[m] for m in months]


def tile_html(
    key: str,
    kpis: Mapping[str, Any] | None,
    previous: Mapping[str, Any] | None = None,
    currency: str = "USD",
    previous_label: str | None = None,
    history: Mapping[str, Mapping[str, Any]] | None = None,
    fallback_history: Mapping[str, Mapping[str, Any]] | None = None,
    link: tuple[str, str] | None = None,
) -> str:
    """One tile: label, value, change with arrow (green good, red bad, grey neither), sparkline.

    ``link``: (URL of the rows behind the tile, the figure of the explorer's totals row that
    equals it: a money column or "customers"); the whole tile then opens them.

    A KPI that is n/a shows, in place of its change, the reason from ``kpis["na_reasons"]``
    ("The customer data has no credit limits").

    ``history`` is KPI -> {month: value} (the notebooks' 12 month ends); ``fallback_history``
    the same from the published periods, used for KPIs without a computed history.
    """
    kpi = registry.get(key)
    value = (kpis or {}).get(key)
    value = value if is_number(value) else None
    ch = kpi_change(key, kpis, previous)
    arrow = ARROWS.get(ch["direction"] or "", "")
    tone = TONES.get(ch["assessment"] or "", "neutral")
    reason = ((kpis or {}).get("na_reasons") or {}).get(key) if value is None else None
    if reason:  # an undefined KPI says why, on the tile itself
        change_text = reason[:1].upper() + reason[1:]
        tone = "neutral na"
    elif ch["change"] is None:
        change_text = "no previous period" if ch["previous"] is None else "n/a"
    else:
        change_text = format_value(ch["change"], kpi.unit, currency, signed=True, style="short")
        if kpi.unit == "percent":  # a change of a percentage is in percentage points
            change_text = change_text.replace("%", " pts")
        if previous_label:
            change_text += f" vs {previous_label}"
    judged = {"good": "good news", "bad": "needs attention"}.get(tone, "not judged")
    change_title = (
        f"previous: {format_value(ch['previous'], kpi.unit, currency)} ({judged})"
        if ch["previous"] is not None
        else "no previous value"
    )
    if reason:
        change_title = change_text
    months, values = _series(key, history, fallback_history or {})
    spark = ""
    if months:
        lo = [v for v in values if is_number(v)]
        text = (
            f"{kpi.label}, {months[0]} to {months[-1]}: "
            f"from {format_value(lo[0], kpi.unit, currency)} to "
            f"{format_value(lo[-1], kpi.unit, currency)}"
            if len(lo) >= 2
            else ""
        )
        spark = sparkline_svg(values, months, text)
    data_value = "" if value is None else json.dumps(value)
    rows = ""
    linked = ""
    if link is not None:
        what = "the customers" if link[1] == "customers" else "the invoices"
        rows = (
            f'<a class="kpi-rows" href="{esc(link[0])}" data-total="{esc(link[1])}">'
            f'Show {what}<span class="visually-hidden"> behind {esc(kpi.label)}</span> ›</a>'
        )
        linked = " linked"
    return (
        f'<div class="kpi-tile{linked}" data-kpi="{esc(key)}" data-value="{esc(data_value)}" '
        f'title="{esc(kpi.definition)}">'
        f'<div class="kpi-label">{esc(kpi.label)}</div>'
        f"{definition_html(kpi.label, kpi.definition)}"
        f"{value_html(value, kpi.unit, currency)}"
        f'<div class="kpi-change {tone}" title="{esc(change_title)}" '
        f'data-assessment="{esc(ch["assessment"] or "")}">'
        f"{_judgement(tone)}"
        f'<span class="kpi-arrow" aria-hidden="true">{arrow}</span> {esc(change_text)}</div>'
        f'<div class="kpi-trend {tone}">{spark}</div>'
        f"{rows}"
        "</div>"
    )


def definition_html(label: str, definition: str) -> str:
    """A tile's definition that a tap, a click or a keyboard opens (a ``details`` element with
    the round "i" button in the tile's corner), not only the tooltip of a mouse: touch screens have
    no hover."""
    return (
        '<details class="kpi-def"><summary>'
        f'<span class="kpi-def-i" aria-hidden="true">i</span><span class="visually-hidden">What is {esc(label)}?'
        f"</span></summary><p>{esc(definition)}</p></details>"
    )


def tiles_html(
    keys: Sequence[str],
    kpis: Mapping[str, Any] | None,
    links: Mapping[str, tuple[str, str]] | None = None,
    **kw: Any,
) -> str:
    """The grid of tiles for ``keys`` (see :func:`tile_html`; ``links``: KPI -> its ``link``);
    empty string for no keys."""
    if not keys:
        return ""
    body = "".join(tile_html(key, kpis, link=(links or {}).get(key), **kw) for key in keys)
    return f'<section class="kpi-tiles" aria-label="Key figures">{body}</section>'


def _cents_sum(values: Sequence[Any]) -> float:
    return sum(round(float(v) * 100) for v in values if is_number(v)) / 100


def forecast_tiles_html(kpis: Mapping[str, Any] | None, currency: str = "USD") -> str:
    """The Cash Forecast page's tiles, from kpis.json's ``cash_forecast`` (week start -> the
    cash expected that week, its low and high end): the cash expected in week 1 (with its
    range), in weeks 1-4, the low ends of weeks 1-4 added up (the figure to plan payments
    against) and the 13 weeks. Sums in whole cents. Empty without a forecast (the page says
    why)."""
    weeks = (kpis or {}).get("cash_forecast")
    if not isinstance(weeks, Mapping) or not weeks:
        return ""
    starts = sorted(weeks)
    rows = [weeks[s] or {} for s in starts]

    def end_of(i: int) -> str:
        from datetime import date, timedelta

        return (date.fromisoformat(starts[i]) + timedelta(days=6)).isoformat()

    def short(v: Any) -> str:
        return format_value(v, "money", currency, style="short")

    first, four = rows[0], rows[:4]
    n4 = len(four)
    tiles = [
        ("forecast_week_1", "Expected cash, week 1", first.get("expected"),
         f"range {short(first.get('low'))} to {short(first.get('high'))}",
         f"The cash the invoices open at T are expected to bring from {starts[0]} to "
         f"{end_of(0)}; the range is where such a week's cash fell 8 times out of 10 in the "
         "past."),
        (f"forecast_weeks_1_{n4}", f"Expected cash, weeks 1-{n4}",
         _cents_sum([r.get("expected") for r in four]), f"{starts[0]} to {end_of(n4 - 1)}",
         f"The cash expected in the first {n4} weeks after T, added up."),
        (f"forecast_low_weeks_1_{n4}", f"Low end, weeks 1-{n4}",
         _cents_sum([r.get("low") for r in four]), "plan payments against this",
         f"The low ends of the first {n4} weeks' ranges, added up: a cautious figure to plan "
         "payments against."),
        (f"forecast_weeks_1_{len(rows)}", f"Expected cash, {len(rows)} weeks",
         _cents_sum([r.get("expected") for r in rows]), f"{starts[0]} to {end_of(len(rows) - 1)}",
         "The cash expected over the whole forecast, added up. New sales after T are not in "
         "it."),
    ]  # fmt: skip
    body = "".join(
        f'<div class="kpi-tile" data-kpi="{esc(key)}" data-value="{esc(json.dumps(value))}" '
        f'title="{esc(definition)}"><div class="kpi-label">{esc(label)}</div>'
        f"{value_html(value, 'money', currency)}"
        f'<div class="kpi-change neutral">{esc(note)}</div></div>'
        for key, label, value, note, definition in tiles
        if is_number(value)
    )
    return f'<section class="kpi-tiles" aria-label="Key figures">{body}</section>'
