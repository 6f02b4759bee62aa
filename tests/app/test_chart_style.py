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



def test_a_draft_sets_what_plotly_would_set_in_the_same_order():
    # fit and layout set their changes through a draft, at once: the figure's JSON (what a page is
    # sent, key order included) is what Plotly's own property sets and update_layout made of it.
    def chart() -> go.Figure:
        fig = go.Figure([go.Bar(x=["a", "b"], y=[1.0, 2.0]), go.Heatmap(z=[[1, 2]], x=["a", "b"], y=["c"])])
        fig.add_annotation(text="A", x=0, y=1)
        fig.update_xaxes(range=[0, 10], ticktext=["x"], title="X")
        return fig

    by_hand, drafted = chart(), chart()
    by_hand.update_layout(height=300, title={"text": "T", "font": {"size": 18}}, legend={"font": {"size": 9}})
    by_hand.layout.xaxis.range = [0.0, 10.0]  # equal: left as it was (0 stays 0)
    by_hand.layout.xaxis.ticktext = None  # removed
    by_hand.layout.xaxis.tickfont.size = 12  # a sub-object made anew goes last
    by_hand.layout.yaxis.title.text = "Y"  # an axis made anew
    by_hand.layout.annotations[0].font.size = 12
    by_hand.data[0].x = ["a<br>a", "b"]
    by_hand.data[1].colorbar.tickfont.size = 12

    draft = cs._Draft(drafted)
    draft.update_layout([(("height",), 300), (("title", "text"), "T"), (("title", "font", "size"), 18),
                         (("legend", "font", "size"), 9)])
    for path, value in ((("xaxis", "range"), [0.0, 10.0]), (("xaxis", "ticktext"), None),
                        (("xaxis", "tickfont", "size"), 12), (("yaxis", "title", "text"), "Y"),
                        (("annotations", 0, "font", "size"), 12)):
        draft.set(("layout", *path), value)
    draft.set(("data", 0, "x"), ["a<br>a", "b"])
    draft.set(("data", 1, "colorbar", "tickfont", "size"), 12)
    assert draft.layout["xaxis"]["tickfont"] == {"size": 12} and draft.traces[0]["x"] == ["a<br>a", "b"]
    assert draft.apply().to_json() == by_hand.to_json()
    assert drafted.layout.annotations[0].font.size == 12 and drafted.layout.xaxis.ticktext is None


@pytest.mark.parametrize("screen", ["phone", "laptop", "projector"])
def test_a_fitted_chart_is_one_plotly_accepts(screen):
    """The draft sets values unvalidated (relayout, restyle): a fitted chart rebuilt through Plotly's
    validation comes out the same, a chart without a title too (its title was placed above the top)."""
    bars = go.Figure(go.Bar(y=["Sở Nội vụ", "Sở Tư pháp"], x=[81.2, 77.4], orientation="h", text=["81,2%", "77,4%"],
                            textposition="outside"))
    for fig in (cs.fit(quarterly(), cs.SCREENS[screen]), cs.fit(bars, cs.SCREENS[screen])):
        spec, rebuilt = fig.to_plotly_json(), go.Figure(fig.to_plotly_json()).to_plotly_json()  # validated: raises
        for s in (spec, rebuilt):
            del s["layout"]["template"]  # Plotly's own, reordered when copied
        assert rebuilt == spec
