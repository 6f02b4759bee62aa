"""Ranks and grades: peers (same parent, same level) ranked per period, ties sharing the best
rank, on values as published; grades from the catalog's bands; how stable ranks are over years."""

from __future__ import annotations

import pandas as pd

from reformkpi import periods
from reformkpi.formatting import rounded_column
from reformkpi.catalog import Catalog, among
from reformkpi.i18n import column, t
from reformkpi.metrics import targets
from reformkpi.metrics.datasets import Dataset, remembered
from reformkpi.metrics.comparability import compare, scope_changed
from reformkpi.metrics.rollups import level_units, series
from reformkpi.metrics.targets import gap
from reformkpi.periods import Period


def complete_periods(ds: Dataset, indicator_id: str, df: pd.DataFrame, grain: str) -> pd.Series:
    """Whether each row of a series covers its whole period: a year of a quarterly indicator needs
    as many quarters as the units with most of them that year (so a running year is judged by the
    quarters it has so far). Yearly figures and figures at their own grain are complete."""
    if grain != "year" or ds.catalog.indicator(indicator_id)["frequency"] == "year" or df.empty:
        return pd.Series(True, index=df.index)
    return df["n_periods"] >= df.groupby("period")["n_periods"].transform("max")


def ranks(ds: Dataset, indicator_id: str, grain: str = "year", level: str | None = None,
          years: tuple[int, int] | None = None, incomplete: bool = False,
          months: tuple[int, int] | None = None) -> pd.DataFrame:
    """Rank among peers (same parent and level) per period: unit_id, period, value, rank, n_peers, complete.

    Values are compared as published (rounded to the indicator's decimals), so units shown equal
    share the best rank. Only units with a complete period are ranked; with incomplete=True the
    others are listed too, unranked (rank <NA>, complete False). With `months`, each year is
    ranked over those months (a partial year and the same months of the year before).
    """
    ind = ds.catalog.indicator(indicator_id)
    df = series(ds, indicator_id, grain, level_units(ds, level), years, months).dropna(subset=["value"])
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


@remembered
def league_table(ds: Dataset, indicator_id: str, period: Period, level: str, lang: str) -> pd.DataFrame:
    """One period's ranking of a level's units with value, target, gap, grade, and the change of
    value and rank over the periods `comparability.compare` says (both blank where it says the
    periods may not be compared: across a methodology break; and for a unit whose scope changed
    between them, `comparability.scope_changed`, marked in scope_changed)."""
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    c = compare(ds, indicator_id, period)
    p, prev = c.period, c.previous
    year = periods.year_of(p)
    r = ranks(ds, indicator_id, c.grain, level, c.years, incomplete=True, months=c.months)
    cur = r[r["period"] == p].copy()
    before = r.loc[r["period"] == prev, ["unit_id", "rank", "value"]].rename(
        columns={"rank": "prev_rank", "value": "prev_value"})
    if not c.comparable:
        before = before.iloc[:0]
    changed = scope_changed(cat, c, cur["unit_id"]) if c.comparable else set()
    before = before[~before["unit_id"].isin(changed)]
    cur = cur.merge(before, on="unit_id", how="left")
    cur["scope_changed"] = cur["unit_id"].isin(changed)
    cur["rank_change"] = (cur["prev_rank"] - cur["rank"]).astype("Int64")
    cur["prev_rank"] = cur["prev_rank"].astype("Int64")
    cur["change"] = rounded_column(cur["value"] - cur["prev_value"], ind["decimals"])
    # New: the unit was not in office at the end of the previous period (not merely without a figure).
    cur["is_new"] = ~among(cur["unit_id"], cat.active_ids(prev))
    cur = cur.merge(targets.lookup(cat, indicator_id, cur["unit_id"].tolist(), year).drop(columns="year"),
                    on="unit_id", how="left")
    cur["gap"] = rounded_column(gap(cur["value"], cur["target"], ind["direction"]), ind["decimals"])
    cur["meets_target"] = (cur["gap"] >= 0).where(cur["target"].notna())
    cur["grade"] = cat.grades(ind["family"], cur["value"])
    cur["grade_label"] = grade_labels(cat, ind["family"], cur["grade"], lang)
    names = cat.units[["unit_id", "name_vi", "name_en", "short_name_vi"]]
    cur = cur.merge(names, on="unit_id")
    cur["name"] = cur[column("name", lang)]
    return cur.sort_values(["rank", "name"], ignore_index=True, na_position="last")[
        ["rank", "unit_id", "name", "short_name_vi", "value", "change", "target", "target_source", "gap",
         "meets_target", "grade", "grade_label", "prev_rank", "rank_change", "n_peers", "complete", "is_new",
         "scope_changed"]]


def scope_note(table: pd.DataFrame, lang: str) -> str:
    """The line under a league table (on the page and in its exports) naming the units whose
    changes are blank because a merger changed their scope; a unit new in office is not among them
    (`scope_changed` holds it too: its rank change says "new"). '' when there are none."""
    rows = table["scope_changed"] & ~table["is_new"]
    return t("compare.scope_rows", lang, units=", ".join(table.loc[rows, "name"])) if rows.any() else ""


def _changes(s: pd.Series) -> int:
    """How often consecutive values differ (no grade at all counts as no change)."""
    v = s.fillna("").to_numpy()
    return int((v[1:] != v[:-1]).sum())


def grade_labels(cat: Catalog, family: str, grades: pd.Series, lang: str) -> pd.Series:
    """The label of each grade id in the family's bands ('' for no grade)."""
    bands = cat.grade_bands[cat.grade_bands["family"] == family]
    labels = dict(zip(bands["grade_id"], bands[column("label", lang)]))
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


def rank_history(ds: Dataset, indicator_id: str, unit_id: str, lang: str) -> pd.DataFrame:
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
                 lang: str) -> pd.DataFrame:
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
