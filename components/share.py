"""Sharing what one sees: the link of the current view, and snapshots pinned to a data version."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode, urlparse

import plotly.graph_objects as go
import streamlit as st

from components import chart_style, charts, data, url_state
from reformkpi import auth, exports, formatting, snapshots
from reformkpi.i18n import t, tm
from reformkpi.store import Store

SNAPSHOT_PARAM = "snapshot"


def link(params: dict | None = None) -> str:
    """The URL of the current view: page, filters and language, without a pinned snapshot."""
    params = {k: v for k, v in (params if params is not None else _view_state()).items() if k != SNAPSHOT_PARAM}
    return (st.context.url or "") + ("?" + urlencode(params) if params else "")  # no URL in AppTest


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
    st.warning(tm("share.pinned", lang, title=snap.title, version=snap.data_version, author=snap.created_by,
                 time=formatting.timestamp(snap.created_at, lang)), icon=":material/push_pin:")
    if snap.note:
        st.caption(formatting.markdown_text(snap.note))
    st.link_button(t("share.open_live", lang), link(snap.view_state), icon=":material/update:")


def _view_state() -> dict:
    return {k: v for k, v in {**st.query_params.to_dict(), **url_state.current()}.items() if k != SNAPSHOT_PARAM}


def share_menu(ref: data.DataRef, actor: auth.Actor, lang: str) -> None:
    """Copy the link; analysts and admins also save the view as a snapshot."""
    with st.popover(t("share.button", lang), icon=":material/share:"):
        st.caption(t("share.link", lang))
        st.code(link(), language=None, wrap_lines=True)
        st.link_button(t("share.present", lang), link({**_view_state(), PRESENT_PARAM: "1"}),
                       icon=":material/slideshow:")
        if not actor.can("snapshot"):
            return
        with st.form("share-snapshot", clear_on_submit=True):
            title = st.text_input(t("share.title", lang), max_chars=snapshots.MAX_TITLE)
            note = st.text_area(t("share.note", lang), max_chars=snapshots.MAX_NOTE)
            if st.form_submit_button(t("share.save", lang)):
                try:
                    snap = snapshots.create(Store(ref.uri), actor, title, urlparse(st.context.url or "").path.strip("/"),
                                            _view_state(), ref.version, ref.catalog_versions, note)
                except ValueError:
                    st.error(t("share.title_needed", lang))
                else:
                    st.success(t("share.saved", lang, version=snap.data_version))
                    view = link()  # carries every filter, defaults included: the URL may have none of them
                    st.code(view + ("&" if "?" in view else "?") + urlencode({SNAPSHOT_PARAM: snap.snapshot_id}),
                            language=None, wrap_lines=True)


MIME = {"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pdf": "application/pdf", "html": "text/html", "png": "image/png", "svg": "image/svg+xml",
        "csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def export_menu(ref: data.DataRef, page_title: str, source: str, lang: str) -> None:
    """Slides, PDF and an offline HTML report of the charts this page drew, and each chart as an
    image or as its data. Files are made when their button is pressed, not on every rerun."""
    drawn = charts.shown()
    if not drawn:
        return
    report = exports.Report(page_title, link(), source, dt.datetime.now(dt.UTC),
                            tuple(exports.chart_export(fig) for fig in drawn.values()))
    today = formatting.date(dt.date.today(), lang).replace("/", "-")

    def name(*parts: str, ext: str) -> str:
        return exports.file_name(t("share.file_prefix", lang), *parts, today, ext=ext)

    with st.expander(t("share.export", lang), icon=":material/download:"):
        cols = st.columns(3)
        for col, (ext, label, make) in zip(cols, (
                ("pptx", "PowerPoint", lambda: exports.pptx(report)), ("pdf", "PDF", lambda: exports.pdf(report)),
                ("html", t("share.offline_html", lang), lambda: exports.html_report(report).encode("utf-8")))):
            col.download_button(label, data=make, file_name=name(page_title, ext=ext), mime=MIME[ext],
                                key=f"export-{ext}", on_click="ignore", icon=":material/description:")
        for key, chart in zip(drawn, report.charts):
            st.caption(formatting.markdown_text(chart.title))
            cols = st.columns(4)
            for col, (ext, make) in zip(cols, (
                    ("png", lambda c=chart: exports.image(c.figure)), ("svg", lambda c=chart: exports.image(c.figure, "svg")),
                    ("csv", lambda c=chart: exports.to_csv(c.data)), ("xlsx", lambda c=chart: exports.to_xlsx(c.data)))):
                col.download_button(ext.upper(), data=make, file_name=name(chart.title, ext=ext), mime=MIME[ext],
                                    key=f"export-{key}-{ext}", on_click="ignore")


PRESENT_PARAM = "present"
_SLIDE = "share:slide"
# Presentation mode is our own stylesheet: no sidebar or toolbar, the whole width for the chart.
_PRESENT_CSS = ("<style>[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],"
                "[data-testid='stHeader']{display:none}"
                ".block-container{padding-top:1.2rem;max-width:100%}</style>")


def present(run_page, lang: str) -> None:
    """Presentation mode (?present=1): the page's charts one at a time, large, with previous/next."""
    st.html(_PRESENT_CSS)
    holder = st.empty()
    with holder.container():
        run_page()  # drawn out of sight: only its charts are collected
    holder.empty()
    drawn = list(charts.shown().values())
    if not drawn:
        st.info(t("share.present_nothing", lang))
        return
    i = min(st.session_state.get(_SLIDE, 0), len(drawn) - 1)
    scr = chart_style.screen()
    fig = chart_style.fit(go.Figure(drawn[i]), chart_style.enlarged(scr))  # a copy: the drawn one is shared
    fig.update_layout(height=max(760, fig.layout.height))
    st.plotly_chart(fig, key="present-chart", config=chart_style.plotly_config(scr))

    def go_to(n: int) -> None:
        st.session_state[_SLIDE] = n

    back, count, forward, leave = st.columns([1, 1, 1, 3], vertical_alignment="center")
    back.button(t("share.previous", lang), on_click=go_to, args=(i - 1,), disabled=i == 0, key="present-prev",
                icon=":material/arrow_back:")
    count.markdown(f"**{i + 1} / {len(drawn)}**")
    forward.button(t("share.next", lang), on_click=go_to, args=(i + 1,), disabled=i == len(drawn) - 1,
                   key="present-next", icon=":material/arrow_forward:")
    leave.link_button(t("share.present_exit", lang), link({k: v for k, v in _view_state().items() if k != PRESENT_PARAM}))


