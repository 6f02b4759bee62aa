"""Analysts' notes on figures ("Q3 late because the system was down"): from an upload's note
column, or added on a page to a unit's figure for a period.

Kept in the store as their own append-only Delta table; each note records the data version it was
written with, so a view of an older version shows the notes as they stood then.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake

from reformkpi.auth import Actor, require
from reformkpi.store import TABLE_CONFIG, Store

TABLE = "notes"
SCHEMA = pa.schema([
    ("unit_id", pa.string()), ("indicator_id", pa.string()), ("period", pa.string()), ("note", pa.string()),
    ("data_version", pa.int64()), ("upload_id", pa.string()), ("created_by", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")),
])
MAX_NOTE = 2000


def add(store: Store, actor: Actor, rows: pd.DataFrame, data_version: int, upload_id: str = "",
        now: dt.datetime | None = None) -> int:
    """Store the non-empty notes of rows (unit_id, indicator_id, period, note); how many were stored."""
    require(actor, "upload")
    rows = rows.assign(note=rows["note"].fillna("").astype(str).str.strip())
    rows = rows[rows["note"] != ""]
    if rows.empty:
        return 0
    if (rows["note"].str.len() > MAX_NOTE).any():
        raise ValueError(f"a note has at most {MAX_NOTE} characters")
    table = pa.Table.from_pandas(rows[["unit_id", "indicator_id", "period", "note"]].assign(
        data_version=int(data_version), upload_id=upload_id, created_by=actor.name,
        created_at=now or dt.datetime.now(dt.UTC)), schema=SCHEMA, preserve_index=False)
    write_deltalake(store.path(TABLE), table, mode="append", configuration=TABLE_CONFIG,
                    commit_properties=CommitProperties(custom_metadata={
                        "reformkpi.user": actor.name, "reformkpi.operation": "note", "reformkpi.upload_id": upload_id}))
    return len(rows)


def read(store: Store, data_version: int | None = None) -> pd.DataFrame:
    """Every note written with the data version given or before it (all of them by default)."""
    path = store.path(TABLE)
    if not DeltaTable.is_deltatable(path):
        return SCHEMA.empty_table().to_pandas()
    df = DeltaTable(path).to_pyarrow_table().to_pandas()
    return df if data_version is None else df[df["data_version"] <= data_version].reset_index(drop=True)


def version(store: Store) -> int | None:
    """The notes table's version (None before the first note): a new note changes it."""
    path = store.path(TABLE)
    return DeltaTable(path).version() if DeltaTable.is_deltatable(path) else None
