"""Values derived from an object, cached by the module that computes them.

A cache belongs to the code that fills it: ``compatibility`` keeps its per-cohort
features in its own :class:`ObjectCache`, the engine keeps its own, and neither writes
into the other's (or the cohort's) storage. Entries are keyed by object identity and
dropped when the object is garbage-collected, so a cache never outlives its cohort.

>>> class Box: pass
>>> cache, box = ObjectCache(), Box()
>>> cache.get(box, lambda b: 41) + 1, cache.get(box, lambda b: 0)
(42, 41)
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ObjectCache:
    """``get(obj, compute)``: ``compute(obj)`` once per live object (thread-safe)."""

    def __init__(self) -> None:
        self._values: dict[int, tuple[weakref.ref, Any]] = {}
        self._lock = threading.Lock()

    def get(self, obj: Any, compute: Callable[[Any], T]) -> T:
        key = id(obj)
        hit = self._values.get(key)
        if hit is not None and hit[0]() is obj:
            return hit[1]
        value = compute(obj)

        def forget(_: object, k: int = key) -> None:
            self._drop(k)

        with self._lock:
            self._values[key] = (weakref.ref(obj, forget), value)
        return value

    def _drop(self, key: int) -> None:
        with self._lock:
            self._values.pop(key, None)

    def __len__(self) -> int:
        return len(self._values)
