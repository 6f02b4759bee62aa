"""What pages state with their figures: source, coverage and version under tiles, charts and tables;
changes that are not comparable; which source each quarter of a dossier trend comes from."""

import json
import shutil

from streamlit.testing.v1 import AppTest

from reformkpi import context, formatting, notes
from reformkpi.metrics import rollups, views
from reformkpi.metrics.datasets import Dataset
from reformkpi.auth import Actor
from reformkpi.context import figure_context, figure_contexts
from reformkpi.ingest import papi
from reformkpi.auth import operator
from reformkpi.periods import Period
from reformkpi.store import Store
from tests.conftest import ROOT
from tests.conftest import shown as unescaped


def contexts(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Nguồn")]


def test_overview_states_source_coverage_and_version_under_each_figure(app, demo):
    at = app(year="2024", ind="par.total")
    assert not at.exception
    shown = contexts(at)
    assert len(shown) == 4 + 3  # one per tile, then the units chart, the trend and the table
    ctx = figure_context(demo, "par.total", Period(2024), "department", "vi")
    assert ctx.summary() == (f"Nguồn: Dữ liệu minh họa (sinh tự động) · {ctx.n_units}/{ctx.n_expected} đơn vị có số "
                             f"liệu · phiên bản dữ liệu {demo.version}")
    assert formatting.markdown_text(ctx.summary()) in shown  # escaped for Markdown
    assert "19/19" in shown[0]  # PAR INDEX 2024: every department in office reported


def test_the_demos_source_is_named_in_the_pages_language(app, demo):
    """The demo's figures are stored with a Vietnamese source; an English page names it in English
    (an uploaded source is shown as written)."""
    at = app(year="2024", ind="par.total", lang="en")
    assert not at.exception
    lines = [unescaped(c.value) for c in at.caption if c.value.startswith("Source")]
    assert lines and all(c.startswith("Source: Illustrative data (generated)") for c in lines), lines
    assert "Dữ liệu" not in " ".join(lines)
    assert context.source_label("Báo cáo Sở Nội vụ", "en") == "Báo cáo Sở Nội vụ"


def test_sipas_2022_tile_says_the_change_is_not_comparable(app):
    at = app(year="2022")
    assert not at.exception
    tile = next(m for m in at.metric if m.label == "Mức độ hài lòng")
    assert tile.delta is None or tile.delta == ""
    assert any(c.value == "Không so sánh với 2021: phương pháp tính thay đổi từ 2022" for c in at.caption)


def test_dossier_trend_hover_names_each_quarters_source(app, demo):
    at = app(year="2025")
    at.switch_page("app_pages/dossiers.py")
    at.run()
    assert not at.exception
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "dossier.on_time_rate" in c.proto.id
                or "đúng" in json.loads(c.proto.spec)["layout"]["title"]["text"].lower())
    hover = dict(zip(spec["data"][0]["x"], spec["data"][0]["hovertext"]))
    assert "Nguồn: Dữ liệu minh họa (sinh tự động)" in hover["Quý III/2024"]
    assert "hồ sơ chi tiết từ hệ thống một cửa điện tử" in hover["Quý IV/2024"]
    assert len(contexts(at)) >= 6


def test_papi_trend_is_the_mean_of_provinces_and_2018_is_a_method_change(tmp_path_factory, monkeypatch, demo_store):
    store = Store(tmp_path_factory.mktemp("papi-context") / "store")
    papi.build(store, operator("test"))
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    monkeypatch.setenv("REFORMKPI_PAPI_STORE", store.uri)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"data": "papi", "year": "2018", "ind": "papi.total"})
    at.run()
    assert not at.exception
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"].replace(" <br>", " ") for c in at.get("plotly_chart")]
    assert "Tổng PAPI: trung bình các đơn vị (Việt Nam)" in titles
    assert any(c.value == "Không so sánh với 2017: phương pháp tính thay đổi từ 2018" for c in at.caption)
    trend = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                 if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith("Tổng PAPI:"))
    assert [a["text"] for a in trend["layout"]["annotations"]] == ["Đổi phương pháp"]
    # The units' bars are labelled with PAPI's published 4 decimals (2 would show ranked-apart scores alike).
    bars = next(json.loads(c.proto.spec)["data"][0] for c in at.get("plotly_chart")
                if json.loads(c.proto.spec)["data"][0].get("customdata"))
    assert all(len(label.split(",")[-1]) >= 4 for label in bars["text"])
    assert formatting.markdown_text("Nguồn: PAPI (CECODES, RTA, UNDP), qua tunah72/papi-dashboard · 61/63 đơn vị "
                                    "có số liệu · phiên bản dữ liệu 1") in contexts(at)
    k = views.kpi(Dataset.open(store), "papi.total", Period(2018), None, "vi")
    assert k.change is None and (k.n_units, k.n_expected) == (61, 63)


