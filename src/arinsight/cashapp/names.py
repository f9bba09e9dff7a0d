"""Payer names: legal forms and department words, the similarity of a payer name to every
customer name (rapidfuzz, and the bank-shortened names of :func:`_abbreviation_scores`) and
which customers a name identifies (:func:`identify_payer`).

rapidfuzz rather than the standard library's ``difflib``: its ``process.cdist`` scores every
payer against every customer in one vectorised C++ call (difflib's ``SequenceMatcher`` is pure
Python, one pair at a time), and ``token_sort_ratio`` ignores word order ("Foods Blue" = "Blue
Foods").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from arinsight.cashapp.book import InvoiceBook
    from arinsight.cashapp.settings import MatchSettings


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


def norm(text: Any) -> str:
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


def abbreviates(short: str, word: str) -> bool:
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
                and all(abbreviates(w, c) for w, c in zip(words, cw, strict=False))
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
            elif all(abbreviates(w, c) for w, c in zip(words, cw, strict=True)):
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
