"""The colours of every chart, and the scales and legends built from them.

The Okabe-Ito palette (safe for colour-blind readers); good and bad follow the indicator's
direction, so "meets the target" is always blue and "misses" always vermillion. Colour is never the
only signal (the marks and words of chart_labels say it too), and every colour a chart draws with
keeps 3:1 against the page's backgrounds, its text 4.5:1 (WCAG 2.1 1.4.11, 1.4.3; tests/app/test_palette.py).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, sample_colorscale

from reformkpi import formatting
from reformkpi.i18n import t

GOOD, BAD, NEUTRAL, INK = "#0072B2", "#D55E00", "#808080", "#222222"
# Units get Paul Tol's "muted" colours (colour-blind safe, distinct from GOOD and BAD), by their
# place in the catalog, so that a unit has the same colour on every chart and every page; its cyan,
# teal, olive and sand darkened to 3:1 on white (Tol's own are 1.6 to 3.0:1).
UNIT_PALETTE = ("#332288", "#3A8FB7", "#358A7F", "#117733", "#8F8F2E", "#A67C2E", "#CC6677", "#882255", "#AA4499")
# Grade bands from the best to the worst: blue to vermillion (Okabe-Ito, its sky blue and orange
# darkened to 3:1 on white), the same way as GOOD to BAD.
LIGHT, AMBER = "#4A90C2", "#B07A00"  # the lighter companion of GOOD; the orange between GOOD and BAD
GRADE_PALETTE = (GOOD, LIGHT, AMBER, BAD, "#7F2704")
BACKGROUNDS = ("#FFFFFF", "#F2F5F8")  # the page's and the sidebar's (.streamlit/config.toml)
STATUS_COLORS = {"meets": GOOD, "misses": BAD, "none": NEUTRAL}


def contrast(a: str, b: str) -> float:
    """WCAG 2.1's contrast ratio of two #RRGGBB colours (1 to 21)."""
    def luminance(color: str) -> float:
        channels = [int(color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def unit_colors(units: pd.DataFrame) -> dict[str, str]:
    """The colour of each unit, fixed by its row in the catalog."""
    ids = units.loc[units["level"] != "province", "unit_id"]
    return {u: UNIT_PALETTE[i % len(UNIT_PALETTE)] for i, u in enumerate(ids)}


def colors_of(units: pd.DataFrame, unit_ids) -> dict[str, str]:
    """`unit_colors` of the given units only: a chart's cache hashes its arguments on every rerun,
    and every unit's colour at national scale takes tens of milliseconds to hash."""
    colors = unit_colors(units)
    return {u: colors[u] for u in dict.fromkeys(unit_ids) if u in colors}


CAP = 3  # colours saturate at most this many times the target away from it


def direction_scale(direction: str, lo: float, hi: float, target: float | None) -> dict:
    """Heatmap colours centred on the target: white at the target, BAD on its wrong side, GOOD on the other.

    Both sides saturate at the same distance from the target, the data's furthest, but at most
    CAP times the target (one outlier would wash out the rest) and not past the data's own end.
    Without a target the scale runs over the data's range from white to BAD.
    Returns the zmin, zmax and colorscale arguments of a go.Heatmap.
    """
    lo, hi = float(lo), float(hi) if hi > lo else float(lo) + 1.0
    if target is None:
        scale = [[0.0, "#FFFFFF"], [1.0, BAD]] if direction == "lower_better" else [[0.0, BAD], [1.0, "#FFFFFF"]]
        return {"zmin": lo, "zmax": hi, "colorscale": scale}
    reach = max(hi - target, target - lo, 0.0)
    if target > 0:
        reach = min(reach, CAP * target)
    reach = reach or 1.0
    zmin, zmax = max(target - reach, min(lo, target)), min(target + reach, max(hi, target))
    if zmax <= zmin:
        zmin, zmax = target - reach, target + reach
    mid = (target - zmin) / (zmax - zmin)
    low, high = (GOOD, BAD) if direction == "lower_better" else (BAD, GOOD)
    return {"zmin": zmin, "zmax": zmax, "colorscale": [[0.0, low], [mid, "#FFFFFF"], [1.0, high]]}


def scale_color(colorscale, zmin: float, zmax: float, value: float) -> str:
    """The colour a heatmap with this scale paints `value` ("rgb(r, g, b)"), for cells drawn as a
    table (a phone). A stop may be repeated: white sits at 0 or 1 when the target is at the data's
    edge (every unit misses it), and Plotly's sampler cannot read a segment of no width, so the value
    is read on the segment of width it lies in, the later one at a repeated stop (as the chart draws)."""
    f = min(max((value - zmin) / ((zmax - zmin) or 1.0), 0.0), 1.0)
    # sample_colorscale reads "rgb(...)" colours only
    stops = [(float(stop), "rgb({}, {}, {})".format(*hex_to_rgb(c)) if c.startswith("#") else c) for stop, c in colorscale]
    segments = [(a, b) for a, b in zip(stops, stops[1:]) if b[0] > a[0]]
    (s0, c0), (s1, c1) = next(((a, b) for a, b in reversed(segments) if a[0] <= f), segments[0])
    return sample_colorscale([[0.0, c0], [1.0, c1]], [(f - s0) / (s1 - s0)])[0]


def scale_legend(scale: dict, target: float | None, measure, lang: str) -> dict:
    """The colour bar of a direction_scale: its ends and the target, named (`measure`: the indicator's
    catalog row, or a measure's name, as formatting.value reads it)."""
    ends = [scale["zmin"], scale["zmax"]]
    if target is None:
        return {"tickvals": ends, "ticktext": [formatting.value(v, measure, lang) for v in ends]}
    return {"tickvals": [ends[0], target, ends[1]],
            "ticktext": [formatting.value(ends[0], measure, lang),
                         t("chart.target", lang) + " " + formatting.value(target, measure, lang),
                         formatting.value(ends[1], measure, lang)]}


def status_legend(fig: go.Figure, lang: str, statuses=("meets", "misses")) -> None:
    """Legend entries for bar colours that say meets or misses the target (the bars carry no names)."""
    for status in statuses:
        fig.add_trace(go.Bar(x=[None], y=[None], name=t(f"focus.status_{status}", lang), hoverinfo="skip",
                             marker_color=STATUS_COLORS[status], showlegend=True))
