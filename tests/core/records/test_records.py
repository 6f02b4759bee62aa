"""Dossier records: the deadline edge, quarters and partitions, re-ingest and corrections, the drill-down.

The hand-built records below (local Viet Nam times) are worked by hand in the comments.
"""

import dataclasses
import datetime as dt
import gc
import statistics
import weakref

import pandas as pd
import pytest

from reformkpi.auth import Actor
from reformkpi.catalog import Catalog
from reformkpi.ingest.problems import IngestError
from reformkpi.records import metrics as rm
from reformkpi.records import scan, table
from reformkpi.store import CommitInfo

COLUMNS = ["dossier_id", "unit_id", "procedure_code", "procedure_name", "channel",
           "received_at", "due_at", "resolved_at", "status"]
U = "so-tu-phap"
ANALYST = Actor("analyst", "analyst")
# id, procedure, channel, received, due, resolved
ROWS = [
    ("A", "P3", "online", "2025-04-01 08:00:00", "2025-04-10 17:00:00", "2025-04-10 09:00:00"),    # due day: on time
    ("B", "P3", "online", "2025-04-01 08:00:00", "2025-04-10 17:00:00", "2025-04-10 17:00:00"),    # at due_at: on time
    ("C", "P1", "in_person", "2025-04-01 08:00:00", "2025-04-10 17:00:00", "2025-04-10 17:00:01"),  # 1 s after: late
    ("D", "P3", "in_person", "2025-04-01 08:00:00", "2025-04-10 17:00:00", "2025-04-09 16:00:00"),  # day before: early
    ("E", "P3", "online", "2025-04-02 08:00:00", "2025-04-10", "2025-04-10 23:59:59"),             # date-only due: on time
    ("F", "P2", "in_person", "2025-04-15 09:00:00", "2025-05-01", ""),                              # open past due: overdue
    ("G", "P3", "online", "2025-06-20 10:00:00", "2025-07-15 17:00:00", ""),                         # open, not yet due
    ("H", "P3", "online", "2025-03-25 08:00:00", "2025-04-05 17:00:00", "2025-04-02 10:00:00"),    # carried over, early
    ("I", "P1", "in_person", "2025-06-25 08:00:00", "2025-06-30 12:00:00", "2025-07-01 00:00:00"),  # open at Q2 end, late in Q3
    ("J", "P3", "post", "2025-06-30 23:30:00", "2025-07-10 17:00:00", ""),                           # Q2 in local time
    ("K", "P3", "in_person", "2025-03-31 23:00:00", "2025-04-20 17:00:00", "2025-04-03 10:00:00"),  # carried over, early
]


def write(path, rows, unit=U):
    df = pd.DataFrame([(i, unit, p, f"Thủ tục {p}", ch, r, d, s, "resolved" if s else "in_progress")
                       for i, p, ch, r, d, s in rows], columns=COLUMNS)
    df.to_csv(path, index=False)
    return path


def ingest(store, path, user="test"):
    return table.ingest(store, path, ANALYST, CommitInfo(user=user, file_name=path.name), {U, "so-y-te"}, chunk_rows=4)


@pytest.fixture
def loaded(tmp_store, tmp_path):
    r = ingest(tmp_store, write(tmp_path / "export.csv", ROWS))
    return tmp_store, rm.Records.open(tmp_store, r.version)


def counts(rec, quarter):
    c = rm.quarter_counts(rec, [quarter])
    return c[c["unit_id"] == U].iloc[0].drop(["unit_id", "period"]).to_dict()


def test_the_deadline_edge_and_the_quarter_counts(loaded):
    _, rec = loaded
    assert counts(rec, "2025-Q2") == {
        "carried_over": 2,                                                         # H, K
        "received_online": 4, "received_in_person": 4, "received_post": 1,       # A B E G · C D F I · J
        "resolved_early": 3, "resolved_on_time": 3, "resolved_late": 1,           # D H K · A B E · C
        "pending_not_due": 2, "pending_overdue": 2}                                # G J · F I
    # I is resolved at 00:00:00 on 1/7 exactly: in Q3, and after its due time, so late.
    assert counts(rec, "2025-Q3") == {
        "carried_over": 4, "received_online": 0, "received_in_person": 0, "received_post": 0,
        "resolved_early": 0, "resolved_on_time": 0, "resolved_late": 1,
        "pending_not_due": 0, "pending_overdue": 3}                                # F, G (15/7), J (10/7)


