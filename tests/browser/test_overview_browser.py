"""A provincial leader opens the dashboard in a browser and sees the Overview."""

from tests.browser.conftest import screenshot, wait_for_app


def test_overview_renders_its_charts(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    assert page.get_by_role("heading", name="Tổng quan cải cách hành chính").is_visible()
    charts = page.locator('[data-testid="stPlotlyChart"]')
    assert charts.count() == 2
    assert page.locator(".js-plotly-plot .bars path").count() >= 10  # one bar per department
    assert page.get_by_text("Dữ liệu minh họa", exact=False).first.is_visible()
    assert screenshot(page, "overview").stat().st_size > 20_000


def test_the_seed_figure_in_the_browser(page, app_url):
    page.goto(f"{app_url}/?year=2019&ind=sipas.overall")
    wait_for_app(page)
    page.get_by_text("Mức độ hài lòng 2019:", exact=False).first.wait_for()
    assert page.locator(".js-plotly-plot").first.get_by_text("77,4%").count() >= 1
    screenshot(page, "overview-satisfaction-2019")
