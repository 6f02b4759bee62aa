"""A provincial leader in a real browser: Overview → a unit → Rankings → Dossiers; links; English."""

import re

from tests.browser.conftest import screenshot, wait_for_app


def sidebar_select_value(page, label: str) -> str:
    return page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name=label, exact=True).input_value()


def click_bar(page, bar) -> None:
    """Plotly picks the clicked point from the hover under the mouse: move there, then click."""
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.locator(".hoverlayer .hovertext").first.wait_for()  # Plotly has the bar under the pointer
    page.mouse.click(x, y)


def test_leader_journey_keeps_year_across_pages(page, app_url):
    page.goto(f"{app_url}/?year=2019&ind=sipas.overall")
    wait_for_app(page)
    page.get_by_text("Mức độ hài lòng 2019:", exact=False).first.wait_for()
    click_bar(page, page.locator(".js-plotly-plot .bars path").nth(3))
    page.wait_for_url(re.compile(r"/don-vi\?.*unit="))
    wait_for_app(page)
    assert page.get_by_role("heading", name="Hồ sơ đơn vị").is_visible()
    assert sidebar_select_value(page, "Năm") == "2019"
    screenshot(page, "leader-1-unit")

    page.locator('[data-testid="stSidebarNav"]').get_by_text("Xếp hạng").click()
    page.wait_for_url(re.compile(r"/xep-hang"))
    wait_for_app(page)
    assert page.get_by_role("heading", name="Xếp hạng các đơn vị").is_visible()
    assert "year=2019" in page.url and sidebar_select_value(page, "Năm") == "2019"
    screenshot(page, "leader-2-rankings")

    page.locator('[data-testid="stSidebarNav"]').get_by_text("Hồ sơ TTHC").click()
    page.wait_for_url(re.compile(r"/ho-so"))
    wait_for_app(page)
    assert page.get_by_role("heading", name="Hồ sơ thủ tục hành chính").is_visible()
    assert "year=2019" in page.url and sidebar_select_value(page, "Năm") == "2019"
    screenshot(page, "leader-3-dossiers")


def test_a_link_opens_the_same_view_in_a_fresh_browser(browser, app_url):
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{app_url}/don-vi?unit=so-nong-nghiep-moi-truong&year=2024&ind=par.total")
    wait_for_app(page)
    assert page.get_by_role("heading", name="Sở Nông nghiệp và Môi trường").is_visible()
    assert sidebar_select_value(page, "Năm") == "2024"
    assert page.get_by_text("Từ ngày 01/03/2025", exact=False).is_visible()
    screenshot(page, "leader-link-merged-unit")
    context.close()


def test_switching_to_english(page, app_url):
    page.goto(f"{app_url}/hai-long?year=2019")
    wait_for_app(page)
    page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Ngôn ngữ / Language").click()
    page.get_by_role("option", name="English").click()
    page.get_by_role("heading", name="Citizen and business satisfaction").wait_for()
    wait_for_app(page)
    assert "lang=en" in page.url and "year=2019" in page.url
    # The charts redraw after the heading: wait for the English title rather than look once.
    page.get_by_text("Province 2019: each factor against the target", exact=False).first.wait_for()
    screenshot(page, "leader-satisfaction-en")
