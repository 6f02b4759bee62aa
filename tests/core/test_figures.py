"""The rules a figure follows in the cases every province meets, each against values worked out by
hand: partial reporting, like-for-like changes, complete years, precision at a band edge, method
breaks, "mới", no −0,0, percentages written as fractions, and the context stated with a figure."""

import pandas as pd
import pyarrow as pa
import pytest

from reformkpi import formatting, ingest, notes
from reformkpi.metrics import ranking, rollups, views
from reformkpi.metrics.datasets import Dataset
from reformkpi.catalog import Catalog
from reformkpi.context import figure_context, figure_contexts, trend_title
from reformkpi.ingest import papi
from reformkpi.periods import Period
from reformkpi.store import CommitInfo, conform
from tests.conftest import dataset, obs, small_catalog
from tests.core.ingest.test_ingest import ANALYST, csv_bytes, prep, state, xlsx_bytes
from tests.core.metrics.test_metrics import dossiers


def test_partial_reporting_states_its_coverage_and_compares_like_with_like():
    # 2022: a 70, b 75, c 75 (mean 73.3); 2023: only b reports, 91.0.
    ds = dataset([("a", "sat", "2022", 70), ("b", "sat", "2022", 75), ("c", "sat", "2022", 75),
                  ("b", "sat", "2023", 91)])
    k = views.kpi(ds, "sat", Period(2023), "department", "vi")
    assert (k.value, k.previous) == (91.0, 73.3)
    # Not 91.0 − 73.3 = +17.7: b itself went from 75 to 91.
    assert k.change == 16.0 and k.n_common == 1
    # Departments in office at the end of 2023: a, b, c, x, y (z starts in 2025, d is a district).
    assert (k.n_units, k.n_expected) == (1, 5)
    ctx = figure_context(ds, "sat", Period(2023), "department", "vi")
    assert (ctx.n_units, ctx.n_expected, ctx.version) == (1, 5, 0)
    assert ctx.summary() == "Nguồn: test · 1/5 đơn vị có số liệu · phiên bản dữ liệu 0"


def test_a_district_with_only_its_first_quarter_does_not_move_the_next_quarters_change():
    # Q1: a 1 late of 10, d 50 late of 100. Q2: a 2 late of 10, d did not report.
    ds = dataset(dossiers("a", "2019-Q1", 4, 5, 1) + dossiers("d", "2019-Q1", 20, 30, 50)
                 + dossiers("a", "2019-Q2", 3, 5, 2))
    k = views.kpi(ds, "late_rate", Period(2019, 2), None, "vi")
    assert k.previous == pytest.approx(46.4)  # 51 / 110 over both units
    assert k.value == 20.0 and k.change == 10.0 and k.n_common == 1  # a alone: 10% → 20%, not −26,4


def test_no_unit_in_both_periods_means_no_change():
    ds = dataset([("a", "sat", "2022", 70), ("b", "sat", "2023", 91)])
    k = views.kpi(ds, "sat", Period(2023), "department", "vi")
    assert k.previous == 70 and k.change is None and k.n_common == 0


def test_yearly_ranks_of_a_quarterly_rate_need_a_complete_year():
    rows = [r for q in ("2019-Q1", "2019-Q2", "2019-Q3", "2019-Q4")
            for r in dossiers("a", q, 0, 9, 1) + dossiers("b", q, 0, 8, 2)]
    rows += dossiers("c", "2019-Q1", 0, 10, 0)  # one quarter without a late dossier: 0% for "the year"
    ds = dataset(rows)
    r = ranking.ranks(ds, "late_rate", "year", "department").set_index("unit_id")
    assert r["rank"].to_dict() == {"a": 1, "b": 2} and r["n_peers"].tolist() == [2, 2]
    t = ranking.league_table(ds, "late_rate", Period(2019), "department", "vi").set_index("unit_id")
    assert pd.isna(t.loc["c", "rank"]) and not t.loc["c", "complete"] and t.loc["c", "value"] == 0
    assert t["rank"].iloc[:2].tolist() == [1, 2]  # the incomplete unit is listed last, unranked


