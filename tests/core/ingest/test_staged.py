"""A checked file kept for its analyst across a reload: private, per account, gone after a day."""

from __future__ import annotations

import datetime as dt
import stat

from reformkpi.ingest import staged

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
FILE = staged.Staged("so-lieu-quy-3.csv", b"unit_id,indicator_id,period,value\nso-y-te,sipas.overall,2019,77.4\n",
                     '{"columns": {}}', True, "Mẫu Sở Tư pháp", "2019")


def test_a_staged_file_comes_back_whole_for_its_analyst_only(tmp_path):
    where = staged.folder(tmp_path)
    staged.save(where, "lan", FILE, NOW)
    back = staged.load(where, "lan", NOW + dt.timedelta(hours=23))
    assert back is not None and back.staged_at == NOW
    assert (back.file_name, back.content, back.profile_json, back.replace, back.profile_name, back.period) == (
        FILE.file_name, FILE.content, FILE.profile_json, True, "Mẫu Sở Tư pháp", "2019")
    assert staged.load(where, "chi", NOW) is None  # another analyst has none
    files = sorted(where.iterdir())
    assert len(files) == 2 and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert not any("lan" in f.name for f in files)  # named by a hash of the account


def test_a_new_file_replaces_the_kept_one_and_discard_forgets_it(tmp_path):
    where = staged.folder(tmp_path)
    staged.save(where, "lan", FILE, NOW)
    staged.save(where, "lan", staged.Staged("b.csv", b"x", "{}", False), NOW)
    assert staged.load(where, "lan", NOW).file_name == "b.csv"
    staged.discard(where, "lan")
    assert staged.load(where, "lan", NOW) is None and list(where.iterdir()) == []


def test_files_older_than_a_day_are_cleaned_for_every_account(tmp_path):
    where = staged.folder(tmp_path)
    staged.save(where, "lan", FILE, NOW)
    staged.save(where, "chi", FILE, NOW + dt.timedelta(hours=12))
    later = NOW + dt.timedelta(days=1, minutes=1)
    assert staged.load(where, "chi", later) is not None  # reading any sweeps them all
    assert staged.load(where, "lan", later) is None and len(list(where.iterdir())) == 2


def test_a_damaged_staged_file_is_dropped_not_used(tmp_path):
    where = staged.folder(tmp_path)
    staged.save(where, "lan", FILE, NOW)
    content = next(where.glob("*.bin"))
    content.write_bytes(b"changed behind its back")
    assert staged.load(where, "lan", NOW) is None and list(where.iterdir()) == []
    staged.save(where, "lan", FILE, NOW)
    next(where.glob("*.json")).write_text("{not json", encoding="utf-8")
    assert staged.load(where, "lan", NOW) is None and list(where.iterdir()) == []
