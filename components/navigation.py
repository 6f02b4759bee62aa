"""The pages of the app, in one place: the sidebar, presentation mode and headless exports use it."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from reformkpi.auth import Actor
from reformkpi.i18n import t


@dataclass(frozen=True)
class PageSpec:
    script: str
    title_key: str
    icon: str
    url_path: str
    permission: str = "view"  # pages needing more are hidden from others, and refuse when opened by URL


PAGES = (
    PageSpec("app_pages/overview.py", "nav.overview", ":material/dashboard:", "tong-quan"),
    PageSpec("app_pages/unit.py", "nav.unit", ":material/apartment:", "don-vi"),
    PageSpec("app_pages/rankings.py", "nav.rankings", ":material/leaderboard:", "xep-hang"),
    PageSpec("app_pages/dossiers.py", "nav.dossiers", ":material/folder_open:", "ho-so"),
    PageSpec("app_pages/records.py", "nav.records", ":material/manage_search:", "ho-so-chi-tiet"),
    PageSpec("app_pages/satisfaction.py", "nav.satisfaction", ":material/sentiment_satisfied:", "hai-long"),
    PageSpec("app_pages/snapshots.py", "nav.snapshots", ":material/photo_library:", "anh-chup"),
    PageSpec("app_pages/subscriptions.py", "nav.subscriptions", ":material/notifications:", "theo-doi", "subscribe"),
    PageSpec("app_pages/upload.py", "nav.upload", ":material/upload_file:", "cap-nhat", "upload"),
    PageSpec("app_pages/history.py", "nav.history", ":material/history:", "lich-su", "upload"),
)


_DEFAULT, _CURRENT = "nav:default", "nav:current"


def pages(actor: Actor, lang: str, opening: str | None = None) -> list[st.Page]:
    """The pages for st.navigation. `opening` (a URL path) makes that page the root's page for the
    rest of the session: a snapshot link to the root opens the snapshot's page, with no other page first."""
    if opening is not None and _DEFAULT not in st.session_state:
        st.session_state[_DEFAULT] = opening
    default = st.session_state.get(_DEFAULT) or PAGES[0].url_path
    if default not in {p.url_path for p in PAGES}:
        default = PAGES[0].url_path
    return [st.Page(p.script, title=t(p.title_key, lang), icon=p.icon, url_path=p.url_path,
                    default=p.url_path == default, visibility="visible" if actor.can(p.permission) else "hidden")
            for p in PAGES]


def title(url_path: str | None, lang: str) -> str:
    """The title of the page at a URL path (the first page's for none or an unknown one)."""
    spec = next((p for p in PAGES if p.url_path == url_path), PAGES[0])
    return t(spec.title_key, lang)


def remember(page: st.Page, registered: list[st.Page]) -> None:
    """Called after st.navigation: which page this run shows (a snapshot saves it)."""
    st.session_state[_CURRENT] = PAGES[registered.index(page)].url_path


def current() -> str:
    """The URL path of the page this run shows."""
    return st.session_state.get(_CURRENT, PAGES[0].url_path)
