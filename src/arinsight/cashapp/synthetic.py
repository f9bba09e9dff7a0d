"""Bank statements with a known truth, made from a ledger (tests and the benchmark).

:func:`statement_scenario` takes a clean ledger (for instance :func:`arinsight.sample.generate`)
and a window of days, turns the payments dated in that window into bank statement lines and
takes them out of the ledger, so the ledger is what a company knows *before* it applies that
bank statement. Every line keeps the truth: which invoices it pays and how much.

What the lines look like (shares of the lines, drawn with one seeded generator):

* the remittance text carries the invoice number as written (``INV-0000042``) or mangled: lower
  case, spaces inside (``INV-000 0042``), no prefix (``0000042``), no leading zeros
  (``Inv 42``), or a structured creditor reference (camt ``Strd/CdtrRefInf/Ref``);
* no reference at all, only the payer's name (also in variants: upper case, without the legal
  form, without spaces, with a typo) - the amount and the name must decide;
* one payment for several invoices of one customer (2-4 payments of one customer in the window
  merged into one line), with all, some or none of the numbers written;
* partial payments (the ledger's split and partial payments; these name their invoice more
  often, :data:`STYLES_PARTIAL`), overpayments;
* foreign payers: the line is booked on a EUR account (amount converted at a rate that differs
  from the dataset's by up to 0.5 %), the payer's name in a foreign form (``GESELLSCHAFT MBH``);
* lines that match nothing: interest, a tax refund, a payer nobody knows; the ledger's unapplied
  cash (money without an invoice) is kept as such a line too; debit lines (bank fees) are skipped.

:func:`write_camt053` and :func:`write_csv` write the lines as a camt.053.001.02 statement (one
``Stmt`` per account, some entries batched with several ``TxDtls``) or a bank CSV export
(:data:`CSV_MAPPING` maps it); :func:`score` compares a :class:`~arinsight.cashapp.apply.MatchRun`
with the truth.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: The mapping of the CSV that :func:`write_csv` writes (``cash_application.csv`` in params).
CSV_MAPPING: dict[str, Any] = {
    "delimiter": ";",
    "decimal": ",",
    "thousands": ".",
    "date_format": "%d.%m.%Y",
    "columns": {
        "line_id": "Bank reference",
        "booking_date": "Booking date",
        "value_date": "Value date",
        "amount": "Amount",
        "currency": "Currency",
        "payer_name": "Counterparty",
        "payer_account": "Counterparty account",
        "remittance": "Purpose",
    },
}
ACCOUNTS = {"USD": "US64SVBKUS6S3300958879", "EUR": "DE89370400440532013000"}
NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
#: Shares of the scenarios of a line that pays one invoice (they add up to 1).
STYLES = {
    "reference": 0.30,
    "mangled": 0.30,
    "structured": 0.08,
    "name_only": 0.22,
    "weak": 0.10,
}
#: The same for a line that pays only part of its invoice: a payer who pays part of an invoice
#: nearly always names it (a bare amount would be unexplainable to the payee).
STYLES_PARTIAL = {
    "reference": 0.40,
    "mangled": 0.35,
    "structured": 0.10,
    "name_only": 0.05,
    "weak": 0.10,
}
FOREIGN_SHARE = 0.05
MERGE_SHARE = 0.12
NOISE_SHARE = 0.03


@dataclass
class Scenario:
    """A ledger without the window's payments, and the statement lines that carry them."""

    tables: dict[str, pd.DataFrame]
    lines: (
        pd.DataFrame
    )  # the statement lines + truth columns (truth_invoices, truth_amounts, style)
    start: pd.Timestamp
    end: pd.Timestamp


def _mangle(rng: np.random.Generator, invoice_id: str) -> str:
    prefix = "".join(ch for ch in invoice_id if ch.isalpha())
    digits = "".join(ch for ch in invoice_id if ch.isdigit())
    core = digits.lstrip("0") or "0"
    k = int(rng.integers(0, 6))
    if k == 0:
        return invoice_id.lower()
    if k == 1:
        cut = int(rng.integers(1, len(digits)))
        return f"{prefix}-{digits[:cut]} {digits[cut:]}"
    if k == 2:
        return digits
    if k == 3:
        return f"{prefix.capitalize()} {core}"
    if k == 4:
        return f"{prefix}{digits}"
    return f"{prefix.lower()} no. {core}"


