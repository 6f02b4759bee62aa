import re
import datetime as dt

import pytest

from reformkpi import formatting as f


@pytest.mark.parametrize(("args", "vi", "en"), [
    ((77.4,), "77,4%", "77.4%"),
    ((81.333, "vi", 2), "81,33%", None),
])
def test_percent(args, vi, en):
    assert f.percent(*args) == vi
    if en:
        assert f.percent(args[0], "en") == en


def test_numbers_use_vietnamese_separators():
    assert f.number(1234, "vi", 0) == "1.234"
    assert f.number(1234.5, "vi") == "1.234,5"
    assert f.number(1234.5, "en") == "1,234.5"
    assert f.value(1234567, "count") == "1.234.567"


def test_signed_changes_use_a_true_minus():
    assert f.signed(0.5) == "+0,5" and f.signed(-2.6) == "\u22122,6" and f.signed(0.04) == "0,0"
    assert f.signed(None) == "–"


def test_periods_and_dates():
    assert f.period_label("2019-Q3") == "Quý III/2019" and f.period_label("2019-Q3", "en") == "Q3 2019"
    assert f.period_label("2019-07") == "Tháng 7/2019" and f.period_label("2019") == "2019"
    assert f.date(dt.date(2016, 7, 1)) == "01/07/2016"
    assert f.timestamp(dt.datetime(2026, 1, 1, 17, 30, tzinfo=dt.UTC)) == "02/01/2026 00:30"  # Viet Nam time


def test_labels_from_data_are_inert_for_plotly():
    assert f.label("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"


def test_a_stored_figure_keeps_its_decimals_and_groups_thousands():
    assert f.figure(1440, "vi") == "1.440" and f.figure(1440, "en") == "1,440"
    assert f.figure(77.4, "vi") == "77,4" and f.figure(68.32, "vi") == "68,32"
    assert f.figure(1234.5, "vi") == "1.234,5" and f.figure(-3, "vi") == "\u22123"
    assert f.figure(float("nan")) == "–" and f.figure(None) == "–"


def test_text_from_data_is_inert_in_markdown():
    from reformkpi.formatting import ZWSP, markdown_text

    hostile = "[bấm](https://x.example) ![i](https://t.example/p.png) :red[SỬA] # $x$ *a* <b> a@b.vn www.x.vn"
    out = markdown_text(hostile)
    assert re.sub(r"\\(.)", r"\1", out).replace(ZWSP, "") == hostile  # the reader sees what was typed
    assert not re.search(r"(?<!\\)[\[\]()!:$*<>#.]", out)  # every mark escaped
    for raw in ("https\\://", "www\\.", "a@"):  # bare URLs and addresses broken by an invisible space
        assert raw not in out
    assert markdown_text("Sở Nội vụ, 77,4%") == "Sở Nội vụ, 77,4%"  # plain Vietnamese text is untouched


def test_labels_show_enough_decimals_to_tell_different_ranks_apart():
    # Published at 2 decimals: 43,61 and 43,61 would look tied, but 43.6112 ranks 2nd behind 43.6148.
    assert f.separating_decimals([43.6148, 43.6112, 40.0], [1, 2, 3], 2) == 3  # 43,615 / 43,611
    # A real tie (same rank) may show alike; values already apart keep the published decimals.
    assert f.separating_decimals([43.6148, 43.6148, 40.0], [1, 1, 3], 2) == 2
    assert f.separating_decimals([77.4, 80.0, None], [2, 1, None], 1) == 1
    # Apart only at the 5th decimal: 5 digits; never more than `most`.
    assert f.separating_decimals([1.123412, 1.123398], [1, 2], 2) == 5  # 1,12341 / 1,12340
    assert f.separating_decimals([1.0000001, 1.0], [1, 2], 2, most=4) == 4
