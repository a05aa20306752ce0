"""The IMAP ENVELOPE (RFC 3501 section 7.4.2) serialised the way Dovecot writes it."""

from __future__ import annotations

import functools
import re

from vmail.protocol.imap.wire import NIL, literal, string

from .addresses import Address, parse_addresses
from .headers import unfold
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
            NIL if a[0] is None else humans(a[0]),
            NIL if a[1] is None else token(a[1]),
            NIL if a[2] is None else token(a[2]),
            NIL if a[3] is None else token(a[3]),
        )
        for a in addresses
    )


@functools.lru_cache(maxsize=8192)
def _address_field(values: tuple[bytes, ...]) -> bytes:
    """The address list of a header's raw values: cached, since a mailbox sees the same
    From, To and Cc values over and over (parsing them was most of an ENVELOPE's cost)."""
    return address_list(addresses_of(list(values)))


def _last(headers: dict[bytes, list[bytes]], name: bytes) -> bytes:
    values = headers.get(name)
    if values is None:
        return NIL
    value = values[-1]
    if b"\n" in value or b"\r" in value:
        value = unfold(value)
    if not value.translate(None, _QUOTABLE):  # the common case, without two more calls
        return b'"%b"' % value
    return string(value)


_QUOTABLE = bytes(c for c in range(1, 128) if c not in b'\r\n"\\')  # as they are in "..."
_RUNS = re.compile(rb"[ \t]+")
# Bytes Dovecot writes as they are in a quoted string "for humans": all but NUL, TAB,
# CR, LF, the quoted-specials and 8-bit bytes (control characters go out verbatim).
_PLAIN = bytes(c for c in range(1, 128) if c not in b'\t\r\n"\\')


def for_humans(value: bytes) -> bytes:
    """Dovecot's cleanup of the Subject and display names.

    Line breaks dropped, TABs and runs of spaces to one space, trimmed, NUL to 0x80.
    """
    if b"\n" in value or b"\r" in value:
        value = value.replace(b"\r", b"").replace(b"\n", b"")
    if b"\t" in value or b"  " in value or value[:1] == b" " or value[-1:] == b" ":
        value = _RUNS.sub(b" ", value).strip(b" ")
    return value.replace(b"\x00", b"\x80")


@functools.lru_cache(maxsize=8192)
def humans(value: bytes) -> bytes:
    """``value`` written like Dovecot's ``imap_append_string_for_humans``.

    Text needing no change is quoted as it is; anything else (a line break, TAB, extra
    spaces, NUL, ``"``, ``\\`` or an 8-bit byte) goes out cleaned by :func:`for_humans`
    as a literal, or as ``""`` when nothing is left.
    """
    if (
        not value.translate(None, _PLAIN)
        and b"  " not in value
        and value[:1] != b" "
        and value[-1:] != b" "
    ):
        return b'"%b"' % value
    clean = for_humans(value)
    return literal(clean) if clean else b'""'


def envelope(
    headers: dict[bytes, list[bytes]], parsed: dict[bytes, list[Address]] | None = None
) -> bytes:
    """ENVELOPE from header values by lower-case name (see ``headers.collect``).

    Like Dovecot: the last Date/Subject/In-Reply-To/Message-ID wins, address headers
    that occur more than once are concatenated, Sender and Reply-To default to From when
    they are missing or hold no address; the Subject and display names are written "for
    humans" (see :func:`humans`). ``parsed`` holds address lists already parsed (by
    lower-case header name).
    """
    known = parsed or {}

    def addresses(name: bytes) -> bytes:
        got = known.get(name)
        if got is not None:
            return address_list(got)
        values = headers.get(name)
        return _address_field(tuple(values)) if values else NIL

    sender = addresses(b"from")

    def or_from(name: bytes) -> bytes:
        got = addresses(name) if name in headers or name in known else NIL
        return sender if got == NIL else got

    subject = headers.get(b"subject")
    return b"(%b %b %b %b %b %b %b %b %b %b)" % (
        _last(headers, b"date"),
        NIL if subject is None else humans(subject[-1]),
        sender,
        or_from(b"sender"),
        or_from(b"reply-to"),
        addresses(b"to"),
        addresses(b"cc"),
        addresses(b"bcc"),
        _last(headers, b"in-reply-to"),
        _last(headers, b"message-id"),
    )


__all__ = ["address_list", "addresses_of", "envelope", "for_humans", "humans"]
