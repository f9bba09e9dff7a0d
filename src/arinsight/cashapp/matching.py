"""Matching statement lines to open invoices: the rules, their order and their confidence.

Every credit line ends in one of three states:

* ``matched`` - applied automatically; ``rule`` names the rule and ``allocations`` the invoices
  and amounts;
* ``suggested`` - a person decides; ``candidates`` are ranked with a ``confidence`` (0-1);
* ``unmatched`` - ``reason`` says why nothing fits.

Debit lines, reversals and entries not yet booked are ``skipped``. Lines are taken in booking
order and every match lowers the open amount the next lines see, so two lines never settle the
same euro twice; a line only sees the invoices issued on or before its booking date.

**References.** Invoice numbers are searched in the remittance text, the structured references
and the end-to-end id, also when mangled: case, spaces or separators inside the number
(``INV-000 0042``), a missing prefix (``0000042``) and missing leading zeros (``INV 42``). An
invoice id is read as *prefix letters + digits* (``INV-0000042`` -> ``INV`` + ``0000042``); a
number in the text refers to it when its digits without leading zeros are the same. The
reference is **strong** when the prefix is written too (``inv42``) or the digits are written
with all their zeros (``0000042``, at least 5 digits), else **weak** (``42`` alone could be
anything: a day, a customer number).

**Payer.** Who paid is found, in this order, from a customer id written in the text (``C_55``),
an account that paid one customer's invoices before (learned from the ledger of earlier runs), or
the payer's name: rapidfuzz's ``token_sort_ratio`` (and plain ``ratio`` of the names without
spaces, for ``BLUEFOODS``) between the payer name and every customer name, both without legal
forms (Ltd, Inc, GmbH, ...). A customer is identified when the best score is at least
``name_threshold`` and no other customer is within ``name_margin`` points (the legal form breaks
ties); otherwise the names are *ambiguous* and only an exact amount can decide. rapidfuzz rather
than the standard library's ``difflib``: its ``process.cdist`` scores every payer against every
customer in one vectorised C++ call (difflib's ``SequenceMatcher`` is pure Python, one pair at a
time), and ``token_sort_ratio`` ignores word order ("Foods Blue" = "Blue Foods").

**Rules** (the first that applies):

1. ``reference`` / ``reference_multi``: strong references to open invoices of one customer whose
   open amounts add up to the line amount. ``reference_partial``: the line pays less (allocated
   oldest due date first). ``reference_overpaid``: it pays more, by at most ``overpay_tolerance``
   of the open amount (the excess stays on the invoice as a credit balance; with several
   invoices it is unapplied cash of the customer); more than that is suggested, naming the
   other invoices the text mentions. **Precision first**: when the identified payer is another
   customer, or the amount differs and the payer name scores below ``name_contradiction``
   against the referenced customer, the reference is only suggested (:func:`_contradiction`),
   unless exactly one of the payer's invoices with the exact amount is one typing slip from the
   number written (``reference_corrected``), or the line pays the referenced invoices' open
   amount to the cent and nothing of the payer's own fits it (``reference_third_party``: a
   sister or parent company paying; :func:`_third_party`).
2. ``reference_weak``: weak references, confirmed by the payer (the referenced invoice belongs
   to the identified payer) or by the amount (the open amounts add up exactly); amount cases as
   in rule 1 when the payer confirms, exact amounts only otherwise.
3. ``amount_payer``: the identified payer has exactly one open invoice with the line's amount
   (or, when the name is ambiguous, exactly one of the candidate customers has exactly one).
4. ``sum_payer``: one payment for several invoices: exactly one set of 2 to ``max_subset_size``
   of the payer's open invoices adds up to the amount. The search is bounded: the oldest
   ``max_candidates`` open invoices of the payer, at most ``search_budget`` steps of a
   depth-first search over amounts sorted ascending (a branch stops as soon as its sum exceeds
   the amount or can no longer reach it). Two or more sets, or a search that hits its budget,
   give suggestions instead.
5. Otherwise suggestions: several invoices with the same amount, a partial payment without a
   reference (the payer's open invoices ranked by reference evidence, then by closeness of the
   amount, not by age), the same amount at another customer when the payer is unknown
   (confidence at most 0.5), except the only open invoice of the book with the amount when it
   is one slip from a paid invoice the text names (``reference_corrected``,
   :func:`_unique_amount_one_slip`) or when the name comes close to its customer
   (``amount_name_close``). Nothing fits: ``unmatched`` with the reason, which says what the
   text referred to (never "no invoice reference" when it had one).

Bank-shortened payer names (``IRON SYS INC``, ``PIONR GRD LLC``, a name cut at 16 characters)
are scored by :func:`_abbreviation_scores` beside rapidfuzz.

**Currencies.** A line is compared in each invoice's currency: the instructed amount when it is
in that currency, else the booked amount when it is, else the booked amount converted with
``fx_rates`` (1 unit = rate x reporting currency) and compared within ``fx_tolerance`` (a share
of the amount; banks convert at their own rate). Rules that matched through a conversion end in
``_fx``; the invoices are settled with their open amounts and the difference is reported as
``fx_difference``.

**Confidence** of a match: 1.0 for a strong reference with the exact amount, 0.95 for a partial
or confirmed weak reference, 0.9 for an overpayment; the payer's identification (1.0 by id or
account, name score / 100) for amount rules, x 0.95 for a sum; x 0.95 again through a conversion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from arinsight.errors import ParamsError

STATUSES = ("matched", "suggested", "unmatched", "skipped", "already_applied")

LEGAL_FORMS = frozenset(
    [
        "LTD",
        "LIMITED",
        "INC",
        "INCORPORATED",
        "GMBH",
        "MBH",
        "GESELLSCHAFT",
        "LLC",
        "LLP",
        "LP",
        "GROUP",
        "GRP",
        "CO",
        "COMPANY",
        "CORP",
        "CORPORATION",
        "SA",
        "SAS",
        "SARL",
        "SRL",
        "SPA",
        "AG",
        "KG",
        "BV",
        "NV",
        "PLC",
        "OY",
        "AB",
        "AS",
        "PTY",
        "LIABILITY",
        "THE",
    ]
)

#: Words that name the payer's department rather than the company ("ACME Ltd Accounts Payable").
DEPARTMENT_WORDS = frozenset(
    [
        "ACCOUNTS",
        "ACCOUNT",
        "PAYABLE",
        "AP",
        "DEPT",
        "DEPARTMENT",
        "PAYMENTS",
        "TREASURY",
        "FINANCE",
    ]
)

_SEP_DIGITS = re.compile(r"(?<=\d)[ \t\-./_]+(?=\d)")
_SEP_PREFIX = re.compile(r"(?<=[A-Z])[ \t\-./_#:]+(?=\d)")
_FILLER = re.compile(r"(?<=[A-Z])[ .]*\b(?:NO|NR|NUM|NBR|NUMBER)\b[ .:#]*(?=\d)")
_TOKEN = re.compile(r"([A-Z]*)(\d+)")
_ID_SHAPE = re.compile(r"^([A-Z]*)(\d+)$")


@dataclass(frozen=True)
class MatchSettings:
    """The matching parameters (``cash_application`` in the params, documented there)."""

    name_threshold: float = 90.0
    name_margin: float = 3.0
    fx_tolerance: float = 0.02
    max_candidates: int = 30
    max_subset_size: int = 6
    search_budget: int = 200_000
    suggestions: int = 3
    overpay_tolerance: float = 0.05
    name_contradiction: float = 60.0
    discount_rates: tuple[float, ...] = (0.01, 0.02, 0.03)
    name_close: float = 80.0
    reporting_currency: str = "USD"
    fx_rates: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MatchSettings:
        """Settings from merged params: ``cash_application.*``, ``reporting_currency``, ``fx_rates``."""
        section = params.get("cash_application") or {}
        if not isinstance(section, Mapping):
            raise ParamsError("cash_application must be a mapping")
        kw: dict[str, Any] = {}
        for name, kind in (
            ("name_threshold", float),
            ("name_margin", float),
            ("fx_tolerance", float),
            ("max_candidates", int),
            ("max_subset_size", int),
            ("search_budget", int),
            ("suggestions", int),
            ("overpay_tolerance", float),
            ("name_contradiction", float),
            ("name_close", float),
        ):
            if section.get(name) is not None:
                try:
                    kw[name] = kind(section[name])
                except (TypeError, ValueError):
                    raise ParamsError(
                        f"cash_application.{name} must be a number, got {section[name]!r}"
                    ) from None
                if kw[name] < 0:
                    raise ParamsError(
                        f"cash_application.{name} must be >= 0, got {section[name]!r}"
                    )
        if not 0 <= kw.get("name_threshold", 90) <= 100:
            raise ParamsError("cash_application.name_threshold must be 0-100")
        if section.get("discount_rates") is not None:
            raw = section["discount_rates"]
            try:
                kw["discount_rates"] = tuple(
                    float(r) for r in (raw if isinstance(raw, list | tuple) else [raw])
                )
            except (TypeError, ValueError):
                raise ParamsError(
                    f"cash_application.discount_rates must be a list of shares, got {raw!r}"
                ) from None
            if not all(0 < r < 0.5 for r in kw["discount_rates"]):
                raise ParamsError(
                    "cash_application.discount_rates must be shares between 0 and 0.5 "
                    f"(0.02 = 2 %), got {raw!r}"
                )
        rates = params.get("fx_rates") or {}
        try:
            rates = {str(k).upper(): float(v) for k, v in dict(rates).items()}
        except (TypeError, ValueError):
            raise ParamsError(f"fx_rates must map currency -> number, got {rates!r}") from None
        return cls(
            reporting_currency=str(params.get("reporting_currency") or "USD").upper(),
            fx_rates=rates,
            **kw,
        )


@dataclass
class LineResult:
    """What the rules decided for one line (amounts in cents of the invoices' currency)."""

    status: str
    rule: str = ""
    confidence: float | None = None
    customer_id: str | None = None
    allocations: list[tuple[int, int]] = field(default_factory=list)  # (invoice row, cents)
    unapplied: int = 0
    fx_difference: int = 0
    discount: int = 0  # cents of an early-payment discount the customer took (invoices settled)
    currency: str = ""
    candidates: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    reverses: str = ""  # the ledger line id this line undoes (a reversal, a re-assignment)
    flagged: list[str] = field(default_factory=list)  # invoices open again, to follow up
    record_id: str = ""  # the ledger line id when it is not the line's (a re-assignment)
    decision: dict[str, Any] | None = None  # the person's decision applied to the line
    #: (invoice row, cents) still open on an invoice this line paid short: a deduction, whose
    #: reason a person assigns (docs/collections.md, "Short payments become deductions")
    short: list[tuple[int, int]] = field(default_factory=list)
    #: the customers the payer was identified as (by id, account or name; several when the
    #: name fits several): a line paid for *another* customer teaches no account
    payers: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# names and references
# --------------------------------------------------------------------------------------------


def _norm(text: Any) -> str:
    return re.sub(r"[^0-9A-Z]", "", str(text or "").upper())


_DOTTED = re.compile(r"\b(?:[A-Z]\.){2,}(?:[A-Z]\b)?")


def _words(name: Any) -> list[str]:
    """The words of a name in upper case: ``&`` as AND, a legal form written with dots as one
    word (``L.L.C.`` -> LLC, ``G.m.b.H.`` -> GMBH), other punctuation as spaces."""
    s = str(name or "").upper().replace("&", " AND ")
    s = _DOTTED.sub(lambda m: m[0].replace(".", ""), s)
    return re.sub(r"[^0-9A-Z]+", " ", s).split()


def name_core(name: Any, keep_legal: bool = False) -> str:
    """A company name for comparison (:func:`_words`), the words of a payments department
    (:data:`DEPARTMENT_WORDS`: "Accounts Payable", "Treasury"; also one cut short after
    another, ``ACCOUNTS PAYABLE DEPAR``) and legal forms (:data:`LEGAL_FORMS`) removed, the
    legal forms kept when ``keep_legal``."""
    written = _words(name)
    # a name cut at 35 characters inside its department: ACCOUNTS PAYABLE DEPAR(TMENT)
    if (
        len(written) > 2
        and written[-2] in DEPARTMENT_WORDS
        and len(written[-1]) >= 3
        and any(d.startswith(written[-1]) for d in DEPARTMENT_WORDS)
    ):
        written = written[:-1]
    words = [w for w in written if w not in DEPARTMENT_WORDS]
    # a name cut inside its legal form: LIMITED LIABIL(ITY COMPANY), GESELLSCHAFT M(BH)
    if len(words) > 2 and words[-2] in LEGAL_FORMS and _legal_prefix(words[-1]):
        words = words[:-1]
    if not keep_legal:
        words = [w for w in words if w not in LEGAL_FORMS] or words
    return " ".join(words)


_LEGAL_SAME = {
    "LIMITED": "LTD",
    "INCORPORATED": "INC",
    "COMPANY": "CO",
    "CORPORATION": "CORP",
    "GESELLSCHAFT": "GMBH",
    "MBH": "GMBH",
    "GRP": "GROUP",
}


def _legal_prefix(word: str) -> bool:
    """``word`` is the beginning of a legal form (a name cut inside it: ``GMB``, ``LIABIL``)."""
    return any(f.startswith(word) and f != word for f in LEGAL_FORMS if f != "THE")


def legal_form(name: Any) -> frozenset[str]:
    """The legal forms written in a company name, spelled one way (``Limited`` -> LTD,
    ``Gesellschaft mbH`` -> GMBH, ``Limited Liability Company`` -> LLC, also cut after
    ``LIMITED LIA``); empty when none is written."""
    words = _words(name)
    for k in range(len(words) - 1):
        if (
            words[k] == "LIMITED"
            and len(words[k + 1]) >= 3
            and "LIABILITY".startswith(words[k + 1])
        ):
            return frozenset({"LLC"})
    return frozenset(_LEGAL_SAME.get(w, w) for w in words if w in LEGAL_FORMS and w != "THE")


def reference_tokens(text: str) -> set[tuple[str, str]]:
    """(prefix letters, digits) pairs written in ``text``, read twice: as written (separators
    between letters and digits dropped) and with separators inside numbers dropped too. Filler
    words between a prefix and its number (``INV No. 42``, ``Nr``, ``#``) are dropped first."""
    upper = _FILLER.sub(" ", str(text or "").upper())
    plain = _SEP_PREFIX.sub("", upper)
    joined = _SEP_PREFIX.sub("", _SEP_DIGITS.sub("", upper))
    return {(m[1], m[2]) for t in (plain, joined) for m in _TOKEN.finditer(t)}


class InvoiceBook:
    """The invoices a statement can pay, indexed for the rules (built once per run).

    ``book`` has invoice_id, customer_id, due_date, currency and ``open_amount`` (what is still
    receivable, after the ledger's earlier applications); every invoice dated up to the
    statement date is given, paid ones too (a reference to a paid invoice is reported).
    """

    def __init__(self, book: pd.DataFrame, customers: pd.DataFrame):
        need = ["invoice_id", "customer_id", "due_date", "currency", "open_amount"]
        missing = [c for c in need if c not in book.columns]
        if missing:
            raise ParamsError(f"invoice book: missing column(s) {', '.join(missing)}")
        b = book.sort_values(["due_date", "invoice_id"], kind="mergesort").reset_index(drop=True)
        self.ids = b["invoice_id"].astype(str).to_numpy()
        self.customer = b["customer_id"].astype(str).to_numpy()
        self.currency = b["currency"].fillna("").astype(str).str.upper().to_numpy()
        self.due = pd.to_datetime(b["due_date"]).to_numpy()
        issued = b["invoice_date"] if "invoice_date" in b else pd.Series(pd.NaT, index=b.index)
        self.issued = pd.to_datetime(issued).to_numpy(dtype="datetime64[ns]")
        self.remaining = np.round(b["open_amount"].astype(float).to_numpy() * 100).astype(np.int64)
        self.by_customer: dict[str, np.ndarray] = {
            c: idx.to_numpy() for c, idx in pd.Series(np.arange(len(b))).groupby(self.customer)
        }
        self.by_core: dict[str, list[int]] = {}
        self.shape: list[tuple[str, str] | None] = []
        self.other: dict[str, int] = {}
        for i, raw in enumerate(self.ids):
            m = _ID_SHAPE.match(_norm(raw))
            self.shape.append((m[1], m[2]) if m else None)
            if m:
                self.by_core.setdefault(m[2].lstrip("0") or "0", []).append(i)
            elif _norm(raw):
                self.other[_norm(raw)] = i
        cust = customers.drop_duplicates("customer_id")
        self.names = dict(
            zip(
                cust["customer_id"].astype(str),
                cust.get("customer_name", cust["customer_id"]).fillna(""),
                strict=True,
            )
        )
        self.cust_ids = list(self.names)
        self.cust_index = {c: k for k, c in enumerate(self.cust_ids)}
        self.cores = [name_core(self.names[c]) for c in self.cust_ids]
        self.fulls = [name_core(self.names[c], keep_legal=True) for c in self.cust_ids]
        self.id_tokens = {
            _norm(c): c
            for c in self.cust_ids
            if re.search(r"[A-Z]", _norm(c)) and re.search(r"\d", c)
        }

    def references(self, text: str) -> tuple[list[int], list[int]]:
        """Invoice rows referred to in ``text``: (strong, weak), each in book order."""
        strong, weak = set(), set()
        for prefix, digits in reference_tokens(text):
            for i in self.by_core.get(digits.lstrip("0") or "0", []):
                p, d = self.shape[i]
                written = digits == d or not digits.startswith("0")  # not cut short
                if (p and prefix.endswith(p) and written) or (
                    digits == d and (len(d) >= 5 or not p)
                ):
                    strong.add(i)
                else:
                    weak.add(i)
        if self.other:
            flat = _norm(text)
            strong |= {i for key, i in self.other.items() if key in flat}
        return sorted(strong), sorted(weak - strong)

    def customer_in_text(self, text: str) -> str | None:
        """A customer id written in the text (``C_55``, ``c-55``), when exactly one is."""
        upper = _SEP_PREFIX.sub("", str(text or "").upper())
        found = {self.id_tokens[p + d] for p, d in _TOKEN.findall(upper) if p + d in self.id_tokens}
        return found.pop() if len(found) == 1 else None


def name_scores(payers: Iterable[str], book: InvoiceBook) -> np.ndarray:
    """Similarity 0-100 of each payer name (rows) to each customer name (columns), without legal
    forms: max(token_sort_ratio, ratio of the names without spaces), by rapidfuzz."""
    from rapidfuzz import fuzz, process

    queries = [name_core(p) for p in payers]
    if not queries or not book.cores:
        return np.zeros((len(queries), len(book.cores)))
    a = process.cdist(queries, book.cores, scorer=fuzz.token_sort_ratio, workers=1)
    b = process.cdist(
        [q.replace(" ", "") for q in queries],
        [c.replace(" ", "") for c in book.cores],
        scorer=fuzz.ratio,
        workers=1,
    )
    out = np.maximum(a, b).astype(float)
    out[[not q for q in queries], :] = 0.0
    _abbreviation_scores(queries, book, out)
    return out


def _abbreviates(short: str, word: str) -> bool:
    """``short`` is ``word`` as a bank shortens it: the same word, its beginning (cut), or its
    letters in order with some left out, starting with the same letter (``SYS`` for
    ``SYSTEMS``, ``GRD`` for ``GUARD``, ``PIONR`` for ``PIONEER``)."""
    if short == word:
        return True
    if not short or short[0] != word[0] or len(short) >= len(word):
        return False
    if len(short) < 2 and len(word) > 2:
        return False
    it = iter(word)
    return all(ch in it for ch in short)


def _abbreviation_scores(queries: list[str], book: InvoiceBook, out: np.ndarray) -> None:
    """Raise ``out`` (in place) for bank-shortened payer names the edit-distance scores miss:
    every word of the payer abbreviates the customer's word at the same place (the last one
    may also be cut off with the words after it, a name cut at 16 characters). The score is
    90 + 10 x the letters written / the letters of the customer's words, so ``IRON SYS`` is
    96.4 for Iron Systems, and two customers it shortens equally well stay within the margin
    (ambiguous). Payers with an exact name (99 or more) are not looked at."""
    if not hasattr(book, "_core_words"):
        book._core_words = [c.split() for c in book.cores]
        book._legal_words = [
            [_LEGAL_SAME.get(w, w) for w in _words(book.names[c]) if w in LEGAL_FORMS]
            for c in book.cust_ids
        ]
        first: dict[str, list[int]] = {}
        for k, words in enumerate(book._core_words):
            if words:
                first.setdefault(words[0][0], []).append(k)
        book._by_first = first
    for r, q in enumerate(queries):
        words = q.split()
        if not words or (len(out[r]) and out[r].max() >= 99):
            continue
        # a last word that may begin another customer's next word is not a cut legal form
        core_cut = any(
            len(cw) >= len(words) and cw[len(words) - 1].startswith(words[-1])
            for cw in (book._core_words[k] for k in book._by_first.get(words[0][0], []))
        )
        for k in book._by_first.get(words[0][0], []):
            cw = book._core_words[k]
            if (
                len(words) == len(cw) + 1
                and not core_cut
                and len(q) >= 12
                and any(f.startswith(words[-1]) for f in book._legal_words[k])
                and all(_abbreviates(w, c) for w, c in zip(words, cw, strict=False))
            ):  # cut inside the legal form: RIVER METALS GMB(H), only this customer's form
                letters = len("".join(cw + book._legal_words[k][:1]))
                score = 90 + 10 * len(q.replace(" ", "")) / letters
                out[r, k] = max(out[r, k], min(score, 99.0))
                continue
            if len(words) > len(cw):
                continue
            cut = all(w == c for w, c in zip(words[:-1], cw, strict=False))
            if len(words) < len(cw) or (len(words) == len(cw) and len(words[-1]) == 1):
                # cut off: the last written word begins the customer's word there (one letter
                # too: SUMMIT SYSTEMS I may be Summit Systems International)
                if not (cut and cw[len(words) - 1].startswith(words[-1])) or len(q) < 12:
                    continue
                score = 90 + 10 * len(q.replace(" ", "")) / len("".join(cw))
            elif all(_abbreviates(w, c) for w, c in zip(words, cw, strict=True)):
                score = 90 + 10 * len(q.replace(" ", "")) / len("".join(cw))
            else:
                continue
            out[r, k] = max(out[r, k], min(score, 99.0))


def identify_payer(
    payer_name: str, scores: np.ndarray, book: InvoiceBook, settings: MatchSettings
) -> tuple[list[str], float]:
    """Customers the payer name may be: ([one id], score) when identified, (several, score) when
    ambiguous, ([], best score) when no name reaches ``name_threshold``."""
    if not len(scores) or not payer_name.strip():
        return [], 0.0
    best = float(scores.max())
    if best < settings.name_threshold:
        return [], best
    tied = np.flatnonzero(scores >= best - settings.name_margin)
    written = legal_form(payer_name)
    if len(tied) > 1 and written:  # a written legal form (GmbH vs Inc) breaks ties
        same = [i for i in tied if legal_form(book.names[book.cust_ids[i]]) == written]
        tied = np.array(same) if same else tied
    ranked = sorted(tied, key=lambda i: (-scores[i], book.cust_ids[i]))
    return [book.cust_ids[i] for i in ranked], best


# --------------------------------------------------------------------------------------------
# the bounded subset-sum search
# --------------------------------------------------------------------------------------------


def subset_sums(
    amounts: list[int], low: int, high: int, max_size: int, budget: int, want: int = 2
) -> tuple[list[tuple[int, ...]], bool]:
    """Sets of 2..``max_size`` positions of ``amounts`` (positive cents) whose sum lies in
    [``low``, ``high``]: up to ``want`` of them, and whether the search stopped at ``budget``
    steps before it was complete.

    Depth-first over the amounts sorted ascending: a branch ends when adding the next amount
    exceeds ``high`` (every later one is larger) or when even the largest remaining amounts
    cannot lift the sum to ``low``.
    """
    order = sorted(range(len(amounts)), key=lambda i: (amounts[i], i))
    a = [amounts[i] for i in order]
    n = len(a)
    prefix_top = [0] * (n + 1)  # sum of the r largest amounts: prefix_top[r]
    for r in range(1, n + 1):
        prefix_top[r] = prefix_top[r - 1] + a[n - r]
    found: list[tuple[int, ...]] = []
    steps = 0
    exhausted = False

    def dfs(start: int, chosen: list[int], total: int) -> None:
        nonlocal steps, exhausted
        if len(found) >= want or exhausted:
            return
        size = len(chosen)
        if size >= 2 and low <= total <= high:
            found.append(tuple(sorted(order[j] for j in chosen)))
            if len(found) >= want:
                return
        if size == max_size:
            return
        room = max_size - size
        for j in range(start, n):
            steps += 1
            if steps > budget:
                exhausted = True
                return
            if total + a[j] > high:
                break
            left = min(room, n - j)
            if total + prefix_top[left] < low and left == n - j:
                break  # even every remaining amount cannot reach low
            chosen.append(j)
            dfs(j + 1, chosen, total + a[j])
            chosen.pop()
            if len(found) >= want or exhausted:
                return

    dfs(0, [], 0)
    return found, exhausted


# --------------------------------------------------------------------------------------------
# the rules
# --------------------------------------------------------------------------------------------


class LineValue:
    """One credit line's amount in any currency (cents), with the tolerance of that comparison."""

    def __init__(self, row: Mapping[str, Any], settings: MatchSettings):
        self.amount = float(row["amount"])
        self.currency = str(row.get("currency") or settings.reporting_currency).upper()
        instd = row.get("instructed_amount")
        self.instructed = None if instd is None or pd.isna(instd) else float(instd)
        self.instructed_ccy = str(row.get("instructed_currency") or "").upper()
        self.settings = settings

    def value(self, ccy: str) -> tuple[int, int, bool] | None:
        """(cents in ``ccy``, tolerance in cents, exact?) or None without an exchange rate."""
        ccy = ccy or self.settings.reporting_currency
        if self.instructed is not None and self.instructed_ccy == ccy:
            return round(self.instructed * 100), 0, True
        if self.currency == ccy:
            return round(self.amount * 100), 0, True
        rates = {self.settings.reporting_currency: 1.0, **self.settings.fx_rates}
        if self.currency not in rates or ccy not in rates or rates[ccy] <= 0:
            return None
        cents = round(self.amount * rates[self.currency] / rates[ccy] * 100)
        return cents, round(cents * self.settings.fx_tolerance), False


def _fx(rule: str, exact: bool) -> str:
    return rule if exact else f"{rule}_fx"


def short_of(book: InvoiceBook, allocations: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(invoice row, cents) that ``allocations`` leave open on the invoices they pay short
    (before the book is lowered by them)."""
    return [(i, int(book.remaining[i]) - c) for i, c in allocations if int(book.remaining[i]) > c]


def allocate(book: InvoiceBook, rows: list[int], cents: int) -> list[tuple[int, int]]:
    """``cents`` over ``rows`` oldest due date first, each up to its remaining amount."""
    out, left = [], cents
    for i in rows:
        take = min(int(book.remaining[i]), left)
        if take > 0:
            out.append((i, take))
            left -= take
    return out


def _settle(
    book: InvoiceBook,
    rows: list[int],
    line: LineValue,
    rule: str,
    confidence: float,
    partial_ok: bool,
) -> LineResult | None:
    """The amount cases of rules 1 and 2 for invoice rows of one customer and one currency."""
    ccy = book.currency[rows[0]]
    v = line.value(ccy)
    if v is None:
        return None
    cents, tol, exact = v
    total = int(book.remaining[rows].sum())
    cust = book.customer[rows[0]]
    conf = confidence if exact else round(confidence * 0.95, 4)
    base = {"customer_id": cust, "currency": ccy}
    if abs(cents - total) <= tol:
        name = rule if len(rows) == 1 else f"{rule}_multi" if rule == "reference" else rule
        res = LineResult("matched", _fx(name, exact), conf, **base)
        res.allocations = [(i, int(book.remaining[i])) for i in rows]
        res.fx_difference = cents - total
        return res
    if not partial_ok:
        return None
    if exact and cents < total and (rate := _discount_rate(line.settings, cents, total, rows)):
        res = LineResult("matched", f"{rule}_discount", round(conf * 0.95, 4), **base)
        res.allocations = [(i, int(book.remaining[i])) for i in rows]
        res.discount = total - cents
        res.reason = (
            f"pays the open {total / 100:,.2f} less a {rate:.0%} early-payment discount "
            f"({(total - cents) / 100:,.2f}): settled, post the discount"
        )
        return res
    if cents < total and len(rows) > 1:
        # which invoice was paid short is not known: a person decides. Measured: "all paid in
        # full but one" (and "oldest first") split the amount wrongly on lines where the customer
        # paid two invoices in part, and a wrong split misleads the lines after it
        res = LineResult(
            "suggested",
            **base,
            reason=f"pays {(total - cents) / 100:,.2f} less than the {len(rows)} invoices it "
            "names (not a listed early-payment discount): which one was paid short is not known",
        )
        res.candidates = [_candidate(book, rows, round(conf * 0.7, 4), "oldest first, rest open")]
        return res
    if cents < total:
        res = LineResult("matched", _fx(f"{rule}_partial", exact), round(conf * 0.95, 4), **base)
        res.allocations = allocate(book, rows, cents)
        return res
    res = LineResult("matched", _fx(f"{rule}_overpaid", exact), round(conf * 0.9, 4), **base)
    if len(rows) == 1:
        res.allocations = [(rows[0], cents)]
    else:
        res.allocations = [(i, int(book.remaining[i])) for i in rows]
        res.unapplied = cents - total
    return res


def _discount_rate(settings: MatchSettings, cents: int, total: int, rows: list[int]) -> float:
    """The early-payment discount rate of ``settings.discount_rates`` that ``cents`` is of the
    open ``total`` (within a cent per invoice, for a discount rounded invoice by invoice), else
    0."""
    for rate in settings.discount_rates:
        if abs(cents - round(total * (1 - rate))) <= len(rows):
            return rate
    return 0.0


def _by_customer_currency(
    book: InvoiceBook, rows: Iterable[int]
) -> dict[tuple[str, str], list[int]]:
    groups: dict[tuple[str, str], list[int]] = {}
    for i in rows:
        groups.setdefault((book.customer[i], book.currency[i]), []).append(i)
    return groups


def _exact_and_sums(
    book: InvoiceBook, customer: str, line: LineValue, settings: MatchSettings, sums: bool = True
) -> tuple[list[list[int]], list[tuple[list[int], bool]], bool]:
    """For one customer's open invoices: single invoices with the line's amount, sets that add
    up to it (each with whether the comparison was exact) and whether the search hit its budget."""
    rows = [i for i in book.by_customer.get(customer, []) if book.remaining[i] > 0]
    singles: list[list[int]] = []
    sets: list[tuple[list[int], bool]] = []
    exhausted = False
    by_ccy: dict[str, list[int]] = {}
    for i in rows:
        by_ccy.setdefault(book.currency[i], []).append(i)
    for ccy, cand in sorted(by_ccy.items()):
        v = line.value(ccy)
        if v is None:
            continue
        cents, tol, exact = v
        singles += [[i] for i in cand if abs(int(book.remaining[i]) - cents) <= tol]
        # through a conversion (a tolerance) a single invoice may fit by chance: look for sets
        # too, so that a set that also fits makes it a suggestion
        if sums and (not singles or tol > 0):
            pool = cand[: settings.max_candidates]
            amounts = [int(book.remaining[i]) for i in pool]
            found, hit = subset_sums(
                amounts, cents - tol, cents + tol, settings.max_subset_size, settings.search_budget
            )
            exhausted |= hit
            sets += [([pool[j] for j in s], exact) for s in found]
    return singles, sets, exhausted


def _completion(
    book: InvoiceBook, rows: list[int], weak: list[int], line: LineValue, settings: MatchSettings
) -> list[int]:
    """Further invoices of the same customer when a line pays more than its referenced invoices:
    its weak references if they make up the difference exactly, else the one invoice or the one
    set of the customer's other open invoices that does (nothing when none or several do)."""
    v = line.value(book.currency[rows[0]])
    if v is None:
        return []
    cents, tol, _ = v
    total = int(book.remaining[rows].sum())
    if cents - tol <= total:
        return []
    cust, ccy = book.customer[rows[0]], book.currency[rows[0]]
    same = [
        i
        for i in book.by_customer.get(cust, [])
        if book.remaining[i] > 0 and book.currency[i] == ccy and i not in rows
    ]
    extra = [i for i in weak if i in same]
    if extra and abs(cents - total - int(book.remaining[extra].sum())) <= tol:
        return extra
    need = cents - total
    singles = [[i] for i in same if abs(int(book.remaining[i]) - need) <= tol]
    if len(singles) == 1:
        return singles[0]
    if singles:
        return []
    pool = same[: settings.max_candidates]
    found, exhausted = subset_sums(
        [int(book.remaining[i]) for i in pool],
        need - tol,
        need + tol,
        settings.max_subset_size,
        settings.search_budget,
    )
    return [pool[j] for j in found[0]] if len(found) == 1 and not exhausted else []


def _candidate(book: InvoiceBook, rows: list[int], confidence: float, why: str) -> dict[str, Any]:
    return {
        "customer_id": book.customer[rows[0]],
        "invoice_ids": "; ".join(book.ids[i] for i in rows),
        "open_amount": round(int(book.remaining[rows].sum()) / 100, 2),
        "confidence": round(float(confidence), 4),
        "why": why,
    }


def match_line(
    row: Mapping[str, Any],
    book: InvoiceBook,
    scores: np.ndarray,
    settings: MatchSettings,
    known_accounts: Mapping[str, str] | None = None,
) -> LineResult:
    """Apply the rules of the module docstring to one credit line (``book`` is not changed).

    A line left unmatched whose text names an invoice that is already paid says so (a duplicate
    payment, to be refunded or kept on account)."""
    text = " ".join(str(row.get(c) or "") for c in ("remittance", "reference", "end_to_end_id"))
    strong, weak = book.references(text)
    res = _decide(row, text, strong, weak, book, scores, settings, known_accounts)
    closed = [i for i in strong if book.remaining[i] <= 0]
    if res.status == "unmatched" and closed:
        note = _closed_note(book, closed, row.get("booking_date"))
        res.reason = note + (" (duplicate payment?)" if note.endswith("already paid") else "")
    return res


def _closed_note(book: InvoiceBook, closed: list[int], day: Any) -> str:
    """``refers to INV-..., already paid``, or, for an invoice issued after the line's booking
    date (not billed yet when the money came), ``refers to INV-..., issued <date>, after the
    booking date``."""
    ids = ", ".join(book.ids[i] for i in closed[:3])
    if day is not None and not pd.isna(day):
        limit = np.datetime64(pd.Timestamp(day), "ns")
        later = [i for i in closed[:3] if book.issued[i] > limit]
        if later and len(later) == len(closed[:3]):
            first = pd.Timestamp(book.issued[later[0]])
            return f"refers to {ids}, issued {first:%Y-%m-%d}, after the booking date"
    return f"refers to {ids}, already paid"


@dataclass
class _Ctx:
    """One credit line as the rules see it: its text, references, amount and payer."""

    row: Mapping[str, Any]
    text: str
    strong: list[int]
    weak: list[int]
    book: InvoiceBook
    scores: np.ndarray
    settings: MatchSettings
    line: LineValue
    payers: list[str]
    payer_conf: float

    @property
    def payer(self) -> str | None:
        return self.payers[0] if len(self.payers) == 1 else None

    def name(self, cust: str | None) -> str:
        return f"{cust} ({self.book.names.get(cust, '')})" if cust else ""


def _decide(row, text, strong, weak, book, scores, settings, known_accounts) -> LineResult:
    """The rules in order (module docstring); each returns a result or None to go on."""
    payers, payer_conf = _identify(row, text, book, scores, settings, known_accounts)
    ctx = _Ctx(row, text, strong, weak, book, scores, settings, LineValue(row, settings), payers,
               payer_conf)  # fmt: skip
    for rule in (_rule_strong, _rule_weak, _rule_payer_amount, _rule_payers_ambiguous):
        res = rule(ctx)
        if res is not None:
            break
    else:
        res = _rule_same_amount_anywhere(ctx)
    res.payers = list(payers)
    return res


def _identify(row, text, book, scores, settings, known_accounts) -> tuple[list[str], float]:
    """Who paid: a customer id in the text, a known account, a name a person decided for a
    customer before (an alias), or the name (module docstring)."""
    if cid := book.customer_in_text(text):
        return [cid], 1.0
    acct = _norm(row.get("payer_account"))
    if acct and known_accounts and acct in known_accounts:
        return [known_accounts[acct]], 1.0
    payers, score = identify_payer(str(row.get("payer_name") or ""), scores, book, settings)
    # a name a person decided for a customer, unless the name is another customer's own: a
    # group company that once paid a sister's invoice still pays its own under its name
    alias = (
        known_accounts.get(f"name:{name_core(row.get('payer_name'))}") if known_accounts else None
    )
    if alias and (not payers or alias in payers):
        return [alias], 1.0
    return payers, score / 100.0


def _name_contradicts(ctx: _Ctx, cust: str) -> bool:
    """The payer is someone else: identified (or ambiguous) without ``cust``, or a written name
    that scores below ``name_contradiction`` against ``cust``'s name."""
    if ctx.payers:
        return cust not in ctx.payers
    if not str(ctx.row.get("payer_name") or "").strip() or not len(ctx.scores):
        return False
    k = ctx.book.cust_index.get(cust)
    return k is not None and float(ctx.scores[k]) < ctx.settings.name_contradiction


def _ref_note(ctx: _Ctx) -> str:
    """What the text says about invoices, for a reason: never "no reference" when it has one."""
    book = ctx.book
    closed = [i for i in ctx.strong if book.remaining[i] <= 0]
    weak = [book.ids[i] for i in ctx.weak if book.remaining[i] > 0]
    if closed:
        return _closed_note(book, closed, ctx.row.get("booking_date"))
    if weak:
        return f"weak reference to {', '.join(weak[:3])} not confirmed by the payer or the amount"
    if ctx.weak:
        return f"weak reference to {', '.join(book.ids[i] for i in ctx.weak[:3])}, already paid"
    return "no invoice reference"


def _rule_strong(ctx: _Ctx) -> LineResult | None:
    """Rule 1: strong references to open invoices of one customer, unless the payer or an
    over-payment beyond the cap contradicts them."""
    book, line, settings = ctx.book, ctx.line, ctx.settings
    open_strong = [i for i in ctx.strong if book.remaining[i] > 0]
    if not open_strong:
        return None
    groups = _by_customer_currency(book, open_strong)
    if len(groups) > 1:
        cands = [
            _candidate(book, r, 0.6, "invoices of several customers referenced")
            for r in groups.values()
        ]
        return LineResult(
            "suggested",
            candidates=cands[: settings.suggestions],
            reason="the text refers to invoices of several customers",
        )
    rows = next(iter(groups.values()))
    rows = sorted(rows + _completion(book, rows, ctx.weak, line, settings))
    cust = book.customer[rows[0]]
    v = line.value(book.currency[rows[0]])
    if v is None:
        return None
    cents, tol, _ = v
    total = int(book.remaining[rows].sum())
    exact = abs(cents - total) <= tol
    if ctx.payers and cust not in ctx.payers:
        return _contradiction(ctx, rows, "the payer is " + _payer_words(ctx), exact)
    if not exact and _name_contradicts(ctx, cust):
        return _contradiction(ctx, rows, "the payer name does not look like it", exact)
    cap = round(total * settings.overpay_tolerance)
    if cents - tol > total + cap:
        return _overpaid_beyond_cap(ctx, rows, cents, total)
    return _settle(book, rows, line, "reference", 1.0, partial_ok=True)


def _payer_words(ctx: _Ctx) -> str:
    if ctx.payer:
        return ctx.name(ctx.payer)
    return "one of " + ", ".join(ctx.payers[:3])


def _one_slip(a: str, b: str) -> bool:
    """Two invoice numbers one typing slip apart: one digit different, or two neighbouring
    digits swapped (same prefix, same length)."""
    if len(a) != len(b) or a == b:
        return False
    diff = [k for k in range(len(a)) if a[k] != b[k]]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


def _corrected(ctx: _Ctx, rows: list[int]) -> LineResult | None:
    """Exactly one of the identified payer's open invoices with the line's amount (for a name
    that fits several customers, of all of theirs) has a number one slip (a digit, or two
    neighbours swapped) from a referenced number: that invoice, ``reference_corrected`` at
    0.9 x the payer's score."""
    book = ctx.book
    if not ctx.payers:
        return None
    singles = [
        r[0]
        for payer in ctx.payers
        for r in _exact_and_sums(book, payer, ctx.line, ctx.settings, sums=False)[0]
    ]
    # of the payer's invoices with the amount (with an ambiguous name: of all the names'),
    # exactly one is one slip from a number written (two with the amount, e.g. a re-billed
    # copy, and one of them a slip from the text: that one)
    slips = [
        i for i in singles if any(_one_slip(_norm(book.ids[i]), _norm(book.ids[r])) for r in rows)
    ]
    if len(slips) != 1:
        return None
    own = slips[0]
    res = _settle(
        book, [own], ctx.line, "reference_corrected", round(0.9 * ctx.payer_conf, 4), False
    )
    if res is not None:
        ids = ", ".join(book.ids[i] for i in rows)
        res.reason = (
            f"the text's {ids} is {ctx.name(book.customer[rows[0]])}'s; the payer's "
            f"{book.ids[own]} has this amount and is one typing slip from it"
        )
    return res


def _contradiction(ctx: _Ctx, rows: list[int], why: str, exact: bool) -> LineResult:
    """A reference to invoices the payer or the amount speaks against: the payer's own invoice
    when it has the amount and its number is one slip away (:func:`_corrected`), else
    suggested, the payer's own invoices that fit the amount first, then the referenced ones."""
    book = ctx.book
    if (fixed := _corrected(ctx, rows)) is not None:
        return fixed
    if exact and (paid_for := _third_party(ctx, rows)) is not None:
        return paid_for
    cust = book.customer[rows[0]]
    open_ = int(book.remaining[rows].sum()) / 100
    amount = "the amount fits" if exact else f"the amount differs from their open {open_:,.2f}"
    ids = ", ".join(book.ids[i] for i in rows)
    cands = []
    for payer in ctx.payers[:3]:  # the payer's invoices with the amount, then one slip away
        singles, sets, _ = _exact_and_sums(book, payer, ctx.line, ctx.settings)
        for r in singles[:2] + [s for s, _ in sets[:1]]:
            cands.append(_candidate(book, r, 0.5 * ctx.payer_conf, "the payer's, same amount"))
        near = [
            i
            for i in book.by_customer.get(payer, [])
            if book.remaining[i] > 0
            and [i] not in singles
            and any(_one_slip(_norm(book.ids[i]), _norm(book.ids[r])) for r in rows)
        ]
        cands += [
            _candidate(book, [i], 0.4 * ctx.payer_conf, "the payer's, one slip") for i in near
        ]
    cands.append(_candidate(book, rows, 0.4 if exact else 0.3, "referenced, another customer's"))
    return LineResult(
        "suggested",
        customer_id=ctx.payer,
        candidates=cands[: ctx.settings.suggestions],
        reason=f"the text refers to {ids} of {ctx.name(cust)}, but {why}; {amount}",
    )


def _third_party(ctx: _Ctx, rows: list[int]) -> LineResult | None:
    """Rule 1b: another customer pays this customer's invoices (a sister or parent company, a
    factor): the text names them with a strong reference and the line pays exactly their open
    amount, in their currency (no conversion, no discount, no partial), and nothing of the
    payer's own explains it: none of its open invoices (or sets of them) has the amount and none
    has a number one slip from the one written. ``reference_third_party`` at 0.85.

    A slip that makes a payer's own number another customer's would also have to hit that
    invoice's open amount to the cent; a payer paying its own invoice with a mistyped number
    is caught by its own invoice with the amount (then suggested, or ``reference_corrected``)."""
    book = ctx.book
    if not set(rows) <= set(ctx.strong):  # only what the text names, nothing completed
        return None
    v = ctx.line.value(book.currency[rows[0]])
    if v is None or not v[2] or v[0] != int(book.remaining[rows].sum()):
        return None
    for payer in ctx.payers:
        singles, sets, exhausted = _exact_and_sums(book, payer, ctx.line, ctx.settings)
        if singles or sets or exhausted:
            return None
        own = [i for i in book.by_customer.get(payer, []) if book.remaining[i] > 0]
        if any(_one_slip(_norm(book.ids[i]), _norm(book.ids[r])) for i in own for r in rows):
            return None
    res = _settle(book, rows, ctx.line, "reference_third_party", 0.85, False)
    if res is not None:
        ids = ", ".join(book.ids[i] for i in rows)
        res.reason = (
            f"paid by {_payer_words(ctx)} for {ctx.name(book.customer[rows[0]])}: the text "
            f"names {ids} and the amount is exactly their open amount; nothing of the payer's "
            "own has it"
        )
    return res


def _overpaid_beyond_cap(ctx: _Ctx, rows: list[int], cents: int, total: int) -> LineResult:
    """More than the referenced invoices plus the cap: suggested, naming the other invoices the
    text mentions (weak references, other customers' or paid invoices)."""
    book, settings = ctx.book, ctx.settings
    others = [i for i in ctx.weak + ctx.strong if i not in rows]
    excess = (cents - total) / 100
    ids = ", ".join(book.ids[i] for i in rows)
    reason = (
        f"pays {excess:,.2f} more than {ids} (open {total / 100:,.2f}; "
        f"{excess * 100 / max(total / 100, 0.01):.0f} %, above the "
        f"{settings.overpay_tolerance:.0%} cap)"
    )
    if others:
        reason += "; the text also names " + ", ".join(book.ids[i] for i in others[:3])
    conf = 0.5
    cands = [_candidate(book, rows, conf, "referenced; the rest on account?")]
    cands += [_candidate(book, [i], 0.3, "also named in the text") for i in others]
    return LineResult(
        "suggested",
        customer_id=book.customer[rows[0]],
        candidates=cands[: settings.suggestions],
        reason=reason,
    )


def _rule_weak(ctx: _Ctx) -> LineResult | None:
    """Rule 2: weak references, confirmed by the payer or by the exact amount."""
    book, line = ctx.book, ctx.line
    open_weak = [i for i in ctx.weak if book.remaining[i] > 0]
    if not open_weak:
        return None
    groups = _by_customer_currency(book, open_weak)
    payer = ctx.payer
    for (cust, _), rows in sorted(groups.items()):
        if payer == cust or (payer is None and cust in ctx.payers and len(groups) == 1):
            conf = round(0.95 * max(ctx.payer_conf, 0.9), 4)
            v = line.value(book.currency[rows[0]])
            total = int(book.remaining[rows].sum())
            if v is not None and v[0] - v[1] > total + round(
                total * ctx.settings.overpay_tolerance
            ):
                return _overpaid_beyond_cap(ctx, rows, v[0], total)
            res = _settle(book, rows, line, "reference_weak", conf, True)
            if res is not None:
                return res
    exact = [
        r
        for (cust, _), r in groups.items()
        if not (ctx.payers and cust not in ctx.payers)
        and _settle(book, r, line, "reference_weak", 0.9, False)
    ]
    if len(exact) == 1:
        return _settle(book, exact[0], line, "reference_weak", 0.9, False)
    return None


def _rule_payer_amount(ctx: _Ctx) -> LineResult | None:
    """Rules 3 and 4 for an identified payer: one open invoice with the amount, one set that
    adds up to it, else suggestions (same amount several times, several sets, partial)."""
    payer, book, settings = ctx.payer, ctx.book, ctx.settings
    if payer is None:
        return None
    singles, sets, exhausted = _exact_and_sums(book, payer, ctx.line, settings)
    conf = ctx.payer_conf
    if len(singles) == 1 and not sets:
        res = _settle(book, singles[0], ctx.line, "amount_payer", round(conf, 4), False)
        if res is not None:
            return res
    if singles and sets:  # only through a conversion: one invoice and a set both fit
        cands = [
            _candidate(book, r, 0.4 * conf, "within the exchange-rate tolerance") for r in singles
        ]
        cands += [_candidate(book, r, 0.4 * conf, "a set within the tolerance") for r, _ in sets]
        return LineResult(
            "suggested",
            customer_id=payer,
            candidates=cands[: settings.suggestions],
            reason="converted at the bank's rate, an invoice and a set of invoices both fit "
            f"within the {settings.fx_tolerance:.0%} tolerance; {_ref_note(ctx)}",
        )
    if singles:
        cands = [
            _candidate(book, r, 0.8 * conf / len(singles), "same amount, several invoices")
            for r in singles
        ]
        return LineResult(
            "suggested",
            customer_id=payer,
            candidates=cands[: settings.suggestions],
            reason=f"{len(singles)} open invoices of the payer have this amount; {_ref_note(ctx)}",
        )
    if len(sets) == 1 and not exhausted:
        res = _settle(book, sets[0][0], ctx.line, "sum_payer", round(0.95 * conf, 4), False)
        if res is not None:
            return res
    if sets:
        cands = [
            _candidate(book, r, 0.6 * conf / len(sets), "invoices adding up to the amount")
            for r, _ in sets
        ]
        why = (
            "search limit reached"
            if exhausted
            else f"{len(sets)} or more sets of invoices add up to it"
        )
        return LineResult(
            "suggested",
            customer_id=payer,
            candidates=cands[: settings.suggestions],
            reason=why,
        )
    return _partial_suggestion(ctx, exhausted)


def _rule_payers_ambiguous(ctx: _Ctx) -> LineResult | None:
    """Rules 3 and 4 when the name fits several customers: exactly one of them has exactly one
    invoice (or one set) with the amount."""
    book, settings = ctx.book, ctx.settings
    if len(ctx.payers) < 2:
        return None
    found = [(c, *_exact_and_sums(book, c, ctx.line, settings, sums=False)) for c in ctx.payers]
    with_single = [(c, s) for c, s, _, _ in found if s]
    if len(with_single) == 1 and len(with_single[0][1]) == 1:
        res = _settle(
            book, with_single[0][1][0], ctx.line, "amount_payer", round(ctx.payer_conf, 4), False
        )
        if res is not None:
            return res
    if with_single:
        cands = [
            _candidate(book, r, 0.5 * ctx.payer_conf, "same amount, similar name")
            for _, s in with_single
            for r in s
        ]
        return LineResult(
            "suggested",
            candidates=cands[: settings.suggestions],
            reason=f"payer name fits {len(ctx.payers)} customers; amount fits several",
        )
    sets, hit = [], False
    for cust in ctx.payers:
        _, found_sets, exhausted = _exact_and_sums(book, cust, ctx.line, settings)
        sets += [(cust, r) for r, _ in found_sets]
        hit |= exhausted
    if len(sets) == 1 and not hit:
        res = _settle(
            book, sets[0][1], ctx.line, "sum_payer", round(0.9 * ctx.payer_conf, 4), False
        )
        if res is not None:
            return res
    if sets:
        cands = [
            _candidate(
                book, r, 0.4 * ctx.payer_conf / len(sets), "invoices adding up, similar name"
            )
            for _, r in sets
        ]
        return LineResult(
            "suggested",
            candidates=cands[: settings.suggestions],
            reason=f"payer name fits {len(ctx.payers)} customers; invoices of "
            f"{len({c for c, _ in sets})} of them add up to the amount",
        )
    return None


def _rule_same_amount_anywhere(ctx: _Ctx) -> LineResult:
    """Rule 5: no payer: the same amount at any customer (suggested), else unmatched."""
    book, line, settings = ctx.book, ctx.line, ctx.settings
    cands, exact = [], True
    for ccy in sorted(set(book.currency)):
        v = line.value(ccy)
        if v is None:
            continue
        cents, tol, _ = v
        hit = np.flatnonzero(
            (np.abs(book.remaining - cents) <= tol) & (book.currency == ccy) & (book.remaining > 0)
        )
        cands += [[int(i)] for i in hit]
        exact &= tol == 0 or not len(hit)
    if len(cands) == 1 and exact:
        res = _unique_amount_one_slip(ctx, cands[0]) or _unique_amount_close_name(ctx, cands[0])
        if res is not None:
            return res
    note = _ref_note(ctx)
    named = str(ctx.row.get("payer_name") or "").strip()
    who = (
        f"payer name fits {len(ctx.payers)} customers"
        if ctx.payers
        else "payer not recognised"
        if named
        else "no payer name"
    )
    if cands:
        conf = 0.5 / len(cands)
        return LineResult(
            "suggested",
            candidates=[
                _candidate(book, r, conf, "same amount") for r in cands[: settings.suggestions]
            ],
            reason=f"{note}, {who}; {len(cands)} open invoice(s) have this amount",
        )
    if ctx.payers:
        return LineResult("unmatched", reason=f"{note}; {who}, no amount fits")
    return LineResult("unmatched", reason=f"{note}, {who}, amount fits no open invoice")


def _unique_amount_one_slip(ctx: _Ctx, rows: list[int]) -> LineResult | None:
    """Rule 5b: the payer is not identified, the text names an invoice that is paid or another
    customer's, and the only open invoice of the whole book with the line's exact amount has a
    number one slip from it (a digit, or two neighbours swapped): ``reference_corrected`` at
    0.85, unless the payer name speaks against its customer (identified as others, or scoring
    below ``name_contradiction``)."""
    book = ctx.book
    own = rows[0]
    written = [i for i in ctx.strong + ctx.weak if i != own]
    if not any(_one_slip(_norm(book.ids[own]), _norm(book.ids[i])) for i in written):
        return None
    if _name_contradicts(ctx, book.customer[own]):
        return None
    res = _settle(book, [own], ctx.line, "reference_corrected", 0.85, False)
    if res is not None:
        ids = ", ".join(book.ids[i] for i in written[:3])
        res.reason = (
            f"the text names {ids}; {book.ids[own]} of {ctx.name(book.customer[own])} is one "
            "typing slip from it and the only open invoice with this amount"
        )
    return res


def _unique_amount_close_name(ctx: _Ctx, rows: list[int]) -> LineResult | None:
    """Rule 5a: the only open invoice of the whole book with the line's exact amount, of the
    customer whose name the payer's comes closest to (at least ``name_close``, a misspelt name
    such as ``Iorn Grid`` for Iron Grid), when the text names no invoice: ``amount_name_close``
    at 0.85 x the name's score. Two things the payer wrote agree: the amount to the cent, and
    a name closer to this customer than to any other."""
    book, scores = ctx.book, ctx.scores
    if ctx.strong or ctx.weak or not len(scores):
        return None
    k = book.cust_index.get(book.customer[rows[0]])
    if k is None:
        return None
    best = float(scores.max())
    score = float(scores[k])
    if score < ctx.settings.name_close or score < best:
        return None
    if ctx.payers and book.customer[rows[0]] not in ctx.payers:
        return None
    res = _settle(book, rows, ctx.line, "amount_name_close", round(0.85 * score / 100, 4), False)
    if res is not None:
        res.reason = (
            f"the only open invoice with this amount; the payer name scores {score:.0f} "
            f"against {ctx.name(book.customer[rows[0]])}, no other customer's higher"
        )
    return res


def _partial_suggestion(ctx: _Ctx, exhausted: bool) -> LineResult:
    """The identified payer has no invoice or set with the amount: a partial payment (or a
    payment on account). Candidates are the payer's open invoices larger than the line (a
    partial payment) or smaller by at most the over-payment cap, ranked by reference evidence
    (an invoice the text names, even weakly, first), then by how close the open amount is to
    the line's, not by age."""
    book, payer, settings = ctx.book, ctx.payer, ctx.settings
    rows = [i for i in book.by_customer.get(payer, []) if book.remaining[i] > 0]
    if not rows:
        return LineResult(
            "unmatched",
            customer_id=payer,
            reason=f"{_ref_note(ctx)}; the payer has no open invoice",
        )
    v = ctx.line.value(book.currency[rows[0]])
    cents = v[0] if v else 0
    total = int(book.remaining[rows].sum())
    if cents > total:
        return LineResult(
            "suggested",
            customer_id=payer,
            candidates=[
                _candidate(
                    book,
                    rows[: settings.max_subset_size],
                    0.3 * ctx.payer_conf,
                    "pays more than all open invoices",
                )
            ],
            reason=f"{_ref_note(ctx)}; the amount exceeds everything the payer owes "
            "(payment on account?)",
        )
    named = set(ctx.weak) | set(ctx.strong)
    # larger open amounts (a partial payment) and, within the over-payment cap, smaller ones
    cap = 1 + settings.overpay_tolerance
    fits = [
        i for i in rows if int(book.remaining[i]) > cents or int(book.remaining[i]) * cap >= cents
    ]
    fits.sort(key=lambda i: (i not in named, abs(int(book.remaining[i]) - cents), i))

    def why(i: int) -> str:
        gap = (int(book.remaining[i]) - cents) / 100
        if i in named:
            return "partial payment; named in the text" if gap > 0 else "named in the text"
        return f"partial payment, {gap:,.2f} short" if gap > 0 else f"pays {-gap:,.2f} more"

    cands = [
        _candidate(
            book,
            [i],
            0.3
            * ctx.payer_conf
            * (min(cents, int(book.remaining[i])) / max(cents, int(book.remaining[i])))
            * (1.0 if i in named else 0.9),
            why(i),
        )
        for i in fits
    ]
    reason = "search limit reached; " if exhausted else ""
    return LineResult(
        "suggested",
        customer_id=payer,
        candidates=cands[: settings.suggestions],
        reason=reason
        + f"{_ref_note(ctx)}; no invoice or set of invoices with this amount (partial payment?)",
    )


def match_lines(
    lines: pd.DataFrame,
    book: InvoiceBook,
    settings: MatchSettings,
    known_accounts: Mapping[str, str] | None = None,
) -> list[LineResult]:
    """Match every line in order (results in the order of ``lines``). Credit lines that are
    booked and not reversals go through :func:`match_line`; every match lowers the open amounts
    of ``book`` for the lines after it. Others are ``skipped`` with the reason."""
    credit = (
        (lines["credit_debit"] == "CRDT")
        & lines["booked"]
        & ~lines["reversal"]
        & (lines["amount"] > 0)
    )
    scores = name_scores(lines["payer_name"].where(credit, "").tolist(), book)
    order = lines.sort_values(["booking_date", "line_id"], kind="mergesort").index
    results: dict[int, LineResult] = {}
    for pos in order:
        row = lines.loc[pos]
        if not credit[pos]:
            why = (
                "money out (debit)"
                if row["credit_debit"] != "CRDT"
                else "reversal of a debit (money back in): no credit to undo"
                if row["reversal"]
                else "not booked yet"
                if not row["booked"]
                else "zero amount"
            )
            results[pos] = LineResult("skipped", reason=why)
            continue
        # an invoice issued after the booking date cannot be what this line pays
        later = book.issued > np.datetime64(pd.Timestamp(row["booking_date"]), "ns")
        kept = book.remaining[later].copy()
        book.remaining[later] = 0
        res = match_line(row, book, scores[lines.index.get_loc(pos)], settings, known_accounts)
        book.remaining[later] = kept
        if res.status == "matched" and "_partial" in res.rule:
            res.short = short_of(book, res.allocations)
        for i, cents in res.allocations:
            book.remaining[i] -= min(cents, int(book.remaining[i]))
        results[pos] = res
    return [results[pos] for pos in lines.index]
