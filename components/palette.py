"""The colours of every chart, and the scales and legends built from them.

The Okabe-Ito palette (safe for colour-blind readers); good and bad follow the indicator's
direction, so "meets the target" is always blue and "misses" always vermillion.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from reformkpi import formatting
from reformkpi.i18n import t

GOOD, BAD, NEUTRAL, INK = "#0072B2", "#D55E00", "#999999", "#222222"
# Units get Paul Tol's "muted" colours (colour-blind safe, distinct from GOOD and BAD), by their
# place in the catalog, so that a unit has the same colour on every chart and every page.
UNIT_PALETTE = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499")
# Grade bands from the best to the worst: blue to vermillion (Okabe-Ito), the same way as GOOD to BAD.
GRADE_PALETTE = ("#0072B2", "#56B4E9", "#E69F00", "#D55E00", "#7F2704")
STATUS_COLORS = {"meets": GOOD, "misses": BAD, "none": NEUTRAL}


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
