"""Charts as they leave for slides and PDF pages (exporting.export_figure): the projector's presentation
type, percentage axes that end at 100, and every heatmap column named in the drawn picture."""

import re

import plotly.graph_objects as go
import pytest

from components import chart_style, exporting, satisfaction_view
from reformkpi import exports
from reformkpi.metrics import views

SIPAS = "sipas.overall"


@pytest.fixture(scope="module")
def drawn(demo):
    """The satisfaction page's factor chart and heatmap as a laptop draws them (a column 0.4 wide)."""
    laptop = chart_style.SCREENS["laptop"]
    factors = satisfaction_view.by_factor(views.family_summary(demo, SIPAS, 2019, "department"), demo.catalog, 2019,
                                          "vi", demo.version)
    heatmap = satisfaction_view.factor_heatmap(views.family_matrix(demo, SIPAS, 2019, "department", "vi"),
                                               demo.catalog, 80.0, "vi", demo.version)
    return chart_style.fit(factors, laptop, 0.4), chart_style.fit(heatmap, laptop)


def test_an_exported_chart_has_the_projectors_type_and_a_percentage_axis_ending_at_100(drawn):
    factors, _ = drawn
    out = exporting.export_figure(factors)
    projector = chart_style.SCREENS["projector"]
    assert out.layout.font.size >= projector.font and out.layout.title.font.size >= projector.title_font
    assert all(out.layout[a].title.font.size >= projector.font for a in ("xaxis", "yaxis"))
    assert out.layout.xaxis.range[0] == 0 and out.layout.xaxis.range[1] == 100  # 83,7–84,7% no longer look alike
    names = [chart_style.unwrap(y) for tr in out.data if tr.type == "bar" for y in tr.y if y is not None]
    assert names and all("· " in n for n in names)  # each value beside its factor's name: no line runs through it
    assert out.layout.width == exporting.EXPORT_SCREEN.width
    assert factors.layout.font.size == chart_style.SCREENS["laptop"].font  # the page's figure is left as drawn


def test_every_heatmap_column_keeps_its_label_in_the_picture(drawn):
    _, heatmap = drawn
    out = exporting.export_figure(heatmap)
    svg = exports.image(out, "svg").decode()
    columns = [c for c in out.data[0].x if c is not None]
    assert len(columns) == 6  # the six SIPAS factors
    assert len(re.findall(r'class="xtick"', svg)) == len(columns)
    rows = [r for r in out.data[0].y if r is not None]
    assert len(re.findall(r'class="ytick"', svg)) == len(rows)


def test_many_quarters_keep_their_labels_upright_and_apart():
    """Twelve quarters over a heatmap's columns: too wide to lie flat, so each stands upright, one
    label's height from the next (a laptop's chart names every second or third)."""
    quarters = [f"Quý {r}/{y}" for y in (2024, 2025, 2026) for r in ("I", "II", "III", "IV")]
    fig = go.Figure(go.Heatmap(z=[[1.0] * 12] * 20, x=quarters, y=[f"Sở số {i} của tỉnh" for i in range(20)]))
    fig.update_xaxes(side="top")
    chart_style.fit(chart_style.layout(fig, "Tỷ lệ trễ hạn", "vi", 500), chart_style.SCREENS["laptop"])
    svg = exports.image(exporting.export_figure(fig), "svg").decode()
    ticks = re.findall(r'<g class="xtick"><text[^>]*transform="translate\(([\d.]+),-?[\d.]+\) rotate\(-90', svg)
    assert len(ticks) == len(quarters)
    xs = sorted(float(x) for x in ticks)
    assert min(b - a for a, b in zip(xs, xs[1:])) >= exporting.EXPORT_SCREEN.font
