"""Files people take away: CSV and XLSX of a table, PNG/SVG of a chart, slides, PDF, offline HTML.

Every table written for a spreadsheet goes through `formula_safe` first: a cell that starts with
= + - @ tab or carriage return would be run as a formula by Excel or LibreOffice.
"""

from __future__ import annotations

import datetime as dt
import html
import io
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
from pptx import Presentation
from pptx.util import Emu, Inches, Pt

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


def to_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark, so Excel reads Vietnamese text correctly."""
    return formula_safe(df).to_csv(index=False).encode("utf-8-sig")


def to_xlsx(df: pd.DataFrame, sheet: str = "Dữ liệu") -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        formula_safe(df).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buf.getvalue()


def file_name(*parts: str, ext: str) -> str:
    """A download name in Vietnamese, e.g. 'Báo cáo CCHC - Tổng quan - 27-11-2026.pptx'; the longest
    part (a long title) is shortened with '…' until the name fits file systems' 255-byte limit."""
    parts = [_UNSAFE_NAME.sub("-", p).strip() for p in parts if p]
    while len(f"{' - '.join(parts)}.{ext}".encode()) > MAX_FILE_NAME_BYTES:
        i = max(range(len(parts)), key=lambda k: len(parts[k]))
        parts[i] = parts[i].removesuffix("…")[:-1].rstrip() + "…"
    return f"{' - '.join(parts)}.{ext}"


SLIDE_PX = (1600, 900)  # 16:9 at slide resolution
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core: full Vietnamese coverage
_kaleido_lock = threading.Lock()


@dataclass(frozen=True)
class ChartExport:
    """One chart as it leaves the dashboard: title, the finding in one line, the figure, its data."""

    title: str
    takeaway: str
    figure: go.Figure
    data: pd.DataFrame


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str  # e.g. the page and the filters
    source: str  # dataset and data version, printed on every page and slide
    created: dt.datetime
    charts: tuple[ChartExport, ...]


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


def pptx(report: Report) -> bytes:
    """A deck: a title slide, then one slide per chart with its takeaway; source and version in notes and footer."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(13.333), Inches(7.5)
    cover = deck.slides.add_slide(deck.slide_layouts[0])
    cover.shapes.title.text = report.title
    cover.placeholders[1].text = f"{report.subtitle}\n{report.source}"
    blank = deck.slide_layouts[6]
    for chart in report.charts:
        slide = deck.slides.add_slide(blank)
        _text(slide, chart.title, Inches(0.4), Inches(0.2), Inches(12.5), Inches(0.7), 26, bold=True)
        _text(slide, chart.takeaway, Inches(0.4), Inches(0.85), Inches(12.5), Inches(0.5), 18)
        slide.shapes.add_picture(io.BytesIO(image(chart.figure)), Inches(0.9), Inches(1.4), height=Inches(5.55))
        _text(slide, report.source, Inches(0.4), Inches(7.0), Inches(12.5), Inches(0.4), 11)
        slide.notes_slide.notes_text_frame.text = f"{chart.takeaway}\n{report.source}"
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def _text(slide, text: str, left: Emu, top: Emu, width: Emu, height: Emu, size: int, bold: bool = False) -> None:
    frame = slide.shapes.add_textbox(left, top, width, height).text_frame
    frame.word_wrap = True
    run = frame.paragraphs[0].add_run()
    run.text = text
    run.font.size, run.font.bold = Pt(size), bold


class _Pdf(FPDF):
    source = ""

    def footer(self):
        self.set_y(-12)
        self.set_font("DejaVu", size=9)
        self.cell(0, 8, f"{self.source} · {self.page_no()}", align="R")


def pdf(report: Report) -> bytes:
    """An A4 landscape report: a cover, then a page per chart with its takeaway."""
    doc = _Pdf(orientation="L", format="A4")
    doc.source = report.source
    doc.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    doc.set_auto_page_break(True, margin=15)
    doc.add_page()
    doc.set_font("DejaVu", "B", 24)
    doc.ln(50)
    doc.multi_cell(0, 12, report.title, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", size=14)
    doc.multi_cell(0, 9, f"{report.subtitle}\n{report.source}", align="C", new_x="LMARGIN", new_y="NEXT")
    for chart in report.charts:
        doc.add_page()
        doc.set_font("DejaVu", "B", 16)
        doc.multi_cell(0, 8, chart.title, new_x="LMARGIN", new_y="NEXT")
        doc.set_font("DejaVu", size=12)
        doc.multi_cell(0, 7, chart.takeaway, new_x="LMARGIN", new_y="NEXT")
        doc.image(io.BytesIO(image(chart.figure)), x=15, w=267)  # full width at 16:9
    return bytes(doc.output())


def html_report(report: Report) -> str:
    """One HTML file with interactive charts and a single embedded plotly.js: it opens with no network."""
    parts = [
        "<!DOCTYPE html>", '<html lang="vi"><head><meta charset="utf-8">',
        f"<title>{html.escape(report.title)}</title>",
        "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2rem;color:#1B1F24}"
        "h1{margin-bottom:0}.meta,.source{color:#555}.chart{margin:2.5rem 0}</style>",
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
        f'<p class="meta">{html.escape(report.subtitle)}<br>{html.escape(report.source)}</p>',
    ]
    for i, chart in enumerate(report.charts):
        parts += [f'<section class="chart"><h2>{html.escape(chart.title)}</h2>',
                  f"<p>{html.escape(chart.takeaway)}</p>",
                  chart.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{i}"),
                  "</section>"]
    parts.append(f'<p class="source">{html.escape(report.source)}</p></body></html>')
    return "\n".join(parts)


def figure_data(fig: go.Figure) -> pd.DataFrame:
    """The numbers behind a chart, one row per point: series, x, y (and z for heatmaps)."""
    frames = []
    for trace in fig.data:
        name = html.unescape(str(trace.name or ""))
        if getattr(trace, "z", None) is not None:
            z = pd.DataFrame(list(trace.z), index=list(trace.y), columns=list(trace.x))
            long = z.stack(future_stack=True).rename("z").reset_index()
            long.columns = ["y", "x", "z"]
            frames.append(long.assign(series=name)[["series", "x", "y", "z"]])
        elif getattr(trace, "x", None) is not None and getattr(trace, "y", None) is not None:
            if all(v is None for v in trace.x):  # a legend entry only: no numbers behind it
                continue
            frames.append(pd.DataFrame({"series": name, "x": list(trace.x), "y": list(trace.y)}))
    if not frames:
        return pd.DataFrame(columns=["series", "x", "y"])
    out = pd.concat(frames, ignore_index=True)
    for col in ("x", "y"):
        out[col] = out[col].map(lambda v: plain(v) if isinstance(v, str) else v)
    return out


def plain(label: str) -> str:
    """A chart label as text: Plotly's escapes undone and the line breaks that fit it to a screen removed."""
    return html.unescape(re.sub(r"\s*<br>\s*", " ", label))


def chart_export(fig: go.Figure) -> ChartExport:
    """A drawn chart as it leaves: its title, and as the takeaway the finding its title states after
    the colon ("Mức độ hài lòng 2019: 4/19 đơn vị chưa đạt mục tiêu 80%"), computed with the chart."""
    title = plain(str(fig.layout.title.text or ""))
    subject, _, finding = title.partition(": ")
    return ChartExport(subject if finding else title, finding, fig, figure_data(fig))
