"""The views leaders read: headline figures (Kpi), one unit's profile, rankings over years,
dossiers and satisfaction, each as a frame a page or an export shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reformkpi import periods
from reformkpi.formatting import rounded, rounded_column
from reformkpi.catalog import Catalog, among
from reformkpi.coverage import expected_units
from reformkpi.metrics import targets
from reformkpi.metrics.datasets import Dataset, remembered, unit_names
from reformkpi.metrics.comparability import Comparison, compare, joins, method_breaks, scope_changed
from reformkpi.metrics.rollups import (aggregate, combinable, combine_lineage, dossier_flows,
                                       level_units, province_series, read_together, series, stored_series)
from reformkpi.metrics.targets import gap


@dataclass(frozen=True)
class Kpi:
    """A headline figure: the province-wide value of an indicator for a period.

    `change` compares like with like: the units that reported in both periods, aggregated the
    same way in each (n_common of them), over the periods `comparison` says (a partial year and
    the same months of the year before; `previous` is that figure). It is None where the
    comparison says the periods may not be compared (a methodology break, no unit in both).
    """

    indicator_id: str
    period: str
    value: float | None
    previous: float | None
    change: float | None
    target: float | None
    target_source: str
    gap: float | None
    meets_target: bool | None
    n_units: int
    n_below_target: int
    formula: str
    n_expected: int = 0
    n_common: int = 0
    comparison: Comparison | None = None


@remembered
def kpi(ds: Dataset, indicator_id: str, period: periods.Period, level: str | None, lang: str) -> Kpi:
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    c = compare(ds, indicator_id, period)
    p, prev = c.period, c.previous
    units = level_units(ds, level)
    s = series(ds, indicator_id, c.grain, units, c.years, c.months).dropna(subset=["value"])
    s = s[s["period"].isin([p, prev])]
    prov = aggregate(ind, s, ["period"]).set_index("period")
    value = _opt(prov["value"].get(p))
    previous = _opt(prov["value"].get(prev))
    like, common, before = _like_for_like(cat, ind, c, s)
    c = compare(ds, indicator_id, period, set(s.loc[s["period"] == p, "unit_id"]), before)
    change = None
    if c.comparable:
        same = aggregate(ind, like, ["period"]).set_index("period")["value"]
        change = rounded(float(same[p]) - float(same[prev]), ind["decimals"])
    target, target_source = targets.province(cat, indicator_id, periods.year_of(p))
    g = rounded(gap(value, target, ind["direction"]), ind["decimals"]) if value is not None and target is not None else None
    own = targets.lookup(cat, indicator_id, units, periods.year_of(p)).drop(columns="year")
    cur = s[s["period"] == p].merge(own, on="unit_id")
    below = int((rounded_column(gap(cur["value"], cur["target"], ind["direction"]), ind["decimals"]) < 0).sum())
    return Kpi(indicator_id, p, value, previous, change, target, target_source, g,
               None if g is None else bool(g >= 0), int(prov["n_units"].get(p, 0)), below,
               cat.formula_text(indicator_id, lang), len(expected_units(cat, p, level)), len(common), c)


def _like_for_like(cat: Catalog, ind: pd.Series, c: Comparison,
                   s: pd.DataFrame) -> tuple[pd.DataFrame, set[str], set[str]]:
    """The rows a change is computed on, the units of the period it covers, and the bodies the
    previous period's figures stand for: the same bodies in both periods. Where units merged in
    between, a figure that combines (`rollups.combinable`) takes the previous period's rows of the
    merged units with the unit holding them now (Sở Tài chính 2025 against Sở Tài chính and Sở
    KH&ĐT 2024 together); a score cannot be combined, so a unit whose scope changed
    (`comparability.scope_changed`) is left out of both periods."""
    now_rows, before_rows = s[s["period"] == c.period], s[s["period"] == c.previous]
    if combinable(ind):
        holder = before_rows["unit_id"].map(cat.holders(c.period))
        before = set(holder.dropna())
        common = set(now_rows["unit_id"]) & before
        before_rows = before_rows[holder.isin(common).to_numpy()]
    else:
        before = set(before_rows["unit_id"])
        before -= scope_changed(cat, c, before & set(now_rows["unit_id"]))
        common = set(now_rows["unit_id"]) & before
        before_rows = before_rows[among(before_rows["unit_id"], common)]
    return pd.concat([now_rows[among(now_rows["unit_id"], common)], before_rows]), common, before


def _opt(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def province_trend(ds: Dataset, indicator_id: str, level: str | None, lang: str) -> pd.DataFrame:
    """Province-wide value by year with that year's target: period, value, n_units, n_expected,
    target, method_break (True where a new method starts), partial (a year whose data cover only
    some of its months), joined (whether the year may be compared with the one before: the line
    breaks where it may not) and label (the year, or the months a partial year covers:
    'Quý I–III/2026')."""
    out = province_series(ds, indicator_id, "year", level)
    out["target"] = [targets.province(ds.catalog, indicator_id, periods.year_of(p))[0] for p in out["period"]]
    out["method_break"] = method_breaks(ds.catalog, indicator_id, out["period"])
    compared = [compare(ds, indicator_id, periods.Period.parse(p)) for p in out["period"]]
    out["partial"] = [c.partial for c in compared]
    out["label"] = [c.period_text(lang) for c in compared]
    out["joined"] = list(joins(ds, indicator_id, tuple(out["period"])))
    return out


def peers(cat: Catalog, unit_id: str) -> list[str]:
    """Units with the same parent and level as unit_id (itself included), in office or not."""
    u = cat.unit(unit_id)
    units = cat.units
    return units.loc[(units["parent_id"] == u["parent_id"]) & (units["level"] == u["level"]), "unit_id"].tolist()


def merger_events(cat: Catalog, unit_id: str) -> pd.DataFrame:
    """Each merger in a unit's lineage: date, unit_id (the successor), predecessors (ids, comma-separated).

    The date is the day after the predecessors' last day in office: a unit that absorbs
    another keeps its own start date, so that is not the merger's.
    """
    units = cat.units
    rows = []
    for uid in cat.lineage(unit_id):
        merged = units[units["successor_id"] == uid]
        for last_day, group in merged.groupby("active_to", dropna=False, sort=True):
            date = cat.unit(uid)["active_from"] if pd.isna(last_day) else last_day + dt.timedelta(days=1)
            rows.append({"date": date, "unit_id": uid, "predecessors": ",".join(group["unit_id"])})
    return pd.DataFrame(rows, columns=["date", "unit_id", "predecessors"])


OWN, PREDECESSOR, COMBINED = "own", "predecessor", "combined"


@remembered
def unit_history(ds: Dataset, unit_id: str, indicator_ids: tuple[str, ...], grain: str = "year") -> pd.DataFrame:
    """A unit's indicators over time against its target and its peers' median, with its
    predecessors by the rule for merged units (`Catalog.standing`, README).

    A figure of the unit (kind 'own') is one for a period it was in office at the end of (the
    store keeps no other: `rollups.series`), covering what the units it held then did; only these
    have a target. Each predecessor in office at a period's end is a series of its own (kind
    'predecessor', its unit_id). Before the unit was in office, where the indicator is
    `rollups.combinable`, the predecessors also appear combined (kind 'combined', unit_id ''): a
    sum or a ratio of sums, never a score averaged.

    Columns: indicator_id, period, unit_id, kind, value, units (contributing ids), peer_median,
    n_peers, n_peer_expected, target, gap, meets_target. The peers' median is over the units of the
    same parent and level that have a value that period (n_peers of the n_peer_expected in office at its end).
    """
    cat = ds.catalog
    lineage, same = cat.lineage(unit_id), peers(cat, unit_id)
    # One read for the unit's lineage and its peers (usually the lineage is among the peers), of
    # every indicator at once.
    both_ids = sorted(set(lineage) | set(same))
    read_together(ds, indicator_ids, grain, both_ids)
    cols = ["indicator_id", "period", "unit_id", "kind", "value", "units", "peer_median", "n_peers", "n_peer_expected",
            "target", "gap", "meets_target"]
    # Every indicator worked on in one frame: a dozen steps on small frames per indicator cost
    # several times the read at national scale. Only indicators the lineage has figures of.
    ids = list(dict.fromkeys(indicator_ids))
    read = [series(ds, i, grain, both_ids).dropna(subset=["value"]).assign(indicator_id=i) for i in ids]
    read = [df for df in read if df["unit_id"].isin(lineage).any()]
    if not read:
        return pd.DataFrame(columns=cols)
    both = pd.concat(read, ignore_index=True)
    mine = both[both["unit_id"].isin(lineage)]
    parts = [mine.assign(kind=[OWN if u == unit_id else PREDECESSOR for u in mine["unit_id"]],
                         units=mine["unit_id"])[["indicator_id", "period", "unit_id", "kind", "value", "units"]]]
    own_in = {p: cat.standing(unit_id, p).own for p in mine["period"].unique()}
    combines = {i: combinable(cat.indicator(i)) for i in ids}
    before = mine[~mine["period"].map(own_in) & mine["indicator_id"].map(combines)]
    before = before[before.groupby(["indicator_id", "period"])["unit_id"].transform("size") > 1]
    for indicator_id, b in before.groupby("indicator_id", sort=False):
        parts.append(combine_lineage(cat.indicator(indicator_id), b).assign(indicator_id=indicator_id, unit_id="",
                                                                            kind=COMBINED))
    own = pd.concat(parts, ignore_index=True)
    by_period = both[both["unit_id"].isin(same)].groupby(["indicator_id", "period"])
    own = own.merge(pd.DataFrame({"peer_median": by_period["value"].median(),
                                  "n_peers": by_period["unit_id"].nunique()}).reset_index(),
                    on=["indicator_id", "period"], how="left")
    own["n_peers"] = own["n_peers"].fillna(0).astype(int)
    expected = {p: len(set(same) & cat.active_ids(p)) for p in own["period"].unique()}
    own["n_peer_expected"] = own["period"].map(expected).astype(int)
    years, is_own = periods.years_of(own["period"]), (own["kind"] == OWN).to_numpy()
    target, signed = np.full(len(own), np.nan), np.full(len(own), np.nan)
    for indicator_id in own["indicator_id"].unique():
        rows = (own["indicator_id"] == indicator_id).to_numpy()
        target[rows] = targets.lookup(cat, indicator_id, [unit_id] * int(rows.sum()), years[rows])["target"]
        target[rows & ~is_own] = np.nan
        signed[rows] = gap(own["value"].to_numpy()[rows], target[rows], cat.indicator(indicator_id)["direction"])
    own["target"], own["gap"] = target, signed
    own["meets_target"] = (own["gap"] >= 0).where(own["target"].notna())
    position = {i: n for n, i in enumerate(ids)}
    own = own.assign(_i=own["indicator_id"].map(position), _o=own["kind"].map({OWN: 0, PREDECESSOR: 1, COMBINED: 2}))
    own = own.sort_values(["_i", "period", "_o", "unit_id"], ignore_index=True)[cols]
    if len(ids) < len(indicator_ids):  # an indicator asked for twice is shown twice, as asked
        own = pd.concat([own[own["indicator_id"] == i] for i in indicator_ids], ignore_index=True)
    return own


def unit_flow(ds: Dataset, unit_id: str) -> pd.DataFrame:
    """A unit's dossiers per quarter by the rule for merged units (`Catalog.standing`): its own
    counts for the quarters it was in office at the end of (what the units it held then did), and
    for those before, its predecessors' combined (own False; counts add, rates are ratios of the
    sums). Columns: those of `rollups.dossier_flow`, and own."""
    cat = ds.catalog
    predecessors = cat.predecessors(unit_id)
    out, before = dossier_flows(ds, ([unit_id], predecessors))
    out = out.assign(own=True)
    if predecessors:
        before = before[[not cat.standing(unit_id, p).own for p in before["period"]]].assign(own=False)
        out = pd.concat([before, out], ignore_index=True).sort_values("period", ignore_index=True)
    return out


def family_parts(cat: Catalog, total_id: str) -> list[str]:
    """The parts of a family's total (PAR INDEX areas, SIPAS factors): its unranked indicators."""
    ind = cat.indicators
    fam = cat.indicator(total_id)["family"]
    return ind.loc[(ind["family"] == fam) & ~ind["ranked"] & (ind["indicator_id"] != total_id), "indicator_id"].tolist()


