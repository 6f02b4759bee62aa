"""Records exports under the upload budget: what a file declares is refused before it is read, the
read runs in the capped child (the page's and the command line's), every refusal is a typed,
translated problem, every write needs the upload permission, and a writer that loses a commit
race leaves no files behind."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import psutil
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.measure import PeakSampler

from reformkpi import cli
from reformkpi.auth import Actor, PermissionDenied
from reformkpi.config import MB, Limits
from reformkpi.ingest.problems import IngestError
from reformkpi.records import load, metrics, scan, staging, table
from reformkpi.store import CommitInfo
from tests import bombs
from tests.core.records.test_records import ANALYST, ROWS, U, write

VIEWER = Actor("xem", "viewer")


def codes(e: pytest.ExceptionInfo) -> list[tuple]:
    return [(p.code, p.row, p.column) for p in e.value.problems]


def rss() -> int:
    return psutil.Process().memory_info().rss


def growth(call) -> int:
    """How far this process's resident memory rises above where it was while `call` runs."""
    before = rss()
    with PeakSampler(every=0.02, rss=rss) as s:
        call()
    return s.peak["rss"] - before


@pytest.fixture(scope="module")
def zstd_bomb(tmp_path_factory) -> Path:
    """Three 200 MB procedure names in 20 KB."""
    path = tmp_path_factory.mktemp("bombs") / "zstd.parquet"
    path.write_bytes(bombs.records_parquet(3, 200 * MB, dictionary=False))
    return path


def refused(e: list, call):
    def run():
        with pytest.raises(IngestError) as info:
            call()
        e.append(info)
    return run


def test_what_a_records_file_declares_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (2 * MB))
    with pytest.raises(IngestError) as e:
        staging.check_declared(big, Limits(max_bytes=1 * MB))
    assert codes(e) == [("too_large", None, None)]
    xlsx = tmp_path / "export.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(IngestError) as e:
        staging.check_declared(xlsx, Limits())
    assert codes(e) == [("unsupported_format", None, None)]
    long = tmp_path / "long.parquet"
    long.write_bytes(bombs.records_parquet(3, 8 * MB, dictionary=False))
    with pytest.raises(IngestError) as e:  # 24 MB of text in 20 KB, from the footer alone
        staging.check_declared(long, Limits(max_decoded_bytes=16 * MB))
    assert codes(e) == [("too_large_decoded", None, None)]
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(IngestError) as e:
        staging.check_declared(broken, Limits())
    assert codes(e) == [("unreadable", None, None)]


def test_a_dictionary_bomb_is_refused_before_it_is_expanded(tmp_store, tmp_path):
    """1.9M rows naming a 30,000-character procedure (1.4 MB on disk, 57 GB decoded): once the
    first batch of 500,000 rows was expanded in the server process."""
    bomb = tmp_path / "bom.parquet"
    bomb.write_bytes(bombs.records_parquet(1_900_000, 30_000))
    for limits in (staging.OPERATOR_LIMITS, Limits()):
        with pytest.raises(IngestError) as e:
            table.ingest(tmp_store, bomb, ANALYST, CommitInfo(user="a"), {U}, limits=limits)
        assert codes(e) == [("too_large_decoded", None, None)]
    assert not scan.exists(tmp_store)


def test_cells_over_the_limit_and_unreadable_lines_are_typed_problems(tmp_store, tmp_path):
    long = tmp_path / "dai.csv"
    write(long, ROWS[:2] + [("X", "P1", "online", "2025-04-01 08:00:00", "2025-04-10", "")])
    text = long.read_text().replace("Thủ tục P1", "y" * 40_000)
    long.write_text(text)
    with pytest.raises(IngestError) as e:
        table.ingest(tmp_store, long, ANALYST, CommitInfo(user="a"), {U})
    assert codes(e) == [("field_too_long", 4, "procedure_name")]
    ragged = tmp_path / "le.csv"
    ragged.write_text(write(tmp_path / "ok.csv", ROWS[:2]).read_text() + 'Z,so-tu-phap,"P1\rx",a\n')
    with pytest.raises(IngestError) as e:
        table.ingest(tmp_store, ragged, ANALYST, CommitInfo(user="a"), {U})
    assert [p.code for p in e.value.problems] == ["unreadable"]
    missing = tmp_path / "thieu.csv"
    missing.write_text("dossier_id,unit_id\nA,so-tu-phap\n")
    with pytest.raises(IngestError) as e:
        table.ingest(tmp_store, missing, ANALYST, CommitInfo(user="a"), {U})
    assert codes(e)[0] == ("records_missing_column", None, "procedure_code")
    assert e.value.problems[0].message("vi").startswith("cột «procedure_code»: tệp không có cột này")
    assert not scan.exists(tmp_store)


