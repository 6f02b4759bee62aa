"""Every number the dashboard shows, computed here with DuckDB over one data version.

Rules the province relies on:
- quarters roll up to years by each indicator's rule (sum, mean, first, last);
- a derived rate is a ratio of sums over units and periods, never a mean of rates;
- PAR INDEX points are shown as a percentage of the unit's applicable maximum;
- peers (same parent, same level) are ranked per period, ties share the best rank;
- a unit created by a merger is followed back through its predecessors (lineage).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from reformkpi import notes as notes_store
from reformkpi import periods
from reformkpi.catalog import Catalog
from reformkpi.store import OBSERVATIONS, Store, conform

class Dataset:
    """The observations of one data version with the catalog as it stood then, and the notes
    written on its figures up to that version."""

    def __init__(self, observations: pa.Table, catalog: Catalog, version: int | None = None,
                 notes: pd.DataFrame | None = None):
        self.version = version
        self.catalog = catalog
        self._con = duckdb.connect()
        notes_table = (notes_store.SCHEMA.empty_table() if notes is None
                       else pa.Table.from_pandas(notes, schema=notes_store.SCHEMA, preserve_index=False))
        # Tables, not registered views: registrations are not seen by the per-query cursors.
        for name, data in (("obs", conform(observations)), ("ind", catalog.indicators), ("units", catalog.units),
                           ("notes", notes_table)):
            self._con.register("_src", data)
            self._con.execute(f"CREATE TABLE {name} AS SELECT * FROM _src")
            self._con.unregister("_src")

    @classmethod
    def open(cls, store: Store, version: int | None = None,
             catalog_versions: tuple[int, ...] | None = None) -> Dataset:
        """A version of the observations with the catalog at the given versions (default: current)."""
        v = store.version() if version is None else version
        return cls(store.read(OBSERVATIONS, v), Catalog.from_tables(store.read_catalog(catalog_versions)), v,
                   notes_store.read(store, v))

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        # A cursor per query: Streamlit runs sessions on several threads.
        return self._con.cursor().execute(query, params or []).df()



def year_choices(ds: Dataset) -> tuple[list[int], int | None]:
    """Years with data, and the one to open on: the latest with yearly results (a complete year)."""
    df = ds.sql("SELECT CAST(substr(period, 1, 4) AS INTEGER) AS y, bool_or(length(period) = 4) AS yearly "
                "FROM obs GROUP BY y ORDER BY y")
    years = [int(y) for y in df["y"]]
    complete = df.loc[df["yearly"], "y"]
    return years, int(complete.max()) if len(complete) else (years[-1] if years else None)


def latest_quarter(ds: Dataset, year: int) -> str | None:
    """The last quarter of a year that has quarterly data (to say how far a running year goes)."""
    df = ds.sql("SELECT max(period) AS p FROM obs WHERE period LIKE ? || '-Q_'", [str(year)])
    return None if df.empty or pd.isna(df["p"].iloc[0]) else str(df["p"].iloc[0])


def stored_ids(cat: Catalog, indicator_id: str) -> list[str]:
    if cat.indicator(indicator_id)["rollup"] != "derived":
        return [indicator_id]
    num, den = cat.components(indicator_id)
    return sorted(set(num + den))


def _grain_expr(grain: str) -> str:
    """SQL for the period of `o` at a grain; data coarser than the grain keeps its own period."""
    if grain == "year":
        return "substr(o.period, 1, 4)"
    return ("CASE WHEN length(o.period) = 7 AND substr(o.period, 6, 1) <> 'Q' THEN substr(o.period, 1, 4) "
            "|| '-Q' || CAST((CAST(substr(o.period, 6, 2) AS INTEGER) + 2) // 3 AS VARCHAR) ELSE o.period END")


def _end_sql(period: str) -> str:
    """SQL for the last day of a period given as canonical text ('2019', '2019-Q3', '2019-07')."""
    y = f"CAST(substr({period}, 1, 4) AS INTEGER)"
    return (f"CASE WHEN length({period}) = 4 THEN make_date({y}, 12, 31) "
            f"WHEN substr({period}, 6, 1) = 'Q' THEN last_day(make_date({y}, 3 * CAST(substr({period}, 7, 1) AS INTEGER), 1)) "
            f"ELSE last_day(make_date({y}, CAST(substr({period}, 6, 2) AS INTEGER), 1)) END")


def grain_of(ds: Dataset, indicator_id: str, period: str) -> tuple[str, str]:
    """The grain to read an indicator at for a requested period, and that period at the grain."""
    ind = ds.catalog.indicator(indicator_id)
    freq, year, _ = periods.parse(period)
    if ind["frequency"] == "year" or freq == "year":
        return "year", str(year)
    return "quarter", period


def _rolled_sql(stored: list[str], grain: str, unit_ids: list[str] | None,
                years: tuple[int, int] | None) -> tuple[str, list]:
    """SQL (and its parameters) for stored indicators rolled up per unit and period at a grain.

    Filters run in DuckDB before anything reaches pandas: at national scale that is most of the work.
    """
    where, params = ["o.indicator_id IN (SELECT unnest(?))"], [list(stored)]
    if unit_ids is not None:
        where.append("o.unit_id IN (SELECT unnest(?))")
        params.append(list(unit_ids))
    if years is not None:
        where.append("o.period_start >= make_date(?, 1, 1) AND o.period_start < make_date(?, 1, 1)")
        params += [int(years[0]), int(years[1]) + 1]
    # A figure belongs to the units in office at the end of its period (at the grain read).
    where.append(f"""(u.active_from IS NULL OR u.active_from <= {_end_sql(_grain_expr(grain))})
        AND (u.active_to IS NULL OR u.active_to >= {_end_sql(_grain_expr(grain))})""")
    return f"""
        SELECT o.unit_id, o.indicator_id, {_grain_expr(grain)} AS period, count(*) AS n_periods,
          CASE any_value(i.rollup)
            WHEN 'sum' THEN sum(o.value) WHEN 'mean' THEN avg(o.value)
            WHEN 'first' THEN arg_min(o.value, o.period_start) ELSE arg_max(o.value, o.period_start) END AS value,
          arg_max(o.max_value, o.period_start) AS max_value
        FROM obs o JOIN ind i USING (indicator_id) JOIN units u ON u.unit_id = o.unit_id
        WHERE {' AND '.join(where)}
        GROUP BY ALL""", params


def series(ds: Dataset, indicator_id: str, grain: str = "year", unit_ids: list[str] | None = None,
           years: tuple[int, int] | None = None) -> pd.DataFrame:
    """Value of an indicator per unit and period at a grain.

    Columns: unit_id, period, value, num, den, n_periods. For a derived indicator num and den
    are the summed numerator and denominator (value = scale × num / den); for points, num is
    the points and den the applicable maximum (value is the percentage score).
    """
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    rolled, params = _rolled_sql(stored_ids(cat, indicator_id), grain, unit_ids, years)
    if ind["rollup"] == "derived":
        num, den = cat.components(indicator_id)
        query = f"""
            SELECT unit_id, period,
              sum(value) FILTER (WHERE indicator_id IN (SELECT unnest(?))) AS num,
              sum(value) FILTER (WHERE indicator_id IN (SELECT unnest(?))) AS den,
              max(n_periods) AS n_periods
            FROM ({rolled}) GROUP BY ALL"""
        df = ds.sql(query, [num, den or ["-"]] + params)
        if den:
            df["value"] = (ind["scale"] * df["num"] / df["den"].replace(0, np.nan)).round(ind["decimals"])
        else:
            df["value"], df["den"] = df["num"].round(ind["decimals"]), np.nan
    else:
        df = stored_series(ds, [indicator_id], grain, unit_ids, years)
    cols = ["unit_id", "period", "value", "num", "den", "n_periods"]
    return df[cols].sort_values(["unit_id", "period"], ignore_index=True)


def stored_series(ds: Dataset, indicator_ids: list[str], grain: str = "year", unit_ids: list[str] | None = None,
                  years: tuple[int, int] | None = None) -> pd.DataFrame:
    """`series` of several stored (not derived) indicators in one query, with an indicator_id column.

    One pass over the observations instead of one per indicator: the parts of a family (8
    PAR INDEX areas, 5 SIPAS factors) are read together.
    """
    rolled, params = _rolled_sql(indicator_ids, grain, unit_ids, years)
    df = ds.sql(rolled, params)
    ind = ds.catalog.indicators.set_index("indicator_id")
    points = df["indicator_id"].map(ind["measure"]).eq("points")
    df["num"] = df["value"]
    df["den"] = df["max_value"].where(points)
    df.loc[points, "value"] = 100 * df.loc[points, "num"] / df.loc[points, "den"]
    places = df["indicator_id"].map(ind["decimals"])
    for d in places.unique():
        df.loc[places == d, "value"] = df.loc[places == d, "value"].round(int(d))
    return df[["indicator_id", "unit_id", "period", "value", "num", "den", "n_periods"]].sort_values(
        ["indicator_id", "unit_id", "period"], ignore_index=True)


def _unit_aggregate(ind: pd.Series, df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Combine units: counts add up, rates are ratios of sums, scores are the mean of units (each
    as published); the result is rounded to the indicator's published decimals."""
    g = df.groupby(by, as_index=False)
    if ind["rollup"] == "derived" and ind["denominator"]:
        out = g.agg(num=("num", "sum"), den=("den", "sum"), n_units=("unit_id", "nunique"))
        out["value"] = ind["scale"] * out["num"] / out["den"].replace(0, np.nan)
    elif ind["measure"] == "count":
        out = g.agg(value=("value", "sum"), n_units=("unit_id", "nunique"))
    else:
        out = g.agg(value=("value", "mean"), n_units=("unit_id", "nunique"))
    out["value"] = out["value"].round(ind["decimals"])
    return out


