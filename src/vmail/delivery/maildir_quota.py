"""Maildir++ quota of one delivery, as Dovecot's LDA/LMTP keep it with ``quota = maildir``.

The limits come from a table (``virtual_mailbox_quota_maps``: bytes, 0 = unlimited, like
PostfixAdmin's ``mailbox.quota`` that Dovecot reads as ``quota_rule = *:bytes=``) or,
when no such table is configured, from the header of the mailbox's own ``maildirsize``
(the Maildir++ rule: whoever set the quota wrote it there; the IMAP server does).

Before the message becomes visible (:meth:`DeliveryQuota.check`, given its size on disk):

* usage is read from ``maildirsize``, which is recalculated from the folders when it is
  missing, too long (over 5120 bytes), broken or written for other limits;
* a mailbox at or over its byte limit, or at its message limit, is full;
* otherwise the message may take usage over the limit by at most the grace, 10% of the
  limit (Dovecot's default ``quota_grace = 10%%``, which applies to LDA/LMTP only): a last
  message is let in, a message much larger than the room left is not.

Full: ``5.2.2 Quota exceeded (mailbox for user is full)`` — the status and Dovecot's
``quota_exceeded_message`` its LMTP returns with ``quota_full_tempfail = no`` (so the
message bounces). The quota cannot be read: ``4.3.0``, try again later.

After the delivery (:meth:`DeliveryQuota.record`) the message is appended to
``maildirsize`` when the file exists (a mailbox without quota and never opened by the
IMAP server has none, and none is created). Concurrent deliveries may both pass the check
before either appends: the overshoot is bounded by one message each, as with Dovecot.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from vmail.delivery.paths import Owner
from vmail.delivery.status import failure
from vmail.mailstore import quota
from vmail.mailstore.errors import MailstoreError

QUOTA_EXCEEDED = "Quota exceeded (mailbox for user is full)"
GRACE_PERCENT = 10
TEMPORARY = "4.3.0"
FULL = "5.2.2"


@dataclass(frozen=True, slots=True)
class Usage:
    """Bytes and messages in a mailbox, with the limits they count against (None: none)."""

    bytes: int
    count: int
    storage_limit: int | None = None
    count_limit: int | None = None


def fits(usage: Usage, size: int, grace_percent: int = GRACE_PERCENT) -> bool:
    """Whether one more message of ``size`` bytes may be delivered (Dovecot's test)."""
    if usage.count_limit is not None and usage.count >= usage.count_limit:
        return False
    limit = usage.storage_limit
    if limit is None:
        return True
    if usage.bytes >= limit:
        return False
    return size <= limit - usage.bytes + limit * grace_percent // 100


_locks: dict[str, threading.Lock] = {}  # one small lock per mailbox with a quota
_locks_guard = threading.Lock()


def mailbox_lock(path: str) -> threading.Lock:
    """The process's lock for deliveries into one mailbox (quota check to usage update)."""
    with _locks_guard:
        lock = _locks.get(path)
        if lock is None:
            lock = _locks[path] = threading.Lock()
        return lock


class DeliveryQuota:
    """The quota of one delivery into the Maildir++ at ``root``.

    ``storage_limit`` is the table's answer in bytes (0 or None: unlimited); with
    ``from_file`` (no table configured) the limits in ``maildirsize`` apply instead.
    ``owner`` is given the ``maildirsize`` a recalculation writes (running as root).
    """

    def __init__(
        self,
        root: Path,
        storage_limit: int | None,
        *,
        from_file: bool = False,
        owner: Owner | None = None,
    ) -> None:
        self.root = root
        self.path = root / quota.MAILDIRSIZE
        self.storage_limit = storage_limit or None
        self.from_file = from_file
        self.owner = owner
        self.before: Usage | None = None  # set by check() when a limit applied

    def check(self, size: int) -> None:
        """Raise a MailError when a message of ``size`` bytes does not fit."""
        try:
            usage = self._usage()
        except (MailstoreError, OSError) as e:
            raise failure(TEMPORARY, f"quota lookup failed: {e}") from e
        if usage is None:
            return
        self.before = usage
        if not fits(usage, size):
            raise failure(FULL, QUOTA_EXCEEDED)

    def record(self, size: int) -> Usage | None:
        """Count a delivered message in ``maildirsize``; the usage after it when the
        check had read one (for quota warnings), else None. MailstoreError on failure."""
        if not quota.append_usage(self.path, size, 1):
            return None
        before = self.before
        if before is None:
            return None
        return Usage(
            before.bytes + size, before.count + 1, before.storage_limit, before.count_limit
        )

    def _usage(self) -> Usage | None:
        """The current usage and limits; None when no limit applies."""
        current = quota.read_maildirsize(self.path)
        if self.from_file:
            if current is None or (current.storage_limit, current.count_limit) == (None, None):
                return None
            storage, count = current.storage_limit, current.count_limit
        else:
            if self.storage_limit is None:
                return None
            storage, count = self.storage_limit, None
        if current is None or quota.needs_recalc(current, storage, count):
            current = quota.recalculate(self.root, storage, count)
            if self.owner is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.chown(self.path, self.owner.uid, self.owner.gid, follow_symlinks=False)
        return Usage(current.bytes, current.count, storage, count)


__all__ = [
    "FULL",
    "GRACE_PERCENT",
    "QUOTA_EXCEEDED",
    "DeliveryQuota",
    "Usage",
    "fits",
    "mailbox_lock",
]
