"""Numbers from dossier records, computed over the rows DuckDB reads from the data files of one
records version: the nine quarterly counts with numpy (`counting`), and the drill-down's tables of
a unit and quarter with numpy over its dossiers open in the quarter (`quarter`).

Definitions (the deadline edge; all days are Viet Nam calendar days):
- resolved late: resolved_at after due_at, even by one second;
- resolved on time: resolved_at at or before due_at, on the due date itself;
- resolved early: resolved on a calendar day before the due date;
- in progress at the end of a quarter: received before the end and not resolved by then;
  overdue if due_at is before the end of the quarter, else not yet due;
- carried over into a quarter: received before it starts and not resolved by then;
- processing time: resolved_at − received_at; allowed time: due_at − received_at (calendar days,
  the deadline the system set, which already counts working days and holidays).
A dossier resolved exactly at the start of a quarter belongs to that quarter.

The quarterly counts the sync commits and those of the drill-down's trend and headline come from one
counter (`counting.QuarterCounter`), over the same dossiers: a unit's figure for a quarter covers
the units it holds at the quarter's end (`Catalog.holders`, the rule for merged units), in the sync
and in the drill-down (`Held`), so they agree by construction.
"""

from __future__ import annotations

import functools
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from reformkpi import kept, periods
from reformkpi.catalog import Catalog
from reformkpi.metrics.datasets import Dataset
from reformkpi.auth import Actor, require
from reformkpi.records import counting, scan
from reformkpi.records import quarter as quarter_rows
from reformkpi.records.counting import COUNTS
from reformkpi.records.scan import bounds, select_list
from reformkpi.store import SOURCE_PREFIX, CommitInfo, CommitResult, Store

T = TypeVar("T")
TREND_QUARTERS = 8
FIGURE_THREADS = 2
# Rows of the quarter from which the figures are worth computing side by side: below, starting two
# threads and handing the figures over cost more than they save (alternated runs: 3,000 rows, 0.83×
# the wall time in one thread; 30,000, the same).
FIGURE_THREADS_FROM = 100_000
KEPT_BYTES = 512 * 2**20
# Drill-down statements a version keeps bound (a DuckDB cursor each; `Records.unit_rows`).
BOUND_QUERIES = 64
COUNT_BATCH_ROWS = 1 << 20
# What the drill-down's figures read of a dossier (never its id, status or upload).
DRILL_COLUMNS = ("procedure_code", "procedure_name", "channel", "received_at", "due_at", "resolved_at")


@dataclass(frozen=True)
class Held:
    """Whose dossiers the drill-down of a unit and quarter counts, quarter by quarter over its window
    (`window`), by the rule for merged units (`Catalog.standing`): in a quarter the unit is in
    office, those of the units it holds at the quarter's end, as the sync counts them (`held`); in a
    quarter before, those its predecessors then in office held, combined (own False: never the unit's own)."""

    unit_id: str
    quarters: tuple[tuple[str, tuple[str, ...], bool], ...]  # (quarter, units counted, own), oldest first

    @classmethod
    def of(cls, cat: Catalog, unit_id: str, quarter: str) -> Held:
        out = []
        for q in periods.quarters_between(*window(quarter)):
            standing = cat.standing(unit_id, q)
            out.append((q, tuple(sorted(cat.held(standing.units, q))), standing.own))
        return cls(unit_id, tuple(out))

    @classmethod
    def alone(cls, unit_id: str, quarter: str) -> Held:
        """The unit's own dossiers in every quarter (a catalog where nothing merged)."""
        return cls(unit_id, tuple((q, (unit_id,), True) for q in periods.quarters_between(*window(quarter))))

    def units(self, quarter: str) -> tuple[str, ...]:
        return next(units for q, units, _ in self.quarters if q == quarter)

    @property
    def read(self) -> tuple[str, ...]:
        """Every unit whose dossiers some quarter counts."""
        return tuple(sorted({u for _, units, _ in self.quarters for u in units}))


def held(unit: str | Held, quarter: str) -> Held:
    """A unit id alone counts its own dossiers (`Held.alone`); a `Held` says whose."""
    return unit if isinstance(unit, Held) else Held.alone(unit, quarter)


