"""The server: Streamlit's ASGI app running app.py, plus the route that turns a local sign-in into
an http-only cookie (see reformkpi/sessions.py). `make run` and the browser tests start this file
with `streamlit run serve.py`, which finds `app` below and serves it. Its settings come from the file
`REFORMKPI_SETTINGS` names and the environment (reformkpi/settings.py)."""

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reformkpi import config, sessions, settings

try:  # the settings are read once, at start: a bad file or variable stops the server with its reason
    config.install(settings.load())
except settings.SettingsError as e:
    raise SystemExit(str(e)) from None

SESSION_PATH = "/api/session"


async def session(request: Request) -> Response:
    """POST a one-time code (the body) to receive the cookie; DELETE to sign out."""
    if request.method == "DELETE":
        sessions.close(sessions.session_id(request.cookies.get(sessions.COOKIE)))
        response = Response(status_code=204)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response
    value = sessions.cookie_for((await request.body()).decode("ascii", errors="ignore").strip())
    if value is None:
        return Response(status_code=403)
    response = Response(status_code=204)
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    response.set_cookie(sessions.COOKIE, value, max_age=sessions.max_age(), path="/", httponly=True,
                        samesite="strict", secure=secure)
    return response


app = st.App("app.py", routes=[Route(SESSION_PATH, session, methods=["POST", "DELETE"])])
