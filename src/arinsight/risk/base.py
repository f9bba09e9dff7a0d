"""Names, parameters and errors shared by every stage of the risk model."""

from __future__ import annotations

from arinsight.errors import UserError

#: Categorical features (customer master data); missing values become "Unknown".
CATEGORICAL = ["industry", "region", "customer_type"]
#: Numeric features; NaN means "undefined" (no history) and is handled natively by the model.
NUMERIC = [
    "amount",
    "terms_days",
    "energy_kwh",
    "month",
    "credit_limit",
    "prior_invoices",
    "prior_known",
    "prior_late_rate",
    "prior_mean_days_late",
    "open_balance",
    "overdue_balance",
    "credit_limit_use",
    "days_since_last_late",
]
FEATURES = NUMERIC + CATEGORICAL
#: The baseline rule's input: was the customer's most recently resolved invoice late (1/0, NaN if none)?
BASELINE = "last_late"
HORIZONS = (30, 60, 90)
#: At most this many matured invoices train each model (the final model, the headline evaluation
#: and every backtest month): above it, a random sample stratified by invoice month and label
#: (:func:`training_sample`). On the 1M-invoice ledger (800k training rows) this costs 0.0004 to
#: 0.0010 ROC AUC against no cap (200k: 0.0001 to 0.0003) and brings the first run of a period
#: to about 30 s (200k: twice the fitting time); see docs/risk.md.
MAX_TRAIN_ROWS = 100_000
#: From this many training rows a model boosts with fewer, larger steps (see :func:`build_model`);
#: only reached when ``max_train_rows`` is raised above it or switched off.
LARGE_TRAIN_ROWS = 500_000

#: Types a risk model file may contain beyond those skops trusts by default (scikit-learn
#: estimators, numpy arrays). Anything else in a file is refused before it is loaded.
TRUSTED_TYPES = [
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


class RiskModelError(UserError):
    """The risk model cannot be trained, evaluated or loaded (not enough history, bad file...)."""


class NotEnoughHistory(RiskModelError):
    """The ledger does not hold enough history to train or evaluate the model: not an error of
    the run. The Risk page says why (the message is written for a stakeholder) and every other
    page is published."""


#: Fewest invoices with a known outcome a model is trained on.
MIN_TRAINING_INVOICES = 50
#: Fewest training invoices with a value for a numeric feature to be used (see
#: :func:`usable_features`): with 30 values, the chance that a fold of the calibrated model holds
#: none is below 1e-10.
MIN_FEATURE_VALUES = 30


class UntrustedModelError(RiskModelError):
    """A model file contains types that are not on the trusted list; it is not loaded."""
