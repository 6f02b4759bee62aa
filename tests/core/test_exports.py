"""Exports: formula-safe tables and their files, read back with the readers people use."""

import datetime as dt
import io
from html.parser import HTMLParser

import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest
from PIL import Image
from pptx import Presentation
from pypdf import PdfReader

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


@pytest.fixture(scope="module")
def report():
    fig = go.Figure(go.Bar(x=[77.4, 86.3], y=["Sở Tài nguyên và Môi trường", "<b>Sở Y tế</b>"], orientation="h"))
    fig.update_layout(title="Mức độ hài lòng 2019")
    data = pd.DataFrame({"Đơn vị": ["Sở Tài nguyên và Môi trường", "Sở Y tế"], "Giá trị": [77.4, 86.3]})
    charts = tuple(exports.ChartExport(f"Mức độ hài lòng 2019 ({i})", "1 đơn vị dưới mục tiêu 80%", fig, data)
                   for i in (1, 2))
    return exports.Report("Báo cáo CCHC quý III/2026", "Tổng quan · Sở, ban, ngành",
                          "Dữ liệu minh họa · phiên bản dữ liệu 7", dt.datetime(2026, 11, 27, tzinfo=dt.UTC), charts)


def test_png_and_svg_at_slide_resolution(report):
    png = exports.image(report.charts[0].figure)
    assert Image.open(io.BytesIO(png)).size == exports.SLIDE_PX
    svg = exports.image(report.charts[0].figure, "svg").decode()
    assert svg.startswith("<svg") and "Sở Tài nguyên và Môi trường" in svg


def test_the_deck_has_a_slide_per_chart_with_takeaway_and_version(report):
    deck = Presentation(io.BytesIO(exports.pptx(report)))
    slides = list(deck.slides)
    assert len(slides) == 3 and slides[0].shapes.title.text == "Báo cáo CCHC quý III/2026"
    for slide, chart in zip(slides[1:], report.charts):
        words = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
        assert chart.title in words and "1 đơn vị dưới mục tiêu 80%" in words
        assert "Dữ liệu minh họa · phiên bản dữ liệu 7" in words
        assert "phiên bản dữ liệu 7" in slide.notes_slide.notes_text_frame.text
        assert sum(sh.shape_type == 13 for sh in slide.shapes) == 1  # one picture


def test_the_pdf_is_a4_landscape_with_vietnamese_text(report):
    reader = PdfReader(io.BytesIO(exports.pdf(report)))
    assert len(reader.pages) == 3
    box = reader.pages[0].mediabox
    assert round(float(box.width) / 72 * 25.4) == 297 and round(float(box.height) / 72 * 25.4) == 210
    text = reader.pages[1].extract_text()
    assert "Mức độ hài lòng 2019 (1)" in text and "1 đơn vị dưới mục tiêu 80%" in text
    assert "phiên bản dữ liệu 7" in text


def test_the_html_report_embeds_one_plotly_and_escapes_text(report):
    class Parser(HTMLParser):
        scripts, headings, external = 0, [], []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            self.scripts += tag == "script"
            if tag == "script" and attrs.get("src"):
                self.external.append(attrs["src"])
            self._h2 = tag == "h2"

        def handle_data(self, data):
            if getattr(self, "_h2", False):
                self.headings.append(data)
                self._h2 = False

    doc = exports.html_report(report)
    p = Parser()
    p.feed(doc)
    assert p.headings == [c.title for c in report.charts] and not p.external
    assert doc.count("plotly.js v") <= 2 and doc.count('Plotly.newPlot') == 2
    hostile = exports.Report("<script>alert(1)</script>", "", "", report.created, ())
    assert "<script>alert(1)</script>" not in exports.html_report(hostile)


def test_the_data_behind_a_chart_and_its_takeaway():
    fig = go.Figure(go.Bar(x=[-2.6, 4.1], y=["Sở Tài nguyên &amp; Môi trường", "Sở Y tế"], orientation="h", name="Gap"))
    fig.add_trace(go.Heatmap(z=[[1.0, 2.0]], x=["2019-Q1", "2019-Q2"], y=["Sở Y tế"], name="Late"))
    fig.update_layout(title="Mức độ hài lòng 2019: 4/19 đơn vị chưa đạt mục tiêu 80,0%")
    chart = exports.chart_export(fig)
    assert chart.title == "Mức độ hài lòng 2019" and chart.takeaway == "4/19 đơn vị chưa đạt mục tiêu 80,0%"
    bars = chart.data[chart.data["series"] == "Gap"]
    assert bars["y"].tolist() == ["Sở Tài nguyên & Môi trường", "Sở Y tế"] and bars["x"].tolist() == [-2.6, 4.1]
    heat = chart.data[chart.data["series"] == "Late"]
    assert heat[["x", "z"]].values.tolist() == [["2019-Q1", 1.0], ["2019-Q2", 2.0]]
