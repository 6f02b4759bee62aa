"""Hostile unit names in a real browser: shown as text, no script runs, no dialog opens."""

import pytest

from tests import hostile
from tests.browser.conftest import screenshot, serve, wait_for_app


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory):
    proc, url = serve(hostile.build(tmp_path_factory.mktemp("hostile") / "store").uri)
    yield url
    proc.terminate()
    proc.wait(10)


def test_no_script_from_data_runs(page, hostile_url):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{hostile_url}/?year=2019&ind=sipas.overall")
    wait_for_app(page)
    page.get_by_text("<script>alert('xss')</script>").first.wait_for()
    assert page.locator(".js-plotly-plot").first.get_by_text('<img src=x onerror="alert(1)">').count() >= 1
    page.mouse.move(700, 900)
    page.wait_for_timeout(500)
    assert dialogs == []
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    screenshot(page, "hostile-names")
