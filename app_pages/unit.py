"""Đơn vị: one department or district over the years, against its target and its peers (on the
PAPI dataset: one province among the provinces).

It opens with the chosen year's figures (value, target and gap, rank and its change, grade).

Its indicators, where it loses PAR INDEX points, its weakest SIPAS factor, its rank and grade
history and its dossiers by quarter. A unit formed by a merger shows its predecessors as their own
series before it was in office, never graded or ranked as its own (the rule for merged units, README).
"""

import streamlit as st

from components import (access, chart_labels, chart_style, charts, context, data, filters, focus_view,
                        notes_form, palette, shell, subscribe, unit_profile)
from reformkpi import focus, formatting
from reformkpi.metrics import comparability, datasets, ranking, views
from reformkpi.context import figure_context, figure_contexts
from reformkpi.i18n import t, tm
from reformkpi.subscriptions import Target

PAR_TOTAL, SIPAS_TOTAL = "par.total", "sipas.overall"
ON_TIME_RATE, LATE_RATE = "dossier.on_time_rate", "dossier.late_rate"

lang = shell.language()
ref = shell.require_data(lang)
catalog = data.dataset(ref).catalog
shell.header(t("unit.title", lang), ref, lang)
# A dataset shows the sections its catalog has (PAPI: its dimensions ranked, no parts, no dossiers).
present = set(catalog.indicators["indicator_id"])

years, default_year = data.query(datasets.year_choices, ref)
period = filters.year(years, default_year, lang)
year = period.year
unit_id = filters.unit(catalog.units, lang)
charts.drawn_for(period, None, unit_id)
subscribe.control([Target("unit", unit_id=unit_id)], lang, "subscribe-unit")
names = datasets.unit_names(catalog, lang)
color = palette.unit_colors(catalog.units)[unit_id]
events = views.merger_events(catalog, unit_id)

st.header(formatting.markdown_text(names[unit_id]), divider="gray")
if not events.empty:
    st.info(unit_profile.lineage_note(events, names, lang), icon=":material/call_merge:")
if merged := focus.merged_into(catalog, unit_id):
    st.info(focus_view.merged_into_note(names[merged[0]], merged[1], lang), icon=":material/call_merge:")

ranked = catalog.indicators.loc[catalog.indicators["ranked"], "indicator_id"].tolist()
standing = catalog.standing(unit_id, str(period))
if not standing.own and standing.units:  # before the unit was in office: its predecessors, never its own tiles
    st.subheader(t("focus.unit_year", lang, year=year))
    focus_view.stand_ins(data.query(focus.stand_ins, ref, unit_id, tuple(ranked), year, lang), catalog,
                         names[unit_id], catalog.unit(unit_id)["active_from"], year, lang)
else:
    focus_view.unit_tiles(data.query(focus.unit_year, ref, unit_id, tuple(ranked), year, lang), catalog, year, lang)

history = data.query(views.unit_history, ref, unit_id, tuple(ranked))
if history.empty:
    st.warning(tm("unit.no_data", lang, unit=names[unit_id]))
else:
    shown = tuple(dict.fromkeys(history["indicator_id"]))
    joins = {i: data.query(comparability.joins, ref, i,
                           tuple(sorted(set(history.loc[history["indicator_id"] == i, "period"])))) for i in shown}
    own_joins = {i: data.query(comparability.unit_joins, ref, i, (unit_id,),
                               tuple(sorted(set(history.loc[history["indicator_id"] == i, "period"])))) for i in shown}
    charts.show(charts.figure(unit_profile.history_grid, history, catalog, ranked, names[unit_id], color, events,
                              year, chart_style.screen().grid_columns, lang, ref.version, names, joins, own_joins),
                key="unit_history", data=history, indicator=PAR_TOTAL if PAR_TOTAL in shown else shown[0], lang=lang)  # PAPI: its own
    contexts = data.query(figure_contexts, ref, shown, period, None, lang, unit_id)
    context.captions({chart_labels.short_name(catalog.indicator(i), lang): contexts[i] for i in shown})
notes_form.note_list(data.query(views.unit_notes, ref, unit_id), catalog, lang)
notes_form.note_form(ref, catalog, unit_id, access.current_actor(), lang)

totals = [i for i in (PAR_TOTAL, SIPAS_TOTAL) if i in present]
if totals:
    st.subheader(t("unit.parts_section", lang, year=year))
for total in totals:
    parts = data.query(views.unit_parts, ref, total, unit_id, year)
    if parts.empty:
        st.info(tm("unit.no_parts", lang, indicator=chart_labels.short_name(catalog.indicator(total), lang), year=year))
    else:
        charts.show(charts.figure(unit_profile.parts, parts, catalog, total, names[unit_id], year, lang, ref.version),
                    key=f"unit_parts_{total}", data=parts, indicator=total, lang=lang)
        context.caption(data.query(figure_context, ref, total, period, None, lang, unit_id))

st.subheader(t("unit.rank_section", lang))
indicator_id = filters.indicator(catalog.indicators[catalog.indicators["ranked"]], lang)
ranks = data.query(ranking.rank_history, ref, indicator_id, unit_id, lang)
if ranks.empty:
    st.info(t("unit.no_rank", lang))
else:
    ind = catalog.indicator(indicator_id)
    ranked_years = tuple(sorted(ranks["period"].unique()))
    joined = data.query(comparability.unit_joins, ref, indicator_id, tuple(ranks["unit_id"].unique()), ranked_years)
    breaks = dict(zip(ranked_years, comparability.method_breaks(catalog, indicator_id, ranked_years)))
    charts.show(charts.figure(unit_profile.rank_history, ranks, names, palette.colors_of(catalog.units, ranks["unit_id"]),
                              ind, ranking.grade_order(catalog, ind["family"]), names[unit_id], events, year, lang,
                              ref.version, joined, breaks),
                key="unit_ranks", data=ranks, indicator=indicator_id, lang=lang)
    context.caption(data.query(figure_context, ref, indicator_id, period, None, lang, unit_id))

# Not stopped where a dataset has no dossiers (PAPI): the page's export menu follows it.
if LATE_RATE in present:
    st.subheader(t("unit.dossiers_section", lang))
    flow = data.query(views.unit_flow, ref, unit_id)
    if flow.empty:
        st.info(t("unit.no_dossiers", lang))
    else:
        charts.show(charts.figure(unit_profile.dossier_quarters, flow, catalog, ON_TIME_RATE, LATE_RATE, names[unit_id],
                                  events, year, lang, ref.version), key="unit_dossiers", data=flow, indicator=LATE_RATE,
                    lang=lang)
        st.caption(tm("kpi.formula", lang, formula=catalog.formula_text(LATE_RATE, lang)))
        context.caption(data.query(figure_context, ref, LATE_RATE, period, None, lang, unit_id))
