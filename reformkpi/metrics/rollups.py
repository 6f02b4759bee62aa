"""Series and roll-ups: an indicator per unit and period at a grain, and units combined.

- quarters roll up to years by each indicator's rule (sum, mean, first, last);
- a derived rate is a ratio of sums over units and periods, never a mean of rates;
- PAR INDEX points are shown as a percentage of the unit's applicable maximum;
- a unit created by a merger is followed back through its predecessors (lineage);
- only units in office at the end of a period are read for it, and an aggregate says how many
  of those it covers (n_units of n_expected).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reformkpi import periods
from reformkpi.formatting import rounded_column
from reformkpi.catalog import Catalog
from reformkpi.coverage import expected_units
from reformkpi.metrics.datasets import Dataset


def grain_sql(grain: str) -> str:
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


def stored_ids(cat: Catalog, indicator_id: str) -> list[str]:
    if cat.indicator(indicator_id)["rollup"] != "derived":
        return [indicator_id]
    num, den = cat.components(indicator_id)
    return sorted(set(num + den))


def grain_of(ds: Dataset, indicator_id: str, period: periods.Period) -> tuple[str, periods.Period]:
    """The grain to read an indicator at for a requested period, and that period at the grain."""
    ind = ds.catalog.indicator(indicator_id)
    if ind["frequency"] == "year" or period.is_year:
        return "year", period.year_of()
    return "quarter", period


def _rolled_sql(stored: list[str], grain: str, unit_ids: list[str] | None,
                years: tuple[int, int] | None, months: tuple[int, int] | None = None) -> tuple[str, list]:
    """SQL (and its parameters) for stored indicators rolled up per unit and period at a grain;
    with `months` (first, last), only the observations within those months of each year.

    Filters run in DuckDB before anything reaches pandas: at national scale that is most of the work.
    """
    where = ["o.indicator_id IN (SELECT unnest(?))"]
    params: list[object] = [list(stored)]
    if unit_ids is not None:
        where.append("o.unit_id IN (SELECT unnest(?))")
        params.append(list(unit_ids))
    if years is not None:
        where.append("o.period_start >= make_date(?, 1, 1) AND o.period_start < make_date(?, 1, 1)")
        params += [int(years[0]), int(years[1]) + 1]
    if months is not None:
        where.append(f"month(o.period_start) >= ? AND month({_end_sql('o.period')}) <= ?")
        params += [int(months[0]), int(months[1])]
    # A figure belongs to the units in office at the end of its period (at the grain read). Every
    # row of a group has the group's unit and period, so the rule is applied to the groups: as a
    # condition of the join with the observations it kept DuckDB from narrowing the scan first.
    return f"""
        SELECT r.* FROM (
          SELECT o.unit_id, o.indicator_id, {grain_sql(grain)} AS period, count(*) AS n_periods,
            CASE any_value(i.rollup)
              WHEN 'sum' THEN sum(o.value) WHEN 'mean' THEN avg(o.value)
              WHEN 'first' THEN arg_min(o.value, o.period_start) ELSE arg_max(o.value, o.period_start) END AS value,
            arg_max(o.max_value, o.period_start) AS max_value
          FROM obs o JOIN ind i USING (indicator_id)
          WHERE {' AND '.join(where)}
          GROUP BY ALL) r
        JOIN units u ON u.unit_id = r.unit_id
        WHERE (u.active_from IS NULL OR u.active_from <= {_end_sql("r.period")})
          AND (u.active_to IS NULL OR u.active_to >= {_end_sql("r.period")})""", params


SERIES_COLUMNS = ["unit_id", "period", "value", "num", "den", "n_periods"]


def series(ds: Dataset, indicator_id: str, grain: str = "year", unit_ids: list[str] | None = None,
           years: tuple[int, int] | None = None, months: tuple[int, int] | None = None) -> pd.DataFrame:
    """Value of an indicator per unit and period at a grain (remembered by the dataset); with
    `months`, each year over those months only (a partial year and the same months of another).

    Columns: unit_id, period, value, num, den, n_periods. For a derived indicator num and den
    are the summed numerator and denominator (value = scale × num / den); for points, num is
    the points and den the applicable maximum (value is the percentage score).
    """
    return ds.remember(_series, indicator_id, grain, *_read_key(unit_ids, years, months))


def _read_key(unit_ids: list[str] | None, years: tuple[int, int] | None, months: tuple[int, int] | None) -> tuple:
    return ((None if unit_ids is None else tuple(unit_ids)), (None if years is None else (int(years[0]), int(years[1]))),
            (None if months is None else (int(months[0]), int(months[1]))))


def _series(ds: Dataset, indicator_id: str, grain: str, unit_ids: tuple[str, ...] | None,
            years: tuple[int, int] | None, months: tuple[int, int] | None) -> pd.DataFrame:
    return _series_together(ds, [indicator_id], grain, unit_ids, years, months)[indicator_id]


def read_together(ds: Dataset, indicator_ids: list[str] | tuple[str, ...], grain: str = "year",
                  unit_ids: list[str] | None = None, years: tuple[int, int] | None = None,
                  months: tuple[int, int] | None = None) -> None:
    """Read the series of several indicators in one pass over the observations, each then
    remembered as `series` gives it: a page that compares indicators (the Overview's attention
    list, a unit's year and history) asks for them one by one, and each pass over the
    observations costs as much as reading them all."""
    key = (grain, *_read_key(unit_ids, years, months))
    missing = [i for i in dict.fromkeys(indicator_ids) if not ds.knows(_series, i, *key)]
    if len(missing) > 1:
        for indicator_id, df in _series_together(ds, missing, *key).items():
            if len(df):  # an empty one is left to be read alone: typed as DuckDB types an empty answer
                ds.keep(df, _series, indicator_id, *key)


def reported_months(ds: Dataset, indicator_id: str) -> dict[int, tuple[int, int]]:
    """The months each year's observations of an indicator cover, over every unit: {year: (first
    month, last month)} ((1, 9) for a year whose quarterly data stop after the third quarter)."""
    spans = ds.remember(_months_by_indicator)
    out: dict[int, tuple[int, int]] = {}
    for stored in stored_ids(ds.catalog, indicator_id):  # a derived indicator: over its components' rows
        for year, (first, last) in spans.get(stored, {}).items():
            a, b = out.get(year, (first, last))
            out[year] = (min(a, first), max(b, last))
    return out


def _months_by_indicator(ds: Dataset) -> dict[str, dict[int, tuple[int, int]]]:
    """`reported_months` of every stored indicator, from one pass over the observations (one
    pass per indicator cost three times as much for the three a page compares: 93 -> 32 ms of
    CPU at national scale). Each period's end is worked out once, not once per row."""
    df = ds.sql(f"""SELECT indicator_id, year, min(first) AS first, max(month({_end_sql('period')})) AS last
                    FROM (SELECT o.indicator_id, o.period, year(o.period_start) AS year,
                                 min(month(o.period_start)) AS first
                          FROM obs o WHERE o.period_start IS NOT NULL GROUP BY ALL)
                    GROUP BY ALL""")
    out: dict[str, dict[int, tuple[int, int]]] = {}
    for i, y, a, b in zip(df["indicator_id"], df["year"], df["first"], df["last"]):
        out.setdefault(i, {})[int(y)] = (int(a), int(b))
    return out