def expected_units(cat: Catalog, period: str, level: str | None) -> list[str]:
    """The units expected to report for a period: those of the level in office at its end."""
    u = cat.active_units(period, level)
    return u.loc[u["level"] != "province", "unit_id"].tolist()


def level_units(ds: Dataset, level: str | None) -> list[str]:
    """Units of a level (all but the province itself when level is None)."""
    u = ds.catalog.units
    return u.loc[(u["level"] == level) if level else (u["level"] != "province"), "unit_id"].tolist()


def province_series(ds: Dataset, indicator_id: str, grain: str = "year", level: str | None = None,
                    years: tuple[int, int] | None = None) -> pd.DataFrame:
    """Province-wide value per period over the units of a level: period, value, n_units (units that
    reported), n_expected (units of the level in office at the period's end)."""
    ind = ds.catalog.indicator(indicator_id)
    df = series(ds, indicator_id, grain, level_units(ds, level), years)
    out = _unit_aggregate(ind, df.dropna(subset=["value"]), ["period"])
    out["n_expected"] = [len(expected_units(ds.catalog, p, level)) for p in out["period"]]
    return out[["period", "value", "n_units", "n_expected"]]


def _combine_lineage(ind: pd.Series, df: pd.DataFrame) -> pd.DataFrame:
    """The series of a lineage's units combined per period: period, value, units (contributing ids).

    Before a merger the predecessors are combined like units are province-wide (counts add,
    rates are ratios of sums, scores are averaged)."""
    out = _unit_aggregate(ind, df, ["period"])
    contributors = df.groupby("period")["unit_id"].agg(lambda s: ",".join(sorted(s))).rename("units")
    return out.merge(contributors, on="period")[["period", "value", "units"]]


