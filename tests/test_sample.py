"""Tests of the embedded sample generator (``arinsight.sample``).

Small sizes keep them fast: the written sample uses 2,000 invoices, the realism checks run on
``generate(10_000)`` (about a second). Injected problems are counted directly in the written
files with an independent re-implementation of the rules, not with the generator's bookkeeping.
"""

from __future__ import annotations

import filecmp
import json
import sqlite3
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from arinsight.sample import SOURCE_COLUMNS, generate, inject_problems, write_sample
from arinsight.sample.billing import open_balance_before
from arinsight.sample.generate import columns_of as _columns
from arinsight.sample.values import NEVER
from arinsight.schemas import CANONICAL, empty_table

FILES = [
    "invoices.csv",
    "customers.xlsx",
    "ledger.sqlite",
    "adjustments.csv",
    "disputes.csv",
    "promises.csv",
    "sources.yaml",
    "manifest.json",
]
EXTRACT = pd.Timestamp("2026-10-31")


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    """The sample written twice with seed 7 and once with seed 8 (2,000 invoices each)."""
    out = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        folder = tmp_path_factory.mktemp(f"sample_{name}")
        write_sample(folder, n_invoices=2_000, seed=seed)
        out[name] = folder
    return out


@pytest.fixture(scope="module")
def ledger() -> dict[str, pd.DataFrame]:
    return generate(10_000, seed=42)


# --------------------------------------------------------------------------- reading the files


def _read_invoices(folder: Path) -> pd.DataFrame:
    df = pd.read_csv(folder / "invoices.csv", dtype=str, keep_default_na=False)
    return df.rename(columns={v: k for k, v in SOURCE_COLUMNS["invoices"].items()})


def _read_sheet(folder: Path, sheet: str, table: str) -> pd.DataFrame:
    wb = openpyxl.load_workbook(folder / "customers.xlsx", read_only=True)
    rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    df = pd.DataFrame(rows[1:], columns=rows[0], dtype=object)
    return df.rename(columns={v: k for k, v in SOURCE_COLUMNS[table].items()})


def _read_sql(folder: Path, table: str) -> pd.DataFrame:
    with sqlite3.connect(folder / "ledger.sqlite") as con:
        cols = ", ".join(f'"{c}"' for c in SOURCE_COLUMNS[table].values())
        df = pd.read_sql_query(f'SELECT {cols} FROM "{table}"', con, dtype=object)
    return df.rename(columns={v: k for k, v in SOURCE_COLUMNS[table].items()})


def _dump(folder: Path) -> str:
    con = sqlite3.connect(folder / "ledger.sqlite")
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def _num(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.astype(str).where(text.notna() & (text.astype(str) != "")), "coerce")


def _date(text: pd.Series) -> pd.Series:
    s = text.astype(object).where(text.notna() & (text.astype(str) != ""))
    return pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")


def _first_reason(masks: dict[str, pd.Series]) -> pd.Series:
    """The first rule that applies to each row ('' when none), in the cleaner's order."""
    out = pd.Series("", index=next(iter(masks.values())).index, dtype=object)
    for reason, mask in masks.items():
        out = out.where((out != "") | ~mask.fillna(False), reason)
    return out


def _invoice_masks(inv: pd.DataFrame, customer_ids: set[str]) -> dict[str, pd.Series]:
    amount, day, due = _num(inv["amount"]), _date(inv["invoice_date"]), _date(inv["due_date"])
    unparseable = (amount.isna() & (inv["amount"] != "")) | (
        day.isna() & (inv["invoice_date"] != "")
    )
    unparseable |= due.isna() & (inv["due_date"] != "")
    exact = inv.duplicated(keep="first")
    conflict = ~exact & inv["invoice_id"].where(~exact).duplicated(keep=False) & ~exact
    return {
        "unparseable_value": unparseable,
        "missing_required": (
            inv[["invoice_id", "customer_id", "invoice_date", "amount"]] == ""
        ).any(axis=1),
        "duplicate_exact": exact,
        "duplicate_key_conflict": conflict,
        "future_date": day > EXTRACT,
        "non_positive_amount": amount <= 0,
        "unknown_customer": (inv["customer_id"] != "") & ~inv["customer_id"].isin(customer_ids),
    }


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_files(written):
    """Two runs with seed 7 (written at different moments) give the same bytes in every file,
    the Excel workbook included (fixed properties and zip entry times), and the same SQL dump."""
    a, b = written["a"], written["b"]
    for name in FILES:
        assert filecmp.cmp(a / name, b / name, shallow=False), name
    assert _dump(a) == _dump(b)


