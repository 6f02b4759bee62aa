"""Where things live. Every path can be overridden from the environment."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
CATALOG_DIR = DATA_DIR / "catalog"


def store_uri() -> str:
    """The live store: a directory (or, later, an object-store URI) shared by every app server."""
    return os.environ.get("REFORMKPI_STORE", str(DATA_DIR / "store"))
