"""Records dates (issue 26): a dossier received or resolved after the export was made is refused
with its row (one row dated 2052 wrote 12,726 future-quarter rows and moved "latest data" to
2052); an explicit offset is honoured, converted to Viet Nam time, or the time refused, never
dropped; a number where a time belongs and a date out of range are typed problems with row and
column; and an interrupted sync is completed by `records-sync` or by loading the file again."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reformkpi import cli
from reformkpi.ingest.problems import IngestError
from reformkpi.records import load, metrics, scan, staging
from reformkpi.store import SOURCE_PREFIX, Store
from tests.core.records.test_records import ANALYST, ROWS, ingest, write

VN = dt.timezone(dt.timedelta(hours=7))


def problems(e: pytest.ExceptionInfo) -> list[tuple]:
    return [(p.code, p.row, p.column, p.value) for p in e.value.problems]


def exported_on(path: Path, moment: dt.datetime) -> Path:
    """The export's file as written at `moment` (its modification time)."""
    os.utime(path, (moment.timestamp(), moment.timestamp()))
    return path


def test_a_dossier_dated_after_today_is_refused_with_its_row(tmp_store, tmp_path):
    rows = [*ROWS, ("Y", "P1", "online", "2052-04-01 08:00:00", "2052-04-10", ""),
            ("Z", "P1", "online", "2025-04-01 08:00:00", "2025-04-10", "2099-12-31 00:00:00")]
    with pytest.raises(IngestError) as e:
        ingest(tmp_store, write(tmp_path / "2052.csv", rows))
    assert problems(e) == [("records_after_export", 13, "received_at", "2052-04-01 08:00:00"),
                           ("records_after_export", 14, "resolved_at", "2099-12-31 00:00:00")]
    now = e.value.problems[0].fields["as_of"]
    assert e.value.problems[0].message("vi") == (
        f"Dòng 13, cột «received_at»: thời điểm «2052-04-01 08:00:00» muộn hơn lúc tệp được xuất ({now}, giờ Việt Nam): "
        "hồ sơ không thể được tiếp nhận hay giải quyết sau đó; kiểm tra lại năm, tháng, ngày.")
    assert e.value.problems[1].message("en").startswith("Row 14, column “resolved_at”: the time “2099-12-31 00:00:00” is later")
    assert not scan.exists(tmp_store) and len(tmp_store.read()) == 0


def test_the_export_cannot_describe_what_happened_after_its_file_was_written(tmp_store, tmp_path):
    """Exported at 09:00 on 1/7/2025 (Viet Nam time): a dossier resolved at 11:00 that day is refused,
    one resolved within the clocks' hour of difference is accepted."""
    made = dt.datetime(2025, 7, 1, 9, 0, tzinfo=VN)
    late = [*ROWS, ("Y", "P1", "online", "2025-06-30 08:00:00", "2025-07-10", "2025-07-01 11:00:00")]
    with pytest.raises(IngestError) as e:
        ingest(tmp_store, exported_on(write(tmp_path / "late.csv", late), made))
    assert problems(e) == [("records_after_export", 13, "resolved_at", "2025-07-01 11:00:00")]
    assert "01/07/2025 10:00" in e.value.problems[0].message("vi")  # the export's time and the clocks' hour
    skew = [*ROWS, ("Y", "P1", "online", "2025-06-30 08:00:00", "2025-07-10", "2025-07-01 09:30:00")]
    assert ingest(tmp_store, exported_on(write(tmp_path / "skew.csv", skew), made)).rows_new == 12


def test_the_file_time_counts_only_when_it_is_earlier_than_now(tmp_path):
    path = write(tmp_path / "e.csv", ROWS)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    exported_on(path, dt.datetime(2030, 1, 1, tzinfo=dt.UTC))  # a clock set wrong where it was copied
    assert staging.exported_at(path, now) == now + staging.CLOCK_SKEW


def _stored(store: Store, dossier: str) -> dict:
    """A stored dossier's instants and the quarter whose partition holds it."""
    for f in scan.files(store):
        rows = pq.read_table(f.path).to_pandas()
        if (hit := rows[rows["dossier_id"] == dossier]).size:
            return {"received_at": hit["received_at"].iloc[0], "resolved_at": hit["resolved_at"].iloc[0],
                    "quarter": f.quarter}
    raise KeyError(dossier)


