"""Exports: formula-safe tables and their files, read back with the readers people use."""

import datetime as dt
import io
from html.parser import HTMLParser

import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pptx import Presentation
from pypdf import PdfReader

from reformkpi import exhibits, exports
from tests import export_checks

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


def test_file_names_carry_page_period_and_version():
    assert exports.view_file_name("hai-long", "2019", 4, "pptx") == "CCHC-hai-long-2019-v4.pptx"
    assert exports.view_file_name("hai-long", "2025", 4, "pptx") != exports.view_file_name("hai-long", "2019", 4, "pptx")
    assert exports.view_file_name("ho-so", "2019-Q3", 9, "xlsx", "dossier_heatmap") == (
        "CCHC-ho-so-2019-Q3-v9-dossier_heatmap.xlsx")
    assert exports.file_name("Báo cáo: CCHC", "a/b", ext="pdf") == "Báo-cáo--CCHC-a-b.pdf"


@pytest.fixture(scope="module")
def report():
    fig = go.Figure(go.Bar(x=[77.4, 86.3], y=["Sở Tài nguyên và Môi trường", "<b>Sở Y tế</b>"], orientation="h"))
    fig.update_layout(title="Mức độ hài lòng 2019")
    header = exhibits.Header("Dữ liệu minh họa", 7, "Mức độ hài lòng", "2019", lang="vi")
    data = pd.DataFrame({"Đơn vị": ["Sở Tài nguyên và Môi trường", "Sở Y tế"], "Giá trị (%)": [77.4, 86.3]})
    columns = (exhibits.Column("Đơn vị", "text"), exhibits.Column("Giá trị (%)", "percent"))
    charts = tuple(exports.ChartExport(fig, exhibits.Exhibit(f"Mức độ hài lòng 2019 ({i})", "1 đơn vị dưới mục tiêu 80%",
                                                             header, data, columns)) for i in (1, 2))
    long = pd.DataFrame({"Hạng": range(1, 31), "Đơn vị": [f"Đơn vị {i}" for i in range(1, 31)]})
    table = exhibits.Exhibit("Bảng xếp hạng 2019", "", header, long,
                             (exhibits.Column("Hạng", "integer"), exhibits.Column("Đơn vị", "text")))
    return exports.Report("Báo cáo CCHC quý III/2026", "Tổng quan · Sở, ban, ngành",
                          "Dữ liệu minh họa · phiên bản dữ liệu 7", dt.datetime(2026, 11, 27, tzinfo=dt.UTC), charts,
                          (table,), lang="vi")


def test_png_and_svg_at_slide_resolution(report):
    png = exports.image(report.charts[0].figure)
    assert Image.open(io.BytesIO(png)).size == exports.SLIDE_PX
    svg = exports.image(report.charts[0].figure, "svg").decode()
    assert svg.startswith("<svg") and "Sở Tài nguyên và Môi trường" in svg


def test_the_deck_has_a_title_slide_a_slide_per_chart_and_the_tables_paged(report):
    deck = Presentation(io.BytesIO(exports.pptx(report)))
    slides = list(deck.slides)
    assert len(slides) == 1 + 2 + 3  # cover, two charts, 30 rows at 12 a slide
    assert slides[0].shapes.title.text == "Báo cáo CCHC quý III/2026"
    props = deck.core_properties  # what a file browser and a screen reader announce
    assert (props.title, props.language, props.subject) == ("Báo cáo CCHC quý III/2026", report.lang, report.source)
    cover = slides[0].placeholders[1].text
    assert "phiên bản dữ liệu 7" in cover and "27/11/2026" in cover
    tables = [sh.table for slide in slides[3:] for sh in slide.shapes if sh.has_table]
    assert [len(tb.rows) for tb in tables] == [13, 13, 7]  # a heading row on each slide
    assert tables[0].cell(0, 1).text == "Đơn vị" and tables[2].cell(6, 1).text == "Đơn vị 30"
    assert any(sh.has_text_frame and sh.text_frame.text == "Bảng xếp hạng 2019 (3/3)" for sh in slides[5].shapes)
    for slide, chart in zip(slides[1:], report.charts):
        words = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
        assert chart.title in words and "1 đơn vị dưới mục tiêu 80%" in words
        assert "Dữ liệu minh họa · phiên bản dữ liệu 7" in words
        assert "phiên bản dữ liệu 7" in slide.notes_slide.notes_text_frame.text
        assert sum(sh.shape_type == 13 for sh in slide.shapes) == 1  # one picture


