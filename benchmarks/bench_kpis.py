"""Benchmark the KPI engine: all KPIs for one period and the trailing-24-month series.

Generates synthetic canonical tables directly with numpy (seeded; not the sample writer) at each
size, then times, in a fresh subprocess per size so the peak memory is that size's own:

- ``receivables_kpis`` + ``commission_kpis`` for period 2026-10 (the "all KPIs" figure),
- ``monthly_trends`` and ``monthly_commissions`` over 24 months (the "series" figure),

and prints wall time and the process's peak RSS (``resource.getrusage``; generation included).

    .venv/bin/python benchmarks/bench_kpis.py                 # 100k and 1M invoices
    .venv/bin/python benchmarks/bench_kpis.py 100000 10000000 # chosen sizes
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

PERIOD = "2026-10"
START = np.datetime64("2024-01-01")
END = np.datetime64("2026-10-31")


def _ids(prefix: str, n: int) -> pd.Series:
    return pd.Series(np.arange(n)).astype("str").radd(prefix).astype("str")


def generate(n_invoices: int, seed: int = 42) -> dict[str, pd.DataFrame]:
    """Canonical tables: ~n/30 customers, ~1.2 payments per invoice (splits, partials,
    overpayments, 2% unapplied cash), one commission per invoice."""
    rng = np.random.default_rng(seed)
    n_cust = max(10, n_invoices // 30)
    n_reps = max(5, n_cust // 50)
    span = int((END - START) / np.timedelta64(1, "D"))
    customers = pd.DataFrame(
        {
            "customer_id": _ids("C_", n_cust),
            "customer_name": _ids("Customer ", n_cust),
            "region": pd.Series(
                rng.choice(["North", "South", "East", "West"], n_cust), dtype="str"
            ),
            "industry": pd.Series(
                rng.choice(["Manufacturing", "Energy", "Retail", "Services"], n_cust), dtype="str"
            ),
            "customer_type": pd.Series(
                rng.choice(["Business", "Residential"], n_cust), dtype="str"
            ),
            "credit_limit": rng.choice([5e3, 1e4, 5e4, 1e5], n_cust),
            "payment_terms_days": rng.choice([15.0, 30.0, 45.0, 60.0], n_cust),
            "sales_rep_id": _ids("R_", n_reps).to_numpy()[rng.integers(0, n_reps, n_cust)],
        }
    )
    cust = rng.integers(0, n_cust, n_invoices)
    inv_date = START + rng.integers(0, span + 1, n_invoices).astype("timedelta64[D]")
    terms = customers["payment_terms_days"].to_numpy()[cust].astype("int64")
    due = inv_date + terms.astype("timedelta64[D]")
    amount = np.round(rng.lognormal(7, 1, n_invoices), 2) + 1
    invoices = pd.DataFrame(
        {
            "invoice_id": _ids("INV_", n_invoices),
            "customer_id": customers["customer_id"].to_numpy()[cust],
            "invoice_date": inv_date.astype("datetime64[us]"),
            "due_date": due.astype("datetime64[us]"),
            "amount": amount,
            "currency": "USD",
            "energy_kwh": np.round(rng.lognormal(10, 1.5, n_invoices), 1),
            "status": "",
            "due_date_derived": False,
            "is_overpaid": False,
        }
    )
    # payments: 85% of invoices paid (some in two parts), 10% partly paid, 5% unpaid
    u = rng.random(n_invoices)
    delay = rng.normal(5, 20, n_invoices).round().astype("int64")
    pay_date = due + delay.astype("timedelta64[D]")
    pay_date = np.maximum(pay_date, inv_date)
    first_share = np.where(u < 0.25, 0.5, np.where(u < 0.85, 1.0, np.where(u < 0.95, 0.4, 0.0)))
    first_share = np.where(rng.random(n_invoices) < 0.01, 1.05, first_share)  # overpayments
    idx1 = np.flatnonzero(first_share > 0)
    idx2 = np.flatnonzero(u < 0.25)  # second half of a split payment, 20 days later
    inv_idx = np.concatenate([idx1, idx2])
    p_amount = np.concatenate([amount[idx1] * first_share[idx1], amount[idx2] * 0.5]).round(2)
    p_date = np.concatenate([pay_date[idx1], pay_date[idx2] + np.timedelta64(20, "D")])
    n_unapplied = n_invoices // 50
    un_cust = rng.integers(0, n_cust, n_unapplied)
    keep = p_date <= END
    inv_idx, p_amount, p_date = inv_idx[keep], p_amount[keep], p_date[keep]
    invoice_ids = invoices["invoice_id"].to_numpy()
    payments = pd.DataFrame(
        {
            "payment_id": _ids("PAY_", len(inv_idx) + n_unapplied),
            "invoice_id": pd.array(
                np.concatenate([invoice_ids[inv_idx], np.full(n_unapplied, None)]), dtype="str"
            ),
            "customer_id": np.concatenate(
                [
                    invoices["customer_id"].to_numpy()[inv_idx],
                    customers["customer_id"].to_numpy()[un_cust],
                ]
            ),
            "payment_date": np.concatenate(
                [p_date, START + rng.integers(0, span, n_unapplied).astype("timedelta64[D]")]
            ).astype("datetime64[us]"),
            "amount": np.concatenate([p_amount, rng.uniform(10, 500, n_unapplied).round(2)]),
            "method": "wire",
        }
    )
    reps = pd.DataFrame(
        {
            "sales_rep_id": _ids("R_", n_reps),
            "rep_name": _ids("Rep ", n_reps),
            "sales_group": pd.Series(
                rng.choice(["Premium Sales", "Retail Sales", "Enterprise"], n_reps), dtype="str"
            ),
        }
    )
    settled = rng.random(n_invoices) < 0.8
    settle = inv_date + rng.integers(20, 60, n_invoices).astype("timedelta64[D]")
    settled &= settle <= END
    rate = rng.choice([3.0, 5.0, 7.5], n_invoices)
    commissions = pd.DataFrame(
        {
            "commission_id": _ids("COM_", n_invoices),
            "sales_rep_id": customers["sales_rep_id"].to_numpy()[cust],
            "invoice_id": invoice_ids,
            "commission_amount": (amount * rate / 100).round(2),
            "commission_rate": rate,
            "accrual_date": inv_date.astype("datetime64[us]"),
            "is_settled": settled,
            "settlement_date": np.where(settled, settle, np.datetime64("NaT")).astype(
                "datetime64[us]"
            ),
        }
    )
    return {
        "customers": customers,
        "invoices": invoices,
        "payments": payments,
        "sales_reps": reps,
        "commissions": commissions,
    }


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB


def run_one(n: int) -> dict:
    from arinsight import commissions, receivables

    t0 = time.perf_counter()
    tables = generate(n)
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    kpis = receivables.receivables_kpis(tables, PERIOD, {})
    com = commissions.commission_kpis(tables, PERIOD, {"trailing_months": 12})
    t_kpis = time.perf_counter() - t0
    t0 = time.perf_counter()
    monthly = receivables.monthly_trends(tables, PERIOD, 24)
    commissions.monthly_commissions(tables, PERIOD, 24)
    t_series = time.perf_counter() - t0
    return {
        "invoices": n,
        "payments": len(tables["payments"]),
        "generate_s": round(gen, 2),
        "all_kpis_s": round(t_kpis, 2),
        "series_24m_s": round(t_series, 2),
        "peak_rss_gb": round(_peak_rss_gb(), 2),
        "check_open_ar": kpis["open_ar"],
        "check_dso": kpis["dso"],
        "check_accrued": com["total_accrued_commissions"],
        "check_series_last_open_ar": float(monthly["open_ar"].iloc[-1]),
    }


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--one":
        print(json.dumps(run_one(int(argv[1]))))
        return 0
    sizes = [int(a) for a in argv] or [100_000, 1_000_000]
    print(
        f"{'invoices':>11} {'payments':>11} {'gen s':>7} {'KPIs s':>7} {'24m s':>7} {'peak GB':>8}"
    )
    for n in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=False
        )
        if proc.returncode:
            print(f"{n:>11,} failed:\n{proc.stderr}")
            return proc.returncode
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{r['invoices']:>11,} {r['payments']:>11,} {r['generate_s']:>7.2f} "
            f"{r['all_kpis_s']:>7.2f} {r['series_24m_s']:>7.2f} {r['peak_rss_gb']:>8.2f}"
        )
        assert r["check_open_ar"] == r["check_series_last_open_ar"], "series != engine"
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
