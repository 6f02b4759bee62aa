"""The rankings page in AppTest: league table, bump chart, stability and grade bands from the core."""

import pytest

from reformkpi.metrics import ranking
from reformkpi.periods import Period
from tests.app.test_unit import charts, open_page
from tests.conftest import plotly_array


@pytest.fixture
def rankings_page(demo_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    return lambda **query: open_page("app_pages/rankings.py", **query)


@pytest.mark.parametrize("query", [
    {"year": "2026"},                                        # no yearly results: a message, no table
    {"year": "2016", "ind": "sipas.overall"},                # one year only: no bump chart
    {"year": "2024", "level": "district", "ind": "dossier.late_rate", "lang": "en"},
    {"year": "2025", "level": "all", "unit": "so-nong-nghiep-moi-truong"},
])
def test_rankings_page_runs_for_filter_combinations(rankings_page, query):
    assert not rankings_page(**query).exception


def test_rankings_carry_the_core_values(rankings_page, demo):
    at = rankings_page(year="2024", ind="par.total")
    table = ranking.league_table(demo, "par.total", Period(2024), "department", "vi")
    shown = at.dataframe[0].value
    assert shown["Đơn vị"].tolist() == table["name"].tolist()
    assert shown["Hạng"].tolist() == table["rank"].astype(str).tolist()
    specs = charts(at)
    ranks = ranking.ranks(demo, "par.total", "year", "department", (2016, 2024))
    stability = ranking.rank_stability(demo, "par.total", "department", (2016, 2024))
    least_stable = demo.catalog.unit(stability["unit_id"].iloc[0])["name_vi"]
    line = next(tr for tr in specs["rankings_bump"]["data"] if tr["name"] == least_stable)
    expected = ranks[ranks["unit_id"] == stability["unit_id"].iloc[0]].sort_values("period")
    assert plotly_array(line["y"]) == expected["rank"].tolist() and line["line"]["width"] == 3.5
    stab = at.dataframe[1].value
    assert stab["Đơn vị"].iloc[0] == least_stable
    assert stab["Số lần đổi xếp loại"].tolist() == stability["grade_changes"].tolist()
    counts = ranking.grade_counts(demo, "par.total", "department", (2016, 2024), "vi")
    good = next(tr for tr in specs["rankings_grades"]["data"] if tr["name"] == "Tốt")
    assert plotly_array(good["y"]) == counts.loc[counts["grade"] == "excellent", "n"].tolist()


def test_the_scope_caption_names_units_that_took_others_in_not_new_ones(rankings_page, demo):
    """2025: Sở NN&MT and Sở DT&TG are new in office ("mới" in their rank change); Sở Nội vụ, Sở Xây
    dựng, Sở KH&CN and Sở Tài chính took others in: only these have their changes blanked for scope."""
    at = rankings_page(year="2025", ind="par.total")
    table = ranking.league_table(demo, "par.total", Period(2025), "department", "vi")
    shown = at.dataframe[0].value.set_index("Đơn vị")["Thay đổi hạng"]
    assert shown["Sở Nông nghiệp và Môi trường"] == "mới" and shown["Sở Dân tộc và Tôn giáo"] == "mới"
    captions = [c.value for c in at.caption if c.value.startswith("Không so sánh thay đổi của")]
    assert captions == [ranking.scope_note(table, "vi")]
    assert "Sở Tài chính" in captions[0] and "Sở Nông nghiệp" not in captions[0] and "Sở Dân tộc" not in captions[0]
