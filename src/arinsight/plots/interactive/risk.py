"""Interactive figures of the Risk page (notebook 05): model quality and where the risk sits.

Every function takes the page's :class:`arinsight.risk.RiskRun`. Without a model (not enough
history) or without the data a figure needs it returns a small figure saying so instead of
failing, so the rest of the page shows."""

from __future__ import annotations

import functools

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from arinsight.plots.interactive.base import (
    BAD,
    GOOD,
    NEUTRAL,
    PALETTE,
    figure,
    money_axis,
    money_fmt,
    no_data,
    values,
)
from arinsight.plots.tables import table_html as table_html  # re-exported for the notebooks

_MAX_POINTS = 400


def _needs_model(title: str):
    """Return a "no model" figure instead of drawing without a model."""

    def wrap(draw):
        @functools.wraps(draw)
        def inner(run, *args, **kwargs):
            if not run.available:
                return no_data(title, f"No risk model: {run.unavailable}")
            return draw(run, *args, **kwargs)

        return inner

    return wrap


def _curves(predictions):
    """The test months' outcomes and, per score, its ROC (fpr, tpr) and PR (recall, precision)."""
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


def _thin(*arrays: np.ndarray) -> list[list[float]]:
    """At most ~400 points per curve (first and last kept), rounded: smaller, stable JSON."""
    n = len(arrays[0])
    idx = np.unique(np.linspace(0, n - 1, min(n, _MAX_POINTS)).round().astype(int))
    return [[round(float(v), 4) for v in np.asarray(a)[idx]] for a in arrays]


@_needs_model("ROC and precision-recall curves")
def roc_pr_curves(run) -> go.Figure:
    """ROC and precision-recall curves of the model and of the rule "late last time" on the
    held-out test months; dotted: a random ranking (diagonal, base rate)."""
    evaluation = run.evaluation
    if evaluation.predictions["late"].nunique() < 2:
        return no_data("ROC and precision-recall curves", "The test months hold only one outcome")
    y, curves = _curves(evaluation.predictions)
    m = evaluation.metrics
    fig = make_subplots(rows=1, cols=2, subplot_titles=("ROC curve", "Precision-recall curve"))
    fig.update_layout(figure(f"Test invoices issued {m['test_from']} to {m['test_to']} "
                             f"(n = {m['n_test']:,})", height=400).layout)  # fmt: skip
    names = {
        "model_score": (f"model (ROC AUC {m['model']['roc_auc']:.3f})", PALETTE[0], "model"),
        "baseline_score": (
            f"late last time (ROC AUC {m['baseline_last_late']['roc_auc']:.3f})",
            PALETTE[1],
            "baseline_last_late",
        ),
    }
    for col, (fpr, tpr, rec, prec) in curves.items():
        name, colour, key = names[col]
        fx, ty = _thin(fpr, tpr)
        fig.add_scatter(x=fx, y=ty, mode="lines", name=name, legendgroup=col,
                        line={"color": colour}, row=1, col=1,
                        hovertemplate="flagged %{x:.1%} of on-time, caught %{y:.1%} of late"
                        "<extra>" + name + "</extra>")  # fmt: skip
        rx, py = _thin(rec, prec)
        fig.add_scatter(x=rx, y=py, mode="lines", line={"color": colour, "shape": "hv"},
                        name=f"{name.split(' (')[0]} (PR AUC {m[key]['pr_auc']:.3f})",
                        legendgroup=col, row=1, col=2,
                        hovertemplate="recall %{x:.1%}, precision %{y:.1%}<extra></extra>")  # fmt: skip
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="random",
                    line={"color": NEUTRAL, "dash": "dot"}, row=1, col=1, hoverinfo="skip")  # fmt: skip
    base = float(np.mean(y))
    fig.add_scatter(x=[0, 1], y=[base, base], mode="lines", name=f"base rate {base:.2f}",
                    line={"color": NEUTRAL, "dash": "dot"}, row=1, col=2, hoverinfo="skip")  # fmt: skip
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    fig.update_xaxes(title_text="share of on-time invoices flagged", row=1, col=1)
    fig.update_yaxes(title_text="share of late invoices caught", row=1, col=1)
    fig.update_xaxes(title_text="recall", row=1, col=2)
    fig.update_yaxes(title_text="precision", row=1, col=2)
    fig.update_layout(legend={"y": -0.25, "yanchor": "top"})
    return fig


