"""AppTest of loading a records export on the upload page: progress, the result, a rejected file,
and a bomb refused in the capped child with the server's memory untouched."""

from reformkpi.records import scan
from tests import bombs
from tests.app.conftest import ANALYST
from tests.app.test_upload import texts
from tests.core.records.test_records import ROWS, write
from tests.core.records.test_records_hostile import growth


def load_records(at, name: str, data: bytes):
    at.toggle(key="records:open").set_value(True)
    at.run()
    at.file_uploader(key="records:file").set_value((name, data, "application/octet-stream"))
    at.run()
    at.button(key="records:run").click()
    at.run()


def test_an_export_loads_with_progress_and_syncs_its_counts(page, tmp_store, tmp_path):
    at = page("app_pages/upload.py")
    assert len(at.get("file_uploader")) == 1  # the records input appears only once asked for
    at.toggle(key="records:open").set_value(True)
    at.run()
    export = write(tmp_path / "mot-cua.csv", ROWS)
    at.file_uploader(key="records:file").set_value(("mot-cua.csv", export.read_bytes(), "text/csv"))
    at.run()
    at.button(key="records:run").click()
    at.run()
    assert not at.exception
    assert "Đã nạp: 11 hồ sơ mới, 0 hồ sơ sửa, 0 không đổi" in texts(at)
    bar = at.get("progress")[0].proto
    assert bar.value == 100 and bar.text.startswith("Ghi: 11/11 hồ sơ ·") and "hồ sơ/giây" in bar.text
    assert scan.version(tmp_store) == 1
    history = tmp_store.history()
    assert history.iloc[0]["operation"] == "records-sync" and history.iloc[0]["user"] == ANALYST.name


def test_a_broken_export_lists_its_problems_and_writes_nothing(page, tmp_store, tmp_path):
    at = page("app_pages/upload.py")
    bad = write(tmp_path / "sai.csv", ROWS[:2] + [("X", "P1", "fax", "2025-04-01 08:00:00", "2025-04-10", "")])
    load_records(at, "sai.csv", bad.read_bytes())
    assert not at.exception and "Tệp «sai\\.csv» có 1 lỗi: chưa ghi gì." in texts(at)  # the name escaped for Markdown
    problem = at.dataframe[-1].value.iloc[0].tolist()
    assert problem == [4, "channel", "fax", "Dòng 4, cột «channel»: kênh nộp «fax» không phải một trong online, "
                                            "in_person, post."]
    assert not scan.exists(tmp_store)


def test_a_records_bomb_is_refused_in_the_child_with_a_message(page, tmp_store):
    """1.9M rows naming a 30,000-character procedure (1.4 MB; 57 GB decoded): once expanded, batch
    by batch, in the server process itself."""
    at = page("app_pages/upload.py")
    bomb = bombs.records_parquet(1_900_000, 30_000)
    assert growth(lambda: load_records(at, "bom.parquet", bomb)) < 200 * 2**20
    assert not at.exception
    assert "Tệp «bom\\.parquet» có 1 lỗi: chưa ghi gì." in texts(at)
    assert "giải nén ra" in at.dataframe[-1].value.iloc[0, -1]
    assert not scan.exists(tmp_store)
