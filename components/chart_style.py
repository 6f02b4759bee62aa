"""How a chart lays itself out for the screen it is read on: a phone, a laptop or a projector.

A chart builder draws its data and calls `layout` (title, language, height); `fit` then sizes the
chart for the screen: fonts, wrapped titles and category labels, ticks thinned so that they stay
level and apart, room beside horizontal bars for their value labels, the legend below the axis
title (never over it), and margins that hold all of it. Text widths are estimated from the font
size, generously, so that the estimate errs towards more room.

The screen class comes from a small probe in the page (`PROBE_JS`, run by the page's one component,
which shell.language_picker mounts): it reports the window's width and whether it is a touch
screen; until it has reported, the browser's user agent decides.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import re
import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from reformkpi import formatting

SEPARATORS = {"vi": ",.", "en": ".,"}  # Plotly: decimal mark, then thousands separator
# Lines of a wrapped title keep a space at the break, so that the text reads (and is found) whole.
BREAK = " <br>"
CHAR = 0.6  # width of an average character, in units of the font size (Vietnamese diacritics included)
LINE = 1.35  # height of a line of text, in units of the font size


@dataclass(frozen=True)
class Screen:
    name: str
    width: int  # pixels a full-width chart gets
    font: int
    title_font: int
    touch: bool = False
    grid_columns: int = 2  # small multiples side by side

    @property
    def narrow(self) -> bool:
        return self.name == "phone"


SCREENS = {
    "phone": Screen("phone", 350, 12, 15, touch=True, grid_columns=1),
    "laptop": Screen("laptop", 1000, 14, 18),
    "projector": Screen("projector", 1480, 16, 22),
}
PHONE_MAX, PROJECTOR_MIN = 700, 1800  # window widths in CSS pixels
_KEY, PROBE_KEY = "chart_style:screen", "chart_style:probe"
# The house template as Plotly's default: a figure takes the default cheaply as it is made, where
# setting a template on a figure copies all of it again (several milliseconds a chart).
pio.templates.default = "plotly_white"

# A function of the page's component (its data: probe_data()); it reports a new screen class as "screen".
PROBE_JS = """({ data, setStateValue }) => {
  const report = () => {
    const now = {width: window.innerWidth, touch: matchMedia('(pointer: coarse)').matches};
    const cls = now.width < data.phone_max ? 'phone' : now.width >= data.projector_min ? 'projector' : 'laptop';
    if (cls !== data.current || now.touch !== data.touch) setStateValue('screen', now);
  };
  report();
  let timer;
  const onResize = () => { clearTimeout(timer); timer = setTimeout(report, 300); };
  window.addEventListener('resize', onResize);
  return () => window.removeEventListener('resize', onResize);
}"""


def classify(width: float, touch: bool) -> Screen:
    """The screen class of a window `width` CSS pixels wide."""
    base = SCREENS["phone" if width < PHONE_MAX else "projector" if width >= PROJECTOR_MIN else "laptop"]
    return Screen(base.name, base.width, base.font, base.title_font, touch, base.grid_columns)


def _guess() -> Screen:
    agent = st.context.headers.get("User-Agent", "") if st.context.headers else ""
    return SCREENS["phone"] if re.search(r"Mobi|Android|iPhone", agent) else SCREENS["laptop"]


def screen() -> Screen:
    """The screen this session is read on."""
    return st.session_state.get(_KEY) or _guess()


def reported() -> None:
    """The probe's report (the page's component, keyed PROBE_KEY, calls it): a new screen class reruns the page."""
    seen = st.session_state[PROBE_KEY].get("screen")
    if seen:
        st.session_state[_KEY] = classify(float(seen["width"]), bool(seen["touch"]))


def probe_data() -> dict:
    """What the probe compares the window with: the screen class it is read as, and the bounds of the classes."""
    current = screen()
    return {"current": current.name, "touch": current.touch, "phone_max": PHONE_MAX, "projector_min": PROJECTOR_MIN}


def enlarged(scr: Screen) -> Screen:
    """The screen with the larger type of presentation mode (one chart at a time, read from afar)."""
    return Screen(scr.name, scr.width, scr.font + 6, scr.title_font + 10, scr.touch, scr.grid_columns)


def fit_to(fig: go.Figure, scr: Screen, height: int) -> go.Figure:
    """`fit`, with the whole chart `height` pixels tall (presentation mode: one screen, no scrolling)."""
    fit(fig, scr)
    margins = fig.layout.margin.t + fig.layout.margin.b
    fig.layout.height = max(height - margins, 200) + 100  # `fit` takes the plot's height as the height less 100
    return fit(fig, scr)


def plotly_config(scr: Screen) -> dict:
    """No modebar: on hover it covered the chart's title, and the page's export menu offers each
    chart as an image (dragging still zooms, a double click resets)."""
    return {"displaylogo": False, "displayModeBar": False, "responsive": True}


def layout(fig: go.Figure, title: str, lang: str, height: int) -> go.Figure:
    """The house style of every chart (its template is the default, above): its title, the
    language's number format, its height (with a laptop's margins: `fit` adapts it to the screen)."""
    draft = _Draft(fig)  # through Plotly's update_layout, a third of a small chart's build
    draft.update_layout([
        (("title", "text"), formatting.label(title)), (("title", "x"), 0), (("title", "xanchor"), "left"),
        (("title", "font", "size"), 18), (("separators",), SEPARATORS[lang]), (("height",), height),
        (("font", "size"), 14), (("margin", "l"), 10), (("margin", "r"), 20), (("margin", "t"), 60),
        (("margin", "b"), 40), (("hoverlabel", "font", "size"), 14), (("legend", "orientation"), "h"),
    ])
    return draft.apply()


def wrap(text: str, chars: int) -> list[str]:
    """Lines of at most `chars` characters, broken at spaces (a longer word stays whole)."""
    return textwrap.wrap(text, max(chars, 8), break_long_words=False, break_on_hyphens=False) or [""]


def unwrap(text: str) -> str:
    """Text as it was before it was wrapped into lines."""
    return re.sub(r"\s*<br>\s*", " ", text)


def _text_px(text: str, font: float) -> float:
    return max((len(line) for line in re.split(r"<br>", str(text))), default=0) * CHAR * font


def _is_category(values) -> bool:
    return values is not None and len(values) > 0 and all(isinstance(v, str) for v in values if v is not None)


class _Draft:
    """A figure's traces and layout as plain values, read once: `fit` reads and changes these, and
    the figure takes the changed ones at once at the end (`apply`). Set one by one on a Plotly
    object, each validated and running the layout's callbacks, `fit`'s few hundred changes took
    most of its time. Keys set anew go last, as on a Plotly object, so the JSON a page is sent
    keeps its order."""

    def __init__(self, fig: go.Figure) -> None:
        self._fig = fig
        # Its own values, copied, without the template (which `fit` never reads): copying the
        # template too, as `to_plotly_json` does, took two thirds of a small chart's `layout` and `fit`.
        self.layout = {k: copy.deepcopy(v) for k, v in fig.layout._props.items() if k != "template"}
        self._changed: dict[str, None] = {}  # the layout's keys changed, in order
        self._restyled: dict[int, dict[str, None]] = {}  # each trace's, by its index

    @functools.cached_property
    def traces(self) -> list[dict]:
        """Read when first needed (`layout` sets none)."""
        return [tr.to_plotly_json() for tr in self._fig.data]

    def set(self, path: tuple, value) -> None:
        """Set a property at `path` (("layout", "xaxis2", "title", "text"), ("data", 3, "x"),
        ("layout", "annotations", 0, "font", "size")); None removes it, as in Plotly."""
        where, *keys, last = path
        node: Any = self.traces if where == "data" else self.layout
        for k in keys:
            node = node[k] if isinstance(k, int) else node.setdefault(k, {})
        if value is None and last in node:
            del node[last]
        elif value is not None and not (last in node and _equal(node[last], value)):
            node[last] = value
        else:
            return
        if where == "data":
            self._restyled.setdefault(keys[0], {})[keys[1] if len(keys) > 1 else last] = None
        else:
            self._changed[([*keys, last])[0]] = None

    def update_layout(self, changes: list[tuple[tuple, object]]) -> None:
        """Set several layout properties as one Plotly `update_layout` sets them: each sub-object
        it adds is made as it comes to it, every value after them all."""
        for path, _ in changes:
            node = self.layout
            for n, k in enumerate(path[:-1]):
                if k not in node:
                    self.set(("layout", *path[:n + 1]), {})
                node = node[k]
        for path, value in changes:
            self.set(("layout", *path), value)

    def apply(self) -> go.Figure:
        """The figure with the changed properties set, each whole (Plotly's relayout and restyle, which
        take them as they are, unvalidated: they were read from the figure, validated, or are plain
        numbers and text; tests/app/test_chart_style.py rebuilds fitted figures through validation)."""
        fig = self._fig
        fig.plotly_relayout({k: self.layout.get(k) for k in self._changed})
        for i, keys in self._restyled.items():
            fig.plotly_restyle({k: [self.traces[i].get(k)] for k in keys}, i)  # a list: a value per trace
        return fig


def _equal(a, b) -> bool:
    """Plotly's test of a value set again, which leaves an equal one as it was (a range's 0 stays 0, given 0.0)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(map(_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _legend_entries(draft: _Draft) -> list[str]:
    names, groups = [], set()
    for tr in draft.traces:
        if tr.get("showlegend") is False or not tr.get("name") or tr.get("type") in ("heatmap", "box"):
            continue
        if tr.get("legendgroup"):
            if tr["legendgroup"] in groups:
                continue
            groups.add(tr["legendgroup"])
        names.append(tr["name"])
    if len(names) < 2 and draft.layout.get("showlegend") is not True:
        return []
    return names


def _legend_rows(entries: list[str], width: float, font: float) -> int:
    rows, used = 1, 0.0
    for name in entries:
        w = _text_px(name, font) + 50  # symbol and gap
        if used and used + w > width:
            rows, used = rows + 1, 0.0
        used += w
    return rows


def _axes(draft: _Draft, letter: str) -> list[str]:
    """The axes of a letter the layout sets ('xaxis', 'xaxis2', … in order), else the first."""
    return sorted((k for k, v in draft.layout.items() if re.fullmatch(f"{letter}axis\\d*", k) and v),
                  key=lambda k: int(k[5:] or 1)) or [f"{letter}axis"]


def _traces_on(draft: _Draft, axis: str) -> list[tuple[int, dict]]:
    """The traces drawn on `axis`, with their index."""
    ref = axis[0] + axis[5:]  # "xaxis2" -> "x2"
    return [(i, tr) for i, tr in enumerate(draft.traces) if (tr.get(axis[0] + "axis") or axis[0]) == ref]


def _domain(ax: dict) -> float:
    d = ax.get("domain")
    return (d[1] - d[0]) if d else 1.0


def _categories(draft: _Draft, axis: str) -> list:
    ax = draft.layout.get(axis, {})
    if ax.get("tickmode") == "array" and ax.get("tickvals") is not None:
        return list(ax.get("ticktext") or ax["tickvals"])
    values: list = []
    for _, tr in _traces_on(draft, axis):
        v = tr.get(axis[0])
        if v is not None and _is_category(list(v)):
            values += [x for x in v if x is not None and x not in values]
    return values


def _wrap_categories(draft: _Draft, axis: str, chars: int) -> int:
    """Category labels wrapped at `chars` characters (in the traces, where Plotly reads them); the most lines."""
    letter = axis[0]
    most = 1
    for i, tr in _traces_on(draft, axis):
        values = tr.get(letter)
        if values is None or not _is_category(list(values)):
            continue
        wrapped = ["<br>".join(wrap(unwrap(v), chars)) if isinstance(v, str) else v for v in values]
        most = max([most] + [str(v).count("<br>") + 1 for v in wrapped])
        draft.set(("data", i, letter), wrapped)
    return most


def _thin(draft: _Draft, axis: str, cats: list, room: float, font: float) -> None:
    """Label every n-th category so that labels stay level and a gap apart."""
    if not cats:
        return
    label = max(_text_px(c, font) for c in cats) + font  # a gap of one character-height
    fits = max(1, int(room // label))
    ax = draft.layout.get(axis, {})
    array = ax.get("tickmode") == "array"
    vals = list(ax["tickvals"]) if array and ax.get("tickvals") is not None else cats
    text = list(ax["ticktext"]) if array and ax.get("ticktext") is not None else None
    step = math.ceil(len(vals) / fits)
    for key, value in (("tickangle", 0), ("tickmode", "array"), ("tickvals", vals[::step]),
                       ("ticktext", text[::step] if text else None)):
        draft.set(("layout", axis, key), value)


def _bar_label_room(draft: _Draft, plot_w: float, font: float) -> None:
    """Widen the value axis of horizontal bars so that labels outside the bars stay inside the chart."""
    for tr in draft.traces:
        if (tr.get("type") != "bar" or tr.get("orientation") != "h" or tr.get("text") is None
                or tr.get("textposition") != "outside"):
            continue
        xs = [float(v) for v in tr["x"] if v is not None and not (isinstance(v, float) and math.isnan(v))]
        if not xs:
            continue
        label = max(_text_px(s, font) for s in tr["text"]) + 8
        frac = min(label / max(plot_w, 1.0), 0.4)
        axis = "xaxis" + (tr["xaxis"][1:] if tr.get("xaxis") else "")
        own = draft.layout.get(axis, {}).get("range")
        lo, hi = min(0.0, *xs), max(0.0, *xs)
        span = (hi - lo) or 1.0
        pad = span * frac / (1 - 2 * frac)
        new_lo = lo - pad if lo < 0 else lo
        new_hi = hi + pad if hi > 0 else hi
        if own is not None:
            new_lo, new_hi = min(new_lo, own[0]), max(new_hi, own[1])
        draft.set(("layout", axis, "range"), [new_lo, new_hi])


def fit(fig: go.Figure, scr: Screen, span: float = 1.0) -> go.Figure:
    """Lay `fig` out for `scr`, in a column `span` of the page's width wide. Changes `fig` in place."""
    draft = _Draft(fig)
    lay = draft.layout
    width = scr.width * span
    f, tf = scr.font, scr.title_font
    title = unwrap(lay.get("title", {}).get("text") or "")  # a chart fitted before is fitted afresh
    title_lines = wrap(title, int((width - 10) / (CHAR * tf))) if title else []
    old_plot_h = (lay.get("height") or 400) - 100  # `layout` gives 60 + 40 pixels of margins

    # Category labels on the left (bars, heatmap rows): wrapped on narrow screens, and wherever they
    # would take more than 40% of the chart's width, so that bars keep room.
    left = 0.0
    y_lines = 1
    for axis in _axes(draft, "y"):
        cats = _categories(draft, axis)
        if cats and lay.get(axis, {}).get("showticklabels") is not False:
            if scr.narrow or max(_text_px(c, f) for c in cats) > width * 0.4:
                y_lines = max(y_lines, _wrap_categories(draft, axis, int(width * 0.4 / (CHAR * f))))
                cats = _categories(draft, axis)
            left = max(left, max(_text_px(c, f) for c in cats) + 10)
    plot_w = max(width - left - 30, 80.0)
    _bar_label_room(draft, plot_w, f)

    top_ticks = bottom_ticks = 0.0
    bottom_title = top_title = 0.0
    for axis in _axes(draft, "x"):
        ax = lay.get(axis, {})
        room = plot_w * _domain(ax)
        cats = _categories(draft, axis)
        lines = 1
        if cats and ax.get("type") != "linear":
            per = room / len(cats)
            longest = max(_text_px(c, f) for c in cats)
            phrases = any(len(str(c).split()) > 2 for c in cats)  # names wrap; "Quý III/2024" is thinned
            if longest + f > per and ax.get("tickmode") != "array" and phrases and per / (CHAR * f) >= 8:
                lines = _wrap_categories(draft, axis, int(per / (CHAR * f)) - 1)
                cats = _categories(draft, axis)
            _thin(draft, axis, cats, room, f)
            ax = lay[axis]
        block = lines * LINE * f + 8 + f / 2  # the standoff below: clear of the value axis's lowest label
        axis_lines = 0
        if ax.get("title", {}).get("text"):  # centred under the plot: wrapped to the plot's width
            wrapped = wrap(unwrap(ax["title"]["text"]), int(room / (CHAR * f)))
            draft.set(("layout", axis, "title", "text"), BREAK.join(wrapped))
            axis_lines = len(wrapped)
        title_h = axis_lines * LINE * f + (10 if axis_lines else 0)
        if ax.get("side") == "top":
            top_ticks, top_title = max(top_ticks, block), max(top_title, title_h)
        else:
            bottom_ticks, bottom_title = max(bottom_ticks, block), max(bottom_title, title_h)

    entries = _legend_entries(draft)
    legend_h = _legend_rows(entries, width - 10, f) * (LINE * f + 8) + 6 if entries else 0.0
    # Subplot titles and labels of vertical lines sit just above the plot.
    annotations = lay.get("annotations", [])
    sub_titles = [a for a in annotations if a.get("yanchor") == "bottom" and (a.get("y") or 0) >= 1]
    # Plotly anchors a title of several lines by its first line: move it down by the others.
    shift = max(len(title_lines) - 1, 0) * tf
    top = 10 + shift + len(title_lines) * LINE * tf + 10 + top_ticks + top_title + (LINE * f if sub_titles else 0)
    bottom = bottom_ticks + bottom_title + legend_h + 12
    rows = max((len(_categories(draft, a)) for a in _axes(draft, "y")), default=0)
    plot_h = max(old_plot_h, rows * (y_lines * LINE * f + 8)) if y_lines > 1 else old_plot_h
    plot_h = max(plot_h, _stack_room(draft, f))
    height = int(top + bottom + plot_h)

    # As one update_layout set them before (the order of the keys the page is sent follows it).
    draft.update_layout([
        (("meta",), {"screen": scr.name}),  # what the chart was laid out for (the browser tests wait for it)
        (("height",), height), (("font", "size"), f), (("hoverlabel", "font", "size"), f),
        (("title", "text"), BREAK.join(title_lines)), (("title", "font", "size"), tf), (("title", "x"), 0),
        (("title", "xanchor"), "left"), (("title", "yref"), "container"), (("title", "y"), 1 - (10 + shift) / height),
        (("title", "yanchor"), "top"),
        (("margin", "l"), 10), (("margin", "r"), 20 if not scr.narrow else 10), (("margin", "t"), int(top)),
        (("margin", "b"), int(bottom)), (("margin", "autoexpand"), True),
        (("legend", "orientation"), "h"), (("legend", "x"), 0), (("legend", "xanchor"), "left"),
        (("legend", "yref"), "container"), (("legend", "y"), 4 / height), (("legend", "yanchor"), "bottom"),
        (("legend", "font", "size"), f),
    ])
    for n in range(len(annotations)):
        draft.set(("layout", "annotations", n, "font", "size"), f)
    for n, tr in enumerate(draft.traces):
        if tr.get("type") == "heatmap":  # its colour scale's ticks and title, as the axes'
            draft.set(("data", n, "colorbar", "tickfont", "size"), f)
            draft.set(("data", n, "colorbar", "title", "font", "size"), f)
    for axis in _axes(draft, "x") + _axes(draft, "y"):
        draft.set(("layout", axis, "automargin"), True)
        draft.set(("layout", axis, "title", "font", "size"), f)
        # else Streamlit's chart theme keeps ticks at 12 px on every screen
        draft.set(("layout", axis, "tickfont", "size"), f)
        if axis.startswith("x"):  # the value axis's "0" reaches half a line below the plot: start under it
            draft.set(("layout", axis, "ticklabelstandoff"), int(f / 2))
        if _largest(draft, axis) >= 1000 and lay[axis].get("tickmode") != "array":
            draft.set(("layout", axis, "tickformat"), ",~f")  # thousands grouped by the language's separator: 3.000
        if _is_percent(lay[axis]):
            _percent_range(draft, axis)
    return draft.apply()


def _is_percent(ax: dict) -> bool:
    """A percentage axis: titled '… (%)' (chart_labels.axis_title) or with '%' after each tick."""
    return (ax.get("ticksuffix") == "%"
            or unwrap(str(ax.get("title", {}).get("text") or "")).rstrip().endswith("(%)"))


def _numbers(values) -> list[float]:
    """The plotted numbers among `values` (no booleans, no gaps)."""
    return [float(v) for v in values if isinstance(v, numbers.Real) and not isinstance(v, bool)
            and not math.isnan(float(v))]


def _percent_range(draft: _Draft, axis: str) -> None:
    """A percentage axis runs from 0 at the lowest to 100 at the highest: bars from zero; lines
    from a little under their data (never below zero) to a little over it (never past 100)."""
    traces = _traces_on(draft, axis)
    values = [v for _, tr in traces if tr.get(axis[0]) is not None for v in _numbers(tr[axis[0]])]
    own = draft.layout[axis].get("range")
    if own is not None:
        lo, hi = own
    elif values:
        pad = max((max(values) - min(values)) * 0.06, 1.0)
        lo, hi = min(values) - pad, max(values) + pad
    else:
        return
    if any(tr.get("type") == "bar" for _, tr in traces):
        lo = 0.0
    draft.set(("layout", axis, "range"), [max(lo, 0.0), min(hi, 100.0)])
    draft.set(("layout", axis, "autorange"), False)
    for i, tr in traces:
        if tr.get("type") == "scatter":
            draft.set(("data", i, "cliponaxis"), False)  # a point at 0 or 100 shows whole on the axis's edge


def _stack_room(draft: _Draft, font: float) -> float:
    """The plot height at which the smallest count written inside a stack of vertical bars gets a
    line of text (else Plotly turns the label on its side or shrinks it); 0 for other charts."""
    if draft.layout.get("barmode") != "stack":
        return 0.0
    labelled = [float(v) for tr in draft.traces if tr.get("type") == "bar" and tr.get("orientation") != "h"
                and tr.get("textposition") == "inside" and tr.get("text") is not None
                for v, s in zip(tr["y"], tr["text"]) if str(s) and isinstance(v, numbers.Real) and float(v) > 0]
    return _largest(draft, "yaxis") / min(labelled) * (LINE * font + 4) if labelled else 0.0


def _largest(draft: _Draft, axis: str) -> float:
    """About the largest magnitude on an axis's scale (stacked bars add up; 0 for categories)."""
    peaks = []
    for _, tr in _traces_on(draft, axis):
        values = tr.get(axis[0])
        if values is None or tr.get("type") == "heatmap":
            continue
        peaks.append(max((abs(v) for v in _numbers(values)), default=0.0))
    return sum(peaks) if draft.layout.get("barmode") == "stack" else max(peaks, default=0.0)


def gapped(values, joins, gap=None) -> list:
    """`values` with a gap before each one the core says may not be compared with the one before it
    (`joins`: a methodology break, a partial year): Plotly breaks a line at a None x and y. Arrays
    drawn alongside (marker colours) take `gap` there, as Plotly wants a valid value."""
    out: list = []
    for i, (v, joined) in enumerate(zip(values, joins)):
        if i and not joined:
            out.append(gap)
        out.append(v)
    return out
