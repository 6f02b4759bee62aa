"""Runtime and test dependencies are locked apart: production installs no test tool."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import ROOT

TEST_ONLY = {"pytest", "pytest-timeout", "hypothesis", "playwright", "pypdf", "ruff", "mypy"}


def pins(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return dict(re.match(r"([A-Za-z0-9_.-]+)==(\S+)$", line).groups() for line in lines
                if line and not line.startswith(("#", "-r")))


def test_the_runtime_lock_holds_no_test_tool_and_the_test_lock_builds_on_it():
    runtime, test = pins("requirements.lock"), pins("requirements-test.lock")
    assert not {n.lower() for n in runtime} & TEST_ONLY
    assert TEST_ONLY <= {n.lower() for n in test}
    assert not set(runtime) & set(test)  # each package pinned once
    assert "-r requirements.lock" in (ROOT / "requirements-test.lock").read_text(encoding="utf-8").splitlines()


def test_make_run_installs_the_runtime_lock_and_make_test_both():
    def installs(target: str) -> list[str]:
        out = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return re.findall(r"pip install --quiet -r (\S+)", out)

    assert installs("run") == ["requirements.lock"]
    assert installs("test") == ["requirements.lock", "requirements-test.lock"]
