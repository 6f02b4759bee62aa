"""Charts of one unit's profile: its indicators over the years, the parts of PAR INDEX and SIPAS,
its rank and grade history, and its dossiers by quarter. A merger is marked on every time axis."""

from __future__ import annotations

import copy
import functools
import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.chart_labels import SYMBOLS, axis_title, marked, short_name, version_line
from components.chart_style import gapped, layout
from components.context import coverage_line
from components.palette import BAD, GOOD, GRADE_PALETTE, INK, NEUTRAL, status_legend
from reformkpi import formatting, periods
from reformkpi.catalog import Catalog
from reformkpi.metrics.comparability import method_breaks
from reformkpi.i18n import column, t, tm
from reformkpi.metrics import views
from reformkpi.metrics.targets import meets


BELOW_MERGER = 22  # pixels: a line of the largest chart type (a projector's 16 px, chart_style.LINE)


class _Marks:
    """Shapes and annotations gathered for a figure, then set on it at once (`onto`): Plotly
    validates a figure's every shape and annotation again at each add_shape or add_annotation, so
    adding them one by one took a third of the Unit page's history grid."""

    def __init__(self) -> None:
        self.shapes: list[dict] = []
        self.annotations: list[dict] = []
        self.merged_on: set[str] = set()  # axes whose top line a merger's label holds

    def onto(self, fig: go.Figure) -> None:
        fig.update_layout(shapes=[*fig.layout.shapes, *self.shapes],
                          annotations=[*fig.layout.annotations, *self.annotations])


def _merger_marks(marks: _Marks, events: pd.DataFrame, grain: str, lang: str, positions: list, axis: str = "") -> None:
    """A dotted vertical line where the unit was formed by a merger, on the subplot of `axis` ('', '2', ...).

    On a year axis (numeric) the line sits between the last year before and the first year
    after; on a quarter axis (categories) it sits on the quarter of the merger. Shapes are
    added by axis reference: Plotly's add_vline per subplot is slow.
    """
    for _, e in events.iterrows():
        if grain == "year":
            x = e["date"].year - 0.5
            if not positions or not min(positions) < x < max(positions):
                continue
        else:
            x = formatting.period_label(periods.Period.of_day(e["date"]), lang)
            if x not in positions:
                continue
        marks.shapes.append(dict(type="line", xref=f"x{axis}", yref=f"y{axis} domain", x0=x, x1=x, y0=0, y1=1,
                                 line={"color": INK, "dash": "dot", "width": 1.5}))
        marks.merged_on.add(axis)
        marks.annotations.append(dict(x=x, y=1, xref=f"x{axis}", yref=f"y{axis} domain",
                                      text=t("unit.merger_mark", lang, date=formatting.date(e["date"], lang)),
                                      showarrow=False, xanchor="right", yanchor="top", bgcolor="rgba(255,255,255,0.8)",
                                      font={"size": 12, "color": INK}))


def _break_marks(marks: _Marks, years: list[int], breaks: list[bool], lang: str, axis: str = "") -> None:
    """A dotted vertical line between the last year of an old method and the first of the new one;
    its label a line lower where a merger's label holds the top (`_merger_marks`, called first): the
    two were printed over each other where a break came a few years before the merger."""
    for y, brk in zip(years, breaks):
        if not brk:
            continue
        marks.shapes.append(dict(type="line", xref=f"x{axis}", yref=f"y{axis} domain", x0=y - 0.5, x1=y - 0.5,
                                 y0=0, y1=1, line={"color": NEUTRAL, "dash": "dot", "width": 2}))
        marks.annotations.append(dict(x=y - 0.5, y=1, xref=f"x{axis}", yref=f"y{axis} domain",
                                      text=t("chart.method_break", lang), showarrow=False, xanchor="left",
                                      yanchor="top", font={"size": 12, "color": INK},
                                      **({"yshift": -BELOW_MERGER} if axis in marks.merged_on else {})))


def _highlight(marks: _Marks, x0: float, x1: float, axis: str = "") -> None:
    """A light band behind the chosen year (shapes by axis reference: add_vrect per subplot is slow)."""
    marks.shapes.append(dict(type="rect", xref=f"x{axis}", yref=f"y{axis} domain", x0=x0, x1=x1, y0=0, y1=1,
                             layer="below", fillcolor="rgba(230,159,0,0.15)", line={"width": 0}))


def _year_ticks(years: list[int]) -> dict:
    """Years as whole numbers on a numeric axis (room for a merger line between two years)."""
    ticks: dict = {"tickmode": "array", "tickvals": years, "ticktext": [str(y) for y in years]}
    if years:
        ticks["range"] = [min(years) - 0.5, max(years) + 0.5]
    return ticks