def _part_targets(ds: Dataset, total_id: str, year: int, unit_ids: list[str]) -> dict[str, pd.Series]:
    """Target of each part for the units: its own in the catalog, else the target of the total."""
    total = targets.lookup(ds.catalog, total_id, unit_ids, year)
    index, fallback = pd.Index(total["unit_id"], name="unit_id"), total["target"].to_numpy()
    out = {}
    for p in family_parts(ds.catalog, total_id):  # on arrays: a frame indexed and aligned per part cost 5 ms a family
        own = targets.lookup(ds.catalog, p, unit_ids, year)["target"].to_numpy()
        out[p] = pd.Series(np.where(np.isnan(own), fallback, own), index=index, name="target")
    return out


def unit_parts(ds: Dataset, total_id: str, unit_id: str, year: int) -> pd.DataFrame:
    """One unit's year by part of a family (where it loses points, which factor is weak).

    Columns: indicator_id, value (% score), num (points), den (applicable maximum), lost (points
    short of the maximum, for points), peer_median, target, gap. Empty when the unit has no data.
    """
    cat = ds.catalog
    parts = family_parts(cat, total_id)
    same = peers(cat, unit_id)
    unit_targets = _part_targets(ds, total_id, year, [unit_id])
    s = stored_series(ds, parts, "year", same, (year, year)).dropna(subset=["value"])
    out = s[s["unit_id"] == unit_id].set_index("indicator_id").reindex(
        [p for p in parts if p in set(s.loc[s["unit_id"] == unit_id, "indicator_id"])]).reset_index()
    out["lost"] = out["den"] - out["num"]  # NaN unless the part is points (den is the applicable maximum)
    out["peer_median"] = out["indicator_id"].map(s.groupby("indicator_id")["value"].median())
    out["target"] = [unit_targets[p].iloc[0] for p in out["indicator_id"]]
    out = out[["indicator_id", "value", "num", "den", "lost", "peer_median", "target"]]
    out["gap"] = gap(out["value"], out["target"], cat.indicator(total_id)["direction"])
    return out


