"""The Delta store: commits with metadata, history, time travel, restore, races and crashes."""

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reformkpi import config
from reformkpi.catalog import load_dir
from reformkpi.metrics import datasets
from reformkpi.metrics.datasets import Dataset
from reformkpi.store import CommitInfo, Scope, Store, StoreError
from tests.conftest import obs, outcome_after_kill

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def values(store, version=None) -> dict:
    t = store.read(version=version).to_pandas()
    return {(r.unit_id, r.indicator_id, r.period): r.value for r in t.itertuples()}


def test_commit_records_metadata_and_counts(tmp_store):
    rows = [("so-tu-phap", "sipas.overall", "2019", 81.0), ("so-y-te", "sipas.overall", "2019", 85.5)]
    r = tmp_store.commit_observations(obs(rows), CommitInfo(user="phan.anh", file_name="q3.csv", sha256="ab12"))
    assert (r.version, r.rows_new, r.rows_changed, r.rows_unchanged) == (1, 2, 0, 0)
    h = tmp_store.history().iloc[0]
    assert h["version"] == 1 and h["user"] == "phan.anh" and h["file_name"] == "q3.csv"
    assert h["sha256"] == "ab12" and h["upload_id"] == r.upload_id and h["rows_new"] == 2
    assert set(tmp_store.read().to_pandas()["upload_id"]) == {r.upload_id}


def test_upsert_diffs_new_changed_and_unchanged(tmp_store):
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 85.5),
                                       ("so-y-te", "sipas.overall", "2020", 86.0)]), CommitInfo(user="a"))
    incoming = obs([("so-y-te", "sipas.overall", "2019", 85.5),   # unchanged
                    ("so-y-te", "sipas.overall", "2020", 87.0),   # changed
                    ("so-y-te", "sipas.overall", "2021", 88.0)])  # new
    d = tmp_store.diff(incoming)
    assert (d.new.num_rows, len(d.changed), d.unchanged) == (1, 1, 1)
    assert d.changed.iloc[0]["old_value"] == 86.0 and d.changed.iloc[0]["value"] == 87.0
    r = tmp_store.commit_observations(incoming, CommitInfo(user="b"))
    assert (r.version, r.rows_new, r.rows_changed, r.rows_unchanged) == (2, 1, 1, 1)
    assert len(values(tmp_store)) == 3


def test_committing_the_same_rows_again_writes_nothing(tmp_store):
    rows = obs([("so-y-te", "sipas.overall", "2019", 85.5)])
    tmp_store.commit_observations(rows, CommitInfo(user="a"))
    r = tmp_store.commit_observations(rows, CommitInfo(user="a"))
    assert not r.committed and r.rows_unchanged == 1 and tmp_store.version() == 1


def test_time_travel_and_restore_as_a_new_version(tmp_store):
    key = ("so-y-te", "sipas.overall", "2019")
    tmp_store.commit_observations(obs([(*key, 85.5)]), CommitInfo(user="a"))
    tmp_store.commit_observations(obs([(*key, 60.0)]), CommitInfo(user="b"))
    assert values(tmp_store)[key] == 60.0
    assert values(tmp_store, version=1)[key] == 85.5
    v = tmp_store.restore(1, CommitInfo(user="admin", operation="rollback", reason="nhập nhầm quý"))
    assert v == 3 and values(tmp_store)[key] == 85.5
    assert values(tmp_store, version=2)[key] == 60.0  # the undone version stays readable
    h = tmp_store.history().iloc[0]
    assert h["operation"] == "rollback" and h["user"] == "admin" and h["reason"] == "nhập nhầm quý"
    assert h["restored_version"] == 1
    with pytest.raises(StoreError):
        tmp_store.restore(99, CommitInfo(user="admin"))


