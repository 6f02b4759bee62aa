"""Script time of the leadership pages at demo scale and at a synthetic national scale.

For each page three figures, medians of several runs:
- warm rerun: the page script in AppTest once its results are cached by data version (what a
  leader waits for after changing a filter back, or a second viewer of the same view);
- core: the page's core calls on a loaded data version, uncached (the first viewer of a view);
- baseline: the same calls when every rerun reads the whole observation table with pandas
  (no Dataset kept between reruns), the naive way, measured in the same run.

`make bench BENCH=pages` (or `python -m benchmarks pages [--quick]`).

`--against=DIR` (another checkout, e.g. the main branch) measures instead, at national scale
only, each page's cold run (caches cleared: the Dataset opened from the store, every core call,
the render) and warm rerun with this checkout's code and with DIR's, each in its own process on
the same store, the two in turn three times (medians of the three processes' medians), and prints
the ratios.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.measure import median_seconds
from reformkpi import config, periods
from reformkpi.catalog import Catalog, load_dir
from reformkpi.cli import build_demo
from reformkpi.focus import attention, falls, unit_year
from reformkpi.i18n import t
from reformkpi.metrics.datasets import Dataset
from reformkpi.metrics.ranking import grade_counts, league_table, rank_history, rank_stability, ranks
from reformkpi.metrics.rollups import province_flow
from reformkpi.metrics.views import (below_target_years, family_matrix, family_summary, kpi, most_late,
                                     province_trend, rate_matrix, unit_flow, unit_history, unit_parts)
from reformkpi.store import CommitInfo, Store

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"overview": "app_pages/overview.py", "unit": "app_pages/unit.py", "rankings": "app_pages/rankings.py",
         "dossiers": "app_pages/dossiers.py", "satisfaction": "app_pages/satisfaction.py"}
# What each page's title says, so that a run that shows another page fails instead of timing it.
TITLES = {page: t(f"{page}.title", "vi") for page in PAGES}
FIRST_YEAR, LAST_YEAR = 2016, 2025
NATIONAL = {"departments": 40, "districts": 200, "communes_per_district": 14}  # 3,041 units with the province


def core_calls(ds: Dataset, page: str, unit: str, level: str | None, year: int) -> list:
    """The core calls a page makes for one view, in the page's order."""
    ranked = tuple(ds.catalog.indicators.loc[ds.catalog.indicators["ranked"], "indicator_id"])
    span, recent = (FIRST_YEAR, year), (year - 2, year)
    ind = ds.catalog.indicators
    yearly = tuple(ind.loc[ind["ranked"] & (ind["frequency"] == "year"), "indicator_id"])
    calls = {
        "overview": lambda: [attention(ds, ranked, periods.Period(year), level, "vi"),
                             falls(ds, yearly, year, level or "department", "vi"),
                             *(kpi(ds, i, periods.Period(year), level, "vi") for i in ind.loc[ind["headline"], "indicator_id"]),
                             league_table(ds, "par.total", periods.Period(year), level or "department", "vi"),
                             province_trend(ds, "par.total", level, "vi")],
        "unit": lambda: [unit_year(ds, unit, ranked, year, "vi"), unit_history(ds, unit, ranked),
                         unit_parts(ds, "par.total", unit, year), unit_parts(ds, "sipas.overall", unit, year),
                         rank_history(ds, "par.total", unit, "vi"), unit_flow(ds, unit)],
        "rankings": lambda: [league_table(ds, "par.total", periods.Period(year), level or "department", "vi"),
                             ranks(ds, "par.total", "year", level or "department", span),
                             rank_stability(ds, "par.total", level or "department", span),
                             grade_counts(ds, "par.total", level or "department", span, "vi")],
        "dossiers": lambda: [kpi(ds, i, periods.Period(year), level, "vi") for i in
                             ("dossier.on_time_rate", "dossier.late_rate", "dossier.online_share")]
                            + [province_flow(ds, level, recent), rate_matrix(ds, "dossier.late_rate", level, recent, "vi"),
                               most_late(ds, "dossier.late_rate", periods.Period(year), level, "vi")],
        "satisfaction": lambda: [family_summary(ds, "sipas.overall", year, level or "department"),
                                 league_table(ds, "sipas.overall", periods.Period(year), level or "department", "vi"),
                                 kpi(ds, "sipas.overall", periods.Period(year), level or "department", "vi"),
                                 family_matrix(ds, "sipas.overall", year, level or "department", "vi"),
                                 below_target_years(ds, "sipas.overall", level or "department", span, "vi")],
    }
    return calls[page]()


