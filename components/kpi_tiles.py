"""Headline tiles: value, change against the previous period, target and gap, units below target."""


from __future__ import annotations

from typing import Literal

import pandas as pd
import streamlit as st

from components import context
from components.chart_labels import marked
from reformkpi import formatting
from reformkpi.context import FigureContext
from reformkpi.i18n import column, t, tm, tn
from reformkpi.metrics.views import Kpi

DeltaColor = Literal["off", "gray", "green", "red"]
DeltaArrow = Literal["off", "up", "down"]


def gap_unit(measure: str, lang: str) -> str:
    return " " + t("unit.points", lang) if measure in ("percent", "points") else ""


def by_direction(key: str, direction: str) -> str:
    """The message `key` for a higher-is-better indicator, its `_lower` twin otherwise: a late rate
    over its ceiling is 'above' it, not 'short' of it."""
    return key if direction == "higher_better" else key + "_lower"


def target_status(meets_target: bool | None, direction: str, lang: str) -> str:
    """'met, ahead by' / 'missed, short by' (lower is better: 'below by' / 'above by')."""
    return t(by_direction("kpi.met" if meets_target else "kpi.missed", direction), lang)


def tile(k: Kpi, ind: pd.Series, lang: str) -> None:
    name = ind[column("short", lang)]
    decimals = int(ind["decimals"])
    value = formatting.value(k.value, ind["measure"], lang, decimals)  # "–" when there is no figure
    delta = None
    color: DeltaColor = "off"
    arrow: DeltaArrow = "off"
    if k.change is not None:
        unit = gap_unit(ind["measure"], lang)
        delta = formatting.signed(k.change, lang, decimals) + unit
        good = (k.change > 0) == (ind["direction"] == "higher_better")
        color = "gray" if k.change == 0 else ("green" if good else "red")
        arrow = "off" if k.change == 0 else ("up" if k.change > 0 else "down")
    c = k.comparison
    st.metric(formatting.markdown_text(name), value, delta, delta_color=color, delta_arrow=arrow, border=True,
              help=tm("kpi.formula", lang, formula=k.formula) if k.formula
              else formatting.markdown_text(ind[column("name", lang)]),
              delta_description=c.versus(lang) if delta and c else None)
    if k.value is None:
        st.caption(t("kpi.no_data", lang))
        return
    if c and c.partial:
        st.caption(c.partial_text(lang))
    if c and c.reason_text(lang):
        st.caption(c.reason_text(lang))
    elif k.change is not None and k.n_common < k.n_units:
        st.caption(tn("kpi.like_for_like", k.n_common, lang))
    if k.target is None:
        st.caption(t("kpi.no_target", lang))
        return
    if k.gap is not None:
        status = target_status(k.meets_target, ind["direction"], lang)
        line = marked(t("kpi.target", lang, target=formatting.value(k.target, ind["measure"], lang, decimals),
                        status=status, gap=formatting.number(abs(k.gap), lang, decimals) + gap_unit(ind["measure"], lang)),
                      k.meets_target)
        if k.meets_target:
            st.caption(line)
        else:  # a miss is the first thing to see on the tile
            st.markdown(f":red[**{formatting.markdown_text(line)}**]")
    if k.n_units:
        st.caption(tn("kpi.below", k.n_below_target, lang, total=k.n_units))


def row(kpis: list[tuple[Kpi, pd.Series, FigureContext]], lang: str) -> None:
    """Tiles side by side, each with its context (source · coverage · version, method on hover) under it."""
    for col, (k, ind, ctx) in zip(st.columns(len(kpis)), kpis):
        with col:
            tile(k, ind, lang)
            context.caption(ctx)
