"""Ingest throughput: parse + validate + diff (+ jump warnings) of a 1,000,000-row long CSV, and peak memory.

The province here has 2,400 communes (the demo catalog plus generated ones), ten quarterly
dossier counts each and 42 quarters: 1,008,000 valid rows; the store already holds half of
them (a tenth with other values), so the diff finds new, changed and unchanged rows.
Baseline, in the same run: reading the same file with pyarrow.csv alone (the floor any parser
of this file pays). Each stage runs in its own process so that its peak memory is its own.

    make bench BENCH=ingest            # or: python -m benchmarks ingest [--rows N]
"""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.measure import peak_mb
from reformkpi import config, periods
from reformkpi.catalog import load_dir
from reformkpi.store import CommitInfo, Store, conform

COUNTS = ["carried_over", "received_online", "received_in_person", "received_post", "resolved_early",
          "resolved_on_time", "resolved_late", "pending_not_due", "pending_overdue", "apology_letters"]
QUARTERS = periods.quarters_between("2016-Q1", "2026-Q2")


def _catalog(communes: int) -> dict[str, pd.DataFrame]:
    tables = load_dir(config.CATALOG_DIR)
    units = tables["units"]
    extra = pd.DataFrame({"unit_id": [f"xa-{i:04d}" for i in range(communes)],
                          "name_vi": [f"UBND xã Số {i}" for i in range(communes)],
                          "name_en": [f"Commune {i}" for i in range(communes)],
                          "short_name_vi": [f"Xã {i}" for i in range(communes)],
                          "level": "commune", "parent_id": units["unit_id"].iloc[0],
                          "active_from": units["active_from"].iloc[0], "active_to": None,
                          "successor_id": "", "aliases": ""})
    tables["units"] = pd.concat([units, extra], ignore_index=True)
    return tables


def _file(rows: int, path: Path) -> pd.DataFrame:
    communes = -(-rows // (len(COUNTS) * len(QUARTERS)))
    idx = np.arange(communes * len(COUNTS) * len(QUARTERS))[:rows]
    rng = np.random.default_rng(2016)
    df = pd.DataFrame({
        "unit_id": [f"xa-{i:04d}" for i in idx // (len(COUNTS) * len(QUARTERS))],
        "indicator_id": np.array([f"dossier.{c}" for c in COUNTS])[(idx // len(QUARTERS)) % len(COUNTS)],
        "period": np.array(QUARTERS)[idx % len(QUARTERS)],
        "value": rng.integers(0, 5000, len(idx)),
    })
    out = df.assign(value=df["value"].map(lambda v: f"{v:,}".replace(",", ".")))  # Vietnamese 1.234
    out.to_csv(path, sep=";", index=False)
    return df


def _baseline(path: str, queue) -> None:
    import pyarrow.csv as pacsv
    t0 = time.perf_counter()
    pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=";")).to_pandas()
    queue.put({"seconds": time.perf_counter() - t0, "peak_mb": peak_mb()})


def _pipeline(path: str, uri: str, queue) -> None:
    from reformkpi import ingest
    from reformkpi.ingest import parse, profiles, validate

    store = Store(uri)
    data = Path(path).read_bytes()
    cat = ingest.catalog_of(store)
    matcher = profiles.Matcher(cat)
    t0 = time.perf_counter()
    raw = parse.read(data, Path(path).name, matcher.score)
    t1 = time.perf_counter()
    mapping = matcher.mapping(list(raw.frame.columns))
    long = validate.to_long(raw, mapping, profiles.Profile(), profiles.layout(mapping))
    obs, errors, _ = validate.check(long, cat, profiles.Profile())
    t2 = time.perf_counter()
    diff = store.diff(conform(obs.drop(columns="row")))
    t3 = time.perf_counter()
    warnings, more = ingest.jumps(store, obs, cat)
    t4 = time.perf_counter()
    queue.put({"parse": t1 - t0, "validate": t2 - t1, "diff": t3 - t2, "warnings": t4 - t3, "seconds": t4 - t0,
               "errors": len(errors), "n_warnings": len(warnings) + more,
               "new": diff.new.num_rows, "changed": len(diff.changed), "unchanged": diff.unchanged,
               "peak_mb": peak_mb()})


def _run(target, *args) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    out = q.get()
    p.join()
    return out


def main(argv: list[str]) -> None:
    rows = next((int(a.split("=")[1]) for a in argv if a.startswith("--rows=")), 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.csv"
        df = _file(rows, path)
        communes = df["unit_id"].nunique()
        store = Store(Path(tmp) / "store")
        store.init(_catalog(communes), CommitInfo(user="bench", operation="init"))
        half = df.iloc[: rows // 2].copy()
        half.loc[half.index[::10], "value"] += 1  # a tenth of what is stored differs from the file
        half = half.assign(value=half["value"].astype(float), period_start=[periods.start(p) for p in half["period"]])
        store.commit_observations(half, CommitInfo(user="bench"))
        size_mb = path.stat().st_size / 1024 / 1024
        print(f"file: {rows:,} rows, {size_mb:.1f} MB CSV (Vietnamese numbers, ';'), store holds {len(half):,} rows")
        base = _run(_baseline, str(path))
        full = _run(_pipeline, str(path), store.uri)
        print(f"baseline  pyarrow.csv read       {base['seconds']:6.2f} s  {rows / base['seconds']:>12,.0f} rows/s"
              f"  peak {base['peak_mb']:,.0f} MB")
        print(f"ingest    parse                  {full['parse']:6.2f} s")
        print(f"          validate (pandera)     {full['validate']:6.2f} s")
        print(f"          diff (DuckDB vs Delta) {full['diff']:6.2f} s")
        print(f"          jump warnings          {full['warnings']:6.2f} s")
        print(f"          total                  {full['seconds']:6.2f} s  {rows / full['seconds']:>12,.0f} rows/s"
              f"  peak {full['peak_mb']:,.0f} MB  ({full['seconds'] / base['seconds']:.1f}× baseline)")
        print(f"          errors {full['errors']}, warnings {full['n_warnings']:,}, new {full['new']:,}, changed {full['changed']:,}, "
              f"unchanged {full['unchanged']:,}")