def test_other_seed_gives_other_data(written):
    a, c = written["a"], written["c"]
    assert not filecmp.cmp(a / "invoices.csv", c / "invoices.csv", shallow=False)
    assert _dump(a) != _dump(c)
    ma = json.loads((a / "manifest.json").read_text())
    mc = json.loads((c / "manifest.json").read_text())
    assert ma["files"]["invoices.csv"] != mc["files"]["invoices.csv"]
    assert (ma["seed"], mc["seed"]) == (7, 8)


def test_manifest_is_sorted_json_with_file_hashes(written):
    import hashlib

    folder = written["a"]
    text = (folder / "manifest.json").read_text()
    manifest = json.loads(text)
    assert text == json.dumps(manifest, sort_keys=True, indent=2) + "\n"
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert manifest["extract_date"] == "2026-10-31"
    assert manifest["n_invoices"] == 2_000


# --------------------------------------------------------------------------- counts in the files


def test_injected_counts_are_in_the_files(written):
    """Every problem counted again in the written files, one problem per bad row, rules in the
    cleaner's order; rows read = kept + quarantined + dropped for every table."""
    folder = written["a"]
    m = json.loads((folder / "manifest.json").read_text())
    inv = _read_invoices(folder)
    cust = _read_sheet(folder, "customers", "customers")
    reps = _read_sheet(folder, "sales_reps", "sales_reps")
    pay = _read_sql(folder, "payments")
    com = _read_sql(folder, "commissions")
    adj = pd.read_csv(folder / "adjustments.csv", dtype=str)
    cases = {t: pd.read_csv(folder / f"{t}.csv", dtype=str) for t in ("disputes", "promises")}
    assert m["rows"] == {
        "invoices": len(inv),
        "customers": len(cust),
        "sales_reps": len(reps),
        "payments": len(pay),
        "commissions": len(com),
        "adjustments": len(adj),
        "disputes": len(cases["disputes"]),
        "promises": len(cases["promises"]),
    }

    # customers: one exact copy, one row without id
    cust_exact = cust.duplicated(keep="first")
    assert int(cust_exact.sum()) == m["injected"]["customers"]["duplicate_exact"] == 1
    assert int(cust["customer_id"].isna().sum()) == m["injected"]["customers"]["missing_required"]
    customer_ids = set(cust["customer_id"].dropna())

    # invoices: exactly one problem per bad row, counts per first reason
    masks = _invoice_masks(inv, customer_ids)
    n_problems = pd.concat(masks, axis=1).fillna(False).sum(axis=1)
    assert n_problems.max() == 1
    reason = _first_reason(masks)
    counts = reason[reason != ""].value_counts().to_dict()
    assert counts == m["injected"]["invoices"]
    kept = inv[reason == ""]
    # 2,000 good invoices and 5 due 1-30 days before their invoice date (kept, flagged)
    assert len(kept) == m["expected_clean_rows"]["invoices"] == 2_005
    assert int((kept["due_date"] == "").sum()) == m["flags"]["due_date_derived"]
    early = _date(kept["due_date"]) < _date(kept["invoice_date"])
    assert int(early.sum()) == m["flags"]["due_before_invoice"] == 5
    assert kept.loc[early, "invoice_id"].str.startswith("INV-X").all()

    # payments
    good_inv = kept.set_index("invoice_id")
    amount, day = _num(pay["amount"]), _date(pay["payment_date"])
    exact = pay.duplicated(keep="first")
    inv_day = _date(pay["invoice_id"].map(good_inv["invoice_date"]))
    pmasks = {
        "unparseable_value": amount.isna() & pay["amount"].notna(),
        "missing_required": pay[["payment_id", "customer_id", "payment_date", "amount"]]
        .isna()
        .any(axis=1),
        "duplicate_exact": exact,
        "duplicate_key_conflict": ~exact & pay["payment_id"].where(~exact).duplicated(keep=False),
        "future_date": day > EXTRACT,
        "non_positive_amount": amount <= 0,
        "unknown_customer": pay["customer_id"].notna() & ~pay["customer_id"].isin(customer_ids),
        "unknown_invoice": pay["invoice_id"].notna() & ~pay["invoice_id"].isin(good_inv.index),
        "payment_before_invoice": day < inv_day,
    }
    assert pd.concat(pmasks, axis=1).fillna(False).sum(axis=1).max() == 1
    preason = _first_reason(pmasks)
    counts = preason[preason != ""].value_counts().to_dict()
    assert counts == m["injected"]["payments"]
    kept_pay = pay[preason == ""]
    assert len(kept_pay) == m["expected_clean_rows"]["payments"]
    # no payment after the extract date except the injected future-dated rows
    assert int((day > EXTRACT).sum()) == m["injected"]["payments"]["future_date"]

    # overpayment: kept payments applied to an invoice total more than its amount
    applied = _num(kept_pay["amount"]).groupby(kept_pay["invoice_id"]).sum()
    over = applied > _num(good_inv["amount"]).reindex(applied.index) + 0.005
    assert int(over.sum()) == m["flags"]["overpayment"] > 0

    # commissions: exact copies only
    assert (
        int(com.duplicated(keep="first").sum()) == m["injected"]["commissions"]["duplicate_exact"]
    )
    assert len(com) - m["injected"]["commissions"]["duplicate_exact"] == 2_000

    # conservation per table: rows = clean + quarantined + dropped
    for table in CANONICAL:
        assert m["rows"][table] == (
            m["expected_clean_rows"][table]
            + m["expected_quarantined_rows"][table]
            + m["expected_dropped_rows"][table]
        )


