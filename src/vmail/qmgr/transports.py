"""What the queue manager dispatches to: delivery agents and built-in transports.

An :class:`Agent` delivers one recipient (``deliver(request, content)``), blocking; the
queue manager calls it in a worker thread. The virtual agent
(:class:`vmail.delivery.virtual.VirtualAgent`) is one.

``discard`` and ``error`` need no agent: discard(8) reports success without delivering
(``status=sent (discarded)``), error(8) bounces with the next hop as reason
(``error:5.1.1 User unknown`` → ``dsn=5.1.1 ... (User unknown)``). Pure; nothing blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from vmail.delivery.content import Content
from vmail.delivery.virtual import DeliveryRequest, DeliveryResult

SENT = "sent"
DEFERRED = "deferred"
BOUNCED = "bounced"

_DSN = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)")


class Agent(Protocol):
    """A delivery agent: one recipient per call, blocking, thread-safe."""

    def deliver(self, request: DeliveryRequest, content: Content) -> DeliveryResult: ...


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt for one recipient, in the terms of the log line."""

    status: str  # sent, deferred or bounced
    dsn: str
    text: str
    relay: str = "none"

    @classmethod
    def from_result(cls, result: DeliveryResult, relay: str) -> Outcome:
        return cls(result.status.value, result.dsn, result.text, relay)


def deferred(dsn: str, text: str, relay: str = "none") -> Outcome:
    return Outcome(DEFERRED, dsn, text, relay)


def discard(nexthop: str) -> Outcome:
    """discard(8): the recipient counts as delivered."""
    return Outcome(SENT, "2.0.0", "discarded", "none")


def error(nexthop: str) -> Outcome:
    """error(8): bounce with the next hop's text; a leading ``X.Y.Z`` is the DSN status."""
    match = _DSN.match(nexthop)
    if match is None:
        return Outcome(BOUNCED, "5.0.0", nexthop or "delivery failed", "none")
    text = nexthop[match.end() :] or "delivery failed"
    return Outcome(BOUNCED, match.group(1), text, "none")


BUILTIN = {"discard": discard, "error": error}

__all__ = ["BOUNCED", "BUILTIN", "DEFERRED", "SENT", "Agent", "Outcome", "deferred"]
