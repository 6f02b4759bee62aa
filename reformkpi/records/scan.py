"""Where the records table is and how it is read: its schema, its data files of a version with their
Delta statistics, and the SQL that scans them (DuckDB, in UTC, quarters in Viet Nam time)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from reformkpi import objectstore, periods
from reformkpi.formatting import VIETNAM_TIME
from reformkpi.store import Store, parquet_list, sql_text

RECORDS = "records"
LOCAL_TZ = "Asia/Ho_Chi_Minh"  # DuckDB's name for formatting.VIETNAM_TIME (UTC+7, no daylight saving)
CHANNELS = ("online", "in_person", "post")
PARTITION = "received_quarter"
TS = pa.timestamp("us", tz="UTC")
RECORD_SCHEMA = pa.schema([
    ("dossier_id", pa.string()),
    ("unit_id", pa.string()),
    ("procedure_code", pa.string()),
    ("procedure_name", pa.string()),
    ("channel", pa.string()),
    ("received_at", TS),
    ("due_at", TS),
    ("resolved_at", TS),
    ("status", pa.string()),
    ("upload_id", pa.string()),
    (PARTITION, pa.string()),
])


def path(store: Store) -> str:
    return store.path(RECORDS)


def exists(store: Store) -> bool:
    return store.has(RECORDS)


def version(store: Store) -> int | None:
    return store.version(RECORDS) if exists(store) else None


@dataclass(frozen=True)
class DataFile:
    """A data file of a version: its path, partition, and until when its dossiers may be open
    (the latest resolved_at in the Delta statistics; None if one is still open or unknown)."""

    path: str
    quarter: str
    open_until: dt.datetime | None

    def may_be_open_at(self, moment: dt.datetime) -> bool:
        return self.open_until is None or self.open_until >= moment


def full_path(table: DeltaTable, rel: str) -> str:
    """A data file's path as the Delta log names it (relative to the table, or absolute) made absolute."""
    return rel if "://" in rel or rel.startswith("/") else f"{table.table_uri.rstrip('/')}/{rel}"


def files(store: Store, version: int | None = None) -> list[DataFile]:
    """The data files of a version, as any engine reads them (Delta file list and statistics)."""
    table = store.pinned(RECORDS, version)
    actions = pa.table(table.get_add_actions(flatten=True))
    cols = actions.column_names
    n = actions.num_rows
    nulls = actions.column("null_count.resolved_at").to_pylist() if "null_count.resolved_at" in cols else [None] * n
    latest = actions.column("max.resolved_at").to_pylist() if "max.resolved_at" in cols else [None] * n
    return [DataFile(full_path(table, p), q, last if nulls_ == 0 and last is not None else None)
            for p, q, nulls_, last in zip(actions.column("path").to_pylist(),
                                          actions.column(f"partition.{PARTITION}").to_pylist(), nulls, latest)]


def connect(store: Store | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for the records (one that reads the store's files when it is an object store)."""
    con = objectstore.register(duckdb.connect(), store.uri) if store is not None else duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # the bar would fill logs of long ingests
    return con


def select_list(columns) -> str:
    """Columns of the records to read, channels as an enumeration (a dictionary in Arrow): counted
    by their codes, not their text."""
    channel = f"TRY_CAST(channel AS ENUM({', '.join(map(sql_text, CHANNELS))})) AS channel"
    return ", ".join(channel if c == "channel" else c for c in columns)


def scan_sql(file_list: list[str]) -> str:
    """SQL for the rows of the given data files (the partition column is in the file paths only)."""
    if not file_list:
        cols = ", ".join(f"NULL::{'TIMESTAMPTZ' if pa.types.is_timestamp(f.type) else 'VARCHAR'} AS {f.name}"
                         for f in RECORD_SCHEMA if f.name != PARTITION)
        return f"(SELECT {cols} WHERE false)"
    return parquet_list(file_list)


# Viet Nam keeps one offset all year, so its calendar days are whole-number arithmetic on the
# instants: ten times cheaper per row than DuckDB's time-zone functions (ICU).
DAY_US = 86_400 * 10**6
LOCAL_OFFSET_US = int(VIETNAM_TIME.utcoffset(None).total_seconds()) * 10**6


def local_quarter_sql(col: str) -> str:
    """The quarter ('2025-Q3') of an instant in Viet Nam time."""
    local = f"make_timestamp(epoch_us({col}) + {LOCAL_OFFSET_US})"
    return f"strftime({local}, '%Y') || '-Q' || CAST(quarter({local}) AS VARCHAR)"


def bounds(quarter: str) -> tuple[dt.datetime, dt.datetime]:
    """A quarter as [start, end) instants in Viet Nam time."""
    start = dt.datetime.combine(periods.start(quarter), dt.time(), VIETNAM_TIME)
    end = dt.datetime.combine(periods.end(quarter) + dt.timedelta(days=1), dt.time(), VIETNAM_TIME)
    return start, end
