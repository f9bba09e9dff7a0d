"""``arinsight map``: a sources file proposed from raw exports.

The first tests run ``map`` on every export of tests/exports/ (the binary ones built as
test_own_data builds them), check the proposal with ``arinsight check`` (in process: ingest and
clean in memory) and compare it with the folder's hand-written sources file. The others feed
small hand-made files to the guesses (names in four languages and SAP's, dates, numbers,
encodings, title blocks, leading zeros, status words).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
import yaml
from test_own_data import EXPORTS, RUN_DATE, export

from arinsight import mapper
from arinsight.check import check
from arinsight.errors import UserError

#: The data files of each export folder (what a user would give to `map`).
FILES = {
    "all_settled": ["late_payment_history.csv"],
    "excel_offset": ["ar_report.xlsx"],
    "flat_partial": ["export.csv"],
    "no_limits": ["customers.csv", "invoices.csv", "payments.csv"],
    "region_per_row": ["export.csv"],
    "sap_cleared": ["fbl5n_cleared_items.csv"],
    "sap_two_entities": ["fbl5n_us_ca.csv", "rates.csv"],
    "small_120": ["invoices.csv"],
    "sql_export": ["erp.db"],
    "status_only": ["offene_posten.csv"],
    "us_dates": ["invoice_list.csv"],
}

#: Where the proposal differs from the hand-written mapping, and why (everything else agrees):
#: (table, section, canonical column) -> (hand-written value, proposed value).
DIFFERENCES = {
    # the same column mapped twice by hand (id and name); map uses a column once
    ("us_dates", "invoices", "derive_customers", "customer_name"): ("Customer", None),
    # a SQL query that leaves credit notes out: map reads the table (credit notes are then
    # quarantined as non_positive_amount, and the doc_type column is listed with that note)
    ("sql_export", "invoices", "query", None): (
        "SELECT doc_no, cust, doc_date, due, amt FROM ar_invoices WHERE doc_type = 'INV' "
        "ORDER BY doc_no",
        None,
    ),
    ("sql_export", "invoices", "table", None): (None, "ar_invoices"),
    # the hand-written file dates the undated "Bezahlt" rows by the export date, which no file
    # says: map writes the option as a comment to fill in
    ("status_only", "invoices", "derive_payments", "undated_payment_date"): (
        dt.date(2026, 9, 30),
        None,
    ),
    # the hand-written file strips the leading zeros; map pads the ids back to the 10 digits
    # of those written with zeros, so they are shown as SAP writes them (one customer either way)
    ("sap_cleared", "invoices", "normalize", "customer_id"): (
        {"zeros": "strip"},
        {"zeros": "pad", "width": 10},
    ),
    # countryCode 391/406 renamed North/South by hand (a value mapping is the user's choice)
    ("all_settled", "invoices", "values", "region"): ({"391": "North", "406": "South"}, None),
}


def _flatten(spec: dict) -> dict[tuple, object]:
    """(table, section, key) -> value of every source option and mapped column."""
    out: dict[tuple, object] = {}
    for table, src in spec["sources"].items():
        for key, value in src.items():
            if isinstance(value, dict) and key in (
                "columns",
                "derive_payments",
                "derive_customers",
                "values",
                "normalize",
            ):
                for k, v in value.items():
                    out[(table, key, k)] = v
            elif key not in ("path", "url", "kind"):
                out[(table, key, None)] = value
    return out


@pytest.mark.parametrize("shape", sorted(FILES))
def test_map_proposes_a_mapping_that_check_accepts(shape, tmp_path):
    """map on the export's files writes a sources file that `check` accepts (a run would work)
    and that agrees with the hand-written one, option by option and column by column, except
    for the differences listed (and explained) in DIFFERENCES."""
    folder = export(shape, tmp_path)
    out = folder / "sources.proposed.yaml"
    proposal = mapper.propose([str(folder / f) for f in FILES[shape]], out=out)
    mapper.write(proposal, out)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"sources": str(out), "run_date": RUN_DATE}))
    report = check([params])
    assert report.ok, report.text()
    hand = _flatten(yaml.safe_load((EXPORTS / shape / "sources.yaml").read_text()))
    got = _flatten(yaml.safe_load(out.read_text()))
    found = {
        (shape, *k): (hand.get(k), got.get(k))
        for k in set(hand) | set(got)
        if hand.get(k) != got.get(k)
    }
    expected = {k: v for k, v in DIFFERENCES.items() if k[0] == shape}
    assert found == expected


def test_map_cli_writes_the_file_and_never_overwrites(tmp_path, capsys):
    """`arinsight map FILE --out X` writes X and prints what it mapped; a second call refuses
    to replace X (exit 2, one line) unless --force."""
    from arinsight import cli

    folder = export("no_limits", tmp_path)
    out = tmp_path / "proposed.yaml"
    files = [str(folder / f) for f in FILES["no_limits"]]
    assert cli.main(["map", *files, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "customers <- customers.csv: 3 column(s) mapped" in printed
    assert "invoices <- invoices.csv: 5 column(s) mapped (1 unsure)" in printed
    assert "payments <- payments.csv: 6 column(s) mapped (1 unsure)" in printed
    spec = yaml.safe_load(out.read_text())
    assert spec["sources"]["customers"]["path"] == "no_limits/customers.csv"
    assert cli.main(["map", *files, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("arinsight map: error: ") and "already exists" in err
    assert err.count("\n") == 1
    assert cli.main(["map", *files, "--out", str(out), "--force"]) == 0


# --------------------------------------------------------------------------------------------
# guesses on small hand-made files
# --------------------------------------------------------------------------------------------


def _propose(tmp_path: Path, name: str, content: str | bytes) -> dict:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    proposal = mapper.propose([str(path)], out=tmp_path / "sources.yaml")
    return proposal


def test_sap_field_names_title_block_and_per_column_date_formats(tmp_path):
    """An SAP cleared-items extract with a two-line title block, ';' and comma decimals:
    BELNR, KUNNR, BLDAT, BUDAT, ZFBDT, FAEDT, WRBTR, DMBTR, WAERS, AUGDT, AUGBL, BUKRS.
    BLDAT is dd.mm.yyyy, FAEDT YYYYMMDD (one written 20260915.0 by a float column), AUGDT ISO
    (one with a time): three date columns with their own formats. WRBTR 1.500,00 is the amount
    (document currency, beside WAERS); BUKRS is the company code; DMBTR, BUDAT, ZFBDT and AUGBL
    are listed as not used with what they are. The header is on line 3."""
    text = (
        "Offene und ausgeglichene Posten\n"
        "Buchungskreis 1000;;;\n"
        "BUKRS;BELNR;KUNNR;BLDAT;BUDAT;ZFBDT;FAEDT;WRBTR;DMBTR;WAERS;AUGDT;AUGBL\n"
        "1000;1900000001;0000100001;01.08.2026;03.08.2026;01.08.2026;20260831;1.500,00;1.500,00;EUR;2026-08-30;1400000001\n"
        "1000;1900000002;0000100002;15.08.2026;15.08.2026;15.08.2026;20260915.0;250,50;275,55;USD;;\n"
        "1000;1900000003;0000100001;20.08.2026;21.08.2026;20.08.2026;20260919;99,00;99,00;EUR;2026-09-02 00:00:00;1400000002\n"
    )
    proposal = _propose(tmp_path, "fbl5n.csv", text.encode("utf-8"))
    src = proposal.spec["sources"]["invoices"]
    assert src["delimiter"] == ";" and src["header_row"] == 3
    assert src["decimal"] == "," and src["thousands"] == "."
    assert src["columns"] == {
        "invoice_id": "BELNR",
        "customer_id": "KUNNR",
        "invoice_date": "BLDAT",
        "due_date": "FAEDT",
        "amount": "WRBTR",
        "currency": "WAERS",
        "company_code": "BUKRS",
    }
    assert src["derive_payments"] == {"payment_date": "AUGDT"}
    assert src["date_format"] == {
        "invoice_date": "%d.%m.%Y",
        "due_date": "%Y%m%d",
        "payment_date": "iso",
    }
    unused = dict(proposal.sources[0].unused)
    assert set(unused) == {"BUDAT", "ZFBDT", "DMBTR", "AUGBL"}
    assert unused["AUGBL"].startswith("the clearing document")
    assert "# unsure:" not in proposal.text.split("columns:")[1].split("derive_payments")[0]


@pytest.mark.parametrize(
    "header, expected",
    [
        # French
        (
            "N° facture,Code client,Nom client,Date facture,Échéance,Montant TTC,Devise",
            {
                "invoice_id": "N° facture",
                "customer_id": "Code client",
                "invoice_date": "Date facture",
                "due_date": "Échéance",
                "amount": "Montant TTC",
                "currency": "Devise",
            },
        ),
        # Spanish
        (
            "Número de factura,Cliente,Nombre,Fecha de emisión,Fecha de vencimiento,Importe,Moneda",
            {
                "invoice_id": "Número de factura",
                "customer_id": "Cliente",
                "invoice_date": "Fecha de emisión",
                "due_date": "Fecha de vencimiento",
                "amount": "Importe",
                "currency": "Moneda",
            },
        ),
        # German
        (
            "Rechnungsnummer,Kundennummer,Kundenname,Rechnungsdatum,Fälligkeitsdatum,Betrag,Währung",
            {
                "invoice_id": "Rechnungsnummer",
                "customer_id": "Kundennummer",
                "invoice_date": "Rechnungsdatum",
                "due_date": "Fälligkeitsdatum",
                "amount": "Betrag",
                "currency": "Währung",
            },
        ),
    ],
)
def test_names_in_french_spanish_and_german(tmp_path, header, expected):
    """The same two invoices under French, Spanish and German headers: each column is placed
    by its name, without an unsure comment; the third column (a name) is the customer name."""
    rows = "A1,C1,Alpha,2026-09-01,2026-10-01,100.00,EUR\nA2,C2,Beta,2026-09-02,2026-10-02,200.00,EUR\n"
    proposal = _propose(tmp_path, "f.csv", header + "\n" + rows)
    src = proposal.spec["sources"]["invoices"]
    assert src["columns"] == expected
    assert src["derive_customers"] == {"customer_name": header.split(",")[2]}
    assert proposal.unsure == 0, proposal.text


def test_ambiguous_day_month_and_unknown_columns_are_commented(tmp_path):
    """03/04/2026 and 05/06/2026 read as dd/mm and as mm/dd: the format is proposed with an
    'unsure' comment naming the other reading. A column of unknown name ('Zeta') is listed
    with what it holds, never an error; a near miss of a known name ('Invoce Date', one letter
    off 'invoice date') is used, marked unsure."""
    text = (
        "Invoice,Customer,Invoce Date,Due Date,Amount,Zeta\n"
        "I1,C1,03/04/2026,05/06/2026,10.00,x\n"
        "I2,C1,04/04/2026,06/06/2026,20.00,y\n"
    )
    proposal = _propose(tmp_path, "a.csv", text)
    src = proposal.spec["sources"]["invoices"]
    assert src["date_format"] == "%d/%m/%Y"
    assert "could also be %m/%d/%Y" in proposal.text
    assert src["columns"]["invoice_date"] == "Invoce Date"
    assert "unsure: the name resembles 'invoice date'" in proposal.text
    assert proposal.sources[0].unused == [("Zeta", "text: 'x', 'y'")]


def test_latin1_encoding_status_words_and_leading_zeros(tmp_path):
    """A latin-1 file (Ä, ü are not UTF-8 bytes) with French status words 'Payée' and
    'Ouverte', and customer 0200769623 also written 200769623: encoding latin-1, paid_values
    [Payée], unpaid_values [Ouverte], and normalize {customer_id: {zeros: pad, width: 10}}
    (every id written with zeros has 10 digits, none more: the ids stay as the file writes
    them) with a comment saying which ids met."""
    text = (
        "Facture;Client;Nom;Date;Echeance;Montant;Statut\n"
        "F1;0200769623;Ärzte SA;2026-09-01;2026-10-01;100,00;Payée\n"
        "F2;200769623;Ärzte SA;2026-09-05;2026-10-05;50,00;Ouverte\n"
        "F3;0300000001;Müller;2026-09-06;2026-10-06;75,00;Ouverte\n"
    ).encode("latin-1")
    proposal = _propose(tmp_path, "factures.csv", text)
    src = proposal.spec["sources"]["invoices"]
    assert src["encoding"] == "latin-1" and src["delimiter"] == ";" and src["decimal"] == ","
    assert src["derive_payments"]["paid_values"] == ["Payée"]
    assert src["derive_payments"]["unpaid_values"] == ["Ouverte"]
    assert src["normalize"] == {"customer_id": {"zeros": "pad", "width": 10}}
    assert "'0200769623' and '200769623'" in proposal.text


def test_unknown_status_word_is_named_for_the_user(tmp_path):
    """A status word map does not know ('Storniert') is left out of both lists with a comment
    naming it; the known ones are sorted."""
    text = (
        "Invoice,Customer,Invoice Date,Amount,Status\n"
        "I1,C1,2026-09-01,10.00,Bezahlt\nI2,C1,2026-09-02,10.00,Offen\n"
        "I3,C1,2026-09-03,10.00,Storniert\n"
    )
    proposal = _propose(tmp_path, "s.csv", text)
    pays = proposal.spec["sources"]["invoices"]["derive_payments"]
    assert pays == {"status": "Status", "paid_values": ["Bezahlt"], "unpaid_values": ["Offen"]}
    assert "status word(s) ['Storniert'] are neither" in proposal.text


def test_excel_title_block_and_sqlite_tables(tmp_path):
    """An Excel sheet whose header is on row 3 (a title and a blank row above) gets
    header_row: 3; a SQLite file offers each table: 'receipts' (rcpt, rcpt_date) is the payments
    table, 'inv' (due) the invoices table, both read with {here} in the URL."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Report"
    ws.append(["AR report 2026-09"])
    ws.append([])
    ws.append(["Invoice", "Customer", "Date", "Due", "Amount"])
    ws.append(["E1", "K1", dt.date(2026, 9, 1), dt.date(2026, 10, 1), 50.0])
    wb.save(tmp_path / "r.xlsx")
    proposal = mapper.propose([str(tmp_path / "r.xlsx")], out=tmp_path / "s.yaml")
    src = proposal.spec["sources"]["invoices"]
    assert (src["kind"], src["sheet"], src["header_row"]) == ("excel", "Report", 3)
    assert src["columns"]["due_date"] == "Due" and "date_format" not in src

    con = sqlite3.connect(tmp_path / "erp.db")
    con.executescript(
        "CREATE TABLE inv (doc_no TEXT, cust TEXT, doc_date TEXT, due TEXT, amt REAL);"
        "INSERT INTO inv VALUES ('Q1','Z1','2026-08-10','2026-09-09',1500.0);"
        "CREATE TABLE receipts (rcpt TEXT, doc_no TEXT, cust TEXT, rcpt_date TEXT, amt REAL);"
        "INSERT INTO receipts VALUES ('R1','Q1','Z1','2026-09-05',1000.0);"
    )
    con.commit()
    con.close()
    url = f"sqlite:///{tmp_path / 'erp.db'}"  # a database URL, one table named
    by_url = mapper.propose([url], out=tmp_path / "s.yaml", tables=["receipts"]).spec["sources"]
    assert list(by_url) == ["payments"] and by_url["payments"]["url"] == url
    with pytest.raises(UserError, match=r"no table 'nope'; tables: inv, receipts"):
        mapper.propose([url], out=tmp_path / "s.yaml", tables=["nope"])
    spec = mapper.propose([str(tmp_path / "erp.db")], out=tmp_path / "s.yaml").spec
    assert spec["sources"]["invoices"]["url"] == "sqlite:///{here}/erp.db"
    assert spec["sources"]["invoices"]["table"] == "inv"
    assert spec["sources"]["payments"]["columns"] == {
        "payment_id": "rcpt",
        "invoice_id": "doc_no",
        "customer_id": "cust",
        "payment_date": "rcpt_date",
        "amount": "amt",
    }


