"""The administrator's queue operations, shared by ``postqueue``/``postsuper``/``postcat``,
the web UI and the REST API: list, find, hold, release, requeue, delete and flush.

* :func:`read_messages` reads queue files without side effects (a corrupt file is reported
  to ``on_corrupt``, never moved); :func:`list_queue` turns them into
  :class:`QueueEntry` rows (Postfix's ``postqueue -j`` members: :meth:`QueueEntry.to_json`).
* :data:`OPERATIONS` are postsuper's: each has the queues it searches when none is named
  (as Postfix) and :func:`apply` runs it on one message. :func:`flush` makes a deferred
  message due now (``postqueue -i``); waking the running server is the caller's business.
* :func:`locate` validates an ID and finds its queue (:class:`InvalidQueueIdError`,
  :class:`~vmail.queue.spool.QueueNotFoundError`), so no caller builds a path from input.

Everything blocks on disk I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from vmail.core.errors import VmailError
from vmail.queue.envelope import DEFERRED as STATUS_DEFERRED
from vmail.queue.file import CorruptQueueFileError, QueueFile
from vmail.queue.ids import QueueId, is_valid_id
from vmail.queue.spool import (
    ACTIVE,
    DEFERRED,
    HOLD,
    INCOMING,
    MAIL_QUEUES,
    QueueNotFoundError,
    Spool,
)

MAILER_DAEMON = "MAILER-DAEMON"
CorruptHandler = Callable[[str, str], None]  # (queue id, reason)


class InvalidQueueIdError(VmailError):
    """Text that is not a queue ID (never used to build a path)."""


@dataclass(frozen=True)
class QueuedRecipient:
    """An unfinished recipient and, when deferred, why (``delay_reason``)."""

    address: str
    reason: str = ""
    sequence: int = 0  # of the status record that set its state (the order reasons came)


@dataclass(frozen=True)
class QueueEntry:
    """One message as a queue listing shows it (unfinished recipients only)."""

    queue: str
    queue_id: QueueId
    arrival_time: float
    size: int
    sender: str  # MAILER-DAEMON for the null sender
    recipients: tuple[QueuedRecipient, ...]

    @classmethod
    def of(cls, queue: str, qf: QueueFile) -> QueueEntry:
        env = qf.envelope
        recipients = tuple(
            QueuedRecipient(
                recipient.address,
                state.reason if state.status == STATUS_DEFERRED else "",
                state.sequence,
            )
            for recipient, state in zip(env.recipients, qf.states, strict=True)
            if not state.final
        )
        return cls(
            queue,
            qf.queue_id,
            env.arrival_time,
            qf.message_size,
            sender_text(env.sender),
            recipients,
        )

    def matches(self, text: str) -> bool:
        """Whether ``text`` (case-insensitive) is in the ID, sender, a recipient or reason."""
        needle = text.casefold()
        haystack = [self.queue_id, self.sender]
        for r in self.recipients:
            haystack += [r.address, r.reason]
        return any(needle in item.casefold() for item in haystack)

    def by_reason(self) -> list[tuple[str, list[str]]]:
        """Recipients grouped by deferral reason, in the order the reasons were recorded
        (as showq reads Postfix's defer log); recipients without one come last."""
        groups: dict[str, list[str]] = {}
        for r in sorted(self.recipients, key=lambda r: r.sequence):
            groups.setdefault(r.reason, []).append(r.address)
        plain = groups.pop("", None)
        ordered = list(groups.items())
        if plain is not None:
            ordered.append(("", plain))
        return ordered

    def to_json(self) -> dict[str, object]:
        """``postqueue -j``'s object (Postfix's member names)."""
        recipients: list[dict[str, str]] = []
        for r in self.recipients:
            item = {"address": r.address}
            if r.reason:
                item["delay_reason"] = r.reason
            recipients.append(item)
        return {
            "queue_name": self.queue,
            "queue_id": self.queue_id,
            "arrival_time": int(self.arrival_time),
            "message_size": self.size,
            "forced_expire": False,
            "sender": self.sender,
            "recipients": recipients,
        }


def sender_text(sender: str) -> str:
    return sender or MAILER_DAEMON


def read_messages(
    spool: Spool, queues: tuple[str, ...] = MAIL_QUEUES, on_corrupt: CorruptHandler | None = None
) -> Iterator[tuple[str, QueueFile]]:
    """Every readable message in ``queues``, in listing order (files are never moved)."""
    for queue, queue_id in spool.entries(queues):
        try:
            yield queue, QueueFile.load(spool.path(queue, queue_id))
        except FileNotFoundError:
            continue  # delivered or moved while we listed
        except CorruptQueueFileError as e:
            if on_corrupt is not None:
                on_corrupt(queue_id, e.reason)


def list_queue(
    spool: Spool,
    queues: tuple[str, ...] = MAIL_QUEUES,
    text: str = "",
    on_corrupt: CorruptHandler | None = None,
) -> Iterator[QueueEntry]:
    """The messages in ``queues`` (those matching ``text``, when given), in listing order."""
    for queue, qf in read_messages(spool, queues, on_corrupt):
        entry = QueueEntry.of(queue, qf)
        if not text or entry.matches(text):
            yield entry


def page_queue(
    spool: Spool,
    queues: tuple[str, ...] = MAIL_QUEUES,
    text: str = "",
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[QueueEntry], int]:
    """One page of :func:`list_queue` and how many messages match in all. Without ``text``
    only the page's files are read (the total counts directory entries); with it, all."""
    if text:
        matching = list(list_queue(spool, queues, text))
        return matching[offset : offset + limit], len(matching)
    ids = list(spool.entries(queues))
    entries = []
    for queue, queue_id in ids[offset : offset + limit]:
        try:
            entries.append(QueueEntry.of(queue, QueueFile.load(spool.path(queue, queue_id))))
        except (FileNotFoundError, CorruptQueueFileError):
            continue  # gone meanwhile, or for a person to look at (postqueue warns)
    return entries, len(ids)


def queue_sizes(spool: Spool) -> dict[str, int]:
    """Messages per mail queue (a directory listing each, no file is read)."""
    return {queue: len(spool.ids(queue)) for queue in MAIL_QUEUES}


def locate(spool: Spool, queue_id: str, queues: tuple[str, ...] = MAIL_QUEUES) -> str:
    """The queue that holds ``queue_id``; :class:`InvalidQueueIdError` for text that is not
    an ID, :class:`QueueNotFoundError` when no queue holds it."""
    if not is_valid_id(queue_id):
        raise InvalidQueueIdError(f"invalid mail queue id: {queue_id[:64]!r}")
    queue = spool.find(queue_id, queues)
    if queue is None:
        raise QueueNotFoundError(f"{queue_id}: no such message in the queue")
    return queue


def _delete(spool: Spool, queue: str, queue_id: str) -> bool:
    return spool.remove(queue, queue_id)


def _hold(spool: Spool, queue: str, queue_id: str) -> bool:
    if queue == HOLD:
        return False
    return _move(spool, queue_id, queue, HOLD)


def _release(spool: Spool, queue: str, queue_id: str) -> bool:
    return _move(spool, queue_id, queue, DEFERRED)


def _requeue(spool: Spool, queue: str, queue_id: str) -> bool:
    try:
        QueueFile.load(spool.path(queue, queue_id)).append([{"t": time.time(), "op": "requeue"}])
    except FileNotFoundError:
        return False
    return _move(spool, queue_id, queue, INCOMING)


def _move(spool: Spool, queue_id: str, source: str, target: str) -> bool:
    try:
        spool.move(queue_id, source, target)
    except FileNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class Operation:
    """A postsuper operation: ``act(spool, queue, id)`` is False if it did not apply."""

    name: str
    queues: tuple[str, ...]  # searched, in order, when no queue is named
    done: str  # per message: "ID: removed"
    summary: str  # "Deleted: N messages"
    act: Callable[[Spool, str, str], bool]


DELETE = Operation("delete", (HOLD, INCOMING, ACTIVE, DEFERRED), "removed", "Deleted", _delete)
HOLD_OP = Operation("hold", (INCOMING, ACTIVE, DEFERRED), "placed on hold", "Placed on hold", _hold)
RELEASE = Operation("release", (HOLD,), "released from hold", "Released from hold", _release)
REQUEUE = Operation("requeue", (HOLD, INCOMING, ACTIVE, DEFERRED), "requeued", "Requeued", _requeue)
OPERATIONS = (DELETE, HOLD_OP, RELEASE, REQUEUE)
OPERATION_BY_NAME = {op.name: op for op in OPERATIONS}


def apply(
    spool: Spool, op: Operation, queue_id: str, queues: tuple[str, ...] | None = None
) -> bool:
    """Run ``op`` on one valid ID, searching ``queues`` (None: the operation's own, in
    order); True if some queue held it and the operation applied."""
    searched = op.queues if queues is None else queues
    return any(op.act(spool, queue, queue_id) for queue in searched)


def flush(spool: Spool, queue_id: str) -> bool:
    """Make one deferred message due now; False if it is not in the deferred queue."""
    try:
        entry = QueueFile.load(spool.path(DEFERRED, queue_id))
    except FileNotFoundError:
        return False
    return _make_due(spool, queue_id, entry)


def _make_due(spool: Spool, queue_id: str, entry: QueueFile) -> bool:
    """:func:`flush` of a deferred message already loaded as ``entry``."""
    entry.append([{"t": time.time(), "op": "flush"}])
    try:
        spool.move(queue_id, DEFERRED, INCOMING)
    except FileNotFoundError:
        return False
    return True


def flush_all(spool: Spool) -> int:
    """Make every deferred message due now; how many were."""
    return sum(flush(spool, queue_id) for queue_id in spool.ids(DEFERRED))


def flush_site(spool: Spool, site: str) -> list[QueueId]:
    """Make due now each deferred message with a recipient still to deliver at ``site``
    (a domain, or an address literal such as ``[192.0.2.1]``): what Postfix's fast
    flush service does for ETRN. The IDs made due."""
    site = site.lower()
    flushed = []
    for queue_id in spool.ids(DEFERRED):
        try:
            entry = QueueFile.load(spool.path(DEFERRED, queue_id))
        except (FileNotFoundError, CorruptQueueFileError):
            continue
        recipients = entry.envelope.recipients
        if any(
            recipients[index].address.rpartition("@")[2].lower() == site for index in entry.pending
        ) and _make_due(spool, queue_id, entry):
            flushed.append(queue_id)
    return flushed


__all__ = [
    "DELETE",
    "HOLD_OP",
    "MAILER_DAEMON",
    "OPERATIONS",
    "OPERATION_BY_NAME",
    "RELEASE",
    "REQUEUE",
    "InvalidQueueIdError",
    "Operation",
    "QueueEntry",
    "QueuedRecipient",
    "apply",
    "flush",
    "flush_all",
    "flush_site",
    "list_queue",
    "locate",
    "page_queue",
    "queue_sizes",
    "read_messages",
    "sender_text",
]
