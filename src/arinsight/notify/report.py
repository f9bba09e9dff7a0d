"""``arinsight email-report``: the monthly summary e-mail (KPI cards with their change, top overdue
customers, high-risk customers, the KPI table attached as CSV) to the stakeholders and to each
region's owners.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd

from arinsight import config
from arinsight.errors import ParamsError, UserError
from arinsight.ledger import ALL_REGIONS, load_processed
from arinsight.notify.compose import KEY_HEADER, compose_report, config_addresses, header_text
from arinsight.notify.outbox import (
    Delivery,
    read_send_log,
)
from arinsight.notify.setup import (
    POSITION_COLUMNS,
    customer_lookup,
    overdue_positions,
    positions_at,
    read_risk_scores,
    require_columns,
)


def top_overdue_customers(
    positions: pd.DataFrame, customers: pd.DataFrame, top_n: int = 10
) -> pd.DataFrame:
    """The ``top_n`` customers with the largest overdue balance at T.

    overdue_amount = sum of open_amount over the customer's invoices with days_past_due >= 1;
    also the number of those invoices and the oldest days past due. Ties by customer_id.
    """
    require_columns(positions, POSITION_COLUMNS, "positions")
    if int(top_n) < 1:
        raise ParamsError(f"top_n must be >= 1, got {top_n}")
    overdue = overdue_positions(positions)
    agg = (
        overdue.groupby("customer_id", sort=True)
        .agg(
            overdue_amount=("open_amount", "sum"),
            overdue_invoices=("invoice_id", "size"),
            max_days_past_due=("days_past_due", "max"),
        )
        .reset_index()
    )
    agg = agg.sort_values(
        ["overdue_amount", "customer_id"], ascending=[False, True], kind="mergesort"
    ).head(int(top_n))
    agg = agg.merge(customer_lookup(customers), on="customer_id", how="left")
    agg["customer_name"] = agg["customer_name"].where(
        agg["customer_name"].notna(), agg["customer_id"]
    )
    agg["overdue_amount"] = agg["overdue_amount"].round(2)
    cols = [
        "customer_id",
        "customer_name",
        "overdue_amount",
        "overdue_invoices",
        "max_days_past_due",
    ]
    return agg[cols].reset_index(drop=True)


def high_risk_customers(
    kpis: Mapping[str, Any],
    risk_scores: pd.DataFrame | None,
    customers: pd.DataFrame,
    top_n: int = 20,
) -> pd.DataFrame:
    """The high-risk customers of the period with their risk figures.

    The list is ``kpis["high_risk_customers"]`` in its order (the risk notebook's ranking); when
    kpis.json has no such key, the ``top_n`` customers by expected overdue amount in
    ``risk_scores``. Per customer: expected_overdue = sum of the invoices' expected overdue amount,
    open_amount = sum of open amounts, max_probability = highest probability_late (null without
    risk scores).
    """
    require_columns(customers, ("customer_id",), "customers")
    ids = kpis.get("high_risk_customers")
    if ids is not None and not isinstance(ids, list | tuple):
        raise ParamsError(f"kpis['high_risk_customers'] must be a list, got {type(ids).__name__}")
    cols = ["customer_id", "customer_name", "expected_overdue", "open_amount", "max_probability"]
    if risk_scores is not None and not risk_scores.empty:
        require_columns(
            risk_scores,
            ("customer_id", "open_amount", "probability_late", "expected_overdue"),
            "risk_scores",
        )
        per = (
            risk_scores.assign(customer_id=risk_scores["customer_id"].astype(str))
            .groupby("customer_id")
            .agg(
                expected_overdue=("expected_overdue", "sum"),
                open_amount=("open_amount", "sum"),
                max_probability=("probability_late", "max"),
            )
        )
    else:
        per = pd.DataFrame(
            columns=["expected_overdue", "open_amount", "max_probability"], dtype=float
        )
    if ids is None:
        order = per.sort_values("expected_overdue", ascending=False, kind="mergesort")
        ids = list(order.index[: int(top_n)])
    out = pd.DataFrame({"customer_id": [str(i) for i in ids]})
    out = out.join(per, on="customer_id").merge(
        customer_lookup(customers), on="customer_id", how="left"
    )
    out["customer_name"] = out["customer_name"].where(
        out["customer_name"].notna(), out["customer_id"]
    )
    return out[cols].reset_index(drop=True)


def run_email_report(
    period: str,
    *,
    dry_run: bool = False,
    params_files: Sequence[str | os.PathLike[str]] = (),
    force: bool = False,
    processed_dir: str | Path | None = None,
    reports_dir: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``arinsight email-report``: the summary e-mail of reports/<period>/All/kpis.json to the
    stakeholders, and one per region of ``email.region_owners`` (region -> addresses) from
    reports/<period>/<region>/kpis.json to its owners.

    Top overdue customers come from the processed ledger as of T (the region's customers),
    high-risk customers from kpis.json and the region's risk_scores.parquet; the company profile
    signs it. Each is sent once per period (send-log key ``report:<period>:<region>``) unless
    ``force``. Returns 0, or 1 when the server refused one.
    """
    d = Delivery.start(period, params_files, reports_dir, dry_run, environ)
    with d.lock(
        "email-report"
    ):  # one sender per send log at a time: a second one waits, then skips
        return _email_report(d, force, processed_dir)


def _email_report(d: Delivery, force: bool, processed_dir: str | Path | None) -> int:
    p, params, email, currency, reports = d.period, d.params, d.email, d.currency, d.reports
    stakeholders = email.get("stakeholders") or []
    if isinstance(stakeholders, str):
        stakeholders = [stakeholders]
    mail_from = d.mail_from

    kpis_path = reports / p.label / ALL_REGIONS / "kpis.json"
    if not kpis_path.exists():
        raise UserError(f"{kpis_path}: not found: run `arinsight run --period {p.label}` first")
    try:
        kpis = json.loads(kpis_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"{kpis_path}: not valid JSON: {exc}") from None
    kpis.setdefault("period", p.label)
    if not kpis.get("as_of"):
        kpis["as_of"] = p.end.strftime("%Y-%m-%d")

    tables = load_processed(processed_dir)
    profile, env = d.profile, d.env
    positions = positions_at(processed_dir, p, params) if not tables["invoices"].empty else None
    owners = email.get("region_owners") or {}
    if not isinstance(owners, Mapping):
        raise ParamsError("email.region_owners must map region -> list of addresses")
    jobs = [(ALL_REGIONS, kpis, stakeholders)]
    for region, to in sorted(owners.items()):
        owners_to = config_addresses(to, f"email.region_owners.{header_text(region)}")
        path = reports / p.label / config.region_dir(str(region)) / "kpis.json"
        if not path.exists():
            print(f"email-report {p.label}: no report for region {region!r} ({path}); skipped")
            continue
        region_kpis = json.loads(path.read_text(encoding="utf-8"))
        region_kpis.setdefault("period", p.label)
        region_kpis["region"] = str(region)
        jobs.append((str(region), region_kpis, owners_to))
    log_path = d.log_path
    done = set() if force else read_send_log(log_path)
    messages = []
    for region, region_kpis, to in jobs:
        if region_kpis.get("as_of") in (None, ""):
            region_kpis["as_of"] = p.end.strftime("%Y-%m-%d")
        ids = None
        if region != ALL_REGIONS:
            cust = tables["customers"]
            ids = set(cust.loc[cust["region"] == region, "customer_id"].astype(str))
        msg = _summary_message(
            region_kpis,
            positions,
            tables["customers"],
            ids,
            reports,
            p,
            to,
            mail_from,
            email,
            params,
            currency,
            env,
            profile,
        )
        if msg[KEY_HEADER] in done:
            print(
                f"email-report {p.label} ({region}): already sent (send log {log_path}); --force resends"
            )
            continue
        stem = f"report_{p.label}" + ("" if region == ALL_REGIONS else f"_{region}")
        messages.append((stem, msg))
        print(
            f"email-report {p.label} ({region}): to {', '.join(a.addr_spec for a in msg['To'].addresses)}"
        )
    return d.send(d.write(messages))


def _summary_message(
    kpis,
    positions,
    customers,
    ids,
    reports,
    p,
    to,
    mail_from,
    email,
    params,
    currency,
    env,
    profile,
) -> EmailMessage:
    """The summary e-mail of one region (``ids``: its customers; None = every customer)."""
    cols = [
        "customer_id",
        "customer_name",
        "overdue_amount",
        "overdue_invoices",
        "max_days_past_due",
    ]
    if positions is None:
        top = pd.DataFrame(columns=cols)
    else:
        pos = (
            positions
            if ids is None
            else positions.loc[positions["customer_id"].astype(str).isin(ids)]
        )
        top = top_overdue_customers(pos, customers, int(email.get("top_n") or 10))
    region = str(kpis.get("region") or ALL_REGIONS)
    risk = read_risk_scores(reports, p.label, region)
    high = high_risk_customers(kpis, risk, customers, int(params.get("high_risk_top_n") or 20))
    return compose_report(
        kpis,
        top_overdue=top,
        high_risk=high,
        stakeholders=to,
        mail_from=mail_from,
        site_url=str(email.get("site_url") or ""),
        subject_prefix=str(email.get("subject_prefix") or ""),
        currency=currency,
        env=env,
        profile=profile,
    )
