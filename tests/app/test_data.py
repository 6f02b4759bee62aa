"""Cached data access: core results keyed by the function called, the data version and the arguments."""

import gc
import os
import threading

import pandas as pd

import pytest
from streamlit.testing.v1 import AppTest

from components import cache_keys, data
from reformkpi.i18n import t
from reformkpi.metrics import datasets, views
from reformkpi.periods import Period
from reformkpi.store import CommitInfo
from tests.conftest import obs


def test_a_function_is_keyed_by_its_module_and_qualified_name():
    assert cache_keys.function_key(views.kpi) == "reformkpi.metrics.views.kpi"
    with pytest.raises(TypeError, match="module-level"):
        cache_keys.function_key(lambda ds: None)


def test_a_query_is_computed_once_per_function_version_and_arguments(demo_store):
    ref = data.current(demo_store.uri)
    years = data.query(datasets.year_choices, ref)
    assert years == datasets.year_choices(data.dataset(ref))
    assert data.query(datasets.year_choices, ref) is years  # shared, not recomputed
    # Two functions called with the same arguments are two entries.
    assert data.query(datasets.data_periods, ref) == datasets.data_periods(data.dataset(ref)) != years
    assert data.query(datasets.latest_quarter, ref, 2019) == Period(2019, 4)
    assert data.query(datasets.latest_quarter, ref, 2018) == Period(2018, 4)
    older = data.DataRef(ref.uri, ref.version - 1, ref.catalog_versions, ref.notes_version, ref.notes_until)
    assert data.query(datasets.year_choices, older) is not years


def _years_page():
    import streamlit as st

    from components import data
    from reformkpi.metrics import datasets, views
    from reformkpi.periods import Period

    year = st.query_params.get("year")
    ref = data.current()
    with data.stopped_if_unreadable("vi"):  # as app.py runs a page
        st.write(data.query(datasets.year_choices, ref) if year is None
                 else data.query(views.kpi, ref, "sipas.overall", Period.parse(year), None, "vi"))


def test_a_version_whose_files_went_says_so_in_words_instead_of_failing(tmp_store, monkeypatch):
    """An open version reads its files as it goes: once they are deleted (a vacuum against the
    store's policy), the page shows a translated message, never a traceback."""
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 85.5)]), CommitInfo(user="a"))
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    data.dataset.clear()
    at = AppTest.from_function(_years_page).run()
    assert not at.exception and not at.error
    for path in tmp_store.local_files():
        os.remove(path)
    at.query_params["year"] = "2019"  # a question not answered yet reads the files
    at.run()
    assert not at.exception
    assert not at.error
    assert [e.value for e in at.warning] == [t("data.unreadable", "vi", version=tmp_store.version())]


def test_the_imported_modules_are_frozen_once_per_process(monkeypatch):

    monkeypatch.setattr(data, "_imports_frozen", False)
    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    data.freeze_imports()
    data.freeze_imports()  # every later run: nothing more is frozen (what it makes is collected as before)
    assert frozen == [True]


def test_a_frame_is_keyed_by_its_content_and_a_shared_one_is_hashed_once(monkeypatch):


    frame = pd.DataFrame({"unit_id": ["a", "b"], "value": [1.0, None]})
    key = cache_keys.frame_key(frame)
    changed = frame.copy()
    changed.loc[1, "value"] = 2.0
    assert len({key, cache_keys.frame_key(changed), cache_keys.frame_key(frame.set_index("unit_id")),
                cache_keys.frame_key(frame.rename(columns={"value": "v"})),
                cache_keys.frame_key(frame.astype({"value": "float32"}))}) == 5
    hashed = []
    digest = cache_keys._digest
    monkeypatch.setattr(cache_keys, "_digest", lambda df: hashed.append(df) or digest(df))
    shared = cache_keys.share(frame)
    assert cache_keys.frame_key(shared) == cache_keys.frame_key(shared) == key and len(hashed) == 1
    assert cache_keys.frame_key(changed) and len(hashed) == 2  # not shared: hashed each time
    gone = id(shared)
    del frame, shared, hashed[:]
    gc.collect()
    assert gone not in cache_keys._shared  # its entry went with it



def test_a_shared_frame_freed_while_its_lock_is_held_frees_its_entry_without_a_hang():
    """A collection that `share` itself starts (any allocation may) runs the freed frames' callbacks
    on the same thread, inside the lock: they must not wait for it."""
    def run() -> None:
        frame = cache_keys.share(pd.DataFrame({"a": [1]}))
        gone = id(frame)
        with cache_keys._lock:
            del frame
            gc.collect()
        done.append(gone not in cache_keys._shared)

    done: list[bool] = []
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(10)
    assert done == [True], "the callback waited for the lock its own thread held"

def test_a_query_result_is_shared(demo_store):
    ref = data.current(demo_store.uri)
    table = data.query(views.unit_history, ref, "so-tai-chinh", ("par.total",))
    assert cache_keys._shared[id(table)][0]() is table
