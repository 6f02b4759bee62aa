"""Subscriptions: who is told about what (the province, a unit, an indicator or what needs attention),
by which channel, in which language and how often a digest comes.

Kept in the store as their own Delta table, so every subscribe, pause and removal is a commit
and stays in history. Writes go through `auth.require` ("subscribe": any signed-in account, not
the anonymous viewer); pausing and removing are for the subscriber or an administrator. A
commit that loses a race with another writer is tried again on the fresh table, as the store does.
The notifier (reformkpi/notify) reads `active`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable
from deltalake.exceptions import CommitFailedError

from reformkpi import config, focus, integrity, visibility
from reformkpi.auth import Actor, require
from reformkpi.catalog import Catalog, CatalogError
from reformkpi.i18n import LANGUAGES, column, t, tm
from reformkpi.config import Settings
from reformkpi.store import MAX_RETRIES, TABLE_CONFIG, Store, StoreError, backoff, sql_text

TABLE = "subscriptions"
KINDS = ("province", "unit", "indicator", "attention")
CHANNELS = ("email", "webhook")
CADENCES = ("none", "weekly", "quarterly")  # digest cadence; alerts per data version are always on
SCHEMA = pa.schema([
    ("subscription_id", pa.string()), ("user", pa.string()), ("kind", pa.string()), ("unit_id", pa.string()),
    ("indicator_id", pa.string()), ("dataset", pa.string()), ("channel", pa.string()), ("address", pa.string()),
    ("lang", pa.string()), ("digest", pa.string()), ("attach_pdf", pa.bool_()), ("paused", pa.bool_()),
    ("since", pa.timestamp("us", tz="UTC")),
])
# One subscription per person, target, channel and address: subscribing again changes its settings.
KEY = ("user", "kind", "unit_id", "indicator_id", "dataset", "channel", "address")
# One plain mailbox, ASCII as SMTP without SMTPUTF8 sends it (RFC 5321 dot-atom @ domain): a comma,
# semicolon, quote or parenthesis makes mail headers read another address or list, and the notifier
# cannot name a Vietnamese letter to the server. The form only: no lookup of the domain.
EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                   r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
MAX_ADDRESS = 2000


@dataclass(frozen=True)
class Target:
    kind: str
    unit_id: str = ""
    indicator_id: str = ""
    dataset: str = "demo"  # one of config.DATASETS: "papi" for the PAPI store


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    user: str
    target: Target
    channel: str
    address: str  # an e-mail address or an https webhook URL
    lang: str
    digest: str
    attach_pdf: bool
    paused: bool
    since: dt.datetime


class SubscriptionError(ValueError):
    """A subscription refused, nothing written: `code` names the message (subscriptions.error.<code>),
    `fields` fill it; `message(lang)` says it in words (for Markdown: the fields escaped), str() in English."""

    def __init__(self, code: str, **fields: object):
        self.code, self.fields = code, fields
        super().__init__(self.message("en"))

    def message(self, lang: str, markdown: bool = False) -> str:
        return (tm if markdown else t)(f"subscriptions.error.{self.code}", lang, **self.fields)


def _address(channel: str, address: str) -> str:
    address = address.strip()
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in address) or len(address) > MAX_ADDRESS:
        raise SubscriptionError(f"{channel}_address", address=address[:80])
    if channel == "email":
        if not EMAIL.fullmatch(address) or len(address) > 254:
            raise SubscriptionError("email_address", address=address)
        return address
    try:
        url = urlsplit(address)
        host = url.hostname or ""
        # An HTTP request line is ASCII, and the host's name must encode for the lookup (IDNA).
        host.encode("idna")
        (url.path + url.query).encode("ascii")
    except ValueError:  # a malformed port or IPv6 address, a Vietnamese path, a label over 63 characters
        raise SubscriptionError("webhook_address", address=address) from None
    if not (url.scheme == "https" and host) and not (url.scheme == "http" and host in config.LOCAL_HOSTS):
        raise SubscriptionError("webhook_address", address=address)
    return address


def home(s: Settings | None = None) -> Store:
    """The store subscriptions and the notifier's outbox are kept in: the first dataset's."""
    return Store(config.store_uri(config.DATASETS[0], s))


def store_for(home: Store, dataset: str) -> Store:
    """The store a dataset's figures live in. Subscriptions (and the notifier's outbox) are kept in
    the first dataset's store, `home`, whatever dataset they follow."""
    return home if dataset == config.DATASETS[0] else Store(config.store_uri(dataset))


