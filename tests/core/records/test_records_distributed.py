"""The distributed engine (a Dask LocalCluster of two worker processes, started once) reads the
same Delta tables as the dashboard and gets DuckDB's numbers, to the number: on the hand-worked
records (the deadline edge, quarters in local time) and on the demo records."""

import pandas as pd
import pytest

from reformkpi.records import distributed as dd
from reformkpi.records import metrics as rm
from reformkpi.records import table
from tests.conftest import DEMO_LAST_QUARTER
from tests.core.records.test_records import ROWS, U, ingest, write


@pytest.fixture(scope="module")
def cluster():
    with dd.client(workers=2) as c:
        assert len(c.scheduler_info()["workers"]) == 2
        yield c


def _same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(ours.reset_index(drop=True), theirs.reset_index(drop=True),
                                  check_dtype=False, check_exact=False, rtol=1e-12)


def test_hand_worked_records(cluster, tmp_store, tmp_path):
    ingest(tmp_store, write(tmp_path / "export.csv", ROWS))
    rec = rm.Records.open(tmp_store)
    qs = ["2025-Q1", "2025-Q2", "2025-Q3"]
    counts = dd.quarter_counts(cluster, rec.files, qs)
    _same(counts, rm.quarter_counts(rec, qs))
    assert counts.set_index("period").loc["2025-Q2", "resolved_late"] == 1  # C, one second late
    late = dd.late_procedures(cluster, rec.files, U, "2025-Q2")
    _same(late, rm.late_procedures(rec, U, "2025-Q2"))
    # P1: C one second late, I overdue at the end of June; P2: F overdue; P3 has none.
    assert late[["procedure_code", "late", "overdue_open"]].values.tolist() == [["P1", 1, 1], ["P2", 0, 1]]


def test_demo_records_every_unit_and_quarter(cluster, demo_store):
    rec = rm.Records.open(demo_store)
    qs = rm.complete_quarters(rec)
    counts = dd.quarter_counts(cluster, table.files(demo_store, rec.version), qs)
    assert len(counts) > 100 and counts[list(rm.COUNTS)].to_numpy().sum() > 100_000
    _same(counts, rm.quarter_counts(rec, qs))
    for unit in rm.units_with_records(rec, DEMO_LAST_QUARTER)[:3]:
        _same(dd.late_procedures(cluster, rec.files, unit, DEMO_LAST_QUARTER),
              rm.late_procedures(rec, unit, DEMO_LAST_QUARTER))
