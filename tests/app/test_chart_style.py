"""The chart style module: screen classes, and what `fit` does to a chart for a phone or a projector."""

import plotly.graph_objects as go
import pytest

from components import chart_style as cs

QUARTERS = [f"Quý {q}/{y}" for y in (2023, 2024, 2025) for q in ("I", "II", "III", "IV")]
TITLE = "Tỷ lệ trễ hạn toàn tỉnh theo quý so với mục tiêu của Nghị quyết"


def quarterly(quarters=QUARTERS) -> go.Figure:
    fig = go.Figure([go.Scatter(x=quarters, y=list(range(len(quarters))), name="Tỷ lệ trễ hạn"),
                     go.Scatter(x=quarters, y=[5] * len(quarters), name="Mục tiêu")])
    fig.update_xaxes(title="Quý", type="category")
    return cs.layout(fig, TITLE, "vi", height=400)


@pytest.mark.parametrize("width, touch, name", [(390, True, "phone"), (699, False, "phone"), (700, False, "laptop"),
                                                (1440, False, "laptop"), (1920, False, "projector")])
def test_window_width_decides_the_screen_class(width, touch, name):
    scr = cs.classify(width, touch)
    assert scr.name == name and scr.touch == touch


def test_on_a_phone_titles_wrap_ticks_thin_and_the_legend_goes_below():
    fig = cs.fit(quarterly(), cs.SCREENS["phone"])
    lines = fig.layout.title.text.split(" <br>")
    assert len(lines) > 1 and " ".join(lines) == TITLE
    assert all(len(line) * cs.CHAR * cs.SCREENS["phone"].title_font <= cs.SCREENS["phone"].width for line in lines)
    ticks = list(fig.layout.xaxis.tickvals)
    assert ticks == QUARTERS[::len(QUARTERS) // len(ticks)] and len(ticks) < len(QUARTERS)  # every n-th, from the first
    assert fig.layout.xaxis.tickangle == 0
    # Legend anchored to the figure's bottom, below the axis title's room in the margin.
    assert fig.layout.legend.yref == "container" and fig.layout.legend.yanchor == "bottom"
    assert fig.layout.margin.b >= 2 * cs.LINE * cs.SCREENS["phone"].font + cs.LINE * cs.SCREENS["phone"].font
    assert fig.layout.meta["screen"] == "phone"


def test_on_a_projector_the_title_stays_whole_and_every_tick_is_labelled():
    fig = cs.fit(quarterly(QUARTERS[:8]), cs.SCREENS["projector"])
    assert fig.layout.title.text == TITLE and fig.layout.title.font.size == cs.SCREENS["projector"].title_font
    assert list(fig.layout.xaxis.tickvals) == QUARTERS[:8]
    assert fig.layout.font.size == cs.SCREENS["projector"].font


def test_fitting_again_starts_from_the_unwrapped_title():
    fig = cs.fit(cs.fit(quarterly(), cs.SCREENS["phone"]), cs.SCREENS["projector"])
    assert fig.layout.title.text == TITLE


def test_value_labels_outside_horizontal_bars_get_room_on_both_sides():
    fig = cs.layout(go.Figure(go.Bar(x=[-20.0, 10.0], y=["Sở A", "Sở B"], orientation="h", text=["60,0%", "90,0%"],
                                     textposition="outside")), "Khoảng cách", "vi", height=300)
    lo, hi = cs.fit(fig, cs.SCREENS["phone"]).layout.xaxis.range
    assert lo < -20 and hi > 10
    # The padding is the labels' share of the plot's width, on the side each label is drawn.
    assert (-20 - lo) == pytest.approx(hi - 10)


def test_no_modebar_covers_a_title_on_any_screen():
    # No modebar on any screen: on hover it covered the chart's title.
    assert all(cs.plotly_config(scr)["displayModeBar"] is False for scr in cs.SCREENS.values())

