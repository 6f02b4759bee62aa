"""The drill-down of one unit and quarter from dossier records: which procedures run late, how
long dossiers take against their deadline, how late, how old the open backlog is, online versus
in person, and whether the backlog grows. Every figure comes from reformkpi.records.metrics."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import charts, data, url_state
from components.chart_labels import version_line
from components.chart_style import layout
from components.palette import AMBER, BAD, GOOD, INK, LIGHT, NEUTRAL
from reformkpi import formatting
from reformkpi.catalog import Catalog
from reformkpi.i18n import t, tm, tn
from reformkpi.records import metrics as rm


def filters(ref: data.RecordsRef, catalog: Catalog, names: dict[str, str], lang: str) -> tuple[str, str]:
    """Quarter and unit in the sidebar (URL keys rq, unit); the units in office at the quarter's end
    that answer for its dossiers (the rule for merged units), most dossiers first. A unit asked for
    (a link, the unit chosen on another page) that was merged by then opens the unit holding it."""
    quarters = data.records_query(rm.quarters, ref)
    with st.sidebar:
        quarter = url_state.select(t("records.filter.quarter", lang), quarters[::-1], "rq",
                                   lambda q: formatting.period_label(q, lang))
        holders = catalog.holders(quarter)
        units = data.records_query(rm.units_with_records, ref, quarter, holders)
        unit = url_state.select(t("records.filter.unit", lang), units, "unit", lambda u: names.get(u, u),
                                resolve=lambda u: holders.get(u, u))
    return quarter, unit


def _days(x, lang: str) -> str:
    return "–" if x is None or pd.isna(x) else t("records.days", lang, days=formatting.number(x, lang, 1))


def tiles(s: dict, lang: str) -> None:
    """Received, resolved, late rate, open backlog, processing time against the deadline, online share."""
    n = lambda x: formatting.number(x, lang, 0)
    cols = st.columns(5)
    cols[0].metric(t("records.tile.received", lang), n(s["received"]), border=True)
    with cols[1]:
        st.metric(t("records.tile.late_rate", lang), formatting.percent(s["late_rate"], lang), border=True,
                  help=t("records.tile.late_help", lang))
        st.caption(t("records.tile.late_caption", lang, late=n(s["late"]), resolved=n(s["resolved"])))
    with cols[2]:
        st.metric(t("records.tile.open", lang), n(s["open"]), border=True)
        st.caption(t("records.tile.open_caption", lang, overdue=n(s["overdue"])))
    with cols[3]:
        st.metric(t("records.tile.median", lang), _days(s["median_days"], lang), border=True)
        st.caption(t("records.tile.median_caption", lang, p90=formatting.number(s["p90_days"], lang, 1),
                     allowed=formatting.number(s["allowed_days"], lang, 1)))
    cols[4].metric(t("records.tile.online", lang), formatting.percent(s["online_share"], lang), border=True)


def source_note(compared: pd.DataFrame, ind_names: dict[str, str], lang: str) -> None:
    """Say which counts the page shows (from records) and how they stand against the stored ones."""
    differs = compared["equal"].eq(False).sum()
    origins = {"n_records": int((compared["origin"] == "records").sum()),
               "n_upload": int((compared["origin"] == "upload").sum())}
    if compared["stored"].isna().all():
        st.caption(t("records.source.missing", lang))
    elif differs:
        st.warning(tn("records.source.differs", int(differs), lang, **origins))
    else:
        st.caption(t("records.source.same", lang, **origins))
    # The table is sent once its expander is opened (which reruns): closed, the grid's scripts came with
    # every view. It opens by itself where counts differ: a key for each case, so that a box closed over
    # agreeing counts does not keep it shut.
    with st.expander(t("records.compare.title", lang), expanded=bool(differs), key=f"records-compare-{bool(differs)}",
                     on_change="rerun") as box:
        if box.open:
            _comparison_table(compared, ind_names, lang)


def _comparison_table(compared: pd.DataFrame, ind_names: dict[str, str], lang: str) -> None:
    """Each indicator's count from the records beside the store's, and where the stored one came from."""
    st.dataframe(pd.DataFrame({
        t("records.compare.indicator", lang): compared["indicator_id"].map(ind_names),
        t("records.compare.from_records", lang): [formatting.number(v, lang, 0) for v in compared["from_records"]],
        t("records.compare.stored", lang): [formatting.number(v, lang, 0) for v in compared["stored"]],
        t("records.compare.origin", lang): [t(f"records.origin.{o if isinstance(o, str) else 'none'}", lang)
                                            for o in compared["origin"]],
    }), hide_index=True, width="stretch")


def _bucket_labels(df: pd.DataFrame, lang: str) -> list[str]:
    return [t("records.bucket.over", lang, lo=lo - 1) if pd.isna(hi) else t("records.bucket.range", lang, lo=lo, hi=int(hi))
            for lo, hi in zip(df["lo"], df["hi"])]


def late_procedures(df: pd.DataFrame, lang: str, version: int) -> go.Figure:
    """Stacked bars per procedure: resolved late and still overdue, most on top."""
    df = df.iloc[::-1]
    names = [formatting.label(n) for n in df["procedure_name"]]
    hover = [t("records.late.hover", lang, name=formatting.label(r.procedure_name), late=r.late, resolved=r.resolved,
               rate=formatting.percent(r.late_rate, lang), open=r.overdue_open, days=_days(r.median_days_late, lang))
             + version_line(lang, version) for r in df.itertuples()]
    fig = go.Figure([
        go.Bar(y=names, x=df["late"], orientation="h", name=t("records.late.resolved_late", lang), marker_color=BAD,
               hovertext=hover, hoverinfo="text"),
        go.Bar(y=names, x=df["overdue_open"], orientation="h", name=t("records.late.open_overdue", lang),
               marker_color=AMBER, hovertext=hover, hoverinfo="text")])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title=t("records.axis.dossiers", lang))
    fig.update_yaxes(automargin=True)
    return layout(fig, t("records.late.title", lang), lang, height=200 + 32 * len(df))


def processing_times(df: pd.DataFrame, lang: str, version: int) -> go.Figure:
    """Per procedure: a bar from the median to the 90th percentile, the deadline as a black tick."""
    df = df.iloc[::-1]
    names = [formatting.label(n) for n in df["procedure_name"]]
    over = df["p90_days"] > df["allowed_days"]
    hover = [tn("records.time.hover", r.resolved, lang, name=formatting.label(r.procedure_name),
                median=_days(r.median_days, lang), p90=_days(r.p90_days, lang), allowed=_days(r.allowed_days, lang))
             + version_line(lang, version) for r in df.itertuples()]
    fig = go.Figure([
        go.Bar(y=names, x=df["median_days"], orientation="h", name=t("records.time.median", lang),
               marker_color=GOOD, hovertext=hover, hoverinfo="text"),
        go.Bar(y=names, x=df["p90_days"] - df["median_days"], base=df["median_days"], orientation="h",
               name=t("records.time.p90", lang), marker_color=[BAD if o else LIGHT for o in over],
               hovertext=hover, hoverinfo="text"),
        go.Scatter(y=names, x=df["allowed_days"], mode="markers", name=t("records.time.allowed", lang),
                   marker={"symbol": "line-ns", "size": 22, "line": {"width": 3, "color": INK}}, hoverinfo="skip")])
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title=t("records.time.axis", lang), rangemode="tozero")
    fig.update_yaxes(automargin=True)
    return layout(fig, t("records.time.title", lang), lang, height=200 + 32 * len(df))


def _buckets(df: pd.DataFrame, series: list[tuple[str, str, str]], title: str, axis: str, lang: str,
             version: int) -> go.Figure:
    x = _bucket_labels(df, lang)
    # Counts written by formatting.number, not by Plotly's d3-format (English separators, "12.3k").
    fig = go.Figure([go.Bar(x=x, y=df[col], name=name, marker_color=color,
                            customdata=[f"{b}: {formatting.number(v, lang, 0)}" for b, v in zip(x, df[col])],
                            hovertemplate=f"%{{customdata}}{version_line(lang, version)}<extra>{name}</extra>")
                     for col, name, color in series])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title=axis, type="category")
    fig.update_yaxes(title=t("records.axis.dossiers", lang))
    return layout(fig, title, lang, height=400)


def overdue_days(df: pd.DataFrame, lang: str, version: int) -> go.Figure:
    return _buckets(df, [("resolved_late", t("records.late.resolved_late", lang), BAD),
                         ("open_overdue", t("records.late.open_overdue", lang), AMBER)],
                    t("records.overdue.title", lang), t("records.overdue.axis", lang), lang, version)


def ageing(df: pd.DataFrame, lang: str, version: int) -> go.Figure:
    return _buckets(df, [("not_due", t("records.ageing.not_due", lang), GOOD),
                         ("overdue", t("records.ageing.overdue", lang), BAD)],
                    t("records.ageing.title", lang), t("records.ageing.axis", lang), lang, version)


def channels(df: pd.DataFrame, lang: str, version: int) -> go.Figure:
    """Dossiers received by channel (bars) with each channel's late rate (labels)."""
    names = [t(f"records.channel.{c}", lang) for c in df["channel"]]
    hover = [t("records.channel.hover", lang, channel=n, received=r.received, resolved=r.resolved,
               rate=formatting.percent(r.late_rate, lang), days=_days(r.median_days, lang))
             + version_line(lang, version) for n, r in zip(names, df.itertuples())]
    fig = go.Figure(go.Bar(x=names, y=df["received"], marker_color=[GOOD, NEUTRAL, LIGHT][: len(df)],
                           text=[t("records.channel.late_label", lang, rate=formatting.percent(v, lang))
                                 for v in df["late_rate"]],
                           textposition="outside", cliponaxis=False, hovertext=hover, hoverinfo="text",
                           name=t("records.channel.received", lang)))
    fig.update_yaxes(title=t("records.channel.received", lang))
    return layout(fig, t("records.channel.title", lang), lang, height=360)


