"""`python -m reformkpi user add|list|set-role|set-units|password|unlock|remove`: local accounts.

Passwords are typed at a prompt (twice) or, for scripts, read from standard input with
--password-stdin; they never appear on the command line or in the shell history.
"""

from __future__ import annotations

import getpass
import json
import sys

from reformkpi import subscriptions
from reformkpi.auth import ROLES, Accounts, AccountsMoved, operator


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mật khẩu / Password: ")
    if first != getpass.getpass("Nhập lại / Repeat: "):
        raise ValueError("passwords differ")
    return first


def _units(given: str | None) -> list[str] | None:
    """--units "a,b": the unit ids the account may see (reformkpi/visibility.py); absent or "all": every unit."""
    return None if given is None or given.strip() == "all" else given.split(",")


def cmd_user(args) -> int:
    try:
        accounts = Accounts()
    except AccountsMoved as e:
        print(f"Tài khoản cần chuyển chỗ, chưa đọc gì / Accounts must be moved, nothing read: {e}", file=sys.stderr)
        return 2
    try:
        match args.action:
            case "add":
                accounts.add(args.name, args.role, _password(args), _units(args.units))
            case "password":
                accounts.set_password(args.name, _password(args))
            case "set-role":
                accounts.set_role(args.name, args.role)
            case "set-units":
                accounts.set_units(args.name, _units(args.units))
            case "unlock":
                accounts.unlock(args.name)
            case "remove":
                accounts.remove(args.name)
                # The notifier would otherwise keep writing to someone no longer here.
                home = subscriptions.home()
                if home.exists():
                    subscriptions.pause_user(home, operator(getpass.getuser()), args.name)
            case "list":
                listed = accounts.names()
                if args.json:
                    print(json.dumps([{"name": n, "role": r, "units": accounts.units(n)} for n, r in listed.items()]))
                for name, role in () if args.json else listed.items():
                    units = accounts.units(name)
                    print(f"{name}\t{role}" + (f"\t{','.join(units)}" if units else ""))
                return 0
    except (ValueError, EOFError) as e:
        print(f"Không thực hiện được / Refused: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"action": args.action, "name": args.name, "accounts": str(accounts.path)}) if args.json
          else f"{args.action}: {args.name} ({accounts.path})")
    return 0


def register(sub) -> None:
    u = sub.add_parser("user", help="manage local accounts (when no single sign-on is configured)")
    actions = u.add_subparsers(dest="action", required=True)
    for action, needs_role, needs_password in (("add", True, True), ("password", False, True),
                                               ("set-role", True, False), ("set-units", False, False),
                                               ("unlock", False, False), ("remove", False, False)):
        a = actions.add_parser(action)
        a.add_argument("name")
        if needs_role:
            a.add_argument("--role", choices=ROLES, required=True)
        if needs_password:
            a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        if action in ("add", "set-units"):
            a.add_argument("--units", required=action == "set-units",
                           help='the unit ids the account may see, comma-separated ("all": every unit, the default)')
    actions.add_parser("list")
    u.set_defaults(func=cmd_user)