def test_the_capped_child_loads_and_relays_progress(tmp_store, tmp_path):
    seen = []
    done = load.load_capped(tmp_store, write(tmp_path / "export.csv", ROWS), ANALYST, limits=Limits(),
                            progress=seen.append)
    assert (done.records.rows_new, done.records.version) == (11, 1) and done.observations_version is not None
    assert seen[-1].stage == "write" and seen[-1].fraction == 1


def test_the_child_stops_at_its_memory_and_time_caps(tmp_store, tmp_path, zstd_bomb):
    """An operator's export has no bound on its decoded size, so the reader expands the three long
    names, and the child, not the caller, runs out of its memory."""
    capped = dataclasses.replace(staging.OPERATOR_LIMITS, worker_memory_mb=600)
    seen: list = []
    assert growth(refused(seen, lambda: load.load_capped(tmp_store, zstd_bomb, ANALYST, limits=capped,
                                                          timed=False))) < 100 * MB
    assert codes(seen[0]) == [("too_much_memory", None, None)]
    assert "600 MB" in seen[0].value.problems[0].message("en")
    with pytest.raises(IngestError) as e:
        load.load_capped(tmp_store, write(tmp_path / "export.csv", ROWS), ANALYST, limits=Limits(worker_seconds=0.01))
    assert codes(e) == [("too_slow", None, None)]
    assert not scan.exists(tmp_store)


def test_the_command_line_reads_records_in_the_capped_child(tmp_store, capsys, monkeypatch, zstd_bomb):
    monkeypatch.setenv("REFORMKPI_UPLOAD_WORKER_MB", "300")  # the command line doubles it: 600 MB
    codes_ = []
    assert growth(lambda: codes_.append(cli.main(["--store", tmp_store.uri, "records-ingest", str(zstd_bomb),
                                                  "--lang", "en"]))) < 100 * MB
    assert codes_ == [2]
    assert capsys.readouterr().err.startswith("zstd.parquet: Reading the file needed more than 600 MB of memory")
    assert not scan.exists(tmp_store)


def test_a_viewer_is_refused_at_every_records_write(tmp_store, tmp_path):
    export = write(tmp_path / "export.csv", ROWS)
    with pytest.raises(PermissionDenied):
        table.ingest(tmp_store, export, VIEWER, CommitInfo(user=VIEWER.name), {U})
    with pytest.raises(PermissionDenied):
        load.load(tmp_store, export, VIEWER)
    with pytest.raises(PermissionDenied):
        load.load_capped(tmp_store, export, VIEWER)
    with pytest.raises(PermissionDenied):
        load.load(tmp_store, export, None)
    assert not scan.exists(tmp_store)
    r = table.ingest(tmp_store, export, ANALYST, CommitInfo(user="a"), {U})
    rec = metrics.Records.open(tmp_store, r.version)
    before = tmp_store.delta().version()
    with pytest.raises(PermissionDenied):
        metrics.sync_counts(tmp_store, rec, VIEWER, CommitInfo(user=VIEWER.name))
    with pytest.raises(PermissionDenied):
        table.compact(tmp_store, VIEWER, CommitInfo(user=VIEWER.name))
    assert tmp_store.delta().version() == before and scan.version(tmp_store) == r.version


def _data_files(store) -> set[str]:
    root = Path(scan.path(store))
    return {str(p.relative_to(root)) for p in root.glob(f"{scan.PARTITION}=*/*.parquet")}


def _logged_files(store) -> set[str]:
    out = set()
    for entry in sorted((Path(scan.path(store)) / "_delta_log").glob("*.json")):
        for line in entry.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                out.add(action["add"]["path"])
    return out


