"""An independent generator of bank statements with a known truth (issue 25, "Must show").

It reads a ledger as a user has it (the processed tables of `arinsight run`, or the files
`arinsight sample` writes), picks invoices open at the statement date and writes what a bank
would send for them: a camt.053.001.08 statement per day, the same lines as the CSV of the
bank's web portal, and `truth.json` saying, for every line, which invoices it pays and how much
of each, that it pays no invoice (fees, interest, unrelated credits, debits), that it reverses
an earlier line, or that it is the same bank line sent again.

It was written without looking at `arinsight.cashapp` (neither its code nor its synthetic
statements): the habits are those of a European bank keeping a USD account for a US seller
with foreign customers. See README.md in this folder.

    python tests/bankgen/generate.py --seed 1 --ledger data/processed --out /tmp/stmt1
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import random
import re
import sqlite3
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.sax.saxutils import escape

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
CENT = Decimal("0.01")
OWN_IBAN = "DE44500700100912345600"  # the seller's USD account at "Nordbank"
OWN_BIC = "NORDDEFFXXX"
OWN_NAME = "Example Energy Ltd"
CURRENCY = "USD"
# what the payer's bank converts from (1 unit = rate USD); the booking bank uses its own rate
FX = {"EUR": Decimal("1.0850"), "GBP": Decimal("1.2700"), "CHF": Decimal("1.1300")}

# Banks' abbreviations of the words of the sample's customer names (and a few common ones)
ABBREV = {
    "HEALTH": "HLTH",
    "STORES": "STRS",
    "PIONEER": "PIONR",
    "RIVER": "RIVR",
    "LOGISTICS": "LOGIST",
    "POWER": "PWR",
    "CEDAR": "CEDR",
    "METALS": "MTLS",
    "NORTH": "NTH",
    "FREIGHT": "FRGHT",
    "SYSTEMS": "SYS",
    "LABS": "LABS",
    "DELTA": "DLT",
    "GRID": "GRD",
    "WORKS": "WKS",
    "EAGLE": "EAGL",
    "GREEN": "GRN",
    "APEX": "APX",
    "FOODS": "FDS",
    "ENERGY": "ENRGY",
    "ATLAS": "ATLS",
    "BLUE": "BLU",
    "HARBOR": "HBR",
    "IRON": "IRON",
    "SUMMIT": "SMT",
    "SILVER": "SLVR",
    "GROUP": "GRP",
    "INTERNATIONAL": "INTL",
    "SERVICES": "SVCS",
    "MANUFACTURING": "MFG",
    "COMPANY": "CO",
    "CORPORATION": "CORP",
}
LEGAL_VARIANTS = {
    "LLC": ["L.L.C.", "LLC.", "Limited Liability Co"],
    "Ltd": ["Limited", "Ltd.", "LTD"],
    "GmbH": ["G.m.b.H.", "Gesellschaft mbH", "GMBH"],
    "Inc": ["Incorporated", "Inc.", "INC"],
    "Group": ["Grp", "Group Ltd", "GRP"],
    "Co": ["Company", "Co.", "Corp"],
}
LEGAL = set(LEGAL_VARIANTS)


def money(x) -> Decimal:
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- the ledger


@dataclass
class Invoice:
    invoice_id: str
    customer_id: str
    invoice_date: dt.date
    due_date: dt.date
    amount: Decimal
    open_amount: Decimal
    currency: str = CURRENCY


@dataclass
class Ledger:
    """The invoices open at a date (each with its open amount) and the customers' names."""

    open_invoices: list[Invoice]
    customers: dict[str, str]
    all_invoice_ids: set[str] = field(default_factory=set)
    source: str = ""


def _date(x) -> dt.date | None:
    if x is None:
        return None
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    s = str(x).strip()
    if not s or s.lower() in {"nan", "nat", "none"}:
        return None
    try:
        return dt.date.fromisoformat(s[:10])
    except ValueError:
        return None


def _dec(x) -> Decimal | None:
    try:
        d = Decimal(str(x).strip())
    except Exception:
        return None
    return d if d.is_finite() else None


def load_ledger(path: str | Path, statement_date: dt.date) -> Ledger:
    """Read the ledger a user has: a processed folder (`invoices.parquet`, `payments.parquet`,
    `customers.parquet`, `adjustments.parquet` when there is one) or a sample folder
    (`invoices.csv`, `ledger.sqlite`, `customers.xlsx`, `adjustments.csv` when there is one).

    Open at the statement date = amount less the payments and the adjustments (credit notes and
    write-offs: open AR is net of them, docs/own-data.md) dated on or before it, for invoices
    issued on or before it that have no payment or adjustment after it (those are settled some
    other way later: a statement line for them would contradict the ledger). Invoices whose id
    occurs twice, or whose row cannot be read, are left out.
    """
    path = Path(path)
    if (path / "invoices.parquet").exists():
        import pandas as pd

        inv = pd.read_parquet(path / "invoices.parquet")
        pay = pd.read_parquet(path / "payments.parquet")
        cus = pd.read_parquet(path / "customers.parquet")
        inv_rows = [
            (
                r.invoice_id,
                r.customer_id,
                r.invoice_date,
                r.due_date,
                r.amount,
                r.currency,
                getattr(r, "status", ""),
            )
            for r in inv.itertuples()
        ]
        pay_rows = [(r.invoice_id, r.payment_date, r.amount) for r in pay.itertuples()]
        if (path / "adjustments.parquet").exists():
            adj = pd.read_parquet(path / "adjustments.parquet")
            pay_rows += [(r.invoice_id, r.adjustment_date, r.amount) for r in adj.itertuples()]
        cust = {str(r.customer_id): str(r.customer_name) for r in cus.itertuples()}
    elif (path / "invoices.csv").exists():
        with open(path / "invoices.csv", newline="", encoding="utf-8") as f:
            inv_rows = [
                (
                    r["InvoiceNo"],
                    r["CustomerID"],
                    r["InvoiceDate"],
                    r["DueDate"],
                    r["Amount"],
                    r.get("Currency") or CURRENCY,
                    r.get("Status", ""),
                )
                for r in csv.DictReader(f)
            ]
        con = sqlite3.connect(f"file:{path / 'ledger.sqlite'}?mode=ro", uri=True)
        try:
            pay_rows = con.execute(
                "select InvoiceNo, PaymentDate, AmountPaid from payments"
            ).fetchall()
        finally:
            con.close()
        if (path / "adjustments.csv").exists():
            with open(path / "adjustments.csv", newline="", encoding="utf-8") as f:
                pay_rows += [
                    (r["InvoiceNo"], r["PostingDate"], r["Amount"]) for r in csv.DictReader(f)
                ]
        from openpyxl import load_workbook

        wb = load_workbook(path / "customers.xlsx", read_only=True)
        rows = wb["customers"].iter_rows(values_only=True)
        head = list(next(rows))
        i, n = head.index("CustomerID"), head.index("CustomerName")
        cust = {str(r[i]): str(r[n]) for r in rows if r[i] and r[n]}
        wb.close()
    else:
        raise FileNotFoundError(f"{path}: neither a processed nor a sample folder")

    seen: dict[str, int] = {}
    for r in inv_rows:
        seen[str(r[0])] = seen.get(str(r[0]), 0) + 1
    paid: dict[str, Decimal] = {}
    paid_later: set[str] = set()
    for inv_id, pdate, amt in pay_rows:
        d, a = _date(pdate), _dec(amt)
        if not inv_id or d is None or a is None or str(inv_id) in {"nan", "None"}:
            continue
        if d <= statement_date:
            paid[str(inv_id)] = paid.get(str(inv_id), Decimal(0)) + a
        else:
            paid_later.add(str(inv_id))
    out = []
    for inv_id, cid, idate, ddate, amt, ccy, status in inv_rows:
        inv_id, cid = str(inv_id), str(cid)
        d, due, a = _date(idate), _date(ddate), _dec(amt)
        if (
            seen[inv_id] > 1
            or d is None
            or due is None
            or a is None
            or a <= 0
            or cid not in cust
            or d > statement_date
            or inv_id in paid_later
            or not re.fullmatch(r"INV-\d{7}", inv_id)
            or str(ccy) != CURRENCY
        ):
            continue
        if str(status) == "Paid" and inv_id not in paid:
            continue
        open_amt = money(a - paid.get(inv_id, Decimal(0)))
        if open_amt >= Decimal("1.00"):
            out.append(Invoice(inv_id, cid, d, due, money(a), open_amt))
    out.sort(key=lambda i: i.invoice_id)
    return Ledger(out, cust, {str(r[0]) for r in inv_rows}, str(path))