def targets_for(ds: Dataset, indicator_id: str, year: int, unit_ids: list[str]) -> pd.DataFrame:
    """Target of each unit for a year: its own if the catalog names one, else the general one."""
    t = ds.catalog.targets
    t = t[(t["indicator_id"] == indicator_id) & (t["year_from"] <= year) & (t["year_to"] >= year)]
    own = t[t["unit_id"] != ""].drop_duplicates("unit_id").set_index("unit_id")
    out = pd.DataFrame({"unit_id": pd.Series(list(unit_ids), dtype=object)})
    out["target"] = out["unit_id"].map(own["value"]).astype(float)
    out["target_source"] = out["unit_id"].map(own["source"]).astype(object)
    value, source = province_target(ds.catalog, indicator_id, year)
    if value is not None:
        out["target"] = out["target"].fillna(value)
        out["target_source"] = out["target_source"].fillna(source)
    return out


def targets_over(cat: Catalog, indicator_id: str, unit_years: pd.DataFrame) -> pd.Series:
    """The target of each (unit_id, year) row, by the rule of targets_for, in one pass.

    The catalog's target rows are few; the rows asked for can be many (every unit, every year).
    """
    t = cat.targets[cat.targets["indicator_id"] == indicator_id]
    out = np.full(len(unit_years), np.nan)
    year, unit = unit_years["year"].to_numpy(), unit_years["unit_id"].to_numpy()
    # General rows first, then each unit's own; within each, the first matching row wins.
    for own in (False, True):
        rows = t[(t["unit_id"] != "") == own].iloc[::-1]
        for uid, first, last, value in zip(rows["unit_id"], rows["year_from"], rows["year_to"], rows["value"]):
            hit = (year >= first) & (year <= last) & ((unit == uid) if own else True)
            out[hit] = float(value)
    return pd.Series(out, index=unit_years.index)


