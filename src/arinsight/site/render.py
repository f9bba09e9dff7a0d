"""Rendering: the built-in renderer (no Quarto) and the post-render step shared by both.

:func:`render_builtin` reads the same ``_quarto.yml`` as Quarto (title, navbar, render list, css,
resources, output-dir) and writes each page source's raw HTML inside the same navigation.
:func:`post_render` then turns the customer page fragments into pages by cloning their period's
rendered customer index (same folder, so every relative link of the chrome stays valid): the
customer pages get exactly the chrome of the renderer that drew the index, at no render cost.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from arinsight import config
from arinsight.errors import UserError
from arinsight.site.html import esc, href, html_path, read_qmd
from arinsight.site.paths import CUSTOMER_FRAGMENTS, PAGE_END, PAGE_START, SOURCES_DIR

QUARTO_FILE = "_quarto.yml"
MARKER = ".arinsight-generated"


def read_quarto_config(project_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``_quarto.yml`` of the project as a mapping."""
    path = Path(project_dir or config.PROJECT_ROOT) / QUARTO_FILE
    if not path.is_file():
        raise UserError(f"{path}: not found (the website's configuration)")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or (data.get("project") or {}).get("type") != "website":
        raise UserError(f"{path}: expected `project: type: website`")
    return data


def _globbed(project: Path, patterns: list[str], suffixes: tuple[str, ...] | None) -> list[str]:
    out: list[str] = []
    for pattern in patterns:
        if str(pattern).startswith("!"):
            continue
        # Quarto's globs are gitignore-style: a leading "/" anchors the pattern at the project
        # root (without it "site/assets/*" also matches src/arinsight/site/assets/*).
        anchored = str(pattern).lstrip("/")
        for path in sorted(glob.glob(str(project / anchored), recursive=True)):
            rel = Path(path).relative_to(project).as_posix()
            if (
                Path(path).is_file()
                and (suffixes is None or rel.endswith(suffixes))
                and rel not in out
                and not any(part.startswith(("_", ".")) for part in rel.split("/"))
            ):
                out.append(rel)
    return out


