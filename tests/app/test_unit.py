"""The unit profile page in AppTest: lineage, parts, ranks and dossiers carry the core's numbers."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from reformkpi import focus, formatting
from reformkpi.metrics import ranking, rollups, views
from tests.conftest import ROOT, plotly_array, shown

MERGED = "so-nong-nghiep-moi-truong"


def open_page(page: str, **query) -> AppTest:
    """A page opened by a link with query parameters.

    st.navigation registers the pages on the first run, so the session starts on the Overview;
    then the link's parameters arrive and win over what the session chose (see url_state).
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.query_params.update(query)
    at.switch_page(page)
    return at.run()


@pytest.fixture
def unit_page(demo_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    return lambda **query: open_page("app_pages/unit.py", **query)


def charts(at) -> dict[str, dict]:
    """Plotly specs by chart key."""
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


@pytest.mark.parametrize("query", [
    {},
    {"unit": MERGED, "year": "2024"},                # before the merger: history through the lineage only
    {"unit": MERGED, "year": "2026", "lang": "en"},  # a year without yearly results
    {"unit": "h-bien-gioi", "year": "2016", "ind": "dossier.late_rate"},  # a district, the first year
])
def test_unit_page_runs_for_filter_combinations(unit_page, query):
    at = unit_page(**query)
    assert not at.exception


def test_merged_unit_shows_its_lineage_with_the_merger_marked(unit_page, demo):
    at = unit_page(unit=MERGED, year="2025", ind="par.total")
    assert at.header[0].value == "Sở Nông nghiệp và Môi trường"
    assert any("Từ ngày 01/03/2025" in shown(i.value) and "Sở Tài nguyên và Môi trường" in shown(i.value) for i in at.info)
    spec = charts(at)["unit_history"]
    hist = views.unit_history(demo, MERGED, tuple(demo.catalog.indicators.loc[demo.catalog.indicators["ranked"],
                                                                                  "indicator_id"]))
    sat = hist[hist["indicator_id"] == "sipas.overall"]
    unit_traces = [tr for tr in spec["data"] if tr["name"] == "Sở Nông nghiệp và Môi trường"]
    sat_trace = unit_traces[1]  # the grid follows the catalog's order: PAR INDEX, then SIPAS
    # The line breaks (None) at the 2022 survey change: one line per method.
    assert plotly_array(sat_trace["x"]) == [int(p) for p in sat["period"] if p < "2022"] + [None] + [
        int(p) for p in sat["period"] if p >= "2022"]
    assert [v for v in plotly_array(sat_trace["y"]) if v is not None] == pytest.approx(sat["value"].tolist())
    assert any(a["text"] == "Hợp nhất 01/03/2025" for a in spec["layout"]["annotations"])
    assert {s["x0"] for s in spec["layout"]["shapes"] if s.get("type") == "line"} >= {2024.5}


def test_par_areas_and_ranks_carry_the_core_values(unit_page, demo):
    at = unit_page(unit="so-tai-nguyen-moi-truong", year="2019", ind="par.total")
    specs = charts(at)
    parts = views.unit_parts(demo, "par.total", "so-tai-nguyen-moi-truong", 2019)
    bars = specs["unit_parts_par.total"]["data"][0]
    assert sorted(plotly_array(bars["x"])) == pytest.approx(sorted(parts["lost"]))
    worst = demo.catalog.indicator(parts.sort_values("lost").iloc[-1]["indicator_id"])["short_vi"]
    assert specs["unit_parts_par.total"]["layout"]["title"]["text"].replace(" <br>", " ").endswith(worst)
    ranks = ranking.rank_history(demo, "par.total", "so-tai-nguyen-moi-truong")
    line = specs["unit_ranks"]["data"][0]
    assert plotly_array(line["y"]) == ranks["rank"].tolist()


def test_dossiers_by_quarter_follow_the_lineage(unit_page, demo):
    at = unit_page(unit=MERGED, year="2025")
    flow = rollups.dossier_flow(demo, demo.catalog.lineage(MERGED))
    late = next(tr for tr in charts(at)["unit_dossiers"]["data"] if tr["name"] == "Quá hạn")
    assert np.array_equal(plotly_array(late["y"]), flow["dossier.resolved_late"].to_numpy())
    assert any("Tỷ lệ trễ hạn = Quá hạn" in shown(c.value) for c in at.caption)


def test_the_figure_asked_for_is_a_tile_and_the_merger_is_stated(unit_page, demo):
    at = unit_page(unit="so-tai-nguyen-moi-truong", year="2019")
    assert not at.exception
    tiles = {m.label: m for m in at.metric}
    assert tiles["Mức độ hài lòng"].value == "77,4%"
    row = focus.unit_year(demo, "so-tai-nguyen-moi-truong", ("sipas.overall",), 2019).iloc[0]
    assert tiles["Mức độ hài lòng"].delta == formatting.signed(row["change"]) + " điểm %"
    texts = [shown(e.value) for e in [*at.markdown, *at.caption]]  # Markdown escapes removed
    assert any("Mục tiêu 80,0%: chưa đạt, còn thiếu 2,6 điểm %" in v for v in texts)
    assert f"Hạng {row['rank']}/{row['n_peers']} trong các đơn vị cùng cấp" in " ".join(texts)
    assert any("hợp nhất vào Sở Nông nghiệp và Môi trường" in i.value and "01/03/2025" in i.value for i in at.info)
    assert "Xếp loại: Khá" in texts
    bands = [s for s in charts(at)["unit_history"]["layout"]["shapes"] if s["type"] == "rect"]
    assert bands and all(s["x0"] == 2018.5 and s["x1"] == 2019.5 for s in bands)  # 2019 highlighted
