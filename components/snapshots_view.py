"""Snapshots in the app: the one a URL names, applied once and pinned to its versions
(`pin_from_url`, `pinned`), its banner, the notice once a filter leaves it for the live view, and
the snapshots page's list. Saving one is in the share menu (links.share_menu)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components import actions, data, navigation, url_state
from components.links import SNAPSHOT_PARAM, link, snapshot_link
from reformkpi import auth, formatting, snapshots
from reformkpi.i18n import t, tm

KEPT_ON_SNAPSHOT = ("lang",)  # switching language keeps the snapshot: the same numbers, other words
_PIN, _APPLIED, _LEFT = "share:pin", "share:applied", "share:left"


@dataclass(frozen=True)
class Pin:
    """The snapshot a URL names: `snap` is None when there is no such snapshot (never saved, or deleted)."""

    snapshot_id: str
    snap: snapshots.Snapshot | None


def _changed(snap: snapshots.Snapshot) -> bool:
    return any(url_state.chosen(k) != v for k, v in snap.view_state.items() if k not in KEPT_ON_SNAPSHOT)


def pin_from_url() -> Pin | None:
    """The snapshot named in the URL. Called first in app.py, before any filter exists: the
    snapshot's view state is applied once per session; a filter changed since then (not the
    language) leaves the snapshot for the live view, and the page says so with a link back."""
    snap_id = st.query_params.get(SNAPSHOT_PARAM)
    pin = None
    if snap_id:
        dataset = st.query_params.get("data") or url_state.chosen("data")
        pin = Pin(snap_id, snapshots.get(data.store(data.uri_of(dataset)), snap_id))
        snap = pin.snap
        if snap is not None and st.session_state.get(_APPLIED) != snap_id:
            url_state.choose(snap.view_state)
            st.session_state[_APPLIED] = snap_id
            st.session_state.pop(_LEFT, None)
        elif snap is not None and _changed(snap):
            st.session_state[_LEFT] = snap
            st.session_state.pop(_APPLIED, None)
            del st.query_params[SNAPSHOT_PARAM]
            pin = None
    st.session_state[_PIN] = pin
    return pin


def pinned() -> Pin | None:
    """What pin_from_url found for this run."""
    return st.session_state.get(_PIN)


def unknown(pin: Pin, lang: str) -> None:
    """An unknown or deleted snapshot: say so, and offer the live view instead of showing it in silence."""
    st.error(t("share.unknown", lang, id=formatting.markdown_text(pin.snapshot_id)), icon=":material/link_off:")
    st.link_button(t("share.open_live", lang), link(), icon=":material/update:")


def banner(snap: snapshots.Snapshot, lang: str) -> None:
    st.warning(t("share.pinned", lang, title=formatting.markdown_text(snap.title), version=snap.data_version,
                 author=formatting.markdown_text(snap.created_by), time=formatting.timestamp(snap.created_at, lang)),
               icon=":material/push_pin:")
    if snap.note:
        st.text(snap.note)
    st.link_button(t("share.open_live", lang), link(snap.view_state), icon=":material/update:")


def left_notice(page: str, lang: str) -> None:
    """After a filter other than the language changed on a snapshot: this is the live view now."""
    snap = st.session_state.get(_LEFT)
    if snap is None or snap.page != page:
        return
    st.info(t("share.left", lang, title=formatting.markdown_text(snap.title), version=snap.data_version),
            icon=":material/update:")
    st.link_button(t("share.back_to_snapshot", lang), snapshot_link(snap),
                   icon=":material/push_pin:")


def snapshot_list(ref: data.DataRef, actor: auth.Actor | None, lang: str) -> None:
    """Every snapshot of the dataset with its link; its author or an administrator may rename or delete it."""
    store = data.store(ref)
    saved = snapshots.list_all(store)
    if not saved:
        st.info(t("snapshots.none", lang))
        return
    for snap in saved:
        with st.container(border=True):
            st.text(snap.title)
            st.caption(tm("snapshots.meta", lang, version=snap.data_version, author=snap.created_by,
                         time=formatting.timestamp(snap.created_at, lang), page=navigation.title(snap.page, lang)))
            if snap.note:
                st.text(snap.note)
            st.link_button(t("snapshots.open", lang), snapshot_link(snap), icon=":material/open_in_new:")
            if actor is None or not snapshots.may_change(actor, snap):
                continue
            with st.form(f"snapshot-{snap.snapshot_id}"):
                title = st.text_input(t("share.title", lang), value=snap.title, max_chars=snapshots.MAX_TITLE)
                rename, delete = st.columns(2)
                if rename.form_submit_button(t("snapshots.rename", lang)):
                    with actions.reported(lang):
                        snapshots.rename(store, actor, snap.snapshot_id, title)
                        st.rerun()
                if delete.form_submit_button(t("snapshots.delete", lang)):
                    with actions.reported(lang):
                        snapshots.delete(store, actor, snap.snapshot_id)
                        st.rerun()
