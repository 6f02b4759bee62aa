"""The configuration, in one module: every setting of the server and the command line declared
once (`Settings`: name, type, default, help), loaded from one TOML file and the environment
(`load`), installed for a run (`using`, `settings()`), and what follows from it: where things live
(the package's data, the stores) and the upload limits (`Limits`).

Values come from one TOML file (its path in `REFORMKPI_SETTINGS` or the command line's
`--settings`), then from `REFORMKPI_<NAME>` environment variables, which win. Entry points load
them at start (`load`) and install them for their run (`using`); a caller with none installed (a
test, an AppTest page) gets them loaded from the environment at the call; nothing reads the
environment at import time. A key the registry does not know, in the file or as a `REFORMKPI_`
variable, is refused with the list of known ones, so a typo never passes silently.

One module, not a registry (settings.py) beside a "config" (config.py): both answered "where is
this setting?", and a newcomer had to open the two to learn which held what.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_type_hints
from urllib.parse import urlsplit

FILE_VARIABLE = "REFORMKPI_SETTINGS"
PREFIX = "REFORMKPI_"


class SettingsError(ValueError):
    """A settings file or variable the server cannot start with: which one, and why."""

    def __str__(self) -> str:
        return f"Cấu hình không hợp lệ / Settings refused: {self.args[0]}"


def _declare(default: Any, help: str, doc: str = "", secret: bool = False) -> Any:
    """A setting's default (None: derived when loaded, see `_derived`), its help, and how README
    shows a derived default; a secret is left out of the settings' repr (and so of any log)."""
    return field(default=default, repr=not secret, metadata={"help": help, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """Every setting, declared once: its name, type, default and help; a loaded value per field."""

    store: str = _declare(None, "the demo dataset's live store: a directory or an object-store URI",
                          "`$XDG_DATA_HOME/reformkpi/store` (else `~/.local/share/reformkpi/store`)")
    papi_store: str = _declare(None, "the PAPI dataset's store (built by `reformkpi papi`)",
                               "`$XDG_DATA_HOME/reformkpi/papi-store`")
    state: Path = _declare(None, "the server's own state folder (accounts, sessions, access settings); "
                           "outside the checkout, never served",
                           "`$XDG_STATE_HOME/reformkpi` (else `~/.local/state/reformkpi`)")
    accounts: Path = _declare(None, "the local accounts file", "`<state>/accounts.json`")
    access: Path = _declare(None, "access settings: anonymous viewing, single sign-on roles "
                            "(see deploy/access.example.toml)", "`<state>/access.toml`")
    sessions: Path = _declare(None, "open sign-in sessions", "`<state>/sessions.json`")
    session_secret: str = _declare("", "the cookie's signing secret, shared by every app server "
                                   "(empty: a random one kept beside the sessions)")
    session_hours: float = _declare(8.0, "how long a local sign-in lasts")
    upload_max_mb: int = _declare(50, "the largest upload, in MB (Streamlit's and nginx's caps are checked against it)")
    upload_worker_mb: int = _declare(2048, "data memory of the process that reads a page's upload, in MB")
    upload_worker_seconds: int = _declare(120, "time allowed to the process that reads a page's upload")
    cache_mb: int = _declare(1024, "memory an app server's computed results may hold, in MB, shared by every "
                             "session (the least recently used are let go first)")
    tmp: Path = _declare(None, "where a records ingest stages its temporary files", "the system's temporary folder")
    s3_endpoint: str = _declare("", "the object store's endpoint for `s3://` stores (https; plain http only on "
                                "localhost), e.g. `https://s3.example.gov.vn` (empty: AWS)")
    s3_region: str = _declare("us-east-1", "the object store's region")
    s3_access_key_id: str = _declare("", "the object store's access key id (never in the store's URI)")
    s3_secret_access_key: str = _declare("", "the object store's secret access key", secret=True)
    font_dir: Path | None = _declare(None, "a folder with DejaVuSans.ttf and DejaVuSans-Bold.ttf for PDF exports "
                                     "(Vietnamese coverage)",
                                     "searched: Debian's, Fedora's, Arch's and the user's font folders")
    # The notifier (`python -m reformkpi notify`, reformkpi/notify/): e-mail, webhooks and links.
    public_url: str = _declare("", "the app's address as readers open it (links in messages), e.g. "
                               "https://cchc.example.gov.vn")
    smtp_host: str = _declare("", "the mail server the notifier sends through (empty: no e-mail is sent)")
    smtp_port: int = _declare(587, "its port (587: submission with STARTTLS)")
    smtp_starttls: bool = _declare(True, "require STARTTLS before signing in and sending (false only for a "
                                   "relay on this machine)")
    smtp_user: str = _declare("", "the account the notifier signs in to the mail server with (empty: no sign-in)")
    smtp_password: str = _declare("", "its password (a secret: never logged or shown)",
                               secret=True)
    smtp_cafile: Path | None = _declare(None, "a CA certificate file the mail server's certificate is checked "
                                        "against", "the system's trusted certificates")
    mail_from: str = _declare("", "the sender of notifications, e.g. CCHC <cchc@example.gov.vn>")
    mail_per_minute: int = _declare(30, "at most this many messages a minute (the mail server's limit)")
    webhook_secret: str = _declare("", "the key webhook bodies are signed with (HMAC-SHA256), shared with "
                                   "the receiver", secret=True)


@dataclass(frozen=True)
class Setting:
    name: str
    type: type  # str, int, float or Path
    default: object
    help: str
    default_doc: str = ""

    @property
    def variable(self) -> str:
        return PREFIX + self.name.upper()


def _kind(hint: object) -> type:
    """The one type a value is converted to (a setting that may be unset is `T | None`)."""
    args = [a for a in get_args(hint) if a is not type(None)]
    return args[0] if args else hint  # type: ignore[return-value]  # hint is a class here


_HINTS = get_type_hints(Settings)
SETTINGS = tuple(Setting(f.name, _kind(_HINTS[f.name]), f.default, f.metadata["help"], f.metadata["doc"])
                 for f in fields(Settings))
BY_NAME = {s.name: s for s in SETTINGS}
KINDS = {int: "a whole number", float: "a number", str: "text", Path: "a path", bool: "true or false"}
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _convert(setting: Setting, value: object, where: str) -> object:
    if setting.type is bool:  # TOML's true/false, or a variable's text
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in BOOLEANS:
            return BOOLEANS[value.strip().lower()]
        raise SettingsError(f"{where}: {setting.name} must be {KINDS[bool]}, not {value!r}")
    try:
        if setting.type is int and (isinstance(value, bool) or isinstance(value, float)):
            raise ValueError
        converted = setting.type(value)
    except (TypeError, ValueError):
        kind = KINDS[setting.type]
        raise SettingsError(f"{where}: {setting.name} must be {kind}, not {value!r}") from None
    if setting.type in (int, float) and converted < 0:
        raise SettingsError(f"{where}: {setting.name} must not be negative, not {value!r}")
    return converted


def _unknown(keys: list[str], where: str, known: str) -> SettingsError:
    return SettingsError(f"{where}: unknown setting(s) {', '.join(sorted(keys))}; known: {known}")


def _derived(values: dict, environ: Mapping[str, str]) -> dict:
    home = Path(environ.get("HOME") or Path.home())
    data = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "reformkpi"
    state = values["state"] or Path(environ.get("XDG_STATE_HOME") or home / ".local" / "state") / "reformkpi"
    return {**values, "state": state,
            "store": values["store"] or str(data / "store"),
            "papi_store": values["papi_store"] or str(data / "papi-store"),
            "accounts": values["accounts"] or state / "accounts.json",
            "access": values["access"] or state / "access.toml",
            "sessions": values["sessions"] or state / "sessions.json",
            "tmp": values["tmp"] or Path(tempfile.gettempdir())}


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def endpoint_refused(url: str) -> str | None:
    """Why an object store's endpoint is refused (None: it is not): an http(s) URL is expected, and
    plain HTTP, which would carry the credentials and the data in clear, only to this machine."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"s3_endpoint {url}: an http(s) URL is expected"
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        return (f"s3_endpoint {url}: plain HTTP would send the store's credentials and data in clear; "
                "use https (plain http is allowed only on localhost)")
    return None


def load(path: Path | str | None = None, environ: Mapping[str, str] | None = None,
         defaults: Mapping[str, str] | None = None) -> Settings:
    """The settings from `path` (else the file `REFORMKPI_SETTINGS` names, else none), then the
    environment; `defaults` (by setting name) stand in for the registry's where neither sets one.
    Raises SettingsError for an unreadable file, an unknown key or a bad value."""
    environ = os.environ if environ is None else environ
    values: dict = {s.name: s.default for s in SETTINGS}
    values.update({k: _convert(BY_NAME[k], v, "defaults") for k, v in (defaults or {}).items()})
    path = path or environ.get(FILE_VARIABLE)
    if path:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise SettingsError(f"settings file {path}: {e}") from None
        if unknown := [k for k in raw if k not in BY_NAME]:
            raise _unknown(unknown, f"settings file {path}", ", ".join(BY_NAME))
        values.update({k: _convert(BY_NAME[k], v, f"settings file {path}") for k, v in raw.items()})
    variables = {s.variable: s for s in SETTINGS}
    ours = [k for k in environ if k.startswith(PREFIX) and k != FILE_VARIABLE]
    if unknown := [k for k in ours if k not in variables]:
        raise _unknown(unknown, "environment", ", ".join([FILE_VARIABLE, *variables]))
    for key in ours:
        if environ[key] != "":
            values[variables[key].name] = _convert(variables[key], environ[key], key)
    if reason := endpoint_refused(values["s3_endpoint"]):
        raise SettingsError(reason)
    return Settings(**_derived(values, environ))


def markdown_table() -> str:
    """README's settings table, generated from the registry (a test checks README holds it)."""
    rows = ["| setting | variable | value | default | what |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        default = s.default_doc or (f"`{s.default}`" if s.default != "" else "empty")
        rows.append(f"| `{s.name}` | `{s.variable}` | {KINDS[s.type]} | {default} | {s.help} |")
    return "\n".join(rows) + "\n"


# The settings in use for a run, and what follows from them.

# Where the `reformkpi` package is imported from: the working folder of the child processes it starts.
IMPORT_ROOT = Path(__file__).resolve().parent.parent
# The data the core ships, inside the package (an installed core has no checkout to read from).
DATA_DIR = Path(str(resources.files("reformkpi").joinpath("data")))
CATALOG_DIR = DATA_DIR / "catalog"
PAPI_DIR = DATA_DIR / "papi"
DATASETS = ("demo", "papi")
MB = 1024 * 1024
UPLOAD_MAX_MB: int = Settings.upload_max_mb

_installed: list[Settings] = []


def settings() -> Settings:
    """The settings installed by the entry point, else those of the environment now."""
    return _installed[-1] if _installed else load()


def install(s: Settings) -> None:
    """Install `s` for the rest of the process (a server, from its start)."""
    _installed[:] = [s]


@contextmanager
def using(s: Settings) -> Iterator[Settings]:
    """Install `s` for the code run inside (a command, a server's life), then restore the previous."""
    _installed.append(s)
    try:
        yield s
    finally:
        _installed.pop()


@dataclass(frozen=True)
class Limits:
    """What an uploaded file may hold. Sizes the file declares (zip directory, Parquet footer) are
    checked before anything is decompressed; the rest is counted while reading, which stops at the
    first limit passed. The worker limits cap the process that parses a page's upload. The
    defaults are the registry's; `limits()` gives the configured ones."""

    max_bytes: int = UPLOAD_MAX_MB * MB
    max_rows: int = 2_000_000
    max_columns: int = 200
    max_cells: int = 16_000_000  # rows × columns held in memory at once
    max_sheets: int = 30
    # An XLSX's parts together, and any one part (a sheet, the shared strings), as its zip directory
    # declares them: 32 MB of sheet XML is some 200,000 rows of the long form, half a minute of
    # parsing (larger tables come as CSV or Parquet).
    max_unzipped_bytes: int = 64 * MB
    max_part_bytes: int = 32 * MB
    max_zip_ratio: float = 150.0
    max_decoded_bytes: int = 512 * MB  # a Parquet file's columns once decompressed and decoded
    max_field_chars: int = 32_767  # one cell: Excel's own limit
    max_name_chars: int = 120  # file, profile and snapshot names
    worker_memory_mb: int = Settings.upload_worker_mb
    worker_seconds: int = Settings.upload_worker_seconds


def limits(s: Settings | None = None) -> Limits:
    """The upload limits with the configured size and worker caps."""
    s = s or settings()
    return Limits(max_bytes=s.upload_max_mb * MB, worker_memory_mb=s.upload_worker_mb,
                  worker_seconds=s.upload_worker_seconds)


def store_uri(dataset: str = "demo", s: Settings | None = None) -> str:
    """The live store of a dataset: a directory (or an object-store URI) shared by every app server."""
    s = s or settings()
    return s.papi_store if dataset == "papi" else s.store


def records_tmp_dir(s: Settings | None = None) -> str:
    """Where a records ingest stages its temporary files (about the export's size; removed after)."""
    return str((s or settings()).tmp)
