"""A province that has not loaded any figures yet: every dashboard page says so, none crashes."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT


def test_a_new_store_without_figures_says_so_on_every_page(tmp_store, monkeypatch):
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    for path in ("app_pages/overview.py", "app_pages/unit.py", "app_pages/rankings.py", "app_pages/dossiers.py", "app_pages/satisfaction.py"):
        at.switch_page(path)
        at.run()
        assert not at.exception, path
        assert any("chưa có số liệu" in i.value for i in at.info), path
