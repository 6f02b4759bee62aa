"""One run of the notifier (`python -m reformkpi notify`): resolve what a stopped run left, plan
what is due, send it.

1. `outbox.recover`: the messages a stopped run left claimed (see outbox.py).
2. Alerts: for each dataset, the data state now (`changes.stamp`) against the last one handled
   (kept in the outbox). A new state plans, for each active subscription, a message with the
   changes relevant to it (none: no message); a rollback among the new versions makes it a
   correction, sent also to a subscription told about a version the rollback undid. Then the
   new state is recorded as handled. The first run records the state and sends nothing.
3. Digests: each subscription with a cadence gets one per period (`digest.period`).
4. Delivery of everything due, paced to `mail_per_minute`.

A run holds a lock in the state folder: a second one started meanwhile (a timer firing while a
run is slow) stops at once, so claims never race. Cron or a systemd timer runs it; nothing else
needs to: each commit that changes figures is found by comparing states.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

from reformkpi import auth, config, sessions, snapshots, subscriptions, visibility
from reformkpi.catalog import Catalog
from reformkpi.i18n import t, tn
from reformkpi.metrics.datasets import Dataset
from reformkpi.notify import changes, digest, email, outbox, webhook
from reformkpi.config import Settings
from reformkpi.store import Store
from reformkpi.subscriptions import Subscription

LOCK = "notify.lock"
UNSUBSCRIBE_PATH = "/api/unsubscribe"
UNSUBSCRIBE_SALT = "reformkpi.unsubscribe"


class Busy(RuntimeError):
    """Another notifier run holds the lock."""


@dataclass
class Report:
    recovered: dict[str, str] = field(default_factory=dict)
    planned: int = 0
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # e-mails left planned: no mail server configured
    pdf_errors: list[str] = field(default_factory=list)  # digests sent without their PDF, and why


@contextmanager
def only_one(state: Path) -> Iterator[None]:
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(state / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"another notifier run holds {state / LOCK}") from None
        yield
    finally:
        os.close(fd)  # releases the lock


def unsubscribe_token(subscription_id: str) -> str:
    return URLSafeSerializer(sessions.secret(), salt=UNSUBSCRIBE_SALT).dumps(subscription_id)


def unsubscribed(token: str) -> str | None:
    """The subscription a one-click unsubscribe link names, None for a link not signed by this server."""
    try:
        value = URLSafeSerializer(sessions.secret(), salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def unsubscribe(store: Store, token: str) -> bool:
    """One-click unsubscribe (RFC 8058): pause the subscription a signed link names, acting as its
    subscriber (the link, signed by this server, vouches for them: via "link"). False for a link
    not signed here or a subscription no longer there; pausing again is harmless."""
    subscription_id = unsubscribed(token)
    everyone = subscriptions.list_for(store, auth.operator(digest.NOTIFIER)) if subscription_id else []
    sub = next((x for x in everyone if x.subscription_id == subscription_id), None)
    if sub is None:
        return False
    subscriptions.set_paused(store, auth.Actor(sub.user, "viewer", "link"), sub.subscription_id, True)
    return True


def compose(s: Settings, sub: Subscription, kind: str, ref: str, data: int, title: str, lines: list[str], cat,
            extra: list[str], links: dict[str, str], items: list[dict], attach: str = "") -> tuple:
    """A planned message (subscription_id, kind, ref, Message-ID, payload): the same content as text,
    HTML and webhook JSON, in the subscriber's language."""
    lang = sub.lang
    # A one-click link needs the app's address (`public_url`): without it, none is offered.
    unsubscribe = (f"{s.public_url.rstrip('/')}{UNSUBSCRIBE_PATH}?token={unsubscribe_token(sub.subscription_id)}"
                   if s.public_url else "")
    footer = [*extra, t("notify.why", lang, target=subscriptions.describe(sub.target, cat, lang))]
    if unsubscribe:
        footer.append(t("notify.unsubscribe", lang, url=unsubscribe))
        links = {**links, "unsubscribe": unsubscribe}
    content = {"kind": kind, "title": title, "lines": lines, "footer": footer, "links": links, "lang": lang,
               "dataset": sub.target.dataset, "ref": ref, "data": data, "items": items}
    payload = {"channel": sub.channel, "address": sub.address, "lang": lang, "subject": title,
               "text": email.text_body(title, lines, footer), "html": email.html_body(title, lines, footer, links, lang),
               "unsubscribe": unsubscribe, "content": content, "attach": attach}
    mid = outbox.message_id(outbox.key(sub.subscription_id, kind, ref), email.domain(s.mail_from))
    return sub.subscription_id, kind, ref, mid, payload


