"""Failure throttling: exponential delay, then a temporary lockout, per client IP and per user.

Each failed login is counted for its client address and for its username. The answer to
a failure is delayed by ``0, base, 2·base, 4·base … ≤ max_delay`` seconds for the 1st, 2nd,
3rd … failure in the window; ``lockout_failures`` failures within ``window`` seconds lock
the key for ``lockout_time`` seconds, during which logins are refused with a temporary
failure *without* checking the password. A successful login clears the username's counter
(not the address's: one valid account must not let a client reset its own count).

Defaults (:data:`DEFAULT_USER_POLICY`, :data:`DEFAULT_IP_POLICY`):

=============  ==========  =========  ===============  ======  ============
counter        base delay  max delay  lockout after    window  lockout time
=============  ==========  =========  ===============  ======  ============
per username   0.5 s       8 s        10 failures      15 min  5 min
per client IP  0.5 s       8 s        30 failures      15 min  15 min
=============  ==========  =========  ===============  ======  ============

The per-user limit is lower but shorter: it slows distributed guessing of one account
while limiting how long an attacker can lock a real user out. Addresses in ``exempt_ips``
(a webmail or proxy that logs in on behalf of many users) have no per-IP counter. Memory
is bounded: at most ``max_keys`` keys per counter, oldest forgotten first. Time comes from
an injected monotonic clock.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class ThrottlePolicy:
    """Delays and lockout for one kind of counter."""

    base_delay: float = 0.5
    max_delay: float = 8.0
    lockout_failures: int = 10
    window: float = 900.0
    lockout_time: float = 300.0

    def delay(self, failures: int) -> float:
        """Seconds to hold back the answer to the ``failures``-th failure."""
        if failures <= 1 or self.base_delay <= 0:
            return 0.0
        return float(min(self.max_delay, self.base_delay * 2 ** min(failures - 2, 62)))


DEFAULT_USER_POLICY = ThrottlePolicy()
DEFAULT_IP_POLICY = ThrottlePolicy(lockout_failures=30, lockout_time=900.0)


@dataclass
class _Entry:
    failures: int
    first: float
    locked_until: float = 0.0


class FailureCounter:
    """Failures per key within a window, with lockout."""

    def __init__(self, policy: ThrottlePolicy, clock: Clock, max_keys: int = 100_000) -> None:
        self.policy = policy
        self._clock = clock
        self._max_keys = max_keys
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _current(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self._clock()
        expired_lock = entry.locked_until and now >= entry.locked_until
        if expired_lock or (not entry.locked_until and now - entry.first > self.policy.window):
            del self._entries[key]
            return None
        return entry

    def failures(self, key: str) -> int:
        entry = self._current(key)
        return entry.failures if entry else 0

    def locked_for(self, key: str) -> float:
        """Seconds of lockout left for ``key`` (0: not locked)."""
        entry = self._current(key)
        if entry is None or not entry.locked_until:
            return 0.0
        return entry.locked_until - self._clock()

    def fail(self, key: str) -> int:
        """Count a failure; the number of failures in the window, this one included."""
        now = self._clock()
        entry = self._current(key)
        if entry is None:
            entry = self._entries[key] = _Entry(0, now)
            if len(self._entries) > self._max_keys:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        entry.failures += 1
        if entry.failures >= self.policy.lockout_failures and not entry.locked_until:
            entry.locked_until = now + self.policy.lockout_time
        return entry.failures

    def reset(self, key: str) -> None:
        self._entries.pop(key, None)


class Throttle:
    """The per-IP and per-username counters together."""

    def __init__(
        self,
        *,
        user_policy: ThrottlePolicy = DEFAULT_USER_POLICY,
        ip_policy: ThrottlePolicy = DEFAULT_IP_POLICY,
        clock: Clock = time.monotonic,
        exempt_ips: Iterable[str] = (),
        max_keys: int = 100_000,
    ) -> None:
        self.users = FailureCounter(user_policy, clock, max_keys)
        self.ips = FailureCounter(ip_policy, clock, max_keys)
        self.exempt_ips = frozenset(exempt_ips)

    def locked_for(self, client_ip: str, username: str) -> float:
        """Seconds until this address or user may try again (0: go ahead)."""
        ip_lock = 0.0 if client_ip in self.exempt_ips else self.ips.locked_for(client_ip)
        return max(ip_lock, self.users.locked_for(username))

    def failed(self, client_ip: str, username: str) -> float:
        """Record a failure; the delay to apply before answering."""
        delay = self.users.policy.delay(self.users.fail(username))
        if client_ip not in self.exempt_ips:
            delay = max(delay, self.ips.policy.delay(self.ips.fail(client_ip)))
        return delay

    def succeeded(self, username: str) -> None:
        self.users.reset(username)
