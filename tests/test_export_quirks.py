"""Quirks of real ERP exports that the generated variants (tests/exportgen) found, each on a
small hand-made file whose figures are computed by hand in the test's docstring.

Open AR here = the kept invoices' amounts less the kept payments, every date before the run date.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from arinsight import clean
from arinsight.errors import SourceError
from arinsight.ingest import ingest

RUN = "2026-11-30"


def _clean(spec):
    result = ingest(spec)
    return clean.clean(
        result.tables,
        run_date=RUN,
        reporting_currency="EUR",
        segment_by=result.segment_by,
        customer_conflicts=result.conflicts,
    )


def _open_ar(cleaned) -> Decimal:
    inv, pay = cleaned.tables["invoices"], cleaned.tables["payments"]
    billed = sum(Decimal(str(a)) for a in inv["amount"])
    paid = sum((Decimal(str(a)) for a in pay["amount"]), Decimal(0))
    return billed - paid


FLAT_DE = (
    "Rechnung;Kunde;Name;Kreditlimit;Datum;Fällig;Betrag;Gezahlt;Status\n"
    "R1;0200769623;Müller GmbH;50.000,00;01.10.2026;31.10.2026;12.345,60;;offen\n"
    "R2;0200769623;Müller GmbH;50.000,00;02.10.2026;01.11.2026;1.000,00;400,00;teilbezahlt\n"
    "Rechnung;Kunde;Name;Kreditlimit;Datum;Fällig;Betrag;Gezahlt;Status\n"
    "R3;0300000001;Peña SA;5.000,00;03.10.2026;02.11.2026;250,40;250,40;bezahlt\n"
)
FLAT_DE_SOURCE = {
    "kind": "csv",
    "path": "op.csv",
    "delimiter": ";",
    "decimal": ",",
    "thousands": ".",
    "date_format": "%d.%m.%Y",
    "on_bad_value": "quarantine",
    "columns": {
        "invoice_id": "Rechnung",
        "customer_id": "Kunde",
        "invoice_date": "Datum",
        "due_date": "Fällig",
        "amount": "Betrag",
    },
    "derive_payments": {
        "amount": "Gezahlt",
        "status": "Status",
        "paid_values": ["bezahlt", "teilbezahlt"],
        "unpaid_values": ["offen"],
        "undated_payment_date": "2026-11-15",
    },
    "derive_customers": {"customer_name": "Name", "credit_limit": "Kreditlimit"},
}


def test_flat_export_with_repeated_header_and_german_numbers(write_sources):
    """A flat German export: the header repeated on line 4 (a page break) and credit limits
    written like the amounts (``50.000,00``).

    By hand: R1 12,345.60 open; R2 1,000.00 less 400.00 paid = 600.00; R3 250.40 paid in full.
    Open AR = 12,345.60 + 600.00 = 12,945.60. Customers 0200769623 (limit 50,000.00) and
    0300000001 (limit 5,000.00) are kept, so no invoice is unknown_customer. Line 4 is
    quarantined as ``repeated_header``, never read as an invoice nor as a status word 'Status'.
    """
    spec = write_sources({"invoices": FLAT_DE_SOURCE}, {"op.csv": FLAT_DE.encode("utf-8")})
    cleaned = _clean(spec)
    q = cleaned.quarantine
    assert q[["table", "source_row", "reason"]].values.tolist() == [
        ["invoices", 4, "repeated_header"]
    ]
    assert sorted(cleaned.tables["invoices"]["invoice_id"]) == ["R1", "R2", "R3"]
    limits = cleaned.tables["customers"].set_index("customer_id")["credit_limit"]
    assert limits.to_dict() == {"0200769623": 50000.0, "0300000001": 5000.0}
    assert _open_ar(cleaned) == Decimal("12945.60")


def test_repeated_header_is_quarantined_even_when_bad_values_stop_the_run(write_sources):
    """With ``on_bad_value: error`` (the default) a repeated header is still no data error: it
    is quarantined as repeated_header and the run goes on; open AR 12,945.60 as above."""
    src = {k: v for k, v in FLAT_DE_SOURCE.items() if k != "on_bad_value"}
    spec = write_sources({"invoices": src}, {"op.csv": FLAT_DE.encode("utf-8")})
    cleaned = _clean(spec)
    assert cleaned.quarantine["reason"].tolist() == ["repeated_header"]
    assert _open_ar(cleaned) == Decimal("12945.60")


def test_values_mapping_catches_an_id_written_as_a_float_in_a_csv(write_sources):
    """``values: {customer_id: {"358061429": "0358061429"}}`` and the id written ``358061429.0``
    (a float column) on one invoice row and ``0358061429`` in the customer master.

    By hand: both invoices (100.00 and 250.50) belong to customer 0358061429: open AR 350.50,
    nothing quarantined as unknown_customer."""
    files = {
        "inv.csv": "id,cust,date,due,amount\n"
        "I1,358061429.0,2026-10-01,2026-10-31,100.00\n"
        "I2,0358061429,2026-10-02,2026-11-01,250.50\n",
        "cust.csv": "cust,name\n0358061429,Ørsted A/S\n",
    }
    values = {"customer_id": {"358061429": "0358061429"}}
    spec = write_sources(
        {
            "customers": {
                "kind": "csv",
                "path": "cust.csv",
                "columns": {"customer_id": "cust", "customer_name": "name"},
                "values": values,
            },
            "invoices": {
                "kind": "csv",
                "path": "inv.csv",
                "columns": {
                    "invoice_id": "id",
                    "customer_id": "cust",
                    "invoice_date": "date",
                    "due_date": "due",
                    "amount": "amount",
                },
                "values": values,
            },
        },
        files,
    )
    cleaned = _clean(spec)
    assert cleaned.quarantine.empty
    assert set(cleaned.tables["invoices"]["customer_id"]) == {"0358061429"}
    assert _open_ar(cleaned) == Decimal("350.50")


def test_excel_serial_dates(write_sources):
    """``date_format: [excel, "%Y%m%d"]``: 46127 is 2026-04-15 (Excel's 1900 system: day 1 is
    1900-01-01 and 1900-02-29 is counted, so serial n is 1899-12-30 + n days: 45658 is
    2025-01-01, + 365 = 46023 = 2026-01-01, + 104 = 46127 = 2026-04-15), ``46157.0`` is
    2026-05-15 and ``20260601`` the YYYYMMDD form. Open AR 100.00 + 200.00 = 300.00."""
    spec = write_sources(
        {
            "invoices": {
                "kind": "csv",
                "path": "inv.csv",
                "date_format": ["excel", "%Y%m%d"],
                "columns": {
                    "invoice_id": "id",
                    "customer_id": "cust",
                    "invoice_date": "date",
                    "due_date": "due",
                    "amount": "amount",
                },
            }
        },
        {
            "inv.csv": "id,cust,date,due,amount\nI1,C1,46127,46157.0,100.00\nI2,C1,46127,20260601,200.00\n"
        },
    )
    cleaned = _clean(spec)
    inv = cleaned.tables["invoices"].set_index("invoice_id")
    assert inv["invoice_date"].tolist() == [pd.Timestamp("2026-04-15")] * 2
    assert inv["due_date"].tolist() == [pd.Timestamp("2026-05-15"), pd.Timestamp("2026-06-01")]
    assert _open_ar(cleaned) == Decimal("300.00")


def test_excel_serial_without_the_format_names_it(write_sources):
    """Without ``excel`` the error names the value, the row and the format that reads it."""
    spec = write_sources(
        {
            "invoices": {
                "kind": "csv",
                "path": "inv.csv",
                "columns": {
                    "invoice_id": "id",
                    "customer_id": "cust",
                    "invoice_date": "date",
                    "due_date": "due",
                    "amount": "amount",
                },
            }
        },
        {"inv.csv": "id,cust,date,due,amount\nI1,C1,46127.0,2026-05-15,100.00\n"},
    )
    with pytest.raises(SourceError) as err:
        ingest(spec)
    assert err.value.row == 2
    assert "cannot parse '46127.0' as a date" in str(err.value)
    assert "add `excel` to date_format" in str(err.value)


def test_latin1_file_with_a_malformed_row_prints_nothing(write_sources, capfd):
    """A latin-1 file (``Société`` as byte 0xe9) whose line 3 has a field too many: the row is
    quarantined as malformed_row and nothing is printed (the reader used to decode the row in
    UTF-8 and print an ignored UnicodeDecodeError). Open AR = I1's 120.00."""
    data = (
        "id;cust;name;date;due;amount\n"
        "I1;C1;Société;2026-10-01;2026-10-31;120.00\n"
        "I2;C1;Société;x;2026-10-02;2026-11-01;80.00\n"
    ).encode("latin-1")
    spec = write_sources(
        {
            "invoices": {
                "kind": "csv",
                "path": "inv.csv",
                "encoding": "latin-1",
                "delimiter": ";",
                "on_bad_value": "quarantine",
                "columns": {
                    "invoice_id": "id",
                    "customer_id": "cust",
                    "invoice_date": "date",
                    "due_date": "due",
                    "amount": "amount",
                },
                "derive_customers": {"customer_name": "name"},
            }
        },
        {"inv.csv": data},
    )
    cleaned = _clean(spec)
    out, err = capfd.readouterr()
    assert "UnicodeDecodeError" not in out + err
    assert "Exception ignored" not in out + err
    assert cleaned.quarantine[["source_row", "reason"]].values.tolist() == [[3, "malformed_row"]]
    assert cleaned.tables["customers"]["customer_name"].tolist() == ["Société"]
    assert _open_ar(cleaned) == Decimal("120.00")


