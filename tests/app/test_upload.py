"""AppTest of the upload and history pages on a fresh store: invalid, valid and diff states,
commit, and rollback through the confirmation dialog."""

from __future__ import annotations

import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from components import data, upload

from reformkpi.auth import Actor
from reformkpi.ingest import isolated
from tests.app.conftest import ANALYST
from tests.conftest import ROOT, shown
from tests.core.ingest.test_ingest import csv_bytes, state

ADMIN = Actor("quan.tri", "admin")

HEAD = ["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"]
BAD = csv_bytes([HEAD, ["Sở Tư pháp", "sipas.overall", "2019", "170"], ["Sở Tu phap x", "sipas.overall", "2019", "80"]], delimiter=";")
GOOD = csv_bytes([HEAD, ["Sở Tư pháp", "sipas.overall", "2019", "77,4"], ["Sở Y tế", "sipas.overall", "2019", "81"]], delimiter=";")
FIXED = csv_bytes([HEAD, ["Sở Tư pháp", "sipas.overall", "2019", "79,0"], ["Sở Y tế", "sipas.overall", "2019", "81"]], delimiter=";")


def texts(at) -> str:
    return " ".join(str(e.value) for e in [*at.error, *at.success, *at.info, *at.warning])


def test_upload_invalid_then_valid_then_commit_then_rollback(page, tmp_store):
    at = page("app_pages/upload.py")
    assert not at.exception and at.title[0].value == "Cập nhật dữ liệu"
    before = state(tmp_store)

    at.file_uploader(key="upload:file").set_value(("sai.csv", BAD, "text/csv"))
    at.run()
    assert not at.exception and "có 2 lỗi: chưa ghi gì" in texts(at)
    problems = at.dataframe[-1].value
    assert problems["Dòng"].tolist() == [2, 3] and problems["Cột"].tolist() == ["Giá trị", "Đơn vị"]
    assert "Sở Tư pháp" in problems["Nội dung"].iloc[1]  # the suggestion
    assert state(tmp_store) == before and not [b for b in at.button if b.key == "upload-commit"]

    at.file_uploader(key="upload:file").set_value(("dung.csv", GOOD, "text/csv"))
    at.run()
    assert "hợp lệ: 2 giá trị" in texts(at)
    assert [m.value for m in at.metric] == ["2", "0", "0", "0"]
    at.button(key="upload-commit").click()
    at.run()
    assert not at.exception and "Đã ghi phiên bản 1: 2 mới" in texts(at)
    assert tmp_store.version() == 1 and tmp_store.history().iloc[0]["user"] == "lan.pham"

    at.file_uploader(key="upload:file").set_value(("sua.csv", FIXED, "text/csv"))
    at.run()
    assert [m.value for m in at.metric] == ["0", "1", "1", "0"]
    changed = at.dataframe[-1].value
    assert changed["Giá trị cũ"].tolist() == ["77,4"] and changed["Giá trị mới"].tolist() == ["79"]
    assert changed["Từ phiên bản"].tolist() == [1]
    at.button(key="upload-commit").click()
    at.run()
    assert tmp_store.version() == 2

    at.switch_page("app_pages/history.py")
    at.run()
    assert not at.exception and at.title[0].value == "Lịch sử phiên bản"
    assert "Chỉ quản trị viên" in " ".join(c.value for c in at.caption)  # an analyst may not roll back
    assert not [b for b in at.button if b.key == "history:rollback"]
    at.session_state["access:actor"] = ADMIN
    at.run()
    at.selectbox(key="history:target").select(1)
    at.text_input(key="history:reason").input("nhập nhầm")
    at.button(key="history:rollback").click()
    at.run()
    assert tmp_store.version() == 2  # nothing until confirmed
    at.button(key="history:confirm").click()
    at.run()
    assert not at.exception and "Đã khôi phục phiên bản 1 thành phiên bản mới 3" in texts(at)
    values = tmp_store.read().to_pandas().set_index("unit_id")["value"]
    assert values["so-tu-phap"] == 77.4
    h = tmp_store.history().iloc[0]
    assert (h["operation"], h["user"], h["reason"]) == ("rollback", "quan.tri", "nhập nhầm")


def test_history_shows_the_rows_a_version_changed(page, tmp_store):
    from reformkpi import ingest
    ingest.commit(tmp_store, ingest.prepare(tmp_store, GOOD, "dung.csv"), ANALYST)
    at = page("app_pages/history.py")
    assert not at.exception
    versions = at.dataframe[0].value
    assert versions["Phiên bản"].tolist() == [1, 0] and versions["Tệp"].iloc[0] == "dung.csv"
    at.selectbox(key="history:pick").select(1)
    at.run()
    changed = at.dataframe[1].value
    assert sorted(changed["Đơn vị"]) == ["Sở Tư pháp", "Sở Y tế"] and set(changed["Loại thay đổi"]) == {"Mới"}