def _year_axis(fig: go.Figure, years: list[int]) -> None:
    fig.layout.xaxis.update(_year_ticks(years))


def _stand_in_traces(h: pd.DataFrame, ind: pd.Series, names: pd.Series, legend: set[str], axis: str, lang: str,
                     version: int, by_year: dict[int, bool]) -> list[dict]:
    """The predecessors' own series, each under its name, and their combined one where there is one
    (`views.unit_history`): thin grey lines, never coloured by a target (each in the legend once:
    `legend` holds those already there)."""
    out = []
    for (kind, uid), g in h[h["kind"] != views.OWN].groupby(["kind", "unit_id"], sort=False):
        group = f"{kind}:{uid}"
        name = (t("unit.combined_series", lang) if kind == views.COMBINED
                else t("unit.predecessor_series", lang, name=names[uid]))
        hover = [f"<b>{formatting.label(name)}</b> {p}<br>{formatting.label(short_name(ind, lang))}: "
                 f"{formatting.value(v, ind, lang)}{version_line(lang, version)}"
                 for p, v in zip(g["period"], g["value"])]
        x = [periods.year_of(p) for p in g["period"]]
        joined = [by_year.get(y, True) for y in x]
        out.append(dict(type="scatter", x=gapped(x, joined), y=gapped(g["value"], joined), mode="lines+markers",
                        name=formatting.label(name), legendgroup=group, showlegend=group not in legend,
                        line={"color": NEUTRAL, "width": 1.5, "dash": "dot" if kind == views.COMBINED else "solid"},
                        marker={"size": 6, "color": NEUTRAL, "symbol": "diamond" if kind == views.COMBINED else "circle"},
                        hovertext=gapped(hover, joined), hoverinfo="text", xaxis=f"x{axis}", yaxis=f"y{axis}"))
        legend.add(group)
    return out


@functools.lru_cache(maxsize=16)
def _grid(rows: int, cols: int, charts: int) -> dict:
    """The layout of a grid of small charts, their titles' text left blank (the same for every
    unit: make_subplots took a sixth of the grid's build); copied before it is filled in."""
    lay = make_subplots(rows=rows, cols=cols, subplot_titles=[" "] * charts, horizontal_spacing=0.08,
                        vertical_spacing=min(0.12, 0.4 / rows) if rows > 1 else 0.2).layout.to_plotly_json()
    del lay["template"]  # the default, which a figure takes as it is made
    return lay


