"""An executed notebook read as dashboard sections: intro, charts, tables, notes.

A markdown heading (``##`` or ``###``) starts a section; its text is the section's note and the
outputs of the code cells under it are its content:

- ``application/vnd.plotly.v1+json`` (an interactive chart from :mod:`arinsight.plots.interactive`)
  and ``image/png`` (a static figure) become charts, drawn in cards;
- ``text/html`` becomes a table (or other HTML), shown collapsed under the cards;
- ``text/markdown`` becomes text.

Never shown: code, stream output (prints, warnings), errors, the parameters cell, cells tagged
``remove-cell`` (Quarto's tag) or ``provenance`` (the runner's cell; the site writes its own).
The ``# Title`` cell gives the intro (its heading is the page title).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from arinsight.site.html import esc, markdown_html

PLOTLY_MIME = "application/vnd.plotly.v1+json"
_HIDDEN_TAGS = {"remove-cell", "provenance", "parameters", "injected-parameters"}


@dataclass
class Section:
    """One heading of a notebook with what is under it."""

    title: str
    level: int
    note: str = ""
    charts: list[dict[str, Any]] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


@dataclass
class NotebookPage:
    intro: str
    sections: list[Section]
    errors: int = 0


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _split_heading(source: str) -> tuple[int, str, str] | None:
    lines = source.strip().split("\n", 1)
    head = lines[0].strip()
    if not head.startswith("#"):
        return None
    level = len(head) - len(head.lstrip("#"))
    rest = lines[1].strip() if len(lines) > 1 else ""
    return level, head.lstrip("#").strip(), rest


def read_notebook(path: Path) -> NotebookPage:
    """The dashboard view of an executed notebook (see the module docstring)."""
    nb = nbformat.read(path, as_version=4)
    intro: list[str] = []
    sections: list[Section] = []
    errors = 0
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & _HIDDEN_TAGS:
            continue
        if cell.cell_type == "markdown":
            heading = _split_heading(cell.source)
            if heading and heading[0] == 1:
                if heading[2]:
                    intro.append(markdown_html(heading[2]))
                continue
            if heading:
                level, title, rest = heading
                sections.append(Section(title, level, markdown_html(rest) if rest else ""))
            elif sections:
                sections[-1].note += markdown_html(cell.source)
            else:
                intro.append(markdown_html(cell.source))
            continue
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                errors += 1
                continue
            if kind not in ("display_data", "execute_result"):
                continue
            data = out.get("data", {})
            target = sections[-1] if sections else None
            if PLOTLY_MIME in data:
                fig = data[PLOTLY_MIME]
                if target is not None:
                    target.charts.append({"plotly": fig})
            elif "image/png" in data:
                if target is not None:
                    target.charts.append({"png": _text(data["image/png"]).strip()})
            elif "text/html" in data:
                block = _text(data["text/html"])
                if target is not None:
                    target.tables.append(block)
            elif "text/markdown" in data:
                block = markdown_html(_text(data["text/markdown"]))
                if target is None:
                    intro.append(block)
                else:
                    target.texts.append(block)
    return NotebookPage("".join(intro), sections, errors)


def png_html(png_b64: str, alt: str) -> str:
    """A static figure (inline PNG, as the notebooks made it)."""
    base64.b64decode(png_b64, validate=False)  # a corrupt output fails here, not in the browser
    return f'<img class="ar-figure" alt="{esc(alt)}" src="data:image/png;base64,{png_b64}">'
