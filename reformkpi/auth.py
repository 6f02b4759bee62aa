"""Who may do what: roles, local accounts (argon2 hashes, throttled sign-in) and identity-provider mapping.

The core enforces permissions itself (`require`): a page that hides a button is a convenience,
the refusal lives here. No account or password ships with the project.

Sign-in throttling is per client, never per account: wrong passwords from one client (the
browser's address as the proxy saw it) make that client wait, for that name and, after more
failures, for every name. A stranger who types an administrator's name with wrong passwords
locks out only themselves; the administrator signs in from their own machine as usual. Unknown
names and wrong passwords get the same refusal, after the same argon2 work.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import time
import tomllib
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reformkpi import config

ROLES = ("viewer", "analyst", "admin")
PERMISSIONS = {
    "viewer": {"view", "subscribe"},
    "analyst": {"view", "subscribe", "upload", "snapshot"},
    "admin": {"view", "subscribe", "upload", "snapshot", "rollback", "admin"},
}
SIGNED_IN_ONLY = {"subscribe"}  # a role's permissions the anonymous viewer does not get: it has no one to tell
NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")  # matched whole (fullmatch: `$` would let a final newline by)
MIN_PASSWORD = 10
LOCK_WAIT_SECONDS = 5.0  # a sign-in waits this long for the accounts file, then gives up
CLIENT_FAILURE_FACTOR = 4  # a client's failures over every name, in multiples of max_failed_logins
MAX_THROTTLE_ENTRIES = 10_000  # the throttle file keeps the most recent clients only
_hasher = PasswordHasher()
log = logging.getLogger(__name__)


class AuthError(Exception):
    """Sign-in refused. `code` is "refused" (unknown name or wrong password: one answer for both),
    "throttled" (this client must wait `until`) or "busy" (the accounts file stayed locked)."""

    def __init__(self, code: str, until: dt.datetime | None = None):
        super().__init__(code)
        self.code, self.until = code, until


class PermissionDenied(PermissionError):
    """`ended`: the actor's sign-in is over (session closed or expired, account removed, role
    changed since), as opposed to a role that never held the permission."""

    def __init__(self, actor: Actor | None, permission: str, ended: bool = False):
        who = actor.name if actor else "anonymous"
        super().__init__(f"{who} may not {permission}" + (" (sign-in ended)" if ended else ""))
        self.actor, self.permission, self.ended = actor, permission, ended


@dataclass(frozen=True)
class Actor:
    """A person (or the anonymous viewer) and the role they act in.

    `via` says who vouches for them: "local" (this server's sign-in form; `session` names the
    server-side session, reformkpi/sessions.py, checked again at every `require`), "oidc" (the
    province's identity provider, read again by the app at every run), "anonymous", or "cli":
    whoever the operating system let run code against the store's files (the command line, a
    script, a test), which is the default since only the web app has anyone else to ask.
    """

    name: str
    role: str
    via: str = "cli"
    session: str | None = field(default=None, repr=False)  # a secret: kept out of logs

    def can(self, permission: str) -> bool:
        if self.via == "anonymous" and permission in SIGNED_IN_ONLY:
            return False
        return permission in PERMISSIONS.get(self.role, set())


ANONYMOUS = Actor("anonymous", "viewer", "anonymous")


def require(actor: Actor | None, permission: str) -> Actor:
    """The actor if it holds the permission and, for a local sign-in, is still signed in as it was:
    its session open and unexpired and its account there with the same role, read now from the
    sessions and accounts files (a tab kept open after `user remove`, a role change, a sign-out
    elsewhere or the session's end is refused here, whatever the page remembered). PermissionDenied
    otherwise."""
    if actor is None or not actor.can(permission):
        raise PermissionDenied(actor, permission)
    if actor.via == "local":
        from reformkpi import sessions  # sessions builds on this module

        if sessions.actor(actor.session) != actor:
            raise PermissionDenied(actor, permission, ended=True)
    return actor


def account_name(name: str) -> str:
    """A new account's name in its one stored form (Unicode NFC), or ValueError saying what is wrong:
    a control or invisible character (a pasted newline, a tab), or outside the allowed form."""
    name = unicodedata.normalize("NFC", name)
    for i, ch in enumerate(name, 1):
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise ValueError(f"name: control character U+{ord(ch):04X} at position {i}")
    if not NAME.fullmatch(name):
        raise ValueError("name: 2–64 characters of a-z 0-9 . _ @ -, starting with a letter or digit")
    return name


@dataclass(frozen=True)
class Settings:
    anonymous_view: bool = True
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    roles_by_email: dict | None = None  # email → role, for single sign-on
    roles_by_group: dict | None = None  # group → role
    default_sso_role: str = "viewer"
    units_by_name: dict | None = None  # account name (or verified e-mail) → the unit ids it may see


def settings(path: Path | None = None) -> Settings:
    """Access settings from `access.toml` (the `access` setting), defaults when it is absent."""
    path = Path(path or config.settings().access)
    if not path.exists():
        return Settings()
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    roles = raw.get("roles", {})
    units = raw.get("units", {})
    if not isinstance(units, dict) or not all(isinstance(v, list) and all(isinstance(u, str) for u in v)
                                              for v in units.values()):
        raise ValueError(f"{path}: [units] maps an account to a list of unit ids")
    for table in (roles.get("by_email", {}), roles.get("by_group", {})):
        bad = {r for r in table.values() if r not in ROLES}
        if bad:
            raise ValueError(f"{path}: unknown role(s) {sorted(bad)}")
    return Settings(anonymous_view=bool(raw.get("anonymous_view", True)),
                    max_failed_logins=int(raw.get("max_failed_logins", 5)),
                    lockout_minutes=int(raw.get("lockout_minutes", 15)),
                    roles_by_email={k.lower(): v for k, v in roles.get("by_email", {}).items()},
                    roles_by_group=dict(roles.get("by_group", {})),
                    default_sso_role=roles.get("default", "viewer"),
                    units_by_name={k.lower(): v for k, v in units.items()})


def actor_from_identity(user_info: dict, s: Settings) -> Actor:
    """The role of someone signed in through the province's identity provider (OIDC claims).

    An e-mail counts (for the role and as the name in the audit trail) only when the provider
    says it verified it: many providers let a user type any address. Groups are the provider's own.
    """
    verified = user_info.get("email_verified") is True or str(user_info.get("email_verified")).lower() == "true"
    email = str(user_info.get("email", "")).lower() if verified else ""
    by_email, by_group = s.roles_by_email or {}, s.roles_by_group or {}
    ranks = [ROLES.index(s.default_sso_role)]
    if email in by_email:
        ranks.append(ROLES.index(by_email[email]))
    groups = user_info.get("groups") or []
    ranks += [ROLES.index(by_group[g]) for g in groups if g in by_group]
    return Actor(email or str(user_info.get("sub", "unknown")), ROLES[max(ranks)], "oidc")


CHECKOUT_DATA = config.IMPORT_ROOT / "data"  # where an older installation kept its accounts


class AccountsMoved(RuntimeError):
    """The accounts of an older installation are still in the checkout, and none are where they
    are kept now: nothing is read until the operator moves them (README, "Roles, sign-in")."""

    def __init__(self, old: Path, new: Path):
        super().__init__(f"accounts are kept outside the checkout now: move {old} to {new} "
                         f"(mkdir -p -m 700 {new.parent} && mv {old} {new}), or set REFORMKPI_ACCOUNTS={old}")
        self.old, self.new = old, new


def accounts_path() -> Path:
    """The `accounts` setting (accounts.json in the state folder, outside the checkout, unless set);
    AccountsMoved while an older installation's data/accounts.json in the checkout waits to be moved there."""
    s = config.settings()
    old = CHECKOUT_DATA / "accounts.json"
    if s.accounts == s.state / "accounts.json" and old.exists() and not s.accounts.exists():
        raise AccountsMoved(old, s.accounts)
    return s.accounts


def _open_private(path: Path, flags: int) -> int:
    """A file descriptor on `path`, created 0600 (the mode is given at creation, so no moment
    exists when another user could open it); an existing file is brought back to 0600."""
    fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by this account only from the first byte."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = _open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def client_key(remote: str | None, forwarded_for: str | None) -> str:
    """Who is signing in, as far as throttling goes: the peer's address, or, when the peer is this
    machine (the reverse proxy; Streamlit reports it as None), the address the proxy appended last
    to X-Forwarded-For (earlier entries are the client's own words)."""
    if remote in (None, "127.0.0.1", "::1") and forwarded_for:
        return forwarded_for.split(",")[-1].strip() or "local"
    return remote or "local"


class Accounts:
    """Local accounts in one JSON file, updated under a file lock with an atomic replace; sign-in
    failures in a second file beside it, keyed by client."""

    def __init__(self, path: Path | None = None, s: Settings | None = None):
        self.path = Path(path or accounts_path())
        self.throttle_path = self.path.with_name(self.path.stem + ".throttle.json")
        self.settings = s or settings()

    @contextmanager
    def _locked(self, path: Path | None = None, write: bool = True):
        path = path or self.path
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = _open_private(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT)
        try:
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise AuthError("busy") from None
                    time.sleep(0.05)
            data = self._read(path)
            try:
                yield data
            finally:  # a refused sign-in still records its failure
                if write:
                    write_private(path, json.dumps(data, ensure_ascii=False, indent=1))
        finally:
            os.close(fd)

    @staticmethod
    def _read(path: Path) -> dict:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def names(self) -> dict[str, str]:
        return {n: a["role"] for n, a in sorted(self._read(self.path).items())}

    def add(self, name: str, role: str, password: str, units: list[str] | None = None) -> None:
        name = account_name(name)
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"password: at least {MIN_PASSWORD} characters")
        with self._locked() as data:
            if name in data:
                raise ValueError(f"account {name!r} exists")
            data[name] = {"role": role, "hash": _hasher.hash(password)}
            if units is not None:
                data[name]["units"] = _unit_ids(units)

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        with self._locked() as data:
            data[self._known(data, name)]["role"] = role

    def set_units(self, name: str, units: list[str] | None) -> None:
        """Limit the account to these units (reformkpi/visibility.py); None: every unit."""
        with self._locked() as data:
            account = data[self._known(data, name)]
            if units is None:
                account.pop("units", None)
            else:
                account["units"] = _unit_ids(units)

    def units(self, name: str) -> list[str] | None:
        """The account's unit scope, None when it has none (or no such account)."""
        return self._read(self.path).get(name, {}).get("units")

    def set_password(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"password: at least {MIN_PASSWORD} characters")
        with self._locked() as data:
            data[self._known(data, name)]["hash"] = _hasher.hash(password)

    def remove(self, name: str) -> None:
        with self._locked() as data:
            del data[self._known(data, name)]

    def unlock(self, name: str) -> None:
        """Forget every client's failures against this name (the clients' own totals stay)."""
        with self._locked(write=False) as data:
            self._known(data, name)
        with self._locked(self.throttle_path) as throttle:
            for key in [k for k, v in throttle.items() if v.get("name") == _digest(name)]:
                del throttle[key]

    @staticmethod
    def _known(data: dict, name: str) -> str:
        if name not in data:
            raise ValueError(f"no account {name!r}")
        return name

    def sign_in(self, name: str, password: str, now: dt.datetime | None = None, client: str = "local") -> Actor:
        """The account's actor, or AuthError. Failures make this client wait, never the account."""
        now = now or dt.datetime.now(dt.UTC)
        pair, own = _digest(f"{client}\n{name}"), _digest(client)
        with self._locked(self.throttle_path) as throttle:
            _prune(throttle, now)
            until = max((dt.datetime.fromisoformat(throttle[k]["until"]) for k in (pair, own)
                         if throttle.get(k, {}).get("until")), default=None)
            if until and until > now:
                raise AuthError("throttled", until)
            with self._locked(write=False) as data:
                account = data.get(name)
            try:
                if account is None:
                    _hasher.hash(password)  # the same argon2 work as for a real account
                    raise VerificationError
                _hasher.verify(account["hash"], password)
            except (VerificationError, InvalidHashError):
                self._failed(throttle, pair, own, name, now)
                raise AuthError("refused") from None
            throttle.pop(pair, None)
        if _hasher.check_needs_rehash(account["hash"]):
            with self._locked() as data:
                if name in data:
                    data[name]["hash"] = _hasher.hash(password)
        return Actor(name, account["role"], "local")

    def _failed(self, throttle: dict, pair: str, own: str, name: str, now: dt.datetime) -> None:
        wait = dt.timedelta(minutes=self.settings.lockout_minutes)
        for key, limit in ((pair, self.settings.max_failed_logins),
                           (own, self.settings.max_failed_logins * CLIENT_FAILURE_FACTOR)):
            entry = throttle.setdefault(key, {"failed": 0})
            entry.update(failed=entry["failed"] + 1, seen=now.isoformat())
            if key == pair:
                entry["name"] = _digest(name)
            if entry["failed"] >= limit:
                entry.update(failed=0, until=(now + wait).isoformat())
                log.warning("sign-in throttled for a client after %s failures", limit)


def _unit_ids(units: list[str]) -> list[str]:
    ids = sorted({u.strip() for u in units if u.strip()})
    if not ids:
        raise ValueError("units: at least one unit id (or no scope at all)")
    return ids


def _digest(text: str) -> str:
    """Throttle keys are hashed: the file holds no addresses or names in clear."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _prune(throttle: dict, now: dt.datetime) -> None:
    """Drop entries a day old whose wait is over; keep the file bounded whatever a flood sends."""
    day = (now - dt.timedelta(days=1)).isoformat()
    for key in [k for k, v in throttle.items() if v.get("seen", "") < day and v.get("until", "") < now.isoformat()]:
        del throttle[key]
    if len(throttle) > MAX_THROTTLE_ENTRIES:
        for key in sorted(throttle, key=lambda k: throttle[k].get("seen", ""))[:len(throttle) - MAX_THROTTLE_ENTRIES]:
            del throttle[key]


def operator(name: str) -> Actor:
    """Whoever runs the command line on the server: the operating system already let them at the
    store's files, so they act as an administrator under their own name."""
    return Actor(name, "admin", "cli")
