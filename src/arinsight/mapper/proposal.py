"""A proposal: one source per table from the inputs read, each column placed by name and
content, then the passes over the whole proposal (date and number formats, status words, ids,
segments, leading zeros, currencies and a rates file)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from arinsight.errors import UserError
from arinsight.mapper.content import CURRENCY_CODE, Guess, Profile, guesses, profile_column
from arinsight.mapper.formats import set_formats
from arinsight.mapper.names import (
    DEFAULT_PAID,
    PAID_WORDS,
    ROLE_FIELDS,
    ROLE_HINTS,
    UNPAID_WORDS,
    concept_of,
    table_of,
    words,
)
from arinsight.mapper.read import Input, drop_non_data_rows, rates_file, read_inputs
from arinsight.mapper.sources_file import render


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
    inputs: list[Input] = []
    rates: tuple[str, list[str]] | None = None
    for p in paths:
        found = None if rates else rates_file(str(p), out_dir)
        if found:
            rates = found
            continue
        inputs.extend(read_inputs(str(p), out_dir, tables))
    candidates: list[SourceProposal] = []
    skipped: list[str] = []
    for inp in inputs:
        drop_non_data_rows(inp)
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
        sp.guesses, sp.unused = guesses(inp, table, profiles)
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
                    re.search(rf"(^|\s){re.escape(h)}", words(sp.label)) for h in ROLE_HINTS[table]
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
        set_formats(sp)
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
                found |= set(text[text.str.fullmatch(CURRENCY_CODE)])
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
    if any(w.casefold() not in DEFAULT_PAID for w in paid) or not paid:
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
