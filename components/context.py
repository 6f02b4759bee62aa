"""The context under a figure: source · coverage · data version, with the method (and any
methodology break) behind the help icon. Computed by the core (reformkpi.context)."""

from __future__ import annotations

import streamlit as st

from reformkpi import formatting
from reformkpi.context import FigureContext
from reformkpi.i18n import t


def caption(ctx: FigureContext, lang: str, label: str = "") -> None:
    """The context line; `label` names the indicator in the help text where a figure shows several."""
    details = f"{label}: {ctx.details(lang)}" if label else ctx.details(lang)
    st.caption(formatting.markdown_text(ctx.summary(lang)), help=formatting.markdown_text(details))


def coverage_line(n, total, lang: str) -> str:
    """A hover line for an aggregate: how many of the units expected reported (n/N)."""
    return "<br>" + t("context.coverage", lang, n=int(n), total=int(total))
