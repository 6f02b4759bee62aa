"""Sign-in in the sidebar and page guards. The core (reformkpi.auth) decides; this only asks.

With `[auth]` configured in secrets.toml the province's single sign-on is used (st.login) and
roles come from access.toml; otherwise local accounts (`python -m reformkpi user add ...`), whose
sign-in survives a reload through the server's http-only cookie (reformkpi/sessions.py, serve.py).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace

import streamlit as st

from reformkpi import auth, formatting, sessions
from reformkpi.i18n import t, tm

_ACTOR, _BROWSER, _FORM, _NOTICE = "access:actor", "access:browser", "access:form", "access:notice"
SESSION_ROUTE = "/api/session"  # serve.py
SIGN_IN_BOX = "access-sign-in-box"  # the sidebar's sign-in box's key: True while it is open


def _sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def current_actor() -> auth.Actor | None:
    """Who is using this session: the signed-in person, the anonymous viewer, or None (must sign in)."""
    if st.user.get("is_logged_in"):
        return auth.actor_from_identity(st.user.to_dict(), auth.settings())
    if _ACTOR in st.session_state:
        kept = st.session_state[_ACTOR]
        if kept.via != "local":
            return kept
        # Every run asks the server again: removal, a role change, a sign-out in another tab and the
        # session's end count at this tab's next click, with a word about it (shown by sign_in_box).
        live = sessions.actor(kept.session)
        if live == kept:
            return kept
        if live is None:
            del st.session_state[_ACTOR]
            st.session_state[_NOTICE] = ("access.ended", {})
        else:
            st.session_state[_ACTOR] = live
            st.session_state[_NOTICE] = ("access.role_changed", {"role": live.role})
            return live
    sid = sessions.session_id(st.context.cookies.get(sessions.COOKIE))
    if (remembered := sessions.actor(sid)) is not None:  # a reload, or a new tab of a signed-in browser
        st.session_state[_ACTOR] = remembered
        return remembered
    return auth.ANONYMOUS if auth.settings().anonymous_view else None


def _tell_browser() -> None:
    """Hand the browser its cookie after a sign-in, or have it drop it after a sign-out: a request to
    the server's session route from the page itself (the code travels in a POST body, never a URL)."""
    message = st.session_state.pop(_BROWSER, None)
    if message is None:
        return
    request: dict[str, object] = {"method": "DELETE", "credentials": "same-origin"}
    if message:  # the code, and the token the form was issued with (serve.py refuses a code without it)
        code, form = message
        request |= {"method": "POST", "body": code, "headers": {sessions.FORM_HEADER: form}}
    st.html(f"<script>fetch({json.dumps(SESSION_ROUTE)}, {json.dumps(request)})</script>", unsafe_allow_javascript=True)


def _sign_out(actor: auth.Actor) -> None:
    if actor.via == "oidc":
        st.logout()
    sessions.close(actor.session)
    st.session_state.pop(_ACTOR, None)
    st.session_state[_BROWSER] = ""


def sign_in_box(lang: str) -> auth.Actor | None:
    """The sidebar's account area; returns the current actor. Stops the app while an older
    installation's accounts wait to be moved."""
    if not _sso_configured():
        try:
            auth.accounts_path()
        except auth.AccountsMoved as e:
            st.error(tm("access.accounts_moved", lang, old=str(e.old), new=str(e.new)), icon=":material/error:")
            st.stop()
    actor = current_actor()
    if notice := st.session_state.pop(_NOTICE, None):
        key, fields = notice
        st.warning(tm(key, lang, **{k: t(f"role.{v}", lang) for k, v in fields.items()}), icon=":material/logout:")
    with st.sidebar:
        _tell_browser()
        if actor is not None and actor.via != "anonymous":
            st.caption(tm("access.signed_in", lang, name=actor.name, role=t(f"role.{actor.role}", lang)))
            if st.button(t("access.sign_out", lang), key="access-sign-out"):
                _sign_out(actor)
                st.rerun()
        elif _sso_configured():
            if st.button(t("access.sign_in", lang), key="access-sso", type="primary"):
                st.login()
        else:
            # The token this form is issued with: the hand-over code is redeemed only with it.
            form = st.session_state.setdefault(_FORM, secrets.token_urlsafe(24))
            # The form is sent once the box is opened (which reruns): closed, its inputs' scripts went with every view.
            with st.expander(t("access.sign_in", lang), icon=":material/login:", key=SIGN_IN_BOX,
                             on_change="rerun") as box:
                if box.open:
                    _sign_in_form(form, lang)
    return actor


def _sign_in_form(form: str, lang: str) -> None:
    """Name and password; `form` is the token the form was issued with."""
    with st.form("access-sign-in"):
        name = st.text_input(t("access.name", lang), key="access-name")
        password = st.text_input(t("access.password", lang), type="password", key="access-password")
        if st.form_submit_button(t("access.sign_in", lang)):
            try:
                signed_in = auth.Accounts().sign_in(name.strip(), password, client=_client())
                sid, code = sessions.open_session(signed_in, form)
                st.session_state[_ACTOR] = replace(signed_in, session=sid)
                st.session_state[_BROWSER] = (code, st.session_state.pop(_FORM))
                st.rerun()
            except auth.AuthError as e:
                # One message for unknown names and wrong passwords: no account probing.
                st.error(t("access.throttled", lang, until=formatting.timestamp(e.until, lang))
                         if e.code == "throttled" and e.until else t(f"access.{e.code}", lang))


def act_as(state, actor: auth.Actor) -> None:
    """Sign `actor` in for a session's state: headless rendering for the command line's operator."""
    state[_ACTOR] = actor


def _client() -> str:
    """The browser's address for sign-in throttling (behind the proxy, the one it appended; Streamlit
    gives None for a connection from this machine, which the proxy's is)."""
    ip = st.context.ip_address
    return auth.client_key(ip if isinstance(ip, str) else None, st.context.headers.get("X-Forwarded-For"))


def guard(actor: auth.Actor | None, permission: str, lang: str) -> auth.Actor:
    """Stop the page with a refusal unless the actor holds the permission."""
    if actor is None or not actor.can(permission):
        st.error(t("access.forbidden", lang), icon=":material/lock:")
        st.stop()
    return actor
