"""Sharing: the link of the view, a snapshot pinned to a data version, the export menu, presentation mode."""

import io
import json

import pandas as pd
from streamlit.testing.v1 import AppTest

from components import charts, data, exporting, links
from reformkpi import exports, snapshots
from reformkpi.metrics.datasets import Dataset
from reformkpi.periods import Period
from reformkpi.auth import Actor
from reformkpi.store import CommitInfo
from tests.conftest import ROOT, obs

VIEW = {"year": "2019", "ind": "sipas.overall"}


def open_app(actor=None, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if actor is not None:
        at.session_state["access:actor"] = actor
    at.query_params.update(query)
    return at.run()


def share_menu_opened(at: AppTest) -> AppTest:
    assert not at.code and not at.get("link_button")  # sent once the menu is opened
    at.session_state[links.SHARE_MENU] = True  # as a click on it leaves it
    return at.run()


def satisfaction_of(at, unit_name: str) -> str:
    table = at.dataframe[0].value
    return table.loc[table["Đơn vị"] == unit_name, "Giá trị"].iloc[0]


def test_a_snapshot_shows_the_old_numbers_after_a_new_upload(tmp_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    rows = [("so-y-te", "sipas.overall", "2019", 77.4), ("so-tu-phap", "sipas.overall", "2019", 85.0)]
    tmp_store.commit_observations(obs(rows), CommitInfo(user="lan"))
    at = share_menu_opened(open_app(Actor("lan.pham", "analyst"), **VIEW))
    assert "ind=sipas.overall" in at.code[0].value and "year=2019" in at.code[0].value
    next(i for i in at.text_input if i.label == "Tên ảnh chụp").input("Giao ban tháng 11")
    next(b for b in at.button if b.label == "Lưu ảnh chụp số liệu").click()
    at.run()
    assert not at.exception and any("phiên bản 1" in s.value for s in at.success)
    snap = snapshots.list_all(tmp_store)[0]
    assert (snap.title, snap.data_version, snap.created_by, snap.page) == ("Giao ban tháng 11", 1, "lan.pham",
                                                                            "tong-quan")
    assert "quarter=" not in at.code[0].value  # an empty filter stays out of the link
    # The snapshot's link is the app's root, which opens its page (AppTest has no host).
    assert at.code[-1].value == f"/?snapshot={snap.snapshot_id}&data=demo"
    assert snap.view_state == {**VIEW, "data": "demo", "lang": "vi", "level": "department", "quarter": ""}

    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 81.0)]), CommitInfo(user="lan"))
    pinned = open_app(snapshot=snap.snapshot_id)
    assert not pinned.exception
    assert any("Giao ban tháng 11" in w.value and "phiên bản 1" in w.value for w in pinned.warning)
    assert satisfaction_of(pinned, "Sở Y tế") == "77,4%"
    data.forget_latest()  # other sessions see a new version within two seconds; this test does not wait
    live = open_app(**VIEW)
    assert satisfaction_of(live, "Sở Y tế") == "81,0%" and not any("Ảnh chụp" in w.value for w in live.warning)


def test_viewers_get_the_link_but_cannot_save_snapshots(app):
    at = share_menu_opened(app(**VIEW))
    assert not at.exception and at.code and "year=2019" in at.code[0].value
    assert not any(b.label == "Lưu ảnh chụp số liệu" for b in at.button)


def test_the_export_menu_offers_every_chart_drawn(app):
    at = app(**VIEW)
    assert not at.get("download_button")  # sent once the menu is opened
    at.session_state["export-menu"] = True  # as a click on it leaves it
    keys = [b.key for b in at.run().get("download_button")]
    assert {"export-pptx", "export-pdf", "export-html"} <= set(keys)
    assert "export-overview_units-png" in keys and "export-overview_trend-xlsx" in keys


def test_presentation_mode_shows_one_chart_at_a_time(app):
    at = app(present="1", **VIEW)
    assert not at.exception
    specs = at.get("plotly_chart")
    assert len(specs) == 1 and json.loads(specs[0].proto.spec)["layout"]["title"]["text"].startswith(
        "Mức độ hài lòng 2019:")
    assert not at.dataframe and not at.metric  # the rest of the page is not shown
    assert at.markdown[-1].value == "**1 / 2**"
    at.button(key="present-next").click()
    at.run()
    title = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"].replace(" <br>", " ")
    assert title == "Mức độ hài lòng: trung bình các đơn vị (Tỉnh Minh Họa)" and at.button(key="present-next").disabled