def province_target(cat: Catalog, indicator_id: str, year: int) -> tuple[float | None, str]:
    """The target every unit has for a year unless the catalog names its own: (value, source)."""
    t = cat.targets
    t = t[(t["indicator_id"] == indicator_id) & (t["unit_id"] == "") & (t["year_from"] <= year) & (t["year_to"] >= year)]
    return (None, "") if t.empty else (float(t.iloc[0]["value"]), t.iloc[0]["source"])


def province_trend(ds: Dataset, indicator_id: str, level: str | None = None) -> pd.DataFrame:
    """Province-wide value by year with that year's target: period, value, n_units, n_expected,
    target, method_break (True where a new method starts: not comparable with the year before)."""
    out = province_series(ds, indicator_id, "year", level)
    out["target"] = [province_target(ds.catalog, indicator_id, int(p))[0] for p in out["period"]]
    out["method_break"] = out["period"].isin(ds.catalog.breaks(indicator_id))
    return out


def gap(value, target, direction: str):
    """Signed distance to the target, positive when the target is beaten whatever the direction."""
    return (value - target) if direction == "higher_better" else (target - value)


def complete_periods(ds: Dataset, indicator_id: str, df: pd.DataFrame, grain: str) -> pd.Series:
    """Whether each row of a series covers its whole period: a year of a quarterly indicator needs
    as many quarters as the units with most of them that year (so a running year is judged by the
    quarters it has so far). Yearly figures and figures at their own grain are complete."""
    if grain != "year" or ds.catalog.indicator(indicator_id)["frequency"] == "year" or df.empty:
        return pd.Series(True, index=df.index)
    return df["n_periods"] >= df.groupby("period")["n_periods"].transform("max")


def ranks(ds: Dataset, indicator_id: str, grain: str = "year", level: str | None = None,
          years: tuple[int, int] | None = None, incomplete: bool = False) -> pd.DataFrame:
    """Rank among peers (same parent and level) per period: unit_id, period, value, rank, n_peers, complete.

    Values are compared as published (rounded to the indicator's decimals), so units shown equal
    share the best rank. Only units with a complete period are ranked; with incomplete=True the
    others are listed too, unranked (rank <NA>, complete False).
    """
    ind = ds.catalog.indicator(indicator_id)
    df = series(ds, indicator_id, grain, level_units(ds, level), years).dropna(subset=["value"])
    df = df.merge(ds.catalog.units[["unit_id", "parent_id", "level"]], on="unit_id")
    df["complete"] = complete_periods(ds, indicator_id, df, grain)
    df["_key"] = (-df["value"] if ind["direction"] == "higher_better" else df["value"]).where(df["complete"])
    grp = df.groupby(["parent_id", "level", "period"])["_key"]
    df["rank"] = grp.rank(method="min").astype("Int64")
    df["n_peers"] = grp.transform("count").astype(int)
    if not incomplete:
        df = df[df["complete"]]
    return df[["unit_id", "period", "value", "rank", "n_peers", "complete"]].sort_values(
        ["period", "rank", "unit_id"], ignore_index=True, na_position="last")


def league_table(ds: Dataset, indicator_id: str, period: str, level: str, lang: str = "vi") -> pd.DataFrame:
    """One period's ranking of a level's units with value, target, gap, grade and rank change."""
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    grain, p = grain_of(ds, indicator_id, period)
    year = int(p[:4])
    prev = periods.previous(p)
    r = ranks(ds, indicator_id, grain, level, (int(prev[:4]), year), incomplete=True)
    cur = r[r["period"] == p].copy()
    before = r.loc[r["period"] == prev, ["unit_id", "rank", "value"]].rename(
        columns={"rank": "prev_rank", "value": "prev_value"})
    cur = cur.merge(before, on="unit_id", how="left")
    cur["rank_change"] = (cur["prev_rank"] - cur["rank"]).astype("Int64")
    cur["prev_rank"] = cur["prev_rank"].astype("Int64")
    # A change across a methodology break compares two methods: it is not shown.
    cur["change"] = (cur["value"] - cur["prev_value"]).round(ind["decimals"]) + 0.0  # + 0.0: no −0
    if cat.break_between(indicator_id, prev, p) is not None:
        cur["change"] = np.nan
    # New: the unit was not in office at the end of the previous period (not merely without a figure).
    cur["is_new"] = ~cur["unit_id"].isin(cat.active_units(prev)["unit_id"])
    cur = cur.merge(targets_for(ds, indicator_id, year, cur["unit_id"].tolist()), on="unit_id", how="left")
    cur["gap"] = gap(cur["value"], cur["target"], ind["direction"]).round(ind["decimals"])
    cur["meets_target"] = (cur["gap"] >= 0).where(cur["target"].notna())
    cur["grade"] = cat.grades(ind["family"], cur["value"])
    cur["grade_label"] = grade_labels(cat, ind["family"], cur["grade"], lang)
    names = cat.units[["unit_id", "name_vi", "name_en", "short_name_vi"]]
    cur = cur.merge(names, on="unit_id")
    cur["name"] = cur["name_vi"] if lang == "vi" else cur["name_en"]
    return cur.sort_values(["rank", "name"], ignore_index=True, na_position="last")[
        ["rank", "unit_id", "name", "short_name_vi", "value", "change", "target", "target_source", "gap",
         "meets_target", "grade", "grade_label", "prev_rank", "rank_change", "n_peers", "complete", "is_new"]]


