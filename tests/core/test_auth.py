"""Roles, local accounts, sign-in throttling and identity-provider mapping."""

import datetime as dt
import fcntl
import io
import json
import os
import stat
from pathlib import Path

import pytest
from argon2 import extract_parameters

from reformkpi import auth, config
from reformkpi.auth import Accounts, Actor, AuthError, PermissionDenied, Settings

PASSWORD = "mật-khẩu-đủ-dài-1"
T0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def accounts(tmp_path):
    a = Accounts(tmp_path / "accounts.json", Settings(max_failed_logins=3, lockout_minutes=15))
    a.add("lan.nguyen", "analyst", PASSWORD)
    return a


def test_roles_grant_what_the_issue_says():
    viewer, analyst, admin = (Actor("v", "viewer"), Actor("a", "analyst"), Actor("d", "admin"))
    assert viewer.can("view") and not viewer.can("upload") and not viewer.can("rollback")
    assert analyst.can("upload") and analyst.can("snapshot") and not analyst.can("rollback")
    assert admin.can("rollback") and admin.can("admin")
    with pytest.raises(PermissionDenied):
        auth.require(analyst, "rollback")
    with pytest.raises(PermissionDenied):
        auth.require(None, "view")
    assert auth.require(admin, "rollback") is admin


def test_passwords_are_stored_as_argon2_hashes(accounts):
    stored = json.loads(accounts.path.read_text(encoding="utf-8"))["lan.nguyen"]
    assert stored["hash"].startswith("$argon2id$") and PASSWORD not in accounts.path.read_text(encoding="utf-8")
    assert accounts.sign_in("lan.nguyen", PASSWORD, T0) == Actor("lan.nguyen", "analyst", "local")


def refusal(accounts, name, password, now=T0, client="203.0.113.9") -> str:
    with pytest.raises(AuthError) as e:
        accounts.sign_in(name, password, now, client)
    return e.value.code


def test_a_stranger_cannot_lock_a_named_account_out(accounts):
    """Wrong passwords make the guessing client wait; the owner, from another client, signs in."""
    assert [refusal(accounts, "lan.nguyen", "sai-mat-khau") for _ in range(3)] == ["refused"] * 3
    with pytest.raises(AuthError) as e:  # the stranger waits, even with the right password
        accounts.sign_in("lan.nguyen", PASSWORD, T0 + dt.timedelta(minutes=14), "203.0.113.9")
    assert e.value.code == "throttled" and e.value.until == T0 + dt.timedelta(minutes=15)
    assert accounts.sign_in("lan.nguyen", PASSWORD, T0 + dt.timedelta(minutes=1), "198.51.100.7").role == "analyst"
    assert accounts.sign_in("lan.nguyen", PASSWORD, T0 + dt.timedelta(minutes=16), "203.0.113.9").role == "analyst"


def test_a_client_guessing_many_names_waits_for_all_of_them(accounts):
    for i in range(11):  # under 3 per name, 12 in all (4 × max_failed_logins)
        assert refusal(accounts, f"ten.{i // 2}", "sai") == "refused"
    assert refusal(accounts, "ten.9", "sai") == "refused"
    assert refusal(accounts, "lan.nguyen", PASSWORD, T0 + dt.timedelta(minutes=1)) == "throttled"
    assert accounts.sign_in("lan.nguyen", PASSWORD, T0, "198.51.100.7").role == "analyst"


def test_a_success_resets_the_failures_and_unlock_forgets_them(accounts):
    for _ in range(2):
        refusal(accounts, "lan.nguyen", "sai")
    accounts.sign_in("lan.nguyen", PASSWORD, T0, "203.0.113.9")
    assert [refusal(accounts, "lan.nguyen", "sai") for _ in range(3)] == ["refused"] * 3
    assert refusal(accounts, "lan.nguyen", PASSWORD) == "throttled"
    accounts.unlock("lan.nguyen")
    assert accounts.sign_in("lan.nguyen", PASSWORD, T0, "203.0.113.9").role == "analyst"


def test_unknown_names_get_the_same_answer_after_the_same_work(accounts, monkeypatch):
    """Same code and message, and one argon2 computation with the stored hashes' parameters either
    way, so neither the words nor the clock say which names exist; throttling treats unknown
    names exactly like real ones. (Timed in the same run would be a flaky test on a busy machine.)"""
    work = []

    class Spy:
        def hash(self, password):
            work.append(("argon2", auth._hasher.time_cost, auth._hasher.memory_cost))
            return real.hash(password)

        def verify(self, stored, password):
            p = extract_parameters(stored)
            work.append(("argon2", p.time_cost, p.memory_cost))
            return real.verify(stored, password)

        def __getattr__(self, name):
            return getattr(real, name)

    real = auth._hasher
    monkeypatch.setattr(auth, "_hasher", Spy())
    assert refusal(accounts, "khong.co", PASSWORD) == refusal(accounts, "lan.nguyen", "sai") == "refused"
    assert len(work) == 2 and work[0] == work[1], work
    assert [refusal(accounts, "khong.co", "sai", client="192.0.2.1") for _ in range(3)] == ["refused"] * 3
    assert refusal(accounts, "khong.co", "sai", client="192.0.2.1") == "throttled"


