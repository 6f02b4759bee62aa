"""The one comparability decision (reformkpi.metrics.comparability), against values worked out by
hand: a method break blanks value and rank changes everywhere, a partial year is compared with the
same quarters of the year before, and no unit in both periods means no change."""

import pandas as pd
import pyarrow as pa
import pytest

from reformkpi import exhibits, focus, formatting
from reformkpi.catalog import Catalog
from reformkpi.metrics import comparability, ranking, rollups, views
from reformkpi.metrics.comparability import BREAK, COVERAGE, NO_PREVIOUS, PARTIAL
from reformkpi.metrics.datasets import Dataset
from reformkpi.periods import Period
from reformkpi.store import conform
from tests.conftest import absorbing, dataset, obs, small_catalog
from tests.core.metrics.test_metrics import dossiers


def with_break(rows, indicator_id: str = "sat", since: str = "2022") -> Dataset:
    """The small catalog with a methodology break: `indicator_id` measured a new way from `since`."""
    cat = small_catalog()
    ind = cat.indicators.copy()
    ind.loc[ind["indicator_id"] == indicator_id, ["breaks", "break_note_vi"]] = [since, "Phương pháp mới"]
    broken = Catalog(cat.units, ind, cat.targets, cat.grade_bands)
    return Dataset(conform(pa.Table.from_pandas(obs(rows), preserve_index=False)), broken, version=0)


# 2021 (old method): a 70, b 80. 2022 (new method): a 85, b 75. 2023: a 86, b 74.
BROKEN = [("a", "sat", "2021", 70), ("b", "sat", "2021", 80), ("a", "sat", "2022", 85), ("b", "sat", "2022", 75),
          ("a", "sat", "2023", 86), ("b", "sat", "2023", 74)]


def test_a_method_break_is_not_comparable_and_says_why():
    ds = with_break(BROKEN)
    c = comparability.compare(ds, "sat", Period(2022))
    assert (c.comparable, c.reason, c.method_break, c.previous) == (False, BREAK, "2022", "2021")
    assert c.reason_text("vi") == "Không so sánh với 2021: phương pháp tính thay đổi từ 2022"
    assert c.reason_text("en") == "Not comparable with 2021: the method changed from 2022"
    assert c.changes_note("vi") == c.reason_text("vi")
    assert comparability.compare(ds, "sat", Period(2023)).comparable  # both years under the new method
    # A quarter read of a yearly indicator is its year: the same decision.
    assert comparability.compare(ds, "sat", Period(2022, 3)).reason == BREAK


def test_across_a_break_value_and_rank_changes_are_blank_everywhere():
    ds = with_break(BROKEN)
    k = views.kpi(ds, "sat", Period(2022), "department", "vi")
    assert (k.value, k.previous, k.change) == (80.0, 75.0, None) and k.comparison.reason == BREAK
    t = ranking.league_table(ds, "sat", Period(2022), "department", "vi").set_index("unit_id")
    # Ranked 2nd then 1st (a) and 1st then 2nd (b): "▲ 1" and "▼ 1" would compare two methods.
    assert t["rank"].to_dict() == {"a": 1, "b": 2}
    assert t["change"].isna().all() and t["rank_change"].isna().all() and t["prev_rank"].isna().all()
    after = ranking.league_table(ds, "sat", Period(2023), "department", "vi").set_index("unit_id")
    assert after["change"].to_dict() == {"a": 1.0, "b": -1.0} and after["rank_change"].to_dict() == {"a": 0, "b": 0}
    year = focus.unit_year(ds, "a", ("sat",), 2022, "vi").iloc[0]
    assert year["value"] == 85 and year["rank"] == 1
    assert pd.isna(year["previous"]) and pd.isna(year["change"])
    assert pd.isna(year["previous_rank"]) and pd.isna(year["rank_change"])
    assert year["comparison"].reason_text("vi") == "Không so sánh với 2021: phương pháp tính thay đổi từ 2022"
    # The attention list's falls: b fell from 1st to 2nd, but across the break that is no fall.
    assert focus.falls(ds, ("sat",), 2022, "department", "vi").empty


