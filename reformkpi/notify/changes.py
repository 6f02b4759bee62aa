"""What changed between two data states, and which of it a subscription is told.

A data state (`stamp`) is the observations' version, the catalog's versions and the notes table's
version: an upload, a records sync or a rollback moves the first, a catalog publish the second,
a note written on a page the third. Between two states the core finds, with the same rules as
the pages (targets and gaps of `ranking.league_table` through `focus.attention`, falls of
`focus.falls`, comparability of `metrics.comparability`, the notes a view of the version shows):

- a new miss of a target (a unit's own, or the province's), and a recovery;
- a new fall in rank or grade on the year before (`focus.falls`, its five biggest per level);
- a new analysts' note;
- the first figures of a period after a methodology break (not compared with the one before);
- fewer units with figures for a period than before (a rollback, a replaced scope).

Only the periods whose figures changed are looked at (for a catalog publish: the latest period
of each indicator). Items are language-free; `render` writes one in a language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace

import pandas as pd

from reformkpi import focus, formatting, notes, periods
from reformkpi.catalog import Catalog
from reformkpi.context import figure_context
from reformkpi.i18n import DEFAULT, column, t
from reformkpi.metrics import comparability, datasets, ranking, rollups, views
from reformkpi.metrics.datasets import Dataset
from reformkpi.periods import Period
from reformkpi.store import Store

MISS, RECOVERY, FALL, NOTE, BREAK, COVERAGE = "miss", "recovery", "fall", "note", "break", "coverage"
PROVINCE = ""  # the unit_id of an item about the province as a whole
ATTENTION_KINDS = (MISS, RECOVERY)  # what moves the attention list


@dataclass(frozen=True)
class Item:
    """One change, language-free: `render` writes it."""

    kind: str
    indicator_id: str
    period: str
    unit_id: str = PROVINCE
    value: float | None = None
    target: float | None = None
    gap: float | None = None
    rank: int | None = None
    previous_rank: int | None = None
    grade: str = ""  # grade labels in both languages: "vi|en"
    previous_grade: str = ""
    text: str = ""  # a note's text; a break's first period
    n_units: int | None = None
    n_before: int | None = None
    n_expected: int | None = None
    months: tuple[int, int] | None = None  # a partial year: the months its data cover (comparability)

    def as_dict(self) -> dict:
        return asdict(self)


def stamp(store: Store, now: dt.datetime) -> dict:
    """The store's data state now: what an alert is keyed by (`ref`) and compared from."""
    data, cat, note = store.version(), list(store.catalog_versions()), notes.version(store)
    ref = f"d{data}-c{'.'.join(map(str, cat))}-n{'' if note is None else note}"
    return {"ref": ref, "data": data, "catalog": cat, "notes": note, "at": now.isoformat()}


def open_at(store: Store, s: dict) -> Dataset:
    return Dataset.open(store, s["data"], tuple(s["catalog"]))


def _touched(store: Store, a: dict, b: dict, before: Dataset, after: Dataset) -> dict[str, set[str]]:
    """Indicator → the periods to look at: those whose stored figures (or a component's) changed,
    as stored and as their year (a month by its year alone: the pages read years and quarters);
    with a new catalog, also each indicator's latest period."""
    frames = [store.changes(v) for v in range(a["data"] + 1, b["data"] + 1)]
    changed = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["indicator_id", "period"])
    if a["data"] > b["data"]:  # never: versions only grow, a rollback is a new one
        changed = changed.iloc[:0]
    by_stored: dict[str, set[str]] = {}
    for ind, period in zip(changed["indicator_id"], changed["period"]):
        by_stored.setdefault(ind, set()).update(_and_year(period))
    cat = after.catalog
    out: dict[str, set[str]] = {}
    for ind in cat.indicators["indicator_id"]:
        for stored in rollups.stored_ids(cat, ind):
            out.setdefault(ind, set()).update(by_stored.get(stored, set()))
    if list(a["catalog"]) != list(b["catalog"]):
        # Each indicator's own latest period: the dataset's (2026-Q3 of the dossiers) would leave
        # out a new target for a yearly indicator whose latest figures are 2025's.
        found = after.sql("SELECT DISTINCT indicator_id, period FROM obs WHERE period IS NOT NULL")  # canonical only: Dataset
        latest = found.groupby("indicator_id")["period"].max()
        for ind in out:
            mine = [latest[x] for x in rollups.stored_ids(cat, ind) if x in latest.index]
            if mine:
                out[ind].update(_and_year(max(mine)))
    present = set(datasets.data_periods(after)) | set(datasets.data_periods(before))
    present |= {str(periods.year_of(p)) for p in present}
    return {ind: {p for p in ps if p in present} for ind, ps in out.items() if ps & present}