def test_quarters_follow_local_time_and_partitions_hold_them(loaded):
    store, rec = loaded
    parts = {f.quarter for f in scan.files(store)}
    assert parts == {"2025-Q1", "2025-Q2"}  # K (23:00 on 31/3) in Q1, J (23:30 on 30/6) in Q2
    assert rm.quarters(rec) == ["2025-Q1", "2025-Q2"] and rm.complete_quarters(rec) == ["2025-Q2"]
    # Reading Q1 touches Q1 files only; for Q3 the Q1 file is skipped, as the Delta statistics
    # say all its dossiers were resolved by 3/4 (the Q3 counts above need nothing from it).
    assert "Q2" not in rec.scan("2025-Q1")
    assert "Q1" not in rec.scan("2025-Q3", "2025-Q3") and "Q2" in rec.scan("2025-Q3", "2025-Q3")
    assert counts(rec, "2025-Q1") == {"carried_over": 0, "received_online": 1, "received_in_person": 1,
                                      "received_post": 0, "resolved_early": 0, "resolved_on_time": 0,
                                      "resolved_late": 0, "pending_not_due": 2, "pending_overdue": 0}


def test_reingesting_the_same_export_commits_nothing(loaded, tmp_path):
    store, rec = loaded
    again = ingest(store, write(tmp_path / "again.csv", ROWS))
    assert (again.rows_new, again.rows_changed, again.rows_unchanged, again.committed) == (0, 0, 11, False)
    assert scan.version(store) == rec.version


def test_a_corrected_export_updates_records_in_one_commit(loaded, tmp_path):
    store, rec = loaded
    fixed = [r for r in ROWS if r[0] not in ("C", "K")] + [
        ("C", "P1", "in_person", "2025-04-01 08:00:00", "2025-04-10 17:00:00", "2025-04-10 16:00:00"),  # now on time
        ("K", "P3", "in_person", "2025-04-01 08:00:00", "2025-04-20 17:00:00", "2025-04-03 10:00:00"),  # moves to Q2
        ("L", "P3", "online", "2025-05-05 08:00:00", "2025-05-10 17:00:00", "2025-05-06 08:00:00")]     # new
    r = ingest(store, write(tmp_path / "fixed.csv", fixed), user="analyst")
    assert (r.rows_new, r.rows_changed, r.rows_unchanged, r.version) == (1, 2, 9, rec.version + 1)
    new = rm.Records.open(store)
    c = counts(new, "2025-Q2")
    assert (c["resolved_late"], c["resolved_on_time"], c["carried_over"], c["received_in_person"]) == (0, 4, 1, 5)
    rows = new.sql(f"SELECT dossier_id, count(*) AS n FROM {new.scan()} GROUP BY ALL")
    assert len(rows) == 12 and (rows["n"] == 1).all()
    assert {f.quarter for f in scan.files(store)} == {"2025-Q1", "2025-Q2"}
    h = pd.DataFrame(table.DeltaTable(table.path(store)).history())
    assert h.iloc[0]["reformkpi.user"] == "analyst" and h.iloc[0]["reformkpi.rows_changed"] == "2"
    # The old version still reads as it was.
    assert counts(rm.Records.open(store, rec.version), "2025-Q2")["resolved_late"] == 1


def test_within_one_export_the_last_row_of_a_dossier_wins(tmp_store, tmp_path):
    rows = [ROWS[0], ("A", "P3", "online", "2025-04-01 08:00:00", "2025-04-10 17:00:00", "2025-04-11 09:00:00")]
    r = ingest(tmp_store, write(tmp_path / "dup.csv", rows))
    assert r.rows_new == 1
    assert counts(rm.Records.open(tmp_store), "2025-Q2")["resolved_late"] == 1


def test_a_broken_export_is_rejected_with_its_row_numbers(tmp_store, tmp_path):
    rows = [ROWS[0], ("X", "P1", "fax", "2025-04-01 08:00:00", "2025-04-10", ""),
            ("Y", "P1", "online", "not a date", "2025-04-10", ""),
            ("Z", "P1", "online", "2025-04-11 08:00:00", "2025-04-10", "")]
    path = write(tmp_path / "bad.csv", rows)
    with pytest.raises(IngestError) as e:
        ingest(tmp_store, path)
    assert [(p.code, p.row, p.column, p.value) for p in e.value.problems] == [
        ("records_channel", 3, "channel", "fax"), ("records_not_time", 4, "received_at", "not a date"),
        ("records_before_received", 5, "due_at", None)]
    assert [p.message("en") for p in e.value.problems] == [
        "Row 3, column “channel”: channel “fax” is not one of online, in_person, post.",
        "Row 4, column “received_at”: empty or not a date and time (e.g. 2025-04-01 08:00:00, Viet Nam time).",
        "Row 5, column “due_at”: the time is before received_at."]
    assert e.value.problems[0].message("vi") == "Dòng 3, cột «channel»: kênh nộp «fax» không phải một trong online, in_person, post."
    assert not scan.exists(tmp_store)


