"""Loading a records export, as the command line and the upload page both do: check who writes,
ingest in one commit (with progress), then write the quarterly counts the records determine.

`load_capped` does it in a child process under the memory cap (and, for the page, the time cap)
that uploads have (`reformkpi.ingest.isolated`): the server, or the operator's shell, never
holds the file's rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reformkpi.auth import Actor, require
from reformkpi.catalog import Catalog
from reformkpi.config import Limits
from reformkpi.ingest import isolated
from reformkpi.ingest.problems import IngestError, Problem
from reformkpi.records import metrics, scan, staging, table
from reformkpi.store import CommitInfo, CommitResult, Store


@dataclass(frozen=True)
class Loaded:
    records: table.IngestResult
    observations_version: int | None  # the counts' commit, if synced and anything changed


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load(store: Store, source: Path, actor: Actor | None, file_name: str | None = None, sync: bool = True,
         tmp_dir: str | Path | None = None, limits: Limits = staging.OPERATOR_LIMITS,
         progress: Callable[[table.Progress], None] | None = None) -> Loaded:
    """Ingest an export (IngestError lists its problems; nothing is written then) and, with
    `sync`, commit the counts of its complete quarters to the observations. DuckDB may use half
    of `limits.worker_memory_mb`: the rest is the reader's and the writer's.

    The counts are synced even when the export changed no record: a sync interrupted after the
    records' commit is completed by loading the same file again (or by `sync` alone)."""
    user = require(actor, "upload").name
    file_name = file_name or source.name
    if len(file_name) > limits.max_name_chars:
        raise IngestError([Problem("name_too_long", value=file_name[:40] + "…",
                                   fields={"n": len(file_name), "limit": limits.max_name_chars})])
    units = set(Catalog.from_tables(store.read_catalog()).units["unit_id"])
    info = CommitInfo(user=user, operation="records", file_name=file_name, sha256=sha256(source))
    r = table.ingest(store, source, actor, info, units, tmp_dir=tmp_dir, progress=progress, limits=limits,
                     memory_limit=f"{limits.worker_memory_mb // 2}MB")
    if not sync or r.version is None:
        return Loaded(r, None)
    return Loaded(r, sync_counts(store, actor, r.version).version)


def sync_counts(store: Store, actor: Actor | None, version: int | None = None) -> CommitResult:
    """Commit the counts a records version (default: the current one) determines, as the last step
    of a load does: what `records-sync` runs to complete an interrupted one. Nothing changes when
    the observations hold them already."""
    user = require(actor, "upload").name
    version = scan.version(store) if version is None else version
    if version is None:
        raise IngestError([Problem("records_none")])
    return metrics.sync_counts(store, metrics.Records.open(store, version), actor,
                               CommitInfo(user=user, operation="records-sync", file_name=f"records v{version}"))


def load_capped(store: Store, source: Path, actor: Actor | None, file_name: str | None = None, sync: bool = True,
                tmp_dir: str | Path | None = None, progress: Callable[[table.Progress], None] | None = None,
                limits: Limits = staging.OPERATOR_LIMITS, timed: bool = True) -> Loaded:
    """`load` in a child process capped by `limits` (time too if `timed`); IngestError when the
    file is refused or the child passes a cap."""
    require(actor, "upload")  # refused here, before a process is started for nothing
    return isolated.run(load, (store, source, actor, file_name, sync, tmp_dir, limits), limits, timed, progress)
