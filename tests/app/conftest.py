import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

from tests.conftest import OUTPUT  # noqa: F401  (shared output folder)

@pytest.fixture
def app(demo_store, monkeypatch):
    """An AppTest of app.py on the demo store; call it with query parameters to open a view."""
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)

    def make(**query) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params.update(query)
        return at.run()

    return make
