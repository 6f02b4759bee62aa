"""The store checks itself (reformkpi/integrity.py): each fault class of its log and files is found,
said in words (which version, what is wrong, what to do) by `verify`, `check` and every write, and
a write refused on top of it changes nothing; a full or read-only disk is told apart."""

from __future__ import annotations

import errno
import glob
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from reformkpi import cli, config, integrity, notes
from reformkpi import versions
from reformkpi.auth import Actor, operator
from reformkpi.catalog import load_dir
from reformkpi.i18n import t
from reformkpi.integrity import StoreFault, StoreUnwritable
from reformkpi.store import CommitInfo, Store
from tests.conftest import obs
from tests.core.ingest.test_ingest import LONG_HEAD, csv_bytes

ANALYST = Actor("lan.pham", "analyst")
ADMIN = operator("quan.tri")
LOG_DAMAGE = ("truncate", "garbage", "empty", "drop")


def build(uri) -> Store:
    """A store at version 2 of its observations: version 1 one row, version 2 two more (by eve, q3.xlsx)."""
    store = Store(uri)
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 85.5)]), CommitInfo(user="lan"))
    store.commit_observations(obs([("so-y-te", "sipas.overall", "2020", 86.0), ("so-tu-phap", "sipas.overall", "2020", 80.0)]),
                              CommitInfo(user="eve", file_name="q3.xlsx"))
    return store


@pytest.fixture
def store(tmp_path) -> Store:
    return build(tmp_path / "store")


def last_commit(store: Store, table: str = "observations") -> Path:
    return Path(sorted(glob.glob(f"{store.uri}/{table}/_delta_log/*.json"))[-1])


def damage(store: Store, how: str, table: str = "observations") -> None:
    last = last_commit(store, table)
    if how == "truncate":
        data = last.read_bytes()
        last.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        last.write_bytes(bytes(range(256)) * 2)
    elif how == "empty":
        last.write_bytes(b"")
    elif how == "drop":
        last.unlink()
    elif how == "lose_file":
        adds = [json.loads(line)["add"]["path"] for line in last.read_text().splitlines() if '"add"' in line]
        (Path(store.uri) / table / adds[0]).unlink()


def log_files(store: Store) -> list[tuple[str, int]]:
    return sorted((p.name, p.stat().st_size) for p in Path(store.uri, "observations", "_delta_log").iterdir())


def test_every_commit_is_recorded_with_the_sha256_of_its_file(store):
    for table in ("observations", "units", "indicators", "targets", "grade_bands"):
        recorded = integrity.recorded(Path(store.uri, table))
        files = sorted(Path(store.uri, table, "_delta_log").glob("*.json"))
        assert sorted(recorded) == list(range(len(files)))
        for v, f in enumerate(files):
            assert recorded[v]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    last = integrity.recorded(Path(store.uri, "observations"))[2]
    assert (last["operation"], last["user"], last["file_name"], last["rows"]) == ("upload", "eve", "q3.xlsx", 2)
    assert integrity.verify(store.uri) == []


def test_a_note_and_a_rollback_are_recorded_too(store):
    notes.add(store, ANALYST, pd.DataFrame({"unit_id": ["so-y-te"], "indicator_id": ["sipas.overall"],
                                            "period": ["2019"], "note": ["hệ thống lỗi"]}), 2)
    versions.rollback(store, 1, ADMIN, "nhập nhầm")
    assert sorted(integrity.recorded(Path(store.uri, "notes"))) == [0]
    assert sorted(integrity.recorded(Path(store.uri, "observations"))) == [0, 1, 2, 3]
    assert integrity.verify(store.uri) == []


@pytest.mark.parametrize("how, kind", [("truncate", "damaged"), ("garbage", "damaged"), ("empty", "empty"),
                                       ("drop", "missing_commit")])