def warm_rerun(store: Store, page: str, query: dict, runs: int) -> float:
    """Median script time of reruns of a page in AppTest after a first (cold) run."""
    from streamlit.testing.v1 import AppTest

    os.environ["REFORMKPI_STORE"] = store.uri
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.query_params.update(query)
    at.run()  # the app's first run lands on the default page; a switch before it is not honoured
    at.switch_page(PAGES[page])
    at.run()
    if at.title[0].value != TITLES[page]:
        raise RuntimeError(f"{page}: the page shown is {at.title[0].value!r}")
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].message}")
    return median_seconds(at.run, runs)


def national_store(path: Path, seed: int = 7) -> Store:
    """A synthetic national-scale store: ~3,000 units, the demo catalog's indicators, 10 years of quarters."""
    base = load_dir(config.CATALOG_DIR)
    units = [("nation", "Tỉnh", "Province", "T", "province", "", "2016-01-01", "", "", "")]
    units += [(f"d{i}", f"Sở {i}", f"Dept {i}", f"S{i}", "department", "nation", "2016-01-01", "", "", "")
              for i in range(NATIONAL["departments"])]
    for h in range(NATIONAL["districts"]):
        units.append((f"h{h}", f"Huyện {h}", f"District {h}", f"H{h}", "district", "nation", "2016-01-01", "", "", ""))
        units += [(f"x{h}-{c}", f"Xã {h}-{c}", f"Commune {h}-{c}", f"X{h}-{c}", "commune", f"h{h}", "2016-01-01", "",
                   "", "") for c in range(NATIONAL["communes_per_district"])]
    # Two departments merge into a third in 2025, as the demo's do: the profile follows the lineage.
    units[1] = units[1][:7] + ("2025-02-28", "d2", "")
    units[2] = units[2][:7] + ("2025-02-28", "d2", "")
    units[3] = units[3][:6] + ("2025-03-01", "", "", "")
    base["units"] = pd.DataFrame(units, columns=base["units"].columns).astype(str)
    cat = Catalog.from_tables({k: v.astype(str) for k, v in base.items()})
    store = Store(path)
    store.init({k: v.astype(str) for k, v in base.items()}, CommitInfo(user="bench", operation="init"))
    store.commit_observations(_observations(cat, seed), CommitInfo(user="bench", operation="bench"))
    return store