def test_title_block_above_a_csv_header_is_named_and_header_row_reads_it(write_sources):
    """Two title lines and a blank line above the header (line 4). Without ``header_row`` the
    error names the line and the option; with ``header_row: 4`` the file reads: I1 500.00 and
    I2 1,250.25 are open, open AR 1,750.25, rows numbered as the file's lines (5 and 6)."""
    text = (
        "Offene Posten - Debitoren\nStand 30.11.2026\n\n"
        "id,cust,date,due,amount\n"
        "I1,C1,2026-10-01,2026-10-31,500.00\n"
        "I2,C2,2026-10-05,2026-11-04,1250.25\n"
    )
    cols = {
        "invoice_id": "id",
        "customer_id": "cust",
        "invoice_date": "date",
        "due_date": "due",
        "amount": "amount",
    }
    spec = write_sources({"invoices": {"kind": "csv", "path": "inv.csv", "columns": cols}},
                         {"inv.csv": text})  # fmt: skip
    with pytest.raises(SourceError) as err:
        ingest(spec)
    assert "the header is on line 4" in str(err.value)
    assert "set `header_row: 4`" in str(err.value)
    spec = write_sources(
        {"invoices": {"kind": "csv", "path": "inv.csv", "header_row": 4, "columns": cols}},
        {"inv.csv": text},
    )
    result = ingest(spec)
    assert result.tables["invoices"]["_source_row"].tolist() == [5, 6]
    assert _open_ar(_clean(spec)) == Decimal("1750.25")


