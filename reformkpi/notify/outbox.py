"""The outbox: every message the notifier owes, and exactly-once delivery.

A Delta table in the store (`notify_outbox`), append-only: each row is one step of one message,
keyed by `key` (subscription, kind and reference: the data version of an alert, the period of a
digest), and a message's state is its latest step. The table is its own audit trail: every
attempt, error and retry stays in it.

    planned → sending → sent
                  ↘ failed (attempts, next_try: exponential backoff, last_error) → sending …

Exactly once, step by step (README of the notifier: docs/notifications.md):

1. **Plan** writes a message's content (rendered in its language, with its Message-ID) under its
   key; a key already there writes nothing, so a second run, or a rerun after a crash, plans the
   same message once and the content sent is the content planned.
2. **Claim** (`sending`) is written before the SMTP transaction starts (or the webhook is posted):
   a run claims what is due in one commit.
3. The message goes to the server up to, not including, the final "." of its data.
4. **Ending**: before the data goes, the message gets a journal entry in the state folder (a
   one-byte file, mapped into memory). Once the server holds all of the data but its final ".",
   the byte is set by a plain memory write, which needs no call to the system, and the "." is
   sent straight after it; then the reply is read. A refusal is written at once (`failed`);
   deliveries are marked `sent` together at the end of the run. About one commit per message.

A crash leaves a message at `sending`, and the next run resolves it without a second send:
- without its end marked in the journal, the server never received the end of the data, and a
  server delivers nothing of a transaction cut short (RFC 5321, 4.1.1.4), so the message was not
  sent: it is tried again;
- with its end marked, the server may have accepted it: it is taken as sent (`UNCERTAIN`, shown
  on the page), at most once per claim. A duplicate is never possible. A loss needs the process to
  die in the few instructions between the memory write and the "." leaving it. No program can
  close that gap over SMTP, which has no way to ask a server whether it holds a message. The
  gap used to be a file's creation (a system call that yields the processor on a busy machine):
  then 2 of 5 fault tests under load lost one message in 153. The Message-ID, the same for every
  attempt of a row, lets a mail system drop a copy in any case.

One notifier runs at a time (a lock, see `reformkpi.notify.run`), so claims never race.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from reformkpi import integrity
from reformkpi.store import TABLE_CONFIG, Store

TABLE = "notify_outbox"
SCHEMA = pa.schema([
    ("key", pa.string()), ("subscription_id", pa.string()), ("kind", pa.string()), ("ref", pa.string()),
    ("state", pa.string()), ("attempts", pa.int64()), ("next_try", pa.timestamp("us", tz="UTC")),
    ("last_error", pa.string()), ("message_id", pa.string()), ("payload", pa.string()),
    ("at", pa.timestamp("us", tz="UTC")),
])
PLANNED, SENDING, SENT, FAILED = "planned", "sending", "sent", "failed"
ORDER = {PLANNED: 0, SENDING: 1, SENT: 2, FAILED: 2}  # steps written in the same microsecond
ALERT, CORRECTION, DIGEST, HANDLED = "alert", "correction", "digest", "handled"
COMPACT_FILES = 64  # past this many data files, a run rewrites the outbox's current rows into one
MAX_ATTEMPTS = 8  # then the message stays failed, shown on the page
BACKOFF_SECONDS = 60  # the first retry; each further one waits twice as long (1 min … about 2 h)
INTERRUPTED = "interrupted before the end of the message: not delivered, tried again"
CANCELLED = "the subscription was paused or removed before it was sent: not sent"
UNCERTAIN = "interrupted after the end of the message: taken as delivered (at most once)"


@dataclass(frozen=True)
class Message:
    """One message's latest step, with the content planned for it."""

    key: str
    subscription_id: str
    kind: str
    ref: str
    state: str
    attempts: int
    next_try: dt.datetime | None
    last_error: str
    message_id: str
    payload: dict
    at: dt.datetime

    @property
    def done(self) -> bool:
        return self.state == SENT or (self.state == FAILED and self.attempts >= MAX_ATTEMPTS)


def key(subscription_id: str, kind: str, ref: str) -> str:
    return f"{subscription_id}|{kind}|{ref}"


