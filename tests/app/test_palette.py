"""The palette: heatmap scales centred on the target."""

import tomllib

import pandas as pd
import plotly.io as pio
import pytest

from components import chart_style  # noqa: F401  (sets the charts' default template)
from components.palette import (AMBER, BACKGROUNDS, BAD, GOOD, GRADE_PALETTE, INK, LIGHT, NEUTRAL, UNIT_PALETTE,
                                colors_of, contrast, direction_scale, unit_colors)
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
