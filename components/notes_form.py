"""A note on a unit's figure for a period, added by an analyst on the page and stored with the data
version that is the latest when it is written, whichever version the page shows (reformkpi.notes);
it shows in the context under that figure."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import actions, data
from reformkpi import auth, formatting, notes
from reformkpi.metrics import rollups
from reformkpi.catalog import Catalog
from reformkpi.i18n import column, t


def note_list(frame: pd.DataFrame, catalog: Catalog, lang: str) -> None:
    """The notes on a unit's figures, one caption each (their text escaped for Markdown)."""
    col = column("short", lang)
    for r in frame.itertuples():
        st.caption(formatting.markdown_text(t("notes.item", lang, indicator=catalog.indicator(r.indicator_id)[col],
                                              period=formatting.period_label(r.period, lang), note=r.note,
                                              author=r.created_by, version=r.data_version)))


def note_form(ref: data.DataRef, catalog: Catalog, unit_id: str, actor: auth.Actor | None, lang: str) -> None:
    """Nothing for a reader who may not upload; else a small form under an expander."""
    if actor is None or not actor.can("upload"):
        return
    with st.expander(t("notes.add_section", lang), icon=":material/edit_note:"):
        ranked = catalog.indicators[catalog.indicators["ranked"]]
        indicator_id = st.selectbox(t("filter.indicator", lang), ranked["indicator_id"].tolist(), key="note:indicator",
                                    format_func=lambda i: catalog.indicator(i)[column("short", lang)])
        choices = data.query(rollups.unit_periods, ref, unit_id, indicator_id)
        if not choices:
            st.caption(t("notes.no_periods", lang))
            return
        period = st.selectbox(t("filter.period", lang), choices, key="note:period",
                              format_func=lambda p: formatting.period_label(p, lang))
        text = st.text_area(t("notes.text", lang), max_chars=notes.MAX_NOTE, key="note:text")
        if st.button(t("notes.save", lang), key="note:save", disabled=not text.strip()):
            row = pd.DataFrame([{"unit_id": unit_id, "indicator_id": indicator_id, "period": period, "note": text}])
            store = data.store(ref)
            with actions.reported(lang):
                notes.add(store, actor, row, store.version())
                data.forget_latest()
                st.success(t("notes.saved", lang))
