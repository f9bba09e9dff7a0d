"""``normalize`` per id column (leading zeros, case, spaces) and repeated header names in
``arinsight check``."""

from __future__ import annotations

import pytest
import yaml

from arinsight import clean, ingest
from arinsight.errors import SourceError

INVOICES = (
    "invoice_id,customer_id,invoice_date,due_date,amount\n"
    "I1,0200769623,2026-09-01,2026-10-01,100.00\n"
    "I2,200769623,2026-09-05,2026-10-05,50.00\n"
    "I3, c 01 ,2026-09-06,2026-10-06,7.00\n"
)


def _ingest(write_sources, normalize):
    spec = write_sources(
        {"invoices": {"kind": "csv", "path": "i.csv", "normalize": normalize}}, {"i.csv": INVOICES}
    )
    return ingest.ingest(spec)


def test_strip_leading_zeros_makes_one_customer(write_sources):
    """0200769623 and 200769623 are one customer once zeros are stripped: the derived customer
    table has 2 customers (200769623 and 'c 01'), and 200769623's invoices total 100 + 50 = 150
    after cleaning."""
    result = _ingest(write_sources, {"customer_id": {"zeros": "strip"}})
    inv = result.tables["invoices"]
    assert inv["customer_id"].tolist() == ["200769623", "200769623", "c 01"]
    assert sorted(result.tables["customers"]["customer_id"]) == ["200769623", "c 01"]
    cleaned = clean.clean(result.tables, run_date="2026-10-15").tables["invoices"]
    totals = cleaned.groupby("customer_id")["amount"].sum().to_dict()
    assert totals == {"200769623": 150.0, "c 01": 7.0}


def test_without_normalize_the_customer_is_split(write_sources):
    """The same file without the option: three customers, as written."""
    spec = write_sources({"invoices": {"kind": "csv", "path": "i.csv"}}, {"i.csv": INVOICES})
    result = ingest.ingest(spec)
    assert sorted(result.tables["customers"]["customer_id"]) == ["0200769623", "200769623", "c 01"]


def test_pad_case_and_inner_spaces(write_sources):
    """zeros: pad to width 10 pads the digit-only 200769623 to 0200769623 (0200769623 is already
    10 wide); trim: all and case: upper make ' c 01 ' 'C01' (letters: never padded)."""
    result = _ingest(
        write_sources,
        {"customer_id": {"zeros": "pad", "width": 10, "case": "upper", "trim": "all"}},
    )
    assert result.tables["invoices"]["customer_id"].tolist() == ["0200769623", "0200769623", "C01"]


def test_strip_keeps_one_zero_and_floats_read_first():
    """'000' strips to '0'; an id written as a float (00042.0) is read as 42 before stripping."""
    import pandas as pd

    from arinsight.ingest.canonical import id_text, normalize_ids

    text, _ = id_text(pd.Series(["000", "00042.0", "0A7", ""]))
    assert normalize_ids(text, {"zeros": "strip"}).tolist() == ["0", "42", "A7", ""]


@pytest.mark.parametrize(
    "normalize, message",
    [
        ({"amount": {"zeros": "strip"}}, "normalize: 'amount' is not an id column of invoices"),
        ({"customer_id": {"zeros": "pad"}}, "zeros: pad needs width: <1 to 64>, got None"),
        (
            {"customer_id": {"zeros": "drop"}},
            "normalize.customer_id.zeros must be one of keep, strip, pad",
        ),
        ({"customer_id": {"width": 5}}, "width goes with zeros: pad"),
        ({"customer_id": {"zero": "strip"}}, "unknown option(s) ['zero']"),
    ],
)
def test_bad_normalize_options_are_named(write_sources, normalize, message):
    with pytest.raises(SourceError) as err:
        _ingest(write_sources, normalize)
    assert message in str(err.value)


def test_check_warns_about_repeated_headers(tmp_path, write_sources):
    """Two columns named document_create_date (read as 'document_create_date (1)' and '(2)'),
    the mapping uses the second as invoice_date: check passes and warns which copy is used and
    which is not read."""
    from arinsight.check import check

    spec = write_sources(
        {
            "invoices": {
                "kind": "csv",
                "path": "i.csv",
                "columns": {"invoice_date": "document_create_date (2)"},
            }
        },
        {
            "i.csv": "invoice_id,customer_id,document_create_date,document_create_date,due_date,amount\n"
            "I1,C1,2026-08-30,2026-09-01,2026-10-01,10.00\n"
        },
    )
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"sources": str(spec), "run_date": "2026-10-15"}))
    report = check([params])
    assert report.ok
    assert report.warnings == [
        "invoices: the header 'document_create_date' appears 2 times, read as "
        "'document_create_date (1)', 'document_create_date (2)' in file order; the mapping uses "
        "'document_create_date (2)', 'document_create_date (1)' not used"
    ]


def test_check_prints_the_normalisation(tmp_path, write_sources):
    """The mapping report says which ids are normalised and how."""
    from arinsight.check import check

    spec = write_sources(
        {
            "invoices": {
                "kind": "csv",
                "path": "i.csv",
                "normalize": {"customer_id": {"zeros": "strip"}},
            }
        },
        {"i.csv": INVOICES},
    )
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"sources": str(spec), "run_date": "2026-10-15"}))
    assert "  normalize: customer_id: zeros strip\n" in check([params]).text()
