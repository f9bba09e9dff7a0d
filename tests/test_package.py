"""The package's public surface: every exported name resolves, importing stays light, the
modules import each other in no circle, and tracked placeholders survive clean-ups."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import arinsight


def test_every_public_name_resolves():
    for name in arinsight.__all__:
        assert getattr(arinsight, name) is not None, name
    assert arinsight.period_bounds("2026-10").days == 31


def test_unknown_name_is_an_attribute_error():
    try:
        arinsight.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_does_not_load_heavy_libraries():
    """`import arinsight` (and so the CLI's start) must not import scikit-learn or matplotlib."""
    code = "import sys, arinsight; print(sorted(m for m in ('sklearn', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_version_and_help():
    out = subprocess.run(
        [sys.executable, "-m", "arinsight", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"arinsight {arinsight.__version__}"
    helptext = subprocess.run(
        [sys.executable, "-m", "arinsight", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("sample", "run", "site", "alerts", "email-report"):
        assert command in helptext


# ----------------------------------------------------------------------------------------------
# the import graph: no circles, nothing that imports upward, no private name shared
# ----------------------------------------------------------------------------------------------

#: Circles in modules another change owns (risk, forecast, clean, ingest, runs), each listed
#: with why it stays for now; the test fails when one goes (remove it here) or a new one appears.
KNOWN_CYCLES: set[frozenset[str]] = set()


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, also inside functions and classes; not those under ``if
    TYPE_CHECKING:`` (they never run: an annotation may name a module above)."""
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def import_graph(src: Path) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (``from a import b`` counts as a.b when b is a
    module, else as a)."""
    files = {}
    for f in src.rglob("*.py"):
        parts = list(f.relative_to(src).with_suffix("").parts)
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, f in files.items():
        package = mod if f.name == "__init__.py" else mod.rpartition(".")[0]
        for node in _imports(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names
                ]
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != mod:
                    graph[mod].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of ``graph`` (Tarjan), as a path that ends
    where it starts: ``[a, b, a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_path(graph, set(component)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A circle through the first module of ``component`` (breadth first, so the shortest)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return sorted(component)  # pragma: no cover - a component always holds a circle


def test_the_package_imports_in_no_circle():
    graph = import_graph(Path(arinsight.__file__).parent.parent)
    found = {frozenset(c): " -> ".join(c) for c in cycles(graph)}
    new = [text for key, text in found.items() if key not in KNOWN_CYCLES]
    assert new == [], "import circles: " + "; ".join(new)
    assert set(found) >= KNOWN_CYCLES, "a known circle is gone: remove it from KNOWN_CYCLES"


def test_errors_imports_nothing_of_ours():
    graph = import_graph(Path(arinsight.__file__).parent.parent)
    assert graph["arinsight.errors"] == set()


#: The modules and packages of arinsight from the top (what a user runs) to the bottom (what
#: everything reads), after ../STYLE's "nothing imports upward": a module may import its own
#: layer and the layers below, never one above. Every top-level module has its place here, so
#: a new one is placed on purpose.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__", "cli"),  # the command line
    ("monthly",),  # the scheduled job: run, alerts, site, e-mail
    ("runs", "site", "check", "sample"),  # the commands that produce reports and data
    ("notify",),  # alerts and e-mails (the site shows the alerts' plan)
    ("plots",),  # figures and tables of the pages and e-mails
    (  # the analyses
        "receivables",
        "commissions",
        "customers",
        "risk",
        "forecast",
        "provision",
        "disputes",
        "dunning",
        "cashapp",
    ),
    ("engine",),  # the KPI engine
    ("ingest", "clean", "mapper"),  # data in: reading, cleaning, mapping exports
    ("ledger", "schemas", "kpis", "datasets"),  # the canonical tables and the KPI registry
    ("config", "fx", "periods", "money", "files", "errors"),  # paths, params, dates, cents
)


def upward_imports(graph: dict[str, set[str]], layers=LAYERS) -> list[str]:
    """``importer -> imported`` for every import that climbs: to a higher layer of ``layers``
    (top-level names under ``arinsight``), or to a package the importer is part of (its own
    ``__init__``, which re-exports its modules: only ``__main__`` may import its package). The
    root ``arinsight`` (its ``__version__``; the rest is re-exported lazily) is left out."""
    rank = {f"arinsight.{name}": i for i, names in enumerate(layers) for name in names}
    found = []
    for mod, targets in sorted(graph.items()):
        for target in sorted(targets):
            if target == "arinsight":
                continue
            top_mod, top_target = (".".join(m.split(".")[:2]) for m in (mod, target))
            climbs = rank[top_target] < rank[top_mod]
            into_own = mod.startswith(target + ".") and not mod.endswith(".__main__")
            if climbs or into_own:
                found.append(f"{mod} -> {target}")
    return found


def test_every_module_has_a_layer():
    graph = import_graph(Path(arinsight.__file__).parent.parent)
    tops = {m.split(".")[1] for m in graph if m != "arinsight"}
    placed = [name for names in LAYERS for name in names]
    assert sorted(tops - set(placed)) == [] and len(placed) == len(set(placed))
    assert sorted(set(placed) - tops) == [], "a layer names a module that is gone"


def test_no_import_runs_back_up():
    """Lower layers never import higher ones (an analysis never imports a figure, config never
    the ledger), and no module imports the package it is part of."""
    assert upward_imports(import_graph(Path(arinsight.__file__).parent.parent)) == []


def test_root_is_imported_only_for_its_version():
    """``from arinsight import __version__`` is the one name taken from the root facade inside
    the package (``from arinsight import config`` imports a module): any other would load what
    the facade re-exports, from below."""
    src = Path(arinsight.__file__).parent
    found = []
    for f in sorted(src.rglob("*.py")):
        for node in _imports(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "arinsight" and not node.level:
                names = [
                    a.name
                    for a in node.names
                    if a.name != "__version__"
                    and not (src / f"{a.name}.py").is_file()  # a module: an import like any other
                    and not (src / a.name / "__init__.py").is_file()
                ]
                if names:
                    found.append(f"{f.relative_to(src)}: {', '.join(names)}")
    assert found == []


def test_the_layer_check_names_the_climb():
    graph = {
        "arinsight.b": {"arinsight.a", "arinsight"},
        "arinsight.a": {"arinsight.b.x"},
        "arinsight.b.x": {"arinsight.b"},
        "arinsight.b.__main__": {"arinsight.b"},
    }
    assert upward_imports(graph, layers=(("a",), ("b",))) == [
        "arinsight.b -> arinsight.a",
        "arinsight.b.x -> arinsight.b",
    ]
    assert upward_imports(graph, layers=(("b",), ("a",))) == [
        "arinsight.a -> arinsight.b.x",
        "arinsight.b.x -> arinsight.b",
    ]


def _imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules of ours an absolute import statement names (``from a.b import c``: a.b; a
    private ``c`` is found by its name)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("arinsight")]
    if node.level or not (node.module or "").startswith("arinsight"):
        return []
    return [node.module]


def _private_module_owner(name: str) -> str | None:
    """``arinsight.plots._style`` -> ``arinsight.plots``: the package a private module (or
    package) belongs to; None when no part of ``name`` is private."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def private_imports(src: Path, scanned: Path | None = None) -> list[str]:
    """``module: from other import _name`` for every private name (one underscore) a module of
    ours imports from another module of ours, and ``module: alias._name`` for every private name
    it reads from a module of ours it imported (``from arinsight.x import y`` then ``y._f``), and
    ``module: imports arinsight.x._m`` for a private module (``_m``) imported from outside the
    package that holds it (``arinsight.x``), and ``module: Name._attr`` for a private attribute
    of a class it imported from a module of ours (``from arinsight.x import Run`` then
    ``Run._entry``). ``scanned``: the folder whose files are checked (default ``src``: the
    package itself; ``tests/``: the tests, which are outside every package of ours)."""
    found = []
    root = scanned or src
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root).with_suffix("").parts)
        if scanned is not None:
            parts = [root.name, *parts]
        mod = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(f.read_text(encoding="utf-8"))
        modules: set[str] = set()  # names bound to a module of ours
        classes: set[str] = set()  # names bound to a class of ours
        for node in _imports(tree):
            for name in _imported_modules(node):
                owner = _private_module_owner(name)
                if owner and not mod.startswith(owner + "."):
                    found.append(f"{mod}: imports {name}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("arinsight"):
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        found.append(f"{mod}: from {node.module} import {a.name}")
                    if (src / node.module.replace(".", "/") / f"{a.name}.py").exists() or (
                        src / node.module.replace(".", "/") / a.name / "__init__.py"
                    ).exists():
                        modules.add(a.asname or a.name)
                    elif a.name[:1].isupper() and not a.name.isupper():
                        classes.add(a.asname or a.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("arinsight") and a.asname:
                        modules.add(a.asname)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules | classes
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{mod}: {node.value.id}.{node.attr}")
    return sorted(set(found))


def test_no_module_uses_another_modules_private_names():
    """A name one module shares with another is public (no underscore): what a module keeps
    private can change without looking elsewhere."""
    assert private_imports(Path(arinsight.__file__).parent.parent) == []


def test_no_test_uses_a_private_name_of_the_package():
    """The tests go through the public names too: a unit worth testing on its own has a public
    name (and a docstring), so a private helper can change without touching a test."""
    tests = Path(__file__).parent
    found = private_imports(Path(arinsight.__file__).parent.parent, tests)
    assert found == []


def test_private_imports_are_found(tmp_path):
    pkg = tmp_path / "arinsight"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def _f(): pass\n")
    (pkg / "b.py").write_text("from arinsight.a import _f\nfrom arinsight import a\na._f()\n")
    (pkg / "p").mkdir()
    (pkg / "p" / "__init__.py").write_text("")
    (pkg / "p" / "_m.py").write_text("X = 1\n")
    (pkg / "p" / "c.py").write_text("from arinsight.p._m import X\n")  # inside p: fine
    (pkg / "d.py").write_text("from arinsight.p._m import X\nimport arinsight.p._m\n")
    (pkg / "e.py").write_text("class Run:\n    def _entry(self): pass\n")
    (pkg / "f.py").write_text("from arinsight.e import Run\nRun._entry(None)\n")
    assert private_imports(tmp_path) == [
        "arinsight.b: a._f",
        "arinsight.b: from arinsight.a import _f",
        "arinsight.d: imports arinsight.p._m",
        "arinsight.f: Run._entry",
    ]
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_x.py").write_text(
        "from arinsight.p._m import X\nfrom arinsight import a\nfrom arinsight.e import Run\n"
        "a._f()\nRun._entry(None)\na.f()\n"
    )
    assert private_imports(tmp_path, tests) == [
        "tests.test_x: Run._entry",
        "tests.test_x: a._f",
        "tests.test_x: imports arinsight.p._m",
    ]


def test_the_cycle_finder_names_the_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# ----------------------------------------------------------------------------------------------
# tracked placeholders survive runs and clean-ups
# ----------------------------------------------------------------------------------------------


def test_reports_gitkeep_is_tracked_not_ignored():
    """reports/ exists in a fresh clone: its .gitkeep is in the source tree and .gitignore lets
    git track it."""
    root = Path(arinsight.__file__).resolve().parents[2]
    assert (root / "reports" / ".gitkeep").is_file()
    if shutil.which("git") and (root / ".git").exists():
        ignored = subprocess.run(
            ["git", "-C", str(root), "check-ignore", "-q", "reports/.gitkeep"], check=False
        )
        assert ignored.returncode == 1, "reports/.gitkeep is ignored by .gitignore"


def test_clean_ups_leave_placeholders_alone(tmp_path):
    """What removes stale folders (runs.clean_stale) and moves a dataset's reports away
    (datasets.switch_to) never touches .gitkeep, even next to stale and moved entries."""
    from arinsight import datasets, runs

    reports, processed = tmp_path / "reports", tmp_path / "data" / "processed"
    for folder in (reports, processed):
        folder.mkdir(parents=True)
        (folder / ".gitkeep").touch()
    (reports / ".staging-2026-10-0123abcd").mkdir()
    (tmp_path / "data" / ".processed.trash-2026-10-0123abcd").mkdir()
    (reports / "2026-10").mkdir()
    removed = runs.clean_stale(reports, [processed])
    assert sorted(removed) == [".processed.trash-2026-10-0123abcd", ".staging-2026-10-0123abcd"]
    datasets.switch_to({"id": "other-1234abcd", "name": "other", "sources": ""}, reports)
    assert (reports / ".gitkeep").is_file() and (processed / ".gitkeep").is_file()
    assert not (reports / "2026-10").exists()  # archived, the placeholder stays
