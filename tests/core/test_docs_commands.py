"""Every command the documentation shows works as printed: each ```sh block of README.md and
docs/*.md runs in a fresh working folder beside a copy of the demo store, with the stores and the
state folder pointed at temporary folders (nothing is written into the checkout or the home folder).

An HTML comment right before a block may say `not-run: why` (a server, a prompt, the whole suite),
`slow: why` (the test is marked slow) or `placeholder: … is the id of a snapshot saved on the demo
store` (the test saves one and puts its id for `…`); docs/development.md describes the convention."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from reformkpi import auth, snapshots
from reformkpi.store import Store

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>\S*)\s*$")
COMMENT = re.compile(r"^\s*<!--\s*(?P<kind>[a-z-]+):\s*(?P<why>.*?)\s*-->\s*$")
KINDS = {"not-run", "slow", "placeholder"}
SNAPSHOT_PLACEHOLDER = "… is the id of a snapshot saved on the demo store"
# The checkout's entries a command may use from its working folder (.venv, Makefile, the code).
LOCKS = {"requirements.lock", "requirements-test.lock"}
LEFT_OUT = {".git", "data", "site", "test-output", "bench-output", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, from 1
    text: str
    kind: str | None  # of the comment right before it
    why: str

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The ```sh blocks of a Markdown page (indented ones in lists too), each with the comment
    right before it (blank lines between allowed)."""
    lines = page.read_text(encoding="utf-8").split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m["lang"]:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        if m["lang"] == "sh":
            before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            c = COMMENT.match(before)
            body = "\n".join(line[len(m["indent"]):] for line in lines[i + 1:end])
            out.append(Block(page, i + 1, body, c["kind"] if c else None, c["why"] if c else ""))
        i = end + 1
    return out


ALL = [b for page in PAGES for b in blocks(page)]


def test_the_documentation_shows_commands_and_says_why_any_is_not_run():
    assert len(ALL) >= 8, [b.name for b in ALL]
    assert any(b.page.name == "README.md" and b.kind is None for b in ALL), "README's commands must run"
    for b in ALL:
        assert b.kind in KINDS | {None}, f"{b.name}: unknown comment {b.kind!r}"
        assert b.kind is None or len(b.why) >= 10, f"{b.name}: say why ({b.kind}: …)"
        if b.kind == "placeholder":
            assert b.why == SNAPSHOT_PLACEHOLDER and "…" in b.text, b.name
        else:
            assert "…" not in b.text or b.kind == "not-run", f"{b.name}: a placeholder needs its comment"


def test_the_block_reader_finds_fences_comments_and_indented_blocks(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("text\n<!-- not-run: starts a server -->\n\n```sh\nmake run\n```\n\n- item\n\n  ```sh\n"
                    "  echo indented\n  ```\n\n```python\nprint(1)\n```\n", encoding="utf-8")
    found = blocks(page)
    assert [(b.line, b.text, b.kind, b.why) for b in found] == [
        (4, "make run", "not-run", "starts a server"), (10, "echo indented", None, "")]


@pytest.fixture(scope="module")
def papi_store(tmp_path_factory) -> Path:
    """The PAPI store `make demo` would build, built once (each block gets a copy)."""
    path = tmp_path_factory.mktemp("papi") / "papi-store"
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "reformkpi", "--papi-store", str(path), "papi"],
                   cwd=ROOT, check=True, capture_output=True, env={**clean_env(), "PYTHONPATH": str(ROOT)})
    return path


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("REFORMKPI_")}


def runnable(b: Block):
    marks = [pytest.mark.slow] if b.kind in ("slow", "placeholder") else []
    return pytest.param(b, id=b.name, marks=marks)


@pytest.mark.parametrize("block", [runnable(b) for b in ALL if b.kind != "not-run"])
def test_each_command_shown_works_as_printed(block: Block, tmp_path, demo_store, papi_store):
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir(), home.mkdir()
    for entry in ROOT.iterdir():
        if entry.name in LOCKS:
            # The install's stamp is named by the locks' contents (Makefile): copies dated before it
            # keep make from reinstalling what `make test` installed.
            os.utime(shutil.copy(entry, work / entry.name), (0, 0))
        elif entry.name not in LEFT_OUT:
            (work / entry.name).symlink_to(entry)
    store = tmp_path / "store"
    shutil.copytree(demo_store.uri, store)
    shutil.copytree(papi_store, tmp_path / "papi-store")
    text = block.text
    if block.kind == "placeholder":
        s = Store(store)
        snap = snapshots.create(s, auth.operator("docs"), "Giao ban", "tong-quan",
                                {"year": "2019", "ind": "sipas.overall", "level": "department"},
                                s.version(), s.catalog_versions())
        text = text.replace("…", snap.snapshot_id)
    env = {**clean_env(), "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_STATE_HOME": str(home / "state"), "XDG_CONFIG_HOME": str(home / "config"),
           "REFORMKPI_STORE": str(store), "REFORMKPI_PAPI_STORE": str(tmp_path / "papi-store"),
           "REFORMKPI_STATE": str(tmp_path / "state"), "REFORMKPI_TMP": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{block.name}:\n{text}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    assert not list(home.rglob("reformkpi")), "a command wrote into the home folder"
    if block.kind == "placeholder":
        assert sorted(p.suffix for p in work.glob("CCHC-*")) == [".pdf", ".pptx"], sorted(os.listdir(work))
