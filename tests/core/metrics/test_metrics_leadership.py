"""Leadership views (unit profile, rankings over years, dossiers, satisfaction) against hand-worked values."""


import pandas as pd
import pyarrow as pa
import pytest

from reformkpi.metrics import ranking, rollups, targets, views
from reformkpi.metrics.datasets import Dataset
from reformkpi.catalog import Catalog
from reformkpi.periods import Period
from tests.conftest import dataset, obs, small_catalog
from tests.core.metrics.test_metrics import dossiers


def test_unit_history_shows_predecessors_as_themselves_and_the_unit_only_once_in_office():
    # 2024: x 70, y 80 (merged into z on 1/3/2025), a 90, b 60. 2025: z 90, a 80, b 70.
    rows = [("x", "sat", "2024", 70), ("y", "sat", "2024", 80), ("a", "sat", "2024", 90), ("b", "sat", "2024", 60),
            ("z", "sat", "2025", 90), ("a", "sat", "2025", 80), ("b", "sat", "2025", 70)]
    h = views.unit_history(dataset(rows), "z", ("sat",))
    # No 75 for z in 2024: an average of two satisfaction scores is no one's figure.
    assert list(zip(h["period"], h["unit_id"], h["kind"], h["value"])) == [
        ("2024", "x", "predecessor", 70), ("2024", "y", "predecessor", 80), ("2025", "z", "own", 90)]
    assert h["peer_median"].tolist() == [75, 75, 80]  # 2024: median of 60, 70, 80, 90; 2025: of 70, 80, 90
    # sat has a target of 80 until 2020 only: no target afterwards.
    assert h["target"].isna().all() and h["meets_target"].isna().all()


def test_before_the_unit_existed_only_a_ratio_of_sums_is_combined_and_never_held_to_a_target():
    # 2019 (the late-rate target 5 applies 2016–2030): x 1 late of 10, y 9 late of 30 → combined 10/40 = 25%.
    rows = dossiers("x", "2019-Q1", 4, 5, 1) + dossiers("y", "2019-Q1", 1, 20, 9) + dossiers("z", "2025-Q2", 0, 18, 2)
    rows += [("x", "sat", "2019", 70), ("y", "sat", "2019", 80)]
    h = views.unit_history(dataset(rows), "z", ("late_rate", "sat"))
    late = h[h["indicator_id"] == "late_rate"]
    assert list(zip(late["period"], late["unit_id"], late["kind"], late["value"], late["units"])) == [
        ("2019", "x", "predecessor", 10.0, "x"), ("2019", "y", "predecessor", 30.0, "y"),
        ("2019", "", "combined", 25.0, "x,y"), ("2025", "z", "own", 10.0, "z")]
    assert late["target"].iloc[:3].isna().all()
    assert late.iloc[3][["target", "meets_target"]].tolist() == [5, False]  # 10% against 5%: only z's own
    assert set(h.loc[h["indicator_id"] == "sat", "kind"]) == {"predecessor"}  # scores are never combined
    with pytest.raises(ValueError):
        rollups.combine_lineage(small_catalog().indicator("sat"), h[h["indicator_id"] == "sat"])


def test_unit_history_gives_each_indicator_in_the_order_asked_with_its_own_target_and_direction():
    # 2019: a's late rate 10% (target 5, lower is better: gap -5); sat 85 (target 80: gap +5); b's sat 75.
    rows = dossiers("a", "2019-Q1", 4, 5, 1) + [("a", "sat", "2019", 85), ("b", "sat", "2019", 75)]
    h = views.unit_history(dataset(rows), "a", ("late_rate", "par", "sat"))
    assert list(zip(h["indicator_id"], h["value"], h["target"], h["gap"], h["meets_target"], h["peer_median"])) == [
        ("late_rate", 10.0, 5.0, -5.0, False, 10.0), ("sat", 85.0, 80.0, 5.0, True, 80.0)]  # no PAR figure: no row
    twice = views.unit_history(dataset(rows), "a", ["sat", "late_rate", "sat"])
    assert twice["indicator_id"].tolist() == ["sat", "late_rate", "sat"]


def test_a_units_dossiers_by_quarter_are_its_own_once_in_office_and_its_predecessors_combined_before():
    rows = dossiers("x", "2024-Q4", 0, 9, 1) + dossiers("y", "2024-Q4", 0, 27, 3) + dossiers("z", "2025-Q1", 0, 45, 5)
    rows += dossiers("a", "2024-Q4", 0, 100, 100)  # not of z's lineage
    f = views.unit_flow(dataset(rows), "z").set_index("period")
    assert f["own"].to_dict() == {"2024-Q4": False, "2025-Q1": True}
    assert f.loc["2024-Q4", "late_rate"] == 10.0 and f.loc["2024-Q4", "late"] == 4  # (1 + 3) / (10 + 30)
    assert f.loc["2025-Q1", "late_rate"] == 10.0 and f.loc["2025-Q1", "late"] == 5


