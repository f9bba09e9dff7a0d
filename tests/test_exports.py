"""Every CSV and Excel file arinsight writes is safe to open in a spreadsheet (OWASP's CSV
injection guidance): text starting with = + - @, a tab or a carriage return gets a leading ' so
it shows as text; numbers, negative ones included, stay numbers."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from arinsight.files import csv_text, safe_cell, write_csv, write_excel

HOSTILE = [
    '=HYPERLINK("http://evil.example","Pay here")',
    "+SUM(1,2)",
    "-2+3",
    "@cmd",
    "\tTab Corp",
    "\rCR Corp",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_formula_like_text_gets_a_leading_quote(name):
    assert safe_cell(name) == "'" + name


@pytest.mark.parametrize("value", ["-12.50", "+3", "-0,5", "Acme", "", 12, -5.5, None])
def test_plain_numbers_and_ordinary_text_are_unchanged(value):
    assert safe_cell(value) == value


def test_write_csv_neutralises_every_text_cell_and_header(tmp_path):
    """Names, ids and even a column header starting with "=" are quoted; the amount column
    (numbers) and a negative amount written as text stay as they are."""
    df = pd.DataFrame(
        {"customer_name": HOSTILE, "amount": [1.0, -2.0, 3.0, 4.0, 5.0, 6.0], "=x": ["-7"] * 6}
    )
    path = write_csv(df, tmp_path / "out.csv")
    text = csv_text(df)
    assert path.read_bytes().decode("utf-8") == text
    assert text.endswith('"\'\rCR Corp",6.0,-7\r\n')  # quoted: the CR stays in the cell
    lines = text.split("\r\n")
    assert lines[0] == "customer_name,amount,'=x"
    assert lines[1] == '"\'=HYPERLINK(""http://evil.example"",""Pay here"")",1.0,-7'
    assert lines[2].startswith("'+SUM(1,2)") or lines[2].startswith('"\'+SUM(1,2)"')
    assert lines[3] == "'-2+3,3.0,-7"
    assert lines[4] == "'@cmd,4.0,-7"


def test_write_excel_stores_formula_like_text_as_text(tmp_path):
    """openpyxl turns a string starting with "=" into a formula; the workbook arinsight writes
    keeps it as the neutralised text instead, and numbers as numbers."""
    path = write_excel(
        tmp_path / "w.xlsx", {"worklist": pd.DataFrame({"name": HOSTILE[:4], "n": [1, 2, 3, 4]})}
    )
    ws = openpyxl.load_workbook(path)["worklist"]
    cells = [(c.value, c.data_type) for c in ws["A"][1:]]
    assert cells == [("'" + h, "s") for h in HOSTILE[:4]]
    assert [c.value for c in ws["B"][1:]] == [1, 2, 3, 4]


def test_alerts_worklist_and_crossings_are_safe(tmp_path):
    """arinsight alerts writes the collections worklist (CSV, Excel) and the overdue crossings
    with the customer's name: invoice I1 (due 2026-09-30, unpaid) is 31 days past due at
    2026-10-31 and crosses the 1- and 30-day thresholds; its customer is named
    =HYPERLINK(...), which is neutralised in all three files."""
    from conftest import clean_table

    from arinsight import notify

    processed = tmp_path / "processed"
    processed.mkdir()
    clean_table(
        "invoices",
        [
            {
                "invoice_id": "I1",
                "customer_id": "C1",
                "invoice_date": "2026-09-01",
                "due_date": "2026-09-30",
                "amount": 300.0,
                "due_date_derived": False,
                "is_overpaid": False,
            }
        ],
    ).to_parquet(processed / "invoices.parquet")
    clean_table("payments", []).to_parquet(processed / "payments.parquet")
    clean_table(
        "customers",
        [{"customer_id": "C1", "customer_name": HOSTILE[0], "contact_email": "ap@x.example"}],
    ).to_parquet(processed / "customers.parquet")
    reports = tmp_path / "reports"
    code = notify.run_alerts("2026-10", dry_run=True, processed_dir=processed, reports_dir=reports)
    assert code == 0
    folder = reports / "2026-10" / "alerts"
    for name in ("collections_worklist.csv", "overdue_crossings.csv"):
        text = (folder / name).read_text(encoding="utf-8")
        assert "'=HYPERLINK" in text and ',"=HYPERLINK' not in text, name
    ws = openpyxl.load_workbook(folder / "collections_worklist.xlsx")["worklist"]
    values = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "'" + HOSTILE[0] in values
    assert not any(v.startswith("=") for v in values)
