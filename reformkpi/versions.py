"""Versions of a store: every write is a new version, and none is lost. What each version changed is
read with `Store.history` and `Store.changes`; this module holds the two writes that make a version
other than an upload (`reformkpi.ingest`): `rollback`, which makes an earlier version current again
as a new commit, and `update_catalog`, which publishes an edited catalog. Both are administrators'
(`auth.require`): the role check lives here, not in the pages or the command line.
"""

from __future__ import annotations

from reformkpi import audit
from reformkpi.auth import Actor, require
from reformkpi.catalog import Catalog, CatalogError, load_dir
from reformkpi.i18n import DEFAULT
from reformkpi.store import CommitInfo, Store


def rollback(store: Store, version: int, actor: Actor, reason: str) -> int:
    """Make `version` current again as a new commit that records who and why."""
    require(actor, "rollback")
    if not reason.strip():
        raise ValueError("a rollback needs a reason")
    return store.restore(version, CommitInfo(user=actor.name, operation="rollback", reason=reason))


def update_catalog(store: Store, actor: Actor, directory) -> None:
    """Publish an edited catalog (units, indicators, targets, grade bands) as new catalog versions.

    Administrators only; the files are checked as a whole (broken references refuse everything), and
    a catalog under which stored rows would break a rule they now keep (a term ended before figures
    of the unit, a stored indicator made computed) is refused with those rows listed.
    """
    require(actor, "admin")
    tables = load_dir(directory)
    current = Catalog.from_tables(store.read_catalog())
    # The refusal is a CatalogError's plain text, its rows' messages in the default language as before.
    broken = audit.new_violations(store.read().to_pandas(), current, Catalog.from_tables(tables), DEFAULT)
    if not broken.empty:
        listed = "; ".join(f"{r.unit_id} · {r.indicator_id} · {r.period}: {r.message}" for r in broken.head(20).itertuples())
        raise CatalogError(f"{len(broken)} stored rows would break a rule: {listed}")
    store.write_catalog(tables, CommitInfo(user=actor.name, operation="catalog", file_name=str(directory)))
