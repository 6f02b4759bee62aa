"""Snapshots pin a view to a data version: the numbers stay while the live data moves on."""

import datetime as dt
import json

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from reformkpi import snapshots
from reformkpi.metrics import rollups
from reformkpi.metrics.datasets import Dataset
from reformkpi.auth import Actor, PermissionDenied
from reformkpi.store import CommitInfo
from tests.conftest import obs

ANALYST, OTHER, ADMIN, VIEWER = (Actor("lan", "analyst"), Actor("ha", "analyst"), Actor("boss", "admin"),
                                 Actor("khach", "viewer"))
KEY = ("so-y-te", "sipas.overall", "2019")


def test_a_snapshot_keeps_its_numbers_after_a_new_upload(tmp_store):
    tmp_store.commit_observations(obs([(*KEY, 77.4)]), CommitInfo(user="lan"))
    snap = snapshots.create(tmp_store, ANALYST, "Giao ban quý III", "tong-quan", {"year": "2019"},
                            tmp_store.version(), tmp_store.catalog_versions(), note="Số liệu trình UBND")
    tmp_store.commit_observations(obs([(*KEY, 81.0)]), CommitInfo(user="lan"))
    pinned = Dataset.open(tmp_store, snap.data_version, snap.catalog_versions)
    live = Dataset.open(tmp_store)
    assert rollups.series(pinned, "sipas.overall", unit_ids=["so-y-te"])["value"].tolist() == [77.4]
    assert rollups.series(live, "sipas.overall", unit_ids=["so-y-te"])["value"].tolist() == [81.0]
    again = snapshots.get(tmp_store, snap.snapshot_id)
    assert again == snap and again.view_state == {"year": "2019"}
    assert again.data_version == 1


def test_only_analysts_and_admins_save_and_only_author_or_admin_change(tmp_store):
    with pytest.raises(PermissionDenied):
        snapshots.create(tmp_store, VIEWER, "x", "tong-quan", {}, 0, tmp_store.catalog_versions())
    snap = snapshots.create(tmp_store, ANALYST, "Bản nháp", "tong-quan", {}, 0, tmp_store.catalog_versions())
    assert [snapshots.may_change(a, snap) for a in (ANALYST, OTHER, ADMIN, VIEWER, None)] == [True, False, True,
                                                                                              False, False]
    with pytest.raises(PermissionDenied):
        snapshots.rename(tmp_store, OTHER, snap.snapshot_id, "của tôi")
    snapshots.rename(tmp_store, ANALYST, snap.snapshot_id, "Báo cáo sơ kết 6 tháng 'đầu năm'")
    assert snapshots.get(tmp_store, snap.snapshot_id).title == "Báo cáo sơ kết 6 tháng 'đầu năm'"
    with pytest.raises(PermissionDenied):
        snapshots.delete(tmp_store, OTHER, snap.snapshot_id)
    snapshots.delete(tmp_store, ADMIN, snap.snapshot_id)
    assert snapshots.list_all(tmp_store) == []


def test_titles_are_checked_and_versions_must_exist(tmp_store):
    with pytest.raises(ValueError):
        snapshots.create(tmp_store, ANALYST, "  ", "tong-quan", {}, 0, tmp_store.catalog_versions())
    with pytest.raises(Exception, match="no data version"):
        snapshots.create(tmp_store, ANALYST, "x", "tong-quan", {}, 99, tmp_store.catalog_versions())


def test_a_snapshot_pins_the_records_version_and_older_tables_gain_the_column(tmp_store):
    old_schema = pa.schema([f for f in snapshots.SCHEMA if f.name != "records_version"])
    old = {"snapshot_id": "cu", "title": "Trước khi có hồ sơ", "note": "", "page": "tong-quan",
           "view_state": json.dumps({"year": "2019"}), "data_version": 0, "catalog_versions": "[0, 0, 0, 0]",
           "created_by": "lan", "created_at": dt.datetime(2026, 1, 5, tzinfo=dt.UTC)}
    write_deltalake(tmp_store.path(snapshots.TABLE), pa.Table.from_pylist([old], schema=old_schema))
    snap = snapshots.create(tmp_store, ANALYST, "Hồ sơ quý III", "ho-so-chi-tiet", {"rq": "2026-Q3"}, 0,
                            tmp_store.catalog_versions(), records_version=3)
    assert snapshots.get(tmp_store, snap.snapshot_id).records_version == 3
    assert snapshots.get(tmp_store, "cu").records_version is None and snapshots.get(tmp_store, "cu").title == old["title"]
