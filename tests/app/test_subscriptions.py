"""The "Theo dõi trang này" dialog and the "Theo dõi" page: signed in, anonymous, another person's
subscription, an administrator; the delivery state from the notifier's outbox."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from reformkpi import subscriptions
from reformkpi.auth import Accounts, Actor
from reformkpi.store import Store
from reformkpi.subscriptions import Target
from tests.app.test_access import PASSWORD, submit
from tests.conftest import ROOT, shown

LAN, MAI, ADMIN = Actor("lan@sotnmt.gov.vn", "viewer"), Actor("mai", "analyst"), Actor("quan.tri", "admin")
UNIT = Target("unit", unit_id="so-y-te")


@pytest.fixture(scope="module")
def shared(demo_store, tmp_path_factory) -> Store:
    """The demo store's copy for this module: subscribing is a write."""
    return Store(shutil.copytree(demo_store.uri, tmp_path_factory.mktemp("subs") / "store"))


@pytest.fixture
def store(shared, monkeypatch, tmp_path) -> Store:
    """The copy, with no subscriptions left from an earlier test."""
    shutil.rmtree(shared.path(subscriptions.TABLE), ignore_errors=True)
    monkeypatch.setenv("REFORMKPI_STORE", shared.uri)
    monkeypatch.setenv("REFORMKPI_ACCOUNTS", str(tmp_path / "accounts.json"))
    monkeypatch.setenv("REFORMKPI_ACCESS", str(tmp_path / "access.toml"))
    return shared


