"""Satisfaction charts: the province by factor, the spread of units, units × factors, years below target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.chart_labels import SYMBOLS, axis_title, marked, short_name, version_line
from components.chart_style import layout
from components.context import coverage_line
from components.charts import register_table
from components.palette import BAD, GOOD, INK, NEUTRAL, direction_scale, scale_legend, status_legend
from components.tables import full_height
from reformkpi import formatting
from reformkpi.catalog import Catalog
from reformkpi.metrics.targets import meets
from reformkpi.i18n import t, tn


def by_factor(summary: pd.DataFrame, cat: Catalog, year: int, lang: str, version: int) -> go.Figure:
    """The province-wide total and each factor against the target; the bar says how many units miss it."""
    inds = [cat.indicator(i) for i in summary["indicator_id"]]
    labels = [formatting.label(short_name(i, lang)) for i in inds]
    colors = (summary["gap"] >= 0).map({True: GOOD, False: BAD}).where(summary["target"].notna(), NEUTRAL).tolist()
    hover = [f"<b>{lab}</b><br>{t('chart.province', lang)}: {formatting.value(r['value'], i, lang)}<br>"
             f"{t('chart.target', lang)}: {formatting.value(r['target'], i, lang)}<br>"
             f"{tn('kpi.below', int(r['n_below']), lang, total=r['n_units'])}{coverage_line(r['n_units'], r['n_expected'], lang)}"
             f"{version_line(lang, version)}"
             for lab, i, (_, r) in zip(labels, inds, summary.iterrows())]
    # The value beside the factor's name: outside the bar, the target line could run through it,
    # and room for it would stretch the percentage axis past 100. Meets/misses said by a mark too.
    named = [f"{lab}\u00a0· {marked(formatting.value(v, i, lang), None if pd.isna(tg) else g >= 0)}"
             for lab, v, i, g, tg in zip(labels, summary["value"], inds, summary["gap"], summary["target"])]
    fig = go.Figure(go.Bar(x=summary["value"][::-1], y=named[::-1], orientation="h", marker_color=colors[::-1],
                           hovertext=hover[::-1], hoverinfo="text", name=t("chart.province", lang), showlegend=False))
    target = summary["target"].dropna()
    if len(target):
        fig.add_vline(x=float(target.iloc[0]), line={"color": INK, "dash": "dot", "width": 2},
                      annotation_text=t("chart.target", lang) + " " + formatting.value(target.iloc[0], inds[0], lang),
                      annotation_position="top left",  # above the plot, ending at the line
                      annotation_yanchor="bottom")
    fig.update_xaxes(title=axis_title(inds[0], lang), range=[0, 100])  # bars start at zero
    if len(target):
        status_legend(fig, lang)
    fig.update_yaxes(title=None, automargin=True)
    return layout(fig, t("satisfaction.factors_title", lang, year=year), lang, height=150 + 45 * len(labels))


def distribution(table: pd.DataFrame, ind: pd.Series, year: int, lang: str, version: int) -> go.Figure:
    """Every unit's value as a dot on one line (coloured by meeting its own target), with the target."""
    colors = table["meets_target"].map({True: GOOD, False: BAD}).fillna(NEUTRAL).tolist()
    hover = [f"<b>{formatting.label(n)}</b><br>{formatting.label(short_name(ind, lang))}: "
             f"{formatting.value(v, ind, lang)}<br>{t('table.target', lang)}: "
             f"{formatting.value(tg, ind, lang)}{version_line(lang, version)}"
             for n, v, tg in zip(table["name"], table["value"], table["target"])]
    fig = go.Figure([
        go.Box(x=table["value"], name="", boxpoints=False, fillcolor="rgba(0,0,0,0.04)", line={"color": NEUTRAL},
               hoverinfo="skip", showlegend=False),
        go.Scatter(x=table["value"], y=[""] * len(table), mode="markers", name=t("table.unit", lang),
                   marker={"size": 14, "color": colors, "line": {"color": "white", "width": 1}, "opacity": 0.85,
                           "symbol": table["meets_target"].map(SYMBOLS).fillna("diamond").tolist()},
                   hovertext=hover, hoverinfo="text", showlegend=False)])
    target = table["target"].dropna()
    if len(target):
        fig.add_vline(x=float(target.mode().iloc[0]), line={"color": INK, "dash": "dot", "width": 2},
                      annotation_text=t("chart.target", lang))
    fig.update_xaxes(title=axis_title(ind, lang))
    fig.update_yaxes(showticklabels=False)
    below = int((table["meets_target"] == False).sum())  # noqa: E712  (NA counts as neither)
    return layout(fig, tn("satisfaction.distribution_title", len(table), lang, year=year, below=below), lang,
                   height=300)


def factor_heatmap(matrix: pd.DataFrame, cat: Catalog, target: float | None, lang: str, version: int) -> go.Figure:
    """Units × the total and its factors, the best unit on top; BAD below the target, GOOD above it."""
    ids = [c for c in matrix.columns if c != "name"]
    inds = [cat.indicator(i) for i in ids]
    x = [formatting.label(short_name(i, lang)) for i in inds]
    y = [formatting.label(n) for n in matrix["name"]]
    z = matrix[ids].to_numpy(dtype=float)
    hover = [[f"<b>{uy}</b><br>{fx}: {formatting.value(v, i, lang)}{version_line(lang, version)}"
              for fx, v, i in zip(x, row, inds)] for uy, row in zip(y, z)]
    scale = direction_scale(inds[0]["direction"], np.nanmin(z), np.nanmax(z), target)
    fig = go.Figure(go.Heatmap(z=z, x=x, y=y, **scale,
                               text=[[marked(formatting.number(v, lang, int(i["decimals"])),
                                             meets(v, target, i["direction"], int(i["decimals"])))
                                      for v, i in zip(row, inds)] for row in z],
                               texttemplate="%{text}",
                               hovertext=hover, hoverinfo="text", xgap=1, ygap=1,
                               colorbar=scale_legend(scale, target, inds[0], lang)))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(side="top")
    return layout(fig, t("satisfaction.heatmap_title", lang), lang, height=180 + 30 * len(y))


def below_table(below: pd.DataFrame, ind: pd.Series, lang: str, title: str) -> None:
    """Units that missed the target, most years first, with the current run of years below (also in the page's exports)."""
    register_table("sat_below", title, below, ind["indicator_id"])
    shown = pd.DataFrame({
        t("table.unit", lang): below["name"],
        t("satisfaction.years_below", lang): [f"{b}/{m}" for b, m in zip(below["years_below"], below["years_measured"])],
        t("satisfaction.streak", lang): below["streak"],
        t("satisfaction.below_years", lang): below["below_years"],
        t("satisfaction.last_value", lang): [formatting.value(v, ind, lang) for v in below["last_value"]],
        t("table.gap", lang): [formatting.signed(v, lang, int(ind["decimals"])) + " " + t("unit.points", lang)
                                for v in below["last_gap"]],
    })
    st.dataframe(shown, hide_index=True, width="stretch", height=full_height(len(shown)))
