"""Overwrites are stated: an upload that would replace or delete values synced from the records, or
stored with another source, lists them and writes nothing until the analyst confirms
(`replace_synced`, `--replace-synced`); an ordinary correction goes through as before."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from reformkpi import cli, ingest, notes, periods
from reformkpi.ingest import OverwriteRefused
from reformkpi.store import CommitInfo
from tests.core.ingest.test_ingest import ANALYST, csv_bytes, prep, state

HEAD = ["Đơn vị", "Chỉ số", "Kỳ", "Giá trị", "Ghi chú"]


def seed(store, rows, operation: str, source) -> None:
    df = pd.DataFrame([{"unit_id": u, "indicator_id": i, "period": p, "period_start": periods.start(p),
                        "value": float(v), "max_value": None, "source": source} for u, i, p, v in rows])
    store.commit_observations(df, CommitInfo(user="seed", operation=operation))


@pytest.fixture
def seeded(tmp_store):
    """Four stored values: two from a records sync (one whose source was not kept), one from a named
    source, one typed in without a source."""
    seed(tmp_store, [("so-tu-phap", "dossier.resolved_late", "2025-Q1", 5)], "records-sync", "records:v2")
    seed(tmp_store, [("so-y-te", "dossier.resolved_late", "2025-Q1", 7)], "records-sync", None)
    seed(tmp_store, [("so-y-te", "sipas.overall", "2019", 80)], "upload", "Báo cáo Sở Y tế")
    seed(tmp_store, [("so-tu-phap", "sipas.overall", "2019", 77.4)], "upload", None)
    return tmp_store


FILE = csv_bytes([HEAD,
                  ["Sở Tư pháp", "dossier.resolved_late", "2025-Q1", "6", "sửa"],
                  ["Sở Y tế", "dossier.resolved_late", "2025-Q1", "8", ""],
                  ["Sở Y tế", "sipas.overall", "2019", "81", ""],
                  ["Sở Tư pháp", "sipas.overall", "2019", "79", ""],
                  ["Sở Nội vụ", "sipas.overall", "2019", "75", ""]])


def test_the_diff_marks_synced_and_other_source_values_and_nothing_is_written_unconfirmed(seeded):
    up = prep(seeded, FILE)
    assert up.valid and len(up.diff.changed) == 4 and up.diff.new.num_rows == 1
    found = up.overwrites.set_index(["unit_id", "indicator_id"])
    # The correction of a value typed in without a source is not listed; the other three are.
    assert found["origin"].to_dict() == {("so-tu-phap", "dossier.resolved_late"): "records",
                                         ("so-y-te", "dossier.resolved_late"): "records",
                                         ("so-y-te", "sipas.overall"): "other"}
    assert found.loc[("so-y-te", "sipas.overall"), ["old_value", "value", "old_source"]].tolist() == [
        80.0, 81.0, "Báo cáo Sở Y tế"]
    assert ingest.origin_counts(up.overwrites) == {"records": 2, "other": 1}
    before = state(seeded)
    with pytest.raises(OverwriteRefused) as refused:
        ingest.commit(seeded, up, ANALYST)
    assert len(refused.value.found) == 3
    assert state(seeded) == before  # neither the values nor the file's note
    assert notes.read(seeded, seeded.version()).empty
    r = ingest.commit(seeded, up, ANALYST, replace_synced=True)
    assert (r.rows_changed, r.rows_new) == (4, 1)
    assert seeded.read().to_pandas().set_index(["unit_id", "indicator_id"]).loc[
        ("so-tu-phap", "dossier.resolved_late"), "value"] == 6


def test_a_correction_of_the_files_own_values_needs_no_confirmation(seeded):
    up = prep(seeded, csv_bytes([HEAD, ["Sở Tư pháp", "sipas.overall", "2019", "79", ""]]))
    assert up.overwrites.empty
    assert ingest.commit(seeded, up, ANALYST).rows_changed == 1
    # Named the same source as the stored value: a correction from that source, not another one.
    same = csv_bytes([[*HEAD, "Nguồn"], ["Sở Y tế", "sipas.overall", "2019", "82", "", "Báo cáo Sở Y tế"]])
    assert prep(seeded, same).overwrites.empty


def test_deleting_a_synced_value_by_replacing_the_scope_is_listed(seeded):
    up = prep(seeded, csv_bytes([HEAD, ["Sở Tư pháp", "dossier.resolved_on_time", "2025-Q1", "40", ""]]),
              replace=True)
    assert len(up.diff.deleted) == 1
    gone = up.overwrites.iloc[0]
    assert (gone["indicator_id"], gone["origin"], gone["old_value"]) == ("dossier.resolved_late", "records", 5.0)
    assert pd.isna(gone["value"])
    with pytest.raises(OverwriteRefused):
        ingest.commit(seeded, up, ANALYST)


def test_a_sync_landing_after_the_check_is_caught_at_the_commit(seeded):
    up = prep(seeded, csv_bytes([HEAD, ["Sở Nội vụ", "dossier.resolved_late", "2025-Q1", "3", ""]]))
    assert up.overwrites.empty  # nothing synced for that unit yet
    seed(seeded, [("so-noi-vu", "dossier.resolved_late", "2025-Q1", 9)], "records-sync", "records:v3")
    before = state(seeded)
    with pytest.raises(OverwriteRefused) as refused:
        ingest.commit(seeded, up, ANALYST)
    assert refused.value.found["origin"].tolist() == ["records"]
    assert state(seeded)[0] == before[0]


def test_the_command_line_needs_replace_synced_and_lists_the_values(seeded, tmp_path, capsys):
    f = tmp_path / "bao-cao.csv"
    f.write_bytes(FILE)
    before = state(seeded)
    assert cli.main(["ingest", str(f), "--store", seeded.uri, "--user", "lan"]) == 2
    err = capsys.readouterr().err
    assert "3 giá trị không do tệp này nhập (2 đồng bộ từ hồ sơ chi tiết, 1 từ nguồn khác); chưa ghi gì" in err
    assert "so-y-te · sipas.overall · 2019: 80 → 81 (Báo cáo Sở Y tế)" in err
    assert "so-tu-phap · dossier.resolved_late · 2025-Q1: 5 → 6 (hồ sơ chi tiết" in err
    assert state(seeded) == before
    assert cli.main(["ingest", str(f), "--store", seeded.uri, "--dry-run", "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["refused"] == "overwrites" and len(report["overwrites"]) == 3
    assert state(seeded) == before
    assert cli.main(["ingest", str(f), "--store", seeded.uri, "--user", "lan", "--replace-synced", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["committed"] and report["rows_changed"] == 4 and "refused" not in report