def _and_year(period: str) -> set[str]:
    """A stored period and its year, as the pages choose them (a month: its year alone)."""
    year = str(periods.year_of(period))
    return {year} if periods.frequency(period) == "month" else {period, year}


def _misses(before: Dataset, after: Dataset, ind: str, period: str) -> list[Item]:
    """New misses and recoveries of the units' own targets and of the province's, in a period.
    Only the figures are read: the core's texts come in DEFAULT and are left unused (items are language-free)."""
    chosen = Period.parse(period)
    a = focus.attention(before, (ind,), chosen, None, DEFAULT)
    b = focus.attention(after, (ind,), chosen, None, DEFAULT)

    def below(att: pd.DataFrame) -> pd.DataFrame:
        return att.iloc[0]["below"].set_index("unit_id") if len(att) else pd.DataFrame(columns=["value", "target", "gap"])

    was, now = below(a), below(b)
    items = [Item(MISS, ind, period, u, float(r["value"]), float(r["target"]), float(r["gap"]))
             for u, r in now.iterrows() if u not in was.index]
    gone = [u for u in was.index if u not in now.index]
    if gone:  # a recovery is a unit that now meets its target, not one whose figure went away
        levels = sorted(set(after.catalog.units.loc[after.catalog.units["level"] != "province", "level"]))
        table = pd.concat([ranking.league_table(after, ind, chosen, lv, DEFAULT) for lv in levels], ignore_index=True)
        met = table[(table["meets_target"] == True) & table["unit_id"].isin(gone)]  # noqa: E712  (NA: neither)
        items += [Item(RECOVERY, ind, period, r.unit_id, float(r.value), float(r.target), float(r.gap))
                  for r in met.itertuples()]
    k_before = bool(len(a)) and bool(a.iloc[0]["province_misses"])
    k_after = bool(len(b)) and bool(b.iloc[0]["province_misses"])
    if k_after and not k_before:
        r = b.iloc[0]
        items.append(Item(MISS, ind, period, PROVINCE, float(r["value"]), float(r["target"]), float(r["gap"])))
    elif k_before and not k_after:
        k = views.kpi(after, ind, chosen, None, DEFAULT)
        if k.meets_target and k.value is not None and k.target is not None and k.gap is not None:
            items.append(Item(RECOVERY, ind, period, PROVINCE, k.value, k.target, k.gap))
    return items


def _places(rank_change: object) -> int:
    """A rank change as a number of places (negative: lost); none (no rank the year before): 0."""
    return 0 if pd.isna(rank_change) else int(rank_change)  # type: ignore[call-overload]


def _figures(ds: Dataset, inds: tuple[str, ...], year: int, level: str) -> dict[tuple[str, str], tuple]:
    """(indicator, unit) → the unit's value and its change on the year before, as its league table reads them."""
    out = {}
    for ind in inds:
        table = ranking.league_table(ds, ind, Period(year), level, DEFAULT)
        out.update({(ind, u): tuple(None if pd.isna(x) else float(x) for x in (v, c))
                    for u, v, c in zip(table["unit_id"], table["value"], table["change"])})
    return out


