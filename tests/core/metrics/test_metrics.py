"""Metrics against values worked out by hand on the small catalog of conftest."""

import math

import pandas as pd

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reformkpi.metrics import comparability, datasets, ranking, rollups, targets, views
from reformkpi.periods import Period
from tests.conftest import dataset

Q = ["2019-Q1", "2019-Q2", "2019-Q3", "2019-Q4"]


def dossiers(unit, period, early, ontime, late):
    return [(unit, "early", period, early), (unit, "ontime", period, ontime), (unit, "late", period, late)]


def test_late_rate_is_a_ratio_of_sums_across_units_not_a_mean_of_rates():
    # a: 1 late of 10 resolved (10%); b: 30 late of 100 (30%). Mean of rates 20%; ratio of sums 31/110.
    ds = dataset(dossiers("a", "2019-Q1", 4, 5, 1) + dossiers("b", "2019-Q1", 20, 50, 30))
    prov = rollups.province_series(ds, "late_rate", "quarter", "department").set_index("period")
    assert prov.loc["2019-Q1", "value"] == 28.2  # 100 × 31 / 110 = 28.18… as published (1 decimal), not 20
    by_unit = rollups.series(ds, "late_rate", "quarter").set_index("unit_id")["value"]
    assert by_unit["a"] == pytest.approx(10.0) and by_unit["b"] == pytest.approx(30.0)


def test_late_rate_is_a_ratio_of_sums_across_quarters():
    # Q1: 1 late of 10 (10%); Q2: 9 late of 30 (30%). The year: 10 / 40 = 25%, not (10 + 30) / 2.
    ds = dataset(dossiers("a", "2019-Q1", 4, 5, 1) + dossiers("a", "2019-Q2", 1, 20, 9))
    year = rollups.series(ds, "late_rate", "year").iloc[0]
    assert year["value"] == pytest.approx(25.0)
    assert (year["num"], year["den"]) == (10, 40)


def test_rollups_by_rule_sum_first_last_and_partial_years():
    rows = [("a", "late", q, v) for q, v in zip(Q, [1, 2, 3, 4])]
    rows += [("a", "pending", q, v) for q, v in zip(Q, [10, 20, 30, 40])]
    rows += [("a", "carried", q, v) for q, v in zip(Q, [5, 10, 20, 30])]
    rows += [("a", "late", "2020-Q1", 7), ("a", "late", "2020-Q2", 8)]
    ds = dataset(rows)
    late = rollups.series(ds, "late", "year").set_index("period")
    assert late.loc["2019", "value"] == 10 and late.loc["2019", "n_periods"] == 4
    assert late.loc["2020", "value"] == 15 and late.loc["2020", "n_periods"] == 2
    assert rollups.series(ds, "pending", "year").iloc[0]["value"] == 40  # the stock at year end
    assert rollups.series(ds, "carried", "year").iloc[0]["value"] == 5  # carried into the year


def test_ties_share_the_best_rank_in_both_directions():
    ds = dataset([("a", "sat", "2019", 80.0), ("b", "sat", "2019", 80.0), ("c", "sat", "2019", 70.0)]
                 + dossiers("a", "2019-Q1", 0, 9, 1) + dossiers("b", "2019-Q1", 0, 18, 2)
                 + dossiers("c", "2019-Q1", 0, 19, 1))
    r = ranking.ranks(ds, "sat", "year", "department").set_index("unit_id")
    assert r["rank"].to_dict() == {"a": 1, "b": 1, "c": 3}
    # late rates: a 10%, b 10%, c 5%: lower is better, so c first and a, b share rank 2.
    r = ranking.ranks(ds, "late_rate", "quarter", "department").set_index("unit_id")
    assert r["rank"].to_dict() == {"c": 1, "a": 2, "b": 2}


def test_peers_are_ranked_within_their_level():
    ds = dataset([("a", "sat", "2019", 70.0), ("d", "sat", "2019", 60.0)])
    r = ranking.ranks(ds, "sat", "year", None).set_index("unit_id")
    assert r.loc["a", "rank"] == 1 and r.loc["d", "rank"] == 1
    assert r.loc["a", "n_peers"] == 1


