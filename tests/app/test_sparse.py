"""Sparse but valid data never breaks a page, overwrites are confirmed on the page, History is
translated and its form starts afresh after a rollback, and the unit page works on PAPI."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from components.navigation import PAGES
from reformkpi import config, ingest
from reformkpi.auth import Actor
from reformkpi.i18n import texts
from reformkpi.ingest import papi, templates
from reformkpi.store import Store
from tests.app.conftest import ANALYST
from tests.conftest import ROOT, shown
from tests.core.ingest.test_ingest import csv_bytes

ADMIN = Actor("quan.tri", "admin")
UNIT, QUARTER = "so-tu-phap", "2026-Q3"


@pytest.fixture
def demo_copy(demo_store, tmp_path, monkeypatch) -> Store:
    """A copy of the demo store, written to by the test, served to the app."""
    store = Store(shutil.copytree(demo_store.uri, tmp_path / "store"))
    monkeypatch.setenv("REFORMKPI_STORE", store.uri)
    return store


def dossier_report_without_source(store: Store) -> bytes:
    """The quarterly dossier template for one unit, filled with its stored counts and two of them
    corrected (one late dossier more, one pending fewer): no source column, as departments send it."""
    stored = store.read().to_pandas().query("unit_id == @UNIT and period == @QUARTER").set_index("indicator_id")["value"]
    fix = {"dossier.resolved_late": 1, "dossier.pending_not_due": -1}
    form = templates.frame("dossier", ingest.catalog_of(store), QUARTER)
    form = form[form["Đơn vị (unit)"] == "Sở Tư pháp"].copy()
    for col in form.columns[2:]:
        iid = col[col.rindex("(") + 1:-1]
        form[col] = int(stored[iid]) + fix.get(iid, 0)
    assert "source" not in " ".join(form.columns)
    return form.to_csv(index=False).encode()


def opened(path: str, actor: Actor | None = ANALYST, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    if actor is not None:
        at.session_state["access:actor"] = actor
    at.run()
    at.query_params.update(query)
    at.switch_page(path)
    return at.run()


def broken(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]


@pytest.mark.slow
def test_a_dossier_upload_without_a_source_column_leaves_every_page_working(demo_copy):
    at = opened("app_pages/upload.py")
    at.file_uploader(key="upload:file").set_value(("bao-cao-quy.csv", dossier_report_without_source(demo_copy),
                                                   "text/csv"))
    at.run()
    assert not broken(at)
    # One of the two corrected counts was synced from the records, the other came with the demo's source.
    warning = " ".join(w.value for w in at.warning)
    assert "Tệp sẽ thay hoặc xóa 2 giá trị không do tệp này nhập: 1 đồng bộ từ hồ sơ chi tiết, 1 từ nguồn khác" in warning
    flagged = next(d.value for d in at.dataframe if "Loại nguồn" in d.value.columns)
    assert sorted(flagged["Loại nguồn"]) == ["nguồn khác", "đồng bộ từ hồ sơ"]
    assert flagged["Nguồn hiện tại"].str.startswith("hồ sơ chi tiết từ hệ thống một cửa").sum() == 1
    before = demo_copy.version()
    assert at.button(key="upload-commit").disabled  # not until the analyst confirms
    confirm = next(c for c in at.checkbox if c.key.startswith("upload:replace-synced:"))
    assert confirm.label.startswith("Tôi xác nhận thay 2 giá trị này")
    confirm.check()
    at.run()
    at.button(key="upload-commit").click()
    at.run()
    assert not broken(at) and demo_copy.version() == before + 1
    row = demo_copy.read().to_pandas().query("unit_id == @UNIT and period == @QUARTER").set_index("indicator_id")
    assert row["source"].isna().sum() == 2  # stored as a typed null, not as text

    ran = 0
    for lang in ("vi", "en"):
        for spec in PAGES:
            for query in ({"year": "2026"}, {"year": "2026", "quarter": "Q3", "unit": UNIT})[lang == "en":]:
                page = opened(spec.script, lang=lang, **query)
                assert not broken(page), (spec.script, lang, query, broken(page))
                ran += 1
                if spec.script == "app_pages/dossiers.py" and "quarter" in query:
                    # Where the figures come from says what is missing, in the reader's language.
                    hovers = json.dumps([json.loads(c.proto.spec) for c in page.get("plotly_chart")], ensure_ascii=False)
                    assert ("không ghi nguồn" if lang == "vi" else "source not recorded") in hovers
    assert ran == 3 * len(PAGES)


def test_history_is_translated_with_counts_and_its_form_starts_afresh_after_a_rollback(demo_copy):
    at = opened("app_pages/history.py", actor=ADMIN)
    versions = at.dataframe[0].value
    operations = set(versions["Thao tác"])
    assert "records-sync" not in operations and "Đồng bộ từ hồ sơ chi tiết" in operations
    assert operations <= set(texts("vi").values())  # every operation in words
    assert not versions["Tệp"].str.fullmatch(r"records v\d+").any()
    target = demo_copy.version() - 1
    at.selectbox(key="history:target").select(target)
    at.text_input(key="history:reason").input("số liệu đồng bộ sai")
    at.button(key="history:rollback").click()
    at.run()
    at.button(key="history:confirm").click()
    at.run()
    assert not broken(at) and demo_copy.version() == target + 2
    assert at.text_input(key="history:reason").value == ""
    assert at.selectbox(key="history:target").value != target or len(at.selectbox(key="history:target").options) == 1
    rolled = at.dataframe[0].value.iloc[0]
    changes = demo_copy.changes(target + 2)["change"].value_counts()
    assert rolled["Thao tác"] == "Khôi phục"
    # The rollback's row carries its counts, those of the rows it changed.
    assert (rolled["Mới"], rolled["Thay đổi"], rolled["Xóa"]) == tuple(
        str(changes.get(c, 0)) for c in ("new", "changed", "deleted"))
    assert changes.sum() > 0


def test_a_store_of_one_minimal_long_file_shows_what_it_has_and_says_what_is_missing(tmp_store, monkeypatch):
    """Unit, indicator, period and value only (no source, note or maximum): one unit's late and
    on-time dossiers for one quarter. Every page opens on them; the unit page says which of its
    sections have no figures, and the context names the source as not recorded."""
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    up = ingest.prepare(tmp_store, csv_bytes([["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"],
                                              ["Sở Tư pháp", "dossier.resolved_late", "2025-Q2", "3"],
                                              ["Sở Tư pháp", "dossier.resolved_on_time", "2025-Q2", "27"]],
                                             delimiter=";"), "toi-thieu.csv")
    assert ingest.commit(tmp_store, up, ANALYST).rows_new == 2
    for spec in PAGES:
        at = opened(spec.script, year="2025", quarter="Q2", unit=UNIT)
        assert not broken(at), (spec.script, broken(at))
        if spec.script == "app_pages/unit.py":
            missing = " ".join(i.value for i in at.info)
            assert "Không có số liệu Chỉ số CCHC của đơn vị năm 2025" in missing
            assert "Không có số liệu Mức độ hài lòng của đơn vị năm 2025" in missing
            assert any("Nguồn: không ghi nguồn · 1/1 đơn vị có số liệu" in shown(c.value) for c in at.caption)


@pytest.fixture(scope="module")
def papi_store(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("papi-unit") / "store")
    papi.build(store, ADMIN)
    return store


@pytest.mark.parametrize("unit, year", [("ha-noi", "2024"), ("lang-son", "2018"), ("ha-giang", "2011")])
def test_the_unit_page_shows_a_province_on_papi(papi_store, demo_store, monkeypatch, unit, year):
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    monkeypatch.setenv("REFORMKPI_PAPI_STORE", papi_store.uri)
    at = opened("app_pages/unit.py", actor=None, data="papi", unit=unit, year=year)
    assert not broken(at) and not at.info, [i.value for i in at.info]
    # Ranked among the provinces with a published total that year: the published rank, worked out
    # from the PAPI table itself (not from the store).
    table = pd.read_csv(config.PAPI_DIR / papi.TABLE)
    rows = table[(table["year"] == int(year)) & table["total_papi"].notna()]
    own = rows[rows["province_vi"] == at.header[0].value.replace("\\", "")]
    assert len(own) == 1
    tiles = {m.label: m for m in at.metric}
    dims = [c for c in ("D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8") if pd.notna(own[c].iloc[0])]
    assert len(tiles) == 1 + len(dims) and "Tổng PAPI" in tiles
    ranked = [c.value for c in at.caption if c.value.startswith("Hạng ")]
    assert ranked[0].startswith(f"Hạng {int(own['rank_year'].iloc[0])}/{len(rows)} ")
    history = next(c for c in at.get("plotly_chart") if c.key == "unit_history")
    assert history is not None and any(s.value.startswith("Hạng và xếp loại") for s in at.subheader)
    assert not any("hồ sơ" in s.value.lower() for s in at.subheader)  # no dossier section on PAPI
