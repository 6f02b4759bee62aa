"""The palette: heatmap scales centred on the target."""

import tomllib

import pandas as pd
import plotly.io as pio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components import chart_style  # noqa: F401  (sets the charts' default template)
from components.palette import (AMBER, BACKGROUNDS, BAD, GOOD, GRADE_PALETTE, INK, LIGHT, NEUTRAL, UNIT_PALETTE,
                                colors_of, contrast, direction_scale, scale_color, unit_colors)
from tests.conftest import ROOT


def test_heatmap_colours_are_white_at_the_target_and_capped():
    # Late rates 0–30% against a 5% target: the scale stops at 3 × 5 above the target, white sits at 5%.
    s = direction_scale("lower_better", 0.0, 30.0, 5.0)
    assert (s["zmin"], s["zmax"]) == (0.0, 20.0)
    stops = dict((color, stop) for stop, color in s["colorscale"])
    assert stops["#FFFFFF"] == pytest.approx(0.25)
    # Satisfaction 70–92% against 80%: white at 80, the data's own ends.
    s = direction_scale("higher_better", 70.0, 92.0, 80.0)
    assert (s["zmin"], s["zmax"]) == (70.0, 92.0)
    assert dict((c, p) for p, c in s["colorscale"])["#FFFFFF"] == pytest.approx(10 / 22)


def test_the_colours_of_some_units_are_their_own():
    units = pd.DataFrame({"unit_id": ["p", "a", "b", "c"], "level": ["province", "department", "department", "district"]})
    assert colors_of(units, ["c", "a", "c", "p"]) == {u: unit_colors(units)[u] for u in ("c", "a")}


def _theme(path):
    return tomllib.loads((ROOT / path).read_text())["theme"]


def _over(color: str, alpha: float, background: str) -> str:
    """`color` drawn at `alpha` over `background`, as the browser blends it."""
    mix = [round(alpha * int(color[i:i + 2], 16) + (1 - alpha) * int(background[i:i + 2], 16)) for i in (1, 3, 5)]
    return "#" + "".join(f"{c:02X}" for c in mix)


def test_contrast_is_wcag_s_ratio():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#FFFFFF", "#767676") == pytest.approx(4.54, abs=0.01)  # the lightest grey for body text
    assert contrast("#0072B2", "#0072B2") == pytest.approx(1.0)
    # Colours the palette had before the check: Tol's cyan and sand, Okabe-Ito's sky blue, a grey.
    assert all(contrast(c, "#FFFFFF") < 3 for c in ("#88CCEE", "#DDCC77", "#56B4E9", "#999999"))


@pytest.mark.parametrize("color", sorted({GOOD, BAD, NEUTRAL, INK, LIGHT, AMBER, *UNIT_PALETTE, *GRADE_PALETTE}))
def test_every_chart_colour_stands_3_to_1_against_the_page(color):
    assert min(contrast(color, bg) for bg in BACKGROUNDS) >= 3.0


def test_chart_and_page_text_stands_4_5_to_1():
    template = pio.templates[pio.templates.default].layout
    for text in (INK, template.font.color):  # annotations, and the titles, ticks and legends of every chart
        assert min(contrast(text, bg) for bg in BACKGROUNDS) >= 4.5, text
    for path in (".streamlit/config.toml", "deploy/config.toml"):
        theme = _theme(path)
        assert (theme["backgroundColor"], theme["secondaryBackgroundColor"]) == BACKGROUNDS
        for bg in BACKGROUNDS:
            assert contrast(theme["textColor"], bg) >= 4.5
            # captions and help text: the text colour at 60% (4.37:1 with the old #1B1F24)
            assert contrast(_over(theme["textColor"], 0.6, bg), bg) >= 4.5, (path, bg)


def _naive_color(colorscale, zmin: float, zmax: float, value: float) -> tuple[float, ...]:
    """A cell's colour worked out by hand: the value's place on the scale, between the two stops around it."""
    f = min(max((value - zmin) / ((zmax - zmin) or 1.0), 0.0), 1.0)
    stops = [(s, tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))) for s, c in colorscale]
    for (s0, c0), (s1, c1) in zip(stops, stops[1:]):
        if s0 <= f <= s1 and s1 > s0:
            t = (f - s0) / (s1 - s0)
            return tuple(a + t * (b - a) for a, b in zip(c0, c1))
    raise AssertionError("no stop around the value")


def _rgb(color: str) -> tuple[int, ...]:
    return tuple(int(float(x)) for x in color.removeprefix("rgb(").removesuffix(")").split(","))


@given(direction=st.sampled_from(["lower_better", "higher_better"]),
       lo=st.floats(0, 100), width=st.floats(0, 100), target=st.one_of(st.none(), st.floats(0, 100)),
       place=st.floats(-0.5, 1.5))
def test_a_cell_is_coloured_as_its_place_on_the_scale(direction, lo, width, target, place):
    """Every unit may miss the target (white then sits at an end of the scale, a stop repeated):
    each cell still gets the colour of its place, white at the target."""
    s = direction_scale(direction, lo, lo + width, target)
    value = s["zmin"] + place * (s["zmax"] - s["zmin"])
    got, want = _rgb(scale_color(s["colorscale"], s["zmin"], s["zmax"], value)), _naive_color(
        s["colorscale"], s["zmin"], s["zmax"], value)
    assert all(abs(g - w) <= 1 for g, w in zip(got, want)), (got, want)
    if target is not None and s["zmin"] <= target <= s["zmax"]:
        assert _rgb(scale_color(s["colorscale"], s["zmin"], s["zmax"], target)) == (255, 255, 255)


def test_white_at_an_end_of_the_scale_when_every_unit_misses():
    # Late rates 8–20% against a 5% ceiling: white at the scale's start, the worst in BAD.
    s = direction_scale("lower_better", 8.0, 20.0, 5.0)
    assert s["colorscale"][0][0] == s["colorscale"][1][0] == 0.0
    assert _rgb(scale_color(s["colorscale"], s["zmin"], s["zmax"], 5.0)) == (255, 255, 255)
    assert _rgb(scale_color(s["colorscale"], s["zmin"], s["zmax"], 20.0)) == tuple(int(BAD[i:i + 2], 16) for i in (1, 3, 5))
