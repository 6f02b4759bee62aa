"""The server: Streamlit's ASGI app running app.py, plus the route that turns a local sign-in into
an http-only cookie (see reformkpi/sessions.py). `make run` and the browser tests start this file
with `streamlit run serve.py`, which finds `app` below and serves it. Its settings come from the file
`REFORMKPI_SETTINGS` names and the environment (reformkpi/config.py)."""

import html
from urllib.parse import parse_qs, urlencode

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reformkpi import config, sessions, subscriptions
from reformkpi.i18n import DEFAULT, LANGUAGES, t
from reformkpi.notify import run as notifier

try:  # the settings are read once, at start: a bad file or variable stops the server with its reason
    config.install(config.load())
except config.SettingsError as e:
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


def page_language(query: bytes) -> str:
    """The language a page's URL asks for (?lang=en), else the default one."""
    asked = parse_qs(query.decode("latin-1")).get("lang", [""])[0]
    return asked if asked in LANGUAGES else DEFAULT


class PageLanguage:
    """Streamlit serves its page as <html lang="en"> whatever the language (streamlit/streamlit#15726),
    and a screen reader then reads Vietnamese with English rules: the page is served in the language
    its URL asks for. A switch made on the page, or a snapshot's language, is set on the page itself
    (components/shell.py). Only a page navigation (Accept: text/html) is touched, and it is asked
    uncompressed so that its text can be read (the page is about 2 KB)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        if scope["type"] != "http" or scope["method"] != "GET" or b"text/html" not in headers.get(b"accept", b""):
            await self.app(scope, receive, send)
            return
        lang = page_language(scope.get("query_string", b""))
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]}
        start: dict = {}
        body = bytearray()

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = dict(message.get("headers") or [])
                if not kept.get(b"content-type", b"").startswith(b"text/html"):
                    start["pass"] = True
                    await send(message)
                    return
                start.update(message)
                return
            if start.get("pass") or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            page = bytes(body).replace(b'<html lang="en">', f'<html lang="{lang}">'.encode(), 1)
            await send({**start, "headers": [(k, str(len(page)).encode() if k == b"content-length" else v)
                                             for k, v in start.get("headers", [])]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, rewrite)


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
    if not notifier.unsubscribe(subscriptions.home(), token):
        return _refused(404)
    return _page("".join(f"<p>{html.escape(text)}</p>" for text in [t("notify.unsubscribed", lang) for lang in LANGUAGES]))


def _page(body: str) -> HTMLResponse:
    return HTMLResponse(f'<!DOCTYPE html><html lang="vi"><meta charset="utf-8"><title>CCHC</title>{body}</html>')


app = st.App("app.py", routes=[Route(SESSION_PATH, session, methods=["POST", "DELETE"]),
                               Route(notifier.UNSUBSCRIBE_PATH, unsubscribe, methods=["GET", "POST"])],
             middleware=[Middleware(PageLanguage)])