@_needs_model("Calibration on the test months")
def calibration_plot(run, n_bins: int = 10) -> go.Figure:
    """Predicted probability vs observed late rate on the test months (equal-count bins)."""
    from sklearn.calibration import calibration_curve

    p = run.evaluation.predictions
    if p["late"].nunique() < 2:
        return no_data("Calibration on the test months", "The test months hold only one outcome")
    y = p["late"].to_numpy(dtype=int)
    fig = figure("Calibration on the test months", height=400)
    for col, name, colour in (("model_score", "model", PALETTE[0]),
                              ("baseline_score", "late last time", PALETTE[1])):  # fmt: skip
        obs, pred = calibration_curve(y, p[col], n_bins=n_bins, strategy="quantile")
        px, oy = _thin(pred, obs)
        fig.add_scatter(x=px, y=oy, mode="lines+markers", name=name, line={"color": colour},
                        hovertemplate="scored %{x:.1%}: %{y:.1%} were late<extra>" + name
                        + "</extra>")  # fmt: skip
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                    line={"color": NEUTRAL, "dash": "dot"}, hoverinfo="skip")  # fmt: skip
    fig.update_xaxes(title_text="predicted probability of late payment", range=[0, 1],
                     tickformat=".0%")  # fmt: skip
    fig.update_yaxes(title_text="observed late rate", range=[0, 1], tickformat=".0%")
    return fig


@_needs_model("Rolling monthly backtest")
def backtest_plot(run) -> go.Figure:
    """Monthly backtest: ROC AUC of the model and of the rule per month."""
    backtest = run.evaluation.backtest
    if backtest.empty or "model_roc_auc" not in backtest or backtest["model_roc_auc"].isna().all():
        return no_data("Rolling monthly backtest", "Too little history to re-train month by month")
    months = [str(m) for m in backtest["month"]]
    fig = figure("Rolling monthly backtest")
    for col, name, colour in (("model_roc_auc", "model", PALETTE[0]),
                              ("baseline_roc_auc", "late last time", PALETTE[1])):  # fmt: skip
        fig.add_scatter(x=months, y=values(backtest[col]), mode="lines+markers", name=name,
                        line={"color": colour},
                        hovertemplate="%{x}: ROC AUC %{y:.3f}<extra>" + name + "</extra>")  # fmt: skip
    fig.add_hline(y=0.5, line_dash="dot", line_color=NEUTRAL, annotation_text="random")
    fig.update_yaxes(title_text="ROC AUC", range=[0.4, 1])
    fig.update_xaxes(title_text="invoice month")
    return fig


@_needs_model("What drives the score")
def importance_plot(run, top: int = 15) -> go.Figure:
    """Permutation importance: drop in ROC AUC when a feature is shuffled, with its spread."""
    importance = run.importance
    if importance.empty:
        return no_data("What drives the score", "No feature importance was measured")
    d = importance.head(top).iloc[::-1]
    imp = values(d["importance"])
    fig = figure("What drives the score", height=max(300, 28 * len(d) + 120))
    fig.add_bar(y=[str(f).replace("_", " ") for f in d["feature"]], x=imp, orientation="h",
                error_x={"type": "data", "array": values(d["std"])}, name="importance",
                marker_color=[GOOD if v > 0 else NEUTRAL for v in imp],
                hovertemplate="%{y}: ROC AUC drops by %{x:.4f}<extra></extra>")  # fmt: skip
    fig.update_layout(showlegend=False)
    fig.update_xaxes(title_text="drop in ROC AUC when shuffled")
    return fig


@_needs_model("Where the risk sits")
def risk_by_segment(run, currency: str = "USD") -> go.Figure:
    """Probability of late payment of the open invoices not yet late, by industry and by
    region, drawn as boxes (a bar from the first to the third quartile, a tick at the median,
    a whisker from the 10th to the 90th percentile); hover on a box gives its figures, the
    amounts at risk per segment are in the second row of bars. The quantiles are computed
    here, so the chart holds five numbers a segment whatever the number of invoices, and it
    draws with the bar and scatter traces of the site's basic plotly.js bundle."""
    scores, late_days = run.scores, run.late_days
    if scores.empty:
        return no_data("Where the risk sits", f"No open invoice on {run.as_of:%Y-%m-%d}")
    pending = scores.loc[scores["days_past_due"] <= late_days]
    fig = make_subplots(rows=2, cols=2, shared_xaxes="columns", row_heights=[0.65, 0.35],
                        vertical_spacing=0.08,
                        subplot_titles=("By industry: invoices not yet late", "By region",
                                        "Amount at risk, all open invoices", ""))  # fmt: skip
    fig.update_layout(figure("Where the risk sits", height=560).layout)
    for c, col in enumerate(("industry", "region"), start=1):
        totals = scores.groupby(col)["expected_overdue"].sum().sort_values(ascending=False)
        keys, stats = [], []
        for key in totals.index:
            probs = pending.loc[pending[col] == key, "probability_late"].to_numpy(dtype=float)
            if len(probs):
                keys.append(str(key))
                q = np.quantile(probs, [0.1, 0.25, 0.5, 0.75, 0.9])
                stats.append([round(float(v), 4) for v in q] + [len(probs)])
        st = np.array(stats, dtype=float).reshape(-1, 6)

        def r4(a: np.ndarray) -> list[float]:
            return [round(float(v), 4) for v in a]

        fig.add_bar(x=keys, base=r4(st[:, 1]), y=r4(st[:, 3] - st[:, 1]), customdata=stats,
                    marker={"color": PALETTE[0], "opacity": 0.55}, showlegend=False,
                    name="Middle half", row=1, col=c,
                    hovertemplate="%{x}: median %{customdata[2]:.1%}<br>middle half "
                    "%{customdata[1]:.1%} to %{customdata[3]:.1%}<br>10th to 90th percentile "
                    "%{customdata[0]:.1%} to %{customdata[4]:.1%}<br>"
                    "%{customdata[5]:,} invoices<extra></extra>")  # fmt: skip
        fig.add_scatter(x=keys, y=r4(st[:, 2]), mode="markers", showlegend=False,
                        name="Median", row=1, col=c, hoverinfo="skip",
                        marker={"symbol": "line-ew", "size": 22,
                                "line": {"width": 2.5, "color": PALETTE[0]}},
                        error_y={"type": "data", "symmetric": False, "color": PALETTE[0],
                                 "array": r4(st[:, 4] - st[:, 2]),
                                 "arrayminus": r4(st[:, 2] - st[:, 0]),
                                 "thickness": 1.2, "width": 6})  # fmt: skip
        fig.add_bar(x=[str(k) for k in totals.index], y=values(totals), marker_color=BAD,
                    showlegend=False, name="Amount at risk", row=2, col=c,
                    hovertemplate="%{x}: " + money_fmt("y", currency) + " at risk"
                    "<extra></extra>")  # fmt: skip
        fig.update_yaxes(money_axis(currency), row=2, col=c)
        fig.update_xaxes(categoryorder="array", categoryarray=[str(k) for k in totals.index],
                         col=c)  # fmt: skip
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1)
    fig.update_yaxes(title_text="P(late)", row=1, col=1)
    return fig


