"""Properties of the metrics on random catalogs (with mergers) and random observations (with gaps,
ties, zero denominators, band edges and rows outside a unit's term), each against a naive pandas
oracle written here from the rules in README, not from the code under test."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reformkpi.metrics import ranking, rollups, views
from reformkpi.metrics.datasets import Dataset
from reformkpi import periods
from reformkpi.catalog import Catalog
from reformkpi.periods import Period
from reformkpi.store import conform
from tests.conftest import obs, small_catalog

QUARTERS = periods.quarters_between("2019-Q1", "2020-Q4")
EDGES = (69.9, 70.0, 70.04, 79.9, 79.95, 80.0, 80.04, 85.0)  # ties and band edges (Khá ≥ 70, Tốt ≥ 80)
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = small_catalog()  # its indicators, targets and bands; the units are drawn


def half_up(x, decimals: int = 1) -> float:
    """Rounded as published tables round: half up, on the decimal the number is written as."""
    return float(Decimal(str(x)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP))


@st.composite
def catalogs(draw):
    """Departments u0..un; some end on a quarter's last day and merge into a unit that starts the next day."""
    base = BASE
    n = draw(st.integers(2, 5))
    merged = draw(st.integers(0, n - 1))
    end = periods.end(draw(st.sampled_from(QUARTERS[:-1])))
    rows = [("p", "Tỉnh P", "Province P", "P", "province", "", "2016-01-01", "", "", "")]
    for i in range(n):
        gone = i < merged
        rows.append((f"u{i}", f"Sở {i}", f"Dept {i}", f"S{i}", "department", "p", "2016-01-01",
                     end.isoformat() if gone else "", "new" if gone else "", ""))
    if merged:
        rows.append(("new", "Sở mới", "New dept", "SM", "department", "p", (end + dt.timedelta(days=1)).isoformat(),
                     "", "", ""))
    units = pd.DataFrame(rows, columns=base.units.columns[:10])
    tables = {"units": units.astype(str), "indicators": base.indicators.drop(columns=["decimals"]).astype(str),
              "targets": base.targets.astype(str), "grade_bands": base.grade_bands.astype(str)}
    return Catalog.from_tables(tables)


@st.composite
def datasets(draw):
    cat = draw(catalogs())
    ids = [u for u in cat.units["unit_id"] if u != "p"]
    rows = []
    for u in ids:  # every unit may have rows in any period, in its term or not: the metrics must skip the latter
        for q in QUARTERS:
            if draw(st.booleans()):  # gaps
                counts = draw(st.tuples(*[st.integers(0, 6)] * 3))  # all zero: a zero denominator
                rows += [(u, ind, q, v) for ind, v in zip(("early", "ontime", "late"), counts)]
        for y in ("2019", "2020"):
            if draw(st.booleans()):
                rows.append((u, "sat", y, draw(st.sampled_from(EDGES))))
    frame = obs(rows) if rows else obs([("u0", "sat", "2019", 80.0)])
    return Dataset(conform(pa.Table.from_pandas(frame, preserve_index=False)), cat, version=1), frame


def in_office(cat: Catalog, period: str) -> set[str]:
    end = periods.end(period)
    u = cat.units
    on = (u["active_from"] <= end) & (u["active_to"].isna() | (u["active_to"] >= end)) & (u["level"] != "province")
    return set(u.loc[on, "unit_id"])


def oracle_late_rate(cat: Catalog, frame: pd.DataFrame, period: str) -> tuple[float, int]:
    """Province late rate of a quarter or year: 100 × Σ late / Σ resolved over the units in office at
    the period's end that resolved something, rounded half up to 1 decimal (in exact decimal arithmetic:
    5 / 16 = 31,25% is 31,3%); and how many such units."""
    f = frame[frame["unit_id"].isin(in_office(cat, period)) & frame["period"].str.startswith(period)]
    per_unit = f.groupby(["unit_id", "indicator_id"])["value"].sum().unstack()
    per_unit = per_unit.reindex(columns=["early", "ontime", "late"]).fillna(0)
    resolved = per_unit.sum(axis=1)
    per_unit = per_unit[resolved > 0]
    if per_unit.empty:
        return np.nan, 0
    late, resolved = (Decimal(str(v)) for v in (per_unit["late"].sum(), per_unit.sum(axis=1).sum()))
    return float((100 * late / resolved).quantize(Decimal("0.1"), ROUND_HALF_UP)), len(per_unit)


