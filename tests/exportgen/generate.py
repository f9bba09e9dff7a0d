"""Generate one small true AR ledger from a seed and write it as an ERP/accounting export with
real-world quirks, beside its truth (the figures an analyst computes by hand at the as-of date T)
and the sources file the generator's own knowledge gives (``truth_sources.yml``).

Everything is drawn from ``random.Random`` seeded by strings, so the same seed gives the same
bytes on every machine (xlsx files are re-zipped with fixed timestamps). See README.md here for
every quirk class and every assumption behind the truth.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

# --------------------------------------------------------------------------------------------
# Quirk classes
# --------------------------------------------------------------------------------------------

LAYOUTS = ("flat", "tables", "sap_cleared")
LANGS = ("en", "de", "fr", "es", "sap")
STATUS_LANGS = ("en", "de", "fr", "es", "mixed")
NUMBER_STYLES = ("plain", "us", "de", "fr")
ENCODINGS = ("utf-8", "utf-8-sig", "latin-1")
DELIMITERS = (",", ";", "\t")
CSV_DATE_FORMATS = ("iso", "iso_time", "ymd", "ymd_float", "dmy_dot", "mdy_slash")
XLSX_DATE_FORMATS = (
    "excel_date",
    "iso",
    "iso_time",
    "ymd",
    "ymd_int",
    "ymd_float",
    "dmy_dot",
    "excel_serial",
)

# Every class a variant can exercise; ``active_classes`` names those a variant uses.
QUIRK_CLASSES = (
    "layout_flat",
    "layout_tables",
    "layout_sap_cleared",
    "format_csv",
    "format_xlsx",
    "column_order",
    "title_block",
    "duplicate_columns",
    "junk_rows",
    "totals_row",
    "mixed_dates",
    "date_iso",
    "date_iso_time",
    "date_ymd",
    "date_ymd_int",
    "date_ymd_float",
    "date_dmy_dot",
    "date_mdy_slash",
    "date_excel_date",
    "date_excel_serial",
    "float_ids",
    "leading_zeros",
    "numbers_us",
    "numbers_de",
    "numbers_fr",
    "encoding_bom",
    "encoding_latin1",
    "delimiter_comma",
    "delimiter_semicolon",
    "delimiter_tab",
    "multi_currency",
    "company_codes",
    "status_en",
    "status_de",
    "status_fr",
    "status_es",
    "status_mixed",
    "headers_en",
    "headers_de",
    "headers_fr",
    "headers_es",
    "headers_sap",
    "export_after_asof",
)

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

HEADERS: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "invoices": {
            "invoice_id": "Invoice No",
            "customer_id": "Customer No",
            "customer_name": "Customer Name",
            "region": "Region",
            "credit_limit": "Credit Limit",
            "invoice_date": "Invoice Date",
            "due_date": "Due Date",
            "amount": "Amount",
            "currency": "Currency",
            "company_code": "Company Code",
            "paid_amount": "Paid Amount",
            "paid_date": "Paid Date",
            "status": "Status",
            "text": "Text",
            "reference": "Reference",
            "posting_date": "Posting Date",
        },
        "payments": {
            "payment_id": "Payment No",
            "invoice_id": "Invoice No",
            "customer_id": "Customer No",
            "payment_date": "Payment Date",
            "amount": "Amount",
            "currency": "Currency",
            "method": "Method",
        },
        "customers": {
            "customer_id": "Customer No",
            "customer_name": "Customer Name",
            "region": "Region",
            "credit_limit": "Credit Limit",
        },
    },
    "de": {
        "invoices": {
            "invoice_id": "Belegnummer",
            "customer_id": "Kundennummer",
            "customer_name": "Kundenname",
            "region": "Region",
            "credit_limit": "Kreditlimit",
            "invoice_date": "Belegdatum",
            "due_date": "Fälligkeit",
            "amount": "Betrag",
            "currency": "Währung",
            "company_code": "Buchungskreis",
            "paid_amount": "Gezahlter Betrag",
            "paid_date": "Zahlungsdatum",
            "status": "Status",
            "text": "Text",
            "reference": "Referenz",
            "posting_date": "Buchungsdatum",
        },
        "payments": {
            "payment_id": "Zahlungsnummer",
            "invoice_id": "Belegnummer",
            "customer_id": "Kundennummer",
            "payment_date": "Zahlungsdatum",
            "amount": "Betrag",
            "currency": "Währung",
            "method": "Zahlweg",
        },
        "customers": {
            "customer_id": "Kundennummer",
            "customer_name": "Name",
            "region": "Region",
            "credit_limit": "Kreditlimit",
        },
    },
    "fr": {
        "invoices": {
            "invoice_id": "N° facture",
            "customer_id": "N° client",
            "customer_name": "Nom du client",
            "region": "Région",
            "credit_limit": "Limite de crédit",
            "invoice_date": "Date de facture",
            "due_date": "Date d'échéance",
            "amount": "Montant",
            "currency": "Devise",
            "company_code": "Société",
            "paid_amount": "Montant payé",
            "paid_date": "Date de paiement",
            "status": "Statut",
            "text": "Libellé",
            "reference": "Référence",
            "posting_date": "Date comptable",
        },
        "payments": {
            "payment_id": "N° paiement",
            "invoice_id": "N° facture",
            "customer_id": "N° client",
            "payment_date": "Date de paiement",
            "amount": "Montant",
            "currency": "Devise",
            "method": "Mode de paiement",
        },
        "customers": {
            "customer_id": "N° client",
            "customer_name": "Raison sociale",
            "region": "Région",
            "credit_limit": "Limite de crédit",
        },
    },
    "es": {
        "invoices": {
            "invoice_id": "Nº factura",
            "customer_id": "Nº cliente",
            "customer_name": "Nombre del cliente",
            "region": "Región",
            "credit_limit": "Límite de crédito",
            "invoice_date": "Fecha de factura",
            "due_date": "Fecha de vencimiento",
            "amount": "Importe",
            "currency": "Moneda",
            "company_code": "Sociedad",
            "paid_amount": "Importe pagado",
            "paid_date": "Fecha de pago",
            "status": "Estado",
            "text": "Texto",
            "reference": "Referencia",
            "posting_date": "Fecha contable",
        },
        "payments": {
            "payment_id": "Nº pago",
            "invoice_id": "Nº factura",
            "customer_id": "Nº cliente",
            "payment_date": "Fecha de pago",
            "amount": "Importe",
            "currency": "Moneda",
            "method": "Forma de pago",
        },
        "customers": {
            "customer_id": "Nº cliente",
            "customer_name": "Razón social",
            "region": "Región",
            "credit_limit": "Límite de crédito",
        },
    },
    "sap": {
        "invoices": {
            "invoice_id": "BELNR",
            "customer_id": "KUNNR",
            "customer_name": "NAME1",
            "region": "REGIO",
            "credit_limit": "KLIMK",
            "invoice_date": "BLDAT",
            "due_date": "FAELL",
            "amount": "WRBTR",
            "currency": "WAERS",
            "company_code": "BUKRS",
            "paid_amount": "RWBTR",
            "paid_date": "AUGDT",
            "status": "STATUS",
            "text": "SGTXT",
            "reference": "XBLNR",
            "posting_date": "BUDAT",
            # cleared-items extract only
            "fiscal_year": "GJAHR",
            "doc_type": "BLART",
            "baseline_date": "ZFBDT",
            "terms_days": "ZBD1T",
            "local_amount": "DMBTR",
            "debit_credit": "SHKZG",
            "clearing_doc": "AUGBL",
        },
        "payments": {
            "payment_id": "BELNR",
            "invoice_id": "REBZG",
            "customer_id": "KUNNR",
            "payment_date": "BUDAT",
            "amount": "WRBTR",
            "currency": "WAERS",
            "method": "ZLSCH",
        },
        "customers": {
            "customer_id": "KUNNR",
            "customer_name": "NAME1",
            "region": "REGIO",
            "credit_limit": "KLIMK",
            "country": "LAND1",
            "city": "ORT01",
        },
    },
}

# a repeated name the mapping never uses (the issue's SAP extract had two document_create_date)
DUPLICATE_NAMES = ("document_create_date", "Reference")

STATUS_WORDS = {
    "en": {"paid": "Paid", "partial": "Partially paid", "open": "Open"},
    "de": {"paid": "bezahlt", "partial": "teilbezahlt", "open": "offen"},
    "fr": {"paid": "payé", "partial": "partiellement payé", "open": "impayé"},
    "es": {"paid": "pagado", "partial": "pago parcial", "open": "pendiente"},
}

TITLES = {
    "en": ["Accounts receivable - open and cleared items", "Run date: {E}"],
    "de": ["Debitoren - offene und ausgeglichene Posten", "Stichtag: {E}"],
    "fr": ["Clients - postes ouverts et soldés", "Date d'extraction : {E}"],
    "es": ["Clientes - partidas abiertas y compensadas", "Fecha de extracción: {E}"],
    "sap": ["Kundeneinzelposten (FBL5N)", "Buchungskreis *  Stichtag {E}"],
}
TOTAL_WORDS = {"en": "Total", "de": "Summe", "fr": "Total général", "es": "Total", "sap": "*"}

CUSTOMER_NAMES = (
    "Müller Energie GmbH",
    "Société Générale d'Électricité",
    "Peña Hermanos S.L.",
    "Nordwind AG",
    "Acme Corp",
    "Björk & Söner AB",
    "Café du Théâtre SARL",
    "Großhandel Weiß KG",
    "Industrias Ñandú S.A.",
    "Ørsted Supply ApS",
    "Blue Ridge Utilities Inc.",
    "Maple Leaf Grid Ltd.",
)
REGIONS = ("North", "South", "East", "West")
METHODS = ("wire", "SEPA", "check", "ACH")

# 1 unit of the currency = rate x reporting currency. Foreign amounts are multiples of 0.20, so
# every conversion is exact to the cent whatever the rounding convention (see README.md).
#: The rates file a multi-currency variant may ship (see dated_rates).
RATES_FILE = "fx_rates.csv"
FX = {
    "USD": {"EUR": 1.25, "CAD": 0.75, "GBP": 1.5, "CHF": 1.25},
    "EUR": {"USD": 0.8, "CAD": 0.6, "GBP": 1.25, "CHF": 1.0},
}
COMPANY_CODES = {"USD": "1000", "EUR": "2000", "CAD": "3000", "GBP": "4000", "CHF": "5000"}

DATE_TOKENS = {  # the documented date_format token that reads each written form
    "iso": "iso",
    "iso_time": "iso",
    "ymd": "%Y%m%d",
    "ymd_int": "%Y%m%d",
    "ymd_float": "%Y%m%d",
    "dmy_dot": "%d.%m.%Y",
    "mdy_slash": "%m/%d/%Y",
    "excel_serial": "excel",  # date_format: excel (docs/own-data.md), since it exists
}

# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass
class Customer:
    id: str
    name: str
    region: str
    credit_limit: int  # cents, reporting currency
    currency: str
    company_code: str
    country: str


@dataclass
class Invoice:
    id: str
    customer: Customer
    invoice_date: date
    due_date: date
    amount: int  # cents, document currency
    currency: str
    company_code: str
    payments: list[tuple[str, date, int]] = field(default_factory=list)  # (id, date, cents)


@dataclass
class Variant:
    seed: int
    out_dir: Path
    files: list[str]
    quirks: dict
    truth: dict
    mapping: dict
    as_of: date
    period: str
    export_date: date
    #: the quirk classes it exercises (active_classes, plus rates_file when it ships rates)
    classes: list[str] = field(default_factory=list)


def _rng(seed: int, what: str) -> random.Random:
    return random.Random(f"exportgen:{seed}:{what}")


def quirks_for(seed: int) -> dict:
    """The quirk combination of a seed (drawn, then kept consistent: a CSV-only quirk is off in
    an xlsx variant, an SAP cleared-items extract has SAP field names, ...)."""
    r = _rng(seed, "quirks")
    layout = r.choices(LAYOUTS, (0.4, 0.3, 0.3))[0]
    fmt = "xlsx" if r.random() < 0.35 else "csv"
    lang = "sap" if layout == "sap_cleared" else r.choice(LANGS)
    q: dict = {"layout": layout, "format": fmt, "headers": lang}
    q["column_order"] = r.random() < 0.5
    q["title_block"] = r.random() < 0.35
    q["duplicate_columns"] = layout == "sap_cleared" and r.random() < 0.5 or r.random() < 0.3
    q["junk_rows"] = r.random() < 0.3
    q["totals_row"] = r.random() < 0.3
    if fmt == "csv":
        primary = r.choice(("iso", "iso", "dmy_dot", "mdy_slash", "ymd"))
        pool = [f for f in CSV_DATE_FORMATS if f != primary]
    else:
        primary = r.choice(("excel_date", "excel_date", "iso", "dmy_dot"))
        pool = [f for f in XLSX_DATE_FORMATS if f != primary]
    dates = [primary]
    if r.random() < (0.45 if fmt == "csv" else 0.65):
        dates += r.sample(pool, r.randint(1, 3))
    if (
        "dmy_dot" in dates and "mdy_slash" in dates
    ):  # one file never mixes day-first and month-first
        dates.remove("mdy_slash" if primary != "mdy_slash" else "dmy_dot")
    q["dates"] = dates
    q["float_ids"] = r.random() < 0.3
    q["leading_zeros"] = r.random() < 0.3
    if fmt == "csv":
        q["numbers"] = r.choice(NUMBER_STYLES)
        q["encoding"] = r.choice(ENCODINGS)
        q["delimiter"] = r.choice(DELIMITERS)
    else:
        q["numbers"], q["encoding"], q["delimiter"] = "plain", None, None
    q["reporting_currency"] = r.choice(("USD", "USD", "EUR"))
    q["currencies"] = (
        [q["reporting_currency"]]
        if r.random() < 0.55
        else [q["reporting_currency"]]
        + r.sample(sorted(FX[q["reporting_currency"]]), r.randint(1, 2))
    )
    q["company_codes"] = len(q["currencies"]) > 1 or r.random() < 0.25
    q["status"] = r.choice(STATUS_LANGS) if layout == "flat" else None
    q["export_after_asof"] = layout != "flat" and r.random() < 0.45
    return q


def active_classes(q: dict) -> list[str]:
    """The quirk classes of QUIRK_CLASSES a combination exercises."""
    c = [f"layout_{q['layout']}", f"format_{q['format']}", f"headers_{q['headers']}"]
    for flag in (
        "column_order",
        "title_block",
        "duplicate_columns",
        "junk_rows",
        "totals_row",
        "float_ids",
        "leading_zeros",
        "company_codes",
        "export_after_asof",
    ):
        if q[flag]:
            c.append(flag)
    if len(q["dates"]) > 1:
        c.append("mixed_dates")
    c += [f"date_{d}" for d in q["dates"]]
    if q["numbers"] != "plain":
        c.append(f"numbers_{q['numbers']}")
    if q["encoding"] == "utf-8-sig":
        c.append("encoding_bom")
    elif q["encoding"] == "latin-1":
        c.append("encoding_latin1")
    if q["delimiter"]:
        c.append(
            {",": "delimiter_comma", ";": "delimiter_semicolon", "\t": "delimiter_tab"}[
                q["delimiter"]
            ]
        )
    if len(q["currencies"]) > 1:
        c.append("multi_currency")
    if q["status"]:
        c.append(f"status_{q['status']}")
    return sorted(c)


def _combo_key(q: dict) -> str:
    return json.dumps(q, sort_keys=True)


def variants(n: int, base_seed: int = 0) -> list[int]:
    """``n`` seeds from ``base_seed`` on whose quirk combinations are all distinct."""
    seen: set[str] = set()
    out: list[int] = []
    s = base_seed
    while len(out) < n:
        k = _combo_key(quirks_for(s))
        if k not in seen:
            seen.add(k)
            out.append(s)
        s += 1
    return out


# --------------------------------------------------------------------------------------------
# The true ledger
# --------------------------------------------------------------------------------------------


def _amount(r: random.Random, foreign: bool) -> int:
    """Invoice amount in cents: mostly 200-9,000, some above 10,000 (thousands separators)."""
    cents = r.randint(20_000, 900_000) if r.random() < 0.8 else r.randint(1_000_000, 4_000_000)
    return cents - cents % 20 if foreign else cents


def build_ledger(
    seed: int, q: dict, n_invoices: int | None = None
) -> tuple[list[Customer], list[Invoice], date, date]:
    r = _rng(seed, "ledger")
    T = date(2026, r.randint(2, 11), r.randint(1, 28))
    E = T + timedelta(days=r.randint(3, 12)) if q["export_after_asof"] else T
    reporting = q["reporting_currency"]
    n_cust = r.randint(3, 7) if n_invoices is None else min(3, n_invoices)
    names = r.sample(CUSTOMER_NAMES, n_cust)
    customers = []
    used_ids: set[str] = set()
    alpha = not q["float_ids"] and not q["leading_zeros"] and q["layout"] != "sap_cleared"
    alpha = alpha and r.random() < 0.4
    for i in range(n_cust):
        while True:
            if q["leading_zeros"] or q["layout"] == "sap_cleared":
                cid = "0" + str(r.randint(100_000_000, 999_999_999))
            elif alpha:
                cid = f"K-{r.randint(10000, 99999)}"
            else:
                cid = str(r.randint(100_000_000, 999_999_999))
            if cid not in used_ids:
                used_ids.add(cid)
                break
        cur = q["currencies"][i % len(q["currencies"])]
        code = COMPANY_CODES[cur] if len(q["currencies"]) > 1 else None
        if code is None:
            code = (
                r.choice(("1000", "1100", "1200"))
                if q["company_codes"]
                else COMPANY_CODES[reporting]
            )
        customers.append(
            Customer(
                id=cid,
                name=names[i],
                region=r.choice(REGIONS),
                credit_limit=r.choice((5_000, 10_000, 20_000, 50_000)) * 100,
                currency=cur,
                company_code=code,
                country={"USD": "US", "EUR": "DE", "CAD": "CA", "GBP": "GB", "CHF": "CH"}[cur],
            )
        )
    n_inv = r.randint(8, 18) if n_invoices is None else n_invoices
    invoices: list[Invoice] = []
    next_inv = r.randint(1_900_000_000, 1_930_000_000)
    next_pay = r.randint(1_400_000_000, 1_410_000_000)
    for i in range(n_inv):
        c = customers[i % n_cust] if i < n_cust else r.choice(customers)
        foreign = c.currency != reporting
        # the first three are forced: a fully paid one, a partially paid overdue one and an
        # unpaid overdue one, all dated well before T
        scenario = ("paid", "partial", "unpaid")[i] if i < 3 else None
        if scenario:
            inv_date = T - timedelta(days=r.randint(60, 110))
            terms = 30
        else:
            inv_date = T - timedelta(days=r.randint(-(E - T).days, 140))
            terms = r.choice((14, 30, 30, 45, 60))
            scenario = r.choices(("paid", "partial", "unpaid"), (0.5, 0.2, 0.3))[0]
        due = inv_date + timedelta(days=terms)
        amount = _amount(r, foreign)
        inv = Invoice(f"{next_inv}", c, inv_date, due, amount, c.currency, c.company_code)
        next_inv += r.randint(1, 40)
        step = 20 if foreign else 1
        if scenario == "paid":
            parts = [amount] if r.random() < 0.7 else None
            if parts is None:
                first = amount * r.randint(30, 70) // 100
                first -= first % step
                parts = [first, amount - first]
        elif scenario == "partial":
            first = amount * r.randint(20, 80) // 100
            first -= first % step
            parts = [first]
            if r.random() < 0.3:
                second = (amount - first) * r.randint(20, 60) // 100
                second -= second % step
                if second > 0:
                    parts.append(second)
        else:
            parts = []
        pay_date = inv_date
        for k, cents in enumerate(parts):
            if i < 3:  # forced ones: paid well before T
                pay_date = pay_date + timedelta(days=r.randint(5, 20))
            else:
                lo = 1 if k else max(1, terms - 25)
                pay_date = pay_date + timedelta(days=r.randint(lo, terms + 40 if not k else 30))
            if pay_date > E:
                break  # not paid yet when the file was exported
            inv.payments.append((f"{next_pay}", pay_date, cents))
            next_pay += r.randint(1, 9)
        invoices.append(inv)
    return customers, invoices, T, E


def _rate(q: dict, currency: str) -> float:
    return 1.0 if currency == q["reporting_currency"] else FX[q["reporting_currency"]][currency]


def _to_reporting(q: dict, currency: str, cents: int, rate: float | None = None) -> int:
    """Exact: foreign amounts are multiples of 20 cents and every rate is a multiple of 0.05."""
    value = cents * round((_rate(q, currency) if rate is None else rate) * 100)
    assert value % 100 == 0, (currency, cents)
    return value // 100


def dated_rates(seed: int, q: dict, T: date) -> dict[str, dict[str, float]] | None:
    """The rates file of a multi-currency variant that ships one (half of them, drawn from the
    seed apart from the quirks, so the seeds of `variants` stay the same): a rate per foreign
    currency on the first day of each month from 7 months before T's month to T's month. In
    tables and flat layouts it moves by 0.05 from month to month (base - 0.05, base, base +
    0.05, ...: still a multiple of 0.05, so conversions stay exact); in SAP cleared-items
    extracts it stays the base rate (a residual item is a new document dated the payment day,
    which SAP books at the invoice's rate, not the day's). None: no rates file."""
    foreign = [c for c in q["currencies"] if c != q["reporting_currency"]]
    if not foreign or _rng(seed, "rates_file").random() >= 0.5:
        return None
    months = []
    y, m = T.year, T.month - 7
    while m < 1:
        y, m = y - 1, m + 12
    while (y, m) <= (T.year, T.month):
        months.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    out = {}
    for c in foreign:
        base = FX[q["reporting_currency"]][c]
        moves = q["layout"] != "sap_cleared"
        out[c] = {
            d.isoformat(): round(base + (0.05 * ((i % 3) - 1) if moves else 0.0), 2)
            for i, d in enumerate(months)
        }
    return out


def _invoice_rate(q: dict, rates: dict | None, currency: str, day: date) -> float:
    """The rate of an invoice: the dated rate on or before its date, else the constant one."""
    if rates and currency in rates:
        on_or_before = [r for d, r in rates[currency].items() if date.fromisoformat(d) <= day]
        assert on_or_before, (currency, day)
        return on_or_before[-1]
    return _rate(q, currency)


def compute_truth(
    q: dict,
    customers: list[Customer],
    invoices: list[Invoice],
    T: date,
    rates: dict[str, dict[str, float]] | None = None,
) -> dict:
    """The figures at T, by hand from the ledger (README.md, "The truth"); with dated
    ``rates``, each invoice (and its payments) at the rate on or before its invoice date."""
    cents = lambda v: round(v / 100, 2)  # noqa: E731
    open_ar = overdue_ar = 0
    n_open = n_overdue = n_billed = 0
    per_customer: dict[str, int] = {}
    per_currency: dict[str, int] = {}
    per_region: dict[str, int] = {}
    per_code: dict[str, int] = {}
    overdue_per_customer: dict[str, int] = {}
    detail = []
    for inv in invoices:
        if inv.invoice_date > T:
            continue
        n_billed += 1
        paid = sum(c for _, d, c in inv.payments if d <= T)
        open_doc = inv.amount - paid
        assert open_doc >= 0
        rate = _invoice_rate(q, rates, inv.currency, inv.invoice_date)
        open_rep = _to_reporting(q, inv.currency, open_doc, rate)
        overdue = open_doc > 0 and inv.due_date < T
        detail.append(
            {
                "invoice_id": inv.id,
                "customer_id": inv.customer.id,
                "invoice_date": inv.invoice_date.isoformat(),
                "due_date": inv.due_date.isoformat(),
                "amount": cents(inv.amount),
                "currency": inv.currency,
                "paid_by_T": cents(paid),
                "open": cents(open_doc),
                "open_reporting": cents(open_rep),
                "rate": rate,
                "overdue": overdue,
            }
        )
        if open_doc <= 0:
            continue
        n_open += 1
        open_ar += open_rep
        per_customer[inv.customer.id] = per_customer.get(inv.customer.id, 0) + open_rep
        per_currency[inv.currency] = per_currency.get(inv.currency, 0) + open_doc
        per_region[inv.customer.region] = per_region.get(inv.customer.region, 0) + open_rep
        per_code[inv.company_code] = per_code.get(inv.company_code, 0) + open_rep
        if overdue:
            n_overdue += 1
            overdue_ar += open_rep
            overdue_per_customer[inv.customer.id] = (
                overdue_per_customer.get(inv.customer.id, 0) + open_rep
            )
    over_limit = sorted(c.id for c in customers if per_customer.get(c.id, 0) > c.credit_limit)
    return {
        "as_of": T.isoformat(),
        "reporting_currency": q["reporting_currency"],
        "fx_rates": rates
        or {c: _rate(q, c) for c in q["currencies"] if c != q["reporting_currency"]},
        "open_ar": cents(open_ar),
        "overdue_ar": cents(overdue_ar),
        "open_invoices": n_open,
        "overdue_invoices": n_overdue,
        "invoices_billed_by_T": n_billed,
        "invoices_in_ledger": len(invoices),
        "customers": len(customers),
        "customers_over_credit_limit": len(over_limit),
        "open_ar_by_customer": {k: cents(v) for k, v in sorted(per_customer.items())},
        "overdue_ar_by_customer": {k: cents(v) for k, v in sorted(overdue_per_customer.items())},
        "open_ar_by_currency": {k: cents(v) for k, v in sorted(per_currency.items())},
        "open_ar_by_region": {k: cents(v) for k, v in sorted(per_region.items())},
        "open_ar_by_company_code": {k: cents(v) for k, v in sorted(per_code.items())},
        "invoices": detail,
    }


# --------------------------------------------------------------------------------------------
# Writing the export
# --------------------------------------------------------------------------------------------

DATE_CONCEPTS = {
    "invoice_date",
    "due_date",
    "paid_date",
    "payment_date",
    "posting_date",
    "baseline_date",
    "document_create_date",
}
MONEY_CONCEPTS = {"amount", "paid_amount", "credit_limit", "local_amount"}
ID_CONCEPTS = {"invoice_id", "customer_id", "payment_id"}
EXCEL_EPOCH = date(1899, 12, 30)


class Writer:
    """Renders typed values (dates, cents, ids) as the variant's quirks say, row by row."""

    def __init__(self, q: dict, r: random.Random):
        self.q, self.r = q, r
        self.xlsx = q["format"] == "xlsx"
        self.date_count = 0
        self.ids_dropped: set[str] = set()  # ids written without their leading zeros
        self.id_count = 0
        self.table = ""

    def date(self, d: date | None):
        if d is None:
            return None if self.xlsx else ""
        fmts = self.q["dates"]
        if self.date_count < len(fmts):
            f = fmts[self.date_count]
        else:
            f = fmts[0] if self.r.random() < 0.55 else self.r.choice(fmts)
        self.date_count += 1
        if f == "iso":
            return d.isoformat()
        if f == "iso_time":
            return f"{d.isoformat()} 00:00:00"
        if f == "ymd":
            return d.strftime("%Y%m%d")
        if f == "ymd_int":
            return int(d.strftime("%Y%m%d")) if self.xlsx else d.strftime("%Y%m%d")
        if f == "ymd_float":
            return float(d.strftime("%Y%m%d")) if self.xlsx else d.strftime("%Y%m%d") + ".0"
        if f == "dmy_dot":
            return d.strftime("%d.%m.%Y")
        if f == "mdy_slash":
            return d.strftime("%m/%d/%Y")
        if f == "excel_date":
            return datetime(d.year, d.month, d.day)
        if f == "excel_serial":
            return (d - EXCEL_EPOCH).days
        raise ValueError(f)

    def money(self, cents: int | None):
        if cents is None:
            return None if self.xlsx else ""
        if self.xlsx:
            return round(cents / 100, 2)
        whole, frac = divmod(abs(cents), 100)
        sign = "-" if cents < 0 else ""
        style = self.q["numbers"]
        if style == "plain":
            return f"{sign}{whole}.{frac:02d}"
        grouped = f"{whole:,}"
        if style == "us":
            return f"{sign}{grouped}.{frac:02d}"
        if style == "de":
            return f"{sign}{grouped.replace(',', '.')},{frac:02d}"
        return f"{sign}{grouped.replace(',', chr(0xA0))},{frac:02d}"  # fr: no-break space

    def ident(self, value: str, concept: str):
        """An id as the ERP wrote it: maybe as a float, maybe without its leading zeros."""
        self.id_count += 1
        numeric = value.isdigit()
        if numeric and self.q["float_ids"] and self.r.random() < 0.6:
            if value.startswith("0"):
                self.ids_dropped.add(value)
            return float(int(value)) if self.xlsx else f"{int(value)}.0"
        if (
            numeric
            and value.startswith("0")
            and self.q["leading_zeros"]
            and concept == "customer_id"
            and self.table != "customers"  # master data keeps the zeros
            and (self.r.random() < 0.4 or value not in self.ids_dropped)
        ):
            self.ids_dropped.add(value)
            return int(value) if self.xlsx else str(int(value))
        return value

    def cell(self, concept: str, value):
        if concept in DATE_CONCEPTS:
            return self.date(value)
        if concept in MONEY_CONCEPTS:
            return self.money(value)
        if concept in ID_CONCEPTS:
            return self.ident(value, concept)
        if value is None:
            return None if self.xlsx else ""
        return value


