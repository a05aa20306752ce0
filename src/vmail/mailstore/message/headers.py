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


ENVELOPE_FIELDS = (
    b"date", b"subject", b"from", b"sender", b"reply-to",
    b"to", b"cc", b"bcc", b"in-reply-to", b"message-id",
)  # fmt: skip


def _any_case(name: bytes) -> bytes:
    """A regex for ``name`` in any case, without re.I (which disables the fast search for
    the pattern's leading literal)."""
    return b"".join(
        b"[%c%c]" % (c, c ^ 32) if 97 <= c <= 122 else re.escape(bytes([c])) for c in name
    )


_FIELD = b"(" + b"|".join(map(_any_case, ENVELOPE_FIELDS)) + rb")[ \t]*:[ \t]*"
_VALUE = rb"([^\n]*(?:\n[ \t][^\n]*)*)"
_FIRST_FIELD = re.compile(_FIELD + _VALUE)
_NEXT_FIELD = re.compile(b"\n" + _FIELD + _VALUE)


def collect_envelope(data: bytes, start: int, end: int) -> dict[bytes, list[bytes]]:
    """:func:`collect` of only the fields an ENVELOPE is made of (and the Subject).

    The same values from a regex search for those fields at line starts instead of a
    Python loop over every line: a first FETCH ENVELOPE of a big folder spends much of
    its time here (hence ``findall`` and no helper call per field).
    """
    out: dict[bytes, list[bytes]] = {}
    first = _FIRST_FIELD.match(data, start, end)
    found = _NEXT_FIELD.findall(data, start, end)
    if first:
        found.insert(0, first.groups())
    for name, value in found:
        if b"\r" in value:
            value = b"\n".join(line.rstrip(b"\r") for line in value.split(b"\n"))
        name = name.lower()
        got = out.get(name)
        if got is None:
            out[name] = [value]
        else:
            got.append(value)
    return out


def to_text(value: bytes) -> str:
    """Header bytes as text: UTF-8 when valid, else Latin-1 (never fails)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


__all__ = ["ENVELOPE_FIELDS", "Field", "collect", "collect_envelope", "scan", "to_text", "unfold"]
