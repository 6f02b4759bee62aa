"""The store on a real S3-compatible server (SeaweedFS): what the commit protocol relies on, then
everything a province does with `store = "s3://…"`, each compared with the same on local disk."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.fs as pafs
import pytest

from reformkpi import auth, config, formatting, integrity, notes, objectstore, snapshots
from reformkpi import ingest as uploads
from reformkpi import versions
from reformkpi.catalog import load_dir
from reformkpi.ingest import profiles
from reformkpi.metrics.datasets import Dataset
from reformkpi.records import distributed as dd
from reformkpi.records import metrics as rm
from reformkpi.records import scan
from reformkpi.records import table as records_table
from reformkpi.store import CommitInfo
from tests.conftest import obs
from tests.core.records.test_records import ROWS, U, write
from tests.objectstore.conftest import s3_store
from tests.objectstore.seaweed import SECRET

pytestmark = [pytest.mark.objectstore, pytest.mark.slow]
ADMIN = auth.Actor("admin", "admin")


def test_the_server_refuses_to_overwrite_an_object_under_if_none_match(seaweed, bucket):
    """delta-rs creates each commit file with `If-None-Match: *`; this is what makes two writers'
    commits of the same version safe: the server must answer the second 412 and keep the first."""
    key = f"/{bucket}/probe/_delta_log/00000000000000000001.json"
    assert seaweed.signed("PUT", key, b"first", {"If-None-Match": "*"}).status_code == 200
    assert seaweed.signed("PUT", key, b"second", {"If-None-Match": "*"}).status_code == 412
    assert seaweed.signed("GET", key).content == b"first"
    # A server-side copy onto an existing key is refused the same way (delta-rs' copy_if_not_exists).
    other = f"/{bucket}/probe/other.json"
    assert seaweed.signed("PUT", other, b"other").status_code == 200
    assert seaweed.signed("PUT", key, b"", {"x-amz-copy-source": other, "If-None-Match": "*"}).status_code == 412
    assert seaweed.signed("GET", key).content == b"first"


@pytest.fixture(scope="module")
def s3_demo(bucket, demo_store, seaweed):
    """The session's demo store copied into the bucket as it is (Delta tables name their files
    relative to the table: a copy is the same store; `make bench BENCH=objectstore` builds the
    demo in a bucket from scratch)."""
    store = s3_store(bucket, "demo")
    pafs.copy_files(demo_store.uri, store.uri.removeprefix("s3://"), destination_filesystem=seaweed.filesystem())
    return s3_store(bucket, "demo")


def test_the_demo_on_the_bucket_reads_as_on_local_disk(s3_demo, demo_store):
    assert s3_demo.options is not None and s3_demo.local_files() is None  # read through delta-rs
    assert s3_demo.version() == demo_store.version()
    key = ["unit_id", "indicator_id", "period"]
    ours = Dataset.open(s3_demo).sql("SELECT * FROM obs ORDER BY ALL")
    theirs = Dataset.open(demo_store).sql("SELECT * FROM obs ORDER BY ALL")
    assert len(ours) > 10_000
    pd.testing.assert_frame_equal(ours.sort_values(key, ignore_index=True), theirs.sort_values(key, ignore_index=True))
    assert integrity.verify(s3_demo.uri) == []


def test_upload_history_rollback_notes_and_a_pinned_snapshot(s3_demo):
    before = s3_demo.version()
    old = Dataset.open(s3_demo).sql("SELECT value FROM obs WHERE unit_id = 'so-y-te' AND indicator_id = "
                                    "'sipas.overall' AND period = '2019'")["value"].iloc[0]
    csv = f"unit,indicator,period,value,note\nso-y-te,sipas.overall,2019,{old + 1.5},Khảo sát bổ sung\n".encode()
    up = uploads.prepare(s3_demo, csv, "bo-sung.csv")
    assert up.valid and up.diff is not None, up.errors
    assert len(up.diff.changed) == 1  # the diff against the bucket's current version
    result = uploads.commit(s3_demo, up, ADMIN, replace_synced=True)  # the demo source, confirmed
    assert result.version == before + 1
    ds = Dataset.open(s3_demo)
    assert ds.sql("SELECT value FROM obs WHERE unit_id = 'so-y-te' AND indicator_id = 'sipas.overall' "
                  "AND period = '2019'")["value"].iloc[0] == old + 1.5
    assert notes.read(s3_demo, result.version)["note"].tolist() == ["Khảo sát bổ sung"]
    assert notes.read(s3_demo, before).empty
    h = s3_demo.history()
    assert h.iloc[0]["user"] == "admin" and h.iloc[0]["file_name"] == "bo-sung.csv" and h.iloc[0]["rows_changed"] == 1

    snap = snapshots.create(s3_demo, ADMIN, "Trước khi khôi phục", "overview", {"lang": "vi"}, result.version,
                            s3_demo.catalog_versions())
    restored = versions.rollback(s3_demo, before, ADMIN, "thử khôi phục")
    assert s3_demo.changes(restored)["change"].tolist() == ["changed"]
    now = Dataset.open(s3_demo)
    assert now.sql("SELECT value FROM obs WHERE unit_id = 'so-y-te' AND indicator_id = 'sipas.overall' "
                   "AND period = '2019'")["value"].iloc[0] == old
    # The snapshot still reads the version it pinned, with its note.
    pinned = snapshots.get(s3_demo, snap.snapshot_id)
    assert pinned is not None and pinned.data_version == result.version
    then = Dataset.open(s3_demo, pinned.data_version, pinned.catalog_versions, pinned.created_at)
    assert then.sql("SELECT value FROM obs WHERE unit_id = 'so-y-te' AND indicator_id = 'sipas.overall' "
                    "AND period = '2019'")["value"].iloc[0] == old + 1.5


def test_the_records_drill_down_and_the_dask_engine_read_the_bucket(s3_demo, demo_store):
    ours, theirs = rm.Records.open(s3_demo), rm.Records.open(demo_store)
    assert ours.files and all(f.path.startswith(f"{s3_demo.uri}/") for f in ours.files)
    quarter = rm.quarters(ours)[-1]
    unit = rm.units_with_records(ours, quarter)[0]
    assert rm.units_with_records(ours, quarter) == rm.units_with_records(theirs, quarter)
    a, b = rm.drill_down(ours, unit, quarter), rm.drill_down(theirs, unit, quarter)
    assert a.summary == b.summary and a.summary["received"] > 0
    pd.testing.assert_frame_equal(a.late_procedures, b.late_procedures)
    pd.testing.assert_frame_equal(a.backlog_trend, b.backlog_trend)
    qs = rm.complete_quarters(ours)[-2:]
    with dd.client(workers=1) as c:
        counts = dd.quarter_counts(c, ours.files, qs)
    pd.testing.assert_frame_equal(counts, rm.quarter_counts(theirs, qs).astype(counts.dtypes.to_dict()),
                                  check_exact=False)


def test_records_ingest_and_sync_on_the_bucket(bucket, tmp_path):
    store = s3_store(bucket)
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    r = records_table.ingest(store, write(tmp_path / "export.csv", ROWS), ADMIN, CommitInfo(user="test"),
                             {U, "so-y-te"}, chunk_rows=4)
    assert r.rows_new == len(ROWS) and scan.version(store) == r.version
    again = records_table.ingest(store, write(tmp_path / "export.csv", ROWS), ADMIN, CommitInfo(user="test"),
                                 {U, "so-y-te"}, chunk_rows=4)
    assert not again.committed  # the diff read the bucket's files back
    rec = rm.Records.open(store)
    c = rm.quarter_counts(rec, ["2025-Q2"])
    assert c[c["unit_id"] == U].iloc[0]["resolved_late"] == 1  # the hand-worked deadline edge
    synced = rm.sync_counts(store, rec, ADMIN, CommitInfo(user="test", operation="sync"))
    assert synced.committed
    assert Dataset.open(store).sql("SELECT value FROM obs WHERE unit_id = ? AND period = '2025-Q2' AND "
                                   "indicator_id = 'dossier.resolved_late'", [U])["value"].tolist() == [1.0]


def test_the_secret_is_never_in_a_store_an_error_or_a_repr(s3_demo):
    assert SECRET not in repr(objectstore.endpoint(s3_demo.uri)) and SECRET not in repr(s3_demo.delta())
    with pytest.raises(Exception) as e:
        s3_demo.delta(version=10_000)
    assert SECRET not in str(e.value)


def test_check_finds_a_damaged_commit_and_a_lost_data_file_in_the_bucket(bucket, seaweed):
    store = s3_store(bucket)
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 85.5)]), CommitInfo(user="eve"))
    store.commit_observations(obs([("so-y-te", "sipas.overall", "2020", 86.5)]), CommitInfo(user="eve"))
    assert integrity.verify(store.uri) == []
    fs, root = seaweed.filesystem(), store.uri.removeprefix("s3://")
    record = fs.open_input_stream(f"{root}/observations/{integrity.RECORD}").read().decode()
    assert [json.loads(line)["version"] for line in record.splitlines()] == [0, 1, 2]  # every commit recorded

    log = f"{root}/observations/_delta_log/{2:020d}.json"
    sound = fs.open_input_stream(log).read()
    with fs.open_output_stream(log) as f:
        f.write(b"garbage{")
    [fault] = integrity.verify(store.uri)
    assert (fault.kind, fault.table, fault.version, fault.good) == ("damaged", "observations", 2, 1)
    assert fault.file == "observations/_delta_log/00000000000000000002.json" and fault.recorded["user"] == "eve"
    with pytest.raises(integrity.StoreFault):  # nothing is written on top of a damaged log
        store.commit_observations(obs([("so-y-te", "sipas.overall", "2021", 1.0)]), CommitInfo(user="eve"))
    with pytest.raises(integrity.StoreError, match="local disk"):
        integrity.repair(store.uri, "observations", ADMIN)
    with fs.open_output_stream(log) as f:
        f.write(sound)

    [data_file] = [u for u in store.delta(version=2).file_uris() if u not in store.delta(version=1).file_uris()]
    fs.delete_file(data_file.removeprefix("s3://"))
    [fault] = integrity.verify(store.uri)
    assert (fault.kind, fault.version, fault.good) == ("missing_file", 2, 1)
    assert fault.file.startswith("observations/") and fault.file.endswith(".parquet")


def test_import_profiles_are_saved_beside_the_tables_in_the_bucket(bucket, seaweed):
    store = s3_store(bucket)
    folder = profiles.folder(store.uri)
    assert profiles.names(folder) == sorted(profiles.BUILT_IN)
    profiles.save(folder, profiles.Profile("Sở Y tế quý", {"ma don vi": "unit"}, period="2025-Q1"), ADMIN)
    assert "so-y-te-quy" in profiles.names(folder)
    assert profiles.load(folder, "Sở Y tế quý").period == "2025-Q1"
    profiles.save(folder, profiles.Profile("Sở Y tế quý", {"ma don vi": "unit"}, period="2025-Q2"), ADMIN)
    assert profiles.load(folder, "Sở Y tế quý").period == "2025-Q2"
    listed = seaweed.filesystem().get_file_info(pafs.FileSelector(f"{store.uri.removeprefix('s3://')}/_profiles"))
    assert [f.base_name for f in listed] == ["so-y-te-quy.json"]  # in the bucket, no temporary left


def test_a_snapshot_of_the_drill_down_exports_from_the_bucket(s3_demo, demo_store, monkeypatch, tmp_path):
    """The app's own pages render the snapshot from the bucket (app_export: headless), its figures
    those of the pinned records version."""
    import app_export
    from components import data

    quarter = rm.quarters(rm.Records.open(demo_store))[-1]
    snap = snapshots.create(s3_demo, ADMIN, "Hồ sơ chi tiết", "ho-so-chi-tiet",
                            {"rq": quarter, "unit": U, "lang": "vi", "data": "demo"}, s3_demo.version(),
                            s3_demo.catalog_versions(), records_version=scan.version(s3_demo))
    monkeypatch.setenv("REFORMKPI_STORE", s3_demo.uri)
    data.forget_latest()
    [html] = app_export.export(snap, "demo", ["html"], tmp_path, auth.operator("admin"))
    text = html.read_text(encoding="utf-8")
    assert f"phiên bản dữ liệu {snap.data_version}" in text
    received = rm.backlog_trend(rm.Records.open(demo_store), U, quarter).set_index("period").loc[quarter, "received"]
    assert formatting.number(received, "vi", 0) in text