def _status_word(q: dict, r: random.Random, state: str) -> str:
    lang = q["status"]
    if lang == "mixed":
        lang = r.choice(("de", "en", "fr", "es"))
    word = STATUS_WORDS[lang][state]
    roll = r.random()
    if roll < 0.15:
        return word.upper()
    if roll < 0.35:
        return word.capitalize()
    return word


def _table_rows(q, customers, invoices, E, r) -> dict[str, tuple[list[str], list[dict]]]:
    """The tables of the layout: name -> (concepts in natural order, rows of typed values)."""
    text = {"en": "Energy supply", "de": "Energielieferung", "fr": "Fourniture d'énergie"}
    text |= {"es": "Suministro de energía", "sap": "Energielieferung"}
    lang = q["headers"]
    issued = [inv for inv in invoices if inv.invoice_date <= E]
    tables: dict[str, tuple[list[str], list[dict]]] = {}
    extras_dup = ["document_create_date"] if q["duplicate_columns"] else []

    if q["layout"] == "flat":
        cols = ["company_code", "invoice_id", "customer_id", "customer_name", "region"]
        cols += ["credit_limit", "invoice_date", "posting_date", "due_date", "amount", "currency"]
        cols += ["paid_amount", "paid_date", "status", "text", "reference"]
        rows = []
        for inv in issued:
            paid = sum(c for _, _, c in inv.payments)
            last = max((d for _, d, _ in inv.payments), default=None)
            state = "paid" if paid == inv.amount else "partial" if paid else "open"
            rows.append(
                {
                    "company_code": inv.company_code,
                    "invoice_id": inv.id,
                    "customer_id": inv.customer.id,
                    "customer_name": inv.customer.name,
                    "region": inv.customer.region,
                    "credit_limit": inv.customer.credit_limit,
                    "invoice_date": inv.invoice_date,
                    "posting_date": inv.invoice_date + timedelta(days=r.randint(0, 2)),
                    "due_date": inv.due_date,
                    "amount": inv.amount,
                    "currency": inv.currency,
                    "paid_amount": paid,
                    "paid_date": last,
                    "status": _status_word(q, r, state),
                    "text": text[lang],
                    "reference": f"SO-{r.randint(10000, 99999)}",
                    "document_create_date": inv.invoice_date,
                    "reference#2": f"PO{r.randint(100000, 999999)}",
                }
            )
        tables["invoices"] = (cols + extras_dup, rows)
        return tables

    cust_cols = ["customer_id", "customer_name", "region", "credit_limit"]
    if lang == "sap":
        cust_cols += ["country", "city"]
    tables["customers"] = (
        cust_cols,
        [
            {
                "customer_id": c.id,
                "customer_name": c.name,
                "region": c.region,
                "credit_limit": c.credit_limit,
                "country": c.country,
                "city": "Springfield",
            }
            for c in customers
        ],
    )
    if q["layout"] == "tables":
        cols = ["company_code", "invoice_id", "customer_id", "invoice_date", "due_date"]
        cols += ["amount", "currency", "text", "reference"]
        rows = [
            {
                "company_code": inv.company_code,
                "invoice_id": inv.id,
                "customer_id": inv.customer.id,
                "invoice_date": inv.invoice_date,
                "due_date": inv.due_date,
                "amount": inv.amount,
                "currency": inv.currency,
                "text": text[lang],
                "reference": f"SO-{r.randint(10000, 99999)}",
                "document_create_date": inv.invoice_date,
                "reference#2": f"PO{r.randint(100000, 999999)}",
            }
            for inv in issued
        ]
        tables["invoices"] = (cols + extras_dup, rows)
        pay_rows = []
        for inv in issued:
            for pid, d, cents in inv.payments:
                pay_rows.append(
                    {
                        "payment_id": pid,
                        "invoice_id": inv.id,
                        "customer_id": inv.customer.id,
                        "payment_date": d,
                        "amount": cents,
                        "currency": inv.currency,
                        "method": r.choice(METHODS),
                    }
                )
        pay_rows.sort(key=lambda p: (p["payment_date"], p["payment_id"]))
        pay_cols = ["payment_id", "invoice_id", "customer_id", "payment_date", "amount"]
        tables["payments"] = (pay_cols + ["currency", "method"], pay_rows)
        return tables

    # SAP cleared-items extract: one row per customer line item; a partial payment clears the
    # item and posts a residual item for the rest (residual-item method, terms of the invoice)
    cols = ["company_code", "customer_id", "invoice_id", "fiscal_year", "doc_type"]
    cols += ["invoice_date", "posting_date", "baseline_date", "terms_days", "due_date"]
    cols += ["currency", "amount", "local_amount", "debit_credit", "paid_date", "clearing_doc"]
    cols += ["reference", "text"]
    rows = []
    next_residual = r.randint(1_600_000_000, 1_610_000_000)
    for inv in issued:
        item_id, item_date, remaining = inv.id, inv.invoice_date, inv.amount
        doc_type = "RV"
        for pid, d, cents in inv.payments:
            rows.append(_sap_item(q, inv, item_id, item_date, doc_type, remaining, d, pid, r))
            remaining -= cents
            if remaining == 0:
                break
            item_id, item_date, doc_type = f"{next_residual}", d, "DZ"
            next_residual += r.randint(1, 9)
        else:
            rows.append(_sap_item(q, inv, item_id, item_date, doc_type, remaining, None, None, r))
    tables["items"] = (cols + extras_dup, rows)
    return tables


