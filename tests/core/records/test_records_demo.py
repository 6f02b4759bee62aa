"""The demo records and the layout other engines read: a second, independent reader agrees."""

import pandas as pd
import pyarrow.dataset as pads
import pytest

from reformkpi import config
from reformkpi.catalog import Catalog, load_dir
from reformkpi.metrics.datasets import Dataset
from reformkpi.metrics.rollups import province_flow
from reformkpi.records import demo as rdemo
from reformkpi.records import metrics as rm
from reformkpi.records import table
from tests.conftest import DEMO_LAST_QUARTER


@pytest.fixture(scope="module")
def rec(demo_store):
    return rm.Records.open(demo_store)


@pytest.fixture(scope="module")
def frame(demo_store):
    """The current version read by pyarrow alone: the Delta file list, Parquet files, partition from the log."""
    parts = []
    for f in table.files(demo_store):
        t = pads.dataset(f.path, format="parquet").to_table().to_pandas()
        parts.append(t.assign(received_quarter=f.quarter))
    return pd.concat(parts, ignore_index=True)


def test_a_second_reader_gets_the_same_counts(rec, frame):
    local = {c: frame[c].dt.tz_convert("Asia/Ho_Chi_Minh") for c in ("received_at", "due_at", "resolved_at")}
    start, end = pd.Timestamp("2026-04-01", tz="Asia/Ho_Chi_Minh"), pd.Timestamp("2026-07-01", tz="Asia/Ho_Chi_Minh")
    done = local["resolved_at"].between(start, end, inclusive="left")
    late = done & (local["resolved_at"] > local["due_at"])
    early = done & ~late & (local["resolved_at"].dt.date < local["due_at"].dt.date)
    open_end = (local["received_at"] < end) & (local["resolved_at"].isna() | (local["resolved_at"] >= end))
    mine = pd.DataFrame({"unit_id": frame["unit_id"], "late": late, "early": early, "on_time": done & ~late & ~early,
                         "overdue": open_end & (local["due_at"] < end)}).groupby("unit_id").sum()
    c = rm.quarter_counts(rec, ["2026-Q2"]).set_index("unit_id")
    assert set(mine.index[mine.sum(axis=1) > 0]) <= set(c.index)
    mine = mine.reindex(c.index)
    assert c["resolved_late"].to_dict() == mine["late"].to_dict()
    assert c["resolved_early"].to_dict() == mine["early"].to_dict()
    assert c["resolved_on_time"].to_dict() == mine["on_time"].to_dict()
    assert c["pending_overdue"].to_dict() == mine["overdue"].to_dict()
    # The partition value in the log is the quarter of received_at in Viet Nam time.
    q = local["received_at"].dt.year.astype(str) + "-Q" + local["received_at"].dt.quarter.astype(str)
    assert (q == frame["received_quarter"]).all() and frame["dossier_id"].is_unique


