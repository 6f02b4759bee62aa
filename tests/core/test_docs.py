"""The documentation: the site builds with --strict (no broken link or anchor), the README stays
short, dated figures live in benchmarks/RESULTS.md only, and every file and name that
docs/where-rules-live.md points at exists."""

from __future__ import annotations

import ast
import csv
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RULE_MAP = DOCS / "where-rules-live.md"
REFERENCE = re.compile(r"`([\w./-]+\.\w+)::([\w.]+)`")
DATE = re.compile(r"\b20\d\d-[01]\d-[0-3]\d\b")


def test_the_site_builds_strictly(tmp_path):
    """A missing page, a broken link or anchor, a file outside the navigation: a warning, and
    --strict fails on it (mkdocs.yml's validation)."""
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-4000:]
    assert "2026-12-05" in (tmp_path / "benchmarks" / "index.html").read_text(encoding="utf-8")  # RESULTS.md included


def test_the_readme_is_short_and_points_into_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for needed in ("make run", "make test", "reformkpi user add", "docs/rules.md", "docs/where-rules-live.md",
                   "benchmarks/RESULTS.md"):
        assert needed in readme, needed
    for target in re.findall(r"\]\(((?:docs|benchmarks)/[^)#]+)", readme):
        assert (ROOT / target).is_file(), target


def test_dated_figures_live_only_in_the_benchmark_results():
    pages = [ROOT / "README.md", *DOCS.rglob("*.md")]
    dated = {p.name: DATE.findall(p.read_text(encoding="utf-8")) for p in pages}
    assert not {k: v for k, v in dated.items() if v}
    assert DATE.search((ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8"))


def defined(tree: ast.Module, dotted: str) -> bool:
    """Whether a module defines `dotted`: a function, class or assigned name, or a member of a class."""
    body: list[ast.stmt] = tree.body
    for part in dotted.split("."):
        found = None
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == part:
                found = node
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == part for t in node.targets):
                found = node
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == part:
                found = node
            elif (isinstance(node, ast.Assign) and any(isinstance(t, ast.Tuple) and part in
                                                       [e.id for e in t.elts if isinstance(e, ast.Name)]
                                                       for t in node.targets)):
                found = node
        if found is None:
            return False
        body = found.body if isinstance(found, ast.ClassDef) else []
    return True


def holds(path: Path, name: str) -> bool:
    if path.suffix == ".py":
        return defined(ast.parse(path.read_text(encoding="utf-8")), name)
    if path.suffix == ".csv":
        with path.open(encoding="utf-8") as f:
            return name in next(csv.reader(f))
    return name in path.read_text(encoding="utf-8")


REFERENCES = REFERENCE.findall(RULE_MAP.read_text(encoding="utf-8"))


def test_the_rule_map_names_at_least_twenty_rules_and_the_five_asked_for():
    text = RULE_MAP.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "::" in line]
    assert len(rows) >= 20
    for rule in ("late rate", "rollback permission", "upload cap", "coverage rule", "phone font size"):
        assert any(rule in row for row in rows), rule


@pytest.mark.parametrize("path,name", REFERENCES, ids=[f"{p}::{n}" for p, n in REFERENCES])
def test_each_rule_lives_where_the_map_says(path, name):
    assert (ROOT / path).is_file(), path
    assert holds(ROOT / path, name), f"{path} holds no {name}: update docs/where-rules-live.md"


def test_the_reference_checker_can_fail(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("X = 1\nA, B = 2, 3\nclass C:\n    y: int = 0\n    def f(self): ...\ndef g(): ...\n")
    assert all(holds(module, n) for n in ("X", "B", "C", "C.y", "C.f", "g"))
    assert not any(holds(module, n) for n in ("Y", "C.g", "g.x", "f"))
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n")
    assert holds(table, "b") and not holds(table, "1")
