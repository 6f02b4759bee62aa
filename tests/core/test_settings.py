"""The settings registry: one file and the environment, unknown keys refused, docs/settings.md and the
deployment files in step with it, and the PDF fonts found where a distribution puts them."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from reformkpi import config, exports
from tests.conftest import ROOT

BASE = {"HOME": "/home/lan"}


def test_the_file_then_the_environment_with_defaults_derived_from_the_state_folder(tmp_path):
    f = tmp_path / "reformkpi.toml"
    f.write_text('store = "/srv/kho"\nstate = "/srv/state"\nupload_max_mb = 20\nsession_hours = 4\n', encoding="utf-8")
    s = config.load(f, {**BASE, "REFORMKPI_UPLOAD_MAX_MB": "30"})
    assert (s.store, s.upload_max_mb, s.session_hours) == ("/srv/kho", 30, 4.0)  # the variable wins
    assert s.accounts == Path("/srv/state/accounts.json") and s.sessions == Path("/srv/state/sessions.json")
    assert s.access == Path("/srv/state/access.toml")
    same = config.load(None, {**BASE, "REFORMKPI_SETTINGS": str(f)})  # the file named by the variable
    assert same.store == "/srv/kho" and same.upload_max_mb == 20
    d = config.load(None, BASE)
    assert d.store == "/home/lan/.local/share/reformkpi/store" and d.state == Path("/home/lan/.local/state/reformkpi")
    assert config.load(None, {**BASE, "XDG_DATA_HOME": "/d"}).papi_store == "/d/reformkpi/papi-store"


def test_an_entry_points_defaults_give_way_to_the_file_and_the_environment(tmp_path):
    """app_export's checkout stores: used where nothing else names a store, never over what does."""
    checkout = {"store": "/checkout/data/store", "papi_store": "/checkout/data/papi-store"}
    assert config.load(None, BASE, checkout).store == "/checkout/data/store"
    f = tmp_path / "reformkpi.toml"
    f.write_text('store = "/srv/kho"\n', encoding="utf-8")
    from_file = config.load(f, BASE, checkout)
    assert (from_file.store, from_file.papi_store) == ("/srv/kho", "/checkout/data/papi-store")
    assert config.load(None, {**BASE, "REFORMKPI_STORE": "/env/kho"}, checkout).store == "/env/kho"


@pytest.mark.parametrize("text, environ, says", [
    ("upload_max_m = 20\n", {}, "unknown setting(s) upload_max_m"),
    ("", {"REFORMKPI_UPLOAD_MAXMB": "20"}, "unknown setting(s) REFORMKPI_UPLOAD_MAXMB"),
    ('upload_max_mb = "lots"\n', {}, "upload_max_mb must be a whole number, not 'lots'"),
    ("", {"REFORMKPI_SESSION_HOURS": "-1"}, "session_hours must not be negative"),
    ("upload_max_mb = 2.5\n", {}, "upload_max_mb must be a whole number, not 2.5"),
    ("store = [\n", {}, "settings file"),
])
def test_unknown_keys_and_bad_values_are_refused_by_name(tmp_path, text, environ, says):
    f = tmp_path / "reformkpi.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(config.SettingsError) as e:
        config.load(f, {**BASE, **environ})
    assert says in str(e.value) and str(e.value).startswith("Cấu hình không hợp lệ / Settings refused")


def test_the_command_line_refuses_a_bad_settings_file_and_reads_a_good_one(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("stor = '/x'\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "reformkpi", "--settings", str(bad), "history"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "unknown setting(s) stor; known: store," in out.stderr
    good = tmp_path / "good.toml"
    good.write_text(f"store = '{tmp_path / 'kho'}'\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "reformkpi", "--settings", str(good), "demo", "--last-quarter",
                          "2026-Q3"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "kho" / "observations" / "_delta_log").is_dir()


def test_entry_points_hand_their_settings_down_and_restore_the_environments(monkeypatch, tmp_path):
    monkeypatch.setenv("REFORMKPI_STORE", str(tmp_path / "env"))
    installed = config.load(None, {**BASE, "REFORMKPI_STORE": str(tmp_path / "given")})
    with config.using(installed):
        assert config.store_uri() == str(tmp_path / "given")
    assert config.store_uri() == str(tmp_path / "env")


def test_limits_keep_their_fields_and_take_the_configured_caps():
    assert config.Limits().max_bytes == config.BY_NAME["upload_max_mb"].default * config.MB
    s = config.load(None, {**BASE, "REFORMKPI_UPLOAD_MAX_MB": "7", "REFORMKPI_UPLOAD_WORKER_SECONDS": "9"})
    lim = config.limits(s)
    assert (lim.max_bytes, lim.worker_seconds, lim.worker_memory_mb) == (7 * config.MB, 9, 2048)
    assert lim.max_rows == config.Limits().max_rows


def test_the_settings_page_holds_the_generated_table():
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    table = page.split("<!-- settings table: generated from reformkpi/config.py -->\n")[1].split("<!-- end of")[0]
    assert table == config.markdown_table(), "paste config.markdown_table() between the markers of docs/settings.md"


def test_streamlit_and_nginx_cap_uploads_at_the_registrys_size():
    mb = config.BY_NAME["upload_max_mb"].default
    for path in (ROOT / ".streamlit" / "config.toml", ROOT / "deploy" / "config.toml"):
        assert tomllib.loads(path.read_text(encoding="utf-8"))["server"]["maxUploadSize"] == mb, path
    nginx = re.sub(r"#.*", "", (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8"))
    assert re.findall(r"client_max_body_size\s+(\d+)m;", nginx) == [str(mb)]


def test_pdf_fonts_come_from_the_setting_or_the_first_folder_holding_both(tmp_path):
    half, full = tmp_path / "half", tmp_path / "full"
    half.mkdir(), full.mkdir()
    (half / "DejaVuSans.ttf").write_bytes(b"")
    for name in exports.FONT_FILES:
        (full / name).write_bytes(b"")
    assert exports.font_dir(None, (tmp_path / "none", half, full)) == full
    assert exports.font_dir(full) == full
    with pytest.raises(FileNotFoundError) as e:
        exports.font_dir(half)
    assert "DejaVuSans-Bold.ttf" in str(e.value) and str(half) in str(e.value)
    with pytest.raises(FileNotFoundError):
        exports.font_dir(None, (half,))
