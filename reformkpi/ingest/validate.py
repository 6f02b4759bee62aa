"""From a file's cells to observations: resolve names, read numbers and periods, check every rule.

The rules run as one pandera schema, lazily, so the analyst sees every problem of a file at
once, each with the file's row number, column and value. A file with any error writes nothing.
"""

from __future__ import annotations

import datetime as dt
import difflib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from reformkpi import notes, periods
from reformkpi.catalog import Catalog
from reformkpi.ingest.parse import RawTable
from reformkpi.ingest.problems import Figure, IngestError, Problem
from reformkpi.ingest.profiles import Profile
from reformkpi.ingest.text import blank, fold, numbers, per_unique, periods_of

# pandera (11 MiB of a server's memory) is imported when a file is checked: a page view needs none of it.
if TYPE_CHECKING:
    import pandera.pandas as pdr

MAX_PROBLEMS = 1000  # enough to act on; the count of the rest is reported
WHERE = ["row", "column"]  # where each observation stands in the file (for messages; not stored)
EXAMPLE = {"year": "2019", "quarter": "2019-Q3", "month": "2019-07"}


class Names:
    """Resolve what a file calls a unit or an indicator: id, full name, short name or alias."""

    def __init__(self, table: pd.DataFrame, id_col: str, cols: list[str], alias_col: str | None = None):
        self.lookup: dict[str, str] = {}
        self.display = dict(zip(table[id_col], table[cols[0]]))
        aliases = table[alias_col] if alias_col else pd.Series("", index=table.index)
        for uid, *texts, more in zip(table[id_col], *(table[c] for c in cols), aliases):
            texts = [uid, *texts] + str(more or "").replace("|", ";").split(";")
            for text in texts:
                if str(text).strip():
                    self.lookup.setdefault(fold(text), uid)

    def resolve(self, s: pd.Series) -> pd.Series:
        return per_unique(s, lambda u: [self.lookup.get(fold(x)) for x in u])

    def suggest(self, raw, n: int = 3) -> list[str]:
        close = difflib.get_close_matches(fold(raw), list(self.lookup), n=n * 3, cutoff=0.5)
        ids = list(dict.fromkeys(self.lookup[c] for c in close))[:n]
        return [self.display[i] for i in ids]


def to_long(raw: RawTable, mapping: dict[str, str | None], profile: Profile, layout: str) -> pd.DataFrame:
    """One row per value with the file's row number and the header of each field's column."""
    f = raw.frame
    by_target = {tgt: label for label, tgt in mapping.items() if tgt}
    if "period" not in by_target and not profile.period:
        raise IngestError([Problem("no_period")])

    def col(target):
        label = by_target.get(target)
        return f[label] if label else pd.Series(None, index=f.index, dtype=object)

    base = pd.DataFrame({
        "row": raw.rows, "unit_raw": col("unit"),
        "period_raw": col("period") if "period" in by_target else profile.period,
        "source": col("source"), "note": col("note"),
    })
    cols = {"unit": by_target.get("unit", ""), "period": by_target.get("period", ""),
            "indicator": by_target.get("indicator", ""), "note": by_target.get("note", "")}
    if layout == "long":
        out = base.assign(indicator_raw=col("indicator"), value_raw=col("value"), max_raw=col("max_value"),
                          value_col=by_target["value"], max_col=by_target.get("max_value", ""), wide=False)
    else:
        parts = []
        for target, label in by_target.items():
            if not target.startswith("ind:"):
                continue
            iid = target[4:]
            max_label = by_target.get(f"max:{iid}", "")
            part = base.assign(indicator_raw=iid, value_raw=f[label],
                               max_raw=f[max_label] if max_label else None,
                               value_col=label, max_col=max_label, wide=True)
            # An empty cell in a wide sheet means "no figure", not an error.
            parts.append(part[~blank(part["value_raw"]) | (~blank(part["max_raw"]) if max_label else False)])
        out = pd.concat(parts, ignore_index=True) if parts else base.iloc[:0].assign(
            indicator_raw=None, value_raw=None, max_raw=None, value_col="", max_col="", wide=True)
    out.attrs["cols"] = cols
    return out.reset_index(drop=True)


