"""One data version loaded for reading: the observations, the catalog as it stood then and the
notes a view of it shows, in DuckDB; and what every page asks of it first (years, names).
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

from reformkpi import notes as notes_store
from reformkpi import periods
from reformkpi.catalog import Catalog
from reformkpi.i18n import column
from reformkpi.kept import Kept
from reformkpi.store import OBSERVATION_SCHEMA, OBSERVATIONS, Store, conform, parquet_list

P = ParamSpec("P")
T = TypeVar("T")
# Which upload wrote a row is the store's history, never a figure's.
UNREAD = "upload_id"
# A query over a view opens every file of the version: past this many files a table loaded once
# answers faster (at 300 files a query took 37–44 ms on the view, 6 ms on the table).
IN_PLACE_FILES = 32


class Dataset:
    """The observations of one data version with the catalog as it stood then, and the notes
    written on its figures up to that version."""

    def __init__(self, observations: pa.Table | list[str], catalog: Catalog, version: int | None = None,
                 notes: pd.DataFrame | None = None):
        """`observations`: the rows, or the local Parquet files that hold them (see Store.local_files)."""
        self.version = version
        self.catalog = catalog
        self._con = duckdb.connect()
        notes_table = (notes_store.SCHEMA.empty_table() if notes is None
                       else pa.Table.from_pandas(notes, schema=notes_store.SCHEMA, preserve_index=False))
        rows = conform(OBSERVATION_SCHEMA.empty_table() if isinstance(observations, list) else observations)
        rows = rows.drop_columns([UNREAD])
        # Tables, not registered views: registrations are not seen by the per-query cursors. The
        # catalog's frames as Arrow: DuckDB's scan of a pandas frame inspects its object columns
        # (the units' dates) value by value (units 38 ms at national scale, 7 through Arrow).
        for name, data in (("obs", rows), ("ind", pa.Table.from_pandas(catalog.indicators, preserve_index=False)),
                           ("units", pa.Table.from_pandas(catalog.units, preserve_index=False)),
                           ("notes", notes_table)):
            self._con.register("_src", data)
            self._con.execute(f"CREATE TABLE {name} AS SELECT * FROM _src")
            self._con.unregister("_src")
        if isinstance(observations, list) and len(observations) > IN_PLACE_FILES:
            # By name, into the store's column types: a file written before a column existed lacks it.
            self._con.execute(f"INSERT INTO obs BY NAME SELECT COLUMNS(lambda c: c <> '{UNREAD}') "
                              f"FROM {parquet_list(observations, union_by_name='true')}")
        elif isinstance(observations, list) and observations:
            self._read_in_place(observations)
        self._remembered = Kept(REMEMBERED_BYTES)
        self.unfit_periods = self._set_aside_unfit_periods()

    def _set_aside_unfit_periods(self) -> dict[str, int]:
        """Rows whose period is not canonical (written by an older version of the project, before
        the store refused them: `٢٠١٩` beside `2019`) are left out of every figure, counted by
        period for the pages to say so (`check` lists them). The distinct periods read here are
        the ones every page asks for first (`data_periods`), so a sound version pays nothing more."""
        found = data_periods(self, canonical_only=False)
        unfit = [p for p in found if not periods.is_canonical(p)]
        if not unfit:
            return {}
        views = self._con.execute("SELECT view_name FROM duckdb_views() WHERE view_name = 'obs'").fetchall()
        kind = "VIEW" if views else "TABLE"
        self._con.execute(f"ALTER {kind} obs RENAME TO obs_as_stored")
        listed = ", ".join("'" + p.replace("'", "''") + "'" for p in unfit)  # a view takes no parameters
        self._con.execute(f"CREATE VIEW obs AS SELECT * FROM obs_as_stored WHERE period IS NULL OR period NOT IN ({listed})")
        counts = self._con.execute("SELECT period, count(*) FROM obs_as_stored WHERE list_contains(?, period) "
                                   "GROUP BY period ORDER BY period", [unfit]).fetchall()
        return {p: int(n) for p, n in counts}

    def _read_in_place(self, files: list[str]) -> None:
        """`obs` as a view over the version's Parquet files (a few: IN_PLACE_FILES), each column as
        the store types it (NULL in files written before it existed). Loading them into a DuckDB
        table took 60% of opening a version at national scale, and a query reads a few
        dictionary-encoded files no slower than the table; their footers are read once."""
        self._con.execute("SET parquet_metadata_cache = true")
        source = parquet_list(files, union_by_name="true")
        present = {row[0] for row in self._con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        columns = ", ".join(f"CAST({name if name in present else 'NULL'} AS {kind}) AS {name}"
                            for name, kind, *_ in self._con.execute("DESCRIBE obs").fetchall())
        self._con.execute("DROP TABLE obs")
        self._con.execute(f"CREATE VIEW obs AS SELECT {columns} FROM {source}")

    @classmethod
    def open(cls, store: Store, version: int | None = None,
             catalog_versions: tuple[int, ...] | None = None, notes_until: dt.datetime | None = None) -> Dataset:
        """A version of the observations with the catalog at the given versions (default: current)
        and the notes a view of it shows (a snapshot's: those written up to `notes_until`)."""
        v = store.version() if version is None else version
        observations = store.local_files(OBSERVATIONS, v) or store.read(OBSERVATIONS, v)
        return cls(observations, Catalog.from_tables(store.read_catalog(catalog_versions)), v,
                   notes_store.read(store, v, notes_until))

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """The answer to a query (remembered: see `remember`)."""
        return self.remember(_answer, query, tuple(tuple(p) if isinstance(p, list) else p for p in params or []))

    def remember(self, fn: Callable[..., T], *args) -> T:
        """`fn(self, *args)`, computed once for this dataset (`reformkpi.kept`: REMEMBERED_BYTES in
        all).

        One data version never changes, so neither does an answer: a page asks for the same rows
        and figures several times (a KPI and its league table; the Overview's attention list, falls
        and tiles), and the app's shared cache cannot serve the core's calls to itself. A frame is
        handed out as a shallow copy: callers may add columns, copy-on-write keeps the rows kept.
        """
        value = self._remembered.get((fn, args), lambda: fn(self, *args))
        return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value

    def knows(self, fn: Callable[..., object], *args) -> bool:
        """Whether `fn(self, *args)` is remembered (without computing it)."""
        return (fn, args) in self._remembered

    def keep(self, value: object, fn: Callable[..., object], *args) -> None:
        """Remember `value` as `fn(self, *args)`, unless that is remembered already: for answers
        computed together in one pass, each then served as if its own function had computed it."""
        self._remembered.get((fn, args), lambda: value)


REMEMBERED_BYTES = 256 * 2**20


def _answer(ds: Dataset, query: str, params: tuple) -> pd.DataFrame:
    # A cursor per query: Streamlit runs sessions on several threads.
    return ds._con.cursor().execute(query, [list(p) if isinstance(p, tuple) else p for p in params]).df()


def remembered(fn: Callable[P, T]) -> Callable[P, T]:
    """A core function of a Dataset (its first argument) computed once per dataset and arguments,
    however they are passed (see Dataset.remember); with an argument that cannot be a key (a list),
    each time."""
    signature = inspect.signature(fn)
    if any(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in signature.parameters.values()):
        raise TypeError(f"{fn.__qualname__}: remembered functions take positional arguments only")

    @functools.wraps(fn)
    def once(*args: P.args, **kwargs: P.kwargs) -> T:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        ds, *rest = bound.args
        try:
            hash(tuple(rest))
        except TypeError:
            return fn(*args, **kwargs)
        return ds.remember(fn, *rest)
    return once


def data_periods(ds: Dataset, canonical_only: bool = True) -> list[str]:
    """Every period with data, in order (one pass over the observations serves every question
    below: each of them asked of the observations costs as much as reading them all); only the
    canonical ones, which are all the figures read (`Dataset.unfit_periods`)."""
    found = sorted(ds.sql("SELECT DISTINCT period FROM obs WHERE period IS NOT NULL")["period"])
    return [p for p in found if periods.is_canonical(p)] if canonical_only else found


def year_choices(ds: Dataset) -> tuple[list[int], int | None]:
    """Years with data, and the one to open on: the latest with yearly results (a complete year)."""
    found = data_periods(ds)
    years = sorted({periods.year_of(p) for p in found})
    complete = [periods.year_of(p) for p in found if periods.frequency(p) == "year"]
    return years, max(complete) if complete else (years[-1] if years else None)


def latest_quarter(ds: Dataset, year: int) -> periods.Period | None:
    """The last quarter of a year that has quarterly data (to say how far a running year goes)."""
    quarters = [periods.Period.parse(p) for p in data_periods(ds) if periods.frequency(p) == "quarter"]
    return max((q for q in quarters if q.year == year), default=None)


def unit_names(cat: Catalog, lang: str) -> pd.Series:
    """Each unit's name in the interface language, by unit_id."""
    return cat.units.set_index("unit_id")[column("name", lang)]
