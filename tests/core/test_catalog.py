import pandas as pd
import pytest

from reformkpi import config, i18n, periods
from reformkpi.catalog import Catalog, CatalogError, load_dir
from tests.conftest import small_catalog


def test_shipped_catalog_loads_and_has_the_indicator_families():
    cat = Catalog.from_tables(load_dir(config.CATALOG_DIR))
    ids = set(cat.indicators["indicator_id"])
    assert {"par.total", *(f"par.area{i}" for i in range(1, 9)), "sipas.overall",
            *(f"sipas.f{i}" for i in range(1, 6)), "dossier.late_rate"} <= ids
    assert cat.formula_text("dossier.online_share", "en") == (
        "Online share = Received online / (Received online + Received in person + Received by post) × 100")
    assert cat.lineage("so-nong-nghiep-moi-truong") == [
        "so-nong-nghiep-moi-truong", "so-nong-nghiep-ptnt", "so-tai-nguyen-moi-truong"]


def test_a_broken_reference_is_refused():
    cat = small_catalog()
    tables = {"units": cat.units.astype(str), "indicators": cat.indicators.astype(str),
              "targets": cat.targets.astype(str), "grade_bands": cat.grade_bands.astype(str)}
    tables["units"].loc[1, "successor_id"] = "nowhere"
    tables["indicators"].loc[7, "denominator"] = "early+missing"
    with pytest.raises(CatalogError) as err:
        Catalog.from_tables(tables)
    assert "successor_id 'nowhere' is not a unit" in str(err.value)
    assert "late_rate refers to unknown 'missing'" in str(err.value)


def test_units_in_office_at_the_end_of_a_period():
    cat = small_catalog()
    assert set(cat.active_units("2025-Q1", "department")["unit_id"]) == {"a", "b", "c", "z"}
    assert set(cat.active_units("2024-Q4", "department")["unit_id"]) == {"a", "b", "c", "x", "y"}
    assert cat.is_active("d", "2025-Q2") and not cat.is_active("d", "2025-Q3")


def test_grades_need_a_value():
    cat = small_catalog()
    g = cat.grades("sipas", pd.Series([90.0, None]))
    assert g.iloc[0] == "excellent" and pd.isna(g.iloc[1])


def test_each_family_is_graded_by_its_own_bands_however_often_asked():
    cat = small_catalog()
    assert cat.grades("sipas", pd.Series([75.0, 50.0])).tolist() == ["good", "weak"]
    assert cat.grades("dossiers", pd.Series([75.0])).isna().all()  # no bands: no grade
    assert cat.grades("sipas", pd.Series([85.0])).tolist() == ["excellent"]


def test_periods():
    assert periods.latest_complete_quarter(periods.start("2026-Q4")) == "2026-Q3"
    assert periods.latest_complete_quarter(periods.start("2026-Q1")) == "2025-Q4"
    assert periods.end("2025-Q1").isoformat() == "2025-03-31" and periods.previous("2019-Q1") == "2018-Q4"
    with pytest.raises(periods.PeriodError):
        periods.parse("2019-Q5")


def test_every_text_exists_in_every_language():
    assert set(i18n.texts("vi")) == set(i18n.texts("en"))


def test_standing_says_who_answers_for_a_units_figure_before_and_after_a_merger():
    """x and y merged into z on 1/3/2025; d left office on 30/6/2025 with no successor."""
    cat = small_catalog()
    assert cat.standing("z", "2024") == (False, ("x", "y"))  # before z: its predecessors, each as itself
    assert cat.standing("z", "2025-Q1") == (True, ("z",))    # in office on 31/3: its own
    assert cat.held(["z"], "2025-Q1") == ["x", "y", "z"]       # covering what x and y did that quarter
    assert cat.held(["z"], "2024-Q4") == [] and cat.held(["x", "y"], "2024-Q4") == ["x", "y"]
    assert cat.standing("x", "2025") == (False, ())            # gone: nothing of its own, no one in its place
    assert cat.standing("d", "2025-Q3") == (False, ()) and cat.held(["d"], "2025-Q3") == []
    assert cat.standing("a", "2016") == (True, ("a",)) and cat.held(["a"], "2016") == ["a"]


def test_mergers_found_once_answer_as_the_table_does_through_chained_mergers():
    """Who answers for whom and the predecessors are kept per catalog and period: they give what a
    walk over the units table gives, for units merged in two steps (x, y → z → w in 2026)."""
    base = small_catalog()
    units = base.units.copy()
    units.loc[units["unit_id"] == "z", ["active_to", "successor_id"]] = [pd.Timestamp("2026-06-30"), "w"]
    w = units[units["unit_id"] == "a"].assign(unit_id="w", active_from=pd.Timestamp("2026-07-01"))
    cat = Catalog(pd.concat([units, w], ignore_index=True), base.indicators, base.targets, base.grade_bands)

    def walk_predecessors(uid):
        direct = cat.units.loc[cat.units["successor_id"] == uid, "unit_id"].tolist()
        return [p for u in direct for p in [u, *walk_predecessors(u)]]

    assert cat.predecessors("w") == walk_predecessors("w") == ["z", "x", "y"]
    succ = dict(zip(cat.units["unit_id"], cat.units["successor_id"]))
    for period in ("2024", "2025-Q1", "2026-Q2", "2026-Q3", "2026"):
        naive = {}
        for uid in succ:
            u = uid
            while u and not cat.is_active(u, period):
                u = succ[u]
            if u:
                naive[uid] = u
        assert cat.holders(period) == naive
        assert cat.holders(period) is cat.holders(period)  # found once
        assert cat.held_by(period) == {h: frozenset(u for u, hh in naive.items() if hh == h) for h in set(naive.values())}
    assert cat.held_by("2026")["w"] == {"w", "z", "x", "y"} and cat.held_by("2025")["z"] == {"z", "x", "y"}
