"""Canonical period text ('2019', '2019-Q3', '2019-07') and the dates it stands for.

Canonical means ASCII digits and a year from FIRST_YEAR to LAST_YEAR: `\\d` would take `٢٠١٩`
(Arabic-Indic digits) for a year, stored beside `2019` as a second key that DuckDB cannot cast,
and year 0000 has no dates. Input written otherwise is folded by `reformkpi.ingest.text.period`.
"""

import datetime as dt
import re

_YEAR = re.compile(r"^([0-9]{4})$")
_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")
_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
# Figures of administrative reform: 0000 or 9999 is a slip of the keyboard, not a period.
FIRST_YEAR, LAST_YEAR = 1900, 2099


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


def is_period(text) -> bool:
    try:
        parse(text)
    except PeriodError:
        return False
    return True


def is_canonical(period) -> bool:
    """Whether `period` is written exactly as the store keeps it (text, no spaces around)."""
    return isinstance(period, str) and period == period.strip() and is_period(period)


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
