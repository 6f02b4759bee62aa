"""Many leaders at once: concurrent browser sessions walking the leader pages against one server.

One `streamlit run` server on 127.0.0.1 (a free port) over a fresh demo store; Debian's Chromium
through Playwright, one browser context per session (its own cookies and Streamlit session).
Each session walks Tổng quan → Đơn vị → Xếp hạng → Hồ sơ TTHC → Mức độ hài lòng, each opened by
its link with a year and a unit drawn at random (so the views mix cached and uncached ones).

Time to the last chart: from navigation to the moment the script has finished (no running
status) and every Plotly chart on the page has drawn. First a single session walks alone
(the reference), then SESSIONS sessions together for the given minutes. Printed per run: page
views, p50 and p95, the ratio to the single session, errors (navigation failures, timeouts,
exceptions shown by the app, JavaScript errors: must be 0), and the server's resident memory
(with its children) idle and at its peak, and the increase per session.

`python -m benchmarks load [--minutes=5] [--sessions=20] [--single-minutes=1]`. Traffic goes
only to 127.0.0.1, every wait is bounded (60 s), and the run stops by itself. The browsers run
on the same 2 cores as the server, so the figures are those of both together.
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

from reformkpi.cli import build_demo
from reformkpi.store import Store
from tests.browser.conftest import CHROMIUM, serve

WAIT_MS = 60_000
YEARS = range(2019, 2026)
UNITS = ("so-noi-vu", "so-tu-phap", "so-tai-chinh", "so-xay-dung", "so-y-te", "so-nong-nghiep-moi-truong")
DRAWN = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
         "document.querySelectorAll('.js-plotly-plot').length > 0 && "
         "[...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('.main-svg'))")


def _walk(rng: random.Random) -> list[str]:
    year, unit = rng.choice(YEARS), rng.choice(UNITS)
    return [f"/?year={year}", f"/don-vi?unit={unit}&year={year}", f"/xep-hang?year={year}",
            f"/ho-so?year={year}", f"/hai-long?year={year}"]


async def _session(browser, url: str, seed: int, until: float, times: list[float], errors: list[str]) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(f"javascript: {e}"))
    rng = random.Random(seed)
    try:
        while time.monotonic() < until:
            for path in _walk(rng):
                if time.monotonic() >= until:
                    break
                start = time.perf_counter()
                try:
                    response = await page.goto(url + path, timeout=WAIT_MS)
                    if response is None or response.status != 200:
                        errors.append(f"{path}: HTTP {response and response.status}")
                        continue
                    await page.wait_for_function(DRAWN, timeout=WAIT_MS, polling=50)
                    times.append(time.perf_counter() - start)
                    if await page.locator('[data-testid="stException"]').count():
                        errors.append(f"{path}: the app showed an exception")
                except Exception as e:  # a timeout or a navigation failure is an error of the run
                    errors.append(f"{path}: {type(e).__name__}: {str(e).splitlines()[0]}")
    finally:
        await context.close()


def _rss(pid: int) -> int:
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class _Peak:
    def __init__(self, pid: int):
        self.pid, self.peak = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss(self.pid))
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


async def _run(url: str, sessions: int, seconds: float) -> tuple[list[float], list[str]]:
    from playwright.async_api import async_playwright

    times: list[float] = []
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM),
                                          args=["--no-sandbox", "--disable-dev-shm-usage"])
        until = time.monotonic() + seconds
        await asyncio.gather(*(_session(browser, url, seed, until, times, errors) for seed in range(sessions)))
        await browser.close()
    return times, errors


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 20 else max(xs)


def main(argv: list[str]) -> None:
    opts = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    minutes, sessions = float(opts.get("minutes", 5)), int(opts.get("sessions", 20))
    single = float(opts.get("single-minutes", 1))
    print("Figures on a shared 2-core machine (server and browsers on the same cores, other work running).")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        store = Store(Path(tmp) / "store")
        build_demo(store, "bench", last_quarter="2026-Q3")
        proc, url = serve(store.uri)
        # The server's log goes to a pipe: keep draining it so that a full pipe never blocks the server.
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        try:
            server = proc.pid
            print(f"{'sessions':>8}{'views':>7}{'p50':>9}{'p95':>9}{'p50/single':>12}{'errors':>8}"
                  f"{'RSS idle':>10}{'RSS peak':>10}{'per session':>13}", flush=True)
            reference = None
            for n, secs in ((1, 60 * single), (sessions, 60 * minutes)):
                idle = _rss(server)
                with _Peak(server) as peak:
                    times, errors = asyncio.run(_run(url, n, secs))
                if not times:
                    print(f"{n:>8}: no page finished; errors: {errors[:5]}")
                    continue
                p50 = statistics.median(times)
                reference = reference or p50
                print(f"{n:>8}{len(times):>7}{p50 * 1000:>7.0f}ms{_p95(times) * 1000:>7.0f}ms{p50 / reference:>11.1f}×"
                      f"{len(errors):>8}{idle / 2**20:>7.0f}MiB{peak.peak / 2**20:>7.0f}MiB"
                      f"{(peak.peak - idle) / n / 2**20:>10.1f}MiB", flush=True)
                for e in errors[:10]:
                    print(f"    {e}")
        finally:
            proc.terminate()
            proc.wait(30)
