"""The selected folder of one session: its view, the changes waiting to be reported, IDLE wake-ups.

A :class:`Selection` joins the shared :class:`~vmail.mailstore.folder.Folder` (one per
folder per process) with the session's own :class:`~vmail.servers.imapd.selected.SelectedView`.
The folder calls :meth:`Selection._changed` (from whatever thread synced it) with each
change; :meth:`Selection.refresh` syncs the folder, folds what arrived into the view and
writes the untagged responses the view allows now. While the session IDLEs, the process's
:class:`~vmail.mailstore.watch.FolderWatcher` notices changes made by other processes
and :attr:`Selection.changed` wakes the session up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from vmail.mailstore.folder import Folder
from vmail.mailstore.records import SyncResult
from vmail.mailstore.watch import FolderWatcher, Handle
from vmail.servers.imapd.selected import SelectedView, format_flags

if TYPE_CHECKING:
    from vmail.servers.imapd.connection import ImapConnection


class Signal:
    """A lean :class:`asyncio.Event` (set, clear, is_set, wait) for one waiter at a time:
    no deque of waiters per selected session, and :meth:`future` lets IDLE wait without a
    task of its own (thousands of sessions idle at once)."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    def future(self) -> asyncio.Future[None]:
        """Done when the signal is set (at once if it is); cancelling it is harmless."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            waiter = asyncio.get_running_loop().create_future()
            if self._set:
                waiter.set_result(None)
            else:
                self._waiter = waiter
        return waiter

    async def wait(self) -> None:
        await self.future()


class Selection:
    """A session's selected folder."""

    __slots__ = (
        "_lock",
        "_loop",
        "_pending",
        "_unlisten",
        "_watch",
        "changed",
        "folder",
        "name",
        "readonly",
        "suppress",
        "view",
    )

    def __init__(self, name: str, folder: Folder, view: SelectedView, *, readonly: bool) -> None:
        self.name = name
        self.folder = folder
        self.view = view
        self.readonly = readonly
        self.changed = Signal()
        self.suppress: set[int] = set()  # flag changes this session already reported
        self._loop = asyncio.get_running_loop()
        self._pending: list[SyncResult] = []
        self._lock = threading.Lock()
        self._unlisten = folder.listen(self._changed)
        self._watch: Handle | None = None

    def _changed(self, result: SyncResult) -> None:
        with self._lock:
            self._pending.append(result)
        self._loop.call_soon_threadsafe(self.changed.set)

    def watch(self, watcher: FolderWatcher) -> None:
        """Be woken up by changes other processes make (while IDLE)."""
        if self._watch is None:
            self._watch = watcher.subscribe(self.folder.directory, self.changed.set)

    def unwatch(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def take_pending(self) -> list[SyncResult]:
        with self._lock:
            results = list(self._pending)
            self._pending.clear()
        return results

    def announce_keywords(self, conn: ImapConnection, *, always: bool = False) -> None:
        """``* FLAGS`` and ``PERMANENTFLAGS`` (``always``: at SELECT), and again when the
        folder defined keywords since the last announcement (Dovecot does, before the FETCH
        that shows them: RFC 3501 7.2.6 has clients learn the flags from it)."""
        keywords = tuple(self.folder.keywords())
        if always or keywords != self.view.keywords:
            self.view.keywords = keywords
            conn.stream.write(flags_announcement(keywords, self.readonly))

    async def refresh(
        self, conn: ImapConnection, *, allow_expunge: bool, uid_command: bool = False
    ) -> None:
        """Sync the folder and write the untagged updates the view allows now."""
        await asyncio.to_thread(self.folder.sync)
        self.changed.clear()
        self.announce_keywords(conn)
        result = _merged(self.take_pending())
        if not self.readonly and result.new_uids:
            # New mail is \Recent in the (first) session that has the folder selected.
            claimed = await asyncio.to_thread(self.folder.claim_recent)
            result.recent_uids = sorted({*result.recent_uids, *claimed})
        lines = self.view.update(
            result,
            self.folder.by_uid,
            allow_expunge=allow_expunge,
            uid_command=uid_command,
            suppress_fetch=self.suppress,
        )
        for line in lines:
            conn.stream.write(line)
        self.suppress.clear()

    def close(self) -> None:
        self._unlisten()
        self.unwatch()


def _merged(results: list[SyncResult]) -> SyncResult:
    """The pending syncs as one new result (the folder hands the same result objects to
    every session), so that one update sends EXISTS and RECENT once, as Dovecot does."""

    def union(lists: Iterable[list[int]]) -> list[int]:
        return sorted({u for uids in lists for u in uids})

    return SyncResult(
        new_uids=union(r.new_uids for r in results),
        expunged_uids=union(r.expunged_uids for r in results),
        changed_uids=union(r.changed_uids for r in results),
        recent_uids=union(r.recent_uids for r in results),
    )


SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")


def flags_announcement(keywords: Sequence[str], readonly: bool) -> bytes:
    """``* FLAGS`` and ``* OK [PERMANENTFLAGS ...]`` of a folder with ``keywords``."""
    flags = format_flags([*SYSTEM_FLAGS, *keywords], keywords=tuple(keywords))
    if readonly:
        return b"* FLAGS " + flags + b"\r\n* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n"
    permanent = flags[:-1] + b" \\*)"
    return (
        b"* FLAGS " + flags + b"\r\n* OK [PERMANENTFLAGS " + permanent + b"] Flags permitted.\r\n"
    )


__all__ = ["SYSTEM_FLAGS", "Selection", "Signal", "flags_announcement"]