def test_trend_lines_break_at_a_method_break_and_the_takeaway_states_no_change_across_it():
    ds = with_break(BROKEN)
    assert comparability.method_breaks(ds.catalog, "sat", ["2021", "2022", "2023"]) == [False, True, False]
    assert comparability.joins(ds, "sat", ("2021", "2022", "2023")) == (False, False, True)
    trend = views.province_trend(ds, "sat", "department", "vi")
    assert trend["method_break"].tolist() == [False, True, False] and trend["joined"].tolist() == [False, False, True]
    header = exhibits.header(ds, "sat", "P", "vi")
    upto_2022 = trend[trend["period"] <= "2022"]
    assert exhibits.exhibit(upto_2022, ds, "sat", "", header).takeaway == "2022: 80,0%"
    # 2023 against 2022, the same method: (85 + 75) / 2 = 80,0 → (86 + 74) / 2 = 80,0.
    assert exhibits.exhibit(trend, ds, "sat", "", header).takeaway == "2023: 80,0% (0,0 so với 2022)"


def quarters(unit, year, rows):
    """Dossier rows (early, on time, late) for the quarters of a year, from Q1."""
    return [r for q, (e, o, late) in enumerate(rows, start=1) for r in dossiers(unit, f"{year}-Q{q}", e, o, late)]


# Late rates. a: 2019 Q1–Q3 1, 2, 3 late of 10 each, Q4 10 of 10 (whole year 16/40 = 40%, Q1–Q3 6/30 = 20%);
# 2020 Q1–Q3 1 of 10 each (3/30 = 10%). b: 2019 Q1–Q3 5 of 10 each, Q4 0 of 10 (whole year 15/40 = 37,5%,
# Q1–Q3 15/30 = 50%); 2020 Q1–Q3 2 of 10 each (6/30 = 20%).
RUNNING = (quarters("a", 2019, [(0, 9, 1), (0, 8, 2), (0, 7, 3), (0, 0, 10)]) + quarters("a", 2020, [(0, 9, 1)] * 3)
           + quarters("b", 2019, [(0, 5, 5)] * 3 + [(0, 10, 0)]) + quarters("b", 2020, [(0, 8, 2)] * 3))


def test_a_partial_year_is_compared_with_the_same_quarters_of_the_year_before():
    ds = dataset(RUNNING)
    c = comparability.compare(ds, "late_rate", Period(2020))
    assert c.comparable and c.partial and c.months == (1, 9) and c.previous == "2019"
    assert c.versus("vi") == "Quý I–III/2020 so với Quý I–III/2019"
    assert c.versus("en") == "Q1–Q3 2020 vs Q1–Q3 2019"
    assert c.partial_text("vi") == "Năm 2020 chưa đủ các quý: số liệu Quý I–III/2020"
    assert c.partial_text("en") == "2020 is not complete: data for Q1–Q3 2020"
    assert c.changes_note("vi") == "Thay đổi giá trị và thứ hạng: Quý I–III/2020 so với Quý I–III/2019"
    whole = comparability.compare(ds, "late_rate", Period(2019))
    assert not whole.partial and whole.versus("vi") == "so với 2018"
    k = views.kpi(ds, "late_rate", Period(2020), "department", "vi")
    # 2020: 9 late of 60 = 15,0%. Q1–Q3 2019: 21 of 60 = 35,0% (the whole of 2019, 31 of 80 = 38,75%, would give −23,8).
    assert (k.value, k.previous, k.change) == (15.0, 35.0, -20.0)
    t = ranking.league_table(ds, "late_rate", Period(2020), "department", "vi").set_index("unit_id")
    # Ranked on Q1–Q3 both years: a 1st (20% then 10%), b 2nd (50% then 20%); on the whole of 2019
    # b (37,5%) was 1st and a (40%) 2nd, which would show a "▲ 1" and b "▼ 1".
    assert t["value"].to_dict() == {"a": 10.0, "b": 20.0}
    assert t["change"].to_dict() == {"a": -10.0, "b": -30.0}
    assert t["prev_rank"].to_dict() == {"a": 1, "b": 2} and t["rank_change"].to_dict() == {"a": 0, "b": 0}
    year = focus.unit_year(ds, "b", ("late_rate",), 2020, "vi").iloc[0]
    assert (year["value"], year["previous"], year["change"], year["previous_rank"], year["rank_change"]) == (
        20.0, 50.0, -30.0, 2, 0)


