"""Hồ sơ chi tiết: one unit and quarter from the dossier records (which procedures run late, how
long dossiers take, the backlog), with the counts compared to those the store holds."""

import streamlit as st

from components import charts, data, records_drilldown, shell
from reformkpi import formatting
from reformkpi.i18n import column, t, tm
from reformkpi.metrics.datasets import unit_names
from reformkpi.periods import Period
from reformkpi.records import metrics as rm

lang = shell.language()
ref = shell.require_data(lang)
catalog = data.dataset(ref).catalog
shell.header(t("records.title", lang), ref, lang)

rref = shell.records(ref)
if rref is None:
    st.info(t("records.none", lang))
    st.stop()
st.caption(t("records.version", lang, version=rref.version))

names = unit_names(catalog, lang).to_dict()
quarter, unit = records_drilldown.filters(rref, catalog, names, lang)
charts.drawn_for(Period.parse(quarter), None, unit)
st.subheader(tm("records.section.summary", lang, unit=names[unit], period=formatting.period_label(quarter, lang)))
ind_names = dict(zip(catalog.indicators["indicator_id"], catalog.indicators[column("short", lang)]))
stored = data.query(rm.stored_counts, ref, unit, quarter)
held = rm.Held.of(catalog, unit, quarter)
if merged := [names[u] for u in held.units(quarter) if u != unit]:
    st.info(tm("records.includes", lang, predecessors=", ".join(merged)), icon=":material/call_merge:")
records_drilldown.render(rref, held, quarter, stored, ind_names, names, lang)
