"""What the queue manager dispatches to: delivery agents and built-in transports.

An :class:`~vmail.delivery.request.Agent` delivers a batch of recipients of one message,
blocking; the queue manager calls it in a worker thread.

``discard``, ``error`` and ``retry`` need no agent: discard(8) reports success without
delivering (``status=sent (discarded)``), error(8) bounces with the next hop as reason
(``error:5.1.1 User unknown`` → ``dsn=5.1.1 ... (User unknown)``), and error(8) running
as ``retry`` defers the same way (``retry:4.3.2 try later``). Pure; nothing blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmail.delivery.request import Agent, DeliveryResult

SENT = "sent"
DEFERRED = "deferred"
BOUNCED = "bounced"

_DSN = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)")


@dataclass(frozen=True)
class Outcome:
    """The result of one attempt for one recipient, in the terms of the log line."""

    status: str  # sent, deferred or bounced
    dsn: str
    text: str
    relay: str = "none"

    @classmethod
    def from_result(cls, result: DeliveryResult, relay: str) -> Outcome:
        return cls(result.status.value, result.dsn, result.text, result.relay or relay)


def deferred(dsn: str, text: str, relay: str = "none") -> Outcome:
    return Outcome(DEFERRED, dsn, text, relay)


def discard(nexthop: str) -> Outcome:
    """discard(8): the recipient counts as delivered."""
    return Outcome(SENT, "2.0.0", "discarded", "none")


def _error_outcome(nexthop: str, default_dsn: str) -> Outcome:
    match = _DSN.match(nexthop)
    dsn = match.group(1) if match else default_dsn
    text = (nexthop[match.end() :] if match else nexthop) or "delivery failed"
    status = DEFERRED if dsn.startswith("4") else BOUNCED
    return Outcome(status, dsn, text, "none")


def error(nexthop: str) -> Outcome:
    """error(8): bounce with the next hop's text; a leading ``X.Y.Z`` is the DSN status."""
    return _error_outcome(nexthop, "5.0.0")


def retry(nexthop: str) -> Outcome:
    """error(8) as ``retry``: defer with the next hop's text (default status 4.0.0)."""
    outcome = _error_outcome(nexthop, "4.0.0")
    return Outcome(DEFERRED, outcome.dsn, outcome.text, "none")


BUILTIN = {"discard": discard, "error": error, "retry": retry}

__all__ = ["BOUNCED", "BUILTIN", "DEFERRED", "SENT", "Agent", "Outcome", "deferred"]
