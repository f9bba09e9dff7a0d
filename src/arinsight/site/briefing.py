"""What happened and what to do: the briefing at the top of the home page and of every period
overview, for a reader who has one minute (a CFO, a credit manager).

Four blocks, each from what the period published (nothing is computed twice):

- **Biggest changes**: the KPIs of the tiles that have a good direction, ranked by their
  relative change against the previous period (``|change| / |previous|``), with ✓/✗;
- **DSO beside countback DSO**, and a sentence when sales swung by :data:`SALES_SWING` or more:
  DSO divides AR by this period's sales, so it jumps when sales fall and drops when they rise,
  while countback DSO counts AR back against each month's own sales;
- **Unapplied cash** (payments received and applied to no invoice) and credit balances;
- **Top overdue customers and the action**: the customers with the largest overdue balance
  (:func:`arinsight.notify.report.top_overdue_customers`, the monthly e-mail's list), each
  with its action from the period's dunning plan (``reports/<period>/alerts/dunning_plan.csv``,
  written by ``arinsight alerts``) or, without a plan, the dunning level that its oldest
  overdue invoice has reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from arinsight import kpis as registry
from arinsight.dunning import Level, dunning_levels
from arinsight.kpis import format_value
from arinsight.plots.tables import table_markup
from arinsight.site.html import esc, is_number

#: Sales that moved by this share or more against the previous period make DSO jump on its own.
SALES_SWING = 0.2

#: How many changes and customers the briefing lists.
TOP_CHANGES = 4
TOP_CUSTOMERS = 5


def biggest_changes(
    kpis: Mapping[str, Any] | None, keys: Sequence[str], n: int = TOP_CHANGES
) -> list[dict[str, Any]]:
    """The ``n`` KPIs of ``keys`` that moved most against the previous period, relative to their
    previous value: ``|change| / |previous|``, largest first, ties by the order of ``keys``.

    Only KPIs that have a good direction and a judged move (``comparison[key]["assessment"]``
    is "better" or "worse") count; a previous value of 0 or none has no relative change and is
    left out. Each item: key, label, unit, value, previous, change, relative (signed) and
    assessment.
    """
    comparison = (kpis or {}).get("comparison") or {}
    out = []
    for order, key in enumerate(keys):
        c = comparison.get(key) or {}
        value, previous, change = (kpis or {}).get(key), c.get("previous"), c.get("change")
        if c.get("assessment") not in ("better", "worse"):
            continue
        if not (is_number(value) and is_number(previous) and is_number(change)) or not previous:
            continue
        out.append(
            {
                "key": key,
                "label": registry.get(key).label,
                "unit": registry.get(key).unit,
                "value": value,
                "previous": previous,
                "change": change,
                "relative": change / abs(previous),
                "assessment": c["assessment"],
                "order": order,
            }
        )
    out.sort(key=lambda item: (-abs(item["relative"]), item["order"]))
    return out[: int(n)]


def sales_swing(kpis: Mapping[str, Any] | None) -> float | None:
    """The relative change of credit sales against the previous period (-0.35 = fell 35 %),
    None when either period has no sales figure or the previous one is 0."""
    c = ((kpis or {}).get("comparison") or {}).get("credit_sales") or {}
    previous, change = c.get("previous"), c.get("change")
    if not (is_number(previous) and is_number(change)) or not previous:
        return None
    return change / abs(previous)


def _words(template: str) -> str:
    """reminder_firm -> "firm reminder"; reminder_final -> "final reminder"."""
    text = str(template or "").replace("_", " ").strip()
    if text.startswith("reminder "):
        text = text[len("reminder ") :] + " reminder"
    return text or "reminder"


def plan_action(row: Mapping[str, Any]) -> str:
    """The action of one row of the dunning plan (:func:`arinsight.dunning.dunning_plan`), in
    words: send -> "Send the firm reminder (level 2)", wait -> "Wait: <reason>", escalate ->
    "Call: <reason>", done -> "Reminder sent this period", skip -> "Call: no reminder (<reason>)"."""
    action = str(row.get("action") or "")
    reason = str(row.get("reason") or "")
    if action == "send":
        return f"Send the {_words(row.get('template'))} (level {int(row.get('level') or 1)})"
    if action == "wait":
        return f"Wait: {reason}"
    if action == "escalate":
        return f"Call: {reason}"
    if action == "done":
        return "Reminder sent this period"
    if action == "skip":
        return f"Call: no reminder could be sent ({reason})"
    return reason or "n/a"


def level_action(days_past_due: Any, levels: Sequence[Level]) -> str:
    """Without a dunning plan: the dunning level that ``days_past_due`` (the customer's oldest
    overdue invoice) has reached, "Due for the firm reminder (30+ days past due)"; past the
    final level by 30 days or more, "Call: 120 days past due, past the final reminder"."""
    days = int(days_past_due) if is_number(days_past_due) else 0
    reached = [lv for lv in levels if days >= lv.min_days_past_due]
    if not reached:
        return "Not yet due for a reminder"
    last = reached[-1]
    if last.number == len(levels) and days >= last.min_days_past_due + 30:
        return f"Call: {days} days past due, past the {_words(last.template)}"
    return f"Due for the {_words(last.template)} ({last.min_days_past_due}+ days past due)"


def read_plan(period_folder: Path) -> pd.DataFrame | None:
    """The period's dunning plan (``reports/<period>/alerts/dunning_plan.csv``), None when
    ``arinsight alerts`` has not run for it."""
    path = Path(period_folder) / "alerts" / "dunning_plan.csv"
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"customer_id": str})


def top_overdue_with_action(
    positions: pd.DataFrame,
    customers: pd.DataFrame,
    plan: pd.DataFrame | None,
    params: Mapping[str, Any] | None,
    n: int = TOP_CUSTOMERS,
) -> pd.DataFrame:
    """The ``n`` customers with the largest overdue balance at T
    (:func:`arinsight.notify.report.top_overdue_customers`) and an ``action`` column: the
    customer's row of the dunning ``plan`` (:func:`plan_action`) when there is one, else the
    level its oldest overdue invoice has reached (:func:`level_action`, levels from
    ``params["dunning"]``). A customer the plan leaves out has no overdue invoice to remind
    (all in dispute or matched by cash application): "No reminder: invoices in dispute or
    matched"."""
    from arinsight.notify.report import top_overdue_customers

    cols = ["customer_id", "customer_name", "overdue_amount", "overdue_invoices",
            "max_days_past_due", "action"]  # fmt: skip
    if positions.empty:
        return pd.DataFrame(columns=cols)
    pos = positions.assign(customer_id=positions["customer_id"].astype(str))
    lookup = customers if len(customers) else pd.DataFrame({"customer_id": []}, dtype=str)
    top = top_overdue_customers(pos, lookup.assign(customer_id=lookup["customer_id"].astype(str)),
                                int(n))  # fmt: skip
    if plan is not None:
        by_customer = {str(r["customer_id"]): r for r in plan.to_dict("records")}
        top["action"] = [
            plan_action(by_customer[c])
            if c in by_customer
            else "No reminder: its overdue invoices are in dispute or matched"
            for c in top["customer_id"].astype(str)
        ]
    else:
        levels = dunning_levels(params or {})
        top["action"] = [level_action(d, levels) for d in top["max_days_past_due"]]
    return top[cols]


