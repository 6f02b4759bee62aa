"""The figures a leader asks for first: one unit's year in numbers, the indicators that miss their
target and the units behind each miss, the biggest falls in rank or grade, and how far the data go.

Built on the metrics of `reformkpi.metrics` (same rankings, targets, grades and lineage rules).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from reformkpi import periods
from reformkpi.metrics import comparability, datasets, ranking, rollups, views
from reformkpi.metrics.datasets import Dataset
from reformkpi.catalog import Catalog, CatalogError
from reformkpi.periods import Period

UNIT_YEAR_COLUMNS = ["indicator_id", "value", "previous", "change", "target", "gap", "meets_target", "rank",
                     "n_peers", "previous_rank", "rank_change", "grade", "grade_label", "comparison"]


def unit_year(ds: Dataset, unit_id: str, indicator_ids: tuple[str, ...], year: int,
              lang: str) -> pd.DataFrame:
    """A unit's figures for one year, one row per indicator with a value that year.

    value (the unit's own figure: none for a year it was not in office at the end of, by the rule
    for merged units, where `stand_ins` says what there is), previous (its own, the year before,
    over the same months for a partial year), change, target, gap (positive when the target is
    beaten), meets_target; rank among its peers that year, n_peers, previous_rank and rank_change
    (positive: moved up), both only where the unit itself was ranked; grade and grade_label of
    the value by the family's bands; comparison (`comparability.compare`: previous, change,
    previous_rank and rank_change are blank where it says the years may not be compared).
    """
    cat = ds.catalog
    hist = views.unit_history(ds, unit_id, indicator_ids)
    hist = hist[hist["kind"] == views.OWN]
    level = cat.unit(unit_id)["level"]
    comparability.read_compared(ds, indicator_ids, Period(year), rollups.level_units(ds, level))
    rows = []
    for indicator_id in indicator_ids:
        h = hist[hist["indicator_id"] == indicator_id].set_index("period")
        if str(year) not in h.index:
            continue
        cur, family = h.loc[str(year)], cat.indicator(indicator_id)["family"]
        c = comparability.for_unit(cat, comparability.compare(ds, indicator_id, Period(year)), unit_id)
        previous = _opt(h["value"].get(c.previous))
        if c.partial:  # the same months of the year before, the unit's own as its history
            s = rollups.series(ds, indicator_id, "year", [unit_id], c.years, c.months)
            s = s[(s["period"] == c.previous) & (s["unit_id"] == unit_id)].dropna(subset=["value"])
            previous = None if s.empty else float(s["value"].iloc[0])
        r = ranking.ranks(ds, indicator_id, "year", level, c.years, months=c.months)
        own = r[r["unit_id"] == unit_id].set_index("period")["rank"]
        rank, previous_rank = own.get(str(year)), own.get(c.previous)
        if not c.comparable:
            previous = previous_rank = None
        n_peers = r.loc[(r["unit_id"] == unit_id) & (r["period"] == str(year)), "n_peers"]
        grade = cat.grades(family, pd.Series([cur["value"]])).iloc[0]
        rows.append({
            "indicator_id": indicator_id, "value": float(cur["value"]), "previous": previous,
            "change": None if previous is None else float(cur["value"]) - previous,
            "target": _opt(cur["target"]), "gap": _opt(cur["gap"]),
            "meets_target": None if pd.isna(cur["meets_target"]) else bool(cur["meets_target"]),
            "rank": None if rank is None else int(rank), "n_peers": int(n_peers.iloc[0]) if len(n_peers) else None,
            "previous_rank": None if previous_rank is None else int(previous_rank),
            "rank_change": None if rank is None or previous_rank is None else int(previous_rank - rank),
            "grade": None if pd.isna(grade) else grade,
            "grade_label": ranking.grade_labels(cat, family, pd.Series([grade]), lang).iloc[0] or None,
            "comparison": c,
        })
    return pd.DataFrame(rows, columns=UNIT_YEAR_COLUMNS)


STAND_IN_COLUMNS = ["indicator_id", "unit_id", "kind", "name", "value"]


def stand_ins(ds: Dataset, unit_id: str, indicator_ids: tuple[str, ...], year: int, lang: str) -> pd.DataFrame:
    """For a year the unit was not in office at the end of: its predecessors then in office, each
    with its own figures, and their combined figure where one is a true sum or ratio of sums (kind
    'combined', no unit_id or name): neither graded, ranked nor held to a target, none being the
    unit's own (`views.unit_history`). Empty for a year the unit was in office."""
    if ds.catalog.standing(unit_id, str(year)).own:
        return pd.DataFrame(columns=STAND_IN_COLUMNS)
    hist = views.unit_history(ds, unit_id, indicator_ids)
    out = hist[(hist["period"] == str(year)) & (hist["kind"] != views.OWN)]
    names = datasets.unit_names(ds.catalog, lang)
    out = out.assign(name=[names.get(u, "") for u in out["unit_id"]])
    return out[STAND_IN_COLUMNS].reset_index(drop=True)


