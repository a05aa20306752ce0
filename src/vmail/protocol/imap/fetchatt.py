"""FETCH item parsing (RFC 3501 ``fetch-att``, RFC 3516 BINARY, RFC 7162 MODSEQ)."""

from __future__ import annotations

import re

from vmail.protocol.imap.lexer import CommandSyntaxError, Cursor
from vmail.protocol.imap.types import FetchAtt, Section, SectionText
from vmail.protocol.imap.wire import astring, plist

_NAME = re.compile(rb"[A-Za-z0-9.]+")
_SECTION_TEXT = re.compile(rb"[A-Za-z.]+")
INVALID_SECTION = "Invalid BODY[..] section"  # Dovecot's reason

_SIMPLE_NAMES = (
    "ENVELOPE",
    "FLAGS",
    "INTERNALDATE",
    "RFC822",
    "RFC822.HEADER",
    "RFC822.SIZE",
    "RFC822.TEXT",
    "BODY",
    "BODYSTRUCTURE",
    "UID",
    "MODSEQ",
)
_SIMPLE = {name: FetchAtt(name, name) for name in _SIMPLE_NAMES}  # shared: frozen
_SECTIONED = {
    "BODY": ("BODY", False),
    "BODY.PEEK": ("BODY", True),
    "BINARY": ("BINARY", False),
    "BINARY.PEEK": ("BINARY", True),
    "BINARY.SIZE": ("BINARY.SIZE", False),
}
_MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
_TEXTS: dict[str, SectionText] = {
    "HEADER": "HEADER",
    "HEADER.FIELDS": "HEADER.FIELDS",
    "HEADER.FIELDS.NOT": "HEADER.FIELDS.NOT",
    "TEXT": "TEXT",
    "MIME": "MIME",
}


def parse_fetch_items(c: Cursor) -> tuple[FetchAtt, ...]:
    """A macro, one item, or a parenthesised list of items."""
    if c.accept(b"("):
        items = [fetch_att(c)]
        while not c.close():
            c.sp()
            items.append(fetch_att(c))
        return tuple(items)
    m = _NAME.match(c.buf, c.pos)
    macro = _MACROS.get(m.group(0).decode().upper()) if m else None
    if macro is not None and not c.buf.startswith(b"[", m.end() if m else 0):
        c.pos = m.end() if m else c.pos
        return tuple(_SIMPLE[name] for name in macro)
    return (fetch_att(c),)


def fetch_att(c: Cursor) -> FetchAtt:
    """One FETCH item."""
    m = _NAME.match(c.buf, c.pos)
    if m is None:
        raise CommandSyntaxError("expected a FETCH item")
    name = m.group(0).decode().upper()
    c.pos = m.end()
    if not c.peek(b"["):
        simple = _SIMPLE.get(name)
        if simple is None:
            raise CommandSyntaxError(f"unknown FETCH item {name[:40]}")
        return simple
    if name not in _SECTIONED:
        raise CommandSyntaxError(f"unknown FETCH item {name[:40]}")
    base, peek = _SECTIONED[name]
    c.pos += 1
    section, section_echo = _section(c, binary=base != "BODY")
    echo = f"{base}[{section_echo}]"
    partial = None
    if c.accept(b"<"):
        if base == "BINARY.SIZE":
            raise CommandSyntaxError("BINARY.SIZE takes no partial range")
        offset = c.number(what="partial offset")
        c.expect(b".", "'.' in partial range")
        partial = (offset, c.number(what="partial length"))
        c.expect(b">", "'>' after partial range")
        echo += f"<{offset}>"
    return FetchAtt(base, echo, section, peek, partial)


def _section(c: Cursor, *, binary: bool) -> tuple[Section, str]:
    part: list[int] = []
    dotted = False
    while c.buf[c.pos : c.pos + 1].isdigit():
        part.append(c.nz_number(what="section part"))
        dotted = c.accept(b".")
        if not dotted:
            break
    if part and dotted == c.peek(b"]"):
        raise CommandSyntaxError(INVALID_SECTION)
    echo = ".".join(map(str, part))
    if c.accept(b"]"):
        return Section(tuple(part)), echo
    m = _SECTION_TEXT.match(c.buf, c.pos)
    text = _TEXTS.get(m.group(0).decode().upper()) if m else None
    if binary and text != "TEXT":  # Dovecot also decodes BINARY[TEXT] (RFC 3516: parts)
        raise CommandSyntaxError("BINARY sections are part numbers or TEXT")
    if m is None or text is None:
        raise CommandSyntaxError(INVALID_SECTION)
    if text == "MIME" and not part:
        raise CommandSyntaxError("MIME needs a part number")
    c.pos = m.end()
    echo += ("." if part else "") + text
    fields: tuple[str, ...] = ()
    if text.startswith("HEADER.FIELDS"):
        c.sp()
        fields = _header_list(c)
        echo += " " + plist(astring(f) for f in fields).decode("ascii")
    c.expect(b"]", "']' after section")
    return Section(tuple(part), text, fields), echo


def _header_list(c: Cursor) -> tuple[str, ...]:
    c.expect(b"(", "a header field list")
    names: list[str] = []
    while True:
        names.append(c.text(c.astring("a header field name"), False).upper())
        if c.close():
            return tuple(names)
        c.sp()


__all__ = ["fetch_att", "parse_fetch_items"]
