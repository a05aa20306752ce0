"""The web processes' shared login throttle: counts kept by the master's host, asked over
socket pairs; a silent master leaves each process counting on its own."""

from __future__ import annotations

import asyncio
import socket

import pytest

from vmail.auth.throttle import Throttle, ThrottlePolicy
from vmail.servers import webthrottle
from vmail.servers.webthrottle import RemoteThrottle, ThrottleHost

POLICY = ThrottlePolicy(base_delay=0.5, lockout_failures=3, lockout_time=300)


def _throttle() -> Throttle:
    return Throttle(user_policy=POLICY, ip_policy=ThrottlePolicy(lockout_failures=1000))


def test_two_processes_share_the_masters_counts() -> None:
    async def run() -> tuple[list[float], float, float, int]:
        host = ThrottleHost(_throttle())
        first = RemoteThrottle(host.open_slot(), local=_throttle())
        second = RemoteThrottle(host.open_slot(), local=_throttle())
        try:
            delays = [
                await asyncio.to_thread(remote.failed, "192.0.2.1", "bob@example.org")
                for remote in (first, second, first)
            ]
            locked = await asyncio.to_thread(second.locked_for, "192.0.2.9", "bob@example.org")
            await asyncio.to_thread(first.succeeded, "bob@example.org")
            after = await asyncio.to_thread(second.locked_for, "192.0.2.9", "bob@example.org")
            return delays, locked, after, host.throttle.ips.failures("192.0.2.1")
        finally:
            host.close()

    delays, locked, after, client_failures = asyncio.run(run())
    assert delays == [0.0, 0.5, 1.0]  # the 1st, 2nd and 3rd failure, wherever they came in
    assert locked > 290  # the third failure locked the username, in every process
    assert after == 0.0  # a success clears the username's counter
    assert client_failures == 3


def test_a_silent_master_leaves_each_process_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webthrottle, "ANSWER_TIMEOUT", 0.05)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    local = _throttle()
    remote = RemoteThrottle(theirs, local=local)
    try:
        assert remote.failed("192.0.2.1", "bob@example.org") == 0.0
        assert remote.failed("192.0.2.1", "bob@example.org") == 0.5
        assert local.users.failures("bob@example.org") == 2
        ours.close()  # the master is gone altogether
        assert remote.failed("192.0.2.1", "bob@example.org") == 1.0
        assert remote.locked_for("192.0.2.1", "bob@example.org") > 290
    finally:
        theirs.close()


def test_an_answer_meant_for_a_dead_process_is_skipped() -> None:
    async def run() -> float:
        host = ThrottleHost(_throttle())
        slot = host.open_slot()
        try:
            slot.send(b'[7, "failed", "192.0.2.1", "bob@example.org"]')  # then died
            await asyncio.sleep(0.05)  # its answer waits in the pair
            remote = RemoteThrottle(slot, local=_throttle())  # the restarted process
            return await asyncio.to_thread(remote.failed, "192.0.2.1", "bob@example.org")
        finally:
            host.close()

    assert asyncio.run(run()) == 0.5  # the second failure's delay, not the stale answer's 0


def test_junk_gets_no_answer_and_breaks_nothing() -> None:
    async def run() -> float:
        host = ThrottleHost(_throttle())
        slot = host.open_slot()
        try:
            slot.send(b"not json")
            slot.send(b'[1, "explode", "", ""]')
            remote = RemoteThrottle(slot, local=_throttle())
            return await asyncio.to_thread(remote.failed, "192.0.2.1", "bob@example.org")
        finally:
            host.close()

    assert asyncio.run(run()) == 0.0
