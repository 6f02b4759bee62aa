"""Subscriptions in the store: who may subscribe, what is refused, pause/remove rights, history,
concurrent writers, and the unit scope of an account (reformkpi/visibility.py)."""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from deltalake import DeltaTable

from reformkpi import integrity, subscriptions, visibility
from reformkpi.auth import ANONYMOUS, Accounts, Actor, PermissionDenied
from reformkpi.subscriptions import SubscriptionError, Target

LAN, MAI, ADMIN = Actor("lan", "viewer"), Actor("mai", "analyst"), Actor("root", "admin")
UNIT = Target("unit", unit_id="so-xay-dung")
NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _accounts(tmp_path, monkeypatch):
    monkeypatch.setenv("REFORMKPI_ACCOUNTS", str(tmp_path / "accounts.json"))
    monkeypatch.setenv("REFORMKPI_ACCESS", str(tmp_path / "access.toml"))
    return tmp_path


def _sub(store, actor=LAN, target=UNIT, channel="email", address="lan@sotnmt.gov.vn", now=NOW, **kw):
    return subscriptions.subscribe(store, actor, target, channel, address, "vi", now=now, **kw)


def test_subscribe_stores_and_lists(tmp_store):
    s = _sub(tmp_store, digest="weekly", attach_pdf=True)
    assert (s.user, s.target, s.channel, s.address, s.lang, s.digest, s.attach_pdf, s.paused, s.since) == (
        "lan", UNIT, "email", "lan@sotnmt.gov.vn", "vi", "weekly", True, False, NOW)
    assert subscriptions.list_for(tmp_store, LAN) == [s]
    assert subscriptions.active(tmp_store) == [s]
    # the commit names who did what, and the store's record of commits follows the table
    meta = DeltaTable(tmp_store.path(subscriptions.TABLE)).history(1)[0]
    assert (meta["reformkpi.user"], meta["reformkpi.operation"], meta["reformkpi.subscription_id"]) == (
        "lan", "subscribe", s.subscription_id)
    assert integrity.verify(tmp_store.uri) == []


def test_subscribing_again_changes_the_settings_and_resumes(tmp_store):
    first = _sub(tmp_store)
    subscriptions.set_paused(tmp_store, LAN, first.subscription_id, True)
    again = subscriptions.subscribe(tmp_store, LAN, UNIT, "email", " lan@sotnmt.gov.vn ", "en", digest="none",
                                    now=NOW + dt.timedelta(days=3))
    assert (again.subscription_id, again.since, again.lang, again.digest, again.paused) == (
        first.subscription_id, NOW, "en", "none", False)
    other = _sub(tmp_store, channel="webhook", address="https://chat.tinh.gov.vn/hook")
    assert {s.subscription_id for s in subscriptions.list_for(tmp_store, LAN)} == {
        first.subscription_id, other.subscription_id}


@pytest.mark.parametrize("target, code", [
    (Target("unit", unit_id="so-khong-co"), "unit"),
    (Target("indicator", indicator_id="sipas.khong-co"), "indicator"),
    (Target("unit"), "target"),
    (Target("province", unit_id="so-tai-nguyen-moi-truong"), "target"),
    (Target("attention", indicator_id="sipas.overall"), "target"),
    (Target("everything"), "kind"),
    (Target("province", dataset="sipas"), "dataset"),
])
def test_unknown_targets_are_refused(tmp_store, target, code):
    with pytest.raises(SubscriptionError) as e:
        _sub(tmp_store, target=target)
    assert e.value.code == code
    assert not DeltaTable.is_deltatable(tmp_store.path(subscriptions.TABLE))  # nothing written


