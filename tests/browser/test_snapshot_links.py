"""Snapshot links open their page in a fresh browser with no "Page not found" dialog: every page's
link at the three screen sizes, the link in presentation mode, and links that name their page's
path (as the app made them before, and as people type them)."""

from __future__ import annotations

import pytest

from components import navigation
from reformkpi import snapshots
from reformkpi.auth import Actor
from tests.browser.conftest import screenshot
from tests.browser.test_legibility import PHONE_AGENT, SIZES

VIEWS = {"tong-quan": {"year": "2019"}, "don-vi": {"unit": "so-tai-nguyen-moi-truong", "year": "2019"},
         "xep-hang": {"year": "2019"}, "ho-so": {}, "ho-so-chi-tiet": {}, "hai-long": {"year": "2019"}}


@pytest.fixture(scope="module")
def saved(demo_store) -> dict[str, snapshots.Snapshot]:
    """A snapshot of every leader page, as an analyst saves it from the share menu."""
    return {page: snapshots.create(demo_store, Actor("lan", "analyst"), f"Giao ban {page}", page,
                                   {**view, "data": "demo", "lang": "vi"}, demo_store.version(),
                                   demo_store.catalog_versions())
            for page, view in VIEWS.items()}


def open_fresh(browser, url: str, size: str, snap: snapshots.Snapshot):
    """`url` in a new browser context (no cookies, no session) at a screen size, once the
    snapshot's banner shows: Streamlit has said by then whether it found the page (its "Page not
    found" message comes before the page runs)."""
    width, height = SIZES[size]
    phone = size == "phone"
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN", is_mobile=phone,
                                  has_touch=phone, user_agent=PHONE_AGENT if phone else None)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    # .first: while a rerun (the screen probe's) draws it again, the stale banner may still stand beside it
    page.get_by_text(f"Ảnh chụp “{snap.title}”", exact=False).first.wait_for()
    return page


def dialogs(page) -> int:
    return page.get_by_role("dialog").count() + page.get_by_text("Page not found").count()


def opened_cleanly(page, snap: snapshots.Snapshot) -> list[str]:
    """What is wrong with the opened snapshot: a dialog, another page than the snapshot's."""
    wrong = ["a dialog"] if dialogs(page) else []
    current = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')
    if current.count() and navigation.title(snap.page, "vi") not in (current.text_content() or ""):
        wrong.append(f"page {current.text_content()!r}")  # presentation mode has no navigation to read
    return wrong


def below_the_fold(page) -> list[str]:
    """Presentation mode: the chart (the page's key figure) and the buttons, if they reach below the window."""
    page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg').first.wait_for()
    page.get_by_text("1 / ", exact=False).wait_for()
    return page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stPlotlyChart"], [class*="st-key-present-next"], [class*="st-key-present-prev"]')]
      .filter(el => el.getBoundingClientRect().bottom > window.innerHeight + 1)
      .map(el => `${el.getAttribute('data-testid') || el.className.match(/st-key-[\\w-]+/)} ends at `
                 + `${Math.round(el.getBoundingClientRect().bottom)} > ${window.innerHeight}`)""")


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_every_pages_snapshot_link_opens_with_no_dialog(browser, app_url, saved, size):
    problems = {}
    for page_path, snap in saved.items():
        for kind, url in (("link", f"{app_url}/?snapshot={snap.snapshot_id}&data=demo"),
                          ("present", f"{app_url}/?snapshot={snap.snapshot_id}&data=demo&present=1")):
            if kind == "present" and page_path not in ("tong-quan", "hai-long"):
                continue  # presentation mode: one page opened at the root by default, one not
            page = open_fresh(browser, url, size, snap)
            wrong = opened_cleanly(page, snap)
            if kind == "present" and size != "phone":
                wrong += below_the_fold(page)
            if wrong:
                problems[f"{page_path} {kind}"] = wrong
                screenshot(page, f"snapshot-link-{page_path}-{kind}-{size}")
            page.context.close()
    assert not problems, problems


@pytest.mark.slow
def test_links_naming_a_pages_path_open_it_with_no_dialog(browser, app_url, saved):
    problems = {}
    for page_path, snap in saved.items():
        page = open_fresh(browser, f"{app_url}/{page_path}?snapshot={snap.snapshot_id}&data=demo", "laptop", snap)
        if wrong := opened_cleanly(page, snap):
            problems[page_path] = wrong
        page.context.close()
    assert not problems, problems

