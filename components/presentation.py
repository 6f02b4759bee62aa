"""Presentation mode (?present=1): the page's charts one at a time, large, with previous/next and a
clicker's keys, on a stylesheet of its own."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from components import chart_alt, chart_style, charts
from components.links import PRESENT_PARAM, link, view_state
from components.snapshots_view import banner, pinned
from reformkpi.i18n import t

# The chart's height in presentation mode: a 1440×900 laptop, a 1920×1080 projector, a phone less
# the controls and a snapshot's banner above it.
PRESENT_HEIGHT = {"phone": 520, "laptop": 600, "projector": 780}
_SLIDE = "share:slide"
# Presentation mode is our own stylesheet: no sidebar or toolbar, the whole width for the chart.
_PRESENT_CSS = ("<style>[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],"
                "[data-testid='stHeader']{display:none}"
                ".block-container{padding-top:1.2rem;max-width:100%}.st-key-present-keys{display:none}</style>")


def present(run_page, lang: str) -> None:
    """Presentation mode (?present=1): the page's charts one at a time, large, with previous/next."""
    st.html(_PRESENT_CSS)
    holder = st.empty()
    with holder.container():
        run_page()  # drawn out of sight: only its charts are collected
    holder.empty()
    pin = pinned()
    if pin is not None and pin.snap is not None:
        banner(pin.snap, lang)
    drawn = [d for d in charts.shown().values() if d.figure is not None]
    if not drawn:
        st.info(t("share.present_nothing", lang))
        return
    i = min(st.session_state.get(_SLIDE, 0), len(drawn) - 1)
    scr = chart_style.screen()

    def go_to(n: int) -> None:
        st.session_state[_SLIDE] = n

    back, count, forward, leave = st.columns([1, 1, 1, 3], vertical_alignment="center")
    back.button(t("share.previous", lang), on_click=go_to, args=(i - 1,), disabled=i == 0, key="present-prev",
                icon=":material/arrow_back:", shortcut="Left")
    count.markdown(f"**{i + 1} / {len(drawn)}**")
    forward.button(t("share.next", lang), on_click=go_to, args=(i + 1,), disabled=i == len(drawn) - 1,
                   key="present-next", icon=":material/arrow_forward:", shortcut="Right")
    # A clicker sends PageUp/PageDown: the same moves, from buttons kept out of sight.
    with st.container(key="present-keys"):
        st.button("PageUp", on_click=go_to, args=(i - 1,), disabled=i == 0, key="present-pageup", shortcut="PageUp")
        st.button("PageDown", on_click=go_to, args=(i + 1,), disabled=i == len(drawn) - 1, key="present-pagedown",
                  shortcut="PageDown")
    leave.link_button(t("share.present_exit", lang), link({k: v for k, v in view_state().items() if k != PRESENT_PARAM}))
    # The controls above, the chart below them sized to what is left of the screen: both visible
    # without scrolling (a copy: the drawn figure is shared).
    fig = chart_style.fit_to(go.Figure(drawn[i].figure), chart_style.enlarged(scr), PRESENT_HEIGHT[scr.name])
    st.plotly_chart(fig, key="present-chart", config=chart_style.plotly_config(scr))
    chart_alt.beside("present-chart", fig, drawn[i].frame, drawn[i].indicator_id, charts.scope().unit_id, lang)
