"""A presenter shares a link, opens a snapshot, takes the offline HTML report and presents."""

import pytest

from reformkpi import snapshots
from reformkpi.auth import Actor
from reformkpi.store import CommitInfo, Store
from tests.browser.conftest import screenshot, serve, wait_for_app
from tests.conftest import obs

ROWS = [("so-y-te", "sipas.overall", "2019", 77.4), ("so-tu-phap", "sipas.overall", "2019", 85.0),
        ("so-y-te", "sipas.overall", "2018", 75.0), ("so-tu-phap", "sipas.overall", "2018", 82.0)]


@pytest.fixture(scope="module")
def presenter_app(tmp_path_factory):
    from reformkpi import config
    from reformkpi.catalog import load_dir

    tmp = tmp_path_factory.mktemp("presenter")
    store = Store(tmp / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    store.commit_observations(obs(ROWS), CommitInfo(user="lan"))
    snap = snapshots.create(store, Actor("lan", "analyst"), "Giao ban tháng 11", "tong-quan",
                            {"year": "2019", "ind": "sipas.overall", "level": "department", "lang": "vi"}, 1,
                            store.catalog_versions())
    store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 90.0)]), CommitInfo(user="lan"))
    proc, url = serve(store.uri, {"REFORMKPI_PAPI_STORE": str(tmp / "no-papi")})
    yield url, snap
    proc.terminate()
    proc.wait(10)


def unit_label(page, text: str) -> int:
    return page.locator(".js-plotly-plot").first.get_by_text(text).count()


def test_a_copied_link_opens_the_same_view_in_a_fresh_browser(browser, presenter_app):
    url, _ = presenter_app
    first = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    first.goto(f"{url}/?year=2018&ind=sipas.overall")
    wait_for_app(first)
    first.get_by_role("button", name="Chia sẻ").click()
    link = first.locator('[data-testid="stCode"]').first.inner_text().strip()
    assert "year=2018" in link and "ind=sipas.overall" in link
    fresh = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    fresh.goto(link)
    wait_for_app(fresh)
    fresh.get_by_text("Mức độ hài lòng 2018:", exact=False).first.wait_for()
    assert unit_label(fresh, "75,0%") >= 1
    first.context.close()
    fresh.context.close()


def test_a_snapshot_shows_its_banner_and_pinned_numbers(page, presenter_app):
    url, snap = presenter_app
    page.goto(f"{url}/?snapshot={snap.snapshot_id}")
    wait_for_app(page)
    page.get_by_text("Ảnh chụp “Giao ban tháng 11”: số liệu phiên bản 1", exact=False).wait_for()
    assert unit_label(page, "77,4%") >= 1 and unit_label(page, "90,0%") == 0
    screenshot(page, "presenter-snapshot")
    page.goto(f"{url}/?year=2019&ind=sipas.overall")
    wait_for_app(page)
    assert unit_label(page, "90,0%") >= 1


def test_the_offline_report_opens_from_a_file_with_the_network_blocked(browser, page, presenter_app, tmp_path):
    url, _ = presenter_app
    page.goto(f"{url}/?year=2019&ind=sipas.overall")
    wait_for_app(page)
    page.get_by_text("Xuất báo cáo", exact=False).click()
    with page.expect_download() as download:
        page.get_by_role("button", name="HTML (xem không cần mạng)").click()
    path = tmp_path / "report.html"
    download.value.save_as(path)
    offline = browser.new_context(offline=True)
    requests = []
    offline.route("http*://**", lambda route: (requests.append(route.request.url), route.abort()))
    report = offline.new_page()
    report.goto(path.as_uri())
    report.wait_for_selector(".js-plotly-plot .main-svg")
    assert report.locator(".js-plotly-plot").count() == 2 and requests == []
    assert report.get_by_role("heading", name="Mức độ hài lòng 2019:").count() == 1
    assert report.get_by_role("heading", name="Bảng xếp hạng Mức độ hài lòng 2019").count() == 1  # the page's table
    assert report.get_by_role("cell", name="90,0%").count() >= 1
    screenshot(report, "presenter-offline-report")
    offline.close()


def no_error(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Traceback", exact=False).count() == 0


def test_a_snapshot_survives_a_language_switch_and_leaves_on_another_year(page, presenter_app):
    url, snap = presenter_app
    page.goto(f"{url}/?snapshot={snap.snapshot_id}")
    wait_for_app(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("combobox", name="Ngôn ngữ / Language").click()
    page.get_by_role("option", name="English").click()
    page.get_by_text("Snapshot “Giao ban tháng 11”: data version 1", exact=False).wait_for()
    wait_for_app(page)
    no_error(page)
    # Same numbers, in English: the chart redraws after the banner, so wait for its label.
    page.locator(".js-plotly-plot").first.get_by_text("77.4%").first.wait_for()
    assert unit_label(page, "90.0%") == 0
    screenshot(page, "presenter-snapshot-english")
    sidebar.get_by_role("combobox", name="Year", exact=True).click()
    page.get_by_role("option", name="2018").click()
    page.get_by_text("you have left the snapshot “Giao ban tháng 11”", exact=False).wait_for()
    wait_for_app(page)
    no_error(page)
    assert page.get_by_role("link", name="Back to the snapshot").get_attribute("href").endswith(
        f"snapshot={snap.snapshot_id}&data=demo")
    assert "snapshot=" not in page.url and "year=2018" in page.url
    screenshot(page, "presenter-snapshot-left")


def test_presentation_mode_keeps_the_banner_and_moves_with_the_keys(page, presenter_app):
    url, snap = presenter_app
    page.goto(f"{url}/?snapshot={snap.snapshot_id}&present=1")
    wait_for_app(page)
    assert page.locator('[data-testid="stSidebar"]').is_hidden()
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 1
    page.get_by_text("Ảnh chụp “Giao ban tháng 11”: số liệu phiên bản 1", exact=False).wait_for()
    page.get_by_text("1 / 2").wait_for()
    screenshot(page, "presenter-presentation")
    for key, shown in (("ArrowRight", "2 / 2"), ("PageUp", "1 / 2"), ("PageDown", "2 / 2"), ("ArrowLeft", "1 / 2")):
        page.locator("body").press(key)
        page.get_by_text(shown).wait_for()
    page.get_by_role("button", name="Tiếp").click()
    page.get_by_text("2 / 2").wait_for()
