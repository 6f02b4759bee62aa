"""Tables, with values written the way the interface language writes numbers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from reformkpi import formatting
from reformkpi.i18n import t


def _rank_change(x, lang: str) -> str:
    if pd.isna(x):
        return t("table.new", lang)
    return "–" if x == 0 else (f"▲ {x}" if x > 0 else f"▼ {-x}")


def league(table: pd.DataFrame, ind: pd.Series, lang: str) -> None:
    """A league table: rank, unit, value, change, target, gap, grade, rank change."""
    m = ind["measure"]
    gap_unit = " " + t("unit.points", lang) if m in ("percent", "points") else ""
    shown = pd.DataFrame({
        t("table.rank", lang): table["rank"],
        t("table.unit", lang): table["name"],
        t("table.value", lang): [formatting.value(v, m, lang) for v in table["value"]],
        t("table.change", lang): [formatting.signed(v, lang) for v in table["change"]],
        t("table.target", lang): [formatting.value(v, m, lang) for v in table["target"]],
        t("table.gap", lang): [formatting.signed(v, lang) + gap_unit if pd.notna(v) else "–" for v in table["gap"]],
        t("table.grade", lang): table["grade_label"].fillna(""),
        t("table.rank_change", lang): [_rank_change(v, lang) for v in table["rank_change"]],
    })
    st.dataframe(shown, hide_index=True, width="stretch", height=full_height(len(shown)))


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
