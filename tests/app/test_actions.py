"""AppTest of every action point the core can refuse: the refusal is shown translated, nothing is
written, and the page never shows an exception (components/actions.py)."""

from __future__ import annotations

import pytest

from reformkpi import snapshots
from reformkpi.auth import Actor
from reformkpi.store import CommitInfo, Store, StoreError
from tests.app.conftest import ANALYST
from tests.app.test_share import open_app
from tests.app.test_upload import GOOD, texts
from tests.conftest import obs

ADMIN = Actor("quan.tri", "admin")


def refusing(reason: str):
    """A store method that gives up as the store does after its retries, or for a lost version."""
    def refuse(*args, **kwargs):
        raise StoreError(reason)
    return refuse


def test_renaming_a_snapshot_to_an_empty_title_says_a_title_is_needed(tmp_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 77.4)]), CommitInfo(user="lan"))
    snap = snapshots.create(tmp_store, ANALYST, "Sơ kết", "xep-hang", {"year": "2019"}, 1, tmp_store.catalog_versions())
    at = open_app(ANALYST)
    at.switch_page("app_pages/snapshots.py")
    at.run()
    at.text_input[-1].input("   ")
    next(b for b in at.button if b.label == "Đổi tên").click()
    at.run()
    assert not at.exception and "Cần đặt tên cho ảnh chụp" in texts(at)
    assert snapshots.get(tmp_store, snap.snapshot_id).title == "Sơ kết"


def test_a_commit_the_store_refuses_is_reported_and_writes_nothing(page, tmp_store, monkeypatch):
    at = page("app_pages/upload.py")
    at.file_uploader(key="upload:file").set_value(("dung.csv", GOOD, "text/csv"))
    at.run()
    before = tmp_store.version()
    monkeypatch.setattr(Store, "commit_observations", refusing("gave up after 8 conflicting commits"))
    at.button(key="upload-commit").click()
    at.run()
    assert not at.exception and "Chưa ghi được vào kho dữ liệu" in texts(at)
    assert tmp_store.version() == before


def two_versions(page) -> None:
    """Two uploads through the page (77,4 then 79,0): a version to roll back to."""
    for value in ("77,4", "79,0"):
        at = page("app_pages/upload.py")
        at.file_uploader(key="upload:file").set_value(("f.csv", GOOD.replace(b"77,4", value.encode()), "text/csv"))
        at.run()
        at.button(key="upload-commit").click()
        at.run()


@pytest.mark.slow
def test_a_rollback_the_store_refuses_is_reported_in_the_dialog(page, tmp_store, monkeypatch):
    two_versions(page)
    before = tmp_store.version()
    at = page("app_pages/history.py", ADMIN)
    at.selectbox(key="history:target").select(1)
    at.text_input(key="history:reason").input("nhập nhầm")
    at.button(key="history:rollback").click()
    at.run()
    monkeypatch.setattr(Store, "restore", refusing("no version 1"))
    at.button(key="history:confirm").click()
    at.run()
    assert not at.exception and "Chưa ghi được vào kho dữ liệu" in texts(at)
    assert tmp_store.version() == before


def test_a_profile_name_that_folds_to_nothing_is_refused_in_words(page, tmp_store):
    at = page("app_pages/upload.py")
    at.file_uploader(key="upload:file").set_value(("dung.csv", GOOD, "text/csv"))
    at.run()
    next(w for w in at.text_input if w.label == "Tên mẫu").input("!!! ---")
    next(b for b in at.button if b.label == "Lưu ánh xạ thành mẫu").click()
    at.run()
    assert not at.exception and "Mẫu nhập cần có tên gồm chữ hoặc số." in texts(at)
