"""The queue file: one file per message, written once, then appended to.

Format, version 1
=================

A queue file is a sequence of *records* after an 8-byte magic line::

    VMAILQ1\\n
    M <length> <crc>\\n <content bytes> \\n          the message (header + body)
    E <length> <crc>\\n <envelope JSON> \\n          sender, recipients, arrival, client...
    S <length> <crc>\\n <status JSON> \\n            zero or more, appended later

Every record header is exactly 28 bytes: the record type (one ASCII letter), a space, the
payload length as 16 lower-case hex digits, a space, the CRC-32 of the payload as 8 hex
digits, and a newline. The payload follows, then one newline (a cheap check that the
length was right). So a file is self-delimiting: a reader can skip the content with one
seek, and knows where every record ends without scanning for terminators.

* ``M`` comes first so that the content can stream to disk in chunks while it arrives;
  its header is written as a placeholder and filled in (``pwrite``) at commit, when the
  length and CRC are known. The content is stored exactly as received (after SMTP
  dot-unstuffing); its length is ``message_size`` in ``postqueue`` listings.
* ``E`` is UTF-8 JSON: ``{"sender", "arrival_time", "recipients": [{"address",
  "original", "notify", "orcpt"}], "client": {...}, "envid", "ret", "attributes"}``, and
  ``"filter"`` when a content filter takes the message (see
  :class:`vmail.queue.envelope.Envelope`). Recipients are numbered from 0 in order.
* ``S`` records are UTF-8 JSON objects with ``"t"`` (time) and ``"op"``:
  ``"status"`` (``"rcpt": [indexes], "status": pending|delivered|bounced|deferred,
  "dsn", "reason", "relay", "next"``), ``"flush"`` (every deferred recipient may be
  tried now) or ``"requeue"`` (every unfinished recipient is pending again, reasons
  forgotten) or ``"notice"`` (``"kind": bounce|delay|success, "rcpt": [indexes],
  "id"``: the bounce service queued that notice about these recipients, as message
  ``id``; it changes no recipient state). The state of a recipient is the result of
  applying them in order. Files without ``notice`` records (older ones) load unchanged.

Status records are appended with ``O_APPEND`` under an exclusive ``flock`` and fsynced
before :meth:`QueueFile.append` returns; a failed append is truncated away. A crash during
an append can leave a torn last record (short, or failing its CRC): readers ignore it and
the next append, or recovery, truncates it. Anything else that does not parse — bad
magic, a short or damaged ``M``/``E``, a damaged record followed by more data, an unknown
record type — makes the file corrupt (:class:`CorruptQueueFileError`); the spool moves such
files to ``corrupt`` and never delivers from them. A new format version gets a new magic
line; readers refuse versions they do not know.

Writing (:class:`QueueWriter`): the file is created in ``incoming`` under a temporary
name (``.tmp.PID.RANDOM``, never a valid queue ID; or a spare file of a finished message
is renamed to that name, see :mod:`vmail.queue.spare`), content is appended in chunks, then
:meth:`QueueWriter.commit` writes ``E``, fsyncs the file, hard-links it to its queue ID
(no-clobber, unlike rename), removes the temporary name and fsyncs the directory (a
group commit: sessions committing at the same time share that fsync). Only
when ``commit`` has returned is the message safe, and only then may SMTP say 250.

Every function here does blocking disk I/O (open, write, fsync, link, flock); the async
servers call them through threads.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import secrets
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from vmail.core.errors import TemporaryError, VmailError
from vmail.core.fileio import write_all
from vmail.core.groupsync import sync_dir
from vmail.core.reply import Reply
from vmail.queue.envelope import (
    DEFERRED,
    PENDING,
    STATUSES,
    Envelope,
    EnvelopeFormatError,
    RecipientState,
)
from vmail.queue.ids import DEFAULT_CLOCK, IdClock, QueueId, make_id
from vmail.queue.spare import SparePool

log = logging.getLogger(__name__)

MAGIC = b"VMAILQ1\n"
HEADER_SIZE = 28
CONTENT = b"M"
ENVELOPE = b"E"
STATUS = b"S"
TEMP_PREFIX = ".tmp."
MAX_JSON_RECORD = 64 * 1024 * 1024  # an envelope with a million recipients still fits

WRITE_ERROR = Reply(451, "4.3.0", "Error: queue file write error")
NO_SPACE = Reply(452, "4.3.1", "Insufficient system storage")


class CorruptQueueFileError(VmailError):
    """A queue file that cannot be trusted; it must not be delivered."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: corrupt queue file: {reason}")