def _opt(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def merged_into(cat: Catalog, unit_id: str) -> tuple[str, dt.date] | None:
    """(successor id, the day the merger took effect) when the unit was merged into another, else None."""
    u = cat.unit(unit_id)
    if not isinstance(u["successor_id"], str) or not u["successor_id"]:
        return None
    return u["successor_id"], u["active_to"] + dt.timedelta(days=1)


def holder(cat: Catalog, unit_id: str) -> str:
    """The unit that holds `unit_id` now: itself, or its successor followed through every merger
    and renaming (merged_into)."""
    seen = {unit_id}
    try:
        while (merged := merged_into(cat, unit_id)) is not None and merged[0] not in seen:
            unit_id = merged[0]
            seen.add(unit_id)
    except CatalogError:  # a unit the catalog no longer has: itself
        pass
    return unit_id


ATTENTION_COLUMNS = ["indicator_id", "value", "target", "gap", "province_misses", "n_units", "n_below", "below"]


def attention(ds: Dataset, indicator_ids: tuple[str, ...], period: Period, level: str | None,
              lang: str) -> pd.DataFrame:
    """Indicators that need attention in a period: the province misses its target, or units do.

    One row per such indicator: the province's value, target and gap, province_misses, n_units
    (units with a value and a target), n_below, and below: the units short of their own target as
    a frame (unit_id, name, value, target, gap), the furthest short first. Indicators where the
    province misses come first, then by the number of units below.
    """
    cat = ds.catalog
    levels = [level] if level else sorted(set(cat.units.loc[cat.units["level"] != "province", "level"]))
    # What every KPI and league table below reads, in one pass per set of units.
    for units in {tuple(rollups.level_units(ds, lv)) for lv in [level, *levels]}:
        comparability.read_compared(ds, indicator_ids, period, list(units))
    rows = []
    for indicator_id in indicator_ids:
        k = views.kpi(ds, indicator_id, period, level, lang)
        table = pd.concat([ranking.league_table(ds, indicator_id, Period.parse(k.period), lv, lang) for lv in levels], ignore_index=True)
        judged = table[table["target"].notna()]
        below = judged[judged["meets_target"] == False].sort_values(["gap", "name"])  # noqa: E712  (NA counts as neither)
        misses = k.meets_target is False
        if not misses and below.empty:
            continue
        rows.append({"indicator_id": indicator_id, "value": k.value, "target": k.target, "gap": k.gap,
                     "province_misses": misses, "n_units": len(judged), "n_below": len(below),
                     "below": below[["unit_id", "name", "value", "target", "gap"]].reset_index(drop=True)})
    out = pd.DataFrame(rows, columns=ATTENTION_COLUMNS)
    order = out.assign(_miss=~out["province_misses"].astype(bool)).sort_values(["_miss", "n_below"],
                                                                              ascending=[True, False])
    return out.loc[order.index].reset_index(drop=True)


FALLS_COLUMNS = ["indicator_id", "unit_id", "name", "previous_rank", "rank", "rank_change", "previous_grade_label",
                 "grade_label", "grade_fell"]


def falls(ds: Dataset, indicator_ids: tuple[str, ...], year: int, level: str, lang: str,
          most: int = 5) -> pd.DataFrame:
    """The biggest falls from the year before among a level's units, over the given indicators.

    A fall is a worse grade (grade_fell) or a lower rank (rank_change < 0, places lost). Falls in
    grade come first, then the most places lost; at most `most` rows.
    """
    cat = ds.catalog
    comparability.read_compared(ds, indicator_ids, Period(year), rollups.level_units(ds, level))
    frames = []
    for indicator_id in indicator_ids:
        table = ranking.league_table(ds, indicator_id, Period(year), level, lang)
        if table.empty:
            continue
        family = cat.indicator(indicator_id)["family"]
        order = {g: i for i, g in enumerate(ranking.grade_order(cat, family)["grade_id"])}  # 0 is the best
        prev_value = table["value"] - table["change"]
        prev_grade = cat.grades(family, prev_value.where(table["change"].notna()))
        worse = [order.get(g, -1) > order.get(p, 99) if isinstance(g, str) and isinstance(p, str) else False
                 for g, p in zip(table["grade"], prev_grade)]
        frames.append(pd.DataFrame({
            "indicator_id": indicator_id, "unit_id": table["unit_id"], "name": table["name"],
            "previous_rank": table["prev_rank"], "rank": table["rank"], "rank_change": table["rank_change"],
            "previous_grade_label": ranking.grade_labels(cat, family, prev_grade, lang), "grade_label": table["grade_label"],
            "grade_fell": worse}))
    if not frames:
        return pd.DataFrame(columns=FALLS_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out = out[out["grade_fell"] | (out["rank_change"].fillna(0) < 0)]
    out = out.assign(_lost=out["rank_change"].fillna(0).astype(int))
    return out.sort_values(["grade_fell", "_lost", "name"], ascending=[False, True, True]).head(most)[
        FALLS_COLUMNS].reset_index(drop=True)


def latest_data(ds: Dataset) -> tuple[str, bool] | None:
    """The latest period that has data (quarters beat years within a year) and whether its year is
    still partial (quarterly data that stop before the fourth quarter)."""
    found = datasets.data_periods(ds)
    if not found:
        return None
    latest = found[-1]  # "2026-Q3" sorts after "2026": a year's quarters win over the year
    quarter = datasets.latest_quarter(ds, periods.year_of(latest))
    return latest, quarter is not None and quarter.quarter != 4
