"""Writing records as Parquet data files and committing them to the Delta table by hand.

Rows come sorted by partition (then unit, time, dossier) from DuckDB as a stream; each file is
written with one `pyarrow.parquet.ParquetWriter` open at a time, its Delta statistics computed
batch by batch, and the Add (and Remove) actions committed in one transaction. `deltalake`'s own
writer is not used: an ingest must add new and corrected rows and remove the files holding old
versions of corrected ones in one commit, from a stream whose size has no bound, sorted within
each file so that a unit's rows share row groups; `write_deltalake` appends or overwrites by
predicate, it cannot remove chosen files in the commit that adds the rewritten ones, and
`merge` joins the source against the table in memory. Where both can do the same work (the
first load: sorted rows appended), this writer is also the faster and leaner one:
`python -m benchmarks records --writers --sizes=1000000` wrote the demo's 1,006,789 records
(43 files) at 225,405 rows/s (3.0 s CPU, peak 796 MiB resident) against `write_deltalake`'s
173,701 rows/s (3.8 s CPU, 1,241 MiB), both peaks counting the rows held in DuckDB, on a shared
2-core machine (2026-12-01; `write_deltalake` ran second, in the same process).

A writer that loses a commit race (or fails before committing) deletes the files it wrote: no
version names them, and nothing else would ever remove them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake.exceptions import CommitFailedError
from deltalake.transaction import AddAction, RemoveAction

from reformkpi import objectstore
from reformkpi.records.scan import PARTITION, RECORD_SCHEMA

# Row groups small enough that a unit's rows (sorted together) skip most of a file on reading.
ROW_GROUP = 128 * 1024
FILE_ROWS = 2_000_000
# Every write path and compaction sort a quarter's rows so: a unit's dossiers share row groups.
SORT_KEY = "unit_id, received_at, dossier_id"
log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


def relative(file_path: str) -> str:
    """A data file's path relative to the table (how the Delta log names it), from any spelling
    of its full path (DuckDB may report it without the URI scheme)."""
    return file_path[file_path.rindex(f"/{PARTITION}=") + 1:]


def write_files(table: DeltaTable, reader: pa.RecordBatchReader, written: list[AddAction],
                data_change: bool = True) -> list[AddAction]:
    """Write rows sorted by partition as Parquet files of at most FILE_ROWS rows, one file open at a
    time (memory stays bounded whatever the size of the export); the actions to commit them, also
    appended to `written` as each file is closed (so that a failure can remove them).

    The statistics are those Delta readers (Spark, Trino, delta-rs) use to skip files.
    """
    fs, root = objectstore.arrow_fs(table.table_uri)
    data_schema = pa.schema([f for f in RECORD_SCHEMA if f.name != PARTITION])
    actions: list[AddAction] = []
    state: dict = {}

    def close():
        if state:
            state["writer"].close()
            size = fs.get_file_info(f"{root}/{state['rel']}").size
            add = AddAction(state["rel"], size, {PARTITION: state["quarter"]}, now_ms(), data_change,
                            json.dumps(_stats(state)))
            actions.append(add)
            written.append(add)
            state.clear()

    try:
        for batch in reader:
            parts = batch.column(PARTITION)
            data = batch.drop_columns([PARTITION])
            for quarter, start, length in _runs(parts):
                if state and (state["quarter"] != quarter or state["rows"] >= FILE_ROWS):
                    close()
                if not state:
                    rel = f"{PARTITION}={quarter}/part-{uuid.uuid4().hex}.zstd.parquet"
                    fs.create_dir(f"{root}/{PARTITION}={quarter}", recursive=True)
                    state.update(rel=rel, quarter=quarter, rows=0, stats=[], writer=pq.ParquetWriter(
                        f"{root}/{rel}", data_schema, filesystem=fs, compression="zstd"))
                chunk = data.slice(start, length)
                state["writer"].write_batch(chunk, row_group_size=ROW_GROUP)
                state["rows"] += length
                state["stats"].append(_batch_stats(chunk))
        close()
    except BaseException:
        if state:  # the file being written: closed so that it can be removed with the others
            state["writer"].close()
            written.append(AddAction(state["rel"], 0, {}, 0, data_change, "{}"))
        raise
    return actions


def removed(rel_path: str, quarter: str, size: int | None, data_change: bool = True) -> RemoveAction:
    return RemoveAction(rel_path, data_change, now_ms(), size, {PARTITION: quarter})


def commit(table: DeltaTable, actions: list[AddAction | RemoveAction], meta: dict,
           retries: int | None = None) -> bool:
    """Commit the actions as one version; False if another writer's commit won (with `retries`
    left at 0), the files added deleted then."""
    try:
        table.create_write_transaction(actions, "append", RECORD_SCHEMA, [PARTITION],
                                       commit_properties=CommitProperties(custom_metadata=meta,
                                                                          max_commit_retries=retries))
    except CommitFailedError:
        delete_unreferenced(table, [a for a in actions if isinstance(a, AddAction)])
        return False
    except BaseException:
        delete_unreferenced(table, [a for a in actions if isinstance(a, AddAction)])
        raise
    return True


def delete_unreferenced(table: DeltaTable, adds: list[AddAction]) -> None:
    """Delete data files written for a commit that did not happen."""
    fs, root = objectstore.arrow_fs(table.table_uri)
    for a in adds:
        try:
            fs.delete_file(f"{root}/{a.path}")
        except (FileNotFoundError, OSError) as e:  # already gone, or the store refuses: say so, go on
            log.warning("could not delete the uncommitted data file %s: %s", a.path, e)


def _runs(parts: pa.Array) -> Iterator[tuple[str, int, int]]:
    """Runs of equal partition values in a sorted batch: (value, offset, length)."""
    ends = pc.indices_nonzero(pc.not_equal(parts.slice(1), parts.slice(0, len(parts) - 1))).to_pylist()
    start = 0
    for end in [e + 1 for e in ends] + [len(parts)]:
        yield parts[start].as_py(), start, end - start
        start = end


def _batch_stats(batch: pa.RecordBatch) -> dict:
    out = {"rows": batch.num_rows, "min": {}, "max": {}, "nulls": {}}
    for name, col in zip(batch.schema.names, batch.columns):
        mm = pc.min_max(col)
        out["min"][name], out["max"][name] = mm["min"].as_py(), mm["max"].as_py()
        out["nulls"][name] = col.null_count
    return out


def _stats(state: dict) -> dict:
    """Delta file statistics; timestamps to the millisecond, the maximum rounded up so that it never
    understates (a reader skipping on it must not skip a row)."""
    parts = state["stats"]
    mins, maxs = {}, {}
    for name in parts[0]["min"]:
        lo = [p["min"][name] for p in parts if p["min"][name] is not None]
        hi = [p["max"][name] for p in parts if p["max"][name] is not None]
        if lo:
            mins[name], maxs[name] = _stat_value(min(lo)), _stat_value(max(hi), up=True)
    return {"numRecords": sum(p["rows"] for p in parts), "minValues": mins, "maxValues": maxs,
            "nullCount": {name: sum(p["nulls"][name] for p in parts) for name in parts[0]["nulls"]}}


def _stat_value(v, up: bool = False):
    if isinstance(v, dt.datetime):
        ms = v.replace(microsecond=v.microsecond // 1000 * 1000)
        if up and ms < v:
            ms += dt.timedelta(milliseconds=1)
        return ms.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return v


def sorted_rows(con, query: str) -> pa.RecordBatchReader:
    """The rows of a query in the table's schema, as a stream (never the whole result in memory)."""
    source = con.sql(query).to_arrow_reader(64 * 1024)

    def conformed():
        for batch in source:
            yield pa.RecordBatch.from_arrays([batch.column(f.name).cast(f.type) for f in RECORD_SCHEMA],
                                             schema=RECORD_SCHEMA)

    return pa.RecordBatchReader.from_batches(RECORD_SCHEMA, conformed())