def _series_together(ds: Dataset, indicator_ids: list[str], grain: str, unit_ids: tuple[str, ...] | None,
                     years: tuple[int, int] | None, months: tuple[int, int] | None = None) -> dict[str, pd.DataFrame]:
    """`series` of each indicator, from one query: the stored ones as read, each derived one
    summed over its components' rows."""
    cat = ds.catalog
    derived = [i for i in indicator_ids if cat.indicator(i)["rollup"] == "derived"]
    stored = [i for i in indicator_ids if i not in derived]
    rolled, params = _rolled_sql(sorted({s for i in indicator_ids for s in stored_ids(cat, i)}), grain,
                                 None if unit_ids is None else list(unit_ids), years, months)
    parts = []
    if stored:
        parts.append("SELECT indicator_id, unit_id, period, value, max_value, NULL::DOUBLE AS num, "
                     "NULL::DOUBLE AS den, n_periods FROM r WHERE indicator_id IN (SELECT unnest(?))")
        params.append(stored)
    for indicator_id in derived:
        num, den = cat.components(indicator_id)
        parts.append("SELECT ? AS indicator_id, unit_id, period, NULL::DOUBLE AS value, NULL::DOUBLE AS max_value, "
                     "sum(value) FILTER (WHERE indicator_id IN (SELECT unnest(?))) AS num, "
                     "sum(value) FILTER (WHERE indicator_id IN (SELECT unnest(?))) AS den, max(n_periods) AS n_periods "
                     "FROM r WHERE indicator_id IN (SELECT unnest(?)) GROUP BY unit_id, period")
        params += [indicator_id, num, den or ["-"], stored_ids(cat, indicator_id)]
    # Materialised: every part reads the one pass over the observations.
    df = ds.sql(f"WITH r AS {'MATERIALIZED ' if len(parts) > 1 else ''}({rolled}) {' UNION ALL '.join(parts)}",
                params)
    out = {}
    if stored:
        values = _stored_values(cat, df[df["indicator_id"].isin(stored)].drop(columns=["num", "den"]))
        for indicator_id in stored:
            out[indicator_id] = values[values["indicator_id"] == indicator_id]
    for indicator_id in derived:
        ind = cat.indicator(indicator_id)
        d = df[df["indicator_id"] == indicator_id].drop(columns=["value", "max_value"])
        if cat.components(indicator_id)[1]:
            d["value"] = rounded_column(ind["scale"] * d["num"] / d["den"].replace(0, np.nan), ind["decimals"])
        else:
            d["value"], d["den"] = rounded_column(d["num"], ind["decimals"]), np.nan
        out[indicator_id] = d
    return {i: out[i][SERIES_COLUMNS].sort_values(["unit_id", "period"], ignore_index=True) for i in indicator_ids}


