"""Where things live, and the upload limits, from the settings registry (reformkpi/settings.py).

Entry points load the settings at start and install them for their run (`using`); a caller with
none installed (a test, an AppTest page) gets them loaded from the environment at the call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from reformkpi import settings as registry

# Where the `reformkpi` package is imported from: the working folder of the child processes it starts.
IMPORT_ROOT = Path(__file__).resolve().parent.parent
# The data the core ships, inside the package (an installed core has no checkout to read from).
DATA_DIR = Path(str(resources.files("reformkpi").joinpath("data")))
CATALOG_DIR = DATA_DIR / "catalog"
PAPI_DIR = DATA_DIR / "papi"
DATASETS = ("demo", "papi")
MB = 1024 * 1024
UPLOAD_MAX_MB: int = registry.Settings.upload_max_mb

_installed: list[registry.Settings] = []


def settings() -> registry.Settings:
    """The settings installed by the entry point, else those of the environment now."""
    return _installed[-1] if _installed else registry.load()


def install(s: registry.Settings) -> None:
    """Install `s` for the rest of the process (a server, from its start)."""
    _installed[:] = [s]


@contextmanager
def using(s: registry.Settings) -> Iterator[registry.Settings]:
    """Install `s` for the code run inside (a command, a server's life), then restore the previous."""
    _installed.append(s)
    try:
        yield s
    finally:
        _installed.pop()


@dataclass(frozen=True)
class Limits:
    """What an uploaded file may hold. Sizes the file declares (zip directory, Parquet footer) are
    checked before anything is decompressed; the rest is counted while reading, which stops at the
    first limit passed. The worker limits cap the process that parses a page's upload. The
    defaults are the registry's; `limits()` gives the configured ones."""

    max_bytes: int = UPLOAD_MAX_MB * MB
    max_rows: int = 2_000_000
    max_columns: int = 200
    max_cells: int = 16_000_000  # rows × columns held in memory at once
    max_sheets: int = 30
    # An XLSX's parts together, and any one part (a sheet, the shared strings), as its zip directory
    # declares them: 32 MB of sheet XML is some 200,000 rows of the long form, half a minute of
    # parsing (larger tables come as CSV or Parquet).
    max_unzipped_bytes: int = 64 * MB
    max_part_bytes: int = 32 * MB
    max_zip_ratio: float = 150.0
    max_decoded_bytes: int = 512 * MB  # a Parquet file's columns once decompressed and decoded
    max_field_chars: int = 32_767  # one cell: Excel's own limit
    max_name_chars: int = 120  # file, profile and snapshot names
    worker_memory_mb: int = registry.Settings.upload_worker_mb
    worker_seconds: int = registry.Settings.upload_worker_seconds


def limits(s: registry.Settings | None = None) -> Limits:
    """The upload limits with the configured size and worker caps."""
    s = s or settings()
    return Limits(max_bytes=s.upload_max_mb * MB, worker_memory_mb=s.upload_worker_mb,
                  worker_seconds=s.upload_worker_seconds)


def store_uri(dataset: str = "demo", s: registry.Settings | None = None) -> str:
    """The live store of a dataset: a directory (or an object-store URI) shared by every app server."""
    s = s or settings()
    return s.papi_store if dataset == "papi" else s.store


def state_dir(s: registry.Settings | None = None) -> Path:
    """Where the server keeps its own state (local accounts, sessions), outside the checkout so
    that it is never committed or served."""
    return (s or settings()).state


def profiles_dir(uri: str) -> Any:
    """Saved import profiles (column mappings) live beside the store's tables: a folder on a local
    disk, an objectstore.RemotePath in a bucket."""
    from reformkpi import integrity  # imports what imports this module

    return integrity.store_root(uri) / "_profiles"


def records_tmp_dir(s: registry.Settings | None = None) -> str:
    """Where a records ingest stages its temporary files (about the export's size; removed after)."""
    return str((s or settings()).tmp)
