"""The Dossier records page in AppTest: the drill-down of a unit and quarter carries the core's numbers."""

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

from reformkpi.records import metrics as rm
from tests.conftest import DEMO_LAST_QUARTER, plotly_array


def open_records(app, **query):
    at = app(**query)
    return at.switch_page("app_pages/records.py").run()


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.fixture(scope="module")
def rec(demo_store):
    return rm.Records.open(demo_store)


def test_drilldown_shows_the_core_figures(app, rec):
    unit = "so-xay-dung"
    at = open_records(app, unit=unit)
    assert not at.exception
    assert at.title[0].value == "Hồ sơ chi tiết: giải quyết thủ tục hành chính"
    s = rm.summary(rec, unit, DEMO_LAST_QUARTER)
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Tiếp nhận mới"] == f"{int(s['received']):,}".replace(",", ".")
    rate = (Decimal(100) * int(s["late"]) / int(s["resolved"])).quantize(Decimal("0.1"), ROUND_HALF_UP)  # half up
    assert tiles["Tỷ lệ trễ hạn"] == f"{rate}%".replace(".", ",")
    figs = charts(at)
    assert len(figs) == 6
    late = rm.late_procedures(rec, unit, DEMO_LAST_QUARTER)
    bars = figs[0]["data"][0]
    assert plotly_array(bars["x"])[::-1] == late["late"].tolist()
    times = rm.processing_times(rec, unit, DEMO_LAST_QUARTER)
    assert plotly_array(figs[1]["data"][0]["x"])[::-1] == pytest.approx(times["median_days"].tolist())
    # The counts are those of the store: the demo synced them from the records.
    assert not at.warning and any("khớp với số liệu trong kho" in c.value for c in at.caption)


def test_another_quarter_and_english(app, rec):
    at = open_records(app, rq="2025-Q1", unit="tp-trung-tam", lang="en")
    assert not at.exception
    assert at.title[0].value == "Dossier records: processing of administrative procedures"
    assert at.subheader[0].value == "Trung Tam City People's Committee · Q1 2025"
    ageing = rm.backlog_ageing(rec, "tp-trung-tam", "2025-Q1")
    fig = charts(at)[3]
    assert plotly_array(fig["data"][0]["y"]) == ageing["not_due"].tolist()


def test_the_dossiers_page_links_to_the_records(app):
    at = app()
    at.switch_page("app_pages/dossiers.py").run()
    assert not at.exception
    links = [link for link in at.get("page_link") if "hồ sơ chi tiết" in link.proto.label]
    assert len(links) == 1 and links[0].proto.page.endswith("ho-so-chi-tiet")


def test_a_merged_unit_counts_what_it_holds_at_the_quarters_end_as_the_store_does(app, demo):
    """Sở NN&MT, 2025-Q1: its drill-down counts the dossiers of its two predecessors too (they merged
    into it on 01/03/2025), so its tiles are the stored counts; the predecessors are not offered."""
    at = open_records(app, rq="2025-Q1", unit="so-nong-nghiep-moi-truong")
    assert not at.exception
    assert any("gồm cả hồ sơ của Sở Nông nghiệp và Phát triển nông thôn, Sở Tài nguyên và Môi trường" in i.value
               for i in at.info)
    stored = demo.sql("SELECT indicator_id, value FROM obs WHERE unit_id = 'so-nong-nghiep-moi-truong' "
                      "AND period = '2025-Q1'").set_index("indicator_id")["value"]
    received = sum(stored[f"dossier.received_{c}"] for c in ("online", "in_person", "post"))
    resolved = sum(stored[f"dossier.resolved_{c}"] for c in ("early", "on_time", "late"))
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Tiếp nhận mới"] == f"{int(received):,}".replace(",", ".")
    assert tiles["Tỷ lệ trễ hạn"] == f"{100 * stored['dossier.resolved_late'] / resolved:.1f}%".replace(".", ",")
    assert not at.warning and any("khớp với số liệu trong kho" in c.value for c in at.caption)
    trend = charts(at)[-1]["data"][0]
    assert plotly_array(trend["x"]) == ["Quý III/2024 (tiền thân, cộng gộp)", "Quý IV/2024 (tiền thân, cộng gộp)",
                                        "Quý I/2025"]
    assert any("trước khi đơn vị được thành lập" in c.value for c in at.caption)
    units = next(b for b in at.sidebar.selectbox if b.label == "Đơn vị").options
    assert "Sở Nông nghiệp và Môi trường" in units and "Sở Tài nguyên và Môi trường" not in units


def test_the_comparison_table_is_sent_once_opened_with_the_core_counts(app, rec, demo):
    unit = "so-xay-dung"
    at = open_records(app, unit=unit)
    box = [e for e in at.expander if e.label == "Đối chiếu với số liệu trong kho"]
    assert len(box) == 1 and not box[0].dataframe  # the counts agree: closed, and its grid not sent
    at.session_state["records-compare-False"] = True  # as a click on it leaves it
    table = [e for e in at.run().expander if e.label == "Đối chiếu với số liệu trong kho"][0].dataframe[0].value
    held = rm.Held.of(demo.catalog, unit, DEMO_LAST_QUARTER)
    compared = rm.compare_with_stored(rec, rm.stored_counts(demo, unit, DEMO_LAST_QUARTER), held, DEMO_LAST_QUARTER)
    assert len(compared) and compared["equal"].all()
    assert table["Tính từ hồ sơ"].tolist() == [f"{int(v):,}".replace(",", ".") for v in compared["from_records"]]
    assert table["Trong kho"].tolist() == table["Tính từ hồ sơ"].tolist()


@pytest.mark.parametrize(("asked", "shown"), [("so-tu-phap", "so-tu-phap"),
                                              ("so-tai-nguyen-moi-truong", "so-nong-nghiep-moi-truong")])
def test_the_unit_asked_for_stays_in_the_url_so_that_a_reload_shows_it_again(app, asked, shown):
    """A unit asked for by a link (or its holder, once merged) is written back to the URL; the page's
    default unit is the busiest, whatever was asked."""
    at = open_records(app, unit=asked, rq="2025-Q1")
    assert not at.exception
    box = [s for s in at.selectbox if s.key == "url-widget:unit"][0]
    assert box.value == shown and at.query_params.get("unit") == shown
    reloaded = open_records(app, **dict(at.query_params))
    assert [s for s in reloaded.selectbox if s.key == "url-widget:unit"][0].value == shown
