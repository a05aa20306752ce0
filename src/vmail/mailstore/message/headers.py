"""Header field scanning: one regex pass yields each field's name and spans."""

from __future__ import annotations

import re

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
    """Values by lower-case field name, in message order.

    The value starts after the colon and the white space following it; continuation
    lines are appended with their leading white space after a bare LF (CRs dropped), so
    a folded value keeps the trace of its folding (Dovecot's ENVELOPE Subject depends on
    it): pass values through :func:`unfold` where that does not matter.
    """
    out: dict[bytes, list[bytes]] = {}
    last: list[bytes] | None = None
    for line in data[start:end].split(b"\n"):
        if not line:
            continue
        if line[0] in b" \t":
            if last is not None:
                last[-1] += b"\n" + line.rstrip(b"\r")
            continue
        key, colon, value = line.partition(b":")
        if not colon or not key:
            last = None
            continue
        key = key.rstrip(b" \t").lower()
        value = value.lstrip(b" \t").rstrip(b"\r")
        got = out.get(key)
        if got is None:
            last = out[key] = [value]
        else:
            got.append(value)
            last = got
    return out


def to_text(value: bytes) -> str:
    """Header bytes as text: UTF-8 when valid, else Latin-1 (never fails)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


__all__ = ["Field", "collect", "scan", "to_text", "unfold"]
