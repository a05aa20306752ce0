"""Mailbox paths under ``virtual_mailbox_base`` that cannot leave it.

virtual(8) builds the path as ``$virtual_mailbox_base/$result`` and must be given an
absolute base. vmail keeps that rule and adds its own, because a table result may come
from SQL or a pattern table fed with the recipient's local part:

* the base must be absolute; a leading ``/`` in the result stays under the base (as in
  Postfix, where ``base + "/" + "/x"`` is ``base//x``);
* ``.`` and empty components are dropped; a ``..`` component or a NUL byte is refused
  (the agent defers: the administrator's table is wrong, the mail must not be lost);
* below the base no symbolic link is followed: every directory is opened relative to its
  parent with ``O_NOFOLLOW``, so a link planted inside a mailbox tree (pointing out of
  the base or anywhere else) makes the delivery fail with ``ELOOP``/``ENOTDIR`` rather
  than write through it. The base itself may be a link — it is the administrator's.

Names are only ever used as path components with ``dir_fd`` system calls; no shell sees
them, so ``|``, ``;``, ``$(…)`` and backquotes in a local part are just characters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class MailboxPathError(ValueError):
    """The table result cannot be used as a mailbox path."""


@dataclass(frozen=True)
class Owner:
    """The uid/gid that created files and directories are given (when running as root)."""

    uid: int
    gid: int


def file_owner(uid: int, gid: int) -> Owner | None:
    """``Owner(uid, gid)`` when we may change ownership (root), else None.

    Not running as root, files belong to the current user: that is the only identity an
    unprivileged process can write as.
    """
    return Owner(uid, gid) if os.geteuid() == 0 else None


@dataclass(frozen=True)
class MailboxPath:
    """A mailbox below ``base``: ``parts`` are the components, ``maildir`` the kind."""

    base: str
    parts: tuple[str, ...]
    maildir: bool

    @property
    def path(self) -> str:
        joined = "/".join((self.base.rstrip("/"), *self.parts))
        return joined + "/" if self.maildir else joined


def mailbox_path(base: str, value: str) -> MailboxPath:
    """Check and split a ``virtual_mailbox_maps`` result (trailing ``/``: Maildir)."""
    if not base.startswith("/"):
        raise MailboxPathError(f"do not specify relative pathname: virtual_mailbox_base = {base}")
    if "\0" in value:
        raise MailboxPathError("mailbox path contains a NUL byte")
    parts = tuple(p for p in value.split("/") if p not in ("", "."))
    if ".." in parts:
        raise MailboxPathError(f"mailbox path {value!r} has a '..' component")
    if not parts:
        raise MailboxPathError(f"mailbox path {value!r} names virtual_mailbox_base itself")
    return MailboxPath(base, parts, value.endswith("/"))


def open_subdir(parent: int, name: str, *, create: bool, owner: Owner | None) -> int:
    """Open directory ``name`` below the open directory ``parent`` (never via a link).

    With ``create``, a missing directory is made with mode 0700 and, given an ``owner``,
    handed to it. Returns a new file descriptor.
    """
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
    try:
        os.mkdir(name, 0o700, dir_fd=parent)
        made = True
    except FileExistsError:  # a concurrent delivery made it
        made = False
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    if made:
        try:
            os.fchmod(fd, 0o700)
            if owner is not None:
                os.fchown(fd, owner.uid, owner.gid)
        except OSError:
            os.close(fd)
            raise
    return fd


def open_directory(
    base: str, parts: tuple[str, ...], *, create: bool, owner: Owner | None = None
) -> int:
    """Open ``base/parts…`` component by component; returns a directory descriptor."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            child = open_subdir(fd, part, create=create, owner=owner)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd
