"""A short-lived cache of verified credentials, so repeated logins skip Argon2.

Like Dovecot's ``auth_cache``: after a successful check, remember that *this* password
matched *this* stored hash for *this* user, for ``ttl`` seconds. The stored hash is part of
what is remembered, so a password change (a new hash in the database) is a miss at once;
:meth:`CredentialCache.invalidate` drops a user explicitly. Only successes are cached.

The password is kept only as HMAC-SHA256 under a random per-process key, together with
the username and stored hash; one entry per user, at most ``max_entries`` (least recently
used forgotten first). Time comes from an injected monotonic clock.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections import OrderedDict
from collections.abc import Callable


class CredentialCache:
    """Verified (username, password, stored hash) triples, with a TTL."""

    def __init__(
        self,
        ttl: float = 60.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._key = os.urandom(32)
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _digest(self, username: str, password: bytes, stored: str) -> bytes:
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in (username.encode(), password, stored.encode("utf-8", "surrogateescape")):
            mac.update(len(part).to_bytes(4, "big") + part)
        return mac.digest()

    def hit(self, username: str, password: bytes, stored: str) -> bool:
        """True if this password was verified against this stored hash less than ttl ago."""
        entry = self._entries.get(username)
        if entry is not None:
            digest, expires = entry
            if self._clock() >= expires:
                del self._entries[username]
            elif hmac.compare_digest(digest, self._digest(username, password, stored)):
                self._entries.move_to_end(username)
                self.hits += 1
                return True
        self.misses += 1
        return False

    def store(self, username: str, password: bytes, stored: str) -> None:
        """Remember a successful verification."""
        if self.ttl <= 0 or self.max_entries <= 0:
            return
        digest = self._digest(username, password, stored)
        self._entries[username] = (digest, self._clock() + self.ttl)
        self._entries.move_to_end(username)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, username: str) -> None:
        self._entries.pop(username, None)

    def clear(self) -> None:
        self._entries.clear()
