"""The records table's two writes: an ingest of an export and a compaction. One row per dossier, a
Delta table partitioned by the quarter it was received (its schema and reading: `scan`).

Exports from the one-stop-shop systems (CSV or Parquet) are read under a budget, normalised,
checked and staged on disk in buckets by dossier_id (`staging`), then diffed bucket by bucket
against the current version with DuckDB (which spills to disk), so a file of any size is never
held in memory. New and changed rows are written quarter by quarter, sorted, and a file holding
an old version of a changed row is rewritten without it, all in one Delta commit whose metadata
is a CommitInfo, like observations (`writer`). Both writes require the upload permission.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable
from deltalake.transaction import AddAction, RemoveAction

from reformkpi import config, integrity
from reformkpi.auth import Actor, require
from reformkpi.config import Limits
from reformkpi.records import staging, writer
from reformkpi.records.scan import (PARTITION, RECORD_SCHEMA, RECORDS, connect, exists, files, full_path,
                                    local_quarter_sql, path, scan_sql)
from reformkpi.records.workdir import create_workdir, sweep_abandoned
from reformkpi.records.writer import FILE_ROWS, SORT_KEY, relative, sorted_rows
from reformkpi.store import MAX_RETRIES, TABLE_CONFIG, CommitInfo, Store, StoreError, backoff, parquet_list, sql_text

# A record that differs from the stored one in any of these is a correction (upload_id and the
# partition follow from them).
VALUE_COLUMNS = staging.INPUT_COLUMNS[1:]
# Rows diffed at a time (an export is split by a hash of dossier_id): what DuckDB holds in memory.
BUCKET_ROWS = 2_000_000
STAGES = ("read", "diff", "write")


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
                      storage_options=store.options,
                      commit_properties=CommitProperties(custom_metadata=info.metadata(rows_new=0)))


@integrity.writes(RECORDS)
def ingest(store: Store, source: str | Path, actor: Actor | None, info: CommitInfo, unit_ids: set[str],
           chunk_rows: int = staging.CHUNK_ROWS, memory_limit: str = "2GB", tmp_dir: str | Path | None = None,
           progress: Callable[[Progress], None] | None = None, limits: Limits = staging.OPERATOR_LIMITS) -> IngestResult:
    """Upsert an export by dossier_id in one Delta commit; unchanged records are not rewritten.

    The actor needs the upload permission (auth.PermissionDenied otherwise). A file that passes a
    limit or breaks a rule raises IngestError with its problems; nothing is written then. Within
    one export the last row of a dossier wins. A record that differs from the stored one in any
    column replaces it (a corrected export); a re-sent export commits nothing.

    Temporary files (about the export's size: the normalised rows, then the rows to write, one
    bucket and one quarter at a time) go to a folder under `tmp_dir` (default
    `config.records_tmp_dir()`), removed on success and on failure; one left by an ingest killed
    by a signal is removed by the next ingest (`workdir.sweep_abandoned`). Memory stays bounded:
    DuckDB holds one bucket of BUCKET_ROWS rows (spilling beyond memory_limit), the writer one batch.
    """
    require(actor, "upload")
    source = Path(source)
    total = staging.check_declared(source, limits)
    root = Path(tmp_dir or config.records_tmp_dir())
    root.mkdir(parents=True, exist_ok=True)
    sweep_abandoned(root)
    buckets = max(1, -(-total // BUCKET_ROWS))
    track = _Tracker(total, progress)
    for attempt in range(1, MAX_RETRIES + 1):
        workdir = create_workdir(root)
        try:
            n = staging.stage(source, workdir, unit_ids, chunk_rows, buckets, lambda rows: track("read", rows), limits)
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


def _commit(store: Store, workdir: Path, n: int, buckets: int, info: CommitInfo, attempt: int,
            memory_limit: str, track: _Tracker) -> IngestResult | None:
    """Diff bucket by bucket, then write quarter by quarter, in one commit; None if another commit won."""
    table = store.delta(RECORDS)
    base = table.version()
    current = files(store, base)
    con = connect(store)
    con.execute(f"SET memory_limit = {sql_text(memory_limit)}")
    con.execute(f"SET temp_directory = {sql_text(str(workdir / 'spill'))}")
    con.execute("SET preserve_insertion_order = false")
    cur = (parquet_list([f.path for f in current], filename="true") if current else
           f"(SELECT *, NULL::VARCHAR AS filename FROM {scan_sql([])})")
    same = " AND ".join(f"i.{c} IS NOT DISTINCT FROM c.{c}" for c in VALUE_COLUMNS)
    new = changed = unchanged = done = 0
    for b in range(buckets):
        bdir = workdir / "stage" / f"_bucket={b}"
        if not bdir.exists():
            continue
        con.execute(f"""CREATE OR REPLACE TEMP TABLE cmp AS
            WITH inc AS (SELECT * FROM {parquet_list([str(bdir / '*.parquet')])}
                         QUALIFY row_number() OVER (PARTITION BY dossier_id ORDER BY _row DESC) = 1)
            SELECT i.* EXCLUDE (_row), c.dossier_id IS NULL AS is_new,
                   c.dossier_id IS NOT NULL AND NOT ({same}) AS is_changed, c.filename AS old_file
            FROM inc i LEFT JOIN (SELECT * FROM {cur} WHERE hash(dossier_id) % {buckets} = {b}) c
            ON i.dossier_id = c.dossier_id""")
        nb, cb, ub = con.execute("SELECT count(*) FILTER (is_new), count(*) FILTER (is_changed), "
                                 "count(*) FILTER (NOT is_new AND NOT is_changed) FROM cmp").fetchall()[0]
        new, changed, unchanged = new + nb, changed + cb, unchanged + ub
        if nb + cb:
            con.execute(f"""COPY (SELECT * EXCLUDE (is_new, is_changed, old_file), {sql_text(info.upload_id)} AS upload_id,
                                   {local_quarter_sql('received_at')} AS {PARTITION}
                                 FROM cmp WHERE is_new OR is_changed)
                            TO {sql_text(str(workdir / 'out'))} (FORMAT parquet, COMPRESSION zstd,
                            PARTITION_BY ({PARTITION}), FILENAME_PATTERN 'bucket-{b:06d}-{{i}}', OVERWRITE_OR_IGNORE)""")
        if cb:
            con.execute(f"COPY (SELECT dossier_id, old_file FROM cmp WHERE is_changed) "
                        f"TO {sql_text(str(workdir / f'changed-{b:06d}.parquet'))} (FORMAT parquet)")
        shutil.rmtree(bdir)
        done += nb + cb + ub
        track("diff", done)
    con.execute("DROP TABLE IF EXISTS cmp")
    if new + changed == 0:
        return IngestResult(base, info.upload_id, n, 0, 0, unchanged, attempt)
    changed_ids = parquet_list([str(workdir / "changed-*.parquet")])
    touched = {}
    if changed:
        olds = {relative(p) for (p,) in con.execute(f"SELECT DISTINCT old_file FROM {changed_ids}").fetchall()}
        touched = {f.path: f for f in current if relative(f.path) in olds}
    meta = info.metadata(rows_read=n, rows_new=new, rows_changed=changed, rows_unchanged=unchanged,
                         base_version=base)
    adds: list[AddAction] = []
    try:
        written = 0
        quarters = {d.name.split("=", 1)[1] for d in (workdir / "out").iterdir()} | {f.quarter for f in touched.values()}
        for q in sorted(quarters):
            parts = []
            qdir = workdir / "out" / f"{PARTITION}={q}"
            if qdir.exists():
                parts.append(f"SELECT * FROM {parquet_list([str(qdir / '*.parquet')])}")
            mine = [p for p, f in touched.items() if f.quarter == q]
            if mine:
                # Files holding an old version of a changed record are rewritten whole, without it.
                parts.append(f"SELECT * EXCLUDE (filename) FROM {parquet_list(mine, filename='true')} "
                             f"WHERE dossier_id NOT IN (SELECT dossier_id FROM {changed_ids})")
            rows = f"SELECT *, {sql_text(q)} AS {PARTITION} FROM ({' UNION ALL BY NAME '.join(parts)})"
            quarter_adds = writer.write_files(table, sorted_rows(con, f"{rows} ORDER BY {SORT_KEY}"), adds)
            if qdir.exists():
                shutil.rmtree(qdir)
            written += sum(json.loads(a.stats)["numRecords"] for a in quarter_adds)
            track("write", written)
    except BaseException:
        writer.delete_unreferenced(table, adds)
        raise
    removes = [writer.removed(relative(p), f.quarter, None) for p, f in touched.items()]
    if not writer.commit(table, [*adds, *removes], meta, retries=0):
        return None
    return IngestResult(store.delta(RECORDS).version(), info.upload_id, n, new, changed, unchanged, attempt)


@integrity.writes(RECORDS)
def compact(store: Store, actor: Actor | None, info: CommitInfo, memory_limit: str = "2GB") -> int | None:
    """Rewrite each quarter whose rows sit in more files than FILE_ROWS requires (many small
    appends) as few files sorted like every write (unit, then time), in one commit that changes no
    data. The old files stay on disk (the store is never vacuumed), so every earlier version,
    pinned by a snapshot or not, stays readable. Returns the new version, or None if nothing to do.
    """
    require(actor, "upload")
    if not exists(store):
        return None
    table = store.delta(RECORDS)
    base = table.version()
    listed = pa.table(table.get_add_actions(flatten=True))
    by_quarter: dict[str, list[tuple[str, int, int]]] = {}
    for p, q, rows, size in zip(listed.column("path").to_pylist(), listed.column(f"partition.{PARTITION}").to_pylist(),
                                listed.column("num_records").to_pylist(), listed.column("size_bytes").to_pylist()):
        by_quarter.setdefault(q, []).append((p, rows or 0, size))
    todo = {q: fs_ for q, fs_ in by_quarter.items() if len(fs_) > -(-sum(r for _, r, _ in fs_) // FILE_ROWS)}
    if not todo:
        return None
    con = connect(store)
    con.execute(f"SET memory_limit = {sql_text(memory_limit)}")
    con.execute("SET preserve_insertion_order = false")
    adds: list[AddAction] = []
    removes: list[RemoveAction] = []
    try:
        for q, old in sorted(todo.items()):
            rows = (f"SELECT *, {sql_text(q)} AS {PARTITION} FROM {scan_sql([full_path(table, p) for p, _, _ in old])} "
                    f"ORDER BY {SORT_KEY}")
            writer.write_files(table, sorted_rows(con, rows), adds, data_change=False)
            removes += [writer.removed(p, q, size, data_change=False) for p, _, size in old]
    except BaseException:
        writer.delete_unreferenced(table, adds)
        raise
    meta = info.metadata(base_version=base, quarters=len(todo), files_removed=sum(len(v) for v in todo.values()))
    if not writer.commit(table, [*adds, *removes], meta):
        raise StoreError("another writer changed the records while they were compacted: run it again")
    return store.delta(RECORDS).version()