def test_cleaner_finds_what_the_manifest_says(written):
    """End to end with the project's own ingest and clean: same reasons, counts and kept rows."""
    from arinsight.clean import check_conservation, clean
    from arinsight.ingest import ingest

    folder = written["a"]
    m = json.loads((folder / "manifest.json").read_text())
    result = clean(ingest(folder / "sources.yaml").tables, run_date="2026-11-30")
    check_conservation(result)
    reasons = result.summary["reasons"]
    for table in CANONICAL:
        expected = dict(m["injected"][table])
        if table == "invoices":
            expected["due_date_derived"] = m["flags"]["due_date_derived"]
            expected["overpayment"] = m["flags"]["overpayment"]
            expected["due_before_invoice"] = m["flags"]["due_before_invoice"]
        assert {k: v for k, v in reasons[table].items() if v} == expected, table
        assert len(result.tables[table]) == m["expected_clean_rows"][table], table


def test_sources_file_maps_every_canonical_column(written):
    import yaml

    spec = yaml.safe_load((written["a"] / "sources.yaml").read_text())
    assert spec["reporting_currency"] == "USD"
    assert spec["sources"]["customers"]["values"]["region"] == {
        "N": "North",
        "S": "South",
        "E": "East",
        "W": "West",
    }
    for table, src in spec["sources"].items():
        assert src["on_bad_value"] == "quarantine"
        assert set(src["columns"]) == set(_columns(table))
    assert spec["sources"]["payments"]["url"] == "sqlite:///{here}/ledger.sqlite"
    assert spec["sources"]["invoices"]["thousands"] is None


# --------------------------------------------------------------------------- hand-worked examples


def test_open_balance_before_by_hand():
    """Customer 0 bills 100 on day 1 (settled day 7), 50 on day 5 (never settled), 30 on day 10
    (settled day 12);
    customer 1 bills 70 on day 5.
    Balance before each invoice: day 1 -> 0; day 5 -> 100 (day-1 invoice still open);
    day 10 -> 50 (the 100 was settled on day 7, the 50 is open); customer 1 -> 0."""
    got = open_balance_before(
        np.array([0, 0, 0, 1]),
        np.array([1, 5, 10, 5]),
        np.array([7, NEVER, 12, 6]),
        np.array([100.0, 50.0, 30.0, 70.0]),
    )
    assert got.tolist() == [0.0, 100.0, 50.0, 0.0]


