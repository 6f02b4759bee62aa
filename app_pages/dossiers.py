"""Hồ sơ TTHC: on-time and late rates by quarter (ratios of summed counts, formula shown), late
rates of every unit by quarter, the units with most late dossiers, the backlog, the online share."""

import streamlit as st

from components import charts, context, data, dossiers_view, filters, kpi_tiles, page_requirements, shell, subscribe
from reformkpi import formatting, periods
from reformkpi.metrics import datasets, rollups, targets, views
from reformkpi.context import figure_contexts, period_sources
from reformkpi.i18n import t, tm
from reformkpi.subscriptions import Target

ON_TIME_RATE, LATE_RATE, ONLINE_SHARE = "dossier.on_time_rate", "dossier.late_rate", "dossier.online_share"
NOT_DUE, OVERDUE = "dossier.pending_not_due", "dossier.pending_overdue"
BACKLOG_RATE = "dossier.backlog_overdue_rate"
YEARS_SHOWN = 3  # quarters of the chosen year and the two before it

lang = shell.language()
ref = shell.require_data(lang)
catalog = data.dataset(ref).catalog
shell.header(t("dossiers.title", lang), ref, lang)
page_requirements.require(catalog, (ON_TIME_RATE, LATE_RATE, ONLINE_SHARE, NOT_DUE, OVERDUE, BACKLOG_RATE), lang)
subscribe.control([Target("indicator", indicator_id=i) for i in (LATE_RATE, ON_TIME_RATE, ONLINE_SHARE)], lang,
                  "subscribe-dossiers")

years, default_year = data.query(datasets.year_choices, ref)
sel = filters.common(years, default_year, lang)
charts.drawn_for(sel.period, sel.level)
span = (max(years[0], sel.year - YEARS_SHOWN + 1), sel.year)
period = formatting.period_label(sel.period, lang)

st.subheader(t("dossiers.headline", lang, period=period))
# Every context the page captions, read in one pass.
ctx = data.query(figure_contexts, ref, (ON_TIME_RATE, LATE_RATE, ONLINE_SHARE, BACKLOG_RATE), sel.period, sel.level, lang)
kpi_tiles.row([(data.query(views.kpi, ref, i, sel.period, sel.level, lang), catalog.indicator(i), ctx[i])
               for i in (ON_TIME_RATE, LATE_RATE, ONLINE_SHARE)], lang)

flow = data.query(rollups.province_flow, ref, sel.level, span)
if flow.empty:
    st.warning(t("dossiers.no_data", lang, period=period))
    st.stop()
goals = {i: [targets.province(catalog, i, year)[0] for year in periods.years_of(flow["period"])]
         for i in (ON_TIME_RATE, LATE_RATE, ONLINE_SHARE)}
for column, rate in zip(st.columns(2), (ON_TIME_RATE, LATE_RATE)):
    with column:
        sources = data.query(period_sources, ref, rate, sel.level, span, lang)
        charts.show(charts.figure(dossiers_view.rate_trend, flow, catalog.indicator(rate), goals[rate], lang,
                                  ref.version, sources, span=0.5), key=f"dossier_{rate}", data=flow, indicator=rate, lang=lang)
        st.caption(tm("kpi.formula", lang, formula=catalog.formula_text(rate, lang)))
        context.caption(ctx[rate])

matrix = data.query(views.rate_matrix, ref, LATE_RATE, sel.level, span, lang)
late_target = targets.province(catalog, LATE_RATE, sel.year)[0]
charts.show_heatmap(charts.figure(dossiers_view.heatmap, matrix, catalog.indicator(LATE_RATE), late_target, lang, ref.version),
            key="dossier_heatmap", data=matrix, indicator=LATE_RATE, lang=lang)
context.caption(ctx[LATE_RATE])

left, right = st.columns(2)
with left:
    title = t("dossiers.most_late_section", lang, period=period)
    st.subheader(title)
    dossiers_view.most_late(data.query(views.most_late, ref, LATE_RATE, sel.period, sel.level, lang),
                           catalog.indicator(LATE_RATE), lang, title)
    context.caption(ctx[LATE_RATE])
with right:
    charts.show(charts.figure(dossiers_view.backlog, flow, catalog, NOT_DUE, OVERDUE, lang, ref.version, span=0.5),
                key="dossier_backlog", data=flow, indicator=OVERDUE, lang=lang)
    context.caption(ctx[BACKLOG_RATE])
charts.show(charts.figure(dossiers_view.online, flow, catalog.indicator(ONLINE_SHARE), goals[ONLINE_SHARE], lang,
                          ref.version), key="dossier_online", data=flow, indicator=ONLINE_SHARE, lang=lang)
st.caption(tm("kpi.formula", lang, formula=catalog.formula_text(ONLINE_SHARE, lang)))
context.caption(ctx[ONLINE_SHARE])
st.page_link("app_pages/records.py", label=t("records.link", lang), icon=":material/manage_search:")