def history_grid(hist: pd.DataFrame, cat: Catalog, indicator_ids: list[str], unit_name: str, color: str,
                 events: pd.DataFrame, year: int, cols: int, lang: str, version: int, names: pd.Series,
                 joins: dict[str, tuple[bool, ...]], own_joins: dict[str, dict[tuple[str, str], bool]]) -> go.Figure:
    """One small chart per indicator (`cols` side by side): the unit's own figures (coloured by
    meeting its target), its predecessors' each under its name and their combined one where there
    is one (grey), its peers' median, the target; the chosen year is highlighted. Every line breaks
    where the core says a year may not be compared with the one before (`joins`, per indicator over
    the history's years in order: a methodology break, marked by a dotted line, or a partial year),
    and the unit's own also where a merger joined a unit to it (`own_joins`, by unit and period)."""
    of = dict(tuple(hist.groupby("indicator_id", sort=False)))  # each indicator's rows, in order
    shown = [i for i in indicator_ids if i in of]
    rows = max(1, math.ceil(len(shown) / cols))
    inds = [cat.indicator(i) for i in shown]
    # The grid's layout and the traces as plain values, the figure made from them at once: Plotly
    # validates a figure's whole layout again at each update (the marks set in one took 0.1 s).
    lay = copy.deepcopy(_grid(rows, cols, len(inds)))
    for title, ind in zip(lay["annotations"], inds):
        title["text"] = formatting.label(axis_title(ind, lang))
    legend = {"unit": formatting.label(unit_name), "peers": t("unit.peer_median", lang), "target": t("chart.target", lang)}
    traces: list[dict] = []
    in_legend: set[str] = set()
    marks = _Marks()
    for n, ind in enumerate(inds):
        axis = "" if n == 0 else str(n + 1)
        every = of[ind["indicator_id"]]
        years = sorted({periods.year_of(p) for p in every["period"]})
        by_year = dict(zip(years, joins.get(ind["indicator_id"], (True,) * len(years))))
        traces += _stand_in_traces(every, ind, names, in_legend, axis, lang, version, by_year)
        h = every[every["kind"] == views.OWN]
        x = [periods.year_of(p) for p in h["period"]]
        status = h["meets_target"].map({True: GOOD, False: BAD}).fillna(color).tolist()
        hover = [f"<b>{formatting.label(unit_name)}</b> {xp}<br>{formatting.label(short_name(ind, lang))}: "
                 f"{formatting.value(v, ind, lang)}<br>{t('unit.peer_median', lang)}: "
                 f"{formatting.value(pm, ind, lang)}{coverage_line(n, total, lang)}<br>"
                 f"{t('chart.target', lang)}: {formatting.value(tg, ind, lang)}{version_line(lang, version)}"
                 for xp, v, pm, tg, n, total in zip(x, h["value"], h["peer_median"], h["target"], h["n_peers"],
                                                   h["n_peer_expected"])]
        on = {"xaxis": f"x{axis}", "yaxis": f"y{axis}"}
        mine = own_joins.get(ind["indicator_id"], {})  # the unit's own line also breaks where its scope changed
        joined = [by_year.get(y, True) and mine.get((u, str(y)), True) for u, y in zip(h["unit_id"], x)]
        traces.append(dict(type="scatter", x=gapped(x, joined), y=gapped(h["value"], joined), mode="lines+markers",
                           name=legend["unit"], legendgroup="unit", showlegend=n == 0,
                           line={"color": color, "width": 3},
                           marker={"size": 9, "color": gapped(status, joined, color), "line": {"color": color, "width": 1},
                                   "symbol": gapped(h["meets_target"].map(SYMBOLS).fillna("circle").tolist(), joined,
                                                    "circle")},
                           hovertext=gapped(hover, joined), hoverinfo="text", **on))
        peers = every.drop_duplicates("period")
        px = [periods.year_of(p) for p in peers["period"]]
        pjoined = [by_year.get(y, True) for y in px]
        traces.append(dict(type="scatter", x=gapped(px, pjoined), y=gapped(peers["peer_median"], pjoined),
                           mode="lines", name=legend["peers"], legendgroup="peers", showlegend=n == 0,
                           line={"color": NEUTRAL, "dash": "dash", "width": 2}, hoverinfo="skip", **on))
        if h["target"].notna().any():
            traces.append(dict(type="scatter", x=x, y=h["target"], mode="lines", name=legend["target"],
                               legendgroup="target", showlegend=not any(tr["legendgroup"] == "target" for tr in traces),
                               line={"color": INK, "dash": "dot", "shape": "hvh", "width": 1.5},
                               hoverinfo="skip", **on))
        lay[f"xaxis{axis}"].update(_year_ticks(years))
        if ind["measure"] in ("percent", "points"):  # no axis title: the ticks say it (chart_style: 0–100)
            lay[f"yaxis{axis}"]["ticksuffix"] = "%"
        if year in years:
            _highlight(marks, year - 0.5, year + 0.5, axis)
        _merger_marks(marks, events, "year", lang, years, axis)
        _break_marks(marks, years, method_breaks(cat, ind["indicator_id"], [str(y) for y in years]), lang, axis)
    lay["shapes"] = [*lay.get("shapes", []), *marks.shapes]
    lay["annotations"] = [*lay.get("annotations", []), *marks.annotations]
    fig = go.Figure(data=traces, layout=lay)
    title = t("unit.history_title", lang, unit=unit_name)
    return layout(fig, title, lang, height=120 + 300 * rows)