class Records:
    """The records of one version: a DuckDB connection over its data files."""

    def __init__(self, file_list: list[scan.DataFile], version: int | None = None, store: Store | None = None):
        self.version = version
        self.files = sorted(file_list, key=lambda f: f.quarter)
        self._con = scan.connect(store)
        self._con.execute("SET parquet_metadata_cache = true")  # Parquet footers are read once per file
        self._kept = kept.Kept(KEPT_BYTES)
        # The drill-down's statement of a unit and quarter, bound once and run again whenever its
        # rows are read anew (what was kept let go): binding it (its files' schemas, its parameters)
        # costs DuckDB a tenth of reading a small unit's rows. Only `unit_rows` runs one, and never
        # two at once: Kept computes a key once at a time. Through a weak reference: a cycle would
        # keep an old version's Records, and all it keeps, until the garbage collector's next pass.
        self._bound = functools.lru_cache(maxsize=BOUND_QUERIES)(functools.partial(Records.unit_query,
                                                                                   weakref.proxy(self)))

    @classmethod
    def open(cls, store: Store, version: int | None = None) -> Records:
        if not scan.exists(store):
            return cls([], None)
        v = scan.version(store) if version is None else version
        return cls(scan.files(store, v), v, store)

    def scan(self, upto: str | None = None, since: str | None = None) -> str:
        """FROM clause over the files that can hold dossiers open at some moment from the start of
        quarter `since` to the end of quarter `upto`: later partitions hold nothing received by then,
        and a file whose dossiers were all resolved before `since` is skipped (Delta statistics)."""
        start = bounds(since)[0] if since else None
        return scan.scan_sql([f.path for f in self.files if (upto is None or f.quarter <= upto)
                               and (start is None or f.may_be_open_at(start))])

    def cursor(self):
        # A cursor per query: Streamlit runs sessions on several threads.
        return self._con.cursor()

    def sql(self, query: str, params: dict | None = None) -> pd.DataFrame:
        return self.cursor().execute(query, params or {}).df()

    def keep(self, key: tuple, make: Callable[[], T]) -> T:
        """A value computed from this version's records, kept with what its drill-downs read (`key` names it)."""
        return self._kept.get(key, make)

    def unit_query(self, unit: str | Held, quarter: str) -> duckdb.DuckDBPyRelation:
        """The dossiers of the units a drill-down reads (`Held.read`) open at some moment of the
        window of `quarter`, with the columns its figures read (DRILL_COLUMNS, and the position of
        each row's unit in `Held.read` as unit_code when there are several); procedures only on the
        rows open at some moment of the quarter, the only ones whose procedure a figure names: text
        is most of the cost of DuckDB's handing rows over to Arrow."""
        ids = held(unit, quarter).read
        since, upto = window(quarter)
        in_quarter = "received_at < $qe AND (resolved_at IS NULL OR resolved_at >= $qs)"
        columns = [f"CASE WHEN {in_quarter} THEN {c} END AS {c}" if c.startswith("procedure_") else c
                   for c in DRILL_COLUMNS]
        unit_params = {f"u{i}": u for i, u in enumerate(ids)}
        if len(ids) > 1:
            columns.append("CASE unit_id " + " ".join(f"WHEN ${k} THEN {i}" for i, k in enumerate(unit_params))
                           + " END::UINTEGER AS unit_code")
        (s, _), (_, e), (qs, qe) = bounds(since), bounds(upto), bounds(quarter)
        # Plain comparisons, so that DuckDB skips row groups on their statistics.
        return self.cursor().sql(
            f"""SELECT {select_list(columns)} FROM {self.scan(upto, since)}
                WHERE unit_id IN ({', '.join(f'${k}' for k in unit_params)}) AND received_at < $e
                  AND (resolved_at IS NULL OR resolved_at >= $s)""",
            params={**unit_params, "s": s, "e": e, "qs": qs, "qe": qe})

    def unit_rows(self, unit: str | Held, quarter: str) -> UnitRows:
        """What the drill-down of a unit and quarter reads (`unit_query`), in one pass, kept (the
        Records of a version is shared by every session, and so is what it keeps). The rows stream
        through: each batch is counted by quarter and unit for the trend, and only the dossiers of
        the units the quarter counts open at some moment of it are kept, so the window's rows are
        never all held at once."""
        h = held(unit, quarter)

        def make():
            ids = list(h.read)
            reader = self._bound(h, quarter).to_arrow_reader(counting.CHUNK_ROWS)
            counter = counting.QuarterCounter(*window(quarter))
            s, e = (counting.micros_of(t) for t in bounds(quarter))
            counted = np.array([u in h.units(quarter) for u in ids])  # by unit_code
            columns: dict[str, list[np.ndarray]] = {k: [] for k in ("received", "due", "resolved", "outcome", "channel")}
            codes, names, read = [], [], 0
            for batch in counting.gathered(reader):
                read += batch.num_rows
                for chunk in counting.chunks(batch):
                    if len(ids) == 1:
                        instants = counter.add_chunk(chunk, ids[0])
                        keep = np.full(chunk.num_rows, counted[0])
                    else:
                        instants = counter.add_chunk(chunk, coded=ids)
                        keep = counted[np.asarray(chunk["unit_code"])]
                    # Open at some moment of the quarter (an open dossier's resolution: NEVER).
                    keep &= np.less(instants.received, e) & np.greater_equal(instants.resolved, s)
                    for k, values in columns.items():
                        values.append(getattr(instants, k)[keep])
                    mask = pa.array(keep)
                    codes.append(chunk["procedure_code"].filter(mask))
                    names.append(chunk["procedure_name"].filter(mask))
            return UnitRows(read, quarter_rows.QuarterRows.of(s, e, columns, codes, names), _held_counts(h, counter))
        return self._kept.get(("unit_rows", h, quarter), make)


