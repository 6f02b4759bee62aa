"""How the shared caches key a function passed to them: by its module and qualified name, the same
in every session and every process (Streamlit cannot hash a function object itself); and a frame:
by its content, worked out once for a shared core result (`share`)."""

from __future__ import annotations

import hashlib
import pickle
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

T = TypeVar("T")


def function_key(fn: types.FunctionType) -> str:
    if "<" in fn.__qualname__:  # a lambda or a nested function: its name does not tell it from another
        raise TypeError(f"{fn.__module__}.{fn.__qualname__}: cached calls take module-level functions")
    return f"{fn.__module__}.{fn.__qualname__}"


# Shared results by id, each with its digest once worked out; an entry goes with its frame.
_shared: dict[int, tuple[weakref.ref, list[bytes]]] = {}
# Reentrant: a garbage collection started by an allocation inside `share` may run a `gone` callback
# on the same thread, which would wait for a plain lock forever.
_lock = threading.RLock()


def share(value: T) -> T:
    """Mark a core result that every session reads and none changes (data.query's): its digest is
    worked out at the first key made of it and serves every later one. A warm rerun of the
    Satisfaction page hashed the same league table four times (two figures, two text alternatives),
    a third of its time."""
    if isinstance(value, pd.DataFrame):
        key = id(value)

        def gone(ref: weakref.ref, key: int = key) -> None:
            with _lock:
                if _shared.get(key, (None,))[0] is ref:
                    del _shared[key]

        with _lock:
            _shared[key] = (weakref.ref(value, gone), [])
    return value


def frame_key(df: pd.DataFrame) -> bytes:
    """A frame's content as a cache key: its columns, types, index and every value (as Streamlit
    hashes a frame by default), remembered for a shared one (`share`)."""
    entry = _shared.get(id(df))
    if entry is None or entry[0]() is not df:
        return _digest(df)
    if not entry[1]:
        entry[1].append(_digest(df))
    return entry[1][0]


def _digest(df: pd.DataFrame) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((list(df.columns), [str(d) for d in df.dtypes], list(df.index.names), df.shape)).encode())
    try:
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    except TypeError:  # values pandas cannot hash (lists in a cell): their pickle
        h.update(pickle.dumps(df, pickle.HIGHEST_PROTOCOL))
    return h.digest()


HASH_FUNCS: dict[str | type, Callable[[Any], Any]] = {types.FunctionType: function_key, pd.DataFrame: frame_key}