def test_an_analyst_adds_a_note_to_a_units_figure_and_it_shows_with_the_figures(tmp_path, monkeypatch, demo_store):
    store = Store(str(tmp_path / "store"))
    shutil.copytree(demo_store.uri, store.uri)  # a note is a write: not into the shared demo store
    monkeypatch.setenv("REFORMKPI_STORE", store.uri)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["access:actor"] = Actor("lan.pham", "analyst")
    at.query_params.update({"unit": "so-tu-phap", "year": "2024"})
    at.run()
    at.switch_page("app_pages/unit.py")
    at.run()
    assert not at.exception
    at.selectbox(key="note:indicator").select("sipas.overall").run()
    at.selectbox(key="note:period").select("2024").run()
    at.text_area(key="note:text").input("Khảo sát *lại* vì mẫu năm 2024 quá nhỏ").run()
    at.button(key="note:save").click().run()
    assert not at.exception and at.success
    stored = notes.read(store)
    assert stored[["unit_id", "indicator_id", "period", "note", "data_version", "created_by"]].values.tolist() == [
        ["so-tu-phap", "sipas.overall", "2024", "Khảo sát *lại* vì mẫu năm 2024 quá nhỏ", store.version(), "lan.pham"]]
    at.run()
    line = f"Ghi chú · Mức độ hài lòng · 2024: Khảo sát *lại* vì mẫu năm 2024 quá nhỏ (lan.pham, phiên bản dữ liệu {store.version()})"
    assert formatting.markdown_text(line) in [c.value for c in at.caption]
    ctx = figure_context(Dataset.open(store), "sipas.overall", Period(2024), "department", "vi")
    assert ctx.notes == ("Sở Tư pháp · 2024: Khảo sát *lại* vì mẫu năm 2024 quá nhỏ",)


def test_a_viewer_sees_no_note_form(app, demo):
    at = app(unit="so-tu-phap", year="2024")
    at.switch_page("app_pages/unit.py")
    at.run()
    assert not at.exception and not [w for w in at.text_area if w.key == "note:text"]
    ranked = tuple(demo.catalog.indicators.loc[demo.catalog.indicators["ranked"], "indicator_id"])
    shown = tuple(dict.fromkeys(views.unit_history(demo, "so-tu-phap", ranked)["indicator_id"]))
    grid = {c.summary() for c in figure_contexts(demo, shown, Period(2024), None, "vi", "so-tu-phap").values()}
    # One per distinct line of the history chart, then PAR INDEX and SIPAS parts, rank history, dossiers.
    assert len(contexts(at)) == len(grid) + 4


def _charts(at) -> dict[str, dict]:
    """Each chart's spec by its title (line breaks of the wrapped title removed)."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return {s["layout"]["title"]["text"].replace(" <br>", " ").replace("<br>", " "): s for s in specs}


def test_every_aggregate_chart_says_its_coverage_on_hover(app, demo):
    at = app(year="2025")
    at.switch_page("app_pages/dossiers.py")
    at.run()
    assert not at.exception
    flow = rollups.province_flow(demo, "department", (2016, 2025)).set_index("period")  # the page's default level
    q = formatting.period_label("2025-Q2", "vi")
    covered = f"{int(flow.loc['2025-Q2', 'n_units'])}/{int(flow.loc['2025-Q2', 'n_expected'])} đơn vị có số liệu"
    charts = _charts(at)
    for start in ("Tỷ lệ đúng hạn", "Tỷ lệ trễ hạn", "Hồ sơ tồn đọng", "Tỷ lệ hồ sơ tiếp nhận trực tuyến"):
        spec = next(s for title, s in charts.items() if title.startswith(start))
        for trace in spec["data"]:
            if trace.get("hovertext"):
                assert covered in dict(zip(trace["x"], trace["hovertext"]))[q], start

    at.switch_page("app_pages/satisfaction.py")
    at.run()
    factors = next(s for title, s in _charts(at).items() if title.startswith("Toàn tỉnh 2025"))
    assert all("đơn vị có số liệu" in h for h in factors["data"][0]["hovertext"])


def test_the_unit_history_chart_has_coverage_on_hover_and_a_context_line(app, demo):
    at = app(unit="so-tu-phap", year="2024")
    at.switch_page("app_pages/unit.py")
    at.run()
    assert not at.exception
    hist = views.unit_history(demo, "so-tu-phap", ("par.total",)).set_index("period")
    spec = next(s for title, s in _charts(at).items() if "các chỉ số qua các năm" in title)
    hover = dict(zip(spec["data"][0]["x"], spec["data"][0]["hovertext"]))
    n, total = hist.loc["2024", "n_peers"], hist.loc["2024", "n_peer_expected"]
    assert f"{n}/{total} đơn vị có số liệu" in hover[2024]
    ctx = figure_context(demo, "par.total", Period(2024), None, "vi", "so-tu-phap")
    assert formatting.markdown_text(ctx.summary()) in contexts(at)
