"""Results kept per data version: computed once, let go least recently used first past the budget."""

import pyarrow as pa

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


def test_the_latest_value_stays_even_over_the_budget_and_clear_forgets_all():
    kept = Kept(budget=100)
    big = kept.get("big", lambda: table(8_000))
    assert kept.get("big", lambda: table(8)) is big
    kept.get("next", lambda: table(8_000))
    assert kept.get("big", lambda: "again") == "again"  # the big one made room for the next
    kept.clear()
    assert kept.get("next", lambda: "anew") == "anew"