@pytest.mark.parametrize("in_place_files", [0, datasets.IN_PLACE_FILES], ids=["loaded", "in-place"])
def test_a_dataset_reads_each_version_from_its_files_as_delta_lake_does(tmp_store, monkeypatch, in_place_files):
    """Dataset.open scans a version's Parquet files itself, in place or loaded into a table (past
    IN_PLACE_FILES files); after upserts, a scoped replace and a restore (files rewritten, files left
    out of later versions) it holds the rows delta-rs reads."""
    monkeypatch.setattr(datasets, "IN_PLACE_FILES", in_place_files)
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 85.5),
                                       ("so-tu-phap", "sipas.overall", "2019", 81.0)]), CommitInfo(user="a"))
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 60.0),
                                       ("so-y-te", "sipas.overall", "2020", 70.0, 100.0)]), CommitInfo(user="b"))
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2020", 71.0)]), CommitInfo(user="c"),
                                  replace=Scope(("so-y-te", "so-tu-phap"), ("sipas.overall",), ("2019", "2020")))
    tmp_store.restore(2, CommitInfo(user="admin"))
    everything = "SELECT * FROM obs ORDER BY ALL"
    for version in range(tmp_store.version() + 1):
        opened = Dataset.open(tmp_store, version)
        through_arrow = Dataset(tmp_store.read(version=version), opened.catalog)
        pd.testing.assert_frame_equal(opened.sql(everything), through_arrow.sql(everything))
    assert tmp_store.local_files()  # the files were read directly, not through delta-rs
    kind = opened.sql("SELECT table_type FROM information_schema.tables WHERE table_name = 'obs'")["table_type"][0]
    assert kind == ("VIEW" if in_place_files else "BASE TABLE")


def test_a_dataset_reads_files_written_before_a_column_existed_with_that_column_empty(tmp_store, tmp_path):
    """The observations are read in place from the version's files: a file without `max_value` or
    `source` (written by an earlier release) still gives every column, typed as the store types it."""
    old = tmp_path / "old.parquet"
    pq.write_table(pa.table({"unit_id": ["so-y-te"], "indicator_id": ["sipas.overall"], "period": ["2019"],
                             "period_start": pa.array([pd.Timestamp("2019-01-01").date()], pa.date32()),
                             "value": [85.5], "upload_id": ["u1"]}), old)
    ds = Dataset([str(old)], Dataset.open(tmp_store).catalog)
    row = ds.sql("SELECT * FROM obs").iloc[0]
    assert (row["unit_id"], row["value"]) == ("so-y-te", 85.5)
    assert pd.isna(row["max_value"]) and pd.isna(row["source"]) and "upload_id" not in row
    assert ds.sql("SELECT typeof(max_value) AS t, typeof(source) AS s FROM obs").iloc[0].tolist() == ["DOUBLE", "VARCHAR"]


def test_a_dataset_remembers_answers_that_callers_cannot_change(tmp_store):
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 85.5)]), CommitInfo(user="a"))
    ds = Dataset.open(tmp_store)
    first = ds.sql("SELECT unit_id, value FROM obs WHERE period = ?", ["2019"])
    first["value"] = 0.0
    first.loc[0, "unit_id"] = "changed"
    again = ds.sql("SELECT unit_id, value FROM obs WHERE period = ?", ["2019"])
    assert again.to_dict("records") == [{"unit_id": "so-y-te", "value": 85.5}]


def test_history_is_kept_by_table_properties(tmp_store):
    config = tmp_store.delta().metadata().configuration
    assert config["delta.logRetentionDuration"] == "interval 36500 days"
    assert config["delta.enableExpiredLogCleanup"] == "false"


def _writer(uri: str, name: str, n: int, shared_key: bool) -> None:
    store = Store(uri)
    for i in range(n):
        rows = [(f"so-{name}", "sipas.overall", str(2000 + i), float(i))]
        if shared_key:
            rows.append(("so-y-te", "sipas.overall", "2019", float(i + (100 if name == "b" else 0))))
        store.commit_observations(obs(rows), CommitInfo(user=name))