def _resolve(df: pd.DataFrame, cat: Catalog, decimal: str, today: dt.date) -> pd.DataFrame:
    units = Names(cat.units, "unit_id", ["name_vi", "name_en", "short_name_vi"], "aliases")
    inds = Names(cat.indicators, "indicator_id", ["name_vi", "name_en", "short_vi", "short_en"])
    df["unit_id"] = units.resolve(df["unit_raw"])
    df["indicator_id"] = inds.resolve(df["indicator_raw"])
    df["period"] = periods_of(df["period_raw"])
    df["value"], _ = numbers(df["value_raw"], decimal)
    df["max_value"], _ = numbers(df["max_raw"], decimal) if df["max_raw"].notna().any() else (np.nan, None)
    return attributes(df, cat, today)


def _parts_checks(df: pd.DataFrame, cat: Catalog) -> tuple[pd.Series, pd.Series, dict]:
    """Totals against their parts (sum-type derived indicators) and late > resolved, per unit and period."""
    ok_total = pd.Series(True, index=df.index)
    ok_late = pd.Series(True, index=df.index)
    detail: dict[int, dict] = {}
    sums = cat.indicators[(cat.indicators["rollup"] == "derived") & (cat.indicators["denominator"] == "")]
    for _, total in sums.iterrows():
        parts = cat.components(total["indicator_id"])[0]
        relevant = df[df["indicator_id"].isin(parts + [total["indicator_id"]]) & df["value"].notna()]
        if relevant.empty or not (relevant["indicator_id"] == total["indicator_id"]).any():
            continue
        wide = relevant.pivot_table(index=["unit_id", "period"], columns="indicator_id", values="value", aggfunc="first")
        if not set(parts) <= set(wide.columns):
            continue
        got = wide[parts].sum(axis=1, min_count=len(parts))
        bad = wide[total["indicator_id"]].notna() & got.notna() & ((got - wide[total["indicator_id"]]).abs() > 1e-6)
        for (u, p), s in got[bad].items():
            idx = relevant[(relevant["unit_id"] == u) & (relevant["period"] == p)
                           & (relevant["indicator_id"] == total["indicator_id"])].index
            ok_total[idx] = False
            detail.update({i: {"parts": f"{s:g}"} for i in idx})
        if "dossier.resolved_late" in parts:
            late = relevant[relevant["indicator_id"] == "dossier.resolved_late"]
            resolved = wide[total["indicator_id"]].rename("resolved")
            m = late.join(resolved, on=["unit_id", "period"])
            over = m["resolved"].notna() & (m["value"] > m["resolved"])
            ok_late[m.index[over]] = False
            detail.update({i: {"resolved": f"{r:g}"} for i, r in m.loc[over, "resolved"].items()})
    return ok_total, ok_late, detail


def _schema(df: pd.DataFrame, cat: Catalog) -> pdr.DataFrameSchema:
    import pandera.pandas as pdr

    unit_ok, ind_ok, period_ok = df["unit_id"].notna(), df["indicator_id"].notna(), df["period"].notna()
    has_value = ~blank(df["value_raw"])
    has_max = ~blank(df["max_raw"])
    num = df["value"]
    m = df["measure"]
    key = df[["unit_id", "indicator_id", "period"]]
    keyed = unit_ok & ind_ok & period_ok
    dup = keyed & key.duplicated(keep="first")
    ok_total, ok_late, _ = _parts_checks(df, cat)
    # The store's own limit on a note (reformkpi.notes), checked here so that a dry run says it.
    note_chars = df["note"].astype("string").str.strip().str.len() if "note" in df else pd.Series(0, index=df.index)
    rules = {
        "unknown_unit": unit_ok,
        "unknown_indicator": ind_ok,
        "derived_indicator": ~(ind_ok & (df["rollup"] == "derived") & (df["denominator"] != "")),
        "period_malformed": period_ok,
        "period_future": ~(period_ok & df["future"]),
        "period_frequency": ~(period_ok & ind_ok & (df["period_frequency"] != df["frequency"])),
        "unit_inactive": ~(unit_ok & period_ok & ~df["active"]),
        "value_missing": has_value,
        "value_not_number": ~(has_value & num.isna()),
        "max_not_number": ~(has_max & df["max_value"].isna()),
        "negative_count": ~((m == "count") & (num < 0)),
        "non_integer_count": ~((m == "count") & (num >= 0) & (num % 1 != 0)),
        "percent_range": ~((m == "percent") & ((num < 0) | (num > 100))),
        "negative_value": ~(m.isin(["points", "score", "days"]) & (num < 0)),
        "points_missing_max": ~((m == "points") & num.notna() & ~has_max),
        # inf of inf or 0 of 0 would publish a share of nothing (and drop the unit's rank).
        "max_not_positive": ~((m == "points") & (df["max_value"] <= 0)),
        "points_above_max": ~((m == "points") & (df["max_value"] > 0) & (num > df["max_value"])),
        "count_above_ceiling": ~((m == "count") & (num > df["ceiling"])),
        "note_too_long": ~(note_chars > notes.MAX_NOTE).fillna(False),
        "duplicate_key": ~dup,
        "parts_total": ok_total,
        "late_gt_resolved": ok_late,
    }
    return pdr.DataFrameSchema(checks=[pdr.Check(lambda _, ok=ok: ok, name=code) for code, ok in rules.items()])