def _changes(s: pd.Series) -> int:
    """How often consecutive values differ (no grade at all counts as no change)."""
    v = s.fillna("").to_numpy()
    return int((v[1:] != v[:-1]).sum())


def grade_labels(cat: Catalog, family: str, grades: pd.Series, lang: str = "vi") -> pd.Series:
    """The label of each grade id in the family's bands ('' for no grade)."""
    bands = cat.grade_bands[cat.grade_bands["family"] == family]
    labels = dict(zip(bands["grade_id"], bands["label_vi" if lang == "vi" else "label_en"]))
    return grades.map(lambda g: labels.get(g, "") if isinstance(g, str) else "").astype(object)


def rank_stability(ds: Dataset, indicator_id: str, level: str, years: tuple[int, int]) -> pd.DataFrame:
    """How stable a unit's ranking is over years: n_years, mean_rank, rank_sd, rank_range, grade_changes."""
    ind = ds.catalog.indicator(indicator_id)
    r = ranks(ds, indicator_id, "year", level, years).sort_values(["unit_id", "period"])
    r["grade"] = ds.catalog.grades(ind["family"], r["value"])
    out = r.groupby("unit_id").agg(
        n_years=("period", "size"), mean_rank=("rank", "mean"), rank_sd=("rank", lambda s: s.std(ddof=0)),
        best_rank=("rank", "min"), worst_rank=("rank", "max"),
        grade_changes=("grade", _changes))
    out["rank_range"] = out["worst_rank"] - out["best_rank"]
    return out.reset_index().sort_values(["rank_sd", "unit_id"], ascending=[False, True], ignore_index=True)