def test_the_pdf_is_a4_landscape_with_vietnamese_text(report):
    reader = PdfReader(io.BytesIO(exports.pdf(report)))
    assert len(reader.pages) == 1 + 2 + 2  # 30 rows at 22 a page
    assert reader.metadata.title == "Báo cáo CCHC quý III/2026" and reader.metadata.subject == report.source
    assert reader.trailer["/Root"]["/Lang"] == report.lang  # read aloud in its language
    assert "Đơn vị 30" in reader.pages[4].extract_text() and "77,4%" not in reader.pages[4].extract_text()
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
    assert p.headings == [c.title for c in report.charts] + ["Bảng xếp hạng 2019"] and not p.external
    assert doc.count("<tr>") == 31 + 2 * 3 and "<td>Đơn vị 30</td>" in doc  # the table; each chart's data
    assert doc.count("plotly.js v") <= 2 and doc.count('Plotly.newPlot') == 2
    hostile = exports.Report("<script>alert(1)</script>", "", "", report.created, (), lang="vi")
    assert "<script>alert(1)</script>" not in exports.html_report(hostile)


# A takeaway and a title long enough to wrap, a table wider than a slide: the layout must hold them.
LONG = ("4/19 đơn vị chưa đạt mục tiêu 80,0%; xa mục tiêu nhất: Sở Tài nguyên và Môi trường (−2,6 điểm %); "
        "cải thiện nhiều nhất: Sở Nông nghiệp và Phát triển nông thôn (+2,9 điểm %)")
CONTEXT = "Nguồn: Dữ liệu minh họa · 19/19 đơn vị có số liệu · phiên bản dữ liệu 7"


@pytest.fixture(scope="module")
def crowded():
    fig = go.Figure(go.Bar(x=[77.4, 86.3], y=["Sở Tài nguyên và Môi trường", "Sở Y tế"], orientation="h"))
    header = exhibits.Header("Dữ liệu minh họa", 7, context=CONTEXT, snapshot="Giao ban (27/11/2026 09:00)", lang="vi")
    one = pd.DataFrame({"Đơn vị": ["Sở Y tế"], "Giá trị (%)": [86.3]})
    chart = exports.ChartExport(fig, exhibits.Exhibit("Mức độ hài lòng của từng đơn vị theo yếu tố (đơn vị cao nhất ở "
                                                      "trên), năm 2019, so với mục tiêu", LONG, header, one))
    wide = pd.DataFrame({f"Chênh lệch mục tiêu năm {y} (điểm %)": [f"+{y % 7},{y % 10}"] * 19 for y in range(2014, 2026)})
    wide.insert(0, "Đơn vị", [f"Sở Nông nghiệp và Phát triển nông thôn {i}" for i in range(19)])
    wide["Nguồn mục tiêu"] = "Nghị quyết 30c/NQ-CP: mức độ hài lòng trên 80% đến năm 2020"
    table = exhibits.Exhibit("Bảng xếp hạng Mức độ hài lòng 2019", LONG, header, wide)
    return exports.Report("Báo cáo cải cách hành chính của tỉnh cho phiên họp giao ban tháng 11 năm 2026, "
                          "bản trình chiếu", "Tổng quan\nẢnh chụp “Giao ban”: số liệu phiên bản 7\nGhi chú dài " * 3,
                          "Dữ liệu minh họa · phiên bản dữ liệu 7", dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
                          (chart,), (table,), lang="vi")


def test_every_box_of_a_crowded_deck_fits_and_nothing_overlaps(crowded):
    """Measured with the font's metrics by tests.export_checks: boxes inside the slide and apart, text
    inside its box, each table's column labels, a context line under each chart and table."""
    data = exports.pptx(crowded)
    assert export_checks.deck_problems(data) == []
    deck = Presentation(io.BytesIO(data))
    slides = list(deck.slides)
    assert len(slides) > 3  # the wide table, wrapped, needs more than one slide
    for slide in slides[1:]:
        texts = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
        assert CONTEXT + " · Ảnh chụp số liệu: Giao ban (27/11/2026 09:00)" in texts
    for slide in slides[2:]:
        table = next(sh.table for sh in slide.shapes if sh.has_table)
        assert [c.text for c in table.rows[0].cells] == [str(c) for c in crowded.tables[0].table.columns]
        size = table.cell(1, 0).text_frame.paragraphs[0].runs[0].font.size.pt
        assert size >= exports.READABLE_PT or len(table.rows) - 1 <= exports.FEWEST_ROWS  # halved before shrunk


