"""What a reader needs beside a figure to trust it: where it comes from, how it is computed, how
many units it covers and which data version it shows. Pages print it under each tile, chart and
table; exports can put the same object in their header blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from reformkpi import coverage, periods
from reformkpi.metrics import comparability, datasets, rollups
from reformkpi.metrics.datasets import Dataset
from reformkpi.formatting import period_label
from reformkpi.i18n import column, t, tn
from reformkpi.demo import SOURCE as DEMO_SOURCE
from reformkpi.store import SOURCE_PREFIX


@dataclass(frozen=True)
class FigureContext:
    """The context of one indicator's figures for a period over the units of a level, worded once in
    `lang` (figure_context): pages, exports and digests show its lines as they are."""

    indicator_id: str
    period: str
    sources: tuple[str, ...]  # as stored with the data (per upload), most rows first
    method: str  # how a unit's figure and the province's are computed, and the precision compared at
    n_units: int  # units with a figure for the period
    n_expected: int  # units of the level in office at the period's end
    version: int | None  # data version
    method_note: str  # the indicator's methodology break, if it has one
    lang: str  # the language of method, method_note, notes and the lines below
    notes: tuple[str, ...] = ()  # analysts' notes on these figures: "unit · period: note"

    def source_text(self) -> str:
        return "; ".join(source_label(s, self.lang) for s in self.sources) or t("context.source.none", self.lang)

    def coverage_text(self) -> str:
        return t("context.coverage", self.lang, n=self.n_units, total=self.n_expected)

    def summary(self) -> str:
        """Source · coverage · version (· notes): the line under a figure."""
        parts = [t("context.source", self.lang, source=self.source_text()), self.coverage_text(),
                 t("context.version", self.lang, version=self.version)]
        if self.notes:
            parts.append(tn("context.notes", len(self.notes), self.lang))
        return " · ".join(parts)

    def details(self) -> str:
        """The method, the methodology break where there is one, and the analysts' notes."""
        parts = [t("context.method", self.lang, method=self.method)]
        if self.method_note:
            parts.append(t("context.break", self.lang, note=self.method_note))
        parts += [t("context.note", self.lang, note=n) for n in self.notes]
        return ". ".join(parts)


def source_label(source: object, lang: str) -> str:
    """A stored source as a reader reads it: counts synced from the records name the records' version,
    the demo's generated figures say so in the reader's language; an uploaded source is shown as
    written. A source left out of an upload is stored null, which pandas reads as None or NaN: "not
    recorded"."""
    if not isinstance(source, str) or not source.strip():
        return t("context.source.unnamed", lang)
    if source.startswith(SOURCE_PREFIX):
        return t("context.source.records", lang, version=source[len(SOURCE_PREFIX):])
    if source == DEMO_SOURCE:
        return t("context.source.demo", lang)
    return source


def method_text(cat, indicator_id: str, lang: str) -> str:
    """How the indicator is computed for a unit and combined over units, and the precision it is compared at."""
    ind = cat.indicator(indicator_id)
    if ind["rollup"] == "derived" and ind["denominator"]:
        how = cat.formula_text(indicator_id, lang) + "; " + t("context.method.ratio", lang)
    elif ind["rollup"] == "derived" or ind["measure"] == "count":
        how = t("context.method.sum", lang)
    elif ind["measure"] == "points":
        how = t("context.method.points", lang)
    else:
        how = t("context.method.mean", lang)
    precision = t("context.method.precision", lang, decimals=int(ind["decimals"]))
    if ind["precision_source"]:
        precision += f" ({ind['precision_source']})"
    return f"{how}; {precision}"


def figure_context(ds: Dataset, indicator_id: str, period: periods.Period, level: str | None,
                   lang: str, unit_id: str | None = None) -> FigureContext:
    """The context of an indicator's figures for a period (a year reads every quarter in it), over
    the units of a level, or of one unit and the units merged into it (unit_id). Remembered by the
    data version: the Unit page captions a chart with a context its history grid's captions
    (`figure_contexts`) found already, and each one reads the observations again."""
    return ds.remember(_context, indicator_id, period, level, lang, unit_id)


def figure_contexts(ds: Dataset, indicator_ids: tuple[str, ...], period: periods.Period, level: str | None,
                    lang: str, unit_id: str | None = None) -> dict[str, FigureContext]:
    """`figure_context` of each indicator, their figures read together in one pass over the
    observations and their sources and notes in one query each (a page that shows several
    indicators captions each), each then remembered as `figure_context` gives it."""
    units = rollups.level_units(ds, level) if unit_id is None else ds.catalog.lineage(unit_id)
    comparability.read_compared(ds, indicator_ids, period, units)
    key = (period, level, lang, unit_id)
    missing = [i for i in dict.fromkeys(indicator_ids) if not ds.knows(_context, i, *key)]
    for i, ctx in _contexts(ds, missing, *key).items():
        ds.keep(ctx, _context, i, *key)
    return {i: figure_context(ds, i, period, level, lang, unit_id) for i in indicator_ids}


def _context(ds: Dataset, indicator_id: str, period: periods.Period, level: str | None, lang: str,
             unit_id: str | None) -> FigureContext:
    return _contexts(ds, [indicator_id], period, level, lang, unit_id)[indicator_id]


