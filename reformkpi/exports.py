"""Files people take away: CSV and XLSX of a table, PNG/SVG of a chart, slides, PDF, offline HTML.

A chart's data leaves as its exhibit (reformkpi.exhibits): the frame the core computed, with a
header block, never the plotted traces. Every table written for a spreadsheet goes through
`formula_safe` first: a cell that starts with = + - @ tab or carriage return would be run as a
formula by Excel or LibreOffice.

One module (over 600 lines): the formats share the header block, the file naming, the
formula-safe rule and the context line, and a deck, a PDF and a report must say the same of each
exhibit. Slides and pages are laid out from the font's metrics (Metrics, table_fit, picture).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import html
import io
import math
import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import plotly.offline
from openpyxl import Workbook
from openpyxl.styles import Font
from PIL import ImageFont

from reformkpi import config, formatting
from reformkpi.exhibits import DECIMALS, Exhibit, xlsx_format

# The slide, PDF and image writers (python-pptx, fpdf2, kaleido: 32 MiB of a server's memory) are
# imported where a file is written: a page view needs none of them.
if TYPE_CHECKING:
    from fpdf import FPDF

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


def exhibit_csv(ex: Exhibit) -> bytes:
    """The header block (label, value), an empty line, then the table; UTF-8 with a byte-order mark."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for label, value in ex.header_lines():
        writer.writerow([_safe_cell(label), _safe_cell(value)])
    writer.writerow([])
    buf.write(formula_safe(ex.table).to_csv(index=False, lineterminator="\n"))
    return buf.getvalue().encode("utf-8-sig")


