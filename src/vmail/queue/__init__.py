"""The durable mail queue: queue files, the spool directories, recovery, log lines.

* :mod:`vmail.queue.ids` — Postfix-style long queue IDs.
* :mod:`vmail.queue.envelope` — envelope and per-recipient delivery state.
* :mod:`vmail.queue.file` — the on-disk format, :class:`QueueWriter` (commit = safe to
  answer 250) and :class:`QueueFile` (parse, validate, append status).
* :mod:`vmail.queue.spool` — ``incoming``/``active``/``deferred``/``hold``/``corrupt``.
* :mod:`vmail.queue.recovery` — the start-up scan after a crash.
* :mod:`vmail.queue.log` — log lines in Postfix's format.

Everything here blocks on disk I/O; async callers use ``asyncio.to_thread``.
"""

from vmail.queue.envelope import Envelope, Recipient, RecipientState
from vmail.queue.file import CorruptQueueFileError, QueueFile, QueueWriter, StatusUpdate
from vmail.queue.ids import QueueId
from vmail.queue.spool import Spool

__all__ = [
    "CorruptQueueFileError",
    "Envelope",
    "QueueFile",
    "QueueId",
    "QueueWriter",
    "Recipient",
    "RecipientState",
    "Spool",
    "StatusUpdate",
]
