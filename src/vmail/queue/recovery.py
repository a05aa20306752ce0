"""The start-up scan: put the spool back in order after a crash (blocking disk I/O).

What :func:`recover` does, queue by queue, before the queue manager starts:

* ``incoming``: temporary files (``.tmp.<pid>.*``) of writers that are gone are removed.
  A writer that had not finished :meth:`~vmail.queue.file.QueueWriter.commit` never let
  SMTP answer 250, so the client still has the message and will send it again. The scan
  runs while the SMTP servers and ``sendmail`` already write (the queue manager starts
  beside them), so a file whose process is alive is left alone unless it has not been
  written for a day (its pid was reused). Files under a queue ID are committed messages
  and stay, to be picked up.
* ``active``: every message goes back to ``incoming``, to be scheduled again (as Postfix's
  qmgr does at start), with a ``recovered`` record. Its recipient states are kept, so
  recipients already recorded as delivered or bounced are not delivered again.
* every mail queue: each file is parsed (envelope and status records; the content's
  length, not its checksum, which the delivery agent checks as it reads). A file that
  does not parse is moved to ``corrupt`` and never delivered; a torn last status record
  (a crash during an append) is cut off. Names that are not queue IDs go to ``corrupt``.

The remaining crash windows, and how small they are
---------------------------------------------------
*Accepting.* The only window is RFC 1047's: after ``commit`` has fsynced the link but
before the client has read the 250, a crash leaves a queued message the client was not
told about; it retries, and the recipient gets two copies. A crash at any earlier step
leaves only a temporary file, which this scan removes. Nothing acknowledged is lost.

*Delivering.* A delivery is done when its ``delivered`` status record is fsynced
(:meth:`~vmail.queue.file.QueueFile.append`). The virtual agent writes the Maildir file in
``tmp/``, fsyncs it, links it into ``new/`` and then appends the status record: a crash
between the link and the record's fsync delivers that recipient again after restart. This
is Postfix's window too (its delivery agents mark a recipient done in the queue file only
after the mailbox write), and it is as small as it can be without a two-phase protocol:
one ``write`` + ``fsync`` of the queue file, a few milliseconds.

*Closing it for Maildirs.* The virtual agent names each Maildir file after the delivery
(``<arrival>.V<queue_id>R<index>.<host>``, the same on every attempt), so linking a second
copy into ``new/`` fails and counts as delivered. Messages this scan finds in ``active``
get a ``recovered`` record (fsynced once, here); their Maildir deliveries first look in
``new/`` and ``cur/`` (where a client may have moved the file, adding ``:2,flags``) and
write nothing if the copy is there. No extra fsync on the normal path. mbox files, pipes
and remote servers keep Postfix's window.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from vmail.core.processes import pid_alive
from vmail.queue.file import RECOVERED, TEMP_PREFIX, CorruptQueueFileError
from vmail.queue.spool import ACTIVE, INCOMING, MAIL_QUEUES, QueueNotFoundError, Spool

log = logging.getLogger(__name__)


@dataclass
class RecoveryReport:
    """What the scan did (queue IDs or file names per action)."""

    removed_temp: list[str] = field(default_factory=list)
    requeued_active: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    messages: int = 0  # valid messages left in the mail queues


def recover(spool: Spool) -> RecoveryReport:
    """Scan and repair the spool (see the module doc). Safe to run any number of times."""
    spool.create()
    report = RecoveryReport()
    now = time.time()
    for path in spool.temp_files():
        if _abandoned(path, now):
            try:
                os.unlink(path)
            except FileNotFoundError:  # committed or aborted while we looked
                continue
            report.removed_temp.append(path.name)
    for queue_id in spool.ids(ACTIVE):
        _mark_recovered(spool, queue_id)
        spool.move(queue_id, ACTIVE, INCOMING)
        report.requeued_active.append(queue_id)
    for queue in MAIL_QUEUES:
        for name in spool.strays(queue):
            log.warning("%s/%s: not a queue file name; moved to corrupt", queue, name)
            spool.quarantine(queue, name)
            report.corrupt.append(name)
        for queue_id in spool.ids(queue):
            try:
                entry = spool.load(queue, queue_id)
            except CorruptQueueFileError as e:
                log.warning("%s: %s; moved to corrupt", queue_id, e.reason)
                report.corrupt.append(queue_id)
                continue
            except QueueNotFoundError:  # removed while we looked
                continue
            if entry.repair():
                report.repaired.append(queue_id)
            report.messages += 1
    return report


STALE_TEMP_AGE = 86400.0
"""Seconds without a write after which a temporary file is abandoned whoever holds its pid."""


def _abandoned(path: Path, now: float) -> bool:
    """Whether no live writer owns temporary file ``path`` (``.tmp.<pid>.<random>``)."""
    try:
        age = now - path.stat().st_mtime
    except FileNotFoundError:
        return False
    pid = path.name[len(TEMP_PREFIX) :].partition(".")[0]
    return not pid.isdigit() or not pid_alive(int(pid)) or age > STALE_TEMP_AGE


def _mark_recovered(spool: Spool, queue_id: str) -> None:
    """Record (fsynced, once) that a delivery of this message may have been cut short."""
    try:
        entry = spool.load(ACTIVE, queue_id)
        if not entry.recovered and entry.pending:
            entry.append([{"t": time.time(), "op": RECOVERED}])
    except (CorruptQueueFileError, QueueNotFoundError):
        pass  # quarantined (or gone) below


__all__ = ["RecoveryReport", "recover"]