@dataclass(frozen=True)
class Kpi:
    """A headline figure: the province-wide value of an indicator for a period.

    `change` compares like with like: the units that reported in both periods, aggregated the
    same way in each (n_common of them). It is None when no unit reported in both, or when a
    methodology break (`method_break`, the period the new method starts) separates the periods.
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
    method_break: str | None = None


def kpi(ds: Dataset, indicator_id: str, period: str, level: str | None = None, lang: str = "vi") -> Kpi:
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    grain, p = grain_of(ds, indicator_id, period)
    prev = periods.previous(p)
    units = level_units(ds, level)
    s = series(ds, indicator_id, grain, units, (int(prev[:4]), int(p[:4]))).dropna(subset=["value"])
    s = s[s["period"].isin([p, prev])]
    prov = _unit_aggregate(ind, s, ["period"]).set_index("period")
    value = _opt(prov["value"].get(p))
    previous = _opt(prov["value"].get(prev))
    common = set(s.loc[s["period"] == p, "unit_id"]) & set(s.loc[s["period"] == prev, "unit_id"])
    same = _unit_aggregate(ind, s[s["unit_id"].isin(common)], ["period"]).set_index("period")["value"]
    method_break = cat.break_between(indicator_id, prev, p)
    change = None
    if common and method_break is None:
        change = round(float(same[p]) - float(same[prev]), int(ind["decimals"])) + 0.0  # + 0.0: no −0
    target, target_source = province_target(cat, indicator_id, int(p[:4]))
    g = round(gap(value, target, ind["direction"]), int(ind["decimals"])) if value is not None and target is not None else None
    cur = s[s["period"] == p].merge(targets_for(ds, indicator_id, int(p[:4]), units), on="unit_id")
    below = int((gap(cur["value"], cur["target"], ind["direction"]).round(int(ind["decimals"])) < 0).sum())
    return Kpi(indicator_id, p, value, previous, change, target, target_source, g,
               None if g is None else bool(g >= 0), int(prov["n_units"].get(p, 0)), below,
               cat.formula_text(indicator_id, lang), len(expected_units(cat, p, level)), len(common), method_break)


def _opt(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


# --- Leadership views: one unit's profile, rankings over years, dossiers, satisfaction ---


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


def unit_history(ds: Dataset, unit_id: str, indicator_ids: tuple[str, ...], grain: str = "year") -> pd.DataFrame:
    """A unit's indicators over time (through its lineage) against its target and its peers' median.

    Columns: indicator_id, period, value, units (contributing ids), peer_median, target, gap, meets_target.
    The peers' median is over the units of the same parent and level that have a value that period.
    """
    cat = ds.catalog
    lineage, same = cat.lineage(unit_id), peers(cat, unit_id)
    frames = []
    for indicator_id in indicator_ids:
        ind = cat.indicator(indicator_id)
        # One read for the unit's lineage and its peers (usually the lineage is among the peers).
        both = series(ds, indicator_id, grain, sorted(set(lineage) | set(same))).dropna(subset=["value"])
        own = _combine_lineage(ind, both[both["unit_id"].isin(lineage)])
        if own.empty:
            continue
        peer = both[both["unit_id"].isin(same)]
        own = own.merge(peer.groupby("period", as_index=False)["value"].median()
                        .rename(columns={"value": "peer_median"}), on="period", how="left")
        own["target"] = targets_over(cat, indicator_id, pd.DataFrame(
            {"unit_id": unit_id, "year": own["period"].str[:4].astype(int)}))
        own["gap"] = gap(own["value"], own["target"], ind["direction"])
        own["meets_target"] = (own["gap"] >= 0).where(own["target"].notna())
        own.insert(0, "indicator_id", indicator_id)
        frames.append(own)
    cols = ["indicator_id", "period", "value", "units", "peer_median", "target", "gap", "meets_target"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def family_parts(cat: Catalog, total_id: str) -> list[str]:
    """The parts of a family's total (PAR INDEX areas, SIPAS factors): its unranked indicators."""
    ind = cat.indicators
    fam = cat.indicator(total_id)["family"]
    return ind.loc[(ind["family"] == fam) & ~ind["ranked"] & (ind["indicator_id"] != total_id), "indicator_id"].tolist()


def _part_targets(ds: Dataset, total_id: str, year: int, unit_ids: list[str]) -> dict[str, pd.Series]:
    """Target of each part for the units: its own in the catalog, else the target of the total."""
    grid = pd.DataFrame({"unit_id": list(unit_ids), "year": year})
    fallback = targets_over(ds.catalog, total_id, grid).set_axis(grid["unit_id"])
    return {p: targets_over(ds.catalog, p, grid).set_axis(grid["unit_id"]).fillna(fallback)
            for p in family_parts(ds.catalog, total_id)}


def unit_parts(ds: Dataset, total_id: str, unit_id: str, year: int) -> pd.DataFrame:
    """One unit's year by part of a family (where it loses points, which factor is weak).

    Columns: indicator_id, value (% score), num (points), den (applicable maximum), lost (points
    short of the maximum, for points), peer_median, target, gap. Empty when the unit has no data.
    """
    cat = ds.catalog
    parts = family_parts(cat, total_id)
    same = peers(cat, unit_id)
    targets = _part_targets(ds, total_id, year, [unit_id])
    s = stored_series(ds, parts, "year", same, (year, year)).dropna(subset=["value"])
    out = s[s["unit_id"] == unit_id].set_index("indicator_id").reindex(
        [p for p in parts if p in set(s.loc[s["unit_id"] == unit_id, "indicator_id"])]).reset_index()
    out["lost"] = out["den"] - out["num"]  # NaN unless the part is points (den is the applicable maximum)
    out["peer_median"] = out["indicator_id"].map(s.groupby("indicator_id")["value"].median())
    out["target"] = [targets[p].iloc[0] for p in out["indicator_id"]]
    out = out[["indicator_id", "value", "num", "den", "lost", "peer_median", "target"]]
    out["gap"] = gap(out["value"], out["target"], cat.indicator(total_id)["direction"])
    return out


