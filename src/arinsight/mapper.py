"""``arinsight map FILE...``: a sources file proposed from raw exports.

A user with an ERP export they have never described does not have to write the mapping from a
blank page: ``map`` reads each file (CSV, Excel, a SQLite file or a database table) with the same
readers as ingest (:mod:`arinsight.ingest.readers`) and proposes

* the file's layout: encoding (UTF-8 when the bytes decode as UTF-8, otherwise the guess of
  ``charset_normalizer``), delimiter (the one that splits the most lines into the same number of
  fields), the header row (the first line or sheet row with that number of filled fields: a title
  block above it is skipped);
* the table each file provides (invoices, payments, customers), from its name and its columns;
* each column's canonical field, by its **name** (English, German, French, Spanish and SAP field
  names, :data:`CONCEPTS`; a near miss of a known name, by ``rapidfuzz``) checked against its
  **content** (a "date" column must hold dates, an amount numbers);
* the number convention (``decimal``/``thousands``) that reads the most values, and the date
  format(s) of every date column, per column when they differ (:func:`date_formats_of`);
* status words (paid / unpaid, in the four languages), ids written as floats, ids whose leading
  zeros differ between rows or files (``normalize: {customer_id: {zeros: strip}}``);
* every column it could not place, listed with what it holds (never an error).

Every guess it is not sure of carries a YAML comment starting ``unsure:`` that says why, so the
user reviews those lines, then runs ``arinsight check``. Nothing is written but the proposed
file. The guesses are deliberately conservative: a column is only mapped when its name says what
it is (or, for a required field nothing else provides, when its content does, marked unsure).
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import ConfigError, UserError
from arinsight.schemas import CANONICAL, REQUIRED

# --------------------------------------------------------------------------------------------
# what column names mean
# --------------------------------------------------------------------------------------------

#: Concept -> column names meaning it (written as :func:`words` normalises them: lower case,
#: accents removed, words separated by one space, camelCase split). English, German, French,
#: Spanish, and SAP field names (BSID/BSAD/BKPF/KNA1).
CONCEPTS: dict[str, tuple[str, ...]] = {
    "invoice_id": (
        "invoice", "invoice id", "invoice no", "invoice nr", "invoice number", "invoice num",
        "inv", "inv no", "inv id", "invoice ref", "invoice reference", "doc no", "doc nr",
        "doc number", "document", "document no", "document nr", "document number", "docno",
        "belnr", "beleg", "belegnr", "belegnummer", "beleg nr", "rechnung", "rechnungsnr",
        "rechnungsnummer", "rechnung nr", "re nr", "facture", "no facture", "n facture",
        "numero facture", "num facture", "numero de facture", "factura", "no factura",
        "numero factura", "num factura", "numero de factura", "n factura", "nro factura",
        "folio",
    ),
    "customer_id": (
        "customer", "customer id", "customer no", "customer nr", "customer number", "customer code",
        "customer account", "cust", "cust id", "cust no", "custno", "customerid", "client",
        "client id", "client no", "client number", "client code", "account", "account no",
        "account number", "debtor", "debtor no", "kunnr", "kunde", "kunden nr", "kundennr",
        "kundennummer", "debitor", "debitorennr", "debitorennummer", "debitor nr", "code client",
        "no client", "n client", "numero client", "num client", "id client", "cliente",
        "id cliente", "codigo cliente", "cod cliente", "numero cliente", "num cliente",
        "no cliente", "nro cliente", "deudor",
    ),
    "customer_name": (
        "customer name", "name", "client name", "cust name", "account name", "company",
        "company name", "debtor name", "nom du client", "name1", "name 1", "kundenname", "kunde name",
        "debitorname", "firma", "nom", "nom client", "raison sociale", "nombre",
        "nombre cliente", "razon social", "nombre del cliente",
    ),
    "invoice_date": (
        "invoice date", "inv date", "doc date", "document date", "bill date", "billing date",
        "issue date", "issued", "issued on", "date issued", "invoiced", "invoice dt", "bldat",
        "belegdatum", "rechnungsdatum", "re datum", "date facture", "date de facture",
        "date facturation", "date document", "fecha factura", "fecha de factura",
        "fecha emision", "fecha de emision", "fecha documento",
    ),
    "generic_id": ("num", "no", "nr", "number", "id", "nummer", "numero", "ref no", "doc"),
    "posting_date": ("posting date", "budat", "buchungsdatum", "date comptable", "fecha contable"),
    "generic_date": ("date", "datum", "fecha", "dt"),
    "due_date": (
        "due date", "due", "due on", "duedate", "net due date", "due dt", "payment due",
        "payment due date", "faell", "faedt", "netdt", "faellig", "falligkeit", "faelligkeit",
        "fallig", "falligkeitsdatum", "faelligkeitsdatum", "netto fallig", "nettofalligkeit",
        "zahlbar bis", "echeance", "date echeance", "date d echeance", "date de echeance",
        "vencimiento", "fecha vencimiento", "fecha de vencimiento", "vence",
    ),
    "baseline_date": ("zfbdt", "baseline date", "basisdatum", "baseline payment date"),
    "amount": (
        "amount", "invoice amount", "inv amount", "net amount", "gross amount", "total",
        "invoice total", "total amount", "amt", "value", "invoice value", "sum", "wrbtr",
        "betrag", "rechnungsbetrag", "bruttobetrag", "nettobetrag", "gesamtbetrag", "summe",
        "montant", "montant ttc", "montant ht", "montant facture", "total ttc", "importe",
        "importe total", "monto", "monto total", "total factura", "amount doc curr",
        "amount in doc curr", "document currency amount",
    ),
    "local_amount": ("dmbtr", "amount in local currency", "local amount", "betrag hauswahrung"),
    "currency": (
        "currency", "curr", "ccy", "currency code", "cur", "waers", "wahrung", "waehrung",
        "devise", "monnaie", "moneda", "divisa", "document currency",
    ),
    "status": (
        "status", "state", "payment status", "invoice status", "paid status", "open cleared",
        "cleared", "is cleared", "is paid", "zahlungsstatus", "statut", "etat", "estado",
        "estado pago", "estado de pago", "situacion",
    ),
    "payment_date": (
        "payment date", "paid date", "paid on", "date paid", "settled date", "settlement date",
        "date settled", "cleared date", "clearing date", "cleared on", "receipt date",
        "rcpt date", "value date", "pay date", "augdt", "ausgleichsdatum", "zahlungsdatum",
        "zahldatum", "bezahlt am", "zahlungseingang", "valuta", "date de paiement",
        "date paiement", "date de reglement", "date reglement", "fecha de pago", "fecha pago",
        "fecha cobro", "fecha de cobro",
    ),
    "paid_amount": (
        "paid amount", "amount paid", "payment amount", "paid amt", "settled amount",
        "amount settled", "receipt amount", "bezahlt betrag", "zahlbetrag", "gezahlt",
        "bezahlter betrag", "montant paye", "montant regle", "importe pagado", "monto pagado",
        "importe cobrado", "rwbtr",
    ),
    #: SAP's REBZG: the invoice a payment (clearing) document belongs to
    "invoice_ref": ("rebzg", "invoice reference no", "applied to invoice", "applied invoice"),
    "paid": ("paid", "bezahlt", "paye", "regle", "pagado", "cobrado", "settled"),
    "payment_id": (
        "payment", "payment id", "payment no", "payment nr", "payment number", "pay no",
        "pay id", "payno", "receipt", "receipt no", "receipt id", "rcpt", "rcpt no",
        "remittance", "zahlung", "zahlungsnr", "zahlungsnummer", "paiement", "no paiement",
        "n paiement", "reglement", "pago", "id pago", "no pago", "numero pago", "recibo",
        "cobro",
    ),
    "method": (
        "method", "payment method", "pay method", "payment type", "zlsch", "zahlweg",
        "zahlungsart", "mode de paiement", "mode paiement", "moyen de paiement",
        "metodo de pago", "forma de pago", "medio de pago",
    ),
    "region": (
        "region", "region code", "area", "area code", "territory", "sales region", "zone",
        "district", "regio", "gebiet",
        "bezirk", "vertriebsgebiet", "secteur geographique", "zona", "territorio",
    ),
    "country": ("country", "country code", "land", "land1", "pays", "pais", "countrycode"),
    "industry": (
        "industry", "sector", "branch", "industry sector", "brsch", "branche", "industrie",
        "secteur", "secteur activite", "industria", "rubro",
    ),
    "customer_type": (
        "customer type", "type", "customer group", "customer segment", "segment", "ktokd",
        "kdgrp", "kundentyp", "kundengruppe", "kundenart", "type client", "type de client",
        "tipo cliente", "tipo de cliente", "grupo cliente",
    ),
    "credit_limit": (
        "credit limit", "limit", "credit line", "klimk", "kreditlimit", "kreditlinie",
        "limite de credit", "plafond", "limite de credito", "limite credito",
    ),
    "payment_terms_days": (
        "payment terms days", "terms days", "net days", "days", "zbd1t", "zahlungsziel",
        "zahlungsziel tage", "delai de paiement", "delai paiement", "plazo de pago",
        "dias de pago", "dias credito",
    ),
    "terms_code": ("zterm", "payment terms", "terms", "terms code", "zahlungsbedingung"),
    "sales_rep_id": (
        "sales rep", "sales rep id", "salesrep", "salesrep id", "rep id", "salesperson",
        "sales person", "rep", "account manager", "vertreter",
        "sachbearbeiter", "commercial", "vendeur", "vendedor", "comercial",
    ),
    "contact_email": (
        "email", "e mail", "mail", "contact email", "email address", "smtp addr", "courriel",
        "correo", "correo electronico",
    ),
    "energy_kwh": ("energy kwh", "kwh", "energy", "consumption kwh", "verbrauch", "consommation"),
    "clearing_doc": ("augbl", "clearing doc", "clearing document", "ausgleichsbeleg"),
    "company_code": ("bukrs", "company code", "buchungskreis", "societe", "sociedad", "entity"),
    "fiscal_year": ("gjahr", "fiscal year", "geschaftsjahr", "exercice", "ejercicio"),
    "line_item": ("buzei", "line item", "position"),
    "doc_type": ("blart", "doc type", "document type", "belegart", "type de piece"),
    "debit_credit": ("shkzg", "debit credit", "soll haben", "debit credit indicator"),
    "reference": ("xblnr", "reference", "referenz", "ref"),
}  # fmt: skip

#: Concepts whose name alone is a weak signal (the guess gets an ``unsure:`` comment).
WEAK = {
    "generic_date": "named like any date",
    "posting_date": "the posting date (BUDAT), used for lack of a document/invoice date",
    "baseline_date": "SAP's baseline date (ZFBDT) is the start of the payment terms, not the "
    "due date: right only if the terms are 0 days (map a net due date column if you have one)",
    "local_amount": "the amount in local currency (DMBTR), used for lack of a document-currency "
    "amount (WRBTR)",
    "country": "a country taken as the region",
    "paid": "named 'paid': read by its content",
    "generic_id": "named like any number: taken as the table's key",
}
#: Concept names that are too short or common to be matched by resemblance.
_NO_FUZZY = {"date", "dt", "due", "amt", "cur", "ccy", "inv", "rep", "ref", "day", "days"}

#: Where a concept goes for each table a file provides: (section, canonical column).
ROLE_FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "invoices": {
        "invoice_id": ("columns", "invoice_id"),
        "generic_id": ("columns", "invoice_id"),
        "customer_id": ("columns", "customer_id"),
        "invoice_date": ("columns", "invoice_date"),
        "posting_date": ("columns", "invoice_date"),
        "generic_date": ("columns", "invoice_date"),
        "due_date": ("columns", "due_date"),
        "baseline_date": ("columns", "due_date"),
        "amount": ("columns", "amount"),
        "local_amount": ("columns", "amount"),
        "currency": ("columns", "currency"),
        "status": ("columns", "status"),
        "energy_kwh": ("columns", "energy_kwh"),
        "company_code": ("columns", "company_code"),
        "payment_date": ("derive_payments", "payment_date"),
        "paid_amount": ("derive_payments", "amount"),
        "method": ("derive_payments", "method"),
        "customer_name": ("derive_customers", "customer_name"),
        "region": ("derive_customers", "region"),
        "country": ("derive_customers", "region"),
        "industry": ("derive_customers", "industry"),
        "customer_type": ("derive_customers", "customer_type"),
        "credit_limit": ("derive_customers", "credit_limit"),
        "payment_terms_days": ("derive_customers", "payment_terms_days"),
        "sales_rep_id": ("derive_customers", "sales_rep_id"),
        "contact_email": ("derive_customers", "contact_email"),
    },
    "payments": {
        "payment_id": ("columns", "payment_id"),
        "generic_id": ("columns", "payment_id"),
        "invoice_id": ("columns", "invoice_id"),
        "invoice_ref": ("columns", "invoice_id"),
        "customer_id": ("columns", "customer_id"),
        "payment_date": ("columns", "payment_date"),
        "generic_date": ("columns", "payment_date"),
        "posting_date": ("columns", "payment_date"),
        "paid_amount": ("columns", "amount"),
        "amount": ("columns", "amount"),
        "paid": ("columns", "amount"),
        "method": ("columns", "method"),
    },
    "customers": {
        "customer_id": ("columns", "customer_id"),
        "generic_id": ("columns", "customer_id"),
        "customer_name": ("columns", "customer_name"),
        "region": ("columns", "region"),
        "country": ("columns", "region"),
        "industry": ("columns", "industry"),
        "customer_type": ("columns", "customer_type"),
        "credit_limit": ("columns", "credit_limit"),
        "payment_terms_days": ("columns", "payment_terms_days"),
        "sales_rep_id": ("columns", "sales_rep_id"),
        "contact_email": ("columns", "contact_email"),
    },
}
#: Canonical columns whose values must be dates / numbers (a name guess is dropped otherwise).
_DATE_FIELDS = {"invoice_date", "due_date", "payment_date"}
_NUMBER_FIELDS = {"amount", "credit_limit", "payment_terms_days", "energy_kwh"}
#: A fallback concept only fills a field that no better-named column fills.
_FALLBACK = {
    "generic_id",
    "posting_date",
    "generic_date",
    "baseline_date",
    "local_amount",
    "country",
}

#: Notes on columns that are understood but not mapped (they have no canonical column).
UNUSED_NOTES = {
    "clearing_doc": "the clearing document (AUGBL): a row that has one is cleared; its payment "
    "date is the clearing date",
    "company_code": "a company code / legal entity: payments follow their invoice's",
    "fiscal_year": "the fiscal year",
    "line_item": "a line item number",
    "doc_type": "the document type: credit notes (negative amounts) are quarantined as "
    "non_positive_amount; a `query:` (sql) can leave them out",
    "debit_credit": "the debit/credit indicator (S/H): credit rows are quarantined as "
    "non_positive_amount when their amounts are negative",
    "reference": "a reference number (XBLNR): map it as invoice_id instead of the document "
    "number if that is the number your customers quote",
    "terms_code": "a payment-terms code (Z030...), not a number of days",
    "posting_date": "the posting date (the invoice date is taken from the document date)",
    "baseline_date": "the baseline date of the payment terms (the due date is mapped)",
    "local_amount": "the amount in local currency (the document-currency amount is mapped)",
}

#: Words of a status column, per meaning (case-blind). The defaults of ingest are English; these
#: add German, French and Spanish (and SAP's X flag of a "cleared" column).
PAID_WORDS = (
    "paid", "closed", "settled", "cleared", "bezahlt", "ausgeglichen", "beglichen", "erledigt",
    "geschlossen", "paye", "payee", "payé", "payée", "regle", "reglee", "réglé", "réglée",
    "solde", "soldee", "soldé", "soldée", "pagado", "pagada", "liquidado", "liquidada",
    "cobrado", "cobrada", "cerrado", "cerrada", "saldado", "saldada",
)  # fmt: skip
UNPAID_WORDS = (
    "open", "unpaid", "not paid", "pending", "outstanding", "due", "overdue", "past due",
    "partial", "partially paid", "part paid", "issued", "sent", "posted", "disputed",
    "in dispute", "offen", "unbezahlt", "überfällig", "uberfallig", "faellig", "fällig",
    "teilbezahlt", "teilweise bezahlt", "strittig", "ouvert", "ouverte", "impaye", "impayé",
    "impayée", "en attente", "en retard", "partiellement paye", "partiellement payé",
    "litige", "en litige", "pendiente", "abierto", "abierta", "impagado", "impagada",
    "vencido", "vencida", "parcial", "pagado parcialmente", "en disputa",
)  # fmt: skip
_DEFAULT_PAID = {"paid", "closed", "settled", "cleared"}

#: Date formats tried on text, in this order (``None``: ISO, a time after it allowed).
DATE_CANDIDATES: tuple[str | None, ...] = (
    None, "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d", "%Y.%m.%d",
    "%Y%m%d", "%d.%m.%y", "%d/%m/%y", "%m/%d/%y", "%d-%b-%Y", "%d %b %Y", "%d-%b-%y",
    "%b %d, %Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
)  # fmt: skip
#: Formats that read the same text with day and month swapped.
_SWAPPED = {
    "%d/%m/%Y": "%m/%d/%Y", "%m/%d/%Y": "%d/%m/%Y", "%d-%m-%Y": "%m-%d-%Y",
    "%m-%d-%Y": "%d-%m-%Y", "%d/%m/%y": "%m/%d/%y", "%m/%d/%y": "%d/%m/%y",
    "%d/%m/%Y %H:%M": "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M": "%d/%m/%Y %H:%M",
}  # fmt: skip
#: (decimal, thousands) conventions tried on numbers written as text, preferred first on a tie.
NUMBER_CANDIDATES: tuple[tuple[str, str | None], ...] = (
    (".", None), (".", ","), (",", None), (",", "."), (",", " "), (".", "'"), (",", "'"),
    (".", " "), (",", "\xa0"), (",", "\u202f"), (".", "\xa0"),
)  # fmt: skip
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")  # codes are case-blind, as in clean
_DELIMITERS = (",", ";", "\t", "|")
#: How much of a file is looked at to find its delimiter and header.
_HEAD_BYTES = 256 * 1024
#: Distinct values of a column looked at to find its date formats and number convention.
_DISTINCT = 20_000
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")


def words(name: str) -> str:
    """A column name as compared with :data:`CONCEPTS`: camelCase split, accents removed, lower
    case, every run of other characters one space (``invoiceNumber`` -> ``invoice number``,
    ``Fälligkeit`` -> ``falligkeit``, ``N° facture`` -> ``n facture``)."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", str(name))
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9a-zA-Z]+", " ", text).lower().split())


