"""Group commit for directory fsyncs: one ``fsync(dir)`` serves every thread waiting on it.

A thread that has just created, linked or renamed a name in a directory, and must not go
on until that entry is on stable storage, calls :meth:`GroupSync.sync`. The entry is
durable once *an fsync of the directory that started after the operation* has completed.
So the first thread to arrive runs the fsync (the leader); threads arriving while it runs
wait for the *next* fsync, which the first of them starts as soon as the running one
ends; that one fsync covers all of them. Under load, N concurrent commits into one
directory cost about two fsyncs instead of N.

Directories are told apart by ``(st_dev, st_ino)``, so different paths or descriptors of
one directory share their fsyncs. If the fsync a thread relied on fails, that thread gets
the ``OSError`` as well (nobody is told "durable" by a failed fsync).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass
class _DirState:
    """The fsync generations of one directory (guarded by the GroupSync's condition)."""

    started: int = 0  # fsyncs started so far (the number of the last one)
    done: int = 0  # the number of the last fsync that completed
    running: bool = False
    error: OSError | None = None  # the outcome of fsync number ``done``, when it failed
    users: int = 0  # threads inside sync() for this directory


class GroupSync:
    """Shared directory fsyncs (thread-safe; one instance per process is enough)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._dirs: dict[tuple[int, int], _DirState] = {}
        self.fsyncs = 0  # fsyncs actually run (for tests and statistics)

    def sync_path(self, path: Path | str) -> None:
        """Make earlier changes to the entries of directory ``path`` durable."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self.sync(fd)
        finally:
            os.close(fd)

    def sync(self, dir_fd: int) -> None:
        """Make earlier changes to the entries of the directory open as ``dir_fd`` durable.

        Returns after an fsync of that directory that started after this call began has
        completed; raises its ``OSError`` if it failed.
        """
        info = os.fstat(dir_fd)
        key = (info.st_dev, info.st_ino)
        with self._cond:
            state = self._dirs.get(key)
            if state is None:
                state = self._dirs[key] = _DirState()
            state.users += 1
            target = state.started + 1  # the first fsync that starts after this point
            try:
                while state.done < target:
                    if state.running:
                        self._cond.wait()
                        continue
                    state.started += 1
                    state.running = True
                    number = state.started
                    self._cond.release()
                    error: OSError | None = None
                    try:
                        os.fsync(dir_fd)
                    except OSError as e:
                        error = e
                    finally:
                        self._cond.acquire()
                        self.fsyncs += 1
                        state.running = False
                        state.done = number
                        state.error = error
                        self._cond.notify_all()
                if state.error is not None:
                    raise OSError(state.error.errno, state.error.strerror)
            finally:
                state.users -= 1
                if state.users == 0 and not state.running:
                    del self._dirs[key]


DEFAULT = GroupSync()
"""The process-wide instance the queue and the Maildir writer share."""


def _after_fork_in_child() -> None:
    # another thread of the parent may have held the lock or been in the middle of an
    # fsync when it forked; none of that exists in the child
    global DEFAULT
    DEFAULT = GroupSync()


os.register_at_fork(after_in_child=_after_fork_in_child)


def sync_dir(path: Path | str) -> None:
    """Make entry changes in directory ``path`` durable, sharing fsyncs with other threads."""
    DEFAULT.sync_path(path)


__all__ = ["DEFAULT", "GroupSync", "sync_dir"]
