"""The store checks itself: its Delta logs against the record of the commits the project wrote, the
data files of each table's latest version, and the disk it writes to.

Each table keeps beside its `_delta_log` an append-only record, `_reformkpi_commits.jsonl`: one
line per commit the project wrote (version, sha256 and size of the commit file, what the commit
did and how many rows), appended after the commit (and caught up by the next write if a process
stopped in between). Opening a store compares the log with it: a commit file that is truncated,
garbage, empty or changed, or missing (a history shorter than the record), and a data file
missing under the latest version, each become a `Fault` that says which version, what is wrong and
what to do. Pages and `check` show them, and every write refuses to commit on top of them. A full
disk or a store that cannot be written is told apart from the rest (`StoreUnwritable`).

Delta commits are atomic (data files first, then one commit file), so a write that fails leaves
the version before it current; the files it wrote are referenced by no version.

A store in a bucket is checked the same way through `objectstore.RemotePath` (a listing of each
log, the commit files read once per process); there the record cannot be appended to, so it is
rewritten whole, and a line lost to two writers rewriting it at once is added again by the next
write (`record` adds every sound commit the record lacks). Only a store on a local disk is repaired
here (`repair`).
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import unquote

from deltalake import DeltaTable

from reformkpi.auth import Actor, require
from reformkpi.i18n import t, tm

# A store's folder: a pathlib.Path on a local disk, an objectstore.RemotePath in a bucket (the
# subset of Path's methods used here).
Folder = Any
RECORD = "_reformkpi_commits.jsonl"
LOG = "_delta_log"
SET_ASIDE = "_set_aside"
OBSERVATIONS = "observations"  # the table a rollback restores (store.OBSERVATIONS)
FIRST = ("observations", "units", "indicators", "targets", "grade_bands")
_COMMIT = re.compile(r"(\d{20})\.json")
_CHECKPOINT = re.compile(r"(\d{20})\.checkpoint(\.\d+\.\d+)?\.parquet")
LOG_KINDS = ("damaged", "empty", "changed", "missing_commit", "unreadable")
log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    pass


@dataclass(frozen=True)
class Fault:
    """What is wrong with one table of the store: `kind` (one of LOG_KINDS, or "missing_file"),
    the version, the file (relative to the store), and `good`: the version a repair or a rollback
    goes back to (None when only a backup helps). `recorded` is the record of that commit, if any."""

    kind: str
    table: str
    version: int
    file: str
    detail: str = ""
    good: int | None = None
    recorded: dict = field(default_factory=dict, hash=False, compare=False)

    def lines(self, lang: str, markdown: bool = False) -> list[str]:
        """What is wrong, what the record says the commit held, and what to do."""
        say = tm if markdown else t
        out = [say(f"store.fault.{self.kind}", lang, table=self.table, version=self.version, file=self.file,
                   detail=self.detail)]
        if self.recorded:
            out.append(say("store.fault.recorded", lang, operation=self.recorded.get("operation", ""),
                           user=self.recorded.get("user", ""), rows=self.recorded.get("rows", 0),
                           file_name=self.recorded.get("file_name", "") or "–"))
        if self.kind == "missing_file":
            todo = "store.todo.rollback" if self.good is not None and self.table == OBSERVATIONS else "store.todo.backup"
        else:
            todo = "store.todo.repair" if self.good is not None else "store.todo.backup"
        first = None if self.good is None else self.good + 1  # a repair sets aside from there on
        out.append(say(todo, lang, table=self.table, file=self.file, first=first, good=self.good,
                       aside=f"{self.table}/{SET_ASIDE}/"))
        return out


class StoreFault(StoreError):
    """The store is damaged: reading it would fail or mislead, and nothing may be written on top."""

    def __init__(self, uri: str, faults: list[Fault]):
        super().__init__(uri, faults)
        self.uri, self.faults = uri, faults

    def __str__(self) -> str:
        return "; ".join(" ".join(f.lines("en")) for f in self.faults)

    def lines(self, lang: str, markdown: bool = False) -> list[str]:
        say = tm if markdown else t
        return [say("store.fault.heading", lang, store=self.uri)] + [" ".join(f.lines(lang, markdown))
                                                                      for f in self.faults]


class StoreUnwritable(StoreError):
    """A write the disk refused: `reason` "full" (no space, a quota) or "read_only" (a read-only
    file system, no permission). Nothing was committed."""

    def __init__(self, uri: str, reason: str, detail: str = ""):
        super().__init__(uri, reason, detail)
        self.uri, self.reason, self.detail = uri, reason, detail

    def __str__(self) -> str:
        return f"{self.uri}: {self.reason} ({self.detail})"

    def lines(self, lang: str, markdown: bool = False) -> list[str]:
        return [(tm if markdown else t)(f"store.{self.reason}", lang, store=self.uri)]


def local_root(uri: str) -> Path | None:
    """The store's folder, or None for an object store."""
    if "://" not in uri:
        return Path(uri)
    return Path(unquote(uri[len("file://"):])) if uri.startswith("file://") else None


