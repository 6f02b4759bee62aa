"""WCAG 2.1 A and AA, checked by axe-core in the browser: every page and the sign-in form, in
Vietnamese and English, on a phone (390×844) and a laptop (1440×900); 0 serious or critical
violations but those of the framework's own markup listed in a11y_allow.py. The document's language
is the chosen one on every page; at 200% zoom no page scrolls sideways; with reduced motion nothing
moves. The report (state, rule, impact, elements) is saved under test-output/a11y/."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest

from reformkpi import snapshots
from reformkpi.auth import Accounts, Actor
from reformkpi.i18n import t
from reformkpi.ingest import papi
from reformkpi.auth import operator
from reformkpi.store import Store
from tests.browser.a11y_allow import ALLOWED
from tests.browser.conftest import serve
from tests.conftest import OUTPUT

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPORT = OUTPUT / "a11y"
PASSWORD = "mật-khẩu-đủ-dài-1"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
SIZES = {"phone": (390, 844), "laptop": (1440, 900)}
# Every page by its URL (the overview is the root: the default page is not served at its own path),
# PAPI's own dataset, and presentation mode.
PAGES = {"overview": "", "unit": "don-vi", "rankings": "xep-hang", "dossiers": "ho-so", "records": "ho-so-chi-tiet",
         "satisfaction": "hai-long", "papi": "?data=papi", "upload": "cap-nhat", "history": "lich-su",
         "snapshots": "anh-chup", "present": "?present=1"}
_found: dict[str, list[dict]] = {}


@pytest.fixture(scope="module")
def a11y_app(demo_store, tmp_path_factory):
    """The demo data with a snapshot, PAPI's dataset and an analyst's account: every page has content."""
    root = tmp_path_factory.mktemp("a11y")
    shutil.copytree(demo_store.uri, root / "store")
    store = Store(root / "store")
    analyst = Actor("lan.pham", "analyst")
    snapshots.create(store, analyst, "Giao ban tháng 11", "tong-quan", {"lang": "vi"}, store.version(),
                     store.catalog_versions())
    papi.build(Store(root / "papi"), operator("test"))
    accounts = Accounts(root / "accounts.json")
    accounts.add(analyst.name, analyst.role, PASSWORD)
    proc, url = serve(store.uri, {"REFORMKPI_PAPI_STORE": str(root / "papi"), "REFORMKPI_ACCOUNTS": str(accounts.path)})
    yield url
    proc.terminate()
    proc.wait(10)
    _write_report()


def _address(url: str, path: str, lang: str) -> str:
    query = "lang=en" if lang == "en" else ""
    if path.startswith("?"):
        return f"{url}/{path}" + (f"&{query}" if query else "")
    return f"{url}/{path}" + (f"?{query}" if query else "")


_SETTLED = ("() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'"
            " && !document.querySelector('[data-stale=\"true\"]')"
            " && [...document.querySelectorAll('.stPlotlyChart')].every(c => c.querySelector('.main-svg'))")


def settle(page) -> None:
    """The script has run and finished (Streamlit's own state on the app), nothing is stale, every
    chart has drawn; asked again after two frames, as the screen probe may rerun the page once."""
    for _ in range(2):
        page.wait_for_function(_SETTLED)
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_function(_SETTLED)


def open_sidebar(page) -> None:
    """On a phone the sidebar starts folded away."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    if sidebar.get_attribute("aria-expanded") == "false" or not sidebar.is_visible():
        page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button').first.click()
        page.locator('[data-testid="stSidebarUserContent"]').wait_for()


def sign_in(page, lang: str) -> None:
    open_sidebar(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stExpander"] summary').click()
    sidebar.get_by_role("textbox", name=t("access.name", lang)).fill("lan.pham")
    sidebar.get_by_role("textbox", name=t("access.password", lang)).fill(PASSWORD)


def scan(page, state: str) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations in the page as it is, each node marked allowed or not."""
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]})
    rows = []
    for v in result.response["violations"]:
        for node in v["nodes"]:
            target = node["target"][-1] if isinstance(node["target"][-1], str) else node["target"][-1][-1]
            allowed = next((a for a in ALLOWED if a.rule == v["id"] and page.evaluate(
                "([t, s]) => { const e = document.querySelector(t); return !!e && !!e.closest(s); }",
                [target, a.selector])), None)
            rows.append({"state": state, "rule": v["id"], "impact": v["impact"], "target": target,
                         "html": node["html"][:300], "summary": node.get("failureSummary", "")[:400],
                         "allowed": allowed.upstream if allowed else ""})
    _found[state] = rows
    return rows


def _write_report() -> None:
    REPORT.mkdir(parents=True, exist_ok=True)
    rows = [r for found in _found.values() for r in found]
    (REPORT / "axe-report.json").write_text(json.dumps({"states": sorted(_found), "violations": rows},
                                                       ensure_ascii=False, indent=1))
    by_rule: dict[tuple[str, str, str], int] = {}
    for r in rows:
        key = (r["rule"], r["impact"], r["allowed"] or "-")
        by_rule[key] = by_rule.get(key, 0) + 1
    lines = [f"# axe-core {', '.join(TAGS)}: {len(_found)} states", "", "| rule | impact | allowed (upstream) | elements |",
             "| --- | --- | --- | --- |"] + [f"| {k[0]} | {k[1]} | {k[2]} | {n} |" for k, n in sorted(by_rule.items())]
    (REPORT / "axe-report.md").write_text("\n".join(lines) + "\n")


def blocking(rows: list[dict]) -> list[str]:
    return [f"{r['state']}: {r['rule']} ({r['impact']}) {r['target']} {r['html'][:120]}"
            for r in rows if r["impact"] in BLOCKING and not r["allowed"]]


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_passes_axe_and_speaks_its_language(browser, a11y_app, size, lang):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    failures: list[str] = []
    try:
        page.goto(_address(a11y_app, "", lang))
        settle(page)
        sign_in(page, lang)  # the form open and filled in: scanned as a reader meets it
        failures += blocking(scan(page, f"sign-in/{size}/{lang}"))
        page.locator('[data-testid="stSidebar"] [data-testid="stFormSubmitButton"] button').click()
        page.get_by_text(t("access.sign_out", lang), exact=True).wait_for()
        for name, path in PAGES.items():
            page.goto(_address(a11y_app, path, lang))
            settle(page)
            page.wait_for_function("lang => document.documentElement.lang === lang", arg=lang)
            failures += blocking(scan(page, f"{name}/{size}/{lang}"))
    finally:
        context.close()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_page_is_served_in_its_language(a11y_app, lang):
    """Before any script runs: a screen reader that reads the page at once reads it right."""
    request = urllib.request.Request(_address(a11y_app, "xep-hang", lang), headers={"Accept": "text/html",
                                                                                    "Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
    assert f'<html lang="{lang}">' in body


def test_at_200_percent_zoom_no_page_scrolls_sideways_and_nothing_moves(browser, a11y_app):
    """1440×900 at 200%: a 720×450 CSS-pixel window drawn at twice the density; reduced motion asked."""
    context = browser.new_context(viewport={"width": 720, "height": 450}, device_scale_factor=2,
                                  reduced_motion="reduce", locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    wide, moving = [], []
    try:
        for name, path in PAGES.items():
            page.goto(_address(a11y_app, path, "vi"))
            settle(page)
            over = page.evaluate("""() => [document.scrollingElement, document.querySelector('[data-testid="stMain"]')]
                .filter(Boolean).map(e => e.scrollWidth - e.clientWidth)""")
            if max(over) > 1:
                wide.append(f"{name}: {over}")
            running = page.evaluate("""() => document.getAnimations().filter(a => a.playState === 'running'
                && (a.effect?.getTiming().duration || 0) > 1).map(a => a.animationName || a.transitionProperty || 'animation')""")
            if running:
                moving.append(f"{name}: {running}")
    finally:
        context.close()
    assert not wide, wide
    assert not moving, moving