def _held_counts(h: Held, counter: counting.QuarterCounter) -> HeldCounts:
    """Per quarter of the window, the COUNTS of the units it counts (`Held`), summed, and own: the
    quarters some of those units' dossiers touch."""
    ids, counts, touching = counter.arrays()
    whose = {q: units for q, units, _ in h.quarters}
    own = {q: o for q, _, o in h.quarters}
    counted = np.array([[u in whose.get(q, ()) for q in counter.quarters] for u in ids],
                       dtype=bool).reshape(touching.shape)
    keep = (touching & counted).any(axis=0)
    # Text periods as pandas makes them; none counted at all: as `counting.empty`.
    periods_kept = pd.array(np.array(counter.quarters, dtype=object)[keep], dtype="str" if ids else object)
    return HeldCounts(periods_kept, {c: np.where(counted, v, 0).sum(axis=0)[keep] for c, v in counts.items()},
                      np.asarray([own[q] for q in periods_kept]))


@dataclass(frozen=True)
class HeldCounts:
    """Per quarter of a drill-down's window that dossiers of the units it counts touch (`Held`):
    their COUNTS summed, and own. Arrays, not a frame: the trend and the comparison with the stored
    counts read a few values of it, which cost pandas more to find than numpy."""

    period: pd.api.extensions.ExtensionArray  # text, oldest first
    counts: dict[str, np.ndarray]  # of each of COUNTS, by period
    own: np.ndarray

    def of(self, quarter: str) -> dict[str, int]:
        """The COUNTS in `quarter` (zeros if no dossier touches it)."""
        at = np.flatnonzero(np.asarray(self.period) == quarter)
        return {c: int(v[at[0]]) if at.size else 0 for c, v in self.counts.items()}

    @property
    def nbytes(self) -> int:
        return self.period.nbytes + self.own.nbytes + sum(v.nbytes for v in self.counts.values())


@dataclass(frozen=True)
class UnitRows:
    """What a drill-down reads of a unit (`Records.unit_rows`)."""

    read: int  # the dossiers of the units it reads open at some moment of the drill-down's window
    touching: quarter_rows.QuarterRows  # of those, the ones the quarter counts open at some moment of it
    counts: HeldCounts  # of the units each quarter counts (`Held`)

    @property
    def nbytes(self) -> int:
        return self.touching.nbytes + self.counts.nbytes


def window(quarter: str) -> tuple[str, str]:
    """The quarters a drill-down of `quarter` shows: TREND_QUARTERS up to it (the backlog trend)."""
    first = quarter
    for _ in range(TREND_QUARTERS - 1):
        first = periods.previous(first)
    return first, quarter


# --- quarterly counts, as the catalog's dossier indicators ---

def quarters(rec: Records) -> list[str]:
    """Quarters in which records were received, oldest first."""
    return sorted({f.quarter for f in rec.files})


def complete_quarters(rec: Records) -> list[str]:
    """Quarters whose counts the records fully determine: all but the first of the export,
    whose carried-over dossiers were received before the export starts."""
    qs = quarters(rec)
    return periods.quarters_between(qs[1], qs[-1]) if len(qs) > 1 else []


