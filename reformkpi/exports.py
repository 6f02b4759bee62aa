"""Files people take away: CSV and XLSX of a table, PNG/SVG of a chart, slides, PDF, offline HTML.

Every table written for a spreadsheet goes through `formula_safe` first: a cell that starts with
= + - @ tab or carriage return would be run as a formula by Excel or LibreOffice.
"""

from __future__ import annotations

import io
import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def formula_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would treat as formulas, prefixed with a quote; numbers stay numbers."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v)
    out.columns = ["'" + c if isinstance(c, str) and c.startswith(FORMULA_START) else c for c in out.columns]
    return out


def to_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark, so Excel reads Vietnamese text correctly."""
    return formula_safe(df).to_csv(index=False).encode("utf-8-sig")


def to_xlsx(df: pd.DataFrame, sheet: str = "Dữ liệu") -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        formula_safe(df).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buf.getvalue()


def file_name(*parts: str, ext: str) -> str:
    """A download name in Vietnamese, e.g. 'Báo cáo CCHC - Tổng quan - 27-11-2026.pptx'."""
    name = " - ".join(_UNSAFE_NAME.sub("-", p).strip() for p in parts if p)
    return f"{name}.{ext}"
