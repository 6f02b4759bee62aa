"""Charts on a page: each figure built once per data and screen (a cache shared by sessions), then
shown and registered with the frame the core computed for it, so that the page's exports offer
what it drew. The builders live in the page's view module (overview_view, dossiers_view, …); the
colours in palette, the shared text in chart_labels, the screen layout in chart_style."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import chart_alt, chart_style, palette
from components.cache_keys import HASH_FUNCS
from reformkpi import exports, formatting
from reformkpi.catalog import Catalog
from reformkpi.periods import Period


def figure(builder, *args, span: float = 1.0) -> go.Figure:
    """`builder(*args)`, laid out for this session's screen (in a column `span` of the page wide;
    columns stack on a phone),
    and kept while the inputs are the same: Plotly takes longer to build a figure than the core
    takes to compute its data, and a rerun with the same filters draws the same chart.

    Figures are kept as objects (not copied) and never changed after they are built.
    """
    screen = chart_style.screen()
    return _built(builder, args, screen, 1.0 if screen.narrow else span)


# The catalog of a data version is one object for as long as that version is cached: hash it by identity.
@st.cache_resource(max_entries=256, show_spinner=False, hash_funcs={Catalog: id, **HASH_FUNCS})
def _built(builder, args: tuple, screen: chart_style.Screen, span: float) -> go.Figure:
    return chart_style.fit(builder(*args), screen, span)


SHOWN, SCOPE = "charts:shown", "charts:scope"


@dataclass(frozen=True)
class Drawn:
    """What a page drew, for its exports: the figure (None for a table), the frame the core computed
    for it, and the indicator it shows. The exhibit is built from them only when a file is made."""

    figure: go.Figure | None
    frame: pd.DataFrame
    indicator_id: str | None
    title: str = ""


@dataclass(frozen=True)
class Scope:
    """What a page's figures are of, as the page resolved its filters rather than as they were
    chosen (Rankings ranks departments when every level is chosen, and shows a year where a quarter
    was chosen on another page): the period, the level of units (None: every level) and the unit
    of a unit's own page. Its exports say the same."""

    period: Period | None = None
    level: str | None = None
    unit_id: str | None = None


def forget_shown() -> None:
    """Called before a page runs: the export menu offers what this run draws, nothing else."""
    st.session_state[SHOWN] = {}
    st.session_state[SCOPE] = Scope()


def drawn_for(period: Period | None, level: str | None = None, unit_id: str | None = None) -> None:
    """Record what this run's figures are of (`Scope`): a page calls it once its filters are resolved."""
    st.session_state[SCOPE] = Scope(period, level, unit_id)


def scope() -> Scope:
    """What this run's figures are of (`drawn_for`)."""
    return st.session_state.get(SCOPE) or Scope()


def shown() -> dict[str, Drawn]:
    """The charts and tables drawn so far in this run, in order, by key."""
    return dict(st.session_state.get(SHOWN, {}))


def _register(key: str, fig: go.Figure | None, data: pd.DataFrame, indicator: str | None, title: str = "") -> None:
    st.session_state.setdefault(SHOWN, {})[key] = Drawn(fig, data, indicator, title)


def register_table(key: str, title: str, data: pd.DataFrame, indicator: str | None) -> None:
    """A table the page shows, so that decks and reports carry it too."""
    _register(key, None, data, indicator, title)


def show(fig: go.Figure, key: str, *, data: pd.DataFrame, indicator: str | None = None, lang: str) -> None:
    """Draw a chart and register the frame the core computed for it (its exports are that frame)."""
    _register(key, fig, data, indicator)
    st.plotly_chart(fig, key=key, config=chart_style.plotly_config(chart_style.screen()))
    chart_alt.beside(key, fig, data, indicator, scope().unit_id, lang)


def show_heatmap(fig: go.Figure, key: str, *, data: pd.DataFrame, indicator: str | None = None, lang: str) -> None:
    """A heatmap; on a phone its cells as a table instead, coloured alike, that scrolls sideways
    with the row names pinned (a heatmap squeezed into a phone's width cannot be read)."""
    if not chart_style.screen().narrow:
        show(fig, key, data=data, indicator=indicator, lang=lang)
        return
    _register(key, fig, data, indicator)
    hm = fig.data[0]
    rows, cols = [exports.plain(str(v)) for v in hm.y], [exports.plain(str(v)) for v in hm.x]
    values = pd.DataFrame(list(hm.z), index=rows, columns=cols)
    shown = pd.DataFrame(list(hm.text), index=rows, columns=cols)

    def background(v):
        return "" if pd.isna(v) else f"background-color: {palette.scale_color(hm.colorscale, hm.zmin, hm.zmax, v)}"

    st.markdown("**" + formatting.markdown_text(exports.plain(fig.layout.title.text or "")) + "**")
    styled = shown.style.apply(lambda col: [background(v) for v in values[col.name]], axis=0)
    st.dataframe(styled, width="stretch", column_config={"_index": st.column_config.TextColumn(pinned=True)},
                 key=key)
    chart_alt.beside(key, fig, data, indicator, scope().unit_id, lang)


def show_linked(fig: go.Figure, key: str, page: str, *, data: pd.DataFrame, indicator: str | None = None,
                param: str = "unit", lang: str) -> None:
    """A chart whose points open another page: a click on a unit's bar opens that unit's profile.

    The point's customdata holds the id passed to the page as the query parameter `param`.
    """
    _register(key, fig, data, indicator)
    event = st.plotly_chart(fig, key=key, config=chart_style.plotly_config(chart_style.screen()), on_select="rerun",
                            selection_mode="points")
    chart_alt.beside(key, fig, data, indicator, scope().unit_id, lang)
    points = event.selection.points if event else []
    if points and points[0].get("customdata") is not None:
        value = points[0]["customdata"]
        st.switch_page(page, query_params={param: value[0] if isinstance(value, list) else value})
