"""The core installs as a package: `pip install .` into a fresh virtualenv, then `reformkpi --help`
and `reformkpi demo` work in a folder outside the checkout, with the packaged catalog."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow  # a fresh virtualenv and a pip install: about 90 s
def test_pip_install_gives_a_reformkpi_command_that_builds_the_demo_outside_the_checkout(tmp_path):
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "reformkpi", source / "reformkpi", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    packages = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip())
    # The dependencies come from this test's environment (fast, no download); the core from the copy,
    # built with setuptools from the configured package index.
    (packages / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    subprocess.run([py, "-m", "pip", "install", "--quiet", "--no-deps", str(source)],
                   check=True, timeout=300, capture_output=True)
    shutil.rmtree(source)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFORMKPI_", "PYTHON", "XDG_"))}
    env["HOME"] = str(tmp_path / "home")
    where = subprocess.run([py, "-c", "import reformkpi; print(reformkpi.__file__)"], cwd=outside, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(packages))
    command = venv / "bin" / "reformkpi"
    helped = subprocess.run([command, "--help"], cwd=outside, env=env, capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "demo" in helped.stdout, helped.stderr
    built = subprocess.run([command, "demo", "--last-quarter", "2026-Q3"], cwd=outside, env=env,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    store = tmp_path / "home" / ".local" / "share" / "reformkpi" / "store"
    assert (store / "observations" / "_delta_log").is_dir() and str(store) in built.stdout
    history = subprocess.run([command, "--json", "history"], cwd=outside, env=env, capture_output=True, text=True,
                             timeout=120)
    assert history.returncode == 0 and '"operation":"demo"' in history.stdout
