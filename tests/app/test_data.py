"""Cached data access: core results keyed by the function called, the data version and the arguments."""

import pandas as pd
import pytest

from components import cache_keys, data
from reformkpi.metrics import datasets, views


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
    assert data.query(datasets.latest_quarter, ref, "2019") == "2019-Q4"
    assert isinstance(data.query(views.unit_notes, ref, "2019"), pd.DataFrame)
    assert data.query(datasets.latest_quarter, ref, "2018") == "2018-Q4"
    older = data.DataRef(ref.uri, ref.version - 1, ref.catalog_versions, ref.notes_version, ref.notes_until)
    assert data.query(datasets.year_choices, older) is not years