def test_precision_at_a_band_edge_agrees_with_what_is_shown():
    # PAR INDEX is published with 2 decimals: 64.03 / 80.04 = 79.9975% is 80,00%, graded and ranked so.
    ds = dataset([("a", "par", "2023", 64.03, 80.04), ("b", "par", "2023", 80, 100), ("c", "par", "2023", 79.9, 100)])
    t = ranking.league_table(ds, "par", Period(2023), "department", "vi").set_index("unit_id")
    assert t.loc["a", "value"] == 80.0
    assert formatting.value(t.loc["a", "value"], "points", "vi", int(ds.catalog.indicator("par")["decimals"])) == "80,00%"
    assert t.loc["a", "grade_label"] == "Tốt" and t.loc["a", "meets_target"] and t.loc["a", "gap"] == 0
    assert t["rank"].to_dict() == {"a": 1, "b": 1, "c": 3}
    assert t.loc["c", "grade_label"] == "Khá" and formatting.value(79.9, "points", "vi", 2) == "79,90%"
    k = views.kpi(ds, "par", Period(2023), "department", "vi")
    assert k.value == 79.97 and k.gap == -0.03 and k.meets_target is False  # (80 + 80 + 79.9) / 3 = 79.966…


def test_no_minus_zero():
    assert formatting.signed(-0.04, "vi") == "0,0" and formatting.signed(-0.06, "vi") == "−0,1"
    ds = dataset([("a", "sat", "2018", 80.04), ("a", "sat", "2019", 80.0)])
    k = views.kpi(ds, "sat", Period(2019), "department", "vi")
    assert k.change == 0.0 and formatting.signed(k.change, "vi") == "0,0"


def test_new_only_for_units_that_did_not_exist_the_period_before():
    ds = dataset([("a", "sat", "2024", 80), ("a", "sat", "2025", 81), ("b", "sat", "2025", 82),
                  ("z", "sat", "2025", 83)])
    t = ranking.league_table(ds, "sat", Period(2025), "department", "vi").set_index("unit_id")
    # z was formed on 1/3/2025; b existed in 2024 but has no figure for it: no change, but not new.
    assert t["is_new"].to_dict() == {"z": True, "b": False, "a": False}
    assert pd.isna(t.loc["b", "rank_change"]) and t.loc["a", "change"] == 1


def papi_dataset(rows) -> Dataset:
    cat = Catalog.from_tables(papi.catalog_tables())
    return Dataset(conform(pa.Table.from_pandas(obs(rows), preserve_index=False)), cat, version=7)


def test_the_papi_2018_method_break_is_not_a_change():
    # 2017: 6 dimensions; 2018: 8. 36.1 → 43.6 is "+7,5" only because two dimensions were added.
    ds = papi_dataset([("ha-noi", "papi.total", "2017", 36.1), ("ha-noi", "papi.total", "2018", 43.6),
                       ("ha-noi", "papi.total", "2019", 44.0), ("ha-giang", "papi.total", "2017", 33.0),
                       ("ha-giang", "papi.total", "2018", 40.0)])
    k = views.kpi(ds, "papi.total", Period(2018), None, "vi")
    assert k.change is None and k.comparison.method_break == "2018" and k.value == 41.8
    assert views.kpi(ds, "papi.total", Period(2019), None, "vi").change == pytest.approx(0.4)  # same method: a change
    t = ranking.league_table(ds, "papi.total", Period(2018), "department", "vi")
    # Neither the value nor the rank is compared across the break (Hà Nội ranked 1st both years).
    assert t["change"].isna().all() and t["rank_change"].isna().all() and t["prev_rank"].isna().all()
    trend = views.province_trend(ds, "papi.total", None, "vi").set_index("period")
    assert trend["method_break"].to_dict() == {"2017": False, "2018": True, "2019": False}
    # The trend is the mean of provinces under Viet Nam, not a province's figure.
    assert trend_title(ds.catalog, "papi.total", "vi") == "Tổng PAPI: trung bình các đơn vị (Việt Nam)"
    ctx = figure_context(ds, "papi.total", Period(2018), None, "vi")
    assert "8 chỉ số nội dung" in ctx.details() and ctx.sources == ("test",)


def test_the_demo_sipas_2022_survey_change_is_a_break(demo):
    k = views.kpi(demo, "sipas.overall", Period(2022), "department", "vi")
    assert k.change is None and k.comparison.method_break == "2022"
    assert views.kpi(demo, "sipas.overall", Period(2023), "department", "vi").change is not None


