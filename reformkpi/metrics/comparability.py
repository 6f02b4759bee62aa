"""Whether two periods of an indicator may be compared, and why not: the one decision behind every
change the dashboard shows (headline tiles, league tables and their rank changes, a unit's year,
the attention list's falls, trend lines, takeaways and exports). No other code decides.

A figure is compared with the period before it (the year before, the quarter before), unless:

- a methodology break separates them (`breaks` in indicators.csv): neither the value nor the rank
  is compared, and trend lines break there;
- the period is a partial year (quarterly data that stop before December, as a running year's):
  it is compared with the same months of the year before ("Quý I–III/2026 so với Quý I–III/2025"),
  and is not comparable with a year whose data do not cover those months;
- coverage: an aggregate is compared over the units that reported in both periods; when none did,
  it is not comparable;
- scope: a unit's own figure is not compared with a period in which it answered for other units
  (a merger joined a unit to it in between: `Catalog.held` differs), as the two figures describe
  two different bodies (Sở Tài chính with Sở KH&ĐT in 2025 against Sở Tài chính alone in 2024).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from reformkpi import formatting, periods
from reformkpi.catalog import Catalog
from reformkpi.i18n import t
from reformkpi.metrics.datasets import Dataset, remembered
from reformkpi.metrics.rollups import grain_of, read_together, reported_months

BREAK, PARTIAL, COVERAGE, NO_PREVIOUS, SCOPE = "method_break", "partial", "coverage", "no_previous", "scope"
FULL_YEAR = (1, 12)


@dataclass(frozen=True)
class Comparison:
    """A period of an indicator and the period it is compared with, at the grain the indicator is
    read at. `reason` is None when the two may be compared, else why not (BREAK, PARTIAL, COVERAGE,
    NO_PREVIOUS, SCOPE)."""

    indicator_id: str
    grain: str
    period: str
    previous: str
    months: tuple[int, int] | None = None  # a partial year: the months both years are read over
    reason: str | None = None
    method_break: str | None = None  # the first period of the new method (reason BREAK)
    covered: tuple[int, int] | None = None  # the months the previous year's data cover (reason PARTIAL)

    @property
    def comparable(self) -> bool:
        return self.reason is None

    @property
    def years(self) -> tuple[int, int]:
        """The years both periods fall in (what is read for the comparison)."""
        return periods.year_of(self.previous), periods.year_of(self.period)

    @property
    def partial(self) -> bool:
        """Whether the period is a year whose data cover only some of its months."""
        return self.months is not None

    def period_text(self, lang: str) -> str:
        """'2026', or for a partial year the months it covers: 'Quý I–III/2026'."""
        if self.grain == "year":
            return formatting.span_label(periods.year_of(self.period), self.months, lang)
        return formatting.period_label(self.period, lang)

    def previous_text(self, lang: str) -> str:
        """What the period is compared with: '2025', 'Quý I–III/2025' (the same months)."""
        if self.grain == "year":
            return formatting.span_label(periods.year_of(self.previous), self.months, lang)
        return formatting.period_label(self.previous, lang)

    def versus(self, lang: str) -> str:
        """What a change is taken over: 'so với 2025'; a partial year says both spans
        ('Quý I–III/2026 so với Quý I–III/2025')."""
        if self.partial:
            return t("compare.partial_versus", lang, period=self.period_text(lang), previous=self.previous_text(lang))
        return t("kpi.vs_previous", lang, period=self.previous_text(lang))

    def reason_text(self, lang: str) -> str:
        """Why no change is shown ('' when one is, or when there is nothing before to compare with)."""
        previous = self.previous_text(lang)
        if self.reason == BREAK:
            return t("kpi.not_comparable_break", lang, period=previous, since=self.method_break)
        if self.reason == PARTIAL:
            return t("compare.not_comparable_partial", lang, period=previous,
                     covered=formatting.span_label(periods.year_of(self.previous), self.covered, lang))
        if self.reason == COVERAGE:
            return t("kpi.not_comparable_units", lang, period=previous)
        if self.reason == SCOPE:
            return t("compare.not_comparable_scope", lang, period=previous)
        return ""

    def changes_note(self, lang: str) -> str:
        """The line under a table of changes (a league table): why they are blank, or what a
        partial year's are taken over ('' for an ordinary comparison)."""
        if not self.comparable:
            return self.reason_text(lang)
        return t("compare.changes", lang, versus=self.versus(lang)) if self.partial else ""

    def partial_text(self, lang: str) -> str:
        """The flag of an incomplete year ('' for a whole period)."""
        if not self.partial:
            return ""
        return t("compare.partial_year", lang, year=self.period, period=self.period_text(lang))


