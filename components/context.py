"""The context under a figure: source · coverage · data version, with the method (and any
methodology break) behind the help icon. Computed and worded by the core (reformkpi.context), in the
language it was asked for: shown here as it is."""

from __future__ import annotations

import streamlit as st

from reformkpi import formatting
from reformkpi.context import FigureContext
from reformkpi.i18n import t


def caption(ctx: FigureContext, label: str = "") -> None:
    """The context line; `label` names the indicator in the help text where a figure shows several."""
    details = f"{label}: {ctx.details()}" if label else ctx.details()
    st.caption(formatting.markdown_text(ctx.summary()), help=formatting.markdown_text(details))


def captions(contexts: dict[str, FigureContext]) -> None:
    """The context lines of a figure that shows several indicators, by label: one line per distinct
    summary (most indicators of a grid share source, coverage and version), its help text naming
    each indicator it stands for."""
    groups: dict[str, list[tuple[str, FigureContext]]] = {}
    for label, ctx in contexts.items():
        groups.setdefault(ctx.summary(), []).append((label, ctx))
    for summary, members in groups.items():
        details = "\n\n".join(f"{label}: {ctx.details()}" for label, ctx in members)
        st.caption(formatting.markdown_text(summary), help=formatting.markdown_text(details))


def coverage_line(n, total, lang: str) -> str:
    """A hover line for an aggregate: how many of the units expected reported (n/N)."""
    return "<br>" + t("context.coverage", lang, n=int(n), total=int(total))
