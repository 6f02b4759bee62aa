"""Hostile text in a real browser: unit names shown as text, no script runs; a snapshot titled with
Markdown (links, images, `:red[…]`) shown exactly as typed, with no request to the hosts it names."""

import re

import pytest

from reformkpi.auth import Accounts
from tests import hostile
from tests.browser.conftest import painted, screenshot, serve, sign_in, wait_for_app

PASSWORD = "mật-khẩu-đủ-dài-1"
TITLE = "[Bấm để xác nhận](https://phish.example/login) ![x](https://track.example/p.png) :red[SỐ LIỆU ĐÃ BỊ SỬA]"
NOTE = "# Thông báo\nwww.phish.example · $x^2$ · **đậm**"
FOREIGN = re.compile(r"phish\.example|track\.example")


def visible(text: str) -> str:
    """Text as a reader sees it: the zero-width spaces that keep addresses from becoming links are invisible."""
    return text.replace("\u200b", "")


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    accounts = Accounts(tmp / "accounts.json")
    accounts.add("lan.pham", "analyst", PASSWORD)
    proc, url = serve(hostile.build(tmp / "store").uri, {"REFORMKPI_ACCOUNTS": str(accounts.path),
                                                           "REFORMKPI_PAPI_STORE": str(tmp / "no-papi")})
    yield url
    proc.terminate()
    proc.wait(10)


def test_no_script_from_data_runs(page, hostile_url):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{hostile_url}/?year=2019&ind=sipas.overall")
    wait_for_app(page)
    page.get_by_text("<script>alert('xss')</script>").first.wait_for()
    # Shown as text in the chart (long names wrap at their spaces and are shortened beside the bars).
    chart_text = page.locator(".js-plotly-plot").first.evaluate(
        "c => [...c.querySelectorAll('text')].map(t => t.textContent).join(' ')")
    assert "<img src=x" in chart_text and 'onerror="' in chart_text
    page.mouse.move(700, 900)
    painted(page)
    assert dialogs == []
    assert page.locator("a[href^='javascript:']").count() == 0
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    screenshot(page, "hostile-names")


def test_a_snapshot_title_cannot_speak_in_the_apps_voice(page, hostile_url):
    requested = []
    page.on("request", lambda r: requested.append(r.url) if FOREIGN.search(r.url) else None)
    page.goto(f"{hostile_url}/?year=2019&ind=sipas.overall")
    wait_for_app(page)
    sign_in(page, "lan.pham", PASSWORD)
    page.get_by_role("button", name="Chia sẻ").click()
    page.get_by_role("textbox", name="Tên ảnh chụp").fill(TITLE)
    page.get_by_role("textbox", name="Ghi chú").fill(NOTE)
    page.get_by_role("button", name="Lưu ảnh chụp số liệu").click()
    link = page.locator('[data-testid="stCode"]').nth(1)
    link.wait_for()
    snapshot_url = link.inner_text().strip()
    assert "snapshot=" in snapshot_url
    page.keyboard.press("Escape")

    page.goto(snapshot_url)
    wait_for_app(page)
    banner = page.locator('[data-testid="stAlertContentWarning"]').first
    banner.wait_for()
    assert TITLE in visible(banner.inner_text())  # every character as typed, nothing rendered
    note = page.get_by_text("# Thông báo", exact=False).first
    assert "www.phish.example · $x^2$ · **đậm**" in visible(note.inner_text())
    found = page.evaluate("""() => ({
        links: [...document.querySelectorAll('a[href]')].map(a => a.href).filter(h => /phish|track/.test(h)),
        images: [...document.querySelectorAll('img')].map(i => i.src).filter(s => /phish|track/.test(s)),
        red: [...document.querySelectorAll('[data-testid="stMarkdownColoredText"], span[style*="color"]')]
               .filter(e => e.textContent.includes('SỐ LIỆU ĐÃ BỊ SỬA')).length,
        headings: [...document.querySelectorAll('h1, h2, h3')].filter(h => h.textContent.includes('Thông báo')).length,
        maths: document.querySelectorAll('.katex').length,
    })""")
    assert found == {"links": [], "images": [], "red": 0, "headings": 0, "maths": 0}, found
    screenshot(page, "hostile-snapshot")
    assert requested == []