def test_the_snapshot_list_lets_only_the_author_or_an_admin_change_one(tmp_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 77.4)]), CommitInfo(user="lan"))
    snap = snapshots.create(tmp_store, Actor("lan", "analyst"), "<b>Sơ kết</b> 6 tháng", "xep-hang", {"year": "2019"},
                            1, tmp_store.catalog_versions())
    other = open_app(Actor("ha", "analyst"))
    other.switch_page("app_pages/snapshots.py")
    other.run()
    assert not other.exception and "<b>Sơ kết</b> 6 tháng" in [x.value for x in other.text]  # as text, not HTML
    assert any(c.value.startswith("Trang Xếp hạng · số liệu phiên bản 1") for c in other.caption)
    # The root opens the snapshot's page: a page's own path is not served for the default page.
    assert f"/?snapshot={snap.snapshot_id}&data=demo" in [b.proto.url for b in other.get("link_button")]
    assert not any(b.label == "Đổi tên" for b in other.button)
    author = open_app(Actor("lan", "analyst"))
    author.switch_page("app_pages/snapshots.py")
    author.run()
    author.text_input[-1].input("Sơ kết 6 tháng đầu năm")
    next(b for b in author.button if b.label == "Đổi tên").click()
    author.run()
    assert snapshots.get(tmp_store, snap.snapshot_id).title == "Sơ kết 6 tháng đầu năm"
    next(b for b in author.button if b.label == "Xóa").click()
    author.run()
    assert snapshots.list_all(tmp_store) == [] and not author.exception


def _sipas_snapshot(store, page="hai-long"):
    rows = [("so-y-te", "sipas.overall", "2019", 77.4), ("so-tu-phap", "sipas.overall", "2019", 85.0),
            ("so-y-te", "sipas.overall", "2018", 70.0), ("so-tu-phap", "sipas.overall", "2018", 81.0)]
    store.commit_observations(obs(rows), CommitInfo(user="lan"))
    snap = snapshots.create(store, Actor("lan", "analyst"), "Hài lòng 2019", page,
                            {"year": "2019", "level": "department", "lang": "vi", "data": "demo"}, 1,
                            store.catalog_versions())
    store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 90.0)]), CommitInfo(user="lan"))
    return snap