_PHRASES: dict[str, str] = {}
for _concept, _names in CONCEPTS.items():
    for _n in _names:
        _PHRASES.setdefault(words(_n), _concept)
        _PHRASES.setdefault(words(_n).replace(" ", ""), _concept)


def concept_of(name: str) -> tuple[str | None, str]:
    """(concept, how) of a column name: an exact known name, a near miss of one (rapidfuzz,
    ratio >= 90), or (None, "")."""
    w = words(name)
    if not w:
        return None, ""
    for key in (w, w.replace(" ", "")):
        if key in _PHRASES:
            return _PHRASES[key], "name"
    if len(w) >= 5:
        from rapidfuzz import fuzz, process

        choices = [p for p in _PHRASES if len(p) >= 5 and p not in _NO_FUZZY]
        best = process.extractOne(w, choices, scorer=fuzz.ratio, score_cutoff=90)
        if best is not None:
            return _PHRASES[best[0]], f"resembles {best[0]!r}"
    return None, ""


# --------------------------------------------------------------------------------------------
# reading a file's layout
# --------------------------------------------------------------------------------------------


@dataclass
class Layout:
    """How a CSV file is written: what its source options will say, and how sure we are."""

    encoding: str = "utf-8"
    delimiter: str = ","
    header_row: int = 1
    notes: dict[str, str] = field(default_factory=dict)


