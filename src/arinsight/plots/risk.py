"""Figures and tables of the Risk page (05_risk_scoring): model quality and who to call first."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from arinsight.plots._style import BAD, GOOD, NEUTRAL, PALETTE, apply_style, money, money_axis


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


def roc_pr_curves(evaluation, figsize=(11, 4.5)):
    """ROC and precision-recall curves of the model and of the rule "late last time" on the
    held-out test months; the dashed lines are a random ranking (diagonal, base rate)."""
    apply_style()
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


def calibration_plot(evaluation, n_bins: int = 10, figsize=(6, 5)):
    """Predicted probability vs observed late rate on the test months (equal-count bins);
    points on the diagonal mean "a 30 % score is late 30 % of the time"."""
    from sklearn.calibration import calibration_curve

    apply_style()
    p = evaluation.predictions
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


def importance_plot(importance: pd.DataFrame, top: int = 15, figsize=(7, 5)):
    """Permutation importance: how much ROC AUC drops when a feature is shuffled (bars) with
    its spread over repeats (whiskers)."""
    apply_style()
    if importance.empty:
        raise ValueError("no feature importance to plot")
    d = importance.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=figsize)
    colours = [GOOD if v > 0 else NEUTRAL for v in d["importance"]]
    ax.barh(d["feature"], d["importance"], xerr=d["std"], color=colours)
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel="drop in ROC AUC when shuffled", ylabel="", title="What drives the score")
    fig.tight_layout()
    return fig


def backtest_plot(backtest: pd.DataFrame, figsize=(8, 4)):
    """Monthly backtest: ROC AUC of the model and of the rule, each month trained only on what
    was known the day before the month started."""
    apply_style()
    if backtest.empty or "model_roc_auc" not in backtest:
        raise ValueError("no backtest months to plot")
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


def risk_by_segment(
    scores: pd.DataFrame, currency: str = "USD", late_days: int = 30, figsize=(12, 4.5)
):
    """Probability of late payment of the open invoices not yet late (at most ``late_days`` past
    due; later ones are late by definition) by industry and by region (box plots), with each
    segment's expected overdue amount over all its open invoices (red, above the boxes)."""
    apply_style()
    if scores.empty:
        raise ValueError("no open invoices to plot")
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


def flagged_table(risk: pd.DataFrame, flagged: list[str], currency: str = "USD"):
    """The flagged high-risk customers with their open, overdue and expected overdue amounts,
    as an escaped HTML Styler (one row per customer, in the order of the list)."""
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