def _tiny_ledger() -> dict[str, pd.DataFrame]:
    d = pd.to_datetime
    customers = pd.DataFrame(
        {
            "customer_id": ["C_1", "C_2"],
            "customer_name": ["A Ltd", "B Inc"],
            "region": ["North", "South"],
            "industry": ["Energy", "Retail"],
            "customer_type": ["SMB", "SMB"],
            "credit_limit": [1000.0, 1000.0],
            "payment_terms_days": [30.0, np.nan],
            "sales_rep_id": ["R_001", "R_001"],
            "contact_email": ["a@x.example", "b@x.example"],
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": ["INV-1", "INV-2", "INV-3", "INV-4"],
            "customer_id": ["C_1", "C_1", "C_1", "C_2"],
            "invoice_date": d(["2026-01-05", "2026-02-05", "2026-03-05", "2026-03-10"]),
            "due_date": d(["2026-02-04", "2026-03-07", "2026-04-04", "2026-04-09"]),
            "amount": [100.0, 100.0, 80.0, 60.0],
            "currency": "USD",
            "energy_kwh": [1000.0, np.nan, 800.0, 600.0],
            "status": ["Open", "Paid", "Open", "Open"],
        }
    )
    payments = pd.DataFrame(
        {
            "payment_id": ["P1", "P2", "P3"],
            "invoice_id": ["INV-1", "INV-1", "INV-2"],
            "customer_id": ["C_1", "C_1", "C_1"],
            "payment_date": d(["2026-02-01", "2026-02-20", "2026-03-01"]),
            "amount": [30.0, 20.0, 120.0],
            "method": "Card",
        }
    )
    commissions = pd.DataFrame(
        {
            "commission_id": ["K1", "K2", "K3", "K4"],
            "sales_rep_id": "R_001",
            "invoice_id": ["INV-1", "INV-2", "INV-3", "INV-4"],
            "commission_amount": [3.0, 3.0, 2.4, 1.8],
            "commission_rate": 0.03,
            "accrual_date": invoices["invoice_date"],
            "is_settled": [False, True, False, False],
            "settlement_date": d([None, "2026-04-30", None, None]),
        }
    )
    reps = pd.DataFrame(
        {"sales_rep_id": ["R_001"], "rep_name": ["Ann"], "sales_group": ["Retail Sales"]}
    )
    adjustments = pd.DataFrame(
        {
            "adjustment_id": ["ADJ-1"],
            "invoice_id": ["INV-1"],
            "customer_id": ["C_1"],
            "adjustment_date": d(["2026-06-30"]),
            "amount": [50.0],
            "kind": ["write_off"],
            "reason": ["Customer insolvency"],
        }
    )
    return {
        "customers": customers,
        "invoices": invoices,
        "payments": payments,
        "sales_reps": reps,
        "commissions": commissions,
        "adjustments": adjustments,
        "disputes": empty_table("disputes"),
        "promises": empty_table("promises"),
    }


def test_inject_problems_on_a_tiny_ledger_by_hand():
    """One bad row per rule on 4 invoices, 3 payments, 2 customers, 4 commissions.
    Invoices: 4 + 1 exact copy + 2 (key-conflict pair) + 6 single-problem rows = 13 rows;
    quarantined 2 + 5 = 7, dropped 1, kept 4 + 1 (the one due before its invoice date, flagged).
    Payments: 3 + 1 copy + 6 bad = 10. Customers: 2 + copy + row without id = 4.
    Commissions: 4 + 1 copy = 5. Adjustments: the one write-off, unchanged. Overpaid: INV-2 (paid 120 > 100); INV-1 paid 30 + 20 = 50 < 100.
    The blanked due date must belong to C_1 (C_2 has no terms) and not to the overpaid INV-2."""
    tables = _tiny_ledger()
    before = {t: df.copy() for t, df in tables.items()}
    raw, part = inject_problems(tables, seed=1, per_rule=1)
    assert part["rows"] == {
        "customers": 4,
        "invoices": 13,
        "payments": 10,
        "sales_reps": 1,
        "commissions": 5,
        "adjustments": 1,
        "disputes": 0,
        "promises": 0,
    }
    assert part["expected_quarantined_rows"]["invoices"] == 7
    assert part["expected_dropped_rows"]["invoices"] == 1
    assert part["expected_clean_rows"]["invoices"] == 5
    assert part["flags"] == {"due_date_derived": 1, "overpayment": 1, "due_before_invoice": 1}
    blanked = raw["invoices"][raw["invoices"]["due_date"] == ""]
    assert blanked["invoice_id"].tolist() in (["INV-1"], ["INV-3"])
    conflict = raw["invoices"][raw["invoices"]["invoice_id"].duplicated(keep=False)]
    assert len(conflict) == 4  # the key-conflict pair and the exact copy with its original
    for table, df in before.items():  # inputs are not changed
        pd.testing.assert_frame_equal(tables[table], df)