def _falls(before: Dataset, after: Dataset, inds: list[str], year: int) -> list[Item]:
    """Falls on the year before that the new state shows and the old did not: a unit that had not
    fallen, whose grade fell only now, or that lost more places with figures of its own changed. A
    fall moved only by another unit's figures (11th → 30th becoming 11th → 29th, or back to 30th
    when a rollback undoes that unit's upload) is not news."""
    cat = after.catalog
    ranked = tuple(i for i in inds if str(cat.indicator(i)["ranked"]).lower() == "true")
    levels = sorted(set(cat.units.loc[cat.units["level"] != "province", "level"])) if ranked else []
    items = []
    for level in levels:
        # Every fall of the old state, not its five biggest: one pushed out of them is still old news.
        was = focus.falls(before, ranked, year, level, DEFAULT, most=len(cat.units) * len(ranked))
        old = {(r.indicator_id, r.unit_id): (bool(r.grade_fell), _places(r.rank_change)) for r in was.itertuples()}
        figures_before, figures_after = _figures(before, ranked, year, level), _figures(after, ranked, year, level)
        now = focus.falls(after, ranked, year, level, DEFAULT).merge(
            focus.falls(after, ranked, year, level, "en")[["indicator_id", "unit_id", "grade_label", "previous_grade_label"]],
            on=["indicator_id", "unit_id"], suffixes=("", "_en"))
        for r in now.itertuples():
            k = (r.indicator_id, r.unit_id)
            if k in old:
                grade_fell_before, change_before = old[k]
                newly_graded = r.grade_fell and not grade_fell_before
                further = _places(r.rank_change) < change_before and figures_before.get(k) != figures_after.get(k)
                if not newly_graded and not further:
                    continue
            items.append(Item(FALL, r.indicator_id, str(year), r.unit_id,
                              rank=None if pd.isna(r.rank) else int(r.rank),
                              previous_rank=None if pd.isna(r.previous_rank) else int(r.previous_rank),
                              grade=f"{r.grade_label or ''}|{r.grade_label_en or ''}" if r.grade_fell else "",
                              previous_grade=f"{r.previous_grade_label or ''}|{r.previous_grade_label_en or ''}"
                              if r.grade_fell else ""))
    return items


def _notes(store: Store, a: dict, b: dict) -> list[Item]:
    """Notes a view of `b` shows that one of `a` did not: written after `a` (not in the notes table
    as it stood then), or waiting then on an upload whose commit came after `a`."""
    cols = ["unit_id", "indicator_id", "period", "note", "created_at"]
    now = notes.read(store, b["data"])
    was = pd.DataFrame(columns=cols) if a["notes"] is None else store.read(notes.TABLE, a["notes"]).to_pandas()
    seen = set(map(tuple, was[cols].astype(str).to_numpy().tolist()))
    return [Item(NOTE, r.indicator_id, r.period, r.unit_id, text=r.note)
            for r, k in zip(now.itertuples(), now[cols].astype(str).to_numpy().tolist())
            if tuple(k) not in seen or r.data_version > a["data"]]


def _method_and_coverage(before: Dataset, after: Dataset, ind: str, period: str) -> list[Item]:
    items = []
    chosen = Period.parse(period)
    c = comparability.compare(after, ind, chosen)
    new_period = period not in datasets.data_periods(before) and period in datasets.data_periods(after)
    if c.reason == comparability.BREAK and new_period:
        items.append(Item(BREAK, ind, period, text=str(c.method_break)))
    if period in datasets.data_periods(before):
        was, now = figure_context(before, ind, chosen, None, DEFAULT), figure_context(after, ind, chosen, None, DEFAULT)
        if now.n_units < was.n_units:
            items.append(Item(COVERAGE, ind, period, n_units=now.n_units, n_before=was.n_units,
                              n_expected=now.n_expected))
    return items


def between(store: Store, a: dict, b: dict) -> list[Item]:
    """Every change from data state `a` to `b` (see the module), for every unit."""
    before, after = open_at(store, a), open_at(store, b)
    touched = _touched(store, a, b, before, after)
    items: list[Item] = []
    for ind, ps in sorted(touched.items()):
        for period in sorted(ps):
            items += _misses(before, after, ind, period)
            items += _method_and_coverage(before, after, ind, period)
    years = sorted({periods.year_of(p) for ps in touched.values() for p in ps})
    for year in years:
        items += _falls(before, after, sorted(i for i, ps in touched.items() if str(year) in ps), year)
    # A year whose data cover some months only is written as those months, not as the whole year.
    return [replace(i, months=comparability.compare(after, i.indicator_id, Period.parse(i.period)).months)
            if periods.frequency(i.period) == "year" else i for i in items + _notes(store, a, b)]


