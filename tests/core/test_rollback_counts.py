"""A rollback's row in the history carries its counts: written with its commit, and counted from the
rows it changed for rollbacks committed before they were."""

from __future__ import annotations

from deltalake import CommitProperties

from reformkpi import versions
from reformkpi.auth import Actor
from reformkpi.store import CommitInfo
from tests.conftest import obs

ADMIN = Actor("quan.tri", "admin")


def test_a_rollback_counts_the_rows_it_brings_back_changes_and_removes(tmp_store):
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 80), ("so-tu-phap", "sipas.overall", "2019", 70)]),
                                  CommitInfo(user="a"))  # v1
    tmp_store.commit_observations(obs([("so-y-te", "sipas.overall", "2019", 81), ("so-noi-vu", "sipas.overall", "2019", 75),
                                       ("so-tu-phap", "sipas.overall", "2020", 72)]), CommitInfo(user="a"))  # v2
    v = versions.rollback(tmp_store, 1, ADMIN, "sai")
    row = tmp_store.history().set_index("version").loc[v]
    # Back to v1: 81 → 80 changed, two rows of v2 removed, nothing new.
    assert (row["rows_new"], row["rows_changed"], row["rows_deleted"]) == (0, 1, 2)
    # A rollback written without counts (an older store) gets them from the rows it changed.
    meta = CommitInfo(user="cu", operation="rollback", reason="cũ").metadata(restored_version=0, base_version=v)
    tmp_store.delta().restore(0, commit_properties=CommitProperties(custom_metadata=meta))
    old = tmp_store.history().iloc[0]
    assert (old["operation"], old["rows_new"], old["rows_changed"], old["rows_deleted"]) == ("rollback", 0, 0, 2)
