import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


@pytest.fixture
def app(demo_store, monkeypatch):
    """An AppTest of app.py on the demo store; call it with query parameters to open a view,
    and `user=` (a dict read as st.user) to be signed in through single sign-on."""
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)

    def make(user: dict | None = None, **query) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        if user is not None:
            at.user = user
        at.query_params.update(query)
        return at.run()

    return make
