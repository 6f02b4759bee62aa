"""The context under a figure: source · coverage · data version, with the method (and any
methodology break) behind the help icon. Computed by the core (reformkpi.context)."""

from __future__ import annotations

import streamlit as st

from reformkpi import formatting
from reformkpi.context import FigureContext


def caption(ctx: FigureContext, lang: str) -> None:
    st.caption(formatting.markdown_text(ctx.summary(lang)), help=formatting.markdown_text(ctx.details(lang)))