def test_a_damaged_last_commit_is_found_and_said_in_words(store, how, kind):
    damage(store, how)
    [fault] = integrity.verify(store.uri)
    assert (fault.kind, fault.table, fault.version, fault.good) == (kind, "observations", 2, 1)
    assert fault.file == "observations/_delta_log/00000000000000000002.json"
    assert fault.recorded["rows"] == 2 and fault.recorded["user"] == "eve"
    words = " ".join(fault.lines("en"))
    assert "Version 2" in words or "version 2" in words
    assert "restore observations/_delta_log/00000000000000000002.json from the store's backup" in words
    assert "python -m reformkpi repair observations" in words and "back to version 1" in words
    assert "eve" in words and "2 rows" in words and "q3.xlsx" in words
    assert "phiên bản 2" in " ".join(fault.lines("vi"))


def test_an_emptied_commit_no_longer_vanishes_silently(store):
    """delta-rs reads an empty commit file as a commit of nothing: without the record the two rows
    it wrote would be gone and the next write would commit on top."""
    damage(store, "empty")
    assert Store(store.uri).read().num_rows == 1  # what delta-rs alone makes of it
    with pytest.raises(StoreFault) as e:
        store.commit_observations(obs([("so-y-te", "sipas.overall", "2021", 87.0)]), CommitInfo(user="lan"))
    assert e.value.faults[0].kind == "empty"
    assert len(log_files(store)) == 3


def test_a_shorter_history_than_recorded_is_found(store):
    """The last commit file dropped: delta-rs reads version 1 as the latest; the record says 2."""
    damage(store, "drop")
    assert Store(store.uri).version() == 1
    [fault] = integrity.verify(store.uri)
    assert fault.kind == "missing_commit"
    assert "shorter than the store's record" in " ".join(fault.lines("en"))


def test_a_commit_changed_after_it_was_written_is_found(store):
    last = last_commit(store)
    lines = last.read_text().splitlines()
    last.write_text("\n".join(lines[:1]) + "\n")  # whole lines dropped: still JSON, but not what was written
    [fault] = integrity.verify(store.uri)
    assert (fault.kind, fault.version) == ("changed", 2)


def test_a_gap_in_the_middle_of_the_log_is_found(store):
    Path(store.uri, "observations", "_delta_log", f"{1:020d}.json").unlink()
    assert [(f.kind, f.version, f.good) for f in integrity.verify(store.uri)] == [("missing_commit", 1, 0)]


@pytest.mark.parametrize("how", LOG_DAMAGE)
def test_every_write_refuses_to_commit_on_a_damaged_log(store, how, tmp_path):
    damage(store, how)
    before = log_files(store)
    with pytest.raises(StoreFault):
        store.commit_observations(obs([("so-y-te", "sipas.overall", "2021", 87.0)]), CommitInfo(user="lan"))
    with pytest.raises(StoreFault):
        versions.rollback(store, 1, ADMIN, "thử")
    with pytest.raises(StoreFault):
        notes.add(store, ANALYST, pd.DataFrame({"unit_id": ["so-y-te"], "indicator_id": ["sipas.overall"],
                                                "period": ["2019"], "note": ["x"]}), 1)
    assert log_files(store) == before
    assert not Path(store.uri, "notes").exists()


def test_a_damaged_catalog_table_refuses_an_upload_too(store):
    damage(store, "truncate", "targets")
    with pytest.raises(StoreFault) as e:
        store.commit_observations(obs([("so-y-te", "sipas.overall", "2021", 87.0)]), CommitInfo(user="lan"))
    assert [(f.table, f.kind) for f in e.value.faults] == [("targets", "damaged")]


def test_reading_a_damaged_store_says_what_is_wrong(store):
    damage(store, "truncate")
    with pytest.raises(StoreFault) as e:
        store.read()
    assert e.value.faults[0].kind == "damaged"
    damage(store, "drop")  # the damaged file gone, the history is short of the record
    with pytest.raises(StoreFault):
        store.commit_observations(obs([("so-y-te", "sipas.overall", "2021", 87.0)]), CommitInfo(user="lan"))


