"""The authentication service over an in-memory account source, with fake clock and sleep."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from tests.unit.auth.fakes import FakeClock, FakeSleep
from vmail.auth.accounts import Account, MemoryAccountSource
from vmail.auth.errors import AccountLookupError
from vmail.auth.passwords import hash_password, needs_rehash, verify_password
from vmail.auth.service import Authenticator, AuthReason, AuthResult, AuthStatus
from vmail.auth.throttle import Throttle, ThrottlePolicy

T = TypeVar("T")
PASSWORD = "S3cr3t pässwörd"
IP = "192.0.2.7"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def accounts() -> MemoryAccountSource:
    fast = hash_password(PASSWORD, "SSHA512")
    return MemoryAccountSource(
        [
            Account("alice@example.com", fast),
            Account("argon@example.com", hash_password(PASSWORD)),
            Account("legacy@example.com", hash_password(PASSWORD, "SHA512-CRYPT")),
            Account("off@example.com", fast, mailbox_active=False),
            Account("offdomain@example.org", fast, domain_active=False),
            Account("corrupt@example.com", "{SHA512-CRYPT}$6$broken"),
            Account("weird@example.com", "{ROT13}frperg"),
        ]
    )


class Harness:
    def __init__(self, **kwargs: Any) -> None:
        self.clock = FakeClock()
        self.sleep = FakeSleep(self.clock)
        self.source = kwargs.pop("source", None) or accounts()
        kwargs.setdefault("throttle", Throttle(clock=self.clock))
        self.auth = Authenticator(self.source, sleep=self.sleep, clock=self.clock, **kwargs)

    def login(
        self, user: str, password: str | bytes = PASSWORD, ip: str = IP, service: str = "imap"
    ) -> AuthResult:
        return run(self.auth.authenticate(user, password, client_ip=ip, service=service))


def test_success_and_case_insensitive_username() -> None:
    h = Harness()
    result = h.login("Alice@Example.COM")
    assert result.ok
    assert result.status is AuthStatus.OK
    assert result.username == "alice@example.com"
    assert result.account is not None
    assert result.account.username == "alice@example.com"
    assert h.sleep.delays == []


@pytest.mark.parametrize(
    ("user", "password", "reason"),
    [
        ("alice@example.com", "wrong", AuthReason.PASSWORD_MISMATCH),
        ("nobody@example.com", PASSWORD, AuthReason.UNKNOWN_USER),
        ("off@example.com", PASSWORD, AuthReason.MAILBOX_DISABLED),
        ("offdomain@example.org", PASSWORD, AuthReason.DOMAIN_DISABLED),
        ("corrupt@example.com", PASSWORD, AuthReason.CORRUPT_HASH),
        ("weird@example.com", PASSWORD, AuthReason.UNKNOWN_SCHEME),
        ("", PASSWORD, AuthReason.INVALID_INPUT),
        ("a" * 256, PASSWORD, AuthReason.INVALID_INPUT),
        ("al\nice@example.com", PASSWORD, AuthReason.INVALID_INPUT),
        ("alice@example.com", "pw\0", AuthReason.INVALID_INPUT),
        ("alice@example.com", "x" * 1025, AuthReason.INVALID_INPUT),
    ],
)
def test_failures(user: str, password: str, reason: AuthReason) -> None:
    result = Harness().login(user, password)
    assert result.status is AuthStatus.FAILED
    assert result.reason is reason
    assert result.account is None  # nothing about the account leaks out


def test_disabled_mailbox_with_wrong_password_is_a_mismatch() -> None:
    assert Harness().login("off@example.com", "wrong").reason is AuthReason.PASSWORD_MISMATCH


def test_failure_log_line_is_fail2ban_friendly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="vmail.auth")
    Harness().login("alice@example.com", "hunter2", ip="192.0.2.7", service="smtp")
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert failures == [
        "authentication failed: user=<alice@example.com>, rip=192.0.2.7, service=smtp,"
        " reason=password mismatch"
    ]
    assert "hunter2" not in caplog.text


def test_corrupt_hash_is_logged_as_such(caplog: pytest.LogCaptureFixture) -> None:
    Harness().login("corrupt@example.com")
    assert "reason=corrupt password hash (SHA512-CRYPT: " in caplog.text
    assert PASSWORD not in caplog.text


# The failregex of docs/fail2ban.md, with <HOST> as a group.
FAIL2BAN = re.compile(r"authentication failed: user=<[^>]*>, rip=(\S+), service=\S+, reason=")


@pytest.mark.parametrize(
    "user",
    [
        "x>, rip=203.0.113.66, service=imap, reason=y@example.com",
        "x>,rip=203.0.113.66,@example.com",
        "x\n>, rip=203.0.113.66, service=imap, reason=password mismatch",
    ],
)
def test_log_lines_cannot_be_forged(user: str, caplog: pytest.LogCaptureFixture) -> None:
    Harness().login(user)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "\n" not in line
    assert [m.group(1) for m in FAIL2BAN.finditer(line)] == ["192.0.2.7"]


def test_successful_login_is_logged_without_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="vmail.auth")
    Harness().login("alice@example.com")
    assert "authenticated: user=<alice@example.com>, rip=192.0.2.7, service=imap" in caplog.text
    assert PASSWORD not in caplog.text


def test_lookup_failure_is_temporary_and_not_counted(caplog: pytest.LogCaptureFixture) -> None:
    class Down:
        def lookup(self, username: str) -> Account | None:
            raise AccountLookupError("directory lookup failed: connection refused")

    h = Harness(source=Down())
    for _ in range(20):
        result = h.login("alice@example.com")
        assert result.status is AuthStatus.TEMPFAIL
        assert result.reason is AuthReason.LOOKUP_FAILED
    assert h.auth.throttle.users.failures("alice@example.com") == 0
    assert h.sleep.delays == []
    assert "authentication failed" not in caplog.text  # fail2ban must not ban for our outage
    assert "authentication temporarily failed" in caplog.text


def test_delays_grow_and_lockout_refuses_even_the_right_password() -> None:
    policy = ThrottlePolicy(base_delay=0.5, max_delay=4, lockout_failures=5, lockout_time=60)
    h = Harness()
    h.auth.throttle = Throttle(user_policy=policy, ip_policy=policy, clock=h.clock)
    results = [h.login("alice@example.com", "wrong") for _ in range(5)]
    assert [r.delay for r in results] == [0, 0.5, 1, 2, 4]
    assert h.sleep.delays == [0.5, 1, 2, 4]
    locked = h.login("alice@example.com")
    assert locked.status is AuthStatus.TEMPFAIL
    assert locked.reason is AuthReason.LOCKED_OUT
    # Another user from another address is not affected.
    assert h.login("argon@example.com", ip="198.51.100.1").ok
    h.clock.advance(60)
    assert h.login("alice@example.com", ip="198.51.100.2").ok


def test_success_resets_the_user_counter() -> None:
    h = Harness()
    for _ in range(3):
        h.login("alice@example.com", "wrong", ip="198.51.100.9")
    assert h.login("alice@example.com").ok
    assert h.login("alice@example.com", "wrong", ip="198.51.100.10").delay == 0


def test_cache_skips_verification_until_the_hash_changes() -> None:
    h = Harness()
    first = h.login("argon@example.com")
    second = h.login("argon@example.com")
    assert first.ok
    assert not first.cached
    assert second.ok
    assert second.cached
    assert not h.login("argon@example.com", "wrong").ok  # wrong passwords are never cached hits
    h.source.set_password_hash("argon@example.com", hash_password("new password"))
    assert h.login("argon@example.com").reason is AuthReason.PASSWORD_MISMATCH
    third = h.login("argon@example.com", "new password")
    assert third.ok
    assert not third.cached


def test_cache_expires() -> None:
    h = Harness()
    h.login("alice@example.com")
    h.clock.advance(61)
    assert not h.login("alice@example.com").cached


def test_cache_does_not_bypass_disabled_mailbox() -> None:
    h = Harness()
    assert h.login("alice@example.com").ok
    alice = h.source.lookup("alice@example.com")
    assert alice is not None
    h.source.add(Account(alice.username, alice.password_hash, mailbox_active=False))
    assert h.login("alice@example.com").reason is AuthReason.MAILBOX_DISABLED


def test_cache_can_be_disabled() -> None:
    h = Harness(use_cache=False)
    h.login("alice@example.com")
    assert not h.login("alice@example.com").cached


def test_rehash_upgrades_legacy_hashes() -> None:
    stored: dict[str, str] = {}

    async def rehash(username: str, new_hash: str) -> None:
        stored[username] = new_hash

    h = Harness(rehash=rehash)
    assert h.login("legacy@example.com").ok
    assert h.login("argon@example.com").ok  # already current: no rehash
    assert list(stored) == ["legacy@example.com"]
    assert not needs_rehash(stored["legacy@example.com"])
    assert verify_password(PASSWORD, stored["legacy@example.com"])


def test_rehash_failure_does_not_fail_the_login(caplog: pytest.LogCaptureFixture) -> None:
    async def rehash(username: str, new_hash: str) -> None:
        raise RuntimeError("database is read-only")

    assert Harness(rehash=rehash).login("legacy@example.com").ok
    assert "password rehash failed: user=<legacy@example.com>: database is read-only" in caplog.text


def test_bytes_password_and_concurrent_logins() -> None:
    h = Harness()

    async def many() -> list[AuthResult]:
        return await asyncio.gather(
            *(
                h.auth.authenticate(
                    "argon@example.com", PASSWORD.encode(), client_ip=IP, service="pop3"
                )
                for _ in range(4)
            )
        )

    assert all(r.ok for r in run(many()))