def test_demo_records_are_skewed_and_respect_active_periods(frame):
    cat = Catalog.from_tables(load_dir(config.CATALOG_DIR))
    assert 150_000 <= len(frame) <= 250_000
    units = cat.units.set_index("unit_id")
    day = frame["received_at"].dt.tz_convert("Asia/Ho_Chi_Minh").dt.date
    after = day >= frame["unit_id"].map(units["active_from"])
    to = frame["unit_id"].map(units["active_to"])
    assert after.all() and (to.isna() | (day <= to)).all()
    assert set(frame.loc[day > pd.Timestamp("2025-06-30").date(), "unit_id"]).isdisjoint(
        units.index[units["level"] == "district"])
    share = frame["procedure_code"].value_counts(normalize=True)
    assert share.iloc[: len(share) // 10].sum() > 0.4  # a tenth of the procedures carry most of the work
    done = frame[frame["resolved_at"].notna()]
    rate = (done["resolved_at"] > done["due_at"]).groupby(done["unit_id"]).mean()
    assert rate["so-xay-dung"] > 2 * rate.median()


def test_generation_is_deterministic():
    cat = Catalog.from_tables(load_dir(config.CATALOG_DIR))
    a = pd.concat(t.to_pandas() for t in rdemo.generate(cat, "2025-Q1", "2025-Q2", 3000))
    b = pd.concat(t.to_pandas() for t in rdemo.generate(cat, "2025-Q1", "2025-Q2", 3000))
    pd.testing.assert_frame_equal(a, b)


def test_the_demo_store_shows_counts_from_its_records(demo_store, rec):
    obs = demo_store.read().to_pandas()
    last = obs[(obs["period"] == DEMO_LAST_QUARTER) & obs["indicator_id"].str.startswith("dossier.")
               & (obs["indicator_id"] != "dossier.apology_letters")]
    cat = Catalog.from_tables(demo_store.read_catalog())
    derived = rm.derived_observations(rec, cat, [DEMO_LAST_QUARTER])
    stored = last.set_index(["unit_id", "indicator_id"])["value"]
    assert len(derived) == len(stored)
    assert (derived.set_index(["unit_id", "indicator_id"])["value"] == stored.reindex(
        derived.set_index(["unit_id", "indicator_id"]).index)).all()
    # Typed counts that equal the derived ones are left as they were (not rewritten); the rest are the
    # records' (about a third: the records repeat the typed received counts and backlog exactly).
    assert (last["source"].map(rm.origin) == "records").mean() > 0.25


def test_the_switch_to_records_keeps_the_province_totals(demo_store):
    """2024-Q4 is the first quarter the records determine: they repeat what was typed for it."""
    typed_version = next(v for v, op in zip(demo_store.history()["version"], demo_store.history()["operation"])
                         if op == "demo")
    before, after = (province_flow(Dataset.open(demo_store, v), None, (2024, 2024)).set_index("period").loc["2024-Q4"]
                     for v in (typed_version, demo_store.version()))
    assert after["dossier.received"] == before["dossier.received"]
    assert abs(after["dossier.resolved"] / before["dossier.resolved"] - 1) < 0.01
    assert abs(after["dossier.on_time_rate"] - before["dossier.on_time_rate"]) < 1
    assert abs(after["dossier.late_rate"] - before["dossier.late_rate"]) < 1


def test_the_province_series_runs_on_across_the_switch(demo_store):
    """Across 2024-Q3 (typed) and 2024-Q4 (the first quarter from records) the province's received,
    resolved, on-time rate and backlog move as the typed series did: within 1% (rates within
    1 point), the backlog and its overdue part within 5%; and the backlog the records carry into 2024-Q4 is the one typed."""
    typed_version = next(v for v, op in zip(demo_store.history()["version"], demo_store.history()["operation"])
                         if op == "demo")
    typed, now = (province_flow(Dataset.open(demo_store, v), None, (2024, 2025)).set_index("period")
                  .assign(pending=lambda f: f["dossier.pending_not_due"] + f["dossier.pending_overdue"])
                  for v in (typed_version, demo_store.version()))
    assert abs(now.loc["2024-Q4", "dossier.carried_over"] / typed.loc["2024-Q3", "pending"] - 1) < 0.01
    for q in ("2024-Q4", "2025-Q1", "2025-Q2"):
        assert abs(now.loc[q, "dossier.received"] / typed.loc[q, "dossier.received"] - 1) < 0.01
        assert abs(now.loc[q, "dossier.resolved"] / typed.loc[q, "dossier.resolved"] - 1) < 0.01
        assert abs(now.loc[q, "dossier.on_time_rate"] - typed.loc[q, "dossier.on_time_rate"]) < 1
        assert abs(now.loc[q, "pending"] / typed.loc[q, "pending"] - 1) < 0.05
        assert abs(now.loc[q, "dossier.pending_overdue"] / typed.loc[q, "dossier.pending_overdue"] - 1) < 0.05


def test_every_merged_units_drill_down_shows_the_stored_counts_in_every_quarter(demo_store, rec):
    """The rule for merged units, both ways: for every unit that took others over and every quarter
    the records determine, the drill-down's nine counts and its trend are those the sync stored."""
    cat = Catalog.from_tables(demo_store.read_catalog())
    stored = demo_store.read().to_pandas()
    merged = [u for u in cat.units["unit_id"] if cat.predecessors(u)]
    checked = 0
    for unit in merged:
        for quarter in rm.complete_quarters(rec):
            if not cat.standing(unit, quarter).own:
                continue
            held = rm.Held.of(cat, unit, quarter)
            compared = rm.compare_with_stored(rec, stored, held, quarter)
            assert compared["equal"].all(), (unit, quarter)
            s = rm.drill_down(rec, held, quarter).summary
            mine = compared.set_index("indicator_id")["stored"]
            assert s["received"] == sum(mine[f"dossier.received_{c}"] for c in ("online", "in_person", "post"))
            assert s["late"] == mine["dossier.resolved_late"] and s["overdue"] == mine["dossier.pending_overdue"]
            trend = rm.backlog_trend(rec, held, quarter).set_index("period")
            for q in trend.index[trend["own"]]:
                if q in rm.complete_quarters(rec):
                    row = stored[(stored["unit_id"] == unit) & (stored["period"] == q)].set_index("indicator_id")["value"]
                    assert trend.loc[q, "pending_overdue"] == row["dossier.pending_overdue"], (unit, quarter, q)
            checked += 1
    assert len(merged) >= 5 and checked >= 5 * 8