def rate_matrix(ds: Dataset, indicator_id: str, level: str | None, years: tuple[int, int],
                lang: str) -> pd.DataFrame:
    """Units × quarters of a rate, the worst unit over the whole span first.

    Index: unit_id; columns: name, then one per quarter. The order uses the span's own rate
    (a ratio of sums for a derived rate).
    """
    ind = ds.catalog.indicator(indicator_id)
    s = series(ds, indicator_id, "quarter", level_units(ds, level), years)
    if s.empty:
        return pd.DataFrame(columns=["name"])
    overall = aggregate(ind, s.dropna(subset=["value"]), ["unit_id"]).set_index("unit_id")["value"]
    wide = s.pivot(index="unit_id", columns="period", values="value").rename_axis(index="unit_id", columns=None)
    order = overall.reindex(wide.index).sort_values(ascending=ind["direction"] == "higher_better", na_position="last")
    wide = wide.loc[order.index]
    wide.insert(0, "name", unit_names(ds.catalog, lang).reindex(wide.index))
    return wide


def most_late(ds: Dataset, rate_id: str, period: periods.Period, level: str | None, lang: str,
              n: int = 10) -> pd.DataFrame:
    """The units with the most late dossiers in a period (a year or a quarter), most first.

    Columns: unit_id, name, num (the rate's numerator: late dossiers), den (its denominator:
    dossiers resolved), value (the rate).
    """
    grain = "year" if period.is_year else "quarter"
    s = series(ds, rate_id, grain, level_units(ds, level), (period.year, period.year))
    s = s[(s["period"] == str(period)) & (s["den"] > 0)]
    s = s.sort_values(["num", "unit_id"], ascending=[False, True]).head(n)
    s.insert(1, "name", s["unit_id"].map(unit_names(ds.catalog, lang)))
    return s[["unit_id", "name", "num", "den", "value"]].reset_index(drop=True)


