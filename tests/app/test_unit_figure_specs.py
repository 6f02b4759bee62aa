"""The Unit page's history grid, built from plain values and made into a figure at once, draws what
it drew when it was built up one update at a time: its whole spec (traces, their data, colours and
hover text; axes, marks, titles) for a merged unit, laid out for a laptop and a phone, is pinned
here (specs/unit_history_grid.json, written by the figure as it was before the change)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components import chart_style, palette, unit_profile
from reformkpi.metrics import comparability, views
from reformkpi.metrics.datasets import unit_names

SPECS = Path(__file__).parent / "specs" / "unit_history_grid.json"
MERGED = "so-nong-nghiep-moi-truong"  # formed by a merger: predecessors' series, merger marks


def history_grid_spec(ds, screen: str) -> dict:
    cat, lang = ds.catalog, "vi"
    ranked = cat.indicators.loc[cat.indicators["ranked"], "indicator_id"].tolist()
    hist = views.unit_history(ds, MERGED, tuple(ranked))
    shown = tuple(dict.fromkeys(hist["indicator_id"]))
    periods_of = {i: tuple(sorted(set(hist.loc[hist["indicator_id"] == i, "period"]))) for i in shown}
    joins = {i: comparability.joins(ds, i, periods_of[i]) for i in shown}
    own = {i: comparability.unit_joins(ds, i, (MERGED,), periods_of[i]) for i in shown}
    names, scr = unit_names(cat, lang), chart_style.SCREENS[screen]
    fig = unit_profile.history_grid(hist, cat, ranked, names[MERGED], palette.unit_colors(cat.units)[MERGED],
                                    views.merger_events(cat, MERGED), 2025, scr.grid_columns, lang, ds.version,
                                    names, joins, own)
    spec = json.loads(json.dumps(chart_style.fit(fig, scr).to_plotly_json(), default=str))
    del spec["layout"]["template"]  # Plotly's own, the same for every chart
    return spec


@pytest.mark.parametrize("screen", ["laptop", "phone"])
def test_the_history_grid_draws_what_it_drew(demo, screen):
    pinned = json.loads(SPECS.read_text(encoding="utf-8"))[screen]
    spec = history_grid_spec(demo, screen)
    assert spec["layout"] == pinned["layout"]
    assert spec["data"] == pinned["data"]
    assert len(spec["data"]) > 10 and spec["layout"]["shapes"] and spec["layout"]["annotations"]


def test_a_method_breaks_label_is_not_printed_over_a_mergers(demo):
    """The merged unit's SIPAS panel has a method break (2022) a few years before the merger (2025):
    their labels, both at the panel's top, were printed over each other; the break's goes a line
    lower, a projector's line (16 px type) included."""
    spec = history_grid_spec(demo, "laptop")
    notes = spec["layout"]["annotations"]
    merged = {a["xref"] for a in notes if a["text"].startswith("Hợp nhất")}
    breaks = [a for a in notes if a["text"] == "Đổi phương pháp" and a["xref"] in merged]
    assert breaks and all(-a.get("yshift", 0) >= chart_style.LINE * 16 for a in breaks)
