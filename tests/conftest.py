"""Shared fixtures: a small hand-built catalog for worked examples, and the demo store."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import settings

from reformkpi import config, periods
from reformkpi.catalog import Catalog, load_dir
from reformkpi.cli import build_demo
from reformkpi.metrics.datasets import Dataset
from reformkpi.store import CommitInfo, Store, conform

DEMO_LAST_QUARTER = "2026-Q3"
_MAIN = sys.modules["__main__"]
# CI replays the same examples every run, so a landing never hangs on a newly drawn case; locally
# every run draws new ones (and a failure prints its seed to replay with --hypothesis-seed).
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"
# Sign-in sessions of every test (and of the servers the browser tests start) stay out of data/.
os.environ["REFORMKPI_SESSIONS"] = str(Path(tempfile.mkdtemp(prefix="reformkpi-sessions-")) / "sessions.json")
# So do the server's other state files (an analyst's staged upload), and no file of this account's own state is read.
os.environ["REFORMKPI_STATE"] = tempfile.mkdtemp(prefix="reformkpi-state-")


def small_catalog() -> Catalog:
    """Province p; departments a, b, c; district d; x and y merged into z on 1/3/2025."""
    units = pd.DataFrame([
        ("p", "Tỉnh P", "Province P", "P", "province", "", "2016-01-01", "", "", ""),
        ("a", "Sở A", "Dept A", "A", "department", "p", "2016-01-01", "", "", ""),
        ("b", "Sở B", "Dept B", "B", "department", "p", "2016-01-01", "", "", ""),
        ("c", "Sở C", "Dept C", "C", "department", "p", "2016-01-01", "", "", ""),
        ("d", "UBND huyện D", "District D", "D", "district", "p", "2016-01-01", "2025-06-30", "", ""),
        ("x", "Sở X", "Dept X", "X", "department", "p", "2016-01-01", "2025-02-28", "z", ""),
        ("y", "Sở Y", "Dept Y", "Y", "department", "p", "2016-01-01", "2025-02-28", "z", ""),
        ("z", "Sở Z", "Dept Z", "Z", "department", "p", "2025-03-01", "", "", ""),
    ], columns=["unit_id", "name_vi", "name_en", "short_name_vi", "level", "parent_id", "active_from",
                "active_to", "successor_id", "aliases"])
    cols = ["indicator_id", "name_vi", "name_en", "short_vi", "short_en", "family", "measure", "direction",
            "frequency", "rollup", "numerator", "denominator", "scale", "ranked", "sort"]
    ind = pd.DataFrame([
        ("sat", "Hài lòng", "Satisfaction", "Hài lòng", "Satisfaction", "sipas", "percent", "higher_better", "year", "last", "", "", "", "true", 1),
        ("par", "Chỉ số CCHC", "PAR", "CCHC", "PAR", "par_index", "points", "higher_better", "year", "last", "", "", "", "true", 2),
        ("early", "Trước hạn", "Early", "Trước hạn", "Early", "dossiers", "count", "higher_better", "quarter", "sum", "", "", "", "false", 3),
        ("ontime", "Đúng hạn", "On time", "Đúng hạn", "On time", "dossiers", "count", "higher_better", "quarter", "sum", "", "", "", "false", 4),
        ("late", "Quá hạn", "Late", "Quá hạn", "Late", "dossiers", "count", "lower_better", "quarter", "sum", "", "", "", "false", 5),
        ("pending", "Tồn", "Pending", "Tồn", "Pending", "dossiers", "count", "lower_better", "quarter", "last", "", "", "", "false", 6),
        ("carried", "Kỳ trước", "Carried", "Kỳ trước", "Carried", "dossiers", "count", "lower_better", "quarter", "first", "", "", "", "false", 7),
        ("late_rate", "Tỷ lệ trễ hạn", "Late rate", "Tỷ lệ trễ hạn", "Late rate", "dossiers", "percent", "lower_better", "quarter", "derived", "late", "early+ontime+late", "100", "true", 8),
    ], columns=cols)
    targets = pd.DataFrame([
        ("sat", "", 2016, 2020, 80, "NQ 30c/NQ-CP"),
        ("sat", "c", 2016, 2020, 75, "Kế hoạch riêng của Sở C"),
        ("late_rate", "", 2016, 2030, 5, "Kế hoạch"),
        ("par", "", 2016, 2030, 80, "NQ 04"),
    ], columns=["indicator_id", "unit_id", "year_from", "year_to", "value", "source"])
    bands = pd.DataFrame([
        (f, g, vi, en, m, "") for f in ("sipas", "par_index")
        for g, vi, en, m in (("excellent", "Tốt", "Good", 80), ("good", "Khá", "Fair", 70), ("weak", "Yếu", "Weak", ""))
    ], columns=["family", "grade_id", "label_vi", "label_en", "min_value", "source"])
    return Catalog.from_tables({"units": units.astype(str), "indicators": ind.astype(str),
                                "targets": targets.astype(str), "grade_bands": bands.astype(str)})


def obs(rows) -> pd.DataFrame:
    """Observations from (unit, indicator, period, value[, max_value]) tuples."""
    out = []
    for r in rows:
        unit, ind, period, value = r[:4]
        out.append({"unit_id": unit, "indicator_id": ind, "period": period,
                    "period_start": periods.start(period), "value": float(value),
                    "max_value": float(r[4]) if len(r) > 4 else None, "source": "test"})
    return pd.DataFrame(out)


def dataset(rows) -> Dataset:
    return Dataset(conform(pa.Table.from_pandas(obs(rows), preserve_index=False)), small_catalog(), version=0)


def absorbing(rows) -> Dataset:
    """The small catalog with y merged into a (which stays in office) on 1/3/2025: a unit whose
    scope changed."""
    cat = small_catalog()
    units = cat.units.copy()
    units.loc[units["unit_id"] == "y", "successor_id"] = "a"
    return Dataset(conform(pa.Table.from_pandas(obs(rows), preserve_index=False)),
                   Catalog(units, cat.indicators, cat.targets, cat.grade_bands), version=0)


@pytest.fixture
def tmp_store(tmp_path) -> Store:
    store = Store(tmp_path / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    return store


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("demo") / "store")
    build_demo(store, "test", last_quarter=DEMO_LAST_QUARTER)
    return store


@pytest.fixture(scope="session")
def demo(demo_store) -> Dataset:
    return Dataset.open(demo_store)



def shown(markdown: str) -> str:
    """What a reader sees of a Markdown element's source whose data was escaped (formatting.markdown_text)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def plotly_array(v) -> list:
    """A Plotly trace array as a list: Plotly 6+ may send numbers as base64 'bdata'."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return list(v)


@pytest.fixture(autouse=True)
def _restore_main():
    """AppTest leaves app.py as the __main__ module; a process spawned later would run it again."""
    yield
    sys.modules["__main__"] = _MAIN


def outcome_after_kill(uri: str, before: int, rows_before: int) -> tuple[str, pd.DataFrame]:
    """After a writer was killed: the store is at the old or the next version, never torn.

    Returns "old" or "new" and the table as it now reads.
    """
    store = Store(uri)
    after = store.version()
    assert after in (before, before + 1)
    t = store.read().to_pandas()
    assert not t.duplicated(["unit_id", "indicator_id", "period"]).any()
    if after == before:
        assert len(t) == rows_before
        return "old", t
    assert store.history().iloc[0]["user"] == "killed"
    return "new", t


# The sweep's page runs (tests/app/test_sweep.py) in `make test`'s closing lines. Its worker writes
# them to SWEEP_RUNS (tests may run in several processes); the process that reports reads them.
SWEEP_RUNS = OUTPUT / "sweep-runs.json"


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the reporting process: no runs of an earlier session
        SWEEP_RUNS.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter):
    if not SWEEP_RUNS.exists():
        return
    runs = json.loads(SWEEP_RUNS.read_text(encoding="utf-8"))
    seconds, cpu = [r["seconds"] for r in runs], [r["cpu"] for r in runs]
    terminalreporter.write_line(f"page sweep: {len(seconds)} page runs in {sum(seconds):.0f} s "
                                f"({sum(cpu):.0f} s of CPU; slowest run {max(seconds):.1f} s)")
