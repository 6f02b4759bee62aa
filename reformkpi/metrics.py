"""Every number the dashboard shows, computed here with DuckDB over one data version.

Rules the province relies on:
- quarters roll up to years by each indicator's rule (sum, mean, first, last);
- a derived rate is a ratio of sums over units and periods, never a mean of rates;
- PAR INDEX points are shown as a percentage of the unit's applicable maximum;
- peers (same parent, same level) are ranked per period, ties share the best rank;
- a unit created by a merger is followed back through its predecessors (lineage).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from reformkpi import periods
from reformkpi.catalog import Catalog
from reformkpi.store import OBSERVATIONS, Store, conform

RANK_DECIMALS = 4  # values equal to this many decimals tie


class Dataset:
    """The observations of one data version with the catalog as it stood then."""

    def __init__(self, observations: pa.Table, catalog: Catalog, version: int | None = None):
        self.version = version
        self.catalog = catalog
        self._con = duckdb.connect()
        # Tables, not registered views: registrations are not seen by the per-query cursors.
        for name, data in (("obs", conform(observations)), ("ind", catalog.indicators), ("units", catalog.units)):
            self._con.register("_src", data)
            self._con.execute(f"CREATE TABLE {name} AS SELECT * FROM _src")
            self._con.unregister("_src")

    @classmethod
    def open(cls, store: Store, version: int | None = None,
             catalog_versions: tuple[int, ...] | None = None) -> Dataset:
        """A version of the observations with the catalog at the given versions (default: current)."""
        v = store.version() if version is None else version
        return cls(store.read(OBSERVATIONS, v), Catalog.from_tables(store.read_catalog(catalog_versions)), v)

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


def _stored_ids(cat: Catalog, indicator_id: str) -> list[str]:
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


def grain_of(ds: Dataset, indicator_id: str, period: str) -> tuple[str, str]:
    """The grain to read an indicator at for a requested period, and that period at the grain."""
    ind = ds.catalog.indicator(indicator_id)
    freq, year, _ = periods.parse(period)
    if ind["frequency"] == "year" or freq == "year":
        return "year", str(year)
    return "quarter", period


def series(ds: Dataset, indicator_id: str, grain: str = "year", unit_ids: list[str] | None = None,
           years: tuple[int, int] | None = None) -> pd.DataFrame:
    """Value of an indicator per unit and period at a grain.

    Columns: unit_id, period, value, num, den, n_periods. For a derived indicator num and den
    are the summed numerator and denominator (value = scale × num / den); for points, num is
    the points and den the applicable maximum (value is the percentage score).
    """
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    stored = _stored_ids(cat, indicator_id)
    where, params = ["o.indicator_id IN (SELECT unnest(?))"], [stored]
    if unit_ids is not None:
        where.append("o.unit_id IN (SELECT unnest(?))")
        params.append(list(unit_ids))
    if years is not None:
        where.append("o.period_start >= make_date(?, 1, 1) AND o.period_start < make_date(?, 1, 1)")
        params += [int(years[0]), int(years[1]) + 1]
    rolled = f"""
        SELECT o.unit_id, o.indicator_id, {_grain_expr(grain)} AS period, count(*) AS n_periods,
          CASE any_value(i.rollup)
            WHEN 'sum' THEN sum(o.value) WHEN 'mean' THEN avg(o.value)
            WHEN 'first' THEN arg_min(o.value, o.period_start) ELSE arg_max(o.value, o.period_start) END AS value,
          arg_max(o.max_value, o.period_start) AS max_value
        FROM obs o JOIN ind i USING (indicator_id)
        WHERE {' AND '.join(where)}
        GROUP BY ALL"""
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
            df["value"] = ind["scale"] * df["num"] / df["den"].replace(0, np.nan)
        else:
            df["value"], df["den"] = df["num"], np.nan
    else:
        df = ds.sql(rolled, params)
        if ind["measure"] == "points":
            df["num"], df["den"] = df["value"], df["max_value"]
            df["value"] = (100 * df["num"] / df["den"]).round(2)
        else:
            df["num"], df["den"] = df["value"], np.nan
    cols = ["unit_id", "period", "value", "num", "den", "n_periods"]
    return df[cols].sort_values(["unit_id", "period"], ignore_index=True)


def _unit_aggregate(ind: pd.Series, df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Combine units: counts add up, rates are ratios of sums, scores are the mean of units."""
    g = df.groupby(by, as_index=False)
    if ind["rollup"] == "derived" and ind["denominator"]:
        out = g.agg(num=("num", "sum"), den=("den", "sum"), n_units=("unit_id", "nunique"))
        out["value"] = ind["scale"] * out["num"] / out["den"].replace(0, np.nan)
    elif ind["measure"] == "count":
        out = g.agg(value=("value", "sum"), n_units=("unit_id", "nunique"))
    else:
        out = g.agg(value=("value", "mean"), n_units=("unit_id", "nunique"))
    return out


