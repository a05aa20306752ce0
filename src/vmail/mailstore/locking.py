"""Dovecot-compatible dotlock files (``<file>.lock``) guarding read-modify-write of store files."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vmail.core.processes import dotlock_content, remove_stale_dotlock
from vmail.mailstore.errors import LockTimeoutError, MailstoreError

# Dovecot's MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT is 2 minutes.
UIDLIST_STALE_TIMEOUT = 120.0
_POLL_FIRST = 0.005
_POLL_MAX = 0.1


def _try_create(path: Path) -> os.stat_result | None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot create lock: {exc.strerror}") from exc
    try:
        os.write(fd, dotlock_content())
        return os.fstat(fd)
    finally:
        os.close(fd)


@contextmanager
def dotlock(path: Path, *, timeout: float = 30.0, stale_after: float = 120.0) -> Iterator[None]:
    """Hold the dotlock *path* (e.g. ``dovecot-uidlist.lock``) for the ``with`` body.

    Waits up to *timeout* seconds, overriding a lock older than *stale_after* seconds or
    whose owner process on this host is gone; raises LockTimeoutError otherwise. On exit the
    lock is removed only if it is still the file this call created.
    """
    deadline = time.monotonic() + timeout
    delay = _POLL_FIRST
    while True:
        mine = _try_create(path)
        if mine is not None:
            break
        remove_stale_dotlock(path, stale_after)
        if time.monotonic() >= deadline:
            raise LockTimeoutError(f"{path}: lock held by another process for over {timeout}s")
        time.sleep(delay)
        delay = min(delay * 2, _POLL_MAX)
    try:
        yield
    finally:
        _release(path, mine)


def _release(path: Path, mine: os.stat_result) -> None:
    """Unlink *path* only if it is still the file we created (inode reuse is checked too)."""
    try:
        st = path.stat()
        same = (st.st_dev, st.st_ino, st.st_mtime_ns) == (
            mine.st_dev,
            mine.st_ino,
            mine.st_mtime_ns,
        )
        if same and path.read_bytes() == dotlock_content():
            path.unlink()
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise MailstoreError(f"{path}: cannot remove lock: {exc.strerror}") from exc