def rank_history(ds: Dataset, indicator_id: str, unit_id: str, lang: str = "vi") -> pd.DataFrame:
    """Rank and grade of a unit (and of its predecessors before a merger) per year among its peers.

    Columns: unit_id, period, value, rank, n_peers, grade, grade_label.
    """
    cat = ds.catalog
    fam = cat.indicator(indicator_id)["family"]
    r = ranks(ds, indicator_id, "year", cat.unit(unit_id)["level"])
    r = r[r["unit_id"].isin(cat.lineage(unit_id))].sort_values(["unit_id", "period"], ignore_index=True)
    r["grade"] = cat.grades(fam, r["value"])
    r["grade_label"] = grade_labels(cat, fam, r["grade"], lang)
    return r


def grade_order(cat: Catalog, family: str) -> pd.DataFrame:
    """A family's grade bands, best first (the floor band last)."""
    b = cat.grade_bands[cat.grade_bands["family"] == family]
    return b.sort_values("min_value", ascending=False, na_position="last", ignore_index=True)


def grade_counts(ds: Dataset, indicator_id: str, level: str | None, years: tuple[int, int],
                 lang: str = "vi") -> pd.DataFrame:
    """Units per grade band per year, every band present (zero when empty): period, grade, grade_label, n."""
    cat = ds.catalog
    fam = cat.indicator(indicator_id)["family"]
    s = series(ds, indicator_id, "year", level_units(ds, level), years).dropna(subset=["value"])
    s["grade"] = cat.grades(fam, s["value"])
    bands = grade_order(cat, fam)
    grid = pd.MultiIndex.from_product([sorted(s["period"].unique()), bands["grade_id"]], names=["period", "grade"])
    out = s.groupby(["period", "grade"]).size().reindex(grid, fill_value=0).rename("n").reset_index()
    out["grade_label"] = grade_labels(cat, fam, out["grade"], lang)
    return out[["period", "grade", "grade_label", "n"]]


def dossier_flow(ds: Dataset, unit_ids: list[str], grain: str = "quarter", years: tuple[int, int] | None = None,
                 by_unit: bool = False) -> pd.DataFrame:
    """Every dossier indicator per period (and per unit), summed over the units, in one query.

    Counts add up over units; each derived rate is then the catalog's formula over the summed
    counts (a ratio of sums). Columns: [unit_id,] period, one column per dossier indicator id.
    """
    cat = ds.catalog
    fam = cat.indicators[cat.indicators["family"] == "dossiers"]
    stored = fam.loc[fam["rollup"] != "derived", "indicator_id"].tolist()
    keys = ["unit_id", "period"] if by_unit else ["period"]
    query, params = _rolled_sql(stored, grain, unit_ids, years)
    df = ds.sql(f"SELECT {', '.join(keys)}, indicator_id, sum(value) AS value FROM ({query}) GROUP BY ALL", params)
    wide = (df.pivot_table(index=keys, columns="indicator_id", values="value", aggfunc="sum")
            .reindex(columns=stored).reset_index().rename_axis(columns=None))
    for _, d in fam[fam["rollup"] == "derived"].iterrows():
        num, den = cat.components(d["indicator_id"])
        total = wide[num].sum(axis=1)
        rate = d["scale"] * total / wide[den].sum(axis=1).replace(0, np.nan) if den else total
        wide[d["indicator_id"]] = rate.round(d["decimals"])
    return wide.sort_values(keys, ignore_index=True)


def unit_names(cat: Catalog, lang: str) -> pd.Series:
    """Each unit's name in the interface language, by unit_id."""
    return cat.units.set_index("unit_id")["name_vi" if lang == "vi" else "name_en"]


def rate_matrix(ds: Dataset, indicator_id: str, level: str | None, years: tuple[int, int],
                lang: str = "vi") -> pd.DataFrame:
    """Units × quarters of a rate, the worst unit over the whole span first.

    Index: unit_id; columns: name, then one per quarter. The order uses the span's own rate
    (a ratio of sums for a derived rate).
    """
    ind = ds.catalog.indicator(indicator_id)
    s = series(ds, indicator_id, "quarter", level_units(ds, level), years)
    if s.empty:
        return pd.DataFrame(columns=["name"])
    overall = _unit_aggregate(ind, s.dropna(subset=["value"]), ["unit_id"]).set_index("unit_id")["value"]
    wide = s.pivot(index="unit_id", columns="period", values="value").rename_axis(index="unit_id", columns=None)
    order = overall.reindex(wide.index).sort_values(ascending=ind["direction"] == "higher_better", na_position="last")
    wide = wide.loc[order.index]
    wide.insert(0, "name", unit_names(ds.catalog, lang).reindex(wide.index))
    return wide


