"""Loading a records export, as the command line and the upload page both do: check who writes,
ingest in one commit (with progress), then write the quarterly counts the records determine."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reformkpi.auth import Actor
from reformkpi.catalog import Catalog
from reformkpi.ingest import authorise
from reformkpi.records import metrics, table
from reformkpi.store import CommitInfo, Store


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
         tmp_dir: str | Path | None = None, progress: Callable[[table.Progress], None] | None = None) -> Loaded:
    """Ingest an export (table.RecordsError lists its problems; nothing is written then) and, with
    `sync`, commit the counts of its complete quarters to the observations."""
    user = authorise(actor, "upload").name
    units = set(Catalog.from_tables(store.read_catalog()).units["unit_id"])
    info = CommitInfo(user=user, operation="records", file_name=file_name or source.name, sha256=sha256(source))
    r = table.ingest(store, source, info, units, tmp_dir=tmp_dir, progress=progress)
    if not (sync and r.committed):
        return Loaded(r, None)
    s = metrics.sync_counts(store, metrics.Records.open(store, r.version),
                            CommitInfo(user=user, operation="records-sync", file_name=f"records v{r.version}"))
    return Loaded(r, s.version)