@remembered
def _periods(ds: Dataset, indicator_id: str, period: periods.Period) -> Comparison:
    """The comparison of two periods, before any unit is looked at (method and months)."""
    cat = ds.catalog
    grain, at = grain_of(ds, indicator_id, period)
    p = str(at)  # as the store writes it: the frames read are matched on it
    base = Comparison(indicator_id, grain, p, str(at.previous()))
    since = cat.break_between(indicator_id, base.previous, p)
    if since is not None:
        return replace(base, reason=BREAK, method_break=since)
    if grain != "year" or cat.indicator(indicator_id)["frequency"] == "year":
        return base
    spans = reported_months(ds, indicator_id)
    now, before = spans.get(periods.year_of(p)), spans.get(periods.year_of(base.previous))
    months = None if now is None or now == FULL_YEAR else now
    if now is not None and before is not None and not (before[0] <= now[0] and now[1] <= before[1]):
        return replace(base, months=months, reason=PARTIAL, covered=before)
    return replace(base, months=months)


def compare(ds: Dataset, indicator_id: str, period: periods.Period, now: Iterable[str] | None = None,
            before: Iterable[str] | None = None) -> Comparison:
    """Whether `period` of an indicator may be compared with the period before it, and over what.

    `now` and `before`: the units with a figure in each period, where an aggregate is compared
    (like for like, over the units in both): none in both is not comparable (COVERAGE; none at
    all before: NO_PREVIOUS).
    """
    c = _periods(ds, indicator_id, period)
    if not c.comparable or now is None or before is None:
        return c
    earlier = set(before)
    if not earlier:
        return replace(c, reason=NO_PREVIOUS)
    if not earlier & set(now):
        return replace(c, reason=COVERAGE)
    return c


def scope_changed(cat: Catalog, c: Comparison, unit_ids: Iterable[str]) -> set[str]:
    """Of `unit_ids`, those that answer for other units in the two periods of `c` (a merger in
    between joined a unit to them): their own figures are not compared (SCOPE)."""
    now, before = cat.held_by(c.period), cat.held_by(c.previous)
    return {u for u in unit_ids if now.get(u) != before.get(u)}


def for_unit(cat: Catalog, c: Comparison, unit_id: str) -> Comparison:
    """The comparison of one unit's own figure: `c`, unless the unit's scope changed between the
    two periods (SCOPE)."""
    if c.comparable and scope_changed(cat, c, [unit_id]):
        return replace(c, reason=SCOPE)
    return c


def method_breaks(cat: Catalog, indicator_id: str, series_periods: Sequence[str]) -> list[bool]:
    """For each period of a series in order, whether a methodology break separates it from the one
    before it (a dotted line marks it on a trend)."""
    ps = [str(p) for p in series_periods]
    return [i > 0 and cat.break_between(indicator_id, ps[i - 1], p) is not None for i, p in enumerate(ps)]


@remembered
def joins(ds: Dataset, indicator_id: str, series_periods: tuple[str, ...]) -> tuple[bool, ...]:
    """For each period of a series in order, whether it may be compared with the one before it:
    neither a methodology break between them nor a partial year on either side. A trend line is
    drawn only between such periods (one line per method; a partial year stands apart)."""
    ps = [str(p) for p in series_periods]
    partial = [periods.frequency(p) == "year" and compare(ds, indicator_id, periods.Period.parse(p)).partial for p in ps]
    breaks = method_breaks(ds.catalog, indicator_id, ps)
    return tuple(i > 0 and not breaks[i] and not partial[i] and not partial[i - 1] for i in range(len(ps)))


@remembered
def unit_joins(ds: Dataset, indicator_id: str, unit_ids: tuple[str, ...],
               series_periods: tuple[str, ...]) -> dict[tuple[str, str], bool]:
    """For each unit and period of a series in order, whether the unit's figure may be compared
    with its own the period before: `joins` (no methodology break, no partial year) and the same
    scope (no merger joined a unit to it in between: SCOPE). A unit's line breaks where it may not."""
    ps = [str(p) for p in series_periods]
    joined = joins(ds, indicator_id, tuple(ps))
    held = [ds.catalog.held_by(p) for p in ps]
    return {(u, p): joined[i] and held[i].get(u) == held[i - 1].get(u)
            for u in unit_ids for i, p in enumerate(ps) if i}


def joined(cat: Catalog, indicator_id: str, series: pd.DataFrame) -> pd.Series:
    """For each row of a series frame in period order, whether it may be compared with the row
    before: its `joined` column where the core computed one (`joins`), else no methodology break
    between them."""
    if "joined" in series:
        return series["joined"].astype(bool)
    return pd.Series([not b for b in method_breaks(cat, indicator_id, series["period"])], index=series.index) & (
        pd.Series(range(len(series)), index=series.index) > 0)


def read_compared(ds: Dataset, indicator_ids: list[str] | tuple[str, ...], period: periods.Period,
                  unit_ids: list[str]) -> None:
    """`read_together` of what `kpi` and `league_table` read for a period: each indicator at its
    grain over the years of the period and the one it is compared with (over the same months)."""
    spans: dict[tuple, list[str]] = {}
    for indicator_id in indicator_ids:
        c = compare(ds, indicator_id, period)
        spans.setdefault((c.grain, c.years, c.months), []).append(indicator_id)
    for (grain, years, months), ids in spans.items():
        read_together(ds, ids, grain, unit_ids, years, months)
