"""The palette: heatmap scales centred on the target."""

import pandas as pd
import pytest

from components.palette import colors_of, direction_scale, unit_colors


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
