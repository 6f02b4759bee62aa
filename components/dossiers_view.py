"""Dossier charts: province rates by quarter, a unit × quarter heatmap, the backlog, the online share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.chart_labels import marked, short_name, version_line
from components.chart_style import layout
from components.context import coverage_line
from components.charts import register_table
from components.palette import BAD, GOOD, INK, NEUTRAL, direction_scale, scale_legend
from components.tables import full_height
from reformkpi import formatting
from reformkpi.catalog import Catalog
from reformkpi.metrics.targets import meets
from reformkpi.i18n import t


def _quarters(flow: pd.DataFrame, lang: str) -> list[str]:
    return [formatting.period_label(p, lang) for p in flow["period"]]


def _coverage(flow: pd.DataFrame, i: int, lang: str) -> str:
    """The coverage of row i of a province flow."""
    return coverage_line(flow["n_units"].iloc[i], flow["n_expected"].iloc[i], lang)


def _target_line(fig: go.Figure, x: list[str], targets: list[float | None], color: str, name: str) -> None:
    if any(v is not None for v in targets):
        fig.add_trace(go.Scatter(x=x, y=[float("nan") if v is None else v for v in targets], mode="lines", name=name,
                                 line={"color": color, "dash": "dot", "width": 1.5, "shape": "hvh"}, hoverinfo="skip"))


def rate_trend(flow: pd.DataFrame, ind: pd.Series, targets: list, lang: str, version: int,
               sources: pd.DataFrame) -> go.Figure:
    """A rate by quarter in its good or bad colour (by direction), with each quarter's target dotted,
    and where each quarter's counts come from (typed or records) on hover."""
    x = _quarters(flow, lang)
    iid = ind["indicator_id"]
    color = GOOD if ind["direction"] == "higher_better" else BAD
    source = flow["period"].map(sources.set_index("period")["source"]).fillna("")
    hover = [f"<b>{xp}</b><br>{formatting.label(short_name(ind, lang))}: {formatting.value(v, ind, lang)}"
             f"<br>{formatting.label(t('context.source', lang, source=src))}{_coverage(flow, i, lang)}"
             f"{version_line(lang, version)}" for i, (xp, v, src) in enumerate(zip(x, flow[iid], source))]
    fig = go.Figure(go.Scatter(x=x, y=flow[iid], mode="lines+markers", name=short_name(ind, lang),
                               line={"color": color, "width": 3}, marker={"size": 7}, hovertext=hover, hoverinfo="text"))
    _target_line(fig, x, targets, INK, t("chart.target", lang))
    fig.update_xaxes(title=t("axis.quarter", lang), type="category")
    fig.update_yaxes(title=t("axis.percent", lang))
    return layout(fig, t("dossiers.rate_title", lang, indicator=short_name(ind, lang)), lang, height=380)


def heatmap(matrix: pd.DataFrame, ind: pd.Series, target: float | None, lang: str, version: int) -> go.Figure:
    """Units × quarters of a rate, the worst unit on top; BAD on the wrong side of the target, GOOD on the right one."""
    quarters = [c for c in matrix.columns if c != "name"]
    z = matrix[quarters].to_numpy(dtype=float)
    x = [formatting.period_label(q, lang) for q in quarters]
    y = [formatting.label(n) for n in matrix["name"]]
    text = [[marked(formatting.number(v, lang, int(ind["decimals"])), meets(v, target, ind["direction"], int(ind["decimals"])))
             for v in row] for row in z]
    hover = [[f"<b>{uy}</b> {qx}<br>{formatting.label(short_name(ind, lang))}: {formatting.value(v, ind, lang)}"
              f"{version_line(lang, version)}" for qx, v in zip(x, row)] for uy, row in zip(y, z)]
    scale = direction_scale(ind["direction"], np.nanmin(z), np.nanmax(z), target)
    fig = go.Figure(go.Heatmap(z=z, x=x, y=y, **scale, text=text, texttemplate="%{text}", hovertext=hover,
                               hoverinfo="text", xgap=1, ygap=1,
                               colorbar=scale_legend(scale, target, ind, lang)))
    fig.update_yaxes(autorange="reversed", automargin=True, title=None)
    fig.update_xaxes(title=t("axis.quarter", lang), side="top")
    return layout(fig, t("dossiers.heatmap_title", lang, indicator=short_name(ind, lang)), lang,
                   height=160 + 30 * len(y))


def backlog(flow: pd.DataFrame, cat: Catalog, not_due_id: str, overdue_id: str, lang: str, version: int) -> go.Figure:
    """Dossiers still in progress at each quarter's end: not yet due (grey) and overdue (bad), stacked."""
    x = _quarters(flow, lang)
    fig = go.Figure()
    for iid, color in ((not_due_id, NEUTRAL), (overdue_id, BAD)):
        name = short_name(cat.indicator(iid), lang)
        hover = [f"<b>{xp}</b><br>{formatting.label(name)}: {formatting.number(v, lang, 0)}{_coverage(flow, i, lang)}"
                 f"{version_line(lang, version)}" for i, (xp, v) in enumerate(zip(x, flow[iid]))]
        fig.add_trace(go.Bar(x=x, y=flow[iid], name=name, marker_color=color, hovertext=hover, hoverinfo="text"))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title=t("axis.quarter", lang), type="category")
    fig.update_yaxes(title=t("axis.dossiers", lang))
    return layout(fig, t("dossiers.backlog_title", lang), lang, height=400)


def most_late(table: pd.DataFrame, ind: pd.Series, lang: str, title: str) -> None:
    """The units with most late dossiers: late, resolved, late rate (also in the page's exports)."""
    register_table("dossier_most_late", title, table, ind["indicator_id"])
    shown = pd.DataFrame({
        t("table.unit", lang): table["name"],
        t("dossiers.late", lang): [formatting.number(v, lang, 0) for v in table["num"]],
        t("dossiers.resolved", lang): [formatting.number(v, lang, 0) for v in table["den"]],
        t("dossiers.late_rate", lang): [formatting.value(v, ind, lang) for v in table["value"]],
    })
    st.dataframe(shown, hide_index=True, width="stretch", height=full_height(len(shown)))


def online(flow: pd.DataFrame, ind: pd.Series, targets: list, lang: str, version: int) -> go.Figure:
    """The share of dossiers received online by quarter, against its target."""
    x = _quarters(flow, lang)
    iid = ind["indicator_id"]
    hover = [f"<b>{xp}</b><br>{formatting.label(short_name(ind, lang))}: {formatting.value(v, ind, lang)}"
             f"{_coverage(flow, i, lang)}{version_line(lang, version)}" for i, (xp, v) in enumerate(zip(x, flow[iid]))]
    fig = go.Figure(go.Scatter(x=x, y=flow[iid], mode="lines+markers", name=short_name(ind, lang), fill="tozeroy",
                               line={"color": GOOD, "width": 3}, hovertext=hover, hoverinfo="text"))
    _target_line(fig, x, targets, INK, t("chart.target", lang))
    fig.update_xaxes(title=t("axis.quarter", lang), type="category")
    fig.update_yaxes(title=t("axis.percent", lang), range=[0, 100])
    return layout(fig, t("dossiers.online_title", lang), lang, height=400)
