"""Writers racing on the bucket: 8 committing at once lose nothing, 16 all land or get the store's
"try again" (StoreError, gave up), and a writer killed mid-commit leaves the store at the old
version or the whole new one. Each writer has its own Store (its own delta-rs client, which
commits without the GIL); the figures are printed (pytest -s)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from reformkpi import config
from reformkpi.catalog import load_dir
from reformkpi.store import CommitInfo, Store, StoreError
from tests.conftest import ROOT, obs, outcome_after_kill
from tests.core.test_store import KILL_SCRIPT
from tests.objectstore.conftest import s3_store

pytestmark = [pytest.mark.objectstore, pytest.mark.slow]
ROWS_EACH = 20


def _rows(i: int) -> list[tuple]:
    return [(f"so-w{i}", "sipas.overall", str(2000 + y), float(i + y)) for y in range(ROWS_EACH)]


def _write(uri: str, i: int) -> tuple[int, int, str]:
    """One writer: commits its rows; (version, attempts, error)."""
    try:
        r = Store(uri).commit_observations(obs(_rows(i)), CommitInfo(user=f"w{i}"))
        return r.version, r.attempts, ""
    except StoreError as e:
        return -1, 0, str(e)


def _init(bucket: str) -> Store:
    store = s3_store(bucket)
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    return store


def _landed(store: Store, n: int) -> tuple[int, int]:
    """Rows of the n writers present, and the writers' commits in the history; every version of the
    table read back whole."""
    t = store.read().to_pandas()
    assert not t.duplicated(["unit_id", "indicator_id", "period"]).any()
    present = int(t["unit_id"].str.startswith("so-w").sum())
    h = store.history()
    writes = h[h["user"].str.startswith("w", na=False)]
    assert (writes["base_version"] == writes["version"] - 1).all()  # each diffed on the version it built on
    for v in range(store.version() + 1):
        store.read(version=v)  # every version readable
    return present, len(writes)


def _race(store: Store, n: int) -> tuple[list, list, int, int]:
    """n writers (threads, each with its own Store) committing at once: their results, the errors of
    those that gave up, the rows present and the writers' commits in the history."""
    results: list = []
    start = threading.Barrier(n)

    def write(i: int) -> None:
        start.wait()
        results.append((i, _write(store.uri, i)))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(300)
    given_up = [e for _, (_, _, e) in results if e]
    return results, given_up, *_landed(store, n)


def test_eight_writers_at_once_lose_nothing(bucket):
    store = _init(bucket)
    results, given_up, present, commits = _race(store, 8)
    print(f"\n8 writers on the bucket: rows {present} of {8 * ROWS_EACH}, lost "
          f"{8 * ROWS_EACH - present - len(given_up) * ROWS_EACH}, given up {len(given_up)}, "
          f"attempts {sorted(a for _, (_, a, _) in results)}")
    assert given_up == [] and present == 8 * ROWS_EACH and commits == 8
    assert sorted(v for _, (v, _, _) in results) == list(range(store.version() - 7, store.version() + 1))


def test_sixteen_writers_all_land_or_are_told_to_try_again(bucket):
    store = _init(bucket)
    results, given_up, present, commits = _race(store, 16)
    landed = len(results) - len(given_up)
    print(f"\n16 writers on the bucket: rows {present} of {16 * ROWS_EACH}, lost "
          f"{16 * ROWS_EACH - present - len(given_up) * ROWS_EACH}, given up {len(given_up)}, "
          f"most attempts {max(a for _, (_, a, _) in results)}")
    # Given up: told in words (a StoreError: "nothing was lost, try again"); whatever the server's
    # refusal was, what landed is whole and nothing else is there (below).
    assert len(results) == 16 and all(e for e in given_up), sorted(set(given_up))
    assert present == landed * ROWS_EACH and commits == landed  # what landed is whole, nothing else


def test_a_writer_killed_mid_commit_leaves_the_old_version(bucket, seaweed):
    store = _init(bucket)
    store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 85.5)]), CommitInfo(user="a"))
    outcomes = []
    for run, delay in enumerate((0.0, 0.3, 1.5)):  # at once: surely mid-commit, whatever the machine
        before, rows_before = store.version(), store.read().num_rows
        p = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, store.uri, "50000", str(run)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        outcome, t = outcome_after_kill(store.uri, before, rows_before)
        if outcome == "new":
            assert t.loc[t["unit_id"] == "u0", "value"].min() == run  # the whole commit, never part of it
        outcomes.append(outcome)
    print(f"\nwriters killed mid-commit on the bucket: {outcomes}")
    assert "old" in outcomes
    # No lock was left behind: the next writer commits at once.
    r = store.commit_observations(obs([("so-y-te", "sipas.overall", "2020", 86.0)]), CommitInfo(user="after"))
    assert r.attempts == 1 and r.version == store.version()
