"""Score `arinsight match` on statements written by tests/bankgen/generate.py.

It runs the command a user runs, once per statement file in the order the bank sent them
(day 1, day 1 sent again, day 2), into a fresh output folder, for the camt.053 files and then
for the CSV files, and compares the worklists and applied_payments.csv with truth.json:

    python tests/bankgen/score.py /tmp/stmt1 [/tmp/stmt2 ...] --project /work/main
    python tests/bankgen/score.py --seeds 1,2,3 --work /tmp/bankgen --project .   # generate too

Counted over the credit lines of day 1 and day 2 (the re-sent copy is checked apart):
auto-matched share, precision (a match is correct when its invoices are exactly the truth's;
every wrong one is listed with the rule, confidence and reason the tool gave), recall, the
share of the *matchable* lines matched correctly (they pay an invoice, are not ambiguous by
design and are not returned within the same statement: what a tool that never guesses can
match), ambiguous
lines auto-matched (must be 0), lines posted by a posting rule (``posted``: interest, tax refunds,
payments on account; correct when the truth says the line pays no invoice: this generator
records no customer for such a line, so a posting on account is only checked for that; but a
``customer_paid_twice`` line, whose truth names the line that paid the invoice first and so
the invoice's customer, is correct only posted on account of that customer, and a posting as
a duplicate payment (``duplicate_payment``) of any other line is wrong) and
the share auto-handled (matched + posted) with its precision, lines applied twice (must be 0), reversals undone, invoices
given more than they had open, and the lines the truth expected to be matched that were not.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bankgen.generate import generate, load_ledger  # noqa: E402

TOL = Decimal("0.01")


def _dec(x) -> Decimal:
    try:
        return Decimal(str(x).strip().lstrip("'") or "0")
    except Exception:
        return Decimal(0)


def _ids(cell) -> list[str]:
    return sorted(set(re.findall(r"INV-\d+", str(cell or ""))))


def _ref(line_id: str) -> str:
    return str(line_id).lstrip("'").rsplit(":", 1)[-1]


def run_match(
    project: Path, python: str, statement: Path, out: Path, processed: Path, params: Path | None
) -> subprocess.CompletedProcess:
    cmd = [
        python,
        "-m",
        "arinsight",
        "match",
        "--statement",
        str(statement),
        "--out",
        str(out),
        "--processed",
        str(processed),
    ]
    if params:
        cmd += ["--params", str(params)]
    env = dict(os.environ, PYTHONPATH=str(project / "src"))
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=900)


def _worklist(out: Path) -> list[dict]:
    """The worklist the run just wrote (the newest; its name is the tool's slug of the file's)."""
    cands = sorted(out.glob("matching_worklist_*.csv"), key=lambda p: p.stat().st_mtime_ns)
    if not cands:
        return []
    with open(cands[-1], newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def score_format(
    sdir: Path,
    truth: dict,
    fmt: str,
    project: Path,
    python: str,
    processed: Path,
    keep: Path | None,
) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"bankgen_{fmt}_")) if keep is None else keep / fmt
    if keep is not None:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
    lines = {ln["acct_svcr_ref"]: ln for ln in truth["lines"]}
    by_no = {ln["line_no"]: ln for ln in truth["lines"]}
    # csv-noid: the same CSV files read without a line-id column (a portal export without the
    # bank reference): the tool then identifies a line by its content
    params = {
        "csv": sdir / "bank_csv_params.yaml",
        "csv-noid": sdir / "bank_csv_params_noid.yaml",
    }.get(fmt)
    src = "csv" if fmt == "csv-noid" else fmt
    day_lines = defaultdict(list)
    for ln in sorted(truth["lines"], key=lambda x: x["line_no"]):
        day_lines[ln["file"]].append(ln)
    runs, seen, id2ref = [], {}, {}  # seen[(file, ref)] = worklist row
    for f in truth["files"]:
        if not f.get(src):
            continue
        res = run_match(project, python, sdir / f[src], out, processed, params)
        runs.append(
            {
                "file": f[src],
                "rc": res.returncode,
                "stdout": res.stdout.strip().splitlines()[:3],
                "stderr": res.stderr.strip().splitlines()[-3:],
            }
        )
        day = f.get("duplicate_of") or f["name"]
        for row in _worklist(out):
            if fmt == "csv-noid":  # source_row: the file's line number, the header being 1
                ref = day_lines[day][int(row["source_row"]) - 2]["acct_svcr_ref"]
            else:
                ref = _ref(row.get("line_id", ""))
            seen[(f["name"], ref)] = row
            id2ref[row.get("line_id", "").lstrip("'")] = ref
    applied = []
    ap = out / "applied_payments.csv"
    if ap.exists():
        with open(ap, newline="", encoding="utf-8") as fh:
            applied = list(csv.DictReader(fh))

    open_amt = {
        i.invoice_id: i.open_amount
        for i in load_ledger(
            processed, dt.date.fromisoformat(truth["statement_date"])
        ).open_invoices
    }

    credits = [ln for ln in truth["lines"] if ln["cdt_dbt"] == "CRDT"]
    res = {
        "format": fmt,
        "runs": runs,
        "credit_lines": len(credits),
        "matched": 0,
        "correct": 0,
        "paying_lines": 0,
        "wrong": [],
        "ambiguous_matched": [],
        "missed_expected": [],
        "not_in_worklist": [],
        "applied_twice": [],
        "reversals": [],
        "over_applied": [],
        "statuses": defaultdict(int),
        "resent": defaultdict(int),
        "none_lines_matched": 0,
        "posted": 0,
        "posted_correct": 0,
        "posted_rules": defaultdict(int),
        "wrong_posted": [],
        # a customer paying an invoice a second time: correct when posted on account of the
        # customer whose invoice the truth's first line paid
        "duplicate_lines": 0,
        "duplicate_posted": 0,
        # lines a tool that never guesses can match: they pay an invoice, are not ambiguous by
        # design and are not returned within the same statement (then rightly left open)
        "matchable_lines": 0,
        "matchable_correct": 0,
    }
    returned_here = {
        by_no[x["reverses"]]["line_no"]
        for x in truth["lines"]
        if x.get("reverses") and by_no[x["reverses"]]["file"] == x["file"]
    }
    dups = [f for f in truth["files"] if f.get("duplicate_of") and f.get(src)]
    for ln in credits:
        row = seen.get((ln["file"], ln["acct_svcr_ref"]))
        for f in dups:
            if f["duplicate_of"] != ln["file"]:
                continue
            again = seen.get((f["name"], ln["acct_svcr_ref"]))
            if (
                again is not None
                and again.get("status") == "matched"
                and (row is None or row.get("status") != "matched")
            ):
                row = dict(again, matched_on=f[src])  # its final state is that match
        truth_ids = sorted({p["invoice_id"] for p in ln["pays"]})
        if truth_ids:
            res["paying_lines"] += 1
        matchable = bool(truth_ids) and not ln["ambiguous"] and ln["line_no"] not in returned_here
        res["matchable_lines"] += matchable
        if row is None:
            res["not_in_worklist"].append(ln["line_no"])
            continue
        st = row.get("status", "")
        res["statuses"][st] += 1
        dup_of = _duplicate_of(ln, by_no)
        res["duplicate_lines"] += dup_of is not None
        if st == "posted":
            res["posted"] += 1
            res["posted_rules"][row.get("rule", "")] += 1
            why = (
                "posted by a rule, but it pays an invoice"
                if truth_ids
                else _wrong_duplicate_posting(dup_of, row)
                if dup_of is not None
                else "posted as a duplicate payment, but it is not one"
                if row.get("rule") == DUPLICATE_RULE
                else ""
            )
            if why:
                d = _desc(ln, row)
                d["why_wrong"] = why
                res["wrong_posted"].append(d)
            else:
                res["posted_correct"] += 1
                res["duplicate_posted"] += dup_of is not None
            if ln["ambiguous"]:
                res["ambiguous_matched"].append(_desc(ln, row))
            continue
        if st != "matched":
            if ln["expect"] == "auto":
                res["missed_expected"].append(_desc(ln, row))
            continue
        res["matched"] += 1
        got = _ids(row.get("invoice_ids"))
        if got == truth_ids and truth_ids:
            res["correct"] += 1
            res["matchable_correct"] += matchable
        else:
            d = _desc(ln, row)
            d["why_wrong"] = (
                "pays no invoice: " + ln["no_invoice_reason"]
                if not truth_ids
                else "other invoices"
                if not set(got) & set(truth_ids)
                else "incomplete or extra invoices"
            )
            res["wrong"].append(d)
            if not truth_ids:
                res["none_lines_matched"] += 1
        if ln["ambiguous"]:
            res["ambiguous_matched"].append(_desc(ln, row))
    # the copies (re-sent, downloaded twice, re-saved): nothing may be applied again
    for f in dups:
        for ln in truth["lines"]:
            if ln["file"] != f["duplicate_of"]:
                continue
            row = seen.get((f["name"], ln["acct_svcr_ref"]))
            st = row.get("status", "?") if row else "missing"
            res["resent"][f"{f[src]}: {st}"] += 1
            first = seen.get((ln["file"], ln["acct_svcr_ref"])) or {}
            if st in ("matched", "posted") and first.get("status") in ("matched", "posted"):
                res["applied_twice"].append(
                    {
                        "line": ln["line_no"],
                        "kind": ln["kind"],
                        "again_in": f[src],
                        "line_id": row.get("line_id"),
                        "first_line_id": first.get("line_id"),
                    }
                )
    # applied twice: a bank line with payments under more than one line id, or more money
    per_line: dict[str, dict] = defaultdict(lambda: {"ids": set(), "amount": Decimal(0)})
    per_inv: dict[str, Decimal] = defaultdict(Decimal)
    for p in applied:
        lid = p.get("statement_line_id", "").lstrip("'")
        ref = id2ref.get(lid, _ref(lid))
        per_line[ref]["ids"].add(p.get("statement_line_id"))
        per_line[ref]["amount"] += _dec(p.get("amount"))
        per_inv[p.get("invoice_id", "")] += _dec(p.get("amount"))
    for ref, v in per_line.items():
        ln = lines.get(ref)
        if ln is None:
            continue
        if len(v["ids"]) > 1 or v["amount"] > _dec(ln["amount"]) * Decimal("1.05") + TOL:
            res["applied_twice"].append(
                {
                    "line": ln["line_no"],
                    "kind": ln["kind"],
                    "line_ids": sorted(v["ids"]),
                    "applied": str(v["amount"]),
                    "amount": ln["amount"],
                }
            )
    # customer-paid-twice lines applied to the invoice again count as over-application
    for inv, amt in per_inv.items():
        if inv in open_amt and amt > open_amt[inv] + TOL:
            res["over_applied"].append(
                {"invoice": inv, "open_at_statement": str(open_amt[inv]), "applied": str(amt)}
            )
    # reversals: the returned line's payments must be taken back
    for ln in truth["lines"]:
        if ln.get("reverses"):
            orig = by_no[ln["reverses"]]
            net = per_line.get(orig["acct_svcr_ref"], {"amount": Decimal(0)})["amount"]
            row = seen.get((ln["file"], ln["acct_svcr_ref"]))
            res["reversals"].append(
                {
                    "return_line": ln["line_no"],
                    "reverses": orig["line_no"],
                    "kind": orig["kind"],
                    "reason_code": ln["return_reason"],
                    "rvsl_ind": ln["reversal"],
                    "original_status": (seen.get((orig["file"], orig["acct_svcr_ref"])) or {}).get(
                        "status"
                    ),
                    "net_still_applied": str(net),
                    "undone": abs(net) <= TOL,
                    "tool_says": (row or {}).get("reason") or (row or {}).get("status"),
                }
            )
    # a line posted to an account twice (gl_postings.csv, rewritten from the ledger every run)
    gl = out / "gl_postings.csv"
    if gl.exists():
        with open(gl, newline="", encoding="utf-8") as fh:
            refs = [id2ref.get(r["statement_line_id"].lstrip("'"), _ref(r["statement_line_id"]))
                    for r in csv.DictReader(fh)]  # fmt: skip
        for ref in {x for x in refs if refs.count(x) > 1}:
            ln = lines.get(ref)
            res["applied_twice"].append(
                {"line": ln["line_no"] if ln else ref, "kind": "gl posting"}
            )
    res["statuses"] = dict(res["statuses"])
    res["posted_rules"] = dict(res["posted_rules"])
    # one entry per bank line applied more than once (both checks may find the same line)
    twice: dict[int, dict] = {}
    for a in res["applied_twice"]:
        twice.setdefault(a["line"], {}).update(a)
    res["applied_twice"] = [twice[k] for k in sorted(twice)]
    res["resent"] = dict(res["resent"])
    res["out_dir"] = str(out)
    return res


#: The tool's rule for a second payment of a paid invoice posted on account (docs/collections.md).
DUPLICATE_RULE = "duplicate_payment"


def _duplicate_of(ln: dict, by_no: dict) -> str | None:
    """The customer whose invoice a ``customer_paid_twice`` line pays a second time: the truth
    names the first line (``duplicate payment by the customer of line N``), whose ``pays`` name
    the invoice and its customer. None for any other line."""
    if ln["kind"] != "customer_paid_twice":
        return None
    m = re.search(r"of line (\d+)", ln.get("no_invoice_reason") or "")
    first = by_no.get(int(m[1])) if m else None
    customers = {p["customer_id"] for p in (first or {}).get("pays", [])}
    return customers.pop() if len(customers) == 1 else None


def _wrong_duplicate_posting(customer: str, row: dict) -> str:
    """Why a posting of a duplicate payment of ``customer``'s invoice is wrong ("" when right:
    on account of that customer, not to a general-ledger account)."""
    if row.get("gl_account"):
        return f"a duplicate payment of {customer}, posted to {row['gl_account']}"
    if row.get("customer_id") != customer:
        return f"a duplicate payment of {customer}, posted on account of {row.get('customer_id')}"
    return ""


def _desc(ln: dict, row: dict) -> dict:
    return {
        "line": ln["line_no"],
        "file": ln["file"],
        "kind": ln["kind"],
        "amount": ln["amount"],
        "payer": ln["payer_name"],
        "text": " ".join(ln["ustrd"] + ln["strd_refs"]),
        "truth": (
            [f"{p['invoice_id']} ({p['customer_id']}) {p['amount']}" for p in ln["pays"]]
            or ln["no_invoice_reason"]
        ),
        "note": ln["note"],
        "status": row.get("status"),
        "rule": row.get("rule"),
        "confidence": row.get("confidence"),
        "tool_invoices": row.get("invoice_ids"),
        "tool_customer": row.get("customer_id"),
        "applied": row.get("applied_amount"),
        "reason": row.get("reason"),
        "candidates": row.get("candidates"),
        "matched_on": row.get("matched_on", ""),
    }


def summary(seed, r: dict) -> str:
    m, c = r["matched"], r["correct"]
    share = m / r["credit_lines"] if r["credit_lines"] else 0
    prec = c / m if m else 1.0
    rec = c / r["paying_lines"] if r["paying_lines"] else 0
    p, pc = r.get("posted", 0), r.get("posted_correct", 0)
    handled = (m + p) / r["credit_lines"] if r["credit_lines"] else 0
    h_prec = (c + pc) / (m + p) if m + p else 1.0
    undone = sum(1 for x in r["reversals"] if x["undone"])
    errs = [x for x in r["runs"] if x["rc"] != 0]
    s = [
        f"seed {seed} [{r['format']}]: {r['credit_lines']} credit lines, auto-matched "
        f"{m} = {share:.1%}, precision {prec:.2%} ({m - c} wrong), recall {rec:.1%}, "
        f"of the {r['matchable_lines']} matchable lines {r['matchable_correct']} = "
        f"{r['matchable_correct'] / max(r['matchable_lines'], 1):.1%}; "
        f"posted by a rule {p} ({pc} correct; {r.get('posted_rules', {})}; duplicate payments "
        f"on account of the right customer {r.get('duplicate_posted', 0)}/"
        f"{r.get('duplicate_lines', 0)}), auto-handled "
        f"{m + p} = {handled:.1%} at precision {h_prec:.2%}; "
        f"ambiguous auto-matched {len(r['ambiguous_matched'])}; applied twice "
        f"{len(r['applied_twice'])}; invoices over-applied {len(r['over_applied'])}; "
        f"reversals undone {undone}/{len(r['reversals'])}; re-sent copy {r['resent']}; "
        f"expected-auto not matched {len(r['missed_expected'])}"
    ]
    for e in errs:
        s.append(f"  ! {e['file']} exit {e['rc']}: {' | '.join(e['stderr'])}")
    for w in r["wrong"]:
        s.append(
            f"  WRONG line {w['line']} ({w['kind']}, {w['amount']}, payer '{w['payer']}', "
            f"text '{w['text']}'): tool {w['rule']} {w['confidence']} -> "
            f"{w['tool_invoices']} ({w['tool_customer']}), truth {w['truth']}; "
            f"{w['why_wrong']}; {w['note']}"
            + (f" [matched on {w['matched_on']}]" if w["matched_on"] else "")
        )
    for w in r.get("wrong_posted", []):
        s.append(
            f"  WRONG POSTING line {w['line']} ({w['kind']}, {w['amount']}, payer '{w['payer']}', "
            f"text '{w['text']}'): {w['rule']} -> {w['tool_customer']}, truth {w['truth']}; "
            f"{w['why_wrong']}"
        )
    for w in r["ambiguous_matched"]:
        s.append(
            f"  AMBIGUOUS MATCHED line {w['line']} ({w['kind']}): {w['rule']} -> "
            f"{w['tool_invoices']}; {w['note']}"
        )
    for a in r["applied_twice"]:
        s.append(f"  APPLIED TWICE line {a['line']} ({a['kind']}): {a}")
    for a in r["reversals"]:
        if not a["undone"]:
            s.append(
                f"  REVERSAL NOT UNDONE: line {a['return_line']} ({a['reason_code']}, "
                f"RvslInd {a['rvsl_ind']}) returns line {a['reverses']} "
                f"({a['kind']}, {a['original_status']}); {a['net_still_applied']} still "
                f"applied; tool: {a['tool_says']}"
            )
    for a in r["over_applied"]:
        s.append(f"  OVER-APPLIED {a}")
    return "\n".join(s)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="score arinsight match on bankgen statements")
    ap.add_argument("dirs", nargs="*", type=Path, help="statement folders (generate.py --out)")
    ap.add_argument(
        "--project",
        type=Path,
        required=True,
        help="the arinsight checkout to test (its src/ is put on PYTHONPATH)",
    )
    ap.add_argument(
        "--python",
        default=None,
        help="interpreter (default: PROJECT/.venv/bin/python, else this one)",
    )
    ap.add_argument(
        "--processed",
        type=Path,
        default=None,
        help="processed ledger (default PROJECT/data/processed)",
    )
    ap.add_argument("--formats", default="camt,csv,csv-noid")
    ap.add_argument("--seeds", default="", help="generate these seeds first (1,2,3)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bankgen")
    ap.add_argument("--date", default="2026-10-29")
    ap.add_argument("--json", type=Path, default=None, help="write every result here")
    ap.add_argument("--keep", action="store_true", help="keep the outputs beside the statements")
    a = ap.parse_args(argv)
    project = a.project.resolve()
    python = a.python or (
        str(project / ".venv/bin/python")
        if (project / ".venv/bin/python").exists()
        else sys.executable
    )
    processed = (a.processed or project / "data/processed").resolve()
    dirs = list(a.dirs)
    for s in filter(None, a.seeds.split(",")):
        d = a.work / f"seed{s}"
        shutil.rmtree(d, ignore_errors=True)
        generate(int(s), d, a.date, processed)
        dirs.append(d)
    results, bad = [], False
    for d in dirs:
        truth = json.loads((d / "truth.json").read_text(encoding="utf-8"))
        for fmt in a.formats.split(","):
            r = score_format(
                d, truth, fmt, project, python, processed, d / "_scored" if a.keep else None
            )
            r["seed"] = truth["seed"]
            r["dir"] = str(d)
            print(summary(truth["seed"], r), flush=True)
            results.append(r)
            bad |= bool(r["ambiguous_matched"] or r["applied_twice"])
    if a.json:
        a.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
