"""Follow-ups: what happens to an invoice after billing besides its payments (write-offs and
credit notes, disputes, promises to pay), each from its own random stream of the seed, so
adding one changed none of the tables before it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arinsight.sample.values import amounts, ids_of, to_dates

WRITE_OFF_REASONS = ["Uncollectible after collection efforts", "Customer insolvency"]
CREDIT_REASONS = ["Price dispute", "Quantity short-delivered", "Service credit"]
#: Dispute reason codes: the credit reasons' codes, in the same order, and an unpaid invoice's.
DISPUTE_REASONS = ["PRICE", "QUANTITY", "SERVICE", "NOT_RECEIVED"]
PROMISE_SOURCES = ["call", "e-mail", "portal"]


def adjustments_table(
    seed: int,
    inv_ids: np.ndarray,
    cust_ids: np.ndarray,
    cents: np.ndarray,
    paid_cents: np.ndarray,
    due: np.ndarray,
    last_pay: np.ndarray,
    never: np.ndarray,
    partial: np.ndarray,
    last: int,
) -> pd.DataFrame:
    """Write-offs and credit notes, from their own random stream
    (``default_rng([seed, 7])``) so the other tables are those of the seed without them.

    - an invoice never paid is written off in full (95 %; the rest are still pursued) 120-360
      days after its due date;
    - the rest of a partly paid invoice is credited (55 %, a credit memo 10-60 days after the
      payment: the short payment was a dispute the company accepted), written off (35 %,
      120-300 days after due) or left open (10 %);
    Only documents dated up to ``last`` (the extract date) are kept.
    """
    rng = np.random.default_rng([int(seed), 7])
    n = len(inv_ids)
    rest = cents - paid_cents.astype(np.int64)
    u, lag_wo, lag_cn = rng.random(n), rng.integers(120, 361, n), rng.integers(10, 61, n)
    lag_wo_part = rng.integers(120, 301, n)
    reason_wo, reason_cn = rng.integers(0, 2, n), rng.integers(0, 3, n)
    kind = np.full(n, "", dtype=object)
    day = np.zeros(n, dtype=np.int64)
    short = partial & (rest > 0) & (last_pay >= 0)  # paid part of it by the extract date
    wo_never = never & (u < 0.95)
    cn_part = short & (u < 0.55)
    wo_part = short & (u >= 0.55) & (u < 0.90)
    kind[wo_never | wo_part], kind[cn_part] = "write_off", "credit_note"
    day = np.where(wo_never, due + lag_wo, day)
    day = np.where(wo_part, due + lag_wo_part, day)
    day = np.where(cn_part, last_pay + lag_cn, day)
    keep = (kind != "") & (day <= last) & (rest > 0)
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((idx, day[idx]))]  # numbered in date order
    k = kind[idx]
    reason = np.where(
        k == "write_off",
        np.array(WRITE_OFF_REASONS, dtype=object)[reason_wo[idx]],
        np.array(CREDIT_REASONS, dtype=object)[reason_cn[idx]],
    )
    return pd.DataFrame(
        {
            "adjustment_id": ids_of("ADJ-", np.arange(1, len(idx) + 1), 6),
            "invoice_id": inv_ids[idx],
            "customer_id": cust_ids[idx],
            "adjustment_date": to_dates(day[idx]),
            "amount": amounts(rest[idx]),
            "kind": k,
            "reason": reason.astype(object),
        }
    )


def disputes_table(
    seed: int,
    adjustments: pd.DataFrame,
    inv_ids: np.ndarray,
    cust_ids: np.ndarray,
    cents: np.ndarray,
    paid_cents: np.ndarray,
    due: np.ndarray,
    pay: np.ndarray,
    last_pay: np.ndarray,
    partial: np.ndarray,
    single: np.ndarray,
    last: int,
) -> pd.DataFrame:
    """Disputes, from their own stream (``default_rng([seed, 8])``):

    - every short payment was a dispute, opened 0-5 days after the payment: resolved by the
      credit note (outcome credit_note) or the write-off (written_off) of the rest, or still
      open; its reason code follows the credit note's reason (write-offs and open ones: drawn);
    - 4 % of the invoices paid more than 20 days late in one payment were disputed ("not
      received" or a price query) between the due date and half-way to the payment, and
      resolved by the payment (outcome paid).
    Only disputes opened by ``last`` are kept; one resolved after ``last`` is open.
    """
    rng = np.random.default_rng([int(seed), 8])
    n = len(inv_ids)
    lag, u = rng.integers(0, 6, n), rng.random(n)
    drawn = rng.integers(0, 3, n)
    at = pd.Index(inv_ids).get_indexer(adjustments["invoice_id"])
    resolved = np.full(n, -1, dtype=np.int64)
    outcome = np.full(n, "", dtype=object)
    reason = np.array(DISPUTE_REASONS, dtype=object)[drawn]
    adj_day = adjustments["adjustment_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    resolved[at] = adj_day
    outcome[at] = np.where(adjustments["kind"] == "credit_note", "credit_note", "written_off")
    from_reason = {r: DISPUTE_REASONS[i] for i, r in enumerate(CREDIT_REASONS)}
    cn = (adjustments["kind"] == "credit_note").to_numpy()
    reason[at[cn]] = adjustments.loc[cn, "reason"].map(from_reason).to_numpy()
    rest = cents - paid_cents.astype(np.int64)
    short = partial & (rest > 0) & (last_pay >= 0)
    amount = np.where(short, rest, cents)
    opened = np.where(short, last_pay + lag, 0)
    late = single & (pay <= last) & (pay - due > 20) & (u < 0.04) & ~short
    half = np.maximum(1, (pay - due) // 2)
    opened = np.where(late, due + 1 + np.floor(rng.random(n) * half).astype(np.int64), opened)
    resolved = np.where(late, pay, resolved)
    outcome = np.where(late, "paid", outcome)
    reason = np.where(late, np.where(u < 0.02, "NOT_RECEIVED", "PRICE"), reason)
    keep = (short | late) & (opened <= last)
    still_open = keep & ((resolved < 0) | (resolved > last))
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((idx, opened[idx]))]
    return pd.DataFrame(
        {
            "dispute_id": ids_of("DSP-", np.arange(1, len(idx) + 1), 6),
            "invoice_id": inv_ids[idx],
            "customer_id": cust_ids[idx],
            "amount": amounts(amount[idx]),
            "reason": reason[idx].astype(object),
            "opened_date": to_dates(opened[idx]),
            "resolved_date": np.where(
                still_open[idx], np.datetime64("NaT", "us"), to_dates(np.maximum(resolved[idx], 0))
            ).astype("datetime64[us]"),
            "outcome": np.where(still_open[idx], None, outcome[idx]).astype(object),
        }
    )


def promises_table(
    seed: int,
    inv_ids: np.ndarray,
    cust_ids: np.ndarray,
    cents: np.ndarray,
    due: np.ndarray,
    pay: np.ndarray,
    never: np.ndarray,
    single: np.ndarray,
    last: int,
) -> pd.DataFrame:
    """Promises to pay, from their own stream (``default_rng([seed, 9])``): a quarter of the
    invoices paid more than 10 days late in one payment, or never paid, got a call 3-15 days
    after the due date (before any payment) and a promise to pay the whole invoice 3-14 days
    later. Whether it was kept is what happened: the payment came by the promised date + 3
    days or not. Only promises made by ``last`` are kept."""
    rng = np.random.default_rng([int(seed), 9])
    n = len(inv_ids)
    u = rng.random(n)
    made = due + rng.integers(3, 16, n)
    promised = made + rng.integers(3, 15, n)
    source = np.array(PROMISE_SOURCES, dtype=object)[rng.integers(0, 3, n)]
    late = (single & (pay - due > 10)) | never
    keep = late & (u < 0.25) & (made <= last) & (never | (made < pay))
    idx = np.flatnonzero(keep)
    idx = idx[np.lexsort((idx, made[idx]))]
    return pd.DataFrame(
        {
            "promise_id": ids_of("PTP-", np.arange(1, len(idx) + 1), 6),
            "customer_id": cust_ids[idx],
            "invoice_id": inv_ids[idx],
            "made_date": to_dates(made[idx]),
            "promised_date": to_dates(promised[idx]),
            "amount": amounts(cents[idx]),
            "source": source[idx],
        }
    )
