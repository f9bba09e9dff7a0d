"""Write a synthetic processed ledger directly as parquet, in DuckDB SQL (seconds per 10M rows).

The tables have the canonical columns of data/processed/<table>.parquet, so `arinsight kpis
--processed DIR` reads them as it reads clean's output. Deterministic: every random draw is a
hash of the row number and a salt (same n = same bytes). Per invoice two payment rows: split
payments (80 %), a partial payment and a late remainder (15 %), a full payment plus unapplied
cash of the same customer (3 %), an overpayment (1 %), or two payments after the data ends
(1 %, unpaid at T). ~n/30 customers in 4 regions; 0.1 % of invoices have no region; one
commission per 10 invoices. Amounts are float64 with 2 decimals (as clean writes them today)
or, with --decimal, decimal(18,2).

    .venv/bin/python benchmarks/generate_parquet.py 1000000 /tmp/ledger-1m
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

START = "2024-01-01"
SPAN_DAYS = 1035  # invoices from 2024-01-01 to 2026-10-31


def _u(salt: int, col: str = "i", mod: int = 1_000_000) -> str:
    """A deterministic pseudo-random integer in [0, mod) from row number ``col``."""
    return f"((hash({col} * 7919 + {salt}) % {mod})::INTEGER)"


def generate(n: int, out: Path, decimal: bool = False, threads: int | None = None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    n_cust = max(10, n // 30)
    n_reps = max(5, n_cust // 50)
    money = "DECIMAL(18,2)" if decimal else "DOUBLE"
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    regions = "['North', 'South', 'East', 'West']"

    def copy(name: str, query: str) -> None:
        con.execute(f"COPY ({query}) TO '{out / name}.parquet' (FORMAT parquet)")

    copy(
        "customers",
        f"""
        SELECT 'C' || lpad(c::VARCHAR, 9, '0') AS customer_id,
               'Customer ' || c::VARCHAR AS customer_name,
               {regions}[(c % 4) + 1] AS region,
               ['Manufacturing', 'Energy', 'Retail', 'Services'][({_u(1, "c", 4)}) + 1]
                   AS industry,
               ['Business', 'Residential'][({_u(2, "c", 2)}) + 1] AS customer_type,
               [5000.0, 10000.0, 50000.0, 100000.0][({_u(3, "c", 4)}) + 1]::DOUBLE
                   AS credit_limit,
               [15.0, 30.0, 45.0, 60.0][((c // 4) % 4) + 1]::DOUBLE AS payment_terms_days,
               'R' || lpad((c % {n_reps})::VARCHAR, 6, '0') AS sales_rep_id,
               NULL::VARCHAR AS contact_email
        FROM range({n_cust}) t(c)""",
    )
    copy(
        "sales_reps",
        f"""
        SELECT 'R' || lpad(r::VARCHAR, 6, '0') AS sales_rep_id, 'Rep ' || r::VARCHAR AS rep_name,
               ['Premium Sales', 'Retail Sales', 'Enterprise'][(r % 3) + 1] AS sales_group
        FROM range({n_reps}) t(r)""",
    )
    invoice = f"""
        SELECT i, {_u(10, "i", n_cust)} AS c,
               DATE '{START}' + ({_u(11, "i", SPAN_DAYS)})::INTEGER AS d,
               round(20 + {_u(12)} / 200.0 + ({_u(13, "i", 100)} = 0)::INTEGER * 20000, 2)
                   AS amount
        FROM range({n}) t(i)"""
    copy(
        "invoices",
        f"""
        SELECT 'INV' || lpad(i::VARCHAR, 10, '0') AS invoice_id,
               'C' || lpad(c::VARCHAR, 9, '0') AS customer_id,
               d::TIMESTAMP AS invoice_date,
               (d + [15, 30, 45, 60][((c // 4) % 4) + 1])::TIMESTAMP AS due_date,
               amount::{money} AS amount, 'USD' AS currency,
               round({_u(14)} / 100.0, 1)::DOUBLE AS energy_kwh, NULL::VARCHAR AS status,
               false AS due_date_derived, false AS is_overpaid,
               CASE WHEN {_u(15, "i", 1000)} = 0 THEN NULL ELSE {regions}[(c % 4) + 1] END
                   AS region
        FROM ({invoice})""",
    )
    copy(
        "payments",
        f"""
        WITH pay AS (
            SELECT j, j // 2 AS i, j % 2 AS part FROM range({2 * n}) t(j)
        ), inv AS (  -- the invoice's draws are functions of its row number: no join needed
            SELECT j, i, part, {_u(10, "i", n_cust)} AS c,
                   DATE '{START}' + ({_u(11, "i", SPAN_DAYS)})::INTEGER AS d,
                   round(20 + {_u(12)} / 200.0 + ({_u(13, "i", 100)} = 0)::INTEGER * 20000, 2)
                       AS amount
            FROM pay
        ), x AS (
            SELECT inv.*, {_u(20)} % 100 AS kind,
                   greatest(d + [15, 30, 45, 60][((c // 4) % 4) + 1]
                            + ({_u(21, "i", 61)})::INTEGER - 20, d) AS paid_on
            FROM inv
        )
        SELECT 'PAY' || lpad(j::VARCHAR, 11, '0') AS payment_id,
               CASE WHEN kind BETWEEN 95 AND 97 AND part = 1 THEN NULL
                    ELSE 'INV' || lpad(i::VARCHAR, 10, '0') END AS invoice_id,
               'C' || lpad(c::VARCHAR, 9, '0') AS customer_id,
               (CASE WHEN kind = 99 THEN DATE '2027-06-30'
                     WHEN part = 0 THEN paid_on
                     WHEN kind < 80 THEN paid_on + 20
                     ELSE paid_on + 45 END)::TIMESTAMP AS payment_date,
               (CASE WHEN kind < 80 OR kind = 99
                         THEN CASE WHEN part = 0 THEN round(amount / 2, 2)
                                   ELSE amount - round(amount / 2, 2) END
                     WHEN kind < 95
                         THEN CASE WHEN part = 0 THEN round(amount * 0.4, 2)
                                   ELSE amount - round(amount * 0.4, 2) END
                     WHEN kind < 98
                         THEN CASE WHEN part = 0 THEN amount
                                   ELSE round(10 + {_u(22, "j", 49000)} / 100.0, 2) END
                     ELSE CASE WHEN part = 0 THEN round(amount / 2, 2)
                               ELSE round(amount * 0.55, 2) END
                END)::{money} AS amount,
               'wire' AS method
        FROM x""",
    )
    copy(
        "commissions",
        f"""
        SELECT 'COM' || lpad(i::VARCHAR, 10, '0') AS commission_id,
               'R' || lpad((c % {n_reps})::VARCHAR, 6, '0') AS sales_rep_id,
               'INV' || lpad(i::VARCHAR, 10, '0') AS invoice_id,
               round(amount * 0.05, 2)::{money} AS commission_amount, 5.0 AS commission_rate,
               d::TIMESTAMP AS accrual_date, {_u(30, "i", 10)} < 8 AS is_settled,
               CASE WHEN {_u(30, "i", 10)} < 8 THEN (d + 20 + {_u(31, "i", 40)})::TIMESTAMP
               END AS settlement_date
        FROM ({invoice}) WHERE i % 10 = 0""",
    )
    con.close()
    return {"invoices": n, "payments": 2 * n, "customers": n_cust, "commissions": n // 10}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("invoices", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--decimal", action="store_true", help="amounts as decimal(18,2)")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = generate(args.invoices, args.out, args.decimal, args.threads)
    print(f"{rows} written to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