def test_words_normalises_names():
    assert mapper.words("invoiceNumber") == "invoice number"
    assert mapper.words("Fälligkeit") == "falligkeit"
    assert mapper.words("N° facture") == "n facture"
    assert mapper.words("customerID") == "customer id"
    assert mapper.concept_of("KUNNR") == ("customer_id", "name")
    assert mapper.concept_of("PaperlessDate") == (None, "")


def test_csv_header_row_skips_a_title_block_and_keeps_line_numbers(write_sources):
    """`header_row: 3` on a CSV source skips two title lines; row numbers stay the file's line
    numbers: the bad date on the file's line 5 is reported as row 5."""
    from arinsight import ingest
    from arinsight.errors import SourceError

    spec = write_sources(
        {"invoices": {"kind": "csv", "path": "t.csv", "header_row": 3}},
        {
            "t.csv": "Open items\nexported 2026-10-15\n"
            "invoice_id,customer_id,invoice_date,amount\n"
            "I1,C1,2026-09-01,10.00\nI2,C1,2026-13-01,20.00\n"
        },
    )
    with pytest.raises(SourceError, match=r"t\.csv, column 'invoice_date', row 5: cannot parse"):
        ingest.ingest(spec)
    text = spec.read_text().replace("header_row: 3", "header_row: 3\n    on_bad_value: quarantine")
    spec.write_text(text)
    inv = ingest.ingest(spec).tables["invoices"]
    assert inv["invoice_id"].tolist() == ["I1", "I2"]
    assert inv["_source_row"].tolist() == [4, 5]


