"""The figures a leader asks for first, against values worked out by hand (small catalog of tests/conftest.py:
departments a, b, c and district d; x and y merged into z on 1/3/2025; sat targets 80, and 75 for c, until
2020; grades Tốt ≥ 80, Khá ≥ 70, Yếu below)."""

import datetime as dt

import pandas as pd

from reformkpi import focus
from reformkpi.periods import Period
from tests.conftest import dataset

# 2018: b 80, a 70, c 60 (ranks b 1, a 2, c 3). 2019: c 90, a 85, b 75 (ranks c 1, a 2, b 3).
SAT = [("a", "sat", "2018", 70), ("b", "sat", "2018", 80), ("c", "sat", "2018", 60),
       ("a", "sat", "2019", 85), ("b", "sat", "2019", 75), ("c", "sat", "2019", 90)]


def test_unit_year_states_value_target_gap_rank_change_and_grade():
    b = focus.unit_year(dataset(SAT), "b", ("sat", "par"), 2019, "vi").set_index("indicator_id")
    assert list(b.index) == ["sat"]  # no PAR INDEX figure in 2019: no row
    r = b.loc["sat"]
    assert (r["value"], r["previous"], r["change"]) == (75, 80, -5)
    assert (r["target"], r["gap"], r["meets_target"]) == (80, -5, False)
    assert (r["rank"], r["n_peers"], r["previous_rank"], r["rank_change"]) == (3, 3, 1, -2)  # lost two places
    assert (r["grade"], r["grade_label"]) == ("good", "Khá")


def test_unit_year_uses_the_units_own_target():
    c = focus.unit_year(dataset(SAT), "c", ("sat",), 2019, "vi").iloc[0]
    assert (c["value"], c["target"], c["gap"], c["meets_target"]) == (90, 75, 15, True)
    assert (c["rank"], c["previous_rank"], c["rank_change"], c["grade_label"]) == (1, 3, 2, "Tốt")


def test_a_unit_has_no_figures_of_its_own_for_a_year_before_it_existed_only_its_predecessors():
    rows = [("x", "sat", "2024", 70), ("y", "sat", "2024", 80), ("a", "sat", "2024", 90), ("z", "sat", "2025", 75)]
    ds = dataset(rows)
    assert focus.unit_year(ds, "z", ("sat",), 2024, "vi").empty  # no 75 graded "Khá": z was formed on 1/3/2025
    shown = focus.stand_ins(ds, "z", ("sat",), 2024, "vi")
    assert list(zip(shown["unit_id"], shown["kind"], shown["name"], shown["value"])) == [
        ("x", "predecessor", "Sở X", 70), ("y", "predecessor", "Sở Y", 80)]  # no combined score
    z = focus.unit_year(ds, "z", ("sat",), 2025, "vi").iloc[0]
    assert z["value"] == 75 and pd.isna(z["previous"]) and pd.isna(z["change"])  # nothing of its own to compare
    assert pd.isna(z["rank_change"]) and z["grade_label"] == "Khá"
    assert focus.stand_ins(ds, "z", ("sat",), 2025, "vi").empty


def test_merged_into_names_the_successor_and_the_day():
    cat = dataset([]).catalog
    assert focus.merged_into(cat, "x") == ("z", dt.date(2025, 3, 1))
    assert focus.merged_into(cat, "a") is None


def test_attention_lists_the_units_short_of_their_own_target_furthest_first():
    # 2019 sat: a 85, b 75, c 70 (own target 75: short by 5), d 72 (district); province mean 75.5 < 80.
    rows = [("a", "sat", "2019", 85), ("b", "sat", "2019", 75), ("c", "sat", "2019", 70), ("d", "sat", "2019", 72)]
    att = focus.attention(dataset(rows), ("sat", "par"), Period(2019), None, "vi")
    assert att["indicator_id"].tolist() == ["sat"]  # no PAR INDEX figures: nothing to say
    r = att.iloc[0]
    assert r["value"] == 75.5 and r["target"] == 80 and r["gap"] == -4.5 and r["province_misses"]
    assert (r["n_units"], r["n_below"]) == (4, 3)
    assert r["below"]["unit_id"].tolist() == ["d", "b", "c"]  # gaps −8, −5, −5; equal gaps by name
    assert r["below"]["gap"].tolist() == [-8, -5, -5]


def test_attention_puts_province_misses_first_and_skips_indicators_on_target():
    # sat: province 82.5 meets 80 but b (75) misses; late rate: 10 late of 100 resolved = 10% > 5%.
    rows = [("a", "sat", "2019", 90), ("b", "sat", "2019", 75),
            ("a", "early", "2019-Q1", 0), ("a", "ontime", "2019-Q1", 90), ("a", "late", "2019-Q1", 10)]
    att = focus.attention(dataset(rows), ("sat", "late_rate"), Period(2019), "department", "vi")
    assert att["indicator_id"].tolist() == ["late_rate", "sat"]
    assert att.iloc[0]["province_misses"] and att.iloc[0]["value"] == 10
    assert att.iloc[0]["below"]["unit_id"].tolist() == ["a"]
    assert not att.iloc[1]["province_misses"] and att.iloc[1]["below"]["unit_id"].tolist() == ["b"]
    assert focus.attention(dataset(rows[:1]), ("sat",), Period(2019), "department", "vi").empty


def test_falls_put_grade_falls_first_then_places_lost():
    # b: rank 1 → 3 and Tốt → Khá; a: rank 2 → 2; c: 3 → 1 (a rise).
    f = focus.falls(dataset(SAT), ("sat",), 2019, "department", "vi")
    assert f["unit_id"].tolist() == ["b"]
    r = f.iloc[0]
    assert (r["previous_rank"], r["rank"], r["rank_change"]) == (1, 3, -2)
    assert (r["previous_grade_label"], r["grade_label"], r["grade_fell"]) == ("Tốt", "Khá", True)


def test_a_grade_fall_outranks_more_places_lost():
    # 2018: a 95, c 90, b 85, x 81 → a1 c2 b3 x4; 2019: c 92, x 90, a 84, b 79 → c1 x2 a3 b4.
    # a loses 2 places and stays Tốt; b loses 1 place and falls Tốt → Khá; c and x rise.
    rows = [("a", "sat", "2018", 95), ("b", "sat", "2018", 85), ("c", "sat", "2018", 90), ("x", "sat", "2018", 81),
            ("a", "sat", "2019", 84), ("b", "sat", "2019", 79), ("c", "sat", "2019", 92), ("x", "sat", "2019", 90)]
    f = focus.falls(dataset(rows), ("sat",), 2019, "department", "vi")
    assert f["unit_id"].tolist() == ["b", "a"]
    assert f["grade_fell"].tolist() == [True, False] and f["rank_change"].tolist() == [-1, -2]


def test_latest_data_says_whether_the_year_is_partial():
    rows = [("a", "sat", "2025", 80), ("a", "late", "2026-Q1", 1), ("a", "late", "2026-Q3", 2)]
    assert focus.latest_data(dataset(rows)) == ("2026-Q3", True)
    assert focus.latest_data(dataset(rows[:1] + [("a", "late", "2025-Q4", 1)])) == ("2025-Q4", False)
    assert focus.latest_data(dataset(rows[:1])) == ("2025", False)