# --------------------------------------------------------------------------- error paths


def test_generate_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_invoices"):
        generate(0)
    with pytest.raises(ValueError, match="after start"):
        generate(100, start="2025-01-01", end="2024-01-01")


def test_inject_problems_needs_every_table():
    tables = _tiny_ledger()
    del tables["payments"]
    with pytest.raises(ValueError, match="payments"):
        inject_problems(tables, seed=1)
    with pytest.raises(ValueError, match="too few invoices"):
        inject_problems(_tiny_ledger(), seed=1, per_rule=5)


def test_write_sample_rejects_zero_invoices(tmp_path):
    with pytest.raises(ValueError, match="n_invoices"):
        write_sample(tmp_path, n_invoices=0)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- realism


def _outcomes(t: dict[str, pd.DataFrame], late_days: int = 30) -> pd.DataFrame:
    """Invoices with paid amount, last payment, days late and the 'late' label (> late_days after
    due, paid or still open at the extract date; outcomes not known yet are left out)."""
    inv, pay = t["invoices"], t["payments"].dropna(subset=["invoice_id"])
    paid = pay.groupby("invoice_id")["amount"].sum()
    last = pay.groupby("invoice_id")["payment_date"].max()
    out = inv.assign(
        paid=inv["invoice_id"].map(paid).fillna(0.0), last_pay=inv["invoice_id"].map(last)
    ).merge(t["customers"], on="customer_id")
    full = out["paid"] >= out["amount"] - 0.005
    when = out["last_pay"].where(full, EXTRACT)
    out["days_late"] = (when - out["due_date"]).dt.days
    out["known"] = full | ((EXTRACT - out["due_date"]).dt.days > late_days)
    out["late"] = out["known"] & (out["days_late"] > late_days)
    return out


def test_clean_ledger_shape(ledger):
    for table in CANONICAL:
        assert list(ledger[table].columns) == _columns(table)
    cust, inv = ledger["customers"], ledger["invoices"]
    assert len(cust) >= 300 and cust["customer_id"].is_unique
    assert {"C_333", "C_260", "C_111"} <= set(cust["customer_id"])
    assert set(cust["region"]) == {"North", "South", "East", "West"}
    assert set(cust["industry"]) == {
        "Manufacturing",
        "Energy",
        "Retail",
        "Healthcare",
        "Technology",
        "Logistics",
    }
    assert set(cust["customer_type"]) == {"Enterprise", "SMB", "Public Sector"}
    assert set(cust["payment_terms_days"].dropna()) == {15, 30, 45, 60}
    assert len(ledger["sales_reps"]) >= 12
    assert set(ledger["sales_reps"]["sales_group"]) == {
        "Premium Sales",
        "Retail Sales",
        "Enterprise Sales",
    }
    assert inv["invoice_date"].dt.to_period("M").nunique() >= 24
    assert inv["invoice_date"].min() >= pd.Timestamp("2024-01-01")
    assert inv["invoice_date"].max() <= EXTRACT
    assert (inv["due_date"] >= inv["invoice_date"]).all() and (inv["amount"] > 0).all()
    assert set(inv["status"]) == {"Paid", "Open", "Overdue"}


