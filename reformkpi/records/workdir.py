"""An ingest's work folder under the records temp root, and the sweep of those a killed ingest left.

An ingest removes its folder in a `finally`, which a SIGKILL skips (the capped child runner's
memory or time cap, an operator's `kill -9`), and the folder holds about the export's size. So
each folder names its owner process, and every ingest first removes those whose owner is gone.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import psutil

PREFIX = "records-ingest-"
OWNER = "owner.json"
# A folder without an owner file may be one whose ingest is between mkdtemp and writing the file,
# or one from a version before owner files: it is left alone until nothing in it changed for this long.
UNOWNED_AGE_S = 24 * 3600
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
log = logging.getLogger(__name__)


def create_workdir(root: Path) -> Path:
    """A new work folder under `root`, naming this process (host, pid, start time) as its owner."""
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
    pid = os.getpid()
    (folder / OWNER).write_text(json.dumps({"host": socket.gethostname(), "pid": pid, "started": _started(pid)}))
    return folder


def _started(pid: int) -> str:
    """When a process started, in a form no clock adjustment moves (psutil's start time follows the
    wall clock, which a step during a long ingest would shift): on Linux this boot's id and the
    kernel's start time in clock ticks since boot; elsewhere the start time psutil reports."""
    try:
        boot = BOOT_ID.read_text().strip()
    except OSError:
        return f"{psutil.Process(pid).create_time():.3f}"
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return f"{boot}:{after_name[19]}"  # field 22 of proc(5), counted from the state (field 3)


def sweep_abandoned(root: Path) -> None:
    """Remove the work folders under `root` that an ingest killed by a signal left behind.

    A folder whose owner process is gone (no such pid, or the pid reused by a process started
    at another time) is removed; one without a readable owner file, or owned on another
    host (a temp root on shared storage, where its pid means nothing here), only once nothing in
    it changed for UNOWNED_AGE_S, so an ingest that is just starting is never hit. Entries not
    named PREFIX*, files and symlinks are never touched. What is removed is logged with its size;
    a failure to remove is logged, not raised, as it must not stop the ingest.
    """
    for entry in root.glob(f"{PREFIX}*"):
        if entry.is_symlink() or not entry.is_dir():
            continue
        try:
            size, newest = _size_and_newest(entry)
            owner = _owner(entry)
            if owner is None:
                idle = time.time() - newest
                if idle < UNOWNED_AGE_S:
                    continue
                why = f"no owner, unchanged for {idle / 3600:.0f} h"
            elif _alive(owner):
                continue
            else:
                why = f"owner pid {owner['pid']} is gone"
            shutil.rmtree(entry)
            log.warning("removed the abandoned ingest folder %s (%s): %d bytes", entry, why, size)
        except FileNotFoundError:  # another ingest's sweep removed it first
            continue
        except OSError as e:
            log.error("could not remove the abandoned ingest folder %s: %s", entry, e)


def _owner(folder: Path) -> dict | None:
    """The owner written by `create_workdir`, or None if absent, unreadable, invalid or from another host."""
    try:
        owner = json.loads((folder / OWNER).read_text())
        pid, started, host = int(owner["pid"]), str(owner["started"]), owner["host"]
    except (OSError, ValueError, KeyError, TypeError):  # also a file cut short by the kill
        return None
    if host != socket.gethostname() or pid <= 0:
        return None
    return {"pid": pid, "started": started}


def _alive(owner: dict) -> bool:
    try:
        return _started(owner["pid"]) == owner["started"]
    except (FileNotFoundError, ProcessLookupError, psutil.NoSuchProcess):
        return False
    except (PermissionError, psutil.AccessDenied):  # cannot tell: keep the folder
        return True


def _size_and_newest(folder: Path) -> tuple[int, float]:
    """Bytes under `folder` and the latest modification time of it or anything in it."""
    top = folder.lstat()
    size, newest = 0, top.st_mtime
    for parent, dirs, names in os.walk(folder):
        for name in dirs:
            newest = max(newest, os.lstat(os.path.join(parent, name)).st_mtime)
        for name in names:
            st = os.lstat(os.path.join(parent, name))
            size, newest = size + st.st_size, max(newest, st.st_mtime)
    return size, newest
