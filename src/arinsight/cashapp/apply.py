"""``arinsight match``: a statement against the open invoices, the worklist, the payments file and
the ledger that keeps a statement line from being applied twice.

For a statement file the command

1. reads its lines (:mod:`arinsight.cashapp.statements`);
2. takes the invoices open at the statement date T (``--as-of``, default the last booking date
   of the statement) from ``data/processed`` with :func:`arinsight.receivables.invoice_positions`
   and lowers their open amounts by what the **ledger** says was applied in earlier runs and is
   not yet in the processed payments (so a payments file that has not been ingested yet still
   counts, and one that has is not counted twice);
3. skips every line whose id or content key is already in the ledger (``already_applied``),
   holds back lines booked after the run date (``held``), carries out the pending decisions of
   the decisions file (:mod:`arinsight.cashapp.decisions`), undoes the credits that reversals
   and returns reverse (``reversal`` / ``reversed``) and matches the others
   (:mod:`arinsight.cashapp.matching`);
4. appends the matched lines to the ledger and writes, into the output folder:

   * ``matching_worklist_<statement>.csv`` / ``.xlsx`` - one row per line: status, rule,
     confidence, customer, invoices and amounts applied, ranked candidates of suggestions, the
     reason of every line not applied (the Excel file also has the sheets ``candidates`` and
     ``allocations``); every text cell is safe against spreadsheet formula injection;
   * ``applied_payments.csv`` - every payment applied so far by any statement (from the ledger),
     with the canonical payments columns, ready to be ingested as a ``payments`` source.
   * ``deductions.csv`` - every short payment applied so far (from the ledger): what a line
     left open on an invoice it paid short, a *deduction* with a ``reason`` to assign (the
     reasons, resolutions and outcomes typed into the file are kept when it is written again),
     in the columns of the canonical ``disputes`` table; the Disputes page lists them.

The ledger (``cash_ledger.jsonl`` in the output folder, or ``cash_application.ledger``) has one
JSON line per applied, reversed, rejected or decided statement line: the line id and content
key, the statement file and its sha256, the rule and the payments written for it, and for a
reversal or a re-assignment the line it ``reverses`` (whose payments then leave
``applied_payments.csv``), for a decision who took it, when and why. It is only appended to. It
has no timestamps of its own, so the same statements and decisions give the same files.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight import config
from arinsight.cashapp.book import InvoiceBook
from arinsight.cashapp.decisions import apply_decisions, decision_text
from arinsight.cashapp.ledger import (
    APPLIED_COLUMNS,
    DEDUCTION_COLUMNS,
    append_ledger,
    deduction_id,
    known_accounts,
    ledger_deductions,
    ledger_gl_postings,
    ledger_payments,
    ledger_records,
    read_deductions,
    read_ledger,
)
from arinsight.cashapp.matching import match_lines
from arinsight.cashapp.result import LineResult
from arinsight.cashapp.reversals import find_reversals, flag_reversed
from arinsight.cashapp.settings import MatchSettings
from arinsight.cashapp.statements import read_statement
from arinsight.errors import ParamsError, UserError
from arinsight.files import command_lock, safe_slug, sha256_file, write_csv, write_excel

WORKLIST_COLUMNS = [
    "line_id",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "payer_name",
    "payer_account",
    "remittance",
    "reference",
    "status",
    "rule",
    "confidence",
    "customer_id",
    "customer_name",
    "invoice_ids",
    "applied_amount",
    "unapplied_amount",
    "fx_difference",
    "discount_amount",
    "gl_account",
    "candidates",
    "reason",
    "flagged_invoices",
    "reverses",
    "decision",
    "statement_id",
    "source_row",
]
#: Every status a worklist line can have (see docs/collections.md).
ALL_STATUSES = (
    "matched",
    "posted",
    "suggested",
    "unmatched",
    "skipped",
    "held",
    "reversal",
    "reversed",
    "rejected",
    "already_applied",
)
DEFAULT_OUT_DIR = "data/cash"
LEDGER_FILE = "cash_ledger.jsonl"
APPLIED_FILE = "applied_payments.csv"
DEDUCTIONS_FILE = "deductions.csv"
GL_POSTINGS_FILE = "gl_postings.csv"
DECISIONS_FILE = "decisions.csv"
METHOD = "Bank Transfer"
#: The method of the payment rows that settle the early-payment discount a customer took.
DISCOUNT_METHOD = "Early Payment Discount"


@dataclass
class MatchRun:
    """What one ``arinsight match`` did."""

    worklist: pd.DataFrame
    candidates: pd.DataFrame
    allocations: pd.DataFrame
    as_of: pd.Timestamp
    paths: dict[str, Path] = field(default_factory=dict)
    results: list[LineResult] = field(default_factory=list)  # one per line, in statement order
    #: the short payments of this run (:data:`DEDUCTION_COLUMNS`)
    deductions: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=DEDUCTION_COLUMNS)
    )

    @property
    def counts(self) -> dict[str, int]:
        """Lines per status (every status present, 0 when none)."""
        got = self.worklist["status"].value_counts()
        return {s: int(got.get(s, 0)) for s in ALL_STATUSES}

    @property
    def auto_match_rate(self) -> float | None:
        """Lines matched to invoices / credit lines looked at in this run (matched, posted,
        suggested, unmatched; skipped and already applied left out)."""
        c = self.counts
        n = c["matched"] + c["posted"] + c["suggested"] + c["unmatched"]
        return None if n == 0 else c["matched"] / n

    @property
    def auto_handled_rate(self) -> float | None:
        """Lines matched to invoices or posted (by a posting rule, or a duplicate payment on
        account) / the same credit lines."""
        c = self.counts
        n = c["matched"] + c["posted"] + c["suggested"] + c["unmatched"]
        return None if n == 0 else (c["matched"] + c["posted"]) / n


# --------------------------------------------------------------------------------------------
# ledger
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# the open invoices at the statement date
# --------------------------------------------------------------------------------------------


def invoice_book(
    tables: Mapping[str, pd.DataFrame],
    as_of: Any,
    applied: pd.DataFrame | None = None,
    reporting_currency: str = "USD",
    undone: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every invoice dated up to T = ``as_of`` with what is still open on it.

    ``open_amount`` = max(0, invoice_positions' open amount (net of write-offs and credit
    notes when ``tables`` has adjustments) - payments of ``applied`` (the ledger) to that
    invoice whose payment id is not in the processed payments). Adds the invoice's ``currency``
    (the reporting currency where it is empty), and what tells a second payment of a settled
    invoice (:class:`~arinsight.cashapp.book.InvoiceBook`): ``paid_cash`` = the payments to it
    less the early-payment discounts among them (method :data:`DISCOUNT_METHOD`), ``paid_on``
    = the date it was settled (the positions' ``paid_date``; for an invoice the ledger's
    payments settle, the last of their dates), ``paid_last`` = the cash paid to it that day
    (the payment that settled it), ``paid_by_line`` = a payment of the ledger (a statement line)
    to it is dated that day.
    """
    from arinsight.receivables import invoice_positions

    inv, pay = tables["invoices"], tables["payments"]
    T = pd.Timestamp(as_of)
    pos = invoice_positions(inv, pay, as_of, tables.get("adjustments"))
    ccy = inv.drop_duplicates("invoice_id").set_index("invoice_id")["currency"]
    pos["currency"] = (
        pos["invoice_id"].map(ccy).fillna(reporting_currency).replace("", reporting_currency)
    )
    pos["paid_cash"] = (pos["paid_to_date"] - _discounts(pay, T, pos["invoice_id"])).round(2)
    pos["paid_on"] = pd.to_datetime(pos["paid_date"])
    pos["paid_last"] = _cash_on(pay, pos)
    pos["paid_by_line"] = False
    known = set(pay["payment_id"].astype(str))
    if applied is not None and len(applied):
        new = applied.loc[
            ~applied["payment_id"].astype(str).isin(known) & applied["invoice_id"].notna()
        ]
        new = new.loc[pd.to_datetime(new["payment_date"]) <= T]
        extra = pos["invoice_id"].map(new.groupby("invoice_id")["amount"].sum()).fillna(0.0)
        was_open = pos["open_amount"] > 0
        pos["open_amount"] = (pos["open_amount"] - extra).clip(lower=0.0).round(2)
        cash = extra - _discounts(new, T, pos["invoice_id"])
        pos["paid_cash"] = (pos["paid_cash"] + cash).round(2)
        last = pd.to_datetime(new["payment_date"]).groupby(new["invoice_id"]).max()
        settled = was_open & (pos["open_amount"] <= 0) & pos["invoice_id"].isin(last.index)
        pos.loc[settled, "paid_on"] = pos.loc[settled, "invoice_id"].map(last)
        pos.loc[settled, "paid_last"] = _cash_on(new, pos)[settled]
        mine = applied.loc[applied["invoice_id"].notna()]
        dates = pd.to_datetime(mine["payment_date"]).dt.normalize()
        days = set(zip(mine["invoice_id"], dates, strict=True))
        pos["paid_by_line"] = [
            (i, d) in days for i, d in zip(pos["invoice_id"], pos["paid_on"], strict=True)
        ]
    if undone is not None and len(undone):
        # a reversed payment the processed data already has: the invoice is open again
        back = undone.loc[undone["payment_id"].astype(str).isin(known)]
        back = pos["invoice_id"].map(back.groupby("invoice_id")["amount"].sum()).fillna(0.0)
        pos["open_amount"] = (pos["open_amount"] + back).round(2)
        pos["paid_cash"] = (pos["paid_cash"] - back).round(2)
    return pos