def message_id(row_key: str, domain: str) -> str:
    """The Message-ID of an outbox row: the same for every attempt, different for every row."""
    return f"<{hashlib.sha256(row_key.encode()).hexdigest()[:32]}@{domain}>"


def backoff(attempts: int) -> dt.timedelta:
    """How long after its `attempts`-th failure a message is tried again."""
    return dt.timedelta(seconds=BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))


def _rows(store: Store) -> list[dict]:
    if not store.has(TABLE):
        return []
    return store.read(TABLE).to_pylist()


def messages(store: Store) -> dict[str, Message]:
    """Every message by key, at its latest step (the `handled` marks are not messages)."""
    planned: dict[str, dict] = {}
    latest: dict[str, dict] = {}
    for r in sorted(_rows(store), key=lambda r: (r["at"], ORDER.get(r["state"], 0))):
        if r["kind"] == HANDLED:
            continue
        if r["state"] == PLANNED:
            planned.setdefault(r["key"], r)
        latest[r["key"]] = r
    return {k: Message(k, r["subscription_id"], r["kind"], r["ref"], r["state"], int(r["attempts"]), r["next_try"],
                       r["last_error"] or "", r["message_id"], json.loads(planned[k]["payload"]), r["at"])
            for k, r in latest.items() if k in planned}


def _write(store: Store, rows: list[dict]) -> None:
    table = pa.Table.from_pylist([{"payload": None, "last_error": None, "next_try": None, **r} for r in rows],
                                 schema=SCHEMA)
    write_deltalake(store.path(TABLE), table, mode="append", configuration=TABLE_CONFIG, storage_options=store.options)


@integrity.writes(TABLE)
def _append(store: Store, rows: list[dict]) -> None:
    _write(store, rows)


def _step(m: Message, state: str, now: dt.datetime, **changes) -> dict:
    return {"key": m.key, "subscription_id": m.subscription_id, "kind": m.kind, "ref": m.ref, "state": state,
            "attempts": m.attempts, "message_id": m.message_id, "at": now, **changes}