def quarter_counts(rec: Records, quarter_list: list[str]) -> pd.DataFrame:
    """Per unit and quarter: the nine stored dossier counts of the catalog (columns COUNTS)."""
    if not quarter_list or not rec.files:
        return counting.empty()
    s, e = bounds(min(quarter_list))[0], bounds(max(quarter_list))[1]
    rows = rec.cursor().sql(
        f"""SELECT {select_list(counting.COLUMNS)} FROM {rec.scan(max(quarter_list), min(quarter_list))}
            WHERE received_at < $e AND (resolved_at IS NULL OR resolved_at >= $s)""",
        params={"s": s, "e": e})
    return counting.count(rows.to_arrow_reader(COUNT_BATCH_ROWS), quarter_list)


def derived_observations(rec: Records, cat: Catalog, quarter_list: list[str] | None = None) -> pd.DataFrame:
    """The counts as observations (source `records:v<version>`), ready for Store.commit_observations.

    A figure belongs to the unit in office at the end of its quarter: dossiers of a unit that has
    merged are counted for its successor, and those of a unit gone with no successor are not stored.
    """
    quarter_list = complete_quarters(rec) if quarter_list is None else quarter_list
    wide = quarter_counts(rec, quarter_list)
    holder = {p: cat.holders(p) for p in quarter_list}
    wide["unit_id"] = [holder[p].get(u) for u, p in zip(wide["unit_id"], wide["period"])]
    wide = wide.dropna(subset=["unit_id"]).groupby(["unit_id", "period"], as_index=False)[list(COUNTS)].sum()
    long = wide.melt(id_vars=["unit_id", "period"], var_name="indicator_id", value_name="value")
    long["indicator_id"] = "dossier." + long["indicator_id"]
    long["period_start"] = long["period"].map(periods.start)
    long["value"] = long["value"].astype(float)
    long["source"] = f"{SOURCE_PREFIX}{rec.version}"
    return long


def sync_counts(store: Store, rec: Records, actor: Actor | None, info: CommitInfo) -> CommitResult:
    """Write the counts the records determine into the observations, in one commit (the actor
    needs the upload permission: auth.PermissionDenied otherwise).

    Where a quarter was typed in by hand too, the records win: the typed values stay in the
    history (the commit diffs them as changed rows), and every page shows one set of counts.
    """
    require(actor, "upload")
    cat = Catalog.from_tables(store.read_catalog())
    return store.commit_observations(derived_observations(rec, cat), info)


def origin(source: object) -> str:
    """Where an observation comes from, by its source: 'records' for counts derived from records, else 'upload'."""
    return "records" if isinstance(source, str) and source.startswith(SOURCE_PREFIX) else "upload"


def stored_counts(ds: Dataset, unit_id: str, quarter: str) -> pd.DataFrame:
    """The dossier counts the store holds for a unit and quarter (unit_id, indicator_id, period, value, source)."""
    return ds.sql("SELECT unit_id, indicator_id, period, value, source FROM obs "
                  "WHERE unit_id = ? AND period = ? AND indicator_id LIKE 'dossier.%'", [unit_id, quarter])


def compare_with_stored(rec: Records, stored: pd.DataFrame, unit: str | Held, quarter: str) -> pd.DataFrame:
    """The counts of a unit and quarter from records beside the stored observations.

    `stored`: observation rows (unit_id, indicator_id, period, value, source). Columns:
    indicator_id, from_records, stored, origin ('records', 'upload' or None), equal.
    """
    row = _quarter_counts(rec, unit, quarter)
    # A left join by position, as a merge on indicator_id makes it (each count beside every stored
    # row of its indicator, in order; missing where none), in numpy on the stored frame's own
    # arrays: a merge, or pandas' filters and text methods, cost milliseconds for nine rows.
    mine = np.flatnonzero((stored["unit_id"].to_numpy() == held(unit, quarter).unit_id)
                          & (stored["period"].to_numpy() == quarter))
    rows_of: dict[str, list[int]] = {}
    for j, indicator in zip(mine.tolist(), stored["indicator_id"].to_numpy()[mine]):
        rows_of.setdefault(indicator, []).append(j)
    pairs = [(c, j) for c in COUNTS for j in rows_of.get(f"dossier.{c}", [-1])]
    at = np.array([j for _, j in pairs], dtype=np.intp)
    from_records = np.array([row[c] for c, _ in pairs], dtype=np.int64)
    value = stored["value"].array.take(at, allow_fill=True)
    stored_sources = stored["source"].array.take(at, allow_fill=True)
    source = pd.array([origin(v) if j >= 0 else np.nan for v, j in zip(stored_sources, at)], dtype="str")
    values = np.asarray(value)
    known = ~pd.isna(values)
    equal = values == from_records
    if not known.all():  # missing where no value is stored, as pandas' `where` leaves it
        equal = equal.astype(object)
        equal[~known] = np.nan
    return pd.DataFrame({"indicator_id": [f"dossier.{c}" for c, _ in pairs], "from_records": from_records,
                         "stored": value, "origin": source, "equal": equal}, copy=False)