@pytest.mark.parametrize("written", ["0,774", "0.774"])
def test_a_percentage_written_as_a_fraction_is_refused(tmp_store, written):
    tmp_store.commit_observations(obs([("so-tu-phap", "sipas.overall", "2018", 82.1),
                                       ("so-y-te", "sipas.overall", "2018", 85.3)]),
                                  CommitInfo(user="test", operation="upload"))
    before = state(tmp_store)
    data = csv_bytes([["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"],
                      ["Sở Tài nguyên và Môi trường", "sipas.overall", "2019", f'"{written}"'],
                      ["Sở Tư pháp", "sipas.overall", "2019", '"0,81"']])
    up = prep(tmp_store, data)
    assert not up.valid and [(p.code, p.row, p.column) for p in up.errors] == [("percent_fraction", 2, "Giá trị")]
    msg = up.errors[0].message("vi")
    assert msg.startswith("Dòng 2, cột «Giá trị»: các giá trị tỷ lệ của chỉ số «sipas.overall» trong tệp (2 giá trị)")
    assert "quanh 83,7%" in msg and "→ 77,4" in msg and "Chưa ghi gì" in msg
    assert state(tmp_store) == before


def test_a_fraction_is_accepted_where_the_sheet_formats_it_as_percent(tmp_store):
    tmp_store.commit_observations(obs([("so-tu-phap", "sipas.overall", "2018", 82.1)]),
                                  CommitInfo(user="test", operation="upload"))
    data = xlsx_bytes([["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"], ["Sở Tư pháp", "sipas.overall", "2019", 0.774]],
                      percent_cells=["D2"])
    up = prep(tmp_store, data, "f.xlsx")
    assert up.valid and up.observations["value"].tolist() == [77.4]


def test_an_uploads_notes_are_stored_with_its_version_and_shown_with_the_figure(tmp_store):
    data = csv_bytes([["Đơn vị", "Chỉ số", "Kỳ", "Giá trị", "Ghi chú"],
                      ["Sở Tư pháp", "dossier.resolved_late", "2024-Q3", "12", "Hệ thống một cửa ngừng 5 ngày"],
                      ["Sở Tư pháp", "dossier.resolved_on_time", "2024-Q3", "88", ""]])
    up = prep(tmp_store, data)
    assert up.valid
    result = ingest.commit(tmp_store, up, ANALYST)
    stored = notes.read(tmp_store)
    assert stored[["unit_id", "indicator_id", "period", "note", "data_version", "created_by"]].values.tolist() == [
        ["so-tu-phap", "dossier.resolved_late", "2024-Q3", "Hệ thống một cửa ngừng 5 ngày", result.version, "a"]]
    ds = Dataset.open(tmp_store)
    for period in ("2024-Q3", "2024"):
        ctx = figure_context(ds, "dossier.late_rate", Period.parse(period), None, "vi")
        assert ctx.notes == ("Sở Tư pháp · Quý III/2024: Hệ thống một cửa ngừng 5 ngày",)
        assert ctx.summary().endswith("· 1 ghi chú")
        assert "Ghi chú: Sở Tư pháp · Quý III/2024: Hệ thống một cửa ngừng 5 ngày" in ctx.details()
    assert figure_context(ds, "dossier.late_rate", Period(2024, 2), None, "vi").notes == ()
    assert figure_context(Dataset.open(tmp_store, result.version - 1), "dossier.late_rate", Period(2024, 3), None, "vi").notes == ()


def test_the_context_of_one_unit_follows_its_lineage():
    # z was formed from x and y on 1/3/2025: its 2024 figures are theirs.
    ds = dataset([("x", "sat", "2024", 70), ("y", "sat", "2024", 80), ("z", "sat", "2025", 90), ("a", "sat", "2024", 60)])
    ctx = figure_context(ds, "sat", Period(2024), None, "vi", unit_id="z")
    assert (ctx.n_units, ctx.n_expected) == (2, 2)
    ctx = figure_context(ds, "sat", Period(2025), None, "vi", unit_id="z")
    assert (ctx.n_units, ctx.n_expected) == (1, 1)