def backlog_trend(df: pd.DataFrame, lang: str, version: int) -> go.Figure:
    """Open dossiers at the end of each quarter (stacked: not due, overdue) with received and resolved;
    a quarter before the unit was formed (its predecessors combined) is named so and hatched."""
    x = [formatting.period_label(p, lang) if own else t("records.trend.combined", lang, period=formatting.period_label(p, lang))
         for p, own in zip(df["period"], df["own"])]
    hatch = {"pattern": {"shape": ["" if own else "/" for own in df["own"]]}}
    fig = go.Figure([
        go.Bar(x=x, y=df["pending_not_due"], name=t("records.ageing.not_due", lang), marker_color=GOOD,
               marker=hatch),
        go.Bar(x=x, y=df["pending_overdue"], name=t("records.ageing.overdue", lang), marker_color=BAD, marker=hatch),
        go.Scatter(x=x, y=df["received"], name=t("records.trend.received", lang), mode="lines+markers",
                   line={"color": INK, "dash": "dot"}),
        go.Scatter(x=x, y=df["resolved"], name=t("records.trend.resolved", lang), mode="lines+markers",
                   line={"color": NEUTRAL})])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    fig.update_yaxes(title=t("records.axis.dossiers", lang))
    return layout(fig, t("records.trend.title", lang), lang, height=380)


