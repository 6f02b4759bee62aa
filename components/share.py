"""Sharing what one sees: the link of the current view, and snapshots pinned to a data version."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import numbers
import re
from dataclasses import dataclass
from urllib.parse import urlencode

import plotly.graph_objects as go
import streamlit as st

from components import actions, chart_alt, chart_style, charts, data, navigation, url_state
from reformkpi import auth, config, exhibits, exports, formatting, snapshots
from reformkpi.i18n import t, tm
from reformkpi.metrics.datasets import Dataset
from reformkpi.store import Store

SNAPSHOT_PARAM = "snapshot"
KEPT_ON_SNAPSHOT = ("lang",)  # switching language keeps the snapshot: the same numbers, other words
_PIN, _APPLIED, _LEFT = "share:pin", "share:applied", "share:left"


@dataclass(frozen=True)
class Pin:
    """The snapshot a URL names: `snap` is None when there is no such snapshot (never saved, or deleted)."""

    snapshot_id: str
    snap: snapshots.Snapshot | None


def _view_value(value) -> bool:
    return value is not None and value != ""


def link(params: dict | None = None) -> str:
    """The URL of the current view: page, filters and language, without a pinned snapshot."""
    params = {k: v for k, v in (params if params is not None else _view_state()).items()
              if k != SNAPSHOT_PARAM and _view_value(v)}
    return navigation.page_url(navigation.current()) + ("?" + urlencode(params) if params else "")


def snapshot_link(snap: snapshots.Snapshot) -> str:
    """A snapshot's link: its id and dataset; the snapshot itself holds the rest of the view. At the
    app's root, which opens the snapshot's page (navigation.pages), from whichever page it is made."""
    params = {SNAPSHOT_PARAM: snap.snapshot_id, "data": snap.view_state.get("data", config.DATASETS[0])}
    return navigation.page_url(navigation.PAGES[0].url_path) + "?" + urlencode(params)


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
        uri = config.store_uri(dataset if dataset in config.DATASETS else config.DATASETS[0])
        pin = Pin(snap_id, snapshots.get(Store(uri), snap_id))
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


def _view_state() -> dict:
    return {k: v for k, v in {**st.query_params.to_dict(), **url_state.current()}.items()
            if k not in (SNAPSHOT_PARAM, PRESENT_PARAM)}


def share_menu(ref: data.DataRef, records: data.RecordsRef | None, actor: auth.Actor, lang: str) -> None:
    """Copy the link; analysts and admins also save the view (at the versions it shows) as a snapshot."""
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
                with actions.reported(lang):
                    snap = snapshots.create(Store(ref.uri), actor, title, navigation.current(), _view_state(),
                                            ref.version, ref.catalog_versions, note,
                                            records_version=None if records is None else records.version)
                    st.success(t("share.saved", lang, version=snap.data_version))
                    st.code(snapshot_link(snap), language=None, wrap_lines=True)


MIME = {"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pdf": "application/pdf", "html": "text/html", "png": "image/png", "svg": "image/svg+xml",
        "csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


UNIT_PAGE = "don-vi"  # its figures are one unit's (and its predecessors')


def view_period(view: dict) -> str:
    """The period a view shows ('2019', '2019-Q3'), for file names and header blocks; '' if none."""
    year, quarter = view.get("year") or "", view.get("quarter") or ""
    return f"{year}-{quarter}" if year and quarter else year or view.get("rq") or ""  # rq: the records page


def _figure_title(fig: go.Figure) -> str:
    return exports.plain(str(fig.layout.title.text or ""))  # escaped for Plotly, wrapped to the screen


# Exports are read from the back of a room: the type of presentation mode on a projector (22 px
# ticks, 32 px titles) in a chart laid out 1280 px wide, which a slide or a page then fills with as
# much of its width as the chart's height allows (exports.picture).
EXPORT_SCREEN = dataclasses.replace(chart_style.enlarged(chart_style.SCREENS["projector"]), width=1280)
_AXIS = re.compile(r"[xy]axis\d*")


def export_figure(fig: go.Figure) -> go.Figure:
    """A drawn chart laid out for an export (a copy: the drawn one is shared): EXPORT_SCREEN's type,
    every category label kept, a percentage axis that ends at 100, and a height that gives each
    row of categories a line of that type (layout.width and height: the size exports draw it at)."""
    out = chart_style.fit(go.Figure(fig), EXPORT_SCREEN)
    for axis in (k for k in out.layout.to_plotly_json() if _AXIS.fullmatch(k)):
        _every_label(out, axis)
        _percent_axis(out, axis)
    rows: dict[str, set] = {}
    for tr in out.data:
        rows.setdefault(tr.yaxis or "y", set()).update(v for v in _values(tr, "y") if isinstance(v, str))
    most = max((len(r) for r in rows.values()), default=0)
    needed = (out.layout.margin.t or 0) + (out.layout.margin.b or 0) + most * (EXPORT_SCREEN.font * chart_style.LINE + 6)
    out.update_layout(width=EXPORT_SCREEN.width, height=int(max(out.layout.height or 0, needed)))
    return out


def _every_label(fig: go.Figure, axis: str) -> None:
    """A heatmap's columns and rows each keep their label (thinned labels leave cells unnamed): a
    column's label wrapped at its spaces to the column's width, or set upright where a word is wider."""
    letter, font = axis[0], EXPORT_SCREEN.font
    for tr in fig.data:
        if tr.type != "heatmap" or (getattr(tr, letter + "axis", None) or letter) != letter + axis[5:]:
            continue
        cats = [v for v in _values(tr, letter) if v is not None]
        text = [str(c) for c in cats]
        if letter == "x" and cats:
            names = [chart_style.unwrap(str(v)) for v in _values(tr, "y") if v is not None]
            left = max((len(n) for n in names), default=0) * chart_style.CHAR * font + 10
            room = (EXPORT_SCREEN.width - left - 150) / len(cats) - font  # less the colour bar, a gap apart
            lines = [chart_style.wrap(chart_style.unwrap(c), int(room / (chart_style.CHAR * font))) for c in text]
            if max(len(x) for line in lines for x in line) * chart_style.CHAR * font <= room:
                text = ["<br>".join(line) for line in lines]
            else:
                text = [chart_style.unwrap(c) for c in text]
                fig.layout[axis].tickangle = -90
        fig.layout[axis].update(tickmode="array", tickvals=cats, ticktext=text)


def _percent_axis(fig: go.Figure, axis: str) -> None:
    """A value axis in percent ("… (%)") ends at 100 where its data do; bar labels beyond the end are
    drawn in the right margin, widened to hold them."""
    ax = fig.layout[axis]
    title = chart_style.unwrap(ax.title.text or "") if ax.title else ""
    if not title.endswith("(%)") or ax.range is None or ax.range[1] <= 100:
        return
    letter, ref = axis[0], axis[0] + axis[5:]
    bars = [tr for tr in fig.data if (getattr(tr, letter + "axis", None) or letter) == ref]
    values = [float(v) for tr in bars for v in _values(tr, letter) if isinstance(v, numbers.Real) and not math.isnan(v)]
    if values and max(values) > 100:
        return
    ax.range = [ax.range[0], 100]
    labels = [str(v) for tr in bars if tr.type == "bar" for v in _values(tr, "text")]
    for tr in bars:
        if tr.type == "bar":
            tr.cliponaxis = False
    if labels:
        font = fig.layout.font.size or EXPORT_SCREEN.font
        room = max(len(v) for v in labels) * chart_style.CHAR * font + 10
        fig.layout.margin.r = max(fig.layout.margin.r or 0, int(room))


def _values(trace, name: str) -> list:
    values = getattr(trace, name, None)
    return [] if values is None or isinstance(values, str) else list(values)


def report_title(page_title: str, snapshot: snapshots.Snapshot | None) -> str:
    return snapshot.title if snapshot else page_title


def cover_subtitle(page_title: str, snapshot: snapshots.Snapshot | None, lang: str) -> str:
    """What a title slide says under its title, whether the page or the command line made the deck:
    the page, and the snapshot as the page's banner states it, with its note."""
    if snapshot is None:
        return page_title
    pinned = t("share.pinned", lang, title=snapshot.title, version=snapshot.data_version, author=snapshot.created_by,
               time=formatting.timestamp(snapshot.created_at, lang))
    return "\n".join(filter(None, (page_title, pinned, snapshot.note)))