def email_of(actor: Actor) -> str:
    """The account's e-mail address when its name is one (single sign-on names people by their
    verified e-mail), else empty: the address a subscription form offers first."""
    return actor.name if EMAIL.fullmatch(actor.name) else ""


def describe(target: Target, catalog: Catalog | None, lang: str) -> str:
    """What a subscription follows, in words: "Đơn vị: Sở Y tế". An id the catalog no longer has
    (or no catalog) is shown as it is stored."""
    name = target.unit_id or target.indicator_id
    if catalog is not None and name:
        try:
            row = catalog.unit(name) if target.unit_id else catalog.indicator(name)
            name = row[column("name", lang)]
        except CatalogError:
            pass
    return t(f"subscriptions.kind.{target.kind}", lang, name=name)


def _check_target(store: Store, actor: Actor, target: Target) -> Target:
    """The target as it will be followed: a unit merged away since is its holder now (focus.holder)."""
    if target.kind not in KINDS:
        raise SubscriptionError("kind", kind=target.kind)
    if target.dataset not in config.DATASETS:
        raise SubscriptionError("dataset", dataset=target.dataset)
    wants = {"unit": ("unit_id",), "indicator": ("indicator_id",)}.get(target.kind, ())
    for name in ("unit_id", "indicator_id"):
        if bool(getattr(target, name)) != (name in wants):
            raise SubscriptionError("target", kind=target.kind)
    catalog = store_for(store, target.dataset).read_catalog()
    if target.unit_id:
        if target.unit_id not in set(catalog["units"]["unit_id"]):
            raise SubscriptionError("unit", unit=target.unit_id)
        cat = Catalog.from_tables(catalog)
        scope = visibility.units_for(actor)
        if scope is not None and target.unit_id not in scope | {focus.holder(cat, u) for u in scope}:
            raise SubscriptionError("scope", unit=target.unit_id)
        target = replace(target, unit_id=focus.holder(cat, target.unit_id))
    if target.indicator_id and target.indicator_id not in set(catalog["indicators"]["indicator_id"]):
        raise SubscriptionError("indicator", indicator=target.indicator_id)
    return target


def _meta(actor: Actor, operation: str, subscription_id: str = "") -> CommitProperties:
    # No retries inside delta-rs: a lost race is retried by `_retrying`, on the fresh table.
    return CommitProperties(custom_metadata={"reformkpi.user": actor.name, "reformkpi.operation": operation,
                                             "reformkpi.subscription_id": subscription_id}, max_commit_retries=0)


def _retrying(write: Callable[[], None]) -> None:
    for attempt in range(1, MAX_RETRIES + 1):
        try:
            write()
            return
        except CommitFailedError:
            backoff(attempt)
    raise StoreError(f"gave up after {MAX_RETRIES} conflicting commits")


def _from_row(r: dict) -> Subscription:
    return Subscription(r["subscription_id"], r["user"], Target(r["kind"], r["unit_id"], r["indicator_id"], r["dataset"]),
                        r["channel"], r["address"], r["lang"], r["digest"], r["attach_pdf"], r["paused"], r["since"])


def _key(s: Subscription) -> tuple[str, ...]:
    """The subscription's values of KEY."""
    return (s.user, s.target.kind, s.target.unit_id, s.target.indicator_id, s.target.dataset, s.channel, s.address)


def _all(store: Store) -> list[Subscription]:
    """Every subscription, oldest first."""
    if not store.has(TABLE):
        return []
    rows = [_from_row(r) for r in store.read(TABLE).to_pylist()]
    return sorted(rows, key=lambda s: (s.since, s.subscription_id))


