"""Records at scale, on small data: the ingest works bucket by bucket in a temporary folder it
always removes, reports its progress, keeps the sorted layout and the statistics on every write
path, and compaction rewrites small files without changing any version's numbers."""

import json

import pyarrow.parquet as pq
import pytest

from reformkpi import cli, integrity
from reformkpi.auth import operator
from reformkpi.ingest.problems import IngestError
from reformkpi.records import metrics as rm
from reformkpi.records import scan, table, writer
from reformkpi.store import CommitInfo
from tests.core.records.test_records import ANALYST, ROWS, U, counts, write


@pytest.fixture
def small_buckets(monkeypatch):
    # 11 rows in 4 buckets: the diff runs bucket by bucket as it does for 100M rows.
    monkeypatch.setattr(table, "BUCKET_ROWS", 3)


def _ingest(store, path, tmp, **kw):
    return table.ingest(store, path, ANALYST, CommitInfo(user="test", file_name=path.name), {U, "so-y-te"},
                        chunk_rows=4, tmp_dir=tmp, **kw)


def _sorted_within_files(store) -> bool:
    for f in scan.files(store):
        rows = pq.read_table(f.path.removeprefix("file://")).select(["unit_id", "received_at", "dossier_id"])
        keys = list(zip(*(rows.column(c).to_pylist() for c in rows.column_names)))
        if keys != sorted(keys):
            return False
    return True


def _stats(store) -> list[dict]:
    adds = table.DeltaTable(table.path(store)).get_add_actions(flatten=True)
    return [{"rows": r, "min_unit": u} for r, u in zip(adds.column("num_records").to_pylist(),
                                                      adds.column("min.unit_id").to_pylist())]


def test_bucketed_ingest_reports_progress_and_leaves_no_temporary_files(tmp_store, tmp_path, small_buckets):
    tmp = tmp_path / "tmp"
    seen = []
    r = _ingest(tmp_store, write(tmp_path / "export.csv", ROWS), tmp, progress=seen.append)
    assert (r.rows_read, r.rows_new) == (11, 11)
    # The same hand-worked counts as a single bucket gives (test_records.py).
    assert counts(rm.Records.open(tmp_store), "2025-Q2")["resolved_late"] == 1
    assert counts(rm.Records.open(tmp_store), "2025-Q2")["carried_over"] == 2
    assert list(tmp.iterdir()) == []
    assert [p.stage for p in seen][0] == "read" and {p.stage for p in seen} == {"read", "diff", "write"}
    last = seen[-1]
    assert (last.stage, last.rows, last.fraction) == ("write", 11, 1.0)
    assert last.rows_per_s > 0 and last.eta == 0
    assert all(a.fraction <= b.fraction for a, b in zip(seen, seen[1:]))


def test_a_failed_ingest_removes_its_temporary_files_and_writes_nothing(tmp_store, tmp_path, small_buckets,
                                                                         monkeypatch):
    tmp = tmp_path / "tmp"
    first = _ingest(tmp_store, write(tmp_path / "export.csv", ROWS), tmp)
    bad = ROWS[:3] + [("X", "P1", "fax", "2025-04-01 08:00:00", "2025-04-10", "")]
    with pytest.raises(IngestError):
        _ingest(tmp_store, write(tmp_path / "bad.csv", bad), tmp)
    assert list(tmp.iterdir()) == []

    def disk_full(*args, **kw):
        raise OSError("No space left on device")

    monkeypatch.setattr(writer, "write_files", disk_full)
    more = ROWS + [("L", "P3", "online", "2025-05-05 08:00:00", "2025-05-10 17:00:00", "")]
    with pytest.raises(integrity.StoreUnwritable, match="full"):  # said in words: the disk is full
        _ingest(tmp_store, write(tmp_path / "more.csv", more), tmp)
    assert list(tmp.iterdir()) == []
    assert scan.version(tmp_store) == first.version


def test_a_correction_keeps_the_sorted_layout_and_statistics(tmp_store, tmp_path, small_buckets):
    tmp = tmp_path / "tmp"
    _ingest(tmp_store, write(tmp_path / "export.csv", ROWS), tmp)
    other = [(f"Y{i}", "P3", "online", f"2025-05-0{i} 08:00:00", "2025-05-20 17:00:00", "") for i in range(1, 4)]
    _ingest(tmp_store, write(tmp_path / "other.csv", other, unit="so-y-te"), tmp)
    fixed = [r for r in ROWS if r[0] != "C"] + [
        ("C", "P1", "in_person", "2025-04-01 08:00:00", "2025-04-10 17:00:00", "2025-04-10 16:00:00")]
    r = _ingest(tmp_store, write(tmp_path / "fixed.csv", fixed), tmp)
    assert (r.rows_new, r.rows_changed) == (0, 1)
    assert counts(rm.Records.open(tmp_store), "2025-Q2")["resolved_late"] == 0
    # The file that held C's old row was rewritten whole: sorted, with statistics; nothing lost.
    assert _sorted_within_files(tmp_store)
    assert all(s["rows"] and s["min_unit"] for s in _stats(tmp_store))
    assert sum(s["rows"] for s in _stats(tmp_store)) == 14


def test_compaction_merges_small_files_and_every_version_still_reads(tmp_store, tmp_path):
    tmp = tmp_path / "tmp"
    parts = [ROWS[:4], ROWS[4:8], ROWS[8:]]
    versions = [_ingest(tmp_store, write(tmp_path / f"p{i}.csv", rows), tmp).version for i, rows in enumerate(parts)]
    before = {v: counts(rm.Records.open(tmp_store, v), "2025-Q2") for v in versions}
    q2_files = [f for f in scan.files(tmp_store) if f.quarter == "2025-Q2"]
    assert len(q2_files) == 3

    v = table.compact(tmp_store, operator("admin"), CommitInfo(user="admin", operation="records-compact"))
    assert v == versions[-1] + 1
    assert len([f for f in scan.files(tmp_store) if f.quarter == "2025-Q2"]) == 1
    assert _sorted_within_files(tmp_store)
    assert counts(rm.Records.open(tmp_store, v), "2025-Q2") == before[versions[-1]]
    for old, c in before.items():  # pinned versions read their own files, still on disk
        assert counts(rm.Records.open(tmp_store, old), "2025-Q2") == c
    history = table.DeltaTable(table.path(tmp_store)).history(1)[0]
    assert history["reformkpi.operation"] == "records-compact"
    assert history["reformkpi.files_removed"] == "5"  # Q2 in three files, Q1 in two
    assert table.compact(tmp_store, operator("admin"), CommitInfo(user="admin")) is None


def test_the_command_line_shows_progress_and_compacts(tmp_store, tmp_path, capsys):
    tmp = tmp_path / "tmp"
    args = ["--store", tmp_store.uri, "--user", "lan.pham", "--json"]
    assert cli.main([*args, "records-ingest", str(write(tmp_path / "a.csv", ROWS[:6])), "--tmp-dir", str(tmp)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["rows_new"] == 6 and list(tmp.iterdir()) == []
    assert err.splitlines()[-1].startswith("ghi 6/6 · ") and "dòng/s · 100%" in err
    assert cli.main([*args, "records-ingest", str(write(tmp_path / "b.csv", ROWS[6:])), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert cli.main([*args, "records-compact"]) == 0
    assert json.loads(capsys.readouterr().out) == {"version": 3}  # --json: machine-readable, as every subcommand
    assert counts(rm.Records.open(tmp_store), "2025-Q2")["pending_overdue"] == 2