def test_a_missing_data_file_is_said_in_words_and_rolled_back(store):
    damage(store, "lose_file")
    [fault] = integrity.verify(store.uri)
    assert (fault.kind, fault.version, fault.good, fault.detail) == ("missing_file", 2, 1, "1")
    assert "roll back to version 1" in " ".join(fault.lines("en"))
    with pytest.raises(StoreFault):  # not FileNotFoundError
        store.read()
    with pytest.raises(StoreFault):  # nothing is written on top of it but the rollback that cures it
        store.commit_observations(obs([("so-y-te", "sipas.overall", "2021", 87.0)]), CommitInfo(user="lan"))
    assert versions.rollback(store, 1, ADMIN, "tệp bị xóa") == 3
    assert integrity.verify(store.uri) == []
    assert store.read().num_rows == 1
    # History still reads: the rollback's counts are unknown (the version it left cannot be read).
    h = store.history()
    assert h.loc[h["version"] == 3, "operation"].item() == "rollback" and h.loc[h["version"] == 3, "rows_new"].isna().all()


def test_repair_sets_the_damaged_commit_aside_and_the_store_goes_on(store):
    damage(store, "truncate")
    damaged = last_commit(store).read_bytes()
    with pytest.raises(PermissionError):
        integrity.repair(store.uri, "observations", ANALYST)
    assert integrity.repair(store.uri, "observations", ADMIN) == 1
    [kept] = Path(store.uri, "observations", "_set_aside").glob("*/00000000000000000002.json")
    assert kept.read_bytes() == damaged  # kept as it was, never deleted
    assert integrity.verify(store.uri) == [] and store.version() == 1
    r = store.commit_observations(obs([("so-y-te", "sipas.overall", "2020", 86.0)]), CommitInfo(user="lan"))
    assert r.version == 2 and integrity.verify(store.uri) == []  # the new version 2 is recorded anew
    with pytest.raises(integrity.StoreError, match="no damaged"):
        integrity.repair(store.uri, "observations", ADMIN)


def test_a_damaged_first_commit_can_only_be_restored_from_a_backup(store):
    Path(store.uri, "units", "_delta_log", f"{0:020d}.json").write_bytes(b"{")
    [fault] = integrity.verify(store.uri)
    assert fault.good is None and "restore the table “units”" in " ".join(fault.lines("en"))
    with pytest.raises(integrity.StoreError, match="backup"):
        integrity.repair(store.uri, "units", ADMIN)


# --- the command line ---

