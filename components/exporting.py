"""Exporting what a page drew: the export menu offers it as slides, PDF and an offline HTML report, and each chart as an
image or as its data; the charts laid out for an export (`export_figure`) and the report built from
the core's frames (`report`), which `python -m app_export` shares."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import numbers
import re

import plotly.graph_objects as go
import streamlit as st

from components import chart_style, charts, data, navigation
from reformkpi import exhibits, exports, formatting, snapshots
from reformkpi.i18n import t
from reformkpi.metrics.datasets import Dataset

MIME = {"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pdf": "application/pdf", "html": "text/html", "png": "image/png", "svg": "image/svg+xml",
        "csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


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


def file_name(page: str, scope: charts.Scope, version: int, ext: str, part: str = "") -> str:
    """An export's file name: the page, the period its figures are of, the data version."""
    return exports.view_file_name(page, "" if scope.period is None else str(scope.period), version, ext, part)


def report(drawn: dict[str, charts.Drawn], scope: charts.Scope, ds: Dataset, page_title: str, dataset_name: str,
           snapshot: snapshots.Snapshot | None, lang: str) -> exports.Report:
    """The page's charts and tables as a report: each with its exhibit built from the core's frame
    (`ds`: the data version the page showed) and the core's context of its figures over what the
    page drew them for (`scope`), each chart laid out for the export (export_figure)."""
    source = t("share.source", lang, dataset=dataset_name, version=ds.version)
    pinned = f"{snapshot.title} ({formatting.timestamp(snapshot.created_at, lang)})" if snapshot else ""

    def exhibit(d: charts.Drawn) -> exhibits.Exhibit:
        header = exhibits.header(ds, d.indicator_id, dataset_name, lang, scope.period, pinned, scope.level,
                                 scope.unit_id)
        return exhibits.exhibit(d.frame, ds, d.indicator_id, d.title or _figure_title(d.figure), header, scope.unit_id)

    return exports.Report(
        report_title(page_title, snapshot), cover_subtitle(page_title, snapshot, lang), source,
        dt.datetime.now(dt.UTC),
        tuple(exports.ChartExport(export_figure(d.figure), exhibit(d)) for d in drawn.values() if d.figure is not None),
        tuple(exhibit(d) for d in drawn.values() if d.figure is None), lang=lang)


def export_menu(ref: data.DataRef, page_title: str, dataset_name: str, snapshot: snapshots.Snapshot | None,
                lang: str) -> None:
    """Slides, PDF and an offline HTML report of what this page drew, and each chart as an image or
    as its data. Nothing is built until a button is pressed: a rerun costs no export work."""
    drawn = charts.shown()
    if not any(d.figure is not None for d in drawn.values()):
        return
    scope, ds = charts.scope(), data.dataset(ref)
    made: dict[str, exports.Report] = {}

    def full() -> exports.Report:  # called when a button is pressed, outside the script's run
        if "report" not in made:
            made["report"] = report(drawn, scope, ds, page_title, dataset_name, snapshot, lang)
        return made["report"]

    def name(ext: str, part: str = "") -> str:
        return file_name(navigation.current(), scope, ref.version, ext, part)

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
                    ("csv", lambda i=i: exports.exhibit_csv(full().charts[i].exhibit)),
                    ("xlsx", lambda i=i: exports.exhibit_xlsx(full().charts[i].exhibit)))):
                col.download_button(ext.upper(), data=make, file_name=name(ext, key), mime=MIME[ext],
                                    key=f"export-{key}-{ext}", on_click="ignore")
