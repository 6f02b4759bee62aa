"""The text alternative beside every chart, for a reader who cannot see it: a description that a
screen reader reaches (what the chart shows, how many rows, the takeaway its exports carry:
exhibits.description, computed from the frame the core made for the chart) and its data as a real
table under "Xem dạng bảng" (an expander, reached and opened with the keyboard; its table is drawn
once it is opened). A chart drawn by plotly is a picture to assistive technology; this is what it
reads instead."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import data
from components.cache_keys import HASH_FUNCS
from reformkpi import exhibits, exports, formatting
from reformkpi.i18n import t


def beside(key: str, fig: go.Figure, frame: pd.DataFrame, indicator_id: str | None, unit_id: str | None,
           lang: str) -> None:
    """Under the chart `key`: its description and its table (of `unit_id`'s figures on a unit's page,
    as its exports: `charts.Scope`). Nothing when the page has no data shown."""
    from components import shell  # shell → exporting → charts → here: read when a chart is drawn

    ref = shell.shown_ref()
    if ref is None:
        return
    alt = _alternative(frame, ref, indicator_id, exports.plain(str(fig.layout.title.text or "")), lang, unit_id)
    st.caption(formatting.markdown_text(alt.text))
    # The table is sent only once its expander is opened (which reruns): a closed one held every
    # chart's rows in the page, hundreds of table rows that no one saw on each view.
    with st.expander(t("chart.as_table", lang), icon=":material/table_view:", key=f"alt-{key}",
                     on_change="rerun") as box:
        if box.open:
            st.table(alt.table(), hide_index=True, alt=alt.text)


@dataclass
class _Alternative:
    """A chart's description, and its table made and its cells written out when it is first opened
    (the table of every chart on a cold page took two thirds of its text alternatives' time; the
    description needs its number of rows only)."""

    text: str
    frame: pd.DataFrame
    ref: data.DataRef  # not its catalog: a cached alternative would keep a version no longer served
    indicator_id: str | None
    lang: str
    rows: pd.DataFrame | None = None

    def table(self) -> pd.DataFrame:
        if self.rows is None:  # two sessions opening it at once write the same cells
            shown, columns = exhibits.table(self.frame, data.dataset(self.ref).catalog, self.indicator_id, self.lang)
            ex = exhibits.Exhibit("", "", exhibits.Header("", 0, lang=self.lang), shown, columns)
            self.rows = pd.DataFrame(exports.text_rows(ex), columns=[str(c) for c in shown.columns])
        return self.rows


# Kept while the frame and the view are the same (a unit's takeaways compare periods: about 0.1 s a chart);
# shared read-only by every session, like data.query.
@st.cache_resource(max_entries=256, show_spinner=False, hash_funcs=HASH_FUNCS)
def _alternative(frame: pd.DataFrame, ref: data.DataRef, indicator_id: str | None, title: str, lang: str,
                 unit_id: str | None) -> _Alternative:
    ds = data.dataset(ref)
    text = exhibits.describe(title, exhibits.table_rows(frame, ds.catalog),
                             exhibits.takeaway(frame, ds, indicator_id, lang, unit_id), lang)
    return _Alternative(text, frame, ref, indicator_id, lang)