FIELD_OF = {
    "unknown_unit": "unit", "unit_inactive": "unit",
    "unknown_indicator": "indicator", "derived_indicator": "indicator",
    "period_malformed": "period", "period_future": "period", "period_frequency": "period",
    "max_not_number": "max", "max_not_positive": "max", "note_too_long": "note",
}


def _problem(code: str, r: pd.Series, cols: dict, cat: Catalog, units: Names | None, detail: dict,
             first_row: dict) -> Problem:
    field = FIELD_OF.get(code, "value")
    if field == "indicator" and r["wide"]:
        field = "value"  # in a wide sheet the column is the indicator
    column = {"unit": cols["unit"], "period": cols["period"] or None, "indicator": cols["indicator"],
              "max": r["max_col"], "value": r["value_col"], "note": cols.get("note")}[field]
    raw = {"unit": r["unit_raw"], "period": r["period_raw"], "indicator": r["indicator_raw"],
           "max": r["max_raw"], "value": r["value_raw"], "note": r.get("note")}[field]
    value = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw)
    fields: dict = {}
    if code == "unknown_unit" and units is not None:
        fields["suggestions"] = ", ".join(units.suggest(value)) or "–"
    elif code == "period_frequency":
        fields["example"] = EXAMPLE.get(r["frequency"], "")
    elif code == "unit_inactive":
        u = cat.unit(r["unit_id"])
        fmt = lambda d: d.strftime("%d/%m/%Y") if pd.notna(d) else "…"
        fields.update({"active_from": fmt(u["active_from"]), "active_to": fmt(u["active_to"])})
    elif code == "points_above_max":
        fields["max"] = Figure(r["max_value"])
    elif code == "count_above_ceiling":
        fields["ceiling"] = Figure(r["ceiling"], 0)
    elif code == "note_too_long":
        fields.update(n=len(value.strip()), limit=notes.MAX_NOTE)
        value = value.strip()[:40] + "…"
    elif code == "duplicate_key":
        fields["first_row"] = first_row.get((r["unit_id"], r["indicator_id"], r["period"]), "")
    elif code in ("parts_total", "late_gt_resolved"):
        fields.update(detail.get(r.name, {}))
    return Problem(code, int(r["row"]), column or None, value, fields=fields)


def failures(df: pd.DataFrame, cat: Catalog) -> pd.DataFrame:
    """Every rule a resolved frame breaks: columns check (the rule's code) and index (the row's label)."""
    from pandera.errors import SchemaErrors

    try:
        # The rules read the whole frame; pandera is handed the resolved key and value only, so that its
        # per-check bookkeeping stays small on a million rows.
        _schema(df, cat).validate(df[["unit_id", "indicator_id", "period", "value"]], lazy=True)
    except SchemaErrors as err:
        fc = err.failure_cases[["check", "index"]].dropna().drop_duplicates()
        return fc.astype({"index": int})
    return pd.DataFrame({"check": pd.Series(dtype=object), "index": pd.Series(dtype=int)})


