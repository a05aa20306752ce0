"""What a queue file knows about a message besides its content.

:class:`Envelope` is fixed once the message is queued (sender, recipients with their
original recipient and DSN parameters, arrival time, client, ENVID/RET). The delivery
state of each recipient (:class:`RecipientState`) changes over the message's life and is
stored as appended status records (see :mod:`vmail.queue.file`). Pure data; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PENDING = "pending"
DELIVERED = "delivered"
BOUNCED = "bounced"
DEFERRED = "deferred"
STATUSES = (PENDING, DELIVERED, BOUNCED, DEFERRED)
FINAL = (DELIVERED, BOUNCED)


class EnvelopeFormatError(ValueError):
    """A stored envelope or status record does not have the documented shape."""


@dataclass(frozen=True)
class Recipient:
    """One final recipient, as cleanup queued it."""

    address: str
    original: str = ""  # the address the client gave, before alias expansion
    notify: tuple[str, ...] = ()  # DSN NOTIFY (SUCCESS, FAILURE, DELAY or NEVER); () = default
    orcpt: str = ""  # DSN ORCPT as given, e.g. "rfc822;bob@example.com"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"address": self.address}
        if self.original:
            data["original"] = self.original
        if self.notify:
            data["notify"] = list(self.notify)
        if self.orcpt:
            data["orcpt"] = self.orcpt
        return data

    @classmethod
    def from_json(cls, data: object) -> Recipient:
        if not isinstance(data, dict):
            raise EnvelopeFormatError("recipient is not an object")
        notify = data.get("notify", [])
        if not isinstance(notify, list) or not all(isinstance(n, str) for n in notify):
            raise EnvelopeFormatError("recipient notify is not a list of strings")
        return cls(
            address=_str(data, "address"),
            original=_str(data, "original", ""),
            notify=tuple(notify),
            orcpt=_str(data, "orcpt", ""),
        )


@dataclass(frozen=True)
class Envelope:
    """Everything about a queued message except its content and delivery state."""

    sender: str  # "" is the null sender
    recipients: tuple[Recipient, ...]
    arrival_time: float
    client: dict[str, str] = field(default_factory=dict)  # name, address, port, helo, ...
    envid: str = ""  # DSN ENVID
    ret: str = ""  # DSN RET: "FULL", "HDRS" or "" (not given)
    attributes: dict[str, str] = field(default_factory=dict)  # e.g. smtputf8, body
    # content_filter or a FILTER action: "transport:nexthop" every recipient goes to
    filter: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "sender": self.sender,
            "arrival_time": self.arrival_time,
            "recipients": [r.to_json() for r in self.recipients],
            "client": dict(self.client),
            "envid": self.envid,
            "ret": self.ret,
            "attributes": dict(self.attributes),
        }
        if self.filter:
            data["filter"] = self.filter
        return data

    @classmethod
    def from_json(cls, data: object) -> Envelope:
        if not isinstance(data, dict):
            raise EnvelopeFormatError("envelope is not an object")
        recipients = data.get("recipients")
        if not isinstance(recipients, list):
            raise EnvelopeFormatError("envelope recipients is not a list")
        arrival = data.get("arrival_time")
        if not isinstance(arrival, int | float) or isinstance(arrival, bool):
            raise EnvelopeFormatError("envelope arrival_time is not a number")
        return cls(
            sender=_str(data, "sender"),
            recipients=tuple(Recipient.from_json(r) for r in recipients),
            arrival_time=float(arrival),
            client=_str_dict(data, "client"),
            envid=_str(data, "envid", ""),
            ret=_str(data, "ret", ""),
            attributes=_str_dict(data, "attributes"),
            filter=_str(data, "filter", ""),
        )


@dataclass
class RecipientState:
    """Where delivery to one recipient stands (the sum of its status records)."""

    status: str = PENDING
    dsn: str = ""
    reason: str = ""
    relay: str = ""
    next_attempt: float = 0.0  # for deferred recipients: not before this time
    updated: float = 0.0
    sequence: int = 0  # number of the status record that set this state (1 = first)

    @property
    def final(self) -> bool:
        return self.status in FINAL


def _str(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise EnvelopeFormatError(f"{key} is not a string")
    return value


def _str_dict(data: dict[str, Any], key: str) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise EnvelopeFormatError(f"{key} is not an object of strings")
    return dict(value)
