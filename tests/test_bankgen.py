"""The independent bank-statement generator of tests/bankgen (issue 25): fast checks only.

Scoring `arinsight match` on its statements is `tests/bankgen/score.py` (minutes, not a test).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from bankgen.generate import NS, Invoice, Ledger, generate, load_ledger, rf_reference

D = dt.date(2026, 10, 29)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bank_sample")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "arinsight",
            "sample",
            "--invoices",
            "500",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def sample_ledger(sample_dir):
    return load_ledger(sample_dir, D)


def _files(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(sample_ledger, tmp_path):
    a = generate(7, tmp_path / "a", D, sample_ledger, n_credit=40)
    b = generate(7, tmp_path / "b", D, sample_ledger, n_credit=40)
    c = generate(8, tmp_path / "c", D, sample_ledger, n_credit=40)
    assert _files(a.out_dir) == _files(b.out_dir)
    assert _files(a.out_dir)["day1.xml"] != _files(c.out_dir)["day1.xml"]


def test_camt_is_well_formed_camt_053_001_08(sample_ledger, tmp_path):
    st = generate(5, tmp_path, D, sample_ledger, n_credit=40)
    for f in [f for f in st.files if f["camt"]]:
        root = ET.parse(tmp_path / f["camt"]).getroot()
        assert root.tag == f"{{{NS}}}Document"
        assert NS == "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
        n = {"c": NS}
        stmt = root.find("c:BkToCstmrStmt/c:Stmt", n)
        assert root.find("c:BkToCstmrStmt/c:GrpHdr/c:MsgId", n) is not None
        assert stmt.find("c:Acct/c:Id/c:IBAN", n).text.startswith("DE")
        assert [b.find("c:Tp/c:CdOrPrtry/c:Cd", n).text for b in stmt.findall("c:Bal", n)] == [
            "OPBD",
            "CLBD",
        ]
        for e in stmt.findall("c:Ntry", n):
            assert e.find("c:Amt", n).get("Ccy") == "USD"
            assert e.find("c:CdtDbtInd", n).text in {"CRDT", "DBIT"}
            assert e.find("c:Sts/c:Cd", n).text == "BOOK"
            assert e.find("c:BookgDt/c:Dt", n) is not None and e.find("c:ValDt/c:Dt", n) is not None
            for tx in e.findall("c:NtryDtls/c:TxDtls", n):
                assert tx.find("c:Refs/c:AcctSvcrRef", n) is not None
                assert tx.find("c:Refs/c:EndToEndId", n) is not None
        # a transaction per truth line of the file
        refs = {t.text for t in stmt.iterfind(".//c:TxDtls/c:Refs/c:AcctSvcrRef", n)}
        day = "day1" if f["name"].startswith("day1") else "day2"
        assert refs == {ln.acct_svcr_ref for ln in st.lines if ln.file == day}
    # the re-sent copy is marked as such and carries the same lines
    assert b"<CpyDplctInd>DUPL</CpyDplctInd>" in (tmp_path / "day1_resent.xml").read_bytes()
    assert (tmp_path / "day1.csv").read_bytes() == (tmp_path / "day1_resent.csv").read_bytes()
    assert (tmp_path / "day1.csv").read_bytes() == (tmp_path / "day1 (1).csv").read_bytes()
    # re-saved by a spreadsheet: other text, the same amounts and dates
    rows = [r.split(";") for r in (tmp_path / "day1.csv").read_text().splitlines()[1:]]
    again = [r.split(";") for r in (tmp_path / "day1_resaved.csv").read_text().splitlines()[1:]]
    assert rows != again and len(rows) == len(again)
    for a, b in zip(rows, again, strict=True):
        assert Decimal(a[9].replace(".", "").replace(",", ".")) == Decimal(b[9].replace(",", "."))
        assert dt.datetime.strptime(a[0], "%d.%m.%Y") == dt.datetime.strptime(b[0], "%d.%m.%Y")
        assert a[14] == b[14]  # the bank reference


def test_every_truth_line_pays_real_open_invoices(sample_dir, sample_ledger, tmp_path):
    st = generate(11, tmp_path, D, sample_dir, n_credit=60)  # the files read as a user would
    ledger = sample_ledger
    open_ = {i.invoice_id: i for i in ledger.open_invoices}
    truth = json.loads(st.truth_path.read_text())
    by_no = {ln["line_no"]: ln for ln in truth["lines"]}
    paid: dict[str, Decimal] = {}
    kinds = {ln["kind"] for ln in truth["lines"]}
    for ln in truth["lines"]:
        if ln["cdt_dbt"] == "DBIT":
            assert not ln["pays"]
        for p in ln["pays"]:
            inv = open_[p["invoice_id"]]  # a real invoice, open at the statement date
            assert inv.customer_id == p["customer_id"]
            assert inv.invoice_date <= dt.date.fromisoformat(ln["booking_date"])
            paid[inv.invoice_id] = paid.get(inv.invoice_id, Decimal(0)) + Decimal(p["amount"])
        if ln["pays"] and ln["cdt_dbt"] == "CRDT" and ln["kind"] != "foreign_fx":
            assert sum(Decimal(p["amount"]) for p in ln["pays"]) == Decimal(ln["amount"]) or ln[
                "kind"
            ] in {"card_acquirer_payout", "foreign_usd_lifting_fee"}
        if ln["reverses"]:
            assert by_no[ln["reverses"]]["cdt_dbt"] == "CRDT"
            assert by_no[ln["reverses"]]["line_no"] < ln["line_no"]
        if not ln["pays"]:
            assert ln["no_invoice_reason"] or ln["reverses"]
    for inv_id, amt in paid.items():  # no invoice is paid more than it has open
        assert amt <= open_[inv_id].open_amount
    assert {
        "ref_exact",
        "direct_debit",
        "customer_paid_twice",
        "interest",
        "return_of_direct_debit",
    } <= kinds


def test_tiny_statement_truth_by_hand(tmp_path):
    """A ledger of two customers and three invoices, all issued on the statement date:

    - C_1 Pioneer Grid LLC: INV-0000101, 1,000.00 open;
    - C_2 Iron Systems Inc: INV-0000102 (250.50) and INV-0000103 (749.50).

    Kinds in order: one payment for several invoices (only C_2 has two open, so both: line 1,
    1,000.00 = 250.50 + 749.50, text naming 0000102 and 0000103), an exact reference (only
    INV-0000101 is left: line 2, 1,000.00, text with INV-0000101), the bank's account fee
    (line 3, a debit paying no invoice) and, on the next business day (Friday 2026-10-30), the
    return of the first credit (line 4, RvslInd true, reason AC03, reverses line 1). Lines 1 and
    2 carry the same amount: only the reference tells them apart.
    """
    ledger = Ledger(
        [
            Invoice("INV-0000101", "C_1", D, D, Decimal("1000.00"), Decimal("1000.00")),
            Invoice("INV-0000102", "C_2", D, D, Decimal("250.50"), Decimal("250.50")),
            Invoice("INV-0000103", "C_2", D, D, Decimal("749.50"), Decimal("749.50")),
        ],
        {"C_1": "Pioneer Grid LLC", "C_2": "Iron Systems Inc"},
        {"INV-0000101", "INV-0000102", "INV-0000103"},
    )
    st = generate(
        3, tmp_path, D, ledger, kinds=["multi", "ref_exact", "account_fee", "return_day2"]
    )
    t = json.loads(st.truth_path.read_text())["lines"]
    assert [(ln["line_no"], ln["file"], ln["cdt_dbt"], ln["amount"]) for ln in t] == [
        (1, "day1", "CRDT", "1000.00"),
        (2, "day1", "CRDT", "1000.00"),
        (3, "day1", "DBIT", t[2]["amount"]),
        (4, "day2", "DBIT", "1000.00"),
    ]
    assert [(p["invoice_id"], p["amount"]) for p in t[0]["pays"]] == [
        ("INV-0000102", "250.50"),
        ("INV-0000103", "749.50"),
    ]
    assert "0000102" in t[0]["ustrd"][0] and "0000103" in t[0]["ustrd"][0]
    assert t[0]["settles"] and t[0]["kind"] == "multi_ref"
    assert [(p["invoice_id"], p["amount"]) for p in t[1]["pays"]] == [("INV-0000101", "1000.00")]
    assert "INV-0000101" in t[1]["ustrd"][0]
    assert t[2]["pays"] == [] and t[2]["kind"] == "account_fee"
    assert t[3]["reverses"] == 1 and t[3]["reversal"] and t[3]["return_reason"] == "AC03"
    assert t[3]["booking_date"] == "2026-10-30" and t[3]["pays"] == []
    assert all(ln["booking_date"] == "2026-10-29" for ln in t[:3])
    day2 = (tmp_path / "day2.xml").read_text()
    assert "<RvslInd>true</RvslInd>" in day2 and "<Cd>AC03</Cd>" in day2
    csv_rows = (tmp_path / "day1.csv").read_text().splitlines()
    assert csv_rows[1].split(";")[9] == "1.000,00"  # German amount format, credits positive
    assert csv_rows[3].split(";")[9].startswith("-")  # the fee, money out


def test_rf_creditor_reference_check_digits():
    # ISO 11649's own example: RF18 5390 0754 7034
    assert rf_reference("539007547034") == "RF18539007547034"
