"""Keyboard alone, no mouse: a leader moves between pages and filters and opens a chart's table; an
analyst signs in, uploads, reads the problems and commits; a presenter saves a snapshot and runs
presentation mode. Every step reaches its control with Tab, its focus is visible (a screenshot of
each under test-output/browser/keyboard-*), and Tab moves on from it (no trap)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from reformkpi import config, ingest
from reformkpi.auth import Accounts, operator
from reformkpi.catalog import load_dir
from reformkpi.i18n import t
from reformkpi.store import CommitInfo, Store
from tests.browser.conftest import SHOTS, serve
from tests.browser.test_a11y import settle
from tests.core.ingest.test_ingest import csv_bytes

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PASSWORD = "mật-khẩu-đủ-dài-1"
HEAD = ["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"]
UNITS = ("Sở Tư pháp", "Sở Y tế", "Sở Xây dựng")
START = csv_bytes([HEAD] + [[u, "sipas.overall", y, str(v + i)] for y, v in (("2024", 72), ("2025", 78))
                            for i, u in enumerate(UNITS)], delimiter=";")
WRONG = csv_bytes([HEAD, ["Sở Tư pháp", "sipas.overall", "2025", "190"], ["Sở Y khoa", "sipas.overall", "2025", "80"]],
                  delimiter=";")
FIXED = csv_bytes([HEAD, ["Sở Tư pháp", "sipas.overall", "2025", "90"], ["Sở Y tế", "sipas.overall", "2025", "80"]],
                  delimiter=";")
# The focused element, whether it shows its focus (an outline or a ring), and what it says to a
# screen reader (its text without icons' ligatures, hidden from one, and the shortcut hint).
_FOCUS = """() => { const e = document.activeElement; if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
  const copy = e.cloneNode(true); copy.querySelectorAll('[aria-hidden="true"], kbd').forEach(h => h.remove());  // icons, shortcut hints
  const text = copy.textContent.replace(/\\s+/g, ' ').trim();
  return {tag: e.tagName, type: e.type || '', role: e.getAttribute('role') || '', visible: ring,
          name: (e.getAttribute('aria-label') || text || e.value || '').trim().slice(0, 80),
          label: e.labels && e.labels[0] ? e.labels[0].innerText.trim() : ''}; }"""


@pytest.fixture(scope="module")
def keyboard_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("keyboard")
    store = Store(tmp / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    ingest.commit(store, ingest.prepare(store, START, "dau-ky.csv"), operator("test"))
    accounts = Accounts(tmp / "accounts.json")
    accounts.add("lan.pham", "analyst", PASSWORD)
    proc, url = serve(store.uri, {"REFORMKPI_PAPI_STORE": str(tmp / "no-papi"), "REFORMKPI_ACCOUNTS": str(accounts.path)})
    yield store, url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def keyboard(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def tab_to(page, what, shot: str = "", limit: int = 150, back: bool = False) -> dict:
    """Press Tab (Shift+Tab with `back`) until the focused element is `what` (a test of _FOCUS's
    dict); it must show its focus. `shot`: a screenshot of that step."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        found = page.evaluate(_FOCUS)
        if found and what(found):
            assert found["visible"], f"focus is not visible on {found}"
            if shot:
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"keyboard-{shot}.png"))
            return found
    raise AssertionError(f"Tab never reached the control ({shot or 'unnamed'}); last: {page.evaluate(_FOCUS)}")


def named(text: str, tag: str | None = None):
    """The control a screen reader names `text`."""
    return lambda f: text in (f["name"], f["label"]) and (tag is None or f["tag"] == tag)


def moves_on(page) -> None:
    """No trap: Tab leaves the focused element, and Shift+Tab comes back to it."""
    here = page.evaluate(_FOCUS)
    page.keyboard.press("Tab")
    assert page.evaluate(_FOCUS) != here
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(_FOCUS) == here


def choose_file(page, name: str, content: bytes) -> None:
    """Enter on the focused upload button opens the system's file dialog; the file is picked there.
    The dialog needs the key press's user activation, which a loaded machine can let lapse before
    the page asks for the dialog: the key is pressed once more then."""
    for attempt in range(2):
        try:
            with page.expect_file_chooser(timeout=15_000) as chooser:
                page.keyboard.press("Enter")
            break
        except PlaywrightTimeout:
            if attempt:
                raise
    chooser.value.set_files(files=[{"name": name, "mimeType": "text/csv", "buffer": content}])


