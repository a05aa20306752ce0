"""IMAP wire primitives: the one place that decides how a value is written on the wire.

Strings go out as an atom, a quoted string or a literal depending on their content
(RFC 3501 section 4.3); ``NIL`` stands for a missing value; parenthesised lists join
already-serialised items. Everything returns ``bytes`` ready to be concatenated into a
response line. Literals are synchronising form ``{n}\\r\\n...`` — the server never sends
``LITERAL+`` forms.
"""

from __future__ import annotations

from collections.abc import Iterable

NIL = b"NIL"

# Like Dovecot's imap_append_nstring: a literal for CR, LF or 8-bit bytes (and NUL, which
# neither form can carry but a literal at least counts), or once escaping would cost more
# than a literal: more than _QUOTED_MAX_ESCAPES quoted-specials. Other control characters
# and long values go out quoted, as Dovecot sends them.
_QUOTED_MAX_ESCAPES = 4
_ATOM_SPECIALS = frozenset(b'(){ %*"\\]')
# Bytes a quoted string carries as they are: any CHAR but NUL, CR, LF and quoted-specials.
_PLAIN = bytes(c for c in range(1, 128) if c not in b'\r\n"\\')


def literal(data: bytes) -> bytes:
    """``{n}\\r\\n`` followed by the bytes."""
    return b"{%d}\r\n%b" % (len(data), data)


def quoted(data: bytes) -> bytes:
    """A quoted string; the caller guarantees there is no CR, LF or NUL."""
    if b"\\" in data or b'"' in data:
        data = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b'"%b"' % data


def string(value: str | bytes) -> bytes:
    """A ``string`` (quoted when possible, else a literal). UTF-8 for ``str``."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    rest = data.translate(None, _PLAIN)
    if not rest:
        return b'"%b"' % data
    if len(rest) > _QUOTED_MAX_ESCAPES or rest.strip(b'"\\'):
        return literal(data)
    return quoted(data)


def nstring(value: str | bytes | None) -> bytes:
    """An ``nstring``: ``NIL`` for None, else :func:`string`."""
    if value is None:
        return NIL
    return string(value)


def is_atom(data: bytes) -> bool:
    """True when ``data`` can be sent as a bare atom."""
    return bool(data) and all(33 <= c < 127 and c not in _ATOM_SPECIALS for c in data)


def astring(value: str | bytes) -> bytes:
    """An ``astring``: a bare atom when possible, else :func:`string`."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    if is_atom(data) and data.upper() != b"NIL":
        return data
    return string(data)


def plist(items: Iterable[bytes]) -> bytes:
    """A parenthesised list of already-serialised items, space separated."""
    return b"(" + b" ".join(items) + b")"


def nlist(items: Iterable[bytes] | None) -> bytes:
    """:func:`plist`, or ``NIL`` for None."""
    return NIL if items is None else plist(items)


__all__ = ["NIL", "astring", "is_atom", "literal", "nlist", "nstring", "plist", "quoted", "string"]
