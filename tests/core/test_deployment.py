"""Deployment defaults: no framing by foreign pages, a local-only `make run`, secrets out of git,
bounded export names and owned profiles."""

from __future__ import annotations

import re
import tomllib
import subprocess

import pytest

from reformkpi import exports
from reformkpi.auth import Actor, PermissionDenied
from reformkpi.ingest import profiles
from tests.conftest import ROOT


def server_blocks(conf: str) -> list[str]:
    """The text of each top-level `server { … }` block, braces matched."""
    blocks, depth, start = [], 0, None
    for i, ch in enumerate(conf):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                blocks.append(conf[start:i + 1])
    return blocks


def test_nginx_forbids_framing_by_other_sites():
    conf = re.sub(r"#.*", "", (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8"))
    https = next(b for b in server_blocks(conf) if "listen 443" in b)
    top = re.sub(r"location[^{]*\{[^}]*\}", "", https)  # the server level only
    assert re.search(r"""add_header\s+Content-Security-Policy\s+"frame-ancestors 'self'"\s+always;""", top)
    assert re.search(r"add_header\s+X-Frame-Options\s+SAMEORIGIN\s+always;", top)
    # nginx drops the server's add_header lines in a location that has its own.
    assert all("add_header" not in loc for loc in re.findall(r"location[^{]*\{[^}]*\}", https))


def test_make_run_listens_on_localhost_unless_told():
    def run_line(*args):
        out = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return next(line for line in out.splitlines() if "streamlit run" in line)

    assert "--server.address 127.0.0.1" in run_line()
    assert "--server.address 0.0.0.0" in run_line("ADDRESS=0.0.0.0")


@pytest.mark.parametrize("path", [".streamlit/secrets.toml", "data/accounts.json", "data/access.toml"])
def test_secrets_are_ignored_by_git(path):
    assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0


def test_export_file_names_are_bounded():
    name = exports.file_name("Báo cáo CCHC", "Tiêu đề rất dài " * 40, "27-11-2026", ext="pptx")
    assert len(name.encode()) <= exports.MAX_FILE_NAME_BYTES and name.endswith("…-27-11-2026.pptx")
    assert exports.file_name("Báo cáo CCHC", "Tổng quan", "27-11-2026", ext="pdf") == "Báo-cáo-CCHC-Tổng-quan-27-11-2026.pdf"


def test_profiles_are_owned_and_built_in_names_reserved(tmp_path):
    lan, chi, admin = Actor("lan", "analyst"), Actor("chi", "analyst"), Actor("quan.tri", "admin")
    mine = profiles.Profile("Mẫu Sở Tư pháp", {"ten don vi": "unit"})
    profiles.save(tmp_path, mine, lan)
    assert profiles.load(tmp_path, "Mẫu Sở Tư pháp").owner == "lan"
    with pytest.raises(profiles.ProfileError) as e:
        profiles.save(tmp_path, profiles.Profile("mau so tu phap", {"x": "unit"}), chi)
    assert e.value.code == "not_owner" and e.value.fields["owner"] == "lan"
    profiles.save(tmp_path, profiles.Profile("Mẫu Sở Tư pháp", {"y": "unit"}), admin)
    assert profiles.load(tmp_path, "Mẫu Sở Tư pháp").columns == {"y": "unit"}
    assert profiles.load(tmp_path, "Mẫu Sở Tư pháp").owner == "lan"  # an administrator's edit keeps the owner
    for name in ("PAPI", "papi", " Papi "):
        with pytest.raises(profiles.ProfileError) as e:
            profiles.save(tmp_path, profiles.Profile(name, {"x": "unit"}), admin)
        assert e.value.code == "reserved"
    (tmp_path / "papi.json").write_text(profiles.Profile("papi", {"x": "unit"}).to_json(), encoding="utf-8")
    assert profiles.load(tmp_path, "PAPI").columns == profiles.PAPI.columns  # a stray file never shadows it
    with pytest.raises(profiles.ProfileError) as e:
        profiles.save(tmp_path, profiles.Profile("x" * 300, {}), lan)  # once an OSError (file name too long)
    assert e.value.code == "name_too_long"
    with pytest.raises(PermissionDenied):
        profiles.save(tmp_path, mine, Actor("v", "viewer"))


def test_the_server_does_not_collect_garbage_after_every_rerun():
    """A full collection walks every table and figure kept for all sessions (a third of the server's
    CPU under load); both configurations turn it off."""
    for path in (ROOT / ".streamlit" / "config.toml", ROOT / "deploy" / "config.toml"):
        assert tomllib.loads(path.read_text(encoding="utf-8"))["runner"]["postScriptGC"] is False, path


def test_nginx_keeps_each_browser_on_one_of_the_two_app_servers():
    """By a cookie naming the server that answered (not the client's address: one NAT address is a
    whole department), each server's upstream falling back on the other, the two servers being the
    ones docs/deployment-two-servers.md starts; tests/browser/test_two_servers.py runs this config."""
    conf = re.sub(r"#.*", "", (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8"))
    blocks = dict(re.findall(r"upstream (\w+) \{([^}]*)\}", conf))
    servers = re.findall(r"server\s+(127\.0\.0\.1:\d+)\s", blocks.pop("reformkpi"))
    assert len(servers) == 2 and "ip_hash" not in conf and "proxy_pass http://$reformkpi_upstream;" in conf
    for name, (mine, other) in zip("ab", (servers, servers[::-1])):
        assert re.findall(r"server\s+(\S+)\s+([^;]*);", blocks.pop(f"reformkpi_{name}")) == [
            (mine, "max_fails=1 fail_timeout=30s"), (other, "backup")]
        assert re.search(rf"\n\s+{name}\s+reformkpi_{name};", conf)
        assert f'"~{re.escape(mine)}$" "reformkpi_server={name}; Path=/; Secure; HttpOnly; SameSite=Lax";' in conf
    assert not blocks
    docs = (ROOT / "docs" / "deployment-two-servers.md").read_text(encoding="utf-8")
    assert "systemctl enable --now " + " ".join(f"reformkpi@{s.rsplit(':', 1)[1]}" for s in servers) in docs


@pytest.mark.parametrize("path", [".streamlit/config.toml", "deploy/config.toml"])
def test_error_boxes_carry_no_details_nor_outside_links(path):
    from streamlit import config as st_config

    client = tomllib.loads((ROOT / path).read_text(encoding="utf-8"))["client"]
    assert set(client) <= set(key.split(".")[1] for key in st_config.get_config_options() if key.startswith("client."))
    assert client["showErrorDetails"] == "none"  # a generic notice; the trace goes to the server log
    assert client["showErrorLinks"] == "false"  # no "Ask Google" / "Ask ChatGPT" under an error
    assert client["toolbarMode"] in ("viewer", "minimal")  # no developer entries (rerun, clear cache, deploy)


def _unit(path) -> dict[str, list[str]]:
    """A systemd unit's settings: name → every value given."""
    out: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def test_the_notifier_reads_the_app_servers_environment_and_may_write_the_store_and_state():
    notify, app = _unit(ROOT / "deploy/reformkpi-notify.service"), _unit(ROOT / "deploy/reformkpi@.service")
    assert notify["EnvironmentFile"] == app["EnvironmentFile"] == ["/etc/reformkpi/reformkpi.env"]
    writable = [p for v in notify["ReadWritePaths"] for p in v.split()]
    example = tomllib.loads((ROOT / "deploy/settings.example.toml").read_text(encoding="utf-8"))
    for key in ("store", "papi_store", "state"):
        assert any(example[key] == w or example[key].startswith(w.rstrip("/") + "/") for w in writable), key
    cron = next(line for line in (ROOT / "docs/notifications.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("*/5 "))
    assert ". /etc/reformkpi/reformkpi.env" in cron and "-m reformkpi notify" in cron
