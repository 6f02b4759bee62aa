"""The dossiers page in AppTest: rates from summed counts, the heatmap, most late units, backlog, online share."""

import numpy as np
import pytest

from reformkpi.metrics import rollups, views
from tests.app.test_unit import charts, open_page
from tests.conftest import plotly_array, shown


@pytest.fixture
def dossiers_page(demo_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    return lambda **query: open_page("app_pages/dossiers.py", **query)


@pytest.mark.parametrize("query", [
    {"year": "2026", "quarter": "Q4"},  # a quarter with no data yet
    {"year": "2016", "level": "district", "lang": "en"},
    {"year": "2025", "quarter": "Q2", "level": "all", "unit": "so-nong-nghiep-moi-truong"},
])
def test_dossiers_page_runs_for_filter_combinations(dossiers_page, query):
    assert not dossiers_page(**query).exception


def test_dossier_views_carry_the_core_values(dossiers_page, demo):
    at = dossiers_page(year="2024")
    specs = charts(at)
    prov = rollups.province_series(demo, "dossier.late_rate", "quarter", "department", (2022, 2024))
    late = specs["dossier_dossier.late_rate"]["data"][0]
    assert plotly_array(late["y"]) == pytest.approx(prov["value"].tolist())
    assert late["x"][0] == "Quý I/2022"
    assert any(shown(c.value) == "Công thức: Tỷ lệ trễ hạn = Quá hạn / (Trước hạn + Đúng hạn + Quá hạn) × 100"
               for c in at.caption)
    matrix = views.rate_matrix(demo, "dossier.late_rate", "department", (2022, 2024))
    heat = specs["dossier_heatmap"]["data"][0]
    assert np.allclose(plotly_array(heat["z"]), matrix.drop(columns="name").to_numpy(float).ravel(), equal_nan=True)
    assert heat["y"][0] == matrix["name"].iloc[0]
    top = views.most_late(demo, "dossier.late_rate", "2024", "department")
    table = at.dataframe[0].value
    assert table["Đơn vị"].tolist() == top["name"].tolist()
    assert table["Quá hạn"].iloc[0] == f"{int(top['num'].iloc[0]):,}".replace(",", ".")
    flow = rollups.province_flow(demo, "department", (2022, 2024))
    overdue = next(tr for tr in specs["dossier_backlog"]["data"] if tr["name"] == "Đang giải quyết quá hạn")
    assert plotly_array(overdue["y"]) == flow["dossier.pending_overdue"].tolist()
    online = specs["dossier_online"]["data"][0]
    assert plotly_array(online["y"]) == pytest.approx(flow["dossier.online_share"].tolist())


def test_the_late_rate_is_judged_against_its_ceiling_not_as_a_shortfall(dossiers_page, demo):
    """A lower-is-better rate reads 'below by' / 'above by' its target, never 'short by'."""
    k = views.kpi(demo, "dossier.late_rate", "2024", "department", "vi")
    assert k.target == 5 and k.gap == pytest.approx(5 - k.value)
    gap = f"{abs(k.gap):.1f}".replace(".", ",")
    status = "đạt, thấp hơn" if k.meets_target else "chưa đạt, còn cao hơn"
    vi_page = dossiers_page(year="2024")
    texts = [shown(e.value) for e in [*vi_page.markdown, *vi_page.caption]]
    assert f"Mục tiêu 5,0%: {status} {gap} điểm %" in texts
    assert not any("thiếu" in v for v in texts if "Mục tiêu 5,0%" in v)
    en_page = dossiers_page(year="2024", lang="en")
    en = [shown(e.value) for e in [*en_page.markdown, *en_page.caption]]
    assert any(("below by" if k.meets_target else "above by") in v for v in en if v.startswith("Target 5.0%"))
