"""Xếp hạng: one year's ranking of peers with grade and change, ranks over the years, and how
stable each unit's result is ("kết quả xếp loại chưa ổn định" made visible)."""

import streamlit as st

from components import chart_labels, charts, context, data, filters, palette, rankings_view, shell, subscribe, tables
from reformkpi.metrics import comparability, datasets, ranking
from reformkpi.context import figure_context
from reformkpi.i18n import t, tm
from reformkpi.subscriptions import Target

lang = shell.language()
ref = shell.require_data(lang)
catalog = data.dataset(ref).catalog
shell.header(t("rankings.title", lang), ref, lang)

years, default_year = data.query(datasets.year_choices, ref)
sel = filters.common(years, default_year, lang, quarters=False)
level = sel.level or "department"  # ranks compare peers: one level at a time
charts.drawn_for(sel.period, level)
indicator_id = filters.indicator(catalog.indicators[catalog.indicators["ranked"]], lang)
subscribe.control([Target("indicator", indicator_id=indicator_id)], lang, "subscribe-rankings")
ind = catalog.indicator(indicator_id)
name = chart_labels.short_name(ind, lang)
names = datasets.unit_names(catalog, lang)
span = (years[0], sel.year)

table = data.query(ranking.league_table, ref, indicator_id, sel.period, level, lang)
title = t("table.title", lang, indicator=name, period=sel.year)
st.subheader(tm("table.title", lang, indicator=name, period=sel.year))
if table.empty:
    st.warning(tm("empty.no_data", lang, indicator=name, period=sel.year))
else:
    tables.league(table, ind, lang, title,
                  data.query(comparability.compare, ref, indicator_id, sel.period).changes_note(lang))
ctx = data.query(figure_context, ref, indicator_id, sel.period, level, lang)
context.caption(ctx)

ranks = data.query(ranking.ranks, ref, indicator_id, "year", level, span)
stability = data.query(ranking.rank_stability, ref, indicator_id, level, span)
if ranks["period"].nunique() > 1:
    ranked_years = tuple(sorted(ranks["period"].unique()))
    joined = data.query(comparability.unit_joins, ref, indicator_id, tuple(ranks["unit_id"].unique()), ranked_years)
    breaks = dict(zip(ranked_years, comparability.method_breaks(catalog, indicator_id, ranked_years)))
    charts.show(charts.figure(rankings_view.bump, ranks, stability, names,
                              palette.colors_of(catalog.units, ranks["unit_id"]), ind, lang, ref.version, joined,
                              breaks),
                key="rankings_bump", data=ranks, indicator=indicator_id, lang=lang)
    context.caption(ctx)
    title = t("rankings.stability_section", lang, first=span[0], last=span[1])
    st.subheader(title)
    st.caption(t("rankings.stability_note", lang))
    rankings_view.stability_table(stability, names, lang, title)
    context.caption(ctx)
    if catalog.grade_bands["family"].eq(ind["family"]).any():
        counts = data.query(ranking.grade_counts, ref, indicator_id, level, span, lang)
        charts.show(charts.figure(rankings_view.grade_bands, counts, ind, lang, ref.version), key="rankings_grades",
                    data=counts, indicator=indicator_id, lang=lang)
        context.caption(ctx)
