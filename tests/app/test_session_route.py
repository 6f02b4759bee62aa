"""serve.py's /api/session on a running server: only the app's own page with its form's token gets
the cookie (login CSRF), and no body over a few KB is read (a 1 GB POST leaves the server small)."""

from __future__ import annotations

import http.client
import socket
import time

import pytest

from reformkpi import sessions
from reformkpi.auth import Actor
from tests.browser.conftest import serve

FORM = "token-the-sign-in-form-was-issued-with"
MB = 1 << 20


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from reformkpi import config
    from reformkpi.catalog import load_dir
    from reformkpi.store import CommitInfo, Store

    store = Store(tmp_path_factory.mktemp("route") / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    proc, url = serve(store.uri)  # the sessions file is this process's (tests/conftest.py)
    yield proc, int(url.rsplit(":", 1)[1])
    proc.terminate()
    proc.wait(10)


def post(port: int, body: bytes, headers: dict, method: str = "POST") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, "/api/session", body=body, headers=headers)
    return conn.getresponse()


def own(port: int) -> dict:
    return {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin", sessions.FORM_HEADER: FORM}


def code() -> str:
    return sessions.open_session(Actor("lan.pham", "analyst"), FORM)[1]


def test_the_apps_own_page_with_its_forms_token_gets_the_cookie(server):
    _, port = server
    r = post(port, code().encode(), own(port))
    cookie = r.getheader("set-cookie")
    assert r.status == 204 and cookie.startswith(f"{sessions.COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "lan.pham" not in cookie


@pytest.mark.parametrize(("change", "why"), [
    ({"Origin": "http://127.0.0.1:{other}", "Sec-Fetch-Site": "same-site"}, "another port: the issue's attack"),
    ({"Origin": "http://127.0.0.1:{other}", "Sec-Fetch-Site": None}, "another origin, no Sec-Fetch-Site"),
    ({"Sec-Fetch-Site": "cross-site"}, "the browser says cross-site"),
    ({"Sec-Fetch-Site": "same-site"}, "the browser says same-site"),
    ({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, "another site"),
    ({"Origin": None, "Sec-Fetch-Site": None}, "says nothing of where it comes from"),
    ({sessions.FORM_HEADER: None}, "no form token"),
    ({sessions.FORM_HEADER: "another-form"}, "another form's token"),
])
def test_a_request_not_from_the_apps_own_sign_in_form_gets_no_cookie(server, change, why):
    _, port = server
    headers = {k: v for k, v in {**own(port), **change}.items() if v is not None}
    headers = {k: v.format(other=port + 1) for k, v in headers.items()}
    r = post(port, code().encode(), headers)
    assert r.status == 403 and r.getheader("set-cookie") is None, why


def test_a_sign_out_from_another_origin_is_refused(server):
    _, port = server
    sid, handed = sessions.open_session(Actor("lan.pham", "analyst"), FORM)
    cookie = sessions.cookie_for(handed, FORM)
    r = post(port, b"", {"Origin": f"http://127.0.0.1:{port + 1}", "Cookie": f"{sessions.COOKIE}={cookie}"}, "DELETE")
    assert r.status == 403
    with sessions._open_sessions(write=False) as data:
        assert sid in data  # still open
    r = post(port, b"", {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"{sessions.COOKIE}={cookie}"}, "DELETE")
    assert r.status == 204
    with sessions._open_sessions(write=False) as data:
        assert sid not in data


def memory(pid: int) -> dict[str, int]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    return {k: int(status[k].split()[0]) // 1024 for k in ("VmRSS", "VmHWM")}


def test_a_declared_body_over_the_cap_is_refused_before_it_is_read(server):
    _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
                  f"{sessions.FORM_HEADER}: {FORM}\r\nContent-Length: {1024 * MB}\r\n\r\n".encode())
        assert s.recv(200).startswith(b"HTTP/1.1 413")  # answered with not one byte of the body sent


def test_a_1_gb_streamed_body_leaves_the_server_under_300_mb(server):
    """The issue's attack: a chunked body with no length, 1 GB of it. The route stops reading at
    BODY_MAX and closes the connection, so the client cannot even push the gigabyte; the server's
    peak memory (VmHWM, since it started) stays where it was. (Before: 1.1 GB after 1 GB sent.)"""
    proc, port = server
    before = memory(proc.pid)
    chunk = b"%x\r\n" % MB + b"a" * MB + b"\r\n"
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
                  f"{sessions.FORM_HEADER}: {FORM}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        try:
            for _ in range(1024):
                s.sendall(chunk)
                sent += MB
        except OSError:  # the server closed the connection: the rest of the gigabyte is never read
            pass
        try:
            answer = s.recv(200)
        except OSError:  # reset before the answer could be read back; the answer is not the point
            pass
    time.sleep(0.5)
    after = memory(proc.pid)
    assert sent < 64 * MB, f"{sent // MB} MB went through: the server kept reading"
    assert not answer or answer.startswith(b"HTTP/1.1 413")
    assert after["VmHWM"] < 300 and after["VmRSS"] - before["VmRSS"] < 20, (before, after)
    assert post(port, code().encode(), own(port)).status == 204  # and the route still works
