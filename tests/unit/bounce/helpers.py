"""Typed access to parsed notices (``email``'s payloads are loosely typed)."""

from __future__ import annotations

import email
import email.policy
from email.message import Message


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def parts(message: Message) -> list[Message]:
    """The sub-parts of a multipart or message/* part."""
    payload = message.get_payload()
    assert isinstance(payload, list)
    out = [part for part in payload if isinstance(part, Message)]
    assert len(out) == len(payload)
    return out


def text(message: Message) -> str:
    """The payload of a non-multipart part."""
    payload = message.get_payload()
    assert isinstance(payload, str)
    return payload
