"""Mức độ hài lòng: satisfaction overall and by factor, per unit and province-wide, against the
target; how units spread, and which units are below the target and for how many years."""

import streamlit as st

from components import (chart_labels, charts, context, data, filters, overview_view, page_requirements,
                        satisfaction_view, shell, subscribe)
from reformkpi.metrics import datasets, ranking, views
from reformkpi.context import figure_context
from reformkpi.i18n import t, tm
from reformkpi.subscriptions import Target

SIPAS_TOTAL = "sipas.overall"

lang = shell.language()
ref = shell.require_data(lang)
catalog = data.dataset(ref).catalog
shell.header(t("satisfaction.title", lang), ref, lang)
page_requirements.require(catalog, (SIPAS_TOTAL,), lang)
subscribe.control([Target("indicator", indicator_id=SIPAS_TOTAL)], lang, "subscribe-satisfaction")

years, default_year = data.query(datasets.year_choices, ref)
sel = filters.common(years, default_year, lang, quarters=False)
level = sel.level or "department"  # units are compared with their peers
charts.drawn_for(sel.period, level)
ind = catalog.indicator(SIPAS_TOTAL)
name = chart_labels.short_name(ind, lang)

summary = data.query(views.family_summary, ref, SIPAS_TOTAL, sel.year, level)
if summary.empty:
    st.warning(tm("empty.no_data", lang, indicator=name, period=sel.year))
    st.stop()
table = data.query(ranking.league_table, ref, SIPAS_TOTAL, sel.period, level, lang)
k = data.query(views.kpi, ref, SIPAS_TOTAL, sel.period, level, lang)
ctx = data.query(figure_context, ref, SIPAS_TOTAL, sel.period, level, lang)

left, right = st.columns([3, 2])
with left:
    charts.show_linked(charts.figure(overview_view.unit_values, table, ind, k, lang, ref.version, span=0.6), key="sat_units",
                       page="app_pages/unit.py", data=table, indicator=SIPAS_TOTAL, lang=lang)
with right:
    charts.show(charts.figure(satisfaction_view.by_factor, summary, catalog, sel.year, lang, ref.version, span=0.4),
                key="sat_factors", data=summary, indicator=SIPAS_TOTAL, lang=lang)
    charts.show(charts.figure(satisfaction_view.distribution, table, ind, sel.year, lang, ref.version, span=0.4),
                key="sat_distribution", data=table, indicator=SIPAS_TOTAL, lang=lang)
if k.target_source:
    st.caption(tm("satisfaction.target_source", lang, source=k.target_source))
context.caption(ctx)

matrix = data.query(views.family_matrix, ref, SIPAS_TOTAL, sel.year, level, lang)
charts.show_heatmap(charts.figure(satisfaction_view.factor_heatmap, matrix, catalog, k.target, lang, ref.version),
            key="sat_heatmap", data=matrix, indicator=SIPAS_TOTAL, lang=lang)
context.caption(ctx)

title = t("satisfaction.below_section", lang, first=years[0], last=sel.year)
st.subheader(title)
below = data.query(views.below_target_years, ref, SIPAS_TOTAL, level, (years[0], sel.year), lang)
if below.empty:
    st.success(t("satisfaction.none_below", lang))
else:
    satisfaction_view.below_table(below, ind, lang, title)
    context.caption(ctx)
