"""Cached data access: core results keyed by the function called, the data version and the arguments."""

import pandas as pd
import pytest

from components import cache_keys, data
from reformkpi import metrics


def test_a_function_is_keyed_by_its_module_and_qualified_name():
    assert cache_keys.function_key(metrics.kpi) == "reformkpi.metrics.kpi"
    with pytest.raises(TypeError, match="module-level"):
        cache_keys.function_key(lambda ds: None)


def test_a_query_is_computed_once_per_function_version_and_arguments(demo_store):
    ref = data.current(demo_store.uri)
    years = data.query(metrics.year_choices, ref)
    assert years == metrics.year_choices(data.dataset(ref))
    assert data.query(metrics.year_choices, ref) is years  # shared, not recomputed
    # Two functions called with the same arguments are two entries.
    assert data.query(metrics.latest_quarter, ref, "2019") == "2019-Q4"
    assert isinstance(data.query(metrics.unit_notes, ref, "2019"), pd.DataFrame)
    assert data.query(metrics.latest_quarter, ref, "2018") == "2018-Q4"
    older = data.DataRef(ref.uri, ref.version - 1, ref.catalog_versions, ref.notes_version)
    assert data.query(metrics.year_choices, older) is not years
