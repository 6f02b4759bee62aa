"""Reading a records export (CSV or Parquet) under a budget, normalising and checking it, and staging
it on disk in buckets by dossier_id.

What the file declares is checked before anything is read (its size, a Parquet footer's rows,
columns, types and decoded size), then each batch is measured before it is expanded (a Parquet
dictionary's strings by their lengths) and every cell's length is checked: the same limits as
an upload (`config.Limits`, `reformkpi.ingest.parse`), stopping at the first one passed with a
typed `Problem`. Times in exports are Viet Nam local time unless they carry an offset or zone
(`+14:00`, `Z`, a timestamp with a time zone), which is honoured; the table stores UTC instants,
and a due date without a time of day means the end of that day. A number where a time is expected
(seconds since 1970), a time before 2000 or from 2100, and a dossier received or resolved after
the export was made are each refused with their row and column.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reformkpi.config import MB, Limits
from reformkpi.formatting import VIETNAM_TIME
from reformkpi.ingest import parse
from reformkpi.ingest.problems import IngestError, Problem
from reformkpi.records.scan import CHANNELS, LOCAL_TZ, connect
from reformkpi.store import sql_text

INPUT_COLUMNS = ["dossier_id", "unit_id", "procedure_code", "procedure_name", "channel",
                 "received_at", "due_at", "resolved_at", "status"]
CHUNK_ROWS = 500_000
CSV_ROW_BYTES = 200
# What one batch may take once decoded, whatever the limits on the whole file: what the reader
# holds in memory at once (a batch of CHUNK_ROWS ordinary dossiers is about 100 MB).
BATCH_DECODED_BYTES = 256 * MB
MAX_PROBLEMS = 50
FORMATS = (".csv", ".parquet")
# An export loaded by an operator (command line, demo) has no bound on its size, rows or decoded
# bytes: it is read a batch at a time. Cells, columns, types and each batch stay bounded, and the
# command line reads it in a child process under twice the page worker's memory cap (DuckDB gets
# half of it: 2 GB by default, what a 100M-row ingest was measured with). The page takes the
# configured limits (`config.limits()`) as they are.


def operator_limits(base: Limits = Limits()) -> Limits:
    return dataclasses.replace(base, max_bytes=sys.maxsize, max_rows=sys.maxsize, max_decoded_bytes=sys.maxsize,
                               worker_memory_mb=2 * base.worker_memory_mb)


OPERATOR_LIMITS = operator_limits()


def is_parquet(source: Path) -> bool:
    return source.suffix.lower() == ".parquet"


def check_declared(source: Path, limits: Limits) -> int:
    """Refuse what the file says it holds before reading it; the rows it holds (exact for Parquet,
    estimated from its first megabyte for CSV)."""
    if source.suffix.lower() not in FORMATS:
        raise IngestError([Problem("unsupported_format", value=source.suffix or source.name)])
    size = source.stat().st_size
    if size > limits.max_bytes:
        raise IngestError([Problem("too_large", fields={"size": size // MB, "limit": limits.max_bytes // MB})])
    if not is_parquet(source):
        with open(source, "rb") as f:
            head = f.read(1 << 20)
        lines = max(head.count(b"\n"), 1)
        return max(int(size * lines / max(len(head), 1)) - 1, 1)
    # Records are read a batch at a time, so their cells are bounded per batch, not per file.
    meta, _ = parse.parquet_footer(source, dataclasses.replace(limits, max_cells=sys.maxsize))
    return meta.num_rows


def _too_large_decoded(size: int, limit: int) -> IngestError:
    return IngestError([Problem("too_large_decoded", fields={"size": size // MB, "limit": limit // MB})])


def first_row(source: Path) -> int:
    """The file's row number of its first record: CSV lines count the header as line 1, Parquet
    rows count from 1."""
    return 1 if is_parquet(source) else 2


def _batches(source: Path, chunk_rows: int, limits: Limits) -> Iterator[pa.RecordBatch]:
    """The export's rows in batches, text as plain strings, each batch measured before it is
    expanded (a dictionary's strings by their lengths) and its cells' lengths checked."""
    first = first_row(source)
    rows = decoded = 0
    if is_parquet(source):
        text = [f.name for f in pq.read_schema(source) if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        batches = pq.ParquetFile(source, read_dictionary=text).iter_batches(batch_size=chunk_rows, use_threads=False)
    else:
        header = pacsv.open_csv(source, read_options=pacsv.ReadOptions(block_size=1 << 20))
        names = header.schema.names
        header.close()
        # CSV is read by blocks of bytes: a dossier line is about 200 of them.
        batches = pacsv.open_csv(
            source, read_options=pacsv.ReadOptions(block_size=max(chunk_rows * CSV_ROW_BYTES, 1 << 16)),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=True))
    for batch in batches:
        size = sum(parse.decoded_bytes(c, limits, n, first + rows) for n, c in zip(batch.schema.names, batch.columns))
        decoded += size
        if size > BATCH_DECODED_BYTES:
            raise _too_large_decoded(size, BATCH_DECODED_BYTES)
        if decoded > limits.max_decoded_bytes:
            raise _too_large_decoded(decoded, limits.max_decoded_bytes)
        batch = pa.RecordBatch.from_arrays(
            [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns],
            names=batch.schema.names)
        parse.check_field_lengths(batch, first + rows, limits)
        rows += batch.num_rows
        if rows > limits.max_rows:
            raise IngestError([Problem("too_many_rows", fields={"limit": limits.max_rows})])
        yield batch


TIMES = ("received_at", "due_at", "resolved_at")
# A time of day followed by an offset or a zone name: DuckDB's TIMESTAMP cast would drop it.
ZONED = r"[0-9]:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\s*([zZ]|[+-][0-9]|[A-Za-z]).*$"
EPOCH = r"[+-]?[0-9]+([.][0-9]*)?([eE][+-]?[0-9]+)?"  # seconds (or ms) since 1970, not a time
# The export system's clock and this server's may differ by minutes: a time this far past the
# moment the export was made is still accepted.
CLOCK_SKEW = dt.timedelta(hours=1)


def exported_at(source: Path, now: dt.datetime | None = None) -> dt.datetime:
    """The latest moment the export can describe: when its file was last written, or now if the
    clock says earlier (a file restored with an older date keeps it), plus CLOCK_SKEW."""
    now = now or dt.datetime.now(dt.UTC)
    written = dt.datetime.fromtimestamp(source.stat().st_mtime, dt.UTC)
    return min(now, written) + CLOCK_SKEW


def _ts_expr(col: str, typ: pa.DataType, end_of_day: bool = False) -> str:
    """A column of an export as a UTC instant: naive times and text are Viet Nam local time, an
    explicit offset or zone is honoured (text that has one DuckDB cannot read is no time: NULL),
    and a number is no time (NULL; `_problems` says it looks like seconds since 1970)."""
    if pa.types.is_timestamp(typ) and typ.tz:
        return f"TRY_CAST({col} AS TIMESTAMPTZ)"
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        return f"timezone('{LOCAL_TZ}', TRY_CAST({col} AS TIMESTAMP))"
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_null(typ)):
        return "NULL::TIMESTAMPTZ"
    text = f"nullif(trim({col}), '')"
    parsed = (f"CASE WHEN regexp_matches({text}, {sql_text(ZONED)}) THEN TRY_CAST({text} AS TIMESTAMPTZ) "
              f"ELSE timezone('{LOCAL_TZ}', TRY_CAST({text} AS TIMESTAMP)) END")
    if end_of_day:
        day_end = f"timezone('{LOCAL_TZ}', TRY_CAST({text} AS DATE) + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND)"
        return f"CASE WHEN length({text}) = 10 THEN {day_end} ELSE {parsed} END"
    return parsed


def _normalise_sql(schema: pa.Schema, first_row: int) -> str:
    missing = [c for c in INPUT_COLUMNS if c not in schema.names and c != "resolved_at"]
    if missing:
        raise IngestError([Problem("records_missing_column", column=c) for c in missing])
    text = {c: f"nullif(trim(CAST({c} AS VARCHAR)), '')" for c in INPUT_COLUMNS}
    has_resolved = "resolved_at" in schema.names
    parsed = {c: _ts_expr(c, schema.field(c).type, end_of_day=c == "due_at") for c in TIMES if c in schema.names}
    parsed.setdefault("resolved_at", "NULL::TIMESTAMPTZ")
    given = f"{text['resolved_at']} IS NOT NULL" if has_resolved else "false"
    # A time's text is kept only where it is no time, for the problem to show (and say if it is a number).
    unread = {c: f"CASE WHEN ({parsed[c]}) IS NULL THEN {text[c]} END" if c in schema.names else "NULL"
              for c in TIMES}
    return f"""
        SELECT {text['dossier_id']} AS dossier_id, {text['unit_id']} AS unit_id,
          {text['procedure_code']} AS procedure_code, coalesce({text['procedure_name']}, '') AS procedure_name,
          lower({text['channel']}) AS channel,
          {parsed['received_at']} AS received_at, {parsed['due_at']} AS due_at, {parsed['resolved_at']} AS resolved_at,
          coalesce({text['status']}, '') AS status,
          {first_row} + row_number() OVER () - 1 AS _row,
          {given} AS _has_resolved,
          {", ".join(f"{unread[c]} AS _unread_{c}" for c in TIMES)}
        FROM batch"""


HELPERS = ("_has_resolved", *(f"_unread_{c}" for c in TIMES))  # columns of `norm` that are not staged


# Dossiers of a one-stop-shop system fall within these years (Viet Nam time): [first, end).
YEARS = tuple(f"TIMESTAMPTZ '{y}-01-01 00:00:00+07'" for y in (2000, 2100))
def _epoch(c: str) -> str:
    return f"coalesce(regexp_full_match(_unread_{c}, {sql_text(EPOCH)}), false)"


# (condition on a normalised row, problem code, column named, column whose value is shown)
CHECKS = (
    ("dossier_id IS NULL", "records_empty", "dossier_id", None),
    ("unit_id IS NULL", "records_empty", "unit_id", None),
    ("procedure_code IS NULL", "records_empty", "procedure_code", None),
    ("channel IS NULL", "records_empty", "channel", None),
    (f"channel NOT IN ({', '.join(map(sql_text, CHANNELS))})", "records_channel", "channel", "channel"),
    *((_epoch(c), "records_epoch", c, f"_unread_{c}") for c in TIMES),
    (f"received_at IS NULL AND NOT {_epoch('received_at')}", "records_not_time", "received_at", "_unread_received_at"),
    (f"due_at IS NULL AND NOT {_epoch('due_at')}", "records_not_time", "due_at", "_unread_due_at"),
    (f"_has_resolved AND resolved_at IS NULL AND NOT {_epoch('resolved_at')}", "records_not_time", "resolved_at",
     "_unread_resolved_at"),
    # A mistyped year (0202, 2205) would make a quarter of its own, before or after every real one.
    (f"received_at < {YEARS[0]}", "records_implausible_year", "received_at", None),
    (f"received_at >= {YEARS[1]}", "records_implausible_year", "received_at", None),
    (f"due_at >= {YEARS[1]}", "records_implausible_year", "due_at", None),
    (f"resolved_at >= {YEARS[1]}", "records_implausible_year", "resolved_at", None),
    ("due_at < received_at", "records_before_received", "due_at", None),
    ("resolved_at < received_at", "records_before_received", "resolved_at", None),
)


def _local(instant: str) -> str:
    return f"strftime(timezone('{LOCAL_TZ}', {instant}), '%Y-%m-%d %H:%M:%S')"


def _problems(con, unit_ids: set[str], as_of: dt.datetime) -> list[Problem]:
    # Received or resolved after the export was made: one row dated 2052 made a quarter of its own
    # and thousands of future quarters of counts (a due date may well be after it).
    moment = f"TIMESTAMPTZ {sql_text(as_of.isoformat())}"
    later = [(f"{c} > {moment} AND {c} < {YEARS[1]}", "records_after_export", c, _local(c))
             for c in ("received_at", "resolved_at")]
    fields = {"channels": ", ".join(CHANNELS),
              "as_of": as_of.astimezone(VIETNAM_TIME).strftime("%d/%m/%Y %H:%M")}
    out = []
    for cond, code, column, shown in (*CHECKS, *later):
        value = shown or "NULL"
        rows = con.execute(f"SELECT _row, {value} FROM norm WHERE {cond} ORDER BY _row LIMIT ?",
                           [MAX_PROBLEMS]).fetchall()
        out += [Problem(code, row=int(r), column=column, value=v, fields=fields) for r, v in rows]
    unknown = con.execute("SELECT min(_row), unit_id FROM norm WHERE unit_id IS NOT NULL AND unit_id NOT IN "
                          "(SELECT unnest(?)) GROUP BY unit_id ORDER BY 1 LIMIT ?",
                          [sorted(unit_ids), MAX_PROBLEMS]).fetchall()
    out += [Problem("records_unknown_unit", row=int(r), column="unit_id", value=u) for r, u in unknown]
    return out


def stage(source: Path, workdir: Path, unit_ids: set[str], chunk_rows: int = CHUNK_ROWS, buckets: int = 1,
          on_rows: Callable[[int], None] | None = None, limits: Limits = OPERATOR_LIMITS) -> int:
    """Read an export chunk by chunk into normalised Parquet files under workdir/stage, split into
    `buckets` by a hash of dossier_id (so that each bucket is diffed on its own); raise IngestError
    listing problems (the first MAX_PROBLEMS, by row).

    Row numbers are the file's own (`first_row`); no dossier may be received or resolved after
    the export was made (`exported_at`).
    """
    as_of = exported_at(source)
    con = connect()
    problems: list[Problem] = []
    n = 0
    try:
        for i, batch in enumerate(_batches(source, chunk_rows, limits)):
            con.register("batch", batch)
            con.execute(f"CREATE OR REPLACE TEMP TABLE norm AS {_normalise_sql(batch.schema, first_row(source) + n)}")
            con.unregister("batch")
            if len(problems) < MAX_PROBLEMS:
                problems += _problems(con, unit_ids, as_of)
            if not problems:
                con.execute(f"COPY (SELECT * EXCLUDE ({', '.join(HELPERS)}), hash(dossier_id) % {buckets} AS _bucket "
                            f"FROM norm) TO {sql_text(str(workdir / 'stage'))} (FORMAT parquet, COMPRESSION zstd, "
                            f"PARTITION_BY (_bucket), FILENAME_PATTERN 'chunk-{i:06d}-{{i}}', OVERWRITE_OR_IGNORE)")
            n += batch.num_rows
            if on_rows:
                on_rows(n)
    except pa.ArrowInvalid as e:  # a CSV line that does not split into the header's columns, bytes not UTF-8
        raise IngestError([Problem("unreadable", value=str(e)[:200])]) from e
    if problems:
        raise IngestError(sorted(problems, key=lambda p: p.row or 0)[:MAX_PROBLEMS])
    return n