def test_points_are_a_percentage_of_the_applicable_maximum():
    # Ban Dân tộc Thanh Hóa 2023: 68.32 points of a maximum of 84 = 81.33%.
    ds = dataset([("a", "par", "2023", 68.32, 84.0), ("b", "par", "2023", 79.99, 100.0)])
    s = rollups.series(ds, "par", "year").set_index("unit_id")["value"]
    assert s["a"] == pytest.approx(81.33) and s["b"] == pytest.approx(79.99)


def test_gap_and_grade_at_band_edges():
    ds = dataset([("a", "sat", "2019", 80.0), ("b", "sat", "2019", 79.9), ("c", "sat", "2019", 70.0),
                  ("x", "sat", "2019", 69.9)])
    t = ranking.league_table(ds, "sat", Period(2019), "department", "vi").set_index("unit_id")
    assert t["grade"].to_dict() == {"a": "excellent", "b": "good", "c": "good", "x": "weak"}
    assert t.loc["a", "gap"] == pytest.approx(0.0) and bool(t.loc["a", "meets_target"])
    assert t.loc["b", "gap"] == pytest.approx(-0.1) and not t.loc["b", "meets_target"]
    # c has its own target of 75 in the catalog: 70 is 5 short of it, not 10 short of 80.
    assert t.loc["c", "target"] == 75 and t.loc["c", "gap"] == pytest.approx(-5.0)
    assert t.loc["c", "target_source"] == "Kế hoạch riêng của Sở C"
    assert t.loc["a", "grade_label"] == "Tốt"


def test_gap_is_positive_when_a_lower_is_better_target_is_beaten():
    assert targets.gap(3.0, 5.0, "lower_better") == 2.0
    assert targets.gap(7.0, 5.0, "lower_better") == -2.0
    assert targets.gap(77.4, 80.0, "higher_better") == pytest.approx(-2.6)


def test_a_figure_meets_its_target_by_the_gap_at_the_indicators_precision():
    assert targets.meets(80.0, 80.0, "higher_better", 1) and not targets.meets(79.94, 80.0, "higher_better", 1)
    assert targets.meets(79.95, 80.0, "higher_better", 1)  # a gap of −0,05 is shown, and judged, as 0,0
    assert targets.meets(4.0, 5.0, "lower_better", 1) and not targets.meets(5.2, 5.0, "lower_better", 1)
    assert targets.meets(float("nan"), 5.0, "lower_better", 1) is None and targets.meets(3.0, None, "lower_better", 1) is None


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(60, 95, allow_nan=False).map(lambda v: round(v, 2)), min_size=3, max_size=3))
def test_meets_judges_a_figure_as_the_league_table_does(values):
    ds = dataset([(u, "sat", "2019", v) for u, v in zip("abc", values)])
    table = ranking.league_table(ds, "sat", Period(2019), "department", "vi").set_index("unit_id")
    decimals = int(ds.catalog.indicator("sat")["decimals"])
    for unit in "abc":
        row = table.loc[unit]
        assert targets.meets(row["value"], row["target"], "higher_better", decimals) == bool(row["meets_target"])


def test_rank_change_against_the_previous_year():
    ds = dataset([("a", "sat", "2018", 90), ("b", "sat", "2018", 80), ("c", "sat", "2018", 70),
                  ("a", "sat", "2019", 70), ("b", "sat", "2019", 85), ("c", "sat", "2019", 75)])
    t = ranking.league_table(ds, "sat", Period(2019), "department", "vi").set_index("unit_id")
    assert t["rank"].to_dict() == {"b": 1, "c": 2, "a": 3}
    assert t["rank_change"].to_dict() == {"b": 1, "c": 1, "a": -2}
    assert t.loc["a", "change"] == pytest.approx(-20)


