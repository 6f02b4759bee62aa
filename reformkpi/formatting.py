"""Numbers, periods and dates as each interface language writes them (Babel).

Vietnamese: 77,4% · 1.234 · Quý III/2019 · 01/07/2019. English: 77.4% · 1,234 · Q3 2019 · 01/07/2019.

One rounding rule for every figure, in the core before grades, targets and ranks and on every
page, chart and export (`rounded`, `rounded_column`; `number`, `percent`, `value` print with it):
half up, as published tables round, on the number as written in decimal, with exactly the
decimals asked for (never fewer padded with zeros).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import math
import re
import string
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

import numpy as np
import pandas as pd
from babel.dates import format_date, format_datetime
from babel import Locale
from babel.numbers import parse_pattern

from reformkpi import periods

LOCALES = {"vi": "vi_VN", "en": "en_GB"}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
MINUS = "\u2212"
VIETNAM_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")  # no daylight saving


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


# A binary float holds 15 significant decimal digits faithfully: read at 15 digits, 42.77045 (stored
# as 42.770449999…) and 81.25 computed as 81.24999999999999 are the decimals they stand for.
SIGNIFICANT = 15


def half_up(x, decimals: int) -> Decimal:
    """x rounded half up (ties away from zero, as published tables and spreadsheets round) to
    `decimals`, as a Decimal with exactly that many places: 1.25 → 1.3, 42.77045 → 42.7705,
    −1.25 → −1.3; a result of zero has no sign (−0.04 → 0.0). An infinite x stays infinite."""
    if not math.isfinite(float(x)):
        return Decimal(float(x))
    d = Decimal(format(float(x), f".{SIGNIFICANT}g"))
    d = d.quantize(Decimal(1).scaleb(-int(decimals)), ROUND_HALF_UP, _wide(d, int(decimals)))
    return d if d else d.copy_abs()


def _wide(d: Decimal, places: int) -> Context | None:
    """A decimal context with digits enough for `d`'s whole number and `places` places where the
    default's 28 are too few: a value near the largest float (1.79e308, an upload's slip) raised
    InvalidOperation when rounded or printed. None for the figures of this world (a context made
    for every number cost a heatmap's cells a fifth more)."""
    needed = d.adjusted() + places + 2
    return Context(prec=needed) if needed > 28 else None


def rounded(x, decimals: int) -> float:
    """A number rounded by the rule (`half_up`) as a float; a missing one is NaN."""
    return math.nan if _missing(x) else float(half_up(x, decimals))


def rounded_column(values, decimals: int) -> pd.Series:
    """`rounded` over a column, fast: a value not within a hair of a tie rounds the same in binary
    (numpy) and in decimal, so only the near-ties go through `half_up`. Keeps the index; NaN stays."""
    s = pd.to_numeric(pd.Series(values), errors="coerce").astype(float)
    x = s.to_numpy(copy=True)
    scaled = x * 10.0 ** int(decimals)
    out = np.round(x, int(decimals)) + 0.0  # + 0.0: no −0
    with np.errstate(invalid="ignore"):
        near = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    if near.any():
        out[near] = [rounded(v, decimals) for v in x[near]]
    return pd.Series(out, index=s.index, name=s.name)


@functools.cache
def _decimal(pattern: str, lang: str) -> Callable[[Decimal], str]:
    """Babel's format_decimal with its pattern and locale parsed once: a heatmap writes thousands of
    numbers, and parsing both took a third of each."""
    parsed, locale = parse_pattern(pattern), Locale.parse(LOCALES[lang])

    def write(x: Decimal) -> str:
        if (wide := _wide(x, parsed.frac_prec[1])) is not None:
            with localcontext(wide):  # Babel rounds in the current context
                return write_plain(x)
        return write_plain(x)

    def write_plain(x: Decimal) -> str:
        return parsed.apply(x, locale).replace("-", MINUS)
    return write


def number(x, lang: str, decimals: int = 1) -> str:
    if _missing(x):
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    # Babel is handed the figure already rounded by the rule (it would round half to even).
    return _decimal(pattern, lang)(half_up(x, decimals))


def figure(x, lang: str) -> str:
    """A stored number as written in the language, with as many decimals as it has (up to 4): 1.440 · 77,4."""
    if _missing(x):
        return "–"
    return _decimal("#,##0.####", lang)(half_up(x, 4))


def percent(x, lang: str, decimals: int = 1) -> str:
    """A value already in percent units: 77.4 → '77,4%'."""
    return "–" if _missing(x) else number(x, lang, decimals) + "%"


def signed(x, lang: str, decimals: int = 1) -> str:
    """A change with its sign: '+0,5', '−2,6'."""
    if _missing(x):
        return "–"
    return ("+" if half_up(x, decimals) > 0 else "") + number(x, lang, decimals)


def separating_decimals(values, ranks, decimals: int, most: int = 6) -> int:
    """The decimals to label ranked values with: the indicator's published ones, or more where two
    values would show alike though their ranks differ, until every such pair shows apart (at most
    `most`). Equal ranks (ties) may show alike. A uniform count keeps one chart's labels comparable."""
    pairs = [(float(v), int(r)) for v, r in zip(values, ranks) if not (pd.isna(v) or pd.isna(r))]
    for d in range(decimals, most):
        shown: dict[Decimal, object] = {}
        if all(shown.setdefault(half_up(v, d), r) == r for v, r in pairs):
            return d
    return most


def value(x, measure, lang: str, decimals: int | None = None) -> str:
    """An indicator's value by its measure (points as their percentage score) at the decimals it is
    published with: `measure` is the indicator's catalog row (its measure and decimals), or a
    measure's name with the decimals (else the measure's usual ones)."""
    if not isinstance(measure, str):
        measure, decimals = measure["measure"], int(measure["decimals"]) if decimals is None else decimals
    if decimals is None:
        decimals = {"points": 2, "count": 0, "score": 2}.get(measure, 1)
    if measure in ("percent", "points"):
        return percent(x, lang, decimals)
    return number(x, lang, decimals)


def period_label(period: str | periods.Period, lang: str) -> str:
    freq, year, idx = periods.parse(str(period))
    if freq == "year":
        return str(year)
    if freq == "quarter":
        return f"Quý {ROMAN[idx]}/{year}" if lang == "vi" else f"Q{idx} {year}"
    return f"Tháng {idx}/{year}" if lang == "vi" else format_date(dt.date(year, idx, 1), "MMM yyyy", locale=LOCALES[lang])


def span_label(year: int, months: tuple[int, int] | None, lang: str) -> str:
    """A year, or the months of it a partial year covers: '2026', 'Quý I–III/2026' (Q1–Q3 2026),
    'Tháng 1–8/2026' (Jan–Aug 2026)."""
    if months is None or tuple(months) == (1, 12):
        return str(year)
    first, last = months
    if (first - 1) % 3 == 0 and last % 3 == 0:
        q1, q2 = (first + 2) // 3, last // 3
        if q1 == q2:
            return period_label(periods.quarter(year, q1), lang)
        return f"Quý {ROMAN[q1]}–{ROMAN[q2]}/{year}" if lang == "vi" else f"Q{q1}–Q{q2} {year}"
    if first == last:
        return period_label(f"{year}-{first:02d}", lang)
    if lang == "vi":
        return f"Tháng {first}–{last}/{year}"
    name = [format_date(dt.date(year, m, 1), "MMM", locale=LOCALES[lang]) for m in (first, last)]
    return f"{name[0]}–{name[1]} {year}"


def date(d: dt.date, lang: str) -> str:
    return format_date(d, "dd/MM/yyyy", locale=LOCALES[lang])


def timestamp(t: dt.datetime, lang: str) -> str:
    """A moment in Viet Nam time: commits are stored in UTC."""
    return format_datetime(t, "dd/MM/yyyy HH:mm", tzinfo=VIETNAM_TIME, locale=LOCALES[lang])


def label(text) -> str:
    """Text from data or users made inert for Plotly, which reads a subset of HTML in labels."""
    return html.escape(str(text), quote=False)


ZWSP = "\u200b"
_AUTOLINK = re.compile(r"\\:/|www\\|@", re.IGNORECASE)
# Every ASCII punctuation mark Markdown, GFM or Streamlit's directives give a meaning to.
_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation.translate(str.maketrans("", "", "'\",;?%/@"))) + "])")


def markdown_text(text) -> str:
    """Text from data or users made inert for Streamlit elements that render Markdown (captions,
    alerts, headers, labels): each mark that means something there is backslash-escaped, so links, images,
    emphasis, `:red[…]` directives, `$` maths and headings are shown as typed, and bare URLs and
    addresses are not made links."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    # GFM links bare URLs and e-mail addresses after parsing, escapes or not: a zero-width space
    # (invisible) breaks the patterns it looks for.
    return _AUTOLINK.sub(lambda m: m[0][:-1] + ZWSP + m[0][-1], escaped)
