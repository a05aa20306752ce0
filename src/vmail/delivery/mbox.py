"""Append one message to a UNIX mbox file, as virtual(8) does for a path without ``/``.

The message is preceded by a ``From sender  date`` line (two spaces, ``asctime`` date
of the delivery, ``MAILER-DAEMON`` for the null sender) and the delivery headers; every
line that starts with ``From `` gets a ``>``; an empty line follows the message.

Locking follows ``virtual_mailbox_lock`` (``fcntl``, ``flock``, ``dotlock``): the dot
lock ``<file>.lock`` is made first (only for a regular or missing file), then the file is
opened and the kernel locks are taken, each tried ``deliver_lock_attempts`` times,
``deliver_lock_delay`` apart; a dot lock older than ``stale_lock_time`` is removed. A busy
lock defers (``4.2.0``). The parent directory must exist (virtual(8) does not create it).

The file must be a regular file with one link (else: ``5.3.5`` mail system
configuration error, or a deferral), and — with ``strict_mailbox_ownership`` — owned by
the recipient. If writing fails, the file is truncated back to its old length.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vmail.core.address import Address
from vmail.delivery.content import Content, CountingWriter, MessageReadError, copy_message
from vmail.delivery.paths import MailboxPath, Owner, open_directory
from vmail.delivery.status import CREATE_DEFAULT, WRITE_DEFAULT, failure, file_too_large, os_failure

_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class LockPolicy:
    """How to lock: methods from ``virtual_mailbox_lock`` and the retry parameters."""

    methods: tuple[str, ...] = ("fcntl", "dotlock")
    attempts: int = 20
    delay: float = 1.0
    stale_after: float = 500.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.methods) - {"fcntl", "flock", "dotlock"}
        if unknown:
            raise ValueError(f"unknown mailbox lock method: {', '.join(sorted(unknown))}")


@dataclass(frozen=True)
class MboxResult:
    """The mailbox written, where the message starts, and how many bytes it took."""

    path: str
    offset: int
    size: int


def from_line(sender: str, when: float) -> bytes:
    """The ``From `` separator line for ``sender`` (internal form) at time ``when``."""
    who = Address.from_internal(sender).external if sender else "MAILER-DAEMON"
    return f"From {who}  {time.asctime(time.localtime(when))}\n".encode("utf-8", "surrogateescape")


def deliver_mbox(
    mailbox: MailboxPath,
    content: Content,
    *,
    sender: str,
    headers: bytes = b"",
    owner: Owner | None = None,
    limit: int = 0,
    lock: LockPolicy | None = None,
    strict_owner: bool = True,
    when: float | None = None,
) -> MboxResult:
    """Append the message; MailError on failure (the file is left as it was)."""
    lock = lock or LockPolicy()
    name = mailbox.parts[-1]
    try:
        parent = open_directory(mailbox.base, mailbox.parts[:-1], create=False)
    except OSError as e:
        raise os_failure(
            e, CREATE_DEFAULT, f"cannot open mailbox directory of {mailbox.path}"
        ) from e
    try:
        dotlocked = "dotlock" in lock.methods and _dotlock(parent, name, lock, mailbox.path)
        try:
            fd = _open(parent, name, owner, mailbox.path)
            try:
                _check(fd, owner, strict_owner, mailbox.path)
                _kernel_locks(fd, lock, mailbox.path)
                return _append(fd, mailbox.path, content, sender, headers, limit, when)
            finally:
                os.close(fd)  # closing drops fcntl and flock locks
        finally:
            if dotlocked:
                _discard(parent, name + ".lock")
    finally:
        os.close(parent)


def _dotlock(parent: int, name: str, lock: LockPolicy, where: str) -> bool:
    """Create ``name.lock``; False when the target is not a regular file (no dot lock)."""
    try:
        st = os.stat(name, dir_fd=parent)
        if not stat.S_ISREG(st.st_mode):
            return False
    except FileNotFoundError:
        pass
    except OSError as e:
        raise os_failure(e, CREATE_DEFAULT, f"cannot stat mailbox {where}") from e
    lock_name = name + ".lock"
    for attempt in range(max(1, lock.attempts)):
        try:
            fd = os.open(
                lock_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600, dir_fd=parent
            )
            os.close(fd)
            return True
        except FileExistsError:
            _remove_if_stale(parent, lock_name, lock.stale_after)
        except OSError as e:
            raise os_failure(e, CREATE_DEFAULT, f"unable to create lock file {where}.lock") from e
        if attempt + 1 < lock.attempts:
            lock.sleep(lock.delay)
    raise failure("4.2.0", f"unable to create lock file {where}.lock: File exists")


def _remove_if_stale(parent: int, lock_name: str, stale_after: float) -> None:
    try:
        st = os.stat(lock_name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if time.time() - st.st_mtime > stale_after:
        _discard(parent, lock_name)


def _open(parent: int, name: str, owner: Owner | None, where: str) -> int:
    """Open the mailbox for appending, creating it (mode 0600, recipient's) if missing."""
    try:
        try:
            fd = os.open(name, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=parent)
        except FileExistsError:
            return os.open(name, _OPEN_FLAGS, dir_fd=parent)
        if owner is not None:
            os.fchown(fd, owner.uid, owner.gid)
        return fd
    except OSError as e:
        raise os_failure(e, CREATE_DEFAULT, f"cannot open mailbox {where}") from e


def _check(fd: int, owner: Owner | None, strict_owner: bool, where: str) -> None:
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise failure("5.3.5", "mail system configuration error")
    if st.st_nlink != 1:
        raise failure("4.2.0", "target file status changed unexpectedly")
    expected = owner.uid if owner is not None else os.geteuid()
    if strict_owner and st.st_uid != expected:
        raise failure("4.2.0", f"destination {where} is not owned by recipient")


def _kernel_locks(fd: int, lock: LockPolicy, where: str) -> None:
    for method in ("fcntl", "flock"):
        if method not in lock.methods:
            continue
        take = fcntl.lockf if method == "fcntl" else fcntl.flock
        for attempt in range(max(1, lock.attempts)):
            try:
                take(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise os_failure(e, CREATE_DEFAULT, f"unable to lock {where}") from e
            if attempt + 1 < lock.attempts:
                lock.sleep(lock.delay)
        else:
            raise failure("4.2.0", f"unable to lock for exclusive access: {where}")


def _append(
    fd: int,
    where: str,
    content: Content,
    sender: str,
    headers: bytes,
    limit: int,
    when: float | None,
) -> MboxResult:
    start = os.lseek(fd, 0, os.SEEK_END)
    try:
        if limit and start >= limit:
            raise file_too_large()
        with open(os.dup(fd), "wb", buffering=1 << 16) as out:
            writer = CountingWriter(out, limit - start if limit else 0)
            separator = from_line(sender, time.time() if when is None else when)
            writer.write(separator)
            try:
                copy_message(content, writer, headers=headers, quote_from=True, blank_line=True)
            except MessageReadError as e:
                dsn = "4.3.0" if e.error.errno in (errno.EAGAIN, errno.ESTALE) else "5.3.0"
                raise failure(dsn, f"error reading message: {e.error.strerror or e.error}") from e
            out.flush()
            os.fsync(fd)
    except BaseException as e:
        _truncate(fd, start)
        if isinstance(e, OSError):
            raise os_failure(e, WRITE_DEFAULT, "error writing message") from e
        raise
    return MboxResult(where, start, writer.size)


def _truncate(fd: int, length: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, length)


def _discard(parent: int, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=parent)