def _rollback(store: Store, a: dict, b: dict) -> dict | None:
    """The last rollback among the versions after `a` up to `b`: restored version and reason."""
    h = store.history()
    if "operation" not in h:
        return None
    h = h[(h["version"] > a["data"]) & (h["version"] <= b["data"]) & (h["operation"] == "rollback")]
    if h.empty:
        return None
    r = h.iloc[0]  # newest first
    return {"restored": int(r["restored_version"]), "reason": str(r.get("reason", "") or "")}


def plan_alerts(home: Store, s: Settings, subs: list[Subscription], now: dt.datetime) -> int:
    planned = 0
    messages = outbox.messages(home)
    for dataset in config.DATASETS:
        store = subscriptions.store_for(home, dataset)
        if not store.exists():
            continue
        b = changes.stamp(store, now)
        a = outbox.handled(home, dataset)
        if a is not None and a["ref"] != b["ref"]:
            mine = [x for x in subs if x.target.dataset == dataset]
            items = changes.between(store, a, b) if mine else []
            undone = _rollback(store, a, b)
            cat = Catalog.from_tables(store.read_catalog(tuple(b["catalog"])))
            rows = []
            for sub in mine:
                told = changes.relevant(items, sub.target.kind, sub.target.unit_id, sub.target.indicator_id,
                                        visibility.units_for(sub.user), cat)
                # A correction also goes to whoever was told about a version the rollback undid.
                was_told = undone is not None and any(
                    m.subscription_id == sub.subscription_id and m.kind in (outbox.ALERT, outbox.CORRECTION)
                    and m.payload["content"].get("data", -1) > undone["restored"] for m in messages.values())
                if not told and not was_told:
                    continue
                lang = sub.lang
                kind = outbox.CORRECTION if undone is not None else outbox.ALERT
                title = (t("notify.subject_correction", lang, version=b["data"]) if undone is not None
                         else tn("notify.subject_alert", len(told), lang, version=b["data"]))
                lines = [changes.render(i, cat, lang) for i in told] or [t("notify.nothing_now", lang)]
                extra = [t("notify.correction", lang, restored=undone["restored"], reason=undone["reason"])] if undone else []
                extra.append(t("notify.version_line", lang, version=b["data"]))
                link = {"app": s.public_url} if s.public_url else {}
                if s.public_url:
                    extra.append(t("notify.open", lang, url=s.public_url))
                rows.append(compose(s, sub, kind, b["ref"], b["data"], title, lines, cat, extra, link,
                                    [i.as_dict() for i in told]))
            planned += outbox.plan(home, rows, now)
        if a is None or a["ref"] != b["ref"]:
            outbox.set_handled(home, dataset, b, now)
    return planned


def plan_digests(home: Store, s: Settings, subs: list[Subscription], now: dt.datetime) -> int:
    have = outbox.messages(home)
    rows = []
    opened: dict[str, Dataset] = {}
    for sub in subs:
        if sub.digest == "none":
            continue
        period = digest.period(sub.digest, now)
        if outbox.key(sub.subscription_id, outbox.DIGEST, period) in have:
            continue
        store = subscriptions.store_for(home, sub.target.dataset)
        if not store.exists():
            continue
        ds = opened.setdefault(sub.target.dataset, Dataset.open(store))
        lang = sub.lang
        scope = visibility.units_for(sub.user)
        year, lines = digest.lines(ds, sub.target.kind, sub.target.unit_id, sub.target.indicator_id, scope, lang)
        if not year:
            continue
        snap = digest.pinned(store, ds, sub.target.dataset, year, lang, period, now)
        extra = [t("notify.version_line", lang, version=ds.version)]
        # The PDF is the Overview of every unit: not for an account that may see some units only.
        attach = sub.attach_pdf and scope is None
        if sub.attach_pdf and not attach:
            extra.append(t("notify.digest_pdf_scoped", lang))
        links = {}
        if s.public_url:
            links["snapshot"] = digest.snapshot_link(s.public_url, snap)
            extra.append(t("notify.digest_link", lang, url=links["snapshot"]))
        title = tn("notify.subject_digest", len(lines), lang, period=digest.period_text(period, lang))
        rows.append(compose(s, sub, outbox.DIGEST, period, int(ds.version or 0), title, lines or [t("notify.digest_nothing", lang)],
                            ds.catalog, extra, links, [], snap.snapshot_id if attach else ""))
    return outbox.plan(home, rows, now)


