"""Files people take away: CSV and XLSX of a table, PNG/SVG of a chart, slides, PDF, offline HTML.

A chart's data leaves as its exhibit (reformkpi.exhibits): the frame the core computed, with a
header block, never the plotted traces. Every table written for a spreadsheet goes through
`formula_safe` first: a cell that starts with = + - @ tab or carriage return would be run as a
formula by Excel or LibreOffice.

One module (over 300 lines): the formats share the header block, the file naming and the
formula-safe rule, and a deck, a PDF and a report must say the same of each exhibit.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import math
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import kaleido
import pandas as pd
import plotly.graph_objects as go
import plotly.offline
from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Font
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Inches, Length, Pt

from reformkpi import config, formatting
from reformkpi.exhibits import DECIMALS, Exhibit, xlsx_format

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_FILE_NAME_BYTES = 200  # under every common file system's 255, with room for a "(1)" a browser adds
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def formula_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would treat as formulas, prefixed with a quote; numbers stay numbers."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v)
    out.columns = ["'" + c if isinstance(c, str) and c.startswith(FORMULA_START) else c for c in out.columns]
    return out


def _safe_cell(v):
    return "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v


def to_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark, so Excel reads Vietnamese text correctly."""
    return formula_safe(df).to_csv(index=False).encode("utf-8-sig")


def to_xlsx(df: pd.DataFrame, sheet: str = "Dữ liệu") -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        formula_safe(df).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buf.getvalue()


def file_name(*parts: str, ext: str) -> str:
    """A download name from its parts, e.g. 'CCHC-hai-long-2019-v4.pptx': page, period and data
    version, so exports of 2019 and 2025 (or of two versions) never get the same name. The longest
    part (a long title) is shortened with '…' until the name fits file systems' 255-byte limit."""
    names = [_UNSAFE_NAME.sub("-", str(p)).strip().replace(" ", "-") for p in parts if p]
    while len(f"{'-'.join(names)}.{ext}".encode()) > MAX_FILE_NAME_BYTES:
        i = max(range(len(names)), key=lambda k: len(names[k]))
        names[i] = names[i].removesuffix("…")[:-1].rstrip() + "…"
    return f"{'-'.join(names)}.{ext}"


def view_file_name(page: str, period: str, version: int, ext: str, part: str = "") -> str:
    return file_name("CCHC", page, period, f"v{version}", part, ext=ext)


def exhibit_csv(ex: Exhibit, lang: str) -> bytes:
    """The header block (label, value), an empty line, then the table; UTF-8 with a byte-order mark."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for label, value in ex.header_lines(lang):
        writer.writerow([_safe_cell(label), _safe_cell(value)])
    writer.writerow([])
    buf.write(formula_safe(ex.table).to_csv(index=False, lineterminator="\n"))
    return buf.getvalue().encode("utf-8-sig")


def exhibit_xlsx(ex: Exhibit, lang: str) -> bytes:
    """The header block on top, then the table with number formats as the page shows them."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Dữ liệu" if lang == "vi" else "Data"
    lines = ex.header_lines(lang)
    for r, (label, value) in enumerate(lines, start=1):
        ws.cell(r, 1, _safe_cell(label)).font = Font(bold=True)
        ws.cell(r, 2, _safe_cell(value))
    top = len(lines) + 2
    safe = formula_safe(ex.table)
    for j, header in enumerate(safe.columns, start=1):
        ws.cell(top, j, header).font = Font(bold=True)
        ws.column_dimensions[ws.cell(top, j).column_letter].width = max(12, min(48, len(str(header)) + 4))
    for i, (row, kinds) in enumerate(zip(safe.itertuples(index=False), ex.cell_kinds()), start=top + 1):
        for j, (v, (kind, decimals)) in enumerate(zip(row, kinds), start=1):
            cell = ws.cell(i, j, None if _missing(v) else v)
            if fmt := xlsx_format(kind, decimals):
                cell.number_format = fmt
    ws.freeze_panes = ws.cell(top + 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def cell_text(v, kind: str, lang: str, decimals: int | None = None) -> str:
    """A table cell as the page writes it (decimal comma in Vietnamese, % and signs, its precision)."""
    if _missing(v):
        return "–"
    if kind not in DECIMALS:
        return str(v)
    decimals = DECIMALS[kind] if decimals is None else decimals
    if kind == "gap":
        return formatting.signed(v, lang, decimals)
    text = formatting.number(v, lang, decimals)
    return text + "%" if kind in ("percent", "points") else text


def text_rows(ex: Exhibit, lang: str) -> list[list[str]]:
    """The table's cells as the page writes them, row by row (files, and a chart's table on its page)."""
    return [[cell_text(v, k, lang, d) for v, (k, d) in zip(row, kinds)]
            for row, kinds in zip(ex.table.itertuples(index=False), ex.cell_kinds())]


SLIDE_PX = (1600, 900)  # 16:9 at slide resolution
# DejaVu covers Vietnamese fully. Where distributions put it, searched when `font_dir` is not set:
# Debian's fonts-dejavu-core, Fedora's dejavu-sans-fonts, Arch's ttf-dejavu, a user's own fonts.
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
FONT_SEARCH = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu-sans-fonts"),
               Path("/usr/share/fonts/TTF"), Path("/usr/share/fonts/dejavu"), Path("/usr/local/share/fonts"),
               Path.home() / ".local" / "share" / "fonts", Path.home() / ".fonts")
