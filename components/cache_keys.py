"""How the shared caches key a function passed to them: by its module and qualified name, the same
in every session and every process (Streamlit cannot hash a function object itself)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any


def function_key(fn: types.FunctionType) -> str:
    if "<" in fn.__qualname__:  # a lambda or a nested function: its name does not tell it from another
        raise TypeError(f"{fn.__module__}.{fn.__qualname__}: cached calls take module-level functions")
    return f"{fn.__module__}.{fn.__qualname__}"


HASH_FUNCS: dict[str | type, Callable[[Any], Any]] = {types.FunctionType: function_key}
