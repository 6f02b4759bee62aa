"""What a page's chart or table carries into a file: the frame the core computed for it, with
headers in the interface language, figures at the precision the page shows, a header block
(indicator, period, formula, target, source, coverage, data version) and a takeaway computed
from the same frame (units below target and the largest gap, the latest change, the widest
rank swing, the weakest cell), never read back from a chart or its title.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from reformkpi import formatting, periods
from reformkpi.catalog import Catalog
from reformkpi.i18n import column, t, tn
from reformkpi.context import figure_context
from reformkpi.metrics import comparability, ranking, views
from reformkpi.metrics.datasets import Dataset, unit_names

# Decimals a kind of figure is shown with when its indicator does not say (an indicator's own
# `decimals`, the precision it is published with, wins: the pages show the same).
DECIMALS = {"percent": 1, "points": 2, "score": 2, "days": 1, "count": 0, "integer": 0, "number": 1, "gap": 1,
            "mean": 1, "spread": 2}


def xlsx_format(kind: str, decimals: int | None) -> str | None:
    """The spreadsheet number format of a figure, at its precision: percent figures are kept in
    percent units (77.4 shown as 77,4%)."""
    if kind not in DECIMALS or decimals is None:
        return None
    digits = "0" + ("." + "0" * decimals if decimals else "")
    if kind in ("percent", "points"):
        return digits + '"%"'
    if kind == "gap":
        return f"+{digits};-{digits};{digits}"
    return "#,##" + digits if kind in ("count", "number") else digits

# Columns of the core's frames that leave the dashboard: header key and kind. "measure" is the
# indicator's own measure; the rest (ids, flags, short names) stay inside.
KNOWN = {
    "rank": ("table.rank", "integer"), "name": ("table.unit", "text"), "period": ("table.period", "period"),
    "indicator_id": ("table.indicator", "indicator"), "grade_label": ("table.grade", "text"),
    "value": ("table.value", "measure"), "change": ("table.change", "gap"), "target": ("table.target", "measure"),
    "gap": ("table.gap", "gap"), "peer_median": ("table.peer_median", "measure"),
    "num": ("table.num", "number"), "den": ("table.den", "number"), "lost": ("table.lost", "number"),
    "rank_change": ("table.rank_change", "integer"), "n_peers": ("table.n_peers", "integer"),
    "n_units": ("table.n_units", "integer"), "n_below": ("table.n_below", "integer"), "n": ("table.n_units", "integer"),
    "n_years": ("table.n_years", "integer"), "mean_rank": ("table.mean_rank", "mean"),
    "rank_sd": ("table.rank_sd", "spread"), "best_rank": ("table.best_rank", "integer"),
    "worst_rank": ("table.worst_rank", "integer"), "rank_range": ("table.rank_range", "integer"),
    "grade_changes": ("table.grade_changes", "integer"), "years_below": ("satisfaction.years_below", "integer"),
    "years_measured": ("table.years_measured", "integer"), "streak": ("satisfaction.streak", "integer"),
    "below_years": ("satisfaction.below_years", "text"), "last_value": ("satisfaction.last_value", "measure"),
    "last_gap": ("table.gap", "gap"), "target_source": ("table.target_source", "text"),
    # dossier records (reformkpi.records.metrics)
    "procedure_name": ("table.procedure", "text"), "channel": ("table.channel", "text"),
    "received": ("table.received", "count"), "resolved": ("table.resolved", "count"), "late": ("table.late", "count"),
    "overdue_open": ("table.overdue_open", "count"), "late_rate": ("table.late_rate", "percent"),
    "median_days": ("table.median_days", "days"), "p90_days": ("table.p90_days", "days"),
    "allowed_days": ("table.allowed_days", "days"), "lo": ("table.days_from", "integer"),
    "hi": ("table.days_to", "integer"), "resolved_late": ("table.resolved_late", "count"),
    "open_overdue": ("table.open_overdue", "count"), "pending_not_due": ("table.pending_not_due", "count"),
    "pending_overdue": ("table.pending_overdue", "count"),
}


@dataclass(frozen=True)
class Column:
    header: str
    kind: str  # text, or a key of DECIMALS
    decimals: int | None = None  # the indicator's; None: the kind's usual ones
    rows: tuple[tuple[str, int | None], ...] = ()  # (kind, decimals) per row: rows of different indicators, a new unit


@dataclass(frozen=True)
class Header:
    """The header block of an export, worded in `lang`. A field left empty is not printed (coverage:
    when the core knows it)."""

    source: str
    data_version: int
    indicator: str = ""
    period: str = ""
    formula: str = ""
    target: str = ""
    documents: str = ""  # the figures' own sources: documents, systems, records versions (FigureContext)
    coverage: str = ""  # units with a figure of those expected (FigureContext)
    snapshot: str = ""
    method: str = ""  # how the figure is computed and the precision it is compared at (FigureContext)
    compared: str = ""  # what changes are taken over, or why there are none (comparability)
    context: str = ""  # the line the page prints under the figure (FigureContext.summary)
    lang: str = field(kw_only=True)  # the language of the fields, and of their labels

    def lines(self) -> list[tuple[str, str]]:
        rows = [("header.indicator", self.indicator), ("header.period", self.period), ("header.formula", self.formula),
                ("header.target", self.target), ("header.source", self.source), ("header.documents", self.documents),
                ("header.coverage", self.coverage), ("header.method", self.method), ("header.compared", self.compared),
                ("header.data_version", str(self.data_version)), ("header.snapshot", self.snapshot)]
        return [(t(key, self.lang), value) for key, value in rows if value]


@dataclass(frozen=True)
class Exhibit:
    """A chart's or a table's data as it leaves: title, takeaway, header block and the table itself,
    worded once in the header's language (exhibit): files and the page's text alternative show it."""

    title: str
    takeaway: str
    header: Header
    table: pd.DataFrame  # headers in the interface language, figures rounded as shown
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def cell_kinds(self) -> list[list[tuple[str, int | None]]]:
        """The kind and decimals of each cell of `table`, row by row."""
        by_header = {c.header: c for c in self.columns}
        cols = [by_header.get(h, Column(str(h), "text")) for h in self.table.columns]
        spec = [(c.kind, c.decimals if c.decimals is not None else DECIMALS.get(c.kind)) for c in cols]
        return [[c.rows[i] if c.rows else k for c, k in zip(cols, spec)] for i in range(len(self.table))]

    @property
    def lang(self) -> str:
        return self.header.lang

    def context_line(self) -> str:
        """What an export prints under the chart or table: the page's line under it (source ·
        coverage · data version), else the dataset and its version; then the snapshot it shows."""
        h, lang = self.header, self.lang
        line = h.context or " · ".join((t("context.source", lang, source=h.source),
                                        t("context.version", lang, version=h.data_version)))
        return line + (f" · {t('header.snapshot', lang)}: {h.snapshot}" if h.snapshot else "")

    def header_lines(self) -> list[tuple[str, str]]:
        first = [(t("header.title", self.lang), self.title)] + ([(t("header.takeaway", self.lang), self.takeaway)]
                                                                if self.takeaway else [])
        return first + self.header.lines()


def _kind(kind: str, measure: str) -> str:
    return measure if kind == "measure" else kind


def _round(values: pd.Series, decimals: int) -> pd.Series:
    numbers = formatting.rounded_column(values, decimals)
    return numbers.astype("Int64") if decimals == 0 else numbers


def _suffix(kind: str, lang: str) -> str:
    if kind in ("percent", "points"):
        return " (%)"
    return f" ({t('unit.points', lang)})" if kind == "gap" else ""


def _leaves(col, indicator_ids) -> bool:
    """A column of a core frame that `table` shows: a known one, an indicator's, a period's."""
    return col in KNOWN or col in indicator_ids or (isinstance(col, str) and periods.is_period(col))


def table_rows(frame: pd.DataFrame, cat: Catalog) -> int:
    """How many rows `table` makes of `frame`, without making them: its rows, none if no column
    of it is shown (a frame of units is: their names are)."""
    df = frame.reset_index() if frame.index.name == "unit_id" else frame
    ids = set(cat.indicators["indicator_id"])
    return len(df) if "unit_id" in df or any(_leaves(c, ids) for c in df.columns) else 0


def table(frame: pd.DataFrame, cat: Catalog, indicator_id: str | None, lang: str) -> tuple[pd.DataFrame, tuple[Column, ...]]:
    """The frame as people read it: unit names for ids, indicator names for indicator ids,
    period labels, headers with their unit, figures rounded to the precision the page shows."""
    df = frame.reset_index() if frame.index.name == "unit_id" else frame.reset_index(drop=True)
    measure = cat.indicator(indicator_id)["measure"] if indicator_id else "number"
    if "unit_id" in df and "name" not in df:
        df.insert(0, "name", df["unit_id"].map(cat.units.set_index("unit_id")[column("name", lang)]))
        if "kind" in df:  # a unit's history (metrics.views.unit_history): its predecessors' combined row named so
            df.loc[df["kind"] == "combined", "name"] = t("unit.combined_series", lang)
    short = column("short", lang)
    ind_names = dict(zip(cat.indicators["indicator_id"], cat.indicators[short]))
    ind_measures = dict(zip(cat.indicators["indicator_id"], cat.indicators["measure"]))
    ind_decimals = {i: int(d) if str(d).strip() not in ("", "nan") else DECIMALS.get(m, 1) for i, d, m in zip(
        cat.indicators["indicator_id"], cat.indicators.get("decimals", cat.indicators["measure"].map(DECIMALS)),
        cat.indicators["measure"])}
    decimals = ind_decimals[indicator_id] if indicator_id else None
    row_measures = tuple(df["indicator_id"].map(ind_measures)) if "indicator_id" in df else ()
    row_decimals = tuple(df["indicator_id"].map(ind_decimals)) if "indicator_id" in df else ()
    mixed = len(set(zip(row_measures, row_decimals))) > 1
    out, columns = {}, []
    for col in df.columns:
        if not _leaves(col, ind_names):
            continue
        if col in KNOWN:
            key, kind = KNOWN[col]
            if kind == "measure" and mixed:
                header = t(key, lang) + (" (%)" if set(row_measures) <= {"percent", "points"} else "")
                out[header] = [v if pd.isna(v) else formatting.rounded(v, d) for v, d in zip(df[col], row_decimals)]
                columns.append(Column(header, "by_row", None, tuple(zip(row_measures, row_decimals))))
                continue
            places = decimals if kind in ("measure", "gap") else None
            kind = _kind(kind, measure)
            header = t(key, lang)
            if col == "value" and indicator_id and "indicator_id" not in df:
                header = ind_names[indicator_id]
        elif col in ind_names:
            kind, header, places = ind_measures[col], ind_names[col], ind_decimals[col]
        else:  # a period's
            kind, header, places = measure, formatting.period_label(col, lang), decimals
        values = df[col]
        if kind == "period":
            values, kind = values.map(lambda p: formatting.period_label(str(p), lang)), "text"
        elif kind == "indicator":
            values, kind = values.map(ind_names), "text"
        header += _suffix(kind, lang)
        places = places if places is not None else DECIMALS.get(kind)
        if col == "rank_change" and "is_new" in df:  # a unit new in office: "new", as the page says
            new = df["is_new"].astype(bool).tolist()
            out[header] = [t("table.new", lang) if n else v for n, v in zip(new, _round(values, 0))]
            columns.append(Column(header, "by_row", None, tuple(("text", None) if n else (kind, 0) for n in new)))
            continue
        out[header] = _round(values, places).tolist() if places is not None and kind in DECIMALS else values.tolist()
        columns.append(Column(header, kind, places if kind in DECIMALS else None))
    return pd.DataFrame(out), tuple(columns)


def _short(cat: Catalog, indicator_id: str, lang: str) -> str:
    return cat.indicator(indicator_id)[column("short", lang)]


def _against_target(df: pd.DataFrame, names: pd.Series, m: pd.Series, lang: str) -> str:
    """Units against their targets: how many miss, who is furthest, who improved most (by the
    indicator's direction: for a late rate, the largest fall)."""
    measured = df[df["gap"].notna()]
    if measured.empty:
        return ""
    worst = measured["gap"].idxmin()
    parts = [t("takeaway.below", lang, n=int((measured["gap"] < 0).sum()), total=len(measured),
               target=formatting.value(measured["target"].mode().iloc[0], m, lang))]
    if measured.loc[worst, "gap"] < 0:
        parts.append(t("takeaway.largest_gap", lang, name=names.loc[worst],
                       gap=formatting.signed(measured.loc[worst, "gap"], lang, int(m["decimals"]))))
    better = df.get("change", pd.Series(dtype=float)) * (1 if m["direction"] == "higher_better" else -1)
    if better.notna().any() and better.max() > 0:
        best = better.idxmax()
        parts.append(t("takeaway.most_improved", lang, name=names.loc[best],
                       change=formatting.signed(df.loc[best, "change"], lang, int(m["decimals"]))))
    return "; ".join(parts)


def _rank_swing(df: pd.DataFrame, names: pd.Series, lang: str) -> str:
    swing = df.groupby("unit_id")["rank"].agg(["min", "max"])
    unit = (swing["max"] - swing["min"]).idxmax()
    return t("takeaway.rank_swing", lang, name=names[df["unit_id"] == unit].iloc[0],
             best=int(swing.loc[unit, "min"]), worst=int(swing.loc[unit, "max"]))


def _weakest_part(df: pd.DataFrame, cat: Catalog, direction: str, m: pd.Series, lang: str) -> str:
    """A family's total and parts (SIPAS factors, PAR INDEX areas): the weakest one."""
    s = df.dropna(subset=["value"])
    if s.empty:
        return ""
    weakest = s["value"].idxmin() if direction == "higher_better" else s["value"].idxmax()
    name, value = _short(cat, s.loc[weakest, "indicator_id"], lang), formatting.value(s.loc[weakest, "value"], m, lang)
    if "gap" in s and pd.notna(s.loc[weakest, "gap"]):
        return t("takeaway.weakest_part", lang, name=name, value=value,
                 gap=formatting.signed(s.loc[weakest, "gap"], lang, int(m["decimals"])))
    return t("takeaway.latest", lang, period=name, value=value)


def _latest(df: pd.DataFrame, column: str, ds: Dataset, indicator_id: str, lang: str, unit_id: str | None) -> str:
    """A series over periods: the latest value and its change since the period before, where the
    two may be compared (comparability: no method break, no partial year).

    A unit's series (views.unit_history's `kind`, views.unit_flow's `own`) is read on its own rows
    only, never against a predecessor's, and compared where `comparability.for_unit` allows (its
    scope unchanged by a merger, `unit_id` or the own rows' unit; unknown: no change); a partial
    year is labelled with its months and not set against the whole year before it."""
    cat = ds.catalog
    m = cat.indicator(indicator_id)
    s = df.dropna(subset=[column])
    unit_series = "kind" in s or "own" in s
    if unit_series:
        s = s[s["kind"] == views.OWN] if "kind" in s else s[s["own"].astype(bool)]
    s = s.sort_values("period")
    if s.empty:
        return ""
    last = s.iloc[-1]
    if unit_series:
        unit = unit_id or (str(last["unit_id"]) if "unit_id" in s else None)
        c = comparability.compare(ds, indicator_id, periods.Period.parse(str(last["period"])))
        c = comparability.for_unit(cat, c, unit) if unit else c
        period = c.period_text(lang)
        joined = (unit is not None and c.comparable and not c.partial and len(s) > 1
                  and str(s.iloc[-2]["period"]) == c.previous)
    else:
        period = last["label"] if "label" in s else formatting.period_label(str(last["period"]), lang)  # a partial year's
        joined = len(s) > 1 and bool(comparability.joined(cat, indicator_id, s).iloc[-1])
    text = t("takeaway.latest", lang, period=period, value=formatting.value(last[column], m, lang))
    if joined:
        text += " " + t("takeaway.since", lang, change=formatting.signed(last[column] - s.iloc[-2][column], lang,
                                                                   int(m["decimals"])),
                        period=formatting.period_label(str(s.iloc[-2]["period"]), lang))
    return text


def _weakest_cell(df: pd.DataFrame, names: pd.Series, cat: Catalog, direction: str, m: pd.Series, lang: str) -> str:
    """A units × indicators (or × periods) matrix: its weakest cell."""
    ids = set(cat.indicators["indicator_id"])
    cols = [c for c in df.columns if c in ids or (isinstance(c, str) and periods.is_period(c))]
    cells = df[cols].apply(pd.to_numeric, errors="coerce").stack()
    if cells.empty:
        return ""
    row, col = cells.idxmin() if direction == "higher_better" else cells.idxmax()
    label = _short(cat, col, lang) if col in ids else formatting.period_label(col, lang)
    return t("takeaway.weakest_cell", lang, name=names.loc[row], column=label,
             value=formatting.value(cells.loc[(row, col)], m, lang))


def takeaway(frame: pd.DataFrame, ds: Dataset, indicator_id: str | None, lang: str, unit_id: str | None = None) -> str:
    """One line computed from the exhibit's own frame, by what the frame holds; `ds`: the data
    version the frame was computed from (its comparisons), `unit_id`: the unit a unit page's
    frames are of."""
    if frame.empty or not indicator_id:
        return ""
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    m, direction = ind, ind["direction"]  # m: what formatting.value reads (measure, decimals)
    df = frame.reset_index() if frame.index.name == "unit_id" else frame.reset_index(drop=True)
    names = df["name"] if "name" in df else df["unit_id"].map(unit_names(cat, lang)) if "unit_id" in df else None
    columns = set(df.columns)
    if names is not None and {"gap", "target"} <= columns and "period" not in columns:
        return _against_target(df, names, m, lang)
    if names is not None and {"rank", "period", "unit_id"} <= columns and df["period"].nunique() > 1:
        return _rank_swing(df, names, lang)
    if {"indicator_id", "period"} <= columns:  # one unit's indicators over the years: the page's indicator
        df = df[df["indicator_id"] == indicator_id].drop(columns="indicator_id")
        return _latest(df, "value", ds, indicator_id, lang, unit_id)
    if {"indicator_id", "value"} <= columns:
        return _weakest_part(df, cat, direction, m, lang)
    if {"period", "grade_label", "n"} <= columns:
        last = df[df["period"] == df["period"].max()]
        return t("takeaway.latest", lang, period=formatting.period_label(str(last["period"].iloc[0]), lang),
                 value=", ".join(f"{g} {n}" for g, n in zip(last["grade_label"], last["n"])))
    if names is not None and {"years_below", "years_measured"} <= columns:  # sorted most years below first
        return tn("takeaway.longest_below", int(df["years_measured"].iloc[0]), lang, name=names.iloc[0],
                  years=int(df["years_below"].iloc[0]))
    if names is not None and {"num", "den", "value"} <= columns and "period" not in columns:  # most first
        return tn("takeaway.most_late", int(df["num"].iloc[0]), lang, name=names.iloc[0],
                  n=formatting.number(df["num"].iloc[0], lang, 0),
                 rate=formatting.value(df["value"].iloc[0], m, lang))
    if "period" in columns and ("value" in columns or indicator_id in columns):
        return _latest(df, "value" if "value" in columns else indicator_id, ds, indicator_id, lang, unit_id)
    return "" if names is None else _weakest_cell(df, names, cat, direction, m, lang)


def exhibit(frame: pd.DataFrame, ds: Dataset, indicator_id: str | None, title: str, header: Header,
            unit_id: str | None = None) -> Exhibit:
    """The exhibit of a core frame computed from `ds` (of `unit_id`'s, on a unit's page): its
    table, its takeaway, its header block, in the header's language."""
    lang = header.lang
    shown, columns = table(frame, ds.catalog, indicator_id, lang)
    if {"scope_changed", "is_new", "name"} <= set(frame.columns) and (scope := ranking.scope_note(frame, lang)):
        header = replace(header, compared="; ".join(filter(None, (header.compared, scope))))  # the page's line
    return Exhibit(title, takeaway(frame, ds, indicator_id, lang, unit_id), header, shown, columns)


def description(ex: Exhibit) -> str:
    """A chart's text alternative, for a reader who cannot see it: what it shows (its title), how
    many rows of data it holds, and the takeaway its exports carry (the key figure)."""
    return describe(ex.title, len(ex.table), ex.takeaway, ex.lang)


def describe(title: str, rows: int, takeaway: str, lang: str) -> str:
    """`description` of an exhibit not made yet: its title, its table's rows (`table_rows`), its takeaway."""
    return " ".join(filter(None, (tn("chart.alt", rows, lang, title=title), takeaway)))


def header(ds: Dataset, indicator_id: str | None, source: str, lang: str, period: periods.Period | None = None,
           snapshot: str = "", level: str | None = None, unit_id: str | None = None) -> Header:
    """The header block of an indicator's exhibit: its name, the period its figures are of, formula,
    the province target with its document, and the core's context of its figures (their sources,
    coverage, method) over the units of `level` (None: every level), or of `unit_id` and its lineage."""
    version = ds.version if ds.version is not None else -1
    label = "" if period is None else formatting.period_label(period, lang)
    if not indicator_id:
        return Header(source, version, period=label, snapshot=snapshot, lang=lang)
    cat = ds.catalog
    ind = cat.indicator(indicator_id)
    targets = cat.targets[(cat.targets["indicator_id"] == indicator_id) & (cat.targets["unit_id"] == "")]
    if period is not None:
        targets = targets[(targets["year_from"] <= period.year) & (targets["year_to"] >= period.year)]
    target = "; ".join(f"{formatting.value(r['value'], ind, lang)} ({r['source']}, "
                       f"{r['year_from']}–{r['year_to']})" for _, r in targets.iterrows())
    ctx = figure_context(ds, indicator_id, period, level, lang, unit_id) if period is not None else None
    c = comparability.compare(ds, indicator_id, period) if period is not None else None
    if c and unit_id:  # a unit's own figures: not compared across a change of its scope
        c = comparability.for_unit(cat, c, unit_id)
    return Header(source, version, ind[column("name", lang)],
                  c.period_text(lang) if c and c.partial else label,
                  cat.formula_text(indicator_id, lang), target, ctx.source_text() if ctx else "",
                  ctx.coverage_text() if ctx else "", snapshot, ctx.method if ctx else "",
                  (c.reason_text(lang) or c.versus(lang)) if c else "", ctx.summary() if ctx else "", lang=lang)
