"""Overview charts: each unit against its target for one period (Satisfaction draws it too), and
the province trend by year."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from components.chart_labels import axis_title, marked, short_name, version_line
from components.chart_style import layout
from components.palette import GOOD, INK, NEUTRAL, STATUS_COLORS, status_legend
from reformkpi import formatting
from reformkpi.i18n import t
from reformkpi.metrics.views import Kpi


def unit_values(table: pd.DataFrame, ind: pd.Series, k: Kpi, lang: str, version: int) -> go.Figure:
    """Each unit against its target for one period, best on top.

    With targets the bars are the gap (right of zero: ahead of the target, left: short of it),
    labelled with the value; without targets they are the values.
    """
    best_first = table.sort_values("value", ascending=ind["direction"] != "higher_better")
    df = best_first.iloc[::-1]  # Plotly draws the first bar at the bottom
    has_target = df["target"].notna().any()
    status = df["meets_target"].map({True: "meets", False: "misses"}).fillna("none")
    colors = status.map(STATUS_COLORS)
    gap_unit = " " + t("unit.points", lang) if ind["measure"] in ("percent", "points") else ""
    shown = formatting.separating_decimals(df["value"], df["rank"], int(ind["decimals"]))
    hover = [
        f"<b>{formatting.label(r['name'])}</b><br>{formatting.label(short_name(ind, lang))}: "
        f"{formatting.value(r['value'], ind['measure'], lang, shown)}<br>"
        f"{t('table.target', lang)}: {formatting.value(r['target'], ind, lang)} "
        f"({formatting.signed(r['gap'], lang, int(ind['decimals']))}{gap_unit})<br>"
        f"{t('table.rank', lang)}: {r['rank'] if pd.notna(r['rank']) else t('table.incomplete', lang)}/{r['n_peers']}"
        + version_line(lang, version)
        for _, r in df.iterrows()]
    fig = go.Figure(go.Bar(x=df["gap"] if has_target else df["value"],
                           y=[formatting.label(n) for n in df["name"]], orientation="h",
                           marker_color=colors.tolist(), hovertext=hover, hoverinfo="text",
                           text=[marked(formatting.value(v, ind["measure"], lang, shown), m)
                                 for v, m in zip(df["value"], df["meets_target"])],
                           textposition="outside", cliponaxis=False, name=short_name(ind, lang),
                           customdata=df["unit_id"].tolist(), showlegend=False))  # the colours have the legend
    if has_target:
        fig.add_vline(x=0, line={"color": INK, "width": 2})
        target = formatting.value(k.target, ind, lang) if k.target is not None else ""
        title = t("chart.gap_title", lang, indicator=short_name(ind, lang), period=formatting.period_label(k.period, lang),
                  n=k.n_below_target, total=k.n_units, target=target)
        lo, hi = min(0.0, df["gap"].min()), max(0.0, df["gap"].max())
        pad = 0.2 * (hi - lo or 1.0)  # room for the value labels outside the bars
        fig.update_xaxes(title=t("chart.gap_axis", lang) + gap_unit, zeroline=False, range=[lo - pad, hi + pad])
    else:
        title = t("chart.values_title", lang, indicator=short_name(ind, lang), period=formatting.period_label(k.period, lang))
        fig.update_xaxes(title=axis_title(ind, lang))
    if has_target:
        status_legend(fig, lang, [s for s in ("meets", "misses", "none") if (status == s).any()])
    fig.update_yaxes(title=None, automargin=True)
    return layout(fig, title, lang, height=140 + 28 * len(df))


def province_trend(trend: pd.DataFrame, ind: pd.Series, lang: str, version: int, title: str) -> go.Figure:
    """The province-wide value by year, with the target of each year as a dashed step, how many
    units each year covers (hover), and a dotted line where the method changes. The line breaks
    where the core says two years may not be compared (a method change, a partial year, labelled
    with the months it covers)."""
    hover = [f"{p}: {formatting.value(v, ind['measure'], lang, int(ind['decimals']))}<br>"
             f"{t('context.coverage', lang, n=n, total=total)}" + version_line(lang, version)
             for p, v, n, total in zip(trend["label"], trend["value"], trend["n_units"], trend["n_expected"])]
    fig = go.Figure()
    segment = (~trend["joined"].astype(bool)).cumsum().to_numpy()
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
    fig.update_xaxes(title=t("axis.year", lang), type="category", tickvals=trend["period"].tolist(),
                     ticktext=trend["label"].tolist())
    fig.update_yaxes(title=axis_title(ind, lang))
    return layout(fig, title, lang, height=420)
