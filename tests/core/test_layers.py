"""Imports run downward only: app.py → app_pages/ → components/ → reformkpi/, and inside the core
from each layer of the table below to the layers under it. A module imports its own layer freely
(auth, sessions, integrity and objectstore call each other, some from inside a function). A new
core module must be given a layer here, which is where a newcomer reads what stands on what."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# The core's layers, lowest first: a module (or a package, for every module in it that is not
# named on its own) and what it is.
CORE_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("values", ("reformkpi.periods", "reformkpi.kept")),
    ("text", ("reformkpi.formatting", "reformkpi.i18n")),
    ("settings, accounts, the store's files", ("reformkpi.config", "reformkpi.auth", "reformkpi.sessions",
                                               "reformkpi.integrity", "reformkpi.objectstore",
                                               "reformkpi.visibility")),
    ("catalog and its rules", ("reformkpi.catalog", "reformkpi.coverage", "reformkpi.demo")),
    ("store", ("reformkpi.store", "reformkpi.notes", "reformkpi.snapshots")),
    ("metrics", ("reformkpi.metrics",)),
    ("figures in context", ("reformkpi.context", "reformkpi.focus")),
    ("exhibits and subscriptions", ("reformkpi.exhibits", "reformkpi.subscriptions")),
    ("export files", ("reformkpi.exports",)),
    ("uploads", ("reformkpi.ingest",)),
    ("audit, versions, dossier records", ("reformkpi.audit", "reformkpi.versions", "reformkpi.records")),
    ("notifier", ("reformkpi.notify",)),
    ("command line", ("reformkpi.cli", "reformkpi.cli_users", "reformkpi.ingest.cli", "reformkpi.records.cli",
                      "reformkpi.__main__")),
)
APP_LAYERS = ("reformkpi", "components", "app_pages", "app")  # lowest first


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, known: set[str]) -> set[str]:
    """The modules of this checkout that a file imports, anywhere in it (a function's own imports
    too), each resolved to the module it names (`from reformkpi.ingest import parse` names
    reformkpi.ingest.parse, `from reformkpi.ingest import commit` reformkpi.ingest)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def core_layer(module: str) -> int:
    """The layer of a core module: the one that names it, else the one that names its nearest package."""
    named = {m: i for i, (_, modules) in enumerate(CORE_LAYERS) for m in modules}
    name = module
    while name not in named:
        if "." not in name:
            raise KeyError(f"{module} has no layer in CORE_LAYERS: give it one")
        name = name.rpartition(".")[0]
    return named[name]


def upward(graph: dict[str, set[str]], layer) -> list[str]:
    """Every import from a module to one of a higher layer, as 'a (layer) -> b (layer)'."""
    return sorted(f"{a} ({layer(a)}) -> {b} ({layer(b)})" for a, targets in graph.items() for b in targets
                  if layer(b) > layer(a))


def graph_of(files: list[Path]) -> dict[str, set[str]]:
    known = {module_name(p) for p in files} | {m for p in files for m in (module_name(p).split(".")[0],)}
    return {module_name(p): imports(p, known) - {module_name(p)} for p in files}


def test_every_core_module_has_a_layer_and_imports_only_its_own_or_lower_ones():
    files = sorted((ROOT / "reformkpi").rglob("*.py"))
    graph = {m: targets - {"reformkpi"} for m, targets in graph_of(files).items()
             if m != "reformkpi"}  # the package's face: its docstring, no imports
    for module in graph:
        core_layer(module)  # a module with no layer fails here, by name
    assert upward(graph, core_layer) == []


def test_the_app_layers_import_downward_and_the_core_never_imports_streamlit():
    files = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py")), *sorted((ROOT / "components").glob("*.py")),
             *sorted((ROOT / "reformkpi").rglob("*.py"))]
    graph = graph_of(files)
    app_layer = lambda m: APP_LAYERS.index(m.split(".")[0])
    assert upward(graph, app_layer) == []
    for path in (ROOT / "reformkpi").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names} | \
                {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "streamlit" not in named, path


def test_an_import_up_a_layer_is_found(tmp_path):
    """The check itself: a store that read a constant from the figures' context would be refused."""
    (tmp_path / "reformkpi").mkdir()
    low = tmp_path / "reformkpi" / "store.py"
    low.write_text("def f():\n    from reformkpi.context import SOURCE_PREFIX\n", encoding="utf-8")
    (tmp_path / "reformkpi" / "context.py").write_text("from reformkpi import store\n", encoding="utf-8")
    known = {"reformkpi", "reformkpi.store", "reformkpi.context"}
    graph = {"reformkpi.store": imports(low, known),
             "reformkpi.context": imports(tmp_path / "reformkpi" / "context.py", known)}
    assert graph == {"reformkpi.store": {"reformkpi.context"}, "reformkpi.context": {"reformkpi.store"}}
    assert upward(graph, core_layer) == ["reformkpi.store (4) -> reformkpi.context (6)"]


# Libraries a page view never uses, imported where a file is written (exports) or checked (uploads):
# loaded with every page, they held some 43 MiB of each server's memory.
WRITERS = ("fpdf", "pptx", "kaleido", "pandera")


def test_the_app_modules_leave_the_file_writers_unimported():
    code = ("import importlib, pathlib, sys\n"
            "for p in sorted(pathlib.Path('components').glob('*.py')):\n"
            "    importlib.import_module('components.' + p.stem)\n"
            f"print(' '.join(m for m in {WRITERS!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
