"""Sign-in in the app: local accounts, single sign-on identities, anonymous viewing switched off."""

import pytest

from components.access import SIGN_IN_BOX
from reformkpi.auth import Accounts
from tests.conftest import shown

PASSWORD = "mật-khẩu-đủ-dài-1"


@pytest.fixture
def accounts(tmp_path, monkeypatch):
    monkeypatch.setenv("REFORMKPI_ACCOUNTS", str(tmp_path / "accounts.json"))
    access = tmp_path / "access.toml"
    access.write_text('max_failed_logins = 2\n[roles.by_group]\n"cchc-admins" = "admin"\n', encoding="utf-8")
    monkeypatch.setenv("REFORMKPI_ACCESS", str(access))
    a = Accounts(tmp_path / "accounts.json")
    a.add("lan.nguyen", "analyst", PASSWORD)
    return a


def submit(at, name, password):
    if not any(i.key == "access-name" for i in at.text_input):
        at.session_state[SIGN_IN_BOX] = True  # as a click on it leaves it: the form is sent once it is open
        at.run()
    at.text_input(key="access-name").input(name)
    at.text_input(key="access-password").input(password)
    next(b for b in at.button if b.label == "Đăng nhập").click()
    return at.run()


def test_a_local_account_signs_in_and_out(app, accounts):
    at = app()
    assert not at.text_input  # the closed sign-in box sends no form
    at = submit(at, "lan.nguyen", PASSWORD)
    assert not at.exception
    assert any("lan.nguyen" in shown(c.value) and "chuyên viên" in c.value for c in at.caption)
    at.button(key="access-sign-out").click()
    at = at.run()
    assert not any("lan.nguyen" in shown(c.value) for c in at.caption)
    assert not at.text_input  # signed out, the box is closed again


def test_wrong_passwords_get_one_message_then_make_this_client_wait(app, accounts):
    at = submit(app(), "lan.nguyen", "sai-mat-khau")
    assert at.error[0].value == "Tên đăng nhập hoặc mật khẩu không đúng."
    at = submit(at, "khong.co.ai", "sai-mat-khau")
    assert at.error[0].value == "Tên đăng nhập hoặc mật khẩu không đúng."
    at = submit(at, "lan.nguyen", "sai-mat-khau")
    assert at.error[0].value == "Tên đăng nhập hoặc mật khẩu không đúng."
    at = submit(at, "lan.nguyen", PASSWORD)
    assert "thử lại sau" in at.error[0].value
    # Only this client waits: the account itself is not locked.
    assert accounts.sign_in("lan.nguyen", PASSWORD, client="198.51.100.7").role == "analyst"


def test_single_sign_on_identity_maps_to_a_role(app, accounts):
    at = app(user={"is_logged_in": True, "email": "truong.phong@sonoivu.gov.vn", "email_verified": True,
                   "groups": ["cchc-admins"]})
    assert any("truong.phong@sonoivu.gov.vn" in shown(c.value) and "quản trị" in c.value for c in at.caption)


def test_anonymous_viewing_can_be_switched_off(app, tmp_path, monkeypatch):
    access = tmp_path / "closed.toml"
    access.write_text("anonymous_view = false\n", encoding="utf-8")
    monkeypatch.setenv("REFORMKPI_ACCESS", str(access))
    at = app()
    assert not at.exception and not at.title and not at.get("plotly_chart")
    assert at.info[0].value == "Cần đăng nhập để xem bảng điều hành."



def test_accounts_left_in_the_checkout_stop_the_app_with_a_message(app, tmp_path, monkeypatch):
    from reformkpi import auth

    monkeypatch.delenv("REFORMKPI_ACCOUNTS", raising=False)
    monkeypatch.setenv("REFORMKPI_STATE", str(tmp_path / "state"))
    monkeypatch.setattr(auth, "CHECKOUT_DATA", tmp_path)
    Accounts(tmp_path / "accounts.json").add("lan.nguyen", "analyst", PASSWORD)
    at = app()
    assert not at.exception
    assert "Tài khoản của bản cài đặt cũ vẫn nằm trong thư mục mã nguồn" in at.error[0].value
    assert not at.text_input  # no sign-in form, no page
