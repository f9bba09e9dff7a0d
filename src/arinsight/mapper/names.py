"""Naming by name: what a column's name means (:data:`CONCEPTS`, in English, German, French,
Spanish and SAP field names; a near miss by ``rapidfuzz``), the canonical field each meaning
fills in each table, status words, and the table a file provides."""

from __future__ import annotations

import re
import unicodedata

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
DATE_FIELDS = {"invoice_date", "due_date", "payment_date"}


NUMBER_FIELDS = {"amount", "credit_limit", "payment_terms_days", "energy_kwh"}


#: A fallback concept only fills a field that no better-named column fills.
FALLBACK = {
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


DEFAULT_PAID = {"paid", "closed", "settled", "cleared"}


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


#: Tables map does not propose (their columns are read, but mapping them is left to the user).
_OTHER_TABLES = {
    "commissions": ("commission", "provision", "comision"),
    "sales_reps": ("sales rep", "salesrep", "rep", "vertreter", "vendedor", "commercial"),
}


ROLE_HINTS = {
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
        for hint in ROLE_HINTS[table]:
            if re.search(rf"(^|\s){re.escape(hint)}", name):
                return table, None
    dates = {"generic_date", "payment_date"}
    if not (dates & concepts) and not ({"amount", "local_amount"} & concepts):
        return "customers", "unsure: no dates and no amounts: taken as the customer table"
    return "invoices", "unsure: taken as the invoice table (its name and columns do not say)"
