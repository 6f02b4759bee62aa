"""Targets from the catalog (targets.csv): one lookup, by unit and year, and the gap to a target.

A unit's target for a year is its own where the catalog names one for that year, else the
general one (a row without unit_id); of several matching rows the first wins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reformkpi.catalog import Catalog
from reformkpi.formatting import rounded

GENERAL = ""  # the unit_id of a general target row: it holds for every unit without its own


def lookup(cat: Catalog, indicator_id: str, unit_ids, years) -> pd.DataFrame:
    """The target of each (unit, year) pair, `years` one year or one per unit; GENERAL as a unit
    asks for the general target. Columns: unit_id, year, target (NaN: none), target_source (None: none).

    The catalog's target rows are few, the pairs asked for can be many (every unit, every year):
    one pass over the rows."""
    units = np.asarray(list(unit_ids), dtype=object)
    year = np.asarray(years, dtype=int)
    year = np.full(units.shape, int(year)) if year.ndim == 0 else year
    target, source = np.full(len(units), np.nan), np.full(len(units), None, dtype=object)
    rows = cat.target_rows(indicator_id)
    # General rows first, then each unit's own; within each, the first matching row is written last.
    for own in (False, True):
        for row in reversed([r for r in rows if (r.unit_id != GENERAL) == own]):
            hit = (year >= row.year_from) & (year <= row.year_to) & ((units == row.unit_id) if own else True)
            target[hit], source[hit] = float(row.value), row.source
    return pd.DataFrame({"unit_id": units, "year": year, "target": target, "target_source": source})


def province(cat: Catalog, indicator_id: str, year: int) -> tuple[float | None, str]:
    """The general target of a year (the province-wide one): (value, source), (None, '') if none."""
    row = lookup(cat, indicator_id, [GENERAL], year).iloc[0]
    return (None, "") if pd.isna(row["target"]) else (float(row["target"]), row["target_source"])


def gap(value, target, direction: str):
    """Signed distance to the target, positive when the target is beaten whatever the direction."""
    return (value - target) if direction == "higher_better" else (target - value)


def meets(value: float, target: float | None, direction: str, decimals: int) -> bool | None:
    """Whether one figure meets its target, judged on the gap at the indicator's precision (as the
    league tables judge it); None without a figure or a target."""
    if target is None or pd.isna(value) or pd.isna(target):
        return None
    return bool(rounded(gap(value, target, direction), decimals) >= 0)
