import pytest
from streamlit.testing.v1 import AppTest

from reformkpi.auth import Actor
from tests.conftest import ROOT

ANALYST = Actor("lan.pham", "analyst")


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


@pytest.fixture
def page(tmp_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)

    def open_page(path: str, actor: Actor | None = ANALYST) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        if actor is not None:
            at.session_state["access:actor"] = actor  # as the sign-in form leaves it
        at.run()
        at.switch_page(path)
        return at.run()

    return open_page
