"""The records table: one row per dossier, a Delta table partitioned by the quarter it was received.

Exports from the one-stop-shop systems (CSV or Parquet) are read in chunks, normalised and
staged on disk in buckets by dossier_id, then diffed bucket by bucket against the current
version with DuckDB (which spills to disk), so a file of any size is never held in memory. New
and changed rows are written quarter by quarter, sorted, and a file holding an old version of a
changed row is rewritten without it, all in one Delta commit whose metadata is a CommitInfo,
like observations.

Times: the exports write local time (Viet Nam, UTC+7, no daylight saving); the table stores
UTC instants (Delta `timestamp`), which Spark and Trino read without a table feature. A due
date given without a time of day means the end of that day.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake.exceptions import CommitFailedError
from deltalake.transaction import AddAction, RemoveAction

from reformkpi import config
from reformkpi.store import MAX_RETRIES, TABLE_CONFIG, CommitInfo, Store, StoreError, backoff

RECORDS = "records"
LOCAL_TZ = "Asia/Ho_Chi_Minh"
LOCAL_OFFSET = dt.timezone(dt.timedelta(hours=7))
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
INPUT_COLUMNS = RECORD_SCHEMA.names[:9]
# Compared to tell a corrected record from a re-sent one (upload_id and the partition follow).
VALUE_COLUMNS = INPUT_COLUMNS[1:]
CHUNK_ROWS = 500_000
CSV_ROW_BYTES = 200
# Row groups small enough that a unit's rows (sorted together) skip most of a file on reading.
ROW_GROUP = 128 * 1024
FILE_ROWS = 2_000_000
# Rows diffed at a time (an export is split by a hash of dossier_id): what DuckDB holds in memory.
BUCKET_ROWS = 2_000_000
# Every write path and compaction sort a quarter's rows so: a unit's dossiers share row groups.
SORT_KEY = "unit_id, received_at, dossier_id"
MAX_PROBLEMS = 50


class RecordsError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class IngestResult:
    version: int | None
    upload_id: str
    rows_read: int
    rows_new: int
    rows_changed: int
    rows_unchanged: int
    attempts: int

    @property
    def committed(self) -> bool:
        return self.rows_new + self.rows_changed > 0


def path(store: Store) -> str:
    return store.path(RECORDS)


def exists(store: Store) -> bool:
    return DeltaTable.is_deltatable(path(store))


def version(store: Store) -> int | None:
    return DeltaTable(path(store)).version() if exists(store) else None


@dataclass(frozen=True)
class DataFile:
    """A data file of a version: its path, partition, and until when its dossiers may be open
    (the latest resolved_at in the Delta statistics; None if one is still open or unknown)."""

    path: str
    quarter: str
    open_until: dt.datetime | None

    def may_be_open_at(self, moment: dt.datetime) -> bool:
        return self.open_until is None or self.open_until >= moment


def files(store: Store, version: int | None = None) -> list[DataFile]:
    """The data files of a version, as any engine reads them (Delta file list and statistics)."""
    table = DeltaTable(path(store), version=version)
    actions = pa.table(table.get_add_actions(flatten=True))
    root = table.table_uri.rstrip("/")
    cols = actions.column_names
    n = actions.num_rows
    nulls = actions.column("null_count.resolved_at").to_pylist() if "null_count.resolved_at" in cols else [None] * n
    latest = actions.column("max.resolved_at").to_pylist() if "max.resolved_at" in cols else [None] * n
    return [DataFile(p if "://" in p or p.startswith("/") else f"{root}/{p}", q,
                     last if nulls_ == 0 and last is not None else None)
            for p, q, nulls_, last in zip(actions.column("path").to_pylist(),
                                          actions.column(f"partition.{PARTITION}").to_pylist(), nulls, latest)]


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # the bar would fill logs of long ingests
    return con


def scan_sql(file_list: list[str]) -> str:
    """SQL for the rows of the given data files (the partition column is in the file paths only)."""
    if not file_list:
        cols = ", ".join(f"NULL::{'TIMESTAMPTZ' if pa.types.is_timestamp(f.type) else 'VARCHAR'} AS {f.name}"
                         for f in RECORD_SCHEMA if f.name != PARTITION)
        return f"(SELECT {cols} WHERE false)"
    return f"read_parquet([{', '.join(map(_quote, file_list))}], hive_partitioning = false)"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def local_quarter_sql(col: str) -> str:
    """The quarter ('2025-Q3') of an instant in Viet Nam time."""
    return (f"strftime(timezone('{LOCAL_TZ}', {col}), '%Y') || '-Q' || "
            f"CAST(quarter(timezone('{LOCAL_TZ}', {col})) AS VARCHAR)")


# --- reading exports ---

def _batches(source: Path, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    if source.suffix.lower() == ".parquet":
        yield from pq.ParquetFile(source).iter_batches(batch_size=chunk_rows)
        return
    header = pacsv.open_csv(source, read_options=pacsv.ReadOptions(block_size=1 << 20))
    names = header.schema.names
    header.close()
    # CSV is read by blocks of bytes: a dossier line is about 200 of them.
    reader = pacsv.open_csv(
        source, read_options=pacsv.ReadOptions(block_size=max(chunk_rows * CSV_ROW_BYTES, 1 << 16)),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             strings_can_be_null=True))
    yield from reader


def _ts_expr(col: str, typ: pa.DataType, end_of_day: bool = False) -> str:
    """A column of an export as a UTC instant: naive times and text are Viet Nam local time."""
    if pa.types.is_timestamp(typ) and typ.tz:
        return f"CAST({col} AS TIMESTAMPTZ)"
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        return f"timezone('{LOCAL_TZ}', CAST({col} AS TIMESTAMP))"
    text = f"nullif(trim({col}), '')"
    parsed = f"timezone('{LOCAL_TZ}', TRY_CAST({text} AS TIMESTAMP))"
    if end_of_day:
        day_end = f"timezone('{LOCAL_TZ}', TRY_CAST({text} AS DATE) + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND)"
        return f"CASE WHEN length({text}) = 10 THEN {day_end} ELSE {parsed} END"
    return parsed


def _normalise_sql(schema: pa.Schema, first_row: int) -> str:
    missing = [c for c in INPUT_COLUMNS if c not in schema.names and c != "resolved_at"]
    if missing:
        raise RecordsError([f"column {c!r} is missing" for c in missing])
    text = {c: f"nullif(trim(CAST({c} AS VARCHAR)), '')" for c in INPUT_COLUMNS}
    has_resolved = "resolved_at" in schema.names
    resolved = _ts_expr("resolved_at", schema.field("resolved_at").type) if has_resolved else "NULL"
    given = "nullif(trim(CAST(resolved_at AS VARCHAR)), '') IS NOT NULL" if has_resolved else "false"
    return f"""
        SELECT {text['dossier_id']} AS dossier_id, {text['unit_id']} AS unit_id,
          {text['procedure_code']} AS procedure_code, coalesce({text['procedure_name']}, '') AS procedure_name,
          lower({text['channel']}) AS channel,
          {_ts_expr('received_at', schema.field('received_at').type)} AS received_at,
          {_ts_expr('due_at', schema.field('due_at').type, end_of_day=True)} AS due_at,
          {resolved} AS resolved_at, coalesce({text['status']}, '') AS status,
          {first_row} + row_number() OVER () - 1 AS _row,
          {given} AS _has_resolved
        FROM batch"""


def _problems(con, unit_ids: set[str]) -> list[str]:
    checks = [
        ("dossier_id IS NULL", "dossier_id: empty"),
        ("unit_id IS NULL", "unit_id: empty"),
        ("procedure_code IS NULL", "procedure_code: empty"),
        ("channel IS NULL OR channel NOT IN ('online', 'in_person', 'post')",
         "channel: not one of online, in_person, post"),
        ("received_at IS NULL", "received_at: empty or not a date and time"),
        ("due_at IS NULL", "due_at: empty or not a date and time"),
        ("_has_resolved AND resolved_at IS NULL", "resolved_at: not a date and time"),
        ("due_at < received_at", "due_at: before received_at"),
        ("resolved_at < received_at", "resolved_at: before received_at"),
    ]
    out = []
    for cond, text in checks:
        rows = con.execute(f"SELECT _row FROM norm WHERE {cond} ORDER BY _row LIMIT {MAX_PROBLEMS}").fetchall()
        out += [f"row {r[0]}: {text}" for r in rows]
    unknown = con.execute("SELECT min(_row), unit_id FROM norm WHERE unit_id IS NOT NULL AND unit_id NOT IN "
                          "(SELECT unnest(?)) GROUP BY unit_id ORDER BY 1 LIMIT ?",
                          [sorted(unit_ids), MAX_PROBLEMS]).fetchall()
    out += [f"row {r[0]}: unit_id {r[1]!r} is not in the catalog" for r in unknown]
    return out


def _expected_rows(source: Path) -> int:
    """Rows an export holds: exact for Parquet, estimated from its first megabyte for CSV."""
    if source.suffix.lower() == ".parquet":
        return pq.ParquetFile(source).metadata.num_rows
    size = source.stat().st_size
    with open(source, "rb") as f:
        head = f.read(1 << 20)
    lines = max(head.count(b"\n"), 1)
    return max(int(size * lines / max(len(head), 1)) - 1, 1)


def stage(source: Path, workdir: Path, unit_ids: set[str], chunk_rows: int = CHUNK_ROWS, buckets: int = 1,
          on_rows: Callable[[int], None] | None = None) -> int:
    """Read an export chunk by chunk into normalised Parquet files under workdir/stage, split into
    `buckets` by a hash of dossier_id (so that each bucket is diffed on its own); raise RecordsError
    listing problems.

    Row numbers are the file's own: CSV lines counting the header as line 1, Parquet rows from 1.
    """
    con = connect()
    first = 2 if source.suffix.lower() != ".parquet" else 1
    problems: list[str] = []
    n = 0
    for i, batch in enumerate(_batches(source, chunk_rows)):
        con.register("batch", batch)
        con.execute(f"CREATE OR REPLACE TEMP TABLE norm AS {_normalise_sql(batch.schema, first + n)}")
        con.unregister("batch")
        if len(problems) < MAX_PROBLEMS:
            problems += _problems(con, unit_ids)
        if not problems:
            con.execute(f"COPY (SELECT * EXCLUDE (_has_resolved), hash(dossier_id) % {buckets} AS _bucket FROM norm) "
                        f"TO '{workdir / 'stage'}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (_bucket), "
                        f"FILENAME_PATTERN 'chunk-{i:06d}-{{i}}', OVERWRITE_OR_IGNORE)")
        n += batch.num_rows
        if on_rows:
            on_rows(n)
    if problems:
        raise RecordsError(sorted(problems, key=lambda p: int(p.split(":")[0].split()[1]))[:MAX_PROBLEMS])
    return n


# --- writing ---

@dataclass(frozen=True)
class Progress:
    """Where an ingest is: stage ('read', 'diff', 'write'), rows done in it of the expected total,
    seconds since the ingest started and since the stage started."""

    stage: str
    rows: int
    total: int
    elapsed: float
    stage_elapsed: float

    @property
    def fraction(self) -> float:
        done = STAGES.index(self.stage) + min(self.rows / max(self.total, 1), 1.0)
        return done / len(STAGES)

    @property
    def rows_per_s(self) -> float | None:
        return self.rows / self.stage_elapsed if self.stage_elapsed > 0 and self.rows else None

    @property
    def eta(self) -> float | None:
        """Seconds left, assuming the stages to come take as long as those done so far."""
        f = self.fraction
        return self.elapsed * (1 - f) / f if f > 0.01 else None


STAGES = ("read", "diff", "write")


class _Tracker:
    def __init__(self, total: int, report: Callable[[Progress], None] | None):
        self.total, self.report = total, report
        self.start = self.stage_start = self.last = time.perf_counter()
        self.stage = STAGES[0]

    def __call__(self, stage: str, rows: int) -> None:
        now = time.perf_counter()
        if stage != self.stage:  # the stage began when the previous one last reported
            self.stage, self.stage_start = stage, self.last
        self.last = now
        if self.report:
            self.report(Progress(stage, rows, self.total, now - self.start, now - self.stage_start))


def _create(store: Store, info: CommitInfo) -> None:
    DeltaTable.create(path(store), RECORD_SCHEMA, partition_by=[PARTITION], configuration=TABLE_CONFIG,
                      commit_properties=CommitProperties(custom_metadata=info.metadata(rows_new=0)))


def ingest(store: Store, source: str | Path, info: CommitInfo, unit_ids: set[str],
           chunk_rows: int = CHUNK_ROWS, memory_limit: str = "2GB", tmp_dir: str | Path | None = None,
           progress: Callable[[Progress], None] | None = None) -> IngestResult:
    """Upsert an export by dossier_id in one Delta commit; unchanged records are not rewritten.

    Within one export the last row of a dossier wins. A record that differs from the stored one
    in any column replaces it (a corrected export); a re-sent export commits nothing.

    Temporary files (about the export's size: the normalised rows, then the rows to write, one
    bucket and one quarter at a time) go to a folder under `tmp_dir` (default
    `config.records_tmp_dir()`), removed on success and on failure. Memory stays bounded: DuckDB
    holds one bucket of BUCKET_ROWS rows (spilling beyond memory_limit), the writer one batch.
    """
    source = Path(source)
    root = Path(tmp_dir or config.records_tmp_dir())
    root.mkdir(parents=True, exist_ok=True)
    total = _expected_rows(source)
    buckets = max(1, -(-total // BUCKET_ROWS))
    track = _Tracker(total, progress)
    for attempt in range(1, MAX_RETRIES + 1):
        workdir = Path(tempfile.mkdtemp(prefix="records-ingest-", dir=root))
        try:
            n = stage(source, workdir, unit_ids, chunk_rows, buckets, lambda rows: track("read", rows))
            track.total = n
            if not exists(store):
                _create(store, CommitInfo(user=info.user, operation="init", file_name=RECORDS))
            result = _commit(store, workdir, n, buckets, info, attempt, memory_limit, track)
            if result is not None:
                return result
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        backoff(attempt)
    raise StoreError(f"gave up after {MAX_RETRIES} conflicting commits")


def _rel(file_path: str) -> str:
    """A data file's path relative to the table (how the Delta log names it), from any spelling
    of its full path (DuckDB may report it without the URI scheme)."""
    return file_path[file_path.rindex(f"/{PARTITION}=") + 1:]


def _commit(store: Store, workdir: Path, n: int, buckets: int, info: CommitInfo, attempt: int,
            memory_limit: str, track: _Tracker) -> IngestResult | None:
    """Diff bucket by bucket, then write quarter by quarter, in one commit; None if another commit won."""
    table = DeltaTable(path(store))
    base = table.version()
    current = files(store, base)
    con = connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{workdir / 'spill'}'")
    con.execute("SET preserve_insertion_order = false")
    cur = (f"read_parquet([{', '.join(_quote(f.path) for f in current)}], hive_partitioning = false, "
           f"filename = true)" if current else
           f"(SELECT *, NULL::VARCHAR AS filename FROM {scan_sql([])})")
    same = " AND ".join(f"i.{c} IS NOT DISTINCT FROM c.{c}" for c in VALUE_COLUMNS)
    new = changed = unchanged = done = 0
    for b in range(buckets):
        bdir = workdir / "stage" / f"_bucket={b}"
        if not bdir.exists():
            continue
        con.execute(f"""CREATE OR REPLACE TEMP TABLE cmp AS
            WITH inc AS (SELECT * FROM read_parquet('{bdir}/*.parquet', hive_partitioning = false)
                         QUALIFY row_number() OVER (PARTITION BY dossier_id ORDER BY _row DESC) = 1)
            SELECT i.* EXCLUDE (_row), c.dossier_id IS NULL AS is_new,
                   c.dossier_id IS NOT NULL AND NOT ({same}) AS is_changed, c.filename AS old_file
            FROM inc i LEFT JOIN (SELECT * FROM {cur} WHERE hash(dossier_id) % {buckets} = {b}) c
            ON i.dossier_id = c.dossier_id""")
        nb, cb, ub = con.execute("SELECT count(*) FILTER (is_new), count(*) FILTER (is_changed), "
                                 "count(*) FILTER (NOT is_new AND NOT is_changed) FROM cmp").fetchall()[0]
        new, changed, unchanged = new + nb, changed + cb, unchanged + ub
        if nb + cb:
            con.execute(f"""COPY (SELECT * EXCLUDE (is_new, is_changed, old_file), '{info.upload_id}' AS upload_id,
                                   {local_quarter_sql('received_at')} AS {PARTITION}
                                 FROM cmp WHERE is_new OR is_changed)
                            TO '{workdir / 'out'}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({PARTITION}),
                            FILENAME_PATTERN 'bucket-{b:06d}-{{i}}', OVERWRITE_OR_IGNORE)""")
        if cb:
            con.execute(f"COPY (SELECT dossier_id, old_file FROM cmp WHERE is_changed) "
                        f"TO '{workdir / f'changed-{b:06d}.parquet'}' (FORMAT parquet)")
        shutil.rmtree(bdir)
        done += nb + cb + ub
        track("diff", done)
    con.execute("DROP TABLE IF EXISTS cmp")
    if new + changed == 0:
        return IngestResult(base, info.upload_id, n, 0, 0, unchanged, attempt)
    touched = {}
    if changed:
        olds = {_rel(p) for (p,) in con.execute(f"SELECT DISTINCT old_file FROM '{workdir}/changed-*.parquet'").fetchall()}
        touched = {f.path: f for f in current if _rel(f.path) in olds}
    meta = info.metadata(rows_read=n, rows_new=new, rows_changed=changed, rows_unchanged=unchanged,
                         base_version=base)
    actions: list[AddAction | RemoveAction] = []
    written = 0
    quarters = {d.name.split("=", 1)[1] for d in (workdir / "out").iterdir()} | {f.quarter for f in touched.values()}
    for q in sorted(quarters):
        parts = []
        qdir = workdir / "out" / f"{PARTITION}={q}"
        if qdir.exists():
            parts.append(f"SELECT * FROM read_parquet('{qdir}/*.parquet', hive_partitioning = false)")
        mine = [p for p, f in touched.items() if f.quarter == q]
        if mine:
            # Files holding an old version of a changed record are rewritten whole, without it.
            parts.append(f"SELECT * EXCLUDE (filename) FROM read_parquet([{', '.join(map(_quote, mine))}], "
                         f"hive_partitioning = false, filename = true) WHERE dossier_id NOT IN "
                         f"(SELECT dossier_id FROM '{workdir}/changed-*.parquet')")
        rows = f"SELECT *, '{q}' AS {PARTITION} FROM ({' UNION ALL BY NAME '.join(parts)})"
        adds = _write_files(table, _reader(con, f"{rows} ORDER BY {SORT_KEY}"))
        actions += adds
        if qdir.exists():
            shutil.rmtree(qdir)
        written += sum(json.loads(a.stats)["numRecords"] for a in adds)
        track("write", written)
    now = int(time.time() * 1000)
    actions += [RemoveAction(_rel(p), True, now, None, {PARTITION: f.quarter}) for p, f in touched.items()]
    try:
        table.create_write_transaction(actions, "append", RECORD_SCHEMA, [PARTITION],
                                       commit_properties=CommitProperties(custom_metadata=meta, max_commit_retries=0))
    except CommitFailedError:
        return None
    return IngestResult(DeltaTable(path(store)).version(), info.upload_id, n, new, changed, unchanged, attempt)


def compact(store: Store, info: CommitInfo, memory_limit: str = "2GB") -> int | None:
    """Rewrite each quarter whose rows sit in more files than FILE_ROWS requires (many small
    appends) as few files sorted like every write (unit, then time), in one commit that changes no
    data. The old files stay on disk (the store is never vacuumed), so every earlier version,
    pinned by a snapshot or not, stays readable. Returns the new version, or None if nothing to do.
    """
    if not exists(store):
        return None
    table = DeltaTable(path(store))
    base = table.version()
    adds = pa.table(table.get_add_actions(flatten=True))
    by_quarter: dict[str, list[tuple[str, int, int]]] = {}
    for p, q, rows, size in zip(adds.column("path").to_pylist(), adds.column(f"partition.{PARTITION}").to_pylist(),
                                adds.column("num_records").to_pylist(), adds.column("size_bytes").to_pylist()):
        by_quarter.setdefault(q, []).append((p, rows or 0, size))
    todo = {q: fs_ for q, fs_ in by_quarter.items() if len(fs_) > -(-sum(r for _, r, _ in fs_) // FILE_ROWS)}
    if not todo:
        return None
    con = connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    root = table.table_uri.rstrip("/")
    actions: list[AddAction | RemoveAction] = []
    now = int(time.time() * 1000)
    for q, old in sorted(todo.items()):
        full = [p if "://" in p or p.startswith("/") else f"{root}/{p}" for p, _, _ in old]
        rows = f"SELECT *, '{q}' AS {PARTITION} FROM {scan_sql(full)} ORDER BY {SORT_KEY}"
        actions += _write_files(table, _reader(con, rows), data_change=False)
        actions += [RemoveAction(p, False, now, size, {PARTITION: q}) for p, _, size in old]
    meta = info.metadata(base_version=base, quarters=len(todo), files_removed=sum(len(v) for v in todo.values()))
    table.create_write_transaction(actions, "append", RECORD_SCHEMA, [PARTITION],
                                   commit_properties=CommitProperties(custom_metadata=meta))
    return DeltaTable(path(store)).version()


def _write_files(table: DeltaTable, reader: pa.RecordBatchReader, data_change: bool = True) -> list[AddAction]:
    """Write rows sorted by partition as Parquet files of at most FILE_ROWS rows, one file open at a
    time (memory stays bounded whatever the size of the export); the actions to commit them.

    The statistics are those Delta readers (Spark, Trino, delta-rs) use to skip files.
    """
    fs, root = pafs.FileSystem.from_uri(table.table_uri)
    data_schema = pa.schema([f for f in RECORD_SCHEMA if f.name != PARTITION])
    actions: list[AddAction] = []
    state: dict = {}

    def close():
        if state:
            state["writer"].close()
            size = fs.get_file_info(f"{root}/{state['rel']}").size
            actions.append(AddAction(state["rel"], size, {PARTITION: state["quarter"]},
                                     int(time.time() * 1000), data_change, json.dumps(_stats(state))))
            state.clear()

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
    return actions


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


def _reader(con, query: str) -> pa.RecordBatchReader:
    """The rows of a query in the table's schema, as a stream (never the whole result in memory)."""
    source = con.sql(query).to_arrow_reader(64 * 1024)

    def conformed():
        for batch in source:
            yield pa.RecordBatch.from_arrays([batch.column(f.name).cast(f.type) for f in RECORD_SCHEMA],
                                             schema=RECORD_SCHEMA)

    return pa.RecordBatchReader.from_batches(RECORD_SCHEMA, conformed())
