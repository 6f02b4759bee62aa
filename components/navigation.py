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
    PageSpec("pages/overview.py", "nav.overview", ":material/dashboard:", "tong-quan"),
    PageSpec("pages/unit.py", "nav.unit", ":material/apartment:", "don-vi"),
    PageSpec("pages/rankings.py", "nav.rankings", ":material/leaderboard:", "xep-hang"),
    PageSpec("pages/dossiers.py", "nav.dossiers", ":material/folder_open:", "ho-so"),
    PageSpec("pages/records.py", "nav.records", ":material/manage_search:", "ho-so-chi-tiet"),
    PageSpec("pages/satisfaction.py", "nav.satisfaction", ":material/sentiment_satisfied:", "hai-long"),
    PageSpec("pages/snapshots.py", "nav.snapshots", ":material/photo_library:", "anh-chup"),
    PageSpec("pages/upload.py", "nav.upload", ":material/upload_file:", "cap-nhat", "upload"),
    PageSpec("pages/history.py", "nav.history", ":material/history:", "lich-su", "upload"),
)


def pages(actor: Actor, lang: str) -> list[st.Page]:
    return [st.Page(p.script, title=t(p.title_key, lang), icon=p.icon, url_path=p.url_path, default=i == 0,
                    visibility="visible" if actor.can(p.permission) else "hidden")
            for i, p in enumerate(PAGES)]


def script_of(url_path: str) -> str:
    """The script of a page by its URL path ('' is the default page)."""
    return next((p.script for p in PAGES if p.url_path == url_path), PAGES[0].script)
