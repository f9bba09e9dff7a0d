"""Cash application when references lie: every single-invoice reference of a month's statement
replaced by a two-digit transposition that is *another customer's* open invoice.

Usage: ``python benchmarks/bench_cashapp_transposed.py [SEED ...]`` (default 7). The ledger is
``arinsight.sample.generate(10_000, 42)``; the statement is October 2026 from
``arinsight.cashapp.synthetic.statement_scenario`` (the seed); each ``reference`` or ``mangled``
line that pays one invoice gets ``Invoice <number>`` where the number is its invoice's with two
neighbouring digits swapped, when that number is an open invoice of another customer. Prints one
JSON line per seed: lines, lines changed, auto-matched, precision, wrong matches (each listed)
and the statuses of the changed lines. A wrong match here is what a controller fears most: the
right invoice stays open and is dunned.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


def transposed(seed: int) -> dict:
    from arinsight.cashapp import MatchSettings, invoice_book, match_statement, read_statement
    from arinsight.cashapp import synthetic as syn
    from arinsight.sample import generate

    tables = generate(10_000, 42)
    sc = syn.statement_scenario(tables, "2026-10-01", "2026-10-31", seed=seed)
    book = invoice_book(sc.tables, "2026-10-31")
    open_ = book[book["open_amount"] > 0].set_index("invoice_id")["customer_id"].to_dict()
    lines = sc.lines.copy()
    changed = []
    for k, r in lines.iterrows():
        inv = r["truth_invoices"]
        if r["style"] not in ("reference", "mangled") or not inv or ";" in inv:
            continue
        prefix, d = inv[:4], inv[4:]
        for j in range(len(d) - 1):
            t = prefix + d[:j] + d[j + 1] + d[j] + d[j + 2 :]
            if d[j] != d[j + 1] and open_.get(t, r["truth_customer"]) != r["truth_customer"]:
                lines.at[k, "remittance"] = f"Invoice {t}"
                changed.append(r["line_id"])
                break
    with tempfile.TemporaryDirectory() as tmp:
        xml = syn.write_camt053(lines, Path(tmp) / "t.xml", "T")
        run = match_statement(read_statement(xml), sc.tables, MatchSettings(fx_rates={"EUR": 1.08}))
    got = syn.score(run.worklist, lines)
    statuses = run.worklist.set_index("line_id").loc[changed, "status"].value_counts()
    return {
        "seed": seed,
        "lines": got["lines"],
        "changed": len(changed),
        "auto_matched": round(got["auto_matched"], 4),
        "precision": round(got["precision"], 4),
        "wrong": got["wrong"].to_dict(orient="records"),
        "changed_status": statuses.to_dict(),
    }


if __name__ == "__main__":
    for s in [int(a) for a in sys.argv[1:]] or [7]:
        print(json.dumps(transposed(s)), flush=True)
