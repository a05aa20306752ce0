"""Shared builders for the queue tests."""

from __future__ import annotations

from pathlib import Path

from vmail.queue import Envelope, Recipient, Spool
from vmail.queue.ids import QueueId

CONTENT = b"Subject: hello\r\nFrom: alice@example.com\r\n\r\nbody line\r\n"


def envelope(*recipients: str, sender: str = "alice@example.com") -> Envelope:
    rcpts = recipients or ("bob@example.net",)
    return Envelope(
        sender=sender,
        recipients=tuple(Recipient(r, original=r) for r in rcpts),
        arrival_time=1_795_766_555.25,
        client={"name": "client.example", "address": "192.0.2.1", "helo": "client.example"},
        envid="ENV1",
        ret="HDRS",
    )


def queue(spool: Spool, env: Envelope | None = None, content: bytes = CONTENT) -> QueueId:
    with spool.writer(env or envelope()) as w:
        w.write(content)
        return w.commit()


def spool_at(path: Path) -> Spool:
    return Spool(path / "spool").create()