def _cash_on(payments: pd.DataFrame, pos: pd.DataFrame) -> pd.Series:
    """Per invoice row of ``pos``, the cash among ``payments`` (early-payment discounts left
    out) dated on its ``paid_on`` day, 0 where none."""
    if not len(payments):
        return pd.Series(0.0, index=pos.index)
    cash = payments
    if "method" in payments:
        cash = payments.loc[payments["method"] != DISCOUNT_METHOD]
    day = pd.to_datetime(cash["payment_date"]).dt.normalize()
    sums = cash.groupby([cash["invoice_id"], day])["amount"].sum()
    keys = pd.MultiIndex.from_arrays([pos["invoice_id"], pd.to_datetime(pos["paid_on"])])
    return pd.Series(sums.reindex(keys).fillna(0.0).to_numpy(dtype=float), index=pos.index)


def _discounts(payments: pd.DataFrame, as_of: pd.Timestamp, invoices: pd.Series) -> pd.Series:
    """Per invoice of ``invoices``, the early-payment discounts among ``payments`` dated <= T
    (rows of method :data:`DISCOUNT_METHOD`), 0 where none."""
    if "method" not in payments or not len(payments):
        return pd.Series(0.0, index=invoices.index)
    dated = pd.to_datetime(payments["payment_date"]) <= as_of
    d = payments.loc[(payments["method"] == DISCOUNT_METHOD) & dated]
    return invoices.map(d.groupby("invoice_id")["amount"].sum()).fillna(0.0)


