"""RFC 3461 xtext, used by the ENVID=, ORCPT= and AUTH= parameters.

``xtext = *( xchar / hexchar )``: printable US-ASCII except ``+`` and ``=`` stand for
themselves, ``+XX`` (two hex digits) for any octet. Decoding refuses what vmail never
wants to carry further: control characters (NUL, CR, LF, ...) and DEL, even when encoded.
"""

from __future__ import annotations

_HEX = frozenset(b"0123456789ABCDEFabcdef")


def decode(text: str) -> str | None:
    """The decoded value, or None if ``text`` is not valid xtext or encodes a control char."""
    out = bytearray()
    raw = text.encode("utf-8", "surrogateescape")
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == 0x2B:  # "+"
            pair = raw[i + 1 : i + 3]
            if len(pair) != 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                return None
            c = int(pair, 16)
            i += 3
        elif 0x21 <= c <= 0x7E and c != 0x3D:  # xchar, "=" excluded
            i += 1
        else:
            return None
        if c < 0x20 or c == 0x7F:
            return None
        out.append(c)
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None


def encode(value: str) -> str:
    """``value`` as xtext (UTF-8 octets outside xchar become ``+XX``)."""
    parts: list[str] = []
    for c in value.encode("utf-8"):
        if 0x21 <= c <= 0x7E and c not in (0x2B, 0x3D):
            parts.append(chr(c))
        else:
            parts.append(f"+{c:02X}")
    return "".join(parts)
