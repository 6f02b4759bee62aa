"""The notifier against a real SMTP server (aiosmtpd with STARTTLS and sign-in, on 127.0.0.1) and a
real HTTP receiver: what changed, to whom, exactly once.

Worked by hand: the demo catalog's satisfaction target for 2016–2020 is 80%. In 2019 five
departments score 90, 88, 86, 84 and, Sở TN&MT, 82: all meet it. An upload puts Sở TN&MT at
77,4%: it misses by 77,4 − 80 = −2,6 points (the province's mean, 85,08%, still meets it), so
its subscribers hear of one miss, "77,4%" and "−2,6 điểm %", and no one else hears anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from reformkpi import auth, config, focus, i18n, integrity, notes, snapshots, subscriptions, versions
from reformkpi.auth import Accounts, Actor
from reformkpi.catalog import Catalog, load_dir
from reformkpi.metrics.datasets import Dataset
from reformkpi.notify import changes, digest, email as mail, outbox, run, webhook
from reformkpi.periods import Period
from reformkpi.store import CommitInfo, Scope, Store
from reformkpi.subscriptions import Target
from tests import notifier_fork
from tests.conftest import OUTPUT, ROOT, obs

SAT = "sipas.overall"
TNMT, TAI_CHINH = "so-tai-nguyen-moi-truong", "so-tai-chinh"
BASELINE = {"so-y-te": 90, "so-giao-duc-dao-tao": 88, TAI_CHINH: 86, "so-xay-dung": 84, TNMT: 82}
USER, PASSWORD, SECRET = "notifier@tinh.gov.vn", "mật-khẩu-thư-1", "khoá-webhook"
LAN, MAI, BINH, CHI, HOA = (Actor(n, "viewer") for n in ("lan", "mai", "binh", "chi", "hoa"))


class Inbox:
    """What the SMTP server accepted, by Message-ID; `kill` is a process to SIGKILL when the next
    message has arrived, before the server answers (a crash between send and outbox update)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: dict[str, bytes] = {}  # Message-ID → the bytes as they arrived
        self.kill: int | None = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        msg = email.message_from_bytes(data, policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)
            self.raw[str(msg["Message-ID"])] = data
            if self.kill is not None:
                os.kill(self.kill, signal.SIGKILL)
                self.kill = None
        return "250 OK"

    def ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.raw.clear()


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    """A real SMTP server: STARTTLS required, sign-in required (only over TLS), its certificate ours."""
    import ssl
    d = tmp_path_factory.mktemp("smtp")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem"), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(d / "cert.pem", d / "key.pem")
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd needs a port number to check it is listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            auth_required=True, auth_require_tls=True, authenticator=_authenticate)
    controller.start()
    yield inbox, port, d / "cert.pem"
    controller.stop()


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []
    paths: list[str] = []  # each request's path and query

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        Receiver.paths.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def _env(tmp: Path, port: int, cafile: Path) -> dict[str, str]:
    return {"REFORMKPI_STORE": str(tmp / "store"), "REFORMKPI_PAPI_STORE": str(tmp / "papi"),
            "REFORMKPI_STATE": str(tmp / "state"), "REFORMKPI_ACCOUNTS": str(tmp / "accounts.json"),
            "REFORMKPI_ACCESS": str(tmp / "access.toml"), "REFORMKPI_SESSIONS": str(tmp / "sessions.json"),
            "REFORMKPI_SESSION_SECRET": "bí-mật-phiên", "REFORMKPI_SMTP_HOST": "127.0.0.1",
            "REFORMKPI_SMTP_PORT": str(port), "REFORMKPI_SMTP_CAFILE": str(cafile), "REFORMKPI_SMTP_USER": USER,
            "REFORMKPI_SMTP_PASSWORD": PASSWORD, "REFORMKPI_MAIL_FROM": "CCHC <cchc@tinh.gov.vn>",
            "REFORMKPI_MAIL_PER_MINUTE": "60000", "REFORMKPI_PUBLIC_URL": "https://cchc.tinh.gov.vn",
            "REFORMKPI_WEBHOOK_SECRET": SECRET}