def test_several_currencies_propose_the_most_common_with_a_note(tmp_path):
    """Two USD invoices and one CAD: reporting_currency USD, unsure, naming CAD (1 row) and the
    fx_rates entry it needs."""
    text = (
        "Invoice,Customer,Invoice Date,Amount,Currency\n"
        "I1,C1,2026-09-01,10.00,USD\nI2,C1,2026-09-02,10.00,usd\nI3,C2,2026-09-03,10.00,CAD\n"
    )
    proposal = _propose(tmp_path, "c.csv", text)
    assert proposal.spec["reporting_currency"] == "USD"
    assert "unsure: most invoices are in USD; also CAD (1 rows)" in proposal.text
    assert "fx_rates: {CAD: <1 CAD in USD>}" in proposal.text


def test_a_rates_file_among_the_exports_becomes_fx_rates(tmp_path):
    """The export of the test above beside rates.csv (currency, date, rate: CAD at 0.73 from
    2026-09-01): map proposes `fx_rates: "rates.csv"` instead of the block to fill in, the
    reporting currency note is no longer unsure, and the rates file is not taken for a table.
    With a rates file lacking CAD (only EUR), the line says so (unsure) and names CAD."""
    text = (
        "Invoice,Customer,Invoice Date,Amount,Currency\n"
        "I1,C1,2026-09-01,10.00,USD\nI2,C1,2026-09-02,10.00,USD\nI3,C2,2026-09-03,10.00,CAD\n"
    )
    (tmp_path / "c.csv").write_text(text, encoding="utf-8")
    (tmp_path / "rates.csv").write_text("currency,date,rate\nCAD,2026-09-01,0.73\n")
    files = [str(tmp_path / "c.csv"), str(tmp_path / "rates.csv")]
    proposal = mapper.propose(files, out=tmp_path / "sources.yaml")
    assert proposal.spec["fx_rates"] == "rates.csv"
    assert [sp.table for sp in proposal.sources] == ["invoices"]
    assert "# unsure" not in proposal.text.split("sources:")[0]
    assert "# fx_rates:" not in proposal.text
    (tmp_path / "rates.csv").write_text("currency,date,rate\nEUR,2026-09-01,1.1\n")
    proposal = mapper.propose(files, out=tmp_path / "sources.yaml")
    assert "unsure: no rate for CAD in it" in proposal.text


