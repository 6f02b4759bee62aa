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
UNIT_PAGE = "don-vi"  # its figures are one unit's (and its predecessors')


_DEFAULT, _CURRENT = "nav:default", "nav:current"


def requested() -> str | None:
    """The page the browser's URL names by its path (`/xep-hang`), None for the app's root. Read
    before st.navigation on a session's first run, st.context.url is the browser's own URL."""
    last = (st.context.url or "").rstrip("/").rsplit("/", 1)[-1]  # no URL in AppTest
    return last if last in {p.url_path for p in PAGES} else None


def default_page(opening: str | None, asked: str | None) -> str:
    """The page served at the root for a session whose first URL names the page `asked` (None: the
    root) and opens a snapshot of the page `opening` (None: none): the snapshot's page or the first,
    unless that is the page asked for by its path, which then needs another default to resolve."""
    wanted = opening or PAGES[0].url_path
    return wanted if asked != wanted else next(p.url_path for p in PAGES if p.url_path != asked)


def pages(actor: Actor, lang: str, opening: str | None = None) -> list[st.Page]:
    """The pages for st.navigation. `opening` (a URL path) makes that page the root's page for the
    rest of the session: a snapshot link to the root opens the snapshot's page, with no other page first.

    Streamlit serves the default page at the root only, and answers its own path with a "Page not
    found" dialog: a URL naming the page that would be the default (`/tong-quan`, a snapshot link
    made on its page's path) makes another page the default for the session, so that it resolves."""
    if _DEFAULT not in st.session_state:
        st.session_state[_DEFAULT] = default_page(opening, requested())
    default = st.session_state[_DEFAULT]
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


def page_url(url_path: str) -> str:
    """The URL of a page for any browser: the app's root for the first page, else root/path (a
    fresh session serves every page at its path, navigation.pages). '/…' in AppTest."""
    return url_of(st.context.url or "", current(), url_path)


def url_of(here: str, here_path: str, url_path: str) -> str:
    """The URL of the page `url_path`, from the URL `here` of the page `here_path` (after
    st.navigation: the root, plus the page's path unless it is this session's default)."""
    root = here.rstrip("/").removesuffix("/" + here_path)
    return root + "/" + ("" if url_path == PAGES[0].url_path else url_path)
