"""Selection's lean Signal behaves as asyncio.Event does for its one waiter."""

from __future__ import annotations

import asyncio

from vmail.servers.imapd.selection import Signal


def test_signal_wakes_waiter_and_future_after_set() -> None:
    async def main() -> list[object]:
        signal = Signal()
        seen: list[object] = [signal.is_set()]
        waiter = asyncio.ensure_future(signal.wait())
        await asyncio.sleep(0)
        seen.append(waiter.done())
        signal.set()
        await asyncio.wait_for(waiter, 1)
        seen.append(signal.is_set())
        seen.append(signal.future().done())  # already set: done at once
        signal.clear()
        seen.append(signal.future().done())
        return seen

    assert asyncio.run(main()) == [False, False, True, True, False]


def test_cancelled_future_does_not_lose_the_next_set() -> None:
    async def main() -> bool:
        signal = Signal()
        first = signal.future()
        first.cancel()
        second = signal.future()
        assert second is not first
        signal.set()
        await asyncio.wait_for(second, 1)
        return second.done() and not second.cancelled()

    assert asyncio.run(main())


def test_set_from_another_thread_via_loop() -> None:
    async def main() -> None:
        signal = Signal()
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(loop.call_soon_threadsafe, signal.set)
        await asyncio.wait_for(signal.wait(), 1)

    asyncio.run(main())
