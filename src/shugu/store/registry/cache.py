"""A small in-process cache with a time to live, for lookups on the request and ingest hot path.

Token and consent lookups happen on every request and every ingest call; a few seconds of
caching takes them off the database. Writes made by this process clear the affected entries at
once; writes by other processes become visible when the entries expire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class CacheHit(Generic[V]):
    """Wraps a cached value so that a cached ``None`` (a known miss) differs from no entry."""

    value: V


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        ttl_s: float,
        *,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[K, tuple[float, V]] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Grows with every invalidation. Read it before asking the database and pass it to
        ``put``, so that an answer read before a concurrent change is not cached after it."""
        return self._generation

    def get(self, key: K) -> CacheHit[V] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires <= self._clock():
                del self._entries[key]
                return None
            return CacheHit(value)

    def put(
        self, key: K, value: V, *, generation: int | None = None, ttl_s: float | None = None
    ) -> None:
        """Remember a value; ``ttl_s`` may shorten (never lengthen) the default lifetime."""
        lifetime = self._ttl if ttl_s is None else min(ttl_s, self._ttl)
        if lifetime <= 0:
            return
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            if len(self._entries) >= self._max_entries:
                # A flood of distinct keys (random tokens, say) must not grow memory without
                # bound; starting afresh costs a few database lookups.
                self._entries.clear()
            self._entries[key] = (self._clock() + lifetime, value)

    def discard(self, key: K) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