def test_a_mistyped_year_is_refused_before_it_makes_a_quarter_of_its_own(tmp_store, tmp_path):
    rows = [ROWS[0], ("X", "P1", "online", "0202-03-01 08:00:00", "2025-04-10", ""),
            ("Y", "P1", "online", "2025-04-01 08:00:00", "2205-04-10", "")]
    with pytest.raises(IngestError) as e:
        ingest(tmp_store, write(tmp_path / "typo.csv", rows))
    assert [(p.code, p.row, p.column) for p in e.value.problems] == [
        ("records_implausible_year", 3, "received_at"), ("records_implausible_year", 4, "due_at")]
    assert e.value.problems[0].message("vi").startswith("Dòng 3, cột «received_at»: năm nằm ngoài 2000–2099")
    assert not scan.exists(tmp_store)


def _days(a, b):
    return (dt.datetime.fromisoformat(b) - dt.datetime.fromisoformat(a)).total_seconds() / 86400


def test_drilldown_of_a_unit_and_quarter(loaded):
    _, rec = loaded
    s = rm.summary(rec, U, "2025-Q2")
    resolved = [r for r in ROWS if r[5] and "2025-04-01" <= r[5] < "2025-07-01"]
    assert len(resolved) == 7
    assert (s["received"], s["resolved"], s["late"], s["open"], s["overdue"]) == (9, 7, 1, 4, 2)
    assert s["late_rate"] == pytest.approx(100 / 7) and s["online_share"] == pytest.approx(400 / 9)
    assert s["median_days"] == pytest.approx(statistics.median(_days(r[3], r[5]) for r in resolved))

    late = rm.late_procedures(rec, U, "2025-Q2")
    assert late[["procedure_code", "late", "overdue_open"]].values.tolist() == [["P1", 1, 1], ["P2", 0, 1]]
    assert late.iloc[0]["median_days_late"] == pytest.approx(1 / 86400)
    assert late["procedure_name"].tolist() == ["Thủ tục P1", "Thủ tục P2"]
    # The drill-down reads procedures only for the quarter's dossiers: I, resolved in Q3, is named there.
    assert rm.processing_times(rec, U, "2025-Q3")[["procedure_code", "procedure_name", "resolved"]].values.tolist() \
        == [["P1", "Thủ tục P1", 1]]

    ages = rm.backlog_ageing(rec, U, "2025-Q2").set_index("lo")
    # At 1/7 00:00: J 0 days old, I 5 (both 0–7), G 10 (8–15), F 76 (61–90).
    assert ages[["not_due", "overdue"]].to_dict("index") == {
        0: {"not_due": 1, "overdue": 1}, 8: {"not_due": 1, "overdue": 0}, 16: {"not_due": 0, "overdue": 0},
        31: {"not_due": 0, "overdue": 0}, 61: {"not_due": 0, "overdue": 1}, 91: {"not_due": 0, "overdue": 0}}

    over = rm.overdue_days(rec, U, "2025-Q2").set_index("lo")
    # C: 1 s late (day 1); I: 12 h past due at the end of the quarter (day 1); F: due end of 1/5, 60 days + (day 61).
    assert over.loc[0].tolist()[1:] == [1, 1] and over.loc[31].tolist()[1:] == [0, 1]
    assert over[["resolved_late", "open_overdue"]].to_numpy().sum() == 3

    ch = rm.channels(rec, U, "2025-Q2").set_index("channel")
    assert ch["received"].to_dict() == {"online": 4, "in_person": 4, "post": 1}
    assert ch["resolved"].to_dict() == {"online": 4, "in_person": 3, "post": 0}   # A B E H · C D K
    assert ch.loc["in_person", "late_rate"] == pytest.approx(100 / 3) and pd.isna(ch.loc["post", "late_rate"])

    times = rm.processing_times(rec, U, "2025-Q2").set_index("procedure_code")
    p3 = [_days(r[3], r[5]) for r in resolved if r[1] == "P3"]
    assert times.loc["P3", "resolved"] == 6 and times.loc["P3", "median_days"] == pytest.approx(statistics.median(p3))

    trend = rm.backlog_trend(rec, U, "2025-Q3")
    assert trend["period"].tolist() == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert (trend["pending_not_due"] + trend["pending_overdue"]).tolist() == [2, 4, 3]
    assert rm.units_with_records(rec, "2025-Q2") == [U]


