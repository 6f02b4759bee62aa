"""The store on an S3-compatible object store against the same on local disk, side by side in one
run: `make bench BENCH=objectstore` (`python -m benchmarks objectstore [--quick]`).

A SeaweedFS server (tests/objectstore/seaweed.py) is started on 127.0.0.1; the demo province is
built once in a local folder and once in a bucket, and 1M dossier records are ingested into both.
For each leadership page: the cold run (Streamlit's caches cleared: the version opened from the
store, every figure computed, the render) and the warm rerun, medians of several runs, each store
in its own process, with the GET requests the S3 gateway answered during the first cold run and
during the warm reruns (the server's own counters). Then the records drill-down of the busiest
unit in the last quarter: cold (the version opened, files' footers read) and warm (footers kept,
the unit's rows read anew), with its GETs. The bucket is on the same machine: the ratios show
the cost of the S3 protocol and of the requests themselves, not of a network's latency; the GET
counts are what a remote bucket multiplies by its round trip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_pages import PAGES, TITLES
from benchmarks.bench_records import _export

ROOT = Path(__file__).resolve().parent.parent
QUERY = {"unit": "so-nong-nghiep-moi-truong", "year": "2025", "level": "department"}
RECORDS = 1_000_000

# Run in its own process per store (Streamlit's caches and the core's kept values are per process).
PAGE_RUNS = """
import json, os, sys, time, statistics, re, urllib.request
import streamlit as st
from streamlit.testing.v1 import AppTest
store, pages, titles, query, runs, metrics, bucket = sys.argv[1:8]
pages, titles, query, runs = json.loads(pages), json.loads(titles), json.loads(query), int(runs)
os.environ["REFORMKPI_STORE"] = store

def gets():
    if not metrics:
        return 0
    text = urllib.request.urlopen(metrics).read().decode()
    pattern = r'SeaweedFS_s3_request_total\\{bucket="' + bucket + r'",code="\\d+",type="(?:GET|HEAD)"\\} (\\S+)'
    return sum(int(float(n)) for n in re.findall(pattern, text))

out = {}
for name, script in pages.items():
    at = AppTest.from_file("app.py", default_timeout=600)
    at.query_params.update(query)
    at.run()
    at.switch_page(script)
    cold, warm, cold_gets = [], [], None
    for _ in range(runs):
        st.cache_data.clear()
        st.cache_resource.clear()
        g = gets(); t = time.perf_counter(); at.run(); cold.append(time.perf_counter() - t)
        cold_gets = gets() - g if cold_gets is None else cold_gets
        if at.exception:
            raise SystemExit(name + ": " + at.exception[0].message)
        if at.title[0].value != titles[name]:
            raise SystemExit(name + ": the page shown is " + at.title[0].value)
    g = gets()
    for _ in range(runs):
        t = time.perf_counter(); at.run(); warm.append(time.perf_counter() - t)
    out[name] = [statistics.median(cold), statistics.median(warm), cold_gets, (gets() - g) / runs]
print(json.dumps(out))
"""

DRILL = """
import json, sys, time, re, statistics, urllib.request
from reformkpi.records import metrics as rm
from reformkpi.store import Store
uri, runs, metrics, bucket = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def gets():
    if not metrics:
        return 0
    text = urllib.request.urlopen(metrics).read().decode()
    pattern = r'SeaweedFS_s3_request_total\\{bucket="' + bucket + r'",code="\\d+",type="(?:GET|HEAD)"\\} (\\S+)'
    return sum(int(float(n)) for n in re.findall(pattern, text))

g = gets(); t = time.perf_counter()
rec = rm.Records.open(Store(uri))
quarter = rm.quarters(rec)[-1]
unit = rm.units_with_records(rec, quarter)[0]
rm.drill_down(rec, unit, quarter)
cold, cold_gets = time.perf_counter() - t, gets() - g
warm = []
g = gets()
for _ in range(runs):
    rec._kept.clear()  # the kept tables let go, as the budget lets them go; DuckDB's cached footers stay
    t = time.perf_counter(); rm.drill_down(rec, unit, quarter); warm.append(time.perf_counter() - t)