@_needs_model("Customers with the largest amount at risk")
def expected_overdue_top(run, top: int = 15, currency: str = "USD") -> go.Figure:
    """Open vs expected overdue amount of the customers with the largest amount at risk; a
    click opens the customer's page on the website."""
    if run.customers.empty:
        return no_data("Customers with the largest amount at risk", "No open invoice")
    d = run.customers.head(top).iloc[::-1]
    names = d["customer_name"] if "customer_name" in d else d["customer_id"]
    labels = [str(n) for n in names]
    ids = [[str(c)] for c in d["customer_id"]]
    fig = figure("Customers with the largest amount at risk", height=max(300, 30 * len(d) + 120))
    fig.add_bar(
        y=labels,
        x=values(d["open_amount"]),
        orientation="h",
        name="Open amount",
        marker_color=NEUTRAL,
        customdata=ids,
        hovertemplate="%{y}<br>open: " + money_fmt("x", currency) + "<extra></extra>",
    )
    fig.add_bar(y=labels, x=values(d["expected_overdue"]), orientation="h",
                name="Amount at risk", marker_color=BAD, customdata=ids,
                hovertemplate="%{y}<br>at risk: " + money_fmt("x", currency)
                + "<extra></extra>")  # fmt: skip
    fig.update_layout(barmode="overlay", xaxis=money_axis(currency), meta={"link": "customer"})
    return fig


CALL_LIST_COLUMNS = [
    "customer_id",
    "customer_name",
    "region",
    "industry",
    "open_invoices",
    "open_amount",
    "overdue_amount",
    "expected_overdue",
    "risk_share",
    "pending_risk",
]


def call_list(run, currency: str = "USD"):
    """The customers to call first (the run's call list, in order) with their open, overdue and
    at-risk amounts, the share of the balance at risk and the probability of late payment of
    their invoices not yet late; totals over the list. An escaped HTML table, or a short note
    without a model or without a customer at risk."""
    from html import escape as esc

    from IPython.display import HTML

    if not run.available:
        return HTML(f"<p><em>No risk model: {esc(run.unavailable)}.</em></p>")
    if not run.high_risk:
        return HTML(
            f"<p><em>No customer has an open invoice at risk on {run.as_of:%Y-%m-%d}.</em></p>"
        )
    risk, flagged = run.customers, run.high_risk
    cols = [c for c in CALL_LIST_COLUMNS if c in risk.columns]
    d = risk.set_index("customer_id").loc[list(flagged)].reset_index()[cols]
    return table_html(
        d,
        money_columns=[c for c in ("open_amount", "overdue_amount", "expected_overdue") if c in d],
        share_columns=[c for c in ("risk_share", "pending_risk") if c in d],
        currency=currency,
        max_rows=None,
        totals=[
            c
            for c in ("open_invoices", "open_amount", "overdue_amount", "expected_overdue")
            if c in d
        ],
    )


def headline_table(run, currency: str = "USD"):
    """The risk figures of the period as a table (labels and formats of :mod:`arinsight.kpis`)."""
    from arinsight.plots.tables import kpi_table

    kpis = run.kpis()
    # the cash story is the Cash Forecast page's (kpis.py: the risk model's expected
    # collections stay in kpis.json only)
    keys = ["open_invoices_scored", "expected_overdue_amount", "amount_at_risk_share",
            "customers_at_risk"]  # fmt: skip
    return table_html(kpi_table(kpis, keys, currency), max_rows=None)
