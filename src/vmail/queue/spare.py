"""Spare queue files: the emptied files of finished messages, kept for new messages.

A new inode is the dearest step of writing a queue file on some file systems. On the
ext4 of our benchmark machine, creating a file took from 12 to 550 us of kernel time
(depending on the state of the file system: 300-550 us in some hours of a session,
12-80 us in others), against about 10 us for a rename and 60-90 us for emptying,
refilling and fsyncing an existing file. Postfix creates two files per message: the
queue file and the Maildir file. The Maildir file must be new (it stays in the
mailbox); the queue file need not be.

So the queue manager does not unlink a finished message: :meth:`SparePool.retire` renames
its file into ``spare/`` (under its queue ID, which no other file has) and empties it.
A new message's writer first tries :meth:`SparePool.take`, which renames a spare file to
the writer's temporary name in ``incoming``; it creates a file only when none is left.

Bounds and safety:

* At most ``limit`` files are kept (counted with a ``listdir`` every ``RECOUNT`` calls
  of :meth:`~SparePool.retire`, so the pool may overshoot by that many), and only files
  of at most ``MAX_SIZE`` bytes (a spare holds its blocks until it is emptied).
* The rename comes before the emptying: a crash in between leaves a whole old queue file
  in ``spare/``, which no queue reads and the next writer truncates. A queue file never
  appears empty in a queue.
* Writers open a taken file with ``O_TRUNC``: a file taken before it was emptied (the
  retire and the take race in two processes) is emptied then; emptying by path after the
  take finds nothing to empty.
* Two writers (threads or processes) never get the same file: a rename either moves the
  file or fails with ``ENOENT``, and the loser tries the next name.
* Nothing here is fsynced: like an unlink, a retire that a power loss undoes brings the
  finished file back to its queue, where its fsynced status records say it is finished.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

LIMIT = 256  # spare files kept at most (plus RECOUNT)
MAX_SIZE = 1 << 20  # larger finished files are unlinked
RECOUNT = 32  # retires between two counts of the pool
RELIST_S = 0.05  # an empty pool is listed again at most this often


class SparePool:
    """The ``spare/`` directory of one spool. Thread-safe; any number of processes."""

    def __init__(self, directory: Path, *, limit: int = LIMIT) -> None:
        self.directory = str(directory)
        self.limit = limit
        self._lock = threading.Lock()
        self._names: list[str] = []  # listed, not yet tried
        self._listed = float("-inf")
        self._stock = 0  # files at the last count
        self._added = 0  # files retired since that count
        self._calls = RECOUNT - 1  # retire calls since that count (the first one counts)

    def take(self, target: str) -> bool:
        """Rename a spare file to ``target``; False when there is none (create one then)."""
        while True:
            with self._lock:
                if not self._names and not self._relist():
                    return False
                name = self._names.pop()
            try:
                os.rename(f"{self.directory}/{name}", target)
            except FileNotFoundError:  # another writer took it
                continue
            except OSError:
                return False
            return True

    def _relist(self) -> bool:
        """List the pool again (lock held), unless it was found empty a moment ago."""
        now = time.monotonic()
        if now - self._listed < RELIST_S:
            return False
        self._listed = now
        try:
            self._names = os.listdir(self.directory)
        except OSError:
            self._names = []
        return bool(self._names)

    def retire(self, path: str, name: str, size: int) -> bool:
        """Keep the finished file ``path`` as spare ``name``, emptied; False when the pool
        is full or the file too large (the caller unlinks it then)."""
        if size > MAX_SIZE:
            return False
        with self._lock:
            self._calls += 1
            if self._calls >= RECOUNT:
                try:
                    self._stock = len(os.listdir(self.directory))
                except OSError:
                    return False
                self._calls = self._added = 0
            if self._stock + self._added >= self.limit:
                return False
            self._added += 1
        spare = f"{self.directory}/{name}"
        try:
            os.rename(path, spare)
        except OSError:
            with self._lock:
                self._added -= 1
            return False
        with contextlib.suppress(OSError):  # gone: a writer took it, and truncates it
            os.truncate(spare, 0)
        return True


__all__ = ["LIMIT", "MAX_SIZE", "SparePool"]
