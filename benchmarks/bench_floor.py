"""The leader pages against their floor, in a real browser: the app, and a bare Streamlit app that
draws the same titles, metric tiles, Plotly figures (same figure, same config: the same sizes) and
tables (benchmarks/floor_app.py), both served by `streamlit run` with the same settings over the
demo store.

The floor's content is captured from the app itself (AppTest of each page, the laptop screen a
1440-pixel window is classed as). Each view is a fresh browser context (1440×900) opening the
page's URL, timed to its title shown, no script running, nothing stale and every Plotly chart
drawn; app and floor alternate view by view, and each figure is the median of `--runs` (7).
Also printed: each server's resident memory (with its children) once started, after every page
was opened once, and at the end, and that of a process importing its code and nothing else; and what one more view of each page weighs, untimed (requests,
WebSocket messages and the bytes received over them, DOM nodes).

`python -m benchmarks floor [--runs=7] [--against=DIR]` (`--runs=0`: the weights and memory only): with another checkout (e.g. an earlier
commit's), its app is served too and timed in turn with the two. The browsers share the server's
cores: ratios are the figure to read.
"""

from __future__ import annotations

import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from streamlit.testing.v1.element_tree import Block

from reformkpi.cli import build_demo
from reformkpi.i18n import t
from reformkpi.store import Store
from tests.browser.conftest import CHROMIUM, serve

ROOT = Path(__file__).resolve().parent.parent
# URL path, the page's script and the key of its title, as the table lists them.
PAGES = (("", "app_pages/overview.py", "overview.title"), ("don-vi", "app_pages/unit.py", "unit.title"),
         ("xep-hang", "app_pages/rankings.py", "rankings.title"), ("ho-so", "app_pages/dossiers.py", "dossiers.title"),
         ("hai-long", "app_pages/satisfaction.py", "satisfaction.title"),
         ("ho-so-chi-tiet", "app_pages/records.py", "records.title"))
WAIT_MS = 120_000
# The page titled so has finished its script (no running status, nothing stale) and drawn its charts, all of them.
DRAWN = """([title, charts]) => {
  const h = document.querySelector('h1');
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return h && h.textContent.includes(title) && !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]') && plots.length >= charts
    && plots.every(p => p.querySelector('.main-svg'));
}"""


def capture(store: Store) -> dict[str, tuple[str, list[tuple]]]:
    """What each page draws, in order: metrics (label, value, delta), Plotly figures (spec, config) and tables."""
    from streamlit.testing.v1 import AppTest

    os.environ["REFORMKPI_STORE"] = store.uri
    out = {}
    for path, script, title_key in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.run()  # the first run lands on the default page
        at.switch_page(script).run()
        title = t(title_key, "vi")
        if at.exception or at.title[0].value != title:
            raise RuntimeError(f"{script}: {at.exception[0].message if at.exception else at.title[0].value}")
        out[path] = (title, _shown(at.main))
    return out


def _shown(node: Block) -> list[tuple]:
    """The metrics, figures and tables under an AppTest node in page order, in their columns (a
    closed expander's or popover's content is not shown, and left out)."""
    out: list[tuple] = []
    for child in node.children.values():
        if child.type == "plotly_chart":
            out.append(("plotly", (child.proto.spec, child.proto.config)))
        elif child.type == "metric":
            out.append(("metric", (child.label, child.value, child.delta or None)))
        elif child.type == "dataframe":
            out.append(("dataframe", child.value))
        elif child.type in ("expander", "popover"):
            continue
        elif not isinstance(child, Block):
            continue
        elif (columns := list(child.children.values())) and all(c.type == "column" for c in columns):
            inside = [_shown(c) for c in columns]
            if any(inside):
                out.append(("columns", ([c.weight for c in columns], inside)))
        else:
            out += _shown(child)
    return out


def charts(view: tuple[str, list[tuple]]) -> int:
    """How many Plotly charts a captured page draws."""
    def count(elements: list[tuple]) -> int:
        return sum(1 if kind == "plotly" else sum(map(count, body[1])) if kind == "columns" else 0
                   for kind, body in elements)
    return count(view[1])


def _rss(pid: int) -> int:
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return sum(p.memory_info().rss for p in procs)


# What each server's code imports, in a process that imports it and nothing else: the app's modules
# (every component, and through them the core), the libraries the floor draws with (its tables are
# pandas frames sent as Arrow).
IMPORTS = {"app": "import importlib, pathlib; [importlib.import_module('components.' + p.stem) "
                  "for p in sorted(pathlib.Path('components').glob('*.py'))]",
           "floor": "import streamlit, plotly.graph_objects, plotly.io, pandas, pyarrow"}


