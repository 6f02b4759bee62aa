"""Who may do what: roles, local accounts (argon2 hashes, lock-out) and identity-provider mapping.

The core enforces permissions itself (`require`): a page that hides a button is a convenience,
the refusal lives here. No account or password ships with the project.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reformkpi.config import DATA_DIR

ROLES = ("viewer", "analyst", "admin")
PERMISSIONS = {
    "viewer": {"view"},
    "analyst": {"view", "upload", "snapshot"},
    "admin": {"view", "upload", "snapshot", "rollback", "admin"},
}
NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()


class AuthError(Exception):
    """Sign-in refused. `code` says why (unknown, wrong_password, locked) for the interface's words."""

    def __init__(self, code: str, until: dt.datetime | None = None):
        super().__init__(code)
        self.code, self.until = code, until


class PermissionDenied(PermissionError):
    def __init__(self, actor: Actor | None, permission: str):
        who = actor.name if actor else "anonymous"
        super().__init__(f"{who} may not {permission}")
        self.actor, self.permission = actor, permission


@dataclass(frozen=True)
class Actor:
    """A signed-in person (or the anonymous viewer) and the role they act in."""

    name: str
    role: str
    via: str = "local"  # local, oidc, cli, anonymous

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, set())


ANONYMOUS = Actor("anonymous", "viewer", "anonymous")


def require(actor: Actor | None, permission: str) -> Actor:
    """The actor if it holds the permission; PermissionDenied otherwise."""
    if actor is None or not actor.can(permission):
        raise PermissionDenied(actor, permission)
    return actor


@dataclass(frozen=True)
class Settings:
    anonymous_view: bool = True
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    roles_by_email: dict | None = None  # email → role, for single sign-on
    roles_by_group: dict | None = None  # group → role
    default_sso_role: str = "viewer"


def settings(path: Path | None = None) -> Settings:
    """Access settings from `access.toml` (REFORMKPI_ACCESS), defaults when it is absent."""
    path = Path(path or os.environ.get("REFORMKPI_ACCESS", DATA_DIR / "access.toml"))
    if not path.exists():
        return Settings()
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    roles = raw.get("roles", {})
    for table in (roles.get("by_email", {}), roles.get("by_group", {})):
        bad = {r for r in table.values() if r not in ROLES}
        if bad:
            raise ValueError(f"{path}: unknown role(s) {sorted(bad)}")
    return Settings(anonymous_view=bool(raw.get("anonymous_view", True)),
                    max_failed_logins=int(raw.get("max_failed_logins", 5)),
                    lockout_minutes=int(raw.get("lockout_minutes", 15)),
                    roles_by_email={k.lower(): v for k, v in roles.get("by_email", {}).items()},
                    roles_by_group=dict(roles.get("by_group", {})),
                    default_sso_role=roles.get("default", "viewer"))


def actor_from_identity(user_info: dict, s: Settings) -> Actor:
    """The role of someone signed in through the province's identity provider (OIDC claims)."""
    email = str(user_info.get("email", "")).lower()
    ranks = [ROLES.index(s.default_sso_role)]
    if email in (s.roles_by_email or {}):
        ranks.append(ROLES.index(s.roles_by_email[email]))
    groups = user_info.get("groups") or []
    ranks += [ROLES.index(s.roles_by_group[g]) for g in groups if g in (s.roles_by_group or {})]
    return Actor(email or str(user_info.get("sub", "unknown")), ROLES[max(ranks)], "oidc")


class Accounts:
    """Local accounts in one JSON file, updated under a file lock with an atomic replace."""

    def __init__(self, path: Path | None = None, s: Settings | None = None):
        self.path = Path(path or os.environ.get("REFORMKPI_ACCOUNTS", DATA_DIR / "accounts.json"))
        self.settings = s or settings()

    @contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            try:
                yield data
            finally:  # a refused sign-in still records its failure count
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)

    def _read(self) -> dict:
        return json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else {}

    def names(self) -> dict[str, str]:
        return {n: a["role"] for n, a in sorted(self._read().items())}

    def add(self, name: str, role: str, password: str) -> None:
        if not NAME.match(name):
            raise ValueError("name: 2–64 characters of a-z 0-9 . _ @ -")
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"password: at least {MIN_PASSWORD} characters")
        with self._locked() as data:
            if name in data:
                raise ValueError(f"account {name!r} exists")
            data[name] = {"role": role, "hash": _hasher.hash(password), "failed": 0, "locked_until": None}

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        with self._locked() as data:
            data[self._known(data, name)]["role"] = role

    def set_password(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"password: at least {MIN_PASSWORD} characters")
        with self._locked() as data:
            data[self._known(data, name)].update(hash=_hasher.hash(password), failed=0, locked_until=None)

    def remove(self, name: str) -> None:
        with self._locked() as data:
            del data[self._known(data, name)]

    def unlock(self, name: str) -> None:
        with self._locked() as data:
            data[self._known(data, name)].update(failed=0, locked_until=None)

    @staticmethod
    def _known(data: dict, name: str) -> str:
        if name not in data:
            raise ValueError(f"no account {name!r}")
        return name

    def sign_in(self, name: str, password: str, now: dt.datetime | None = None) -> Actor:
        """The account's actor, or AuthError. Repeated failures lock the account for a while."""
        now = now or dt.datetime.now(dt.UTC)
        with self._locked() as data:
            account = data.get(name)
            if account is None:
                _hasher.hash(password)  # spend the same time as for a real account
                raise AuthError("unknown")
            until = account.get("locked_until")
            if until and dt.datetime.fromisoformat(until) > now:
                raise AuthError("locked", dt.datetime.fromisoformat(until))
            try:
                _hasher.verify(account["hash"], password)
            except (VerificationError, InvalidHashError):
                account["failed"] = account.get("failed", 0) + 1
                if account["failed"] >= self.settings.max_failed_logins:
                    locked = now + dt.timedelta(minutes=self.settings.lockout_minutes)
                    account.update(failed=0, locked_until=locked.isoformat())
                    raise AuthError("locked", locked) from None
                raise AuthError("wrong_password") from None
            account.update(failed=0, locked_until=None)
            if _hasher.check_needs_rehash(account["hash"]):
                account["hash"] = _hasher.hash(password)
            return Actor(name, account["role"], "local")


def operator(name: str) -> Actor:
    """Whoever runs the command line on the server: the operating system already let them at the
    store's files, so they act as an administrator under their own name."""
    return Actor(name, "admin", "cli")