def snapshot_list(ref: data.DataRef, actor: auth.Actor | None, lang: str) -> None:
    """Every snapshot of the dataset with its link; its author or an administrator may rename or delete it."""
    store = Store(ref.uri)
    saved = snapshots.list_all(store)
    if not saved:
        st.info(t("snapshots.none", lang))
        return
    for snap in saved:
        with st.container(border=True):
            st.text(snap.title)
            st.caption(tm("snapshots.meta", lang, version=snap.data_version, author=snap.created_by,
                         time=formatting.timestamp(snap.created_at, lang), page=snap.page or "tong-quan"))
            if snap.note:
                st.text(snap.note)
            url = (st.context.url or "").rsplit("/", 1)[0] + f"/{snap.page}?" + urlencode(
                {**snap.view_state, SNAPSHOT_PARAM: snap.snapshot_id})
            st.link_button(t("snapshots.open", lang), url, icon=":material/open_in_new:")
            mine = actor is not None and (actor.can("admin") or (actor.can("snapshot") and actor.name == snap.created_by))
            if not mine:
                continue
            with st.form(f"snapshot-{snap.snapshot_id}"):
                title = st.text_input(t("share.title", lang), value=snap.title, max_chars=snapshots.MAX_TITLE)
                rename, delete = st.columns(2)
                if rename.form_submit_button(t("snapshots.rename", lang)):
                    snapshots.rename(store, actor, snap.snapshot_id, title)
                    st.rerun()
                if delete.form_submit_button(t("snapshots.delete", lang)):
                    snapshots.delete(store, actor, snap.snapshot_id)
                    st.rerun()