# --- the drill-down of a unit and quarter ---

def units_with_records(rec: Records, quarter: str, holders: dict[str, str] | None = None) -> list[str]:
    """Units with dossiers open at some moment of the quarter, most dossiers first; given the
    quarter's `Catalog.holders`, the units in office that answer for them (the rule for merged
    units: what the drill-down of each counts)."""
    if not rec.files:
        return []
    s, e = bounds(quarter)
    df = rec.sql(f"""SELECT unit_id, count(*) AS n FROM {rec.scan(quarter, quarter)}
                       WHERE received_at < $e AND coalesce(resolved_at, 'infinity'::TIMESTAMPTZ) >= $s
                       GROUP BY unit_id""", {"s": s, "e": e})
    if holders is not None:
        df = df.assign(unit_id=df["unit_id"].map(holders)).dropna().groupby("unit_id", as_index=False)["n"].sum()
    return df.sort_values(["n", "unit_id"], ascending=[False, True])["unit_id"].tolist()


def _quarter_counts(rec: Records, unit: str | Held, quarter: str) -> dict[str, int]:
    """The unit's COUNTS in the quarter (zeros if no dossier touches it)."""
    return rec.unit_rows(unit, quarter).counts.of(quarter)


def summary(rec: Records, unit: str | Held, quarter: str) -> dict:
    """Headline figures: received, resolved (by outcome), late rate, open and overdue at the end,
    median and 90th percentile processing days against the median allowed days, online share."""
    c = _quarter_counts(rec, unit, quarter)
    out: dict[str, Any] = {
        "received": int(c["received_online"] + c["received_in_person"] + c["received_post"]),
        "received_online": int(c["received_online"]),
        "resolved": int(c["resolved_early"] + c["resolved_on_time"] + c["resolved_late"]),
        "early": int(c["resolved_early"]), "on_time": int(c["resolved_on_time"]), "late": int(c["resolved_late"]),
        "open": int(c["pending_not_due"] + c["pending_overdue"]), "overdue": int(c["pending_overdue"])}
    out.update(quarter_rows.times(rec.unit_rows(unit, quarter).touching))
    out["late_rate"] = 100 * out["late"] / out["resolved"] if out["resolved"] else None
    out["online_share"] = 100 * out["received_online"] / out["received"] if out["received"] else None
    return out


def procedures(rec: Records, unit: str | Held, quarter: str) -> quarter_rows.Procedures:
    """Per procedure of the unit's dossiers open in the quarter, for the two tables below, kept
    (`quarter.procedures` says the columns)."""
    return rec.keep(("procedures", held(unit, quarter), quarter),
                    lambda: quarter_rows.procedures(rec.unit_rows(unit, quarter).touching))


def late_procedures(rec: Records, unit: str | Held, quarter: str, limit: int = 10) -> pd.DataFrame:
    """Procedures with the most dossiers resolved late or overdue at the end of the quarter.

    Columns: procedure_code, procedure_name, resolved, late, overdue_open, late_rate (% of
    resolved), median_days_late (of the late ones).
    """
    p = procedures(rec, unit, quarter)
    return _top(p, p["late"] + p["overdue_open"], limit,
                ("procedure_code", "procedure_name", "resolved", "late", "overdue_open", "late_rate", "median_days_late"))


