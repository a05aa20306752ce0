"""The authentication service: username + password + client address → ok, failed or try later.

:meth:`Authenticator.authenticate` is what the SMTP submission, IMAP and POP3 servers call
after a SASL exchange (or IMAP ``LOGIN``/POP3 ``USER``/``PASS``). In order, it

1. rejects unusable input (empty or over-long username, control characters, NUL in the
   password) as a failure, without a lookup;
2. refuses with a *temporary* failure while the client address or the username is locked
   out by :class:`~vmail.auth.throttle.Throttle` — the password is not even checked;
3. looks the account up (in a worker thread); a source failure is a temporary failure that
   does not count against the client;
4. checks the password — from :class:`~vmail.auth.cache.CredentialCache` if this very
   password matched this very stored hash recently, else in a worker thread (Argon2 and
   bcrypt release the GIL). An unknown user costs one dummy Argon2 verification, so timing
   does not tell which usernames exist;
5. requires the mailbox and its domain to be active;
6. on success clears the username's failure counter, caches the result and, if the stored
   hash is not Argon2id with today's parameters, calls the optional ``rehash`` callback
   with a fresh hash (errors there are logged, the login still succeeds);
7. on failure counts it, logs one line a fail2ban filter can match (see docs/fail2ban.md)::

       authentication failed: user=<a@b.example>, rip=192.0.2.7, service=imap, reason=unknown user

   and waits the throttle's delay (through the injected ``sleep``) before answering.

The :class:`AuthResult` carries a reason for logs and metrics; servers must show the client
only the status ("authentication failed" / "try again later"), never the reason.
Passwords are never logged.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vmail.auth.accounts import Account, AccountSource
from vmail.auth.cache import CredentialCache
from vmail.auth.errors import AccountLookupError
from vmail.auth.passwords import check_password, hash_password, needs_rehash
from vmail.auth.schemes import Outcome
from vmail.auth.throttle import Throttle

log = logging.getLogger("vmail.auth")

MAX_USERNAME = 255
MAX_PASSWORD = 1024  # bytes; longer is refused before any hashing

Sleep = Callable[[float], Awaitable[None]]
Rehash = Callable[[str, str], Awaitable[None]]


class AuthStatus(enum.Enum):
    """What the client is told."""

    OK = "ok"
    FAILED = "failed"
    TEMPFAIL = "temporary failure"


class AuthReason(enum.Enum):
    """Why, for the log only."""

    OK = "ok"
    INVALID_INPUT = "invalid input"
    UNKNOWN_USER = "unknown user"
    PASSWORD_MISMATCH = "password mismatch"
    UNKNOWN_SCHEME = "unknown password scheme"
    CORRUPT_HASH = "corrupt password hash"
    MAILBOX_DISABLED = "mailbox disabled"
    DOMAIN_DISABLED = "domain disabled"
    LOCKED_OUT = "too many failures"
    LOOKUP_FAILED = "account lookup failed"
    WRONG_SECOND_FACTOR = "wrong second factor"  # an admin's TOTP code on the web


_FROM_OUTCOME = {
    Outcome.MISMATCH: AuthReason.PASSWORD_MISMATCH,
    Outcome.UNKNOWN_SCHEME: AuthReason.UNKNOWN_SCHEME,
    Outcome.CORRUPT: AuthReason.CORRUPT_HASH,
}


@dataclass(frozen=True)
class AuthResult:
    """The answer to one authentication attempt."""

    status: AuthStatus
    reason: AuthReason
    username: str
    delay: float = 0.0
    account: Account | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.status is AuthStatus.OK


class Authenticator:
    """Checks credentials against an :class:`AccountSource`, with throttling and a cache.

    ``throttle`` and ``cache`` default to fresh ones with the documented defaults;
    ``use_cache=False`` disables caching. ``sleep`` is how
    failure delays are applied (tests pass a fake); ``rehash(username, new_hash)`` stores
    an upgraded hash.
    """

    def __init__(
        self,
        source: AccountSource,
        *,
        throttle: Throttle | None = None,
        cache: CredentialCache | None = None,
        use_cache: bool = True,
        rehash: Rehash | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        equalize_timing: bool = True,
    ) -> None:
        self.source = source
        self.throttle = throttle if throttle is not None else Throttle(clock=clock)
        self.cache = (
            (cache if cache is not None else CredentialCache(clock=clock)) if use_cache else None
        )
        self.rehash = rehash
        self.equalize_timing = equalize_timing
        self._sleep = sleep
        self._dummy_hash: str | None = None

    async def authenticate(
        self, username: str, password: str | bytes, *, client_ip: str, service: str
    ) -> AuthResult:
        """Check one login attempt; never raises for bad input or a failing source."""
        secret = password.encode("utf-8") if isinstance(password, str) else password
        name = username.lower()
        if not _usable(name, secret):
            return await self._failure(name, client_ip, service, AuthReason.INVALID_INPUT)
        locked_for = self.throttle.locked_for(client_ip, name)
        if locked_for > 0:
            log_failure(name, client_ip, service, AuthReason.LOCKED_OUT)
            return AuthResult(AuthStatus.TEMPFAIL, AuthReason.LOCKED_OUT, name)
        try:
            account = await asyncio.to_thread(self.source.lookup, name)
        except AccountLookupError as error:
            log.warning(
                "authentication temporarily failed: user=<%s>, rip=%s, service=%s, reason=%s (%s)",
                safe_log_text(name),
                safe_log_text(client_ip),
                safe_log_text(service),
                AuthReason.LOOKUP_FAILED.value,
                error,
            )
            return AuthResult(AuthStatus.TEMPFAIL, AuthReason.LOOKUP_FAILED, name)
        if account is None:
            if self.equalize_timing:
                await asyncio.to_thread(check_password, secret, await self._dummy())
            return await self._failure(name, client_ip, service, AuthReason.UNKNOWN_USER)

        stored = account.password_hash
        cached = self.cache is not None and self.cache.hit(name, secret, stored)
        if not cached:
            verdict = await asyncio.to_thread(check_password, secret, stored)
            if not verdict.ok:
                reason = _FROM_OUTCOME[verdict.outcome]
                detail = (
                    f"{verdict.scheme or 'no scheme'}: {verdict.detail}" if verdict.detail else ""
                )
                return await self._failure(name, client_ip, service, reason, detail)
        if not account.mailbox_active:
            return await self._failure(name, client_ip, service, AuthReason.MAILBOX_DISABLED)
        if not account.domain_active:
            return await self._failure(name, client_ip, service, AuthReason.DOMAIN_DISABLED)

        self.throttle.succeeded(name)
        if self.cache is not None and not cached:
            self.cache.store(name, secret, stored)
        if not cached and self.rehash is not None and needs_rehash(stored):
            await self._rehash(account, secret)
        log.info(
            "authenticated: user=<%s>, rip=%s, service=%s%s",
            safe_log_text(name),
            safe_log_text(client_ip),
            safe_log_text(service),
            ", cached" if cached else "",
        )
        return AuthResult(AuthStatus.OK, AuthReason.OK, name, account=account, cached=cached)

    async def _failure(
        self, name: str, client_ip: str, service: str, reason: AuthReason, detail: str = ""
    ) -> AuthResult:
        delay = self.throttle.failed(client_ip, name)
        log_failure(name, client_ip, service, reason, detail)
        if delay > 0:
            await self._sleep(delay)
        return AuthResult(AuthStatus.FAILED, reason, name, delay=delay)

    async def _rehash(self, account: Account, secret: bytes) -> None:
        assert self.rehash is not None
        try:
            new_hash = await asyncio.to_thread(hash_password, secret)
            await self.rehash(account.username, new_hash)
        except Exception as error:  # the login has succeeded; an upgrade can wait
            log.warning(
                "password rehash failed: user=<%s>: %s", safe_log_text(account.username), error
            )
            return
        if self.cache is not None:
            self.cache.store(account.username.lower(), secret, new_hash)
        log.info("password rehashed: user=<%s>", safe_log_text(account.username))

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(hash_password, "vmail timing equalizer")
        return self._dummy_hash


def _usable(name: str, secret: bytes) -> bool:
    if not name or len(name) > MAX_USERNAME or not name.isprintable() or " " in name:
        return False
    return len(secret) <= MAX_PASSWORD and b"\x00" not in secret


def log_failure(
    name: str, client_ip: str, service: str, reason: AuthReason, detail: str = ""
) -> None:
    """Log one failed login in the fail2ban-friendly format (see docs/fail2ban.md)."""
    suffix = f" ({safe_log_text(detail, 200, forbidden='')})" if detail else ""
    log.warning(
        "authentication failed: user=<%s>, rip=%s, service=%s, reason=%s%s",
        safe_log_text(name),
        safe_log_text(client_ip),
        safe_log_text(service),
        reason.value,
        suffix,
    )


def safe_log_text(text: str, limit: int = 100, forbidden: str = "<>,") -> str:
    """``text`` fit for one log line: no control characters, and no ``<>,`` to forge fields."""
    out = "".join(
        ch if ch.isprintable() and ch not in forbidden else f"\\x{ord(ch):02x}"
        for ch in text[:limit]
    )
    return out + "..." if len(text) > limit else out
