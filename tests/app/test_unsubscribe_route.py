"""serve.py's one-click unsubscribe link (RFC 8058) on a running server: a mail client's POST pauses
the subscription the signed link names; a GET (a person, or a link scanner) only shows a button;
a forged link changes nothing."""

from __future__ import annotations

import http.client

import pytest

from reformkpi import config, subscriptions
from reformkpi.auth import Actor
from reformkpi.catalog import load_dir
from reformkpi.notify import run
from reformkpi.store import CommitInfo, Store
from reformkpi.subscriptions import Target
from tests.browser.conftest import serve


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("unsubscribe") / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    sub = subscriptions.subscribe(store, Actor("lan", "viewer"), Target("indicator", indicator_id="sipas.overall"),
                                  "email", "lan@tnmt.gov.vn", "vi")
    proc, url = serve(store.uri)  # the session secret is this process's (tests/conftest.py's sessions file)
    yield store, sub, int(url.rsplit(":", 1)[1])
    proc.terminate()
    proc.wait(10)


def _call(port: int, method: str, token: str, body: bytes = b"") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, f"{run.UNSUBSCRIBE_PATH}?token={token}", body=body or None,
                 headers={"Content-Type": "application/x-www-form-urlencoded"} if body else {})
    r = conn.getresponse()
    return r.status, r.read().decode()


def _paused(store: Store, sub) -> bool:
    everyone = subscriptions.list_for(store, Actor("root", "admin"))
    return next(s for s in everyone if s.subscription_id == sub.subscription_id).paused


@pytest.mark.slow
def test_one_click_pauses_only_with_a_link_signed_here(server):
    store, sub, port = server
    token = run.unsubscribe_token(sub.subscription_id)
    status, page = _call(port, "GET", token)
    assert status == 200 and 'method="post"' in page and "Hủy theo dõi" in page
    assert not _paused(store, sub)  # opening the link changes nothing
    forged = run.unsubscribe_token(sub.subscription_id)[:-3] + "abc"
    assert _call(port, "POST", forged, b"List-Unsubscribe=One-Click")[0] == 404
    assert not _paused(store, sub)
    status, page = _call(port, "POST", token, b"List-Unsubscribe=One-Click")
    assert status == 200 and "Đã hủy theo dõi" in page
    assert _paused(store, sub)