def test_rank_stability_counts_rank_spread_and_grade_changes():
    values = {"a": [90, 90, 90], "b": [85, 60, 85], "c": [60, 85, 60]}
    ds = dataset([(u, "sat", str(2017 + i), v) for u, vs in values.items() for i, v in enumerate(vs)])
    s = ranking.rank_stability(ds, "sat", "department", (2017, 2019)).set_index("unit_id")
    # ranks: a 1,1,1; b 2,3,2; c 3,2,3. Grades: b Tốt, Yếu, Tốt (2 changes).
    assert s.loc["a", "rank_sd"] == 0 and s.loc["a", "grade_changes"] == 0
    assert s.loc["b", "rank_sd"] == pytest.approx(math.sqrt(2 / 9))
    assert s.loc["b", "rank_range"] == 1 and s.loc["b", "grade_changes"] == 2
    assert s.loc["c", "mean_rank"] == pytest.approx(8 / 3)


def test_lineage_follows_a_unit_through_the_merger():
    rows = [("x", "sat", "2024", 70), ("y", "sat", "2024", 80), ("z", "sat", "2025", 90)]
    rows += dossiers("x", "2024-Q4", 0, 9, 1) + dossiers("y", "2024-Q4", 0, 27, 3) + dossiers("z", "2025-Q1", 0, 45, 5)
    ds = dataset(rows)
    sat = views.unit_history(ds, "z", ("sat",))
    assert list(zip(sat["period"], sat["unit_id"], sat["value"])) == [("2024", "x", 70), ("2024", "y", 80),
                                                                       ("2025", "z", 90)]
    late = views.unit_history(ds, "z", ("late_rate",), "quarter").set_index(["period", "kind"])
    assert late.loc[("2024-Q4", "combined"), "value"] == pytest.approx(100 * 4 / 40)
    assert ds.catalog.predecessors("z") == ["x", "y"]


def test_kpi_of_the_province_with_target_and_units_below():
    ds = dataset([("a", "sat", "2018", 70), ("b", "sat", "2018", 80),
                  ("a", "sat", "2019", 77.4), ("b", "sat", "2019", 86.6), ("c", "sat", "2019", 74)])
    k = views.kpi(ds, "sat", Period(2019), "department", "vi")
    assert k.value == 79.3  # (77.4 + 86.6 + 74) / 3 = 79.33…, published with 1 decimal
    # Like for like: a and b reported both years, (77.4 + 86.6) / 2 − (70 + 80) / 2 = 82.0 − 75.0.
    assert k.previous == 75 and k.change == 7.0 and k.n_common == 2
    assert k.target == 80 and k.target_source == "NQ 30c/NQ-CP"
    assert k.gap == -0.7 and k.meets_target is False
    # a misses 80; c misses its own 75; b meets it.
    assert (k.n_units, k.n_below_target) == (3, 2)


def test_kpi_of_a_derived_rate_states_its_formula():
    ds = dataset(dossiers("a", "2019-Q3", 4, 5, 1))
    k = views.kpi(ds, "late_rate", Period(2019, 3), None, "vi")
    assert k.value == pytest.approx(10.0) and k.previous is None and k.change is None
    assert k.formula == "Tỷ lệ trễ hạn = Quá hạn / (Trước hạn + Đúng hạn + Quá hạn) × 100"


def test_a_yearly_indicator_asked_for_a_quarter_reads_the_year():
    ds = dataset([("a", "sat", "2019", 77.4)])
    assert rollups.grain_of(ds, "sat", Period(2019, 3)) == ("year", Period(2019))
    assert views.kpi(ds, "sat", Period(2019, 3), None, "vi").value == pytest.approx(77.4)


def test_year_choices_open_on_the_latest_year_with_yearly_results():
    ds = dataset([("a", "sat", "2019", 77.4)] + dossiers("a", "2020-Q2", 1, 1, 1))
    assert datasets.year_choices(ds) == ([2019, 2020], 2019)
    assert datasets.latest_quarter(ds, 2020) == Period(2020, 2) and datasets.latest_quarter(ds, 2019) is None


