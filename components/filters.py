"""Filters that own their widgets and URL keys, and return the selection.

Every filter is kept in the URL (see url_state), so the URL of a page is the view: year,
quarter, unit level, indicator and language travel with a link.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from components import url_state
from reformkpi import formatting
from reformkpi.i18n import column, t
from reformkpi.periods import Period

LEVELS = ("department", "district", "all")
QUARTERS = ("", "Q1", "Q2", "Q3", "Q4")


@dataclass(frozen=True)
class Selection:
    period: Period  # the year, or one of its quarters
    level: str | None  # None: every level

    @property
    def year(self) -> int:
        return self.period.year


def _require_years(years: list[int], lang: str) -> None:
    """A store with no figures yet (a new province before its first upload) says so and stops the page."""
    if not years:
        st.info(t("empty.store", lang), icon=":material/upload_file:")
        st.stop()


def common(years: list[int], default_year: int, lang: str, quarters: bool = True) -> Selection:
    """Year, quarter (unless the page is yearly) and unit level in the sidebar (URL keys: year, quarter, level)."""
    _require_years(years, lang)
    with st.sidebar:
        year = url_state.select(t("filter.year", lang), [str(y) for y in reversed(years)], "year",
                                default=str(default_year))
        quarter = url_state.select(
            t("filter.period", lang), QUARTERS, "quarter",
            lambda q: t("filter.full_year", lang) if not q else formatting.period_label(Period.chosen(year, q), lang)
        ) if quarters else ""
        level = url_state.select(t("filter.level", lang), LEVELS, "level", lambda v: t(f"level.{v}", lang))
    return Selection(Period.chosen(year, quarter), None if level == "all" else level)


def year(years: list[int], default_year: int, lang: str) -> Period:
    """The year alone, in the sidebar (URL key: year, shared with every page)."""
    _require_years(years, lang)
    with st.sidebar:
        return Period.chosen(url_state.select(t("filter.year", lang), [str(y) for y in reversed(years)], "year",
                                              default=str(default_year)))


def unit(units: pd.DataFrame, lang: str) -> str:
    """One department or district in the sidebar (URL key: unit); a unit merged away stays for its history."""
    units = units[units["level"] != "province"]
    names = dict(zip(units["unit_id"], units[column("name", lang)]))
    closed = {u: formatting.date(d, lang) for u, d in zip(units["unit_id"], units["active_to"]) if pd.notna(d)}

    def label(unit_id: str) -> str:
        if unit_id in closed:
            return t("filter.unit_closed", lang, name=names[unit_id], date=closed[unit_id])
        return names[unit_id]

    with st.sidebar:
        return url_state.select(t("filter.unit", lang), list(names), "unit", label)


def indicator(indicators: pd.DataFrame, lang: str, key: str = "ind", default: str | None = None) -> str:
    """One indicator from the given catalog rows (URL key `ind`); `default` when none is chosen (else the first)."""
    names = dict(zip(indicators["indicator_id"], indicators[column("name", lang)]))
    return url_state.select(t("filter.indicator", lang), list(names), key, names.__getitem__, default=default)