@pytest.mark.parametrize("channel, address, ok", [
    ("email", "lan@sotnmt.gov.vn", True),
    ("email", "Lan.Nguyen+cchc@so-tnmt.hanoi.gov.vn", True),
    ("email", "lan@localhost", False),
    ("email", "lan sotnmt.gov.vn", False),
    ("email", "lan@@sotnmt.gov.vn", False),
    ("email", "lan@sotnmt.gov.vn\nBcc: x@y.vn", False),
    ("email", "", False),
    # Mail headers read these as another mailbox or a list: "a,b@…" went to "a", "a(b)@x.vn" to "a@x.vn".
    ("email", "lan,mai@sotnmt.gov.vn", False),
    ("email", "lan;mai@sotnmt.gov.vn", False),
    ("email", "lan(mai)@sotnmt.gov.vn", False),
    ("email", '"lan"@sotnmt.gov.vn', False),
    ("email", "<lan@sotnmt.gov.vn>", False),
    ("email", "nguyễn@sotnmt.gov.vn", False),  # SMTP without SMTPUTF8 cannot name it: the run failed on it
    ("email", "lan@sở-tnmt.gov.vn", False),
    ("email", "o'neil=x@sotnmt.gov.vn", True),
    ("webhook", "https://chat.tinh.gov.vn/hook?k=1", True),
    ("webhook", "http://localhost:8080/hook", True),
    ("webhook", "http://127.0.0.1/hook", True),
    ("webhook", "http://chat.tinh.gov.vn/hook", False),
    ("webhook", "ftp://chat.tinh.gov.vn/hook", False),
    ("webhook", "https:///hook", False),
    ("webhook", "https://[::1/hook", False),
    ("webhook", "javascript:alert(1)", False),
    ("webhook", "https://chat.tinh.gov.vn/thông-báo", False),  # an HTTP request line is ASCII
    ("webhook", "https://" + "a" * 64 + ".gov.vn/hook", False),  # a label IDNA cannot encode
    ("webhook", "https://chat.tinh.gov.vn/th%C3%B4ng-b%C3%A1o", True),
    ("sms", "0912345678", False),
])
def test_addresses(tmp_store, channel, address, ok):
    if ok:
        assert _sub(tmp_store, channel=channel, address=address).address == address
    else:
        with pytest.raises(SubscriptionError) as e:
            _sub(tmp_store, channel=channel, address=address)
        assert e.value.code in ("channel", f"{channel}_address")


def test_messages_in_both_languages():
    e = SubscriptionError("email_address", address="lan@")
    assert e.message("vi") == "“lan@” không phải địa chỉ e-mail (dạng ten@coquan.gov.vn)."
    assert str(e) == "“lan@” is not an e-mail address (like name@agency.gov.vn)."


def test_bad_language_and_cadence(tmp_store):
    for kw, code in (({"lang": "fr"}, "lang"), ({"lang": "vi", "digest": "daily"}, "digest")):
        with pytest.raises(SubscriptionError) as e:
            subscriptions.subscribe(tmp_store, LAN, UNIT, "email", "lan@sotnmt.gov.vn", **kw)
        assert e.value.code == code


def test_anonymous_may_not_subscribe(tmp_store):
    with pytest.raises(PermissionDenied):
        _sub(tmp_store, actor=ANONYMOUS)
    with pytest.raises(PermissionDenied):
        _sub(tmp_store, actor=None)
    assert subscriptions.list_for(tmp_store, ANONYMOUS) == []
    assert ANONYMOUS.can("view") and not ANONYMOUS.can("subscribe")
    assert all(Actor("x", role).can("subscribe") for role in ("viewer", "analyst", "admin"))


def test_owner_or_admin_pause_and_remove(tmp_store):
    lan = _sub(tmp_store)
    mai = _sub(tmp_store, actor=MAI, target=Target("attention"), address="mai@sonoivu.gov.vn",
               now=NOW + dt.timedelta(hours=1))
    assert subscriptions.list_for(tmp_store, LAN) == [lan]
    assert subscriptions.list_for(tmp_store, ADMIN) == [lan, mai]
    for change in (lambda: subscriptions.set_paused(tmp_store, MAI, lan.subscription_id, True),
                   lambda: subscriptions.remove(tmp_store, MAI, lan.subscription_id)):
        with pytest.raises(SubscriptionError) as e:
            change()
        assert e.value.code == "not_yours"
    subscriptions.set_paused(tmp_store, LAN, lan.subscription_id, True)
    assert subscriptions.active(tmp_store) == [mai]
    subscriptions.set_paused(tmp_store, ADMIN, lan.subscription_id, False)
    assert [s.subscription_id for s in subscriptions.active(tmp_store)] == [lan.subscription_id, mai.subscription_id]
    subscriptions.remove(tmp_store, ADMIN, mai.subscription_id)
    assert subscriptions.list_for(tmp_store, ADMIN) == [lan]
    with pytest.raises(SubscriptionError) as e:
        subscriptions.remove(tmp_store, LAN, mai.subscription_id)
    assert e.value.code == "unknown"
    # every change is a commit: the removed subscription is still in the table's history
    table = DeltaTable(tmp_store.path(subscriptions.TABLE))
    ops = [h["reformkpi.operation"] for h in reversed(table.history()) if "reformkpi.operation" in h]
    assert ops == ["subscriptions-create", "subscribe", "subscribe", "subscription-pause", "subscription-resume",
                   "unsubscribe"]
    table.load_as_version(table.version() - 1)
    assert mai.subscription_id in table.to_pyarrow_table()["subscription_id"].to_pylist()


