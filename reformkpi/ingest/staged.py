"""An analyst's checked file, kept on the server until it is committed or discarded: a reload of
the page (F5 after the diff) finds it again instead of dropping it.

One file per signed-in account and store in the state folder's `staged/`, readable by the
server's account only (mode 600, as the sign-in files), named by a hash of the account and the
store (a file is checked against one store), so that no analyst sees another's file. A staged file older than a day is removed the next time any is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from reformkpi.auth import write_private

MAX_AGE = dt.timedelta(days=1)


@dataclass(frozen=True)
class Staged:
    """The file as uploaded, and the choices it was checked with (the profile, its mapping edits
    included, as JSON; the replace box; the profile picker's name and period)."""

    file_name: str
    content: bytes
    profile_json: str
    replace: bool
    profile_name: str = ""
    period: str = ""
    staged_at: dt.datetime | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def folder(state: Path) -> Path:
    return state / "staged"


def _paths(where: Path, account: str) -> tuple[Path, Path]:
    stem = hashlib.sha256(account.encode("utf-8")).hexdigest()[:32]  # `account`: who, and for which store
    return where / f"{stem}.json", where / f"{stem}.bin"


def save(where: Path, account: str, staged: Staged, now: dt.datetime | None = None) -> None:
    """Keep `staged` for `account`, replacing the one kept before. The content first: the
    description, written last, is what makes a staged file exist."""
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    meta, content = _paths(where, account)
    write_private(content, staged.content)
    write_private(meta, json.dumps({
        "account": account, "file_name": staged.file_name, "sha256": staged.sha256,
        "profile": staged.profile_json, "replace": staged.replace, "profile_name": staged.profile_name,
        "period": staged.period, "staged_at": (now or dt.datetime.now(dt.UTC)).isoformat()}, ensure_ascii=False))


def load(where: Path, account: str, now: dt.datetime | None = None) -> Staged | None:
    """The file kept for `account`, or None (none kept, older than a day, or damaged: removed)."""
    now = now or dt.datetime.now(dt.UTC)
    sweep(where, now)
    meta, content = _paths(where, account)
    try:
        m = json.loads(meta.read_text(encoding="utf-8"))
        staged = Staged(m["file_name"], content.read_bytes(), m["profile"], bool(m["replace"]), m["profile_name"],
                        m["period"], dt.datetime.fromisoformat(m["staged_at"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        discard(where, account)
        return None
    if m["account"] != account or staged.sha256 != m["sha256"]:
        discard(where, account)
        return None
    return staged


def discard(where: Path, account: str) -> None:
    """Forget the file kept for `account` (committed, or given up)."""
    for path in _paths(where, account):
        path.unlink(missing_ok=True)


def sweep(where: Path, now: dt.datetime | None = None) -> int:
    """Remove every staged file older than a day; the number removed."""
    limit = (now or dt.datetime.now(dt.UTC)) - MAX_AGE
    removed = 0
    for meta in where.glob("*.json") if where.is_dir() else ():
        try:
            old = dt.datetime.fromisoformat(json.loads(meta.read_text(encoding="utf-8"))["staged_at"]) < limit
        except (OSError, ValueError, KeyError, TypeError):
            old = True  # unreadable: nobody can use it
        if old:
            meta.unlink(missing_ok=True)
            meta.with_suffix(".bin").unlink(missing_ok=True)
            removed += 1
    for content in where.glob("*.bin") if where.is_dir() else ():  # a save cut short before its description
        if not content.with_suffix(".json").exists() and content.stat().st_mtime < limit.timestamp():
            content.unlink(missing_ok=True)
    return removed