def test_aggregates_on_charts_carry_their_coverage():
    # 2019-Q1: a and b report dossiers, d (a district) too; Q2: only a. Departments in office: a, b, c, x, y.
    ds = dataset(dossiers("a", "2019-Q1", 4, 5, 1) + dossiers("b", "2019-Q1", 20, 50, 30)
                 + dossiers("d", "2019-Q1", 1, 1, 1) + dossiers("a", "2019-Q2", 3, 5, 2)
                 + [("a", "sat", "2019", 70), ("b", "sat", "2019", 80), ("c", "sat", "2019", 90)])
    flow = rollups.province_flow(ds, "department").set_index("period")
    assert flow[["n_units", "n_expected"]].to_dict("index") == {"2019-Q1": {"n_units": 2, "n_expected": 5},
                                                                "2019-Q2": {"n_units": 1, "n_expected": 5}}
    assert flow.loc["2019-Q1", "late_rate"] == 28.2  # 31 / 110, the two departments only
    assert rollups.province_flow(ds, None).set_index("period").loc["2019-Q1", ["n_units", "n_expected"]].tolist() == [3, 6]
    # The unit page: a's peers are the departments of the province; 3 of the 5 in office reported in 2019.
    hist = views.unit_history(ds, "a", ("sat",)).set_index("period")
    assert (hist.loc["2019", "peer_median"], hist.loc["2019", "n_peers"], hist.loc["2019", "n_peer_expected"]) == (80, 3, 5)
    summary = views.family_summary(ds, "sat", 2019, "department").set_index("indicator_id")
    assert summary.loc["sat", ["n_units", "n_expected"]].tolist() == [3, 5]


def test_notes_are_shown_from_the_version_they_were_written_at(tmp_store, monkeypatch):
    """Hand-worked: v1 upload with a note "n1"; a snapshot saved at 10:00 pinned to v1; a page note
    "n2" written at 11:00 while v1 is the latest (stored with v1); v2 upload with a note "n3".
    Live view of v1: n1, n2. Snapshot of v1: n1 only (n2 was written after it was saved).
    View of v2: n1, n2, n3. A page note "n4" added while the page shows v1 but v2 is the latest
    is stored with v2: not in any view of v1."""
    import datetime as dt

    def upload(value, note):
        data = csv_bytes([["Đơn vị", "Chỉ số", "Kỳ", "Giá trị", "Ghi chú"],
                          ["Sở Tư pháp", "dossier.resolved_late", "2024-Q3", value, note]])
        return ingest.commit(tmp_store, prep(tmp_store, data), ANALYST).version

    def shown(version, until=None):
        return sorted(notes.read(tmp_store, version, until)["note"])

    v1 = upload("12", "n1")
    saved = dt.datetime.now(dt.UTC)
    row = pd.DataFrame([{"unit_id": "so-tu-phap", "indicator_id": "dossier.resolved_late", "period": "2024-Q3",
                         "note": "n2"}])
    notes.add(tmp_store, ANALYST, row, tmp_store.version(), now=saved + dt.timedelta(hours=1))
    v2 = upload("13", "n3")
    notes.add(tmp_store, ANALYST, row.assign(note="n4"), tmp_store.version())
    assert v2 == v1 + 1
    assert shown(v1) == ["n1", "n2"]
    assert shown(v1, saved) == ["n1"]
    assert shown(v2) == ["n1", "n2", "n3", "n4"]
    snap = Dataset.open(tmp_store, v1, notes_until=saved)
    assert figure_context(snap, "dossier.late_rate", Period(2024, 3), None, "vi").notes == ("Sở Tư pháp · Quý III/2024: n1",)


def test_a_crash_between_an_uploads_notes_and_its_data_shows_neither(tmp_store, monkeypatch):
    data = csv_bytes([["Đơn vị", "Chỉ số", "Kỳ", "Giá trị", "Ghi chú"],
                      ["Sở Tư pháp", "dossier.resolved_late", "2024-Q3", "12", "Hệ thống ngừng 5 ngày"]])
    up = prep(tmp_store, data)
    before = tmp_store.version()

    def crash(*args, **kwargs):
        raise SystemExit("killed between the notes and the data")

    with monkeypatch.context() as mp:
        mp.setattr(type(tmp_store), "commit_observations", crash)
        with pytest.raises(SystemExit):
            ingest.commit(tmp_store, up, ANALYST)
    assert tmp_store.version() == before
    assert len(notes.read(tmp_store)) == 0  # written, but waiting on a commit that never came
    assert Dataset.open(tmp_store).sql("SELECT count(*) AS n FROM notes")["n"][0] == 0
    # The same file again: its notes land with its commit, the crashed attempt's stay unseen.
    result = ingest.commit(tmp_store, prep(tmp_store, data), ANALYST)
    assert notes.read(tmp_store)[["note", "data_version"]].values.tolist() == [["Hệ thống ngừng 5 ngày", result.version]]
    # Uploaded once more, nothing changes and no commit is made: the note goes with the version checked.
    again = ingest.commit(tmp_store, prep(tmp_store, data), ANALYST)
    assert not again.committed
    assert notes.read(tmp_store)["data_version"].tolist() == [result.version, result.version]