def _sap_item(q, inv, item_id, item_date, doc_type, cents, cleared, clearing_doc, r) -> dict:
    local = COMPANY_CODES_CURRENCY.get(inv.company_code, q["reporting_currency"])
    local_cents = cents
    if local != inv.currency:
        local_cents = round(cents * _rate(q, inv.currency) / _rate(q, local))
    return {
        "company_code": inv.company_code,
        "customer_id": inv.customer.id,
        "invoice_id": item_id,
        "fiscal_year": str(item_date.year),
        "doc_type": doc_type,
        "invoice_date": item_date,
        "posting_date": item_date + timedelta(days=r.randint(0, 1)),
        "baseline_date": inv.invoice_date,
        "terms_days": str((inv.due_date - inv.invoice_date).days),
        "due_date": inv.due_date,
        "currency": inv.currency,
        "amount": cents,
        "local_amount": local_cents,
        "debit_credit": "S",
        "paid_date": cleared,
        "clearing_doc": clearing_doc or "",
        "reference": f"{r.randint(80000000, 89999999)}",
        "text": "",
        "document_create_date": item_date,
        "reference#2": f"{r.randint(80000000, 89999999)}",
    }


COMPANY_CODES_CURRENCY = {v: k for k, v in COMPANY_CODES.items()}