def _province(tmp: Path, port: int, cafile: Path, receiver: str | None = None):
    """A store with the 2019 baseline, the subscriptions of the worked example, and settings."""
    env = _env(tmp, port, cafile)
    s = config.load(None, {"HOME": str(tmp), **env})
    store = Store(tmp / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    store.commit_observations(obs([(u, SAT, "2019", v) for u, v in BASELINE.items()]), CommitInfo(user="test"))
    with config.using(s):
        # hoa sees two departments, not Sở TN&MT; the others have no scope
        Accounts().add(HOA.name, "viewer", "mật-khẩu-dài-đủ", units=[TAI_CHINH, "so-y-te"])
        for name in ("lan", "mai", "binh", "chi", "dung"):
            Accounts().add(name, "viewer", "mật-khẩu-dài-đủ")
        subs = {
            "lan": subscriptions.subscribe(store, LAN, Target("unit", unit_id=TNMT), "email", "lan@tnmt.gov.vn", "vi",
                                           digest="none"),
            "mai": subscriptions.subscribe(store, MAI, Target("indicator", indicator_id=SAT), "email",
                                           "mai@tinh.gov.vn", "en", digest="none"),
            "binh": subscriptions.subscribe(store, BINH, Target("unit", unit_id=TAI_CHINH), "email",
                                            "binh@stc.gov.vn", "vi", digest="none"),
            "chi": subscriptions.subscribe(store, CHI, Target("indicator", indicator_id="par.total"), "email",
                                           "chi@tinh.gov.vn", "vi", digest="none"),
            "hoa": subscriptions.subscribe(store, HOA, Target("province"), "email", "hoa@tinh.gov.vn", "vi",
                                           digest="none"),
        }
        if receiver:
            subs["hook"] = subscriptions.subscribe(store, LAN, Target("unit", unit_id=TNMT), "webhook", receiver,
                                                   "vi", digest="none")
    return s, store, subs


def _upload(store: Store, value: float) -> int:
    return store.commit_observations(obs([(TNMT, SAT, "2019", value)]), CommitInfo(user="mai")).version


def _text(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None
    return part.get_content()


@pytest.fixture(scope="module")
def told(tmp_path_factory, smtp, receiver):
    """The worked example run once: first run (baseline), the upload, the second run."""
    inbox, port, cafile = smtp
    inbox.clear()
    Receiver.received.clear()
    tmp = tmp_path_factory.mktemp("told")
    s, store, subs = _province(tmp, port, cafile, receiver)
    with config.using(s):
        first = run.run(s)
        version = _upload(store, 77.4)
        second = run.run(s)
        again = run.run(s)  # nothing new: nothing planned, nothing sent
    raw = {str(m["To"]): inbox.raw[str(m["Message-ID"])] for m in inbox.messages}
    return s, store, subs, (first, second, again), list(inbox.messages), list(Receiver.received), version, raw


def test_an_upload_that_makes_sotnmt_miss_tells_its_subscribers_once_and_no_one_else(told):
    s, store, subs, (first, second, again), messages, posts, version, _ = told
    assert (first.planned, first.sent) == (0, 0)  # the first run records where the data stand
    assert (second.planned, second.sent, second.failed) == (3, 3, 0)
    assert (again.planned, again.sent) == (0, 0)
    by_to = {str(m["To"]): m for m in messages}
    assert sorted(by_to) == ["lan@tnmt.gov.vn", "mai@tinh.gov.vn"]  # not binh, chi, nor hoa (scoped away)
    lan = by_to["lan@tnmt.gov.vn"]
    assert str(lan["Subject"]) == f"[CCHC] 1 thay đổi trong dữ liệu phiên bản {version}"
    text = _text(lan, "plain")
    assert ("- Sở Tài nguyên và Môi trường · Mức độ hài lòng 2019: 77,4%, chưa đạt mục tiêu 80,0% (−2,6 điểm %)"
            in text.splitlines())
    assert "77,4%" in _text(lan, "html") and "−2,6 điểm %" in _text(lan, "html")
    mai = _text(by_to["mai@tinh.gov.vn"], "plain")
    assert "Department of Natural Resources and Environment · Satisfaction 2019: 77.4%, misses the target of " \
           "80.0% (−2.6 pts)" in mai
    assert all("Sở Tài chính" not in _text(m, "plain") for m in messages)
    # the webhook: the same content, signed
    assert len(posts) == 1
    headers, body = posts[0]
    assert webhook.verify(SECRET, headers, body)
    assert not webhook.verify("another key", headers, body)
    content = json.loads(body)
    assert content["lines"] == [line[2:] for line in text.splitlines() if line.startswith("- ")]
    assert [(i["kind"], i["unit_id"], i["value"], i["gap"]) for i in content["items"]] == [
        ("miss", TNMT, 77.4, pytest.approx(-2.6))]


def test_the_message_is_proper_mail(told):
    s, store, subs, _, messages, _, _, raw = told
    lan = next(m for m in messages if str(m["To"]) == "lan@tnmt.gov.vn")
    assert lan.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in lan.iter_parts()] == ["text/plain", "text/html"]
    assert str(lan["Content-Language"]) == "vi"
    row = outbox.key(subs["lan"].subscription_id, outbox.ALERT, changes.stamp(store, dt.datetime.now(dt.UTC))["ref"])
    assert str(lan["Message-ID"]) == outbox.message_id(row, "tinh.gov.vn")
    assert str(lan["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    link = str(lan["List-Unsubscribe"]).strip("<>")
    assert link.startswith("https://cchc.tinh.gov.vn/api/unsubscribe?token=")
    with config.using(s):
        assert run.unsubscribed(link.split("token=")[1]) == subs["lan"].subscription_id
        assert run.unsubscribed(link.split("token=")[1][:-2] + "xx") is None  # a forged link names nothing
    assert link in _text(lan, "plain")
    assert f'<a href="{link}">' in _text(lan, "html")
    assert PASSWORD not in repr(s) and SECRET not in repr(s)
    out = OUTPUT / "notify"
    out.mkdir(parents=True, exist_ok=True)
    (out / "alert.txt").write_text(_text(lan, "plain"), encoding="utf-8")
    (out / "alert.html").write_text(_text(lan, "html"), encoding="utf-8")
    (out / "alert.eml").write_bytes(raw["lan@tnmt.gov.vn"])  # as it arrived


def test_html_escapes_what_comes_from_data():
    page = mail.html_body("<b>tiêu đề</b>", ["Sở <script>alert(1)</script> & co"], ["x"], {}, "vi")
    assert "<script>" not in page and "&lt;script&gt;" in page and "&amp; co" in page


def test_the_unsubscribe_page_names_the_subscriptions_page_in_each_language():
    """The English confirmation said "resume on the Theo dõi page": the page is "Subscriptions" in English."""
    for lang in ("vi", "en"):
        assert i18n.t("nav.subscriptions", lang) in i18n.t("notify.unsubscribed", lang)
    assert "Theo dõi" not in i18n.t("notify.unsubscribed", "en")


def test_digest_periods_follow_the_calendar_in_viet_nam():
    """00:00–07:00 on a Monday or a quarter's first day in Viet Nam is the day before in UTC: a run
    then planned the past week's or quarter's digest (a subscription made that night got two)."""
    monday_3am = dt.datetime(2026, 12, 6, 20, 0, tzinfo=dt.UTC)  # Monday 7/12/2026 03:00 in Viet Nam
    assert digest.period("weekly", monday_3am) == "2026-W50"
    assert digest.period("quarterly", dt.datetime(2026, 12, 31, 18, 0, tzinfo=dt.UTC)) == "2027-Q1"
    assert digest.period("quarterly", dt.datetime(2026, 12, 31, 16, 59, tzinfo=dt.UTC)) == "2026-Q4"


def test_the_page_names_a_message_as_its_mail_does():
    """Digests by their period, alerts and corrections by their data version (not the outbox's keys)."""
    assert digest.reference(outbox.DIGEST, "2026-Q4", {}, "en") == "Q4 2026"
    assert digest.reference(outbox.DIGEST, "2026-W49", {}, "vi") == "tuần 49/2026"
    assert digest.reference(outbox.CORRECTION, "d12-c3.1.1.1-n", {"content": {"data": 12}}, "en") == "data version 12"
    assert digest.reference(outbox.ALERT, "v12", {}, "vi") == "v12"  # a row planned without its content


def test_the_page_reads_each_subscriptions_messages(told):
    s, store, subs, *_ = told
    state = outbox.state_for(store, [subs["lan"].subscription_id, subs["binh"].subscription_id])
    assert [(m.kind, m.state, m.attempts) for m in state[subs["lan"].subscription_id]] == [("alert", "sent", 1)]
    assert state[subs["binh"].subscription_id] == []
    assert integrity.verify(store.uri) == []  # the outbox's commits are recorded like every table's


def test_a_rollback_sends_a_correction_to_those_told(told, smtp):
    s, store, subs, *_ = told
    inbox = smtp[0]
    inbox.clear()
    with config.using(s):
        v = versions.rollback(store, store.version() - 1, auth.operator("root"), "số liệu nhập nhầm")
        report = run.run(s)
    assert report.sent == 3  # lan, mai and the webhook; still no one else
    by_to = {str(m["To"]): m for m in inbox.messages}
    assert sorted(by_to) == ["lan@tnmt.gov.vn", "mai@tinh.gov.vn"]
    lan = by_to["lan@tnmt.gov.vn"]
    assert str(lan["Subject"]) == f"[CCHC] Đính chính: dữ liệu phiên bản {v}"
    text = _text(lan, "plain")
    assert "82,0%, đã đạt mục tiêu 80,0% (+2,0 điểm %)" in text  # back where it was
    assert f"khôi phục về phiên bản {v - 2} (lý do: số liệu nhập nhầm)" in text


def test_a_failed_delivery_is_retried_with_backoff(tmp_path, smtp):
    inbox, port, cafile = smtp
    s, store, subs = _province(tmp_path, port, cafile)
    wrong = dataclasses.replace(s, smtp_password="sai-mật-khẩu")
    now = dt.datetime(2026, 12, 7, 8, tzinfo=dt.UTC)
    with config.using(wrong):
        run.run(wrong, lambda: now)
        _upload(store, 77.4)
        first = run.run(wrong, lambda: now)
    assert (first.sent, first.failed) == (0, 2)
    m = outbox.state_for(store, [subs["lan"].subscription_id])[subs["lan"].subscription_id][0]
    assert (m.state, m.attempts, m.next_try) == ("failed", 1, now + dt.timedelta(minutes=1))
    assert "refused the sign-in" in m.last_error and "sai-mật-khẩu" not in m.last_error
    with config.using(s):
        assert run.run(s, lambda: now + dt.timedelta(seconds=30)).sent == 0  # not due yet
        subscriptions.set_paused(store, LAN, subs["lan"].subscription_id, True)  # lan stops following meanwhile
        later = run.run(s, lambda: now + dt.timedelta(minutes=1))
    assert later.sent == 1  # mai's, on its second attempt; lan's is given up, never sent
    state = outbox.state_for(store, [subs["lan"].subscription_id, subs["mai"].subscription_id])
    mai, lan = state[subs["mai"].subscription_id][0], state[subs["lan"].subscription_id][0]
    assert (mai.state, mai.attempts) == ("sent", 2)
    assert (lan.state, lan.done, lan.last_error) == ("failed", True, outbox.CANCELLED)
    assert [str(m["To"]) for m in inbox.messages[-1:]] == ["mai@tinh.gov.vn"]
    assert outbox.backoff(3) == dt.timedelta(minutes=4)


def test_planning_twice_writes_nothing_the_second_time(tmp_store):
    now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    row = ("s1", outbox.ALERT, "d3", "<x@y>", {"channel": "email"})
    assert outbox.plan(tmp_store, [row], now) == 1
    version = tmp_store.version(outbox.TABLE)
    assert outbox.plan(tmp_store, [row, row], now) == 0
    assert tmp_store.version(outbox.TABLE) == version


def test_the_pacer_spaces_messages_to_the_rate_limit():
    t = [0.0]
    slept: list[float] = []
    pacer = mail.Pacer(30, clock=lambda: t[0], sleep=lambda x: (slept.append(x), t.__setitem__(0, t[0] + x)))
    for _ in range(3):
        pacer.wait()
    assert slept == [2.0, 2.0]  # 30 a minute: one every two seconds


def _notifier(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reformkpi", "notify"], cwd=ROOT,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_kill_between_send_and_outbox_update_sends_no_duplicate(tmp_path, smtp):
    inbox, port, cafile = smtp
    s, store, subs = _province(tmp_path, port, cafile)
    env = _env(tmp_path, port, cafile)
    with config.using(s):
        run.run(s)
    _upload(store, 77.4)
    inbox.clear()
    p = _notifier(env)
    inbox.kill = p.pid  # the server kills the notifier once it holds the first message, before answering
    p.wait(timeout=120)
    assert p.returncode == -signal.SIGKILL
    assert len(inbox.ids()) == 1
    claimed = {m.message_id: m.key for m in outbox.messages(store).values() if m.state == outbox.SENDING}
    assert len(claimed) == 2  # both claimed; the one the server holds has its end marked in the journal
    with config.using(s):
        report = run.run(s)
    # the message the server holds is taken as sent; the other one, claimed but never begun, is sent now
    held = claimed.pop(inbox.ids()[0])
    assert report.recovered == {held: outbox.SENT, claimed.popitem()[1]: outbox.FAILED}
    assert report.sent == 1
    assert sorted(inbox.ids()) == sorted({m.message_id for m in outbox.messages(store).values()})  # once each


@pytest.mark.parametrize("marked", [False, True])
def test_a_journal_entry_tells_after_a_kill_whether_the_end_was_marked(tmp_path, marked):
    """The entry is made before the data goes and marked by a memory write just before the final
    '.': a process killed at once after either step leaves what it did on disk."""
    m = outbox.Message("s1|alert|d3", "s1", outbox.ALERT, "d3", outbox.SENDING, 1, None, "", "<x@y>", {}, dt.datetime.now(dt.UTC))
    journal = tmp_path / "journal"
    journal.mkdir()
    code = ("import os, signal, sys; from pathlib import Path; from reformkpi.notify import outbox; "
            "m = outbox.Message('s1|alert|d3', 's1', 'alert', 'd3', 'sending', 1, None, '', '<x@y>', {}, None); "
            f"mark = outbox.Ending(Path(sys.argv[1]), m); {'mark(); ' if marked else ''}"
            "os.kill(os.getpid(), signal.SIGKILL)")
    p = subprocess.run([sys.executable, "-c", code, str(journal)], cwd=ROOT, capture_output=True)
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert len(list(journal.iterdir())) == 1  # the entry is there either way
    assert outbox.ended(journal, m) is marked
    outbox.clear(journal)
    assert not outbox.ended(journal, m) and not list(journal.iterdir())


def _first_write(p, log: Path, commits: int) -> bool:
    """Wait until the run `p` writes to the outbox (a commit after the `commits` in its log: a
    recovery or its claim); False if it ended first."""
    while p.exitcode is None:
        if len(os.listdir(log)) > commits:
            return True
        time.sleep(0.002)
    return False


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fault_50_killed_runs_no_duplicate_no_loss(tmp_path, smtp):
    """50 notifier runs, each killed at a random moment late in its life: from its first write to
    the outbox (a recovery or its claim) to about its end, as long after it as the last run that
    ended took (at first a whole run sending three), so that a loaded machine moves the kills with
    the run; three new messages are planned before each; then one run to finish. Counted at the
    server by Message-ID. Each run is forked with the notifier already imported
    (tests/notifier_fork.py): the import took about three quarters of a fresh process's run."""
    inbox, port, cafile = smtp
    s, store, subs = _province(tmp_path, port, cafile)
    env = _env(tmp_path, port, cafile)
    with config.using(s):
        run.run(s)  # the baseline
    inbox.clear()
    rng = random.Random(29)
    sub, cat = subs["lan"], Catalog.from_tables(store.read_catalog())
    log = Path(store.path(outbox.TABLE)) / "_delta_log"
    started = time.monotonic()
    with config.using(s):
        outbox.plan(store, [run.compose(s, sub, outbox.ALERT, f"whole-{j}", 0, "thư", ["dòng"], cat, [], {}, [])
                            for j in range(3)], dt.datetime.now(dt.UTC))
    p = notifier_fork.start(env)
    assert _first_write(p, log, len(os.listdir(log)))
    began = time.monotonic()
    p.join(timeout=120)
    late = time.monotonic() - began  # from the first write to the end of a whole run (then: of the last run that ended)
    killed = during = 0
    for i in range(50):
        with config.using(s):
            rows = [run.compose(s, sub, outbox.ALERT, f"fault-{i}-{j}", 0, f"thư {i}.{j}", ["dòng"], cat,
                                [], {}, []) for j in range(3)]
        outbox.plan(store, rows, dt.datetime.now(dt.UTC))
        before = len(inbox.ids())
        p = notifier_fork.start(env)
        assert _first_write(p, log, len(os.listdir(log)))  # three are due: every run writes
        began = time.monotonic()
        p.join(timeout=rng.uniform(0, 1.1) * late)
        if p.exitcode is not None:
            late = time.monotonic() - began
        else:
            p.kill()
            p.join()
            assert p.exitcode == -signal.SIGKILL
            killed += 1
            states = {m.state for m in outbox.messages(store).values()}
            during += len(inbox.ids()) > before or outbox.SENDING in states
    with config.using(s):
        run.run(s)  # what the last killed run left
    ids = inbox.ids()
    planned = {m.message_id for m in outbox.messages(store).values()}
    duplicates = len(ids) - len(set(ids))
    losses = len(planned - set(ids))
    print(f"fault test: 50 runs (the last whole one {late:.2f} s from its first write), {killed} killed, "
          f"{during} of them while sending, "
          f"{len(planned)} messages, {duplicates} duplicates, {losses} losses, {time.monotonic() - started:.0f} s")
    assert during >= 10  # the kills did land among deliveries (29-47 of 50 seen under load)
    assert (duplicates, losses) == (0, 0)
    assert len(planned) == 153


def test_the_quarterly_digest_lists_what_needs_attention_with_its_context_and_a_pinned_snapshot(tmp_path, smtp):
    inbox, port, cafile = smtp
    s, store, subs = _province(tmp_path, port, cafile)
    version = _upload(store, 77.4)
    dung = subscriptions.subscribe(store, Actor("dung", "viewer"), Target("attention"), "email", "dung@tinh.gov.vn",
                                   "vi", digest="quarterly")
    hoa = subscriptions.subscribe(store, HOA, Target("attention"), "email", "hoa@tinh.gov.vn", "vi", digest="quarterly")
    # an account removed since it subscribed: neither planned for nor sent anything (not every unit)
    gone = subscriptions.subscribe(store, Actor("da-nghi", "viewer"), Target("attention"), "email",
                                   "da-nghi@tinh.gov.vn", "vi", digest="quarterly")
    inbox.clear()
    now = dt.datetime(2026, 12, 7, 8, tzinfo=dt.UTC)
    with config.using(s):
        first = run.run(s, lambda: now)
        again = run.run(s, lambda: now + dt.timedelta(days=20))  # the same quarter: no second digest
    assert (first.planned, first.sent, again.sent) == (2, 2, 0)
    assert outbox.state_for(store, [gone.subscription_id]) == {gone.subscription_id: []}
    by_to = {str(m["To"]): m for m in inbox.messages}
    text = _text(by_to["dung@tinh.gov.vn"], "plain")
    assert str(by_to["dung@tinh.gov.vn"]["Subject"]) == "[CCHC] Bản tin Quý IV/2026: 1 chỉ số cần chú ý"
    line = next(x for x in text.splitlines() if x.startswith("- "))
    assert line.startswith("- Mức độ hài lòng 2019: 1 đơn vị chưa đạt mục tiêu: "
                           "Sở Tài nguyên và Môi trường: 77,4% (−2,6 điểm %). (Nguồn: test · ")
    assert line.endswith(f"phiên bản dữ liệu {version})")
    snap = snapshots.list_all(store)[0]  # one snapshot for both (same dataset, language and quarter)
    assert len(snapshots.list_all(store)) == 1
    # every level, as the mail lists departments and districts alike (the page would open on departments)
    assert (snap.data_version, snap.page, snap.view_state) == (version, "tong-quan", {"data": "demo", "lang": "vi",
                                                                                     "year": "2019", "level": "all"})
    assert f"https://cchc.tinh.gov.vn/?snapshot={snap.snapshot_id}&data=demo" in text
    # behind the link, the same figure: the snapshot's version still reads 77,4 after a later upload
    _upload(store, 90)
    pinned = Dataset.open(store, snap.data_version, snap.catalog_versions)
    assert focus.attention(pinned, (SAT,), Period(2019), None, "vi").iloc[0]["below"]["value"].tolist() == [77.4]
    # hoa may not see Sở TN&MT: her digest says nothing needs attention, naming no unit
    hoa_text = _text(by_to["hoa@tinh.gov.vn"], "plain")
    assert "Không có chỉ số nào cần chú ý." in hoa_text and "Tài nguyên" not in hoa_text
    assert hoa.subscription_id != dung.subscription_id


def test_a_scoped_account_gets_no_pdf_of_every_unit_and_is_told_why(tmp_path, smtp):
    inbox, port, cafile = smtp
    s, store, subs = _province(tmp_path, port, cafile)
    hoa = subscriptions.subscribe(store, HOA, Target("attention"), "email", "hoa@tinh.gov.vn", "en",
                                  digest="quarterly", attach_pdf=True)
    with config.using(s):
        assert run.plan_digests(store, s, [hoa], dt.datetime(2026, 12, 7, tzinfo=dt.UTC)) == 1
    (m,) = outbox.state_for(store, [hoa.subscription_id])[hoa.subscription_id]
    assert m.payload["attach"] == ""
    assert "The PDF is not attached: it holds every unit's figures" in m.payload["text"]


@pytest.mark.slow
def test_the_digest_attaches_the_snapshots_pdf_when_asked(tmp_path, smtp):
    from pypdf import PdfReader
    inbox, port, cafile = smtp
    s, store, subs = _province(tmp_path, port, cafile)
    _upload(store, 77.4)
    subscriptions.subscribe(store, Actor("dung", "viewer"), Target("unit", unit_id=TNMT), "email", "dung@tinh.gov.vn",
                            "vi", digest="quarterly", attach_pdf=True)
    inbox.clear()
    with config.using(s):
        report = run.run(s)
    assert (report.sent, report.failed) == (1, 0)
    msg = inbox.messages[0]
    pdf = next(p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf")
    snap = snapshots.list_all(store)[0]
    assert pdf.get_filename() == f"{snap.snapshot_id}.pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
    assert "77,4" in text  # the figure of the mail, in the snapshot's export
    (OUTPUT / "notify").mkdir(parents=True, exist_ok=True)
    (OUTPUT / "notify" / "digest.eml").write_bytes(inbox.raw[str(msg["Message-ID"])])


def test_a_compacted_outbox_reads_the_same(tmp_store, monkeypatch):
    monkeypatch.setattr(outbox, "COMPACT_FILES", 3)
    now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    for i in range(4):
        outbox.plan(tmp_store, [(f"s{i}", outbox.ALERT, "d1", f"<{i}@x>", {"channel": "email"})], now)
    before = outbox.messages(tmp_store)
    assert outbox.compact(tmp_store)
    assert outbox.messages(tmp_store) == before
    assert len(tmp_store.delta(outbox.TABLE).file_uris()) == 1
    assert not outbox.compact(tmp_store)  # one file: nothing to do


def test_what_changed_between_two_states_worked_by_hand(tmp_store):
    """2018 and 2019: Sở Y tế 90, Sở GD&ĐT 88, Sở TN&MT 89 (2nd, grade Tốt ≥ 80), Sở Tài chính 86,
    Sở Xây dựng 84. Sở TN&MT's 2019 goes to 77,4: a miss (−2,6), 5th of 5 (was 2nd in 2018) and
    Khá (70–80); an analyst notes why. Then Sở Xây dựng's 2019 figure is withdrawn (4 of 5 units
    report), then the first 2022 figures come, after SIPAS' 2022 change of method."""
    store, t0 = tmp_store, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    base = {**BASELINE, TNMT: 89}
    store.commit_observations(obs([(u, SAT, y, v) for u, v in base.items() for y in ("2018", "2019")]),
                              CommitInfo(user="test"))
    a = changes.stamp(store, t0)
    _upload(store, 77.4)
    notes.add(store, auth.operator("mai"), pd.DataFrame([{"unit_id": TNMT, "indicator_id": SAT, "period": "2019",
                                                          "note": "Khảo sát lại quý IV"}]), store.version())
    b = changes.stamp(store, t0 + dt.timedelta(hours=1))
    items = changes.between(store, a, b)
    cat = Catalog.from_tables(store.read_catalog())
    assert [changes.render(i, cat, "vi") for i in items] == [
        "Sở Tài nguyên và Môi trường · Mức độ hài lòng 2019: 77,4%, chưa đạt mục tiêu 80,0% (−2,6 điểm %)",
        "Sở Tài nguyên và Môi trường · Mức độ hài lòng 2019: xếp loại Tốt (2018) → Khá",
        "Ghi chú mới · Sở Tài nguyên và Môi trường · Mức độ hài lòng 2019: Khảo sát lại quý IV"]
    assert changes.render(items[1], cat, "en") == ("Department of Natural Resources and Environment · Satisfaction "
                                                   "2019: grade Good (2018) → Fair")
    assert (items[1].rank, items[1].previous_rank) == (5, 2)

    def told(kind, unit="", indicator="", scope=None):
        return [i.kind for i in changes.relevant(items, kind, unit, indicator, scope, cat)]

    assert told("unit", unit=TNMT) == ["miss", "fall", "note"]
    assert told("attention") == ["miss"]
    assert told("indicator", indicator="par.total") == []
    assert told("province", scope=frozenset({TAI_CHINH, "so-y-te"})) == []  # never a unit it may not see
    assert told("unit", unit=TAI_CHINH) == []

    withdrawn = Scope((base_unit := "so-xay-dung",), (SAT,), ("2019",))
    store.commit_observations(obs([]), CommitInfo(user="test"), replace=withdrawn)
    c = changes.stamp(store, t0 + dt.timedelta(hours=2))
    coverage = [i for i in changes.between(store, b, c) if i.kind == "coverage"]
    assert [(i.n_before, i.n_units) for i in coverage] == [(5, 4)]
    assert changes.render(coverage[0], cat, "vi").startswith("Mức độ hài lòng 2019: nay 4/")
    assert base_unit not in changes.render(coverage[0], cat, "vi")

    store.commit_observations(obs([("so-y-te", SAT, "2022", 91), (TNMT, SAT, "2022", 90)]), CommitInfo(user="test"))
    d = changes.stamp(store, t0 + dt.timedelta(hours=3))
    assert [changes.render(i, cat, "vi") for i in changes.between(store, c, d)] == [
        "Mức độ hài lòng 2022: số liệu đầu tiên theo phương pháp mới (từ 2022), không so sánh với các kỳ trước"]


def test_a_fall_only_moved_by_another_units_fall_is_not_news(tmp_store):
    """2018: Sở Y tế 90 (1st), Sở GD&ĐT 88 (2nd), Sở Tài chính 86, Sở Xây dựng 84, Sở TN&MT 82. In
    2019 Sở GD&ĐT scores 80: 5th, three places lost, already told. Then Sở Y tế's 2019 comes in at
    79: it falls from 1st to 5th (and from Tốt to Khá), which pushes Sở GD&ĐT up to 4th (2nd → 4th).
    Only Sở Y tế's fall is news; Sở GD&ĐT's fall got smaller (it was told, as new, before)."""
    store, t0 = tmp_store, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    gd = "so-giao-duc-dao-tao"
    store.commit_observations(obs([(u, SAT, "2018", v) for u, v in BASELINE.items()]
                                  + [(u, SAT, "2019", 80 if u == gd else v) for u, v in BASELINE.items()]),
                              CommitInfo(user="test"))
    a = changes.stamp(store, t0)
    store.commit_observations(obs([("so-y-te", SAT, "2019", 79)]), CommitInfo(user="test"))
    b = changes.stamp(store, t0 + dt.timedelta(hours=1))

    def falls(x, y):
        return [(i.unit_id, i.previous_rank, i.rank) for i in changes.between(store, x, y) if i.kind == changes.FALL]

    assert falls(a, b) == [("so-y-te", 1, 5)]  # was also (gd, 2, 4)
    # A rollback of that upload puts Sở GD&ĐT back to 5th: three places lost again, its own figures
    # as they were. Not news either (a correction said it as a new fall, 2nd → 5th).
    versions.rollback(store, a["data"], auth.operator("root"), "nhập nhầm")
    assert falls(b, changes.stamp(store, t0 + dt.timedelta(hours=2))) == []


def test_a_catalog_publish_that_raises_a_target_is_a_change_too(tmp_store, tmp_path):
    """The 2016–2020 satisfaction target goes from 80% to 86%: of 90, 88, 86, 84 and 82, the last
    two now miss it (−2,0 and −4,0 points); the province's mean, 86,0%, still meets it. The store's
    latest figures are a quarter's dossiers (2020-Q1): the satisfaction's own latest period, 2019,
    is the one a new target is looked for in (the dataset's latest found nothing)."""
    store = tmp_store
    store.commit_observations(obs([(u, SAT, "2019", v) for u, v in BASELINE.items()]
                                  + [(TAI_CHINH, "dossier.resolved_late", "2020-Q1", 3)]), CommitInfo(user="test"))
    a = changes.stamp(store, dt.datetime.now(dt.UTC))
    shutil.copytree(config.CATALOG_DIR, tmp_path / "catalog")
    targets = tmp_path / "catalog" / "targets.csv"
    text = targets.read_text(encoding="utf-8")
    assert "sipas.overall,,2016,2020,80," in text
    targets.write_text(text.replace("sipas.overall,,2016,2020,80,", "sipas.overall,,2016,2020,86,"), encoding="utf-8")
    versions.update_catalog(store, auth.operator("root"), tmp_path / "catalog")
    b = changes.stamp(store, dt.datetime.now(dt.UTC))
    assert a["data"] == b["data"] and a["ref"] != b["ref"]
    items = changes.between(store, a, b)
    assert [(i.kind, i.unit_id, i.gap) for i in items] == [("miss", TNMT, -4.0), ("miss", "so-xay-dung", -2.0)]


def test_an_indicator_a_catalog_publish_removed_leaves_its_digest_empty(tmp_store, tmp_path):
    """service.full_online, with no figures, is taken out of the catalog: a digest for a subscription
    to it raised CatalogError out of planning, which stopped every later run before any delivery."""
    store, ind = tmp_store, "service.full_online"
    store.commit_observations(obs([(u, SAT, "2019", v) for u, v in BASELINE.items()]), CommitInfo(user="test"))
    shutil.copytree(config.CATALOG_DIR, tmp_path / "catalog")
    for name in ("indicators.csv", "targets.csv"):
        f = tmp_path / "catalog" / name
        f.write_text("".join(x for x in f.read_text(encoding="utf-8").splitlines(True) if ind not in x), encoding="utf-8")
    versions.update_catalog(store, auth.operator("root"), tmp_path / "catalog")
    assert digest.lines(Dataset.open(store), "indicator", "", ind, None, "vi") == ("2019", [])
    assert subscriptions.describe(Target("indicator", indicator_id=ind), Dataset.open(store).catalog, "vi") == (
        f"Chỉ số: {ind}")


@pytest.mark.slow
def test_papi_subscribers_hear_of_a_fall_its_rollback_and_get_a_pinned_digest(tmp_path):
    """The PAPI store (`python -m reformkpi papi`): Hà Nội's 2024 total goes to 30 points, from 15th
    to 61st of 61 provinces. Only that fall is told (the provinces below moved up one place), in
    each subscriber's language; the rollback of that upload sends a correction with nothing new in
    it; the digest links a snapshot of the PAPI Overview pinned at the version it read."""
    from reformkpi.ingest import papi

    s = config.load(None, {"HOME": str(tmp_path), **{k: v for k, v in _env(tmp_path, 0, tmp_path).items()
                                                       if "SMTP" not in k}})
    home, store = Store(tmp_path / "store"), Store(tmp_path / "papi")
    home.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    papi.build(store, auth.operator("test"))
    with config.using(s):
        for name in ("lan", "mai"):
            Accounts().add(name, "viewer", "mật-khẩu-dài-đủ")
        lan = subscriptions.subscribe(home, LAN, Target("province", dataset="papi"), "email", "lan@tinh.gov.vn", "vi",
                                      digest="none")
        mai = subscriptions.subscribe(home, MAI, Target("unit", unit_id="ha-noi", dataset="papi"), "email",
                                      "mai@tinh.gov.vn", "en", digest="quarterly")
        run.run(s)
        store.commit_observations(obs([("ha-noi", "papi.total", "2024", 30.0)]), CommitInfo(user="mai"))
        run.run(s)
        versions.rollback(store, 1, auth.operator("root"), "nhập nhầm")
        run.run(s)
    sent = {(m.subscription_id, m.kind): m.payload["content"] for m in outbox.messages(home).values()}
    assert sent[lan.subscription_id, outbox.ALERT]["lines"] == ["Hà Nội · Tổng PAPI 2024: từ hạng 15 (2023) xuống hạng 61"]
    assert sent[mai.subscription_id, outbox.ALERT]["lines"] == [
        "Ha Noi · PAPI total 2024: from rank 15 (2023) down to rank 61"]
    assert sent[lan.subscription_id, outbox.CORRECTION]["lines"] == [i18n.t("notify.nothing_now", "vi")]
    link = sent[mai.subscription_id, outbox.DIGEST]["links"]["snapshot"]
    snap = snapshots.get(store, link.split("snapshot=")[1].split("&")[0])
    assert link.endswith("&data=papi") and snap is not None and snap.data_version == 1
    assert snap.view_state == {"data": "papi", "lang": "en", "year": "2024", "level": "all"}


def test_a_second_run_while_one_holds_the_lock_leaves_at_once(tmp_path):
    s = config.load(None, {"HOME": str(tmp_path), "REFORMKPI_STATE": str(tmp_path / "state"),
                             "REFORMKPI_STORE": str(tmp_path / "store")})
    with run.only_one(s.state):
        with pytest.raises(run.Busy):
            run.run(s)
    assert run.run(s) == run.Report()  # free again (and no store yet: nothing to do)


def test_a_partial_year_is_written_by_the_months_its_data_cover(demo):
    """The demo's 2026 holds Q1–Q3 (test_comparability): a digest and an alert say so, as the pages do."""
    year, lines = digest.lines(demo, "attention", "", "", None, "en")
    assert year == "2026" and lines
    assert all(line.split(":")[0].endswith(" Q1–Q3 2026") for line in lines)  # was "… 2026:", a whole year
    cat = demo.catalog
    unit = str(cat.units.loc[cat.units["level"] == "department", "unit_id"].iloc[0])
    miss = changes.Item(changes.MISS, "dossier.online_share", "2026", unit, 70.0, 80.0, -10.0, months=(1, 9))
    assert " · " in changes.render(miss, cat, "vi") and "Quý I–III/2026:" in changes.render(miss, cat, "vi")
    fall = changes.Item(changes.FALL, "dossier.online_share", "2026", unit, rank=5, previous_rank=2, months=(1, 9))
    assert "(Q1–Q3 2025)" in changes.render(fall, cat, "en") and "Q1–Q3 2026" in changes.render(fall, cat, "en")


def test_a_webhook_keeps_its_query_and_is_never_sent_unsigned(receiver):
    Receiver.paths.clear()
    webhook.post(receiver + "?token=abc&x=1", {"a": 1}, "<m1@x>", SECRET, lambda: None)
    webhook.post(receiver.removesuffix("/hook") + "?token=abc", {"a": 1}, "<m2@x>", SECRET, lambda: None)
    assert Receiver.paths == ["/hook?token=abc&x=1", "/?token=abc"]
    with pytest.raises(mail.SendError, match="webhook_secret is not set"):
        webhook.post(receiver, {"a": 1}, "<m3@x>", "", lambda: None)
    assert len(Receiver.paths) == 2  # nothing reached the receiver


def test_an_address_beyond_ascii_is_a_failed_delivery_not_a_crash(tmp_path, smtp, receiver):
    """An address the form once let through (subscriptions.EMAIL took "nguyễn@…") raised
    UnicodeEncodeError at RCPT TO, which `deliver` does not catch: the run stopped there, and every
    message after it stayed unsent, run after run. Now a refusal like any other (retried, shown)."""
    inbox, port, cafile = smtp
    s = config.load(None, {"HOME": str(tmp_path), **_env(tmp_path, port, cafile)})
    payload = {"address": "nguyễn@tnmt.gov.vn", "subject": "s", "text": "t", "html": "<p>t</p>", "lang": "vi"}
    inbox.clear()
    with pytest.raises(mail.SendError, match="UnicodeEncodeError"):
        mail.send(s, mail.build(payload, "<m@tinh.gov.vn>", s.mail_from), lambda: None)
    for url in (receiver + "/thông-báo", "https://" + "a" * 64 + ".example/hook"):
        with pytest.raises(mail.SendError):
            webhook.post(url, {"a": 1}, "<m@x>", SECRET, lambda: None)
    assert inbox.ids() == []


def test_a_unit_merged_away_is_followed_into_the_unit_that_holds_it(demo):
    """The demo's Sở TN&MT merged into Sở Nông nghiệp và Môi trường on 1 March 2025 (the catalog):
    a subscription to it, or an account scoped to it, hears of the new department's figures."""
    cat, nnmt = demo.catalog, "so-nong-nghiep-moi-truong"
    assert focus.holder(cat, TNMT) == nnmt and focus.holder(cat, "so-y-te") == "so-y-te"
    items = [changes.Item(changes.MISS, SAT, "2026", nnmt, 70.0, 80.0, -10.0),
             changes.Item(changes.MISS, SAT, "2019", TNMT, 77.4, 80.0, -2.6),
             changes.Item(changes.MISS, SAT, "2026", "so-y-te", 70.0, 80.0, -10.0)]
    told = changes.relevant(items, "unit", TNMT, "", None, cat)
    assert [(i.unit_id, i.period) for i in told] == [(nnmt, "2026"), (TNMT, "2019")]
    scoped = changes.relevant(items, "attention", "", "", frozenset({TNMT}), cat)
    assert [(i.unit_id, i.period) for i in scoped] == [(nnmt, "2026"), (TNMT, "2019")]


def test_a_method_break_or_lost_coverage_reaches_unit_subscribers_and_scoped_accounts(demo):
    cat = demo.catalog
    items = [changes.Item(changes.BREAK, SAT, "2022", text="2022"),
             changes.Item(changes.COVERAGE, "par.total", "2021", n_units=3, n_before=5, n_expected=5),
             changes.Item(changes.MISS, SAT, "2019", changes.PROVINCE, 79.0, 80.0, -1.0)]

    def told(kind, unit="", indicator="", scope=None):
        return [i.kind for i in changes.relevant(items, kind, unit, indicator, scope, cat)]

    assert told("unit", unit="so-y-te") == ["break", "coverage"]  # both were dropped: unit_id is the province
    assert told("province", scope=frozenset({"so-y-te"})) == ["break", "coverage"]  # not the province's miss
    assert told("indicator", indicator=SAT, scope=frozenset({"so-y-te"})) == ["break"]
    assert told("attention") == ["miss"]


def test_a_pdf_that_cannot_be_made_leaves_the_digest_going_without_it(tmp_path, smtp, monkeypatch):
    """The export is given the notifier's store and settings file (it got --store for the demo only);
    when it fails, the digest is sent without the PDF and says so."""
    inbox, port, cafile = smtp
    s, store, subs = _province(tmp_path, port, cafile)
    subscriptions.subscribe(store, Actor("dung", "viewer"), Target("unit", unit_id=TAI_CHINH), "email",
                            "dung@tinh.gov.vn", "en", digest="quarterly", attach_pdf=True)
    calls = []

    def export(cmd, **kw):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 3, "", "Chromium crashed")

    monkeypatch.setattr(digest.subprocess, "run", export)
    inbox.clear()
    with config.using(s):
        report = run.run(s, settings_file=str(tmp_path / "settings.toml"))
    (cmd,) = calls
    assert cmd[cmd.index("--store") + 1] == store.uri and cmd[cmd.index("--settings") + 1] == str(tmp_path / "settings.toml")
    assert (report.sent, report.failed) == (1, 0) and "Chromium crashed" in report.pdf_errors[0]
    (msg,) = inbox.messages
    assert not [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert "The PDF could not be made, so this mail comes without it" in _text(msg, "plain")
    assert "The PDF could not be made" in _text(msg, "html")
