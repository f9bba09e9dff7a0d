"""The provision matrix on a small ledger of monthly snapshots, computed by hand.

Buckets ``(0, 30)``: Current (not past due), 1-30, 30+. Month ends 2026-01-31 .. 2026-04-30.

| invoice | region | dated | due | amount | what happens |
| --- | --- | --- | --- | --- | --- |
| A | N | 01-10 | 01-31 | 100 | unpaid; written off 04-15 |
| B | N | 01-15 | 01-31 | 200 | paid 02-10 |
| C | N | 01-05 | 01-20 | 300 | paid 100 on 02-15; credit note 200 on 03-10 |
| D | N | 02-01 | 02-28 | 400 | unpaid; written off 09-15 |
| E | N | 04-20 | 05-20 | 1000 | open |
| F | N | 04-01 | 04-10 | 500 | open |
| G | S | 04-25 | 05-25 | 200 | open |

Snapshots (bucket, open amount), from the engine with payments and adjustments settling:

| | 01-31 | 02-28 | 03-31 | 04-30 |
| --- | --- | --- | --- | --- |
| A | Current 100 | 1-30 100 (28 d) | 30+ 100 (59 d) | - (written off) |
| B | Current 200 | - (paid) | | |
| C | 1-30 300 (11 d) | 30+ 200 (39 d) | - (credited) | |
| D | | Current 400 (0 d) | 30+ 400 (31 d) | 30+ 400 (stays) |
| E, F, G | | | | Current 1000, 1-30 500 (20 d), Current 200 |

Moves over the 3 pairs of month ends (lookback 3; an invoice staying in its bucket is left out):

- Current: exits A 100 + B 200 + D 400 = 700; rolled into 1-30: A 100; into 30+: D 400;
- 1-30: exits C 300 + A 100 = 400; rolled into 30+: C 200 + A 100 = 300;
- 30+: exits C 200 + A 100 = 300; written off: A 100 (the credit note on C is no loss).

Rates: w(30+) = 100/300 = 1/3, loss(30+) = 1/3; roll(1-30 -> 30+) = 300/400 = 0.75,
loss(1-30) = 0.75 x 1/3 = 0.25; roll(Current -> 1-30) = 100/700, roll(Current -> 30+) = 400/700,
loss(Current) = 1/7 x 0.25 + 4/7 x 1/3 = 19/84 = 0.2261905.

Allowance at T = 04-30: N: Current 1000 x 19/84 = 226.19, 1-30 500 x 0.25 = 125.00,
30+ 400 x 1/3 = 133.33; S (no history of its own: the whole selection's rates): Current
200 x 19/84 = 45.24; total 529.76 on 2,100 open (coverage 25.2267 %): the Receivables page's
open AR, net of A's write-off and C's credit note too (invoices less payments alone would leave
2,400). At 03-31 (pairs
01->02 and 02->03 only) nothing was written off yet: every loss rate is 0, allowance 0, so the
change is +529.76.

Backtest (T = 2027-04-30, lookback 3): the only month end with 3 months behind it and 12 known
after it is 2026-04-30: allowance 529.76 against D's 400 written off on 09-15 (open 400 at 04-30):
error +129.76, 32.44 % of the write-offs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import clean_table

from arinsight import provision
from arinsight.engine.pools import of_region, pool_tables
from arinsight.errors import ParamsError

BUCKETS = (0, 30)


def _ledger(with_adjustments: bool = True) -> dict[str, pd.DataFrame]:
    inv = [
        ("A", "N", "2026-01-10", "2026-01-31", 100.0),
        ("B", "N", "2026-01-15", "2026-01-31", 200.0),
        ("C", "N", "2026-01-05", "2026-01-20", 300.0),
        ("D", "N", "2026-02-01", "2026-02-28", 400.0),
        ("E", "N", "2026-04-20", "2026-05-20", 1000.0),
        ("F", "N", "2026-04-01", "2026-04-10", 500.0),
        ("G", "S", "2026-04-25", "2026-05-25", 200.0),
    ]
    invoices = clean_table(
        "invoices",
        [
            {"invoice_id": i, "customer_id": f"C{i}", "region": r, "invoice_date": d,
             "due_date": due, "amount": a, "due_date_derived": False, "is_overpaid": False}
            for i, r, d, due, a in inv
        ],
    )  # fmt: skip
    payments = clean_table(
        "payments",
        [
            {"payment_id": "P1", "invoice_id": "B", "customer_id": "CB",
             "payment_date": "2026-02-10", "amount": 200.0, "payment_date_assumed": False},
            {"payment_id": "P2", "invoice_id": "C", "customer_id": "CC",
             "payment_date": "2026-02-15", "amount": 100.0, "payment_date_assumed": False},
        ],
    )  # fmt: skip
    adjustments = clean_table(
        "adjustments",
        [
            {"adjustment_id": "W1", "invoice_id": "A", "customer_id": "CA",
             "adjustment_date": "2026-04-15", "amount": 100.0, "kind": "write_off"},
            {"adjustment_id": "N1", "invoice_id": "C", "customer_id": "CC",
             "adjustment_date": "2026-03-10", "amount": 200.0, "kind": "credit_note"},
            {"adjustment_id": "W2", "invoice_id": "D", "customer_id": "CD",
             "adjustment_date": "2026-09-15", "amount": 400.0, "kind": "write_off"},
        ],
    )  # fmt: skip
    tables = {"invoices": invoices, "payments": payments}
    if with_adjustments:
        tables["adjustments"] = adjustments
    return tables


def _matrix(as_of: str = "2026-04-30", **kw) -> provision.Matrix:
    args = {"buckets": BUCKETS, "lookback_months": 3, **kw}
    return provision.provision_matrix(_ledger(), as_of, **args)


def _history(source, region="All"):
    """The engine's pool sums of ``region`` at 2026-04-30 and its balance at T."""
    frames = pool_tables(source, "2026-04-30", BUCKETS)
    sel = of_region(frames, region)
    at_t = sel["balances"][sel["balances"]["origin"] == pd.Timestamp("2026-04-30")]
    return {k: sel[k] for k in ("balances", "moves", "followed")}, float(at_t["balance"].sum())


