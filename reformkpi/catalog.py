"""The catalog: units, indicators, targets and grade bands, as a province edits them (CSV files).

The catalog is data, not code: `load_dir` reads the four CSV files, the store keeps them as
versioned tables, and everything else asks this module what an indicator or a unit is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from reformkpi import periods
from reformkpi.i18n import column

CATALOG_TABLES = ("units", "indicators", "targets", "grade_bands")
LEVELS = ("province", "department", "district", "commune")
MEASURES = ("percent", "points", "count", "days", "score")
ROLLUPS = ("sum", "mean", "last", "first", "derived")
# Decimals a measure is published with when the catalog does not say (77,4% · 81,33% · 1.234).
DEFAULT_DECIMALS = {"percent": 1, "points": 2, "count": 0, "score": 2, "days": 1}
# The most one unit can report in one period (`ceiling` in indicators.csv) when the catalog does
# not say: a count above it is a typing slip (1e20 would read as a 100% online share), refused.
DEFAULT_CEILINGS = {"count": 10_000_000.0}


class CatalogError(ValueError):
    pass


def among(values: pd.Series, ids) -> pd.Series:
    """`values.isin(ids)` for many ids (a level's units, every unit in office): pandas 3 makes an
    Arrow scalar of each id for the Arrow strings of these frames, milliseconds per call at national
    scale, where a set lookup per value costs microseconds."""
    wanted = set(ids)
    return pd.Series([v in wanted for v in values.to_numpy(dtype=object)], index=values.index, dtype=bool)


def _text(df: pd.DataFrame, cols) -> None:
    for c in cols:
        df[c] = df[c].fillna("").astype(str).str.strip()


def normalise(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Give every catalog table its column types; raise CatalogError on a broken reference."""
    units = tables["units"].copy()
    _text(units, ["unit_id", "name_vi", "name_en", "short_name_vi", "level", "parent_id",
                  "successor_id", "aliases"])
    for c in ("active_from", "active_to"):
        stamps = pd.to_datetime(units[c].replace("", None), errors="raise")
        # Dates, as objects even when the column is all empty (else it stays datetime64 and cannot be
        # compared with a date: a catalog where no unit has ended would fail).
        units[c] = pd.Series(stamps.dt.date, index=units.index, dtype=object)
    ind = tables["indicators"].copy()
    _text(ind, ["indicator_id", "name_vi", "name_en", "short_vi", "short_en", "family",
                "measure", "direction", "frequency", "rollup", "numerator", "denominator"])
    ind["scale"] = pd.to_numeric(ind["scale"].replace("", None)).fillna(1.0).astype(float)
    for flag in ("ranked", "headline"):
        ind[flag] = ind.get(flag, pd.Series(False, index=ind.index)).astype(str).str.lower().isin(["true", "1", "yes"])
    ind["sort"] = pd.to_numeric(ind["sort"]).astype(int)
    # Precision and methodology breaks came later: a catalog without them gets the defaults.
    for c in ("precision_source", "breaks", "break_note_vi", "break_note_en"):
        ind[c] = ind[c] if c in ind else ""
    _text(ind, ["precision_source", "breaks", "break_note_vi", "break_note_en"])
    ceiling = (ind["ceiling"] if "ceiling" in ind else pd.Series("", index=ind.index)).astype(object)
    ceiling = ceiling.where(ceiling.notna(), "").astype(str).str.strip()
    given = pd.to_numeric(ceiling.replace("", None), errors="coerce")
    if (unread := ind.loc[given.isna() & (ceiling != ""), "indicator_id"]).any():
        raise CatalogError("; ".join(f"indicators: {v} ceiling is not a number" for v in unread))
    ind["ceiling"] = given.fillna(ind["measure"].map(DEFAULT_CEILINGS)).astype(float)
    default = ind["measure"].map(DEFAULT_DECIMALS)
    given = pd.to_numeric(ind["decimals"].replace("", None), errors="coerce") if "decimals" in ind else default
    ind["decimals"] = given.fillna(default).astype(int)
    targets = tables["targets"].copy()
    _text(targets, ["indicator_id", "unit_id", "source"])
    for c in ("year_from", "year_to"):
        targets[c] = pd.to_numeric(targets[c]).astype(int)
    targets["value"] = pd.to_numeric(targets["value"]).astype(float)
    bands = tables["grade_bands"].copy()
    _text(bands, ["family", "grade_id", "label_vi", "label_en", "source"])
    bands["min_value"] = pd.to_numeric(bands["min_value"].replace("", None)).astype(float)
    out = {"units": units, "indicators": ind, "targets": targets, "grade_bands": bands}
    _check(out)
    return out


def _check(t: dict[str, pd.DataFrame]) -> None:
    units, ind = t["units"], t["indicators"]
    ids = set(units["unit_id"].to_numpy(dtype=object))  # a numpy walk: Arrow strings one by one are slow
    problems = []
    if units["unit_id"].duplicated().any():
        problems.append("units: duplicate unit_id " + ", ".join(units.loc[units["unit_id"].duplicated(), "unit_id"]))
    for col in ("parent_id", "successor_id"):
        problems += [f"units: {col} {v!r} is not a unit" for v in units[col].to_numpy(dtype=object) if v and v not in ids]
    problems += [f"units: level {v!r} unknown" for v in set(units["level"].to_numpy(dtype=object)) - set(LEVELS)]
    iids = set(ind["indicator_id"])
    problems += [f"indicators: measure {v!r} unknown" for v in set(ind["measure"]) - set(MEASURES)]
    problems += [f"indicators: rollup {v!r} unknown" for v in set(ind["rollup"]) - set(ROLLUPS)]
    bad_ceiling = ind.loc[ind["ceiling"].notna() & ~(np.isfinite(ind["ceiling"]) & (ind["ceiling"] > 0)), "indicator_id"]
    problems += [f"indicators: {v} ceiling must be a number above 0" for v in bad_ceiling]
    derived = ind[ind["rollup"] == "derived"]
    for iid, numerator, denominator in zip(derived["indicator_id"], derived["numerator"], derived["denominator"]):
        for part in _terms(numerator) + _terms(denominator):
            if part not in iids:
                problems.append(f"indicators: {iid} refers to unknown {part!r}")
    for iid, text in zip(ind["indicator_id"], ind["breaks"]):
        for b in filter(None, (x.strip() for x in text.split(";"))):
            try:
                periods.parse(b)
            except periods.PeriodError:
                problems.append(f"indicators: {iid} break {b!r} is not a period")
    bad_t = t["targets"].loc[~t["targets"]["indicator_id"].isin(iids), "indicator_id"]
    problems += [f"targets: indicator {v!r} unknown" for v in bad_t]
    if problems:
        raise CatalogError("; ".join(problems))


def _terms(expr: str) -> list[str]:
    return [p.strip() for p in expr.split("+") if p.strip()]


def load_dir(path: Path) -> dict[str, pd.DataFrame]:
    raw = {name: pd.read_csv(Path(path) / f"{name}.csv", dtype=str, keep_default_na=False)
           for name in CATALOG_TABLES}
    return normalise(raw)


class Standing(NamedTuple):
    """Who answers for a unit's figure of a period (`Catalog.standing`)."""

    own: bool  # the unit is in office at the period's end: the figure is its own
    units: tuple[str, ...]  # own: the unit; else its predecessors then in office (none: nothing to show)


@dataclass(frozen=True)
class Catalog:
    units: pd.DataFrame
    indicators: pd.DataFrame
    targets: pd.DataFrame
    grade_bands: pd.DataFrame
    # Rows by id, found once: a page asks for an indicator hundreds of times, and a boolean mask
    # over the frame each time was a tenth of a national page. The first row of an id wins.
    _indicator_rows: dict[str, pd.Series] = field(init=False, repr=False, compare=False)
    _unit_positions: dict[str, int] = field(init=False, repr=False, compare=False)
    # Terms of office as datetime64 (NaT: open), so that who is in office is one comparison over
    # every unit rather than one per unit; and its answer per period.
    _office: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)
    _unit_ids: np.ndarray = field(init=False, repr=False, compare=False)
    _active_ids: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False, default_factory=dict)
    # Mergers by id (a unit's successor; a successor's direct predecessors, in the table's order), and
    # who answers for whom per period: a national page asks for them per indicator and per period,
    # and walking 3,000 units' successors each time was most of a cold Unit page.
    _successor: dict[str, str] = field(init=False, repr=False, compare=False, default_factory=dict)
    _merged_into: dict[str, list[str]] = field(init=False, repr=False, compare=False, default_factory=dict)
    _holders: dict[str, dict[str, str]] = field(init=False, repr=False, compare=False, default_factory=dict)
    _held_by: dict[str, dict[str, frozenset[str]]] = field(init=False, repr=False, compare=False,
                                                           default_factory=dict)
    _target_rows: dict[str, list] = field(init=False, repr=False, compare=False, default_factory=dict)
    # A family's bands as (minimum, grade id) from the lowest, and its floor band's id: a page grades
    # one value at a time, and finding them in the table each time cost more than the grading.
    _grade_steps: dict[str, tuple[list, str | None]] = field(init=False, repr=False, compare=False,
                                                          default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_indicator_rows", {})
        for _, row in self.indicators.iterrows():
            self._indicator_rows.setdefault(row["indicator_id"], row)
        object.__setattr__(self, "_unit_ids", self.units["unit_id"].to_numpy(dtype=object))
        object.__setattr__(self, "_unit_positions", {})
        for position, unit_id in enumerate(self._unit_ids):
            self._unit_positions.setdefault(unit_id, position)
        object.__setattr__(self, "_office", tuple(pd.to_datetime(self.units[c]).to_numpy(dtype="datetime64[D]")
                                                  for c in ("active_from", "active_to")))
        for uid, succ in zip(self._unit_ids, self.units["successor_id"].to_numpy(dtype=object)):
            self._successor.setdefault(uid, succ)
            if succ:
                self._merged_into.setdefault(succ, []).append(uid)
        for row in self.targets.itertuples(index=False):
            self._target_rows.setdefault(row.indicator_id, []).append(row)

    @classmethod
    def from_tables(cls, tables: dict[str, pd.DataFrame]) -> Catalog:
        t = normalise(tables)
        return cls(t["units"], t["indicators"].sort_values("sort", kind="stable"),
                   t["targets"], t["grade_bands"])

    def indicator(self, indicator_id: str) -> pd.Series:
        if indicator_id not in self._indicator_rows:
            raise CatalogError(f"unknown indicator {indicator_id!r}")
        return self._indicator_rows[indicator_id]

    def unit(self, unit_id: str) -> pd.Series:
        if unit_id not in self._unit_positions:
            raise CatalogError(f"unknown unit {unit_id!r}")
        return self.units.iloc[self._unit_positions[unit_id]]

    def target_rows(self, indicator_id: str) -> list:
        """The indicator's rows of the targets table, in the table's order (named tuples)."""
        return self._target_rows.get(indicator_id, [])

    def components(self, indicator_id: str) -> tuple[list[str], list[str]]:
        """Numerator and denominator terms of a derived indicator (each a sum of stored ones)."""
        row = self.indicator(indicator_id)
        return _terms(row["numerator"]), _terms(row["denominator"])

    def formula_text(self, indicator_id: str, lang: str) -> str:
        """The formula in words, for display next to the number."""
        row = self.indicator(indicator_id)
        if row["rollup"] != "derived":
            return ""
        col = column("short", lang)
        name = lambda i: self.indicator(i)[col]
        num, den = self.components(indicator_id)
        text = " + ".join(name(i) for i in num)
        if den:
            text = (f"({text})" if len(num) > 1 else text) + " / (" + " + ".join(name(i) for i in den) + ")"
        if row["scale"] != 1:
            text += f" × {row['scale']:g}"
        return f"{row[col]} = {text}"

    def breaks(self, indicator_id: str) -> list[str]:
        """Periods from which the indicator is measured by a new method (not comparable with before)."""
        return [p.strip() for p in self.indicator(indicator_id)["breaks"].split(";") if p.strip()]

    def break_between(self, indicator_id: str, before: str, after: str) -> str | None:
        """The methodology break that separates two periods (the first period of the new method), if any."""
        lo, hi = periods.start(before), periods.start(after)
        return next((b for b in self.breaks(indicator_id) if lo < periods.start(b) <= hi), None)

    def break_note(self, indicator_id: str, lang: str) -> str:
        return self.indicator(indicator_id)[column("break_note", lang)]

    def predecessors(self, unit_id: str) -> list[str]:
        """Every unit that was merged or renamed, directly or in steps, into unit_id."""
        out = []
        for u in self._merged_into.get(unit_id, []):
            out += [u] + self.predecessors(u)
        return out

    def lineage(self, unit_id: str) -> list[str]:
        return [unit_id] + self.predecessors(unit_id)

    def active_units(self, period: str, level: str | None = None) -> pd.DataFrame:
        """Units in office at the end of the period (the rule for which unit a figure belongs to)."""
        on = self._in_office(period)
        if level:
            on &= (self.units["level"] == level).to_numpy()
        return self.units[on]

    def _in_office(self, period: str) -> np.ndarray:
        end = np.datetime64(periods.end(period), "D")
        start, stop = self._office
        return (np.isnat(start) | (start <= end)) & (np.isnat(stop) | (stop >= end))

    def active_ids(self, period: str) -> frozenset[str]:
        """The ids of the units in office at the end of the period, found once per period: pages
        ask for them per row and per period."""
        if period not in self._active_ids:
            self._active_ids[period] = frozenset(self._unit_ids[self._in_office(period)])
        return self._active_ids[period]

    def is_active(self, unit_id: str, period: str) -> bool:
        return unit_id in self.active_ids(period)

    def holders(self, period: str) -> dict[str, str]:
        """For every unit, the unit in office at the end of the period that answers for its figures:
        itself, or its successor followed through every merger. Units with no one in office are left out.
        Found once per period and shared: read it, never change it."""
        if period in self._holders:
            return self._holders[period]
        active, succ = self.active_ids(period), self._successor
        out = {}
        for uid in succ:
            u, seen = uid, set()
            while u and u not in active and u not in seen:
                seen.add(u)
                u = succ.get(u, "")
            if u in active:
                out[uid] = u
        self._holders[period] = out
        return out

    def held_by(self, period: str) -> dict[str, frozenset[str]]:
        """Each unit in office at the period's end: the units it answers for then (itself and those
        merged into it; `holders` the other way round). Found once per period and shared."""
        if period not in self._held_by:
            out: dict[str, set[str]] = {}
            for u, h in self.holders(period).items():
                out.setdefault(h, set()).add(u)
            self._held_by[period] = {h: frozenset(us) for h, us in out.items()}
        return self._held_by[period]

    def held(self, unit_ids, period: str) -> list[str]:
        """The units whose figures for the period the given units answer for (`holders`): the units
        themselves if in office at its end, and every unit merged into them by then."""
        wanted = set(unit_ids)
        return [u for u, h in self.holders(period).items() if h in wanted]

    def standing(self, unit_id: str, period: str) -> Standing:
        """The rule for merged units (README): a unit in office at the end of the period has a
        figure of its own, covering what the units it holds then did (`held`); before it was in
        office it has none, and its predecessors then in office stand in its place, each as itself."""
        if self.is_active(unit_id, period):
            return Standing(True, (unit_id,))
        return Standing(False, tuple(u for u in self.predecessors(unit_id) if self.is_active(u, period)))

    def grades(self, family: str, values: pd.Series) -> pd.Series:
        """Grade id of each value by the family's bands: a value at a band's minimum is in the band."""
        if family not in self._grade_steps:
            bands = self.grade_bands[self.grade_bands["family"] == family]
            floor = bands.loc[bands["min_value"].isna(), "grade_id"]
            steps = bands.dropna(subset=["min_value"]).sort_values("min_value")
            self._grade_steps[family] = (list(zip(steps["min_value"], steps["grade_id"])),
                                         floor.iloc[0] if len(floor) else None)
        steps, floor = self._grade_steps[family]
        out = pd.Series(pd.NA, index=values.index, dtype="object")
        for minimum, grade_id in steps:
            out[values >= minimum] = grade_id
        if floor is not None:
            out[values.notna() & out.isna()] = floor
        return out
