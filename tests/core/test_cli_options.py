"""Every subcommand honours the global options: run with --store / --papi-store (and --settings for
the state and temporary folders) pointed at temporary folders, and HOME and the XDG folders pointed
at an empty one, nothing is written anywhere but where the options say; with --json each prints
JSON on standard output."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from reformkpi import cli
from reformkpi.store import Store
from tests.core.ingest.test_ingest import csv_bytes

LAST_QUARTER = "2025-Q2"


def files_under(folder: Path) -> list[str]:
    return sorted(str(Path(d, f).relative_to(folder)) for d, _, fs in os.walk(folder) for f in fs)


def subcommands() -> set[str]:
    """Every subcommand the parser offers (and the actions of `user`)."""
    sub = next(a for a in cli.parser()._actions if a.dest == "command")
    return set(sub.choices)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """HOME and the XDG folders in an empty folder, the working folder in another, no REFORMKPI_
    variable: the defaults would land in them."""
    home, work, allowed = tmp_path / "home", tmp_path / "work", tmp_path / "allowed"
    for d in (home, work, allowed):
        d.mkdir()
    for name in list(os.environ):
        if name.startswith("REFORMKPI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state"),
                     ("XDG_CACHE_HOME", ".cache"), ("XDG_CONFIG_HOME", ".config")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.chdir(work)
    settings = allowed / "settings.toml"
    settings.write_text(f'state = "{allowed / "state"}"\ntmp = "{allowed / "tmp"}"\n', encoding="utf-8")
    (allowed / "tmp").mkdir()
    return home, work, allowed, settings


@pytest.mark.slow
def test_every_subcommand_writes_only_where_the_options_say(places, monkeypatch, capsys):
    home, work, allowed, settings = places
    store, papi_store, other = allowed / "store", allowed / "papi-store", allowed / "other-papi"
    glob = ["--settings", str(settings), "--store", str(store), "--papi-store", str(papi_store), "--user", "lan",
            "--json"]
    report = allowed / "bao-cao.csv"
    report.write_bytes(csv_bytes([["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"], ["Sở Nội vụ", "sipas.overall", "2019", "81,5"]], delimiter=";"))
    records = allowed / "ho-so.parquet"
    exits: dict[str, int] = {}
    said: list[str] = []  # standard error of each run

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = cli.main([*glob, *argv])
        exits[" ".join(argv[:2])] = code
        out = capsys.readouterr()
        if code == 0:
            json.loads(out.out)  # machine-readable, whatever the subcommand
        said.append(out.err)
        return code

    assert run("demo", "--last-quarter", LAST_QUARTER) == 0
    assert run("history") == 0
    assert run("demo") == 2  # the store exists: not overwritten
    assert run("check") in (0, 1)
    assert run("records-demo", str(records), "--records", "3000", "--first-quarter", "2025-Q1",
               "--last-quarter", LAST_QUARTER) == 0
    assert run("records-ingest", str(records), "--sync", "--quiet") == 0
    assert run("records-sync") == 0  # nothing new to sync: writes nothing
    assert run("records-compact") == 0
    assert run("ingest", str(report), "--replace-synced") == 0
    assert run("rollback", "1", "--reason", "thử") == 0
    assert run("repair", "observations") == 2 and "no damaged" in said[-1]  # a sound table: nothing to set aside
    assert run("catalog") == 0
    assert run("export", "--snapshot", "x") == 2  # moved to app_export: says so, writes nothing
    assert run("notify") == 0  # nobody subscribed: nothing sent, the version marked handled
    assert run("papi") == 0
    assert run("papi") == 2 and "không ghi đè" in said[-1]
    for action in (["add", "lan", "--role", "analyst", "--password-stdin"], ["list"],
                   ["set-role", "lan", "--role", "admin"], ["password", "lan", "--password-stdin"],
                   ["set-units", "lan", "--units", "so-y-te"], ["unlock", "lan"], ["remove", "lan"]):
        assert run("user", *action, stdin="mat-khau-du-dai-1\n") == 0
    # The case: a global --store given to `papi` (no --papi-store) is the store it builds.
    assert cli.main(["--settings", str(settings), "--store", str(other), "papi"]) == 0
    capsys.readouterr()

    assert {k.split()[0] for k in exits} == subcommands(), "a subcommand this test does not run"
    assert files_under(home) == [] and files_under(work) == []
    assert Store(store).version() >= 4 and Store(papi_store).exists() and Store(other).exists()
    assert "papi.total" in set(Store(other).read("indicators").column("indicator_id").to_pylist())
    assert (allowed / "state" / "accounts.json").exists()
    assert files_under(allowed / "tmp") == []  # the records' staging files, removed
    assert not Path(allowed, "store", "papi").exists()
