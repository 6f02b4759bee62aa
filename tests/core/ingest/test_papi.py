"""The real PAPI table, imported through the upload path: same totals and ranks as published."""

from __future__ import annotations

import pandas as pd
import pytest

from reformkpi import config
from reformkpi.metrics import ranking
from reformkpi.metrics.datasets import Dataset
from reformkpi.auth import operator
from reformkpi.ingest import papi
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