def _name_variant(rng: np.random.Generator, name: str, foreign: bool = False) -> str:
    words = str(name).split()
    if foreign and len(words) > 1:
        legal = {
            "GmbH": "GESELLSCHAFT MBH",
            "Inc": "INCORPORATED",
            "Ltd": "LIMITED",
            "Co": "COMPANY",
        }
        return " ".join(words[:-1]).upper() + " " + legal.get(words[-1], words[-1].upper())
    k = int(rng.integers(0, 6))
    if k == 0:
        return str(name).upper()
    if k == 1 and len(words) > 1:
        return " ".join(words[:-1])
    if k == 2 and len(words) > 2:
        return "".join(words[:-1]) + " " + words[-1]
    if k == 3 and len(words[0]) > 3:  # a typo: two letters swapped
        w = words[0]
        return " ".join([w[0] + w[2] + w[1] + w[3:], *words[1:]])
    if k == 4:
        return f"{name} Accounts Payable"
    return str(name)


def _iban(customer_id: str) -> str:
    digits = "".join(ch for ch in customer_id if ch.isdigit()).zfill(10)
    return f"GB{int(digits) % 97:02d}ARIN{digits}"


def statement_scenario(
    tables: dict[str, pd.DataFrame],
    start: str,
    end: str,
    seed: int = 7,
    fx_rate: float = 1.08,
) -> Scenario:
    """Statement lines for the payments of ``tables`` dated ``start``..``end`` (module docstring).

    ``fx_rate`` is the dataset's EUR rate (1 EUR = rate x the invoices' currency); foreign lines
    are converted at it x (1 +- up to 0.5 %). Returns the ledger without those payments and the
    lines with their truth: ``truth_invoices`` ("; "-separated, empty when the line pays no
    invoice), ``truth_amounts`` and ``style``.
    """
    rng = np.random.default_rng(seed)
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    if t1 < t0:
        raise ValueError(f"end {end!r} is before start {start!r}")
    pay = tables["payments"]
    in_window = (pay["payment_date"] >= t0) & (pay["payment_date"] <= t1)
    window = pay.loc[in_window].sort_values(["payment_date", "payment_id"], kind="mergesort")
    if window.empty:
        raise ValueError(f"no payments dated {start}..{end}")
    invoice_amount = tables["invoices"].set_index("invoice_id")["amount"].to_dict()
    names = (
        tables["customers"].drop_duplicates("customer_id").set_index("customer_id")["customer_name"]
    )

    # group payments into lines: most alone, some customers' payments merged into one line
    groups: list[list[int]] = []
    applied = window.loc[window["invoice_id"].notna()]
    by_cust = applied.groupby("customer_id", sort=True).groups
    merged: set[int] = set()
    for cust in sorted(by_cust):
        idx = [i for i in by_cust[cust] if i not in merged]
        if len(idx) >= 2 and rng.random() < MERGE_SHARE * 3:
            k = int(min(len(idx), rng.integers(2, 5)))
            pick = list(rng.choice(idx, size=k, replace=False))
            if len(set(applied.loc[pick, "invoice_id"])) == k:
                groups.append(sorted(pick))
                merged.update(pick)
    groups += [[i] for i in window.index if i not in merged]

    rows = []
    for g in groups:
        part = window.loc[g]
        cust = str(part["customer_id"].iloc[0])
        name = str(names.get(cust, cust))
        inv = part["invoice_id"].dropna().astype(str).tolist()
        amount = round(float(part["amount"].sum()), 2)
        day = part["payment_date"].max()
        foreign = bool(inv) and rng.random() < FOREIGN_SHARE
        if not inv:  # unapplied cash: the customer pays without an invoice
            style, text = "unapplied", str(rng.choice(["advance payment", "on account", "deposit"]))
        elif len(inv) > 1:
            k = int(rng.integers(0, 3))
            style = ["multi_all", "multi_name", "multi_all"][k]
            text = (
                ", ".join(_mangle(rng, i) if rng.random() < 0.5 else i for i in inv)
                if k != 1
                else ""
            )
        else:
            full = invoice_amount.get(inv[0], 0.0) - amount < 0.005
            shares = STYLES if full else STYLES_PARTIAL
            style = str(rng.choice(list(shares), p=list(shares.values())))
            digits = "".join(ch for ch in inv[0] if ch.isdigit()).lstrip("0")
            text = {
                "reference": f"Invoice {inv[0]}",
                "mangled": f"payment {_mangle(rng, inv[0])}",
                "structured": "",
                "name_only": "",
                "weak": f"Rg. {digits}",
            }[style]
        payer = _name_variant(rng, name, foreign)
        ccy, line_amount, instructed = "USD", amount, None
        if foreign:
            rate = fx_rate * (1 + rng.uniform(-0.005, 0.005))
            ccy, line_amount, instructed = "EUR", round(amount / rate, 2), None
            style = f"foreign_{style}"
        rows.append(
            {
                "booking_date": day,
                "value_date": day,
                "amount": line_amount,
                "currency": ccy,
                "payer_name": payer,
                "payer_account": _iban(cust),
                "remittance": text,
                "reference": inv[0] if style.endswith("structured") else "",
                "instructed_amount": instructed,
                "truth_customer": cust,
                "truth_invoices": "; ".join(inv),
                "truth_amounts": "; ".join(
                    f"{a:.2f}" for a in part.loc[part["invoice_id"].notna(), "amount"]
                ),
                "style": style,
            }
        )
    noise = max(1, int(round(len(rows) * NOISE_SHARE)))
    days = pd.date_range(t0, t1, freq="D")
    for k in range(noise):
        kind = k % 3
        rows.append(
            {
                "booking_date": days[int(rng.integers(0, len(days)))],
                "value_date": None,
                "amount": round(float(rng.uniform(5, 5000)), 2),
                "currency": "USD",
                "payer_name": ["", "State Tax Office", "Unknown Trading Partners"][kind],
                "payer_account": "" if kind == 0 else f"FR76{k:020d}",
                "remittance": ["Interest Q3", "Tax refund 2025", "Transfer"][kind],
                "reference": "",
                "instructed_amount": None,
                "truth_customer": "",
                "truth_invoices": "",
                "truth_amounts": "",
                "style": "noise",
            }
        )
    lines = pd.DataFrame(rows)
    lines["value_date"] = lines["value_date"].fillna(lines["booking_date"])
    lines = lines.sort_values(
        ["booking_date", "truth_invoices", "amount"], kind="mergesort"
    ).reset_index(drop=True)
    refs = [f"{t0:%y%m%d}{i + 1:06d}" for i in range(len(lines))]
    lines.insert(
        0, "line_id", [f"{ACCOUNTS[c]}:{r}" for c, r in zip(lines["currency"], refs, strict=True)]
    )
    lines["bank_ref"] = refs
    rest = dict(tables)
    rest["payments"] = pay.loc[~in_window].reset_index(drop=True)
    return Scenario(rest, lines, t0, t1)