def test_bad_input_is_refused(accounts):
    with pytest.raises(ValueError):
        accounts.add("lan.nguyen", "admin", PASSWORD)
    with pytest.raises(ValueError):
        accounts.add("ngan", "admin", "short")
    with pytest.raises(ValueError):
        accounts.add("<script>", "admin", PASSWORD)
    with pytest.raises(ValueError):
        accounts.add("ha.tran", "superuser", PASSWORD)


@pytest.mark.parametrize(("name", "why"), [
    ("eve.analyst\n", "control character U+000A at position 12"),  # the issue's trailing newline
    ("eve\r\nadmin", "control character U+000D at position 4"),
    ("eve\tanalyst", "control character U+0009 at position 4"),
    ("eve\x00", "control character U+0000 at position 4"),
    ("eve\u200banalyst", "control character U+200B at position 4"),  # zero-width space: invisible
    ("eve\u2028x", "control character U+2028 at position 4"),
    (" eve", "2–64 characters"),
    ("Eve", "2–64 characters"),
    ("e\u0301ve", "2–64 characters"),  # NFC makes it é: still outside the allowed letters
    ("x" * 65, "2–64 characters"),
])
def test_account_names_refuse_control_characters_in_words(accounts, name, why):
    with pytest.raises(ValueError) as e:
        accounts.add(name, "analyst", PASSWORD)
    assert why in str(e.value)
    assert set(accounts.names()) == {"lan.nguyen"}


def test_the_command_line_refuses_a_name_with_a_trailing_newline(tmp_path, monkeypatch, capsys):
    from reformkpi import cli

    monkeypatch.setenv("REFORMKPI_ACCOUNTS", str(tmp_path / "acc.json"))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["user", "add", "eve.analyst\n", "--role", "analyst", "--password-stdin"]) == 2
    assert "control character U+000A at position 12" in capsys.readouterr().err
    assert Accounts(tmp_path / "acc.json").names() == {}


