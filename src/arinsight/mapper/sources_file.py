"""Writing the proposal: the sources file as YAML with a comment on every unsure guess, the
summary printed after it, and the file written (never over an existing one unless asked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arinsight.errors import UserError
from arinsight.schemas import CANONICAL, REQUIRED

if TYPE_CHECKING:
    from arinsight.mapper.proposal import Proposal


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
