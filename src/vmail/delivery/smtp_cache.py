"""Idle SMTP/LMTP connections kept for reuse, as Postfix's scache(8) does for smtp(8).

After a transaction a connection is parked under its destination key for at most
``smtp_connection_cache_time_limit`` seconds; a connection older than
``smtp_connection_reuse_time_limit`` is not parked again. Whoever takes a connection
owns it until it parks it again or closes it. Thread-safe. A daemon thread, running
only while connections are parked, says QUIT to those idle for too long; :meth:`close`
says it to all of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from vmail.delivery.smtp_client import ClientConnection
from vmail.delivery.smtp_session import Target


@dataclass
class Cached:
    """A parked connection and what it was opened for."""

    conn: ClientConnection
    target: Target
    created: float
    idle_since: float = 0.0


class ConnectionCache:
    """Idle connections by destination key."""

    def __init__(
        self,
        idle_limit: float,
        reuse_limit: float,
        quit_timeout: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_limit = idle_limit
        self.reuse_limit = reuse_limit
        self.quit_timeout = quit_timeout
        self.clock = clock
        self._idle: dict[Hashable, list[Cached]] = {}
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._reaper: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.idle_limit > 0

    def take(self, key: Hashable) -> Cached | None:
        """A parked connection for ``key`` (the caller owns it now), or None."""
        with self._lock:
            expired = self._expire()
            entries = self._idle.get(key)
            entry = entries.pop() if entries else None
        self._quit(expired)
        return entry

    def park(self, key: Hashable, entry: Cached) -> None:
        """Keep ``entry`` for reuse, or say QUIT when caching is off or it is too old."""
        now = self.clock()
        if not self.enabled or now - entry.created >= self.reuse_limit:
            self._quit([entry])
            return
        entry.idle_since = now
        with self._lock:
            expired = self._expire()
            self._idle.setdefault(key, []).append(entry)
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, name="smtp-cache", daemon=True)
                self._reaper.start()
        self._quit(expired)

    def _reap(self) -> None:
        """Close idle connections when their time is up; ends when none are left."""
        while True:
            with self._lock:
                expired = self._expire()
                if not self._idle and not expired:
                    self._reaper = None
                    return
                if not expired:
                    oldest = min(e.idle_since for idle in self._idle.values() for e in idle)
                    self._wakeup.wait(max(0.01, oldest + self.idle_limit - self.clock()))
            self._quit(expired)

    def close(self) -> None:
        """QUIT every parked connection."""
        with self._lock:
            entries = [e for idle in self._idle.values() for e in idle]
            self._idle.clear()
            self._wakeup.notify_all()
        self._quit(entries)

    def _expire(self) -> list[Cached]:
        """Remove (and return) connections idle for too long; call with the lock held."""
        now = self.clock()
        expired: list[Cached] = []
        for key in list(self._idle):
            keep: list[Cached] = []
            for entry in self._idle[key]:
                (expired if now - entry.idle_since >= self.idle_limit else keep).append(entry)
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]
        return expired

    def _quit(self, entries: list[Cached]) -> None:
        for entry in entries:
            entry.conn.quit(self.quit_timeout)
