"""Put generated exports through arinsight as a user would, and compare with the truth.

    python tests/exportgen/run_variants.py OUT_DIR [--n 200] [--base-seed 0] [--seeds 3,17]
                                           [--mapping-from-truth] [--jobs 1]

For each variant (tests/exportgen/generate.py) in OUT_DIR/<seed>/:

1. the sources file: ``arinsight map FILE... --out sources.yml`` (issue 22 item 1; the output
   option is read from ``map --help``), or, with
   ``--mapping-from-truth`` (or while ``map`` does not exist yet), the generator's own
   ``truth_sources.yml``;
2. ``arinsight check --params params.yml --json check.json`` (run_date = the export date);
3. ingest and clean: the code of notebooks 01_ingest and 02_clean as shipped (notebook_steps.py),
   which writes the processed folder (``arinsight run`` would also run every page);
4. ``arinsight kpis --period P --as-of T --processed ... --regions all`` (top_n 1000 so every
   customer's open balance is listed);
5. the comparison, to the cent, of open AR, overdue AR and the open-invoice count (plus the overdue
   count, open AR per customer and per region, customers over their credit limit, and per currency
   when kpis.json has it).

Each variant prints one line: ``pass``, ``FAIL <first difference>``, ``check named what to add:
<message>`` or ``CRASH <where>: <last line>``; then a summary, N of N, and a table per quirk class.
Results are also written to OUT_DIR/results.jsonl and OUT_DIR/summary.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from exportgen.generate import QUIRK_CLASSES, generate, variants  # noqa: E402

PY = sys.executable


def _cli(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "-m", "arinsight", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def map_command() -> list[str] | None:
    """How `arinsight map` takes its output file, or None while the command does not exist."""
    p = subprocess.run([PY, "-m", "arinsight", "map", "--help"], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    for opt in ("--output", "--out", "-o"):
        if opt in p.stdout:
            return [opt]
    return []


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _money_diff(name: str, got, want) -> str | None:
    if got is None:
        return f"{name}: kpis gives null, truth {want:.2f}"
    if round(float(got) * 100) != round(float(want) * 100):
        return f"{name}: kpis {float(got):.2f}, truth {want:.2f} (diff {float(got) - want:+.2f})"
    return None


def open_invoice_count(processed: Path, as_of: str) -> int:
    """Invoices dated <= T with amount - applied payments dated <= T above half a cent, read from
    the processed folder: `arinsight kpis` has no open-invoice count (overdue_invoices only)."""
    import pandas as pd

    inv = pd.read_parquet(processed / "invoices.parquet")
    pay = pd.read_parquet(processed / "payments.parquet")
    t = pd.Timestamp(as_of)
    inv = inv[pd.to_datetime(inv["invoice_date"]) <= t]
    pay = pay[(pd.to_datetime(pay["payment_date"]) <= t) & pay["invoice_id"].notna()]
    pay = pay.assign(amount=pd.to_numeric(pay["amount"]).astype(float))  # Decimal or float
    paid = pay.groupby("invoice_id")["amount"].sum()
    amount = pd.to_numeric(inv["amount"]).astype(float).to_numpy()
    bal = amount - inv["invoice_id"].map(paid).fillna(0).astype(float).to_numpy()
    return int((bal > 0.005).sum())


ID_LIKE = re.compile(r"^(K-)?\d+(\.0)?$")


def diagnose(processed: Path) -> list[str]:
    """Rows of the ledger (an id in their key) that clean quarantined, by table and reason, with
    the first detail: the cause behind a difference. Junk rows (no id: blank, dashes, a repeated
    header, a totals row) are left out."""
    import pandas as pd

    path = processed / "quarantine.parquet"
    if not path.exists():
        return []
    q = pd.read_parquet(path)
    q = q[q["key"].fillna("").astype(str).str.match(ID_LIKE)]
    out = []
    for (table, reason), g in q.groupby(["table", "reason"], sort=True):
        out.append(f"{table} {reason} x{len(g)} ({g['detail'].iloc[0]})")
    return out


def _id_key(value: str) -> str:
    return value.lstrip("0") or "0"


def compare(truth: dict, kpis: dict, processed: Path) -> tuple[str | None, list[str]]:
    """(first difference of the core figures or None, other differences)."""
    al = kpis["All"]
    core: list[str] = []
    for key in ("open_ar", "overdue_ar"):
        d = _money_diff(key, al.get(key), truth[key])
        if d:
            core.append(d)
    n_open = open_invoice_count(processed, truth["as_of"])
    if n_open != truth["open_invoices"]:
        core.append(f"open invoices (processed): {n_open}, truth {truth['open_invoices']}")
    extra: list[str] = []
    if al.get("overdue_invoices") != truth["overdue_invoices"]:
        extra.append(
            f"overdue_invoices: kpis {al.get('overdue_invoices')}, truth {truth['overdue_invoices']}"
        )
    shown = {
        str(c["customer_id"]): c["pending"]
        for c in al.get("top_pending_customers") or []
        if c.get("pending")
    }
    # one customer whatever the spelling of its id (a tool may strip or pad leading zeros)
    got = {_id_key(k): v for k, v in shown.items()}
    want = {_id_key(k): v for k, v in truth["open_ar_by_customer"].items()}
    respelled = sorted(set(shown) - set(truth["open_ar_by_customer"]))
    if respelled and set(got) == set(want):
        extra.append(f"customer ids shown otherwise than in the ledger: {respelled[:3]}")
    if set(got) != set(want):
        extra.append(
            f"customers with open AR: kpis has {sorted(set(got) - set(want))} not in the truth, "
            f"misses {sorted(set(want) - set(got))}"
        )
    else:
        for cid in sorted(want):
            d = _money_diff(f"open AR of customer {cid}", got[cid], want[cid])
            if d:
                extra.append(d)
                break
    for region, value in truth["open_ar_by_region"].items():
        if region not in kpis:
            extra.append(f"region {region!r} missing from kpis (has {sorted(kpis)})")
            break
        d = _money_diff(f"open AR of region {region}", kpis[region].get("open_ar"), value)
        if d:
            extra.append(d)
            break
    if al.get("customers_over_credit_limit") != truth["customers_over_credit_limit"]:
        extra.append(
            f"customers_over_credit_limit: kpis {al.get('customers_over_credit_limit')}, "
            f"truth {truth['customers_over_credit_limit']}"
        )
    by_cur = al.get("open_ar_by_currency")
    if by_cur is not None and len(truth["open_ar_by_currency"]) > 1:
        for cur, value in truth["open_ar_by_currency"].items():
            entry = by_cur.get(cur) if isinstance(by_cur, dict) else None
            if isinstance(entry, dict):
                entry = entry.get("document", entry.get("open_ar"))
            d = _money_diff(f"open AR in {cur}", entry, value)
            if d:
                extra.append(d)
                break
    by_entity = al.get("open_ar_by_entity")
    if by_entity is not None and len(truth.get("open_ar_by_company_code") or {}) > 1:
        for code, value in truth["open_ar_by_company_code"].items():
            entry = by_entity.get(str(code)) if isinstance(by_entity, dict) else None
            d = _money_diff(
                f"open AR of company code {code}",
                entry.get("open_ar") if isinstance(entry, dict) else None,
                value,
            )
            if d:
                extra.append(d)
                break
    return (core[0] if core else None), core[1:] + extra


def run_one(seed: int, out: Path, from_truth: bool, map_opt: list[str] | None) -> dict:
    vdir = out / str(seed)
    if vdir.exists():
        shutil.rmtree(vdir)
    t0 = time.time()
    v = generate(seed, vdir)
    res: dict = {"seed": seed, "classes": v.classes, "files": v.files}
    sources = vdir / "sources.yml"
    if from_truth or map_opt is None:
        shutil.copy(vdir / "truth_sources.yml", sources)
        res["mapping"] = "truth"
    else:
        p = _cli("map", *v.files, *map_opt, "sources.yml", cwd=vdir)
        res["mapping"] = "map"
        if p.returncode != 0 or not sources.exists():
            return res | _outcome("map", p)
    params = vdir / "params.yml"
    params.write_text(
        f"sources: {sources}\nrun_date: {v.export_date.isoformat()}\ntop_n: 1000\n",
        encoding="utf-8",
    )
    p = _cli("check", "--params", str(params), "--json", str(vdir / "check.json"), cwd=vdir)
    (vdir / "check.txt").write_text(p.stdout + p.stderr, encoding="utf-8")
    if p.returncode != 0:
        return res | _outcome("check", p)
    env_py = [PY, str(HERE / "notebook_steps.py"), str(sources), str(vdir / "work"), v.period]
    p = subprocess.run(
        [*env_py, v.export_date.isoformat()], capture_output=True, text=True, cwd=vdir, timeout=300
    )
    if p.returncode != 0:
        return res | {"status": "crash", "message": f"ingest/clean: {_last_line(p.stderr)}"}
    kpis_file = vdir / "kpis.json"
    p = _cli(
        "kpis",
        "--period",
        v.period,
        "--as-of",
        v.as_of.isoformat(),
        "--processed",
        str(vdir / "work" / "processed"),
        "--params",
        str(params),
        "--regions",
        "all",
        "--out",
        str(kpis_file),
        cwd=vdir,
    )
    if p.returncode != 0:
        return res | _outcome("kpis", p)
    kpis = json.loads(kpis_file.read_text(encoding="utf-8"))
    first, others = compare(v.truth, kpis, vdir / "work" / "processed")
    res["seconds"] = round(time.time() - t0, 1)
    res["other_differences"] = others
    res["quarantined"] = diagnose(vdir / "work" / "processed")
    if first:
        return res | {"status": "fail", "message": first}
    return res | {"status": "pass", "message": ""}


def _outcome(step: str, p: subprocess.CompletedProcess) -> dict:
    """A command that stopped: `check` naming the problem in its own words (its last line is
    ``arinsight check: error: ...``) or a crash (a traceback as the last word)."""
    text = (p.stderr or "") + (p.stdout or "")
    last = _last_line(p.stderr) or _last_line(p.stdout)
    out: dict = {}
    if "Traceback" in text:
        out["noise"] = "a traceback was printed"
    if not last.startswith(f"arinsight {step}: error"):
        return out | {"status": "crash", "message": f"{step}: {last}"}
    if step == "check":
        return out | {"status": "check_named", "message": last}
    return out | {"status": "fail", "message": f"{step} exited {p.returncode}: {last}"}


LABEL = {
    "pass": "pass",
    "fail": "FAIL",
    "check_named": "check named what to add:",
    "crash": "CRASH",
}


def summary(results: list[dict]) -> str:
    n = len(results)
    counts = {k: sum(r["status"] == k for r in results) for k in LABEL}
    lines = [
        f"{counts['pass']} of {n} variants pass (open AR, overdue AR and open invoices to the cent); "
        f"{counts['fail']} fail, {counts['check_named']} stopped by check naming what to add, "
        f"{counts['crash']} crash",
        "",
        "| quirk class | variants | pass | fail | check named | crash |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for cls in QUIRK_CLASSES:
        rs = [r for r in results if cls in r["classes"]]
        c = {k: sum(r["status"] == k for r in rs) for k in LABEL}
        lines.append(
            f"| {cls} | {len(rs)} | {c['pass']} | {c['fail']} | {c['check_named']} | {c['crash']} |"
        )
    msgs: dict[str, list[int]] = {}
    for r in results:
        if r["status"] != "pass":
            key = f"{r['status']}: {_generic(r['message'])}"
            if r["status"] == "fail":
                causes = sorted({" ".join(c.split()[:2]) for c in r.get("quarantined", [])})
                key = f"fail: {_generic(r['message']).split(':')[0]} differs; ledger rows quarantined: {', '.join(causes) or 'none'}"
            msgs.setdefault(key, []).append(r["seed"])
    if msgs:
        lines += ["", "| outcome (values generalised) | variants | seeds |", "| --- | --- | --- |"]
        for key, seeds in sorted(msgs.items(), key=lambda kv: -len(kv[1])):
            shown = ", ".join(map(str, seeds[:12])) + (" ..." if len(seeds) > 12 else "")
            lines.append(f"| {key.replace('|', '/')} | {len(seeds)} | {shown} |")
    return "\n".join(lines)


def _generic(message: str) -> str:
    """A message with its numbers and quoted values masked, to group variants by cause."""
    import re

    m = re.sub(r"'[^']*'", "'…'", message)
    m = re.sub(r'"[^"]*"', '"…"', m)
    m = re.sub(r"-?\d[\d.,]*", "#", m)
    return m[:200]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--base-seed", type=int, default=0)
    ap.add_argument("--seeds", help="comma-separated seeds instead of --n/--base-seed")
    ap.add_argument("--mapping-from-truth", action="store_true")
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args(argv)
    out = Path(a.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # kpis keeps compiled plans: under OUT_DIR, not in the user's ~/.cache (unless set)
    os.environ.setdefault("ARINSIGHT_CACHE_DIR", str(out / ".arinsight-cache"))
    seeds = [int(s) for s in a.seeds.split(",")] if a.seeds else variants(a.n, a.base_seed)
    map_opt = None if a.mapping_from_truth else map_command()
    if not a.mapping_from_truth and map_opt is None:
        print("`arinsight map` does not exist yet: using the generator's mapping (truth)")
    results: list[dict] = []
    with (out / "results.jsonl").open("w", encoding="utf-8") as log:

        def one(seed: int) -> dict:
            try:
                return run_one(seed, out, a.mapping_from_truth, map_opt)
            except Exception as e:  # a bug of the harness or a hang: reported, never hidden
                return {
                    "seed": seed,
                    "classes": [],
                    "status": "crash",
                    "message": f"harness: {e!r}",
                }

        with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            for r in pool.map(one, seeds):
                results.append(r)
                log.write(json.dumps(r, ensure_ascii=False) + "\n")
                log.flush()
                label = LABEL[r["status"]]
                extra = (
                    f" [also: {r['other_differences'][0]}]" if r.get("other_differences") else ""
                )
                if r.get("noise"):
                    extra += f" [{r['noise']}]"
                if r["status"] == "fail" and r.get("quarantined"):
                    extra += f" [quarantined: {'; '.join(r['quarantined'])}]"
                print(f"seed {r['seed']:>5}: {label} {r['message']}{extra}".rstrip(), flush=True)
    text = summary(results)
    (out / "summary.md").write_text(text + "\n", encoding="utf-8")
    print()
    print(text)
    return 0 if all(r["status"] == "pass" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
