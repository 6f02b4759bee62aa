"""Where things live, and the upload limits. Every setting can be overridden from the environment."""

import os
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
CATALOG_DIR = DATA_DIR / "catalog"
PAPI_DIR = DATA_DIR / "papi"
UPLOAD_MAX_MB = int(os.environ.get("REFORMKPI_UPLOAD_MAX_MB", "50"))
DATASETS = ("demo", "papi")


def store_uri(dataset: str = "demo") -> str:
    """The live store of a dataset: a directory (or, later, an object-store URI) shared by every app server."""
    if dataset == "papi":
        return os.environ.get("REFORMKPI_PAPI_STORE", str(PAPI_DIR / "store"))
    return os.environ.get("REFORMKPI_STORE", str(DATA_DIR / "store"))


def profiles_dir(uri: str) -> Path:
    """Saved import profiles (column mappings) live beside the store's tables."""
    return Path(uri) / "_profiles"


def records_tmp_dir() -> str:
    """Where a records ingest stages its temporary files (about the export's size; removed after)."""
    return os.environ.get("REFORMKPI_TMP", tempfile.gettempdir())