def plan(store: Store, planned: list[tuple[str, str, str, str, dict]], now: dt.datetime) -> int:
    """Plan messages, each (subscription_id, kind, ref, message_id, payload); those whose key is
    planned already are left as they are. Returns how many were new."""
    if not planned:
        return 0
    have = {r["key"] for r in _rows(store)}
    rows = []
    for subscription_id, kind, ref, mid, payload in planned:
        k = key(subscription_id, kind, ref)
        if k in have:
            continue
        have.add(k)
        rows.append({"key": k, "subscription_id": subscription_id, "kind": kind, "ref": ref, "state": PLANNED,
                     "attempts": 0, "next_try": now, "message_id": mid,
                     "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True), "at": now})
    if rows:
        _append(store, rows)
    return len(rows)


def due(store: Store, now: dt.datetime) -> list[Message]:
    """The messages to send now: planned, or failed with a retry due; oldest first."""
    out = [m for m in messages(store).values()
           if m.state == PLANNED or (m.state == FAILED and not m.done and m.next_try is not None and m.next_try <= now)]
    return sorted(out, key=lambda m: (m.at, m.key))


def recover(store: Store, journal: Path, now: dt.datetime) -> dict[str, str]:
    """Resolve the messages a stopped run left claimed (see the module's rules): one whose end was
    marked in the journal is taken as sent, any other is tried again (its attempt did not count).
    Returns key → new state."""
    rows = []
    for m in messages(store).values():
        if m.state == SENDING and ended(journal, m):
            rows.append(_step(m, SENT, now, last_error=UNCERTAIN))
        elif m.state == SENDING:
            rows.append(_step(m, FAILED, now, attempts=m.attempts - 1, next_try=now, last_error=INTERRUPTED))
    if rows:
        _append(store, rows)
    clear(journal)
    return {r["key"]: r["state"] for r in rows}


def _entry(journal: Path, m: Message) -> Path:
    return journal / hashlib.sha256(m.key.encode()).hexdigest()


class Ending:
    """A message's journal entry, made before its data goes: one byte, 0 until `__call__` marks
    that the final "." is about to leave. The byte is set through a shared memory map: a memory
    write, with no system call between it and the "." (the system keeps the page when the process
    is killed). Used as `with Ending(journal, m) as mark: … mark() …`."""

    def __init__(self, journal: Path, m: Message) -> None:
        fd = os.open(_entry(journal, m), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0")
            self._map = mmap.mmap(fd, 1)
        finally:
            os.close(fd)

    def __call__(self) -> None:
        self._map[0] = 1

    def __enter__(self) -> Ending:
        return self

    def __exit__(self, *exc) -> None:
        self._map.close()


def ended(journal: Path, m: Message) -> bool:
    """Whether a stopped run marked the end of `m` (its "." may have reached the server)."""
    try:
        return _entry(journal, m).read_bytes()[:1] == b"\1"
    except FileNotFoundError:
        return False


def clear(journal: Path) -> None:
    """Forget the journal's entries once the outcomes are in the outbox."""
    for entry in journal.glob("*") if journal.is_dir() else []:
        entry.unlink(missing_ok=True)


def claim(store: Store, due_now: list[Message], now: dt.datetime) -> list[Message]:
    """Claim messages (`sending`, one attempt more) in one commit, before anything leaves for the
    server: a claimed message a stopped run never started is tried again by `recover`."""
    rows = [_step(m, SENDING, now, attempts=m.attempts + 1) for m in due_now]
    if rows:
        _append(store, rows)
    return [dataclasses.replace(m, state=SENDING, attempts=m.attempts + 1, next_try=None, last_error="", at=now)
            for m in due_now]


def sent(store: Store, done: list[tuple[Message, str]], now: dt.datetime) -> None:
    """Mark messages sent, each with a note ('' or why it is taken as sent), in one commit: one whose
    mark a crash loses is `sending` with its journal mark, which `recover` takes as sent all the same."""
    rows = [_step(m, SENT, now, last_error=note[:500] or None) for m, note in done]
    if rows:
        _append(store, rows)


def failed(store: Store, m: Message, error: str, now: dt.datetime) -> None:
    """A refused or failed attempt: tried again after `backoff`, until MAX_ATTEMPTS."""
    retry = now + backoff(m.attempts) if m.attempts < MAX_ATTEMPTS else None
    _append(store, [_step(m, FAILED, now, next_try=retry, last_error=error[:500])])


def compact(store: Store) -> bool:
    """Rewrite the outbox's current rows into few files once it has many (each step is a small
    file; a run reads the table several times). Older versions keep theirs: nothing is lost."""
    if not store.has(TABLE) or len(store.delta(TABLE).file_uris()) <= COMPACT_FILES:
        return False
    _compact(store)
    return True


@integrity.writes(TABLE)
def _compact(store: Store) -> None:
    store.delta(TABLE).optimize.compact()


def cancel(store: Store, gone: list[Message], now: dt.datetime) -> None:
    """Give up messages whose subscription was paused or removed before they went: never sent."""
    rows = [_step(m, FAILED, now, attempts=max(m.attempts, MAX_ATTEMPTS), last_error=CANCELLED) for m in gone]
    if rows:
        _append(store, rows)


def state_for(store: Store, subscription_ids) -> dict[str, list[Message]]:
    """For the page: each subscription's messages at their latest step, newest first."""
    wanted = set(subscription_ids)
    out: dict[str, list[Message]] = {s: [] for s in wanted}
    for m in messages(store).values():
        if m.subscription_id in wanted:
            out[m.subscription_id].append(m)
    return {s: sorted(ms, key=lambda m: m.at, reverse=True) for s, ms in out.items()}


def handled(store: Store, dataset: str) -> dict | None:
    """The last data state the notifier planned alerts for, for a dataset (see `changes.Stamp`)."""
    marks = [r for r in _rows(store) if r["kind"] == HANDLED and r["subscription_id"] == dataset]
    if not marks:
        return None
    return json.loads(max(marks, key=lambda r: r["at"])["payload"])


def set_handled(store: Store, dataset: str, stamp: dict, now: dt.datetime) -> None:
    _append(store, [{"key": key(dataset, HANDLED, stamp["ref"]), "subscription_id": dataset, "kind": HANDLED,
                     "ref": stamp["ref"], "state": SENT, "attempts": 0, "message_id": "",
                     "payload": json.dumps(stamp, sort_keys=True), "at": now}])
