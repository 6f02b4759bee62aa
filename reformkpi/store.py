"""The versioned store: Delta Lake tables under one directory, one atomic commit per write.

History, time travel and restore come from Delta Lake (delta-rs). Every commit carries metadata
(user, upload id, file name, sha256, row counts) in the Delta log itself, so the log is the
audit trail. Writers are optimistic: a commit that loses a race is re-diffed on the fresh
version and tried again, never half-applied.

One module although long: reading, writing, history and restore of the same Delta tables share
their schema, their retry rule and the metadata of their commits.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from reformkpi import integrity, objectstore, periods
from reformkpi.catalog import CATALOG_TABLES
from reformkpi.integrity import StoreError

OBSERVATIONS = "observations"
KEY = ("unit_id", "indicator_id", "period")
OBSERVATION_SCHEMA = pa.schema([
    ("unit_id", pa.string()),
    ("indicator_id", pa.string()),
    ("period", pa.string()),
    ("period_start", pa.date32()),
    ("value", pa.float64()),
    ("max_value", pa.float64()),
    ("source", pa.string()),
    ("upload_id", pa.string()),
])
# The source of counts synced from the dossier records: this prefix and the records' version.
SOURCE_PREFIX = "records:v"
# Keep every version readable for as long as the province exists: snapshots pin versions.
TABLE_CONFIG = {
    "delta.logRetentionDuration": "interval 36500 days",
    "delta.deletedFileRetentionDuration": "interval 36500 days",
    "delta.enableExpiredLogCleanup": "false",
}
META_PREFIX = "reformkpi."
MAX_RETRIES = 20
# Between attempts a writer that lost a race sleeps a random time up to a doubling ceiling ("full
# jitter"), so that many writers spread out instead of colliding again at once.
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 2.0


def backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** attempt)))


def sql_text(value) -> str:
    """A value as a SQL string literal, for the SQL that takes no bound parameters: Delta's
    predicates and updates, and DuckDB's lists of files."""
    return "'" + str(value).replace("'", "''") + "'"


def parquet_list(file_list: list[str], **options: str) -> str:
    """`read_parquet` over the given files (DuckDB takes no bound parameter in a FROM clause here)."""
    extra = "".join(f", {k} = {v}" for k, v in options.items())
    return f"read_parquet([{', '.join(map(sql_text, file_list))}], hive_partitioning = false{extra})"


@dataclass
class CommitInfo:
    """Who writes what: recorded in the commit's metadata."""

    user: str
    operation: str = "upload"
    file_name: str = ""
    sha256: str = ""
    reason: str = ""
    upload_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def metadata(self, **counts) -> dict[str, str]:
        fields = {"user": self.user, "operation": self.operation, "file_name": self.file_name,
                  "sha256": self.sha256, "reason": self.reason, "upload_id": self.upload_id}
        fields.update({k: str(v) for k, v in counts.items()})
        return {META_PREFIX + k: str(v) for k, v in fields.items()}


@dataclass(frozen=True)
class Scope:
    """Rows an upload replaces: every stored row of these units, indicators and periods.

    Chosen explicitly by the analyst ("replace this period for these units"); rows in the scope
    that the upload does not carry are deleted in the same commit.
    """

    units: tuple[str, ...]
    indicators: tuple[str, ...]
    periods: tuple[str, ...]

    def predicate(self, alias: str) -> str:
        def within(col, values):
            return f"{alias}.{col} IN ({', '.join(map(sql_text, values))})"
        return " AND ".join(within(c, v) for c, v in zip(KEY, (self.units, self.indicators, self.periods)))


@dataclass(frozen=True)
class Diff:
    """Incoming rows against a version: what is new, what changes (old and new value), what is equal,
    and, when a scope is replaced, the stored rows that go."""

    base_version: int
    new: pa.Table
    changed: pd.DataFrame
    unchanged: int
    deleted: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def to_write(self) -> pa.Table:
        cols = list(OBSERVATION_SCHEMA.names)
        changed = pa.Table.from_pandas(self.changed[cols], schema=OBSERVATION_SCHEMA, preserve_index=False)
        return pa.concat_tables([self.new.select(cols), changed])


@dataclass(frozen=True)
class CommitResult:
    version: int
    upload_id: str
    rows_new: int
    rows_changed: int
    rows_unchanged: int
    attempts: int
    rows_deleted: int = 0

    @property
    def committed(self) -> bool:
        return self.rows_new + self.rows_changed + self.rows_deleted > 0


