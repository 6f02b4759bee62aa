"""Refusing hostile files: peak memory and time of each refusal, and another session's page meanwhile.

Each refusal runs `ingest.prepare` in a fresh process (as the page's upload worker does) and
reports that process's own peak memory; the baseline, in the same run, is the same call on a
valid two-row CSV (imports, catalog and diff: the floor of any upload). Then the Overview page is
rendered (AppTest, as a browser session would) while the upload worker reads the largest XLSX
the limits accept, against the same page with nothing else running.

    make bench BENCH=hostile        # or: python -m benchmarks hostile [--quick]
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.measure import own_peak_mb
from reformkpi import config
from reformkpi.catalog import load_dir
from reformkpi.cli import build_demo
from reformkpi.config import MB, Limits
from reformkpi.store import CommitInfo, Store
from tests import bombs
from tests.core.ingest.test_ingest import csv_bytes

APP = Path(__file__).resolve().parent.parent / "app.py"
EDGE_MB = Limits().max_part_bytes // MB - 2


def _prepare(path: str, uri: str, queue) -> None:
    from reformkpi import ingest

    data = Path(path).read_bytes()
    t0 = time.perf_counter()
    up = ingest.prepare(Store(uri), data, Path(path).name)
    queue.put({"seconds": time.perf_counter() - t0, "codes": [p.code for p in up.errors] or ["accepted"],
               "peak_mb": own_peak_mb()})


def _run(path: Path, uri: str) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_prepare, args=(str(path), uri, q))
    p.start()
    out = q.get()
    p.join()
    return out


def _page_seconds(uri: str, runs: int) -> list[float]:
    from streamlit.testing.v1 import AppTest

    os.environ["REFORMKPI_STORE"] = uri
    times = []
    for _ in range(runs):
        at = AppTest.from_file(str(APP), default_timeout=300)
        at.query_params.update({"year": "2024", "ind": "sipas.overall"})
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception
    return times


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        tmp = Path(tmp)
        store = Store(tmp / "store")
        store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="bench", operation="init"))
        limits = Limits()
        files = {
            "valid CSV, 2 rows (baseline)": ("ok.csv", csv_bytes([bombs.HEAD, ["Sở Tư pháp", "sipas.overall", "2019", "80"],
                                                                   ["Sở Y tế", "sipas.overall", "2019", "81"]])),
            "Parquet: 30,000-char string × 1.9M rows (57 GB decoded)": ("dict.parquet", bombs.parquet_dictionary(1_900_000, 30_000)),
            "Parquet: 1 MB string × 1.9M rows (1.9 TB decoded)": ("dict1m.parquet", bombs.parquet_dictionary(1_900_000, 1_000_000)),
            "Parquet: 3 × 200 MB strings, zstd": ("long.parquet", bombs.parquet_long_strings(3, 200 * MB)),
            "XLSX: 961 MiB sheet padded to ratio 100:1": ("big.xlsx", bombs.xlsx_padded(961 * MB)),
            f"XLSX: {EDGE_MB} MB sheet (largest accepted part), 1 column": ("edge.xlsx", bombs.xlsx_padded(EDGE_MB * MB)),
        }
        print(f"limits: {limits.max_bytes // MB} MB file, {limits.max_rows:,} rows, {limits.max_cells:,} cells, "
              f"XLSX parts {limits.max_part_bytes // MB} MB each / {limits.max_unzipped_bytes // MB} MB total, "
              f"Parquet {limits.max_decoded_bytes // MB} MB decoded, cell {limits.max_field_chars:,} chars; "
              f"worker {limits.worker_memory_mb} MB, {limits.worker_seconds} s")
        base = None
        for label, (name, data) in files.items():
            path = tmp / name
            path.write_bytes(data)
            out = _run(path, store.uri)
            base = base or out
            print(f"{label:58s} {len(data) / 1024:>9,.0f} KB  {out['seconds']:7.2f} s  peak {out['peak_mb']:6,.0f} MB "
                  f"({out['peak_mb'] / base['peak_mb']:.2f}× baseline)  → {', '.join(out['codes'])}")

        demo = Store(tmp / "demo")
        build_demo(demo, "bench", last_quarter="2026-Q3")
        runs = 2 if quick else 5
        _page_seconds(demo.uri, 1)  # warm the imports
        idle = _page_seconds(demo.uri, runs)
        from reformkpi.ingest import isolated

        edge = (tmp / "edge.xlsx").read_bytes()
        worker = threading.Thread(target=lambda: isolated.prepare(store.uri, edge, "edge.xlsx", None))
        worker.start()
        busy = _page_seconds(demo.uri, runs)
        worker.join()
        print(f"Overview page, another session: idle {statistics.median(idle):.2f} s; while the upload worker reads "
              f"the {EDGE_MB} MB XLSX {statistics.median(busy):.2f} s ({statistics.median(busy) / statistics.median(idle):.2f}× idle; "
              f"median of {runs})")