@integrity.writes(TABLE)
def subscribe(store: Store, actor: Actor, target: Target, channel: str, address: str, lang: str,
              digest: str = "quarterly", attach_pdf: bool = False, now: dt.datetime | None = None) -> Subscription:
    """Subscribe the actor to `target`; SubscriptionError, saying what is wrong, for a bad address, an
    unknown unit or indicator, or a unit outside the actor's scope. Subscribing again to the same
    target by the same channel and address changes that subscription's language, digest and
    attachment, and resumes it."""
    require(actor, "subscribe")
    if not store.exists():
        raise StoreError(f"no store at {store.uri}")
    if channel not in CHANNELS:
        raise SubscriptionError("channel", channel=channel)
    address = _address(channel, address)
    if lang not in LANGUAGES:
        raise SubscriptionError("lang", language=lang)
    if digest not in CADENCES:
        raise SubscriptionError("digest", digest=digest)
    target = _check_target(store, actor, target)
    sid = uuid.uuid4().hex[:12]
    row = {"subscription_id": sid, "user": actor.name, "kind": target.kind,
           "unit_id": target.unit_id, "indicator_id": target.indicator_id, "dataset": target.dataset,
           "channel": channel, "address": address, "lang": lang, "digest": digest, "attach_pdf": bool(attach_pdf),
           "paused": False, "since": now or dt.datetime.now(dt.UTC)}
    source = pa.Table.from_pylist([row], schema=SCHEMA)
    path = store.path(TABLE)

    def write() -> None:
        if not store.has(TABLE):
            DeltaTable.create(path, SCHEMA, mode="ignore", configuration=TABLE_CONFIG, storage_options=store.options,
                              commit_properties=_meta(actor, "subscriptions-create"))
        (store.delta(TABLE).merge(source, " AND ".join(f"t.`{k}` = s.`{k}`" for k in KEY), source_alias="s",
                                   target_alias="t", commit_properties=_meta(actor, "subscribe", sid))
         .when_matched_update({c: f"s.{c}" for c in ("lang", "digest", "attach_pdf", "paused")})
         .when_not_matched_insert_all().execute())

    _retrying(write)
    key = tuple(row[k] for k in KEY)
    return next(s for s in _all(store) if _key(s) == key)


def list_for(store: Store, actor: Actor | None) -> list[Subscription]:
    """The actor's own subscriptions, an administrator's: everyone's (oldest first); none for the
    anonymous viewer."""
    if actor is None or not actor.can("subscribe"):
        return []
    return [s for s in _all(store) if actor.can("admin") or s.user == actor.name]


def active(store: Store) -> list[Subscription]:
    """The subscriptions not paused: what the notifier sends to."""
    return [s for s in _all(store) if not s.paused]


def _owned(store: Store, actor: Actor, subscription_id: str) -> Subscription:
    require(actor, "subscribe")
    sub = next((s for s in _all(store) if s.subscription_id == subscription_id), None)
    if sub is None:
        raise SubscriptionError("unknown", subscription=subscription_id)
    if sub.user != actor.name and not actor.can("admin"):
        raise SubscriptionError("not_yours", subscription=subscription_id)
    return sub


@integrity.writes(TABLE)
def set_paused(store: Store, actor: Actor, subscription_id: str, paused: bool) -> None:
    """Pause or resume a subscription: its subscriber or an administrator."""
    def write() -> None:
        _owned(store, actor, subscription_id)
        store.delta(TABLE).update(
            predicate=f"subscription_id = {sql_text(subscription_id)}", updates={"paused": str(bool(paused)).lower()},
            commit_properties=_meta(actor, "subscription-resume" if not paused else "subscription-pause",
                                    subscription_id))

    _retrying(write)


def pause_user(store: Store, actor: Actor, user: str) -> int:
    """Pause every active subscription of `user` (an account being removed): how many."""
    mine = [s for s in list_for(store, actor) if s.user == user and not s.paused]
    for sub in mine:
        set_paused(store, actor, sub.subscription_id, True)
    return len(mine)


@integrity.writes(TABLE)
def remove(store: Store, actor: Actor, subscription_id: str) -> None:
    """Remove a subscription (it stays in the table's history): its subscriber or an administrator."""
    def write() -> None:
        _owned(store, actor, subscription_id)
        store.delta(TABLE).delete(f"subscription_id = {sql_text(subscription_id)}",
                                  commit_properties=_meta(actor, "unsubscribe", subscription_id))

    _retrying(write)