def record_header(kind: bytes, length: int, crc: int) -> bytes:
    """The 28-byte header of a record."""
    return b"%s %016x %08x\n" % (kind, length, crc)


def record(kind: bytes, payload: bytes) -> bytes:
    """A complete record (header, payload, newline)."""
    return record_header(kind, len(payload), zlib.crc32(payload)) + payload + b"\n"


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once


def _json(data: object) -> bytes:
    return _ENCODER.encode(data).encode()


def fsync_dir(path: Path) -> None:
    """Make a rename/link/unlink in directory ``path`` durable.

    Group commit (:mod:`vmail.core.groupsync`): threads committing into the same directory
    at the same time share one fsync, which is what makes many concurrent SMTP sessions
    cheap.
    """
    sync_dir(path)


def queue_error(err: OSError) -> TemporaryError:
    """The 4xx reply for a failed queue write: ENOSPC/EDQUOT are storage shortages. The
    cause is logged (as Postfix's cleanup does): the reply does not name it."""
    log.warning("queue file write error: %s", _describe(err))
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return TemporaryError(NO_SPACE)
    return TemporaryError(WRITE_ERROR)


def _describe(err: OSError) -> str:
    where = f"{err.filename}: " if err.filename else ""
    return f"{where}{err.strerror or err}"


# ----------------------------------------------------------------------------- status


@dataclass(frozen=True)
class StatusUpdate:
    """One outcome for some recipients, e.g. the answer of one delivery attempt."""

    recipients: tuple[int, ...]
    status: str
    dsn: str = ""
    reason: str = ""
    relay: str = ""
    next_attempt: float = 0.0
    time: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.time,
            "op": "status",
            "rcpt": list(self.recipients),
            "status": self.status,
            "dsn": self.dsn,
            "reason": self.reason,
            "relay": self.relay,
            "next": self.next_attempt,
        }


def apply_status(states: list[RecipientState], data: object, sequence: int = 0) -> None:
    """Apply one ``S`` record (parsed JSON), the ``sequence``-th, to the recipient states."""
    if not isinstance(data, dict) or not isinstance(data.get("t"), int | float):
        raise EnvelopeFormatError("status record is not an object with a time")
    when = float(data["t"])
    op = data.get("op")
    if op == "status":
        status, indexes = data.get("status"), data.get("rcpt")
        if status not in STATUSES or not isinstance(indexes, list):
            raise EnvelopeFormatError("bad status record")
        for i in indexes:
            if not isinstance(i, int) or not 0 <= i < len(states):
                raise EnvelopeFormatError(f"status record names recipient {i!r}")
            state = states[i]
            state.status = str(status)
            state.dsn = str(data.get("dsn", ""))
            state.reason = str(data.get("reason", ""))
            state.relay = str(data.get("relay", ""))
            state.next_attempt = float(data.get("next", 0.0))
            state.updated = when
            state.sequence = sequence
    elif op == "flush":
        for state in states:
            if state.status == DEFERRED:
                state.next_attempt = 0.0
    elif op == NOTICE:
        _check_notice(data, len(states))
    elif op == RECOVERED:
        pass  # see QueueFile.recovered
    elif op == "requeue":
        for i, state in enumerate(states):
            if not state.final:
                states[i] = RecipientState(updated=when)
    else:
        raise EnvelopeFormatError(f"unknown status operation {op!r}")


NOTICE = "notice"
RECOVERED = "recovered"  # start-up recovery found the message in active
NOTICE_KINDS = ("bounce", "delay", "success")


def notice_record(
    kind: str, recipients: Sequence[int], queue_id: str, when: float
) -> dict[str, Any]:
    """The ``S`` record saying a ``kind`` notice about ``recipients`` was queued."""
    return {"t": when, "op": NOTICE, "kind": kind, "rcpt": list(recipients), "id": queue_id}


def _check_notice(data: dict[str, Any], count: int) -> None:
    indexes = data.get("rcpt")
    if data.get("kind") not in NOTICE_KINDS or not isinstance(indexes, list):
        raise EnvelopeFormatError("bad notice record")
    for i in indexes:
        if not isinstance(i, int) or not 0 <= i < count:
            raise EnvelopeFormatError(f"notice record names recipient {i!r}")


# ----------------------------------------------------------------------------- writer

FaultHook = Callable[[str], None]
"""Called with the name of each commit step; tests raise in it to simulate a crash."""

COMMIT_STEPS = ("created", "content", "envelope", "fsync", "link", "unlink", "fsync-dir")