@pytest.mark.parametrize("threads_from", [rm.FIGURE_THREADS_FROM, 0], ids=["one thread", "side by side"])
def test_the_drill_down_computes_every_figure_at_once_as_each_function_does(loaded, monkeypatch, threads_from):
    store, rec = loaded
    monkeypatch.setattr(rm, "FIGURE_THREADS_FROM", threads_from)  # a few rows: in one thread unless told
    at_once = rm.drill_down(rm.Records.open(store), U, "2025-Q2")  # a fresh Records: nothing kept yet
    for field in dataclasses.fields(rm.DrillDown):
        alone = getattr(rm, field.name)(rec, U, "2025-Q2")
        if isinstance(alone, dict):
            assert getattr(at_once, field.name) == pytest.approx(alone, nan_ok=True), field.name
        else:
            pd.testing.assert_frame_equal(getattr(at_once, field.name), alone, obj=field.name)
    assert at_once.summary["received"] == 9  # and kept: asked again, the same answer
    assert rm.drill_down(rec, U, "2025-Q2") is rm.drill_down(rec, U, "2025-Q2")


def test_rows_read_anew_run_the_statement_bound_the_first_time_and_give_the_same_figures(loaded):
    store, _ = loaded
    rec = rm.Records.open(store)
    first = rm.drill_down(rec, U, "2025-Q2")
    rec._kept.clear()  # what was kept let go, as the budget lets it go
    again = rm.drill_down(rec, U, "2025-Q2")
    assert again is not first and rec._bound.cache_info().hits == 1
    for field in dataclasses.fields(rm.DrillDown):
        if field.name == "summary":
            assert again.summary == pytest.approx(first.summary, nan_ok=True)
        else:
            pd.testing.assert_frame_equal(getattr(again, field.name), getattr(first, field.name), obj=field.name)
    rm.drill_down(rec, U, "2025-Q3")  # another quarter: a statement of its own
    assert rec._bound.cache_info().misses == 2
    # Nothing it keeps holds it: let go, a version's Records goes at once with all it keeps.
    gone = weakref.ref(rec)
    gc.disable()
    try:
        del rec, first, again
        assert gone() is None
    finally:
        gc.enable()


def test_counts_become_observations_and_are_compared_with_typed_ones(loaded):
    store, rec = loaded
    typed = pd.DataFrame([{"unit_id": U, "indicator_id": "dossier.resolved_late", "period": "2025-Q2",
                           "period_start": dt.date(2025, 4, 1), "value": 5.0, "source": "Báo cáo quý"}])
    store.commit_observations(typed, CommitInfo(user="analyst"))
    before = rm.compare_with_stored(rec, store.read().to_pandas(), U, "2025-Q2").set_index("indicator_id")
    assert before.loc["dossier.resolved_late"].tolist() == [1, 5.0, "upload", False]
    assert pd.isna(before.loc["dossier.carried_over", "equal"])
    r = rm.sync_counts(store, rec, ANALYST, CommitInfo(user="test", operation="records-sync"))
    assert (r.rows_new, r.rows_changed) == (8, 1)  # nine counts of one quarter; the typed one replaced
    after = rm.compare_with_stored(rec, store.read().to_pandas(), U, "2025-Q2")
    assert after["equal"].all() and (after["origin"] == "records").all()


def test_a_parquet_export_is_read_in_chunks_with_its_own_row_numbers(tmp_store, tmp_path):
    df = pd.read_csv(write(tmp_path / "export.csv", ROWS), dtype=str, keep_default_na=False)
    df.loc[5, "channel"] = "fax"  # F: row 6 of the file, in the second chunk of three rows
    df.to_parquet(tmp_path / "export.parquet")
    info = CommitInfo(user="test")
    with pytest.raises(IngestError) as e:
        table.ingest(tmp_store, tmp_path / "export.parquet", ANALYST, info, {U}, chunk_rows=3)
    assert [(p.code, p.row, p.column, p.value) for p in e.value.problems] == [("records_channel", 6, "channel", "fax")]
    df.loc[5, "channel"] = "online"
    df.to_parquet(tmp_path / "export.parquet")
    r = table.ingest(tmp_store, tmp_path / "export.parquet", ANALYST, info, {U}, chunk_rows=3)
    assert (r.rows_read, r.rows_new) == (11, 11)
    assert counts(rm.Records.open(tmp_store), "2025-Q2")["received_online"] == 5


