"""Roles, local accounts, lock-out and identity-provider mapping."""

import datetime as dt
import io
import json

import pytest

from reformkpi import auth
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


def test_wrong_passwords_lock_the_account_out(accounts):
    for _ in range(2):
        with pytest.raises(AuthError) as e:
            accounts.sign_in("lan.nguyen", "sai-mat-khau", T0)
        assert e.value.code == "wrong_password"
    with pytest.raises(AuthError) as e:
        accounts.sign_in("lan.nguyen", "sai-mat-khau", T0)
    assert e.value.code == "locked" and e.value.until == T0 + dt.timedelta(minutes=15)
    with pytest.raises(AuthError) as e:  # even the right password, while locked
        accounts.sign_in("lan.nguyen", PASSWORD, T0 + dt.timedelta(minutes=14))
    assert e.value.code == "locked"
    assert accounts.sign_in("lan.nguyen", PASSWORD, T0 + dt.timedelta(minutes=16)).role == "analyst"


def test_a_success_resets_the_failure_count(accounts):
    for _ in range(2):
        with pytest.raises(AuthError):
            accounts.sign_in("lan.nguyen", "sai", T0)
    accounts.sign_in("lan.nguyen", PASSWORD, T0)
    for _ in range(2):
        with pytest.raises(AuthError) as e:
            accounts.sign_in("lan.nguyen", "sai", T0)
        assert e.value.code == "wrong_password"


def test_unknown_accounts_and_bad_input_are_refused(accounts):
    with pytest.raises(AuthError) as e:
        accounts.sign_in("khong.co", PASSWORD, T0)
    assert e.value.code == "unknown"
    with pytest.raises(ValueError):
        accounts.add("lan.nguyen", "admin", PASSWORD)
    with pytest.raises(ValueError):
        accounts.add("ngan", "admin", "short")
    with pytest.raises(ValueError):
        accounts.add("<script>", "admin", PASSWORD)
    with pytest.raises(ValueError):
        accounts.add("ha.tran", "superuser", PASSWORD)


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
    assert auth.actor_from_identity({"email": "cchc@sonoivu.gov.vn"}, s).role == "analyst"
    assert auth.actor_from_identity({"email": "x@y.vn", "groups": ["cchc-admins"]}, s).role == "admin"
    assert auth.actor_from_identity({"email": "x@y.vn"}, s) == Actor("x@y.vn", "viewer", "oidc")
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
    from reformkpi import cli, config, ingest

    before = tmp_store.catalog_versions()
    with pytest.raises(PermissionDenied):
        ingest.update_catalog(tmp_store, Actor("lan", "analyst"), config.CATALOG_DIR)
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