def level_units(ds: Dataset, level: str | None) -> list[str]:
    """Units of a level (all but the province itself when level is None)."""
    u = ds.catalog.units
    return u.loc[(u["level"] == level) if level else (u["level"] != "province"), "unit_id"].tolist()


def province_series(ds: Dataset, indicator_id: str, grain: str = "year", level: str | None = None,
                    years: tuple[int, int] | None = None) -> pd.DataFrame:
    """Province-wide value per period over the units of a level: period, value, n_units."""
    ind = ds.catalog.indicator(indicator_id)
    df = series(ds, indicator_id, grain, level_units(ds, level), years)
    out = _unit_aggregate(ind, df.dropna(subset=["value"]), ["period"])
    return out[["period", "value", "n_units"]]


def lineage_series(ds: Dataset, indicator_id: str, unit_id: str, grain: str = "year") -> pd.DataFrame:
    """A unit's series followed back through the units merged into it.

    Before a merger the predecessors are combined like units are province-wide (counts add,
    rates are ratios of sums, scores are averaged). Columns: period, value, units (ids that
    contributed, comma-separated).
    """
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    df = series(ds, indicator_id, grain, cat.lineage(unit_id)).dropna(subset=["value"])
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


def province_target(cat: Catalog, indicator_id: str, year: int) -> tuple[float | None, str]:
    """The target every unit has for a year unless the catalog names its own: (value, source)."""
    t = cat.targets
    t = t[(t["indicator_id"] == indicator_id) & (t["unit_id"] == "") & (t["year_from"] <= year) & (t["year_to"] >= year)]
    return (None, "") if t.empty else (float(t.iloc[0]["value"]), t.iloc[0]["source"])


def province_trend(ds: Dataset, indicator_id: str, level: str | None = None) -> pd.DataFrame:
    """Province-wide value by year with that year's target: period, value, n_units, target."""
    out = province_series(ds, indicator_id, "year", level)
    out["target"] = [province_target(ds.catalog, indicator_id, int(p))[0] for p in out["period"]]
    return out


def gap(value, target, direction: str):
    """Signed distance to the target, positive when the target is beaten whatever the direction."""
    return (value - target) if direction == "higher_better" else (target - value)


def ranks(ds: Dataset, indicator_id: str, grain: str = "year", level: str | None = None,
          years: tuple[int, int] | None = None) -> pd.DataFrame:
    """Rank among peers (same parent and level) per period: unit_id, period, value, rank, n_peers."""
    ind = ds.catalog.indicator(indicator_id)
    df = series(ds, indicator_id, grain, level_units(ds, level), years).dropna(subset=["value"])
    df = df.merge(ds.catalog.units[["unit_id", "parent_id", "level"]], on="unit_id")
    key = df["value"].round(RANK_DECIMALS)
    df["_key"] = -key if ind["direction"] == "higher_better" else key
    grp = df.groupby(["parent_id", "level", "period"])["_key"]
    df["rank"] = grp.rank(method="min").astype(int)
    df["n_peers"] = grp.transform("size").astype(int)
    return df[["unit_id", "period", "value", "rank", "n_peers"]].sort_values(["period", "rank", "unit_id"], ignore_index=True)