def test_a_partial_year_stands_apart_on_a_trend_and_its_label_says_partial():
    ds = dataset(RUNNING)
    assert views.province_trend(ds, "late_rate", "department", "en")["label"].tolist() == ["2019", "Q1–Q3 2020"]
    trend = views.province_trend(ds, "late_rate", "department", "vi")
    assert trend["label"].tolist() == ["2019", "Quý I–III/2020"] and trend["partial"].tolist() == [False, True]
    assert trend["joined"].tolist() == [False, False]  # the line does not join a year to three quarters
    header = exhibits.header(ds, "late_rate", "P", "vi")
    # No "(−23,8 so với 2019)": the takeaway does not compare three quarters with a whole year.
    assert exhibits.exhibit(trend, ds, "late_rate", "", header).takeaway == "Quý I–III/2020: 15,0%"


def test_the_months_reported_are_those_of_every_component_and_unit():
    # late_rate = late / (early + ontime + late), over its components' rows of every unit: 2019 from a's
    # early in Q1 to its early in Q4 (b's late in Q2 between), 2020 from a's ontime in Q1 to b's late
    # in Q3. Each component alone covers only its own rows; a yearly indicator covers its whole year.
    ds = dataset([("a", "early", "2019-Q1", 1), ("a", "early", "2019-Q4", 1), ("b", "late", "2019-Q2", 1),
                  ("a", "ontime", "2020-Q1", 1), ("a", "ontime", "2020-Q2", 1), ("b", "late", "2020-Q3", 1),
                  ("a", "sat", "2021", 70)])
    assert rollups.reported_months(ds, "late_rate") == {2019: (1, 12), 2020: (1, 9)}
    assert rollups.reported_months(ds, "ontime") == {2020: (1, 6)}
    assert rollups.reported_months(ds, "late") == {2019: (4, 6), 2020: (7, 9)}
    assert rollups.reported_months(ds, "sat") == {2021: (1, 12)}


def test_a_year_is_not_compared_with_one_whose_data_do_not_cover_the_same_quarters():
    # a reported from 2019-Q3 only; 2020 is whole: 2020 against "2019" would be a year against a half.
    ds = dataset(dossiers("a", "2019-Q3", 0, 9, 1) + dossiers("a", "2019-Q4", 0, 9, 1)
                 + quarters("a", 2020, [(0, 8, 2)] * 4))
    c = comparability.compare(ds, "late_rate", Period(2020))
    assert (c.reason, c.covered, c.partial) == (PARTIAL, (7, 12), False)
    assert c.reason_text("vi") == "Không so sánh với 2019: số liệu năm đó chỉ có Quý III–IV/2019"
    assert c.reason_text("en") == "Not comparable with 2019: its data cover only Q3–Q4 2019"
    assert views.kpi(ds, "late_rate", Period(2020), "department", "vi").change is None
    assert ranking.league_table(ds, "late_rate", Period(2020), "department", "vi")["rank_change"].isna().all()