def test_the_papi_dataset_is_chosen_in_the_sidebar_and_kept_in_the_url(tmp_path_factory, monkeypatch, demo_store):
    from reformkpi.ingest import papi
    from reformkpi.store import Store
    store = Store(tmp_path_factory.mktemp("papi-app") / "store")
    papi.build(store, ADMIN)
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    monkeypatch.setenv("REFORMKPI_PAPI_STORE", store.uri)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["data"] = "papi"
    at.session_state["access:actor"] = ANALYST
    at.run()
    assert not at.exception and at.selectbox(key="url-widget:data").value == "papi"
    assert not at.info or all("minh họa" not in str(i.value) for i in at.info)  # real data: no demo label
    at.switch_page("app_pages/upload.py")
    at.run()
    assert not at.exception
    assert [b.key for b in at.get("download_button")][-2:] == ["tpl-papi-xlsx", "tpl-papi-csv"]
    at.selectbox(key="url-widget:data").select("demo")
    at.run()
    assert "data" not in at.query_params


@pytest.mark.parametrize("path", ["app_pages/upload.py", "app_pages/history.py"])
def test_a_viewer_opening_the_page_by_url_is_refused(page, path):
    at = page(path, actor=None)  # the anonymous viewer
    assert not at.exception
    assert at.error[0].value.startswith("Bạn không có quyền mở trang này")
    assert not at.get("file_uploader") and not at.dataframe


def test_a_bomb_uploaded_on_the_page_gets_a_message_from_the_worker(page, tmp_store):
    """The page reads uploads in a capped child process: a 27 KB Parquet file that decodes to 57 GB
    is refused with a message, the page and the store untouched."""
    from tests import bombs

    at = page("app_pages/upload.py")
    before = state(tmp_store)
    at.file_uploader(key="upload:file").set_value(("bom.parquet", bombs.parquet_dictionary(1_900_000, 30_000),
                                                   "application/octet-stream"))
    at.run()
    assert not at.exception
    assert at.dataframe[-1].value["Nội dung"].str.contains("Tệp Parquet giải nén ra").any()
    assert state(tmp_store) == before


def test_a_checked_file_survives_a_reload_for_its_analyst_until_discarded_or_committed(page, tmp_store):
    def seen(at) -> str:
        return shown(texts(at))

    at = page("app_pages/upload.py")
    at.checkbox(key="upload:replace").check()
    at.file_uploader(key="upload:file").set_value(("dung.csv", GOOD, "text/csv"))
    at.run()
    assert [m.value for m in at.metric] == ["2", "0", "0", "0"]

    again = page("app_pages/upload.py")  # F5: a new session, the uploader empty
    assert not again.exception and "Tệp «dung.csv» đã kiểm tra lúc" in seen(again)
    assert [m.value for m in again.metric] == ["2", "0", "0", "0"] and again.checkbox(key="upload:replace").value
    other = page("app_pages/upload.py", Actor("chi", "analyst"))
    assert "dung.csv" not in seen(other) and not other.metric  # another analyst's file is not shown
    again.button(key="upload-discard").click()
    again.run()
    assert "dung.csv" not in seen(again) and not again.metric
    assert "dung.csv" not in seen(page("app_pages/upload.py"))

    at.file_uploader(key="upload:file").set_value(("dung.csv", GOOD, "text/csv"))
    at.run()
    at.button(key="upload-commit").click()
    at.run()
    assert tmp_store.version() == 1 and "dung.csv" not in seen(page("app_pages/upload.py"))  # committed: not kept


def test_a_note_added_meanwhile_does_not_check_the_file_again(monkeypatch, demo_store):
    """The check runs in a child process for up to two minutes: a note written by anyone changes the
    live data reference (its notes' version), not the data the file is checked against."""
    checked: list[str] = []
    monkeypatch.setattr(isolated, "prepare", lambda uri, *args, **kwargs: checked.append(uri) or "checked")
    upload._prepared.clear()
    ref = data.current(demo_store.uri)
    noted = dataclasses.replace(ref, notes_version=(ref.notes_version or 0) + 1)
    assert upload.prepare(ref, b"a,b", "f.csv", "{}", False) == upload.prepare(noted, b"a,b", "f.csv", "{}", False)
    assert checked == [demo_store.uri]
    upload.prepare(dataclasses.replace(ref, version=ref.version + 1), b"a,b", "f.csv", "{}", False)
    assert len(checked) == 2  # another data version is checked anew
