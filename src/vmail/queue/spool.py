"""The spool: queue directories under ``queue_directory``, as Postfix lays them out.

============ ==================================================================
``incoming``  new messages (and temporary files being written, ``.tmp.*``)
``active``    messages the queue manager has taken for delivery
``deferred``  messages waiting for a retry
``hold``      messages on hold (``postsuper -h``): no delivery until released
``corrupt``   files that failed to parse; kept for a person to look at
``spare``     not a queue: emptied files of finished messages, reused by new ones
              (:mod:`vmail.queue.spare`)
============ ==================================================================

Directories are flat (no hashed subdirectories: modern file systems index large
directories, and a flat layout keeps every lookup one ``stat``). A message lives in
exactly one queue at a time; moving it is one ``rename``, so a crash leaves it in the old
queue or the new one, never in neither. All methods block on disk I/O.

Which changes are fsynced, and why
----------------------------------
* ``incoming`` after a commit: always (:class:`~vmail.queue.file.QueueWriter`).
* :meth:`Spool.move` and :meth:`Spool.remove` with ``durable=False`` (what the queue
  manager uses for ``incoming`` -> ``active`` -> ``deferred`` and for removing a finished
  message): no fsync. A power loss may undo the rename or the unlink; the message is
  then found in its old queue, with its status records, which were fsynced: recovery
  and the queue manager treat a message in ``incoming``, ``active`` or ``deferred``
  alike, skip recipients that are already final, and remove a file whose recipients are
  all final. Nothing is delivered twice and nothing is lost. This is also Postfix's
  choice (it never fsyncs a queue directory).
* :meth:`Spool.retire` (a finished message; the queue manager): no fsync, as a
  ``durable=False`` removal.
* The default, ``durable=True`` (``postsuper``, ``postqueue``, quarantine): both
  directories are fsynced, so an administrator's hold, release or delete sticks.

"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from vmail.config import MainConfig
from vmail.core.errors import VmailError
from vmail.queue.envelope import Envelope
from vmail.queue.file import (
    TEMP_PREFIX,
    CorruptQueueFileError,
    FaultHook,
    QueueFile,
    QueueWriter,
    fsync_dir,
)
from vmail.queue.ids import DEFAULT_CLOCK, IdClock, QueueId, is_valid_id, reserved_id
from vmail.queue.spare import SparePool

INCOMING = "incoming"
ACTIVE = "active"
DEFERRED = "deferred"
HOLD = "hold"
CORRUPT = "corrupt"
QUEUES = (INCOMING, ACTIVE, DEFERRED, HOLD, CORRUPT)
# the queues that hold deliverable mail, in the order listings show them (as showq)
MAIL_QUEUES = (INCOMING, ACTIVE, DEFERRED, HOLD)
SPARE = "spare"  # not a queue: see vmail.queue.spare


class QueueNotFoundError(VmailError):
    """No message with this queue ID in the queues searched."""


class Spool:
    """The queue directories under one root."""

    def __init__(self, root: Path | str, *, id_clock: IdClock = DEFAULT_CLOCK) -> None:
        self.root = Path(root)
        self.id_clock = id_clock
        self._queue_dirs = {queue: self.root / queue for queue in QUEUES}  # made once
        self.spares = SparePool(self.root / SPARE)

    @classmethod
    def from_config(cls, config: MainConfig) -> Spool:
        return cls(config.get("queue_directory"))

    def create(self) -> Spool:
        """Make the queue directories (mode 0700) if they are missing."""
        for queue in (*QUEUES, SPARE):
            (self.root / queue).mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    def queue_dir(self, queue: str) -> Path:
        directory = self._queue_dirs.get(queue)
        if directory is None:
            raise ValueError(f"invalid queue name: {queue}")
        return directory

    def path(self, queue: str, queue_id: QueueId) -> Path:
        if not is_valid_id(queue_id):
            raise ValueError(f"invalid queue id: {queue_id}")
        return self.queue_dir(queue) / queue_id

    def writer(
        self,
        envelope: Envelope,
        *,
        fault: FaultHook | None = None,
        queue_id: QueueId | None = None,
    ) -> QueueWriter:
        """Start a new message in ``incoming`` (see :class:`QueueWriter`), under
        ``queue_id`` when one was reserved for it (:meth:`reserve_id`)."""
        return QueueWriter(
            self.queue_dir(INCOMING),
            envelope,
            id_clock=self.id_clock,
            fault=fault,
            spares=self.spares,
            queue_id=queue_id,
        )

    def reserve_id(self) -> QueueId:
        """An ID for a message whose queue file comes later (pure; see
        :func:`vmail.queue.ids.reserved_id`)."""
        return reserved_id(self.id_clock)

    def ids(self, queue: str) -> list[QueueId]:
        """The queue IDs in ``queue``, oldest first (temporary and stray names skipped)."""
        try:
            names = os.listdir(self.queue_dir(queue))
        except FileNotFoundError:
            return []
        return sorted(n for n in names if is_valid_id(n))

    def strays(self, queue: str) -> list[str]:
        """Names in ``queue`` that are neither queue IDs nor temporary files."""
        try:
            names = os.listdir(self.queue_dir(queue))
        except FileNotFoundError:
            return []
        return sorted(n for n in names if not is_valid_id(n) and not n.startswith(TEMP_PREFIX))

    def temp_files(self) -> list[Path]:
        directory = self.queue_dir(INCOMING)
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        return [directory / n for n in sorted(names) if n.startswith(TEMP_PREFIX)]

    def entries(self, queues: tuple[str, ...] = MAIL_QUEUES) -> Iterator[tuple[str, QueueId]]:
        for queue in queues:
            for queue_id in self.ids(queue):
                yield queue, queue_id

    def find(self, queue_id: QueueId, queues: tuple[str, ...] = MAIL_QUEUES) -> str | None:
        """The queue that holds ``queue_id`` now, or None."""
        if not is_valid_id(queue_id):
            return None
        for queue in queues:
            if (self.queue_dir(queue) / queue_id).exists():
                return queue
        return None

    def load(self, queue: str, queue_id: QueueId, *, verify_content: bool = False) -> QueueFile:
        """Parse a queue file; a corrupt one is moved to ``corrupt`` and the error re-raised."""
        path = self.path(queue, queue_id)
        try:
            return QueueFile.load(path, verify_content=verify_content)
        except FileNotFoundError as e:
            raise QueueNotFoundError(f"{queue_id}: no such queue file in {queue}") from e
        except CorruptQueueFileError:
            if queue != CORRUPT:
                self.quarantine(queue, queue_id)
            raise

    def move(self, queue_id: QueueId, source: str, target: str, *, durable: bool = True) -> Path:
        """Move a message between queues atomically (and durably, unless told not to)."""
        new = self.path(target, queue_id)
        os.rename(self.path(source, queue_id), new)
        if durable:
            fsync_dir(new.parent)
            if source != target:
                fsync_dir(self.queue_dir(source))
        return new

    def quarantine(self, queue: str, name: str) -> None:
        """Move a file that cannot be trusted to ``corrupt`` (keeps its name)."""
        os.rename(self.queue_dir(queue) / name, self.queue_dir(CORRUPT) / name)
        fsync_dir(self.queue_dir(CORRUPT))
        fsync_dir(self.queue_dir(queue))

    def remove(self, queue: str, queue_id: QueueId, *, durable: bool = True) -> bool:
        """Delete a message; False if it was not there."""
        try:
            os.unlink(self.path(queue, queue_id))
        except FileNotFoundError:
            return False
        if durable:
            fsync_dir(self.queue_dir(queue))
        return True

    def retire(self, queue: str, queue_id: QueueId, size: int) -> bool:
        """Remove a finished message of ``size`` bytes, keeping its file as a spare when
        the pool takes it (no fsync: see above); False if it was not there."""
        if self.spares.retire(str(self.path(queue, queue_id)), queue_id, size):
            return True
        return self.remove(queue, queue_id, durable=False)


__all__ = [
    "ACTIVE",
    "CORRUPT",
    "DEFERRED",
    "HOLD",
    "INCOMING",
    "MAIL_QUEUES",
    "QUEUES",
    "SPARE",
    "QueueNotFoundError",
    "Spool",
]
