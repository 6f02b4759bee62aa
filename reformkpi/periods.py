"""Canonical period text ('2019', '2019-Q3', '2019-07') and the dates it stands for."""

import datetime as dt
import re

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    pass


def parse(period: str) -> tuple[str, int, int]:
    """Return (frequency, year, index) where index is the quarter or month (0 for a year)."""
    text = str(period).strip()
    if m := _YEAR.match(text):
        return "year", int(m[1]), 0
    if m := _QUARTER.match(text):
        return "quarter", int(m[1]), int(m[2])
    if m := _MONTH.match(text):
        return "month", int(m[1]), int(m[2])
    raise PeriodError(f"not a period: {period!r}")


def is_period(text) -> bool:
    try:
        parse(text)
    except PeriodError:
        return False
    return True


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
