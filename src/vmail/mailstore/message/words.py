"""RFC 2047 encoded-word decoding and charset lookup shared by headers and bodies."""

from __future__ import annotations

import binascii
import codecs
import re

_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")


def codec_for(charset: str) -> str | None:
    """The Python codec name for a MIME charset, or None when unknown."""
    name = charset.strip().strip('"').lower()
    if name in ("", "us-ascii", "ascii"):
        return "latin-1"  # lenient: 8-bit bytes in "ascii" text still decode
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_charset(data: bytes, charset: str) -> str:
    """``data`` decoded from ``charset``; unknown charsets are read as Latin-1."""
    return data.decode(codec_for(charset) or "latin-1", "replace")


def _decode_word(m: re.Match[str]) -> str | None:
    charset, enc, text = m.group(1), m.group(2), m.group(3)
    codec = codec_for(charset.split("*", 1)[0])
    if codec is None:
        return None
    try:
        raw = text.encode("ascii")
        if enc in "bB":
            raw = binascii.a2b_base64(raw + b"=" * (-len(raw) % 4), strict_mode=True)
        else:
            raw = _QP_HEX.sub(lambda h: bytes([int(h.group(1), 16)]), raw.replace(b"_", b" "))
        return raw.decode(codec)
    except (UnicodeError, binascii.Error, ValueError):
        return None


def decode_words(value: str) -> str:
    """``value`` with RFC 2047 encoded words decoded.

    White space between two adjacent encoded words is dropped; a word with an unknown
    charset or a bad encoding is left as it is.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    last_decoded = False
    for m in _WORD.finditer(value):
        gap = value[pos : m.start()]
        decoded = _decode_word(m)
        if not (last_decoded and decoded is not None and gap.strip(" \t\r\n") == ""):
            out.append(gap)
        out.append(m.group(0) if decoded is None else decoded)
        last_decoded = decoded is not None
        pos = m.end()
    out.append(value[pos:])
    return "".join(out)


__all__ = ["codec_for", "decode_charset", "decode_words"]