def test_pool_history_sums_the_snapshots_and_moves_by_hand():
    """The engine's sums of the table in the module docstring. Balances per (month end, segment,
    bucket): 01-31 N Current A 100 + B 200, 1-30 C 300; 02-28 N Current D 400, 1-30 A 100,
    30+ C 200; 03-31 N 30+ A 100 + D 400; 04-30 N Current E 1000, 1-30 F 500, 30+ D 400, S
    Current G 200. Moves (from, to, stayed: balance, next balance, written off): 01-31 A 0->1,
    B 0->settled, C 1->2 (300 -> 200); 02-28 A 1->2, C 2->settled (a credit note, no loss),
    D 0->2; 03-31 A 2->settled with its 100 written off on 04-15, D stays in 30+. Write-offs
    that followed within 12 months on the invoices open at each month end: 01-31 A 100; 02-28
    and 03-31 A 100 + D 400; 04-30 D 400. Open at 04-30: 2,100, the engine's open AR (the
    Receivables page's) of the same ledger at T to the cent."""
    from arinsight.engine.period import frames_at

    frames, gross = _history(_ledger())
    bal = {
        (o.strftime("%m-%d"), seg, b): v
        for o, seg, b, v in frames["balances"].itertuples(index=False)
    }
    assert bal == {
        ("01-31", "N", 0): 300.0, ("01-31", "N", 1): 300.0,
        ("02-28", "N", 0): 400.0, ("02-28", "N", 1): 100.0, ("02-28", "N", 2): 200.0,
        ("03-31", "N", 2): 500.0,
        ("04-30", "N", 0): 1000.0, ("04-30", "N", 1): 500.0, ("04-30", "N", 2): 400.0,
        ("04-30", "S", 0): 200.0,
    }  # fmt: skip
    mv = frames["moves"]
    got = {
        (r.origin.strftime("%m-%d"), r.bucket, r.next_bucket): (
            bool(r.stayed),
            r.balance,
            r.next_balance,
            r.written_off,
        )
        for r in mv.itertuples(index=False)
    }
    assert got == {
        ("01-31", 0, 1): (False, 100.0, 100.0, 0.0), ("01-31", 0, -1): (False, 200.0, 0.0, 0.0),
        ("01-31", 1, 2): (False, 300.0, 200.0, 0.0),
        ("02-28", 1, 2): (False, 100.0, 100.0, 0.0), ("02-28", 2, -1): (False, 200.0, 0.0, 0.0),
        ("02-28", 0, 2): (False, 400.0, 400.0, 0.0),
        ("03-31", 2, -1): (False, 100.0, 0.0, 100.0), ("03-31", 2, 2): (True, 400.0, 400.0, 0.0),
    }  # fmt: skip
    followed = frames["followed"]
    by_origin = followed.set_index(followed["origin"].dt.strftime("%m-%d"))["written_off"]
    assert by_origin.to_dict() == {
        "01-31": 100.0, "02-28": 500.0, "03-31": 500.0, "04-30": 400.0,
    }  # fmt: skip
    assert gross == 2100.0
    positions = frames_at(_ledger(), "2026-04-30")["positions"]
    assert round(positions["open_amount"].sum(), 2) == gross