def _signed_pct(x: float) -> str:
    return f"{x * 100:+.0f}%".replace("-", "−")


def _change_item(item: Mapping[str, Any], currency: str) -> str:
    good = item["assessment"] == "better"
    symbol = "✓" if good else "✗"
    verb = "rose" if item["change"] > 0 else "fell"
    value = format_value(item["value"], item["unit"], currency, style="short")
    previous = format_value(item["previous"], item["unit"], currency, style="short")
    return (
        f'<li class="{"good" if good else "bad"}" data-kpi="{esc(item["key"])}">'
        f'<span class="kpi-judgement" aria-hidden="true">{symbol}</span>'
        f'<span class="visually-hidden">{"better" if good else "worse"}: </span>'
        f"<strong>{esc(item['label'])}</strong> {verb} {esc(_signed_pct(item['relative']))} "
        f"to {esc(value)} (from {esc(previous)})</li>"
    )


def dso_html(kpis: Mapping[str, Any] | None, previous_label: str) -> str:
    """DSO beside countback DSO with their changes, and the sentence when sales swung."""
    k = kpis or {}
    comparison = k.get("comparison") or {}

    def figure(key: str) -> str:
        value = k.get(key)
        change = (comparison.get(key) or {}).get("change")
        text = format_value(value, "days", style="tile")
        if is_number(change):
            text += f" ({format_value(change, 'days', signed=True)} vs {previous_label})"
        return (
            f'<span class="brief-figure" data-kpi="{esc(key)}"><span class="brief-label">'
            f"{esc(registry.get(key).label)}</span> <strong>{esc(text)}</strong></span>"
        )

    swing = sales_swing(k)
    note = ""
    dso_change = (comparison.get("dso") or {}).get("change")
    cb_change = (comparison.get("countback_dso") or {}).get("change")
    if swing is not None and abs(swing) >= SALES_SWING:
        moved = "fell" if swing < 0 else "rose"
        note = (
            f'<p class="brief-note" data-sales-swing="{swing:.4f}">Sales {moved} '
            f"{abs(swing) * 100:.0f}% against {esc(previous_label)}. DSO divides the balance by "
            "this period's sales alone, so it "
            + ("rises" if swing < 0 else "falls")
            + " with the sales, not with collections. Countback DSO counts the balance back "
            "against each month's own sales"
            + (
                f" and moved {esc(format_value(cb_change, 'days', signed=True))}"
                if is_number(cb_change)
                else ""
            )
            + ": judge collections by countback DSO this period.</p>"
        )
    elif is_number(dso_change) and is_number(cb_change) and (dso_change > 0) != (cb_change > 0):
        note = (
            '<p class="brief-note">DSO and countback DSO moved in opposite directions: '
            "countback DSO follows each month's own sales and is the steadier of the two.</p>"
        )
    return (
        '<div class="brief-block brief-dso"><h3>Days sales outstanding</h3><p>'
        + figure("dso")
        + figure("countback_dso")
        + "</p>"
        + note
        + "</div>"
    )


