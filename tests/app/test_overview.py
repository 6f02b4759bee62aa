"""The Overview page in AppTest: tiles, charts and table, with the numbers of the core."""

import json

import pandas as pd
import pytest

from components.chart_style import unwrap
from reformkpi import focus
from reformkpi.metrics import ranking, views
from reformkpi.periods import Period
from tests.conftest import plotly_array


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_overview_shows_tiles_charts_and_league_table(app):
    at = app()
    assert not at.exception
    assert at.title[0].value == "Tổng quan cải cách hành chính"
    assert [m.label for m in at.metric] == ["Chỉ số CCHC", "Mức độ hài lòng", "Tỷ lệ đúng hạn", "Tỷ lệ trực tuyến"]
    assert len(charts(at)) == 2 and len(at.dataframe) == 1
    assert any("Dữ liệu minh họa" in i.value for i in at.info)
    # Rank and unit pinned: on a phone the rest of the league table scrolls sideways beside them.
    config = json.loads(at.dataframe[0].proto.columns)
    assert {c for c, v in config.items() if v.get("pinned")} == {"Hạng", "Đơn vị"}


def test_units_chart_and_table_carry_the_core_values(app, demo):
    at = app(year="2019", ind="sipas.overall")
    assert not at.exception
    table = ranking.league_table(demo, "sipas.overall", Period(2019), "department", "vi")
    units_chart = charts(at)[0]
    bar = units_chart["data"][0]
    names = [unwrap(y) for y in plotly_array(bar["y"])]  # long names wrap beside the bars
    gaps = dict(zip(names, plotly_array(bar["x"])))
    assert gaps == pytest.approx(dict(zip(table["name"], table["gap"])))
    assert gaps["Sở Tài nguyên và Môi trường"] == pytest.approx(-2.6)
    labels = dict(zip(names, bar["text"]))
    assert labels["Sở Tài nguyên và Môi trường"] == "✗ 77,4%"  # short of 80: said by a mark, not the colour alone
    marks = {n: ("✓" if m else "✗") for n, m in zip(table["name"], table["meets_target"]) if pd.notna(m)}
    assert marks and all(labels[n].startswith(mark + " ") for n, mark in marks.items())
    k = views.kpi(demo, "sipas.overall", Period(2019), "department", "vi")
    assert units_chart["layout"]["title"]["text"].replace(" <br>", " ") == (
        f"Mức độ hài lòng 2019: {k.n_below_target}/{k.n_units} đơn vị chưa đạt mục tiêu 80,0%")
    shown_table = at.dataframe[0].value
    row = shown_table[shown_table["Đơn vị"] == "Sở Tài nguyên và Môi trường"].iloc[0]
    assert row["Giá trị"] == "77,4%" and row["Chênh lệch mục tiêu"] == "\u22122,6 điểm %"
    expected = views.province_trend(demo, "sipas.overall", "department", "vi")
    # The line breaks at the 2022 survey change: one trace up to 2021, one from 2022.
    lines = [d for d in charts(at)[1]["data"] if d.get("legendgroup") == "province"]
    assert [list(d["x"]) for d in lines] == [[p for p in expected["period"] if p < "2022"],
                                            [p for p in expected["period"] if p >= "2022"]]
    assert [v for d in lines for v in plotly_array(d["y"])] == pytest.approx(expected["value"].tolist())


def test_tiles_show_the_core_kpis(app, demo):
    at = app(year="2019")
    k = views.kpi(demo, "sipas.overall", Period(2019), "department", "vi")
    tile = next(m for m in at.metric if m.label == "Mức độ hài lòng")
    assert tile.value == f"{k.value:.1f}%".replace(".", ",")


@pytest.mark.parametrize("query", [
    {"year": "2026"},                                  # a running year: no yearly results yet
    {"year": "2026", "ind": "par.total"},             # no PAR INDEX for it: a message, no chart
    {"year": "2024", "quarter": "Q3", "level": "district", "ind": "dossier.late_rate"},
    {"year": "2025", "level": "all", "ind": "dossier.online_share"},
    {"year": "2016", "lang": "en"},
])
def test_overview_runs_for_filter_combinations(app, query):
    at = app(**query)
    assert not at.exception


def test_a_year_without_yearly_results_says_so(app):
    at = app(year="2026", ind="par.total")
    assert any("Không có số liệu" in w.value for w in at.warning)
    assert any("chưa đủ số liệu" in c.value for c in at.caption)


def test_english_interface(app):
    at = app(lang="en", year="2019", ind="sipas.overall")
    assert at.title[0].value == "Administrative reform overview"
    assert "Satisfaction 2019:" in charts(at)[0]["layout"]["title"]["text"].replace(" <br>", " ")
    assert "77.4%" in at.dataframe[0].value["Value"].tolist()


def test_attention_comes_first_and_names_the_units_below_target(app, demo):
    at = app(year="2019")
    assert not at.exception
    ranked = tuple(demo.catalog.indicators.loc[demo.catalog.indicators["ranked"], "indicator_id"])
    att = focus.attention(demo, ranked, Period(2019), "department", "vi").set_index("indicator_id")  # the page's default level
    sat = att.loc["sipas.overall", "below"]
    assert "so-tai-nguyen-moi-truong" in set(sat["unit_id"])
    texts = [m.value for m in at.markdown]
    assert [h.value for h in at.subheader][:2] == ["Cần chú ý: 2019", "Các chỉ số chính 2019"]  # attention first
    first = next(i for i, v in enumerate(texts) if "Mức độ hài lòng toàn tỉnh" in v)
    assert "Sở Tài nguyên và Môi trường\\: 77,4%" in texts[first]
    assert f"{len(sat)}/{att.loc['sipas.overall', 'n_units']} đơn vị chưa đạt" in texts[first]
    assert any("Số liệu mới nhất: Quý III/2026 (năm 2026 chưa đủ các quý)" in c.value for c in at.caption)