def _observations(cat: Catalog, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ind = cat.indicators[cat.indicators["rollup"] != "derived"]
    uids = cat.units.loc[cat.units["level"] != "province", "unit_id"].to_numpy()
    frames = []
    for freq, plist in (("year", [str(y) for y in range(FIRST_YEAR, LAST_YEAR + 1)]),
                        ("quarter", periods.quarters_between(f"{FIRST_YEAR}-Q1", f"{LAST_YEAR}-Q4"))):
        ids = ind.loc[ind["frequency"] == freq]
        u, i, p = (a.ravel() for a in np.meshgrid(uids, ids["indicator_id"].to_numpy(), plist, indexing="ij"))
        measure = ids.set_index("indicator_id")["measure"].reindex(i).to_numpy()
        value = np.where(measure == "count", rng.poisson(200, len(u)).astype(float), rng.uniform(60, 98, len(u)).round(1))
        max_value = np.where(measure == "points", 100.0, np.nan)
        frames.append(pd.DataFrame({"unit_id": u, "indicator_id": i, "period": p, "value": value, "max_value": max_value}))
    df = pd.concat(frames, ignore_index=True)
    starts = {p: periods.start(p) for p in df["period"].unique()}
    df["period_start"] = df["period"].map(starts)
    df["source"] = "benchmark"
    # A merged-away unit has no figures after its last day; its successor none before its first.
    gone = df["unit_id"].isin(["d0", "d1"]) & (df["period"].str[:4] >= "2025")
    new = (df["unit_id"] == "d2") & (df["period"].str[:4] < "2025")
    return df[~gone & ~new]


def core_seconds(store: Store, page: str, unit: str, level: str | None, year: int, runs: int) -> float:
    """Median time of a page's core calls, each run on a newly opened Dataset (not timed): a Dataset
    remembers its answers, so a second run on the same one would time lookups."""
    times = []
    for _ in range(runs):
        ds = Dataset.open(store)
        start = time.perf_counter()
        core_calls(ds, page, unit, level, year)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def report(label: str, store: Store, unit: str, level: str | None, year: int, runs: int) -> None:
    ds = Dataset.open(store)
    n_rows = ds.sql("SELECT count(*) AS n FROM obs")["n"].iloc[0]
    n_units = len(ds.catalog.units)
    print(f"\n{label}: {n_units:,} units, {n_rows:,} observations; view: unit={unit}, level={level or 'all'}, "
          f"year={year}; medians of {runs} runs")
    print(f"{'page':<14}{'warm rerun':>12}{'core':>10}{'baseline':>11}{'baseline/warm':>15}{'baseline/core':>15}")
    for page in PAGES:
        core = core_seconds(store, page, unit, level, year, runs)
        base = median_seconds(lambda page=page: core_calls(Dataset(store.read().to_pandas(), ds.catalog, ds.version), page,
                                                 unit, level, year), runs)
        query = {"unit": unit, "year": str(year), "level": level or "all"}
        rerun = warm_rerun(store, page, query, runs)
        print(f"{page:<14}{1000 * rerun:>9.0f} ms{1000 * core:>7.0f} ms{1000 * base:>8.0f} ms{base / rerun:>14.1f}×"
              f"{base / core:>14.1f}×", flush=True)


# Run by `python -c` in the checkout measured (its own app, components and core); prints JSON.
COLD_WARM = """
import json, os, sys, time, statistics
import streamlit as st
from streamlit.testing.v1 import AppTest
store, pages, titles = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
query, runs = json.loads(sys.argv[4]), int(sys.argv[5])
os.environ["REFORMKPI_STORE"] = store
out = {}
for name, script in pages.items():
    at = AppTest.from_file("app.py", default_timeout=600)
    at.query_params.update(query)
    at.run()  # the app's first run lands on the default page; a switch before it is not honoured
    at.switch_page(script)
    cold = []
    for _ in range(runs):
        st.cache_data.clear()
        st.cache_resource.clear()
        t = time.perf_counter(); at.run(); cold.append(time.perf_counter() - t)
        if at.exception:
            raise SystemExit(name + ": " + at.exception[0].message)
        if at.title[0].value != titles[name]:
            raise SystemExit(name + ": the page shown is " + at.title[0].value)
    warm = []
    for _ in range(runs):
        t = time.perf_counter(); at.run(); warm.append(time.perf_counter() - t)
    out[name] = [statistics.median(cold), statistics.median(warm)]
print(json.dumps(out))
"""


def cold_warm(checkout: Path, store: Store, query: dict, runs: int) -> dict[str, list[float]]:
    """Median cold and warm script times of each page with the code of a checkout (its own process)."""
    done = subprocess.run([sys.executable, "-c", COLD_WARM, store.uri, json.dumps(PAGES), json.dumps(TITLES),
                           json.dumps(query), str(runs)],
                          cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)}, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def against(other: Path, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        national = national_store(Path(tmp) / "national")
        query = {"unit": "d2", "year": str(LAST_YEAR), "level": "district"}
        print(f"Synthetic national scale ({len(Dataset.open(national).catalog.units):,} units), view {query}; "
              f"medians of three processes' medians of {runs} runs; this checkout vs {other}, in turn")
        # The two checkouts in turn, three times: a machine whose speed drifts weighs on both alike.
        rounds = [(cold_warm(ROOT, national, query, runs), cold_warm(other, national, query, runs)) for _ in range(3)]
        ours, theirs = ({page: [float(np.median([r[side][page][k] for r in rounds])) for k in (0, 1)] for page in PAGES}
                        for side in (0, 1))
        print(f"{'page':<14}{'cold':>9}{'before':>9}{'ratio':>8}{'warm':>9}{'before':>9}{'ratio':>8}")
        for page in PAGES:
            (c, w), (c0, w0) = ours[page], theirs[page]
            print(f"{page:<14}{c * 1000:>6.0f} ms{c0 * 1000:>6.0f} ms{c0 / c:>7.2f}×"
                  f"{w * 1000:>6.0f} ms{w0 * 1000:>6.0f} ms{w0 / w:>7.2f}×", flush=True)


def main(argv: list[str]) -> None:
    runs = 3 if "--quick" in argv else 7
    other = next((a.split("=", 1)[1] for a in argv if a.startswith("--against=")), None)
    if other:
        against(Path(other).resolve(), runs)
        return
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        demo = Store(Path(tmp) / "demo")
        build_demo(demo, "bench", last_quarter="2026-Q3")
        report("Demo province", demo, "so-nong-nghiep-moi-truong", "department", 2025, runs)
        start = time.perf_counter()
        national = national_store(Path(tmp) / "national")
        print(f"\n(national store generated in {time.perf_counter() - start:.0f} s)")
        report("Synthetic national scale", national, "d2", "district", LAST_YEAR, runs)
