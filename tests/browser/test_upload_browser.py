"""An analyst signs in, uploads a wrong file, sees the errors, uploads the fixed file, commits and
sees the new numbers on the Overview; signed out, a viewer finds no upload page and a refusal at
its URL; an administrator rolls back from History and the old numbers are back."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from reformkpi import config, ingest
from reformkpi.auth import Accounts, operator
from reformkpi.catalog import load_dir
from reformkpi.store import CommitInfo, Store
from tests.browser.conftest import painted, screenshot, serve, sign_in, sign_out
from tests.core.ingest.test_ingest import csv_bytes

PASSWORD = "mật-khẩu-đủ-dài-1"
HEAD = ["Đơn vị", "Chỉ số", "Kỳ", "Giá trị"]
START = csv_bytes([HEAD, ["Sở Tư pháp", "sipas.overall", "2025", "70"], ["Sở Y tế", "sipas.overall", "2025", "80"]], delimiter=";")
WRONG = csv_bytes([HEAD, ["Sở Tư pháp", "sipas.overall", "2025", "190"], ["Sở Y khoa", "sipas.overall", "2025", "80"]], delimiter=";")
FIXED = csv_bytes([HEAD, ["Sở Tư pháp", "sipas.overall", "2025", "90"], ["Sở Y tế", "sipas.overall", "2025", "80"]], delimiter=";")


@pytest.fixture
def analyst_app(tmp_path):
    store = Store(tmp_path / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    ingest.commit(store, ingest.prepare(store, START, "dau-ky.csv"), operator("test"))
    accounts = Accounts(tmp_path / "accounts.json")
    accounts.add("lan.pham", "analyst", PASSWORD)
    accounts.add("quan.tri", "admin", PASSWORD)
    proc, url = serve(store.uri, {"REFORMKPI_PAPI_STORE": str(tmp_path / "no-papi"),
                                  "REFORMKPI_ACCOUNTS": str(accounts.path)})
    yield store, url
    proc.terminate()
    proc.wait(10)


def session_cookie(page, present: bool = True) -> dict | None:
    """The sign-in cookie once the page has handed it to the browser (or once it is gone)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = next((c for c in page.context.cookies() if c["name"] == "reformkpi_session"), None)
        if (found is not None) == present:
            return found
        page.wait_for_timeout(100)
    raise AssertionError("the sign-in cookie was " + ("never set" if present else "not cleared"))


def settle(page) -> None:
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    painted(page)


def overview_satisfaction(page) -> str:
    settle(page)
    tile = page.locator('[data-testid="stMetric"]').filter(has_text="hài lòng").first
    tile.wait_for()
    return tile.inner_text()


def test_upload_fix_commit_overview_rollback(page, analyst_app, tmp_path):
    store, url = analyst_app
    page.goto(f"{url}/")
    assert "75,0%" in overview_satisfaction(page)
    assert page.get_by_role("link", name="Cập nhật dữ liệu").count() == 0  # not for the anonymous viewer

    sign_in(page, "lan.pham", PASSWORD)
    page.get_by_role("link", name="Cập nhật dữ liệu").click()
    upload = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    # The address changes only once the server has run the new page (until then F5 reloads the
    # Overview: a loaded machine did, once), and settle() may pass before that run has begun.
    page.wait_for_url(re.compile(re.escape(url) + r"/cap-nhat(\?.*)?$"))
    upload.wait_for(state="attached")
    settle(page)
    cookie = session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and "lan.pham" not in cookie["value"]
    page.reload()  # F5 on the upload page: still signed in, still allowed
    settle(page)
    page.get_by_text("Đang đăng nhập: lan.pham", exact=False).wait_for()
    upload.wait_for(state="attached")
    assert urlsplit(page.url).path == "/cap-nhat"
    upload.set_input_files(files=[{"name": "bao-cao-sai.csv", "mimeType": "text/csv", "buffer": WRONG}])
    page.get_by_text("có 2 lỗi: chưa ghi gì", exact=False).wait_for()
    settle(page)
    page.locator('[data-testid="stDataFrame"]').last.wait_for()
    screenshot(page, "upload-errors")
    assert store.version() == 1

    upload.set_input_files(files=[{"name": "bao-cao-da-sua.csv", "mimeType": "text/csv", "buffer": FIXED}])
    page.get_by_text("hợp lệ: 2 giá trị", exact=False).wait_for()
    settle(page)
    screenshot(page, "upload-diff")
    page.get_by_role("button", name="Ghi vào kho dữ liệu").click()
    page.get_by_text("Đã ghi phiên bản 2", exact=False).wait_for()
    settle(page)
    screenshot(page, "upload-committed")
    assert store.version() == 2

    page.get_by_role("link", name="Tổng quan").click()
    assert "85,0%" in overview_satisfaction(page)
    screenshot(page, "upload-overview-after")

    sign_out(page)
    assert page.get_by_role("link", name="Cập nhật dữ liệu").count() == 0
    session_cookie(page, present=False)
    page.reload()
    settle(page)
    assert page.get_by_text("Đang đăng nhập", exact=False).count() == 0
    assert page.get_by_role("link", name="Cập nhật dữ liệu").count() == 0
    page.goto(f"{url}/cap-nhat")
    page.get_by_text("Bạn không có quyền mở trang này", exact=False).wait_for()
    assert page.locator('[data-testid="stFileUploaderDropzoneInput"]').count() == 0
    screenshot(page, "upload-refused-for-viewer")

    sign_in(page, "quan.tri", PASSWORD)
    page.get_by_role("link", name="Lịch sử").click()
    settle(page)
    page.get_by_role("textbox", name="Lý do khôi phục").fill("số liệu chưa được duyệt")
    page.get_by_role("textbox", name="Lý do khôi phục").press("Enter")
    settle(page)
    page.get_by_role("button", name="Khôi phục…").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    screenshot(page, "history-confirm")
    dialog.get_by_role("button", name="Khôi phục", exact=True).click()
    page.get_by_text("Đã khôi phục phiên bản 1 thành phiên bản mới 3", exact=False).wait_for()
    settle(page)
    screenshot(page, "history-rolled-back")
    assert store.version() == 3 and store.history().iloc[0]["reason"] == "số liệu chưa được duyệt"

    assert store.history().iloc[0]["user"] == "quan.tri"
    page.get_by_role("link", name="Tổng quan").click()
    assert "75,0%" in overview_satisfaction(page)
