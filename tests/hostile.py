"""A store whose unit names and sources are hostile: they must render as text everywhere."""

from __future__ import annotations

from reformkpi import config
from reformkpi.catalog import load_dir
from reformkpi.store import CommitInfo, Store
from tests.conftest import obs

NAMES = {
    "so-y-te": "<script>alert('xss')</script>",
    "so-tu-phap": '<img src=x onerror="alert(1)">',
    "so-xay-dung": "[bấm vào đây](javascript:alert(1))",
    "so-cong-thuong": "=HYPERLINK(\"http://evil\",\"Sở **Công** Thương\")",
}


def build(path) -> Store:
    tables = load_dir(config.CATALOG_DIR)
    units = tables["units"]
    for unit_id, name in NAMES.items():
        units.loc[units["unit_id"] == unit_id, ["name_vi", "name_en"]] = name
    tables["units"] = units
    store = Store(path)
    store.init(tables, CommitInfo(user="test", operation="init"))
    rows = [(u, "sipas.overall", "2019", 70.0 + i) for i, u in enumerate(["so-noi-vu", *NAMES])]
    store.commit_observations(obs(rows), CommitInfo(user="<b>mallory</b>", file_name="<script>.csv"))
    return store
