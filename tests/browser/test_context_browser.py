"""A leader reads the context under the figures in the browser: source, coverage, data version,
the method on the help icon, and a change that is not comparable across a method change."""

from tests.browser.conftest import screenshot, wait_for_app


def test_context_lines_and_a_not_comparable_change(page, app_url):
    page.goto(f"{app_url}/?year=2022&ind=sipas.overall")
    wait_for_app(page)
    page.get_by_text("Không so sánh với 2021: phương pháp tính thay đổi từ 2022").first.wait_for()
    lines = page.get_by_text("Nguồn: Dữ liệu minh họa (sinh tự động) ·", exact=False)
    assert lines.count() >= 5 and "đơn vị có số liệu · phiên bản dữ liệu" in lines.first.inner_text()
    assert page.get_by_text("Đổi phương pháp").first.is_visible()  # on the trend, where SIPAS 2022 starts
    screenshot(page, "context-overview-2022")