def test_odd_files_get_one_line_or_a_proposal_naming_what_is_missing(tmp_path, capsys):
    """A binary file is refused in one line (exit 2). A UTF-16 file (with its byte order mark)
    is read as utf-16; its missing required invoice_date is written as a comment to fill in."""
    from arinsight import cli

    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 4)
    assert cli.main(["map", str(tmp_path / "bin.csv"), "--out", "-"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"arinsight map: error: {tmp_path / 'bin.csv'}: not a text (CSV) file (it holds NUL bytes)\n"
    )
    text = "Rechnung;Kunde;Betrag\r\nR1;K1;5,00\r\n"
    proposal = _propose(tmp_path, "u16.csv", text.encode("utf-16"))
    src = proposal.spec["sources"]["invoices"]
    assert (src["encoding"], src["delimiter"], src["decimal"]) == ("utf-16", ";", ",")
    assert src["columns"] == {"invoice_id": "Rechnung", "customer_id": "Kunde", "amount": "Betrag"}
    assert "# invoice_date: <column>  # required: no column found, map it" in proposal.text


def test_map_of_the_embedded_sample_keeps_what_its_manifest_says(tmp_path):
    """The embedded sample as a user would meet it (invoices CSV, customers workbook with a
    sales_reps sheet, a SQLite ledger with payments and commissions, injected bad values):
    map proposes invoices, customers and payments (sales reps and commissions are named as not
    proposed), marks the unreadable values and sets on_bad_value: quarantine; check then keeps
    exactly the rows the sample's manifest says are clean (invoices, payments, customers)."""
    import json

    from arinsight.sample import write_sample

    folder = tmp_path / "s"
    write_sample(folder, n_invoices=1000, seed=5)
    out = folder / "proposed.yaml"
    files = [str(folder / f) for f in ("invoices.csv", "customers.xlsx", "ledger.sqlite")]
    proposal = mapper.propose(files, out=out)
    mapper.write(proposal, out)
    spec = proposal.spec["sources"]
    assert sorted(spec) == ["customers", "invoices", "payments"]
    assert spec["payments"]["table"] == "payments" and spec["customers"]["sheet"] == "customers"
    assert spec["invoices"]["on_bad_value"] == spec["payments"]["on_bad_value"] == "quarantine"
    assert "looks like the commissions table, which map does not propose" in proposal.text
    assert "looks like the sales_reps table" in proposal.text
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"sources": str(out), "run_date": "2026-11-05"}))
    report = check([params])
    assert report.ok, report.text()
    manifest = json.loads((folder / "manifest.json").read_text())
    kept = {t: c["kept"] for t, c in report.quality["tables"].items()}
    for table in ("invoices", "payments", "customers"):
        assert kept[table] == manifest["expected_clean_rows"][table], table