def parts(table: pd.DataFrame, cat: Catalog, total_id: str, unit_name: str, year: int, lang: str,
          version: int) -> go.Figure:
    """PAR INDEX areas as points lost (largest first), or SIPAS factors as values against the target."""
    total = cat.indicator(total_id)
    points = total["measure"] == "points"
    names = [formatting.label(short_name(cat.indicator(i), lang)) for i in table["indicator_id"]]
    df = table.assign(label=names)
    df = df.sort_values("lost" if points else "value", ascending=not points).iloc[::-1]
    # Meets or misses at the indicator's precision, as the heatmaps judge it: 79,96 against 80 shows
    # "80,0%" and so meets (the raw gap would mark it missed).
    marks = [meets(v, tg, total["direction"], int(total["decimals"])) for v, tg in zip(df["value"], df["target"])]
    colors = [NEUTRAL if m is None else GOOD if m else BAD for m in marks]
    hover = [f"<b>{lab}</b><br>{t('unit.score', lang)}: {formatting.value(r['value'], total, lang)}"
             + (f" ({formatting.number(r['num'], lang, 2)}/{formatting.number(r['den'], lang, 2)} "
                f"{t('unit.points_word', lang)})" if points else "")
             + f"<br>{t('unit.peer_median', lang)}: {formatting.value(r['peer_median'], total, lang)}"
             + f"<br>{t('chart.target', lang)}: {formatting.value(r['target'], total, lang)}"
             + version_line(lang, version)
             for lab, (_, r) in zip(df["label"], df.iterrows())]
    x = df["lost"] if points else df["value"]
    # Factors: the value beside the factor's name, where the target line and the peers' median
    # tick (both at the bars' ends) never run through it. Areas have no marks: the value ends the bar.
    # Meets/misses is said by a mark as well as the colour.
    y = df["label"] if points else [f"{lab}\u00a0· {marked(formatting.value(v, total, lang), m)}"
                                    for lab, v, m in zip(df["label"], x, marks)]
    text = ([marked(t("unit.lost_text", lang, points=formatting.number(v, lang, 2)), m)
             for v, m in zip(df["lost"], marks)] if points else None)
    fig = go.Figure(go.Bar(x=x, y=y, orientation="h", marker_color=colors, text=text,
                           textposition="outside", cliponaxis=False, hovertext=hover, hoverinfo="text",
                           name=short_name(total, lang), showlegend=False))
    if points:
        worst = df["label"].iloc[-1]
        title = t("unit.areas_title", lang, unit=unit_name, year=year, area=worst)
        fig.update_xaxes(title=t("unit.lost_axis", lang), range=[0, 1.25 * max(float(x.max()), 0.1)])
    else:
        worst = df["label"].iloc[-1]
        title = t("unit.factors_title", lang, unit=unit_name, year=year, factor=worst)
        fig.add_trace(go.Scatter(x=df["peer_median"], y=y, mode="markers", name=t("unit.peer_median", lang),
                                 marker={"symbol": "line-ns-open", "size": 22, "color": INK, "line": {"width": 3}},
                                 hoverinfo="skip"))
        if df["target"].notna().any():  # a line as add_vline draws it (which took a fifth of the chart's build)
            target, line = float(df["target"].dropna().iloc[0]), _Marks()
            line.shapes.append(dict(type="line", xref="x", yref="y domain", x0=target, x1=target, y0=0, y1=1,
                                    line={"color": INK, "dash": "dot"}))
            line.annotations.append(dict(x=target, y=1, xref="x", yref="y domain", text=t("chart.target", lang),
                                         showarrow=False, xanchor="right",  # above the plot, ending at the line
                                         yanchor="bottom"))
            line.onto(fig)
        fig.update_xaxes(title=axis_title(total, lang), range=[0, 100])  # bars start at zero
    if df["target"].notna().any():
        status_legend(fig, lang)
    fig.update_yaxes(title=None, automargin=True)
    return layout(fig, title, lang, height=160 + 40 * len(df))


def rank_history(rh: pd.DataFrame, names: pd.Series, colors: dict[str, str], ind: pd.Series, bands: pd.DataFrame,
                 unit_name: str, events: pd.DataFrame, year: int, lang: str, version: int,
                 joins: dict[tuple[str, str], bool], breaks: dict[str, bool]) -> go.Figure:
    """Rank among peers per year (1 at the top), one line per unit of the lineage; the marker's colour is the grade.

    A unit's line breaks where the core says its year may not be compared with the one before
    (`joins` by unit and period: a methodology break, a partial year, a merger joining a unit to
    it), and a dotted line marks a methodology break (`breaks` by period)."""
    years = sorted(periods.year_of(p) for p in rh["period"].unique())
    grade_color = {g: GRADE_PALETTE[i % len(GRADE_PALETTE)] for i, g in enumerate(bands["grade_id"])}
    fig = go.Figure()
    for uid, g in rh.groupby("unit_id", sort=False):
        x = [periods.year_of(p) for p in g["period"]]
        hover = [f"<b>{formatting.label(names[uid])}</b> {xp}<br>{t('table.rank', lang)}: {r}/{n}<br>"
                 f"{formatting.label(short_name(ind, lang))}: {formatting.value(v, ind, lang)}<br>"
                 f"{t('table.grade', lang)}: {formatting.label(gl)}{version_line(lang, version)}"
                 for xp, r, n, v, gl in zip(x, g["rank"], g["n_peers"], g["value"], g["grade_label"])]
        joined = [joins.get((uid, p), True) for p in g["period"]]
        fig.add_trace(go.Scatter(x=gapped(x, joined), y=gapped(g["rank"], joined), mode="lines+markers",
                                 name=formatting.label(names[uid]), line={"color": colors.get(uid, NEUTRAL), "width": 3},
                                 marker={"size": 14, "color": gapped([grade_color.get(gr, NEUTRAL) for gr in g["grade"]],
                                                                     joined, NEUTRAL),
                                         "line": {"color": "white", "width": 1.5}},
                                 hovertext=gapped(hover, joined), hoverinfo="text"))
    for _, b in bands.iterrows():  # a legend entry per grade, for the marker colours
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=formatting.label(b[column("label", lang)]),
                                 marker={"size": 12, "color": grade_color[b["grade_id"]]}, hoverinfo="skip"))
    _year_axis(fig, years)
    marks = _Marks()
    if year in years:
        _highlight(marks, year - 0.5, year + 0.5)
    fig.update_xaxes(title=t("axis.year", lang))
    worst = int(rh["n_peers"].max()) if len(rh) else 1
    fig.update_yaxes(title=t("axis.rank", lang), autorange=False, range=[worst + 0.5, 0.3], tick0=1,
                     dtick=2 if worst > 12 else 1)
    _merger_marks(marks, events, "year", lang, years)
    _break_marks(marks, years, [breaks.get(str(y), False) for y in years], lang)
    marks.onto(fig)
    return layout(fig, t("unit.rank_title", lang, unit=unit_name, indicator=short_name(ind, lang)), lang, height=440)


