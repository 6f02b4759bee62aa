"""Data states the page sweep (tests/app/test_sweep.py) opens every page in.

Besides the demo province and the PAPI dataset, small stores built the way a province fills its
own: a long CSV uploaded through `ingest.prepare`/`ingest.commit` on the shipped catalog. Each
holds one situation where two features meet: no optional columns at all, a unit merged in the
middle of a year, a year still running, a change of survey method, a unit with a single year.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from reformkpi import config, ingest
from reformkpi.auth import operator
from reformkpi.catalog import load_dir
from reformkpi.ingest import papi
from reformkpi.store import CommitInfo, Store

TODAY = dt.date(2026, 12, 6)  # uploads are checked against this day, not the clock: Q4 2026 is still running
OPERATOR = operator("sweep")

# Departments of the shipped catalog: three that run throughout, the 2025 merger (two into one on
# 1/3/2025), and a unit formed that day with nothing before it.
STEADY = ("so-tu-phap", "so-y-te", "so-noi-vu")
MERGED_FROM, MERGED_INTO = ("so-nong-nghiep-ptnt", "so-tai-nguyen-moi-truong"), "so-nong-nghiep-moi-truong"
MERGER_QUARTER = "2025-Q1"
DISTRICTS = ("h-doi-thong", "h-song-may")  # in office until 30/6/2025


@dataclass(frozen=True)
class State:
    name: str
    dataset: str  # "demo" or "papi": which store setting the sweep points at it
    uri: str
    units: tuple[str, ...] = ()  # units to open on the unit page, the state's hard case first


def empty(root) -> Store:
    store = Store(root / "empty")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="sweep", operation="init"))
    return store


def _upload(root, name: str, rows: list[tuple], source: bool = True, store: Store | None = None) -> Store:
    """An upload of long rows (unit, indicator, period, value[, max_value]) into `store`, else into a
    new store with the shipped catalog; without `source`, the file has only the columns it needs."""
    if store is None:
        store = Store(root / name)
        store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="sweep", operation="init"))
    head = ["unit_id", "indicator_id", "period", "value"]
    with_max = any(len(r) > 4 for r in rows)
    if with_max:
        head.append("max_value")
    if source:
        head.append("source")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(head)
    for r in rows:
        line = [r[0], r[1], r[2], r[3]] + ([r[4] if len(r) > 4 else ""] if with_max else [])
        w.writerow(line + ([f"Báo cáo {name}"] if source else []))
    up = ingest.prepare(store, out.getvalue().encode(), f"{name}.csv", today=TODAY)
    assert up.valid, [(p.code, p.row, p.column, p.value) for p in up.errors]
    ingest.commit(store, up, OPERATOR)
    return store


def _dossiers(unit: str, period: str, received: int, late_share: float, k: int) -> list[tuple]:
    """One unit's quarter of dossier counts that add up: resolved = early + on time + late,
    pending split into not yet due and overdue."""
    online, post = received * 6 // 10, received // 20
    resolved = received * 9 // 10
    late = round(resolved * late_share)
    early = resolved // 3
    pending = received - resolved
    overdue = pending // (3 + k % 3)
    counts = {"carried_over": 10 + k, "received_online": online, "received_in_person": received - online - post,
              "received_post": post, "resolved_early": early, "resolved_on_time": resolved - early - late,
              "resolved_late": late, "pending_not_due": pending - overdue, "pending_overdue": overdue,
              "apology_letters": late // 2}
    return [(unit, f"dossier.{c}", period, v) for c, v in counts.items()]


def _quarters(first_year: int, last: str) -> list[str]:
    out = []
    for y in range(first_year, int(last[:4]) + 1):
        out += [f"{y}-Q{q}" for q in range(1, 5) if f"{y}-Q{q}" <= last]
    return out


def _yearly(units, years, base: float, step: float) -> list[tuple]:
    """SIPAS overall and its factors, PAR INDEX total (out of 100) for each unit and year."""
    rows = []
    for i, u in enumerate(units):
        for j, y in enumerate(years):
            v = base + 1.7 * i + step * j
            rows.append((u, "sipas.overall", str(y), round(v, 1)))
            rows += [(u, f"sipas.f{f}", str(y), round(v - 2 + f * 0.8, 1)) for f in range(1, 6)]
            rows.append((u, "par.total", str(y), round(v - 3.25, 2), 100))
    return rows


def sparse(root) -> Store:
    """Dossier counts with a source, then a valid upload of the four required columns only (unit,
    indicator, period, value: no source, note or maximum) for the next quarters, into a year that
    is still running, and one yearly indicator."""
    rows = [r for k, u in enumerate(STEADY) for q in ("2025-Q3", "2025-Q4")
            for r in _dossiers(u, q, 400 + 50 * k, 0.04 + 0.01 * k, k)]
    store = _upload(root, "sparse", rows)
    rows = [(u, "sipas.overall", str(y), 80 + i + (y - 2024) * 1.5) for i, u in enumerate(STEADY) for y in (2024, 2025)]
    rows += [r for k, u in enumerate(STEADY) for q in ("2026-Q1", "2026-Q2")
             for r in _dossiers(u, q, 420 + 50 * k, 0.05 + 0.01 * k, k)]
    return _upload(root, "sparse", rows, source=False, store=store)


def merged(root) -> Store:
    """Two departments merged into a new one on 1/3/2025 (mid-quarter): their dossiers and yearly
    results up to 2024, the new unit's from 2025-Q1 on, with steady peers throughout."""
    rows = _yearly(STEADY + MERGED_FROM, (2023, 2024), 81.0, 1.1) + _yearly(STEADY + (MERGED_INTO,), (2025,), 83.0, 0)
    for k, u in enumerate(STEADY):
        rows += [r for q in _quarters(2024, "2025-Q4") for r in _dossiers(u, q, 300 + 40 * k, 0.03, k)]
    for k, u in enumerate(MERGED_FROM):
        rows += [r for q in _quarters(2024, "2024-Q4") for r in _dossiers(u, q, 500 + 90 * k, 0.08 + 0.03 * k, k)]
    rows += [r for q in _quarters(2025, "2025-Q4") for r in _dossiers(MERGED_INTO, q, 1100, 0.06, 5)]
    for k, u in enumerate(DISTRICTS):  # districts, closed on 30/6/2025
        rows += [r for q in _quarters(2024, "2025-Q2") for r in _dossiers(u, q, 2000 + 300 * k, 0.05, k)]
    return _upload(root, "merged", rows)


