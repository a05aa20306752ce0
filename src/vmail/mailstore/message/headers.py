"""Header field scanning: one regex pass yields each field's name and spans."""

from __future__ import annotations

import re

# A field starts at a line start with a name (no leading white space), a colon, and
# runs over its continuation lines (those starting with a space or a tab).
_FIELD = re.compile(rb"^([^\s:][^:\n]*?)[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)\n?", re.M)

Field = tuple[bytes, int, int, int]
"""(lower-case name, start of the field line, start of the value, end incl. its LF)."""


def scan(data: bytes, start: int, end: int) -> list[Field]:
    """Every field of the header in ``data[start:end]`` in message order."""
    return [
        (m.group(1).lower(), m.start(), m.start(2), m.end())
        for m in _FIELD.finditer(data, start, end)
    ]


def unfold(raw: bytes) -> bytes:
    """A field value with its line breaks removed (continuation white space kept)."""
    if b"\n" in raw or b"\r" in raw:
        return raw.replace(b"\r", b"").replace(b"\n", b"")
    return raw


def value_of(data: bytes, field: Field) -> bytes:
    """The unfolded value of ``field``."""
    return unfold(data[field[2] : field[3]])


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


__all__ = ["Field", "collect", "scan", "to_text", "unfold", "value_of"]