def test_no_unit_in_both_periods_is_not_comparable_and_nothing_before_says_nothing():
    ds = dataset([("a", "sat", "2022", 70), ("b", "sat", "2023", 91)])
    c = comparability.compare(ds, "sat", Period(2023), {"b"}, {"a"})
    assert c.reason == COVERAGE and c.reason_text("vi") == "Không so sánh với 2022: không đơn vị nào có số liệu cả hai kỳ"
    assert comparability.compare(ds, "sat", Period(2023), {"a", "b"}, {"a"}).comparable
    k = views.kpi(ds, "sat", Period(2023), "department", "vi")
    assert k.change is None and k.comparison.reason == COVERAGE
    first = views.kpi(ds, "sat", Period(2022), "department", "vi")
    assert first.comparison.reason == NO_PREVIOUS and first.comparison.reason_text("vi") == ""


@pytest.mark.parametrize("months, vi, en", [
    (None, "2026", "2026"), ((1, 12), "2026", "2026"), ((1, 9), "Quý I–III/2026", "Q1–Q3 2026"),
    ((4, 6), "Quý II/2026", "Q2 2026"), ((1, 8), "Tháng 1–8/2026", "Jan–Aug 2026"), ((3, 3), "Tháng 3/2026", "Mar 2026"),
])
def test_span_labels(months, vi, en):
    assert formatting.span_label(2026, months, "vi") == vi and formatting.span_label(2026, months, "en") == en


def test_the_demo_sipas_2022_break_blanks_every_units_change_and_rank_change(demo):
    units = rollups.series(demo, "sipas.overall", "year", None, (2022, 2022)).dropna(subset=["value"])["unit_id"]
    assert len(units) == 27  # departments and districts with a 2022 SIPAS figure
    for unit_id in units:
        year = focus.unit_year(demo, unit_id, ("sipas.overall",), 2022, "vi").iloc[0]
        assert pd.isna(year["change"]) and pd.isna(year["rank_change"]), unit_id
        assert year["comparison"].reason == BREAK


def test_the_demo_2026_is_compared_with_the_first_three_quarters_of_2025(demo):
    k = views.kpi(demo, "dossier.online_share", Period(2026), None, "vi")
    assert k.comparison.months == (1, 9) and k.comparison.versus("vi") == "Quý I–III/2026 so với Quý I–III/2025"
    # The oracle: 2025-Q1..Q3 and 2026-Q1..Q3 summed from the quarters, over the units in both.
    q = rollups.series(demo, "dossier.online_share", "quarter", rollups.level_units(demo, None), (2025, 2026))
    q = q.assign(year=q["period"].str[:4], quarter=q["period"].str[-1])
    q = q[q["quarter"] <= "3"].dropna(subset=["value"])
    # A figure belongs to the units in office at the end of its year (the merged departments' successors).
    q = q[[pd.isna(demo.catalog.unit(u)["active_to"]) for u in q["unit_id"]]]
    sums = q.groupby("year")[["num", "den"]].sum()
    rate = (100 * sums["num"] / sums["den"]).round(1)
    assert k.value == rate["2026"] and k.previous == rate["2025"]
    assert k.change == round(rate["2026"] - rate["2025"], 1)


def test_an_exports_header_says_what_its_changes_are_taken_over():
    broken = dict(exhibits.header(with_break(BROKEN), "sat", "P", "vi", Period(2022)).lines())
    assert broken["Thay đổi"] == "Không so sánh với 2021: phương pháp tính thay đổi từ 2022"
    running = dict(exhibits.header(dataset(RUNNING), "late_rate", "P", "en", Period(2020)).lines())
    assert running["Period"] == "Q1–Q3 2020" and running["Changes"] == "Q1–Q3 2020 vs Q1–Q3 2019"