def report(drawn: dict[str, charts.Drawn], ds: Dataset, page: str, page_title: str, dataset_name: str,
           view: dict, snapshot: snapshots.Snapshot | None, lang: str) -> exports.Report:
    """The page's charts and tables as a report: each with its exhibit built from the core's frame
    (`ds`: the data version the page showed) and the core's context of its figures, each chart laid
    out for the export (export_figure)."""
    period = view_period(view)
    source = t("share.source", lang, dataset=dataset_name, version=ds.version)
    level = view.get("level") if view.get("level") in ("department", "district") else None
    unit_id = view.get("unit") if page == UNIT_PAGE else None
    pinned = f"{snapshot.title} ({formatting.timestamp(snapshot.created_at, lang)})" if snapshot else ""

    def exhibit(d: charts.Drawn) -> exhibits.Exhibit:
        header = exhibits.header(ds, d.indicator_id, dataset_name, lang, period, pinned, level, unit_id)
        return exhibits.exhibit(d.frame, ds, d.indicator_id, d.title or _figure_title(d.figure), header, lang,
                                unit_id)

    return exports.Report(
        report_title(page_title, snapshot), cover_subtitle(page_title, snapshot, lang), source,
        dt.datetime.now(dt.UTC),
        tuple(exports.ChartExport(export_figure(d.figure), exhibit(d)) for d in drawn.values() if d.figure is not None),
        tuple(exhibit(d) for d in drawn.values() if d.figure is None), lang)