def _contexts(ds: Dataset, indicator_ids: list[str], period: periods.Period, level: str | None, lang: str,
              unit_id: str | None) -> dict[str, FigureContext]:
    """`figure_context` of each (distinct) indicator: each one's sources and its notes from one query
    for them all (a query per indicator cost 3–6 ms each, ten of them on a Unit page)."""
    cat = ds.catalog
    units = rollups.level_units(ds, level) if unit_id is None else cat.lineage(unit_id)
    chosen = set(units)
    asked = {}  # indicator_id: (period read as the store writes it, units with a figure for it)
    for indicator_id in indicator_ids:
        grain, at = rollups.grain_of(ds, indicator_id, period)
        p = str(at)  # the frames read are matched on it
        # Over the span a KPI and its league table read (the period compared with too): the same read serves all three.
        c = comparability.compare(ds, indicator_id, period)
        s = rollups.series(ds, indicator_id, grain, units, c.years, c.months)
        asked[indicator_id] = p, sorted(set(s.loc[(s["period"] == p) & s["value"].notna(), "unit_id"]))
    # Each indicator's stored rows of its units over its period, counted by source (most rows first).
    spans = [(i, stored, periods.start(p), periods.end(p)) for i, (p, _) in asked.items()
             for stored in rollups.stored_ids(cat, i)]
    reporting = [(i, u) for i, (_, reported) in asked.items() for u in reported]
    sources: dict[str, list[str]] = {}
    if reporting:
        found = ds.sql("""WITH a AS (SELECT unnest(?) AS asked, unnest(?) AS indicator_id, unnest(?) AS from_day,
                                            unnest(?) AS to_day),
                               u AS (SELECT unnest(?) AS asked, unnest(?) AS unit_id)
                          SELECT a.asked, coalesce(o.source, '') AS source, count(*) AS n
                          FROM obs o JOIN a ON o.indicator_id = a.indicator_id
                                             AND o.period_start BETWEEN a.from_day AND a.to_day
                            JOIN u ON u.asked = a.asked AND u.unit_id = o.unit_id
                          GROUP BY ALL ORDER BY a.asked, n DESC, source""",
                       [list(c) for c in (*zip(*spans), *zip(*reporting))])
        for i, source in zip(found["asked"], found["source"]):
            sources.setdefault(i, []).append(source)
    ids = {i: {i, *rollups.stored_ids(cat, i)} for i in asked}
    notes = ds.sql("""SELECT indicator_id, unit_id, period, note FROM notes
                      WHERE indicator_id IN (SELECT unnest(?)) AND unit_id IN (SELECT unnest(?)) AND period LIKE ? || '%'
                      ORDER BY period, unit_id, created_at""",
                   [sorted(set().union(*ids.values())), units, str(period.year)])
    names = datasets.unit_names(cat, lang)
    out, expected = {}, {}  # expected: units of each period read at, the same for every indicator read at it
    for i, (p, reported) in asked.items():
        start, end = periods.start(p), periods.end(p)
        if p not in expected:
            expected[p] = sum(u in chosen for u in coverage.expected_units(cat, p, level if unit_id is None else None))
        mine = [(u, x, n) for iid, u, x, n in zip(notes["indicator_id"], notes["unit_id"], notes["period"], notes["note"])
                if iid in ids[i] and periods.start(x) >= start and periods.end(x) <= end]
        out[i] = FigureContext(i, p, tuple(sources.get(i, ())), method_text(cat, i, lang), len(reported), expected[p],
                               ds.version, cat.break_note(i, lang) if cat.breaks(i) else "", lang,
                               tuple(f"{names.get(u, u)} · {period_label(x, lang)}: {n}" for u, x, n in mine))
    return out


def trend_title(cat, indicator_id: str, lang: str) -> str:
    """The title of the province-wide trend, naming what it is: the root unit's total or rate, or the
    mean of its units (for PAPI: of the provinces of Viet Nam, not a province)."""
    ind = cat.indicator(indicator_id)
    root = cat.units[cat.units["level"] == "province"]
    name = "" if root.empty else root.iloc[0]["short_name_vi" if lang == "vi" else "name_en"]
    added = ind["rollup"] == "derived" or ind["measure"] == "count"
    return t("scope.total" if added else "scope.mean", lang, indicator=ind[column("short", lang)],
             root=name)


def period_sources(ds: Dataset, indicator_id: str, level: str | None, years: tuple[int, int],
                   lang: str) -> pd.DataFrame:
    """Where each quarter's figures come from (typed uploads or records, by their stored source):
    period, source (labels, most rows first). A series whose source changes shows it here."""
    df = ds.sql("""SELECT period, coalesce(source, '') AS source, count(*) AS n FROM obs
                   WHERE indicator_id IN (SELECT unnest(?)) AND unit_id IN (SELECT unnest(?))
                     AND period_start >= make_date(?, 1, 1) AND period_start < make_date(?, 1, 1)
                   GROUP BY ALL ORDER BY period, n DESC, source""",
                [rollups.stored_ids(ds.catalog, indicator_id), rollups.level_units(ds, level), years[0], years[1] + 1])
    labels = df.assign(source=[source_label(x, lang) for x in df["source"]]).drop_duplicates(["period", "source"])
    return labels.groupby("period", as_index=False, sort=True)["source"].agg("; ".join)
