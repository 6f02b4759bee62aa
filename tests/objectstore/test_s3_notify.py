"""Subscriptions and the notifier's outbox kept in a bucket: every table reached with the store's
storage options (none of them on a local path)."""

from __future__ import annotations

import datetime as dt

import pyarrow.fs as pafs
import pytest

from reformkpi import auth, subscriptions
from reformkpi.notify import outbox
from reformkpi.subscriptions import Target
from tests.objectstore.conftest import s3_store

pytestmark = [pytest.mark.objectstore]
LAN = auth.Actor("lan", "viewer")
NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def test_subscribe_pause_and_the_outbox_on_a_bucket(bucket, demo_store, seaweed):
    store = s3_store(bucket, "notify")
    pafs.copy_files(demo_store.uri, store.uri.removeprefix("s3://"), destination_filesystem=seaweed.filesystem())
    sub = subscriptions.subscribe(store, LAN, Target("unit", "so-y-te"), "email", "lan@tinh.gov.vn", "vi", now=NOW)
    assert store.has(subscriptions.TABLE)
    assert [s.subscription_id for s in subscriptions.active(store)] == [sub.subscription_id]
    subscriptions.set_paused(store, LAN, sub.subscription_id, True)
    assert subscriptions.active(store) == []

    row = (sub.subscription_id, outbox.ALERT, "d1", "<a@b>", {"channel": "email"})
    assert outbox.plan(store, [row], NOW) == 1
    assert outbox.plan(store, [row], NOW) == 0  # read back from the bucket
    assert [m.state for m in outbox.messages(store).values()] == [outbox.PLANNED]
    subscriptions.remove(store, LAN, sub.subscription_id)
    assert subscriptions.list_for(store, LAN) == []