_kaleido_lock = threading.Lock()


@dataclass(frozen=True)
class ChartExport:
    """One chart as it leaves the dashboard: the figure and its exhibit (title, takeaway, data)."""

    figure: go.Figure
    exhibit: Exhibit

    @property
    def title(self) -> str:
        return self.exhibit.title

    @property
    def takeaway(self) -> str:
        return self.exhibit.takeaway


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str  # e.g. the page and the filters
    source: str  # dataset and data version, printed on every page and slide
    created: dt.datetime
    charts: tuple[ChartExport, ...]
    tables: tuple[Exhibit, ...] = ()
    lang: str = "vi"

    @property
    def cover_lines(self) -> list[str]:
        when = formatting.timestamp(self.created, self.lang)
        return [line for line in (self.subtitle, self.source, when) if line]


def _start_kaleido() -> None:
    # One Chromium for the whole process: starting one per image costs seconds.
    with _kaleido_lock:
        kaleido.start_sync_server(silence_warnings=True)


def image(fig: go.Figure, fmt: str = "png", size: tuple[int, int] = SLIDE_PX) -> bytes:
    """PNG or SVG of a figure, drawn by kaleido with the system Chromium."""
    _start_kaleido()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kaleido notes that a running server ignores options
        return fig.to_image(format=fmt, width=size[0], height=size[1])


ROWS_PER_SLIDE, ROWS_PER_PDF_PAGE = 12, 22  # rows a projector (or an A4 page) shows readably
INK = RGBColor(0x1B, 0x1F, 0x24)


def pages_of(rows: list, size: int) -> list[list]:
    """A long table in pages of `size` rows (at least one page, even when empty)."""
    return [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]


