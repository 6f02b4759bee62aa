"""One SeaweedFS server per test process (started once, stopped at the end), a fresh bucket per
test module, and the project's settings pointing at it (as REFORMKPI_ variables, so that the
processes a test starts find them too). Every module here is marked `objectstore`."""

from __future__ import annotations

import uuid

import pytest

from reformkpi.store import Store
from tests.objectstore.seaweed import Seaweed


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    server = Seaweed(tmp_path_factory.mktemp("seaweed")).start()
    with pytest.MonkeyPatch.context() as mp:
        for k, v in server.environ().items():
            mp.setenv(k, v)
        yield server
    server.stop()


@pytest.fixture(scope="module")
def bucket(seaweed) -> str:
    return seaweed.make_bucket(f"t-{uuid.uuid4().hex[:12]}")


def s3_store(bucket: str, name: str | None = None) -> Store:
    """A new store under the module's bucket."""
    return Store(f"s3://{bucket}/{name or uuid.uuid4().hex[:8]}")