print(json.dumps({"cold": cold, "warm": statistics.median(warm), "cold_gets": cold_gets,
                  "warm_gets": (gets() - g) / runs, "unit": unit, "quarter": quarter}))
"""


def _run(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    from reformkpi.auth import operator
    from reformkpi.catalog import Catalog, load_dir
    from reformkpi.cli import build_demo
    from reformkpi.records import table
    from reformkpi import config
    from reformkpi.store import CommitInfo, Store
    from tests.objectstore.seaweed import Seaweed

    runs = 3 if "--quick" in argv else 5
    with tempfile.TemporaryDirectory(prefix="bench-objectstore-") as tmp:
        work = Path(tmp)
        server = Seaweed(work / "seaweed").start()
        try:
            os.environ.update(server.environ())
            bucket = server.make_bucket("bench")
            metrics = f"http://127.0.0.1:{server.ports['metrics']}/metrics"
            stores = {"local": Store(work / "demo"), "bucket": Store(f"s3://{bucket}/demo")}
            for name, store in stores.items():
                t = time.perf_counter()
                build_demo(store, "bench", last_quarter="2026-Q3")
                print(f"demo built on {name} in {time.perf_counter() - t:.1f} s", flush=True)
            pages = {name: _run(PAGE_RUNS, store.uri, json.dumps(PAGES), json.dumps(TITLES), json.dumps(QUERY),
                                str(runs), metrics if name == "bucket" else "", bucket)
                     for name, store in stores.items()}

            export = _export(RECORDS, None, work)
            units = set(Catalog.from_tables(load_dir(config.CATALOG_DIR)).units["unit_id"])
            drills = {}
            for name, store in stores.items():
                big = Store(f"{store.uri}-records")
                big.init(load_dir(config.CATALOG_DIR), CommitInfo(user="bench", operation="init"))
                t = time.perf_counter()
                table.ingest(big, export, operator("bench"), CommitInfo(user="bench"), units, tmp_dir=work / "tmp")
                print(f"{RECORDS:,} records ingested on {name} in {time.perf_counter() - t:.1f} s", flush=True)
                drills[name] = _run(DRILL, big.uri, str(runs), metrics if name == "bucket" else "", bucket)
        finally:
            server.stop()
    print(table_of(pages, drills, runs))


def table_of(pages: dict, drills: dict, runs: int) -> str:
    """The side-by-side Markdown table (benchmarks/RESULTS.md keeps it)."""
    lines = [f"Demo province (view {QUERY}) and {RECORDS:,} records; medians of {runs} runs; "
             f"{time.strftime('%Y-%m-%d')}, SeaweedFS on the same 2-core machine.", "",
             "| page | cold local | cold bucket | ÷ | warm local | warm bucket | ÷ | GETs cold | GETs warm |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ms = lambda s: f"{1000 * s:,.0f} ms"
    for page in PAGES:
        (cl, wl, _, _), (cb, wb, gc, gw) = pages["local"][page], pages["bucket"][page]
        lines.append(f"| {page} | {ms(cl)} | {ms(cb)} | {cb / cl:.2f}× | {ms(wl)} | {ms(wb)} | {wb / wl:.2f}× "
                     f"| {gc} | {gw:g} |")
    lo, bu = drills["local"], drills["bucket"]
    lines.append(f"| records drill-down ({bu['unit']}, {bu['quarter']}) | {ms(lo['cold'])} | {ms(bu['cold'])} "
                 f"| {bu['cold'] / lo['cold']:.2f}× | {ms(lo['warm'])} | {ms(bu['warm'])} "
                 f"| {bu['warm'] / lo['warm']:.2f}× | {bu['cold_gets']} | {bu['warm_gets']:g} |")
    return "\n".join(lines)
