"""A tab signed in before its account was removed or demoted, before a sign-out in another tab, or
before its session ran out, can neither upload, roll back nor open History at its next click: the
run asks the server again (components/access.py), and the write would be refused by the core anyway
(auth.require, tests/core/test_sessions.py)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from reformkpi import ingest, sessions
from reformkpi.auth import Accounts, operator
from tests.app.test_access import PASSWORD, submit
from tests.app.test_upload import GOOD, texts
from tests.conftest import ROOT, shown

NAME = "eve.analyst"
ENDED = "Phiên đăng nhập của bạn đã kết thúc"
DEMOTED = "Vai trò của tài khoản bạn đã đổi: nay là người xem."
FORBIDDEN = "Bạn không có quyền mở trang này"


@pytest.fixture
def store(tmp_store, tmp_path, monkeypatch):
    """The store with two versions to roll back between, and Eve, who may do everything."""
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    monkeypatch.setenv("REFORMKPI_ACCOUNTS", str(tmp_path / "accounts.json"))
    monkeypatch.setenv("REFORMKPI_ACCESS", str(tmp_path / "access.toml"))  # absent: the defaults
    Accounts(tmp_path / "accounts.json").add(NAME, "admin", PASSWORD)
    for value in (b"77,4", b"79,0"):
        ingest.commit(tmp_store, ingest.prepare(tmp_store, GOOD.replace(b"77,4", value), "f.csv"), operator("quan.tri"))
    return tmp_store


def signed_in_tab(page: str) -> AppTest:
    at = submit(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run(), NAME, PASSWORD)
    assert any(NAME in shown(c.value) for c in at.caption)
    at.switch_page(page)
    return at.run()


def end(change: str, at: AppTest, monkeypatch) -> None:
    """What happens elsewhere while the tab stays open."""
    accounts, sid = Accounts(), at.session_state["access:actor"].session
    match change:
        case "removed":  # `user remove eve.analyst`
            accounts.remove(NAME)
        case "demoted":  # `user set-role eve.analyst --role viewer`
            accounts.set_role(NAME, "viewer")
        case "signed out elsewhere":  # another tab of the same browser, signed in by the cookie
            other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
            other.session_state["access:actor"] = sessions.actor(sid)
            other.run().button(key="access-sign-out").click()
            assert not any(NAME in shown(c.value) for c in other.run().caption)
        case "expired":  # session_hours later
            later = time.time() + sessions.max_age() + 1
            monkeypatch.setattr(sessions, "time", type("Clock", (), {"time": staticmethod(lambda: later)}))


def refused(at: AppTest, change: str) -> None:
    assert not at.exception
    said = texts(at)
    assert (DEMOTED if change == "demoted" else ENDED) in said and FORBIDDEN in said
    signed_in = [c.value for c in at.caption if NAME in shown(c.value)]
    assert (signed_in and "người xem" in signed_in[0]) if change == "demoted" else not signed_in


CHANGES = ["removed", "demoted", "signed out elsewhere", "expired"]


@pytest.mark.parametrize("change", CHANGES)
def test_no_upload_at_the_next_click(store, monkeypatch, change):
    at = signed_in_tab("app_pages/upload.py")
    at.file_uploader(key="upload:file").set_value(("dung.csv", GOOD, "text/csv"))
    at.run()
    before = store.version()
    end(change, at, monkeypatch)
    at.button(key="upload-commit").click()
    at.run()
    refused(at, change)
    assert store.version() == before and not [b for b in at.button if b.key == "upload-commit"]


@pytest.mark.parametrize("change", CHANGES)
def test_no_rollback_at_the_next_click(store, monkeypatch, change):
    at = signed_in_tab("app_pages/history.py")
    at.selectbox(key="history:target").select(1)
    at.text_input(key="history:reason").input("nhập nhầm")
    at.button(key="history:rollback").click()
    at.run()
    before = store.version()
    end(change, at, monkeypatch)
    at.button(key="history:confirm").click()
    at.run()
    refused(at, change)
    assert store.version() == before


@pytest.mark.parametrize("change", CHANGES)
def test_history_does_not_open_at_the_next_click(store, monkeypatch, change):
    at = signed_in_tab("app_pages/overview.py")
    end(change, at, monkeypatch)
    at.switch_page("app_pages/history.py")
    at.run()
    refused(at, change)
    assert not at.dataframe and not at.title and not [w for w in at.selectbox if w.key.startswith("history")]


def test_a_tab_whose_account_is_promoted_takes_the_new_role_with_a_word(store):
    Accounts().set_role(NAME, "analyst")
    at = signed_in_tab("app_pages/history.py")
    assert "Chỉ quản trị viên" in " ".join(c.value for c in at.caption)  # an analyst may not roll back
    Accounts().set_role(NAME, "admin")
    at.run()
    assert not at.exception and "nay là quản trị" in texts(at)
    assert [b for b in at.button if b.key == "history:rollback"]