def test_a_units_dossiers_and_its_predecessors_are_read_in_one_query_as_each_alone():
    # Each group as dossier_flow gives it alone: z with data of its own and without (only x's and
    # y's quarters), a with no predecessors, b with no dossiers at all.
    rows = dossiers("x", "2024-Q4", 0, 9, 1) + dossiers("y", "2024-Q3", 2, 27, 3) + dossiers("a", "2024-Q4", 0, 100, 100)
    def counted(ds, queries):
        sql = ds.sql
        ds.sql = lambda q, p=None: queries.append(q) or sql(q, p)  # type: ignore[method-assign]
        return ds

    for extra in ([], dossiers("z", "2025-Q1", 0, 45, 5)):
        queries: list[str] = []
        flows = rollups.dossier_flows(counted(dataset(rows + extra), queries), (["z"], ["x", "y"], ["a"], ["b"], []))
        assert len(queries) == 1
        alone = dataset(rows + extra)
        for got, units in zip(flows, (["z"], ["x", "y"], ["a"], ["b"], [])):
            pd.testing.assert_frame_equal(got, rollups.dossier_flow(alone, units), check_exact=True)
    assert flows[0]["late"].tolist() == [5] and flows[1]["n_units"].tolist() == [1, 1] and flows[3].empty


def test_merger_events_name_the_predecessors():
    ev = views.merger_events(dataset([]).catalog, "z")
    assert ev["date"].astype(str).tolist() == ["2025-03-01"] and ev["predecessors"].iloc[0] == "x,y"
    assert views.merger_events(dataset([]).catalog, "a").empty


def test_a_unit_that_absorbs_another_is_marked_on_the_day_after_the_last_one():
    cat = small_catalog()
    units = cat.units.copy()
    units.loc[units["unit_id"] == "c", ["active_to", "successor_id"]] = [units.loc[units["unit_id"] == "x", "active_to"].iloc[0], "a"]
    ev = views.merger_events(Catalog(units, cat.indicators, cat.targets, cat.grade_bands), "a")
    assert ev["date"].astype(str).tolist() == ["2025-03-01"] and ev["predecessors"].iloc[0] == "c"


def with_par_areas(rows) -> Dataset:
    """The small catalog plus two PAR areas (unranked parts of the par family)."""
    cat = small_catalog()
    par = cat.indicators[cat.indicators["indicator_id"] == "par"]
    areas = pd.concat([par.assign(indicator_id=i, ranked=False) for i in ("par.a1", "par.a2")])
    cat = Catalog(cat.units, pd.concat([cat.indicators, areas], ignore_index=True), cat.targets, cat.grade_bands)
    return Dataset(pa.Table.from_pandas(obs(rows), preserve_index=False), cat)


def test_unit_parts_show_where_points_are_lost():
    ds = with_par_areas([("a", "par.a1", "2019", 8, 10), ("a", "par.a2", "2019", 18, 20), ("b", "par.a1", "2019", 6, 10)])
    assert views.family_parts(ds.catalog, "par") == ["par.a1", "par.a2"]
    parts = views.unit_parts(ds, "par", "a", 2019).set_index("indicator_id")
    assert parts.loc["par.a1", "value"] == 80 and parts.loc["par.a1", "lost"] == 2
    assert parts.loc["par.a2", "value"] == 90 and parts.loc["par.a2", "lost"] == 2
    assert parts.loc["par.a1", "peer_median"] == 70  # a 80%, b 60%
    assert parts.loc["par.a1", "target"] == 80 and parts.loc["par.a1", "gap"] == 0  # the total's target
    assert views.unit_parts(ds, "par", "c", 2019).empty


def test_rank_history_includes_predecessors_with_grades():
    rows = [("x", "sat", "2024", 70), ("y", "sat", "2024", 85), ("a", "sat", "2024", 90),
            ("z", "sat", "2025", 75), ("a", "sat", "2025", 80)]
    r = ranking.rank_history(dataset(rows), "sat", "z", "vi")
    assert list(zip(r["unit_id"], r["period"], r["rank"], r["grade_label"])) == [
        ("x", "2024", 3, "Khá"), ("y", "2024", 2, "Tốt"), ("z", "2025", 2, "Khá")]


def test_grade_counts_list_every_band_each_year():
    rows = [("a", "sat", "2019", 85), ("b", "sat", "2019", 80), ("c", "sat", "2019", 60), ("a", "sat", "2020", 75)]
    g = ranking.grade_counts(dataset(rows), "sat", "department", (2019, 2020), "vi")
    assert g[g["period"] == "2019"].set_index("grade")["n"].to_dict() == {"excellent": 2, "good": 0, "weak": 1}
    assert g[g["period"] == "2020"].set_index("grade")["n"].to_dict() == {"excellent": 0, "good": 1, "weak": 0}


