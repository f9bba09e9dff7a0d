"""What the page and the run write: outputs, headline, summary table, model card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from arinsight.files import write_json
from arinsight.kpis import format_value
from arinsight.risk.base import LARGE_TRAIN_ROWS, MIN_TRAINING_INVOICES
from arinsight.risk.persist import save_model
from arinsight.risk.run import RiskRun
from arinsight.risk.score import SCORE_COLUMNS


def _money(value: float, currency: str) -> str:
    """An amount compactly, as the notebooks' KPI summary shows it: 1234 -> "$1.2k"."""
    return format_value(value, "money", currency, style="compact")


def write_outputs(run: RiskRun, output_dir: str | Path) -> dict[str, Path]:
    """Write the run's machine-readable outputs into ``output_dir``.

    ``kpis_risk.json`` (high-risk customers, expected overdue amount, expected collections),
    ``risk_metrics.json`` (the keys listed in docs/kpis.md + backtest, beats_baseline, final_model),
    ``risk_scores.parquet`` (one row per open invoice, sorted by invoice_id),
    ``risk_model.skops`` + ``risk_model.json`` (model and metadata).
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not run.available:
        keys = ["base_rate", "n_train", "n_test", "train_from", "train_to", "test_from", "test_to"]
        metrics = dict.fromkeys(keys) | {
            "late_days": run.late_days,
            "region": run.region,
            "period": run.period,
            "status": "not enough data",
            "reason": run.unavailable,
            "model": dict.fromkeys(["roc_auc", "pr_auc", "brier", "top_decile_lift"]),
            "baseline_last_late": dict.fromkeys(["roc_auc", "pr_auc", "brier"]),
        }
        return {
            "kpis": write_json(out / "kpis_risk.json", run.kpis()),
            "metrics": write_json(out / "risk_metrics.json", metrics),
        }
    metrics = dict(run.metrics) | {
        "region": run.region,
        "period": run.period,
        "status": "ok",
        "final_model": run.metadata["training_window"],
        "features_used": run.metadata.get("features"),
        "features_dropped": run.metadata.get("dropped_features", {}),
    }
    paths = {
        "kpis": write_json(out / "kpis_risk.json", run.kpis()),
        "metrics": write_json(out / "risk_metrics.json", metrics),
    }
    scores = run.scores[SCORE_COLUMNS].sort_values("invoice_id", kind="mergesort")
    paths["scores"] = out / "risk_scores.parquet"
    scores.reset_index(drop=True).to_parquet(paths["scores"], index=False)
    paths["model"], paths["model_metadata"] = save_model(
        run.model, out / "risk_model.skops", run.metadata
    )
    return paths


def headline(run: RiskRun) -> str:
    """One line (Markdown) on what the page covers: period, scoring date, region, the training
    data, or why there is no model."""
    scope = f"**Period** {run.period} (scored at {run.as_of:%Y-%m-%d}), **region** {run.region}"
    if not run.available:
        return f"{scope}: no risk model this period ({run.unavailable})."
    tw = run.metadata["training_window"]
    n_train, n_all = tw["n_train"], tw.get("n_matured", tw["n_train"])
    data = f"{n_train:,} invoices of every region"
    if n_all > n_train:
        data = f"a random sample of {n_train:,} of the {n_all:,} invoices of every region"
    return f"{scope}: {len(run.scores):,} open invoices scored; model trained on {data}."


def summary_table(run: RiskRun, currency: str = "USD") -> pd.DataFrame:
    """Headline numbers of the scoring at T: open amount scored, expected overdue amount,
    customers flagged (the cash to expect is the Cash Forecast page's)."""
    if not run.available:
        table = pd.DataFrame(
            [("risk model", f"not available: {run.unavailable}")], columns=["figure", "value"]
        ).set_index("figure")
        table.index.name = None
        return table
    k = run.kpis()
    rows = [
        ("open invoices scored", f"{k['open_invoices_scored']:,}"),
        ("open amount", _money(float(run.scores["open_amount"].sum()), currency)),
        (
            "expected overdue amount (probability x open amount)",
            _money(k["expected_overdue_amount"], currency),
        ),
    ]
    rows.append(("high-risk customers flagged", f"{len(run.high_risk)}"))
    table = pd.DataFrame(rows, columns=["figure", "value"]).set_index("figure")
    table.index.name = None  # no separate header row for the index in the rendered table
    return table


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _settings_text(run: RiskRun) -> str:
    """The model card's sentences on the training settings and the cost controls."""
    ms = run.metadata.get("model_settings") or {}
    if not ms:
        return ""
    n_iter = ", ".join(str(n) for n in ms.get("n_iter", []))
    text = (
        f"Learning rate {ms['learning_rate']:g}, at most {ms['max_iter']} trees (used: {n_iter}), "
        f"{ms['calibration']} calibration over {ms['calibration_folds']} folds"
    )
    if ms["learning_rate"] > 0.08:
        text += (
            f" (from {LARGE_TRAIN_ROWS:,} training rows the model takes fewer, larger boosting "
            "steps to bound the training time; measured cost in quality: about 0.0003 ROC AUC)"
        )
    text += "."
    cap = run.metrics.get("max_train_rows")
    fits = [run.metrics, *run.metrics.get("backtest", [])]
    if cap and any(r.get("n_matured", 0) > r.get("n_train", 0) > 0 for r in fits):
        text += (
            f" To bound the run time each model (the final one, the one tested above and each "
            f"monthly backtest model) learns from at most {cap:,} of the invoices whose outcome "
            "was known at its cut-off: a random sample, stratified by invoice month and outcome "
            "so that the late rate and the months keep their weight (see docs/risk.md for the "
            "measured cost in quality)."
        )
    return text


def _training_text(tw: dict[str, Any]) -> str:
    """The final model's training data in words (a sample of it when the cap applied)."""
    n, n_all = tw["n_train"], tw.get("n_matured", tw["n_train"])
    known = f"whose outcome was known on {tw['cutoff']}"
    if n_all > n:
        return (
            f"{n:,} invoices of every region, a random sample (stratified by month and outcome) "
            f"of the {n_all:,} issued {tw['train_from']} to {tw['train_to']} {known}"
        )
    return f"{n:,} invoices of every region issued {tw['train_from']} to {tw['train_to']} {known}"


def _dropped_text(run: RiskRun) -> str:
    dropped = run.metadata.get("dropped_features") or {}
    if not dropped:
        return ""
    names = "; ".join(f"{k.replace('_', ' ')} ({v})" for k, v in sorted(dropped.items()))
    return f" Information not used because it does not vary in this data: {names}."


def model_card(run: RiskRun, currency: str = "USD") -> str:
    """A short model card (Markdown) for stakeholders: meaning, quality, data, limits.

    Without a model (not enough history) it says why and what the model needs."""
    if not run.available:
        return "\n".join(
            [
                "### Model card: late-payment risk",
                "",
                f"**No model for {run.period}.** {run.unavailable[:1].upper()}{run.unavailable[1:]}.",
                "",
                "**What the model needs.** At least "
                f"{MIN_TRAINING_INVOICES} invoices whose outcome was known by {run.as_of.date()} "
                f"(paid, or more than {run.late_days} days past due), with both late and on-time "
                "payers among them, plus a few months of such invoices to test it on. The "
                "receivables and commission pages do not depend on it.",
            ]
        )
    m = run.metrics
    mm, mr = m["model"], m["baseline_last_late"]
    beats = m["beats_baseline"]
    if beats.get("roc_auc") and beats.get("pr_auc"):
        verdict = "The model **beats** the simple rule on both ROC AUC and PR AUC."
    else:
        verdict = (
            '**Warning: the model does not beat the rule "late last time"** on '
            + " and ".join(k.replace("_", " ").upper() for k, v in beats.items() if not v)
            + "; use its scores with care."
        )
    tw = run.metadata["training_window"]
    return "\n".join(
        [
            "### Model card: late-payment risk",
            "",
            f"**What the score means.** For each invoice open on {run.as_of.date()}, the probability "
            f"that it is paid more than {run.late_days} days after its due date (or not at all by then), "
            "given what was known when it was issued and that it is still unpaid today. Expected overdue "
            "amount = probability x open amount.",
            "",
            f"**How good it is.** On {m['n_test']:,} invoices issued {m['test_from']} to {m['test_to']} "
            f"(trained only on what was known on {m['train_cutoff']}): ROC AUC {_fmt(mm['roc_auc'])} vs "
            f'{_fmt(mr["roc_auc"])} for the rule "late last time"; PR AUC {_fmt(mm["pr_auc"])} vs '
            f"{_fmt(mr['pr_auc'])} (a random ranking gets {_fmt(m['base_rate'])}); Brier score "
            f"{_fmt(mm['brier'])} vs {_fmt(mr['brier'])}; the 10 % riskiest invoices are late "
            f"{_fmt(mm['top_decile_lift'], 1)} times as often as average. {verdict}",
            "",
            f"**On what data.** {_training_text(tw)} (late rate "
            f"{_fmt(tw['base_rate'])}). Gradient boosting with calibrated probabilities, seed "
            f"{run.metadata['random_seed']}. {_settings_text(run)}{_dropped_text(run)}",
            "",
            f"**Limits.** A ranking aid for collectors, not a credit decision. Customer master data "
            "(industry, credit limit) is taken as it is today. The score assumes customers behave as "
            "they did in the training window; new customers without history get industry-level "
            "scores. Expected collections assume the remaining balance is paid in one go. Open "
            f"amount scored: {_money(float(run.scores['open_amount'].sum()), currency)}.",
        ]
    )