@pytest.mark.parametrize("shared_key", [False, True])
def test_two_concurrent_writers_both_land_and_leave_a_consistent_store(tmp_store, shared_key):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(tmp_store.uri, name, 6, shared_key)) for name in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    t = tmp_store.read().to_pandas()
    assert not t.duplicated(["unit_id", "indicator_id", "period"]).any()
    assert len(t[t["unit_id"].isin(["so-a", "so-b"])]) == 12
    if shared_key:
        shared = t[t["unit_id"] == "so-y-te"]["value"].tolist()
        assert shared in ([5.0], [105.0])  # one writer's last value, never a mix of rows
    h = tmp_store.history()
    writes = h[h["user"].isin(["a", "b"])]
    # Every commit was diffed against the version it built on.
    assert (writes["base_version"] == writes["version"] - 1).all()


KILL_SCRIPT = """
import sys
import numpy as np, pandas as pd
from reformkpi.store import CommitInfo, Store
n = int(sys.argv[2])
df = pd.DataFrame({"unit_id": [f"u{i % 500}" for i in range(n)], "indicator_id": "dossier.resolved_late",
                   "period": [f"{1901 + i // 2100}-Q{1 + i % 4}" for i in range(n)],  # stored years: 1901-2099
                   "value": np.arange(n, dtype=float) + float(sys.argv[3])})
df = df.drop_duplicates(["unit_id", "indicator_id", "period"])
print("ready", flush=True)
Store(sys.argv[1]).commit_observations(df, CommitInfo(user="killed"))
"""


@pytest.mark.slow
def test_a_process_killed_during_a_commit_leaves_the_old_or_the_new_version(tmp_store):
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 85.5)]), CommitInfo(user="a"))
    outcomes = set()
    for run, delay in enumerate((0.0, 0.15, 0.3, 0.5, 0.8, 1.2, 3.0)):
        before = tmp_store.version()
        rows_before = tmp_store.read().num_rows
        p = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, tmp_store.uri, "400000", str(run)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        outcome, t = outcome_after_kill(tmp_store.uri, before, rows_before)
        if outcome == "new":
            assert t.loc[t["unit_id"] == "u0", "value"].min() == run  # every row of this run's commit
        outcomes.add(outcome)
    assert outcomes == {"old", "new"}  # kills landed both mid-commit and after it


def test_sixteen_concurrent_writers_all_land(tmp_store):
    """Writers that lose a race back off for a random, growing time and try again: with 16 at once
    every one commits (8 immediate retries once let 6 or 7 of them give up)."""
    results, errors = [], []
    start = threading.Barrier(16)

    def write(i: int) -> None:
        rows = [(f"so-w{i}", "sipas.overall", str(2000 + y), float(i + y)) for y in range(20)]
        start.wait()
        try:
            results.append(Store(tmp_store.uri).commit_observations(obs(rows), CommitInfo(user=f"w{i}")))
        except Exception as e:  # every failure is reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == [] and len(results) == 16
    assert max(r.attempts for r in results) > 1  # they did race
    t = tmp_store.read().to_pandas()
    assert len(t) == 16 * 20 and not t.duplicated(["unit_id", "indicator_id", "period"]).any()
    h = tmp_store.history()
    writes = h[h["user"].str.startswith("w", na=False)]
    assert len(writes) == 16 and (writes["base_version"] == writes["version"] - 1).all()


def test_a_store_in_a_folder_named_with_spaces_and_diacritics_is_still_read_from_its_files(tmp_path):
    """delta-rs names files percent-encoded; the paths DuckDB reads are the folder's real ones."""
    store = Store(tmp_path / "kho dữ liệu #1")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 85.5)]), CommitInfo(user="a"))
    files = store.local_files()
    assert files and all(" " in f and "dữ" in f for f in files)
    assert Dataset.open(store).sql("SELECT value FROM obs")["value"].tolist() == [85.5]


def test_a_store_whose_path_holds_a_wildcard_is_read_through_delta_lake(tmp_path):
    """DuckDB takes a path as a glob: a store under `q?` would also read a sibling `qa`'s files."""
    store = Store(tmp_path / "q?" / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 85.5)]), CommitInfo(user="a"))
    assert store.local_files() is None
    assert Dataset.open(store).sql("SELECT value FROM obs")["value"].tolist() == [85.5]
