"""Data access for pages: one Dataset per data version, and core results cached by version, both
shared by every session of the server (st.cache_resource), so that many leaders at once cost one
copy of each table and result, not one per session.

A new commit changes the version, so every cached result keyed by the old one is simply not
asked for again: the next rerun sees the new data at once.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
import dataclasses
from dataclasses import dataclass

import duckdb
import streamlit as st

from components.cache_keys import HASH_FUNCS, function_key, share
from reformkpi import config, integrity, notes
from reformkpi.i18n import t
from reformkpi.kept import Kept
from reformkpi.metrics.datasets import Dataset
from reformkpi.records import scan as records_scan
from reformkpi.records.metrics import Records
from reformkpi.store import Store


@dataclass(frozen=True)
class DataRef:
    """Which data a view shows: a store, an observation version and the catalog versions (and the
    notes table's version, so that a note added on a page is seen at once; a snapshot's saving
    time, after which its notes are not shown)."""

    uri: str
    version: int
    catalog_versions: tuple[int, ...]
    notes_version: int | None = None
    notes_until: dt.datetime | None = None

    def without_notes(self) -> DataRef:
        """The same data, its notes left out: the key of what a note cannot change (the history, a
        checked upload), so that a note added by anyone does not make them be worked out again."""
        return dataclasses.replace(self, notes_version=None, notes_until=None)


_imports_frozen = False
_freezing = threading.Lock()  # after a restart every open tab's first run comes at once


def freeze_imports() -> None:
    """Once per process, at the first run: the objects of the modules imported by then (three
    quarters of those the server holds, never freed) are left out of the cyclic garbage collector's
    walks. A full collection walked them all on a cold page (0.15–0.25 s of the national Unit page's
    1.4 s). Objects made later (cached tables and figures) are collected as before."""
    global _imports_frozen
    if _imports_frozen:
        return
    with _freezing:
        if not _imports_frozen:
            _imports_frozen = True
            gc.freeze()


def uri_of(dataset: str | None) -> str:
    """The live store's address of a dataset named by the URL, a link or a subscription (the first
    dataset's when none or an unknown one is named)."""
    return config.store_uri(dataset if dataset in config.DATASETS else config.DATASETS[0])


def store(ref: DataRef | RecordsRef | str) -> Store:
    """The store of a reference (or of an address): the one place components open a Store. Not
    cached: a Store is its address and the object-store options the settings give now (a rotated
    key is taken at once), and costs nothing to make."""
    return Store(ref if isinstance(ref, str) else ref.uri)


# How long a server keeps the latest version it looked up: a commit made on another app server (or
# by the command line) shows here at the first rerun after at most this long
# (docs/deployment-two-servers.md). Reading the Delta log on every rerun of every session would be
# wasted work.
VERSION_TTL_SECONDS = 2


@st.cache_data(ttl=VERSION_TTL_SECONDS, max_entries=len(config.DATASETS), show_spinner=False)
def _latest(uri: str) -> tuple[int, tuple[int, ...], int | None] | None:
    s = store(uri)
    return (s.version(), s.catalog_versions(), notes.version(s)) if s.exists() else None


@st.cache_data(ttl=VERSION_TTL_SECONDS, max_entries=len(config.DATASETS), show_spinner=False)
def faults(uri: str) -> list[integrity.Fault]:
    """What is wrong with the store (its logs, the latest versions' files), looked up like `_latest`."""
    return integrity.verify(uri)


def current(uri: str | None = None) -> DataRef | None:
    """The latest version of the live store, or None if there is no store yet."""
    uri = uri or uri_of(None)
    latest = _latest(uri)
    return None if latest is None else DataRef(uri, *latest)


def forget_latest() -> None:
    """After a commit in this session: look the version up again at once."""
    _latest.clear()


@st.cache_resource(max_entries=4, show_spinner=False)
def dataset(ref: DataRef) -> Dataset:
    return Dataset.open(store(ref), ref.version, ref.catalog_versions, ref.notes_until)


def query(fn, ref: DataRef, *args):
    """Call a core function `fn(dataset, *args)`, cached by the function's name, the data version
    and the arguments.

    The result is shared by every session (st.cache_resource: no copy per session or rerun), so
    components treat it as read-only: they derive new frames, never assign into it.

    An open version reads its files as it goes: if they moved or went (a store restored elsewhere,
    a vacuum against the store's policy), the version is opened anew once, and if it still cannot
    be read, Unreadable is raised: app.py says so in the run's language and stops (stopped_if_unreadable).
    """
    try:
        return _query(fn, ref, *args)
    except (duckdb.IOException, OSError, integrity.StoreFault):  # read in place by DuckDB, or by delta-rs
        dataset.clear()
    try:
        return _query(fn, ref, *args)
    except (duckdb.IOException, OSError, integrity.StoreFault) as e:
        raise Unreadable(ref.version) from e


class Unreadable(Exception):
    """A data version whose files cannot be read even when opened anew."""

    def __init__(self, version: int):
        super().__init__(version)
        self.version = version


@contextmanager
def stopped_if_unreadable(lang: str) -> Iterator[None]:
    """Run the page; if its data cannot be read, say so in words (which version) and stop there."""
    try:
        yield
    except Unreadable as e:
        st.warning(t("data.unreadable", lang, version=e.version), icon=":material/report:")
        st.stop()


@st.cache_resource(show_spinner=False)
def _results() -> Kept:
    """Core results of every version and session, within the `cache_mb` setting's bytes (by their
    frames' buffers): a count of entries bounded nothing, as one national league table weighs a
    thousand of a province's KPIs. Kept in Streamlit's resource cache so that clearing it clears them."""
    return Kept(config.settings().cache_mb * config.MB)


def _query(fn, ref: DataRef, *args):
    return _results().get((function_key(fn), ref, *args), lambda: share(fn(dataset(ref), *args)))


def history(ref: DataRef):
    """The store's history as of a version (the version is in the key so a commit refreshes it)."""
    return _history(ref.without_notes())


@st.cache_data(max_entries=16, show_spinner=False)
def _history(ref: DataRef):
    return store(ref).history()


@dataclass(frozen=True)
class RecordsRef:
    """Which dossier records a view shows: a store and a version of its records table."""

    uri: str
    version: int


@st.cache_data(ttl=VERSION_TTL_SECONDS, max_entries=len(config.DATASETS), show_spinner=False)
def _records_latest(uri: str) -> int | None:
    return records_scan.version(store(uri))


def records_current(uri: str) -> RecordsRef | None:
    """The latest version of the store's records, or None if it has none."""
    v = _records_latest(uri)
    return None if v is None else RecordsRef(uri, v)


@st.cache_resource(max_entries=4, show_spinner=False)
def records(ref: RecordsRef) -> Records:
    return Records.open(store(ref), ref.version)


@st.cache_resource(max_entries=512, show_spinner=False, hash_funcs=HASH_FUNCS)
def records_query(fn, ref: RecordsRef, *args):
    """Call a core function `fn(records, *args)`, cached by the function's name, the records
    version and the arguments, shared (read-only) like `query`."""
    return fn(records(ref), *args)