class QueueWriter:
    """Writes one new queue file into ``incoming``; see the module doc for the steps.

    Use as a context manager: leaving the block without :meth:`commit` (or with an
    exception) removes the temporary file. Write errors raise
    :class:`~vmail.core.errors.TemporaryError` (``452 4.3.1`` for a full disk, else
    ``451 4.3.0``) after removing everything written.
    """

    def __init__(
        self,
        incoming: Path,
        envelope: Envelope,
        *,
        id_clock: IdClock = DEFAULT_CLOCK,
        fault: FaultHook | None = None,
        spares: SparePool | None = None,
        queue_id: QueueId | None = None,
    ) -> None:
        self.incoming = incoming
        self.envelope = envelope
        self._clock = id_clock
        self._fault = fault or (lambda step: None)
        self.temp_path = incoming / f"{TEMP_PREFIX}{os.getpid()}.{secrets.token_hex(8)}"
        self.size = 0
        self._crc = 0
        self._fd: int | None = None
        self.queue_id: QueueId | None = None
        try:
            # a spare file (see vmail.queue.spare) costs a rename; a new one an inode
            if spares is not None and spares.take(str(self.temp_path)):
                flags = os.O_RDWR | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
            else:
                flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            self._fd = os.open(self.temp_path, flags, 0o600)
            self._fault("created")
            # The ID is chosen now (as Postfix's cleanup does) so that a Received: header
            # can name it before the content is written; commit links under it.
            # (or it was chosen before: smtpd names a message at its first recipient)
            self.planned_id: QueueId = queue_id or make_id(
                *self._clock.next(), os.fstat(self._fd).st_ino
            )
            write_all(self._fd, MAGIC + record_header(CONTENT, 0, 0))
        except OSError as e:
            self._discard()
            raise queue_error(e) from e

    def __enter__(self) -> QueueWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.queue_id is None and (exc_type is None or issubclass(exc_type, Exception)):
            self.abort()

    def write(self, chunk: bytes) -> None:
        """Append message content (blocks on disk I/O)."""
        if self._fd is None:
            raise ValueError("queue file is closed")
        try:
            write_all(self._fd, chunk)
        except OSError as e:
            self._discard()
            raise queue_error(e) from e
        self.size += len(chunk)
        self._crc = zlib.crc32(chunk, self._crc)

    def content(self) -> bytes:
        """What was written so far (blocks; milters read the whole message back)."""
        if self._fd is None:
            raise ValueError("queue file is closed")
        try:
            return os.pread(self._fd, self.size, len(MAGIC) + HEADER_SIZE)
        except OSError as e:
            self._discard()
            raise queue_error(e) from e

    def replace_content(self, content: bytes) -> None:
        """Write ``content`` in place of what was written (blocks; a milter's edits)."""
        fd = self._fd
        if fd is None:
            raise ValueError("queue file is closed")
        start = len(MAGIC) + HEADER_SIZE
        try:
            os.ftruncate(fd, start)
            os.lseek(fd, start, os.SEEK_SET)
            write_all(fd, content)
        except OSError as e:
            self._discard()
            raise queue_error(e) from e
        self.size = len(content)
        self._crc = zlib.crc32(content)

    def commit(self, into: Path | None = None) -> QueueId:
        """Make the message durable and return its queue ID (blocks: fsync twice).

        The ID is :attr:`planned_id` unless that name is taken in ``incoming``.

        When this returns, the file is under its final name in ``incoming`` (or in the
        queue directory ``into``: ``hold`` for a HOLD action) and both the file and the
        directory entry are on stable storage.
        """
        target = into or self.incoming
        fd = self._fd
        if fd is None:
            raise ValueError("queue file is closed")
        final: Path | None = None
        try:
            self._fault("content")
            write_all(fd, b"\n" + record(ENVELOPE, _json(self.envelope.to_json())))
            os.pwrite(fd, record_header(CONTENT, self.size, self._crc), len(MAGIC))
            self._fault("envelope")
            # needed: the content and envelope must be on disk before the name is
            os.fsync(fd)
            self._fault("fsync")
            inode = os.fstat(fd).st_ino
            queue_id = self.planned_id
            while True:
                final = target / queue_id
                try:
                    os.link(self.temp_path, final)
                    break
                except FileExistsError:  # practically impossible: same inode, same µs
                    queue_id = make_id(*self._clock.next(), inode)
            self._fault("link")
            os.unlink(self.temp_path)
            self._fault("unlink")
            # needed: the name must survive a power loss before SMTP says 250 (shared
            # with the other sessions committing now; the unlink rides along for free)
            fsync_dir(target)
            self._fault("fsync-dir")
        except OSError as e:
            self._discard(final)
            raise queue_error(e) from e
        os.close(fd)
        self._fd = None
        self.queue_id = queue_id
        return queue_id

    def abort(self) -> None:
        """Forget the message (removes the temporary file)."""
        self._discard()

    def _discard(self, final: Path | None = None) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        for path in (final, self.temp_path):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)