def test_province_trend_carries_each_years_target():
    ds = dataset([("a", "sat", str(y), 80 + i) for i, y in enumerate(range(2019, 2022))])
    trend = views.province_trend(ds, "sat", "department", "vi").set_index("period")
    assert trend.loc["2020", "target"] == 80 and math.isnan(trend.loc["2021", "target"])


def test_a_dataset_computes_a_remembered_figure_once_however_it_is_asked():
    ds = dataset([("a", "sat", "2019", 77.4), ("b", "sat", "2019", 86.6)])
    k = views.kpi(ds, "sat", Period(2019), "department", "vi")
    assert views.kpi(ds, "sat", Period(2019), level="department", lang="vi") is k  # positional and keyword arguments alike
    table = ranking.league_table(ds, "sat", Period(2019), "department", "vi")
    table["rank"] = 0  # a caller's change stays in its copy
    assert ranking.league_table(ds, "sat", Period(2019), "department", "vi")["rank"].tolist() == [1, 2]
    # An argument that cannot be a key (a list) is computed each time, and computed the same.
    assert views.unit_history(ds, "a", ["sat"]).equals(views.unit_history(ds, "a", ("sat",)))


def test_indicators_read_together_are_what_each_reads_alone_in_one_pass(monkeypatch):
    rows = ([("a", "sat", "2019", 77.4), ("b", "sat", "2019", 86.6), ("a", "par", "2019", 68.32, 84.0)]
            + dossiers("a", "2019-Q1", 4, 5, 1) + dossiers("b", "2019-Q2", 20, 50, 30) + dossiers("d", "2019-Q1", 1, 1, 1))
    ids = ["sat", "par", "late_rate", "late"]
    alone, together = dataset(rows), dataset(rows)
    queries = []
    answer = datasets._answer
    monkeypatch.setattr(datasets, "_answer", lambda *a: queries.append(a[1]) or answer(*a))
    for grain, units, years in [("year", None, None), ("quarter", ["a", "b"], (2019, 2019)), ("year", ["d"], None)]:
        queries.clear()
        rollups.read_together(together, ids, grain, units, years)
        read = [rollups.series(together, i, grain, units, years) for i in ids]
        assert len(queries) == 1 + sum(df.empty for df in read)  # an indicator without rows is read alone
        for i, df in zip(ids, read):
            pd.testing.assert_frame_equal(df, rollups.series(alone, i, grain, units, years), check_exact=True)
    # The late rate's quarters: a 1 late of 10 resolved; b 30 of 100.
    late = rollups.series(together, "late_rate", "quarter", ["a", "b"], (2019, 2019)).set_index("unit_id")
    assert late["value"].to_dict() == {"a": 10.0, "b": 30.0}
    queries.clear()
    rollups.read_together(together, ids, "year")  # read already: no pass at all
    assert queries == []


def test_a_figure_and_the_period_before_are_read_at_the_indicators_grain():
    ds = dataset([("a", "sat", "2019", 77.4)])
    spans = [comparability.compare(ds, i, p) for i, p in (("sat", Period(2019, 3)), ("late_rate", Period(2019, 1)),
                                                          ("late_rate", Period(2019, 3)))]
    assert [(c.grain, c.period, c.previous, c.years) for c in spans] == [
        ("year", "2019", "2018", (2018, 2019)), ("quarter", "2019-Q1", "2018-Q4", (2018, 2019)),
        ("quarter", "2019-Q3", "2019-Q2", (2019, 2019))]


def test_periods_with_data_answer_the_latest_year_and_quarter():
    ds = dataset([("a", "sat", "2019", 77.4)] + dossiers("a", "2020-Q1", 1, 1, 1) + dossiers("a", "2020-Q3", 1, 1, 1))
    assert datasets.data_periods(ds) == ["2019", "2020-Q1", "2020-Q3"]
    assert datasets.latest_quarter(ds, 2020) == Period(2020, 3)