def test_check_blocks_on_a_currency_without_a_rate(write_sources, tmp_path):
    """Invoices in EUR (reporting) and CAD without ``fx_rates``: check does not say a run
    would work; it names the currency, how many invoices (2) and the entry to add."""
    from arinsight.check import check

    spec = write_sources(
        {
            "invoices": {
                "kind": "csv",
                "path": "inv.csv",
                "columns": {
                    "invoice_id": "id",
                    "customer_id": "cust",
                    "invoice_date": "date",
                    "due_date": "due",
                    "amount": "amount",
                    "currency": "cur",
                },
            }
        },
        {
            "inv.csv": "id,cust,date,due,amount,cur\n"
            "I1,C1,2026-10-01,2026-10-31,100.00,EUR\n"
            "I2,C2,2026-10-01,2026-10-31,50.00,CAD\n"
            "I3,C2,2026-10-02,2026-11-01,70.00,CAD\n"
        },
    )
    report = check(params={"sources": str(spec), "run_date": RUN, "reporting_currency": "EUR"})
    assert not report.ok
    assert report.blocking == (
        "no exchange rate for CAD (2 invoices): these invoices would be left out of every "
        "figure; add `fx_rates: {CAD: <value of 1 CAD in EUR>}` to the sources file (or set "
        "`reporting_currency:`, or name a rates file: `fx_rates: rates.csv` with columns "
        "currency, date, rate)"
    )


# --------------------------------------------------------------------------------------------
# arinsight map on the same quirks: the proposal, run through ingest and cleaning
# --------------------------------------------------------------------------------------------