@pytest.mark.parametrize("how", [*LOG_DAMAGE, "lose_file"])
def test_check_lists_the_fault_and_exits_1(store, how, capsys):
    damage(store, how)
    assert cli.main(["--store", store.uri, "check", "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert t("store.fault.heading", "en", store=store.uri) in out and "observations" in out
    assert "Traceback" not in out
    assert cli.main(["--store", store.uri, "--json", "check"]) == 1
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["version"] == 2 and listed["table"] == "observations" and "phiên bản 2" in listed["message"]


def test_ingest_blames_the_store_not_the_file(store, tmp_path, capsys):
    good = tmp_path / "q.csv"
    good.write_bytes(csv_bytes([LONG_HEAD, ["STP", "sipas.overall", "2021", "80"]]))
    damage(store, "truncate")
    for dry in ([], ["--dry-run"]):
        assert cli.main(["ingest", str(good), "--store", store.uri, *dry]) == 1
        err = capsys.readouterr().err
        assert t("store.fault.heading", "vi", store=store.uri) in err
        assert "LỖI" not in err and t("ingest.problem.unreadable", "vi", value="").split("(")[0] not in err


def test_ingest_on_an_emptied_commit_is_refused_not_committed_on_top(store, tmp_path, capsys):
    good = tmp_path / "q.csv"
    good.write_bytes(csv_bytes([LONG_HEAD, ["STP", "sipas.overall", "2021", "80"]]))
    damage(store, "empty")
    assert cli.main(["ingest", str(good), "--store", store.uri]) == 1
    assert "phiên bản 2" in capsys.readouterr().err
    assert len(log_files(store)) == 3


def test_rollback_on_a_damaged_last_commit_says_what_to_do_then_works_after_repair(store, capsys):
    damage(store, "garbage")
    assert cli.main(["--store", store.uri, "--user", "quan.tri", "rollback", "1", "--reason", "hỏng"]) == 1
    err = capsys.readouterr().err
    assert "python -m reformkpi repair observations" in err and "Traceback" not in err
    assert cli.main(["--store", store.uri, "--user", "quan.tri", "repair", "observations"]) == 0
    assert cli.main(["--store", store.uri, "check"]) == 0
    capsys.readouterr()
    assert cli.main(["--store", store.uri, "--user", "quan.tri", "rollback", "0", "--reason", "làm lại"]) == 0
    assert store.version() == 2 and store.read().num_rows == 0
    assert cli.main(["--store", store.uri, "history"]) == 0


# --- the disk ---

@pytest.mark.parametrize("error, reason", [
    (OSError(errno.ENOSPC, "No space left on device"), "full"),
    (OSError("Generic LocalFileSystem error: Unable to copy data to file: No space left on device (os error 28)"), "full"),
    (RuntimeError("Already shut down"), "full"),
    (OSError(errno.EROFS, "Read-only file system"), "read_only"),
    (OSError(errno.EACCES, "Permission denied"), "read_only"),
    (OSError("Generic LocalFileSystem error: Permission denied (os error 13)"), "read_only"),
    (ValueError("a bug"), None),
])
def test_a_disks_refusal_is_told_apart(error, reason):
    assert integrity.disk_error(error) == reason


class PanicException(BaseException):
    """As pyo3 raises a panic of delta-rs' runtime: not an Exception."""


@pytest.mark.parametrize("error, reason", [(OSError(errno.ENOSPC, "No space left on device"), "full"),
                                           (PanicException("Already shut down"), "full"),
                                           (OSError(errno.EROFS, "Read-only file system"), "read_only")])
def test_a_write_the_disk_refuses_is_said_in_words_and_writes_nothing(store, monkeypatch, error, reason, capsys):
    def refuse(*args, **kwargs):
        raise error
    monkeypatch.setattr(notes, "write_deltalake", refuse)
    rows = pd.DataFrame({"unit_id": ["so-y-te"], "indicator_id": ["sipas.overall"], "period": ["2019"], "note": ["x"]})
    with pytest.raises(StoreUnwritable) as e:
        notes.add(store, ANALYST, rows, 2)
    assert e.value.reason == reason
    assert e.value.lines("en") == [t(f"store.{reason}", "en", store=store.uri)]
    assert not Path(store.uri, "notes").exists()


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system of its own (a tmpfs: needs root and the right to mount)."""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "4m"):
        pytest.skip("cannot mount a tmpfs here")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk: Path) -> None:
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    with open(disk / "filler", "ab", buffering=0) as f:  # the last bytes, a block at a time
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass


def test_a_full_disk_is_said_in_words_and_the_old_version_stays(small_disk, capsys, tmp_path):
    store = build(small_disk / "store")
    fill(small_disk)
    with pytest.raises(StoreUnwritable) as e:
        store.commit_observations(obs([("so-y-te", "sipas.overall", str(y), 80.0) for y in range(2016, 2026)]),
                                  CommitInfo(user="lan"))
    assert e.value.reason == "full"
    with pytest.raises(StoreUnwritable):
        versions.rollback(store, 1, ADMIN, "thử")
    assert store.version() == 2 and store.read().num_rows == 3 and integrity.verify(store.uri) == []
    good = tmp_path / "q.csv"
    good.write_bytes(csv_bytes([LONG_HEAD, ["STP", "sipas.overall", "2021", "80"]]))
    assert cli.main(["ingest", str(good), "--store", store.uri, "--lang", "en"]) == 1
    assert t("store.full", "en", store=store.uri) in capsys.readouterr().err
    os.remove(small_disk / "filler")
    assert store.commit_observations(obs([("so-y-te", "sipas.overall", "2021", 80.0)]), CommitInfo(user="lan")).version == 3


def test_a_read_only_store_is_said_in_words(small_disk, capsys):
    store = build(small_disk / "store")
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode == 0
    try:
        with pytest.raises(StoreUnwritable) as e:
            store.commit_observations(obs([("so-y-te", "sipas.overall", "2021", 80.0)]), CommitInfo(user="lan"))
        assert e.value.reason == "read_only"
        assert cli.main(["--store", store.uri, "--user", "quan.tri", "rollback", "1", "--reason", "thử"]) == 1
        assert t("store.read_only", "vi", store=store.uri) in capsys.readouterr().err
        assert store.version() == 2 and store.read().num_rows == 3
        assert cli.main(["--store", store.uri, "check"]) == 0  # reading needs no write
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