def store_root(uri: str) -> Folder:
    """The store's folder, on a local disk or in a bucket."""
    local = local_root(uri)
    if local is not None:
        return local
    from reformkpi import objectstore  # it imports this module for StoreError

    return objectstore.root(uri)


def tables(root: Folder) -> list[str]:
    """The store's Delta tables (the observations and the catalog first)."""
    try:
        found = {p.name for p in root.iterdir() if (p / LOG).is_dir()}
    except OSError:
        return []
    return [n for n in FIRST if n in found] + sorted(found - set(FIRST))


# --- the record of commits ---

@dataclass(frozen=True)
class _Commit:
    state: str  # "ok", "empty", "damaged"
    sha256: str
    size: int
    detail: str = ""
    summary: dict = field(default_factory=dict)


_seen: dict[str, tuple[int, int, _Commit]] = {}  # a commit file's (size, mtime) and what it held


def _read_commit(path: Folder) -> _Commit:
    st = path.stat()
    known = _seen.get(str(path))
    if known and known[:2] == (st.st_size, st.st_mtime_ns):
        return known[2]
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    found = _Commit("empty", sha, len(data)) if not data.strip() else _parse(data, sha)
    _seen[str(path)] = (st.st_size, st.st_mtime_ns, found)
    return found


def _parse(data: bytes, sha: str) -> _Commit:
    actions = []
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            action = json.loads(line)
        except ValueError as e:  # UnicodeDecodeError is one
            return _Commit("damaged", sha, len(data), f"line {n}: {str(e)[:80]}")
        if not isinstance(action, dict):
            return _Commit("damaged", sha, len(data), f"line {n}: not a JSON object")
        actions.append(action)
    return _Commit("ok", sha, len(data), summary=_summary(actions))


def _summary(actions: list[dict]) -> dict:
    """What a commit did, for a message about it: operation, user, file and rows."""
    info: dict = next((a["commitInfo"] for a in actions if isinstance(a.get("commitInfo"), dict)), {})
    meta = {k.split(".", 1)[1]: v for k, v in info.items() if k.startswith("reformkpi.")}
    counted = [int(meta[k]) for k in ("rows_new", "rows_changed", "rows_deleted") if str(meta.get(k, "")).isdigit()]
    if counted:
        rows = sum(counted)
    elif str(meta.get("rows", "")).isdigit():
        rows = int(meta["rows"])
    else:
        rows = sum(json.loads(a["add"].get("stats") or "{}").get("numRecords", 0)
                   for a in actions if isinstance(a.get("add"), dict))
    return {"operation": meta.get("operation") or info.get("operation", ""), "user": meta.get("user", ""),
            "file_name": meta.get("file_name", ""), "rows": rows}


def _commit_path(table_dir: Folder, version: int) -> Folder:
    return table_dir / LOG / f"{version:020d}.json"


def recorded(table_dir: Folder) -> dict[int, dict]:
    """The record of a table's commits: version → its entry (the last line of a version wins; a
    version set aside by `repair` is left out). A torn last line is skipped."""
    out: dict[int, dict] = {}
    try:
        text = (table_dir / RECORD).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            v = int(entry["version"])
        except (ValueError, KeyError, TypeError):
            continue
        if entry.get("set_aside"):
            out.pop(v, None)
        else:
            out[v] = entry
    return out


