"""The Period value type: parsed once from text, written back the same, ordered and compared as
the pages compare periods; checked against naive oracles."""

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reformkpi import formatting, periods
from reformkpi.periods import FIRST_STORED_YEAR, FIRST_YEAR, LAST_YEAR, Period, PeriodError

years = st.integers(FIRST_STORED_YEAR, LAST_YEAR)  # every year a store keeps
chosen = st.builds(Period, years, st.sampled_from([None, 1, 2, 3, 4]))


@given(chosen)
def test_every_stored_period_has_a_period_before_it(p):
    """A figure is compared with the one before it (comparability.compare): of every period a
    store may keep, the one before is a period too; the first a period names is never stored."""
    assert periods.is_canonical(str(p)) and p.previous() < p
    assert not periods.is_canonical(str(Period(FIRST_YEAR))) and not periods.is_canonical(str(Period(FIRST_YEAR, 4)))


@given(chosen)
def test_a_period_written_as_text_reads_back_the_same(p):
    assert Period.parse(str(p)) == p
    assert Period.chosen(str(p.year), "" if p.quarter is None else f"Q{p.quarter}") == p


@given(chosen, chosen)
def test_periods_order_as_year_then_quarter_with_a_year_before_its_quarters(a, b):
    key = {a: (a.year, a.quarter or 0), b: (b.year, b.quarter or 0)}
    assert (a < b) == (key[a] < key[b]) and (a <= b) == (key[a] <= key[b]) and (a == b) == (key[a] == key[b])
    assert sorted([b, a]) == sorted([a, b], key=key.__getitem__)
    assert (a < b) == (str(a) < str(b))  # the order the store's text keys sort in


def _previous_oracle(year, quarter):
    if quarter is None:
        return year - 1, None
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


@given(chosen)
def test_previous_and_year_of_follow_a_hand_written_oracle(p):
    assert p.previous() == Period(*_previous_oracle(p.year, p.quarter))
    assert p.year_of() == Period(p.year) and p.year_of().is_year
    assert str(p.previous()) == periods.previous(str(p))  # the same rule as for stored text


def test_worked_examples():
    assert str(Period(2026, 1).previous()) == "2025-Q4"
    assert str(Period(2026, 3).year_of()) == "2026"
    assert Period(2026) < Period(2026, 1) < Period(2026, 4) < Period(2027)
    assert Period.of_day(dt.date(2025, 7, 1)) == Period(2025, 3)
    assert formatting.period_label(Period(2019, 3), "vi") == "Quý III/2019"
    assert formatting.period_label(Period(2019, 3), "en") == "Q3 2019"
    assert formatting.period_label(Period(2019), "vi") == "2019"


@pytest.mark.parametrize("text", ["2019-07", "2019-Q5", "19", "٢٠١٩", "0000", ""])
def test_only_a_canonical_year_or_quarter_is_a_period(text):
    with pytest.raises(PeriodError):
        Period.parse(text)
    assert Period.read(text) is None


def test_a_period_out_of_range_is_refused():
    with pytest.raises(PeriodError):
        Period(2019, 5)
    with pytest.raises(PeriodError):
        Period(LAST_YEAR + 1)


def test_years_of_a_stored_column_of_any_frequency():
    stored = pd.Series(["2019", "2019-Q3", "2020-07", "2019"], index=[3, 5, 7, 9])
    assert periods.years_of(stored).tolist() == [2019, 2019, 2020, 2019]
    assert list(periods.years_of(stored).index) == [3, 5, 7, 9]
    assert periods.year_of("2020-07") == 2020