def test_a_signed_out_session_cannot_change(tmp_store):
    lan = _sub(tmp_store)
    ended = Actor("lan", "viewer", "local", session="gone")
    with pytest.raises(PermissionDenied):
        subscriptions.remove(tmp_store, ended, lan.subscription_id)
    assert subscriptions.list_for(tmp_store, LAN) == [lan]


def test_concurrent_writers_all_land(tmp_store):
    """Eight people subscribe and the first one pauses at once, the table not there yet: every write lands."""
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            _sub(tmp_store, actor=Actor(f"user{i}", "viewer"), address=f"u{i}@tinh.gov.vn")
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert sorted(s.user for s in subscriptions.active(tmp_store)) == [f"user{i}" for i in range(8)]


def test_unit_scope(tmp_store, _accounts):
    accounts = Accounts()
    accounts.add("lan", "viewer", "mat-khau-dai-du", units=["so-y-te", "so-tai-nguyen-moi-truong"])
    accounts.add("mai", "viewer", "mat-khau-dai-du")
    (_accounts / "access.toml").write_text('[units]\n"Lan" = ["so-y-te", "so-noi-vu"]\n'
                                           '"hoa@tinh.gov.vn" = ["so-noi-vu"]\n', encoding="utf-8")
    assert visibility.units_for(LAN) == frozenset({"so-y-te"})  # both scopes: the units in both
    assert visibility.units_for("hoa@tinh.gov.vn") == frozenset({"so-noi-vu"})
    assert visibility.units_for("mai") is None
    assert visibility.units_for(ANONYMOUS) is None
    with pytest.raises(SubscriptionError) as e:
        _sub(tmp_store, target=Target("unit", unit_id="so-tai-nguyen-moi-truong"))  # in lan's account scope, not access.toml's
    assert e.value.code == "scope"
    assert _sub(tmp_store, target=Target("unit", unit_id="so-y-te")).target.unit_id == "so-y-te"
    assert _sub(tmp_store, target=Target("attention")).target.kind == "attention"  # the notifier filters it
    accounts.set_units("lan", None)
    assert visibility.units_for("lan") == frozenset({"so-y-te", "so-noi-vu"})
    with pytest.raises(ValueError):
        accounts.set_units("lan", [" "])


def test_a_unit_merged_away_is_followed_as_the_unit_that_holds_it_now(tmp_store, _accounts):
    """Sở TN&MT merged into Sở Nông nghiệp và Môi trường (the demo catalog): a subscription to it follows
    the new department; an account scoped to the old one may follow the new one."""
    Accounts().add("lan", "viewer", "mat-khau-dai-du", units=["so-tai-nguyen-moi-truong"])
    old = _sub(tmp_store, target=Target("unit", unit_id="so-tai-nguyen-moi-truong"))
    assert old.target.unit_id == "so-nong-nghiep-moi-truong"
    assert _sub(tmp_store, target=Target("unit", unit_id="so-nong-nghiep-moi-truong")) == old  # the same one
    with pytest.raises(SubscriptionError):
        _sub(tmp_store, target=Target("unit", unit_id="so-y-te"))


def test_a_name_no_longer_known_sees_nothing(_accounts):
    Accounts().add("lan", "viewer", "mat-khau-dai-du")
    (_accounts / "access.toml").write_text('[roles.by_email]\n"an@tinh.gov.vn" = "viewer"\n', encoding="utf-8")
    assert visibility.units_for("lan") is None and visibility.units_for("AN@tinh.gov.vn") is None
    assert visibility.units_for("da-nghi") == frozenset()  # not every unit
    assert not visibility.known("da-nghi") and visibility.known("lan")