def monthly_scenarios(
    tables: dict[str, pd.DataFrame], months: list[str], seed: int = 7, fx_rate: float = 1.08
) -> tuple[dict[str, pd.DataFrame], list[Scenario]]:
    """One statement per month (``YYYY-MM``, in order) and the ledger without any payment dated
    from the first month on: the company applies the months' statements one after the other."""
    if not months:
        raise ValueError("months: at least one YYYY-MM is needed")
    scenarios = []
    for k, month in enumerate(months):
        start = pd.Period(month, freq="M").start_time
        end = pd.Period(month, freq="M").end_time.normalize()
        scenarios.append(
            statement_scenario(tables, str(start.date()), str(end.date()), seed + k, fx_rate)
        )
    first = pd.Period(months[0], freq="M").start_time
    rest = dict(tables)
    rest["payments"] = tables["payments"].loc[tables["payments"]["payment_date"] < first]
    rest["payments"] = rest["payments"].reset_index(drop=True)
    return rest, scenarios


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attrib)
    if text is not None:
        el.text = text
    return el


def write_camt053(lines: pd.DataFrame, path: str | Path, statement_id: str = "STMT") -> Path:
    """Write ``lines`` as a camt.053.001.02 statement: one ``Stmt`` per currency's account,
    one ``Ntry`` per line (every fifth pair of same-day lines of one account as a batch entry with
    two ``TxDtls``), and one debit entry (a bank fee) per account."""
    ET.register_namespace("", NAMESPACE)
    doc = ET.Element(f"{{{NAMESPACE}}}Document")
    root = _sub(doc, "BkToCstmrStmt")
    hdr = _sub(root, "GrpHdr")
    _sub(hdr, "MsgId", f"{statement_id}-MSG")
    end = pd.Timestamp(lines["booking_date"].max())
    _sub(hdr, "CreDtTm", f"{end:%Y-%m-%d}T18:00:00")
    for ccy in sorted(lines["currency"].unique()):
        part = lines.loc[lines["currency"] == ccy]
        stmt = _sub(root, "Stmt")
        _sub(stmt, "Id", f"{statement_id}-{ccy}")
        _sub(stmt, "CreDtTm", f"{end:%Y-%m-%d}T18:00:00")
        span = _sub(stmt, "FrToDt")
        _sub(span, "FrDtTm", f"{pd.Timestamp(part['booking_date'].min()):%Y-%m-%d}T00:00:00")
        _sub(span, "ToDtTm", f"{end:%Y-%m-%d}T23:59:59")
        acct = _sub(stmt, "Acct")
        _sub(_sub(acct, "Id"), "IBAN", ACCOUNTS.get(ccy, f"XX00{ccy}"))
        _sub(acct, "Ccy", ccy)
        records = part.to_dict(orient="records")
        i = 0
        n_entry = 0
        while i < len(records):
            batch = [records[i]]
            if (
                n_entry % 5 == 4
                and i + 1 < len(records)
                and records[i + 1]["booking_date"] == records[i]["booking_date"]
            ):
                batch.append(records[i + 1])
            n_entry += 1
            _entry(stmt, batch, ccy)
            i += len(batch)
        fee = _sub(stmt, "Ntry")
        _sub(fee, "NtryRef", f"{statement_id}-{ccy}-FEE")
        _sub(fee, "Amt", "12.50", Ccy=ccy)
        _sub(fee, "CdtDbtInd", "DBIT")
        _sub(fee, "Sts", "BOOK")
        _sub(_sub(fee, "BookgDt"), "Dt", f"{end:%Y-%m-%d}")
        _sub(_sub(fee, "ValDt"), "Dt", f"{end:%Y-%m-%d}")
        _sub(fee, "AcctSvcrRef", f"{statement_id}-{ccy}-FEE")
        _sub(fee, "AddtlNtryInf", "Account maintenance fee")
    ET.indent(doc)
    path = Path(path)
    path.write_bytes(ET.tostring(doc, encoding="UTF-8", xml_declaration=True))
    return path


