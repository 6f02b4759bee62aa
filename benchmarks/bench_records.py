"""Dossier records at scale: ingest throughput, drill-down latency, peak memory, and the textbook way.

`make bench BENCH=records` builds 1M and 10M records (2016-Q1 to 2026-Q3, the demo catalog's
units), each in a fresh process under /tmp so that its peak memory is its own; `--full` adds
100M; `--sizes 200000,1000000` picks others. For each size it prints:
- generation time of the export (Parquet), not counted in the ingest;
- ingest throughput (rows/s) of the export into an empty records table (one Delta commit);
- the quarterly counts of every unit and quarter (what `records-ingest --sync` writes);
- the drill-down of the busiest unit in the last quarter: median latency of each query warm
  (5 runs after a first, cold one), and of the whole drill-down;
- the same three main queries the textbook way: pandas reading the whole table each time,
  with the ratio (and a check that both give the same numbers);
- peak resident memory of the process, before and after the pandas reads.
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

QUARTERS = ("2016-Q1", "2026-Q3")
RUNS = 5
PANDAS_RUNS = 2
PANDAS_MAX = 10_000_000  # beyond this the textbook way needs more memory than the machine has


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


# The textbook way: read the whole table into pandas, then filter and group.

def _whole_table(store) -> pd.DataFrame:
    from reformkpi.records import table
    return table.DeltaTable(table.path(store)).to_pandas()


def _pandas_frame(store, unit: str, quarter: str):
    from reformkpi.records.metrics import bounds
    df = _whole_table(store)
    s, e = (pd.Timestamp(x) for x in bounds(quarter))
    open_until = df["resolved_at"].fillna(pd.Timestamp.max.tz_localize("UTC"))
    return df[(df["unit_id"] == unit) & (df["received_at"] < e) & (open_until >= s)].copy(), s, e


def pandas_summary(store, unit: str, quarter: str) -> dict:
    r, s, e = _pandas_frame(store, unit, quarter)
    done = r["resolved_at"] < e
    late = done & (r["resolved_at"] > r["due_at"])
    open_ = r["resolved_at"].isna() | (r["resolved_at"] >= e)
    return {"received": int((r["received_at"] >= s).sum()), "resolved": int(done.sum()), "late": int(late.sum()),
            "open": int(open_.sum()), "overdue": int((open_ & (r["due_at"] < e)).sum())}


def pandas_late_procedures(store, unit: str, quarter: str) -> pd.DataFrame:
    r, s, e = _pandas_frame(store, unit, quarter)
    r["late"] = (r["resolved_at"] < e) & (r["resolved_at"] > r["due_at"])
    r["overdue_open"] = (r["resolved_at"].isna() | (r["resolved_at"] >= e)) & (r["due_at"] < e)
    g = r.groupby("procedure_code")[["late", "overdue_open"]].sum()
    g = g[(g["late"] + g["overdue_open"]) > 0]
    g["total"] = g["late"] + g["overdue_open"]
    return g.sort_values(["total"], ascending=False).head(10)


def pandas_backlog_ageing(store, unit: str, quarter: str) -> pd.Series:
    r, s, e = _pandas_frame(store, unit, quarter)
    open_ = r[r["resolved_at"].isna() | (r["resolved_at"] >= e)]
    return ((e - open_["received_at"]).dt.total_seconds() // 86400).describe()


def run_size(n: int) -> None:
    from reformkpi import config
    from reformkpi.catalog import Catalog, load_dir
    from reformkpi.records import demo, table
    from reformkpi.records import metrics as rm
    from reformkpi.store import CommitInfo, Store

    work = Path(tempfile.mkdtemp(prefix=f"bench-records-{n}-", dir="/tmp"))
    say = lambda text: print(text, flush=True)  # noqa: E731
    try:
        cat = Catalog.from_tables(load_dir(config.CATALOG_DIR))
        export = work / "export.parquet"
        rows, gen = _timed(demo.write_export, cat, export, *QUARTERS, n)
        say(f"  generated {rows:,} records in {gen:.1f} s ({export.stat().st_size / 2**20:,.0f} MiB Parquet)")
        store = Store(work / "store")
        result, ingest = _timed(table.ingest, store, export, CommitInfo(user="bench", file_name=export.name),
                                set(cat.units["unit_id"]))
        say(f"  ingest: {rows / ingest:,.0f} rows/s ({ingest:.1f} s, one commit, version {result.version}, "
            f"{len(table.files(store))} files)")
        export.unlink()

        rec = rm.Records.open(store)
        qs = rm.complete_quarters(rec)
        counts, t_counts = _timed(rm.quarter_counts, rec, qs)
        say(f"  quarterly counts of every unit and quarter ({len(counts):,} rows): {t_counts:.2f} s")

        quarter = QUARTERS[1]
        unit = rm.units_with_records(rec, quarter)[0]
        queries = [rm.summary, rm.late_procedures, rm.processing_times, rm.overdue_days, rm.backlog_ageing,
                   rm.channels, rm.backlog_trend]
        cold = sum(_timed(q, rec, unit, quarter)[1] for q in queries)
        warm = {q.__name__: [] for q in queries}
        totals = []
        for _ in range(RUNS):
            total = 0.0
            for q in queries:
                dt = _timed(q, rec, unit, quarter)[1]
                warm[q.__name__].append(dt)
                total += dt
            totals.append(total)
        say(f"  drill-down of {unit} {quarter}: cold {cold * 1000:,.0f} ms, warm median "
            f"{statistics.median(totals) * 1000:,.0f} ms for all {len(queries)} queries")
        say("    " + ", ".join(f"{k} {statistics.median(v) * 1000:,.0f} ms" for k, v in warm.items()))

        peak_ours = _peak_mb()
        if n > PANDAS_MAX:
            say(f"  textbook pandas skipped: the whole table of {n:,} rows does not fit in memory")
            say(f"  peak memory: {peak_ours:,.0f} MiB generating, ingesting and querying")
            return
        pairs = [(rm.summary, pandas_summary), (rm.late_procedures, pandas_late_procedures),
                 (rm.backlog_ageing, pandas_backlog_ageing)]
        ours = sum(statistics.median(warm[a.__name__]) for a, _ in pairs)
        theirs = statistics.median(
            sum(_timed(b, store, unit, quarter)[1] for _, b in pairs) for _ in range(PANDAS_RUNS))
        s_ours, s_pd = rm.summary(rec, unit, quarter), pandas_summary(store, unit, quarter)
        lp_ours = rm.late_procedures(rec, unit, quarter).set_index("procedure_code")
        lp_pd = pandas_late_procedures(store, unit, quarter)
        agree = (all(s_ours[k] == v for k, v in s_pd.items())
                 and lp_ours["late"].to_dict() == lp_pd["late"].astype(int).to_dict())
        say(f"  textbook pandas (whole table each query) for summary + late procedures + ageing: "
            f"{theirs * 1000:,.0f} ms vs {ours * 1000:,.0f} ms → {theirs / ours:,.1f}× faster; same numbers: {agree}")
        say(f"  peak memory: {peak_ours:,.0f} MiB generating, ingesting and querying; "
            f"{_peak_mb():,.0f} MiB once pandas has read the whole table")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> None:
    sizes = [1_000_000, 10_000_000]
    for a in argv:
        if a == "--full":
            sizes.append(100_000_000)
        elif a.startswith("--sizes="):
            sizes = [int(x) for x in a.split("=", 1)[1].split(",")]
    for n in sizes:
        print(f"\n{n:,} records", flush=True)
        # A process per size, so that each peak memory figure is that size's own.
        subprocess.run([sys.executable, "-c", f"from benchmarks.bench_records import run_size; run_size({n})"],
                       cwd=Path(__file__).resolve().parent.parent, check=True)