def _imports_rss(code: str) -> int:
    out = subprocess.run([sys.executable, "-c", f"{code}; import psutil; print(psutil.Process().memory_info().rss)"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def _view(browser, url: str, title: str, n_charts: int) -> float:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    try:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url, timeout=WAIT_MS)
        page.wait_for_function(DRAWN, arg=[title, n_charts], timeout=WAIT_MS, polling=50)
        took = time.perf_counter() - start
        if page.locator('[data-testid="stException"]').count():
            raise RuntimeError(f"{url}: the page shows an exception")
        return took
    finally:
        context.close()


# What a view weighs, counted in the page (its frames included): every DOM node, and the shadow roots' too.
DOM_NODES = """() => {
  const count = root => [...root.querySelectorAll('*')].reduce((n, e) => n + 1 + (e.shadowRoot ? count(e.shadowRoot) : 0), 0);
  return [...document.querySelectorAll('iframe')].reduce((n, f) => n + (f.contentDocument ? count(f.contentDocument) : 0),
                                                         count(document));
}"""


def _weighed(browser, url: str, title: str, n_charts: int) -> dict[str, int]:
    """One untimed view's requests, WebSocket messages (both ways) and bytes received over them, and DOM nodes."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    seen = {"requests": 0, "messages": 0, "ws bytes": 0}

    def on_frame(payload) -> None:
        seen["messages"] += 1
        seen["ws bytes"] += len(payload)

    def on_socket(ws) -> None:
        ws.on("framereceived", on_frame)
        ws.on("framesent", lambda payload: seen.__setitem__("messages", seen["messages"] + 1))

    try:
        page = context.new_page()
        page.on("request", lambda _: seen.__setitem__("requests", seen["requests"] + 1))
        page.on("websocket", on_socket)
        page.goto(url, timeout=WAIT_MS)
        page.wait_for_function(DRAWN, arg=[title, n_charts], timeout=WAIT_MS, polling=50)
        page.wait_for_load_state("networkidle")
        return {**seen, "DOM nodes": page.evaluate(DOM_NODES)}
    finally:
        context.close()


def main(argv: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    opts = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    runs = int(opts.get("runs", 7))
    other = opts.get("against")
    env = {"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}  # as deployed
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        store = Store(Path(tmp) / "store")
        build_demo(store, "bench", last_quarter="2026-Q3")
        views = capture(store)
        (Path(tmp) / "views.pickle").write_bytes(pickle.dumps(views))
        servers = {"app": serve(store.uri, env=env),
                   "floor": serve(store.uri, env={**env, "FLOOR_VIEWS": str(Path(tmp) / "views.pickle")},
                                  script="benchmarks/floor_app.py")}
        if other:
            servers["before"] = serve(store.uri, env=env, root=Path(other).resolve())
        for proc, _ in servers.values():  # keep draining the servers' logs: a full pipe would block them
            threading.Thread(target=lambda proc=proc: [None for _ in proc.stdout], daemon=True).start()
        memory = {"at start": {name: _rss(proc.pid) for name, (proc, _) in servers.items()}}
        times: dict[tuple[str, str], list[float]] = {}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"])
                for i in range(runs + 1):  # the first round warms the servers (imports, caches) and is not counted
                    for path, _, _ in PAGES:
                        title, n_charts = views[path][0], charts(views[path])
                        order = list(servers)[i % len(servers):] + list(servers)[:i % len(servers)]
                        for name in order:
                            took = _view(browser, f"{servers[name][1]}/{path}", title, n_charts)
                            if i:
                                times.setdefault((path, name), []).append(took)
                    if i == 0:
                        memory["after every page opened once"] = {n: _rss(proc.pid) for n, (proc, _) in servers.items()}
                weights = {(path, name): _weighed(browser, f"{url}/{path}", views[path][0], charts(views[path]))
                           for path, _, _ in PAGES for name, (_, url) in servers.items()}
                browser.close()
            memory["at the end"] = {name: _rss(proc.pid) for name, (proc, _) in servers.items()}
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(30)
    print("One more view of each page, untimed: " + ", ".join(weights[PAGES[0][0], "app"]) + " (each server's)")
    for path, _, _ in PAGES:
        print(f"{'/' + path:<17}" + "; ".join(" / ".join(str(weights[path, name][k]) for name in servers)
                                              for k in weights[path, "app"]), flush=True)
    print(f"Fresh context per view, 1440×900, medians of {runs}, {', '.join(servers)} in turn; the browsers share the "
          "server's cores" + (f"; before: {other}" if other else ""))
    print(f"{'page':<17}" + "".join(f"{name:>9}" for name in servers) + f"{'app/floor':>11}  per-run app/floor"
          + ("; before/floor" if other else ""))
    for path, _, _ in PAGES if runs else ():  # --runs=0: the weights and memory only
        med = {name: statistics.median(times[(path, name)]) for name in servers}
        per_run = ", ".join(f"{x / y:.2f}" for x, y in zip(times[(path, "app")], times[(path, "floor")]))
        before = (f"; {med['before'] / med['floor']:.2f}×" if other else "")
        print(f"{'/' + path:<17}" + "".join(f"{med[name]:>7.2f} s" for name in servers)
              + f"{med['app'] / med['floor']:>10.2f}×  {per_run}{before}", flush=True)
    memory["of its imports alone"] = {name: _imports_rss(code) for name, code in IMPORTS.items()}
    for when, rss in memory.items():
        print(f"resident memory {when}: " + ", ".join(f"{name} {v / 2**20:.0f} MiB" for name, v in rss.items()))