def _entry(stmt: ET.Element, batch: list[dict], ccy: str) -> None:
    total = sum(r["amount"] for r in batch)
    first = batch[0]
    ntry = _sub(stmt, "Ntry")
    _sub(ntry, "NtryRef", first["bank_ref"] + ("B" if len(batch) > 1 else ""))
    _sub(ntry, "Amt", f"{total:.2f}", Ccy=ccy)
    _sub(ntry, "CdtDbtInd", "CRDT")
    _sub(ntry, "Sts", "BOOK")
    _sub(_sub(ntry, "BookgDt"), "Dt", f"{pd.Timestamp(first['booking_date']):%Y-%m-%d}")
    _sub(_sub(ntry, "ValDt"), "Dt", f"{pd.Timestamp(first['value_date']):%Y-%m-%d}")
    if len(batch) == 1:
        _sub(ntry, "AcctSvcrRef", first["bank_ref"])
    code = _sub(ntry, "BkTxCd")
    domain = _sub(code, "Domn")
    _sub(domain, "Cd", "PMNT")
    fam = _sub(domain, "Fmly")
    _sub(fam, "Cd", "RCDT")
    _sub(fam, "SubFmlyCd", "ESCT")
    details = _sub(ntry, "NtryDtls")
    if len(batch) > 1:
        btch = _sub(details, "Btch")
        _sub(btch, "NbOfTxs", str(len(batch)))
    for r in batch:
        tx = _sub(details, "TxDtls")
        refs = _sub(tx, "Refs")
        _sub(refs, "AcctSvcrRef", r["bank_ref"])
        _sub(refs, "EndToEndId", "NOTPROVIDED")
        _sub(tx, "Amt", f"{r['amount']:.2f}", Ccy=ccy)
        _sub(tx, "CdtDbtInd", "CRDT")
        parties = _sub(tx, "RltdPties")
        if r["payer_name"]:
            _sub(_sub(parties, "Dbtr"), "Nm", r["payer_name"])
        if r["payer_account"]:
            _sub(_sub(_sub(parties, "DbtrAcct"), "Id"), "IBAN", r["payer_account"])
        rmt = _sub(tx, "RmtInf")
        if r["remittance"]:
            _sub(rmt, "Ustrd", r["remittance"])
        if r["reference"]:
            strd = _sub(rmt, "Strd")
            ref = _sub(strd, "CdtrRefInf")
            _sub(_sub(_sub(ref, "Tp"), "CdOrPrtry"), "Cd", "SCOR")
            _sub(ref, "Ref", r["reference"])