def test_date_formats_and_number_convention_by_hand():
    """The issue's mixed column: 2019-03-21, 2019-04-05 00:00:00 (ISO with a time) and
    20190405.0 (YYYYMMDD from a float column) -> [iso, %Y%m%d], all 3 read. 31/12/2026 fixes
    the day first. Numbers 1.234,50 / 99,5 / 7 read with decimal ',' and thousands '.'; with
    1,234.50 among them the US convention reads 2 of 3 and names the odd one."""
    import pandas as pd

    fmts, share, note = mapper.date_formats_of(
        pd.Series(["2019-03-21", "2019-04-05 00:00:00", "20190405.0"])
    )
    assert (fmts, share, note) == ([None, "%Y%m%d"], 1.0, None)
    fmts, share, note = mapper.date_formats_of(pd.Series(["31/12/2026", "01/02/2026"]))
    assert (fmts, share, note) == (["%d/%m/%Y"], 1.0, None)

    def profiles(*values):
        return [mapper.profile_column("x", pd.Series(list(values), dtype="str"))]

    assert mapper.number_convention(profiles("1.234,50", "99,5", "7")) == (",", ".", None)
    decimal, thousands, note = mapper.number_convention(profiles("1,234.50", "99.50", "1.234,50"))
    assert (decimal, thousands) == (".", ",")
    assert note == "unsure: 1 number(s) do not fit decimal '.' / thousands ',', e.g. ['1.234,50']"


