"""Terms of office everywhere: nothing stored, synced or shown for a unit outside its term, and a
`check` command that audits a store against the catalog's rules."""

import shutil

import pandas as pd
import pytest

from reformkpi import audit, config
from reformkpi.metrics import ranking, rollups, views
from reformkpi.catalog import Catalog, CatalogError
from reformkpi.cli import main
from reformkpi.versions import update_catalog
from reformkpi.auth import operator
from reformkpi.periods import Period
from reformkpi.records import metrics as rm
from reformkpi.store import CommitInfo
from tests.conftest import obs

GONE = ("so-tai-nguyen-moi-truong", "so-ke-hoach-dau-tu", "so-nong-nghiep-ptnt")


def test_the_demo_store_passes_check(demo_store, capsys):
    assert main(["--store", demo_store.uri, "check"]) == 0
    assert "0 dòng vi phạm" in capsys.readouterr().out


def test_check_lists_rows_that_break_a_rule(tmp_store, capsys):
    # Written past the upload's checks, as an older writer or an edited catalog could leave them.
    tmp_store.commit_observations(obs([
        ("so-tai-nguyen-moi-truong", "dossier.resolved_late", "2025-Q2", 12),   # term ended 28/02/2025
        ("so-tu-phap", "dossier.late_rate", "2025-Q2", 3.1),                    # computed, not stored
        ("so-tu-phap", "sipas.overall", "2024", 107),                           # above 100%
        ("so-tu-phap", "dossier.resolved_on_time", "2024-Q4", 10.5),            # not a whole count
        ("so-y-te", "par.total", "2024", 70, 65),                               # above its maximum
        ("so-y-te", "dossier.received_online", "2024-Q4", 3),
        ("so-y-te", "dossier.received", "2024-Q4", 5),                          # a total, computed
    ]), CommitInfo(user="test", operation="upload"))
    found = audit.violations(tmp_store.read().to_pandas(), Catalog.from_tables(tmp_store.read_catalog()), "vi")
    got = set(zip(found["rule"], found["unit_id"], found["indicator_id"]))
    assert got == {
        ("unit_inactive", "so-tai-nguyen-moi-truong", "dossier.resolved_late"),
        ("derived_indicator", "so-tu-phap", "dossier.late_rate"),
        ("percent_range", "so-tu-phap", "sipas.overall"),
        ("non_integer_count", "so-tu-phap", "dossier.resolved_on_time"),
        ("points_above_max", "so-y-te", "par.total"),
        ("derived_indicator", "so-y-te", "dossier.received"),
    }
    inactive = found[found["rule"] == "unit_inactive"]["message"].iloc[0]
    assert "28/02/2025" in inactive
    assert main(["--store", tmp_store.uri, "check"]) == 1
    out = capsys.readouterr().out
    assert "6 dòng vi phạm" in out and "so-tai-nguyen-moi-truong" in out


def test_a_catalog_that_would_orphan_stored_rows_is_refused(tmp_store, tmp_path, capsys):
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2024", 81.5)]),
                                  CommitInfo(user="test", operation="upload"))
    edited = tmp_path / "catalog"
    shutil.copytree(config.CATALOG_DIR, edited)
    units = pd.read_csv(edited / "units.csv", dtype=str, keep_default_na=False)
    units.loc[units["unit_id"] == "so-y-te", "active_to"] = "2023-12-31"
    units.to_csv(edited / "units.csv", index=False)
    before = tmp_store.catalog_versions()
    assert main(["--store", tmp_store.uri, "check", "--catalog", str(edited)]) == 1
    assert "so-y-te" in capsys.readouterr().out
    with pytest.raises(CatalogError, match="1 stored rows would break a rule: so-y-te · sipas.overall · 2024"):
        update_catalog(tmp_store, operator("admin"), edited)
    assert tmp_store.catalog_versions() == before  # nothing written


def test_records_of_a_merged_unit_count_for_its_successor(demo_store):
    """Sở TN&MT and Sở NN&PTNT ended on 28/02/2025: their dossiers of 2025-Q1 belong to Sở NN&MT."""
    rec = rm.Records.open(demo_store)
    raw = rm.quarter_counts(rec, ["2025-Q1"]).set_index("unit_id")
    lineage = ["so-nong-nghiep-moi-truong", "so-tai-nguyen-moi-truong", "so-nong-nghiep-ptnt"]
    assert raw.loc["so-tai-nguyen-moi-truong", "received_online"] > 0  # it did receive dossiers that quarter
    stored = demo_store.read().to_pandas()
    q1 = stored[(stored["period"] == "2025-Q1") & (stored["indicator_id"] == "dossier.received_online")]
    assert set(q1["unit_id"]).isdisjoint(GONE)
    assert q1.set_index("unit_id").loc["so-nong-nghiep-moi-truong", "value"] == raw.reindex(lineage)[
        "received_online"].sum()


@pytest.mark.parametrize("period", ["2025", "2025-Q2"])
def test_the_dossiers_page_figures_show_only_units_in_office(demo, period):
    in_office = set(demo.catalog.active_units(period)["unit_id"])
    league = ranking.league_table(demo, "dossier.late_rate", Period.parse(period), "department", "vi")
    assert set(league["unit_id"]) <= in_office and len(league) == 14
    assert league["n_peers"].max() == 14
    late = views.most_late(demo, "dossier.late_rate", Period.parse(period), None, "vi")
    assert set(late["unit_id"]) <= in_office
    matrix = views.rate_matrix(demo, "dossier.late_rate", None, (2025, 2025), "vi")
    shown = matrix.drop(columns="name").dropna(how="all").index
    assert set(shown) <= set(demo.catalog.active_units("2025-Q1")["unit_id"])
    q2 = matrix["2025-Q2"].dropna().index
    assert set(q2) <= set(demo.catalog.active_units("2025-Q2")["unit_id"]) and not set(q2) & set(GONE)
    assert views.kpi(demo, "dossier.late_rate", Period.parse(period), None, "vi").n_units == len(
        set(rollups.series(demo, "dossier.late_rate", "year" if period == "2025" else "quarter",
                           years=(2025, 2025)).query("period == @period")["unit_id"]))
