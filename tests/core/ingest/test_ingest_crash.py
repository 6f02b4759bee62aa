"""Ingest under failure: a process killed at any point, and two ingests at once."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys

import pandas as pd

from reformkpi import cli, ingest, periods
from reformkpi.auth import Actor
from tests.conftest import ROOT, outcome_after_kill
from tests.core.ingest.test_ingest import TODAY, csv_bytes

UNITS = ["so-noi-vu", "so-tu-phap", "so-tai-chinh", "so-y-te", "so-xay-dung", "thanh-tra-tinh"]
PARTS = ["resolved_early", "resolved_on_time", "resolved_late", "received_online", "apology_letters"]


QUARTERS = periods.quarters_between("2016-Q1", "2024-Q4")


def long_file(path, offset: int, quarters=QUARTERS) -> None:
    rows = [["unit_id", "indicator_id", "period", "value"]]
    rows += [[u, f"dossier.{p}", q, i + offset] for i, (u, p, q) in
             enumerate((u, p, q) for u in UNITS for p in PARTS for q in quarters)]
    path.write_bytes(csv_bytes(rows))


def test_a_process_killed_during_ingest_leaves_the_old_or_the_new_version(tmp_store, tmp_path):
    outcomes = set()
    for run, delay in enumerate((0.5, 1.5, 2.5, 3.5, 60)):
        f = tmp_path / f"run{run}.csv"
        long_file(f, 1000 * (run + 1))
        before, rows_before = tmp_store.version(), tmp_store.read().num_rows
        p = subprocess.Popen([sys.executable, "-m", "reformkpi", "ingest", str(f), "--store", tmp_store.uri,
                              "--user", "killed"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            p.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        outcome, t = outcome_after_kill(tmp_store.uri, before, rows_before)
        if outcome == "new":
            assert t["value"].min() == 1000 * (run + 1)  # every row of this run, none of the old ones
        outcomes.add(outcome)
    assert "new" in outcomes  # the last run (no kill) always lands


def _cli(args):
    raise SystemExit(cli.main(args))


def test_two_concurrent_ingests_end_consistent_and_the_later_is_rediffed(tmp_store, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    long_file(a, 0, ["2024-Q1", "2024-Q2"])
    long_file(b, 500, ["2024-Q2", "2024-Q3"])  # overlaps a on 2024-Q2
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_cli, args=(["ingest", str(f), "--store", tmp_store.uri, "--user", f.stem],))
             for f in (a, b)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    t = tmp_store.read().to_pandas()
    assert not t.duplicated(["unit_id", "indicator_id", "period"]).any() and len(t) == len(UNITS) * len(PARTS) * 3
    h = tmp_store.history()
    writes = h[h["user"].isin(["a", "b"])].sort_values("version")
    assert len(writes) == 2 and (writes["base_version"] == writes["version"] - 1).all()
    later = writes.iloc[-1]
    assert later["rows_changed"] == len(UNITS) * len(PARTS)  # the shared quarter, diffed on the fresh version
    q2 = t[t["period"] == "2024-Q2"]["value"]
    assert (q2 >= 500).all() if later["user"] == "b" else (q2 < 500).all()


def test_a_prepared_diff_is_taken_again_at_commit(tmp_store):
    data_a = csv_bytes([["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"], ["STP", "sipas.overall", "2019", "80"]])
    data_b = csv_bytes([["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"], ["STP", "sipas.overall", "2019", "82"]])
    up_a = ingest.prepare(tmp_store, data_a, "a.csv", today=TODAY)
    up_b = ingest.prepare(tmp_store, data_b, "b.csv", today=TODAY)
    assert up_b.diff.new.num_rows == 1
    ra = ingest.commit(tmp_store, up_a, Actor("a", "analyst"))
    rb = ingest.commit(tmp_store, up_b, Actor("b", "analyst"))
    assert (rb.rows_new, rb.rows_changed, rb.version) == (0, 1, ra.version + 1)
    assert pd.Series(tmp_store.read().to_pandas()["value"]).tolist() == [82.0]