def test_removing_an_account_pauses_its_subscriptions(tmp_store, _accounts, monkeypatch, capsys):
    from reformkpi import cli

    monkeypatch.setenv("REFORMKPI_STORE", tmp_store.uri)
    Accounts().add("lan", "viewer", "mat-khau-dai-du")
    mine, theirs = _sub(tmp_store), _sub(tmp_store, actor=MAI, address="mai@tinh.gov.vn")
    assert cli.main(["user", "remove", "lan"]) == 0
    assert [s.subscription_id for s in subscriptions.active(tmp_store)] == [theirs.subscription_id]
    assert next(s for s in subscriptions.list_for(tmp_store, ADMIN) if s.subscription_id == mine.subscription_id).paused


def test_bad_units_in_access_toml(_accounts):
    (_accounts / "access.toml").write_text('[units]\nlan = "so-y-te"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[units\]"):
        visibility.units_for("lan")


def test_command_line_sets_the_unit_scope(_accounts, monkeypatch, capsys):
    from reformkpi import cli

    monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-dai-du\n"))
    assert cli.main(["user", "add", "lan", "--role", "viewer", "--units", "so-y-te, so-noi-vu", "--password-stdin"]) == 0
    assert visibility.units_for("lan") == frozenset({"so-y-te", "so-noi-vu"})
    capsys.readouterr()
    assert cli.main(["user", "list"]) == 0
    assert capsys.readouterr().out == "lan\tviewer\tso-noi-vu,so-y-te\n"
    assert cli.main(["user", "set-units", "lan", "--units", "so-y-te"]) == 0
    assert visibility.units_for("lan") == frozenset({"so-y-te"})
    assert cli.main(["user", "set-units", "lan", "--units", ","]) == 2  # refused, the scope stays
    assert visibility.units_for("lan") == frozenset({"so-y-te"})
    assert cli.main(["user", "set-units", "lan", "--units", "all"]) == 0
    assert visibility.units_for("lan") is None
    assert cli.main(["user", "set-units", "khong-co", "--units", "all"]) == 2


PEOPLE = (LAN, MAI, ADMIN)
STEPS = st.lists(st.tuples(st.sampled_from(("subscribe", "pause", "resume", "remove")), st.integers(0, 2),
                           st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=8)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_any_sequence_of_changes_matches_a_naive_model(tmp_path_factory, steps):
    """Subscribes, pauses, resumes and removals by three people in any order: what each sees and
    what the notifier reads match a plain dict, and every refusal is the one the rules give."""
    from reformkpi.catalog import load_dir
    from reformkpi.config import CATALOG_DIR
    from reformkpi.store import CommitInfo, Store

    store = Store(tmp_path_factory.mktemp("model") / "store")
    store.init(load_dir(CATALOG_DIR), CommitInfo(user="test", operation="init"))
    targets = (UNIT, Target("attention"), Target("province"), Target("indicator", indicator_id="sipas.overall"))
    model: dict[str, dict] = {}  # id → {"user", "key", "paused"}
    made: list[str] = []  # every id ever made, removed ones too
    for op, who, target, which in steps:
        actor = PEOPLE[who]
        if op == "subscribe":
            key = (actor.name, targets[target])
            s = _sub(store, actor=actor, target=targets[target], address=f"{actor.name.split('@')[0]}@tinh.gov.vn")
            same = [i for i, m in model.items() if m["key"] == key]
            assert [s.subscription_id] == same or (not same and s.subscription_id not in made)
            model[s.subscription_id] = {"user": actor.name, "key": key, "paused": False}
            made.append(s.subscription_id)
            continue
        if not made:
            continue
        sid = made[which % len(made)]
        expected = ("unknown" if sid not in model else
                    "not_yours" if model[sid]["user"] != actor.name and actor is not ADMIN else None)
        try:
            if op == "remove":
                subscriptions.remove(store, actor, sid)
            else:
                subscriptions.set_paused(store, actor, sid, op == "pause")
        except SubscriptionError as e:
            assert e.code == expected
            continue
        assert expected is None
        if op == "remove":
            del model[sid]
        else:
            model[sid]["paused"] = op == "pause"
    for actor in PEOPLE:
        assert {s.subscription_id for s in subscriptions.list_for(store, actor)} == {
            i for i, m in model.items() if actor is ADMIN or m["user"] == actor.name}
    assert {s.subscription_id for s in subscriptions.active(store)} == {i for i, m in model.items() if not m["paused"]}
