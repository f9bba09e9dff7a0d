"""The engine refuses a processed folder that is not what clean wrote (arinsight.engine.checks).

The ledger: customer C1 (North); invoices I1 100.00 and I2 50.00 dated 2026-10-01, due
2026-10-31; payment P1 of 40.00 to I1 on 2026-10-10. Open AR at 2026-10-31 = 60 + 50 = 110.00.
"""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import empty, ingested

from arinsight.clean import clean, write_processed
from arinsight.engine.duck import kpis_from_processed
from arinsight.errors import ProcessedDataError


@pytest.fixture
def processed(tmp_path):
    tables = {
        "customers": ingested(
            "customers", [{"customer_id": "C1", "customer_name": "One", "region": "North"}]
        ),
        "invoices": ingested(
            "invoices",
            [
                {
                    "invoice_id": i,
                    "customer_id": "C1",
                    "invoice_date": "2026-10-01",
                    "due_date": "2026-10-31",
                    "amount": a,
                }
                for i, a in (("I1", "100.00"), ("I2", "50.00"))
            ],
        ),  # fmt: skip
        "payments": ingested(
            "payments",
            [
                {
                    "payment_id": "P1",
                    "invoice_id": "I1",
                    "customer_id": "C1",
                    "payment_date": "2026-10-10",
                    "amount": "40.00",
                }
            ],
        ),  # fmt: skip
        "sales_reps": empty("sales_reps"),
        "commissions": empty("commissions"),
    }
    folder = tmp_path / "processed"
    write_processed(clean(tables, run_date="2026-11-30"), folder)
    return folder


def _rewrite(path, column, index, value):
    t = pq.read_table(path)
    values = t.column(column).to_pylist()
    values[index] = value
    at = t.schema.get_field_index(column)
    pq.write_table(t.set_column(at, column, pa.array(values, t.schema.field(column).type)), path)


def test_clean_output_computes_and_records_fingerprints(processed):
    """The folder clean wrote passes: open AR 110.00; data_quality.json holds one fingerprint
    per table file."""
    k = kpis_from_processed(processed, "2026-10")
    assert k["All"]["open_ar"] == Decimal("110.00")
    import json

    files = json.loads((processed / "data_quality.json").read_text())["files"]
    assert sorted(files) == [
        f"{t}.parquet"
        for t in sorted(
            [
                "customers",
                "invoices",
                "payments",
                "sales_reps",
                "commissions",
                "adjustments",
                "disputes",
                "promises",
            ]
        )
    ]  # fmt: skip  (the last three optional, empty)
    assert files["invoices.parquet"]["bytes"] == (processed / "invoices.parquet").stat().st_size


def test_a_table_changed_after_clean_is_refused(processed):
    """I2's amount rewritten from 50.00 to 5.00 (still positive, so only the fingerprint can
    tell): refused, naming the file; open AR would have been 65.00."""
    _rewrite(processed / "invoices.parquet", "amount", 1, Decimal("5.00"))
    with pytest.raises(ProcessedDataError, match=r"invoices.parquet: changed after clean wrote"):
        kpis_from_processed(processed, "2026-10")


@pytest.mark.parametrize(
    ("table", "column", "index", "value", "message"),
    [
        ("invoices", "amount", 1, Decimal("-50.00"),
         r"1 row\(s\) with amount <= 0 \(first: invoice_id I2\)"),
        ("invoices", "invoice_id", 1, "I1", r"1 repeated invoice_id \(first: I1\)"),
        ("invoices", "customer_id", 0, None, r"1 row\(s\) with an empty invoice_id / customer_id"),
        ("payments", "amount", 0, Decimal("0.00"),
         r"payments.parquet: 1 row\(s\) with amount <= 0 \(first: payment_id P1\)"),
    ],
)  # fmt: skip
def test_a_value_clean_never_keeps_is_refused_without_fingerprints(
    processed, table, column, index, value, message
):
    """Whatever wrote the folder (no data_quality.json: another tool), a negative or zero
    amount, a repeated key or an empty required field is refused naming the first key."""
    (processed / "data_quality.json").unlink()
    _rewrite(processed / f"{table}.parquet", column, index, value)
    with pytest.raises(ProcessedDataError, match=message):
        kpis_from_processed(processed, "2026-10")


def test_arinsight_kpis_says_what_is_wrong_in_one_line(processed, tmp_path):
    """A processed table without its due_date column: `arinsight kpis` exits 2 with one line
    naming the file and the column, no traceback."""
    t = pq.read_table(processed / "invoices.parquet")
    pq.write_table(t.drop(["due_date"]), processed / "invoices.parquet")
    (processed / "data_quality.json").unlink()
    out = subprocess.run(
        [sys.executable, "-m", "arinsight", "kpis", "--period", "2026-10", "--processed",
         str(processed), "--out", str(tmp_path / "k.json")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "invoices.parquet: invoices: missing column(s) due_date" in lines[0]
