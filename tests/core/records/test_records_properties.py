"""Properties of the records' figures on random dossiers, against a naive oracle written here from
the definitions in `reformkpi/records/metrics.py`'s docstring, not from its SQL.

Instants are drawn near the edges that matter (a quarter's first instant, the second before it,
a due time and one second either side of it, midnight of the due day), in Viet Nam local time as
an export gives them; the oracle works on those local times directly.
"""

import datetime as dt
import statistics
import tempfile
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reformkpi import periods
from reformkpi.records import counting
from reformkpi.records import metrics as rm
from reformkpi.records.scan import CHANNELS
from reformkpi.store import Store
from tests.core.records.test_records import COLUMNS, U, ingest

UNITS = (U, "so-y-te")  # the units test_records.ingest accepts
QUARTERS = ("2025-Q1", "2025-Q2", "2025-Q3")
FIRST = dt.datetime(2025, 1, 1)
SECOND = dt.timedelta(seconds=1)
EDGES = [dt.datetime.combine(periods.start(q), dt.time()) for q in ("2025-Q2", "2025-Q3", "2025-Q4")]
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instants(draw, after: dt.datetime) -> dt.datetime:
    """An instant at or after `after`, often on an edge: a quarter's start or the second before it."""
    edges = [e + d for e in EDGES for d in (dt.timedelta(0), -SECOND) if e + d >= after]
    if edges and draw(st.booleans()):
        return draw(st.sampled_from(edges))
    return after + dt.timedelta(seconds=draw(st.integers(0, 200 * 86400)))


@st.composite
def dossiers(draw) -> list[tuple]:
    rows = []
    for i in range(draw(st.integers(1, 25))):
        received = draw(instants(FIRST + dt.timedelta(seconds=draw(st.integers(0, 250 * 86400)))))
        due = draw(instants(received))
        near_due = [t for t in (due - SECOND, due, due + SECOND, dt.datetime.combine(due.date(), dt.time()) - SECOND)
                    if t >= received]  # the deadline edge and the end of the day before the due day
        resolved = draw(st.one_of(st.none(), instants(received), st.sampled_from(near_due)))
        rows.append((f"D{i}", draw(st.sampled_from(UNITS)), draw(st.sampled_from(("P1", "P2"))),
                     draw(st.sampled_from(CHANNELS)), received, due, resolved))
    return rows


def outcome(due: dt.datetime, resolved: dt.datetime) -> str:
    if resolved > due:
        return "late"
    return "early" if resolved.date() < due.date() else "on_time"


def oracle_counts(rows: list[tuple], unit: str, quarter: str) -> dict[str, int]:
    """The nine counts of a unit and quarter, dossier by dossier."""
    s = dt.datetime.combine(periods.start(quarter), dt.time())
    e = dt.datetime.combine(periods.end(quarter) + dt.timedelta(days=1), dt.time())
    out = dict.fromkeys(rm.COUNTS, 0)
    for _, u, _, channel, received, due, resolved in rows:
        open_at_end = resolved is None or resolved >= e
        if u != unit or received >= e or not (resolved is None or resolved >= s):
            continue
        if received < s:
            out["carried_over"] += 1
        else:
            out[f"received_{channel}"] += 1
        if not open_at_end:
            out[f"resolved_{outcome(due, resolved)}"] += 1
        elif due >= e:
            out["pending_not_due"] += 1
        else:
            out["pending_overdue"] += 1
    return out


def loaded(rows: list[tuple], folder: Path, store) -> rm.Records:
    text = lambda t: "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S")
    df = pd.DataFrame([(i, u, p, f"Thủ tục {p}", ch, text(r), text(d), text(s), "x")
                       for i, u, p, ch, r, d, s in rows], columns=COLUMNS)
    df.to_csv(folder / "export.csv", index=False)
    return rm.Records.open(store, ingest(store, folder / "export.csv").version)


@SETTINGS
@given(rows=dossiers(), chunk=st.integers(1, 30))
def test_counts_and_drilldown_match_a_dossier_by_dossier_oracle(rows, chunk):
    # Rows are counted a chunk at a time: chunks of a few rows put the chunk edges among them.
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(counting, "CHUNK_ROWS", chunk):
        store = Store(Path(tmp) / "store")
        rec = loaded(rows, Path(tmp), store)
        counts = rm.quarter_counts(rec, list(QUARTERS)).set_index(["unit_id", "period"])
        for unit in UNITS:
            for q in QUARTERS:
                expected = oracle_counts(rows, unit, q)
                got = (counts.loc[(unit, q)].to_dict() if (unit, q) in counts.index
                       else dict.fromkeys(rm.COUNTS, 0))
                assert got == expected, (unit, q)
                # The drill-down reads its own slice of the unit: the same counts, the same totals.
                compared = rm.compare_with_stored(rec, pd.DataFrame(columns=["unit_id", "indicator_id", "period",
                                                                               "value", "source"]), unit, q)
                assert dict(zip(compared["indicator_id"].str.removeprefix("dossier."), compared["from_records"])) \
                    == expected
                s = rm.drill_down(rec, unit, q).summary
                assert s["received"] == sum(expected[f"received_{c}"] for c in CHANNELS)
                assert (s["early"], s["on_time"], s["late"]) == (
                    expected["resolved_early"], expected["resolved_on_time"], expected["resolved_late"])
                assert (s["open"], s["overdue"]) == (expected["pending_not_due"] + expected["pending_overdue"],
                                                      expected["pending_overdue"])
                days = [(r[6] - r[4]) / dt.timedelta(days=1) for r in rows
                        if r[1] == unit and r[6] is not None
                        and dt.datetime.combine(periods.start(q), dt.time()) <= r[6]
                        < dt.datetime.combine(periods.end(q) + dt.timedelta(days=1), dt.time())]
                assert s["median_days"] == (pytest.approx(statistics.median(days)) if days else None)
            trend = rm.drill_down(rec, unit, QUARTERS[-1]).backlog_trend.set_index("period")
            for q in trend.index:
                expected = oracle_counts(rows, unit, q)
                assert trend.loc[q, "pending_overdue"] == expected["pending_overdue"]
                assert trend.loc[q, "resolved"] == sum(expected[f"resolved_{o}"] for o in ("early", "on_time", "late"))
