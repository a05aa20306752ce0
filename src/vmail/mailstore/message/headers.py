"""Header field scanning: one regex pass yields each field's name and spans."""

from __future__ import annotations

import re

# A field starts at a line start with a name (no leading white space), a colon, and
# runs over its continuation lines (those starting with a space or a tab).
_FIELD = re.compile(rb"^([^\s:][^:\n]*?)[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)\n?", re.M)

# For FETCH HEADER.FIELDS: like Dovecot, a line without a colon is a field too (its
# whole text is the name).
_LINE = re.compile(rb"^([^\s:][^:\n]*)(?::[^\n]*)?\n?(?:[ \t][^\n]*\n?)*", re.M)

Field = tuple[bytes, int, int]
"""(lower-case name, start of the field line, end incl. its continuation lines and LF)."""


def scan(data: bytes, start: int, end: int) -> list[Field]:
    """Every field (and colon-less line) of the header in ``data[start:end]`` in order."""
    return [
        (m.group(1).rstrip(b" \t\r").lower(), m.start(), m.end())
        for m in _LINE.finditer(data, start, end)
    ]


def unfold(raw: bytes) -> bytes:
    """A field value with its line breaks removed (continuation white space kept)."""
    if b"\n" in raw or b"\r" in raw:
        return raw.replace(b"\r", b"").replace(b"\n", b"")
    return raw


def collect(data: bytes, start: int, end: int) -> dict[bytes, list[bytes]]:
    """Unfolded values by lower-case field name, in message order."""
    out: dict[bytes, list[bytes]] = {}
    for name, value in _FIELD.findall(data, start, end):
        if b"\n" in value or b"\r" in value:
            value = value.replace(b"\r", b"").replace(b"\n", b"")
        key = name.lower()
        got = out.get(key)
        if got is None:
            out[key] = [value]
        else:
            got.append(value)
    return out


def to_text(value: bytes) -> str:
    """Header bytes as text: UTF-8 when valid, else Latin-1 (never fails)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


__all__ = ["Field", "collect", "scan", "to_text", "unfold"]
