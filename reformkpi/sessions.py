"""A local sign-in that survives a reload: a signed, http-only cookie naming a server-side session.

Why this and not Streamlit's identity cookie: `st.user` is filled only by an OIDC provider's
callback, and a province without one signs in with local accounts. The app's server (serve.py)
sets our own cookie instead:

1. the sign-in form checks the password (auth.Accounts.sign_in), opens a session and gets a
   one-time code for it, valid for a minute (kept with the sessions, so any app server can redeem it);
2. the page posts the code to /api/session (never in a URL), which answers with the cookie:
   HttpOnly, SameSite=Strict, signed with the server's secret and holding a random session id;
3. every run reads the cookie (st.context.cookies), checks its signature and age, and that its
   session is still open in `<data>/sessions.json` and its account still exists;
4. signing out closes the session on the server (so a copied cookie is dead everywhere) and
   clears the cookie.

The cookie holds no password and no role: the role is the account's current one.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from reformkpi.auth import Accounts, Actor, write_private
from reformkpi import config

COOKIE = "reformkpi_session"
CODE_SECONDS = 60
_CODE = "code:"  # one-time codes share the file with the sessions, under this prefix


def hours() -> float:
    """How long a sign-in lasts (the `session_hours` setting, default 8: a working day)."""
    return config.settings().session_hours


def _path() -> Path:
    return config.settings().sessions


def _secret() -> bytes:
    """The `session_secret` setting, else a random secret kept beside the sessions (mode 600), made once."""
    if configured := config.settings().session_secret:
        return configured.encode()
    path = _path().with_suffix(".secret")
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def _signer() -> TimestampSigner:
    return TimestampSigner(_secret(), salt="reformkpi.session")


@contextmanager
def _open_sessions(write: bool):
    path = _path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with os.fdopen(os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        yield data
        if write:
            now = time.time()
            data = {k: v for k, v in data.items() if v["expires"] > now}  # closed ones are forgotten
            write_private(path, json.dumps(data, indent=1))


def open_session(actor: Actor, now: float | None = None) -> tuple[str, str]:
    """Open a server-side session for a signed-in local account: (session id, one-time hand-over code)."""
    now = time.time() if now is None else now
    sid, code = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with _open_sessions(write=True) as data:
        data[sid] = {"name": actor.name, "expires": now + hours() * 3600}
        data[_CODE + code] = {"session": sid, "expires": now + CODE_SECONDS}
    return sid, code


def cookie_for(code: str, now: float | None = None) -> str | None:
    """The signed cookie value for a hand-over code, once; None for an unknown, used or stale code."""
    now = time.time() if now is None else now
    with _open_sessions(write=True) as data:
        handed = data.pop(_CODE + code, None)
    return _signer().sign(handed["session"]).decode() if handed and handed["expires"] >= now else None


def session_id(cookie: str | None) -> str | None:
    """The session a cookie names, if its signature holds and it is not older than a sign-in lasts."""
    if not cookie:
        return None
    try:
        return _signer().unsign(cookie, max_age=max_age()).decode()
    except (BadSignature, SignatureExpired):
        return None


def actor(sid: str | None, accounts: Accounts | None = None) -> Actor | None:
    """The account a session signs in, or None: unknown, closed, expired, or the account is gone."""
    if not sid:
        return None
    with _open_sessions(write=False) as data:
        session = data.get(sid)
    if session is None or session["expires"] < time.time():
        return None
    role = (accounts or Accounts()).names().get(session["name"])
    return None if role is None else Actor(session["name"], role, "local")


def close(sid: str | None) -> None:
    """Sign out: the session is closed on the server, whatever becomes of the cookie."""
    if not sid:
        return
    with _open_sessions(write=True) as data:
        data.pop(sid, None)


def max_age() -> int:
    return int(hours() * 3600)