def league_table(ds: Dataset, indicator_id: str, period: str, level: str, lang: str = "vi") -> pd.DataFrame:
    """One period's ranking of a level's units with value, target, gap, grade and rank change."""
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    grain, p = grain_of(ds, indicator_id, period)
    year = int(p[:4])
    prev = periods.previous(p)
    r = ranks(ds, indicator_id, grain, level, (int(prev[:4]), year))
    cur = r[r["period"] == p].copy()
    before = r.loc[r["period"] == prev, ["unit_id", "rank", "value"]].rename(
        columns={"rank": "prev_rank", "value": "prev_value"})
    cur = cur.merge(before, on="unit_id", how="left")
    cur["rank_change"] = (cur["prev_rank"] - cur["rank"]).astype("Int64")
    cur["prev_rank"] = cur["prev_rank"].astype("Int64")
    cur["change"] = cur["value"] - cur["prev_value"]
    cur = cur.merge(targets_for(ds, indicator_id, year, cur["unit_id"].tolist()), on="unit_id", how="left")
    cur["gap"] = gap(cur["value"], cur["target"], ind["direction"])
    cur["meets_target"] = (cur["gap"] >= 0).where(cur["target"].notna())
    cur["grade"] = cat.grades(ind["family"], cur["value"])
    cur["grade_label"] = cur["grade"].map(lambda g: cat.grade_label(ind["family"], g, lang))
    names = cat.units[["unit_id", "name_vi", "name_en", "short_name_vi"]]
    cur = cur.merge(names, on="unit_id")
    cur["name"] = cur["name_vi"] if lang == "vi" else cur["name_en"]
    return cur.sort_values(["rank", "name"], ignore_index=True)[
        ["rank", "unit_id", "name", "short_name_vi", "value", "change", "target", "target_source", "gap",
         "meets_target", "grade", "grade_label", "prev_rank", "rank_change", "n_peers"]]


def rank_stability(ds: Dataset, indicator_id: str, level: str, years: tuple[int, int]) -> pd.DataFrame:
    """How stable a unit's ranking is over years: n_years, mean_rank, rank_sd, rank_range, grade_changes."""
    ind = ds.catalog.indicator(indicator_id)
    r = ranks(ds, indicator_id, "year", level, years).sort_values(["unit_id", "period"])
    r["grade"] = ds.catalog.grades(ind["family"], r["value"])
    out = r.groupby("unit_id").agg(
        n_years=("period", "size"), mean_rank=("rank", "mean"), rank_sd=("rank", lambda s: s.std(ddof=0)),
        best_rank=("rank", "min"), worst_rank=("rank", "max"),
        grade_changes=("grade", lambda s: int((s.to_numpy()[1:] != s.to_numpy()[:-1]).sum())))
    out["rank_range"] = out["worst_rank"] - out["best_rank"]
    return out.reset_index().sort_values(["rank_sd", "unit_id"], ascending=[False, True], ignore_index=True)


@dataclass(frozen=True)
class Kpi:
    """A headline figure: the province-wide value of an indicator for a period."""

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


def kpi(ds: Dataset, indicator_id: str, period: str, level: str | None = None, lang: str = "vi") -> Kpi:
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    grain, p = grain_of(ds, indicator_id, period)
    prev = periods.previous(p)
    prov = province_series(ds, indicator_id, grain, level, (int(prev[:4]), int(p[:4]))).set_index("period")
    value = _opt(prov["value"].get(p))
    previous = _opt(prov["value"].get(prev))
    target, target_source = province_target(cat, indicator_id, int(p[:4]))
    g = gap(value, target, ind["direction"]) if value is not None and target is not None else None
    units = level_units(ds, level)
    cur = series(ds, indicator_id, grain, units, (int(p[:4]), int(p[:4])))
    cur = cur[cur["period"] == p].merge(targets_for(ds, indicator_id, int(p[:4]), units), on="unit_id")
    below = int((gap(cur["value"], cur["target"], ind["direction"]) < 0).sum())
    return Kpi(indicator_id, p, value, previous,
               None if value is None or previous is None else value - previous,
               target, target_source, g,
               None if g is None else bool(g >= 0), int(prov["n_units"].get(p, 0)), below,
               cat.formula_text(indicator_id, lang))


def _opt(x) -> float | None:
    return None if x is None or pd.isna(x) else float(x)