def write_csv(lines: pd.DataFrame, path: str | Path) -> Path:
    """Write ``lines`` as a bank CSV export (``;``, decimal comma, dd.mm.yyyy; read it with
    :data:`CSV_MAPPING`), plus one debit line (a bank fee) with a negative amount."""
    cols = CSV_MAPPING["columns"]
    out = pd.DataFrame(
        {
            cols["line_id"]: lines["bank_ref"],
            cols["booking_date"]: pd.to_datetime(lines["booking_date"]).dt.strftime("%d.%m.%Y"),
            cols["value_date"]: pd.to_datetime(lines["value_date"]).dt.strftime("%d.%m.%Y"),
            cols["amount"]: lines["amount"].map(_de_amount),
            cols["currency"]: lines["currency"],
            cols["payer_name"]: lines["payer_name"],
            cols["payer_account"]: lines["payer_account"],
            cols["remittance"]: (lines["remittance"] + " " + lines["reference"]).str.strip(),
        }
    )
    end = pd.Timestamp(lines["booking_date"].max())
    fee = {c: "" for c in out.columns}
    fee.update(
        {
            cols["line_id"]: "FEE-1",
            cols["booking_date"]: f"{end:%d.%m.%Y}",
            cols["value_date"]: f"{end:%d.%m.%Y}",
            cols["amount"]: _de_amount(-12.5),
            cols["currency"]: "USD",
            cols["remittance"]: "Account maintenance fee",
        }
    )
    out = pd.concat([out, pd.DataFrame([fee])], ignore_index=True)
    path = Path(path)
    out.to_csv(path, sep=";", index=False, lineterminator="\n", encoding="utf-8")
    return path


def _de_amount(value: float) -> str:
    text = f"{abs(value):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return ("-" if value < 0 else "") + text


# --------------------------------------------------------------------------------------------
# scoring against the truth
# --------------------------------------------------------------------------------------------


def score(worklist: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """Precision and recall of ``matched``, the same of ``posted`` (a posting rule), and the
    shares of lines matched and handled automatically.

    A matched line is *correct* when the invoices it was applied to are exactly the invoices the
    line pays (``truth_invoices``). precision = correct / matched; recall = correct / lines that
    pay at least one invoice; auto_matched = matched / credit lines. A posted line is correct
    when it pays no invoice and, posted on account (no ``gl_account``), the customer is the
    truth's (``truth_customer``), posted to an account, it is no customer's money (empty
    ``truth_customer``). auto_handled = (matched + posted) / credit lines; its precision =
    (correct matches + correct postings) / (matched + posted). Also counts per status and per
    style (the scenario of the line).
    """
    cols = ["line_id", "status", "rule", "invoice_ids", "customer_id", "gl_account"]
    merged = truth.merge(worklist[[c for c in cols if c in worklist]], on="line_id", how="left")
    merged = merged.loc[merged["status"].isin(["matched", "posted", "suggested", "unmatched"])]

    def ids(text: Any) -> frozenset[str]:
        return frozenset(t.strip() for t in str(text or "").split(";") if t.strip())

    matched = merged["status"] == "matched"
    correct = matched & np.array(
        [
            ids(a) == ids(b)
            for a, b in zip(merged["invoice_ids"], merged["truth_invoices"], strict=True)
        ]
    )
    posted = merged["status"] == "posted"
    no_invoice = merged["truth_invoices"].fillna("") == ""
    gl = merged.get("gl_account", pd.Series("", index=merged.index)).fillna("") != ""
    whose = merged["truth_customer"].fillna("").astype(str)
    right_customer = np.where(
        gl, whose == "", merged.get("customer_id", whose).fillna("").astype(str) == whose
    )
    posted_ok = posted & no_invoice & right_customer
    payable = ~no_invoice
    n = len(merged)
    per_style = (
        merged.assign(matched=matched, correct=correct, posted=posted)
        .groupby("style")
        .agg(
            lines=("line_id", "size"),
            matched=("matched", "sum"),
            correct=("correct", "sum"),
            posted=("posted", "sum"),
        )
    )
    handled = int(matched.sum() + posted.sum())
    return {
        "lines": int(n),
        "matched": int(matched.sum()),
        "correct": int(correct.sum()),
        "payable": int(payable.sum()),
        "posted": int(posted.sum()),
        "posted_correct": int(posted_ok.sum()),
        "precision": float(correct.sum() / matched.sum()) if matched.any() else None,
        "recall": float(correct.sum() / payable.sum()) if payable.any() else None,
        "auto_matched": float(matched.sum() / n) if n else None,
        "auto_handled": float(handled / n) if n else None,
        "handled_precision": float((correct.sum() + posted_ok.sum()) / handled)
        if handled
        else None,
        "status": merged["status"].value_counts().to_dict(),
        "per_style": per_style.astype(int).to_dict(orient="index"),
        "wrong": merged.loc[
            matched & ~correct, ["line_id", "style", "rule", "invoice_ids", "truth_invoices"]
        ],
        "wrong_posted": merged.loc[
            posted & ~posted_ok,
            ["line_id", "style", "rule", "customer_id", "truth_customer", "truth_invoices"],
        ],
    }
