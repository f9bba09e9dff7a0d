"""Currencies and company codes: dated rates, open AR and aging per document currency and per
company code, from the sources file through ingest, clean and the query engine."""

from __future__ import annotations

import textwrap
from decimal import Decimal as D
from pathlib import Path

import pytest

from arinsight import clean, fx, ingest
from arinsight.engine import kpis_from_frames
from arinsight.errors import ConfigError

CUSTOMERS = """\
id,name,region
C1,Maple Ltd,North
C2,Hudson Inc,South
"""

INVOICES = """\
doc,cust,date,due,amount,cur,bukrs
I1,C1,2026-09-05,2026-09-20,1000.00,CAD,3000
I2,C1,2026-09-20,2026-10-20,500.00,CAD,3000
I3,C2,2026-08-01,2026-08-31,300.00,USD,1000
I4,C2,2026-09-10,2026-10-10,200.00,USD,1000
"""

PAYMENTS = """\
pay,doc,cust,date,amount
P1,I1,C1,2026-09-25,400.00
P2,I4,C2,2026-09-28,200.00
"""

RATES = """\
currency,date,rate
CAD,2026-09-01,0.70
CAD,2026-09-16,0.75
"""


def _sources(folder: Path, rates: str = "rates.csv", **ledger: str) -> Path:
    """The sources file of the ledger above in ``folder``; ``ledger`` replaces files of it
    (``invoices="doc,cust,..."``)."""
    files = {"customers": CUSTOMERS, "invoices": INVOICES, "payments": PAYMENTS, "rates": RATES}
    for name, text in {**files, **ledger}.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    spec = folder / "sources.yaml"
    spec.write_text(
        textwrap.dedent(
            f"""\
            reporting_currency: USD
            fx_rates: {rates}
            sources:
              customers:
                kind: csv
                path: customers.csv
                columns: {{customer_id: id, customer_name: name}}
              invoices:
                kind: csv
                path: invoices.csv
                columns: {{invoice_id: doc, customer_id: cust, invoice_date: date,
                           due_date: due, amount: amount, currency: cur, company_code: bukrs}}
              payments:
                kind: csv
                path: payments.csv
                columns: {{payment_id: pay, invoice_id: doc, customer_id: cust,
                           payment_date: date, amount: amount}}
            """
        ),
        encoding="utf-8",
    )
    return spec


def _cleaned(folder: Path, rates: str = "rates.csv") -> clean.CleanResult:
    result = ingest.ingest(_sources(folder, rates))
    return clean.clean_ingested(result.tables, ingest.manifest_of(result), run_date="2026-10-05")


def test_open_ar_and_aging_per_currency_and_company_code(tmp_path):
    """A USD ledger with CAD invoices at dated rates (CAD 0.70 from 2026-09-01, 0.75 from
    2026-09-16), T = 2026-09-30:

    - I1 1,000.00 CAD dated 09-05: rate 0.70 of 09-01 -> 700.00 USD; P1 pays 400.00 CAD on 09-25
      (at I1's rate: 280.00 USD); open 600.00 CAD = 420.00 USD, due 09-20: 10 days past due
      (1-30);
    - I2 500.00 CAD dated 09-20: rate 0.75 of 09-16 -> 375.00 USD; open, due 10-20 (Current);
    - I3 300.00 USD dated 08-01, due 08-31: open, 30 days past due (1-30);
    - I4 200.00 USD paid in full on 09-28: not open.

    Open AR (USD) = 420 + 375 + 300 = 1,095.00. Per currency: CAD 1,100.00 CAD (600 + 500) =
    795.00 USD, 2 invoices, aging Current 500.00 / 1-30 600.00; USD 300.00 = 300.00 USD, 1
    invoice, 1-30 300.00; 795 + 300 = 1,095.00. Per company code: 3000 (I1, I2) open 795.00,
    overdue 420.00, aging in USD Current 375.00 (I2) / 1-30 420.00 (I1); 1000 (I3) open 300.00,
    overdue 300.00, 1-30 300.00. North (C1) holds the CAD invoices, South (C2) the USD ones."""
    tables = _cleaned(tmp_path).tables
    inv = tables["invoices"].set_index("invoice_id")
    assert inv["amount"].to_dict() == {"I1": 700.0, "I2": 375.0, "I3": 300.0, "I4": 200.0}
    assert inv["company_code"].to_dict() == {"I1": "3000", "I2": "3000", "I3": "1000", "I4": "1000"}
    k = kpis_from_frames(tables, "2026-09", {}, regions=None)
    a = k["All"]
    assert a["open_ar"] == D("1095.00")
    zero = D("0.00")
    aging = dict.fromkeys(["Current", "1-30", "31-60", "61-90", "91-120", "120+"], zero)
    assert a["open_ar_by_currency"] == {
        "CAD": {
            "open_ar": D("1100.00"),
            "open_ar_reporting": D("795.00"),
            "invoices": 2,
            "aging": {**aging, "Current": D("500.00"), "1-30": D("600.00")},
        },
        "USD": {
            "open_ar": D("300.00"),
            "open_ar_reporting": D("300.00"),
            "invoices": 1,
            "aging": {**aging, "1-30": D("300.00")},
        },
    }
    assert a["open_ar_by_entity"] == {
        "1000": {
            "open_ar": D("300.00"),
            "overdue_ar": D("300.00"),
            "invoices": 1,
            "aging": {**aging, "1-30": D("300.00")},
        },
        "3000": {
            "open_ar": D("795.00"),
            "overdue_ar": D("420.00"),
            "invoices": 2,
            "aging": {**aging, "Current": D("375.00"), "1-30": D("420.00")},
        },
    }
    assert list(k["North"]["open_ar_by_currency"]) == ["CAD"]
    assert k["South"]["open_ar_by_currency"]["USD"]["open_ar"] == D("300.00")
    total = sum(c["open_ar_reporting"] for c in a["open_ar_by_currency"].values())
    assert total == a["open_ar"]


