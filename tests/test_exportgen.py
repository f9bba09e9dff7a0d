"""The export generator itself (tests/exportgen): deterministic, covering every quirk class, and
its truth equal to figures worked out by hand. Putting the variants through arinsight is
tests/exportgen/run_variants.py (minutes, not a unit test)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest
import yaml
from exportgen.generate import (
    QUIRK_CLASSES,
    active_classes,
    build_ledger,
    generate,
    quirks_for,
    variants,
)


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _first(**want) -> int:
    return next(s for s in range(1000) if all(quirks_for(s)[k] == v for k, v in want.items()))


@pytest.mark.parametrize(
    "want",
    [
        {"layout": "flat", "format": "csv"},
        {"layout": "tables", "format": "xlsx"},
        {"layout": "sap_cleared", "format": "csv"},
        {"layout": "sap_cleared", "format": "xlsx"},
    ],
)
def test_same_seed_same_bytes(tmp_path, want):
    seed = _first(**want)
    generate(seed, tmp_path / "a")
    generate(seed, tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a == b
    assert len(a) >= 3  # the export file(s), truth.json, truth_sources.yml


def test_another_seed_other_bytes(tmp_path):
    generate(6, tmp_path / "a")
    generate(7, tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "b")


def test_first_200_variants_are_distinct_and_use_every_quirk_class_many_times():
    seeds = variants(200, 0)
    assert len(seeds) == 200
    combos = {json.dumps(quirks_for(s), sort_keys=True) for s in seeds}
    assert len(combos) == 200
    used = Counter(c for s in seeds for c in active_classes(quirks_for(s)))
    assert set(used) == set(QUIRK_CLASSES)
    rare = {c: n for c, n in used.items() if n < 5}
    assert not rare, f"quirk classes used fewer than 5 times in 200 variants: {rare}"


def test_quirks_are_consistent():
    for s in variants(200, 0):
        q = quirks_for(s)
        if q["layout"] == "sap_cleared":
            assert q["headers"] == "sap"
        if q["format"] == "xlsx":
            assert q["delimiter"] is None and q["encoding"] is None
            assert q["numbers"] == "plain"
        else:
            assert "excel_serial" not in q["dates"] and "excel_date" not in q["dates"]
        assert not ("dmy_dot" in q["dates"] and "mdy_slash" in q["dates"])
        assert (q["status"] is not None) == (q["layout"] == "flat")
        if q["layout"] == "flat":
            assert not q["export_after_asof"]  # a flat file dates only the last payment


def test_tiny_variant_truth_by_hand(tmp_path):
    """Seed 224 with 4 invoices: separate tables (customers, invoices, payments), German headers,
    reporting currency USD with GBP (base 1.5) and EUR (base 1.25); T = 2026-11-24, exported
    2026-12-01. It ships a rates file: the 1st of each month from 2026-04 to 2026-11, base - 0.05,
    base, base + 0.05 in turn (April -0.05, May 0, June +0.05, July -0.05, August 0, September
    +0.05, October -0.05, November 0).

    customers: K-83104 (North, limit 10,000.00, USD), K-37654 (South, 20,000.00, GBP),
               K-46199 (North, 20,000.00, EUR)

    | invoice    | customer | date       | due        | amount         | payments           |
    | 1922004601 | K-83104  | 2026-09-20 | 2026-10-20 | USD  1,532.50  | 1,532.50 on 09-26  |
    | 1922004635 | K-37654  | 2026-09-20 | 2026-10-20 | GBP 33,122.60  | 6,955.60 on 09-30  |
    | 1922004670 | K-46199  | 2026-08-31 | 2026-09-30 | EUR  8,058.40  | none               |
    | 1922004686 | K-46199  | 2026-11-06 | 2026-12-06 | EUR 35,668.40  | 19,260.80 on 11-26 |

    At T (payments dated <= T count; past due when open and due < T; each invoice at the rate
    dated on or before its invoice date):
    - 4601 is paid in full: open 0.
    - 4635: 33,122.60 - 6,955.60 = GBP 26,167.00, at September's 1.55 = USD 40,558.85, due
      10-20 < T: overdue.
    - 4670: EUR 8,058.40 at August's 1.25 = USD 10,073.00, due 09-30 < T: overdue.
    - 4686: its payment of 11-26 is after T, so EUR 35,668.40 at November's 1.25 = USD
      44,585.50 is open; due 12-06 >= T: current.
    open AR = 40,558.85 + 10,073.00 + 44,585.50 = 95,217.35; overdue AR = 40,558.85 + 10,073.00
    = 50,631.85; 3 open invoices, 2 overdue; per currency EUR 8,058.40 + 35,668.40 = 43,726.80,
    GBP 26,167.00; per customer K-37654 40,558.85, K-46199 10,073.00 + 44,585.50 = 54,658.50;
    over their limit: K-37654 and K-46199 (2).
    """
    v = generate(224, tmp_path, n_invoices=4)
    assert v.as_of == date(2026, 11, 24) and v.export_date == date(2026, 12, 1)
    _, invoices, _, _ = build_ledger(224, quirks_for(224), 4)
    assert [
        (i.id, i.customer.id, str(i.invoice_date), str(i.due_date), i.amount, i.currency)
        for i in invoices
    ] == [
        ("1922004601", "K-83104", "2026-09-20", "2026-10-20", 153250, "USD"),
        ("1922004635", "K-37654", "2026-09-20", "2026-10-20", 3312260, "GBP"),
        ("1922004670", "K-46199", "2026-08-31", "2026-09-30", 805840, "EUR"),
        ("1922004686", "K-46199", "2026-11-06", "2026-12-06", 3566840, "EUR"),
    ]
    assert [[(str(d), c) for _, d, c in i.payments] for i in invoices] == [
        [("2026-09-26", 153250)],
        [("2026-09-30", 695560)],
        [],
        [("2026-11-26", 1926080)],
    ]
    t = v.truth
    assert t["open_ar"] == 95217.35
    assert t["overdue_ar"] == 50631.85
    assert t["open_invoices"] == 3 and t["overdue_invoices"] == 2
    assert t["open_ar_by_currency"] == {"EUR": 43726.80, "GBP": 26167.00}
    assert t["open_ar_by_customer"] == {"K-37654": 40558.85, "K-46199": 54658.50}
    assert t["customers_over_credit_limit"] == 2
    assert t["invoices_billed_by_T"] == 4
    # the files say the same: the payment after T is in the export, the truth is beside it
    assert sorted(v.files) == ["customers.csv", "fx_rates.csv", "invoices.csv", "payments.csv"]
    assert "rates_file" in v.classes
    rates = (tmp_path / "fx_rates.csv").read_text(encoding="utf-8").splitlines()
    assert rates[0] == "currency,date,rate" and "GBP,2026-09-01,1.55" in rates
    assert "EUR,2026-08-01,1.25" in rates and "EUR,2026-11-01,1.25" in rates
    written = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert written["truth"]["open_ar"] == 95217.35 and written["export_date"] == "2026-12-01"
    payments = (tmp_path / "payments.csv").read_bytes().decode("utf-8-sig")
    assert "26.11.2026" in payments or "2026-11-26" in payments
    mapping = yaml.safe_load((tmp_path / "truth_sources.yml").read_text(encoding="utf-8"))
    assert mapping["fx_rates"] == "fx_rates.csv"
    assert set(mapping["sources"]) == {"customers", "invoices", "payments"}


def test_sap_cleared_items_carry_clearing_date_and_residual_items(tmp_path):
    """A partial payment clears the item and posts a residual item (doc type DZ) for the rest,
    with the invoice's due date; a fully paid item has AUGDT and AUGBL."""
    seed = next(
        s
        for s in range(500)
        if quirks_for(s)["layout"] == "sap_cleared"
        and quirks_for(s)["format"] == "csv"
        and not quirks_for(s)["title_block"]
        and not quirks_for(s)["junk_rows"]
        and not quirks_for(s)["totals_row"]
    )
    v = generate(seed, tmp_path)
    q = v.quirks
    text = (tmp_path / "FBL5N_items.csv").read_bytes().decode(q["encoding"])
    lines = text.lstrip("\ufeff").splitlines()
    header = lines[0].split(q["delimiter"])
    for field in ("BUKRS", "KUNNR", "BELNR", "BLDAT", "BUDAT", "ZFBDT", "WRBTR", "DMBTR"):
        assert field in header
    assert {"WAERS", "AUGDT", "AUGBL", "FAELL"} <= set(header)
    rows = [dict(zip(header, ln.split(q["delimiter"]), strict=False)) for ln in lines[1:]]
    assert any(r["BLART"] == "DZ" for r in rows)  # the forced partial payment's residual item
    assert any(r["AUGDT"] and r["AUGBL"] for r in rows)
    assert any(not r["AUGDT"] for r in rows)