def exhibit_xlsx(ex: Exhibit) -> bytes:
    """The header block on top, then the table with number formats as the page shows them."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Dữ liệu" if ex.lang == "vi" else "Data"
    lines = ex.header_lines()
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


def text_rows(ex: Exhibit) -> list[list[str]]:
    """The table's cells as the page writes them, row by row (files, and a chart's table on its page)."""
    return [[cell_text(v, k, ex.lang, d) for v, (k, d) in zip(row, kinds)]
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
    lang: str = field(kw_only=True)

    @property
    def cover_lines(self) -> list[str]:
        when = formatting.timestamp(self.created, self.lang)
        return [line for line in (self.subtitle, self.source, when) if line]


def _start_kaleido() -> None:
    # One Chromium for the whole process: starting one per image costs seconds.
    import kaleido

    with _kaleido_lock:
        kaleido.start_sync_server(silence_warnings=True)


def image(fig: go.Figure, fmt: str = "png", size: tuple[int, int] = SLIDE_PX) -> bytes:
    """PNG or SVG of a figure, `size` pixels, drawn by kaleido with the system Chromium. A figure laid
    out for a width (an export's, layout.width) is drawn at that width and scaled to `size`, so that
    its type keeps the size it was laid out with relative to the picture."""
    _start_kaleido()
    scale = size[0] / (fig.layout.width or size[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kaleido notes that a running server ignores options
        return fig.to_image(format=fmt, width=round(size[0] / scale), height=round(size[1] / scale), scale=scale)


def picture(fig: go.Figure, box: tuple[float, float]) -> tuple[bytes, float, float]:
    """A chart for a box `box` (width, height, in any one unit) of a slide or a page: drawn as tall as
    the box's shape or the chart's own height (its rows) asks, whichever is taller, then scaled into
    the box. Returns the PNG and its width and height in the box's unit."""
    layout_w = fig.layout.width or SLIDE_PX[0]
    layout_h = max(fig.layout.height or 0, layout_w * box[1] / box[0])
    w = min(box[0], box[1] * layout_w / layout_h)
    return image(fig, size=(SLIDE_PX[0], round(SLIDE_PX[0] * layout_h / layout_w))), w, w * layout_h / layout_w


ROWS_PER_SLIDE, ROWS_PER_PDF_PAGE = 12, 22  # rows a projector (or an A4 page) shows readably
INK = (0x1B, 0x1F, 0x24)  # red, green, blue


def pages_of(rows: list, size: int) -> list[list]:
    """A long table in pages of `size` rows (at least one page, even when empty)."""
    return [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]


# A slide is laid out in points (72 an inch) from DejaVu's own metrics: the deck names DejaVu Sans,
# and a narrower font put in its place by a viewer only leaves more room.
SLIDE_PT = (960, 540)  # 13.333 × 7.5 inches, 16:9
MARGIN_PT, GAP_PT = 36, 8
LINE_SPACING = 1.2  # a line's height in units of its font size, set on every paragraph
WRAP_ROOM = 0.96  # lines are broken for 96% of a box's width: renderers place glyphs slightly apart
TITLE_PT, TAKEAWAY_PT, CONTEXT_PT, FOOTER_PT = (28, 24, 20), (18, 16, 14), 14, 12
COVER_PT = ((40, 20), (32, 18), (28, 16), (24, 14))  # the title's size and the lines' under it
TABLE_PT = (18, 16, 14, 12, 10)  # the largest that fits is used; 14 and up read from the back of a room
READABLE_PT, FEWEST_ROWS = 12, 6  # a page is halved, down to FEWEST_ROWS rows, before its type goes under 12
CELL_PAD_PT = (6, 3)  # a table cell's inner margin: left and right, top and bottom
FONT_NAME = "DejaVu Sans"


@functools.lru_cache(maxsize=128)
def _face(path: str, size: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@dataclass(frozen=True)
class Metrics:
    """Text measured with the DejaVu files' own metrics, in points."""

    folder: Path

    def width(self, text: str, size: float, bold: bool = False) -> float:
        return _face(str(self.folder / FONT_FILES[bold]), size).getlength(text)

    def lines(self, text: str, size: float, width: float, bold: bool = False) -> list[str]:
        """`text` broken into the lines a box `width` points wide shows: at spaces, and inside a
        word too long for a line (as renderers do)."""
        room, out = width * WRAP_ROOM, []
        for para in text.split("\n"):
            line = ""
            for word in para.split(" "):
                joined = f"{line} {word}" if line else word
                if self.width(joined, size, bold) <= room:
                    line = joined
                    continue
                if line:
                    out.append(line)
                while len(word) > 1 and self.width(word, size, bold) > room:
                    cut = max([k for k in range(1, len(word)) if self.width(word[:k], size, bold) <= room] or [1])
                    out.append(word[:cut])
                    word = word[cut:]
                line = word
            out.append(line)
        return out

    def height(self, text: str, size: float, width: float, bold: bool = False) -> float:
        return len(self.lines(text, size, width, bold)) * size * LINE_SPACING


def metrics(fonts: Path | None = None) -> Metrics:
    return Metrics(fonts or font_dir(config.settings().font_dir))


def _fitting(m: Metrics, text: str, sizes: tuple[int, ...], width: float, most_lines: int, bold: bool = False) -> int:
    """The largest of `sizes` at which `text` takes at most `most_lines` lines (else the smallest)."""
    return next((s for s in sizes if len(m.lines(text, s, width, bold)) <= most_lines), sizes[-1])


def pptx(report: Report, fonts: Path | None = None) -> bytes:
    """A 16:9 deck: a title slide (title, page, snapshot, source and data version, date); one slide per
    chart with its takeaway and, under the chart, its context line; the page's tables, paged, each
    with its context line; source and version in every footer and note. Every box is sized from the
    font's metrics so that nothing overlaps and no text leaves its box."""
    from pptx import Presentation
    from pptx.util import Pt

    m = metrics(fonts)
    deck = Presentation()
    deck.core_properties.title, deck.core_properties.subject = report.title, report.source
    deck.core_properties.language = report.lang
    deck.slide_width, deck.slide_height = Pt(SLIDE_PT[0]), Pt(SLIDE_PT[1])
    _cover(deck, m, report)
    blank = deck.slide_layouts[6]
    for chart in report.charts:
        context = chart.exhibit.context_line()
        slide, top, bottom = _slide(deck, blank, m, chart.title, chart.takeaway, context, report.source)
        context_h = m.height(context, CONTEXT_PT, SLIDE_PT[0] - 2 * MARGIN_PT)
        png, width, height = picture(chart.figure, (SLIDE_PT[0] - 2 * MARGIN_PT, bottom - top - GAP_PT - context_h))
        slide.shapes.add_picture(io.BytesIO(png), Pt((SLIDE_PT[0] - width) / 2), Pt(top), Pt(width), Pt(height))
        _text(slide, m, context, top + height + GAP_PT, CONTEXT_PT)
    for ex in report.tables:
        _table_slides(deck, blank, m, ex, report)
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def _cover(deck, m: Metrics, report: Report) -> None:
    """The title and the cover lines, centred on the slide as one block, at the largest sizes that fit."""
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    width, room = SLIDE_PT[0] - 2 * MARGIN_PT, SLIDE_PT[1] - 2 * MARGIN_PT
    lines = "\n".join(report.cover_lines)
    for title_pt, line_pt in COVER_PT:
        title_h, lines_h = m.height(report.title, title_pt, width, True), m.height(lines, line_pt, width)
        if title_h + 2 * GAP_PT + lines_h <= room:
            break
    top = max(MARGIN_PT, (SLIDE_PT[1] - title_h - 2 * GAP_PT - lines_h) / 2)
    _place(slide.shapes.title, report.title, top, title_h, title_pt, bold=True, centred=True)
    _place(slide.placeholders[1], lines, top + title_h + 2 * GAP_PT, lines_h, line_pt, centred=True)


def _slide(deck, layout, m: Metrics, title: str, takeaway: str, context: str, source: str):
    """A slide with its title, takeaway and footer; returns it and the free band (top, bottom) in points,
    the context line under the content included."""
    slide = deck.slides.add_slide(layout)
    width = SLIDE_PT[0] - 2 * MARGIN_PT
    y = MARGIN_PT * 0.75
    y += _text(slide, m, title, y, _fitting(m, title, TITLE_PT, width, 2, True), bold=True) + GAP_PT
    if takeaway:
        y += _text(slide, m, takeaway, y, _fitting(m, takeaway, TAKEAWAY_PT, width, 2)) + GAP_PT * 1.5
    footer_h = m.height(source, FOOTER_PT, width)
    footer = SLIDE_PT[1] - MARGIN_PT * 0.5 - footer_h
    _text(slide, m, source, footer, FOOTER_PT)
    slide.notes_slide.notes_text_frame.text = "\n".join(filter(None, (takeaway, context, source)))
    return slide, y, footer - GAP_PT


def _text(slide, m: Metrics, text: str, top: float, size: int, bold: bool = False) -> float:
    """A text box the slide's width at `top` points, as high as its lines; returns that height."""
    from pptx.util import Pt

    width = SLIDE_PT[0] - 2 * MARGIN_PT
    height = m.height(text, size, width, bold)
    box = slide.shapes.add_textbox(Pt(MARGIN_PT), Pt(top), Pt(width), Pt(height))
    _place(box, text, top, height, size, bold)
    return height


def _place(shape, text: str, top: float, height: float, size: int, bold: bool = False, centred: bool = False) -> None:
    """`text` in `shape`, the slide's width at `top`, `height` points high: no inner margins, no
    autofit, each line `LINE_SPACING` of the font size, so that its lines are the measured ones."""
    from pptx.util import Pt

    shape.left, shape.top, shape.width, shape.height = (Pt(MARGIN_PT), Pt(top), Pt(SLIDE_PT[0] - 2 * MARGIN_PT),
                                                        Pt(height))
    frame = shape.text_frame
    _format_frame(frame)
    frame.text = text
    for para in frame.paragraphs:
        _format_paragraph(para, size, bold, centred)


def _format_frame(frame) -> None:
    from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE

    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.vertical_anchor = MSO_ANCHOR.TOP
    frame.margin_left = frame.margin_right = frame.margin_top = frame.margin_bottom = 0


def _format_paragraph(para, size: int, bold: bool, centred: bool = False) -> None:
    from pptx.dml.color import RGBColor
    from pptx.enum.text import PP_ALIGN
    from pptx.util import Pt

    para.alignment = PP_ALIGN.CENTER if centred else PP_ALIGN.LEFT
    para.line_spacing = Pt(size * LINE_SPACING)
    para.space_before = para.space_after = Pt(0)
    for run in para.runs:
        run.font.size, run.font.bold, run.font.name = Pt(size), bold, FONT_NAME
        run.font.color.rgb = RGBColor(*INK)


@dataclass(frozen=True)
class TableFit:
    size: int
    widths: tuple[float, ...]  # points
    heights: tuple[float, ...]  # points, the heading row first

    @property
    def height(self) -> float:
        return sum(self.heights)


def table_fit(m: Metrics, headers: list[str], rows: list[list[str]], width: float, height: float,
              sizes: tuple[int, ...] = TABLE_PT) -> TableFit | None:
    """Column widths and row heights of a table at the largest of `sizes` at which it fits `width` ×
    `height` points. A column is as wide as its longest cell, and its heading on one line where the
    width allows (else the room left goes to the headings that wrap most); a table still too wide
    wraps the cells of its widest columns. None: the rows need more height at every size."""
    pad = 2 * CELL_PAD_PT[0] + 1

    def widest(texts: list[str], size: int, bold: bool = False) -> float:
        return max([m.width(x, size, bold) / WRAP_ROOM for x in texts] or [0.0])

    for size in sizes:
        cells = [widest([r[j] for r in rows], size) for j in range(len(headers))]
        least = [max(c, widest(h.split(" "), size, True)) + pad for c, h in zip(cells, headers)]
        whole = [max(c, widest([h], size, True)) + pad for c, h in zip(cells, headers)]
        if sum(whole) <= width:
            widths = [w + (width - sum(whole)) / len(whole) for w in whole]
        elif sum(least) <= width:
            share = (width - sum(least)) / (sum(whole) - sum(least))
            widths = [lo + (hi - lo) * share for lo, hi in zip(least, whole)]
        else:  # the widest columns share what the others leave, and their cells wrap
            widths = _capped(least, width)
            if max(widths) < 8 * size and size != sizes[-1]:  # under about a dozen characters a line
                continue
        heights = [max(m.height(c, size, w - pad, bold) for c, w in zip(texts, widths)) + 2 * CELL_PAD_PT[1]
                   for texts, bold in [(headers, True)] + [(r, False) for r in rows]]
        if sum(heights) <= height:
            return TableFit(size, tuple(widths), tuple(heights))
    return None


def _capped(widths: list[float], total: float) -> list[float]:
    """`widths` with the widest cut to one cap, so that they add up to `total` (water-filling)."""
    ordered, left = sorted(widths), total
    for i, w in enumerate(ordered):
        cap = left / (len(ordered) - i)
        if w > cap:
            return [min(x, cap) for x in widths]
        left -= w
    return list(widths)


def _table_pages(m: Metrics, headers: list[str], rows: list[list[str]], width: float,
                 height: float) -> list[tuple[list[list[str]], TableFit]]:
    """The rows in pages of ROWS_PER_SLIDE, a page halved while it needs type under READABLE_PT."""
    readable = tuple(s for s in TABLE_PT if s >= READABLE_PT)

    def split(part: list[list[str]]) -> list[tuple[list[list[str]], TableFit]]:
        fit = table_fit(m, headers, part, width, height, readable if len(part) > FEWEST_ROWS else TABLE_PT)
        if fit is not None or len(part) <= 1:
            return [(part, fit or _forced(m, headers, part, width))]
        return split(part[:(len(part) + 1) // 2]) + split(part[(len(part) + 1) // 2:])

    return [page for part in pages_of(rows, ROWS_PER_SLIDE) for page in split(part)]


def _forced(m: Metrics, headers: list[str], rows: list[list[str]], width: float) -> TableFit:
    """One row that cannot fit the slide's height at the smallest size: laid out all the same."""
    fit = table_fit(m, headers, rows, width, float("inf"), TABLE_PT[-1:])
    assert fit is not None  # any height fits an unbounded band
    return fit


def _table_slides(deck, layout, m: Metrics, ex: Exhibit, report: Report) -> None:
    from pptx.util import Pt

    headers, context = [str(h) for h in ex.table.columns], ex.context_line()
    width = SLIDE_PT[0] - 2 * MARGIN_PT
    probe = _slide_band(m, ex.title + " (10/10)", ex.takeaway, context, report.source)
    pages = _table_pages(m, headers, text_rows(ex), width, probe)
    for n, (part, fit) in enumerate(pages, start=1):
        title = ex.title + (f" ({n}/{len(pages)})" if len(pages) > 1 else "")
        slide, top, _ = _slide(deck, layout, m, title, ex.takeaway, context, report.source)
        shape = slide.shapes.add_table(len(part) + 1, len(headers), Pt(MARGIN_PT), Pt(top), Pt(width),
                                       Pt(fit.height))
        for j, w in enumerate(fit.widths):
            shape.table.columns[j].width = Pt(w)
        for i, h in enumerate(fit.heights):
            shape.table.rows[i].height = Pt(h)
        for i, cells in enumerate([headers, *part]):
            for j, text in enumerate(cells):
                _cell(shape.table.cell(i, j), text, fit.size, bold=i == 0)
        _text(slide, m, context, top + fit.height + GAP_PT, CONTEXT_PT)


def _slide_band(m: Metrics, title: str, takeaway: str, context: str, source: str) -> float:
    """The height a slide leaves for a table, its context line under it (as `_slide` lays it out)."""
    width = SLIDE_PT[0] - 2 * MARGIN_PT
    top = MARGIN_PT * 0.75 + m.height(title, _fitting(m, title, TITLE_PT, width, 2, True), width, True) + GAP_PT
    if takeaway:
        top += m.height(takeaway, _fitting(m, takeaway, TAKEAWAY_PT, width, 2), width) + GAP_PT * 1.5
    bottom = SLIDE_PT[1] - MARGIN_PT * 0.5 - m.height(source, FOOTER_PT, width) - GAP_PT
    return bottom - top - GAP_PT - m.height(context, CONTEXT_PT, width)


def _cell(cell, text: str, size: int, bold: bool = False) -> None:
    from pptx.util import Pt

    cell.margin_left = cell.margin_right = Pt(CELL_PAD_PT[0])
    cell.margin_top = cell.margin_bottom = Pt(CELL_PAD_PT[1])
    cell.text = text
    cell.text_frame.word_wrap = True
    for para in cell.text_frame.paragraphs:
        _format_paragraph(para, size, bold)


def font_dir(configured: Path | None = None, search: tuple[Path, ...] = FONT_SEARCH) -> Path:
    """The folder holding both DejaVu files: the configured one (which must hold them), else the
    first of `search` that does. FileNotFoundError names what was looked for, and where."""
    for folder in (configured,) if configured else search:
        if all((folder / name).is_file() for name in FONT_FILES):
            return folder
    where = configured or ", ".join(map(str, search))
    raise FileNotFoundError(f"{' and '.join(FONT_FILES)} not found in {where} (set font_dir, or install "
                            "fonts-dejavu-core)")


PDF_PAGE_MM, PDF_MARGIN_MM, PDF_BOTTOM_MM = (297, 210), 10, 15  # A4 landscape; the footer sits in the bottom margin
PDF_CONTEXT_PT, PDF_CONTEXT_MM = 11, 5.5  # the context line's font size and line height


def pdf(report: Report, fonts: Path | None = None) -> bytes:
    """An A4 landscape report: a cover, a page per chart with its takeaway and, under the chart, its
    context line; then the page's tables, each followed by its context line. A chart is sized to the
    room its page leaves. `fonts` is the DejaVu folder (default: `font_dir` of the configured setting)."""
    fonts = fonts or font_dir(config.settings().font_dir)
    doc = _pdf_doc(fonts, report.source)
    # A reader's window and a screen reader announce the document by its title, in its language.
    doc.set_title(report.title)
    doc.set_subject(report.source)
    doc.set_lang(report.lang)
    doc.add_page()
    lines = "\n".join(report.cover_lines)
    doc.set_font("DejaVu", "B", 24)
    title_h = 12 * _pdf_lines(doc, report.title)
    doc.set_font("DejaVu", size=14)
    lines_h = 9 * _pdf_lines(doc, lines)
    doc.set_y(max(PDF_MARGIN_MM, (PDF_PAGE_MM[1] - title_h - 6 - lines_h) / 2))  # centred as one block
    doc.set_font("DejaVu", "B", 24)
    doc.multi_cell(0, 12, report.title, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(6)
    doc.set_font("DejaVu", size=14)
    doc.multi_cell(0, 9, lines, align="C", new_x="LMARGIN", new_y="NEXT")
    width = PDF_PAGE_MM[0] - 2 * PDF_MARGIN_MM
    for chart in report.charts:
        _pdf_heading(doc, chart.title, chart.takeaway)
        context = chart.exhibit.context_line()
        doc.set_font("DejaVu", size=PDF_CONTEXT_PT)
        context_h = PDF_CONTEXT_MM * _pdf_lines(doc, context)
        top = doc.get_y() + 2
        png, w, h = picture(chart.figure, (width, PDF_PAGE_MM[1] - PDF_BOTTOM_MM - top - 3 - context_h))
        doc.image(io.BytesIO(png), x=(PDF_PAGE_MM[0] - w) / 2, y=top, w=w, h=h)
        doc.set_y(top + h + 3)
        _pdf_context(doc, context)
    scratch = _pdf_doc(fonts, report.source)  # where a table's page is tried before it is written
    for ex in report.tables:
        headers, context = list(map(str, ex.table.columns)), ex.context_line()
        fits = functools.partial(_pdf_fits, scratch, ex.title + " (10/10)", ex.takeaway, headers, context)
        parts = [p for part in pages_of(text_rows(ex), ROWS_PER_PDF_PAGE) for p in _halved(part, fits)]
        for n, part in enumerate(parts, start=1):
            _pdf_heading(doc, ex.title + (f" ({n}/{len(parts)})" if len(parts) > 1 else ""), ex.takeaway)
            _pdf_table(doc, headers, part, context)
    return bytes(doc.output())


def _pdf_doc(fonts: Path, source: str) -> FPDF:
    from fpdf import FPDF

    class Doc(FPDF):
        def footer(self):
            self.set_y(-12)
            self.set_font("DejaVu", size=9)
            self.cell(0, 8, f"{source} · {self.page_no()}", align="R")

    doc = Doc(orientation="L", format="A4")
    doc.add_font("DejaVu", "", str(fonts / FONT_FILES[0]))
    doc.add_font("DejaVu", "B", str(fonts / FONT_FILES[1]))
    doc.set_margins(PDF_MARGIN_MM, PDF_MARGIN_MM)
    doc.set_auto_page_break(True, margin=PDF_BOTTOM_MM)
    return doc


def _pdf_fits(scratch: FPDF, title: str, takeaway: str, headers: list[str], context: str, rows: list[list[str]]) -> bool:
    """Whether a page of the table (heading, rows, context line) fits one page: tried on `scratch`."""
    _pdf_heading(scratch, title, takeaway)
    with scratch.offset_rendering() as trial:
        _pdf_table(trial, headers, rows, context)  # type: ignore[arg-type]  # the recorder stands in for the FPDF
    return not trial.page_break_triggered


def _halved(part: list, fits) -> list[list]:
    """`part` as is if it `fits`, else its halves, each halved in turn (one row stays whole)."""
    if len(part) <= 1 or fits(part):
        return [part]
    half = (len(part) + 1) // 2
    return _halved(part[:half], fits) + _halved(part[half:], fits)


def _pdf_table(doc: FPDF, headers: list[str], rows: list[list[str]], context: str) -> None:
    """A table and, under it, its context line."""
    from fpdf.fonts import FontFace

    doc.set_font("DejaVu", size=10)
    with doc.table(headings_style=FontFace(emphasis="BOLD"), line_height=6) as grid:
        for row in [headers, *rows]:
            grid.row(row)
    doc.ln(3)
    _pdf_context(doc, context)


def _pdf_lines(doc: FPDF, text: str) -> int:
    """The lines `text` takes across the page at the current font (fpdf's own measure)."""
    lines = doc.multi_cell(0, 5, text, dry_run=True, output="LINES")
    return len(lines) if isinstance(lines, list) else 1


def _pdf_context(doc: FPDF, context: str) -> None:
    doc.set_font("DejaVu", size=PDF_CONTEXT_PT)
    doc.multi_cell(0, PDF_CONTEXT_MM, context, new_x="LMARGIN", new_y="NEXT")


def _pdf_heading(doc: FPDF, title: str, takeaway: str) -> None:
    doc.add_page()
    doc.set_font("DejaVu", "B", 16)
    doc.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", size=12)
    doc.multi_cell(0, 7, takeaway, new_x="LMARGIN", new_y="NEXT")


def _html_table(ex: Exhibit) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in ex.table.columns)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if k != "text" else ""}>{html.escape(v)}</td>'
                                    for v, (k, _) in zip(row, kinds)) + "</tr>"
                   for row, kinds in zip(text_rows(ex), ex.cell_kinds()))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(report: Report) -> str:
    """One HTML file with interactive charts, the page's tables and a single embedded plotly.js:
    it opens with no network."""
    parts = [
        "<!DOCTYPE html>", f'<html lang="{report.lang}"><head><meta charset="utf-8">',
        f"<title>{html.escape(report.title)}</title>",
        "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2rem;color:#1B1F24}"
        "h1{margin-bottom:0}.meta,.source,.context{color:#555}.chart{margin:2.5rem 0}"
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
                  f'<p class="context">{html.escape(chart.exhibit.context_line())}</p>',
                  f"<details><summary>{data_label}</summary>{_html_table(chart.exhibit)}</details>",
                  "</section>"]
    for ex in report.tables:
        parts += [f'<section class="table"><h2>{html.escape(ex.title)}</h2>', f"<p>{html.escape(ex.takeaway)}</p>",
                  _html_table(ex),
                  f'<p class="context">{html.escape(ex.context_line())}</p>', "</section>"]
    parts.append(f'<p class="source">{html.escape(report.source)}</p></body></html>')
    return "\n".join(parts)


def plain(label: str) -> str:
    """A chart label as text: Plotly's escapes undone and the line breaks that fit it to a screen removed."""
    return html.unescape(re.sub(r"\s*<br>\s*", " ", label))
