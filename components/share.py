"""Sharing what one sees: the link of the current view, and snapshots pinned to a data version."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from components import data
from reformkpi import auth, formatting, snapshots
from reformkpi.i18n import t
from reformkpi.store import Store

SNAPSHOT_PARAM = "snapshot"


def link(params: dict | None = None) -> str:
    """The URL of the current view: page, filters and language, without a pinned snapshot."""
    params = {k: v for k, v in (params if params is not None else st.query_params.to_dict()).items()
              if k != SNAPSHOT_PARAM}
    return st.context.url + ("?" + urlencode(params) if params else "")


def pinned_snapshot(uri: str) -> snapshots.Snapshot | None:
    """The snapshot named in the URL, if any; its view state is applied once per session."""
    snap_id = st.query_params.get(SNAPSHOT_PARAM)
    if not snap_id:
        return None
    snap = snapshots.get(Store(uri), snap_id)
    if snap is not None and st.session_state.get("share:applied") != snap_id:
        for key, value in snap.view_state.items():
            st.session_state[f"url:{key}"] = value
            st.session_state.pop(f"url-widget:{key}", None)
        st.session_state["share:applied"] = snap_id
    return snap


def banner(snap: snapshots.Snapshot, lang: str) -> None:
    st.warning(t("share.pinned", lang, title=snap.title, version=snap.data_version, author=snap.created_by,
                 time=formatting.timestamp(snap.created_at, lang)), icon=":material/push_pin:")
    if snap.note:
        st.caption(snap.note)
    st.link_button(t("share.open_live", lang), link(snap.view_state), icon=":material/update:")


def share_menu(ref: data.DataRef, page: str, actor: auth.Actor, lang: str) -> None:
    """Copy the link; analysts and admins also save the view as a snapshot."""
    with st.popover(t("share.button", lang), icon=":material/share:"):
        st.caption(t("share.link", lang))
        st.code(link(), language=None, wrap_lines=True)
        if not actor.can("snapshot"):
            return
        with st.form("share-snapshot", clear_on_submit=True):
            title = st.text_input(t("share.title", lang), max_chars=snapshots.MAX_TITLE)
            note = st.text_area(t("share.note", lang), max_chars=snapshots.MAX_NOTE)
            if st.form_submit_button(t("share.save", lang)):
                try:
                    snap = snapshots.create(Store(ref.uri), actor, title, page, st.query_params.to_dict(),
                                            ref.version, ref.catalog_versions, note)
                except ValueError:
                    st.error(t("share.title_needed", lang))
                else:
                    st.success(t("share.saved", lang, version=snap.data_version))
                    st.code(link() + ("&" if st.query_params else "?") + urlencode({SNAPSHOT_PARAM: snap.snapshot_id}),
                            language=None, wrap_lines=True)