def stored_series(ds: Dataset, indicator_ids: list[str], grain: str = "year", unit_ids: list[str] | None = None,
                  years: tuple[int, int] | None = None) -> pd.DataFrame:
    """`series` of several stored (not derived) indicators in one query, with an indicator_id column.

    One pass over the observations instead of one per indicator: the parts of a family (8
    PAR INDEX areas, 5 SIPAS factors) are read together.
    """
    rolled, params = _rolled_sql(indicator_ids, grain, unit_ids, years)
    df = _stored_values(ds.catalog, ds.sql(rolled, params))
    return df[["indicator_id", "unit_id", "period", "value", "num", "den", "n_periods"]].sort_values(
        ["indicator_id", "unit_id", "period"], ignore_index=True)


def _stored_values(cat: Catalog, df: pd.DataFrame) -> pd.DataFrame:
    """Rolled rows of stored indicators as published: num is the value read, den the applicable
    maximum of points (value their percentage), each rounded to its indicator's decimals."""
    ind = cat.indicators.set_index("indicator_id")
    points = df["indicator_id"].map(ind["measure"]).eq("points")
    df["num"] = df["value"]
    df["den"] = df["max_value"].where(points)
    df.loc[points, "value"] = 100 * df.loc[points, "num"] / df.loc[points, "den"]
    places = df["indicator_id"].map(ind["decimals"])
    for d in places.unique():
        df.loc[places == d, "value"] = rounded_column(df.loc[places == d, "value"], d)
    return df