def test_payments_are_realistic(ledger):
    inv, pay = ledger["invoices"], ledger["payments"]
    assert pay["payment_date"].max() <= EXTRACT
    applied = pay.dropna(subset=["invoice_id"]).merge(inv, on="invoice_id", suffixes=("", "_inv"))
    assert (applied["payment_date"] >= applied["invoice_date"]).all()
    assert (applied["customer_id"] == applied["customer_id_inv"]).all()
    o = _outcomes(ledger)
    n_pay = pay.dropna(subset=["invoice_id"]).groupby("invoice_id").size()
    assert (n_pay >= 2).sum() > 100  # split payments
    partial = (o["paid"] > 0) & (o["paid"] < o["amount"] - 0.005) & (o["due_date"] < "2026-01-01")
    assert partial.sum() > 20  # partially paid and left open for months
    assert (o["paid"] > o["amount"] + 0.005).sum() == max(5, 10_000 // 200)  # overpaid, exactly
    assert pay["invoice_id"].isna().sum() > 50  # unapplied cash
    assert pay.loc[pay["invoice_id"].isna(), "customer_id"].notna().all()
    open_ = (o["amount"] - o["paid"]).clip(lower=0).groupby(o["customer_id"]).sum()
    limit = ledger["customers"].set_index("customer_id")["credit_limit"]
    over = (open_ > limit.reindex(open_.index)).sum()
    assert 0 < over < len(limit) / 2  # some, not most, customers over their credit limit


def test_lateness_follows_the_seeds(ledger):
    o = _outcomes(ledger)
    k = o[o["known"]]
    slow = k["industry"].isin(["Manufacturing", "Energy"])
    assert k.loc[slow, "late"].mean() > k.loc[~slow, "late"].mean() + 0.05
    chronic = k[k["customer_id"].isin(["C_333", "C_260", "C_111"])]
    assert chronic["late"].mean() > 2 * k["late"].mean()
    usage = o[o["invoice_date"].dt.year == 2025].groupby("customer_id")["energy_kwh"].sum()
    heavy = usage.index[usage > 8_000_000]
    assert len(heavy) > 0
    assert k.loc[k["customer_id"].isin(heavy), "late"].mean() > k["late"].mean()


def test_lateness_is_learnable_beyond_late_last_time(ledger):
    """A customer's prior late rate (known at the invoice date) ranks late invoices better than
    "was the previous invoice late" - so a risk model has something to learn."""
    o = _outcomes(ledger).sort_values(["invoice_date", "invoice_id"])
    o = o[o["known"]].copy()
    g = o.groupby("customer_id")["late"]
    o["prior_n"] = g.cumcount()
    o["prior_rate"] = (g.cumsum() - o["late"] + 0.2) / (o["prior_n"] + 1)
    o["last_late"] = g.shift(1).astype(float)
    t = o[o["prior_n"] > 0]
    assert (
        roc_auc_score(t["late"], t["prior_rate"]) > roc_auc_score(t["late"], t["last_late"]) + 0.03
    )


def test_seasonality(ledger):
    """Billing dips in June and October; energy per invoice peaks in March and September
    (averaged over the years, each month compared with its two neighbours)."""
    inv = ledger["invoices"]
    month = inv["invoice_date"].dt.to_period("M")
    by = inv.groupby(month).agg(bill=("amount", "sum"), kwh=("energy_kwh", "mean"))
    by = by.groupby(by.index.month).mean()
    for m in (6, 10):
        assert by.loc[m, "bill"] < 0.9 * (by.loc[m - 1, "bill"] + by.loc[m + 1, "bill"]) / 2
    for m in (3, 9):
        assert by.loc[m, "kwh"] > 1.1 * (by.loc[m - 1, "kwh"] + by.loc[m + 1, "kwh"]) / 2


def test_commissions(ledger):
    com, inv = ledger["commissions"], ledger["invoices"]
    assert com["invoice_id"].tolist() == inv["invoice_id"].tolist()
    assert (com["accrual_date"] == inv["invoice_date"]).all()
    assert com["commission_rate"].between(0.02, 0.06).all()
    assert np.allclose(com["commission_amount"], (inv["amount"] * com["commission_rate"]).round(2))
    assert com["settlement_date"].notna().eq(com["is_settled"]).all()
    assert com["settlement_date"].max() <= EXTRACT
    settled = com[com["is_settled"]]
    assert (settled["settlement_date"] == settled["settlement_date"] + pd.offsets.MonthEnd(0)).all()
    old = com["accrual_date"] < "2025-01-01"
    assert com.loc[old, "is_settled"].mean() > 0.8
    assert com.loc[com["accrual_date"] > "2026-10-01", "is_settled"].sum() == 0


def test_adjustments(ledger):
    """Write-offs and credit notes only take off what payments left open, on their own invoice
    and customer, dated after the invoice and by the extract date: a write-off at least 120 days
    past due, a credit note after a (short) payment; write-offs are a small share of sales
    (0.1-2 %) and no invoice is written off twice."""
    adj, inv, pay = ledger["adjustments"], ledger["invoices"], ledger["payments"]
    assert set(adj["kind"]) == {"write_off", "credit_note"}
    assert adj["adjustment_id"].is_unique and adj["invoice_id"].is_unique
    i = inv.set_index("invoice_id").loc[adj["invoice_id"]]
    assert (adj["customer_id"].to_numpy() == i["customer_id"].to_numpy()).all()
    paid = pay.groupby("invoice_id")["amount"].sum().reindex(adj["invoice_id"]).fillna(0)
    assert np.allclose(adj["amount"].to_numpy(), (i["amount"] - paid.to_numpy()).round(2))
    assert (adj["amount"] > 0).all() and (adj["adjustment_date"] <= EXTRACT).all()
    wo = adj["kind"].eq("write_off").to_numpy()
    late = (adj["adjustment_date"].to_numpy() - i["due_date"].to_numpy()) / np.timedelta64(1, "D")
    assert (late[wo] >= 120).all()
    last_pay = pay.groupby("invoice_id")["payment_date"].max().reindex(adj["invoice_id"])
    assert (adj.loc[~wo, "adjustment_date"].to_numpy() > last_pay.to_numpy()[~wo]).all()
    share = adj.loc[wo, "amount"].sum() / inv["amount"].sum()
    assert 0.001 < share < 0.02


def test_disputes_and_promises(ledger):
    """Every short payment is a dispute for the rest, opened 0-5 days after the payment and, when
    resolved, resolved by the credit note or write-off of that rest (same date, same amount);
    disputes resolved as paid close on the invoice's last payment. A kept promise is one whose
    invoice was paid by the promised date + 3 days; some are kept, some broken."""
    d, adj, pay = ledger["disputes"], ledger["adjustments"], ledger["payments"]
    inv = ledger["invoices"].set_index("invoice_id")
    assert d["dispute_id"].is_unique and (d["opened_date"] <= EXTRACT).all()
    assert (d["resolved_date"].isna() == d["outcome"].isna()).all()
    assert (d["resolved_date"].dropna() <= EXTRACT).all()
    closed = d.dropna(subset=["outcome"])
    by_adj = closed[closed["outcome"] != "paid"].merge(adj, on="invoice_id")
    assert len(by_adj) == (closed["outcome"] != "paid").sum()
    assert (by_adj["resolved_date"] == by_adj["adjustment_date"]).all()
    assert (by_adj["amount_x"] == by_adj["amount_y"]).all()
    kinds = by_adj["outcome"].map({"credit_note": "credit_note", "written_off": "write_off"})
    assert (kinds == by_adj["kind"]).all()
    last = pay.groupby("invoice_id")["payment_date"].max()
    paid = closed[closed["outcome"] == "paid"]
    assert (
        len(paid) > 0
        and (paid["resolved_date"].to_numpy() == last[paid["invoice_id"]].to_numpy()).all()
    )
    assert (d["amount"] <= inv.loc[d["invoice_id"], "amount"].to_numpy() + 0.005).all()
    p = ledger["promises"]
    paid_on = last.reindex(p["invoice_id"]).to_numpy()
    kept = paid_on <= (p["promised_date"] + pd.Timedelta(days=3)).to_numpy()
    assert 0.2 < kept.mean() < 0.9
    assert (p["made_date"] < p["promised_date"]).all()