def dossier_quarters(flow: pd.DataFrame, cat: Catalog, on_time_id: str, late_id: str, unit_name: str,
                     events: pd.DataFrame, year: int, lang: str, version: int) -> go.Figure:
    """Dossiers resolved on time (early included) and late per quarter, stacked, with the late rate on hover.

    The two stacks are the numerators of the catalog's on-time and late rates. Quarters before the
    unit was in office (`views.unit_flow`: its predecessors combined) are hatched and named so.
    """
    x = [formatting.period_label(p, lang) for p in flow["period"]]
    ok, bad = (flow[cat.components(i)[0]].sum(axis=1) for i in (on_time_id, late_id))
    combined = t("unit.combined_series", lang)
    hover = [f"<b>{xp}</b>{'' if own else ' · ' + combined}<br>{t('dossiers.on_time', lang)}: "
             f"{formatting.number(o, lang, 0)}<br>{t('dossiers.late', lang)}: {formatting.number(b, lang, 0)}<br>"
             f"{t('dossiers.late_rate', lang)}: {formatting.value(r, cat.indicator(late_id), lang)}{version_line(lang, version)}"
             for xp, o, b, r, own in zip(x, ok, bad, flow[late_id], flow["own"])]
    bars = []
    for own in (False, True):
        on = (flow["own"] == own).to_numpy()
        if not on.any():
            continue
        suffix, marker = ("", {}) if own else (f" · {combined}", {"pattern": {"shape": "/"}})
        bars += [go.Bar(x=[v for v, o in zip(x, on) if o], y=ok[on], name=t("dossiers.on_time", lang) + suffix,
                        marker_color=GOOD, marker=marker, hovertext=[v for v, o in zip(hover, on) if o], hoverinfo="text"),
                 go.Bar(x=[v for v, o in zip(x, on) if o], y=bad[on], name=t("dossiers.late", lang) + suffix,
                        marker_color=BAD, marker=marker, hovertext=[v for v, o in zip(hover, on) if o], hoverinfo="text")]
    fig = go.Figure(bars)
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title=t("axis.quarter", lang), type="category", categoryorder="array", categoryarray=x)
    fig.update_yaxes(title=t("axis.dossiers", lang))
    chosen = [i for i, y in enumerate(periods.years_of(flow["period"])) if y == year]
    marks = _Marks()
    if chosen:  # categories sit at 0, 1, 2, ...: the band spans the year's quarters
        _highlight(marks, chosen[0] - 0.5, chosen[-1] + 0.5)
    _merger_marks(marks, events, "quarter", lang, x)
    marks.onto(fig)
    return layout(fig, t("unit.dossiers_title", lang, unit=unit_name), lang, height=420)


def lineage_note(events: pd.DataFrame, names: pd.Series, lang: str) -> str:
    """'Formed on 01/03/2025 by merging A and B: earlier years combine them.'"""
    return " ".join(tm("unit.lineage_note", lang, date=formatting.date(e["date"], lang),
                      predecessors=", ".join(names[p] for p in e["predecessors"].split(","))) for _, e in events.iterrows())