def test_dossier_flow_rates_are_ratios_of_summed_counts():
    # a: 1 late of 10; b: 30 late of 100 in Q1; a: 9 late of 30 in Q2.
    rows = dossiers("a", "2019-Q1", 4, 5, 1) + dossiers("b", "2019-Q1", 20, 50, 30) + dossiers("a", "2019-Q2", 1, 20, 9)
    ds = dataset(rows)
    f = rollups.dossier_flow(ds, ["a", "b"]).set_index("period")
    assert f.loc["2019-Q1", "late"] == 31 and f.loc["2019-Q1", "late_rate"] == 28.2  # 100 × 31 / 110, 1 decimal
    assert f.loc["2019-Q2", "late_rate"] == pytest.approx(30.0)
    year = rollups.dossier_flow(ds, ["a", "b"], "year").set_index("period")
    assert year.loc["2019", "late_rate"] == 28.6  # 100 × 40 / 140 = 28.57…
    by_unit = rollups.dossier_flow(ds, ["a", "b"], by_unit=True).set_index(["unit_id", "period"])
    assert by_unit.loc[("a", "2019-Q1"), "late_rate"] == pytest.approx(10.0)


def test_rate_matrix_puts_the_worst_unit_first():
    # a: 10% then 30% (10 of 40 over the span = 25%); b: 20% then 20%; lower is better.
    rows = (dossiers("a", "2019-Q1", 4, 5, 1) + dossiers("a", "2019-Q2", 1, 20, 9)
            + dossiers("b", "2019-Q1", 0, 8, 2) + dossiers("b", "2019-Q2", 0, 8, 2))
    mx = views.rate_matrix(dataset(rows), "late_rate", "department", (2019, 2019), "vi")
    assert mx.index.tolist() == ["a", "b"] and mx["name"].tolist() == ["Sở A", "Sở B"]
    assert mx.loc["a", "2019-Q2"] == pytest.approx(30.0)


def test_most_late_ranks_units_by_late_dossiers():
    rows = dossiers("a", "2019-Q1", 4, 5, 1) + dossiers("b", "2019-Q1", 20, 50, 30) + dossiers("c", "2019-Q2", 0, 0, 5)
    top = views.most_late(dataset(rows), "late_rate", Period(2019), "department", "en", n=2)
    assert top["name"].tolist() == ["Dept B", "Dept C"]
    assert top["num"].tolist() == [30, 5] and top["value"].tolist() == pytest.approx([30.0, 100.0])


def test_family_summary_and_below_target_years():
    rows = [("a", "sat", "2018", 70), ("a", "sat", "2019", 78), ("a", "sat", "2020", 79),
            ("b", "sat", "2018", 81), ("b", "sat", "2019", 79), ("b", "sat", "2020", 85),
            ("c", "sat", "2019", 76)]
    ds = dataset(rows)
    s = views.family_summary(ds, "sat", 2019, "department").set_index("indicator_id")
    # The mean of units as published (1 decimal), and the gap from that figure: what is shown is what was compared.
    assert s.loc["sat", "value"] == 77.7 and s.loc["sat", "gap"] == -2.3  # (78 + 79 + 76) / 3 = 77,67
    assert s.loc["sat", "target"] == 80 and s.loc["sat", "n_below"] == 2  # c meets its own 75
    below = views.below_target_years(ds, "sat", "department", (2018, 2020), "vi").set_index("unit_id")
    assert below.loc["a", "years_below"] == 3 and below.loc["a", "streak"] == 3
    assert below.loc["b", "years_below"] == 1 and below.loc["b", "streak"] == 0
    assert below.loc["b", "below_years"] == "2019" and "c" not in below.index
    assert below.index.tolist() == ["a", "b"]


def test_family_matrix_has_one_row_per_unit_best_first():
    mx = views.family_matrix(dataset([("a", "sat", "2019", 70), ("b", "sat", "2019", 90)]), "sat", 2019, "department", "vi")
    assert mx.index.tolist() == ["b", "a"] and mx["sat"].tolist() == [90, 70]


def test_one_target_lookup_for_units_years_and_the_general_target():
    ds = dataset([])
    grid = pd.DataFrame({"unit_id": ["a", "c", "c", "a"], "year": [2019, 2019, 2021, 2031]})
    # c has its own 75 until 2020, then nothing of its own; after 2020 sat has no general target either.
    sat = targets.lookup(ds.catalog, "sat", grid["unit_id"], grid["year"])
    assert sat["target"].tolist()[:2] == [80, 75]
    assert sat["target"].isna().tolist()[2:] == [True, True]
    assert targets.lookup(ds.catalog, "late_rate", grid["unit_id"], grid["year"])["target"].tolist()[:3] == [5, 5, 5]
    assert targets.lookup(ds.catalog, "sat", ["a", "c"], 2019)["target"].tolist() == [80, 75]
    assert targets.province(ds.catalog, "sat", 2019)[0] == 80
    assert targets.province(ds.catalog, "sat", 2031) == (None, "")