def test_a_unit_that_absorbed_another_is_not_compared_with_itself_before():
    """y merged into a (which stays in office) on 1/3/2025: a's 2025 answers for a and y, its 2024
    for a alone, so a's change and rank change are blank (SCOPE); b's are shown (80 → 81 = +1,0)."""
    rows = [("a", "sat", "2024", 70), ("b", "sat", "2024", 80), ("y", "sat", "2024", 90),
            ("a", "sat", "2025", 85), ("b", "sat", "2025", 81)]
    ds = absorbing(rows)
    cat = ds.catalog
    c = comparability.compare(ds, "sat", Period(2025))
    assert c.comparable and comparability.scope_changed(cat, c, ["a", "b", "c"]) == {"a"}
    assert comparability.for_unit(cat, c, "b") == c
    mine = comparability.for_unit(cat, c, "a")
    assert mine.reason == comparability.SCOPE
    assert mine.reason_text("vi") == "Không so sánh với 2024: phạm vi của đơn vị đã thay đổi (có đơn vị hợp nhất vào)"
    table = ranking.league_table(ds, "sat", Period(2025), "department", "vi").set_index("unit_id")
    assert table.loc["a", "scope_changed"] and pd.isna(table.loc["a", "change"]) and pd.isna(table.loc["a", "rank_change"])
    assert not table.loc["b", "scope_changed"] and table.loc["b", "change"] == pytest.approx(1.0)
    year = focus.unit_year(ds, "a", ("sat",), 2025, "vi").iloc[0]
    assert year["value"] == 85 and year["change"] is None and year["rank_change"] is None
    assert year["comparison"].reason == comparability.SCOPE


def test_sở_tài_chính_2025_is_not_compared_with_2024_alone(demo):
    """The demo's Sở Tài chính took in Sở KH&ĐT on 1/3/2025: none of its 2025 changes is shown."""
    year = focus.unit_year(demo, "so-tai-chinh", ("par.total", "sipas.overall"), 2025, "vi")
    assert len(year) == 2 and year["change"].isna().all() and year["rank_change"].isna().all()
    assert {c.reason for c in year["comparison"]} == {comparability.SCOPE}
    table = ranking.league_table(demo, "par.total", Period(2025), "department", "vi").set_index("unit_id")
    assert table.loc["so-tai-chinh", "scope_changed"] and pd.isna(table.loc["so-tai-chinh", "change"])
    assert table["change"].notna().sum() > 5  # departments that kept their scope keep their changes


def test_a_headline_change_compares_the_same_bodies_across_a_merger():
    """2025 against 2024, from quarterly counts. 2024: a 2 late of 100,
    b 5 of 100, y 18 of 100; 2025 (a holding y): a 10 of 200, b 5 of 100. The late rate's change is
    a with y, and b, in both years: 15/300 = 5,0% against 25/300 = 8,3%: −3,3 (comparing a alone
    would give 7/200 = 3,5% → 5,0%: +1,5, a worsening where there was none)."""
    from tests.core.metrics.test_metrics import dossiers
    rows = (dossiers("a", "2024-Q1", 0, 98, 2) + dossiers("b", "2024-Q1", 0, 95, 5) + dossiers("y", "2024-Q1", 0, 82, 18)
            + dossiers("a", "2025-Q1", 0, 190, 10) + dossiers("b", "2025-Q1", 0, 95, 5))
    k = views.kpi(absorbing(rows), "late_rate", Period(2025), "department", "vi")
    assert (k.value, k.change, k.n_common) == (5.0, -3.3, 2)


def test_a_score_leaves_out_a_unit_whose_scope_changed():
    """SIPAS cannot be combined: a (which took in y) is left out of the change; b's 80 → 81 = +1,0
    (with a, 75 → 83 would read +8,0)."""
    rows = [("a", "sat", "2024", 70), ("b", "sat", "2024", 80), ("y", "sat", "2024", 90),
            ("a", "sat", "2025", 85), ("b", "sat", "2025", 81)]
    k = views.kpi(absorbing(rows), "sat", Period(2025), "department", "vi")
    assert (k.value, k.change, k.n_common) == (83.0, 1.0, 1)
