"""Which units an account may see: an optional scope per account, for what is sent to it.

A scope comes from the local account (`python -m reformkpi user set-units NAME --units a,b`) or from
`[units]` in access.toml (by account name, or verified e-mail for single sign-on). With both, the
account sees the units in both; with neither, every unit. A name that is neither a local account
nor named in access.toml (an account removed since it subscribed) sees nothing. Subscriptions to a unit outside the
scope are refused and the notifier leaves such units out of what it sends; the pages themselves
show every unit to every role.
"""

from __future__ import annotations

from reformkpi.auth import Accounts, Actor, settings


def known(name: str) -> bool:
    """Whether `name` is still someone: a local account, or a name or e-mail that access.toml's
    roles or unit scopes name for single sign-on."""
    s = settings()
    return (name in Accounts().names()
            or name.lower() in (s.roles_by_email or {}) or name.lower() in (s.units_by_name or {}))


def units_for(who: Actor | str) -> frozenset[str] | None:
    """The unit ids `who` (a signed-in actor or an account name) may see; None: every unit; none
    for a name no longer known (`known`)."""
    if isinstance(who, Actor):
        if who.via == "anonymous":
            return None
        who = who.name
    elif not known(who):
        return frozenset()
    scopes = [scope for scope in (Accounts().units(who), (settings().units_by_name or {}).get(who.lower()))
              if scope is not None]
    if not scopes:
        return None
    return frozenset(scopes[0]).intersection(*scopes[1:])