def aggregate(ind: pd.Series, df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Combine units: counts add up, rates are ratios of sums, scores are the mean of units (each
    as published); the result is rounded to the indicator's published decimals."""
    # Each column reduced by its own method: pandas' named aggregation costs milliseconds more per
    # call, and a page aggregates many times.
    g = df.groupby(by)
    if ind["rollup"] == "derived" and ind["denominator"]:
        out = pd.DataFrame({"num": g["num"].sum(), "den": g["den"].sum(), "n_units": g["unit_id"].nunique()})
        out["value"] = ind["scale"] * out["num"] / out["den"].replace(0, np.nan)
    elif ind["measure"] == "count":
        out = pd.DataFrame({"value": g["value"].sum(), "n_units": g["unit_id"].nunique()})
    else:
        out = pd.DataFrame({"value": g["value"].mean(), "n_units": g["unit_id"].nunique()})
    out["value"] = rounded_column(out["value"], ind["decimals"])
    return out.reset_index()


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
    out = aggregate(ind, df.dropna(subset=["value"]), ["period"])
    out["n_expected"] = [len(expected_units(ds.catalog, p, level)) for p in out["period"]]
    return out[["period", "value", "n_units", "n_expected"]]


def combinable(ind: pd.Series) -> bool:
    """Whether several units' figures make one true figure of them together: counts add, and a
    derived rate is the ratio of the summed counts. A score or a published percentage does not: an
    average weighs a small unit as a large one, and is no unit's figure."""
    return ind["rollup"] == "derived" or ind["measure"] == "count"


def combine_lineage(ind: pd.Series, df: pd.DataFrame) -> pd.DataFrame:
    """The series of a lineage's units combined per period: period, value, units (contributing ids).

    Only where the indicator is `combinable` (counts add, rates are ratios of sums): an average
    of scores is no one's figure, and a ValueError."""
    if not combinable(ind):
        raise ValueError(f"{ind['indicator_id']}: a score does not combine over units")
    out = aggregate(ind, df, ["period"])
    contributors = df.groupby("period")["unit_id"].agg(lambda s: ",".join(sorted(s))).rename("units")
    return out.merge(contributors, on="period")[["period", "value", "units"]]


def dossier_flow(ds: Dataset, unit_ids: list[str], grain: str = "quarter", years: tuple[int, int] | None = None,
                 by_unit: bool = False) -> pd.DataFrame:
    """Every dossier indicator per period (and per unit), summed over the units, in one query.

    Counts add up over units; each derived rate is then the catalog's formula over the summed
    counts (a ratio of sums). Columns: [unit_id,] period, one column per dossier indicator id;
    summed over units, also n_units (units with any dossier count that period).
    """
    stored = _dossier_counts(ds.catalog)
    keys = ["unit_id", "period"] if by_unit else ["period"]
    query, params = _rolled_sql(stored, grain, unit_ids, years)
    count = "" if by_unit else (" UNION ALL SELECT period, 'n_units' AS indicator_id, count(DISTINCT unit_id) AS value"
                                " FROM r GROUP BY period")
    df = ds.sql(f"WITH r AS ({query}) SELECT {', '.join(keys)}, indicator_id, sum(value) AS value FROM r GROUP BY ALL"
                f"{count}", params)
    return _flow_frame(ds.catalog, df, keys)


def dossier_flows(ds: Dataset, groups: tuple[list[str], ...], grain: str = "quarter") -> list[pd.DataFrame]:
    """`dossier_flow` of each group of units, from one query: a unit's and its predecessors' (the
    Unit page) cost a pass over the observations each."""
    query, params = _rolled_sql(_dossier_counts(ds.catalog), grain, sorted({u for units in groups for u in units}), None)
    df = ds.sql(f"""WITH r AS ({query}), g AS (SELECT unnest(?) AS grp, unnest(?) AS unit_id)
                    SELECT grp, period, indicator_id, sum(value) AS value FROM r JOIN g USING (unit_id) GROUP BY ALL
                    UNION ALL SELECT grp, period, 'n_units' AS indicator_id, count(DISTINCT unit_id) AS value
                    FROM r JOIN g USING (unit_id) GROUP BY ALL""",
                params + [[k for k, units in enumerate(groups) for _ in units], [u for units in groups for u in units]])
    out = []
    for k in range(len(groups)):
        mine = df[(df["grp"] == k).to_numpy()].drop(columns="grp")
        # A group without rows as its own query answers (DuckDB gives no rows as object columns).
        out.append(_flow_frame(ds.catalog, mine if len(mine) else mine.astype(object).astype({"value": float}), ["period"]))
    return out


def _dossier_counts(cat: Catalog) -> list[str]:
    fam = cat.indicators[cat.indicators["family"] == "dossiers"]
    return fam.loc[fam["rollup"] != "derived", "indicator_id"].tolist()


def _flow_frame(cat: Catalog, df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The summed counts (keys, indicator_id, value; summed over units, n_units as an indicator) as
    one column per dossier indicator, with each derived rate worked out from them."""
    stored = _dossier_counts(cat)
    wide = (df.pivot_table(index=keys, columns="indicator_id", values="value", aggfunc="sum")
            .reindex(columns=stored + ([] if "unit_id" in keys else ["n_units"])).reset_index().rename_axis(columns=None))
    # The rates over numpy columns: pandas' row sums of column selections cost a Unit page 10 ms.
    fam = cat.indicators[cat.indicators["family"] == "dossiers"]
    derived = fam[fam["rollup"] == "derived"]
    for indicator_id, scale, decimals in zip(derived["indicator_id"], derived["scale"], derived["decimals"]):
        num, den = cat.components(indicator_id)
        rate = np.nansum([wide[c].to_numpy() for c in num], axis=0)
        if den:
            below = np.nansum([wide[c].to_numpy() for c in den], axis=0)
            rate = scale * rate / np.where(below == 0, np.nan, below)
        wide[indicator_id] = rounded_column(rate, decimals).to_numpy()
    return wide.sort_values(keys, ignore_index=True)


def province_flow(ds: Dataset, level: str | None, years: tuple[int, int] | None = None,
                  grain: str = "quarter") -> pd.DataFrame:
    """Every dossier indicator per period over the units of a level (see dossier_flow), with
    n_units reporting and n_expected (units of the level in office at the period's end)."""
    flow = dossier_flow(ds, level_units(ds, level), grain, years)
    flow["n_expected"] = [len(expected_units(ds.catalog, p, level)) for p in flow["period"]]
    return flow


def unit_periods(ds: Dataset, unit_id: str, indicator_id: str) -> list[str]:
    """The periods (at the indicator's own frequency) for which a unit has the indicator, latest first."""
    grain = "year" if ds.catalog.indicator(indicator_id)["frequency"] == "year" else "quarter"
    s = series(ds, indicator_id, grain, [unit_id]).dropna(subset=["value"])
    return sorted(s["period"].unique(), reverse=True)
