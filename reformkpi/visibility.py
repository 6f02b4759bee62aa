"""Which units an account may see: an optional scope per account, for what is sent to it.

A scope comes from the local account (`python -m reformkpi user set-units NAME --units a,b`) or from
`[units]` in access.toml (by account name, or verified e-mail for single sign-on). With both, the
account sees the units in both; with neither, every unit. Subscriptions to a unit outside the
scope are refused and the notifier leaves such units out of what it sends; the pages themselves
show every unit to every role.
"""

from __future__ import annotations

from reformkpi.auth import Accounts, Actor, settings


def units_for(who: Actor | str) -> frozenset[str] | None:
    """The unit ids `who` (an actor or an account name) may see; None: every unit."""
    if isinstance(who, Actor):
        if who.via == "anonymous":
            return None
        who = who.name
    scopes = [scope for scope in (Accounts().units(who), (settings().units_by_name or {}).get(who.lower()))
              if scope is not None]
    if not scopes:
        return None
    return frozenset(scopes[0]).intersection(*scopes[1:])