def _append(table_dir: Folder, entries: list[dict]) -> None:
    if not entries:
        return
    text = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries)
    if not isinstance(table_dir, Path):  # an object is written whole (see the module's docstring)
        try:
            before = (table_dir / RECORD).read_bytes()
        except FileNotFoundError:
            before = b""
        (table_dir / RECORD).write_bytes(before + text.encode())
        return
    # One write of whole lines, appended: concurrent writers do not interleave within a line.
    fd = os.open(table_dir / RECORD, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def record(uri: str, table: str) -> None:
    """After a write: add every sound commit of the table that the record lacks (the one just
    written, and any a stopped process left unrecorded). A damaged file is never recorded as sound."""
    root = store_root(uri)
    if not (root / table / LOG).is_dir():
        return
    table_dir = root / table
    have = recorded(table_dir)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    entries = []
    for v, path in sorted(_commit_files(table_dir).items()):
        if v in have:
            continue
        c = _read_commit(path)
        if c.state == "ok":
            entries.append({"version": v, "sha256": c.sha256, "bytes": c.size, "at": now, **c.summary})
    try:
        _append(table_dir, entries)
    except OSError as e:  # the commit stands; the next write records it
        log.warning("could not record commits of %s: %s", table_dir, e)


def _commit_files(table_dir: Folder) -> dict[int, Folder]:
    return {int(m.group(1)): p for p in (table_dir / LOG).iterdir() if (m := _COMMIT.fullmatch(p.name))}


# --- checking ---

def verify(uri: str, files: bool = True, only: tuple[str, ...] | None = None) -> list[Fault]:
    """Every fault of the store: each table's log against its record, then (with `files`) the
    data files of each sound table's latest version. Reads only."""
    root = store_root(uri)
    faults = []
    for table in tables(root):
        found = _log_faults(root, table)
        if not found and files and (only is None or table in only):
            found = _file_faults(root, table)
        faults += found
    return faults


def _log_faults(root: Folder, table: str) -> list[Fault]:
    table_dir = root / table
    try:
        present = _commit_files(table_dir)
        have = recorded(table_dir)
        faults = []
        top = max([*present, *have], default=-1)
        first = min(present, default=0)
        for v in range(top + 1):
            rel = str(_commit_path(table_dir, v).relative_to(root))
            path = present.get(v)
            if path is None:
                if v in have or v > first:  # shorter than the record, or a gap in the log
                    faults.append(Fault("missing_commit", table, v, rel, recorded=have.get(v, {})))
                continue
            c = _read_commit(path)
            if c.state != "ok":
                faults.append(Fault(c.state, table, v, rel, c.detail, recorded=have.get(v, {})))
            elif v in have and have[v].get("sha256") != c.sha256:
                faults.append(Fault("changed", table, v, rel, recorded=have[v]))
    except OSError as e:
        return [Fault("unreadable", table, -1, f"{table}/{LOG}", str(e)[:200])]
    if not faults:
        return []
    good = min(f.version for f in faults) - 1
    return [Fault(f.kind, f.table, f.version, f.file, f.detail, good if good >= 0 else None, f.recorded)
            for f in faults]


def _missing(table: DeltaTable, present: Callable[[str], bool]) -> list[str]:
    return [p for p in (unquote(u) for u in table.file_uris()) if not present(p)]


def _file_faults(root: Folder, table: str) -> list[Fault]:
    path = str(root / table)
    from reformkpi import objectstore  # it imports this module for StoreError

    options = objectstore.storage_options(path)
    try:
        if isinstance(root, Path):
            present: Callable[[str], bool] = lambda p: Path(p).is_file()
            latest = DeltaTable(path)
            version, missing = latest.version(), _missing(latest, present)
        else:  # one listing of the table's files, not a request per file; the log's new commits only
            present = (root / table).files_under().__contains__
            version, missing = objectstore.with_latest(path, options, lambda t: (t.version(), _missing(t, present)))
    except Exception as e:  # whatever delta-rs says, the table cannot be opened
        return [Fault("unreadable", table, -1, f"{table}/{LOG}", _first_line(e))]
    if not missing:
        return []
    good = next((v for v in range(version - 1, -1, -1)
                 if not _missing(DeltaTable(path, version=v, storage_options=options), present)), None)
    first, inside = missing[0], str(root).rstrip("/") + "/"
    if isinstance(root, Path):
        shown = str(Path(first).relative_to(root)) if Path(first).is_relative_to(root) else first
    else:
        shown = first.removeprefix(inside)
    return [Fault("missing_file", table, version, shown, str(len(missing)), good)]


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


def check(uri: str) -> None:
    """Raise StoreFault if the store has a fault."""
    faults = verify(uri)
    if faults:
        raise StoreFault(uri, faults)


def explain(uri: str, e: BaseException, writing: bool = False) -> StoreError | None:
    """What a failed read (or write) of the store comes from, when it is the store's fault: damage
    found by `verify` (or the disk's refusal of a write); None when it is something else."""
    reason = disk_error(e) if writing else None
    if reason is not None:
        return StoreUnwritable(uri, reason, _first_line(e))
    faults = verify(uri)
    return StoreFault(uri, faults) if faults else None


@contextmanager
def reading(uri: str) -> Iterator[None]:
    """Around a read: an error that comes from damage to the store becomes StoreFault."""
    try:
        yield
    except StoreError:
        raise
    except Exception as e:
        fault = explain(uri, e)
        if fault is None:
            raise
        raise fault from e


_FULL = ("No space left on device", "os error 28", "Disk quota exceeded", "os error 122", "Already shut down")
_READ_ONLY = ("Read-only file system", "os error 30", "Permission denied", "os error 13")


def disk_error(e: BaseException) -> str | None:
    """"full" or "read_only" for a disk's refusal (delta-rs gives it as text: an OSError without
    errno, a DeltaError, or a panic of its runtime, "Already shut down", once a write hit a full disk)."""
    code = getattr(e, "errno", None)
    text = str(e)
    if code in (errno.ENOSPC, errno.EDQUOT) or any(s in text for s in _FULL):
        return "full"
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or any(s in text for s in _READ_ONLY):
        return "read_only"
    return None


@contextmanager
def writing(uri: str, *written: str, rollback: bool = False) -> Iterator[None]:
    """Around a write of the tables `written`: refused (StoreFault) if any table's log is damaged or
    a written table's latest version misses a data file (a rollback of the observations is the cure
    for that, so `rollback` lets it through); a disk's refusal becomes StoreUnwritable; after the
    write, its commits are recorded."""
    faults = [f for f in verify(uri, only=written)
              if not (rollback and f.kind == "missing_file" and f.table == OBSERVATIONS)]
    if faults:
        raise StoreFault(uri, faults)
    try:
        yield
    except StoreError:
        raise
    except BaseException as e:  # a panic of delta-rs' runtime is no Exception
        reason = disk_error(e)
        if reason is None:
            raise
        raise StoreUnwritable(uri, reason, _first_line(e)) from e
    for table in written:
        record(uri, table)


P = ParamSpec("P")
R = TypeVar("R")


def writes(*written: str, rollback: bool = False) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A write (a Store method, or a function whose first argument is the store) run `writing`."""
    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with writing(cast(Any, args[0]).uri, *written, rollback=rollback):
                return fn(*args, **kwargs)
        return run
    return wrap


def repair(uri: str, table: str, actor: Actor) -> int:
    """Set aside the commit files of `table` from its first damaged or missing version on (moved
    to `<table>/_set_aside/<time>/`, never deleted) and mark them so in the record; the table is
    then at the version before. Returns that version. StoreError when there is nothing to set
    aside or no sound version before it (only a backup helps then). Administrators only."""
    require(actor, "rollback")
    root = local_root(uri)
    if root is None:
        raise StoreError(f"only a store on a local disk can be repaired here, not {uri}")
    faults = [f for f in _log_faults(root, table) if f.kind != "unreadable"]
    if not faults:
        raise StoreError(f"the log of {table} in {uri} has no damaged or missing commit")
    good = faults[0].good
    if good is None:
        raise StoreError(f"version 0 of {table} is damaged: restore {table} from the store's backup")
    table_dir = root / table
    aside = table_dir / SET_ASIDE / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside.mkdir(parents=True)
    for p in (table_dir / LOG).iterdir():
        m = _COMMIT.fullmatch(p.name) or _CHECKPOINT.fullmatch(p.name)
        if m and int(m.group(1)) > good:
            shutil.move(p, aside / p.name)
    last = table_dir / LOG / "_last_checkpoint"
    if last.exists() and json.loads(last.read_text() or "{}").get("version", -1) > good:
        shutil.move(last, aside / last.name)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _append(table_dir, [{"version": v, "set_aside": True, "at": now, "to": str(aside.relative_to(root))}
                        for v in sorted(recorded(table_dir)) if v > good])
    return good