def test_an_explicit_offset_is_honoured_in_viet_nam_time(tmp_store, tmp_path):
    """08:00 at +14:00 is 01:00 in Viet Nam; 17:30Z is 00:30 the next day in Viet Nam, so a
    dossier received then on 30/6 belongs to Q3. Read as Viet Nam time they were 7–21 h off."""
    rows = [*ROWS, ("P", "P1", "online", "2025-04-02 08:00:00+14:00", "2025-04-10", "2025-04-03T01:00:00Z"),
            ("Q", "P1", "online", "2025-06-30T17:30:00Z", "2025-07-10", ""),
            ("R", "P1", "online", "2025-04-02 08:00:00+0700", "2025-04-10", "2025-04-02 11:00:00 Asia/Tokyo")]
    ingest(tmp_store, write(tmp_path / "offsets.csv", rows))
    p, q, r = (_stored(tmp_store, d) for d in "PQR")
    assert p["received_at"] == dt.datetime(2025, 4, 1, 18, 0, tzinfo=dt.UTC)  # 01:00 on 2/4 in Viet Nam
    assert p["resolved_at"] == dt.datetime(2025, 4, 3, 1, 0, tzinfo=dt.UTC)
    assert q["quarter"] == "2025-Q3" and q["received_at"] == dt.datetime(2025, 6, 30, 17, 30, tzinfo=dt.UTC)
    assert r["received_at"] == dt.datetime(2025, 4, 2, 1, 0, tzinfo=dt.UTC) and r["resolved_at"] == dt.datetime(
        2025, 4, 2, 2, 0, tzinfo=dt.UTC)
    naive = _stored(tmp_store, "A")  # no offset: Viet Nam time, as before
    assert naive["received_at"] == dt.datetime(2025, 4, 1, 1, 0, tzinfo=dt.UTC)


def test_an_offset_that_cannot_be_read_refuses_the_time_instead_of_dropping_it(tmp_store, tmp_path):
    rows = [*ROWS[:2], ("X", "P1", "online", "2025-04-02 08:00:00 +07", "2025-04-10", ""),
            ("Y", "P1", "online", "2025-04-02 08:00:00", "2025-04-10", "2025-04-03 09:00:00 GMT+25")]
    with pytest.raises(IngestError) as e:
        ingest(tmp_store, write(tmp_path / "offsets.csv", rows))
    assert problems(e) == [("records_not_time", 4, "received_at", "2025-04-02 08:00:00 +07"),
                           ("records_not_time", 5, "resolved_at", "2025-04-03 09:00:00 GMT+25")]
    assert not scan.exists(tmp_store)


def test_epoch_numbers_are_a_typed_problem_with_row_and_column(tmp_store, tmp_path):
    rows = [*ROWS[:2], ("X", "P1", "online", "1735689600", "2025-04-10", ""),
            ("Y", "P1", "online", "2025-04-02 08:00:00", "1743465600000", "")]
    with pytest.raises(IngestError) as e:
        ingest(tmp_store, write(tmp_path / "epoch.csv", rows))
    assert problems(e) == [("records_epoch", 4, "received_at", "1735689600"), ("records_epoch", 5, "due_at", "1743465600000")]
    assert e.value.problems[0].message("en") == (
        "Row 4, column “received_at”: “1735689600” is a number, not a date and time (perhaps seconds since 1970): "
        "export times as 2025-04-01 08:00:00 (Viet Nam time) or with their offset (2025-04-01T08:00:00+07:00).")
    # A Parquet column of integers or decimals: each row named, not "the file cannot be read".
    df = pd.read_csv(write(tmp_path / "ok.csv", ROWS[:3]), dtype=str, keep_default_na=False)
    for typ in (pa.int64(), pa.float64(), pa.decimal128(20, 0)):
        t = pa.Table.from_pandas(df, preserve_index=False)
        t = t.set_column(t.schema.get_field_index("received_at"), "received_at",
                         pa.array([1735689600, 1735689700, 1735689800], pa.int64()).cast(typ))
        pq.write_table(t, tmp_path / "epoch.parquet")
        with pytest.raises(IngestError) as e:
            ingest(tmp_store, tmp_path / "epoch.parquet")
        assert [(p.code, p.row, p.column) for p in e.value.problems] == [("records_epoch", r, "received_at") for r in (1, 2, 3)]
    assert not scan.exists(tmp_store)


