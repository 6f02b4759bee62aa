"""A viewer signs in, follows an indicator from the Rankings page in the dialog, finds it on the
"Theo dõi" page, pauses it and removes it."""

from __future__ import annotations

import pytest

from reformkpi import config, ingest, subscriptions
from reformkpi.auth import Accounts, operator
from reformkpi.catalog import load_dir
from reformkpi.store import CommitInfo, Store
from tests.browser.conftest import screenshot, serve, sign_in
from tests.browser.test_upload_browser import PASSWORD, START, settle


@pytest.fixture
def viewer_app(tmp_path):
    store = Store(tmp_path / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    ingest.commit(store, ingest.prepare(store, START, "dau-ky.csv"), operator("test"))
    accounts = Accounts(tmp_path / "accounts.json")
    accounts.add("lan@sotnmt.gov.vn", "viewer", PASSWORD)
    proc, url = serve(store.uri, {"REFORMKPI_PAPI_STORE": str(tmp_path / "no-papi"),
                                  "REFORMKPI_ACCOUNTS": str(accounts.path),
                                  "REFORMKPI_ACCESS": str(tmp_path / "access.toml")})
    yield store, url
    proc.terminate()
    proc.wait(10)


def test_subscribe_list_pause_remove(page, viewer_app):
    store, url = viewer_app
    page.goto(f"{url}/xep-hang?ind=sipas.overall")
    settle(page)
    sign_in(page, "lan@sotnmt.gov.vn", PASSWORD)
    page.get_by_role("button", name="Theo dõi trang này").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Chỉ số: Chỉ số hài lòng", exact=False).wait_for()
    assert dialog.get_by_role("textbox").input_value() == "lan@sotnmt.gov.vn"  # the account's e-mail
    dialog.get_by_role("combobox", name="Bản tin định kỳ").click()
    page.get_by_role("option", name="Bản tin hằng tuần").click()
    screenshot(page, "subscribe-dialog")
    dialog.get_by_role("button", name="Theo dõi", exact=True).click()
    dialog.get_by_text("Đã theo dõi: Chỉ số: Chỉ số hài lòng", exact=False).wait_for()
    [sub] = subscriptions.list_for(store, operator("quan.tri"))
    assert (sub.user, sub.target.indicator_id, sub.digest) == ("lan@sotnmt.gov.vn", "sipas.overall", "weekly")
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")

    page.get_by_role("link", name="Theo dõi").click()
    card = page.locator(f'[class*="st-key-subscription-{sub.subscription_id}"]')
    card.get_by_text("Bản tin hằng tuần", exact=False).wait_for()
    card.get_by_role("button", name="Tạm dừng").click()
    card.get_by_text("Đang tạm dừng", exact=False).wait_for()
    assert subscriptions.active(store) == []
    screenshot(page, "subscriptions-page")
    card.get_by_role("button", name="Bỏ theo dõi").click()
    page.get_by_text("Chưa có theo dõi nào.").wait_for()
    assert subscriptions.list_for(store, operator("quan.tri")) == []