# --------------------------------------------------------------------------- bank habits


def iban(country: str, bban: str) -> str:
    """A valid IBAN (ISO 13616 check digits) for a BBAN of digits."""
    s = bban + country
    num = "".join(str(int(ch, 36)) for ch in s) + "00"
    return f"{country}{98 - int(num) % 97:02d}{bban}"


def customer_iban(customer_id: str, country: str = "DE") -> str:
    h = int(hashlib.sha256(("acct:" + customer_id + country).encode()).hexdigest(), 16)
    lengths = {"DE": 18, "FR": 23, "GB": 18, "CH": 17, "NL": 14, "IT": 22}
    digits = str(h)[: lengths.get(country, 18)]
    if country == "GB":
        return iban("GB", "NWBK" + digits[:14]).replace("NWBK", "NWBK")
    if country == "NL":
        return iban("NL", "ABNA" + digits[:10])
    if country == "IT":
        return iban("IT", "X" + digits[:22])
    return iban(country, digits)


def rf_reference(ref: str) -> str:
    """ISO 11649 creditor reference RFkk<ref>."""
    s = ref + "RF00"
    num = int("".join(str(int(ch, 36)) for ch in s))
    return f"RF{98 - num % 97:02d}{ref}"


def number(inv_id: str) -> str:
    return inv_id.split("-", 1)[1]  # '0001234'


def bank_name(name: str, style: str, rng: random.Random) -> str:
    """The payer's name as the bank shows it."""
    words = name.split()
    if style == "full":
        return name
    if style == "upper":
        return name.upper()
    if style == "abbrev":  # PIONR GRD LLC, IRON SYS INC
        return " ".join(ABBREV.get(w.upper(), w.upper()) for w in words)
    if style == "cut16":
        return name.upper()[:16].rstrip()
    if style == "cut35":
        return (name.upper() + " ACCOUNTS PAYABLE DEPARTMENT")[:35]
    if style == "legal":
        if words[-1] in LEGAL_VARIANTS:
            return " ".join(words[:-1] + [rng.choice(LEGAL_VARIANTS[words[-1]])])
        return name + " Inc."
    if style == "noform":
        return " ".join(w for w in words if w not in LEGAL).upper()
    raise ValueError(style)


NAME_STYLES = [
    ("full", 35),
    ("upper", 20),
    ("abbrev", 15),
    ("cut16", 10),
    ("cut35", 5),
    ("legal", 10),
    ("noform", 5),
]

REF_STYLES = [
    # (style, template, strong?) ; {n} = '0001234', {s} = '1234'
    ("exact", "INV-{n}", True),
    ("exact_lower", "inv-{n}", True),
    ("spaced", "INV {n3} {n4}", True),
    ("rechnung", "Rechnung {s}", False),
    ("rg_nr", "Rg.Nr. {n}", True),
    ("re", "RE: INV{n}", True),
    ("invoice_no", "Invoice No. {n}", True),
    ("payment_for", "PAYMENT FOR INV-{n} THANK YOU", True),
    ("zeros_only", "{n}", True),
    ("dash_digits", "INV-{dash}", True),
    ("fact", "Fact. {s}", False),
]


def ref_text(inv_id: str, style: str) -> str:
    n = number(inv_id)
    s = n.lstrip("0") or "0"
    tmpl = {k: t for k, t, _ in REF_STYLES}[style]
    return tmpl.format(n=n, s=s, n3=n[:3], n4=n[3:], dash=f"{n[:2]}-{n[2:5]}-{n[5:]}")


def multi_ref_text(inv_ids: list[str], rng: random.Random) -> str:
    nums = [number(i) for i in inv_ids]
    style = rng.choice(["re", "rechnungen", "inv_list", "slash"])
    if style == "re":
        return "RE: " + ", ".join(nums)
    if style == "rechnungen":
        return "Rechnungen " + ", ".join(n.lstrip("0") if len(nums) < 3 else n for n in nums)
    if style == "slash":
        return "INV " + "/".join(nums)
    return " ".join("INV-" + n for n in nums)


def transpose(digits: str, rng: random.Random) -> str:
    """Swap two adjacent different digits among the significant ones."""
    first = len(digits) - len(digits.lstrip("0"))
    pos = [i for i in range(max(first, 0), len(digits) - 1) if digits[i] != digits[i + 1]]
    if not pos:
        return digits
    i = rng.choice(pos)
    return digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]


# --------------------------------------------------------------------------- statement lines


@dataclass
class Line:
    line_no: int
    file: str  # day1 | day2 (the re-sent day1 copy has the day1 lines)
    kind: str
    cdt_dbt: str  # CRDT | DBIT
    amount: Decimal
    booking_date: dt.date
    value_date: dt.date
    acct_svcr_ref: str
    end_to_end_id: str = "NOTPROVIDED"
    reversal: bool = False
    payer_name: str = ""
    payer_iban: str = ""
    ultimate_debtor: str = ""
    ustrd: list[str] = field(default_factory=list)
    strd_refs: list[str] = field(default_factory=list)
    instd_amount: Decimal | None = None
    instd_currency: str = ""
    xchg_rate: Decimal | None = None
    charges: Decimal | None = None
    bank_tx: tuple[str, str, str] = ("PMNT", "RCDT", "ESCT")
    return_reason: str = ""
    batch: str = ""  # entries sharing a batch id are one Ntry (a batch booking)
    # the truth
    pays: list[dict] = field(
        default_factory=list
    )  # [{invoice_id, customer_id, amount, open_amount}]
    settles: bool = False  # the invoices are paid in full (differences: discount, fees, FX)
    no_invoice_reason: str = ""
    reverses: int | None = None
    ambiguous: bool = False  # the statement alone cannot say which invoice: never auto-apply
    expect: str = "auto"  # auto | either | review | none | skip
    note: str = ""