def _map_and_clean(tmp_path, paths):
    import yaml

    from arinsight import mapper

    out = tmp_path / "sources.yaml"
    proposal = mapper.propose([str(p) for p in paths], out=out)
    mapper.write(proposal, out)
    return proposal, _clean(out), yaml.safe_load(out.read_text(encoding="utf-8"))


def test_map_reads_a_flat_french_export_with_page_breaks_and_a_totals_row(tmp_path):
    """A flat French export: thousands written with a no-break space (``12 345,60``), the
    header repeated on line 4, a separator line and a totals line, ``Nom du client``.

    map proposes decimal ``,`` / thousands no-break space, on_bad_value: quarantine (the
    separator and totals lines are named), maps ``Montant`` as the amount beside
    ``Montant payé`` (the paid amount) and ``Nom du client`` as the name. By hand: F1
    12,345.60 open; F2 1,000.00 - 400.00 = 600.00; F3 paid. Open AR 12,945.60; quarantined:
    line 4 repeated_header, lines 6 and 7 (the separator and the totals: no dates)
    missing_required."""
    nb = "\xa0"
    text = (
        "N° facture;N° client;Nom du client;Date de facture;Date d'échéance;Montant;"
        "Montant payé;Date de paiement\n"
        f"F1;C1;Société A;01/10/2026;31/10/2026;12{nb}345,60;0,00;\n"
        f"F2;C1;Société A;02/10/2026;01/11/2026;1{nb}000,00;400,00;15/10/2026\n"
        "N° facture;N° client;Nom du client;Date de facture;Date d'échéance;Montant;"
        "Montant payé;Date de paiement\n"
        "F3;C2;Peña SL;03/10/2026;02/11/2026;250,40;250,40;20/10/2026\n"
        "----------;;;;;;;\n"
        f"Total général;;;;;13{nb}596,00;;\n"
    )
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    proposal, cleaned, spec = _map_and_clean(tmp_path, [path])
    src = spec["sources"]["invoices"]
    assert (src["decimal"], src["thousands"]) == (",", nb)
    assert src["on_bad_value"] == "quarantine"
    assert src["columns"]["amount"] == "Montant"
    assert src["derive_payments"]["amount"] == "Montant payé"
    assert src["derive_customers"]["customer_name"] == "Nom du client"
    assert "2 row(s) hold much less than a data row" in proposal.text
    q = cleaned.quarantine[cleaned.quarantine["table"] == "invoices"]
    assert q[["source_row", "reason"]].values.tolist() == [
        [4, "repeated_header"],
        [6, "missing_required"],
        [7, "missing_required"],
    ]
    assert _open_ar(cleaned) == Decimal("12945.60")


def test_map_proposes_excel_serials_and_yyyymmdd_floats_and_pads_zeros(tmp_path):
    """A workbook: BLDAT holds Excel serial numbers (46127 = 2026-04-15, 46128) and FAELL
    YYYYMMDD as floats (20260515.0) beside a date cell; KUNNR writes 0200769623 once and
    200769623 (a number cell) once. map proposes ``excel`` for BLDAT and ``%Y%m%d`` for FAELL,
    and ``zeros: pad, width 10``: one customer 0200769623. Open AR 300.00 + 125.50 = 425.50."""
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "FBL5N"
    ws.append(["BELNR", "KUNNR", "BLDAT", "FAELL", "WRBTR", "WAERS"])
    ws.append(["1900000001", "0200769623", 46127, 20260515.0, 300.00, "EUR"])
    ws.append(["1900000002", 200769623, 46128, dt.datetime(2026, 5, 16), 125.50, "EUR"])
    path = tmp_path / "FBL5N.xlsx"
    wb.save(path)
    proposal, cleaned, spec = _map_and_clean(tmp_path, [path])
    src = spec["sources"]["invoices"]
    formats = src["date_format"]
    assert formats["invoice_date"] == "excel"
    assert "%Y%m%d" in formats["due_date"]
    assert src["normalize"] == {"customer_id": {"zeros": "pad", "width": 10}}
    inv = cleaned.tables["invoices"].set_index("invoice_id")
    assert inv["invoice_date"].tolist() == [pd.Timestamp("2026-04-15"), pd.Timestamp("2026-04-16")]
    assert inv["due_date"].tolist() == [pd.Timestamp("2026-05-15"), pd.Timestamp("2026-05-16")]
    assert set(inv["customer_id"]) == {"0200769623"}
    assert _open_ar(cleaned) == Decimal("425.50")