def _header_name(q: dict, table: str, concept: str) -> str:
    if concept == "document_create_date":
        return "document_create_date"
    if concept == "reference#2":
        concept = "reference"
    key = "invoices" if table == "items" else table
    return HEADERS[q["headers"]][key][concept]


def _order(q: dict, table: str, cols: list[str], r: random.Random) -> list[str]:
    """Column order as written; the duplicates' second copies sit apart from the first."""
    cols = list(cols)
    if q["duplicate_columns"] and table in ("invoices", "items"):
        cols.append("reference#2")  # a second column named like the reference column
        cols.append("document_create_date")  # a second copy; the first is already in cols
    if q["column_order"]:
        r.shuffle(cols)
    return cols


def _render_table(q, table, cols, rows, w: Writer, r: random.Random, E: date):
    """Header + body rows (cells), with title block, junk rows and totals as the quirks say."""
    header = [_header_name(q, table, c) for c in cols]
    body = [[w.cell(c.split("#")[0], row.get(c)) for c in cols] for row in rows]
    empty = None if w.xlsx else ""
    if q["junk_rows"] and body:
        at = r.randint(1, len(body))
        body.insert(at, [empty] * len(cols))  # a blank line
        at = r.randint(1, len(body))
        body.insert(at, list(header))  # a page break repeats the header
        body.insert(r.randint(1, len(body)), ["-" * 10] + [empty] * (len(cols) - 1))
    if q["totals_row"]:
        total = [empty] * len(cols)
        total[0] = TOTAL_WORDS[q["headers"]]
        if "amount" in cols:
            amount_sum = sum(row["amount"] for row in rows)
            total[cols.index("amount")] = w.money(amount_sum)
        body.append(total)
        body.append([f"{len(rows)} rows"] + [empty] * (len(cols) - 1))
    title: list[list] = []
    if q["title_block"]:
        e = E.strftime("%d.%m.%Y") if q["headers"] in ("de", "sap", "fr", "es") else E.isoformat()
        title = [[t.format(E=e)] for t in TITLES[q["headers"]]] + [[]]
    return title, header, body


