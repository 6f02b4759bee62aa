"""A leader opens the dossier records of a late department in a browser and sees the drill-down."""

from tests.browser.conftest import screenshot, wait_for_app


def test_records_drilldown_renders(page, app_url):
    # The first load of a deep link shows Streamlit's "Page not found" on every page: open the app first.
    page.goto(app_url)
    wait_for_app(page)
    page.goto(f"{app_url}/ho-so-chi-tiet?unit=so-xay-dung")
    wait_for_app(page)
    page.get_by_role("heading", name="Hồ sơ chi tiết: giải quyết thủ tục hành chính").wait_for()
    assert page.get_by_role("heading", name="Sở Xây dựng · Quý III/2026").is_visible()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .main-svg').length >= 6")
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 6
    assert page.get_by_text("Thủ tục có nhiều hồ sơ trễ hạn nhất").first.is_visible()
    assert page.get_by_text("Cấp giấy phép xây dựng").first.is_visible()
    assert page.locator('[data-testid="stMetric"]').count() == 5
    assert page.get_by_text("Page not found").count() == 0
    assert screenshot(page, "records-drilldown").stat().st_size > 20_000