def render(ref: data.RecordsRef, held: rm.Held, quarter: str, stored: pd.DataFrame, ind_names: dict[str, str],
           names: dict[str, str], lang: str) -> None:
    """The whole drill-down of a unit and quarter, over the dossiers `held` says; `stored`: the
    store's counts for them (rm.stored_counts)."""
    figures = data.records_query(rm.drill_down, ref, held, quarter)
    tiles(figures.summary, lang)
    source_note(data.records_query(rm.compare_with_stored, ref, stored, held, quarter), ind_names, lang)
    left, right = st.columns(2)
    with left:
        late = figures.late_procedures
        if late.empty:
            st.info(t("records.late.none", lang))
        else:
            charts.show(charts.figure(late_procedures, late, lang, ref.version, span=0.5), key="records_late", data=late, lang=lang)
    with right:
        times = figures.processing_times
        charts.show(charts.figure(processing_times, times, lang, ref.version, span=0.5), key="records_time", data=times, lang=lang)
    left, middle, right = st.columns(3)
    for column, key, frame, draw in ((left, "records_overdue", figures.overdue_days, overdue_days),
                                     (middle, "records_ageing", figures.backlog_ageing, ageing),
                                     (right, "records_channels", figures.channels, channels)):
        with column:
            charts.show(charts.figure(draw, frame, lang, ref.version, span=0.33), key=key, data=frame, lang=lang)
    trend = figures.backlog_trend
    charts.show(charts.figure(backlog_trend, trend, lang, ref.version), key="records_trend", data=trend, lang=lang)
    combined = trend.loc[~trend["own"], "period"]
    if len(combined):
        before = sorted({u for q, units, _ in held.quarters if q in set(combined) for u in units})
        st.caption(tm("records.trend.combined_note", lang, predecessors=", ".join(names.get(u, u) for u in before)))
    st.caption(t("records.definitions", lang))
