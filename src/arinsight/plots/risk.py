"""Figures and tables of the Risk page (05_risk_scoring): model quality and who to call first.

Every function takes the page's :class:`arinsight.risk.RiskRun`. Without a model (not enough
history) or without the data a figure needs (no open invoice, one outcome only in the test
months) it returns a small figure saying so instead of failing, so the rest of the page shows.
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from arinsight.plots._style import BAD, GOOD, NEUTRAL, PALETTE, apply_style, money, money_axis
from arinsight.plots.receivables import no_data_figure


def _needs_model(title: str, empty=no_data_figure):
    """Return a "no model" figure (``empty(title, reason)``) instead of drawing without a model."""

    def wrap(draw):
        @functools.wraps(draw)
        def inner(run, *args, **kwargs):
            if not run.available:
                return empty(title, f"No risk model: {run.unavailable}")
            return draw(run, *args, **kwargs)

        return inner

    return wrap


def _curves(predictions: pd.DataFrame):
    from sklearn.metrics import precision_recall_curve, roc_curve

    y = predictions["late"].to_numpy(dtype=int)
    if len(np.unique(y)) < 2:
        raise ValueError("the test months hold only one outcome: no ROC or PR curve")
    out = {}
    for col in ("model_score", "baseline_score"):
        fpr, tpr, _ = roc_curve(y, predictions[col])
        prec, rec, _ = precision_recall_curve(y, predictions[col])
        out[col] = (fpr, tpr, rec, prec)
    return y, out


@_needs_model("ROC and precision-recall curves")
def roc_pr_curves(run, figsize=(11, 4.5)):
    """ROC and precision-recall curves of the model and of the rule "late last time" on the
    held-out test months; the dashed lines are a random ranking (diagonal, base rate)."""
    apply_style()
    evaluation = run.evaluation
    if evaluation.predictions["late"].nunique() < 2:
        return no_data_figure(
            "ROC and precision-recall curves", "The test months hold only one outcome"
        )
    y, curves = _curves(evaluation.predictions)
    m = evaluation.metrics
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize)
    labels = {
        "model_score": (f"model (AUC {m['model']['roc_auc']:.3f})", PALETTE[0]),
        "baseline_score": (
            f"late last time (AUC {m['baseline_last_late']['roc_auc']:.3f})",
            PALETTE[1],
        ),
    }
    for col, (fpr, tpr, rec, prec) in curves.items():
        label, colour = labels[col]
        ax1.plot(fpr, tpr, color=colour, label=label)
        pr_key = "model" if col == "model_score" else "baseline_last_late"
        ax2.step(
            rec,
            prec,
            where="post",
            color=colour,
            label=label.split(" (")[0] + f" (PR AUC {m[pr_key]['pr_auc']:.3f})",
        )
    ax1.plot([0, 1], [0, 1], ls="--", color=NEUTRAL, lw=1, label="random")
    ax2.axhline(y.mean(), ls="--", color=NEUTRAL, lw=1, label=f"base rate {y.mean():.2f}")
    ax1.set(
        xlabel="share of on-time invoices flagged",
        ylabel="share of late invoices caught",
        title="ROC curve",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax2.set(
        xlabel="recall (share of late invoices caught)",
        ylabel="precision (flagged that are late)",
        title="Precision-recall curve",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    for ax in (ax1, ax2):
        ax.legend(loc="lower right" if ax is ax1 else "upper right", fontsize=9)
    fig.suptitle(f"Test invoices issued {m['test_from']} to {m['test_to']} (n = {m['n_test']:,})")
    fig.tight_layout()
    return fig


@_needs_model("Calibration on the test months")
def calibration_plot(run, n_bins: int = 10, figsize=(6, 5)):
    """Predicted probability vs observed late rate on the test months (equal-count bins);
    points on the diagonal mean "a 30 % score is late 30 % of the time"."""
    from sklearn.calibration import calibration_curve

    apply_style()
    p = run.evaluation.predictions
    y = p["late"].to_numpy(dtype=int)
    fig, ax = plt.subplots(figsize=figsize)
    for col, label, colour in (
        ("model_score", "model", PALETTE[0]),
        ("baseline_score", "late last time", PALETTE[1]),
    ):
        obs, pred = calibration_curve(y, p[col], n_bins=n_bins, strategy="quantile")
        ax.plot(pred, obs, marker="o", color=colour, label=label)
    ax.plot([0, 1], [0, 1], ls="--", color=NEUTRAL, lw=1, label="perfect calibration")
    ax.set(
        xlabel="predicted probability of late payment",
        ylabel="observed late rate",
        title="Calibration on the test months",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return fig


@_needs_model("What drives the score")
def importance_plot(run, top: int = 15, figsize=(7, 5)):
    """Permutation importance: how much ROC AUC drops when a feature is shuffled (bars) with
    its spread over repeats (whiskers)."""
    apply_style()
    importance = run.importance
    if importance.empty:
        return no_data_figure("What drives the score", "No feature importance was measured")
    d = importance.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=figsize)
    colours = [GOOD if v > 0 else NEUTRAL for v in d["importance"]]
    ax.barh(d["feature"], d["importance"], xerr=d["std"], color=colours)
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel="drop in ROC AUC when shuffled", ylabel="", title="What drives the score")
    fig.tight_layout()
    return fig


@_needs_model("Rolling monthly backtest")
def backtest_plot(run, figsize=(8, 4)):
    """Monthly backtest: ROC AUC of the model and of the rule, each month trained only on what
    was known the day before the month started."""
    apply_style()
    backtest = run.evaluation.backtest
    if backtest.empty or "model_roc_auc" not in backtest or backtest["model_roc_auc"].isna().all():
        return no_data_figure(
            "Rolling monthly backtest", "Too little history to re-train month by month"
        )
    fig, ax = plt.subplots(figsize=figsize)
    ax.plot(
        backtest["month"], backtest["model_roc_auc"], marker="o", color=PALETTE[0], label="model"
    )
    ax.plot(
        backtest["month"],
        backtest["baseline_roc_auc"],
        marker="o",
        color=PALETTE[1],
        label="late last time",
    )
    ax.axhline(0.5, ls="--", color=NEUTRAL, lw=1, label="random")
    ax.set(
        xlabel="invoice month", ylabel="ROC AUC", title="Rolling monthly backtest", ylim=(0.4, 1)
    )
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


@_needs_model("Where the risk sits")
def risk_by_segment(run, currency: str = "USD", figsize=(12, 4.5)):
    """Probability of late payment of the open invoices not yet late (at most ``late_days`` past
    due; later ones are late by definition) by industry and by region (box plots), with each
    segment's expected overdue amount over all its open invoices (red, above the boxes)."""
    apply_style()
    scores, late_days = run.scores, run.late_days
    if scores.empty:
        return no_data_figure("Where the risk sits", f"No open invoice on {run.as_of:%Y-%m-%d}")
    pending = scores.loc[scores["days_past_due"] <= late_days]
    fig, axes = plt.subplots(1, 2, figsize=figsize, sharey=True)
    for ax, col in zip(axes, ("industry", "region"), strict=True):
        totals = scores.groupby(col)["expected_overdue"].sum().sort_values(ascending=False)
        order = totals.index.tolist()
        groups = [pending.loc[pending[col] == key, "probability_late"].to_numpy() for key in order]
        ax.boxplot(
            groups,
            positions=range(len(order)),
            tick_labels=order,
            patch_artist=True,
            widths=0.6,
            boxprops={"facecolor": PALETTE[0], "alpha": 0.6},
            medianprops={"color": "black"},
            flierprops={"markersize": 2},
        )
        for i, key in enumerate(order):
            ax.text(i, 1.02, money(totals[key], currency), ha="center", fontsize=8, color=BAD)
        ax.set(
            xlabel=col.replace("_", " "),
            ylabel="probability of late payment",
            ylim=(0, 1.08),
            title=f"By {col}: invoices not yet late (red: expected overdue)",
        )
        ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def expected_overdue_top(risk: pd.DataFrame, top: int = 15, currency: str = "USD", figsize=(8, 5)):
    """Open vs expected overdue amount of the customers with the largest expected overdue."""
    apply_style()
    d = risk.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=figsize)
    ax.barh(d["customer_id"], d["open_amount"], color=NEUTRAL, label="open amount")
    ax.barh(d["customer_id"], d["expected_overdue"], color=BAD, label="expected overdue")
    money_axis(ax, "x", currency)
    ax.set(title="Customers with the largest expected overdue amount", xlabel="")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def flagged_table(run, currency: str = "USD"):
    """The flagged high-risk customers with their open, overdue and expected overdue amounts,
    as an escaped HTML Styler (one row per customer, in the order of the list); a short note
    when there is no model or no open invoice."""
    from IPython.display import HTML

    if not run.available:
        return HTML(f"<p><em>No risk model: {_esc(run.unavailable)}.</em></p>")
    if not run.high_risk:
        return HTML(
            f"<p><em>No customer has an open invoice at risk on {run.as_of:%Y-%m-%d}.</em></p>"
        )
    risk, flagged = run.customers, run.high_risk
    cols = [
        c
        for c in (
            "customer_id",
            "customer_name",
            "region",
            "industry",
            "open_invoices",
            "open_amount",
            "overdue_amount",
            "expected_overdue",
            "risk_share",
            "max_probability",
        )
        if c in risk
    ]
    d = risk.set_index("customer_id").loc[list(flagged)].reset_index()[cols]
    fmt = {
        c: (lambda v, cur=currency: money(v, cur))
        for c in ("open_amount", "overdue_amount", "expected_overdue")
    }
    fmt |= {
        c: (lambda v: "n/a" if v is None or v != v else f"{v:.0%}")
        for c in ("risk_share", "max_probability")
    }
    return d.style.format(escape="html").format(fmt).hide(axis="index")


def _esc(text) -> str:
    import html

    return html.escape(str(text))