# --------------------------------------------------------------------------------------------
# results as tables
# --------------------------------------------------------------------------------------------


def _payment_id(line_id: str, k: int, n: int) -> str:
    digest = hashlib.sha1(line_id.encode("utf-8")).hexdigest()[:12].upper()
    return f"BNK-{digest}" + (f"-{k}" if n > 1 else "")


def _discount_split(parts: list[tuple[str, int]], discount: int) -> list[tuple[str, int, str]]:
    """(invoice, cents, method) payment rows: each settled invoice's cash (:data:`METHOD`) and,
    when the customer took an early-payment discount, its share of it (:data:`DISCOUNT_METHOD`,
    in proportion to the invoices' amounts, the last one taking the rounding)."""
    if not discount:
        return [(inv, cents, METHOD) for inv, cents in parts]
    total = sum(c for _, c in parts)
    rows, left = [], discount
    for k, (inv, cents) in enumerate(parts):
        share = left if k == len(parts) - 1 else round(discount * cents / total)
        left -= share
        rows.append((inv, cents - share, METHOD))
        rows.append((inv, share, DISCOUNT_METHOD))
    return rows


def _tables(
    lines: pd.DataFrame,
    results: list[LineResult | None],
    book: InvoiceBook,
    names: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(worklist, candidates, allocations, deductions) from the lines and the rules' results."""
    work, cands, allocs, short = [], [], [], []
    for (_, line), res in zip(lines.iterrows(), results, strict=True):
        if res is None:  # already applied in an earlier run
            res = LineResult("already_applied", reason="applied by an earlier run (ledger)")
        parts = [(book.ids[i], cents) for i, cents in res.allocations]
        line_id = res.record_id or line["line_id"]
        for i, cents in res.short:
            short.append(
                {
                    "dispute_id": deduction_id(line_id, book.ids[i]),
                    "invoice_id": book.ids[i],
                    "customer_id": res.customer_id,
                    "amount": round(cents / 100, 2),
                    "reason": "",
                    "opened_date": line["booking_date"],
                    "resolved_date": "",
                    "outcome": "",
                    "currency": res.currency,
                    "statement_line_id": line_id,
                }
            )
        rows = _discount_split(parts, res.discount)
        n = len(rows) + (1 if res.unapplied else 0)
        for k, (inv_id, cents, method) in enumerate(rows, start=1):
            allocs.append(
                {
                    "payment_id": _payment_id(line["line_id"], k, n),
                    "invoice_id": inv_id,
                    "customer_id": res.customer_id,
                    "payment_date": line["booking_date"],
                    "amount": round(cents / 100, 2),
                    "method": method,
                    "currency": res.currency,
                    "statement_line_id": res.record_id or line["line_id"],
                    "rule": res.rule,
                }
            )
        if res.unapplied:
            allocs.append(
                {
                    "payment_id": _payment_id(line["line_id"], n, n),
                    "invoice_id": None,
                    "customer_id": res.customer_id,
                    "payment_date": line["booking_date"],
                    "amount": round(res.unapplied / 100, 2),
                    "method": METHOD,
                    "currency": res.currency,
                    "statement_line_id": res.record_id or line["line_id"],
                    "rule": res.rule,
                }
            )
        for rank, c in enumerate(res.candidates, start=1):
            cands.append(
                {
                    "line_id": line["line_id"],
                    "rank": rank,
                    **c,
                    "customer_name": names.get(c["customer_id"], ""),
                }
            )
        cust = res.customer_id or (
            res.candidates[0]["customer_id"]
            if len({c["customer_id"] for c in res.candidates}) == 1 and res.candidates
            else None
        )
        work.append(
            {
                "line_id": line["line_id"],
                "booking_date": line["booking_date"],
                "value_date": line["value_date"],
                "amount": line["amount"],
                "currency": line["currency"],
                "payer_name": line["payer_name"],
                "payer_account": line["payer_account"],
                "remittance": line["remittance"],
                "reference": line["reference"],
                "status": res.status,
                "rule": res.rule,
                "confidence": res.confidence
                if res.status in ("matched", "posted")
                else (res.candidates[0]["confidence"] if res.candidates else None),
                "customer_id": cust,
                "customer_name": names.get(cust, "") if cust else "",
                "invoice_ids": "; ".join(p[0] for p in parts),
                "applied_amount": round(sum(c for _, c in parts) / 100, 2) if parts else None,
                "unapplied_amount": round(res.unapplied / 100, 2) if res.unapplied else None,
                "fx_difference": round(res.fx_difference / 100, 2) if res.fx_difference else None,
                "discount_amount": round(res.discount / 100, 2) if res.discount else None,
                "gl_account": res.gl_account,
                "candidates": "; ".join(
                    f"{c['invoice_ids']} ({c['customer_id']}, {c['confidence']:.2f})"
                    for c in res.candidates
                ),
                "reason": res.reason,
                "flagged_invoices": "; ".join(res.flagged),
                "reverses": res.reverses,
                "decision": decision_text(res.decision),
                "statement_id": line["statement_id"],
                "source_row": line["_source_row"],
            }
        )
    worklist = pd.DataFrame(work, columns=WORKLIST_COLUMNS)
    candidates = pd.DataFrame(
        cands,
        columns=[
            "line_id",
            "rank",
            "customer_id",
            "customer_name",
            "invoice_ids",
            "open_amount",
            "confidence",
            "why",
        ],
    )
    allocations = pd.DataFrame(allocs, columns=APPLIED_COLUMNS)
    return worklist, candidates, allocations, pd.DataFrame(short, columns=DEDUCTION_COLUMNS)


def match_statement(
    lines: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    settings: MatchSettings,
    as_of: Any = None,
    ledger: Sequence[Mapping[str, Any]] = (),
    run_date: Any = None,
    decisions: pd.DataFrame | None = None,
) -> MatchRun:
    """Match the lines of one statement against the invoices open at T (no files written).

    T = ``as_of``, else the last booking date of the lines (at most the run date, default
    today). Lines booked after T are ``held`` (looked at again by a later run). Lines whose id
    or content key (:func:`~arinsight.cashapp.lines.line_keys`) is in ``ledger`` are
    ``already_applied``. ``decisions`` (:func:`~arinsight.cashapp.decisions.read_decisions`) are
    applied first (:func:`apply_decisions`). Reversals and returns undo the credit they reverse
    (:func:`find_reversals`).
    Returns the worklist (one row per line, in statement order), the candidates of the
    suggestions and the allocations (the payments to write).
    """
    if lines.empty:
        raise UserError("the statement has no lines")
    if lines["booking_date"].isna().any():
        raise UserError("the statement has lines without a booking date")
    today = pd.Timestamp(run_date if run_date is not None else pd.Timestamp.today()).normalize()
    if as_of is not None:
        try:
            T = pd.Timestamp(as_of)
        except (TypeError, ValueError):
            T = pd.NaT
        if pd.isna(T):
            raise UserError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
        T = T.normalize()
    else:
        T = min(pd.Timestamp(lines["booking_date"].max()), today)
    applied = ledger_payments(ledger)
    undone = ledger_payments(ledger, include_reversed=True)
    book_frame = invoice_book(tables, T, applied, settings.reporting_currency, undone)
    book = InvoiceBook(book_frame, tables["customers"])
    done = {str(r["line_id"]) for r in ledger} | {str(r.get("line_key")) for r in ledger}
    seen = lines["line_id"].isin(done) | lines["line_key"].isin(done)
    held = ~seen & (lines["booking_date"] > T)
    results: list[LineResult | None] = [None] * len(lines)
    for pos in np.flatnonzero(held):
        day = pd.Timestamp(lines["booking_date"].iloc[pos])
        cut = "--as-of" if as_of is not None else "the run date"
        results[pos] = LineResult(
            "held", reason=f"booked {day:%Y-%m-%d}, after {cut} {T:%Y-%m-%d}: held back until then"
        )
    live = ~seen & ~held
    if decisions is not None and len(decisions):
        apply_decisions(lines, seen, live, decisions, ledger, book, settings, results)
    pairs = find_reversals(lines, live, ledger, results)
    pending = live & pd.Series([r is None for r in results], index=lines.index)
    todo = lines.loc[pending]
    if len(todo):
        found = match_lines(todo.reset_index(drop=True), book, settings, known_accounts(ledger))
        for pos, res in zip(np.flatnonzero(pending), found, strict=True):
            results[pos] = res
    flag_reversed(lines, results, pairs, ledger, book, settings)
    names = {c: str(n) for c, n in book.names.items()}
    worklist, candidates, allocations, deductions = _tables(lines, results, book, names)
    final = [r or LineResult("already_applied") for r in results]
    return MatchRun(worklist, candidates, allocations, T, results=final, deductions=deductions)


def run_match(
    statement: str | Path,
    *,
    params_files: Sequence[str | os.PathLike[str]] = (),
    as_of: Any = None,
    out_dir: str | Path | None = None,
    processed_dir: str | Path | None = None,
    decisions_file: str | Path | None = None,
) -> MatchRun:
    """``arinsight match``: read, match, append the ledger and write the files (module docstring)."""
    from arinsight.ledger import load_processed

    params = config.load_params(params_files)
    section = params.get("cash_application") or {}
    if not isinstance(section, Mapping):
        raise ParamsError("cash_application must be a mapping")
    settings = MatchSettings.from_params(params)
    path = Path(statement)
    lines = read_statement(path, section.get("csv") or {}, settings.reporting_currency)
    folder = config.resolve_path(out_dir or section.get("out_dir") or DEFAULT_OUT_DIR)
    ledger_path = (
        config.resolve_path(section.get("ledger"))
        if section.get("ledger")
        else folder / LEDGER_FILE
    )
    from arinsight.cashapp.decisions import read_decisions

    decisions = read_decisions(
        decisions_file
        or (config.resolve_path(section["decisions"]) if section.get("decisions") else None)
        or folder / DECISIONS_FILE
    )
    tables = load_processed(processed_dir)
    if tables["invoices"].empty:
        raise UserError(
            f"no processed invoices in {processed_dir or config.PROCESSED_DIR}: run "
            "`arinsight run` (or `arinsight check`) first"
        )
    # one match at a time per ledger: a second one waits, then finds the lines already applied
    with command_lock(ledger_path.with_name(f".{ledger_path.name}.lock"), "match"):
        return _match_and_write(
            lines, tables, settings, as_of, path, folder, ledger_path, decisions
        )


def _match_and_write(
    lines, tables, settings, as_of, path, folder, ledger_path, decisions=None
) -> MatchRun:
    """Read the ledger, match, append the ledger and write the files (under the ledger's lock)."""
    ledger = read_ledger(ledger_path)
    run = match_statement(lines, tables, settings, as_of, ledger, decisions=decisions)

    new = ledger_records(run, lines, path.name, sha256_file(path))
    append_ledger(ledger_path, new)
    stem = safe_slug(path.stem)  # a statement named from a bank's data: bounded, no separators
    folder.mkdir(parents=True, exist_ok=True)
    run.paths = {
        "worklist_csv": write_csv(run.worklist, folder / f"matching_worklist_{stem}.csv"),
        "worklist_xlsx": write_excel(folder / f"matching_worklist_{stem}.xlsx", _excel_sheets(run)),
        "payments": write_csv(
            _csv_dates(ledger_payments(read_ledger(ledger_path))), folder / APPLIED_FILE
        ),
        "deductions": write_csv(
            ledger_deductions(read_ledger(ledger_path), read_deductions(folder / DEDUCTIONS_FILE)),
            folder / DEDUCTIONS_FILE,
        ),
        "gl_postings": write_csv(
            ledger_gl_postings(read_ledger(ledger_path)), folder / GL_POSTINGS_FILE
        ),
        "ledger": ledger_path,
    }
    return run


def _excel_sheets(run: MatchRun) -> dict[str, pd.DataFrame]:
    """The worklist's Excel sheets: ``lines``, and ``candidates`` and ``allocations`` with the
    line's booking date, payer and account on every row (a filtered sheet still says who paid)."""
    payer = run.worklist[["line_id", "booking_date", "payer_name", "payer_account"]]

    def with_payer(frame: pd.DataFrame, key: str) -> pd.DataFrame:
        line = frame[key].astype(str).str.split("@").str[0]  # a re-assignment: <line id>@<dec>
        out = frame.assign(_line=line).merge(
            payer.rename(columns={"line_id": "_line"}), on="_line", how="left"
        )
        first = [key, "booking_date", "payer_name", "payer_account"]
        return out[first + [c for c in frame.columns if c not in first]]

    return {
        "lines": run.worklist,
        "candidates": with_payer(run.candidates, "line_id"),
        "allocations": with_payer(run.allocations, "statement_line_id"),
    }


def _csv_dates(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["payment_date"] = pd.to_datetime(out["payment_date"]).dt.strftime("%Y-%m-%d")
    return out


def summary_text(run: MatchRun) -> str:
    """The command's report: lines per status, the share matched automatically, the files."""
    c = run.counts
    rate = run.auto_match_rate
    lines = [
        f"statement matched as of {run.as_of:%Y-%m-%d}: {len(run.worklist)} line(s): "
        + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in c.items() if n),
        "auto-matched: "
        + ("n/a (no credit line to match)" if rate is None else f"{rate:.1%} of the credit lines")
        + (
            ""
            if rate is None or not c["posted"]
            else f"; auto-handled (matched, or posted: a posting rule, a duplicate payment on "
            f"account): {run.auto_handled_rate:.1%}"
        ),
    ]
    if len(run.allocations):
        lines.append(
            f"applied {run.allocations['amount'].sum():,.2f} in {len(run.allocations)} payment(s)"
        )
    lines += [f"{k}: {v}" for k, v in run.paths.items()]
    return "\n".join(lines)
