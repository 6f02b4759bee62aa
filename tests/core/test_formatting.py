import re
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reformkpi import formatting as f


@pytest.mark.parametrize(("args", "vi", "en"), [
    ((77.4, "vi"), "77,4%", "77.4%"),
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
    assert f.value(1234567, "count", "vi") == "1.234.567"


def test_signed_changes_use_a_true_minus():
    assert f.signed(0.5, "vi") == "+0,5" and f.signed(-2.6, "vi") == "\u22122,6" and f.signed(0.04, "vi") == "0,0"
    assert f.signed(None, "vi") == "–"


def test_periods_and_dates():
    assert f.period_label("2019-Q3", "vi") == "Quý III/2019" and f.period_label("2019-Q3", "en") == "Q3 2019"
    assert f.period_label("2019-07", "vi") == "Tháng 7/2019" and f.period_label("2019", "vi") == "2019"
    assert f.date(dt.date(2016, 7, 1), "vi") == "01/07/2016"
    assert f.timestamp(dt.datetime(2026, 1, 1, 17, 30, tzinfo=dt.UTC), "vi") == "02/01/2026 00:30"  # Viet Nam time


def test_labels_from_data_are_inert_for_plotly():
    assert f.label("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"


def test_a_stored_figure_keeps_its_decimals_and_groups_thousands():
    assert f.figure(1440, "vi") == "1.440" and f.figure(1440, "en") == "1,440"
    assert f.figure(77.4, "vi") == "77,4" and f.figure(68.32, "vi") == "68,32"
    assert f.figure(1234.5, "vi") == "1.234,5" and f.figure(-3, "vi") == "\u22123"
    assert f.figure(float("nan"), "vi") == "–" and f.figure(None, "vi") == "–"


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


# The rounding rule, worked by hand: half up (ties away from zero) on the decimal a number stands
# for, with exactly the decimals asked for.
@pytest.mark.parametrize(("x", "decimals", "shown"), [
    (1.25, 1, "1,3"),            # 1/80 = 1,25%: published tables write 1,3 (half to even gave 1,2)
    (100 / 80, 1, "1,3"),
    (10.79, 2, "10,79"),         # printed at 2 decimals it stays 10,79 …
    (100 * 1030 / 9547, 1, "10,8"),  # … and 1.030/9.547 = 10,788…% at 1 decimal is 10,8, never "10,80"
    (0.5, 0, "1"), (2.5, 0, "3"), (1.5, 0, "2"),  # counts: half up, not to even
    (42.77045, 4, "42,7705"),    # stored as 42.770449999…: the decimal it stands for is a tie
    (35.80185, 4, "35,8019"),
    (2.675, 2, "2,68"),          # binary 2.67499999…
    (81.24999999999999, 1, "81,3"),  # 81,25 computed with a rounding error in the last bit
    (-1.25, 1, "\u22121,3"),     # negative: away from zero, with a true minus
    (-0.04, 1, "0,0"), (-0.05, 1, "\u22120,1"), (-0.0, 2, "0,00"),  # a zero is never signed
    (1234.5, 0, "1.235"),
])
def test_numbers_round_half_up_to_exactly_their_decimals(x, decimals, shown):
    assert f.number(x, "vi", decimals) == shown
    assert f.number(x, "en", decimals) == shown.replace(".", "#").replace(",", ".").replace("#", ",")
    assert f.rounded(x, decimals) == float(shown.replace(".", "").replace(",", ".").replace("\u2212", "-"))


def test_changes_and_gaps_round_alike_and_zero_has_no_sign():
    assert f.signed(0.05, "vi") == "+0,1" and f.signed(-0.05, "vi") == "\u22120,1" and f.signed(-0.04, "vi") == "0,0"
    assert f.signed(0.125, "vi", 2) == "+0,13" and f.signed(-1.25, "en") == "\u22121.3"
    assert str(f.rounded(-0.04, 1)) == "0.0" and str(f.rounded_column([-0.04], 1).iloc[0]) == "0.0"


def test_a_column_rounds_as_each_of_its_values():
    values = [1.25, 42.77045, -1.25, float("nan"), None, -0.04, 2.675, 10.7887, 7.0]
    got = f.rounded_column(pd.Series(values, index=list("abcdefghi")), 1)
    assert got.index.tolist() == list("abcdefghi")
    assert got.fillna(-999).tolist() == [1.3, 42.8, -1.3, -999, -999, 0.0, 2.7, 10.8, 7.0]
    assert f.rounded_column([42.77045, 35.80185], 4).tolist() == [42.7705, 35.8019]
    assert f.figure(42.77045, "vi") == "42,7705" and f.figure(1440.0, "vi") == "1.440"


def test_an_indicator_is_shown_at_its_own_decimals():
    papi = pd.Series({"measure": "score", "decimals": 4})
    rate = pd.Series({"measure": "percent", "decimals": 1})
    assert f.value(42.77045, papi, "vi") == "42,7705" and f.value(42.77045, "score", "vi") == "42,77"
    assert f.value(10.79, rate, "vi") == "10,8%" and f.value(1.25, rate, "en") == "1.3%"


def test_labels_separate_ranks_by_what_is_shown():
    # 1,25 and 1,30 both read 1,3 at one decimal (half up), so two are needed; 1,25 and 1,35 read 1,3 and 1,4.
    assert f.separating_decimals([1.25, 1.3], [2, 1], 1) == 2
    assert f.separating_decimals([1.25, 1.35], [2, 1], 1) == 1


def _written(d: Decimal, lang: str) -> str:
    """A naive writer of a Decimal: thousands grouped, the language's marks, a true minus."""
    sign, digits = ("\u2212" if d < 0 else ""), f"{abs(d):f}"
    whole, _, frac = digits.partition(".")
    group, mark = (".", ",") if lang == "vi" else (",", ".")
    grouped = f"{int(whole):,}".replace(",", group)
    return sign + grouped + (mark + frac if frac else "")


@given(st.integers(-10**11, 10**11), st.integers(0, 6), st.integers(0, 4), st.sampled_from(["vi", "en"]))
@settings(max_examples=400, deadline=None)
def test_rounding_matches_a_naive_decimal_oracle(n, places, decimals, lang):
    """Any number written with up to 11 significant digits (n / 10^places), read as a binary float,
    is rounded and printed as exact decimal arithmetic rounds its written form half up."""
    text = Decimal(n).scaleb(-places)
    want = text.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    want = want.copy_abs() if not want else want
    x = float(text)
    assert f.half_up(x, decimals) == want and str(f.half_up(x, decimals)) == str(want)
    assert f.number(x, lang, decimals) == _written(want, lang)
    assert f.rounded_column([x], decimals).iloc[0] == f.rounded(x, decimals) == float(want)


@given(st.integers(0, 10**6), st.integers(1, 10**6), st.integers(0, 3))
@settings(max_examples=400, deadline=None)
def test_a_computed_rate_rounds_as_its_exact_fraction(num, den, decimals):
    """100 × num / den computed in binary rounds as the exact fraction does, half up: 1/80 → 1,3."""
    exact = Fraction(100 * num, den) * 10**decimals
    whole = exact.numerator // exact.denominator
    want = Decimal(whole + (1 if exact - whole >= Fraction(1, 2) else 0)).scaleb(-decimals)
    assert f.rounded(100 * num / den, decimals) == float(want)
    assert f.rounded_column([100 * num / den], decimals).iloc[0] == float(want)


@given(st.floats(min_value=1e16, max_value=1.7976931348623157e308) | st.floats(min_value=-1.7976931348623157e308,
                                                                               max_value=-1e16),
       st.integers(0, 4), st.sampled_from(["vi", "en"]))
def test_a_number_as_large_as_a_float_holds_rounds_to_its_places(x, decimals, lang):
    """An upload's slip near the largest float (1.79e308) has more digits than decimal's default
    context holds, which raised InvalidOperation in the fuzzed reader: it rounds and prints as any
    other (a float this large is whole: its written form, with `decimals` zero places)."""
    got = f.half_up(x, decimals)
    assert got == Decimal(format(x, f".{f.SIGNIFICANT}g")) and -got.as_tuple().exponent == decimals
    assert f.number(x, lang, decimals)
