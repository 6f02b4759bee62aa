"""Filters kept across pages and links: the year and the unit follow the leader; a link wins."""

import pytest
from streamlit.testing.v1 import AppTest

from components import navigation
from tests.conftest import ROOT


@pytest.fixture
def session(demo_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", demo_store.uri)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()  # registers the pages


def year_box(at):
    return next(s for s in at.sidebar.selectbox if s.label == "Năm")


def test_year_and_unit_survive_page_switches(session):
    at = session
    at.query_params.update({"year": "2019"})
    at.switch_page("app_pages/unit.py").run()
    next(s for s in at.sidebar.selectbox if s.label == "Đơn vị").set_value("so-tu-phap").run()
    for page in ("app_pages/rankings.py", "app_pages/dossiers.py", "app_pages/unit.py"):
        at.query_params.clear()  # st.navigation clears the query on a page switch
        at.switch_page(page).run()
        assert not at.exception
        assert year_box(at).value == "2019" and at.query_params["year"] == "2019"
    assert at.header[0].value == "Sở Tư pháp" and at.query_params["unit"] == "so-tu-phap"


def test_a_link_to_another_unit_wins_over_the_session(session):
    at = session
    at.query_params.update({"unit": "so-tu-phap"})
    at.switch_page("app_pages/unit.py").run()
    at.query_params.update({"unit": "so-y-te"})  # a click-through from the Overview
    at.run()
    assert at.header[0].value == "Sở Y tế"
    year_box(at).set_value("2020").run()  # the session's own change is not undone by the URL
    assert year_box(at).value == "2020" and at.header[0].value == "Sở Y tế"


def test_english_chosen_on_one_page_holds_on_the_next(session):
    at = session
    at.query_params.update({"lang": "en", "year": "2019"})
    at.run()  # app.py, which reads ?lang=en, and the Overview
    at.switch_page("app_pages/rankings.py").run()
    assert at.title[0].value == "Rankings of units"
    assert "Rank" in at.dataframe[0].value.columns


def test_a_url_naming_the_would_be_default_page_gets_another_default():
    # Streamlit serves the default page at the root only: its own path would say "Page not found".
    assert navigation.default_page(None, None) == "tong-quan"
    assert navigation.default_page("xep-hang", None) == "xep-hang"  # a snapshot link to the root
    assert navigation.default_page("xep-hang", "xep-hang") == "tong-quan"  # /xep-hang?snapshot=…
    assert navigation.default_page("tong-quan", "tong-quan") == "don-vi"  # /tong-quan?snapshot=…
    assert navigation.default_page(None, "tong-quan") == "don-vi"
    assert navigation.default_page("hai-long", "ho-so") == "hai-long"  # /ho-so resolves by its path


def test_page_urls_are_the_root_for_the_first_page_and_root_slash_path_for_the_others():
    root = "https://cchc.example.gov.vn/kpi"
    assert navigation.url_of(root + "/xep-hang", "xep-hang", "tong-quan") == root + "/"
    assert navigation.url_of(root + "/xep-hang", "xep-hang", "xep-hang") == root + "/xep-hang"
    # A snapshot opened at the root makes its page this session's default, served at the root.
    assert navigation.url_of(root, "xep-hang", "xep-hang") == root + "/xep-hang"
    assert navigation.url_of(root + "/", "tong-quan", "hai-long") == root + "/hai-long"
    assert navigation.url_of("", "tong-quan", "tong-quan") == "/"  # AppTest has no URL