def attributes(df: pd.DataFrame, cat: Catalog, today: dt.date) -> pd.DataFrame:
    """What the rules read beside the values: each indicator's measure, frequency and rollup, whether
    the unit is in office at the period's end, the period's own frequency, whether it has ended."""
    ind = cat.indicators.set_index("indicator_id")
    for c in ("measure", "frequency", "rollup", "denominator", "ceiling"):
        df[c] = per_unique(df["indicator_id"], lambda u, c=c: u.map(ind[c]))
    df["ceiling"] = df["ceiling"].astype("float64")
    uniq = df["period"].dropna().unique()
    # Who is in office, once per period (Catalog.active_units), then matched for every row at once.
    in_office = pd.MultiIndex.from_tuples(
        [(u, p) for p in uniq for u in cat.active_units(p)["unit_id"]], names=["unit_id", "period"])
    keyed = df["unit_id"].notna() & df["period"].notna()
    df["active"] = ~keyed | pd.MultiIndex.from_arrays([df["unit_id"], df["period"]]).isin(in_office)
    df["period_frequency"] = per_unique(df["period"], lambda u: [periods.frequency(p) for p in u])
    df["future"] = per_unique(df["period"], lambda u: [periods.end(p) > today for p in u], bool, False)
    return df


FRACTION_HISTORY = 5.0  # a stored median this far above 1 means the indicator is written as 77,4, not 0,774


def _fractions(df: pd.DataFrame, cols: dict, history: dict[str, float]) -> list[Problem]:
    """Percentages written as fractions: every value of an indicator in the file is at most 1 while
    its stored values are far above 1 (0,774 where the store holds 77,4). One problem per indicator,
    at its first row."""
    out = []
    pct = df[(df["measure"] == "percent") & df["value"].notna()]
    for iid, g in pct.groupby("indicator_id", sort=False):
        median = history.get(iid)
        if median is None or median < FRACTION_HISTORY or g["value"].max() > 1 or g["value"].max() <= 0:
            continue
        first = g.sort_values("row").iloc[0]
        column = first["value_col"] or cols.get("indicator") or None
        out.append(Problem("percent_fraction", int(first["row"]), column, str(first["value_raw"]),
                           fields={"indicator": iid, "n": len(g), "median": Figure(median, 1),
                                   "example": Figure(first["value"] * 100)}))
    return out


def check(long: pd.DataFrame, cat: Catalog, profile: Profile, today: dt.date | None = None,
          history: dict[str, float] | None = None) -> tuple[pd.DataFrame, list[Problem], int]:
    """(observations ready for the store, problems, count of problems not listed).

    `history`: the median stored value of each indicator, for refusing percentages written as fractions.
    """
    today = today or dt.date.today()
    cols = long.attrs["cols"]
    df = _resolve(long, cat, profile.decimal, today)
    problems: list[Problem] = []
    hidden = 0
    fc = failures(df, cat)
    if not fc.empty:
        fc = fc.assign(row=df["row"].to_numpy()[fc["index"].to_numpy()]).sort_values(["row", "index"])
        hidden = max(0, len(fc) - MAX_PROBLEMS)
        fc = fc.head(MAX_PROBLEMS)
        units = Names(cat.units, "unit_id", ["name_vi", "name_en", "short_name_vi"], "aliases")
        _, _, detail = _parts_checks(df, cat)
        keyed = df.dropna(subset=["unit_id", "indicator_id", "period"])
        first_row = keyed.drop_duplicates(["unit_id", "indicator_id", "period"]).set_index(
            ["unit_id", "indicator_id", "period"])["row"].to_dict()
        # A wide sheet repeats a row's unit and period in every value column: one mistake, one problem.
        problems = list(dict.fromkeys(_problem(c, df.loc[i], cols, cat, units, detail, first_row)
                                      for c, i in zip(fc["check"], fc["index"])))
        return df.iloc[:0], problems, hidden
    if fractions := _fractions(df, cols, history or {}):
        return df.iloc[:0], fractions, 0
    stored = df[df["rollup"] != "derived"]
    starts = {p: periods.start(p) for p in stored["period"].unique()}
    obs = pd.DataFrame({
        "unit_id": stored["unit_id"], "indicator_id": stored["indicator_id"], "period": stored["period"],
        "period_start": stored["period"].map(starts), "value": stored["value"].astype(float),
        "max_value": stored["max_value"].astype(float),
        "source": stored["source"].where(~blank(stored["source"]), None),
        "note": stored["note"].where(~blank(stored["note"]), None),
        "row": stored["row"], "column": stored["value_col"],
    })
    return obs.reset_index(drop=True), [], 0