def processing_times(rec: Records, unit: str | Held, quarter: str, limit: int = 10) -> pd.DataFrame:
    """Processing days of the dossiers resolved in the quarter, for the procedures with most of them.

    Columns: procedure_code, procedure_name, resolved, median_days, p90_days, allowed_days
    (median allowed time), late_rate.
    """
    p = procedures(rec, unit, quarter)
    return _top(p, p["resolved"], limit,
                ("procedure_code", "procedure_name", "resolved", "median_days", "p90_days", "allowed_days", "late_rate"))


def _top(p: quarter_rows.Procedures, n: np.ndarray, limit: int, columns: tuple[str, ...]) -> pd.DataFrame:
    """The `columns` of the first `limit` procedures of `p` (`procedures`) by n, most first (ties
    by code), among those with n > 0. In numpy and one frame made: a few procedures' rows cost
    pandas more to filter and sort than to build."""
    codes = np.asarray(p["procedure_code"])
    order = np.array(sorted(np.flatnonzero(n > 0), key=lambda i: (-n[i], codes[i]))[:limit], dtype=np.intp)
    return pd.DataFrame({c: p[c].take(order) for c in columns}, copy=False)


def overdue_days(rec: Records, unit: str | Held, quarter: str) -> pd.DataFrame:
    """How late, in started days past due_at (one second late is day 1), for dossiers resolved late
    in the quarter and for those open and overdue at its end (counted to the end of the quarter).

    Columns: lo, hi, resolved_late, open_overdue.
    """
    return quarter_rows.overdue_days(rec.unit_rows(unit, quarter).touching)


def backlog_ageing(rec: Records, unit: str | Held, quarter: str) -> pd.DataFrame:
    """Dossiers open at the end of the quarter by age (whole days since received): lo, hi, not_due, overdue."""
    return quarter_rows.backlog_ageing(rec.unit_rows(unit, quarter).touching)


def channels(rec: Records, unit: str | Held, quarter: str) -> pd.DataFrame:
    """Online, in person and by post: received in the quarter, and of those resolved in it the
    late rate and median processing days. Columns: channel, received, resolved, late_rate, median_days."""
    return quarter_rows.channels(rec.unit_rows(unit, quarter).touching)


def backlog_trend(rec: Records, unit: str | Held, quarter: str) -> pd.DataFrame:
    """The unit's flow over the TREND_QUARTERS quarters up to `quarter`: is the backlog growing?

    Columns: period, received, resolved, pending_not_due, pending_overdue, own (False: a quarter
    before the unit was in office, its predecessors' dossiers combined).
    """
    first = max(window(quarter)[0], quarters(rec)[0]) if rec.files else quarter
    c = rec.unit_rows(unit, quarter).counts
    keep = np.asarray(c.period) >= first
    col = c.counts.__getitem__
    return pd.DataFrame({"period": c.period[keep],
                         "received": (col("received_online") + col("received_in_person") + col("received_post"))[keep],
                         "resolved": (col("resolved_early") + col("resolved_on_time") + col("resolved_late"))[keep],
                         "pending_not_due": col("pending_not_due")[keep],
                         "pending_overdue": col("pending_overdue")[keep], "own": c.own[keep]}, copy=False)


@dataclass(frozen=True)
class DrillDown:
    """Every figure of the drill-down of a unit and quarter, each as its function above returns it."""

    summary: dict
    late_procedures: pd.DataFrame
    processing_times: pd.DataFrame
    overdue_days: pd.DataFrame
    backlog_ageing: pd.DataFrame
    channels: pd.DataFrame
    backlog_trend: pd.DataFrame


def drill_down(rec: Records, unit: str | Held, quarter: str) -> DrillDown:
    """Every figure of a unit and quarter, from one read of the unit's rows (`Records.unit_rows`),
    computed two at a time once they are read when the quarter has many (numpy lets go of the GIL
    while it sorts and counts), and kept."""
    def make():
        figures = (late_procedures, summary, channels, overdue_days, backlog_ageing, processing_times, backlog_trend)
        if len(rec.unit_rows(unit, quarter).touching.received) < FIGURE_THREADS_FROM:
            return DrillDown(**{f.__name__: f(rec, unit, quarter) for f in figures})
        with ThreadPoolExecutor(FIGURE_THREADS) as pool:
            jobs = {f.__name__: pool.submit(f, rec, unit, quarter) for f in figures}
        return DrillDown(**{name: job.result() for name, job in jobs.items()})
    return rec.keep(("drill_down", held(unit, quarter), quarter), make)
