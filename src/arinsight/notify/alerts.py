"""``arinsight alerts``: the invoices that crossed an overdue threshold in the period, the
collections worklist (CSV + Excel) and the dunning plan, and one reminder per customer contact.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight import config, dunning
from arinsight.disputes import collection_cases
from arinsight.errors import ParamsError, UserError
from arinsight.files import write_csv, write_excel
from arinsight.ledger import Period, load_processed, period_bounds
from arinsight.notify.compose import (
    AddressCheck,
    check_addresses,
    compose_reminder,
    config_addresses,
    header_text,
)
from arinsight.notify.outbox import Delivery, log_skipped
from arinsight.notify.setup import (
    POSITION_COLUMNS,
    NotifyError,
    customer_lookup,
    overdue_positions,
    params_section,
    positions_at,
    read_risk_scores,
    require_columns,
)

DEFAULT_THRESHOLDS = (1, 30, 60, 90)


def overdue_crossings(
    positions: pd.DataFrame,
    period: str | Period,
    thresholds: Iterable[int] = DEFAULT_THRESHOLDS,
) -> pd.DataFrame:
    """The open invoices that crossed an overdue threshold during ``period``, one row per invoice.

    With T the period's last day and T' the last day before the period,
    ``days_past_due(T') = days_past_due(T) - (T - T')`` (the due date does not move). Threshold k
    is crossed when ``days_past_due(T) >= k > days_past_due(T')`` and the invoice is still open
    (``open_amount > 0``) at T. ``level`` is the highest threshold crossed (an invoice 31 days
    past due at the end of a 31-day month crosses 1 and 30: level 30).

    ``positions`` is the as-of table of :func:`arinsight.receivables.invoice_positions` at T
    (needs invoice_id, customer_id, due_date, open_amount, days_past_due). Returns those columns
    (plus invoice_date and amount when present), ``days_past_due_previous`` and ``level``, sorted
    by customer, due date and invoice.
    """
    p = period_bounds(period) if isinstance(period, str) else period
    th = _thresholds(thresholds)
    require_columns(positions, POSITION_COLUMNS, "positions")
    keep = [
        c
        for c in (
            "invoice_id",
            "customer_id",
            "invoice_date",
            "due_date",
            "amount",
            "open_amount",
            "days_past_due",
        )
        if c in positions.columns
    ]
    dpd_all = pd.to_numeric(positions["days_past_due"], errors="coerce")
    is_open = (
        (pd.to_numeric(positions["open_amount"], errors="coerce") > 0) & dpd_all.notna()
    ).to_numpy()
    frame = positions.loc[is_open, keep].copy()
    dpd = dpd_all[is_open].to_numpy(dtype=float)
    previous = dpd - p.days
    crossed = (dpd[:, None] >= th[None, :]) & (previous[:, None] < th[None, :])
    hit = crossed.any(axis=1)
    highest = len(th) - 1 - np.argmax(crossed[:, ::-1], axis=1)
    out = frame.loc[hit].copy()
    out["days_past_due"] = dpd[hit].astype("int64")
    out["days_past_due_previous"] = previous[hit].astype("int64")
    out["level"] = th[highest[hit]]
    out["customer_id"] = out["customer_id"].astype(str)
    return out.sort_values(["customer_id", "due_date", "invoice_id"], kind="mergesort").reset_index(
        drop=True
    )


def collections_worklist(
    positions: pd.DataFrame,
    crossings: pd.DataFrame,
    customers: pd.DataFrame,
    risk_scores: pd.DataFrame | None = None,
    templates: Mapping[Any, str] | None = None,
    broken_promises: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per customer with an invoice in ``crossings``, ordered for the collections team.

    Per customer: ``level`` = highest level crossed; ``crossed_invoices`` / ``crossed_amount`` =
    count and open amount of the crossing invoices; ``overdue_invoices`` / ``overdue_amount`` /
    ``max_days_past_due`` over all the customer's open invoices past due at T;
    ``amount_x_days`` = sum(open_amount x days_past_due) over those overdue invoices;
    ``expected_loss`` = sum of ``expected_overdue`` of the customer's invoices in ``risk_scores``
    (null without risk scores or without a scored invoice).

    Order (``rank`` 1..n): by expected_loss, largest first, when ``risk_scores`` is given
    (``priority_basis`` = "expected_loss"; customers without a score come last), else by
    amount_x_days (``priority_basis`` = "amount_x_days"); ties by amount_x_days, then customer_id.
    ``broken_promises`` (customer -> promises to pay broken in the 90 days up to T,
    :func:`arinsight.disputes.collection_cases`) raises a customer: the column
    ``broken_promises_90d`` and ``priority`` = the basis x (1 + broken promises) rank instead
    (a customer whose word was not kept twice counts three times its amount).
    ``email_to`` holds the addresses of the customer's ``contact_email`` ("; "-separated,
    checked by :func:`~arinsight.notify.compose.check_addresses`); ``reminder`` names the template
    of the level, or says why no e-mail can be sent: "no contact e-mail", or
    "invalid_email: <why>" for a refused field (a line break, a second address hidden in it...).
    """
    require_columns(positions, POSITION_COLUMNS, "positions")
    require_columns(crossings, ("invoice_id", "customer_id", "open_amount", "level"), "crossings")
    require_columns(customers, ("customer_id",), "customers")
    columns = [
        "rank",
        "customer_id",
        "customer_name",
        "email_to",
        "level",
        "reminder",
        "crossed_invoices",
        "crossed_amount",
        "crossed_invoice_ids",
        "overdue_invoices",
        "overdue_amount",
        "max_days_past_due",
        "amount_x_days",
        "expected_loss",
        "priority_basis",
    ]
    if crossings.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    cross = crossings.assign(customer_id=crossings["customer_id"].astype(str))
    per = cross.groupby("customer_id", sort=True).agg(
        level=("level", "max"),
        crossed_invoices=("invoice_id", "size"),
        crossed_amount=("open_amount", "sum"),
        crossed_invoice_ids=("invoice_id", lambda s: "; ".join(sorted(map(str, s)))),
    )
    overdue = overdue_positions(positions)
    overdue = overdue.assign(_amount_x_days=overdue["open_amount"] * overdue["days_past_due"])
    agg = overdue.groupby("customer_id", sort=True).agg(
        overdue_invoices=("invoice_id", "size"),
        overdue_amount=("open_amount", "sum"),
        max_days_past_due=("days_past_due", "max"),
        amount_x_days=("_amount_x_days", "sum"),
    )
    out = per.join(agg, how="left")
    if risk_scores is not None:
        require_columns(risk_scores, ("customer_id", "expected_overdue"), "risk_scores")
        loss = (
            risk_scores.assign(customer_id=risk_scores["customer_id"].astype(str))
            .groupby("customer_id")["expected_overdue"]
            .sum(min_count=1)
        )
        out["expected_loss"] = loss.reindex(out.index)
        basis = "expected_loss"
    else:
        out["expected_loss"] = np.nan
        basis = "amount_x_days"
    out = out.reset_index()
    names = customer_lookup(customers)
    out = out.merge(names, on="customer_id", how="left")
    out["customer_name"] = out["customer_name"].where(
        out["customer_name"].notna(), out["customer_id"]
    )
    checks = out["contact_email"].map(check_addresses)
    out["email_to"] = checks.map(lambda c: "; ".join(c.addresses))
    if templates is not None:
        mapping = _template_map(templates, out["level"].unique())
        out["reminder"] = out["level"].map(mapping)
    else:
        out["reminder"] = ""
    no_mail = out["email_to"] == ""
    out.loc[no_mail, "reminder"] = checks[no_mail].map(_skip_text)
    out["priority_basis"] = basis
    sort_cols = (["expected_loss"] if basis == "expected_loss" else []) + [
        "amount_x_days",
        "customer_id",
    ]
    if broken_promises is not None:
        broken = out["customer_id"].map(broken_promises).fillna(0).astype("int64")
        out["broken_promises_90d"] = broken
        out["priority"] = out[basis].astype(float) * (1 + broken)
        sort_cols = ["priority", *sort_cols[-2:]]
        columns += ["broken_promises_90d", "priority"]
    ascending = [False] * (len(sort_cols) - 1) + [True]
    out = out.sort_values(sort_cols, ascending=ascending, na_position="last", kind="mergesort")
    out["rank"] = np.arange(1, len(out) + 1)
    for col in ("crossed_amount", "overdue_amount", "amount_x_days", "expected_loss", "priority"):
        if col in out.columns:
            out[col] = out[col].astype(float).round(2)
    for col in ("level", "crossed_invoices", "overdue_invoices", "max_days_past_due"):
        out[col] = out[col].astype("int64")
    return out[columns].reset_index(drop=True)


def run_alerts(
    period: str,
    *,
    dry_run: bool = False,
    params_files: Sequence[str | os.PathLike[str]] = (),
    force: bool = False,
    processed_dir: str | Path | None = None,
    reports_dir: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``arinsight alerts``: worklist files + one reminder per customer contact (see module doc).

    Writes reports/<period>/alerts/collections_worklist.{csv,xlsx}, overdue_crossings.csv and
    disputes.csv (the invoices in dispute with their customer, for the site's customer pages),
    then the reminders to reports/<period>/outbox/ and, unless ``dry_run``, sends them. A
    reminder whose key (period, customer, level) is in the send log is skipped unless ``force``.
    Returns 0, or 1 when some message was refused (it stays in the outbox).
    """
    d = Delivery.start(period, params_files, reports_dir, dry_run, environ)
    with d.lock("alerts"):  # one sender per send log at a time: a second one waits, then skips
        return _alerts(d, force, processed_dir)


def _alerts(d: Delivery, force: bool, processed_dir: str | Path | None) -> int:
    p, params, currency, reports = d.period, d.params, d.currency, d.reports
    alerts = params_section(params, "alerts")
    thresholds = _thresholds(alerts.get("thresholds", DEFAULT_THRESHOLDS))
    templates = _template_map(alerts.get("templates") or {}, thresholds)
    mail_from, env, profile = d.mail_from, d.env, d.profile

    levels = dunning.dunning_levels(params)
    section = params.get("dunning") or {}
    min_days_between = int(section.get("min_days_between", 14))

    tables = load_processed(processed_dir, ["customers", "invoices", "payments"])
    if tables["invoices"].empty:
        raise UserError(
            f"no processed invoices in {processed_dir or config.PROCESSED_DIR}: "
            f"run `arinsight run --period {p.label}` first"
        )
    # what cash application matched lowers the open amounts; disputed invoices are never dunned
    applied = dunning.applied_by_cash_application(params, tables["payments"], p.end)
    positions = dunning.apply_cash(positions_at(processed_dir, p, params), applied)
    disputes = dunning.read_disputes(params.get("sources"))
    # the disputes table (docs/disputes.md) adds the disputes open at T; its promises to pay,
    # the broken ones per customer (they raise the customer in the worklist)
    open_cases, broken = collection_cases(
        processed_dir, p.end, int(params.get("promise_grace_days", 3))
    )
    disputed = set(disputes["invoice_id"].astype(str)) | open_cases
    undisputed = positions.loc[~positions["invoice_id"].astype(str).isin(disputed)]
    risk = read_risk_scores(reports, p.label)
    crossings = overdue_crossings(undisputed, p, thresholds)
    worklist = collections_worklist(
        undisputed, crossings, tables["customers"], risk, templates, broken if len(broken) else None
    )

    log_path = d.log_path
    history = dunning.reminder_history(dunning.read_send_records(log_path))
    if force:  # send this period's reminders again: forget only this period's
        history = history.loc[history["period"] != p.label]
    plan = dunning.dunning_plan(
        positions, p, history, levels, min_days_between, disputed | set(applied["invoice_id"])
    )
    plan = plan.merge(customer_lookup(tables["customers"]), on="customer_id", how="left")
    checks = plan["contact_email"].map(check_addresses)
    plan["email_to"] = checks.map(lambda c: "; ".join(c.addresses))
    # a reminder due to a customer without a usable address is skipped, with the reason
    skipped: list[dict[str, Any]] = []
    no_address = (plan["action"] == "send") & (plan["email_to"] == "")
    for i in plan.index[no_address]:
        _skip(plan, i, checks[i].reason, _skip_text(checks[i]), skipped, p)
    by_level = {lv.number: lv for lv in levels}
    messages, done = [], int((plan["action"] == "done").sum())
    for i in plan.index[plan["action"] == "send"]:
        row = plan.loc[i]
        invoices = undisputed.loc[undisputed["invoice_id"].astype(str).isin(row.invoice_ids)]
        try:
            msg = _reminder(
                row, invoices, undisputed, p, by_level, alerts, mail_from, currency, env, profile
            )
        except ParamsError:  # a template or a setting: the same for every customer, stop
            raise
        except (NotifyError, ValueError) as exc:  # this customer's data: skip it, go on
            _skip(plan, i, "compose_error", f"compose_error: {header_text(exc)}", skipped, p)
            continue
        messages.append((f"reminder_{p.label}_{row.customer_id}_{int(row.level)}", msg))
    action = plan.set_index("customer_id")
    label = action["template"].where(
        action["action"] == "send", action["action"] + ": " + action["reason"]
    )
    has_mail = worklist["email_to"] != ""
    worklist.loc[has_mail, "reminder"] = (
        worklist.loc[has_mail, "customer_id"].map(label).fillna("no overdue invoice to remind")
    )

    out_dir = reports / p.label / "alerts"
    out_dir.mkdir(parents=True, exist_ok=True)
    crossings_named = crossings.merge(
        worklist[["customer_id", "customer_name"]], on="customer_id", how="left"
    )
    plan_out = plan.drop(columns=["contact_email"]).assign(
        invoice_ids=plan["invoice_ids"].map("; ".join)
    )
    write_csv(worklist, out_dir / "collections_worklist.csv")
    write_csv(crossings_named, out_dir / "overdue_crossings.csv")
    write_csv(plan_out, out_dir / "dunning_plan.csv")
    # the invoices in dispute with their customer, for the customer pages of the site
    owner = dict(
        zip(positions["invoice_id"].astype(str), positions["customer_id"].astype(str), strict=True)
    )
    disputes_out = disputes.assign(customer_id=disputes["invoice_id"].astype(str).map(owner))
    write_csv(disputes_out[["invoice_id", "customer_id", "reason", "opened_date"]],
              out_dir / "disputes.csv")  # fmt: skip
    write_excel(
        out_dir / "collections_worklist.xlsx",
        {"worklist": worklist, "invoices": crossings_named, "dunning": plan_out},
    )

    paths = d.write(messages)
    # refused addresses and data that broke a message go to the send log too (not on a dry run);
    # a customer without any address is in the worklist only, as before
    skipped = [rec for rec in skipped if rec["reason"] != "no_email"]
    if skipped and not d.dry_run:
        log_skipped(log_path, skipped)
    top_n = int(alerts.get("worklist_top_n") or 25)
    print(
        f"alerts {p.label}: {len(crossings)} invoice(s) crossed a threshold "
        f"({', '.join(map(str, thresholds))} days) for {len(worklist)} customer(s); "
        f"worklist in {out_dir}"
    )
    if not worklist.empty:
        basis = str(worklist["priority_basis"].iloc[0])
        cols = ["rank", "customer_id", "level", "overdue_amount", basis, "reminder"]
        print(f"collections worklist, top {top_n} by {basis.replace('_', ' ')}:")
        print(worklist.head(top_n)[cols].to_string(index=False))
    counts = plan["action"].value_counts()
    print(
        f"dunning: {int(counts.get('send', 0))} reminder(s) due, {int(counts.get('wait', 0))} "
        f"waiting, {int(counts.get('escalate', 0))} past the final notice (call them); "
        f"{len(disputed)} invoice(s) in dispute and {applied['invoice_id'].nunique()} matched by "
        f"cash application left out; plan in {out_dir / 'dunning_plan.csv'}"
    )
    no_mail = int((worklist["email_to"] == "").sum()) if not worklist.empty else 0
    if no_mail:
        print(f"{no_mail} customer(s) have no valid contact e-mail: call them (see the worklist)")
    for rec in skipped:
        print(f"reminder skipped for customer {header_text(rec['customer_id'])!r}: {rec['detail']}")
    if done:
        print(
            f"{done} reminder(s) already sent for {p.label} (send log {log_path}); --force resends"
        )
    return d.send(paths)


def _reminder(row, invoices, undisputed, p, by_level, alerts, mail_from, currency, env, profile):
    """The reminder of one row of the dunning plan (with the customer's statement), in the
    customer's currency: every amount as billed (:func:`arinsight.dunning.in_invoice_currency`)."""
    mine = undisputed.loc[undisputed["customer_id"].astype(str) == row.customer_id]
    statement = dunning.in_invoice_currency(mine, currency)
    invoices = dunning.in_invoice_currency(invoices, currency)
    return compose_reminder(
        row.to_dict(),
        invoices,
        period=p,
        level=int(row.level),
        template=row.template,
        mail_from=mail_from,
        currency=dunning.currency_of(invoices, currency),
        reply_to=alerts.get("reply_to"),
        cc=config_addresses(alerts.get("cc"), "alerts.cc"),
        env=env,
        profile=profile,
        statement=dunning.statement_rows(statement, row.customer_id, profile, currency),
        statement_total=dunning.money_total(
            statement.loc[statement["open_amount"] > 0], profile, currency
        ),
        threshold_days=by_level[int(row.level)].min_days_past_due,
        statement_charges=dunning.charges_context(
            statement.loc[statement["open_amount"] > 0], profile, currency
        ),
    )


def _skip_text(check: AddressCheck) -> str:
    return check.detail if check.reason == "no_email" else f"{check.reason}: {check.detail}"


def _skip(plan: pd.DataFrame, i: Any, reason: str, text: str, skipped: list, p: Period) -> None:
    """Mark row ``i`` of the plan skipped (action ``skip``, the reason) and keep a record of it
    for the send log."""
    plan.loc[i, "action"] = "skip"
    plan.loc[i, "reason"] = text
    skipped.append(
        {
            "customer_id": str(plan.loc[i, "customer_id"]),
            "period": p.label,
            "level": int(plan.loc[i, "level"]),
            "reason": reason,
            "detail": text,
        }
    )


def _thresholds(values: Iterable[Any]) -> np.ndarray:
    try:
        th = sorted({int(v) for v in values})
    except (TypeError, ValueError):
        raise ParamsError(
            f"alerts.thresholds must be whole numbers of days, got {values!r}"
        ) from None
    if not th or th[0] < 1:
        raise ParamsError(f"alerts.thresholds must be days >= 1, got {values!r}")
    return np.asarray(th, dtype="int64")


def _template_map(templates: Mapping[Any, str], levels: Iterable[Any]) -> dict[int, str]:
    try:
        mapping = {int(k): str(v) for k, v in dict(templates).items()}
    except (TypeError, ValueError):
        raise ParamsError(
            f"alerts.templates keys must be thresholds in days: {templates!r}"
        ) from None
    missing = sorted(int(level) for level in levels if int(level) not in mapping)
    if missing:
        raise ParamsError(f"alerts.templates has no template for threshold(s) {missing}")
    return mapping
