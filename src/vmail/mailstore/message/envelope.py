"""The IMAP ENVELOPE (RFC 3501 section 7.4.2) serialised the way Dovecot writes it."""

from __future__ import annotations

from vmail.protocol.imap.wire import NIL, nstring

from .addresses import Address, parse_addresses


def address_list(values: list[bytes] | None) -> bytes:
    """The addresses of every occurrence of one header, or NIL when there are none."""
    if not values:
        return NIL
    addresses: list[Address] = []
    for value in values:
        addresses.extend(parse_addresses(value))
    if not addresses:
        return NIL
    return b"(%b)" % b"".join(
        b"(%b %b %b %b)" % (nstring(a[0]), nstring(a[1]), nstring(a[2]), nstring(a[3]))
        for a in addresses
    )


def _last(headers: dict[bytes, list[bytes]], name: bytes) -> bytes:
    values = headers.get(name)
    return NIL if values is None else nstring(values[-1])


def envelope(headers: dict[bytes, list[bytes]]) -> bytes:
    """ENVELOPE from unfolded header values by lower-case name (see ``headers.collect``).

    Like Dovecot: the last Date/Subject/In-Reply-To/Message-ID wins, address headers
    that occur more than once are concatenated, Sender and Reply-To default to From.
    """
    sender = address_list(headers.get(b"from"))
    return b"(%b %b %b %b %b %b %b %b %b %b)" % (
        _last(headers, b"date"),
        _last(headers, b"subject"),
        sender,
        address_list(headers.get(b"sender")) if b"sender" in headers else sender,
        address_list(headers.get(b"reply-to")) if b"reply-to" in headers else sender,
        address_list(headers.get(b"to")),
        address_list(headers.get(b"cc")),
        address_list(headers.get(b"bcc")),
        _last(headers, b"in-reply-to"),
        _last(headers, b"message-id"),
    )


__all__ = ["address_list", "envelope"]