def _nav_items(cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    navbar = (cfg.get("website") or {}).get("navbar") or {}
    items = []
    for side in ("left", "right"):
        for item in navbar.get(side) or []:
            if isinstance(item, str):
                items.append({"href": item, "text": Path(item).stem})
            elif isinstance(item, Mapping):
                items.append(dict(item))
    return items


def _navbar_html(source: str, cfg: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    title = (cfg.get("website") or {}).get("title") or "arinsight"

    def one(item: Mapping[str, Any]) -> str:
        target = str(item.get("href", ""))
        text = item.get("text") or titles.get(target) or target
        active = ' class="active" aria-current="page"' if target == source else ""
        link = target if re.match(r"^[a-z]+:", target) else href(source, target)
        return f'<li><a href="{esc(link)}"{active}>{esc(text)}</a></li>'

    items = "".join(one(i) for i in _nav_items(cfg))
    return (
        '<header class="ar-navbar"><nav class="navbar" aria-label="Site">'
        f'<a class="ar-brand" href="{esc(href(source, "index.qmd"))}">{esc(title)}</a>'
        f'<ul class="navbar-nav">{items}</ul></nav></header>'
    )


def render_builtin(
    project_dir: str | os.PathLike[str] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Render the prepared sources like Quarto would (no network, no kernel), then
    :func:`post_render`; the previous site is replaced only once the new one is complete."""
    project = Path(project_dir or config.PROJECT_ROOT)
    cfg = read_quarto_config(project)
    out_cfg = (cfg.get("project") or {}).get("output-dir") or "_site"
    out = Path(output_dir) if output_dir else project / out_cfg
    fmt = ((cfg.get("format") or {}).get("html")) or {}
    css_files = fmt.get("css") or []
    css_files = [css_files] if isinstance(css_files, str) else list(css_files)
    site_title = (cfg.get("website") or {}).get("title") or "arinsight"
    favicon = (cfg.get("website") or {}).get("favicon")
    proj = cfg.get("project") or {}
    sources = _globbed(project, list(proj.get("render") or ["**/*.qmd"]), (".qmd", ".md"))
    resources = _globbed(project, list(proj.get("resources") or []), None)
    pages = {}
    titles = {}
    for source in sources:
        meta, blocks = read_qmd(project / source)
        pages[source] = blocks
        titles[source] = str(meta.get("title") or Path(source).stem)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        for res in dict.fromkeys([*css_files, *resources, *([favicon] if favicon else [])]):
            if (project / res).is_file():
                (tmp / res).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(project / res, tmp / res)
        for source, blocks in pages.items():
            links = "".join(
                f'<link rel="stylesheet" href="{esc(href(source, css))}">' for css in css_files
            )
            if favicon:
                links += f'<link rel="icon" href="{esc(href(source, favicon))}">'

            doc = (
                '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                '<meta name="generator" content="arinsight built-in renderer">\n'
                f"<title>{esc(titles[source])} – {esc(site_title)}</title>\n{links}\n</head>\n"
                f'<body class="arinsight">\n{_navbar_html(source, cfg, titles)}\n'
                '<main class="ar-content">\n'
                f'<header class="ar-title-block"><h1 class="title">{esc(titles[source])}</h1>'
                f"</header>\n{''.join(blocks)}\n</main>\n</body>\n</html>\n"
            )
            target = tmp / html_path(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(doc, encoding="utf-8")
        (tmp / MARKER).write_text("rendered by arinsight.site (built-in renderer)\n")
        post_render(tmp, project)
        swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def swap_in(new: Path, out: Path) -> None:
    """Replace ``out`` by the complete site ``new`` (the old one is removed only then)."""
    trash = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    if out.exists():
        if not (out / MARKER).exists() and not (out / "index.html").exists() and any(out.iterdir()):
            raise UserError(f"{out}: exists and does not look like a rendered site")
        os.replace(out, trash)
    os.replace(new, out)
    shutil.rmtree(trash, ignore_errors=True)


_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
_H1 = re.compile(r'(<h1 class="title[^"]*"[^>]*>)(.*?)(</h1>)', re.S)


def post_render(output_dir: str | os.PathLike[str], project_dir: str | os.PathLike[str]) -> int:
    """Write every customer page from its fragment and its period's rendered customer index.
    Copy each period's explorer parts (``site/<period>/explorer-data/``) beside its explorer.

    Returns the number of pages written. A fragment without a rendered index is an error (the
    index and its fragments are written together by the pre-render step)."""
    out, project = Path(output_dir), Path(project_dir)
    (out / MARKER).write_text("rendered by arinsight.site\n")
    # the explorer's parts (site/<period>/explorer-data/): loaded by the page's script on
    # demand, so neither renderer finds them in a page; copied here whatever _quarto.yml lists
    for parts in sorted((project / SOURCES_DIR).glob("*/explorer-data")):
        target = out / parts.relative_to(project)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(parts, target)
    count = 0
    for folder in sorted((project / SOURCES_DIR).glob(f"*/customers/{CUSTOMER_FRAGMENTS}")):
        rel = folder.parent.relative_to(project)
        template_path = out / rel / "index.html"
        if not template_path.is_file():
            raise UserError(f"{template_path}: missing, cannot write the customer pages")
        template = template_path.read_text(encoding="utf-8")
        start, end = template.find(PAGE_START), template.rfind(PAGE_END)
        if start < 0 or end < 0:
            raise UserError(f"{template_path}: no page markers, cannot write the customer pages")
        head, tail = template[:start], template[end + len(PAGE_END) :]
        index_title = _H1.search(head)
        for frag_path in sorted(folder.glob("*.json")):
            frag = json.loads(frag_path.read_text(encoding="utf-8"))
            title = esc(frag["title"])
            page_head = head
            if index_title:
                old = index_title.group(2)
                page_head = _TITLE.sub(
                    lambda m, old=old, title=title: (
                        "<title>" + m.group(1).replace(old, title, 1) + "</title>"
                    ),
                    page_head,
                    count=1,
                )
                page_head = _H1.sub(lambda m, t=title: m.group(1) + t + m.group(3), page_head, 1)
            target = out / rel / f"{frag_path.stem}.html"
            target.write_text(page_head + frag["body"] + tail, encoding="utf-8")
            count += 1
    return count