def test_region_per_row_and_zeros_across_files_are_noted(tmp_path):
    """region_per_row's export: D1 is North on one row and South on others, Retail and Energy:
    the derive_customers line says so and names segment_by: invoice. A customers file writing
    0000100001 and an invoices file writing 100001: both sources get zeros: pad to 10 (the
    width of every id written with zeros, so the ids read as the customer master writes them).
    With ids of two widths (00042 and 0000100001) padding cannot be right: zeros: strip."""
    folder = export("region_per_row", tmp_path)
    text = mapper.propose([str(folder / "export.csv")], out=folder / "s.yaml").text
    assert (
        "derive_customers:  # unsure: Region (1 customer), Industry (1 customer) differ between "
        "a customer's rows" in text
    )
    assert "add segment_by: invoice at the top" in text
    (tmp_path / "customers.csv").write_text("CustNo,Name\n0000100001,Alpha\n0000100002,Beta\n")
    (tmp_path / "invoices.csv").write_text(
        "DocNo,CustNo,Date,DueDate,Total\nN1,100001,2026-09-01,2026-10-01,5.00\n"
    )
    spec = mapper.propose(
        [str(tmp_path / "customers.csv"), str(tmp_path / "invoices.csv")], out=tmp_path / "s.yaml"
    ).spec["sources"]
    assert (
        spec["customers"]["normalize"]
        == spec["invoices"]["normalize"]
        == {"customer_id": {"zeros": "pad", "width": 10}}
    )
    (tmp_path / "customers.csv").write_text("CustNo,Name\n0000100001,Alpha\n00042,Beta\n")
    (tmp_path / "invoices.csv").write_text(
        "DocNo,CustNo,Date,DueDate,Total\nN1,100001,2026-09-01,2026-10-01,5.00\n"
        "N2,42,2026-09-01,2026-10-01,5.00\n"
    )
    spec = mapper.propose(
        [str(tmp_path / "customers.csv"), str(tmp_path / "invoices.csv")], out=tmp_path / "s.yaml"
    ).spec["sources"]
    assert spec["invoices"]["normalize"] == {"customer_id": {"zeros": "strip"}}


# --------------------------------------------------------------------------------------------
# one ledger in six export shapes: map -> check -> the engine's figures
# --------------------------------------------------------------------------------------------