def test_the_contexts_of_several_indicators_are_each_ones_own():
    rows = ([("x", "sat", "2024", 70), ("z", "sat", "2025", 90), ("z", "par", "2025", 70.0, 84.0)]
            + dossiers("z", "2025-Q1", 4, 5, 1) + dossiers("a", "2025-Q2", 1, 1, 1))
    ids = ("sat", "par", "late_rate")
    for level, unit_id in [("department", None), (None, "z")]:
        together = figure_contexts(dataset(rows), ids, Period(2025), level, "vi", unit_id)
        alone = dataset(rows)
        assert together == {i: figure_context(alone, i, Period(2025), level, "vi", unit_id) for i in ids}
    assert together["late_rate"].n_units == 1 and together["sat"].n_units == 1


def test_a_context_found_with_others_is_not_read_again():
    # The Unit page captions its history grid (figure_contexts) and then each chart (figure_context).
    rows = [("z", "sat", "2025", 90), ("z", "par", "2025", 70.0, 84.0)] + dossiers("z", "2025-Q1", 4, 5, 1)
    ds = dataset(rows)
    together = figure_contexts(ds, ("sat", "late_rate"), Period(2025), None, "vi", "z")
    reads = []
    ds.sql = lambda *a: reads.append(a)  # type: ignore[method-assign]  # any read now would be recorded
    assert figure_context(ds, "late_rate", Period(2025), None, "vi", "z") is together["late_rate"]
    assert figure_context(ds, "sat", Period(2025), None, unit_id="z", lang="vi") is together["sat"]
    assert reads == []


def test_several_contexts_read_their_sources_and_notes_in_one_query_each():
    # z's dossiers come from two systems (Q2 from the new one), its survey from a third; notes on
    # a late count (a component of late_rate), on the survey, and one outside the year.
    rows = obs([("z", "sat", "2025", 90), ("z", "sat", "2024", 85)] + dossiers("z", "2025-Q1", 4, 5, 1)
               + dossiers("z", "2025-Q2", 2, 5, 1) + dossiers("x", "2024-Q4", 1, 1, 1))
    rows["source"] = ["Khảo sát", "Khảo sát"] + ["Một cửa"] * 3 + ["Một cửa mới"] * 3 + ["Một cửa"] * 3
    notes_rows = pd.DataFrame({"unit_id": ["z", "z", "z"], "indicator_id": ["late", "sat", "late"],
                               "period": ["2025-Q2", "2025", "2024-Q4"], "note": ["n1", "n2", "n3"],
                               "data_version": [0, 0, 0], "upload_id": ["", "", ""], "created_by": ["a"] * 3,
                               "created_at": pd.to_datetime(["2026-01-01"] * 3, utc=True)})

    def opened():
        return Dataset(conform(pa.Table.from_pandas(rows, preserve_index=False)), small_catalog(), 0, notes_rows)

    ds, queries = opened(), []
    sql = ds.sql
    ds.sql = lambda q, p=None: queries.append(q) or sql(q, p)  # type: ignore[method-assign]
    ids = ("sat", "late_rate", "par")
    together = figure_contexts(ds, ids, Period(2025), None, "vi", "z")
    assert sum("coalesce(o.source" in q for q in queries) == 1 and sum("FROM notes" in q for q in queries) == 1
    alone = opened()
    assert together == {i: figure_context(alone, i, Period(2025), None, "vi", "z") for i in ids}
    assert together["late_rate"].sources == ("Một cửa", "Một cửa mới")
    assert together["late_rate"].notes == ("Sở Z · Quý II/2025: n1",) and together["sat"].notes == ("Sở Z · 2025: n2",)
    assert together["sat"].sources == ("Khảo sát",) and together["par"].sources == ()