def test_a_snapshot_link_to_the_root_opens_its_own_page_and_survives_a_language_switch(tmp_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    snap = _sipas_snapshot(tmp_store)
    at = open_app(snapshot=snap.snapshot_id)
    assert not at.exception and at.title[0].value.startswith("Mức độ hài lòng")
    assert any("Hài lòng 2019" in w.value for w in at.warning)
    at.selectbox(key="url-widget:lang").select("en").run()
    assert not at.exception and at.title[0].value == "Citizen and business satisfaction"
    assert any("Hài lòng 2019" in w.value for w in at.warning)  # still pinned, in English
    assert at.query_params["snapshot"] == snap.snapshot_id
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "✗ 77.4%" in spec["data"][0]["text"]  # short of its 80% target


def test_another_filter_leaves_the_snapshot_with_a_notice_and_a_link_back(tmp_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    snap = _sipas_snapshot(tmp_store)
    at = open_app(snapshot=snap.snapshot_id)
    at.selectbox(key="url-widget:year").select("2018").run()
    assert not at.exception and "snapshot" not in at.query_params
    assert not any("Hài lòng 2019" in w.value and "phiên bản 1" in w.value for w in at.warning)
    assert any("rời ảnh chụp" in i.value and "Hài lòng 2019" in i.value for i in at.info)
    back = next(b for b in at.get("link_button") if b.proto.label == "Quay lại ảnh chụp")
    assert f"snapshot={snap.snapshot_id}" in back.proto.url
    at.selectbox(key="url-widget:year").select("2019").run()  # live now: the new upload shows
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "✓ 90,0%" in spec["data"][0]["text"] and not at.exception


def test_an_unknown_or_deleted_snapshot_says_so_and_shows_no_figures(tmp_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    snap = _sipas_snapshot(tmp_store)
    snapshots.delete(tmp_store, Actor("lan", "analyst"), snap.snapshot_id)
    for snapshot_id in (snap.snapshot_id, "**khong-co**"):
        at = open_app(snapshot=snapshot_id)
        assert not at.exception and not at.get("plotly_chart") and not at.dataframe
        assert any("Không tìm thấy ảnh chụp" in e.value and "đã bị xóa" in e.value for e in at.error)
    assert r"\*\*khong\-co\*\*" in at.error[0].value  # escaped: shown as typed, not bold


def test_the_satisfaction_unit_chart_leaves_as_the_frame_the_core_computed(app, demo_store):
    at = app(year="2019")
    at.switch_page("app_pages/satisfaction.py").run()
    drawn = at.session_state[charts.SHOWN]
    assert not at.exception and {"sat_units", "sat_factors", "sat_distribution", "sat_heatmap", "sat_below"} <= set(drawn)
    assert at.session_state[charts.SCOPE] == charts.Scope(Period(2019), "department")  # "every level": peers ranked
    report = exporting.report(drawn, at.session_state[charts.SCOPE], Dataset.open(demo_store), "Giao ban",
                              "Tỉnh minh họa", None, "vi")
    units = report.charts[[k for k, d in drawn.items() if d.figure is not None].index("sat_units")].exhibit
    head, _, body = exports.exhibit_csv(units).decode("utf-8-sig").partition("\n\n")
    table = pd.read_csv(io.StringIO(body))
    assert table.loc[table["Đơn vị"] == "Sở Tài nguyên và Môi trường", "Mức độ hài lòng (%)"].iloc[0] == 77.4
    assert f"Phiên bản dữ liệu,{demo_store.version()}" in head and "Kỳ,2019" in head
    assert [t.title for t in report.tables] == [next(s.value for s in at.subheader if "chưa đạt" in s.value)]


def _exported(at: AppTest, store) -> exports.Report:
    """The report the page's export menu would make of this run."""
    return exporting.report(at.session_state[charts.SHOWN], at.session_state[charts.SCOPE], Dataset.open(store),
                            "Trang", "Tỉnh minh họa", None, "vi")


def test_an_export_is_of_the_period_and_level_the_page_shows_not_of_other_pages_choices(app, demo_store):
    """A quarter chosen on Dossiers stays chosen in the session, but Rankings shows years; "every
    level" there ranks departments. Its export says so, as the page does: 2019, the departments."""
    at = app(year="2019", quarter="Q3", level="all")
    at.switch_page("app_pages/dossiers.py").run()
    assert at.session_state[charts.SCOPE] == charts.Scope(Period(2019, 3), None)
    at.switch_page("app_pages/rankings.py").run()
    assert not at.exception and at.session_state[charts.SCOPE] == charts.Scope(Period(2019), "department")
    league = next(t for t in _exported(at, demo_store).tables)
    header = dict(league.header_lines())
    assert header["Kỳ"] == "2019"
    caption = next(c.value for c in at.caption if "đơn vị có số liệu" in c.value)  # the departments of 2019
    assert header["Độ bao phủ"] in caption
    assert exporting.file_name("xep-hang", at.session_state[charts.SCOPE], 3, "pptx") == "CCHC-xep-hang-2019-v3.pptx"


def test_a_merged_units_export_covers_what_its_page_captions_cover(app, demo_store):
    """The Unit page captions a merged unit's history over the unit and its lineage; its exports
    say the same coverage, not the province's."""
    at = app(unit="so-nong-nghiep-moi-truong", year="2025")
    at.switch_page("app_pages/unit.py").run()
    assert not at.exception
    caption = next(c.value for c in at.caption if "đơn vị có số liệu" in c.value)
    history = _exported(at, demo_store).charts[0].exhibit
    assert dict(history.header_lines())["Độ bao phủ"] == "1/1 đơn vị có số liệu" and "1/1 đơn vị có số liệu" in caption
