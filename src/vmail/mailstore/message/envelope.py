"""The IMAP ENVELOPE (RFC 3501 section 7.4.2) serialised the way Dovecot writes it."""

from __future__ import annotations

import re

from vmail.protocol.imap.wire import NIL, nstring

from .addresses import Address, parse_addresses
from .tokens import token


def addresses_of(values: list[bytes] | None) -> list[Address]:
    """The addresses of every occurrence of one header, concatenated."""
    if not values:
        return []
    if len(values) == 1:
        return parse_addresses(values[0])
    addresses: list[Address] = []
    for value in values:
        addresses.extend(parse_addresses(value))
    return addresses


def address_list(addresses: list[Address]) -> bytes:
    """An IMAP address list, or NIL when there are no addresses."""
    if not addresses:
        return NIL
    return b"(%b)" % b"".join(
        b"(%b %b %b %b)"
        % (
            NIL if a[0] is None else token(a[0]),
            NIL if a[1] is None else token(a[1]),
            NIL if a[2] is None else token(a[2]),
            NIL if a[3] is None else token(a[3]),
        )
        for a in addresses
    )


def _last(headers: dict[bytes, list[bytes]], name: bytes) -> bytes:
    values = headers.get(name)
    return NIL if values is None else nstring(values[-1])


_RUNS = re.compile(rb"[ \t]+")


def for_humans(value: bytes) -> bytes:
    """Dovecot's cleanup of the Subject: TABs and runs of spaces to one space, trimmed."""
    if b"\t" in value or b"  " in value or value[:1] == b" " or value[-1:] == b" ":
        value = _RUNS.sub(b" ", value).strip(b" ")
    return value.replace(b"\x00", b"\x80")


def envelope(
    headers: dict[bytes, list[bytes]], parsed: dict[bytes, list[Address]] | None = None
) -> bytes:
    """ENVELOPE from unfolded header values by lower-case name (see ``headers.collect``).

    Like Dovecot: the last Date/Subject/In-Reply-To/Message-ID wins, address headers
    that occur more than once are concatenated, Sender and Reply-To default to From.
    ``parsed`` holds address lists already parsed (by lower-case header name).
    """
    known = parsed or {}

    def addr(name: bytes) -> bytes:
        got = known.get(name)
        return address_list(got if got is not None else addresses_of(headers.get(name)))

    sender = addr(b"from")
    subject = headers.get(b"subject")
    return b"(%b %b %b %b %b %b %b %b %b %b)" % (
        _last(headers, b"date"),
        NIL if subject is None else nstring(for_humans(subject[-1])),
        sender,
        addr(b"sender") if b"sender" in headers else sender,
        addr(b"reply-to") if b"reply-to" in headers else sender,
        addr(b"to"),
        addr(b"cc"),
        addr(b"bcc"),
        _last(headers, b"in-reply-to"),
        _last(headers, b"message-id"),
    )


__all__ = ["address_list", "addresses_of", "envelope", "for_humans"]