def sign_in(page) -> None:
    tab_to(page, named(t("access.sign_in", "vi"), "SUMMARY"), "analyst-1-sign-in")
    page.keyboard.press("Enter")
    tab_to(page, named(t("access.name", "vi"), "INPUT"))
    page.keyboard.type("lan.pham")
    tab_to(page, named(t("access.password", "vi"), "INPUT"))
    page.keyboard.type(PASSWORD)
    tab_to(page, named(t("access.sign_in", "vi"), "BUTTON"), "analyst-2-credentials")
    page.keyboard.press("Enter")
    page.get_by_text("Đang đăng nhập: lan.pham", exact=False).wait_for()
    settle(page)


def test_a_leader_moves_between_pages_and_filters_and_reads_a_chart_as_a_table(keyboard, keyboard_app):
    _, url = keyboard_app
    page = keyboard
    page.goto(f"{url}/")
    settle(page)
    tab_to(page, named(t("nav.rankings", "vi"), "A"), "leader-1-nav")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/xep-hang"))
    settle(page)
    tab_to(page, lambda f: f["role"] == "combobox" and f["name"] == t("filter.year", "vi"), "leader-2-year")
    page.keyboard.type("2024")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"year=2024"))
    settle(page)
    tab_to(page, named(t("nav.overview", "vi"), "A"), "leader-3-back", back=True)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"year=2024"))  # the year goes along
    settle(page)
    summary = tab_to(page, named(t("chart.as_table", "vi"), "SUMMARY"), "leader-4-table")
    page.keyboard.press("Enter")
    table = page.get_by_role("table").first
    table.wait_for()
    assert "Sở Tư pháp" in table.inner_text()
    assert summary["visible"]
    moves_on(page)


def test_an_analyst_signs_in_uploads_reads_the_problems_and_commits(keyboard, keyboard_app):
    store, url = keyboard_app
    page = keyboard
    page.goto(f"{url}/")
    settle(page)
    sign_in(page)
    tab_to(page, named(t("nav.upload", "vi"), "A"), "analyst-3-nav")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cap-nhat"))
    settle(page)
    browse = named("Upload", "BUTTON")  # Streamlit's own label, in English whatever the language
    tab_to(page, browse, "analyst-4-browse")
    choose_file(page, "bao-cao-sai.csv", WRONG)
    page.get_by_text("có 2 lỗi: chưa ghi gì", exact=False).wait_for()
    settle(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "keyboard-analyst-5-problems.png"))
    version = store.version()
    tab_to(page, named("Add files", "BUTTON"), back=True)  # the uploader holding a file: its "+" replaces it
    choose_file(page, "bao-cao-da-sua.csv", FIXED)
    page.get_by_text("hợp lệ: 2 giá trị", exact=False).wait_for()
    settle(page)
    tab_to(page, named(t("upload.commit", "vi"), "BUTTON"), "analyst-6-commit")
    page.keyboard.press("Enter")
    page.get_by_text(f"Đã ghi phiên bản {version + 1}", exact=False).wait_for()
    assert store.version() == version + 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "keyboard-analyst-7-committed.png"))


def test_a_presenter_saves_a_snapshot_and_presents(keyboard, keyboard_app):
    _, url = keyboard_app
    page = keyboard
    page.goto(f"{url}/")
    settle(page)
    sign_in(page)
    tab_to(page, named(t("share.button", "vi"), "BUTTON"), "presenter-1-share")
    page.keyboard.press("Enter")
    tab_to(page, named(t("share.title", "vi"), "INPUT"))
    page.keyboard.type("Giao ban tháng 12")
    tab_to(page, named(t("share.save", "vi"), "BUTTON"), "presenter-2-save")
    page.keyboard.press("Enter")
    page.get_by_text("Đã lưu ảnh chụp", exact=False).wait_for()
    tab_to(page, named(t("share.present", "vi"), "A"), "presenter-3-present")
    with page.context.expect_page() as opened:
        page.keyboard.press("Enter")
    show = opened.value
    show.set_default_timeout(60_000)
    settle(show)
    total = int(show.get_by_text(re.compile(r"^1 / \d+$")).inner_text().split("/")[1])
    if total > 1:
        tab_to(show, named(t("share.next", "vi"), "BUTTON"), "presenter-4-next")
        show.keyboard.press("Enter")
        show.get_by_text(f"2 / {total}", exact=True).wait_for()
    tab_to(show, named(t("share.present_exit", "vi"), "A"), "presenter-5-exit")
    moves_on(show)
