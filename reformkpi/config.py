"""Where things live, and the upload limits. Every setting can be overridden from the environment."""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
CATALOG_DIR = DATA_DIR / "catalog"
PAPI_DIR = DATA_DIR / "papi"
UPLOAD_MAX_MB = int(os.environ.get("REFORMKPI_UPLOAD_MAX_MB", "50"))
DATASETS = ("demo", "papi")
MB = 1024 * 1024


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Limits:
    """What an uploaded file may hold. Sizes the file declares (zip directory, Parquet footer) are
    checked before anything is decompressed; the rest is counted while reading, which stops at the
    first limit passed. The worker limits cap the process that parses a page's upload."""

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
    worker_memory_mb: int = _env_int("REFORMKPI_UPLOAD_WORKER_MB", 2048)
    worker_seconds: int = _env_int("REFORMKPI_UPLOAD_WORKER_SECONDS", 120)


def store_uri(dataset: str = "demo") -> str:
    """The live store of a dataset: a directory (or, later, an object-store URI) shared by every app server."""
    if dataset == "papi":
        return os.environ.get("REFORMKPI_PAPI_STORE", str(PAPI_DIR / "store"))
    return os.environ.get("REFORMKPI_STORE", str(DATA_DIR / "store"))


def state_dir() -> Path:
    """Where the server keeps its own state (local accounts): REFORMKPI_STATE, else the service
    account's XDG state folder, outside the checkout so that it is never committed or served."""
    if env := os.environ.get("REFORMKPI_STATE"):
        return Path(env)
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "reformkpi"


def profiles_dir(uri: str) -> Path:
    """Saved import profiles (column mappings) live beside the store's tables."""
    return Path(uri) / "_profiles"


def records_tmp_dir() -> str:
    """Where a records ingest stages its temporary files (about the export's size; removed after)."""
    return os.environ.get("REFORMKPI_TMP", tempfile.gettempdir())
