"""Analysts' notes on figures ("Q3 late because the system was down"): from an upload's note
column, or added on a page to a unit's figure for a period.

Kept in the store as their own append-only Delta table. The rule (README, "Notes"): a note is
stored with the data version that was the latest when it was written (an upload's notes: the
version the upload's commit made) and shows in views of that version or later; a snapshot also
leaves out the notes written after it was saved. An upload's notes are written before its data,
waiting on the upload's commit (data_version empty): until a commit of the observations carries
their upload id they are not read, so a crash between the two writes shows neither.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
from deltalake import CommitProperties, write_deltalake

from reformkpi import integrity
from reformkpi.auth import Actor, require
from reformkpi.store import TABLE_CONFIG, Store

TABLE = "notes"
SCHEMA = pa.schema([
    ("unit_id", pa.string()), ("indicator_id", pa.string()), ("period", pa.string()), ("note", pa.string()),
    ("data_version", pa.int64()), ("upload_id", pa.string()), ("created_by", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])
MAX_NOTE = 2000


@integrity.writes(TABLE)
def add(store: Store, actor: Actor, rows: pd.DataFrame, data_version: int | None, upload_id: str = "",
        now: dt.datetime | None = None) -> int:
    """Store the non-empty notes of rows (unit_id, indicator_id, period, note); how many were stored.

    data_version None: the notes wait on the commit of `upload_id` (see `read`)."""
    require(actor, "upload")
    rows = rows.assign(note=rows["note"].fillna("").astype(str).str.strip())
    rows = rows[rows["note"] != ""]
    if rows.empty:
        return 0
    if (rows["note"].str.len() > MAX_NOTE).any():
        raise ValueError(f"a note has at most {MAX_NOTE} characters")
    table = pa.Table.from_pandas(rows[["unit_id", "indicator_id", "period", "note"]].assign(
        data_version=None if data_version is None else int(data_version), upload_id=upload_id, created_by=actor.name,
        created_at=now or dt.datetime.now(dt.UTC)), schema=SCHEMA, preserve_index=False)
    write_deltalake(store.path(TABLE), table, mode="append", configuration=TABLE_CONFIG, storage_options=store.options,
                    commit_properties=CommitProperties(custom_metadata={
                        "reformkpi.user": actor.name, "reformkpi.operation": "note", "reformkpi.upload_id": upload_id}))
    return len(rows)


def read(store: Store, data_version: int | None = None, until: dt.datetime | None = None) -> pd.DataFrame:
    """The notes a view of `data_version` shows (all of them by default): those stored with it or an
    earlier version, written up to `until` (a snapshot's saving time) when given. Notes waiting on
    an upload take the version of the observations' commit that carries its upload id; those with
    no such commit (the data write never happened) are left out."""
    if not store.has(TABLE):
        return SCHEMA.empty_table().to_pandas()
    df = store.read(TABLE).to_pandas()
    waiting = df["data_version"].isna()
    if waiting.any():
        h = store.history()
        committed = dict(zip(h["upload_id"], h["version"])) if "upload_id" in h else {}
        df.loc[waiting, "data_version"] = df.loc[waiting, "upload_id"].map(committed)
        df = df.dropna(subset=["data_version"]).astype({"data_version": "int64"})
    if data_version is not None:
        df = df[df["data_version"] <= data_version]
    if until is not None:
        df = df[df["created_at"] <= until]
    return df.reset_index(drop=True)


def version(store: Store) -> int | None:
    """The notes table's version (None before the first note): a new note changes it."""
    return store.version(TABLE) if store.has(TABLE) else None