def test_pool_history_reads_a_processed_folder_and_selects_a_region(tmp_path):
    """The same ledger written as processed parquet gives the same sums; region S is G alone
    (Current 200 at 04-30, nothing moved, nothing written off; 200 open), N the rest (1,900
    open at 04-30)."""
    for name, frame in _ledger().items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    frames, gross = _history(tmp_path)
    expected, expected_gross = _history(_ledger())
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(frames[name], frame, check_dtype=False)
    assert gross == expected_gross
    south, south_gross = _history(tmp_path, region="S")
    assert south["balances"].values.tolist() == [[pd.Timestamp("2026-04-30"), "S", 0, 200.0]]
    assert south["moves"].empty and south_gross == 200.0
    assert south["followed"]["written_off"].tolist() == [0.0]
    north, north_gross = _history(tmp_path, region="N")
    assert north_gross == 1900.0
    assert north["followed"]["written_off"].tolist() == [100.0, 500.0, 500.0, 400.0]


def test_roll_rates_loss_rates_and_allowance_by_hand():
    """Every figure of the module docstring: roll rates, write-off rates, loss rates chained
    to write-off, the allowance per bucket and in total, the change against 03-31."""
    m = _matrix()
    n = m.table[m.table["segment"] == "N"].set_index("bucket")
    assert m.labels == ["Current", "1-30", "30+"]
    assert n["balance"].tolist() == [1000.0, 500.0, 400.0]
    assert n["roll_rate"].tolist() == pytest.approx([5 / 7, 0.75, 0.0])
    assert n["write_off_rate"].tolist() == pytest.approx([0.0, 0.0, 1 / 3])
    assert n["loss_rate"].tolist() == pytest.approx([19 / 84, 0.25, 1 / 3])
    assert n["allowance"].tolist() == [226.19, 125.00, 133.33]
    assert (n["source"] == "segment").all()
    s = m.table[m.table["segment"] == "S"].set_index("bucket")
    assert s.loc["Current", "allowance"] == 45.24
    assert (s["source"] == "whole selection").all()
    assert m.allowance == 529.76
    assert m.balance == 2100.0
    assert m.coverage == pytest.approx(25.2267, abs=1e-4)
    assert m.previous_allowance == 0.0
    k = provision.kpis(m, {"write_offs": 100.0, "credit_notes": 0.0})
    assert k["ecl_allowance"] == 529.76 and k["ecl_allowance_change"] == 529.76
    assert k["provision_matrix"]["N"]["1-30"] == {
        "balance": 500.0,
        "loss_rate": 0.25,
        "allowance": 125.0,
    }


def test_forward_looking_factor_scales_the_chained_rate_and_caps_at_one():
    """Factor 1.2: loss rates 19/84 x 1.2, 0.30, 0.40; allowance 271.43 + 150 + 160 + 54.29
    (G: 200 x 0.2714) = 635.72. Factor 4: 30+ is 4/3, capped at 100 %."""
    m = _matrix(forward_looking_factor=1.2)
    n = m.table[m.table["segment"] == "N"]
    assert n["loss_rate"].tolist() == pytest.approx([19 / 84 * 1.2, 0.30, 0.40])
    assert m.allowance == 635.72
    capped = _matrix(forward_looking_factor=4.0).table.set_index(["segment", "bucket"])
    assert capped.loc[("N", "30+"), "loss_rate"] == 1.0


def test_backtest_by_hand():
    """At T = 2027-04-30 the backtest has one month end, 2026-04-30: allowance 529.76 against
    400 written off in the 12 months after it: error +129.76, 32.44 %."""
    m = _matrix(as_of="2027-04-30")
    bt = m.backtest
    assert bt["origin"].dt.strftime("%Y-%m-%d").tolist() == ["2026-04-30"]
    assert bt[["allowance", "written_off", "error", "error_pct"]].values.tolist() == [
        [529.76, 400.0, 129.76, 32.44]
    ]
    assert m.backtest_error() == 32.44