def detect_encoding(data: bytes) -> tuple[str, str | None]:
    """(encoding, unsure note). UTF-8 (a BOM too) when the bytes decode as UTF-8. Otherwise a
    Western European single-byte encoding when it reads every byte as a letter or a usual
    symbol: ``latin-1`` when no byte lies in 0x80-0x9F (there latin-1 has only control
    characters), else ``cp1252``. Otherwise ``charset_normalizer``'s guess, marked unsure (it
    guesses small Western files as cp1250 or cp775, hence the Western check first)."""
    try:
        data.decode("utf-8")
        return "utf-8", None
    except UnicodeDecodeError:
        pass
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # a UTF-16 byte order mark
        try:
            data.decode("utf-16")
            return "utf-16", None
        except UnicodeDecodeError:
            pass
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and _western(western):
        return ("cp1252" if re.search(rb"[\x80-\x9f]", data) else "latin-1"), None
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 4 * _HEAD_BYTES]).best()
    if best is None:
        raise UserError("the bytes are not text in any encoding charset_normalizer knows")
    guess = best.encoding
    return guess, (
        f"unsure: the bytes are neither UTF-8 nor Western European; {guess} is "
        "charset_normalizer's guess (check accented names in the report)"
    )


def _western(text: str) -> bool:
    """Whether a decoded text reads as Western European (letters with accents, no stray
    symbols)."""
    # the no-break space (0xA0) is the thousands separator of French numbers (1 234,56)
    usual = "€–—‘’“”•…°²³½¼¾\xa0«»§£¥©®±×÷¿¡ºª"
    odd = sum(1 for c in text if ord(c) > 127 and not c.isalpha() and c not in usual)
    return odd == 0


def detect_layout(data: bytes, encoding: str) -> Layout:
    """Delimiter and header line of a CSV file's first lines (see the module docstring)."""
    text = data[:_HEAD_BYTES].decode(encoding, errors="replace").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines()[:200]]
    if len(data) > _HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    best: tuple[float, int, str] | None = None
    for delim in _DELIMITERS:
        counts = [len(next(csv.reader([ln], delimiter=delim))) for ln in lines if ln.strip()]
        if not counts:
            continue
        values, freq = np.unique(counts, return_counts=True)
        mode = int(values[freq.argmax()])
        if mode < 2:
            continue
        share = float(freq.max()) / len(counts)
        key = (share, mode, delim)
        if best is None or (share, mode) > (best[0], best[1]):
            best = key
    layout = Layout(encoding=encoding)
    if best is None:
        layout.notes["delimiter"] = "unsure: no delimiter splits the lines into columns"
        return layout
    _, mode, delim = best
    layout.delimiter = delim
    for i, ln in enumerate(text.splitlines()[:200]):
        if not ln.strip():
            continue
        fields = next(csv.reader([ln], delimiter=delim))
        if len(fields) == mode and sum(1 for f in fields if f.strip()) >= max(2, 0.8 * mode):
            layout.header_row = i + 1
            break
    if layout.header_row > 1:
        layout.notes["header_row"] = f"the lines above line {layout.header_row} are a title block"
    return layout


def excel_header_row(rows: Sequence[Sequence[Any]]) -> int:
    """The 1-based sheet row of the header: the first row with as many filled cells as the rows
    below it usually have (a title block above it is skipped)."""
    filled = [sum(1 for c in r if c is not None and str(c).strip() != "") for r in rows[:200]]
    nonzero = [f for f in filled if f]
    if not nonzero:
        return 1
    values, freq = np.unique(nonzero, return_counts=True)
    width = int(values[freq.argmax()])
    for i, f in enumerate(filled):
        if f >= max(2, 0.8 * width) and all(
            isinstance(c, str) or c is None or str(c).strip() == "" for c in rows[i]
        ):
            return i + 1
    return 1


# --------------------------------------------------------------------------------------------
# what a column holds
# --------------------------------------------------------------------------------------------


@dataclass
class Profile:
    """What a column holds: the kind of most of its values and what was found on the way."""

    name: str
    filled: int = 0
    kind: str = "empty"  # empty, date, number, text
    formats: list[str | None] = field(default_factory=list)  # of text dates, in order
    date_note: str | None = None
    money_like: bool = False  # numbers with decimals
    float_ids: int = 0  # whole numbers written "123.0"
    lost_digits: int = 0  # whole floats at or beyond 2^53
    words: list[str] = field(default_factory=list)  # distinct texts when few
    currencies: bool = False
    example: str = ""
    text_values: pd.Series | None = None  # distinct text, for the number convention
    number_note: str | None = None  # text cells among typed numbers
    ambiguous: set[str] = field(default_factory=set)  # formats whose day/month may be swapped

    def describe(self) -> str:
        if self.kind == "date":
            fmts = ", ".join("iso" if f is None else f for f in self.formats) or "date cells"
            return f"dates, {fmts}"
        if self.kind == "number":
            return "numbers" + (f", e.g. {self.example}" if self.example else "")
        if self.kind == "text":
            if self.words:
                return "text: " + ", ".join(map(repr, self.words[:6]))
            return f"text, e.g. {self.example!r}" if self.example else "text"
        return "empty"