def family_matrix(ds: Dataset, total_id: str, year: int, level: str | None, lang: str) -> pd.DataFrame:
    """Each unit's total and parts for a year (SIPAS overall and its 5 factors), best total first.

    Index: unit_id; columns: name, total_id, then one per part.
    """
    cat = ds.catalog
    ids = [total_id] + family_parts(cat, total_id)
    s = stored_series(ds, ids, "year", level_units(ds, level), (year, year))
    if s.empty:
        return pd.DataFrame(columns=["name", *ids])
    wide = s.pivot(index="unit_id", columns="indicator_id", values="value").reindex(columns=ids)
    wide = wide.sort_values(total_id, ascending=cat.indicator(total_id)["direction"] != "higher_better")
    wide.insert(0, "name", unit_names(cat, lang).reindex(wide.index))
    return wide.rename_axis(index="unit_id", columns=None)


def family_summary(ds: Dataset, total_id: str, year: int, level: str | None) -> pd.DataFrame:
    """Province-wide total and parts for a year against their targets.

    Columns: indicator_id, value (mean of units, rounded to its decimals), target (a part without its own target has the
    total's), gap, n_units, n_below (units short of their own target), n_expected (units of the
    level in office at the year's end).
    """
    cat = ds.catalog
    direction = cat.indicator(total_id)["direction"]
    units = level_units(ds, level)
    unit_targets = {total_id: targets.lookup(cat, total_id, units, year).set_index("unit_id")["target"],
               **_part_targets(ds, total_id, year, units)}
    general = targets.province(cat, total_id, year)[0]
    ids = [total_id] + family_parts(cat, total_id)
    values = stored_series(ds, ids, "year", units, (year, year)).dropna(subset=["value"])
    rows = []
    for i in ids:
        s = values[values["indicator_id"] == i]
        if s.empty:
            continue
        own_target = targets.province(cat, i, year)[0]
        rows.append({"indicator_id": i, "value": rounded(s["value"].mean(), cat.indicator(i)["decimals"]), "n_units": len(s),
                     "target": general if own_target is None else own_target,
                     "n_below": int((gap(s["value"], s["unit_id"].map(unit_targets[i]), direction) < 0).sum())})
    out = pd.DataFrame(rows, columns=["indicator_id", "value", "target", "n_units", "n_below"])
    out["n_expected"] = len(expected_units(cat, str(year), level))
    out["gap"] = rounded_column(gap(out["value"], out["target"], direction), cat.indicator(total_id)["decimals"])
    return out