def test_a_constant_rate_still_works_and_states_no_rate_date(tmp_path):
    """``fx_rates: {CAD: 0.8}``: I1 1,000.00 CAD -> 800.00 USD, I2 500.00 CAD -> 400.00 USD, each
    with fx_rate 0.8 and no rate date; open AR = 600 x 0.8 + 400 + 300 = 1,180.00 USD."""
    tables = _cleaned(tmp_path, "{CAD: 0.8}").tables
    inv = tables["invoices"].set_index("invoice_id")
    assert inv.loc[["I1", "I2"], "amount"].tolist() == [800.0, 400.0]
    assert inv["fx_rate_date"].isna().all()
    assert kpis_from_frames(tables, "2026-09", {}, regions=())["All"]["open_ar"] == D("1180.00")


def test_rates_file_errors_name_file_row_and_column(tmp_path):
    """A rates file without a rate column, or with a bad rate, is refused with the file, the
    row and the column."""
    bad = tmp_path / "r.csv"
    bad.write_text("currency,date\nCAD,2026-01-01\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"r.csv: a rates file needs the columns .* \['rate'\]"):
        fx.read_rates_file(bad)
    bad.write_text("currency,date,rate\nCAD,2026-01-01,0.7\nCAD,2026-13-01,0.7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"r.csv, row 3, column 'date': '2026-13-01' is not"):
        fx.read_rates_file(bad)
    bad.write_text("currency,date,rate\nCAD,2026-01-01,0,7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"row 2, column 'rate': '0' must be a positive"):
        fx.read_rates_file(bad)


def test_receivables_page_tables_per_currency_and_company_code(tmp_path):
    """The page's tables over the kept period results of the ledger above (T = 2026-09-30):
    CAD 1,100.00 CAD = 795.00 USD, 2 open invoices converted at two dated rates (0.70 of
    2026-09-01 for I1, 0.75 of 2026-09-16 for I2); USD 300.00, the reporting currency; company
    codes 1000 (300.00 open and overdue) and 3000 (795.00 open, 420.00 overdue)."""
    from arinsight import receivables as rec
    from arinsight.engine.period import period_results

    cleaned = _cleaned(tmp_path)
    folder = tmp_path / "processed"
    clean.write_processed(cleaned, folder)
    r = period_results(folder, "2026-09", None, {"reporting_currency": "USD"})
    table = rec.currency_table(r.kpis("All"), r.positions("All"), "USD")
    assert table[["currency", "open_ar", "open_ar_reporting", "invoices"]].values.tolist() == [
        ["CAD", 1100.0, 795.0, 2],
        ["USD", 300.0, 300.0, 1],
    ]
    assert table["rate"].tolist() == [
        "1 CAD = 0.7000 (2026-09-01) to 0.7500 (2026-09-16) USD, 2 rates: each invoice at the "
        "rate on or before its date",
        "reporting currency",
    ]
    assert table[["Current", "1-30"]].values.tolist() == [[500.0, 600.0], [0.0, 300.0]]
    entities = rec.entity_table(r.kpis("All"))
    assert entities[["company_code", "open_ar", "overdue_ar", "invoices"]].values.tolist() == [
        ["1000", 300.0, 300.0, 1],
        ["3000", 795.0, 420.0, 2],
    ]
    assert entities[["Current", "1-30", "31-60"]].values.tolist() == [
        [0.0, 300.0, 0.0],
        [375.0, 420.0, 0.0],
    ]
    # nothing open (a region without invoices): empty tables that keep their columns
    empty = rec.currency_table({}, r.positions("All"), "USD")
    assert empty.empty and "open_ar_reporting" in empty.columns
    assert rec.entity_table({}).empty


def test_company_codes_selects_the_legal_entities_to_report(tmp_path):
    """``company_codes: [3000]`` reports entity 3000 only: I1 and I2 are kept (open AR 795.00
    USD), I3 and I4 (company code 1000) are set aside as other_company_code, and so is P2,
    the payment of I4; P1 (of I1) is kept. Rows read = kept + set aside: 4 = 2 + 2 invoices,
    2 = 1 + 1 payments."""
    spec = _sources(tmp_path)
    spec.write_text(spec.read_text(encoding="utf-8") + "company_codes: [3000]\n", encoding="utf-8")
    result = ingest.ingest(spec)
    cleaned = clean.clean_ingested(result.tables, ingest.manifest_of(result), run_date="2026-10-05")
    assert sorted(cleaned.tables["invoices"]["invoice_id"]) == ["I1", "I2"]
    assert cleaned.tables["payments"]["payment_id"].tolist() == ["P1"]
    q = cleaned.quarantine
    assert sorted(q.loc[q["reason"] == "other_company_code", "key"]) == ["I3", "I4", "P2"]
    assert cleaned.summary["company_codes"] == ["3000"]
    k = kpis_from_frames(cleaned.tables, "2026-09", {}, regions=())["All"]
    assert k["open_ar"] == D("795.00")
    assert list(k["open_ar_by_entity"]) == ["3000"]


def test_adjustments_convert_at_their_invoices_rate(tmp_path):
    """A write-off of 100.01 CAD on I1 (dated 09-05: rate 0.70) is 70.007 -> 70.01 USD (half
    up, to the cent); a credit note of 10.00 USD on I3 (USD) stays 10.00. The amounts as written
    are not rescaled by the rate of another day (I2's 0.75 would give 75.01)."""
    (tmp_path / "adjustments.csv").write_text(
        "id,doc,cust,date,amount,kind\n"
        "A1,I1,C1,2026-09-30,100.01,write_off\n"
        "A2,I3,C2,2026-09-30,10.00,credit_note\n",
        encoding="utf-8",
    )
    spec = _sources(tmp_path)
    spec.write_text(
        spec.read_text(encoding="utf-8")
        + "  adjustments:\n    kind: csv\n    path: adjustments.csv\n"
        "    columns: {adjustment_id: id, invoice_id: doc, customer_id: cust,\n"
        "              adjustment_date: date, amount: amount, kind: kind}\n",
        encoding="utf-8",
    )
    result = ingest.ingest(spec)
    cleaned = clean.clean_ingested(result.tables, ingest.manifest_of(result), run_date="2026-10-05")
    adj = cleaned.tables["adjustments"].set_index("adjustment_id")
    assert adj.loc["A1", "amount"] == 70.01
    assert adj.loc["A2", "amount"] == 10.00


def test_a_rates_file_is_an_input_recorded_with_its_sha256(tmp_path):
    """``fx_rates: rates.csv`` is read like an export: the ingest manifest, whose files become
    the run manifest's inputs and every page's provenance, lists it with its sha256 and the 2
    dated rates it holds (CAD of 2026-09-01 and of 2026-09-16). Constant rates name no file."""
    import hashlib

    result = ingest.ingest(_sources(tmp_path))
    entry = [f for f in result.files if f["table"] == "fx_rates"]
    digest = hashlib.sha256((tmp_path / "rates.csv").read_bytes()).hexdigest()
    assert entry == [
        {"table": "fx_rates", "kind": "csv", "path": entry[0]["path"], "sha256": digest, "rows": 2}
    ]
    assert entry[0]["path"].endswith("rates.csv")
    interim = tmp_path / "interim"
    ingest.write_interim(result, interim)
    inputs = {f["table"]: f for f in ingest.read_interim(interim)[1]["files"]}
    assert inputs["fx_rates"]["sha256"] == digest
    constant = ingest.ingest(_sources(tmp_path, "{CAD: 0.8}"))
    assert "fx_rates" not in {f["table"] for f in constant.files}


def test_two_legal_entities_across_two_regions(tmp_path):
    """Two company codes, each with invoices of both regions; USD ledger, CAD at a constant
    0.80; T = 2026-09-30.

    - A1 C1 (North) entity 1000, 1,000.00 USD dated 08-01, due 08-31: open, 30 days past due
      (1-30);
    - A2 C2 (South) entity 1000, 400.00 USD dated 06-01, due 07-01, 100.00 paid 09-10: open
      300.00, 91 days past due (91-120);
    - B1 C1 (North) entity 2000, 500.00 CAD = 400.00 USD dated 09-10, due 10-10: open, Current;
    - B2 C2 (South) entity 2000, 250.00 USD dated 07-15, due 08-14: open, 47 days past due
      (31-60);
    - B3 C2 (South) entity 2000, 600.00 USD dated 09-01, paid in full 09-20: not open.

    All: open AR 1,000 + 300 + 400 + 250 = 1,950.00. Entity 1000: open 1,300.00, overdue
    1,300.00, 2 invoices, 1-30 1,000.00 / 91-120 300.00; entity 2000: open 650.00, overdue
    250.00, 2 invoices, Current 400.00 / 31-60 250.00. North: 1000 -> 1,000.00 (1-30), 2000 ->
    400.00 (Current); South: 1000 -> 300.00 (91-120), 2000 -> 250.00 (31-60). Each region's
    entities add up to its open AR (North 1,400.00, South 550.00)."""
    from arinsight import receivables as rec

    spec = _sources(
        tmp_path,
        "{CAD: 0.8}",
        invoices="doc,cust,date,due,amount,cur,bukrs\n"
        "A1,C1,2026-08-01,2026-08-31,1000.00,USD,1000\n"
        "A2,C2,2026-06-01,2026-07-01,400.00,USD,1000\n"
        "B1,C1,2026-09-10,2026-10-10,500.00,CAD,2000\n"
        "B2,C2,2026-07-15,2026-08-14,250.00,USD,2000\n"
        "B3,C2,2026-09-01,2026-09-15,600.00,USD,2000\n",
        payments="pay,doc,cust,date,amount\n"
        "P1,A2,C2,2026-09-10,100.00\n"
        "P2,B3,C2,2026-09-20,600.00\n",
    )
    result = ingest.ingest(spec)
    cleaned = clean.clean_ingested(result.tables, ingest.manifest_of(result), run_date="2026-10-05")
    k = kpis_from_frames(cleaned.tables, "2026-09", {}, regions=None)
    zero = D("0.00")
    aging = dict.fromkeys(["Current", "1-30", "31-60", "61-90", "91-120", "120+"], zero)

    def entity(open_ar: str, overdue: str, n: int, **buckets: str) -> dict:
        ages = {**aging, **{b.replace("_", "-"): D(v) for b, v in buckets.items()}}
        return {"open_ar": D(open_ar), "overdue_ar": D(overdue), "invoices": n, "aging": ages}

    assert k["All"]["open_ar"] == D("1950.00")
    assert k["All"]["open_ar_by_entity"] == {
        "1000": entity("1300.00", "1300.00", 2, **{"1_30": "1000.00", "91_120": "300.00"}),
        "2000": entity("650.00", "250.00", 2, Current="400.00", **{"31_60": "250.00"}),
    }
    assert k["North"]["open_ar_by_entity"] == {
        "1000": entity("1000.00", "1000.00", 1, **{"1_30": "1000.00"}),
        "2000": entity("400.00", "0.00", 1, Current="400.00"),
    }
    assert k["South"]["open_ar_by_entity"] == {
        "1000": entity("300.00", "300.00", 1, **{"91_120": "300.00"}),
        "2000": entity("250.00", "250.00", 1, **{"31_60": "250.00"}),
    }
    for region in ("All", "North", "South"):
        table = rec.entity_table(k[region])
        assert table["open_ar"].sum() == pytest.approx(float(k[region]["open_ar"]))
        buckets = table[list(aging)].sum(axis=1)
        assert buckets.tolist() == pytest.approx(table["open_ar"].tolist())
