"""Rankings over the years: a bump chart of ranks, grade band counts, and how stable each unit is."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.chart_labels import short_name, version_line
from components.chart_style import gapped, layout
from components.charts import register_table
from components.palette import GRADE_PALETTE, INK, NEUTRAL, UNIT_PALETTE
from components.tables import full_height
from reformkpi import formatting
from reformkpi.i18n import t, tn

HIGHLIGHTED = 5  # the least stable units are drawn in colour, the rest in grey


def bump(ranks: pd.DataFrame, stability: pd.DataFrame, names: pd.Series, colors: dict[str, str], ind: pd.Series,
         lang: str, version: int, joins: dict[tuple[str, str], bool], method: dict[str, bool]) -> go.Figure:
    """Rank per year for every unit (1 on top); the least stable units in their colours, the others grey.

    A unit's line breaks where the core says its year may not be compared with the one before
    (`joins` by unit and period: a methodology break, a partial year, a merger joining a unit to
    it); a dotted line marks a methodology break (`method` by period)."""
    unstable = stability["unit_id"].head(HIGHLIGHTED).tolist()
    years = sorted(ranks["period"].unique())
    # The other units share one grey trace (lines split by gaps): hundreds of traces are slow to draw.
    grey = ranks[~ranks["unit_id"].isin(unstable)].sort_values(["unit_id", "period"])
    nxt = grey["period"].shift(-1)
    breaks = grey["unit_id"].ne(grey["unit_id"].shift(-1)) | ~pd.Series(
        [joins.get((u, p), True) for u, p in zip(grey["unit_id"], nxt)], index=grey.index, dtype=bool)
    x = [v for p, b in zip(grey["period"], breaks) for v in ((p, None) if b else (p,))]
    y = [v for r, b in zip(grey["rank"], breaks) for v in ((r, None) if b else (r,))]
    hover = [f"<b>{formatting.label(names[u])}</b> {p}<br>{t('table.rank', lang)}: {r}/{n}{version_line(lang, version)}"
             for u, p, r, n in zip(grey["unit_id"], grey["period"], grey["rank"], grey["n_peers"])]
    hovers = [v for h, b in zip(hover, breaks) for v in ((h, None) if b else (h,))]
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines+markers", name=t("rankings.other_units", lang),
                               line={"color": "#D0D4D9", "width": 1.5}, marker={"size": 4}, hovertext=hovers,
                               hoverinfo="text", connectgaps=False))
    for uid, color in zip(unstable, distinct_colors(unstable, colors)):
        g = ranks[ranks["unit_id"] == uid].sort_values("period")
        name = formatting.label(names[uid])
        hover = [f"<b>{name}</b> {p}<br>{t('table.rank', lang)}: {r}/{n}<br>{formatting.label(short_name(ind, lang))}: "
                 f"{formatting.value(v, ind, lang)}{version_line(lang, version)}"
                 for p, r, n, v in zip(g["period"], g["rank"], g["n_peers"], g["value"])]
        joined = [joins.get((uid, p), True) for p in g["period"]]
        fig.add_trace(go.Scatter(x=gapped(g["period"], joined), y=gapped(g["rank"], joined), mode="lines+markers",
                                 name=name, line={"color": color, "width": 3.5}, marker={"size": 8},
                                 hovertext=gapped(hover, joined), hoverinfo="text"))
    for i in [i for i, p in enumerate(years) if method.get(p)]:  # between the two methods' years, by position
        fig.add_vline(x=i - 0.5, line={"color": NEUTRAL, "dash": "dot", "width": 2})
        fig.add_annotation(x=i - 0.5, y=1, yref="paper", text=t("chart.method_break", lang), showarrow=False,
                           xanchor="left", yanchor="bottom", font={"color": INK})
    worst = int(ranks["n_peers"].max())
    fig.update_xaxes(title=t("axis.year", lang), type="category", categoryorder="array", categoryarray=years)
    fig.update_yaxes(title=t("axis.rank", lang), autorange=False, range=[worst + 0.5, 0.5], tick0=1,
                     dtick=1 if worst <= 12 else 2)
    title = tn("rankings.bump_title", len(unstable), lang, indicator=short_name(ind, lang), first=years[0],
               last=years[-1])
    return layout(fig, title, lang, height=max(440, 140 + 22 * worst))


def distinct_colors(unit_ids: list[str], colors: dict[str, str]) -> list[str]:
    """Each unit's own colour, unless a unit drawn before it has it already (the palette repeats
    after nine units): then the first palette colour not yet used."""
    used: list[str] = []
    for uid in unit_ids:
        own = colors.get(uid, NEUTRAL)
        used.append(own if own not in used else next((c for c in UNIT_PALETTE if c not in used), own))
    return used


def grade_bands(counts: pd.DataFrame, ind: pd.Series, lang: str, version: int) -> go.Figure:
    """Units per grade band per year, stacked from the best band at the bottom."""
    fig = go.Figure()
    for i, (_, g) in enumerate(counts.groupby("grade", sort=False)):
        label = formatting.label(g["grade_label"].iloc[0])
        hover = [f"<b>{label}</b> {p}: {n}{version_line(lang, version)}" for p, n in zip(g["period"], g["n"])]
        fig.add_trace(go.Bar(x=g["period"], y=g["n"], name=label, marker_color=GRADE_PALETTE[i % len(GRADE_PALETTE)],
                             text=[n if n else "" for n in g["n"]], textposition="inside", textangle=0,
                             insidetextanchor="middle", hovertext=hover, hoverinfo="text"))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title=t("axis.year", lang), type="category")
    fig.update_yaxes(title=t("axis.units", lang))
    return layout(fig, t("rankings.grades_title", lang, indicator=short_name(ind, lang)), lang, height=420)


def stability_table(stability: pd.DataFrame, names: pd.Series, lang: str, title: str) -> None:
    """Rank spread and grade changes per unit, the least stable first (also in the page's exports)."""
    register_table("rankings_stability", title, stability, None)
    shown = pd.DataFrame({
        t("table.unit", lang): stability["unit_id"].map(names),
        t("rankings.years", lang): stability["n_years"],
        t("rankings.best_worst", lang): [f"{b}–{w}" for b, w in zip(stability["best_rank"], stability["worst_rank"])],
        t("rankings.mean_rank", lang): [formatting.number(v, lang, 1) for v in stability["mean_rank"]],
        t("rankings.rank_sd", lang): [formatting.number(v, lang, 2) for v in stability["rank_sd"]],
        t("rankings.grade_changes", lang): stability["grade_changes"],
    })
    st.dataframe(shown, hide_index=True, width="stretch", height=full_height(len(shown)))