def test_a_writer_that_loses_the_commit_race_leaves_no_files(tmp_store, tmp_path):
    """Another ingest commits while this one writes its files: this one's commit fails, its files
    are deleted, and it diffs and writes again on the new version (attempt 2)."""
    first = write(tmp_path / "first.csv", ROWS[:3])
    table.ingest(tmp_store, first, ANALYST, CommitInfo(user="a"), {U, "so-y-te"})
    other = write(tmp_path / "other.csv", [(f"Y{i}", "P3", "online", f"2025-05-0{i} 08:00:00", "2025-05-20 17:00:00", "")
                                           for i in range(1, 4)], unit="so-y-te")
    raced = []

    def meanwhile(p: table.Progress) -> None:
        if p.stage == "write" and not raced:
            raced.append(table.ingest(tmp_store, other, ANALYST, CommitInfo(user="b"), {U, "so-y-te"}))

    r = table.ingest(tmp_store, write(tmp_path / "all.csv", ROWS), ANALYST, CommitInfo(user="a"), {U, "so-y-te"},
                     progress=meanwhile)
    assert raced and r.attempts == 2 and r.version == raced[0].version + 1
    assert _data_files(tmp_store) == _logged_files(tmp_store)
    assert sum(f.quarter == "2025-Q2" for f in scan.files(tmp_store)) >= 1


# --- times as exports write them (issue 26): offsets, numbers, far years, digits of other scripts.
# Every row ends staged at the instant a naive reading gives (Python's ISO parser, Viet Nam time
# where no offset is written) or refused at its row and column: never read off by an offset.

VN = dt.timezone(dt.timedelta(hours=7))
OFFSETS = ["", "Z", "+14:00", "-12:00", "+07:00", "+0530", "-03:30", " +07", " GMT+25"]
SPECIAL = ["1735689600", "1735689600000", "1.7e9", "inf", "-infinity", "infinity", "nan", "",
           "٢٠٢٥-04-01 08:00:00", "２０２５-04-01 08:00:00"]


@st.composite
def export_time(draw) -> str:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(SPECIAL))
    year = draw(st.sampled_from([1969, 1999, 2000, 2025, 2026, 2027, 2052, 2099, 2100, 9999]))
    moment = draw(st.datetimes(dt.datetime(year, 1, 1), dt.datetime(year, 12, 31, 23, 59, 59))).replace(microsecond=0)
    return moment.isoformat(sep=draw(st.sampled_from([" ", "T"]))) + draw(st.sampled_from(OFFSETS))


def naive_instant(text: str) -> dt.datetime | None:
    """The oracle: an ISO time of ASCII digits with at most a ±HH:MM, ±HHMM or Z offset, else None."""
    if not text.isascii() or not re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:?\d{2})?", text):
        return None
    moment = dt.datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=VN)).astimezone(dt.UTC)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(times=st.lists(export_time(), min_size=1, max_size=6))
def test_offsets_numbers_and_far_dates_are_honoured_or_refused_at_their_row(tmp_path_factory, times):
    folder = tmp_path_factory.mktemp("times")
    rows = [(f"D{i}", "P1", "online", t, "2099-12-31", "") for i, t in enumerate(times)]
    export = write(folder / "export.csv", rows)
    as_of = staging.exported_at(export)
    try:
        staging.stage(export, folder, {U})
    except IngestError as e:
        refused = {p.row for p in e.problems if p.column in ("received_at", "due_at")}
        assert all(p.row and p.column and p.message("vi") and p.message("en") for p in e.problems)
    else:
        refused = set()
    staged = {}
    if not refused:
        t = pd.concat([pq.read_table(f).to_pandas() for f in (folder / "stage").rglob("*.parquet")])
        staged = dict(zip(t["dossier_id"], t["received_at"]))
    low, high = dt.datetime(2000, 1, 1, tzinfo=VN), dt.datetime(2100, 1, 1, tzinfo=VN)
    for row, text in enumerate(times, start=2):
        moment = naive_instant(text)
        if moment is None or not low <= moment <= as_of:
            assert row in refused, (text, moment)  # no time, a number, out of range or after the export
        elif not refused:
            assert staged[f"D{row - 2}"].to_pydatetime() == moment, text
    assert refused or all(m is not None and low <= m <= as_of < high for m in map(naive_instant, times))
