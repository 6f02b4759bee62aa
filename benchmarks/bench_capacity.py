"""Capacity a province can plan with: the server's CPU seconds and memory per page view, cold and
warm, and from them the page views per second a core sustains and the sessions a 4-core and a
16-core server hold with the 95th percentile view at most twice one session's.

One `streamlit run` server over a fresh demo store, as the load benchmark starts it (no file
watching, no garbage collection after every rerun), driven by the protocol client
(`benchmarks/protocol.py`: Streamlit's websocket and protobufs, no browser), so that nearly all
the CPU the machine spends is the server's. A view is one script run of a page, from the request
to the script-finished message. CPU is the server process's (user and system, every thread);
memory its resident size.

1. Cold: first each page opened once in the fresh server, in turn: the resident size each adds
   (its caches; the first page's with the app's start). Then, RUNS rounds per page, the server's
   caches cleared (the menu's "Clear cache": every st.cache_data and st.cache_resource, the Dataset
   opened from the store anew) and one view of the page: CPU and wall time, medians.
2. Warm: one session views each page VIEWS times (caches filled, as after a version's first
   viewer): CPU seconds per view, wall time per view.
3. Sessions: SESSIONS sessions each open the walk once and stay open: the resident size per session.
4. Concurrency, to check the derivation: with the server pinned to one core, then to two (the
   client pinned to the other core in the one-core run), one session walking the leader pages back
   to back (the reference, "one"; the server busy all along, so its CPU seconds per second are the
   share of the pinned cores it can have: other work on a shared machine takes the rest, and one
   Python process uses about one core), then N sessions at once walking them with a pause between
   views chosen so that they ask for --load of that share by the warm CPU per view:
   pause = N × CPU per view / (load × share) − one's p50. Views per second, p50, p95 and p95 / one's,
   and the server's CPU per view under that load. Before each N, one session alone with the same
   pause ("alone"): a server idle between views answers slower than one kept busy, so the N
   sessions' p95 is also given against it (/alone), the rise that sharing the server adds.

The derivation printed at the end: views per second per core = 1 / (warm CPU seconds per view of
the walk), sustainable at full load. A core shared by sessions in turn (processor sharing)
answers in S / (1 − load) on average: 1.5× one session's time S at --load=0.35 (the default), the
margin the 95th percentile needs to stay within 2× one session's (at a load of 0.5 the mean
doubles, and the p95 went past 2×); so a core holds load / CPU per view views per second within
2× one session, which the concurrency runs check. A 4- or 16-core server runs a replica per core
(one Python process uses about one core; deploy/nginx.conf keeps a browser on its replica); with
a pause of THINK seconds between a leader's views, by the interactive response-time law, it holds
N = X × (R + THINK) sessions for X = cores × load / CPU per view and R = one session's p50 /
(1 − load). Memory: a replica's resident size after every page is warm, plus per session.

`python -m benchmarks capacity [--seconds=30] [--clients=2,4,8] [--views=8] [--load=0.35]`. Traffic
goes only to 127.0.0.1; every wait is bounded (protocol.WAIT_S) and the run stops by itself.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil

from benchmarks.protocol import Session
from reformkpi.cli import build_demo
from reformkpi.store import Store
from tests.browser.conftest import serve

RUNS = 3
SESSIONS = 20
THINK = 30.0  # seconds a leader reads a page before the next view, for the sessions with a pause
# The leader pages a walk visits (URL paths), as the load benchmark's walk, and the records drill-down.
WALK = ("tong-quan", "don-vi", "xep-hang", "ho-so", "hai-long")
PAGES = (*WALK, "ho-so-chi-tiet")


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def _pin(proc: psutil.Process, cpus: set[int]) -> None:
    """Pin every thread of the server (threads it starts later inherit their starter's CPUs)."""
    for thread in proc.threads():
        try:
            os.sched_setaffinity(thread.id, cpus)
        except ProcessLookupError:
            pass  # ended meanwhile


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 20 else max(xs)


async def _cold(url: str, server: psutil.Process, say) -> dict[str, tuple[float, float, float]]:
    """Per page: the resident size (MiB) its first view in the fresh server added (the first page's
    with the app's start), and the median server CPU seconds and wall seconds of a cold view."""
    session = await Session.open(url)
    added = {}
    for page in PAGES:
        rss = server.memory_info().rss
        await session.view(page)
        added[page] = (server.memory_info().rss - rss) / 2**20
    out = {}
    for page in PAGES:
        cpu, wall = [], []
        for _ in range(RUNS):
            await session.clear_caches()
            before = _cpu(server)
            view = await session.view(page)
            cpu.append(_cpu(server) - before)
            wall.append(view.seconds)
            if view.exceptions:
                say(f"    {page}: the app showed an exception")
        out[page] = (added[page], statistics.median(cpu), statistics.median(wall))
    await session.close()
    return out


async def _warm(url: str, server: psutil.Process, views: int) -> dict[str, tuple[float, float]]:
    """Per page: server CPU seconds per warm view and the median wall seconds."""
    session = await Session.open(url)
    for page in PAGES:
        await session.view(page)
    out = {}
    for page in PAGES:
        before = _cpu(server)
        walls = [(await session.view(page)).seconds for _ in range(views)]
        out[page] = ((_cpu(server) - before) / views, statistics.median(walls))
    await session.close()
    return out


async def _sessions(url: str, server: psutil.Process, n: int) -> tuple[float, float]:
    """Resident size (MiB) before and after n sessions each opened the walk once and stayed open."""
    before = server.memory_info().rss
    sessions = [await Session.open(url) for _ in range(n)]
    for session in sessions:
        for page in WALK:
            await session.view(page)
    after = server.memory_info().rss
    for session in sessions:
        await session.close()
    return before / 2**20, after / 2**20


async def _walkers(url: str, n: int, seconds: float, pause: float = 0.0) -> tuple[list[float], int]:
    """n sessions walking the leader pages for `seconds`, `pause` seconds between views: every view's
    wall time, and errors (timeouts, lost connections, exceptions shown)."""
    times: list[float] = []
    errors = 0
    until = time.monotonic() + seconds

    async def walk(offset: int) -> None:
        nonlocal errors
        session = await Session.open(url)
        await asyncio.sleep(pause * offset / n)  # the sessions start spread over one pause
        i = offset
        while time.monotonic() < until:
            try:
                view = await session.view(WALK[i % len(WALK)])
                times.append(view.seconds)
                errors += view.exceptions
            except (TimeoutError, OSError):
                errors += 1
            i += 1
            await asyncio.sleep(pause)
        await session.close()

    await asyncio.gather(*(walk(k) for k in range(n)))
    return times, errors


def main(argv: list[str]) -> None:
    opts = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    seconds = float(opts.get("seconds", 30))
    clients = [int(n) for n in opts.get("clients", "2,4,8").split(",")]
    views = int(opts.get("views", 8))
    load = float(opts.get("load", 0.35))
    say = lambda text: print(text, flush=True)
    say("Figures on a shared 2-core machine (other work running): compare within a run; CPU seconds are the "
        "server process's.")
    me = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        store = Store(Path(tmp) / "store")
        build_demo(store, "bench", last_quarter="2026-Q3")
        proc, url = serve(store.uri, env={"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"})
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # never a full pipe
        server = psutil.Process(proc.pid)
        try:
            started = server.memory_info().rss / 2**20
            cold = asyncio.run(_cold(url, server, say))
            warm = asyncio.run(_warm(url, server, views))
            say(f"\nPer view (cold: caches cleared, medians of {RUNS}; warm: {views} views each), server only:")
            say(f"{'page':>16}{'first +MiB':>11}{'cold CPU':>10}{'cold wall':>11}{'warm CPU':>10}{'warm wall':>11}")
            for page in PAGES:
                (grown, c_cpu, c_wall), (w_cpu, w_wall) = cold[page], warm[page]
                say(f"{page:>16}{grown:>10.0f}M{c_cpu:>9.2f}s{c_wall:>10.2f}s{w_cpu * 1000:>8.0f}ms{w_wall * 1000:>9.0f}ms")
            per_view = statistics.mean(warm[p][0] for p in WALK)
            cold_view = statistics.mean(cold[p][1] for p in WALK)
            base, with_sessions = asyncio.run(_sessions(url, server, SESSIONS))
            per_session = (with_sessions - base) / SESSIONS
            say(f"resident size: {started:,.0f} MiB at start, {base:,.0f} MiB with every page warm, "
                f"{with_sessions:,.0f} MiB with {SESSIONS} more sessions open: {per_session:.1f} MiB a session")

            say(f"\nConcurrency: one session back to back, then N sessions asking for {load:.0%} of the server's share "
                f"(the pause between views below), walking {len(WALK)} pages for {seconds:.0f} s each")
            say(f"{'cores':>6}{'N':>4}{'pause':>8}{'views':>7}{'views/s':>9}{'p50':>8}{'p95':>8}{'p95/one':>9}"
                f"{'/alone':>9}{'errors':>8}{'CPU/view':>10}{'client CPU':>12}")
            one_p50 = 0.0
            for cpus in ({0}, {0, 1}):
                _pin(server, cpus)
                me.cpu_affinity([1] if cpus == {0} else [0, 1])
                one = None
                share = 1.0
                for n in (1, *clients):
                    pause = 0.0 if one is None else max(n * per_view / (load * share) - one_p50, 0.0)
                    # One session with the same pause first: a server idle between views answers slower
                    # than one kept busy (on this virtual machine an idle core wakes late), and the N
                    # sessions' p95 is compared with it as well as with the session back to back.
                    alone = None
                    for k in ((1, n) if one is not None else (n,)):
                        before, mine = _cpu(server), _cpu(me)
                        times, errors = asyncio.run(_walkers(url, k, seconds, pause))
                        server_cpu, client_cpu = _cpu(server) - before, _cpu(me) - mine
                        p50, p95 = statistics.median(times), _p95(times)
                        if one is None:
                            one, share = p95, server_cpu / seconds
                            one_p50 = p50 if cpus == {0} else one_p50
                            say(f"{len(cpus):>6}  one session back to back: the server had {share:.2f} of a core")
                        if alone is None and k == 1 and n > 1:
                            alone = p95
                        versus = f"{p95 / alone:>8.2f}×" if alone is not None and k > 1 else f"{'':>9}"
                        say(f"{len(cpus):>6}{k:>4}{pause:>7.2f}s{len(times):>7}{len(times) / seconds:>9.2f}"
                            f"{p50 * 1000:>6.0f}ms{p95 * 1000:>6.0f}ms{p95 / one:>8.2f}×{versus}{errors:>8}"
                            f"{server_cpu / len(times) * 1000:>8.0f}ms{client_cpu:>11.1f}s")
            me.cpu_affinity(list(range(psutil.cpu_count())))
        finally:
            proc.terminate()
            proc.wait(30)

    rate = load / per_view
    say(f"\nDerived: a warm view takes {per_view * 1000:.0f} ms of server CPU (mean of the walk's pages; a cold "
        f"one {cold_view:.2f} s) -> {1 / per_view:.1f} views/s per core at full load, {rate:.1f} views/s per core "
        f"at a load of {load:.0%} (within 2× one session's time; one session's view: p50 {one_p50 * 1000:.0f} ms at one core)")
    for cores in (4, 16):
        sessions = rate * cores * (one_p50 / (1 - load) + THINK)
        say(f"  {cores} cores, a replica per core: {rate * cores:.0f} views/s; {sessions:,.0f} sessions with a "
            f"{THINK:.0f} s pause between views (N = X × (R + pause)); memory {cores} × {base:,.0f} MiB + "
            f"{per_session:.1f} MiB a session = {(cores * base + per_session * sessions) / 1024:,.1f} GiB")
