"""The weeks and delay bins every part of the forecast counts in, and its error."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arinsight.errors import UserError

WEEKS = 13


OUTCOMES = WEEKS + 1  # weeks 1..13, then "later or never"


#: Bins of the delay (payment date - due date, days): bin i is (DELAY_EDGES[i], DELAY_EDGES[i+1]];
#: fine around the due date, where most cash arrives; NEVER = not paid within the last edge.
DELAY_EDGES = np.array(
    [
        -3650,
        -35,
        -28,
        -21,
        -14,
        -10,
        -7,
        -5,
        -3,
        -1,
        0,
        1,
        3,
        7,
        14,
        21,
        28,
        42,
        56,
        70,
        91,
        120,
        150,
        180,
        270,
        365,
    ],
    dtype=float,
)


NEVER = len(DELAY_EDGES) - 1


STATE_FEATURES = [
    "days_to_due",
    "due_week",
    "age_days",
    "open_share",
    "log_open_amount",
    "origin_month",
]


DAY = pd.Timedelta(days=1)


class ForecastError(UserError):
    """The cash forecast cannot be made (no open invoices, not enough history...)."""