def followed(cat: Catalog, unit_id: str) -> set[str]:
    """The units a subscription to `unit_id` hears of: the unit that holds it now and every unit
    merged into that one (a merger does not silence it)."""
    return set(cat.lineage(focus.holder(cat, unit_id))) if unit_id else set()


def visible(cat: Catalog, scope: frozenset[str] | None) -> frozenset[str] | None:
    """An account's scope with each unit merged away since replaced by (and kept beside) its holder."""
    return None if scope is None else scope | {focus.holder(cat, u) for u in scope}


def relevant(items: list[Item], kind: str, unit_id: str, indicator_id: str, scope: frozenset[str] | None,
             cat: Catalog) -> list[Item]:
    """The items a subscription to (kind, unit, indicator) is told, within the units its account may
    see (`scope`, None: all). An item about a unit outside the scope is never told; nor one about
    the province's figure to a scoped account (it holds the units it may not see)."""
    lineage = followed(cat, unit_id)
    scope = visible(cat, scope)
    out = []
    for i in items:
        # A method break or lost coverage is about the indicator, every unit's figures alike: it
        # reaches a unit's subscribers and scoped accounts (the indicator filter still applies).
        general = i.kind in (BREAK, COVERAGE)
        if scope is not None and not general and (i.unit_id == PROVINCE or i.unit_id not in scope):
            continue
        if kind == "unit" and not general and i.unit_id not in lineage:
            continue
        if kind == "indicator" and i.indicator_id != indicator_id:
            continue
        if kind == "attention" and i.kind not in ATTENTION_KINDS:
            continue
        out.append(i)
    return out


def unit_label(cat: Catalog, unit_id: str, lang: str) -> str:
    units = cat.units
    if unit_id == PROVINCE:
        unit_id = str(units.loc[units["level"] == "province", "unit_id"].iloc[0])
    return str(datasets.unit_names(cat, lang).get(unit_id, unit_id))


def indicator_label(cat: Catalog, indicator_id: str, lang: str) -> str:
    return str(cat.indicator(indicator_id)[column("short", lang)])


def gap_text(gap: float | None, ind: pd.Series, lang: str) -> str:
    """A gap as the league tables write it: signed, in points of a percentage ('−2,6 điểm %')."""
    unit = " " + t("unit.points", lang) if ind["measure"] in ("percent", "points") else ""
    return formatting.signed(gap, lang, int(ind["decimals"])) + unit


def _periods(item: Item, lang: str) -> tuple[str, str]:
    """The item's period and the one before, as the pages write them: a partial year by its months
    (comparability.Comparison), 'Quý I–III/2026' against 'Quý I–III/2025'."""
    if item.months is None:
        return formatting.period_label(item.period, lang), str(periods.year_of(item.period) - 1)
    c = comparability.Comparison(item.indicator_id, "year", item.period, periods.previous(item.period), item.months)
    return c.period_text(lang), c.previous_text(lang)


def render(item: Item, cat: Catalog, lang: str) -> str:
    """One item as a line of the message, in the language (figures formatted as on the pages)."""
    ind = cat.indicator(item.indicator_id)
    period, previous = _periods(item, lang)
    fields = {"unit": unit_label(cat, item.unit_id, lang), "indicator": indicator_label(cat, item.indicator_id, lang),
              "period": period}
    lower = "" if ind["direction"] == "higher_better" else "_lower"
    if item.kind in (MISS, RECOVERY):
        return t(f"notify.{item.kind}{lower}", lang, **fields, value=formatting.value(item.value, ind, lang),
                 target=formatting.value(item.target, ind, lang), gap=gap_text(item.gap, ind, lang))
    if item.kind == FALL:
        side = 0 if lang == "vi" else 1
        if item.grade:
            return t("notify.fall_grade", lang, **fields, grade=item.grade.split("|")[side],
                     previous=item.previous_grade.split("|")[side], previous_period=previous)
        return t("notify.fall_rank", lang, **fields, rank=item.rank, previous=item.previous_rank,
                 previous_period=previous)
    if item.kind == NOTE:
        return t("notify.note", lang, **fields, note=item.text)
    if item.kind == BREAK:
        return t("notify.break", lang, **fields, since=item.text)
    return t("notify.coverage", lang, **fields, now=item.n_units, before=item.n_before, total=item.n_expected)
