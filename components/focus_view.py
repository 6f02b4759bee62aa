"""What a leader looks at first: a unit's year in tiles, and the Overview's attention list
(indicators that miss their target with the units behind each miss, the biggest falls)."""


from __future__ import annotations

from typing import Literal

import pandas as pd
import streamlit as st

from components.chart_labels import marked
from components.kpi_tiles import by_direction, gap_unit, target_status
from reformkpi import formatting, periods
from reformkpi.catalog import Catalog
from reformkpi.periods import Period
from reformkpi.i18n import column, t, tn

NAMED = 5  # units named per indicator; the rest are counted

DeltaColor = Literal["off", "gray", "green", "red"]
DeltaArrow = Literal["off", "up", "down"]


def _short(cat: Catalog, indicator_id: str, lang: str) -> str:
    return cat.indicator(indicator_id)[column("short", lang)]


def unit_tiles(year_figures: pd.DataFrame, cat: Catalog, year: int, lang: str) -> None:
    """One tile per indicator for the chosen year: value and change on the year before, target
    and gap, rank among peers and its change, grade."""
    st.subheader(t("focus.unit_year", lang, year=year))
    if year_figures.empty:
        st.info(t("focus.no_year", lang, year=year))
        return
    rows = list(year_figures.itertuples(index=False))
    for start in range(0, len(rows), 3):
        for col, r in zip(st.columns(3), rows[start:start + 3]):
            with col:
                _unit_tile(r, cat, lang)


def _unit_tile(r, cat: Catalog, lang: str) -> None:
    ind = cat.indicator(r.indicator_id)
    decimals, unit = int(ind["decimals"]), gap_unit(ind["measure"], lang)
    delta = None
    color: DeltaColor = "off"
    arrow: DeltaArrow = "off"
    if not pd.isna(r.change):
        delta = formatting.signed(r.change, lang, decimals) + unit
        good = (r.change > 0) == (ind["direction"] == "higher_better")
        flat = formatting.rounded(r.change, decimals) == 0
        color = "gray" if flat else ("green" if good else "red")
        arrow = "off" if flat else ("up" if r.change > 0 else "down")
    c = r.comparison
    with st.container(border=True):
        st.metric(_short(cat, r.indicator_id, lang), formatting.value(r.value, ind, lang), delta,
                  delta_color=color, delta_arrow=arrow, delta_description=c.versus(lang) if delta else None)
        if c.partial:
            st.caption(c.partial_text(lang))
        if c.reason_text(lang):
            st.caption(c.reason_text(lang))
        if pd.isna(r.target):
            st.caption(t("kpi.no_target", lang))
        else:
            status = target_status(r.meets_target, ind["direction"], lang)
            line = marked(t("kpi.target", lang, target=formatting.value(r.target, ind, lang), status=status,
                            gap=formatting.number(abs(r.gap), lang, decimals) + unit), r.meets_target)
            if r.meets_target:
                st.caption(line)
            else:
                st.markdown(f":red[**{formatting.markdown_text(line)}**]")
        if not pd.isna(r.rank):
            rank = t("focus.rank", lang, rank=int(r.rank), n=int(r.n_peers))
            if not pd.isna(r.rank_change):
                change = int(r.rank_change)
                key = "focus.rank_up" if change > 0 else "focus.rank_down" if change < 0 else "focus.rank_same"
                rank += " · " + t(key, lang, n=abs(change), year=c.previous_text(lang))
            st.caption(rank)
        if isinstance(r.grade_label, str) and r.grade_label:
            st.caption(formatting.markdown_text(t("focus.grade", lang, grade=r.grade_label)))