#: (invoice, customer, name, invoice date, due date, amount, paid date or None). At T =
#: 2026-09-30: open = F2 500 + F3 800 = 1,300.00; overdue = F3 800 (due 09-09); credit sales in
#: September = F2 500 + F4 1,300 = 1,800.00; collections = F4 1,300.00 (09-20).
LEDGER = [
    ("F1", "1", "Acme", "2026-08-01", "2026-08-31", "1000.00", "2026-08-25"),
    ("F2", "1", "Acme", "2026-09-05", "2026-10-05", "500.00", None),
    ("F3", "2", "Beta", "2026-08-10", "2026-09-09", "800.00", None),
    ("F4", "2", "Beta", "2026-09-12", "2026-10-12", "1300.00", "2026-09-20"),
]


def _dmy(iso: str, sep: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}{sep}{m}{sep}{y}"


def _mdy(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{m}/{d}/{y}"


def _de(amount: str) -> str:
    whole, cents = amount.split(".")
    return (f"{int(whole):,}".replace(",", ".")) + "," + cents


def _write_variant(folder: Path, shape: str) -> str:
    """The LEDGER written as one export shape; returns the file name."""
    if shape == "english":
        rows = ["Invoice No,Customer,Customer Name,Invoice Date,Due Date,Amount,Paid Date"]
        rows += [",".join([i, f"C{c}", n, d, u, a, p or ""]) for i, c, n, d, u, a, p in LEDGER]
        (folder / "export.csv").write_text("\n".join(rows) + "\n")
        return "export.csv"
    if shape == "german":  # latin-1, ';', 1.300,00, dd.mm.yyyy, a title block
        rows = ["Offene Posten", "Stand 15.10.2026"]
        rows.append("Rechnungsnummer;Kundennummer;Kundenname;Rechnungsdatum;Fälligkeitsdatum;"
                    "Betrag;Zahlungsdatum")  # fmt: skip
        rows += [
            ";".join([i, f"K{c}", n + " GmbH Ä", _dmy(d, "."), _dmy(u, "."), _de(a),
                      _dmy(p, ".") if p else ""])
            for i, c, n, d, u, a, p in LEDGER
        ]  # fmt: skip
        (folder / "posten.csv").write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
        return "posten.csv"
    if shape == "french":  # UTF-8 with BOM, ';', 1 300,00, dd/mm/yyyy
        rows = ["N° facture;Code client;Nom client;Date facture;Échéance;Montant TTC;"
                "Date de paiement"]  # fmt: skip
        rows += [
            ";".join([i, f"CL{c}", n, _dmy(d, "/"), _dmy(u, "/"),
                      _de(a).replace(".", " "), _dmy(p, "/") if p else ""])
            for i, c, n, d, u, a, p in LEDGER
        ]  # fmt: skip
        (folder / "factures.csv").write_bytes(("\n".join(rows) + "\n").encode("utf-8-sig"))
        return "factures.csv"
    if shape == "spanish":  # tab, decimal comma, dd-mm-yyyy
        rows = ["Número de factura\tCliente\tNombre\tFecha de emisión\tFecha de vencimiento\t"
                "Importe\tFecha de pago"]  # fmt: skip
        rows += [
            "\t".join([i, f"CLI{c}", n, _dmy(d, "-"), _dmy(u, "-"), a.replace(".", ","),
                       _dmy(p, "-") if p else ""])
            for i, c, n, d, u, a, p in LEDGER
        ]  # fmt: skip
        (folder / "facturas.txt").write_text("\n".join(rows) + "\n")
        return "facturas.txt"
    if shape == "sap":  # KUNNR with and without zeros, FAEDT YYYYMMDD (one a float), AUGDT
        rows = ["BUKRS;BELNR;KUNNR;NAME1;BLDAT;FAEDT;WAERS;WRBTR;AUGDT;AUGBL"]
        for k, (i, c, n, d, u, a, p) in enumerate(LEDGER):
            kunnr = f"{int(c) + 100000:010d}" if k % 2 == 0 else str(int(c) + 100000)
            faedt = u.replace("-", "") + (".0" if k == 1 else "")
            rows.append(";".join(["1000", i, kunnr, n, _dmy(d, "."), faedt, "EUR", _de(a),
                                  p or "", "1400000001" if p else ""]))  # fmt: skip
        (folder / "fbl5n.csv").write_text("\n".join(rows) + "\n")
        return "fbl5n.csv"
    # "us_excel": a workbook with a title block, real date cells, US headers
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Invoices"
    ws.append(["Invoice list"])
    ws.append([])
    ws.append(["Num", "Customer", "Customer Name", "Date", "Due Date", "Amount", "Date Paid"])
    for i, c, n, d, u, a, p in LEDGER:
        ws.append([i, f"C{c}", n, dt.date.fromisoformat(d), dt.date.fromisoformat(u), float(a),
                   dt.date.fromisoformat(p) if p else None])  # fmt: skip
    wb.save(folder / "invoices.xlsx")
    return "invoices.xlsx"


@pytest.mark.parametrize("shape", ["english", "german", "french", "spanish", "sap", "us_excel"])
def test_one_ledger_in_six_shapes_gives_the_same_figures(shape, tmp_path):
    """map's proposal for each shape passes check, and the engine computes the LEDGER's figures
    by hand from it: open 1,300.00, overdue 800.00, credit sales 1,800.00, collections 1,300.00,
    2 customers, 4 invoices kept."""
    from arinsight import clean, config, ingest
    from arinsight.engine.duck import kpis_from_processed

    folder = tmp_path / shape
    folder.mkdir()
    name = _write_variant(folder, shape)
    out = folder / "sources.yaml"
    mapper.write(mapper.propose([str(folder / name)], out=out), out)
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"sources": str(out), "run_date": RUN_DATE}))
    report = check([params])
    assert report.ok, out.read_text() + report.text()
    result = ingest.ingest(out)
    cleaned = clean.clean_ingested(result.tables, ingest.manifest_of(result), run_date=RUN_DATE)
    assert cleaned.summary["tables"]["invoices"]["kept"] == 4, out.read_text()
    assert len(cleaned.tables["customers"]) == 2, out.read_text()
    clean.write_processed(cleaned, tmp_path / "processed")
    kpi_params = config.load_params()
    kpi_params["as_of"] = None
    k = kpis_from_processed(tmp_path / "processed", "2026-09", kpi_params, None)["All"]
    got = (k["open_ar"], k["overdue_ar"], k["credit_sales"], k["collections"])
    assert got == (1300.0, 800.0, 1800.0, 1300.0), out.read_text()