def conform(table: pa.Table | pd.DataFrame) -> pa.Table:
    """Observations in the store's column order and types."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    cols = {}
    for f in OBSERVATION_SCHEMA:
        if f.name in table.column_names:
            cols[f.name] = table[f.name].cast(f.type)
        else:
            cols[f.name] = pa.nulls(table.num_rows, f.type)
    return pa.table(cols, schema=OBSERVATION_SCHEMA)


def refuse_unfit(table: pa.Table) -> None:
    """StoreError naming the first rows that no reader could use, whoever writes them: a period not
    in its canonical text (`٢٠١٩` beside `2019` is a second key, and a cast error on every page) or a
    value or maximum that is not finite."""
    distinct = pc.unique(table["period"]).to_pylist()
    bad_periods = {p for p in distinct if not periods.is_canonical(p)}
    finite = [pc.fill_null(pc.is_finite(table[c]), True) for c in ("value", "max_value")]
    bad = pc.or_(pc.invert(pc.and_(*finite)), pc.is_in(table["period"], pa.array(list(bad_periods), pa.string())))
    if not pc.any(bad).as_py():
        return
    rows = table.filter(bad).slice(0, 5).to_pylist()
    listed = "; ".join(f"{r['unit_id']} · {r['indicator_id']} · {r['period']!r}: {r['value']}/{r['max_value']}"
                       for r in rows)
    raise StoreError(f"{pc.sum(bad).as_py()} rows refused (a period not canonical, or a value not finite): {listed}")


class Store:
    def __init__(self, uri: str | Path):
        self.uri = str(uri)
        # How delta-rs reaches an object store (None on a local disk): objectstore.storage_options.
        self.options = objectstore.storage_options(self.uri)

    def path(self, table: str) -> str:
        return f"{self.uri.rstrip('/')}/{table}"

    def exists(self) -> bool:
        return self.has(OBSERVATIONS)

    def has(self, table: str) -> bool:
        """Whether the store holds `table`."""
        return DeltaTable.is_deltatable(self.path(table), storage_options=self.options)

    def delta(self, table: str = OBSERVATIONS, version: int | None = None) -> DeltaTable:
        """A table at a version; StoreFault, saying what is wrong, when the store's log is damaged."""
        with integrity.reading(self.uri):
            try:
                return DeltaTable(self.path(table), version=version, storage_options=self.options)
            except TableNotFoundError as e:
                raise StoreError(f"no table {table!r} in store {self.uri}") from e

    def version(self, table: str = OBSERVATIONS) -> int:
        if self.options is None:
            return self.delta(table).version()
        # On a bucket every page's rerun asks: the new commits only, not the whole log again.
        with integrity.reading(self.uri):
            try:
                return objectstore.with_latest(self.path(table), self.options, DeltaTable.version)
            except TableNotFoundError as e:
                raise StoreError(f"no table {table!r} in store {self.uri}") from e

    def pinned(self, table: str = OBSERVATIONS, version: int | None = None) -> DeltaTable:
        """A table at a version, for reading only: on a bucket, a given version's log (never
        changing) is read once by the process (objectstore.pinned)."""
        if self.options is None or version is None:
            return self.delta(table, version)
        with integrity.reading(self.uri):
            try:
                return objectstore.pinned(self.path(table), version, frozenset(self.options.items()))
            except TableNotFoundError as e:
                raise StoreError(f"no table {table!r} in store {self.uri}") from e

    def read(self, table: str = OBSERVATIONS, version: int | None = None) -> pa.Table:
        with integrity.reading(self.uri):  # a data file gone from under the version
            return self.pinned(table, version).to_pyarrow_table()

    def local_files(self, table: str = OBSERVATIONS, version: int | None = None) -> list[str] | None:
        """The local Parquet files that hold a version's rows, for DuckDB to scan itself (a copy less
        than through Arrow); None when the files alone are not the table: on an object store (read
        through delta-rs' dataset there), when the log changes what they say (a reader protocol above 1:
        deletion vectors, column mapping; partition values kept in the paths), or when a path holds
        a glob wildcard."""
        if self.options is not None:
            return None
        delta = self.delta(table, version)
        if delta.protocol().min_reader_version > 1 or delta.metadata().partition_columns:
            return None
        paths = [unquote(uri) for uri in delta.file_uris()]  # percent-encoded: a space, a Vietnamese letter
        # DuckDB takes each path as a glob pattern: one with a wildcard could match other files.
        literal = not any(c in p for p in paths for c in "*?[")
        return paths if literal and all(Path(p).is_file() for p in paths) else None

    def catalog_versions(self) -> tuple[int, ...]:
        """Current version of each catalog table, in CATALOG_TABLES order."""
        return tuple(self.version(name) for name in CATALOG_TABLES)

    def read_catalog(self, versions: tuple[int, ...] | None = None) -> dict[str, pd.DataFrame]:
        """Catalog tables at the given versions (default: current), so a pinned view keeps its targets."""
        chosen: tuple[int | None, ...] = versions or (None,) * len(CATALOG_TABLES)
        return {name: self.read(name, v).to_pandas() for name, v in zip(CATALOG_TABLES, chosen)}

    # --- writing ---

    @integrity.writes(OBSERVATIONS)
    def init(self, catalog: dict[str, pd.DataFrame], info: CommitInfo) -> None:
        """Create the observation table (empty) and write the catalog; refuse if it exists."""
        if self.exists():
            raise StoreError(f"store {self.uri} exists already")
        self.write_catalog(catalog, info)
        DeltaTable.create(self.path(OBSERVATIONS), OBSERVATION_SCHEMA, configuration=TABLE_CONFIG,
                          storage_options=self.options,
                          commit_properties=CommitProperties(custom_metadata=info.metadata(rows_new=0)))

    @integrity.writes(*CATALOG_TABLES)
    def write_catalog(self, catalog: dict[str, pd.DataFrame], info: CommitInfo) -> None:
        for name in CATALOG_TABLES:
            table = pa.Table.from_pandas(catalog[name], preserve_index=False)
            write_deltalake(self.path(name), table, mode="overwrite", schema_mode="overwrite",
                            configuration=TABLE_CONFIG, storage_options=self.options,
                            commit_properties=CommitProperties(custom_metadata=info.metadata(rows=table.num_rows)))

    def diff(self, incoming: pa.Table, version: int | None = None, replace: Scope | None = None) -> Diff:
        dt_ = self.delta(OBSERVATIONS, version)
        current = dt_.to_pyarrow_dataset()
        incoming = conform(incoming)
        con = duckdb.connect()
        con.register("cur", current)
        con.register("inc", incoming)
        on = " AND ".join(f"i.{k} = c.{k}" for k in KEY)
        new = con.sql(f"SELECT i.* FROM inc i ANTI JOIN cur c ON {on}").to_arrow_table()
        changed = con.sql(f"""
            SELECT i.*, c.value AS old_value, c.max_value AS old_max_value, c.upload_id AS old_upload_id,
                   c.source AS old_source
            FROM inc i JOIN cur c ON {on}
            WHERE i.value IS DISTINCT FROM c.value OR i.max_value IS DISTINCT FROM c.max_value
        """).df()
        same = con.execute(f"""
            SELECT count(*) FROM inc i JOIN cur c ON {on}
            WHERE i.value IS NOT DISTINCT FROM c.value AND i.max_value IS NOT DISTINCT FROM c.max_value
        """).fetchall()[0][0]  # fetch all: a pending result would block the next query
        deleted = pd.DataFrame()
        if replace is not None:
            # Scope as joined tables, not IN-lists: DuckDB would push a list filter into the Arrow scan.
            for col, values in zip(KEY, (replace.units, replace.indicators, replace.periods)):
                con.register(f"scope_{col}", pa.table({"v": pa.array(values, pa.string())}))
            within = " AND ".join(f"c.{col} IN (SELECT v FROM scope_{col})" for col in KEY)
            deleted = con.sql(f"SELECT c.* FROM cur c WHERE {within} "
                              f"AND NOT EXISTS (SELECT 1 FROM inc i WHERE {on})").df()
        return Diff(dt_.version(), new, changed, int(same), deleted)

    @integrity.writes(OBSERVATIONS)
    def commit_observations(self, incoming: pa.Table | pd.DataFrame, info: CommitInfo,
                            replace: Scope | None = None, check: Callable[[Diff], None] | None = None) -> CommitResult:
        """Upsert by key (unit, indicator, period) in one Delta commit; unchanged rows are not rewritten.

        With `replace`, stored rows inside the scope that the upload does not carry are deleted
        in that same commit (one merge: nothing is half-replaced). The diff is taken against the
        version the commit builds on; if another writer commits first, the commit fails as a
        whole and is re-diffed on the fresh version. `check` sees every diff before it is written
        and may refuse it by raising (an upload that would replace synced values unconfirmed).
        """
        incoming = conform(incoming)
        refuse_unfit(incoming)
        incoming = incoming.set_column(OBSERVATION_SCHEMA.get_field_index("upload_id"), "upload_id",
                                       pa.array([info.upload_id] * incoming.num_rows, pa.string()))
        for attempt in range(1, MAX_RETRIES + 1):
            d = self.diff(incoming, replace=replace)
            if check is not None:
                check(d)
            result = CommitResult(d.base_version, info.upload_id, d.new.num_rows, len(d.changed), d.unchanged,
                                  attempt, len(d.deleted))
            if not result.committed:
                return result
            meta = info.metadata(rows_new=result.rows_new, rows_changed=result.rows_changed,
                                 rows_unchanged=result.rows_unchanged, rows_deleted=result.rows_deleted,
                                 base_version=d.base_version)
            table = self.delta(OBSERVATIONS, d.base_version)
            # Replacing needs every incoming key in the source, so that unchanged rows are not
            # taken for rows to delete; only rows whose value differs are rewritten.
            source = incoming if replace is not None else d.to_write
            merger = table.merge(source, " AND ".join(f"t.{k} = s.{k}" for k in KEY),
                                 source_alias="s", target_alias="t",
                                 commit_properties=CommitProperties(custom_metadata=meta, max_commit_retries=0))
            if replace is not None:
                merger = (merger.when_matched_update_all(
                    "(t.value IS DISTINCT FROM s.value) OR (t.max_value IS DISTINCT FROM s.max_value)")
                    .when_not_matched_by_source_delete(replace.predicate("t")))
            else:
                merger = merger.when_matched_update_all()
            try:
                merger.when_not_matched_insert_all().execute()
            except CommitFailedError:
                backoff(attempt)
                continue
            return CommitResult(table.version(), info.upload_id, result.rows_new, result.rows_changed,
                                result.rows_unchanged, attempt, result.rows_deleted)
        raise StoreError(f"gave up after {MAX_RETRIES} conflicting commits")

    @integrity.writes(OBSERVATIONS, rollback=True)
    def restore(self, version: int, info: CommitInfo) -> int:
        """Make `version` current again as a new commit; the versions in between stay in history."""
        for attempt in range(1, MAX_RETRIES + 1):
            table = self.delta()
            if not 0 <= version <= table.version():
                raise StoreError(f"no version {version} in {self.uri}")
            try:
                counts = self._compare(table.version(), version)["change"].value_counts()
                rows = {f"rows_{c}": int(counts.get(c, 0)) for c in ("new", "changed", "deleted")}
            except (OSError, duckdb.Error):  # a data file of the current version is gone: rollback is the cure
                rows = {}
            meta = info.metadata(restored_version=version, base_version=table.version(), **rows)
            try:
                table.restore(version, commit_properties=CommitProperties(custom_metadata=meta, max_commit_retries=0))
            except CommitFailedError:
                backoff(attempt)
                continue
            return table.version()
        raise StoreError(f"gave up after {MAX_RETRIES} conflicting commits")

    def history(self) -> pd.DataFrame:
        """Every version of the observations, newest first, with the metadata of its commit."""
        rows = []
        for h in self.delta().history():
            meta = {k[len(META_PREFIX):]: v for k, v in h.items() if k.startswith(META_PREFIX)}
            rows.append({
                "version": h["version"],
                "timestamp": dt.datetime.fromtimestamp(h["timestamp"] / 1000, tz=dt.UTC),
                "delta_operation": h.get("operation", ""),
                **meta,
            })
        df = pd.DataFrame(rows)
        for col in ("rows_new", "rows_changed", "rows_unchanged", "rows_deleted", "restored_version", "base_version"):
            if col in df:
                df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
        # Rollbacks written before their commits carried counts: counted from the rows they changed.
        if "operation" in df and "rows_new" in df:
            for i in df.index[(df["operation"] == "rollback") & df["rows_new"].isna()]:
                try:
                    counts = self.changes(int(df.at[i, "version"]))["change"].value_counts()
                except (OSError, duckdb.Error):  # a rollback away from a version whose files are gone
                    continue
                for c in ("new", "changed", "deleted"):
                    df.at[i, f"rows_{c}"] = int(counts.get(c, 0))
        return df.sort_values("version", ascending=False, ignore_index=True)

    def changes(self, version: int) -> pd.DataFrame:
        """The rows a version changed against the one before it: key, old and new value, change kind."""
        if version <= 0:
            return pd.DataFrame(columns=[*KEY, "old_value", "value", "change"])
        return self._compare(version - 1, version)

    def _compare(self, before: int, after: int) -> pd.DataFrame:
        """The rows that differ from version `before` to version `after` (new, changed, deleted)."""
        con = duckdb.connect()
        con.register("cur", self.pinned(OBSERVATIONS, after).to_pyarrow_dataset())
        con.register("prev", self.pinned(OBSERVATIONS, before).to_pyarrow_dataset())
        keys = ", ".join(KEY)
        return con.sql(f"""
            SELECT {", ".join(f"coalesce(c.{k}, p.{k}) AS {k}" for k in KEY)},
                   p.value AS old_value, c.value AS value,
                   CASE WHEN p.unit_id IS NULL THEN 'new' WHEN c.unit_id IS NULL THEN 'deleted' ELSE 'changed' END AS change
            FROM cur c FULL OUTER JOIN prev p USING ({keys})
            WHERE c.unit_id IS NULL OR p.unit_id IS NULL
               OR c.value IS DISTINCT FROM p.value OR c.max_value IS DISTINCT FROM p.max_value
            ORDER BY {keys}""").df()