def stand_ins(figures: pd.DataFrame, cat: Catalog, unit_name: str, formed, year: int, lang: str) -> None:
    """A year before the unit was in office: why it has no tiles, and its predecessors' own figures
    (`focus.stand_ins`), one column each, and the combined one where there is one; plain, ungraded."""
    st.info(formatting.markdown_text(t("focus.stand_ins", lang, unit=unit_name, year=year,
                                       date=formatting.date(formed, lang))), icon=":material/call_merge:")
    if figures.empty:
        return
    heads = [t("unit.combined_series", lang) if kind == "combined" else t("unit.predecessor_series", lang, name=name)
             for kind, name in zip(figures["kind"], figures["name"])]
    shown = figures.assign(head=heads, text=[formatting.value(v, cat.indicator(i), lang)
                                             for i, v in zip(figures["indicator_id"], figures["value"])])
    table = shown.pivot(index="indicator_id", columns="head", values="text").reindex(
        index=list(dict.fromkeys(figures["indicator_id"])), columns=list(dict.fromkeys(heads))).fillna("–")
    table.index = [_short(cat, i, lang) for i in table.index]
    st.dataframe(table.rename_axis(t("focus.stand_ins.indicator", lang)).reset_index(), hide_index=True)


def merged_into_note(successor_name: str, date, lang: str) -> str:
    return formatting.markdown_text(t("focus.merged_into", lang, date=formatting.date(date, lang), successor=successor_name))


def attention(att: pd.DataFrame, cat: Catalog, period: Period, latest: tuple[str, bool] | None, lang: str) -> None:
    """The indicators that miss their target in the period, each with the units short of theirs."""
    label = formatting.period_label(period, lang)
    st.subheader(t("focus.attention_section", lang, period=label))
    if latest is not None:
        p, partial = latest
        key = "focus.latest_partial" if partial else "focus.latest"
        st.caption(t(key, lang, period=formatting.period_label(p, lang), year=periods.year_of(p)))
    if att.empty:
        st.success(t("focus.nothing", lang, period=label))
        return
    for r in att.itertuples(index=False):
        ind = cat.indicator(r.indicator_id)
        m, unit = ind, gap_unit(ind["measure"], lang)  # m: what formatting.value reads (measure, decimals)
        fields = {"indicator": _short(cat, r.indicator_id, lang), "value": formatting.value(r.value, m, lang),
                  "target": formatting.value(r.target, m, lang),
                  "gap": formatting.number(abs(r.gap), lang, int(ind["decimals"])) + unit if not pd.isna(r.gap) else "–"}
        misses = by_direction("focus.province_misses", ind["direction"])
        head = t(misses if r.province_misses else "focus.province_meets", lang, **fields)
        units = [t(by_direction("focus.unit_gap", ind["direction"]), lang, name=u.name, value=formatting.value(u.value, m, lang),
                   gap=formatting.number(abs(u.gap), lang, int(ind["decimals"])) + unit) for u in r.below.head(NAMED).itertuples()]
        if r.n_below > NAMED:
            units.append(tn("focus.more", r.n_below - NAMED, lang))
        body = t("focus.units_below", lang, n=r.n_below, total=r.n_units) + " " + "; ".join(units) + "."
        color, icon = ("red", "priority_high") if r.province_misses else ("orange", "warning")
        with st.container(border=True):
            st.markdown(f":{color}[:material/{icon}: **{formatting.markdown_text(head)}**]  \n{formatting.markdown_text(body)}")


def falls(fallen: pd.DataFrame, cat: Catalog, year: int, lang: str) -> None:
    """The biggest falls in rank or grade on the year before."""
    st.markdown("**" + formatting.markdown_text(t("focus.falls_section", lang, year=year, previous=year - 1)) + "**")
    if fallen.empty:
        st.caption(t("focus.no_falls", lang, year=year))
        return
    lines = []
    for r in fallen.itertuples(index=False):
        line = t("focus.fall_rank", lang, indicator=_short(cat, r.indicator_id, lang), name=r.name,
                 previous=r.previous_rank, rank=r.rank)
        if r.grade_fell:
            line += "; " + t("focus.fall_grade", lang, previous=r.previous_grade_label, grade=r.grade_label)
        lines.append("- " + formatting.markdown_text(line))
    st.markdown("\n".join(lines))
