"""Change notification for IMAP IDLE: poll the folders somebody waits on, call back on change.

One asyncio task per process (started with the first subscription) stats, every
``interval`` seconds, ``new/``, ``cur/`` and ``dovecot-uidlist`` of each subscribed folder
— once per folder however many sessions wait on it — and calls the callbacks of folders
whose stamps changed. So mail delivered by another process (the delivery agent, an
external Dovecot) reaches IDLE sessions within about ``interval``. :meth:`FolderWatcher.poke`
reports an in-process change at once (coalesced: callbacks run once on the next loop turn).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

Callback = Callable[[], None]
_WATCHED = ("new", "cur", "dovecot-uidlist")


def _stamp(path: str) -> tuple[int, ...]:
    stamp: list[int] = []
    for name in _WATCHED:
        try:
            st = os.stat(f"{path}/{name}")
            stamp += (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp += (0, 0, 0)
    return tuple(stamp)


class Handle:
    """One subscription; :meth:`close` ends it (idempotent)."""

    def __init__(self, watcher: FolderWatcher, key: str, callback: Callback) -> None:
        self._watcher, self._key, self._callback = watcher, key, callback
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._watcher._remove(self._key, self)


class FolderWatcher:
    """Polls subscribed folders (grouped by path) from one task on the running loop."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self._subs: dict[str, dict[Handle, Callback]] = {}
        self._stamps: dict[str, tuple[int, ...]] = {}
        self._poked: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    def subscribe(self, path: Path, callback: Callback) -> Handle:
        """Call *callback* (on the event loop) whenever the folder at *path* changes."""
        key = os.path.abspath(path)
        handle = Handle(self, key, callback)
        group = self._subs.get(key)
        if group is None:
            group = self._subs[key] = {}
            self._stamps[key] = _stamp(key)
        group[handle] = callback
        self._start()
        return handle

    def _remove(self, key: str, handle: Handle) -> None:
        group = self._subs.get(key)
        if group is not None:
            group.pop(handle, None)
            if not group:
                del self._subs[key]
                self._stamps.pop(key, None)
                self._poked.discard(key)

    def poke(self, path: Path) -> None:
        """A change made in this process: run the folder's callbacks soon (coalesced)."""
        key = os.path.abspath(path)
        if key in self._subs:
            self._poked.add(key)
            if self._wake is not None:
                self._wake.set()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop polling (subscriptions stay; a new subscription restarts the task)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        assert self._wake is not None
        wake = self._wake
        while self._subs:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.interval)
            wake.clear()
            self.check()
        self._task = None

    def check(self) -> list[str]:
        """One polling pass (also callable directly); the paths whose callbacks ran."""
        changed = [key for key in self._poked if key in self._subs]
        self._poked.clear()
        for key in list(self._subs):
            stamp = _stamp(key)
            if stamp != self._stamps.get(key):
                self._stamps[key] = stamp
                if key not in changed:
                    changed.append(key)
        for key in changed:
            for callback in list(self._subs.get(key, {}).values()):
                callback()
        return changed