def cash_html(kpis: Mapping[str, Any] | None, currency: str) -> str:
    """Unapplied cash and credit balances, with what to do about them."""
    k = kpis or {}
    unapplied = k.get("unapplied_cash")
    credits = k.get("credit_balances")
    if not is_number(unapplied) and not is_number(credits):
        return ""
    parts = []
    if is_number(unapplied):
        exact = format_value(unapplied, "money", currency, style="table")
        parts.append(
            f'<p data-kpi="unapplied_cash" data-value="{unapplied:.2f}"><strong>Unapplied cash '
            f'<span title="{esc(exact)}">{esc(format_value(unapplied, "money", currency, style="short"))}'
            f"</span></strong>: received and not applied to any invoice, so it lowers no "
            "customer's balance yet. "
            + (
                "Have cash application match it (the bank statements' references) before the "
                "overdue customers are chased."
                if unapplied > 0
                else "Nothing is waiting to be applied."
            )
            + "</p>"
        )
    if is_number(credits) and credits > 0:
        parts.append(
            "<p><strong>Credit balances "
            f"{esc(format_value(credits, 'money', currency, style='short'))}</strong>: "
            "customers paid more than they owe; refund them or apply it to their next invoices.</p>"
        )
    return (
        '<div class="brief-block brief-cash"><h3>Cash not yet applied</h3>'
        + "".join(parts)
        + "</div>"
    )


def briefing_html(
    kpis: Mapping[str, Any] | None,
    change_keys: Sequence[str],
    top: pd.DataFrame,
    currency: str,
    previous_label: str,
    *,
    plan_known: bool,
    overdue_link: str | None = None,
) -> str:
    """The briefing section (see the module docstring). ``top``: :func:`top_overdue_with_action`;
    ``overdue_link``: the explorer's overdue view, linked under the customers."""
    changes = biggest_changes(kpis, change_keys)
    changes_html = (
        '<ul class="brief-changes">' + "".join(_change_item(c, currency) for c in changes) + "</ul>"
        if changes
        else f"<p>No figure to compare with {esc(previous_label)}.</p>"
    )
    if len(top):
        table = table_markup(
            top,
            money_columns=["overdue_amount"],
            currency=currency,
            max_rows=None,
            labels={"overdue_invoices": "Overdue invoices", "max_days_past_due": "Oldest (days)",
                    "action": "What to do"},
        )  # fmt: skip
        how = (
            "The action is this period's dunning plan (arinsight alerts)."
            if plan_known
            else "The action is the reminder level the oldest overdue invoice has reached; "
            "the dunning plan (arinsight alerts, which knows the reminders already sent) has "
            "not run for this period."
        )
        more = f' <a href="{esc(overdue_link)}">Every overdue invoice ›</a>' if overdue_link else ""
        customers = f'{table}<p class="brief-note">{esc(how)}{more}</p>'
    else:
        customers = "<p>No customer has an overdue invoice.</p>"
    return (
        '<section class="ar-section briefing" aria-labelledby="brief-title">'
        '<h2 id="brief-title">What happened and what to do</h2>'
        '<div class="brief-grid">'
        f'<div class="brief-block brief-moves"><h3>Biggest changes against {esc(previous_label)}'
        f"</h3>{changes_html}</div>"
        + dso_html(kpis, previous_label)
        + cash_html(kpis, currency)
        + "</div>"
        '<div class="brief-block brief-top"><h3>Largest overdue balances: who to chase first</h3>'
        + customers
        + "</div></section>"
    )
