"""Tổng quan: what needs attention first (misses and the units behind them, falls), headline indicators, units against the target, the province trend, the league table."""

import streamlit as st

from components import charts, context, data, filters, focus_view, kpi_tiles, overview_view, shell, subscribe, tables
from reformkpi import focus, formatting
from reformkpi.metrics import comparability, datasets, ranking, views
from reformkpi.context import figure_context, trend_title
from reformkpi.i18n import column, t, tm
from reformkpi.subscriptions import Target

lang = shell.language()
ref = shell.require_data(lang)
catalog = data.dataset(ref).catalog
shell.header(t("overview.title", lang), ref, lang)
subscribe.control([Target("attention"), Target("province")], lang, "subscribe-overview")

years, default_year = data.query(datasets.year_choices, ref)
sel = filters.common(years, default_year, lang)
charts.drawn_for(sel.period, sel.level)
if sel.period.is_year and (last := data.query(datasets.latest_quarter, ref, sel.year)) and last.quarter != 4:
    st.caption(t("overview.partial_year", lang, year=sel.year, period=formatting.period_label(last, lang)))

ranked = catalog.indicators.loc[catalog.indicators["ranked"], "indicator_id"]
attention = data.query(focus.attention, ref, tuple(ranked), sel.period, sel.level, lang)
focus_view.attention(attention, catalog, sel.period, data.query(focus.latest_data, ref), lang)
yearly = tuple(catalog.indicators.loc[catalog.indicators["ranked"] & (catalog.indicators["frequency"] == "year"),
                                      "indicator_id"])
focus_view.falls(data.query(focus.falls, ref, yearly, sel.year, sel.level or "department", lang), catalog, sel.year,
                 lang)

st.subheader(t("overview.headline", lang, period=formatting.period_label(sel.period, lang)))
headline = catalog.indicators[catalog.indicators["headline"]]
kpi_tiles.row([(data.query(views.kpi, ref, i, sel.period, sel.level, lang), catalog.indicator(i),
                data.query(figure_context, ref, i, sel.period, sel.level, lang)) for i in headline["indicator_id"]], lang)

st.subheader(t("overview.units_section", lang))
# Units are compared on the indicator that needs attention first, unless the reader chose another.
indicator_id = filters.indicator(catalog.indicators[catalog.indicators["ranked"]], lang,
                                 default=attention["indicator_id"].iloc[0] if len(attention) else None)
ind = catalog.indicator(indicator_id)
k = data.query(views.kpi, ref, indicator_id, sel.period, sel.level, lang)
ctx = data.query(figure_context, ref, indicator_id, sel.period, sel.level, lang)
table = data.query(ranking.league_table, ref, indicator_id, sel.period, sel.level, lang)
if table.empty:
    st.warning(tm("empty.no_data", lang, indicator=ind[column("short", lang)],
                 period=formatting.period_label(sel.period, lang)))
else:
    left, right = st.columns([3, 2])
    with left:
        charts.show_linked(charts.figure(overview_view.unit_values, table, ind, k, lang, ref.version, span=0.6),
                           key="overview_units", page="app_pages/unit.py", data=table, indicator=indicator_id, lang=lang)
        st.caption(t("overview.click_hint", lang))
        context.caption(ctx)
    with right:
        trend = data.query(views.province_trend, ref, indicator_id, sel.level, lang)
        charts.show(charts.figure(overview_view.province_trend, trend, ind, lang, ref.version,
                                  trend_title(catalog, indicator_id, lang), span=0.4), key="overview_trend",
                    data=trend, indicator=indicator_id, lang=lang)
        if k.formula:
            st.caption(tm("kpi.formula", lang, formula=k.formula))
        context.caption(ctx)
    title = t("table.title", lang, indicator=ind[column("short", lang)],
              period=formatting.period_label(k.period, lang))
    st.markdown(f"**{title}**")
    tables.league(table, ind, lang, title, data.query(comparability.compare, ref, indicator_id, sel.period).changes_note(lang))
    context.caption(ctx)
