"""The server: Streamlit's ASGI app running app.py, plus the route that turns a local sign-in into
an http-only cookie (see reformkpi/sessions.py). `make run` and the browser tests start this file
with `streamlit run serve.py`, which finds `app` below and serves it. Its settings come from the file
`REFORMKPI_SETTINGS` names and the environment (reformkpi/settings.py)."""

import html
from urllib.parse import urlencode

import streamlit as st
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from reformkpi import config, sessions, settings
from reformkpi.i18n import LANGUAGES, t
from reformkpi.notify import run as notifier
from reformkpi.store import Store

try:  # the settings are read once, at start: a bad file or variable stops the server with its reason
    config.install(settings.load())
except settings.SettingsError as e:
    raise SystemExit(str(e)) from None

SESSION_PATH = "/api/session"


async def session(request: Request) -> Response:
    """POST a one-time code (the body) with its form's token (a header) to receive the cookie; DELETE
    to sign out. Only from the app's own page, and nothing over a few KB is read (reformkpi/sessions.py)."""
    if not sessions.from_own_page(request.headers.get("origin"), request.headers.get("sec-fetch-site"),
                                  _scheme(request), request.headers.get("host")):
        return _refused(403)
    if request.method == "DELETE":
        sessions.close(sessions.session_id(request.cookies.get(sessions.COOKIE)))
        response = Response(status_code=204)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response
    form = request.headers.get(sessions.FORM_HEADER)
    if not form:
        return _refused(403)
    body = await _capped_body(request, sessions.BODY_MAX)
    if body is None:
        return _refused(413)
    value = sessions.cookie_for(body.decode("ascii", errors="ignore").strip(), form)
    if value is None:
        return _refused(403)
    response = Response(status_code=204)
    response.set_cookie(sessions.COOKIE, value, max_age=sessions.max_age(), path="/", httponly=True,
                        samesite="strict", secure=_scheme(request) == "https")
    return response


def _refused(status: int) -> Response:
    """A refusal that also closes the connection: the server reads no more of a body it did not want
    (kept open, it would read a 1 GB body to its end to reuse the connection)."""
    return Response(status_code=status, headers={"Connection": "close"})


def _scheme(request: Request) -> str:
    """How the browser reached the app: the proxy's X-Forwarded-Proto (deploy/nginx.conf sets it), else the connection's."""
    return request.headers.get("x-forwarded-proto") or request.url.scheme


async def _capped_body(request: Request, cap: int) -> bytes | None:
    """The body, or None once it is over `cap` bytes: a declared length over the cap is refused
    before anything is read, and a streamed body is dropped at the chunk that passes it."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > cap):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            return None
    return bytes(body)


async def unsubscribe(request: Request) -> Response:
    """A message's one-click unsubscribe link (reformkpi/notify/run.py): a mail client POSTs to it
    (RFC 8058) and the subscription is paused; a person who opens it gets a button that POSTs, so a
    link scanner's GET changes nothing."""
    token = request.query_params.get("token", "")
    if request.method == "GET":
        action = html.escape(f"{notifier.UNSUBSCRIBE_PATH}?{urlencode({'token': token})}")
        button = " / ".join(html.escape(t("notify.unsubscribe_button", lang)) for lang in LANGUAGES)
        return _page(f'<form method="post" action="{action}"><button>{button}</button></form>')
    if await _capped_body(request, sessions.BODY_MAX) is None:
        return _refused(413)
    if not notifier.unsubscribe(Store(config.store_uri()), token):
        return _refused(404)
    return _page("".join(f"<p>{html.escape(text)}</p>" for text in [t("notify.unsubscribed", lang) for lang in LANGUAGES]))


def _page(body: str) -> HTMLResponse:
    return HTMLResponse(f'<!DOCTYPE html><html lang="vi"><meta charset="utf-8"><title>CCHC</title>{body}</html>')


app = st.App("app.py", routes=[Route(SESSION_PATH, session, methods=["POST", "DELETE"]),
                               Route(notifier.UNSUBSCRIBE_PATH, unsubscribe, methods=["GET", "POST"])])
