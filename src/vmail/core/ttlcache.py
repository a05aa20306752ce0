"""A time-limited memo: an answer is reused for ``ttl`` seconds, then asked again.

The routing caches (domain lists, the queue manager's resolutions, the virtual agent's
table answers) keep table answers this way for a second: a busy server asks each table
once per second per key instead of once per message, and a change to a table shows
within that second. When ``size`` keys are held, the memo starts over (no LRU
bookkeeping on the hot path). Dictionary operations are atomic under the GIL, so
threads may share one memo without a lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")


class TtlCache(Generic[K, V]):
    """``key -> value`` answers that expire ``ttl`` seconds after they were stored."""

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K, default: D) -> V | D:
        """The value stored for ``key`` if it has not expired, else ``default``."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > self.clock():
            return entry[1]
        return default

    def put(self, key: K, value: V) -> None:
        entries = self._entries
        if len(entries) >= self.size:
            entries.clear()
        entries[key] = (self.clock() + self.ttl, value)

    def clear(self) -> None:
        self._entries.clear()


__all__ = ["TtlCache"]
