"""AppTest of loading a records export on the upload page: progress, the result, and a rejected file."""

from reformkpi.records import table
from tests.app.test_upload import ANALYST, page, texts  # noqa: F401 (page is a fixture)
from tests.core.test_records import ROWS, write


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
    assert table.version(tmp_store) == 1
    history = tmp_store.history()
    assert history.iloc[0]["operation"] == "records-sync" and history.iloc[0]["user"] == ANALYST.name


def test_a_broken_export_lists_its_problems_and_writes_nothing(page, tmp_store, tmp_path):
    at = page("app_pages/upload.py")
    at.toggle(key="records:open").set_value(True)
    at.run()
    bad = write(tmp_path / "sai.csv", ROWS[:2] + [("X", "P1", "fax", "2025-04-01 08:00:00", "2025-04-10", "")])
    at.file_uploader(key="records:file").set_value(("sai.csv", bad.read_bytes(), "text/csv"))
    at.run()
    at.button(key="records:run").click()
    at.run()
    assert not at.exception and "Tệp có 1 lỗi: chưa ghi gì." in texts(at)
    assert at.dataframe[-1].value.iloc[0, 0] == "row 4: channel: not one of online, in_person, post"
    assert not table.exists(tmp_store)
