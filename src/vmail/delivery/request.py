"""What the queue manager hands a delivery agent, and what the agent hands back.

Every agent delivers a *batch*: recipients of one message that resolved to the same
transport and next hop, at most ``<transport>_destination_recipient_limit`` of them
(``default_destination_recipient_limit`` when that is not set), as Postfix's qmgr(8)
groups them. :class:`Agent` is the interface: ``deliver_batch(requests, content)``
returns one :class:`DeliveryResult` per request, in order. ``content`` is a factory: each
call gives a fresh stream of the queued message (agents that write it once per recipient
call it once per recipient). Agents are blocking and thread-safe; the queue manager calls
them in worker threads.

:class:`PerRecipient` turns an agent that handles one recipient at a time (``deliver``)
into one that takes batches.

Addresses are in internal (unquoted) form; the null sender is ``""``. Pure data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from vmail.delivery.content import Content

ContentSource = Callable[[], Content]


class Status(StrEnum):
    """A recipient's outcome, named as in Postfix's ``status=`` log field."""

    SENT = "sent"
    DEFERRED = "deferred"
    BOUNCED = "bounced"


@dataclass(frozen=True)
class MessageInfo:
    """What an agent may need to know about the message beyond one recipient.

    ``client`` holds the receiving session's ``name``, ``address``, ``port``, ``helo``,
    ``protocol`` and ``sasl_username`` (pipe(8)'s ``${client_*}`` and ``${sasl_*}``);
    ``attributes`` holds e.g. ``smtputf8`` and ``body`` (``8BITMIME``/``7BIT``).
    """

    queue_id: str
    sender: str
    arrival_time: float = 0.0
    size: int = 0
    envid: str = ""  # DSN ENVID
    ret: str = ""  # DSN RET: FULL, HDRS or ""
    client: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryRequest:
    """One recipient of a queued message, as the queue manager hands it over.

    ``original_recipient`` is the address as first given (``X-Original-To:``); empty
    when unknown. ``transport`` and ``nexthop`` are the resolver's answer (``lmtp`` and
    ``inet:127.0.0.1:24``, ``smtp`` and ``[relay.example]:587``...). ``notify`` and
    ``orcpt`` are the recipient's DSN parameters, passed on by SMTP and LMTP clients.
    ``delivery_key`` (queue ID and recipient index) names this delivery the same way on
    every attempt; with ``recovered`` (the message was being delivered when vmail
    stopped), a Maildir delivery first looks for the copy an interrupted attempt may have
    left, so that a crash never delivers a message twice.
    """

    queue_id: str
    sender: str
    recipient: str
    original_recipient: str = ""
    transport: str = ""
    nexthop: str = ""
    notify: tuple[str, ...] = ()
    orcpt: str = ""
    message: MessageInfo | None = None
    delivery_key: str = ""  # unique per queued recipient and stable across attempts
    recovered: bool = False  # a crash may have interrupted an earlier attempt


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one recipient: the status, DSN code and text Postfix would log.

    ``relay`` is the log's ``relay=`` field when it is not just the transport name
    (``mx.example.com[192.0.2.1]:25``, ``private/dovecot-lmtp``); ``mailbox`` is the
    mailbox path a local delivery wrote to.
    """

    status: Status
    dsn: str
    text: str
    mailbox: str | None = None
    relay: str | None = None


def sent(text: str, mailbox: str | None = None, *, dsn: str = "2.0.0") -> DeliveryResult:
    """A successful delivery."""
    return DeliveryResult(Status.SENT, dsn, text, mailbox)


def failed(dsn: str, text: str, mailbox: str | None = None) -> DeliveryResult:
    """A failure: ``4.x.x`` defers, anything else bounces."""
    status = Status.DEFERRED if dsn.startswith("4") else Status.BOUNCED
    return DeliveryResult(status, dsn, text, mailbox)


class Agent(Protocol):
    """A delivery agent: a batch of recipients of one message per call, blocking."""

    def deliver_batch(
        self, requests: Sequence[DeliveryRequest], content: ContentSource
    ) -> list[DeliveryResult]: ...


class SingleAgent(Protocol):
    """An agent that delivers one recipient per call (e.g. virtual(8))."""

    def deliver(self, request: DeliveryRequest, content: Content) -> DeliveryResult: ...


class PerRecipient:
    """Adapts a :class:`SingleAgent` to :class:`Agent`: one delivery per recipient."""

    def __init__(self, agent: SingleAgent) -> None:
        self.agent = agent

    def deliver_batch(
        self, requests: Sequence[DeliveryRequest], content: ContentSource
    ) -> list[DeliveryResult]:
        return [self.agent.deliver(request, content()) for request in requests]


__all__ = [
    "Agent",
    "ContentSource",
    "DeliveryRequest",
    "DeliveryResult",
    "MessageInfo",
    "PerRecipient",
    "SingleAgent",
    "Status",
    "failed",
    "sent",
]
