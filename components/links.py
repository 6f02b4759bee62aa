"""Links to a view: the live view's link (page, filters, language), a snapshot's link, and the share
menu that hands them out (and saves the view, at the versions it shows, as a snapshot)."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from components import actions, data, navigation, url_state
from reformkpi import auth, config, snapshots
from reformkpi.i18n import t

# The URL parameters that are no filter of the view: the snapshot a link opens, presentation mode.
SNAPSHOT_PARAM = "snapshot"
PRESENT_PARAM = "present"
SHARE_MENU = "share-menu"  # the share menu's key: True while it is open


def _view_value(value) -> bool:
    return value is not None and value != ""


def link(params: dict | None = None) -> str:
    """The URL of the current view: page, filters and language, without a pinned snapshot."""
    params = {k: v for k, v in (params if params is not None else view_state()).items()
              if k != SNAPSHOT_PARAM and _view_value(v)}
    return navigation.page_url(navigation.current()) + ("?" + urlencode(params) if params else "")


def snapshot_link(snap: snapshots.Snapshot) -> str:
    """A snapshot's link: its id and dataset; the snapshot itself holds the rest of the view. At the
    app's root, which opens the snapshot's page (navigation.pages), from whichever page it is made."""
    params = {SNAPSHOT_PARAM: snap.snapshot_id, "data": snap.view_state.get("data", config.DATASETS[0])}
    return navigation.page_url(navigation.PAGES[0].url_path) + "?" + urlencode(params)


def view_state() -> dict:
    return {k: v for k, v in {**st.query_params.to_dict(), **url_state.current()}.items()
            if k not in (SNAPSHOT_PARAM, PRESENT_PARAM)}


def share_menu(ref: data.DataRef, records: data.RecordsRef | None, actor: auth.Actor, lang: str) -> None:
    """Copy the link; analysts and admins also save the view (at the versions it shows) as a snapshot."""
    # Its contents are sent once it is opened (which reruns): closed, the link, the button and the form
    # went with every view unseen, the form's inputs with scripts of their own.
    with st.popover(t("share.button", lang), icon=":material/share:", key=SHARE_MENU, on_change="rerun") as menu:
        if not menu.open:
            return
        st.caption(t("share.link", lang))
        st.code(link(), language=None, wrap_lines=True)
        st.link_button(t("share.present", lang), link({**view_state(), PRESENT_PARAM: "1"}),
                       icon=":material/slideshow:")
        if not actor.can("snapshot"):
            return
        with st.form("share-snapshot", clear_on_submit=True):
            title = st.text_input(t("share.title", lang), max_chars=snapshots.MAX_TITLE)
            note = st.text_area(t("share.note", lang), max_chars=snapshots.MAX_NOTE)
            if st.form_submit_button(t("share.save", lang)):
                with actions.reported(lang):
                    snap = snapshots.create(data.store(ref), actor, title, navigation.current(), view_state(),
                                            ref.version, ref.catalog_versions, note,
                                            records_version=None if records is None else records.version)
                    st.success(t("share.saved", lang, version=snap.data_version))
                    st.code(snapshot_link(snap), language=None, wrap_lines=True)