def test_without_adjustments_every_rate_is_zero_and_the_page_says_why():
    """No write-offs: nothing is ever lost, the loss rates are 0 (C and A stay open at 30+ and
    leave it by no door, so 30+ has no history at all: NaN, shown as "none: no history"), and
    the note says to map write-offs; kpis() of an empty matrix gives null keys with reasons."""
    m = provision.provision_matrix(
        _ledger(with_adjustments=False), "2026-04-30", buckets=BUCKETS, lookback_months=3
    )
    assert m.allowance == 0.0
    assert "no write-offs" in m.notes[0]
    empty = provision.Matrix(
        pd.Timestamp("2026-04-30"), m.labels, m.table.iloc[0:0], None, m.backtest, m.flows,
        "region", 1.0, 3, ["the ledger has no adjustments table"],
    )  # fmt: skip
    k = provision.kpis(empty, {"write_offs": None, "credit_notes": None})
    assert k["ecl_allowance"] is None and k["write_offs"] is None
    assert k["na_reasons"]["ecl_allowance"] == "the ledger has no adjustments table"
    assert set(k["na_reasons"]) == {key for key in k if key != "na_reasons"}


def test_loss_rates_chain_from_the_oldest_bucket():
    """roll 0->1 0.5, 1->2 0.5, w(2) 0.4: loss 0.1, 0.2, 0.4; a direct write-off of 0.1 from
    bucket 0 adds to its chain: 0.2."""
    roll = np.array([[0, 0.5, 0], [0, 0, 0.5], [0, 0, 0]])
    assert provision.loss_rates(roll, np.array([0, 0, 0.4])).tolist() == pytest.approx(
        [0.1, 0.2, 0.4]
    )
    assert provision.loss_rates(roll, np.array([0.1, 0, 0.4]))[0] == pytest.approx(0.2)


def test_period_flows_keep_write_offs_apart_from_credit_notes():
    """April 2026: A's write-off 100; March: C's credit note 200; without the table both n/a."""
    adj = _ledger()["adjustments"]
    assert provision.period_flows(adj, "2026-04-01", "2026-04-30") == {
        "write_offs": 100.0,
        "credit_notes": 0.0,
    }
    assert provision.period_flows(adj, "2026-03-01", "2026-03-31") == {
        "write_offs": 0.0,
        "credit_notes": 200.0,
    }
    assert provision.period_flows(None, "2026-03-01", "2026-03-31") == {
        "write_offs": None,
        "credit_notes": None,
    }


def test_bad_parameters_are_refused():
    with pytest.raises(ParamsError, match="segment_by"):
        _matrix(segment_by="country")
    with pytest.raises(ParamsError, match="lookback_months"):
        _matrix(lookback_months=0)
    with pytest.raises(ParamsError, match="forward_looking_factor"):
        _matrix(forward_looking_factor=-1)


def test_bucket_labels():
    assert provision.bucket_labels([0, 30, 60, 90, 120]) == [
        "Current", "1-30", "31-60", "61-90", "91-120", "120+"
    ]  # fmt: skip


def test_a_ledger_without_adjustments_publishes_the_page_with_a_reason(tmp_path):
    """Processed tables without adjustments.parquet (a dataset that has none): the page runs,
    every provision key of kpis.json is null with the reason in plain words, the tables say
    why, and the headline too."""
    from arinsight.ledger import period_bounds
    from arinsight.plots.interactive import provision as fig

    for name, frame in _ledger(with_adjustments=False).items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    m, flows = provision.region_provision(
        tmp_path, period_bounds("2026-04"), "All", buckets=BUCKETS, lookback_months=3
    )
    k = provision.kpis(m, flows)
    keys = ["write_offs", "credit_notes", "ecl_allowance", "ecl_allowance_change"]
    keys += ["ecl_coverage", "ecl_backtest_error", "provision_matrix"]
    assert all(k[key] is None for key in keys)
    assert all("no adjustments table" in k["na_reasons"][key] for key in keys)
    assert provision.summary_text(m, flows).startswith("No provision matrix for this page: ")
    assert "not available: the ledger has no adjustments table" in fig.matrix_html(m).data
    paths = provision.write_outputs(m, flows, tmp_path / "out")
    assert list(paths) == ["kpis"]


def test_without_write_offs_the_backtest_finds_none():
    """No adjustments at all at T = 2027-04-30: the backtest's month end 2026-04-30 had
    nothing written off after it (0, error n/a), and every loss rate is 0 (a processed folder
    written before the table existed once crashed the page at its first backtest month)."""
    m = provision.provision_matrix(
        _ledger(with_adjustments=False), "2027-04-30", buckets=BUCKETS, lookback_months=3
    )
    assert m.backtest["written_off"].tolist() == [0.0]
    assert m.backtest["error_pct"].isna().all()
    assert m.allowance == 0.0
