"""Many leaders at once: concurrent browser sessions walking the leader pages against one server.

One `streamlit run` server on 127.0.0.1 (a free port) over a fresh demo store; Debian's Chromium
through Playwright, one browser context per session (its own cookies and Streamlit session).
Each session opens the app by a link with a year drawn at random (the "open": the page and the
app's scripts load), then walks Đơn vị → Xếp hạng → Hồ sơ TTHC → Mức độ hài lòng → Tổng quan by
the sidebar, again and again, as a leader does.

Time to the last chart: from the click (or the navigation) to the moment the page with the
expected title has finished its script (no running status, nothing stale) and every Plotly chart
on it has drawn. First a single session walks alone (the reference), then the sessions together
for the given minutes. Printed per run: opens and their median, page views, p50 and p95, the
ratio to the single session, errors (navigation failures, timeouts, exceptions shown by the app,
JavaScript errors: must be 0), the server's resident memory (with its children) before the
run and at its peak, and the increase per session, and the CPU seconds the server and the
browsers (Chromium with Playwright's driver) used: which side the two cores were busy with.

`python -m benchmarks load [--minutes=5] [--sessions=20] [--single-minutes=1]` (`--sessions=5,20`:
one run after the other). Traffic goes only to 127.0.0.1, every wait is bounded (120 s), and the
run stops by itself. The browsers run on the same 2 cores as the server, so the figures are
those of both together: what a leader waits for when browsers and server share a small machine,
not what the server can carry (the browsers take most of the CPU); `benchmarks capacity` measures
the server alone with a protocol client.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from benchmarks.measure import PeakSampler
from reformkpi.cli import build_demo
from reformkpi.store import Store
from tests.browser.conftest import CHROMIUM, serve

WAIT_MS = 120_000
YEARS = range(2019, 2026)
# The leader pages in the order a walk visits them: the sidebar link and the page's title.
WALK = (("Tổng quan", "Tổng quan cải cách hành chính"), ("Đơn vị", "Hồ sơ đơn vị"),
        ("Xếp hạng", "Xếp hạng các đơn vị"), ("Hồ sơ TTHC", "Hồ sơ thủ tục hành chính"),
        ("Mức độ hài lòng", "Mức độ hài lòng của người dân, tổ chức"))
# The page titled so has finished its script (no running status, nothing stale) and drawn every chart.
DRAWN = """title => {
  const h = document.querySelector('h1');
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return h && h.textContent.includes(title) && !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]') && plots.length > 0 && plots.every(p => p.querySelector('.main-svg'));
}"""


async def _timed_view(page, action, title: str, times: list[float], errors: list[str], what: str) -> None:
    start = time.perf_counter()
    try:
        await action()
        await page.wait_for_function(DRAWN, arg=title, timeout=WAIT_MS, polling=50)
        times.append(time.perf_counter() - start)
        if await page.locator('[data-testid="stException"]').count():
            errors.append(f"{what}: the app showed an exception")
    except Exception as e:  # a timeout or a navigation failure is an error of the run
        errors.append(f"{what}: {type(e).__name__}: {str(e).splitlines()[0]}")


async def _session(browser, url: str, seed: int, until: float, opens: list[float], times: list[float],
                   errors: list[str]) -> None:
    """A leader opens the app on a link (a year drawn at random), then walks the leader pages by
    the sidebar, as many times as the time allows."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(f"javascript: {e}"))
    year = random.Random(seed).choice(YEARS)
    nav = page.locator('[data-testid="stSidebarNav"]')
    try:
        await _timed_view(page, lambda: page.goto(f"{url}/?year={year}", timeout=WAIT_MS), WALK[0][1], opens,
                          errors, f"open ?year={year}")
        while time.monotonic() < until:
            for link, title in (*WALK[1:], WALK[0]):
                if time.monotonic() >= until:
                    break
                await _timed_view(page, lambda link=link: nav.get_by_text(link, exact=True).click(timeout=WAIT_MS), title,
                                  times, errors, link)
    finally:
        await context.close()


def _tree(pid: int) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def _cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


def _browser_cpu(server: int) -> float:
    """CPU seconds of this process's children that are not the server: Playwright's driver and
    Chromium (a finished run's browser is gone, so this is read while it runs)."""
    serving = {p.pid for p in _tree(server)}
    return _cpu_seconds([p for p in psutil.Process().children(recursive=True) if p.pid not in serving])


def _rss(pid: int) -> int:
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


async def _run(url: str, sessions: int, seconds: float) -> tuple[list[float], list[float], list[str]]:
    from playwright.async_api import async_playwright

    opens: list[float] = []
    times: list[float] = []
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM),
                                          args=["--no-sandbox", "--disable-dev-shm-usage"])
        until = time.monotonic() + seconds
        await asyncio.gather(*(_session(browser, url, seed, until, opens, times, errors)
                               for seed in range(sessions)))
        await browser.close()
    return opens, times, errors


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 20 else max(xs)


def main(argv: list[str]) -> None:
    opts = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    minutes = float(opts.get("minutes", 5))
    sessions = [int(n) for n in opts.get("sessions", "20").split(",")]
    single = float(opts.get("single-minutes", 1))
    print("Figures on a shared 2-core machine (server and browsers on the same cores, other work running).")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        store = Store(Path(tmp) / "store")
        build_demo(store, "bench", last_quarter="2026-Q3")
        # As deployed (deploy/config.toml): no watching of the source files for changes.
        proc, url = serve(store.uri, env={"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"})
        # The server's log goes to a pipe: keep draining it so that a full pipe never blocks the server.
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        try:
            server = proc.pid
            print(f"{'sessions':>8}{'opens':>6}{'open p50':>10}{'views':>7}{'p50':>9}{'p95':>9}{'p50/single':>12}"
                  f"{'errors':>8}{'RSS before':>12}{'RSS peak':>10}{'per session':>13}{'CPU server':>12}"
                  f"{'browsers':>10}", flush=True)
            reference = None
            for n, secs in ((1, 60 * single), *((k, 60 * minutes) for k in sessions)):
                before = _rss(server)
                server_cpu = _cpu_seconds(_tree(server))
                # The browsers' CPU is sampled while they run (their processes end with the run).
                with PeakSampler(rss=lambda: _rss(server), browsers=lambda: _browser_cpu(server)) as peak:
                    opens, times, errors = asyncio.run(_run(url, n, secs))
                server_cpu = _cpu_seconds(_tree(server)) - server_cpu
                p50 = statistics.median(times) if times else float("nan")
                reference = reference or p50
                open_p50 = statistics.median(opens) if opens else float("nan")
                print(f"{n:>8}{len(opens):>6}{open_p50 * 1000:>8.0f}ms{len(times):>7}{p50 * 1000:>7.0f}ms"
                      f"{(_p95(times) if times else float('nan')) * 1000:>7.0f}ms{p50 / reference:>11.1f}×"
                      f"{len(errors):>8}{before / 2**20:>9.0f}MiB{peak.peak['rss'] / 2**20:>7.0f}MiB"
                      f"{(peak.peak['rss'] - before) / n / 2**20:>10.1f}MiB{server_cpu:>11.0f}s"
                      f"{peak.peak['browsers']:>9.0f}s", flush=True)
                for e in errors[:10]:
                    print(f"    {e}")
        finally:
            proc.terminate()
            proc.wait(30)