def test_map_writes_an_fx_rates_block_to_fill_in(tmp_path):
    """Invoices in EUR (3) and CAD (1): map proposes EUR and writes a commented fx_rates
    block naming CAD, which check then asks for."""
    path = tmp_path / "invoices.csv"
    path.write_text(
        "Invoice No,Customer No,Invoice Date,Due Date,Amount,Currency\n"
        "I1,C1,2026-10-01,2026-10-31,100.00,EUR\nI2,C1,2026-10-01,2026-10-31,100.00,EUR\n"
        "I3,C1,2026-10-01,2026-10-31,100.00,EUR\nI4,C2,2026-10-01,2026-10-31,80.00,CAD\n"
    )
    from arinsight import mapper

    text = mapper.propose([str(path)], out=tmp_path / "s.yaml").text
    assert 'reporting_currency: "EUR"' in text
    assert "# fx_rates:  # fill in: the value of 1 unit of each currency in EUR" in text
    assert "#   CAD: <1 CAD in EUR>" in text


def test_map_takes_an_sap_named_payments_file_for_payments(tmp_path):
    """Three SAP-named files: customers (KUNNR, NAME1), invoices (BELNR, KUNNR, BLDAT, FAELL,
    WRBTR, WAERS) and payments (BELNR, REBZG, KUNNR, BUDAT, WRBTR). The payments file has a
    posting date like an invoice file, but REBZG (the invoice it belongs to) says payments:
    BELNR is the payment id, REBZG the invoice, BUDAT the payment date. By hand: 1900000001
    100.00 less 40.00 paid = 60.00 open; 1900000002 250.00 unpaid; open AR 310.00."""
    (tmp_path / "customers.csv").write_text("KUNNR,NAME1\nC1,Alpha\n")
    (tmp_path / "invoices.csv").write_text(
        "BELNR,KUNNR,BLDAT,FAELL,WRBTR,WAERS\n"
        "1900000001,C1,2026-10-01,2026-10-31,100.00,EUR\n"
        "1900000002,C1,2026-10-02,2026-11-01,250.00,EUR\n"
    )
    (tmp_path / "payments.csv").write_text(
        "BELNR,REBZG,KUNNR,BUDAT,WRBTR\n1400000001,1900000001,C1,2026-10-20,40.00\n"
    )
    paths = [tmp_path / f for f in ("customers.csv", "invoices.csv", "payments.csv")]
    proposal, cleaned, spec = _map_and_clean(tmp_path, paths)
    assert spec["sources"]["payments"]["columns"] == {
        "payment_id": "BELNR",
        "invoice_id": "REBZG",
        "customer_id": "KUNNR",
        "payment_date": "BUDAT",
        "amount": "WRBTR",
    }
    assert cleaned.quarantine.empty
    assert _open_ar(cleaned) == Decimal("310.00")


def test_map_reads_latin1_whose_only_non_ascii_byte_is_a_no_break_space(tmp_path):
    """A latin-1 file whose only byte above 0x7F is 0xA0 (the no-break space of ``3 567,33``):
    encoding latin-1 (charset_normalizer guessed cp775, which reads 0xA0 as 'Ā', so the amount
    column was not recognised), decimal ``,``, thousands no-break space. Open AR 3,567.33 +
    195.21 = 3,762.54."""
    data = (
        "Invoice No\tCustomer No\tInvoice Date\tDue Date\tAmount\n"
        "I1\tC1\t2026-10-01\t2026-10-31\t3\xa0567,33\n"
        "I2\tC1\t2026-10-02\t2026-11-01\t195,21\n"
    ).encode("latin-1")
    path = tmp_path / "invoices.csv"
    path.write_bytes(data)
    proposal, cleaned, spec = _map_and_clean(tmp_path, [path])
    src = spec["sources"]["invoices"]
    assert (src["encoding"], src["decimal"], src["thousands"]) == ("latin-1", ",", "\xa0")
    assert src["columns"]["amount"] == "Amount"
    assert _open_ar(cleaned) == Decimal("3762.54")