class _Gen:
    def __init__(self, ledger: Ledger, seed: int, statement_date: dt.date, n_credit: int):
        self.rng = random.Random(seed)
        self.seed = seed
        self.ledger = ledger
        self.day1 = statement_date
        self.day2 = _next_business_day(statement_date)
        self.start = statement_date - dt.timedelta(days=6)
        self.n_credit = n_credit
        self.lines: list[Line] = []
        self.by_customer: dict[str, list[Invoice]] = {}
        for inv in ledger.open_invoices:
            self.by_customer.setdefault(inv.customer_id, []).append(inv)
        self.used: set[str] = set()
        self.open_ids = {i.invoice_id: i for i in ledger.open_invoices}
        base: dict[str, int] = {}
        for n in ledger.customers.values():
            b = " ".join(w for w in n.split() if w not in LEGAL).upper()
            base[b] = base.get(b, 0) + 1
        self.base_count = base
        self._ref_seq = 0

    # -- helpers
    def ref(self, day: dt.date) -> str:
        self._ref_seq += 1
        return f"NB{day:%y%m%d}{self.seed % 1000:03d}{self._ref_seq:05d}"

    def free(self, cust: str | None = None) -> list[Invoice]:
        pool = self.by_customer.get(cust, []) if cust else self.ledger.open_invoices
        return [i for i in pool if i.invoice_id not in self.used]

    def take(self, inv: Invoice) -> Invoice:
        self.used.add(inv.invoice_id)
        return inv

    def pick(self, pred=lambda i: True) -> Invoice | None:
        pool = [i for i in self.free() if pred(i)]
        return self.take(self.rng.choice(pool)) if pool else None

    def booking(self, invs: list[Invoice], day: dt.date | None = None) -> dt.date:
        if day is not None:
            return day
        lo = max([self.start] + [i.invoice_date for i in invs])
        days = [lo + dt.timedelta(d) for d in range((self.day1 - lo).days + 1)]
        days = [d for d in days if d.weekday() < 5] or [self.day1]
        return self.rng.choice(days)

    def unique_name(self, cust: str) -> bool:
        n = self.ledger.customers[cust]
        return self.base_count[" ".join(w for w in n.split() if w not in LEGAL).upper()] == 1

    def name_style(self) -> str:
        return self.rng.choices([s for s, _ in NAME_STYLES], [w for _, w in NAME_STYLES])[0]

    def add(
        self,
        kind: str,
        invs: list[Invoice],
        amount: Decimal,
        *,
        day=None,
        file="day1",
        ustrd=None,
        strd=None,
        style=None,
        expect="auto",
        settles=None,
        pays=None,
        **kw,
    ) -> Line:
        bdate = self.booking(invs, day)
        cust = invs[0].customer_id if invs else ""
        style = style or self.name_style()
        payer = kw.pop("payer_name", None)
        if payer is None and cust:
            payer = bank_name(self.ledger.customers[cust], style, self.rng)
        if pays is None:
            pays = _allocate(invs, amount)
        if settles is None:
            settles = bool(invs) and amount >= sum(i.open_amount for i in invs)
        line = Line(
            line_no=len(self.lines) + 1,
            file=file,
            kind=kind,
            cdt_dbt=kw.pop("cdt_dbt", "CRDT"),
            amount=money(amount),
            booking_date=bdate,
            value_date=kw.pop("value_date", bdate),
            acct_svcr_ref=self.ref(bdate),
            payer_name=payer or "",
            payer_iban=kw.pop("payer_iban", None) or (customer_iban(cust) if cust else ""),
            ustrd=list(ustrd or []),
            strd_refs=list(strd or []),
            pays=pays,
            settles=settles,
            expect=expect,
            **kw,
        )
        if style and invs:
            line.note = (line.note + f" name:{style}").strip()
        self.lines.append(line)
        return line

    # -- the kinds of credit line
    def k_ref(self, style=None):
        inv = self.pick()
        if not inv:
            return
        style = style or self.rng.choice([s for s, _, _ in REF_STYLES])
        strong = {s: st for s, _, st in REF_STYLES}[style]
        ns = self.name_style()
        # a weak number (Rechnung 1234) is confirmed by the exact amount; a strong one by itself
        expect = "auto" if strong or ns == "full" else "either"
        text = ref_text(inv.invoice_id, style)
        if self.rng.random() < 0.3:
            text = self.rng.choice(["Zahlung ", "Payment ", "Ueberweisung ", ""]) + text
        self.add(f"ref_{style}", [inv], inv.open_amount, ustrd=[text], style=ns, expect=expect)

    def k_structured(self):
        inv = self.pick()
        if not inv:
            return
        if self.rng.random() < 0.4:
            ref = rf_reference(number(inv.invoice_id))
            self.add(
                "strd_rf_creditor_ref",
                [inv],
                inv.open_amount,
                strd=[ref],
                ustrd=[] if self.rng.random() < 0.5 else ["PAYMENT"],
                expect="either",
                note="ISO 11649 RF reference built from the invoice number",
            )
        else:
            self.add(
                "strd_ref",
                [inv],
                inv.open_amount,
                strd=[inv.invoice_id],
                ustrd=[] if self.rng.random() < 0.5 else ["SAMMELZAHLUNG"],
            )

    def k_typo(self, how: str):
        """A mangled number that is no open invoice: the payer and the amount identify it."""
        for _ in range(50):
            inv = self.pick()
            if not inv:
                return
            n = number(inv.invoice_id)
            if how == "transposed":
                bad = transpose(n, self.rng)
            else:
                i = self.rng.randrange(len(n) - len(n.lstrip("0")), len(n))
                bad = n[:i] + self.rng.choice([d for d in "0123456789" if d != n[i]]) + n[i + 1 :]
            if bad != n and "INV-" + bad not in self.open_ids:
                style = "full" if self.rng.random() < 0.6 else self.name_style()
                exp = "auto" if style == "full" and self.unique_name(inv.customer_id) else "either"
                closed = "INV-" + bad in self.ledger.all_invoice_ids
                self.add(
                    f"typo_{how}",
                    [inv],
                    inv.open_amount,
                    ustrd=[f"INV-{bad}"],
                    style=style,
                    expect=exp,
                    note=f"written INV-{bad}"
                    + (" (a paid invoice)" if closed else " (no such invoice)"),
                )
                return
            self.used.discard(inv.invoice_id)

    def k_other_customer(self):
        """A transposition that is ANOTHER customer's open invoice; name and amount are right."""
        cands = []
        for inv in self.free():
            n = number(inv.invoice_id)
            variants = [
                "INV-" + n[:i] + n[i + 1] + n[i] + n[i + 2 :]
                for i in range(len(n) - 1)
                if n[i] != n[i + 1]
            ]
            if self.rng.random() < 0.3:  # one digit wrong instead of two swapped
                variants = [
                    "INV-" + n[:i] + d + n[i + 1 :]
                    for i in range(3, len(n))
                    for d in "0123456789"
                    if d != n[i]
                ]
            for other in variants:
                o = self.open_ids.get(other)
                if (
                    o
                    and o.customer_id != inv.customer_id
                    and other not in self.used
                    and o.open_amount != inv.open_amount
                ):
                    cands.append((inv, o))
        if not cands:
            return
        inv, other = self.rng.choice(cands)
        self.take(inv)
        self.used.add(other.invoice_id)  # keep the other invoice open and untouched
        self.add(
            "ref_other_customers_invoice",
            [inv],
            inv.open_amount,
            ustrd=[other.invoice_id],
            style="full",
            expect="either",
            note=f"written {other.invoice_id} = open invoice of {other.customer_id} "
            f"({other.open_amount}); payer and amount are {inv.customer_id}'s",
        )

    def k_name_only(self):
        """No reference: the payer's name and the exact amount."""
        inv = self.pick(
            lambda i: (
                sum(1 for j in self.by_customer[i.customer_id] if j.open_amount == i.open_amount)
                == 1
            )
        )
        if not inv:
            return
        style = self.name_style()
        exp = (
            "auto" if style in ("full", "upper") and self.unique_name(inv.customer_id) else "either"
        )
        self.add(
            "no_reference",
            [inv],
            inv.open_amount,
            ustrd=self.rng.choice([[], ["PAYMENT"], ["ZAHLUNG LT. VEREINBARUNG"], ["ACH CREDIT"]]),
            style=style,
            expect=exp,
        )

    def k_parent(self):
        inv = self.pick()
        if not inv:
            return
        first = self.ledger.customers[inv.customer_id].split()[0]
        parent = self.rng.choice(
            [
                f"{first} Holdings Corp",
                f"{first.upper()} TREASURY SVCS",
                f"{first} Industries International Inc",
            ]
        )
        ult = self.ledger.customers[inv.customer_id] if self.rng.random() < 0.5 else ""
        self.add(
            "parent_pays",
            [inv],
            inv.open_amount,
            payer_name=parent,
            payer_iban=customer_iban("parent:" + first),
            ultimate_debtor=ult,
            ustrd=[ref_text(inv.invoice_id, self.rng.choice(["exact", "re", "invoice_no"]))],
            note=f"parent {parent} pays for {inv.customer_id}",
        )

    def k_foreign(self):
        """A foreign payer sends EUR/GBP/CHF; the bank converts at its rate and takes a fee."""
        inv = self.pick(lambda i: i.open_amount > 2000)
        if not inv:
            return
        ccy = self.rng.choice(list(FX))
        sent = money(inv.open_amount / FX[ccy])
        bank_rate = (FX[ccy] * Decimal(str(1 - self.rng.uniform(0.002, 0.009)))).quantize(
            Decimal("0.000001")
        )
        fee = money(self.rng.choice([10, 15, 20, 25]))
        booked = money(sent * bank_rate) - fee
        country = {"EUR": self.rng.choice(["FR", "IT", "NL"]), "GBP": "GB", "CHF": "CH"}[ccy]
        short = (inv.open_amount - booked) / inv.open_amount
        self.add(
            "foreign_fx",
            [inv],
            booked,
            instd_amount=sent,
            instd_currency=ccy,
            xchg_rate=bank_rate,
            charges=fee,
            payer_iban=customer_iban(inv.customer_id, country),
            ustrd=[ref_text(inv.invoice_id, self.rng.choice(["exact", "invoice_no", "re"]))],
            settles=True,
            expect="auto" if short <= Decimal("0.02") else "either",
            note=f"sent {sent} {ccy}, booked {booked} USD ({short:.2%} short)",
            bank_tx=("PMNT", "RCDT", "XBCT"),
        )

    def k_foreign_usd(self):
        """A foreign payer sends USD; an intermediary bank lifts a fee (instructed = invoice)."""
        inv = self.pick(lambda i: i.open_amount > 500)
        if not inv:
            return
        fee = money(self.rng.choice([12, 15, 20, 30, 35]))
        self.add(
            "foreign_usd_lifting_fee",
            [inv],
            inv.open_amount - fee,
            instd_amount=inv.open_amount,
            instd_currency="USD",
            charges=fee,
            payer_iban=customer_iban(inv.customer_id, "GB"),
            settles=True,
            ustrd=[ref_text(inv.invoice_id, "exact")],
            bank_tx=("PMNT", "RCDT", "XBCT"),
            note=f"{fee} taken by an intermediary bank",
        )

    def k_partial(self):
        inv = self.pick(lambda i: i.open_amount > 200)
        if not inv:
            return
        part = money(inv.open_amount * Decimal(str(self.rng.choice([0.25, 0.4, 0.5, 0.6, 0.75]))))
        txt = self.rng.choice(
            ["Teilzahlung {r}", "partial payment {r}", "{r} 1st instalment", "Akonto {r}"]
        ).format(r=ref_text(inv.invoice_id, "exact"))
        self.add("partial", [inv], part, ustrd=[txt], settles=False)

    def k_discount(self):
        inv = self.pick(
            lambda i: i.open_amount > 100 and i.due_date >= self.day1 - dt.timedelta(20)
        )
        if not inv:
            inv = self.pick(lambda i: i.open_amount > 100)
        if not inv:
            return
        paid = money(inv.open_amount * Decimal("0.98"))
        txt = self.rng.choice(
            ["{r} abzgl. 2% Skonto", "{r} less 2% discount", "{r} 2/10 net 30"]
        ).format(r=ref_text(inv.invoice_id, "exact"))
        self.add(
            "discount_2pct",
            [inv],
            paid,
            ustrd=[txt],
            settles=True,
            pays=[_pay(inv, paid)],
            note=f"discount {inv.open_amount - paid}",
        )

    def _group(self, k_min=2, k_max=4) -> list[Invoice] | None:
        custs = [c for c, v in self.by_customer.items() if len(self.free(c)) >= k_min]
        if not custs:
            return None
        c = self.rng.choice(custs)
        free = self.free(c)
        invs = self.rng.sample(free, min(len(free), self.rng.randint(k_min, k_max)))
        invs.sort(key=lambda i: i.invoice_id)
        for i in invs:
            self.take(i)
        return invs

    def k_multi(self, with_refs=True, discount=False):
        invs = self._group()
        if not invs:
            return
        total = sum(i.open_amount for i in invs)
        amount = money(total * Decimal("0.98")) if discount else total
        ustrd = (
            [multi_ref_text([i.invoice_id for i in invs], self.rng)]
            if with_refs
            else [self.rng.choice(["PAYMENT RUN 44", "SAMMELUEBERWEISUNG", "AP PAYMENT"])]
        )
        if discount:
            ustrd[0] += " abzgl. 2% Skonto"
        kind = "multi_ref" if with_refs else "multi_no_ref"
        if discount:
            kind += "_discount"
        style = self.name_style() if with_refs else "full"
        exp = "auto" if with_refs and not discount else "either"
        pays = [
            _pay(i, money(i.open_amount * Decimal("0.98")) if discount else i.open_amount)
            for i in invs
        ]
        if discount:  # the rounding cent goes to the last invoice
            pays[-1]["amount"] = str(amount - sum(Decimal(p["amount"]) for p in pays[:-1]))
        self.add(kind, invs, amount, ustrd=ustrd, style=style, expect=exp, settles=True, pays=pays)

    def k_equal_pair(self):
        """A customer has two open invoices of the same amount and pays one without a reference."""
        for c in self.by_customer:
            amounts: dict[Decimal, list[Invoice]] = {}
            for i in self.free(c):
                amounts.setdefault(i.open_amount, []).append(i)
            for amt, same in amounts.items():
                if len(same) >= 2:
                    inv = self.take(same[0])
                    for other in same[1:]:
                        self.used.add(other.invoice_id)
                    self.add(
                        "equal_amount_pair",
                        [inv],
                        amt,
                        ustrd=["PAYMENT"],
                        style="full",
                        ambiguous=True,
                        expect="review",
                        note="same open amount as "
                        + ", ".join(o.invoice_id for o in same[1:])
                        + "; truth: the older one, but nothing on the line says which",
                    )
                    return True
        return False

    def k_multi_one_ref(self):
        """One transfer for two invoices of a customer; the text names only the first."""
        invs = self._group(2, 2)
        if not invs:
            return
        total = sum(i.open_amount for i in invs)
        self.add(
            "multi_names_one",
            invs,
            total,
            ustrd=[ref_text(invs[0].invoice_id, "exact")],
            expect="either",
            settles=True,
            pays=[_pay(i, i.open_amount) for i in invs],
            note=f"pays {invs[1].invoice_id} too, unnamed",
        )

    def k_sister_pays(self):
        """A customer pays another customer's invoice (same group), exact reference and amount."""
        for _ in range(20):
            inv = self.pick()
            if not inv:
                return
            first = self.ledger.customers[inv.customer_id].split()[0]
            sisters = sorted(
                c
                for c, n in self.ledger.customers.items()
                if n.split()[0] == first and c != inv.customer_id
            )
            if sisters:
                sis = self.rng.choice(sisters)
                self.add(
                    "sister_company_pays",
                    [inv],
                    inv.open_amount,
                    payer_name=self.ledger.customers[sis],
                    payer_iban=customer_iban(sis),
                    ustrd=[ref_text(inv.invoice_id, "exact")],
                    expect="either",
                    note=f"payer is {sis} ({self.ledger.customers[sis]}), a sister "
                    f"company of {inv.customer_id}; reference and amount are right",
                )
                return
            self.used.discard(inv.invoice_id)

    def k_equal_after_partial(self):
        """A customer's two open invoices get the same open amount inside the statement: a
        partial payment of the larger (with its reference) leaves exactly the smaller's amount
        open; a later line pays that amount without a reference: which invoice is unknown."""
        custs = sorted(c for c in self.by_customer if len(self.free(c)) >= 2)
        self.rng.shuffle(custs)
        for c in custs:
            free = sorted(self.free(c), key=lambda i: i.open_amount)
            a, b = free[-1], free[0]
            if a.open_amount - b.open_amount < 100:
                continue
            first = self.day1 - dt.timedelta(days=3)
            while first.weekday() >= 5:
                first -= dt.timedelta(days=1)
            if max(a.invoice_date, b.invoice_date) > first:
                continue
            self.take(a)
            self.take(b)
            part = a.open_amount - b.open_amount
            self.add(
                "partial_leaves_equal_pair",
                [a],
                part,
                day=first,
                ustrd=[f"Teilzahlung {a.invoice_id}"],
                settles=False,
                style="full",
                note=f"leaves {b.open_amount} open on {a.invoice_id}, the amount of {b.invoice_id}",
            )
            self.add(
                "equal_amount_pair",
                [b],
                b.open_amount,
                day=self.day1,
                ustrd=["PAYMENT"],
                style="full",
                ambiguous=True,
                expect="review",
                note=f"{a.invoice_id} and {b.invoice_id} of {c} both have {b.open_amount} "
                "open; the truth is the second but nothing on the line says which",
            )
            return True
        return False

    def k_shared_name_partial(self):
        """A round partial payment, no reference, a name that fits two customers."""
        groups: dict[str, list[str]] = {}
        for cid, n in self.ledger.customers.items():
            if self.free(cid):
                groups.setdefault(
                    " ".join(w for w in n.split() if w not in LEGAL).upper(), []
                ).append(cid)
        shared = sorted(k for k, v in groups.items() if len(v) >= 2)
        if not shared:
            return False
        base = self.rng.choice(shared)
        cid = self.rng.choice(sorted(groups[base]))
        inv = self.rng.choice(self.free(cid))
        if inv.open_amount < 3000:
            return False
        self.take(inv)
        amt = Decimal(int(inv.open_amount / 2 / 1000) * 1000 or 1000)
        self.add(
            "shared_name_round_partial",
            [inv],
            amt,
            ustrd=["ON ACCOUNT"],
            payer_name=base,
            payer_iban=customer_iban("shared:" + base),
            ambiguous=True,
            expect="review",
            settles=False,
            note=f"'{base}' fits " + ", ".join(sorted(groups[base])),
        )
        return True

    def k_equal_pair_made(self):
        """No equal pair in the ledger: a customer with two open invoices whose two-invoice sums
        tie (a+b = c+d), paid without reference (which pair is unknown)."""
        for c in sorted(self.by_customer):
            free = self.free(c)
            if len(free) < 4:
                continue
            sums: dict[Decimal, list[tuple[Invoice, Invoice]]] = {}
            for x in range(len(free)):
                for y in range(x + 1, len(free)):
                    sums.setdefault(free[x].open_amount + free[y].open_amount, []).append(
                        (free[x], free[y])
                    )
            for s, pairs in sums.items():
                if len(pairs) >= 2:
                    a, b = pairs[0]
                    for p in pairs:
                        for i in p:
                            self.used.add(i.invoice_id)
                    self.add(
                        "equal_sum_pairs",
                        [a, b],
                        s,
                        ustrd=["PAYMENT"],
                        style="full",
                        ambiguous=True,
                        expect="review",
                        settles=True,
                    )
                    return True
        return False

    def k_psp(self):
        """A card acquirer's payout: several customers' invoices less its fees, no references."""
        invs = []
        for _ in range(self.rng.randint(3, 5)):
            i = self.pick(lambda i: i.open_amount < 20000)
            if i:
                invs.append(i)
        if len(invs) < 2:
            return
        gross = sum(i.open_amount for i in invs)
        fee = money(gross * Decimal("0.029"))
        self.add(
            "card_acquirer_payout",
            invs,
            gross - fee,
            payer_name="ADYEN N.V.",
            payer_iban="NL46ADYB0123456789",
            ustrd=[f"PAYOUT {self.rng.randint(10**7, 10**8)} BATCH {self.day1:%Y%m%d}"],
            style="full",
            ambiguous=True,
            expect="review",
            settles=True,
            pays=[_pay(i, i.open_amount) for i in invs],
            note=f"gross {gross}, acquirer fee {fee} (2.9 %); card payments of "
            + ", ".join(i.customer_id for i in invs),
        )

    def k_direct_debits(self, n: int) -> list[Line]:
        """Our own SEPA direct-debit collection, booked as one batch entry."""
        batch = f"DDCOLL{self.day1:%Y%m%d}{self.seed % 100:02d}"
        out = []
        day = self.day1 - dt.timedelta(days=1) if self.day1.weekday() > 0 else self.day1
        for _ in range(n):
            inv = self.pick(lambda i: i.open_amount < 50000)
            if not inv:
                break
            if inv.invoice_date > day:  # not issued yet when collected: no collection
                self.used.discard(inv.invoice_id)  # (the draw stays, so other seeds are as before)
                continue
            out.append(
                self.add(
                    "direct_debit",
                    [inv],
                    inv.open_amount,
                    day=day,
                    batch=batch,
                    end_to_end_id=f"DD{number(inv.invoice_id)}{self.seed % 10}",
                    ustrd=[f"Lastschrift {inv.invoice_id} Mandat M-{inv.customer_id}"],
                    bank_tx=("PMNT", "RDDT", "ESDD"),
                    style="upper",
                )
            )
        return out

    def k_duplicate_payment(self, of: Line):
        """The customer pays the same invoice a second time (a new transfer)."""
        day = min(of.booking_date + dt.timedelta(days=self.rng.randint(1, 3)), self.day1)
        self.add(
            "customer_paid_twice",
            [],
            of.amount,
            day=day,
            payer_name=of.payer_name,
            payer_iban=of.payer_iban,
            ustrd=list(of.ustrd),
            strd=list(of.strd_refs),
            pays=[],
            settles=False,
            expect="none",
            no_invoice_reason=f"duplicate payment by the customer of line {of.line_no} "
            "(already paid; to refund or keep as credit)",
        )

    def k_none(self, what: str, day=None, file="day1"):
        r = self.rng
        spec = {
            "interest": (
                "CRDT",
                money(r.uniform(5, 400)),
                "NORDBANK AG",
                "",
                [f"HABENZINSEN {self.day1:%m/%Y}"],
                ("ACMT", "MDOP", "INTR"),
            ),
            "tax_refund": (
                "CRDT",
                money(r.uniform(1000, 30000)),
                "IRS TREAS 310",
                "",
                ["TAX REF 941 Q2"],
                ("PMNT", "RCDT", "ESCT"),
            ),
            "insurance": (
                "CRDT",
                money(r.uniform(500, 9000)),
                "ALLIANZ VERSICHERUNGS-AG",
                customer_iban("allianz"),
                [f"SCHADEN NR {r.randint(10**6, 10**7)}"],
                ("PMNT", "RCDT", "ESCT"),
            ),
            "intercompany": (
                "CRDT",
                money(r.choice([50000, 100000, 250000])),
                OWN_NAME + " SAVINGS",
                "DE12500700100912345601",
                ["CASH POOL TRANSFER"],
                ("PMNT", "ICDT", "BOOK"),
            ),
            "account_fee": (
                "DBIT",
                money(r.choice([35, 49.9, 75])),
                "NORDBANK AG",
                "",
                [f"KONTOFUEHRUNG {self.day1:%m/%Y}"],
                ("ACMT", "MDOP", "CHRG"),
            ),
            "wire_fee": (
                "DBIT",
                money(r.choice([12.5, 15, 25])),
                "NORDBANK AG",
                "",
                ["ENTGELT AUSLANDSZAHLUNG"],
                ("ACMT", "MDOP", "CHRG"),
            ),
            "supplier": (
                "DBIT",
                money(r.uniform(800, 60000)),
                r.choice(["Grid Parts Supply GmbH", "ACME TURBINES INC", "Office World Ltd"]),
                customer_iban("supplier" + str(r.random())),
                [f"INV {r.randint(10**4, 10**5)}"],
                ("PMNT", "ICDT", "ESCT"),
            ),
            "payroll": (
                "DBIT",
                money(r.uniform(150000, 400000)),
                "PAYROLL SERVICES LLC",
                customer_iban("payroll"),
                [f"SALARIES {self.day1:%m/%Y}"],
                ("PMNT", "ICDT", "ESCT"),
            ),
            "unknown_small": (
                "CRDT",
                money(r.uniform(10, 90)),
                "J SMITH",
                customer_iban("js" + str(r.random())),
                ["REFUND DEPOSIT"],
                ("PMNT", "RCDT", "ESCT"),
            ),
        }[what]
        cd, amt, payer, acct, text, tx = spec
        self.add(
            what,
            [],
            amt,
            day=day or self.booking([]),
            file=file,
            cdt_dbt=cd,
            payer_name=payer,
            payer_iban=acct,
            ustrd=text,
            pays=[],
            settles=False,
            expect="none" if cd == "CRDT" else "skip",
            bank_tx=tx,
            no_invoice_reason={"CRDT": "not a customer payment"}.get(cd, "money out"),
        )

    def k_return(self, of: Line, day: dt.date, file: str, reason: str, rvsl: bool):
        """A returned direct debit / recalled credit: money goes back, the payment is undone."""
        self.add(
            "return_of_" + of.kind,
            [],
            of.amount,
            day=day,
            file=file,
            cdt_dbt="DBIT",
            payer_name=of.payer_name,
            payer_iban=of.payer_iban,
            ustrd=list(of.ustrd),
            end_to_end_id=of.end_to_end_id,
            reversal=rvsl,
            return_reason=reason,
            bank_tx=("PMNT", "RDDT", "UPDD")
            if of.kind == "direct_debit"
            else ("PMNT", "RCDT", "RRTN"),
            reverses=of.line_no,
            pays=[],
            expect="skip",
            note=f"returns line {of.line_no} ({reason}); its invoices are open again",
        )

    # -- the statement
    def build(self):
        r = self.rng
        plan = [  # (kind function, weight per 100 credit lines)
            (lambda: self.k_ref("exact"), 10),
            (self.k_ref, 16),
            (self.k_structured, 6),
            (lambda: self.k_typo("transposed"), 5),
            (lambda: self.k_typo("digit"), 5),
            (self.k_name_only, 10),
            (self.k_parent, 5),
            (self.k_foreign, 6),
            (self.k_foreign_usd, 3),
            (self.k_partial, 6),
            (self.k_discount, 5),
            (self.k_multi, 8),
            (lambda: self.k_multi(with_refs=False), 3),
            (lambda: self.k_multi(discount=True), 2),
            (self.k_multi_one_ref, 2),
            (self.k_sister_pays, 2),
        ]
        n = self.n_credit
        dd = self.k_direct_debits(max(3, n // 25))
        for _ in range(max(1, n // 40)):
            self.k_other_customer()
        if not self.k_equal_pair():
            self.k_equal_pair_made()
        self.k_equal_after_partial()
        self.k_equal_after_partial()
        self.k_shared_name_partial()
        self.k_psp()
        fns, weights = [f for f, _ in plan], [w for _, w in plan]
        while sum(1 for ln in self.lines if ln.cdt_dbt == "CRDT") < n:
            before = len(self.lines)
            r.choices(fns, weights)[0]()
            if len(self.lines) == before and not self.free():
                break
        paid_lines = [
            ln
            for ln in self.lines
            if ln.kind.startswith("ref_exact") and ln.booking_date < self.day1
        ]
        for ln in r.sample(paid_lines, min(2, len(paid_lines))):
            self.k_duplicate_payment(ln)
        for what in [
            "interest",
            "tax_refund",
            "insurance",
            "intercompany",
            "unknown_small",
            "account_fee",
            "wire_fee",
            "supplier",
            "supplier",
            "payroll",
        ]:
            self.k_none(what)
        # a credit the payer's bank recalls the same week (same statement)
        recall = r.choice([ln for ln in self.lines if ln.kind.startswith("ref_")])
        self.k_return(
            recall,
            min(recall.booking_date + dt.timedelta(days=1), self.day1),
            "day1",
            "AC03",
            rvsl=True,
        )
        # day 2: new payments, returned direct debits of day 1, fees
        n2 = max(4, n // 8)
        for _ in range(n2):
            before = len(self.lines)
            r.choices(fns, weights)[0]()
            for ln in self.lines[before:]:
                ln.file, ln.booking_date, ln.value_date = "day2", self.day2, self.day2
        for i, ln in enumerate(r.sample(dd, min(2, len(dd)))):
            self.k_return(ln, self.day2, "day2", ["AM04", "MD06"][i % 2], rvsl=(i % 2 == 0))
        self.k_none("wire_fee", day=self.day2, file="day2")
        self.finish()

    def build_kinds(self, kinds: list[str]):
        """A small statement of the named kinds, in this order (tests)."""
        fns = {
            "ref_exact": lambda: self.k_ref("exact"),
            "multi": self.k_multi,
            "no_reference": self.k_name_only,
            "partial": self.k_partial,
            "discount": self.k_discount,
            "interest": lambda: self.k_none("interest", day=self.day1),
            "account_fee": lambda: self.k_none("account_fee", day=self.day1),
        }
        for k in kinds:
            if k == "return_day2":
                first = next(ln for ln in self.lines if ln.cdt_dbt == "CRDT")
                self.k_return(first, self.day2, "day2", "AC03", rvsl=True)
            else:
                fns[k]()
        self.finish()

    def finish(self):
        # the order a bank lists them: by booking date, then the bank's reference
        self.lines.sort(key=lambda ln: (ln.file, ln.booking_date, ln.batch == "", ln.line_no))
        renum = {ln.line_no: k + 1 for k, ln in enumerate(self.lines)}
        for ln in self.lines:
            ln.line_no = renum[ln.line_no]
            if ln.reverses:
                ln.reverses = renum[ln.reverses]
            ln.no_invoice_reason = re.sub(
                r"line (\d+)", lambda m: f"line {renum[int(m[1])]}", ln.no_invoice_reason
            )
            ln.note = re.sub(r"line (\d+)", lambda m: f"line {renum[int(m[1])]}", ln.note)
            ln.acct_svcr_ref = f"NB{ln.booking_date:%y%m%d}{self.seed % 1000:03d}{ln.line_no:05d}"


def _pay(inv: Invoice, amount: Decimal) -> dict:
    return {
        "invoice_id": inv.invoice_id,
        "customer_id": inv.customer_id,
        "amount": str(money(amount)),
        "open_amount": str(inv.open_amount),
    }


def _allocate(invs: list[Invoice], amount: Decimal) -> list[dict]:
    out, left = [], money(amount)
    for k, inv in enumerate(invs):
        a = left if k == len(invs) - 1 else min(left, inv.open_amount)
        out.append(_pay(inv, a))
        left -= a
    return out


def _next_business_day(d: dt.date) -> dt.date:
    d += dt.timedelta(days=1)
    while d.weekday() >= 5:
        d += dt.timedelta(days=1)
    return d


# --------------------------------------------------------------------------- writers


def _el(tag: str, text, **attrs) -> str:
    a = "".join(f' {k}="{escape(str(v))}"' for k, v in attrs.items())
    return f"<{tag}{a}>{escape(str(text))}</{tag}>"


def write_camt(
    lines: list[Line],
    path: Path,
    day: dt.date,
    seq: int,
    opening: Decimal,
    *,
    duplicate: bool = False,
    created: dt.datetime | None = None,
) -> Decimal:
    """One camt.053.001.08 document for the lines booked up to `day` in this file."""
    created = created or dt.datetime.combine(day, dt.time(22, 15, 3))
    cr = sum((ln.amount for ln in lines if _signed(ln) > 0), Decimal(0))
    db = sum((ln.amount for ln in lines if _signed(ln) < 0), Decimal(0))
    closing = opening + cr - db
    frm = min((ln.booking_date for ln in lines), default=day)
    o = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<Document xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
        "<BkToCstmrStmt>",
        "<GrpHdr>",
        _el("MsgId", f"NB053{created:%Y%m%d%H%M%S}{seq:04d}{'D' if duplicate else ''}"),
        _el("CreDtTm", created.isoformat(timespec="seconds") + "+01:00"),
        "<MsgPgntn>",
        _el("PgNb", 1),
        _el("LastPgInd", "true"),
        "</MsgPgntn>",
        "</GrpHdr>",
        "<Stmt>",
        _el("Id", f"{OWN_IBAN[-10:]}-{day:%Y%m%d}-{seq}"),
        "<StmtPgntn>",
        _el("PgNb", 1),
        _el("LastPgInd", "true"),
        "</StmtPgntn>",
        _el("ElctrncSeqNb", seq),
        _el("LglSeqNb", seq),
        _el("CreDtTm", created.isoformat(timespec="seconds") + "+01:00"),
        "<FrToDt>",
        _el("FrDtTm", f"{frm}T00:00:00+01:00"),
        _el("ToDtTm", f"{day}T23:59:59+01:00"),
        "</FrToDt>",
    ]
    if duplicate:
        o.append(_el("CpyDplctInd", "DUPL"))
    o += [
        "<Acct>",
        "<Id>",
        _el("IBAN", OWN_IBAN),
        "</Id>",
        _el("Ccy", CURRENCY),
        "<Ownr>",
        _el("Nm", OWN_NAME),
        "</Ownr>",
        "<Svcr>",
        "<FinInstnId>",
        _el("BICFI", OWN_BIC),
        _el("Nm", "Nordbank AG"),
        "</FinInstnId>",
        "</Svcr>",
        "</Acct>",
    ]
    for code, amt, d in (("OPBD", opening, frm - dt.timedelta(days=1)), ("CLBD", closing, day)):
        o += [
            "<Bal>",
            "<Tp>",
            "<CdOrPrtry>",
            _el("Cd", code),
            "</CdOrPrtry>",
            "</Tp>",
            _el("Amt", f"{abs(amt):.2f}", Ccy=CURRENCY),
            _el("CdtDbtInd", "CRDT" if amt >= 0 else "DBIT"),
            "<Dt>",
            _el("Dt", d.isoformat()),
            "</Dt>",
            "</Bal>",
        ]
    ncr = sum(1 for ln in lines if _signed(ln) > 0)
    o += [
        "<TxsSummry>",
        "<TtlNtries>",
        _el("NbOfNtries", len(lines)),
        _el("Sum", f"{cr + db:.2f}"),
        "<TtlNetNtry>",
        _el("Amt", f"{abs(cr - db):.2f}"),
        _el("CdtDbtInd", "CRDT" if cr >= db else "DBIT"),
        "</TtlNetNtry>",
        "</TtlNtries>",
        "<TtlCdtNtries>",
        _el("NbOfNtries", ncr),
        _el("Sum", f"{cr:.2f}"),
        "</TtlCdtNtries>",
        "<TtlDbtNtries>",
        _el("NbOfNtries", len(lines) - ncr),
        _el("Sum", f"{db:.2f}"),
        "</TtlDbtNtries>",
        "</TxsSummry>",
    ]
    # entries: a batch (same `batch`) is one Ntry with several TxDtls
    groups: list[list[Line]] = []
    for ln in lines:
        if ln.batch and groups and groups[-1][0].batch == ln.batch:
            groups[-1].append(ln)
        else:
            groups.append([ln])
    for g in groups:
        head = g[0]
        total = sum((ln.amount for ln in g), Decimal(0))
        o += [
            "<Ntry>",
            _el("NtryRef", head.acct_svcr_ref[-9:]),
            _el("Amt", f"{total:.2f}", Ccy=CURRENCY),
            _el("CdtDbtInd", head.cdt_dbt),
        ]
        if head.reversal:
            o.append(_el("RvslInd", "true"))
        o += [
            "<Sts>",
            _el("Cd", "BOOK"),
            "</Sts>",
            "<BookgDt>",
            _el("Dt", head.booking_date.isoformat()),
            "</BookgDt>",
            "<ValDt>",
            _el("Dt", head.value_date.isoformat()),
            "</ValDt>",
            _el("AcctSvcrRef", (head.batch or head.acct_svcr_ref)),
            _bktxcd(head.bank_tx),
        ]
        if head.charges and len(g) == 1:
            o += [
                "<Chrgs>",
                _el("TtlChrgsAndTaxAmt", f"{head.charges:.2f}", Ccy=CURRENCY),
                "<Rcrd>",
                _el("Amt", f"{head.charges:.2f}", Ccy=CURRENCY),
                _el("CdtDbtInd", "DBIT"),
                _el("ChrgInclInd", "true"),
                _el("Br", "SHAR"),
                "</Rcrd>",
                "</Chrgs>",
            ]
        o.append("<NtryDtls>")
        if len(g) > 1:
            o += [
                "<Btch>",
                _el("PmtInfId", head.batch),
                _el("NbOfTxs", len(g)),
                _el("TtlAmt", f"{total:.2f}", Ccy=CURRENCY),
                _el("CdtDbtInd", head.cdt_dbt),
                "</Btch>",
            ]
        for ln in g:
            o += _txdtls(ln)
        o.append("</NtryDtls>")
        info = {
            "PMNT/RCDT/ESCT": "GUTSCHRIFT UEBERWEISUNG",
            "PMNT/RCDT/XBCT": "AUSLANDSZAHLUNG",
            "PMNT/RDDT/ESDD": "SEPA LASTSCHRIFT EINZUG",
            "PMNT/RDDT/UPDD": "RUECKLASTSCHRIFT",
            "PMNT/RCDT/RRTN": "RUECKUEBERWEISUNG",
        }.get("/".join(head.bank_tx), "BUCHUNG")
        o += [_el("AddtlNtryInf", info), "</Ntry>"]
    o += ["</Stmt>", "</BkToCstmrStmt>", "</Document>", ""]
    path.write_text("\n".join(o), encoding="utf-8")
    return closing


def _signed(ln: Line) -> int:
    return 1 if ln.cdt_dbt == "CRDT" else -1


def _bktxcd(tx: tuple[str, str, str]) -> str:
    d, f, s = tx
    return (
        "<BkTxCd><Domn>"
        + _el("Cd", d)
        + "<Fmly>"
        + _el("Cd", f)
        + _el("SubFmlyCd", s)
        + "</Fmly></Domn><Prtry>"
        + _el(
            "Cd",
            {
                "ESCT": "166",
                "XBCT": "202",
                "ESDD": "171",
                "UPDD": "109",
                "RRTN": "159",
                "CHRG": "808",
                "INTR": "805",
                "BOOK": "116",
            }.get(s, "999"),
        )
        + _el("Issr", "DK")
        + "</Prtry></BkTxCd>"
    )


def _party(tag: str, name: str) -> list[str]:
    return [f"<{tag}>", "<Pty>", _el("Nm", name[:140]), "</Pty>", f"</{tag}>"]


def _txdtls(ln: Line) -> list[str]:
    o = ["<TxDtls>", "<Refs>", _el("AcctSvcrRef", ln.acct_svcr_ref)]
    if ln.batch:
        o.append(_el("PmtInfId", ln.batch))
    o.append(_el("EndToEndId", ln.end_to_end_id))
    if ln.bank_tx[1] == "RDDT":
        o.append(_el("MndtId", f"M-{ln.payer_iban[-6:]}"))
    o += ["</Refs>", _el("Amt", f"{ln.amount:.2f}", Ccy=CURRENCY), _el("CdtDbtInd", ln.cdt_dbt)]
    if ln.instd_amount is not None:
        o += [
            "<AmtDtls>",
            "<InstdAmt>",
            _el("Amt", f"{ln.instd_amount:.2f}", Ccy=ln.instd_currency),
        ]
        if ln.xchg_rate is not None:
            o += [
                "<CcyXchg>",
                _el("SrcCcy", ln.instd_currency),
                _el("TrgtCcy", CURRENCY),
                _el("XchgRate", f"{ln.xchg_rate}"),
                "</CcyXchg>",
            ]
        o += [
            "</InstdAmt>",
            "<TxAmt>",
            _el("Amt", f"{ln.amount:.2f}", Ccy=CURRENCY),
            "</TxAmt>",
            "</AmtDtls>",
        ]
    if ln.payer_name or ln.payer_iban:
        o.append("<RltdPties>")
        incoming = ln.cdt_dbt == "CRDT" or ln.reverses is not None
        if incoming:
            if ln.payer_name:
                o += _party("Dbtr", ln.payer_name)
            if ln.payer_iban:
                o += ["<DbtrAcct>", "<Id>", _el("IBAN", ln.payer_iban), "</Id>", "</DbtrAcct>"]
            if ln.ultimate_debtor:
                o += _party("UltmtDbtr", ln.ultimate_debtor)
            o += _party("Cdtr", OWN_NAME)
        else:
            o += _party("Dbtr", OWN_NAME)
            o += _party("Cdtr", ln.payer_name or "NORDBANK AG")
            if ln.payer_iban:
                o += ["<CdtrAcct>", "<Id>", _el("IBAN", ln.payer_iban), "</Id>", "</CdtrAcct>"]
        o.append("</RltdPties>")
    if ln.ustrd or ln.strd_refs:
        o.append("<RmtInf>")
        o += [_el("Ustrd", u[:140]) for u in ln.ustrd]
        for ref in ln.strd_refs:
            o += [
                "<Strd>",
                "<CdtrRefInf>",
                "<Tp>",
                "<CdOrPrtry>",
                _el("Cd", "SCOR"),
                "</CdOrPrtry>",
            ]
            if ref.startswith("RF"):
                o.append(_el("Issr", "ISO"))
            o += ["</Tp>", _el("Ref", ref), "</CdtrRefInf>", "</Strd>"]
        o.append("</RmtInf>")
    if ln.return_reason:
        o += [
            "<RtrInf>",
            "<Rsn>",
            _el("Cd", ln.return_reason),
            "</Rsn>",
            _el(
                "AddtlInf",
                {
                    "AM04": "INSUFFICIENT FUNDS",
                    "MD06": "REFUND REQUEST BY END CUSTOMER",
                    "AC03": "INVALID CREDITOR ACCOUNT NUMBER",
                }.get(ln.return_reason, "RETURN"),
            ),
            "</RtrInf>",
        ]
    o.append("</TxDtls>")
    return o


CSV_COLUMNS = [
    "Booking date",
    "Value date",
    "Transaction type",
    "Counterparty",
    "Counterparty IBAN",
    "Ultimate debtor",
    "Purpose",
    "Creditor reference",
    "End-to-end ID",
    "Amount",
    "Currency",
    "Original amount",
    "Original currency",
    "Charges",
    "Bank reference",
    "Reversal",
    "Return reason",
]

CSV_TYPES = {
    "ESCT": "SEPA credit transfer",
    "XBCT": "Foreign credit transfer",
    "ESDD": "SEPA direct debit collection",
    "UPDD": "Direct debit return",
    "RRTN": "Credit transfer return",
    "CHRG": "Fees",
    "INTR": "Interest",
    "BOOK": "Internal transfer",
}


def _de_amount(x: Decimal) -> str:
    s = f"{abs(x):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return ("-" if x < 0 else "") + s


def _resaved_amount(x: Decimal) -> str:
    """How a spreadsheet writes the amount back ("General" format): 30886.40 -> 30886,4."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return s.replace(".", ",")


def write_csv(lines: list[Line], path: Path, resaved: bool = False) -> None:
    """The bank portal's export: ';'-separated, German number and date formats, one row per
    transaction (a batch's transactions on their own rows), debits negative. `resaved`: the
    same file opened and saved again by a spreadsheet (amounts without thousands separators
    and trailing zeros, days and months without leading zeros)."""
    amount = _resaved_amount if resaved else _de_amount

    def day(d: dt.date) -> str:
        return f"{d.day}.{d.month}.{d.year}" if resaved else f"{d:%d.%m.%Y}"

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for ln in lines:
        w.writerow(
            [
                day(ln.booking_date),
                day(ln.value_date),
                CSV_TYPES.get(ln.bank_tx[2], ln.bank_tx[2]),
                ln.payer_name,
                ln.payer_iban,
                ln.ultimate_debtor,
                " ".join(ln.ustrd),
                " ".join(ln.strd_refs),
                ln.end_to_end_id,
                amount(ln.amount * _signed(ln)),
                CURRENCY,
                amount(ln.instd_amount) if ln.instd_amount is not None else "",
                ln.instd_currency,
                amount(ln.charges) if ln.charges else "",
                ln.acct_svcr_ref,
                "J" if ln.reversal else "",
                ln.return_reason,
            ]
        )
    path.write_text(buf.getvalue(), encoding="utf-8")


CSV_PARAMS = """\
# How `arinsight match` reads this bank's CSV export (tests/bankgen/README.md)
cash_application:
  csv:
    delimiter: ";"
    encoding: utf-8
    decimal: ","
    thousands: "."
    date_format: "%d.%m.%Y"
    currency: USD
    account: {iban}
    columns:
      line_id: Bank reference
      booking_date: Booking date
      value_date: Value date
      amount: Amount
      currency: Currency
      payer_name: Counterparty
      payer_account: Counterparty IBAN
      remittance: Purpose
      reference: Creditor reference
      reversal: Reversal
      return_reason: Return reason
"""


# --------------------------------------------------------------------------- entry point


@dataclass
class Statement:
    out_dir: Path
    seed: int
    statement_date: dt.date
    files: list[dict]  # in the order to apply: {name, camt, csv, day, duplicate}
    lines: list[Line]
    truth_path: Path

    def credit_lines(self) -> list[Line]:
        return [ln for ln in self.lines if ln.cdt_dbt == "CRDT"]


def generate(
    seed: int,
    out_dir: str | Path,
    statement_date: dt.date | str = "2026-10-29",
    ledger: str | Path | Ledger = "data/processed",
    n_credit: int = 120,
    kinds: list[str] | None = None,
) -> Statement:
    """Write the statements of `seed` into `out_dir` and return them with their truth.

    Files (applied in this order): `day1.xml`/`day1.csv` (a week of payments up to the
    statement date), `day1_resent.xml`/`.csv` (the same statement sent again the next morning,
    `CpyDplctInd` DUPL), `day2.xml`/`.csv` (the next business day: new payments, returned
    direct debits), `bank_csv_params.yaml` (the CSV layout for `arinsight match --params`) and
    `truth.json`. Same seed, ledger and date: the same bytes.
    """
    if isinstance(statement_date, str):
        statement_date = dt.date.fromisoformat(statement_date)
    if not isinstance(ledger, Ledger):
        ledger = load_ledger(ledger, statement_date)
    g = _Gen(ledger, seed, statement_date, n_credit)
    if kinds:
        g.build_kinds(kinds)
    else:
        g.build()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    day1 = [ln for ln in g.lines if ln.file == "day1"]
    day2 = [ln for ln in g.lines if ln.file == "day2"]
    base = dt.datetime.combine(statement_date, dt.time(22, 15, 3))
    opening = money(1_250_000 + seed * 1000)
    close1 = write_camt(
        day1, out / "day1.xml", statement_date, 100 + seed % 100, opening, created=base
    )
    write_camt(
        day1,
        out / "day1_resent.xml",
        statement_date,
        100 + seed % 100,
        opening,
        duplicate=True,
        created=base + dt.timedelta(hours=9, minutes=2),
    )
    write_camt(
        day2,
        out / "day2.xml",
        g.day2,
        101 + seed % 100,
        close1,
        created=dt.datetime.combine(g.day2, dt.time(22, 15, 3)),
    )
    write_csv(day1, out / "day1.csv")
    # the portal's export of the re-sent day: the same rows
    write_csv(day1, out / "day1_resent.csv")
    write_csv(day2, out / "day2.csv")
    # a careless user: the day-1 export downloaded twice ("day1 (1).csv") and re-saved by a
    # spreadsheet, both imported again after day 2
    write_csv(day1, out / "day1 (1).csv")
    write_csv(day1, out / "day1_resaved.csv", resaved=True)
    (out / "bank_csv_params.yaml").write_text(CSV_PARAMS.format(iban=OWN_IBAN), encoding="utf-8")
    noid = CSV_PARAMS.format(iban=OWN_IBAN).replace("      line_id: Bank reference\n", "")
    (out / "bank_csv_params_noid.yaml").write_text(noid, encoding="utf-8")
    files = [
        {
            "name": "day1",
            "camt": "day1.xml",
            "csv": "day1.csv",
            "day": str(statement_date),
            "duplicate_of": None,
        },
        {
            "name": "day1_resent",
            "camt": "day1_resent.xml",
            "csv": "day1_resent.csv",
            "day": str(statement_date),
            "duplicate_of": "day1",
        },
        {
            "name": "day2",
            "camt": "day2.xml",
            "csv": "day2.csv",
            "day": str(g.day2),
            "duplicate_of": None,
        },
        {
            "name": "day1_copy",
            "camt": None,
            "csv": "day1 (1).csv",
            "day": str(statement_date),
            "duplicate_of": "day1",
        },
        {
            "name": "day1_resaved",
            "camt": None,
            "csv": "day1_resaved.csv",
            "day": str(statement_date),
            "duplicate_of": "day1",
        },
    ]
    truth = {
        "generator": "tests/bankgen",
        "seed": seed,
        "statement_date": str(statement_date),
        "ledger": Path(ledger.source).name if ledger.source else "",
        "account": OWN_IBAN,
        "currency": CURRENCY,
        "files": files,
        "lines": [_line_json(ln) for ln in g.lines],
    }
    tp = out / "truth.json"
    tp.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return Statement(out, seed, statement_date, files, g.lines, tp)


def _line_json(ln: Line) -> dict:
    d = asdict(ln)
    for k, v in list(d.items()):
        if isinstance(v, Decimal):
            d[k] = str(v)
        elif isinstance(v, dt.date):
            d[k] = v.isoformat()
    d["bank_tx"] = "/".join(ln.bank_tx)
    return d


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--ledger",
        default="data/processed",
        help="processed folder (arinsight run) or sample folder (arinsight sample)",
    )
    ap.add_argument("--out", required=True)
    ap.add_argument("--date", default="2026-10-29", help="statement date (day 1)")
    ap.add_argument("--lines", type=int, default=120, help="credit lines of day 1 (about)")
    a = ap.parse_args(argv)
    st = generate(a.seed, a.out, a.date, a.ledger, a.lines)
    cr = st.credit_lines()
    print(f"seed {a.seed}: {len(st.lines)} lines ({len(cr)} credits) -> {st.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
