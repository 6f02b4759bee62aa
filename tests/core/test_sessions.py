"""A local sign-in that survives a reload: one-time hand-over, signed cookie, server-side session."""

import time

import pytest

from reformkpi import sessions
from reformkpi.auth import Accounts, Actor


@pytest.fixture
def accounts(tmp_path, monkeypatch):
    monkeypatch.setenv("REFORMKPI_SESSIONS", str(tmp_path / "sessions.json"))
    monkeypatch.delenv("REFORMKPI_SESSION_SECRET", raising=False)
    acc = Accounts(tmp_path / "accounts.json")
    acc.add("lan.pham", "analyst", "mat-khau-dai-du")
    return acc


def test_a_code_gives_one_signed_cookie_that_signs_the_account_in_until_sign_out(accounts, tmp_path):
    sid, code = sessions.open_session(Actor("lan.pham", "analyst"))
    cookie = sessions.cookie_for(code)
    assert cookie and sid not in code and sessions.cookie_for(code) is None  # the code works once
    assert sessions.session_id(cookie) == sid
    assert sessions.actor(sid, accounts) == Actor("lan.pham", "analyst", "local")
    accounts.set_role("lan.pham", "admin")
    assert sessions.actor(sid, accounts).role == "admin"  # the account's role now, not at sign-in
    assert oct((tmp_path / "sessions.json").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "sessions.secret").stat().st_mode & 0o777) == "0o600"
    sessions.close(sid)
    assert sessions.actor(sessions.session_id(cookie), accounts) is None


def test_tampered_stale_or_orphaned_cookies_sign_nobody_in(accounts, monkeypatch):
    sid, code = sessions.open_session(Actor("lan.pham", "analyst"))
    cookie = sessions.cookie_for(code)
    assert sessions.session_id(cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]) is None
    assert sessions.session_id("lan.pham") is None and sessions.session_id(None) is None
    _, late = sessions.open_session(Actor("lan.pham", "analyst"))
    assert sessions.cookie_for(late, now=time.time() + sessions.CODE_SECONDS + 1) is None
    monkeypatch.setenv("REFORMKPI_SESSION_SECRET", "another-server-secret")
    assert sessions.session_id(cookie) is None  # signed with another secret
    monkeypatch.delenv("REFORMKPI_SESSION_SECRET")
    old_sid, _ = sessions.open_session(Actor("lan.pham", "analyst"), now=time.time() - sessions.max_age() - 1)
    assert sessions.actor(old_sid, accounts) is None and sessions.actor(sid, accounts) is not None
    accounts.remove("lan.pham")
    assert sessions.actor(sid, accounts) is None  # the account is gone