@SETTINGS
@given(datasets(), st.sampled_from(QUARTERS[1:]))
def test_rates_coverage_and_terms(data, quarter):
    """Ratio of sums over the units in office, n of N, no figure outside a term, like-for-like change."""
    ds, frame = data
    for grain, period_list in (("quarter", QUARTERS), ("year", ["2019", "2020"])):
        got = rollups.province_series(ds, "late_rate", grain, "department").set_index("period")
        for p in period_list:
            want, n = oracle_late_rate(ds.catalog, frame, p)
            if n == 0:
                assert p not in got.index
                continue
            assert got.loc[p, "value"] == pytest.approx(want, abs=1e-9)
            assert got.loc[p, "n_units"] == n
            assert got.loc[p, "n_expected"] == len(in_office(ds.catalog, p))
        for ind in ("late_rate", "sat"):
            for p, units in rollups.series(ds, ind, grain).groupby("period")["unit_id"]:
                assert set(units) <= in_office(ds.catalog, p)

    k = views.kpi(ds, "late_rate", Period.parse(quarter), None, "vi")
    want, n = oracle_late_rate(ds.catalog, frame, quarter)
    assert k.n_units == n and k.n_expected == len(in_office(ds.catalog, quarter))
    # Like for like over the same bodies: the units with a rate now, against what they (and the
    # units merged into them since) had the quarter before.
    prev = periods.previous(quarter)
    holder = holder_at(ds.catalog, quarter)
    now_units, before_units = rate_units(ds.catalog, frame, quarter), rate_units(ds.catalog, frame, prev)
    both = now_units & {holder(u) for u in before_units}
    assert k.n_common == len(both)
    if both:
        now, _ = oracle_late_rate(ds.catalog, frame[frame["unit_id"].isin(both)], quarter)
        before, _ = oracle_late_rate(ds.catalog, frame[frame["unit_id"].isin(
            [u for u in before_units if holder(u) in both])], prev)
        assert k.change == pytest.approx(half_up(Decimal(str(now)) - Decimal(str(before))), abs=1e-9)
    else:
        assert k.change is None


def rate_units(cat: Catalog, frame: pd.DataFrame, period: str) -> set[str]:
    """Units in office at the period's end that resolved something in it (they have a late rate)."""
    f = frame[frame["unit_id"].isin(in_office(cat, period)) & (frame["period"] == period)
              & frame["indicator_id"].isin(["early", "ontime", "late"])]
    resolved = f.groupby("unit_id")["value"].sum()
    return set(resolved[resolved > 0].index)


def holder_at(cat: Catalog, period: str):
    """The unit in office at the period's end that answers for a unit: itself, or its successor
    followed through the mergers (None when no one does)."""
    active = in_office(cat, period)
    successor = {u: s for u, s in zip(cat.units["unit_id"], cat.units["successor_id"]) if isinstance(s, str) and s}

    def holder(u: str) -> str | None:
        seen = set()
        while u not in active and u in successor and u not in seen:
            seen.add(u)
            u = successor[u]
        return u if u in active else None
    return holder


@SETTINGS
@given(datasets())
def test_ties_share_the_best_rank_and_grades_follow_the_shown_value(data):
    ds, frame = data
    r = ranking.ranks(ds, "sat", "year", "department")
    t = ranking.league_table(ds, "sat", Period(2020), "department", "vi").set_index("unit_id") if "2020" in set(r["period"]) else None
    for p, g in r.groupby("period"):
        f = frame[(frame["indicator_id"] == "sat") & (frame["period"] == p) & frame["unit_id"].isin(in_office(ds.catalog, p))]
        shown = f.set_index("unit_id")["value"].map(half_up)  # as published: one decimal
        want = {u: 1 + int((shown > v).sum()) for u, v in shown.items()}
        assert g.set_index("unit_id")["rank"].to_dict() == want
        assert (g["n_peers"] == len(shown)).all()
    if t is not None:
        grade = np.where(t["value"] >= 80, "excellent", np.where(t["value"] >= 70, "good", "weak"))
        assert t["grade"].tolist() == grade.tolist()
        assert (t["meets_target"] == (t["value"] >= t["target"])).all()