def test_dates_out_of_range_are_typed_problems(tmp_store, tmp_path):
    rows = [*ROWS[:2], ("X", "P1", "online", "99999-01-01 00:00:00", "99999-01-10", ""),
            ("Y", "P1", "online", "-2025-04-01 08:00:00", "2025-04-10", "")]
    with pytest.raises(IngestError) as e:
        ingest(tmp_store, write(tmp_path / "far.csv", rows))
    assert [(p.code, p.row, p.column) for p in e.value.problems] == [
        ("records_implausible_year", 4, "received_at"), ("records_implausible_year", 4, "due_at"),
        ("records_implausible_year", 5, "received_at")]
    df = pd.read_csv(write(tmp_path / "ok.csv", ROWS[:2]), dtype=str, keep_default_na=False)
    extremes = {"ns": pa.array([2**63 - 1, -(2**63) + 1], pa.timestamp("ns")),
                "date": pa.array([2**31 - 1, -(2**31) + 1], pa.int32()).cast(pa.date32())}
    for column in extremes.values():
        t = pa.Table.from_pandas(df, preserve_index=False)
        t = t.set_column(t.schema.get_field_index("received_at"), "received_at", column)
        pq.write_table(t, tmp_path / "far.parquet")
        with pytest.raises(IngestError) as e:
            ingest(tmp_store, tmp_path / "far.parquet")
        assert ("records_implausible_year", 1, "received_at") in [(p.code, p.row, p.column) for p in e.value.problems]
        assert ("records_implausible_year", 2, "received_at") in [(p.code, p.row, p.column) for p in e.value.problems]
    assert not scan.exists(tmp_store)


def _synced(store: Store) -> pd.DataFrame:
    stored = store.read().to_pandas()
    return stored[stored["source"].fillna("").str.startswith(SOURCE_PREFIX)]


@pytest.fixture
def interrupted(tmp_store, tmp_path, monkeypatch):
    """A load whose sync stopped after the records' commit (the process died between the two)."""
    export = write(tmp_path / "export.csv", ROWS)

    def dies(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(metrics, "sync_counts", dies)
        with pytest.raises(KeyboardInterrupt):
            load.load(tmp_store, export, ANALYST)
    assert scan.version(tmp_store) == 1 and _synced(tmp_store).empty
    return tmp_store, export


def test_loading_the_same_file_again_completes_an_interrupted_sync(interrupted):
    store, export = interrupted
    done = load.load(store, export, ANALYST)
    assert not done.records.committed  # the records changed nothing...
    assert done.observations_version == store.version() and len(_synced(store)) == 9  # ...the counts are written
    again = load.load(store, export, ANALYST)
    assert again.observations_version == done.observations_version  # nothing left to write


def test_records_sync_completes_an_interrupted_sync(interrupted, capsys):
    store, _ = interrupted
    assert cli.main(["--store", store.uri, "--user", "an", "records-sync", "--lang", "en"]) == 0
    assert capsys.readouterr().out.startswith("Quarterly dossier counts written: 9 new, 0 changed, 0 unchanged")
    synced = _synced(store)
    assert len(synced) == 9 and set(synced["period"]) == {"2025-Q2"}
    assert store.history().iloc[0]["operation"] == "records-sync"
    assert cli.main(["--store", store.uri, "--user", "an", "records-sync"]) == 0
    assert "không có gì để ghi" in capsys.readouterr().out


def test_records_sync_without_records_says_so(tmp_store, capsys):
    assert cli.main(["--store", tmp_store.uri, "records-sync", "--lang", "en"]) == 2
    assert "holds no dossier records" in capsys.readouterr().err
