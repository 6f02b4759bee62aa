"""Two app servers behind Debian's nginx, set up as docs/deployment-two-servers.md says: the config is
deploy/nginx.conf itself, with only its ports and paths changed for a test. A browser signs in
through nginx, commits an upload on one server and sees it on the other once that server's version
probe notices; a snapshot made on one opens on the other; stopping a server mid-session moves the
browser to the other, still signed in, with nothing lost."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.data import VERSION_TTL_SECONDS
from reformkpi import config, ingest, snapshots
from reformkpi.auth import Accounts, operator
from reformkpi.catalog import load_dir
from reformkpi.store import CommitInfo, Store
from tests.browser.conftest import _free_port, healthy, screenshot, sign_in
from tests.browser.test_upload_browser import FIXED, PASSWORD, START, overview_satisfaction, session_cookie, settle
from tests.conftest import OUTPUT, ROOT

NGINX = Path("/usr/sbin/nginx")
ROUTE = "reformkpi_server"
pytestmark = [pytest.mark.slow]


@pytest.fixture
def shared_store(tmp_path) -> Store:
    """The store both servers use (a local directory here; an object-store URI works the same way)."""
    store = Store(tmp_path / "store")
    store.init(load_dir(config.CATALOG_DIR), CommitInfo(user="test", operation="init"))
    ingest.commit(store, ingest.prepare(store, START, "dau-ky.csv"), operator("test"))
    return store


def nginx_config(folder: Path, https: int, http: int, upstreams: list[str]) -> Path:
    """deploy/nginx.conf with the test's ports, certificate and log, inside a main file that keeps
    nginx's pid and temporary files in `folder` (Debian's /etc/nginx/nginx.conf plays that part)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", folder / "key.pem", "-out", folder / "cert.pem"], check=True, capture_output=True)
    site = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    for old, new in {"listen 443 ": f"listen 127.0.0.1:{https} ", "listen 80;": f"listen 127.0.0.1:{http};",
                     "/etc/ssl/certs/cchc.pem": str(folder / "cert.pem"),
                     "/etc/ssl/private/cchc.key": str(folder / "key.pem"),
                     "/var/log/nginx/reformkpi.access.log": str(folder / "access.log")}.items():
        assert site.count(old) == 1, old
        site = site.replace(old, new)
    for old, new in zip((":8501", ":8502"), upstreams):  # in each upstream block and in the cookie's map
        assert site.count(old) == 4, old
        site = site.replace(old, ":" + new.rsplit(":", 1)[1])
    (folder / "reformkpi.conf").write_text(site, encoding="utf-8")
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = folder / "nginx.conf"
    main.write_text(f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\nworker_processes 1;\n"
                    f"events {{ worker_connections 512; }}\nhttp {{\n{temp}\n    include {folder / 'reformkpi.conf'};\n}}\n",
                    encoding="utf-8")
    return main


@dataclass
class Cluster:
    url: str
    servers: dict[str, subprocess.Popen]  # upstream address -> its app server
    log: Path

    def upstreams(self, since: int = 0) -> list[tuple[str, str]]:
        """(request, the upstream address that answered it) of each request nginx logged, from line
        `since` on (nginx lists every server it tried, the one that answered last)."""
        lines = self.log.read_text(encoding="utf-8").splitlines()[since:]
        found = (re.search(r'"(\S+ \S+) [^"]*" .*upstream=(.+?) upstream_status=', line) for line in lines)
        return [(m[1], m[2].split(", ")[-1]) for m in found if m]

    def retried(self, since: int) -> list[str]:
        """The upstream addresses of requests nginx had to pass to a second server."""
        return [m[1] for line in self.log.read_text(encoding="utf-8").splitlines()[since:]
                if (m := re.search(r"upstream=(\S+, .+?) upstream_status=", line))]

    def logged(self) -> int:
        return len(self.log.read_text(encoding="utf-8").splitlines())

    def route_to(self, address: str) -> str:
        """The value of the route cookie that sends a browser to the server at `address`."""
        return "ab"[list(self.servers).index(address)]


