"""A local sign-in that survives a reload: one-time hand-over, signed cookie, server-side session."""

import time

import pytest

from reformkpi import auth, sessions
from reformkpi.auth import Accounts, Actor, PermissionDenied

FORM = "token-the-sign-in-form-was-issued-with"


@pytest.fixture
def accounts(tmp_path, monkeypatch):
    monkeypatch.setenv("REFORMKPI_SESSIONS", str(tmp_path / "sessions.json"))
    monkeypatch.setenv("REFORMKPI_ACCOUNTS", str(tmp_path / "accounts.json"))
    monkeypatch.delenv("REFORMKPI_SESSION_SECRET", raising=False)
    acc = Accounts(tmp_path / "accounts.json")
    acc.add("lan.pham", "analyst", "mat-khau-dai-du")
    return acc


def test_a_code_gives_one_signed_cookie_that_signs_the_account_in_until_sign_out(accounts, tmp_path):
    sid, code = sessions.open_session(Actor("lan.pham", "analyst"), FORM)
    cookie = sessions.cookie_for(code, FORM)
    assert cookie and sid not in code and sessions.cookie_for(code, FORM) is None  # the code works once
    assert sessions.session_id(cookie) == sid
    assert sessions.actor(sid, accounts) == Actor("lan.pham", "analyst", "local", sid)
    accounts.set_role("lan.pham", "admin")
    assert sessions.actor(sid, accounts).role == "admin"  # the account's role now, not at sign-in
    assert oct((tmp_path / "sessions.json").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "sessions.secret").stat().st_mode & 0o777) == "0o600"
    sessions.close(sid)
    assert sessions.actor(sessions.session_id(cookie), accounts) is None


def test_tampered_stale_or_orphaned_cookies_sign_nobody_in(accounts, monkeypatch):
    sid, code = sessions.open_session(Actor("lan.pham", "analyst"), FORM)
    cookie = sessions.cookie_for(code, FORM)
    assert sessions.session_id(cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]) is None
    assert sessions.session_id("lan.pham") is None and sessions.session_id(None) is None
    _, late = sessions.open_session(Actor("lan.pham", "analyst"), FORM)
    assert sessions.cookie_for(late, FORM, now=time.time() + sessions.CODE_SECONDS + 1) is None
    monkeypatch.setenv("REFORMKPI_SESSION_SECRET", "another-server-secret")
    assert sessions.session_id(cookie) is None  # signed with another secret
    monkeypatch.delenv("REFORMKPI_SESSION_SECRET")
    old_sid, _ = sessions.open_session(Actor("lan.pham", "analyst"), FORM, now=time.time() - sessions.max_age() - 1)
    assert sessions.actor(old_sid, accounts) is None and sessions.actor(sid, accounts) is not None
    accounts.remove("lan.pham")
    assert sessions.actor(sid, accounts) is None  # the account is gone


def test_a_code_is_redeemed_only_with_the_token_of_the_form_it_came_from(accounts):
    """Login CSRF: a code alone (an attacker's own, replayed from a victim's browser) gives no cookie;
    a wrong or empty token spends the code."""
    for wrong in ("", "another-form", FORM[:-1]):
        _, code = sessions.open_session(Actor("lan.pham", "analyst"), FORM)
        assert sessions.cookie_for(code, wrong) is None
        assert sessions.cookie_for(code, FORM) is None  # spent by the wrong try
    _, code = sessions.open_session(Actor("lan.pham", "analyst"), FORM)
    assert sessions.cookie_for(code, FORM) is not None


