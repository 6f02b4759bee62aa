"""The satisfaction page in AppTest: by factor, per unit, spread and years below target from the core."""

import numpy as np
import pytest

from reformkpi.metrics import ranking, views
from reformkpi.periods import Period
from tests.app.test_unit import charts, open_page
from tests.conftest import plotly_array


@pytest.fixture
def satisfaction_page(demo_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    return lambda **query: open_page("app_pages/satisfaction.py", **query)


@pytest.mark.parametrize("query", [
    {"year": "2026"},  # no survey yet: a message
    {"year": "2022", "level": "district", "lang": "en"},
    {"year": "2025", "unit": "so-nong-nghiep-moi-truong"},
])
def test_satisfaction_page_runs_for_filter_combinations(satisfaction_page, query):
    assert not satisfaction_page(**query).exception


def test_no_survey_year_says_so(satisfaction_page):
    at = satisfaction_page(year="2026")
    assert any("Không có số liệu" in w.value for w in at.warning)


def test_satisfaction_views_carry_the_core_values(satisfaction_page, demo):
    at = satisfaction_page(year="2019")
    specs = charts(at)
    summary = views.family_summary(demo, "sipas.overall", 2019, "department")
    bars = specs["sat_factors"]["data"][0]
    assert plotly_array(bars["x"])[::-1] == pytest.approx(summary["value"].tolist())
    table = ranking.league_table(demo, "sipas.overall", Period(2019), "department", "vi")
    units = specs["sat_units"]["data"][0]
    gaps = dict(zip(units["y"], plotly_array(units["x"])))
    assert gaps["Sở Tài nguyên và Môi trường"] == pytest.approx(-2.6)
    assert specs["sat_distribution"]["layout"]["title"]["text"].replace(" <br>", " ") == (
        f"Phân bố {len(table)} đơn vị năm 2019: {int((~table['meets_target'].astype(bool)).sum())} đơn vị dưới mục tiêu")
    matrix = views.family_matrix(demo, "sipas.overall", 2019, "department", "vi")
    heat = specs["sat_heatmap"]["data"][0]
    assert np.allclose(plotly_array(heat["z"]), matrix.drop(columns="name").to_numpy(float).ravel(), equal_nan=True)
    below = views.below_target_years(demo, "sipas.overall", "department", (2016, 2019), "vi")
    shown = at.dataframe[0].value
    assert shown["Đơn vị"].tolist() == below["name"].tolist()
    assert shown.iloc[0]["Số năm chưa đạt"] == "4/4" and shown.iloc[0]["Đơn vị"] == "Sở Tài nguyên và Môi trường"
