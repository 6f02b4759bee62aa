"""Results kept per data version: computed once, let go least recently used first past the budget."""

import threading

import pyarrow as pa
import pytest

from reformkpi.kept import Kept


def table(n_bytes: int) -> pa.Table:
    return pa.table({"x": [0] * (n_bytes // 8)})  # int64: eight bytes a row


def test_a_value_is_computed_once_and_the_least_recently_used_goes_first():
    kept, calls = Kept(budget=2_000), []

    def make(key):
        calls.append(key)
        return table(800)

    for key in ("a", "b", "a", "c", "a", "b"):  # c pushes out b (a was used since); b comes back
        kept.get(key, lambda key=key: make(key))
    assert calls == ["a", "b", "c", "b"]
    assert "b" in kept and "a" in kept and "c" not in kept  # b made room: c was used least recently


def test_the_latest_value_stays_even_over_the_budget_and_clear_forgets_all():
    kept = Kept(budget=100)
    big = kept.get("big", lambda: table(8_000))
    assert kept.get("big", lambda: table(8)) is big
    kept.get("next", lambda: table(8_000))
    assert kept.get("big", lambda: "again") == "again"  # the big one made room for the next
    kept.clear()
    assert kept.get("next", lambda: "anew") == "anew"


def test_a_key_asked_for_while_it_is_computed_waits_for_that_computation():
    kept, calls = Kept(budget=10_000), []
    started, release = threading.Event(), threading.Event()

    def slow():
        calls.append("slow")
        started.set()
        release.wait(5)
        return "first"

    worker = threading.Thread(target=lambda: kept.get("k", slow))
    worker.start()
    started.wait(5)
    answers = []
    waiter = threading.Thread(target=lambda: answers.append(kept.get("k", lambda: calls.append("again") or "second")))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # waiting, not computing its own
    release.set()
    worker.join(5)
    waiter.join(5)
    assert answers == ["first"] and calls == ["slow"]


def test_a_failed_computation_is_tried_again_by_the_next_to_ask():
    kept = Kept(budget=10_000)

    def fails():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        kept.get("k", fails)
    assert kept.get("k", lambda: "ok") == "ok"
