"""The POP3 session lock: one session per mailbox at a time, across processes and Dovecot.

Dovecot's ``pop3_lock_session`` takes the dotlock ``dovecot-pop3-session.lock`` in the
mailbox root (content ``<pid>:<host>``, created with ``O_EXCL``), waits up to 10 seconds
for it, treats it as stale after 5 minutes without a touch or when its process on this
host is gone, and touches it while the session lasts. :class:`SessionLock` does the same,
so a vmail session and a Dovecot session exclude each other too. Blocking calls: run
them in a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from vmail.core.errors import VmailError
from vmail.core.processes import dotlock_content, remove_stale_dotlock

LOCK_NAME = "dovecot-pop3-session.lock"
STALE_AFTER = 300.0  # Dovecot's POP3_SESSION_DOTLOCK_STALE_TIMEOUT_SECS
TOUCH_EVERY = 60.0
_POLL = 0.05


class SessionLockError(VmailError):
    """The lock file could not be created (not: it is held by someone else)."""


class SessionLock:
    """The lock of one mailbox root; :meth:`acquire`, :meth:`touch`, :meth:`release`."""

    def __init__(self, root: Path, *, stale_after: float = STALE_AFTER) -> None:
        self.path = root / LOCK_NAME
        self.stale_after = stale_after
        self._mine: tuple[int, int, int] | None = None
        self._touched = 0.0

    @property
    def held(self) -> bool:
        return self._mine is not None

    def acquire(self, wait: float) -> bool:
        """Take the lock, waiting up to ``wait`` seconds; False if another session holds it.

        SessionLockError if the file cannot be created at all (permissions, no directory).
        """
        deadline = time.monotonic() + wait
        while True:
            if self._try_create():
                return True
            self._break_if_stale()
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)

    def touch(self) -> None:
        """Keep the lock fresh (call at least every few minutes; cheap when recent)."""
        now = time.monotonic()
        if self._mine is None or now - self._touched < TOUCH_EVERY:
            return
        self._touched = now
        try:
            if self._is_mine():
                os.utime(self.path)
                st = self.path.stat()
                self._mine = (st.st_dev, st.st_ino, st.st_ctime_ns)
        except OSError:
            pass

    def release(self) -> None:
        """Remove the lock file if it is still the one this session created."""
        if self._mine is None:
            return
        try:
            if self._is_mine():
                self.path.unlink()
        except OSError:
            pass
        self._mine = None

    def _try_create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            return False
        except OSError as error:
            raise SessionLockError(f"{self.path}: cannot create lock: {error.strerror}") from None
        try:
            os.write(fd, dotlock_content())
            st = os.fstat(fd)
        finally:
            os.close(fd)
        self._mine = (st.st_dev, st.st_ino, st.st_ctime_ns)
        self._touched = time.monotonic()
        return True

    def _is_mine(self) -> bool:
        """Still the file we created (or last touched): device, inode and change time, as
        an inode number alone may be reused at once by somebody else's new lock."""
        st = self.path.stat()
        return (st.st_dev, st.st_ino, st.st_ctime_ns) == self._mine

    def _break_if_stale(self) -> None:
        with contextlib.suppress(OSError):  # cannot be looked at: waited for as a held lock
            remove_stale_dotlock(self.path, self.stale_after)
