"""The unit page's factor bars: ✓/✗ and colour judged at the indicator's precision (targets.meets),
as the heatmaps judge them."""

from __future__ import annotations

import pandas as pd

from components import unit_profile
from components.chart_labels import MEETS, MISSES
from components.palette import BAD, GOOD, NEUTRAL
from reformkpi import config
from reformkpi.catalog import Catalog, load_dir
from reformkpi.metrics import views


def test_a_factor_short_by_less_than_its_rounding_meets_its_target():
    cat = Catalog.from_tables(load_dir(config.CATALOG_DIR))
    a, b, c = views.family_parts(cat, "sipas.overall")[:3]
    # One decimal: 79,96% shows as 80,0% and meets 80; 79,94% shows as 79,9% and misses; no target: no mark.
    table = pd.DataFrame({"indicator_id": [a, b, c], "value": [79.96, 79.94, 85.0], "num": [None] * 3,
                          "den": [None] * 3, "lost": [None] * 3, "peer_median": [80.0] * 3,
                          "target": [80.0, 80.0, None], "gap": [-0.04, -0.06, None]})
    fig = unit_profile.parts(table, cat, "sipas.overall", "Sở Y tế", 2024, "vi", 7)
    bar = fig.data[0]
    by_value = {label.split("\u00a0· ")[1]: color for label, color in zip(bar.y, bar.marker.color)}
    assert by_value == {f"{MEETS} 80,0%": GOOD, f"{MISSES} 79,9%": BAD, "85,0%": NEUTRAL}
