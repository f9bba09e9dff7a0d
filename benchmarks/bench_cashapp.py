"""Benchmark of cash application: match rates against a known truth, and speed.

Usage: ``python benchmarks/bench_cashapp.py [N ...]`` (default 10000 100000 invoices). Each size
runs in a fresh child process. ``BENCH_CASHAPP_SEED`` (default 7) seeds the statements (the
ledger is always ``generate(N, 42)``); run it for several seeds to see the spread. Every wrong
match is listed in ``wrong`` (line, style, rule, invoices applied, invoices the line pays). The ledger comes from ``arinsight.sample.generate(N, 42)``; the
statements from ``arinsight.cashapp.synthetic.monthly_scenarios`` for July to October 2026 (the
ledger without any payment from 1 July; each month's payments become that month's statement,
with mangled references, one payment for several invoices, partial payments, foreign payers and
lines that pay nothing). The months are applied in order with one ledger, as a company would.

Per month and in total: lines, ``precision`` and ``recall`` of ``matched`` (a match is correct when
its invoices are exactly the ones the line pays) and ``auto_matched`` (matched / credit lines),
for the camt.053 file; ``posted`` (lines a posting rule handled: interest, tax refunds, payments
on account), ``auto_handled`` ((matched + posted) / credit lines) and ``handled_precision``
(correct matches and postings / matched + posted; a posting is correct when the line pays no
invoice and the customer, for one on account, is the truth's; wrong ones in ``wrong_posted``;
the lines per posting rule in ``posted_rules``, ``duplicate_payment`` among them: a line that
pays an invoice it names a second time is wrong here, since this generator writes no duplicate
payment);
the CSV export of the same statement must give the same statuses
(``csv_same``). Timed: reading the camt.053 file and matching it (``ours_s``).

Beside it, the tool a finance team uses instead: a spreadsheet lookup of the exact invoice number
(``INV-` + 7 digits, as billed) in the remittance text, applied when found (``lookup_*``; a pandas
``str.extract`` + ``merge``, i.e. what VLOOKUP does), with its own rates and time.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from _per_size import main as per_size

MONTHS = ["2026-07", "2026-08", "2026-09", "2026-10"]


def _lookup(lines, truth, tables) -> tuple[dict, float]:
    """Exact invoice number in the text -> matched to that invoice (the spreadsheet way)."""
    t0 = time.perf_counter()
    credit = lines.loc[lines["credit_debit"] == "CRDT"]
    found = (credit["remittance"] + " " + credit["reference"]).str.extract(r"(INV-\d{7})")[0]
    known = found.isin(tables["invoices"]["invoice_id"])
    matched = credit.assign(invoice_ids=found.where(known))
    elapsed = time.perf_counter() - t0
    merged = truth.merge(matched[["line_id", "invoice_ids"]], on="line_id")
    hit = merged["invoice_ids"].notna()
    correct = hit & (merged["invoice_ids"] == merged["truth_invoices"])
    payable = merged["truth_invoices"] != ""
    return {
        "lookup_precision": round(float(correct.sum() / max(hit.sum(), 1)), 4),
        "lookup_recall": round(float(correct.sum() / max(payable.sum(), 1)), 4),
        "lookup_auto_matched": round(float(hit.mean()), 4),
    }, elapsed


def _one(n: int) -> dict:
    from arinsight.cashapp import (
        MatchSettings,
        ledger_records,
        match_statement,
        read_csv_statement,
        read_statement,
    )
    from arinsight.cashapp import synthetic as syn
    from arinsight.sample import generate

    tables = generate(n, 42)
    seed = int(os.environ.get("BENCH_CASHAPP_SEED", "7"))
    ledger_tables, scenarios = syn.monthly_scenarios(tables, MONTHS, seed=seed)
    wrong: list[dict] = []
    settings = MatchSettings(fx_rates={"EUR": 1.08})
    ledger: list[dict] = []
    wrong_posted: list[dict] = []
    posted_rules: dict[str, int] = {}
    months = []
    totals = {"lines": 0, "matched": 0, "correct": 0, "payable": 0, "posted": 0,
              "posted_correct": 0}  # fmt: skip
    ours_s = lookup_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for month, sc in zip(MONTHS, scenarios, strict=True):
            xml = syn.write_camt053(sc.lines, Path(tmp) / f"{month}.xml", f"STMT-{month}")
            csv = syn.write_csv(sc.lines, Path(tmp) / f"{month}.csv")
            t0 = time.perf_counter()
            lines = read_statement(xml)
            run = match_statement(lines, ledger_tables, settings, None, ledger)
            ours_s += time.perf_counter() - t0
            csv_lines = read_csv_statement(csv, syn.CSV_MAPPING)
            csv_lines["line_id"] = csv_lines["line_id"].str.replace(f"{csv.stem}:", "", regex=False)
            csv_run = match_statement(
                csv_lines,
                ledger_tables,
                settings,
                None,
                [{**r, "line_id": r["line_id"].split(":", 1)[1]} for r in ledger],
            )
            ledger += ledger_records(run, lines)
            for rule in run.worklist.loc[run.worklist["status"] == "posted", "rule"]:
                posted_rules[rule] = posted_rules.get(rule, 0) + 1
            r = syn.score(run.worklist, sc.lines)
            wrong += r["wrong"].assign(month=month).to_dict(orient="records")
            wrong_posted += r["wrong_posted"].assign(month=month).to_dict(orient="records")
            look, t_look = _lookup(lines, sc.lines, ledger_tables)
            lookup_s += t_look
            by_ref = dict(
                zip(
                    run.worklist["line_id"].str.split(":").str[1],
                    run.worklist["status"],
                    strict=True,
                )
            )
            by_csv = dict(zip(csv_run.worklist["line_id"], csv_run.worklist["status"], strict=True))
            same = all(by_ref[ref] == by_csv[ref] for ref in sc.lines["bank_ref"])
            for k in totals:
                totals[k] += r[k]
            months.append(
                {
                    "month": month,
                    "lines": r["lines"],
                    "precision": round(r["precision"], 4),
                    "recall": round(r["recall"], 4),
                    "auto_matched": round(r["auto_matched"], 4),
                    "auto_handled": round(r["auto_handled"], 4),
                    "posted": r["posted"],
                    "csv_same": bool(same),
                    **look,
                }
            )
    return {
        "invoices": n,
        "seed": seed,
        "cores": os.cpu_count(),
        "months": months,
        "lines": totals["lines"],
        "precision": round(totals["correct"] / max(totals["matched"], 1), 4),
        "recall": round(totals["correct"] / max(totals["payable"], 1), 4),
        "auto_matched": round(totals["matched"] / max(totals["lines"], 1), 4),
        "posted": totals["posted"],
        "posted_correct": totals["posted_correct"],
        "posted_rules": dict(sorted(posted_rules.items())),
        "auto_handled": round((totals["matched"] + totals["posted"]) / max(totals["lines"], 1), 4),
        "handled_precision": round(
            (totals["correct"] + totals["posted_correct"])
            / max(totals["matched"] + totals["posted"], 1),
            4,
        ),
        "ours_s": round(ours_s, 2),
        "lookup_s": round(lookup_s, 3),
        "ours_vs_lookup_time": round(ours_s / max(lookup_s, 1e-9), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "wrong": wrong,
        "wrong_posted": wrong_posted,
    }


def main(argv: list[str]) -> int:
    return per_size(__file__, _one, argv, default=[10_000, 100_000])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
