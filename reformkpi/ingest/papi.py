"""The PAPI dataset (63 provinces, 2011–2024, reformkpi/data/papi/): its catalog, and its import through
the same upload path as any analyst's file (the built-in `papi` profile for its wide layout).

Units are the provinces under a national root (the root takes the catalog's top level, the
provinces the member level, so peers are ranked among themselves); indicators are the PAPI
dimensions D1..D8 and the total, each a score on a 1–10 scale per dimension.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reformkpi import config
from reformkpi.auth import Actor
from reformkpi.catalog import Catalog
from reformkpi.ingest import commit, prepare, profiles
from reformkpi.ingest.text import fold
from reformkpi.store import CommitInfo, CommitResult, Store

TABLE = "agg_province_year.csv"
ROOT = "viet-nam"
HEADLINE = {"papi.total", "papi.d5", "papi.d6", "papi.d8"}  # the dimensions administrative reform moves
SOURCE = "PAPI (CECODES, RTA, UNDP), qua tunah72/papi-dashboard"
EIGHT_DIMENSIONS = 2018  # the year the total went from 6 to 8 dimensions (a methodology break)


def unit_id(province_en: str) -> str:
    return fold(province_en).replace(" ", "-")


def catalog_tables(directory: Path = config.PAPI_DIR) -> dict[str, pd.DataFrame]:
    prov = pd.read_csv(directory / "dim_province.csv", dtype=str, keep_default_na=False)
    dims = pd.read_csv(directory / "dim_indicator.csv", dtype=str, keep_default_na=False)
    units = pd.DataFrame({
        "unit_id": [ROOT] + [unit_id(e) for e in prov["province_en"]],
        "name_vi": ["Việt Nam"] + list(prov["province_vi"]),
        "name_en": ["Viet Nam"] + list(prov["province_en"]),
        "short_name_vi": ["Việt Nam"] + list(prov["province_vi"]),
        "level": ["province"] + ["department"] * len(prov),
        "parent_id": [""] + [ROOT] * len(prov),
        # The 63 provinces were merged into 34 on 1 July 2025.
        "active_from": "2011-01-01", "active_to": [""] + ["2025-06-30"] * len(prov), "successor_id": "",
        "aliases": [""] + list(prov["province_id"]),
    })
    ind = [{"indicator_id": "papi.total", "name_vi": "Tổng điểm PAPI", "name_en": "PAPI total score",
            "short_vi": "Tổng PAPI", "short_en": "PAPI total", "sort": "0"}]
    ind += [{"indicator_id": f"papi.{d['code'].lower()}", "name_vi": f"{d['code']} {d['name_vi']}",
             "name_en": f"{d['code']} {d['name_en']}", "short_vi": f"{d['code']} {d['short']}",
             "short_en": f"{d['code']} {d['name_en']}", "sort": d["sort"]} for _, d in dims.iterrows()]
    indicators = pd.DataFrame(ind).assign(
        family="papi", measure="score", direction="higher_better", frequency="year", rollup="last",
        numerator="", denominator="", scale="", ranked="true")
    indicators["headline"] = indicators["indicator_id"].isin(HEADLINE).map(str).str.lower()
    # PAPI ranks provinces by unrounded scores (to two decimals 38 province-years would tie that it ranks apart).
    indicators["decimals"] = "4"
    indicators["precision_source"] = "PAPI xếp hạng theo điểm chưa làm tròn; bảng dữ liệu ghi tới sáu chữ số thập phân (CECODES, UNDP)"
    total = indicators["indicator_id"] == "papi.total"
    indicators["breaks"] = total.map({True: str(EIGHT_DIMENSIONS), False: ""})
    indicators["break_note_vi"] = total.map({True: f"Từ năm {EIGHT_DIMENSIONS} tổng điểm PAPI gồm 8 chỉ số nội dung "
                                                   "(thêm D7 Quản trị môi trường, D8 Quản trị điện tử), trước đó 6: "
                                                   "không so sánh trực tiếp với các năm trước", False: ""})
    indicators["break_note_en"] = total.map({True: f"From {EIGHT_DIMENSIONS} the PAPI total adds up 8 dimensions "
                                                   "(D7 environmental governance, D8 e-governance were added), before "
                                                   "that 6: not directly comparable with earlier years", False: ""})
    targets = pd.DataFrame(columns=["indicator_id", "unit_id", "year_from", "year_to", "value", "source"], dtype=str)
    bands = pd.DataFrame(columns=["family", "grade_id", "label_vi", "label_en", "min_value", "source"], dtype=str)
    return {"units": units, "indicators": indicators, "targets": targets, "grade_bands": bands}


def build(store: Store, actor: Actor, directory: Path = config.PAPI_DIR) -> CommitResult:
    """Create the PAPI store and import its table through the upload path, as one commit."""
    tables = catalog_tables(directory)
    store.init(tables, CommitInfo(user=actor.name, operation="init", file_name=str(directory.name)))
    up = prepare(store, (directory / TABLE).read_bytes(), TABLE, profiles.PAPI,
                 catalog=Catalog.from_tables(tables))
    if not up.valid or up.observations is None:
        raise ValueError("PAPI table rejected: " + "; ".join(p.message("en") for p in up.errors[:5]))
    up.observations["source"] = SOURCE
    return commit(store, up, actor)
