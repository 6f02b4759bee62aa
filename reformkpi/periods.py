"""Canonical period text ('2019', '2019-Q3', '2019-07') and the dates it stands for.

Canonical means ASCII digits and a year from FIRST_STORED_YEAR to LAST_YEAR: `\\d` would take
`٢٠١٩` (Arabic-Indic digits) for a year, stored beside `2019` as a second key that DuckDB cannot
cast, and year 0000 has no dates. Input written otherwise is folded by `reformkpi.ingest.text.period`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import pandas as pd

_YEAR = re.compile(r"^([0-9]{4})$")
_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")
_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
# Figures of administrative reform: 0000 or 9999 is a slip of the keyboard, not a period.
FIRST_YEAR, LAST_YEAR = 1900, 2099
# Every stored figure is compared with the period before it, which must be a period too: the
# earliest year a store keeps is the one after the earliest a period names.
FIRST_STORED_YEAR = FIRST_YEAR + 1


class PeriodError(ValueError):
    pass


def parse(period: str) -> tuple[str, int, int]:
    """Return (frequency, year, index) where index is the quarter or month (0 for a year)."""
    text = str(period).strip()
    if m := _YEAR.match(text):
        found = "year", int(m[1]), 0
    elif m := _QUARTER.match(text):
        found = "quarter", int(m[1]), int(m[2])
    elif m := _MONTH.match(text):
        found = "month", int(m[1]), int(m[2])
    else:
        raise PeriodError(f"not a period: {period!r}")
    if not FIRST_YEAR <= found[1] <= LAST_YEAR:
        raise PeriodError(f"year outside {FIRST_YEAR}–{LAST_YEAR}: {period!r}")
    return found


def year_of(period: str) -> int:
    """The year a stored period (any frequency) falls in."""
    return parse(period)[1]


def years_of(stored: pd.Series) -> pd.Series:
    """The year of each canonical period in a column of stored periods."""
    return stored.map({p: year_of(p) for p in stored.unique()}).astype(int)


@functools.total_ordering
@dataclass(frozen=True)
class Period:
    """A year (quarter None) or one of its quarters, as a page chooses it: parsed once from the
    URL or widget text, carried whole down to the core, and written back as text (`str`) only for
    the URL, the store's keys and display (`formatting.period_label`)."""

    year: int
    quarter: int | None = None

    def __post_init__(self):
        if not FIRST_YEAR <= self.year <= LAST_YEAR or self.quarter not in (None, 1, 2, 3, 4):
            raise PeriodError(f"not a year or a quarter: {self.year}, {self.quarter}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """'2019' or '2019-Q3' (canonical text) as a Period; a month or anything else is refused."""
        freq, year, idx = parse(text)
        if freq == "month":
            raise PeriodError(f"not a year or a quarter: {text!r}")
        return cls(year, idx or None)

    @classmethod
    def read(cls, text: str) -> Period | None:
        """The year or quarter a text names, or None (a saved view's filters, which may name neither)."""
        try:
            return cls.parse(text)
        except PeriodError:
            return None

    @classmethod
    def of_day(cls, day: dt.date) -> Period:
        """The quarter a day falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def chosen(cls, year: str, quarter: str = "") -> Period:
        """The period a page's filters name: the year's text and 'Q1'..'Q4', or '' for the whole year."""
        return cls.parse(f"{year}-{quarter}" if quarter else year)

    def __str__(self) -> str:
        return str(self.year) if self.quarter is None else quarter(self.year, self.quarter)

    def _key(self) -> tuple[int, int]:
        return self.year, self.quarter or 0  # a year sorts before its quarters, as its text does

    def __lt__(self, other: Period) -> bool:
        return self._key() < other._key()

    @property
    def is_year(self) -> bool:
        return self.quarter is None

    def year_of(self) -> Period:
        """The whole year this period falls in."""
        return Period(self.year)

    def previous(self) -> Period:
        """The period just before, of the same length: the year before, or the quarter before."""
        if self.quarter is None:
            return Period(self.year - 1)
        return Period(self.year - 1, 4) if self.quarter == 1 else Period(self.year, self.quarter - 1)


def is_period(text) -> bool:
    try:
        parse(text)
    except PeriodError:
        return False
    return True


def is_canonical(period) -> bool:
    """Whether `period` is written exactly as the store keeps it (text, no spaces around, a year
    from FIRST_STORED_YEAR)."""
    return (isinstance(period, str) and period == period.strip() and is_period(period)
            and year_of(period) >= FIRST_STORED_YEAR)


def frequency(period: str) -> str:
    return parse(period)[0]


def start(period: str) -> dt.date:
    freq, year, idx = parse(period)
    if freq == "year":
        return dt.date(year, 1, 1)
    if freq == "quarter":
        return dt.date(year, 3 * idx - 2, 1)
    return dt.date(year, idx, 1)


def end(period: str) -> dt.date:
    """Last day of the period."""
    freq, year, idx = parse(period)
    if freq == "year":
        return dt.date(year, 12, 31)
    last_month = 3 * idx if freq == "quarter" else idx
    if last_month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, last_month + 1, 1) - dt.timedelta(days=1)


def quarter(year: int, q: int) -> str:
    return f"{year}-Q{q}"


def quarters_between(first: str, last: str) -> list[str]:
    _, y, q = parse(first)
    _, y_end, q_end = parse(last)
    out = []
    while (y, q) <= (y_end, q_end):
        out.append(quarter(y, q))
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def latest_complete_quarter(today: dt.date) -> str:
    q = (today.month - 1) // 3 + 1
    return quarter(today.year - 1, 4) if q == 1 else quarter(today.year, q - 1)


def previous(period: str) -> str:
    freq, year, idx = parse(period)
    if freq == "year":
        return str(year - 1)
    if freq == "quarter":
        return quarter(year - 1, 4) if idx == 1 else quarter(year, idx - 1)
    return f"{year - 1}-12" if idx == 1 else f"{year}-{idx - 1:02d}"