def test_day_month_order_is_taken_from_another_date_column(tmp_path):
    """Invoice dates 01/08 and 05/09 read either way, but the due dates 31/08 and 25/09 only as
    day/month: both columns get %d/%m/%Y, without an unsure comment. Swapped (08/31), the
    ambiguous column follows month/day."""
    text = "Invoice,Customer,Invoice Date,Due Date,Amount\nI1,C1,01/08/2026,31/08/2026,5.00\nI2,C1,05/09/2026,25/09/2026,5.00\n"
    proposal = _propose(tmp_path, "a.csv", text)
    assert proposal.spec["sources"]["invoices"]["date_format"] == "%d/%m/%Y"
    assert proposal.unsure == 0, proposal.text
    text = "Invoice,Customer,Invoice Date,Due Date,Amount\nI1,C1,08/01/2026,08/31/2026,5.00\nI2,C1,09/05/2026,09/25/2026,5.00\n"
    proposal = _propose(tmp_path, "b.csv", text)
    assert proposal.spec["sources"]["invoices"]["date_format"] == "%m/%d/%Y"
    assert proposal.unsure == 0, proposal.text


def test_a_cleared_flag_column_is_a_status(tmp_path):
    """A column 'Cleared' holding X (cleared) or nothing (open), no clearing date: a status-only
    export with paid_values [X] (empty cells are unpaid), and the undated_payment_date line to
    fill in; check accepts it."""
    text = (
        "BELNR,KUNNR,BLDAT,FAEDT,WRBTR,Cleared\n"
        "1,100,2026-09-01,2026-10-01,10.00,X\n2,100,2026-09-02,2026-10-02,20.00,\n"
    )
    proposal = _propose(tmp_path, "items.csv", text)
    pays = proposal.spec["sources"]["invoices"]["derive_payments"]
    assert pays == {"status": "Cleared", "paid_values": ["X"]}
    assert "# undated_payment_date: YYYY-MM-DD" in proposal.text
    mapper.write(proposal, tmp_path / "sources.yaml")
    params = tmp_path / "p.yaml"
    params.write_text(
        yaml.safe_dump({"sources": str(tmp_path / "sources.yaml"), "run_date": RUN_DATE})
    )
    assert check([params]).ok
