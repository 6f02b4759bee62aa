"""The real PAPI table, imported through the upload path: same totals and ranks as published."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from reformkpi import config, formatting
from reformkpi.metrics import ranking
from reformkpi.metrics.datasets import Dataset
from reformkpi.auth import operator
from reformkpi.ingest import papi
from reformkpi.periods import Period
from reformkpi.store import Store


@pytest.fixture(scope="module")
def papi_store(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("papi") / "store")
    papi.build(store, operator("test"))
    return store


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    agg = pd.read_csv(config.PAPI_DIR / "agg_province_year.csv")
    prov = pd.read_csv(config.PAPI_DIR / "dim_province.csv")
    agg["unit_id"] = agg["province_id"].map(dict(zip(prov["province_id"], prov["province_en"].map(papi.unit_id))))
    agg["period"] = agg["year"].astype(str)
    return agg


def test_one_commit_through_the_upload_path(papi_store):
    h = papi_store.history().iloc[0]
    assert (h["operation"], h["file_name"], h["rows_new"]) == ("upload", papi.TABLE, 6094 + 869)
    assert len(h["sha256"]) == 64


def test_same_totals_as_published(papi_store, published):
    ds = Dataset.open(papi_store)
    got = ds.sql("SELECT unit_id, period, value FROM obs WHERE indicator_id = 'papi.total'")
    m = published.dropna(subset=["total_papi"]).merge(got, on=["unit_id", "period"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all() and len(m) == 882 - 13
    assert (m["value"] - m["total_papi"]).abs().max() < 1e-9


def test_same_ranks_as_published_every_year(papi_store, published):
    ds = Dataset.open(papi_store)
    ranks = ranking.ranks(ds, "papi.total", "year", "department")
    m = published.merge(ranks, on=["unit_id", "period"], how="left")
    unranked = m[m["rank_year"].isna()]
    assert len(unranked) == 13 and unranked["rank"].isna().all()  # province-years without a total
    ranked = m.dropna(subset=["rank_year"])
    assert (ranked["rank"] == ranked["rank_year"]).all()
    assert sorted(ranked["period"].unique()) == [str(y) for y in range(2011, 2025)]


def test_every_total_shown_equals_the_published_one_to_four_decimals(papi_store):
    """882 province-years: the total each league table shows is the published one rounded half up
    to 4 decimals (Quảng Trị 2023: 42.77045 is 42,7705, though stored as the binary 42.770449999…),
    and the 13 without a total show none. Binary rounding got 13 of them wrong in the 4th decimal."""
    text = pd.read_csv(config.PAPI_DIR / "agg_province_year.csv", dtype=str, keep_default_na=False)
    prov = pd.read_csv(config.PAPI_DIR / "dim_province.csv", dtype=str)
    text["unit_id"] = text["province_id"].map(dict(zip(prov["province_id"], prov["province_en"].map(papi.unit_id))))
    ds = Dataset.open(papi_store)
    ind = ds.catalog.indicator("papi.total")
    shown: dict[tuple[str, str], str] = {}
    for year in sorted(text["year"].unique()):
        t = ranking.league_table(ds, "papi.total", Period.parse(year), "department", "vi")
        shown |= {(u, year): formatting.value(v, ind, "vi") for u, v in zip(t["unit_id"], t["value"])}
    equal = 0
    for r in text.itertuples():
        want = None if r.total_papi == "" else str(Decimal(r.total_papi).quantize(Decimal("0.0001"), ROUND_HALF_UP))
        got = shown.get((r.unit_id, r.year))
        assert (got and got.replace(",", ".")) == want, (r.province_vi, r.year, r.total_papi, got)
        equal += 1
    assert equal == len(text) == 882 and len(shown) == 882 - 13
    assert shown[("quang-tri", "2023")] == "42,7705" and shown[("hai-duong", "2014")] == "36,2106"
    assert sum(round(float(r), 4) != float(Decimal(r).quantize(Decimal("0.0001"), ROUND_HALF_UP))
               for r in text["total_papi"] if r) == 13  # what binary rounding showed
