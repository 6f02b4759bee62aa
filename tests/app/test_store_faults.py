"""AppTest: a damaged store is said in words on every page (which version, what is wrong, what to
do), never as a traceback or an error box; a write the store refuses (a damaged log, a full disk)
is said in the same words and writes nothing."""

from __future__ import annotations

import errno

import pytest

from components import data
from reformkpi import integrity
from reformkpi.i18n import t
from reformkpi.periods import Period
from reformkpi.store import CommitInfo, Store
from tests.app.conftest import ANALYST
from tests.app.test_actions import two_versions
from tests.app.test_share import open_app
from tests.app.test_upload import GOOD
from tests.conftest import obs
from tests.core.test_integrity import ADMIN, build, damage, log_files


def shown(at) -> str:
    return " ".join(str(e.value) for e in at.warning).replace("\\", "")


@pytest.mark.parametrize("how, says", [("truncate", "bị hỏng"), ("garbage", "bị hỏng"), ("empty", "bị rỗng"),
                                       ("drop", "ngắn hơn bản ghi"), ("lose_file", "thiếu tệp dữ liệu")])
def test_a_damaged_store_is_said_in_words_on_the_pages(tmp_path, monkeypatch, how, says):
    store = build(tmp_path / "store")
    damage(store, how)
    monkeypatch.setenv("REFORMKPI_STORE", store.uri)
    for actor, page in ((None, None), (ADMIN, "app_pages/history.py"), (ADMIN, "app_pages/upload.py")):
        at = open_app(actor)
        if page:
            at.switch_page(page)
            at.run()
        assert not at.exception and not at.error
        words = shown(at)
        assert t("store.fault.heading", "vi", store=store.uri) in words
        assert "phiên bản 2" in words and says in words
        assert ("python -m reformkpi repair observations" if how != "lose_file" else "khôi phục về phiên bản 1") in words


def test_an_upload_on_a_store_damaged_since_the_page_opened_is_refused_in_words(page, tmp_store, monkeypatch):
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 81.0)]), CommitInfo(user="lan"))
    at = page("app_pages/upload.py")
    at.file_uploader(key="upload:file").set_value(("dung.csv", GOOD, "text/csv"))
    at.run()
    damage(tmp_store, "empty")
    before = log_files(tmp_store)
    monkeypatch.setattr(data, "faults", lambda uri: [])  # the page's look-up is up to 2 s old
    at.button(key="upload-commit").click()
    at.run()
    assert not at.exception and not at.error
    assert "phiên bản 1" in shown(at) and "bị rỗng" in shown(at)
    assert log_files(tmp_store) == before


def test_a_full_disk_at_the_commit_is_said_in_words(page, tmp_store, monkeypatch):
    at = page("app_pages/upload.py")
    at.file_uploader(key="upload:file").set_value(("dung.csv", GOOD, "text/csv"))
    at.run()
    before = tmp_store.version()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Store, "diff", full)  # inside the commit, as a write that hits the full disk
    at.button(key="upload-commit").click()
    at.run()
    assert not at.exception and not at.error
    assert t("store.full", "vi", store=tmp_store.uri) in shown(at)
    assert tmp_store.version() == before and integrity.verify(tmp_store.uri) == []


def test_a_rollback_on_a_damaged_store_is_refused_in_words(page, tmp_store, monkeypatch):
    two_versions(page)
    at = page("app_pages/history.py", ADMIN)
    at.selectbox(key="history:target").select(1)
    at.text_input(key="history:reason").input("nhập nhầm")
    at.button(key="history:rollback").click()
    at.run()
    damage(tmp_store, "truncate")
    before = log_files(tmp_store)
    monkeypatch.setattr(data, "faults", lambda uri: [])
    at.button(key="history:confirm").click()
    at.run()
    assert not at.exception and not at.error
    assert "python -m reformkpi repair observations" in shown(at)
    assert log_files(tmp_store) == before


def test_an_analyst_sees_the_same_words(tmp_path, monkeypatch):
    store = build(tmp_path / "store")
    damage(store, "garbage")
    monkeypatch.setenv("REFORMKPI_STORE", store.uri)
    at = open_app(ANALYST)
    at.switch_page("app_pages/unit.py")
    at.run()
    assert not at.exception and not at.error and "phiên bản 2" in shown(at)


@pytest.mark.parametrize("unfit", ["٢٠١٩", "1900"])
def test_a_period_an_older_writer_stored_unfit_is_left_out_of_every_figure_and_said(tmp_store, monkeypatch, unfit):
    """`٢٠١٩` stored beside `2019` (before the store refused it) took the Overview, Unit, Satisfaction
    and Dossiers pages down for every visitor, and so did 1900 (the year before it, which a figure
    is compared with, is no period); now the row is left out and every page says so."""
    from deltalake import write_deltalake

    from reformkpi.metrics import views
    from reformkpi.metrics.datasets import Dataset, data_periods
    from reformkpi.store import OBSERVATIONS, conform

    good = [("so-y-te", "sipas.overall", "2019", 77.4), ("so-tu-phap", "sipas.overall", "2019", 85.0),
            ("so-tu-phap", "dossier.received_online", "2024-Q1", 10.0)]
    tmp_store.commit_observations(obs(good), CommitInfo(user="lan"))
    sound = views.kpi(Dataset.open(tmp_store), "sipas.overall", Period(2019), "department", "vi")
    bad = obs([("so-noi-vu", "sipas.overall", "2019", 10.0)]).assign(period=unfit)
    write_deltalake(tmp_store.path(OBSERVATIONS), conform(bad), mode="append")
    ds = Dataset.open(tmp_store)
    assert ds.unfit_periods == {unfit: 1} and data_periods(ds) == ["2019", "2024-Q1"]
    assert views.kpi(ds, "sipas.overall", Period(2019), "department", "vi") == sound  # 81,2% of 2 units, as before
    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    for page in ("app_pages/overview.py", "app_pages/unit.py", "app_pages/satisfaction.py", "app_pages/dossiers.py",
                 "app_pages/rankings.py"):
        at = open_app()
        at.switch_page(page)
        at.run()
        assert not at.exception and not at.error, page
        assert f"1 dòng số liệu có kỳ không đúng dạng («{unfit}»)" in shown(at), page