def test_the_title_slide_is_centred(crowded):
    cover = list(Presentation(io.BytesIO(exports.pptx(crowded))).slides)[0]
    boxes = [sh for sh in cover.shapes if sh.has_text_frame and sh.text_frame.text]
    top, bottom = min(sh.top for sh in boxes), max(sh.top + sh.height for sh in boxes)
    height, width = exports.SLIDE_PT[1] * 12700, exports.SLIDE_PT[0] * 12700
    assert abs(top - (height - bottom)) <= 12700 and bottom <= height
    assert all(abs(sh.left - (width - sh.left - sh.width)) <= 12700 for sh in boxes)
    assert all(p.alignment == 2 for sh in boxes for p in sh.text_frame.paragraphs)  # PP_ALIGN.CENTER


def test_the_checker_finds_a_box_too_small_and_boxes_that_overlap(crowded):
    """The deck checks can fail: a takeaway cut to one line's height, a picture moved onto the title."""
    deck = Presentation(io.BytesIO(exports.pptx(crowded)))
    slide = list(deck.slides)[1]
    takeaway = next(sh for sh in slide.shapes if sh.has_text_frame and sh.text_frame.text == LONG)
    takeaway.height = takeaway.height // 2
    picture = next(sh for sh in slide.shapes if sh.shape_type == 13)
    picture.top = 0
    buf = io.BytesIO()
    deck.save(buf)
    problems = export_checks.deck_problems(buf.getvalue())
    assert any("needs" in p for p in problems) and any("overlap" in p for p in problems)


def test_the_pdf_and_html_print_the_context_under_each_chart_and_table(crowded):
    reader = PdfReader(io.BytesIO(exports.pdf(crowded)))
    chart_page = " ".join(reader.pages[1].extract_text().split())
    assert chart_page.index(LONG[:40]) < chart_page.index("Nguồn: Dữ liệu minh họa · 19/19 đơn vị")
    table_pages = [" ".join(p.extract_text().split()) for p in reader.pages[2:]]
    assert len(table_pages) > 1  # 19 wrapped rows: more than a page, each page with its context line
    assert all("Ảnh chụp số liệu: Giao ban (27/11/2026 09:00)" in text for text in table_pages)
    doc = exports.html_report(crowded)
    context = '<p class="context">' + CONTEXT + " · Ảnh chụp số liệu: Giao ban (27/11/2026 09:00)</p>"
    assert doc.count(context) == 2 and doc.index("chart-0") < doc.index(context) < doc.index("<table>")


@settings(max_examples=15, deadline=None)
@given(st.lists(st.text(st.sampled_from("aàbcdđeếgh mnoWỹ0123456789,%"), min_size=0, max_size=40),
                min_size=1, max_size=14), st.integers(0, 30))
def test_table_pages_fit_the_band_they_are_given(headers, n_rows):
    """Whatever the cells, each page's columns add up to the width and its rows to at most the
    band's height (one row alone excepted), with each cell's lines at its column's width."""
    m = exports.metrics()
    rows = [[(h * (i % 3))[:60] for h in headers] for i in range(n_rows)]
    pages = exports._table_pages(m, headers, rows, 888, 300)
    assert sum(len(p) for p, _ in pages) == n_rows or n_rows == 0
    for part, fit in pages:
        assert abs(sum(fit.widths) - 888) < 0.01
        assert fit.height <= 300 or len(part) <= 1
        for cells, h in zip([headers, *part], fit.heights):
            need = max(export_checks.wrapped(c, fit.size, w - 2 * exports.CELL_PAD_PT[0]) for c, w in zip(cells, fit.widths))
            assert need * fit.size * exports.LINE_SPACING + 2 * exports.CELL_PAD_PT[1] <= h + 0.01
