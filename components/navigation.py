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
    PageSpec("app_pages/upload.py", "nav.upload", ":material/upload_file:", "cap-nhat", "upload"),
    PageSpec("app_pages/history.py", "nav.history", ":material/history:", "lich-su", "upload"),
)


def pages(actor: Actor, lang: str) -> list[st.Page]:
    return [st.Page(p.script, title=t(p.title_key, lang), icon=p.icon, url_path=p.url_path, default=i == 0,
                    visibility="visible" if actor.can(p.permission) else "hidden")
            for i, p in enumerate(PAGES)]


def script_of(url_path: str) -> str:
    """The script of a page by its URL path ('' is the default page)."""
    return next((p.script for p in PAGES if p.url_path == url_path), PAGES[0].script)