# ----------------------------------------------------------------------------- reader


@dataclass
class QueueFile:
    """A parsed queue file: envelope, recipient states and where the content is."""

    path: Path
    envelope: Envelope
    states: list[RecipientState]
    content_offset: int
    content_length: int
    content_crc: int
    valid_end: int  # offset just after the last good record
    torn_tail: bool = False
    status_records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def queue_id(self) -> QueueId:
        return self.path.name

    @property
    def message_size(self) -> int:
        return self.content_length

    @classmethod
    def load(cls, path: Path, *, verify_content: bool = False) -> QueueFile:
        """Parse ``path`` (blocks). ``verify_content`` also checks the content's CRC.

        Raises :class:`CorruptQueueFileError` for anything but a torn last status record,
        and ``FileNotFoundError`` when the file is gone.
        """
        with open(path, "rb") as f:
            return _parse(path, f, verify_content)

    def content_chunks(self, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """The message content in chunks; raises CorruptQueueFileError if its CRC is wrong."""
        crc = 0
        with open(self.path, "rb") as f:
            f.seek(self.content_offset)
            left = self.content_length
            while left:
                chunk = f.read(min(chunk_size, left))
                if not chunk:
                    raise CorruptQueueFileError(self.path, "content is truncated")
                crc = zlib.crc32(chunk, crc)
                left -= len(chunk)
                yield chunk
        if crc != self.content_crc:
            raise CorruptQueueFileError(self.path, "content checksum mismatch")

    def read_content(self) -> bytes:
        """The whole content in memory (for small messages and tests)."""
        return b"".join(self.content_chunks())

    @property
    def recovered(self) -> bool:
        """Whether a crash interrupted a delivery attempt of this message (recovery found
        it in ``active`` and recorded it): deliveries must look for what that attempt
        may already have written."""
        return any(record.get("op") == RECOVERED for record in self.status_records)

    @property
    def pending(self) -> list[int]:
        """Indexes of recipients still to deliver."""
        return [i for i, s in enumerate(self.states) if not s.final]

    def notified(self, kind: str) -> set[int]:
        """Recipients a ``kind`` notice (bounce, delay, success) was already queued for."""
        return {
            i
            for r in self.status_records
            if r.get("op") == NOTICE and r.get("kind") == kind
            for i in r["rcpt"]
        }

    def append(self, updates: Sequence[StatusUpdate | dict[str, Any]]) -> None:
        """Append status records durably (blocks: flock, write, fsync).

        Several processes may append to one file: the exclusive lock serializes them, and
        records another process appended since this file was loaded are applied too.
        """
        records = [u.to_json() if isinstance(u, StatusUpdate) else u for u in updates]
        payload = b"".join(record(STATUS, _json(data)) for data in records)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._catch_up(fd)
            try:
                write_all(fd, payload)
                # needed: a "delivered" record that a crash could lose means delivering
                # again; it is also what lets removals and queue moves skip their fsyncs
                os.fsync(fd)
            except OSError as e:
                os.ftruncate(fd, self.valid_end)
                raise queue_error(e) from e
            for data in records:
                self.status_records.append(data)
                apply_status(self.states, data, len(self.status_records))
            self.valid_end += len(payload)
        finally:
            os.close(fd)  # also releases the lock

    def _catch_up(self, fd: int) -> None:
        """Apply records appended by others; cut off a torn tail (lock held)."""
        if not self.torn_tail and os.fstat(fd).st_size == self.valid_end:
            return  # nobody appended since we read it: the common case
        with os.fdopen(os.dup(fd), "rb") as f:
            f.seek(self.valid_end)
            end, torn = _read_status_records(self.path, f, self.states, self.status_records)
        self.valid_end = end
        if torn:
            os.ftruncate(fd, end)
            self.torn_tail = False

    def repair(self) -> bool:
        """Truncate a torn last status record, if any; True if something was cut."""
        if not self.torn_tail:
            return False
        fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._catch_up(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        return True


def _read_header(f: BinaryIO) -> tuple[bytes, int, int] | None:
    """A record header, or None at a clean end of file. Raises ValueError if torn/bad."""
    raw = f.read(HEADER_SIZE)
    if not raw:
        return None
    if len(raw) < HEADER_SIZE or raw[1:2] != b" " or raw[18:19] != b" " or raw[-1:] != b"\n":
        raise ValueError("bad record header")
    return raw[:1], int(raw[2:18], 16), int(raw[19:27], 16)


def _read_payload(f: BinaryIO, length: int, crc: int) -> bytes:
    if length > MAX_JSON_RECORD:
        raise ValueError("record too long")
    payload = f.read(length + 1)
    if len(payload) != length + 1 or payload[-1:] != b"\n":
        raise ValueError("record is truncated")
    payload = payload[:-1]
    if zlib.crc32(payload) != crc:
        raise ValueError("record checksum mismatch")
    return payload


def _parse(path: Path, f: BinaryIO, verify_content: bool) -> QueueFile:
    def corrupt(reason: str) -> CorruptQueueFileError:
        return CorruptQueueFileError(path, reason)

    magic = f.read(len(MAGIC))
    if magic != MAGIC:
        raise corrupt("unknown format" if magic.startswith(b"VMAILQ") else "not a queue file")
    try:
        head = _read_header(f)
    except ValueError as e:
        raise corrupt(f"content: {e}") from e
    if head is None or head[0] != CONTENT:
        raise corrupt("no content record")
    _, length, crc = head
    offset = f.tell()
    if verify_content:
        actual, left = 0, length
        while left:
            chunk = f.read(min(left, 1 << 16))
            if not chunk:
                raise corrupt("content is truncated")
            actual = zlib.crc32(chunk, actual)
            left -= len(chunk)
        if actual != crc:
            raise corrupt("content checksum mismatch")
    else:
        f.seek(offset + length)
    if f.read(1) != b"\n":
        raise corrupt("content is truncated")
    try:
        ehead = _read_header(f)
        if ehead is None or ehead[0] != ENVELOPE:
            raise ValueError("missing")
        envelope = Envelope.from_json(json.loads(_read_payload(f, ehead[1], ehead[2])))
    except (ValueError, EnvelopeFormatError) as e:  # JSONDecodeError is a ValueError
        raise corrupt(f"envelope: {e}") from e
    states = [RecipientState() for _ in envelope.recipients]
    records: list[dict[str, Any]] = []
    end, torn = _read_status_records(path, f, states, records)
    return QueueFile(path, envelope, states, offset, length, crc, end, torn, records)


def _read_status_records(
    path: Path, f: BinaryIO, states: list[RecipientState], records: list[dict[str, Any]]
) -> tuple[int, bool]:
    """Apply ``S`` records from the current offset; returns (valid end, torn tail)."""
    while True:
        start = f.tell()
        try:
            head = _read_header(f)
            if head is None:
                return start, False
            if head[0] != STATUS:
                raise CorruptQueueFileError(path, f"unexpected record {head[0]!r} at {start}")
            payload = _read_payload(f, head[1], head[2])
        except ValueError as e:
            if not _torn_tail(f, start):
                raise CorruptQueueFileError(path, f"status record at {start}: {e}") from e
            return start, True
        try:
            data = json.loads(payload)
            apply_status(states, data, len(records) + 1)
        except (ValueError, EnvelopeFormatError) as e:
            raise CorruptQueueFileError(path, f"status record at {start}: {e}") from e
        records.append(data)


def _torn_tail(f: BinaryIO, start: int) -> bool:
    """Whether a bad record at ``start`` is what a crash during an append leaves: the
    record runs to the end of the file, or the rest is zeros (a file system may extend a
    file before the data reaches the disk). Damage followed by data is corruption."""
    f.seek(start)
    rest = f.read(1 << 20)
    if f.read(1):
        return False
    header_ok = len(rest) >= HEADER_SIZE and rest[:1] == STATUS
    if not rest.strip(b"\0"):
        return True
    if not header_ok:
        return len(rest) < HEADER_SIZE and STATUS.startswith(rest[:1])
    try:
        length = int(rest[2:18], 16)
    except ValueError:
        return False
    return len(rest) < HEADER_SIZE + length + 1 or rest.rstrip(b"\0") != rest


__all__ = [
    "COMMIT_STEPS",
    "MAGIC",
    "NOTICE",
    "NOTICE_KINDS",
    "NO_SPACE",
    "PENDING",
    "TEMP_PREFIX",
    "WRITE_ERROR",
    "CorruptQueueFileError",
    "QueueFile",
    "QueueWriter",
    "StatusUpdate",
    "fsync_dir",
    "notice_record",
    "queue_error",
]
