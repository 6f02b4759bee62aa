"""Exports: formula-safe tables and their files, read back with the readers people use."""

import io

import openpyxl
import pandas as pd

from reformkpi import exports

HOSTILE = ["=HYPERLINK(\"http://x\",\"bấm\")", "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\tx", "Sở Y tế"]


def test_formula_cells_are_neutralised_and_numbers_kept():
    df = pd.DataFrame({"Đơn vị": HOSTILE, "Giá trị": [-2.5, 1, 2, 3, 4, 5]})
    safe = exports.formula_safe(df)
    assert safe["Đơn vị"].tolist()[:5] == ["'" + v for v in HOSTILE[:5]]
    assert safe["Đơn vị"].iloc[5] == "Sở Y tế" and safe["Giá trị"].iloc[0] == -2.5


def test_csv_and_xlsx_keep_hostile_text_as_text():
    df = pd.DataFrame({"Đơn vị": HOSTILE, "Giá trị": range(6)})
    csv = exports.to_csv(df)
    assert csv.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig")
    assert back["Đơn vị"].tolist()[0] == "'" + HOSTILE[0] and back["Đơn vị"].iloc[5] == "Sở Y tế"
    ws = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(df))).active
    cells = [ws.cell(row=r, column=1) for r in range(2, 8)]
    assert all(c.data_type == "s" for c in cells)  # strings, not formulas
    assert cells[0].value == "'" + HOSTILE[0] and ws.cell(row=2, column=2).value == 0


def test_file_names_are_vietnamese_and_safe():
    assert exports.file_name("Báo cáo CCHC", "Tổng quan", "27/11/2026", ext="pptx") == (
        "Báo cáo CCHC - Tổng quan - 27-11-2026.pptx")
