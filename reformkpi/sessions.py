"""A local sign-in that survives a reload: a signed, http-only cookie naming a server-side session.

Why this and not Streamlit's identity cookie: `st.user` is filled only by an OIDC provider's
callback, and a province without one signs in with local accounts. The app's server (serve.py)
sets our own cookie instead:

1. the sign-in form checks the password (auth.Accounts.sign_in), opens a session and gets a
   one-time code for it, valid for a minute (kept with the sessions, so any app server can redeem it),
   bound to the form's token (a random value the tab's session issued with the form);
2. the page posts the code to /api/session (never in a URL) with the form's token in a header of
   its own (FORM_HEADER: a page of another origin cannot send one without the server's leave, which
   it never gives); the route refuses a request not from the app's own page (`from_own_page`), a
   body over BODY_MAX, or a code whose form token differs, and answers with the cookie: HttpOnly,
   SameSite=Strict, signed with the server's secret and holding a random session id;
3. every run reads the cookie (st.context.cookies), checks its signature and age, and that its
   session is still open in `<data>/sessions.json` and its account still exists; a tab's run and
   every write (auth.require) ask again, so a removed account, a role change, a sign-out in another
   tab and an expired session count at the tab's next click;
4. signing out closes the session on the server (so a copied cookie is dead everywhere) and
   clears the cookie.

The cookie holds no password and no role: the role is the account's current one.
"""

from __future__ import annotations

import fcntl
import hmac
import json
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from reformkpi.auth import Accounts, Actor, write_private
from reformkpi import config

COOKIE = "reformkpi_session"
CODE_SECONDS = 60
FORM_HEADER = "X-Reformkpi-Form"
BODY_MAX = 4096  # bytes a request to the session route may send: a code is 32
_PORTS = {"http": 80, "https": 443}
_CODE = "code:"  # one-time codes share the file with the sessions, under this prefix


def hours() -> float:
    """How long a sign-in lasts (the `session_hours` setting, default 8: a working day)."""
    return config.settings().session_hours


def _path() -> Path:
    return config.settings().sessions


def secret() -> bytes:
    """The `session_secret` setting, else a random secret kept beside the sessions (mode 600), made once."""
    if configured := config.settings().session_secret:
        return configured.encode()
    path = _path().with_suffix(".secret")
    if not path.exists():
        # Written whole under another name, then linked into place: app servers sharing the state
        # folder that make it at once keep the first one, and none reads it half-written (empty).
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


def _signer() -> TimestampSigner:
    return TimestampSigner(secret(), salt="reformkpi.session")


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


def open_session(actor: Actor, form: str, now: float | None = None) -> tuple[str, str]:
    """Open a server-side session for a signed-in local account: (session id, one-time hand-over
    code). The code is redeemed only with `form`, the token the sign-in form was issued with."""
    now = time.time() if now is None else now
    sid, code = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with _open_sessions(write=True) as data:
        data[sid] = {"name": actor.name, "expires": now + hours() * 3600}
        data[_CODE + code] = {"session": sid, "form": form, "expires": now + CODE_SECONDS}
    return sid, code


def cookie_for(code: str, form: str, now: float | None = None) -> str | None:
    """The signed cookie value for a hand-over code and its form's token, once; None for an unknown,
    used or stale code or another token (the code is spent either way)."""
    now = time.time() if now is None else now
    with _open_sessions(write=True) as data:
        handed = data.pop(_CODE + code, None)
    if not handed or not form or handed["expires"] < now or not hmac.compare_digest(handed.get("form", "").encode(), form.encode()):
        return None
    return _signer().sign(handed["session"]).decode()


def from_own_page(origin: str | None, fetch_site: str | None, scheme: str, host: str | None) -> bool:
    """Whether a request to the session route comes from the app's own page: its Origin is this
    server's (scheme, host and port, as the browser reached it: `host` is the Host header, `scheme`
    the proxy's X-Forwarded-Proto or the connection's) and, when the browser says (Sec-Fetch-Site),
    same-origin. A page on another port of the same host is another origin. A request saying
    neither is refused: every browser the app supports sends Origin with a POST or DELETE."""
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    if origin is None:
        return fetch_site == "same-origin"
    try:
        theirs = urlsplit(origin)
        ours = urlsplit(f"{scheme}://{host}")
        return bool(host) and (theirs.scheme, theirs.hostname, theirs.port or _PORTS.get(theirs.scheme)) == (
            ours.scheme, ours.hostname, ours.port or _PORTS.get(ours.scheme))
    except ValueError:  # a malformed Origin or Host (a port that is not a number)
        return False


def session_id(cookie: str | None) -> str | None:
    """The session a cookie names, if its signature holds and it is not older than a sign-in lasts."""
    if not cookie:
        return None
    try:
        return _signer().unsign(cookie, max_age=max_age()).decode()
    except (BadSignature, SignatureExpired):
        return None


def actor(sid: str | None, accounts: Accounts | None = None) -> Actor | None:
    """The account a session signs in, as it is now (its current role, `session` = sid), or None:
    unknown, closed, expired, or the account is gone."""
    if not sid:
        return None
    with _open_sessions(write=False) as data:
        session = data.get(sid)
    if session is None or session["expires"] < time.time():
        return None
    role = (accounts or Accounts()).names().get(session["name"])
    return None if role is None else Actor(session["name"], role, "local", sid)


def close(sid: str | None) -> None:
    """Sign out: the session is closed on the server, whatever becomes of the cookie."""
    if not sid:
        return
    with _open_sessions(write=True) as data:
        data.pop(sid, None)


def max_age() -> int:
    return int(hours() * 3600)