def export_menu(ref: data.DataRef, page_title: str, dataset_name: str, snapshot: snapshots.Snapshot | None,
                lang: str) -> None:
    """Slides, PDF and an offline HTML report of what this page drew, and each chart as an image or
    as its data. Nothing is built until a button is pressed: a rerun costs no export work."""
    drawn = charts.shown()
    if not any(d.figure is not None for d in drawn.values()):
        return
    view, ds = _view_state(), data.dataset(ref)
    made: dict[str, exports.Report] = {}

    def full() -> exports.Report:  # called when a button is pressed, outside the script's run
        if "report" not in made:
            made["report"] = report(drawn, ds, navigation.current(), page_title, dataset_name, view, snapshot, lang)
        return made["report"]

    def name(ext: str, part: str = "") -> str:
        return exports.view_file_name(navigation.current(), view_period(view), ref.version, ext, part)

    # Its buttons are sent once it is opened (which reruns): closed, four a chart went with every view unseen.
    with st.expander(t("share.export", lang), icon=":material/download:", key="export-menu",
                     on_change="rerun") as menu:
        if not menu.open:
            return
        cols = st.columns(3)
        for col, (ext, label, make) in zip(cols, (
                ("pptx", "PowerPoint", lambda: exports.pptx(full())), ("pdf", "PDF", lambda: exports.pdf(full())),
                ("html", t("share.offline_html", lang), lambda: exports.html_report(full()).encode("utf-8")))):
            col.download_button(label, data=make, file_name=name(ext), mime=MIME[ext],
                                key=f"export-{ext}", on_click="ignore", icon=":material/description:")
        for i, (key, d) in enumerate((k, d) for k, d in drawn.items() if d.figure is not None):
            st.caption(formatting.markdown_text(_figure_title(d.figure)))
            for col, (ext, make) in zip(st.columns(4), (
                    ("png", lambda i=i: exports.image(full().charts[i].figure)),
                    ("svg", lambda i=i: exports.image(full().charts[i].figure, "svg")),
                    ("csv", lambda i=i: exports.exhibit_csv(full().charts[i].exhibit, lang)),
                    ("xlsx", lambda i=i: exports.exhibit_xlsx(full().charts[i].exhibit, lang)))):
                col.download_button(ext.upper(), data=make, file_name=name(ext, key), mime=MIME[ext],
                                    key=f"export-{key}-{ext}", on_click="ignore")


PRESENT_PARAM = "present"
# The chart's height in presentation mode: a 1440×900 laptop, a 1920×1080 projector, a phone less
# the controls and a snapshot's banner above it.
PRESENT_HEIGHT = {"phone": 520, "laptop": 600, "projector": 780}
_SLIDE = "share:slide"
# Presentation mode is our own stylesheet: no sidebar or toolbar, the whole width for the chart.
_PRESENT_CSS = ("<style>[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],"
                "[data-testid='stHeader']{display:none}"
                ".block-container{padding-top:1.2rem;max-width:100%}.st-key-present-keys{display:none}</style>")


def present(run_page, lang: str) -> None:
    """Presentation mode (?present=1): the page's charts one at a time, large, with previous/next."""
    st.html(_PRESENT_CSS)
    holder = st.empty()
    with holder.container():
        run_page()  # drawn out of sight: only its charts are collected
    holder.empty()
    pin = pinned()
    if pin is not None and pin.snap is not None:
        banner(pin.snap, lang)
    drawn = [d for d in charts.shown().values() if d.figure is not None]
    if not drawn:
        st.info(t("share.present_nothing", lang))
        return
    i = min(st.session_state.get(_SLIDE, 0), len(drawn) - 1)
    scr = chart_style.screen()

    def go_to(n: int) -> None:
        st.session_state[_SLIDE] = n

    back, count, forward, leave = st.columns([1, 1, 1, 3], vertical_alignment="center")
    back.button(t("share.previous", lang), on_click=go_to, args=(i - 1,), disabled=i == 0, key="present-prev",
                icon=":material/arrow_back:", shortcut="Left")
    count.markdown(f"**{i + 1} / {len(drawn)}**")
    forward.button(t("share.next", lang), on_click=go_to, args=(i + 1,), disabled=i == len(drawn) - 1,
                   key="present-next", icon=":material/arrow_forward:", shortcut="Right")
    # A clicker sends PageUp/PageDown: the same moves, from buttons kept out of sight.
    with st.container(key="present-keys"):
        st.button("PageUp", on_click=go_to, args=(i - 1,), disabled=i == 0, key="present-pageup", shortcut="PageUp")
        st.button("PageDown", on_click=go_to, args=(i + 1,), disabled=i == len(drawn) - 1, key="present-pagedown",
                  shortcut="PageDown")
    leave.link_button(t("share.present_exit", lang), link({k: v for k, v in _view_state().items() if k != PRESENT_PARAM}))
    # The controls above, the chart below them sized to what is left of the screen: both visible
    # without scrolling (a copy: the drawn figure is shared).
    fig = chart_style.fit_to(go.Figure(drawn[i].figure), chart_style.enlarged(scr), PRESENT_HEIGHT[scr.name])
    st.plotly_chart(fig, key="present-chart", config=chart_style.plotly_config(scr))
    chart_alt.beside("present-chart", fig, drawn[i].frame, drawn[i].indicator_id)


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