def test_files_are_private_from_the_first_byte(tmp_path, monkeypatch):
    """Every file is created 0600 (even under a permissive umask), the folder 0700; a sign-in never
    leaves a readable temporary file behind."""
    old = os.umask(0)
    created = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *a, **kw):
        fd = real_open(path, flags, mode, *a, **kw)
        if flags & os.O_CREAT:
            created.append((str(path), stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd

    try:
        monkeypatch.setattr(os, "open", spy)
        a = Accounts(tmp_path / "state" / "accounts.json", Settings())
        a.add("lan.nguyen", "analyst", PASSWORD)
        with pytest.raises(AuthError):
            a.sign_in("lan.nguyen", "sai", T0)
        a.sign_in("lan.nguyen", PASSWORD, T0)
    finally:
        os.umask(old)
    assert created and all(mode == 0o600 for _, mode in created), created
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    files = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert files == ["accounts.json", "accounts.lock", "accounts.throttle.json", "accounts.throttle.lock"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "state").iterdir()} == {0o600}
    assert "lan.nguyen" not in (tmp_path / "state" / "accounts.throttle.json").read_text()


def test_a_held_lock_makes_sign_in_busy_not_hung(accounts, monkeypatch):
    monkeypatch.setattr(auth, "LOCK_WAIT_SECONDS", 0.3)
    with open(accounts.throttle_path.with_suffix(".lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert refusal(accounts, "lan.nguyen", PASSWORD) == "busy"
    assert accounts.sign_in("lan.nguyen", PASSWORD, T0).role == "analyst"


def test_accounts_live_outside_the_checkout_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("REFORMKPI_ACCOUNTS", raising=False)
    monkeypatch.delenv("REFORMKPI_STATE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert auth.accounts_path() == tmp_path / "reformkpi" / "accounts.json"
    assert not auth.accounts_path().is_relative_to(config.IMPORT_ROOT)
    monkeypatch.setenv("REFORMKPI_STATE", "/srv/reformkpi/state")
    assert auth.accounts_path() == Path("/srv/reformkpi/state/accounts.json")


def test_accounts_left_in_the_checkout_by_an_older_installation_are_refused_until_moved(monkeypatch, tmp_path, capsys):
    """An older installation kept data/accounts.json: nothing is read (neither an empty accounts
    file started beside it, nor the old one silently) until the operator moves it or names it."""
    from reformkpi import cli

    monkeypatch.delenv("REFORMKPI_ACCOUNTS", raising=False)
    monkeypatch.setenv("REFORMKPI_STATE", str(tmp_path / "state"))
    checkout = tmp_path / "checkout-data"
    checkout.mkdir()
    monkeypatch.setattr(auth, "CHECKOUT_DATA", checkout)
    assert auth.accounts_path() == tmp_path / "state" / "accounts.json"  # nothing old: the new place
    Accounts(checkout / "accounts.json").add("lan.nguyen", "analyst", PASSWORD)
    with pytest.raises(auth.AccountsMoved) as e:
        auth.accounts_path()
    assert str(checkout / "accounts.json") in str(e.value) and str(tmp_path / "state" / "accounts.json") in str(e.value)
    with pytest.raises(auth.AccountsMoved):
        Accounts()
    assert cli.main(["user", "list"]) == 2
    assert "Accounts must be moved, nothing read" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()
    monkeypatch.setenv("REFORMKPI_ACCOUNTS", str(checkout / "accounts.json"))  # or named where it is
    assert Accounts().sign_in("lan.nguyen", PASSWORD).role == "analyst"
    monkeypatch.delenv("REFORMKPI_ACCOUNTS")
    (tmp_path / "state").mkdir()
    (checkout / "accounts.json").rename(tmp_path / "state" / "accounts.json")  # moved
    assert Accounts().sign_in("lan.nguyen", PASSWORD).role == "analyst"


def test_the_throttling_client_is_the_address_the_proxy_saw():
    assert auth.client_key("127.0.0.1", "10.0.0.1, 203.0.113.9") == "203.0.113.9"  # the first is the client's claim
    assert auth.client_key(None, "203.0.113.9") == "203.0.113.9"  # Streamlit's None: a peer on this machine
    assert auth.client_key("198.51.100.7", "203.0.113.9") == "198.51.100.7"  # not a trusted proxy
    assert auth.client_key(None, None) == "local"


def test_admin_operations(accounts):
    accounts.set_role("lan.nguyen", "admin")
    accounts.set_password("lan.nguyen", "mật-khẩu-mới-rất-dài")
    assert accounts.sign_in("lan.nguyen", "mật-khẩu-mới-rất-dài", T0).role == "admin"
    accounts.remove("lan.nguyen")
    assert accounts.names() == {}


def test_identity_provider_roles_come_from_configuration(tmp_path):
    cfg = tmp_path / "access.toml"
    cfg.write_text('anonymous_view = false\nmax_failed_logins = 4\n[roles]\ndefault = "viewer"\n'
                   '[roles.by_email]\n"Cchc@SoNoiVu.gov.vn" = "analyst"\n[roles.by_group]\n"cchc-admins" = "admin"\n',
                   encoding="utf-8")
    s = auth.settings(cfg)
    assert not s.anonymous_view and s.max_failed_logins == 4
    assert auth.actor_from_identity({"email": "cchc@sonoivu.gov.vn", "email_verified": True}, s).role == "analyst"
    assert auth.actor_from_identity({"email": "x@y.vn", "groups": ["cchc-admins"]}, s).role == "admin"
    assert auth.actor_from_identity({"email": "x@y.vn", "email_verified": True}, s) == Actor("x@y.vn", "viewer", "oidc")
    # An address the provider did not verify gives neither the role nor the name.
    assert auth.actor_from_identity({"email": "cchc@sonoivu.gov.vn", "sub": "u-17"}, s) == Actor("u-17", "viewer", "oidc")
    assert auth.actor_from_identity({"email": "cchc@sonoivu.gov.vn", "email_verified": False, "sub": "u-17"},
                                    s).role == "viewer"
    cfg.write_text('[roles.by_email]\n"a@b.vn" = "root"\n', encoding="utf-8")
    with pytest.raises(ValueError):
        auth.settings(cfg)


def test_command_line_manages_accounts_without_passwords_in_arguments(tmp_path, monkeypatch, capsys):
    from reformkpi import cli

    monkeypatch.setenv("REFORMKPI_ACCOUNTS", str(tmp_path / "acc.json"))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["user", "add", "lan.nguyen", "--role", "analyst", "--password-stdin"]) == 0
    assert cli.main(["user", "set-role", "lan.nguyen", "--role", "admin"]) == 0
    capsys.readouterr()
    assert cli.main(["user", "list"]) == 0
    assert capsys.readouterr().out == "lan.nguyen\tadmin\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["user", "add", "ha.tran", "--role", "viewer", "--password-stdin"]) == 2
    assert Accounts(tmp_path / "acc.json").sign_in("lan.nguyen", PASSWORD).role == "admin"


def test_only_administrators_publish_the_catalog(tmp_store, tmp_path, capsys):
    from reformkpi import cli, config, versions

    before = tmp_store.catalog_versions()
    with pytest.raises(PermissionDenied):
        versions.update_catalog(tmp_store, Actor("lan", "analyst"), config.CATALOG_DIR)
    assert tmp_store.catalog_versions() == before
    broken = tmp_path / "catalog"
    broken.mkdir()
    for f in config.CATALOG_DIR.glob("*.csv"):
        (broken / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    targets = broken / "targets.csv"
    targets.write_text(targets.read_text(encoding="utf-8") + "khong.co,,2016,2020,1,x\n", encoding="utf-8")
    assert cli.main(["--store", tmp_store.uri, "catalog", str(broken)]) == 2
    assert "khong.co" in capsys.readouterr().err and tmp_store.catalog_versions() == before
    assert cli.main(["--store", tmp_store.uri, "--user", "quan.tri", "catalog"]) == 0
    assert tmp_store.catalog_versions() == tuple(v + 1 for v in before)