def app_servers(store_uri: str, folder: Path) -> dict[str, subprocess.Popen]:
    """Two app servers started as deploy/reformkpi@.service starts each, with the environment file
    and settings of deploy/ (paths and ports changed, the empty secrets filled in): upstream address
    -> process."""
    unit = dict(line.split("=", 1) for line in (ROOT / "deploy" / "reformkpi@.service").read_text().splitlines()
                if re.match(r"(ExecStart|WorkingDirectory|EnvironmentFile)=", line))
    settings = (ROOT / "deploy" / "settings.example.toml").read_text(encoding="utf-8")
    settings = settings.replace('"/srv/reformkpi/store"', f'"{store_uri}"').replace("/srv/reformkpi", str(folder))
    (folder / "settings.toml").write_text(settings, encoding="utf-8")
    assert unit["EnvironmentFile"] == "/etc/reformkpi/reformkpi.env"
    env = dict(line.split("=", 1) for line in (ROOT / "deploy" / "reformkpi.example.env").read_text().splitlines()
               if line and not line.startswith("#"))
    assert env.pop("REFORMKPI_SETTINGS") == "/etc/reformkpi/settings.toml"
    assert set(env.values()) == {""}  # no secret is shipped: each province makes its own
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REFORMKPI_")},
           "REFORMKPI_SETTINGS": str(folder / "settings.toml"), **{k: f"test-{k}" for k in env}}
    servers = {}
    for port in (_free_port(), _free_port()):  # started together, each answering in its own time
        argv = shlex.split(unit["ExecStart"].replace("/opt/reformkpi", str(ROOT)).replace("%i", str(port)))
        servers[f"127.0.0.1:{port}"] = subprocess.Popen(
            argv, cwd=unit["WorkingDirectory"].replace("/opt/reformkpi", str(ROOT)), env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return servers


@pytest.fixture
def cluster(shared_store, tmp_path):
    if not NGINX.exists():
        pytest.skip("nginx is missing (apt-get install nginx-light; .ci/run does)")
    Accounts(tmp_path / "state" / "accounts.json").add("lan.pham", "analyst", PASSWORD)
    addresses = app_servers(shared_store.uri, tmp_path)
    folder = tmp_path / "nginx"
    folder.mkdir()
    https = _free_port()
    nginx = subprocess.Popen([NGINX, "-p", folder, "-c", nginx_config(folder, https, _free_port(), list(addresses)),
                              "-e", folder / "error.log", "-g", "daemon off;"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for address, proc in addresses.items():
            healthy(proc, f"http://{address}")
        deadline = time.monotonic() + 10
        while not (folder / "access.log").exists() or not (folder / "nginx.pid").exists():
            assert nginx.poll() is None and time.monotonic() < deadline, nginx.stdout.read().decode()
            time.sleep(0.05)
        yield Cluster(f"https://127.0.0.1:{https}", addresses, folder / "access.log")
    finally:
        for proc in (nginx, *addresses.values()):
            proc.terminate()
            proc.wait(10)


def routed(browser, cluster: Cluster, address: str):
    """A browser page whose route cookie sends it to the server at `address`."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="vi-VN", ignore_https_errors=True)
    context.add_cookies([{"name": ROUTE, "value": cluster.route_to(address), "url": cluster.url}])
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def reroute(page, cluster: Cluster, address: str) -> None:
    page.context.add_cookies([{"name": ROUTE, "value": cluster.route_to(address), "url": cluster.url}])


def shown_version(page) -> int:
    """The data version the page's caption names, as soon as the page shows it."""
    caption = page.get_by_text(re.compile(r"Phiên bản dữ liệu \d+")).first
    caption.wait_for()
    return int(re.search(r"Phiên bản dữ liệu (\d+)", caption.inner_text())[1])


def served_by(cluster: Cluster, since: int) -> set[str]:
    """The servers that answered the browsers' requests since log line `since` (a WebSocket is logged
    when it closes, so an earlier page's shows up late: left out)."""
    return {up for request, up in cluster.upstreams(since) if "/_stcore/stream" not in request}


def test_two_servers_behind_nginx(browser, cluster, shared_store):
    a, b = cluster.servers
    # A browser's first request: nginx picks a server and names it in the route cookie.
    fresh = browser.new_context(ignore_https_errors=True)
    since = cluster.logged()
    fresh.request.get(f"{cluster.url}/_stcore/health")
    deadline = time.monotonic() + 5
    while not (answered := cluster.upstreams(since)):  # nginx logs a request once its response is sent
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert {c["name"]: c["value"] for c in fresh.cookies()}[ROUTE] == cluster.route_to(answered[0][1])
    fresh.close()

    analyst, watcher = routed(browser, cluster, a), routed(browser, cluster, b)
    start = cluster.logged()
    analyst.goto(f"{cluster.url}/")
    assert "75,0%" in overview_satisfaction(analyst)
    sign_in(analyst, "lan.pham", PASSWORD)  # the code is redeemed and the cookie set through nginx
    assert session_cookie(analyst)["secure"]  # nginx told the server the browser came over HTTPS
    analyst.get_by_role("link", name="Cập nhật dữ liệu").click()
    settle(analyst)
    upload = analyst.locator('[data-testid="stFileUploaderDropzoneInput"]')
    upload.wait_for(state="attached")
    upload.set_input_files(files=[{"name": "bao-cao.csv", "mimeType": "text/csv", "buffer": FIXED}])
    analyst.get_by_text("hợp lệ: 2 giá trị", exact=False).wait_for()
    settle(analyst)
    assert served_by(cluster, start) == {a}  # the sign-in and the upload stayed on one server
    assert any("/_stcore/upload_file/" in request for request, _ in cluster.upstreams(start))

    # The other server shows version 1, fresh in its cache, just before the commit.
    watcher.goto(f"{cluster.url}/")
    assert shown_version(watcher) == 1
    analyst.get_by_role("button", name="Ghi vào kho dữ liệu").click()
    analyst.get_by_text("Đã ghi phiên bản 2", exact=False).wait_for()
    committed = time.monotonic()
    stale = []  # when each reload that still showed version 1 began, in seconds after the commit
    while shown_version(watcher) == 1:
        assert time.monotonic() - committed < VERSION_TTL_SECONDS + 30, "the other server never saw the commit"
        stale.append(time.monotonic() - committed)
        watcher.reload()
    noticed = time.monotonic() - committed
    assert "85,0%" in overview_satisfaction(watcher)
    print(f"\nserver {b} showed version 2 {noticed:.1f} s after server {a} committed it (stale reloads began at "
          f"{[round(s, 1) for s in stale[1:]]} s)")
    # A reload that began later than the probe's TTL after the commit cannot have been given the old version.
    assert all(s < VERSION_TTL_SECONDS for s in stale[1:])
    assert served_by(cluster, start) == {a, b}

    # The same browser on the other server: still signed in, and the snapshot it saves there opens on the first.
    reroute(analyst, cluster, b)
    since = cluster.logged()
    analyst.goto(f"{cluster.url}/?year=2025&ind=sipas.overall")
    settle(analyst)
    analyst.get_by_text("Đang đăng nhập: lan.pham", exact=False).wait_for()
    analyst.get_by_role("button", name="Chia sẻ").click()
    analyst.get_by_role("textbox", name="Tên ảnh chụp").fill("Giao ban hai máy chủ")
    analyst.get_by_role("button", name="Lưu ảnh chụp số liệu").click()
    link = analyst.locator('[data-testid="stCode"]').nth(1)
    link.wait_for()
    snapshot_url = link.inner_text().strip()
    analyst.keyboard.press("Escape")
    assert served_by(cluster, since) == {b} and snapshot_url.startswith(cluster.url)
    reroute(watcher, cluster, a)
    since = cluster.logged()
    watcher.goto(snapshot_url)
    watcher.get_by_text("Ảnh chụp “Giao ban hai máy chủ”: số liệu phiên bản 2", exact=False).wait_for()
    assert "85,0%" in overview_satisfaction(watcher)
    assert served_by(cluster, since) == {a}
    screenshot(watcher, "two-servers-snapshot")

    # Server B stops under the signed-in browser: nginx moves it to A, where it is still signed in.
    since = cluster.logged()
    stopped = time.monotonic()
    cluster.servers[b].terminate()
    cluster.servers[b].wait(10)
    analyst.get_by_role("link", name="Tổng quan").click()
    assert "85,0%" in overview_satisfaction(analyst)
    analyst.get_by_text("Đang đăng nhập: lan.pham", exact=False).wait_for()
    moved = time.monotonic() - stopped
    print(f"server {b} stopped: the browser was on {a}, signed in, {moved:.1f} s later")
    assert served_by(cluster, since) == {a} and cluster.retried(since)
    # The route cookie now names the server that answered: the browser stays there when B is back.
    assert {c["name"]: c["value"] for c in analyst.context.cookies()}[ROUTE] == cluster.route_to(a)
    screenshot(analyst, "two-servers-after-failover")
    assert shared_store.version() == 2 and [s.title for s in snapshots.list_all(shared_store)] == ["Giao ban hai máy chủ"]
    (OUTPUT / "two-servers.txt").write_text(f"version seen on the other server after {noticed:.1f} s "
                                            f"(probe TTL {VERSION_TTL_SECONDS} s); failover signed in after {moved:.1f} s\n",
                                            encoding="utf-8")
    analyst.context.close()
    watcher.context.close()