def open_page(script: str, actor: Actor | None, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    if actor is not None:
        at.session_state["access:actor"] = actor  # as the sign-in form leaves it
    at.query_params.update(query)
    at.run()
    at.switch_page(f"app_pages/{script}.py")
    return at.run()


def texts(at: AppTest) -> str:
    return "\n".join(shown(e.value) for kind in ("markdown", "caption", "error", "warning", "info", "success")
                     for e in getattr(at, kind))


def test_a_viewer_follows_an_indicator_from_the_rankings_page(store):
    at = open_page("rankings", LAN, ind="sipas.overall")
    at.button(key="subscribe-rankings").click()
    at = at.run()
    assert [r.label for r in at.radio] == ["Theo dõi", "Gửi qua"]
    assert at.radio[0].options == ["Chỉ số: Chỉ số hài lòng về sự phục vụ hành chính (SIPAS)"]
    assert at.text_input[0].value == LAN.name  # the account's e-mail offered first
    at.selectbox[-2].select("en")
    at.selectbox[-1].select("weekly")
    at.checkbox[0].check()
    at.button[-1].click()  # the form's submit button
    at = at.run()
    assert not at.exception
    assert shown(at.success[0].value).startswith("Đã theo dõi: Chỉ số: Chỉ số hài lòng")
    [sub] = subscriptions.list_for(store, LAN)
    assert (sub.target, sub.channel, sub.address, sub.lang, sub.digest, sub.attach_pdf) == (
        Target("indicator", indicator_id="sipas.overall"), "email", LAN.name, "en", "weekly", True)


def test_a_bad_address_is_refused_in_words(store):
    at = open_page("overview", LAN)
    at.button(key="subscribe-overview").click()
    at = at.run()
    assert at.radio[0].options == ["Việc cần chú ý", "Toàn tỉnh"]
    at.radio[1].set_value("webhook")
    at.text_input[0].input("http://chat.tinh.gov.vn/hook")
    at.button[-1].click()
    at = at.run()
    assert not at.exception
    assert shown(at.error[0].value) == ("“http://chat.tinh.gov.vn/hook” không phải địa chỉ webhook dùng được: "
                                        "cần https://…, hoặc http:// chỉ với localhost.")
    assert subscriptions.list_for(store, LAN) == []


def test_anonymous_sees_no_subscribing_and_no_page(store):
    at = open_page("rankings", None)
    button = at.button(key="subscribe-rankings")
    assert button.disabled and button.help == "Đăng nhập để theo dõi trang này."
    at = open_page("subscriptions", None)
    assert at.error[0].value == "Bạn không có quyền mở trang này. Hãy đăng nhập bằng tài khoản được phân quyền."


def test_the_page_lists_pauses_and_removes_ones_own(store):
    mine = subscriptions.subscribe(store, LAN, UNIT, "email", LAN.name, "vi")
    subscriptions.subscribe(store, MAI, Target("attention"), "webhook", "https://chat.tinh.gov.vn/h", "en")
    at = open_page("subscriptions", LAN)
    assert "Đơn vị: Sở Y tế" in texts(at)
    assert "https://chat.tinh.gov.vn/h" not in texts(at)  # Mai's is not shown to Lan
    assert "Chưa gửi thư nào." in texts(at)
    at.button(key=f"pause-{mine.subscription_id}").click()
    at = at.run()
    assert subscriptions.active(store)[0].user == "mai"
    assert "Đang tạm dừng" in texts(at)
    assert at.button(key=f"pause-{mine.subscription_id}").label == "Tiếp tục"
    at.button(key=f"remove-{mine.subscription_id}").click()
    at = at.run()
    assert not at.exception
    assert subscriptions.list_for(store, LAN) == [] and "Chưa có theo dõi nào." in texts(at)


def test_a_removal_in_another_tab_is_seen_at_the_next_click(store):
    mine = subscriptions.subscribe(store, LAN, UNIT, "email", LAN.name, "vi")
    at = open_page("subscriptions", LAN)
    subscriptions.remove(store, ADMIN, mine.subscription_id)  # by an administrator, in another tab
    at.button(key=f"pause-{mine.subscription_id}").click()
    at = at.run()
    assert not at.exception
    assert "Chưa có theo dõi nào." in texts(at) and subscriptions.list_for(store, ADMIN) == []


def test_a_tab_whose_account_was_removed_changes_nothing(store):
    """A real local sign-in; the account is removed while the tab stays open: the next click is
    refused with a word about it, and the subscription stays."""
    Accounts().add("lan.nguyen", "viewer", PASSWORD)
    mine = subscriptions.subscribe(store, Actor("lan.nguyen", "viewer"), UNIT, "email", LAN.name, "vi")
    at = submit(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run(), "lan.nguyen", PASSWORD)
    at.switch_page("app_pages/subscriptions.py")
    at = at.run()
    Accounts().remove("lan.nguyen")
    at.button(key=f"remove-{mine.subscription_id}").click()
    at = at.run()
    assert not at.exception
    assert "Phiên đăng nhập của bạn đã kết thúc" in texts(at) and "Bạn không có quyền mở trang này" in texts(at)
    assert subscriptions.active(store) == [mine]


def test_the_open_dialog_writes_nothing_after_a_sign_out_in_another_tab(store):
    """The dialog may rerun on its own, with the actor of the page's last run: a sign-out in
    another tab while it is open lets no subscription through."""
    from reformkpi import sessions

    Accounts().add("lan.nguyen", "analyst", PASSWORD)
    at = submit(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run(), "lan.nguyen", PASSWORD)
    at.switch_page("app_pages/rankings.py")
    at = at.run()
    at.button(key="subscribe-rankings").click()
    at = at.run()
    at.text_input[0].input("lan@sotnmt.gov.vn")
    sessions.close(at.session_state["access:actor"].session)
    at.button[-1].click()  # the form's submit button
    at = at.run()
    assert not at.exception
    assert subscriptions.list_for(store, ADMIN) == []
    assert "Phiên đăng nhập của bạn đã kết thúc" in texts(at)


def test_an_administrator_demoted_while_the_page_is_open_removes_nothing_of_others(store):
    lan = subscriptions.subscribe(store, LAN, UNIT, "email", LAN.name, "vi")
    Accounts().add("quan.tri", "admin", PASSWORD)
    at = submit(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run(), "quan.tri", PASSWORD)
    at.switch_page("app_pages/subscriptions.py")
    at = at.run()
    assert "Người theo dõi: lan@sotnmt.gov.vn" in texts(at)
    Accounts().set_role("quan.tri", "viewer")
    at.button(key=f"remove-{lan.subscription_id}").click()
    at = at.run()
    assert not at.exception
    assert subscriptions.list_for(store, ADMIN) == [lan]
    assert "Người theo dõi: lan@sotnmt.gov.vn" not in texts(at)  # a viewer sees only their own


def test_an_administrator_sees_and_removes_anyones(store):
    lan = subscriptions.subscribe(store, LAN, UNIT, "email", LAN.name, "vi")
    subscriptions.subscribe(store, MAI, Target("attention"), "webhook", "https://chat.tinh.gov.vn/h", "en",
                            digest="none")
    at = open_page("subscriptions", ADMIN)
    page = texts(at)
    assert "Người theo dõi: lan@sotnmt.gov.vn" in page and "Người theo dõi: mai" in page
    assert "Webhook: https://chat.tinh.gov.vn/h · English · Không nhận bản tin" in page
    at.button(key=f"remove-{lan.subscription_id}").click()
    at = at.run()
    assert [s.user for s in subscriptions.list_for(store, ADMIN)] == ["mai"]


def test_delivery_state_from_the_outbox(store):
    """A message refused three times, read from the notifier's real outbox in the store."""
    from reformkpi.notify import outbox

    lan = subscriptions.subscribe(store, LAN, UNIT, "email", LAN.name, "vi")
    at_ = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    mid = outbox.message_id(outbox.key(lan.subscription_id, outbox.ALERT, "v12"), "example.test")
    outbox.plan(store, [(lan.subscription_id, outbox.ALERT, "v12", mid, {"content": {"data": 12}})], at_)
    for attempt in range(3):
        now = at_ + dt.timedelta(minutes=10 * attempt)
        (m,) = outbox.claim(store, outbox.due(store, now + dt.timedelta(hours=1)), now)
        outbox.failed(store, m, "550 mailbox full", now + dt.timedelta(seconds=1))
    at = open_page("subscriptions", ADMIN)
    # The third failure at 01:20:01 UTC; the next try 4 minutes later, shown in Hanoi time (UTC+7).
    # Named by the data version it tells of, as its mail is (the outbox's key was shown: "d12-c3.1.1.1-n").
    assert ("Cảnh báo (phiên bản dữ liệu 12): gửi không được lần 3 (550 mailbox full); thử lại lúc "
            "01/12/2026 08:24") in texts(at)
    # the subscriber is told it failed, not the server's words (an administrator sees those)
    at = open_page("subscriptions", LAN)
    assert ("Cảnh báo (phiên bản dữ liệu 12): gửi không được lần 3 (lỗi khi gửi; quản trị viên xem được chi tiết); thử lại lúc "
            "01/12/2026 08:24") in texts(at) and "550" not in texts(at)


def test_the_page_in_english_a_paused_subscription_with_a_failed_digest(store):
    """In English, every state's words are English and the digest is named by its period as its mail is."""
    from reformkpi.notify import outbox

    lan = subscriptions.subscribe(store, LAN, UNIT, "email", LAN.name, "en", digest="weekly")
    at_ = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    mid = outbox.message_id(outbox.key(lan.subscription_id, outbox.DIGEST, "2026-W49"), "example.test")
    outbox.plan(store, [(lan.subscription_id, outbox.DIGEST, "2026-W49", mid, {"content": {"data": 2}})], at_)
    (m,) = outbox.claim(store, outbox.due(store, at_), at_)
    outbox.failed(store, m, "550 mailbox full", at_)
    subscriptions.set_paused(store, LAN, lan.subscription_id, True)
    page = texts(open_page("subscriptions", ADMIN, lang="en"))
    assert "Unit: Department of Health" in page and "Subscriber: lan@sotnmt.gov.vn" in page
    assert "Demo province · E-mail: lan@sotnmt.gov.vn · English · Weekly digest · since" in page
    assert "Paused: nothing is sent until it is resumed." in page
    assert "Digest (week 49 2026): attempt 1 failed (550 mailbox full); tried again at 01/12/2026 08:01" in page


def test_the_unit_page_offers_its_unit(store):
    at = open_page("unit", LAN, unit="so-y-te")
    at.button(key="subscribe-unit").click()
    at = at.run()
    assert at.radio[0].options == ["Đơn vị: Sở Y tế"]
