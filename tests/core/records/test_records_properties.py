"""Properties of the records' figures on random dossiers, against a naive oracle written here from
the definitions in `reformkpi/records/metrics.py`'s docstring, not from its code.

Instants are drawn near the edges that matter (a quarter's first instant, the second before it,
a due time and one second either side of it, midnight of the due day), in Viet Nam local time as
an export gives them; the oracle works on those local times directly.
"""

import datetime as dt
import statistics
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reformkpi import periods
from reformkpi.records import counting
from reformkpi.records import metrics as rm
from reformkpi.records import quarter
from reformkpi.records.quarter import AGE_BUCKETS, OVERDUE_BUCKETS
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


@pytest.mark.slow
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


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between the two nearest ranks, written out."""
    ordered = sorted(values)
    at = (len(ordered) - 1) * q
    lo = int(at)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (at - lo)


def bucket_of(value: float, buckets) -> int:
    return next(lo for lo, hi in buckets if hi is None or value <= hi)


def days(a: dt.datetime, b: dt.datetime) -> float:
    return (b - a) / dt.timedelta(days=1)


def same(got: float | None, expected: float | None) -> bool:
    if expected is None:
        return got is None or pd.isna(got)
    return got == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.slow
@SETTINGS
@given(rows=dossiers(), chunk=st.integers(1, 30))
def test_the_drilldown_tables_match_a_dossier_by_dossier_oracle(rows, chunk):
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(counting, "CHUNK_ROWS", chunk):
        rec = loaded(rows, Path(tmp), Store(Path(tmp) / "store"))
        for unit in UNITS:
            for q in QUARTERS:
                s = dt.datetime.combine(periods.start(q), dt.time())
                e = dt.datetime.combine(periods.end(q) + dt.timedelta(days=1), dt.time())
                mine = [r for r in rows if r[1] == unit and r[4] < e and (r[6] is None or r[6] >= s)]
                done = [r for r in mine if r[6] is not None and r[6] < e]
                late = [r for r in done if outcome(r[5], r[6]) == "late"]
                still = [r for r in mine if r[6] is None or r[6] >= e]
                d = rm.drill_down(rec, unit, q)

                summary = d.summary
                assert same(summary["p90_days"], quantile([days(r[4], r[6]) for r in done], 0.9) if done else None)
                assert same(summary["allowed_days"],
                            quantile([days(r[4], r[5]) for r in done], 0.5) if done else None)

                ch = d.channels.set_index("channel")
                for c in CHANNELS:
                    resolved = [r for r in done if r[3] == c]
                    assert ch.loc[c, "received"] == sum(1 for r in mine if r[3] == c and r[4] >= s)
                    assert ch.loc[c, "resolved"] == len(resolved)
                    assert same(ch.loc[c, "late_rate"],
                                100 * sum(r in late for r in resolved) / len(resolved) if resolved else None)
                    assert same(ch.loc[c, "median_days"],
                                statistics.median(days(r[4], r[6]) for r in resolved) if resolved else None)

                over = d.overdue_days.set_index("lo")
                expected_late = [bucket_of(-(-days(r[5], r[6]) // 1), OVERDUE_BUCKETS) for r in late]
                expected_open = [bucket_of(-(-days(r[5], e) // 1), OVERDUE_BUCKETS) for r in still if r[5] < e]
                for lo, _ in OVERDUE_BUCKETS:
                    assert over.loc[lo, "resolved_late"] == expected_late.count(lo)
                    assert over.loc[lo, "open_overdue"] == expected_open.count(lo)

                ages = d.backlog_ageing.set_index("lo")
                for lo, _ in AGE_BUCKETS:
                    aged = [r for r in still if bucket_of(days(r[4], e) // 1, AGE_BUCKETS) == lo]
                    assert ages.loc[lo, "not_due"] == sum(1 for r in aged if r[5] >= e)
                    assert ages.loc[lo, "overdue"] == sum(1 for r in aged if r[5] < e)

                per = {}
                for p in sorted({r[2] for r in mine}):
                    p_done = [r for r in done if r[2] == p]
                    p_late = [r for r in late if r[2] == p]
                    per[p] = (len(p_done), len(p_late), sum(1 for r in still if r[2] == p and r[5] < e), p_done, p_late)
                worst = sorted((p for p, v in per.items() if v[1] + v[2] > 0), key=lambda p: (-(per[p][1] + per[p][2]), p))
                lp = d.late_procedures
                assert lp["procedure_code"].tolist() == worst
                for _, row in lp.iterrows():
                    n_done, n_late, n_over, p_done, p_late = per[row["procedure_code"]]
                    assert row["procedure_name"] == f"Thủ tục {row['procedure_code']}"
                    assert (row["resolved"], row["late"], row["overdue_open"]) == (n_done, n_late, n_over)
                    assert same(row["late_rate"], 100 * n_late / n_done if n_done else None)
                    assert same(row["median_days_late"],
                                statistics.median(days(r[5], r[6]) for r in p_late) if p_late else None)

                busiest = sorted((p for p, v in per.items() if v[0] > 0), key=lambda p: (-per[p][0], p))
                pt = d.processing_times
                assert pt["procedure_code"].tolist() == busiest
                for _, row in pt.iterrows():
                    p_done = per[row["procedure_code"]][3]
                    taken = [days(r[4], r[6]) for r in p_done]
                    assert row["resolved"] == len(p_done)
                    assert same(row["median_days"], quantile(taken, 0.5))
                    assert same(row["p90_days"], quantile(taken, 0.9))
                    assert same(row["allowed_days"], quantile([days(r[4], r[5]) for r in p_done], 0.5))


STORED_COLUMNS = ["unit_id", "indicator_id", "period", "value", "source"]


@st.composite
def stored_rows(draw) -> pd.DataFrame:
    """Observation rows as the store holds them, often of the unit and quarter compared, some of
    other units, quarters or indicators; values equal to the records' count (zero here) or not, or
    missing; sources of both origins or none; the same indicator stored twice at times."""
    rows = draw(st.lists(st.tuples(
        st.sampled_from((U, "so-y-te")),
        st.sampled_from([f"dossier.{c}" for c in rm.COUNTS[:3]] + ["satisfaction.score"]),
        st.sampled_from(("2025-Q2", "2025-Q1")),
        st.sampled_from((0.0, 1.0, float("nan"))),
        st.sampled_from(("records:v3", "upload-1", None))), max_size=12))
    df = pd.DataFrame(rows, columns=STORED_COLUMNS)
    return df.astype({"value": float, "unit_id": "str", "indicator_id": "str", "period": "str"}) \
        if draw(st.booleans()) else df  # as read from the store, or as a caller builds it


@settings(max_examples=60, deadline=None)
@given(stored=stored_rows())
def test_the_comparison_with_the_stored_counts_matches_a_merge(stored):
    rec = rm.Records([])  # no dossiers: every count from records is zero
    got = rm.compare_with_stored(rec, stored, U, "2025-Q2")
    # The oracle: a left merge on indicator_id of the nine counts with the unit's stored rows of the quarter.
    mine = stored[(stored["unit_id"] == U) & (stored["period"] == "2025-Q2")]
    counts = pd.DataFrame({"indicator_id": [f"dossier.{c}" for c in rm.COUNTS], "from_records": 0})
    merged = counts.merge(mine[["indicator_id", "value", "source"]], on="indicator_id", how="left", indicator=True)
    missing = lambda v: v is None or v != v
    expected = [(i, 0, None if missing(v) else v,
                 None if m == "left_only" else "records" if isinstance(s, str) and s.startswith("records:") else "upload",
                 None if missing(v) else v == 0)
                for i, v, s, m in zip(merged["indicator_id"], merged["value"], merged["source"], merged["_merge"])]
    assert [tuple(None if missing(x) else x for x in row) for row in got.itertuples(index=False)] == expected


@settings(max_examples=200, deadline=None)
@given(groups=st.lists(st.tuples(st.integers(0, 4), st.one_of(st.integers(0, 10**12).map(lambda us: us / 86_400e6),
                                                                st.sampled_from((0.0, 1.0, 2.5)))), max_size=40),
       qs=st.sampled_from(((0.5,), (0.5, 0.9), (0.9,))))
def test_the_grouped_quantiles_are_numpys_to_the_bit(groups, qs):
    values = np.array([v for _, v in groups], dtype=float)
    group = np.array([g for g, _ in groups], dtype=np.int64)
    got = quarter.quantiles(values, group, 5, qs)
    for g in range(5):
        mine = values[group == g]
        expected = np.quantile(mine, qs) if mine.size else np.full(len(qs), np.nan)
        assert np.array_equal(got[g], expected, equal_nan=True), (g, mine)
