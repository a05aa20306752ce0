"""Drive a ServerSession like a server would: bytes in, bytes out, decisions by a policy."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from vmail.core.reply import Reply
from vmail.protocol.smtp import (
    Close,
    DataChunk,
    DataComplete,
    Decision,
    Event,
    MessageAborted,
    Send,
    ServerSession,
    SessionConfig,
    StartTls,
)

HOST = "mail.example.test"
QUEUED = Reply(250, "2.0.0", "Ok: queued as 4ABC")

Policy = Callable[[Decision], Reply | list[Reply] | None]


def accept(decision: Decision) -> Reply | list[Reply] | None:
    """Accept everything; queue every message."""
    if isinstance(decision, DataComplete):
        return QUEUED
    return None


@dataclass
class Run:
    session: ServerSession
    out: bytearray = field(default_factory=bytearray)
    messages: list[bytes] = field(default_factory=list)
    current: bytearray = field(default_factory=bytearray)
    events: list[Event] = field(default_factory=list)
    closed: bool = False
    tls: int = 0

    def lines(self) -> list[str]:
        return self.out.decode("utf-8", "replace").split("\r\n")[:-1]

    def replies(self) -> list[str]:
        """Final lines of each reply (multi-line replies collapse to their last line)."""
        return [line for line in self.lines() if len(line) < 4 or line[3] != "-"]


def drive(
    session: ServerSession,
    chunks: Iterable[bytes],
    policy: Policy = accept,
    *,
    greet: bool = False,
    tls_ok: bool = True,
) -> Run:
    run = Run(session)

    def handle(events: list[Event]) -> None:
        queue = list(events)
        while queue:
            ev = queue.pop(0)
            run.events.append(ev)
            if isinstance(ev, Send):
                run.out += ev.data
            elif isinstance(ev, DataChunk):
                run.current += ev.data
            elif isinstance(ev, MessageAborted):
                run.current.clear()
            elif isinstance(ev, Close):
                run.closed = True
            elif isinstance(ev, StartTls):
                run.tls += 1
                if tls_ok:
                    queue.extend(session.tls_started())
            elif isinstance(ev, Decision):
                answer = policy(ev)
                if isinstance(ev, DataComplete):
                    run.messages.append(bytes(run.current))
                    run.current.clear()
                queue.extend(session.reply(answer))

    if greet:
        handle(session.start())
    for chunk in chunks:
        handle(session.receive(chunk))
    return run


def talk(
    data: bytes | Iterable[bytes], config: SessionConfig | None = None, policy: Policy = accept
) -> Run:
    chunks = [data] if isinstance(data, bytes) else list(data)
    return drive(ServerSession(config or SessionConfig(myhostname=HOST)), chunks, policy)
