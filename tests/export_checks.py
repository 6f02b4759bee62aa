"""What a deck must hold, read back with python-pptx and measured with the DejaVu files' own metrics
(a naive word wrap, written apart from the exports' layout): every box inside its slide, no two
boxes overlapping, no text longer than its box, a context line under each chart and table."""

from __future__ import annotations

import io
import itertools
from functools import lru_cache

from PIL import ImageFont
from pptx import Presentation
from pptx.util import Length

from reformkpi import exports

FONTS = exports.font_dir()
PT = 12700  # EMU in a point


@lru_cache(maxsize=64)
def _font(bold: bool, size: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / exports.FONT_FILES[bold]), size)


def wrapped(text: str, size: float, width: float, bold: bool = False) -> int:
    """Lines `text` takes in `width` points: words added while the line fits; a word wider than the
    line counts the lines it is cut into."""
    font, count = _font(bold, size), 0
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            if font.getlength(f"{line} {word}" if line else word) <= width:
                line = f"{line} {word}" if line else word
                continue
            count += bool(line)
            while font.getlength(word) > width and len(word) > 1:
                count, word = count + 1, word[max(1, int(len(word) * width / font.getlength(word))):]
            line = word
        count += 1
    return count


def _box(shape) -> tuple[float, float, float, float]:
    return shape.left / PT, shape.top / PT, (shape.left + shape.width) / PT, (shape.top + shape.height) / PT


def _text_height(frame, width: float) -> float:
    """The height the paragraphs of a text frame take at their fonts and line spacing."""
    total = 0.0
    for para in frame.paragraphs:
        run = para.runs[0] if para.runs else None
        size = run.font.size.pt if run is not None and run.font.size else 18.0
        spacing = para.line_spacing.pt if isinstance(para.line_spacing, Length) else size * 1.2 * (para.line_spacing or 1)
        total += wrapped(para.text, size, width, bool(run is not None and run.font.bold)) * spacing
    return total


def deck_problems(data: bytes, context_prefix: str = "Nguồn:") -> list[str]:
    """Every overlap, box outside its slide, overflowing text, table missing a column label and chart
    or table without a context line under it; [] when there is none."""
    deck = Presentation(io.BytesIO(data))
    slide_w, slide_h = deck.slide_width / PT, deck.slide_height / PT
    found = []
    for n, slide in enumerate(deck.slides, start=1):
        shapes = list(slide.shapes)
        for sh in shapes:
            x0, y0, x1, y1 = _box(sh)
            if x0 < 0 or y0 < 0 or x1 > slide_w + 0.5 or y1 > slide_h + 0.5:
                found.append(f"slide {n}: {sh.name} leaves the slide ({x0:.0f}, {y0:.0f}, {x1:.0f}, {y1:.0f})")
            if sh.has_text_frame and sh.text_frame.text:
                need = _text_height(sh.text_frame, (sh.width - 0) / PT)
                if need > sh.height / PT + 0.5:
                    found.append(f"slide {n}: {sh.text_frame.text[:40]!r} needs {need:.0f} pt in {sh.height / PT:.0f}")
            if sh.has_table:
                found += _table_problems(n, sh)
        for a, b in itertools.combinations(shapes, 2):
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = _box(a), _box(b)
            if min(ax1, bx1) - max(ax0, bx0) > 0.5 and min(ay1, by1) - max(ay0, by0) > 0.5:
                found.append(f"slide {n}: {a.name} and {b.name} overlap")
        for content in (sh for sh in shapes if sh.shape_type == 13 or sh.has_table):
            below = [sh for sh in shapes if sh.has_text_frame and sh.text_frame.text.startswith(context_prefix)
                     and sh.top >= content.top + content.height]
            if not below or min(b.top for b in below) - (content.top + content.height) > 20 * PT:
                found.append(f"slide {n}: no context line under {content.name}")
    return found


def _table_problems(n: int, frame) -> list[str]:
    table, found = frame.table, []
    widths = [c.width / PT for c in table.columns]
    for i, row in enumerate(table.rows):
        for j, cell in enumerate(row.cells):
            if i == 0 and not cell.text.strip():
                found.append(f"slide {n}: column {j + 1} has no label")
            room = widths[j] - (cell.margin_left + cell.margin_right) / PT
            need = _text_height(cell.text_frame, room) + (cell.margin_top + cell.margin_bottom) / PT
            if need > row.height / PT + 0.5:
                found.append(f"slide {n}: cell {cell.text[:30]!r} needs {need:.0f} pt in {row.height / PT:.0f}")
    if sum(r.height for r in table.rows) > frame.height + PT:
        found.append(f"slide {n}: table rows taller than the table")
    return found


def slides_text(data: bytes) -> list[str]:
    return ["\n".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
            for slide in Presentation(io.BytesIO(data)).slides]
