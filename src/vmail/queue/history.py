"""The delivery history: the last deliveries (sent, deferred, bounced, expired) as JSON
lines in ``$queue_directory/log/deliveries.jsonl``, for the web dashboard.

The queue manager appends one line per recipient and attempt, with what its log line
says (:func:`vmail.queue.log.delivery`): time, queue ID, recipient, original recipient,
status, DSN code, relay and text. The file is bounded: when it passes ``max_bytes``
(1 MiB by default) it becomes ``deliveries.jsonl.1`` (the previous one is dropped) and a
new one starts, so at most about twice ``max_bytes`` is kept, a few thousand
deliveries. It is a convenience, not the record: the mail log stays authoritative, a
write failure never stops a delivery (the caller logs it), and a damaged line is skipped
when reading. One process appends (the queue manager); each batch is one ``write`` to a
file opened with ``O_APPEND``. Blocking disk I/O.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Collection, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

HISTORY_FILE = "log/deliveries.jsonl"
MAX_BYTES = 1 << 20
SENT = "sent"
DEFERRED = "deferred"
BOUNCED = "bounced"
EXPIRED = "expired"


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery attempt for one recipient, as the log line tells it."""

    time: float
    queue_id: str
    recipient: str
    status: str  # sent, deferred, bounced or expired
    original: str = ""
    dsn: str = ""
    relay: str = ""
    text: str = ""

    @property
    def domains(self) -> set[str]:
        """The recipient's and the original recipient's domains (lower case)."""
        return {a.rpartition("@")[2].lower() for a in (self.recipient, self.original) if a}

    @classmethod
    def from_json(cls, data: object) -> DeliveryRecord | None:
        if not isinstance(data, dict):
            return None
        try:
            record = cls(**data)
        except TypeError:
            return None
        fields = (record.queue_id, record.recipient, record.status, record.original, record.text)
        ok = isinstance(record.time, int | float) and all(isinstance(f, str) for f in fields)
        return record if ok else None


class DeliveryHistory:
    """The history file under one spool root."""

    def __init__(self, root: Path | str, max_bytes: int = MAX_BYTES) -> None:
        self.path = Path(root) / HISTORY_FILE
        self._text = str(self.path)
        self.max_bytes = max_bytes

    @property
    def previous(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    def append(self, records: Iterable[DeliveryRecord]) -> None:
        """Add records (one write); rotate first when the file is full."""
        data = "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in records)
        if not data:
            return
        path = self._text  # a str: this runs once per delivery
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_size >= self.max_bytes:
                os.replace(path, self.previous)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except FileNotFoundError:  # no log directory yet
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)

    def recent(
        self,
        limit: int = 20,
        domains: Collection[str] | None = None,
        statuses: Collection[str] | None = None,
    ) -> list[DeliveryRecord]:
        """The last ``limit`` records, newest first; only those whose recipient (or original
        recipient) is in ``domains`` when given, and whose status is in ``statuses``."""
        wanted = {d.lower() for d in domains} if domains is not None else None
        found: list[DeliveryRecord] = []
        for record in self._newest_first():
            if wanted is not None and not record.domains & wanted:
                continue
            if statuses is not None and record.status not in statuses:
                continue
            found.append(record)
            if len(found) >= limit:
                break
        return found

    def _newest_first(self) -> Iterator[DeliveryRecord]:
        for path in (self.path, self.previous):
            try:
                lines = path.read_bytes().splitlines()
            except FileNotFoundError:
                continue
            for line in reversed(lines):
                try:
                    record = DeliveryRecord.from_json(json.loads(line))
                except ValueError:
                    continue
                if record is not None:
                    yield record


__all__ = [
    "BOUNCED",
    "DEFERRED",
    "EXPIRED",
    "HISTORY_FILE",
    "MAX_BYTES",
    "SENT",
    "DeliveryHistory",
    "DeliveryRecord",
]