def pptx(report: Report) -> bytes:
    """A 16:9 deck: a title slide (title, page and filters, source and data version, date); one slide
    per chart with its takeaway; the page's tables, paged; source and version in every footer and note."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    cover = deck.slides.add_slide(deck.slide_layouts[0])
    cover.shapes.title.text = report.title
    cover.placeholders[1].text = "\n".join(report.cover_lines)
    blank = deck.slide_layouts[6]
    for chart in report.charts:
        slide = _slide(deck, blank, chart.title, chart.takeaway, report.source)
        slide.shapes.add_picture(io.BytesIO(image(chart.figure)), Inches(0.9), Inches(1.5), height=Inches(5.4))
    for ex in report.tables:
        rows = text_rows(ex, report.lang)
        parts = pages_of(rows, ROWS_PER_SLIDE)
        for n, part in enumerate(parts, start=1):
            title = ex.title + (f" ({n}/{len(parts)})" if len(parts) > 1 else "")
            slide = _slide(deck, blank, title, ex.takeaway, report.source)
            shape = slide.shapes.add_table(len(part) + 1, len(ex.table.columns), Inches(0.4), Inches(1.5),
                                           Inches(12.5), Inches(0.4) * (len(part) + 1))
            size = 14 if len(ex.table.columns) <= 7 else 12  # still readable from the back of a room
            for j, header in enumerate(ex.table.columns):
                _cell(shape.table.cell(0, j), str(header), size, bold=True)
            for i, row in enumerate(part, start=1):
                for j, text in enumerate(row):
                    _cell(shape.table.cell(i, j), text, size)
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def _slide(deck, layout, title: str, takeaway: str, source: str):
    slide = deck.slides.add_slide(layout)
    _text(slide, title, Inches(0.4), Inches(0.2), Inches(12.5), Inches(0.7), 28, bold=True)
    _text(slide, takeaway, Inches(0.4), Inches(0.9), Inches(12.5), Inches(0.5), 20)
    _text(slide, source, Inches(0.4), Inches(7.0), Inches(12.5), Inches(0.4), 12)
    slide.notes_slide.notes_text_frame.text = f"{takeaway}\n{source}"
    return slide


def _cell(cell, text: str, size: int, bold: bool = False) -> None:
    cell.text = text
    run = cell.text_frame.paragraphs[0].runs[0] if cell.text_frame.paragraphs[0].runs else None
    if run is not None:
        run.font.size, run.font.bold = Pt(size), bold


def _text(slide, text: str, left: Length, top: Length, width: Length, height: Length, size: int, bold: bool = False) -> None:
    frame = slide.shapes.add_textbox(left, top, width, height).text_frame
    frame.word_wrap = True
    run = frame.paragraphs[0].add_run()
    run.text = text
    run.font.size, run.font.bold = Pt(size), bold
    run.font.color.rgb = INK


class _Pdf(FPDF):
    source = ""

    def footer(self):
        self.set_y(-12)
        self.set_font("DejaVu", size=9)
        self.cell(0, 8, f"{self.source} · {self.page_no()}", align="R")


def font_dir(configured: Path | None = None, search: tuple[Path, ...] = FONT_SEARCH) -> Path:
    """The folder holding both DejaVu files: the configured one (which must hold them), else the
    first of `search` that does. FileNotFoundError names what was looked for, and where."""
    for folder in (configured,) if configured else search:
        if all((folder / name).is_file() for name in FONT_FILES):
            return folder
    where = configured or ", ".join(map(str, search))
    raise FileNotFoundError(f"{' and '.join(FONT_FILES)} not found in {where} (set font_dir, or install "
                            "fonts-dejavu-core)")


def pdf(report: Report, fonts: Path | None = None) -> bytes:
    """An A4 landscape report: a cover, a page per chart with its takeaway, then the page's tables.
    `fonts` is the DejaVu folder (default: `font_dir` of the configured setting)."""
    fonts = fonts or font_dir(config.settings().font_dir)
    doc = _Pdf(orientation="L", format="A4")
    doc.source = report.source
    doc.add_font("DejaVu", "", str(fonts / FONT_FILES[0]))
    doc.add_font("DejaVu", "B", str(fonts / FONT_FILES[1]))
    doc.set_auto_page_break(True, margin=15)
    doc.add_page()
    doc.set_font("DejaVu", "B", 24)
    doc.ln(50)
    doc.multi_cell(0, 12, report.title, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", size=14)
    doc.multi_cell(0, 9, "\n".join(report.cover_lines), align="C", new_x="LMARGIN", new_y="NEXT")
    for chart in report.charts:
        _pdf_heading(doc, chart.title, chart.takeaway)
        doc.image(io.BytesIO(image(chart.figure)), x=15, w=267)  # full width at 16:9
    for ex in report.tables:
        rows = text_rows(ex, report.lang)
        parts = pages_of(rows, ROWS_PER_PDF_PAGE)
        for n, part in enumerate(parts, start=1):
            _pdf_heading(doc, ex.title + (f" ({n}/{len(parts)})" if len(parts) > 1 else ""), ex.takeaway)
            doc.set_font("DejaVu", size=10)
            with doc.table(headings_style=FontFace(emphasis="BOLD"), line_height=6) as grid:
                for row in [list(map(str, ex.table.columns)), *part]:
                    grid.row(row)
    return bytes(doc.output())


def _pdf_heading(doc: FPDF, title: str, takeaway: str) -> None:
    doc.add_page()
    doc.set_font("DejaVu", "B", 16)
    doc.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", size=12)
    doc.multi_cell(0, 7, takeaway, new_x="LMARGIN", new_y="NEXT")


def _html_table(ex: Exhibit, lang: str) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in ex.table.columns)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if k != "text" else ""}>{html.escape(v)}</td>'
                                    for v, (k, _) in zip(row, kinds)) + "</tr>"
                   for row, kinds in zip(text_rows(ex, lang), ex.cell_kinds()))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(report: Report) -> str:
    """One HTML file with interactive charts, the page's tables and a single embedded plotly.js:
    it opens with no network."""
    parts = [
        "<!DOCTYPE html>", f'<html lang="{report.lang}"><head><meta charset="utf-8">',
        f"<title>{html.escape(report.title)}</title>",
        "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2rem;color:#1B1F24}"
        "h1{margin-bottom:0}.meta,.source{color:#555}.chart{margin:2.5rem 0}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}"
        "td.n{text-align:right}</style>",
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
        '<p class="meta">' + "<br>".join(html.escape(line) for line in report.cover_lines) + "</p>",
    ]
    data_label = "Số liệu của biểu đồ" if report.lang == "vi" else "The chart's data"
    for i, chart in enumerate(report.charts):
        parts += [f'<section class="chart"><h2>{html.escape(chart.title)}</h2>',
                  f"<p>{html.escape(chart.takeaway)}</p>",
                  chart.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{i}"),
                  f"<details><summary>{data_label}</summary>{_html_table(chart.exhibit, report.lang)}</details>",
                  "</section>"]
    for ex in report.tables:
        parts += [f'<section class="table"><h2>{html.escape(ex.title)}</h2>', f"<p>{html.escape(ex.takeaway)}</p>",
                  _html_table(ex, report.lang), "</section>"]
    parts.append(f'<p class="source">{html.escape(report.source)}</p></body></html>')
    return "\n".join(parts)


def plain(label: str) -> str:
    """A chart label as text: Plotly's escapes undone and the line breaks that fit it to a screen removed."""
    return html.unescape(re.sub(r"\s*<br>\s*", " ", label))