@pytest.mark.parametrize(("origin", "site", "scheme", "host", "own"), [
    ("http://127.0.0.1:8501", "same-origin", "http", "127.0.0.1:8501", True),
    ("http://127.0.0.1:8501", None, "http", "127.0.0.1:8501", True),  # a browser without Sec-Fetch-Site
    (None, "same-origin", "http", "127.0.0.1:8501", True),
    ("https://cchc.example.gov.vn", "same-origin", "https", "cchc.example.gov.vn", True),  # behind the proxy
    ("https://cchc.example.gov.vn:443", None, "https", "cchc.example.gov.vn", True),
    ("https://CCHC.example.gov.vn", None, "https", "cchc.example.gov.vn", True),
    ("http://127.0.0.1:8666", "same-site", "http", "127.0.0.1:8501", False),  # another port: the attack
    ("http://127.0.0.1:8666", None, "http", "127.0.0.1:8501", False),
    ("http://127.0.0.1:8501", "same-site", "http", "127.0.0.1:8501", False),  # the browser's word wins
    ("http://127.0.0.1:8501", "cross-site", "http", "127.0.0.1:8501", False),
    ("https://evil.example", "cross-site", "https", "cchc.example.gov.vn", False),
    ("http://cchc.example.gov.vn", None, "https", "cchc.example.gov.vn", False),  # plain http is another origin
    ("null", None, "http", "127.0.0.1:8501", False),  # a sandboxed frame or a file
    ("http://127.0.0.1:notaport", None, "http", "127.0.0.1:8501", False),
    ("http://127.0.0.1:8501", None, "http", None, False),
    (None, None, "http", "127.0.0.1:8501", False),  # says nothing: not a browser on our page
    (None, "none", "http", "127.0.0.1:8501", False),  # typed in the address bar
])
def test_only_the_apps_own_page_may_use_the_session_route(origin, site, scheme, host, own):
    assert sessions.from_own_page(origin, site, scheme, host) is own


@pytest.mark.parametrize("change", ["removed", "demoted", "promoted", "signed out", "expired"])
def test_require_asks_the_accounts_and_sessions_files_at_every_write(accounts, monkeypatch, change):
    """A local actor a page kept is refused at the write once its sign-in is over, whatever the page
    remembered: the core reads the account and the session again (an operator's actor is not asked)."""
    sid, _ = sessions.open_session(Actor("lan.pham", "analyst"), FORM)
    kept = sessions.actor(sid)
    assert auth.require(kept, "upload") is kept and sid not in repr(kept)  # the id stays out of logs
    match change:
        case "removed":
            accounts.remove("lan.pham")
        case "demoted":
            accounts.set_role("lan.pham", "viewer")
        case "promoted":  # a stale actor is stale either way: the page reloads it with the new role
            accounts.set_role("lan.pham", "admin")
        case "signed out":
            sessions.close(sid)
        case "expired":
            later = time.time() + sessions.max_age() + 1
            monkeypatch.setattr(sessions, "time", type("Clock", (), {"time": staticmethod(lambda: later)}))
    with pytest.raises(PermissionDenied) as e:
        auth.require(kept, "upload")
    assert e.value.ended
    assert auth.require(Actor("lan.pham", "analyst"), "upload").via == "cli"


def test_a_local_actor_without_an_open_session_of_its_own_is_refused(accounts):
    sid, _ = sessions.open_session(Actor("lan.pham", "analyst"), FORM)
    other, _ = sessions.open_session(Actor("ha.tran", "analyst"), FORM)
    for forged in (Actor("lan.pham", "analyst", "local"), Actor("lan.pham", "analyst", "local", "made-up"),
                   Actor("lan.pham", "analyst", "local", other)):  # another account's session
        with pytest.raises(PermissionDenied):
            auth.require(forged, "upload")
    assert auth.require(Actor("lan.pham", "analyst", "local", sid), "upload").session == sid


def test_a_session_ends_when_session_hours_are_over(accounts, monkeypatch):
    monkeypatch.setenv("REFORMKPI_SESSION_HOURS", str(1.5 / 3600))
    sid, _ = sessions.open_session(Actor("lan.pham", "analyst"), FORM)
    kept = sessions.actor(sid)
    assert auth.require(kept, "upload") is kept
    time.sleep(1.6)
    assert sessions.actor(sid) is None
    with pytest.raises(PermissionDenied):
        auth.require(kept, "upload")


def _first_secret(barrier, results, i):
    barrier.wait()
    try:
        results[i] = sessions.secret().decode()
    except OSError as e:
        results[i] = f"error: {e!r}"


def test_servers_starting_at_once_share_one_whole_secret(accounts, tmp_path):
    """Two app servers share the state folder; at the first sign-in each may make the secret at the
    same moment: one wins, and none reads a half-written (empty) one or fails."""
    import multiprocessing

    for attempt in range(5):
        (tmp_path / "sessions.secret").unlink(missing_ok=True)
        ctx = multiprocessing.get_context("fork")
        barrier, results = ctx.Barrier(8), ctx.Manager().dict()
        procs = [ctx.Process(target=_first_secret, args=(barrier, results, i)) for i in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        made = set(results.values())
        assert len(results) == 8 and made == {(tmp_path / "sessions.secret").read_text().strip()}, (attempt, made)
        assert len(made.pop()) == 64