# Sở TN&MT (X) and Sở NN&PTNT (Y) merged into Sở NN&MT (Z) on 01/03/2025 (the demo catalog).
X, Y, Z = "so-tai-nguyen-moi-truong", "so-nong-nghiep-ptnt", "so-nong-nghiep-moi-truong"
MERGED_ROWS = [  # unit, id, channel, received, due, resolved
    (Y, "Y0", "online", "2024-11-05 08:00:00", "2024-11-20 17:00:00", "2024-11-19 10:00:00"),  # 2024-Q4: early
    (X, "X1", "in_person", "2024-12-10 08:00:00", "2025-01-10 17:00:00", "2025-01-15 09:00:00"),  # carried into Q1, late
    (X, "X2", "in_person", "2025-02-03 08:00:00", "2025-02-20 17:00:00", "2025-02-18 09:00:00"),  # early
    (Y, "Y1", "online", "2025-02-25 08:00:00", "2025-03-20 17:00:00", ""),                     # open, overdue at Q1 end
    (Z, "Z1", "online", "2025-03-05 08:00:00", "2025-03-25 17:00:00", "2025-03-25 12:00:00"),  # on time
    (Z, "Z2", "post", "2025-03-28 08:00:00", "2025-04-20 17:00:00", ""),                       # open, not yet due
]


def test_a_merged_units_drill_down_counts_what_it_holds_at_each_quarters_end_as_the_sync_does(tmp_store, tmp_path):
    df = pd.DataFrame([(i, u, "P1", "Thủ tục P1", ch, r, d, s, "resolved" if s else "in_progress")
                       for u, i, ch, r, d, s in MERGED_ROWS], columns=COLUMNS)
    df.to_csv(tmp_path / "merged.csv", index=False)
    r = table.ingest(tmp_store, tmp_path / "merged.csv", ANALYST, CommitInfo(user="test"), {X, Y, Z})
    rec, cat = rm.Records.open(tmp_store, r.version), Catalog.from_tables(tmp_store.read_catalog())
    held = rm.Held.of(cat, Z, "2025-Q1")
    assert held.units("2025-Q1") == tuple(sorted((Z, Y, X)))  # Z and the two merged into it by 31/03
    assert held.units("2024-Q4") == tuple(sorted((Y, X))) and dict((q, own) for q, _, own in held.quarters)["2024-Q4"] is False
    s = rm.summary(rec, held, "2025-Q1")
    # Received X2 Y1 Z1 Z2; resolved X2 early, Z1 on time, X1 late; open Z2 (not due), Y1 (overdue).
    assert (s["received"], s["early"], s["on_time"], s["late"], s["open"], s["overdue"]) == (4, 1, 1, 1, 2, 1)
    assert s["late_rate"] == pytest.approx(100 / 3)
    assert rm.channels(rec, held, "2025-Q1").set_index("channel")["received"].to_dict() == {
        "online": 2, "in_person": 1, "post": 1}
    synced = rm.derived_observations(rec, cat, ["2025-Q1"])
    assert set(synced["unit_id"]) == {Z}  # the predecessors were out of office at the quarter's end
    compared = rm.compare_with_stored(rec, synced, held, "2025-Q1")
    assert compared["equal"].all() and compared.set_index("indicator_id").loc["dossier.carried_over", "stored"] == 1
    trend = rm.backlog_trend(rec, held, "2025-Q1")
    # 2024-Q4, before Z: Y0 and X1 received, Y0 resolved, X1 open (due in January): the predecessors combined.
    assert trend.values.tolist() == [["2024-Q4", 2, 1, 1, 0, False], ["2025-Q1", 4, 3, 1, 1, True]]
    assert rm.units_with_records(rec, "2025-Q1", cat.holders("2025-Q1")) == [Z]
    assert sorted(rm.units_with_records(rec, "2025-Q1")) == sorted([X, Y, Z])
    # A unit id alone reads that unit's own dossiers only (the drill-down as it was before the rule).
    assert rm.summary(rec, Z, "2025-Q1")["received"] == 2
