"""Snapshots: a saved view pinned to the versions it reads, so it shows the same numbers forever.

A snapshot pins everything its page reads: the observation version, the catalog versions, the
records version (None when the store had no records), the page, and the view state, which holds
the dataset (`data`), the language (`lang`) and every filter.

Kept in the store as their own Delta table; renaming and deleting are commits too, so even a
deleted snapshot can be found in history. The store never vacuums, so every pinned version
stays readable (see store.TABLE_CONFIG).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake

from reformkpi import integrity
from reformkpi.auth import Actor, PermissionDenied, require
from reformkpi.store import TABLE_CONFIG, Store, StoreError, sql_text

TABLE = "snapshots"
SCHEMA = pa.schema([
    ("snapshot_id", pa.string()), ("title", pa.string()), ("note", pa.string()), ("page", pa.string()),
    ("view_state", pa.string()), ("data_version", pa.int64()), ("catalog_versions", pa.string()),
    ("created_by", pa.string()), ("created_at", pa.timestamp("us", tz="UTC")), ("records_version", pa.int64()),
])
MAX_TITLE, MAX_NOTE = 200, 2000


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str
    title: str
    note: str
    page: str
    view_state: dict
    data_version: int
    catalog_versions: tuple[int, ...]
    created_by: str
    created_at: dt.datetime
    records_version: int | None = None


class SnapshotError(ValueError):
    """A title or note out of bounds: nothing is saved."""


def _table(store: Store) -> DeltaTable | None:
    return store.delta(TABLE) if store.has(TABLE) else None


def _existing(store: Store) -> DeltaTable:
    """The snapshots table once `_owned` has found the snapshot in it."""
    table = _table(store)
    assert table is not None, "checked by _owned"
    return table


def _meta(actor: Actor, operation: str, snapshot_id: str) -> CommitProperties:
    return CommitProperties(custom_metadata={"reformkpi.user": actor.name, "reformkpi.operation": operation,
                                             "reformkpi.snapshot_id": snapshot_id})


@integrity.writes(TABLE)
def create(store: Store, actor: Actor, title: str, page: str, view_state: dict, data_version: int,
           catalog_versions: tuple[int, ...], note: str = "", now: dt.datetime | None = None,
           records_version: int | None = None) -> Snapshot:
    """Save a view; the actor needs the snapshot permission (analyst or admin)."""
    require(actor, "snapshot")
    title, note = title.strip(), note.strip()
    if not title or len(title) > MAX_TITLE or len(note) > MAX_NOTE:
        raise SnapshotError(f"title: 1–{MAX_TITLE} characters; note: at most {MAX_NOTE}")
    if not 0 <= data_version <= store.version():
        raise StoreError(f"no data version {data_version}")
    snap = Snapshot(uuid.uuid4().hex[:10], title, note, page, dict(view_state), int(data_version),
                    tuple(catalog_versions), actor.name, now or dt.datetime.now(dt.UTC),
                    None if records_version is None else int(records_version))
    row = pa.Table.from_pylist([{**snap.__dict__, "view_state": json.dumps(snap.view_state, ensure_ascii=False),
                                 "catalog_versions": json.dumps(list(snap.catalog_versions))}], schema=SCHEMA)
    # "merge": a table saved before records were pinned gains the column; its old rows read as None.
    write_deltalake(store.path(TABLE), row, mode="append", configuration=TABLE_CONFIG, schema_mode="merge",
                    storage_options=store.options,
                    commit_properties=_meta(actor, "snapshot", snap.snapshot_id))
    return snap


def _from_row(r: dict) -> Snapshot:
    return Snapshot(r["snapshot_id"], r["title"], r["note"], r["page"], json.loads(r["view_state"]),
                    int(r["data_version"]), tuple(json.loads(r["catalog_versions"])), r["created_by"],
                    r["created_at"], None if r.get("records_version") is None else int(r["records_version"]))


def list_all(store: Store) -> list[Snapshot]:
    """Every snapshot, newest first."""
    table = _table(store)
    if table is None:
        return []
    rows = [_from_row(r) for r in table.to_pyarrow_table().to_pylist()]
    return sorted(rows, key=lambda s: s.created_at, reverse=True)


def get(store: Store, snapshot_id: str) -> Snapshot | None:
    return next((s for s in list_all(store) if s.snapshot_id == snapshot_id), None)


def may_change(actor: Actor | None, snap: Snapshot) -> bool:
    """Whether `actor` may rename or delete `snap`: an administrator, or its author while allowed to save snapshots."""
    return actor is not None and (actor.can("admin") or (actor.can("snapshot") and actor.name == snap.created_by))


def _owned(store: Store, actor: Actor, snapshot_id: str) -> Snapshot:
    snap = get(store, snapshot_id)
    if snap is None:
        raise KeyError(snapshot_id)
    if not may_change(actor, snap):
        raise PermissionDenied(actor, "change another person's snapshot")
    return snap


@integrity.writes(TABLE)
def rename(store: Store, actor: Actor, snapshot_id: str, title: str) -> None:
    _owned(store, actor, snapshot_id)
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise SnapshotError(f"title: 1–{MAX_TITLE} characters")
    _existing(store).update(predicate=f"snapshot_id = {sql_text(snapshot_id)}", updates={"title": sql_text(title)},
                         commit_properties=_meta(actor, "snapshot-rename", snapshot_id))


@integrity.writes(TABLE)
def delete(store: Store, actor: Actor, snapshot_id: str) -> None:
    _owned(store, actor, snapshot_id)
    _existing(store).delete(f"snapshot_id = {sql_text(snapshot_id)}",
                         commit_properties=_meta(actor, "snapshot-delete", snapshot_id))
