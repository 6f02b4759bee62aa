"""Results kept for one data version, which never changes: computed once, shared by every session
(Streamlit runs them on several threads), the least recently used let go first once they hold
more than a byte budget.

A value is computed outside the lock, so a slow computation never holds up another session's
hits. A key is computed once at a time: whoever asks for it meanwhile waits for that computation
(two sessions opening the same view, or the figures of one page computed side by side, read the
same rows once); if it fails, the next to ask computes it again.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import pandas as pd

T = TypeVar("T")


def nbytes(value: Any) -> int:
    """What a kept value holds in memory (Arrow tables and pandas frames by their buffers; a value with an
    `nbytes` of its own by that)."""
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=True).sum())
    size = getattr(value, "nbytes", None)  # Arrow tables, and values that weigh themselves
    return size if isinstance(size, int) else sys.getsizeof(value)


class Kept:
    """Values by key within `budget` bytes (the latest stays, whatever its size)."""

    def __init__(self, budget: int):
        self.budget = budget
        self._values: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Event] = {}

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        while True:
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key][0]
                running = self._computing.get(key)
                if running is None:
                    done = self._computing[key] = threading.Event()
                    break
            running.wait()
        try:
            value = make()
            size = nbytes(value)
            with self._lock:
                self._values[key] = (value, size)
                self._bytes += size
                while len(self._values) > 1 and self._bytes > self.budget:
                    self._bytes -= self._values.popitem(last=False)[1][1]
        finally:
            with self._lock:
                del self._computing[key]
            done.set()
        return value

    def __contains__(self, key: Hashable) -> bool:
        """Whether the value of `key` is kept (one being computed is not yet)."""
        with self._lock:
            return key in self._values

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._bytes = 0
