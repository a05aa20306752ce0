"""Failure throttling with a fake clock: delays, lockout, windows, resets, bounds."""

from __future__ import annotations

from tests.unit.auth.fakes import FakeClock
from vmail.auth.throttle import (
    DEFAULT_IP_POLICY,
    DEFAULT_USER_POLICY,
    FailureCounter,
    Throttle,
    ThrottlePolicy,
)


def test_delay_doubles_up_to_the_cap() -> None:
    policy = ThrottlePolicy(base_delay=0.5, max_delay=8.0)
    assert [policy.delay(n) for n in range(1, 9)] == [0, 0.5, 1, 2, 4, 8, 8, 8]
    assert policy.delay(10_000) == 8.0
    assert ThrottlePolicy(base_delay=0).delay(5) == 0


def test_documented_defaults() -> None:
    assert (DEFAULT_USER_POLICY.lockout_failures, DEFAULT_USER_POLICY.lockout_time) == (10, 300)
    assert (DEFAULT_IP_POLICY.lockout_failures, DEFAULT_IP_POLICY.lockout_time) == (30, 900)
    assert DEFAULT_USER_POLICY.window == DEFAULT_IP_POLICY.window == 900


def test_lockout_after_n_failures_then_expiry() -> None:
    clock = FakeClock()
    counter = FailureCounter(ThrottlePolicy(lockout_failures=3, lockout_time=60), clock)
    assert counter.fail("k") == 1
    assert counter.fail("k") == 2
    assert counter.locked_for("k") == 0
    assert counter.fail("k") == 3
    assert counter.locked_for("k") == 60
    clock.advance(59)
    assert counter.locked_for("k") == 1
    clock.advance(1)
    assert counter.locked_for("k") == 0
    assert counter.failures("k") == 0  # a fresh start after the lockout


def test_failures_outside_the_window_are_forgotten() -> None:
    clock = FakeClock()
    counter = FailureCounter(ThrottlePolicy(window=100, lockout_failures=3), clock)
    counter.fail("k")
    counter.fail("k")
    clock.advance(101)
    assert counter.fail("k") == 1
    assert counter.locked_for("k") == 0


def test_keys_are_bounded() -> None:
    counter = FailureCounter(ThrottlePolicy(), FakeClock(), max_keys=3)
    for key in "abcde":
        counter.fail(key)
    assert len(counter) == 3
    assert counter.failures("a") == 0
    assert counter.failures("e") == 1


def test_throttle_combines_ip_and_user() -> None:
    clock = FakeClock()
    throttle = Throttle(
        user_policy=ThrottlePolicy(lockout_failures=3),
        ip_policy=ThrottlePolicy(lockout_failures=5, base_delay=1.0),
        clock=clock,
    )
    # Different users from one address: the address's counter grows.
    delays = [throttle.failed("192.0.2.7", f"user{i}@example.com") for i in range(4)]
    assert delays == [0, 1.0, 2.0, 4.0]
    assert throttle.locked_for("192.0.2.7", "new@example.com") == 0
    throttle.failed("192.0.2.7", "user9@example.com")
    assert throttle.locked_for("192.0.2.7", "new@example.com") > 0
    assert throttle.locked_for("198.51.100.1", "new@example.com") == 0
    # One user from many addresses: the user's counter grows.
    for i in range(3):
        throttle.failed(f"203.0.113.{i}", "victim@example.com")
    assert throttle.locked_for("203.0.113.99", "victim@example.com") > 0


def test_success_resets_only_the_user() -> None:
    throttle = Throttle(clock=FakeClock())
    for _ in range(3):
        throttle.failed("192.0.2.7", "alice@example.com")
    throttle.succeeded("alice@example.com")
    assert throttle.users.failures("alice@example.com") == 0
    assert throttle.ips.failures("192.0.2.7") == 3


def test_exempt_addresses_have_no_ip_counter() -> None:
    throttle = Throttle(clock=FakeClock(), exempt_ips=["127.0.0.1"])
    for i in range(100):
        throttle.failed("127.0.0.1", f"u{i}")
    assert len(throttle.ips) == 0
    assert throttle.locked_for("127.0.0.1", "someone") == 0
