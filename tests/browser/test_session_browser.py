"""Login CSRF in a real browser, as the issue tried it: a page on the same host, another port, makes
the victim's browser post the attacker's own hand-over code to /api/session. No cookie may come of
it; the app's own page, with its form's token, still gets one (so the refusal is not everything)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

from reformkpi import sessions
from reformkpi.auth import Actor
from tests.browser.conftest import serve

FORM = "token-the-sign-in-form-was-issued-with"
# The attacker's page: a simple request (no preflight) and one carrying the form header (preflighted).
ATTACK = """<script>
const [route, code, form] = JSON.parse(decodeURIComponent(location.hash.slice(1)));
window.done = Promise.allSettled([
  fetch(route, {method: 'POST', body: code, mode: 'no-cors', credentials: 'include'}),
  fetch(route, {method: 'POST', body: code, credentials: 'include', headers: {'X-Reformkpi-Form': form}}),
]);
</script>"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from reformkpi import config
    from reformkpi.catalog import load_dir
    from reformkpi.store import CommitInfo, Store

    store = Store(tmp_path_factory.mktemp("csrf") / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    proc, url = serve(store.uri)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def attacker():
    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(ATTACK.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def session_cookies(page) -> list[dict]:
    return [c for c in page.context.cookies() if c["name"] == sessions.COOKIE]


def test_a_page_on_another_port_cannot_sign_the_browser_in(page, app, attacker):
    code = sessions.open_session(Actor("mallory", "analyst"), FORM)[1]  # the attacker's own, token and all
    page.goto(f"{attacker}/#" + quote(json.dumps([f"{app}/api/session", code, FORM])))
    page.evaluate("window.done")
    assert session_cookies(page) == []
    page.goto(app)
    code = sessions.open_session(Actor("lan.pham", "analyst"), FORM)[1]
    status = page.evaluate("([code, form]) => fetch('/api/session', {method: 'POST', body: code, "
                           "credentials: 'same-origin', headers: {'X-Reformkpi-Form': form}}).then(r => r.status)",
                           [code, FORM])
    assert status == 204 and len(session_cookies(page)) == 1
