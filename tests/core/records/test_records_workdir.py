"""Work folders of a records ingest: the next ingest removes those a killed ingest left, and only those."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from reformkpi.records import table, workdir
from reformkpi.records.workdir import UNOWNED_AGE_S, create_workdir, sweep_abandoned
from reformkpi.store import CommitInfo
from tests.core.records.test_records import ANALYST, ROWS, U, write

ROOT = Path(__file__).resolve().parents[3]
# An ingest's first step, then it is killed before its `finally` runs.
CHILD = """
import sys, time
from pathlib import Path
from reformkpi.records.workdir import create_workdir
folder = create_workdir(Path(sys.argv[1]))
(folder / "stage.parquet").write_bytes(b"x" * 100_000)
print(folder, flush=True)
time.sleep(600)
"""


def age(path: Path, seconds: float) -> None:
    """Set the modification time of path and everything in it to `seconds` ago."""
    t = time.time() - seconds
    for p in [*path.rglob("*"), path]:
        os.utime(p, (t, t))


def test_the_next_ingest_removes_the_folder_of_a_killed_ingest_and_nothing_else(tmp_store, tmp_path, caplog):
    root = tmp_path / "tmp"
    root.mkdir()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(root)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        dead = Path(child.stdout.readline().strip())
        assert (dead / "stage.parquet").is_file() and dead.parent == root
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    live = create_workdir(root)  # owned by this test process, which is running
    (live / "stage.parquet").write_bytes(b"y")
    unrelated = root / "other-work"  # older than the limit for unowned folders, but not an ingest's
    (unrelated / "part").mkdir(parents=True)
    age(unrelated, UNOWNED_AGE_S * 2)
    note = root / f"{workdir.PREFIX}notes.txt"  # an old file, not a folder
    note.write_text("kept")
    age(note, UNOWNED_AGE_S * 2)

    r = table.ingest(tmp_store, write(tmp_path / "export.csv", ROWS[:3]), ANALYST,
                     CommitInfo(user="test", file_name="export.csv"), {U}, chunk_rows=4, tmp_dir=root)

    assert r.rows_new == 3
    assert not dead.exists()
    assert (live / "stage.parquet").read_bytes() == b"y" and (unrelated / "part").is_dir() and note.read_text() == "kept"
    assert set(root.iterdir()) == {live, unrelated, note}  # the ingest's own folder is gone too
    removed = [m for m in caplog.messages if str(dead) in m]
    assert len(removed) == 1 and f"pid {child.pid} is gone" in removed[0]
    assert int(removed[0].rsplit(": ", 1)[1].split()[0]) > 100_000  # bytes: the staged file and the owner file
    assert not [m for m in caplog.records if m.levelno >= logging.ERROR]


def test_a_folder_whose_pid_now_belongs_to_another_process_is_removed(tmp_path):
    reused, elsewhere, live = (create_workdir(tmp_path) for _ in range(3))
    for folder, host in ((reused, None), (elsewhere, "another-host")):
        owner = json.loads((folder / workdir.OWNER).read_text())
        owner["started"] += "0"  # this pid's process started at another time than the owner
        owner["host"] = host or owner["host"]
        (folder / workdir.OWNER).write_text(json.dumps(owner))

    sweep_abandoned(tmp_path)

    # A folder owned on another host (a shared temp root) is judged by its age, as its pid means nothing here.
    assert not reused.exists() and elsewhere.is_dir() and live.is_dir()


def test_a_folder_without_owner_is_removed_only_once_unchanged_for_the_age_limit(tmp_path):
    young, old, busy = (tmp_path / f"{workdir.PREFIX}{name}" for name in ("young", "old", "busy"))
    for folder in (young, old, busy):
        (folder / "stage").mkdir(parents=True)
        (folder / "stage" / "part.parquet").write_bytes(b"x")
    age(young, UNOWNED_AGE_S - 3600)
    age(old, UNOWNED_AGE_S + 3600)
    age(busy, UNOWNED_AGE_S + 3600)
    os.utime(busy / "stage" / "part.parquet")  # written to just now, deep inside an old folder

    sweep_abandoned(tmp_path)

    assert young.is_dir() and not old.exists() and busy.is_dir()
