"""The unit profile page in AppTest: lineage, parts, ranks and dossiers carry the core's numbers."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from components import chart_labels
from reformkpi import focus, formatting
from reformkpi.context import figure_contexts
from reformkpi.metrics import ranking, views
from reformkpi.periods import Period
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
    sat = hist[(hist["indicator_id"] == "sipas.overall") & (hist["kind"] == "own")]
    unit_traces = [tr for tr in spec["data"] if tr["name"] == "Sở Nông nghiệp và Môi trường"]
    sat_trace = unit_traces[1]  # the grid follows the catalog's order: PAR INDEX, then SIPAS
    assert plotly_array(sat_trace["x"]) == [int(p) for p in sat["period"]] == [2025]
    assert plotly_array(sat_trace["y"]) == pytest.approx(sat["value"].tolist())
    # Each predecessor is its own named series; SIPAS 2024 of Sở TN&MT is its own 77,1%, and its
    # line breaks (None) at the 2022 survey change: one line per method.
    tnmt = [tr for tr in spec["data"] if tr["name"] == "Sở Tài nguyên và Môi trường (tiền thân)"]
    assert len(tnmt) == 6 and dict(zip(plotly_array(tnmt[1]["x"]), plotly_array(tnmt[1]["y"])))[2024] == pytest.approx(77.1)
    sat_x = plotly_array(tnmt[1]["x"])
    assert sat_x[sat_x.index(2021) + 1] is None and sat_x[sat_x.index(2021) + 2] == 2022
    combined = [tr for tr in spec["data"] if tr["name"] == "Các đơn vị tiền thân cộng gộp"]
    assert len(combined) == 3  # the three dossier rates (ratios of sums); never PAR INDEX, SIPAS or services
    assert any(a["text"] == "Hợp nhất 01/03/2025" for a in spec["layout"]["annotations"])
    assert {s["x0"] for s in spec["layout"]["shapes"] if s.get("type") == "line"} >= {2024.5}


def test_a_year_before_the_unit_existed_shows_its_predecessors_not_its_own_tiles(unit_page, demo):
    """Sở NN&MT, in office from 01/03/2025, for 2024: no tile, grade, target, rank or coloured change."""
    at = unit_page(unit=MERGED, year="2024")
    assert not at.exception and not at.metric
    assert any("chưa hoạt động vào cuối năm 2024" in shown(i.value) and "01/03/2025" in shown(i.value) for i in at.info)
    texts = " ".join(shown(e.value) for e in [*at.markdown, *at.caption])
    assert "Xếp loại" not in texts and "Mục tiêu" not in texts and "Hạng " not in texts
    table = at.dataframe[0].value.set_index("Chỉ số")
    assert table.loc["Mức độ hài lòng", "Sở Tài nguyên và Môi trường (tiền thân)"] == "77,1%"
    assert table.loc["Mức độ hài lòng", "Các đơn vị tiền thân cộng gộp"] == "–"  # a score is never combined
    stand = focus.stand_ins(demo, MERGED, ("dossier.late_rate",), 2024, "vi")
    combined = stand.loc[stand["kind"] == "combined", "value"].iloc[0]
    assert table.loc["Tỷ lệ trễ hạn", "Các đơn vị tiền thân cộng gộp"] == formatting.value(combined, "percent", "vi")


def test_par_areas_and_ranks_carry_the_core_values(unit_page, demo):
    at = unit_page(unit="so-tai-nguyen-moi-truong", year="2019", ind="par.total")
    specs = charts(at)
    parts = views.unit_parts(demo, "par.total", "so-tai-nguyen-moi-truong", 2019)
    bars = specs["unit_parts_par.total"]["data"][0]
    assert sorted(plotly_array(bars["x"])) == pytest.approx(sorted(parts["lost"]))
    worst = demo.catalog.indicator(parts.sort_values("lost").iloc[-1]["indicator_id"])["short_vi"]
    assert specs["unit_parts_par.total"]["layout"]["title"]["text"].replace(" <br>", " ").endswith(worst)
    ranks = ranking.rank_history(demo, "par.total", "so-tai-nguyen-moi-truong", "vi")
    line = specs["unit_ranks"]["data"][0]
    assert plotly_array(line["y"]) == ranks["rank"].tolist()


def test_dossiers_by_quarter_follow_the_lineage(unit_page, demo):
    at = unit_page(unit=MERGED, year="2025")
    flow = views.unit_flow(demo, MERGED)
    bars = charts(at)["unit_dossiers"]["data"]
    late = next(tr for tr in bars if tr["name"] == "Quá hạn")
    before = next(tr for tr in bars if tr["name"] == "Quá hạn · Các đơn vị tiền thân cộng gộp")
    assert np.array_equal(plotly_array(late["y"]), flow.loc[flow["own"], "dossier.resolved_late"].to_numpy())
    assert np.array_equal(plotly_array(before["y"]), flow.loc[~flow["own"], "dossier.resolved_late"].to_numpy())
    assert late["x"][0] == "Quý I/2025" and before["x"][-1] == "Quý IV/2024"
    assert any("Tỷ lệ trễ hạn = Quá hạn" in shown(c.value) for c in at.caption)


def test_the_figure_asked_for_is_a_tile_and_the_merger_is_stated(unit_page, demo):
    at = unit_page(unit="so-tai-nguyen-moi-truong", year="2019")
    assert not at.exception
    tiles = {m.label: m for m in at.metric}
    assert tiles["Mức độ hài lòng"].value == "77,4%"
    row = focus.unit_year(demo, "so-tai-nguyen-moi-truong", ("sipas.overall",), 2019, "vi").iloc[0]
    assert tiles["Mức độ hài lòng"].delta == formatting.signed(row["change"], "vi") + " điểm %"
    texts = [shown(e.value) for e in [*at.markdown, *at.caption]]  # Markdown escapes removed
    assert any("Mục tiêu 80,0%: chưa đạt, còn thiếu 2,6 điểm %" in v for v in texts)
    assert f"Hạng {row['rank']}/{row['n_peers']} trong các đơn vị cùng cấp" in " ".join(texts)
    assert any("hợp nhất vào Sở Nông nghiệp và Môi trường" in i.value and "01/03/2025" in i.value for i in at.info)
    assert "Xếp loại: Khá" in texts
    bands = [s for s in charts(at)["unit_history"]["layout"]["shapes"] if s["type"] == "rect"]
    assert bands and all(s["x0"] == 2018.5 and s["x1"] == 2019.5 for s in bands)  # 2019 highlighted


def test_a_unit_that_absorbed_another_has_its_lines_broken_and_no_change_at_the_merger(unit_page):
    """Sở Tài chính took in Sở KH&ĐT on 1/3/2025: its own PAR INDEX line and its rank line break
    between 2024 and 2025 (two different bodies), and its 2025 tiles show no change with the reason."""
    at = unit_page(unit="so-tai-chinh", year="2025", ind="par.total")
    assert not at.exception and not at.error
    spec = charts(at)
    own = [tr for tr in spec["unit_history"]["data"] if tr["name"] == "Sở Tài chính"][0]  # PAR INDEX first
    x = plotly_array(own["x"])
    assert x[x.index(2024) + 1] is None and x[x.index(2024) + 2] == 2025
    rank = [tr for tr in spec["unit_ranks"]["data"] if tr["name"] == "Sở Tài chính"][0]
    rx = plotly_array(rank["x"])
    assert rx[rx.index(2024) + 1] is None and rx[rx.index(2024) + 2] == 2025
    captions = " ".join(shown(c.value) for c in at.caption)
    assert "Không so sánh với 2024: phạm vi của đơn vị đã thay đổi" in captions
    assert all(m.delta in (None, "") for m in at.metric)


def test_the_grid_has_one_context_line_per_distinct_source_coverage_and_version(unit_page, demo):
    """The small multiples of a unit share most of their context: the page prints each distinct line
    once (six identical lines stood under the grid), its help naming every indicator it covers."""
    at = unit_page(unit="so-tai-chinh", year="2025")
    assert not at.exception and not at.error
    ranked = tuple(demo.catalog.indicators.loc[demo.catalog.indicators["ranked"], "indicator_id"])
    shown_ids = tuple(dict.fromkeys(views.unit_history(demo, "so-tai-chinh", ranked)["indicator_id"]))
    contexts = figure_contexts(demo, shown_ids, Period(2025), None, "vi", "so-tai-chinh")
    distinct = {c.summary() for c in contexts.values()}
    assert len(distinct) < len(shown_ids)  # the case this test is about: several share one line
    lines = [shown(c.value) for c in at.caption]
    grid = [line for line in lines if line in {shown(formatting.markdown_text(s)) for s in distinct}]
    assert sorted(grid[:len(distinct)]) == sorted(shown(formatting.markdown_text(s)) for s in distinct)
    assert all(a != b for a, b in zip(lines, lines[1:]))  # no line repeated under the grid
    helps = " ".join(shown(c.proto.help) for c in at.caption)
    for i in shown_ids:
        assert chart_labels.short_name(demo.catalog.indicator(i), "vi") in shown(helps.replace("\\", ""))