def _write_csv(path: Path, q: dict, title, header, body):
    buf = io.StringIO()
    wr = csv.writer(buf, delimiter=q["delimiter"], lineterminator="\r\n")
    for t in title:
        wr.writerow(t)
    wr.writerow(header)
    for row in body:
        wr.writerow(["" if v is None else v for v in row])
    path.write_bytes(buf.getvalue().encode(q["encoding"]))


SHEETS = {"en": "AR", "de": "Offene Posten", "fr": "Clients", "es": "Clientes", "sap": "FBL5N"}


def _write_xlsx(path: Path, q: dict, title, header, body):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = SHEETS[q["headers"]]
    for t in title:
        ws.append(t)
    ws.append(header)
    for row in body:
        ws.append(row)
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, datetime):
                c.number_format = "DD.MM.YYYY" if q["headers"] != "en" else "yyyy-mm-dd"
    fixed = datetime(2026, 1, 1)
    wb.properties.created = fixed
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_fixed_zip(buf.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """The same workbook bytes every time: fixed zip timestamps and document dates."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms)",
                    rb"\g<1>2026-01-01T00:00:00Z\g<3>",
                    content,
                )
            zi = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, content)
    return out.getvalue()


FILE_NAMES = {
    "flat": {"invoices": "open_items"},
    "tables": {"customers": "customers", "invoices": "invoices", "payments": "payments"},
    "sap_cleared": {"customers": "KNA1", "items": "FBL5N_items"},
}


def generate(seed: int, out_dir: str | Path, n_invoices: int | None = None) -> Variant:
    """Write variant ``seed`` into ``out_dir``: the export file(s), ``truth.json`` (figures at T
    plus the quirks and dates) and ``truth_sources.yml`` (the mapping the generator knows)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    q = quirks_for(seed)
    customers, invoices, T, E = build_ledger(seed, q, n_invoices)
    rates = dated_rates(seed, q, T)
    truth = compute_truth(q, customers, invoices, T, rates)
    r = _rng(seed, "export")
    w = Writer(q, r)
    ext = q["format"]
    files: list[str] = []
    layout_info: dict[str, dict] = {}
    for table, (cols, rows) in _table_rows(q, customers, invoices, E, r).items():
        order = _order(q, table, cols, r)
        w.table = table
        title, header, body = _render_table(q, table, order, rows, w, r, E)
        name = f"{FILE_NAMES[q['layout']][table]}.{ext}"
        path = out / name
        if ext == "csv":
            _write_csv(path, q, title, header, body)
        else:
            _write_xlsx(path, q, title, header, body)
        files.append(name)
        layout_info[table] = {
            "file": name,
            "header_row": len(title) + 1,
            "columns": {c: _header_name(q, table, c) for c in cols},
        }
    classes = active_classes(q)
    if rates:  # the export ships its rates: a file of its own (currency, date, rate)
        lines = ["currency,date,rate"]
        lines += [f"{c},{d},{r}" for c, days in rates.items() for d, r in days.items()]
        (out / RATES_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(RATES_FILE)
        classes = sorted([*classes, "rates_file"])
    mapping = truth_mapping(seed, q, layout_info, w.ids_dropped, E)
    if rates:
        mapping["fx_rates"] = RATES_FILE  # the careful user points at the file it ships
    meta = {
        "seed": seed,
        "quirks": q,
        "classes": classes,
        "files": files,
        "as_of": T.isoformat(),
        "period": T.strftime("%Y-%m"),
        "export_date": E.isoformat(),
        "ids_without_leading_zeros": sorted(w.ids_dropped),
    }
    (out / "truth.json").write_text(
        json.dumps({**meta, "truth": truth}, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    (out / "truth_sources.yml").write_text(
        f"# exportgen seed {seed}: the mapping from the generator's own knowledge\n"
        + yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return Variant(seed, out, files, q, truth, mapping, T, T.strftime("%Y-%m"), E, classes)


def truth_mapping(seed: int, q: dict, info: dict, dropped: set[str], E: date) -> dict:
    """The sources file a careful user who knows the export would write with the options of
    docs/own-data.md (an option the tool lacks is written the way the docs spell it for other
    kinds, e.g. header_row on a CSV with a title block, so `check` names what is missing)."""
    m: dict = {"dataset": f"exportgen {seed}", "reporting_currency": q["reporting_currency"]}
    rates = {c: _rate(q, c) for c in q["currencies"] if c != q["reporting_currency"]}
    if rates:
        m["fx_rates"] = rates
    sources: dict = {}
    tokens: list[str] = []
    for f in q["dates"]:
        t = DATE_TOKENS.get(f)
        if t and t not in tokens:
            tokens.append(t)

    def base(table: str) -> dict:
        s: dict = {"kind": "csv" if q["format"] == "csv" else "excel", "path": info[table]["file"]}
        if q["format"] == "csv":
            if q["delimiter"] != ",":
                s["delimiter"] = q["delimiter"]
            if q["encoding"] == "latin-1":
                s["encoding"] = "latin-1"
            if q["numbers"] == "us":
                s["thousands"] = ","
            elif q["numbers"] == "de":
                s |= {"decimal": ",", "thousands": "."}
            elif q["numbers"] == "fr":
                s |= {"decimal": ",", "thousands": "\xa0"}
        else:
            s["sheet"] = SHEETS[q["headers"]]
        if q["title_block"]:
            s["header_row"] = info[table]["header_row"]
        if tokens and tokens != ["iso"]:
            s["date_format"] = list(tokens) if len(tokens) > 1 else tokens[0]
        if q["junk_rows"] or q["totals_row"]:
            s["on_bad_value"] = "quarantine"
        return s

    def cols(table: str, concepts: list[str]) -> dict:
        names = info[table]["columns"]
        return {c: names[c] for c in concepts}

    zeros = {str(int(i)): i for i in sorted(dropped)}

    def values() -> dict | None:  # every id listed by hand, as the docs say (a copy per source)
        return {"customer_id": dict(zeros)} if zeros else None

    if q["layout"] == "flat":
        s = base("invoices")
        s["columns"] = cols(
            "invoices",
            ["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "currency"],
        )
        names = info["invoices"]["columns"]
        lang = q["status"]
        langs = ["de", "en", "fr", "es"] if lang == "mixed" else [lang]
        s["derive_payments"] = {
            "payment_date": names["paid_date"],
            "amount": names["paid_amount"],
            "status": names["status"],
            "paid_values": [STATUS_WORDS[x]["paid"] for x in langs],
            "unpaid_values": [STATUS_WORDS[x][k] for x in langs for k in ("partial", "open")],
        }
        s["derive_customers"] = cols("invoices", ["customer_name", "region", "credit_limit"])
        if zeros:
            s["values"] = values()
        sources["invoices"] = s
    else:
        c = base("customers")
        c["columns"] = cols("customers", ["customer_id", "customer_name", "region", "credit_limit"])
        if zeros:
            c["values"] = values()
        sources["customers"] = c
        table = "invoices" if q["layout"] == "tables" else "items"
        s = base(table)
        s["columns"] = cols(
            table, ["invoice_id", "customer_id", "invoice_date", "due_date", "amount", "currency"]
        )
        if q["layout"] == "sap_cleared":
            s["derive_payments"] = {"payment_date": info[table]["columns"]["paid_date"]}
        if zeros:
            s["values"] = values()
        sources["invoices"] = s
        if q["layout"] == "tables":
            p = base("payments")
            p["columns"] = cols(
                "payments",
                ["payment_id", "invoice_id", "customer_id", "payment_date", "amount"],
            )
            if zeros:
                p["values"] = values()
            sources["payments"] = p
    m["sources"] = sources
    return m
