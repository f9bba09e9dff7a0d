"""HTML building blocks of the site: escaping, relative links, value formatting, page sources.

Every page source is a Quarto markdown file (``.qmd``): YAML front matter with the title, then
raw HTML blocks (```` ```{=html} ````) that both renderers copy verbatim. Raw HTML in a ``.qmd``
is not a notebook output, so Quarto adds none of the require.js/jQuery CDN links it adds to
notebooks with ``text/html`` outputs (``src/core/jupyter/widgets.ts`` in Quarto's source).
"""

from __future__ import annotations

import html
import json
import math
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from arinsight.kpis import format_value as format_value  # re-exported for the site


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too, so it is safe in attributes; backticks too, so no
    value can close a raw block's fence)."""
    return html.escape("" if value is None else str(value), quote=True).replace("`", "&#96;")


def json_for_script(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>``, ``&`` and the
    backtick are written as unicode escapes, so no value can end the script or the raw block."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("`", "\\u0060")):
        text = text.replace(ch, rep)
    return text


def html_path(source: str) -> str:
    """The output page of a source: ``site/a/b.qmd`` -> ``site/a/b.html``."""
    return re.sub(r"\.(ipynb|qmd|md)$", ".html", source)


def href(from_source: str, to_source: str) -> str:
    """Relative URL from one page to another (sources or outputs relative to the project)."""
    start = posixpath.dirname(html_path(from_source)) or "."
    rel = posixpath.relpath(html_path(to_source), start)
    return "/".join(quote(part) for part in rel.split("/"))


def is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def month_name(label: str) -> str:
    import datetime as dt

    try:
        return dt.date.fromisoformat(label + "-01").strftime("%B %Y")
    except ValueError:
        return label


def _fence(block: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", block)), default=0)
    return "`" * max(3, longest + 1)


def qmd(title: str, blocks: Iterable[str], kind: str, extra: dict[str, Any] | None = None) -> str:
    """A page source: front matter (title, the generator's mark) and one raw HTML block per
    block. The fence is longer than any backtick run inside the block."""
    meta = {"title": title, "arinsight": {"generated": kind}} | (extra or {})
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False).strip()
    parts = [f"---\n{front}\n---\n"]
    for block in blocks:
        fence = _fence(block)
        parts.append(f"{fence}{{=html}}\n{block}\n{fence}\n")
    return "\n".join(parts)


def read_qmd(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Front matter and raw HTML blocks of a page source written by :func:`qmd`; markdown
    between blocks is rendered with mistune (the built-in renderer's fallback)."""
    text = path.read_text(encoding="utf-8")
    meta: dict[str, Any] = {}
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    if m:
        meta = yaml.safe_load(m.group(1)) or {}
        text = text[m.end() :]
    blocks: list[str] = []
    pos = 0
    for fm in re.finditer(r"^(`{3,})\{=html\}\n(.*?)\n\1$", text, re.S | re.M):
        between = text[pos : fm.start()].strip()
        if between:
            blocks.append(markdown_html(between))
        blocks.append(fm.group(2))
        pos = fm.end()
    rest = text[pos:].strip()
    if rest:
        blocks.append(markdown_html(rest))
    return meta, blocks


def markdown_html(text: str) -> str:
    """Markdown (notebook cells, text/markdown outputs) to HTML; raw HTML in it is escaped."""
    import mistune

    return mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])(text)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