def partial(root) -> Store:
    """The running year: 2025 whole, 2026 up to its third quarter; yearly results up to 2025."""
    rows = _yearly(STEADY, (2024, 2025), 82.0, 0.9)
    for k, u in enumerate(STEADY):
        rows += [r for q in _quarters(2025, "2026-Q3") for r in _dossiers(u, q, 350 + 60 * k, 0.02 + 0.02 * k, k)]
    return _upload(root, "partial", rows)


def method_break(root) -> Store:
    """SIPAS before and after its 2022 change of method (a drop for everybody), PAR INDEX throughout."""
    rows = _yearly(STEADY + MERGED_FROM, (2020, 2021), 86.0, 0.8)
    rows += _yearly(STEADY + MERGED_FROM, (2022, 2023), 79.0, 1.2)
    return _upload(root, "break", rows)


def single_year(root) -> Store:
    """Peers with two years, and a department formed on 1/3/2025 with its first and only year."""
    rows = _yearly(STEADY, (2024, 2025), 80.5, 1.3) + _yearly(("so-dan-toc-ton-giao",), (2025,), 84.0, 0)
    return _upload(root, "single", rows)


def papi_store(root) -> Store:
    store = Store(root / "papi")
    papi.build(store, OPERATOR)
    return store


def build(root, demo_uri: str) -> list[State]:
    """Every state, built under `root` (the demo store is the session's, built once for all tests)."""
    return [
        State("demo", "demo", demo_uri, units=(MERGED_INTO, "so-tai-nguyen-moi-truong", "so-tu-phap",
                                               "so-dan-toc-ton-giao", "h-bien-gioi")),
        State("papi", "papi", papi_store(root).uri),
        State("empty", "demo", empty(root).uri),
        State("sparse", "demo", sparse(root).uri, units=STEADY[:1]),
        State("merged", "demo", merged(root).uri, units=(MERGED_INTO, MERGED_FROM[1], STEADY[0])),
        State("partial", "demo", partial(root).uri, units=(STEADY[2],)),
        State("break", "demo", method_break(root).uri, units=(STEADY[0], MERGED_FROM[0])),
        State("single", "demo", single_year(root).uri, units=("so-dan-toc-ton-giao", STEADY[1])),
    ]