def most_late(ds: Dataset, rate_id: str, period: str, level: str | None, lang: str = "vi",
              n: int = 10) -> pd.DataFrame:
    """The units with the most late dossiers in a period (a year or a quarter), most first.

    Columns: unit_id, name, num (the rate's numerator: late dossiers), den (its denominator:
    dossiers resolved), value (the rate).
    """
    grain = "year" if periods.frequency(period) == "year" else "quarter"
    year = int(period[:4])
    s = series(ds, rate_id, grain, level_units(ds, level), (year, year))
    s = s[(s["period"] == period) & (s["den"] > 0)]
    s = s.sort_values(["num", "unit_id"], ascending=[False, True]).head(n)
    s.insert(1, "name", s["unit_id"].map(unit_names(ds.catalog, lang)))
    return s[["unit_id", "name", "num", "den", "value"]].reset_index(drop=True)


def family_matrix(ds: Dataset, total_id: str, year: int, level: str | None, lang: str = "vi") -> pd.DataFrame:
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

    Columns: indicator_id, value (mean of units), target (a part without its own target has the
    total's), gap, n_units, n_below (units short of their own target).
    """
    cat = ds.catalog
    direction = cat.indicator(total_id)["direction"]
    units = level_units(ds, level)
    targets = {total_id: targets_for(ds, total_id, year, units).set_index("unit_id")["target"],
               **_part_targets(ds, total_id, year, units)}
    general = province_target(cat, total_id, year)[0]
    ids = [total_id] + family_parts(cat, total_id)
    values = stored_series(ds, ids, "year", units, (year, year)).dropna(subset=["value"])
    rows = []
    for i in ids:
        s = values[values["indicator_id"] == i]
        if s.empty:
            continue
        own_target = province_target(cat, i, year)[0]
        rows.append({"indicator_id": i, "value": s["value"].mean(), "n_units": len(s),
                     "target": general if own_target is None else own_target,
                     "n_below": int((gap(s["value"], s["unit_id"].map(targets[i]), direction) < 0).sum())})
    out = pd.DataFrame(rows, columns=["indicator_id", "value", "target", "n_units", "n_below"])
    out["gap"] = gap(out["value"], out["target"], direction)
    return out


def below_target_years(ds: Dataset, indicator_id: str, level: str | None, years: tuple[int, int],
                       lang: str = "vi") -> pd.DataFrame:
    """Units that missed their target in at least one year of the span, and for how long.

    Columns: unit_id, name, years_below, years_measured, streak (years below in a row up to the
    unit's last measured year), last_value, last_gap, below_years (e.g. '2019, 2021').
    Most years below first.
    """
    ind = ds.catalog.indicator(indicator_id)
    s = series(ds, indicator_id, "year", level_units(ds, level), years).dropna(subset=["value"])
    s["target"] = targets_over(ds.catalog, indicator_id, s.assign(year=s["period"].str[:4].astype(int)))
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


def province_flow(ds: Dataset, level: str | None, years: tuple[int, int] | None = None,
                  grain: str = "quarter") -> pd.DataFrame:
    """Every dossier indicator per period over the units of a level (see dossier_flow)."""
    return dossier_flow(ds, level_units(ds, level), grain, years)


def period_targets(cat: Catalog, indicator_id: str, period_list) -> list[float | None]:
    """The province-wide target in force in each period (targets are set per year)."""
    return [province_target(cat, indicator_id, int(str(p)[:4]))[0] for p in period_list]


def unit_periods(ds: Dataset, unit_id: str, indicator_id: str) -> list[str]:
    """The periods (at the indicator's own frequency) for which a unit has the indicator, latest first."""
    grain = "year" if ds.catalog.indicator(indicator_id)["frequency"] == "year" else "quarter"
    s = series(ds, indicator_id, grain, [unit_id]).dropna(subset=["value"])
    return sorted(s["period"].unique(), reverse=True)


def unit_notes(ds: Dataset, unit_id: str) -> pd.DataFrame:
    """Notes on a unit's figures (and its predecessors'), latest period first:
    unit_id, indicator_id, period, note, created_by, data_version."""
    return ds.sql("""SELECT unit_id, indicator_id, period, note, created_by, data_version FROM notes
                     WHERE unit_id IN (SELECT unnest(?)) ORDER BY period DESC, created_at""",
                  [ds.catalog.lineage(unit_id)])