def below_target_years(ds: Dataset, indicator_id: str, level: str | None, years: tuple[int, int],
                       lang: str) -> pd.DataFrame:
    """Units that missed their target in at least one year of the span, and for how long.

    Columns: unit_id, name, years_below, years_measured, streak (years below in a row up to the
    unit's last measured year), last_value, last_gap, below_years (e.g. '2019, 2021').
    Most years below first.
    """
    ind = ds.catalog.indicator(indicator_id)
    s = series(ds, indicator_id, "year", level_units(ds, level), years).dropna(subset=["value"])
    s["target"] = targets.lookup(ds.catalog, indicator_id, s["unit_id"], periods.years_of(s["period"]))["target"].to_numpy()
    s = s.dropna(subset=["target"])
    s["gap"] = gap(s["value"], s["target"], ind["direction"])
    s["below"] = s["gap"] < 0
    rows = []
    for uid, g in s.sort_values("period").groupby("unit_id"):
        if not g["below"].any():
            continue
        flags = g["below"].tolist()
        streak = next((i for i, below in enumerate(reversed(flags)) if not below), len(flags))
        rows.append({"unit_id": uid, "years_below": int(sum(flags)), "years_measured": len(flags),
                     "streak": streak, "last_value": g["value"].iloc[-1], "last_gap": g["gap"].iloc[-1],
                     "below_years": ", ".join(g.loc[g["below"], "period"])})
    out = pd.DataFrame(rows, columns=["unit_id", "years_below", "years_measured", "streak", "last_value",
                                      "last_gap", "below_years"])
    out.insert(1, "name", out["unit_id"].map(unit_names(ds.catalog, lang)))
    return out.sort_values(["years_below", "streak", "unit_id"], ascending=[False, False, True], ignore_index=True)


def unit_notes(ds: Dataset, unit_id: str) -> pd.DataFrame:
    """Notes on a unit's figures (and its predecessors'), latest period first:
    unit_id, indicator_id, period, note, created_by, data_version."""
    return ds.sql("""SELECT unit_id, indicator_id, period, note, created_by, data_version FROM notes
                     WHERE unit_id IN (SELECT unnest(?)) ORDER BY period DESC, created_at""",
                  [ds.catalog.lineage(unit_id)])