def _cell_kinds(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(text cells stripped, typed dates, typed numbers) of a raw column."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.iloc[:0].astype(str), values.dropna(), values.iloc[:0]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.iloc[:0].astype(str), values.iloc[:0], values.dropna()
    if isinstance(values.dtype, pd.StringDtype) or (
        pd.api.types.is_string_dtype(values)
        and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    ):  # text only (every CSV column): one vectorised pass
        text = values.dropna().astype(str).str.strip()
        return (
            text[text != ""].astype(object).reset_index(drop=True),
            pd.Series([], dtype=object),
            pd.Series([]),
        )
    text, dates, numbers = [], [], []
    import datetime as dt

    for v in values:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            continue
        if isinstance(v, str):
            if v.strip():
                text.append(v.strip())
        elif isinstance(v, dt.date | pd.Timestamp | np.datetime64):
            dates.append(v)
        elif isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            numbers.append(v)
        else:
            text.append(str(v).strip())
    return pd.Series(text, dtype=object), pd.Series(dates, dtype=object), pd.Series(numbers)


def date_formats_of(text: pd.Series) -> tuple[list[str | None], float, str | None]:
    """(formats, share of the values they read, unsure note) of dates written as text (every
    non-empty value of a column; its :data:`_DISTINCT` most frequent distinct values are tried).

    Formats are taken greedily (the one reading most values, then the one reading most of the
    rest...), each tried exactly as ingest will (:func:`arinsight.ingest.parse.parse_date_text`);
    a value counts when its year lies in 1900-2199 (ingest's range; beyond, it is out_of_range),
    YYYYMMDD only for 8 digits (or 8 digits and ``.0``) in 1950-2100 (other 8-digit numbers are
    ids). Day and month are ambiguous when the swapped format reads every value too (every
    day <= 12): the note says so, as it names values no format reads."""
    from arinsight.ingest.parse import parse_date_text

    counts = text.astype(str).str.strip().value_counts()
    counts = counts[counts.index != ""].head(_DISTINCT)
    if counts.empty:
        return [], 0.0, None
    distinct = pd.Series(counts.index, dtype=object)
    weight = counts.to_numpy()
    eight = distinct.str.fullmatch(r"\d{8}(?:\.0+)?")
    read: dict[str | None, np.ndarray] = {}
    for fmt in DATE_CANDIDATES:
        if fmt == "%Y%m%d":
            got = parse_date_text(distinct[eight], fmt).reindex(distinct.index)
            low, high = 1950, 2100
        else:
            got = parse_date_text(distinct, fmt)
            low, high = 1900, 2199
        ok = (got.notna() & got.dt.year.between(low, high)).to_numpy()
        if ok.any():
            read[fmt] = ok
    chosen: list[str | None] = []
    covered = np.zeros(len(distinct), dtype=bool)
    while True:
        gains = {f: int(weight[ok & ~covered].sum()) for f, ok in read.items() if f not in chosen}
        if not gains or max(gains.values()) == 0:
            break
        top = max(gains.values())
        fmt = next(f for f in DATE_CANDIDATES if gains.get(f) == top)
        chosen.append(fmt)
        covered |= read[fmt]
    share = float(weight[covered].sum() / weight.sum())
    note = None
    for fmt in chosen:
        other = _SWAPPED.get(fmt)
        if other and other in read and (read[fmt] <= read[other]).all():
            note = (
                f"unsure: every day is 12 or less, so {fmt} could also be {other} "
                "(day and month swapped)"
            )
    if chosen == ["%Y%m%d"]:
        note = "unsure: 8-digit numbers read as dates YYYYMMDD"
    if share < 1 and chosen:
        left = distinct[~covered]
        note = (note + "; " if note else "unsure: ") + (
            f"{int(weight[~covered].sum()):,} value(s) fit no date format (they will be "
            f"unparseable_value), e.g. {left.head(3).tolist()!r}"
        )
    return chosen, share, note


#: date_format for Excel serial day numbers (:data:`arinsight.ingest.parse.EXCEL`).
EXCEL_SERIAL = "excel"


def _number_dates(numbers: pd.Series) -> tuple[list[str], float]:
    """(formats, share of the numbers they read) of dates stored as number cells: YYYYMMDD
    (whole, 19500101-21001231, a valid date) and Excel serial day numbers (20000-80000, years
    1954-2119)."""
    if not len(numbers):
        return [], 0.0
    x = pd.to_numeric(numbers, errors="coerce").astype(float)
    whole = (x % 1 == 0) & x.notna()
    ymd = whole & x.between(19500101, 21001231)
    if ymd.any():
        text = x[ymd].astype("int64").astype(str)
        ymd[ymd] = pd.to_datetime(text, format="%Y%m%d", errors="coerce").notna().to_numpy()
    serial = x.between(20000, 80000)
    formats = [f for f, hit in (("%Y%m%d", ymd), (EXCEL_SERIAL, serial)) if hit.any()]
    return formats, float((ymd | serial).mean())


def profile_column(name: str, values: pd.Series) -> Profile:
    """What one raw column holds (see :class:`Profile`)."""
    p = Profile(name=name)
    text, dates, numbers = _cell_kinds(values)
    p.filled = len(text) + len(dates) + len(numbers)
    if p.filled == 0:
        return p
    distinct_text = pd.Series(pd.unique(text)) if len(text) else pd.Series([], dtype=object)
    p.example = str(text.iloc[0] if len(text) else (numbers.iloc[0] if len(numbers) else ""))
    formats: list[str | None] = []
    share = 0.0
    if len(distinct_text):
        formats, share, p.date_note = date_formats_of(text)
        p.ambiguous = {
            f
            for f in formats
            if f in _SWAPPED and f"could also be {_SWAPPED[f]}" in (p.date_note or "")
        }
    text_dates = share >= 0.95
    # dates stored as numbers in a workbook: YYYYMMDD (20260414, 20260414.0) or Excel serial
    # day numbers (46127): beside other dates, or alone in a column named like a date
    number_formats, number_share = _number_dates(numbers)
    named_date = concept_of(name)[0] in _DATE_FIELDS
    if len(numbers) and number_share >= 0.95 and (len(dates) or len(text) or named_date):
        read = len(dates) + share * len(text) + len(numbers)
        if read >= 0.95 * p.filled:
            p.kind = "date"
            p.formats = list(dict.fromkeys([*(formats if len(text) else []), *number_formats]))
            if EXCEL_SERIAL in number_formats:
                p.date_note = (
                    p.date_note + "; " if p.date_note else "unsure: "
                ) + "numbers read as Excel serial day numbers (46127 = 2026-04-15)"
            if len(dates):  # date cells need no format, but the others do: iso stays first
                p.formats = [None, *[f for f in p.formats if f is not None]]
            return p
    if len(dates) and (not len(text) or text_dates):
        p.kind, p.formats = "date", formats if len(text) else []
        return p
    if len(text) and text_dates and len(text) >= len(numbers):
        p.kind, p.formats = "date", formats
        return p
    p.date_note = None
    if len(numbers) and len(numbers) >= 0.95 * p.filled:  # typed numbers (a few text cells)
        p.kind = "number"
        if len(text):
            p.number_note = (
                f"{len(text):,} text value(s) among its numbers do not fit a number (they will be "
                f"unparseable_value), e.g. {pd.unique(text)[:3].tolist()!r}"
            )
        whole = (numbers.astype(float) % 1 == 0).all()
        p.money_like = not whole
        lost = numbers.astype(float).abs() >= 2**53
        p.lost_digits = int(lost.sum()) if pd.api.types.is_float_dtype(numbers) else 0
        if pd.api.types.is_float_dtype(numbers) and whole:
            p.float_ids = len(numbers)
        return p
    p.text_values = distinct_text
    numeric = distinct_text.str.fullmatch(r"[+-]?\(?[\d.,' \xa0\u202f]*\d[\d.,' \xa0\u202f]*\)?-?")
    if len(distinct_text) and numeric.mean() >= 0.95:
        p.kind = "number"
        p.float_ids = int(distinct_text.str.fullmatch(r"[+-]?\d+\.0+").sum())
        p.money_like = bool(distinct_text.str.contains(r"[.,]\d{1,2}-?\)?$").any())
        return p
    p.kind = "text"
    if len(distinct_text) <= 12:
        p.words = sorted(distinct_text.astype(str).tolist(), key=str.casefold)
    p.currencies = bool(distinct_text.str.fullmatch(_CURRENCY).all()) and len(distinct_text) <= 30
    return p


def number_convention(profiles: Iterable[Profile]) -> tuple[str, str | None, str | None]:
    """(decimal, thousands, unsure note): the convention of :data:`NUMBER_CANDIDATES` that
    reads the most numbers written as text in ``profiles`` (ingest's own pattern,
    :attr:`arinsight.ingest.parse.NumberFormat.plain_pattern`), the earlier one on a tie."""
    from arinsight.ingest.parse import NumberFormat

    values = pd.concat(
        [p.text_values for p in profiles if p.kind == "number" and p.text_values is not None]
        or [pd.Series([], dtype=object)],
        ignore_index=True,
    )
    values = values[~values.str.fullmatch(r"[+-]?\d+")] if len(values) else values
    if values.empty:
        return ".", None, None
    scores = []
    for decimal, thousands in NUMBER_CANDIDATES:
        pattern = NumberFormat(decimal, thousands).plain_pattern
        scores.append(int(values.str.strip().str.fullmatch(pattern).sum()))
    best = int(np.argmax(scores))
    decimal, thousands = NUMBER_CANDIDATES[best]
    note = None
    if scores[best] < len(values):
        left = values[
            ~values.str.strip().str.fullmatch(NumberFormat(decimal, thousands).plain_pattern)
        ]
        note = (
            f"unsure: {len(left)} number(s) do not fit decimal {decimal!r}"
            + (f" / thousands {thousands!r}" if thousands else "")
            + f", e.g. {left.head(3).tolist()!r}"
        )
    ties = [NUMBER_CANDIDATES[i] for i, s in enumerate(scores) if s == scores[best] and i != best]
    if any(d != decimal for d, _ in ties):
        note = note or (
            f"unsure: the numbers read the same with decimal {ties[0][0]!r}; no value shows "
            "which is the decimal separator"
        )
    return decimal, thousands, note


# --------------------------------------------------------------------------------------------
# a proposal
# --------------------------------------------------------------------------------------------


@dataclass
class Guess:
    """A source column placed in a section of a source (``columns``, ``derive_payments``,
    ``derive_customers``) under a canonical column."""

    section: str
    target: str
    column: str
    sure: bool
    why: str = ""


@dataclass
class SourceProposal:
    """One source of the proposed file: its table, options and guesses."""

    table: str
    label: str  # the file (and sheet or table) it comes from, for messages
    options: dict[str, Any]
    notes: dict[str, str] = field(default_factory=dict)  # option -> comment
    guesses: list[Guess] = field(default_factory=list)
    derive: dict[str, Any] = field(default_factory=dict)  # derive_payments's other options
    derive_notes: dict[str, str] = field(default_factory=dict)
    normalize: dict[str, dict[str, Any]] = field(default_factory=dict)
    normalize_notes: dict[str, str] = field(default_factory=dict)
    section_notes: dict[str, str] = field(default_factory=dict)  # section -> comment
    unused: list[tuple[str, str]] = field(default_factory=list)  # (column, what it holds)
    profiles: dict[str, Profile] = field(default_factory=dict)
    frame: pd.DataFrame | None = None
    comments: list[str] = field(default_factory=list)


@dataclass
class Proposal:
    """The proposed sources file: :attr:`text` (YAML with comments) and :attr:`spec` (the same
    mapping as Python values)."""

    sources: list[SourceProposal]
    dataset: str
    skipped: list[str] = field(default_factory=list)
    text: str = ""
    currency: str | None = None  # the reporting currency proposed
    currency_note: str | None = None
    other_currencies: list[str] = field(default_factory=list)  # each needs an fx_rates entry
    #: a rates file among the inputs (currency, date, rate), relative to the proposal's folder
    rates_file: str | None = None
    rates_currencies: list[str] = field(default_factory=list)

    @property
    def spec(self) -> dict[str, Any]:
        import yaml

        return yaml.safe_load(self.text)

    @property
    def unsure(self) -> int:
        return self.text.count("# unsure:")


@dataclass
class _Input:
    """One table read from an input (a CSV file, a sheet, a database table)."""

    label: str
    stem: str  # name that hints at the table (file stem, sheet, table)
    options: dict[str, Any]
    notes: dict[str, str]
    frame: pd.DataFrame


def _read_inputs(path_text: str, out_dir: Path, tables: Sequence[str]) -> list[_Input]:
    """The tables of one input argument, read with ingest's readers and the layout found."""
    from arinsight.ingest import readers

    if "://" in path_text:
        return _read_database(path_text, path_text, out_dir, tables)
    path = Path(path_text).expanduser()
    if not path.exists():
        raise UserError(f"{path_text}: file not found")
    if path.is_dir():
        raise UserError(f"{path_text}: a folder; name the export files (e.g. {path_text}/*.csv)")
    rel = _relative(path, out_dir)
    suffix = path.suffix.lower()
    if suffix in SQLITE_SUFFIXES or path.read_bytes()[:16] == b"SQLite format 3\x00":
        return _read_database(
            f"sqlite:///{{here}}/{rel}" if not Path(rel).is_absolute() else f"sqlite:///{rel}",
            path_text,
            out_dir,
            tables,
            path,
        )
    if suffix in EXCEL_SUFFIXES:
        from python_calamine import CalamineWorkbook

        try:
            wb = CalamineWorkbook.from_path(str(path))
        except Exception as exc:
            raise UserError(f"{path_text}: cannot open as an Excel workbook: {exc}") from exc
        out = []
        for index, sheet in enumerate(wb.sheet_names):
            rows = wb.get_sheet_by_index(index).to_python(skip_empty_area=False)
            if not any(any(str(c).strip() for c in r) for r in rows):
                continue
            header = excel_header_row(rows)
            options: dict[str, Any] = {"kind": "excel", "path": rel, "sheet": sheet}
            notes = {}
            if header > 1:
                options["header_row"] = header
                notes["header_row"] = f"rows above row {header} are a title block"
            frame = readers.read_excel(path, options)
            # the file's name and the sheet's both hint at the table (customers.xlsx[AR]: the
            # customer table, though "AR" alone would say invoices)
            stem = f"{path.stem} {sheet}"
            out.append(_Input(f"{path.name}[{sheet}]", stem, options, notes, frame))
        if not out:
            raise UserError(f"{path_text}: every sheet is empty")
        if len(out) > 1:
            out[0].notes["sheet"] = "unsure: the workbook has other sheets: " + ", ".join(
                repr(i.options["sheet"]) for i in out[1:]
            )
        return out
    data = path.read_bytes()
    if not data.strip():
        raise UserError(f"{path_text}: file is empty")
    if b"\x00" in data[:_HEAD_BYTES] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError(f"{path_text}: not a text (CSV) file (it holds NUL bytes)")
    try:
        encoding, enc_note = detect_encoding(data)
    except UserError as exc:
        raise UserError(f"{path_text}: not a text (CSV) file: {exc}") from None
    layout = detect_layout(data, encoding)
    options = {"kind": "csv", "path": rel}
    notes = dict(layout.notes)
    if layout.delimiter != ",":
        options["delimiter"] = layout.delimiter
    if encoding != "utf-8":
        options["encoding"] = encoding
        if enc_note:
            notes["encoding"] = enc_note
    if layout.header_row > 1:
        options["header_row"] = layout.header_row
    frame, malformed = readers.read_csv(path, options)
    if malformed:
        notes["path"] = (
            f"unsure: {len(malformed)} line(s) do not have the header's number of fields, "
            f"e.g. line {malformed[0]['row']}"
        )
    return [_Input(path.name, path.stem, options, notes, frame)]


def _drop_non_data_rows(inp: _Input) -> None:
    """Profile the data rows only: the header repeated inside the data (a page break; ingest
    quarantines it as ``repeated_header``) and rows with less than half the filled cells of a
    usual row (a ``----`` separator, a totals row, a ``12 rows`` footer) would make a date or
    amount column look like text. Separators and totals make ingest stop at them, so the
    proposal sets ``on_bad_value: quarantine`` (each quarantined with its line) and says why."""
    from arinsight.ingest.readers import split_repeated_headers

    frame, repeated = split_repeated_headers(inp.frame, inp.label)
    cols = [c for c in frame.columns if c != "__file"]
    if len(frame) >= 3 and len(cols) >= 4:
        filled = frame[cols].map(lambda v: v is not None and str(v).strip() not in ("", "nan"))
        count = filled.sum(axis=1)
        sparse = count < max(2, 0.5 * float(count.median()))
        if sparse.any():
            rows = frame.index[sparse].tolist()
            inp.options["on_bad_value"] = "quarantine"
            inp.notes["on_bad_value"] = (
                f"unsure: {len(rows)} row(s) hold much less than a data row (a separator, a "
                f"totals or footer line), e.g. row(s) {', '.join(map(str, rows[:3]))}: each is "
                "quarantined with its line; remove this line to stop at the first"
            )
            frame = frame[~sparse]
    if repeated:
        inp.notes.setdefault(
            "header_row",
            f"the header is repeated inside the data ({len(repeated)} time(s), e.g. row "
            f"{repeated[0]['row']}): those rows are quarantined as repeated_header",
        )
    inp.frame = frame


def _read_database(
    url: str, shown: str, out_dir: Path, tables: Sequence[str], path: Path | None = None
) -> list[_Input]:
    """Every table of a database (or those named with ``--table``), read as ingest reads a
    ``table:`` (read-only)."""
    import sqlalchemy as sa

    from arinsight.ingest import readers

    real = url.replace("{here}", out_dir.as_posix())
    try:
        engine = readers.read_only_engine(real)
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names() + sa.inspect(conn).get_view_names()
        engine.dispose()
    except Exception as exc:
        raise UserError(f"{readers.mask_url(shown)}: cannot list its tables: {exc}") from exc
    if tables:
        missing = [t for t in tables if t not in names]
        if missing:
            raise UserError(
                f"{readers.mask_url(shown)}: no table {missing[0]!r}; tables: {', '.join(names)}"
            )
        names = list(tables)
    out = []
    masked = readers.mask_url(url)
    notes = {}
    if masked != url:  # a password given on the command line is not written into a file
        notes["url"] = (
            "the password is left out of this file (***): put it back, or use the database's "
            "own password file (PostgreSQL: ~/.pgpass)"
        )
    for name in names:
        options = {"kind": "sql", "url": masked, "table": name}
        frame, _ = readers.read_sql(real, {"table": name}, out_dir)
        label = f"{path.name if path else masked}[{name}]"
        out.append(_Input(label, name, options, dict(notes), frame))
    if not out:
        raise UserError(f"{readers.mask_url(shown)}: the database has no tables")
    return out


def _relative(path: Path, out_dir: Path) -> str:
    """``path`` relative to the proposed file's folder when it is inside it, else absolute."""
    path = path.resolve()
    try:
        return path.relative_to(out_dir.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


#: Tables map does not propose (their columns are read, but mapping them is left to the user).
_OTHER_TABLES = {
    "commissions": ("commission", "provision", "comision"),
    "sales_reps": ("sales rep", "salesrep", "rep", "vertreter", "vendedor", "commercial"),
}
_ROLE_HINTS = {
    "payments": ("pay", "receipt", "rcpt", "zahlung", "paiement", "pago", "cobro", "cash",
                 "remittance", "eingang"),
    "customers": ("customer", "cust", "client", "kunde", "debitor", "debtor", "kna1", "crm",
                  "cliente", "master"),
    "invoices": ("invoice", "inv", "rechnung", "facture", "factura", "bsid", "bsad", "open item",
                 "offene posten", "ar", "receivable", "ledger", "export", "posten", "beleg"),
}  # fmt: skip


def table_of(stem: str, concepts: set[str]) -> tuple[str, str | None]:
    """(table, unsure note) an input provides: from its columns when they say it (invoice or
    due dates: invoices; a payment id or a payment date without them: payments), else from its
    name (``ar_receipts``, ``customers``...), else customers when it has no dates and no
    amounts, else invoices."""
    name = words(stem)
    for other, hints in _OTHER_TABLES.items():
        if any(re.search(rf"(^|\s){re.escape(h)}s?(\s|$)", name) for h in hints):
            return other, None
    if "invoice_ref" in concepts and "due_date" not in concepts:
        return "payments", None  # documents that reference an invoice (SAP REBZG): payments
    invoice_dates = {"invoice_date", "due_date", "baseline_date", "posting_date"} & concepts
    if invoice_dates:
        return "invoices", None
    if {"payment_id", "payment_date"} & concepts:
        return "payments", None
    for table in ("payments", "customers", "invoices"):
        for hint in _ROLE_HINTS[table]:
            if re.search(rf"(^|\s){re.escape(hint)}", name):
                return table, None
    dates = {"generic_date", "payment_date"}
    if not (dates & concepts) and not ({"amount", "local_amount"} & concepts):
        return "customers", "unsure: no dates and no amounts: taken as the customer table"
    return "invoices", "unsure: taken as the invoice table (its name and columns do not say)"


def _guesses(
    inp: _Input, table: str, profiles: dict[str, Profile]
) -> tuple[list[Guess], list[tuple[str, str]]]:
    """The columns placed by name (checked against content), then the required fields still
    missing filled by content (unsure)."""
    fields = ROLE_FIELDS[table]
    # a payments file with an invoice reference (SAP: BELNR the payment document, REBZG the
    # invoice): the document number is the payment's id
    referenced = table == "payments" and any(
        concept_of(c)[0] == "invoice_ref" for c in inp.frame.columns if c != "__file"
    )
    candidates: dict[tuple[str, str], list[tuple[int, int, Guess]]] = {}
    unused_concepts: dict[str, str] = {}
    for pos, col in enumerate(inp.frame.columns):
        if col == "__file":
            continue
        concept, how = concept_of(col)
        prof = profiles[col]
        if concept is None:
            continue
        if referenced and concept == "invoice_id":
            concept, how = "payment_id", f"{col!r} beside an invoice reference"
        if concept == "paid":  # by content: a date, an amount or a status word
            concept = {"date": "payment_date", "number": "paid_amount"}.get(prof.kind, "status")
            how = f"named {col!r}, holds {prof.describe()}"
        if concept not in fields:
            unused_concepts[col] = UNUSED_NOTES.get(concept, f"named like {concept}")
            continue
        section, target = fields[concept]
        if target in _DATE_FIELDS and prof.kind not in ("date", "empty"):
            unused_concepts[col] = f"named like a date but holds {prof.describe()}"
            continue
        if target in _NUMBER_FIELDS and prof.kind not in ("number", "empty"):
            unused_concepts[col] = f"named like a number but holds {prof.describe()}"
            continue
        if target == "currency" and prof.kind == "text" and not prof.currencies:
            unused_concepts[col] = "named like a currency but holds other than 3-letter codes"
            continue
        weak = concept in WEAK or how.startswith("resembles")
        rank = 2 if concept in _FALLBACK else (1 if how.startswith("resembles") else 0)
        why = WEAK.get(concept, "") if concept in WEAK else ""
        if how.startswith("resembles"):
            why = f"the name {how}"
        candidates.setdefault((section, target), []).append(
            (rank, pos, Guess(section, target, col, not weak, why))
        )
    chosen: list[Guess] = []
    used: set[str] = set()
    for (_, target), cands in candidates.items():
        cands.sort(key=lambda c: (c[0], c[1]))
        best = cands[0][2]
        if target == "invoice_date" and cands[0][0] == 2 and len(cands) > 1:
            best.sure = False
            best.why = (
                f"one of several dates ({', '.join(repr(c[2].column) for c in cands)}): "
                "the first is taken as the invoice date"
            )
        chosen.append(best)
        used.add(best.column)
        for _, _, other in cands[1:]:
            concept, _ = concept_of(other.column)
            note = UNUSED_NOTES.get(concept or "", f"also named like {target}")
            unused_concepts.setdefault(other.column, note)
    # required fields nothing named: by content, unsure
    have = {g.target for g in chosen if g.section == "columns"}
    free = [
        c for c in inp.frame.columns if c not in used and c != "__file" and c not in unused_concepts
    ]
    for target in REQUIRED[table]:
        if target in have:
            continue
        pick = None
        if target in _DATE_FIELDS:
            pick = next((c for c in free if profiles[c].kind == "date"), None)
        elif target == "amount":
            pick = next(
                (c for c in free if profiles[c].kind == "number" and profiles[c].money_like), None
            )
        if pick is not None:
            chosen.append(
                Guess(
                    "columns",
                    target,
                    pick,
                    False,
                    f"not named like {target}; its content ({profiles[pick].describe()}) fits",
                )
            )
            free.remove(pick)
            used.add(pick)

    def what(c: str) -> str:  # an unused column: what map knows of it, and what it holds
        known = unused_concepts.get(c)
        if known is None:
            return profiles[c].describe()
        return (
            known if known.startswith("named like") else f"{known}; holds {profiles[c].describe()}"
        )

    unused = [(c, what(c)) for c in inp.frame.columns if c != "__file" and c not in used]
    return chosen, unused


def propose(
    paths: Sequence[str],
    out: str | Path | None = None,
    tables: Sequence[str] = (),
) -> Proposal:
    """Read the exports ``paths`` and propose a sources file (see the module docstring); ``out``
    is where it will be written (paths in it are relative to that folder), ``tables`` the
    database tables to read (default every table)."""
    if not paths:
        raise UserError("name at least one export file")
    out_dir = Path(out).expanduser().resolve().parent if out and str(out) != "-" else Path.cwd()
    inputs: list[_Input] = []
    rates: tuple[str, list[str]] | None = None
    for p in paths:
        found = None if rates else _rates_file(str(p), out_dir)
        if found:
            rates = found
            continue
        inputs.extend(_read_inputs(str(p), out_dir, tables))
    candidates: list[SourceProposal] = []
    skipped: list[str] = []
    for inp in inputs:
        _drop_non_data_rows(inp)
        concepts = {concept_of(c)[0] for c in inp.frame.columns if c != "__file"} - {None}
        table, note = table_of(inp.stem, concepts)  # type: ignore[arg-type]
        if table not in ROLE_FIELDS:
            skipped.append(
                f"{inp.label}: looks like the {table} table, which map does not propose: map "
                "it by hand (docs/own-data.md)"
            )
            continue
        profiles = {c: profile_column(c, inp.frame[c]) for c in inp.frame.columns if c != "__file"}
        sp = SourceProposal(table, inp.label, dict(inp.options), dict(inp.notes))
        if note:
            sp.comments.append(note)
        sp.profiles, sp.frame = profiles, inp.frame
        sp.guesses, sp.unused = _guesses(inp, table, profiles)
        candidates.append(sp)
    # one source per table: the input whose name says the table, else the one most mapped
    sources: list[SourceProposal] = []
    for table in ROLE_FIELDS:
        same = [sp for sp in candidates if sp.table == table]
        if not same:
            continue
        best = max(
            same,
            key=lambda sp: (
                any(
                    re.search(rf"(^|\s){re.escape(h)}", words(sp.label)) for h in _ROLE_HINTS[table]
                ),
                sum(1 for g in sp.guesses if g.sure),
                -same.index(sp),
            ),
        )
        sources.append(best)
        skipped.extend(
            f"{sp.label}: also looks like {table}, proposed from {best.label} (one source per "
            "table: merge the files, or keep the one you mean)"
            for sp in same
            if sp is not best
        )
    if not sources:
        raise UserError("no table could be proposed from " + ", ".join(map(str, paths)))
    _place_customer_attributes(sources)
    has_payments = any(sp.table == "payments" for sp in sources)
    for sp in sources:
        _formats(sp)
        _statuses(sp, has_payments)
        _ids(sp)
        _segments(sp)
    _leading_zeros(sources)
    order = {"customers": 0, "invoices": 1, "payments": 2}
    sources.sort(key=lambda s: order[s.table])
    dataset = Path(str(paths[0])).stem if "://" not in str(paths[0]) else "database"
    proposal = Proposal(sources, dataset, skipped)
    proposal.currency, proposal.currency_note = _reporting_currency(sources)
    proposal.other_currencies = _other_currencies(sources, proposal.currency)
    if rates:
        proposal.rates_file, proposal.rates_currencies = rates
        # the rates convert into the reporting currency: the one invoice currency the file
        # does not list (rather than the most common one)
        seen = [c for c in [proposal.currency, *proposal.other_currencies] if c]
        unlisted = [c for c in seen if c not in proposal.rates_currencies]
        if len(unlisted) == 1 and unlisted[0] != proposal.currency:
            proposal.currency = unlisted[0]
            proposal.other_currencies = sorted(c for c in seen if c != unlisted[0])
        covered = set(proposal.other_currencies) <= set(proposal.rates_currencies)
        if proposal.other_currencies and covered:
            proposal.currency_note = (
                f"the rates file converts {', '.join(proposal.other_currencies)} into "
                f"{proposal.currency}"
            )
    proposal.text = render(proposal)
    return proposal


def _rates_file(path_text: str, out_dir: Path) -> tuple[str, list[str]] | None:
    """(path relative to ``out_dir``, its currencies) when ``path_text`` is a rates file that
    ``fx_rates:`` reads (a CSV with the columns currency, date, rate: :func:`arinsight.fx.
    read_rates_file`), else None."""
    from arinsight import fx

    path = Path(path_text).expanduser()
    if "://" in path_text or path.suffix.lower() not in (".csv", ".txt") or not path.is_file():
        return None
    try:
        head = path.read_text(encoding="utf-8-sig", errors="replace").split("\n", 1)[0].lower()
        if not all(c in re.split(r"[,;]", head.replace(" ", "")) for c in fx.RATE_COLUMNS):
            return None
        found = fx.read_rates_file(path)
    except (ConfigError, OSError, UnicodeError):
        return None
    return (_relative(path.resolve(), out_dir), sorted(found)) if found else None


def _reporting_currency(sources: list[SourceProposal]) -> tuple[str | None, str | None]:
    """(reporting currency, note) when a currency column is mapped: its only currency, or the
    one most amounts are in, with a note naming the others (each needs a rate in ``fx_rates``,
    or its invoices are quarantined as unknown_currency)."""
    from collections import Counter

    counts: Counter[str] = Counter()
    for sp in sources:
        for g in sp.guesses:
            if g.target == "currency" and sp.frame is not None:
                text = sp.frame[g.column].dropna().astype(str).str.strip().str.upper()
                counts.update(text[text != ""].value_counts().to_dict())
    if not counts:
        return None, None
    (top, _), *others = counts.most_common()
    if not others:
        return top, f"every invoice is in {top}"
    listed = ", ".join(f"{c} ({n} rows)" for c, n in others[:10])
    return top, (
        f"unsure: most invoices are in {top}; also {listed}: give each a rate, e.g. "
        f"fx_rates: {{{others[0][0]}: <1 {others[0][0]} in {top}>}}, or they are quarantined"
    )


def _other_currencies(sources: list[SourceProposal], reporting: str | None) -> list[str]:
    """The currencies of the mapped currency columns other than the reporting one, sorted."""
    found: set[str] = set()
    for sp in sources:
        for g in sp.guesses:
            if g.target == "currency" and sp.frame is not None:
                text = sp.frame[g.column].dropna().astype(str).str.strip().str.upper()
                found |= set(text[text.str.fullmatch(_CURRENCY)])
    return sorted(found - {reporting or ""})


def _place_customer_attributes(sources: list[SourceProposal]) -> None:
    """With a customers source, an invoice file's customer attributes are not derived (ingest
    refuses both); with none, the invoice file's flat payment columns need derive_payments and
    a payments source excludes them."""
    tables = {s.table for s in sources}
    for sp in sources:
        if sp.table != "invoices":
            continue
        for section, other in (("derive_customers", "customers"), ("derive_payments", "payments")):
            if other not in tables:
                continue
            for g in [g for g in sp.guesses if g.section == section]:
                sp.guesses.remove(g)
                sp.unused.append(
                    (g.column, f"would be {section}.{g.target}, but a {other} source is proposed")
                )


def _formats(sp: SourceProposal) -> None:
    """Number convention and date formats of the mapped columns (CSV and text cells)."""
    if sp.options["kind"] == "csv":
        mapped_numbers = [
            sp.profiles[g.column]
            for g in sp.guesses
            if g.target in _NUMBER_FIELDS
            or (g.section == "derive_payments" and g.target == "amount")
        ]
        decimal, thousands, note = number_convention(mapped_numbers or sp.profiles.values())
        if decimal != ".":
            sp.options["decimal"] = decimal
        if thousands:
            sp.options["thousands"] = thousands
        if note:
            sp.notes["decimal"] = note
    typed = [
        f"{g.column}: {sp.profiles[g.column].number_note}"
        for g in sp.guesses
        if sp.profiles[g.column].number_note
    ]
    if typed:
        sp.notes["numbers"] = "unsure: " + "; ".join(typed)
    per_column: dict[str, list[str | None]] = {}
    notes = []
    # day/month order: a file writes every date one way, so a column whose days are all <= 12
    # takes the order another date column of the file shows unambiguously
    decided = {
        f
        for prof in sp.profiles.values()
        if prof.kind == "date"
        for f in prof.formats
        if f in _SWAPPED and f not in prof.ambiguous
    }
    for g in sp.guesses:
        prof = sp.profiles[g.column]
        if g.target in _DATE_FIELDS and prof.kind == "date" and prof.formats:
            formats = list(prof.formats)
            parts = (prof.date_note or "").removeprefix("unsure: ").split("; ")
            for f in prof.ambiguous:
                if f in decided or _SWAPPED[f] in decided:
                    if f not in decided:
                        formats[formats.index(f)] = _SWAPPED[f]
                    parts = [x for x in parts if not x.startswith("every day is 12 or less")]
            per_column[g.target] = formats
            if g.sure:  # a column named like a date: YYYYMMDD is what it holds
                parts = [x for x in parts if not x.startswith("8-digit")]
            parts = [x for x in parts if x]
            if parts:
                notes.append(f"{g.column}: {'; '.join(parts)}")
    distinct = {tuple(f) for f in per_column.values()}
    if not distinct or distinct == {(None,)}:
        pass
    elif len(distinct) == 1:
        (fmts,) = distinct
        sp.options["date_format"] = _format_value(list(fmts))
    else:
        sp.options["date_format"] = {k: _format_value(v) for k, v in per_column.items()}
    if notes:
        sp.notes["date_format"] = "unsure: " + "; ".join(notes)
    unreadable = [
        n for k, n in sp.notes.items() if k in ("decimal", "date_format", "numbers") and "fit" in n
    ]
    if unreadable:
        sp.options["on_bad_value"] = "quarantine"
        sp.notes["on_bad_value"] = (
            "unsure: some values cannot be read (above): each such row is quarantined as "
            "unparseable_value, with its file and line; remove this line to stop at the first"
        )


def _format_value(formats: list[str | None]) -> Any:
    names = ["iso" if f is None else f for f in formats]
    return names[0] if len(names) == 1 else names


def _statuses(sp: SourceProposal, payments_source: bool = False) -> None:
    """A status column's words sorted into paid and unpaid; a status-only export gets
    ``derive_payments.status`` (its paid rows have no date: see undated_payment_date), unless
    a payments source is proposed (the status column then stays a plain column)."""
    if sp.table != "invoices" or payments_source:
        return
    status = next((g for g in sp.guesses if g.target == "status"), None)
    has_date = any(
        g.section == "derive_payments" and g.target in ("payment_date", "amount")
        for g in sp.guesses
    )
    if status is None:
        return
    prof = sp.profiles[status.column]
    found = prof.words if prof.words else []
    paid_set = {w.casefold() for w in PAID_WORDS}
    unpaid_set = {w.casefold() for w in UNPAID_WORDS}
    flag_name = words(status.column) in ("cleared", "is cleared", "is paid", "open cleared")
    paid = [
        w
        for w in found
        if w.casefold() in paid_set
        or (flag_name and w.casefold() in ("x", "y", "yes", "1", "true"))
    ]
    unpaid = [w for w in found if w.casefold() in unpaid_set]
    unknown = [w for w in found if w not in paid and w not in unpaid]
    if not has_date:
        sp.guesses.append(Guess("derive_payments", "status", status.column, True))
    else:
        return  # the paid date says which rows are paid; the status column is kept as is
    if any(w.casefold() not in _DEFAULT_PAID for w in paid) or not paid:
        sp.derive["paid_values"] = paid
    from arinsight.ingest.flat import DEFAULT_UNPAID_VALUES

    if any(w.casefold() not in DEFAULT_UNPAID_VALUES for w in unpaid):
        sp.derive["unpaid_values"] = unpaid
    if unknown:
        sp.derive_notes["paid_values"] = (
            f"unsure: status word(s) {unknown!r} are neither paid nor unpaid words we know: add "
            "each to paid_values or unpaid_values (check refuses them until then)"
        )
    if paid:
        sp.derive_notes["undated_payment_date"] = (
            "the paid rows carry no payment date: they are quarantined (undated_payment) "
            "unless you date them, e.g. undated_payment_date: <the export date>"
        )


def _segments(sp: SourceProposal) -> None:
    """Customer attributes derived from invoice rows that differ between a customer's rows
    (a region per row): a note on ``derive_customers`` naming them and ``segment_by: invoice``
    (ingest reports the most recent row's value per customer unless told otherwise)."""
    if sp.table != "invoices" or sp.frame is None:
        return
    customer = next((g.column for g in sp.guesses if g.target == "customer_id"), None)
    if customer is None:
        return
    varying = []
    for g in sp.guesses:
        if g.section != "derive_customers" or g.target not in (
            "region",
            "industry",
            "customer_type",
        ):
            continue
        values = sp.frame[[customer, g.column]].astype(str).apply(lambda c: c.str.strip())
        values = values[values[g.column] != ""]
        n = int((values.groupby(customer)[g.column].nunique() > 1).sum())
        if n:
            varying.append(f"{g.column} ({n} customer{'s' if n > 1 else ''})")
    if varying:
        sp.section_notes["derive_customers"] = (
            f"unsure: {', '.join(varying)} differ between a customer's rows: each customer gets "
            "its most recent row's value; add segment_by: invoice at the top to report each "
            "invoice under its own row's value"
        )


def _ids(sp: SourceProposal) -> None:
    """Notes on ids written as floats (read as integers by ingest) or beyond 2^53."""
    for g in sp.guesses:
        if not g.target.endswith("_id"):
            continue
        prof = sp.profiles[g.column]
        if prof.lost_digits:
            g.sure = False
            g.why = (
                f"{prof.lost_digits} id(s) stored as floats at or beyond 2^53 have lost "
                "digits: export the column as text"
            )
        elif prof.float_ids and not g.why:
            g.why = "ids written as floats (123.0) are read as the integers they are"


def _leading_zeros(sources: list[SourceProposal]) -> None:
    """Ids whose leading zeros differ between rows or files (``0200769623`` and ``200769623``)
    get ``normalize: {<id>: {zeros: pad, width: 10}}`` on every source that holds that id when
    every id written with zeros has that width (none longer), else ``{zeros: strip}``."""
    for target in ("customer_id", "invoice_id"):
        holders = [
            (sp, g)
            for sp in sources
            for g in sp.guesses
            if g.target == target and g.section == "columns"
        ]
        if not holders:
            continue
        values: set[str] = set()
        zeros: list[str] = []
        for sp, g in holders:
            col = sp.frame[g.column]
            from arinsight.ingest.canonical import id_text

            text, _ = id_text(col)
            distinct = set(pd.unique(text[text != ""]).tolist()[:200_000])
            values |= distinct
            zeros.extend(v for v in distinct if len(v) > 1 and v.startswith("0"))
        clash = [v for v in zeros if v.lstrip("0") in values]
        if not clash:
            continue
        # ids written with zeros all have one width, none longer: pad back to it, so the ids
        # are shown as the file (and the customer master) writes them; else strip the zeros
        widths = {len(v) for v in zeros}
        digits = [v for v in values if v.isdigit()]
        width = next(iter(widths)) if len(widths) == 1 else None
        rule: dict[str, Any] = {"zeros": "strip"}
        if width is not None and all(len(v) <= width for v in digits):
            rule = {"zeros": "pad", "width": width}
        for sp, _ in holders:
            sp.normalize[target] = dict(rule)
            how = (
                f"padded with zeros to {width} digits as most are written"
                if rule["zeros"] == "pad"
                else "leading zeros stripped"
            )
            sp.normalize_notes[target] = (
                f"{len(clash)} id(s) appear with and without leading zeros, e.g. "
                f"{clash[0]!r} and {clash[0].lstrip('0')!r}: one {target.removesuffix('_id')} "
                f"({how})"
            )


# --------------------------------------------------------------------------------------------
# the YAML text
# --------------------------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_scalar(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def _line(indent: int, key: str, value: Any = None, comment: str | None = None) -> str:
    text = " " * indent + (f"{key}: {_scalar(value)}" if value is not None else f"{key}:")
    if comment:
        text += "  # " + " ".join(comment.split())
    return text


_ORDER = {
    c: i
    for i, c in enumerate(
        dict.fromkeys(
            [
                "invoice_id",
                "payment_id",
                "customer_id",
                "invoice_date",
                "payment_date",
                "due_date",
                "amount",
                "currency",
                "status",
                "method",
            ]
            + [c for cols in CANONICAL.values() for c in cols]
        )
    )
}


def render(proposal: Proposal) -> str:
    """The proposed sources file as YAML, with a comment on every unsure guess."""
    out = [
        "# Proposed by `arinsight map` from: " + ", ".join(sp.label for sp in proposal.sources),
        "# Review every line marked 'unsure:', then run `arinsight check --params <a params file",
        "# whose sources: points here>`. Options: docs/own-data.md.",
    ]
    for note in proposal.skipped:
        out.append(f"# not proposed: {note}")
    out.append(_line(0, "dataset", proposal.dataset))
    if proposal.currency:
        out.append(_line(0, "reporting_currency", proposal.currency, proposal.currency_note))
    missing = [c for c in proposal.other_currencies if c not in proposal.rates_currencies]
    if proposal.rates_file:
        note = f"rates of {', '.join(proposal.rates_currencies)}: each invoice at the rate on or "
        note += "before its invoice date"
        if missing:
            note += f"; unsure: no rate for {', '.join(missing)} in it (check names them)"
        out.append(_line(0, "fx_rates", proposal.rates_file, note))
    elif proposal.other_currencies:  # a block to fill in: map cannot know the rates
        out.append(
            f"# fx_rates:  # fill in: the value of 1 unit of each currency in {proposal.currency}"
            " (check refuses the run until every currency has a rate), then uncomment"
        )
        out.extend(f"#   {c}: <1 {c} in {proposal.currency}>" for c in proposal.other_currencies)
    out.append("sources:")
    for sp in proposal.sources:
        out.append(_line(2, sp.table) + f"  # from {sp.label}")
        for c in sp.comments:
            out.append(" " * 4 + "# " + c)
        for key, value in sp.options.items():
            out.append(_line(4, key, value, sp.notes.get(key)))
        for key, note in sp.notes.items():
            if key not in sp.options:
                out.append(" " * 4 + "# " + note)
        for section in ("columns", "derive_payments", "derive_customers"):
            gs = sorted(
                (g for g in sp.guesses if g.section == section),
                key=lambda g: _ORDER.get(g.target, 99),
            )
            if not gs and not (section == "derive_payments" and sp.derive):
                continue
            out.append(_line(4, section, comment=sp.section_notes.get(section)))
            for g in gs:
                comment = ("unsure: " + g.why) if not g.sure else (g.why or None)
                out.append(_line(6, g.target, g.column, comment))
            if section == "columns":
                for missing in [c for c in REQUIRED[sp.table] if c not in {g.target for g in gs}]:
                    out.append(
                        " " * 6 + f"# {missing}: <column>  # required: no column found, map it"
                    )
            if section == "derive_payments":
                for key, value in sp.derive.items():
                    out.append(_line(6, key, value, sp.derive_notes.get(key)))
                for key, note in sp.derive_notes.items():
                    if key not in sp.derive:
                        out.append(" " * 6 + f"# {key}: YYYY-MM-DD  # {note}")
        if sp.normalize:
            out.append(_line(4, "normalize"))
            for key, value in sp.normalize.items():
                out.append(_line(6, key, value, sp.normalize_notes.get(key)))
        if sp.unused:
            out.append(" " * 4 + "# columns not used:")
            for col, what in sp.unused:
                out.append(
                    " " * 4 + f"#   {json.dumps(col, ensure_ascii=False)}: {' '.join(what.split())}"
                )
    return "\n".join(out) + "\n"


def summary(proposal: Proposal, written: str) -> str:
    """What ``arinsight map`` prints: per source, the file, the columns mapped, unsure, unused."""
    lines = []
    for sp in proposal.sources:
        unsure = sum(1 for g in sp.guesses if not g.sure)
        lines.append(
            f"{sp.table} <- {sp.label}: {len(sp.guesses)} column(s) mapped"
            + (f" ({unsure} unsure)" if unsure else "")
            + (f", {len(sp.unused)} not used" if sp.unused else "")
        )
    if proposal.rates_file:
        lines.append(
            f"fx_rates <- {proposal.rates_file}: rates of {', '.join(proposal.rates_currencies)}"
        )
    lines.extend(f"not proposed: {s}" for s in proposal.skipped)
    lines.append(
        f"proposed sources file: {written}; review the lines marked 'unsure:', then run "
        "arinsight check --params <a params file with sources: pointing to it>"
    )
    return "\n".join(lines)


def write(proposal: Proposal, out: str | Path, force: bool = False) -> Path:
    """Write the proposed file (never over an existing file unless ``force``)."""
    path = Path(out).expanduser()
    if path.exists() and not force:
        raise UserError(f"{out}: already exists (give --force to replace it, or another --out)")
    if not path.parent.is_dir():
        raise UserError(f"{out}: its folder does not exist")
    path.write_text(proposal.text, encoding="utf-8")
    return path


__all__ = [
    "CONCEPTS",
    "Proposal",
    "concept_of",
    "date_formats_of",
    "detect_encoding",
    "detect_layout",
    "number_convention",
    "profile_column",
    "propose",
    "render",
    "table_of",
    "words",
    "write",
]