def deliver(home: Store, s: Settings, active: set[str], clock: Callable[[], dt.datetime], report: Report,
            settings_file: str | None = None) -> None:
    """Send what is due to the subscriptions still active (a message planned for one paused or
    removed since is given up, never sent)."""
    journal = _journal(s)
    pacer = email.Pacer(s.mail_per_minute)
    ready, gone = [], []
    for m in outbox.due(home, clock()):
        if m.subscription_id not in active:
            gone.append(m)
        elif m.payload["channel"] == "email" and not s.smtp_host:
            report.waiting += 1  # left planned until a mail server is configured
        else:
            ready.append(m)
    outbox.cancel(home, gone, clock())
    done: list[tuple[outbox.Message, str]] = []
    try:
        for m in outbox.claim(home, ready, clock()):
            p = m.payload
            try:
                if p["channel"] == "email":
                    pacer.wait()
                    attachment = None
                    if p.get("attach"):
                        try:
                            attachment = _attachment(home, s, p, settings_file)
                        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                            # The digest still goes, without its PDF, and says so.
                            report.pdf_errors.append(f"{p['attach']}: {e}"[:300])
                            p = _without_pdf(p)
                    with outbox.Ending(journal, m) as mark:
                        email.send(s, email.build(p, m.message_id, s.mail_from, attachment), mark)
                else:
                    with outbox.Ending(journal, m) as mark:
                        webhook.post(p["address"], p["content"], m.message_id, s.webhook_secret, mark)
            except email.Uncertain as e:
                done.append((m, f"{outbox.UNCERTAIN}: {e}"))
            except (email.SendError, RuntimeError, OSError) as e:
                outbox.failed(home, m, str(e), clock())
                report.failed += 1
            else:
                done.append((m, ""))
    finally:  # a failure of the store itself still marks what was delivered
        outbox.sent(home, done, clock())
        report.sent += len(done)
    outbox.clear(journal)


def _attachment(home: Store, s: Settings, p: dict, settings_file: str | None) -> tuple[str, bytes]:
    dataset = p["content"]["dataset"]
    store = subscriptions.store_for(home, dataset)
    snap = snapshots.get(store, p["attach"])
    if snap is None:
        raise RuntimeError(f"snapshot {p['attach']} is gone")
    return digest.pdf(snap, store.uri, dataset, s.state / "notify", settings_file)


def _without_pdf(p: dict) -> dict:
    """The payload with a line saying its PDF could not be made."""
    c = p["content"]
    footer = [*c["footer"], t("notify.pdf_failed", c["lang"])]
    return {**p, "text": email.text_body(c["title"], c["lines"], footer),
            "html": email.html_body(c["title"], c["lines"], footer, c["links"], c["lang"])}


def _journal(s: Settings) -> Path:
    """Where the notifier marks the end of each message (outbox.Ending); beside its lock."""
    path = s.state / "notify-journal"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(s: Settings, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        settings_file: str | None = None) -> Report:
    """One run (see the module). Busy when another run holds the lock. `settings_file`: the file
    `s` was loaded from, for the PDF export (else it reads the same REFORMKPI_ variables)."""
    home = subscriptions.home(s)
    report = Report()
    with config.using(s), only_one(s.state):  # what the core reads (the stores, account scopes) is `s`
        if not home.exists():
            return report
        report.recovered = outbox.recover(home, _journal(s), clock())
        # Someone no longer known (an account removed since) is sent nothing; what was planned
        # for them is given up at delivery.
        subs = [x for x in subscriptions.active(home) if visibility.known(x.user)]
        report.planned = plan_alerts(home, s, subs, clock()) + plan_digests(home, s, subs, clock())
        deliver(home, s, {x.subscription_id for x in subs}, clock, report, settings_file)
        outbox.compact(home)
    return report
