"""Tables, with values written the way the interface language writes numbers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components import charts
from components.cache_keys import HASH_FUNCS
from reformkpi import formatting
from reformkpi.metrics import ranking
from reformkpi.i18n import t


def _rank_change(x, is_new: bool, lang: str) -> str:
    if is_new:
        return t("table.new", lang)  # the unit did not exist the period before
    if pd.isna(x):
        return "–"
    return "–" if x == 0 else (f"▲ {x}" if x > 0 else f"▼ {-x}")


def league(table: pd.DataFrame, ind: pd.Series, lang: str, title: str, note: str = "") -> None:
    """A league table: rank, unit, value, change, target, gap, grade, rank change (also in the page's
    exports). A unit without a complete period is listed unranked ("chưa đủ kỳ"); changes the core
    does not compare (across a method change) are blank, and `note` (the comparison's) says why,
    or what a partial year's changes are taken over."""
    charts.register_table("league", title, table, ind["indicator_id"])
    shown = _league_cells(table, ind["measure"], int(ind["decimals"]), lang)
    # Rank and unit pinned: on a phone the other columns scroll sideways inside the frame beside them.
    pinned = {c: st.column_config.TextColumn(c, pinned=True) for c in (t("table.rank", lang), t("table.unit", lang))}
    st.dataframe(shown, hide_index=True, width="stretch", height=full_height(len(shown)), column_config=pinned)
    if note:
        st.caption(note)
    if scope := ranking.scope_note(table, lang):
        st.caption(scope)


# Kept while the table and the language are the same, shared read-only like data.query's results:
# writing a national league table's numbers took a quarter of a warm Overview rerun.
@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=HASH_FUNCS)
def _league_cells(table: pd.DataFrame, m: str, decimals: int, lang: str) -> pd.DataFrame:
    gap_unit = " " + t("unit.points", lang) if m in ("percent", "points") else ""
    return pd.DataFrame({
        t("table.rank", lang): [str(r) if pd.notna(r) else t("table.incomplete", lang) for r in table["rank"]],
        t("table.unit", lang): table["name"],
        t("table.value", lang): [formatting.value(v, m, lang, decimals) for v in table["value"]],
        t("table.change", lang): [formatting.signed(v, lang, decimals) for v in table["change"]],
        t("table.target", lang): [formatting.value(v, m, lang, decimals) for v in table["target"]],
        t("table.gap", lang): [formatting.signed(v, lang, decimals) + gap_unit if pd.notna(v) else "–" for v in table["gap"]],
        t("table.grade", lang): table["grade_label"].fillna(""),
        t("table.rank_change", lang): [_rank_change(v, new, lang) for v, new in zip(table["rank_change"], table["is_new"])],
    })


def full_height(rows: int) -> int:
    """Pixels that show every row without an inner scroll bar (a meeting-room screen cannot scroll a table)."""
    return 38 + 35 * max(rows, 1)


def numbers(df: pd.DataFrame, columns: list[str], lang: str) -> tuple[pd.DataFrame, dict]:
    """The frame with `columns` written as the language writes numbers (1.440, 77,4), and the
    column_config that aligns them right, for st.dataframe."""
    out = df.copy()
    for c in columns:
        out[c] = [formatting.figure(v, lang) for v in df[c]]
    return out, {c: st.column_config.TextColumn(c, alignment="right") for c in columns}
