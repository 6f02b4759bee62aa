"""Real-browser fixtures: the app served by `streamlit run` on a free port, and Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import OUTPUT, ROOT

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = OUTPUT / "browser"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(store_uri: str, env: dict | None = None, script: str = "serve.py", root: Path = ROOT):
    """Start the app (or another script of the checkout, or another checkout's app) on a free port;
    returns (process, base_url) once it answers its health check."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=root, env={**os.environ, "REFORMKPI_STORE": store_uri, "PYTHONPATH": str(root), **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    healthy(proc, url)
    return proc, url


def healthy(proc: subprocess.Popen, url: str) -> None:
    """Wait until the app server started as `proc` answers its health check at `url`."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the app did not start:\n" + proc.stdout.read().decode(errors="replace"))


@pytest.fixture(scope="session")
def app_url(demo_store):
    proc, url = serve(demo_store.uri)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing: .ci/run installs it with apt-get")
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    # Streamlit scrolls inside its own container, so a tall viewport shows the whole page.
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2600})
    drawn(page)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


def painted(page) -> None:
    """Wait until the browser has painted what the page holds now (two animation frames)."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def drawn(page) -> None:
    """Wait until every chart the page shows has drawn, the fonts are in and the browser has painted."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
        ".filter(c => c.getClientRects().length).every(c => c.querySelector('.main-svg'))")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    painted(page)


def wait_for_app(page) -> None:
    """Wait until the script has finished running and the charts have drawn."""
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
        "document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
    drawn(page)


def sign_in(page, name: str, password: str) -> None:
    """Sign in with a local account through the sidebar."""
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary').click()
    # Opening the box reruns the page to send the form: type once that run is over, or a busy
    # machine's late rerun can take the submit click.
    page.get_by_role("textbox", name="Tên đăng nhập").wait_for()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    page.get_by_role("textbox", name="Tên đăng nhập").fill(name)
    page.get_by_role("textbox", name="Mật khẩu").fill(password)
    page.locator('[data-testid="stFormSubmitButton"] button').click()
    page.get_by_text(f"Đang đăng nhập: {name}", exact=False).wait_for()


def sign_out(page) -> None:
    page.get_by_role("button", name="Đăng xuất").click()
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary').wait_for()
