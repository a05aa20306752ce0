"""Deliver one message into a Maildir, crash-safe and readable by Dovecot.

Steps: open (creating on first delivery, mode 0700) ``<maildir>/{tmp,new,cur}``; write
``tmp/<unique>`` (mode 0600, ``O_EXCL``) from the stream; flush and fsync it; hard-link it
into ``new/`` under its final name; remove the tmp name; fsync ``new/`` (a group commit:
deliveries into the same ``new/`` at the same time share one fsync). Until the link
nothing exists in ``new/``, so a crash or an error leaves at most a file in ``tmp/``
(which readers ignore and Dovecot cleans up after 36 hours); on error the tmp file is
removed. Where ``link()`` is not supported the file is renamed instead.

A delivery from the queue has a stable name instead, ``<arrival>.V<queue_id>R<index>.<host>``
(the same on every attempt): if an interrupted attempt already linked it into ``new/``,
the link fails and the delivery counts as done; after a crash the caller also asks to
look in ``cur/`` first (``look_first``), where a client may have moved it. This is what
keeps a kill -9 from delivering a message twice.

Other unique names follow the Maildir proposal as Dovecot writes them:
``<secs>.M<usecs>P<pid>Q<n>.<host>`` — seconds and microseconds of the delivery, the
process id, and a per-process delivery counter (``Q``), so names stay unique across
threads and processes. The final name in ``new/`` adds ``,S=<size>`` (bytes on disk) and
``,W=<size with CRLF>``, which Dovecot reads instead of stat()ing or reading the file. The
host name (``gethostname()``, as Postfix and Dovecot use) has ``/``, ``:`` and ``,``
written as ``\\057``, ``\\072`` and ``\\054``: they separate parts of the name.

Ownership: running as root, each file and directory created is given the recipient's
uid/gid with ``fchown`` right after creation. vmail does not switch its effective uid
(``seteuid`` is process-wide and deliveries run in threads), and all paths are opened
relative to already-open directories without following links (:mod:`.paths`).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vmail.core import groupsync
from vmail.core.errors import MailError
from vmail.delivery.content import Content, CountingWriter, MessageReadError, copy_message
from vmail.delivery.paths import MailboxPath, Owner, open_directory, open_subdir
from vmail.delivery.status import CREATE_DEFAULT, WRITE_DEFAULT, errno_dsn, failure, os_failure

_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NO_LINK = (errno.EPERM, errno.ENOTSUP, errno.ENOSYS, errno.EXDEV)


def sanitize_hostname(name: str) -> str:
    """A host name made safe for a Maildir file name."""
    return name.replace("/", "\\057").replace(":", "\\072").replace(",", "\\054")


class UniqueNames:
    """Maildir base names, unique within this host (thread- and fork-safe)."""

    def __init__(self, hostname: str | None = None) -> None:
        self.hostname = sanitize_hostname(hostname or socket.gethostname())
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._pid = os.getpid()

    def next(self) -> str:
        with self._lock:
            pid = os.getpid()
            if pid != self._pid:  # forked: the counter of the parent no longer applies
                self._pid, self._counter = pid, itertools.count(1)
            n = next(self._counter)
        now = time.time_ns() // 1000
        secs, usecs = divmod(now, 1_000_000)
        return f"{secs}.M{usecs}P{pid}Q{n}.{self.hostname}"


_default_names = UniqueNames()


@dataclass(frozen=True)
class MaildirResult:
    """Where the message went: the file in ``new/`` and its sizes; ``existing``: an
    earlier attempt of the same delivery had put it there (sizes then 0)."""

    path: str
    name: str
    size: int
    virtual_size: int
    existing: bool = False


def deliver_maildir(
    mailbox: MailboxPath,
    content: Content,
    *,
    headers: bytes = b"",
    owner: Owner | None = None,
    limit: int = 0,
    names: UniqueNames | None = None,
    stable_name: str | None = None,
    look_first: bool = False,
    check: Callable[[int], None] | None = None,
) -> MaildirResult:
    """Write ``headers`` and ``content`` as one new message; MailError on failure.

    ``limit`` (0: none) is ``virtual_mailbox_limit``: the most bytes the file may have.
    ``stable_name`` (a base name unique to this delivery, the same on every attempt)
    makes a second attempt find the first one's file instead of adding a copy: in
    ``new/`` always (the link fails), and in ``cur/`` too with ``look_first`` (after a
    crash; that costs a directory listing). The result then has ``existing=True``.

    ``check`` (the quota, :mod:`.maildir_quota`) is given the size on disk once the file
    is written and before it appears in ``new/``; a MailError it raises fails the
    delivery and removes the file. With a ``stable_name`` an earlier attempt's copy is
    looked for first, so a delivery that was done is never failed afterwards.
    """
    names = names or _default_names
    dirs: list[int] = []
    try:
        try:
            root = open_directory(mailbox.base, mailbox.parts, create=True, owner=owner)
            dirs.append(root)
            for sub in ("tmp", "new", "cur"):
                dirs.append(open_subdir(root, sub, create=True, owner=owner))
        except OSError as e:
            raise os_failure(e, CREATE_DEFAULT, f"create maildir file {mailbox.path}tmp/") from e
        new_dir, cur_dir = dirs[2], dirs[3]
        if stable_name is not None and look_first:
            found = _find(stable_name, new_dir, "new") or _find(stable_name, cur_dir, "cur")
            if found is not None:
                return MaildirResult(f"{mailbox.path}{found}", found, 0, 0, existing=True)
        return _write(mailbox, content, headers, owner, limit, names, dirs[1:], stable_name, check)
    finally:
        for fd in dirs:
            os.close(fd)


def _write(
    mailbox: MailboxPath,
    content: Content,
    headers: bytes,
    owner: Owner | None,
    limit: int,
    names: UniqueNames,
    dirs: list[int],
    stable_name: str | None = None,
    check: Callable[[int], None] | None = None,
) -> MaildirResult:
    tmp_dir, new_dir, cur_dir = dirs
    base = stable_name or names.next()
    tmp_path = f"{mailbox.path}tmp/{base}"
    if stable_name is not None:  # an interrupted attempt may have left its tmp file
        _discard(base, tmp_dir)
    try:
        fd = os.open(base, _FILE_FLAGS, 0o600, dir_fd=tmp_dir)
    except OSError as e:
        raise os_failure(e, CREATE_DEFAULT, f"create maildir file {tmp_path}") from e
    linked: str | None = None
    try:
        writer = _write_file(fd, content, headers, owner, limit)
        if check is not None:
            try:
                check(writer.size)
            except MailError:
                found = stable_name and (
                    _find(stable_name, new_dir, "new") or _find(stable_name, cur_dir, "cur")
                )
                if not found:
                    raise
                return MaildirResult(f"{mailbox.path}{found}", found, 0, 0, existing=True)
        published = _publish(
            base, writer, tmp_dir, new_dir, mailbox.path, names, stable=stable_name is not None
        )
        if published is None:  # an earlier attempt's copy is in new/: nothing to add
            name = f"{base},S={writer.size},W={writer.virtual_size}"
            return MaildirResult(f"{mailbox.path}new/{name}", name, 0, 0, existing=True)
        name = linked = published
        # needed: the queue manager records "delivered" (and may remove its queue file)
        # once this returns, so the new/ entry must survive a power loss first; shared with
        # the other deliveries into this new/ directory (group commit)
        groupsync.DEFAULT.sync(new_dir)
    except OSError as e:
        _discard(linked, new_dir)
        raise os_failure(e, WRITE_DEFAULT, "error writing message") from e
    except BaseException:
        _discard(linked, new_dir)
        raise
    finally:
        _discard(base, tmp_dir)
    return MaildirResult(f"{mailbox.path}new/{name}", name, writer.size, writer.virtual_size)


def _write_file(
    fd: int, content: Content, headers: bytes, owner: Owner | None, limit: int
) -> CountingWriter:
    """Fill the tmp file and make it durable; the descriptor is closed."""
    with open(fd, "wb", buffering=1 << 16, closefd=True) as out:
        if owner is not None:
            os.fchown(fd, owner.uid, owner.gid)
        writer = CountingWriter(out, limit)
        try:
            copy_message(content, writer, headers=headers)
        except MessageReadError as e:
            dsn = "4.3.0" if e.error.errno in (errno.EAGAIN, errno.ESTALE) else "5.3.0"
            raise failure(dsn, f"error reading message: {e.error.strerror or e.error}") from e
        out.flush()
        os.fsync(fd)  # needed: the data must be on disk before the name appears in new/
    return writer


def _publish(
    base: str,
    writer: CountingWriter,
    tmp_dir: int,
    new_dir: int,
    where: str,
    names: UniqueNames,
    *,
    stable: bool = False,
) -> str | None:
    """Link the tmp file into ``new/`` under its final name; returns that name, or None
    when a ``stable`` name is already there (an earlier attempt delivered it)."""
    suffix = f",S={writer.size},W={writer.virtual_size}"
    name = base + suffix
    for _attempt in range(5):
        try:
            os.link(base, name, src_dir_fd=tmp_dir, dst_dir_fd=new_dir, follow_symlinks=False)
            return name
        except FileExistsError:
            if stable:
                return None
            name = names.next() + suffix
        except OSError as e:
            if e.errno not in _NO_LINK:
                raise failure(
                    errno_dsn(e.errno, CREATE_DEFAULT),
                    f"create maildir file {where}new/{name}: {e.strerror}",
                ) from e
            return _rename(base, name, tmp_dir, new_dir)
    raise failure("4.2.0", f"create maildir file {where}new/{name}: File exists")


def _find(base: str, dir_fd: int, sub: str) -> str | None:
    """``sub/NAME`` of a file whose name starts with ``base`` plus ``,`` or ``:``."""
    for entry in os.listdir(dir_fd):
        if entry.startswith(base) and entry[len(base) : len(base) + 1] in (",", ":", ""):
            return f"{sub}/{entry}"
    return None


def _rename(base: str, name: str, tmp_dir: int, new_dir: int) -> str:
    """Fallback where hard links are unavailable: rename, never over an existing file."""
    try:
        os.stat(name, dir_fd=new_dir, follow_symlinks=False)
    except FileNotFoundError:
        os.rename(base, name, src_dir_fd=tmp_dir, dst_dir_fd=new_dir)
        return name
    raise OSError(errno.EEXIST, "File exists")


def _discard(name: str | None, dir_fd: int) -> None:
    if name is None:
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dir_fd)


__all__ = ["MailError", "MaildirResult", "UniqueNames", "deliver_maildir", "sanitize_hostname"]
