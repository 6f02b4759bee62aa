"""Plotly charts. They take frames computed by the core and only draw them.

Colours: the Okabe-Ito palette (safe for colour-blind readers); good and bad follow the
indicator's direction, so "meets the target" is always blue and "misses" always vermillion.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, sample_colorscale
import streamlit as st

from components import chart_style
from components.chart_style import layout
from reformkpi import exports, formatting
from reformkpi.catalog import Catalog
from reformkpi.i18n import t
from reformkpi.metrics.views import Kpi

GOOD, BAD, NEUTRAL, INK = "#0072B2", "#D55E00", "#999999", "#222222"
# Units get Paul Tol's "muted" colours (colour-blind safe, distinct from GOOD and BAD), by their
# place in the catalog, so that a unit has the same colour on every chart and every page.
UNIT_PALETTE = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499")
# Grade bands from the best to the worst: blue to vermillion (Okabe-Ito), the same way as GOOD to BAD.
GRADE_PALETTE = ("#0072B2", "#56B4E9", "#E69F00", "#D55E00", "#7F2704")


def unit_colors(units: pd.DataFrame) -> dict[str, str]:
    """The colour of each unit, fixed by its row in the catalog."""
    ids = units.loc[units["level"] != "province", "unit_id"]
    return {u: UNIT_PALETTE[i % len(UNIT_PALETTE)] for i, u in enumerate(ids)}


CAP = 3  # colours saturate at most this many times the target away from it


def direction_scale(direction: str, lo: float, hi: float, target: float | None) -> dict:
    """Heatmap colours centred on the target: white at the target, BAD on its wrong side, GOOD on the other.

    Both sides saturate at the same distance from the target, the data's furthest, but at most
    CAP times the target (one outlier would wash out the rest) and not past the data's own end.
    Without a target the scale runs over the data's range from white to BAD.
    Returns the zmin, zmax and colorscale arguments of a go.Heatmap.
    """
    lo, hi = float(lo), float(hi) if hi > lo else float(lo) + 1.0
    if target is None:
        scale = [[0.0, "#FFFFFF"], [1.0, BAD]] if direction == "lower_better" else [[0.0, BAD], [1.0, "#FFFFFF"]]
        return {"zmin": lo, "zmax": hi, "colorscale": scale}
    reach = max(hi - target, target - lo, 0.0)
    if target > 0:
        reach = min(reach, CAP * target)
    reach = reach or 1.0
    zmin, zmax = max(target - reach, min(lo, target)), min(target + reach, max(hi, target))
    if zmax <= zmin:
        zmin, zmax = target - reach, target + reach
    mid = (target - zmin) / (zmax - zmin)
    low, high = (GOOD, BAD) if direction == "lower_better" else (BAD, GOOD)
    return {"zmin": zmin, "zmax": zmax, "colorscale": [[0.0, low], [mid, "#FFFFFF"], [1.0, high]]}


def scale_legend(scale: dict, target: float | None, measure: str, lang: str) -> dict:
    """The colour bar of a direction_scale: its ends and the target, named."""
    ends = [scale["zmin"], scale["zmax"]]
    if target is None:
        return {"tickvals": ends, "ticktext": [formatting.value(v, measure, lang) for v in ends]}
    return {"tickvals": [ends[0], target, ends[1]],
            "ticktext": [formatting.value(ends[0], measure, lang),
                         t("chart.target", lang) + " " + formatting.value(target, measure, lang),
                         formatting.value(ends[1], measure, lang)]}


def status_legend(fig: go.Figure, lang: str, statuses=("meets", "misses")) -> None:
    """Legend entries for bar colours that say meets or misses the target (the bars carry no names)."""
    for status in statuses:
        fig.add_trace(go.Bar(x=[None], y=[None], name=t(f"focus.status_{status}", lang), hoverinfo="skip",
                             marker_color={"meets": GOOD, "misses": BAD, "none": NEUTRAL}[status], showlegend=True))


def version_line(lang: str, version: int) -> str:
    return f"<br>{t('hover.version', lang)}: {version}"


def short_name(ind: pd.Series, lang: str) -> str:
    return ind["short_vi" if lang == "vi" else "short_en"]


def _axis_title(ind: pd.Series, lang: str) -> str:
    return short_name(ind, lang) + (" (%)" if ind["measure"] in ("percent", "points") else "")


def unit_values(table: pd.DataFrame, ind: pd.Series, k: Kpi, lang: str, version: int) -> go.Figure:
    """Each unit against its target for one period, best on top.

    With targets the bars are the gap (right of zero: ahead of the target, left: short of it),
    labelled with the value; without targets they are the values.
    """
    best_first = table.sort_values("value", ascending=ind["direction"] != "higher_better")
    df = best_first.iloc[::-1]  # Plotly draws the first bar at the bottom
    has_target = df["target"].notna().any()
    status = df["meets_target"].map({True: "meets", False: "misses"}).fillna("none")
    colors = status.map({"meets": GOOD, "misses": BAD, "none": NEUTRAL})
    gap_unit = " " + t("unit.points", lang) if ind["measure"] in ("percent", "points") else ""
    shown = formatting.separating_decimals(df["value"], df["rank"], int(ind["decimals"]))
    hover = [
        f"<b>{formatting.label(r['name'])}</b><br>{formatting.label(short_name(ind, lang))}: "
        f"{formatting.value(r['value'], ind['measure'], lang, shown)}<br>"
        f"{t('table.target', lang)}: {formatting.value(r['target'], ind['measure'], lang)} "
        f"({formatting.signed(r['gap'], lang)}{gap_unit})<br>"
        f"{t('table.rank', lang)}: {r['rank'] if pd.notna(r['rank']) else t('table.incomplete', lang)}/{r['n_peers']}"
        f"<br>{t('hover.version', lang)}: {version}"
        for _, r in df.iterrows()]
    fig = go.Figure(go.Bar(x=df["gap"] if has_target else df["value"],
                           y=[formatting.label(n) for n in df["name"]], orientation="h",
                           marker_color=colors.tolist(), hovertext=hover, hoverinfo="text",
                           text=[formatting.value(v, ind["measure"], lang, shown) for v in df["value"]],
                           textposition="outside", cliponaxis=False, name=short_name(ind, lang),
                           customdata=df["unit_id"].tolist(), showlegend=False))  # the colours have the legend
    if has_target:
        fig.add_vline(x=0, line={"color": INK, "width": 2})
        target = formatting.value(k.target, ind["measure"], lang) if k.target is not None else ""
        title = t("chart.gap_title", lang, indicator=short_name(ind, lang), period=formatting.period_label(k.period, lang),
                  n=k.n_below_target, total=k.n_units, target=target)
        lo, hi = min(0.0, df["gap"].min()), max(0.0, df["gap"].max())
        pad = 0.2 * (hi - lo or 1.0)  # room for the value labels outside the bars
        fig.update_xaxes(title=t("chart.gap_axis", lang) + gap_unit, zeroline=False, range=[lo - pad, hi + pad])
    else:
        title = t("chart.values_title", lang, indicator=short_name(ind, lang), period=formatting.period_label(k.period, lang))
        fig.update_xaxes(title=_axis_title(ind, lang))
    if has_target:
        status_legend(fig, lang, [s for s in ("meets", "misses", "none") if (status == s).any()])
    fig.update_yaxes(title=None, automargin=True)
    return layout(fig, title, lang, height=140 + 28 * len(df))


def province_trend(trend: pd.DataFrame, ind: pd.Series, lang: str, version: int, title: str) -> go.Figure:
    """The province-wide value by year, with the target of each year as a dashed step, how many
    units each year covers (hover), and a dotted line where the method changes, where the line breaks."""
    hover = [f"{p}: {formatting.value(v, ind['measure'], lang, int(ind['decimals']))}<br>"
             f"{t('context.coverage', lang, n=n, total=total)}<br>{t('hover.version', lang)}: {version}"
             for p, v, n, total in zip(trend["period"], trend["value"], trend["n_units"], trend["n_expected"])]
    fig = go.Figure()
    # One line per method: a change across a methodology break is not drawn as a trend.
    segment = trend["method_break"].astype(bool).cumsum().to_numpy()
    for k in dict.fromkeys(segment):
        part = segment == k
        fig.add_trace(go.Scatter(x=trend["period"][part].tolist(), y=trend["value"][part].tolist(), mode="lines+markers",
                                 name=t("chart.province", lang), legendgroup="province", showlegend=bool(k == segment[0]),
                                 line={"color": GOOD, "width": 3}, marker={"size": 9},
                                 hovertext=[h for h, p in zip(hover, part) if p], hoverinfo="text"))
    if trend["target"].notna().any():
        fig.add_trace(go.Scatter(x=trend["period"], y=trend["target"], mode="lines", name=t("chart.target", lang),
                                 line={"color": INK, "dash": "dash", "shape": "hvh"}, hoverinfo="skip"))
    for i in [i for i, brk in enumerate(trend["method_break"]) if brk]:
        # Between the last year of the old method and the first of the new, by position: a category
        # axis reads a year-like text ("2022") as a position, not as the category.
        fig.add_vline(x=i - 0.5, line={"color": NEUTRAL, "dash": "dot", "width": 2})
        fig.add_annotation(x=i - 0.5, y=1, yref="paper", text=t("chart.method_break", lang), showarrow=False,
                           xanchor="left", yanchor="bottom", font={"color": INK})
    fig.update_xaxes(title=t("axis.year", lang), type="category")
    fig.update_yaxes(title=_axis_title(ind, lang))
    return layout(fig, title, lang, height=420)


def figure(builder, *args, span: float = 1.0) -> go.Figure:
    """`builder(*args)`, laid out for this session's screen (in a column `span` of the page wide;
    columns stack on a phone),
    and kept while the inputs are the same: Plotly takes longer to build a figure than the core
    takes to compute its data, and a rerun with the same filters draws the same chart.

    Figures are kept as objects (not copied) and never changed after they are built.
    """
    screen = chart_style.screen()
    return _built(builder.__module__, builder.__qualname__, args, screen, 1.0 if screen.narrow else span)


# The catalog of a data version is one object for as long as that version is cached: hash it by identity.
@st.cache_resource(max_entries=256, show_spinner=False, hash_funcs={Catalog: id})
def _built(module: str, name: str, args: tuple, screen: chart_style.Screen, span: float) -> go.Figure:
    return chart_style.fit(getattr(importlib.import_module(module), name)(*args), screen, span)


SHOWN = "charts:shown"


@dataclass(frozen=True)
class Drawn:
    """What a page drew, for its exports: the figure (None for a table), the frame the core computed
    for it, and the indicator it shows. The exhibit is built from them only when a file is made."""

    figure: go.Figure | None
    frame: pd.DataFrame
    indicator_id: str | None
    title: str = ""


def forget_shown() -> None:
    """Called before a page runs: the export menu offers what this run draws, nothing else."""
    st.session_state[SHOWN] = {}


def shown() -> dict[str, Drawn]:
    """The charts and tables drawn so far in this run, in order, by key."""
    return dict(st.session_state.get(SHOWN, {}))


def _register(key: str, fig: go.Figure | None, data: pd.DataFrame, indicator: str | None, title: str = "") -> None:
    st.session_state.setdefault(SHOWN, {})[key] = Drawn(fig, data, indicator, title)


def register_table(key: str, title: str, data: pd.DataFrame, indicator: str | None) -> None:
    """A table the page shows, so that decks and reports carry it too."""
    _register(key, None, data, indicator, title)


def show(fig: go.Figure, key: str, *, data: pd.DataFrame, indicator: str | None = None) -> None:
    """Draw a chart and register the frame the core computed for it (its exports are that frame)."""
    _register(key, fig, data, indicator)
    st.plotly_chart(fig, key=key, config=chart_style.plotly_config(chart_style.screen()))


def show_heatmap(fig: go.Figure, key: str, *, data: pd.DataFrame, indicator: str | None = None) -> None:
    """A heatmap; on a phone its cells as a table instead, coloured alike, that scrolls sideways
    with the row names pinned (a heatmap squeezed into a phone's width cannot be read)."""
    if not chart_style.screen().narrow:
        show(fig, key, data=data, indicator=indicator)
        return
    _register(key, fig, data, indicator)
    hm = fig.data[0]
    rows, cols = [exports.plain(str(v)) for v in hm.y], [exports.plain(str(v)) for v in hm.x]
    values = pd.DataFrame(list(hm.z), index=rows, columns=cols)
    shown = pd.DataFrame(list(hm.text), index=rows, columns=cols)
    span = (hm.zmax - hm.zmin) or 1.0
    # sample_colorscale reads [stop, "rgb(...)"] lists only
    scale = [[stop, "rgb({}, {}, {})".format(*hex_to_rgb(color)) if color.startswith("#") else color]
             for stop, color in hm.colorscale]

    def background(v):
        if pd.isna(v):
            return ""
        color = sample_colorscale(scale, [min(max((v - hm.zmin) / span, 0.0), 1.0)])[0]
        return f"background-color: {color}"

    st.markdown("**" + formatting.markdown_text(exports.plain(fig.layout.title.text or "")) + "**")
    styled = shown.style.apply(lambda col: [background(v) for v in values[col.name]], axis=0)
    st.dataframe(styled, width="stretch", column_config={"_index": st.column_config.TextColumn(pinned=True)},
                 key=key)


def show_linked(fig: go.Figure, key: str, page: str, *, data: pd.DataFrame, indicator: str | None = None,
                param: str = "unit") -> None:
    """A chart whose points open another page: a click on a unit's bar opens that unit's profile.

    The point's customdata holds the id passed to the page as the query parameter `param`.
    """
    _register(key, fig, data, indicator)
    event = st.plotly_chart(fig, key=key, config=chart_style.plotly_config(chart_style.screen()), on_select="rerun",
                            selection_mode="points")
    points = event.selection.points if event else []
    if points and points[0].get("customdata") is not None:
        value = points[0]["customdata"]
        st.switch_page(page, query_params={param: value[0] if isinstance(value, list) else value})
